"""Tests for slpa_jax.estimators: correlated setting estimates, shot allocation, ledgers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS
from reference import dense_circuit, dense_observable, pauli_matrix, random_state

from slpa_jax.core.circuit import Circuit
from slpa_jax.measure.diagonalize import diagonalize_commuting
from slpa_jax.measure.expectation import (
    ALLOCATIONS,
    allocate_shots,
    estimate_expectation,
    estimate_state,
    measure_setting,
    measurement_plan,
    plan_expectation,
    setting_variances,
)

N_QUBITS = 3
CIRCUIT = Circuit.from_labels(["XYI", "IZY", "YIX", "ZXZ"]).gate("H", 1).rotation("XXY", 1, scale=-1.5)
PARAMS = np.array([0.3, -1.1, 2.0, 0.7])
OBSERVABLE = [(0.5, "XXI"), (-1.2, "ZZI"), (0.8, "IYY"), (0.3, "III"), (0.4, "ZIZ"), (0.6, "YYI")]


def _dense_state():
    ops = [
        ("R", "XYI", 0.3),
        ("R", "IZY", -1.1),
        ("R", "YIX", 2.0),
        ("R", "ZXZ", 0.7),
        ("G", "H", (1,)),
        ("R", "XXY", -1.5 * -1.1),
    ]
    psi0 = np.zeros(2**N_QUBITS, complex)
    psi0[0] = 1
    return dense_circuit(ops, N_QUBITS) @ psi0


def _expval(psi, mat):
    return float(np.real(np.vdot(psi, mat @ psi)))


def _reference_allocation(total, weights):
    """Largest remainder with one shot per setting first, written out in plain Python."""
    weights = [float(w) for w in weights]
    if sum(weights) == 0:
        weights = [1.0] * len(weights)
    spare = total - len(weights)
    quotas = [spare * w / sum(weights) for w in weights]
    out = [1 + int(np.floor(q)) for q in quotas]
    order = sorted(range(len(weights)), key=lambda g: (-(quotas[g] - np.floor(quotas[g])), g))
    for g in order[: total - sum(out)]:
        out[g] += 1
    return out


def _stats_ok(samples, mean, var, k_mean=4.0, k_var=5.0):
    """Mean within k_mean standard errors; sample variance within k_var standard errors."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[0]
    mu4 = np.mean((samples - samples.mean()) ** 4)
    ok_mean = abs(samples.mean() - mean) <= k_mean * np.sqrt(var / n)
    ok_var = abs(samples.var(ddof=1) - var) <= k_var * np.sqrt(max(mu4 - var**2, 1e-300) / n)
    return ok_mean, ok_var


def test_measure_setting_exact_means_and_shot_covariance():
    labels = ["XXI", "YYI", "ZZI", "ZZZ", "-IIZ"]  # general commuting, not qubit-wise
    diag = diagonalize_commuting(labels)
    psi = random_state(np.random.default_rng(0), N_QUBITS)
    mats = [-pauli_matrix(lab[1:]) if lab.startswith("-") else pauli_matrix(lab) for lab in labels]
    exact = np.array([_expval(psi, m) for m in mats])
    est, led = measure_setting(jnp.asarray(psi), diag, None)
    np.testing.assert_allclose(est, exact, atol=EPS["float64"])
    assert led.to_dict() == {"executions": 0, "shots": 0}

    shots, n_samples = 30, 3000
    run = jax.jit(jax.vmap(lambda k: measure_setting(jnp.asarray(psi), diag, shots, key=k)))
    samples, ledgers = run(jax.random.split(jax.random.key(1), n_samples))
    samples = np.asarray(samples)
    assert np.all(ledgers.executions == 1) and np.all(ledgers.shots == shots)
    cov = np.array([[_expval(psi, a @ b) for b in mats] for a in mats]) - np.outer(exact, exact)
    cov /= shots
    assert np.all(np.abs(samples.mean(0) - exact) <= 4 * np.sqrt(np.diag(cov) / n_samples))
    emp = np.cov(samples, rowvar=False)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n_samples)
    assert np.all(np.abs(emp - cov) <= 5 * se + 1e-12)
    # Estimates from the same shots are correlated, as on hardware (the test above sees it).
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.max(np.abs(corr - np.eye(len(labels)))) > 0.3


