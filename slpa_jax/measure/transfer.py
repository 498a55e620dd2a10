"""Pauli-transfer sweeps for small n: states and observables as real vectors over the 4**n Pauli strings.

At small n the 2R shifted circuits of parameter shift are many short statevector runs over tiny arrays;
their per-pass cost is overhead, and their amplitude updates grow with the number of circuits. Here a
circuit of M Pauli rotations is swept ONCE forward (the input density matrix) and ONCE backward (the
observable, Heisenberg picture), both as real vectors over the Hermitian Pauli basis; every shifted
circuit's expectation is then a dot product of the two sweeps' vectors at one row (exact in exact
arithmetic: the same traces, re-associated). Used by ``param_shift`` (``_use_transfer``); the block
gradient's ancilla circuits admit the same treatment (benchmarks/RESULTS.md) but do not use it yet.

Basis: index ``c = (x << n) | z`` for the Hermitian Pauli ``sigma(c) = i**popcount(x & z) X^x Z^z``
on state indices (``X^x |j> = |j ^ x>``, ``Z^z |j> = (-1)**popcount(j & z) |j>``), the masks of
``Pauli.index_masks``. A state is ``r[c] = <psi| sigma(c) |psi>`` (``rho = 2**-n sum_c r[c] sigma(c)``);
an observable ``H = sum_c h[c] sigma(c)``; ``Tr(rho H) = sum_c r[c] h[c]``.

A rotation ``R_P(t)``, ``P = s sigma(p)`` (s = +-1), conjugates an anticommuting ``sigma(c)`` into
``cos t sigma(c) + sin t (i P sigma(c))`` and leaves a commuting one alone, so one row is one pass
``v'[c] = v[c] + anti[c] ((cos t - 1) v[c] +- sin t tau[c] v[c ^ p])`` with static tables
``anti`` (0/1) and ``tau`` (+-1): ``+`` for the Heisenberg picture (``R^dag H R``), ``-`` for the
Schroedinger picture (``R rho R^dag``). Cost per row: 4**n entries per vector, against 2**n amplitudes
per circuit for statevectors, so it pays when the circuits of one estimate outnumber ``2**n``
(the paper's n = 4 SC and NSC: 193 parameter-shift circuits against 16).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.pauli import PauliTable

__all__ = [
    "transfer_size",
    "pauli_product_phase",
    "row_tables",
    "pauli_vector",
    "pauli_index",
    "shift_contractions",
]


def transfer_size(n: int) -> int:
    """Entries of a Pauli-transfer vector on ``n`` qubits: ``4**n``."""
    return 4**n


def _popcount(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.int64)
    out = np.zeros(a.shape, np.int64)
    while np.any(a):
        out += a & 1
        a = a >> 1
    return out


def pauli_product_phase(a, b, n: int) -> np.ndarray:
    """``zeta`` with ``sigma(a) sigma(b) = zeta sigma(a ^ b)`` for basis indices ``a``, ``b`` (broadcast):
    ``i**(|ax & az| + |bx & bz| - |cx & cz|) (-1)**|az & bx|`` as complex128."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    low = (1 << n) - 1
    ax, az, bx, bz = a >> n, a & low, b >> n, b & low
    c = a ^ b
    power = _popcount(ax & az) + _popcount(bx & bz) - _popcount((c >> n) & (c & low)) + 2 * _popcount(az & bx)
    return 1j ** (power % 4)


def pauli_index(xmask: int, zmask: int, n: int) -> int:
    """Basis index of the Pauli with these index masks."""
    return (int(xmask) << n) | int(zmask)


