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
every pass over all circuits. With ``DENSE_SUFFIXES`` (off by default: no faster inside the training
step) and small n (``2**n (M + 2R) <= 2R M`` for M rows and R shifted rotations: the paper's 4-qubit
circuits) the remainders come instead from dense suffix unitaries
``S_r`` (one reverse scan of column passes over a ``2**n x 2**n`` matrix, then one batched
matrix-vector product), fewer amplitude updates for the same states. ``batch_size`` (which bounds
memory) takes the plain path: a ``lax.map`` in batches of full simulations over the stacked angle
vectors.
With shots, each shifted circuit measures the observable with its ``MeasurementPlan`` (G settings),
independently of the others, so the ledger is ``2 R G`` executions and ``2 R G shots`` shots (``shots`` per
setting; spec section 4: every circuit run uses N shots).
``param_shift_estimator`` adds one independent circuit for ``f`` (G more executions). When every
setting is one Pauli and ``shots`` is per setting, the exact values of all circuits are computed
first and their binomial readouts drawn in ONE ``sampling.binomial`` call from ``key`` (the same law
as one ``estimate_state`` per circuit, without a key split and a tiny draw per circuit); otherwise
``key`` is split once per shifted circuit.

Small n (``_use_transfer``: single-Pauli settings and ``(1 + 3 G) 2**n < 2R``, e.g. the paper's 4-qubit,
96-rotation SC and NSC): the exact values of all 2R shifted circuits and of the circuit itself come from
ONE forward sweep of the input state and ONE backward sweep of the settings' Paulis as real vectors over
the ``4**n`` Pauli strings (``transfer.shift_contractions``), instead of 2R statevector remainders; the
draws and their keys are those of the statevector path (same key, same estimates up to rounding).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit
from ..core.kernels import apply_rotation, pauli_expectation, right_rotate
from ..core.keys import check_key
from ..core.simulator import group_states, initial_state, rotation_batch, statevector, statevector_from_angles
from ..core.types import Key, Observable, Params, State
from .estimator import GradientEstimator, exact_estimator
from .expectation import as_plan, estimate_state, plan_expectation, resolve_shots
from .ledger import ShotLedger
from .sampling import binomial, binomial_estimate
from .transfer import pauli_index, pauli_vector, shift_contractions, transfer_size

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


def _row_angles(circuit: Circuit, params):
    """``Circuit.rotation_rows`` (table, row -> rotation or -1, fixed angles) with every row's angle."""
    angles = circuit.angles(params)
    table, row_rot, fixed = circuit.rotation_rows
    row_angles = jnp.where(
        jnp.asarray(row_rot >= 0), angles[jnp.asarray(np.maximum(row_rot, 0))], jnp.asarray(fixed, angles.dtype)
    )
    return table, row_rot, row_angles


def _shifted_states(circuit: Circuit, params, state, rows=None) -> jax.Array:
    """(2R, 2**n) final states of the shifted circuits: ONE prefix sweep (``simulator.group_states``)
    and ONE batched scan over the remainders (``simulator.rotation_batch``), rows 0..R-1 shifted
    by +pi/2 and R..2R-1 by -pi/2, as ``_shifted_angles``. ``rows``: an int array of circuits to run
    (in [0, 2R)), e.g. one device's share (``GradientEstimator.part``); None: all 2R."""
    start, masks, idx, sign = _suffix_tables(circuit)
    if rows is not None:
        start, masks, idx, sign = (jnp.asarray(t)[rows] for t in (start, masks, idx, sign))
    table, row_rot, row_angles = _row_angles(circuit, params)
    real = row_angles.dtype
    gen = np.stack(table.index_masks(), axis=1).astype(np.int32)
    prefix = group_states(initial_state(circuit, params, state), gen[:, None, :], row_angles[:, None])
    ext = jnp.concatenate([row_angles, jnp.zeros(1, real), jnp.full(1, 0.5 * np.pi, real)])
    th = ext[jnp.asarray(idx)] * sign.astype(real)
    lengths = None if rows is not None else (idx != idx.shape[1]).sum(1)  # static only for the full set
    return rotation_batch(prefix[jnp.asarray(start)], masks, th, lengths=lengths)


