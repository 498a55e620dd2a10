"""Exact noisy simulation with density matrices, built from the statevector mask kernels.

``rho`` (2**n x 2**n) is stored row-major as a (4**n,) vector, i.e. as a state of 2n qubits: row
qubit ``q`` is register qubit ``q`` and column qubit ``q`` is register qubit ``n + q``. Then
``A rho B^T`` is ``(A (x) B) vec(rho)``, so ``U rho U^dag`` is ``U`` on the row qubits and ``U*`` on the
column qubits, and every operation is a pass of the ``core.kernels`` mask kernels over that vector:

- a rotation ``R_P(t)``: ``R_P(t)`` on the rows, ``R_P(t)* = R_P(-(-1)**n_Y t)`` on the columns (two
  ``apply_rotation`` passes; Clifford gates are lowered to their fixed rotations, ``noise.program``);
- a Pauli channel on qubit ``q``: ``sum_P p_P (P (x) P*) vec`` where ``P (x) P*`` is a real signed
  permutation (``apply_pauli`` with the row and column bit of ``q`` in its masks, phase 0), one fused
  pass for the three Paulis;
- amplitude damping on qubit ``q``: ``K0 (x) K0* + K1 (x) K1*``, an elementwise scaling plus one gather.

One ``lax.scan`` runs the table; trace and compile time do not grow with depth. Exact outcome
probabilities are the diagonal of ``C rho C^dag`` (``C`` the setting's diagonalising Clifford, noisy
too), then readout error (``noise.readout``). Memory 4**n amplitudes: n <= 12 is comfortable on CPU.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit
from ..core.kernels import apply_pauli, apply_rotation, row_view
from ..core.simulator import complex_dtype_for
from ..measure.diagonalize import Diagonalization
from .model import NoiseModel, as_noise_model
from .program import NoisyProgram, lower_noisy, pad_batch
from .readout import readout_probabilities

__all__ = [
    "MAX_DENSITY_QUBITS",
    "density_matrix",
    "density_matrix_from_angles",
    "initial_density",
    "evolve_density",
    "evolve_density_batch",
    "density_probabilities",
    "diagonal_probabilities",
    "apply_pauli_channel",
    "apply_damping",
    "apply_row_channels",
    "density_table",
]

#: Largest n the density-matrix path accepts (4**n amplitudes; masks of 2n bits in int32).
MAX_DENSITY_QUBITS = 14


def _check_n(n: int, where: str) -> None:
    if n > MAX_DENSITY_QUBITS:
        raise ValueError(
            f"{where}: the density-matrix path supports n_qubits <= {MAX_DENSITY_QUBITS} (4**n amplitudes), got "
            f"{n}; use the trajectory path (method='trajectories')"
        )


def initial_density(n: int, state=None, dtype=jnp.complex64) -> jax.Array:
    """The (4**n,) vectorised input ``rho``: |0..0><0..0| for None, ``psi psi^dag`` for a (2**n,) state,
    or a given (2**n, 2**n) density matrix."""
    dim = 2**n
    if state is None:
        return jnp.zeros(dim * dim, dtype).at[0].set(1)
    s = jnp.asarray(state)
    dtype = jnp.result_type(dtype, s.dtype)
    if s.shape == (dim,):
        s = s.astype(dtype)
        return jnp.outer(s, jnp.conj(s)).reshape(-1)
    if s.shape == (dim, dim):
        return s.astype(dtype).reshape(-1)
    raise ValueError(
        f"state: expected a ({dim},) statevector or a ({dim}, {dim}) density matrix for {n} qubits, "
        f"got shape {tuple(s.shape)}"
    )


def _flat_index(shape) -> jax.Array:
    """Flat int32 index of every entry of a 1-D vector or its 2-D ``row_view``."""
    if len(shape) == 1:
        return lax.iota(jnp.int32, shape[0])
    low = shape[1].bit_length() - 1
    r = lax.broadcasted_iota(jnp.int32, shape, 0)
    c = lax.broadcasted_iota(jnp.int32, shape, 1)
    return (r << low) | c


def apply_pauli_channel(v, m, probs):
    """``sum_P p_P (P (x) P*) v`` on the qubit whose row|column bits are ``m`` (one fused pass).

    A Pauli channel is its own adjoint (real weights, Hermitian Paulis), so the same pass evolves a
    Heisenberg observable backwards (``noise.heisenberg``).
    """
    real = jnp.real(v).dtype
    p = probs.astype(real)
    zero = jnp.zeros((), jnp.int32)
    out = p[0] * v + p[1] * apply_pauli(v, m, zero, zero)
    out = out + p[2] * apply_pauli(v, m, m, zero)  # Y (x) Y* = (XZ) (x) (XZ)
    return out + p[3] * apply_pauli(v, zero, m, zero)


def apply_damping(v, bh, bl, gamma, *, adjoint: bool = False):
    """Amplitude damping ``K0 rho K0^dag + K1 rho K1^dag`` on the qubit with row bit ``bh``, column bit ``bl``.

    ``K0 = diag(1, sqrt(1 - g))`` scales entry (a, b) of the qubit's 2x2 block by ``sqrt(1-g)**(a+b)``;
    ``K1 = sqrt(g) |0><1|`` adds ``g rho_11`` to ``rho_00``. With ``adjoint=True`` the adjoint channel
    ``K0^dag s K0 + K1^dag s K1`` (Heisenberg picture): the same scaling, and ``g s_00`` added to ``s_11``.
    """
    real = jnp.real(v).dtype
    g = gamma.astype(real)
    j = _flat_index(v.shape)
    a, b = (j & bh) != 0, (j & bl) != 0
    zero = jnp.zeros((), jnp.int32)
    partner = apply_pauli(v, bh | bl, zero, zero)  # v[j ^ (bh | bl)]
    keep = jnp.where(a & b, 1 - g, jnp.where(a | b, jnp.sqrt(1 - g), jnp.ones((), real)))
    if adjoint:
        return jnp.where(a & b, keep * v + g * partner, keep * v)
    return jnp.where(~a & ~b, v + g * partner, keep * v)


def apply_row_channels(v, n: int, qubits, probs, gamma, pauli_noise: bool, damping: bool, *, adjoint: bool = False):
    """The channels of one program row (``NoisyProgram.qubits`` / ``probs`` / ``gamma``) on a vectorised rho.

    Per slot: the Pauli channel, then damping; ``adjoint=True`` applies the adjoint map (slots and the
    two channels in reverse order, damping's adjoint). Empty slots (-1) are exact no-ops.
    """
    slots = range(qubits.shape[0])
    for s in reversed(slots) if adjoint else slots:
        # an empty slot (q = -1) gets masks 0, the identity channel and no damping: an exact no-op
        # without a branch (a lax.cond costs more to compile and runs both sides under vmap)
        q = qubits[s]
        live = q >= 0
        qq = jnp.maximum(q, 0)
        bh = jnp.where(live, jnp.left_shift(jnp.int32(1), 2 * n - 1 - qq), 0)
        bl = jnp.where(live, jnp.left_shift(jnp.int32(1), n - 1 - qq), 0)
        identity = jnp.asarray(np.array([1.0, 0.0, 0.0, 0.0]), probs.dtype)
        if damping and adjoint:
            v = apply_damping(v, bh, bl, jnp.where(live, gamma, 0), adjoint=True)
        if pauli_noise:
            v = apply_pauli_channel(v, bh | bl, jnp.where(live, probs, identity))
        if damping and not adjoint:
            v = apply_damping(v, bh, bl, jnp.where(live, gamma, 0))
    return v


@functools.lru_cache(maxsize=64)
def _density_step(n: int, pauli_noise: bool, damping: bool):
    def step(v, row):
        xh, zh, xl, zl, ny, th, low_sign, qubits, probs, gamma = row
        v = apply_rotation(v, xh, zh, ny, th)
        v = apply_rotation(v, xl, zl, ny, low_sign.astype(th.dtype) * th)
        return apply_row_channels(v, n, qubits, probs, gamma, pauli_noise, damping), None

    return step


def density_table(program: NoisyProgram, row_angles):
    """The scan table of a program on vectorised rho: ``(xh, zh, xl, zl, n_y, angle, low_sign, qubits, probs,
    gamma)``: the row's masks on the row (high) and column (low) register, and the sign that turns the
    row angle into the column angle (``R_P(t)* = R_P(-(-1)**n_Y t)``)."""
    n = program.n_qubits
    i32 = np.int32
    low_sign = np.where(program.n_y % 2 == 0, -1.0, 1.0)
    return (
        (program.xmask << n).astype(i32),
        (program.zmask << n).astype(i32),
        program.xmask.astype(i32),
        program.zmask.astype(i32),
        program.n_y.astype(i32),
        row_angles,
        low_sign,
        program.qubits,
        program.probs,
        program.gamma,
    )


def evolve_density(program: NoisyProgram, angles, rho_vec) -> jax.Array:
    """Run a ``NoisyProgram`` on a vectorised density matrix (4**n,); returns the (4**n,) result.

    ``angles`` is the circuit's (num_rotations,) angle vector (``Circuit.angles``). Compiled once per
    program and shapes (``program`` is a static argument; ``lower_noisy`` caches programs), so eager
    calls do not retrace; it nests in the caller's ``jit`` / ``vmap`` / ``grad``.
    """
    _check_n(program.n_qubits, "evolve_density")
    if program.n_rows == 0:
        return rho_vec
    return _evolve_density(program, angles, rho_vec)


@functools.partial(jax.jit, static_argnums=0)
def _evolve_density(program: NoisyProgram, angles, rho_vec):
    th = program.row_angles(angles).astype(jnp.real(rho_vec).dtype)
    step = _density_step(program.n_qubits, program.pauli_noise, program.damping)
    v = lax.scan(step, row_view(rho_vec), density_table(program, th))[0]
    return v.reshape(-1)


def evolve_density_batch(programs, angles, rho_vecs) -> jax.Array:
    """Run C ``NoisyProgram`` s on the same n qubits, each on its own input, in ONE vmapped scan.

    Args:
        programs: sequence of C programs (``lower_noisy``), all on ``n`` qubits; shorter ones are
            padded with exact no-op rows (``program.pad_program``).
        angles: sequence of C angle vectors, ``angles[c]`` the (num_rotations,) vector of the circuit
            ``programs[c]`` was lowered from (traced).
        rho_vecs: (C, 4**n) vectorised input density matrices.

    Returns:
        (C, 4**n) evolved ``rho`` s. One compiled scan for every program (the tables are stacked
        data), so compile time depends neither on C nor on the circuits.
    """
    rho_vecs = jnp.asarray(rho_vecs)
    n, padded, th = pad_batch(programs, angles, jnp.real(rho_vecs).dtype, "evolve_density_batch")
    _check_n(n, "evolve_density_batch")
    if rho_vecs.shape != (len(padded), 4**n):
        raise ValueError(f"rho_vecs: expected shape ({len(padded)}, {4**n}), got {tuple(rho_vecs.shape)}")
    tables = [density_table(p, th[c]) for c, p in enumerate(padded)]
    stacked = tuple(th if i == 5 else jnp.asarray(np.stack([t[i] for t in tables])) for i in range(len(tables[0])))
    step = _density_step(n, any(p.pauli_noise for p in padded), any(p.damping for p in padded))

    def one(rho, table):
        return lax.scan(step, row_view(rho), table)[0].reshape(-1)

    return jax.vmap(one)(rho_vecs, stacked)


def _angles_dtype(angles):
    angles = jnp.asarray(angles)
    if not jnp.issubdtype(angles.dtype, jnp.floating):
        angles = angles.astype(jnp.result_type(float))
    return angles


def density_matrix_from_angles(circuit: Circuit, angles, noise: NoiseModel, state=None) -> jax.Array:
    """``density_matrix`` from an explicit (num_rotations,) angle vector (as ``statevector_from_angles``)."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"density_matrix_from_angles: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, "density_matrix_from_angles")
    noise.check_qubits(circuit.n_qubits, "density_matrix_from_angles")
    _check_n(circuit.n_qubits, "density_matrix_from_angles")
    angles = _angles_dtype(angles)
    if angles.shape != (circuit.num_rotations,):
        raise ValueError(
            f"angles: expected shape ({circuit.num_rotations},) for a circuit with {circuit.num_rotations} "
            f"rotations, got {tuple(angles.shape)}"
        )
    rho = initial_density(circuit.n_qubits, state, complex_dtype_for(angles))
    rho = evolve_density(lower_noisy(circuit, noise), angles, rho)
    return rho.reshape(2**circuit.n_qubits, 2**circuit.n_qubits)


