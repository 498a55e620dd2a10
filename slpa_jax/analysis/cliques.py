"""Clique covers of commutation graphs: exact maximum cliques, the authors' greedy cover, an exact
minimum cover for small graphs, and a proven lower bound.

A graph is an (L, L) boolean matrix, True where two vertices are compatible (e.g. two gradient
operators commute). Vertices are handled as Python-int bitsets, so branch-and-bound searches stay
fast for the L ~ 100-200 graphs of the paper's circuits. Used by ``efficiency`` (F_eff) and usable for
any grouping problem.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_graph", "max_clique", "greedy_clique_cover", "exact_clique_cover", "clique_cover_lower_bound"]


def check_graph(commute, where: str) -> np.ndarray:
    """A square symmetric bool (L, L) commutation matrix from ``commute``; ValueError naming ``where`` otherwise."""
    a = np.asarray(commute)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{where}: expected a square (L, L) commutation matrix, got shape {a.shape}")
    if a.dtype != bool:
        raise TypeError(f"{where}: expected a bool matrix (True = commute), got dtype {a.dtype}")
    if not np.array_equal(a, a.T):
        raise ValueError(f"{where}: the commutation matrix must be symmetric")
    return a


def _bitsets(a: np.ndarray) -> list[int]:
    """Neighbour bitsets (Python ints) of a bool adjacency, self-loops removed."""
    out = []
    for i, row in enumerate(a):
        bits = 0
        for j in np.flatnonzero(row):
            if j != i:
                bits |= 1 << int(j)
        out.append(bits)
    return out


def _bits_to_list(bits: int) -> list[int]:
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _colour_bound(p: int, adj: list[int]) -> tuple[list[int], list[int]]:
    """Greedy sequential colouring of the vertex set ``p``: vertices and their colour numbers (ascending)."""
    order, colours = [], []
    colour, uncoloured = 0, p
    while uncoloured:
        colour += 1
        q = uncoloured
        while q:
            low = q & -q
            v = low.bit_length() - 1
            uncoloured &= ~low
            q &= ~low & ~adj[v]
            order.append(v)
            colours.append(colour)
    return order, colours


def _max_clique_bits(adj: list[int], cand: int) -> int:
    """Maximum clique within vertex set ``cand`` (bitset) by branch and bound (Tomita-Seki style)."""
    best = [0, 0]  # size, bitset

    def expand(r: int, r_size: int, p: int) -> None:
        order, colours = _colour_bound(p, adj)
        for v, c in zip(reversed(order), reversed(colours)):
            if r_size + c <= best[0]:
                return
            low = 1 << v
            new_p = p & adj[v]
            if new_p:
                expand(r | low, r_size + 1, new_p)
            elif r_size + 1 > best[0]:
                best[0], best[1] = r_size + 1, r | low
            p &= ~low

    if cand:
        expand(0, 0, cand)
    return best[1]


def max_clique(commute) -> np.ndarray:
    """Indices (ascending) of one maximum clique of the commutation graph (exact branch and bound)."""
    a = check_graph(commute, "max_clique: commute")
    adj = _bitsets(a)
    return np.array(_bits_to_list(_max_clique_bits(adj, (1 << len(adj)) - 1)), dtype=np.int64)


def greedy_clique_cover(commute) -> list[np.ndarray]:
    """Repeated maximum-clique removal (the authors' grouping): groups of pairwise-commuting indices."""
    a = check_graph(commute, "greedy_clique_cover: commute")
    adj = _bitsets(a)
    left = (1 << len(adj)) - 1
    groups = []
    while left:
        clique = _max_clique_bits(adj, left)
        groups.append(np.array(_bits_to_list(clique), dtype=np.int64))
        left &= ~clique
    return groups


def _greedy_independent_set(adj: list[int], n: int) -> int:
    """Size of a greedy independent set in the commutation graph (min-degree first)."""
    left, size = (1 << n) - 1, 0
    while left:
        verts = _bits_to_list(left)
        v = min(verts, key=lambda u: ((adj[u] & left).bit_count(), u))
        size += 1
        left &= ~(adj[v] | (1 << v))
    return size


def clique_cover_lower_bound(commute) -> int:
    """A lower bound on the minimum clique cover: max(greedy independent set, ceil(L / max clique size)).

    An independent set (pairwise non-commuting gradient operators) needs one group per member, and no group
    is larger than a maximum clique.
    """
    a = check_graph(commute, "clique_cover_lower_bound: commute")
    n = a.shape[0]
    if n == 0:
        return 0
    adj = _bitsets(a)
    omega = _max_clique_bits(adj, (1 << n) - 1).bit_count()
    return max(_greedy_independent_set(adj, n), math.ceil(n / omega))


def exact_clique_cover(commute, *, max_vertices: int = 40) -> list[np.ndarray]:
    """Minimum clique cover by exact branch and bound (colouring of the non-commutation graph).

    Vertices are placed one at a time in DSATUR order (most distinct groups already blocked first) into an
    existing group they commute with entirely, or a new group; a branch is cut when it cannot beat the
    best cover, and the search stops when it reaches ``clique_cover_lower_bound``. Exponential in the worst
    case: refuses more than ``max_vertices`` vertices.
    """
    a = check_graph(commute, "exact_clique_cover: commute")
    n = a.shape[0]
    if n > max_vertices:
        raise ValueError(
            f"exact_clique_cover: {n} vertices exceed max_vertices={max_vertices} (the search is exponential); "
            "use greedy_clique_cover and clique_cover_lower_bound, or raise max_vertices"
        )
    if n == 0:
        return []
    adj = _bitsets(a)
    best = greedy_clique_cover(a)
    best_groups = [int(sum(1 << int(v) for v in g)) for g in best]
    lower = clique_cover_lower_bound(a)
    if len(best_groups) == lower:
        return best
    best_size = [len(best_groups)]
    full = (1 << n) - 1

    def blocked(v: int, groups: list[int]) -> int:
        """Number of groups v cannot join (it fails to commute with some member)."""
        return sum(1 for g in groups if g & ~adj[v])

    def search(groups: list[int], placed: int) -> bool:
        if placed == full:
            if len(groups) < best_size[0]:
                best_size[0] = len(groups)
                best_groups[:] = list(groups)
            return best_size[0] == lower
        if len(groups) >= best_size[0]:
            return False
        rest = _bits_to_list(full & ~placed)
        v = max(rest, key=lambda u: (blocked(u, groups), (adj[u] & ~placed).bit_count() * -1, -u))
        for i, g in enumerate(groups):
            if not (g & ~adj[v]):
                groups[i] = g | (1 << v)
                if search(groups, placed | (1 << v)):
                    return True
                groups[i] = g
        if len(groups) + 1 < best_size[0]:
            groups.append(1 << v)
            done = search(groups, placed | (1 << v))
            groups.pop()
            if done:
                return True
        return False

    search([], 0)
    return [np.array(_bits_to_list(g), dtype=np.int64) for g in best_groups]
