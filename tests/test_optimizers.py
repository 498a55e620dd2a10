"""The optimisers: the authors' Adam form against a hand-written numpy reference."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS

from slpa_jax.train.optimizers import OPTIMIZERS, make_optimizer


def _numpy_authors_adam(grads, lr, b1, b2, eps):
    """The authors' update written out: m, v moments; step -lr m_hat / sqrt(v_hat + eps / (1 - b2^t))."""
    m = np.zeros_like(grads[0])
    v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        out.append(-lr * m_hat / np.sqrt(v_hat + eps / (1 - b2**t)))
    return out


def test_authors_adam_equals_the_numpy_reference_for_a_few_steps():
    rng = np.random.default_rng(0)
    grads = [rng.normal(scale=10.0 ** rng.integers(-5, 1), size=5) for _ in range(6)]
    want = _numpy_authors_adam(grads, 1e-3, 0.9, 0.999, 1e-8)
    opt = make_optimizer("adam_paper", lr=1e-3)
    state = opt.init(jnp.zeros(5))
    for g, w in zip(grads, want):
        upd, state = opt.update(jnp.asarray(g), state)
        np.testing.assert_allclose(np.asarray(upd), w, rtol=EPS["float64"], atol=0)


def test_the_two_adam_forms_differ_by_the_effective_epsilon_at_step_one():
    g = jnp.array([1e-3])
    steps = {}
    for name in ("adam", "adam_paper"):
        opt = make_optimizer(name, lr=1.0)
        steps[name] = float(opt.update(g, opt.init(jnp.zeros(1)))[0][0])
    # step 1: m_hat = g, v_hat = g^2; optax: g / sqrt(g^2 + 1e-8); authors: g / sqrt(g^2 + 1e-8 / 1e-3)
    assert steps["adam"] == pytest.approx(-1e-3 / np.sqrt(1e-6 + 1e-8), rel=EPS["float64"])
    assert steps["adam_paper"] == pytest.approx(-1e-3 / np.sqrt(1e-6 + 1e-5), rel=EPS["float64"])


def test_optimizer_names_and_errors():
    assert OPTIMIZERS == ("adam", "adam_paper", "sgd")
    with pytest.raises(ValueError, match="name must be one of"):
        make_optimizer("rmsprop")
    with pytest.raises(ValueError, match="adam_paper needs eps_root > 0"):
        make_optimizer("adam_paper", eps_root=0.0)
