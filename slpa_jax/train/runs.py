"""Run directories: train every model of a config, checkpoint, resume, log, summarise and plot.

Layout of ``RUN_DIR``::

    config.yaml            the resolved config (all defaults filled in)
    metrics.jsonl          one JSON line per (model, epoch): per-seed train/test loss, cumulative
                           shots and circuit executions (lists of length n_seeds); classification
                           tasks (labels +-1) also train/test sign accuracy

    checkpoints/NAME.ckpt  TrainState + metrics so far (msgpack), written atomically
    summary.json           final losses, shots and circuits per model
    loss_vs_shots.png      Fig. 4-style plot (loss vs shots spent, and vs epoch)
    accuracy_vs_shots.png  classification tasks only: accuracy vs shots spent, and vs epoch

Resume: a checkpoint is written every ``train.checkpoint_every`` epochs. Started again with the same
config, a run continues from the last checkpoint of each model; all randomness lives in the
checkpointed per-seed keys (``training.train_epochs`` splits them once per epoch), so the resumed
run equals an uninterrupted one exactly. At most ``checkpoint_every`` epochs of compute are redone;
no logged epoch is lost. A different config in an existing run directory is an error naming the
keys that differ, except ``RESUMABLE_KEYS`` (``train.epochs`` may grow to extend a finished run, and
``train.checkpoint_every`` may change): results do not depend on them. The parameter dtype (float32,
or float64 with ``JAX_ENABLE_X64=1``) must match the checkpoint's.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import numpy as np
import yaml

from .config import Config, ConfigError, config_to_dict, parse_config

__all__ = [
    "run_experiment",
    "load_run",
    "build_dataset",
    "build_model",
    "read_metrics",
    "plot_run",
    "summary_table",
    "shots_to_reach",
    "PLOT_NAME",
    "ACCURACY_PLOT_NAME",
    "RESUMABLE_KEYS",
]

PLOT_NAME = "loss_vs_shots.png"
ACCURACY_PLOT_NAME = "accuracy_vs_shots.png"
_ACCURACY_KEYS = ("train_accuracy", "test_accuracy")
_CKPT_VERSION = 1


def build_dataset(cfg: Config):
    """The config's data set (deterministic in ``task.data_seed``)."""
    from . import datasets

    t = cfg.task
    if t.kind == "symmetric_unitary":
        return datasets.symmetric_unitary_task(t.n_qubits, t.n_train, t.n_test, key=t.data_seed)
    return datasets.cluster_ising_qpr(t.n_qubits, t.n_train, t.n_test, key=t.data_seed)


@functools.lru_cache(maxsize=64)
def _cached_model(ansatz: str, n_qubits: int, n_params: int, estimator: str, shots, name: str):
    from .models import make_model

    return make_model(ansatz, n_qubits, n_params, estimator, shots, name=name)


def build_model(cfg: Config, model_index: int):
    """``models.make_model`` for ``cfg.models[model_index]`` (shots per circuit from ``cfg.shots``).

    Memoised on the model's settings: a ``Model`` is immutable, and reusing the same object lets
    ``training.train_epochs`` reuse its compiled program across runs of one process (sweeps, resumes).
    """
    m = cfg.models[model_index]
    return _cached_model(m.ansatz, cfg.task.n_qubits, m.n_params, m.estimator, cfg.shots, m.name)


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


