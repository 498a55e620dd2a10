"""Experiment configuration: YAML parsed once into frozen, validated dataclasses.

A config names a task (data set), one or more models (ansatz + gradient estimator), the shots per
circuit and the training settings. Unknown keys and bad values raise ``ConfigError`` naming the key
(``'train.epochs'``, ``'models[1].ansatz'``). Sizes are checked here against the ansatz catalogue
(``blocks.catalogue.ANSATZE``: qubit rule, parameters per block or layer), so a bad config fails
before anything is built.

Sweeps: ``expand_sweep`` turns list-valued ``SWEEP_FIELDS`` (``shots``, ``task.n_qubits``,
``train.seed``) into the grid of single-valued configs; the model list is the ansatz axis (every run
trains all models on the same data) and ``train.n_seeds`` the vmapped seed axis inside one run.

Example::

    cfg = parse_config(load_config("configs/quickstart.yaml", ["train.epochs=5"]))
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

from ..blocks.catalogue import ANSATZE
from ..measure.estimator import ESTIMATOR_KINDS

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "Config",
    "TASKS",
    "ANSATZE",
    "ESTIMATORS",
    "SWEEP_FIELDS",
    "load_config",
    "parse_config",
    "apply_overrides",
    "expand_sweep",
    "config_to_dict",
]

TASKS = ("symmetric_unitary", "cluster_ising_qpr")
#: The estimator kinds a model accepts (``measure.estimator.ESTIMATOR_KINDS``); ansatz names: ``ANSATZE``
#: (``blocks.catalogue``).
ESTIMATORS = tuple(ESTIMATOR_KINDS)
OPTIMIZERS = ("adam", "sgd")
LOSSES = ("mse", "bce")
#: Fields that may hold a list in a sweep config (dotted paths).
SWEEP_FIELDS = ("shots", "task.n_qubits", "train.seed")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ConfigError(ValueError):
    """A config key is unknown or its value is invalid; the message names the key."""


@dataclass(frozen=True)
class TaskConfig:
    """The data set. ``kind``: symmetric_unitary (Fig. 4) or cluster_ising_qpr (spec section 6).

    ``data_seed`` fixes the data (and the hidden unitary); it is independent of ``train.seed``.
    """

    kind: str = "symmetric_unitary"
    n_qubits: int = 4
    n_train: int = 50
    n_test: int = 50
    data_seed: int = 1234


@dataclass(frozen=True)
class ModelConfig:
    """One model: an ansatz, its gradient estimator and its size (``n_params`` rotations).

    ``name`` (default ``f"{ansatz}-{estimator}"``) names the checkpoint file and the plot legend.
    """

    ansatz: str
    estimator: str
    name: str = ""
    n_params: int = 96


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings (paper defaults: Adam lr 1e-3, eps_root 1e-8, batch 1).

    ``n_seeds`` independent initialisations are trained together (vmapped); seed ``s`` of model ``i``
    uses ``fold_in(fold_in(PRNGKey(seed), i), s)``. A checkpoint is written every
    ``checkpoint_every`` epochs.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 0.0
    eps_root: float = 1e-8
    loss: str = "mse"
    epochs: int = 500
    batch_size: int = 1
    n_seeds: int = 20
    seed: int = 0
    checkpoint_every: int = 10


@dataclass(frozen=True)
class Config:
    """A whole experiment. ``shots=None`` means exact expectations (every model ``estimator: exact``).

    The run directory is ``output_dir/name`` unless given explicitly.
    """

    name: str
    task: TaskConfig = field(default_factory=TaskConfig)
    models: tuple[ModelConfig, ...] = ()
    shots: int | None = 1000
    train: TrainConfig = field(default_factory=TrainConfig)
    output_dir: str = "runs"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(cond: bool, key: str, expected: str, got) -> None:
    if not cond:
        raise ConfigError(f"config key '{key}': expected {expected}, got {got!r}")


def _known(cls, data: Any, path: str) -> dict:
    """``data`` as a mapping whose keys are all fields of ``cls``; else a ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{path}': expected a mapping, got {data!r}")
    names = [f.name for f in fields(cls)]
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"unknown config key '{where}'; allowed keys here: {names}")
    return data


def _no_list(value, key: str) -> None:
    if isinstance(value, list) and key in SWEEP_FIELDS:
        raise ConfigError(
            f"config key '{key}': a list ({value!r}) is a sweep axis; use `slpa-jax sweep`, or pick one value "
            f"with --set {key}=VALUE"
        )


def _as_float(v, key: str) -> float:
    """PyYAML reads ``1e-3`` (no dot) as a string; accept numbers and numeric strings, reject the rest."""
    if isinstance(v, bool):
        raise ConfigError(f"config key '{key}': expected a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': expected a number, got {v!r}") from None


