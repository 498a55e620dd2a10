"""Gradient-operator commutation, F_eff clique covers and the trade-off bound."""

import itertools

import jax
import numpy as np
import pytest
from conftest import EPS
from reference import gate_matrix, pauli_matrix, random_state, rotation_matrix

from slpa_jax.analysis.dla import dla_dimension, dynamical_lie_algebra
from slpa_jax.analysis.efficiency import (
    DEFAULT_COMMUTATION_TOL,
    CliqueCover,
    asymptotic_f_eff,
    check_tradeoff,
    clique_cover,
    clique_cover_lower_bound,
    exact_clique_cover,
    gradient_commutation_matrix,
    gradient_efficiency,
    gradient_operators,
    greedy_clique_cover,
    max_clique,
    structural_commutation,
    tradeoff_bound,
)
from slpa_jax.blocks import ansatze
from slpa_jax.core.circuit import Circuit, Gate

OBS = "XXII"


def _cycle(labels, length):
    return [labels[i % len(labels)] for i in range(length)]


FIG3_SLPA = ansatze.slpa_block_labels(ansatze.FIG3_SLPA_LOGICALS)  # the authors' 48-entry list


# ---------------------------------------------------------------------------------------------------
# Dense references
# ---------------------------------------------------------------------------------------------------


def dense_expectation(circuit: Circuit, angles, obs: np.ndarray, psi: np.ndarray) -> float:
    """<psi| U^dag O U |psi> with U from scipy expm rotations and brute-force gate matrices."""
    n = circuit.n_qubits
    state = psi
    r = 0
    for op in circuit.ops:
        if isinstance(op, Gate):
            state = gate_matrix(op.name, op.qubits, n) @ state
        else:
            state = rotation_matrix(op.pauli.letters, angles[r]) @ state
            r += 1
    return float(np.real(np.vdot(state, obs @ state)))


def _angles(circuit: Circuit, params) -> np.ndarray:
    return np.array([r.offset + (0.0 if r.param is None else r.scale * params[r.param]) for r in circuit.rotations])


def brute_min_clique_cover(commute: np.ndarray) -> int:
    """Minimum clique cover by dynamic programming over vertex subsets (small L only)."""
    n = commute.shape[0]
    is_clique = np.zeros(1 << n, bool)
    for mask in range(1 << n):
        verts = [i for i in range(n) if mask >> i & 1]
        is_clique[mask] = all(commute[a, b] for a, b in itertools.combinations(verts, 2))
    best = np.full(1 << n, n + 1)
    best[0] = 0
    for mask in range(1, 1 << n):
        low = mask & -mask
        rest = mask ^ low
        sub = rest
        while True:  # cliques containing the lowest vertex
            if is_clique[sub | low]:
                best[mask] = min(best[mask], 1 + best[mask ^ (sub | low)])
            if sub == 0:
                break
            sub = (sub - 1) & rest
    return int(best[-1])


def brute_max_clique_size(commute: np.ndarray) -> int:
    n = commute.shape[0]
    for size in range(n, 0, -1):
        for verts in itertools.combinations(range(n), size):
            if all(commute[a, b] for a, b in itertools.combinations(verts, 2)):
                return size
    return 0


def random_graph(rng, n, p):
    a = rng.random((n, n)) < p
    a = np.triu(a, 1)
    a = a | a.T
    np.fill_diagonal(a, True)
    return a


# ---------------------------------------------------------------------------------------------------
# Gradient operators
# ---------------------------------------------------------------------------------------------------


def _mixed_circuit() -> Circuit:
    c = Circuit.from_labels(["XYZ", "ZZI", "IXY"])
    c = c.gate("H", 0).gate("CNOT", 0, 2).gate("S", 1).gate("CZ", 1, 2)
    c = c.rotation("YIX", 3).fixed_rotation("ZIZ", 0.7).gate("SWAP", 0, 1).gate("SDG", 2).gate("Y", 0)
    return c.rotation("-XXY", 4).gate("X", 1).gate("Z", 2).rotation("IYZ", 5)


