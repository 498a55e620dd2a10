"""The ``slpa-jax`` command line: run, sweep, report, compare, plot, configs, analyze, export.

    slpa-jax run CONFIG [--set key=value ...] [--run-dir DIR] [--no-progress] [--dry-run] [--devices D]
                        [--distributed [--coordinator HOST:PORT --num-processes P --process-id I]]
    slpa-jax sweep CONFIG [--set key=value ...] [--over key=[v1,v2] ...] [--run-dir DIR] [--target T ...]
                          [--devices D] [--shard I/N] [--merge] [--distributed ...]
    slpa-jax report RUN_DIR|SWEEP_INDEX [--target METRIC<VALUE ...] [--reference MODEL] [--no-plot]
    slpa-jax compare RUN_DIR RUN_DIR ... [--out PNG]
    slpa-jax plot RUN_DIR
    slpa-jax configs [--reference]
    slpa-jax analyze ANSATZ [--n-qubits N] [--n-params L] [--observable O] [--seed S]
    slpa-jax export RUN_DIR [--format qasm3|qasm2|qiskit] [--out DIR] [--model NAME] [--seed I] [--sample K]

CONFIG is a YAML file or the name of a shipped config (``slpa-jax configs`` lists them).
``--devices all|N|I,J,K`` picks the devices that train seeds and mini-batch samples in parallel
(config key ``train.devices``). ``--distributed`` starts JAX's multi-controller runtime
(``jax.distributed.initialize``: SLURM, Open MPI and other clusters are detected; ``--coordinator``,
``--num-processes``, ``--process-id`` set it up by hand, e.g. on one machine); a run then spans every
process's devices and process 0 writes the run directory; a sweep gives process i of P the points
i, i+P, ... ``--shard I/N`` runs points I, I+N, ... of a sweep (a job array); ``--merge`` writes the
sweep files from the finished points (docs/scaling.md).

Exit codes: 0 success, 2 bad input or a failed run (config error, missing or unwritable file, a run
directory in use, a diverging run; one ``error:`` line names the key, path or epoch), 130
interrupted (rerun the same command to resume from the last checkpoint).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser", "shipped_configs", "resolve_config_path", "noise_summary"]


def shipped_configs() -> dict[str, Path]:
    """``{name: path}`` of the configs installed with the package (``slpa_jax/train/configs/*.yaml``)."""
    from importlib import resources

    root = resources.files("slpa_jax.train") / "configs"
    return {
        Path(p.name).stem: Path(str(p))
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".yaml")
    }


def resolve_config_path(config: str) -> str:
    """``config`` if it is an existing path; else the shipped config of that name (``quickstart``,
    ``quickstart.yaml``); else ``config`` unchanged (opening it then names the missing file)."""
    if Path(config).exists():
        return config
    shipped = shipped_configs()
    name = Path(config).stem if config.endswith(".yaml") and "/" not in config else config
    return str(shipped[name]) if name in shipped else config


def noise_summary(cfg) -> str:
    """One line: the noise model every model runs with (``noise:``) and the backend (``backend:``)."""
    from .train.models import noise_model_from_config

    parts = []
    if cfg.noise is None:
        parts.append("noise: none (shot noise only)")
    else:
        nm = noise_model_from_config(cfg.noise, cfg.task.n_qubits)
        how = "density matrices" if cfg.noise.method == "density" else f"{cfg.noise.trajectories} trajectories/setting"
        parts.append(f"noise: {nm} simulated with {how}")
    if cfg.backend is not None:
        b = cfg.backend
        parts.append(f"backend: {b.sampler}" + (f" sampler, fake device {b.fake}" if b.fake else " sampler"))
    return "; ".join(parts)


def _devices_override(text: str | None) -> list[str]:
    """``--devices all|N|I,J,K`` as a ``--set train.devices=...`` override (validated by the config)."""
    if text is None:
        return []
    text = text.strip()
    return [f"train.devices=[{text}]" if "," in text else f"train.devices={text}"]


def _init_distributed(args) -> None:
    """``jax.distributed.initialize`` for ``--distributed`` (once per process), before any computation."""
    manual = {"--coordinator": args.coordinator, "--num-processes": args.num_processes, "--process-id": args.process_id}
    given = [k for k, v in manual.items() if v is not None]
    if not args.distributed:
        if given:
            raise ValueError(f"{', '.join(given)}: only with --distributed")
        return
    import jax

    if jax.distributed.is_initialized():
        return
    try:
        jax.distributed.initialize(
            coordinator_address=args.coordinator, num_processes=args.num_processes, process_id=args.process_id
        )
    except ValueError as err:
        raise ValueError(
            f"--distributed: {err}; no cluster (SLURM, Open MPI, ...) was detected: give --coordinator HOST:PORT "
            "--num-processes P --process-id I (or the JAX_COORDINATOR_ADDRESS environment variable)"
        ) from None


def _say(*lines) -> None:
    """Print on the process that writes (process 0 of a distributed job; the only one otherwise)."""
    from .train.runs import is_writer

    if is_writer():
        print(*lines, sep="\n", flush=True)


def _cmd_run(args) -> int:
    _init_distributed(args)
    from .train.config import config_to_dict, load_config, parse_config
    from .train.runs import PLOT_NAME, budget_table, is_writer, run_experiment, shot_budget, summary_table

    cfg = parse_config(load_config(resolve_config_path(args.config), args.set + _devices_override(args.devices)))
    if cfg.backend is not None:
        import slpa_jax.export.backend  # noqa: F401  (registers the Qiskit backend builder)
    run_dir = Path(args.run_dir) if args.run_dir else Path(cfg.output_dir) / cfg.name
    if args.dry_run:
        import yaml

        print(f"slpa-jax run --dry-run: {cfg.name} -> {run_dir} (nothing is trained or written)")
        print("# resolved config")
        print(yaml.safe_dump(config_to_dict(cfg), sort_keys=False).rstrip())
        t = cfg.train
        print(
            f"# shot budget: {cfg.task.n_train} samples/epoch x {t.epochs} epochs x {t.n_seeds} seeds, "
            f"{'exact (no shots)' if cfg.shots is None else f'{cfg.shots:,} shots per circuit'}"
        )
        print(budget_table(shot_budget(cfg)))
        print(f"# {noise_summary(cfg)}")
        return 0
    _say(f"slpa-jax run: {cfg.name} -> {run_dir}")
    summary = run_experiment(cfg, run_dir, progress=not args.no_progress and is_writer())
    _say(summary_table(summary), f"plot: {run_dir / PLOT_NAME}")
    return 0


def _targets(texts, histories_list):
    from .train.report import default_targets, parse_target

    if texts:
        return [parse_target(t) for t in texts]
    # default: the largest final test loss of any seed of any model at any point (every seed reaches it)
    out = {}
    for hist in histories_list:
        for t in default_targets(hist):
            if t.metric not in out:
                out[t.metric] = t
            else:
                worse = max if t.direction == "below" else min
                out[t.metric] = type(t)(t.metric, t.direction, worse(out[t.metric].threshold, t.threshold))
    return list(out.values())


def _cmd_sweep(args) -> int:
    _init_distributed(args)
    import jax

    from .train.config import expand_sweep, load_config, parse_axes
    from .train.runs import is_writer, run_experiment, summary_table, sync_processes
    from .train.sweeps import collect_sweep, parse_shard, sweep_slice

    shard = parse_shard(args.shard) if args.shard else (0, 1)
    config = resolve_config_path(args.config)
    points = expand_sweep(load_config(config, args.set + _devices_override(args.devices)), parse_axes(args.over))
    if any(c.backend is not None for _, c in points):
        import slpa_jax.export.backend  # noqa: F401  (registers the Qiskit backend builder)
    out_dir = Path(args.run_dir) if args.run_dir else Path(points[0][1].output_dir)
    n_proc = jax.process_count() if args.distributed else 1
    mine = [] if args.merge else sweep_slice(len(points), shard, (jax.process_index(), n_proc))
    what = f"{len(mine)} run(s)" if len(mine) == len(points) else f"{len(mine)} of {len(points)} run(s)"
    what = f"merging {len(points)} point(s)" if args.merge else what
    where = f" (shard {shard[0]}/{shard[1]})" if args.shard else ""
    if n_proc > 1:
        where += f" (process {jax.process_index()} of {n_proc}: points {mine})"
    print(f"slpa-jax sweep: {what}{where} -> {out_dir}", flush=True)
    for k in mine:
        point, cfg = points[k]
        run_dir = out_dir / cfg.name
        print(f"== {cfg.name} {point} -> {run_dir}", flush=True)
        # with several processes each point runs on its own process's devices, written by that process
        summary = run_experiment(cfg, run_dir, progress=not args.no_progress, local=n_proc > 1)
        print(summary_table(summary), flush=True)
    sync_processes("sweep points done")
    if not is_writer():
        return 0
    index, missing = collect_sweep(points, out_dir)
    if missing:
        lines = [f"  [{k}] {points[k][1].name} {points[k][0]} -> {out_dir / points[k][1].name}" for k in missing]
        text = f"sweep incomplete: {len(missing)} of {len(points)} point(s) not finished:\n" + "\n".join(lines)
        if args.merge:
            raise ValueError(text + "\nrun their shards (--shard I/N), then --merge again")
        print(text + "\nthe sweep files are written once every point has finished (or with --merge)", flush=True)
        return 0
    _write_sweep_files(index, [p for p, _ in points], out_dir, Path(config).stem, args.target)
    return 0


def _write_sweep_files(index, points, out_dir: Path, stem: str, target_texts) -> None:
    """The sweep index, tidy table, and plots of a finished sweep."""
    from .train.plotting import plot_sweep, plot_sweep_axis
    from .train.results import save_atomic, strict_json, write_csv, write_parquet
    from .train.sweeps import axis_summary, sweep_histories, sweep_rows

    out = out_dir / f"sweep-{stem}.json"
    save_atomic(out, strict_json(index, indent=2).encode())
    rows = sweep_rows(index)
    table = write_csv(rows, out_dir / f"sweep-{stem}.csv")
    parquet = write_parquet(rows, out_dir / f"sweep-{stem}.parquet")
    pngs = [plot_sweep(index, str(out_dir / f"sweep-{stem}.png"), title=f"sweep {stem}: final test loss vs shots")]
    hists = sweep_histories(index)
    targets = _targets(target_texts, [h for _, h in hists])
    loss_target = next((t for t in targets if t.metric == "test_loss"), targets[0] if targets else None)
    for axis in dict.fromkeys(k for p in points for k in p):
        summ = axis_summary(hists, axis, target=loss_target)
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in axis)
        pngs.append(
            plot_sweep_axis(
                summ,
                axis,
                str(out_dir / f"sweep-{stem}-{safe}.png"),
                target=loss_target,
                title=f"sweep {stem}: final test loss and shots to {loss_target} vs {axis}",
            )
        )
    print(f"sweep index: {out}\nsweep table: {table}" + (f" and {parquet}" if parquet else ""))
    for png in pngs:
        print(f"sweep plot: {png}")


def _run_histories(path: Path):
    from .train.runs import read_metrics

    if not (path / "metrics.jsonl").exists():
        raise FileNotFoundError(f"{str(path)!r} has no metrics.jsonl (not a run directory, or no epoch done yet)")
    return read_metrics(path)


def _title(run_dir: Path) -> str:
    import yaml

    from .train.config import parse_config
    from .train.runs import run_title

    try:
        return run_title(parse_config(yaml.safe_load((run_dir / "config.yaml").read_text()), require_models=False))
    except Exception:  # no or foreign config: fall back to the directory name
        return run_dir.name


def _loss(run_dir: Path) -> str:
    import yaml

    try:
        return yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["loss"]
    except Exception:
        return "mse"


def _cmd_report(args) -> int:
    from .train.plotting import plot_shots_to_target
    from .train.report import report_table, sample_complexity
    from .train.results import write_csv
    from .train.sweeps import read_sweep_index

    path = Path(args.path)
    if path.is_file():
        runs = [Path(e["run_dir"]) for e in read_sweep_index(path)]
        out_dir = path.parent
        stem = path.stem
    else:
        runs, out_dir, stem = [path], path, "report"
    all_rows = []
    hists = [_run_histories(r) for r in runs]
    targets = _targets(args.target, hists)
    for run_dir, hist in zip(runs, hists):
        rows = sample_complexity(hist, targets, reference=args.reference)
        if len(runs) > 1:
            print(f"== {run_dir}")
        print(report_table(rows), end="")
        for r in rows:
            r["run"] = run_dir.name
        all_rows += rows
        if not args.no_plot and rows:
            png = plot_shots_to_target(
                rows, str(run_dir / "shots_to_target.png"), title=f"shots to target: {_title(run_dir)}"
            )
            print(f"plot: {png}")
    flat = [{k: (";".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()} for r in all_rows]
    if flat:
        csv_path = out_dir / (f"{stem}-shots_to_target.csv" if len(runs) > 1 else "shots_to_target.csv")
        print(f"table: {write_csv(flat, csv_path)}")
    return 0


def _cmd_compare(args) -> int:
    from .train.plotting import plot_loss_vs_shots

    merged = {}
    for p in args.run_dirs:
        for model, h in _run_histories(Path(p)).items():
            merged[f"{Path(p).name}/{model}"] = h
    out = args.out or "compare.png"
    title = "compare: " + ", ".join(_title(Path(p)) for p in args.run_dirs)
    print(plot_loss_vs_shots(merged, out, title=title, loss=_loss(Path(args.run_dirs[0]))))
    return 0


def _reference(run_dir: Path):
    """The exact ground energy of a ground-state run (None for other runs or an unreadable config)."""
    import yaml

    from .train.config import parse_config
    from .train.runs import exact_reference

    try:
        cfg = parse_config(yaml.safe_load((run_dir / "config.yaml").read_text()), require_models=False)
    except Exception:
        return None
    return exact_reference(cfg)


def _cmd_plot(args) -> int:
    from .train.runs import plot_run

    run_dir = Path(args.run_dir)
    hist = _run_histories(run_dir)
    init = run_dir / "initial.json"
    initial = json.loads(init.read_text()) if init.exists() else None
    for path in plot_run(
        hist, run_dir, _title(run_dir), loss=_loss(run_dir), reference=_reference(run_dir), initial=initial
    ):
        print(path)
    return 0


def _cmd_configs(args) -> int:
    if args.reference:
        from .train.config import config_reference

        print(config_reference(), end="")
        return 0
    shipped = shipped_configs()
    for name, path in shipped.items():
        first = next((ln[1:].strip() for ln in path.read_text().splitlines() if ln.startswith("#")), "")
        print(f"{name:12s} {first}")
    if shipped:
        print(f"files: {next(iter(shipped.values())).parent}")
    print("run one with: slpa-jax run NAME [--dry-run]; copy the file to edit it; keys: slpa-jax configs --reference")
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

    written = export_run(
        args.run_dir, fmt=args.format, out_dir=args.out, model=args.model, seed=args.seed, sample=args.sample
    )
    for path in written:
        print(path)
    return 0


def _catalogue_lines() -> list[str]:
    """``name (description)`` for every entry of the ansatz catalogue (``blocks.catalogue.ANSATZE``)."""
    from .blocks.catalogue import ANSATZE

    return [f"{name} ({spec.description})" for name, spec in ANSATZE.items()]


_SET_HELP = "override a config key, value parsed as YAML (e.g. train.epochs=5, models[0].n_params=48); repeatable"
_TARGET_HELP = (
    "a sample-complexity target METRIC<VALUE (loss: at or below) or METRIC>VALUE (accuracy: at or above), "
    "e.g. 'test_loss<0.05'; repeatable; default: the largest final test loss of any seed and model "
    "(and the smallest final test accuracy), so every seed reaches it"
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slpa-jax")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def _add_scale_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--devices",
        default=None,
        metavar="all|N|I,J,K",
        help="devices that train seeds and mini-batch samples in parallel: all (default), the first N, or device ids "
        "(config key train.devices)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="start jax.distributed (SLURM, Open MPI, ... detected): a run spans every process's devices and "
        "process 0 writes; a sweep gives process i of P the points i, i+P, ...",
    )
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT", help="with --distributed: process 0's address")
    p.add_argument("--num-processes", type=int, default=None, help="with --distributed: the number of processes")
    p.add_argument("--process-id", type=int, default=None, help="with --distributed: this process's id, 0..P-1")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``slpa-jax``."""
    p = argparse.ArgumentParser(
        prog="slpa-jax",
        description="SLPA / QNN shot-budget experiments in JAX. Start with: slpa-jax configs; "
        "slpa-jax run quickstart --dry-run",
    )
    p.add_argument("--version", action="version", version=f"slpa-jax {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="train the models of a config; resumes an interrupted run")
    r.add_argument("config", help="YAML config file, or a shipped config name (slpa-jax configs)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    r.add_argument("--run-dir", default=None, help="where to write (default OUTPUT_DIR/NAME from the config)")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved config, circuits per sample, shots per epoch and total shots; train nothing",
    )
    _add_scale_options(r)
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser(
        "sweep",
        help="run a grid over any config keys (list-valued shots / task.n_qubits / train.seed, a 'sweep:' "
        "mapping, or --over) and summarise it",
    )
    s.add_argument("config", help="YAML config file, or a shipped config name")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    s.add_argument(
        "--over",
        action="append",
        default=[],
        metavar="KEY=[V1,V2]",
        help="a sweep axis over any dotted key, e.g. train.lr=[0.001,0.01] or models[0].n_params=[24,48]; repeatable",
    )
    s.add_argument(
        "--run-dir",
        default=None,
        help="parent directory of the point run directories and the sweep files (default OUTPUT_DIR)",
    )
    s.add_argument("--target", action="append", default=[], metavar="METRIC<VALUE", help=_TARGET_HELP)
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    s.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="run only points I, I+N, I+2N, ... (0 <= I < N; one job of a job array); the sweep files are written "
        "when every point has finished",
    )
    s.add_argument(
        "--merge",
        action="store_true",
        help="run nothing: write the sweep files from the finished points (an error listing any missing point)",
    )
    _add_scale_options(s)
    s.set_defaults(func=_cmd_sweep)

    rp = sub.add_parser(
        "report",
        help="sample complexity: total shots per seed to reach targets, per model, spread over seeds, "
        "ratio between models",
    )
    rp.add_argument("path", help="a run directory, or a sweep index sweep-NAME.json (one report per point)")
    rp.add_argument("--target", action="append", default=[], metavar="METRIC<VALUE", help=_TARGET_HELP)
    rp.add_argument("--reference", default=None, help="model the ratios are taken against (default: the first)")
    rp.add_argument("--no-plot", action="store_true", help="do not write RUN_DIR/shots_to_target.png")
    rp.set_defaults(func=_cmd_report)

    c = sub.add_parser("compare", help="overlay the loss-vs-shots curves of several run directories")
    c.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    c.add_argument("--out", default=None, help="output PNG (default ./compare.png)")
    c.set_defaults(func=_cmd_compare)

    pl = sub.add_parser("plot", help="(re)draw the loss-vs-shots plot of a run directory (also mid-run)")
    pl.add_argument("run_dir")
    pl.set_defaults(func=_cmd_plot)

    cf = sub.add_parser("configs", help="list the shipped configs (run one by name)")
    cf.add_argument("--reference", action="store_true", help="print the config reference (docs/config.md)")
    cf.set_defaults(func=_cmd_configs)

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
    e.add_argument(
        "--sample", type=int, default=None, help="start every setting with this training sample's state preparation"
    )
    e.set_defaults(func=_cmd_export)
    return p


def _os_message(err: OSError) -> str:
    """One line naming the path: ``permission denied: 'runs/x/config.yaml'``."""
    if err.filename is None:
        return str(err)
    what = (err.strerror or type(err).__name__).lower()
    paths = repr(str(err.filename)) + (f" -> {str(err.filename2)!r}" if err.filename2 else "")
    return f"{what}: {paths}"


def main(argv=None) -> int:
    """Entry point of the ``slpa-jax`` console script; returns the exit code."""
    from .train.runs import RunLocked

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RunLocked, FloatingPointError) as err:
        # ConfigError is a ValueError; library ValueErrors name the argument and what was expected;
        # TrainingDiverged (a FloatingPointError) names the model, epoch and metric
        print(f"slpa-jax {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # missing file, permission denied, a path through a file, disk full
        print(f"slpa-jax {args.command}: error: {_os_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"slpa-jax {args.command}: interrupted; run the same command again to resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
