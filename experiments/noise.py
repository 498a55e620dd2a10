"""Does the SLPA's shot advantage survive noise? Fig. 4 models under depolarizing noise and readout error.

One ordinary run directory per noise point (``runs.run_experiment``; checkpoints every epoch, so an
interrupted study resumes where it stopped): the config's models (default ``configs/fig4_noise.yaml``:
SLPA with the ancilla block gradient, SC with parameter shift, SLPA with the ancilla-free block
gradient) at ``p2`` in ``--p2`` with ``p1 = p2 / 10`` and readout error ``--readout``, in the order
given, then NSC (parameter shift; expressivity-limited, it never reaches the target) in its own
run directories with ``--nsc-epochs`` epochs. Every noisy point uses the config's exact
density-matrix path; the ``p2 = 0`` point (readout error only) uses one Pauli trajectory per
setting, which is exact when no gate carries noise (every trajectory is the noiseless state) and
costs a noiseless run, so it affords ``--p0-seeds`` seeds.

Then ``--summarize`` (also run after training) reads every run directory and writes into ``--out``:

* ``table.md``: per (model, p2) the final test MSE of the trained parameters on the ideal model (the
  training loop's metric), median [min, max] over seeds; the test MSE of the noisy model's exact
  output (density matrix, readout included: what the noisy device predicts with infinitely many
  shots); the shots per seed to reach ``--target`` (``train.report.sample_complexity``, first
  crossing, as ``slpa-jax report``) and its ratio to the SLPA (ancilla) at the same point;
* ``noise_mse.png``, ``noise_shots.png`` (``--img`` copies them for docs/noise.md).

``slpa-jax report runs/noise/p2-0.001 --target 'test_loss<1e-3'`` prints the shots-to-target table
of one point.

    python experiments/noise.py --out runs/noise   # every point, 3 seeds, 15 epochs: ~4 h on 2 busy cores
    # what docs/noise.md ran (3 seeds everywhere; fewer epochs at p2 > 0), two processes at a time:
    python experiments/noise.py --out runs/noise --p2 0 --train-only
    python experiments/noise.py --out runs/noise --p2 0.001 --epochs 10 --no-nsc --train-only
    python experiments/noise.py --out runs/noise --p2 0.01 --epochs 6 --no-nsc --train-only
    python experiments/noise.py --out runs/noise --p2 0.0001 --epochs 6 --models SLPA-ancilla SC --no-nsc --train-only
    python experiments/noise.py --out runs/noise --p2 0.001 0.01 0.0001 --nsc-only --train-only
    python experiments/noise.py --summarize --out runs/noise --img docs/img
    python experiments/noise.py --fake FakeManilaV2 --out runs/noise   # + a short SLPA run on a fake IBM device
    python experiments/noise.py --attenuation --out runs/noise    # exact gradient attenuation at random parameters
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from slpa_jax.noise import noisy_estimate_expectation
from slpa_jax.train.config import load_config, parse_config
from slpa_jax.train.models import noise_model_from_config
from slpa_jax.train.report import Target, sample_complexity
from slpa_jax.train.runs import build_dataset, build_model, load_run, read_metrics, run_experiment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "slpa_jax" / "train" / "configs" / "fig4_noise.yaml"
NSC = "models=[{name: NSC, ansatz: nsc, estimator: param_shift, n_params: 96}]"
REFERENCE = "SLPA-ancilla"
MODELS = (REFERENCE, "SC", "SLPA-ancilla-free", "NSC")


def point_name(p2: float, nsc: bool = False) -> str:
    """Run directory name of a noise point: ``p2-0.001``, ``p2-0.001-nsc``."""
    return f"p2-{p2:g}" + ("-nsc" if nsc else "")


def point_overrides(
    p2: float, readout: float, *, nsc: bool = False, nsc_epochs: int = 5, p0_seeds: int = 3, seeds: int = 3
):
    """Config overrides (``--set`` strings) of a noise point; the same strings as the shell commands
    in docs/noise.md, so a run directory started by hand resumes here and vice versa. ``seeds`` is
    ``train.n_seeds`` at p2 > 0 (seeds 0..seeds-1, vmapped; seed s starts as seed s of p2 = 0)."""
    out = [f"noise.p2={p2!r}", f"noise.p1={p2 / 10!r}", f"noise.readout={readout!r}"]
    if p2 == 0:  # no gate noise: one trajectory is the exact state, at the cost of a noiseless run
        out += ["noise.method=trajectories", "noise.trajectories=1", f"train.n_seeds={p0_seeds}"]
    else:
        out.append(f"train.n_seeds={seeds}")
    if nsc:
        out.append(NSC)
        if p2 > 0:
            out.append(f"train.epochs={nsc_epochs}")
    return out


def point_config(a, p2: float, nsc: bool = False):
    """The validated config of a noise point; at p2 > 0 (not NSC) ``a.epochs`` and ``a.models``
    (a subset of the config's models, which keep their positions, hence their random keys) apply."""
    seeds = getattr(a, "seeds", 3)
    d = load_config(
        a.config,
        point_overrides(p2, a.readout, nsc=nsc, nsc_epochs=a.nsc_epochs, p0_seeds=a.p0_seeds, seeds=seeds),
    )
    if p2 > 0 and not nsc:
        if getattr(a, "epochs", None) is not None:
            d["train"]["epochs"] = a.epochs
        if getattr(a, "models", None):
            unknown = sorted(set(a.models) - {m["name"] for m in d["models"]})
            if unknown:
                raise SystemExit(f"--models: {unknown} not in the config's models {[m['name'] for m in d['models']]}")
            keep = [m for m in d["models"] if m["name"] in a.models]
            if keep != d["models"][: len(keep)]:
                raise SystemExit("--models: a leading run of the config's models (keys follow positions)")
            d["models"] = keep
    return parse_config(d)


def noisy_test_mse(cfg, model, params, data) -> list[float]:
    """Per seed, the test MSE of the noisy model's exact output (density matrix, readout included)."""
    nm = noise_model_from_config(cfg.noise, model.n_qubits)
    xs, ys = jnp.asarray(data.test_states), jnp.asarray(data.test_labels)

    def one(p):
        f = jax.vmap(lambda s: noisy_estimate_expectation(model.circuit, p, model.observable, nm, state=s)[0])(xs)
        return jnp.mean((f - ys) ** 2)

    return [float(v) for v in jax.jit(jax.vmap(one))(jnp.asarray(params))]


def collect(out: Path, targets) -> list[dict]:
    """One row per (model, noise point) from the run directories under ``out`` (finished or not)."""
    cache_path = out / "noisy_test_mse.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    rows = []
    for run_dir in sorted(p for p in out.glob("p2-*") if (p / "metrics.jsonl").exists()):
        cfg, models, params = load_run(run_dir)
        hist = read_metrics(run_dir)
        data = None
        reach = sample_complexity(hist, [Target("test_loss", "below", t) for t in targets])
        for name, h in hist.items():
            epochs = int(np.asarray(h["test_loss"]).shape[1])
            key = f"{run_dir.name}/{name}/{epochs}"
            if key not in cache and name in models and cfg.noise is not None:
                data = build_dataset(cfg) if data is None else data
                cache[key] = noisy_test_mse(cfg, models[name], params[name], data)
                cache_path.write_text(json.dumps(cache, indent=1))
            te = np.asarray(h["test_loss"], dtype=float)
            shots = np.asarray(h["shots"], dtype=float)
            first = [r for r in reach if r["model"] == name and r["crossing"] == "first"]
            rows.append(
                {
                    "model": name,
                    "p2": cfg.noise.p2,
                    "run_dir": run_dir.name,
                    "epochs": epochs,
                    "planned_epochs": cfg.train.epochs,
                    "seeds": int(te.shape[0]),
                    "circuits_per_sample": int(round(shots[0, 0] / (cfg.shots * cfg.task.n_train))),
                    "shots_per_circuit": cfg.shots,
                    "test_mse": te.tolist(),
                    "shots": shots.tolist(),
                    "final_test_mse": te[:, -1].tolist(),
                    "final_noisy_test_mse": cache.get(key),
                    # first crossing, as `slpa-jax report`; NaN = not reached in the epochs run
                    "shots_to_target": {f"{r['threshold']:g}": r["shots_per_seed"] for r in first},
                    "epochs_to_target": {f"{r['threshold']:g}": r["epochs_per_seed"] for r in first},
                }
            )
    return rows


def _median_shots(shots) -> float:
    """Median over seeds with an unreached seed as infinitely many shots (as ``slpa-jax report``)."""
    x = np.asarray(shots, dtype=float)
    return float(np.median(np.where(np.isfinite(x), x, np.inf)))


def _fmt(x) -> str:
    return "never" if not np.isfinite(x) else f"{x:.3g}"


def _reach_cell(shots) -> str:
    """``k/n: median [min, max]`` shots per seed; an unreached seed counts as never (infinitely many)."""
    st = np.asarray(shots, dtype=float)
    hit = np.isfinite(st)
    cell = f"{hit.sum()}/{len(st)}: {_fmt(_median_shots(st))}"
    if hit.any() and len(st) > 1:
        cell += f" [{_fmt(np.nanmin(st))}, {_fmt(np.max(np.where(hit, st, np.inf)))}]"
    return cell


def write_table(rows: list[dict], out: Path, targets) -> str:
    """Markdown table (``out/table.md``): one line per (noise point, model); a column of shots to
    each target (first crossing) and the ratio of medians to the SLPA (ancilla) at the same point."""
    keys = [f"{t:g}" for t in targets]
    ref = {r["p2"]: r["shots_to_target"] for r in rows if r["model"] == REFERENCE}
    lines = [
        "| p2 | model | circuits/sample | seeds | epochs | final test MSE, median [min, max] | noisy-model test MSE | "
        + " | ".join(f"shots to {k}: reached, median [min, max] (ratio)" for k in keys)
        + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(keys),
    ]
    for r in sorted(rows, key=lambda r: (r["p2"], MODELS.index(r["model"]) if r["model"] in MODELS else 9)):
        te = np.asarray(r["final_test_mse"])
        noisy = "-" if r["final_noisy_test_mse"] is None else f"{np.median(r['final_noisy_test_mse']):.3g}"
        epochs = f"{r['epochs']}" + ("" if r["epochs"] == r["planned_epochs"] else f" of {r['planned_epochs']}")
        cells = []
        for k in keys:
            med = _median_shots(r["shots_to_target"][k])
            rr = _median_shots(ref[r["p2"]][k]) if r["p2"] in ref else np.nan
            ratio = f" ({med / rr:.3g})" if np.isfinite(med) and np.isfinite(rr) else ""
            cells.append(_reach_cell(r["shots_to_target"][k]) + ratio)
        lines.append(
            f"| {r['p2']:g} | {r['model']} | {r['circuits_per_sample']} | {r['seeds']} | {epochs} | "
            f"{np.median(te):.3g} [{te.min():.3g}, {te.max():.3g}] | {noisy} | " + " | ".join(cells) + " |"
        )
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def _x(p2: float, floor: float) -> float:
    return p2 if p2 > 0 else floor


def plot(rows: list[dict], out: Path, targets) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    colors = {m: f"C{i}" for i, m in enumerate(MODELS)}
    p2s = sorted({r["p2"] for r in rows})
    floor = min([p for p in p2s if p > 0] + [1e-4]) / 10
    ticks = [_x(p, floor) for p in p2s]
    eps = {p: sorted({r["epochs"] for r in rows if r["p2"] == p}, reverse=True) for p in p2s}
    labels = [("0" if p == 0 else f"{p:g}") + "\n" + "/".join(map(str, eps[p])) + " epochs" for p in p2s]
    shots = rows[0]["shots_per_circuit"]
    seeds = sorted({(r["p2"] > 0, r["seeds"]) for r in rows})
    seed_text = ", ".join(f"{s} seed{'s' if s > 1 else ''} at {'p2 > 0' if z else 'p2 = 0'}" for z, s in seeds)
    subtitle = f"n = 4, N = {shots:,} shots per circuit, {seed_text}; readout error 1e-2 everywhere, p1 = p2/10"
    jitter = {m: 1 + 0.07 * (i - 1.5) for i, m in enumerate(MODELS)}

    def series(name, values):
        mine = sorted((r for r in rows if r["model"] == name and values(r) is not None), key=lambda r: r["p2"])
        x = np.array([_x(r["p2"], floor) * jitter[name] for r in mine])
        return mine, x, [np.asarray(values(r), dtype=float) for r in mine]

    def log_p2_axis(ax):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ticks, labels)
        ax.minorticks_off()
        ax.set_xlabel("p2 (depolarizing per qubit after each weight>=2 rotation)")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, title in (
        (axes[0], "final_test_mse", "trained parameters on the ideal model"),
        (axes[1], "final_noisy_test_mse", "noisy model's exact output (density matrix)"),
    ):
        for name in models:
            mine, x, v = series(name, lambda r, k=key: r[k])
            if not mine:
                continue
            med = np.array([np.median(a) for a in v])
            lo, hi = med - [a.min() for a in v], [a.max() for a in v] - med
            ax.errorbar(x, med, yerr=[lo, hi], marker="o", capsize=3, color=colors[name], label=name)
            for xi, a in zip(x, v):
                ax.plot([xi] * len(a), a, ".", color=colors[name], alpha=0.4, ms=4)
        ax.axhline(targets[-1], color="gray", lw=0.8, ls="--")
        log_p2_axis(ax)
        ax.set_title(f"final test MSE: {title}", fontsize=9)
    axes[0].set_ylabel("test MSE after the last epoch")
    axes[0].legend(fontsize=8, title="marker: median; bar: min-max; dots: seeds", title_fontsize=7)
    fig.suptitle(f"Fig. 4 task under noise: {subtitle}", fontsize=9)
    fig.tight_layout()
    paths = [out / "noise_mse.png"]
    fig.savefig(paths[0], dpi=80)
    plt.close(fig)

    shown = list(reversed(targets[-3:]))  # the main target first, then the looser ones
    ncols = 2 if len(shown) >= 2 else len(shown) + 1
    nrows = -(-(len(shown) + 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4.2 * nrows), squeeze=False)
    axes = list(axes.ravel())
    for ax in axes[len(shown) + 1 :]:
        ax.set_visible(False)
    top = max(np.nanmax(np.asarray(r["shots"])) for r in rows) * 2
    for ax, t in zip(axes, shown):
        for name in models:
            mine, x, v = series(name, lambda r, k=f"{t:g}": r["shots_to_target"][k])
            if not mine:
                continue
            med = np.array([_median_shots(a) for a in v])
            ok = np.isfinite(med)
            ax.plot(x, np.where(ok, med, np.nan), "o-", color=colors[name], label=name)
            ax.plot(x[~ok], [top] * int((~ok).sum()), "v", mfc="none", color=colors[name], ms=8)
            for xi, a in zip(x, v):
                hit = np.isfinite(a)
                ax.plot([xi] * int(hit.sum()), a[hit], ".", color=colors[name], alpha=0.5, ms=5)
                if hit.any() and len(a) > 1:
                    ax.vlines(xi, a[hit].min(), np.max(np.where(hit, a, top)), color=colors[name], lw=1)
        ax.axhline(top, color="gray", lw=0.6, ls=":")
        ax.text(0.02, 0.02, "open triangle at the top: not reached", transform=ax.transAxes, fontsize=7, color="gray")
        log_p2_axis(ax)
        ax.set_ylabel(f"shots per seed to test MSE {t:g}")
        ax.set_title(f"shots to test MSE {t:g} (line: median; bar: seed range; dots: seeds)", fontsize=9)
        ax.legend(fontsize=7, loc="center left")
    ax = axes[len(shown)]
    styles = ["-", "--", "-.", ":", (0, (1, 1))]
    for name in models:
        for r in sorted((r for r in rows if r["model"] == name), key=lambda r: r["p2"]):
            sh = np.median(np.asarray(r["shots"]), axis=0)
            te = np.median(np.asarray(r["test_mse"]), axis=0)
            ax.plot(sh, te, ls=styles[p2s.index(r["p2"]) % len(styles)], color=colors[name], lw=1.2)
    for name in models:
        ax.plot([], [], color=colors[name], label=name)
    for i, p in enumerate(p2s):
        ax.plot([], [], color="k", ls=styles[i % len(styles)], label=f"p2 = {p:g}")
    ax.axhline(targets[-1], color="gray", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("shots spent per seed")
    ax.set_ylabel("test MSE (ideal model), median over seeds")
    ax.set_title("learning curves: colour = model, line style = p2", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"Fig. 4 task under noise: {subtitle}", fontsize=9)
    fig.tight_layout()
    paths.append(out / "noise_shots.png")
    fig.savefig(paths[1], dpi=80)
    plt.close(fig)
    return paths


def summarize(a, out: Path) -> None:
    rows = collect(out, a.targets)
    if not rows:
        raise SystemExit(f"noise.py --summarize: no run directories p2-* with metrics under {str(out)!r}")
    (out / "results.json").write_text(json.dumps(rows))
    print(write_table(rows, out, a.targets))
    for path in plot(rows, out, a.targets):
        if a.img is not None:
            Path(a.img).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(a.img) / path.name)
        print(f"plot: {path}")