def test_gradient_operators_match_finite_differences():
    rng = np.random.default_rng(0)
    circuit = _mixed_circuit()
    params = rng.uniform(0, 2 * np.pi, circuit.n_params)
    obs = [(0.7, "XZI"), (-0.4, "IYY"), (0.2, "ZII")]
    obs_mat = 0.7 * pauli_matrix("XZI") - 0.4 * pauli_matrix("IYY") + 0.2 * pauli_matrix("ZII")
    psi = random_state(rng, 3)
    gam = gradient_operators(circuit, obs, params)
    assert gam.shape == (circuit.num_rotations, 8, 8)
    np.testing.assert_allclose(gam, np.conj(np.swapaxes(gam, 1, 2)), atol=EPS["float64"])
    angles = _angles(circuit, params)
    h = 1e-5
    for j in range(circuit.num_rotations):
        up, dn = angles.copy(), angles.copy()
        up[j] += h
        dn[j] -= h
        fd = (dense_expectation(circuit, up, obs_mat, psi) - dense_expectation(circuit, dn, obs_mat, psi)) / (2 * h)
        assert np.real(np.vdot(psi, gam[j] @ psi)) == pytest.approx(fd, abs=1e-8)


def test_commutation_matrix_norms_definition():
    circuit = Circuit.from_labels(_cycle(ansatze.SC_PATTERN, 14))
    params = np.random.default_rng(1).uniform(0, 2 * np.pi, 14)
    comm, norms = gradient_commutation_matrix(circuit, OBS, params, return_norms=True)
    gam = gradient_operators(circuit, OBS, params)
    for j, k in [(0, 1), (2, 9), (5, 13)]:
        c = gam[j] @ gam[k] - gam[k] @ gam[j]
        assert norms[j, k] == pytest.approx(np.sum(np.abs(c) ** 2) / 16, rel=1e-10, abs=1e-30)
    np.testing.assert_array_equal(comm, norms < DEFAULT_COMMUTATION_TOL)
    assert comm.dtype == bool and np.all(np.diag(comm)) and np.array_equal(comm, comm.T)


def test_same_key_same_matrix_and_threshold_gap():
    circuit = Circuit.from_labels(_cycle(FIG3_SLPA, 60))
    key = jax.random.PRNGKey(3)
    a, norms = gradient_commutation_matrix(circuit, OBS, key=key, return_norms=True)
    np.testing.assert_array_equal(a, gradient_commutation_matrix(circuit, OBS, key=key))
    # commuting pairs are exact zeros up to rounding, far below the threshold; the others far above
    assert norms[a].max() < 1e-25 and norms[~a].min() > 1e-8


# ---------------------------------------------------------------------------------------------------
# F_eff of the paper's circuits (spec section 5, Fig. 3)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,labels,lo,hi",
    [
        ("slpa_fig3", _cycle(FIG3_SLPA, 100), 3.5, 4.5),
        ("slpa_sc", ansatze.slpa_block_labels(ansatze.sc_labels(25)), 3.5, 4.5),
        ("sc", ansatze.sc_labels(107), 0.95, 1.25),
        ("nsc", ansatze.nsc_labels(107), 0.95, 1.25),
    ],
)
def test_f_eff_near_spec_values(name, labels, lo, hi):
    cover = gradient_efficiency(Circuit.from_labels(labels), OBS, key=jax.random.PRNGKey(0))
    assert cover.method == "greedy_max_clique"
    assert cover.n_rotations == len(labels)
    assert lo <= cover.f_eff <= hi, f"{name}: F_eff = {cover.f_eff}"
    assert cover.lower_bound <= cover.n_groups
    # every group is a set of pairwise commuting gradient operators and the groups partition the rotations
    comm = gradient_commutation_matrix(Circuit.from_labels(labels), OBS, key=jax.random.PRNGKey(0))
    assert sorted(np.concatenate(cover.groups).tolist()) == list(range(len(labels)))
    for g in cover.groups:
        assert comm[np.ix_(g, g)].all()


def test_slpa_deep_limit_saturates_tradeoff():
    key = jax.random.PRNGKey(1)
    covers = [gradient_efficiency(Circuit.from_labels(_cycle(FIG3_SLPA, length)), OBS, key=key) for length in (60, 156)]
    assert all(c.f_eff > 4 for c in covers)  # finite-L boundary effects push F_eff(L) above the limit
    deep = asymptotic_f_eff(covers)
    assert 3.5 <= deep <= 4.5
    x_exp = dla_dimension(FIG3_SLPA)
    rep = check_tradeoff(x_exp, 4.0, 4, generators=Circuit.from_labels(FIG3_SLPA), observable=OBS)
    assert rep.applies and rep.within_bounds and rep.saturated and rep.upper_bound == 60


