"""Sample complexity: total shots spent until a metric reaches a target, per model and seed.

A target is a metric, a direction and a threshold: ``test_loss <= 0.05`` (a loss reaches its target
at or *below* it), ``test_accuracy >= 0.9`` (an accuracy at or *above*). For every seed the shots to
reach it are the cumulative shots per seed at the end of the first epoch whose metric meets the
target (``first`` crossing), or of the first epoch from which it meets the target up to the last
logged epoch (``sustained`` crossing). A seed that never gets there counts as NaN (not reached).

Per model the report gives the median over seeds (an unreached seed counts as infinitely many shots,
so the median is "not reached" when half of the seeds or more never get there), the min and max over
seeds, the number of seeds that reached, the median epoch of the crossing, and the ratio of the
model's median to the reference model's median (``> 1``: the model needs more shots than the
reference; e.g. SC / SLPA is the SLPA's advantage in shots). The epoch column splits a ratio into its
two causes: shots per epoch (circuits per sample) and epochs to the target. ``slpa-jax report
RUN_DIR`` prints this table and plots it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Target",
    "DIRECTIONS",
    "parse_target",
    "default_direction",
    "default_targets",
    "shots_to_reach",
    "epochs_to_reach",
    "sample_complexity",
    "report_table",
    "REPORT_COLUMNS",
]

DIRECTIONS = ("below", "above")
_TARGET_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([^<>=\s]+)\s*$")


@dataclass(frozen=True)
class Target:
    """``metric`` reaches ``threshold`` from ``direction`` ("below": at or below, "above": at or above)."""

    metric: str
    direction: str
    threshold: float

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"Target: direction must be one of {list(DIRECTIONS)}, got {self.direction!r}")
        if not (isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold)):
            raise ValueError(f"Target: threshold must be a finite number, got {self.threshold!r}")

    def __str__(self) -> str:
        return f"{self.metric} {'<=' if self.direction == 'below' else '>='} {self.threshold:g}"


def parse_target(text: str) -> Target:
    """``"test_loss<0.05"`` / ``"test_loss<=0.05"`` -> below, ``"test_accuracy>0.9"`` -> above (inclusive).

    Raises:
        ValueError: not of the form METRIC<VALUE or METRIC>VALUE, or VALUE not a finite number.
    """
    m = _TARGET_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(
            f"target {text!r}: expected METRIC<VALUE or METRIC>VALUE, e.g. 'test_loss<0.05' or 'test_accuracy>0.9'"
        )
    metric, op, raw = m.groups()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"target {text!r}: expected a number after {op!r}, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"target {text!r}: expected a finite number after {op!r}, got {raw!r}")
    return Target(metric, "below" if op.startswith("<") else "above", value)


def default_direction(metric: str) -> str:
    """ "below" for a loss (name containing ``loss``), "above" for an accuracy; else a ValueError."""
    if "loss" in metric:
        return "below"
    if "accuracy" in metric:
        return "above"
    raise ValueError(
        f"shots_to_reach: cannot tell whether metric {metric!r} should go below or above its threshold; "
        f"pass direction='below' or 'above'"
    )


def _first_hit(history: Mapping, threshold: float, key: str, direction: str | None, sustained: bool, where: str):
    """(n_seeds,) index of the first epoch meeting the target, -1 where never."""
    if key not in history:
        raise KeyError(f"{where}: metric {key!r} not in the history (has {sorted(history)})")
    direction = default_direction(key) if direction is None else direction
    if direction not in DIRECTIONS:
        raise ValueError(f"{where}: direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    values = np.asarray(history[key], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        hit = values <= threshold if direction == "below" else values >= threshold
    if sustained:
        hit = np.flip(np.logical_and.accumulate(np.flip(hit, axis=1), axis=1), axis=1)
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)


def shots_to_reach(
    history: Mapping,
    threshold: float,
    key: str = "test_accuracy",
    *,
    direction: str | None = None,
    sustained: bool = False,
) -> np.ndarray:
    """Per seed, the cumulative shots at the end of the first epoch where ``history[key]`` reaches
    ``threshold``.

    Args:
        history: one model's ``{metric: (n_seeds, n_epochs)}`` (``read_metrics(run_dir)[name]``).
        threshold: e.g. 0.9 for 90 % accuracy, 0.05 for a loss.
        key: the metric to test (default ``"test_accuracy"``).
        direction: "below" (metric <= threshold) or "above" (metric >= threshold); default
            ``default_direction(key)``: below for losses, above for accuracies.
        sustained: count only an epoch from which the metric stays on the target's side to the last epoch.

    Returns:
        (n_seeds,) float64 shots; NaN for a seed that never reaches the threshold (a NaN metric never does).
    """
    first = _first_hit(history, threshold, key, direction, sustained, "shots_to_reach")
    shots = np.asarray(history["shots"], dtype=np.float64)
    return np.where(first >= 0, shots[np.arange(shots.shape[0]), np.maximum(first, 0)], np.nan)


def epochs_to_reach(
    history: Mapping,
    threshold: float,
    key: str = "test_accuracy",
    *,
    direction: str | None = None,
    sustained: bool = False,
) -> np.ndarray:
    """Per seed, the epoch (1-based, as in ``metrics.jsonl``) at whose end ``history[key]`` first reaches
    ``threshold`` (arguments as ``shots_to_reach``); NaN where never."""
    first = _first_hit(history, threshold, key, direction, sustained, "epochs_to_reach")
    return np.where(first >= 0, first + 1.0, np.nan)


def _round_sig(x: float, up: bool) -> float:
    """``x`` rounded to two significant digits, up or down."""
    if x == 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(abs(x))) - 1
    digits = (math.ceil if up else math.floor)(round(x / 10.0**exp, 9))
    return float(f"{digits}e{exp}")


def default_targets(histories: Mapping) -> list[Target]:
    """Targets every seed of every model reaches by its last epoch: ``test_loss <=`` the largest final
    test loss of any seed (two digits, rounded up), and ``test_accuracy >=`` the smallest final accuracy
    (rounded down) when accuracies were logged."""
    out = []
    for metric, up in (("test_loss", True), ("test_accuracy", False)):
        finals = np.concatenate(
            [
                np.asarray(h[metric], dtype=np.float64)[:, -1]
                for h in histories.values()
                if metric in h and np.size(h[metric])
            ]
            or [np.zeros(0)]
        )
        finals = finals[np.isfinite(finals)]
        if finals.size:
            value = _round_sig(float(finals.max() if up else finals.min()), up)
            out.append(Target(metric, default_direction(metric), value))
    return out


def _stats(shots: np.ndarray, epochs: np.ndarray) -> dict:
    reached = np.isfinite(shots)
    as_inf = np.where(reached, shots, np.inf)
    median = float(np.median(as_inf)) if shots.size else math.nan
    epoch = float(np.median(np.where(np.isfinite(epochs), epochs, np.inf))) if epochs.size else math.nan
    return {
        "median_epoch": epoch,
        "epochs_per_seed": [float(x) for x in epochs],
        "reached": int(reached.sum()),
        "n_seeds": int(shots.size),
        "median": median,
        "min": float(np.min(as_inf)) if shots.size else math.nan,
        "max": float(np.max(as_inf)) if shots.size else math.nan,
        "shots_per_seed": [float(x) for x in shots],
    }


def sample_complexity(histories: Mapping, targets: Sequence[Target], *, reference: str | None = None) -> list[dict]:
    """Shots to reach each target, per model and crossing kind (first, sustained).

    Args:
        histories: ``{model: {metric: (n_seeds, n_epochs)}}`` (``runs.read_metrics``).
        targets: ``Target`` records (``parse_target``, ``default_targets``).
        reference: the model the ratios are taken against (default the first model).

    Returns:
        One dict per (target, crossing, model): ``target`` (str), ``metric``, ``direction``,
        ``threshold``, ``crossing`` ("first"/"sustained"), ``model``, ``reached``, ``n_seeds``,
        ``median``, ``min``, ``max`` (shots per seed; ``inf`` when not reached), ``shots_per_seed``
        (NaN = not reached), ``median_epoch`` and ``epochs_per_seed`` (the crossing epoch, 1-based;
        ``inf`` / NaN when not reached) and ``ratio`` (median / the reference's median; NaN when undefined).
        Models that did not log the metric are left out.

    Raises:
        ValueError: ``reference`` is not a model of ``histories``.
    """
    names = list(histories)
    if reference is None:
        reference = names[0] if names else None
    elif reference not in histories:
        raise ValueError(f"sample_complexity: reference must be one of the models {names}, got {reference!r}")
    rows = []
    for t in targets:
        for crossing in ("first", "sustained"):
            block = {}
            for name, h in histories.items():
                if t.metric not in h:
                    continue
                kw = {"direction": t.direction, "sustained": crossing == "sustained"}
                block[name] = _stats(
                    shots_to_reach(h, t.threshold, t.metric, **kw), epochs_to_reach(h, t.threshold, t.metric, **kw)
                )
            ref = block.get(reference, {}).get("median", math.nan)
            for name, st in block.items():
                m = st["median"]
                if ref == 0 or math.isnan(ref) or math.isnan(m) or (math.isinf(m) and math.isinf(ref)):
                    ratio = math.nan
                else:
                    ratio = m / ref
                rows.append(
                    {
                        "target": str(t),
                        "metric": t.metric,
                        "direction": t.direction,
                        "threshold": t.threshold,
                        "crossing": crossing,
                        "model": name,
                        **st,
                        "ratio": ratio,
                        "reference": reference,
                    }
                )
    return rows


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "never"
    if math.isnan(x):
        return "-"
    return f"{x:.3e}"


#: The column header of every block of ``report_table`` (the last column names the reference model).
REPORT_COLUMNS = ("model", "crossing", "reached", "median shots", "min", "max", "median epoch", "ratio vs {ref}")


def report_table(rows: Sequence[Mapping]) -> str:
    """A fixed-width table of ``sample_complexity`` rows: one block per target, one line per model and
    crossing with the reached count, the median [min, max] shots per seed, the median crossing epoch
    and the ratio of medians to the reference (``REPORT_COLUMNS``)."""
    lines = []
    by_target: dict[str, list] = {}
    for r in rows:
        by_target.setdefault(r["target"], []).append(r)
    for target, block in by_target.items():
        ref = block[0]["reference"]
        header = REPORT_COLUMNS[:-1] + (REPORT_COLUMNS[-1].format(ref=ref),)
        table = [header]
        for r in block:
            ratio = r["ratio"]
            ratio_s = "-" if math.isnan(ratio) else ("inf" if math.isinf(ratio) else f"{ratio:.3g}")
            table.append(
                (
                    r["model"],
                    r["crossing"],
                    f"{r['reached']}/{r['n_seeds']}",
                    _fmt(r["median"]),
                    _fmt(r["min"]),
                    _fmt(r["max"]),
                    "never" if math.isinf(r["median_epoch"]) else f"{r['median_epoch']:g}",
                    ratio_s,
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        n_seeds = max(r["n_seeds"] for r in block)
        lines.append(
            f"target: {target} (total shots per seed to reach it: median, min and max over {n_seeds} seeds; "
            "'never' = not reached)"
        )
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" if lines else "no target could be evaluated\n"
