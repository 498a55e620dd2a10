"""Training loop and models: Adam semantics, loss gradients, per-epoch reshuffling, the shot ledger,
resume determinism and convergence, against dense float64 references (numpy kron + expm) and the
spec's shot formulas."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import EPS, TOL
from reference import pauli_matrix, random_state, rotation_matrix

from slpa_jax.blocks import ansatze
from slpa_jax.blocks.ansatze import qpr_symmetry_generators
from slpa_jax.blocks.gradient import block_measurements
from slpa_jax.core.circuit import Circuit
from slpa_jax.core.pauli import Pauli
from slpa_jax.measure.estimator import exact_estimator
from slpa_jax.measure.ledger import ShotLedger
from slpa_jax.train.datasets import Dataset, cluster_ising_qpr, symmetric_unitary_task
from slpa_jax.train.models import ANSATZE, make_model
from slpa_jax.train.training import (
    Model,
    TrainState,
    evaluate,
    init_train_state,
    is_classification,
    loss_grad_factor,
    loss_value,
    make_optimizer,
    predict,
    sign_accuracy,
    train_epochs,
)

LABELS = ["XXI", "IZZ", "YIY", "ZXI", "IYX", "XIZ"]
OBS = "XXI"
#: One optimizer object shared by the shot tests, so tests reuse compiled programs (jit cache).
OPT = make_optimizer(lr=0.05)
SGD = make_optimizer("sgd", lr=0.2)


def dense_f(theta, psi, labels=LABELS, obs=OBS):
    u = np.eye(2 ** len(obs), dtype=complex)
    for lab, t in zip(labels, theta):
        u = rotation_matrix(lab, t) @ u
    phi = u @ psi
    return float(np.real(np.vdot(phi, pauli_matrix(obs) @ phi)))


def dense_grad(theta, psi, labels=LABELS, obs=OBS):
    """Parameter-shift rule on the dense reference (exact for Pauli rotations)."""
    g = np.zeros(len(theta))
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = np.pi / 2
        g[j] = 0.5 * (dense_f(theta + e, psi, labels, obs) - dense_f(theta - e, psi, labels, obs))
    return g


def tiny_data(n_train=4, n_test=3, seed=0, n=3):
    rng = np.random.default_rng(seed)
    tr = np.stack([random_state(rng, n) for _ in range(n_train)])
    te = np.stack([random_state(rng, n) for _ in range(n_test)])
    return Dataset(tr, rng.uniform(-1, 1, n_train), te, rng.uniform(-1, 1, n_test))


@functools.cache
def tiny_model():
    c = Circuit.from_labels(LABELS)
    return Model("tiny", c, OBS, exact_estimator(c, OBS))


# --- optimiser -----------------------------------------------------------------------------------


def test_paper_adam_puts_eps_inside_the_square_root():
    lr, b1, b2, eps_root = 1e-3, 0.9, 0.999, 1e-8
    opt = make_optimizer()
    p = jnp.zeros(3)
    state = opt.init(p)
    m = v = np.zeros(3)
    ref = np.zeros(3)
    rng = np.random.default_rng(0)
    for t in range(1, 7):
        g = rng.normal(size=3) * np.array([1.0, 1e-4, 1e-6])  # tiny gradients: where eps placement matters
        upd, state = opt.update(jnp.asarray(g), state, p)
        p = optax.apply_updates(p, upd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        ref = ref - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps_root)
    np.testing.assert_allclose(np.asarray(p), ref, rtol=EPS["float64"], atol=EPS["float64"])
    sgd = make_optimizer("sgd", lr=0.5)
    upd, _ = sgd.update(jnp.ones(2), sgd.init(jnp.zeros(2)))
    np.testing.assert_allclose(upd, -0.5)


def test_make_optimizer_errors():
    with pytest.raises(ValueError, match=r"name must be one of \['adam', 'adam_paper', 'sgd'\]"):
        make_optimizer("rmsprop")
    with pytest.raises(ValueError, match="lr must be > 0"):
        make_optimizer(lr=0.0)
    with pytest.raises(ValueError, match=r"b1 and b2 must lie in \[0, 1\)"):
        make_optimizer(b2=1.0)
    with pytest.raises(ValueError, match="eps and eps_root must be >= 0 with eps \\+ eps_root > 0"):
        make_optimizer(eps=0.0, eps_root=0.0)


# --- estimator and losses ------------------------------------------------------------------------


def test_exact_estimator_matches_dense_reference():
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 2 * np.pi, len(LABELS))
    psi = random_state(rng, 3)
    est = exact_estimator(Circuit.from_labels(LABELS), OBS)
    f, g, led = est(jnp.asarray(theta), jnp.asarray(psi), jax.random.PRNGKey(0))
    np.testing.assert_allclose(f, dense_f(theta, psi), atol=EPS["float64"])
    np.testing.assert_allclose(g, dense_grad(theta, psi), atol=EPS["float64"])
    assert int(led.shots) == 0 and int(led.executions) == 0
    with pytest.raises(TypeError, match="exact_estimator: circuit must be a Circuit"):
        exact_estimator("XXI", OBS)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_loss_grad_factor_is_the_derivative(loss):
    f = jnp.array([-0.7, -0.1, 0.3, 0.9])
    y = jnp.array([1.0, -1.0, 1.0, -1.0])
    h = 1e-6
    fd = (loss_value(f + h, y, loss) - loss_value(f - h, y, loss)) / (2 * h)
    np.testing.assert_allclose(loss_grad_factor(f, y, loss), fd, rtol=1e-7)
    if loss == "mse":
        np.testing.assert_allclose(loss_value(f, y, loss), (f - y) ** 2)
    else:
        p, t = (1 + f) / 2, (1 + y) / 2
        np.testing.assert_allclose(loss_value(f, y, loss), -(t * np.log(p) + (1 - t) * np.log(1 - p)))
    with pytest.raises(ValueError, match=r"loss must be one of \['mse', 'bce', 'energy'\]"):
        loss_value(f, y, "hinge")
    with pytest.raises(ValueError, match=r"loss must be one of \['mse', 'bce', 'energy'\]"):
        loss_grad_factor(f, y, "l1")


# --- state ---------------------------------------------------------------------------------------


def test_init_train_state_shapes_and_seed_prefix():
    model, opt = tiny_model(), make_optimizer()
    st3 = init_train_state(model, opt, jax.random.PRNGKey(5), 3)
    st2 = init_train_state(model, opt, jax.random.PRNGKey(5), 2)
    assert st3.params.shape == (3, 6) and st3.key.shape == (3, 2) and st3.n_seeds == 3
    assert np.all((st3.params >= 0) & (st3.params < 2 * np.pi))
    np.testing.assert_array_equal(st3.params[:2], st2.params)  # seed s does not depend on n_seeds
    assert all(leaf.shape[0] == 3 for leaf in jax.tree_util.tree_leaves(st3.opt_state))
    assert int(st3.epoch) == 0 and st3.shots.dtype == np.int64 and np.all(st3.executions == 0)
    # U[0, 2 pi): mean pi, variance (2 pi)^2 / 12 -> 4-sigma check over many angles
    big = init_train_state(tiny_model(), opt, 0, 400).params.ravel()
    assert abs(float(big.mean()) - np.pi) < 4 * 2 * np.pi / np.sqrt(12 * big.size)
    with pytest.raises(ValueError, match="n_seeds must be an int >= 1"):
        init_train_state(model, opt, 0, 0)
    with pytest.raises(TypeError, match="init_train_state: model must be a Model"):
        init_train_state("sc", opt, 0, 1)
    with pytest.raises(TypeError, match="key must be a jax PRNG key or an int seed"):
        init_train_state(model, opt, jnp.zeros(2), 1)


# --- the training loop against a hand-written reference ------------------------------------------


def test_full_batch_sgd_epoch_is_one_gradient_step_on_the_mean_mse():
    data, model = tiny_data(), tiny_model()
    lr = 0.3
    opt = make_optimizer("sgd", lr=lr)
    st = init_train_state(model, opt, jax.random.PRNGKey(2), 2)
    st1, met = train_epochs(model, data, opt, st, 1, batch_size=4)
    for s in range(2):
        p0 = np.asarray(st.params[s])
        g = np.mean(
            [2 * (dense_f(p0, x) - y) * dense_grad(p0, x) for x, y in zip(data.train_states, data.train_labels)], axis=0
        )
        p1 = p0 - lr * g
        np.testing.assert_allclose(st1.params[s], p1, atol=TOL["float64"])
        np.testing.assert_allclose(
            met["train_loss"][s, 0],
            np.mean([(dense_f(p1, x) - y) ** 2 for x, y in zip(data.train_states, data.train_labels)]),
            atol=TOL["float64"],
        )
        np.testing.assert_allclose(
            met["test_loss"][s, 0],
            np.mean([(dense_f(p1, x) - y) ** 2 for x, y in zip(data.test_states, data.test_labels)]),
            atol=TOL["float64"],
        )
    assert met["shots"].shape == (2, 1) and np.all(met["shots"] == 0)
    assert sorted(met) == ["executions", "shots", "test_loss", "train_loss"]  # regression: no accuracy


def test_batch_size_one_sgd_reshuffles_every_epoch_with_the_seed_key():
    """Two epochs of sequential SGD follow the documented key chain: key -> split(key, 3) per epoch,
    order = permutation(k_perm, n_train)."""
    data, model = tiny_data(), tiny_model()
    lr = 0.2
    st = init_train_state(model, SGD, jax.random.PRNGKey(4), 1)
    st2, met = train_epochs(model, data, SGD, st, 2, batch_size=1)
    p = np.asarray(st.params[0])
    key = st.key[0]
    orders = []
    for _ in range(2):
        key, k_perm, _ = jax.random.split(key, 3)
        order = np.asarray(jax.random.permutation(k_perm, 4))
        orders.append(order)
        for i in order:
            x, y = data.train_states[i], data.train_labels[i]
            p = p - lr * 2 * (dense_f(p, x) - y) * dense_grad(p, x)
    assert not np.array_equal(orders[0], orders[1])  # these keys give two different orders
    np.testing.assert_allclose(st2.params[0], p, atol=TOL["float64"])
    np.testing.assert_array_equal(st2.key[0], key)
    assert int(st2.epoch) == 2


def test_predict_and_evaluate_match_dense():
    data, model = tiny_data(), tiny_model()
    st = init_train_state(model, make_optimizer(), 3, 2)
    f = predict(model, st.params[1], data.test_states)
    np.testing.assert_allclose(f, [dense_f(np.asarray(st.params[1]), x) for x in data.test_states], atol=EPS["float64"])
    tr, te = evaluate(model, data, st)
    np.testing.assert_allclose(te[1], np.mean((np.asarray(f) - data.test_labels) ** 2), atol=EPS["float64"])
    assert tr.shape == (2,)


def test_exact_training_reaches_a_loss_threshold():
    data = symmetric_unitary_task(4, 8, 8, key=jax.random.PRNGKey(0))
    model = make_model("slpa", 4, 24, "exact", None)
    opt = make_optimizer(lr=0.05)
    st = init_train_state(model, opt, jax.random.PRNGKey(1), 2)
    tr0, _ = evaluate(model, data, st)
    st, met = train_epochs(model, data, opt, st, 30, batch_size=4)
    assert np.all(met["train_loss"][:, -1] < 2e-3), met["train_loss"][:, -1]
    assert np.all(met["shots"] == 0) and np.all(met["executions"] == 0)  # exact: nothing spent
    assert np.all(met["train_loss"][:, -1] < 0.05 * tr0)


# --- shots: ledger, resume, seeds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ansatz", "estimator", "circuits"),
    [("sc", "param_shift", 193), ("slpa", "ancilla", 25), ("slpa", "ancilla_free", 47)],
)
def test_ledger_matches_paper_shots_per_epoch(ansatz, estimator, circuits):
    """Spec section 4: SC/NSC 50 x 193 x 1000 = 9.65e6, SLPA 50 x 25 x 1000 = 1.25e6 shots per epoch.
    Ancilla-free: 2 circuits per block except blocks measured directly (the paper SLPA's last two blocks
    commute with everything after them: 2 x 22 + 2 = 46) plus one circuit for f_hat."""
    data = symmetric_unitary_task(4, 50, 2, key=jax.random.PRNGKey(0))
    model = make_model(ansatz, 4, 96, estimator, 1000)
    opt = make_optimizer()
    st0 = init_train_state(model, opt, 0, 1)
    st = st0.replace(shots=np.array([2**31 - 7], np.int64))  # exact beyond int32
    st, met = train_epochs(model, data, opt, st, 1, batch_size=1)
    assert met["executions"][0, 0] == 50 * circuits
    assert met["shots"][0, 0] == 2**31 - 7 + 50 * circuits * 1000
    assert met["shots"].dtype == np.int64 and st.shots[0] == met["shots"][0, 0]
    if estimator != "param_shift":
        assert len(block_measurements(model.block_circuit, estimator)) + 1 == circuits
    # also the few-step smoke run of this estimator: 50 steps moved every parameter, losses finite
    assert np.isfinite(met["test_loss"]).all() and np.abs(st.params - st0.params).max() > 1e-3


def noisy_model(sigma=0.1, shots=1000):
    """Exact f and gradient plus key-driven Gaussian noise, with a fixed per-call ledger: a cheap
    stand-in for a shot estimator (the loop only sees a pure function of (params, state, key))."""
    c = Circuit.from_labels(LABELS)
    exact = exact_estimator(c, OBS)

    def estimator(params, state, key):
        f, g, _ = exact(params, state, key)
        kf, kg = jax.random.split(key)
        noise_f = sigma * jax.random.normal(kf, f.shape, f.dtype)
        noise_g = sigma * jax.random.normal(kg, g.shape, g.dtype)
        return f + noise_f, g + noise_g, ShotLedger.of(13, 13 * shots)

    return Model("noisy", c, OBS, estimator)


def test_resume_equals_one_long_run():
    data, model = tiny_data(), noisy_model()
    st = init_train_state(model, OPT, jax.random.PRNGKey(9), 2)
    a1, m1 = train_epochs(model, data, OPT, st, 2, batch_size=2)
    a2, m2 = train_epochs(model, data, OPT, a1, 2, batch_size=2)
    b, mb = train_epochs(model, data, OPT, st, 4, batch_size=2)
    np.testing.assert_array_equal(a2.params, b.params)
    np.testing.assert_array_equal(a2.key, b.key)
    for k in m1:
        np.testing.assert_array_equal(np.concatenate([m1[k], m2[k]], axis=1), mb[k])
    for la, lb in zip(jax.tree_util.tree_leaves(a2.opt_state), jax.tree_util.tree_leaves(b.opt_state)):
        np.testing.assert_array_equal(la, lb)
    assert int(a2.epoch) == 4
    np.testing.assert_array_equal(mb["executions"], np.tile(4 * 13 * np.arange(1, 5), (2, 1)))
    np.testing.assert_array_equal(mb["shots"], 1000 * mb["executions"])
    assert not np.allclose(b.params[0], b.params[1])
    # the noise is driven by the step keys: a different seed key changes the trajectory
    c, _ = train_epochs(model, data, OPT, init_train_state(model, OPT, jax.random.PRNGKey(10), 2), 4, batch_size=2)
    assert not np.allclose(c.params, b.params)


def test_seeds_are_an_independent_vmapped_axis():
    """Seed 0 of a 2-seed run equals the 1-seed run (init by fold_in, own key chain)."""
    data, model = tiny_data(), tiny_model()
    two, m2 = train_epochs(model, data, SGD, init_train_state(model, SGD, jax.random.PRNGKey(4), 2), 2, batch_size=1)
    one, m1 = train_epochs(model, data, SGD, init_train_state(model, SGD, jax.random.PRNGKey(4), 1), 2, batch_size=1)
    np.testing.assert_allclose(one.params[0], two.params[0], atol=EPS["float64"])
    np.testing.assert_allclose(m1["train_loss"][0], m2["train_loss"][0], atol=EPS["float64"])
    assert not np.allclose(two.params[0], two.params[1])


def test_qpr_classification_with_bce_learns():
    data = cluster_ising_qpr(4, 8, 4, key=0, sampling="grid", h1_range=(0.1, 1.9))
    model = make_model("qpr_hea", 4, 16, "exact", None)
    opt = make_optimizer(lr=0.05)
    st = init_train_state(model, opt, 0, 2)
    tr0, _ = evaluate(model, data, st, loss="bce")
    st, met = train_epochs(model, data, opt, st, 20, batch_size=8, loss="bce")
    assert np.all(met["train_loss"][:, -1] < tr0)
    f = np.asarray(jax.vmap(lambda p: predict(model, p, data.train_states))(st.params))
    assert np.mean(np.sign(f) == data.train_labels) >= 0.75
    np.testing.assert_allclose(met["train_accuracy"][:, -1], np.mean(np.sign(f) == data.train_labels, axis=1))


# --- classification accuracy ---------------------------------------------------------------------


def test_sign_accuracy_and_is_classification():
    f = jnp.array([[0.3, -0.2, 0.0, 0.9], [-0.1, -0.5, 0.2, -0.7]])
    y = jnp.array([1.0, -1.0, 1.0, -1.0])
    # hand count: row 0 right, right, f = 0 counts as wrong, wrong; row 1 wrong, right, right, right
    np.testing.assert_allclose(sign_accuracy(f, y), [0.5, 0.75])
    np.testing.assert_allclose(sign_accuracy(f[1], y), 0.75)
    assert is_classification(Dataset(np.eye(2), np.array([1.0, -1.0]), np.eye(2)[:1], np.array([-1.0])))
    assert not is_classification(tiny_data())  # labels in (-1, 1)
    assert not is_classification(Dataset(np.eye(2), np.array([1.0, -1.0]), np.eye(2)[:1], np.array([0.0])))


def pm1_data(n_train=4, n_test=6, seed=5, n=3):
    """tiny_data's states with labels +-1 (random signs, both classes present)."""
    d = tiny_data(n_train, n_test, seed, n)
    y_tr = np.where(np.arange(n_train) % 2 == 0, 1.0, -1.0)
    y_te = np.where(np.arange(n_test) % 3 == 0, 1.0, -1.0)
    return Dataset(d.train_states, y_tr, d.test_states, y_te)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_train_epochs_reports_accuracy_for_pm1_labels(loss):
    """Per-epoch accuracy = fraction of sign(dense f) == label at the parameters after that epoch (for BCE:
    p = (1 + f) / 2 > 1/2, the same rule); regression data get no accuracy keys."""
    data, model = pm1_data(), tiny_model()
    st = init_train_state(model, SGD, jax.random.PRNGKey(6), 2)
    st1, m1 = train_epochs(model, data, SGD, st, 1, batch_size=4, loss=loss)
    st2, m2 = train_epochs(model, data, SGD, st1, 1, batch_size=4, loss=loss)
    both = {k: np.concatenate([m1[k], m2[k]], axis=1) for k in m1}
    assert both["test_accuracy"].shape == (2, 2) and len(set(both["test_accuracy"].ravel())) > 1
    for e, state in enumerate((st1, st2)):
        for s in range(2):
            p = np.asarray(state.params[s])
            for part in ("train", "test"):
                f = np.array([dense_f(p, x) for x in getattr(data, f"{part}_states")])
                want = np.mean(((1 + f) / 2 > 0.5) == (getattr(data, f"{part}_labels") > 0))
                assert both[f"{part}_accuracy"][s, e] == pytest.approx(want, abs=EPS["float64"])


