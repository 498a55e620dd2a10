"""Plots of run metrics (matplotlib, Agg backend): loss vs total shots spent, as the paper's Fig. 4.

Train loss dashed, test loss solid; the line is the mean over seeds, the band the min-max range.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_loss_vs_shots", "plot_metric_vs_shots"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric_vs_shots(
    histories: Mapping[str, Mapping[str, np.ndarray]], keys, path: str, *, ylabel: str, logy: bool = True,
    title: str = "",
) -> str:
    """Plot ``history[key]`` (n_seeds, n_epochs) against ``history["shots"]`` (n_epochs,) per model.

    ``keys``: list of (metric name, linestyle); the line is the seed mean, the band min-max.
    Returns the written path (PNG).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        shots = np.asarray(h["shots"], dtype=np.float64)
        for key, style in keys:
            if key not in h:
                continue
            y = np.atleast_2d(np.asarray(h[key], dtype=np.float64))
            ax.plot(shots, y.mean(0), style, color=color, label=f"{name} {key.replace('_', ' ')}")
            if y.shape[0] > 1:
                ax.fill_between(shots, y.min(0), y.max(0), color=color, alpha=0.15, linewidth=0)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("total shots spent")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_loss_vs_shots(histories, path: str, *, title: str = "") -> str:
    """Loss (log) vs total shots: train dashed, test solid, mean with min-max band over seeds."""
    return plot_metric_vs_shots(
        histories, [("train_loss", "--"), ("test_loss", "-")], path, ylabel="loss", title=title
    )
