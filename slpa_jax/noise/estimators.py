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
``total_shots`` with ``allocation`` ("uniform", "weighted", "optimal") splits a budget per circuit
over its settings exactly as ``measure.expectation`` does (``allocate_shots``); "optimal" weighs
each setting by the exact single-shot standard deviation of its value under the noisy read law.

The parameter-shift gradient on the density path runs, when every setting measures one Pauli, as
ONE forward and ONE backward (Heisenberg) sweep for all 2R shifted circuits (``noise.heisenberg``);
otherwise each shifted circuit is simulated on its own (the forward path). Both give the same
estimates for the same key.
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
from ..measure.expectation import MeasurementPlan, allocate_shots, measurement_plan, resolve_shots
from ..measure.ledger import ShotLedger
from ..measure.param_shift import shift_table
from ..measure.sampling import (
    binomial_estimate,
    estimate_from_counts,
    parity_means,
    sample_counts,
    z_index_masks,
)
from .density import evolve_density, initial_density, setting_probabilities_from_density
from .heisenberg import shifted_setting_means, sweep_applies
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
    "sample_plan",
    "noisy_value_plan",
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


def _setting_infos(probs, plan: MeasurementPlan, real) -> list:
    """Per setting: the exact (1,) mean of a one-Pauli setting's read parity (sign included), else the
    (2**n,) distribution of its read bitstrings."""
    out = []
    for p, diag in zip(probs, plan.settings):
        p = p.astype(real)
        if len(diag) == 1:
            p = jnp.asarray(diag.signs, real) * parity_means(p, z_index_masks(diag.z_masks))
        out.append(p)
    return out


def _info_variance(info, diag, coeffs, real) -> jax.Array:
    """Exact single-shot variance of a setting's value ``sum_k c_k s_k (-1)**parity_k`` under its read law."""
    coeffs = np.asarray(coeffs, np.float64)
    if len(diag) == 1:
        return float(coeffs[0]) ** 2 * jnp.clip(1 - info[0] ** 2, 0, None)
    idx = jax.lax.iota(jnp.int32, info.shape[0])
    vals = jnp.zeros_like(info)
    for mask, c in zip(np.asarray(z_index_masks(diag.z_masks)).tolist(), coeffs * np.asarray(diag.signs)):
        odd = (jax.lax.population_count(idx & int(mask)) & 1).astype(bool)
        vals = vals + jnp.where(odd, -c, c).astype(real)
    mean = jnp.sum(info * vals)
    return jnp.clip(jnp.sum(info * vals**2) - mean**2, 0, None)


def _shot_counts(plan: MeasurementPlan, budget, allocation, infos, real) -> jax.Array:
    """(G,) shots of each setting: ``budget`` each ("per_setting"), or the budget split by the allocation
    (``measure.expectation.allocate_shots``; "optimal" uses the exact variances of the noisy read law)."""
    n_set = plan.n_settings
    if allocation == "per_setting":
        return jnp.full(n_set, budget, jnp.result_type(int))
    if allocation == "uniform":
        weights = np.ones(n_set)
    elif allocation == "weighted":
        weights = np.array([np.abs(c).sum() for c in plan.coeffs])
    else:
        variances = [_info_variance(i, d, c, real) for i, d, c in zip(infos, plan.settings, plan.coeffs)]
        weights = jnp.sqrt(jnp.stack(variances))
    return allocate_shots(budget, weights)


