"""Config parsing: defaults, every validation error (named key), overrides, sweep grids, configs/*.yaml."""

import copy
import dataclasses
import glob
import os

import pytest
import yaml

from slpa_jax.train import config as C
from slpa_jax.train.config import (
    Config,
    ConfigError,
    ModelConfig,
    TaskConfig,
    TrainConfig,
    apply_overrides,
    config_to_dict,
    expand_sweep,
    load_config,
    parse_config,
)

CONFIG_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "configs")
CONFIG_FILES = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))


def base() -> dict:
    return {
        "name": "t",
        "task": {"kind": "symmetric_unitary", "n_qubits": 4, "n_train": 4, "n_test": 4},
        "models": [
            {"name": "SLPA", "ansatz": "slpa", "estimator": "ancilla", "n_params": 8},
            {"ansatz": "sc", "estimator": "param_shift", "n_params": 8},
        ],
        "shots": 16,
        "train": {"epochs": 2, "n_seeds": 2, "batch_size": 2, "checkpoint_every": 1},
    }


def with_(path: str, value) -> dict:
    """``base()`` with one dotted key set (or deleted when value is ``DELETE``)."""
    d = base()
    node = d
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return d


class _Delete:
    def __repr__(self) -> str:  # stable test ids across pytest-xdist workers
        return "<delete>"


DELETE = _Delete()


def test_defaults_are_the_paper_settings():
    cfg = parse_config({"name": "x", "models": [{"ansatz": "slpa", "estimator": "ancilla"}]})
    assert cfg.task == TaskConfig("symmetric_unitary", 4, 50, 50, 1234)
    assert cfg.models == (ModelConfig("slpa", "ancilla", "slpa-ancilla", 96),)
    assert cfg.shots == 1000 and cfg.output_dir == "runs"
    t = cfg.train
    assert (t.optimizer, t.lr, t.b1, t.b2, t.eps, t.eps_root) == ("adam", 1e-3, 0.9, 0.999, 0.0, 1e-8)
    assert (t.loss, t.epochs, t.batch_size, t.n_seeds, t.seed) == ("mse", 500, 1, 20, 0)
    assert t == TrainConfig()


def test_parsed_config_is_frozen_and_round_trips():
    cfg = parse_config(base())
    assert isinstance(cfg, Config) and cfg.models[1].name == "sc-param_shift"
    with pytest.raises(AttributeError):
        cfg.shots = 3  # frozen
    assert parse_config(config_to_dict(cfg)) == cfg
    assert parse_config(yaml.safe_load(yaml.safe_dump(config_to_dict(cfg)))) == cfg


def test_numbers_as_yaml_reads_them():
    """PyYAML reads 1e-3 (no dot) as a string; float keys accept it, ints become floats."""
    d = yaml.safe_load("name: x\nmodels: [{ansatz: sc, estimator: exact}]\ntrain: {lr: 1e-3, b1: 0, eps: 1}\n")
    assert d["train"]["lr"] == "1e-3"
    t = parse_config(d).train
    assert t.lr == 1e-3 and t.b1 == 0.0 and isinstance(t.b1, float) and t.eps == 1.0


UNKNOWN = [
    ("", {"foo": 1}, r"unknown config key 'foo'"),
    ("task", {"size": 3}, r"unknown config key 'task\.size'"),
    ("train", {"epoch": 3}, r"unknown config key 'train\.epoch'; allowed keys here: \['optimizer'"),
    ("models.1", {"depth": 3}, r"unknown config key 'models\[1\]\.depth'"),
]


@pytest.mark.parametrize("where,extra,match", UNKNOWN)
def test_unknown_keys_are_named_at_every_level(where, extra, match):
    d = base()
    node = d
    for p in filter(None, where.split(".")):
        node = node[int(p)] if isinstance(node, list) else node[p]
    node.update(extra)
    with pytest.raises(ConfigError, match=match):
        parse_config(d)


