"""Shot-based estimators of expectation values: measurement plans, shot allocation, ledgers.

A Pauli sum ``O = c_0 I + sum_k c_k P_k`` is measured with a ``MeasurementPlan``: its non-identity
terms are grouped into commuting sets (``grouping.group_paulis``), each set is one measurement
setting (a Clifford diagonalisation, ``diagonalize.diagonalize_commuting``) executed once with
``N_g`` shots, and every term of the set is estimated from those same shots (correlated, as on
hardware). The identity coefficient is added exactly and costs nothing. Settings with a single
Pauli use the binomial fast path ``2 Binomial(N, (1 + <P>)/2)/N - 1`` (the same distribution).

Shots (one meaning per name, everywhere in the package): ``shots`` is the number of shots of every
setting (circuit execution); ``total_shots`` is a budget split over the G settings of one estimate
by ``allocation``:
- ``"per_setting"``: what ``shots=N`` means: every setting gets N shots (total ``G * N``; the spec's
  "every circuit run uses N shots");
- ``"uniform"`` (the default with ``total_shots``): the total split evenly;
- ``"weighted"``: total split proportional to the L1 norm ``sum_{k in g} |c_k|`` of each group;
- ``"optimal"``: total split proportional to ``sqrt(Var_g)``, where ``Var_g`` is the exact single-shot
  variance of the group's value ``sum_{k in g} c_k P_k`` in the measured state (the allocation that
  minimises ``sum_g Var_g / N_g`` at fixed total; it uses the simulator's exact state, an oracle a
  device would have to replace by estimates).
Totals are split into integers by largest remainder with at least one shot per setting, so they
sum exactly to ``total_shots``.

Every function returns a ``ShotLedger`` (executions = settings run, shots = shots drawn).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.kernels import pauli_expectation, pauli_expectations
from ..core.keys import check_key
from ..core.pauli import PauliSum, as_pauli_sum
from ..core.simulator import expectation, statevector, statevector_from_angles
from ..core.types import Key, Observable, Params, State
from .diagonalize import Diagonalization, diagonalize_commuting
from .grouping import group_paulis
from .ledger import ShotLedger
from .sampling import (
    binomial_estimate,
    check_shots,
    estimate_from_counts,
    parity_means,
    sample_counts,
    z_index_masks,
)

__all__ = [
    "ALLOCATIONS",
    "MeasurementPlan",
    "measurement_plan",
    "measure_setting",
    "allocate_shots",
    "setting_variances",
    "plan_expectation",
    "as_plan",
    "resolve_shots",
    "estimate_state",
    "estimate_expectation",
]

#: The largest shot count the sampler represents (int32 counts).
MAX_SHOTS = 2**31 - 1
ALLOCATIONS = ("per_setting", "uniform", "weighted", "optimal")
_GROUPINGS = ("qwc", "gc", "none")


@dataclass(frozen=True, eq=False)
class MeasurementPlan:
    """How to estimate ``<O>`` of a Hermitian Pauli sum from shots (static, host-side data).

    Attributes:
        n_qubits: qubit count.
        constant: float, the identity coefficient (added exactly, no shots).
        settings: one ``Diagonalization`` per group of commuting non-identity terms.
        coeffs: per setting, (m_g,) float64 real coefficients of its members.
        terms: per setting, (m_g,) indices of its members in ``observable``.
        observable: the merged ``PauliSum`` the plan measures (``as_pauli_sum(...).simplify()``).
        grouping: "qwc", "gc" or "none" (one setting per term).
    """

    n_qubits: int
    constant: float
    settings: tuple[Diagonalization, ...]
    coeffs: tuple[np.ndarray, ...]
    terms: tuple[np.ndarray, ...]
    observable: PauliSum
    grouping: str

    @property
    def n_settings(self) -> int:
        return len(self.settings)

    def __repr__(self) -> str:
        sizes = [len(s) for s in self.settings]
        return f"MeasurementPlan(n_qubits={self.n_qubits}, grouping={self.grouping!r}, setting sizes={sizes})"


def measurement_plan(
    observable, n_qubits: int | None = None, *, grouping: str = "qwc", method: str = "sorted_insertion"
) -> MeasurementPlan:
    """Group a Hermitian observable into jointly measured settings.

    Args:
        observable: label, Pauli, PauliSum or list of (coefficient, label); repeated strings are merged.
        n_qubits: expected qubit count (checked) or None.
        grouping: "qwc" (qubit-wise commuting), "gc" (general commuting) or "none" (one term per setting).
        method: grouping heuristic passed to ``group_paulis``.

    Raises:
        ValueError: non-Hermitian observable, unknown grouping, wrong qubit count.
    """
    if grouping not in _GROUPINGS:
        raise ValueError(f"grouping: expected one of {list(_GROUPINGS)} or a MeasurementPlan, got {grouping!r}")
    obs = as_pauli_sum(observable, n_qubits).simplify()
    coeffs = np.real(obs.coeffs)
    ident = obs.paulis.weights == 0
    constant = float(coeffs[ident].sum())
    active = np.flatnonzero(~ident)
    if active.size == 0:
        groups: list[np.ndarray] = []
    elif grouping == "none":
        groups = [np.array([k]) for k in range(active.size)]
    else:
        groups = group_paulis(obs.paulis[active], coeffs[active], kind=grouping, method=method)
    settings, cs, terms = [], [], []
    for g in groups:
        idx = active[np.asarray(g, dtype=np.int64)]
        settings.append(diagonalize_commuting(obs.paulis[idx]))
        cs.append(coeffs[idx].astype(np.float64))
        terms.append(idx)
    return MeasurementPlan(obs.n, constant, tuple(settings), tuple(cs), tuple(terms), obs, grouping)


def as_plan(observable, n_qubits: int, grouping) -> MeasurementPlan:
    """``grouping`` if it is a ``MeasurementPlan`` (qubit count checked), else ``measurement_plan(observable, ...)``.

    Plans are cached by the observable's terms, so the same observable gives the same plan object
    (the entry points' compiled programs, keyed on the plan, are then reused).
    """
    if isinstance(grouping, MeasurementPlan):
        if grouping.n_qubits != n_qubits:
            raise ValueError(f"grouping: the MeasurementPlan acts on {grouping.n_qubits} qubits, expected {n_qubits}")
        return grouping
    if grouping not in _GROUPINGS:
        raise ValueError(f"grouping: expected one of {list(_GROUPINGS)} or a MeasurementPlan, got {grouping!r}")
    obs = as_pauli_sum(observable, n_qubits)
    terms = tuple(zip(obs.paulis.labels(), obs.coeffs.tolist()))
    return _cached_plan(terms, obs.n, grouping)


@functools.lru_cache(maxsize=256)
def _cached_plan(terms: tuple, n_qubits: int, grouping: str) -> MeasurementPlan:
    return measurement_plan([(c, label) for label, c in terms], n_qubits, grouping=grouping)


def _check_state(state, n_qubits: int | None = None) -> jax.Array:
    state = jnp.asarray(state)
    if state.ndim != 1 or state.shape[0] < 2 or (state.shape[0] & (state.shape[0] - 1)):
        raise ValueError(f"state: expected a (2**n,) statevector, got shape {tuple(state.shape)}")
    if n_qubits is not None and state.shape[0] != 2**n_qubits:
        raise ValueError(f"state: expected shape ({2**n_qubits},) for {n_qubits} qubits, got {tuple(state.shape)}")
    if not jnp.iscomplexobj(state):
        state = state.astype(jnp.result_type(state.dtype, jnp.complex64))
    return state


def _rotated_probs(state: jax.Array, diag: Diagonalization) -> jax.Array:
    """|C psi|^2 for the setting's Clifford C."""
    real = jnp.real(state).dtype
    psi = statevector_from_angles(diag.clifford, jnp.zeros(diag.clifford.num_rotations, real), state)
    return jnp.real(psi) ** 2 + jnp.imag(psi) ** 2


def measure_setting(
    state: State, diag: Diagonalization, shots, *, key: Key | None = None
) -> tuple[jax.Array, ShotLedger]:
    """Measure one setting: apply ``diag.clifford`` to ``state``, draw ``shots`` shots once.

    Args:
        state: (2**n,) statevector (need not be normalised for the shot path; exact values assume it is).
        diag: the setting (``diagonalize_commuting``).
        shots: positive int, or None for exact expectation values.
        key: jax.random key (required when shots is not None).

    Returns:
        ``(estimates (m,), ledger)``: correlated estimates of ``<P_k>`` for every member (signs
        included) and ``ShotLedger.of(1, shots)`` (zero ledger when exact).
    """
    if not isinstance(diag, Diagonalization):
        raise TypeError(f"measure_setting: diag must be a Diagonalization, got {type(diag).__name__}")
    state = _check_state(state, diag.n_qubits)
    probs = _rotated_probs(state, diag)
    if shots is None:
        exact = parity_means(probs, z_index_masks(diag.z_masks))
        return jnp.asarray(diag.signs, probs.dtype) * exact, ShotLedger.zero()
    check_shots(shots)
    if key is None:
        raise ValueError("measure_setting: key is required when shots is given; pass key=jax.random.key(seed)")
    check_key(key, "measure_setting: key")
    counts = sample_counts(probs, shots, key=key)
    est, _ = estimate_from_counts(counts, diag.z_masks, diag.signs, dtype=probs.dtype)
    return est, ShotLedger.of(1, shots)


def resolve_shots(shots, total_shots, allocation, where: str):
    """Check the ``shots`` / ``total_shots`` / ``allocation`` arguments of an estimate.

    Returns:
        ``(budget, allocation)``: ``(None, None)`` for the exact value; ``(shots, "per_setting")``;
        or ``(total_shots, allocation)`` with allocation defaulting to ``"uniform"``.

    Raises:
        ValueError: both counts given, an unknown allocation, or ``"per_setting"`` with a total.
        TypeError/ValueError: a count that is not a positive int (``sampling.check_shots``).
    """
    if allocation is not None and allocation not in ALLOCATIONS:
        raise ValueError(f"allocation: expected one of {list(ALLOCATIONS)}, got {allocation!r}")
    if shots is not None and total_shots is not None:
        raise ValueError(
            f"{where}: give shots (per setting) or total_shots (a budget split by the allocation), not both; "
            f"got shots={shots!r}, total_shots={total_shots!r}"
        )
    for name, count in (("shots", shots), ("total_shots", total_shots)):
        if isinstance(count, (int, np.integer)) and not isinstance(count, bool) and count > MAX_SHOTS:
            raise ValueError(f"{name}: at most 2**31 - 1 = {MAX_SHOTS} (shot counts are int32), got {int(count)}")
    if shots is not None:
        check_shots(shots, "shots")
        if allocation not in (None, "per_setting"):
            raise ValueError(
                f"allocation: {allocation!r} splits a budget; pass total_shots=... with it (shots means shots "
                "per setting)"
            )
        return shots, "per_setting"
    if total_shots is not None:
        check_shots(total_shots, "total_shots")
        if allocation == "per_setting":
            raise ValueError("allocation: 'per_setting' gives every setting `shots` shots; pass shots=... instead")
        return total_shots, allocation or "uniform"
    return None, None


def allocate_shots(total, weights) -> jax.Array:
    """Split ``total`` shots over G settings proportional to ``weights`` (largest remainder, each >= 1).

    Args:
        total: positive int (or traced integer), at least G.
        weights: (G,) non-negative floats; all zero means uniform.

    Returns:
        (G,) integer array summing exactly to ``total``, every entry >= 1.
    """
    w = jnp.asarray(weights)
    if w.ndim != 1 or w.shape[0] == 0:
        raise ValueError(f"weights: expected a non-empty (G,) array, got shape {tuple(w.shape)}")
    n_set = w.shape[0]
    check_shots(total, "total_shots")
    if isinstance(total, (int, np.integer)) and total < n_set:
        raise ValueError(
            f"total_shots: need at least one shot per setting ({n_set} settings), got total_shots={int(total)}"
        )
    if not jnp.issubdtype(w.dtype, jnp.floating):
        w = w.astype(jnp.result_type(float))
    w = jnp.clip(w, 0, None)
    wsum = jnp.sum(w)
    w = jnp.where(wsum > 0, w, jnp.ones_like(w))
    idt = jnp.result_type(int)
    spare = jnp.asarray(total).astype(idt) - n_set
    quota = spare.astype(w.dtype) * w / jnp.sum(w)
    base = jnp.floor(quota)
    rem = spare - jnp.sum(base).astype(idt)
    rank = jnp.argsort(jnp.argsort(-(quota - base), stable=True), stable=True)
    out = 1 + base.astype(idt) + (rank < rem).astype(idt)
    # Guard against float rounding in the quotas: put any residue on the largest setting.
    return out.at[jnp.argmax(out)].add(jnp.asarray(total).astype(idt) - jnp.sum(out))


def _setting_info(state: jax.Array, diag: Diagonalization):
    """Per setting: the exact <P> (single member, fast path) or the rotated probabilities."""
    if len(diag) == 1:
        x, z, ny = diag.paulis.index_masks()
        phase = int(diag.paulis.phase[0])
        return pauli_expectation(state, int(x[0]), int(z[0]), int(ny[0]) + phase)
    return _rotated_probs(state, diag)


def _add_signed_term(acc, row):
    """acc[b] += c (-1)**popcount(b & mask): the single-shot value table of a setting (scan body)."""
    mask, c = row
    idx = jax.lax.iota(jnp.int32, acc.shape[0])
    odd = (jax.lax.population_count(idx & mask) & 1).astype(bool)
    return acc + jnp.where(odd, -c, c), None


def _setting_variance(info, diag: Diagonalization, coeffs: np.ndarray) -> jax.Array:
    """Exact single-shot variance of ``sum_k c_k P_k`` for one setting."""
    if len(diag) == 1:
        return float(coeffs[0]) ** 2 * jnp.clip(1 - info**2, 0, None)
    probs = info
    masks = jnp.asarray(z_index_masks(diag.z_masks))
    weights = jnp.asarray(np.asarray(coeffs * diag.signs, dtype=np.float64), probs.dtype)
    vals = jax.lax.scan(_add_signed_term, jnp.zeros_like(probs), (masks, weights))[0]
    mean = jnp.sum(probs * vals)
    return jnp.clip(jnp.sum(probs * vals**2) - mean**2, 0, None)


def setting_variances(state: State, plan: MeasurementPlan) -> jax.Array:
    """(G,) exact single-shot variances ``Var_g`` of each setting's value ``sum_{k in g} c_k P_k``."""
    state = _check_state(state, plan.n_qubits)
    if plan.n_settings == 0:
        return jnp.zeros(0, jnp.real(state).dtype)
    return _variances([_setting_info(state, d) for d in plan.settings], plan)


def _variances(infos, plan: MeasurementPlan) -> jax.Array:
    """(G,) single-shot variances from the per-setting ``_setting_info`` values."""
    return jnp.stack([_setting_variance(i, d, c) for i, d, c in zip(infos, plan.settings, plan.coeffs)])


def plan_expectation(state: State, plan: MeasurementPlan) -> jax.Array:
    """Exact ``<state| O |state>`` of the plan's observable (no shots)."""
    state = _check_state(state, plan.n_qubits)
    obs = plan.observable
    x, z, ny = obs.paulis.index_masks()
    vals = pauli_expectations(state, x.astype(np.int32), z.astype(np.int32), ny.astype(np.int32))
    return jnp.sum(jnp.asarray(np.real(obs.coeffs), vals.dtype) * vals)


def _shots_per_setting(shots, plan: MeasurementPlan, allocation: str, infos) -> jax.Array:
    n_set = plan.n_settings
    idt = jnp.result_type(int)
    if allocation == "per_setting":
        return jnp.full(n_set, shots, idt)
    if allocation == "uniform":
        weights = np.ones(n_set)
    elif allocation == "weighted":
        weights = np.array([np.abs(c).sum() for c in plan.coeffs])
    else:
        weights = jnp.sqrt(_variances(infos, plan))
    return allocate_shots(shots, weights)


def estimate_state(
    state: State,
    plan: MeasurementPlan,
    shots=None,
    *,
    total_shots=None,
    key: Key | None = None,
    allocation: str | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Estimate ``<state| O |state>`` with the plan's settings; no shots gives the exact value.

    Args:
        state: (2**n,) final statevector (already prepared by the circuit).
        plan: ``MeasurementPlan`` of the observable.
        shots: positive int, the shots of every setting; or None.
        total_shots: positive int, a budget split over the settings by ``allocation``; or None.
        key: jax.random key, split once per setting (required with shots).
        allocation: with ``total_shots``: "uniform" (default), "weighted" or "optimal".

    Returns:
        ``(estimate, ledger)``: scalar real estimate; ledger (G executions, shots drawn).
    """
    if not isinstance(plan, MeasurementPlan):
        raise TypeError(f"plan: expected a MeasurementPlan, got {type(plan).__name__}")
    budget, allocation = resolve_shots(shots, total_shots, allocation, "estimate_state")
    state = _check_state(state, plan.n_qubits)
    real = jnp.real(state).dtype
    if budget is None:
        return plan_expectation(state, plan), ShotLedger.zero()
    if plan.n_settings == 0:
        return jnp.asarray(plan.constant, real), ShotLedger.zero()
    if key is None:
        raise ValueError("estimate: key is required when shots is given; pass key=jax.random.key(seed)")
    check_key(key, "estimate: key")
    infos = [_setting_info(state, d) for d in plan.settings]
    n_shots = _shots_per_setting(budget, plan, allocation, infos)
    keys = jax.random.split(key, plan.n_settings)
    total = jnp.asarray(plan.constant, real)
    for g, (info, diag, coeffs) in enumerate(zip(infos, plan.settings, plan.coeffs)):
        if len(diag) == 1:
            est = binomial_estimate(info, n_shots[g], key=keys[g]).reshape(1)
        else:
            counts = sample_counts(info, n_shots[g], key=keys[g])
            est, _ = estimate_from_counts(counts, diag.z_masks, diag.signs, dtype=real)
        # a non-finite state (NaN parameters) gives a NaN estimate, as the exact path does, not counts
        est = jnp.where(jnp.isfinite(jnp.sum(info)), est, jnp.nan)
        total = total + jnp.sum(jnp.asarray(coeffs, real) * est)
    return total, ShotLedger.of(plan.n_settings, jnp.sum(n_shots))


def estimate_expectation(
    circuit: Circuit,
    params: Params,
    observable: Observable,
    *,
    shots=None,
    total_shots=None,
    key: Key | None = None,
    grouping="qwc",
    allocation: str | None = None,
    state: State | None = None,
) -> tuple[jax.Array, ShotLedger]:
    """Estimate ``<state| U(params)^dag O U(params) |state>`` from shots.

    Args:
        circuit: the state-preparation circuit ``U``.
        params: (n_params,) parameters.
        observable: label, Pauli, PauliSum or list of (coefficient, label); must be Hermitian.
        shots: shots of every measurement setting; or None.
        total_shots: a budget split over the settings by ``allocation``; or None. With neither,
            the exact value (differentiable, adjoint gradient) and a zero ledger.
        key: jax.random key (required with shots).
        grouping: "qwc", "gc", "none", or a precomputed ``MeasurementPlan``.
        allocation: with ``total_shots``: "uniform" (default), "weighted" or "optimal".
        state: optional (2**n,) input state (default |0...0>).

    Returns:
        ``(estimate, ledger)``; ledger executions = number of settings, shots = shots drawn.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> circ = Circuit.from_labels(["XY", "ZZ"])
        >>> est, led = estimate_expectation(circ, jnp.array([0.1, 0.2]), [(0.5, "XX"), (1.0, "ZZ")], shots=1000,
        ...                                 key=jax.random.key(0))
        >>> int(led.executions), int(led.shots)
        (2, 2000)
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"estimate_expectation: expected a Circuit, got {type(circuit).__name__}")
    plan = as_plan(observable, circuit.n_qubits, grouping)
    budget, allocation = resolve_shots(shots, total_shots, allocation, "estimate_expectation")
    if budget is None:
        return expectation(circuit, params, plan.observable, state), ShotLedger.zero()
    if key is None:
        raise ValueError("estimate: key is required when shots is given; pass key=jax.random.key(seed)")
    check_key(key, "estimate: key")
    params = circuit.check_params(params)
    if isinstance(budget, (int, np.integer)):  # one compiled program per (circuit, plan, shots)
        return _estimate_program(circuit, plan, int(budget), allocation, params, state, key)
    return _estimate(circuit, plan, budget, allocation, params, state, key)


def _estimate(circuit, plan, budget, allocation, params, state, key):
    psi = statevector(circuit, params, state)
    if allocation == "per_setting":
        return estimate_state(psi, plan, budget, key=key)
    return estimate_state(psi, plan, total_shots=budget, key=key, allocation=allocation)


_estimate_program = jax.jit(_estimate, static_argnums=(0, 1, 2, 3))
