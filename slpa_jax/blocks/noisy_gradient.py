"""Block gradients under noise: the ancilla and ancilla-free settings run on the noisy simulators.

The measurement plan is ``blocks.gradient.block_measurements(bc, scheme)`` (its public fields only:
``circuit``, ``observables``, ``readout``, ``block``). Every setting is its circuit followed by the
Clifford that diagonalises its commuting observables (``measure.diagonalize.diagonalize_commuting``),
lowered with the noise model (``noise.program.lower_noisy``: the channel after every rotation, and
after every Clifford gate when ``noise.gates``, including the ancilla's H / S and the diagonalising
Clifford). Then, per setting, the distribution of the read bitstrings:

- ``method="density"``: exact, all settings in ONE vmapped density-matrix scan
  (``noise.density.evolve_density_batch``; n_sim <= 14 qubits, n + 1 for the ancilla scheme);
- ``method="trajectories"``: the average of ``trajectories`` Pauli-jump trajectories per setting,
  all settings in one vmapped scan (``noise.trajectories.trajectory_probabilities_batch``); the
  shots drawn from the average are exactly the shots split across the trajectories.

Readout error (``noise.readout.readout_probabilities``) acts on that distribution before sampling,
i.e. on the sampled bitstrings, before the readout map turns them into observable values. With
shots, each setting gets one exact multinomial draw of ``shots`` (``measure.sampling.sample_counts``,
one key per setting) and every observable of the setting is estimated from the same shots; without,
the values are the exact noisy expectations (density) or the trajectory averages.

Noise makes these estimators biased estimates of ``grad f_noisy`` (the gradient of the noisy
model's output): the ancilla settings are (n+1)-qubit circuits with the ancilla entangled through
every anticommuting later rotation, and the ancilla-free shift ``R_Q(+-pi/2)`` is one more noisy
rotation. ``docs/noise.md`` has the study.

The ancilla is qubit ``n``: a per-qubit readout error tuple of ``n + 1`` entries gives the ancilla
its own (the last); the ancilla scheme rejects an ``n``-entry tuple (the ancilla's error would be
unspecified). ``f_hat`` is one independent noisy run of the model circuit
(``noise.estimators.noisy_estimate_expectation``), measured with the first ``n`` readout entries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit
from ..core.gf2 import solve
from ..core.keys import raw_key
from ..core.simulator import initial_state
from ..measure.diagonalize import diagonalize_commuting
from ..measure.estimator import GradientEstimator
from ..measure.ledger import ShotLedger
from ..measure.sampling import check_shots, sample_counts, z_index_masks
from ..noise.density import MAX_DENSITY_QUBITS, evolve_density_batch, initial_density
from ..noise.estimators import check_method, noisy_estimate_expectation, noisy_value_plan
from ..noise.model import NoiseModel, as_noise_model
from ..noise.program import NoisyProgram, lower_noisy
from ..noise.readout import readout_probabilities
from ..noise.trajectories import trajectory_probabilities_batch
from .gradient import FHAT_MODES, SCHEMES, block_measurements, parameter_blocks
from .slpa import BlockCircuit

__all__ = [
    "NoisyBlockPlan",
    "noisy_block_plan",
    "noisy_block_gradient",
    "noisy_block_gradient_estimator",
]


@dataclass(frozen=True, eq=False)
class NoisyBlockPlan:
    """The static tables of a noisy block gradient (host side, cached per (bc, scheme, noise)).

    Attributes:
        n_sim: qubits of every setting (n + 1 for the ancilla scheme, n for ancilla-free).
        circuits: per setting, its circuit followed by its diagonalising Clifford (same parameters).
        programs: ``lower_noisy`` of each of them with the setting noise model.
        noise: the model the settings run with (readout tuples of n_sim entries).
        system_noise: the model of the n-qubit model circuit (``f_hat``).
        masks, signs: (C, K) int32 state-index parity masks and +-1 signs of each setting's
            observables (padded with mask 0 and sign 0).
        basis: (C, r) int32 state-index masks of r independent parities per setting (padded with 0);
            pattern: (C, K) int32, observable k's parity = XOR of the basis parities in pattern[c, k].
            The shots are drawn on the 2**r outcomes of the basis parities (the joint law of every
            observable of the setting), as ``blocks.gradient`` does.
        ro_circ, ro_obs, ro_param: (Q,) int32 readout triples of every setting; ro_factor (Q,) float.
    """

    n_sim: int
    circuits: tuple[Circuit, ...]
    programs: tuple[NoisyProgram, ...]
    noise: NoiseModel
    system_noise: NoiseModel
    masks: np.ndarray
    signs: np.ndarray
    basis: np.ndarray
    pattern: np.ndarray
    ro_circ: np.ndarray
    ro_obs: np.ndarray
    ro_param: np.ndarray
    ro_factor: np.ndarray

    @property
    def n_circuits(self) -> int:
        return len(self.circuits)


def _setting_noise(noise: NoiseModel, n: int, n_sim: int, where: str) -> tuple[NoiseModel, NoiseModel]:
    """(model of the n_sim-qubit settings, model of the n-qubit model circuit)."""
    sys_changes = {}
    for name in ("readout_01", "readout_10"):
        v = getattr(noise, name)
        if not isinstance(v, tuple):
            continue
        if len(v) != n_sim:
            need = f"{n} (one per qubit)" if n_sim == n else f"{n + 1} (one per qubit, the ancilla last)"
            raise ValueError(f"{where}: the noise model's {name} has {len(v)} entries, expected {need}")
        if n_sim != n:
            sys_changes[name] = v[:n]
    return noise, (noise.replace(**sys_changes) if sys_changes else noise)


@functools.lru_cache(maxsize=64)
def noisy_block_plan(bc: BlockCircuit, scheme: str, noise: NoiseModel) -> NoisyBlockPlan:
    """The settings of ``block_measurements(bc, scheme)`` with their Cliffords, lowered with ``noise``."""
    if not isinstance(bc, BlockCircuit):
        raise TypeError(f"noisy_block_plan: expected a BlockCircuit, got {type(bc).__name__}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: expected one of {list(SCHEMES)}, got {scheme!r}")
    noise = as_noise_model(noise, "noisy_block_plan")
    n = bc.n_qubits
    n_sim = n + 1 if scheme == "ancilla" else n
    sim_noise, sys_noise = _setting_noise(noise, n, n_sim, "noisy_block_plan")
    ms = block_measurements(bc, scheme)
    circuits, programs, masks, signs, zmasks = [], [], [], [], []
    ro = []
    for c, m in enumerate(ms):
        diag = diagonalize_commuting(m.observables)
        full = Circuit(m.circuit.n_qubits, m.circuit.ops + diag.clifford.ops, m.circuit.n_params)
        circuits.append(full)
        programs.append(lower_noisy(full, sim_noise))
        masks.append(np.asarray(z_index_masks(diag.z_masks), np.int32))
        zmasks.append(np.asarray(diag.z_masks, bool))
        signs.append(np.asarray(diag.signs, np.float64))
        ro.extend((c, k, p, f) for p, k, f in m.readout)
    k_max = max([len(s) for s in signs] + [1])
    mask_arr = np.zeros((len(ms), k_max), np.int32)
    sign_arr = np.zeros((len(ms), k_max))
    for c, (mk, sg) in enumerate(zip(masks, signs)):
        mask_arr[c, : len(mk)] = mk
        sign_arr[c, : len(sg)] = sg
    bases = [_parity_basis(zm) for zm in zmasks]
    r_max = max([len(b) for b, _ in bases] + [1])
    basis = np.zeros((len(ms), r_max), np.int32)
    pattern = np.zeros((len(ms), k_max), np.int32)
    for c, (b, pat) in enumerate(bases):
        basis[c, : len(b)] = b
        pattern[c, : len(pat)] = pat
    ro_arr = np.array(ro, np.float64).reshape(-1, 4)
    return NoisyBlockPlan(
        n_sim,
        tuple(circuits),
        tuple(programs),
        sim_noise,
        sys_noise,
        mask_arr,
        sign_arr,
        basis,
        pattern,
        ro_arr[:, 0].astype(np.int32),
        ro_arr[:, 1].astype(np.int32),
        ro_arr[:, 2].astype(np.int32),
        ro_arr[:, 3],
    )


def _parity_basis(z_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r,) state-index masks of independent parities among the rows of ``z_masks`` (K, n), and
    (K,) r-bit patterns: row k = XOR of the chosen rows in pattern[k] (GF(2), ``core.gf2``)."""
    z = np.asarray(z_masks, bool).reshape(len(z_masks), -1)
    chosen: list[np.ndarray] = []
    for row in z:
        if solve(np.array(chosen, bool).reshape(-1, z.shape[1]), row) is None:
            chosen.append(row)
    rows = np.array(chosen, bool).reshape(-1, z.shape[1])
    weights = 1 << np.arange(len(chosen))
    pattern = np.array([int((solve(rows, row) * weights).sum()) for row in z], np.int32)
    return np.asarray(z_index_masks(rows), np.int32).reshape(-1), pattern