def _task(d, path: str = "task") -> TaskConfig:
    d = _known(TaskConfig, d, path)
    _no_list(d.get("n_qubits"), f"{path}.n_qubits")
    t = TaskConfig(**d)
    _check(t.kind in TASKS, f"{path}.kind", f"one of {list(TASKS)}", t.kind)
    _check(_is_int(t.n_qubits), f"{path}.n_qubits", "an int", t.n_qubits)
    if t.kind == "symmetric_unitary":
        _check(
            2 <= t.n_qubits <= 16 and t.n_qubits % 2 == 0,
            f"{path}.n_qubits",
            "an even int in [2, 16] for symmetric_unitary (S = {I, X^n, Y^n, Z^n})",
            t.n_qubits,
        )
    else:
        _check(
            t.n_qubits >= 4 and t.n_qubits % 2 == 0,
            f"{path}.n_qubits",
            "an even int >= 4 for cluster_ising_qpr (periodic chain, two sublattices)",
            t.n_qubits,
        )
    _check(_is_int(t.n_train) and t.n_train >= 1, f"{path}.n_train", "an int >= 1", t.n_train)
    _check(_is_int(t.n_test) and t.n_test >= 1, f"{path}.n_test", "an int >= 1", t.n_test)
    _check(_is_int(t.data_seed), f"{path}.data_seed", "an int", t.data_seed)
    return t


def _model(d, path: str, n_qubits: int) -> ModelConfig:
    d = _known(ModelConfig, d, path)
    for req in ("ansatz", "estimator"):
        if req not in d:
            allowed = list(ANSATZE if req == "ansatz" else ESTIMATORS)
            raise ConfigError(f"config key '{path}.{req}' is required (one of {allowed})")
    m = ModelConfig(**d)
    _check(m.ansatz in ANSATZE, f"{path}.ansatz", f"one of {list(ANSATZE)}", m.ansatz)
    _check(m.estimator in ESTIMATORS, f"{path}.estimator", f"one of {list(ESTIMATORS)}", m.estimator)
    _check(isinstance(m.name, str), f"{path}.name", "a string", m.name)
    if not m.name:
        m = dataclasses.replace(m, name=f"{m.ansatz}-{m.estimator}")
    _check(bool(_NAME_RE.match(m.name)), f"{path}.name", "a file-name-safe string (letters, digits, _ . + -)", m.name)
    _check(_is_int(m.n_params) and m.n_params >= 1, f"{path}.n_params", "an int >= 1", m.n_params)
    spec = ANSATZE[m.ansatz]
    if not spec.qubits.allows(n_qubits):
        paper = "the paper ansatz" if spec.qubits.exact is not None else "ansatz"
        hint = f"; {spec.hint}" if spec.hint else ""
        _check(
            False, "task.n_qubits", f"{spec.qubits.expected()} for {paper} {m.ansatz!r} ({path}.ansatz){hint}", n_qubits
        )
    unit = spec.unit(n_qubits)
    _check(
        m.n_params % unit == 0,
        f"{path}.n_params",
        f"a multiple of {unit} for ansatz {m.ansatz!r} with n_qubits={n_qubits} ({spec.unit_text})",
        m.n_params,
    )
    return m


_FLOAT_KEYS = ("lr", "b1", "b2", "eps", "eps_root")
_INT_KEYS = ("epochs", "batch_size", "n_seeds", "checkpoint_every")


def _train(d, path: str = "train") -> TrainConfig:
    d = _known(TrainConfig, d, path)
    _no_list(d.get("seed"), f"{path}.seed")
    d = {k: _as_float(v, f"{path}.{k}") if k in _FLOAT_KEYS else v for k, v in d.items()}
    t = TrainConfig(**d)
    _check(t.optimizer in OPTIMIZERS, f"{path}.optimizer", f"one of {list(OPTIMIZERS)}", t.optimizer)
    _check(t.loss in LOSSES, f"{path}.loss", f"one of {list(LOSSES)}", t.loss)
    _check(t.lr > 0, f"{path}.lr", "a number > 0", t.lr)
    _check(0 <= t.b1 < 1, f"{path}.b1", "a number in [0, 1)", t.b1)
    _check(0 <= t.b2 < 1, f"{path}.b2", "a number in [0, 1)", t.b2)
    _check(t.eps >= 0, f"{path}.eps", "a number >= 0", t.eps)
    _check(t.eps_root >= 0, f"{path}.eps_root", "a number >= 0", t.eps_root)
    if t.optimizer == "adam":
        _check(t.eps + t.eps_root > 0, f"{path}.eps_root", "eps + eps_root > 0 for adam", t.eps_root)
    for k in _INT_KEYS:
        v = getattr(t, k)
        _check(_is_int(v) and v >= 1, f"{path}.{k}", "an int >= 1", v)
    _check(_is_int(t.seed), f"{path}.seed", "an int", t.seed)
    return t