def train_points(a, out: Path) -> None:
    jobs = [] if a.nsc_only else [(p2, False) for p2 in a.p2]
    jobs += [(p2, True) for p2 in a.p2] if a.nsc or a.nsc_only else []
    for p2, nsc in jobs:
        cfg = point_config(a, p2, nsc)
        t0 = time.perf_counter()
        run_experiment(cfg, out / point_name(p2, nsc), progress=False)
        print(f"{point_name(p2, nsc)}: {time.perf_counter() - t0:.0f} s", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    p.add_argument("--p2", type=float, nargs="+", default=[0.0, 1e-3, 1e-2, 1e-4], help="noise points, in run order")
    p.add_argument("--readout", type=float, default=1e-2)
    p.add_argument("--p0-seeds", type=int, default=3, help="seeds at p2 = 0 (trajectories, cheap)")
    p.add_argument("--seeds", type=int, default=3, help="seeds at p2 > 0 (vmapped; paired with p2 = 0's)")
    p.add_argument("--nsc-epochs", type=int, default=5, help="NSC epochs at p2 > 0 (it never reaches the target)")
    p.add_argument("--no-nsc", dest="nsc", action="store_false", help="skip the NSC run directories")
    p.add_argument("--nsc-only", action="store_true", help="only the NSC run directories")
    p.add_argument("--epochs", type=int, default=None, help="train.epochs at p2 > 0 (default: the config's)")
    p.add_argument("--models", nargs="+", default=None, help="at p2 > 0 only these models (a leading run)")
    p.add_argument(
        "--targets",
        type=float,
        nargs="+",
        default=[5e-2, 3e-2, 1e-2, 3e-3, 1e-3],
        help="test MSE targets, the main one last",
    )
    p.add_argument("--summarize", action="store_true", help="only read the run directories: table and plots")
    p.add_argument("--train-only", action="store_true", help="train the points, no table and plots")
    p.add_argument("--img", default=None, help="also copy the plots into this folder (docs/img)")
    p.add_argument("--fake", default=None, help="only a short SLPA run on this fake IBM backend")
    p.add_argument("--fake-epochs", type=int, default=5)
    p.add_argument("--fake-train", type=int, default=8)
    p.add_argument("--out", default="runs/noise")
    p.add_argument(
        "--attenuation",
        action="store_true",
        help="only the analysis tables: exact gradient attenuation, trajectory variance, output slopes",
    )
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.attenuation:
        attenuation(a, out)
        print(trajectory_variance(a, out))
        if (out / point_name(0.0)).exists() and (out / point_name(0.0, nsc=True)).exists():
            print(output_slopes(a, out))
    elif a.fake:
        fake_run(a, out)
    else:
        if not a.summarize:
            train_points(a, out)
        if not a.train_only:
            summarize(a, out)


def fake_run(a, out: Path) -> None:
    """A short SLPA run (ancilla block gradient) on a fake IBM device through the backend estimator:
    an ordinary run directory ``out/fake``, the 25 settings transpiled once for the device and run on
    Aer with the device's noise model, 200 shots per circuit."""
    import slpa_jax.export.backend  # noqa: F401  (registers the Qiskit backend builder)

    overrides = [
        "noise=null",
        f"backend={{fake: {a.fake}}}",
        f"models=[{{name: {REFERENCE}, ansatz: slpa, estimator: ancilla, n_params: 96}}]",
        f"train.epochs={a.fake_epochs}",
        "train.n_seeds=1",
        f"task.n_train={a.fake_train}",
        "task.n_test=10",
        "shots=200",
    ]
    cfg = parse_config(load_config(a.config, overrides))
    t0 = time.perf_counter()
    run_experiment(cfg, out / "fake", progress=False)
    secs = time.perf_counter() - t0
    h = read_metrics(out / "fake")[REFERENCE]
    info = {
        "backend": a.fake,
        "model": REFERENCE,
        "epochs": int(np.asarray(h["test_loss"]).shape[1]),
        "n_train": cfg.task.n_train,
        "shots_per_circuit": cfg.shots,
        "test_mse": np.asarray(h["test_loss"])[0].tolist(),
        "shots": np.asarray(h["shots"])[0].tolist(),
        "seconds_this_call": secs,
    }
    (out / "fake.json").write_text(json.dumps(info))
    print(f"fake backend {a.fake}: test MSE {info['test_mse']} after {info['shots']} shots [{secs:.0f} s]", flush=True)


def attenuation(a, out):
    """Exact (density-matrix, no shots) noisy gradients of every model at random parameters vs the
    noiseless ones: norm ratio and cosine, with each scheme's circuit sizes (why the advantage moves)."""
    from slpa_jax.blocks.gradient import block_measurements
    from slpa_jax.blocks.noisy_gradient import noisy_block_gradient
    from slpa_jax.noise import noisy_param_shift_grad
    from slpa_jax.noise.program import lower_noisy

    cfg0 = parse_config(load_config(a.config, ["noise=null"]))
    data = build_dataset(cfg0)
    state = jnp.asarray(data.train_states[0])
    noisy = [p for p in a.p2 if p > 0]
    lines = [
        "| model | circuits/sample | qubits | rotations per circuit | noisy qubit slots per circuit | "
        + " | ".join(f"p2={p:g}: norm ratio, cosine" for p in noisy)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(noisy),
    ]
    specs = [(cfg0, i) for i in range(len(cfg0.models))]
    specs.append((parse_config(load_config(a.config, ["noise=null", NSC])), 0))
    for cfg_m, i in specs:
        base = build_model(cfg_m, i)
        kind = base.estimator.kind
        params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, base.n_params))
        if kind in ("ancilla", "ancilla_free"):
            circuits = [m.circuit for m in block_measurements(base.block_circuit, kind)]
        else:
            circuits = [base.circuit]
        cells, ref, slots = [], None, 0
        for p2 in [0.0, *noisy]:
            cfg = parse_config(load_config(a.config, ["noise.method=density", *point_overrides(p2, a.readout)[:3]]))
            nm = noise_model_from_config(cfg.noise, base.n_qubits, ancilla=kind == "ancilla")
            if kind in ("ancilla", "ancilla_free"):
                g, _ = noisy_block_gradient(base.block_circuit, params, nm, scheme=kind, state=state)
            else:
                g, _ = noisy_param_shift_grad(base.circuit, params, base.observable, nm, state=state)
            g = np.asarray(g)
            if ref is None:
                ref = g
                continue
            slots = np.mean([(lower_noisy(c, nm).qubits >= 0).sum() for c in circuits])
            norm, cos = np.linalg.norm(g) / np.linalg.norm(ref), g @ ref / np.linalg.norm(g) / np.linalg.norm(ref)
            cells.append(f"{norm:.3f}, {cos:.3f}")
        lines.append(
            f"| {cfg_m.models[i].name} | {base.estimator.circuits_per_call} | {circuits[0].n_qubits} | "
            f"{np.mean([c.num_rotations for c in circuits]):.0f} | {slots:.0f} | " + " | ".join(cells) + " |"
        )
    text = "\n".join(lines) + "\n"
    (out / "attenuation.md").write_text(text)
    print(text)


