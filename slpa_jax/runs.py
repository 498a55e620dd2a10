"""Run directories: train every model of a config, checkpoint, resume, log, summarise and plot.

Layout of ``RUN_DIR``::

    config.yaml            the resolved config (all defaults filled in)
    metrics.jsonl          one JSON line per (model, epoch): shots, executions, losses per seed
    checkpoints/NAME.ckpt  TrainState + metrics so far (msgpack), written atomically
    summary.json           final losses and shots per model
    loss_vs_shots.png      Fig. 4-style plot

An interrupted run resumes from the last checkpoint when started again with the same config; since
all randomness is in the checkpointed keys, the resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import yaml

from .config import Config, ConfigError, config_to_dict, parse_config

__all__ = ["run_experiment", "load_run", "build_dataset", "build_model", "read_metrics", "summary_table"]


def build_dataset(cfg: Config):
    """The config's data set (deterministic in ``task.data_seed``)."""
    import jax

    from . import datasets

    key = jax.random.PRNGKey(cfg.task.data_seed)
    t = cfg.task
    if t.kind == "symmetric_unitary":
        return datasets.symmetric_unitary_task(t.n_qubits, t.n_train, t.n_test, key=key)
    return datasets.cluster_ising_qpr(t.n_qubits, t.n_train, t.n_test, key=key)


def build_model(cfg: Config, model_index: int):
    from .models import make_model

    m = cfg.models[model_index]
    return make_model(m.ansatz, cfg.task.n_qubits, m.n_params, m.estimator, cfg.shots, name=m.name)


def _optimizer(cfg: Config):
    from .training import make_optimizer

    t = cfg.train
    return make_optimizer(t.optimizer, lr=t.lr, b1=t.b1, b2=t.b2, eps=t.eps, eps_root=t.eps_root)


