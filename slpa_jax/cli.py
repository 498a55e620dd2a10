"""The ``slpa-jax`` command line: run, sweep, plot, analyze, export.

    slpa-jax run CONFIG [--set key=value ...] [--run-dir DIR]
    slpa-jax sweep CONFIG [--set key=value ...]
    slpa-jax plot RUN_DIR
    slpa-jax analyze ANSATZ [--n-qubits N] [--n-params L] [--observable O]
    slpa-jax export RUN_DIR --format qasm3|qasm2|qiskit [--out DIR] [--model NAME] [--seed I]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]


def _cmd_run(args) -> int:
    from .config import load_config, parse_config
    from .runs import run_experiment, summary_table

    cfg = parse_config(load_config(args.config, args.set))
    run_dir = Path(args.run_dir) if args.run_dir else Path(cfg.output_dir) / cfg.name
    print(f"slpa-jax run: {cfg.name} -> {run_dir}")
    summary = run_experiment(cfg, run_dir, progress=not args.no_progress)
    print(summary_table(summary))
    print(f"plot: {run_dir / 'loss_vs_shots.png'}")
    return 0


def _cmd_sweep(args) -> int:
    from .config import expand_sweep, load_config
    from .runs import run_experiment, summary_table

    points = expand_sweep(load_config(args.config, args.set))
    print(f"slpa-jax sweep: {len(points)} run(s)")
    index = []
    for point, cfg in points:
        run_dir = Path(cfg.output_dir) / cfg.name
        print(f"== {cfg.name} {point}")
        summary = run_experiment(cfg, run_dir, progress=not args.no_progress)
        print(summary_table(summary))
        index.append({"run_dir": str(run_dir), "point": point, "summary": summary})
    if points:
        out = Path(points[0][1].output_dir) / f"sweep-{Path(args.config).stem}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(index, indent=2))
        print(f"sweep index: {out}")
    return 0


def _cmd_plot(args) -> int:
    from .plotting import plot_loss_vs_shots
    from .runs import read_metrics

    run_dir = Path(args.run_dir)
    if not (run_dir / "metrics.jsonl").exists():
        print(f"slpa-jax plot: {str(run_dir)!r} has no metrics.jsonl", file=sys.stderr)
        return 2
    hist = read_metrics(run_dir)
    out = plot_loss_vs_shots(hist, str(run_dir / "loss_vs_shots.png"), title=run_dir.name)
    print(out)
    return 0


def _cmd_analyze(args) -> int:
    from .analysis_report import analyze_ansatz

    report = analyze_ansatz(args.ansatz, n_qubits=args.n_qubits, n_params=args.n_params,
                            observable=args.observable, seed=args.seed)
    for k, v in report.items():
        print(f"{k}: {v}")
    return 0


def _cmd_export(args) -> int:
    from .export_run import export_run

    written = export_run(args.run_dir, fmt=args.format, out_dir=args.out, model=args.model, seed=args.seed)
    print(f"wrote {len(written)} file(s) under {Path(written[0]).parent if written else args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slpa-jax", description="SLPA / QNN shot-budget experiments in JAX")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="train the models of a config; resumes an interrupted run")
    r.add_argument("config")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    r.add_argument("--run-dir", default=None)
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("sweep", help="run the grid spanned by list-valued shots / task.n_qubits / train.seed")
    s.add_argument("config")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=_cmd_sweep)

    pl = sub.add_parser("plot", help="(re)draw the loss-vs-shots plot of a run directory")
    pl.add_argument("run_dir")
    pl.set_defaults(func=_cmd_plot)

    a = sub.add_parser("analyze", help="X_exp (DLA dimension), F_eff and the trade-off bound of an ansatz")
    a.add_argument("ansatz", help="slpa, sc, nsc, fig10_sc or fig10_slpa")
    a.add_argument("--n-qubits", type=int, default=4)
    a.add_argument("--n-params", type=int, default=96)
    a.add_argument("--observable", default=None, help="default X0 X1")
    a.add_argument("--seed", type=int, default=0)
    a.set_defaults(func=_cmd_analyze)

    e = sub.add_parser("export", help="write the trained circuit and its gradient-measurement settings")
    e.add_argument("run_dir")
    e.add_argument("--format", choices=("qasm3", "qasm2", "qiskit"), default="qasm3")
    e.add_argument("--out", default=None, help="default RUN_DIR/export-FORMAT")
    e.add_argument("--model", default=None, help="model name (default: all)")
    e.add_argument("--seed", type=int, default=0, help="which seed's trained parameters")
    e.set_defaults(func=_cmd_export)
    return p


def main(argv=None) -> int:
    from .config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError) as err:
        print(f"slpa-jax {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
