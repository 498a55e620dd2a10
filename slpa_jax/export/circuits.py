"""Circuits to OpenQASM 3, OpenQASM 2 and Qiskit ``QuantumCircuit``.

Qubit order: our qubit ``q`` (label character ``q``) is ``q[q]`` in QASM and qubit ``q`` of the
Qiskit circuit: the same index, no relabelling. Our statevector puts qubit 0 on the MOST significant
index bit, Qiskit's on the LEAST, so ``Statevector(qc).reverse_qargs().data`` equals
``slpa_jax.simulator.statevector(circuit, params)`` exactly, and our label ``P`` is Qiskit's
``Pauli(P[::-1])``.

A rotation ``R_P(t) = exp(-i t P / 2)`` is lowered to a basis change (``h`` for X, ``sdg; h`` for Y,
nothing for Z) that maps ``P`` to ``Z...Z`` on its support, a CNOT ladder onto the last support
qubit, ``rz(t)`` there, and the mirror image. Every step is exact (``rz(t) = exp(-i t Z / 2)`` in
Qiskit, in ``stdgates.inc`` and in Qiskit's ``qelib1.inc``), so no global phase is introduced.
OpenQASM 3 output declares one ``gate rp_<letters>(theta)`` per distinct support pattern; OpenQASM 2
output is inlined. Angles are printed with 17 significant digits (exact float64 round trip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.circuit import Circuit, Gate, Rotation
from ..core.gates import GATES
from ..core.pauli import Pauli

__all__ = ["to_qasm3", "to_qasm2", "to_qiskit", "bind_params", "check_clifford", "QISKIT_GATE_NAMES"]

#: Our Clifford gate name -> the gate's name in qelib1.inc / stdgates.inc / Qiskit (``GateSpec.qasm``).
QISKIT_GATE_NAMES = {name: g.qasm for name, g in GATES.items()}
_INVERSE_BASIS = {"h": "h", "sdg": "s"}
_QUARTER_TOL = 1e-9


def bind_params(circuit: Circuit, params, where: str) -> np.ndarray | None:
    """``params`` as a float64 (n_params,) numpy array, or None (unbound) when ``params is None``.

    Raises:
        ValueError: wrong shape or non-finite values.
    """
    if params is None:
        return None
    arr = np.asarray(params, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != circuit.n_params:
        raise ValueError(
            f"{where}: params must have shape ({circuit.n_params},) for a circuit with {circuit.n_params} "
            f"parameters, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{where}: params must be finite, params[{bad}] = {arr[bad]}")
    return arr


def _require_bound(circuit: Circuit, params, where: str, why: str) -> None:
    """Raise the 'unbound parameter' error when a trainable rotation meets ``params=None``."""
    if params is not None:
        return
    for i, op in enumerate(circuit.ops):
        if isinstance(op, Rotation) and op.param is not None:
            raise ValueError(
                f"{where}: unbound parameter theta_{op.param} (operation {i}, R_{op.pauli.letters}) with "
                f"params=None; {why}"
            )


def check_clifford(circuit: Circuit, where: str) -> None:
    """Raise ValueError naming the first op of ``circuit`` that is not a Clifford.

    Gates are Clifford by construction; a rotation is accepted only with a fixed angle that is a
    multiple of pi/2 (within 1e-9).
    """
    for i, op in enumerate(circuit.ops):
        if not isinstance(op, Rotation):
            continue
        if op.param is not None:
            raise ValueError(
                f"{where}: operation {i} R_{op.pauli.letters}(theta_{op.param}) depends on a parameter; a "
                "measurement basis must be Clifford (gates or rotations by multiples of pi/2)"
            )
        quarters = op.offset / (math.pi / 2)
        if abs(quarters - round(quarters)) > _QUARTER_TOL:
            raise ValueError(
                f"{where}: operation {i} R_{op.pauli.letters}({op.offset!r}) is not Clifford: its angle is not "
                "a multiple of pi/2"
            )


def _fmt_float(x: float) -> str:
    """Shortest exact repr of a float, always with a decimal point (valid QASM 2 and 3 real)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"angle must be finite, got {x}")
    s = repr(x)
    mant, _, exp = s.partition("e")
    if "." not in mant:
        mant += ".0"
    return mant + ("e" + exp if exp else "")


def _angle_text(op: Rotation, params: np.ndarray | None, name: str) -> str:
    """The rotation angle as a QASM expression: a number when bound, else in terms of ``name_k``."""
    if op.param is None:
        return _fmt_float(op.offset)
    if params is not None:
        return _fmt_float(op.scale * params[op.param] + op.offset)
    var = f"{name}_{op.param}"
    if op.scale == 1.0:
        text = var
    elif op.scale == -1.0:
        text = f"-{var}"
    else:
        text = f"{_fmt_float(op.scale)}*{var}"
    if op.offset > 0:
        text += f" + {_fmt_float(op.offset)}"
    elif op.offset < 0:
        text += f" - {_fmt_float(-op.offset)}"
    return text


