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
    assert capsys.readouterr().out.split() == [str(png), str(cli_run / "loss_vs_shots_paper.png")]
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


# --- issue 14: a discoverable CLI, sample-complexity reports, sweeps over any key, clear errors -------


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == "slpa-jax 0.1.0"


def test_configs_lists_the_shipped_configs_and_the_reference(capsys):
    assert main(["configs"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:4]]
    assert names == ["fig4", "fig4_noise", "qpr", "quickstart"]
    assert main(["configs", "--reference"]) == 0
    docs = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "config.md")
    assert capsys.readouterr().out == open(docs).read()


def budget_rows(out: str) -> dict:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model "))
    return {r.split()[0]: [c.replace(",", "") for c in r.split()[1:]] for r in lines[start + 1 :]}


def test_dry_run_of_a_shipped_config_by_name(capsys, tmp_path):
    """Quickstart: L = 96, 24 blocks; spec section 4: B + 1 = 25 and 2L + 1 = 193 circuits per sample."""
    assert main(["run", "quickstart", "--dry-run", "--run-dir", str(tmp_path / "q")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("slpa-jax run --dry-run: quickstart") and "# resolved config" in out
    rows = budget_rows(out)
    for name, est, c in (("SLPA", "ancilla", 25), ("SC", "param_shift", 193)):
        per_seed = c * 1000 * 50 * 50  # circuits x shots x samples x epochs
        assert rows[name] == [est, str(c), str(c * 1000), str(c * 1000 * 50), str(per_seed), str(4 * per_seed)]
    assert not (tmp_path / "q").exists()


def test_dry_run_estimate_equals_what_the_run_spent(cfg_file, cli_run, capsys):
    assert main(["run", cfg_file, "--dry-run"]) == 0
    rows = budget_rows(capsys.readouterr().out)
    summary = json.loads((cli_run / "summary.json").read_text())
    for name, s in summary["models"].items():
        assert int(rows[name][4]) == s["shots_per_seed"] and float(rows[name][1]) == s["circuits_per_sample"]


def test_report_shots_to_reach_targets_and_the_ratio(cli_run, capsys):
    assert main(["report", str(cli_run), "--target", "test_loss<1", "--target", "test_loss<1e-9"]) == 0
    out = capsys.readouterr().out.splitlines()
    hist = runs.read_metrics(cli_run)
    assert all((hist[m]["test_loss"][:, 0] < 1).all() for m in hist)  # so the first target is met at epoch 1
    assert out[0].startswith("target: test_loss <= 1 ")
    # epoch-1 shots per seed: circuits per sample x samples x shots (spec: B + 1 = 4, 2L + 1 = 17); ratio 17/4;
    # the median crossing epoch is 1
    assert out[2].split() == ["SLPA", "first", "2/2", "2.560e+02", "2.560e+02", "2.560e+02", "1", "1"]
    assert out[3].split() == ["SC", "first", "2/2", "1.088e+03", "1.088e+03", "1.088e+03", "1", "4.25"]
    assert out[5].split() == ["SC", "sustained", "2/2", "1.088e+03", "1.088e+03", "1.088e+03", "1", "4.25"]
    assert out[7].startswith("target: test_loss <= 1e-09 ")
    assert out[9].split() == ["SLPA", "first", "0/2", "never", "never", "never", "never", "-"]
    assert (cli_run / "shots_to_target.png").read_bytes()[:4] == b"\x89PNG"
    assert (cli_run / "shots_to_target.csv").read_text().startswith("target,metric,direction,threshold,crossing,model")
    assert main(["report", str(cli_run), "--target", "test_loss=1"]) == 2
    assert "expected METRIC<VALUE or METRIC>VALUE" in capsys.readouterr().err


def test_compare_overlays_runs(cli_run, tmp_path, capsys):
    out = tmp_path / "c.png"
    assert main(["compare", str(cli_run), str(cli_run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out) and out.read_bytes()[:4] == b"\x89PNG"


def one_error_line(capsys, command="run") -> str:
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"slpa-jax {command}: error: "), cap.err
    return lines[0]


def test_filesystem_errors_exit_2_with_one_line_naming_the_path(cfg_file, tmp_path, capsys, monkeypatch):
    assert main(["run", str(tmp_path)]) == 2  # a directory given as the config
    assert one_error_line(capsys) == f"slpa-jax run: error: is a directory: {str(tmp_path)!r}"
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", cfg_file, "--run-dir", str(blocker / "sub"), "--no-progress"]) == 2  # a path through a file
    assert one_error_line(capsys) == f"slpa-jax run: error: not a directory: {str(blocker / 'sub' / 'checkpoints')!r}"

    def denied(path, payload):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(runs, "_save_atomic", denied)  # as a read-only run directory (tests may run as root)
    run_dir = tmp_path / "ro"
    assert main(["run", cfg_file, "--run-dir", str(run_dir), "--no-progress"]) == 2
    assert one_error_line(capsys) == f"slpa-jax run: error: permission denied: {str(run_dir / 'config.yaml')!r}"
    assert not (run_dir / runs.LOCK_NAME).exists()


def test_a_locked_or_diverging_run_exits_2(cfg_file, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / runs.LOCK_NAME).write_text(f"{os.getpid()} {__import__('socket').gethostname()}\n")
    assert main(["run", cfg_file, "--run-dir", str(run_dir), "--no-progress"]) == 2
    assert "is in use by process" in one_error_line(capsys)

    def diverged(*args, **kwargs):
        raise runs.TrainingDiverged("model 'SC' diverged at epoch 3: test_loss is nan for seed(s) [0]")

    monkeypatch.setattr(runs, "run_experiment", diverged)
    assert main(["run", cfg_file, "--run-dir", str(tmp_path / "d")]) == 2
    assert one_error_line(capsys).endswith("diverged at epoch 3: test_loss is nan for seed(s) [0]")


def test_sweep_over_any_key_with_run_dir_and_a_report(cfg_file, cli_run, tmp_path, capsys):
    sw = tmp_path / "sw"
    argv = [
        "sweep",
        cfg_file,
        "--over",
        "task.data_seed=[7, 8]",
        "--run-dir",
        str(sw),
        "--set",
        "train.checkpoint_every=2",
    ]
    assert main(argv) == 0
    cap = capsys.readouterr()
    out = cap.out
    assert "1/2" in cap.err and "2/2" in cap.err  # the progress bar moves every epoch, not every checkpoint
    assert out.startswith(f"slpa-jax sweep: 2 run(s) -> {sw}")
    index = json.loads((sw / "sweep-tiny.json").read_text())
    assert [(e["point"], os.path.basename(e["run_dir"])) for e in index] == [
        ({"task.data_seed": 7}, "tiny-data_seed7"),
        ({"task.data_seed": 8}, "tiny-data_seed8"),
    ]
    assert_same_run(sw / "tiny-data_seed7", cli_run)  # the config's own data seed: the same run
    import csv

    with open(sw / "sweep-tiny.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["task.data_seed", "run", "model", "seed", "epoch"]
    assert len(rows) == 2 * 2 * 2 * 2  # points x models x seeds x epochs
    h8 = runs.read_metrics(sw / "tiny-data_seed8")
    r = next(r for r in rows if (r["task.data_seed"], r["model"], r["seed"], r["epoch"]) == ("8", "SC", "1", "2"))
    assert float(r["test_loss"]) == h8["SC"]["test_loss"][1, 1]
    for png in ("sweep-tiny.png", "sweep-tiny-task.data_seed.png"):
        assert (sw / png).read_bytes()[:4] == b"\x89PNG"
    assert main(["report", str(sw / "sweep-tiny.json"), "--no-plot"]) == 0
    rep = capsys.readouterr().out
    assert rep.count("target: test_loss <= ") == 2 and (sw / "sweep-tiny-shots_to_target.csv").is_file()
