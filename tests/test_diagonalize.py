"""Clifford diagonalisation checked against dense matrices built from tests/reference.py gate matrices."""

import numpy as np
import pytest
import scipy.sparse
from conftest import EPS, TOL
from reference import gate_matrix, pauli_matrix, random_label, random_state

import slpa_jax
from slpa_jax.core.circuit import CLIFFORD_GATES, Circuit
from slpa_jax.core.pauli import Pauli, PauliSum, PauliTable
from slpa_jax.measure.diagonalize import (
    Diagonalization,
    conjugate_by_clifford,
    diagonalize_commuting,
    is_qubitwise_commuting,
)


def signed_matrix(label: str) -> np.ndarray:
    sign = -1.0 if label.startswith("-") else 1.0
    return sign * pauli_matrix(label.lstrip("+-"))


def circuit_matrix(circuit: Circuit) -> np.ndarray:
    n = circuit.n_qubits
    u = np.eye(2**n, dtype=complex)
    for op in circuit.ops:
        u = scipy.sparse.csr_matrix(gate_matrix(op.name, op.qubits, n)) @ u  # gates are monomial: sparse
    return u


def z_matrix(mask) -> np.ndarray:
    return pauli_matrix("".join("Z" if b else "I" for b in mask))


def pauli_from_matrix(mat: np.ndarray) -> str:
    """Signed label of a dense matrix known to be +-(a Pauli string); independent of slpa_jax."""
    dim = mat.shape[0]
    n = dim.bit_length() - 1
    xmask = int(np.argmax(np.abs(mat[:, 0])))
    v0 = mat[xmask, 0]
    zbits = []
    for q in range(n):
        j = 1 << (n - 1 - q)
        zbits.append(int(np.real(mat[j ^ xmask, j] / v0) < 0))
    letters = "".join("IXZY"[((xmask >> (n - 1 - q)) & 1) + 2 * zbits[q]] for q in range(n))
    ny = letters.count("Y")
    phase = int(np.rint(np.angle(v0) / (np.pi / 2))) % 4
    phase = (phase - ny) % 4
    assert phase in (0, 2), "not Hermitian"
    out = ("-" if phase == 2 else "") + letters
    np.testing.assert_allclose(signed_matrix(out), mat, atol=EPS["float64"])
    return out


def random_clifford(rng, n: int, n_gates: int) -> Circuit:
    c = Circuit(n)
    names = sorted(CLIFFORD_GATES) + ["H", "S", "CNOT", "CNOT", "CZ"]  # all gates, weighted to entangle
    for _ in range(n_gates):
        name = names[rng.integers(len(names))]
        arity = CLIFFORD_GATES[name][0]
        if arity == 2 and n < 2:
            continue
        c = c.gate(name, *[int(q) for q in rng.choice(n, size=arity, replace=False)])
    return c


def random_commuting_labels(rng, n: int, m: int) -> list[str]:
    """Members of a random stabilizer group: V^dag (+-Z^s) V for a random dense Clifford V."""
    v = circuit_matrix(random_clifford(rng, n, 10 * n))
    labels = []
    for _ in range(m):
        mask = rng.integers(0, 2, size=n).astype(bool)
        sign = rng.choice([-1.0, 1.0])
        labels.append(pauli_from_matrix(sign * v.conj().T @ z_matrix(mask) @ v))
    return labels


def check_dense(diag: Diagonalization, labels):
    u = circuit_matrix(diag.clifford)
    assert diag.clifford.is_clifford_only and diag.clifford.n_params == 0
    for k, lab in enumerate(labels):
        lhs = u @ signed_matrix(lab) @ u.conj().T
        rhs = diag.signs[k] * z_matrix(diag.z_masks[k])
        np.testing.assert_allclose(lhs, rhs, atol=EPS["float64"], err_msg=f"member {k} = {lab}")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_random_commuting_sets_dense(n):
    rng = np.random.default_rng(100 + n)
    general = 0
    for _trial in range(3 if n < 8 else 1):
        labels = random_commuting_labels(rng, n, m=6 + 2 * n)
        diag = diagonalize_commuting(labels)
        general += not is_qubitwise_commuting(labels)
        assert diag.paulis.labels() == labels
        assert diag.z_masks.shape == (len(labels), n) and diag.signs.dtype == np.int64
        check_dense(diag, labels)
    assert general >= 1 or n < 3  # the non-qubit-wise path is exercised


def test_rejection_sampled_commuting_sets_dense():
    rng = np.random.default_rng(7)
    for n in (3, 4, 6):
        labels = []
        while len(labels) < 2 * n:
            cand = random_label(rng, n)
            # letter-level commutation: an even number of positions with different non-I letters
            if all(sum(a != b and "I" not in (a, b) for a, b in zip(cand, o.lstrip("-"))) % 2 == 0 for o in labels):
                labels.append(("-" if rng.integers(2) else "") + cand)
        check_dense(diagonalize_commuting(labels), labels)


