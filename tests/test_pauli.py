"""Pauli algebra in bit-packed symplectic form vs dense matrices (small n) and per-qubit brute force (any n)."""

import itertools

import numpy as np
import pytest
from conftest import EPS
from reference import (
    SINGLE,
    brute_commutes,
    brute_product,
    dense_observable,
    pauli_matrix,
    random_label,
)

from slpa_jax.core.pauli import Pauli, PauliSum, PauliTable, as_pauli_sum, commutation_matrix, n_words

PREFIX = {0: "", 1: "i", 2: "-", 3: "-i"}


def _random_letters(rng, n):
    return "".join(rng.choice(list("IXYZ"), size=n))


# --- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix,phase", [("", 0), ("+", 0), ("i", 1), ("+i", 1), ("-", 2), ("-i", 3)])
def test_dense_label_matrix_and_phase(prefix, phase):
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 4):
        letters = _random_letters(rng, n)
        p = Pauli(prefix + letters)
        assert p.n == n and p.phase == phase and p.letters == letters
        assert p.label == PREFIX[phase] + letters
        np.testing.assert_allclose(p.to_matrix(), (1j**phase) * pauli_matrix(letters), atol=0)


def test_sparse_labels():
    assert Pauli("X0 Z3", n=5).label == "XIIZI"
    assert Pauli("Z3 X0", n=5) == Pauli("XIIZI")
    assert Pauli("-Y2", n=3).label == "-IIY"
    assert Pauli("-i X1 Y0", n=2).label == "-iYX"
    assert Pauli("I0", n=2).is_identity
    assert Pauli("Y129", n=130).support == (129,)
    assert Pauli("XIZ", n=3) == Pauli("XIZ")


def test_from_bits_identity_and_equality():
    p = Pauli.from_bits([1, 1, 0, 0], [0, 1, 1, 0], phase=2)
    assert p.label == "-XYZI"
    assert p == Pauli("-XYZI") and hash(p) == hash(Pauli("-XYZI"))
    assert p != Pauli("XYZI") and p != Pauli("-XYZI" + "I")
    assert Pauli.identity(70).letters == "I" * 70 and Pauli.identity(70).weight == 0
    assert (-p) == Pauli("XYZI") and p.unsigned() == Pauli("XYZI")
    assert len({Pauli("XY"), Pauli("XY"), Pauli("-XY")}) == 2
    assert repr(Pauli("iXZ")) == "Pauli('iXZ')" and str(Pauli("-Z")) == "-Z"


def test_word_packing_across_words():
    assert [n_words(n) for n in (1, 63, 64, 65, 128, 129)] == [1, 1, 1, 2, 2, 3]
    rng = np.random.default_rng(2)
    for n in (63, 64, 65, 100, 130):
        letters = _random_letters(rng, n)
        p = Pauli(letters)
        assert p.x.shape == (n_words(n),) and p.x.dtype == np.uint64
        assert p.letters == letters
        assert p.x_bits.tolist() == [c in "XY" for c in letters]
        assert p.z_bits.tolist() == [c in "YZ" for c in letters]


# --- algebra vs dense matrices (small n) -------------------------------------------------------------


def test_products_commutation_vs_dense_all_pairs_n2():
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=2)]
    for a, b in itertools.product(labels, labels):
        for ka, kb in ((0, 0), (1, 2), (3, 1)):
            pa, pb = Pauli(PREFIX[ka] + a), Pauli(PREFIX[kb] + b)
            prod = pa * pb
            np.testing.assert_allclose(prod.to_matrix(), pa.to_matrix() @ pb.to_matrix(), atol=EPS["float64"])
            assert (pa @ pb) == prod
            ma, mb = pauli_matrix(a), pauli_matrix(b)
            commute = np.allclose(ma @ mb, mb @ ma)
            assert pa.commutes(pb) == commute and pa.anticommutes(pb) == (not commute)
            if not commute:
                assert np.allclose(ma @ mb, -mb @ ma)


def test_products_vs_dense_random_n1_to_5():
    rng = np.random.default_rng(3)
    for n in range(1, 6):
        for _ in range(20):
            a, b = _random_letters(rng, n), _random_letters(rng, n)
            ka, kb = rng.integers(4, size=2)
            pa, pb = Pauli(PREFIX[ka] + a), Pauli(PREFIX[kb] + b)
            np.testing.assert_allclose((pa * pb).to_matrix(), pa.to_matrix() @ pb.to_matrix(), atol=EPS["float64"])