def _check_args(method, trajectories, batch, shots, n_sim, where):
    check_method(method, trajectories, batch)
    if method == "density" and n_sim > MAX_DENSITY_QUBITS:
        raise ValueError(
            f"{where}: method='density' simulates {n_sim} qubits (at most {MAX_DENSITY_QUBITS}); use "
            "method='trajectories'"
        )
    if shots is not None:
        check_shots(shots, "shots")


def _probabilities(bc: BlockCircuit, plan: NoisyBlockPlan, params, state, method, key, trajectories, batch):
    """(C, 2**n_sim) distributions of the read bitstrings of every setting."""
    psi = initial_state(bc.circuit, params, state)
    if plan.n_sim != bc.n_qubits:  # ancilla last: kron(psi, |0>)
        psi = jnp.stack([psi, jnp.zeros_like(psi)], axis=-1).reshape(-1)
    angles = [c.angles(params) for c in plan.circuits]
    c_count = plan.n_circuits
    if method == "density":
        rho0 = initial_density(plan.n_sim, psi, psi.dtype)
        rho = evolve_density_batch(plan.programs, angles, jnp.broadcast_to(rho0, (c_count,) + rho0.shape))
        dim = 2**plan.n_sim
        probs = jnp.clip(jnp.real(jnp.diagonal(rho.reshape(c_count, dim, dim), axis1=1, axis2=2)), 0, None)
    else:
        keys = jax.random.split(key, c_count)
        psis = jnp.broadcast_to(psi, (c_count,) + psi.shape)
        probs = trajectory_probabilities_batch(
            plan.programs, angles, psis, keys, trajectories=trajectories, batch=batch
        )
    return jax.vmap(lambda p: readout_probabilities(p, plan.noise))(probs)