def sample_plan(plan: MeasurementPlan, infos, budget, allocation, key, real) -> tuple[jax.Array, ShotLedger]:
    """The estimate of ``<O>`` from per-setting infos (``_setting_infos``), and its ledger.

    ``budget`` None: the exact value (zero ledger). Else one key per setting (``split(key, G)``); a
    one-Pauli setting draws ``binomial_estimate`` of its mean, a wider one ``sample_counts`` of its law,
    exactly as ``measure.expectation.estimate_state`` draws from a noiseless state.
    """
    total = jnp.asarray(plan.constant, real)
    if plan.n_settings == 0:
        return total, ShotLedger.zero()
    if budget is None:
        for info, diag, coeffs in zip(infos, plan.settings, plan.coeffs):
            est = info
            if len(diag) > 1:
                est = jnp.asarray(diag.signs, real) * parity_means(info, z_index_masks(diag.z_masks))
            total = total + jnp.sum(jnp.asarray(coeffs, real) * est)
        return total, ShotLedger.zero()
    n_shots = _shot_counts(plan, budget, allocation, infos, real)
    keys = jax.random.split(key, plan.n_settings)
    for g, (info, diag, coeffs) in enumerate(zip(infos, plan.settings, plan.coeffs)):
        if len(diag) == 1:
            est = binomial_estimate(info[0], n_shots[g], key=keys[g]).reshape(1)
        else:
            counts = sample_counts(info, n_shots[g], key=keys[g])
            est, _ = estimate_from_counts(counts, diag.z_masks, diag.signs, dtype=real)
        total = total + jnp.sum(jnp.asarray(coeffs, real) * est)
    return total, ShotLedger.of(plan.n_settings, jnp.sum(n_shots))


def _plan_value(circuit, angles, plan, noise, budget, allocation, key, method, trajectories, batch, state):
    """Estimate of ``<O>`` for one circuit (angles), and its ledger."""
    real = jnp.real(jnp.zeros((), complex_dtype_for(angles, state))).dtype
    if plan.n_settings == 0:
        return jnp.asarray(plan.constant, real), ShotLedger.zero()
    if method == "trajectories":
        k_traj, k_shots = jax.random.split(raw_key(key, "noisy estimate"))
    else:
        k_traj, k_shots = None, key
    probs = noisy_setting_probabilities(
        circuit, angles, plan, noise, method=method, key=k_traj, trajectories=trajectories, batch=batch, state=state
    )
    return sample_plan(plan, _setting_infos(probs, plan, real), budget, allocation, k_shots, real)


@functools.lru_cache(maxsize=128)
def _cached_plan(labels: tuple, coeffs: tuple, n: int, grouping: str) -> MeasurementPlan:
    return measurement_plan(list(zip(coeffs, labels)), n, grouping=grouping)


def noisy_value_plan(observable, n: int, grouping="qwc") -> MeasurementPlan:
    """The measurement plan of ``observable`` the noisy estimators use, cached per (terms, grouping) so
    that the jitted cores see one static plan (a ``MeasurementPlan`` is returned as is)."""
    if isinstance(grouping, MeasurementPlan):
        if grouping.n_qubits != n:
            raise ValueError(f"grouping: the MeasurementPlan acts on {grouping.n_qubits} qubits, expected {n}")
        return grouping
    obs = as_pauli_sum(observable, n).simplify()
    coeffs = np.real(obs.coeffs)
    if not np.allclose(np.imag(obs.coeffs), 0):
        return measurement_plan(observable, n, grouping=grouping)  # raises the non-Hermitian error
    return _cached_plan(tuple(obs.paulis.labels()), tuple(float(c) for c in coeffs), n, grouping)


def _prepare(circuit, noise, shots, total_shots, allocation, method, trajectories, batch, where):
    """Validate the common arguments; ``(noise, budget, allocation)`` as ``measure.expectation.resolve_shots``."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: expected a Circuit, got {type(circuit).__name__}")
    noise = as_noise_model(noise, where)
    noise.check_qubits(circuit.n_qubits, where)
    budget, allocation = resolve_shots(shots, total_shots, allocation, where)
    check_method(method, trajectories, batch)
    return noise, budget, allocation


def noisy_estimate_expectation(
    circuit: Circuit,
    params,
    observable,
    noise: NoiseModel,
    *,
    shots=None,
    total_shots=None,
    allocation: str | None = None,
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
        shots: shots of every measurement setting; or None.
        total_shots: a budget split over the G settings by ``allocation`` ("uniform" default,
            "weighted", "optimal": proportional to the exact single-shot standard deviation of each
            setting under the noisy read law, an oracle as in the noiseless estimator); or None.
            With neither: the exact noisy value (density) or the trajectory average, zero ledger.
        key: jax.random key (required with shots or trajectories).
        method: "density" (exact distributions, n <= 14) or "trajectories".
        trajectories, batch: trajectories per setting and how many are vmapped at a time.

    Returns:
        ``(estimate, ledger)``: ledger ``(G, shots drawn)`` (``G * shots``, or ``total_shots``).
    """
    noise, budget, allocation = _prepare(
        circuit, noise, shots, total_shots, allocation, method, trajectories, batch, "noisy_estimate_expectation"
    )
    plan = noisy_value_plan(observable, circuit.n_qubits, grouping)
    params = circuit.check_params(params)
    _check_key(key, budget, method, "noisy_estimate_expectation")
    return _value_core(circuit, plan, noise, budget, allocation, method, trajectories, batch, params, key, state)