@pytest.mark.parametrize("labels", [["XX", "YY", "ZZ"], ["-XX", "YY", "ZZ"], ["XX", "-YY", "-ZZ", "II", "-II"]])
def test_bell_basis_sets(labels):
    diag = diagonalize_commuting(labels)
    check_dense(diag, labels)
    assert not is_qubitwise_commuting(labels)
    assert diag.num_two_qubit_gates >= 1
    # XX * YY = -ZZ: the readout signs must multiply consistently with the operator product.
    s = dict(zip(labels, diag.signs))
    if "XX" in s and "YY" in s and "ZZ" in s:
        assert s["XX"] * s["YY"] * s["ZZ"] == -1


def test_qwc_set_uses_single_qubit_layer():
    labels = ["XIZY", "XZIY", "IIZY", "-XZZI", "IIII"]
    diag = diagonalize_commuting(labels)
    check_dense(diag, labels)
    assert is_qubitwise_commuting(labels)
    names = [(op.name, op.qubits) for op in diag.clifford.ops]
    assert names == [("H", (0,)), ("SDG", (3,)), ("H", (3,))]
    np.testing.assert_array_equal(diag.z_masks[3], [True, True, True, False])
    assert diag.signs[3] == -1


def test_identity_duplicates_and_dependent_members():
    labels = ["III", "-III", "XXI", "XXI", "-XXI", "ZZI", "-YYI", "IIZ", "-YYZ"]
    diag = diagonalize_commuting(labels)
    check_dense(diag, labels)
    assert not diag.z_masks[0].any() and diag.signs[0] == 1 and diag.signs[1] == -1


def test_input_forms_agree():
    labels = ["XZ", "ZX", "-YY"]
    a = diagonalize_commuting(labels)
    b = diagonalize_commuting(PauliTable.from_labels(labels))
    c = diagonalize_commuting([Pauli(lab) for lab in labels])
    for d in (b, c):
        np.testing.assert_array_equal(d.z_masks, a.z_masks)
        np.testing.assert_array_equal(d.signs, a.signs)
        assert d.clifford == a.clifford
    s = diagonalize_commuting(PauliSum.from_terms([(1.0, "XZ"), (-2.0, "ZX")]))
    check_dense(s, ["XZ", "ZX"])
    one = diagonalize_commuting("-XY")
    check_dense(one, ["-XY"])
    empty = diagonalize_commuting(PauliTable.empty(3))
    assert len(empty) == 0 and empty.z_masks.shape == (0, 3) and len(empty.clifford) == 0


def test_statevector_readout_matches_dense_expectations():
    rng = np.random.default_rng(3)
    n = 5
    labels = random_commuting_labels(rng, n, m=12)
    diag = diagonalize_commuting(labels)
    psi = random_state(rng, n)
    out = np.asarray(slpa_jax.statevector(diag.clifford, np.zeros(0), psi))
    probs = np.abs(out) ** 2
    idx = np.arange(2**n)
    masks = diag.index_masks
    for k, lab in enumerate(labels):
        parity = (np.bitwise_count(idx & masks[k]) & 1).astype(np.int64)
        est = float(np.sum(probs * diag.signs[k] * (1 - 2 * parity)))
        exact = float(np.real(psi.conj() @ signed_matrix(lab) @ psi))
        assert est == pytest.approx(exact, abs=TOL["float64"])
    # bitstring convention: qubit q = index bit n-1-q
    bits = ((idx[:, None] >> (n - 1 - np.arange(n))) & 1).astype(bool)
    vals = diag.signs * (1 - 2 * ((bits[:, None, :] & diag.z_masks[None]).sum(-1) % 2))
    parities = (np.bitwise_count(idx[:, None] & masks) & 1).astype(np.int64)
    np.testing.assert_array_equal(vals, diag.signs * (1 - 2 * parities))


def test_conjugate_by_clifford_all_gates_dense():
    rng = np.random.default_rng(11)
    n = 3
    for name, (arity, _) in CLIFFORD_GATES.items():
        for _ in range(3):
            qubits = tuple(int(q) for q in rng.choice(n, size=arity, replace=False))
            c = Circuit(n).gate(name, *qubits)
            labels = [random_label(rng, n) for _ in range(8)] + ["YYY", "-XYZ"]
            out = conjugate_by_clifford(PauliTable.from_labels(labels), c)
            g = gate_matrix(name, qubits, n)
            for lab, img in zip(labels, out.labels()):
                np.testing.assert_allclose(g @ signed_matrix(lab) @ g.conj().T, signed_matrix(img), atol=EPS["float64"])
    # non-Hermitian phases are carried through
    c = random_clifford(rng, n, 10)
    u = circuit_matrix(c)
    img = conjugate_by_clifford(PauliTable.from_labels(["iXYZ"]), c)[0]
    np.testing.assert_allclose(u @ Pauli("iXYZ").to_matrix() @ u.conj().T, img.to_matrix(), atol=EPS["float64"])


