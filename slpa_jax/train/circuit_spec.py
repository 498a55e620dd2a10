"""Circuits from data: a YAML/JSON circuit description, or an OpenQASM 3 / Qiskit circuit, to a ``Circuit``.

A spec is a list of operations (shorthand for ``{"ops": [...]}``) or a mapping::

    n_qubits: 4                 # optional when every label is dense
    layers: 3                   # repeat the ops (default 1)
    share_layers: false         # named parameters: one per layer (default) or shared by all layers
    ops:
      - XXII                    # a rotation R_P(theta) with its own new parameter
      - X0 Z3                   # sparse label (needs n_qubits)
      - {rotation: IIYY, param: a}          # a named parameter, shared by every op naming it
      - {rotation: IZZI, param: a, scale: -1, offset: 0.3}
      - {rotation: ZIIZ, angle: 0.5}        # a fixed angle, no parameter
      - {gate: CNOT, qubits: [0, 1]}        # a Clifford gate of core.gates.GATES

or ``{file: PATH}``: ``.json`` holding such a spec, or ``.qasm`` / ``.qasm3`` OpenQASM 3 (rotations
``rx ry rz rxx ryy rzz rzx``, ``PauliEvolutionGate``-style definitions, the Clifford gates, ``input
float`` parameters with linear angle expressions; other gates are expanded through their Qiskit
definitions, and what still cannot be written as Pauli rotations and Cliffords is an error).
Spec parameters are numbered in order of first appearance; QASM / Qiskit parameters in the circuit's
parameter order.

Example:
    >>> ops = ["XX", {"rotation": "ZZ", "param": "a"}, {"gate": "H", "qubits": [0]}]
    >>> c = circuit_from_spec({"layers": 2, "ops": ops})
    >>> c.n_params, c.num_rotations, len(c)
    (4, 4, 6)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.circuit import Circuit
from ..core.gates import GATES
from ..core.pauli import Pauli

__all__ = ["circuit_from_spec", "load_circuit", "from_qiskit", "SPEC_KEYS", "OP_KEYS"]

SPEC_KEYS = ("n_qubits", "layers", "share_layers", "ops", "file")
OP_KEYS = ("rotation", "param", "scale", "offset", "angle", "gate", "qubits")

_QISKIT_ROTATIONS = {"rx": "X", "ry": "Y", "rz": "Z", "rxx": "XX", "ryy": "YY", "rzz": "ZZ", "rzx": "ZX"}
_QISKIT_CLIFFORDS = {g.qasm: name for name, g in GATES.items()}


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)


def _n_from(ops, where: str) -> int:
    for op in ops:
        lab = op if isinstance(op, str) else op.get("rotation") if isinstance(op, Mapping) else None
        if isinstance(lab, str) and " " not in lab.strip() and not any(ch.isdigit() for ch in lab):
            return Pauli(lab).n
    raise ValueError(f"{where}: n_qubits is required (no dense label to infer it from)")


def circuit_from_spec(spec, n_qubits: int | None = None, where: str = "circuit", base_dir: str = ".") -> Circuit:
    """The ``Circuit`` of a spec (see the module docstring).

    Args:
        spec: a list of ops, a mapping, or ``{"file": path}``.
        n_qubits: expected qubit count (checked against the spec's, or used for sparse labels).
        where: prefix of every error (e.g. ``"models[0].circuit"``).
        base_dir: directory that relative ``file`` paths are read from.

    Raises:
        ValueError / TypeError: an unknown key, a bad label, gate or angle, a qubit-count mismatch;
            messages name the op (``circuit.ops[3].rotation``) and what was expected.
    """
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        spec = {"ops": list(spec)}
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where}: expected a list of ops or a mapping with 'ops' or 'file', got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected keys among {list(SPEC_KEYS)}")
    if "file" in spec:
        if "ops" in spec:
            raise ValueError(f"{where}: give either 'ops' or 'file', not both")
        path = spec["file"]
        if not isinstance(path, str):
            raise TypeError(f"{where}.file: expected a path string, got {type(path).__name__}")
        circuit = load_circuit(os.path.join(base_dir, path), where=f"{where}.file")
        n_given = spec.get("n_qubits", n_qubits)
        if n_given is not None and circuit.n_qubits != n_given:
            raise ValueError(f"{where}.file: the circuit has {circuit.n_qubits} qubits, expected n_qubits={n_given}")
        return circuit
    ops = spec.get("ops")
    if not isinstance(ops, Sequence) or isinstance(ops, str) or not ops:
        raise ValueError(f"{where}.ops: expected a non-empty list of operations, got {ops!r}")
    n_spec = spec.get("n_qubits")
    if n_spec is not None and (not _is_int(n_spec) or n_spec < 1):
        raise ValueError(f"{where}.n_qubits: expected a positive int, got {n_spec!r}")
    if n_spec is not None and n_qubits is not None and n_spec != n_qubits:
        raise ValueError(f"{where}.n_qubits: the circuit says {n_spec}, the task has n_qubits={n_qubits}")
    n = n_spec or n_qubits or _n_from(ops, where)
    layers = spec.get("layers", 1)
    if not _is_int(layers) or layers < 1:
        raise ValueError(f"{where}.layers: expected a positive int, got {layers!r}")
    share = spec.get("share_layers", False)
    if not isinstance(share, bool):
        raise ValueError(f"{where}.share_layers: expected true or false, got {share!r}")
    circuit = Circuit(n)
    names: dict[str, int] = {}  # parameter name -> index, per layer unless share_layers
    for _ in range(layers):
        if not share:
            names = {}
        for i, op in enumerate(ops):
            circuit = _append(circuit, op, names, f"{where}.ops[{i}]")
    return circuit


def _append(circuit: Circuit, op, names: dict, where: str) -> Circuit:
    n = circuit.n_qubits
    if isinstance(op, str):
        op = {"rotation": op}
    if not isinstance(op, Mapping):
        raise TypeError(f"{where}: expected a label or a mapping, got {type(op).__name__}")
    unknown = sorted(set(op) - set(OP_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected keys among {list(OP_KEYS)}")
    if ("gate" in op) == ("rotation" in op):
        raise ValueError(f"{where}: give exactly one of 'rotation' (a Pauli label) or 'gate' (a Clifford name)")
    if "gate" in op:
        name, qubits = op["gate"], op.get("qubits")
        if not isinstance(name, str) or name.upper() not in GATES:
            raise ValueError(f"{where}.gate: expected one of {list(GATES)}, got {name!r}")
        if not isinstance(qubits, Sequence) or not all(_is_int(q) for q in qubits):
            raise ValueError(f"{where}.qubits: expected a list of qubit indices, got {qubits!r}")
        try:
            return circuit.gate(name.upper(), *qubits)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from err
    label = op["rotation"]
    if not isinstance(label, str):
        raise TypeError(f"{where}.rotation: expected a Pauli label, got {type(label).__name__}")
    for key in ("scale", "offset", "angle"):
        if key in op and not _is_real(op[key]):
            raise ValueError(f"{where}.{key}: expected a finite number, got {op[key]!r}")
    if "angle" in op:
        if any(k in op for k in ("param", "scale", "offset")):
            raise ValueError(f"{where}: 'angle' is a fixed rotation; it takes no 'param', 'scale' or 'offset'")
        param = None
    else:
        name = op.get("param")
        if name is not None and not (isinstance(name, str) or _is_int(name)):
            raise ValueError(f"{where}.param: expected a name or an int, got {name!r}")
        if name is None:
            param = circuit.n_params  # a new parameter
        else:
            param = names.setdefault(str(name), circuit.n_params)
    try:
        pauli = Pauli(label, n if (" " in label.strip() or any(ch.isdigit() for ch in label)) else None)
        if pauli.n != n:
            raise ValueError(f"label {label!r} has length {pauli.n}, expected n_qubits={n}")
        return circuit.rotation(
            pauli,
            param,
            scale=float(op.get("scale", 1.0)),
            offset=float(op.get("angle", op.get("offset", 0.0))),
        )
    except ValueError as err:
        raise ValueError(f"{where}.rotation: {err}") from err


def load_circuit(path: str, where: str = "load_circuit") -> Circuit:
    """A circuit file: ``.json`` (a spec as in ``circuit_from_spec``) or ``.qasm``/``.qasm3`` (OpenQASM 3).

    Raises:
        ValueError: unreadable or malformed file, unsupported gates (the message names the path).
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".json", ".qasm", ".qasm3"):
        raise ValueError(f"{where}: unknown circuit file type {ext!r} of {path!r}; expected .json, .qasm or .qasm3")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise ValueError(f"{where}: cannot read {path!r}: {err.strerror or err}") from err
    if ext == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: {path!r} is not valid JSON ({err.msg} at line {err.lineno})") from err
        return circuit_from_spec(spec, where=f"{where}({os.path.basename(path)})", base_dir=os.path.dirname(path))
    try:
        import qiskit.qasm3
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"{where}: reading OpenQASM needs Qiskit: pip install 'slpa-jax[export]'") from err
    try:
        qc = qiskit.qasm3.loads(text)
    except Exception as err:  # the importer raises its own error types
        raise ValueError(f"{where}: cannot parse {path!r} as OpenQASM 3: {err}") from err
    return from_qiskit(qc, where=f"{where}({os.path.basename(path)})")


