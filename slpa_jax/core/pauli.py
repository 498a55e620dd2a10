"""Pauli strings, tables of Pauli strings and Pauli sums in bit-packed symplectic form.

Convention (spec section 1): a label ``P_0 P_1 ... P_{n-1}`` puts ``P_q`` on qubit ``q``; its dense
matrix is ``kron(P_0, ..., P_{n-1})``, so qubit 0 is the most significant bit of a state index.

Representation: qubit ``q`` is bit ``q % 64`` of word ``q // 64`` of the ``x`` and ``z`` arrays
(``uint64``), so the algebra works for any ``n``. The operator of ``(x, z, phase)`` is
``i**phase * prod_q sigma(x_q, z_q)`` with ``sigma(0,0)=I, sigma(1,0)=X, sigma(1,1)=Y, sigma(0,1)=Z``.
Hermitian strings have phase 0 (``+``) or 2 (``-``).

Everything here is host-side numpy: it builds the static data that the JAX kernels consume.

Example:
    >>> (Pauli("XY") * Pauli("ZZ")).label  # X Z = -iY and Y Z = iX, so the phases cancel
    'YX'
    >>> Pauli("XY").commutes(Pauli("ZZ")), Pauli("XI").commutes(Pauli("ZZ"))
    (True, False)
    >>> as_pauli_sum([(0.5, "XX"), (0.25, "ZZ")]).n
    2
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Pauli",
    "PauliTable",
    "PauliSum",
    "as_pauli_sum",
    "as_pauli_table",
    "anticommute_parity",
    "string_keys",
    "commutation_matrix",
    "n_words",
    "index_weights",
]

_LETTERS = "IXYZ"
_X_OF = {"I": 0, "X": 1, "Y": 1, "Z": 0}
_Z_OF = {"I": 0, "X": 0, "Y": 1, "Z": 1}
_PHASE_PREFIX = {"": 0, "+": 0, "i": 1, "+i": 1, "-": 2, "-i": 3}
_PREFIX_OF_PHASE = {0: "", 1: "i", 2: "-", 3: "-i"}
_SINGLE = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
_SPARSE_TERM = re.compile(r"^([IXYZ])(\d+)$")


def n_words(n: int) -> int:
    """Number of uint64 words that hold ``n`` qubits (at least 1)."""
    return max(1, (n + 63) // 64)


def index_weights(n: int) -> np.ndarray:
    """(n,) int64 ``2**(n-1-q)``: the statevector-index bit of qubit q (qubit 0 most significant)."""
    return 1 << np.arange(n - 1, -1, -1, dtype=np.int64)


def _popcount(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total number of set bits of a uint64 array along ``axis``."""
    return np.bitwise_count(a).sum(axis=axis, dtype=np.int64)