def _check_key(key, shots, method, where):
    if key is None and shots is not None:
        raise ValueError(f"{where}: key is required when shots is given; pass key=jax.random.key(seed)")
    if key is None and method == "trajectories":
        raise ValueError(f"{where}: key is required with method='trajectories'; pass key=jax.random.key(seed)")


_STATIC = ("circuit", "plan", "noise", "budget", "allocation", "method", "trajectories", "batch")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _value_core(circuit, plan, noise, budget, allocation, method, trajectories, batch, params, key, state):
    """``noisy_estimate_expectation`` after validation: one compiled program per static structure."""
    return _plan_value(
        circuit, circuit.angles(params), plan, noise, budget, allocation, key, method, trajectories, batch, state
    )


def _resolve_sweep(sweep, plan, method, batch_size, where) -> bool:
    """Whether the gradient runs the Heisenberg sweep (``noise.heisenberg``); None picks it when it applies."""
    if sweep is not None and not isinstance(sweep, (bool, np.bool_)):
        raise TypeError(f"sweep: expected True, False or None, got {type(sweep).__name__}")
    reason = sweep_applies(plan, method)
    if sweep and reason is not None:
        raise ValueError(f"{where}: sweep=True does not apply: {reason}")
    if sweep and batch_size is not None:
        raise ValueError(f"{where}: batch_size bounds the forward path's memory; it does not apply with sweep=True")
    if sweep is None:
        return reason is None and batch_size is None
    return bool(sweep)


