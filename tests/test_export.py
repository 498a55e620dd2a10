"""Export: QASM 3 / QASM 2 / Qiskit round trips through Qiskit's own parsers and simulator, readout maps
against slpa_jax's estimates on the same counts, exported gradient plans against exact gradients."""

from __future__ import annotations

import io
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qiskit
import qiskit.qasm2
import qiskit.qasm3
from conftest import EPS
from qiskit import qpy
from qiskit.quantum_info import SparsePauliOp, Statevector
from reference import gate_matrix, random_label, random_state, rotation_matrix

from slpa_jax.core.circuit import CLIFFORD_GATES, Circuit
from slpa_jax.core.pauli import PauliTable
from slpa_jax.core.simulator import expectation, expectations, statevector
from slpa_jax.export import (
    estimates_from_counts,
    export_measurement,
    export_run_artifacts,
    load_export,
    load_readout,
    measurement_setting,
    product_state_prep,
    to_qasm2,
    to_qasm3,
    to_qiskit,
    value_and_gradient_from_counts,
    write_setting,
)
from slpa_jax.measure.diagonalize import Diagonalization, diagonalize_commuting

TOL = 1e-10


# --- helpers ----------------------------------------------------------------------------------------


def random_circuit(rng, n: int, n_rot: int, n_params: int) -> Circuit:
    """Signed Pauli rotations (shared params, scales, offsets, fixed angles) mixed with Clifford gates."""
    c = Circuit(n, (), n_params)
    names = [g for g in CLIFFORD_GATES if CLIFFORD_GATES[g][0] <= n]
    for _ in range(n_rot):
        label = ("-" if rng.random() < 0.3 else "") + random_label(rng, n)
        if rng.random() < 0.2:
            c = c.fixed_rotation(label, float(rng.normal()))
        else:
            c = c.rotation(
                label,
                int(rng.integers(n_params)),
                scale=float(rng.choice([1.0, -0.5, 2.0])),
                offset=float(rng.choice([0.0, 0.3])),
            )
        if rng.random() < 0.5:
            name = names[rng.integers(len(names))]
            qubits = rng.choice(n, size=CLIFFORD_GATES[name][0], replace=False)
            c = c.gate(name, *[int(q) for q in qubits])
    return c


def dense_reference(circuit: Circuit, params) -> np.ndarray:
    """U |0..0> from dense matrices (numpy kron + scipy expm), independent of both simulators."""
    psi = np.zeros(2**circuit.n_qubits, complex)
    psi[0] = 1
    for op in circuit.ops:
        if hasattr(op, "pauli"):
            angle = op.offset if op.param is None else op.scale * params[op.param] + op.offset
            psi = rotation_matrix(op.pauli.letters, angle) @ psi
        else:
            psi = gate_matrix(op.name, op.qubits, circuit.n_qubits) @ psi
    return psi


def load_program(text_or_path, fmt: str):
    if fmt == "qasm3":
        return qiskit.qasm3.loads(text_or_path)
    if fmt == "qasm2":
        return qiskit.qasm2.loads(text_or_path)
    with open(text_or_path, "rb") as fh:
        return qpy.load(fh)[0]


def clbit_probabilities(qc) -> dict[str, float]:
    """Exact outcome distribution of a measured circuit, keys in Qiskit order (rightmost = clbit 0).

    The qubit of each clbit is read from the circuit's own measure instructions.
    """
    qubit_of = {}
    for inst in qc.data:
        if inst.operation.name == "measure":
            qubit_of[qc.find_bit(inst.clbits[0]).index] = qc.find_bit(inst.qubits[0]).index
    qargs = [qubit_of[k] for k in range(len(qubit_of))]
    bare = qc.remove_final_measurements(inplace=False)
    if not qargs:
        return {"": 1.0}
    return Statevector(bare).probabilities_dict(qargs=qargs)


def counts_to_histogram(counts: dict[str, int], measured: list[int], n: int) -> np.ndarray:
    """Qiskit counts -> (2**n,) histogram in slpa_jax's index order (qubit q = index bit n-1-q)."""
    hist = np.zeros(2**n, np.int64)
    for key, c in counts.items():
        idx = 0
        for k, q in enumerate(measured):
            if key[len(key) - 1 - k] == "1":
                idx |= 1 << (n - 1 - q)
        hist[idx] += c
    return hist


def sample_counts(probs: dict[str, float], shots: int, seed: int) -> dict[str, int]:
    keys = sorted(probs)
    p = np.array([probs[k] for k in keys])
    draws = np.random.default_rng(seed).multinomial(shots, p / p.sum())
    return {k: int(d) for k, d in zip(keys, draws) if d}


