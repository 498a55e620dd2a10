"""Sample complexity (train/report.py): shots to reach a target vs a brute-force loop, the report table."""

import math

import numpy as np
import pytest

from slpa_jax.train import report as R
from slpa_jax.train.report import Target, parse_target, sample_complexity, shots_to_reach


def brute_shots(values, shots, threshold, direction, sustained):
    """Reference: walk each seed's epochs in Python."""
    out = []
    for v, s in zip(values, shots):
        ok = [(x <= threshold) if direction == "below" else (x >= threshold) for x in v]  # NaN compares False
        found = math.nan
        for e in range(len(v)):
            if ok[e] and (not sustained or all(ok[e:])):
                found = float(s[e])
                break
        out.append(found)
    return np.array(out)


@pytest.mark.parametrize("direction", ["below", "above"])
@pytest.mark.parametrize("sustained", [False, True])
def test_shots_to_reach_matches_a_brute_force_loop(direction, sustained):
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (6, 9))
    values[2, 4] = np.nan
    shots = np.cumsum(rng.integers(1, 50, (6, 9)), axis=1)
    hist = {"shots": shots, "test_loss": values, "test_accuracy": values}
    for threshold in (0.05, 0.3, 0.5, 0.9):
        key = "test_loss" if direction == "below" else "test_accuracy"
        got = shots_to_reach(hist, threshold, key, sustained=sustained)  # direction inferred from the name
        np.testing.assert_array_equal(got, brute_shots(values, shots, threshold, direction, sustained))
        explicit = shots_to_reach(hist, threshold, "test_loss", direction=direction, sustained=sustained)
        np.testing.assert_array_equal(explicit, brute_shots(values, shots, threshold, direction, sustained))


def test_a_loss_is_not_reached_at_the_first_epoch_any_more():
    """The old rule (metric >= threshold) returned epoch 1 for any decreasing loss above the threshold."""
    hist = {"shots": np.array([[10, 20, 30]]), "test_loss": np.array([[0.5, 0.2, 0.05]])}
    np.testing.assert_array_equal(shots_to_reach(hist, 0.1, "test_loss"), [30])
    np.testing.assert_array_equal(shots_to_reach(hist, 0.01, "test_loss"), [np.nan])
    # a rebound breaks a sustained crossing but not a first one
    hist["test_loss"] = np.array([[0.5, 0.05, 0.2]])
    np.testing.assert_array_equal(shots_to_reach(hist, 0.1, "test_loss"), [20])
    np.testing.assert_array_equal(shots_to_reach(hist, 0.1, "test_loss", sustained=True), [np.nan])


def test_shots_to_reach_errors():
    hist = {"shots": np.array([[1]]), "grad_norm": np.array([[0.1]])}
    with pytest.raises(ValueError, match=r"cannot tell whether metric 'grad_norm' should go below or above"):
        shots_to_reach(hist, 0.1, "grad_norm")
    with pytest.raises(ValueError, match=r"shots_to_reach: direction must be one of \['below', 'above'\], got 'up'"):
        shots_to_reach(hist, 0.1, "grad_norm", direction="up")
    assert shots_to_reach(hist, 0.2, "grad_norm", direction="below").tolist() == [1.0]


@pytest.mark.parametrize(
    "text,target",
    [
        ("test_loss<0.05", Target("test_loss", "below", 0.05)),
        ("test_loss <= 5e-2", Target("test_loss", "below", 0.05)),
        ("test_accuracy>0.9", Target("test_accuracy", "above", 0.9)),
        ("train_accuracy>=1", Target("train_accuracy", "above", 1.0)),
    ],
)
def test_parse_target(text, target):
    assert parse_target(text) == target
    assert parse_target(str(target)) == target


@pytest.mark.parametrize(
    "text,match",
    [
        ("test_loss=0.1", r"target 'test_loss=0\.1': expected METRIC<VALUE or METRIC>VALUE"),
        ("test_loss<abc", r"target 'test_loss<abc': expected a number after '<', got 'abc'"),
        ("test_loss<inf", r"target 'test_loss<inf': expected a finite number"),
    ],
)
def test_parse_target_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_target(text)
    with pytest.raises(ValueError, match=r"Target: direction must be one of"):
        Target("test_loss", "down", 0.1)