@pytest.mark.parametrize("allocation", ALLOCATIONS)
def test_estimate_expectation_mean_and_variance(allocation):
    psi = _dense_state()
    plan = measurement_plan(OBSERVABLE, N_QUBITS, grouping="qwc")
    exact = _expval(psi, dense_observable(OBSERVABLE))
    # Exact per-setting single-shot variances from dense matrices.
    var_g = []
    for diag, coeffs in zip(plan.settings, plan.coeffs):
        a = sum(c * pauli_matrix(p.letters) for c, p in zip(coeffs, diag.paulis))
        var_g.append(_expval(psi, a @ a) - _expval(psi, a) ** 2)
    var_g = np.array(var_g)
    np.testing.assert_allclose(setting_variances(jnp.asarray(psi), plan), var_g, atol=EPS["float64"])
    shots = 60
    if allocation == "per_setting":
        n_g = [shots] * plan.n_settings
    else:
        weights = {
            "uniform": np.ones(plan.n_settings),
            "weighted": [np.abs(c).sum() for c in plan.coeffs],
            "optimal": np.sqrt(var_g),
        }[allocation]
        n_g = _reference_allocation(shots, weights)
    var = float(np.sum(var_g / np.array(n_g)))

    # shots per setting, or a total split by the allocation
    budget = {"shots": shots} if allocation == "per_setting" else {"total_shots": shots, "allocation": allocation}
    n_samples = 3000
    run = jax.jit(jax.vmap(lambda k: estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, key=k, grouping=plan, **budget)))
    est, ledgers = run(jax.random.split(jax.random.key(2), n_samples))
    assert np.all(ledgers.executions == plan.n_settings) and np.all(ledgers.shots == sum(n_g))
    ok_mean, ok_var = _stats_ok(est, exact, var)
    assert ok_mean and ok_var


def test_plan_groups_terms_and_handles_identity():
    plan = measurement_plan(OBSERVABLE + [(0.2, "XXI")], N_QUBITS, grouping="qwc")
    assert plan.constant == pytest.approx(0.3)
    merged = sorted(int(t) for terms in plan.terms for t in terms)
    assert len(merged) == 5 and len(set(merged)) == 5  # identity excluded, repeated XXI merged
    coeff = {p.letters: c for diag, cs in zip(plan.settings, plan.coeffs) for p, c in zip(diag.paulis, cs)}
    assert coeff["XXI"] == pytest.approx(0.7)
    assert measurement_plan(OBSERVABLE, N_QUBITS, grouping="none").n_settings == 5
    assert measurement_plan(OBSERVABLE, N_QUBITS, grouping="gc").n_settings <= plan.n_settings


def test_allocate_shots_largest_remainder():
    rng = np.random.default_rng(3)
    for total, g in [(100, 3), (7, 7), (13, 1)]:
        w = rng.uniform(size=g)
        got = np.asarray(allocate_shots(total, w))
        assert got.sum() == total and np.all(got >= 1)
        assert list(got) == _reference_allocation(total, w)
        quota = 1 + (total - g) * w / w.sum()
        assert np.all(np.abs(got - quota) < 1)
    assert list(np.asarray(allocate_shots(10, [0.0, 0.0, 0.0]))) == [4, 3, 3]
    assert list(np.asarray(allocate_shots(10, [5.0, 0.0]))) == [9, 1]
    traced = jax.jit(allocate_shots)(jnp.asarray(100), jnp.array([1.0, 2.0, 3.0]))
    assert list(np.asarray(traced)) == _reference_allocation(100, [1, 2, 3])


def test_optimal_allocation_beats_uniform_and_weighted():
    psi = _dense_state()
    plan = measurement_plan(OBSERVABLE, N_QUBITS, grouping="qwc")
    var_g = np.asarray(setting_variances(jnp.asarray(psi), plan))
    shots = 1000
    total_var = {}
    for name, w in [
        ("uniform", np.ones(len(var_g))),
        ("weighted", [np.abs(c).sum() for c in plan.coeffs]),
        ("optimal", np.sqrt(var_g)),
    ]:
        total_var[name] = float(np.sum(var_g / np.asarray(allocate_shots(shots, w))))
    assert total_var["optimal"] <= total_var["uniform"] and total_var["optimal"] <= total_var["weighted"]
    # Continuous optimum (sum_g sigma_g)^2 / N is a lower bound, reached up to integer rounding.
    bound = np.sum(np.sqrt(var_g)) ** 2 / shots
    assert bound <= total_var["optimal"] <= 1.01 * bound


