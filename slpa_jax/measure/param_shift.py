"""Parameter-shift gradients, exact and with shots (the baseline estimator of the paper).

For ``R_P(theta) = exp(-i theta P / 2)`` with a Pauli ``P`` (eigenvalues +/-1), the derivative of
``f`` with respect to one rotation angle is exactly ``(f(theta_r + pi/2) - f(theta_r - pi/2)) / 2``.
We shift every trainable *rotation* (not every parameter) through the circuit's angle vector
(``Circuit.angles``) and combine per parameter with the chain rule,
``df/dparams[p] = sum_{r: param(r) = p} scale_r * df/dangle_r``, which handles shared parameters and
scaled or negated rotations. Fixed rotations (``param=None``) are not shifted.

The 2R shifted circuits share their prefixes: the circuit runs as its rotation rows
(``Circuit.rotation_rows``, Clifford gates as fixed rotations), and shifted circuit ``(r, +-)`` is
rows up to rotation ``r`` (one sweep for all r, ``simulator.group_states``), then ``R_{P_r}(+-pi/2)``
and the later rows; the remainders run as ONE batched ``lax.scan`` (``simulator.rotation_batch``),
every pass over all circuits. ``batch_size`` (which bounds memory) takes the plain path: a
``lax.map`` in batches of full simulations over the stacked angle vectors.
With shots, each shifted circuit measures the observable with its ``MeasurementPlan`` (G settings)
and its own key, so the ledger is ``2 R G`` executions and ``2 R G shots`` shots (``shots`` per
setting; spec section 4: every circuit run uses N shots).
``param_shift_estimator`` adds one independent circuit for ``f`` (G more executions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.keys import check_key
from ..core.simulator import group_states, initial_state, rotation_batch, statevector, statevector_from_angles
from ..core.types import Key, Observable, Params, State
from .estimator import GradientEstimator, exact_estimator
from .expectation import as_plan, estimate_state, plan_expectation, resolve_shots
from .ledger import ShotLedger

__all__ = ["shift_table", "param_shift_grad", "param_shift_estimator"]


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


def _suffix_tables(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Static tables of the 2R shifted circuits run from shared prefixes.

    The circuit runs as its rotation rows (``Circuit.rotation_rows``: Clifford gates as fixed
    rotations). Shifted circuit ``(r, +-)`` starts from the state after the row of trainable
    rotation ``r`` (one shared sweep), applies ``R_{P_r}(+-pi/2)`` (``R_P(t +- pi/2) = R_P(+-pi/2)
    R_P(t)``) and then the later rows, padded with the identity to M rows. Angles index
    ``ext = [row angles (M), 0, pi/2]``.

    Returns ``(start (2R,), masks (2R, M, 3), idx (2R, M), sign (2R, M))``.
    """
    rot, _, _ = shift_table(circuit)
    table, row_rot, _ = circuit.rotation_rows
    n_rows = len(row_rot)
    pos = np.flatnonzero(row_rot >= 0)[rot]  # row of each trainable rotation
    gen = np.stack(table.index_masks(), axis=1).astype(np.int32)
    masks = np.zeros((2 * rot.size, n_rows, 3), np.int32)
    idx = np.full((2 * rot.size, n_rows), n_rows, np.int32)
    sign = np.ones((2 * rot.size, n_rows))
    for half, s in enumerate((1.0, -1.0)):
        for i, r in enumerate(pos):
            c = half * rot.size + i
            rows = [r] + list(range(r + 1, n_rows))
            masks[c, : len(rows)] = gen[rows]
            idx[c, : len(rows)] = [n_rows + 1] + rows[1:]
            sign[c, 0] = s
    return np.concatenate([pos, pos]).astype(np.int32), masks, idx, sign


def _shifted_states(circuit: Circuit, params, state, rows=None) -> jax.Array:
    """(2R, 2**n) final states of the shifted circuits: ONE prefix sweep (``simulator.group_states``)
    and ONE batched scan over the remainders (``simulator.rotation_batch``), rows 0..R-1 shifted
    by +pi/2 and R..2R-1 by -pi/2, as ``_shifted_angles``. ``rows``: an int array of circuits to run
    (in [0, 2R)), e.g. one device's share (``GradientEstimator.part``); None: all 2R."""
    start, masks, idx, sign = _suffix_tables(circuit)
    if rows is not None:
        start, masks, idx, sign = (jnp.asarray(t)[rows] for t in (start, masks, idx, sign))
    angles = circuit.angles(params)
    real = angles.dtype
    table, row_rot, fixed = circuit.rotation_rows
    row_angles = jnp.where(
        jnp.asarray(row_rot >= 0), angles[jnp.asarray(np.maximum(row_rot, 0))], jnp.asarray(fixed, real)
    )
    gen = np.stack(table.index_masks(), axis=1).astype(np.int32)
    prefix = group_states(initial_state(circuit, params, state), gen[:, None, :], row_angles[:, None])
    ext = jnp.concatenate([row_angles, jnp.zeros(1, real), jnp.full(1, 0.5 * np.pi, real)])
    return rotation_batch(prefix[jnp.asarray(start)], masks, ext[jnp.asarray(idx)] * sign.astype(real))