def test_sample_complexity_medians_spread_and_ratio():
    shots = np.array([[100, 200, 300, 400]] * 3)
    hist = {
        # SLPA: seeds reach 0.1 at epochs 1, 2, 2 -> 100, 200, 200
        "SLPA": {"shots": shots, "test_loss": np.array([[0.1] * 4, [0.5, 0.1, 0.1, 0.1], [0.5, 0.05, 0.2, 0.1]])},
        # SC spends 10x the shots per epoch: 1000 x epoch; seeds reach at epochs 3, 4, never
        "SC": {"shots": 10 * shots, "test_loss": np.array([[1, 1, 0.1, 0.1], [1, 1, 1, 0.1], [1, 1, 1, 1.0]])},
    }
    rows = sample_complexity(hist, [Target("test_loss", "below", 0.1)])
    first = {r["model"]: r for r in rows if r["crossing"] == "first"}
    sus = {r["model"]: r for r in rows if r["crossing"] == "sustained"}
    assert first["SLPA"]["shots_per_seed"] == [100.0, 200.0, 200.0]
    assert (first["SLPA"]["median"], first["SLPA"]["min"], first["SLPA"]["max"]) == (200.0, 100.0, 200.0)
    assert first["SC"]["reached"] == 2 and first["SC"]["median"] == 4000.0 and math.isinf(first["SC"]["max"])
    assert first["SC"]["ratio"] == 20.0 and first["SLPA"]["ratio"] == 1.0
    assert sus["SLPA"]["shots_per_seed"] == [100.0, 200.0, 400.0] and sus["SLPA"]["median"] == 200.0
    other = sample_complexity(hist, [Target("test_loss", "below", 0.1)], reference="SC")
    assert [r["ratio"] for r in other if r["crossing"] == "first"] == [0.05, 1.0]
    with pytest.raises(ValueError, match=r"reference must be one of the models \['SLPA', 'SC'\], got 'NSC'"):
        sample_complexity(hist, [], reference="NSC")
    table = R.report_table(rows).splitlines()
    assert table[0] == (
        "target: test_loss <= 0.1 (total shots per seed to reach it: median, min and max over 3 seeds; "
        "'never' = not reached)"
    )
    header = ["model", "crossing", "reached", "median", "shots", "min", "max", "median", "epoch", "ratio", "vs", "SLPA"]
    assert table[1].split() == header
    assert table[2].split() == ["SLPA", "first", "3/3", "2.000e+02", "1.000e+02", "2.000e+02", "2", "1"]
    assert table[3].split() == ["SC", "first", "2/3", "4.000e+03", "3.000e+03", "never", "4", "20"]
    # the crossing epochs: SLPA 1, 2, 2; SC 3, 4, never (the median counts 'never' as infinitely late)
    assert first["SLPA"]["epochs_per_seed"] == [1.0, 2.0, 2.0] and first["SC"]["median_epoch"] == 4.0
    assert sus["SLPA"]["epochs_per_seed"] == [1.0, 2.0, 4.0]
    np.testing.assert_array_equal(R.epochs_to_reach(hist["SC"], 0.1, "test_loss"), [3.0, 4.0, np.nan])
    # half the seeds or more unreached: the median is 'never' and the ratio infinite
    hist["SC"]["test_loss"][1] = 1.0
    worse = {r["model"]: r for r in sample_complexity(hist, [Target("test_loss", "below", 0.1)])[:2]}
    assert math.isinf(worse["SC"]["median"]) and math.isinf(worse["SC"]["ratio"])


def test_default_targets_are_reached_by_every_seed():
    hist = {
        "A": {"shots": np.ones((3, 2)), "test_loss": np.array([[0.5, 0.0123], [0.5, 0.02], [0.5, 0.0456]])},
        "B": {"shots": np.ones((3, 2)), "test_loss": np.array([[0.5, 0.03], [0.5, np.nan], [0.5, 0.01]])},
    }
    (t,) = R.default_targets(hist)
    assert t == Target("test_loss", "below", 0.046)  # the largest final loss 0.0456, rounded up to two digits
    rows = sample_complexity(hist, [t])
    assert [r["reached"] for r in rows] == [3, 2, 3, 2]  # every seed with a finite loss reaches it
    acc = {"A": {"shots": np.ones((2, 1)), "test_accuracy": np.array([[0.87], [0.91]])}}
    assert R.default_targets(acc) == [Target("test_accuracy", "above", 0.87)]
