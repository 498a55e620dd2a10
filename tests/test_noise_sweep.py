"""The Heisenberg sweep of the noisy parameter shift, total_shots allocations and per-block f_hat under noise.

References: the forward density path (each shifted circuit simulated on its own; tested against dense
Kraus maps and Qiskit Aer in test_noise.py), dense Kraus finite differences (test_noise.py), the
noiseless estimators for p = 0, and closed forms. Statistical checks: 4 standard errors, fixed keys.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS, TOL
from reference import random_state

from slpa_jax.blocks.gradient import block_gradient_estimator, block_measurements
from slpa_jax.blocks.noisy_gradient import noisy_block_gradient, noisy_block_gradient_estimator
from slpa_jax.blocks.slpa import detect_blocks
from slpa_jax.core.circuit import Circuit
from slpa_jax.core.simulator import expectation
from slpa_jax.measure.expectation import estimate_expectation
from slpa_jax.measure.param_shift import param_shift_estimator
from slpa_jax.noise import (
    NoiseModel,
    noisy_estimate_expectation,
    noisy_param_shift_estimator,
    noisy_param_shift_grad,
    noisy_value_plan,
    sweep_applies,
)

K_SIGMA = 4.0


def small_circuit() -> tuple[Circuit, np.ndarray]:
    """3 qubits: rotations of weight 1-3, a signed, a scaled, a shared and a fixed one, Clifford gates."""
    c = (
        Circuit(3)
        .rotation("XYI", 0)
        .gate("H", 1)
        .rotation("-ZIZ", 1, scale=0.7)
        .fixed_rotation("IYY", 0.3)
        .gate("CNOT", 0, 2)
        .rotation("XZY", 0, scale=-1.3, offset=0.2)
        .rotation("IIX", 2)
    )
    return c, np.array([0.4, -1.1, 2.0])


CIRC, PARAMS = small_circuit()
PSI = random_state(np.random.default_rng(5), 3)
#: every channel kind at once, asymmetric per-qubit readout
EVERY = NoiseModel(p1=0.05, p2=0.08, p_z=0.03, p_x=0.02, gamma=0.07, readout_01=(0.01, 0.05, 0.02), readout_10=0.07)
SUM = [(0.5, "XXI"), (-0.3, "IZY"), (0.2, "ZIZ")]


def test_sweep_equals_the_forward_path():
    """Every channel kind (damping and asymmetric readout included), three one-Pauli settings: exact
    gradients to 1e-10 (complex128), the same shot estimates and ledgers for the same key, and complex64."""
    p, psi = jnp.asarray(PARAMS), jnp.asarray(PSI)
    plan = noisy_value_plan(SUM, 3, "none")  # three one-Pauli settings: three backward observables
    assert sweep_applies(plan, "density") is None
    exact, _ = noisy_param_shift_grad(CIRC, p, SUM, EVERY, state=psi, grouping="none", sweep=True)
    b, _ = noisy_param_shift_grad(CIRC, p, SUM, EVERY, state=psi, grouping="none", sweep=False)
    np.testing.assert_allclose(np.asarray(exact), np.asarray(b), atol=TOL["complex128"], rtol=0)
    assert np.abs(np.asarray(exact)).max() > 5e-3
    key = jax.random.key(3)
    a, la = noisy_param_shift_grad(CIRC, p, SUM, EVERY, state=psi, grouping="none", sweep=True, shots=300, key=key)
    b, lb = noisy_param_shift_grad(CIRC, p, SUM, EVERY, state=psi, grouping="none", sweep=False, shots=300, key=key)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=EPS["float64"], rtol=0)
    n_rot = 4  # trainable rotations: 2 R circuits x 3 settings
    assert (
        (int(la.executions), int(la.shots)) == (int(lb.executions), int(lb.shots)) == (2 * n_rot * 3, 2 * n_rot * 900)
    )
    c64, _ = noisy_param_shift_grad(
        CIRC, p.astype(jnp.float32), SUM, EVERY, state=psi.astype(jnp.complex64), grouping="none"
    )
    assert c64.dtype == jnp.float32  # the default (sweep=None) takes the sweep here, as asserted above
    np.testing.assert_allclose(np.asarray(c64), np.asarray(exact), atol=10 * TOL["complex64"], rtol=0)


def test_sweep_errors_name_why():
    p = jnp.asarray(PARAMS)
    with pytest.raises(ValueError, match="sweep=True does not apply: setting 0 .* measures 2 commuting Paulis"):
        noisy_param_shift_grad(CIRC, p, [(1.0, "XXI"), (1.0, "IIX")], EVERY, sweep=True)
    with pytest.raises(ValueError, match="sweep=True does not apply: method='trajectories'"):
        noisy_param_shift_grad(CIRC, p, "ZIZ", EVERY, sweep=True, method="trajectories", key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size bounds the forward path's memory"):
        noisy_param_shift_grad(CIRC, p, "ZIZ", EVERY, sweep=True, batch_size=2)
    with pytest.raises(TypeError, match="sweep: expected True, False or None, got str"):
        noisy_param_shift_grad(CIRC, p, "ZIZ", EVERY, sweep="yes")


# --- total_shots allocations ----------------------------------------------------------------------


def test_total_shots_at_p0_equals_the_noiseless_estimators_for_the_same_key():
    p, psi = jnp.asarray(PARAMS), jnp.asarray(PSI)
    key = jax.random.key(9)
    obs = [(0.9, "XXI"), (0.4, "IIZ"), (-0.3, "ZZZ")]  # two QWC settings: {XXI}, {IIZ, ZZZ}
    got, led = noisy_estimate_expectation(
        CIRC, p, obs, NoiseModel(), total_shots=501, allocation="weighted", key=key, state=psi
    )
    want, led0 = estimate_expectation(CIRC, p, obs, total_shots=501, allocation="weighted", key=key, state=psi)
    assert abs(float(got) - float(want)) < EPS["float64"]
    assert (int(led.executions), int(led.shots)) == (int(led0.executions), int(led0.shots)) == (2, 501)
    # the estimator record on the sweep path: three one-Pauli settings share each circuit's budget
    e1 = noisy_param_shift_estimator(
        CIRC, obs, NoiseModel(), None, total_shots=301, allocation="optimal", grouping="none"
    )
    e2 = param_shift_estimator(CIRC, obs, None, total_shots=301, allocation="optimal", grouping="none")
    f1, g1, l1 = jax.jit(e1.fn)(p, psi, key)
    f2, g2, l2 = jax.jit(e2.fn)(p, psi, key)
    assert abs(float(f1) - float(f2)) < EPS["float64"]
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), atol=EPS["float64"], rtol=0)
    assert (int(l1.executions), int(l1.shots)) == (int(l2.executions), int(l2.shots)) == (3 * 9, 301 * 9)
    assert e1.shots is None and e1.circuits_per_call == e2.circuits_per_call == 3 * 9


def test_optimal_allocation_under_noise_is_unbiased():
    """Budget split by the noisy read law's variances: the mean over keys is the exact noisy value."""
    p = jnp.asarray(PARAMS)
    obs = [(0.9, "XXI"), (0.4, "IIZ"), (-0.3, "ZZZ")]
    exact, _ = noisy_estimate_expectation(CIRC, p, obs, EVERY)
    run = jax.jit(
        jax.vmap(
            lambda k: noisy_estimate_expectation(CIRC, p, obs, EVERY, total_shots=200, allocation="optimal", key=k)
        )
    )
    est, led = run(jax.random.split(jax.random.key(2), 200))
    est = np.asarray(est)
    assert np.all(np.asarray(led.shots) == 200)
    assert abs(est.mean() - float(exact)) <= K_SIGMA * est.std(ddof=1) / np.sqrt(est.size)