def _map(fn, xs, batch_size):
    if batch_size is None:
        return jax.vmap(fn)(*xs)
    return jax.lax.map(lambda row: fn(*row), xs, batch_size=batch_size)


def param_shift_grad(
    circuit: Circuit,
    params: Params,
    observable: Observable,
    *,
    shots=None,
    total_shots=None,
    key: Key | None = None,
    state: State | None = None,
    grouping="qwc",
    allocation: str | None = None,
    batch_size: int | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Parameter-shift gradient of ``f(params) = <state| U^dag O U |state>``.

    Args:
        circuit: the circuit ``U`` (Pauli rotations, possibly shared/scaled parameters, Clifford gates).
        params: (n_params,) parameters.
        observable: label, Pauli, PauliSum or list of (coefficient, label); Hermitian.
        shots: shots of every measurement setting of every shifted circuit; or None.
        total_shots: a budget per shifted circuit, split over its settings by ``allocation``; or
            None. With neither, the exact gradient and a zero ledger.
        key: jax.random key (required with shots); split once per shifted circuit.
        state: optional (2**n,) input state (default |0...0>).
        grouping: "qwc", "gc", "none" or a ``MeasurementPlan``.
        allocation: with ``total_shots``: "uniform" (default), "weighted" or "optimal".
        batch_size: None to vmap all 2R shifted circuits at once; an int runs them in batches of
            that size (``lax.map``) to bound memory at ``batch_size * 2**n`` amplitudes.

    Returns:
        ``(grad (n_params,), ledger)``; exact mode returns a zero ledger. Ledger with shots:
        ``2 R G`` executions (R trainable rotations, G settings).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"param_shift_grad: expected a Circuit, got {type(circuit).__name__}")
    budget, allocation = resolve_shots(shots, total_shots, allocation, "param_shift_grad")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
    plan = as_plan(observable, circuit.n_qubits, grouping)
    params = circuit.check_params(params)
    if budget is not None:
        if key is None:
            raise ValueError("param_shift_grad: key is required when shots is given; pass key=jax.random.key(seed)")
        check_key(key, "param_shift_grad: key")
    if shift_table(circuit)[0].size == 0:
        return jnp.zeros(circuit.n_params, params.dtype), ShotLedger.zero()
    key = None if budget is None else key  # exact mode draws nothing (and ignores the key)
    if budget is None or isinstance(budget, (int, np.integer)):  # one compiled program per static setup
        budget = None if budget is None else int(budget)
        return _grad_program(circuit, plan, budget, allocation, batch_size, params, state, key)
    return _grad(circuit, plan, budget, allocation, batch_size, params, state, key)


def _grad(circuit, plan, budget, allocation, batch_size, params, state, key):
    shifted, par, scale = _shifted_angles(circuit, params)
    n_rot = par.size
    grad = jnp.zeros(circuit.n_params, params.dtype)

    shared = batch_size is None
    keys = None if budget is None else jax.random.split(key, 2 * n_rot)
    if shared:  # prefixes shared: one sweep, then all 2R remainders in one batched scan
        states = _shifted_states(circuit, params, state)
        if budget is None:
            vals = jax.vmap(lambda psi: plan_expectation(psi, plan))(states)
            ledger = ShotLedger.zero()
        else:
            vals, ledgers = jax.vmap(lambda psi, k: _estimate(psi, plan, budget, k, allocation))(states, keys)
            ledger = ledgers.sum()
    elif budget is None:

        def value(angles):
            return plan_expectation(statevector_from_angles(circuit, angles, state), plan)

        vals = _map(value, (shifted,), batch_size)
        ledger = ShotLedger.zero()
    else:

        def value_shots(angles, k):
            psi = statevector_from_angles(circuit, angles, state)
            return _estimate(psi, plan, budget, k, allocation)

        vals, ledgers = _map(value_shots, (shifted, keys), batch_size)
        ledger = ledgers.sum()
    d_angles = 0.5 * (vals[:n_rot] - vals[n_rot:])
    grad = grad.at[par].add(jnp.asarray(scale, params.dtype) * d_angles.astype(params.dtype))
    return grad, ledger


