"""Sharded statevector benchmark: strong and weak scaling over 1, 2, 4, 8 devices, communication, compile time.

On CPU the script asks XLA for ``--devices`` virtual host devices (``--xla_force_host_platform_device_count``,
set before JAX starts); they share the machine's cores, so CPU numbers measure correctness and
overhead, not speed-up. On GPUs it uses the GPUs present (powers of two up to ``--devices``).

For random Pauli-rotation circuits (weight 1-4 generators on random qubits, one parameter each) it
reports, per device count 2**g:

* strong scaling: the same n on 1, 2, 4, 8 devices, time per rotation of ``sharded_statevector``
  (jitted, warm, median of repeats) next to the single-device ``core.simulator.statevector``;
* weak scaling: n = n0 + g, so the shard per device stays 2**n0 amplitudes;
* communication from the static plan (``ShardPlan``): the fraction of rotations with global X bits,
  ppermutes per rotation and bytes sent per device per rotation (one shard per global-X rotation,
  zero otherwise), cross-checked against the ``collective_permute`` ops of the lowered program;
* compile time of the sharded program against depth (runs are scanned, so it should stay flat);
* correctness: max |sharded - single device| of every state timed;
* sharded training (``--training``, section ``bench_scale_training``): ``train_epochs`` of the
  paper's SLPA (ancilla block gradient, shots) with seeds and mini-batch samples split over 1, 2, 4, 8
  devices; strong scaling (fixed seeds x batch) and weak scaling (seeds grow with the devices),
  seconds per epoch (warm, median of repeats) and max |losses - one-device losses| (same keys); and the
  third axis: one seed, batch 1, so the mesh puts every device on the gradient circuits of the one
  sample (``--axis3-ansatz``/``--axis3-estimator``, default the SC circuit with parameter shift: 2L
  shifted circuits), against the one-device losses, parameters and shot counts.

Results print as a table and, unless ``--no-write``, replace the ``bench_scale`` section of ``--out``
(default ``benchmarks/RESULTS.md``). ``--quick`` is a smoke test (small n, no file written).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _set_devices(argv) -> None:
    """Ask for virtual CPU devices before JAX starts (ignored by GPU backends)."""
    k = 8
    for i, a in enumerate(argv):
        if a == "--devices" and i + 1 < len(argv):
            k = int(argv[i + 1])
        elif a.startswith("--devices="):
            k = int(a.split("=", 1)[1])
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={k}".strip()


if __name__ == "__main__":
    _set_devices(sys.argv[1:])

import jax  # noqa: E402
import numpy as np  # noqa: E402
from results_md import write_section  # noqa: E402  (benchmarks/ is on sys.path)

from slpa_jax.core import simulator as sim  # noqa: E402
from slpa_jax.core.circuit import Circuit  # noqa: E402
from slpa_jax.core.sharded import (  # noqa: E402
    global_qubits,
    shard_mesh,
    shard_plan,
    sharded_statevector,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "bench_scale"
TRAINING_SECTION = "bench_scale_training"


def random_labels(n: int, depth: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(depth):
        w = int(rng.integers(1, 5))
        lab = ["I"] * n
        for q in rng.choice(n, size=min(w, n), replace=False):
            lab[q] = "XYZ"[rng.integers(3)]
        out.append("".join(lab))
    return out


def timed(fn, arg, repeats: int) -> tuple[float, object]:
    """Median wall seconds of ``fn(arg)`` (after one warm-up call), and the last result."""
    out = jax.block_until_ready(fn(arg))
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(arg))
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def meshes(max_devices: int) -> list:
    devs = jax.devices()
    k, out = 1, []
    while k <= min(max_devices, len(devs)):
        out.append(shard_mesh(devs[:k]))
        k *= 2
    return out


def measure(n: int, mesh, depth: int, seed: int, repeats: int, dtype) -> dict:
    circuit = Circuit.from_labels(random_labels(n, depth, seed))
    params = np.random.default_rng(seed).uniform(0, 2 * np.pi, depth).astype(dtype)
    g = global_qubits(mesh)
    plan = shard_plan(circuit, g)
    fn = jax.jit(lambda p: sharded_statevector(circuit, p, mesh))
    t0 = time.perf_counter()
    lowered = fn.lower(params)
    text = lowered.as_text()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    t_shard, psi = timed(compiled, params, repeats)
    ref_fn = jax.jit(lambda p: sim.statevector(circuit, p))
    t_single, ref = timed(ref_fn, params, repeats)
    itemsize = np.dtype(psi.dtype).itemsize
    return {
        "n": n,
        "devices": mesh.size,
        "g": g,
        "depth": depth,
        "us_per_rot": 1e6 * t_shard / depth,
        "single_us_per_rot": 1e6 * t_single / depth,
        "compile_s": t_compile,
        "global_x": plan.ppermutes / depth,
        "bytes_per_rot": plan.comm_bytes(itemsize) / depth,
        "shard_mib": 2 ** (n - g) * itemsize / 2**20,
        "sites_ok": text.count("collective_permute") == plan.ppermute_sites,
        "err": float(np.abs(np.asarray(psi) - np.asarray(ref)).max()),
    }


def compile_vs_depth(n: int, mesh, depths, seed: int, dtype) -> list[tuple[int, float, int]]:
    out = []
    for depth in depths:
        circuit = Circuit.from_labels(random_labels(n, depth, seed + depth))
        params = np.zeros(depth, dtype)
        fn = jax.jit(lambda p, c=circuit: sharded_statevector(c, p, mesh))
        t0 = time.perf_counter()
        fn.lower(params).compile()
        out.append((depth, time.perf_counter() - t0, shard_plan(circuit, global_qubits(mesh)).runs))
    return out


def train_case(
    devices: int,
    n_seeds: int,
    batch: int,
    n_train: int,
    n_params: int,
    shots: int,
    repeats: int,
    ansatz: str = "slpa",
    estimator: str = "ancilla",
):
    """Seconds per epoch (warm) of ``train_epochs`` on the first ``devices`` devices, and its metrics."""
    from slpa_jax.core.devices import batch_mesh
    from slpa_jax.train.datasets import symmetric_unitary_task
    from slpa_jax.train.models import make_model
    from slpa_jax.train.training import init_train_state, make_optimizer, train_epochs

    data = symmetric_unitary_task(4, n_train, 8, key=jax.random.PRNGKey(0))
    model = make_model(ansatz, 4, n_params, estimator, shots)
    opt = make_optimizer(lr=0.01)
    state = init_train_state(model, opt, jax.random.PRNGKey(1), n_seeds)
    devs = jax.devices()[:devices]
    t0 = time.perf_counter()
    new_state, metrics = train_epochs(model, data, opt, state, 1, batch_size=batch, devices=devs)
    t_first = time.perf_counter() - t0
    metrics["params"] = np.asarray(new_state.params)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train_epochs(model, data, opt, state, 1, batch_size=batch, devices=devs)
        ts.append(time.perf_counter() - t0)
    mesh = batch_mesh(devs, n_seeds, batch, model.estimator.units or 1)
    return {
        "devices": devices,
        "mesh": " x ".join(str(k) for k in mesh.devices.shape),
        "units": model.estimator.units,
        "n_seeds": n_seeds,
        "batch": batch,
        "s_epoch": float(np.median(ts)),
        "compile_s": t_first - float(np.median(ts)),
        "metrics": metrics,
    }


def training_scaling(args, dtype) -> tuple[str, bool]:
    """Strong and weak scaling of sharded training; returns (markdown, all results equal to 1 device)."""
    most = min(args.devices, len(jax.devices()))
    counts = sorted({k for k in (1, 2, 4, 8, 16, 32, 64) if k <= most} | {most})  # and every device present
    n_train, n_params, shots = args.train_samples, args.train_params, args.train_shots
    ok = True
    tables = []
    for kind in ("strong", "weak"):
        rows, ref = [], {}
        for k in counts:
            seeds = args.train_seeds if kind == "strong" else args.train_seeds * k
            r = train_case(k, seeds, args.train_batch, n_train, n_params, shots, args.repeats)
            m = r.pop("metrics")
            if k == 1:
                ref = m
            # weak scaling: the first seeds of a larger run are the same seeds as the one-device run
            ok &= vs_reference(r, m, ref, ("train_loss", "test_loss"), dtype)
            r["speedup"] = (
                (rows[0]["s_epoch"] if rows else r["s_epoch"])
                / r["s_epoch"]
                * (seeds / rows[0]["n_seeds"] if rows else 1)
            )
            rows.append(r)
            print(f"training {kind}: {r}", flush=True)
        head = (
            "| devices | mesh (seeds x samples x circuits) | seeds | batch | s / epoch | throughput vs 1 device "
            "| compile (s) | max loss diff vs 1 device | shots equal |\n|---|---|---|---|---|---|---|---|---|\n"
        )
        body = "".join(
            f"| {r['devices']} | {r['mesh']} | {r['n_seeds']} | {r['batch']} | {r['s_epoch']:.3f} "
            f"| {r['speedup']:.2f}x | {r['compile_s']:.1f} | {r['err']:.1e} | {r['shots_equal']} |\n"
            for r in rows
        )
        what = f"fixed work, {args.train_seeds} seeds" if kind == "strong" else f"{args.train_seeds} seeds per device"
        tables.append(f"{kind.capitalize()} scaling ({what}):\n\n{head}{body}")
    axis3, ok3 = third_axis(args, counts, dtype)
    ok &= ok3
    md = (
        f"Paper SLPA (n = 4, L = {n_params}, ancilla block gradient, {shots} shots per circuit), "
        f"{n_train} training samples, mini-batch {args.train_batch}, one epoch per call "
        "(`train_epochs`, seeds x samples split over a `batch_mesh`; throughput = seed-epochs per second "
        "relative to one device).\n\n" + "\n".join(tables) + "\n" + axis3
    )
    return md, ok


def vs_reference(r: dict, m: dict, ref: dict, keys, dtype) -> bool:
    """Record in ``r`` the largest difference of ``keys`` and whether the shot counts are equal, between
    metrics ``m`` and the one-device ``ref`` (its seeds: the first seeds of ``m``); True if within the
    dtype's tolerance."""
    s = ref["test_loss"].shape[0]
    r["err"] = max(float(np.abs(m[q][:s] - ref[q]).max()) for q in keys)
    r["shots_equal"] = bool(np.array_equal(m["shots"][:s], ref["shots"]))
    return r["shots_equal"] and r["err"] <= (1e-4 if dtype == np.float32 else 1e-10)


