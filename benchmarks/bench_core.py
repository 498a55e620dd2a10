"""Core simulator benchmark: forward, adjoint gradient, vmapped batch, compile time, memory floor.

On the same random Pauli-rotation circuits (weight 1-4 generators on random qubits, one parameter per
rotation, observable X0 X1 + Z0 Z1) this script times, for each qubit count and complex dtype:

* forward ``expectation`` (time per rotation, and its ratio to the memory floor
  ``2 * 2**n * itemsize / bandwidth``, with the copy bandwidth measured on this machine);
* the full adjoint gradient ``jax.grad(expectation)`` and its ratio to the forward time;
* a batch of 64 parameter vectors through ``jax.vmap`` (chunked with ``lax.map`` when 64 states would
  exceed ``--batch-mem`` MiB);
* trace and compile time separately, and how they (and the gradient's temp memory) scale with depth;
* qulacs (``multi_Pauli_rotation`` gates, complex128 only; qulacs rotates by exp(+i a P/2), so it gets
  a = -theta) and PennyLane lightning.qubit (``qml.PauliRot``, adjoint gradient) on identical circuits,
  after checking that their values and gradients agree with ours.

Results print as tables and, unless ``--no-write``, replace the ``bench_core`` section of
``benchmarks/RESULTS.md``. Run ``python benchmarks/bench_core.py --help`` for options; the default run
takes a few minutes on a 2-core machine; ``--quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # complex128 runs need it; complex64 runs pass float32 params

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from results_md import write_section as _write_section  # noqa: E402  (benchmarks/ is on sys.path)

from slpa_jax.core.circuit import Circuit  # noqa: E402
from slpa_jax.core.simulator import expectation, statevector  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "bench_core"
DTYPES = {"complex64": (np.float32, np.complex64), "complex128": (np.float64, np.complex128)}
TOL = {"complex64": 2e-4, "complex128": 1e-9}  # agreement with qulacs / lightning (values and gradients)


# ----------------------------------------------------------------------------------------- helpers


def lower_and_compile(fn, arg):
    """``(compiled, trace seconds, XLA compile seconds)`` of ``jax.jit(fn)`` at ``arg``."""
    t0 = time.perf_counter()
    lowered = jax.jit(fn).lower(arg)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    return compiled, t1 - t0, time.perf_counter() - t1


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def l3_mib() -> float:
    """Size of the largest CPU cache in MiB (0 if unknown)."""
    sizes = []
    for f in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        m = re.fullmatch(r"(\d+)([KMG]?)", f.read_text().strip())
        if m:
            sizes.append(int(m.group(1)) * {"": 2**-20, "K": 2**-10, "M": 1, "G": 2**10}[m.group(2)])
    return max(sizes, default=0.0)


def best_time(fn, *, min_reps: int = 3, max_reps: int = 20, budget: float = 1.0, warmup: bool = True) -> float:
    """Minimum wall time of ``fn()`` (which must block), over repeats that fit in ``budget`` seconds."""
    if warmup:
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_reps and time.perf_counter() - start > budget:
            break
        if times[-1] > budget:  # one call already exceeds the budget: one timed call is all we take
            break
    return min(times)


def fmt_t(t: float | None) -> str:
    if t is None:
        return "-"
    if t >= 1.0:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def fmt_b(b: float) -> str:
    for unit, s in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= s:
            return f"{b / s:.3g} {unit}"
    return f"{b:.0f} B"


# ----------------------------------------------------------------------------------------- bandwidth


def measure_bandwidth(nbytes: int) -> dict:
    """Copy bandwidth in bytes/s (read + write counted), best of numpy 1- and 2-thread copies and an
    in-place JAX pass on the default device. Buffers of ``nbytes`` each, far larger than L2."""
    res = {}
    if jax.default_backend() == "cpu":
        src = np.ones(nbytes // 4, np.float32)
        dst = np.empty_like(src)
        np.copyto(dst, src)  # fault the pages in
        res["numpy copy (1 thread)"] = 2 * nbytes / best_time(lambda: np.copyto(dst, src), min_reps=5, budget=1.0)
        half = src.size // 2
        parts = [(dst[:half], src[:half]), (dst[half:], src[half:])]

        def two():
            ts = [threading.Thread(target=np.copyto, args=p) for p in parts]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        res["numpy copy (2 threads)"] = 2 * nbytes / best_time(two, min_reps=5, budget=1.0)
        del src, dst
    scale = jax.jit(lambda x: -x, donate_argnums=0)  # in place: one read and one write per element
    box = [jnp.ones(nbytes // 4, jnp.float32)]

    def run():
        box[0] = scale(box[0])
        box[0].block_until_ready()

    res["jax in-place pass"] = 2 * nbytes / best_time(run, min_reps=5, budget=1.0)
    box.clear()
    return res


def cache_pass_time(n: int, cdt) -> float:
    """Time of one in-place elementwise pass over a 2**n state inside ``lax.scan`` (same-size floor)."""
    steps = 64
    f = jax.jit(lambda s, c: lax.scan(lambda s, ci: (s * ci, None), s, c)[0], donate_argnums=0)
    coef = jnp.full(steps, -1, dtype=cdt)
    box = [jnp.ones(2**n, cdt)]

    def run():
        box[0] = f(box[0], coef)
        box[0].block_until_ready()

    return best_time(run, min_reps=3, budget=0.5) / steps


# ----------------------------------------------------------------------------------------- circuits


def random_labels(n: int, depth: int, seed: int) -> list[str]:
    """``depth`` Pauli strings of weight 1-4 (uniform), on distinct random qubits, letters uniform."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(depth):
        w = int(rng.integers(1, min(4, n) + 1))
        chars = ["I"] * n
        for q in rng.choice(n, size=w, replace=False):
            chars[q] = "XYZ"[int(rng.integers(3))]
        out.append("".join(chars))
    return out


