"""Tests for slpa_jax.param_shift: exact parameter shift vs adjoint and finite differences, shot
statistics of the shifted-circuit estimates, ledgers and the training estimator."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS, TOL
from reference import dense_circuit, dense_observable, pauli_matrix, random_state

from slpa_jax.core.circuit import Circuit
from slpa_jax.core.simulator import expectation
from slpa_jax.measure.expectation import estimate_expectation, measurement_plan
from slpa_jax.measure.param_shift import param_shift_estimator, param_shift_grad, shift_table

#: finite-difference gradients (central, step ~1e-5): a method tolerance, not a dtype one
FD_TOL = 1e-8

N = 3
# Shared parameters (0 and 1), a negated label, a scaled + offset rotation, fixed rotations, Cliffords.
CIRCUIT = (
    Circuit.from_generators(["XYZ", "ZZI", "-IYX", "XXX", "ZIY"], [0, 1, 0, 2, None], n_params=4)
    .fixed_rotation("YYI", 0.4)
    .gate("H", 1)
    .rotation("YIZ", 1, scale=-2.0, offset=0.3)
    .gate("CNOT", 0, 2)
    .rotation("-IXZ", 3, scale=0.5)
)
OBSERVABLE = [(0.5, "XXI"), (-1.2, "ZZI"), (0.8, "IYY"), (0.3, "III"), (0.6, "YYI")]
PARAMS = np.array([0.7, -1.3, 2.1, 0.4])
STATE = random_state(np.random.default_rng(0), N)
#: (label, param, scale, offset) of each rotation in circuit order, and the gates after rotation r.
ROTATIONS = [
    ("XYZ", 0, 1.0, 0.0),
    ("ZZI", 1, 1.0, 0.0),
    ("IYX", 0, -1.0, 0.0),
    ("XXX", 2, 1.0, 0.0),
    ("ZIY", None, 0.0, 0.0),
    ("YYI", None, 0.0, 0.4),
    ("YIZ", 1, -2.0, 0.3),
    ("IXZ", 3, -0.5, 0.0),
]
GATES_AFTER = {5: [("H", (1,))], 6: [("CNOT", (0, 2))]}
TRAINABLE = [r for r, rot in enumerate(ROTATIONS) if rot[1] is not None]


def _dense_state(params, shift=None):
    """Dense final state; ``shift=(r, delta)`` adds delta to rotation r's angle."""
    ops = []
    for r, (lab, p, scale, offset) in enumerate(ROTATIONS):
        angle = offset + (scale * params[p] if p is not None else 0.0)
        if shift is not None and shift[0] == r:
            angle += shift[1]
        ops.append(("R", lab, angle))
        ops += [("G", name, qubits) for name, qubits in GATES_AFTER.get(r, [])]
    return dense_circuit(ops, N) @ STATE


def _f(params, obs=OBSERVABLE):
    psi = _dense_state(params)
    return float(np.real(np.vdot(psi, dense_observable(obs) @ psi)))


