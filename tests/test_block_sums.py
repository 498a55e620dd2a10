"""Block gradients of Pauli-sum observables: exact identity vs adjoint, shot statistics, hand-counted ledger."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL
from reference import random_state
from test_block_gradient import dense_state, measurement_input, signed_matrix

from slpa_jax.blocks.gradient import (
    SCHEMES,
    _final_states,
    _plan,
    _values,
    block_gradient_estimator,
    block_measurements,
)
from slpa_jax.blocks.slpa import build_slpa
from slpa_jax.blocks.symmetry import symmetric_slpa
from slpa_jax.core.circuit import Gate
from slpa_jax.core.simulator import expectation
from slpa_jax.measure.expectation import measurement_plan
from slpa_jax.train.hamiltonians import xxz

#: The paper's stabilizers {XXXX, ZZZZ} and SC logicals, with a sum mixing terms of both commutation
#: classes (g = 0 and g = 1 for most logicals), anticommuting terms, a weight-4 term and a constant.
PAPER_SUM = [(1.0, "XXII"), (0.5, "IIZZ"), (-0.3, "YYYY"), (0.7, "ZIZI"), (0.2, "IIII")]


def paper_sum():
    return build_slpa(["XXXX", "ZZZZ"], "XXII IIYY IZZI XIIX YYII IIZZ".split(), PAPER_SUM)


def xxz_slpa():
    h = xxz(4, delta=0.5)  # 9 terms; symmetry {X^4, Z^4} found from it: blocks of 4
    return symmetric_slpa(h, h, 5)


def hand_case():
    """S = <XXXX, ZZZZ>, logicals XXII, IZZI, IIYY; O = XXII + 0.5 IZZI (the two terms anticommute).

    Settings counted by hand (g_k = 1 when the block's logical anticommutes with term k):
    - block 0 (XXII): IZZI after it anticommutes; g = (0, 1); both terms active, 2 groups (they
      anticommute). Ancilla: 1 circuit (no S: mixed g), 2 settings; ancilla-free: 2 shifted circuits
      x 2 groups = 4 settings.
    - block 1 (IZZI): IIYY after it anticommutes; g = (1, 0): as block 0, 2 and 4 settings.
    - block 2 (IIYY): last block; g = (0, 1): only IZZI has a gradient, measured directly:
      1 setting in either scheme (ancilla: 1 circuit; ancilla-free: the model circuit).
    - f_hat: XXII and IZZI anticommute: 2 settings.
    Ancilla: 5 + 2 = 7 executions (3 circuits simulated); ancilla-free: 9 + 2 = 11 (5 circuits).
    """
    return build_slpa(["XXXX", "ZZZZ"], ["XXII", "IZZI", "IIYY"], [(1.0, "XXII"), (0.5, "IZZI")])


HAND = {"ancilla": (5, 3), "ancilla_free": (9, 5)}  # (gradient settings, circuits simulated)
HAND_F = 2
CASES = {"paper_sum": paper_sum, "xxz_slpa": xxz_slpa}


def random_point(bc, seed):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.uniform(0, 2 * np.pi, bc.n_params)), jnp.asarray(random_state(rng, bc.n_qubits))


def adjoint(bc, params, psi):
    return jax.value_and_grad(lambda p: expectation(bc.circuit, p, bc.observable, psi))(params)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_sum_gradient_equals_adjoint(name, scheme):
    bc = CASES[name]()
    est = jax.jit(block_gradient_estimator(bc, None, scheme))
    for seed in range(2):
        params, psi = random_point(bc, seed)
        f_ref, g_ref = adjoint(bc, params, psi)
        f, g, ledger = est(params, psi, None)
        np.testing.assert_allclose(g, g_ref, atol=TOL["complex128"])
        np.testing.assert_allclose(f, f_ref, atol=TOL["complex128"])
        assert int(ledger.shots) == 0


@pytest.mark.parametrize("scheme", SCHEMES)
def test_both_readouts_and_the_measurement_list_give_the_gradient(scheme):
    """Settings read from group elements or through their Clifford (the two paths of sums) agree with
    the adjoint, and so does a dense simulation of every public ``BlockMeasurement``."""
    bc = paper_sum()
    params, psi = random_point(bc, 3)
    f_ref, g_ref = adjoint(bc, params, psi)
    for mode in ("elements", "basis"):
        plan = _plan(bc, scheme, True, mode)
        assert plan.grad.mode == plan.f.mode == mode

        @jax.jit
        def exact(p, s, plan=plan):
            states, final = _final_states(bc, plan, p, s)
            values, f = _values(plan, states, final, None, None)
            return f, jnp.zeros(bc.n_params).at[plan.ro_param].add(values[plan.ro_meas, plan.ro_obs] * plan.ro_factor)

        f, grad = exact(params, psi)
        np.testing.assert_allclose(grad, g_ref, atol=TOL["complex128"])
        np.testing.assert_allclose(f[0], f_ref, atol=TOL["complex128"])
    dense = np.zeros(bc.n_params)
    for m in block_measurements(bc, scheme):
        out = dense_state(m.circuit, np.asarray(params), measurement_input(m, 4, np.asarray(psi)))
        vals = [np.real(out.conj() @ signed_matrix(p) @ out) for p in m.observables]
        for p, k, f in m.readout:
            dense[p] += f * vals[k]
    np.testing.assert_allclose(dense, g_ref, atol=TOL["complex128"])


#: One key batch for every call of the shared shot estimators (one compilation per scheme).
KEYS = jax.random.split(jax.random.key(7), 400)


@functools.cache
def shot_estimator(scheme, shots):
    """The hand case's estimator, vmapped over keys and jitted once per scheme (shared by tests)."""
    return jax.jit(jax.vmap(block_gradient_estimator(hand_case(), shots, scheme), in_axes=(None, None, 0)))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_hand_counted_settings_and_ledger(scheme):
    bc = hand_case()
    n_grad, n_runs = HAND[scheme]
    ms = block_measurements(bc, scheme)
    assert len(ms) == n_grad and len({id(m.circuit) for m in ms}) == n_runs
    assert [m.block for m in ms] == ([0, 0, 1, 1, 2] if scheme == "ancilla" else [0] * 4 + [1] * 4 + [2])
    if scheme == "ancilla":  # one circuit per block, without S(a): terms of both g share it
        assert all([op.name for op in m.circuit.ops if isinstance(op, Gate)] == ["H"] for m in ms)
    shots = 100
    est = block_gradient_estimator(bc, shots, scheme)
    assert est.circuits_per_call == n_grad + HAND_F
    params, psi = random_point(bc, 0)
    _, _, ledger = shot_estimator(scheme, shots)(params, psi, KEYS)
    assert np.all(np.asarray(ledger.executions) == n_grad + HAND_F)
    assert np.all(np.asarray(ledger.shots) == (n_grad + HAND_F) * shots)
    per_block = block_gradient_estimator(bc, shots, scheme, fhat="per_block")
    assert per_block.circuits_per_call == n_grad + 3 * HAND_F  # a fresh grouped f_hat per block
    assert _plan(bc, scheme, False).n_circuits == n_grad  # block_gradient: the gradient settings alone


def exact_moments(bc, scheme, params, psi, shots):
    """Exact means and variances of f_hat and grad_hat from dense per-setting covariances."""
    g_mean, g_var = np.zeros(bc.n_params), np.zeros(bc.n_params)
    for m in block_measurements(bc, scheme):
        out = dense_state(m.circuit, params, measurement_input(m, bc.n_qubits, psi))
        mats = [signed_matrix(p) for p in m.observables]
        ev = np.array([np.real(out.conj() @ a @ out) for a in mats])
        second = np.array([[np.real(out.conj() @ a @ b @ out) for b in mats] for a in mats])
        r = np.zeros((len(mats), bc.n_params))
        for p, k, f in m.readout:
            r[k, p] += f
        g_mean += ev @ r
        g_var += np.diag(r.T @ (second - np.outer(ev, ev)) @ r) / shots
    out = dense_state(bc.circuit, params, psi)
    plan = measurement_plan(bc.observable, bc.n_qubits, grouping="gc")
    f_mean, f_var = plan.constant, 0.0
    for diag, coeffs in zip(plan.settings, plan.coeffs):
        a = sum(c * signed_matrix(p) for c, p in zip(coeffs, diag.paulis))
        mean = np.real(out.conj() @ a @ out)
        f_mean += mean
        f_var += (np.real(out.conj() @ a @ a @ out) - mean**2) / shots
    return f_mean, f_var, g_mean, g_var


@pytest.mark.parametrize("scheme", SCHEMES)
def test_shot_estimates_unbiased_within_4_standard_errors(scheme):
    bc = hand_case()
    shots, n_keys = 100, len(KEYS)
    params, psi = random_point(bc, 5)
    f_hat, g_hat, _ = shot_estimator(scheme, shots)(params, psi, KEYS)
    f_mean, f_var, g_mean, g_var = exact_moments(bc, scheme, np.asarray(params), np.asarray(psi), shots)
    _, g_ref = adjoint(bc, params, psi)
    np.testing.assert_allclose(g_mean, g_ref, atol=TOL["complex128"])  # the dense plan is the gradient
    assert abs(float(np.mean(f_hat)) - f_mean) < 4 * np.sqrt(f_var / n_keys)
    assert np.all(np.abs(np.mean(g_hat, 0) - g_mean) < 4 * np.sqrt(g_var / n_keys))
    assert abs(np.var(f_hat, ddof=1) / f_var - 1) < 5 * np.sqrt(2 / n_keys)
    measured = g_var > 1e-6
    assert np.all(np.abs(np.var(g_hat, 0, ddof=1)[measured] / g_var[measured] - 1) < 5 * np.sqrt(2 / n_keys))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nan_parameters_give_nan_estimates(scheme):
    """As the adjoint gradient: NaN in, NaN out (the sampler would otherwise return finite counts)."""
    bc = hand_case()
    params, psi = random_point(bc, 0)
    bad = params.at[0].set(jnp.nan)
    f_hat, g_hat, ledger = shot_estimator(scheme, 100)(bad, psi, KEYS)
    assert np.all(np.isnan(np.asarray(f_hat))) and np.all(np.isnan(np.asarray(g_hat)))
    assert np.all(np.asarray(ledger.shots) == (HAND[scheme][0] + HAND_F) * 100)  # the shots were still spent