def test_many_members_n20_consistent_products():
    rng = np.random.default_rng(5)
    n, r = 20, 12
    gens = []
    while len(gens) < r:
        cand = Pauli(random_label(rng, n))
        if all(cand.commutes(g) for g in gens):
            gens.append(cand)
    members = []
    for _ in range(2000):
        p = Pauli.identity(n)
        for g, b in zip(gens, rng.integers(0, 2, size=r)):
            if b:
                p = p * g
        members.append(-p if rng.integers(2) else p)
    diag = diagonalize_commuting(members)
    # images are a homomorphism: image(P_a P_b) = image(P_a) image(P_b) with signs
    for a, b in rng.integers(0, len(members), size=(50, 2)):
        prod = members[a] * members[b]
        d = diagonalize_commuting([members[a], members[b], prod])
        np.testing.assert_array_equal(d.z_masks[2], d.z_masks[0] ^ d.z_masks[1])
        assert d.signs[2] == d.signs[0] * d.signs[1]
    assert diag.z_masks.shape == (2000, n)
    img = conjugate_by_clifford(diag.paulis, diag.clifford)
    assert not img.x_bits.any()


def test_errors():
    with pytest.raises(ValueError, match=r"paulis\[0\] = 'XX' and paulis\[2\] = 'ZI' do not commute"):
        diagonalize_commuting(["XX", "ZZ", "ZI"])
    with pytest.raises(ValueError, match=r"paulis\[1\] = 'iXZ' is not Hermitian"):
        diagonalize_commuting(PauliTable.from_labels(["ZZ", "iXZ"]))
    with pytest.raises(TypeError, match="expected a PauliTable, PauliSum, Pauli or a sequence of labels, got int"):
        diagonalize_commuting(5)
    with pytest.raises(TypeError, match="expected a sequence of labels"):
        diagonalize_commuting(["XX", 3])
    with pytest.raises(ValueError, match="got an empty sequence of Paulis"):
        diagonalize_commuting([])
    with pytest.raises(ValueError, match="operation 0 is a Rotation; expected Clifford gates only"):
        conjugate_by_clifford(PauliTable.from_labels(["XX"]), Circuit.from_labels(["ZZ"]))
    with pytest.raises(ValueError, match="circuit has 3 qubits but the Paulis have 2"):
        conjugate_by_clifford(PauliTable.from_labels(["XX"]), Circuit(3))
    with pytest.raises(TypeError, match="circuit must be a Circuit, got str"):
        conjugate_by_clifford(PauliTable.from_labels(["XX"]), "H")
    with pytest.raises(ValueError, match=r"expected z_masks of shape \(1, 2\)"):
        Diagonalization(PauliTable.from_labels(["XX"]), Circuit(2), np.zeros((1, 3), bool), np.ones(1))
    with pytest.raises(ValueError, match="clifford acts on 3 qubits, expected 2"):
        Diagonalization(PauliTable.from_labels(["XX"]), Circuit(3), np.zeros((1, 2), bool), np.ones(1))
    big = Diagonalization(PauliTable.from_labels(["Z" * 63]), Circuit(63), np.ones((1, 63), bool), np.ones(1))
    with pytest.raises(ValueError, match="index_masks: statevector masks need n <= 62, got n=63"):
        _ = big.index_masks


def test_a_hand_built_setting_that_does_not_diagonalise_is_rejected():
    # issue 14: a Diagonalization is checked against its contract C P_k C^dag = signs[k] Z^z_masks[k]
    good = diagonalize_commuting(["XX", "ZZ"])
    Diagonalization(good.paulis, good.clifford, good.z_masks, good.signs)  # the real one passes
    with pytest.raises(ValueError, match=r"maps paulis\[0\] = 'XX' to 'XX', not to"):
        Diagonalization(good.paulis, Circuit(2), good.z_masks, good.signs)
    with pytest.raises(ValueError, match=r"not to signs\[0\] \* Z\^z_masks\[0\] = '-"):
        Diagonalization(good.paulis, good.clifford, good.z_masks, -good.signs)
    with pytest.raises(ValueError, match=r"signs must be \+1 or -1"):
        Diagonalization(good.paulis, good.clifford, good.z_masks, 2 * good.signs)
