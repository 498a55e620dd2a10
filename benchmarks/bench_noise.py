"""Noisy simulation timings (issue 17 targets; prints a markdown table, writes nothing).

1. Density-matrix path: one noisy parameter-shift gradient (2R circuits, ``--shots`` each) of the
   Fig. 10 SC circuit against Qiskit Aer's density-matrix simulator running the same circuits with
   the equivalent noise model (``export.aer``) and the same shots. Target at n = 10, depth 8: faster
   than Aer.
2. Trajectory path: cost per trajectory relative to one noiseless statevector run of the same
   circuit. Target: within 1.5x.

    python benchmarks/bench_noise.py --n 6 --traj-n 14
    python benchmarks/bench_noise.py --n 10 --aer-circuits 8 --traj-n 14 --repeat 10   # the issue's targets
"""

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from slpa_jax.blocks import ansatze
from slpa_jax.core.simulator import statevector
from slpa_jax.noise import NoiseModel, evolve_trajectory, lower_noisy, noisy_param_shift_grad

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


def density_vs_aer(n, depth, shots, rows, aer_circuits=None):
    circ = ansatze.fig10_sc_circuit(n, depth)
    obs = ansatze.paper_observable(n)
    params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, circ.n_params))
    grad = jax.jit(lambda p, k: noisy_param_shift_grad(circ, p, obs, NOISE, shots=shots, key=k))
    first, best = timed(lambda: grad(params, jax.random.key(0)))
    rows.append(
        f"| density path, noisy param-shift gradient, n={n} depth={depth} ({2 * circ.num_rotations} circuits) "
        f"| {first:.2f} | {best:.3f} |"
    )
    try:
        from qiskit_aer import AerSimulator

        from slpa_jax.export.aer import to_aer_noise_model, to_qiskit_logical
        from slpa_jax.export.settings import param_shift_settings
    except ImportError:
        rows.append("| Aer density matrix (qiskit-aer not installed) | - | - |")
        return
    settings = param_shift_settings(circ, obs)
    qcs = [to_qiskit_logical(s.circuit, np.asarray(params), measure=s.measured_qubits) for s in settings]
    sim = AerSimulator(method="density_matrix", noise_model=to_aer_noise_model(NOISE, n))
    k = len(qcs) if aer_circuits is None else min(aer_circuits, len(qcs))
    t0 = time.perf_counter()
    sim.run(qcs[:k], shots=shots, seed_simulator=0).result()
    aer = time.perf_counter() - t0
    if k == len(qcs):
        rows.append(f"| Aer density_matrix, the same {len(qcs)} circuits | - | {aer:.3f} |")
    else:  # the circuits have the same size: Aer's time is linear in their number
        rows.append(
            f"| Aer density_matrix, {k} of the {len(qcs)} circuits ({aer:.3f} s), scaled to all | - | "
            f"{aer * len(qcs) / k:.3f} |"
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
    args = ap.parse_args()
    rows = [
        f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPU cores, jax {jax.__version__}",
        "",
        "| what | first call (s) | best of 3 (s) |",
        "|---|---:|---:|",
    ]
    if not args.skip_density:
        density_vs_aer(args.n, args.depth, args.shots, rows, args.aer_circuits)
    trajectory_cost(args.traj_n, args.depth, args.trajectories, rows, args.repeat)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
