"""Measurement settings as hardware-ready circuits, and the export of a trained run.

A ``MeasurementSetting`` is what one hardware job runs: ``state prep + circuit + diagonalising
Clifford``, then measurement of the qubits in the union of the Z masks (``c[k]`` measures
``measured_qubits[k]``, ascending), together with the readout map that turns its counts into the
estimates of every Pauli of the group (signs included) and, optionally, into contributions to the
model output and the gradient (see ``slpa_jax.export.readout``). The plan is exactly the simulated
one: the same groups (``grouping.group_paulis``), the same Clifford (``diagonalize``), the same
parameter-shift circuits and the same SLPA block circuits (``block_gradient.block_measurements``).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.circuit import Circuit, Rotation
from ..core.pauli import PauliSum, as_pauli_sum
from ..measure.diagonalize import Diagonalization, diagonalize_commuting
from . import readout as readout_module
from .circuits import bind_params, check_clifford, import_qiskit, to_qasm2, to_qasm3, to_qiskit
from .readout import MANIFEST_FORMAT, READOUT_FORMAT, READOUT_VERSION

__all__ = [
    "FORMATS",
    "MeasurementSetting",
    "measurement_setting",
    "export_measurement",
    "observable_settings",
    "param_shift_settings",
    "block_settings",
    "product_state_prep",
    "state_prep_circuit",
    "product_factors",
    "render",
    "write_setting",
    "export_run_artifacts",
]

#: Export format -> file extension of the circuit files.
FORMATS = {"qasm3": ".qasm", "qasm2": ".qasm", "qiskit": ".qpy"}

CONVENTIONS = (
    "Our qubit q is q[q] in QASM and qubit q in Qiskit. R_P(t) = exp(-i t P/2); Pauli label character q "
    "acts on qubit q. c[k] measures qubit measured_qubits[k]. Counts keys: Qiskit order, rightmost character "
    "= c[0]. Our statevector index has qubit 0 as its most significant bit, Qiskit's as its least: "
    "Statevector(qc).reverse_qargs() equals slpa_jax.simulator.statevector."
)


@dataclass(frozen=True, eq=False)
class MeasurementSetting:
    """One circuit to run and the linear readout of its counts.

    Attributes:
        name: file stem, unique within an export.
        circuit: state prep + model (+ shift / ancilla) + diagonalising Clifford, no measurement.
        measured_qubits: ``c[k]`` measures ``measured_qubits[k]`` (ascending union of the Z masks).
        diagonalization: the Paulis ``P_k``, their Z masks and signs.
        value: ``(k, coeff)`` terms, ``f += coeff * <P_k>``.
        value_constant: added to f once (the identity part of the observable).
        gradient: ``(param, k, factor)`` terms, ``grad[param] += factor * <P_k>``.
        n_params: length of the gradient the terms index into.
        metadata: JSON-serialisable description (kind, rotation, shift sign, group, ...).
    """

    name: str
    circuit: Circuit
    measured_qubits: tuple[int, ...]
    diagonalization: Diagonalization
    value: tuple[tuple[int, float], ...] = ()
    gradient: tuple[tuple[int, int, float], ...] = ()
    n_params: int = 0
    metadata: Mapping = field(default_factory=dict)
    value_constant: float = 0.0

    def readout(self, program: str | None = None) -> dict:
        """The JSON-serialisable readout map (schema in ``slpa_jax.export.readout``)."""
        d = self.diagonalization
        clbit_of = {q: k for k, q in enumerate(self.measured_qubits)}
        paulis = []
        for k in range(len(d)):
            qubits = [int(q) for q in np.flatnonzero(d.z_masks[k])]
            paulis.append(
                {
                    "label": d.paulis[k].label,
                    "sign": int(d.signs[k]),
                    "qubits": qubits,
                    "clbits": [clbit_of[q] for q in qubits],
                }
            )
        out = {
            "format": READOUT_FORMAT,
            "version": READOUT_VERSION,
            "name": self.name,
            "n_qubits": self.circuit.n_qubits,
            "n_clbits": len(self.measured_qubits),
            "measured_qubits": list(self.measured_qubits),
            "bit_order": "counts keys: Qiskit order, rightmost character = clbit 0 = measured_qubits[0]",
            "paulis": paulis,
            "value": [{"pauli": int(k), "coeff": float(c)} for k, c in self.value],
            "value_constant": float(self.value_constant),
            "gradient": [{"param": int(p), "pauli": int(k), "factor": float(f)} for p, k, f in self.gradient],
            "n_params": int(self.n_params),
            "metadata": dict(self.metadata),
        }
        if program is not None:
            out["program"] = program
        return out


def _check_state_prep(state_prep, n: int) -> Circuit | None:
    if state_prep is None:
        return None
    if not isinstance(state_prep, Circuit):
        raise TypeError(f"state_prep: expected a Circuit or None, got {type(state_prep).__name__}")
    if any(isinstance(op, Rotation) and op.param is not None for op in state_prep.ops):
        raise ValueError("state_prep: must have fixed angles only (no trainable rotations); bind them as offsets")
    if state_prep.n_qubits > n:
        raise ValueError(f"state_prep: acts on {state_prep.n_qubits} qubits, the circuit has only {n}")
    return state_prep.embed(n, 0) if state_prep.n_qubits < n else state_prep


def measurement_setting(
    circuit: Circuit,
    diag: Diagonalization,
    *,
    state_prep: Circuit | None = None,
    name: str = "setting",
    value: Sequence = (),
    gradient: Sequence = (),
    n_params: int | None = None,
    metadata: Mapping | None = None,
    value_constant: float = 0.0,
) -> MeasurementSetting:
    """Build the setting ``state_prep + circuit + diag.clifford`` measuring the union of the Z masks.

    Args:
        circuit: the (model or gradient) circuit on n qubits.
        diag: diagonalisation of the commuting Paulis to read (``diagonalize_commuting``).
        state_prep: fixed-angle circuit preparing the input state from |0...0> (default: none); a
            circuit on fewer qubits is placed on qubits 0.. (e.g. the system of an ancilla circuit).
        name, value, gradient, n_params, metadata, value_constant: see ``MeasurementSetting``.

    Raises:
        ValueError: qubit counts differ, or ``diag.clifford`` is not Clifford (the op is named).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"measurement_setting: circuit must be a Circuit, got {type(circuit).__name__}")
    if not isinstance(diag, Diagonalization):
        raise TypeError(f"measurement_setting: diag must be a Diagonalization, got {type(diag).__name__}")
    if diag.n_qubits != circuit.n_qubits:
        raise ValueError(f"measurement_setting: diag acts on {diag.n_qubits} qubits, the circuit on {circuit.n_qubits}")
    check_clifford(diag.clifford, "measurement basis (diag.clifford)")
    prep = _check_state_prep(state_prep, circuit.n_qubits)
    full = circuit if prep is None else prep + circuit
    full = full + Circuit(circuit.n_qubits, diag.clifford.ops, 0)
    measured = tuple(int(q) for q in np.flatnonzero(np.asarray(diag.z_masks).any(axis=0)))
    m = len(diag)
    for k, _ in value:
        if not 0 <= k < m:
            raise ValueError(f"measurement_setting: value term index {k} out of range for {m} Paulis")
    n_params = circuit.n_params if n_params is None else n_params
    for p, k, _ in gradient:
        if not (0 <= k < m and 0 <= p < n_params):
            raise ValueError(
                f"measurement_setting: gradient term ({p}, {k}) out of range for {n_params} params and {m} Paulis"
            )
    return MeasurementSetting(
        name,
        full,
        measured,
        diag,
        tuple((int(k), float(c)) for k, c in value),
        tuple((int(p), int(k), float(f)) for p, k, f in gradient),
        int(n_params),
        dict(metadata or {}),
        float(value_constant),
    )


