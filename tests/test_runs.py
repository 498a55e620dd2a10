"""Run directories: files written, shot accounting, losses vs a dense reference, resume, errors."""

import copy
import ctypes
import dataclasses
import json
import os
import re
import shutil
import threading

import jax
import numpy as np
import pytest
import yaml
from conftest import EPS, TOL
from reference import brute_product, dense_expectation

from slpa_jax.blocks.gradient import block_measurements
from slpa_jax.train import runs, training
from slpa_jax.train.config import ConfigError, apply_overrides, config_to_dict, expand_sweep, load_config, parse_config

CONFIG_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "configs")
SHOTS = 16
N_TRAIN = 4
# spec section 5: the SC pattern; SLPA block b = {L, L XXXX, L ZZZZ, L YYYY} for the logical L = SC gate b
SC_PATTERN = "XXII IIYY IZZI XIIX YYII IIZZ IXXI YIIY ZZII IIXX IYYI ZIIZ".split()


def tiny_dict(**over) -> dict:
    d = {
        "name": "tiny",
        "task": {"kind": "symmetric_unitary", "n_qubits": 4, "n_train": N_TRAIN, "n_test": 4, "data_seed": 7},
        "models": [
            {"name": "SLPA", "ansatz": "slpa", "estimator": "ancilla", "n_params": 12},
            {"name": "SC", "ansatz": "sc", "estimator": "param_shift", "n_params": 8},
        ],
        "shots": SHOTS,
        # one model at a time: the interrupt tests count epochs in order (threads: test_parallel_models_*)
        "train": {"epochs": 2, "n_seeds": 2, "batch_size": 2, "checkpoint_every": 1, "seed": 3, "parallel_models": 1},
    }
    return apply_overrides(d, [f"{k}={v}" for k, v in over.items()])


def tiny_cfg(**over):
    return parse_config(tiny_dict(**over))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The uninterrupted reference run (2 models x 2 seeds x 2 epochs, a checkpoint after every epoch)."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    summary = runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    return run_dir, summary


def spec_labels(ansatz: str, n_params: int) -> list[str]:
    if ansatz == "sc":
        return [SC_PATTERN[i % 12] for i in range(n_params)]
    out = []
    for b in range(n_params // 4):
        logical = SC_PATTERN[b % 12]
        out += [logical] + [brute_product(0, logical, 0, s)[1] for s in ("XXXX", "ZZZZ", "YYYY")]
    return out


def test_run_directory_layout(tiny_run):
    run_dir, summary = tiny_run
    for f in (
        "config.yaml",
        "metrics.jsonl",
        "summary.json",
        "loss_vs_shots.png",
        "checkpoints/SLPA.ckpt",
        "checkpoints/SC.ckpt",
    ):
        assert (run_dir / f).is_file(), f
    assert (run_dir / "loss_vs_shots.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert parse_config(yaml.safe_load((run_dir / "config.yaml").read_text())) == tiny_cfg()
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["model"], r["epoch"]) for r in lines] == [("SLPA", 1), ("SLPA", 2), ("SC", 1), ("SC", 2)]
    assert all(len(r[k]) == 2 for r in lines for k in ("train_loss", "test_loss", "shots", "executions"))
    # regression task: no accuracy logged or plotted
    assert all("test_accuracy" not in r for r in lines) and not (run_dir / runs.ACCURACY_PLOT_NAME).exists()
    assert all("final_test_accuracy_mean" not in s for s in summary["models"].values())


