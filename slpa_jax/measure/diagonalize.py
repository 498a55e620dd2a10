"""Clifford diagonalisation of a set of pairwise-commuting Pauli strings, with its readout map.

For commuting Hermitian Paulis ``P_0 .. P_{m-1}`` on ``n`` qubits we build a Clifford circuit ``C``
(gates H, S, SDG, CNOT, CZ only) with ``C P_k C^dag = signs[k] * Z^{z_masks[k]}`` for every ``k``.
Measuring the computational basis after ``C`` then gives all ``m`` expectation values from the same
shots: a sampled bitstring ``b`` (qubit ``q`` = label position ``q`` = state-index bit ``n-1-q``) gives
the single-shot value ``signs[k] * (-1)**(sum_q b_q z_masks[k, q])``.

Qubit-wise commuting sets get one layer of single-qubit gates (H for X, SDG then H for Y). General
commuting sets, such as ``{XX, YY, ZZ}`` (which PennyLane and Qiskit do not measure jointly), use the
symplectic reduction of a generating set: Hadamards until the X block has full rank, CNOTs to
reduce it to the identity on pivot qubits, S/CZ to clear the (symmetric) Z block there, Hadamards
on the pivots. Every member's image, sign included, is then computed exactly by conjugating its
tableau row through the gate list (Aaronson-Gottesman phase rules, vectorised over members).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.circuit import Circuit, Gate, Rotation
from ..core.gates import conjugate_paulis
from ..core.gf2 import independent_rows, rref
from ..core.pauli import PauliTable, as_pauli_table, commutation_matrix, index_weights

__all__ = ["Diagonalization", "diagonalize_commuting", "conjugate_by_clifford", "is_qubitwise_commuting"]


@dataclass(frozen=True, eq=False)
class Diagonalization:
    """A measurement setting for commuting Paulis: ``C P_k C^dag = signs[k] * Z^{z_masks[k]}``.

    Attributes:
        paulis: the ``m`` input strings ``P_k`` (with their signs), a ``PauliTable``.
        clifford: ``C``, a ``Circuit`` of Clifford gates only on ``n`` qubits (no parameters).
        z_masks: (m, n) bool, ``z_masks[k, q]`` True when qubit ``q`` enters the parity of ``P_k``.
        signs: (m,) int64 in {+1, -1}.
    """

    paulis: PauliTable
    clifford: Circuit
    z_masks: np.ndarray
    signs: np.ndarray

    def __post_init__(self):
        z_masks = np.asarray(self.z_masks, dtype=bool)
        signs = np.asarray(self.signs, dtype=np.int64).reshape(-1)
        m, n = len(self.paulis), self.paulis.n
        if z_masks.shape != (m, n) or signs.shape != (m,):
            raise ValueError(
                f"Diagonalization: expected z_masks of shape ({m}, {n}) and signs of shape ({m},), "
                f"got {z_masks.shape} and {signs.shape}"
            )
        if self.clifford.n_qubits != n:
            raise ValueError(f"Diagonalization: clifford acts on {self.clifford.n_qubits} qubits, expected {n}")
        if not np.all(np.abs(signs) == 1):
            raise ValueError(f"Diagonalization: signs must be +1 or -1, got {signs.tolist()}")
        for arr in (z_masks, signs):
            arr.setflags(write=False)
        object.__setattr__(self, "z_masks", z_masks)
        object.__setattr__(self, "signs", signs)
        # the contract itself, checked on the tableau (O(m n |C|) bit operations) when C is made of gates
        # (as diagonalize_commuting builds it): a hand-built setting that does not diagonalise its Paulis
        # would give wrong estimates silently. Fixed quarter-turn rotations in C are checked for being
        # Clifford where they are used (the exporters).
        if not any(isinstance(op, Rotation) for op in self.clifford.ops):
            self._check_contract()

    def _check_contract(self) -> None:
        z_masks, signs = self.z_masks, self.signs
        image = conjugate_by_clifford(self.paulis, self.clifford)
        want = PauliTable.from_bits(np.zeros_like(z_masks), z_masks, np.where(signs < 0, 2, 0))
        same = (
            np.all(image.x_bits == want.x_bits, axis=1)
            & np.all(image.z_bits == want.z_bits, axis=1)
            & (np.asarray(image.phase) % 4 == np.asarray(want.phase) % 4)
        )
        if not same.all():
            k = int(np.flatnonzero(~same)[0])
            raise ValueError(
                f"Diagonalization: the clifford maps paulis[{k}] = {self.paulis[k].label!r} to {image[k].label!r}, "
                f"not to signs[{k}] * Z^z_masks[{k}] = {want[k].label!r}"
            )

    @property
    def n_qubits(self) -> int:
        return self.paulis.n

    def __len__(self) -> int:
        return len(self.paulis)

    @property
    def index_masks(self) -> np.ndarray:
        """(m,) int64 parity masks on statevector indices (qubit q = index bit n-1-q); needs n <= 62.

        The single-shot value of ``P_k`` for basis index ``j`` is
        ``signs[k] * (-1)**popcount(j & index_masks[k])``.
        """
        n = self.n_qubits
        if n > 62:
            raise ValueError(f"Diagonalization.index_masks: statevector masks need n <= 62, got n={n}")
        weights = index_weights(n)
        return (self.z_masks * weights).sum(axis=1).astype(np.int64)

    @property
    def num_two_qubit_gates(self) -> int:
        return sum(1 for op in self.clifford.ops if len(op.qubits) == 2)


# --- tableau conjugation -------------------------------------------------------------------------


def conjugate_by_clifford(paulis: PauliTable, circuit: Circuit) -> PauliTable:
    """``C P C^dag`` for every row ``P`` of ``paulis`` (phases exact), ``C`` a Clifford-only circuit.

    Args:
        paulis: ``m`` strings on ``n`` qubits (any phase).
        circuit: ``Circuit`` of ``Gate`` operations only, on ``n`` qubits; gates act in circuit order.

    Returns:
        PauliTable of the ``m`` images.

    Raises:
        ValueError: the circuit contains a rotation, or the qubit counts differ.
    """
    paulis = as_pauli_table(paulis, where="conjugate_by_clifford")
    if not isinstance(circuit, Circuit):
        raise TypeError(f"conjugate_by_clifford: circuit must be a Circuit, got {type(circuit).__name__}")
    if circuit.n_qubits != paulis.n:
        raise ValueError(f"conjugate_by_clifford: circuit has {circuit.n_qubits} qubits but the Paulis have {paulis.n}")
    for i, op in enumerate(circuit.ops):
        if isinstance(op, Rotation):
            raise ValueError(
                f"conjugate_by_clifford: circuit operation {i} is a Rotation; expected Clifford gates only"
            )
    if len(paulis) == 0:
        return paulis
    x, z = paulis.x_bits.copy(), paulis.z_bits.copy()
    s = np.zeros(len(paulis), dtype=bool)
    for op in circuit.ops:
        conjugate_paulis(x, z, s, op.name, op.qubits)
    return PauliTable.from_bits(x.reshape(-1, paulis.n), z.reshape(-1, paulis.n), paulis.phase + 2 * s)


# --- helpers ------------------------------------------------------------------------------------------


def _qwc_gates(x: np.ndarray, z: np.ndarray) -> list[tuple]:
    """One layer of single-qubit basis changes: H where the letter is X, SDG then H where it is Y."""
    gates: list[tuple] = []
    for q in range(x.shape[1]):
        if np.any(x[:, q] & z[:, q]):
            gates += [("SDG", q), ("H", q)]
        elif np.any(x[:, q]):
            gates.append(("H", q))
    return gates


def _general_gates(gx: np.ndarray, gz: np.ndarray) -> list[tuple]:
    """Clifford gates mapping independent commuting generators (r, n) to Z strings (symplectic reduction)."""
    gx, gz = gx.copy(), gz.copy()
    gates: list[tuple] = []
    sink = np.zeros(gx.shape[0], dtype=bool)

    def apply(name: str, *qubits: int) -> None:
        gates.append((name, *qubits))
        conjugate_paulis(gx, gz, sink, name, qubits)

    r, n = gx.shape
    gx, pivots, gz = rref(gx, gz)
    k = len(pivots)
    if k < r:
        # Rows k.. have no X part; their Z part off the pivots has full rank (commutation with the
        # RREF rows fixes Z on the pivots), so Hadamards on its pivot columns make the X block full rank.
        rest = np.setdiff1d(np.arange(n), pivots)
        _, zpiv, _ = rref(gz[k:][:, rest], gx[k:][:, rest])
        for c in zpiv:
            apply("H", int(rest[c]))
        gx, pivots, gz = rref(gx, gz)
    # X block = identity on the pivot columns: clear the other X columns with CNOTs from the pivots.
    for c in np.setdiff1d(np.arange(n), pivots):
        for i in np.flatnonzero(gx[:, c]):
            apply("CNOT", pivots[i], int(c))
    # Z block on the pivots is symmetric (the rows commute): clear it with S and CZ.
    m = gz[:, pivots].copy()
    for i in range(r):
        if m[i, i]:
            apply("S", pivots[i])
    for i in range(r):
        for j in range(i + 1, r):
            if m[i, j]:
                apply("CZ", pivots[i], pivots[j])
    for p in pivots:
        apply("H", p)
    return gates


def is_qubitwise_commuting(paulis) -> bool:
    """True when on every qubit all non-identity letters of ``paulis`` are the same."""
    table = as_pauli_table(paulis, where="is_qubitwise_commuting")
    if len(table) == 0:
        return True
    x, z = table.x_bits, table.z_bits
    kinds = np.stack([np.any(x & ~z, axis=0), np.any(x & z, axis=0), np.any(~x & z, axis=0)])
    return bool(np.all(kinds.sum(axis=0) <= 1))


def diagonalize_commuting(paulis: PauliTable | Sequence[str]) -> Diagonalization:
    """Clifford circuit and readout map that measure pairwise-commuting Paulis jointly.

    Args:
        paulis: ``m`` Hermitian strings (sign + or -) on ``n`` qubits that commute pairwise; a
            ``PauliTable``, a sequence of labels or ``Pauli`` objects, or a ``PauliSum`` (its strings).

    Returns:
        ``Diagonalization`` with ``C P_k C^dag = signs[k] * Z^{z_masks[k]}``. Qubit-wise commuting
        sets get single-qubit gates only (at most SDG then H per qubit).

    Raises:
        ValueError: a string is not Hermitian, or two strings do not commute (the pair is named).

    Example:
        >>> d = diagonalize_commuting(["XX", "YY", "ZZ"])
        >>> d.signs, d.z_masks.astype(int)  # doctest: +SKIP
    """
    table = as_pauli_table(paulis, where="diagonalize_commuting")
    n, m = table.n, len(table)
    bad = np.flatnonzero(table.phase % 2)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"diagonalize_commuting: paulis[{i}] = {table[i].label!r} is not Hermitian; expected sign + or -"
        )
    if m == 0:
        return Diagonalization(table, Circuit(n), np.zeros((0, n), bool), np.zeros(0, np.int64))
    x, z = table.x_bits, table.z_bits
    gens = independent_rows(np.concatenate([x, z], axis=1))
    if gens.size:
        comm = commutation_matrix(table, table[gens])
        if not comm.all():
            i, j = np.argwhere(~comm)[0]
            i, j = sorted((int(i), int(gens[j])))
            raise ValueError(
                f"diagonalize_commuting: paulis[{i}] = {table[i].label!r} and paulis[{j}] = {table[j].label!r} "
                "do not commute; every pair in a jointly measured group must commute"
            )
    if is_qubitwise_commuting(table):
        gates = _qwc_gates(x, z)
    else:
        gates = _general_gates(x[gens], z[gens])
    clifford = Circuit(n, tuple(Gate(g[0], tuple(int(q) for q in g[1:])) for g in gates), 0)
    image = conjugate_by_clifford(table, clifford)
    signs = np.where(image.phase == 2, -1, 1).astype(np.int64)
    return Diagonalization(table, clifford, image.z_bits, signs)
