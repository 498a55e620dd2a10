"""Optimisers: Optax's Adam (the default), the authors' Adam variant, and SGD.

Two Adam forms differ only in where epsilon sits (``t`` = step, ``m_hat``, ``v_hat`` the
bias-corrected moments):

- ``adam`` (Optax): ``lr * m_hat / (sqrt(v_hat + eps_root) + eps)``; the paper's defaults
  ``eps = 0, eps_root = 1e-8`` put epsilon inside the square root;
- ``adam_paper`` (the authors' code): ``lr * m_hat / sqrt(v_hat + eps_root / (1 - b2**t))``, i.e.
  ``sqrt((v + eps_root) / (1 - b2**t))``: epsilon is bias-corrected with ``v``. At step 1
  (``1 - b2 = 1e-3``) the effective epsilon is ``1e-8 / 1e-3 = 1e-5`` instead of ``1e-8``; it
  relaxes to ``1e-8`` as ``t`` grows.

Example:
    >>> import jax.numpy as jnp
    >>> def first_step(name, g=0.01):  # lr = 1: the step is -m_hat / sqrt(v_hat + effective eps)
    ...     opt = make_optimizer(name, lr=1.0)
    ...     return round(-float(opt.update(jnp.array([g]), opt.init(jnp.zeros(1)))[0][0]), 3)
    >>> first_step("adam"), first_step("adam_paper")  # g / sqrt(g**2 + 1e-8) vs g / sqrt(g**2 + 1e-5)
    (1.0, 0.953)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["OPTIMIZERS", "make_optimizer", "authors_adam"]

OPTIMIZERS = ("adam", "adam_paper", "sgd")


class _AdamState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def authors_adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps_root: float = 1e-8) -> optax.GradientTransformation:
    """The authors' Adam: ``-lr * m_hat / sqrt(v_hat + eps_root / (1 - b2**t))`` (see the module docstring)."""

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return _AdamState(jnp.zeros((), jnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        del params
        count = state.count + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        t = count.astype(jnp.result_type(float))
        c1, c2 = 1 - b1**t, 1 - b2**t

        def step(m, v):
            return (-lr * (m / c1.astype(m.dtype)) / jnp.sqrt((v + eps_root) / c2.astype(v.dtype))).astype(m.dtype)

        return jax.tree.map(step, mu, nu), _AdamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def make_optimizer(
    name: str = "adam",
    lr: float = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 0.0,
    eps_root: float = 1e-8,
) -> optax.GradientTransformation:
    """The paper's Adam by default: ``optax.adam(lr, b1, b2, eps=0, eps_root=1e-8)``.

    ``name="adam_paper"``: ``authors_adam(lr, b1, b2, eps_root)`` (``eps`` unused); ``name="sgd"``:
    plain ``optax.sgd(lr)`` (b1, b2, eps, eps_root unused).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"make_optimizer: name must be one of {list(OPTIMIZERS)}, got {name!r}")
    if not lr > 0:
        raise ValueError(f"make_optimizer: lr must be > 0, got {lr!r}")
    if name == "sgd":
        return optax.sgd(lr)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"make_optimizer: b1 and b2 must lie in [0, 1), got b1={b1!r}, b2={b2!r}")
    if name == "adam_paper":
        if not eps_root > 0:
            raise ValueError(f"make_optimizer: adam_paper needs eps_root > 0, got eps_root={eps_root!r}")
        return authors_adam(lr, b1, b2, eps_root)
    if eps < 0 or eps_root < 0 or eps + eps_root <= 0:
        raise ValueError(
            f"make_optimizer: eps and eps_root must be >= 0 with eps + eps_root > 0, got eps={eps!r}, "
            f"eps_root={eps_root!r}"
        )
    return optax.adam(lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root)
