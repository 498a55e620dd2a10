"""Fig. 10: Var_theta <X0 X1> vs depth for SC and SLPA, n = 6..14, against the plateau (1/2)/(2^(n-2)+1).

    python experiments/fig10.py --n 6 8 10 12 14 --depths 1 2 4 8 16 32 --samples 10000 --out runs/fig10

Writes results.json (variance, standard error, seconds per point) and fig10.png.
"""

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from slpa_jax.analysis.landscape import expectation_samples, expectation_variance, variance_plateau
from slpa_jax.blocks import ansatze


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[6, 8, 10])
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/fig10")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    done = {(r["n"], r["model"], r["depth"]) for r in rows}
    todo = [(n, m, d) for n in a.n for m in ("SC", "SLPA") for d in a.depths if (n, m, d) not in done]
    for n, model, depth in tqdm(todo, desc="fig10 points"):
        circuit = ansatze.fig10_sc_circuit(n, depth) if model == "SC" else ansatze.fig10_slpa_circuit(n, depth)
        obs = "XX" + "I" * (n - 2)
        fn = jax.jit(
            lambda k, c=circuit, o=obs: expectation_samples(c, o, key=k, n_samples=a.samples, batch_size=a.batch)
        )
        key = jax.random.fold_in(jax.random.PRNGKey(a.seed), depth)
        t0 = time.perf_counter()
        samples = np.asarray(jax.block_until_ready(fn(key)))
        sec = time.perf_counter() - t0
        var, se = expectation_variance(samples)
        rows.append(
            {
                "n": n,
                "model": model,
                "depth": depth,
                "L": circuit.num_rotations,
                "variance": var,
                "stderr": se,
                "plateau": variance_plateau(n),
                "seconds": sec,
                "samples": a.samples,
                "device": jax.devices()[0].device_kind,
            }
        )
        path.write_text(json.dumps(rows, indent=1))  # nothing lost if interrupted
    plot(rows, out / "fig10.png")
    (out / "table.md").write_text(table(rows))
    print(table(rows))
    print(f"wrote {path}, {out / 'table.md'} and {out / 'fig10.png'}")


def table(rows) -> str:
    """Markdown: Var / plateau per (n, model) and depth, plus seconds per point."""
    depths = sorted({r["depth"] for r in rows})
    head = "| n | model | plateau | " + " | ".join(f"d={d}" for d in depths) + " | s/point at deepest |"
    lines = [head, "|" + "---|" * (len(depths) + 4)]
    for n in sorted({r["n"] for r in rows}):
        for model in ("SC", "SLPA"):
            by_d = {r["depth"]: r for r in rows if r["n"] == n and r["model"] == model}
            if not by_d:
                continue
            cells = []
            for d in depths:
                r = by_d.get(d)
                cells.append(
                    "" if r is None else ("0" if r["variance"] < 1e-12 else f"{r['variance'] / r['plateau']:.2f}")
                )
            deepest = by_d[max(by_d)]
            lines.append(
                f"| {n} | {model} | {deepest['plateau']:.3g} | " + " | ".join(cells) + f" | {deepest['seconds']:.1f} |"
            )
    return "\n".join(lines) + "\n\nCells: Var / plateau (1.00 = on the plateau; 0 = identically zero).\n"


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ns = sorted({r["n"] for r in rows})
    for i, n in enumerate(ns):
        for model, style in (("SC", "o-"), ("SLPA", "s--")):
            # Var = 0 up to rounding (< 1e-12) where X0 X1 lies outside the circuit's light cone: not drawn.
            rs = sorted(
                (r for r in rows if r["n"] == n and r["model"] == model and r["variance"] > 1e-12),
                key=lambda r: r["depth"],
            )
            if rs:
                ax.errorbar(
                    [r["depth"] for r in rs],
                    [r["variance"] for r in rs],
                    yerr=[r["stderr"] for r in rs],
                    fmt=style,
                    color=f"C{i}",
                    ms=4,
                    label=f"{model} n={n}",
                )
        ax.axhline(variance_plateau(n), color=f"C{i}", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("Var <X0 X1>  (dotted: plateau (1/2)/(2^(n-2)+1))")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
