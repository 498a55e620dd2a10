"""Batch parallelism checks (training, landscape, batched calls) on 8 CPU devices, for ``test_batch_sharding.py``.

``devices_worker.py`` (the suite's one 8-device subprocess) calls ``run()``; ``python tests/batch_worker.py``
runs these checks alone. Either sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before JAX
starts and enables x64. ``run()`` returns ``[{"name", "kind", "err"}, ...]``: ``kind`` is ``"sim"``
(float results: compared with ``TOL``), ``"eps"`` (compared with ``EPS["complex128"]``, the issue's
1e-12) or ``"exact"`` (integers, shapes: ``err`` must be 0). The reference is the same computation
on one device (its correctness against dense references is ``test_training.py``'s,
``test_landscape.py``'s and ``test_simulator.py``'s job); this checks that splitting seeds, samples
and one sample's gradient circuits over 8 devices (padded: 3 seeds, a batch of 4, 10 circuits), and
batches of parameters or states over 8 and 3, changes nothing but rounding. Assertions live in
``test_batch_sharding.py``.
"""

from __future__ import annotations

import json
import os
import sys
import time

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import numpy as np  # noqa: E402

from slpa_jax.analysis.landscape import expectation_samples  # noqa: E402
from slpa_jax.blocks import ansatze  # noqa: E402
from slpa_jax.blocks.gradient import block_gradient_estimator  # noqa: E402
from slpa_jax.blocks.slpa import detect_blocks  # noqa: E402
from slpa_jax.core import simulator as sim  # noqa: E402
from slpa_jax.core.batched import batch_expectation, batch_value_and_grad  # noqa: E402
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


def compare(tag: str, ref: dict, got: dict, keys=None, kind: str = "sim") -> None:
    for k in keys or ref:
        a, b = ref[k], got[k]
        if a.dtype.kind in "iu":
            record(f"{tag}: {k}", "exact", int(np.abs(a - b).max()) + int(a.shape != b.shape))
        else:
            record(f"{tag}: {k}", kind, float(np.abs(a - b).max()))


LABELS = ["XXI", "IZZ", "YIY", "ZXI", "IYX", "XIZ"]


def train(model, opt, devices: int, n_seeds: int, batch: int, mesh=None) -> dict:
    """Two one-epoch calls (the state is padded, sharded and gathered between them) on ``devices``
    (``mesh``: the ``train_epochs(mesh_shape=)`` override); ``out["mesh"]`` is the mesh shape used."""
    data = DATA
    state = init_train_state(model, opt, jax.random.PRNGKey(3), n_seeds)
    state, m1 = train_epochs(model, data, opt, state, 1, batch_size=batch, devices=devices, mesh_shape=mesh)
    state, m2 = train_epochs(
        model, data, opt, state, 1, batch_size=batch, devices=list(range(devices)), mesh_shape=mesh
    )
    out = {k: np.concatenate([m1[k], m2[k]], axis=1) for k in m1}
    out["params"] = np.asarray(state.params)
    out["key"] = np.asarray(state.key)
    out["opt_leaves"] = np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(state.opt_state)] + [[0.0]])
    used = batch_mesh(jax.devices()[:devices], n_seeds, batch, model.estimator.units or 1, shape=mesh)
    out["mesh"] = tuple(int(k) for k in used.devices.shape)
    print(f"devices {devices}, seeds {n_seeds}, batch {batch}: mesh {dict(used.shape)}", file=sys.stderr)
    return out


TRAIN_KEYS = LOSS_KEYS + ("params", "opt_leaves")


