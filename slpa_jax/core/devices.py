"""Which devices run a batch, the 2-D mesh its axes are split over, and host arrays placed on it.

Batch parallelism (issue 15 item 1). Training (seeds x mini-batch samples) and landscape sampling
shard their batch axes over a ``jax.sharding.Mesh`` of chosen devices. The user picks the devices
with ``devices: all | N | [ids]`` (``resolve_devices``); ``batch_mesh`` arranges them as a mesh with
axes ``(SEED_AXIS, SAMPLE_AXIS)`` of shape ``(ks, kb)`` with ``ks * kb`` = the device count, chosen
to waste the fewest padded slots (``pad_to``). Padding repeats the last row and is dropped after.

Randomness never depends on the device count: callers split keys per seed and per sample *before*
the batch is sharded, so a device computes exactly the per-sample work one device would, and only
the order of the final sums (a mean over a mini-batch) can change, to rounding.

Many processes (``jax.distributed``): ``resolve_devices`` picks from ``jax.devices()`` (every
process's devices) unless ``local=True``; ``global_array`` builds a global array from a host array
that every process holds (``jax.make_array_from_callback``), so the same code runs on one process or
many.

Example:
    >>> import jax
    >>> mesh = batch_mesh(resolve_devices("all"), n_seeds=4, n_samples=8)
    >>> mesh.axis_names, mesh.size == len(jax.devices())
    (('seeds', 'samples'), True)
    >>> pad_to(5, 4)
    8
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "SEED_AXIS",
    "SAMPLE_AXIS",
    "DEVICES_HELP",
    "resolve_devices",
    "batch_mesh",
    "pad_to",
    "pad_rows",
    "global_array",
    "replicated",
    "host_array",
]

#: Mesh axis of independent batch members that never communicate (seeds, landscape samples).
SEED_AXIS = "seeds"
#: Mesh axis of the samples of one mini-batch (their gradients are summed with ``lax.psum``).
SAMPLE_AXIS = "samples"
#: What ``devices`` accepts (config key ``train.devices``, CLI ``--devices``).
DEVICES_HELP = "'all', a count N >= 1 (the first N devices), or a list of device ids"


def resolve_devices(spec="all", *, local: bool = False, where: str = "devices") -> list:
    """The devices named by ``spec``, in ``jax.devices()`` order.

    Args:
        spec: ``"all"`` or None (every device), an int N (the first N), a sequence of device ids
            (``jax.Device.id``), or a sequence of ``jax.Device`` objects (returned as given).
        local: choose among this process's devices (``jax.local_devices()``) instead of every
            process's (``jax.devices()``; the same with one process).
        where: the argument or config key named in errors.

    Raises:
        ValueError: a bad spec, N larger than the devices present, unknown or repeated ids.
    """
    pool = list(jax.local_devices() if local else jax.devices())
    scope = "local devices" if local else "devices"
    if spec is None or (isinstance(spec, str) and spec == "all"):
        return pool
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if not 1 <= spec <= len(pool):
            raise ValueError(f"{where}: expected a device count in 1..{len(pool)} ({len(pool)} {scope}), got {spec}")
        return pool[: int(spec)]
    if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) > 0:
        if all(isinstance(d, jax.Device) for d in spec):
            return list(spec)
        if all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in spec):
            by_id = {d.id: d for d in pool}
            missing = [int(i) for i in spec if int(i) not in by_id]
            if missing:
                raise ValueError(f"{where}: device ids {missing} are not among the {scope} {sorted(by_id)}")
            if len(set(map(int, spec))) != len(spec):
                raise ValueError(f"{where}: expected distinct device ids, got {list(spec)}")
            return [by_id[int(i)] for i in spec]
    raise ValueError(f"{where}: expected {DEVICES_HELP}, got {spec!r}")


def pad_to(n: int, k: int) -> int:
    """The smallest multiple of ``k`` that is >= ``n``."""
    return -(-int(n) // int(k)) * int(k)


def batch_mesh(devices, n_seeds: int, n_samples: int = 1) -> Mesh:
    """A ``(SEED_AXIS, SAMPLE_AXIS)`` mesh of ``devices`` for ``n_seeds`` x ``n_samples`` work items.

    Of the factorisations ``ks * kb = len(devices)`` it takes the one with the fewest padded slots
    ``pad_to(n_seeds, ks) * pad_to(n_samples, kb)``, preferring more devices on the seed axis (which
    needs no communication) on ties. Devices keep their order (sample-axis neighbours are adjacent,
    so with many processes they tend to share a host).
    """
    devices = list(devices)
    d = len(devices)
    if d < 1:
        raise ValueError("batch_mesh: expected at least one device, got none")
    best = min((pad_to(n_seeds, ks) * pad_to(n_samples, d // ks), -ks) for ks in range(1, d + 1) if d % ks == 0)
    ks = -best[1]
    return Mesh(np.asarray(devices, dtype=object).reshape(ks, d // ks), (SEED_AXIS, SAMPLE_AXIS))


def pad_rows(x, n: int) -> np.ndarray:
    """Host array ``x`` with its leading axis padded to ``n`` rows by repeating the last row."""
    x = np.asarray(x)
    if x.shape[0] == n:
        return x
    return np.concatenate([x, np.repeat(x[-1:], n - x.shape[0], axis=0)], axis=0)


def global_array(x, mesh: Mesh, spec: P | None = None) -> jax.Array:
    """Host array ``x`` (the same on every process) as a global array on ``mesh`` with ``spec``
    (default replicated)."""
    x = np.asarray(x)
    sharding = NamedSharding(mesh, P() if spec is None else spec)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def replicated(mesh: Mesh) -> NamedSharding:
    """The fully replicated sharding on ``mesh`` (every process can read the whole array)."""
    return NamedSharding(mesh, P())


def host_array(x) -> np.ndarray:
    """A replicated or process-addressable ``jax.Array`` as a numpy array on this host."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        if not x.is_fully_replicated:
            raise ValueError("host_array: expected a replicated array (or one this process holds entirely)")
        return np.asarray(x.addressable_data(0))
    return np.asarray(x)