def render(circuit: Circuit, params, fmt: str, *, measure: Sequence[int] = (), comment: str | None = None):
    """``to_qasm3`` / ``to_qasm2`` text or a ``to_qiskit`` circuit, by ``fmt``."""
    if fmt == "qasm3":
        return to_qasm3(circuit, params, measure=measure, comment=comment)
    if fmt == "qasm2":
        return to_qasm2(circuit, params, measure=measure, comment=comment)
    if fmt == "qiskit":
        return to_qiskit(circuit, params, measure=measure)
    raise ValueError(f"fmt: expected one of {sorted(FORMATS)}, got {fmt!r}")


def export_measurement(
    circuit: Circuit,
    params,
    diag: Diagonalization,
    *,
    fmt: str = "qasm3",
    state_prep: Circuit | None = None,
    name: str = "setting",
):
    """Export one measurement setting: ``(program, readout)``.

    Returns:
        ``program``: QASM text (``fmt`` "qasm3"/"qasm2") or a measured ``QuantumCircuit`` ("qiskit");
        ``readout``: the readout map dict, for ``readout.estimates_from_counts``.
    """
    setting = measurement_setting(circuit, diag, state_prep=state_prep, name=name)
    program = render(setting.circuit, params, fmt, measure=setting.measured_qubits)
    return program, setting.readout()


