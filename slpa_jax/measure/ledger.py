"""The shot ledger: what an estimate spent, as a pytree that training loops add up.

Every estimator returns ``(estimate, ShotLedger)``. ``executions`` counts circuit runs (settings
executed), ``shots`` counts single-shot repetitions summed over those runs. Both are integer arrays
(scalars for one estimate; vmapped estimators return batched ledgers), so they can be carried
through ``jit``/``vmap``/``lax.scan``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

__all__ = ["ShotLedger"]


def _int_dtype():
    return jnp.int64 if jax.config.jax_enable_x64 else jnp.int32


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ShotLedger:
    """Circuit executions and shots spent. ``a + b`` adds; ``ShotLedger.zero()`` is the identity.

    Note: with x64 off the counters are int32 (max ~2.1e9 shots); long runs should accumulate
    in float64 on the host (``to_dict``) or enable x64.
    """

    executions: jax.Array
    shots: jax.Array

    @classmethod
    def zero(cls) -> ShotLedger:
        return cls(jnp.zeros((), _int_dtype()), jnp.zeros((), _int_dtype()))

    @classmethod
    def of(cls, executions, shots) -> ShotLedger:
        """A ledger for ``executions`` circuit runs spending ``shots`` shots in total."""
        return cls(jnp.asarray(executions, _int_dtype()), jnp.asarray(shots, _int_dtype()))

    def __add__(self, other: ShotLedger) -> ShotLedger:
        if not isinstance(other, ShotLedger):
            return NotImplemented
        return ShotLedger(self.executions + other.executions, self.shots + other.shots)

    def sum(self, axis=None) -> ShotLedger:
        """Sum a batched ledger over ``axis`` (all axes by default)."""
        return ShotLedger(jnp.sum(self.executions, axis=axis), jnp.sum(self.shots, axis=axis))

    def to_dict(self) -> dict:
        return {"executions": int(self.executions), "shots": int(self.shots)}