def third_axis(args, counts, dtype) -> tuple[str, bool]:
    """One seed, batch 1: the devices split the gradient circuits of the one sample (mesh 1 x 1 x k)."""
    rows, ref, ok = [], None, True
    for k in counts:
        r = train_case(
            k, 1, 1, args.train_samples, args.train_params, args.train_shots, args.repeats,
            args.axis3_ansatz, args.axis3_estimator,
        )  # fmt: skip
        m = r.pop("metrics")
        ref = ref or m
        ok &= vs_reference(r, m, ref, ("train_loss", "test_loss", "params"), dtype)
        r["speedup"] = rows[0]["s_epoch"] / r["s_epoch"] if rows else 1.0
        rows.append(r)
        print(f"training third axis: {r}", flush=True)
    head = (
        "| devices | mesh (seeds x samples x circuits) | circuits split | s / epoch | speed-up vs 1 device "
        "| compile (s) | max loss / param diff vs 1 device | shots equal |\n|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['devices']} | {r['mesh']} | {r['units']} | {r['s_epoch']:.3f} | {r['speedup']:.2f}x "
        f"| {r['compile_s']:.1f} | {r['err']:.1e} | {r['shots_equal']} |\n"
        for r in rows
    )
    md = (
        f"Third axis (one seed, batch 1: {args.axis3_ansatz} with {args.axis3_estimator}, L = {args.train_params}, "
        f"{args.train_shots} shots; the {rows[0]['units']} gradient circuits of the one sample split over the "
        "devices, each with its own key; `f_hat` and the shared prefix sweep repeated on every device):\n\n"
        + head
        + body
    )
    return md, ok


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def table(rows: list[dict]) -> str:
    head = (
        "| n | devices | shard (MiB) | global-X rot. | sent / device / rot. (MiB) | sharded (us/rot) "
        "| 1 device (us/rot) | compile (s) | HLO ppermutes = plan | max err |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['n']} | {r['devices']} | {r['shard_mib']:.2f} | {r['global_x']:.2f} | {r['bytes_per_rot'] / 2**20:.3f} "
        f"| {r['us_per_rot']:.0f} | {r['single_us_per_rot']:.0f} | {r['compile_s']:.2f} | {r['sites_ok']} "
        f"| {r['err']:.1e} |\n"
        for r in rows
    )
    return head + body


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=8, help="largest device count (virtual CPU devices on CPU)")
    ap.add_argument("--strong-n", type=int, default=20, help="qubits of the strong-scaling runs")
    ap.add_argument("--weak-n0", type=int, default=17, help="local qubits per device in the weak-scaling runs")
    ap.add_argument("--depth", type=int, default=64, help="rotations per circuit")
    ap.add_argument("--compile-depths", default="10,100,1000", help="depths of the compile-time table (max devices)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="complex64", choices=["complex64", "complex128"])
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--quick", action="store_true", help="smoke test: small n, short circuits, nothing written")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS, help="markdown file whose bench_scale section is replaced")
    ap.add_argument("--note", default="", help="free-text conditions note written with the results")
    ap.add_argument(
        "--training", action="store_true", help="benchmark sharded training only (section bench_scale_training)"
    )
    ap.add_argument("--train-seeds", type=int, default=8, help="seeds (strong) or seeds per device (weak)")
    ap.add_argument("--train-batch", type=int, default=4, help="mini-batch size of the training benchmark")
    ap.add_argument("--train-samples", type=int, default=16, help="training samples per epoch")
    ap.add_argument("--train-params", type=int, default=24, help="SLPA rotations L (a multiple of 4)")
    ap.add_argument("--train-shots", type=int, default=100, help="shots per circuit in the training benchmark")
    ap.add_argument("--axis3-ansatz", default="sc", help="ansatz of the third-axis case (1 seed, batch 1)")
    ap.add_argument("--axis3-estimator", default="param_shift", help="estimator of the third-axis case")
    args = ap.parse_args(argv)
    if args.quick:
        args.strong_n, args.weak_n0, args.depth, args.compile_depths, args.repeats = 12, 10, 16, "10,40", 1
        args.train_seeds, args.train_samples, args.train_params = 2, 8, 8
        args.no_write = args.no_write or args.out == RESULTS
    if args.dtype == "complex128":
        jax.config.update("jax_enable_x64", True)
    dtype = np.float32 if args.dtype == "complex64" else np.float64
    ms = meshes(args.devices)
    backend = jax.default_backend()
    info = (
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {cpu_model()}, {os.cpu_count()} cores, "
        f"backend {backend} ({jax.devices()[0].device_kind}), {len(jax.devices())} devices, jax {jax.__version__}, "
        f"{args.dtype}, depth {args.depth}"
    )
    load_start = uptime()
    print(f"# bench_scale  {info}\n# {load_start}", flush=True)
    if args.training:
        body, ok = training_scaling(args, dtype)
        cpu_note = (
            "The devices are virtual CPU devices sharing this machine's cores "
            f"({os.cpu_count()}): with 2 cores, more than 2 devices cannot be faster; the table shows that "
            "splitting changes nothing but rounding and what the split costs.\n\n"
            if backend == "cpu"
            else ""
        )
        md = (
            f"## Sharded training scaling (`benchmarks/bench_scale.py --training`)\n\n{info.rsplit(', depth', 1)[0]}. "
            f"Load at start: `{load_start}`; at end: `{uptime()}`."
            + (f" {args.note}" if args.note else "")
            + "\n\n"
            + cpu_note
            + body
        )
        print(md, flush=True)
        if not args.no_write:
            write_section(args.out, TRAINING_SECTION, md)
            print(f"wrote the {TRAINING_SECTION} section of {args.out}")
        if not ok:
            print("FAILED: a sharded training result differs from one device", file=sys.stderr)
        return 0 if ok else 1
    strong = [measure(args.strong_n, m, args.depth, args.seed, args.repeats, dtype) for m in ms]
    print("strong scaling\n" + table(strong), flush=True)
    weak = [measure(args.weak_n0 + global_qubits(m), m, args.depth, args.seed, args.repeats, dtype) for m in ms]
    print("weak scaling\n" + table(weak), flush=True)
    depths = [int(d) for d in args.compile_depths.split(",") if d]
    comp = compile_vs_depth(args.strong_n, ms[-1], depths, args.seed, dtype)
    comp_md = "| depth | runs | compile (s) |\n|---|---|---|\n"
    comp_md += "".join(f"| {d} | {r} | {t:.2f} |\n" for d, t, r in comp)
    print(f"compile time vs depth on {ms[-1].size} devices\n" + comp_md, flush=True)
    load_end = uptime()
    cpu_note = (
        "The devices are virtual CPU devices sharing this machine's cores "
        f"({os.cpu_count()}): times show overhead and correctness, not a speed-up.\n\n"
        if backend == "cpu"
        else ""
    )
    md = (
        f"## Sharded statevector scaling (`benchmarks/bench_scale.py`)\n\n"
        f"{info}. Load at start: `{load_start}`; at end: `{load_end}`."
        + (f" {args.note}" if args.note else "")
        + "\n\n"
        + cpu_note
        + f"Strong scaling, n = {args.strong_n}:\n\n{table(strong)}\n"
        + f"Weak scaling, n = {args.weak_n0} + g (shard of 2^{args.weak_n0} amplitudes):\n\n{table(weak)}\n"
        + f"Compile time of the sharded program vs depth (n = {args.strong_n}, {ms[-1].size} devices; "
        "rotation runs are scans whose body switches over the global X patterns):\n\n"
        + comp_md
        + "\nCommunication: one ppermute of one shard per device per rotation with global X bits, none otherwise "
        "(`ShardPlan.comm_bytes`; the `collective_permute` ops of the lowered program match the plan's count).\n"
    )
    bad = [r for r in strong + weak if not r["sites_ok"] or r["err"] > (1e-4 if dtype == np.float32 else 1e-10)]
    if not args.no_write:
        write_section(args.out, SECTION, md)
        print(f"wrote the {SECTION} section of {args.out}")
    if bad:
        print(f"FAILED checks: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
