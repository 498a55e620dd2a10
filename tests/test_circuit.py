"""Circuits as static data: builders, parameter maps, Clifford gates, concatenation, inversion, errors.

Unitaries of our circuits are read off ``statevector`` applied to every basis state and compared with
the float64 dense references in ``reference.py`` (brute-force gate matrices, kron + expm rotations).
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS
from reference import dense_circuit, gate_matrix, random_label, rotation_matrix

from slpa_jax.core.circuit import CLIFFORD_GATES, Circuit, Gate, Rotation
from slpa_jax.core.pauli import Pauli
from slpa_jax.core.simulator import statevector

ATOL = 1e-12


def sim_unitary(circuit, params=None):
    """Columns U|j> from the simulator (float64 params -> complex128)."""
    params = jnp.zeros(circuit.n_params) if params is None else jnp.asarray(params, jnp.float64)
    eye = jnp.eye(2**circuit.n_qubits, dtype=jnp.complex128)
    return np.asarray(jax.vmap(lambda s: statevector(circuit, params, s))(eye)).T


# --- builders and parameter maps ---------------------------------------------------------------------


def test_from_labels_counts_and_generators():
    c = Circuit.from_labels(["XXII", "IIYY", "-IZZI", "X0 Z3"], n_qubits=4)
    assert (c.n_qubits, c.n_params, c.num_rotations, len(c)) == (4, 4, 4, 4)
    assert c.generators.labels() == ["XXII", "IIYY", "IZZI", "XIIZ"]  # signs fold into the angle
    assert [r.param for r in c.rotations] == [0, 1, 2, 3]
    assert [r.scale for r in c.rotations] == [1.0, 1.0, -1.0, 1.0]
    assert c.param_usage().tolist() == [1, 1, 1, 1]
    assert not c.is_clifford_only and Circuit(2).gate("H", 0).is_clifford_only
    assert repr(c) == "Circuit(n_qubits=4, ops=4, n_params=4)"
    assert Circuit.from_labels(iter(["XY", "ZZ"])).n_params == 2


def test_from_generators_shared_and_fixed():
    c = Circuit.from_generators(["XY", "ZZ", "YX", "XX"], [1, 0, 1, None], n_params=3)
    assert c.n_params == 3 and c.param_usage().tolist() == [1, 2, 0]
    assert [r.is_trainable for r in c.rotations] == [True, True, True, False]
    np.testing.assert_allclose(np.asarray(c.angles(jnp.array([0.5, -1.5, 7.0]))), [-1.5, 0.5, -1.5, 0.0])
    assert Circuit.from_generators(["XY", "ZZ"], [1, 1]).n_params == 2
    assert Circuit.from_generators([], [], n_qubits=3) == Circuit(3)


def test_angles_scale_offset_and_fixed():
    c = (
        Circuit(2)
        .rotation("XY", 1, scale=2.0, offset=0.25)
        .fixed_rotation("ZI", 0.7)
        .rotation("-YY", 0, scale=0.5)
        .rotation(Pauli("-ZX"), 1, offset=0.1)
    )
    assert c.n_params == 2
    p = np.array([0.3, -1.1])
    expected = [2.0 * p[1] + 0.25, 0.7, -0.5 * p[0], -(p[1] + 0.1)]
    np.testing.assert_allclose(np.asarray(c.angles(jnp.asarray(p))), expected, atol=EPS["float64"])
    ref = dense_circuit(
        [("R", "XY", expected[0]), ("R", "ZI", 0.7), ("R", "YY", expected[2]), ("R", "ZX", expected[3])], 2
    )
    np.testing.assert_allclose(sim_unitary(c, p), ref, atol=ATOL)
    # R_{-P}(theta) = R_P(-theta), checked against expm of the signed matrix
    np.testing.assert_allclose(sim_unitary(Circuit.from_labels(["-XZ"]), [0.9]), rotation_matrix("XZ", -0.9), atol=ATOL)


def test_fixed_only_circuit_and_unused_slots():
    c = Circuit(2).fixed_rotation("XY", 0.5).gate("H", 1).fixed_rotation("-ZZ", 0.2)
    assert c.n_params == 0
    ref = dense_circuit([("R", "XY", 0.5), ("G", "H", (1,)), ("R", "ZZ", -0.2)], 2)
    np.testing.assert_allclose(sim_unitary(c), ref, atol=ATOL)
    # a NaN in a parameter slot that no rotation reads must not reach the fixed angles
    c2 = Circuit(2, (), 2).fixed_rotation("XY", 0.5).rotation("ZZ", 0, scale=3.0)
    np.testing.assert_allclose(np.asarray(c2.angles(jnp.array([0.1, np.nan]))), [0.5, 0.3], atol=EPS["float64"])


def test_rotation_dataclass_folds_sign():
    r = Rotation(Pauli("-XY"), np.int64(1), 2.0, 0.1)
    assert r == Rotation(Pauli("XY"), 1, -2.0, -0.1) and type(r.param) is int
    c = Circuit(2, (r,), 2)
    np.testing.assert_allclose(sim_unitary(c, [0.0, 0.7]), rotation_matrix("XY", -(2.0 * 0.7 + 0.1)), atol=ATOL)


def test_angles_dtype_follows_params():
    c = Circuit(2).rotation("XY", 0, scale=0.5, offset=0.1)
    assert c.angles(jnp.array([1.0], jnp.float32)).dtype == jnp.float32
    assert c.angles(jnp.array([1.0], jnp.float64)).dtype == jnp.float64
    assert c.check_params([1]).dtype == jnp.float64  # ints become the default float


def test_hash_equality_and_static_pytree():
    a = Circuit.from_labels(["XY", "ZZ"]).gate("CNOT", 0, 1)
    b = Circuit.from_labels(["XY", "ZZ"]).gate("cnot", 0, 1)
    assert a == b and hash(a) == hash(b)
    assert a != Circuit.from_labels(["XY", "ZX"]).gate("CNOT", 0, 1)
    assert a != a.gate("H", 0) and a != Circuit(2, a.ops, n_params=3)
    assert jax.tree_util.tree_leaves(a) == []
    assert Gate("CZ", [np.int64(0), 1]).qubits == (0, 1)


# --- Clifford gates vs brute-force matrices ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLIFFORD_GATES))
def test_clifford_gates_vs_reference(name):
    arity = CLIFFORD_GATES[name][0]
    n = 3 if arity == 1 else 4
    for qubits in itertools.permutations(range(n), arity):  # adjacent, non-adjacent and reversed orders
        c = Circuit(n).gate(name, *qubits)
        np.testing.assert_allclose(sim_unitary(c), gate_matrix(name, qubits, n), atol=ATOL)


@pytest.mark.parametrize("name", sorted(CLIFFORD_GATES))
def test_gate_inverse_table(name):
    arity, inv = CLIFFORD_GATES[name]
    qubits = (2, 0)[:arity]
    g = Gate(name, qubits)
    assert g.inverse() == Gate(inv, qubits)
    prod = gate_matrix(inv, qubits, 3) @ gate_matrix(name, qubits, 3)
    np.testing.assert_allclose(prod, np.eye(8), atol=EPS["float64"])


def test_gates_builder_mixed_with_rotations():
    c = Circuit(3).gates([("H", 0), ("CNOT", 2, 0), ("s", 1)]).rotation("XYZ", 0).gate("SWAP", 0, 2)
    p = [0.37]
    ref = dense_circuit(
        [("G", "H", (0,)), ("G", "CNOT", (2, 0)), ("G", "S", (1,)), ("R", "XYZ", 0.37), ("G", "SWAP", (0, 2))], 3
    )
    np.testing.assert_allclose(sim_unitary(c, p), ref, atol=ATOL)


# --- concatenate, invert, embed ----------------------------------------------------------------------


def _random_mixed_circuit(rng, n, n_rot, n_params):
    c = Circuit(n, (), n_params)
    for _ in range(n_rot):
        c = c.rotation(
            random_label(rng, n), int(rng.integers(n_params)), scale=float(rng.normal()), offset=float(rng.normal())
        )
        name = sorted(CLIFFORD_GATES)[int(rng.integers(len(CLIFFORD_GATES)))]
        qubits = rng.choice(n, size=CLIFFORD_GATES[name][0], replace=False)
        c = c.gate(name, *qubits)
    return c.fixed_rotation(random_label(rng, n), float(rng.normal()))


def test_concat_is_matrix_product_with_shared_params():
    rng = np.random.default_rng(7)
    a = Circuit.from_labels([random_label(rng, 3) for _ in range(3)])
    b = Circuit.from_labels([random_label(rng, 3) for _ in range(5)]).gate("CZ", 2, 0)
    p = rng.normal(size=5)
    ab = a + b
    assert ab == a.concat(b) and ab.n_params == 5 and ab.num_rotations == 8
    np.testing.assert_allclose(sim_unitary(ab, p), sim_unitary(b, p) @ sim_unitary(a, p[:3]), atol=ATOL)
    ref_a = dense_circuit([("R", r.pauli.letters, p[r.param]) for r in a.rotations], 3)
    np.testing.assert_allclose(sim_unitary(a, p[:3]), ref_a, atol=ATOL)


def test_inverse_undoes_circuit():
    rng = np.random.default_rng(8)
    c = _random_mixed_circuit(rng, 3, 6, 4)
    p = rng.normal(size=4)
    u, u_inv = sim_unitary(c, p), sim_unitary(c.inverse(), p)
    np.testing.assert_allclose(u_inv @ u, np.eye(8), atol=ATOL)
    np.testing.assert_allclose(u_inv, u.conj().T, atol=ATOL)
    np.testing.assert_allclose(sim_unitary(c + c.inverse(), p), np.eye(8), atol=ATOL)
    assert c.inverse().inverse() == c
    assert c.rotations[0].inverse().inverse() == c.rotations[0]
    # the dense reference of the forward circuit, from the circuit's own static data
    ops = []
    for op in c.ops:
        if isinstance(op, Rotation):
            angle = op.scale * p[op.param] + op.offset if op.is_trainable else op.offset
            ops.append(("R", op.pauli.letters, angle))
        else:
            ops.append(("G", op.name, op.qubits))
    np.testing.assert_allclose(u, dense_circuit(ops, 3), atol=ATOL)


def test_embed_is_kron_with_identity():
    c = Circuit.from_labels(["XY", "ZX"]).gate("CNOT", 1, 0)
    p = np.array([0.4, -0.8])
    e = c.embed(4, offset=1)
    assert e.generators.labels() == ["IXYI", "IZXI"] and e.ops[-1] == Gate("CNOT", (2, 1))
    expected = np.kron(np.kron(np.eye(2), sim_unitary(c, p)), np.eye(2))
    np.testing.assert_allclose(sim_unitary(e, p), expected, atol=ATOL)


# --- every error message -----------------------------------------------------------------------------


def test_construction_errors():
    with pytest.raises(ValueError, match=r"Circuit: n_qubits must be a positive int, got 0"):
        Circuit(0)
    with pytest.raises(ValueError, match=r"Circuit: n_qubits must be a positive int, got 2.0"):
        Circuit(2.0)
    with pytest.raises(ValueError, match=r"Circuit: n_params must be a non-negative int, got -1"):
        Circuit(2, (), -1)
    rot3 = Rotation(Pauli("XYZ"), 0)
    with pytest.raises(ValueError, match=r"Circuit: operation 0 acts on 3 qubits, expected n_qubits=2"):
        Circuit(2, (rot3,), 1)
    with pytest.raises(TypeError, match=r"Circuit: operation 1 must be a Rotation or Gate, got str"):
        Circuit(3, (rot3, "H"), 1)
    with pytest.raises(ValueError, match=r"Circuit: n_params=1 but parameter index 4 is used"):
        Circuit(3, (Rotation(Pauli("XYZ"), 4),), 1)
    with pytest.raises(ValueError, match=r"Circuit: operation 0: unknown gate 'T'"):
        Circuit(2, (Gate("T", (0,)),))
    with pytest.raises(TypeError, match=r"Rotation: pauli must be a Pauli, got str"):
        Rotation("XY", 0)
    with pytest.raises(ValueError, match=r"Rotation: generator must be Hermitian \(sign \+ or -\), got 'iXY'"):
        Rotation(Pauli("iXY"), 0)
    with pytest.raises(ValueError, match=r"Rotation: param must be a non-negative int or None, got -1"):
        Rotation(Pauli("XY"), -1)


def test_builder_errors():
    with pytest.raises(ValueError, match=r"Circuit.from_labels: expected a non-empty list of labels, got 'XYZ'"):
        Circuit.from_labels("XYZ")
    with pytest.raises(ValueError, match=r"Circuit.from_labels: expected a non-empty list of labels, got \[\]"):
        Circuit.from_labels([])
    with pytest.raises(ValueError, match=r"Circuit.from_generators: expected a list of labels, got the string"):
        Circuit.from_generators("XY", [0, 1])
    with pytest.raises(ValueError, match=r"Circuit.from_generators: no labels; pass n_qubits"):
        Circuit.from_generators([], [])
    with pytest.raises(ValueError, match=r"Circuit.from_generators: 2 labels but 1 parameter indices"):
        Circuit.from_generators(["XY", "ZZ"], [0])
    with pytest.raises(ValueError, match=r"from_labels: label 1: label 'XYZ' has length 3, expected n_qubits=2"):
        Circuit.from_labels(["XY", "XYZ"])
    with pytest.raises(ValueError, match=r"Circuit.from_labels: label 0: rotation generator must be Hermitian"):
        Circuit.from_labels(["iXY"])
    with pytest.raises(ValueError, match=r"Circuit.rotation: rotation generator must be Hermitian .* 'iXY'"):
        Circuit(2).rotation("iXY", 0)
    with pytest.raises(ValueError, match=r"unknown letters \['Q'\]"):
        Circuit.from_labels(["XQ"])
    with pytest.raises(TypeError, match=r"Circuit.rotation: expected a Pauli label or Pauli, got int"):
        Circuit(2).rotation(3, 0)
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match=r"Circuit.rotation: param must be a non-negative int or None, got"):
            Circuit(2).rotation("XY", bad)
    with pytest.raises(ValueError, match=r"Circuit.from_generators: label 0: param must be a non-negative int"):
        Circuit.from_generators(["XY"], [-2])


@pytest.mark.parametrize(
    "name,qubits,match",
    [
        ("T", (0,), r"Circuit.gate: unknown gate 'T'; expected one of \['CNOT', 'CZ', 'H', 'S', 'SDG', 'SWAP'"),
        ("CNOT", (0,), r"Circuit.gate: gate CNOT takes 2 qubit\(s\), got 1: \(0,\)"),
        ("H", (0, 1), r"Circuit.gate: gate H takes 1 qubit\(s\), got 2"),
        ("H", (3,), r"Circuit.gate: gate H qubit 3 out of range for n_qubits=3"),
        ("CZ", (0, -1), r"Circuit.gate: gate CZ qubit -1 out of range for n_qubits=3"),
        ("SWAP", (1, 1), r"Circuit.gate: gate SWAP needs distinct qubits, got \(1, 1\)"),
    ],
)
def test_gate_errors(name, qubits, match):
    with pytest.raises(ValueError, match=match):
        Circuit(3).gate(name, *qubits)


def test_combination_and_params_errors():
    a = Circuit.from_labels(["XY"])
    with pytest.raises(TypeError, match=r"Circuit.concat: expected a Circuit, got str"):
        a.concat("XY")
    with pytest.raises(ValueError, match=r"Circuit.concat: qubit counts differ, 2 vs 3"):
        a + Circuit(3)
    with pytest.raises(ValueError, match=r"Circuit.embed: cannot place 2 qubits at offset 2 in 3"):
        a.embed(3, offset=2)
    with pytest.raises(ValueError, match=r"Circuit.embed: cannot place 2 qubits at offset -1 in 3"):
        a.embed(3, offset=-1)
    msg = r"params: expected shape \(1,\) for a circuit with 1 parameters, got shape \(2,\)"
    with pytest.raises(ValueError, match=msg):
        a.angles(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"params: expected shape \(1,\) .* got shape \(1, 1\)"):
        a.check_params(jnp.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"params: expected shape \(1,\) .* got shape \(\)"):
        a.check_params(0.5)
    with pytest.raises(TypeError, match=r"params: expected real angles \(float32 or float64\), got dtype complex128"):
        a.check_params(jnp.zeros(1, jnp.complex128))


def test_identity_generator_is_a_global_phase_with_zero_gradient():
    # issue 13: accepted (with a warning) as exp(-i theta / 2) times the identity
    with pytest.warns(UserWarning, match=r"rotation generator 'II' is the identity: a global phase"):
        c = Circuit.from_labels(["XY", "II", "ZZ"])
    without = Circuit.from_generators(["XY", "ZZ"], [0, 2], n_params=3)
    p = jnp.array([0.3, 1.1, -0.4])
    np.testing.assert_allclose(
        np.asarray(statevector(c, p)), np.exp(-0.55j) * np.asarray(statevector(without, p)), atol=EPS["complex128"]
    )
    from slpa_jax.core.simulator import expectation

    g = jax.grad(expectation, argnums=1)(c, p, "ZX")
    assert float(g[1]) == pytest.approx(0.0, abs=EPS["float64"])
    qiskit = pytest.importorskip("qiskit")
    from slpa_jax.export.circuits import to_qasm3, to_qiskit

    text = to_qasm3(c)
    assert "rp_(" not in text and "rp_xy(theta_0)" in text and "rp_zz(theta_2)" in text  # identity omitted
    qc = to_qiskit(c, p)
    assert isinstance(qc, qiskit.QuantumCircuit) and qc.size() == to_qiskit(without, p).size()


def test_rotation_rows_reproduce_the_circuit_up_to_a_global_phase():
    # Circuit.rotation_rows (Clifford gates as fixed rotations) against the dense gate matrices
    c = (
        Circuit(3)
        .rotation("XZI", 0)
        .gate("H", 1)
        .rotation("-YYZ", 1, scale=2.0, offset=0.3)
        .gate("CNOT", 0, 2)
        .fixed_rotation("ZII", 0.4)
        .gate("S", 2)
        .gate("CZ", 1, 2)
    )
    params = np.array([0.7, -1.1])
    table, rot, fixed = c.rotation_rows
    angles = np.asarray(c.angles(params))
    assert list(rot[rot >= 0]) == list(range(c.num_rotations))
    rows = [("R", table[i].label.lstrip("+-"), angles[r] if r >= 0 else fixed[i]) for i, r in enumerate(rot)]
    u_rows = dense_circuit(rows, 3)
    ops = [
        ("R", "XZI", 0.7),
        ("G", "H", (1,)),
        ("R", "YYZ", -(2.0 * -1.1 + 0.3)),
        ("G", "CNOT", (0, 2)),
        ("R", "ZII", 0.4),
        ("G", "S", (2,)),
        ("G", "CZ", (1, 2)),
    ]
    u_ref = dense_circuit(ops, 3)
    phase = np.vdot(u_rows.ravel(), u_ref.ravel()) / 8
    assert abs(abs(phase) - 1) < ATOL
    np.testing.assert_allclose(u_rows * phase, u_ref, atol=ATOL)