# --- circuits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["qasm3", "qasm2", "qiskit"])
@pytest.mark.parametrize("seed", range(4))
def test_statevector_round_trip(fmt, seed):
    rng = np.random.default_rng(seed)
    n = 1 + seed
    circuit = random_circuit(rng, n, 6, 3)
    params = rng.uniform(-np.pi, np.pi, 3)
    if fmt == "qasm3":
        qc = qiskit.qasm3.loads(to_qasm3(circuit, params))
    elif fmt == "qasm2":
        qc = qiskit.qasm2.loads(to_qasm2(circuit, params))
    else:
        qc = to_qiskit(circuit, params)
    theirs = Statevector(qc).reverse_qargs().data
    ours = np.asarray(statevector(circuit, jnp.asarray(params)))
    np.testing.assert_allclose(theirs, dense_reference(circuit, params), atol=TOL)
    np.testing.assert_allclose(theirs, ours, atol=TOL)


@pytest.mark.parametrize("fmt", ["qasm3", "qasm2", "qiskit"])
def test_every_clifford_gate(fmt):
    c = Circuit(3).fixed_rotation("XYZ", 0.7)
    for name, (arity, _) in CLIFFORD_GATES.items():
        c = c.gate(name, *([2, 0][:arity] if arity == 2 else [1]))
    c = c.fixed_rotation("YIX", -1.3)
    text = {"qasm3": to_qasm3, "qasm2": to_qasm2}.get(fmt)
    qc = to_qiskit(c) if text is None else load_program(text(c, np.zeros(0)), fmt)
    np.testing.assert_allclose(Statevector(qc).reverse_qargs().data, dense_reference(c, np.zeros(0)), atol=TOL)


def test_unbound_qasm3_inputs_and_qiskit_parameters():
    rng = np.random.default_rng(7)
    circuit = random_circuit(rng, 3, 8, 4)
    params = rng.uniform(-3, 3, 4)
    text = to_qasm3(circuit, None)
    assert "input float[64] theta_3;" in text
    qc = qiskit.qasm3.loads(text)
    bound = qc.assign_parameters({p: params[int(p.name.split("_")[1])] for p in qc.parameters})
    ref = dense_reference(circuit, params)
    np.testing.assert_allclose(Statevector(bound).reverse_qargs().data, ref, atol=TOL)
    qq = to_qiskit(circuit, None)
    assert qq.num_parameters == len({op.param for op in circuit.rotations if op.param is not None})
    lookup = {p: params[p.index] for p in qq.parameters}
    np.testing.assert_allclose(Statevector(qq.assign_parameters(lookup)).reverse_qargs().data, ref, atol=TOL)


def test_label_convention_matches_qiskit_reversed_pauli():
    """Our label P on our circuit == Qiskit's Pauli(P[::-1]) on the exported circuit."""
    rng = np.random.default_rng(3)
    circuit = random_circuit(rng, 4, 6, 2)
    params = rng.normal(size=2)
    sv = Statevector(to_qiskit(circuit, params))
    labels = ["XIII", "IZYI", "ZZXY", "IIIY"]
    ours = np.asarray(expectations(circuit, jnp.asarray(params), labels))
    theirs = [sv.expectation_value(SparsePauliOp(label[::-1])).real for label in labels]
    np.testing.assert_allclose(theirs, ours, atol=TOL)


def test_measure_statements_and_number_format():
    c = Circuit(3).fixed_rotation("XIZ", 1e-5).gate("CZ", 0, 2)
    q2 = to_qasm2(c, np.zeros(0), measure=[2, 0])
    assert "rz(1.0e-05) q[2];" in q2 and "measure q[2] -> c[0];" in q2 and "measure q[0] -> c[1];" in q2
    q3 = to_qasm3(c, np.zeros(0), measure=[2, 0])
    assert "c[0] = measure q[2];" in q3 and "bit[2] c;" in q3
    assert clbit_probabilities(qiskit.qasm2.loads(q2)).keys() <= {"00", "01", "10", "11"}


# --- measurement settings ------------------------------------------------------------------------------


GROUPS = [
    ["XX", "YY", "-ZZ"],  # general commuting (not qubit-wise): entangling diagonaliser, a sign
    ["XIZ", "IYZ", "-XYI", "IIZ"],
    ["ZZI", "XXX", "-YYX"],
]


