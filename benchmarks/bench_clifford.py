"""Native Clifford gate rows (``simulator.gate_batch``) against their rotation lowering (``rotation_batch``).

The block estimators' basis mode applies each setting's diagonalising Clifford (``diagonalize_commuting``)
to its state. This times both ways of running S such Cliffords at once on (S, 2**n) complex64 states: the
native rows (one pass per gate) and the fixed rotations of ``Circuit.rotation_rows`` (1-3 passes per gate),
and checks that the outcome probabilities agree. The Cliffords diagonalise random stabilizer groups
(``C Z_i C^dag`` for a random H / S / CNOT circuit C of 3n gates).

    python benchmarks/bench_clifford.py [--n 12 16] [--settings 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from slpa_jax.core.circuit import Circuit, Gate
from slpa_jax.core.pauli import PauliTable
from slpa_jax.core.simulator import gate_batch, gate_tables, rotation_batch
from slpa_jax.measure.diagonalize import conjugate_by_clifford, diagonalize_commuting


def random_diagonalisations(n: int, count: int, rng) -> list:
    zs = PauliTable.from_labels(["I" * i + "Z" + "I" * (n - 1 - i) for i in range(n)])
    out = []
    for _ in range(count):
        gates = []
        for _ in range(3 * n):
            kind = rng.integers(3)
            if kind == 2:
                a, b = rng.choice(n, 2, replace=False)
                gates.append(Gate("CNOT", (int(a), int(b))))
            else:
                gates.append(Gate("HS"[kind], (int(rng.integers(n)),)))
        out.append(diagonalize_commuting(conjugate_by_clifford(zs, Circuit(n, tuple(gates), 0))))
    return out


def tables(diags):
    """(native rows, lowered rotation rows), each padded to its longest setting."""
    native = gate_tables([d.clifford for d in diags])
    lowered = [d.clifford.rotation_rows for d in diags]
    l_len = max(len(rot) for _, rot, _ in lowered)
    masks, angles = np.zeros((len(diags), l_len, 3), np.int32), np.zeros((len(diags), l_len), np.float32)
    for i, (table, rot, fixed) in enumerate(lowered):
        for j in range(len(rot)):
            masks[i, j], angles[i, j] = table[j].index_masks(), fixed[j]
    return native, (masks, angles)


def best_ms(fn, *args, reps: int = 20) -> float:
    fn = jax.jit(fn)
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            out = fn(*args)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - t0) / reps)
    return float(np.median(times)) * 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[12, 16])
    ap.add_argument("--settings", type=int, default=16)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()} ({os.cpu_count()} CPU cores), "
        f"{jax.default_backend()}, jax {jax.__version__}, load {os.getloadavg()[0]:.2f}; median of 7 x 20 calls"
    )
    print("| n | settings | gates (max) | lowered rotations (max) | native ms | lowered ms | lowered / native |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.n:
        diags = random_diagonalisations(n, args.settings, rng)
        native, lowered = tables(diags)
        psi = rng.normal(size=(args.settings, 2**n)) + 1j * rng.normal(size=(args.settings, 2**n))
        psi = jnp.asarray(psi / np.linalg.norm(psi, axis=1, keepdims=True), jnp.complex64)
        a = np.asarray(gate_batch(psi, *native))
        b = np.asarray(rotation_batch(psi, *lowered))
        if not np.allclose(np.abs(a) ** 2, np.abs(b) ** 2, atol=1e-5):
            raise SystemExit("native and lowered Cliffords disagree")
        t_native = best_ms(lambda p, t=native: gate_batch(p, *t), psi)
        t_lowered = best_ms(lambda p, t=lowered: rotation_batch(p, *t), psi)
        print(
            f"| {n} | {args.settings} | {native[1].shape[1]} | {lowered[1].shape[1]} | {t_native:.2f} | "
            f"{t_lowered:.2f} | {t_lowered / t_native:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
