"""Gradient measurement efficiency: gradient-operator commutation, F_eff by clique covers, trade-off bound.

Spec section 2. For ``U = R_{G_L} ... R_{G_1}`` and ``f = Tr[O U rho U^dag]`` the gradient operators are
``Gamma_j = (i/2) [G_j^H, O^H]`` with ``G_j^H = U_{1:j}^dag G_j U_{1:j}``, ``O^H = U^dag O U``, so
``df/dtheta_j = Tr[rho Gamma_j]``. Gradient components j and k are simultaneously measurable when
``[Gamma_j, Gamma_k] = 0`` for all theta; numerically (as the authors do) at one random theta with a
threshold on the squared norm. ``F_eff(L) = L / M_L``, ``M_L`` = minimum clique cover of the commutation
graph (vertices = rotations, edge = commuting gradient operators).

Algorithms (``docs/analysis.md``):
- ``gradient_commutation_matrix``: dense float64 matrices (small n), criterion
  ``||[Gamma_j, Gamma_k]||_F^2 / 2^n < tol`` (default ``tol = 1e-12``).
- ``structural_commutation``: a sufficient, theta-independent criterion from the commuting-block
  structure (works for any n; see its docstring).
- ``greedy_clique_cover``: repeated exact maximum-clique removal (branch and bound with a greedy colouring
  bound on bitsets), the authors' method; ``exact_clique_cover``: exact minimum for small L (DSATUR-ordered
  branch and bound); ``clique_cover_lower_bound``: max(greedy independent set, ceil(L / omega)).
- ``check_tradeoff``: ``X_exp <= 4^n / F_eff - F_eff`` and ``X_exp >= F_eff`` with its hypotheses checked.

One gradient operator per rotation of the circuit (rotation order = ``circuit.generators`` order), as in
the paper where each rotation has its own parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import numpy as np

from ..core.circuit import Circuit, Gate
from ..core.gates import GATES
from ..core.pauli import (
    Pauli,
    PauliSum,
    PauliTable,
    anticommute_parity,
    as_pauli_sum,
    as_pauli_table,
    commutation_matrix,
    string_keys,
)
from .cliques import (
    check_graph,
    clique_cover_lower_bound,
    exact_clique_cover,
    greedy_clique_cover,
    max_clique,
)
from .dla import DLA, dynamical_lie_algebra

__all__ = [
    "DEFAULT_COMMUTATION_TOL",
    "CliqueCover",
    "TradeoffReport",
    "gradient_operators",
    "gradient_commutation_matrix",
    "structural_commutation",
    "max_clique",
    "greedy_clique_cover",
    "exact_clique_cover",
    "clique_cover_lower_bound",
    "clique_cover",
    "gradient_efficiency",
    "asymptotic_f_eff",
    "tradeoff_bound",
    "check_tradeoff",
]

#: Threshold on ``||[Gamma_j, Gamma_k]||_F^2 / 2^n`` below which two gradient operators commute.
DEFAULT_COMMUTATION_TOL = 1e-12
_MAX_DENSE_QUBITS = 8

# ----------------------------------------------------------------------------------------------------
# Dense gradient operators (host-side numpy, float64)
# ----------------------------------------------------------------------------------------------------


def _pauli_left(p: Pauli, m: np.ndarray) -> np.ndarray:
    """``P @ m`` for a (d, d) matrix: a row permutation with phases (qubit q = index bit n-1-q)."""
    x, z, ny = p.index_masks()
    idx = np.arange(m.shape[0])
    src = idx ^ x
    sign = 1 - 2 * (np.bitwise_count(src & z).astype(np.int64) & 1)
    return ((1j ** (p.phase + ny)) * sign)[:, None] * m[src]


def _random_params(circuit: Circuit, params, key) -> np.ndarray:
    if params is None:
        if key is None:
            raise ValueError("params: give params or a jax.random key (key=...) to draw theta ~ U[0, 2 pi)")
        params = jax.random.uniform(key, (circuit.n_params,), minval=0.0, maxval=2 * np.pi)
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (circuit.n_params,):
        raise ValueError(
            f"params: expected shape ({circuit.n_params},) for a circuit with {circuit.n_params} parameters, "
            f"got shape {params.shape}"
        )
    return params


def gradient_operators(circuit: Circuit, observable, params) -> np.ndarray:
    """Dense gradient operators ``Gamma_j = (i/2)[G_j^H, O^H]`` of every rotation, float64.

    Args:
        circuit: a Circuit with ``n_qubits <= 8`` (dense ``2^n x 2^n`` matrices); Clifford gates and
            fixed rotations are part of ``U``.
        observable: label, Pauli, PauliSum or list of (coefficient, label).
        params: (n_params,) parameter values.

    Returns:
        (num_rotations, 2^n, 2^n) complex128 Hermitian matrices, rotation order, with
        ``d f / d angle_j = <rho, Gamma_j>`` (derivative with respect to the rotation's angle).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"gradient_operators: expected a Circuit, got {type(circuit).__name__}")
    n = circuit.n_qubits
    if n > _MAX_DENSE_QUBITS:
        raise ValueError(
            f"gradient_operators: dense matrices need n_qubits <= {_MAX_DENSE_QUBITS}, got {n}; "
            "use structural_commutation for large n"
        )
    obs = as_pauli_sum(observable, n).to_matrix()
    params = _random_params(circuit, params, None)
    d = 2**n
    v = np.eye(d, dtype=np.complex128)  # U_{1:j}: everything applied so far
    gens_h = []
    for op in circuit.ops:
        if isinstance(op, Gate):
            v = GATES[op.name].apply_left(v, op.qubits, n)
            continue
        angle = op.offset + (0.0 if op.param is None else op.scale * params[op.param])
        pv = _pauli_left(op.pauli, v)
        gens_h.append(v.conj().T @ pv)  # G_j^H = U_{1:j-1}^dag G_j U_{1:j-1}
        v = np.cos(angle / 2) * v - 1j * np.sin(angle / 2) * pv
    obs_h = v.conj().T @ obs @ v
    if not gens_h:
        return np.zeros((0, d, d), np.complex128)
    g = np.stack(gens_h)
    return 0.5j * (g @ obs_h - obs_h[None] @ g)


def gradient_commutation_matrix(
    circuit: Circuit,
    observable,
    params=None,
    *,
    key=None,
    tol: float = DEFAULT_COMMUTATION_TOL,
    return_norms: bool = False,
):
    """(L, L) bool matrix, True where the gradient operators of rotations j and k commute at ``params``.

    The criterion is ``||[Gamma_j, Gamma_k]||_F^2 / 2^n < tol`` (the normalised squared Frobenius norm;
    ``tol = 1e-12`` by default, as the authors' threshold). Without ``params`` a ``key`` draws
    ``theta ~ U[0, 2 pi)`` (same key, same theta). The diagonal is True.

    Returns:
        ``commute`` (L, L) bool, or ``(commute, norms)`` with the (L, L) float64 normalised squared norms
        when ``return_norms``.
    """
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol: expected a positive float, got {tol!r}")
    params = _random_params(circuit, params, key)
    gam = gradient_operators(circuit, observable, params)
    n_rot, d = gam.shape[0], 2**circuit.n_qubits
    norms = np.zeros((n_rot, n_rot))
    wide = np.ascontiguousarray(gam.transpose(1, 0, 2)).reshape(d, n_rot * d)  # [Gamma_0 | Gamma_1 | ...]
    for j in range(n_rot - 1):
        # Gamma_j Gamma_k for all k > j in one BLAS call; the commutator is prod - prod^dag (Hermitian Gammas)
        prod = (gam[j] @ wide[:, (j + 1) * d :]).reshape(d, n_rot - j - 1, d).transpose(1, 0, 2)
        comm = prod - np.conj(np.swapaxes(prod, 1, 2))
        re, im = comm.real, comm.imag
        norms[j, j + 1 :] = np.einsum("kab,kab->k", re, re) + np.einsum("kab,kab->k", im, im)
    norms /= d
    norms = np.maximum(norms, norms.T)
    commute = norms < tol
    return (commute, norms) if return_norms else commute


# ----------------------------------------------------------------------------------------------------
# Structural (theta-independent) criterion
# ----------------------------------------------------------------------------------------------------


def _ordered_generators(generators, where: str) -> PauliTable:
    """Rotation generators in circuit order, duplicates kept (unsigned)."""
    if isinstance(generators, Circuit):
        return generators.generators
    if isinstance(generators, str) or (isinstance(generators, Sequence) and len(generators) == 0):
        raise TypeError(
            f"{where}: expected a Circuit, a PauliTable or a non-empty sequence of Pauli labels, "
            f"got {type(generators).__name__}"
        )
    return as_pauli_table(generators, where=where).unsigned()


def _later_strings(gens: PauliTable, obs: PauliTable, mode: str) -> tuple[PauliTable, np.ndarray]:
    """Strings that can appear in ``W_{>k}^dag O W_{>k}`` for every k, stored so that the first
    ``count[k + 1]`` rows are the set for cut k (``count[L]``: the observable's terms alone).

    mode "support": the observable's terms closed under conjugation by the later rotations, swept backwards
    (``R_P^dag T R_P`` adds ``P T`` when P and T anticommute); mode "blocks": the observable's terms and the
    later generators themselves (their products have the same commutation pattern).
    """
    n_rot = len(gens)
    count = np.empty(n_rot + 1, np.int64)
    xs, zs = [obs.x], [obs.z]
    size = len(obs)
    if mode == "blocks":
        for m in range(n_rot - 1, -1, -1):
            count[m + 1] = size
            xs.append(gens.x[m : m + 1])
            zs.append(gens.z[m : m + 1])
            size += 1
        count[0] = size
        x, z = np.concatenate(xs), np.concatenate(zs)
        return PauliTable(x, z, np.zeros(len(x), np.int64), gens.n), count
    cur_x, cur_z = obs.x, obs.z
    seen = np.sort(string_keys(cur_x, cur_z))
    for m in range(n_rot - 1, -1, -1):
        count[m + 1] = len(cur_x)
        gx, gz = gens.x[m], gens.z[m]
        anti = anticommute_parity(gx[None], gz[None], cur_x, cur_z).astype(bool)
        if anti.any():
            px, pz = cur_x[anti] ^ gx, cur_z[anti] ^ gz
            keys = string_keys(px, pz)
            new = ~np.isin(keys, seen)
            if new.any():
                cur_x, cur_z = np.concatenate([cur_x, px[new]]), np.concatenate([cur_z, pz[new]])
                seen = np.sort(np.concatenate([seen, keys[new]]))
    count[0] = len(cur_x)
    return PauliTable(cur_x, cur_z, np.zeros(len(cur_x), np.int64), gens.n), count


def structural_commutation(generators, observable, *, mode: str = "support") -> np.ndarray:
    """(L, L) bool: a theta-independent SUFFICIENT condition for ``[Gamma_j, Gamma_k] = 0`` for all theta.

    Let ``T_k`` be a set of Pauli strings containing every term of ``W_{>k}^dag O W_{>k}`` (the observable
    pulled back through the rotations after k). True for ``j < k`` when
      (a) ``G_j`` and ``G_k`` commute with every generator ``G_m``, ``j <= m <= k``, and every string of
          ``T_k`` has the same (anti)commutation with ``G_j`` as with ``G_k``; or
      (b) ``Gamma_j = 0`` identically: ``G_j`` commutes with every string of ``T_j`` (same for k).
    ``mode="blocks"`` takes ``T_k`` = the later generators and the observable's terms: then (a) holds
    whenever j and k lie in one commuting block of a commuting-block circuit (spec section 3: a block's
    generators commute pairwise and share their (anti)commutation with every later generator; here the
    observable's terms count as later generators). ``mode="support"`` (default) takes ``T_k`` = the
    observable's terms closed under the later rotations (its light cone), which also catches gradient
    operators near the output that commute because ``O`` has not spread yet; cost ``O(L |T_0|)``,
    ``|T_0| <= 4^n`` (the orbit of O). Proof in ``docs/analysis.md``. Pure Pauli algebra, any n. The
    criterion is not necessary: compare with ``gradient_commutation_matrix`` on small n.

    Args:
        generators: a Circuit (its rotations in order), PauliTable, or sequence of labels (order matters).
        observable: label, Pauli, PauliSum or list of (coefficient, label).
        mode: "support" or "blocks".
    """
    if mode not in ("support", "blocks"):
        raise ValueError(f"structural_commutation: mode must be 'support' or 'blocks', got {mode!r}")
    gens = _ordered_generators(generators, "structural_commutation: generators")
    obs = as_pauli_sum(observable, gens.n).simplify().paulis
    later, count = _later_strings(gens, obs, mode)
    anti = ~commutation_matrix(gens, later)  # (L, |T_0|)
    comm = commutation_matrix(gens)  # True = commute
    n_rot = len(gens)
    out = np.eye(n_rot, dtype=bool)
    zero = np.array([not anti[j, : count[j + 1]].any() for j in range(n_rot)], dtype=bool)
    out[zero, :] = True
    out[:, zero] = True
    # last_anti[k] = largest m < k with G_m anticommuting with G_k (or -1).
    last_anti = np.full(n_rot, -1)
    for k in range(n_rot):
        idx = np.flatnonzero(~comm[k, :k])
        if idx.size:
            last_anti[k] = idx[-1]
    for j in range(n_rot):
        anti_after = np.flatnonzero(~comm[j, j + 1 :])
        reach = n_rot - 1 if anti_after.size == 0 else j + anti_after[0]  # last k with G_j commuting on j..k
        for k in range(j + 1, reach + 1):
            if last_anti[k] < j and np.array_equal(anti[j, : count[k + 1]], anti[k, : count[k + 1]]):
                out[j, k] = out[k, j] = True
    return out


# ----------------------------------------------------------------------------------------------------
# F_eff from clique covers (the cover algorithms live in ``cliques``)
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CliqueCover:
    """Groups of simultaneously measurable gradient components and the resulting F_eff(L).

    Attributes:
        groups: tuple of (k,) int arrays of rotation indices; every index in exactly one group.
        method: "greedy_max_clique" (repeated maximum-clique removal) or "exact" (minimum clique cover).
        lower_bound: a proven lower bound on the minimum number of groups M_L.
    """

    groups: tuple[np.ndarray, ...]
    method: str
    lower_bound: int

    @property
    def n_rotations(self) -> int:
        return int(sum(len(g) for g in self.groups))

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def f_eff(self) -> float:
        """L / (number of groups): F_eff(L) from this cover (a lower estimate of L / M_L)."""
        return self.n_rotations / self.n_groups if self.groups else 0.0

    @property
    def f_eff_upper(self) -> float:
        """L / lower_bound: no cover can give a larger F_eff(L)."""
        return self.n_rotations / self.lower_bound if self.lower_bound else 0.0

    @property
    def is_optimal(self) -> bool:
        """True when the cover is known to be minimum (exact search, or it meets the lower bound)."""
        return self.method == "exact" or self.n_groups == self.lower_bound

    def __repr__(self) -> str:
        return (
            f"CliqueCover(L={self.n_rotations}, groups={self.n_groups}, f_eff={self.f_eff:.4g}, "
            f"method={self.method!r}, lower_bound={self.lower_bound})"
        )


def clique_cover(commute, method: str = "greedy") -> CliqueCover:
    """Cover the commutation graph by groups; ``method`` "greedy" (authors') or "exact" (small L)."""
    a = check_graph(commute, "clique_cover: commute")
    if method == "greedy":
        groups, name = greedy_clique_cover(a), "greedy_max_clique"
    elif method == "exact":
        groups, name = exact_clique_cover(a), "exact"
    else:
        raise ValueError(f"clique_cover: method must be 'greedy' or 'exact', got {method!r}")
    lower = len(groups) if name == "exact" else clique_cover_lower_bound(a)
    return CliqueCover(tuple(groups), name, lower)


def gradient_efficiency(
    circuit: Circuit,
    observable,
    params=None,
    *,
    key=None,
    method: str = "greedy",
    tol: float = DEFAULT_COMMUTATION_TOL,
) -> CliqueCover:
    """F_eff(L) of a circuit: dense commutation matrix at ``params`` (or theta drawn with ``key``), then a
    clique cover (``method`` "greedy" or "exact"). ``.f_eff`` is L / groups; ``.method`` says which."""
    return clique_cover(gradient_commutation_matrix(circuit, observable, params, key=key, tol=tol), method)


def asymptotic_f_eff(covers: Sequence[CliqueCover]) -> float:
    """Deep-circuit F_eff from covers at increasing depth: the slope ``Delta L / Delta M_L`` of the last two.

    ``F_eff(L) = L / M_L`` carries boundary effects (e.g. the last rotations' gradient operators commute
    trivially), which the slope between two depths removes.
    """
    covers = list(covers)
    if len(covers) < 2:
        raise ValueError(f"asymptotic_f_eff: expected covers at two or more depths, got {len(covers)}")
    a, b = covers[-2], covers[-1]
    if b.n_rotations <= a.n_rotations or b.n_groups <= a.n_groups:
        raise ValueError(
            "asymptotic_f_eff: the last two covers must have increasing L and group counts, got "
            f"(L, M) = ({a.n_rotations}, {a.n_groups}) and ({b.n_rotations}, {b.n_groups})"
        )
    return (b.n_rotations - a.n_rotations) / (b.n_groups - a.n_groups)


# ----------------------------------------------------------------------------------------------------
# Trade-off bound
# ----------------------------------------------------------------------------------------------------


def tradeoff_bound(n: int, f_eff: float) -> float:
    """Upper bound on X_exp: ``4^n / F_eff - F_eff`` (n = 4: F=1 -> 255, 2 -> 126, 4 -> 60, 8 -> 24)."""
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"tradeoff_bound: n must be a positive int, got {n!r}")
    if not f_eff > 0:
        raise ValueError(f"tradeoff_bound: f_eff must be positive, got {f_eff!r}")
    return 4.0**n / f_eff - f_eff