#: The dense-suffix path gives the 2R shifted states 3x faster alone (n = 4, 20 seeds vmapped), but inside
#: the vmapped, scanned training step it measured no faster than the batched remainders (three
#: interleaved runs at load 10-13; benchmarks/RESULTS.md): off by default, kept for measurement
#: (``benchmarks/bench_training.py --kinds param_shift_dense``).
DENSE_SUFFIXES = False


def _dense_suffixes(circuit: Circuit) -> bool:
    """Whether the shifted states come cheaper from the suffix unitaries (``_shifted_states_dense``):
    their ``M + 2R`` passes over ``4**n`` entries against ``2R`` remainders of up to ``M`` passes
    over ``2**n`` amplitudes (M rows, R trainable rotations), i.e. ``2**n (M + 2R) <= 2R M``
    (about n <= 5 for the paper's 96-rotation circuits)."""
    if not DENSE_SUFFIXES:
        return False
    n_rows = len(circuit.rotation_rows[1])
    two_r = 2 * int(shift_table(circuit)[0].size)
    return 2**circuit.n_qubits * (n_rows + two_r) <= two_r * n_rows


def _suffix_step(s, row):
    """Reverse-scan body of ``_shifted_states_dense``: ``S_{r-1} = S_r R_r``."""
    m, th = row
    return right_rotate(s, m[0], m[1], m[2], th), s


def _shifted_states_dense(circuit: Circuit, params, state) -> jax.Array:
    """The (2R, 2**n) states of ``_shifted_states`` from dense suffix unitaries (small n).

    ``S_r`` = product of rows r+1..M-1 (a ``2**n x 2**n`` matrix) for every row by ONE reverse scan
    (``S_{M-1} = I``, ``S_{r-1} = S_r R_r``, one rotation pass over the matrix rows each), the prefix
    states ``phi_r`` by one forward sweep (``simulator.group_states``); shifted circuit ``(r, +-)`` ends
    in ``S_r R_{P_r}(+-pi/2) phi_r``: one batched rotation pass and one batched matrix-vector product.
    Exact in exact arithmetic (the same products, re-associated).
    """
    rot, _, _ = shift_table(circuit)
    table, row_rot, row_angles = _row_angles(circuit, params)
    real = row_angles.dtype
    gen = np.stack(table.index_masks(), axis=1).astype(np.int32)
    pos = np.flatnonzero(row_rot >= 0)[rot]  # row of each trainable rotation
    psi0 = initial_state(circuit, params, state)
    prefix = group_states(psi0, gen[:, None, :], row_angles[:, None])
    eye = jnp.eye(psi0.shape[0], dtype=psi0.dtype)
    suffix = lax.scan(_suffix_step, eye, (jnp.asarray(gen), row_angles), reverse=True)[1]  # (M, D, D): S_r
    phi = jnp.concatenate([prefix[pos], prefix[pos]])
    m = np.concatenate([gen[pos], gen[pos]])
    half = jnp.asarray(np.concatenate([np.full(rot.size, 0.5 * np.pi), np.full(rot.size, -0.5 * np.pi)]), real)
    chi = jax.vmap(apply_rotation)(phi, m[:, 0], m[:, 1], m[:, 2], half)
    s = suffix[jnp.asarray(np.concatenate([pos, pos]))]
    return jnp.einsum("cab,cb->ca", s, chi)


def _use_transfer(circuit: Circuit, plan) -> bool:
    """Whether the shifted values come from Pauli-transfer sweeps (``measure.transfer``): single-Pauli
    settings, and ``(1 + 3 G) 2**n < 2 R`` (G settings, R shifted rotations), i.e. the two sweeps and the
    per-row contractions over ``4**n`` entries cost less than ``2 R`` statevector remainders over ``2**n``
    amplitudes (the paper's n = 4 circuits: 64 < 192; n = 8: not taken). Not with ``DENSE_SUFFIXES`` on
    (that opt-in path is kept for measurement)."""
    if DENSE_SUFFIXES or not _single_paulis(plan) or plan.n_settings == 0:
        return False
    two_r = 2 * int(shift_table(circuit)[0].size)
    return two_r > 0 and (1 + 3 * plan.n_settings) * 2**circuit.n_qubits < two_r


