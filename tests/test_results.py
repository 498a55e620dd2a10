"""Result files (train/results.py): strict JSON, the tidy long table, atomic writes that clean up."""

import csv
import errno
import json
import math
import os

import numpy as np
import pytest

from slpa_jax.train import results


def _no_constants(token):
    raise AssertionError(f"non-standard JSON token {token}")


def test_strict_json_writes_null_for_non_finite_floats():
    obj = {"a": [1.0, float("nan"), float("inf")], "b": np.float64(-np.inf), "c": np.array([0.5, np.nan]), "d": 3}
    text = results.strict_json(obj)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=_no_constants) == {
        "a": [1.0, None, None],
        "b": None,
        "c": [0.5, None],
        "d": 3,
    }


HIST = {
    "A": {
        "shots": np.array([[10, 20], [11, 22]]),
        "test_loss": np.array([[0.5, 0.25], [0.4, np.nan]]),
    },
    "B": {
        "shots": np.array([[5, 10, 15]]),
        "test_loss": np.array([[0.9, 0.8, 0.7]]),
        "test_accuracy": np.array([[0.5, 0.75, 1.0]]),
    },
}


def test_tidy_rows_one_per_model_seed_epoch():
    rows = results.tidy_rows(HIST, {"shots_per_circuit": 100})
    assert len(rows) == 2 * 2 + 1 * 3
    assert results.tidy_columns(rows) == [
        "shots_per_circuit",
        "model",
        "seed",
        "epoch",
        "shots",
        "test_loss",
        "test_accuracy",
    ]
    for r in rows:  # every cell equals the history entry it came from
        h = HIST[r["model"]]
        for k in ("shots", "test_loss", "test_accuracy"):
            ref = h[k][r["seed"], r["epoch"] - 1] if k in h else np.nan
            assert (math.isnan(ref) and math.isnan(r[k])) or r[k] == ref
    assert rows[3] == {
        "shots_per_circuit": 100,
        "model": "A",
        "seed": 1,
        "epoch": 2,
        "shots": 22,
        "test_loss": rows[3]["test_loss"],
        "test_accuracy": rows[3]["test_accuracy"],
    }


def test_csv_round_trip_and_pandas_one_liner(tmp_path):
    paths = results.write_tidy_metrics(HIST, tmp_path)
    assert paths[0] == str(tmp_path / "metrics.csv") and not list(tmp_path.glob("*.tmp"))
    with open(paths[0]) as fh:
        back = list(csv.DictReader(fh))
    assert len(back) == 7 and back[0] == {
        "model": "A",
        "seed": "0",
        "epoch": "1",
        "shots": "10",
        "test_loss": "0.5",
        "test_accuracy": "",
    }
    assert (tmp_path / "metrics.parquet").exists() == (len(paths) == 2)
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(tmp_path / "metrics.csv")
    assert list(df.columns) == ["model", "seed", "epoch", "shots", "test_loss", "test_accuracy"]
    final = df[df.epoch == df.groupby("model").epoch.transform("max")].groupby("model").test_loss.mean()
    assert final["B"] == 0.7 and np.isnan(df.test_loss.iloc[3])
    assert results.metrics_frame(tmp_path).equals(df)


def test_parquet_when_pyarrow_is_installed(tmp_path):
    pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    paths = results.write_tidy_metrics(HIST, tmp_path)
    assert paths == [str(tmp_path / "metrics.csv"), str(tmp_path / "metrics.parquet")]
    a, b = pd.read_parquet(paths[1]), pd.read_csv(paths[0])
    assert list(a.columns) == list(b.columns) and len(a) == 7
    np.testing.assert_array_equal(a.test_loss.to_numpy(), b.test_loss.to_numpy())
    assert list(a.model) == list(b.model) and not list(tmp_path.glob("*.tmp"))


def test_save_atomic_leaves_the_old_file_and_no_tmp_on_disk_full(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    results.save_atomic(path, b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match=r"No space left on device") as info:
        results.save_atomic(path, b"new")
    assert info.value.filename == str(path)  # the error names the file
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["summary.json"]
