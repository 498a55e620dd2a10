"""Batch parallelism (issue 15 item 1): training, landscape sampling and batched calls split over devices.

The multi-device checks (``batch_worker.py``) run in the suite's one 8-device subprocess
(``devices_worker.py``, started with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``): training
with seeds, samples and one sample's gradient circuits split over 8 devices, landscape samples over 8
and 3, batched expectations and gradients over 8 and 3, against the same calls on one device with the
same keys. Checked here, in process: the device choice (``resolve_devices``, ``batch_mesh``, the mesh
rule), estimator parts summing to one call, and the errors.
"""

import jax
import numpy as np
import pytest
from conftest import EPS, TOL

from slpa_jax.blocks.gradient import block_gradient_estimator
from slpa_jax.blocks.slpa import build_slpa
from slpa_jax.core.batched import batch_expectation, batch_value_and_grad
from slpa_jax.core.circuit import Circuit
from slpa_jax.core.devices import (
    batch_mesh,
    global_array,
    host_array,
    mesh_shape,
    pad_rows,
    pad_to,
    resolve_devices,
)
from slpa_jax.measure.estimator import exact_estimator, sum_parts
from slpa_jax.measure.param_shift import param_shift_estimator
from slpa_jax.train.datasets import Dataset
from slpa_jax.train.training import Model, init_train_state, make_optimizer, train_epochs


@pytest.fixture(scope="module")
def worker(devices_worker):
    return {"devices": devices_worker["devices"], "checks": devices_worker["batch"]}


@pytest.mark.slow
def test_worker_runs_every_scenario_on_eight_devices(worker):
    assert worker["devices"] == 8
    names = " | ".join(c["name"] for c in worker["checks"])
    for what in (
        "train shots 8 vs 1 devices (auto mesh 1x4x2: samples and circuits split): params",
        "train shots 8 vs 1 devices (auto mesh 1x4x2: samples and circuits split): shots",
        "train exact 8 vs 1 devices (mesh 4x2x1: seeds padded, samples split): params",
        "train padding dropped",
        "train block 8 vs 1 devices (mesh 1x1x8: one sample's circuits split): params",
        "train block 8 vs 1 devices (mesh 1x1x8: one sample's circuits split): shots",
        "train meshes",
        "landscape 8 vs 1",
        "landscape 3 vs 1",
        "batched gradient 8 devices vs vmap",
        "batched states 3 devices vs vmap",
    ):
        assert what in names, what


@pytest.mark.slow
def test_sharded_batches_equal_one_device(worker):
    limit = {"sim": TOL["float64"], "eps": EPS["complex128"]}  # eps: the c128 1e-12
    bad = [c for c in worker["checks"] if c["kind"] in limit and not c["err"] <= limit[c["kind"]]]
    assert not bad, bad
    wrong = [c for c in worker["checks"] if c["kind"] == "exact" and c["err"] != 0]
    assert not wrong, wrong
    assert sum(c["kind"] == "eps" for c in worker["checks"]) >= 11  # circuit-axis training and batched calls


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


def test_batch_mesh_minimises_circuits_per_device_and_prefers_the_seed_axis():
    # the factorisation is a pure function of the device count: fake devices suffice
    class Dev:
        pass

    shape = lambda d, s, b, u=1: tuple(batch_mesh([Dev() for _ in range(d)], s, b, u).devices.shape)
    assert shape(8, 20, 1) == (8, 1, 1)  # 3 seeds per device; any split of samples does more
    assert shape(8, 4, 10) == (4, 2, 1)  # 4 x 10 = 40 slots, no padding
    assert shape(8, 1, 10) == (1, 8, 1)  # 1 x 16
    assert shape(3, 4, 8) == (1, 3, 1)  # 4 x 9 = 36 < 6 x 8 = 48
    assert shape(1, 5, 5, 40) == (1, 1, 1)
    # the third axis: ceil(S/ks) ceil(b/kb) (ceil(U/kc) + 1) circuits per device
    assert shape(8, 1, 1, 48) == (1, 1, 8)  # 6 + 1 < 48
    assert shape(8, 3, 4, 12) == (1, 4, 2)  # 3 x 1 x (6 + 1) = 21 < 24 for (4, 2, 1) or (2, 4, 1)
    assert shape(8, 20, 1, 48) == (4, 1, 2)  # 5 x 25 = 125 < 3 x 48 = 144 (8, 1, 1)
    assert shape(8, 20, 1, 1) == (8, 1, 1) == mesh_shape(8, 20, 1, 1)
    assert shape(8, 2, 1, 2) == (8, 1, 1)  # a tie (2 per device) goes to the seed axis
    assert tuple(batch_mesh([Dev() for _ in range(8)], 1, 1, 48, shape=(2, 2, 2)).devices.shape) == (2, 2, 2)
    for bad in ((2, 2, 1), (8, 1), (0, 8, 1), [1, 1, 8.0]):
        with pytest.raises(ValueError, match=r"shape: expected three ints >= 1 .*the 8 devices, got"):
            batch_mesh([Dev() for _ in range(8)], 1, 1, shape=bad)
    assert pad_to(5, 4) == 8 and pad_to(8, 4) == 8
    np.testing.assert_array_equal(pad_rows(np.arange(3), 5), [0, 1, 2, 2, 2])
    mesh = batch_mesh(jax.devices()[:1], 2, 2)
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(host_array(global_array(x, mesh)), x)


