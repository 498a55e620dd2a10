"""Run directories for models built in Python (issue 13 item 6): metrics, resume, mismatch errors,
equality with the same model from a config, records, load_run and export."""

import json

import numpy as np
import pytest

from slpa_jax.core.circuit import Circuit
from slpa_jax.export.run import export_run
from slpa_jax.train.circuit_spec import circuit_from_spec
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.model_io import model_fingerprint, model_from_record, model_record
from slpa_jax.train.models import make_model
from slpa_jax.train.runs import PYTHON_MODELS_NAME, load_run, read_metrics, run_experiment, run_models
from slpa_jax.train.training import Model

CIRCUIT = ["XY", "ZZ", "YI", "XX"]
SHOTS = 16
MODEL_CFG = {"name": "m", "ansatz": "custom", "circuit": CIRCUIT, "observable": "XX", "estimator": "ancilla"}


def cfg_dict(models=(), shots=SHOTS, **train):
    return parse_config(
        {
            "name": "py",
            "task": {"kind": "symmetric_unitary", "n_qubits": 2, "n_train": 2, "n_test": 2, "data_seed": 5},
            "models": list(models),
            "shots": shots,
            "train": {"epochs": 2, "n_seeds": 2, "batch_size": 2, "checkpoint_every": 1, "seed": 11, **train},
        },
        require_models=False,
    )


def python_model(circuit=CIRCUIT, shots=SHOTS):
    return make_model("custom", 2, None, "ancilla", shots, observable="XX", circuit=circuit, name="m")


@pytest.fixture(scope="module")
def runs_pair(tmp_path_factory):
    """The same model trained from a config and built in Python (2 seeds x 2 epochs each)."""
    root = tmp_path_factory.mktemp("py")
    from_cfg = run_experiment(cfg_dict([MODEL_CFG]), root / "cfg", progress=False)
    model = python_model()
    from_py = run_experiment(cfg_dict(), root / "py", models={"m": model}, progress=False)
    return root, model, from_cfg, from_py


def test_a_python_model_equals_the_same_model_from_a_config(runs_pair):
    root, _, from_cfg, from_py = runs_pair
    a, b = read_metrics(root / "cfg")["m"], read_metrics(root / "py")["m"]
    assert set(a) == set(b)
    for k in a:  # same position in the run, so the same keys: identical shots, losses, parameters
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert from_py["models"]["m"]["ansatz"] == "python" and from_py["models"]["m"]["estimator"] == "ancilla"
    assert from_py["models"]["m"]["shots_per_seed"] == from_cfg["models"]["m"]["shots_per_seed"] > 0
    saved = json.loads((root / "py" / PYTHON_MODELS_NAME).read_text())
    assert saved["order"] == ["m"] and saved["models"]["m"]["fingerprint"] == model_fingerprint(python_model())
    assert (root / "py" / "metrics.csv").exists() and (root / "py" / "loss_vs_shots.png").exists()


def test_a_python_model_run_resumes_without_retraining(runs_pair):
    root, model, _, _ = runs_pair
    before = read_metrics(root / "py")["m"]["test_loss"]
    again = run_experiment(cfg_dict(), root / "py", models=[model], progress=False)  # a list: named by Model.name
    assert again["models"]["m"]["epochs_this_session"] == 0 and again["models"]["m"]["epochs"] == 2
    np.testing.assert_array_equal(read_metrics(root / "py")["m"]["test_loss"], before)
    # load_run rebuilds the model from its record: same circuit, blocks, estimator kind and cost
    cfg, models, params = load_run(root / "py")
    got = models["m"]
    assert cfg.models == () and got.circuit == model.circuit and params["m"].shape == (2, model.n_params)
    assert got.block_circuit.blocks == model.block_circuit.blocks
    assert (got.estimator.kind, got.estimator.circuits_per_call) == ("ancilla", model.estimator.circuits_per_call)
    # so export works from the saved circuit: the model and its block-gradient settings
    (manifest,) = export_run(root / "py", "qasm3", out_dir=root / "export")
    assert json.loads(open(manifest).read()) and (root / "export" / "m" / "model.qasm").exists()


def test_a_mismatched_python_model_on_resume_is_an_error(runs_pair):
    root, _, _, _ = runs_pair
    other = python_model(["XY", "ZZ", "YI", "YY"])
    with pytest.raises(ConfigError, match=r"Python models.*'m' differs in its circuit \(fingerprint \w{12} in"):
        run_experiment(cfg_dict(), root / "py", models={"m": other}, progress=False)
    with pytest.raises(ConfigError, match=r"Python model 'm' of the run directory is not given"):
        run_experiment(cfg_dict([MODEL_CFG]), root / "py", progress=False)
    with pytest.raises(ConfigError, match=r"model 'extra' is new"):
        run_experiment(cfg_dict(), root / "py", models={"m": python_model(), "extra": other}, progress=False)
    with pytest.raises(ConfigError, match=r"model 'm' differs in its estimator \(fingerprint"):
        run_experiment(cfg_dict(shots=8), root / "py", models={"m": python_model(shots=8)}, progress=False)