@pytest.mark.parametrize("fmt", ["qasm3", "qasm2", "qiskit"])
@pytest.mark.parametrize("labels", GROUPS, ids=lambda g: "_".join(g))
def test_readout_map_matches_slpa_estimates(fmt, labels, tmp_path):
    n = len(labels[0].lstrip("-"))
    rng = np.random.default_rng(len(labels) + n)
    circuit = random_circuit(rng, n, 5, 2)
    params = rng.normal(size=2)
    prep = product_state_prep(np.stack([random_state(rng, 1) for _ in range(n)]))
    diag = diagonalize_commuting(labels)
    program, readout = export_measurement(circuit, params, diag, fmt=fmt, state_prep=prep)
    if fmt == "qiskit":
        buf = io.BytesIO()
        qpy.dump(program, buf)
        buf.seek(0)
        qc = qpy.load(buf)[0]
    else:
        qc = load_program(program, fmt)
    probs = clbit_probabilities(qc)

    # exact probabilities through the readout map == slpa_jax exact expectations of the signed Paulis
    full = prep + circuit
    exact = np.asarray(expectations(full, jnp.asarray(params), labels))
    np.testing.assert_allclose(estimates_from_counts(readout, probs), exact, atol=TOL)

    # the same integer counts through the readout map and through slpa_jax.sampling
    from slpa_jax.measure.sampling import estimate_from_counts

    counts = sample_counts(probs, 2000, seed=11)
    ours, shots = estimate_from_counts(
        jnp.asarray(counts_to_histogram(counts, readout["measured_qubits"], n)), diag.z_masks, diag.signs
    )
    assert int(shots) == 2000
    np.testing.assert_allclose(estimates_from_counts(readout, counts), np.asarray(ours), atol=EPS["float64"])

    # written and re-read sidecar gives the same numbers
    entry = write_setting(measurement_setting(circuit, diag, state_prep=prep, name="s"), params, tmp_path, fmt)
    loaded = load_readout(os.path.join(tmp_path, entry["readout"]))
    np.testing.assert_allclose(estimates_from_counts(loaded, counts), np.asarray(ours), atol=EPS["float64"])
    qc_file = (
        load_program(os.path.join(tmp_path, entry["program"]), fmt)
        if fmt == "qiskit"
        else load_program(open(os.path.join(tmp_path, entry["program"])).read(), fmt)
    )
    probs_file = clbit_probabilities(qc_file)
    np.testing.assert_allclose(estimates_from_counts(loaded, probs_file), exact, atol=TOL)


def test_counts_key_formats_agree():
    readout = export_measurement(
        Circuit(3).fixed_rotation("XII", 0.4), np.zeros(0), diagonalize_commuting(["ZIZ", "IZI"])
    )[1]
    assert readout["measured_qubits"] == [0, 1, 2]
    bits = {"101": 3, "010": 5, "111": 2}
    # bit k of the integer = clbit k = measured qubit k; rightmost character = clbit 0
    as_int = {int(k, 2): v for k, v in bits.items()}
    as_hex = {hex(int(k, 2)): v for k, v in bits.items()}
    spaced = {k[0] + " " + k[1:]: v for k, v in bits.items()}
    ref = estimates_from_counts(readout, bits)
    for other in (as_int, as_hex, spaced):
        np.testing.assert_array_equal(estimates_from_counts(readout, other), ref)
    # ZIZ reads qubits 0 and 2 = clbits 0 and 2: "101" even, "010" even, "111" even -> +1
    assert ref[0] == 1.0
    # IZI reads clbit 1 (middle character): (3 - 5 - 2) / 10
    assert ref[1] == pytest.approx(-0.4)


def test_product_state_prep_matches_kron():
    rng = np.random.default_rng(5)
    states = np.stack([random_state(rng, 1) for _ in range(3)] + [np.array([0, 1j])])
    psi = dense_reference(product_state_prep(states), np.zeros(0))
    ref = np.kron(np.kron(np.kron(states[0], states[1]), states[2]), states[3])
    assert abs(abs(np.vdot(ref, psi)) - 1) < TOL


# --- run artifacts: exported plans reproduce f and its gradient -------------------------------------


def evaluate_export(out_dir, fmt):
    """Run every exported setting in Qiskit (exact probabilities) and combine via the readout maps."""
    manifest = load_export(out_dir)
    entries = manifest["value_settings"] + manifest["gradient_settings"]
    probs = []
    for e in entries:
        path = os.path.join(out_dir, e["program"])
        qc = load_program(path, fmt) if fmt == "qiskit" else load_program(open(path).read(), fmt)
        probs.append(clbit_probabilities(qc))
    return manifest, value_and_gradient_from_counts([e["readout_map"] for e in entries], probs)