def training() -> None:
    circuit = Circuit.from_labels(LABELS)
    shots = Model("shots", circuit, "XXI", param_shift_estimator(circuit, "XXI", 50))
    exact = Model("exact", circuit, "XXI", exact_estimator(circuit, "XXI"))
    adam, sgd = make_optimizer(lr=0.05), make_optimizer("sgd", lr=0.2)
    # the rule's mesh for 3 seeds x 4 samples x 12 shifted circuits: 1 x 4 x 2 (samples and circuits).
    # Every per-sample and per-circuit computation is the one-device one, so parameters agree too
    # (a parameter that does not change f has a gradient of pure shot noise at p = 1/2 exactly, where
    # a rounding-level change of the probability could change a sampled count: not seen here).
    ref = train(shots, adam, 1, 3, 4)
    auto = train(shots, adam, 8, 3, 4)
    compare("train shots 8 vs 1 devices (auto mesh 1x4x2: samples and circuits split)", ref, auto, TRAIN_KEYS, "eps")
    record("train shots spent > 0", "exact", int(not np.all(auto["shots"] > 0)))
    # exact gradients, the override (4, 2, 1): 3 seeds padded to 4 x the batch of 4 over 2, to rounding
    ex1, got = train(exact, sgd, 1, 3, 4), train(exact, sgd, 8, 3, 4, mesh=(4, 2, 1))
    compare("train exact 8 vs 1 devices (mesh 4x2x1: seeds padded, samples split)", ex1, got, TRAIN_KEYS)
    record(
        "train padding dropped (3 seeds out)", "exact", int(any(got[k].shape[0] != 3 for k in LOSS_KEYS + ("params",)))
    )
    # the third axis alone: one seed, batch 1, the 10 block settings of the sample over 8 devices
    # (padded to 16), the ancilla-free block gradient with shots
    circuit = Circuit.from_labels(LABELS)
    bc = detect_blocks(circuit, "XXI")
    block = Model("block", circuit, "XXI", block_gradient_estimator(bc, 50, "ancilla_free"), bc)
    b1, b8 = train(block, adam, 1, 1, 1), train(block, adam, 8, 1, 1)
    compare("train block 8 vs 1 devices (mesh 1x1x8: one sample's circuits split)", b1, b8, TRAIN_KEYS, "eps")
    meshes = [got["mesh"], auto["mesh"], b8["mesh"], ref["mesh"]]
    record(f"train meshes {meshes}", "exact", int(meshes != [(4, 2, 1), (1, 4, 2), (1, 1, 8), (1, 1, 1)]))


def landscape() -> None:
    circuit = ansatze.fig10_slpa_circuit(4, 4)
    obs = "XXII"
    key = jax.random.PRNGKey(11)
    out = {}
    for devices in (1, 8, 3):  # jitted, as callers use it
        fn = jax.jit(
            lambda k, d=devices: expectation_samples(
                circuit, obs, key=k, n_samples=50, batch_size=4, devices=d, dtype=jnp.float64
            )
        )
        out[devices] = np.asarray(fn(key))
    record("landscape shape", "exact", int(out[8].shape != (50,) or out[3].shape != (50,)))
    record("landscape 8 vs 1 devices (50 samples padded to 56)", "sim", np.abs(out[8] - out[1]).max())
    record("landscape 3 vs 1 devices (50 samples padded to 51)", "sim", np.abs(out[3] - out[1]).max())


def batched_calls() -> None:
    """``core.batched`` over 8 and 3 devices against ``jax.vmap`` of the single-device simulator."""
    rng = np.random.default_rng(5)
    circuit = Circuit.from_labels(LABELS).gate("CNOT", 0, 2)
    obs = [(0.6, "XXI"), (-0.3, "ZIY")]
    params = rng.uniform(0, 2 * np.pi, (5, circuit.n_params))
    ref_v, ref_g = jax.jit(jax.vmap(jax.value_and_grad(lambda p, s: sim.expectation(circuit, p, obs, s))))(
        params, _STATES[:5]
    )
    v, g = batch_value_and_grad(circuit, params, obs, _STATES[:5], devices=8)  # 5 padded to 8
    record("batched value 8 devices vs vmap (5 padded to 8)", "eps", np.abs(np.asarray(v) - ref_v).max())
    record("batched gradient 8 devices vs vmap", "eps", np.abs(np.asarray(g) - ref_g).max())
    record("batched shapes", "exact", int(v.shape != (5,) or g.shape != (5, circuit.n_params)))
    # one parameter vector, a batch of 7 states over 3 devices (padded to 9)
    ref = jax.jit(jax.vmap(lambda s: sim.expectation(circuit, params[0], obs, s)))(_STATES)
    got = batch_expectation(circuit, params[0], obs, _STATES, devices=3)
    record("batched states 3 devices vs vmap (7 padded to 9)", "eps", np.abs(np.asarray(got) - ref).max())


def run() -> list[dict]:
    """Every check on this process's 8 devices; returns the records."""
    assert len(jax.devices()) == 8, jax.devices()
    training()
    landscape()
    batched_calls()
    return CHECKS


def main() -> None:
    print(json.dumps({"devices": len(jax.devices()), "checks": run()}))


if __name__ == "__main__":
    main()