def test_qpr_slpa_acts_as_one_rotation_per_block_on_the_data():
    """docs/qpr.md: on the sector prod_even X = prod_odd X = +1 (every QPR state), the SLPA block
    {unsigned(L s) : s in S} acts as R_L(sum_s sign_s theta_s), sign_s = +1 if L s = +unsigned(L s), so
    qpr_slpa(theta) equals qpr_sc with one rotation per block at the signed angle sums."""
    n, blocks = 6, 6
    data = cluster_ising_qpr(n, 3, 1, key=2)
    slpa_m = make_model("qpr_slpa", n, 4 * blocks, "exact", None)
    sc_m = make_model("qpr_sc", n, blocks, "exact", None)
    even, odd = qpr_symmetry_generators(n)
    group = [Pauli("I" * n), Pauli(even), Pauli(odd), Pauli(even) * Pauli(odd)]
    theta = np.random.default_rng(3).uniform(0, 2 * np.pi, 4 * blocks)
    labels, logicals = slpa_m.circuit.generators.labels(), sc_m.circuit.generators.labels()
    phi = np.zeros(blocks)
    for b in range(blocks):
        for j in range(4):
            gen = Pauli(labels[4 * b + j])
            (prod,) = [lg for lg in (Pauli(logicals[b]) * s for s in group) if lg.unsigned() == gen]
            phi[b] += theta[4 * b + j] * (1 if prod.phase == 0 else -1)
    f_slpa = predict(slpa_m, jnp.asarray(theta), data.train_states)
    f_sc = predict(sc_m, jnp.asarray(phi), data.train_states)
    np.testing.assert_allclose(f_slpa, f_sc, atol=TOL["float64"])
    assert np.ptp(np.asarray(f_sc)) > 1e-3  # not a trivial constant


