"""Fig. 3: F_eff(L) vs L for SLPA, SC and NSC (n = 4, O = X0 X1), with X_exp.

    python experiments/fig3.py --max-l 156 --out runs/fig3

Greedy repeated maximum-clique removal on the gradient-operator commutation graph at one random theta
(the authors' method); the exact minimum clique cover for small L shows how far greedy is.
"""

import argparse
import json
from pathlib import Path

import jax
from tqdm.auto import tqdm

from slpa_jax import Circuit
from slpa_jax.analysis.dla import dynamical_lie_algebra
from slpa_jax.analysis.efficiency import gradient_efficiency
from slpa_jax.blocks import ansatze

MODELS = {
    "SLPA": lambda L: Circuit.from_labels(
        ansatze.slpa_block_labels([ansatze.FIG3_SLPA_LOGICALS[i % 12] for i in range(-(-L // 4))])[:L]
    ),
    "SC": lambda L: ansatze.sc_circuit(L),
    "NSC": lambda L: ansatze.nsc_circuit(L),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-l", type=int, default=156)
    p.add_argument("--step", type=int, default=4)
    p.add_argument("--exact-max-l", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/fig3")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.PRNGKey(a.seed)
    rows = []
    x_exp = {m: dynamical_lie_algebra(f(a.max_l)).dimension for m, f in MODELS.items()}
    for model, make in MODELS.items():
        for L in tqdm(range(a.step, a.max_l + 1, a.step), desc=model):
            cover = gradient_efficiency(make(L), "XXII", key=key)
            row = {
                "model": model,
                "L": L,
                "groups": cover.n_groups,
                "F_eff": cover.f_eff,
                "method": cover.method,
                "lower_bound": cover.lower_bound,
            }
            if L <= a.exact_max_l:
                row["groups_exact"] = gradient_efficiency(make(L), "XXII", key=key, method="exact").n_groups
            rows.append(row)
    (out / "results.json").write_text(json.dumps({"X_exp": x_exp, "rows": rows}, indent=1))
    plot(rows, x_exp, out / "fig3.png")
    for m in MODELS:
        last = [r for r in rows if r["model"] == m][-1]
        print(f"{m}: X_exp={x_exp[m]}  L={last['L']} groups={last['groups']} F_eff={last['F_eff']:.3f}")


def plot(rows, x_exp, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, m in enumerate(x_exp):
        rs = [r for r in rows if r["model"] == m]
        ax.plot(
            [r["L"] for r in rs], [r["F_eff"] for r in rs], "o-", ms=3, color=f"C{i}", label=f"{m} (X_exp = {x_exp[m]})"
        )
    ax.set_xlabel("number of parameters L")
    ax.set_ylabel("F_eff(L) (greedy clique cover)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