def test_shot_accounting_follows_the_spec(tiny_run):
    """Spec section 4: per sample, SLPA (ancilla) B + 1 circuits, parameter shift 2L + 1, N shots each."""
    run_dir, summary = tiny_run
    hist = runs.read_metrics(run_dir)
    per_sample = {"SLPA": 12 // 4 + 1, "SC": 2 * 8 + 1}
    for name, c in per_sample.items():
        execs = np.array([[c * N_TRAIN * (e + 1) for e in range(2)]] * 2)
        np.testing.assert_array_equal(hist[name]["executions"], execs)
        np.testing.assert_array_equal(hist[name]["shots"], SHOTS * execs)
        s = summary["models"][name]
        assert s["circuits_per_sample"] == c and s["shots_per_seed"] == 2 * c * N_TRAIN * SHOTS
        assert s["shots_per_epoch"] == c * N_TRAIN * SHOTS and s["epochs"] == 2


def test_logged_losses_match_a_dense_reference(tiny_run):
    """Final losses in metrics/summary = dense MSE of the checkpointed parameters on the task's data."""
    run_dir, summary = tiny_run
    cfg, models, params = runs.load_run(run_dir)
    data = runs.build_dataset(cfg)
    hist = runs.read_metrics(run_dir)
    for mcfg in cfg.models:
        labels = spec_labels(mcfg.ansatz, mcfg.n_params)
        assert [r.pauli.letters for r in models[mcfg.name].circuit.rotations] == labels
        assert params[mcfg.name].shape == (2, mcfg.n_params)
        for s in range(2):
            ops = [("R", lab, t) for lab, t in zip(labels, params[mcfg.name][s])]
            for part, key in (("train", "train_loss"), ("test", "test_loss")):
                states, y = getattr(data, f"{part}_states"), getattr(data, f"{part}_labels")
                f = np.array([dense_expectation(ops, 4, [(1.0, "XXII")], psi) for psi in states])
                np.testing.assert_allclose(hist[mcfg.name][key][s, -1], np.mean((f - y) ** 2), atol=TOL["float64"])
        te = hist[mcfg.name]["test_loss"][:, -1]
        assert summary["models"][mcfg.name]["final_test_loss_mean"] == pytest.approx(np.mean(te), abs=EPS["float64"])
        assert summary["models"][mcfg.name]["final_test_loss_max"] == pytest.approx(np.max(te), abs=EPS["float64"])


def test_summary_table(tiny_run):
    table = runs.summary_table(tiny_run[1]).splitlines()
    assert table[0].split() == [
        "model",
        "estimator",
        "epochs",
        "train",
        "loss",
        "test",
        "loss",
        "shots/seed",
        "circuits/sample",
    ]
    assert table[1].split()[:3] == ["SLPA", "ancilla", "2"] and table[1].split()[-2:] == ["5.120e+02", "4"]
    assert table[2].split()[:3] == ["SC", "param_shift", "2"] and table[2].split()[-2:] == ["2.176e+03", "17"]


def assert_same_run(a, b):
    ha, hb = runs.read_metrics(a), runs.read_metrics(b)
    assert list(ha) == list(hb)
    for m in ha:
        for k in ha[m]:
            np.testing.assert_array_equal(ha[m][k], hb[m][k])
    pa, pb = runs.load_run(a)[2], runs.load_run(b)[2]
    for m in pa:
        np.testing.assert_array_equal(pa[m], pb[m])


class Interrupt:
    """``train_epochs`` that raises KeyboardInterrupt on its ``at``-th call (as Ctrl-C mid-chunk)."""

    def __init__(self, at):
        self.at, self.calls, self.real = at, 0, training.train_epochs

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.real(*args, **kwargs)


@pytest.mark.parametrize("at,slpa_epochs", [(2, 1), (3, 2)])
def test_resume_after_interrupt_equals_uninterrupted(tiny_run, tmp_path, monkeypatch, at, slpa_epochs):
    run_dir = tmp_path / "tiny"
    monkeypatch.setattr(training, "train_epochs", Interrupt(at))
    with pytest.raises(KeyboardInterrupt):
        runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    monkeypatch.undo()
    assert runs._ckpt_epochs(run_dir / "checkpoints" / "SLPA.ckpt") == slpa_epochs
    assert not (run_dir / "checkpoints" / "SC.ckpt").exists() and not (run_dir / "summary.json").exists()
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == slpa_epochs
    summary = runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    assert summary["models"]["SLPA"]["epochs_this_session"] == 2 - slpa_epochs
    assert_same_run(run_dir, tiny_run[0])
    drop = ("wall_seconds_this_session", "epochs_this_session")
    for name, s in summary["models"].items():
        ref = tiny_run[1]["models"][name]
        assert {k: v for k, v in s.items() if k not in drop} == {k: v for k, v in ref.items() if k not in drop}


class InterruptCaller:
    """``train_epochs`` that raises KeyboardInterrupt in the thread that built it (the one calling
    ``run_experiment``, waiting for the model threads: as Ctrl-C) on its ``at``-th call, and finishes that
    epoch. An asynchronous exception, not ``_thread.interrupt_main``: pytest-xdist may run tests outside
    the main thread."""

    def __init__(self, at):
        self.at, self.calls, self.real, self.lock = at, 0, training.train_epochs, threading.Lock()
        self.target = threading.get_ident()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            fire = self.calls == self.at
        if fire:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), ctypes.py_object(KeyboardInterrupt))
        return self.real(*args, **kwargs)