def rotation_steps(pauli: Pauli) -> tuple[list[tuple[str, tuple[int, ...]]], int, list[tuple[str, tuple[int, ...]]]]:
    """Decompose ``R_P(t)``: (gates before ``rz``, the ``rz`` qubit, gates after), Qiskit gate names.

    ``before`` = basis change then CNOT ladder along the support (ascending); ``after`` is its inverse.
    """
    support = pauli.support
    letters = pauli.letters
    basis: list[tuple[str, tuple[int, ...]]] = []
    for q in support:
        if letters[q] == "X":
            basis.append(("h", (q,)))
        elif letters[q] == "Y":
            basis += [("sdg", (q,)), ("h", (q,))]
    ladder = [("cx", (a, b)) for a, b in zip(support[:-1], support[1:])]
    undo_basis = [(_INVERSE_BASIS[g], qs) for g, qs in reversed(basis)]
    return basis + ladder, support[-1], ladder[::-1] + undo_basis


def _q(qubits: Sequence[int], reg: str = "q") -> str:
    return ", ".join(f"{reg}[{q}]" for q in qubits)


def _check_measure(circuit: Circuit, measure, where: str) -> tuple[int, ...]:
    measure = () if measure is None else tuple(int(q) for q in measure)
    if len(set(measure)) != len(measure) or any(not 0 <= q < circuit.n_qubits for q in measure):
        raise ValueError(f"{where}: measure must list distinct qubits in [0, {circuit.n_qubits}), got {measure}")
    return measure


def _check_circuit(circuit, where: str) -> None:
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: expected a Circuit, got {type(circuit).__name__}")


def _header_comments(circuit: Circuit, measure: tuple[int, ...], comment: str | None) -> list[str]:
    lines = [
        f"// slpa-jax export: {circuit.n_qubits} qubits, {circuit.num_rotations} Pauli rotations, "
        f"{circuit.n_params} parameters",
        "// R_P(t) = exp(-i t P/2); Pauli label character k acts on q[k] (our qubit k = q[k]).",
        "// Our statevector index has q[0] as the MOST significant bit (Qiskit: least significant).",
    ]
    if measure:
        lines.append(
            f"// c[k] measures q[measure[k]], measure = {list(measure)}; Qiskit counts keys: "
            "rightmost character = c[0]."
        )
    if comment:
        lines += [f"// {line}" for line in comment.splitlines()]
    return lines


def to_qasm3(circuit: Circuit, params=None, *, measure: Sequence[int] | None = None, comment: str | None = None) -> str:
    """OpenQASM 3 program for ``circuit`` at ``params``.

    Args:
        circuit: the circuit (Pauli rotations and Clifford gates).
        params: (n_params,) values to bind, or None to emit ``input float[64] theta_k;`` for every
            parameter and angles as expressions in them.
        measure: qubits to measure, in clbit order: ``c[k] = measure q[measure[k]];``.
        comment: extra text written as ``//`` comment lines after the header.

    Returns:
        The program text. Each distinct Pauli pattern is a ``gate rp_<letters>(theta)`` definition.
    """
    _check_circuit(circuit, "to_qasm3")
    vals = bind_params(circuit, params, "to_qasm3")
    measure = _check_measure(circuit, measure, "to_qasm3")
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    lines += _header_comments(circuit, measure, comment)
    defined: dict[str, str] = {}
    body: list[str] = []
    for op in circuit.ops:
        if isinstance(op, Gate):
            body.append(f"{QISKIT_GATE_NAMES[op.name]} {_q(op.qubits)};")
            continue
        if op.pauli.is_identity:  # a global phase: unobservable, omitted
            continue
        support = op.pauli.support
        letters = "".join(op.pauli.letters[q] for q in support)
        name = f"rp_{letters.lower()}"
        if name not in defined:
            local = {q: f"a{k}" for k, q in enumerate(support)}
            before, target, after = rotation_steps(op.pauli)
            steps = [f"{g} {', '.join(local[q] for q in qs)};" for g, qs in before]
            steps.append(f"rz(theta) {local[target]};")
            steps += [f"{g} {', '.join(local[q] for q in qs)};" for g, qs in after]
            args = ", ".join(local[q] for q in support)
            defined[name] = f"gate {name}(theta) {args} {{ {' '.join(steps)} }}"
        body.append(f"{name}({_angle_text(op, vals, 'theta')}) {_q(support)};")
    if vals is None:
        lines += [f"input float[64] theta_{k};" for k in range(circuit.n_params)]
    lines += list(defined.values())
    lines.append(f"qubit[{circuit.n_qubits}] q;")
    if measure:
        lines.append(f"bit[{len(measure)}] c;")
    lines += body
    lines += [f"c[{k}] = measure q[{q}];" for k, q in enumerate(measure)]
    return "\n".join(lines) + "\n"