def test_exact_gradient_matches_adjoint_and_finite_differences():
    grad, led = param_shift_grad(CIRCUIT, PARAMS, OBSERVABLE, state=STATE)
    assert grad.dtype == jnp.float64 and int(led.executions) == 0 and int(led.shots) == 0
    adjoint = jax.grad(lambda p: expectation(CIRCUIT, p, OBSERVABLE, STATE))(jnp.asarray(PARAMS))
    np.testing.assert_allclose(grad, adjoint, atol=TOL["float64"], rtol=0)
    h = 1e-5
    fd = np.array([(_f(PARAMS + h * e) - _f(PARAMS - h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(grad, fd, atol=FD_TOL, rtol=0)
    batched, _ = param_shift_grad(CIRCUIT, PARAMS, OBSERVABLE, state=STATE, batch_size=5)
    np.testing.assert_allclose(batched, grad, atol=EPS["float64"], rtol=0)
    rot, par, scale = shift_table(CIRCUIT)
    assert list(rot) == TRAINABLE and list(par) == [0, 1, 0, 2, 1, 3]
    np.testing.assert_allclose(scale, [1, 1, -1, 1, -2, -0.5])


def test_traced_program_does_not_grow_with_rotations():
    def size(n_layers):
        circ = Circuit.from_labels(["XYZ", "ZZI", "IYX", "XIY"] * n_layers)
        jaxpr = jax.make_jaxpr(lambda p: param_shift_grad(circ, p, "ZZI")[0])(jnp.zeros(circ.n_params))
        return len(jaxpr.eqns)

    assert size(1) == size(5)


def _shifted_means(obs_mats):
    """Exact <A> at every +pi/2 and -pi/2 shifted circuit, for each matrix A; (2, R, len(obs_mats))."""
    out = np.zeros((2, len(TRAINABLE), len(obs_mats)))
    for s, delta in enumerate([0.5 * np.pi, -0.5 * np.pi]):
        for i, r in enumerate(TRAINABLE):
            psi = _dense_state(PARAMS, (r, delta))
            out[s, i] = [np.real(np.vdot(psi, a @ psi)) for a in obs_mats]
    return out


def _grad_variance(var_plus, var_minus):
    """Var(grad_p) = sum_{r in p} scale_r^2 / 4 (Var_+r + Var_-r) (independent circuits)."""
    out = np.zeros(4)
    for i, r in enumerate(TRAINABLE):
        _, p, scale, _ = ROTATIONS[r]
        out[p] += scale**2 / 4 * (var_plus[i] + var_minus[i])
    return out


def _check_stats(samples, mean, var):
    samples = np.asarray(samples)
    k = samples.shape[0]
    assert np.all(np.abs(samples.mean(0) - mean) <= 4 * np.sqrt(var / k))
    mu4 = np.mean((samples - samples.mean(0)) ** 4, axis=0)
    assert np.all(np.abs(samples.var(0, ddof=1) - var) <= 5 * np.sqrt((mu4 - var**2) / k))


def test_shot_gradient_single_pauli_mean_variance_and_ledger():
    shots, n_samples = 50, 2000
    run = jax.jit(jax.vmap(lambda k: param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=shots, key=k, state=STATE)))
    grads, ledgers = run(jax.random.split(jax.random.key(1), n_samples))
    n_rot = len(TRAINABLE)
    assert np.all(ledgers.executions == 2 * n_rot) and np.all(ledgers.shots == 2 * n_rot * shots)
    means = _shifted_means([pauli_matrix("XXI")])[..., 0]
    var = _grad_variance((1 - means[0] ** 2) / shots, (1 - means[1] ** 2) / shots)
    exact = jax.grad(lambda p: expectation(CIRCUIT, p, "XXI", STATE))(jnp.asarray(PARAMS))
    _check_stats(grads, np.asarray(exact), var)


def test_estimator_grouped_observable_statistics_and_independence():
    shots, n_samples = 40, 1500
    plan = measurement_plan(OBSERVABLE, N, grouping="gc")
    n_set = plan.n_settings
    assert n_set >= 2
    estimator = param_shift_estimator(CIRCUIT, OBSERVABLE, shots, grouping="gc")
    run = jax.jit(jax.vmap(estimator, in_axes=(None, None, 0)))
    f_hat, grads, ledgers = run(jnp.asarray(PARAMS), jnp.asarray(STATE), jax.random.split(jax.random.key(2), n_samples))
    n_rot = len(TRAINABLE)
    assert np.all(ledgers.executions == (2 * n_rot + 1) * n_set)
    assert np.all(ledgers.shots == (2 * n_rot + 1) * n_set * shots)
    # Exact per-circuit variance: sum over settings of Var_g / shots, each Var_g from dense matrices.
    groups = [
        sum(c * pauli_matrix(p.letters) for c, p in zip(cs, d.paulis)) for d, cs in zip(plan.settings, plan.coeffs)
    ]
    first = _shifted_means(groups)
    second = _shifted_means([a @ a for a in groups])
    var_circuit = np.sum(second - first**2, axis=-1) / shots
    var = _grad_variance(var_circuit[0], var_circuit[1])
    exact_f, exact_g = jax.value_and_grad(lambda p: expectation(CIRCUIT, p, OBSERVABLE, STATE))(jnp.asarray(PARAMS))
    _check_stats(grads, np.asarray(exact_g), var)
    psi = _dense_state(PARAMS)
    var_f = sum(np.real(np.vdot(psi, a @ a @ psi)) - np.real(np.vdot(psi, a @ psi)) ** 2 for a in groups) / shots
    _check_stats(f_hat[:, None], np.array([float(exact_f)]), np.array([var_f]))
    # f_hat comes from an independent circuit, so E[f_hat * grad] = f * grad (unbiased MSE gradient).
    prod = np.asarray(f_hat)[:, None] * np.asarray(grads)
    se = prod.std(0, ddof=1) / np.sqrt(n_samples)
    assert np.all(np.abs(prod.mean(0) - float(exact_f) * np.asarray(exact_g)) <= 4 * se)


def test_same_key_same_result_and_batching():
    obs = [(0.5, "XXI"), (0.8, "IYY")]  # two single-Pauli settings: the binomial path, cheap to compile

    def both(key):
        kwargs = dict(shots=20, key=key, state=STATE, grouping="none")
        return (
            param_shift_grad(CIRCUIT, PARAMS, obs, **kwargs)[0],
            param_shift_grad(CIRCUIT, PARAMS, obs, batch_size=4, **kwargs)[0],
        )

    run = jax.jit(both)
    a, b = run(jax.random.key(3))
    np.testing.assert_array_equal(a, run(jax.random.key(3))[0])
    np.testing.assert_allclose(a, b, atol=EPS["float64"], rtol=0)  # same shots; batching may round differently
    assert not np.array_equal(a, run(jax.random.key(4))[0])


def test_exact_estimator_is_value_and_grad():
    estimator = param_shift_estimator(CIRCUIT, OBSERVABLE, None)
    f, g, led = estimator(jnp.asarray(PARAMS), jnp.asarray(STATE), None)
    assert abs(float(f) - _f(PARAMS)) < 1e-10 and int(led.shots) == 0 and int(led.executions) == 0
    exact, _ = param_shift_grad(CIRCUIT, PARAMS, OBSERVABLE, state=STATE)
    np.testing.assert_allclose(g, exact, atol=TOL["float64"], rtol=0)


def test_bad_input_raises():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"shots: expected a positive int, got 0"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=0, key=key)
    with pytest.raises(ValueError, match=r"shots: expected a positive int, got -1"):
        param_shift_estimator(CIRCUIT, "XXI", -1)
    with pytest.raises(ValueError, match=r"observable: must be Hermitian"):
        param_shift_grad(CIRCUIT, PARAMS, [(2j, "XXI")])
    with pytest.raises(ValueError, match=r"param_shift_grad: key is required"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=10)
    with pytest.raises(TypeError, match=r"param_shift_grad: key: expected a jax.random key, got the int 5"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=10, key=5)
    with pytest.raises(ValueError, match=r"shots: at most 2\*\*31 - 1"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=2**31, key=key)
    with pytest.raises(ValueError, match=r"allocation: expected one of"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", shots=10, key=key, allocation="even")
    with pytest.raises(ValueError, match=r"batch_size: expected a positive int or None, got 0"):
        param_shift_grad(CIRCUIT, PARAMS, "XXI", batch_size=0)
    with pytest.raises(ValueError, match=r"params: expected shape \(4,\)"):
        param_shift_grad(CIRCUIT, PARAMS[:3], "XXI")
    with pytest.raises(TypeError, match=r"param_shift_grad: expected a Circuit"):
        param_shift_grad("XXI", PARAMS, "XXI")
    with pytest.raises(TypeError, match=r"param_shift_estimator: expected a Circuit"):
        param_shift_estimator(None, "XXI", 10)
    with pytest.raises(ValueError, match=r"Pauli label .XX.: expected length n=3, got 2"):
        param_shift_estimator(CIRCUIT, "XX", 10)


def test_shared_prefix_path_on_a_rotation_only_circuit():
    """Rotation-only circuits take the shared-prefix path: shifted states against dense runs with one
    angle shifted, the exact gradient against the adjoint, shots against the plain path (same keys)."""
    from slpa_jax.measure.param_shift import _shifted_states

    rots = list(ROTATIONS)
    circ = Circuit(N)
    for lab, p, scale, offset in rots:
        circ = circ.fixed_rotation(lab, offset) if p is None else circ.rotation(lab, p, scale=scale, offset=offset)
    trainable = [r for r, rot in enumerate(rots) if rot[1] is not None]

    def dense(shift):
        ops = []
        for r, (lab, p, scale, offset) in enumerate(rots):
            angle = offset + (scale * PARAMS[p] if p is not None else 0.0) + (shift[1] if shift[0] == r else 0.0)
            ops.append(("R", lab, angle))
        return dense_circuit(ops, N) @ STATE

    states = np.asarray(_shifted_states(circ, jnp.asarray(PARAMS), jnp.asarray(STATE)))
    assert states.shape == (2 * len(trainable), 2**N)
    for s, delta in enumerate([0.5 * np.pi, -0.5 * np.pi]):
        for i, r in enumerate(trainable):
            np.testing.assert_allclose(states[s * len(trainable) + i], dense((r, delta)), atol=TOL["float64"])
    grad, _ = param_shift_grad(circ, PARAMS, OBSERVABLE, state=STATE)
    adjoint = jax.grad(lambda p: expectation(circ, p, OBSERVABLE, STATE))(jnp.asarray(PARAMS))
    np.testing.assert_allclose(grad, adjoint, atol=TOL["float64"], rtol=0)
    kwargs = dict(shots=30, key=jax.random.key(6), state=STATE, grouping="none")
    shared, led = param_shift_grad(circ, PARAMS, OBSERVABLE, **kwargs)
    plain, led_plain = param_shift_grad(circ, PARAMS, OBSERVABLE, batch_size=3, **kwargs)
    np.testing.assert_allclose(shared, plain, atol=EPS["float64"], rtol=0)  # same keys, same shots
    assert int(led.shots) == int(led_plain.shots) == 2 * len(trainable) * 4 * 30


def test_nan_parameters_give_nan_estimates_with_shots():
    # as the exact path: a NaN parameter makes every state NaN, so every shot estimate is NaN (not counts
    # drawn from NaN probabilities); the ledger still counts what was spent. One-Pauli settings (binomial)
    # through parameter shift, multi-Pauli settings (multinomial) through estimate_expectation.
    params = np.array(PARAMS, dtype=float)
    params[0] = np.nan
    grad, ledger = param_shift_grad(CIRCUIT, params, "XXI", shots=20, key=jax.random.key(0))
    assert np.all(np.isnan(np.asarray(grad))) and int(ledger.shots) > 0
    f, _ = estimate_expectation(CIRCUIT, params, OBSERVABLE, shots=20, key=jax.random.key(1))
    assert np.isnan(float(f))


def test_dense_suffix_path_with_gates_matches_dense_runs(monkeypatch):
    """Small n takes the dense-suffix path (``S_r R(+-pi/2) phi_r``): every shifted state of the circuit
    with Clifford gates, shared, negated and scaled parameters equals a dense run with that angle
    shifted (up to the gates' global phase), and the batched-remainder path's state."""
    from slpa_jax.measure import param_shift
    from slpa_jax.measure.param_shift import _dense_suffixes, _shifted_states, _shifted_states_dense

    assert not _dense_suffixes(Circuit.from_labels(["XYZI", "ZZIY", "IXXZ"] * 32))  # off by default
    monkeypatch.setattr(param_shift, "DENSE_SUFFIXES", True)
    # chosen by cost: the paper's 4-qubit, 96-rotation circuits yes, 8 qubits no
    assert _dense_suffixes(Circuit.from_labels(["XYZI", "ZZIY", "IXXZ"] * 32))
    assert not _dense_suffixes(Circuit.from_labels(["XYZIXYZI", "ZZIYZZIY", "IXXZIXXZ"] * 32))
    dense = np.asarray(_shifted_states_dense(CIRCUIT, jnp.asarray(PARAMS), jnp.asarray(STATE)))
    batched = np.asarray(_shifted_states(CIRCUIT, jnp.asarray(PARAMS), jnp.asarray(STATE)))
    np.testing.assert_allclose(dense, batched, atol=TOL["float64"], rtol=0)
    for s, delta in enumerate([0.5 * np.pi, -0.5 * np.pi]):
        for i, r in enumerate(TRAINABLE):
            overlap = np.vdot(_dense_state(PARAMS, (r, delta)), dense[s * len(TRAINABLE) + i])
            assert abs(abs(overlap) - 1) < TOL["float64"]


def test_right_rotate_matches_dense_expm():
    """``kernels.right_rotate(M, P, t) = M @ expm(-i t P / 2)`` for signed Paulis with X, Y and Z letters."""
    import scipy.linalg

    from slpa_jax.core.kernels import right_rotate
    from slpa_jax.core.pauli import Pauli

    rng = np.random.default_rng(5)
    m = rng.normal(size=(3, 8, 8)) + 1j * rng.normal(size=(3, 8, 8))
    for label, theta in [("XYZ", 0.7), ("-IYY", -1.9), ("ZIX", 2.4), ("YII", 0.3)]:
        p = Pauli(label.lstrip("-"), N)
        x, z, ny = p.index_masks()
        ny = ny + (2 if label.startswith("-") else 0)
        mat = (-1 if label.startswith("-") else 1) * pauli_matrix(label.lstrip("-"))
        want = m @ scipy.linalg.expm(-0.5j * theta * mat)
        got = np.asarray(right_rotate(jnp.asarray(m), int(x), int(z), int(ny), theta))
        np.testing.assert_allclose(got, want, atol=TOL["float64"], rtol=0)


def test_rotation_batch_length_groups_equal_one_scan():
    """From ``_GROUP_MIN_CIRCUITS`` circuits with static masks, ``rotation_batch`` runs length groups
    (each to its own end): the same states as one padded scan, a fixed number of scans."""
    from slpa_jax.core import simulator

    rng = np.random.default_rng(8)
    count, rows = simulator._GROUP_MIN_CIRCUITS, 12
    masks = rng.integers(1, 2**N, size=(count, rows, 3)).astype(np.int32)
    masks[..., 2] = rng.integers(0, 4, size=(count, rows))
    lengths = rng.integers(0, rows + 1, size=count)
    angles = rng.uniform(0, 6, size=(count, rows))
    for c, length in enumerate(lengths):
        masks[c, length:], angles[c, length:] = 0, 0.0  # identity padding at the end
    angles = jnp.asarray(angles)
    states = jnp.asarray(np.stack([random_state(rng, N) for _ in range(count)]))
    grouped = simulator.rotation_batch(states, masks, angles, lengths=lengths)
    np.testing.assert_allclose(grouped, simulator._rotation_scan(states, masks, angles), atol=TOL["float64"], rtol=0)
    jaxpr = str(jax.make_jaxpr(lambda s, a: simulator.rotation_batch(s, masks, a, lengths=lengths))(states, angles))
    assert jaxpr.count("scan[") == simulator._LENGTH_GROUPS


def test_pauli_transfer_values_match_dense_shifted_circuits():
    """``_transfer_values`` (one forward sweep of the state's Pauli vector, one backward sweep of each
    setting's Pauli, ``measure.transfer``): every shifted circuit's exact ``<P_g>`` of the circuit with
    Clifford gates, shared, negated and scaled parameters equals a dense run with that angle shifted,
    and the last entry the unshifted circuit's."""
    from slpa_jax.core.pauli import Pauli
    from slpa_jax.measure.param_shift import _transfer_values
    from slpa_jax.measure.transfer import pauli_vector

    plan = measurement_plan(OBSERVABLE, N, grouping="none")  # one Pauli per setting
    labels = [d.paulis[0].label for d in plan.settings]
    mats = [(-1 if lab.startswith("-") else 1) * pauli_matrix(lab.lstrip("-")) for lab in labels]
    vals, final = jax.jit(lambda p, s: _transfer_values(CIRCUIT, plan, p, s))(jnp.asarray(PARAMS), jnp.asarray(STATE))
    want = _shifted_means(mats).reshape(2 * len(TRAINABLE), len(mats))
    np.testing.assert_allclose(vals, want, atol=TOL["float64"], rtol=0)
    psi = _dense_state(PARAMS)
    np.testing.assert_allclose(final, [np.real(np.vdot(psi, a @ psi)) for a in mats], atol=TOL["float64"], rtol=0)
    # the Pauli vector of a state: <psi| P |psi> for every Hermitian Pauli, index (x << n) | z
    r = np.asarray(jax.jit(pauli_vector)(jnp.asarray(STATE)))
    for label in ["XYZ", "IIZ", "YIX", "ZZZ", "III"]:
        x, z, _ = Pauli(label).index_masks()
        want = np.real(np.vdot(STATE, pauli_matrix(label) @ STATE))
        assert abs(r[(x << N) | z] - want) < TOL["float64"]


def test_pauli_transfer_estimator_equals_statevector_path(monkeypatch):
    """The training estimator takes the Pauli-transfer path at small n with many shifted circuits (the
    paper's 4-qubit, 96-rotation circuits; not at 8 qubits): for the same key it returns what the
    statevector path returns (the same exact values up to rounding, drawn with the same keys). The
    binomial is replaced by a cheap key-dependent stand-in (the sampler's law is tested in
    test_sampling; here only which key and value each draw gets matters)."""
    from slpa_jax.measure import param_shift, sampling
    from slpa_jax.measure.param_shift import _use_transfer

    assert _use_transfer(Circuit.from_labels(["XYZI", "ZZIY", "IXXZ"] * 32), measurement_plan("XXII", 4))
    assert not _use_transfer(
        Circuit.from_labels(["XYZIXYZI", "ZZIYZZIY", "IXXZIXXZ"] * 32), measurement_plan("XIIIIIII", 8)
    )

    def stand_in(key, n, p, **_):
        return jnp.round(n * p) + jnp.floor(2 * jax.random.uniform(key, jnp.shape(p), jnp.result_type(p)))

    monkeypatch.setattr(sampling, "binomial", stand_in)
    monkeypatch.setattr(param_shift, "binomial", stand_in)
    obs = [(0.5, "XXI"), (-1.2, "ZZI")]  # two single-Pauli settings
    monkeypatch.setattr(param_shift, "_use_transfer", lambda c, p: True)
    fast = param_shift_estimator(CIRCUIT, obs, 30)
    monkeypatch.setattr(param_shift, "_use_transfer", lambda c, p: False)
    slow = param_shift_estimator(CIRCUIT, obs, 30)
    run = lambda est: jax.jit(est)(jnp.asarray(PARAMS), jnp.asarray(STATE), jax.random.key(3))  # noqa: E731
    (f1, g1, l1), (f2, g2, l2) = run(fast), run(slow)
    np.testing.assert_allclose(f1, f2, atol=TOL["float64"], rtol=0)
    np.testing.assert_allclose(g1, g2, atol=TOL["float64"], rtol=0)
    assert int(l1.executions) == int(l2.executions) == (2 * len(TRAINABLE) + 1) * 2
    assert int(l1.shots) == int(l2.shots) == (2 * len(TRAINABLE) + 1) * 2 * 30