def _save_atomic(path: Path, payload: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_config(cfg: Config, run_dir: Path) -> None:
    path = run_dir / "config.yaml"
    resolved = config_to_dict(cfg)
    if path.exists():
        old = yaml.safe_load(path.read_text())
        if old != resolved:
            raise ConfigError(
                f"run directory {str(run_dir)!r} holds a different config; resume needs the same config "
                "(use another name/output_dir, or delete the directory)"
            )
        return
    path.write_text(yaml.safe_dump(resolved, sort_keys=False))


def _ckpt_payload(state, history: dict) -> bytes:
    from flax import serialization

    return serialization.msgpack_serialize(
        {"state": serialization.to_state_dict(state), "history": {k: np.asarray(v) for k, v in history.items()}}
    )


def _load_ckpt(path: Path, template):
    from flax import serialization

    raw = serialization.msgpack_restore(path.read_bytes())
    state = serialization.from_state_dict(template, raw["state"])
    return state, {k: np.asarray(v) for k, v in raw["history"].items()}


def _append_history(history: dict, metrics: dict) -> dict:
    out = dict(history)
    for k, v in metrics.items():
        v = np.asarray(v)
        out[k] = v if k not in history else np.concatenate([history[k], v], axis=-1)
    return out


def _write_metrics(run_dir: Path, histories: dict) -> None:
    lines = []
    for name, h in histories.items():
        n_ep = np.asarray(h["shots"]).shape[-1]
        for e in range(n_ep):
            rec = {"model": name, "epoch": e + 1}
            for k, v in h.items():
                v = np.asarray(v)
                col = v[..., e]
                rec[k] = col.tolist() if col.ndim else col.item()
            lines.append(json.dumps(rec))
    _save_atomic(run_dir / "metrics.jsonl", ("\n".join(lines) + "\n").encode())


def _seed_mean_shots(metrics: dict) -> dict:
    """Shots/executions are identical across seeds (same plan); keep them as (n_epochs,)."""
    out = dict(metrics)
    for k in ("shots", "executions"):
        if k in out:
            v = np.asarray(out[k])
            out[k] = v[0] if v.ndim == 2 else v
    return out


def run_experiment(cfg: Config, run_dir: str | Path | None = None, *, progress: bool = True) -> dict:
    """Train every model of ``cfg`` (seeds vmapped), resuming from checkpoints; returns the summary."""
    import jax

    from .plotting import plot_loss_vs_shots
    from .training import init_train_state, train_epochs

    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / cfg.name
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    _write_config(cfg, run_dir)
    data = build_dataset(cfg)
    opt = _optimizer(cfg)
    histories: dict[str, dict] = {}
    summary: dict = {"name": cfg.name, "shots_per_circuit": cfg.shots, "models": {}}
    for i, mcfg in enumerate(cfg.models):
        model = build_model(cfg, i)
        key = jax.random.fold_in(jax.random.PRNGKey(cfg.train.seed), i)
        state = init_train_state(model, opt, key, cfg.train.n_seeds)
        ckpt = run_dir / "checkpoints" / f"{mcfg.name}.ckpt"
        history: dict = {}
        if ckpt.exists():
            state, history = _load_ckpt(ckpt, state)
        done = int(np.asarray(history["shots"]).shape[-1]) if history else 0
        t0 = time.perf_counter()
        bar = _progress(cfg.train.epochs, done, mcfg.name, progress)
        while done < cfg.train.epochs:
            k = min(cfg.train.checkpoint_every, cfg.train.epochs - done)
            state, metrics = train_epochs(model, data, opt, state, k, batch_size=cfg.train.batch_size,
                                          loss=cfg.train.loss)
            history = _append_history(history, _seed_mean_shots(metrics))
            done += k
            _save_atomic(ckpt, _ckpt_payload(state, history))
            histories[mcfg.name] = history
            _write_metrics(run_dir, {**histories})
            if bar is not None:
                bar.update(k)
                bar.set_postfix(test_loss=f"{np.mean(history['test_loss'][..., -1]):.3g}")
        if bar is not None:
            bar.close()
        histories[mcfg.name] = history
        summary["models"][mcfg.name] = _model_summary(mcfg, history, time.perf_counter() - t0)
    _write_metrics(run_dir, histories)
    _save_atomic(run_dir / "summary.json", json.dumps(summary, indent=2).encode())
    plot_loss_vs_shots(histories, str(run_dir / "loss_vs_shots.png"), title=cfg.name)
    return summary


def _progress(total: int, initial: int, name: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="epoch", leave=True)


def _model_summary(mcfg, history: dict, seconds: float) -> dict:
    tr = np.asarray(history["train_loss"])[..., -1]
    te = np.asarray(history["test_loss"])[..., -1]
    out = {
        "ansatz": mcfg.ansatz, "estimator": mcfg.estimator, "epochs": int(np.asarray(history["shots"]).shape[-1]),
        "final_train_loss_mean": float(np.mean(tr)), "final_test_loss_mean": float(np.mean(te)),
        "final_test_loss_min": float(np.min(te)), "final_test_loss_max": float(np.max(te)),
        "total_shots": int(np.asarray(history["shots"])[-1]),
        "total_executions": int(np.asarray(history["executions"])[-1]),
        "wall_seconds_this_session": round(seconds, 2),
    }
    for k in ("train_accuracy", "test_accuracy"):
        if k in history:
            out[f"final_{k}_mean"] = float(np.mean(np.asarray(history[k])[..., -1]))
    return out


def read_metrics(run_dir: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """metrics.jsonl -> {model: {metric: array (n_seeds, n_epochs) or (n_epochs,)}}."""
    out: dict[str, dict[str, list]] = {}
    with open(Path(run_dir) / "metrics.jsonl") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            h = out.setdefault(rec.pop("model"), {})
            rec.pop("epoch")
            for k, v in rec.items():
                h.setdefault(k, []).append(v)
    return {m: {k: np.asarray(v).T if np.asarray(v).ndim == 2 else np.asarray(v) for k, v in h.items()}
            for m, h in out.items()}


def summary_table(summary: dict) -> str:
    """A small fixed-width table of the summary (final losses mean over seeds, shots spent)."""
    rows = [("model", "estimator", "epochs", "train loss", "test loss", "shots spent")]
    for name, s in summary["models"].items():
        rows.append((name, s["estimator"], str(s["epochs"]), f"{s['final_train_loss_mean']:.3e}",
                     f"{s['final_test_loss_mean']:.3e}", f"{s['total_shots']:.3e}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def load_run(run_dir: str | Path):
    """-> (Config, {name: Model}, {name: params (n_seeds, n_params)}) from a run directory."""
    import jax

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
        template = init_train_state(model, opt, jax.random.PRNGKey(0), cfg.train.n_seeds)
        state, _ = _load_ckpt(ckpt, template)
        models[mcfg.name] = model
        params[mcfg.name] = np.asarray(state.params)
    if not models:
        raise FileNotFoundError(f"load_run: no checkpoints in {str(run_dir / 'checkpoints')!r}")
    return cfg, models, params
