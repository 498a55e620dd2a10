"""Grouping checked against label-level predicates and plain-Python reference implementations."""

import itertools

import numpy as np
import pytest
from reference import random_label

from slpa_jax.core.pauli import PauliSum, PauliTable
from slpa_jax.measure.diagonalize import diagonalize_commuting
from slpa_jax.measure.grouping import KINDS, METHODS, compatibility_matrix, group_counts, group_paulis


def qwc_ref(a: str, b: str) -> bool:
    return all(p == q or p == "I" or q == "I" for p, q in zip(a, b))


def gc_ref(a: str, b: str) -> bool:
    return sum(p != q and p != "I" and q != "I" for p, q in zip(a, b)) % 2 == 0


REF = {"qwc": qwc_ref, "gc": gc_ref}


def reference_groups(labels, coeffs, kind, method):
    """Plain-Python double-loop versions of the three greedy methods, same tie-break rules."""
    ok = REF[kind]
    m = len(labels)
    w = np.ones(m) if coeffs is None else np.abs(np.asarray(coeffs))
    order = sorted(range(m), key=lambda i: (-w[i], i))
    pos = {v: p for p, v in enumerate(order)}
    colour = {}
    if method == "sorted_insertion":
        groups: list[list[int]] = []
        for i in order:
            for g in groups:
                if all(ok(labels[i], labels[j]) for j in g):
                    g.append(i)
                    break
            else:
                groups.append([i])
        return [sorted(g) for g in groups]
    degree = {i: sum(not ok(labels[i], labels[j]) for j in range(m) if j != i) for i in range(m)}
    nbrs = {i: [j for j in range(m) if j != i and not ok(labels[i], labels[j])] for i in range(m)}

    def smallest_free(v):
        used = {colour[j] for j in nbrs[v] if j in colour}
        return next(c for c in itertools.count() if c not in used)

    if method == "largest_first":
        for v in sorted(range(m), key=lambda i: (-degree[i], pos[i])):
            colour[v] = smallest_free(v)
    else:
        while len(colour) < m:
            sat = {v: len({colour[j] for j in nbrs[v] if j in colour}) for v in range(m) if v not in colour}
            v = max(sat, key=lambda i: (sat[i], degree[i], -pos[i]))
            colour[v] = smallest_free(v)
    n_groups = max(colour.values()) + 1
    return [sorted(v for v in range(m) if colour[v] == g) for g in range(n_groups)]


def check_partition(labels, groups, kind):
    flat = np.concatenate(groups) if groups else np.zeros(0, int)
    assert sorted(flat.tolist()) == list(range(len(labels)))
    for g in groups:
        assert g.dtype == np.int64 and np.all(np.diff(g) > 0)
        for i, j in itertools.combinations(g.tolist(), 2):
            assert REF[kind](labels[i], labels[j]), (labels[i], labels[j])


@pytest.mark.parametrize("method", METHODS)
def test_xx_yy_zz_counts(method):
    labels = ["XX", "YY", "ZZ"]
    gc = group_paulis(PauliTable.from_labels(labels), kind="gc", method=method)
    qwc = group_paulis(PauliTable.from_labels(labels), kind="qwc", method=method)
    assert len(gc) == 1 and gc[0].tolist() == [0, 1, 2]
    assert len(qwc) == 3
    counts = group_counts(labels)
    assert counts[("gc", method)] == 1 and counts[("qwc", method)] == 3


@pytest.mark.parametrize("n", [3, 70])
def test_compatibility_matrix_matches_labels(n):
    rng = np.random.default_rng(n)
    labels = [random_label(rng, n, weight=int(rng.integers(1, 4))) for _ in range(40)]
    labels += ["I" * n, labels[0]]
    table = PauliTable.from_labels(labels)
    for kind in KINDS:
        ref = np.array([[REF[kind](a, b) for b in labels] for a in labels])
        np.testing.assert_array_equal(compatibility_matrix(table, kind, chunk=7), ref)
        np.testing.assert_array_equal(compatibility_matrix(labels, kind), ref)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_methods_match_python_reference(kind, method):
    rng = np.random.default_rng(21)
    for n, m in ((3, 20), (5, 40)):
        labels = [random_label(rng, n) for _ in range(m)]
        coeffs = rng.normal(size=m)
        coeffs[3] = coeffs[7]  # a tie in |coeff|
        got = group_paulis(PauliTable.from_labels(labels), coeffs, kind=kind, method=method)
        assert [g.tolist() for g in got] == reference_groups(labels, coeffs, kind, method)
        check_partition(labels, got, kind)
        plain = group_paulis(labels, kind=kind, method=method)
        assert [g.tolist() for g in plain] == reference_groups(labels, None, kind, method)


