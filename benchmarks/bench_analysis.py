"""Analysis timings: DLA closure of the Fig. 10 SC (n = 8: dimension 16,380; n = 10: 262,140) and
F_eff of the n = 4 paper circuits (greedy clique cover of the dense gradient-operator graph).

    python benchmarks/bench_analysis.py
"""

import datetime
import os
import platform
import time
from pathlib import Path

import jax
from results_md import write_section  # noqa: E402  (benchmarks/ is on sys.path)

from slpa_jax.analysis.dla import dynamical_lie_algebra
from slpa_jax.analysis.efficiency import gradient_efficiency
from slpa_jax.blocks import ansatze


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main():
    lines = [
        f"## Analysis\n\n`python benchmarks/bench_analysis.py` on {datetime.date.today()}, jax {jax.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, load average at start {os.getloadavg()[0]:.1f}.\n",
        "| what | result | seconds |",
        "|---|---|---:|",
    ]
    for n in (8, 10):
        dla, sec = timed(lambda n=n: dynamical_lie_algebra(ansatze.fig10_sc_labels(n, 6)))
        lines.append(f"| DLA closure, Fig. 10 SC n={n} | X_exp = {dla.dimension} | {sec:.3f} |")
    key = jax.random.PRNGKey(0)
    for name, c in (
        ("SLPA", ansatze.slpa_circuit(39)),
        ("SC", ansatze.sc_circuit(156)),
        ("NSC", ansatze.nsc_circuit(156)),
    ):
        cover, sec = timed(lambda c=c: gradient_efficiency(c, "XXII", key=key))
        lines.append(
            f"| F_eff {name} n=4 L={c.num_rotations} (dense Gamma_j, greedy cover) | "
            f"{cover.n_groups} groups, F_eff = {cover.f_eff:.3f} | {sec:.3f} |"
        )
    md = "\n".join(lines) + "\n"
    print(md)
    write_section(Path(__file__).with_name("RESULTS.md"), "bench_analysis", md)


if __name__ == "__main__":
    main()
