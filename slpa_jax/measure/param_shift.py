"""Parameter-shift gradients, exact and with shots (the baseline estimator of the paper).

For ``R_P(theta) = exp(-i theta P / 2)`` with a Pauli ``P`` (eigenvalues +/-1), the derivative of
``f`` with respect to one rotation angle is exactly ``(f(theta_r + pi/2) - f(theta_r - pi/2)) / 2``.
We shift every trainable *rotation* (not every parameter) through the circuit's angle vector
(``Circuit.angles``) and combine per parameter with the chain rule,
``df/dparams[p] = sum_{r: param(r) = p} scale_r * df/dangle_r``, which handles shared parameters and
scaled or negated rotations. Fixed rotations (``param=None``) are not shifted.

The 2R shifted circuits are one ``vmap`` (or a ``lax.map`` in batches with ``batch_size``) over the
stacked angle vectors. With shots, each shifted circuit measures the observable with its
``MeasurementPlan`` (G settings) and its own key, so the ledger is ``2 R G`` executions and
``2 R G shots`` shots with the default ``allocation="per_setting"`` (spec section 4: every circuit run
uses N shots). ``make_estimator`` adds one independent circuit for ``f`` (G more executions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.simulator import statevector, statevector_from_angles
from .expectation import ALLOCATIONS, _as_plan, estimate_state, plan_expectation
from .ledger import ShotLedger
from .sampling import check_shots

__all__ = ["shift_table", "param_shift_grad", "make_estimator"]


def shift_table(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static map of the shifted rotations.

    Returns:
        ``(rotation_index, param_index, scale)``, each (R,) for the R trainable rotations in circuit
        order: position in ``circuit.rotations``, the parameter it reads, and ``d angle / d param``.
    """
    rot, par, scale = [], [], []
    for r, op in enumerate(circuit.rotations):
        if op.param is not None:
            rot.append(r)
            par.append(op.param)
            scale.append(op.scale)
    return np.array(rot, np.int32), np.array(par, np.int32), np.array(scale, np.float64)


def _shifted_angles(circuit: Circuit, params) -> tuple[jax.Array, np.ndarray, np.ndarray]:
    """(2R, num_rotations) angle vectors: rows 0..R-1 shifted by +pi/2, rows R..2R-1 by -pi/2."""
    rot, par, scale = shift_table(circuit)
    angles = circuit.angles(params)
    eye = np.zeros((rot.size, circuit.num_rotations))
    eye[np.arange(rot.size), rot] = 0.5 * np.pi
    shifts = jnp.asarray(np.concatenate([eye, -eye]), angles.dtype)
    return angles[None, :] + shifts, par, scale


def _map(fn, xs, batch_size):
    if batch_size is None:
        return jax.vmap(fn)(*xs)
    return jax.lax.map(lambda row: fn(*row), xs, batch_size=batch_size)


def param_shift_grad(
    circuit: Circuit,
    params,
    observable,
    *,
    shots=None,
    key=None,
    state=None,
    grouping="qwc",
    allocation: str = "per_setting",
    batch_size: int | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Parameter-shift gradient of ``f(params) = <state| U^dag O U |state>``.

    Args:
        circuit: the circuit ``U`` (Pauli rotations, possibly shared/scaled parameters, Clifford gates).
        params: (n_params,) parameters.
        observable: label, Pauli, PauliSum or list of (coefficient, label); Hermitian.
        shots: None for the exact gradient, or shots per shifted circuit (per setting with the
            default ``allocation="per_setting"``, the total over settings otherwise).
        key: jax.random key (required with shots); split once per shifted circuit.
        state: optional (2**n,) input state (default |0...0>).
        grouping: "qwc", "gc", "none" or a ``MeasurementPlan``.
        allocation: shot allocation over the settings of each circuit (``estimators.ALLOCATIONS``).
        batch_size: None to vmap all 2R shifted circuits at once; an int runs them in batches of
            that size (``lax.map``) to bound memory at ``batch_size * 2**n`` amplitudes.

    Returns:
        ``(grad (n_params,), ledger)``; exact mode returns a zero ledger. Ledger with shots:
        ``2 R G`` executions (R trainable rotations, G settings).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"param_shift_grad: expected a Circuit, got {type(circuit).__name__}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation: expected one of {list(ALLOCATIONS)}, got {allocation!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
    plan = _as_plan(observable, circuit.n_qubits, grouping)
    params = circuit.check_params(params)
    if shots is not None:
        check_shots(shots)
        if key is None:
            raise ValueError("param_shift_grad: key is required when shots is given; pass key=jax.random.key(seed)")
    shifted, par, scale = _shifted_angles(circuit, params)
    n_rot = par.size
    grad = jnp.zeros(circuit.n_params, params.dtype)
    if n_rot == 0:
        return grad, ShotLedger.zero()

    if shots is None:

        def value(angles):
            return plan_expectation(statevector_from_angles(circuit, angles, state), plan)

        vals = _map(value, (shifted,), batch_size)
        ledger = ShotLedger.zero()
    else:

        def value_shots(angles, k):
            psi = statevector_from_angles(circuit, angles, state)
            return estimate_state(psi, plan, shots, key=k, allocation=allocation)

        vals, ledgers = _map(value_shots, (shifted, jax.random.split(key, 2 * n_rot)), batch_size)
        ledger = ledgers.sum()
    d_angles = 0.5 * (vals[:n_rot] - vals[n_rot:])
    grad = grad.at[par].add(jnp.asarray(scale, params.dtype) * d_angles.astype(params.dtype))
    return grad, ledger


def make_estimator(
    circuit: Circuit,
    observable,
    shots,
    *,
    grouping="qwc",
    allocation: str = "per_setting",
    batch_size: int | None = None,
):
    """Parameter-shift gradient estimator for training (design.md "Gradient estimators").

    Returns ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``: ``f_hat`` from one extra,
    independent circuit (its own key), ``grad_hat`` from the 2R shifted circuits; the ledger counts
    ``(2R + 1) G`` executions and ``(2R + 1) G shots`` shots (per-setting allocation). With
    ``shots=None`` it returns the exact value and gradient (adjoint sweep, equal to the exact
    parameter-shift rule), a zero ledger, and ignores the key. Pure: jit and vmap it freely.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"make_estimator: expected a Circuit, got {type(circuit).__name__}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation: expected one of {list(ALLOCATIONS)}, got {allocation!r}")
    plan = _as_plan(observable, circuit.n_qubits, grouping)
    if shots is None:
        from ..train.training import exact_estimator  # deferred: training loads optax and flax

        return exact_estimator(circuit, plan.observable)
    check_shots(shots)

    def estimator(params, state, key):
        k_f, k_g = jax.random.split(key)
        psi = statevector(circuit, params, state)
        f_hat, led_f = estimate_state(psi, plan, shots, key=k_f, allocation=allocation)
        grad, led_g = param_shift_grad(
            circuit,
            params,
            None,
            shots=shots,
            key=k_g,
            state=state,
            grouping=plan,
            allocation=allocation,
            batch_size=batch_size,
        )
        return f_hat, grad, led_f + led_g

    return estimator
