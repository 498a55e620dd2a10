"""Export a trained run: each model's circuit at one seed's parameters plus its measurement settings.

Implements ``slpa-jax export RUN_DIR --format qasm3|qasm2|qiskit``. For every model of the run (or one
named model) it calls ``export.export_run_artifacts`` with the checkpointed parameters of ``seed``,
writing ``OUT_DIR/<model>/`` (``model.qasm``, ``value/``, ``gradient/``, readout maps, ``manifest.json``).

Gradient plan per estimator kind (read from the model's ``GradientEstimator`` record):
``ancilla`` / ``ancilla_free`` -> the model's block-gradient circuits (its ``BlockCircuit`` with that
scheme); ``param_shift``, ``exact`` and ``custom`` -> parameter-shift settings (an exact model has no
hardware plan of its own; parameter shift is the generic one).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["export_run", "gradient_plan"]


def gradient_plan(kind: str) -> tuple[bool, str]:
    """``(use_block_circuit, scheme)`` for an estimator kind (``GradientEstimator.kind``)."""
    if kind in ("ancilla", "ancilla_free"):
        return True, kind
    if kind in ("param_shift", "exact", "custom"):
        return False, "param_shift"
    raise ValueError(f"export_run: unknown estimator {kind!r}")


def export_run(
    run_dir, fmt: str = "qasm3", out_dir=None, model: str | None = None, seed: int = 0, sample: int | None = None
) -> list[str]:
    """Write the export of a run directory.

    Args:
        run_dir: a run directory with ``config.yaml`` and checkpoints (``runs.load_run``).
        fmt: "qasm3", "qasm2" or "qiskit" (QPY; needs qiskit).
        out_dir: default ``RUN_DIR/export-FMT``; each model goes to ``out_dir/<model>/``.
        model: one model name (default: every model with a checkpoint).
        seed: which seed's parameters (0 <= seed < train.n_seeds).
        sample: index of a training sample of the run's data set: every setting then starts with the
            preparation of its input state (``settings.state_prep_circuit``: single-qubit gates for a
            product state, Qiskit's state preparation with a depth warning otherwise); None: |0...0>.

    Returns:
        The written ``manifest.json`` paths, one per model.

    Raises:
        FileNotFoundError: not a run directory, or no checkpoint.
        ValueError: unknown model name, seed or sample out of range, or a bad ``fmt``.
    """
    from ..train.runs import build_dataset, load_run
    from .settings import FORMATS, export_run_artifacts

    if fmt not in FORMATS:
        raise ValueError(f"export_run: fmt must be one of {sorted(FORMATS)}, got {fmt!r}")
    cfg, models, params = load_run(run_dir)
    if model is not None and model not in models:
        raise ValueError(f"export_run: model {model!r} not in run {str(run_dir)!r}; trained models: {list(models)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < cfg.train.n_seeds:
        raise ValueError(f"export_run: seed must be an int in [0, {cfg.train.n_seeds}), got {seed!r}")
    state = None
    if sample is not None:
        data = build_dataset(cfg)
        n_train = len(data.train_states)
        if not isinstance(sample, (int, np.integer)) or isinstance(sample, bool) or not 0 <= sample < n_train:
            raise ValueError(f"export_run: sample must be an int in [0, {n_train}), got {sample!r}")
        state = np.asarray(data.train_states[sample])
    out_dir = Path(out_dir) if out_dir is not None else Path(run_dir) / f"export-{fmt}"
    written = []
    for name in [model] if model is not None else list(models):
        m = models[name]
        use_block, scheme = gradient_plan(m.estimator.kind)
        target = out_dir / name
        export_run_artifacts(
            m.circuit,
            np.asarray(params[name][seed], dtype=np.float64),
            m.observable,
            str(target),
            fmt,
            m.block_circuit if use_block else None,
            scheme=scheme if use_block else "ancilla",
            state=state,
        )
        written.append(os.path.join(str(target), "manifest.json"))
    return written
