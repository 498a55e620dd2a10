"""Invariants of the Clifford gate table, one loop over ``GATES`` per column.

References are independent: the textbook matrices written out here, brute-force dense gates and
numpy ``kron`` Paulis from ``reference``,
``scipy.linalg.expm`` for rotations, Qiskit's ``Operator`` for the QASM names.
"""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS
from reference import gate_matrix
from reference import pauli_matrix as dense_pauli
from scipy.linalg import expm

from slpa_jax.core.circuit import CLIFFORD_GATES, Circuit, Gate
from slpa_jax.core.gates import GATES, conjugate_paulis, gate_spec
from slpa_jax.core.kernels import apply_gate, apply_gate_row, gate_row
from slpa_jax.core.pauli import PauliTable
from slpa_jax.core.simulator import gate_batch, gate_tables
from slpa_jax.export.circuits import QISKIT_GATE_NAMES
from slpa_jax.measure.diagonalize import conjugate_by_clifford

S2 = np.sqrt(0.5)
TEXTBOOK = {
    "H": S2 * np.array([[1, 1], [1, -1]]),
    "S": np.diag([1, 1j]),
    "SDG": np.diag([1, -1j]),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
    "CNOT": np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]),
    "CZ": np.diag([1, 1, 1, -1]),
    "SWAP": np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
}


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    idx = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[idx] / b[idx]
    return abs(abs(phase) - 1) < 1e-12 and np.allclose(a, phase * b, atol=EPS["float64"])


def test_the_table_is_the_circuit_gate_set():
    assert set(GATES) == set(TEXTBOOK) == set(CLIFFORD_GATES) == set(QISKIT_GATE_NAMES)
    with pytest.raises(ValueError, match="unknown gate 'T'"):
        gate_spec("T")


@pytest.mark.parametrize("name", list(GATES))
def test_matrix_arity_and_inverse(name):
    g = GATES[name]
    np.testing.assert_allclose(g.matrix, TEXTBOOK[name], atol=EPS["float64"])
    assert g.matrix.shape == (2**g.arity,) * 2 and CLIFFORD_GATES[name] == (g.arity, g.inverse)
    np.testing.assert_allclose(GATES[g.inverse].matrix @ g.matrix, np.eye(2**g.arity), atol=EPS["float64"])


@pytest.mark.parametrize("name", list(GATES))
def test_rotation_decomposition_equals_the_matrix_up_to_phase(name):
    g = GATES[name]
    u = np.eye(2**g.arity, dtype=complex)
    for label, angle in g.rotations:
        assert len(label) == g.arity
        u = expm(-0.5j * angle * dense_pauli(label)) @ u
    assert _equal_up_to_phase(u, TEXTBOOK[name])


@pytest.mark.parametrize("name", list(GATES))
def test_tableau_action_matches_dense_conjugation(name):
    g = GATES[name]
    u = np.asarray(TEXTBOOK[name], complex)
    for letters in itertools.product("IXYZ", repeat=g.arity):
        label = "".join(letters)
        sign, image = g.conjugate_label(label)
        np.testing.assert_allclose(u @ dense_pauli(label) @ u.conj().T, sign * dense_pauli(image), atol=EPS["float64"])


@pytest.mark.parametrize("name", list(GATES))
def test_in_place_conjugation_on_a_wider_register(name):
    # every 3-qubit string, the gate on a non-trivial qubit placement, vs dense conjugation
    g = GATES[name]
    n = 3
    qubits = (2,) if g.arity == 1 else (2, 0)
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=n)]
    table = PauliTable.from_labels(labels)
    x, z = table.x_bits.copy(), table.z_bits.copy()
    s = np.zeros(len(labels), bool)
    conjugate_paulis(x, z, s, name, qubits)
    out = PauliTable.from_bits(x, z, 2 * s)
    big = gate_matrix(name, qubits, n)
    for lab, img, neg in zip(labels, out.labels(), s):
        want = big @ dense_pauli(lab) @ big.conj().T
        np.testing.assert_allclose(want, (-1 if neg else 1) * dense_pauli(img.lstrip("+-")), atol=EPS["float64"])
    # the public tableau routine agrees
    via = conjugate_by_clifford(table, Circuit(n, (Gate(name, qubits),)))
    assert via.labels() == out.labels()