def _linear(expr, params: dict, where: str) -> tuple[int | None, float, float]:
    """``(param index, scale, offset)`` of a rotation angle: a number or ``scale * p + offset``."""
    if isinstance(expr, (int, float, np.integer, np.floating)):
        return None, 1.0, float(expr)
    free = list(getattr(expr, "parameters", ()))
    if not free:
        return None, 1.0, float(expr)
    if len(free) > 1:
        raise ValueError(f"{where}: the angle {expr} depends on {len(free)} parameters; one is supported")
    p = free[0]
    scale = expr.gradient(p)
    if getattr(scale, "parameters", ()):
        raise ValueError(f"{where}: the angle {expr} is not linear in {p}")
    offset = expr.bind({p: 0.0})
    if p not in params:
        params[p] = len(params)
    return params[p], float(scale), float(offset)


def from_qiskit(qc, where: str = "from_qiskit") -> Circuit:
    """A ``Circuit`` from a ``qiskit.QuantumCircuit`` (qubit i -> qubit i; parameter k = ``qc.parameters[k]``).

    Rotations ``rx ry rz rxx ryy rzz rzx`` and ``PauliEvolutionGate`` (``exp(-i t P)`` = ``R_P(2t)``)
    become Pauli rotations; the Clifford gates of ``core.gates.GATES`` stay gates; barriers and global
    phases are dropped; anything else is expanded through its ``definition``.

    Raises:
        ValueError: measurements, resets, classical control, or a gate with no Pauli-rotation form.
    """
    n = qc.num_qubits
    ops: list = []
    params: dict = {p: i for i, p in enumerate(qc.parameters)}  # Qiskit's order: theta_2 before theta_10
    _convert(qc, list(range(n)), ops, params, n, where)
    circuit = Circuit(n)
    for kind, a, b in ops:
        if kind == "gate":
            circuit = circuit.gate(a, *b)
        else:
            param, scale, offset = b
            circuit = circuit.rotation(a, param, scale=scale, offset=offset)
    return Circuit(n, circuit.ops, max(len(params), circuit.n_params))


