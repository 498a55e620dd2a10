"""Which devices run a batch, the 3-D mesh its axes are split over, and host arrays placed on it.

Batch parallelism (issue 15 item 1). Training (seeds x mini-batch samples x the gradient circuits of
one sample), landscape sampling and the batched calls of ``core.batched`` shard their batch axes over
a ``jax.sharding.Mesh`` of chosen devices. The user picks the devices with ``devices: all | N | [ids]``
(``resolve_devices``); ``batch_mesh`` arranges them as a mesh with axes
``(SEED_AXIS, SAMPLE_AXIS, CIRCUIT_AXIS)`` of shape ``(ks, kb, kc)``, ``ks * kb * kc`` = the device
count, chosen by ``mesh_shape`` (the rule: fewest circuits per device; docs/scaling.md) or given.
Padding repeats the last row and is dropped after.

Randomness never depends on the device count: callers split keys per seed, per sample and per
circuit *before* the batch is sharded, so a device computes exactly the work one device would for
its slice, and only the order of the final sums (a mean over a mini-batch, a gradient summed over
circuits) can change, to rounding.

Many processes (``jax.distributed``): ``resolve_devices`` picks from ``jax.devices()`` (every
process's devices) unless ``local=True``; ``global_array`` builds a global array from a host array
that every process holds (``jax.make_array_from_callback``), so the same code runs on one process or
many.

Example:
    >>> import jax
    >>> mesh = batch_mesh(resolve_devices("all"), n_seeds=4, n_samples=8)
    >>> mesh.axis_names, mesh.size == len(jax.devices())
    (('seeds', 'samples', 'circuits'), True)
    >>> mesh_shape(8, n_seeds=1, n_samples=1, n_circuits=48)  # one sample's 48 circuits over 8 devices
    (1, 1, 8)
    >>> mesh_shape(8, n_seeds=20, n_samples=1)  # no circuit axis: 20 seeds padded to 24
    (8, 1, 1)
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
    "CIRCUIT_AXIS",
    "BATCH_AXES",
    "DEVICES_HELP",
    "resolve_devices",
    "mesh_shape",
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
#: Mesh axis of the gradient circuits of one sample (shifted or block circuits; summed with ``lax.psum``).
CIRCUIT_AXIS = "circuits"
#: The axes of a ``batch_mesh``, in order.
BATCH_AXES = (SEED_AXIS, SAMPLE_AXIS, CIRCUIT_AXIS)
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


def _factorisations(d: int):
    for ks in range(d, 0, -1):
        if d % ks == 0:
            for kb in range(d // ks, 0, -1):
                if (d // ks) % kb == 0:
                    yield ks, kb, d // ks // kb


def mesh_shape(n_devices: int, n_seeds: int, n_samples: int = 1, n_circuits: int = 1) -> tuple[int, int, int]:
    """The mesh shape ``(ks, kb, kc)`` that ``batch_mesh`` picks for ``n_devices`` devices.

    The rule: of the factorisations ``ks * kb * kc = n_devices``, the one with the fewest circuits per
    device, ``ceil(n_seeds / ks) * ceil(n_samples / kb) * (ceil(n_circuits / kc) + [kc > 1])``; the
    ``+ 1`` is the work a split sample repeats on each of its devices (its shared prefix sweep and
    ``f_hat``). Ties go to more devices on the seed axis (no communication), then on the sample axis.
    ``n_circuits = 1`` (an estimator that cannot split, or a plain batch) never splits circuits.
    """
    n_devices, n_seeds, n_samples, n_circuits = (int(v) for v in (n_devices, n_seeds, n_samples, n_circuits))
    if n_devices < 1:
        raise ValueError(f"mesh_shape: expected at least one device, got {n_devices}")

    def work(shape):
        ks, kb, kc = shape
        return -(-n_seeds // ks) * -(-n_samples // kb) * (-(-n_circuits // kc) + (kc > 1))

    return min(_factorisations(n_devices), key=work)  # first minimum: largest ks, then largest kb


def batch_mesh(devices, n_seeds: int, n_samples: int = 1, n_circuits: int = 1, *, shape=None) -> Mesh:
    """A ``(SEED_AXIS, SAMPLE_AXIS, CIRCUIT_AXIS)`` mesh of ``devices`` for ``n_seeds`` x ``n_samples``
    work items of ``n_circuits`` circuits each.

    ``shape``: None (``mesh_shape``'s rule) or ``(ks, kb, kc)`` with ``ks * kb * kc = len(devices)``
    (the override: config key ``train.mesh``). Devices keep their order, the circuit axis fastest
    (circuit- and sample-axis neighbours are adjacent, so with many processes they tend to share a
    host).
    """
    devices = list(devices)
    d = len(devices)
    if d < 1:
        raise ValueError("batch_mesh: expected at least one device, got none")
    if shape is None:
        shape = mesh_shape(d, n_seeds, n_samples, n_circuits)
    else:
        ok = (
            isinstance(shape, (tuple, list))
            and len(shape) == 3
            and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in shape)
        )
        if not ok or int(np.prod(shape)) != d:
            raise ValueError(
                f"batch_mesh: shape: expected three ints >= 1 (seeds, samples, circuits) whose product is the "
                f"{d} devices, got {shape!r}"
            )
        shape = tuple(int(k) for k in shape)
    return Mesh(np.asarray(devices, dtype=object).reshape(shape), BATCH_AXES)


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