def observable_settings(
    circuit: Circuit, observable, *, grouping: str = "qwc", state_prep: Circuit | None = None, prefix: str = "value"
) -> list[MeasurementSetting]:
    """Settings that estimate ``f = <O>``: one per setting of ``estimators.measurement_plan``.

    The grouping is the simulator's own (``measurement_plan(observable, grouping=grouping)``: merged
    terms, identity part exact, ``group_paulis`` groups, ``diagonalize_commuting`` Cliffords). Each
    setting carries ``value`` terms ``(k, coeff_k)``; the first one also carries the identity part as
    ``value_constant`` so that summing over settings gives f.
    """
    from ..measure.expectation import measurement_plan

    plan = measurement_plan(observable, circuit.n_qubits, grouping=grouping)
    out = []
    for g, (diag, coeffs, terms) in enumerate(zip(plan.settings, plan.coeffs, plan.terms)):
        out.append(
            measurement_setting(
                circuit,
                diag,
                state_prep=state_prep,
                name=f"{prefix}_g{g:02d}",
                value=list(enumerate(coeffs)),
                value_constant=plan.constant if g == 0 else 0.0,
                metadata={"kind": "value", "group": g, "terms": [int(i) for i in terms]},
            )
        )
    return out


def _shifted(circuit: Circuit, op_index: int, shift: float) -> Circuit:
    ops = list(circuit.ops)
    r = ops[op_index]
    ops[op_index] = Rotation(r.pauli, r.param, r.scale, r.offset + shift)
    return Circuit(circuit.n_qubits, tuple(ops), circuit.n_params)


def param_shift_settings(
    circuit: Circuit, observable, *, grouping: str = "qwc", state_prep: Circuit | None = None
) -> list[MeasurementSetting]:
    """Parameter-shift gradient settings: rotation r's angle shifted by +-pi/2, times every group of O.

    ``df/dparams[p] = sum_{r: param(r) = p} scale_r (f(angle_r + pi/2) - f(angle_r - pi/2)) / 2``, so
    the setting of rotation r, sign s and group g has gradient terms ``(p, k, s * scale_r * coeff_k / 2)``.
    Groups as in ``observable_settings``. Fixed-angle rotations are skipped. Names:
    ``ps_r{r}_{plus|minus}_g{g}``.
    """
    from ..measure.expectation import measurement_plan

    plan = measurement_plan(observable, circuit.n_qubits, grouping=grouping)
    out = []
    r = -1
    for i, op in enumerate(circuit.ops):
        if not isinstance(op, Rotation):
            continue
        r += 1
        if op.param is None:
            continue
        for sign, tag in ((1, "plus"), (-1, "minus")):
            shifted = _shifted(circuit, i, sign * math.pi / 2)
            for g, (diag, coeffs, terms) in enumerate(zip(plan.settings, plan.coeffs, plan.terms)):
                out.append(
                    measurement_setting(
                        shifted,
                        diag,
                        state_prep=state_prep,
                        name=f"ps_r{r:04d}_{tag}_g{g:02d}",
                        gradient=[(op.param, k, sign * op.scale * c / 2) for k, c in enumerate(coeffs)],
                        metadata={
                            "kind": "param_shift",
                            "rotation": r,
                            "param": op.param,
                            "scale": op.scale,
                            "shift_sign": sign,
                            "shift": sign * math.pi / 2,
                            "group": g,
                            "terms": [int(j) for j in terms],
                        },
                    )
                )
    return out


