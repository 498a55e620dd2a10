"""Plots of run metrics (matplotlib, Agg backend): loss vs total shots spent, as the paper's Fig. 4,
and, for classification tasks, accuracy vs total shots spent.

Train loss dashed, test loss solid; the line is the mean over seeds, the band the min-max range
(the legend says so). A second panel shows the same curves against epochs, so exact (shot-free)
models appear too. Losses are evaluated exactly (no shot noise) after every epoch; the axis label
says so. The legend sits below the panels, so it never covers a curve, in up to four columns.
Histories are ``{model: {metric: (n_seeds, n_epochs) array}}`` (``runs.read_metrics``).

Also: ``plot_shots_to_target`` (``slpa-jax report``), ``plot_sweep_axis`` (final metric and shots to
a target against one swept key) and ``plot_sweep``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "plot_loss_vs_shots",
    "plot_accuracy_vs_shots",
    "plot_metric_vs_shots",
    "plot_sweep",
    "plot_shots_to_target",
    "plot_sweep_axis",
    "LOSS_LABELS",
    "PAPER_YLIM",
    "plot_loss_paper_format",
]

#: y-axis label of each loss (``train.loss``).
LOSS_LABELS = {
    "mse": "MSE loss (f - y)^2, evaluated exactly",
    "bce": "binary cross-entropy, evaluated exactly",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str, bottom: float = 0.0) -> str:
    """Lay out (leaving ``bottom`` of the figure to a legend), write the PNG and free the figure."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _legend_below(fig, handles, labels, n_seeds: int) -> float:
    """One legend under the panels, with an entry explaining the band; returns the figure fraction used."""
    from matplotlib.patches import Patch

    if n_seeds > 1:
        handles = [*handles, Patch(color="0.5", alpha=0.25)]
        labels = [*labels, f"line: mean over {n_seeds} seeds; band: min-max"]
    if not handles:
        return 0.0
    ncol = min(4, len(handles))
    rows = -(-len(handles) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    return min(0.45, 0.035 + 0.05 * rows)


def _band(ax, x, y, color, style, label):
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    ax.plot(x, y.mean(0), style, color=color, label=label)
    if y.shape[0] > 1:
        ax.fill_between(x, y.min(0), y.max(0), color=color, alpha=0.15, linewidth=0)


def plot_metric_vs_shots(
    histories: Mapping[str, Mapping[str, np.ndarray]],
    keys: Sequence[tuple[str, str]],
    path: str,
    *,
    ylabel: str,
    logy: bool = True,
    title: str = "",
) -> str:
    """Plot metrics per model against cumulative shots (left) and epochs (right).

    Args:
        histories: ``{model: {metric: (n_seeds, n_epochs)}}``; must hold ``"shots"``.
        keys: ``[(metric name, linestyle), ...]``; the line is the seed mean, the band min-max.
        path: output PNG path.
        ylabel, logy, title: axis label, log y-axis, figure title.

    Returns:
        ``path``. Models that spent no shots (exact estimators) appear only in the epoch panel.
    """
    plt = _plt()
    n_models = len(histories)
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11.0, 4.6 + 0.2 * max(0, n_models - 2)))
    any_shots = False
    n_seeds = 1
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        shots = np.atleast_2d(np.asarray(h["shots"], dtype=np.float64)).mean(0)
        epochs = np.arange(1, shots.shape[0] + 1)
        has_shots = bool(shots.size) and shots[0] > 0
        any_shots |= has_shots
        n_seeds = max(n_seeds, np.atleast_2d(np.asarray(h["shots"])).shape[0])
        for key, style in keys:
            if key not in h:
                continue
            label = f"{name} {key.replace('_', ' ')}"
            if has_shots:
                _band(ax_s, shots, h[key], color, style, label)
            _band(ax_e, epochs, h[key], color, style, label)
    ax_s.set_xlabel("total shots spent per seed (cumulative)")
    ax_e.set_xlabel("epoch")
    for ax in (ax_s, ax_e):
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    if any_shots:
        ax_s.set_xscale("log")
    else:
        ax_s.text(0.5, 0.5, "no shots spent (exact estimators)", ha="center", va="center", transform=ax_s.transAxes)
    handles, labels = ax_e.get_legend_handles_labels()
    bottom = _legend_below(fig, handles, labels, n_seeds)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path, bottom)


