"""Result files of a run directory: strict JSON, the long ("tidy") metrics table, atomic writes.

Histories are ``{model: {metric: (n_seeds, n_epochs) array}}`` (``runs.read_metrics``). The tidy
table has one row per (model, seed, epoch) and one column per metric; ``write_tidy_metrics`` writes
it as ``metrics.csv`` (any CSV reader; ``pandas.read_csv(run_dir / "metrics.csv")``) and, when
pyarrow is installed, as ``metrics.parquet``. JSON files are strict (RFC 8259): a non-finite float
(NaN, +-inf) is written as ``null`` and read back as NaN. The schema is in ``docs/results.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "TIDY_CSV_NAME",
    "TIDY_PARQUET_NAME",
    "ID_COLUMNS",
    "strict_json",
    "save_atomic",
    "tidy_rows",
    "tidy_columns",
    "write_tidy_metrics",
    "write_csv",
    "write_parquet",
    "metrics_frame",
]

TIDY_CSV_NAME = "metrics.csv"
TIDY_PARQUET_NAME = "metrics.parquet"
#: The identifying columns of the tidy table, in order; metric columns follow.
ID_COLUMNS = ("model", "seed", "epoch")


def _finite_or_none(x):
    """Recursively replace non-finite floats by None, numpy scalars/arrays by Python values."""
    if isinstance(x, Mapping):
        return {str(k): _finite_or_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite_or_none(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite_or_none(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def strict_json(obj, **kwargs) -> str:
    """``json.dumps`` that never writes the non-standard tokens NaN / Infinity: they become null."""
    return json.dumps(_finite_or_none(obj), allow_nan=False, **kwargs)


def save_atomic(path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through ``path.tmp`` + fsync + rename: a reader (or a crash) sees
    the old file or the new one, never a partial one. On any error (disk full, permission denied) the
    temporary file is removed and the error re-raised (an ``OSError`` names ``path``); an existing
    ``path`` is left untouched."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(err, OSError) and err.filename is None:
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise


def _metric_names(histories: Mapping) -> list[str]:
    names: list[str] = []
    for h in histories.values():
        for k in h:
            if k not in names:
                names.append(k)
    return names


def tidy_rows(histories: Mapping, extra: Mapping | None = None) -> list[dict]:
    """One dict per (model, seed, epoch): ``{**extra, "model", "seed", "epoch", metric: value, ...}``.

    ``seed`` is the index of the vmapped seed (0 .. n_seeds - 1), ``epoch`` counts from 1. A metric a
    model did not log is NaN. ``extra`` (e.g. the swept values of a sweep point) is prepended to every row.
    """
    names = _metric_names(histories)
    extra = dict(extra or {})
    rows = []
    for model, h in histories.items():
        arrays = {k: np.asarray(h[k]) for k in h}
        n_seeds, n_epochs = next(iter(arrays.values())).shape if arrays else (0, 0)
        for s in range(n_seeds):
            for e in range(n_epochs):
                row = {**extra, "model": model, "seed": s, "epoch": e + 1}
                for k in names:
                    row[k] = arrays[k][s, e].item() if k in arrays else float("nan")
                rows.append(row)
    return rows


def tidy_columns(rows: list[dict]) -> list[str]:
    """Column order of a list of tidy rows (first appearance)."""
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def write_csv(rows: list[dict], path) -> str:
    """Write tidy rows as CSV (header = ``tidy_columns``; NaN as an empty field), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=tidy_columns(rows), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})
    save_atomic(path, buf.getvalue().encode())
    return str(path)


def write_parquet(rows: list[dict], path) -> str | None:
    """Write tidy rows as Parquet when pyarrow is installed (atomically); returns the path, or None
    without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    path = Path(path)
    table = pa.table({c: [r.get(c) for r in rows] for c in tidy_columns(rows)})
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return str(path)


def write_tidy_metrics(histories: Mapping, run_dir, *, parquet: bool = True) -> list[str]:
    """Write ``metrics.csv`` (and ``metrics.parquet`` when ``parquet`` and pyarrow is installed) into
    ``run_dir``; returns the written paths."""
    run_dir = Path(run_dir)
    rows = tidy_rows(histories)
    written = [write_csv(rows, run_dir / TIDY_CSV_NAME)]
    if parquet and (pq := write_parquet(rows, run_dir / TIDY_PARQUET_NAME)):
        written.append(pq)
    return written


def metrics_frame(run_dir):
    """The tidy metrics table of a run directory as a pandas DataFrame (needs pandas:
    ``pip install 'slpa-jax[results]'``). Equivalent to ``pandas.read_csv(run_dir / "metrics.csv")``."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("metrics_frame needs pandas: pip install 'slpa-jax[results]'") from None
    return pd.read_csv(Path(run_dir) / TIDY_CSV_NAME)