@pytest.mark.parametrize("fmt", ["qasm3", "qasm2", "qiskit"])
def test_param_shift_export_reproduces_value_and_gradient(fmt, tmp_path):
    rng = np.random.default_rng(21)
    circuit = (
        Circuit.from_generators(["XYI", "IZZ", "-YIX", "ZXI"], [0, 1, 0, 2])
        .gate("CNOT", 0, 2)
        .rotation("XXX", 1, scale=0.5, offset=0.2)
    )
    params = rng.uniform(0, 2 * np.pi, 3)
    observable = [(0.7, "ZZI"), (-0.4, "IXI"), (0.25, "IIZ"), (0.5, "XIX"), (0.3, "III")]
    manifest, (value, grad) = evaluate_export(_export(circuit, params, observable, tmp_path, fmt), fmt)
    f = lambda p: expectation(circuit, p, observable)
    assert abs(value - float(f(jnp.asarray(params)))) < TOL
    np.testing.assert_allclose(grad, np.asarray(jax.grad(f)(jnp.asarray(params))), atol=TOL)
    assert manifest["gradient_method"] == "param_shift"
    n_groups = len(manifest["value_settings"])
    assert len(manifest["gradient_settings"]) == 2 * circuit.num_rotations * n_groups
    assert os.path.exists(os.path.join(tmp_path, manifest["model"]))
    assert os.path.exists(os.path.join(tmp_path, "readout_loader.py"))


@pytest.mark.parametrize("scheme,fmt", [("ancilla", "qasm3"), ("ancilla_free", "qasm2")])
def test_slpa_block_export_reproduces_gradient(scheme, fmt, tmp_path):
    from slpa_jax.blocks.ansatze import paper_slpa

    bc = paper_slpa(n_blocks=3)
    rng = np.random.default_rng(8)
    params = rng.uniform(0, 2 * np.pi, bc.circuit.n_params)
    qubit_states = np.stack([random_state(rng, 1) for _ in range(4)])
    prep = product_state_prep(qubit_states)
    state = jnp.asarray(np.kron(np.kron(np.kron(qubit_states[0], qubit_states[1]), qubit_states[2]), qubit_states[3]))
    # contract order: (circuit, params, observable, block_circuit_or_None, out_dir, fmt)
    export_run_artifacts(bc.circuit, params, None, bc, tmp_path, fmt, state_prep=prep, scheme=scheme)
    manifest, (value, grad) = evaluate_export(tmp_path, fmt)
    f = lambda p: expectation(bc.circuit, p, "XXII", state=state)
    assert abs(value - float(f(jnp.asarray(params)))) < TOL
    np.testing.assert_allclose(grad, np.asarray(jax.grad(f)(jnp.asarray(params))), atol=TOL)
    assert manifest["gradient_method"] == scheme
    n_qubits = {e["readout_map"]["n_qubits"] for e in manifest["gradient_settings"]}
    assert n_qubits == ({5} if scheme == "ancilla" else {4})
    if scheme == "ancilla":
        assert len(manifest["gradient_settings"]) == 3  # one circuit per block (B + 1 with f)


def _export(circuit, params, observable, out_dir, fmt, **kw):
    export_run_artifacts(circuit, params, observable, out_dir, fmt, **kw)
    return out_dir


