"""A gradient estimator that runs the exported measurement settings on a Qiskit ``BaseSamplerV2``.

``backend_estimator(circuit, observable, sampler, shots, ...)`` builds, once, the settings that
``slpa-jax export`` writes (``export.settings``: the value settings of f and the parameter-shift or
SLPA block-gradient settings), each as a Qiskit circuit with symbolic parameters: single-qubit
state preparation ``ry(prep[2q]) rz(prep[2q+1])`` on every system qubit (the data sample's product
state; an ancilla starts in |0>), then the setting's circuit over ``theta`` and its measurement. With
a ``backend`` the circuits are transpiled once (per structure); every call only binds ``theta`` and
``prep`` in one ``sampler.run`` of all settings, and turns the counts into ``(f_hat, grad_hat)``
through the readout maps (``export.readout.value_and_gradient_from_counts``), with a ``ShotLedger``
of every setting executed.

The record's function has the estimator contract ``fn(params, state, key) -> (f_hat, grad_hat,
ledger)`` and runs the host work inside ``jax.pure_callback`` (vmapped calls run sequentially), so it
can sit in a jitted training step. Reproducibility: pass a *sampler factory* ``seed -> sampler``
(e.g. ``lambda s: SamplerV2(seed=s)`` for Aer) and every call builds its sampler with a seed drawn
from the key (same key, same counts); a sampler instance is used as is (hardware is not
reproducible anyway). A product input state (``product_state_angles``) binds the prepared
circuits' ``prep`` angles; any other state is prepared by ``settings.state_prep_circuit`` (Qiskit's
``StatePreparation`` as rotations and CNOTs, depth ~2**n, a warning the first time), prepended to
every setting and transpiled again for each new state (slow, exact).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.keys import numpy_rng, raw_key
from ..core.pauli import as_pauli_sum
from ..measure.estimator import GradientEstimator
from ..measure.ledger import ShotLedger
from ..measure.sampling import check_shots
from ..train.config import BackendConfig, NoiseConfig
from ..train.models import BACKEND_BUILDERS, noise_model_from_config
from ..train.training import Model
from .aer import to_aer_noise_model
from .circuits import import_qiskit, to_qiskit
from .readout import value_and_gradient_from_counts
from .settings import (
    PRODUCT_TOL,
    MeasurementSetting,
    block_settings,
    observable_settings,
    param_shift_settings,
    product_factors,
    state_prep_circuit,
)

__all__ = [
    "PRODUCT_TOL",
    "product_state_angles",
    "setting_programs",
    "backend_estimator",
    "fake_backend",
    "config_backend_estimator",
]


def product_state_angles(state, n_qubits: int) -> np.ndarray:
    """(n, 2) angles ``(t_q, phi_q)`` with ``kron_q R_Z(phi_q) R_Y(t_q)|0>`` equal to ``state`` up to a phase.

    Args:
        state: (2**n,) product statevector (qubit 0 most significant), or None for |0...0>.
        n_qubits: n.

    Raises:
        ValueError: wrong shape, or ``state`` is not a product state (the entangled qubit is named).
    """
    if state is None:
        return np.zeros((n_qubits, 2))
    factors = product_factors(state, n_qubits, require="backend_estimator")
    a, b = factors[:, 0], factors[:, 1]
    both = (np.abs(a) > 0) & (np.abs(b) > 0)
    return np.stack([2 * np.arctan2(np.abs(b), np.abs(a)), np.where(both, np.angle(b) - np.angle(a), 0.0)], axis=1)


def _settings(circuit, observable, block_circuit, scheme, grouping) -> tuple[list, list]:
    obs = as_pauli_sum(observable, circuit.n_qubits)
    value = observable_settings(circuit, obs, grouping=grouping)
    if block_circuit is None:
        grad = param_shift_settings(circuit, obs, grouping=grouping)
    else:
        if block_circuit.circuit != circuit:
            raise ValueError("backend_estimator: block_circuit.circuit differs from circuit")
        grad = block_settings(block_circuit, scheme=scheme)
    return value, grad


def setting_programs(settings: list[MeasurementSetting], n_system: int) -> list:
    """One measured ``QuantumCircuit`` per setting: ``ry(prep[2q]) rz(prep[2q+1])`` on system qubits
    ``q < n_system``, then the setting's circuit over ``ParameterVector("theta")``, then its measurement."""
    qiskit = import_qiskit("setting_programs")
    from qiskit.circuit import ParameterVector

    prep = ParameterVector("prep", 2 * n_system)
    out = []
    for s in settings:
        body = to_qiskit(s.circuit, None, measure=s.measured_qubits)
        qc = qiskit.QuantumCircuit(*body.qregs, *body.cregs, name=s.name)
        for q in range(n_system):
            qc.ry(prep[2 * q], q)
            qc.rz(prep[2 * q + 1], q)
        qc.compose(body, inplace=True)
        out.append(qc)
    return out


