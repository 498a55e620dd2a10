"""The experiment scripts' own computations (the scripts live outside the package)."""

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"experiments_{name}", EXPERIMENTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def fig3_maps():
    return _load("fig3").commutation_maps(24, jax.random.key(0))


def test_fig3_maps_are_symmetric_with_a_true_diagonal(fig3_maps):
    assert set(fig3_maps) == {"SLPA", "SC", "NSC"}
    for m, c in fig3_maps.items():
        assert c.shape == (24, 24) and c.dtype == bool, m
        np.testing.assert_array_equal(c, c.T)
        assert c.diagonal().all(), m


def test_fig3_slpa_map_has_the_block_structure(fig3_maps):
    # spec: the gradient operators of one SLPA block {L, L XXXX, L ZZZZ, L YYYY} commute (one setting
    # per block), so every 4 x 4 diagonal block is all True; F_eff -> 4 needs no more than that
    c = fig3_maps["SLPA"]
    for b in range(6):
        assert c[4 * b : 4 * b + 4, 4 * b : 4 * b + 4].all(), b
    # the SC map (same Pauli set, one rotation per logical) is far sparser: F_eff -> 1
    off = ~np.eye(24, dtype=bool)
    assert c[off].mean() > 2 * fig3_maps["SC"][off].mean()


def test_fig10_l_per_n_points_map_to_each_models_layers():
    fig10 = _load("fig10")
    # SC: L = d n / 2, so L/n = 8 is d = 16; SLPA: L = 2 d n, so L/n = 8 is d = 4
    assert fig10.depths_for("SC", None, [8, 156]) == [16, 312]
    assert fig10.depths_for("SLPA", [1], [8, 156]) == [1, 4, 78]
    with pytest.raises(SystemExit, match="L/n must be even"):
        fig10.depths_for("SLPA", None, [3])


def test_fig10_plateau_is_reached_where_every_deeper_point_stays_within_tol():
    fig10 = _load("fig10")

    def row(model, L, ratio):
        return {"n": 4, "model": model, "L": L, "depth": L, "variance": 0.1 * ratio, "plateau": 0.1}

    rows = [row("SC", 4, 3.0), row("SC", 8, 1.02), row("SC", 12, 1.05), row("SC", 16, 0.99), row("SC", 20, 1.01)]
    rows += [row("SLPA", 8, 2.0), row("SLPA", 16, 1.5)]
    got = fig10.plateau_reached(rows, tol=0.03)
    assert got[(4, "SC")] == (4.0, 16)  # L = 8 is within 3 % but L = 12 is not: first sustained is L = 16
    assert got[(4, "SLPA")] is None
    assert "not reached" in fig10.plateau_table(rows)


def test_vqe_configs_and_shots_to_target(tmp_path):
    """experiments/vqe.py without training: its configs parse (three models with the same parameter
    count; the SC circuit is the SLPA's logical pattern, one rotation per logical) and the
    shots-to-target column matches a by-hand reading of a small history."""
    from argparse import Namespace

    from slpa_jax.train.config import parse_config
    from slpa_jax.train.runs import build_model

    vqe = _load("vqe")
    base = vqe.ROOT / "configs" / "vqe_xxz.yaml"
    args = Namespace(config=base, runs=tmp_path, shots=100, epochs=2, seeds=1, params=16)
    cfg = parse_config(vqe.problem_config("h2", args))
    assert [m.name for m in cfg.models] == ["SLPA", "SC", "HEA"] and cfg.task.n_qubits == 4
    slpa, sc = build_model(cfg, 0), build_model(cfg, 1)
    assert slpa.circuit.n_params == sc.circuit.n_params == 16  # |S| = 8 (H2: <ZZII, ZIZI, ZIIZ>), 2 blocks
    logicals = [slpa.circuit.generators[a].letters for a, _ in slpa.block_circuit.blocks]
    assert sc.circuit.generators.labels()[:2] == logicals  # block b starts with its logical
    shots = np.array([[10, 20, 30, 40]])
    err = np.array([[0.5, 0.04, 0.2, 0.01]])
    assert vqe.shots_below(shots, err, 0.05) == [20.0] and vqe.shots_below(shots, err, 0.001) == [None]