def output_slopes(a, out: Path) -> str:
    """Value attenuation: least-squares slope of the noisy model's exact output (density matrix, readout
    included) on the ideal output over the test states, at the parameters trained at p2 = 0 (seed 0 of
    ``out/p2-0`` and ``out/p2-0-nsc``), per model and p2; with the noisy- and ideal-model test MSE."""
    from slpa_jax.core.simulator import expectation
    from slpa_jax.noise import NoiseModel

    lines = ["| model | " + " | ".join(f"p2={p:g}: slope, noisy-model test MSE" for p in a.p2) + " |"]
    lines.append("|---|" + "---|" * len(a.p2))
    for name_dir in (point_name(0.0), point_name(0.0, nsc=True)):
        cfg, models, params = load_run(out / name_dir)
        data = build_dataset(cfg)
        xs, ys = jnp.asarray(data.test_states), np.asarray(data.test_labels)
        for name, m in models.items():
            th = jnp.asarray(params[name][0])
            ideal = np.asarray(jax.vmap(lambda s, m=m, th=th: expectation(m.circuit, th, m.observable, state=s))(xs))
            cells = []
            for p2 in a.p2:
                nm = NoiseModel(p1=p2 / 10, p2=p2, readout_01=a.readout, readout_10=a.readout)

                def one(s, m=m, th=th, nm=nm):
                    return noisy_estimate_expectation(m.circuit, th, m.observable, nm, state=s)[0]

                f = np.asarray(jax.jit(jax.vmap(one))(xs))
                cells.append(f"{float(f @ ideal / (ideal @ ideal)):.3f}, {np.mean((f - ys) ** 2):.2e}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "output_slopes.md").write_text(text)
    return text


def trajectory_variance(a, out: Path, trajectories: int = 400) -> str:
    """Why the study uses the density path: per-trajectory <X0 X1> of the SLPA and SC model circuits
    at random parameters (one training state), Var_t over single trajectories, and the variance of a
    T = 16 trajectory estimate over the physical (density) one, ``1 + Var_t (1/16 - 1/N) / ((1 - mu^2) / N)``."""
    from slpa_jax.measure.diagonalize import diagonalize_commuting
    from slpa_jax.noise import NoiseModel, density_probabilities, trajectory_probabilities

    cfg = parse_config(load_config(a.config, ["noise=null"]))
    state = jnp.asarray(build_dataset(cfg).train_states[0])
    diag = diagonalize_commuting(["XXII"])
    bits = np.array([[(j >> (3 - q)) & 1 for q in range(4)] for j in range(16)])
    parity = int(diag.signs[0]) * (-1.0) ** (bits @ np.asarray(diag.z_masks[0]))
    lines = [
        "| model | p2 | Var_t | variance with T = 16 / physical, N = 1,000 | N = 10,000 |",
        "|---|---|---|---|---|",
    ]
    for i in (0, 1):
        m = build_model(cfg, i)
        th = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, m.n_params), jnp.float32)
        for p2 in [p for p in a.p2 if p > 0]:
            nm = NoiseModel(p1=p2 / 10, p2=p2, readout_01=a.readout, readout_10=a.readout)

            def one(k, m=m, th=th, nm=nm):
                return trajectory_probabilities(m.circuit, th, nm, diag, key=k, trajectories=1, state=state)

            mu_t = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(1), trajectories))) @ parity
            mu = float(np.asarray(density_probabilities(m.circuit, th, nm, diag, state=state)) @ parity)
            vt = float(mu_t.var(ddof=1))
            ratios = [1 + vt * (1 / 16 - 1 / n) / ((1 - mu**2) / n) for n in (1000, 10000)]
            lines.append(f"| {cfg.models[i].name} | {p2:g} | {vt:.2g} | {ratios[0]:.2f} | {ratios[1]:.2f} |")
    text = "\n".join(lines) + "\n"
    (out / "trajectory_variance.md").write_text(text)
    return text


if __name__ == "__main__":
    main()
