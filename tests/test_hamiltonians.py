"""Built-in Hamiltonians, file formats and exact energies against independent references."""

import json

import numpy as np
import pytest
from conftest import EPS, TOL
from reference import pauli_matrix

import slpa_jax.train.hamiltonians as hmod
from slpa_jax.train.hamiltonians import (
    HAMILTONIANS,
    from_qiskit_list,
    ground_energy,
    hamiltonian,
    load_hamiltonian,
    parse_openfermion,
    save_hamiltonian,
    sparse_matrix,
)

X, Y, Z, I2 = (pauli_matrix(c) for c in "XYZI")


def _on(ops: dict, n: int) -> np.ndarray:
    out = np.ones((1, 1))
    for q in range(n):
        out = np.kron(out, ops.get(q, I2))
    return out


def _xxz_dense(n, J, delta, hz, periodic):
    bonds = [(i, (i + 1) % n) for i in range(n if periodic else n - 1)]
    h = sum(J * (_on({i: X, j: X}, n) + _on({i: Y, j: Y}, n) + delta * _on({i: Z, j: Z}, n)) for i, j in bonds)
    return h + sum(hz * _on({i: Z}, n) for i in range(n))


@pytest.mark.parametrize("periodic", [False, True])
def test_xxz_and_tfim_equal_their_kron_definitions(periodic):
    b = "periodic" if periodic else "open"
    for n in (3, 4):
        got = hamiltonian("xxz", n, J=0.7, delta=0.3, hz=0.2, boundary=b).to_matrix()
        np.testing.assert_allclose(got, _xxz_dense(n, 0.7, 0.3, 0.2, periodic), atol=EPS["float64"])
        bonds = [(i, (i + 1) % n) for i in range(n if periodic else n - 1)]
        tf = -0.9 * sum(_on({i: Z, j: Z}, n) for i, j in bonds) - 0.4 * sum(_on({i: X}, n) for i in range(n))
        np.testing.assert_allclose(
            hamiltonian("tfim", n, J=0.9, h=0.4, boundary=b).to_matrix(), tf, atol=EPS["float64"]
        )
    np.testing.assert_allclose(
        hamiltonian("heisenberg", 4).to_matrix(), _xxz_dense(4, 1.0, 1.0, 0.0, False), atol=EPS["float64"]
    )


def test_closed_forms():
    # two-site Heisenberg: singlet energy -3 J; TFIM with J = 0 is free spins: -h n
    assert ground_energy(hamiltonian("heisenberg", 2)) == pytest.approx(-3.0, abs=EPS["float64"])
    assert ground_energy(hamiltonian("tfim", 5, J=0.0, h=0.8)) == pytest.approx(-4.0, abs=EPS["float64"])
    # the open XX chain (delta = 0) is free fermions: E0 = 2 sum of the negative cos(k pi / (n + 1))
    n = 8
    eps = 2 * np.cos(np.pi * np.arange(1, n + 1) / (n + 1))
    assert ground_energy(hamiltonian("xxz", n, delta=0.0)) == pytest.approx(2 * eps[eps < 0].sum(), abs=TOL["float64"])


def test_h2_ground_energy_is_the_fci_value():
    # FCI / STO-3G at 0.7414 A: -1.137283834 Ha (the published value of this molecule and basis)
    assert ground_energy(hamiltonian("h2")) == pytest.approx(-1.137283834, abs=1e-8)
    with pytest.raises(ValueError, match="has 4 qubits"):
        hamiltonian("h2", 6)


def test_sparse_path_equals_dense(monkeypatch):
    h = hamiltonian("xxz", 9, delta=0.4, hz=0.1)
    dense = np.linalg.eigvalsh(h.to_matrix())[:3]
    np.testing.assert_allclose(sparse_matrix(h).toarray(), h.to_matrix(), atol=EPS["float64"])
    monkeypatch.setattr(hmod, "DENSE_MAX_QUBITS", 4)
    np.testing.assert_allclose(ground_energy(h, k=3), dense, atol=TOL["float64"])
    # a Y-containing (complex) term set
    h2 = hamiltonian("h2")
    np.testing.assert_allclose(sparse_matrix(h2).toarray(), h2.to_matrix(), atol=EPS["float64"])


def test_openfermion_text_and_our_json_round_trip(tmp_path):
    text = "-0.0970 [] +\n0.1714 [Z0] +\n(-0.0453+0j) [X0 X1 Y2 Y3] +\n0.5 [Z3]"
    h = parse_openfermion(text)
    want = -0.097 * _on({}, 4) + 0.1714 * _on({0: Z}, 4) - 0.0453 * _on({0: X, 1: X, 2: Y, 3: Y}, 4)
    np.testing.assert_allclose(h.to_matrix(), want + 0.5 * _on({3: Z}, 4), atol=EPS["float64"])
    (tmp_path / "h.txt").write_text(text)
    assert load_hamiltonian(str(tmp_path / "h.txt")).n == 4
    save_hamiltonian(h, str(tmp_path / "h.json"))
    np.testing.assert_allclose(load_hamiltonian(str(tmp_path / "h.json")).to_matrix(), h.to_matrix(), atol=0)


def test_qiskit_sparse_pauli_op_list_is_reversed_to_our_order(tmp_path):
    qi = pytest.importorskip("qiskit.quantum_info")
    op = qi.SparsePauliOp.from_list([("IIXZ", 0.5), ("YIII", -0.25)])
    h = from_qiskit_list(op.to_list())
    # Qiskit's Operator is little-endian: reverse the qubit order of its matrix to compare
    qmat = qi.Operator(op).reverse_qargs().data
    np.testing.assert_allclose(h.to_matrix(), qmat, atol=EPS["float64"])
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"format": "qiskit", "terms": [[lab, [c.real, c.imag]] for lab, c in op.to_list()]}))
    np.testing.assert_allclose(load_hamiltonian(str(path)).to_matrix(), qmat, atol=EPS["float64"])


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="must be Hermitian.*'XZ'"):
        from_qiskit_list([("XZ", 1j)])
    with pytest.raises(ValueError, match="line 2 .* is not of the form"):
        parse_openfermion("0.1 [Z0] +\nbanana")
    with pytest.raises(ValueError, match="'Q0' is not of the form"):
        parse_openfermion("0.1 [Q0]")
    with pytest.raises(ValueError, match="unknown name 'ising'"):
        hamiltonian("ising", 4)
    with pytest.raises(ValueError, match=r"takes parameters \['J', 'h', 'boundary'\], got unknown \['delta'\]"):
        hamiltonian("tfim", 4, delta=1.0)
    with pytest.raises(ValueError, match="needs n"):
        hamiltonian("xxz")
    with pytest.raises(ValueError, match="boundary must be 'open' or 'periodic'"):
        hamiltonian("xxz", 4, boundary="ring")
    with pytest.raises(ValueError, match="cannot read the file"):
        load_hamiltonian(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text('{"n_qubits": 2}')
    with pytest.raises(ValueError, match="expected an object with 'terms'"):
        load_hamiltonian(str(tmp_path / "bad.json"))
    (tmp_path / "h.json").write_text('{"n_qubits": 2, "terms": [[1.0, "XZ"]]}')
    with pytest.raises(ValueError, match="acts on 2 qubits, expected n_qubits=3"):
        load_hamiltonian(str(tmp_path / "h.json"), n=3)


def test_every_catalogue_entry_builds_a_hermitian_sum():
    for name, spec in HAMILTONIANS.items():
        h = hamiltonian(name, spec.fixed_n or 6)
        assert h.is_hermitian and h.n == (spec.fixed_n or 6) and spec.description
