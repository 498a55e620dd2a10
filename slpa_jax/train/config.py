"""Experiment configuration: YAML parsed once into frozen, validated dataclasses.

A config names a task (data set), one or more models (ansatz + gradient estimator), the shots per
circuit and the training settings. Unknown keys and bad values raise ``ConfigError`` naming the key
(``'train.epochs'``, ``'models[1].ansatz'``). Sizes are checked here against the ansatz catalogue
(``blocks.catalogue.ANSATZE``: qubit rule, parameters per block or layer), so a bad config fails
before anything is built.

Sweeps: ``expand_sweep`` turns list-valued ``SWEEP_FIELDS`` (``shots``, ``task.n_qubits``,
``train.seed``), and any dotted key given as an axis (``train.lr``, ``models[0].n_params``; from a
top-level ``sweep:`` mapping of the YAML file or ``slpa-jax sweep --over KEY=[...]``), into the grid of
single-valued configs; the model list is the ansatz axis (every run trains all models on the same
data) and ``train.n_seeds`` the vmapped seed axis inside one run.

``FIELD_DOCS`` documents every key; ``config_reference`` renders it, with types and defaults, as
``docs/config.md`` (a test keeps the page in step with the dataclasses).

Example::

    cfg = parse_config(load_config("configs/quickstart.yaml", ["train.epochs=5"]))
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

from ..blocks.catalogue import ANSATZE
from ..blocks.gradient import FHAT_MODES
from ..measure.estimator import ESTIMATOR_KINDS
from ..measure.sampling import MAX_SHOTS
from .model_spec import MODEL_ANSATZE, resolve_estimator, resolve_model
from .optimizers import OPTIMIZERS
from .tasks import TASKS as TASK_SPECS
from .tasks import encoding_circuit, feature_count, initial_state, task_hamiltonian

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "NoiseConfig",
    "BackendConfig",
    "NOISE_METHODS",
    "BACKEND_SAMPLERS",
    "Config",
    "TASKS",
    "ANSATZE",
    "ESTIMATORS",
    "SWEEP_FIELDS",
    "load_config",
    "parse_config",
    "apply_overrides",
    "expand_sweep",
    "parse_axes",
    "config_to_dict",
    "config_reference",
    "FIELD_DOCS",
    "MAX_SHOTS",
    "MAX_TASK_BYTES",
    "SWEEP_KEY",
    "task_bytes",
    "valid_name",
]

#: Task kinds (``tasks.TASKS``).
TASKS = tuple(TASK_SPECS)
#: The estimator kinds a model accepts (``measure.estimator.ESTIMATOR_KINDS`` and ``auto``); ansatz
#: names: ``model_spec.MODEL_ANSATZE`` (the ``blocks.catalogue`` names, ``custom``, ``symmetric_slpa``).
ESTIMATORS = (*ESTIMATOR_KINDS, "auto")
LOSSES = ("mse", "bce", "energy")
#: Fields that may hold a list in a sweep config (dotted paths).
SWEEP_FIELDS = ("shots", "task.n_qubits", "train.seed")
#: The top-level key of a config file that lists extra sweep axes: ``{dotted key: [values]}``.
SWEEP_KEY = "sweep"
#: The largest dense data-set construction a config may ask for (``task_bytes``): 4 GiB.
MAX_TASK_BYTES = 4 * 2**30
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def valid_name(name) -> bool:
    """True for a run or model name usable as a file name (letters, digits, ``_ . + -``)."""
    return isinstance(name, str) and bool(_NAME_RE.match(name))


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
    hamiltonian: Any = None
    path: str | None = None
    initial_state: Any = None
    encoding: Any = None


@dataclass(frozen=True)
class ModelConfig:
    """One model: an ansatz, its gradient estimator and its size (``n_params`` rotations).

    ``name`` (default ``f"{ansatz}-{estimator}"``) names the checkpoint file and the plot legend.
    """

    ansatz: str
    estimator: str
    name: str = ""
    n_params: int | None = 96
    circuit: Any = None
    observable: Any = None
    stabilizers: Any = None
    fhat: str = "shared"


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
    log_initial: bool = False
    devices: str | int | list[int] = "all"
    mesh: str | list[int] = "auto"
    parallel_models: str | int = "auto"


#: How a noisy model is simulated (``noise.estimators.METHODS``).
NOISE_METHODS = ("density", "trajectories")
_NOISE_PROBS = ("p1", "p2", "dephasing", "bit_flip", "amplitude_damping")


@dataclass(frozen=True)
class NoiseConfig:
    """The top-level ``noise:`` section: a ``noise.NoiseModel`` for every model of the run.

    After every rotation each qubit it touches gets depolarizing noise (``p1`` weight-1, ``p2``
    weight >= 2), dephasing, bit flip and amplitude damping; readout flips the read bits
    (``readout`` both ways, or ``readout_01`` / ``readout_10``; a float or one per qubit).
    ``method``: the exact density-matrix path or ``trajectories`` Pauli-jump trajectories per setting.
    """

    p1: float = 0.0
    p2: float = 0.0
    dephasing: float = 0.0
    bit_flip: float = 0.0
    amplitude_damping: float = 0.0
    readout: Any = 0.0
    readout_01: Any = None
    readout_10: Any = None
    gates: bool = True
    method: str = "density"
    trajectories: int = 64


@dataclass(frozen=True)
class BackendConfig:
    """The top-level ``backend:`` section: run every model's settings on a Qiskit sampler
    (``export.backend.backend_estimator``): Aer's ``SamplerV2`` (noiseless, or with the ``noise:``
    section as an Aer noise model on the exported gates), or a fake IBM backend by name (transpiled
    for it; Aer with the device's noise model)."""

    sampler: str = "aer"
    fake: str | None = None
    optimization_level: int = 1
    seed_transpiler: int = 0


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
    noise: NoiseConfig | None = None
    backend: BackendConfig | None = None


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
        x = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': expected a number, got {v!r}") from None
    if not math.isfinite(x):
        raise ConfigError(f"config key '{key}': expected a finite number, got {v!r}")
    return x


def _task(d, path: str = "task") -> TaskConfig:
    d = _known(TaskConfig, d, path)
    _no_list(d.get("n_qubits"), f"{path}.n_qubits")
    if d.get("kind") == "ground_state":  # one "sample": the initial state
        for key in ("n_train", "n_test"):
            _check(d.get(key, 1) == 1, f"{path}.{key}", "1 (or unset) for a ground_state task", d.get(key))
        d = {**d, "n_train": 1, "n_test": 1}
    t = TaskConfig(**d)
    _check(t.kind in TASKS, f"{path}.kind", f"one of {list(TASKS)}", t.kind)
    _check(_is_int(t.n_qubits), f"{path}.n_qubits", "an int", t.n_qubits)
    spec = TASK_SPECS[t.kind]
    ok, expected = spec.qubits
    _check(ok(t.n_qubits), f"{path}.n_qubits", expected, t.n_qubits)
    for need in ("hamiltonian", "path", "encoding"):
        value = getattr(t, need)
        if need in spec.needs and value is None:
            raise ConfigError(f"config key '{path}.{need}' is required for task kind {t.kind!r}")
        if need not in spec.needs and value is not None:
            raise ConfigError(f"config key '{path}.{need}': only task kinds needing it take it, not {t.kind!r}")
    if t.hamiltonian is not None:
        try:
            task_hamiltonian(t.hamiltonian, t.n_qubits, where=f"config key '{path}.hamiltonian'")
        except ValueError as err:
            raise ConfigError(str(err)) from None
    if t.initial_state is not None:
        _check(
            t.kind == "ground_state", f"{path}.initial_state", "unset except for a ground_state task", t.initial_state
        )
        try:
            initial_state(
                t.initial_state, t.n_qubits, task_hamiltonian(t.hamiltonian, t.n_qubits), f"{path}.initial_state"
            )
        except ValueError as err:
            key, _, rest = str(err).partition(": ")
            raise ConfigError(f"config key '{key}': {rest}") from None
    if t.path is not None:
        _check(isinstance(t.path, str) and os.path.isfile(t.path), f"{path}.path", "an existing .npz file", t.path)
    if t.encoding is not None:
        try:
            encoding_circuit(t.encoding, t.n_qubits, feature_count(t.path), where=f"{path}.encoding")
        except ValueError as err:
            key, _, rest = str(err).partition(": ")
            if key.startswith(f"{path}.encoding"):
                raise ConfigError(f"config key '{key}': {rest}") from None
            raise ConfigError(f"config key '{path}.path' ({t.path!r}): {rest}") from None
    _check(_is_int(t.n_train) and t.n_train >= 1, f"{path}.n_train", "an int >= 1", t.n_train)
    _check(_is_int(t.n_test) and t.n_test >= 1, f"{path}.n_test", "an int >= 1", t.n_test)
    _check_task_memory(t, path)
    _check(_is_int(t.data_seed), f"{path}.data_seed", "an int", t.data_seed)
    return t


def task_bytes(t: TaskConfig) -> int:
    """Bytes of the dense arrays building the data set: the (n_train + n_test, 2**n) complex128 states and,
    for symmetric_unitary, the four Haar blocks of size 2**(n-2) (complex128)."""
    out = (t.n_train + t.n_test) * 2**t.n_qubits * 16
    if t.kind == "symmetric_unitary":
        out += 4 * 4 ** (t.n_qubits - 2) * 16
    return out


def _check_task_memory(t: TaskConfig, path: str) -> None:
    need = task_bytes(t)
    if need > MAX_TASK_BYTES:
        raise ConfigError(
            f"config key '{path}.n_qubits': expected a task whose dense construction fits in "
            f"MAX_TASK_BYTES = {MAX_TASK_BYTES / 2**30:g} GiB, got n_qubits={t.n_qubits} with "
            f"{t.n_train} + {t.n_test} samples ({need / 2**30:.3g} GiB); lower task.n_qubits or the sample counts"
        )


def _model(d, path: str, task: TaskConfig) -> ModelConfig:
    n_qubits = task.n_qubits
    d = _known(ModelConfig, d, path)
    for req in ("ansatz", "estimator"):
        if req not in d:
            allowed = list(MODEL_ANSATZE if req == "ansatz" else ESTIMATORS)
            raise ConfigError(f"config key '{path}.{req}' is required (one of {allowed})")
    m = ModelConfig(**d)
    _check(m.ansatz in MODEL_ANSATZE, f"{path}.ansatz", f"one of {list(MODEL_ANSATZE)}", m.ansatz)
    _check(m.estimator in ESTIMATORS, f"{path}.estimator", f"one of {list(ESTIMATORS)}", m.estimator)
    _check(isinstance(m.name, str), f"{path}.name", "a string", m.name)
    if not m.name:
        m = dataclasses.replace(m, name=f"{m.ansatz}-{m.estimator}")
    _check(bool(_NAME_RE.match(m.name)), f"{path}.name", "a file-name-safe string (letters, digits, _ . + -)", m.name)
    if m.ansatz == "custom" and "n_params" not in d:
        m = dataclasses.replace(m, n_params=None)  # the circuit's own count
    else:
        _check(_is_int(m.n_params) and m.n_params >= 1, f"{path}.n_params", "an int >= 1", m.n_params)
    if m.ansatz in ANSATZE:
        _catalogue_size(m, path, n_qubits)
    try:
        resolved = resolve_model(
            m.ansatz,
            n_qubits,
            m.n_params,
            circuit=m.circuit,
            observable=m.observable,
            stabilizers=m.stabilizers,
            task_symmetry=task_symmetry(task),
            task_hamiltonian=task_hamiltonian_of(task),
            where=path,
        )
        kind = resolve_estimator(m.estimator, resolved, where=path)
    except (TypeError, ValueError) as err:
        key, _, rest = str(err).partition(": ")
        raise ConfigError(f"config key '{key}': {rest}" if rest else str(err)) from None
    if m.n_params is None:
        m = dataclasses.replace(m, n_params=resolved.n_params)
    _check(m.fhat in FHAT_MODES, f"{path}.fhat", f"one of {list(FHAT_MODES)}", m.fhat)
    if m.fhat != "shared":
        _check(
            kind in ("ancilla", "ancilla_free"),
            f"{path}.fhat",
            "'shared' unless the estimator is a block gradient",
            m.fhat,
        )
    return m


def task_symmetry(task: TaskConfig):
    """Stabilizer labels the task's data respect (``tasks.TaskSpec.symmetry``), or None."""
    sym = TASK_SPECS[task.kind].symmetry
    return None if sym is None else sym(task.n_qubits)


def task_hamiltonian_of(task: TaskConfig):
    """The task's Hamiltonian (PauliSum) for a ground-state task, else None."""
    return None if task.hamiltonian is None else task_hamiltonian(task.hamiltonian, task.n_qubits)


def _catalogue_size(m: ModelConfig, path: str, n_qubits: int) -> None:
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
    _check(isinstance(t.log_initial, bool), f"{path}.log_initial", "true or false", t.log_initial)
    dev = t.devices
    _check(
        dev == "all"
        or (_is_int(dev) and dev >= 1)
        or (
            isinstance(dev, list)
            and len(dev) > 0
            and all(_is_int(i) and i >= 0 for i in dev)
            and len(set(dev)) == len(dev)
        ),
        f"{path}.devices",
        "'all', an int >= 1 (the first N devices) or a non-empty list of distinct device ids >= 0",
        dev,
    )
    mesh = t.mesh
    _check(
        mesh == "auto" or (isinstance(mesh, list) and len(mesh) == 3 and all(_is_int(k) and k >= 1 for k in mesh)),
        f"{path}.mesh",
        "'auto' or a list [seeds, samples, circuits] of three ints >= 1 (devices per mesh axis)",
        mesh,
    )
    pm = t.parallel_models
    _check(pm == "auto" or (_is_int(pm) and pm >= 1), f"{path}.parallel_models", "'auto' or an int >= 1", pm)
    return t


def _readout_value(v, key: str, n_qubits: int):
    """A readout error: a probability, or a list of n (or n + 1: the ancilla last) probabilities."""
    if isinstance(v, (list, tuple)):
        _check(
            len(v) in (n_qubits, n_qubits + 1),
            key,
            f"a probability or a list of {n_qubits} (one per qubit; {n_qubits + 1}: the ancilla last)",
            v,
        )
        return tuple(_probability(x, f"{key}[{i}]") for i, x in enumerate(v))
    return _probability(v, key)


def _probability(v, key: str) -> float:
    x = _as_float(v, key)
    _check(0.0 <= x <= 1.0, key, "a probability in [0, 1]", v)
    return x


def _noise(d, n_qubits: int, path: str = "noise") -> NoiseConfig | None:
    if d is None:
        return None
    d = dict(_known(NoiseConfig, d, path))
    for k in _NOISE_PROBS:
        if k in d:
            d[k] = _probability(d[k], f"{path}.{k}")
    for k in ("readout", "readout_01", "readout_10"):
        if d.get(k) is not None:
            d[k] = _readout_value(d[k], f"{path}.{k}", n_qubits)
    if d.get("readout") and (d.get("readout_01") is not None or d.get("readout_10") is not None):
        raise ConfigError(
            f"config key '{path}.readout': give either readout (both directions) or readout_01 / readout_10, not both"
        )
    for a, b in (("readout_01", "readout_10"), ("readout", "readout_01"), ("readout", "readout_10")):
        va, vb = d.get(a), d.get(b)
        if isinstance(va, tuple) and isinstance(vb, tuple) and len(va) != len(vb):
            raise ConfigError(f"config key '{path}.{b}': expected {len(va)} entries like {path}.{a}, got {len(vb)}")
    n = NoiseConfig(**d)
    _check(isinstance(n.gates, bool), f"{path}.gates", "true or false", n.gates)
    _check(n.method in NOISE_METHODS, f"{path}.method", f"one of {list(NOISE_METHODS)}", n.method)
    _check(_is_int(n.trajectories) and n.trajectories >= 1, f"{path}.trajectories", "an int >= 1", n.trajectories)
    return n


#: Samplers a ``backend:`` section selects.
BACKEND_SAMPLERS = ("aer",)


def _backend(d, path: str = "backend") -> BackendConfig | None:
    if d is None:
        return None
    b = BackendConfig(**_known(BackendConfig, d, path))
    _check(b.sampler in BACKEND_SAMPLERS, f"{path}.sampler", f"one of {list(BACKEND_SAMPLERS)}", b.sampler)
    _check(
        _is_int(b.optimization_level) and 0 <= b.optimization_level <= 3,
        f"{path}.optimization_level",
        "an int in 0..3",
        b.optimization_level,
    )
    _check(_is_int(b.seed_transpiler), f"{path}.seed_transpiler", "an int", b.seed_transpiler)
    import importlib.util

    if importlib.util.find_spec("qiskit_aer") is None:
        raise ConfigError(f"config key '{path}': needs qiskit-aer; pip install 'slpa-jax[noise]'")
    if b.fake is not None:
        _check(
            isinstance(b.fake, str) and b.fake.startswith("Fake"), f"{path}.fake", "a name like FakeManilaV2", b.fake
        )
        if importlib.util.find_spec("qiskit_ibm_runtime") is None:
            raise ConfigError(f"config key '{path}.fake': needs qiskit-ibm-runtime; pip install 'slpa-jax[noise]'")
        from qiskit_ibm_runtime import fake_provider

        if not hasattr(fake_provider, b.fake):
            names = sorted(x for x in dir(fake_provider) if x.startswith("Fake") and x.endswith("V2"))
            raise ConfigError(
                f"config key '{path}.fake': expected a backend of qiskit_ibm_runtime.fake_provider "
                f"(e.g. {names[:6]}), got {b.fake!r}"
            )
    return b


def _check_noise_and_backend(cfg: Config) -> None:
    if cfg.backend is None:
        return
    if cfg.shots is None:
        raise ConfigError("config key 'backend': a sampler draws shots; set shots to an int, not null")
    bad = [m.name for m in cfg.models if m.estimator == "exact" or m.fhat != "shared"]
    if bad:
        raise ConfigError(
            f"config key 'backend': models {bad} are exact or use fhat 'per_block'; a backend runs param_shift, "
            "ancilla, ancilla_free or auto"
        )
    if cfg.backend.fake is not None and cfg.noise is not None:
        raise ConfigError(
            "config key 'backend.fake': a fake backend brings its device's noise model; remove the noise section "
            "(or backend.fake to run the noise section on Aer)"
        )
    if cfg.noise is not None and cfg.noise.method != "density":
        raise ConfigError("config key 'noise.method': the backend samples; leave noise.method at 'density'")


def parse_config(data: dict, *, require_models: bool = True) -> Config:
    """Validate a mapping (as loaded from YAML) into a ``Config``.

    Raises:
        ConfigError: an unknown key, a missing required key, a bad value (the message names the key),
            or a list in a sweep field (use ``expand_sweep``).

    ``require_models=False`` accepts an empty or missing ``models`` list: a run whose models are all
    built in Python (``runs.run_experiment(cfg, models={...})``).
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
    models = d.get("models", None if require_models else [])
    if require_models:
        _check(isinstance(models, list) and len(models) > 0, "models", "a non-empty list of models", models)
    else:
        _check(isinstance(models, list), "models", "a list of models (may be empty: models built in Python)", models)
    model_cfgs = tuple(_model(m, f"models[{i}]", task) for i, m in enumerate(models))
    names = [m.name for m in model_cfgs]
    _check(len(set(names)) == len(names), "models", "distinct model names", names)
    shots = d.get("shots", 1000)
    _no_list(shots, "shots")
    _check(shots is None or (_is_int(shots) and shots >= 1), "shots", "an int >= 1 or null (exact)", shots)
    _check(
        shots is None or shots <= MAX_SHOTS,
        "shots",
        f"an int <= 2**31 - 1 = {MAX_SHOTS} (shot counts are int32)",
        shots,
    )
    out = d.get("output_dir", "runs")
    _check(isinstance(out, str) and out != "", "output_dir", "a non-empty string", out)
    train_d = d.get("train", {})
    if isinstance(train_d, dict):  # (a non-mapping is reported by _train)
        train_d = {"loss": TASK_SPECS[task.kind].loss, **train_d}  # the task's loss (ground_state: energy)
    train = _train(train_d)
    if (train.loss == "energy") != (task.kind == "ground_state"):
        raise ConfigError(
            f"config key 'train.loss': expected 'energy' exactly for task kind 'ground_state' "
            f"(and mse/bce otherwise), got {train.loss!r} with task kind {task.kind!r}"
        )
    noise = _noise(d.get("noise"), task.n_qubits)
    backend = _backend(d.get("backend"))
    cfg = Config(
        name=name, task=task, models=model_cfgs, shots=shots, train=train, output_dir=out, noise=noise, backend=backend
    )
    _check_noise_and_backend(cfg)
    if cfg.task.n_train % cfg.train.batch_size:
        raise ConfigError(
            f"config key 'train.batch_size': expected a divisor of task.n_train={cfg.task.n_train}, "
            f"got {cfg.train.batch_size}"
        )
    if cfg.shots is None and cfg.noise is None:
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


def _set_dotted(data: dict, key: str, value, what: str) -> None:
    """Set ``data[key] = value`` in place for a dotted key with list indices; ``what`` names the source
    (``override 'a.b=1'``) in errors. Missing mapping levels are created."""
    parts = _split_key(key)
    if not all(parts):
        raise ConfigError(f"{what}: empty key component in {key!r}")
    node: Any = data
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not p.isdigit() or int(p) >= len(node):
                raise ConfigError(f"{what}: '{where}' is not an index of a list of {len(node)}")
            p = int(p)
        elif isinstance(node, dict):
            if not last and p not in node:
                node[p] = {}
        else:
            raise ConfigError(f"{what}: '{'.'.join(parts[:i])}' is not a mapping or list")
        if last:
            node[p] = value
        else:
            node = node[p]


def apply_overrides(data: dict, overrides) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML: ``shots=null``, ``shots=[10, 100]``) to a
    copy of a nested mapping. List items are addressed by index: ``models[0].n_params=48`` or
    ``models.0.n_params=48``. Unknown keys are caught later by validation."""
    data = copy.deepcopy(data)
    for ov in overrides:
        if not isinstance(ov, str) or "=" not in ov:
            raise ConfigError(f"override {ov!r}: expected key=value, e.g. train.epochs=5")
        key, raw = ov.split("=", 1)
        if not all(_split_key(key)):
            raise ConfigError(f"override {ov!r}: empty key component in {key!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {ov!r}: value is not valid YAML: {err}") from None
        _set_dotted(data, key, value, f"override {ov!r}")
    return data


def _get(d: dict, dotted: str):
    node = d
    for p in dotted.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def parse_axes(specs) -> dict:
    """``["train.lr=[0.001, 0.01]", ...]`` (``slpa-jax sweep --over``) -> ``{"train.lr": [0.001, 0.01]}``.

    Raises:
        ConfigError: not ``KEY=[v1, v2, ...]`` (a YAML list).
    """
    out = {}
    for spec in specs:
        if not isinstance(spec, str) or "=" not in spec:
            raise ConfigError(f"sweep axis {spec!r}: expected KEY=[V1, V2, ...], e.g. train.lr=[0.001, 0.01]")
        key, raw = spec.split("=", 1)
        try:
            values = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"sweep axis {spec!r}: value is not valid YAML: {err}") from None
        if not isinstance(values, list):
            raise ConfigError(f"sweep axis {spec!r}: expected a list of values [V1, V2, ...], got {values!r}")
        out[key.strip()] = values
    return out