def _save_atomic(path: Path, payload: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
#: train_epochs(2k) once), so a run can be extended with more epochs or checkpointed more often.
RESUMABLE_KEYS = ("train.epochs", "train.checkpoint_every")


def _write_config(cfg: Config, run_dir: Path) -> None:
    """Write ``config.yaml``, or check it against an existing one (only ``RESUMABLE_KEYS`` may differ,
    and ``train.epochs`` not below any checkpoint's epochs)."""
    path = run_dir / "config.yaml"
    resolved = config_to_dict(cfg)
    if path.exists():
        try:
            old = config_to_dict(parse_config(yaml.safe_load(path.read_text())))
        except (ConfigError, yaml.YAMLError) as err:
            raise ConfigError(f"run directory {str(run_dir)!r}: its config.yaml is invalid ({err})") from None
        diff = [d for d in _diff_keys(old, resolved) if d[0] not in RESUMABLE_KEYS]
        if diff:
            keys = ", ".join(f"{k} ({a!r} in the run directory, {b!r} now)" for k, a, b in diff)
            raise ConfigError(
                f"run directory {str(run_dir)!r} holds a different config; resuming needs the same config "
                f"(only {list(RESUMABLE_KEYS)} may change). Differing keys: {keys}. Use another name/output_dir "
                "(or --run-dir), or delete the directory."
            )
        if old == resolved:
            return
        for mcfg in cfg.models:
            done = _ckpt_epochs(run_dir / "checkpoints" / f"{mcfg.name}.ckpt")
            if done > cfg.train.epochs:
                raise ConfigError(
                    f"config key 'train.epochs': expected >= {done}, the epochs model {mcfg.name!r} "
                    f"already ran in {str(run_dir)!r}, got {cfg.train.epochs}"
                )
    _save_atomic(path, yaml.safe_dump(resolved, sort_keys=False).encode())


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


def _ckpt_epochs(path: Path) -> int:
    """Epochs recorded in a checkpoint (0 when there is none)."""
    return int(_restore(path)["meta"]["epochs"]) if path.exists() else 0


def _load_ckpt(path: Path, template, *, same_dtype: bool = True):
    """Restore ``(TrainState, history)`` from ``path`` into the structure of ``template``; with
    ``same_dtype`` (resuming) the stored parameter dtype must equal the template's."""
    from flax import serialization

    raw = _restore(path)
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
            lines.append(json.dumps(rec))
    _save_atomic(run_dir / "metrics.jsonl", "".join(line + "\n" for line in lines).encode())


def read_metrics(run_dir) -> dict[str, dict[str, np.ndarray]]:
    """metrics.jsonl -> ``{model: {metric: (n_seeds, n_epochs) array}}`` in file order."""
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
    return {m: {k: np.asarray(v).T for k, v in h.items()} for m, h in out.items()}


# --- the run -------------------------------------------------------------------------------------


def run_experiment(cfg: Config, run_dir=None, *, progress: bool = True) -> dict:
    """Train every model of ``cfg`` (seeds vmapped), checkpointing and resuming; returns the summary.

    Args:
        cfg: a validated ``Config`` (no sweep lists).
        run_dir: where to write; default ``cfg.output_dir / cfg.name``. An existing directory with the
            same config is resumed.
        progress: show a tqdm bar per model (epochs).

    Returns:
        The summary dict (also ``run_dir/summary.json``): ``{"name", "run_dir", "shots_per_circuit",
        "n_seeds", "models": {name: {...final losses, shots per seed, circuits per sample...}}}``.

    Raises:
        ConfigError: ``run_dir`` holds a different config.
    """
    from .training import init_train_state, train_epochs

    if not isinstance(cfg, Config):
        raise TypeError(f"run_experiment: cfg must be a Config (see config.parse_config), got {type(cfg).__name__}")
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / cfg.name
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    _write_config(cfg, run_dir)
    data = build_dataset(cfg)
    opt = _optimizer(cfg)
    histories: dict[str, dict] = {}
    summary: dict = {
        "name": cfg.name,
        "run_dir": str(run_dir),
        "shots_per_circuit": cfg.shots,
        "n_seeds": cfg.train.n_seeds,
        "n_train": cfg.task.n_train,
        "models": {},
    }
    for i, mcfg in enumerate(cfg.models):
        model = build_model(cfg, i)
        state = init_train_state(model, opt, _model_key(cfg, i), cfg.train.n_seeds)
        ckpt = run_dir / "checkpoints" / f"{mcfg.name}.ckpt"
        history: dict = {}
        if ckpt.exists():
            state, history = _load_ckpt(ckpt, state)
        done = _n_epochs(history)
        if done != int(state.epoch):
            raise ValueError(
                f"checkpoint {str(ckpt)!r} holds {done} logged epochs for a state at epoch "
                f"{int(state.epoch)}; delete it to restart this model"
            )
        histories[mcfg.name] = history
        t0, start = time.perf_counter(), done
        bar = _progress(cfg.train.epochs, done, mcfg.name, progress)
        try:
            while done < cfg.train.epochs:
                k = min(cfg.train.checkpoint_every, cfg.train.epochs - done)
                state, metrics = train_epochs(
                    model, data, opt, state, k, batch_size=cfg.train.batch_size, loss=cfg.train.loss
                )
                history = _append_history(history, metrics)
                done += k
                _save_atomic(ckpt, _ckpt_payload(state, history, mcfg.name))
                histories[mcfg.name] = history
                _write_metrics(run_dir, histories)
                if bar is not None:
                    bar.update(k)
                    bar.set_postfix(test_loss=f"{np.mean(history['test_loss'][:, -1]):.3g}")
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - t0
        summary["models"][mcfg.name] = _model_summary(cfg, mcfg, model, data, state, history, seconds, done - start)
    _write_metrics(run_dir, histories)
    _save_atomic(run_dir / "summary.json", json.dumps(summary, indent=2).encode())
    plot_run(histories, run_dir, cfg.name)
    return summary


def plot_run(histories: dict, run_dir, title: str) -> list[str]:
    """Draw ``PLOT_NAME`` (and ``ACCURACY_PLOT_NAME`` when accuracies were logged) into ``run_dir``;
    returns the written paths."""
    from .plotting import plot_accuracy_vs_shots, plot_loss_vs_shots

    run_dir = Path(run_dir)
    paths = [plot_loss_vs_shots(histories, str(run_dir / PLOT_NAME), title=title)]
    if any(k in h for h in histories.values() for k in _ACCURACY_KEYS):
        paths.append(plot_accuracy_vs_shots(histories, str(run_dir / ACCURACY_PLOT_NAME), title=title))
    return paths


def _progress(total: int, initial: int, name: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="epoch", leave=True, dynamic_ncols=True)


def _accuracy(model, params, states, labels) -> np.ndarray:
    """Per-seed sign accuracy (labels +-1) of the exact model outputs."""
    import jax

    from .training import predict, sign_accuracy

    return np.asarray(sign_accuracy(jax.vmap(lambda p: predict(model, p, states))(params), labels))


def _model_summary(cfg: Config, mcfg, model, data, state, history: dict, seconds: float, new_epochs: int) -> dict:
    from .training import is_classification

    tr = np.asarray(history["train_loss"])[:, -1]
    te = np.asarray(history["test_loss"])[:, -1]
    shots = np.asarray(history["shots"])[:, -1]
    execs = np.asarray(history["executions"])[:, -1]
    epochs = _n_epochs(history)
    out = {
        "ansatz": mcfg.ansatz,
        "estimator": mcfg.estimator,
        "n_params": mcfg.n_params,
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


def shots_to_reach(
    history: dict, threshold: float, key: str = "test_accuracy", *, sustained: bool = False
) -> np.ndarray:
    """Per seed, the cumulative shots at the end of the first epoch with ``history[key] >= threshold``.

    Args:
        history: one model's ``{metric: (n_seeds, n_epochs)}`` (``read_metrics(run_dir)[name]``).
        threshold: e.g. 0.9 for 90 % accuracy.
        key: the metric to test (default ``"test_accuracy"``).
        sustained: count only an epoch from which the metric stays ``>= threshold`` to the last epoch.

    Returns:
        (n_seeds,) float64 shots; NaN for a seed that never reaches the threshold.
    """
    if key not in history:
        raise KeyError(f"shots_to_reach: metric {key!r} not in the history (has {sorted(history)})")
    hit = np.asarray(history[key]) >= threshold
    if sustained:
        hit = np.flip(np.logical_and.accumulate(np.flip(hit, axis=1), axis=1), axis=1)
    shots = np.asarray(history["shots"], dtype=np.float64)
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), shots[np.arange(shots.shape[0]), first], np.nan)


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
        ``(cfg, models, params)``: the ``Config``; ``{name: training.Model}`` and
        ``{name: (n_seeds, n_params) ndarray}`` for every model with a checkpoint (the parameters of
        its last checkpoint).

    Raises:
        FileNotFoundError: no ``config.yaml`` or no checkpoint in ``run_dir``.
    """
    from .training import init_train_state

    run_dir = Path(run_dir)
    path = run_dir / "config.yaml"
    if not path.exists():
        raise FileNotFoundError(f"load_run: {str(run_dir)!r} is not a run directory (no config.yaml)")
    cfg = parse_config(yaml.safe_load(path.read_text()))
    opt = _optimizer(cfg)
    models, params = {}, {}
    for i, mcfg in enumerate(cfg.models):
        ckpt = run_dir / "checkpoints" / f"{mcfg.name}.ckpt"
        if not ckpt.exists():
            continue
        model = build_model(cfg, i)
        template = init_train_state(model, opt, _model_key(cfg, i), cfg.train.n_seeds)
        state, _ = _load_ckpt(ckpt, template, same_dtype=False)
        models[mcfg.name] = model
        params[mcfg.name] = np.asarray(state.params)
    if not models:
        raise FileNotFoundError(f"load_run: no checkpoints in {str(run_dir / 'checkpoints')!r}")
    return cfg, models, params
