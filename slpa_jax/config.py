"""Experiment configuration: YAML parsed once into frozen, validated dataclasses.

A config names a task (data set), one or more models (ansatz + gradient estimator), the shots per
circuit and the training settings. Unknown keys and bad values raise ``ConfigError`` naming the key.
``expand_sweep`` turns list-valued sweep fields (``shots``, ``task.n_qubits``, ``train.seed``) into a
grid of single-valued configs; the model list is the ansatz axis and ``train.n_seeds`` the seed axis
(vmapped inside one compiled program).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "Config",
    "load_config",
    "parse_config",
    "apply_overrides",
    "expand_sweep",
    "config_to_dict",
    "SWEEP_FIELDS",
]

TASKS = ("symmetric_unitary", "cluster_ising_qpr")
ANSATZE = ("slpa", "sc", "nsc", "fig10_sc", "fig10_slpa", "qpr_slpa", "qpr_hea")
ESTIMATORS = ("exact", "param_shift", "ancilla", "ancilla_free")
OPTIMIZERS = ("adam", "sgd")
LOSSES = ("mse", "bce")
#: Fields that may hold a list in a sweep config (dotted paths).
SWEEP_FIELDS = ("shots", "task.n_qubits", "train.seed")


class ConfigError(ValueError):
    """A config key is unknown or its value is invalid; the message names the key."""


@dataclass(frozen=True)
class TaskConfig:
    """The data set. ``kind``: symmetric_unitary (Fig. 4) or cluster_ising_qpr (spec section 6)."""

    kind: str = "symmetric_unitary"
    n_qubits: int = 4
    n_train: int = 50
    n_test: int = 50
    data_seed: int = 1234


@dataclass(frozen=True)
class ModelConfig:
    """One model: an ansatz, its gradient estimator and its size (``n_params`` rotations)."""

    ansatz: str
    estimator: str
    name: str = ""
    n_params: int = 96


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings (paper defaults: Adam lr 1e-3, eps_root 1e-8, batch 1)."""

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
    """A whole experiment. ``shots=None`` means exact expectations (no sampling)."""

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