_grad_program = jax.jit(_grad, static_argnums=(0, 1, 2, 3, 4))


def _shift_part(circuit, plan, budget, allocation, params, state, key, idx):
    """``GradientEstimator.part`` of ``param_shift_estimator``: the shifted circuits ``idx`` (units
    0..2R-1 as in ``_grad``; ``>= 2R`` padding) from the shared prefixes, each with its key of
    ``split(k_g, 2R)``; ``f_hat`` in full (its circuit counted in the part holding unit 0)."""
    k_f, k_g = jax.random.split(key)
    f_hat, led_f = _estimate(statevector(circuit, params, state), plan, budget, k_f, allocation)
    _, par, scale = shift_table(circuit)
    n_rot = par.size
    valid = idx < 2 * n_rot
    c = jnp.minimum(idx, 2 * n_rot - 1)
    states = _shifted_states(circuit, params, state, rows=c)
    keys = jax.random.split(k_g, 2 * n_rot)[c]
    vals, ledgers = jax.vmap(lambda psi, k: _estimate(psi, plan, budget, k, allocation))(states, keys)
    r = c % n_rot
    w = jnp.where(valid, jnp.where(c < n_rot, 0.5, -0.5) * jnp.asarray(scale, params.dtype)[r], 0.0)
    grad = jnp.zeros(circuit.n_params, params.dtype).at[jnp.asarray(par)[r]].add(w * vals.astype(params.dtype))
    has_f = jnp.any(idx == 0)
    ledger = ShotLedger(
        jnp.sum(jnp.where(valid, ledgers.executions, 0)) + jnp.where(has_f, led_f.executions, 0),
        jnp.sum(jnp.where(valid, ledgers.shots, 0)) + jnp.where(has_f, led_f.shots, 0),
    )
    return f_hat, grad, ledger


def _estimate(psi, plan, budget, key, allocation):
    """``estimate_state`` with ``budget`` per setting ("per_setting") or as the total."""
    if allocation == "per_setting":
        return estimate_state(psi, plan, budget, key=key)
    return estimate_state(psi, plan, total_shots=budget, key=key, allocation=allocation)


def param_shift_estimator(
    circuit: Circuit,
    observable,
    shots,
    *,
    total_shots=None,
    grouping="qwc",
    allocation: str | None = None,
    batch_size: int | None = None,
) -> GradientEstimator:
    """Parameter-shift gradient estimator for training (``estimator.GradientEstimator``, kind "param_shift").

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``: ``f_hat`` from one extra,
    independent circuit (its own key), ``grad_hat`` from the 2R shifted circuits (``units``: they
    split over devices through ``part``, estimator.py); the ledger counts
    ``(2R + 1) G`` executions (G measurement settings) and ``(2R + 1) G shots`` shots. ``total_shots``
    instead gives every circuit that budget, split over its settings by ``allocation``. With neither,
    it is ``estimator.exact_estimator`` (adjoint sweep, equal to the exact parameter-shift rule).
    Pure: jit and vmap it freely.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"param_shift_estimator: expected a Circuit, got {type(circuit).__name__}")
    budget, allocation = resolve_shots(shots, total_shots, allocation, "param_shift_estimator")
    plan = as_plan(observable, circuit.n_qubits, grouping)
    if budget is None:
        return exact_estimator(circuit, plan.observable)

    def estimator(params, state, key):
        k_f, k_g = jax.random.split(key)
        psi = statevector(circuit, params, state)
        f_hat, led_f = _estimate(psi, plan, budget, k_f, allocation)
        grad, led_g = param_shift_grad(
            circuit,
            params,
            None,
            key=k_g,
            state=state,
            grouping=plan,
            batch_size=batch_size,
            **({"shots": budget} if allocation == "per_setting" else {"total_shots": budget, "allocation": allocation}),
        )
        return f_hat, grad, led_f + led_g

    n_rot = int(shift_table(circuit)[0].size)
    per_circuit = plan.n_settings

    def part(params, state, key, idx):
        return _shift_part(circuit, plan, budget, allocation, params, state, key, idx)

    return GradientEstimator(
        "param_shift",
        estimator,
        (2 * n_rot + 1) * per_circuit,
        budget if allocation == "per_setting" else None,
        plan,
        2 * n_rot if n_rot else None,
        part if n_rot else None,
    )