# --- models --------------------------------------------------------------------------------------


def test_models_structure():
    m = make_model("slpa", 4, 96, "exact", None)
    assert m.n_params == 96 and m.block_circuit.n_blocks == 24 and m.name == "slpa-exact"
    paper = ansatze.slpa_block_labels(ansatze.sc_labels(24))
    gens = m.circuit.generators.labels()
    for b in range(24):
        assert sorted(gens[4 * b : 4 * b + 4]) == sorted(paper[4 * b : 4 * b + 4])
    assert make_model("sc", 4, 96, "exact", None).circuit.generators.labels() == ansatze.sc_labels(96)
    assert make_model("nsc", 4, 24, "exact", None).circuit.generators.labels() == ansatze.nsc_labels(24)
    f10 = make_model("fig10_slpa", 6, 24, "exact", None)
    assert f10.circuit.generators.labels() == ansatze.fig10_slpa_labels(6, 2)
    assert make_model("fig10_sc", 6, 9, "exact", None).circuit.generators.labels() == ansatze.fig10_sc_labels(6, 3)
    sym = [Pauli(g) for g in qpr_symmetry_generators(6)]
    for ansatz, symmetric in (("qpr_slpa", True), ("qpr_sc", True), ("qpr_hea", False)):
        mm = make_model(ansatz, 6, 40, "exact", None)
        comm = [all(p.commutes(s) for s in sym) for p in mm.circuit.generators]
        assert all(comm) if symmetric else not all(comm)
        assert all(Pauli(t).commutes(s) for t in mm.observable.paulis.labels() for s in sym)
    assert make_model("sc", 4, 12, "exact", None, name="mine").name == "mine"