@dataclass(frozen=True)
class TradeoffReport:
    """Outcome of ``check_tradeoff``.

    Attributes:
        n, x_exp, f_eff: the inputs.
        upper_bound: ``4^n / f_eff - f_eff``;  lower_bound: ``f_eff``.
        within_bounds: ``f_eff <= x_exp <= upper_bound`` (with a relative slack ``rtol``).
        saturated: ``x_exp`` equals the upper bound (within ``rtol``): an optimal trade-off, as the SLPA.
        hypotheses_checked: whether generators/circuit were given so the hypotheses could be tested.
        violations: the hypotheses found violated (empty when they hold or were not checked).
    """

    n: int
    x_exp: int
    f_eff: float
    upper_bound: float
    lower_bound: float
    within_bounds: bool
    saturated: bool
    hypotheses_checked: bool
    violations: tuple[str, ...]

    @property
    def hypotheses_hold(self) -> bool | None:
        """True/False when checked, None when no generators were given."""
        return (not self.violations) if self.hypotheses_checked else None

    @property
    def applies(self) -> bool:
        """The theorem applies: hypotheses checked and none violated."""
        return self.hypotheses_checked and not self.violations


def check_tradeoff(
    x_exp: int,
    f_eff: float,
    n: int,
    *,
    generators=None,
    observable=None,
    rtol: float = 1e-9,
) -> TradeoffReport:
    """Check the trade-off ``F_eff <= X_exp <= 4^n / F_eff - F_eff`` and, when possible, its hypotheses.

    Hypotheses (the paper's setting as stated in the spec, sections 2-3):
      H1. Deep-circuit limit: F_eff is the L -> infinity efficiency (every generator type recurs). A finite-L
          ``CliqueCover.f_eff`` overestimates it through boundary effects (the SLPA at L = 60 gives 4.29,
          where the limit is 4); use ``asymptotic_f_eff`` on two depths.
      H2. No duplicated adjacent gates: two consecutive rotations with the same generator are one rotation
          in disguise and commute trivially, inflating F_eff.
      H3. Connected DLA graph: g does not split into mutually commuting Pauli ideals. E.g. the abelian
          generators {ZI, IZ, ZZ} give X_exp = 3 = F_eff > 16/3 - 3: the bound does not apply there.
      H4. The observable does not commute with all of g (else every gradient vanishes identically).
    H2 needs a Circuit (order); H3 any generators; H4 the observable. Without generators nothing is checked
    (``hypotheses_checked`` False) and the caller vouches for them. H1 cannot be checked from one number.

    Args:
        x_exp: DLA dimension (``dla_dimension``).
        f_eff: gradient measurement efficiency (deep limit, see H1).
        n: qubit count.
        generators: optional Circuit, PauliTable, labels, or ``DLA`` of the model, to test H2-H4.
        observable: optional observable, to test H4.
        rtol: relative slack for the comparisons.

    Returns:
        TradeoffReport; ``report.applies`` False with ``report.violations`` naming what fails.
    """
    if not (isinstance(x_exp, (int, np.integer)) and x_exp >= 1):
        raise ValueError(f"check_tradeoff: x_exp must be a positive int, got {x_exp!r}")
    upper = tradeoff_bound(n, f_eff)
    slack = rtol * max(1.0, abs(upper))
    within = (f_eff <= x_exp + rtol * x_exp) and (x_exp <= upper + slack)
    saturated = abs(x_exp - upper) <= slack
    violations: list[str] = []
    checked = generators is not None
    if checked:
        if isinstance(generators, Circuit):
            rots = generators.rotations
            for i in range(1, len(rots)):
                if rots[i].pauli == rots[i - 1].pauli:
                    violations.append(
                        f"H2: rotations {i - 1} and {i} have the same generator {rots[i].pauli.letters!r} "
                        "(duplicated adjacent gates)"
                    )
                    break
        dla = generators if isinstance(generators, DLA) else dynamical_lie_algebra(generators)
        if dla.n != n:
            raise ValueError(f"check_tradeoff: generators act on {dla.n} qubits, but n={n}")
        if dla.dimension != x_exp:
            violations.append(f"x_exp={x_exp} differs from the generators' DLA dimension {dla.dimension}")
        if dla.is_abelian and dla.dimension > 1:
            violations.append("H3: the DLA is abelian (all generators commute), so its graph has no edges")
        if not dla.is_connected:
            violations.append(f"H3: the DLA graph is disconnected ({dla.n_components} components)")
        if observable is not None:
            obs: PauliSum = as_pauli_sum(observable, n)
            if commutation_matrix(obs.paulis, dla.basis).all():
                violations.append("H4: the observable commutes with the whole DLA (all gradients vanish)")
    return TradeoffReport(
        int(n),
        int(x_exp),
        float(f_eff),
        float(upper),
        float(f_eff),
        bool(within),
        bool(saturated),
        checked,
        tuple(violations),
    )