def test_readout_loader_copy_is_standalone(tmp_path):
    circuit = Circuit.from_labels(["XY", "ZZ"])
    _export(circuit, np.array([0.3, 0.9]), "XX", tmp_path, "qasm3")
    import importlib.util

    spec = importlib.util.spec_from_file_location("copied_loader", tmp_path / "readout_loader.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    manifest = mod.load_export(str(tmp_path))
    entry = manifest["value_settings"][0]
    probs = clbit_probabilities(qiskit.qasm3.loads(open(tmp_path / entry["program"]).read()))
    value, _ = mod.value_and_gradient_from_counts([entry["readout_map"]], [probs], n_params=2)
    assert abs(value - float(expectation(circuit, jnp.array([0.3, 0.9]), "XX"))) < TOL


# --- errors ----------------------------------------------------------------------------------------------


def test_unbound_parameter_errors():
    c = Circuit.from_labels(["XZ", "YY"])
    with pytest.raises(ValueError, match=r"to_qasm2: unbound parameter theta_0 .*params=None"):
        to_qasm2(c, None)
    to_qasm2(Circuit(2).fixed_rotation("XZ", 0.1), None)  # nothing to bind: fine
    with pytest.raises(ValueError, match=r"to_qasm3: params must have shape \(2,\)"):
        to_qasm3(c, np.zeros(3))
    with pytest.raises(ValueError, match=r"to_qiskit: params must be finite, params\[1\] = nan"):
        to_qiskit(c, np.array([0.0, np.nan]))


def test_non_clifford_basis_errors():
    paulis = PauliTable.from_labels(["ZI"])
    bad = Diagonalization(paulis, Circuit(2).fixed_rotation("XI", 0.3), np.array([[True, False]]), np.array([1]))
    with pytest.raises(ValueError, match=r"diag.clifford\): operation 0 R_XI\(0.3\) is not Clifford"):
        export_measurement(Circuit(2), np.zeros(0), bad)
    trainable = Diagonalization(paulis, Circuit(2).rotation("XI", 0), np.array([[True, False]]), np.array([1]))
    with pytest.raises(ValueError, match=r"operation 0 R_XI\(theta_0\) depends on a parameter"):
        export_measurement(Circuit(2), np.zeros(0), trainable)
    quarter = Diagonalization(
        PauliTable.from_labels(["XI"]),
        Circuit(2).fixed_rotation("YI", -np.pi / 2),
        np.array([[True, False]]),
        np.array([1]),
    )
    _, readout = export_measurement(Circuit(2), np.zeros(0), quarter)  # R_Y(-pi/2) is Clifford: accepted
    assert readout["measured_qubits"] == [0]


def test_other_input_errors(tmp_path):
    c = Circuit.from_labels(["XZ"])
    with pytest.raises(ValueError, match=r"to_qasm3: measure must list distinct qubits in \[0, 2\)"):
        to_qasm3(c, np.zeros(1), measure=[1, 1])
    with pytest.raises(TypeError, match="to_qasm3: expected a Circuit, got str"):
        to_qasm3("XZ", None)
    with pytest.raises(ValueError, match="state_prep: must have fixed angles only"):
        export_measurement(c, np.zeros(1), diagonalize_commuting(["ZZ"]), state_prep=Circuit.from_labels(["XI"]))
    with pytest.raises(ValueError, match=r"fmt: expected one of \['qasm2', 'qasm3', 'qiskit'\], got 'qasm4'"):
        export_measurement(c, np.zeros(1), diagonalize_commuting(["ZZ"]), fmt="qasm4")
    with pytest.raises(ValueError, match=r"export_run_artifacts: params must be one parameter vector .*params\[seed\]"):
        export_run_artifacts(c, np.zeros((2, 1)), "ZZ", tmp_path / "a")
    with pytest.raises(ValueError, match="to_qasm2: unbound parameter theta_0"):
        export_run_artifacts(c, None, "ZZ", tmp_path / "b", "qasm2")
    export_run_artifacts(c, np.zeros(1), "ZZ", tmp_path / "c")
    export_run_artifacts(c, np.ones(1), "ZZ", tmp_path / "c")  # an earlier export is replaced
    assert json.load(open(tmp_path / "c" / "manifest.json"))["params"] == [1.0]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="is not empty and holds no earlier export; pass overwrite=True"):
        export_run_artifacts(c, np.zeros(1), "ZZ", tmp_path / "d")
    export_run_artifacts(c, np.zeros(1), "ZZ", tmp_path / "d", overwrite=True)


def test_readout_and_counts_errors():
    readout = export_measurement(Circuit(2), np.zeros(0), diagonalize_commuting(["ZZ"]))[1]
    with pytest.raises(ValueError, match=r"counts: key '1' is not a bitstring of length n_clbits=2"):
        estimates_from_counts(readout, {"1": 3})
    with pytest.raises(ValueError, match="counts: total count is zero"):
        estimates_from_counts(readout, {"01": 0})
    with pytest.raises(ValueError, match="counts: values must be finite and non-negative"):
        estimates_from_counts(readout, {"01": -1})
    with pytest.raises(ValueError, match=r"counts: outcome 7 does not fit in n_clbits=2"):
        estimates_from_counts(readout, {7: 1})
    with pytest.raises(ValueError, match="readout: expected format 'slpa-jax-readout'"):
        estimates_from_counts({**readout, "format": "x"}, {"00": 1})
    bad = {**readout, "paulis": [{**readout["paulis"][0], "sign": 2}]}
    with pytest.raises(ValueError, match=r"readout: paulis\[0\].sign must be \+1 or -1, got 2"):
        estimates_from_counts(bad, {"00": 1})
    with pytest.raises(ValueError, match="value_and_gradient_from_counts: 1 readouts but 0 counts"):
        value_and_gradient_from_counts([readout], [])


def test_angles_are_exact_floats():
    c = Circuit(1).rotation("X", 0, scale=1 / 3)
    p = np.array([math.pi / 7])
    text = to_qasm3(c, p)
    angle = float(text.split("rp_x(")[-1].split(")")[0])
    assert angle == (1 / 3) * (math.pi / 7)