def observable(n: int) -> list[tuple[float, str]]:
    """O = X0 X1 + Z0 Z1 (the paper's X0 X1 plus a term with a non-negligible value from |0...0>)."""
    rest = "I" * (n - 2)
    return [(1.0, "XX" + rest), (1.0, "ZZ" + rest)]


# ----------------------------------------------------------------------------------------- ours


def bench_ours(circ: Circuit, params: np.ndarray, batch: np.ndarray, batch_mem: float, obs: str) -> dict:
    n = circ.n_qubits
    p = jnp.asarray(params)
    pb = jnp.asarray(batch)
    cdt = jnp.complex128 if p.dtype == jnp.float64 else jnp.complex64
    f = lambda q: expectation(circ, q, obs)
    g = jax.grad(f)
    itemsize = np.dtype(cdt).itemsize
    chunk = int(max(1, min(len(batch), batch_mem * 2**20 // (2**n * itemsize))))
    if chunk >= len(batch):
        fb = jax.vmap(f)
    else:
        fb = lambda qs: lax.map(f, qs, batch_size=chunk)
    out = {"batch_chunk": chunk}
    for name, fn, arg in (("fwd", f, p), ("grad", g, p), ("batch", fb, pb)):
        compiled, out[f"{name}_trace"], out[f"{name}_compile"] = lower_and_compile(fn, arg)
        first = time.perf_counter()
        val = jax.block_until_ready(compiled(arg))
        first = time.perf_counter() - first
        out[f"{name}_value"] = np.asarray(val)
        heavy = first > 2.0
        out[name] = min(
            first,
            best_time(
                lambda c=compiled, a=arg: jax.block_until_ready(c(a)),
                min_reps=1 if heavy else 3,
                budget=0.0 if heavy else 1.5,
                warmup=False,
            ),
        )
    assert out["fwd_value"].dtype == np.dtype(p.dtype), "expectation dtype does not follow the parameters"
    psi = jax.jit(lambda q: statevector(circ, q))(p)
    assert psi.dtype == cdt, f"state dtype {psi.dtype}, expected {cdt}"
    out["state"] = np.asarray(psi)
    return out


# ----------------------------------------------------------------------------------------- qulacs


def qulacs_runner(labels: list[str], n: int):
    import qulacs

    obs = qulacs.Observable(n)
    obs.add_operator(1.0, "X 0 X 1")
    obs.add_operator(1.0, "Z 0 Z 1")
    circ = qulacs.ParametricQuantumCircuit(n)
    code = {"X": 1, "Y": 2, "Z": 3}
    for lab in labels:
        qs = [q for q in range(n) if lab[q] != "I"]
        circ.add_parametric_multi_Pauli_rotation_gate(qs, [code[lab[q]] for q in qs], 0.0)
    state = qulacs.QuantumState(n)

    def set_params(theta):
        for i, t in enumerate(theta):
            circ.set_parameter(i, -float(t))  # qulacs: exp(+i a P / 2), ours exp(-i theta P / 2)

    def fwd():
        state.set_zero_state()
        circ.update_quantum_state(state)
        return obs.get_expectation_value(state)

    def grad():
        return -np.asarray(circ.backprop(obs))  # d/dtheta = -d/da

    def vector():
        fwd()
        # qulacs: qubit q is index bit q; ours: qubit q is bit n-1-q (reverse the bit order)
        return state.get_vector().reshape((2,) * n).transpose().reshape(-1)

    return set_params, fwd, grad, vector


# ----------------------------------------------------------------------------------------- lightning


def lightning_runner(labels: list[str], n: int, cdt):
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=n, c_dtype=cdt)
    ops = []
    for lab in labels:
        wires = [q for q in range(n) if lab[q] != "I"]
        ops.append(("".join(lab[q] for q in wires), wires))

    def circuit(theta):
        for i, (word, wires) in enumerate(ops):
            qml.PauliRot(theta[i], word, wires=wires)
        return qml.expval(qml.PauliX(0) @ qml.PauliX(1) + qml.PauliZ(0) @ qml.PauliZ(1))

    qnode = qml.QNode(circuit, dev, diff_method="adjoint")
    grad = qml.grad(qnode)

    def fwd(theta):
        return float(qnode(qml.numpy.array(theta, requires_grad=False)))

    def gradient(theta):
        return np.asarray(grad(qml.numpy.array(theta, requires_grad=True)))

    return fwd, gradient


def time_external(fn, heavy_hint: float) -> float:
    heavy = heavy_hint > 2.0
    return best_time(fn, min_reps=1 if heavy else 3, budget=0.0 if heavy else 1.5, warmup=False)


# ----------------------------------------------------------------------------------------- scaling


def temp_bytes(compiled) -> float:
    mem = compiled.memory_analysis()
    return float(getattr(mem, "temp_size_in_bytes", float("nan"))) if mem is not None else float("nan")


def depth_scaling(n: int, depths: list[int], seed: int) -> list[dict]:
    """Trace / compile time of forward and gradient, and gradient temp memory, vs circuit depth."""
    rows = []
    obs = observable(n)
    for d in depths:
        circ = Circuit.from_labels(random_labels(n, d, seed + d))
        p = jnp.zeros(d, jnp.float32)
        row = {"depth": d}
        for name, fn in (
            ("fwd", lambda q, c=circ: expectation(c, q, obs)),
            ("grad", jax.grad(lambda q, c=circ: expectation(c, q, obs))),
        ):
            compiled, row[f"{name}_trace"], row[f"{name}_compile"] = lower_and_compile(fn, p)
            row[f"{name}_temp"] = temp_bytes(compiled)
        # reference: ordinary reverse-mode AD through the statevector stores every intermediate state
        ad = jax.grad(lambda q, c=circ: jnp.abs(statevector(c, q)[0]) ** 2)
        row["ad_temp"] = temp_bytes(jax.jit(ad).lower(p).compile())
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,16,20,22", help="comma-separated qubit counts")
    ap.add_argument("--dtypes", default="complex64,complex128", help="complex64 and/or complex128")
    ap.add_argument("--depth", type=int, default=40, help="rotations per circuit (one parameter each)")
    ap.add_argument("--batch", type=int, default=64, help="parameter vectors in the vmapped batch")
    ap.add_argument(
        "--batch-mem",
        type=float,
        default=512.0,
        help="MiB of batched states per vmap chunk; larger batches run as lax.map over chunks",
    )
    ap.add_argument("--scaling-n", type=int, default=16, help="qubit count for the depth-scaling table")
    ap.add_argument("--scaling-depths", default="10,100,1000", help="depths for the depth-scaling table")
    ap.add_argument(
        "--bandwidth-mib",
        type=int,
        default=0,
        help="buffer size for the bandwidth measurement (0: twice the L3 cache, 256..2048 MiB)",
    )
    ap.add_argument("--no-compare", action="store_true", help="skip qulacs and lightning")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--quick", action="store_true", help="smoke test: small sizes, short circuits, no RESULTS.md")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--out", type=Path, default=RESULTS, help="markdown file whose bench_core section is replaced")
    ap.add_argument("--note", default="", help="free-text conditions note written with the results")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.depth, args.batch = "8,12", 12, 8
        args.scaling_n, args.scaling_depths, args.bandwidth_mib = 10, "10,100", 32
        args.no_write = args.no_write or args.out == RESULTS
    sizes = [int(s) for s in args.sizes.split(",") if s]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in dtypes:
        if d not in DTYPES:
            ap.error(f"--dtypes: expected complex64 or complex128, got {d!r}")
    if any(n < 2 or n > 26 for n in sizes):
        ap.error(f"--sizes: qubit counts must lie in 2..26, got {sizes}")
    t_start = time.perf_counter()

    info = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0]),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    }
    print(
        f"# bench_core  {info['date']}  {info['cpu']}  {info['cores']} cores  jax {info['jax']} "
        f"backend {info['backend']} ({info['device']})  load avg {info['load']:.2f}",
        flush=True,
    )

    if args.bandwidth_mib <= 0:
        args.bandwidth_mib = int(min(2048, max(256, 2 * l3_mib())))
    bws = measure_bandwidth(args.bandwidth_mib * 2**20)
    bw = max(bws.values())
    for k, v in bws.items():
        print(f"bandwidth {k:24s} {v / 1e9:7.2f} GB/s", flush=True)

    have_qulacs = have_pl = False
    if not args.no_compare:
        try:
            import qulacs  # noqa: F401

            have_qulacs = True
        except ImportError:
            print("qulacs not installed (pip install -e .[bench]); skipped")
        try:
            import pennylane  # noqa: F401

            have_pl = True
        except ImportError:
            print("pennylane not installed (pip install -e .[bench]); skipped")

    rows, comp, checks = [], [], []
    for n in sizes:
        labels = random_labels(n, args.depth, args.seed + n)
        circ = Circuit.from_labels(labels)
        rng = np.random.default_rng(args.seed + 1000 + n)
        theta = rng.uniform(0, 2 * np.pi, args.depth)
        thetas = rng.uniform(0, 2 * np.pi, (args.batch, args.depth))
        obs = observable(n)
        ext = {}
        if have_qulacs:
            set_params, q_fwd, q_grad, q_vec = qulacs_runner(labels, n)
            set_params(theta)
            q_state = q_vec()
            t0 = time.perf_counter()
            qv = q_fwd()
            hint = time.perf_counter() - t0
            qg = q_grad()
            ext["qulacs"] = {"value": qv, "grad": qg, "state": q_state, "fwd": time_external(q_fwd, hint)}
            ext["qulacs"]["grad_t"] = time_external(q_grad, 3 * hint)
        for dname in dtypes:
            real, cdt = DTYPES[dname]
            itemsize = np.dtype(cdt).itemsize
            res = bench_ours(circ, theta.astype(real), thetas.astype(real), args.batch_mem, obs)
            floor = 2 * 2**n * itemsize / bw
            pass_t = cache_pass_time(n, cdt)
            per_rot = res["fwd"] / args.depth
            row = {"n": n, "dtype": dname, "per_rot": per_rot, "floor": floor, "pass": pass_t, **res}
            rows.append(row)
            print(
                f"n={n:2d} {dname:10s} fwd {fmt_t(res['fwd']):>9s} ({fmt_t(per_rot)}/rot = {per_rot / floor:.2f}x "
                f"floor {fmt_t(floor)}, {per_rot / pass_t:.2f}x pass)  grad {fmt_t(res['grad'])} "
                f"({res['grad'] / res['fwd']:.2f}x)  batch{args.batch} {fmt_t(res['batch'])} "
                f"({fmt_t(res['batch'] / args.batch)}/vec)  compile fwd {res['fwd_compile']:.2f}s "
                f"grad {res['grad_compile']:.2f}s",
                flush=True,
            )
            tol = TOL[dname]
            crow = {"n": n, "dtype": dname, "ours_fwd": res["fwd"], "ours_grad": res["grad"]}
            if "qulacs" in ext:
                q = ext["qulacs"]
                dv = abs(q["value"] - float(res["fwd_value"]))
                dg = float(np.max(np.abs(q["grad"] - res["grad_value"])))
                ds = float(np.max(np.abs(q["state"] - res["state"])))
                ok = dv < tol and dg < tol and ds < tol
                checks.append(
                    f"n={n} {dname}: qulacs max|dpsi|={ds:.1e} |df|={dv:.1e} (f={q['value']:.3f}) "
                    f"max|dgrad|={dg:.1e} (max|grad|={np.max(np.abs(q['grad'])):.2f}) "
                    f"{'ok' if ok else 'MISMATCH'}"
                )
                if not ok:
                    raise SystemExit(f"qulacs disagrees with slpa_jax at n={n} {dname}: {checks[-1]}")
                crow["qulacs_fwd"], crow["qulacs_grad"] = q["fwd"], q["grad_t"]
            if have_pl:
                l_fwd, l_grad = lightning_runner(labels, n, cdt)
                t0 = time.perf_counter()
                lv = l_fwd(theta)
                hint = time.perf_counter() - t0
                lg = l_grad(theta)
                dv = abs(lv - float(res["fwd_value"]))
                dg = float(np.max(np.abs(lg - res["grad_value"])))
                ok = dv < tol and dg < tol
                checks.append(
                    f"n={n} {dname}: lightning |df|={dv:.1e} max|dgrad|={dg:.1e} {'ok' if ok else 'MISMATCH'}"
                )
                if not ok:
                    raise SystemExit(f"lightning.qubit disagrees with slpa_jax at n={n} {dname}: {checks[-1]}")
                crow["pl_fwd"] = time_external(lambda f=l_fwd, t=theta: f(t), hint)
                crow["pl_grad"] = time_external(lambda f=l_grad, t=theta: f(t), 3 * hint)
            if len(crow) > 4:
                comp.append(crow)
                print(
                    "   vs " + "  ".join(f"{k} {fmt_t(v)}" for k, v in crow.items() if k not in ("n", "dtype")),
                    flush=True,
                )
    for c in checks:
        print("check", c)

    depths = [int(d) for d in args.scaling_depths.split(",") if d]
    scaling = depth_scaling(args.scaling_n, depths, args.seed)
    for r in scaling:
        print(
            f"depth {r['depth']:5d} n={args.scaling_n}: fwd trace {r['fwd_trace']:.2f}s compile "
            f"{r['fwd_compile']:.2f}s | grad trace {r['grad_trace']:.2f}s compile {r['grad_compile']:.2f}s "
            f"temp {fmt_b(r['grad_temp'])} (plain AD through statevector: {fmt_b(r['ad_temp'])})",
            flush=True,
        )
    total = time.perf_counter() - t_start
    print(f"total {total:.0f} s")
    md = render(info, bws, bw, rows, comp, checks, scaling, args, total)
    print("\n" + md)
    if not args.no_write:
        write_section(args.out, md)
        print(f"wrote section {SECTION!r} of {args.out}")
    return 0


