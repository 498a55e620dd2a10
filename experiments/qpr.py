"""Quantum phase recognition: accuracy vs total shots, SLPA (block gradient) vs parameter-shift baselines.

    python experiments/qpr.py [--config configs/qpr.yaml] [--set key=value ...] [--threshold 0.9]

Trains every model of the config with ``slpa_jax.train.runs.run_experiment`` (resumable run directory
``runs/qpr``: metrics.jsonl, summary.json, loss_vs_shots.png, accuracy_vs_shots.png), then prints
final test accuracy (mean, min, max over seeds), shots spent per seed, the shots each seed needed to
first reach ``--threshold`` test accuracy, and the test accuracy after given shot budgets. The table
is also written to ``RUN_DIR/qpr_table.json``. See docs/qpr.md.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from slpa_jax.train.config import load_config, parse_config
from slpa_jax.train.runs import ACCURACY_PLOT_NAME, PLOT_NAME, read_metrics, run_experiment, shots_to_reach

BUDGETS = (1e6, 3e6, 1e7, 3e7, 1e8)


def accuracy_at_budget(history: dict, budget: float) -> np.ndarray:
    """Per seed, test accuracy after the last epoch whose cumulative shots are <= budget (NaN if none)."""
    shots, acc = np.asarray(history["shots"]), np.asarray(history["test_accuracy"])
    n = np.sum(shots <= budget, axis=1)
    return np.where(n > 0, acc[np.arange(acc.shape[0]), np.maximum(n - 1, 0)], np.nan)


def table(summary: dict, histories: dict, threshold: float) -> list[dict]:
    rows = []
    for name, s in summary["models"].items():
        h = histories[name]
        reach = shots_to_reach(h, threshold)
        stay = shots_to_reach(h, threshold, sustained=True)
        rows.append(
            {
                "model": name,
                "ansatz": s["ansatz"],
                "estimator": s["estimator"],
                "n_params": s["n_params"],
                "circuits_per_sample": s["circuits_per_sample"],
                "shots_per_seed": s["shots_per_seed"],
                "final_test_accuracy": [
                    s["final_test_accuracy_mean"],
                    s["final_test_accuracy_min"],
                    s["final_test_accuracy_max"],
                ],
                "final_train_accuracy_mean": s["final_train_accuracy_mean"],
                "final_test_loss_mean": s["final_test_loss_mean"],
                f"shots_to_{threshold:g}": [None if np.isnan(v) else float(v) for v in reach],
                f"shots_to_stay_{threshold:g}": [None if np.isnan(v) else float(v) for v in stay],
                "test_accuracy_at_budget": {
                    f"{b:.0e}": float(np.nanmean(accuracy_at_budget(h, b)))
                    if np.any(np.asarray(h["shots"])[:, 0] <= b)
                    else None
                    for b in BUDGETS
                },
            }
        )
    return rows


def _median(values) -> tuple[str, str]:
    """Median over the seeds that got there (or 'never') and 'k/n' seeds."""
    v = np.array([np.nan if x is None else x for x in values])
    ok = ~np.isnan(v)
    return (f"{np.nanmedian(v):.2e}" if ok.any() else "never"), f"{int(ok.sum())}/{v.size}"


def print_table(rows: list[dict], threshold: float) -> None:
    t = format(threshold, "g")
    print(
        f"{'model':8} {'circ/sample':>11} {'shots/seed':>10} {'test acc mean [min, max]':>25} {'train acc':>9} "
        f"{'shots to ' + t:>12} {'seeds':>5} {'to stay >= ' + t:>14} {'seeds':>5}   (medians over seeds)"
    )
    for r in rows:
        m, lo, hi = r["final_test_accuracy"]
        med, k = _median(r[f"shots_to_{t}"])
        med_s, k_s = _median(r[f"shots_to_stay_{t}"])
        print(
            f"{r['model']:8} {r['circuits_per_sample']:>11g} {r['shots_per_seed']:>10.2e} "
            f"{m:>13.3f} [{lo:.2f}, {hi:.2f}] {r['final_train_accuracy_mean']:>9.3f} {med:>12} {k:>5} "
            f"{med_s:>14} {k_s:>5}"
        )
    print("\nmean test accuracy after a shot budget (per seed):")
    print(f"{'model':8} " + " ".join(f"{b:>8.0e}" for b in BUDGETS))
    for r in rows:
        vals = r["test_accuracy_at_budget"].values()
        print(f"{r['model']:8} " + " ".join(f"{'-':>8}" if v is None else f"{v:>8.3f}" for v in vals))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "configs" / "qpr.yaml"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    p.add_argument("--threshold", type=float, default=0.9, help="test accuracy for the shots-to-reach column")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    cfg = parse_config(load_config(a.config, a.set))
    run_dir = Path(cfg.output_dir) / cfg.name
    summary = run_experiment(cfg, run_dir, progress=not a.no_progress)
    rows = table(summary, read_metrics(run_dir), a.threshold)
    (run_dir / "qpr_table.json").write_text(json.dumps(rows, indent=1))
    print_table(rows, a.threshold)
    print(f"\nplots: {run_dir / ACCURACY_PLOT_NAME}, {run_dir / PLOT_NAME}")


if __name__ == "__main__":
    main()