def _marginals(plan: NoisyBlockPlan, probs) -> jax.Array:
    """(C, 2**r) law of the r basis parities of each setting from its (C, 2**n_sim) distribution."""
    idx = lax.iota(jnp.int32, probs.shape[1])[None, None, :]
    bits = lax.population_count(jnp.asarray(plan.basis)[..., None] & idx) & 1  # (C, r, dim)
    outcome = jnp.sum(bits << lax.iota(jnp.int32, plan.basis.shape[1])[None, :, None], axis=1)  # (C, dim)
    size = 2 ** plan.basis.shape[1]
    return jax.vmap(lambda o, p: jnp.zeros(size, p.dtype).at[o].add(p))(outcome, probs)


@functools.partial(jax.jit, static_argnames=("bc", "plan", "shots", "method", "trajectories", "batch"))
def _gradient_core(bc, plan, shots, method, trajectories, batch, params, state, key):
    if method == "trajectories":
        k_traj, k_shots = jax.random.split(raw_key(key, "noisy_block_gradient"))
    else:
        k_traj, k_shots = None, key
    probs = _marginals(plan, _probabilities(bc, plan, params, state, method, k_traj, trajectories, batch))
    real = probs.dtype
    if shots is not None:  # one exact multinomial draw per setting, one key each
        keys = jax.random.split(raw_key(k_shots, "noisy_block_gradient"), plan.n_circuits)
        counts = jax.vmap(lambda k, p: sample_counts(p, shots, key=k))(keys, probs)
        probs = counts.astype(real) / jnp.asarray(shots, real)
    o = lax.iota(jnp.int32, probs.shape[1])[None, None, :]
    odd = lax.population_count(jnp.asarray(plan.pattern)[..., None] & o) & 1  # (C, K, 2**r)
    values = jnp.asarray(plan.signs, real) * jnp.einsum("cko,co->ck", (1 - 2 * odd).astype(real), probs)
    contrib = values[jnp.asarray(plan.ro_circ), jnp.asarray(plan.ro_obs)] * jnp.asarray(plan.ro_factor, real)
    return jnp.zeros(bc.n_params, params.dtype).at[jnp.asarray(plan.ro_param)].add(contrib.astype(params.dtype))


def _ledger(plan: NoisyBlockPlan, shots) -> ShotLedger:
    if shots is None:
        return ShotLedger.zero()
    return ShotLedger.of(plan.n_circuits, plan.n_circuits * shots)


def _need_key(key, shots, method, where):
    if key is None and (shots is not None or method == "trajectories"):
        raise ValueError(f"{where}: key is required with shots or method='trajectories'; pass key=jax.random.key(seed)")


