"""Linear algebra over GF(2) on (m, d) bool matrices: row reduction, rank, null space, solve.

Host-side numpy, used by the stabilizer formalism (``blocks.stabilizer``), the diagonalising
Clifford synthesis (``measure.diagonalize``) and the block-gradient readout. A Pauli string enters
as its symplectic row ``(x | z)``.

Example:
    >>> import numpy as np
    >>> a = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool)
    >>> rank(a), solve(a[:2], np.array([1, 0, 1], bool)).astype(int).tolist()
    (2, [1, 1])
"""

from __future__ import annotations

import numpy as np

__all__ = ["rref", "rank", "nullspace", "solve", "independent_rows"]


def rref(mat: np.ndarray, carry: np.ndarray | None = None) -> tuple[np.ndarray, list[int], np.ndarray | None]:
    """Reduced row echelon form of ``mat`` over GF(2).

    Args:
        mat: (m, d) bool.
        carry: optional (m, k) bool that undergoes the same row operations (e.g. the z half of a
            tableau reduced on its x half).

    Returns:
        ``(red, pivots, carried)``: ``red`` (m, d) with the ``len(pivots)`` pivot rows first (the
        rest zero), ``pivots`` the pivot columns in order, ``carried`` the transformed ``carry``.
    """
    a = np.array(mat, dtype=bool, copy=True)
    c = None if carry is None else np.array(carry, dtype=bool, copy=True)
    pivots: list[int] = []
    row = 0
    for col in range(a.shape[1]):
        if row == a.shape[0]:
            break
        hits = np.flatnonzero(a[row:, col])
        if hits.size == 0:
            continue
        p = row + int(hits[0])
        if p != row:
            a[[row, p]] = a[[p, row]]
            if c is not None:
                c[[row, p]] = c[[p, row]]
        others = a[:, col].copy()
        others[row] = False
        a[others] ^= a[row]
        if c is not None:
            c[others] ^= c[row]
        pivots.append(col)
        row += 1
    return a, pivots, c


def rank(mat: np.ndarray) -> int:
    """Rank over GF(2) of a (m, d) bool matrix."""
    return len(rref(mat)[1]) if np.size(mat) else 0


def nullspace(mat: np.ndarray) -> np.ndarray:
    """(d - rank, d) bool basis of ``{v : mat @ v = 0 mod 2}``."""
    d = mat.shape[1]
    if mat.shape[0]:
        red, pivots, _ = rref(mat)
    else:
        red, pivots = np.zeros((0, d), bool), []
    pivot_set = set(pivots)
    free = [c for c in range(d) if c not in pivot_set]
    basis = np.zeros((len(free), d), dtype=bool)
    for i, f in enumerate(free):
        basis[i, f] = True
        for r, p in enumerate(pivots):
            basis[i, p] = red[r, f]
    return basis


def solve(rows: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """Coefficients ``c`` ((m,) bool) with ``c @ rows = v`` over GF(2), or None if ``v`` is not in the span.

    ``rows`` is (m, d) bool, ``v`` (d,) bool.
    """
    m = rows.shape[0]
    if m == 0:
        return np.zeros(0, bool) if not np.any(v) else None
    aug = np.concatenate([np.asarray(rows, bool).T, np.asarray(v, bool)[:, None]], axis=1)  # rows.T @ c = v
    red, pivots, _ = rref(aug)
    if m in pivots:
        return None
    c = np.zeros(m, dtype=bool)
    for r, p in enumerate(pivots):
        c[p] = red[r, m]
    return c


def independent_rows(mat: np.ndarray) -> np.ndarray:
    """Sorted indices of a subset of rows of ``mat`` ((m, d) bool) that is a basis of their GF(2) span."""
    a = np.array(mat, dtype=bool, copy=True)
    free = np.ones(a.shape[0], dtype=bool)
    pivots = []
    for c in range(a.shape[1]):
        cand = np.flatnonzero(free & a[:, c])
        if cand.size == 0:
            continue
        p = cand[0]
        free[p] = False
        pivots.append(p)
        hit = free & a[:, c]
        a[hit] ^= a[p]
    return np.sort(np.asarray(pivots, dtype=np.int64))
