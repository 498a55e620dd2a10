"""Data sets: the Fig. 4 symmetric-unitary regression task and cluster-Ising phase recognition.

Both return a ``Dataset`` of host-side float64/complex128 numpy arrays: data states enter the QNN as
its initial state (no encoding layer), as in the paper.

* ``symmetric_unitary_task`` (spec section 5, Fig. 4), for any even ``n``: the target
  ``U_T = V diag(u_1, u_2, u_3, u_4) V^dag`` commutes with ``S = {I, X^n, Y^n, Z^n}``. ``V`` is an
  eigenbasis of ``Z^n + 0.5 X^n`` (eigenvalues -1.5, -0.5, 0.5, 1.5, each a ``2^(n-2)``-dimensional
  (Z^n, X^n) sector) and the ``u_i`` are Haar-random ``2^(n-2)``-dimensional unitaries. Inputs are
  Haar-random single-qubit product states; labels ``y = <psi| U_T^dag O U_T |psi>`` (default
  ``O = X_0 X_1``), exact in float64. ``U_T`` is applied block by block, never as a dense matrix.
* ``cluster_ising_qpr`` (spec section 6; Cong, Choi, Lukin, Nat. Phys. 15, 1273 (2019)): ground
  states of ``H = -J sum Z_{i-1} X_i Z_{i+1} - h1 sum X_i - h2 sum X_i X_{i+1}`` by sparse exact
  diagonalisation, labelled +1 in the SPT (cluster) phase and -1 in the paramagnetic phase. See its
  docstring for the sector, boundary and labelling conventions.
* ``encode_features``: classical feature vectors ``x`` through a data-encoding circuit of Pauli
  rotations with angles ``scale * x[feature] + offset`` (``tasks.encoding_circuit`` builds it from a
  config), applied to ``|0...0>``: the encoded states are ordinary data states, so every estimator
  takes them unchanged.

Randomness: a keyword-only jax ``key`` (or an int seed) seeds a numpy ``Generator``; same key, same
data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ..blocks.ansatze import qpr_symmetry_generators
from ..core.circuit import Circuit, Rotation
from ..core.keys import numpy_rng, raw_key
from ..core.pauli import Pauli, PauliTable, as_pauli_sum

__all__ = [
    "Dataset",
    "symmetric_unitary_task",
    "symmetric_target_unitary",
    "haar_unitary",
    "haar_product_states",
    "pauli_expectations_np",
    "cluster_ising_terms",
    "cluster_ising_hamiltonian",
    "cluster_ising_ground_state",
    "cluster_ising_qpr",
    "ground_state_task",
    "encode_features",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test data states with real labels.

    Attributes:
        train_states: (N_train, 2**n) complex128 normalised statevectors.
        train_labels: (N_train,) float64.
        test_states: (N_test, 2**n) complex128.
        test_labels: (N_test,) float64.
        train_points, test_points: optional (N, k) float64 task parameters of each sample
            (QPR: columns ``(h1, h2)``); None for the symmetric-unitary task.
    """

    train_states: np.ndarray
    train_labels: np.ndarray
    test_states: np.ndarray
    test_labels: np.ndarray
    train_points: np.ndarray | None = None
    test_points: np.ndarray | None = None

    def __post_init__(self):
        for part in ("train", "test"):
            s = np.asarray(getattr(self, f"{part}_states"))
            y = np.asarray(getattr(self, f"{part}_labels"))
            if s.ndim != 2 or s.shape[1] < 2 or s.shape[1] & (s.shape[1] - 1):
                raise ValueError(f"Dataset: {part}_states must have shape (N, 2**n), got {s.shape}")
            if y.shape != (s.shape[0],):
                raise ValueError(f"Dataset: {part}_labels must have shape ({s.shape[0]},), got {y.shape}")
            object.__setattr__(self, f"{part}_states", s)
            object.__setattr__(self, f"{part}_labels", y)
        if self.train_states.shape[1] != self.test_states.shape[1]:
            raise ValueError(
                f"Dataset: train and test states differ in dimension, {self.train_states.shape[1]} vs "
                f"{self.test_states.shape[1]}"
            )

    @property
    def n_qubits(self) -> int:
        return int(self.train_states.shape[1]).bit_length() - 1

    @property
    def n_train(self) -> int:
        return int(self.train_states.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_states.shape[0])


# --- randomness ----------------------------------------------------------------------------------


def _split_key(key, where: str):
    """Two independent keys from one key or int seed: (target, data)."""
    return tuple(jax.random.split(raw_key(key, where)))