@pytest.mark.parametrize("n", [100, 130])
def test_products_and_commutation_large_n_vs_brute_force(n):
    rng = np.random.default_rng(n)
    for _ in range(30):
        a, b = _random_letters(rng, n), _random_letters(rng, n)
        ka, kb = (int(k) for k in rng.integers(4, size=2))
        prod = Pauli(PREFIX[ka] + a) * Pauli(PREFIX[kb] + b)
        k, c = brute_product(ka, a, kb, b)
        assert (prod.phase, prod.letters) == (k, c)
        assert Pauli(a).commutes(Pauli(b)) == brute_commutes(a, b)
    # strings that differ only on the last word, so a packing bug in word 1 or 2 shows
    a = "I" * (n - 1) + "X"
    b = "I" * (n - 1) + "Z"
    assert Pauli(a).anticommutes(Pauli(b))
    assert (Pauli(a) * Pauli(b)).label == "-i" + "I" * (n - 1) + "Y"


def test_weight_support_hermitian():
    rng = np.random.default_rng(4)
    for n in (1, 5, 64, 65, 130):
        letters = _random_letters(rng, n)
        p = Pauli("-" + letters)
        support = tuple(q for q, c in enumerate(letters) if c != "I")
        assert p.support == support and p.weight == len(support)
        assert p.is_hermitian and not Pauli("i" + letters).is_hermitian
        assert p.is_identity == (len(support) == 0)


def test_index_masks_act_like_the_matrix():
    rng = np.random.default_rng(5)
    for n in (1, 3, 4):
        for _ in range(6):
            p = Pauli(PREFIX[int(rng.integers(4))] + random_label(rng, n))
            xmask, zmask, n_y = p.index_masks()
            mat = p.to_matrix()
            for j in range(2**n):
                col = np.zeros(2**n, complex)
                col[(j ^ xmask)] = 1j ** (p.phase + n_y) * (-1) ** bin(j & zmask).count("1")
                np.testing.assert_allclose(mat[:, j], col, atol=EPS["float64"])


# --- PauliTable --------------------------------------------------------------------------------------


def test_table_roundtrip_and_views():
    labels = ["XIZY", "-ZZII", "iIIIX", "-iYYYY"]
    t = PauliTable.from_labels(labels)
    assert len(t) == 4 and t.n == 4 and t.labels() == labels
    assert t.x.shape == (4, 1) and t.phase.tolist() == [0, 2, 1, 3]
    assert t.weights.tolist() == [3, 2, 1, 4]
    assert t[1] == Pauli("-ZZII") and [p.label for p in t] == labels
    assert t[1:3].labels() == labels[1:3] and t[np.array([3, 0])].labels() == [labels[3], labels[0]]
    assert t.unsigned().labels() == ["XIZY", "ZZII", "IIIX", "YYYY"]
    assert t.x_bits[0].tolist() == [True, False, False, True]
    assert t.z_bits[0].tolist() == [False, False, True, True]
    assert t.concat(PauliTable.from_labels(["IIII"])).labels() == labels + ["IIII"]
    assert PauliTable.from_labels(["X0 Z2", "Y1"], n=3).labels() == ["XIZ", "IYI"]
    assert PauliTable.from_paulis([Pauli("XY"), Pauli("-ZZ")]).labels() == ["XY", "-ZZ"]
    assert PauliTable.from_bits([[1, 0], [1, 1]], [[0, 1], [1, 1]], [0, 2]).labels() == ["XZ", "-YY"]
    assert len(PauliTable.from_labels([], n=3)) == 0 and PauliTable.empty(200).x.shape == (0, 4)
    assert len(PauliTable.from_paulis([], n=2)) == 0
    empty = PauliTable.empty(70)
    assert empty.x_bits.shape == (0, 70) and empty.labels() == [] and empty.weights.shape == (0,)
    assert [a.shape for a in PauliTable.empty(3).index_masks()] == [(0,), (0,), (0,)]
    assert commutation_matrix(empty, PauliTable.from_labels(["X" * 70])).shape == (0, 1)
    assert len(t.keys()) == 4 and t.keys()[0] == PauliTable.from_labels(["-XIZY"]).keys()[0]
    assert "XIZY" in repr(t)
    with pytest.raises(ValueError, match="read-only"):
        t.x[0, 0] = 1