def test_make_model_errors():
    with pytest.raises(ValueError, match=r"unknown ansatz 'foo'; valid ansatze: \['slpa', 'sc'"):
        make_model("foo", 4, 8, "exact", None)
    with pytest.raises(ValueError, match=r"unknown estimator 'adjoint'; valid estimators: \['exact'"):
        make_model("slpa", 4, 8, "adjoint", None)
    with pytest.raises(ValueError, match="needs n_params to be a multiple of 4"):
        make_model("slpa", 4, 10, "exact", None)
    with pytest.raises(ValueError, match="paper's n = 4 circuit, got n_qubits=6"):
        make_model("sc", 6, 12, "exact", None)
    with pytest.raises(ValueError, match="needs an even n_qubits >= 4, got 5"):
        make_model("fig10_sc", 5, 10, "exact", None)
    with pytest.raises(ValueError, match="needs an even n_qubits >= 4, got 3"):  # one rule with the config
        make_model("qpr_hea", 3, 10, "exact", None)
    with pytest.raises(ValueError, match="n_params must be a positive int"):
        make_model("sc", 4, 0, "exact", None)
    with pytest.raises(ValueError, match="n_qubits must be a positive int"):
        make_model("sc", 0, 4, "exact", None)
    assert set(ANSATZE) >= {"slpa", "sc", "nsc", "fig10_sc", "fig10_slpa", "qpr_slpa", "qpr_hea"}


