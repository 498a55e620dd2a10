"""The suite's one 8-device subprocess: the checks of ``batch_worker.py`` and ``sharded_worker.py``.

Run as ``python tests/devices_worker.py``: it sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
before JAX starts (the two modules' imports see it), enables x64 and prints one JSON object on its last
stdout line:

    {"devices": 8, "batch": [{"name", "kind", "err"}, ...], "sharded": [{"name", "dtype", "kind", "err"}, ...]}

``test_batch_sharding.py`` reads ``batch``, ``test_sharded.py`` reads ``sharded``; one process (started
once per session, ``conftest.worker_json_once``) saves a JAX start-up and a worker per suite run.
"""

from __future__ import annotations

import json
import os
import sys

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
sys.path.insert(0, os.path.dirname(__file__))

import batch_worker  # noqa: E402
import jax  # noqa: E402
import sharded_worker  # noqa: E402


def main() -> None:
    out = {"devices": len(jax.devices()), "batch": batch_worker.run(), "sharded": sharded_worker.run()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