# --- fhat per_block under noise -------------------------------------------------------------------


def per_block_bc():
    """Each parameter in one block (six blocks), a two-term observable (two f settings)."""
    c = Circuit.from_labels(["XXI", "ZIZ", "IYY", "XIX", "YYI", "IZX"])
    return detect_blocks(c, [(0.8, "ZIZ"), (0.3, "XXI")])


BC = per_block_bc()
THETA = np.array([0.3, -0.8, 1.2, 0.5, -0.4, 0.9])


def test_per_block_fhat_at_p0_equals_the_noiseless_values():
    """Exact mode: every block's f_hat is f, the gradient the adjoint gradient (noiseless references)."""
    p, psi = jnp.asarray(THETA), jnp.asarray(PSI)
    f, g, led = noisy_block_gradient_estimator(BC, NoiseModel(), None, "ancilla", fhat="per_block")(p, psi, None)
    f0 = expectation(BC.circuit, p, BC.observable, psi)
    g0 = jax.grad(expectation, argnums=1)(BC.circuit, p, BC.observable, psi)
    assert f.shape == (BC.n_params,)
    np.testing.assert_allclose(np.asarray(f), np.full(BC.n_params, float(f0)), atol=TOL["float64"], rtol=0)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g0), atol=TOL["float64"], rtol=0)
    assert int(led.shots) == 0


