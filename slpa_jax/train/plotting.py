"""Plots of run metrics (matplotlib, Agg backend): loss vs total shots spent, as the paper's Fig. 4,
and, for classification tasks, accuracy vs total shots spent.

Train loss dashed, test loss solid; the line is the mean over seeds, the band the min-max range.
A second panel shows the same curves against epochs, so exact (shot-free) models appear too.
Histories are ``{model: {metric: (n_seeds, n_epochs) array}}`` (``runs.read_metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_loss_vs_shots", "plot_accuracy_vs_shots", "plot_metric_vs_shots", "plot_sweep"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str) -> str:
    """Lay out, write the PNG and free the figure; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11.0, 4.4))
    any_shots = False
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        shots = np.atleast_2d(np.asarray(h["shots"], dtype=np.float64)).mean(0)
        epochs = np.arange(1, shots.shape[0] + 1)
        has_shots = bool(shots.size) and shots[0] > 0
        any_shots |= has_shots
        for key, style in keys:
            if key not in h:
                continue
            label = f"{name} {key.replace('_', ' ')}"
            if has_shots:
                _band(ax_s, shots, h[key], color, style, label)
            _band(ax_e, epochs, h[key], color, style, label)
    ax_s.set_xlabel("total shots spent (per seed)")
    ax_e.set_xlabel("epoch")
    for ax in (ax_s, ax_e):
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    if any_shots:
        ax_s.set_xscale("log")
        ax_s.legend(fontsize=8)
    else:
        ax_s.text(0.5, 0.5, "no shots spent (exact estimators)", ha="center", va="center", transform=ax_s.transAxes)
    ax_e.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(plt, fig, path)


def plot_loss_vs_shots(histories, path: str, *, title: str = "") -> str:
    """Loss (log) vs total shots and vs epoch: train dashed, test solid, mean with min-max band over seeds."""
    return plot_metric_vs_shots(histories, [("train_loss", "--"), ("test_loss", "-")], path, ylabel="loss", title=title)


def plot_accuracy_vs_shots(histories, path: str, *, title: str = "") -> str:
    """Classification accuracy (linear) vs total shots and vs epoch: train dashed, test solid, mean with
    min-max band over seeds. Models without ``train_accuracy`` / ``test_accuracy`` are skipped."""
    return plot_metric_vs_shots(
        histories,
        [("train_accuracy", "--"), ("test_accuracy", "-")],
        path,
        ylabel="accuracy",
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
    ax.set_xlabel("total shots spent (per seed)")
    ax.set_ylabel("final test loss")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return _save(plt, fig, path)
