"""A ``Model`` built in Python as data: a JSON record, its fingerprint, and the model rebuilt from it.

Run directories (``runs.run_experiment(cfg, run_dir, models={...})``) store every Python-built model
as a record in ``python_models.json``, so a resume can tell whether it is given the same model and
``load_run`` / ``slpa-jax export`` can rebuild it without the Python code that made it.

A record is exact (floats round-trip through JSON): the circuit (qubits, parameter count, every
rotation's unsigned Pauli string, parameter index, scale and offset, every Clifford gate), the
observable (complex coefficients and strings), the commuting-block structure (or None), and the
estimator (kind, shots per circuit, circuits per call). The fingerprint is a SHA-256 of each of the
four parts, so a mismatch names the part that changed. The estimator's function itself is not
data: a record rebuilds it from its kind (``models.ESTIMATOR_BUILDERS``) and checks the rebuilt cost
against the recorded one; a ``custom`` estimator (a bare callable) cannot be rebuilt, and calling the
rebuilt model's estimator raises an error saying so (export needs only the circuit and the kind).

Example:
    >>> from slpa_jax.train.models import make_model
    >>> m = make_model("sc", 4, 12, "param_shift", 100)
    >>> r = model_record(m)
    >>> model_from_record(r, m.name).circuit == m.circuit
    True
    >>> sorted(model_fingerprint(m))
    ['blocks', 'circuit', 'estimator', 'observable']
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..blocks.slpa import BlockCircuit
from ..core.circuit import Circuit, Gate, Rotation
from ..core.pauli import Pauli, PauliSum, PauliTable
from ..measure.estimator import GradientEstimator
from .models import ESTIMATOR_BUILDERS
from .training import Model

__all__ = ["RECORD_PARTS", "model_record", "model_fingerprint", "record_fingerprint", "model_from_record"]

#: The parts of a record, each fingerprinted on its own.
RECORD_PARTS = ("circuit", "observable", "blocks", "estimator")


def _circuit_record(c: Circuit) -> dict:
    ops = []
    for op in c.ops:
        if isinstance(op, Rotation):
            ops.append({"rotation": op.pauli.letters, "param": op.param, "scale": op.scale, "offset": op.offset})
        else:
            ops.append({"gate": op.name, "qubits": list(op.qubits)})
    return {"n_qubits": c.n_qubits, "n_params": c.n_params, "ops": ops}


def model_record(model: Model) -> dict:
    """The JSON-serialisable record of a model (see the module docstring)."""
    if not isinstance(model, Model):
        raise TypeError(f"model_record: expected a training.Model, got {type(model).__name__}")
    obs = model.observable
    est = model.estimator
    bc = model.block_circuit
    return {
        "circuit": _circuit_record(model.circuit),
        "observable": [[float(c.real), float(c.imag), p.letters] for c, p in zip(obs.coeffs, obs.paulis)],
        "blocks": None if bc is None else [list(b) for b in bc.blocks],
        "estimator": {"kind": est.kind, "shots": est.shots, "circuits_per_call": est.circuits_per_call},
    }


def record_fingerprint(record: dict) -> dict:
    """``{part: sha256 hex}`` of a record's parts (canonical JSON, sorted keys)."""
    return {
        part: hashlib.sha256(json.dumps(record[part], sort_keys=True).encode()).hexdigest() for part in RECORD_PARTS
    }


def model_fingerprint(model: Model) -> dict:
    """``record_fingerprint(model_record(model))``."""
    return record_fingerprint(model_record(model))


def _unavailable(name: str, kind: str, why: str):
    def fn(params, state, key):
        raise RuntimeError(
            f"model {name!r}: its {kind!r} gradient estimator cannot be rebuilt from the run directory ({why}); "
            "pass the Python model again (runs.run_experiment(..., models=...)) to train it"
        )

    return fn


def model_from_record(record: dict, name: str) -> Model:
    """The ``Model`` of a record: circuit, observable and block structure exactly; the estimator
    rebuilt from its kind and shots when its recorded cost is reproduced, else one that raises when called.

    Raises:
        ValueError: a malformed record (the message names ``name`` and the part).
    """
    try:
        c = record["circuit"]
        ops = []
        for op in c["ops"]:
            if "gate" in op:
                ops.append(Gate(op["gate"], tuple(op["qubits"])))
            else:
                ops.append(Rotation(Pauli(op["rotation"]), op["param"], float(op["scale"]), float(op["offset"])))
        circuit = Circuit(int(c["n_qubits"]), tuple(ops), int(c["n_params"]))
        terms = record["observable"]
        obs = PauliSum(
            np.array([complex(re, im) for re, im, _ in terms]),
            PauliTable.from_labels([lab for _, _, lab in terms], circuit.n_qubits),
        )
        bc = None if record["blocks"] is None else BlockCircuit(circuit, obs, tuple(map(tuple, record["blocks"])))
        e = record["estimator"]
        kind, shots, n_c = e["kind"], e["shots"], e["circuits_per_call"]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"model {name!r}: malformed model record ({type(err).__name__}: {err})") from None
    est = None
    why = "a custom estimator is a Python function, not data"
    if kind in ESTIMATOR_BUILDERS:
        why = f"no rebuilt {kind!r} estimator spends the recorded {n_c} circuits per call"
        for fhat in ("shared", "per_block") if kind in ("ancilla", "ancilla_free") else ("shared",):
            try:
                cand = ESTIMATOR_BUILDERS[kind](circuit, obs, bc, shots, fhat)
            except (TypeError, ValueError) as err:
                why = f"rebuilding it failed: {err}"
                break
            if cand.circuits_per_call == n_c and cand.shots == shots:
                est = cand
                break
    if est is None:
        est = GradientEstimator(kind, _unavailable(name, kind, why), n_c, shots, bc)
    return Model(name, circuit, obs, est, block_circuit=bc)