def _pack(bits: np.ndarray) -> np.ndarray:
    """(..., n) bool -> (..., n_words(n)) uint64, qubit q at bit q % 64 of word q // 64."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    w = n_words(n)
    padded = np.zeros(bits.shape[:-1] + (w * 64,), dtype=np.uint64)
    padded[..., :n] = bits
    padded = padded.reshape(bits.shape[:-1] + (w, 64))
    shifts = np.arange(64, dtype=np.uint64)
    return np.bitwise_or.reduce(padded << shifts, axis=-1)


def _unpack(words: np.ndarray, n: int) -> np.ndarray:
    """(..., w) uint64 -> (..., n) bool."""
    shifts = np.arange(64, dtype=np.uint64)
    bits = (words[..., :, None] >> shifts) & np.uint64(1)
    return bits.reshape(words.shape[:-1] + (words.shape[-1] * 64,))[..., :n].astype(bool)


def _parse_one(label: str, n: int | None) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Parse a dense (``"-XIZY"``) or sparse (``"X0 Z3"``, needs ``n``) label into bits."""
    if not isinstance(label, str):
        raise TypeError(f"Pauli label: expected a str such as 'XIZY' or 'X0 Z3', got {type(label).__name__}")
    text = label.strip()
    sign = ""
    for prefix in ("-i", "+i", "-", "+", "i"):
        if text.startswith(prefix) and not (prefix == "i" and text[1:2].isdigit()):
            sign, text = prefix, text[len(prefix) :].strip()
            break
    parts = text.split()
    sparse = len(parts) > 1 or (len(parts) == 1 and _SPARSE_TERM.match(parts[0]) is not None)
    if sparse:
        if n is None:
            raise ValueError(f"Pauli label {label!r}: a sparse label needs n_qubits (n=...), got n=None")
        xb = np.zeros(n, dtype=bool)
        zb = np.zeros(n, dtype=bool)
        seen: set[int] = set()
        for part in parts:
            m = _SPARSE_TERM.match(part)
            if m is None:
                raise ValueError(
                    f"Pauli label {label!r}: sparse term {part!r} is not of the form <I|X|Y|Z><qubit>, e.g. 'X0'"
                )
            letter, q = m.group(1), int(m.group(2))
            if q >= n:
                raise ValueError(f"Pauli label {label!r}: qubit {q} out of range for n={n}")
            if q in seen:
                raise ValueError(f"Pauli label {label!r}: qubit {q} appears twice")
            seen.add(q)
            xb[q], zb[q] = _X_OF[letter], _Z_OF[letter]
        return xb, zb, _PHASE_PREFIX[sign], n
    bad = sorted({c for c in text if c not in _LETTERS})
    if bad:
        raise ValueError(f"Pauli label {label!r}: unknown letters {bad}; expected only I, X, Y, Z")
    if n is not None and len(text) != n:
        raise ValueError(f"Pauli label {label!r}: expected length n={n}, got {len(text)}")
    if not text:
        raise ValueError(f"Pauli label {label!r}: empty label")
    xb = np.array([_X_OF[c] for c in text], dtype=bool)
    zb = np.array([_Z_OF[c] for c in text], dtype=bool)
    return xb, zb, _PHASE_PREFIX[sign], len(text)


def _product_phase(x1, z1, k1, x2, z2, k2):
    """Phase exponent (mod 4) and bits of (i^k1 s(x1,z1)) (i^k2 s(x2,z2)); broadcasts."""
    x3, z3 = x1 ^ x2, z1 ^ z2
    k3 = (
        np.asarray(k1, np.int64)
        + np.asarray(k2, np.int64)
        + _popcount(x1 & z1)
        + _popcount(x2 & z2)
        + 2 * _popcount(z1 & x2)
        - _popcount(x3 & z3)
    ) % 4
    return x3, z3, k3