# ----------------------------------------------------------------------------------------- markdown


def render(info, bws, bw, rows, comp, checks, scaling, args, total) -> str:
    L = ["## Core simulator benchmark (`benchmarks/bench_core.py`)", ""]
    L.append(
        f"Run {info['date']} on {info['cpu']}, {info['cores']} cores, JAX {info['jax']} "
        f"({info['backend']}: {info['device']}), Python {info['python']}; 1-min load average at start "
        f"{info['load']:.2f}; total run time {total:.0f} s."
    )
    if info["backend"] == "cpu":
        L.append("")
        L.append(
            "Backend: CPU (no accelerator in this run); on a GPU machine the same command times the GPU, "
            "with qulacs and lightning.qubit still on the CPU."
        )
    if args.note:
        L.append("")
        L.append(f"Conditions: {args.note}")
    L.append("")
    L.append(
        f"Command: `python benchmarks/bench_core.py --sizes {args.sizes} --dtypes {args.dtypes} "
        f"--depth {args.depth} --batch {args.batch}`. Circuits: {args.depth} rotations about random "
        f"Pauli strings of weight 1-4 (seeded), one parameter each, observable X0 X1 + Z0 Z1, input |0...0>. "
        f"Times are minima over repeats (a single call for calls over 2 s)."
    )
    L.append("")
    L.append(
        "Copy bandwidth (read + write bytes / time, buffers of "
        f"{args.bandwidth_mib} MiB): "
        + "; ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bws.items())
        + f". Floor per rotation = 2 * 2^n * itemsize / {bw / 1e9:.1f} GB/s. "
        "'pass' = one in-place elementwise pass over a state of the same size inside `lax.scan` "
        "(the state may sit in cache, so this can beat the memory floor)."
    )
    L.append("")
    L.append(
        f"| n | dtype | forward | per rotation | / floor | / pass | gradient | grad / fwd | "
        f"batch {args.batch} (per vector) | trace+compile fwd / grad / batch |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        chunk = "" if r["batch_chunk"] >= args.batch else f", lax.map chunks of {r['batch_chunk']}"
        L.append(
            f"| {r['n']} | {r['dtype']} | {fmt_t(r['fwd'])} | {fmt_t(r['per_rot'])} | "
            f"{r['per_rot'] / r['floor']:.2f} | {r['per_rot'] / r['pass']:.2f} | {fmt_t(r['grad'])} | "
            f"{r['grad'] / r['fwd']:.2f} | {fmt_t(r['batch'])} ({fmt_t(r['batch'] / args.batch)}{chunk}) | "
            f"{r['fwd_trace'] + r['fwd_compile']:.2f} / {r['grad_trace'] + r['grad_compile']:.2f} / "
            f"{r['batch_trace'] + r['batch_compile']:.2f} s |"
        )
    if comp:
        L.append("")
        L.append(
            "Same circuits in qulacs (complex128 only, `add_parametric_multi_Pauli_rotation_gate`, gradient "
            "by `backprop`) and PennyLane lightning.qubit (`qml.PauliRot`, `diff_method='adjoint'`, "
            "`c_dtype` as ours; PennyLane decomposes PauliRot into basis changes and MultiRZ). Forward "
            "includes state preparation and the expectation; both libraries use both cores. States, "
            "values and gradients were checked against ours before timing:"
        )
        L.append("")
        L.extend(f"- {c}" for c in checks)
        L.append("")
        L.append("| n | dtype | ours fwd | qulacs fwd | lightning fwd | ours grad | qulacs grad | lightning grad |")
        L.append("|---|---|---|---|---|---|---|---|")
        for c in comp:
            L.append(
                f"| {c['n']} | {c['dtype']} | {fmt_t(c['ours_fwd'])} | {fmt_t(c.get('qulacs_fwd'))} | "
                f"{fmt_t(c.get('pl_fwd'))} | {fmt_t(c['ours_grad'])} | {fmt_t(c.get('qulacs_grad'))} | "
                f"{fmt_t(c.get('pl_grad'))} |"
            )
    L.append("")
    L.append(
        f"Depth scaling at n = {args.scaling_n}, complex64 (trace = Python tracing and lowering, compile = "
        "XLA; temp = `compiled.memory_analysis().temp_size_in_bytes` of the adjoint gradient, and for "
        "reference of plain reverse-mode AD through `statevector`, which stores every intermediate state):"
    )
    L.append("")
    L.append("| rotations | fwd trace | fwd compile | grad trace | grad compile | grad temp memory | plain AD temp |")
    L.append("|---|---|---|---|---|---|---|")
    for s in scaling:
        L.append(
            f"| {s['depth']} | {s['fwd_trace']:.2f} s | {s['fwd_compile']:.2f} s | {s['grad_trace']:.2f} s | "
            f"{s['grad_compile']:.2f} s | {fmt_b(s['grad_temp'])} | {fmt_b(s['ad_temp'])} |"
        )
    L.append("")
    L.extend(target_lines(rows, comp, scaling))
    L.append("")
    L.append(
        "Kernel (slpa_jax/core/kernels.py, core/simulator.py): the state runs as a 2-D row view (2^(n-l), 2^l), "
        "l = min(10, n // 2). A rotation is one fused XLA loop: the partner amplitudes at `j ^ x` come from a "
        "gather of whole rows (`r ^ (x >> l)`, contiguous vector loads) when x has no bit below l, otherwise "
        "from an elementwise gather (the choice is a loop-invariant select that LLVM unswitches); the parity "
        "sign `popcount(j & z)` selects the sign of one complex coefficient, and the real `cos` factor "
        "multiplies real and imaginary parts. The rotation scan applies two gates per step between two "
        "ping-pong buffers; each pass also reads its destination elementwise (`+ 0 * Re(dst)`, exact), which "
        "lets XLA write in place instead of copying every new state back into the loop buffer. The adjoint "
        "sweep rotates psi and lambda the same way and gets each gradient term from one `Im <lambda|P|psi>` "
        "reduction. XLA on CPU neither fuses a reduction into a loop that also writes a state nor runs it "
        "on both cores (a plain `sum(|psi|^2)` at n = 20 takes about as long as a whole rotation pass), so "
        "a gate costs two rotation passes plus one reduction of about the same cost: gradient / forward is "
        "about 1 + 2 + reduction / rotation, i.e. 3.5-4.7 on this CPU."
    )
    return "\n".join(L) + "\n"


def target_lines(rows, comp, scaling) -> list[str]:
    out = ["Targets (complex64):", ""]
    r20 = [r for r in rows if r["n"] == 20 and r["dtype"] == "complex64"]
    if r20:
        r = r20[0]
        ratio = r["per_rot"] / r["floor"]
        out.append(
            f"- forward n = 20, time per rotation <= 1.5x memory floor: {ratio:.2f}x "
            f"({'met' if ratio <= 1.5 else 'NOT met'})"
        )
        c20 = [c for c in comp if c["n"] == 20 and c["dtype"] == "complex64"]
        if c20:
            c = c20[0]
            others = {k: c[k] for k in ("qulacs_fwd", "pl_fwd") if k in c}
            faster = all(c["ours_fwd"] < v for v in others.values())
            out.append(
                "- forward n = 20 faster than qulacs and lightning.qubit: "
                + ", ".join(f"{k.split('_')[0]} {v / c['ours_fwd']:.1f}x slower" for k, v in others.items())
                + f" ({'met' if faster else 'NOT met'})"
            )
    big = [r for r in rows if r["n"] >= 16 and r["dtype"] == "complex64"]
    if big:
        worst = max(r["grad"] / r["fwd"] for r in big)
        out.append(f"- gradient / forward <= 3 at n >= 16: worst {worst:.2f} ({'met' if worst <= 3 else 'NOT met'})")
    if scaling:
        temps = [s["grad_temp"] for s in scaling]
        flat = max(temps) <= 1.05 * min(temps) + 2**16
        out.append(
            f"- gradient memory independent of depth: temp {', '.join(fmt_b(t) for t in temps)} for depths "
            f"{', '.join(str(s['depth']) for s in scaling)} ({'met' if flat else 'NOT met'})"
        )
        tc = {s["depth"]: s["fwd_trace"] + s["fwd_compile"] for s in scaling}
        tg = {s["depth"]: s["grad_trace"] + s["grad_compile"] for s in scaling}
        dmax = max(tc)
        ok = tc[dmax] <= 3 and tg[dmax] <= 3
        out.append(
            f"- trace+compile of a {dmax}-rotation circuit <= 3 s: forward {tc[dmax]:.2f} s, gradient "
            f"{tg[dmax]:.2f} s ({'met' if ok else 'NOT met'}); at {min(tc)} rotations: "
            f"{tc[min(tc)]:.2f} s / {tg[min(tg)]:.2f} s"
        )
    return out


def write_section(path: Path, md: str) -> None:
    _write_section(path, SECTION, md)


if __name__ == "__main__":
    sys.exit(main())