@pytest.mark.parametrize("name", list(GATES))
def test_kernel_and_apply_left_match_the_dense_matrix(name):
    g = GATES[name]
    n = 4
    rng = np.random.default_rng(7)
    for qubits in [(0,), (3,), (1,)] if g.arity == 1 else [(0, 1), (3, 1), (2, 0)]:
        big = gate_matrix(name, qubits, n)
        psi = rng.normal(size=16) + 1j * rng.normal(size=16)
        got = np.asarray(apply_gate(jnp.asarray(psi, jnp.complex128), name, qubits, n))
        np.testing.assert_allclose(got, big @ psi, atol=EPS["float64"])
        m = rng.normal(size=(16, 3)) + 1j * rng.normal(size=(16, 3))
        np.testing.assert_allclose(g.apply_left(m, qubits, n), big @ m, atol=EPS["float64"])


@pytest.mark.parametrize("name", list(GATES))
def test_pair_form_and_its_row_kernel_match_the_dense_matrix(name):
    # the derived pair form rebuilds the matrix, and one gate row (the native Clifford pass of the block
    # estimators' basis mode) equals the brute-force dense gate on every qubit arrangement
    g = GATES[name]
    d, diag, off = g.pair
    rebuilt = np.diag(diag).astype(complex)
    if d:
        rebuilt[np.arange(2**g.arity), np.arange(2**g.arity) ^ d] += off
    np.testing.assert_allclose(rebuilt, TEXTBOOK[name], atol=1e-15)
    n = 4
    rng = np.random.default_rng(11)
    for qubits in [(0,), (3,), (1,)] if g.arity == 1 else [(0, 1), (3, 1), (2, 0), (1, 3)]:
        psi = rng.normal(size=16) + 1j * rng.normal(size=16)
        got = np.asarray(apply_gate_row(jnp.asarray(psi, jnp.complex128), *gate_row(name, qubits, n)))
        np.testing.assert_allclose(got, gate_matrix(name, qubits, n) @ psi, atol=EPS["float64"])


def test_gate_batch_runs_each_circuits_own_gates():
    # three circuits with different gate sequences, padded with identity rows, in one batched scan
    n = 3
    seqs = [[("H", (0,)), ("CNOT", (0, 2)), ("SDG", (1,))], [("SWAP", (2, 0))], [("CZ", (1, 2)), ("Y", (0,))]]
    tables = gate_tables([Circuit(n, tuple(Gate(name, q) for name, q in seq)) for seq in seqs])
    assert tables[1].shape == (3, 3)  # padded to the longest circuit with identity rows
    rng = np.random.default_rng(5)
    psi = rng.normal(size=(3, 8)) + 1j * rng.normal(size=(3, 8))
    got = np.asarray(gate_batch(jnp.asarray(psi, jnp.complex128), *tables))
    for c, seq in enumerate(seqs):
        u = np.eye(8)
        for name, q in seq:
            u = gate_matrix(name, q, n) @ u
        np.testing.assert_allclose(got[c], u @ psi[c], atol=EPS["float64"])


@pytest.mark.parametrize("name", list(GATES))
def test_qasm_name_is_qiskits_gate(name):
    qiskit = pytest.importorskip("qiskit")
    from qiskit.quantum_info import Operator

    g = GATES[name]
    qc = qiskit.QuantumCircuit(g.arity)
    getattr(qc, g.qasm)(*range(g.arity))
    # Qiskit orders qubit 0 as the least significant bit; reverse to our convention
    np.testing.assert_allclose(Operator(qc.reverse_bits()).data, TEXTBOOK[name], atol=EPS["float64"])
