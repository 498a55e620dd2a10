"""Exported settings start with the data sample's state preparation (product and entangled inputs).

Reference: Qiskit's own ``Statevector`` of the exported circuit against our simulator's state for
the same input; the backend estimator on Aer's noiseless ``SamplerV2`` against the exact value.
"""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL
from reference import random_state

from slpa_jax.core.circuit import Circuit, Rotation
from slpa_jax.core.simulator import expectation, statevector
from slpa_jax.export.backend import backend_estimator
from slpa_jax.export.circuits import to_qiskit
from slpa_jax.export.settings import export_run_artifacts, observable_settings, state_prep_circuit

qi = pytest.importorskip("qiskit.quantum_info")  # the test extra installs qiskit: never skipped in CI

CIRCUIT = Circuit.from_labels(["XXI", "IYZ", "ZIX", "YYY"])
PARAMS = np.array([0.3, -1.2, 0.8, 2.1])
OBS = [(0.7, "ZZI"), (0.4, "XIX")]


def product_input() -> np.ndarray:
    rng = np.random.default_rng(0)
    out = np.ones(1, complex)
    for _ in range(3):
        out = np.kron(out, random_state(rng, 1))
    return out


def entangled_input() -> np.ndarray:
    return random_state(np.random.default_rng(1), 3)


def qiskit_state(circuit: Circuit, params=None) -> np.ndarray:
    return qi.Statevector(to_qiskit(circuit, params)).reverse_qargs().data


def same_up_to_phase(a, b) -> None:
    phase = np.vdot(a, b)
    assert abs(abs(phase) - 1) <= TOL["complex128"]
    np.testing.assert_allclose(a * phase, b, atol=TOL["complex128"], rtol=0)


def test_product_state_becomes_single_qubit_rotations_and_the_setting_state_matches():
    psi = product_input()
    prep = state_prep_circuit(psi, 3)
    assert all(isinstance(op, Rotation) and op.pauli.weight == 1 for op in prep.ops)
    same_up_to_phase(qiskit_state(prep), psi)
    for s in observable_settings(CIRCUIT, OBS, state_prep=prep):
        body = Circuit(3, s.circuit.ops[len(prep.ops) :], CIRCUIT.n_params)  # circuit + diagonalising Clifford
        ours = np.asarray(statevector(body, jnp.asarray(PARAMS), jnp.asarray(psi)))
        same_up_to_phase(qiskit_state(s.circuit, PARAMS), ours)


def test_entangled_state_goes_through_state_preparation_with_a_depth_warning(tmp_path):
    psi = entangled_input()
    with pytest.warns(UserWarning, match="not a product state.*CNOTs at depth"):
        prep = state_prep_circuit(psi, 3)
    same_up_to_phase(qiskit_state(prep), psi)
    ours = np.asarray(statevector(CIRCUIT, jnp.asarray(PARAMS), jnp.asarray(psi)))
    same_up_to_phase(qiskit_state(prep + CIRCUIT, PARAMS), ours)
    with pytest.warns(UserWarning, match="not a product state"):
        manifest = export_run_artifacts(CIRCUIT, PARAMS, OBS, str(tmp_path / "x"), "qasm3", state=psi)
    assert manifest["state_prep"] and manifest["state_prep_ops"] == len(prep.ops)
    text = (tmp_path / "x" / manifest["value_settings"][0]["program"]).read_text()
    assert "cx q[" in text and json.loads((tmp_path / "x" / "manifest.json").read_text())["state_prep"]
    with pytest.raises(ValueError, match="state_prep or state, not both"):
        export_run_artifacts(CIRCUIT, PARAMS, OBS, str(tmp_path / "y"), "qasm3", state=psi, state_prep=prep)


def test_backend_estimator_prepares_entangled_inputs():
    primitives = pytest.importorskip("qiskit_aer.primitives")
    psi = entangled_input()
    shots = 4000
    est = backend_estimator(CIRCUIT, OBS, lambda seed: primitives.SamplerV2(seed=seed), shots)
    with pytest.warns(UserWarning, match="not a product state"):
        f, _, ledger = est(jnp.asarray(PARAMS), jnp.asarray(psi), np.array([0, 3], np.uint32))
    exact = float(expectation(CIRCUIT, jnp.asarray(PARAMS), OBS, jnp.asarray(psi)))
    # two single-Pauli settings (QWC groups {ZZI}, {XIX}): var = sum c^2 (1 - <P>^2) / shots <= sum c^2 / shots
    se = np.sqrt((0.7**2 + 0.4**2) / shots)
    assert abs(float(f) - exact) <= 4 * se
    assert int(ledger.shots) == est.circuits_per_call * shots
