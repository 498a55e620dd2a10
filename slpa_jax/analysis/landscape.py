"""Loss-landscape statistics over random parameters: the variance of an expectation (Fig. 10).

For theta ~ U[0, 2 pi)^L, ``f(theta) = <0..0| U^dag O U |0..0>``. Deep SC and SLPA circuits of the
spec's Fig. 10 plateau at ``Var f = (1/2) / (2^(n-2) + 1)`` for O = X0 X1 (spec section 5).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from ..core.circuit import Circuit
from ..core.devices import SEED_AXIS, batch_mesh, pad_to, replicated, resolve_devices
from ..core.simulator import expectation

__all__ = ["expectation_samples", "variance_plateau", "VarianceEstimate", "expectation_variance"]


def variance_plateau(n: int) -> float:
    """The spec's deep-circuit plateau ``(1/2) / (2^(n-2) + 1)`` for O = X0 X1 (n = 14: 1.22e-4)."""
    if n < 2:
        raise ValueError(f"variance_plateau: n must be >= 2, got {n}")
    return 0.5 / (2.0 ** (n - 2) + 1.0)


def expectation_samples(
    circuit: Circuit,
    observable,
    *,
    key,
    n_samples: int,
    batch_size: int = 256,
    dtype=jnp.float32,
    devices="all",
) -> jax.Array:
    """(n_samples,) values of ``f(theta)`` for theta ~ U[0, 2 pi)^L drawn from ``key``.

    All thetas are drawn from ``key`` at once (the same whatever the devices), then split over the
    chosen ``devices`` (``core.devices.resolve_devices``: ``"all"``, a count, device ids or devices;
    padded to a multiple of their number, the padding dropped). Each device evaluates its share with
    ``lax.map`` over batches of ``batch_size`` vmapped parameter vectors, so memory is ``batch_size``
    statevectors per device. The result is replicated on every device (with several processes,
    every process must call this). Equal to the one-device result to rounding. Call it inside
    ``jax.jit`` (with ``circuit`` static) for speed.
    """
    if not (isinstance(n_samples, (int, np.integer)) and n_samples >= 1):
        raise ValueError(f"expectation_samples: n_samples must be an int >= 1, got {n_samples!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"expectation_samples: batch_size must be an int >= 1, got {batch_size!r}")
    mesh = batch_mesh(resolve_devices(devices, where="expectation_samples: devices"), n_samples)
    k = mesh.shape[SEED_AXIS]  # n_samples here are independent members: the seed axis takes them all
    n_pad = pad_to(n_samples, k)
    thetas = jax.random.uniform(key, (n_samples, circuit.n_params), dtype=dtype, maxval=2 * np.pi)
    if n_pad > n_samples:  # repeat the last theta; its values are dropped below
        thetas = jnp.concatenate([thetas, jnp.broadcast_to(thetas[-1:], (n_pad - n_samples, thetas.shape[1]))])
    f = lambda th: expectation(circuit, th, observable)
    local = lambda th: jax.lax.map(f, th, batch_size=min(batch_size, n_pad // k))
    # compiled as one program (an eager shard_map would dispatch and compile op by op)
    program = jax.jit(jax.shard_map(local, mesh=mesh, in_specs=P(SEED_AXIS), out_specs=P(SEED_AXIS), check_vma=False))
    out = program(thetas)
    return jax.lax.with_sharding_constraint(out[:n_samples], replicated(mesh))


class VarianceEstimate(NamedTuple):
    """(variance, standard error) of the sample variance, as a named pair."""

    variance: float
    stderr: float


def expectation_variance(samples) -> VarianceEstimate:
    """Unbiased sample variance and its standard error ``sqrt((m4 - s^4 (N-3)/(N-1)) / N)``."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.size
    if n < 4:
        raise ValueError(f"expectation_variance: need at least 4 samples, got {n}")
    var = x.var(ddof=1)
    m4 = np.mean((x - x.mean()) ** 4)
    se = np.sqrt(max(m4 - var**2 * (n - 3) / (n - 1), 0.0) / n)
    return VarianceEstimate(float(var), float(se))