def _binding(qc) -> list[tuple[str, int]]:
    """(vector name, index) of each parameter of ``qc`` in ``qc.parameters`` order."""
    return [(p.vector.name, int(p.index)) for p in qc.parameters]


def _counts(pub_result) -> dict:
    data = pub_result.data
    if hasattr(data, "c"):
        return data.c.get_counts()
    regs = [getattr(data, name) for name in data]  # a single classical register under another name
    return regs[0].get_counts()


def backend_estimator(
    circuit: Circuit,
    observable,
    sampler,
    shots: int,
    *,
    block_circuit=None,
    scheme: str = "ancilla",
    grouping: str = "qwc",
    backend=None,
    optimization_level: int = 1,
    seed_transpiler: int = 0,
) -> GradientEstimator:
    """Gradient estimator executing the exported settings on a Qiskit sampler (module docstring).

    Args:
        circuit: the model circuit on n qubits.
        observable: the model observable (as ``export.settings.observable_settings``).
        sampler: a ``qiskit.primitives.BaseSamplerV2`` (e.g. ``qiskit_aer.primitives.SamplerV2``
            with ``options={"backend_options": {"noise_model": ...}}``, or ``BackendSamplerV2`` of a
            fake backend), or a factory ``seed -> BaseSamplerV2`` for reproducible runs.
        shots: shots per setting.
        block_circuit: a ``blocks.slpa.BlockCircuit`` of ``circuit`` to use the SLPA block settings
            (``scheme`` "ancilla" or "ancilla_free") instead of parameter shift.
        grouping: grouping of the observable's terms ("qwc", "gc", "none").
        backend: optional Qiskit ``BackendV2``: the circuits are transpiled for it once, here, and
            its qubit count is checked against the widest setting.
        optimization_level, seed_transpiler: passed to ``transpile``.

    Returns:
        A ``GradientEstimator`` (kind "param_shift", "ancilla" or "ancilla_free"; ``plan`` the list
        of settings, value settings first) whose call runs ``len(plan)`` circuits of ``shots`` shots.

    Raises:
        ValueError: the backend has fewer qubits than a setting needs; bad shots; a block circuit of
            another circuit.
        TypeError: ``sampler`` is neither a ``BaseSamplerV2`` nor callable.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"backend_estimator: circuit must be a Circuit, got {type(circuit).__name__}")
    check_shots(shots, "shots")
    qiskit = import_qiskit("backend_estimator")
    from qiskit.primitives import BaseSamplerV2

    if isinstance(sampler, BaseSamplerV2):
        factory: Callable | None = None
    elif callable(sampler):
        factory = sampler
    else:
        raise TypeError(
            f"backend_estimator: sampler must be a qiskit BaseSamplerV2 or a callable seed -> BaseSamplerV2, got "
            f"{type(sampler).__name__}"
        )
    value_settings, grad_settings = _settings(circuit, observable, block_circuit, scheme, grouping)
    settings = value_settings + grad_settings
    width = max(s.circuit.n_qubits for s in settings)
    if backend is not None:
        available = int(getattr(backend, "num_qubits", 0) or 0)
        if available < width:
            widest = next(s for s in settings if s.circuit.n_qubits == width)
            raise ValueError(
                f"backend_estimator: backend {getattr(backend, 'name', backend)!r} has {available} qubits, but "
                f"setting {widest.name!r} needs {width} (the {circuit.n_qubits}-qubit circuit"
                f"{' plus the ancilla' if width > circuit.n_qubits else ''})"
            )
    n = circuit.n_qubits
    programs = setting_programs(settings, n)
    if backend is not None:
        programs = qiskit.transpile(
            programs, backend=backend, optimization_level=optimization_level, seed_transpiler=seed_transpiler
        )
    bindings = [_binding(qc) for qc in programs]
    readouts = [s.readout() for s in settings]
    n_value = len(value_settings)
    n_params = circuit.n_params

    general: dict = {}  # state bytes -> (programs, bindings) with that state's preparation (non-product)

    def general_programs(state):
        """Programs starting with the preparation of a non-product ``state`` (cached per state)."""
        key = np.asarray(state, np.complex128).tobytes()
        if key not in general:
            prep = state_prep_circuit(state, n, warn=not general)
            progs = []
            for s in settings:
                qc = to_qiskit(prep.embed(s.circuit.n_qubits, 0) + s.circuit, None, measure=s.measured_qubits)
                qc.name = s.name
                progs.append(qc)
            if backend is not None:
                progs = qiskit.transpile(
                    progs, backend=backend, optimization_level=optimization_level, seed_transpiler=seed_transpiler
                )
            if len(general) > 64:
                general.clear()
            general[key] = (progs, [_binding(qc) for qc in progs])
        return general[key]

    def host(params, state, key_data):
        params = np.asarray(params, dtype=np.float64)
        if product_factors(state, n) is not None:
            progs, binds = programs, bindings
            prep = product_state_angles(state, n).reshape(-1)
        else:
            progs, binds = general_programs(state)
            prep = np.zeros(0)
        source = {"theta": params, "prep": prep}
        pubs = []
        for qc, bind in zip(progs, binds):
            vals = np.array([source[name][i] for name, i in bind], dtype=np.float64)
            pubs.append((qc, vals) if bind else (qc,))
        if factory is None:
            smp = sampler
        else:
            seed = int(numpy_rng(np.asarray(key_data, dtype=np.uint32), "backend_estimator").integers(2**31 - 1))
            smp = factory(seed)
        result = smp.run(pubs, shots=int(shots)).result()
        counts = [_counts(result[i]) for i in range(len(pubs))]
        f, _ = value_and_gradient_from_counts(readouts[:n_value], counts[:n_value], n_params)
        _, grad = value_and_gradient_from_counts(readouts[n_value:], counts[n_value:], n_params)
        return np.float64(f), grad

    def estimator(params, state, key):
        params = circuit.check_params(params)
        real = params.dtype
        cdt = jnp.complex128 if real == jnp.float64 else jnp.complex64
        psi = jnp.zeros(2**n, cdt).at[0].set(1) if state is None else jnp.asarray(state, cdt)
        key_data = jnp.zeros(2, jnp.uint32) if key is None else raw_key(key, "backend_estimator")
        if key is None and factory is not None:
            raise ValueError("backend_estimator: key is required with a sampler factory; pass key=jax.random.key(seed)")

        def cb(p, s, k):
            f, g = host(p, s, k)
            return np.asarray(f, real), np.asarray(g, real)

        shapes = (jax.ShapeDtypeStruct((), real), jax.ShapeDtypeStruct((n_params,), real))
        f, g = jax.pure_callback(cb, shapes, params, psi, key_data, vmap_method="sequential")
        ledger = ShotLedger.of(len(settings), len(settings) * int(shots))
        return f, g, ledger

    kind = "param_shift" if block_circuit is None else scheme
    return GradientEstimator(kind, estimator, len(settings), int(shots), tuple(settings))


def fake_backend(name: str):
    """A fake IBM device ``qiskit_ibm_runtime.fake_provider.<name>()`` (no network), e.g. ``FakeManilaV2``.

    Raises:
        ImportError: qiskit-ibm-runtime is not installed (``pip install 'slpa-jax[noise]'``).
        ValueError: no such fake backend (a few valid names are listed).
    """
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as err:
        raise ImportError(f"fake_backend: needs qiskit-ibm-runtime; pip install 'slpa-jax[noise]' ({err})") from None
    if not isinstance(name, str) or not name.startswith("Fake") or not hasattr(fake_provider, name):
        names = sorted(x for x in dir(fake_provider) if x.startswith("Fake") and x.endswith("V2"))
        raise ValueError(
            f"fake_backend: expected a name of qiskit_ibm_runtime.fake_provider (e.g. {names[:6]}), got {name!r}"
        )
    return getattr(fake_provider, name)()


def config_backend_estimator(model: Model, backend: BackendConfig, noise: NoiseConfig | None) -> GradientEstimator:
    """The estimator of a config's ``backend:`` section for ``model`` (registered in
    ``train.models.BACKEND_BUILDERS["aer"]``).

    Aer's ``SamplerV2`` with a seed drawn from each call's key: noiseless, with the config's ``noise:``
    section as ``to_aer_noise_model`` (gate-level noise on the exported circuits; readout errors on the
    measured qubits, the ancilla last), or, with ``backend.fake``, transpiled for the fake device and
    run with ``qiskit_aer.noise.NoiseModel.from_backend`` of it. The kind, shots and block structure
    are the model's.
    """
    kind = model.estimator.kind
    if kind not in ("param_shift", "ancilla", "ancilla_free"):
        raise ValueError(f"{model.name}.estimator: a backend runs param_shift, ancilla or ancilla_free, got {kind!r}")
    shots = model.estimator.shots
    if shots is None:
        raise ValueError(f"{model.name}: a backend draws shots; the model's estimator is exact (shots None)")
    from qiskit_aer.primitives import SamplerV2

    n = model.n_qubits
    width = n + 1 if kind == "ancilla" else n
    device, aer_noise = None, None
    if backend.fake is not None:
        from qiskit_aer.noise import NoiseModel as AerNoiseModel

        device = fake_backend(backend.fake)
        aer_noise = AerNoiseModel.from_backend(device)
    elif noise is not None:
        aer_noise = to_aer_noise_model(noise_model_from_config(noise, n, ancilla=width > n), width)
    options = None if aer_noise is None else {"backend_options": {"noise_model": aer_noise}}
    block = model.block_circuit if kind != "param_shift" else None
    return backend_estimator(
        model.circuit,
        model.observable,
        lambda seed: SamplerV2(seed=seed, options=options),
        shots,
        block_circuit=block,
        scheme=kind if block is not None else "ancilla",
        backend=device,
        optimization_level=backend.optimization_level,
        seed_transpiler=backend.seed_transpiler,
    )


BACKEND_BUILDERS["aer"] = config_backend_estimator
