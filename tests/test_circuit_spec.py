"""Circuits from data (train.circuit_spec): YAML-style specs and OpenQASM 3 / Qiskit circuits."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL

from slpa_jax.core.circuit import Circuit
from slpa_jax.core.simulator import statevector
from slpa_jax.train.circuit_spec import circuit_from_spec, from_qiskit, load_circuit


def test_a_spec_equals_the_same_circuit_built_in_python():
    spec = {
        "n_qubits": 4,
        "layers": 2,
        "ops": [
            "XXII",
            {"rotation": "X0 Z3", "param": "a"},
            {"rotation": "IIYY", "param": "a", "scale": -1, "offset": 0.3},
            {"rotation": "ZIIZ", "angle": 0.5},
            {"gate": "cnot", "qubits": [0, 1]},
            {"rotation": "-IZZI"},
        ],
    }
    want = Circuit(4)
    for layer in range(2):
        base = 3 * layer
        want = (
            want.rotation("XXII", base)
            .rotation("XIIZ", base + 1)
            .rotation("IIYY", base + 1, scale=-1.0, offset=0.3)
            .fixed_rotation("ZIIZ", 0.5)
            .gate("CNOT", 0, 1)
            .rotation("-IZZI", base + 2)
        )
    got = circuit_from_spec(spec)
    assert got == want and got.n_params == 6


def test_share_layers_and_int_names_and_sparse_labels_with_the_task_size():
    c = circuit_from_spec({"layers": 3, "share_layers": True, "ops": [{"rotation": "X0", "param": 0}, "Z1"]}, 2)
    assert c.n_params == 4  # one shared + one per layer
    assert [op.param for op in c.ops] == [0, 1, 0, 2, 0, 3]
    assert circuit_from_spec(["XX", "ZZ"]).n_params == 2  # a bare list is the ops


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"ops": ["XX"], "depth": 2}, r"unknown key\(s\) \['depth'\]"),
        ({"ops": []}, r"circuit.ops: expected a non-empty list"),
        ({"ops": ["XX"], "layers": 0}, r"circuit.layers: expected a positive int, got 0"),
        ({"ops": ["X0 Z1"]}, r"n_qubits is required"),
        ({"ops": ["XX", {"gate": "T", "qubits": [0]}]}, r"circuit.ops\[1\].gate: expected one of"),
        ({"ops": ["XX", {"rotation": "XQ"}]}, r"circuit.ops\[1\].rotation"),
        ({"ops": ["XX", "XXX"]}, r"circuit.ops\[1\].rotation: label 'XXX' has length 3, expected n_qubits=2"),
        ({"ops": [{"rotation": "XX", "angle": 0.1, "param": "a"}]}, r"'angle' is a fixed rotation"),
        ({"ops": [{"rotation": "XX", "scale": float("nan")}]}, r"scale: expected a finite number"),
        ({"ops": [{"rotation": "XX", "gate": "H"}]}, r"exactly one of 'rotation'"),
        ({"ops": ["XX"], "n_qubits": 3}, r"the circuit says 3, the task has n_qubits=2"),
    ],
)
def test_bad_specs_name_the_op_and_the_key(spec, match):
    with pytest.raises((ValueError, TypeError), match=match):
        circuit_from_spec(spec, 2 if "n_qubits" in spec else None)


def test_json_file_and_qasm_round_trip(tmp_path):
    pytest.importorskip("qiskit")
    from slpa_jax.export.circuits import to_qasm3

    spec = {
        "ops": [
            "XXI",
            {"rotation": "IYZ", "param": "b"},
            {"gate": "H", "qubits": [2]},
            {"rotation": "ZIX", "param": "b", "scale": -2.0},
        ]
    }
    (tmp_path / "c.json").write_text(json.dumps(spec))
    c = circuit_from_spec({"file": "c.json"}, 3, base_dir=str(tmp_path))
    assert c == circuit_from_spec(spec)
    (tmp_path / "c.qasm").write_text(to_qasm3(c))
    back = load_circuit(str(tmp_path / "c.qasm"))
    assert back.n_params == c.n_params and back.n_qubits == 3
    p = jnp.array([0.3, -1.1])
    overlap = abs(np.vdot(np.asarray(statevector(c, p)), np.asarray(statevector(back, p))))
    assert overlap == pytest.approx(1.0, abs=TOL["float64"])  # equal up to the decompositions' global phase


def test_qiskit_rotations_and_pauli_evolution_match_qiskits_statevector():
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit import Parameter
    from qiskit.circuit.library import PauliEvolutionGate
    from qiskit.quantum_info import SparsePauliOp, Statevector

    a, b = Parameter("a"), Parameter("b")
    qc = qiskit.QuantumCircuit(3)
    qc.h(0)
    qc.rx(a, 1)
    qc.rzz(2 * b + 0.1, 0, 2)
    qc.append(PauliEvolutionGate(SparsePauliOp(["XZ", "ZX"], [0.5, -0.25]), time=a), [1, 2])
    qc.cx(2, 0)
    qc.rzx(b, 2, 1)  # exp(-i b Z_2 X_1 / 2)
    qc.ry(0.4, 2)
    c = from_qiskit(qc)
    values = {a: 0.7, b: -0.3}
    ref = Statevector(qc.assign_parameters(values)).reverse_qargs().data  # Qiskit is little-endian
    got = np.asarray(statevector(c, jnp.array([values[a], values[b]])))
    assert abs(np.vdot(ref, got)) == pytest.approx(1.0, abs=TOL["float64"])


def test_unsupported_qiskit_instructions_are_named():
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    with pytest.raises(ValueError, match=r"instruction 1 \(measure on qubits \[0\]\).*not part of a model circuit"):
        from_qiskit(qc)
    with pytest.raises(ValueError, match="unknown circuit file type '.txt'"):
        load_circuit("circuit.txt")
    with pytest.raises(ValueError, match="cannot read 'missing.qasm'"):
        load_circuit("missing.qasm")
