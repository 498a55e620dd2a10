"""The slpa-jax command line: run, sweep, plot, analyze, export; exit codes and messages."""

import json
import os

import numpy as np
import pytest
import yaml
from test_runs import SHOTS, assert_same_run, tiny_dict

from slpa_jax.analysis.report import ansatz_circuit, pattern_period
from slpa_jax.cli import main
from slpa_jax.export import load_export
from slpa_jax.export.run import export_run, gradient_plan
from slpa_jax.train import runs


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def cfg_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg")
    data = tiny_dict()
    data["output_dir"] = str(d / "out")
    return write_yaml(d / "tiny.yaml", data)


@pytest.fixture(scope="module")
def cli_run(cfg_file, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    assert main(["run", cfg_file, "--run-dir", str(run_dir), "--no-progress"]) == 0
    return run_dir


def test_run_prints_the_table_and_writes_the_run_directory(cfg_file, tmp_path, capsys):
    out_dir = tmp_path / "o"
    rc = main(["run", cfg_file, "--set", "train.epochs=1", "--set", f"output_dir={out_dir}", "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"slpa-jax run: tiny -> {out_dir / 'tiny'}"
    assert out[1].split()[:3] == ["model", "estimator", "epochs"]
    assert out[2].split()[:3] == ["SLPA", "ancilla", "1"] and out[3].split()[:3] == ["SC", "param_shift", "1"]
    assert out[-1] == f"plot: {out_dir / 'tiny' / 'loss_vs_shots.png'}"
    for f in ("config.yaml", "metrics.jsonl", "summary.json", "loss_vs_shots.png", "checkpoints/SC.ckpt"):
        assert (out_dir / "tiny" / f).is_file()
    assert yaml.safe_load((out_dir / "tiny" / "config.yaml").read_text())["train"]["epochs"] == 1


def test_run_shows_progress_bars(cfg_file, tmp_path, capsys):
    assert main(["run", cfg_file, "--set", "train.epochs=1", "--run-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "SLPA" in err and "SC" in err and "1/1" in err and "epoch" in err


@pytest.mark.parametrize(
    "args,match",
    [
        (["--set", "train.epochs=0"], "config key 'train.epochs': expected an int >= 1, got 0"),
        (["--set", "train.bogus=1"], "unknown config key 'train.bogus'"),
        (["--set", "models[0].ansatz=qaoa"], "config key 'models[0].ansatz': expected one of"),
        (["--set", "shots=[1, 2]"], "config key 'shots': a list ([1, 2]) is a sweep axis; use `slpa-jax sweep`"),
        (["--set", "train.epochs"], "override 'train.epochs': expected key=value"),
    ],
)
def test_bad_config_exits_2_naming_the_key(cfg_file, capsys, args, match):
    assert main(["run", cfg_file, *args]) == 2
    cap = capsys.readouterr()
    assert cap.err.startswith("slpa-jax run: error: ") and match in cap.err and cap.out == ""


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_interrupt_exits_130_with_a_resume_hint(cfg_file, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "run_experiment", interrupted)
    assert main(["run", cfg_file, "--run-dir", str(tmp_path / "r")]) == 130
    assert "interrupted; run the same command again to resume" in capsys.readouterr().err


def test_plot_redraws_from_metrics(cli_run, tmp_path, capsys):
    png = cli_run / "loss_vs_shots.png"
    png.unlink()
    assert main(["plot", str(cli_run)]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(tmp_path)]) == 2
    assert "has no metrics.jsonl" in capsys.readouterr().err


def test_sweep_runs_a_two_point_grid(cfg_file, cli_run, tmp_path, capsys):
    data = yaml.safe_load(open(cfg_file))
    data["train"]["seed"] = [3, 4]
    data["output_dir"] = str(tmp_path / "sw")
    assert main(["sweep", write_yaml(tmp_path / "grid.yaml", data), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("slpa-jax sweep: 2 run(s)")
    index = json.loads((tmp_path / "sw" / "sweep-grid.json").read_text())
    assert [(e["point"], os.path.basename(e["run_dir"])) for e in index] == [
        ({"train.seed": 3}, "tiny-seed3"),
        ({"train.seed": 4}, "tiny-seed4"),
    ]
    assert (tmp_path / "sw" / "sweep-grid.png").is_file()
    assert_same_run(tmp_path / "sw" / "tiny-seed3", cli_run)  # same settings as the seed-3 run
    a = runs.read_metrics(tmp_path / "sw" / "tiny-seed4")["SC"]["test_loss"]
    assert not np.array_equal(a, runs.read_metrics(cli_run)["SC"]["test_loss"])


@pytest.mark.parametrize(
    "argv,lines",
    [
        (
            ["slpa", "--n-params", "48"],
            [
                "X_exp: 60",
                "groups: 11",
                "pattern period P: 48",
                "F_eff deep: 4.0",
                "bound 4^n/F - F: 60.0",
                "saturated: True",
            ],
        ),
        (["sc", "--n-params", "24"], ["X_exp: 60", "F_eff deep: 1.0", "bound 4^n/F - F: 255.0", "saturated: False"]),
        (["nsc", "--n-params", "24"], ["X_exp: 255", "F_eff deep: 1.0", "saturated: True"]),
    ],
)
def test_analyze_reports_the_spec_numbers(argv, lines, capsys):
    """Spec sections 2, 5: X_exp(SLPA) = X_exp(SC) = 60, NSC 255; F_eff 4 / 1 / 1; bounds 60 and 255."""
    assert main(["analyze", *argv]) == 0
    out = capsys.readouterr().out.splitlines()
    for line in lines:
        assert line in out


def test_analyze_errors_and_skip(capsys):
    assert main(["analyze", "slpa", "--n-params", "10"]) == 2
    assert "multiple of 4" in capsys.readouterr().err
    assert main(["analyze", "hea"]) == 2
    assert "unknown ansatz 'hea'" in capsys.readouterr().err
    assert main(["analyze", "fig10_sc", "--n-qubits", "8", "--n-params", "8", "--max-dense-qubits", "6"]) == 0
    assert "F_eff(L): skipped: dense gradient operators need n_qubits <= 6" in capsys.readouterr().out


def test_pattern_period():
    assert pattern_period(ansatz_circuit("sc", 4, 96).circuit) == 12
    assert pattern_period(ansatz_circuit("slpa", 4, 96).circuit, 4) == 48
    assert pattern_period(ansatz_circuit("slpa", 4, 48).circuit, 4) is None  # one period only
    assert pattern_period(ansatz_circuit("fig10_sc", 6, 72).circuit, 3) == 18  # 6 layers of n/2 gates


def test_export_writes_every_model(cli_run, capsys):
    assert main(["export", str(cli_run), "--format", "qasm3"]) == 0
    paths = capsys.readouterr().out.split()
    assert paths == [str(cli_run / "export-qasm3" / m / "manifest.json") for m in ("SLPA", "SC")]
    cfg, models, params = runs.load_run(cli_run)
    summary = json.loads((cli_run / "summary.json").read_text())
    for name, method in (("SLPA", "ancilla"), ("SC", "param_shift")):
        man = load_export(cli_run / "export-qasm3" / name)
        assert man["gradient_method"] == method and man["fmt"] == "qasm3"
        np.testing.assert_allclose(man["params"], params[name][0], rtol=0, atol=0)
        # the exported plan has as many circuits per training sample as training spent
        assert man["executions_per_step"] == summary["models"][name]["circuits_per_sample"]
        assert (cli_run / "export-qasm3" / name / man["model"]).read_text().startswith("OPENQASM 3")
    assert summary["models"]["SLPA"]["shots_per_seed"] == 2 * 4 * 4 * SHOTS


def test_export_one_model_one_seed_qasm2(cli_run, tmp_path):
    written = export_run(cli_run, "qasm2", out_dir=tmp_path / "e", model="SC", seed=1)
    assert written == [str(tmp_path / "e" / "SC" / "manifest.json")]
    man = load_export(tmp_path / "e" / "SC")
    np.testing.assert_array_equal(man["params"], runs.load_run(cli_run)[2]["SC"][1])
    assert (tmp_path / "e" / "SC" / "model.qasm").read_text().startswith("OPENQASM 2.0")


@pytest.mark.parametrize(
    "args,match",
    [
        (["--model", "NSC"], "export_run: model 'NSC' not in run"),
        (["--seed", "2"], "export_run: seed must be an int in [0, 2), got 2"),
    ],
)
def test_export_errors(cli_run, capsys, args, match):
    assert main(["export", str(cli_run), *args]) == 2
    assert match in capsys.readouterr().err


def test_export_errors_direct(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"is not a run directory"):
        export_run(tmp_path, "qasm3")
    with pytest.raises(ValueError, match=r"export_run: fmt must be one of \['qasm2', 'qasm3', 'qiskit'\], got 'pdf'"):
        export_run(tmp_path, "pdf")
    assert gradient_plan("ancilla_free") == (True, "ancilla_free") and gradient_plan("exact") == (False, "param_shift")
    with pytest.raises(ValueError, match=r"export_run: unknown estimator 'spsa'"):
        gradient_plan("spsa")
