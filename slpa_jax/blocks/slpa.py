"""Commuting-block circuits: the SLPA builder and block detection for any Pauli-rotation circuit
(spec section 3). The paper's circuits with their block structure are in ``ansatze``.

A ``BlockCircuit`` is a rotation-only circuit ``U = W_B ... W_1``, an observable ``O`` and the
block ranges. Block conditions (checked at construction):

1. the generators of a block commute pairwise;
2. all generators of a block share the same (anti)commutation with every *later* generator;
3. all generators of a block share the same (anti)commutation with every term of ``O``.

1 and 2 are the CBC conditions of the spec; 3 lets one ancilla phase (``S`` or not) and one logical
shift serve the whole block in ``block_gradient``. For an SLPA all three hold by construction
(every stabilizer commutes with the logicals and with ``O``).

SLPA (spec section 3): block ``b`` = ``{Lbar_b * s : s in S}`` as unsigned strings, in the order of
``StabilizerGroup.elements()`` (identity first, so the block starts with ``Lbar_b``), one parameter per
rotation, parameters numbered in circuit order (L = B |S|).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.circuit import Circuit, Gate
from ..core.pauli import Pauli, PauliSum, PauliTable, as_pauli_sum, commutation_matrix
from .stabilizer import StabilizerGroup

__all__ = [
    "BlockCircuit",
    "build_slpa",
    "detect_blocks",
]


def _rotation_only(circuit: Circuit, where: str) -> None:
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: expected a Circuit, got {type(circuit).__name__}")
    for i, op in enumerate(circuit.ops):
        if isinstance(op, Gate):
            raise ValueError(
                f"{where}: operation {i} is the Clifford gate {op.name}{op.qubits}; commuting-block circuits "
                "must consist of Pauli rotations only (write a Clifford as fixed rotations)"
            )
    if circuit.num_rotations == 0:
        raise ValueError(f"{where}: the circuit has no rotations")


def _anticommutation(circuit: Circuit, observable: PauliSum) -> tuple[np.ndarray, np.ndarray]:
    """(L, L) and (L, T) bool: True where generator i anticommutes with generator j / observable term t."""
    gens = circuit.generators
    return ~commutation_matrix(gens), ~commutation_matrix(gens, observable.paulis)


def _violation(anti: np.ndarray, anti_obs: np.ndarray, a: int, c: int) -> tuple | None:
    """None if rotations [a, c) form a valid block, else (kind, i, j) describing the first failure."""
    inner = anti[a:c, a:c]
    if inner.any():
        i, j = np.argwhere(inner)[0]
        return ("commute", a + int(i), a + int(j))
    later = anti[a:c, c:]
    bad = np.argwhere(later != later[0])
    if bad.size:
        i, j = bad[0]
        return ("later", a + int(i), c + int(j))
    bad = np.argwhere(anti_obs[a:c] != anti_obs[a])
    if bad.size:
        i, t = bad[0]
        return ("observable", a + int(i), int(t))
    return None


@dataclass(frozen=True)
class BlockCircuit:
    """A rotation-only circuit, its observable, and a commuting-block structure.

    Attributes:
        circuit: ``Circuit`` of Pauli rotations only.
        observable: ``PauliSum`` (a label or Pauli is converted).
        blocks: half-open ranges ``(start, stop)`` of *rotation* indices, contiguous, in circuit order,
            covering every rotation; each satisfies the block conditions of the module docstring.

    Raises:
        ValueError: gates in the circuit, blocks not a contiguous cover, or a block condition violated
            (the message names the rotations involved).
    """

    circuit: Circuit
    observable: PauliSum
    blocks: tuple[tuple[int, int], ...]

    def __post_init__(self):
        _rotation_only(self.circuit, "BlockCircuit")
        obs = as_pauli_sum(self.observable, self.circuit.n_qubits)
        object.__setattr__(self, "observable", obs)
        try:
            blocks = tuple((int(a), int(c)) for a, c in self.blocks)
        except (TypeError, ValueError) as err:
            raise ValueError(f"BlockCircuit: blocks must be (start, stop) pairs of ints, got {self.blocks!r}") from err
        n_rot = self.circuit.num_rotations
        expect = 0
        for b, (a, c) in enumerate(blocks):
            if a != expect or c <= a:
                raise ValueError(
                    f"BlockCircuit: block {b} = ({a}, {c}) must start at rotation {expect} and be non-empty; "
                    "blocks are contiguous half-open ranges covering all rotations in order"
                )
            expect = c
        if expect != n_rot:
            raise ValueError(f"BlockCircuit: blocks cover rotations 0..{expect - 1} but the circuit has {n_rot}")
        object.__setattr__(self, "blocks", blocks)
        anti, anti_obs = _anticommutation(self.circuit, obs)
        gens = self.circuit.generators
        for b, (a, c) in enumerate(blocks):
            bad = _violation(anti, anti_obs, a, c)
            if bad is None:
                continue
            kind, i, j = bad
            where = f"BlockCircuit: block {b} (rotations {a}..{c - 1})"
            if kind == "commute":
                raise ValueError(
                    f"{where}: generators {gens[i].label!r} (rotation {i}) and {gens[j].label!r} "
                    f"(rotation {j}) do not commute; a block's generators must commute pairwise"
                )
            if kind == "later":
                raise ValueError(
                    f"{where}: generators {gens[a].label!r} (rotation {a}) and {gens[i].label!r} (rotation {i}) "
                    f"differ in their commutation with the later generator {gens[j].label!r} (rotation {j}); a "
                    "block's generators must (anti)commute alike with every later generator"
                )
            raise ValueError(
                f"{where}: generators {gens[a].label!r} (rotation {a}) and {gens[i].label!r} (rotation {i}) differ "
                f"in their commutation with the observable term {obs.paulis[j].label!r}; a block's generators "
                "must (anti)commute alike with the observable"
            )

    # --- views -----------------------------------------------------------------------------------
    @property
    def n_qubits(self) -> int:
        return self.circuit.n_qubits

    @property
    def n_params(self) -> int:
        return self.circuit.n_params

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def block_sizes(self) -> tuple[int, ...]:
        return tuple(c - a for a, c in self.blocks)

    def block_generators(self, b: int):
        """``PauliTable`` of block ``b``'s generators (unsigned, circuit order)."""
        a, c = self.blocks[b]
        return self.circuit.generators[a:c]

    def __repr__(self) -> str:
        return (
            f"BlockCircuit(n_qubits={self.n_qubits}, rotations={self.circuit.num_rotations}, "
            f"blocks={self.n_blocks}, observable={self.observable!r})"
        )


