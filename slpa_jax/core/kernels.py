"""Pure array kernels on statevectors: Pauli action, Pauli rotation, Clifford gates, Pauli expectations.

State convention: a (2**n,) complex array (kernels also take its 2-D ``row_view``); qubit q is bit
``n-1-q`` of the index (qubit 0 most significant). A Pauli is given by index masks
``(xmask, zmask, n_y)`` (see ``Pauli.index_masks``): ``P|j> = i**n_y (-1)**popcount(j & zmask) |j ^ xmask>``.
Masks may be traced int32 scalars, so a ``lax.scan`` over a table of masks applies any sequence of
rotations with a single traced body.

No kernel is jitted here; no kernel mutates its input.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .gates import gate_spec

__all__ = [
    "row_view",
    "apply_pauli",
    "apply_rotation",
    "right_rotate",
    "apply_gate",
    "gate_row",
    "apply_gate_row",
    "pauli_expectation",
    "pauli_expectations",
    "real_overlap",
    "imag_pauli_element",
    "zero_state",
]


def zero_state(n: int, dtype=jnp.complex64) -> jax.Array:
    """|0...0> as a (2**n,) array."""
    return jnp.zeros(2**n, dtype=dtype).at[0].set(1)


def _i_power(k, dtype):
    """i**k for an integer (possibly traced) k, as a complex scalar of ``dtype``."""
    k = k % 4
    re = jnp.where(k == 0, 1.0, jnp.where(k == 2, -1.0, 0.0))
    im = jnp.where(k == 1, 1.0, jnp.where(k == 3, -1.0, 0.0))
    return lax.complex(re, im).astype(dtype)


ROW_BITS = 10  # rows of the 2-D view hold up to 2**ROW_BITS amplitudes


def row_view(state: jax.Array) -> jax.Array:
    """A (2**n,) state as a (2**(n-l), 2**l) matrix, l = min(ROW_BITS, n // 2) (a free reshape; n = 1 stays 1-D).

    Every kernel accepts either shape. On the 2-D view a Pauli whose X part has no bit below ``l``
    maps whole rows onto whole rows, so its partner gather moves contiguous rows (vector loads);
    the rotation then runs near memory speed instead of loading amplitudes one by one.
    """
    n = state.shape[0].bit_length() - 1
    c = 2 ** min(ROW_BITS, n // 2)
    return state if c == 1 else state.reshape(state.shape[0] // c, c)


def _partner(state, xmask, zmask, n_y):
    """Gathered partner amplitudes and their factors: ``(P state)[j] = factor[j] * state[j ^ xmask]``.

    ``P|j> = i**n_y (-1)**popcount(j & z) |j ^ x>`` gives
    ``(P s)[j] = i**(n_y + 2 popcount(x & z)) (-1)**popcount(j & z) s[j ^ x]``; the parity of ``j & z``
    only picks the sign of one complex scalar, so the pass is a gather plus a multiply-add.
    ``state`` is (2**n,) or its (R, C) ``row_view``; on the view, masks without bits below log2(C)
    gather whole rows (``r ^ (x >> log2 C)``), others fall back to the elementwise gather. The choice
    is a loop-invariant select, which the compiler hoists out of the loop (one of the two runs).
    Returns ``(partner, negative, power)``: ``partner[j] = state[j ^ x]``, ``negative[j]`` the parity of
    ``j & z`` and ``power`` the (traced) power of i.
    """
    x = jnp.asarray(xmask).astype(jnp.uint32)
    z = jnp.asarray(zmask).astype(jnp.uint32)
    power = jnp.asarray(n_y).astype(jnp.int32) + 2 * (lax.population_count(x & z) & 1).astype(jnp.int32)
    if state.ndim == 1:
        idx = lax.iota(jnp.uint32, state.shape[0])
        # unsigned indices: no negative-index fix-up; j ^ x < 2**n, so in bounds
        partner = state.at[idx ^ x].get(mode="promise_in_bounds", unique_indices=True)
        return partner, (lax.population_count(idx & z) & 1) == 1, power
    rows, cols = state.shape
    low = np.uint32(cols.bit_length() - 1)
    # gate-specific index expressions of two broadcast iotas: XLA fuses them into each pass (a shared
    # flat index array would be materialised and read like a state)
    r = lax.broadcasted_iota(jnp.uint32, state.shape, 0)
    c = lax.broadcasted_iota(jnp.uint32, state.shape, 1)
    lo = np.uint32(cols - 1)
    elementwise = (
        state.reshape(-1)
        .at[((r ^ (x >> low)) << low) | (c ^ (x & lo))]
        .get(mode="promise_in_bounds", unique_indices=True)
    )
    whole_rows = state.at[lax.iota(jnp.uint32, rows) ^ (x >> low)].get(mode="promise_in_bounds", unique_indices=True)
    partner = jnp.where((x & lo) == 0, whole_rows, elementwise)
    negative = (lax.population_count(((r & (z >> low)) << low) ^ (c & (z & lo))) & 1) == 1
    return partner, negative, power


def apply_pauli(state: jax.Array, xmask, zmask, n_y) -> jax.Array:
    """``P @ state`` in one pass: a gather at ``j ^ xmask`` and a parity sign."""
    partner, negative, power = _partner(state, xmask, zmask, n_y)
    k = _i_power(power, state.dtype)
    return jnp.where(negative, -k, k) * partner


def apply_rotation(state: jax.Array, xmask, zmask, n_y, theta, add_real=None) -> jax.Array:
    """``exp(-i theta P / 2) @ state`` = cos(theta/2) state - i sin(theta/2) P state, one fused pass.

    ``add_real`` (optional, real, broadcastable to ``state``) is added to the real part in the same
    pass (the simulator's in-place trick). The real ``cos`` factor is applied to the real and
    imaginary parts separately (half the multiplies of a complex product).
    """
    half = 0.5 * theta
    partner, negative, power = _partner(state, xmask, zmask, n_y)
    k = _i_power(power + 3, state.dtype) * jnp.sin(half).astype(state.dtype)  # -i sin(theta/2) i**power
    c = jnp.cos(half).astype(jnp.real(state).dtype)
    re = c * jnp.real(state)
    if add_real is not None:
        re = re + add_real
    return lax.complex(re, c * jnp.imag(state)) + jnp.where(negative, -k, k) * partner


def right_rotate(matrix: jax.Array, xmask, zmask, n_y, theta) -> jax.Array:
    """``matrix @ exp(-i theta P / 2)`` for a (..., 2**n) matrix, one pass over its columns.

    From ``P|j> = i**n_y (-1)**popcount(j & z) |j ^ x>``: ``(M P)[:, j] = i**n_y (-1)**popcount(j & z)
    M[:, j ^ x]`` (a column gather and a sign). Builds products of rotations from the right, e.g. the
    suffix unitaries of a circuit (small n: a dense ``2**n x 2**n`` matrix).
    """
    j = lax.iota(jnp.uint32, matrix.shape[-1])
    x = jnp.asarray(xmask).astype(jnp.uint32)
    negative = (lax.population_count(j & jnp.asarray(zmask).astype(jnp.uint32)) & 1) == 1
    half = 0.5 * theta
    k = _i_power(jnp.asarray(n_y).astype(jnp.int32) + 3, matrix.dtype) * jnp.sin(half).astype(matrix.dtype)
    partner = matrix.at[..., j ^ x].get(mode="promise_in_bounds", unique_indices=True)
    factor = jnp.where(negative, -k, k).reshape((1,) * (matrix.ndim - 1) + (-1,))
    return jnp.cos(half).astype(jnp.real(matrix).dtype) * matrix + factor * partner


def pauli_expectation(state: jax.Array, xmask, zmask, n_y) -> jax.Array:
    """Real ``<state| P |state>`` (unnormalised state allowed)."""
    return real_overlap(state, apply_pauli(state, xmask, zmask, n_y))


def real_overlap(bra: jax.Array, ket: jax.Array) -> jax.Array:
    """``Re <bra|ket>`` as a sum of real products (XLA reduces real arrays much faster than complex dots)."""
    return jnp.sum(jnp.real(jnp.conj(bra) * ket))


def imag_pauli_element(bra: jax.Array, ket: jax.Array, xmask, zmask, n_y) -> jax.Array:
    """``Im <bra| P |ket>`` in one fused pass (the adjoint-gradient term of a rotation about P)."""
    return jnp.sum(jnp.imag(jnp.conj(bra) * apply_pauli(ket, xmask, zmask, n_y)))


def pauli_expectations(state: jax.Array, xmasks, zmasks, n_ys) -> jax.Array:
    """(m,) real ``<P_k>`` for a table of m Paulis, scanning over the table (memory O(2**n))."""
    table = (jnp.asarray(xmasks, jnp.int32), jnp.asarray(zmasks, jnp.int32), jnp.asarray(n_ys, jnp.int32))

    return lax.scan(_expectation_step, state, table)[1]


def _expectation_step(state, row):
    """Scan body of ``pauli_expectations`` (module level, so eager calls reuse the compiled scan)."""
    return state, pauli_expectation(state, *row)


# --- Clifford gates: static qubits, the gate table's matrix on the (2,)*n tensor view --------------


def apply_gate(state: jax.Array, name: str, qubits: tuple[int, ...], n: int) -> jax.Array:
    """Apply the Clifford gate ``name`` (``core.gates.GATES``) on static ``qubits``.

    The gate's axes of the (2,)*n view are moved to the front; a monomial matrix (X, Y, Z, S, SDG,
    CNOT, CZ, SWAP) is an exact phased permutation of the 2**k sub-blocks, any other (H) a small
    dense contraction. ``state`` is (2**n,); the result has its shape and dtype.
    """
    spec = gate_spec(name, "apply_gate")
    k = spec.arity
    qs = list(qubits)
    t = jnp.moveaxis(state.reshape((2,) * n), qs, list(range(k))).reshape(2**k, -1)
    real = jnp.real(state).dtype
    if spec.monomial is not None:
        perm, phase = spec.monomial
        src = np.argsort(perm)  # out[perm[j]] = phase[j] * in[j]
        ph = phase[src]
        out = t[src]
        if not np.allclose(ph, 1):
            if np.allclose(ph.imag, 0):
                out = out * ph.real.astype(real)[:, None]
            else:
                out = out * ph.astype(state.dtype)[:, None]
    else:
        u = spec.matrix
        u = u.real.astype(real) if np.allclose(u.imag, 0) else u.astype(state.dtype)
        out = jnp.tensordot(u, t, axes=1)
    out = jnp.moveaxis(out.reshape((2,) * n), list(range(k)), qs)
    return out.reshape(state.shape)


def gate_row(name: str, qubits: tuple[int, ...], n: int) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """The Clifford gate ``name`` on ``qubits`` as a row of ``apply_gate_row`` (numpy, static):
    ``(bits (2,) int32, xmask, diag (4,) complex128, off (4,) complex128)``.

    ``bits`` are the index bits of the gate's qubits (a 1-qubit gate repeats its bit, so only rows 0 and
    3 of the tables are read); ``xmask`` is the gate's pair mask ``GateSpec.pair`` on the state index.
    """
    spec = gate_spec(name, "gate_row")
    d, diag, off = spec.pair
    pos = [n - 1 - q for q in qubits]
    if spec.arity == 1:
        bits, local = (pos[0], pos[0]), [0, 3]  # r = 2 b + b: 0 or 3
        xmask = (d & 1) << pos[0]
    else:
        bits, local = (pos[0], pos[1]), [0, 1, 2, 3]
        xmask = ((d >> 1) & 1) << pos[0] | (d & 1) << pos[1]
    dt, ot = np.ones(4, complex), np.zeros(4, complex)
    for r, row in zip(local, range(2**spec.arity)):
        dt[r], ot[r] = diag[row], off[row]
    return np.asarray(bits, np.int32), int(xmask), dt, ot


def apply_gate_row(state: jax.Array, bits, xmask, diag, off) -> jax.Array:
    """A Clifford gate in pair form (``gate_row``; arguments may be traced, so a ``lax.scan`` over a
    table of rows applies any gate sequence with one body): one pass,
    ``out[j] = diag[r] state[j] + off[r] state[j ^ xmask]``, ``r = 2 bit(j, bits[0]) + bit(j, bits[1])``.
    ``state`` is (2**n,); the identity row is ``diag = 1, off = 0, xmask = 0``.
    """
    idx = lax.iota(jnp.uint32, state.shape[0])
    b = jnp.asarray(bits).astype(jnp.uint32)
    r = 2 * ((idx >> b[0]) & 1) + ((idx >> b[1]) & 1)
    diag = jnp.asarray(diag).astype(state.dtype)
    off = jnp.asarray(off).astype(state.dtype)

    def pick(t):  # t[r] by selects (a 4-entry gather would not vectorise)
        return jnp.where(r == 0, t[0], jnp.where(r == 1, t[1], jnp.where(r == 2, t[2], t[3])))

    partner = state.at[idx ^ jnp.asarray(xmask).astype(jnp.uint32)].get(mode="promise_in_bounds", unique_indices=True)
    return pick(diag) * state + pick(off) * partner
