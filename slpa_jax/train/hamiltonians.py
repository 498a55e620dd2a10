"""Hamiltonians as Pauli sums: built-in models, a shipped H2 molecule, file formats, exact energies.

Every builder returns a ``PauliSum`` (qubit q = character q of a label, as everywhere). Built-ins
(``HAMILTONIANS``, by name through ``hamiltonian(name, n, **params)``):

- ``tfim``: ``H = -J sum Z_i Z_{i+1} - h sum X_i``;
- ``xxz``: ``H = J sum (X_i X_{i+1} + Y_i Y_{i+1} + delta Z_i Z_{i+1}) + hz sum Z_i``
  (``heisenberg``: ``delta = 1``);
- ``cluster_ising``: ``H = -J sum Z X Z - h1 sum X_i - h2 sum X_i X_{i+1}`` (the QPR model);
- ``h2``: H2 in STO-3G at 0.7414 A, Jordan-Wigner, 4 qubits, 15 terms (``H2_STO3G_TERMS``).

Files (``load_hamiltonian``): our JSON ``{"n_qubits": n, "terms": [[coefficient, label], ...]}``,
OpenFermion ``QubitOperator`` text (``str(op)``: ``0.17 [Z0] +\\n-0.05 [X0 X1 Y2 Y3]``, ``.txt``), or a
Qiskit ``SparsePauliOp.to_list()`` dump (``[[label, coefficient], ...]`` in JSON with
``"format": "qiskit"``; Qiskit puts qubit 0 on the *right* of a label, so labels are reversed).

``ground_energy(H)``: exact lowest eigenvalue, dense ``eigvalsh`` up to ``DENSE_MAX_QUBITS``, else
``scipy.sparse.linalg.eigsh`` on a sparse matrix built from the index masks.

Example:
    >>> round(ground_energy(hamiltonian("h2")), 6)  # FCI energy of H2/STO-3G at 0.7414 A, hartree
    -1.137284
    >>> hamiltonian("xxz", 4, delta=0.5).n, len(hamiltonian("xxz", 4, delta=0.5))
    (4, 9)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.pauli import PauliSum, as_pauli_sum
from .datasets import cluster_ising_terms

__all__ = [
    "HAMILTONIANS",
    "HamiltonianSpec",
    "H2_STO3G_TERMS",
    "DENSE_MAX_QUBITS",
    "hamiltonian",
    "tfim",
    "xxz",
    "heisenberg",
    "cluster_ising",
    "h2_sto3g",
    "parse_openfermion",
    "from_qiskit_list",
    "load_hamiltonian",
    "save_hamiltonian",
    "sparse_matrix",
    "ground_energy",
]

DENSE_MAX_QUBITS = 10

#: H2, STO-3G basis, bond length 0.7414 A, Jordan-Wigner (spin orbitals 0..3 = qubits 0..3): the
#: qubit Hamiltonian of OpenFermion's shipped molecular data ``H2_sto-3g_singlet_0.7414`` (hartree,
#: nuclear repulsion included in the identity term). Its lowest eigenvalue is the FCI energy
#: -1.137283834 Ha, which the tests check against.
H2_STO3G_TERMS = (
    (-0.09706626816762878, "IIII"),
    (0.17141282644776884, "ZIII"),
    (0.17141282644776884, "IZII"),
    (-0.22343153690813586, "IIZI"),
    (-0.22343153690813586, "IIIZ"),
    (0.16868898170361213, "ZZII"),
    (0.12062523483390425, "ZIZI"),
    (0.16592785033770352, "ZIIZ"),
    (0.16592785033770352, "IZZI"),
    (0.12062523483390425, "IZIZ"),
    (0.17441287612261583, "IIZZ"),
    (-0.04530261550379927, "XXYY"),
    (0.04530261550379927, "XYYX"),
    (0.04530261550379927, "YXXY"),
    (-0.04530261550379927, "YYXX"),
)


def _check_chain(n, boundary: str, where: str, min_n: int = 2) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < min_n:
        raise ValueError(f"{where}: n must be an int >= {min_n}, got {n!r}")
    if boundary not in ("open", "periodic"):
        raise ValueError(f"{where}: boundary must be 'open' or 'periodic', got {boundary!r}")
    if boundary == "periodic" and n < 3:
        raise ValueError(f"{where}: a periodic chain needs n >= 3, got {n}")
    return int(n)


def _label(n: int, ops: dict[int, str]) -> str:
    return "".join(ops.get(q, "I") for q in range(n))


def _bonds(n: int, boundary: str) -> list[tuple[int, int]]:
    return [(i, (i + 1) % n) for i in range(n if boundary == "periodic" else n - 1)]


def _sum(terms, n: int) -> PauliSum:
    return PauliSum.from_terms([(float(c), lab) for c, lab in terms if c != 0], n)


def tfim(n: int, *, J: float = 1.0, h: float = 1.0, boundary: str = "open") -> PauliSum:
    """Transverse-field Ising chain ``-J sum Z_i Z_{i+1} - h sum X_i``."""
    n = _check_chain(n, boundary, "tfim")
    terms = [(-J, _label(n, {i: "Z", j: "Z"})) for i, j in _bonds(n, boundary)]
    return _sum(terms + [(-h, _label(n, {i: "X"})) for i in range(n)], n)


def xxz(n: int, *, J: float = 1.0, delta: float = 1.0, hz: float = 0.0, boundary: str = "open") -> PauliSum:
    """XXZ chain ``J sum (XX + YY + delta ZZ) + hz sum Z_i`` on nearest neighbours."""
    n = _check_chain(n, boundary, "xxz")
    terms = []
    for i, j in _bonds(n, boundary):
        terms += [(J, _label(n, {i: p, j: p})) for p in "XY"] + [(J * delta, _label(n, {i: "Z", j: "Z"}))]
    return _sum(terms + [(hz, _label(n, {i: "Z"})) for i in range(n)], n)


def heisenberg(n: int, *, J: float = 1.0, boundary: str = "open") -> PauliSum:
    """Heisenberg chain ``J sum (XX + YY + ZZ)`` (``xxz`` with ``delta = 1``)."""
    return xxz(n, J=J, delta=1.0, boundary=boundary)


def cluster_ising(n: int, *, h1: float = 0.5, h2: float = 0.0, J: float = 1.0, boundary: str = "periodic") -> PauliSum:
    """Cluster-Ising chain ``-J sum Z_{i-1} X_i Z_{i+1} - h1 sum X_i - h2 sum X_i X_{i+1}``."""
    return _sum(cluster_ising_terms(n, h1, h2, J=J, boundary=boundary), n)


def h2_sto3g(n: int | None = None) -> PauliSum:
    """The shipped 4-qubit H2 Hamiltonian (``H2_STO3G_TERMS``); ``n``, if given, must be 4."""
    if n is not None and n != 4:
        raise ValueError(f"h2_sto3g: the H2/STO-3G Hamiltonian has 4 qubits, got n={n!r}")
    return PauliSum.from_terms(list(H2_STO3G_TERMS), 4)


@dataclass(frozen=True)
class HamiltonianSpec:
    """A catalogue entry: ``build(n, **params) -> PauliSum``, its parameters and a description."""

    name: str
    build: Callable[..., PauliSum]
    params: tuple[str, ...]
    description: str
    fixed_n: int | None = None


#: name -> HamiltonianSpec (the names a config's ``task.hamiltonian`` accepts).
HAMILTONIANS: dict[str, HamiltonianSpec] = {
    s.name: s
    for s in (
        HamiltonianSpec("tfim", tfim, ("J", "h", "boundary"), "transverse-field Ising: -J ZZ - h X"),
        HamiltonianSpec("xxz", xxz, ("J", "delta", "hz", "boundary"), "XXZ chain: J (XX + YY + delta ZZ) + hz Z"),
        HamiltonianSpec("heisenberg", heisenberg, ("J", "boundary"), "Heisenberg chain: J (XX + YY + ZZ)"),
        HamiltonianSpec(
            "cluster_ising", cluster_ising, ("h1", "h2", "J", "boundary"), "cluster-Ising: -J ZXZ - h1 X - h2 XX"
        ),
        HamiltonianSpec("h2", h2_sto3g, (), "H2 / STO-3G at 0.7414 A, Jordan-Wigner (4 qubits)", fixed_n=4),
    )
}


def hamiltonian(name: str, n: int | None = None, **params) -> PauliSum:
    """The built-in Hamiltonian ``name`` on ``n`` qubits with keyword ``params``.

    Raises:
        ValueError: unknown name or parameter, or a qubit count the model does not support.
    """
    spec = HAMILTONIANS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"hamiltonian: unknown name {name!r}; built-in Hamiltonians: {list(HAMILTONIANS)}")
    bad = sorted(set(params) - set(spec.params))
    if bad:
        raise ValueError(f"hamiltonian: {name!r} takes parameters {list(spec.params)}, got unknown {bad}")
    if spec.fixed_n is not None:
        return spec.build(n)
    if n is None:
        raise ValueError(f"hamiltonian: {name!r} needs n (the number of qubits)")
    return spec.build(n, **params)


# --- file formats ----------------------------------------------------------------------------------

_OF_TERM = re.compile(r"^\s*([+-]?\s*[-+0-9.eE]+(?:\s*[+-]\s*[0-9.eE]+j)?|\([^)]*\))\s*\[([^\]]*)\]\s*$")


def _complex(text: str, where: str) -> complex:
    try:
        return complex(text.replace(" ", ""))
    except ValueError as err:
        raise ValueError(f"{where}: cannot read the coefficient {text!r}") from err


def _real(c: complex, what: str, where: str) -> float:
    if abs(np.imag(c)) > 1e-12 * max(1.0, abs(c)):
        raise ValueError(f"{where}: the Hamiltonian must be Hermitian; {what} has complex coefficient {c}")
    return float(np.real(c))


def parse_openfermion(text: str, n: int | None = None, where: str = "parse_openfermion") -> PauliSum:
    """A PauliSum from OpenFermion ``QubitOperator`` text (``str(op)``): terms ``coeff [X0 Y3]`` joined by ``+``.

    ``n`` defaults to the highest qubit index + 1. Coefficients may be complex with zero imaginary part.
    """
    chunks = [c for c in re.split(r"\+\s*\n|\n", text) if c.strip()]
    terms = []
    top = -1
    for i, chunk in enumerate(chunks):
        m = _OF_TERM.match(chunk.strip().rstrip("+").strip())
        if m is None:
            raise ValueError(f"{where}: line {i + 1} {chunk.strip()!r} is not of the form 'coefficient [X0 Z3]'")
        coeff = _real(_complex(m.group(1).strip("()"), where), f"term {m.group(2)!r}", where)
        ops = m.group(2).split()
        for op in ops:
            if not re.fullmatch(r"[XYZ]\d+", op):
                raise ValueError(f"{where}: term {m.group(2)!r}: {op!r} is not of the form X0, Y3, Z12")
            top = max(top, int(op[1:]))
        terms.append((coeff, ops))
    if not terms:
        raise ValueError(f"{where}: no terms found")
    n = top + 1 if n is None else n
    if top >= n:
        raise ValueError(f"{where}: a term acts on qubit {top} but n={n}")
    out = []
    for coeff, ops in terms:
        lab = ["I"] * n
        for op in ops:
            lab[int(op[1:])] = op[0]
        out.append((coeff, "".join(lab)))
    return PauliSum.from_terms(out, n)


def from_qiskit_list(pairs, where: str = "from_qiskit_list") -> PauliSum:
    """A PauliSum from ``SparsePauliOp.to_list()`` pairs ``[(label, coefficient), ...]``.

    Qiskit's label puts qubit 0 rightmost; ours leftmost, so labels are reversed.
    """
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"{where}: entry {i} must be a [label, coefficient] pair, got {pair!r}")
        label, c = pair
        if isinstance(c, (list, tuple)) and len(c) == 2:  # JSON has no complex: [re, im]
            c = complex(c[0], c[1])
        out.append((_real(complex(c), f"term {label!r}", where), label[::-1]))
    if not out:
        raise ValueError(f"{where}: no terms found")
    return PauliSum.from_terms(out)


def load_hamiltonian(path: str, n: int | None = None) -> PauliSum:
    """Read a Hamiltonian file: our JSON, a Qiskit ``to_list`` JSON (``"format": "qiskit"``), or
    OpenFermion text (any other extension). ``n`` checks (or, for OpenFermion, sets) the qubit count.

    Raises:
        ValueError: unreadable file, bad format, a non-Hermitian term, or a qubit-count mismatch
            (messages name the path).
    """
    where = f"load_hamiltonian({path!r})"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise ValueError(f"{where}: cannot read the file: {err.strerror or err}") from err
    if os.path.splitext(path)[1].lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg} at line {err.lineno})") from err
        if not isinstance(data, dict) or "terms" not in data:
            raise ValueError(f"{where}: expected an object with 'terms' (and 'n_qubits' or 'format': 'qiskit')")
        if data.get("format") == "qiskit":
            h = from_qiskit_list(data["terms"], where)
        else:
            try:
                terms = [(_real(complex(c), f"term {lab!r}", where), lab) for c, lab in data["terms"]]
            except (TypeError, ValueError) as err:
                raise ValueError(f"{where}: 'terms' must be [coefficient, label] pairs ({err})") from err
            h = PauliSum.from_terms(terms, data.get("n_qubits"))
    else:
        h = parse_openfermion(text, n, where)
    if n is not None and h.n != n:
        raise ValueError(f"{where}: the Hamiltonian acts on {h.n} qubits, expected n_qubits={n}")
    return h


def save_hamiltonian(h, path: str) -> None:
    """Write ``h`` (anything ``as_pauli_sum`` accepts) as our JSON format."""
    h = as_pauli_sum(h)
    data = {"n_qubits": h.n, "terms": [[float(np.real(c)), p.label.lstrip("+")] for c, p in zip(h.coeffs, h.paulis)]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)


# --- exact energies ---------------------------------------------------------------------------------


def sparse_matrix(h):
    """``scipy.sparse`` CSR (2**n, 2**n) complex matrix of a Pauli sum, built from its index masks."""
    import scipy.sparse

    h = as_pauli_sum(h)
    n = h.n
    idx = np.arange(2**n, dtype=np.int64)
    xs, zs, nys = h.paulis.index_masks()
    phases = np.asarray(h.paulis.phase)
    rows, cols, vals = [], [], []
    for c, x, z, ny, ph in zip(h.coeffs, xs, zs, nys, phases):
        sign = 1.0 - 2.0 * (np.bitwise_count(idx & int(z)) & 1)
        rows.append(idx ^ int(x))
        cols.append(idx)
        vals.append(complex(c) * (1j ** int(ny + ph)) * sign)
    dim = 2**n
    return scipy.sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim)
    ).tocsr()


def ground_energy(h, k: int = 1):
    """The ``k`` lowest eigenvalues of ``h`` (float for ``k = 1``, else (k,) array), exact.

    Dense ``numpy.linalg.eigvalsh`` up to ``DENSE_MAX_QUBITS`` qubits, else ``scipy.sparse.linalg.eigsh``.
    """
    h = as_pauli_sum(h)
    if h.n <= DENSE_MAX_QUBITS:
        vals = np.linalg.eigvalsh(h.to_matrix())[:k]
    else:
        from scipy.sparse.linalg import eigsh

        vals = np.sort(eigsh(sparse_matrix(h), k=k, which="SA", return_eigenvectors=False))
    return float(vals[0]) if k == 1 else np.asarray(vals, dtype=np.float64)
