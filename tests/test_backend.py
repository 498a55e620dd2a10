"""The backend estimator: exported settings executed on Qiskit samplers (Aer's SamplerV2, a generic fake backend).

References: exact values and gradients of the noiseless simulator (``expectation``, ``jax.grad``),
our own shot estimator (independent shots), and Qiskit's own transpiler and samplers. Statistical
checks use 4 standard errors from variance bounds (a +-1 parity has variance <= 1), fixed seeds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL

from slpa_jax.blocks.ansatze import paper_slpa
from slpa_jax.blocks.gradient import block_measurements
from slpa_jax.core.circuit import Circuit
from slpa_jax.core.simulator import expectation
from slpa_jax.export.backend import backend_estimator, product_state_angles
from slpa_jax.measure.param_shift import param_shift_estimator
from slpa_jax.noise import NoiseModel, noisy_estimate_expectation, noisy_param_shift_grad

K_SIGMA = 4.0
AER_MISSING = "qiskit-aer is not installed (pip install 'slpa-jax[noise]'); CI installs it with the test extra"


@pytest.fixture(scope="module")
def aer_sampler():
    primitives = pytest.importorskip("qiskit_aer.primitives", reason=AER_MISSING)
    return primitives.SamplerV2


def _product_state(rng, n):
    qubits = []
    for _ in range(n):
        t, phi = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        qubits.append(np.array([np.cos(t / 2), np.exp(1j * phi) * np.sin(t / 2)]))
    out = qubits[0]
    for q in qubits[1:]:
        out = np.kron(out, q)
    return out


CIRCUIT = Circuit.from_labels(["XY", "ZZ", "YI", "XX"])
OBS = [(1.0, "XX"), (0.5, "ZI")]  # two settings (not qubit-wise commuting)
PARAMS = jnp.array([0.3, 0.7, -1.1, 2.0])


def test_backend_estimator_on_noiseless_aer_is_statistically_our_shot_estimator(aer_sampler):
    shots = 4000
    state = jnp.asarray(_product_state(np.random.default_rng(0), 2))
    est = backend_estimator(CIRCUIT, OBS, lambda seed: aer_sampler(seed=seed), shots)
    assert est.kind == "param_shift" and est.circuits_per_call == (2 * 4 + 1) * 2
    key = jax.random.key(1)
    f_b, g_b, led = jax.jit(est.fn)(PARAMS, state, key)
    assert (int(led.executions), int(led.shots)) == (18, 18 * shots)
    # same key, same counts (the sampler factory is seeded from the key)
    f_again, g_again, _ = est(PARAMS, state, key)
    assert float(f_again) == float(f_b) and np.array_equal(np.asarray(g_again), np.asarray(g_b))
    f_o, g_o, led_o = jax.jit(param_shift_estimator(CIRCUIT, OBS, shots).fn)(PARAMS, state, jax.random.key(2))
    assert int(led_o.shots) == int(led.shots)
    f_x = float(expectation(CIRCUIT, PARAMS, OBS, state))
    g_x = np.asarray(jax.grad(lambda p: expectation(CIRCUIT, p, OBS, state))(PARAMS))
    # Var(f_hat) <= sum c_k**2 / N; each gradient entry is (f+ - f-)/2 of two such estimates
    se_f = np.sqrt(sum(c**2 for c, _ in OBS) / shots)
    se_g = se_f / np.sqrt(2)
    for f_hat in (f_b, f_o):
        assert abs(float(f_hat) - f_x) < K_SIGMA * se_f
    for g_hat in (g_b, g_o):
        assert np.all(np.abs(np.asarray(g_hat) - g_x) < K_SIGMA * se_g)
    assert abs(float(f_b) - float(f_o)) < K_SIGMA * np.sqrt(2) * se_f
    assert np.all(np.abs(np.asarray(g_b) - np.asarray(g_o)) < K_SIGMA * np.sqrt(2) * se_g)


def test_backend_estimator_runs_slpa_ancilla_settings(aer_sampler):
    bc = paper_slpa(n_blocks=3)  # blocks XXII, IIYY, IZZI of the paper's logicals; O = XXII
    params = jnp.asarray(np.random.default_rng(3).uniform(0, 2 * np.pi, bc.n_params))
    state = jnp.asarray(_product_state(np.random.default_rng(4), 4))
    shots = 3000
    est = backend_estimator(bc.circuit, bc.observable, lambda s: aer_sampler(seed=s), shots, block_circuit=bc)
    n_circuits = 1 + len(block_measurements(bc, "ancilla"))  # blocks with identically zero gradient run nothing
    assert est.kind == "ancilla" and est.circuits_per_call == n_circuits >= 2
    f_hat, g_hat, led = est(params, state, jax.random.key(0))
    assert int(led.shots) == n_circuits * shots
    f_x = float(expectation(bc.circuit, params, bc.observable, state))
    g_x = np.asarray(jax.grad(lambda p: expectation(bc.circuit, p, bc.observable, state))(params))
    se = 1 / np.sqrt(shots)  # every entry is one +-1 parity mean (|coefficient| 1)
    assert abs(float(f_hat) - f_x) < K_SIGMA * se
    assert np.all(np.abs(np.asarray(g_hat) - g_x) < K_SIGMA * se)


def test_readout_error_on_aer_matches_the_noisy_density_estimator(aer_sampler):
    from slpa_jax.export.aer import to_aer_noise_model

    noise = NoiseModel(readout_01=(0.05, 0.15), readout_10=(0.2, 0.1))
    aer_noise = to_aer_noise_model(noise, 2)
    shots = 4000
    est = backend_estimator(
        CIRCUIT,
        OBS,
        lambda s: aer_sampler(seed=s, options={"backend_options": {"noise_model": aer_noise}}),
        shots,
    )
    f_hat, g_hat, _ = est(PARAMS, None, jax.random.key(5))
    f_x, _ = noisy_estimate_expectation(CIRCUIT, PARAMS, OBS, noise)
    g_x, _ = noisy_param_shift_grad(CIRCUIT, PARAMS, OBS, noise)
    f_clean = float(expectation(CIRCUIT, PARAMS, OBS))
    assert abs(float(f_x) - f_clean) > 0.05  # the readout error is visible
    se_f = np.sqrt(sum(c**2 for c, _ in OBS) / shots)
    assert abs(float(f_hat) - float(f_x)) < K_SIGMA * se_f
    assert np.all(np.abs(np.asarray(g_hat) - np.asarray(g_x)) < K_SIGMA * se_f / np.sqrt(2))


def test_transpiled_once_for_a_generic_backend_and_too_small_backends_are_rejected(aer_sampler):
    from qiskit.providers.fake_provider import GenericBackendV2

    bc = paper_slpa(n_blocks=3)
    small = GenericBackendV2(num_qubits=4, seed=0)
    msg = r"has 4 qubits, but setting 'ancilla_0000' needs 5 \(the 4-qubit circuit plus the ancilla\)"
    with pytest.raises(ValueError, match=msg):
        backend_estimator(bc.circuit, bc.observable, aer_sampler(), 100, block_circuit=bc, backend=small)
    # the same settings transpiled to a 5-qubit line-coupled device (basis rz, sx, x, cx), run noiselessly
    line = GenericBackendV2(num_qubits=5, coupling_map=[[i, i + 1] for i in range(4)], seed=0)
    shots = 3000
    est = backend_estimator(
        bc.circuit, bc.observable, lambda s: aer_sampler(seed=s), shots, block_circuit=bc, backend=line
    )
    params = jnp.asarray(np.random.default_rng(6).uniform(0, 2 * np.pi, bc.n_params))
    f_hat, g_hat, _ = est(params, None, jax.random.key(2))
    g_x = np.asarray(jax.grad(lambda p: expectation(bc.circuit, p, bc.observable))(params))
    assert abs(float(f_hat) - float(expectation(bc.circuit, params, bc.observable))) < K_SIGMA / np.sqrt(shots)
    assert np.all(np.abs(np.asarray(g_hat) - g_x) < K_SIGMA / np.sqrt(shots))


def test_product_state_angles_reproduce_the_state_and_reject_entangled_ones():
    psi = _product_state(np.random.default_rng(7), 3)
    angles = product_state_angles(psi, 3)
    out = np.ones(1, complex)
    for t, phi in angles:  # R_Z(phi) R_Y(t) |0>, dense
        ry = np.array([np.cos(t / 2), np.sin(t / 2)])
        out = np.kron(out, np.array([np.exp(-0.5j * phi), np.exp(0.5j * phi)]) * ry)
    assert abs(abs(np.vdot(out, psi)) - 1) < TOL["float64"]
    np.testing.assert_array_equal(product_state_angles(None, 2), np.zeros((2, 2)))
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    with pytest.raises(ValueError, match="not a product state .qubit 0 is entangled"):
        product_state_angles(bell, 2)
    with pytest.raises(ValueError, match=r"state: expected shape \(4,\) for 2 qubits, got \(8,\)"):
        product_state_angles(psi, 2)


def test_bad_sampler_is_a_clear_error():
    pytest.importorskip("qiskit")
    with pytest.raises(TypeError, match="sampler must be a qiskit BaseSamplerV2 or a callable seed -> BaseSamplerV2"):
        backend_estimator(CIRCUIT, OBS, "aer", 100)
    with pytest.raises(ValueError, match="shots: expected a positive int, got 0"):
        backend_estimator(CIRCUIT, OBS, lambda s: None, 0)
