"""The gradient-estimator record: what an estimator is, what one call costs, and its pure function.

A gradient estimator is called as ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``:
``params`` (n_params,) real angles, ``state`` the (2**n,) input state, ``f_hat`` a scalar estimate of
``f = <state| U^dag O U |state>`` from a circuit independent of ``grad_hat`` (so that the MSE
gradient ``2 (f_hat - y) grad_hat`` is unbiased), ``grad_hat`` (n_params,), ``ledger`` a
``ShotLedger``. Exact estimators return a zero ledger and ignore the key.

Factories return a ``GradientEstimator`` record (a frozen dataclass: hashable, usable as a static
``jit`` argument, callable and ``jax.jit``-able itself), not a bare closure, so the kind and the cost travel
with the function (``training.Model`` keeps it; export and ``slpa-jax run --dry-run`` read it):
``exact_estimator`` here, ``param_shift.param_shift_estimator`` and
``blocks.gradient.block_gradient_estimator``.

Splitting one call over devices (issue 15: the circuit axis of training). The shot estimators run
``units`` independent gradient circuits (settings) per call, each with its own key split from the
call's key. Their ``part(params, state, key, idx)`` runs only the units in ``idx`` (an int array;
entries ``>= units`` are padding and ignored) and returns ``(f_hat, grad_part, ledger_part)``:
``f_hat`` is the whole call's estimate (every part computes it, with the same key), while
``grad_part`` and ``ledger_part`` are the contributions of the units in ``idx`` (the ledger counts
the ``f_hat`` circuits in the part holding unit 0). Summed over the parts of any partition of
``range(units)`` they equal one call, to rounding (``sum_parts``).

Example (``R_X(theta)|0>`` measured in Z: ``f = cos theta``, ``df/dtheta = -sin theta``):
    >>> import numpy as np, jax.numpy as jnp
    >>> est = exact_estimator(Circuit.from_labels(["X"]), "Z")
    >>> f, g, ledger = est(jnp.array([0.5]), None, None)
    >>> est.kind, bool(abs(f - np.cos(0.5)) < 1e-6), bool(abs(g[0] + np.sin(0.5)) < 1e-6), int(ledger.shots)
    ('exact', True, True, 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit
from ..core.pauli import as_pauli_sum
from ..core.simulator import expectation
from ..core.types import Key, Observable, Params, State
from .ledger import ShotLedger

__all__ = ["ESTIMATOR_KINDS", "GradientEstimator", "exact_estimator", "as_gradient_estimator", "sum_parts"]

#: kind -> one-line description (the names a config's ``models[i].estimator`` accepts).
ESTIMATOR_KINDS = {
    "exact": "exact value and adjoint gradient, no shots",
    "param_shift": "parameter shift: 2R + 1 circuits per sample (R trainable rotations), per measurement setting",
    "ancilla": "block gradient with one ancilla: B + 1 circuits per sample (B blocks)",
    "ancilla_free": "block gradient without ancilla: two shifted circuits per block (one for commuting blocks) + 1",
}


@dataclass(frozen=True)
class GradientEstimator:
    """A gradient estimator: ``record(params, state, key) -> (f_hat, grad_hat, ledger)``.

    Attributes:
        kind: one of ``ESTIMATOR_KINDS`` (or ``"custom"`` for a wrapped user function).
        fn: the pure function; jit and vmap it freely.
        circuits_per_call: circuit executions per call, the ``f_hat`` circuit included (0 when exact,
            None when unknown).
        shots: shots per circuit execution, None when exact (or unknown).
        plan: the static measurement plan it executes: the ``BlockCircuit`` for block kinds, the
            ``MeasurementPlan`` for parameter shift, the ``PauliSum`` observable when exact.
        units: gradient circuits per call that can run apart (the circuit axis of training), or None
            when the call cannot be split (exact, custom).
        part: ``part(params, state, key, idx) -> (f_hat, grad_part, ledger_part)``: the units in
            ``idx`` only (module docstring); None when ``units`` is None.
    """

    kind: str
    fn: Callable
    circuits_per_call: int | None = None
    shots: int | None = None
    plan: object = None
    units: int | None = None
    part: Callable | None = None

    def __call__(self, params: Params, state: State | None, key: Key | None):
        return self.fn(params, state, key)

    @property
    def shots_per_call(self) -> int | None:
        """Shots spent by one call (``circuits_per_call * shots``; 0 when exact, None when unknown)."""
        if self.circuits_per_call == 0:
            return 0
        if self.circuits_per_call is None or self.shots is None:
            return None
        return self.circuits_per_call * self.shots


def sum_parts(estimator: GradientEstimator, params: Params, state: State | None, key: Key | None, parts):
    """One call assembled from ``estimator.part`` over ``parts`` (int arrays partitioning
    ``range(estimator.units)``, padding ``>= units`` allowed; shorter ones are padded): ``(f_hat, grad,
    ledger)``, equal to ``estimator(params, state, key)`` to rounding. What training does across
    devices, on one device: the parts are vmapped (one copy of the part's program), then summed."""
    if not isinstance(estimator, GradientEstimator) or estimator.part is None:
        raise ValueError(f"sum_parts: expected an estimator that splits (units set), got {estimator!r}")
    parts = [np.asarray(idx, np.int32).reshape(-1) for idx in parts]
    width = max(len(idx) for idx in parts)
    table = np.stack([np.pad(idx, (0, width - len(idx)), constant_values=estimator.units) for idx in parts])
    f_hat, grad, ledger = jax.vmap(lambda idx: estimator.part(params, state, key, idx))(jnp.asarray(table))
    return f_hat[0], jnp.sum(grad, axis=0), ledger.sum(axis=0)


def as_gradient_estimator(estimator) -> GradientEstimator:
    """A ``GradientEstimator`` as is; a bare callable wrapped as kind ``"custom"`` (cost unknown)."""
    if isinstance(estimator, GradientEstimator):
        return estimator
    if not callable(estimator):
        raise TypeError(f"estimator: expected a GradientEstimator or a callable, got {type(estimator).__name__}")
    return GradientEstimator("custom", estimator)


def exact_estimator(circuit: Circuit, observable: Observable) -> GradientEstimator:
    """Exact f and its adjoint-sweep gradient ``jax.grad(expectation)``; zero ledger, key ignored."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"exact_estimator: circuit must be a Circuit, got {type(circuit).__name__}")
    obs = as_pauli_sum(observable, circuit.n_qubits)

    def estimator(params, state, key=None):
        del key
        f, g = jax.value_and_grad(lambda p: expectation(circuit, p, obs, state))(params)
        return f, g, ShotLedger.zero()

    return GradientEstimator("exact", estimator, 0, None, obs)