@pytest.mark.parametrize("fault", ["ctrl_c", "model_error"])
def test_parallel_models_equal_one_at_a_time_and_stop_cleanly(tiny_run, tmp_path, monkeypatch, fault):
    """Models trained in threads give the sequential run's metrics and parameters exactly; Ctrl-C (in the
    waiting thread) or one model's failure stops every model with its finished epochs checkpointed, and the
    resumed run equals the uninterrupted one."""
    run_dir = tmp_path / "tiny"
    cfg = tiny_cfg(**{"train.parallel_models": 2, "train.checkpoint_every": 5})
    monkeypatch.setattr(training, "train_epochs", InterruptCaller(2) if fault == "ctrl_c" else Interrupt(2))
    with pytest.raises(KeyboardInterrupt):
        runs.run_experiment(cfg, run_dir, progress=False)
    monkeypatch.undo()
    logged = {m: h["shots"].shape[1] for m, h in runs.read_metrics(run_dir).items()}
    for m in ("SLPA", "SC"):  # every logged epoch is checkpointed (checkpoint_every=5 > epochs: by the stop)
        path = run_dir / "checkpoints" / f"{m}.ckpt"
        assert (runs._ckpt_epochs(path) if path.exists() else 0) == logged.get(m, 0)
    assert sum(logged.values()) >= (2 if fault == "ctrl_c" else 1) and not (run_dir / "summary.json").exists()
    summary = runs.run_experiment(cfg, run_dir, progress=False)
    assert sum(s["epochs_this_session"] for s in summary["models"].values()) == 4 - sum(logged.values())
    assert_same_run(run_dir, tiny_run[0])


def test_parallel_models_rule():
    """``auto``: one model per core on one CPU device up to PARALLEL_MAX_QUBITS qubits, else one at a time."""
    cpu = jax.devices("cpu")[:1]
    auto = tiny_cfg(**{"train.parallel_models": "auto"})
    cores = runs.available_cores()
    assert runs.parallel_models(auto, 3, cpu) == min(cores, 3)
    assert runs.parallel_models(auto, 1, cpu) == 1
    assert runs.parallel_models(auto, 3, cpu, distributed=True) == 1
    assert runs.parallel_models(auto, 3, [cpu[0], cpu[0]]) == 1  # several devices: one program at a time
    big = dataclasses.replace(auto, task=dataclasses.replace(auto.task, n_qubits=runs.PARALLEL_MAX_QUBITS + 1))
    assert runs.parallel_models(big, 3, cpu) == 1
    assert runs.parallel_models(tiny_cfg(**{"train.parallel_models": 5}), 3, cpu) == 3


def test_extending_a_finished_run_equals_the_longer_run(tiny_run, tmp_path):
    """train.epochs may grow (and checkpoint_every change): 1 epoch, then extended to 2 == 2 at once."""
    run_dir = tmp_path / "tiny"
    runs.run_experiment(tiny_cfg(**{"train.epochs": 1, "train.checkpoint_every": 5}), run_dir, progress=False)
    again = runs.run_experiment(tiny_cfg(**{"train.epochs": 1, "train.checkpoint_every": 5}), run_dir, progress=False)
    assert again["models"]["SC"]["epochs_this_session"] == 0
    runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    assert_same_run(run_dir, tiny_run[0])
    assert parse_config(yaml.safe_load((run_dir / "config.yaml").read_text())) == tiny_cfg()


