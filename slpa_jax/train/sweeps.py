"""Cross-point results of a sweep: one tidy table over all points, and per-axis aggregates.

A sweep index is ``[{"run_dir", "point", "summary"}, ...]`` (``slpa-jax sweep`` writes it as
``sweep-STEM.json``); ``point`` maps each swept dotted key (``shots``, ``train.lr``,
``models[0].n_params``) to its value. ``sweep_rows`` stacks the tidy metrics of every point with the
swept values as leading columns (one row per point x model x seed x epoch); ``axis_summary`` reduces
it, per swept axis, to the final metric and the shots to reach a target for every model, aggregated
over seeds (and over the other axes' values).

Splitting a sweep (issue 15 item 3). ``sweep_slice`` gives the points one job runs: ``--shard I/N``
(a job array: points I, I+N, ...) and, under ``--distributed``, process i of P takes every P-th of
those. Each point is an ordinary run directory, so any job can run any point; ``collect_sweep``
builds the index from the points whose run directory holds a finished summary and lists the
missing ones (``slpa-jax sweep ... --merge`` once every slice has finished).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .report import Target, shots_to_reach
from .results import tidy_rows

__all__ = [
    "read_sweep_index",
    "sweep_histories",
    "sweep_rows",
    "axis_summary",
    "parse_shard",
    "sweep_slice",
    "point_summary",
    "collect_sweep",
]


def read_sweep_index(path) -> list[dict]:
    """Load a sweep index JSON file, checking its shape.

    Raises:
        ValueError: not a list of ``{"run_dir", "point", ...}`` records (the message names the path).
    """
    path = Path(path)
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"sweep index {str(path)!r} is not JSON ({err})") from None
    if not isinstance(index, list) or not all(isinstance(e, dict) and {"run_dir", "point"} <= set(e) for e in index):
        raise ValueError(f"sweep index {str(path)!r}: expected a list of {{'run_dir', 'point', ...}} records")
    return index


def sweep_histories(index: Sequence[Mapping]) -> list[tuple[dict, dict]]:
    """``[(point, {model: {metric: (n_seeds, n_epochs)}}), ...]`` read from each point's run directory."""
    from .runs import read_metrics

    return [(dict(e["point"]), read_metrics(e["run_dir"])) for e in index]


def _cell(v):
    return v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)


def sweep_rows(index: Sequence[Mapping]) -> list[dict]:
    """The tidy table of a whole sweep: ``{swept key: value, ..., "run", "model", "seed", "epoch", metrics}``
    per point x model x seed x epoch (``run`` is the point's run-directory name)."""
    rows = []
    for entry, (point, hist) in zip(index, sweep_histories(index)):
        extra = {k: _cell(v) for k, v in point.items()}
        extra["run"] = Path(entry["run_dir"]).name
        rows += tidy_rows(hist, extra)
    return rows


def _agg(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    return {
        "mean": float(np.mean(finite)) if finite.size else math.nan,
        "min": float(np.min(finite)) if finite.size else math.nan,
        "max": float(np.max(finite)) if finite.size else math.nan,
        "n": int(a.size),
        "reached": int(finite.size),
    }


def axis_summary(
    points: Sequence[tuple[Mapping, Mapping]], axis: str, *, metric: str = "test_loss", target: Target | None = None
) -> dict[str, list[dict]]:
    """Per model, one record per value of ``axis``: the final ``metric`` over all seeds of all points
    with that value (``final`` = ``{mean, min, max, n}``) and, with a ``target``, the shots per seed to
    reach it (first crossing; ``shots`` = ``{mean, min, max, n, reached}`` over the seeds that reached).

    Args:
        points: ``sweep_histories(index)``.
        axis: a swept key (a key of every point).
        metric: the final metric to aggregate.
        target: optional sample-complexity target.
    """
    out: dict[str, dict] = {}
    for point, hist in points:
        if axis not in point:
            raise ValueError(f"axis_summary: axis {axis!r} is not a swept key (swept: {sorted(point)})")
        value = point[axis]
        for model, h in hist.items():
            slot = out.setdefault(model, {}).setdefault(repr(value), {"value": value, "final": [], "shots": []})
            if metric in h:
                slot["final"] += np.asarray(h[metric], dtype=np.float64)[:, -1].tolist()
            if target is not None and target.metric in h:
                slot["shots"] += shots_to_reach(h, target.threshold, target.metric, direction=target.direction).tolist()
    result = {}
    for model, by_value in out.items():
        recs = []
        for slot in by_value.values():
            rec = {"value": slot["value"], "final": _agg(slot["final"])}
            if target is not None:
                rec["shots"] = _agg(slot["shots"])
            recs.append(rec)
        result[model] = recs
    return result


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N``.

    Raises:
        ValueError: not of that form (the message names ``--shard``).
    """
    try:
        i_s, n_s = str(text).split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise ValueError(f"--shard: expected I/N with integers 0 <= I < N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard: expected I/N with integers 0 <= I < N (e.g. 0/4), got {text!r}")
    return i, n


def sweep_slice(n_points: int, shard: tuple[int, int] = (0, 1), process: tuple[int, int] = (0, 1)) -> list[int]:
    """Indices of the points one job runs: shard ``(I, N)`` takes points I, I+N, ...; process ``(i, P)``
    of a distributed job takes every P-th of those, starting at its i-th."""
    (i, n), (p, n_proc) = shard, process
    return list(range(n_points))[i::n][p::n_proc]


def point_summary(run_dir, cfg) -> dict | None:
    """The summary of a finished point (``run_dir/summary.json`` with every model of ``cfg`` trained for
    ``cfg.train.epochs`` epochs), or None."""
    path = Path(run_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text())
        models = summary["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    names = [m.name for m in cfg.models]
    if sorted(models) != sorted(names) or any(models[m].get("epochs") != cfg.train.epochs for m in names):
        return None
    return summary


def collect_sweep(points: Sequence[tuple[Mapping, object]], out_dir) -> tuple[list[dict], list[int]]:
    """``(index, missing)``: the sweep index records of the finished points (in point order) and the
    indices of the points that have no finished run directory under ``out_dir``."""
    index, missing = [], []
    for k, (point, cfg) in enumerate(points):
        run_dir = Path(out_dir) / cfg.name
        summary = point_summary(run_dir, cfg)
        if summary is None:
            missing.append(k)
        else:
            index.append({"run_dir": str(run_dir), "point": dict(point), "summary": summary})
    return index, missing