def test_python_models_replace_config_models_in_place_or_come_after():
    cfg = cfg_dict([{**MODEL_CFG, "name": "a"}, {**MODEL_CFG, "name": "b"}])
    mine = python_model()
    trimmed, entries = run_models(cfg, {"b": mine, "c": mine})
    assert [(e.name, e.index, e.python is mine) for e in entries] == [("a", 0, False), ("b", 1, True), ("c", 2, True)]
    assert [m.name for m in trimmed.models] == ["a"]


@pytest.mark.parametrize(
    "models, match",
    [
        ({"m": "not a model"}, r"models\['m'\] must be a training.Model, got str"),
        ({"bad name": python_model()}, r"model name 'bad name': expected a file-name-safe string"),
        ({"m": python_model(shots=100)}, r"models\['m'\]: its 'ancilla' estimator samples 100 shots .* expected"),
        ({"m": make_model("sc", 4, 12, "exact", None)}, r"models\['m'\] acts on 4 qubits, expected task.n_qubits = 2"),
        ({}, r"no models to train"),
    ],
)
def test_python_models_that_do_not_fit_the_config_are_named(models, match, tmp_path):
    with pytest.raises((TypeError, ValueError), match=match):
        run_experiment(cfg_dict(), tmp_path / "x", models=models, progress=False)
    assert not (tmp_path / "x").exists()


def test_records_round_trip_exactly_and_a_custom_estimator_says_why_it_cannot_be_rebuilt():
    spec = {
        "ops": [
            "XZI",
            {"rotation": "Y0 Z2", "param": "a", "scale": -0.5, "offset": 0.3},
            {"gate": "CNOT", "qubits": [2, 0]},
        ],
        "layers": 2,
    }
    c = circuit_from_spec(spec, 3)
    model = make_model("custom", 3, None, "param_shift", 7, observable=[(0.5, "ZZI"), (-1.25, "XIX")], circuit=spec)
    back = model_from_record(json.loads(json.dumps(model_record(model))), "x")
    assert back.circuit == c and back.block_circuit is None
    np.testing.assert_array_equal(back.observable.coeffs, model.observable.coeffs)
    assert back.observable.paulis.labels() == model.observable.paulis.labels()
    assert (back.estimator.kind, back.estimator.circuits_per_call) == ("param_shift", model.estimator.circuits_per_call)
    custom = Model("c", Circuit.from_labels(["XX"]), "ZZ", lambda p, s, k: (0.0, p, None))
    rebuilt = model_from_record(model_record(custom), "c")
    assert rebuilt.estimator.kind == "custom"
    with pytest.raises(RuntimeError, match=r"model 'c': its 'custom' gradient estimator cannot be rebuilt"):
        rebuilt.estimator(np.zeros(1), None, None)


def test_the_readme_snippet_builds_a_python_model_run():
    """The README's "your own problem" snippet, up to the training call (checked with run_models)."""
    import re
    from pathlib import Path

    src = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = next(c for c in re.findall(r"```python\n(.*?)```", src, re.S) if "run_experiment(" in c)
    seen = {}
    ns = {"_run": lambda cfg, run_dir, models: seen.update(zip(("cfg", "run_dir", "entries"), (cfg, run_dir, models)))}
    exec(compile(code.replace("run_experiment(", "_run("), "README.md", "exec"), ns)
    trimmed, entries = run_models(seen["cfg"], seen["entries"])
    assert [e.name for e in entries] == ["HEA"] and entries[0].python.n_params == 21 and trimmed.models == ()


@pytest.mark.parametrize("python_index", [0, 1])
def test_load_run_puts_config_and_python_models_at_their_positions(runs_pair, tmp_path, python_index):
    import shutil

    import yaml

    root, model, _, _ = runs_pair
    run_dir = tmp_path / "mixed"
    shutil.copytree(root / "py", run_dir)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg["models"] = [{**MODEL_CFG, "name": "a", "observable": "ZZ"}]  # a config model beside the Python one
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copy(run_dir / "checkpoints" / "m.ckpt", run_dir / "checkpoints" / "a.ckpt")
    saved = json.loads((run_dir / PYTHON_MODELS_NAME).read_text())
    saved["models"]["m"]["index"] = python_index
    (run_dir / PYTHON_MODELS_NAME).write_text(json.dumps(saved))
    _, models, _ = load_run(run_dir)
    assert list(models) == (["m", "a"] if python_index == 0 else ["a", "m"])
    assert models["m"].circuit == model.circuit and models["a"].observable.paulis.labels() == ["ZZ"]
