"""The ``slpa-jax`` command line: run, sweep, plot, analyze, export.

    slpa-jax run CONFIG [--set key=value ...] [--run-dir DIR] [--no-progress]
    slpa-jax sweep CONFIG [--set key=value ...] [--no-progress]
    slpa-jax plot RUN_DIR
    slpa-jax analyze ANSATZ [--n-qubits N] [--n-params L] [--observable O] [--seed S]
    slpa-jax export RUN_DIR [--format qasm3|qasm2|qiskit] [--out DIR] [--model NAME] [--seed I]

Exit codes: 0 success, 2 bad input (config error, missing file; the message names the key or path),
130 interrupted (rerun the same command to resume from the last checkpoint).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


def _cmd_run(args) -> int:
    from .train.config import load_config, parse_config
    from .train.runs import PLOT_NAME, run_experiment, summary_table

    cfg = parse_config(load_config(args.config, args.set))
    run_dir = Path(args.run_dir) if args.run_dir else Path(cfg.output_dir) / cfg.name
    print(f"slpa-jax run: {cfg.name} -> {run_dir}", flush=True)
    summary = run_experiment(cfg, run_dir, progress=not args.no_progress)
    print(summary_table(summary))
    print(f"plot: {run_dir / PLOT_NAME}")
    return 0


def _cmd_sweep(args) -> int:
    from .train.config import expand_sweep, load_config
    from .train.plotting import plot_sweep
    from .train.runs import run_experiment, summary_table

    points = expand_sweep(load_config(args.config, args.set))
    print(f"slpa-jax sweep: {len(points)} run(s)", flush=True)
    index = []
    for point, cfg in points:
        run_dir = Path(cfg.output_dir) / cfg.name
        print(f"== {cfg.name} {point} -> {run_dir}", flush=True)
        summary = run_experiment(cfg, run_dir, progress=not args.no_progress)
        print(summary_table(summary))
        index.append({"run_dir": str(run_dir), "point": point, "summary": summary})
    out_dir = Path(points[0][1].output_dir)
    stem = Path(args.config).stem
    out = out_dir / f"sweep-{stem}.json"
    out.write_text(json.dumps(index, indent=2))
    png = plot_sweep(index, str(out_dir / f"sweep-{stem}.png"), title=stem)
    print(f"sweep index: {out}\nsweep plot: {png}")
    return 0


def _cmd_plot(args) -> int:
    from .train.runs import plot_run, read_metrics

    run_dir = Path(args.run_dir)
    if not (run_dir / "metrics.jsonl").exists():
        raise FileNotFoundError(f"{str(run_dir)!r} has no metrics.jsonl (not a run directory, or no epoch done yet)")
    for path in plot_run(read_metrics(run_dir), run_dir, run_dir.name):
        print(path)
    return 0


def _cmd_analyze(args) -> int:
    from .analysis.report import analyze_ansatz

    report = analyze_ansatz(
        args.ansatz,
        n_qubits=args.n_qubits,
        n_params=args.n_params,
        observable=args.observable,
        seed=args.seed,
        max_dense_qubits=args.max_dense_qubits,
    )
    for k, v in report.items():
        print(f"{k}: {v}")
    return 0


def _cmd_export(args) -> int:
    from .export.run import export_run

    written = export_run(args.run_dir, fmt=args.format, out_dir=args.out, model=args.model, seed=args.seed)
    for path in written:
        print(path)
    return 0


def _catalogue_lines() -> list[str]:
    """``name (description)`` for every entry of the ansatz catalogue (``blocks.catalogue.ANSATZE``)."""
    from .blocks.catalogue import ANSATZE

    return [f"{name} ({spec.description})" for name, spec in ANSATZE.items()]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``slpa-jax`` (subcommands run, sweep, plot, analyze, export)."""
    p = argparse.ArgumentParser(prog="slpa-jax", description="SLPA / QNN shot-budget experiments in JAX")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="train the models of a config; resumes an interrupted run")
    r.add_argument("config", help="YAML config (see configs/)")
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, value parsed as YAML (e.g. train.epochs=5, models[0].n_params=48)",
    )
    r.add_argument("--run-dir", default=None, help="default OUTPUT_DIR/NAME from the config")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("sweep", help="run the grid spanned by list-valued shots / task.n_qubits / train.seed")
    s.add_argument("config")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=_cmd_sweep)

    pl = sub.add_parser("plot", help="(re)draw the loss-vs-shots plot of a run directory (also mid-run)")
    pl.add_argument("run_dir")
    pl.set_defaults(func=_cmd_plot)

    a = sub.add_parser("analyze", help="X_exp (DLA dimension), F_eff and the trade-off bound of an ansatz")
    a.add_argument("ansatz", help="an ansatz of the catalogue: " + "; ".join(_catalogue_lines()))
    a.add_argument("--n-qubits", type=int, default=4)
    a.add_argument("--n-params", type=int, default=96, help="number of rotations L")
    a.add_argument("--observable", default=None, help="Pauli label; default the ansatz's (X0 X1, QPR: Z0 X1 Z2)")
    a.add_argument("--seed", type=int, default=0, help="seed of the random theta for F_eff")
    a.add_argument("--max-dense-qubits", type=int, default=6, help="skip F_eff (dense operators) above this n")
    a.set_defaults(func=_cmd_analyze)

    e = sub.add_parser("export", help="write the trained circuits and their gradient-measurement settings")
    e.add_argument("run_dir")
    e.add_argument("--format", choices=("qasm3", "qasm2", "qiskit"), default="qasm3")
    e.add_argument("--out", default=None, help="default RUN_DIR/export-FORMAT")
    e.add_argument("--model", default=None, help="model name (default: all)")
    e.add_argument("--seed", type=int, default=0, help="which seed's trained parameters")
    e.set_defaults(func=_cmd_export)
    return p


def main(argv=None) -> int:
    """Entry point of the ``slpa-jax`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        # ConfigError is a ValueError; library ValueErrors name the argument and what was expected
        print(f"slpa-jax {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"slpa-jax {args.command}: interrupted; run the same command again to resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