LABELS = ["XXI", "IZZ", "YIY", "ZXI", "IYX", "XIZ"]


def test_estimator_parts_sum_to_one_call():
    """What the circuit axis computes, on one device: the parts of a partition (the last one padded) add
    up to one call. Exact block gradient of a Pauli sum (several settings per circuit); the shot paths
    (per-circuit keys, ledgers) are compared through training in the 8-device worker, where every
    program is compiled anyway (a shot estimator's program takes seconds to compile)."""
    bc = build_slpa(["XXXX", "ZZZZ"], "XXII IIYY IZZI XIIX".split(), [(1.0, "XXII"), (0.5, "IIZZ")])
    est = block_gradient_estimator(bc, None, "ancilla_free")
    rng = np.random.default_rng(1)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    state = rng.normal(size=16) + 1j * rng.normal(size=16)
    state /= np.linalg.norm(state)
    parts = [np.arange(i, i + 4) for i in range(0, est.units, 4)]
    assert est.units > 4 and est.units % 4  # several parts, the last one padded
    f1, g1, _ = jax.jit(est)(params, state, None)
    f2, g2, ledger = jax.jit(lambda p: sum_parts(est, p, state, None, parts))(params)
    np.testing.assert_allclose(np.asarray(f2), np.asarray(f1), atol=EPS["float64"])
    np.testing.assert_allclose(np.asarray(g2), np.asarray(g1), atol=EPS["float64"])
    assert int(ledger.shots) == 0 and np.any(np.asarray(g1) != 0)
    assert param_shift_estimator(Circuit.from_labels(LABELS), "XXI", 10).units == 12
    assert exact_estimator(Circuit.from_labels(LABELS), "XXI").units is None


def test_batched_calls_and_mesh_errors():
    c = Circuit.from_labels(LABELS)
    with pytest.raises(ValueError, match=r"batch_expectation: params: expected shape \(B, 6\) or \(6,\), got \(2, 5\)"):
        batch_expectation(c, np.zeros((2, 5)), "XXI")
    with pytest.raises(ValueError, match=r"batch_expectation: expected a batch: params of shape \(B, 6\)"):
        batch_expectation(c, np.zeros(6), "XXI")
    with pytest.raises(ValueError, match=r"batch_value_and_grad: params and states must share a batch size"):
        batch_value_and_grad(c, np.zeros((2, 6)), "XXI", np.ones((3, 8)))
    with pytest.raises(ValueError, match=r"batch_value_and_grad: states: expected shape \(B, 8\) or \(8,\)"):
        batch_value_and_grad(c, np.zeros((2, 6)), "XXI", np.ones((2, 4)))
    with pytest.raises(TypeError, match=r"batch_expectation: circuit must be a Circuit, got str"):
        batch_expectation("XXI", np.zeros((2, 6)), "XXI")
    data = Dataset(np.eye(8)[:2], np.array([0.5, -0.5]), np.eye(8)[2:3], np.array([0.1]))
    exact = Model("exact", c, "XXI", exact_estimator(c, "XXI"))
    opt = make_optimizer()
    state = init_train_state(exact, opt, jax.random.PRNGKey(0), 1)
    with pytest.raises(ValueError, match=r"train_epochs: mesh_shape: expected three ints >= 1 .*got \(1, 1, 2\)"):
        train_epochs(exact, data, opt, state, 1, batch_size=1, devices=1, mesh_shape=(1, 1, 2))
    if len(jax.devices()) >= 2:  # the circuit axis needs an estimator that splits
        with pytest.raises(ValueError, match=r"the 'exact' estimator of model 'exact' cannot split its circuits"):
            train_epochs(exact, data, opt, state, 1, batch_size=1, devices=2, mesh_shape=(1, 1, 2))


def test_train_mesh_config_key():
    from slpa_jax.train.config import ConfigError, parse_config

    base = {"name": "x", "models": [{"ansatz": "sc", "estimator": "param_shift", "n_params": 8}]}
    assert parse_config(base).train.mesh == "auto"
    assert parse_config({**base, "train": {"mesh": [1, 2, 4]}}).train.mesh == [1, 2, 4]
    for bad in ([1, 2], [0, 1, 8], "best", [1, 1, 2.5]):
        with pytest.raises(ConfigError, match=r"config key 'train\.mesh': expected 'auto' or a list \[seeds, samples"):
            parse_config({**base, "train": {"mesh": bad}})