# --- SLPA builder ------------------------------------------------------------------------------


def build_slpa(stabilizers, logicals: Sequence, observable) -> BlockCircuit:
    """The stabilizer-logical product ansatz with its block structure.

    Args:
        stabilizers: a ``StabilizerGroup``, or labels generating it (independent generators or the
            whole group, identity allowed; signs are irrelevant, see ``StabilizerGroup.generated_by``).
        logicals: sequence of ``B`` labels or Paulis ``Lbar_b`` (repeats allowed), each in the
            normalizer of S and not in S.
        observable: label, Pauli or PauliSum ``O``; every stabilizer must commute with every term.

    Returns:
        ``BlockCircuit`` with ``B |S|`` rotations, block ``b`` = ``[Lbar_b s for s in S.elements()]``
        (unsigned), one parameter per rotation in circuit order.

    Raises:
        ValueError: a stabilizer anticommutes with the observable, a logical is outside the normalizer
            or inside S (up to sign, the identity included), or there are no logicals (no block).

    Example:
        >>> bc = build_slpa(["XXXX", "ZZZZ"], ["XXII", "IIYY"], "XXII")
        >>> bc.circuit.num_rotations, bc.blocks
        (8, ((0, 4), (4, 8)))
    """
    group = (
        stabilizers
        if isinstance(stabilizers, StabilizerGroup)
        else StabilizerGroup.generated_by(stabilizers, up_to_sign=True)
    )
    n = group.n
    obs = as_pauli_sum(observable, n)
    for g in group.generators:
        for t in obs.paulis:
            if g.anticommutes(t):
                raise ValueError(
                    f"build_slpa: stabilizer {g.label!r} does not commute with observable term {t.label!r}; every "
                    "stabilizer must commute with the observable"
                )
    if isinstance(logicals, (str, Pauli)):
        raise TypeError(
            f"build_slpa: logicals must be a sequence of labels, got a single {str(logicals)!r}; wrap it in a list"
        )
    logicals = list(logicals)
    if not logicals:
        raise ValueError(
            "build_slpa: logicals is empty, so the SLPA would have no block; pass at least one logical operator"
        )
    elements = group.elements()
    labels: list[str] = []
    for b, lab in enumerate(logicals):
        lp = lab if isinstance(lab, Pauli) else Pauli(lab, n)
        if lp.n != n:
            raise ValueError(f"build_slpa: logical {b} {lp.label!r} acts on {lp.n} qubits, expected n={n}")
        if not lp.is_hermitian:
            raise ValueError(f"build_slpa: logical {b} {lp.label!r} is not Hermitian; expected sign + or -")
        if not group.in_normalizer(lp):
            bad = next(g for g in group.generators if g.anticommutes(lp))
            raise ValueError(
                f"build_slpa: logical {b} {lp.label!r} anticommutes with stabilizer {bad.label!r}, so it is outside "
                "the normalizer of S; logical operators must commute with every stabilizer"
            )
        if group.contains(lp, up_to_sign=True):
            raise ValueError(
                f"build_slpa: logical {b} {lp.label!r} is in S (up to sign), so its block would be the stabilizers "
                "themselves (including the identity, an empty rotation); choose a logical outside S"
            )
        block = elements.multiply(PauliTable.from_paulis([lp]))
        labels.extend(p.letters for p in block)
    circuit = Circuit.from_labels(labels, n)
    size = group.size
    blocks = tuple((b * size, (b + 1) * size) for b in range(len(logicals)))
    return BlockCircuit(circuit, obs, blocks)


# --- block detection ---------------------------------------------------------------------------


def detect_blocks(circuit: Circuit, observable) -> BlockCircuit:
    """Maximal contiguous commuting blocks of any rotation-only circuit (greedy, left to right).

    Valid blocks are closed under taking sub-ranges (see docs/block_gradient.md), so the greedy
    partition is the one with the fewest blocks. Blocks of size 1 are always valid.

    Args:
        circuit: rotation-only ``Circuit`` (fixed and shared-parameter rotations allowed).
        observable: label, Pauli or PauliSum.

    Returns:
        ``BlockCircuit`` of the same circuit.

    Raises:
        ValueError: the circuit contains Clifford gates or no rotations.
    """
    _rotation_only(circuit, "detect_blocks")
    obs = as_pauli_sum(observable, circuit.n_qubits)
    anti, anti_obs = _anticommutation(circuit, obs)
    n_rot = circuit.num_rotations
    blocks = []
    a = 0
    while a < n_rot:
        c = a + 1
        while c < n_rot and _violation(anti, anti_obs, a, c + 1) is None:
            c += 1
        blocks.append((a, c))
        a = c
    return BlockCircuit(circuit, obs, tuple(blocks))