def block_settings(
    block_circuit, *, scheme: str = "ancilla", state_prep: Circuit | None = None
) -> list[MeasurementSetting]:
    """SLPA block-gradient settings from ``block_gradient.block_measurements(block_circuit, scheme)``.

    One setting per ``BlockMeasurement`` (ancilla = last qubit for the ancilla scheme): its circuit,
    the joint diagonalisation of its observables, and its readout ``(param, obs, factor)`` as gradient
    terms. Names: ``{scheme}_{i}``.
    """
    from ..blocks.gradient import block_measurements

    out = []
    for i, bm in enumerate(block_measurements(block_circuit, scheme)):
        diag = diagonalize_commuting(bm.observables)
        out.append(
            measurement_setting(
                bm.circuit,
                diag,
                state_prep=state_prep,
                name=f"{scheme}_{i:04d}",
                gradient=bm.readout,
                n_params=block_circuit.circuit.n_params,
                metadata={"kind": scheme, "index": i, "block": int(bm.block), "n_qubits": bm.circuit.n_qubits},
            )
        )
    return out


def product_state_prep(qubit_states) -> Circuit:
    """Fixed-angle circuit ``prod_q R_Z(phi_q) R_Y(t_q)`` preparing a product state from |0...0>.

    Args:
        qubit_states: (n, 2) complex, row q = (a_q, b_q) the state of qubit q (normalised).

    Returns:
        Circuit on n qubits (no parameters) whose output equals ``kron(rows)`` up to a global phase.
    """
    s = np.asarray(qubit_states, dtype=np.complex128)
    if s.ndim != 2 or s.shape[1] != 2 or s.shape[0] < 1:
        raise ValueError(f"qubit_states: expected shape (n, 2), got {s.shape}")
    norms = np.linalg.norm(s, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-8):
        raise ValueError(f"qubit_states: rows must be normalised, got norms {norms}")
    n = s.shape[0]
    c = Circuit(n)
    for q, (a, b) in enumerate(s):
        t = 2 * math.atan2(abs(b), abs(a))
        phi = float(np.angle(b) - np.angle(a)) if abs(a) > 0 and abs(b) > 0 else 0.0
        label = ["I"] * n
        label[q] = "Y"
        c = c.fixed_rotation("".join(label), t)
        label[q] = "Z"
        if phi != 0.0:
            c = c.fixed_rotation("".join(label), phi)
    return c


#: Tolerance of the product-state detection (weight of the second Schmidt value of any one-qubit cut).
PRODUCT_TOL = 1e-8


