"""Noisy simulation timings (issue 17 targets; prints a markdown table, writes nothing).

1. Density-matrix path: one noisy parameter-shift gradient (2R circuits, ``--shots`` each) of the
   Fig. 10 SC circuit against Qiskit Aer's density-matrix simulator running the same circuits with
   the equivalent noise model (``export.aer``) and the same shots. Target at n = 10, depth 8: faster
   than Aer.
2. Trajectory path: cost per trajectory relative to one noiseless statevector run of the same
   circuit. Target: within 1.5x.

    python benchmarks/bench_noise.py --n 6 --traj-n 14
    python benchmarks/bench_noise.py --n 10 --traj-n 14 --repeat 10   # the issue's targets
    python benchmarks/bench_noise.py --n 10 --skip-trajectories --repeat 3 [--x64]   # density vs Aer only

The density gradient runs as the Heisenberg sweep (``noise.heisenberg``: one forward and one
backward sweep for all 2R circuits); one forward-path circuit is timed too (the forward path's
gradient costs 2R of them). Rounds interleave ours and Aer, with the load average per row.
"""

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from slpa_jax.blocks import ansatze
from slpa_jax.core.simulator import statevector
from slpa_jax.noise import NoiseModel, evolve_density, evolve_trajectory, lower_noisy, noisy_param_shift_grad

NOISE = NoiseModel(p1=1e-3, p2=1e-2, readout_01=1e-2, readout_10=1e-2)


def timed(fn, repeat=3):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return first, best


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def density_vs_aer(n, depth, shots, rows, aer_circuits=None, repeat=3, forward_full=False, x64=False):
    """The noisy parameter-shift gradient (Heisenberg sweep and forward path) and Aer on the same circuits.

    Interleaved rounds (ours, then Aer) so both see the same load; the load average is printed per
    round. Same precision on both sides: complex64 / Aer ``precision="single"`` by default, complex128
    / ``"double"`` with ``x64``. Aer runs with its defaults otherwise (gate fusion on, all cores).
    """
    circ = ansatze.fig10_sc_circuit(n, depth)
    obs = ansatze.paper_observable(n)
    real = jnp.float64 if x64 else jnp.float32
    params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, circ.n_params), real)
    n_circ = 2 * circ.num_rotations
    prec = "complex128 / Aer double" if x64 else "complex64 / Aer single"
    sweep = jax.jit(lambda p, k: noisy_param_shift_grad(circ, p, obs, NOISE, shots=shots, key=k, sweep=True))
    forward = jax.jit(lambda p, k: noisy_param_shift_grad(circ, p, obs, NOISE, shots=shots, key=k, sweep=False))
    program = lower_noisy(circ, NOISE)
    rho0 = jnp.zeros(4**n, jnp.complex128 if x64 else jnp.complex64).at[0].set(1)
    one = jax.jit(lambda a: evolve_density(program, a, rho0))
    run_aer = None
    try:
        from qiskit_aer import AerSimulator

        from slpa_jax.export.aer import to_aer_noise_model, to_qiskit_logical
        from slpa_jax.export.settings import param_shift_settings
    except ImportError:
        rows.append("| Aer density matrix (qiskit-aer not installed) | - | - | - |")
    else:
        settings = param_shift_settings(circ, obs)
        qcs = [
            to_qiskit_logical(s.circuit, np.asarray(params, np.float64), measure=s.measured_qubits) for s in settings
        ]
        k = len(qcs) if aer_circuits is None else min(aer_circuits, len(qcs))
        sim = AerSimulator(
            method="density_matrix", noise_model=to_aer_noise_model(NOISE, n), precision="double" if x64 else "single"
        )

        def run_aer():
            t0 = time.perf_counter()
            res = sim.run(qcs[:k], shots=shots, seed_simulator=0).result()
            return (time.perf_counter() - t0) * len(qcs) / k, res

    t0 = time.perf_counter()
    jax.block_until_ready(sweep(params, jax.random.key(0)))
    rows.append(
        f"| sweep gradient, first call (compile + run), n={n} depth={depth} | {_load()} | {prec} | "
        f"{time.perf_counter() - t0:.2f} |"
    )
    jax.block_until_ready(one(circ.angles(params)))
    for r in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(sweep(params, jax.random.key(r)))
        t_sweep = time.perf_counter() - t0
        rows.append(
            f"| round {r}: density path, Heisenberg sweep, whole gradient ({n_circ} circuits, {shots} shots "
            f"each) | {_load()} | {prec} | {t_sweep:.3f} |"
        )
        t0 = time.perf_counter()
        jax.block_until_ready(one(circ.angles(params)))
        t_one = time.perf_counter() - t0
        rows.append(
            f"| round {r}: density path, ONE circuit forward (x {n_circ} = the forward-path gradient) | "
            f"{_load()} | {prec} | {t_one:.3f} (x {n_circ}: {t_one * n_circ:.1f}) |"
        )
        if run_aer is not None:
            t_aer, res = run_aer()
            what = f"the same {n_circ} circuits" if k == n_circ else f"{k} of the {n_circ} circuits, scaled"
            rows.append(f"| round {r}: Aer density_matrix, {what} | {_load()} | {prec} | {t_aer:.3f} |")
            rows.append(f"| round {r}: ratio Aer / sweep | | | **{t_aer / t_sweep:.1f}x** |")
    if run_aer is not None:
        meta = res.results[0].metadata
        rows.append(
            f"| Aer metadata: fusion {meta.get('fusion', {}).get('applied')}, threads "
            f"{meta.get('parallel_state_update')}, method {meta.get('method')} | | | |"
        )
    if forward_full:
        t0 = time.perf_counter()
        jax.block_until_ready(forward(params, jax.random.key(0)))
        rows.append(
            f"| forward path, whole gradient (first call) | {_load()} | {prec} | {time.perf_counter() - t0:.1f} |"
        )