def string_keys(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(m,) opaque byte keys of the packed strings ``(x, z)`` ((m, w) uint64), phases ignored.

    Equal strings have equal keys, so ``np.unique`` / ``np.isin`` on them find duplicates and members.
    """
    both = np.ascontiguousarray(np.concatenate([x, z], axis=1))
    return both.view(np.dtype((np.void, both.shape[1] * 8))).ravel()


def anticommute_parity(x1, z1, x2, z2) -> np.ndarray:
    """1 where the (broadcast) packed strings ``(x1, z1)``, ``(x2, z2)`` (uint64 words) anticommute, 0 else."""
    return _popcount((x1 & z2) ^ (z1 & x2)) & 1


@dataclass(frozen=True, eq=False)
class Pauli:
    """One Pauli string ``i**phase * sigma(x, z)`` on ``n`` qubits (immutable, hashable).

    Build with ``Pauli("XIZY")``, ``Pauli("-X0 Z3", n=5)`` or ``Pauli.from_bits``.
    """

    x: np.ndarray  # (w,) uint64
    z: np.ndarray  # (w,) uint64
    phase: int
    n: int

    def __init__(self, label: str, n: int | None = None):
        xb, zb, phase, n_ = _parse_one(label, n)
        object.__setattr__(self, "x", _pack(xb))
        object.__setattr__(self, "z", _pack(zb))
        object.__setattr__(self, "phase", int(phase))
        object.__setattr__(self, "n", int(n_))

    @classmethod
    def from_words(cls, x: np.ndarray, z: np.ndarray, phase: int, n: int) -> Pauli:
        """Build from packed words (no copy checks beyond shape)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "x", np.asarray(x, dtype=np.uint64).reshape(n_words(n)))
        object.__setattr__(obj, "z", np.asarray(z, dtype=np.uint64).reshape(n_words(n)))
        object.__setattr__(obj, "phase", int(phase) % 4)
        object.__setattr__(obj, "n", int(n))
        return obj

    @classmethod
    def from_bits(cls, x_bits, z_bits, phase: int = 0) -> Pauli:
        """Build from (n,) bool arrays of x and z bits."""
        x_bits = np.asarray(x_bits, dtype=bool)
        return cls.from_words(_pack(x_bits), _pack(np.asarray(z_bits, dtype=bool)), phase, x_bits.shape[-1])

    @classmethod
    def identity(cls, n: int) -> Pauli:
        w = n_words(n)
        return cls.from_words(np.zeros(w, np.uint64), np.zeros(w, np.uint64), 0, n)

    # --- views -----------------------------------------------------------------------------------
    @property
    def x_bits(self) -> np.ndarray:
        return _unpack(self.x, self.n)

    @property
    def z_bits(self) -> np.ndarray:
        return _unpack(self.z, self.n)

    @property
    def letters(self) -> str:
        """The unsigned label, e.g. ``'XIZY'``."""
        codes = self.x_bits.astype(np.int64) + 2 * self.z_bits.astype(np.int64)
        return "".join("IXZY"[c] for c in codes)

    @property
    def label(self) -> str:
        """Signed label, e.g. ``'-XIZY'`` or ``'iXZ'``."""
        return _PREFIX_OF_PHASE[self.phase] + self.letters

    def __repr__(self) -> str:
        return f"Pauli({self.label!r})"

    def __str__(self) -> str:
        return self.label

    def __eq__(self, other) -> bool:
        if not isinstance(other, Pauli):
            return NotImplemented
        return (
            self.n == other.n
            and self.phase == other.phase
            and np.array_equal(self.x, other.x)
            and np.array_equal(self.z, other.z)
        )

    def __hash__(self) -> int:
        return hash((self.n, self.phase, self.x.tobytes(), self.z.tobytes()))

    # --- algebra ---------------------------------------------------------------------------------
    def _check_same_n(self, other: Pauli, what: str) -> None:
        if not isinstance(other, Pauli):
            raise TypeError(f"Pauli.{what}: expected a Pauli, got {type(other).__name__}")
        if other.n != self.n:
            raise ValueError(f"Pauli.{what}: qubit counts differ, {self.n} vs {other.n}")

    def __mul__(self, other: Pauli) -> Pauli:
        """Operator product ``self @ other`` with exact phase."""
        self._check_same_n(other, "__mul__")
        x3, z3, k3 = _product_phase(self.x, self.z, self.phase, other.x, other.z, other.phase)
        return Pauli.from_words(x3, z3, int(k3), self.n)

    __matmul__ = __mul__

    def __neg__(self) -> Pauli:
        return Pauli.from_words(self.x, self.z, self.phase + 2, self.n)

    def unsigned(self) -> Pauli:
        """The same string with phase +1."""
        return Pauli.from_words(self.x, self.z, 0, self.n)

    def commutes(self, other: Pauli) -> bool:
        self._check_same_n(other, "commutes")
        return not bool(anticommute_parity(self.x, self.z, other.x, other.z))

    def anticommutes(self, other: Pauli) -> bool:
        return not self.commutes(other)

    @property
    def weight(self) -> int:
        """Number of qubits on which the string is not I."""
        return int(_popcount(self.x | self.z))

    @property
    def support(self) -> tuple[int, ...]:
        """Qubits on which the string is not I, ascending."""
        return tuple(int(q) for q in np.flatnonzero(self.x_bits | self.z_bits))

    @property
    def is_hermitian(self) -> bool:
        return self.phase % 2 == 0

    @property
    def is_identity(self) -> bool:
        return not (self.x.any() or self.z.any())

    def index_masks(self) -> tuple[int, int, int]:
        """(xmask, zmask, n_y) on state indices: qubit q is index bit n-1-q. Needs n <= 62.

        ``P|j> = i**(phase + n_y) (-1)**popcount(j & zmask) |j ^ xmask>``.
        """
        if self.n > 62:
            raise ValueError(f"index_masks: statevector masks need n <= 62, got n={self.n}")
        weights = index_weights(self.n)
        xb, zb = self.x_bits, self.z_bits
        return int(weights[xb].sum()), int(weights[zb].sum()), int((xb & zb).sum())

    def to_matrix(self) -> np.ndarray:
        """Dense (2^n, 2^n) complex128 matrix ``kron(P_0, ..., P_{n-1})`` times the phase."""
        if self.n > 14:
            raise ValueError(f"to_matrix: dense matrices are for small n (<= 14), got n={self.n}")
        mat = np.ones((1, 1), dtype=complex)
        for c in self.letters:
            mat = np.kron(mat, _SINGLE[c])
        return (1j**self.phase) * mat


