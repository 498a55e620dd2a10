"""Noisy shot estimators: expectation values, parameter-shift gradients and the training record.

They mirror ``measure.expectation.estimate_expectation`` and ``measure.param_shift`` with the
outcome distribution of every setting taken from a noisy simulation instead of ``|C psi|^2``:

- ``method="density"``: the exact noisy distribution (``noise.density``). With ``shots=None`` the
  estimate is the exact noisy value; with shots it is drawn exactly as the noiseless path draws
  (same key splits, the binomial fast path for one-Pauli settings, ``sample_counts`` otherwise),
  so a noiseless ``NoiseModel()`` reproduces the noiseless estimators' numbers for the same key.
- ``method="trajectories"``: the trajectory-averaged distribution of ``trajectories`` Pauli-jump
  trajectories per setting and circuit (``noise.trajectories``); shots drawn from it are exactly
  the shots split across the trajectories by a multinomial. With ``shots=None`` the result is the
  trajectory average (an unbiased estimate, zero ledger).

Readout error acts on the distribution before sampling (the law of flipping each sampled bit).
Every shot is counted: ``ShotLedger.of(G, G * shots)`` per circuit (G settings of the plan).
Only ``shots`` per setting is supported here (no ``total_shots`` allocation).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.keys import raw_key
from ..core.pauli import as_pauli_sum
from ..core.simulator import complex_dtype_for
from ..measure.estimator import GradientEstimator
from ..measure.expectation import MeasurementPlan, measurement_plan
from ..measure.ledger import ShotLedger
from ..measure.param_shift import shift_table
from ..measure.sampling import (
    binomial_estimate,
    check_shots,
    estimate_from_counts,
    parity_means,
    sample_counts,
    z_index_masks,
)
from .density import evolve_density, initial_density, setting_probabilities_from_density
from .model import NoiseModel, as_noise_model
from .program import lower_noisy
from .trajectories import trajectory_probabilities_from_angles

__all__ = [
    "METHODS",
    "check_method",
    "noisy_setting_probabilities",
    "noisy_estimate_expectation",
    "noisy_param_shift_grad",
    "noisy_param_shift_estimator",
]

#: Simulation methods of the noisy estimators.
METHODS = ("density", "trajectories")


def check_method(method, trajectories, batch) -> None:
    """Validate a noisy simulation ``method`` (``METHODS``) and, for trajectories, their count and batch."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {list(METHODS)}, got {method!r}")
    if method == "trajectories":
        if isinstance(trajectories, bool) or not isinstance(trajectories, (int, np.integer)) or trajectories < 1:
            raise ValueError(f"trajectories: expected a positive int with method='trajectories', got {trajectories!r}")
        if batch is not None and (
            isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1 or trajectories % batch
        ):
            raise ValueError(f"batch: expected a positive int dividing trajectories={trajectories}, got {batch!r}")


def noisy_setting_probabilities(
    circuit: Circuit,
    angles,
    plan: MeasurementPlan,
    noise: NoiseModel,
    *,
    method: str = "density",
    key=None,
    trajectories: int = 64,
    batch: int | None = None,
    state=None,
) -> list[jax.Array]:
    """Per setting of ``plan``, the (2**n,) distribution of the read bitstrings.

    ``angles`` is the circuit's (num_rotations,) angle vector. The density path simulates the
    circuit once and each setting's Clifford on a copy; the trajectory path runs ``trajectories``
    fresh trajectories of circuit + Clifford per setting (key split once per setting).
    """
    n = circuit.n_qubits
    if method == "density":
        rho0 = initial_density(n, state, complex_dtype_for(angles))
        rho = evolve_density(lower_noisy(circuit, noise), angles, rho0)
        return [setting_probabilities_from_density(rho, n, noise, d) for d in plan.settings]
    if key is None:
        raise ValueError("noisy estimate: key is required with method='trajectories'; pass key=jax.random.key(seed)")
    keys = jax.random.split(raw_key(key, "noisy estimate"), max(plan.n_settings, 1))
    return [
        trajectory_probabilities_from_angles(
            circuit, angles, noise, d, key=k, trajectories=trajectories, batch=batch, state=state
        )
        for d, k in zip(plan.settings, keys)
    ]