def _convert(qc, qmap: list[int], ops: list, params: dict, n: int, where: str) -> None:
    for k, inst in enumerate(qc.data):
        op = inst.operation
        qs = [qmap[qc.find_bit(q).index] for q in inst.qubits]
        name = op.name
        here = f"{where}: instruction {k} ({name} on qubits {qs})"
        if name in ("barrier", "delay", "global_phase"):
            continue
        if name in ("measure", "reset") or getattr(op, "condition", None) is not None or inst.clbits:
            raise ValueError(f"{here}: measurements, resets and classical control are not part of a model circuit")
        if name in _QISKIT_CLIFFORDS:
            ops.append(("gate", _QISKIT_CLIFFORDS[name], tuple(qs)))
        elif name in _QISKIT_ROTATIONS:
            letters = _QISKIT_ROTATIONS[name]
            lab = ["I"] * n
            for letter, q in zip(letters, qs):
                lab[q] = letter
            ops.append(("rot", "".join(lab), _linear(op.params[0], params, here)))
        elif name in ("PauliEvolution", "PauliEvolutionGate"):
            _evolution(op, qs, ops, params, n, here)
        elif op.definition is not None:
            _convert(op.definition, qs, ops, params, n, where)
        else:
            raise ValueError(
                f"{here}: no Pauli-rotation or Clifford form; supported: rotations "
                f"{sorted(_QISKIT_ROTATIONS)}, PauliEvolutionGate, Cliffords {sorted(_QISKIT_CLIFFORDS)}"
            )


def _evolution(op, qs: list[int], ops: list, params: dict, n: int, where: str) -> None:
    """``exp(-i t sum_k c_k P_k)`` with commuting terms -> ``R_{P_k}(2 c_k t)`` (qiskit labels reversed)."""
    operator = op.operator
    pairs = [pair for sp in (operator if isinstance(operator, list) else [operator]) for pair in sp.to_list()]
    labels = [Pauli(label[::-1]) for label, _ in pairs]
    if any(not a.commutes(b) for a in labels for b in labels):
        raise ValueError(f"{where}: PauliEvolutionGate of non-commuting terms is not a product of Pauli rotations")
    for label, c in pairs:
        if abs(complex(c).imag) > 1e-12:
            raise ValueError(f"{where}: PauliEvolutionGate with a complex coefficient {c}")
        lab = ["I"] * n
        for letter, q in zip(label[::-1], qs):
            lab[q] = letter
        if set(lab) == {"I"}:
            continue  # a global phase
        param, scale, offset = _linear(op.params[0], params, where)
        c2 = 2.0 * float(complex(c).real)
        ops.append(("rot", "".join(lab), (param, scale * c2, offset * c2)))