@functools.lru_cache(maxsize=64)
def _row_tables_cached(key: tuple, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, zs, phases = (np.asarray(v, np.int64) for v in key)
    c = np.arange(4**n, dtype=np.int64)
    p = (xs << n) | zs  # (M,)
    sign = np.where(phases % 4 == 2, -1.0, 1.0)  # P = sign * sigma(p) (Hermitian generators)
    low = (1 << n) - 1
    # sigma(p), sigma(c) anticommute iff |px & cz| + |pz & cx| is odd
    anti = (_popcount(((p[:, None] >> n) & (c[None] & low)) ^ ((p[:, None] & low) & (c[None] >> n))) & 1).astype(
        np.float64
    )
    # i P sigma(c ^ p) = i sign zeta(p, c ^ p) sigma(c): real +-1 where anticommuting
    zeta = pauli_product_phase(p[:, None], c[None] ^ p[:, None], n)
    tau = anti * np.real(1j * sign[:, None] * zeta)
    return p.astype(np.int32), anti, tau


def row_tables(table: PauliTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static tables of a sequence of M rotation generators (Hermitian, sign + or -).

    Returns ``(p (M,) int32, anti (M, 4**n), tau (M, 4**n))``: the basis index of each generator, where
    it anticommutes with each basis Pauli (1.0) or not (0.0), and the real sign ``tau[i, c]`` of
    ``i P_i sigma(c ^ p_i) = tau[i, c] sigma(c)`` (0 where commuting).
    """
    n = table.n
    x, z, _ = table.index_masks()
    phases = np.asarray(table.phase, np.int64)
    if np.any(phases % 2):
        raise ValueError("row_tables: rotation generators must be Hermitian (sign + or -)")
    return _row_tables_cached((tuple(x.tolist()), tuple(z.tolist()), tuple(phases.tolist())), n)


@functools.lru_cache(maxsize=8)
def _vector_tables(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = 2**n
    j = np.arange(d)
    partner = j[None, :] ^ j[:, None]  # [x, j] -> j ^ x
    walsh = np.where(_popcount(j[:, None] & j[None, :]) % 2, -1.0, 1.0)  # [j, z]
    x, z = np.divmod(np.arange(d * d), d)
    phase = 1j ** (_popcount(x & z) % 4)  # sigma(x, z) = i**|x & z| X^x Z^z
    return partner, walsh, phase.reshape(d, d)


def pauli_vector(psi: jax.Array) -> jax.Array:
    """``r[c] = <psi| sigma(c) |psi>`` for a (2**n,) state (or a batch (..., 2**n)) -> (..., 4**n) real.

    ``<psi| X^x Z^z |psi> = sum_j conj(psi[j ^ x]) (-1)**|j & z| psi[j]``: one gather, one Walsh
    product, one phase."""
    d = psi.shape[-1]
    n = d.bit_length() - 1
    partner, walsh, phase = _vector_tables(n)
    real = jnp.real(psi).dtype
    v = jnp.conj(psi[..., jnp.asarray(partner)]) * psi[..., None, :]  # [..., x, j]
    w = jnp.einsum("...xj,jz->...xz", v, jnp.asarray(walsh, real).astype(psi.dtype))
    ph = jnp.asarray(phase.real, real), jnp.asarray(phase.imag, real)
    out = ph[0] * jnp.real(w) - ph[1] * jnp.imag(w)
    return out.reshape(psi.shape[:-1] + (d * d,))


# --- shifted-circuit values from one forward and one backward sweep ---------------------------------


@functools.lru_cache(maxsize=64)
def _shift_program(tables_key: tuple, n: int, rows: tuple):
    p, anti, tau = _row_tables_cached(tables_key, n)
    size = anti.shape[1]
    idx = np.asarray(rows, np.int32)

    def program(r0, h0, angles):
        real = r0.dtype
        iota = lax.iota(jnp.int32, size)
        tab = (jnp.asarray(p), jnp.asarray(anti, real), jnp.asarray(tau, real), jnp.cos(angles), jnp.sin(angles))

        def fwd(r, row):  # Schroedinger picture: R r R^dag
            pi, a, t, c, s = row
            r = r + a * ((c - 1) * r - s * t * r[iota ^ pi])
            return r, r

        _, rs = lax.scan(fwd, r0, tab)  # rs[i]: the state after rows 0..i

        def bwd(h, row):  # Heisenberg picture: R^dag h R, contracted with the state of the same row
            pi, a, t, c, s, r = row
            partner = h[:, iota ^ pi]
            comm = jnp.sum((r * (1 - a))[None] * h, axis=1)
            flip = jnp.sum((r * t)[None] * partner, axis=1)
            return h + a[None] * ((c - 1) * h + s * t[None] * partner), (comm, flip)

        _, (comm, flip) = lax.scan(bwd, h0, (*tab, rs), reverse=True)
        return comm[idx], flip[idx], jnp.sum(rs[-1][None] * h0, axis=1)

    return program


def shift_contractions(r0, h0, generators: PauliTable, angles, rows):
    """Per row ``i`` in ``rows``: ``(comm, flip)`` with the value of the circuit with ``R_{P_i}(+-pi/2)``
    inserted after row i equal to ``comm +- flip``, and the circuit's own values, for G observables.

    Args:
        r0: (4**n,) Pauli vector of the input state (``pauli_vector``).
        h0: (G, 4**n) observable vectors.
        generators: the M rotation generators (a ``PauliTable``, Hermitian).
        angles: (M,) real angles, row i applies ``R_{P_i}(angles[i])``.
        rows: static sequence of row indices.

    Returns:
        ``(comm (len(rows), G), flip (len(rows), G), final (G,))``. ONE forward scan stores the state
        after each row (``r_i``); ONE reverse scan carries the observables (``h_i``: the Heisenberg picture
        of rows i+1..M-1) and contracts them with it: ``comm_i = sum_c r_i (1 - anti_i) h_i``,
        ``flip_i = sum_c r_i tau_i h_i[c ^ p_i]`` (the partner gather shared with the Heisenberg update),
        since conjugating ``h_i`` by ``R_{P_i}(+-pi/2)`` keeps the commuting part and maps an
        anticommuting ``sigma(c)`` to ``+- tau_i[c] sigma(c ^ p_i)``.
    """
    x, z, _ = generators.index_masks()
    phases = np.asarray(generators.phase, np.int64)
    if np.any(phases % 2):
        raise ValueError("shift_contractions: rotation generators must be Hermitian (sign + or -)")
    key = (tuple(x.tolist()), tuple(z.tolist()), tuple(phases.tolist()))
    program = _shift_program(key, generators.n, tuple(int(r) for r in rows))
    return program(r0, jnp.asarray(h0, r0.dtype), angles)