def density_matrix(circuit: Circuit, params, noise: NoiseModel, state=None) -> jax.Array:
    """Noisy final density matrix ``(2**n, 2**n)`` of ``circuit`` at ``params``.

    Args:
        circuit: the circuit (rotations and Clifford gates).
        params: (n_params,) parameters; float64 gives complex128.
        noise: the ``NoiseModel`` (readout error does not act on the state).
        state: None (|0..0>), a (2**n,) statevector or a (2**n, 2**n) density matrix.

    Returns:
        The (2**n, 2**n) complex density matrix. Jittable (circuit and noise are static) and vmappable
        over ``params`` and ``state``; differentiable with ordinary AD.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"density_matrix: expected a Circuit, got {type(circuit).__name__}")
    params = circuit.check_params(params)
    return density_matrix_from_angles(circuit, circuit.angles(params), noise, state)


def diagonal_probabilities(rho_vec) -> jax.Array:
    """The real diagonal of a vectorised (4**n,) or square density matrix (computational-basis probabilities)."""
    rho_vec = jnp.asarray(rho_vec)
    dim = int(round(np.sqrt(rho_vec.size)))
    d = jnp.diagonal(rho_vec.reshape(dim, dim))
    return jnp.clip(jnp.real(d), 0, None)


def density_probabilities(
    circuit: Circuit, params, noise: NoiseModel, diag: Diagonalization | None = None, *, state=None
) -> jax.Array:
    """Exact noisy outcome probabilities of a measurement setting, readout error included.

    The circuit runs with noise, then ``diag.clifford`` (noisy too when ``noise.gates``), then every qubit
    is measured and read through the readout confusion. Index order: qubit q = index bit n-1-q.

    Args:
        circuit, params, noise, state: as ``density_matrix``.
        diag: the setting (``measure.diagonalize.diagonalize_commuting``); None measures in the
            computational basis.

    Returns:
        (2**n,) real probabilities of the *read* bitstrings.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"density_probabilities: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, "density_probabilities")
    noise.check_qubits(circuit.n_qubits, "density_probabilities")
    rho = density_matrix(circuit, params, noise, state).reshape(-1)
    return setting_probabilities_from_density(rho, circuit.n_qubits, noise, diag)


def setting_probabilities_from_density(rho_vec, n: int, noise: NoiseModel, diag: Diagonalization | None):
    """Probabilities of the read bitstrings of a setting from an already evolved (4**n,) ``rho``."""
    if diag is not None:
        if not isinstance(diag, Diagonalization):
            raise TypeError(f"diag: expected a Diagonalization or None, got {type(diag).__name__}")
        if diag.n_qubits != n:
            raise ValueError(f"diag: the setting acts on {diag.n_qubits} qubits, the circuit on {n}")
        if len(diag.clifford.ops):
            real = jnp.real(rho_vec).dtype
            rho_vec = evolve_density(lower_noisy(diag.clifford, noise), jnp.zeros(0, real), rho_vec)
    return readout_probabilities(diagonal_probabilities(rho_vec), noise)


__all__ += ["setting_probabilities_from_density"]