def _plan_value(circuit, angles, plan, noise, shots, key, method, trajectories, batch, state):
    """Estimate of ``<O>`` for one circuit (angles), and its ledger."""
    real = jnp.real(jnp.zeros((), complex_dtype_for(angles, state))).dtype
    total = jnp.asarray(plan.constant, real)
    if plan.n_settings == 0:
        return total, ShotLedger.zero()
    if method == "trajectories":
        k_traj, k_shots = jax.random.split(raw_key(key, "noisy estimate"))
    else:
        k_traj, k_shots = None, key
    probs = noisy_setting_probabilities(
        circuit, angles, plan, noise, method=method, key=k_traj, trajectories=trajectories, batch=batch, state=state
    )
    keys = jax.random.split(k_shots, plan.n_settings) if shots is not None else [None] * plan.n_settings
    for p, diag, coeffs, k in zip(probs, plan.settings, plan.coeffs, keys):
        p = p.astype(real)
        if shots is None:
            est = jnp.asarray(diag.signs, real) * parity_means(p, z_index_masks(diag.z_masks))
        elif len(diag) == 1:
            exact = jnp.asarray(diag.signs, real) * parity_means(p, z_index_masks(diag.z_masks))
            est = binomial_estimate(exact[0], shots, key=k).reshape(1)
        else:
            est, _ = estimate_from_counts(sample_counts(p, shots, key=k), diag.z_masks, diag.signs, dtype=real)
        total = total + jnp.sum(jnp.asarray(coeffs, real) * est)
    if shots is None:
        return total, ShotLedger.zero()
    return total, ShotLedger.of(plan.n_settings, plan.n_settings * shots)


@functools.lru_cache(maxsize=128)
def _cached_plan(labels: tuple, coeffs: tuple, n: int, grouping: str) -> MeasurementPlan:
    return measurement_plan(list(zip(coeffs, labels)), n, grouping=grouping)


def _plan(observable, n: int, grouping) -> MeasurementPlan:
    """The measurement plan, cached per (terms, grouping) so that the jitted cores see one static plan."""
    if isinstance(grouping, MeasurementPlan):
        if grouping.n_qubits != n:
            raise ValueError(f"grouping: the MeasurementPlan acts on {grouping.n_qubits} qubits, expected {n}")
        return grouping
    obs = as_pauli_sum(observable, n).simplify()
    coeffs = np.real(obs.coeffs)
    if not np.allclose(np.imag(obs.coeffs), 0):
        return measurement_plan(observable, n, grouping=grouping)  # raises the non-Hermitian error
    return _cached_plan(tuple(obs.paulis.labels()), tuple(float(c) for c in coeffs), n, grouping)


def _prepare(circuit, noise, shots, method, trajectories, batch, where):
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, where)
    noise.check_qubits(circuit.n_qubits, where)
    if shots is not None:
        check_shots(shots, "shots")
    check_method(method, trajectories, batch)
    return noise


