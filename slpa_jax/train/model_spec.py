"""What a model is made of, from a config: circuit, observable, block structure and estimator kind.

Shared by config validation (so a bad model fails before anything runs) and ``models`` (which adds
the estimator). Three kinds of ansatz:

- a catalogue name (``blocks.catalogue.ANSATZE``): the paper's and the QPR circuits;
- ``custom``: ``circuit`` is a circuit spec (``circuit_spec.circuit_from_spec``: labels, layers,
  shared parameters, gates, or a JSON / OpenQASM file);
- ``symmetric_slpa``: the SLPA of the problem's symmetry (``blocks.symmetry``): stabilizers given,
  else the task's known symmetry, else found from the task's Hamiltonian; logicals chosen
  automatically; ``n_params = blocks x |S|``.

The observable: the model's ``observable`` if given, else the task's Hamiltonian (ground-state tasks),
else the ansatz's default. Estimator ``auto``: the ancilla block gradient when the circuit is
rotation-only (every such circuit has a commuting-block structure, ``slpa.detect_blocks``; the
observable may be a Pauli sum), parameter shift otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..blocks.catalogue import ANSATZE, build_ansatz
from ..blocks.slpa import BlockCircuit, detect_blocks
from ..blocks.stabilizer import StabilizerGroup
from ..blocks.symmetry import find_symmetry, symmetric_slpa
from ..core.circuit import Circuit, Gate
from ..core.pauli import PauliSum, as_pauli_sum
from .circuit_spec import circuit_from_spec

__all__ = ["MODEL_ANSATZE", "BLOCK_ESTIMATORS", "ResolvedModel", "resolve_model", "resolve_estimator"]

#: The names ``models[i].ansatz`` accepts: the catalogue, plus user circuits and the automatic SLPA.
MODEL_ANSATZE = (*ANSATZE, "custom", "symmetric_slpa")
#: Estimators that need a commuting-block structure (any Pauli-sum observable).
BLOCK_ESTIMATORS = ("ancilla", "ancilla_free")


@dataclass(frozen=True, eq=False)
class ResolvedModel:
    """A model's static parts: ``circuit``, ``observable`` (PauliSum), ``block_circuit`` (None when the
    circuit has Clifford gates: no block structure), and ``n_params``."""

    circuit: Circuit
    observable: PauliSum
    block_circuit: BlockCircuit | None

    @property
    def n_params(self) -> int:
        return self.circuit.n_params


def resolve_model(
    ansatz: str,
    n_qubits: int,
    n_params: int | None,
    *,
    circuit=None,
    observable=None,
    stabilizers=None,
    task_symmetry=None,
    task_hamiltonian: PauliSum | None = None,
    where: str = "model",
) -> ResolvedModel:
    """Build the static parts of a model (see the module docstring); ValueError names the key.

    Args:
        ansatz: one of ``MODEL_ANSATZE``.
        n_qubits: the task's qubit count.
        n_params: rotations (catalogue ansatze, ``symmetric_slpa``); for ``custom`` None or the
            circuit's own parameter count.
        circuit: a circuit spec (``custom`` only).
        observable: a label / ``[(c, label), ...]`` overriding the default.
        stabilizers: labels of stabilizer generators (``symmetric_slpa`` only).
        task_symmetry: the task's known stabilizer generators (labels) or None.
        task_hamiltonian: the task's Hamiltonian (ground-state tasks) or None.
        where: key prefix for errors, e.g. ``"models[0]"``.
    """
    if ansatz not in MODEL_ANSATZE:
        raise ValueError(f"{where}.ansatz: expected one of {list(MODEL_ANSATZE)}, got {ansatz!r}")
    if circuit is not None and ansatz != "custom":
        raise ValueError(f"{where}.circuit: only ansatz 'custom' takes a circuit (got ansatz {ansatz!r})")
    if stabilizers is not None and ansatz != "symmetric_slpa":
        raise ValueError(f"{where}.stabilizers: only ansatz 'symmetric_slpa' takes stabilizers (got {ansatz!r})")
    obs = None
    if observable is not None:
        if task_hamiltonian is not None:
            raise ValueError(f"{where}.observable: a ground-state task measures task.hamiltonian; remove the key")
        try:
            if isinstance(observable, (list, tuple)):
                observable = [tuple(t) if isinstance(t, (list, tuple)) else t for t in observable]  # YAML pairs
            obs = as_pauli_sum(observable, n_qubits)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}.observable: {err}") from err
    elif task_hamiltonian is not None:
        obs = task_hamiltonian
    if ansatz == "custom":
        if circuit is None:
            raise ValueError(f"{where}.circuit: required for ansatz 'custom' (a list of ops or a mapping)")
        c = circuit_from_spec(circuit, n_qubits, where=f"{where}.circuit")
        if n_params is not None and n_params != c.n_params:
            raise ValueError(f"{where}.n_params: the circuit has {c.n_params} parameters, got n_params={n_params}")
        if obs is None:
            raise ValueError(f"{where}.observable: required for a custom circuit (e.g. 'ZIII' or [[0.5, 'XX'], ...])")
        has_gates = any(isinstance(op, Gate) for op in c.ops)
        return ResolvedModel(c, obs, None if has_gates else detect_blocks(c, obs))
    if ansatz == "symmetric_slpa":
        return _symmetric(n_qubits, n_params, obs, stabilizers, task_symmetry, task_hamiltonian, where)
    bc = build_ansatz(ansatz, n_qubits, n_params, obs, where=where)
    return ResolvedModel(bc.circuit, bc.observable, bc)


def _symmetric(n, n_params, obs, stabilizers, task_symmetry, task_hamiltonian, where) -> ResolvedModel:
    if obs is None:
        raise ValueError(f"{where}.observable: required for 'symmetric_slpa' outside a ground-state task")
    if stabilizers is not None:
        if isinstance(stabilizers, str) or not isinstance(stabilizers, (list, tuple)) or not stabilizers:
            raise ValueError(f"{where}.stabilizers: expected a non-empty list of Pauli labels, got {stabilizers!r}")
        source = list(stabilizers)
    elif task_symmetry is not None:
        source = list(task_symmetry)
    elif task_hamiltonian is not None:
        source = None
    else:
        raise ValueError(
            f"{where}.stabilizers: required: this task has no known symmetry and no Hamiltonian to find one from"
        )
    try:
        if source is None:
            group = find_symmetry(task_hamiltonian.paulis.concat(obs.paulis))
        else:
            group = StabilizerGroup.generated_by(source, n, up_to_sign=True)
        size = 2**group.n_generators
        if not isinstance(n_params, int) or n_params < size or n_params % size:
            raise ValueError(
                f"n_params must be a positive multiple of |S| = {size} (S = <{', '.join(group.generators.labels())}>),"
                f" got {n_params}"
            )
        bc = symmetric_slpa([], obs, n_params // size, stabilizers=group)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err
    return ResolvedModel(bc.circuit, bc.observable, bc)


def resolve_estimator(estimator: str, model: ResolvedModel, where: str = "model") -> str:
    """The estimator kind to build: ``auto`` resolved; a block kind checked against the model."""
    if estimator == "auto":
        return "ancilla" if model.block_circuit is not None else "param_shift"
    if estimator in BLOCK_ESTIMATORS:
        if model.block_circuit is None:
            raise ValueError(
                f"{where}.estimator: {estimator!r} needs a rotation-only circuit (Clifford gates have no block "
                "structure); use 'param_shift' or 'auto'"
            )
    return estimator