def _observable_vectors(plan, n: int) -> np.ndarray:
    """(G, 4**n) Pauli-transfer vectors of a plan's single-Pauli settings (signs included)."""
    out = np.zeros((plan.n_settings, transfer_size(n)))
    for g, d in enumerate(plan.settings):
        x, z, _ = d.paulis.index_masks()
        out[g, pauli_index(x[0], z[0], n)] = -1.0 if int(d.paulis.phase[0]) % 4 == 2 else 1.0
    return out


def _transfer_values(circuit: Circuit, plan, params, state) -> tuple[jax.Array, jax.Array]:
    """((2R, G) exact ``<P_g>`` of the shifted circuits as ``_shifted_states`` orders them, (G,) of the
    circuit itself), from Pauli-transfer sweeps (``transfer.shift_contractions``: the input state
    forward, the settings' Paulis backward). With ``R_P(t +- pi/2) = R_P(+-pi/2) R_P(t)`` the shifted
    value at row i is ``comm_i +- flip_i``."""
    n = circuit.n_qubits
    rot, _, _ = shift_table(circuit)
    table, row_rot, row_angles = _row_angles(circuit, params)
    real = row_angles.dtype
    pos = np.flatnonzero(row_rot >= 0)[rot]  # row of each trainable rotation
    r0 = pauli_vector(initial_state(circuit, params, state))
    h0 = jnp.asarray(_observable_vectors(plan, n), real)
    comm, flip, final = shift_contractions(r0, h0, table, row_angles, pos)
    return jnp.concatenate([comm + flip, comm - flip]), final


def _single_pauli_state_estimate(vals, plan, shots, key) -> jax.Array:
    """``estimate_state(psi, plan, shots, key=key)[0]`` of a single-Pauli plan from its (G,) exact values
    ``<P_g>`` (the same key split and binomial draws)."""
    real = vals.dtype
    keys = jax.random.split(key, plan.n_settings)
    total = jnp.asarray(plan.constant, real)
    for g, coeffs in enumerate(plan.coeffs):
        est = binomial_estimate(vals[g], shots, key=keys[g]).reshape(1)
        est = jnp.where(jnp.isfinite(vals[g]), est, jnp.nan)
        total = total + jnp.sum(jnp.asarray(coeffs, real) * est)
    return total


def _single_paulis(plan) -> bool:
    """Whether every setting of the plan is one Pauli (read by one binomial draw)."""
    return all(len(d) == 1 for d in plan.settings)


def _single_pauli_values(psi, plan) -> jax.Array:
    """(G,) exact ``<P_g>`` of a plan whose settings are single Paulis (signs included)."""
    out = []
    for d in plan.settings:
        x, z, ny = d.paulis.index_masks()
        out.append(pauli_expectation(psi, int(x[0]), int(z[0]), int(ny[0]) + int(d.paulis.phase[0])))
    return jnp.stack(out)


