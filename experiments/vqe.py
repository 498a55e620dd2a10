"""Variational ground states under a shot budget: energy error vs total shots, SLPA vs parameter shift.

    python experiments/vqe.py [--problems xxz8 xxz12 h2] [--epochs 150] [--seeds 3] [--shots 1000]
                              [--params 64] [--sc-params N] [--models SLPA SC HEA] [--out docs/img]
                              [--runs runs/vqe] [--plot-name vqe_energy_vs_shots.png]

For every problem (the open XXZ chain, delta = 0.5, at n = 8 and n = 12; the shipped 4-qubit H2 /
STO-3G Hamiltonian) three models are trained from the same initial state (a Neel / Hartree-Fock
bitstring projected onto the exact ground state's symmetry sector), all with the same number of
parameters and ``--shots`` shots per circuit:

- ``SLPA``: the SLPA of the Hamiltonian's Pauli symmetry (``symmetric_slpa``, logicals chosen
  automatically), block gradients of the Pauli-sum Hamiltonian (``estimator: ancilla``);
- ``SC``: the SLPA's logical pattern as a plain circuit (one rotation per logical, the paper's SC
  relation), parameter shift;
- ``HEA``: a hardware-efficient circuit (Y rotations and nearest-neighbour XX rotations), parameter
  shift.

Runs go through ``runs.run_experiment`` (one resumable run directory per problem, the base config
``configs/vqe_xxz.yaml`` with the problem and models substituted). Printed and written to
``RUN_DIR/vqe_table.json``: circuits per step, shots per seed, the final energy error (mean, min,
max over seeds) and the shots each seed needed to first reach an energy error below the target
(``--target``, a fraction of |E0|), and the mean error after given shot budgets. Plot:
``OUT/vqe_energy_vs_shots.png`` (energy error above the
exact ground energy vs total shots per seed; line = mean over seeds, band = min..max).
"""

import argparse
import json
from pathlib import Path

import numpy as np

from slpa_jax.blocks.symmetry import choose_logicals, find_symmetry
from slpa_jax.train.config import load_config, parse_config
from slpa_jax.train.hamiltonians import ground_energy, hamiltonian
from slpa_jax.train.runs import read_metrics, run_experiment

ROOT = Path(__file__).resolve().parent.parent

#: name -> (qubits, task.hamiltonian, initial bitstring)
PROBLEMS = {
    "xxz8": (8, {"name": "xxz", "delta": 0.5, "boundary": "open"}, "01010101"),
    "xxz12": (12, {"name": "xxz", "delta": 0.5, "boundary": "open"}, "010101010101"),
    "h2": (4, {"name": "h2"}, "1100"),
}


def _hamiltonian(spec: dict, n: int):
    params = {k: v for k, v in spec.items() if k != "name"}
    return hamiltonian(spec["name"], n, **params)


def hea_ops(n: int, n_params: int) -> list[str]:
    """Hardware-efficient layers (Y on every qubit, then X_q X_{q+1}), cut to ``n_params`` rotations."""
    layer = [f"Y{q}" for q in range(n)] + [f"X{q} X{q + 1}" for q in range(n - 1)]
    return [layer[i % len(layer)] for i in range(n_params)]