def _build(cls, data: Any, path: str):
    """Make a frozen dataclass from a mapping, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{path}': expected a mapping, got {data!r}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"'{path}.{unknown[0]}'" if path else f"'{unknown[0]}'"
        raise ConfigError(f"unknown config key {where}; allowed keys here: {sorted(names)}")
    return data


def _task(d, path="task") -> TaskConfig:
    d = _build(TaskConfig, d, path)
    t = TaskConfig(**d)
    _check(t.kind in TASKS, f"{path}.kind", f"one of {list(TASKS)}", t.kind)
    _check(_is_int(t.n_qubits) and t.n_qubits >= 2, f"{path}.n_qubits", "an int >= 2", t.n_qubits)
    if t.kind == "symmetric_unitary":
        _check(t.n_qubits % 2 == 0, f"{path}.n_qubits", "an even int for symmetric_unitary", t.n_qubits)
    _check(_is_int(t.n_train) and t.n_train >= 1, f"{path}.n_train", "an int >= 1", t.n_train)
    _check(_is_int(t.n_test) and t.n_test >= 1, f"{path}.n_test", "an int >= 1", t.n_test)
    _check(_is_int(t.data_seed), f"{path}.data_seed", "an int", t.data_seed)
    return t


def _model(d, path) -> ModelConfig:
    d = _build(ModelConfig, d, path)
    for req in ("ansatz", "estimator"):
        if req not in d:
            raise ConfigError(f"config key '{path}.{req}' is required")
    m = ModelConfig(**d)
    _check(m.ansatz in ANSATZE, f"{path}.ansatz", f"one of {list(ANSATZE)}", m.ansatz)
    _check(m.estimator in ESTIMATORS, f"{path}.estimator", f"one of {list(ESTIMATORS)}", m.estimator)
    _check(_is_int(m.n_params) and m.n_params >= 1, f"{path}.n_params", "an int >= 1", m.n_params)
    _check(isinstance(m.name, str), f"{path}.name", "a string", m.name)
    if not m.name:
        m = dataclasses.replace(m, name=f"{m.ansatz}-{m.estimator}")
    return m


def _train(d, path="train") -> TrainConfig:
    d = _build(TrainConfig, d, path)
    d = {k: _as_float(v, f"{path}.{k}") if k in _FLOAT_KEYS else v for k, v in d.items()}
    t = TrainConfig(**d)
    _check(t.optimizer in OPTIMIZERS, f"{path}.optimizer", f"one of {list(OPTIMIZERS)}", t.optimizer)
    _check(t.loss in LOSSES, f"{path}.loss", f"one of {list(LOSSES)}", t.loss)
    _check(t.lr > 0, f"{path}.lr", "a positive float", t.lr)
    _check(0 <= t.b1 < 1, f"{path}.b1", "a float in [0, 1)", t.b1)
    _check(0 <= t.b2 < 1, f"{path}.b2", "a float in [0, 1)", t.b2)
    _check(t.eps >= 0, f"{path}.eps", "a float >= 0", t.eps)
    _check(t.eps_root >= 0, f"{path}.eps_root", "a float >= 0", t.eps_root)
    for k in ("epochs", "batch_size", "n_seeds", "checkpoint_every"):
        v = getattr(t, k)
        _check(_is_int(v) and v >= 1, f"{path}.{k}", "an int >= 1", v)
    _check(_is_int(t.seed), f"{path}.seed", "an int", t.seed)
    return t


_FLOAT_KEYS = ("lr", "b1", "b2", "eps", "eps_root")


def _as_float(v, key: str) -> float:
    """YAML reads 1e-3 as a string; accept numbers and numeric strings, reject the rest."""
    try:
        if isinstance(v, bool):
            raise TypeError
        return float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': expected a number, got {v!r}") from None


def parse_config(data: dict) -> Config:
    """Validate a mapping (as loaded from YAML) into a ``Config``; list-valued sweep fields rejected."""
    d = _build(Config, data, "")
    if "name" not in d:
        raise ConfigError("config key 'name' is required")
    _check(isinstance(d["name"], str) and d["name"] != "", "name", "a non-empty string", d["name"])
    models = d.get("models")
    _check(isinstance(models, list) and len(models) > 0, "models", "a non-empty list of models", models)
    model_cfgs = tuple(_model(m, f"models[{i}]") for i, m in enumerate(models))
    names = [m.name for m in model_cfgs]
    _check(len(set(names)) == len(names), "models", "distinct model names", names)
    shots = d.get("shots", 1000)
    _check(shots is None or (_is_int(shots) and shots >= 1), "shots", "an int >= 1 or null (exact)", shots)
    out = d.get("output_dir", "runs")
    _check(isinstance(out, str), "output_dir", "a string", out)
    cfg = Config(
        name=d["name"], task=_task(d.get("task", {})), models=model_cfgs, shots=shots,
        train=_train(d.get("train", {})), output_dir=out,
    )
    if cfg.task.n_train % cfg.train.batch_size:
        raise ConfigError(
            f"config key 'train.batch_size': expected a divisor of task.n_train={cfg.task.n_train}, "
            f"got {cfg.train.batch_size}"
        )
    if cfg.shots is None and any(m.estimator != "exact" for m in cfg.models):
        bad = [m.name for m in cfg.models if m.estimator != "exact"]
        raise ConfigError(f"config key 'shots': null (exact) needs estimator 'exact', but models {bad} sample")
    return cfg


def load_config(path: str, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read a YAML file and apply ``key=value`` overrides; returns the raw mapping (validate with
    ``parse_config`` or ``expand_sweep``)."""
    with open(path) as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path!r}: expected a YAML mapping at top level, got {type(data).__name__}")
    return apply_overrides(data, overrides)


def apply_overrides(data: dict, overrides) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested mapping (copied)."""
    import copy

    data = copy.deepcopy(data)
    for ov in overrides:
        if "=" not in ov:
            raise ConfigError(f"override {ov!r}: expected key=value, e.g. train.epochs=5")
        key, raw = ov.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {ov!r}: '{p}' is not a mapping")
        node[parts[-1]] = yaml.safe_load(raw)
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
    """Grid over list-valued ``SWEEP_FIELDS``: returns ``[(point, Config), ...]`` where ``point`` maps
    each swept field to its value (empty for a single run)."""
    import copy

    axes = [(k, v) for k in SWEEP_FIELDS if isinstance(v := _get(data, k), list)]
    for k, v in axes:
        _check(len(v) > 0, k, "a non-empty list", v)
    out = []
    for combo in itertools.product(*[v for _, v in axes]):
        d = copy.deepcopy(data)
        point = {}
        for (k, _), val in zip(axes, combo):
            _set(d, k, val)
            point[k] = val
        if point:
            suffix = "-".join(f"{k.split('.')[-1]}{v}" for k, v in point.items())
            d["name"] = f"{data.get('name', 'sweep')}-{suffix}"
        out.append((point, parse_config(d)))
    return out


def config_to_dict(cfg: Config) -> dict:
    """Plain nested dict (YAML-serialisable) of a resolved config."""
    d = dataclasses.asdict(cfg)
    d["models"] = [dict(m) for m in d["models"]]
    return d
