"""Subprocess worker of ``test_batch_sharding.py``: batch parallelism (training, landscape) on 8 CPU devices.

Run as ``python tests/batch_worker.py``: it sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
before JAX starts, enables x64 and prints one JSON object on its last stdout line:

    {"devices": 8, "checks": [{"name", "kind", "err"}, ...]}

``kind`` is ``"sim"`` (float results: compared with ``TOL``), ``"exact"`` (integers, shapes: ``err``
must be 0). The reference is the same computation on one device (its correctness against dense
references is ``test_training.py``'s and ``test_landscape.py``'s job); this checks that splitting
seeds and samples over 8 and 3 devices (padded: 3 seeds and a batch of 4 on 8 devices, 5 on 3)
changes nothing but rounding. Assertions live in ``test_batch_sharding.py``.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import numpy as np  # noqa: E402

from slpa_jax.analysis.landscape import expectation_samples  # noqa: E402
from slpa_jax.blocks import ansatze  # noqa: E402
from slpa_jax.core.circuit import Circuit  # noqa: E402
from slpa_jax.core.devices import batch_mesh  # noqa: E402
from slpa_jax.measure.estimator import exact_estimator  # noqa: E402
from slpa_jax.measure.param_shift import param_shift_estimator  # noqa: E402
from slpa_jax.train.datasets import Dataset  # noqa: E402
from slpa_jax.train.training import Model, init_train_state, make_optimizer, train_epochs  # noqa: E402

CHECKS: list[dict] = []
LOSS_KEYS = ("train_loss", "test_loss", "shots", "executions", "key")
_RNG = np.random.default_rng(0)
_STATES = _RNG.normal(size=(7, 8)) + 1j * _RNG.normal(size=(7, 8))
_STATES /= np.linalg.norm(_STATES, axis=1, keepdims=True)
DATA = Dataset(_STATES[:4], _RNG.uniform(-1, 1, 4), _STATES[4:], _RNG.uniform(-1, 1, 3))
T0 = time.perf_counter()


def record(name: str, kind: str, err: float) -> None:
    print(f"{time.perf_counter() - T0:7.1f} s  {name}: {err:.3g}", file=sys.stderr, flush=True)
    CHECKS.append({"name": name, "kind": kind, "err": float(err)})


def compare(tag: str, ref: dict, got: dict, keys=None) -> None:
    for k in keys or ref:
        a, b = ref[k], got[k]
        if a.dtype.kind in "iu":
            record(f"{tag}: {k}", "exact", int(np.abs(a - b).max()) + int(a.shape != b.shape))
        else:
            record(f"{tag}: {k}", "sim", float(np.abs(a - b).max()))


LABELS = ["XXI", "IZZ", "YIY", "ZXI", "IYX", "XIZ"]


def train(model, opt, devices: int, n_seeds: int, batch: int) -> dict:
    """Two one-epoch calls (the state is padded, sharded and gathered between them) on ``devices``."""
    data = DATA
    state = init_train_state(model, opt, jax.random.PRNGKey(3), n_seeds)
    state, m1 = train_epochs(model, data, opt, state, 1, batch_size=batch, devices=devices)
    state, m2 = train_epochs(model, data, opt, state, 1, batch_size=batch, devices=list(range(devices)))
    out = {k: np.concatenate([m1[k], m2[k]], axis=1) for k in m1}
    out["params"] = np.asarray(state.params)
    out["key"] = np.asarray(state.key)
    out["opt_leaves"] = np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(state.opt_state)] + [[0.0]])
    mesh = batch_mesh(jax.devices()[:devices], n_seeds, batch)
    print(f"devices {devices}, seeds {n_seeds}, batch {batch}: mesh {dict(mesh.shape)}", file=sys.stderr)
    return out


def training() -> None:
    circuit = Circuit.from_labels(LABELS)
    shots = Model("shots", circuit, "XXI", param_shift_estimator(circuit, "XXI", 50))
    exact = Model("exact", circuit, "XXI", exact_estimator(circuit, "XXI"))
    adam, sgd = make_optimizer(lr=0.05), make_optimizer("sgd", lr=0.2)
    ref = train(shots, adam, 1, 3, 4)
    # seeds only (3 devices, 3 seeds): every per-seed computation is the one-device one
    compare("train shots 3 vs 1 devices (seed axis)", ref, train(shots, adam, 3, 3, 4))
    # 8 devices: 3 seeds padded to 4 x the batch of 4 over 2; the exact losses and every count agree.
    # Parameters that do not change f have a gradient estimate of pure shot noise at p = 1/2 exactly,
    # where a rounding-level change of the probability can change a sampled count: not compared.
    got = train(shots, adam, 8, 3, 4)
    compare("train shots 8 vs 1 devices (seeds padded, samples split)", ref, got, LOSS_KEYS)
    record(
        "train padding dropped (3 seeds out)", "exact", int(any(got[k].shape[0] != 3 for k in LOSS_KEYS + ("params",)))
    )
    record("train shots spent > 0", "exact", int(not np.all(got["shots"] > 0)))
    # exact gradients: the psum over split samples (batch 4 over 4 devices, 2 seeds) to rounding
    compare("train exact 8 vs 1 devices (samples split)", train(exact, sgd, 1, 2, 4), train(exact, sgd, 8, 2, 4))
    meshes = [dict(batch_mesh(jax.devices()[:d], s, b).shape) for d, s, b in ((8, 3, 4), (3, 5, 4), (8, 2, 4))]
    want = [{"seeds": 4, "samples": 2}, {"seeds": 3, "samples": 1}, {"seeds": 2, "samples": 4}]
    record("train meshes", "exact", int(meshes != want))


def landscape() -> None:
    circuit = ansatze.fig10_slpa_circuit(4, 4)
    obs = "XXII"
    key = jax.random.PRNGKey(11)
    out = {}
    for devices in (1, 8, 3):  # jitted, as callers use it
        fn = jax.jit(
            lambda k, d=devices: expectation_samples(circuit, obs, key=k, n_samples=50, batch_size=4, devices=d)
        )
        out[devices] = np.asarray(fn(key))
    record("landscape shape", "exact", int(out[8].shape != (50,) or out[3].shape != (50,)))
    record("landscape 8 vs 1 devices (50 samples padded to 56)", "sim", np.abs(out[8] - out[1]).max())
    record("landscape 3 vs 1 devices (50 samples padded to 51)", "sim", np.abs(out[3] - out[1]).max())


def main() -> None:
    assert len(jax.devices()) == 8, jax.devices()
    training()
    landscape()
    print(json.dumps({"devices": len(jax.devices()), "checks": CHECKS}))


if __name__ == "__main__":
    main()