def models(n: int, h, n_params: int, sc_params: int | None = None, names=("SLPA", "SC", "HEA")) -> list[dict]:
    """The models of one problem, each with ``n_params`` parameters (the SC ``sc_params``; 0 = as many
    rotations as the SLPA has blocks, the same logical depth)."""
    group = find_symmetry(h.paulis)
    pattern = choose_logicals(group)  # what symmetric_slpa chooses for the same group
    size = group.size
    slpa_params = max(size, n_params // size * size)
    if sc_params == 0:
        sc_params = slpa_params // size
    sc_params = n_params if sc_params is None else sc_params
    out = [
        {"name": "SLPA", "ansatz": "symmetric_slpa", "estimator": "ancilla", "n_params": slpa_params},
        {
            "name": "SC",
            "ansatz": "custom",
            "estimator": "param_shift",
            "circuit": {"ops": [pattern[i % len(pattern)] for i in range(sc_params)]},
        },
        {"name": "HEA", "ansatz": "custom", "estimator": "param_shift", "circuit": {"ops": hea_ops(n, n_params)}},
    ]
    return [m for m in out if m["name"] in names]


def problem_config(name: str, args) -> dict:
    n, spec, bits = PROBLEMS[name]
    h = _hamiltonian(spec, n)
    d = load_config(str(args.config), [])
    d["name"] = f"vqe_{name}"
    d["output_dir"] = str(args.runs)
    d["task"] = {
        "kind": "ground_state",
        "n_qubits": n,
        "hamiltonian": spec,
        "initial_state": {"bits": bits, "sector": "ground"},
    }
    names = getattr(args, "models", ("SLPA", "SC", "HEA"))
    d["models"] = models(n, h, args.params, getattr(args, "sc_params", None), names)
    d["shots"] = args.shots
    d["train"] = {**d["train"], "epochs": args.epochs, "n_seeds": args.seeds, "checkpoint_every": args.epochs}
    return d


def shots_below(shots: np.ndarray, error: np.ndarray, target: float) -> list:
    """Per seed, cumulative shots at the first epoch with ``error < target`` (None if never)."""
    out = []
    for s, e in zip(shots, error):
        hit = np.flatnonzero(e < target)
        out.append(float(s[hit[0]]) if hit.size else None)
    return out


BUDGETS = (1e6, 3e6, 1e7, 3e7)


def error_at(shots: np.ndarray, error: np.ndarray, budget: float) -> float | None:
    """Mean over seeds of the energy error after the last step within ``budget`` shots (None if none)."""
    n = np.sum(shots <= budget, axis=1)
    if np.any(n == 0) or budget > np.max(shots):  # before the first step, or after the run ended
        return None
    return float(np.mean(error[np.arange(error.shape[0]), n - 1]))


def table(name: str, summary: dict, histories: dict, e0: float, target: float) -> list[dict]:
    rows = []
    for model, s in summary["models"].items():
        h = histories[model]
        err = np.asarray(h["test_loss"]) - e0
        rows.append(
            {
                "problem": name,
                "model": model,
                "estimator": s["estimator"],
                "n_params": s["n_params"],
                "circuits_per_step": s["circuits_per_sample"],
                "shots_per_seed": s["shots_per_seed"],
                "final_error": [float(err[:, -1].mean()), float(err[:, -1].min()), float(err[:, -1].max())],
                "best_error_mean": float(err.min(axis=1).mean()),
                "target": target,
                "shots_to_target": shots_below(np.asarray(h["shots"]), err, target),
                "error_at_budget": {f"{b:.0e}": error_at(np.asarray(h["shots"]), err, b) for b in BUDGETS},
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        f"{'problem':7} {'model':12} {'params':>6} {'circ/step':>9} {'shots/seed':>10} "
        f"{'final error mean [min, max]':>30} {'target':>8} {'shots to target (median)':>24} {'seeds':>5}"
    )
    for r in rows:
        m, lo, hi = r["final_error"]
        got = [v for v in r["shots_to_target"] if v is not None]
        med = f"{np.median(got):.2e}" if got else "never"
        print(
            f"{r['problem']:7} {r['model']:12} {r['n_params']:>6} {r['circuits_per_step']:>9} "
            f"{r['shots_per_seed']:>10.2e} {m:>12.3e} [{lo:.2e}, {hi:.2e}] {r['target']:>8.3f} {med:>24} "
            f"{len(got)}/{len(r['shots_to_target']):>3}"
        )
    print("\nmean energy error after a shot budget (per seed; '-': outside the run's shots):")
    print(f"{'problem':7} {'model':12} " + " ".join(f"{b:>9.0e}" for b in BUDGETS))
    for r in rows:
        vals = r["error_at_budget"].values()
        print(f"{r['problem']:7} {r['model']:12} " + " ".join(f"{'-':>9}" if v is None else f"{v:>9.2e}" for v in vals))


def plot(results: dict, path: Path, shots: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    colours = {"SLPA": "C0", "SC": "C1", "HEA": "C2"}
    for ax, (name, (histories, e0, n, n_seeds)) in zip(axes[0], results.items()):
        for model, h in histories.items():
            x = np.asarray(h["shots"]).mean(axis=0)
            err = np.clip(np.asarray(h["test_loss"]) - e0, 1e-6, None)
            base = model.split(" ")[0]
            c = colours.get(base)
            style = "-" if base == model else "--"
            ax.plot(x, err.mean(axis=0), color=c, ls=style, label=model)
            ax.fill_between(x, err.min(axis=0), err.max(axis=0), color=c, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("total shots per seed")
        ax.set_ylabel("energy error E(theta) - E0 (exact <H>)")
        ax.set_title(f"{name}: n = {n}, {shots} shots/circuit, {n_seeds} seeds", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(title="line: mean; band: min..max over seeds", fontsize=8, title_fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "vqe_xxz.yaml", help="base config (train keys)")
    p.add_argument("--epochs", type=int, default=150, help="optimisation steps per model")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--shots", type=int, default=1000, help="shots per circuit")
    p.add_argument("--params", type=int, default=64, help="parameters per model (SLPA: rounded to blocks)")
    p.add_argument("--sc-params", type=int, default=None, help="SC rotations (default --params; 0: SLPA blocks)")
    p.add_argument("--models", nargs="+", default=["SLPA", "SC", "HEA"], choices=["SLPA", "SC", "HEA"])
    p.add_argument("--plot-name", default="vqe_energy_vs_shots.png")
    p.add_argument("--target", type=float, default=0.05, help="energy-error target as a fraction of |E0|")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "vqe")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    p.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="RUNS:SUFFIX",
        help="add the finished runs under RUNS (another --runs of this script) to the table and plot, "
        "their model names suffixed, e.g. runs/vqe_deep:'(256 p)'",
    )
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    rows, results = [], {}
    for name in a.problems:
        cfg = parse_config(problem_config(name, a))
        run_dir = a.runs / cfg.name
        summary = run_experiment(cfg, run_dir, progress=not a.no_progress)
        n, spec, _ = PROBLEMS[name]
        e0 = float(np.min(ground_energy(_hamiltonian(spec, n))))
        histories = read_metrics(run_dir)
        rows += table(name, summary, histories, e0, a.target * abs(e0))
        for spec_ in a.overlay:
            other, suffix = spec_.split(":", 1)
            other_dir = Path(other) / cfg.name
            if not (other_dir / "summary.json").exists():
                continue
            extra = {f"{m} {suffix}": h for m, h in read_metrics(other_dir).items()}
            s = json.loads((other_dir / "summary.json").read_text())
            s = {"models": {f"{m} {suffix}": v for m, v in s["models"].items()}}
            rows += table(name, s, extra, e0, a.target * abs(e0))
            histories = {**histories, **extra}
        results[name] = (histories, e0, n, a.seeds)
        (run_dir / "vqe_table.json").write_text(json.dumps(rows, indent=1))
    print_table(rows)
    plot(results, a.out / a.plot_name, a.shots)
    print(f"\nplot: {a.out / a.plot_name}")
    return rows


if __name__ == "__main__":
    main()