@dataclass(frozen=True, eq=False)
class PauliTable:
    """``m`` Pauli strings on ``n`` qubits as packed arrays, for vectorised algebra.

    Attributes:
        x, z: (m, w) uint64 packed bits, ``w = n_words(n)``.
        phase: (m,) int64, power of i.
        n: qubit count.
    """

    x: np.ndarray
    z: np.ndarray
    phase: np.ndarray
    n: int

    def __post_init__(self):
        w = n_words(self.n)
        x = np.asarray(self.x, dtype=np.uint64).reshape(-1, w)
        z = np.asarray(self.z, dtype=np.uint64).reshape(-1, w)
        phase = np.asarray(self.phase, dtype=np.int64).reshape(-1) % 4
        if not (x.shape == z.shape and phase.shape[0] == x.shape[0]):
            raise ValueError(f"PauliTable: inconsistent shapes x{x.shape} z{z.shape} phase{phase.shape}")
        for name, arr in (("x", x), ("z", z), ("phase", phase)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def from_labels(cls, labels: Sequence[str], n: int | None = None) -> PauliTable:
        """Parse dense or sparse labels; all must have the same length (or the given ``n``)."""
        labels = list(labels)
        if not labels:
            if n is None:
                raise ValueError("PauliTable.from_labels: no labels and no n given")
            return cls.empty(n)
        parsed = [_parse_one(lab, n) for lab in labels]
        ns = {p[3] for p in parsed}
        if len(ns) != 1:
            raise ValueError(f"PauliTable.from_labels: labels have different lengths {sorted(ns)}")
        n_ = ns.pop()
        xb = np.stack([p[0] for p in parsed])
        zb = np.stack([p[1] for p in parsed])
        return cls(_pack(xb), _pack(zb), np.array([p[2] for p in parsed]), n_)

    @classmethod
    def from_paulis(cls, paulis: Sequence[Pauli], n: int | None = None) -> PauliTable:
        paulis = list(paulis)
        if not paulis:
            if n is None:
                raise ValueError("PauliTable.from_paulis: no Paulis and no n given")
            return cls.empty(n)
        ns = {p.n for p in paulis}
        if len(ns) != 1:
            raise ValueError(f"PauliTable.from_paulis: Paulis have different n {sorted(ns)}")
        return cls(
            np.stack([p.x for p in paulis]), np.stack([p.z for p in paulis]), [p.phase for p in paulis], ns.pop()
        )

    @classmethod
    def from_bits(cls, x_bits, z_bits, phase=None) -> PauliTable:
        x_bits = np.atleast_2d(np.asarray(x_bits, dtype=bool))
        z_bits = np.atleast_2d(np.asarray(z_bits, dtype=bool))
        m, n = x_bits.shape
        phase = np.zeros(m, np.int64) if phase is None else phase
        return cls(_pack(x_bits), _pack(z_bits), phase, n)

    @classmethod
    def empty(cls, n: int) -> PauliTable:
        w = n_words(n)
        return cls(np.zeros((0, w), np.uint64), np.zeros((0, w), np.uint64), np.zeros(0, np.int64), n)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return Pauli.from_words(self.x[i], self.z[i], int(self.phase[i]), self.n)
        return PauliTable(self.x[i], self.z[i], self.phase[i], self.n)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        shown = ", ".join(self.labels()[:6])
        more = "" if len(self) <= 6 else f", ... ({len(self)} total)"
        return f"PauliTable(n={self.n}, [{shown}{more}])"

    def labels(self) -> list[str]:
        return [p.label for p in self]

    @property
    def x_bits(self) -> np.ndarray:
        """(m, n) bool."""
        return _unpack(self.x, self.n)

    @property
    def z_bits(self) -> np.ndarray:
        return _unpack(self.z, self.n)

    @property
    def weights(self) -> np.ndarray:
        """(m,) number of non-identity qubits per string."""
        return _popcount(self.x | self.z)

    def concat(self, other: PauliTable) -> PauliTable:
        if other.n != self.n:
            raise ValueError(f"PauliTable.concat: qubit counts differ, {self.n} vs {other.n}")
        return PauliTable(
            np.concatenate([self.x, other.x]),
            np.concatenate([self.z, other.z]),
            np.concatenate([self.phase, other.phase]),
            self.n,
        )

    def unsigned(self) -> PauliTable:
        return PauliTable(self.x, self.z, np.zeros(len(self), np.int64), self.n)

    def keys(self) -> list[bytes]:
        """Hashable key per row for the unsigned string (x and z words)."""
        both = np.ascontiguousarray(np.concatenate([self.x, self.z], axis=1))
        return [row.tobytes() for row in both]

    def multiply(self, other: PauliTable) -> PauliTable:
        """Row-wise product ``self[i] @ other[i]`` (broadcast when one table has one row)."""
        if other.n != self.n:
            raise ValueError(f"PauliTable.multiply: qubit counts differ, {self.n} vs {other.n}")
        x3, z3, k3 = _product_phase(self.x, self.z, self.phase, other.x, other.z, other.phase)
        return PauliTable(x3, z3, k3, self.n)

    def index_masks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xmask, zmask, n_y) int64 arrays of shape (m,), as ``Pauli.index_masks``."""
        if self.n > 62:
            raise ValueError(f"index_masks: statevector masks need n <= 62, got n={self.n}")
        weights = index_weights(self.n)
        xb, zb = self.x_bits, self.z_bits
        return (xb * weights).sum(1), (zb * weights).sum(1), (xb & zb).sum(1)


def commutation_matrix(a: PauliTable, b: PauliTable | None = None, *, chunk: int = 2048) -> np.ndarray:
    """(len(a), len(b)) bool matrix, True where ``a[i]`` and ``b[j]`` commute.

    Bit-packed and chunked over rows of ``a`` so memory stays ``chunk * len(b) * w`` words.
    """
    b = a if b is None else b
    if a.n != b.n:
        raise ValueError(f"commutation_matrix: qubit counts differ, {a.n} vs {b.n}")
    out = np.empty((len(a), len(b)), dtype=bool)
    for s in range(0, len(a), chunk):
        xa, za = a.x[s : s + chunk, None, :], a.z[s : s + chunk, None, :]
        out[s : s + chunk] = anticommute_parity(xa, za, b.x[None], b.z[None]) == 0
    return out


@dataclass(frozen=True, eq=False)
class PauliSum:
    """``sum_k coeffs[k] * paulis[k]`` with unsigned strings (signs live in the coefficients).

    Attributes:
        coeffs: (m,) complex128 numpy array.
        paulis: PauliTable with all phases 0.
    """

    coeffs: np.ndarray
    paulis: PauliTable

    def __post_init__(self):
        coeffs = np.asarray(self.coeffs, dtype=np.complex128).reshape(-1)
        if coeffs.shape[0] != len(self.paulis):
            raise ValueError(f"PauliSum: {coeffs.shape[0]} coefficients for {len(self.paulis)} strings")
        coeffs = coeffs * (1j**self.paulis.phase)
        coeffs.setflags(write=False)
        object.__setattr__(self, "coeffs", coeffs)
        object.__setattr__(self, "paulis", self.paulis.unsigned())

    @classmethod
    def from_terms(cls, terms: Iterable[tuple[complex, str | Pauli]], n: int | None = None) -> PauliSum:
        """From ``[(coefficient, label_or_Pauli), ...]``."""
        terms = list(terms)
        coeffs, paulis = [], []
        for t in terms:
            if not (isinstance(t, (tuple, list)) and len(t) == 2) or isinstance(t[0], (str, Pauli)):
                raise ValueError(f"PauliSum.from_terms: each term must be (coefficient, label), got {t!r}")
            c, p = t
            paulis.append(p if isinstance(p, Pauli) else Pauli(p, n))
            coeffs.append(complex(c))
        return cls(np.array(coeffs, dtype=np.complex128), PauliTable.from_paulis(paulis, n))

    @property
    def n(self) -> int:
        return self.paulis.n

    def __len__(self) -> int:
        return len(self.paulis)

    def __repr__(self) -> str:
        terms = [
            f"{c.real:+.6g}{'' if c.imag == 0 else f'{c.imag:+.6g}j'}*{lab}"
            for c, lab in zip(self.coeffs, self.paulis.labels())
        ]
        return f"PauliSum(n={self.n}, {' '.join(terms[:8])}{' ...' if len(terms) > 8 else ''})"

    @property
    def is_hermitian(self) -> bool:
        return bool(np.all(np.abs(self.simplify().coeffs.imag) <= 1e-12))

    def simplify(self, atol: float = 0.0) -> PauliSum:
        """Merge repeated strings; drop terms with ``|c| <= atol``."""
        order: dict[bytes, int] = {}
        idx = []
        for k in self.paulis.keys():
            idx.append(order.setdefault(k, len(order)))
        idx = np.asarray(idx, dtype=np.int64)
        coeffs = np.zeros(len(order), np.complex128)
        np.add.at(coeffs, idx, self.coeffs)
        first = np.unique(idx, return_index=True)[1]
        keep = np.abs(coeffs) > atol
        return PauliSum(coeffs[keep], self.paulis[first[keep]])

    def to_matrix(self) -> np.ndarray:
        dim = 2**self.n
        out = np.zeros((dim, dim), dtype=complex)
        for c, p in zip(self.coeffs, self.paulis):
            out += c * p.to_matrix()
        return out


def as_pauli_table(
    paulis, n: int | None = None, *, where: str = "paulis", single: bool = True, allow_empty: bool = False
) -> PauliTable:
    """The one "anything to a PauliTable" coercer.

    Accepts a PauliTable, a PauliSum (its strings), a Pauli or a label (when ``single``), or a
    sequence of labels / Paulis (signs and phases kept). ``n`` fixes the qubit count (and reads
    sparse labels such as ``"X0 Z3"``); ``where`` prefixes every error.

    Raises:
        TypeError: an unsupported type, a single string where ``single=False``, or a bad entry.
        ValueError: an empty sequence (unless ``allow_empty`` and ``n`` is given), or an entry on the
            wrong number of qubits.
    """
    if isinstance(paulis, PauliSum):
        paulis = paulis.paulis
    if isinstance(paulis, PauliTable):
        table = paulis
    elif isinstance(paulis, (str, Pauli)):
        if not single:
            raise TypeError(
                f"{where}: expected a sequence of Pauli labels, got a single {type(paulis).__name__}; "
                f"wrap it in a list: [{str(paulis)!r}]"
            )
        table = PauliTable.from_paulis([paulis if isinstance(paulis, Pauli) else Pauli(paulis, n)])
    elif isinstance(paulis, Sequence):
        items = list(paulis)
        if not items:
            if allow_empty and n is not None:
                return PauliTable.empty(n)
            raise ValueError(f"{where}: got an empty sequence of Paulis; pass PauliTable.empty(n) for none")
        out = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                item = Pauli(item, n)
            elif not isinstance(item, Pauli):
                raise TypeError(
                    f"{where}: expected a sequence of labels or Paulis; entry {i} must be a Pauli label or Pauli "
                    f"(expected Pauli labels like 'XZ'), got {type(item).__name__}"
                )
            if n is not None and item.n != n:
                raise ValueError(f"{where}: entry {i} {item.label!r} acts on {item.n} qubits, expected n={n}")
            n = item.n
            out.append(item)
        return PauliTable.from_paulis(out, n)
    else:
        raise TypeError(
            f"{where}: expected a PauliTable, PauliSum, Pauli or a sequence of labels, got {type(paulis).__name__}"
        )
    if n is not None and table.n != n:
        raise ValueError(f"{where}: the Paulis act on {table.n} qubits, expected n={n}")
    return table


def as_pauli_sum(observable, n: int | None = None) -> PauliSum:
    """Accept a label, a Pauli, a PauliSum, or a list of (coefficient, label); return a PauliSum.

    Raises:
        ValueError: wrong qubit count, or a non-Hermitian observable.
    """
    if isinstance(observable, PauliSum):
        out = observable
    elif isinstance(observable, Pauli):
        out = PauliSum(np.ones(1), PauliTable.from_paulis([observable]))
    elif isinstance(observable, str):
        out = PauliSum(np.ones(1), PauliTable.from_labels([observable], n))
    elif isinstance(observable, (list, tuple)):
        out = PauliSum.from_terms(observable, n)
    else:
        raise TypeError(
            "observable: expected a label, a Pauli, a PauliSum or a list of (coefficient, label), "
            f"got {type(observable).__name__}"
        )
    if n is not None and out.n != n:
        raise ValueError(f"observable: expected {n} qubits, got {out.n}")
    if not out.is_hermitian:
        raise ValueError(f"observable: must be Hermitian (real coefficients after merging), got {out!r}")
    return out