def product_factors(state, n_qubits: int, *, require: str | None = None) -> np.ndarray | None:
    """(n, 2) single-qubit factors of a (2**n,) product state (qubit 0 most significant), or None
    when some qubit is entangled with the others (Schmidt weight above ``PRODUCT_TOL``).

    With ``require`` (the caller's name), a non-product state raises a ValueError naming the
    entangled qubit instead of returning None.
    """
    psi = np.asarray(state, dtype=np.complex128)
    if psi.shape != (2**n_qubits,):
        raise ValueError(f"state: expected shape ({2**n_qubits},) for {n_qubits} qubits, got {psi.shape}")
    norm = np.linalg.norm(psi)
    if not norm > 0:
        raise ValueError("state: the zero vector is not a state")
    psi = psi / norm
    t = psi.reshape((2,) * n_qubits)
    factors = []
    for q in range(n_qubits):
        u, sv, _ = np.linalg.svd(np.moveaxis(t, q, 0).reshape(2, -1), full_matrices=False)
        if sv.size > 1 and sv[1] ** 2 > PRODUCT_TOL:
            if require is None:
                return None
            raise ValueError(
                f"state: not a product state (qubit {q} is entangled with the others, Schmidt weight "
                f"{sv[1] ** 2:.3g}); {require} supports product input states only"
            )
        factors.append(u[:, 0])
    prod = factors[0]
    for f in factors[1:]:
        prod = np.kron(prod, f)
    if 1 - abs(np.vdot(prod, psi)) ** 2 > PRODUCT_TOL:
        if require is None:
            return None
        raise ValueError("state: not a product state (the product of the single-qubit factors does not reproduce it)")
    return np.stack(factors)


def state_prep_circuit(state, n_qubits: int, *, warn: bool = True) -> Circuit:
    """A fixed-angle circuit preparing the (2**n,) ``state`` from |0...0> (up to a global phase).

    A product state becomes one ``R_Y`` (and ``R_Z``) per qubit (``product_state_prep``). Any other
    state goes through Qiskit's ``StatePreparation``, transpiled to ``u`` and ``cx`` and read back as
    fixed ``R_Z R_Y R_Z`` rotations and CNOTs, so QASM, QPY and the backend estimator see ordinary gates; its
    depth grows like 2**n (a ``UserWarning`` gives the CNOT count and depth; ``warn=False`` silences it).

    Raises:
        ValueError: wrong shape or the zero vector.
        ImportError: a non-product state without qiskit installed.
    """
    factors = product_factors(state, n_qubits)
    if factors is not None:
        return product_state_prep(factors)
    qiskit = import_qiskit("state_prep_circuit (a non-product input state)")
    from qiskit.circuit.library import StatePreparation

    psi = np.asarray(state, dtype=np.complex128)
    psi = psi / np.linalg.norm(psi)
    # our index: qubit 0 most significant; Qiskit's: qubit 0 least significant
    psi_q = psi.reshape((2,) * n_qubits).transpose(tuple(reversed(range(n_qubits)))).reshape(-1)
    qc = qiskit.QuantumCircuit(n_qubits)
    qc.append(StatePreparation(psi_q), list(range(n_qubits)))
    qc = qiskit.transpile(qc, basis_gates=["u", "cx"], optimization_level=1, seed_transpiler=0)
    out = Circuit(n_qubits)
    n_cx = 0
    for inst in qc.data:
        name = inst.operation.name
        qs = [qc.find_bit(b).index for b in inst.qubits]
        if name == "u":  # U(t, phi, lam) = e^{i(phi + lam)/2} R_Z(phi) R_Y(t) R_Z(lam): apply R_Z(lam) first
            t, phi, lam = (float(x) for x in inst.operation.params)
            for letter, angle in (("Z", lam), ("Y", t), ("Z", phi)):
                if angle != 0.0:
                    label = ["I"] * n_qubits
                    label[qs[0]] = letter
                    out = out.fixed_rotation("".join(label), angle)
        elif name == "cx":
            out = out.gate("CNOT", qs[0], qs[1])
            n_cx += 1
        elif name not in ("barrier", "global_phase"):
            raise ValueError(f"state_prep_circuit: unexpected gate {name!r} after transpilation")
    if warn:
        warnings.warn(
            f"state_prep_circuit: the input state is not a product state; its preparation on {n_qubits} qubits "
            f"takes {n_cx} CNOTs at depth {qc.depth()} (it grows like 2**n) before every setting",
            UserWarning,
            stacklevel=2,
        )
    return out


