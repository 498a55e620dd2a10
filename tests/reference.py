"""Slow, obviously right float64 references: numpy kron + scipy expm. Independent of slpa_jax kernels."""

from __future__ import annotations

import numpy as np
import scipy.linalg

SINGLE = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}

_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_ONE_QUBIT = {
    "H": _H,
    "S": np.diag([1, 1j]),
    "SDG": np.diag([1, -1j]),
    "X": SINGLE["X"],
    "Y": SINGLE["Y"],
    "Z": SINGLE["Z"],
}


def pauli_matrix(letters: str) -> np.ndarray:
    """kron(P_0, ..., P_{n-1}) for an unsigned label."""
    out = np.ones((1, 1), dtype=complex)
    for c in letters:
        out = np.kron(out, SINGLE[c])
    return out


def rotation_matrix(letters: str, theta: float) -> np.ndarray:
    return scipy.linalg.expm(-0.5j * theta * pauli_matrix(letters))


def one_qubit_on(u: np.ndarray, q: int, n: int) -> np.ndarray:
    mats = [np.eye(2)] * n
    mats[q] = u
    out = np.ones((1, 1), dtype=complex)
    for m in mats:
        out = np.kron(out, m)
    return out


def gate_matrix(name: str, qubits, n: int) -> np.ndarray:
    """Dense gate by brute force over basis states (independent of the kernels' tensor tricks)."""
    if name in _ONE_QUBIT:
        return one_qubit_on(_ONE_QUBIT[name], qubits[0], n)
    dim = 2**n
    out = np.zeros((dim, dim), dtype=complex)
    for j in range(dim):
        bits = [(j >> (n - 1 - q)) & 1 for q in range(n)]
        a, b = qubits
        amp = 1.0
        if name == "CNOT":
            if bits[a]:
                bits[b] ^= 1
        elif name == "CZ":
            amp = -1.0 if bits[a] and bits[b] else 1.0
        elif name == "SWAP":
            bits[a], bits[b] = bits[b], bits[a]
        k = sum(bit << (n - 1 - q) for q, bit in enumerate(bits))
        out[k, j] = amp
    return out


def random_label(rng, n: int, weight: int | None = None) -> str:
    weight = int(rng.integers(1, n + 1)) if weight is None else weight
    qubits = rng.choice(n, size=weight, replace=False)
    letters = ["I"] * n
    for q in qubits:
        letters[q] = "XYZ"[rng.integers(3)]
    return "".join(letters)


def random_state(rng, n: int) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


# --- per-qubit brute force for Pauli algebra at any n (no bit packing) ---------------------------

#: (a, b) -> (phase exponent k, letter c) with sigma_a sigma_b = i**k sigma_c, from the 2x2 matrices.
SINGLE_PRODUCT = {}
for _a in "IXYZ":
    for _b in "IXYZ":
        _m = SINGLE[_a] @ SINGLE[_b]
        for _c in "IXYZ":
            for _k in range(4):
                if np.allclose(_m, (1j**_k) * SINGLE[_c]):
                    SINGLE_PRODUCT[_a, _b] = (_k, _c)


def brute_product(k1: int, p1: str, k2: int, p2: str) -> tuple[int, str]:
    """(i**k1 P1)(i**k2 P2) = i**k P3, qubit by qubit with the single-qubit table."""
    k = k1 + k2
    letters = []
    for a, b in zip(p1, p2):
        dk, c = SINGLE_PRODUCT[a, b]
        k += dk
        letters.append(c)
    return k % 4, "".join(letters)


def brute_commutes(p1: str, p2: str) -> bool:
    """True when the number of qubits with two different non-identity letters is even."""
    clashes = sum(1 for a, b in zip(p1, p2) if a != "I" and b != "I" and a != b)
    return clashes % 2 == 0


# --- dense circuits ------------------------------------------------------------------------------


def dense_circuit(ops, n: int, columns: np.ndarray | None = None) -> np.ndarray:
    """Unitary of a list of ``("R", label, theta)`` and ``("G", name, qubits)``, applied in order.

    With ``columns`` (shape (2**n, k)), returns the circuit applied to those columns instead (cheaper).
    """
    u = np.eye(2**n, dtype=complex) if columns is None else np.asarray(columns, dtype=complex)
    for op in ops:
        if op[0] == "R":
            u = rotation_matrix(op[1], op[2]) @ u
        else:
            u = gate_matrix(op[1], op[2], n) @ u
    return u


def dense_observable(terms) -> np.ndarray:
    """sum_k c_k P_k for ``[(c, label), ...]`` with unsigned labels."""
    return sum(c * pauli_matrix(lab) for c, lab in terms)


def dense_expectation(ops, n: int, terms, state: np.ndarray) -> float:
    psi = dense_circuit(ops, n) @ state
    return float(np.real(np.vdot(psi, dense_observable(terms) @ psi)))
