"""Named models: a catalogue ansatz (circuit + observable + block structure) paired with a gradient
estimator.

``make_model(ansatz, n_qubits, n_params, estimator, shots, ...)`` is what configs and the CLI call;
besides the catalogue it builds ``custom`` circuits and the automatic ``symmetric_slpa``
(``model_spec``). The
ansatz names, sizes, qubit rules and default observables come from ``blocks.catalogue.ANSATZE``;
the estimator kinds from ``measure.estimator.ESTIMATOR_KINDS``, each built by one entry of
``ESTIMATOR_BUILDERS``. The block estimators work for every catalogue ansatz (SC-type circuits use
their detected commuting blocks).

Note on the QPR SLPA: every QPR data state lies in the sector prod_even X = prod_odd X = +1, where
each block acts as one rotation ``R_L`` by the signed sum of its angles (sign -1 where
``L s = -unsigned(L s)``); the SLPA then matches ``qpr_sc`` with one rotation per block on the data,
at gradient cost B + 1 circuits (docs/qpr.md).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from ..blocks.catalogue import ANSATZE, build_ansatz
from ..blocks.gradient import block_gradient_estimator
from ..blocks.noisy_gradient import noisy_block_gradient_estimator
from ..blocks.slpa import BlockCircuit
from ..measure.estimator import ESTIMATOR_KINDS, GradientEstimator, exact_estimator
from ..measure.param_shift import param_shift_estimator
from ..noise.estimators import noisy_param_shift_estimator
from ..noise.model import NoiseModel
from .config import BackendConfig, NoiseConfig
from .model_spec import MODEL_ANSATZE, ResolvedModel, resolve_estimator, resolve_model
from .training import Model

__all__ = [
    "ANSATZE",
    "ESTIMATORS",
    "ESTIMATOR_BUILDERS",
    "NOISY_ESTIMATOR_BUILDERS",
    "BACKEND_BUILDERS",
    "make_model",
    "make_block_circuit",
    "model_from_parts",
    "noise_model_from_config",
    "noisy_model",
]

#: The estimator names a config accepts: the kinds, and ``auto`` (``model_spec.resolve_estimator``).
ESTIMATORS = (*ESTIMATOR_KINDS, "auto")

#: kind -> ``builder(circuit, observable, block_circuit, shots, fhat) -> GradientEstimator``.
ESTIMATOR_BUILDERS: dict[str, Callable[..., GradientEstimator]] = {
    "exact": lambda c, obs, bc, shots, fhat: exact_estimator(c, obs),
    "param_shift": lambda c, obs, bc, shots, fhat: param_shift_estimator(c, obs, shots),
    "ancilla": lambda c, obs, bc, shots, fhat: block_gradient_estimator(bc, shots, "ancilla", fhat=fhat),
    "ancilla_free": lambda c, obs, bc, shots, fhat: block_gradient_estimator(bc, shots, "ancilla_free", fhat=fhat),
}


#: kind -> ``builder(circuit, observable, block_circuit, shots, noise: NoiseModel, method, trajectories, fhat)``:
#: the same estimators with every circuit simulated under ``noise`` (``noise.estimators``,
#: ``blocks.noisy_gradient``). ``exact`` becomes the exact noisy value and gradient (shots None);
#: ``fhat`` ("shared" / "per_block") applies to the block estimators.
NOISY_ESTIMATOR_BUILDERS: dict[str, Callable[..., GradientEstimator]] = {
    "exact": lambda c, obs, bc, shots, nm, method, traj, fhat: dataclasses.replace(
        noisy_param_shift_estimator(c, obs, nm, None, method=method, trajectories=traj), kind="exact"
    ),
    "param_shift": lambda c, obs, bc, shots, nm, method, traj, fhat: noisy_param_shift_estimator(
        c, obs, nm, shots, method=method, trajectories=traj
    ),
    "ancilla": lambda c, obs, bc, shots, nm, method, traj, fhat: noisy_block_gradient_estimator(
        bc, nm, shots, "ancilla", fhat=fhat, method=method, trajectories=traj
    ),
    "ancilla_free": lambda c, obs, bc, shots, nm, method, traj, fhat: noisy_block_gradient_estimator(
        bc, nm, shots, "ancilla_free", fhat=fhat, method=method, trajectories=traj
    ),
}

#: sampler name -> ``builder(model, backend: BackendConfig, noise: NoiseConfig | None) -> GradientEstimator``
#: running the model's exported settings on a Qiskit sampler. Filled by ``export.backend`` (rank 4,
#: which imports Qiskit) when ``slpa_jax`` is imported; ``train`` never imports ``export``.
BACKEND_BUILDERS: dict[str, Callable[..., GradientEstimator]] = {}


def noise_model_from_config(noise: NoiseConfig, n_qubits: int, *, ancilla: bool = False) -> NoiseModel:
    """The ``NoiseModel`` of a config's ``noise:`` section for ``n_qubits`` system qubits.

    With ``ancilla=True`` per-qubit readout lists get ``n_qubits + 1`` entries (the ancilla last):
    a list of ``n_qubits`` is extended by its mean; without, a list of ``n_qubits + 1`` drops its last.
    """
    if not isinstance(noise, NoiseConfig):
        raise TypeError(f"noise_model_from_config: expected a NoiseConfig, got {type(noise).__name__}")

    def fit(v):
        if not isinstance(v, (tuple, list)):
            return v
        v = tuple(float(x) for x in v)
        if ancilla and len(v) == n_qubits:
            return v + (sum(v) / len(v),)
        if not ancilla and len(v) == n_qubits + 1:
            return v[:n_qubits]
        return v

    r01 = noise.readout if noise.readout_01 is None else noise.readout_01
    r10 = noise.readout if noise.readout_10 is None else noise.readout_10
    return NoiseModel(
        p1=noise.p1,
        p2=noise.p2,
        p_z=noise.dephasing,
        p_x=noise.bit_flip,
        gamma=noise.amplitude_damping,
        readout_01=fit(r01),
        readout_10=fit(r10),
        gates=noise.gates,
    )


@functools.lru_cache(maxsize=64)
def noisy_model(
    model: Model, noise: NoiseConfig | None = None, backend: BackendConfig | None = None, fhat: str = "shared"
) -> Model:
    """``model`` with its estimator rebuilt under a config's ``noise:`` / ``backend:`` sections.

    The estimator kind, circuit, observable, block structure and shots stay; with ``noise`` every
    circuit is simulated with ``noise_model_from_config`` (``NOISY_ESTIMATOR_BUILDERS``), with
    ``backend`` the exported settings run on a Qiskit sampler (``BACKEND_BUILDERS``). Neither:
    ``model`` itself. Memoised, so a run reuses the compiled program of the same noisy model.
    ``fhat`` is the model's ``fhat`` (``per_block``: a fresh noisy f_hat per block).

    Raises:
        ValueError: a custom estimator (unknown kind), or a backend sampler that is not registered.
    """
    if noise is None and backend is None:
        return model
    kind = model.estimator.kind
    shots = model.estimator.shots
    if backend is not None:
        if backend.sampler not in BACKEND_BUILDERS:
            raise ValueError(
                f"backend.sampler: {backend.sampler!r} is not registered; import slpa_jax.export.backend (it "
                f"registers 'aer' and imports Qiskit); registered: {sorted(BACKEND_BUILDERS)}"
            )
        est = BACKEND_BUILDERS[backend.sampler](model, backend, noise)
    else:
        if kind not in NOISY_ESTIMATOR_BUILDERS:
            raise ValueError(
                f"{model.name}.estimator: kind {kind!r} has no noisy version; expected one of "
                f"{sorted(NOISY_ESTIMATOR_BUILDERS)}"
            )
        nm = noise_model_from_config(noise, model.n_qubits, ancilla=kind == "ancilla")
        est = NOISY_ESTIMATOR_BUILDERS[kind](
            model.circuit, model.observable, model.block_circuit, shots, nm, noise.method, noise.trajectories, fhat
        )
    return Model(model.name, model.circuit, model.observable, est, block_circuit=model.block_circuit)


def make_block_circuit(ansatz: str, n_qubits: int, n_params: int, observable=None) -> BlockCircuit:
    """The ansatz's circuit, observable and commuting-block structure (``catalogue.build_ansatz``)."""
    return build_ansatz(ansatz, n_qubits, n_params, observable, where="make_model")


