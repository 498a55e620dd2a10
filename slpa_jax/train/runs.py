"""Run directories: train every model of a config, checkpoint, resume, log, summarise and plot.

Layout of ``RUN_DIR``::

    config.yaml            the resolved config (all defaults filled in; only the models built from it)
    python_models.json     models built in Python (``run_experiment(..., models=...)``): their order,
                           exact records and fingerprints (``model_io``)
    metrics.jsonl          one JSON line per (model, epoch): per-seed train/test loss, cumulative
                           shots and circuit executions (lists of length n_seeds); classification
                           tasks (labels +-1) also train/test sign accuracy

    metrics.csv            the same as a long table: one row per (model, seed, epoch) (docs/results.md)
    metrics.parquet        the same, when pyarrow is installed
    checkpoints/NAME.ckpt  TrainState + metrics so far (msgpack), written atomically
    checkpoints/NAME.prev.ckpt  the checkpoint before it (read when the latest cannot be)
    summary.json           final losses, shots and circuits per model (strict JSON: NaN is null)
    .lock                  pid of the process writing the run (removed when it ends)
    loss_vs_shots.png      Fig. 4-style plot (loss vs shots spent, and vs epoch)
    loss_vs_shots_paper.png  MSE runs: Fig. 4 on the paper's axes (linear shots x 1e9, log loss)
    initial.json           with train.log_initial: the exact losses at the initial parameters (epoch 0)
    accuracy_vs_shots.png  classification tasks only: accuracy vs shots spent, and vs epoch

Resume: a checkpoint is written every ``train.checkpoint_every`` epochs, and when the run is
interrupted (Ctrl-C) after the last finished epoch. Started again with the same config, a run
continues from the last checkpoint of each model; all randomness lives in the checkpointed per-seed
keys (``training.train_epochs`` splits them once per epoch), so the resumed run equals an
uninterrupted one exactly. After Ctrl-C only the interrupted epoch is redone; after a kill, at most
``checkpoint_every`` epochs; no logged epoch is lost. A different config in an existing run
directory is an error naming the keys that differ, except ``RESUMABLE_KEYS`` (``train.epochs`` may
grow to extend a finished run, and ``train.checkpoint_every`` may change): results do not depend on
them. The parameter dtype (float32, or float64 with ``JAX_ENABLE_X64=1``) must match the
checkpoint's. A run directory without any checkpoint (a run that failed before its first checkpoint)
takes the new config.

Models built in Python: ``run_experiment(cfg, run_dir, models={"name": Model, ...})`` trains them
beside (or instead of) the config's models, with the same resume, metrics, plots and export. The config
supplies the task, shots, training settings and seeds; a Python model named like a config model
replaces it in place (same position, so the same random keys), others come after the config's models.
``python_models.json`` records each one (circuit, observable, blocks, estimator kind and cost) with a
fingerprint per part: resuming with a different model is an error naming the model and the part that
changed, and ``load_run`` / ``slpa-jax export`` rebuild the models from the records.

Robustness: one process at a time writes a run directory (``.lock`` holds its pid; a lock left by a
process that no longer exists is removed). Training runs one epoch per compiled call (the progress
bar moves every epoch) and stops with ``TrainingDiverged`` at the first epoch whose loss or
parameters are not finite, checkpointing the last finite epoch. The last two checkpoints per model
are kept: a latest one that cannot be read falls back to the previous one, with a warning.

Models train concurrently, in threads of this process, when ``train.parallel_models`` allows it
(``auto``: one per CPU core for small programs on one CPU device, see ``parallel_models``): JAX releases
the GIL while a compiled program runs, so the Fig. 4 models use both cores of a 2-core machine. Each
model's keys, programs and results are its own, so the run equals the one-at-a-time run bit for bit.
Ctrl-C then lets every model finish and checkpoint its current epoch (or compilation) before the run
stops; a model that fails stops the others the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import queue
import socket
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import yaml

from .config import (
    Config,
    ConfigError,
    TaskConfig,
    config_to_dict,
    parse_config,
    task_hamiltonian_of,
    task_symmetry,
    valid_name,
)
from .report import shots_to_reach
from .results import save_atomic, strict_json, write_tidy_metrics

__all__ = [
    "run_experiment",
    "load_run",
    "build_dataset",
    "build_model",
    "read_metrics",
    "plot_run",
    "summary_table",
    "shots_to_reach",
    "shot_budget",
    "budget_table",
    "run_title",
    "RunLocked",
    "TrainingDiverged",
    "LOCK_NAME",
    "PLOT_NAME",
    "ACCURACY_PLOT_NAME",
    "RESUMABLE_KEYS",
    "PYTHON_MODELS_NAME",
    "run_models",
    "RunModel",
    "is_writer",
    "sync_processes",
]

PLOT_NAME = "loss_vs_shots.png"
PAPER_PLOT_NAME = "loss_vs_shots_paper.png"
INITIAL_NAME = "initial.json"
PYTHON_MODELS_NAME = "python_models.json"
LOCK_NAME = ".lock"
ACCURACY_PLOT_NAME = "accuracy_vs_shots.png"
_ACCURACY_KEYS = ("train_accuracy", "test_accuracy")
_CKPT_VERSION = 1


def build_dataset(cfg: Config):
    """The config's data set (``tasks.TASKS``; deterministic in ``task.data_seed``)."""
    from .tasks import build_task

    t = cfg.task
    return build_task(
        t.kind,
        t.n_qubits,
        t.n_train,
        t.n_test,
        t.data_seed,
        hamiltonian=t.hamiltonian,
        path=t.path,
        initial_state=t.initial_state,
        encoding=t.encoding,
    )


@functools.lru_cache(maxsize=64)
def _cached_model(key: str, shots, n_qubits: int):
    from .models import make_model

    m, task = json.loads(key)
    task_cfg = TaskConfig(**task)
    return make_model(
        m["ansatz"],
        n_qubits,
        m["n_params"],
        m["estimator"],
        shots,
        m["observable"],
        name=m["name"],
        circuit=m["circuit"],
        stabilizers=m["stabilizers"],
        task_symmetry=task_symmetry(task_cfg),
        task_hamiltonian=task_hamiltonian_of(task_cfg),
        fhat=m["fhat"],
    )