def plot_loss_vs_shots(histories, path: str, *, title: str = "", loss: str = "mse", reference=None) -> str:
    """Loss (log) vs total shots and vs epoch: train dashed, test solid, mean with min-max band over seeds.
    ``loss`` names the loss on the y axis. For ``energy`` with an exact ``reference`` energy E0 the
    plot shows the energy error ``<H> - E0`` (log); without one, the energy itself (linear)."""
    keys = [("train_loss", "--"), ("test_loss", "-")]
    if loss == "energy":
        if reference is None:
            ylabel = "energy <H>, evaluated exactly"
            return plot_metric_vs_shots(histories, keys, path, ylabel=ylabel, logy=False, title=title)
        shifted = {
            name: {**h, **{k: np.asarray(h[k], np.float64) - reference for k, _ in keys if k in h}}
            for name, h in histories.items()
        }
        ylabel = f"energy error <H> - E0, exact\n(E0 = {reference:.6g} by diagonalisation)"
        return plot_metric_vs_shots(shifted, keys, path, ylabel=ylabel, title=title)
    ylabel = LOSS_LABELS.get(loss, f"{loss} loss, evaluated exactly")
    return plot_metric_vs_shots(histories, keys, path, ylabel=ylabel, title=title)


#: The paper's Fig. 4 axes: total shots in units of 1e9 (linear), loss in [4e-5, 0.6] (log).
PAPER_YLIM = (4e-5, 0.6)


