"""Strict test settings: x64 on, rank promotion raises (style.md item 13)."""

import os
import sys

# Two xdist workers on a 2-core machine: one BLAS thread each avoids oversubscription (70x slowdowns seen).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# One persistent XLA compilation cache for the whole run: the two xdist workers and the subprocesses
# (CLI, 8-device worker) compile many identical programs (the tiny models of the run tests); the
# second compile of each is a disk read. Kept between local runs (.pytest_cache is git-ignored).
_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".pytest_cache", "jax-compilation")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.abspath(_CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

# Tests run tiny programs, where XLA's LLVM optimisation buys nothing and costs about a quarter of the
# suite's CPU time in compilation; results are unaffected (every comparison has a tolerance, and
# same-key checks compare programs compiled alike). Benchmarks and real runs keep the default.
# XLA's classic CPU loop emitter (``--xla_cpu_use_fusion_emitters=false``) compiles the suite's programs
# about 3x faster than the default fusion emitters (the suite's CPU time drops by ~30 %). It fuses chains of
# permuted reads into code that grows with the chain: the library keeps such chains out of its programs
# (``simulator.group_states``), and the few test programs that still compile slower with it pass
# ``compiler_options={"xla_cpu_use_fusion_emitters": True}`` (``sharded_worker.py``). test_readme.py runs
# with JAX's defaults, so the default compilation path stays under test.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    + " --xla_cpu_use_fusion_emitters=false"
).strip()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

sys.path.insert(0, os.path.dirname(__file__))

#: The tolerance tables, keyed by dtype (style.md item 11); tests use these instead of literal numbers.
#: TOL: results computed through a simulation or a sum of many terms in that precision.
TOL = {"complex128": 1e-10, "float64": 1e-10, "complex64": 2e-5, "float32": 2e-5}
#: EPS: results of a few exact-arithmetic operations (table entries, single gates, closed forms).
EPS = {"complex128": 1e-12, "float64": 1e-12, "complex64": 1e-6, "float32": 1e-6}
#: Method tolerances that are not set by a dtype (finite differences, iterative eigensolvers) are
#: named constants in the test that uses them.


#: Worker results of this process (no xdist), by name.
_ONCE: dict = {}


def worker_json_once(tmp_path_factory, worker_id: str, name: str, argv: list, timeout: float) -> dict:
    """Run a worker script (``argv``) in a subprocess and return the JSON on its last stdout line, ONCE
    per test session: with xdist the first worker to ask runs it (under a file lock) and the others
    read its cached result, so a module fixture shared by tests on both workers costs one run."""
    import fcntl
    import json
    import subprocess

    def run() -> dict:
        env = dict(os.environ)
        env["JAX_PLATFORMS"] = "cpu"  # virtual CPU devices, also on a machine with accelerators
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        out = subprocess.run(
            [sys.executable, *map(str, argv)], capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        assert out.returncode == 0, out.stderr[-4000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    if worker_id == "master":  # no xdist: once per process (two modules may share a worker)
        if name not in _ONCE:
            _ONCE[name] = run()
        return _ONCE[name]
    root = tmp_path_factory.getbasetemp().parent  # shared by the workers of this session only
    cache = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not cache.exists():
                cache.write_text(json.dumps(run()))
            return json.loads(cache.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def devices_worker(tmp_path_factory, worker_id) -> dict:
    """The JSON of ``devices_worker.py`` (the suite's one 8-device subprocess, run once per session and
    read by test_batch_sharding.py and test_sharded.py)."""
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "devices_worker.py")
    return worker_json_once(tmp_path_factory, worker_id, "devices_worker", [worker], timeout=1200)
