"""Batch parallelism (issue 15 item 1): training and landscape sampling split over devices.

The multi-device checks run in one subprocess (``batch_worker.py``) started with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (set before JAX starts): training over 8 and
3 devices, and landscape samples over 8 and 3, against the same calls on one device with the same
keys. The device choice itself (``resolve_devices``, ``batch_mesh``) is checked here, in process.
"""

from pathlib import Path

import jax
import numpy as np
import pytest
from conftest import TOL, worker_json_once

from slpa_jax.core.devices import batch_mesh, global_array, host_array, pad_rows, pad_to, resolve_devices

WORKER = Path(__file__).with_name("batch_worker.py")


@pytest.fixture(scope="module")
def worker(tmp_path_factory, worker_id):
    # one subprocess per session, shared by the xdist workers (conftest.worker_json_once)
    return worker_json_once(tmp_path_factory, worker_id, "batch_worker", [WORKER], timeout=600)


@pytest.mark.slow
def test_worker_runs_every_scenario_on_eight_devices(worker):
    assert worker["devices"] == 8
    names = " | ".join(c["name"] for c in worker["checks"])
    for what in (
        "train shots 3 vs 1 devices (seed axis): params",
        "train shots 8 vs 1 devices (seeds padded, samples split): test_loss",
        "train exact 8 vs 1 devices (samples split): params",
        "landscape 8 vs 1",
        "landscape 3 vs 1",
    ):
        assert what in names, what


@pytest.mark.slow
def test_sharded_batches_equal_one_device(worker):
    bad = [c for c in worker["checks"] if c["kind"] == "sim" and not c["err"] <= TOL["float64"]]
    assert not bad, bad
    wrong = [c for c in worker["checks"] if c["kind"] == "exact" and c["err"] != 0]
    assert not wrong, wrong


def test_resolve_devices_and_errors():
    devs = jax.devices()
    assert resolve_devices("all") == devs and resolve_devices(None) == devs
    assert resolve_devices(1) == devs[:1] and resolve_devices([devs[0].id]) == devs[:1]
    assert resolve_devices(devs[:1]) == devs[:1] and resolve_devices("all", local=True) == jax.local_devices()
    with pytest.raises(ValueError, match=rf"train.devices: expected a device count in 1..{len(devs)} .*got 0"):
        resolve_devices(0, where="train.devices")
    with pytest.raises(ValueError, match=r"devices: device ids \[12345\] are not among the devices"):
        resolve_devices([12345])
    with pytest.raises(ValueError, match=r"devices: expected 'all', a count N >= 1 .*got 'some'"):
        resolve_devices("some")
    with pytest.raises(ValueError, match=r"expected distinct device ids"):
        resolve_devices([devs[0].id, devs[0].id])


def test_batch_mesh_minimises_padding_and_prefers_the_seed_axis():
    # the factorisation is a pure function of the device count: fake devices suffice
    class Dev:
        pass

    shape = lambda d, s, b: dict(batch_mesh([Dev() for _ in range(d)], s, b).shape)
    assert shape(8, 20, 1) == {"seeds": 8, "samples": 1}  # 24 slots; any split of samples wastes more
    assert shape(8, 4, 10) == {"seeds": 4, "samples": 2}  # 4 x 10 = 40 slots, no padding
    assert shape(8, 1, 10) == {"seeds": 1, "samples": 8}  # 1 x 16
    assert shape(3, 4, 8) == {"seeds": 1, "samples": 3}  # 4 x 9 = 36 < 6 x 8 = 48
    assert shape(1, 5, 5) == {"seeds": 1, "samples": 1}
    assert pad_to(5, 4) == 8 and pad_to(8, 4) == 8
    np.testing.assert_array_equal(pad_rows(np.arange(3), 5), [0, 1, 2, 2, 2])
    mesh = batch_mesh(jax.devices()[:1], 2, 2)
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(host_array(global_array(x, mesh)), x)