def build_model(cfg: Config, model_index: int):
    """``models.make_model`` for ``cfg.models[model_index]`` (shots per circuit from ``cfg.shots``), its
    estimator rebuilt under the config's ``noise:`` / ``backend:`` sections (``models.noisy_model``).

    Memoised on the model's and task's settings: a ``Model`` is immutable, and reusing the same object
    lets ``training.train_epochs`` reuse its compiled program across runs of one process (sweeps,
    resumes).
    """
    from .models import noisy_model

    m = cfg.models[model_index]
    key = json.dumps([dataclasses.asdict(m), dataclasses.asdict(cfg.task)], sort_keys=True)
    return noisy_model(_cached_model(key, cfg.shots, cfg.task.n_qubits), cfg.noise, cfg.backend, m.fhat)


@functools.lru_cache(maxsize=16)
def _cached_optimizer(name: str, lr: float, b1: float, b2: float, eps: float, eps_root: float):
    from .training import make_optimizer

    return make_optimizer(name, lr=lr, b1=b1, b2=b2, eps=eps, eps_root=eps_root)


def _optimizer(cfg: Config):
    t = cfg.train
    return _cached_optimizer(t.optimizer, t.lr, t.b1, t.b2, t.eps, t.eps_root)


def _model_key(cfg: Config, model_index: int):
    import jax

    return jax.random.fold_in(jax.random.PRNGKey(cfg.train.seed), model_index)


_save_atomic = save_atomic


class RunLocked(RuntimeError):
    """Another live process is writing the run directory."""


class TrainingDiverged(FloatingPointError):
    """A loss or the parameters became non-finite; the message names the model, epoch, metric and seeds."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _acquire_lock(run_dir: Path) -> Path:
    """Create ``run_dir/.lock`` holding ``pid host``; a lock of a dead process on this host is cleared."""
    lock = run_dir / LOCK_NAME
    me = f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid_s, host = (lock.read_text().split() + ["", ""])[:2]
                pid = int(pid_s)
            except (OSError, ValueError):
                pid, host = -1, ""
            if pid > 0 and host == socket.gethostname() and not _pid_alive(pid):
                msg = f"removing the stale lock {str(lock)!r} of process {pid}, which no longer runs"
                warnings.warn(msg, stacklevel=3)
                lock.unlink(missing_ok=True)
                continue
            owner = f"process {pid} on {host or 'an unknown host'}" if pid > 0 else "an unreadable lock"
            raise RunLocked(
                f"run directory {str(run_dir)!r} is in use by {owner} (lock file {str(lock)!r}); wait for that run "
                "to end, or delete the lock file if no such run is alive"
            ) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        return lock
    raise RunLocked(f"run directory {str(run_dir)!r}: could not take the lock {str(lock)!r}")


def _release_lock(lock: Path) -> None:
    try:
        if lock.read_text().split()[:1] == [str(os.getpid())]:
            lock.unlink()
    except OSError:
        pass


def _diff_keys(a, b, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(dotted key, a value, b value)`` wherever two nested dict/list structures differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff_keys(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff_keys(x, y, f"{prefix}[{i}]")]
    return [] if a == b else [(prefix, a, b)]


#: Keys that may change when resuming: results do not depend on them (train_epochs(k) twice equals
#: train_epochs(2k) once; the device count changes only rounding), so a run can be extended with more
#: epochs, checkpointed more often or moved to other devices.
RESUMABLE_KEYS = ("train.epochs", "train.checkpoint_every", "train.devices", "train.mesh", "train.parallel_models")


def _write_config(cfg: Config, run_dir: Path, names=None) -> None:
    """Write ``config.yaml``, or check it against an existing one (only ``RESUMABLE_KEYS`` may differ,
    and ``train.epochs`` not below any checkpoint's epochs). ``names``: every model of the run (default
    the config's)."""
    path = run_dir / "config.yaml"
    resolved = config_to_dict(cfg)
    if path.exists():
        try:
            old = config_to_dict(parse_config(yaml.safe_load(path.read_text()), require_models=False))
        except (ConfigError, yaml.YAMLError) as err:
            raise ConfigError(f"run directory {str(run_dir)!r}: its config.yaml is invalid ({err})") from None
        diff = [d for d in _diff_keys(old, resolved) if d[0] not in RESUMABLE_KEYS]
        if diff and not _has_checkpoints(run_dir):
            diff = []  # a run that failed before its first checkpoint does not lock its config
        if diff:
            keys = ", ".join(f"{k} ({a!r} in the run directory, {b!r} now)" for k, a, b in diff)
            raise ConfigError(
                f"run directory {str(run_dir)!r} holds a different config; resuming needs the same config "
                f"(only {list(RESUMABLE_KEYS)} may change). Differing keys: {keys}. Use another name/output_dir "
                "(or --run-dir), or delete the directory."
            )
        if old == resolved:
            return
        for name in [m.name for m in cfg.models] if names is None else names:
            done = _ckpt_epochs(_ckpt_path(run_dir, name))
            if done > cfg.train.epochs:
                raise ConfigError(
                    f"config key 'train.epochs': expected >= {done}, the epochs model {name!r} "
                    f"already ran in {str(run_dir)!r}, got {cfg.train.epochs}"
                )
    _save_atomic(path, yaml.safe_dump(resolved, sort_keys=False).encode())


def _has_checkpoints(run_dir: Path) -> bool:
    d = run_dir / "checkpoints"
    return d.is_dir() and any(p.suffix == ".ckpt" for p in d.iterdir())


# --- checkpoints ---------------------------------------------------------------------------------


def _ckpt_payload(state, history: dict, model_name: str) -> bytes:
    from flax import serialization

    meta = {
        "version": _CKPT_VERSION,
        "model": model_name,
        "dtype": str(np.asarray(state.params).dtype),
        "epochs": int(state.epoch),
    }
    return serialization.msgpack_serialize(
        {
            "meta": meta,
            "state": serialization.to_state_dict(state),
            "history": {k: np.asarray(v) for k, v in history.items()},
        }
    )


def _restore(path: Path) -> dict:
    from flax import serialization

    try:
        raw = serialization.msgpack_restore(path.read_bytes())
        int(raw["meta"]["epochs"])
        return raw
    except Exception as err:  # a truncated or foreign file: say which and how to recover
        raise ValueError(
            f"checkpoint {str(path)!r} cannot be read ({type(err).__name__}: {err}); delete it to "
            "restart this model from scratch"
        ) from None


def _ckpt_path(run_dir: Path, name: str) -> Path:
    return run_dir / "checkpoints" / f"{name}.ckpt"


def _prev_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".ckpt") + ".prev.ckpt")