def haar_unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    """(d, d) Haar-random unitary: QR of a complex Ginibre matrix with the phases of R fixed (Mezzadri)."""
    z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2.0)
    q, r = np.linalg.qr(z)
    diag = np.diag(r)
    return q * (diag / np.abs(diag))[None, :]


def haar_product_states(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 2**n) products of independent Haar-random single-qubit states (qubit 0 most significant)."""
    v = rng.standard_normal((count, n, 2)) + 1j * rng.standard_normal((count, n, 2))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    out = v[:, 0, :]
    for q in range(1, n):
        out = (out[:, :, None] * v[:, q, None, :]).reshape(count, -1)
    return out


def pauli_expectations_np(states: np.ndarray, observable, n: int) -> np.ndarray:
    """(N,) real ``<psi|O|psi>`` for each row of ``states`` (float64 numpy, via index masks)."""
    obs = as_pauli_sum(observable, n)
    states = np.asarray(states, dtype=np.complex128)
    idx = np.arange(2**n, dtype=np.int64)
    xs, zs, nys = obs.paulis.index_masks()
    out = np.zeros(states.shape[0], dtype=np.complex128)
    for c, x, z, ny in zip(obs.coeffs, xs, zs, nys):
        src = idx ^ x
        parity = (np.bitwise_count(src & z) & 1).astype(np.int64)
        o_psi = (1j**ny) * (1 - 2 * parity)[None, :] * states[:, src]
        out += c * np.einsum("ni,ni->n", states.conj(), o_psi)
    return out.real


# --- Fig. 4: symmetric-unitary task ---------------------------------------------------------------


def _check_even_n(n, where: str) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2 or n % 2:
        raise ValueError(f"{where}: n must be an even int >= 2 (S = {{I, X^n, Y^n, Z^n}}), got {n!r}")
    if n > 16:
        raise ValueError(f"{where}: n must be <= 16 (Haar blocks of size 2^(n-2)), got {n}")


def _sectors(n: int) -> list[tuple[float, int, np.ndarray]]:
    """The four (Z^n, X^n) sectors in ascending order of ``Z^n + 0.5 X^n``.

    Returns ``[(b, ...), ...]`` as ``(eigenvalue, b, reps)``: the sector's orthonormal basis is
    ``(|j> + b |~j>) / sqrt(2)`` for ``j`` in ``reps`` (index parity fixed by the Z^n eigenvalue a,
    leading bit 0), ``~j`` the complement of ``j`` (X^n flips every bit).
    """
    idx = np.arange(2 ** (n - 1), dtype=np.int64)  # leading bit (qubit 0) = 0
    parity = np.bitwise_count(idx) & 1
    out = []
    for a, b in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
        reps = idx[parity == (0 if a == 1 else 1)]
        out.append((a + 0.5 * b, b, reps))
    return out


def _target_blocks(n: int, target_key) -> list[np.ndarray]:
    rng = numpy_rng(target_key, "symmetric_unitary_task")
    d = 2 ** (n - 2)
    return [haar_unitary(d, rng) for _ in range(4)]


def _apply_symmetric(n: int, blocks: list[np.ndarray], states: np.ndarray) -> np.ndarray:
    """Rows of ``states`` mapped by ``U_T = V diag(blocks) V^dag`` (sector by sector)."""
    full = 2**n - 1
    out = np.zeros_like(states, dtype=np.complex128)
    r2 = np.sqrt(0.5)
    for (_, b, reps), u in zip(_sectors(n), blocks):
        comp = reps ^ full
        c = (states[:, reps] + b * states[:, comp]) * r2
        c = c @ u.T
        out[:, reps] += c * r2
        out[:, comp] += b * c * r2
    return out


def symmetric_target_unitary(n: int = 4, *, key) -> np.ndarray:
    """Dense (2**n, 2**n) target ``U_T`` of ``symmetric_unitary_task`` for ``target_key=key``.

    For tests and small ``n``; the task itself never forms this matrix.
    """
    _check_even_n(n, "symmetric_target_unitary")
    blocks = _target_blocks(n, key)
    return _apply_symmetric(n, blocks, np.eye(2**n, dtype=np.complex128)).T


def symmetric_unitary_task(
    n: int = 4, n_train: int = 50, n_test: int = 50, *, key, target_key=None, observable=None
) -> Dataset:
    """The Fig. 4 task: learn ``y = <psi| U_T^dag O U_T |psi>`` for a hidden S-symmetric ``U_T``.

    Args:
        n: even qubit count (paper: 4).
        n_train, n_test: sample counts (paper: 50 and 50).
        key: jax PRNG key or int. Without ``target_key`` it is split into (target, data) keys.
        target_key: optional separate key for the hidden unitary (fix the target, vary the data).
        observable: label or Pauli sum, default ``"XX" + "I" * (n - 2)``.

    Returns:
        ``Dataset`` with Haar-random product states (train first, then test, from the data key)
        and exact float64 labels in [-1, 1].
    """
    _check_even_n(n, "symmetric_unitary_task")
    for name, v in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"symmetric_unitary_task: {name} must be an int >= 1, got {v!r}")
    if target_key is None:
        target_key, data_key = _split_key(key, "symmetric_unitary_task")
    else:
        data_key = key
    obs = as_pauli_sum("XX" + "I" * (n - 2) if observable is None else observable, n)
    blocks = _target_blocks(n, target_key)
    rng = numpy_rng(data_key, "symmetric_unitary_task")
    train = haar_product_states(n, n_train, rng)
    test = haar_product_states(n, n_test, rng)
    y_train = pauli_expectations_np(_apply_symmetric(n, blocks, train), obs, n)
    y_test = pauli_expectations_np(_apply_symmetric(n, blocks, test), obs, n)
    return Dataset(train, y_train, test, y_test)


# --- cluster-Ising quantum phase recognition ------------------------------------------------------


def _check_boundary(n: int, boundary: str, where: str) -> None:
    if boundary not in ("open", "periodic"):
        raise ValueError(f"{where}: boundary must be 'open' or 'periodic', got {boundary!r}")
    if boundary == "periodic" and (n < 4 or n % 2):
        raise ValueError(f"{where}: periodic boundary needs an even n >= 4 (two sublattices), got n={n}")
    if n < 3:
        raise ValueError(f"{where}: n must be >= 3, got {n}")


def cluster_ising_terms(n: int, h1: float, h2: float, *, J: float = 1.0, boundary: str = "periodic"):
    """``[(coefficient, label), ...]`` of the cluster-Ising Hamiltonian.

    ``H = -J sum_i Z_{i-1} X_i Z_{i+1} - h1 sum_i X_i - h2 sum_i X_i X_{i+1}``. Open boundary: the
    three-body term for ``i = 1..n-2`` and the two-body term for ``i = 0..n-2``; periodic: all
    indices mod n.
    """
    _check_boundary(n, boundary, "cluster_ising_terms")
    terms = []

    def lab(ops: dict) -> str:
        return "".join(ops.get(q, "I") for q in range(n))

    centres = range(n) if boundary == "periodic" else range(1, n - 1)
    for i in centres:
        terms.append((-J, lab({(i - 1) % n: "Z", i: "X", (i + 1) % n: "Z"})))
    for i in range(n):
        terms.append((-h1, lab({i: "X"})))
    pairs = range(n) if boundary == "periodic" else range(n - 1)
    for i in pairs:
        terms.append((-h2, lab({i: "X", (i + 1) % n: "X"})))
    return terms


def cluster_ising_hamiltonian(n: int, h1: float, h2: float, *, J: float = 1.0, boundary: str = "periodic"):
    """Sparse (2**n, 2**n) real CSR matrix of the cluster-Ising Hamiltonian (see ``cluster_ising_terms``)."""
    terms = cluster_ising_terms(n, h1, h2, J=J, boundary=boundary)
    table = PauliTable.from_labels([t[1] for t in terms], n)
    xs, zs, _ = table.index_masks()
    idx = np.arange(2**n, dtype=np.int64)
    rows, cols, vals = [], [], []
    for (c, _), x, z in zip(terms, xs, zs):  # no Y: every term is real
        if c == 0:
            continue
        rows.append(idx ^ x)
        cols.append(idx)
        vals.append(c * (1.0 - 2.0 * (np.bitwise_count(idx & z) & 1)))
    dim = 2**n
    if not rows:
        return scipy.sparse.csr_matrix((dim, dim))
    return scipy.sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim)
    ).tocsr()


def _symmetric_sector_isometry(n: int):
    """(2**n, 2**(n-2)) sparse isometry onto the sector ``X_even = X_odd = +1``."""
    even, odd = qpr_symmetry_generators(n)
    me = int(Pauli(even).index_masks()[0])
    mo = int(Pauli(odd).index_masks()[0])
    idx = np.arange(2**n, dtype=np.int64)
    q0, q1 = 1 << (n - 1), 1 << (n - 2)  # index bits of qubits 0 (even) and 1 (odd)
    reps = idx[(idx & (q0 | q1)) == 0]  # one representative per orbit {j, j^me, j^mo, j^me^mo}
    cols = np.repeat(np.arange(reps.size), 4)
    rows = np.stack([reps, reps ^ me, reps ^ mo, reps ^ me ^ mo], axis=1).ravel()
    return scipy.sparse.csr_matrix((np.full(rows.size, 0.5), (rows, cols)), shape=(2**n, reps.size))


def cluster_ising_ground_state(
    n: int, h1: float, h2: float = 0.0, *, J: float = 1.0, boundary: str = "periodic"
) -> tuple[float, np.ndarray]:
    """Lowest eigenpair of H in the symmetric sector ``X_even = X_odd = +1``: ``(energy, (2**n,) state)``.

    The sector makes the state unique and reproducible where the full ground space is (nearly)
    degenerate (SPT edge modes with open boundaries). Along ``h2 = 0`` with periodic boundaries it
    is the global ground state. Sparse ``eigsh`` (deterministic start vector) for sector dimension
    > 64, dense ``eigh`` below. The global sign is fixed so the largest-modulus amplitude is positive.
    """
    h = cluster_ising_hamiltonian(n, h1, h2, J=J, boundary=boundary)
    w = _symmetric_sector_isometry(n)
    hs = (w.T @ h @ w).tocsr()
    dim = hs.shape[0]
    if dim <= 64:
        evals, evecs = np.linalg.eigh(hs.toarray())
        e, v = evals[0], evecs[:, 0]
    else:
        v0 = np.ones(dim) / np.sqrt(dim)
        evals, evecs = scipy.sparse.linalg.eigsh(hs, k=1, which="SA", v0=v0, tol=1e-12)
        e, v = evals[0], evecs[:, 0]
    psi = w @ v
    psi /= np.linalg.norm(psi)
    psi *= np.sign(psi[np.argmax(np.abs(psi))])
    return float(e), psi.astype(np.complex128)


def cluster_ising_qpr(
    n: int = 8,
    n_train: int = 40,
    n_test: int = 40,
    *,
    key,
    h1_range: tuple[float, float] = (0.0, 2.0),
    h2: float = 0.0,
    J: float = 1.0,
    boundary: str = "periodic",
    sampling: str = "random",
) -> Dataset:
    """Binary phase recognition on the cluster-Ising chain (labels +1 SPT, -1 paramagnetic).

    Points lie on the line ``h2 = 0`` (the default, and the only value accepted), where the model
    is exactly solvable (Jordan-Wigner) and the SPT-paramagnet transition sits at ``h1 / J = 1``
    in the thermodynamic limit; Cong, Choi and Lukin train their QCNN on this line. Off this line
    their phase boundaries (SPT / paramagnet / antiferromagnet, Fig. 2) are numerical (DMRG), so
    this function does not label them. Label: +1 if ``h1 < J`` else -1.

    Args:
        n: qubits (even, >= 4 for periodic boundaries).
        n_train, n_test: sample counts.
        key: jax PRNG key or int; draws the h1 values (``sampling="random"``: uniform in
            ``h1_range``, train then test).
        h1_range: (low, high) with 0 <= low < high.
        h2: must be 0.0 (see above).
        J: cluster coupling, > 0.
        boundary: "periodic" (default) or "open".
        sampling: "random" or "grid" (``n_train`` / ``n_test`` evenly spaced points in ``h1_range``).

    Returns:
        ``Dataset`` of symmetric-sector ground states (``cluster_ising_ground_state``) with
        ``train_points`` / ``test_points`` = (N, 2) arrays of ``(h1, h2)``.
    """
    _check_boundary(n, boundary, "cluster_ising_qpr")
    if h2 != 0.0:
        raise ValueError(
            f"cluster_ising_qpr: h2 must be 0.0 (labels are exact only on the solvable line h2 = 0), got {h2!r}"
        )
    if not (J > 0):
        raise ValueError(f"cluster_ising_qpr: J must be > 0, got {J!r}")
    lo, hi = (float(v) for v in h1_range)
    if not (0.0 <= lo < hi):
        raise ValueError(f"cluster_ising_qpr: h1_range must satisfy 0 <= low < high, got {h1_range!r}")
    for name, v in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"cluster_ising_qpr: {name} must be an int >= 1, got {v!r}")
    if sampling == "random":
        rng = numpy_rng(key, "cluster_ising_qpr")
        h_train = rng.uniform(lo, hi, n_train)
        h_test = rng.uniform(lo, hi, n_test)
    elif sampling == "grid":
        h_train = np.linspace(lo, hi, n_train)
        h_test = np.linspace(lo, hi, n_test)
    else:
        raise ValueError(f"cluster_ising_qpr: sampling must be 'random' or 'grid', got {sampling!r}")
    for h in (h_train, h_test):
        if np.any(h == J):
            raise ValueError(f"cluster_ising_qpr: a sample lies exactly on the critical point h1 = J = {J}")

    def make(hs):
        states = np.stack([cluster_ising_ground_state(n, h, 0.0, J=J, boundary=boundary)[1] for h in hs])
        labels = np.where(hs < J, 1.0, -1.0)
        points = np.stack([hs, np.zeros_like(hs)], axis=1)
        return states, labels, points

    s_tr, y_tr, p_tr = make(h_train)
    s_te, y_te, p_te = make(h_test)
    return Dataset(s_tr, y_tr, s_te, y_te, p_tr, p_te)


def ground_state_task(n: int, initial_state=None) -> Dataset:
    """The "data" of a variational ground-state search: one sample, the initial state, label 0.

    Train with ``loss="energy"`` and the Hamiltonian as the model's observable: the train (and test)
    loss is then the exact energy ``<psi(theta)| H |psi(theta)>`` of the prepared state.

    Args:
        n: qubit count.
        initial_state: (2**n,) normalised state, default ``|0...0>``.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"ground_state_task: n must be a positive int, got {n!r}")
    if initial_state is None:
        psi = np.zeros(2**n, np.complex128)
        psi[0] = 1.0
    else:
        psi = np.asarray(initial_state, np.complex128)
        if psi.shape != (2**n,):
            raise ValueError(f"ground_state_task: initial_state must have shape ({2**n},), got {psi.shape}")
        if not np.isclose(np.linalg.norm(psi), 1.0, atol=1e-8):
            raise ValueError(f"ground_state_task: initial_state must be normalised, got norm {np.linalg.norm(psi):.6g}")
    states, labels = psi[None], np.zeros(1)
    return Dataset(states, labels, states.copy(), labels.copy())