def test_config_change_in_a_run_directory_is_an_error(tiny_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    before = (run_dir / "config.yaml").read_text()
    with pytest.raises(
        ConfigError,
        match=r"holds a different config; resuming needs the same config .*"
        r"Differing keys: shots \(16 in the run directory, 32 now\), "
        r"train\.lr \(0\.001 in the run directory, 0\.002 now\)",
    ):
        runs.run_experiment(tiny_cfg(**{"train.lr": 0.002, "shots": 32}), run_dir, progress=False)
    with pytest.raises(ConfigError, match=r"models\[1\]\.n_params \(8 in the run directory, 4 now\)"):
        runs.run_experiment(tiny_cfg(**{"models[1].n_params": 4}), run_dir, progress=False)
    with pytest.raises(
        ConfigError,
        match=r"config key 'train\.epochs': expected >= 2, the epochs model 'SLPA' "
        r"already ran",
    ):
        runs.run_experiment(tiny_cfg(**{"train.epochs": 1}), run_dir, progress=False)
    assert (run_dir / "config.yaml").read_text() == before
    with pytest.raises(TypeError, match=r"run_experiment: cfg must be a Config"):
        runs.run_experiment(tiny_dict(), run_dir)


def tamper(path, fn):
    from flax import serialization

    raw = serialization.msgpack_restore(path.read_bytes())
    fn(raw)
    path.write_bytes(serialization.msgpack_serialize(raw))


def test_bad_checkpoints_are_clear_errors(tiny_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    ckpt = run_dir / "checkpoints" / "SC.ckpt"
    good = ckpt.read_bytes()
    tamper(ckpt, lambda raw: raw["meta"].update(dtype="float32"))
    with pytest.raises(
        ValueError,
        match=r"SC\.ckpt' holds float32 parameters but this process uses float64; "
        r"resume with the same precision \(unset JAX_ENABLE_X64\)",
    ):
        runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    assert runs.load_run(run_dir)[2]["SC"].shape == (2, 8)  # reading (not resuming) accepts it
    ckpt.write_bytes(good)
    tamper(ckpt, lambda raw: raw["history"].update({k: v[:, :1] for k, v in raw["history"].items()}))
    with pytest.raises(ValueError, match=r"SC\.ckpt' holds 1 logged epochs for a state at epoch 2; delete it"):
        runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    ckpt.write_bytes(b"not a checkpoint")
    (run_dir / "checkpoints" / "SC.prev.ckpt").write_bytes(b"nor is this")  # no fallback either
    with pytest.raises(ValueError, match=r"SC\.ckpt' cannot be read .*delete it to restart this model"):
        runs.run_experiment(tiny_cfg(), run_dir, progress=False)


def test_load_run_and_read_metrics_errors(tiny_run, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load_run: .* is not a run directory \(no config\.yaml\)"):
        runs.load_run(tmp_path)
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    shutil.rmtree(run_dir / "checkpoints")
    with pytest.raises(FileNotFoundError, match=r"load_run: no checkpoints in"):
        runs.load_run(run_dir)
    (run_dir / "metrics.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(ValueError, match=r"read_metrics: .* line 1 is not a metrics record"):
        runs.read_metrics(run_dir)


def test_qpr_task_every_estimator_smoke(tmp_path):
    """Cluster-Ising QPR with BCE: ancilla-free block gradients and exact gradients, one epoch."""
    d = tiny_dict(**{"task.kind": "cluster_ising_qpr", "train.loss": "bce", "train.epochs": 1, "train.n_seeds": 1})
    d["models"] = [
        {"name": "QS", "ansatz": "qpr_slpa", "estimator": "ancilla_free", "n_params": 8},
        {"name": "QH", "ansatz": "qpr_hea", "estimator": "exact", "n_params": 5},
    ]
    summary = runs.run_experiment(parse_config(d), tmp_path / "qpr", progress=False)
    qs, qh = summary["models"]["QS"], summary["models"]["QH"]
    bc = runs.build_model(parse_config(d), 0).block_circuit
    assert qs["circuits_per_sample"] == len(block_measurements(bc, "ancilla_free")) + 1 and qs["shots_per_seed"] > 0
    assert qh["shots_per_seed"] == 0 and qh["circuits_per_sample"] == 0
    for s in (qs, qh):
        assert s["final_test_accuracy_mean"] * 4 in (0, 1, 2, 3, 4) and np.isfinite(s["final_test_loss_mean"])
    assert (tmp_path / "qpr" / "loss_vs_shots.png").is_file()
    # accuracy: logged per epoch and seed, equal to the sign rule on a dense reference of the trained params
    assert (tmp_path / "qpr" / runs.ACCURACY_PLOT_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cfg, models, params = runs.load_run(tmp_path / "qpr")
    data, hist = runs.build_dataset(cfg), runs.read_metrics(tmp_path / "qpr")
    for name in ("QS", "QH"):
        ops = [("R", r.pauli.letters, t) for r, t in zip(models[name].circuit.rotations, params[name][0])]
        for part in ("train", "test"):
            states, y = getattr(data, f"{part}_states"), getattr(data, f"{part}_labels")
            f = np.array([dense_expectation(ops, 4, [(1.0, "ZXZI")], psi) for psi in states])
            assert hist[name][f"{part}_accuracy"].shape == (1, 1)
            assert hist[name][f"{part}_accuracy"][0, 0] == pytest.approx(np.mean(np.sign(f) == y), abs=EPS["float64"])
            assert summary["models"][name][f"final_{part}_accuracy_max"] == hist[name][f"{part}_accuracy"][0, 0]
    assert runs.summary_table(summary).splitlines()[0].split()[-2:] == ["test", "acc"]


def test_shots_to_reach_and_history_padding():
    hist = {
        "shots": np.array([[10, 20, 30, 40], [5, 10, 15, 20]]),
        "test_accuracy": np.array([[0.5, 0.95, 0.8, 0.92], [0.1, 0.2, 0.3, 0.4]]),
    }
    np.testing.assert_array_equal(runs.shots_to_reach(hist, 0.9), [20, np.nan])
    np.testing.assert_array_equal(runs.shots_to_reach(hist, 0.9, sustained=True), [40, np.nan])
    np.testing.assert_array_equal(runs.shots_to_reach(hist, 0.3, sustained=True), [10, 15])
    with pytest.raises(KeyError, match=r"shots_to_reach: metric 'train_accuracy' not in the history"):
        runs.shots_to_reach(hist, 0.9, key="train_accuracy")
    # a metric first logged after a resume gets NaN for the epochs before it
    old = {"shots": np.array([[1, 2]]), "test_loss": np.array([[0.5, 0.4]])}
    new = runs._append_history(
        old, {"shots": np.array([[3]]), "test_loss": np.array([[0.3]]), "test_accuracy": np.array([[0.75]])}
    )
    np.testing.assert_array_equal(new["test_accuracy"], [[np.nan, np.nan, 0.75]])
    np.testing.assert_array_equal(new["shots"], [[1, 2, 3]])


@pytest.mark.parametrize("path", sorted(p for p in os.listdir(CONFIG_DIR) if p.endswith(".yaml")))
def test_every_config_one_step_smoke(path, tmp_path):
    """Each shipped config (its first sweep point) at a tiny size (n = 4): every model is built, and the first
    model of each gradient estimator trains one epoch (the others differ only in their circuit labels; each
    compiled training program costs seconds); with a noise section only the first model trains."""
    raw = load_config(os.path.join(CONFIG_DIR, path))
    point_cfg = expand_sweep(copy.deepcopy(raw))[0][1]
    d = config_to_dict(point_cfg)
    if not any(m["ansatz"] == "custom" for m in d["models"]):  # a custom circuit fixes its own size
        d["task"].update(n_qubits=4)
    ground = d["task"]["kind"] == "ground_state"  # one sample: the initial state
    if not ground:
        d["task"].update(n_train=N_TRAIN, n_test=4)
    d["train"].update(epochs=1, n_seeds=2, batch_size=1 if ground else 2, checkpoint_every=1)
    d["shots"] = SHOTS
    for m in d["models"]:
        if m["ansatz"] != "custom":
            m["n_params"] = 12 if m["ansatz"] == "slpa" else 8  # the tiny run's sizes: compiled programs are reused
        elif isinstance(m["circuit"], dict) and "layers" in m["circuit"]:
            m["n_params"] = m["n_params"] // m["circuit"]["layers"] if m.get("n_params") else None
            m["circuit"]["layers"] = 1  # one layer of a layered custom circuit: the same parsing, a smaller program
    full = parse_config(d)
    assert [runs.build_model(full, i).n_params for i in range(len(full.models))] == [m["n_params"] for m in d["models"]]
    first = {m["estimator"]: m for m in reversed(d["models"])}
    d["models"] = [m for m in d["models"] if first[m["estimator"]] is m]
    if d.get("noise") is not None:  # noisy programs compile slowly: one model here (test_noise_config
        d["models"] = d["models"][:1]  # and test_noisy_block_gradient train every estimator under noise)
    summary = runs.run_experiment(parse_config(d), tmp_path / "r", progress=False)
    assert list(summary["models"]) == [m["name"] for m in d["models"]]
    assert all(s["epochs"] == 1 and np.isfinite(s["final_test_loss_mean"]) for s in summary["models"].values())


# --- robustness (issue 14 item 5) and tidy results (item 3) ----------------------------------------


def sc_only(**over):
    """The tiny config with only its SC model (the cheapest; programs shared with tiny_run)."""
    d = tiny_dict(**over)
    d["models"] = d["models"][1:]
    return parse_config(d)


def test_run_leaves_no_tmp_or_lock_and_strict_tidy_results(tiny_run):
    run_dir, summary = tiny_run
    leftovers = [p for p in run_dir.rglob("*") if p.name.endswith(".tmp") or p.name == runs.LOCK_NAME]
    assert leftovers == []
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "SC.ckpt",
        "SC.prev.ckpt",
        "SLPA.ckpt",
        "SLPA.prev.ckpt",
    ]
    assert runs._ckpt_epochs(run_dir / "checkpoints" / "SC.prev.ckpt") == 1  # the last two are kept
    hist = runs.read_metrics(run_dir)
    import csv

    with open(run_dir / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 2  # models x seeds x epochs
    for r in rows:
        h = hist[r["model"]]
        s, e = int(r["seed"]), int(r["epoch"]) - 1
        assert float(r["test_loss"]) == h["test_loss"][s, e] and int(r["shots"]) == h["shots"][s, e]


def test_metrics_and_summary_are_strict_json_nan_as_null(tiny_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    hist = runs.read_metrics(run_dir)
    hist["SC"]["test_loss"][1, 0] = np.nan
    runs._write_metrics(run_dir, hist)
    text = (run_dir / "metrics.jsonl").read_text()
    assert "NaN" not in text and json.loads(text.splitlines()[2])["test_loss"] == [hist["SC"]["test_loss"][0, 0], None]
    back = runs.read_metrics(run_dir)
    assert np.isnan(back["SC"]["test_loss"][1, 0]) and back["SC"]["shots"].dtype.kind == "i"
    np.testing.assert_array_equal(back["SLPA"]["test_loss"], hist["SLPA"]["test_loss"])


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tiny_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    (run_dir / "checkpoints" / "SC.ckpt").write_bytes(b"\x00truncated")
    with pytest.warns(UserWarning, match=r"SC\.ckpt' cannot be read .*using the previous checkpoint .*SC\.prev\.ckpt"):
        summary = runs.run_experiment(tiny_cfg(), run_dir, progress=False)
    assert summary["models"]["SC"]["epochs_this_session"] == 1  # epoch 2 redone from the epoch-1 checkpoint
    assert_same_run(run_dir, tiny_run[0])
    assert runs._readable(run_dir / "checkpoints" / "SC.prev.ckpt")  # the corrupt file was not kept as fallback


def test_one_corrupt_model_does_not_block_the_others(tiny_run, tmp_path):
    from slpa_jax.export.run import export_run

    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run_dir)
    for f in ("SC.ckpt", "SC.prev.ckpt"):
        (run_dir / "checkpoints" / f).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=r"load_run: skipping model 'SC': checkpoint .*SC\.ckpt' cannot be read"):
        _, models, params = runs.load_run(run_dir)
    assert list(models) == ["SLPA"] and params["SLPA"].shape == (2, 12)
    with pytest.warns(UserWarning, match=r"skipping model 'SC'"):
        written = export_run(run_dir, "qasm2", out_dir=tmp_path / "e")
    assert written == [str(tmp_path / "e" / "SLPA" / "manifest.json")]
    for f in ("SLPA.ckpt", "SLPA.prev.ckpt"):
        (run_dir / "checkpoints" / f).write_bytes(b"garbage")
    with pytest.warns(UserWarning), pytest.raises(FileNotFoundError, match=r"load_run: no checkpoints in .*none could"):
        runs.load_run(run_dir)


def test_run_directory_lock(tmp_path):
    import subprocess
    import sys

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    lock = run_dir / runs.LOCK_NAME
    import socket

    lock.write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live process holds it
    with pytest.raises(runs.RunLocked, match=r"run directory .* is in use by process \d+ on .*lock file .*\.lock"):
        runs.run_experiment(sc_only(**{"train.epochs": 1}), run_dir, progress=False)
    assert not (run_dir / "config.yaml").exists() and lock.exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid} {socket.gethostname()}\n")  # a killed run's lock
    with pytest.warns(UserWarning, match=rf"removing the stale lock .* of process {dead.pid}, which no longer runs"):
        summary = runs.run_experiment(sc_only(**{"train.epochs": 1}), run_dir, progress=False)
    assert summary["models"]["SC"]["epochs"] == 1 and not lock.exists()


def test_a_run_failing_before_its_first_epoch_does_not_lock_its_config(tmp_path, monkeypatch):
    run_dir = tmp_path / "r"

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(training, "train_epochs", boom)
    with pytest.raises(RuntimeError, match="boom"):
        runs.run_experiment(sc_only(**{"train.epochs": 1}), run_dir, progress=False)
    monkeypatch.undo()
    assert (run_dir / "config.yaml").exists() and not (run_dir / runs.LOCK_NAME).exists()
    fixed = sc_only(**{"train.epochs": 1, "task.data_seed": 8})  # a corrected config in the same directory
    assert runs.run_experiment(fixed, run_dir, progress=False)["models"]["SC"]["epochs"] == 1
    assert parse_config(yaml.safe_load((run_dir / "config.yaml").read_text())) == fixed


def test_a_diverging_run_stops_naming_the_epoch_and_metric(tmp_path, monkeypatch):
    real = training.train_epochs

    def diverge(model, data, opt, state, n, **kw):
        new, metrics = real(model, data, opt, state, n, **kw)
        if int(new.epoch) == 2:
            metrics["test_loss"] = metrics["test_loss"].copy()
            metrics["test_loss"][1, -1] = np.inf
        return new, metrics

    monkeypatch.setattr(training, "train_epochs", diverge)
    run_dir = tmp_path / "r"
    with pytest.raises(
        runs.TrainingDiverged,
        match=r"model 'SC' diverged at epoch 2: test_loss is inf for seed\(s\) \[1\]; the last finite epoch \(1\) "
        r"is checkpointed in .*SC\.ckpt'\. Lower train\.lr \(now 0\.001\)",
    ):
        runs.run_experiment(sc_only(**{"train.checkpoint_every": 5}), run_dir, progress=False)
    assert runs._ckpt_epochs(run_dir / "checkpoints" / "SC.ckpt") == 1
    assert runs.read_metrics(run_dir)["SC"]["test_loss"].shape == (2, 1)
    assert not (run_dir / runs.LOCK_NAME).exists()
    # non-finite parameters are caught too
    bad_state = training.TrainState(np.array([[0.0, np.nan]]), None, None, np.asarray(1), None, None)
    assert runs._non_finite(bad_state, {"train_loss": np.ones((1, 1)), "test_loss": np.ones((1, 1))}) == (
        "the parameters are not finite for seed(s) [0]"
    )


def test_disk_full_mid_run_names_the_file_and_damages_nothing(tmp_path, monkeypatch):
    run_dir = tmp_path / "r"
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > 4:  # config, SC checkpoint, metrics.jsonl, metrics.csv of epoch 1; then the disk is full
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match=r"No space left on device") as info:
        runs.run_experiment(sc_only(), run_dir, progress=False)
    monkeypatch.undo()
    assert info.value.filename == str(run_dir / "checkpoints" / "SC.ckpt")
    assert [p for p in run_dir.rglob("*") if p.name.endswith(".tmp") or p.name == runs.LOCK_NAME] == []
    assert runs._ckpt_epochs(run_dir / "checkpoints" / "SC.ckpt") == 1  # the epoch-1 checkpoint is intact
    before = runs.read_metrics(run_dir)["SC"]["test_loss"]
    runs.run_experiment(sc_only(), run_dir, progress=False)  # and the run resumes from it
    after = runs.read_metrics(run_dir)["SC"]["test_loss"]
    assert before.shape == (2, 1) and after.shape == (2, 2)
    np.testing.assert_array_equal(after[:, :1], before)


def test_ctrl_c_between_checkpoints_keeps_every_finished_epoch(tiny_run, tmp_path, monkeypatch):
    """checkpoint_every=5 > epochs: the epoch finished before Ctrl-C is checkpointed, and the resumed run
    equals the uninterrupted one."""
    run_dir = tmp_path / "tiny"
    sparse = tiny_cfg(**{"train.checkpoint_every": 5})
    monkeypatch.setattr(training, "train_epochs", Interrupt(2))
    with pytest.raises(KeyboardInterrupt):
        runs.run_experiment(sparse, run_dir, progress=False)
    monkeypatch.undo()
    assert runs._ckpt_epochs(run_dir / "checkpoints" / "SLPA.ckpt") == 1
    assert runs.run_experiment(sparse, run_dir, progress=False)["models"]["SLPA"]["epochs_this_session"] == 1
    assert_same_run(run_dir, tiny_run[0])


def _report_shape(lines: list[str]) -> list[tuple]:
    """The format of `slpa-jax report` output without its numbers: block titles (target and seed count
    masked), column headers (reference masked), the number of fields per row, other line kinds."""
    out = []
    for line in lines:
        if line.startswith("target: "):
            text = re.sub(r"over \d+ seeds", "over N seeds", re.sub(r"^target: \S+ (<=|>=) \S+ ", "", line))
            out.append(("title", text))
        elif line.strip().startswith("model "):
            out.append(("columns", tuple(re.sub(r"ratio vs \S+$", "ratio vs REF", line.strip()).split())))
        elif line.startswith("  "):
            out.append(("row", len(line.split())))
        elif line.strip():
            out.append(("line", line.split(":")[0]))
    return out


def test_the_report_table_in_reproduction_md_is_what_report_prints(tiny_run, tmp_path, capsys):
    """docs/reproduction.md pastes a `slpa-jax report` command and its output; the block's titles,
    columns and row widths must be what the command prints today (numbers are not compared)."""
    import shlex

    from slpa_jax.cli import build_parser, main

    doc = open(os.path.join(os.path.dirname(__file__), os.pardir, "docs", "reproduction.md")).read()
    block = doc.split("<!-- report-table:")[1].split("```text\n")[1].split("```")[0].splitlines()
    assert block[0].startswith("$ slpa-jax report ")
    args = build_parser().parse_args(shlex.split(block[0][2:])[1:])  # the documented command still parses
    assert args.func.__name__ == "_cmd_report" and args.target
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(tiny_run[0] / "metrics.jsonl", run_dir)
    assert main(["report", str(run_dir), "--target", "test_loss<0.5", "--target", "test_loss<1e-9", "--no-plot"]) == 0
    printed = _report_shape(capsys.readouterr().out.splitlines())
    documented = _report_shape(block[1:])
    for kind in ("title", "columns", "row"):
        assert {s for s in documented if s[0] == kind} == {s for s in printed if s[0] == kind}, kind
    assert {s for s in documented if s[0] == "line"} <= {("line", "plot"), ("line", "table")}
    assert [s[0] for s in documented if s[0] != "line"][:3] == ["title", "columns", "row"]