def test_table_multiply_and_index_masks_vs_single():
    rng = np.random.default_rng(6)
    for n in (3, 70):
        a = PauliTable.from_labels([PREFIX[int(rng.integers(4))] + _random_letters(rng, n) for _ in range(12)])
        b = PauliTable.from_labels([PREFIX[int(rng.integers(4))] + _random_letters(rng, n) for _ in range(12)])
        prod = a.multiply(b)
        assert prod.labels() == [(a[i] * b[i]).label for i in range(12)]
        one = b[:1]
        assert a.multiply(one).labels() == [(a[i] * b[0]).label for i in range(12)]
    t = PauliTable.from_labels(["XYZ", "-ZZI", "IIY"])
    xm, zm, ny = t.index_masks()
    assert [(int(x), int(z), int(y)) for x, z, y in zip(xm, zm, ny)] == [p.index_masks() for p in t]


@pytest.mark.parametrize("n", [5, 70])
def test_commutation_matrix_vs_pairwise_loop(n):
    rng = np.random.default_rng(n)
    a = PauliTable.from_labels([_random_letters(rng, n) for _ in range(25)])
    b = PauliTable.from_labels([_random_letters(rng, n) for _ in range(9)])
    loop = np.array([[brute_commutes(p.letters, q.letters) for q in b] for p in a])
    np.testing.assert_array_equal(commutation_matrix(a, b), loop)
    np.testing.assert_array_equal(commutation_matrix(a, b, chunk=4), loop)
    square = commutation_matrix(a)
    assert square.shape == (25, 25) and square.dtype == bool
    np.testing.assert_array_equal(square, square.T)
    assert square.diagonal().all()


# --- PauliSum ----------------------------------------------------------------------------------------


def test_pauli_sum_matrix_signs_and_simplify():
    s = PauliSum.from_terms([(0.5, "XZ"), (2.0, "-YY"), (1.5, "XZ"), (1j, "-iZI"), (3.0, "YY"), (-1.0, "ZI")])
    assert s.n == 2 and len(s) == 6
    dense = (
        0.5 * pauli_matrix("XZ")
        - 2 * pauli_matrix("YY")
        + 1.5 * pauli_matrix("XZ")
        + pauli_matrix("ZI")
        + 3 * pauli_matrix("YY")
        - pauli_matrix("ZI")
    )
    np.testing.assert_allclose(s.to_matrix(), dense, atol=EPS["float64"])
    assert s.paulis.phase.tolist() == [0] * 6
    simple = s.simplify()
    assert simple.paulis.labels() == ["XZ", "YY"]  # ZI cancels exactly and is dropped
    np.testing.assert_allclose(simple.coeffs, [2.0, 1.0], atol=EPS["float64"])
    np.testing.assert_allclose(simple.to_matrix(), dense, atol=EPS["float64"])
    assert s.simplify(atol=1.5).paulis.labels() == ["XZ"]
    assert s.is_hermitian
    assert "XZ" in repr(s)


def test_pauli_sum_hermiticity():
    assert not PauliSum.from_terms([(1.0, "iXY")]).is_hermitian
    assert not PauliSum.from_terms([(1j, "XY")]).is_hermitian
    assert PauliSum.from_terms([(1j, "iXY")]).is_hermitian  # 1j * i = -1
    assert PauliSum.from_terms([(1j, "XY"), (-1j, "XY"), (2.0, "ZZ")]).is_hermitian  # imaginary parts cancel
    h = PauliSum.from_terms([(0.3, "XY"), (-1.2, "ZI")])
    m = h.to_matrix()
    np.testing.assert_allclose(m, m.conj().T, atol=EPS["float64"])


def test_as_pauli_sum_forms():
    ref = dense_observable([(1.0, "XIZ")])
    for obs in ("XIZ", "X0 Z2", Pauli("XIZ"), [(1.0, "XIZ")], PauliSum.from_terms([(1.0, "XIZ")])):
        np.testing.assert_allclose(as_pauli_sum(obs, 3).to_matrix(), ref, atol=0)
    np.testing.assert_allclose(as_pauli_sum("-ZZ").to_matrix(), -pauli_matrix("ZZ"), atol=0)
    np.testing.assert_allclose(
        as_pauli_sum([(0.5, "X0"), (-2, "Y1")], n=2).to_matrix(),
        0.5 * np.kron(SINGLE["X"], SINGLE["I"]) - 2 * np.kron(SINGLE["I"], SINGLE["Y"]),
        atol=0,
    )