# --- classical features through an encoding circuit -----------------------------------------------


def encode_features(features, encoding: Circuit, where: str = "encode_features") -> np.ndarray:
    """Data states ``U_enc(x) |0...0>`` of classical feature vectors, in float64 numpy.

    ``encoding`` is a rotation-only ``Circuit`` whose parameter ``j`` is feature ``j``: a rotation
    ``Rotation(P, param=j, scale=s, offset=o)`` is ``R_P(s * x[j] + o) = exp(-i (s x[j] + o) P / 2)``
    (a fixed rotation has ``param=None``). Each rotation is one pass over the states
    (``cos(t/2) psi - i sin(t/2) P psi``), vectorised over the samples; nothing is jitted.

    Args:
        features: (N, d) real, finite; ``d == encoding.n_params``.
        encoding: the encoding circuit (``tasks.encoding_circuit``).
        where: prefix of every error.

    Returns:
        (N, 2**n) complex128 normalised states.

    Raises:
        ValueError: features not (N, d) real and finite (the message names the first bad sample and
            feature), ``d`` different from the circuit's feature count, or Clifford gates in the circuit.
    """
    if not isinstance(encoding, Circuit):
        raise TypeError(f"{where}: encoding must be a Circuit, got {type(encoding).__name__}")
    x = np.asarray(features)
    if x.ndim != 2 or not (np.issubdtype(x.dtype, np.number) and not np.iscomplexobj(x)):
        raise ValueError(f"{where}: features must be a real (N, n_features) array, got shape {x.shape} {x.dtype}")
    x = x.astype(np.float64)
    if x.shape[1] != encoding.n_params:
        raise ValueError(
            f"{where}: expected {encoding.n_params} features per sample (the encoding reads features "
            f"0..{encoding.n_params - 1}), got {x.shape[1]}"
        )
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(f"{where}: features must be finite; sample {i} feature {j} is {x[i, j]}")
    n = encoding.n_qubits
    idx = np.arange(2**n, dtype=np.int64)
    psi = np.zeros((x.shape[0], 2**n), np.complex128)
    psi[:, 0] = 1.0
    for k, op in enumerate(encoding.ops):
        if not isinstance(op, Rotation):
            raise ValueError(f"{where}: operation {k} is a {op.name} gate; an encoding circuit holds rotations only")
        theta = op.offset + (0.0 if op.param is None else op.scale * x[:, op.param])
        xm, zm, ny = op.pauli.index_masks()
        src = idx ^ int(xm)
        sign = 1.0 - 2.0 * (np.bitwise_count(src & int(zm)) & 1)  # (P psi)[k] = i^ny (-1)^|(k^x)&z| psi[k^x]
        p_psi = (1j ** int(ny)) * sign[None, :] * psi[:, src]
        half = np.asarray(theta, np.float64)[..., None] / 2
        psi = np.cos(half) * psi - 1j * np.sin(half) * p_psi
    return psi
