"""Fig. 10: Var_theta <X0 X1> for SC and SLPA, n = 6..14, against the plateau (1/2)/(2^(n-2)+1).

The paper's axis is L/n, rotations per qubit (SC: L = d n/2, so d = 2 L/n; SLPA: L = 2 d n, so
d = (L/n)/2); ``--l-per-n`` picks points on it, ``--depths`` picks layers directly:

    python experiments/fig10.py --n 6 8 10 12 14 --l-per-n 2 4 8 16 24 32 48 64 96 128 156 --out runs/fig10
    python experiments/fig10.py --n 6 8 10 12 14 --depths 1 2 4 8 16 32 64 --out runs/fig10

Points are keyed by (n, model, depth) and appended to results.json after each one, so a sweep
resumes point by point and both views share points. Writes results.json (variance, standard error,
seconds per point), table.md (with where each curve reaches the plateau) and fig10.png (left: the
paper's L/n axis; right: per layer).
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
    p.add_argument("--depths", type=int, nargs="+", default=None, help="layers (default 1 2 4 8 16 32)")
    p.add_argument("--l-per-n", type=int, nargs="+", default=None, help="points on the paper's L/n axis")
    p.add_argument("--plateau-tol", type=float, default=0.03, help="'on the plateau' = within this fraction")
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
    points = sorted({(n, m, d) for n in a.n for m in ("SC", "SLPA") for d in depths_for(m, a.depths, a.l_per_n)})
    todo = [pt for pt in points if pt not in done]
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
    text = table(rows) + "\n" + plateau_table(rows, a.plateau_tol)
    (out / "table.md").write_text(text)
    print(text)
    print(f"wrote {path}, {out / 'table.md'} and {out / 'fig10.png'}")


def depths_for(model: str, depths, l_per_n) -> list[int]:
    """Layers of ``model`` for the requested depths and/or L/n points (SC d = 2 L/n, SLPA d = (L/n)/2)."""
    out = set(depths or [])
    for x in l_per_n or []:
        if model == "SC":
            out.add(2 * x)
        elif x % 2 == 0:
            out.add(x // 2)
        else:
            raise SystemExit(f"--l-per-n: the SLPA has 2n rotations per layer, so L/n must be even, got {x}")
    if not out:
        out = {1, 2, 4, 8, 16, 32}
    return sorted(out)


def l_per_n(row) -> float:
    return row["L"] / row["n"]


def plateau_reached(rows, tol: float = 0.03) -> dict:
    """(n, model) -> the first (L/n, depth) from which every deeper point is within ``tol`` of the
    plateau (relative) or within 3 standard errors of it, or None if the deepest point is not."""
    out = {}
    for n, model in sorted({(r["n"], r["model"]) for r in rows}):
        rs = sorted((r for r in rows if r["n"] == n and r["model"] == model), key=l_per_n)
        # within tol of the plateau, or statistically indistinguishable from it (3 standard errors)
        on = [abs(r["variance"] - r["plateau"]) <= tol * r["plateau"] + 3 * r.get("stderr", 0.0) for r in rs]
        first = None
        for i in range(len(rs) - 1, -1, -1):
            if not on[i]:
                break
            first = rs[i]
        out[(n, model)] = None if first is None else (l_per_n(first), first["depth"])
    return out


def plateau_table(rows, tol: float = 0.03) -> str:
    """Markdown: where each curve reaches the plateau (within ``tol``), on the L/n axis and in layers."""
    reached = plateau_reached(rows, tol)
    lines = [
        f"| n | SC: L/n (d) on the plateau (within {tol:.0%}) | SLPA: L/n (d) | SLPA / SC in L/n |",
        "|---|---|---|---|",
    ]
    for n in sorted({k[0] for k in reached}):
        sc, sl = reached.get((n, "SC")), reached.get((n, "SLPA"))

        def cell(v):
            return "not reached" if v is None else f"{v[0]:g} ({v[1]})"

        ratio = f"{sl[0] / sc[0]:.1f}" if sc and sl else ""
        lines.append(f"| {n} | {cell(sc)} | {cell(sl)} | {ratio} |")
    return "\n".join(lines) + "\n"


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
    """Left: Var against L/n (the paper's axis, linear); right: against layers (log). Dotted: plateau."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ns = sorted({r["n"] for r in rows})
    for ax, x_of, xlabel in (
        (axes[0], l_per_n, "L/n (rotations per qubit)"),
        (axes[1], lambda r: r["depth"], "depth (layers: SC n/2 rotations, SLPA 2n)"),
    ):
        for i, n in enumerate(ns):
            for model, style in (("SC", "o-"), ("SLPA", "s--")):
                # Var = 0 up to rounding (< 1e-12) where X0 X1 lies outside the light cone: not drawn.
                rs = sorted(
                    (r for r in rows if r["n"] == n and r["model"] == model and r["variance"] > 1e-12), key=x_of
                )
                if rs:
                    ax.errorbar(
                        [x_of(r) for r in rs],
                        [r["variance"] for r in rs],
                        yerr=[r["stderr"] for r in rs],
                        fmt=style,
                        color=f"C{i}",
                        ms=3,
                        label=f"{model} n={n}",
                    )
            ax.axhline(variance_plateau(n), color=f"C{i}", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Var_theta <X0 X1>  (dotted: plateau (1/2)/(2^(n-2)+1))")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].set_xscale("log")
    axes[0].set_title("the paper's axis", fontsize=9)
    axes[1].set_title("per layer", fontsize=9)
    axes[1].legend(fontsize=7, ncol=2)
    samples = sorted({r["samples"] for r in rows})
    fig.suptitle(f"Fig. 10: variance over theta ~ U[0, 2 pi)^L, {samples[-1]:,} samples per point", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
