"""experiments/noise.py (the noise study, docs/noise.md) without training: its noise points, the
exactness of its p2 = 0 shortcut, and its table from a hand-made history (the plots are drawn by
the study itself: matplotlib costs seconds)."""

import importlib.util
from argparse import Namespace
from pathlib import Path

import pytest

from slpa_jax.train.config import load_config, parse_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("experiments_noise", EXPERIMENTS / "noise.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_noise_points_parse_with_p1_a_tenth_of_p2(study):
    a = Namespace(config=study.DEFAULT_CONFIG, readout=1e-2, nsc_epochs=5, p0_seeds=3)
    cfg = study.point_config(a, 1e-3)
    assert (cfg.noise.p2, cfg.noise.p1, cfg.noise.readout, cfg.noise.method) == (1e-3, 1e-4, 1e-2, "density")
    assert [m.name for m in cfg.models] == ["SLPA-ancilla", "SC", "SLPA-ancilla-free"]
    assert cfg.train.n_seeds == 3  # the noisy points run seeds 0, 1, 2 like p2 = 0 (paired seeds)
    assert study.point_config(Namespace(**vars(a), seeds=2), 1e-3, nsc=True).train.n_seeds == 2
    p0 = study.point_config(a, 0.0)
    assert (p0.noise.method, p0.noise.trajectories, p0.train.n_seeds) == ("trajectories", 1, 3)
    nsc = study.point_config(a, 1e-2, nsc=True)
    assert [m.name for m in nsc.models] == ["NSC"] and nsc.train.epochs == 5
    assert study.point_config(a, 0.0, nsc=True).train.epochs == cfg.train.epochs  # cheap at p2 = 0: full length
    assert study.point_name(1e-4) == "p2-0.0001" and study.point_name(0.0, nsc=True) == "p2-0-nsc"


def test_the_p2_0_point_has_no_random_trajectory(study):
    """The p2 = 0 shortcut (one trajectory per setting) is exact: with readout error only, every
    lowered setting has no Pauli noise and no damping, so a trajectory draws nothing and is the
    noiseless state (trajectories' static switches); readout acts on its exact distribution."""
    from slpa_jax.blocks.gradient import block_measurements
    from slpa_jax.noise.program import lower_noisy
    from slpa_jax.train.models import noise_model_from_config
    from slpa_jax.train.runs import build_model

    a = Namespace(config=study.DEFAULT_CONFIG, readout=1e-2, nsc_epochs=5, p0_seeds=3)
    cfg = study.point_config(a, 0.0)
    base = build_model(parse_config(load_config(study.DEFAULT_CONFIG, ["noise=null"])), 0)
    nm = noise_model_from_config(cfg.noise, 4, ancilla=True)
    assert (nm.readout_01, nm.readout_10, nm.p1, nm.p2) == (0.01, 0.01, 0.0, 0.0)
    for m in block_measurements(base.block_circuit, "ancilla")[:3]:
        prog = lower_noisy(m.circuit, nm)
        assert not prog.pauli_noise and not prog.damping


def _row(model, p2, shots_to_target, final, seeds=2):
    per_epoch = 25 if model == "SLPA-ancilla" else 193
    return {
        "model": model,
        "p2": p2,
        "epochs": 3,
        "planned_epochs": 3 if model != "NSC" else 5,
        "seeds": seeds,
        "circuits_per_sample": per_epoch,
        "shots_per_circuit": 100,
        "test_mse": [[0.1, 0.01, f] for f in final],
        "shots": [[10.0 * per_epoch, 20.0 * per_epoch, 30.0 * per_epoch]] * seeds,
        "final_test_mse": list(final),
        "final_noisy_test_mse": [f * 2 for f in final],
        "shots_to_target": {"0.01": [250.0] * seeds, "0.001": shots_to_target},
    }


def test_table_from_a_hand_made_history(study, tmp_path):
    nan = float("nan")
    rows = [
        _row("SLPA-ancilla", 0.0, [750.0, 500.0], [5e-4, 8e-4]),
        _row("SC", 0.0, [5790.0, nan], [9e-4, 2e-3]),
        _row("SLPA-ancilla", 1e-2, [nan, nan], [0.05, 0.06]),
        _row("SC", 1e-2, [3860.0, 5790.0], [7e-4, 9e-4]),
        _row("NSC", 1e-2, [nan, nan], [0.08, 0.09]),
    ]
    text = study.write_table(rows, tmp_path, [1e-2, 1e-3])
    assert (tmp_path / "table.md").read_text() == text
    lines = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in text.splitlines()[2:]}
    order = [("0", "SLPA-ancilla"), ("0", "SC"), ("0.01", "SLPA-ancilla"), ("0.01", "SC"), ("0.01", "NSC")]
    assert list(lines) == order
    # medians with an unreached seed as infinitely many shots (as slpa-jax report), ratio to the SLPA
    assert lines[("0", "SLPA-ancilla")].endswith("| 2/2: 250 [250, 250] (1) | 2/2: 625 [500, 750] (1) |")
    assert lines[("0", "SC")].endswith("| 1/2: never [5.79e+03, never] |")
    assert lines[("0.01", "SLPA-ancilla")].endswith("| 0/2: never |")
    assert lines[("0.01", "SC")].endswith("| 2/2: 4.82e+03 [3.86e+03, 5.79e+03] |")
    assert "| 3 of 5 | 0.085 [0.08, 0.09] | 0.17 |" in lines[("0.01", "NSC")]