BAD = [
    ("name", DELETE, r"config key 'name' is required"),
    ("name", "a/b", r"config key 'name': expected a non-empty file-name-safe string"),
    ("name", 3, r"config key 'name': expected"),
    ("task", [1], r"config key 'task': expected a mapping"),
    ("task.kind", "ising", r"config key 'task\.kind': expected one of \['symmetric_unitary'"),
    ("task.n_qubits", 5, r"config key 'task\.n_qubits': expected an even int in \[2, 16\]"),
    ("task.n_qubits", "4", r"config key 'task\.n_qubits': expected an int"),
    ("task.n_qubits", [4, 6], r"config key 'task\.n_qubits': a list .* is a sweep axis; use `slpa-jax sweep`"),
    ("task.n_train", 0, r"config key 'task\.n_train': expected an int >= 1"),
    ("task.n_test", True, r"config key 'task\.n_test': expected an int >= 1"),
    ("task.data_seed", 1.5, r"config key 'task\.data_seed': expected an int"),
    ("models", [], r"config key 'models': expected a non-empty list"),
    ("models", {"ansatz": "sc"}, r"config key 'models': expected a non-empty list"),
    ("models.0", "slpa", r"config key 'models\[0\]': expected a mapping"),
    ("models.0.ansatz", DELETE, r"config key 'models\[0\]\.ansatz' is required \(one of \['slpa'"),
    ("models.1.estimator", DELETE, r"config key 'models\[1\]\.estimator' is required \(one of \['exact'"),
    ("models.0.ansatz", "hea", r"config key 'models\[0\]\.ansatz': expected one of"),
    ("models.1.estimator", "spsa", r"config key 'models\[1\]\.estimator': expected one of"),
    ("models.0.name", "x y", r"config key 'models\[0\]\.name': expected a file-name-safe string"),
    ("models.0.name", 7, r"config key 'models\[0\]\.name': expected a string"),
    ("models.1.name", "SLPA", r"config key 'models': expected distinct model names"),
    ("models.0.n_params", 0, r"config key 'models\[0\]\.n_params': expected an int >= 1"),
    ("models.0.n_params", 10, r"config key 'models\[0\]\.n_params': expected a multiple of 4 for ansatz 'slpa'"),
    ("shots", 0, r"config key 'shots': expected an int >= 1 or null"),
    ("shots", "many", r"config key 'shots': expected an int >= 1 or null"),
    ("shots", [10, 100], r"config key 'shots': a list .* is a sweep axis"),
    ("shots", None, r"config key 'shots': null \(exact\) needs estimator 'exact', but models \['SLPA'"),
    ("output_dir", "", r"config key 'output_dir': expected a non-empty string"),
    ("train", None, r"config key 'train': expected a mapping"),
    ("train.optimizer", "rmsprop", r"config key 'train\.optimizer': expected one of \['adam', 'adam_paper', 'sgd'\]"),
    ("train.loss", "l1", r"config key 'train\.loss': expected one of \['mse', 'bce', 'energy'\]"),
    ("train.lr", 0, r"config key 'train\.lr': expected a number > 0"),
    ("train.lr", "fast", r"config key 'train\.lr': expected a number, got 'fast'"),
    ("train.lr", True, r"config key 'train\.lr': expected a number, got True"),
    ("train.b1", 1.0, r"config key 'train\.b1': expected a number in \[0, 1\)"),
    ("train.b2", -0.1, r"config key 'train\.b2': expected a number in \[0, 1\)"),
    ("train.eps", -1, r"config key 'train\.eps': expected a number >= 0"),
    ("train.eps_root", -1e-8, r"config key 'train\.eps_root': expected a number >= 0"),
    ("train.eps_root", 0, r"config key 'train\.eps_root': expected eps \+ eps_root > 0 for adam"),
    ("train.epochs", 0, r"config key 'train\.epochs': expected an int >= 1"),
    ("train.epochs", 1.5, r"config key 'train\.epochs': expected an int >= 1"),
    ("train.n_seeds", True, r"config key 'train\.n_seeds': expected an int >= 1"),
    ("train.checkpoint_every", 0, r"config key 'train\.checkpoint_every': expected an int >= 1"),
    ("train.parallel_models", 0, r"config key 'train\.parallel_models': expected 'auto' or an int >= 1"),
    ("train.parallel_models", "all", r"config key 'train\.parallel_models': expected 'auto' or an int >= 1"),
    ("train.seed", "x", r"config key 'train\.seed': expected an int"),
    ("train.seed", [0, 1], r"config key 'train\.seed': a list .* is a sweep axis"),
    ("train.batch_size", 3, r"config key 'train\.batch_size': expected a divisor of task\.n_train=4, got 3"),
]