def write_setting(setting: MeasurementSetting, params, out_dir, fmt: str, subdir: str = "") -> dict:
    """Write ``<subdir>/<name>.{qasm|qpy}`` and ``<subdir>/<name>.json``; return the manifest entry."""
    ext = FORMATS.get(fmt)
    if ext is None:
        raise ValueError(f"fmt: expected one of {sorted(FORMATS)}, got {fmt!r}")
    os.makedirs(os.path.join(out_dir, subdir), exist_ok=True)
    prog_rel = os.path.join(subdir, setting.name + ext)
    json_rel = os.path.join(subdir, setting.name + ".json")
    comment = f"setting {setting.name}: {json.dumps(dict(setting.metadata))}; readout map: {setting.name}.json"
    program = render(setting.circuit, params, fmt, measure=setting.measured_qubits, comment=comment)
    _write_program(program, os.path.join(out_dir, prog_rel), fmt)
    with open(os.path.join(out_dir, json_rel), "w", encoding="utf-8") as fh:
        json.dump(setting.readout(program=os.path.basename(prog_rel)), fh, indent=1)
    return {"name": setting.name, "program": prog_rel, "readout": json_rel, "metadata": dict(setting.metadata)}


def _write_program(program, path: str, fmt: str) -> None:
    if fmt == "qiskit":
        import_qiskit("export (fmt='qiskit')")
        from qiskit import qpy

        with open(path, "wb") as fh:
            qpy.dump(program, fh)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(program)


def _resolve_run_args(out_dir, fmt, block_circuit):
    """Accept the contract order ``(..., block_circuit_or_None, out_dir, fmt)`` as well."""
    from ..blocks.slpa import BlockCircuit

    if (
        (out_dir is None or isinstance(out_dir, BlockCircuit))
        and isinstance(fmt, (str, os.PathLike))
        and fmt not in FORMATS
    ):
        block, path = out_dir, fmt
        new_fmt = block_circuit if isinstance(block_circuit, str) else "qasm3"
        return path, new_fmt, block
    if block_circuit is not None and not isinstance(block_circuit, BlockCircuit):
        raise TypeError(f"block_circuit: expected a BlockCircuit or None, got {type(block_circuit).__name__}")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir: expected a path, got {type(out_dir).__name__}")
    return out_dir, fmt, block_circuit