def _single_pauli_estimates(exact, plan, shots, key, rows=None, n_rows=None) -> jax.Array:
    """(C,) shot estimates of ``<O>`` from the (C, G) exact ``<P_g>`` of C circuits.

    The law of ``estimate_state(psi, plan, shots, key=...)`` per circuit (setting g:
    ``2 Binomial(shots, (1 + <P_g>)/2) / shots - 1``, independent over circuits and settings), drawn
    by ONE ``sampling.binomial`` call over all C x G lanes from ``key``: one key split and one tiny
    draw per circuit cost more than the draws themselves. A non-finite value gives NaN, as the exact
    path does. ``rows``/``n_rows``: these C circuits are rows of a call on ``n_rows`` circuits, and
    draw what that call gives them (``sampling.binomial``).
    """
    real = exact.dtype
    n = jnp.asarray(shots).astype(real)
    plus = binomial(key, n, jnp.clip(0.5 * (1 + exact), 0, 1), rows=rows, n_rows=n_rows)
    est = jnp.where(jnp.isfinite(exact), 2 * plus / n - 1, jnp.nan)
    coeffs = jnp.asarray(np.array([c[0] for c in plan.coeffs]), real)
    return jnp.asarray(plan.constant, real) + jnp.sum(coeffs[None, :] * est, axis=-1)


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
        key: jax.random key (required with shots): one draw for single-Pauli settings, else split
            once per shifted circuit.
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
    # single-Pauli settings with shots per setting: exact values first, then ONE binomial draw
    one_draw = budget is not None and allocation == "per_setting" and _single_paulis(plan)
    keys = None if budget is None or one_draw else jax.random.split(key, 2 * n_rot)
    if shared and one_draw and _use_transfer(circuit, plan):  # small n: one Pauli-transfer scan
        vals = _transfer_values(circuit, plan, params, state)[0]
    elif shared:  # prefixes shared: one sweep, then all 2R remainders in one batched scan
        dense = _dense_suffixes(circuit)
        states = (_shifted_states_dense if dense else _shifted_states)(circuit, params, state)
        if budget is None:
            vals = jax.vmap(lambda psi: plan_expectation(psi, plan))(states)
            ledger = ShotLedger.zero()
        elif one_draw:
            vals = jax.vmap(lambda psi: _single_pauli_values(psi, plan))(states)
        else:
            vals, ledgers = jax.vmap(lambda psi, k: _estimate(psi, plan, budget, k, allocation))(states, keys)
            ledger = ledgers.sum()
    elif budget is None or one_draw:

        def value(angles):
            psi = statevector_from_angles(circuit, angles, state)
            return _single_pauli_values(psi, plan) if one_draw else plan_expectation(psi, plan)

        vals = _map(value, (shifted,), batch_size)
        ledger = ShotLedger.zero()
    else:

        def value_shots(angles, k):
            psi = statevector_from_angles(circuit, angles, state)
            return _estimate(psi, plan, budget, k, allocation)

        vals, ledgers = _map(value_shots, (shifted, keys), batch_size)
        ledger = ledgers.sum()
    if one_draw:
        vals = _single_pauli_estimates(vals, plan, budget, key)
        ledger = ShotLedger.of(2 * n_rot * plan.n_settings, 2 * n_rot * plan.n_settings * budget)
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
    if allocation == "per_setting" and _single_paulis(plan):  # as _grad: rows of ONE binomial draw
        vals = jax.vmap(lambda psi: _single_pauli_values(psi, plan))(states)
        vals = _single_pauli_estimates(vals, plan, budget, k_g, rows=c, n_rows=2 * n_rot)
        ledgers = ShotLedger.of(jnp.full(c.shape, plan.n_settings), jnp.full(c.shape, plan.n_settings * budget))
    else:
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

    n_rot = int(shift_table(circuit)[0].size)

    def estimator(params, state, key):
        k_f, k_g = jax.random.split(key)
        if allocation == "per_setting" and batch_size is None and _use_transfer(circuit, plan):
            # the circuit's and the shifted circuits' exact values from Pauli-transfer sweeps
            params = circuit.check_params(params)
            check_key(k_g, "param_shift_estimator: key")
            vals, f_vals = _transfer_values(circuit, plan, params, state)
            f_hat = _single_pauli_state_estimate(f_vals, plan, budget, k_f)
            vals = _single_pauli_estimates(vals, plan, budget, k_g)
            d_angles = 0.5 * (vals[:n_rot] - vals[n_rot:])
            _, par, scale = shift_table(circuit)
            grad = jnp.zeros(circuit.n_params, params.dtype)
            grad = grad.at[par].add(jnp.asarray(scale, params.dtype) * d_angles.astype(params.dtype))
            g = plan.n_settings
            return f_hat, grad, ShotLedger.of((2 * n_rot + 1) * g, (2 * n_rot + 1) * g * budget)
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