# ---------------------------------------------------------------------------------------------------
# Structural (block) criterion
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        _cycle(FIG3_SLPA, 60),
        _cycle(FIG3_SLPA, 100),
        ansatze.slpa_block_labels(ansatze.sc_labels(20)),
        ansatze.sc_labels(80),
        ansatze.nsc_labels(80),
    ],
)
@pytest.mark.parametrize("mode", ["support", "blocks"])
def test_structural_is_sufficient_and_agrees_away_from_the_output(labels, mode):
    circuit = Circuit.from_labels(labels)
    struct = structural_commutation(circuit, OBS, mode=mode)
    length = len(labels)
    for seed in (0, 1):
        dense = gradient_commutation_matrix(circuit, OBS, key=jax.random.PRNGKey(seed))
        assert np.all(dense[struct]), "structural criterion claimed a pair the dense check rejects"
        if mode == "support":
            # the extra dense commutations all sit near the output (both rotations among the last 32)
            far = np.minimum.outer(np.arange(length), np.arange(length)) < length - 32
            np.testing.assert_array_equal(struct[far], dense[far])


def test_structural_equals_dense_for_the_authors_slpa():
    circuit = Circuit.from_labels(_cycle(FIG3_SLPA, 60))
    dense = gradient_commutation_matrix(circuit, OBS, key=jax.random.PRNGKey(2))
    for mode in ("support", "blocks"):
        np.testing.assert_array_equal(structural_commutation(circuit, OBS, mode=mode), dense)


def test_structural_blocks_and_zero_operators():
    # one SLPA block {L s}: pairwise commuting, same commutation with later gates and O
    block = ansatze.slpa_block_labels(["XXII"])
    labels = block + ["IZZI", "XIIX"]
    s = structural_commutation(labels, OBS, mode="blocks")
    assert s[:4, :4].all()
    assert not s[3, 4]
    # IIIZ commutes with everything after it and with O: its gradient operator vanishes
    s2 = structural_commutation(["XZII", "IIIZ", "ZXII"], OBS)
    assert s2[1].all() and s2[:, 1].all()
    gam = gradient_operators(Circuit.from_labels(["XZII", "IIIZ", "ZXII"]), OBS, [0.3, 1.1, 2.0])
    assert np.abs(gam[1]).max() < 1e-14


def test_structural_large_n_runs_without_dense_matrices():
    labels = ansatze.fig10_slpa_labels(12, 6)
    s = structural_commutation(labels, "XX" + "I" * 10, mode="blocks")
    assert s.shape == (len(labels), len(labels))
    # every 4-rotation block {P, P X^n, P Y^n, P Z^n} commutes internally
    for b in range(0, len(labels), 4):
        assert s[b : b + 4, b : b + 4].all()


# ---------------------------------------------------------------------------------------------------
# Clique algorithms against brute force
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_clique_algorithms_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 11))
    a = random_graph(rng, n, rng.uniform(0.2, 0.8))
    clique = max_clique(a)
    assert a[np.ix_(clique, clique)].all() and len(clique) == brute_max_clique_size(a)
    exact = exact_clique_cover(a)
    greedy = greedy_clique_cover(a)
    opt = brute_min_clique_cover(a)
    assert len(exact) == opt <= len(greedy)
    assert clique_cover_lower_bound(a) <= opt
    for cover in (exact, greedy):
        assert sorted(np.concatenate(cover).tolist()) == list(range(n))
        assert all(a[np.ix_(g, g)].all() for g in cover)


def test_greedy_can_be_suboptimal_and_exact_fixes_it():
    # cliques {0,1,2}, {3,4,5} and the unique maximum clique {1,2,3,4}: removing it strands 0 and 5
    a = np.eye(6, dtype=bool)
    for i, j in [(0, 1), (0, 2), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4), (3, 5), (4, 5)]:
        a[i, j] = a[j, i] = True
    greedy = clique_cover(a)
    exact = clique_cover(a, method="exact")
    assert greedy.n_groups == 3 and exact.n_groups == 2 == brute_min_clique_cover(a)
    assert exact.method == "exact" and exact.is_optimal and not greedy.is_optimal
    assert greedy.f_eff == 2.0 and exact.f_eff == 3.0 and greedy.f_eff_upper == 3.0