def _label(key: str, labels_needed: list[str]) -> str:
    last = _split_key(key)[-1]
    short = [_split_key(k)[-1] for k in labels_needed]
    return last if short.count(last) == 1 else re.sub(r"[^A-Za-z0-9_.+-]", "", key.replace("[", "").replace("]", ""))


def _value_text(v) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(v))


def expand_sweep(data: dict, axes: dict | None = None) -> list[tuple[dict, Config]]:
    """The grid of single-valued configs: ``[(point, Config), ...]``.

    Axes: list-valued ``SWEEP_FIELDS`` in ``data`` (in that order), then the ``sweep:`` mapping of
    ``data`` (``{dotted key: [values]}``), then ``axes`` (same form; a key given twice takes the later
    list). Any dotted key with list indices may be an axis: ``train.lr``, ``models[0].n_params``.
    Points are in row-major order (first axis slowest); ``point`` maps each swept key to its value
    (empty for a config without axes). Each point's name is ``NAME-shots100-lr0.01`` (one
    ``LABELVALUE`` per axis; the label is the key's last component, or the whole key when two axes
    share it), so every point gets its own run directory. Every point is validated.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
    data = copy.deepcopy(data)
    extra = data.pop(SWEEP_KEY, None) or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"config key '{SWEEP_KEY}': expected a mapping of dotted keys to lists, got {extra!r}")
    found: dict = {k: v for k in SWEEP_FIELDS if isinstance(v := _get(data, k), list)}
    for source in (extra, axes or {}):
        for k, v in source.items():
            _check(isinstance(v, list), f"{SWEEP_KEY}.{k}", "a list of values", v)
            found[k] = v
    for k, v in found.items():
        _check(len(v) > 0, k, "a non-empty list", v)
        _check(len(set(map(repr, v))) == len(v), k, "distinct sweep values", v)
    keys = list(found)
    out = []
    for combo in itertools.product(*found.values()):
        d = copy.deepcopy(data)
        point = {}
        for k, val in zip(keys, combo):
            _set_dotted(d, k, val, f"sweep axis {k!r}")
            point[k] = val
        if point and isinstance(data.get("name"), str):
            suffix = "-".join(f"{_label(k, keys)}{_value_text(v)}" for k, v in point.items())
            d["name"] = f"{data['name']}-{suffix}"
        out.append((point, parse_config(d)))
    return out


def config_to_dict(cfg: Config) -> dict:
    """Plain nested dict (YAML-serialisable; ``parse_config`` of it gives ``cfg`` back)."""
    d = dataclasses.asdict(cfg)
    d["models"] = [dict(m) for m in d["models"]]
    if d.get("noise"):
        d["noise"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["noise"].items()}
    return d


#: One line per config key (dotted path; ``models[i].*`` for every model). ``config_reference`` renders
#: these with the dataclass types and defaults into ``docs/config.md``.
FIELD_DOCS = {
    "name": "Run name; the run directory is `output_dir/name` (letters, digits, `_ . + -`). Required.",
    "task": "The data set (a mapping, below).",
    "task.kind": f"One of {list(TASKS)}: " + "; ".join(f"{k}: {v.description}" for k, v in TASK_SPECS.items()) + ".",
    "task.n_qubits": "Qubits n. symmetric_unitary: even, 2..16; cluster_ising_qpr: even, >= 4. Sweepable.",
    "task.n_train": "Training samples per epoch (each epoch visits all of them once); ground_state: 1.",
    "task.n_test": "Test samples (evaluated exactly after every epoch).",
    "task.data_seed": "Seed of the data set (and the hidden target unitary); independent of `train.seed`.",
    "task.hamiltonian": "ground_state only: `{name: xxz, delta: 0.5, ...}` (built-ins: tfim, xxz, heisenberg, "
    "cluster_ising, h2), `{file: PATH}` (our JSON, Qiskit `to_list` JSON, OpenFermion text) or "
    "`{terms: [[coefficient, label], ...]}`. The models measure it; the loss is the energy.",
    "task.initial_state": "ground_state only: `zero` (default), a bitstring (`010101`, character q = qubit q), "
    "or `{bits: 010101, sector: ground | {XXXXXX: 1, ZZZZZZ: -1}}`: the bitstring projected onto a symmetry "
    "sector (`ground`: the exact ground state's). A symmetric circuit keeps the sector of its input.",
    "task.path": "file: an `.npz` with `states` (N, 2**n), `labels` (N,) and optionally `split` (0/1); "
    "features: the same with `features` (N, d) real instead of `states`.",
    "task.encoding": "features only: the data-encoding circuit applied to |0...0>, a list of rotations "
    "`[{pauli: Y0, feature: 0, scale: 3.14, offset: 0.0}, {pauli: Z0 Z1, angle: 0.5}, ...]` (angle "
    "`scale * x[feature] + offset`; `pauli` dense or sparse) or `{each_qubit: Y, scale: 3.14}` (R_Y of "
    "feature q on qubit q; needs d = n_qubits).",
    "models": "A non-empty list of models; every model trains on the same data. Names must be distinct.",
    "models[i].ansatz": f"The circuit, one of {list(MODEL_ANSATZE)}: the catalogue (`slpa-jax analyze --help` "
    "describes each), `custom` (give `circuit`) or `symmetric_slpa` (the SLPA of the task's symmetry).",
    "models[i].estimator": f"The gradient estimator, one of {list(ESTIMATORS)}; `auto`: the ancilla block "
    "gradient for a rotation-only circuit (any Pauli-sum observable), parameter shift otherwise. Required.",
    "models[i].name": "Legend and checkpoint name; default `ANSATZ-ESTIMATOR`.",
    "models[i].n_params": "Rotations L; a multiple of the ansatz's block or layer size (symmetric_slpa: of |S|); "
    "custom: optional, the circuit's own count.",
    "models[i].circuit": "custom only: a circuit spec: a list of ops (`XXII`, `{rotation: X0 Z3, param: a}`, "
    "`{rotation: ZZII, angle: 0.5}`, `{gate: CNOT, qubits: [0, 1]}`) or `{ops: [...], layers: 3, "
    "share_layers: false}`, or `{file: circuit.json | circuit.qasm}`.",
    "models[i].observable": "The measured observable: a label or `[[coefficient, label], ...]`; default the "
    "ansatz's (ground_state: task.hamiltonian).",
    "models[i].fhat": "Block estimators only: `shared` (one f_hat circuit per sample, B + 1 circuits, the paper's "
    "accounting) or `per_block` (a fresh f_hat per block, 2B for the ancilla scheme, the authors' code).",
    "models[i].stabilizers": "symmetric_slpa only: stabilizer generator labels; default the task's known "
    "symmetry, or the one found from task.hamiltonian.",
    "shots": f"Shots per circuit execution (1..{MAX_SHOTS}), or null for exact expectations. Sweepable.",
    "train": "Optimiser and loop settings (a mapping, below).",
    "train.optimizer": f"One of {list(OPTIMIZERS)} (adam_paper: the authors' form, epsilon bias-corrected "
    "with v: -lr m_hat / sqrt(v_hat + eps_root / (1 - b2^t))).",
    "train.lr": "Learning rate, finite and > 0.",
    "train.b1": "Adam first-moment decay, in [0, 1).",
    "train.b2": "Adam second-moment decay, in [0, 1).",
    "train.eps": "Adam epsilon outside the square root, >= 0.",
    "train.eps_root": "Adam epsilon inside the square root (the paper's), >= 0; eps + eps_root > 0.",
    "train.loss": f"One of {list(LOSSES)} (bce: labels +-1, p = (1 + f) / 2; energy: f itself, for "
    "ground_state). Default: the task's.",
    "train.epochs": "Epochs to train; may grow when resuming a finished run.",
    "train.batch_size": "Samples per optimiser step; must divide task.n_train.",
    "train.n_seeds": "Independent initialisations trained together (vmapped).",
    "train.seed": "Seed of the initial parameters and shot noise. Sweepable.",
    "train.checkpoint_every": "Epochs between checkpoints; may change when resuming.",
    "train.devices": "Devices that train the seeds and mini-batch samples in parallel: `all` (every device; with "
    "`--distributed`, of every process, or of the own process for a sweep's points), N (the first N) or a list "
    "of device ids. Results do not depend on it (to rounding); may change when resuming. CLI: `--devices`.",
    "train.mesh": "How the devices split the work: `auto` (the rule of docs/scaling.md: the fewest circuits per "
    "device) or `[seeds, samples, circuits]`, devices on the seed axis, the mini-batch sample axis and the axis "
    "of one sample's gradient circuits, their product the device count (circuits > 1: parameter shift and block "
    "estimators). Results do not depend on it (to rounding); may change when resuming.",
    "train.parallel_models": "How many models train at the same time (threads of one process): N, or `auto`: one "
    "per CPU core when training on one CPU device with at most 14 qubits (small programs use one core each), else "
    "1. A `--distributed` run trains one at a time. Results do not depend on it; may change when resuming.",
    "train.log_initial": "Also log the exact losses at the initial parameters (epoch 0, zero shots) in "
    "`initial.json`, so curves start where the paper's do (the paper-format plot draws them).",
    "output_dir": "Parent directory of the run directory.",
    "noise": "Optional: simulate every model with noise (a mapping, below); null: noiseless. Every estimator "
    "(exact, param_shift, ancilla, ancilla_free) runs its circuits with the channels; `shots: null` then gives the "
    "exact noisy values and gradients (density method).",
    "noise.p1": "Depolarizing probability per qubit after a weight-1 rotation (and a one-qubit Clifford gate).",
    "noise.p2": "Depolarizing probability per qubit after a rotation of weight >= 2 (and a two-qubit gate). "
    "Sweepable like any key: `--over noise.p2=[0, 0.001]`.",
    "noise.dephasing": "Z-flip probability per qubit touched, after every rotation.",
    "noise.bit_flip": "X-flip probability per qubit touched, after every rotation.",
    "noise.amplitude_damping": "Amplitude-damping probability gamma per qubit touched, after every rotation.",
    "noise.readout": "Readout bit-flip probability, both directions: a float, or a list of n per-qubit values "
    "(n + 1: the ancilla last; with n the ancilla gets their mean).",
    "noise.readout_01": "Asymmetric readout: P(read 1 | prepared 0) (float or per-qubit list); instead of readout.",
    "noise.readout_10": "Asymmetric readout: P(read 0 | prepared 1) (float or per-qubit list); instead of readout.",
    "noise.gates": "Whether Clifford gates (the ancilla's H / S, the diagonalising Cliffords) carry the channels.",
    "noise.method": f"One of {list(NOISE_METHODS)}: exact density matrices (n <= 13 with an ancilla) or Pauli-jump "
    "trajectories (any n; unbiased, more variance).",
    "noise.trajectories": "Trajectories per measurement setting with method trajectories.",
    "backend": "Optional: run every model's exported measurement settings on a Qiskit sampler instead of the "
    "simulator (a mapping, below; needs `pip install 'slpa-jax[noise]'`). Slow; shots required.",
    "backend.sampler": "`aer`: Qiskit Aer's SamplerV2 (with the noise section as an Aer noise model on the exported "
    "gates, if given).",
    "backend.fake": "A fake IBM device of qiskit_ibm_runtime.fake_provider, e.g. `FakeManilaV2`: the circuits are "
    "transpiled for it and Aer runs them with its noise model. Exclusive with the noise section.",
    "backend.optimization_level": "Qiskit transpiler optimisation level (0..3), for a fake backend.",
    "backend.seed_transpiler": "Seed of the transpiler, for a fake backend.",
    SWEEP_KEY: "Only for `slpa-jax sweep`: `{dotted key: [values]}`, extra grid axes (e.g. `train.lr: [0.001, 0.01]`).",
}


def _type_text(f) -> str:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return t.replace("tuple[ModelConfig, ...]", "list of models").replace(" | None", " or null")


def _default_text(f) -> str:
    if f.default is not dataclasses.MISSING:
        return (
            "required"
            if f.name == "name" and f.default == ""
            else f"`{yaml.safe_dump(f.default).strip().removesuffix('...').strip()}`"
        )
    if f.default_factory is not dataclasses.MISSING:
        return "see below"
    return "required"


def config_reference() -> str:
    """Markdown reference of every config key (type, default, meaning) from the dataclasses and
    ``FIELD_DOCS``; ``docs/config.md`` is this text (``slpa-jax configs --reference > docs/config.md``)."""
    sections = [
        ("", Config),
        ("task.", TaskConfig),
        ("models[i].", ModelConfig),
        ("train.", TrainConfig),
        ("noise.", NoiseConfig),
        ("backend.", BackendConfig),
    ]
    lines = [
        "# Config reference",
        "",
        "<!-- generated by `slpa-jax configs --reference > docs/config.md`; tests/test_config.py checks it -->",
        "",
        "A config is a YAML mapping parsed by `slpa_jax.train.config.parse_config` into frozen dataclasses.",
        "Unknown keys and bad values are errors that name the key. Any key can be overridden on the command",
        "line with `--set KEY=VALUE` (value parsed as YAML; list items by index: `models[0].n_params=48`),",
        "and swept with `slpa-jax sweep --over KEY=[V1, V2]` or a top-level `sweep:` mapping.",
        "`slpa-jax configs` lists the shipped configs; `slpa-jax run CONFIG --dry-run` prints the resolved",
        "config and the shot cost.",
        "",
    ]
    for prefix, cls in sections:
        title = {
            "": "Top level",
            "task.": "task",
            "models[i].": "models[i]",
            "train.": "train",
            "noise.": "noise",
            "backend.": "backend",
        }[prefix]
        lines += [f"## {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for f in fields(cls):
            key = f"{prefix}{f.name}"
            default = _default_text(f)
            if cls is ModelConfig and f.name in ("ansatz", "estimator"):
                default = "required"
            if cls is Config and f.name == "models":
                default = "required"
            if cls is ModelConfig and f.name == "name":
                default = "`ANSATZ-ESTIMATOR`"
            if cls is Config and f.name in ("noise", "backend"):
                default = "`null`"
            lines.append(f"| `{key}` | {_type_text(f)} | {default} | {FIELD_DOCS[key]} |")
        if cls is Config:
            lines.append(f"| `{SWEEP_KEY}` | mapping | none | {FIELD_DOCS[SWEEP_KEY]} |")
        lines.append("")
    return "\n".join(lines)