def model_from_parts(
    name: str, resolved: ResolvedModel, estimator: str, shots: int | None, fhat: str = "shared"
) -> Model:
    """A ``Model`` from resolved static parts (``model_spec.resolve_model``) and an estimator kind
    (``auto`` resolved here); ``fhat`` ("shared" or "per_block") for the block estimators."""
    kind = resolve_estimator(estimator, resolved, where=name)
    est = ESTIMATOR_BUILDERS[kind](resolved.circuit, resolved.observable, resolved.block_circuit, shots, fhat)
    return Model(name, resolved.circuit, resolved.observable, est, block_circuit=resolved.block_circuit)


def make_model(
    ansatz: str,
    n_qubits: int,
    n_params: int | None,
    estimator: str,
    shots: int | None,
    observable=None,
    *,
    name: str | None = None,
    circuit=None,
    stabilizers=None,
    task_symmetry=None,
    task_hamiltonian=None,
    fhat: str = "shared",
) -> Model:
    """Build a named ``training.Model``.

    Args:
        ansatz: a name of ``catalogue.ANSATZE``, ``"custom"`` or ``"symmetric_slpa"``
            (``model_spec.MODEL_ANSATZE``).
        n_qubits: qubit count (4 for the paper's slpa / sc / nsc).
        n_params: number of rotations (= parameters); a multiple of the ansatz's unit; for ``custom``
            None (the circuit's count).
        estimator: one of ``ESTIMATORS``.
        shots: shots per circuit execution (>= 1), or None for exact expectations (``exact`` ignores it).
        observable: optional label / PauliSum overriding the ansatz's default.
        name: model name, default ``f"{ansatz}-{estimator}"``.
        circuit, stabilizers, task_symmetry, task_hamiltonian: see ``model_spec.resolve_model``.
        fhat: block estimators only: "shared" (one f_hat run per sample, the paper's accounting) or
            "per_block" (a fresh f_hat per block, the authors' code).

    Raises:
        ValueError: unknown ansatz or estimator (the message lists the valid names), or sizes that do
            not fit the ansatz.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"make_model: unknown estimator {estimator!r}; valid estimators: {list(ESTIMATORS)}")
    if ansatz not in MODEL_ANSATZE:
        raise ValueError(f"make_model: unknown ansatz {ansatz!r}; valid ansatze: {list(MODEL_ANSATZE)}")
    if ansatz in ANSATZE and circuit is None and stabilizers is None and task_hamiltonian is None:
        bc = make_block_circuit(ansatz, n_qubits, n_params, observable)
        resolved = ResolvedModel(bc.circuit, bc.observable, bc)
    else:
        resolved = resolve_model(
            ansatz,
            n_qubits,
            n_params,
            circuit=circuit,
            observable=observable,
            stabilizers=stabilizers,
            task_symmetry=task_symmetry,
            task_hamiltonian=task_hamiltonian,
            where="make_model",
        )
    return model_from_parts(name or f"{ansatz}-{estimator}", resolved, estimator, shots, fhat)
