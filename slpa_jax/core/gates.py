"""The Clifford gate table: one record per gate, the single source of every gate's behaviour.

A ``GateSpec`` holds the gate's dense unitary (local qubit order = the gate's qubit order, first
qubit most significant, as everywhere in slpa-jax), its inverse, its OpenQASM / Qiskit name and its
decomposition into fixed Pauli rotations. Everything else is derived from the matrix when the
table is built, so it cannot disagree with it:

- ``conjugation``: the tableau action, ``G P G^dag = sign P'`` for each of the ``4**arity`` local
  Pauli strings (used by ``measure.diagonalize`` and ``conjugate_paulis`` here);
- the statevector kernel ``apply_gate`` (``core.kernels``): a phased permutation when the matrix
  is monomial (X, Y, Z, S, SDG, CNOT, CZ, SWAP), a small dense contraction otherwise (H);
- ``apply_left``: ``G @ m`` on a dense (2**n, k) numpy matrix (``analysis.efficiency``);
- ``phase``: the global phase of the rotation decomposition, ``matrix = phase * R_m ... R_1``
  (``core.sharded`` applies gates on global qubits through their rotations and needs it exactly).

Example:
    >>> GATES["CNOT"].arity, GATES["SDG"].inverse, GATES["CNOT"].qasm
    (2, 'S', 'cx')
    >>> GATES["H"].conjugate_label("X"), GATES["S"].conjugate_label("Y")
    ((1, 'Z'), (-1, 'X'))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["GateSpec", "GATES", "gate_spec", "conjugate_paulis"]

_LETTER = {"I": (0, 0), "X": (1, 0), "Y": (1, 1), "Z": (0, 1)}
_MAT = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
_LETTERS = "IXYZ"


def _pauli_matrix(label: str) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    for ch in label:
        out = np.kron(out, _MAT[ch])
    return out


def _local_labels(k: int) -> list[str]:
    """All ``4**k`` local labels, indexed by ``x bits + z bits`` (see ``_code``)."""
    out = [""] * 4**k
    for idx in range(4**k):
        xs = [(idx >> (2 * k - 1 - q)) & 1 for q in range(k)]
        zs = [(idx >> (k - 1 - q)) & 1 for q in range(k)]
        out[idx] = "".join(_LETTERS[{(0, 0): 0, (1, 0): 1, (1, 1): 2, (0, 1): 3}[(x, z)]] for x, z in zip(xs, zs))
    return out


def _code(label: str) -> int:
    """Index of a local label: x bits (first letter most significant) then z bits."""
    k = len(label)
    code = 0
    for q, ch in enumerate(label):
        x, z = _LETTER[ch]
        code |= (x << (2 * k - 1 - q)) | (z << (k - 1 - q))
    return code


@dataclass(frozen=True)
class GateSpec:
    """One Clifford gate.

    Attributes:
        name: our name (``Gate.name``).
        arity: number of qubits.
        inverse: name of the inverse gate.
        qasm: name in qelib1.inc / stdgates.inc and the ``QuantumCircuit`` method name.
        matrix: (2**arity, 2**arity) complex128 unitary, first gate qubit most significant.
        rotations: ``((local label, angle), ...)`` fixed rotations ``R_P(angle)`` in application
            order whose product equals ``matrix`` up to a global phase.
        conjugation: derived; (4**arity, 2) int array: row ``_code(P)`` is ``(_code(P'), sign)`` with
            ``G P G^dag = sign P'``.
        monomial: derived; ``(perm, phase)`` with ``matrix[perm[j], j] = phase[j]`` the only nonzero
            of column ``j``, or None when the matrix is not monomial.
        pair: derived; ``(d, diag, off)``: every row ``r`` of the matrix is zero outside columns ``r``
            and ``r ^ d`` (one local xor mask ``d`` for all rows), ``diag[r] = matrix[r, r]`` and
            ``off[r] = matrix[r, r ^ d]`` (0 when ``d = 0``), so ``(G s)[r] = diag[r] s[r] + off[r] s[r ^ d]``:
            one pass with one partner read (``kernels.apply_gate_row``). Every gate of the table has one.
        phase: derived; the unit complex number with ``matrix = phase * R_m ... R_1`` for
            ``rotations = ((P_1, a_1), ..., (P_m, a_m))`` and ``R_k = exp(-i a_k P_k / 2)``; snapped to
            the nearest 8th root of unity (every entry of the table has one).
    """

    name: str
    arity: int
    inverse: str
    qasm: str
    matrix: np.ndarray = field(repr=False)
    rotations: tuple[tuple[str, float], ...]
    conjugation: np.ndarray = field(init=False, repr=False)
    monomial: tuple[np.ndarray, np.ndarray] | None = field(init=False, repr=False)
    pair: tuple[int, np.ndarray, np.ndarray] = field(init=False, repr=False)
    phase: complex = field(init=False, repr=False)

    def __post_init__(self):
        u = np.asarray(self.matrix, dtype=complex)
        object.__setattr__(self, "matrix", u)
        labels = _local_labels(self.arity)
        conj = np.zeros((len(labels), 2), dtype=np.int64)
        for i, lab in enumerate(labels):
            img = u @ _pauli_matrix(lab) @ u.conj().T
            for j, cand in enumerate(labels):
                c = np.vdot(_pauli_matrix(cand), img) / 2**self.arity
                if abs(abs(c) - 1) < 1e-9:
                    conj[i] = (j, int(round(c.real)))
                    break
            else:  # pragma: no cover - table entries are Clifford by construction (tested)
                raise ValueError(f"GateSpec {self.name}: the matrix is not Clifford ({lab} maps outside the group)")
        object.__setattr__(self, "conjugation", conj)
        nz = np.abs(u) > 1e-12
        mono = None
        if (nz.sum(axis=0) == 1).all():
            perm = np.argmax(nz, axis=0)
            mono = (perm, u[perm, np.arange(u.shape[1])])
        object.__setattr__(self, "monomial", mono)
        object.__setattr__(self, "pair", _pair_form(self.name, u))
        object.__setattr__(self, "phase", _decomposition_phase(self.name, u, self.rotations))

    def conjugate_label(self, label: str) -> tuple[int, str]:
        """``G P G^dag = sign P'`` for a local label of length ``arity``: returns ``(sign, P')``."""
        j, sign = self.conjugation[_code(label)]
        return int(sign), _local_labels(self.arity)[j]

    def apply_left(self, m: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
        """``G @ m`` for a dense numpy (2**n, k) matrix; ``qubits`` static, qubit q = index bit n-1-q."""
        t = m.reshape((2,) * n + (m.shape[1],))
        u = self.matrix.reshape((2,) * (2 * self.arity))
        out = np.tensordot(u, t, axes=(list(range(self.arity, 2 * self.arity)), list(qubits)))
        out = np.moveaxis(out, list(range(self.arity)), list(qubits))
        return np.ascontiguousarray(out).reshape(m.shape)


def _pair_form(name: str, u: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``GateSpec.pair``: the smallest local xor mask ``d`` with row ``r`` supported on ``{r, r ^ d}``."""
    rows = np.arange(u.shape[0])
    nz = np.abs(u) > 1e-12
    for d in range(u.shape[0]):
        allowed = np.zeros_like(nz)
        allowed[rows, rows] = allowed[rows, rows ^ d] = True
        if not (nz & ~allowed).any():
            off = u[rows, rows ^ d] if d else np.zeros(u.shape[0], complex)
            return d, u[rows, rows].copy(), off
    raise ValueError(f"GateSpec {name}: a row has two nonzeros at different xor distances")  # pragma: no cover


def _decomposition_phase(name: str, u: np.ndarray, rotations) -> complex:
    """``phase`` with ``u = phase * R_m ... R_1`` (see ``GateSpec.phase``), snapped to an 8th root of unity."""
    prod = np.eye(u.shape[0], dtype=complex)
    for label, angle in rotations:
        prod = (np.cos(angle / 2) * np.eye(u.shape[0]) - 1j * np.sin(angle / 2) * _pauli_matrix(label)) @ prod
    phase = np.trace(prod.conj().T @ u) / u.shape[0]
    if not np.allclose(phase * prod, u, atol=1e-9):  # pragma: no cover - table entries are checked by tests
        raise ValueError(f"GateSpec {name}: the rotations do not reproduce the matrix up to a global phase")
    h = float(np.sqrt(0.5))
    roots = (1, complex(h, h), 1j, complex(-h, h), -1, complex(-h, -h), -1j, complex(h, -h))
    root = complex(roots[int(np.round(np.angle(phase) / (np.pi / 4))) % 8])
    return root if abs(root - phase) < 1e-9 else complex(phase)


_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
_HALF_PI = float(np.pi / 2)
_PI = float(np.pi)


def _cnot() -> np.ndarray:
    u = np.eye(4)
    u[[2, 3]] = u[[3, 2]]
    return u


#: name -> GateSpec. The gate set of ``Circuit`` (Clifford gates), in this order.
GATES: dict[str, GateSpec] = {
    g.name: g
    for g in (
        GateSpec("H", 1, "H", "h", _H, (("Z", _PI), ("Y", _HALF_PI))),
        GateSpec("S", 1, "SDG", "s", np.diag([1, 1j]), (("Z", _HALF_PI),)),
        GateSpec("SDG", 1, "S", "sdg", np.diag([1, -1j]), (("Z", -_HALF_PI),)),
        GateSpec("X", 1, "X", "x", _MAT["X"], (("X", _PI),)),
        GateSpec("Y", 1, "Y", "y", _MAT["Y"], (("Y", _PI),)),
        GateSpec("Z", 1, "Z", "z", _MAT["Z"], (("Z", _PI),)),
        # CNOT = exp(i pi (1 - Z_c)(1 - X_t) / 4), control first
        GateSpec("CNOT", 2, "CNOT", "cx", _cnot(), (("ZI", _HALF_PI), ("IX", _HALF_PI), ("ZX", -_HALF_PI))),
        GateSpec("CZ", 2, "CZ", "cz", np.diag([1, 1, 1, -1]), (("ZI", _HALF_PI), ("IZ", _HALF_PI), ("ZZ", -_HALF_PI))),
        # SWAP = exp(i pi (XX + YY + ZZ) / 4) up to a global phase
        GateSpec(
            "SWAP",
            2,
            "SWAP",
            "swap",
            np.eye(4)[[0, 2, 1, 3]],
            (("XX", -_HALF_PI), ("YY", -_HALF_PI), ("ZZ", -_HALF_PI)),
        ),
    )
}


def gate_spec(name: str, where: str = "gate") -> GateSpec:
    """The table entry of ``name``; ValueError listing the gate set otherwise."""
    spec = GATES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"{where}: unknown gate {name!r}; expected one of {list(GATES)}")
    return spec


def conjugate_paulis(x: np.ndarray, z: np.ndarray, s: np.ndarray, name: str, qubits: tuple[int, ...]) -> None:
    """In place: rows ``(x, z, s)`` -> ``G P G^dag`` for the gate ``name`` on ``qubits``.

    ``x, z`` are (m, n) bool with Y = (1, 1) (the Hermitian letter); ``s`` (m,) bool accumulates
    sign flips. Reads the gate's ``conjugation`` table.
    """
    spec = gate_spec(name, "conjugate_paulis")
    k = spec.arity
    qs = list(qubits)
    code = np.zeros(x.shape[0], dtype=np.int64)
    for i, q in enumerate(qs):
        code |= (x[:, q].astype(np.int64) << (2 * k - 1 - i)) | (z[:, q].astype(np.int64) << (k - 1 - i))
    image, sign = spec.conjugation[code, 0], spec.conjugation[code, 1]
    for i, q in enumerate(qs):
        x[:, q] = (image >> (2 * k - 1 - i)) & 1
        z[:, q] = (image >> (k - 1 - i)) & 1
    s ^= sign < 0