def export_run_artifacts(
    circuit: Circuit,
    params,
    observable,
    out_dir,
    fmt: str = "qasm3",
    block_circuit=None,
    *,
    state_prep: Circuit | None = None,
    state=None,
    scheme: str = "ancilla",
    grouping: str = "qwc",
    overwrite: bool = False,
) -> dict:
    """Write the trained circuit and every measurement setting of its gradient plan to ``out_dir``.

    Layout: ``model.{qasm|qpy}`` (the circuit at ``params``, no measurement), ``value/*`` (settings
    for f), ``gradient/*`` (parameter shift, or the SLPA block circuits when ``block_circuit`` is
    given), one ``.json`` readout map per setting, ``readout_loader.py`` (a copy of
    ``slpa_jax.export.readout``) and ``manifest.json``. The contract order
    ``(circuit, params, observable, block_circuit_or_None, out_dir, fmt)`` is accepted too.

    Args:
        circuit: the model circuit. params: (n_params,) trained values (one seed), or None for
            symbolic ``theta_k`` (qasm3 and qiskit only).
        observable: the model observable (None: ``block_circuit.observable``).
        out_dir: directory to create; must be empty or absent unless ``overwrite``.
        fmt: "qasm3", "qasm2" or "qiskit" (QPY files).
        block_circuit: ``slpa.BlockCircuit`` of ``circuit`` to export block-gradient settings
            (``scheme`` "ancilla" or "ancilla_free") instead of parameter shift.
        state_prep: fixed-angle input-state circuit prepended to every setting (default |0...0>).
        state: or a (2**n,) input state (a data sample): ``state_prep_circuit`` of it is prepended
            (single-qubit gates for a product state; Qiskit's state preparation, with a depth warning,
            otherwise). Not both.
        grouping: "qwc", "gc" or "none" (one setting per term), as ``estimators.measurement_plan``.
        overwrite: replace a non-empty ``out_dir`` that holds no earlier export (an earlier export,
            recognised by its ``manifest.json``, is always replaced).

    Returns:
        The manifest dict (also written to ``out_dir/manifest.json``).
    """
    out_dir, fmt, block_circuit = _resolve_run_args(out_dir, fmt, block_circuit)
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {sorted(FORMATS)}, got {fmt!r}")
    if not isinstance(circuit, Circuit):
        raise TypeError(f"export_run_artifacts: circuit must be a Circuit, got {type(circuit).__name__}")
    if params is not None and np.ndim(params) != 1:
        raise ValueError(
            f"export_run_artifacts: params must be one parameter vector of shape ({circuit.n_params},), got shape "
            f"{np.shape(params)}; for a multi-seed run pass params[seed]"
        )
    vals = bind_params(circuit, params, "export_run_artifacts")
    if state is not None:
        if state_prep is not None:
            raise ValueError("export_run_artifacts: give state_prep or state, not both")
        state_prep = state_prep_circuit(state, circuit.n_qubits)
    if block_circuit is not None:
        if block_circuit.circuit != circuit:
            raise ValueError("export_run_artifacts: block_circuit.circuit differs from circuit")
        observable = block_circuit.observable if observable is None else observable
    if observable is None:
        raise ValueError("export_run_artifacts: observable is None and no block_circuit gives one")
    obs = as_pauli_sum(observable, circuit.n_qubits)
    if block_circuit is not None:
        bobs = as_pauli_sum(block_circuit.observable, circuit.n_qubits)
        diff = PauliSum(np.concatenate([obs.coeffs, -bobs.coeffs]), obs.paulis.concat(bobs.paulis))
        if len(diff.simplify(atol=1e-12)):
            raise ValueError("export_run_artifacts: observable differs from block_circuit.observable")
    if fmt == "qasm2" and vals is None:
        to_qasm2(circuit, None)  # raises the 'unbound parameter' error when the circuit is trainable
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not (overwrite or os.path.exists(os.path.join(out_dir, "manifest.json"))):
            raise FileExistsError(
                f"export_run_artifacts: {out_dir} is not empty and holds no earlier export; pass overwrite=True"
            )
        for sub in ("value", "gradient"):
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
    os.makedirs(out_dir, exist_ok=True)

    value_settings = observable_settings(circuit, obs, grouping=grouping, state_prep=state_prep)
    if block_circuit is None:
        method = "param_shift"
        grad_settings = param_shift_settings(circuit, obs, grouping=grouping, state_prep=state_prep)
    else:
        method = scheme
        grad_settings = block_settings(block_circuit, scheme=scheme, state_prep=state_prep)

    ext = FORMATS[fmt]
    model_file = "model" + ext
    _write_program(
        render(circuit, vals, fmt, comment="trained model circuit (no state prep, no measurement)"),
        os.path.join(out_dir, model_file),
        fmt,
    )
    value_entries = [write_setting(s, vals, out_dir, fmt, "value") for s in value_settings]
    grad_entries = [write_setting(s, vals, out_dir, fmt, "gradient") for s in grad_settings]
    with open(os.path.join(out_dir, "readout_loader.py"), "w", encoding="utf-8") as fh:
        fh.write(inspect.getsource(readout_module))
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "fmt": fmt,
        "conventions": CONVENTIONS,
        "n_qubits": circuit.n_qubits,
        "n_params": circuit.n_params,
        "params": None if vals is None else [float(v) for v in vals],
        "observable": [{"label": lab, "coeff": float(c)} for lab, c in zip(obs.paulis.labels(), np.real(obs.coeffs))],
        "value_constant": sum(s.value_constant for s in value_settings),
        "state_prep": state_prep is not None,
        "state_prep_ops": 0 if state_prep is None else len(state_prep.ops),
        "model": model_file,
        "gradient_method": method,
        "grouping": grouping,
        "value_settings": value_entries,
        "gradient_settings": grad_entries,
        "executions_per_step": len(value_entries) + len(grad_entries),
        "loader": "readout_loader.py",
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest
