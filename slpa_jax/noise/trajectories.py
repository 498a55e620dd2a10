"""Noisy simulation by Pauli-jump trajectories: one statevector per key, exact in expectation.

A trajectory runs the same table as the density-matrix path (``noise.program``) on a (2**n,)
statevector. All its random numbers are drawn up front from its key. After a noisy row, for each
qubit of the row a Pauli is drawn from the channel's (I, X, Y, Z) probabilities; the row's Paulis
(on distinct qubits) are applied as one ``apply_pauli`` pass, skipped when all are I (Y is applied
as XZ, a global phase). Amplitude damping jumps (``K1``, probability ``gamma <P(q = 1)>``) or not
(``K0``), renormalised. The average of
``|psi_t><psi_t|`` over trajectories is then an unbiased estimate of the noisy ``rho``, and the
average of the trajectories' outcome distributions one of the exact noisy distribution.

Shots: a setting's ``N`` shots are split across ``T`` trajectories by ``Multinomial(N, 1/T)``, and
trajectory ``t`` draws its ``n_t`` shots from ``p_t``. The summed histogram has exactly the law
``Multinomial(N, mean_t p_t)`` (pick a trajectory uniformly, then an outcome), which is how it is
drawn (``measure.sampling.sample_counts`` of the averaged distribution): the total is exactly ``N``.
Trajectories run one after another in a ``lax.scan`` (``batch`` of them vmapped per step), so
memory is ``batch`` statevectors plus one accumulated distribution.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit
from ..core.kernels import apply_pauli, apply_rotation, row_view
from ..core.keys import raw_key
from ..core.simulator import complex_dtype_for, initial_state, statevector_from_angles
from ..measure.diagonalize import Diagonalization
from .model import NoiseModel, as_noise_model
from .program import NoisyProgram, lower_noisy, pad_batch
from .readout import readout_probabilities

__all__ = [
    "evolve_trajectory",
    "trajectory_state",
    "trajectory_probabilities",
    "trajectory_probabilities_from_angles",
    "trajectory_probabilities_batch",
]


def _flat_index(shape) -> jax.Array:
    if len(shape) == 1:
        return lax.iota(jnp.int32, shape[0])
    low = shape[1].bit_length() - 1
    return (lax.broadcasted_iota(jnp.int32, shape, 0) << low) | lax.broadcasted_iota(jnp.int32, shape, 1)


def _norm2(psi):
    return jnp.sum(jnp.real(psi) ** 2 + jnp.imag(psi) ** 2)


@functools.lru_cache(maxsize=64)
def _trajectory_step(n: int, pauli_noise: bool, damping: bool):
    """Scan body: the rotation, the row's pre-drawn Pauli error (one pass, skipped when it is I), damping."""

    def step(psi, row):
        x, z, ny, th, xerr, zerr, qubits, gamma, u = row
        psi = apply_rotation(psi, x, z, ny, th)
        zero = jnp.zeros((), jnp.int32)
        if pauli_noise:
            psi = lax.cond((xerr | zerr) != 0, lambda s: apply_pauli(s, xerr, zerr, zero), lambda s: s, psi)
        if damping:
            real = jnp.real(psi).dtype
            g = gamma.astype(real)
            for s in range(qubits.shape[0]):
                q = qubits[s]
                bit = jnp.where(q >= 0, jnp.left_shift(jnp.int32(1), n - 1 - jnp.maximum(q, 0)), 0)
                one = (_flat_index(psi.shape) & bit) != 0
                tot = _norm2(psi)
                p1 = jnp.sum(jnp.where(one, jnp.real(psi) ** 2 + jnp.imag(psi) ** 2, 0)) / tot
                jump = (u[s] < g * p1) & (bit != 0)
                lowered = jnp.where(one, 0, apply_pauli(psi, bit, zero, zero))  # K1 psi / sqrt(gamma)
                kept = jnp.where(one, jnp.sqrt(1 - g) * psi, psi)  # K0 psi
                new = jnp.where(jump, lowered, kept)
                scale = jnp.sqrt(tot / jnp.maximum(_norm2(new), jnp.finfo(real).tiny))
                psi = jnp.where(bit != 0, new * scale.astype(psi.dtype), psi)
        return psi, None

    return step


def _pauli_errors(n: int, probs, qubits, u, dtype):
    """(rows,) x and z index masks of the Pauli error drawn after each row (all slots of a row combined).

    ``u`` (rows, w) uniforms; slot s of row r draws I, X, Y, Z by inverse CDF of ``probs[r]``
    ((rows, 4)); ``qubits`` (rows, w), -1 for an empty slot.
    """
    cum = jnp.cumsum(jnp.asarray(probs, dtype), axis=1)  # (rows, 4)
    k = jnp.sum(u[:, :, None] >= cum[:, None, :3], axis=2)  # (rows, w): 0 I, 1 X, 2 Y, 3 Z
    q = jnp.asarray(qubits, jnp.int32)
    bits = jnp.where(q >= 0, jnp.left_shift(jnp.int32(1), n - 1 - jnp.maximum(q, 0)), 0).astype(jnp.int32)
    xerr = jnp.sum(jnp.where((k == 1) | (k == 2), bits, 0), axis=1).astype(jnp.int32)
    zerr = jnp.sum(jnp.where((k == 2) | (k == 3), bits, 0), axis=1).astype(jnp.int32)
    return xerr, zerr


def evolve_trajectory(program: NoisyProgram, angles, psi, key) -> jax.Array:
    """One trajectory of a ``NoisyProgram`` from the (2**n,) state ``psi`` with a raw or typed ``key``."""
    if program.n_rows == 0:
        return psi
    return _evolve_trajectory(program, angles, psi, raw_key(key, "evolve_trajectory"))


@functools.partial(jax.jit, static_argnums=0)
def _evolve_trajectory(program: NoisyProgram, angles, psi, key):
    real = jnp.real(psi).dtype
    th = program.row_angles(angles).astype(real)
    if program.damping or program.rotations is None:
        return _evolve_table(program.n_qubits, program.pauli_noise, program.damping, _arrays(program), th, psi, key)
    # Pauli noise only: push every drawn error to the end of the circuit (``_pushed_errors``), so the
    # trajectory is ONE noiseless run of the rows (the simulator's forward scan) with some angles
    # negated, then one Pauli: the cost of a noiseless statevector run.
    rows, width = program.qubits.shape
    u = jax.random.uniform(key, (rows, width, 2), dtype=real)
    xerr, zerr = _pauli_errors(program.n_qubits, program.probs, program.qubits, u[:, :, 0], real)
    flip, ex, ez = _pushed_errors(program.xmask.astype(np.int32), program.zmask.astype(np.int32), xerr, zerr)
    th = jnp.where(flip, -th, th) * jnp.asarray(program.signs, real)
    psi = statevector_from_angles(program.rotations, th, psi)
    return apply_pauli(psi, ex, ez, jnp.zeros((), jnp.int32))


def _pushed_errors(xmask, zmask, xerr, zerr):
    """Commute the Pauli error drawn after each row to the end: ``E R_P(t) = R_P(-t) E`` when E and P
    anticommute, ``R_P(t) E`` otherwise. Returns ``(flip (rows,) bool, ex, ez)``: rotation r is negated
    when the product of the errors before it anticommutes with its Pauli, and ``X^ex Z^ez`` (up to a
    phase) is the product of all errors, applied after the last row. Exact, trajectory by trajectory."""
    cx = lax.associative_scan(jnp.bitwise_xor, xerr)
    cz = lax.associative_scan(jnp.bitwise_xor, zerr)
    zero = jnp.zeros(1, jnp.int32)
    px = jnp.concatenate([zero, cx[:-1]])  # errors of rows < r
    pz = jnp.concatenate([zero, cz[:-1]])
    flip = ((lax.population_count(px & zmask) + lax.population_count(pz & xmask)) & 1) == 1
    return flip, cx[-1], cz[-1]


def _arrays(program: NoisyProgram):
    """The program's per-row tables (xmask, zmask, n_y, qubits, probs, gamma) as numpy arrays."""
    i32 = np.int32
    return (
        program.xmask.astype(i32),
        program.zmask.astype(i32),
        program.n_y.astype(i32),
        program.qubits,
        program.probs,
        program.gamma,
    )


def _evolve_table(n: int, pauli_noise: bool, damping: bool, arrays, th, psi, key):
    """One trajectory over explicit row tables (numpy or traced): the body of ``evolve_trajectory``."""
    real = jnp.real(psi).dtype
    xmask, zmask, n_y, qubits, probs, gamma = arrays
    rows, width = qubits.shape
    # all randomness drawn up front: (rows, w, 2) uniforms, column 0 for the Pauli, 1 for damping
    u = jax.random.uniform(key, (rows, width, 2), dtype=real)
    if pauli_noise:
        xerr, zerr = _pauli_errors(n, probs, qubits, u[:, :, 0], real)
    else:
        xerr = zerr = jnp.zeros(rows, jnp.int32)
    zero = jnp.zeros((), jnp.int32)
    if pauli_noise and not damping:  # errors pushed to the end: rotations only, then one Pauli
        flip, ex, ez = _pushed_errors(jnp.asarray(xmask), jnp.asarray(zmask), xerr, zerr)
        th = jnp.where(flip, -th, th)
        xerr = zerr = jnp.zeros(rows, jnp.int32)
        pauli_noise = False
    else:
        ex = ez = zero
    table = (xmask, zmask, n_y, th, xerr, zerr, qubits, gamma, u[:, :, 1])
    step = _trajectory_step(n, pauli_noise, damping)
    out = lax.scan(step, row_view(psi), table)[0].reshape(-1)
    return apply_pauli(out, ex, ez, zero)


def trajectory_probabilities_batch(programs, angles, psi0s, keys, *, trajectories: int, batch: int | None = None):
    """Trajectory-averaged outcome distributions of C programs on the same n qubits, in one scan.

    Args:
        programs: sequence of C ``NoisyProgram`` s (``lower_noisy``; each includes its setting's
            Clifford); padded with no-op rows (``program.pad_program``) and stacked as data.
        angles: sequence of C angle vectors (program c's circuit's ``Circuit.angles``).
        psi0s: (C, 2**n) input statevectors.
        keys: (C,) keys (raw (C, 2) or typed); program c's trajectory t uses ``split(keys[c], T)[t]``,
            as ``trajectory_probabilities`` does.
        trajectories: T per program; ``batch`` trajectories per scan step (must divide T).

    Returns:
        (C, 2**n) ``mean_t |psi_t|**2`` per program, WITHOUT readout error (apply
        ``readout.readout_probabilities`` per row).
    """
    psi0s = jnp.asarray(psi0s)
    n, padded, th = pad_batch(programs, angles, jnp.real(psi0s).dtype, "trajectory_probabilities_batch")
    trajectories, batch = _check_trajectories(trajectories, batch)
    if psi0s.shape != (len(padded), 2**n):
        raise ValueError(f"psi0s: expected shape ({len(padded)}, {2**n}), got {tuple(psi0s.shape)}")
    arrays = tuple(jnp.asarray(np.stack([_arrays(p)[i] for p in padded])) for i in range(6))
    pauli_noise = any(p.pauli_noise for p in padded)
    damping = any(p.damping for p in padded)
    keys = jax.vmap(lambda k: jax.random.split(k, trajectories))(keys)  # (C, T) keys, raw or typed

    def per_program(arr, t, psi0, ks):
        def one(k):
            psi = _evolve_table(n, pauli_noise, damping, arr, t, psi0, k)
            return jnp.real(psi) ** 2 + jnp.imag(psi) ** 2

        def body(acc, kb):
            return acc + jnp.sum(jax.vmap(one)(kb), axis=0), None

        kb = ks.reshape((trajectories // batch, batch) + ks.shape[1:])
        return lax.scan(body, jnp.zeros(psi0.shape[0], th.dtype), kb)[0] / trajectories

    return jax.vmap(per_program)(arrays, th, psi0s, keys)


def _angles(circuit: Circuit, angles):
    angles = jnp.asarray(angles)
    if not jnp.issubdtype(angles.dtype, jnp.floating):
        angles = angles.astype(jnp.result_type(float))
    if angles.shape != (circuit.num_rotations,):
        raise ValueError(
            f"angles: expected shape ({circuit.num_rotations},) for a circuit with {circuit.num_rotations} "
            f"rotations, got {tuple(angles.shape)}"
        )
    return angles


def trajectory_state(circuit: Circuit, params, noise: NoiseModel, *, key, state=None) -> jax.Array:
    """One noisy trajectory: a (2**n,) normalised-as-the-input statevector sample (same key, same state).

    ``E_key[|psi><psi|]`` equals ``density.density_matrix(circuit, params, noise, state)``.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"trajectory_state: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, "trajectory_state")
    noise.check_qubits(circuit.n_qubits, "trajectory_state")
    if key is None:
        raise ValueError("trajectory_state: key is required (one trajectory per key); pass key=jax.random.key(seed)")
    params = circuit.check_params(params)
    psi0 = initial_state(circuit, params, state)
    return evolve_trajectory(lower_noisy(circuit, noise), circuit.angles(params), psi0, key)


def _check_trajectories(trajectories, batch):
    if isinstance(trajectories, bool) or not isinstance(trajectories, (int, np.integer)) or trajectories < 1:
        raise ValueError(f"trajectories: expected a positive int, got {trajectories!r}")
    if batch is None:
        batch = int(trajectories)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1 or trajectories % batch:
        raise ValueError(f"batch: expected a positive int dividing trajectories={trajectories}, got {batch!r}")
    return int(trajectories), int(batch)


def trajectory_probabilities_from_angles(
    circuit: Circuit,
    angles,
    noise: NoiseModel,
    diag: Diagonalization | None = None,
    *,
    key,
    trajectories: int,
    batch: int | None = None,
    state=None,
) -> jax.Array:
    """``trajectory_probabilities`` from an explicit (num_rotations,) angle vector."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"trajectory_probabilities: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, "trajectory_probabilities")
    n = circuit.n_qubits
    noise.check_qubits(n, "trajectory_probabilities")
    trajectories, batch = _check_trajectories(trajectories, batch)
    if key is None:
        raise ValueError("trajectory_probabilities: key is required; pass key=jax.random.key(seed)")
    angles = _angles(circuit, angles)
    full = circuit
    if diag is not None:
        if not isinstance(diag, Diagonalization):
            raise TypeError(f"diag: expected a Diagonalization or None, got {type(diag).__name__}")
        if diag.n_qubits != n:
            raise ValueError(f"diag: the setting acts on {diag.n_qubits} qubits, the circuit on {n}")
        full = Circuit(n, circuit.ops + diag.clifford.ops, circuit.n_params)
    program = lower_noisy(full, noise)
    cdt = complex_dtype_for(angles, state)
    psi0 = jnp.zeros(2**n, cdt).at[0].set(1) if state is None else jnp.asarray(state, cdt)
    if psi0.shape != (2**n,):
        raise ValueError(f"state: expected shape ({2**n},) for {n} qubits, got {tuple(psi0.shape)}")
    keys = jax.random.split(raw_key(key, "trajectory_probabilities"), trajectories)
    total = _trajectory_sum(program, angles, psi0, keys, batch)
    return readout_probabilities(total / trajectories, noise)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _trajectory_sum(program: NoisyProgram, angles, psi0, keys, batch: int):
    """Sum over trajectories of the outcome distributions (``batch`` vmapped per scan step)."""

    def one(k):
        psi = evolve_trajectory(program, angles, psi0, k)
        return jnp.real(psi) ** 2 + jnp.imag(psi) ** 2

    def body(acc, ks):
        return acc + jnp.sum(jax.vmap(one)(ks), axis=0), None

    real = jnp.real(psi0).dtype
    keys = keys.reshape(keys.shape[0] // batch, batch, -1)
    return lax.scan(body, jnp.zeros(psi0.shape[0], real), keys)[0]


def trajectory_probabilities(
    circuit: Circuit,
    params,
    noise: NoiseModel,
    diag: Diagonalization | None = None,
    *,
    key,
    trajectories: int,
    batch: int | None = None,
    state=None,
) -> jax.Array:
    """Trajectory average of the outcome distribution of a setting, readout error included.

    Args:
        circuit, params, noise: as ``density.density_probabilities``.
        diag: the setting (its Clifford runs inside each trajectory, noisy too); None: computational basis.
        key: jax.random key; trajectory t uses ``split(key, trajectories)[t]``.
        trajectories: number of trajectories T.
        batch: trajectories vmapped per scan step (must divide T; default T: all at once).
        state: optional (2**n,) input statevector.

    Returns:
        (2**n,) ``mean_t p_t`` passed through the readout confusion: an unbiased estimate of
        ``density_probabilities``, standard error ``O(1 / sqrt(T))``.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"trajectory_probabilities: expected a Circuit, got {type(circuit).__name__}")
    params = circuit.check_params(params)
    return trajectory_probabilities_from_angles(
        circuit, circuit.angles(params), noise, diag, key=key, trajectories=trajectories, batch=batch, state=state
    )
