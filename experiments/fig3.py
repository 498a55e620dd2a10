"""Fig. 3: F_eff(L) vs L for SLPA, SC and NSC (n = 4, O = X0 X1), with X_exp, and the L x L
commutation maps of the gradient operators (panels (a)-(c)).

    python experiments/fig3.py --max-l 156 --map-l 48 --out runs/fig3

Greedy repeated maximum-clique removal on the gradient-operator commutation graph at one random theta
(the authors' method); the exact minimum clique cover for small L shows how far greedy is.
"""

import argparse
import json
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from slpa_jax import Circuit
from slpa_jax.analysis.dla import dynamical_lie_algebra
from slpa_jax.analysis.efficiency import gradient_commutation_matrix, gradient_efficiency
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
    p.add_argument("--map-l", type=int, default=48, help="L of the commutation maps, panels (a)-(c)")
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
    maps = commutation_maps(a.map_l, key)
    (out / "results.json").write_text(
        json.dumps({"X_exp": x_exp, "rows": rows, "maps": {m: c.astype(int).tolist() for m, c in maps.items()}})
    )
    plot(rows, x_exp, out / "fig3.png")
    plot_maps(maps, out / "fig3_maps.png")
    for m in MODELS:
        last = [r for r in rows if r["model"] == m][-1]
        print(f"{m}: X_exp={x_exp[m]}  L={last['L']} groups={last['groups']} F_eff={last['F_eff']:.3f}")


def commutation_maps(L: int, key) -> dict:
    """model -> (L, L) bool: gradient operators Gamma_j, Gamma_k commute at one random theta (same key)."""
    return {m: np.asarray(gradient_commutation_matrix(make(L), "XXII", key=key)) for m, make in MODELS.items()}


def plot_maps(maps: dict, path):
    """Panels (a)-(c): the commutation maps, black where two gradient operators commute."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(4.0 * len(maps), 4.3))
    for ax, (panel, (m, c)) in zip(axes, zip("abc", maps.items())):
        L = c.shape[0]
        ax.imshow(c, cmap="Greys", vmin=0, vmax=1, interpolation="nearest", extent=(0.5, L + 0.5, L + 0.5, 0.5))
        ax.set_title(f"({panel}) {m}, L = {L}: {c.sum() - L} of {L * (L - 1)} pairs commute", fontsize=9)
        ax.set_xlabel("rotation k")
        ax.set_ylabel("rotation j")
    fig.suptitle("[Gamma_j, Gamma_k] = 0 (black), n = 4, O = X0 X1, one random theta", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