def test_train_epochs_errors():
    data, model = tiny_data(), tiny_model()
    opt = make_optimizer()
    st = init_train_state(model, opt, 0, 1)
    with pytest.raises(ValueError, match="batch_size must be a positive divisor of n_train=4, got 3"):
        train_epochs(model, data, opt, st, 1, batch_size=3)
    with pytest.raises(ValueError, match="n_epochs must be an int >= 1"):
        train_epochs(model, data, opt, st, 0, batch_size=1)
    with pytest.raises(ValueError, match=r"loss must be one of \['mse', 'bce', 'energy'\]"):
        train_epochs(model, data, opt, st, 1, batch_size=1, loss="l2")
    with pytest.raises(ValueError, match=r"data train_states must have shape \(N, 8\)"):
        train_epochs(model, tiny_data(n=4), opt, st, 1, batch_size=1)
    with pytest.raises(TypeError, match="data must be a Dataset"):
        train_epochs(model, {"x": 1}, opt, st, 1, batch_size=1)
    with pytest.raises(ValueError, match=r"state.params must have shape \(n_seeds, 6\)"):
        train_epochs(model, data, opt, st.replace(params=st.params[:, :3]), 1, batch_size=1)
    with pytest.raises(TypeError, match="state must be a TrainState"):
        evaluate(model, data, {"params": 1})
    with pytest.raises(TypeError, match="Model: circuit must be a Circuit"):
        Model("m", "XXI", OBS, exact_estimator(Circuit.from_labels(LABELS), OBS))
    with pytest.raises(TypeError, match="Model: estimator must be callable"):
        Model("m", Circuit.from_labels(LABELS), OBS, None)
    assert isinstance(st, TrainState)