def parse_config(data: dict) -> Config:
    """Validate a mapping (as loaded from YAML) into a ``Config``.

    Raises:
        ConfigError: an unknown key, a missing required key, a bad value (the message names the key),
            or a list in a sweep field (use ``expand_sweep``).
    """
    d = _known(Config, data, "")
    if "name" not in d:
        raise ConfigError("config key 'name' is required (names the run directory)")
    name = d["name"]
    _check(
        isinstance(name, str) and bool(_NAME_RE.match(name)),
        "name",
        "a non-empty file-name-safe string (letters, digits, _ . + -)",
        name,
    )
    task = _task(d.get("task", {}))
    models = d.get("models")
    _check(isinstance(models, list) and len(models) > 0, "models", "a non-empty list of models", models)
    model_cfgs = tuple(_model(m, f"models[{i}]", task.n_qubits) for i, m in enumerate(models))
    names = [m.name for m in model_cfgs]
    _check(len(set(names)) == len(names), "models", "distinct model names", names)
    shots = d.get("shots", 1000)
    _no_list(shots, "shots")
    _check(shots is None or (_is_int(shots) and shots >= 1), "shots", "an int >= 1 or null (exact)", shots)
    out = d.get("output_dir", "runs")
    _check(isinstance(out, str) and out != "", "output_dir", "a non-empty string", out)
    cfg = Config(name=name, task=task, models=model_cfgs, shots=shots, train=_train(d.get("train", {})), output_dir=out)
    if cfg.task.n_train % cfg.train.batch_size:
        raise ConfigError(
            f"config key 'train.batch_size': expected a divisor of task.n_train={cfg.task.n_train}, "
            f"got {cfg.train.batch_size}"
        )
    if cfg.shots is None:
        bad = [m.name for m in cfg.models if m.estimator != "exact"]
        if bad:
            raise ConfigError(f"config key 'shots': null (exact) needs estimator 'exact', but models {bad} sample")
    return cfg


def load_config(path, overrides=()) -> dict:
    """Read a YAML file and apply ``key=value`` overrides; returns the raw mapping (validate with
    ``parse_config`` or ``expand_sweep``)."""
    with open(path) as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {str(path)!r}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r}: expected a YAML mapping at top level, got {type(data).__name__}")
    return apply_overrides(data, overrides)


def _split_key(key: str) -> list[str]:
    """``models[1].n_params`` or ``models.1.n_params`` -> ['models', '1', 'n_params']."""
    return [p for p in re.sub(r"\[(\d+)\]", r".\1", key.strip()).split(".")]


def apply_overrides(data: dict, overrides) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML: ``shots=null``, ``shots=[10, 100]``) to a
    copy of a nested mapping. List items are addressed by index: ``models[0].n_params=48`` or
    ``models.0.n_params=48``. Unknown keys are caught later by validation."""
    data = copy.deepcopy(data)
    for ov in overrides:
        if not isinstance(ov, str) or "=" not in ov:
            raise ConfigError(f"override {ov!r}: expected key=value, e.g. train.epochs=5")
        key, raw = ov.split("=", 1)
        parts = _split_key(key)
        if not all(parts):
            raise ConfigError(f"override {ov!r}: empty key component in {key!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {ov!r}: value is not valid YAML: {err}") from None
        node: Any = data
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not p.isdigit() or int(p) >= len(node):
                    raise ConfigError(f"override {ov!r}: '{where}' is not an index of a list of {len(node)}")
                p = int(p)
            elif isinstance(node, dict):
                if not last and p not in node:
                    node[p] = {}
            else:
                raise ConfigError(f"override {ov!r}: '{'.'.join(parts[:i])}' is not a mapping or list")
            if last:
                node[p] = value
            else:
                node = node[p]
    return data


def _get(d: dict, dotted: str):
    node = d
    for p in dotted.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def _set(d: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = d
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def expand_sweep(data: dict) -> list[tuple[dict, Config]]:
    """Grid over list-valued ``SWEEP_FIELDS``: ``[(point, Config), ...]`` in row-major order of
    ``SWEEP_FIELDS`` (shots slowest, train.seed fastest); ``point`` maps each swept field to its value
    (empty for a config without lists). Each point's name is ``NAME-shots100-n_qubits4-seed0`` (only
    the swept fields), so every point gets its own run directory. Every point is validated."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
    axes = [(k, v) for k in SWEEP_FIELDS if isinstance(v := _get(data, k), list)]
    for k, v in axes:
        _check(len(v) > 0, k, "a non-empty list", v)
        _check(len(set(map(repr, v))) == len(v), k, "distinct sweep values", v)
    out = []
    for combo in itertools.product(*[v for _, v in axes]):
        d = copy.deepcopy(data)
        point = {}
        for (k, _), val in zip(axes, combo):
            _set(d, k, val)
            point[k] = val
        if point and isinstance(data.get("name"), str):
            suffix = "-".join(f"{k.split('.')[-1]}{v}" for k, v in point.items())
            d["name"] = f"{data['name']}-{suffix}"
        out.append((point, parse_config(d)))
    return out


def config_to_dict(cfg: Config) -> dict:
    """Plain nested dict (YAML-serialisable; ``parse_config`` of it gives ``cfg`` back)."""
    d = dataclasses.asdict(cfg)
    d["models"] = [dict(m) for m in d["models"]]
    return d
