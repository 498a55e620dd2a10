"""Symmetry in, SLPA out: find the Pauli symmetry of a problem, choose logicals, build the SLPA.

- ``commutant(paulis)``: every Pauli string commuting with all of ``paulis`` (a GF(2) null space of
  the symplectic form), as an independent generating set.
- ``find_symmetry(paulis)``: a stabilizer group of the problem: the center of the commutant (the
  strings that commute with the problem *and* with every other symmetry; canonical), or with
  ``mode="maximal"`` the center greedily extended to a maximal abelian subgroup of the commutant.
  Feed it the terms of a Hamiltonian, the generators of a circuit (the paper's SC pattern gives
  ``{XXXX, ZZZZ}``), or both, and the observable's terms.
- ``choose_logicals(group)``: ``k = n - r`` logical qubits; from a symplectic basis
  ``(Xbar_i, Zbar_i)`` of ``N(S)/S`` the pattern ``Xbar_i, Zbar_i`` (every i) and ``Zbar_i Zbar_{i+1}``
  (a chain), each replaced by the lowest-weight member of its coset ``Lbar S``. These generate
  ``su(2^k)`` on every code space, so the SLPA reaches the largest DLA the symmetry allows,
  ``(4^k - 1) |S|`` Pauli strings.
- ``symmetric_slpa(problem, observable, n_blocks)``: all of it in one call.

Host-side numpy on bit-packed strings; nothing here is traced.

Example (the paper: the SC pattern's symmetry and an SLPA of the same expressivity):
    >>> from slpa_jax.blocks.ansatze import SC_PATTERN
    >>> find_symmetry(SC_PATTERN).generators.labels()
    ['XXXX', 'ZZZZ']
    >>> bc = symmetric_slpa(SC_PATTERN, "XXII", n_blocks=5)
    >>> bc.circuit.num_rotations, len(bc.blocks)
    (20, 5)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..core.gf2 import nullspace, rref
from ..core.pauli import Pauli, PauliTable, as_pauli_sum, as_pauli_table
from .slpa import BlockCircuit, build_slpa
from .stabilizer import StabilizerGroup

__all__ = ["commutant", "find_symmetry", "choose_logicals", "symmetric_slpa", "SYMMETRY_MODES"]

SYMMETRY_MODES = ("center", "maximal")
#: Cosets ``Lbar S`` are searched exhaustively for a low-weight representative up to this many generators.
MAX_COSET_GENERATORS = 12


def _vectors(table: PauliTable) -> np.ndarray:
    """(m, 2n) bool symplectic rows ``(x | z)``."""
    return np.concatenate([table.x_bits, table.z_bits], axis=1)


def _table(vecs: np.ndarray, n: int) -> PauliTable:
    if len(vecs) == 0:
        return PauliTable.empty(n)
    return PauliTable.from_bits(vecs[:, :n], vecs[:, n:])


def _problem(paulis, n: int | None, where: str) -> PauliTable:
    """Terms of a Hamiltonian / observable / generator list as an unsigned table (PauliSum accepted)."""
    if (
        not isinstance(paulis, (str, Pauli))
        and isinstance(paulis, Sequence)
        and paulis
        and isinstance(paulis[0], tuple)
    ):
        return as_pauli_sum(list(paulis), n).paulis.unsigned()  # [(coefficient, label), ...]
    return as_pauli_table(paulis, n, where=where, single=False).unsigned()


def commutant(paulis, n: int | None = None) -> PauliTable:
    """Independent generators of the group of Pauli strings (unsigned) commuting with all of ``paulis``.

    Args:
        paulis: labels, Paulis, a PauliTable, a PauliSum or ``[(coefficient, label), ...]``.
        n: qubit count (for sparse labels).

    Returns:
        PauliTable of ``2n - rank`` strings (the identity is the empty product, not listed).
    """
    table = _problem(paulis, n, "commutant")
    n = table.n
    v = _vectors(table)
    # w commutes with t iff t_x . w_z + t_z . w_x = 0: rows (t_z | t_x) against w = (w_x | w_z)
    constraint = np.concatenate([v[:, n:], v[:, :n]], axis=1)
    return _table(nullspace(constraint), n)


def find_symmetry(paulis, n: int | None = None, *, mode: str = "center") -> StabilizerGroup:
    """A stabilizer group (abelian, unsigned generators) of Pauli symmetries of ``paulis``.

    Args:
        paulis: the problem's strings: Hamiltonian terms, circuit generators, observable terms (any
            form ``commutant`` accepts).
        mode: ``"center"`` (default): the center of the commutant, the symmetries that commute with
            every other symmetry (basis independent); ``"maximal"``: the center extended greedily, in
            the commutant basis order, to a maximal abelian subgroup (for a non-abelian commutant,
            e.g. an odd XXZ chain, whose center is trivial).

    Returns:
        ``StabilizerGroup`` with ``+`` signs on its generators (choose a sector by signing them).

    Raises:
        ValueError: unknown ``mode``.
    """
    if mode not in SYMMETRY_MODES:
        raise ValueError(f"find_symmetry: mode must be one of {SYMMETRY_MODES}, got {mode!r}")
    table = _problem(paulis, n, "find_symmetry")
    n = table.n
    com = commutant(table)
    center = commutant(table.concat(com)) if len(com) else com
    gens = list(_vectors(center))
    if mode == "maximal":
        for w in _vectors(com):
            trial = np.array(gens + [w], bool)
            if _independent(trial) and all(_sp(w, g) == 0 for g in gens):
                gens.append(w)
    return StabilizerGroup.from_generators(_table(np.array(gens, bool).reshape(-1, 2 * n), n), n)


def _sp(u: np.ndarray, v: np.ndarray) -> int:
    n = u.shape[0] // 2
    return int((np.sum(u[:n] & v[n:]) + np.sum(u[n:] & v[:n])) % 2)


def _independent(rows: np.ndarray) -> bool:
    return len(rref(rows)[1]) == rows.shape[0]


def _lowest_weight(v: np.ndarray, stab: np.ndarray, n: int) -> np.ndarray:
    """The lowest-weight member of the coset ``v S`` (ties: the first in enumeration order)."""
    r = stab.shape[0]
    if r == 0:
        return v
    if r > MAX_COSET_GENERATORS:  # too many to enumerate: greedy descent by single generators
        best = v.copy()
        improved = True
        while improved:
            improved = False
            for s in stab:
                w = best ^ s
                if _weight(w, n) < _weight(best, n):
                    best, improved = w, True
        return best
    best, best_w = v, _weight(v, n)
    for bits in itertools.product((0, 1), repeat=r):
        w = v ^ np.bitwise_xor.reduce(stab[np.array(bits, bool)], axis=0) if any(bits) else v
        if _weight(w, n) < best_w:
            best, best_w = w, _weight(w, n)
    return best


def _weight(v: np.ndarray, n: int) -> int:
    return int(np.count_nonzero(v[:n] | v[n:]))


def choose_logicals(group: StabilizerGroup) -> list[str]:
    """A logical pattern generating ``su(2^k)`` on the code spaces of ``group`` (``k = n - r``).

    From a symplectic basis ``(Xbar_i, Zbar_i)`` of ``N(S)/S``: ``Xbar_0, Zbar_0, Xbar_1, Zbar_1, ...,``
    then ``Zbar_i Zbar_{i+1}`` for ``i < k - 1``; each string is the lowest-weight member of its coset
    ``Lbar S`` (exhaustive up to ``MAX_COSET_GENERATORS`` generators, greedy beyond). ``3k - 1``
    labels (unsigned); none for ``k = 0``.
    """
    if not isinstance(group, StabilizerGroup):
        raise TypeError(f"choose_logicals: group must be a StabilizerGroup, got {type(group).__name__}")
    n = group.n
    xs, zs = group.logical_operators()
    k = len(xs)
    stab = _vectors(group.generators) if group.n_generators else np.zeros((0, 2 * n), bool)
    xv, zv = _vectors(xs), _vectors(zs)
    pattern = []
    for i in range(k):
        pattern += [xv[i], zv[i]]
    pattern += [zv[i] ^ zv[i + 1] for i in range(k - 1)]
    low = np.array([_lowest_weight(v, stab, n) for v in pattern], bool).reshape(-1, 2 * n)
    return _table(low, n).unsigned().labels() if len(low) else []


def symmetric_slpa(
    problem, observable, n_blocks: int, *, stabilizers=None, logicals=None, mode: str = "center"
) -> BlockCircuit:
    """The SLPA of a problem: symmetry found (or given), logicals chosen (or given), ``n_blocks`` blocks.

    Args:
        problem: Hamiltonian terms / circuit generators whose symmetry the SLPA must keep (any form
            ``commutant`` accepts); the observable's terms are added.
        observable: label, Pauli, PauliSum or ``[(coefficient, label), ...]``.
        n_blocks: number of blocks; the logical pattern is cycled.
        stabilizers: a ``StabilizerGroup`` or labels; default ``find_symmetry(problem + observable, mode)``.
        logicals: labels; default ``choose_logicals(stabilizers)``.

    Raises:
        ValueError: ``n_blocks`` not a positive int, a trivial symmetry (no stabilizer: the SLPA
            would be a plain circuit; say so rather than build it), no logical qubit, or anything
            ``build_slpa`` rejects.
    """
    if not isinstance(n_blocks, (int, np.integer)) or isinstance(n_blocks, bool) or n_blocks < 1:
        raise ValueError(f"symmetric_slpa: n_blocks must be a positive int, got {n_blocks!r}")
    obs = as_pauli_sum(observable)
    if stabilizers is None:
        terms = _problem(problem, obs.n, "symmetric_slpa: problem").concat(obs.paulis.unsigned())
        group = find_symmetry(terms, mode=mode)
    elif isinstance(stabilizers, StabilizerGroup):
        group = stabilizers
    else:
        group = StabilizerGroup.generated_by(stabilizers, obs.n, up_to_sign=True)
    if group.n_generators == 0:
        raise ValueError(
            "symmetric_slpa: the problem has no Pauli symmetry commuting with the observable (trivial "
            "stabilizer group); an SLPA would be an ordinary circuit. Pass stabilizers= to choose one"
        )
    pattern = list(logicals) if logicals is not None else choose_logicals(group)
    if not pattern:
        raise ValueError(f"symmetric_slpa: the symmetry {group.generators.labels()} leaves no logical qubit")
    return build_slpa(group, [pattern[b % len(pattern)] for b in range(int(n_blocks))], obs)