# --- every error message -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label,n,exc,match",
    [
        (3, None, TypeError, r"Pauli label: expected a str .* got int"),
        ("X0 Z3", None, ValueError, r"sparse label needs n_qubits \(n=...\), got n=None"),
        ("X0 Q3", 4, ValueError, r"sparse term 'Q3' is not of the form"),
        ("X0 Z5", 4, ValueError, r"qubit 5 out of range for n=4"),
        ("X1 Z1", 4, ValueError, r"qubit 1 appears twice"),
        ("I1 Z1", 4, ValueError, r"qubit 1 appears twice"),
        ("XAZB", None, ValueError, r"unknown letters \['A', 'B'\]; expected only I, X, Y, Z"),
        ("xyz", None, ValueError, r"unknown letters"),
        ("XZ", 3, ValueError, r"expected length n=3, got 2"),
        ("", None, ValueError, r"empty label"),
        ("-", None, ValueError, r"empty label"),
    ],
)
def test_parse_errors(label, n, exc, match):
    with pytest.raises(exc, match=match):
        Pauli(label, n)
    with pytest.raises(exc, match=match):
        PauliTable.from_labels([label], n)


def test_algebra_errors():
    with pytest.raises(TypeError, match=r"Pauli.__mul__: expected a Pauli, got int"):
        Pauli("XY") * 3
    with pytest.raises(ValueError, match=r"Pauli.__mul__: qubit counts differ, 2 vs 3"):
        Pauli("XY") * Pauli("XYZ")
    with pytest.raises(ValueError, match=r"Pauli.commutes: qubit counts differ, 2 vs 1"):
        Pauli("XY").commutes(Pauli("X"))
    with pytest.raises(TypeError, match=r"Pauli.commutes: expected a Pauli, got str"):
        Pauli("XY").commutes("XY")
    with pytest.raises(ValueError, match=r"index_masks: statevector masks need n <= 62, got n=63"):
        Pauli("X" * 63).index_masks()
    with pytest.raises(ValueError, match=r"index_masks: statevector masks need n <= 62, got n=63"):
        PauliTable.from_labels(["X" * 63]).index_masks()
    with pytest.raises(ValueError, match=r"to_matrix: dense matrices are for small n \(<= 14\), got n=15"):
        Pauli("X" * 15).to_matrix()


def test_table_errors():
    with pytest.raises(ValueError, match=r"PauliTable: inconsistent shapes"):
        PauliTable(np.zeros((2, 1), np.uint64), np.zeros((3, 1), np.uint64), np.zeros(2), 4)
    with pytest.raises(ValueError, match=r"PauliTable: inconsistent shapes"):
        PauliTable(np.zeros((2, 1), np.uint64), np.zeros((2, 1), np.uint64), np.zeros(3), 4)
    with pytest.raises(ValueError, match=r"PauliTable.from_labels: no labels and no n given"):
        PauliTable.from_labels([])
    with pytest.raises(ValueError, match=r"PauliTable.from_labels: labels have different lengths \[2, 3\]"):
        PauliTable.from_labels(["XY", "XYZ"])
    with pytest.raises(ValueError, match=r"PauliTable.from_paulis: no Paulis and no n given"):
        PauliTable.from_paulis([])
    with pytest.raises(ValueError, match=r"PauliTable.from_paulis: Paulis have different n \[1, 2\]"):
        PauliTable.from_paulis([Pauli("X"), Pauli("XX")])
    a, b = PauliTable.from_labels(["XY"]), PauliTable.from_labels(["XYZ"])
    with pytest.raises(ValueError, match=r"PauliTable.concat: qubit counts differ, 2 vs 3"):
        a.concat(b)
    with pytest.raises(ValueError, match=r"PauliTable.multiply: qubit counts differ, 2 vs 3"):
        a.multiply(b)
    with pytest.raises(ValueError, match=r"commutation_matrix: qubit counts differ, 2 vs 3"):
        commutation_matrix(a, b)


def test_pauli_sum_errors():
    with pytest.raises(ValueError, match=r"PauliSum: 2 coefficients for 1 strings"):
        PauliSum(np.ones(2), PauliTable.from_labels(["XY"]))
    with pytest.raises(ValueError, match=r"PauliSum.from_terms: each term must be \(coefficient, label\), got"):
        PauliSum.from_terms(["XY"])
    with pytest.raises(ValueError, match=r"from_terms: each term must be \(coefficient, label\), got \('XY', 1.0\)"):
        PauliSum.from_terms([("XY", 1.0)])
    with pytest.raises(TypeError, match=r"observable: expected a label, a Pauli, a PauliSum .* got int"):
        as_pauli_sum(3)
    with pytest.raises(ValueError, match=r"observable: expected 3 qubits, got 2"):
        as_pauli_sum(Pauli("XY"), 3)
    with pytest.raises(ValueError, match=r"observable: must be Hermitian"):
        as_pauli_sum("iXY")
    with pytest.raises(ValueError, match=r"observable: must be Hermitian"):
        as_pauli_sum([(1j, "XY")])
