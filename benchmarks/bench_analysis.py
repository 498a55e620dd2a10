"""Analysis timings: DLA closure of the Fig. 10 SC (n = 8: dimension 16,380; n = 10: 262,140) and
F_eff of the n = 4 paper circuits (greedy clique cover of the dense gradient-operator graph).

    python benchmarks/bench_analysis.py
"""

import platform
import time

import jax

from slpa_jax import ansatze
from slpa_jax.dla import dynamical_lie_algebra
from slpa_jax.efficiency import gradient_efficiency


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main():
    print(f"# machine: {platform.processor() or platform.machine()}, jax {jax.__version__}")
    for n in (8, 10):
        dla, sec = timed(lambda n=n: dynamical_lie_algebra(ansatze.fig10_sc_labels(n, 6)))
        print(f"DLA fig10 SC n={n}: X_exp={dla.dimension}  {sec:.3f} s")
    key = jax.random.PRNGKey(0)
    for name, c in (("SLPA", ansatze.slpa_circuit(39)), ("SC", ansatze.sc_circuit(156)),
                    ("NSC", ansatze.nsc_circuit(156))):
        cover, sec = timed(lambda c=c: gradient_efficiency(c, "XXII", key=key))
        print(f"F_eff {name} L={c.num_rotations}: groups={cover.n_groups} F_eff={cover.f_eff:.3f}  {sec:.3f} s")


if __name__ == "__main__":
    main()