def plot_loss_paper_format(histories, path: str, *, title: str = "", initial=None) -> str:
    """Fig. 4 as the paper draws it: loss (log, ``PAPER_YLIM``) vs total shots per seed in units of 1e9
    (linear); test mean solid with a min-max band over seeds, train mean dashed.

    ``initial`` (``{model: {"train_loss": (S,), "test_loss": (S,)}}``, the epoch-0 losses) starts each
    curve at zero shots, as the paper's do.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    n_seeds = 1
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        shots = np.atleast_2d(np.asarray(h["shots"], dtype=np.float64)).mean(0) / 1e9
        n_seeds = max(n_seeds, np.atleast_2d(np.asarray(h["shots"])).shape[0])
        for key, style, band in (("test_loss", "-", True), ("train_loss", "--", False)):
            y = np.atleast_2d(np.asarray(h[key], dtype=np.float64))
            x = shots
            if initial is not None and name in initial:
                y = np.concatenate([np.asarray(initial[name][key], np.float64)[:, None], y], axis=1)
                x = np.concatenate([[0.0], shots])
            label = f"{name} {key.split('_')[0]}"
            ax.plot(x, y.mean(0), style, color=color, label=label)
            if band and y.shape[0] > 1:
                ax.fill_between(x, y.min(0), y.max(0), color=color, alpha=0.15, linewidth=0)
    ax.set_yscale("log")
    ax.set_ylim(*PAPER_YLIM)
    ax.set_xlim(left=0)
    ax.set_xlabel("total shots per seed (x 1e9)")
    ax.set_ylabel("MSE loss, evaluated exactly")
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    bottom = _legend_below(fig, handles, labels, n_seeds)
    if title:
        ax.set_title("Fig. 4 axes: " + title, fontsize=8)
    return _save(plt, fig, path, bottom)


def plot_accuracy_vs_shots(histories, path: str, *, title: str = "") -> str:
    """Classification accuracy (linear) vs total shots and vs epoch: train dashed, test solid, mean with
    min-max band over seeds. Models without ``train_accuracy`` / ``test_accuracy`` are skipped."""
    return plot_metric_vs_shots(
        histories,
        [("train_accuracy", "--"), ("test_accuracy", "-")],
        path,
        ylabel="sign accuracy of the exact output",
        logy=False,
        title=title,
    )


def plot_sweep(index: Sequence[Mapping], path: str, *, title: str = "") -> str:
    """Final test loss (seed mean, min-max error bars) vs total shots per seed, one marker per sweep point.

    Args:
        index: the sweep index, ``[{"run_dir", "point", "summary"}, ...]`` (``slpa-jax sweep`` writes it).
        path: output PNG path.

    Returns:
        ``path``.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    by_model: dict[str, list] = {}
    for entry in index:
        for name, s in entry["summary"]["models"].items():
            by_model.setdefault(name, []).append(s)
    for i, (name, rows) in enumerate(by_model.items()):
        x = np.array([max(s["shots_per_seed"], 1) for s in rows], dtype=np.float64)
        y = np.array([s["final_test_loss_mean"] for s in rows])
        lo = y - np.array([s["final_test_loss_min"] for s in rows])
        hi = np.array([s["final_test_loss_max"] for s in rows]) - y
        ax.errorbar(x, y, yerr=[lo, hi], fmt="o", color=f"C{i % 10}", label=name, capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("total shots spent per seed")
    ax.set_ylabel("final test loss (exact; marker: seed mean, bar: min-max)")
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    bottom = _legend_below(fig, handles, labels, 1)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(plt, fig, path, bottom)


def plot_shots_to_target(rows: Sequence[Mapping], path: str, *, title: str = "") -> str:
    """Shots per seed to reach each target (``report.sample_complexity`` rows): one panel per target,
    one column per model; dots are seeds (filled: first crossing, hollow: sustained), the bar spans
    min-max and the horizontal tick marks the median. Unreached seeds are counted in the x label."""
    plt = _plt()
    targets = list(dict.fromkeys(r["target"] for r in rows))
    fig, axes = plt.subplots(1, max(1, len(targets)), figsize=(4.8 * max(1, len(targets)), 4.4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        block = [r for r in rows if r["target"] == target]
        models = list(dict.fromkeys(r["model"] for r in block))
        ticks = []
        for j, model in enumerate(models):
            reached = []
            for r in (r for r in block if r["model"] == model):
                off = -0.12 if r["crossing"] == "first" else 0.12
                y = np.asarray(r["shots_per_seed"], dtype=np.float64)
                y = y[np.isfinite(y)]
                face = f"C{j % 10}" if r["crossing"] == "first" else "none"
                ax.plot(np.full(y.shape, j + off), y, "o", mfc=face, mec=f"C{j % 10}", ms=5)
                if y.size:
                    ax.plot([j + off, j + off], [y.min(), y.max()], "-", color=f"C{j % 10}", lw=1)
                if math.isfinite(r["median"]):
                    ax.plot([j + off - 0.08, j + off + 0.08], [r["median"]] * 2, "-", color="k", lw=2)
                reached.append(f"{r['reached']}/{r['n_seeds']}")
            ticks.append(f"{model}\n{' | '.join(reached)}")  # short: long tick labels overlap their neighbours
        ax.set_xticks(range(len(models)), ticks, fontsize=8)
        ax.set_xlabel("model; seeds reached: first | sustained crossing", fontsize=8)
        ax.set_xlim(-0.6, len(models) - 0.4)
        if any(np.isfinite(r["shots_per_seed"]).any() for r in block):
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no seed reached this target", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel("total shots per seed to reach the target")
        ax.set_title(f"{target}", fontsize=9)
        ax.grid(True, axis="y", which="both", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", ls="", color="0.3", label="seed, first crossing"),
        Line2D([], [], marker="o", ls="", mfc="none", color="0.3", label="seed, sustained to the last epoch"),
        Line2D([], [], ls="-", color="k", lw=2, label="median over seeds; line: min-max"),
    ]
    bottom = _legend_below(fig, handles, [h.get_label() for h in handles], 1)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path, bottom)


def plot_sweep_axis(
    summary: Mapping[str, Sequence[Mapping]], axis: str, path: str, *, metric: str = "test_loss", target=None, title=""
) -> str:
    """Final ``metric`` (left) and, with a ``target``, shots per seed to reach it (right) against the
    values of one swept ``axis`` (``sweeps.axis_summary``): marker = mean over seeds and other axes,
    bar = min-max. Non-numeric axis values are placed at equal spacing."""
    plt = _plt()
    n_panels = 2 if target is not None else 1
    fig, axes = plt.subplots(1, n_panels, figsize=(5.6 * n_panels, 4.4), squeeze=False)
    values = [rec["value"] for recs in summary.values() for rec in recs]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    order = list(dict.fromkeys(map(repr, values)))
    for i, (model, recs) in enumerate(summary.items()):
        x = np.array([rec["value"] if numeric else order.index(repr(rec["value"])) for rec in recs], dtype=np.float64)
        for ax, key in zip(axes[0], ("final", "shots")):
            m = np.array([rec[key]["mean"] for rec in recs])
            lo = m - np.array([rec[key]["min"] for rec in recs])
            hi = np.array([rec[key]["max"] for rec in recs]) - m
            ax.errorbar(x, m, yerr=[lo, hi], fmt="o-", color=f"C{i % 10}", label=model, capsize=3)
    for ax in axes[0]:
        ax.set_xlabel(axis)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        if numeric and len(set(values)) > 2 and min(values) > 0 and max(values) / min(values) >= 100:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(order)), order, fontsize=8)
    axes[0][0].set_ylabel(f"final {metric.replace('_', ' ')} (exact)")
    if target is not None:
        axes[0][1].set_ylabel(f"shots per seed to reach {target}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles = list(handles)
    labels = [*labels]
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], marker="o", ls="", color="0.4"))
    labels.append("marker: mean over seeds (and other axes); bar: min-max")
    bottom = _legend_below(fig, handles, labels, 1)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path, bottom)