@pytest.mark.parametrize("path,value,match", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_every_bad_value_names_its_key(path, value, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(with_(path, value))


def test_ansatz_sizes_are_checked_at_parse_time():
    d = with_("task.n_qubits", 6)
    with pytest.raises(ConfigError, match=r"config key 'task\.n_qubits': expected 4 for the paper ansatz 'slpa'"):
        parse_config(d)
    d["models"] = [{"ansatz": "fig10_slpa", "estimator": "ancilla", "n_params": 18}]
    with pytest.raises(
        ConfigError,
        match=r"'models\[0\]\.n_params': expected a multiple of 12 for ansatz "
        r"'fig10_slpa' with n_qubits=6 \(2n rotations per layer\)",
    ):
        parse_config(d)
    d["task"] = {"kind": "cluster_ising_qpr", "n_qubits": 5}
    with pytest.raises(ConfigError, match=r"'task\.n_qubits': expected an even int >= 4 for cluster_ising_qpr"):
        parse_config(d)
    d["task"] = {"kind": "symmetric_unitary", "n_qubits": 2}
    d["models"] = [{"ansatz": "qpr_hea", "estimator": "exact", "n_params": 3}]
    with pytest.raises(ConfigError, match=r"'task\.n_qubits': expected an even int >= 4 for ansatz 'qpr_hea'"):
        parse_config(d)


SIZES = [
    ("slpa", 4, 8),
    ("slpa", 4, 6),
    ("sc", 4, 5),
    ("sc", 6, 12),
    ("nsc", 4, 7),
    ("fig10_sc", 6, 9),
    ("fig10_sc", 6, 10),
    ("fig10_slpa", 4, 16),
    ("fig10_slpa", 4, 12),
    ("qpr_slpa", 6, 8),
    ("qpr_slpa", 6, 6),
    ("qpr_sc", 6, 5),
    ("qpr_hea", 4, 7),
    ("fig10_sc", 4, 2),
]


@pytest.mark.parametrize("ansatz,n,n_params", SIZES)
def test_parse_time_size_rules_agree_with_the_model_builder(ansatz, n, n_params):
    """A config validates exactly when ``models.make_block_circuit`` can build its ansatz."""
    from slpa_jax.train.models import make_block_circuit

    d = {
        "name": "x",
        "task": {"n_qubits": n},
        "models": [{"ansatz": ansatz, "estimator": "exact", "n_params": n_params}],
    }
    try:
        bc = make_block_circuit(ansatz, n, n_params)
    except ValueError:
        with pytest.raises(ConfigError, match=r"config key '(task\.n_qubits|models\[0\]\.n_params)'"):
            parse_config(d)
    else:
        assert bc.circuit.n_params == n_params
        assert parse_config(d).models[0].n_params == n_params


def test_name_tables_match_the_library():
    from slpa_jax.train import models, training

    assert C.ANSATZE == models.ANSATZE and C.ESTIMATORS == models.ESTIMATORS
    assert C.LOSSES == training.LOSSES and C.OPTIMIZERS == training.OPTIMIZERS


def test_overrides_parse_values_as_yaml_and_copy():
    d = base()
    out = apply_overrides(
        d,
        [
            "train.epochs=7",
            "shots=null",
            "train.lr=1e-2",
            "models[0].n_params=12",
            "models.1.name=B",
            "task.kind=cluster_ising_qpr",
            "new.deep.key=[1, 2]",
        ],
    )
    assert d == base()  # input untouched
    assert out["train"]["epochs"] == 7 and out["shots"] is None and out["models"][0]["n_params"] == 12
    assert out["models"][1]["name"] == "B" and out["new"] == {"deep": {"key": [1, 2]}}
    assert parse_config(apply_overrides(d, ["train.lr=1e-2"])).train.lr == 0.01
    with pytest.raises(ConfigError, match=r"unknown config key 'new'"):
        parse_config(out)


@pytest.mark.parametrize(
    "ov,match",
    [
        ("train.epochs", r"override 'train\.epochs': expected key=value"),
        ("models[5].n_params=4", r"override 'models\[5\]\.n_params=4': 'models\.5' is not an index of a list of 2"),
        ("models.x.n_params=4", r"'models\.x' is not an index of a list of 2"),
        ("shots.per=3", r"override 'shots\.per=3': 'shots' is not a mapping or list"),
        ("train..lr=3", r"override 'train\.\.lr=3': empty key component"),
        ("train.lr=[1, 2", r"override 'train\.lr=\[1, 2': value is not valid YAML"),
    ],
)
def test_override_errors(ov, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(base(), [ov])


def test_load_config(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(base()))
    assert parse_config(load_config(p, ["train.epochs=3"])).train.epochs == 3
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"expected a YAML mapping at top level, got list"):
        load_config(p)
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"invalid YAML"):
        load_config(p)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_sweep_grid_sizes_order_and_names():
    d = base()
    d["task"]["n_qubits"] = [4, 6]
    d["models"] = [
        {"name": "SLPA", "ansatz": "fig10_slpa", "estimator": "ancilla", "n_params": 24},
        {"name": "SC", "ansatz": "fig10_sc", "estimator": "param_shift", "n_params": 6},
    ]
    d["shots"] = [10, 100]
    d["train"]["seed"] = [0, 1, 2]
    points = expand_sweep(d)
    assert len(points) == 2 * 2 * 3
    names = [cfg.name for _, cfg in points]
    assert len(set(names)) == 12
    assert names[0] == "t-shots10-n_qubits4-seed0" and names[-1] == "t-shots100-n_qubits6-seed2"
    assert points[1][0] == {"shots": 10, "task.n_qubits": 4, "train.seed": 1}
    assert [(c.shots, c.task.n_qubits, c.train.seed) for _, c in points][:4] == [
        (10, 4, 0),
        (10, 4, 1),
        (10, 4, 2),
        (10, 6, 0),
    ]
    assert all(c.models == points[0][1].models for _, c in points)


def test_sweep_without_lists_is_one_point_and_points_are_validated():
    assert [(p, c.name) for p, c in expand_sweep(base())] == [({}, "t")]
    d = base()
    d["task"]["n_qubits"] = [4, 6]  # slpa / sc need n = 4
    with pytest.raises(ConfigError, match=r"config key 'task\.n_qubits': expected 4 for the paper ansatz"):
        expand_sweep(d)
    d = base()
    d["shots"] = []
    with pytest.raises(ConfigError, match=r"config key 'shots': expected a non-empty list"):
        expand_sweep(d)
    d["shots"] = [10, 10]
    with pytest.raises(ConfigError, match=r"config key 'shots': expected distinct sweep values"):
        expand_sweep(d)
    with pytest.raises(ConfigError, match=r"config: expected a mapping, got list"):
        expand_sweep([base()])


def test_config_files_exist():
    names = {os.path.basename(p) for p in CONFIG_FILES}
    assert {"quickstart.yaml", "fig4.yaml"} <= names


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_every_config_file_validates(path):
    raw = load_config(path)
    points = expand_sweep(copy.deepcopy(raw))
    assert points and all(isinstance(cfg, Config) for _, cfg in points)
    assert raw["name"] in points[0][1].name


def test_quickstart_is_a_reduced_fig4():
    q = parse_config(load_config(os.path.join(CONFIG_DIR, "quickstart.yaml")))
    f = parse_config(load_config(os.path.join(CONFIG_DIR, "fig4.yaml")))
    assert [(m.ansatz, m.estimator) for m in q.models] == [("slpa", "ancilla"), ("sc", "param_shift")]
    assert [(m.ansatz, m.estimator, m.n_params) for m in f.models] == [
        ("slpa", "ancilla", 96),
        ("sc", "param_shift", 96),
        ("nsc", "param_shift", 96),
    ]
    assert q.task == f.task and q.shots == f.shots == 1000 and q.train.n_seeds >= 2 and q.train.epochs >= 20
    assert (f.train.epochs, f.train.n_seeds, f.train.batch_size, f.train.lr) == (500, 20, 1, 1e-3)


# --- issue 14: non-finite values, the shot limit, sweeps over any key, the generated reference ------


@pytest.mark.parametrize(
    "path,value,match",
    [
        ("train.lr", ".inf", r"config key 'train\.lr': expected a finite number, got inf"),
        ("train.lr", ".nan", r"config key 'train\.lr': expected a finite number, got nan"),
        ("train.eps_root", "-.inf", r"config key 'train\.eps_root': expected a finite number, got -inf"),
        ("shots", str(2**31), r"config key 'shots': expected an int <= 2\*\*31 - 1 = 2147483647 \(shot counts are"),
    ],
)
def test_non_finite_and_oversized_values_are_rejected_up_front(path, value, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(apply_overrides(base(), [f"{path}={value}"]))
    assert parse_config(apply_overrides(base(), [f"shots={C.MAX_SHOTS}"])).shots == 2**31 - 1


def test_tasks_too_large_to_build_are_rejected_naming_the_limit():
    # symmetric_unitary n = 16: four dense 2**14 Haar blocks, 4 * 4**14 * 16 B = 16 GiB
    with pytest.raises(
        ConfigError,
        match=r"config key 'task\.n_qubits': expected a task whose dense construction fits"
        r" in MAX_TASK_BYTES = 4 GiB, got n_qubits=16 with 4 \+ 4 samples \(16 GiB\)",
    ):
        parse_config(apply_overrides(base(), ["task.n_qubits=16"]))
    t = TaskConfig("symmetric_unitary", 14, 4, 4)
    assert C.task_bytes(t) == 8 * 2**14 * 16 + 4 * 4**12 * 16 <= C.MAX_TASK_BYTES  # n = 14 still builds
    q = TaskConfig("cluster_ising_qpr", 24, 100, 100)
    assert C.task_bytes(q) == 200 * 2**24 * 16 > C.MAX_TASK_BYTES


def test_sweep_over_any_dotted_key():
    d = base()
    d["shots"] = [8, 16]
    d[C.SWEEP_KEY] = {"models[0].n_params": [4, 8]}
    points = expand_sweep(d, C.parse_axes(["train.lr=[0.001, 0.01]"]))
    assert len(points) == 8
    assert points[0][0] == {"shots": 8, "models[0].n_params": 4, "train.lr": 0.001}
    assert points[-1][1].name == "t-shots16-n_params8-lr0.01"
    assert [(c.shots, c.models[0].n_params, c.train.lr) for _, c in points][:3] == [
        (8, 4, 0.001),
        (8, 4, 0.01),
        (8, 8, 0.001),
    ]
    assert all(c.models[1].n_params == 8 for _, c in points)  # only models[0] is swept
    # two axes with the same last component get the whole key as their label
    two = expand_sweep(base(), {"models[0].n_params": [4], "models[1].n_params": [4]})
    assert two[0][1].name == "t-models0.n_params4-models1.n_params4"
    with pytest.raises(ConfigError, match=r"sweep axis 'models\[5\]\.n_params': 'models\.5' is not an index"):
        expand_sweep(base(), {"models[5].n_params": [4]})
    with pytest.raises(ConfigError, match=r"config key 'train\.lr': expected a finite number, got inf"):
        expand_sweep(base(), {"train.lr": [0.1, float("inf")]})
    with pytest.raises(ConfigError, match=r"sweep axis 'train\.lr=0\.1': expected a list of values"):
        C.parse_axes(["train.lr=0.1"])
    with pytest.raises(ConfigError, match=r"config key 'sweep': expected a mapping"):
        expand_sweep({**base(), "sweep": [1]})


def test_config_reference_page_is_not_stale():
    """docs/config.md is generated (`slpa-jax configs --reference > docs/config.md`); regenerate it when a
    field or its documentation changes."""
    page = open(os.path.join(os.path.dirname(__file__), os.pardir, "docs", "config.md")).read()
    assert page == C.config_reference()
    # every dataclass field is documented, and nothing else
    keys = {
        f"{p}{f.name}"
        for p, cls in (("", Config), ("task.", TaskConfig), ("train.", TrainConfig))
        for f in dataclasses.fields(cls)
    } | {f"models[i].{f.name}" for f in dataclasses.fields(ModelConfig)}
    keys |= {
        f"{p}{f.name}"
        for p, cls in (("noise.", C.NoiseConfig), ("backend.", C.BackendConfig))
        for f in dataclasses.fields(cls)
    }
    assert set(C.FIELD_DOCS) == keys | {C.SWEEP_KEY}


def test_shipped_configs_are_package_data():
    from importlib import resources

    shipped = sorted(p.name for p in (resources.files("slpa_jax.train") / "configs").iterdir())
    assert (
        shipped
        == sorted(os.path.basename(p) for p in CONFIG_FILES)
        == [
            "fig4.yaml",
            "fig4_noise.yaml",
            "qpr.yaml",
            "quickstart.yaml",
            "sweep_shots.yaml",
            "vqe_xxz.yaml",
        ]
    )
    pyproject = open(os.path.join(os.path.dirname(__file__), os.pardir, "pyproject.toml")).read()
    assert '"slpa_jax.train" = ["configs/*.yaml"]' in pyproject