def noisy_block_gradient(
    bc: BlockCircuit,
    params,
    noise: NoiseModel,
    *,
    scheme: str = "ancilla",
    shots: int | None = None,
    key=None,
    state=None,
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Block-gradient estimate (``blocks.gradient.block_gradient``) with every setting run under ``noise``.

    Args:
        bc: ``BlockCircuit`` with a single-Pauli observable.
        params: (n_params,) angles; float64 gives complex128 simulation.
        noise: the ``NoiseModel`` (see the module docstring for per-qubit readout tuples).
        scheme: "ancilla" or "ancilla_free".
        shots: shots per setting; None: exact noisy values (density) or trajectory averages.
        key: jax.random key, required with shots or trajectories (same key, same result).
        state: (2**n,) input state, default |0...0>.
        method: "density" or "trajectories"; trajectories, batch: per setting, and vmapped per step.

    Returns:
        ``(grad (n_params,), ledger)``: ``M`` executions and ``M * shots`` shots for the ``M`` settings
        of ``block_measurements(bc, scheme)``; a zero ledger without shots. With ``NoiseModel()`` and
        ``shots=None`` this is ``block_gradient(bc, params, scheme=scheme)``.
    """
    plan = noisy_block_plan(bc, scheme, as_noise_model(noise, "noisy_block_gradient"))
    _check_args(method, trajectories, batch, shots, plan.n_sim, "noisy_block_gradient")
    _need_key(key, shots, method, "noisy_block_gradient")
    params = bc.circuit.check_params(params)
    if plan.n_circuits == 0:
        initial_state(bc.circuit, params, state)
        return jnp.zeros(bc.n_params, params.dtype), ShotLedger.zero()
    grad = _gradient_core(bc, plan, shots, method, trajectories, batch, params, state, key)
    return grad, _ledger(plan, shots)


def noisy_block_gradient_estimator(
    bc: BlockCircuit,
    noise: NoiseModel,
    shots: int | None,
    scheme: str = "ancilla",
    *,
    fhat: str = "shared",
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
) -> GradientEstimator:
    """Noisy block-gradient training estimator (a ``GradientEstimator`` of kind ``scheme``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``: ``key`` splits into
    ``(k_f, k_g)``; ``f_hat`` is one independent noisy run of the model circuit
    (``noisy_estimate_expectation``, F settings: 1 for ``c P``, the grouped settings of a sum),
    ``grad_hat`` is ``noisy_block_gradient`` with ``k_g``. Ledger ``M + F`` executions of ``shots``
    each (the noiseless estimator's count); zero with ``shots=None``. Pure: jit / vmap / scan it.

    ``fhat="per_block"`` (``blocks.gradient.FHAT_MODES``, the authors' code): a fresh, independent
    noisy ``f_hat`` for every block (keys ``split(k_f, B)``), returned as an (n_params,) vector
    (parameter j gets its block's estimate); ledger ``M + B F``. Same semantics and count as the
    noiseless ``block_gradient_estimator(fhat="per_block")``; the draws differ from it for the same key
    (the noiseless estimator draws f_hat and the block settings together), so ``NoiseModel()`` equals
    it exactly without shots and in law with shots.
    """
    if not isinstance(bc, BlockCircuit):
        raise TypeError(f"noisy_block_gradient_estimator: expected a BlockCircuit, got {type(bc).__name__}")
    if fhat not in FHAT_MODES:
        raise ValueError(f"noisy_block_gradient_estimator: fhat must be one of {FHAT_MODES}, got {fhat!r}")
    plan = noisy_block_plan(bc, scheme, as_noise_model(noise, "noisy_block_gradient_estimator"))
    _check_args(method, trajectories, batch, shots, plan.n_sim, "noisy_block_gradient_estimator")
    per_block = fhat == "per_block"
    n_f = len(bc.blocks) if per_block else 1
    blocks_of = parameter_blocks(bc, "noisy_block_gradient_estimator") if per_block else None
    f_plan = noisy_value_plan(bc.observable, bc.n_qubits, "gc")  # the noiseless estimator's f settings
    n_c = plan.n_circuits + n_f * f_plan.n_settings

    def f_value(params, state, key):
        return noisy_estimate_expectation(
            bc.circuit,
            params,
            f_plan,
            plan.system_noise,
            shots=shots,
            key=key,
            state=state,
            grouping=f_plan,
            method=method,
            trajectories=trajectories,
            batch=batch,
        )

    def estimator(params, state, key):
        params = bc.circuit.check_params(params)
        _need_key(key, shots, method, "noisy_block_gradient_estimator")
        k_f, k_g = (None, None) if key is None else jax.random.split(raw_key(key, "noisy_block_gradient_estimator"))
        if not per_block:
            f_hat, led_f = f_value(params, state, k_f)
            f_hat = f_hat.astype(params.dtype)
        elif key is None and method == "density":  # exact: every block's f_hat is the same exact value
            f_hat, led_f = f_value(params, state, None)
            f_hat = jnp.broadcast_to(f_hat.astype(params.dtype), (bc.n_params,))
        else:
            f_b, led_b = jax.vmap(lambda k: f_value(params, state, k))(jax.random.split(k_f, n_f))
            f_hat, led_f = f_b.astype(params.dtype)[jnp.asarray(blocks_of)], led_b.sum()
        if plan.n_circuits == 0:
            return f_hat, jnp.zeros(bc.n_params, params.dtype), led_f
        grad = _gradient_core(bc, plan, shots, method, trajectories, batch, params, state, k_g)
        return f_hat, grad, led_f + _ledger(plan, shots)

    return GradientEstimator(scheme, estimator, n_c if shots is not None else 0, shots, bc)