def noisy_param_shift_grad(
    circuit: Circuit,
    params,
    observable,
    noise: NoiseModel,
    *,
    shots=None,
    total_shots=None,
    allocation: str | None = None,
    key=None,
    state=None,
    grouping="qwc",
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
    batch_size: int | None = None,
    sweep: bool | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Parameter-shift gradient of the noisy ``f`` (``measure.param_shift.param_shift_grad`` with noise).

    The shift rule stays exact under noise that follows each rotation: ``f`` is still
    ``a + b cos(angle_r) + c sin(angle_r)`` in every rotation angle. The 2R shifted circuits come from
    ``measure.param_shift.shift_table`` (rotation r shifted by +-pi/2, chain rule through
    ``scale_r``); circuit i uses ``split(key, 2R)[i]``, as the noiseless estimator does.

    Two exact density paths give the same estimates for the same key (up to rounding): the
    Heisenberg sweep (``noise.heisenberg``: one forward and one backward sweep for all 2R circuits;
    ``method="density"`` with one Pauli per setting, e.g. a single-string observable or
    ``grouping="none"``) and the forward path (each shifted circuit simulated on its own).
    ``sweep=None`` takes the sweep whenever it applies, ``True`` requires it, ``False`` forces the
    forward path. ``batch_size`` runs the forward path's shifted circuits in batches (``lax.map``).
    ``total_shots`` / ``allocation``: a budget per shifted circuit, split over its settings.

    Returns:
        ``(grad (n_params,), ledger)``: ledger ``(2 R G, shots drawn)`` with shots, zero without.
    """
    noise, budget, allocation = _prepare(
        circuit, noise, shots, total_shots, allocation, method, trajectories, batch, "noisy_param_shift_grad"
    )
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
    plan = noisy_value_plan(observable, circuit.n_qubits, grouping)
    use_sweep = _resolve_sweep(sweep, plan, method, batch_size, "noisy_param_shift_grad")
    params = circuit.check_params(params)
    _check_key(key, budget, method, "noisy_param_shift_grad")
    return _grad_core(
        circuit, plan, noise, budget, allocation, method, trajectories, batch, batch_size, use_sweep, params, key, state
    )


@functools.partial(jax.jit, static_argnames=(*_STATIC, "batch_size", "use_sweep"))
def _grad_core(
    circuit, plan, noise, budget, allocation, method, trajectories, batch, batch_size, use_sweep, params, key, state
):
    """``noisy_param_shift_grad`` after validation (one compiled program per static structure)."""
    rot, par, scale = shift_table(circuit)
    grad = jnp.zeros(circuit.n_params, params.dtype)
    if rot.size == 0:
        return grad, ShotLedger.zero()
    angles = circuit.angles(params)
    keys = None if key is None else jax.random.split(key, 2 * rot.size)
    if use_sweep:
        real = jnp.real(jnp.zeros((), complex_dtype_for(angles, state))).dtype
        means = shifted_setting_means(circuit, angles, plan, noise, state).astype(real)  # (2R, G)

        def sample(m, k):
            return sample_plan(plan, [m[g : g + 1] for g in range(plan.n_settings)], budget, allocation, k, real)

        if keys is None:
            vals, ledgers = jax.vmap(lambda m: sample(m, None))(means)
        else:
            vals, ledgers = jax.vmap(sample)(means, keys)
    else:
        eye = np.zeros((rot.size, circuit.num_rotations))
        eye[np.arange(rot.size), rot] = 0.5 * np.pi
        shifted = angles[None, :] + jnp.asarray(np.concatenate([eye, -eye]), angles.dtype)

        def value(a, k):
            return _plan_value(circuit, a, plan, noise, budget, allocation, k, method, trajectories, batch, state)

        if keys is None:
            xs = (shifted,)
            fn = lambda a: value(a, None)  # noqa: E731
        else:
            xs = (shifted, keys)
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
    total_shots=None,
    allocation: str | None = None,
    grouping="qwc",
    method: str = "density",
    trajectories: int = 64,
    batch: int | None = None,
    batch_size: int | None = None,
    sweep: bool | None = None,
) -> GradientEstimator:
    """Noisy parameter-shift training estimator (a ``GradientEstimator`` of kind ``"param_shift"``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``: ``key`` is split into
    ``(k_f, k_g)`` as in ``param_shift_estimator``; ``f_hat`` from one independent noisy circuit,
    ``grad_hat`` from ``noisy_param_shift_grad`` (``sweep`` as there). Ledger ``(2R + 1) G``
    executions, each with ``shots`` shots; ``total_shots`` instead gives every circuit that budget,
    split over its settings by ``allocation`` (the record's ``shots`` is then None, as without
    noise). With neither, the exact noisy f and gradient (density method) with a zero ledger.
    Pure: jit and vmap it freely.
    """
    noise, budget, allocation = _prepare(
        circuit, noise, shots, total_shots, allocation, method, trajectories, batch, "noisy_param_shift_estimator"
    )
    plan = noisy_value_plan(observable, circuit.n_qubits, grouping)
    use_sweep = _resolve_sweep(sweep, plan, method, batch_size, "noisy_param_shift_estimator")
    n_rot = int(shift_table(circuit)[0].size)
    per_setting = allocation in (None, "per_setting")
    counts = {"shots": budget} if per_setting else {"total_shots": budget, "allocation": allocation}

    def estimator(params, state, key):
        params = circuit.check_params(params)
        if key is None:
            k_f = k_g = None
        else:
            k_f, k_g = jax.random.split(key)
        _check_key(key, budget, method, "noisy_param_shift_estimator")
        f_hat, led_f = _value_core(
            circuit, plan, noise, budget, allocation, method, trajectories, batch, params, k_f, state
        )
        grad, led_g = noisy_param_shift_grad(
            circuit,
            params,
            None,
            noise,
            key=k_g,
            state=state,
            grouping=plan,
            method=method,
            trajectories=trajectories,
            batch=batch,
            batch_size=batch_size,
            sweep=use_sweep,
            **counts,
        )
        return f_hat, grad, led_f + led_g

    return GradientEstimator(
        "param_shift",
        estimator,
        (2 * n_rot + 1) * plan.n_settings if budget is not None else 0,
        budget if allocation == "per_setting" else None,
        plan,
    )