def to_qasm2(circuit: Circuit, params, *, measure: Sequence[int] | None = None, comment: str | None = None) -> str:
    """OpenQASM 2 program for ``circuit`` at ``params`` (rotations inlined, gates from qelib1.inc).

    ``qelib1.inc`` has no ``swap``: SWAP is written as three ``cx`` (exact).

    Args:
        circuit: the circuit.
        params: (n_params,) values; required whenever the circuit has a trainable rotation
            (OpenQASM 2 has no inputs).
        measure: qubits to measure, in clbit order: ``measure q[measure[k]] -> c[k];``.
        comment: extra ``//`` comment lines.

    Raises:
        ValueError: "unbound parameter" when ``params`` is None and a rotation is trainable.
    """
    _check_circuit(circuit, "to_qasm2")
    _require_bound(circuit, params, "to_qasm2", "OpenQASM 2 has no inputs, pass the trained params")
    vals = bind_params(circuit, params, "to_qasm2")
    measure = _check_measure(circuit, measure, "to_qasm2")
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    lines += _header_comments(circuit, measure, comment)
    lines.append(f"qreg q[{circuit.n_qubits}];")
    if measure:
        lines.append(f"creg c[{len(measure)}];")
    for op in circuit.ops:
        if isinstance(op, Gate) and op.name == "SWAP":  # not in qelib1.inc: three CNOTs, exact
            a, b = op.qubits
            lines += [f"cx q[{a}], q[{b}];", f"cx q[{b}], q[{a}];", f"cx q[{a}], q[{b}];"]
            continue
        if isinstance(op, Gate):
            lines.append(f"{QISKIT_GATE_NAMES[op.name]} {_q(op.qubits)};")
            continue
        if op.pauli.is_identity:  # a global phase: unobservable, omitted
            continue
        before, target, after = rotation_steps(op.pauli)
        lines.append(f"// R_{op.pauli.letters}")
        lines += [f"{g} {_q(qs)};" for g, qs in before]
        lines.append(f"rz({_angle_text(op, vals, 'theta')}) q[{target}];")
        lines += [f"{g} {_q(qs)};" for g, qs in after]
    lines += [f"measure q[{q}] -> c[{k}];" for k, q in enumerate(measure)]
    return "\n".join(lines) + "\n"


def import_qiskit(where: str):
    """Import qiskit or raise an ImportError that names the ``export`` extra."""
    try:
        import qiskit
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"{where} needs Qiskit: pip install 'slpa-jax[export]'") from err
    return qiskit


def to_qiskit(circuit: Circuit, params=None, *, measure: Sequence[int] | None = None):
    """A ``qiskit.QuantumCircuit`` for ``circuit`` (same qubit indices, see the module docstring).

    Args:
        circuit: the circuit.
        params: (n_params,) values, or None for a circuit over ``ParameterVector("theta", n_params)``.
        measure: qubits to measure into clbits ``0, 1, ...`` of register ``c``.

    Returns:
        ``QuantumCircuit`` with register ``q`` (n qubits) and, when measuring, register ``c``;
        ``Statevector(qc).reverse_qargs().data == statevector(circuit, params)`` (no measurement).
    """
    _check_circuit(circuit, "to_qiskit")
    qiskit = import_qiskit("to_qiskit")
    from qiskit.circuit import ParameterVector

    vals = bind_params(circuit, params, "to_qiskit")
    measure = _check_measure(circuit, measure, "to_qiskit")
    qreg = qiskit.QuantumRegister(circuit.n_qubits, "q")
    regs = [qreg] + ([qiskit.ClassicalRegister(len(measure), "c")] if measure else [])
    qc = qiskit.QuantumCircuit(*regs)
    theta = ParameterVector("theta", circuit.n_params) if vals is None else None
    for op in circuit.ops:
        if isinstance(op, Gate):
            getattr(qc, QISKIT_GATE_NAMES[op.name])(*op.qubits)
            continue
        if op.pauli.is_identity:  # a global phase: unobservable, omitted
            continue
        if op.param is None:
            angle = float(op.offset)
        elif vals is not None:
            angle = float(op.scale * vals[op.param] + op.offset)
        else:
            angle = float(op.scale) * theta[op.param] + float(op.offset)
        before, target, after = rotation_steps(op.pauli)
        for g, qs in before:
            getattr(qc, g)(*qs)
        qc.rz(angle, target)
        for g, qs in after:
            getattr(qc, g)(*qs)
    for k, q in enumerate(measure):
        qc.measure(q, k)
    return qc