def test_sorted_insertion_is_coefficient_aware():
    labels = ["XI", "IZ", "ZZ"]  # XI~IZ, IZ~ZZ, XI conflicts with ZZ (qubit-wise)
    plain = group_paulis(labels, kind="qwc")
    weighted = group_paulis(labels, [0.1, 0.5, -1.0], kind="qwc")
    assert [g.tolist() for g in plain] == [[0, 1], [2]]
    assert [g.tolist() for g in weighted] == [[1, 2], [0]]
    ps = PauliSum.from_terms([(0.1, "XI"), (0.5, "IZ"), (-1.0, "ZZ")])
    assert [g.tolist() for g in group_paulis(ps, kind="qwc")] == [[1, 2], [0]]
    assert group_counts(ps) == group_counts(labels, [0.1, 0.5, -1.0])


def test_dsatur_optimal_on_bipartite_conflicts():
    # X/I-only strings are mutually QWC, so are Z/I-only ones: the conflict graph is bipartite, and
    # DSATUR colours bipartite graphs with 2 colours (Brelaz 1979).
    rng = np.random.default_rng(4)
    labels = ["".join(rng.choice(list(letter + "I"), size=6)) for letter in "XZ" for _ in range(15)]
    labels = [lab if set(lab) != {"I"} else "X" + lab[1:] for lab in labels]
    rng.shuffle(labels)
    groups = group_paulis(labels, kind="qwc", method="dsatur")
    assert len(groups) == 2
    check_partition(labels, groups, "qwc")


def test_two_qubit_paulis_greedy_at_least_optimal():
    labels = ["".join(p) for p in itertools.product("IXYZ", repeat=2)][1:]
    counts = group_counts(labels)
    # 15 non-identity 2-qubit Paulis: commuting sets have <= 3 members (optimum 5, Bell/MUB-type
    # partition); qubit-wise groups: one per pair of letters (a, b) in XYZ^2 (optimum 9).
    for method in METHODS:
        assert counts[("gc", method)] >= 5 and counts[("qwc", method)] >= 9
        check_partition(labels, group_paulis(labels, kind="gc", method=method), "gc")
        check_partition(labels, group_paulis(labels, kind="qwc", method=method), "qwc")


def test_gc_groups_are_diagonalizable():
    rng = np.random.default_rng(8)
    labels = [random_label(rng, 6) for _ in range(60)]
    table = PauliTable.from_labels(labels)
    for method in METHODS:
        for g in group_paulis(table, kind="gc", method=method):
            d = diagonalize_commuting(table[g])
            assert d.z_masks.shape == (len(g), 6)


def test_thousands_of_terms_n20():
    rng = np.random.default_rng(0)
    m, n = 2000, 20
    table = PauliTable.from_bits(rng.random((m, n)) < 0.3, rng.random((m, n)) < 0.3)
    coeffs = rng.normal(size=m)
    counts = group_counts(table, coeffs)
    for kind in KINDS:
        compat = compatibility_matrix(table, kind)
        for method in METHODS:
            groups = group_paulis(table, coeffs, kind=kind, method=method)
            assert len(groups) == counts[(kind, method)]
            flat = np.concatenate(groups)
            assert np.array_equal(np.sort(flat), np.arange(m))
            assert all(compat[np.ix_(g, g)].all() for g in groups)
        assert counts[(kind, "dsatur")] < m
    assert counts[("gc", "sorted_insertion")] < counts[("qwc", "sorted_insertion")]


def test_empty_and_trivial():
    assert group_paulis(PauliTable.empty(4)) == []
    assert set(group_counts(PauliTable.empty(4)).values()) == {0}
    assert set(group_counts(PauliTable.empty(4))) == {(k, m) for k in KINDS for m in METHODS}
    for method in METHODS:
        g = group_paulis(["IIZ", "-ZIZ", "ZZI", "III"], kind="qwc", method=method)
        assert [x.tolist() for x in g] == [[0, 1, 2, 3]]


def test_errors():
    table = PauliTable.from_labels(["XX", "ZZ"])
    with pytest.raises(ValueError, match=r"kind: expected one of \('qwc', 'gc'\), got 'fc'"):
        group_paulis(table, kind="fc")
    with pytest.raises(ValueError, match=r"kind: expected one of .* got 'QWC'"):
        compatibility_matrix(table, "QWC")
    with pytest.raises(ValueError, match=r"method: expected one of \('sorted_insertion', .*got 'greedy'"):
        group_paulis(table, method="greedy")
    with pytest.raises(ValueError, match="coeffs: expected 2 coefficients .*, got 3"):
        group_paulis(table, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="coeffs: expected finite coefficients"):
        group_counts(table, [1.0, np.nan])
    with pytest.raises(TypeError, match="group_paulis: expected a PauliTable, PauliSum, Pauli or a sequence"):
        group_paulis({"XX": 1.0})