def test_exact_on_small_paper_circuits():
    for labels in (_cycle(FIG3_SLPA, 12), ansatze.sc_labels(12), ansatze.nsc_labels(12)):
        comm = gradient_commutation_matrix(Circuit.from_labels(labels), OBS, key=jax.random.PRNGKey(0))
        exact = clique_cover(comm, method="exact")
        assert exact.n_groups == brute_min_clique_cover(comm) <= clique_cover(comm).n_groups


def test_clique_cover_repr_and_empty():
    cover = clique_cover(np.ones((4, 4), bool))
    assert isinstance(cover, CliqueCover) and cover.n_groups == 1 and cover.f_eff == 4.0
    assert "groups=1" in repr(cover)
    assert clique_cover(np.zeros((0, 0), bool)).n_groups == 0
    assert exact_clique_cover(np.zeros((0, 0), bool)) == []


# ---------------------------------------------------------------------------------------------------
# Trade-off bound
# ---------------------------------------------------------------------------------------------------


def test_tradeoff_bound_values():
    assert [tradeoff_bound(4, f) for f in (1, 2, 4, 8)] == [255, 126, 60, 24]


def test_paper_models_within_bound():
    sc = check_tradeoff(60, 1.0, 4, generators=ansatze.sc_circuit(96), observable=OBS)
    nsc = check_tradeoff(255, 1.0, 4, generators=ansatze.nsc_circuit(96), observable=OBS)
    assert sc.applies and sc.within_bounds and not sc.saturated and sc.hypotheses_hold
    assert nsc.applies and nsc.within_bounds and nsc.saturated


def test_abelian_counterexample_is_flagged():
    gens = ["ZI", "IZ", "ZZ"]
    rep = check_tradeoff(dla_dimension(gens), 3.0, 2, generators=gens)
    assert rep.upper_bound == pytest.approx(16 / 3 - 3)
    assert not rep.within_bounds
    assert rep.hypotheses_checked and rep.hypotheses_hold is False and not rep.applies
    assert any("abelian" in v for v in rep.violations)
    assert any("disconnected (3 components)" in v for v in rep.violations)


def test_unchecked_and_other_hypotheses():
    rep = check_tradeoff(60, 4.0, 4)
    assert not rep.hypotheses_checked and rep.hypotheses_hold is None and not rep.applies
    dup = Circuit.from_labels(["XXII", "XXII", "IZZI"])
    rep = check_tradeoff(dla_dimension(dup), 1.0, 4, generators=dup)
    assert any("H2: rotations 0 and 1" in v for v in rep.violations)
    rep = check_tradeoff(6, 1.0, 2, generators=dynamical_lie_algebra(["XI", "ZI"]), observable="IZ")
    assert any("H4" in v for v in rep.violations) and any("differs" in v for v in rep.violations)


# ---------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------