def noisy_estimate_expectation(
    circuit: Circuit,
    params,
    observable,
    noise: NoiseModel,
    *,
    shots=None,
    key=None,
    grouping="qwc",
    state=None,
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Noisy estimate of ``<O>`` after ``circuit`` (``measure.expectation.estimate_expectation`` with noise).

    Args:
        circuit, params, observable, grouping, state: as ``estimate_expectation``.
        noise: the ``NoiseModel``.
        shots: shots of every measurement setting; None: the exact noisy value (density) or the
            trajectory average (trajectories), with a zero ledger.
        key: jax.random key (required with shots or trajectories).
        method: "density" (exact distributions, n <= 14) or "trajectories".
        trajectories, batch: trajectories per setting and how many are vmapped at a time.

    Returns:
        ``(estimate, ledger)``: ledger ``(G, G * shots)`` for G settings.
    """
    noise = _prepare(circuit, noise, shots, method, trajectories, batch, "noisy_estimate_expectation")
    plan = _plan(observable, circuit.n_qubits, grouping)
    params = circuit.check_params(params)
    _check_key(key, shots, method, "noisy_estimate_expectation")
    return _value_core(circuit, plan, noise, shots, method, trajectories, batch, params, key, state)


def _check_key(key, shots, method, where):
    if key is None and shots is not None:
        raise ValueError(f"{where}: key is required when shots is given; pass key=jax.random.key(seed)")
    if key is None and method == "trajectories":
        raise ValueError(f"{where}: key is required with method='trajectories'; pass key=jax.random.key(seed)")


_STATIC = ("circuit", "plan", "noise", "shots", "method", "trajectories", "batch")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _value_core(circuit, plan, noise, shots, method, trajectories, batch, params, key, state):
    """``noisy_estimate_expectation`` after validation: one compiled program per static structure."""
    return _plan_value(circuit, circuit.angles(params), plan, noise, shots, key, method, trajectories, batch, state)


def noisy_param_shift_grad(
    circuit: Circuit,
    params,
    observable,
    noise: NoiseModel,
    *,
    shots=None,
    key=None,
    state=None,
    grouping="qwc",
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
    batch_size: int | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Parameter-shift gradient of the noisy ``f`` (``measure.param_shift.param_shift_grad`` with noise).

    The shift rule stays exact under noise that follows each rotation: ``f`` is still
    ``a + b cos(angle_r) + c sin(angle_r)`` in every rotation angle. The 2R shifted circuits come from
    ``measure.param_shift.shift_table`` (rotation r shifted by +-pi/2, chain rule through
    ``scale_r``); circuit i uses ``split(key, 2R)[i]``, as the noiseless estimator does.
    ``batch_size`` runs the shifted circuits in batches (``lax.map``) instead of one ``vmap``.

    Returns:
        ``(grad (n_params,), ledger)``: ledger ``(2 R G, 2 R G shots)`` with shots, zero without.
    """
    noise = _prepare(circuit, noise, shots, method, trajectories, batch, "noisy_param_shift_grad")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
    plan = _plan(observable, circuit.n_qubits, grouping)
    params = circuit.check_params(params)
    _check_key(key, shots, method, "noisy_param_shift_grad")
    return _grad_core(circuit, plan, noise, shots, method, trajectories, batch, batch_size, params, key, state)


@functools.partial(jax.jit, static_argnames=(*_STATIC, "batch_size"))
def _grad_core(circuit, plan, noise, shots, method, trajectories, batch, batch_size, params, key, state):
    """``noisy_param_shift_grad`` after validation (one compiled program per static structure)."""
    rot, par, scale = shift_table(circuit)
    grad = jnp.zeros(circuit.n_params, params.dtype)
    if rot.size == 0:
        return grad, ShotLedger.zero()
    angles = circuit.angles(params)
    eye = np.zeros((rot.size, circuit.num_rotations))
    eye[np.arange(rot.size), rot] = 0.5 * np.pi
    shifted = angles[None, :] + jnp.asarray(np.concatenate([eye, -eye]), angles.dtype)

    def value(a, k):
        return _plan_value(circuit, a, plan, noise, shots, k, method, trajectories, batch, state)

    if key is None:
        xs = (shifted,)
        fn = lambda a: value(a, None)  # noqa: E731
    else:
        xs = (shifted, jax.random.split(key, 2 * rot.size))
        fn = value
    if batch_size is None:
        vals, ledgers = jax.vmap(fn)(*xs)
    else:
        vals, ledgers = jax.lax.map(lambda row: fn(*row), xs, batch_size=batch_size)
    d = 0.5 * (vals[: rot.size] - vals[rot.size :])
    grad = grad.at[par].add(jnp.asarray(scale, params.dtype) * d.astype(params.dtype))
    return grad, ledgers.sum()


def noisy_param_shift_estimator(
    circuit: Circuit,
    observable,
    noise: NoiseModel,
    shots,
    *,
    grouping="qwc",
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
    batch_size: int | None = None,
) -> GradientEstimator:
    """Noisy parameter-shift training estimator (a ``GradientEstimator`` of kind ``"param_shift"``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``: ``key`` is split into
    ``(k_f, k_g)`` as in ``param_shift_estimator``; ``f_hat`` from one independent noisy circuit,
    ``grad_hat`` from ``noisy_param_shift_grad``. Ledger ``(2R + 1) G`` executions, each with
    ``shots`` shots. ``shots=None`` gives the exact noisy f and gradient (density method) with a
    zero ledger. Pure: jit and vmap it freely.
    """
    noise = _prepare(circuit, noise, shots, method, trajectories, batch, "noisy_param_shift_estimator")
    plan = _plan(observable, circuit.n_qubits, grouping)
    n_rot = int(shift_table(circuit)[0].size)

    def estimator(params, state, key):
        params = circuit.check_params(params)
        if key is None:
            k_f = k_g = None
        else:
            k_f, k_g = jax.random.split(key)
        _check_key(key, shots, method, "noisy_param_shift_estimator")
        f_hat, led_f = _value_core(circuit, plan, noise, shots, method, trajectories, batch, params, k_f, state)
        grad, led_g = noisy_param_shift_grad(
            circuit,
            params,
            None,
            noise,
            shots=shots,
            key=k_g,
            state=state,
            grouping=plan,
            method=method,
            trajectories=trajectories,
            batch=batch,
            batch_size=batch_size,
        )
        return f_hat, grad, led_f + led_g

    return GradientEstimator(
        "param_shift", estimator, (2 * n_rot + 1) * plan.n_settings if shots is not None else 0, shots, plan
    )
