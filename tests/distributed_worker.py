"""One process of ``test_distributed.py``'s two-process ``jax.distributed`` job on this machine.

Run as ``python tests/distributed_worker.py PROCESS_ID PORT CONFIG OUT_DIR``: two virtual CPU devices
per process (``XLA_FLAGS``, set before JAX starts), x64 on like the tests, then through the CLI with
``--distributed --coordinator localhost:PORT --num-processes 2 --process-id PROCESS_ID``:

1. ``run`` for one epoch, then ``run`` again for two (a resume from process 0's checkpoint);
   one seed and a full batch of 4 samples over the 4 global devices, so every step's gradient is a
   ``psum`` across both processes (gloo);
2. ``sweep`` over ``train.seed=[1,2,3]`` (one epoch each): process 0 runs points 0 and 2, process 1
   point 1, each on its own two devices; process 0 writes the sweep files.

The last stdout line is JSON: ``{"process", "processes", "devices", "local_devices", "exit_codes"}``.
Assertions live in ``test_distributed.py``.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from slpa_jax.cli import main  # noqa: E402

SWEEP = ["--over", "train.seed=[1,2,3]", "--set", "train.epochs=1"]  # one epoch per point is enough


def run() -> None:
    pid, port, config, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    dist = ["--distributed", "--coordinator", f"localhost:{port}", "--num-processes", "2", "--process-id", pid]
    codes = [
        main(["run", config, "--set", "train.epochs=1", "--run-dir", f"{out}/run", "--no-progress", *dist]),
        main(["run", config, "--run-dir", f"{out}/run", "--no-progress", *dist]),
        main(["sweep", config, *SWEEP, "--run-dir", f"{out}/sweep", "--no-progress", *dist]),
    ]
    info = {
        "process": jax.process_index(),
        "processes": jax.process_count(),
        "devices": len(jax.devices()),
        "local_devices": len(jax.local_devices()),
        "exit_codes": codes,
    }
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    run()