def test_exact_mode_same_key_and_constant_observable():
    psi = _dense_state()
    exact = _expval(psi, dense_observable(OBSERVABLE))
    val, led = estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, shots=None)
    assert abs(float(val) - exact) < 1e-10 and int(led.shots) == 0
    np.testing.assert_allclose(
        plan_expectation(jnp.asarray(psi), measurement_plan(OBSERVABLE, 3)), exact, atol=EPS["float64"]
    )
    key = jax.random.key(4)
    a = estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, total_shots=100, key=key, grouping="gc")
    b = estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, total_shots=100, key=key, grouping="gc")
    assert float(a[0]) == float(b[0])
    assert int(a[1].shots) == 100
    const, led = estimate_expectation(CIRCUIT, PARAMS, [(0.25, "III")], shots=10, key=key)
    assert float(const) == 0.25 and int(led.executions) == 0 and int(led.shots) == 0


def test_bad_input_raises():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"shots: expected a positive int, got 0"):
        estimate_expectation(CIRCUIT, PARAMS, "XXI", shots=0, key=key)
    with pytest.raises(ValueError, match=r"shots: expected a positive int, got -5"):
        measure_setting(jnp.ones(8) / np.sqrt(8), diagonalize_commuting(["ZZI"]), -5, key=key)
    with pytest.raises(ValueError, match=r"observable: must be Hermitian"):
        estimate_expectation(CIRCUIT, PARAMS, [(1.0 + 0.5j, "XXI")], shots=10, key=key)
    with pytest.raises(ValueError, match=r"allocation: expected one of"):
        estimate_expectation(CIRCUIT, PARAMS, "XXI", total_shots=10, key=key, allocation="greedy")
    with pytest.raises(ValueError, match=r"grouping: expected one of \['qwc', 'gc', 'none'\]"):
        estimate_expectation(CIRCUIT, PARAMS, "XXI", shots=10, key=key, grouping="cliques")
    with pytest.raises(ValueError, match=r"estimate: key is required"):
        estimate_expectation(CIRCUIT, PARAMS, "XXI", shots=10)
    with pytest.raises(
        ValueError, match=r"total_shots: need at least one shot per setting \(5 settings\), got total_shots=3"
    ):
        estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, total_shots=3, key=key, grouping="none")
    with pytest.raises(ValueError, match=r"give shots \(per setting\) or total_shots .* not both"):
        estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, shots=3, total_shots=30, key=key)
    with pytest.raises(ValueError, match=r"allocation: 'optimal' splits a budget; pass total_shots"):
        estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, shots=3, key=key, allocation="optimal")
    with pytest.raises(ValueError, match=r"allocation: 'per_setting' gives every setting `shots` shots"):
        estimate_expectation(CIRCUIT, PARAMS, OBSERVABLE, total_shots=30, key=key, allocation="per_setting")
    with pytest.raises(ValueError, match=r"grouping: the MeasurementPlan acts on 2 qubits, expected 3"):
        estimate_expectation(CIRCUIT, PARAMS, "XX", shots=3, key=key, grouping=measurement_plan("XX"))
    with pytest.raises(TypeError, match=r"measure_setting: diag must be a Diagonalization"):
        measure_setting(jnp.ones(8), "ZZI", 10, key=key)
    with pytest.raises(ValueError, match=r"state: expected shape \(8,\) for 3 qubits"):
        measure_setting(jnp.ones(4), diagonalize_commuting(["ZZI"]), 10, key=key)
    with pytest.raises(ValueError, match=r"measure_setting: key is required"):
        measure_setting(jnp.ones(8), diagonalize_commuting(["ZZI"]), 10)
    with pytest.raises(TypeError, match=r"plan: expected a MeasurementPlan"):
        estimate_state(jnp.ones(8), "ZZI", 10, key=key)
    with pytest.raises(TypeError, match=r"estimate_expectation: expected a Circuit"):
        estimate_expectation("circuit", PARAMS, "XXI", shots=10, key=key)
    with pytest.raises(ValueError, match=r"weights: expected a non-empty \(G,\) array"):
        allocate_shots(10, [])


def test_an_int_key_and_too_many_shots_give_clear_errors():
    # issue 14: errors in Python, naming the argument, instead of a JAX internals message or an overflow
    c = Circuit.from_labels(["XX"])
    with pytest.raises(TypeError, match=r"estimate: key: expected a jax.random key, got the int 3; pass key=jax"):
        estimate_expectation(c, jnp.array([0.1]), "ZZ", shots=10, key=3)
    with pytest.raises(ValueError, match=r"shots: at most 2\*\*31 - 1 = 2147483647 .*got 2147483648"):
        estimate_expectation(c, jnp.array([0.1]), "ZZ", shots=2**31, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"total_shots: at most 2\*\*31 - 1"):
        estimate_expectation(c, jnp.array([0.1]), "ZZ", total_shots=2**40, key=jax.random.key(0))