def trajectory_cost(n, depth, n_traj, rows, repeat=3):
    circ = ansatze.fig10_sc_circuit(n, depth)
    params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, circ.n_params), jnp.float32)
    psi0 = jnp.zeros(2**n, jnp.complex64).at[0].set(1)
    program = lower_noisy(circ, NOISE)
    angles = circ.angles(params)
    keys = jax.random.split(jax.random.PRNGKey(0), n_traj)
    traj = jax.jit(lambda a, ks: jax.lax.map(lambda k: evolve_trajectory(program, a, psi0, k), ks))
    sv = jax.jit(lambda p: statevector(circ, p))
    _, t_traj = timed(lambda: traj(angles, keys), repeat)
    _, t_sv = timed(lambda: sv(params), repeat * n_traj)
    per = t_traj / n_traj
    rows.append(f"| trajectory, n={n} depth={depth}, per trajectory ({n_traj} in a lax.map) | - | {per:.4f} |")
    rows.append(f"| noiseless statevector, same circuit | - | {t_sv:.4f} |")
    rows.append(f"| ratio trajectory / statevector | {per / t_sv:.2f}x | |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--traj-n", type=int, default=14)
    ap.add_argument("--trajectories", type=int, default=16)
    ap.add_argument("--aer-circuits", type=int, default=None, help="time Aer on this many circuits and scale")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    ap.add_argument("--skip-density", action="store_true")
    ap.add_argument("--skip-trajectories", action="store_true")
    ap.add_argument("--forward-full", action="store_true", help="also time the forward-path gradient (slow)")
    ap.add_argument("--x64", action="store_true", help="complex128 here, Aer precision='double'")
    args = ap.parse_args()
    rows = [f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPU cores, jax {jax.__version__}"]
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    if not args.skip_density:
        rows += ["", "| what | load | precision | seconds |", "|---|---|---|---:|"]
        a = args
        density_vs_aer(a.n, a.depth, a.shots, rows, a.aer_circuits, a.repeat, a.forward_full, a.x64)
        rows.append("")
    if not args.skip_trajectories:
        rows += ["", "| what | first call (s) | best (s) |", "|---|---:|---:|"]
        trajectory_cost(args.traj_n, args.depth, args.trajectories, rows, args.repeat)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