def test_errors():
    c = Circuit.from_labels(["XX", "ZZ"])
    with pytest.raises(ValueError, match=r"give params or a jax.random key"):
        gradient_commutation_matrix(c, "XI")
    with pytest.raises(ValueError, match=r"params: expected shape \(2,\)"):
        gradient_operators(c, "XI", [0.1])
    with pytest.raises(TypeError, match="expected a Circuit, got list"):
        gradient_operators(["XX"], "XI", [0.1])
    with pytest.raises(ValueError, match="dense matrices need n_qubits <= 8, got 9"):
        gradient_operators(Circuit.from_labels(["X" * 9]), "Z" * 9, [0.1])
    with pytest.raises(ValueError, match="tol: expected a positive float"):
        gradient_commutation_matrix(c, "XI", [0.1, 0.2], tol=0)
    with pytest.raises(ValueError, match="mode must be 'support' or 'blocks'"):
        structural_commutation(c, "XI", mode="dense")
    with pytest.raises(TypeError, match="non-empty sequence of Pauli labels"):
        structural_commutation([], "XI")
    with pytest.raises(ValueError, match=r"square \(L, L\) commutation matrix"):
        max_clique(np.ones((2, 3), bool))
    with pytest.raises(TypeError, match="expected a bool matrix"):
        greedy_clique_cover(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must be symmetric"):
        clique_cover_lower_bound(np.array([[True, True], [False, True]]))
    with pytest.raises(ValueError, match="exceed max_vertices=3"):
        exact_clique_cover(np.ones((4, 4), bool), max_vertices=3)
    with pytest.raises(ValueError, match="method must be 'greedy' or 'exact'"):
        clique_cover(np.ones((2, 2), bool), method="dsatur")
    cov = clique_cover(np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="covers at two or more depths, got 1"):
        asymptotic_f_eff([cov])
    with pytest.raises(ValueError, match="increasing L and group counts"):
        asymptotic_f_eff([cov, cov])
    with pytest.raises(ValueError, match="n must be a positive int"):
        tradeoff_bound(0, 1.0)
    with pytest.raises(ValueError, match="f_eff must be positive"):
        tradeoff_bound(4, 0.0)
    with pytest.raises(ValueError, match="x_exp must be a positive int"):
        check_tradeoff(0, 1.0, 4)
    with pytest.raises(ValueError, match="generators act on 2 qubits, but n=4"):
        check_tradeoff(6, 1.0, 4, generators=["XI", "ZI"])


def test_f_eff_of_a_pauli_sum_hand_case():
    """R_IX(b) R_XI(a), O = ZZ + ZI. With A = R_X(a)^dag Z R_X(a), B likewise on qubit 1, and
    A' = (i/2)[X, A] (anticommutes with A), B' = (i/2)[X, B]: the term ZZ gives Gamma_1 = A' B,
    Gamma_2 = A B', which commute (A'A (x) BB' both ways); ZI gives Gamma_2 = 0. The sum gives
    Gamma_1 = A' (x) (B + I), Gamma_2 = A (x) B', with [Gamma_1, Gamma_2] = 2 A'A (x) B' != 0.
    So M_L = 1 (F_eff = 2) for each term alone, but M_L = 2 (F_eff = 1) for their sum."""
    circuit = Circuit.from_labels(["XI", "IX"])
    key = jax.random.PRNGKey(3)
    assert gradient_efficiency(circuit, "ZZ", key=key).n_groups == 1
    assert gradient_efficiency(circuit, "ZI", key=key).n_groups == 1
    cover = gradient_efficiency(circuit, [(1.0, "ZZ"), (1.0, "ZI")], key=key)
    assert cover.n_groups == 2 and cover.f_eff == 1.0
    params = np.array([0.4, 1.1])
    a, b = params
    za = np.cos(a) * np.diag([1.0, -1.0]) + np.sin(a) * np.array([[0, -1j], [1j, 0]])  # R_X(a)^dag Z R_X(a)
    zb = np.cos(b) * np.diag([1.0, -1.0]) + np.sin(b) * np.array([[0, -1j], [1j, 0]])
    x = np.array([[0, 1], [1, 0]])
    dza, dzb = 0.5j * (x @ za - za @ x), 0.5j * (x @ zb - zb @ x)
    want = np.stack([np.kron(dza, zb + np.eye(2)), np.kron(za, dzb)])
    np.testing.assert_allclose(gradient_operators(circuit, [(1.0, "ZZ"), (1.0, "ZI")], params), want, atol=1e-12)


def test_analysis_report_takes_a_sum_as_text():
    from slpa_jax.analysis.report import analyze_ansatz, observable_from_text

    obs = observable_from_text("XXII - 0.5*IIZZ + 2 ZZZZ")
    assert obs.paulis.labels() == ["XXII", "IIZZ", "ZZZZ"] and list(np.real(obs.coeffs)) == [1.0, -0.5, 2.0]
    assert observable_from_text("-1e-3*X0 X1 + Z2", 4).paulis.labels() == ["XXII", "IIZI"]
    with pytest.raises(ValueError, match="term '0.5\\*\\*XXII' of"):
        observable_from_text("0.5**XXII")
    # An SLPA keeps F_eff = |S| = 4 for any observable its stabilizers commute with: every block's four
    # gradient operators commute. The two terms commute: one setting per block (every block of the
    # 12-logical pattern has a gradient) and one for f_hat, 12 + 1 block-gradient settings per sample.
    rep = analyze_ansatz("slpa", n_params=48, observable="XXII + 0.5*IIZZ")
    assert rep["observable"] == "XXII + 0.5*IIZZ" and rep["observable terms"] == 2
    assert rep["F_eff deep"] == 4.0 and rep["block-gradient settings per sample"] == 13