def test_per_block_fhat_with_shots_ledger_and_law():
    """Ledger M + B F (as without noise); each block's f_hat an independent unbiased noisy estimate."""
    p, psi, shots, reps = jnp.asarray(THETA), jnp.asarray(PSI), 100, 200
    est = noisy_block_gradient_estimator(BC, EVERY.replace(readout_01=0.02), shots, "ancilla", fhat="per_block")
    m, b = len(block_measurements(BC, "ancilla")), len(BC.blocks)
    f_set = noisy_value_plan(BC.observable, 3).n_settings
    assert f_set == 2 and est.circuits_per_call == m + b * f_set
    assert est.circuits_per_call == block_gradient_estimator(BC, shots, "ancilla", fhat="per_block").circuits_per_call
    f, g, led = jax.jit(jax.vmap(est.fn, in_axes=(None, None, 0)))(p, psi, jax.random.split(jax.random.key(4), reps))
    assert np.all(np.asarray(led.executions) == m + b * f_set)
    assert np.all(np.asarray(led.shots) == (m + b * f_set) * shots)
    f = np.asarray(f)  # (reps, n_params): parameter j carries its block's estimate; block j = parameter j here
    exact, _ = noisy_estimate_expectation(BC.circuit, p, BC.observable, EVERY.replace(readout_01=0.02), state=psi)
    se = f.std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(f.mean(0) - float(exact)) <= K_SIGMA * se)
    corr = np.corrcoef(f[:, 0], f[:, 1])[0, 1]  # independent draws per block
    assert abs(corr) <= K_SIGMA / np.sqrt(reps)
    gx, _ = noisy_block_gradient(BC, p, EVERY.replace(readout_01=0.02), scheme="ancilla", state=psi)
    gse = np.asarray(g).std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(np.asarray(g).mean(0) - np.asarray(gx)) <= K_SIGMA * gse + 1e-12)


def test_per_block_errors():
    c = Circuit(2).rotation("XX", 0).rotation("ZI", 1).rotation("YY", 0)
    bc = detect_blocks(c, "ZZ")
    assert len(bc.blocks) == 3  # neighbours anticommute: parameter 0 is in blocks 0 and 2
    with pytest.raises(ValueError, match="fhat='per_block' needs each parameter in one block; parameter 0"):
        noisy_block_gradient_estimator(bc, NoiseModel(), 10, "ancilla", fhat="per_block")
    with pytest.raises(ValueError, match="fhat must be one of .'shared', 'per_block'., got 'each'"):
        noisy_block_gradient_estimator(BC, EVERY, 10, "ancilla", fhat="each")


def test_circuit_counts_match_the_noiseless_estimators_for_a_sum():
    """f_hat of a sum is measured in the noiseless estimator's general-commuting settings (one here)."""
    bc = detect_blocks(Circuit.from_labels(["XXI", "ZIZ", "IYY", "XIX"]), [(0.5, "XXI"), (0.3, "YYI"), (0.2, "ZZI")])
    for fhat in ("shared", "per_block"):
        for scheme in ("ancilla", "ancilla_free"):
            noisy = noisy_block_gradient_estimator(bc, NoiseModel(p2=0.01), 10, scheme, fhat=fhat).circuits_per_call
            assert noisy == block_gradient_estimator(bc, 10, scheme, fhat=fhat).circuits_per_call


def test_noisy_model_with_fhat_per_block_builds_the_noisy_per_block_estimator():
    """``models.noisy_model(..., fhat="per_block")`` (what ``runs.build_model`` passes for a config model)."""
    from slpa_jax.train.config import NoiseConfig
    from slpa_jax.train.models import make_model, noisy_model

    base = make_model("slpa", 4, 12, "ancilla", 16, fhat="per_block")
    noisy = noisy_model(base, NoiseConfig(p2=0.01, readout=0.02), None, "per_block").estimator
    assert noisy.kind == base.estimator.kind == "ancilla"
    assert noisy.circuits_per_call == base.estimator.circuits_per_call == 2 * 3  # B = 3 settings + B f_hat
    shared = noisy_model(base, NoiseConfig(p2=0.01, readout=0.02), None).estimator
    assert shared.circuits_per_call == 3 + 1