def _save_ckpt(path: Path, payload: bytes) -> None:
    """Write the new checkpoint; the one it replaces becomes ``NAME.prev.ckpt`` (the last two are kept)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists() and _readable(path):  # a corrupt latest is replaced, never kept as the fallback
            os.replace(path, _prev_path(path))
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise


def _readable(path: Path) -> bool:
    try:
        _restore(path)
        return True
    except ValueError:
        return False


def _restore_latest(path: Path) -> tuple[dict, Path]:
    """The raw latest readable checkpoint: ``path``, or ``NAME.prev.ckpt`` (with a warning) when ``path``
    cannot be read. Raises the error about ``path`` when neither can be read."""
    try:
        return _restore(path), path
    except ValueError as err:
        prev = _prev_path(path)
        if not prev.exists():
            raise
        try:
            raw = _restore(prev)
        except ValueError:
            raise err from None
        warnings.warn(f"{err}; using the previous checkpoint {str(prev)!r} instead", stacklevel=3)
        return raw, prev


def _ckpt_epochs(path: Path) -> int:
    """Epochs recorded in a checkpoint, or in its fallback (0 when there is none)."""
    if not path.exists() and not _prev_path(path).exists():
        return 0
    return int(_restore_latest(path)[0]["meta"]["epochs"])


def _load_ckpt(path: Path, template, *, same_dtype: bool = True):
    """Restore ``(TrainState, history)`` from ``path`` (or its previous checkpoint when ``path`` cannot be
    read) into the structure of ``template``; with ``same_dtype`` (resuming) the stored parameter dtype
    must equal the template's."""
    from flax import serialization

    raw, path = _restore_latest(path)
    meta = raw["meta"]
    try:
        state = serialization.from_state_dict(template, raw["state"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"checkpoint {str(path)!r} does not match model {meta.get('model')!r} of this config "
            f"({type(err).__name__}: {err}); delete it to restart this model from scratch"
        ) from None
    want = str(np.asarray(template.params).dtype)
    if same_dtype and meta["dtype"] != want:
        raise ValueError(
            f"checkpoint {str(path)!r} holds {meta['dtype']} parameters but this process uses {want}; resume with "
            f"the same precision ({'set' if meta['dtype'] == 'float64' else 'unset'} JAX_ENABLE_X64)"
        )
    history = {k: np.asarray(v) for k, v in raw["history"].items()}
    return state, history


def _append_history(history: dict, metrics: dict) -> dict:
    """Concatenate per-seed (S, E) metric arrays along epochs. A metric new to a non-empty history
    (e.g. accuracy, resuming a checkpoint written before it was logged) gets NaN for the earlier epochs."""
    out = dict(history)
    done = _n_epochs(history)
    for k, v in metrics.items():
        v = np.asarray(v)
        if k not in history and done:
            history = {**history, k: np.full((v.shape[0], done), np.nan)}
        out[k] = v if k not in history else np.concatenate([history[k], v], axis=1)
    return out


def _n_epochs(history: dict) -> int:
    return int(np.asarray(history["shots"]).shape[1]) if history else 0


def _write_metrics(run_dir: Path, histories: dict) -> None:
    lines = []
    for name, h in histories.items():
        for e in range(_n_epochs(h)):
            rec = {"model": name, "epoch": e + 1}
            rec.update({k: np.asarray(v)[:, e].tolist() for k, v in h.items()})
            lines.append(strict_json(rec))
    _save_atomic(run_dir / "metrics.jsonl", "".join(line + "\n" for line in lines).encode())
    write_tidy_metrics(histories, run_dir, parquet=False)


def read_metrics(run_dir) -> dict[str, dict[str, np.ndarray]]:
    """metrics.jsonl -> ``{model: {metric: (n_seeds, n_epochs) array}}`` in file order (null -> NaN)."""
    path = Path(run_dir) / "metrics.jsonl"
    out: dict[str, dict[str, list]] = {}
    with open(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                name = rec.pop("model")
                rec.pop("epoch")
            except (json.JSONDecodeError, KeyError):
                raise ValueError(f"read_metrics: {str(path)!r} line {i + 1} is not a metrics record") from None
            h = out.setdefault(name, {})
            for k, v in rec.items():
                h.setdefault(k, []).append(v)
    return {m: {k: _as_array(v).T for k, v in h.items()} for m, h in out.items()}


def _as_array(rows: list) -> np.ndarray:
    """Per-epoch lists -> array; a null (a non-finite value in strict JSON) becomes NaN."""
    if any(x is None for r in rows for x in (r if isinstance(r, list) else [r])):
        return np.asarray(rows, dtype=np.float64)
    return np.asarray(rows)


# --- the run -------------------------------------------------------------------------------------


def run_experiment(cfg: Config, run_dir=None, *, models=None, progress: bool = True, local: bool = False) -> dict:
    """Train every model of ``cfg`` (seeds vmapped), checkpointing and resuming; returns the summary.

    Args:
        cfg: a validated ``Config`` (no sweep lists); when every model is built in Python, parse it
            with ``parse_config(data, require_models=False)`` (no ``models`` key needed).
        run_dir: where to write; default ``cfg.output_dir / cfg.name``. An existing directory with the
            same config (and the same Python models) is resumed.
        models: models built in Python: ``{name: training.Model}`` or a list of Models (named by
            ``Model.name``). A name of a config model replaces that model in place; other names are
            trained after the config's models (``run_models``). Each must act on ``task.n_qubits``
            qubits and sample ``cfg.shots`` shots per circuit (or be exact); on a ground-state task it
            must measure ``task.hamiltonian``.
        progress: show a tqdm bar per model (updated every epoch).
        local: this process alone runs the config on its own devices and writes the run directory
            (a point of a sweep split across processes). Default: every process of a
            ``jax.distributed`` job runs it together on ``train.devices`` of all processes, and only
            process 0 writes the run directory (the others read its checkpoints to resume, so the
            run directory must be on a shared file system). With one process both are the same.

    Returns:
        The summary dict (also ``run_dir/summary.json``): ``{"name", "run_dir", "shots_per_circuit",
        "n_seeds", "models": {name: {...final losses, shots per seed, circuits per sample...}}}``; a Python
        model's ``ansatz`` is ``"python"`` and its ``estimator`` its estimator's kind.

    Raises:
        ConfigError: ``run_dir`` holds a different config or different Python models (and checkpoints).
        TypeError, ValueError: ``models`` is not Models with valid, distinct names, or a model does not
            fit the config (the message names the model and what differs).
        RunLocked: another live process is writing ``run_dir``.
        TrainingDiverged: a loss or the parameters became non-finite (the last finite epoch is checkpointed).
        OSError: the run directory cannot be written (the message names the path).

    Example::

        model = make_model("custom", 4, None, "param_shift", 1000, observable="ZIII", circuit=[...])
        run_experiment(parse_config({"name": "mine", "task": {...}}, require_models=False),
                       models={"mine": model})
    """
    if not isinstance(cfg, Config):
        raise TypeError(f"run_experiment: cfg must be a Config (see config.parse_config), got {type(cfg).__name__}")
    cfg, entries = run_models(cfg, models)
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / cfg.name
    if not (local or is_writer()):  # a follower process of a distributed run: compute, never write
        sync_processes("config")  # after process 0 has checked and written the config
        return _run_locked(cfg, entries, run_dir, False, write=False, local=False)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    lock = _acquire_lock(run_dir)
    try:
        return _run_locked(cfg, entries, run_dir, progress, write=True, local=local)
    finally:
        _release_lock(lock)


@dataclasses.dataclass(frozen=True)
class RunModel:
    """One model of a run: its ``name``, its ``index`` in the run (seed ``s`` starts from
    ``fold_in(fold_in(PRNGKey(train.seed), index), s)``), and either the ``Model`` built in Python
    (``python``) or its position ``config_index`` in the config's models."""

    name: str
    index: int
    python: object = None
    config_index: int | None = None

    def model(self, cfg: Config):
        return self.python if self.python is not None else build_model(cfg, self.config_index)

    def labels(self, cfg: Config) -> tuple[str, str, int]:
        """(ansatz, estimator, n_params) for the summary."""
        if self.python is not None:
            return "python", self.python.estimator.kind, self.python.n_params
        m = cfg.models[self.config_index]
        return m.ansatz, m.estimator, m.n_params


def _as_python_models(models) -> dict:
    from .training import Model

    if models is None:
        return {}
    if isinstance(models, Model):
        models = [models]
    if isinstance(models, Mapping):
        items = list(models.items())
    elif isinstance(models, (list, tuple)):
        items = [(getattr(m, "name", None), m) for m in models]
    else:
        raise TypeError(f"run_experiment: models must be a mapping {{name: Model}} or a list of Models, got {models!r}")
    out: dict = {}
    for name, m in items:
        if not isinstance(m, Model):
            raise TypeError(f"run_experiment: models[{name!r}] must be a training.Model, got {type(m).__name__}")
        if not valid_name(name):
            raise ValueError(
                f"run_experiment: model name {name!r}: expected a file-name-safe string (letters, digits, _ . + -)"
            )
        if name in out:
            raise ValueError(f"run_experiment: two Python models are named {name!r}; names must be distinct")
        out[name] = m
    return out


def _check_python_model(cfg: Config, name: str, m) -> None:
    where = f"run_experiment: models[{name!r}]"
    if m.n_qubits != cfg.task.n_qubits:
        raise ValueError(f"{where} acts on {m.n_qubits} qubits, expected task.n_qubits = {cfg.task.n_qubits}")
    est = m.estimator
    if est.shots is not None and est.shots != cfg.shots:
        raise ValueError(
            f"{where}: its {est.kind!r} estimator samples {est.shots} shots per circuit, expected the config's "
            f"shots = {cfg.shots}; build the model with shots={cfg.shots}"
        )
    h = task_hamiltonian_of(cfg.task)
    if h is not None:

        def terms(o):
            o = o.simplify()
            return sorted(zip(o.paulis.labels(), np.round(o.coeffs, 12).tolist()), key=lambda t: t[0])

        if terms(h) != terms(m.observable):
            raise ValueError(
                f"{where}: a ground-state task's models must measure task.hamiltonian, got {m.observable!r}"
            )


def run_models(cfg: Config, models=None) -> tuple[Config, list[RunModel]]:
    """The models a run trains: ``cfg.models`` in order, a Python model named like one in its place,
    the other Python models after them (see ``run_experiment``).

    Returns:
        ``(config, entries)``: the config with only the models built from it (what ``config.yaml``
        records) and one ``RunModel`` per model in run order.

    Raises:
        TypeError, ValueError: as ``run_experiment``; no model at all.
    """
    py = _as_python_models(models)
    for name, m in py.items():
        _check_python_model(cfg, name, m)
    entries, kept = [], []
    for mcfg in cfg.models:
        if mcfg.name in py:
            entries.append(RunModel(mcfg.name, len(entries), python=py.pop(mcfg.name)))
        else:
            entries.append(RunModel(mcfg.name, len(entries), config_index=len(kept)))
            kept.append(mcfg)
    for name, m in py.items():
        entries.append(RunModel(name, len(entries), python=m))
    if not entries:
        raise ValueError("run_experiment: no models to train: the config has none and models= gives none")
    return dataclasses.replace(cfg, models=tuple(kept)), entries


def _python_record(entries: list[RunModel]) -> dict:
    from .model_io import model_record, record_fingerprint

    out: dict = {"order": [e.name for e in entries], "models": {}}
    for e in entries:
        if e.python is not None:
            rec = model_record(e.python)
            out["models"][e.name] = {"index": e.index, "fingerprint": record_fingerprint(rec), "record": rec}
    return out


def _write_python_models(run_dir: Path, entries: list[RunModel]) -> None:
    """Write ``python_models.json``, or check the Python models against those a run directory with
    checkpoints was trained with (same names, positions and fingerprints)."""
    path = run_dir / PYTHON_MODELS_NAME
    new = _python_record(entries)
    if _has_checkpoints(run_dir):
        try:
            old = json.loads(path.read_text()) if path.exists() else {"models": {}}
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(
                f"run directory {str(run_dir)!r}: its {PYTHON_MODELS_NAME} is unreadable ({err})"
            ) from None
        diff = []
        for name in sorted(set(old["models"]) | set(new["models"])):
            a, b = old["models"].get(name), new["models"].get(name)
            if a is None:
                diff.append(f"model {name!r} is new (the run directory has no Python model of that name)")
            elif b is None:
                diff.append(f"Python model {name!r} of the run directory is not given (pass it in models=)")
            elif a["index"] != b["index"]:
                diff.append(f"model {name!r} is at position {b['index']}, was {a['index']}")
            else:
                parts = [
                    f"{p} (fingerprint {a['fingerprint'][p][:12]} in the run directory, {b['fingerprint'][p][:12]} now)"
                    for p in b["fingerprint"]
                    if a["fingerprint"].get(p) != b["fingerprint"][p]
                ]
                if parts:
                    diff.append(f"model {name!r} differs in its {', '.join(parts)}")
        if diff:
            raise ConfigError(
                f"run directory {str(run_dir)!r} was trained with different Python models; resuming needs the "
                f"same models: {'; '.join(diff)}. Use another run directory, or delete it."
            )
    if new["models"]:
        _save_atomic(path, strict_json(new, indent=1).encode())
    else:
        path.unlink(missing_ok=True)


def is_writer() -> bool:
    """Whether this process writes run directories: process 0 of a ``jax.distributed`` job (or the
    only process)."""
    import jax

    return jax.process_index() == 0


def _skip(*args) -> None:
    """The write of a process that does not write (see ``run_experiment``'s ``local``)."""


def sync_processes(tag: str, local: bool = False) -> None:
    """A barrier over every process of a ``jax.distributed`` job (nothing with one process, or with
    ``local``)."""
    import jax

    if not local and jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(f"slpa-jax run: {tag}")


@dataclasses.dataclass(frozen=True, eq=False)
class _RunContext:
    """What the models of one run share while they train (in threads with ``train.parallel_models``):
    the inputs, the writers (no-ops on a follower process) and, behind ``lock``, the histories and
    initial losses that every metrics write reads."""

    cfg: Config
    run_dir: Path
    data: object
    opt: object
    devices: list
    progress: bool
    save_atomic: object
    save_ckpt: object
    write_metrics: object
    lock: threading.Lock
    stop: threading.Event  # set: every model checkpoints after its current epoch and returns
    histories: dict
    initials: dict


class _Stopped(Exception):
    """A model stopped early because the run is stopping (Ctrl-C, or another model failed)."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: ``train.parallel_models: auto`` trains models concurrently only up to this many qubits (small
#: programs use one core each; larger ones use XLA's thread pool and memory of their own).
PARALLEL_MAX_QUBITS = 14


def parallel_models(cfg: Config, n_models: int, devices: list, *, distributed: bool = False) -> int:
    """How many models of a run train at the same time (threads of one process; results do not depend
    on it). ``train.parallel_models``: an int N (at most N), or ``auto``: one per CPU core when the
    models train on one CPU device with at most ``PARALLEL_MAX_QUBITS`` qubits, else 1. A
    ``jax.distributed`` run trains one model at a time (every process must run the same programs in
    the same order). The model threads see JAX's global settings (``jax.config.update``, environment),
    not the calling thread's context managers (``jax.default_device(...)``, ``enable_x64()``): use
    those with ``train.parallel_models: 1``."""
    if distributed or n_models < 2:
        return 1
    spec = cfg.train.parallel_models
    if spec == "auto":
        small_cpu = len(devices) == 1 and devices[0].platform == "cpu" and cfg.task.n_qubits <= PARALLEL_MAX_QUBITS
        spec = available_cores() if small_cpu else 1
    return max(1, min(int(spec), n_models))


def _run_locked(
    cfg: Config, entries: list[RunModel], run_dir: Path, progress: bool, *, write: bool = True, local: bool = False
) -> dict:
    import jax

    from ..core.devices import resolve_devices

    if write:
        _write_python_models(run_dir, entries)
        _write_config(cfg, run_dir, [e.name for e in entries])
        sync_processes("config", local)
    devices = resolve_devices(cfg.train.devices, local=local, where="config key 'train.devices'")
    # a follower process of a distributed run computes everything and writes nothing
    writers = (_save_atomic, _save_ckpt, _write_metrics) if write else (_skip,) * 3
    ctx = _RunContext(
        cfg, run_dir, build_dataset(cfg), _optimizer(cfg), devices, progress, *writers,
        threading.Lock(), threading.Event(), {}, {},
    )  # fmt: skip
    summary: dict = {
        "name": cfg.name,
        "run_dir": str(run_dir),
        "shots_per_circuit": cfg.shots,
        "n_seeds": cfg.train.n_seeds,
        "n_train": cfg.task.n_train,
        "models": {},
    }
    models = [entry.model(cfg) for entry in entries]
    k = parallel_models(cfg, len(entries), devices, distributed=not local and jax.process_count() > 1)
    for entry in entries:  # the metrics files list the models in config order
        ctx.histories[entry.name] = {}
    if k == 1:
        results = [_train_model(ctx, entry, model, None) for entry, model in zip(entries, models)]
    else:
        results = _train_concurrently(ctx, entries, models, k)
    for entry, res in zip(entries, results):
        summary["models"][entry.name] = res
    if not write:
        return summary
    _write_metrics(run_dir, ctx.histories)
    write_tidy_metrics(ctx.histories, run_dir)
    _save_atomic(run_dir / "summary.json", strict_json(summary, indent=2).encode())
    plot_run(
        ctx.histories,
        run_dir,
        run_title(cfg),
        loss=cfg.train.loss,
        reference=exact_reference(cfg),
        initial=ctx.initials or None,
    )
    return summary


def _train_concurrently(ctx: _RunContext, entries: list[RunModel], models: list, k: int) -> list[dict]:
    """Train the models in ``k`` threads (JAX releases the GIL while a program runs); returns their
    summaries in ``entries`` order. The first failure (or Ctrl-C in the main thread) sets ``ctx.stop``:
    every other model checkpoints after its current epoch and stops, then the failure is raised. Further
    Ctrl-Cs do not stop the waiting: a compilation or program running in another thread cannot be
    interrupted, and one still running when the process exits crashes it (JAX also passes a Ctrl-C that
    arrives during a compilation in a thread on to the main thread)."""
    pending = list(enumerate(zip(entries, models)))
    results: list = [None] * len(entries)
    errors: list = []

    def worker():
        while not ctx.stop.is_set():
            with ctx.lock:
                if not pending:
                    return
                i, (entry, model) = pending.pop(0)
            try:
                results[i] = _train_model(ctx, entry, model, i)
            except _Stopped:
                return
            except BaseException as e:  # noqa: BLE001 - re-raised by the main thread
                with ctx.lock:
                    errors.append(e)
                ctx.stop.set()
                return

    done: list = []
    try:
        _run_on_pool([worker] * k, done)
        _wait_all(done)
    except KeyboardInterrupt:
        ctx.stop.set()
        print("slpa-jax: stopping after each model's current epoch (checkpointing it)", file=sys.stderr, flush=True)
        _wait_all(done, shielded=True)
        raise
    if errors:
        raise errors[0]
    return results


_POOL_JOBS: queue.SimpleQueue = queue.SimpleQueue()
_POOL_LOCK = threading.Lock()
_POOL_THREADS: list = []


def _pool_thread() -> None:
    while True:
        job, finished = _POOL_JOBS.get()
        try:
            job()
        finally:
            finished.set()


def _run_on_pool(jobs: list, events: list) -> None:
    """Run each callable on a long-lived daemon thread, appending its completion event to ``events`` as
    it is queued (so a Ctrl-C meanwhile still knows what to wait for). The threads wait for the next
    run instead of ending: threads that end just before an interrupted process exits aborted it ("FATAL:
    exception not rethrown") in 3 of 8 interrupted CLI runs even with every thread joined; with this pool,
    in 0 of 10."""
    with _POOL_LOCK:
        while len(_POOL_THREADS) < len(jobs):
            t = threading.Thread(target=_pool_thread, name=f"slpa-jax models {len(_POOL_THREADS)}", daemon=True)
            t.start()
            _POOL_THREADS.append(t)
    for job in jobs:
        finished = threading.Event()
        events.append(finished)
        _POOL_JOBS.put((job, finished))


def _wait_all(events: list, *, shielded: bool = False) -> None:
    """Wait until every event is set; ``shielded``: a Ctrl-C meanwhile only says that the run is stopping."""
    for ev in events:
        while True:
            try:
                if ev.wait(0.1):
                    break
            except KeyboardInterrupt:
                if not shielded:
                    raise
                print(
                    "slpa-jax: still stopping: each model finishes its current epoch (or compilation) first",
                    file=sys.stderr,
                    flush=True,
                )


def _train_model(ctx: _RunContext, entry: RunModel, model, position) -> dict:
    """Train one model to ``train.epochs`` from its checkpoint, checkpointing every
    ``checkpoint_every`` epochs; returns its summary. ``position``: its progress bar's row (threads)."""
    import jax

    from . import training

    cfg, run_dir, data = ctx.cfg, ctx.run_dir, ctx.data
    name = entry.name
    state = training.init_train_state(model, ctx.opt, _model_key(cfg, entry.index), cfg.train.n_seeds)
    if cfg.train.log_initial:  # the initial state is a function of the key: the same on a resume
        tr, te = training.evaluate(model, data, state, loss=cfg.train.loss)
        with ctx.lock:
            ctx.initials[name] = {"train_loss": tr, "test_loss": te}
            ctx.save_atomic(
                run_dir / INITIAL_NAME, strict_json(_ordered(ctx.initials, ctx.histories), indent=1).encode()
            )
    ckpt = _ckpt_path(run_dir, name)
    history: dict = {}
    if ckpt.exists() or _prev_path(ckpt).exists():
        state, history = _load_ckpt(ckpt, state)
    done = _n_epochs(history)
    if done != int(state.epoch):
        raise ValueError(
            f"checkpoint {str(ckpt)!r} holds {done} logged epochs for a state at epoch "
            f"{int(state.epoch)}; delete it to restart this model"
        )

    def save():  # the checkpoint first: metrics never list an epoch that no checkpoint holds
        ctx.save_ckpt(ckpt, _ckpt_payload(state, history, name))
        with ctx.lock:
            ctx.write_metrics(run_dir, ctx.histories)

    with ctx.lock:
        ctx.histories[name] = history
    t0, start, saved = time.perf_counter(), done, done
    bar = _progress(cfg.train.epochs, done, name, ctx.progress, position)
    try:
        while done < cfg.train.epochs:
            if ctx.stop.is_set():
                if done > saved:
                    save()
                jax.block_until_ready(state)  # nothing of this model runs on (the initial state may be in flight)
                raise _Stopped(name)
            try:
                new_state, metrics = training.train_epochs(
                    model,
                    data,
                    ctx.opt,
                    state,
                    1,
                    batch_size=cfg.train.batch_size,
                    loss=cfg.train.loss,
                    devices=ctx.devices,
                    mesh_shape=None if cfg.train.mesh == "auto" else tuple(cfg.train.mesh),
                )
            except KeyboardInterrupt:  # keep every finished epoch: checkpoint before stopping
                if done > saved:
                    save()
                raise
            bad = _non_finite(new_state, metrics)
            if bad:
                if done > saved:
                    ctx.save_ckpt(ckpt, _ckpt_payload(state, history, name))
                with ctx.lock:
                    ctx.write_metrics(run_dir, ctx.histories)
                raise TrainingDiverged(
                    f"model {name!r} diverged at epoch {done + 1}: {bad}; the last finite epoch ({done}) "
                    f"is checkpointed in {str(ckpt)!r}. Lower train.lr (now {cfg.train.lr:g}) and start a new "
                    "run directory"
                )
            state, history = new_state, _append_history(history, metrics)
            done += 1
            with ctx.lock:
                ctx.histories[name] = history
            if done - saved >= cfg.train.checkpoint_every or done == cfg.train.epochs:
                save()
                saved = done
            if bar is not None:
                bar.update(1)
                bar.set_postfix(test_loss=f"{np.mean(history['test_loss'][:, -1]):.3g}")
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    return _model_summary(cfg, entry.labels(cfg), model, data, state, history, seconds, done - start)


def _ordered(initials: dict, histories: dict) -> dict:
    """``initials`` in the models' order (``histories`` is keyed in config order), whichever finished first."""
    return {name: initials[name] for name in histories if name in initials}


def _non_finite(state, metrics: dict) -> str:
    """'' when the epoch's losses and parameters are finite, else which metric and seeds are not."""
    for key in ("train_loss", "test_loss"):
        v = np.asarray(metrics[key])[:, -1]
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            return f"{key} is {v[bad[0]]} for seed(s) {bad.tolist()}"
    p = np.asarray(state.params)
    bad = np.flatnonzero(~np.all(np.isfinite(p), axis=1))
    if bad.size:
        return f"the parameters are not finite for seed(s) {bad.tolist()}"
    return ""


def run_title(cfg: Config) -> str:
    """A plot title: run name, task, qubits, shots per circuit, seeds."""
    shots = "exact" if cfg.shots is None else f"N = {cfg.shots:,} shots per circuit"
    return f"{cfg.name}: {cfg.task.kind}, n = {cfg.task.n_qubits} qubits, {shots}, {cfg.train.n_seeds} seeds"


#: Ground-state tasks up to this size get their exact energy (for the energy-error plot).
EXACT_REFERENCE_MAX_QUBITS = 16


def exact_reference(cfg: Config) -> float | None:
    """The exact ground energy of a ground-state task (``hamiltonians.ground_energy``) up to
    ``EXACT_REFERENCE_MAX_QUBITS`` qubits; None for other tasks."""
    if cfg.task.kind != "ground_state" or cfg.task.n_qubits > EXACT_REFERENCE_MAX_QUBITS:
        return None
    from .hamiltonians import ground_energy

    return ground_energy(task_hamiltonian_of(cfg.task))


def plot_run(histories: dict, run_dir, title: str, *, loss: str = "mse", reference=None, initial=None) -> list[str]:
    """Draw ``PLOT_NAME`` (and ``ACCURACY_PLOT_NAME`` when accuracies were logged) into ``run_dir``;
    ``loss`` labels the loss axis; ``reference`` (exact ground energy) turns an energy plot into an
    energy-error plot. MSE runs also get ``PAPER_PLOT_NAME``, the paper's Fig. 4 axes (starting at
    the epoch-0 losses ``initial`` when logged). Returns the written paths."""
    from .plotting import plot_accuracy_vs_shots, plot_loss_paper_format, plot_loss_vs_shots

    run_dir = Path(run_dir)
    paths = [plot_loss_vs_shots(histories, str(run_dir / PLOT_NAME), title=title, loss=loss, reference=reference)]
    if loss == "mse":
        paths.append(plot_loss_paper_format(histories, str(run_dir / PAPER_PLOT_NAME), title=title, initial=initial))
    if any(k in h for h in histories.values() for k in _ACCURACY_KEYS):
        paths.append(plot_accuracy_vs_shots(histories, str(run_dir / ACCURACY_PLOT_NAME), title=title))
    return paths


def _progress(total: int, initial: int, name: str, enabled: bool, position=None):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="epoch",
        leave=True,
        dynamic_ncols=True,
        mininterval=0,
        miniters=1,
        position=position,
    )


def _accuracy(model, params, states, labels) -> np.ndarray:
    """Per-seed sign accuracy (labels +-1) of the exact model outputs."""
    import jax

    from .training import predict, sign_accuracy

    return np.asarray(sign_accuracy(jax.vmap(lambda p: predict(model, p, states))(params), labels))


def _model_summary(cfg: Config, labels, model, data, state, history: dict, seconds: float, new_epochs: int) -> dict:
    from .training import is_classification

    tr = np.asarray(history["train_loss"])[:, -1]
    te = np.asarray(history["test_loss"])[:, -1]
    shots = np.asarray(history["shots"])[:, -1]
    execs = np.asarray(history["executions"])[:, -1]
    epochs = _n_epochs(history)
    ansatz, estimator, n_params = labels
    out = {
        "ansatz": ansatz,
        "estimator": estimator,
        "n_params": n_params,
        "epochs": epochs,
        "final_train_loss_mean": float(np.mean(tr)),
        "final_train_loss_min": float(np.min(tr)),
        "final_train_loss_max": float(np.max(tr)),
        "final_test_loss_mean": float(np.mean(te)),
        "final_test_loss_min": float(np.min(te)),
        "final_test_loss_max": float(np.max(te)),
        "shots_per_seed": int(np.max(shots)),
        "executions_per_seed": int(np.max(execs)),
        "shots_per_epoch": float(np.max(shots)) / epochs,
        "circuits_per_sample": float(np.max(execs)) / (epochs * cfg.task.n_train),
        "wall_seconds_this_session": round(seconds, 3),
        "epochs_this_session": int(new_epochs),
    }
    for part in ("train", "test"):
        key = f"{part}_accuracy"
        if key in history:
            acc = np.asarray(history[key])[:, -1]
        elif is_classification(data):  # a checkpoint from before accuracy was logged
            acc = _accuracy(
                model, np.asarray(state.params), getattr(data, f"{part}_states"), getattr(data, f"{part}_labels")
            )
        else:
            continue
        out[f"final_{key}_mean"] = float(np.mean(acc))
        out[f"final_{key}_min"] = float(np.min(acc))
        out[f"final_{key}_max"] = float(np.max(acc))
    return out


def shot_budget(cfg: Config) -> list[dict]:
    """What a run of ``cfg`` will spend, per model, from the estimators' records (nothing is trained).

    Returns:
        One dict per model: ``model``, ``estimator`` (kind), ``circuits_per_sample`` and
        ``shots_per_sample`` (one gradient-estimator call: ``GradientEstimator.circuits_per_call`` /
        ``shots_per_call``), ``shots_per_epoch`` (per seed: x ``task.n_train``), ``total_shots_per_seed``
        (x ``train.epochs``) and ``total_shots`` (x ``train.n_seeds``). Shot entries are None when the
        estimator's cost is unknown (a custom estimator).
    """
    out = []
    t = cfg.train
    for i, mcfg in enumerate(cfg.models):
        est = build_model(cfg, i).estimator
        per_call = est.shots_per_call
        per_epoch = None if per_call is None else per_call * cfg.task.n_train
        out.append(
            {
                "model": mcfg.name,
                "estimator": est.kind,
                "circuits_per_sample": est.circuits_per_call,
                "shots_per_sample": per_call,
                "shots_per_epoch": per_epoch,
                "total_shots_per_seed": None if per_epoch is None else per_epoch * t.epochs,
                "total_shots": None if per_epoch is None else per_epoch * t.epochs * t.n_seeds,
            }
        )
    return out


def budget_table(rows: list[dict]) -> str:
    """A fixed-width table of ``shot_budget`` rows."""
    cols = (
        ("model", "model"),
        ("estimator", "estimator"),
        ("circuits/sample", "circuits_per_sample"),
        ("shots/sample", "shots_per_sample"),
        ("shots/epoch/seed", "shots_per_epoch"),
        ("total shots/seed", "total_shots_per_seed"),
        ("total shots", "total_shots"),
    )
    table = [tuple(c for c, _ in cols)]
    for r in rows:
        table.append(
            tuple("?" if r[k] is None else (f"{r[k]:,}" if isinstance(r[k], int) else str(r[k])) for _, k in cols)
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table)


def summary_table(summary: dict) -> str:
    """A fixed-width table: final train/test loss (mean over seeds), shots per seed, circuits per sample,
    and the final test accuracy (mean over seeds) when any model logged one."""
    acc = any("final_test_accuracy_mean" in s for s in summary["models"].values())
    rows = [
        ("model", "estimator", "epochs", "train loss", "test loss", "shots/seed", "circuits/sample")
        + (("test acc",) if acc else ())
    ]
    for name, s in summary["models"].items():
        row = (
            name,
            s["estimator"],
            str(s["epochs"]),
            f"{s['final_train_loss_mean']:.3e}",
            f"{s['final_test_loss_mean']:.3e}",
            f"{s['shots_per_seed']:.3e}",
            f"{s['circuits_per_sample']:g}",
        )
        if acc:
            row += (f"{s['final_test_accuracy_mean']:.3f}" if "final_test_accuracy_mean" in s else "-",)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def load_run(run_dir):
    """Config, models and trained parameters of a run directory.

    Returns:
        ``(cfg, models, params)``: the ``Config`` (its models: those built from it); ``{name: training.Model}``
        and ``{name: (n_seeds, n_params) ndarray}`` for every model with a readable checkpoint (the
        parameters of its last checkpoint, or of the previous one when the last cannot be read), in run
        order. Models built in Python are rebuilt from ``python_models.json`` (``model_io.model_from_record``).
        A model whose checkpoints cannot be read is left out with a warning, so the others can still be
        exported.

    Raises:
        FileNotFoundError: no ``config.yaml`` or no readable checkpoint in ``run_dir``.
        ValueError: an unreadable ``python_models.json``.
    """
    from .model_io import model_from_record
    from .training import init_train_state

    run_dir = Path(run_dir)
    path = run_dir / "config.yaml"
    if not path.exists():
        raise FileNotFoundError(f"load_run: {str(run_dir)!r} is not a run directory (no config.yaml)")
    cfg = parse_config(yaml.safe_load(path.read_text()), require_models=False)
    py_path = run_dir / PYTHON_MODELS_NAME
    entries = []
    if py_path.exists():
        try:
            saved = json.loads(py_path.read_text())["models"]
            entries = [RunModel(n, r["index"], python=model_from_record(r["record"], n)) for n, r in saved.items()]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"load_run: {str(py_path)!r} cannot be read: {err}") from None
    taken = {e.index for e in entries}
    free = (i for i in range(len(cfg.models) + len(entries)) if i not in taken)
    entries += [RunModel(m.name, next(free), config_index=j) for j, m in enumerate(cfg.models)]
    entries.sort(key=lambda e: e.index)
    opt = _optimizer(cfg)
    models, params, errors = {}, {}, []
    for e in entries:
        ckpt = _ckpt_path(run_dir, e.name)
        if not ckpt.exists() and not _prev_path(ckpt).exists():
            continue
        model = e.model(cfg)
        template = init_train_state(model, opt, _model_key(cfg, e.index), cfg.train.n_seeds)
        try:
            state, _ = _load_ckpt(ckpt, template, same_dtype=False)
        except ValueError as err:
            errors.append(str(err))
            warnings.warn(f"load_run: skipping model {e.name!r}: {err}", stacklevel=2)
            continue
        models[e.name] = model
        params[e.name] = np.asarray(state.params)
    if not models:
        why = f"; none could be read: {'; '.join(errors)}" if errors else ""
        raise FileNotFoundError(f"load_run: no checkpoints in {str(run_dir / 'checkpoints')!r}{why}")
    return cfg, models, params
