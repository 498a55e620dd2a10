"""Readout maps: turn hardware counts of an exported measurement setting back into Pauli estimates.

This module needs only the standard library and numpy, so ``export_run_artifacts`` copies it next
to the exported circuits as ``readout_loader.py``: a hardware run can be evaluated without JAX.

A readout map (JSON sidecar, ``"format": "slpa-jax-readout"``) lists, for every measured Pauli
``P_k``, its signed ``label``, its ``sign`` and the classical bits ``clbits`` whose parity it reads:
``<P_k> ~= sign * mean over shots of (-1)**(sum of the bits in clbits)``. It may also carry linear maps
from the estimates to the model output (``"value"``: ``f += coeff * <P_k>``, plus ``"value_constant"``,
the identity part of the observable, carried by one setting) and to the gradient (``"gradient"``:
``grad[param] += factor * <P_k>``), summed over all settings of an export.

Counts follow Qiskit: keys are bitstrings whose RIGHTMOST character is clbit 0 (spaces between
registers are ignored), ``"0x..."`` hex strings or ints (bit k = clbit k). Values are shot counts or
probabilities (non-negative; they are normalised by their sum).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "READOUT_FORMAT",
    "READOUT_VERSION",
    "load_readout",
    "validate_readout",
    "counts_to_arrays",
    "estimates_from_counts",
    "value_and_gradient_from_counts",
    "load_export",
]

READOUT_FORMAT = "slpa-jax-readout"
READOUT_VERSION = 1
MANIFEST_FORMAT = "slpa-jax-export"


def validate_readout(readout: Mapping) -> dict:
    """Check the fields of a readout map and return it as a dict.

    Raises:
        ValueError: wrong format tag or version, or a field that is missing or out of range.
    """
    if not isinstance(readout, Mapping):
        raise TypeError(f"readout: expected a dict (a parsed readout JSON), got {type(readout).__name__}")
    if readout.get("format") != READOUT_FORMAT:
        raise ValueError(f"readout: expected format {READOUT_FORMAT!r}, got {readout.get('format')!r}")
    if readout.get("version") != READOUT_VERSION:
        raise ValueError(f"readout: unsupported version {readout.get('version')!r}, expected {READOUT_VERSION}")
    for key in ("n_qubits", "n_clbits", "measured_qubits", "paulis"):
        if key not in readout:
            raise ValueError(f"readout: missing field {key!r}")
    n_clbits = int(readout["n_clbits"])
    if len(readout["measured_qubits"]) != n_clbits:
        raise ValueError(
            f"readout: n_clbits={n_clbits} but {len(readout['measured_qubits'])} measured qubits are listed"
        )
    m = len(readout["paulis"])
    for k, entry in enumerate(readout["paulis"]):
        if entry.get("sign") not in (1, -1):
            raise ValueError(f"readout: paulis[{k}].sign must be +1 or -1, got {entry.get('sign')!r}")
        bad = [c for c in entry.get("clbits", ()) if not 0 <= int(c) < n_clbits]
        if bad:
            raise ValueError(f"readout: paulis[{k}].clbits {bad} out of range for {n_clbits} clbits")
    for key in ("value", "gradient"):
        for j, term in enumerate(readout.get(key, ())):
            if not 0 <= int(term["pauli"]) < m:
                raise ValueError(f"readout: {key}[{j}].pauli = {term['pauli']} out of range for {m} Paulis")
    return dict(readout)


def load_readout(path) -> dict:
    """Read and validate a readout JSON sidecar (see the module docstring for the schema)."""
    with open(path, encoding="utf-8") as fh:
        return validate_readout(json.load(fh))


def _parse_key(key, n_clbits: int) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        value = int(key)
    elif isinstance(key, str):
        text = key.strip()
        if text.lower().startswith("0x"):
            value = int(text, 16)
        else:
            bits = text.replace(" ", "")
            if len(bits) != n_clbits or set(bits) - {"0", "1"}:
                raise ValueError(
                    f"counts: key {key!r} is not a bitstring of length n_clbits={n_clbits} "
                    "(Qiskit order: rightmost character = clbit 0)"
                )
            value = int(bits, 2) if bits else 0
    else:
        raise ValueError(f"counts: keys must be bitstrings, hex strings or ints, got {key!r}")
    if value < 0 or value >> n_clbits:
        raise ValueError(f"counts: outcome {key!r} does not fit in n_clbits={n_clbits}")
    return value


def counts_to_arrays(counts: Mapping, n_clbits: int) -> tuple[list[int], np.ndarray]:
    """Qiskit-style counts -> (outcomes as ints with bit k = clbit k, (K,) float64 weights).

    Raises:
        ValueError: an unreadable key, a negative or non-finite weight, or an all-zero total.
    """
    if not isinstance(counts, Mapping):
        raise TypeError(f"counts: expected a dict of bitstring -> count, got {type(counts).__name__}")
    outcomes = [_parse_key(k, n_clbits) for k in counts]
    weights = np.array([float(v) for v in counts.values()], dtype=np.float64)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("counts: values must be finite and non-negative")
    if not weights.sum() > 0:
        raise ValueError("counts: total count is zero")
    return outcomes, weights


def _parities(outcomes: list[int], masks: list[int], n_clbits: int) -> np.ndarray:
    """(m, K) parity bits of ``outcome & mask``."""
    if n_clbits <= 63:
        o = np.asarray(outcomes, dtype=np.int64)
        mk = np.asarray(masks, dtype=np.int64)
        return (np.bitwise_count(o[None, :] & mk[:, None]) & 1).astype(np.int64).reshape(len(masks), len(outcomes))
    return np.array([[bin(o & mk).count("1") & 1 for o in outcomes] for mk in masks], dtype=np.int64)


def estimates_from_counts(readout: Mapping, counts: Mapping) -> np.ndarray:
    """(m,) estimates of the readout's Paulis ``<P_k>`` from one setting's counts.

    ``estimate_k = sign_k * sum_b w_b (-1)**parity(b, clbits_k) / sum_b w_b``: the single-shot
    parity mean when ``w`` are shot counts, the exact expectation when ``w`` are exact probabilities.
    """
    readout = validate_readout(readout)
    n_clbits = int(readout["n_clbits"])
    outcomes, weights = counts_to_arrays(counts, n_clbits)
    masks = [sum(1 << int(c) for c in entry["clbits"]) for entry in readout["paulis"]]
    signs = np.array([entry["sign"] for entry in readout["paulis"]], dtype=np.float64)
    if not masks:
        return np.zeros(0, dtype=np.float64)
    par = _parities(outcomes, masks, n_clbits)
    return signs * ((1 - 2 * par) @ weights) / weights.sum()


def value_and_gradient_from_counts(
    readouts: Sequence[Mapping], counts: Sequence[Mapping], n_params: int | None = None
) -> tuple[float, np.ndarray]:
    """Model output and gradient from the counts of every setting of an export.

    Args:
        readouts: readout maps, one per executed setting.
        counts: the counts of each setting, same order.
        n_params: gradient length (default: the largest ``n_params`` field of the readouts).

    Returns:
        ``(value, grad)``: ``sum coeff * <P_k>`` over all ``"value"`` terms plus the ``"value_constant"``
        fields, and the (n_params,)
        ``sum factor * <P_k>`` over all ``"gradient"`` terms.
    """
    readouts, counts = list(readouts), list(counts)
    if len(readouts) != len(counts):
        raise ValueError(f"value_and_gradient_from_counts: {len(readouts)} readouts but {len(counts)} counts")
    if n_params is None:
        n_params = max((int(r.get("n_params", 0)) for r in readouts), default=0)
    value, grad = 0.0, np.zeros(n_params, dtype=np.float64)
    for readout, cnt in zip(readouts, counts):
        est = estimates_from_counts(readout, cnt)
        value += float(readout.get("value_constant", 0.0))
        for term in readout.get("value", ()):
            value += float(term["coeff"]) * est[int(term["pauli"])]
        for term in readout.get("gradient", ()):
            p = int(term["param"])
            if not 0 <= p < n_params:
                raise ValueError(f"value_and_gradient_from_counts: parameter {p} out of range for n_params={n_params}")
            grad[p] += float(term["factor"]) * est[int(term["pauli"])]
    return value, grad


def load_export(out_dir) -> dict:
    """Read ``out_dir/manifest.json`` and attach each setting's readout map as ``entry["readout_map"]``.

    Returns:
        The manifest dict; ``manifest["value_settings"]`` and ``manifest["gradient_settings"]`` list
        ``{"name", "program", "readout", "readout_map"}`` with paths relative to ``out_dir``.
    """
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"load_export: {out_dir}/manifest.json is not a {MANIFEST_FORMAT!r} manifest")
    for key in ("value_settings", "gradient_settings"):
        for entry in manifest[key]:
            entry["readout_map"] = load_readout(os.path.join(out_dir, entry["readout"]))
    return manifest
