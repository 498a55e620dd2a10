"""The task catalogue: what a config's ``task.kind`` builds. Adding a task is one entry of ``TASKS``.

A task turns the ``task:`` section of a config into a ``datasets.Dataset`` and says which qubit
counts it supports, its default loss, and (for a Hamiltonian task) the observable the models must
measure. Entries:

- ``symmetric_unitary``: the paper's Fig. 4 task (labels from a hidden symmetric unitary);
- ``cluster_ising_qpr``: quantum phase recognition on the cluster-Ising chain;
- ``ground_state``: a variational ground state of ``task.hamiltonian`` (loss ``energy``);
- ``file``: states and labels from an ``.npz`` file (``task.path``);
- ``features``: classical feature vectors from an ``.npz`` file (``task.path``: ``features`` (N, d),
  ``labels``, optional ``split``) encoded by ``task.encoding`` (``encoding_circuit``) into data states.

``task.hamiltonian`` is ``{name: xxz, delta: 0.5, ...}`` (``hamiltonians.HAMILTONIANS``), ``{file: PATH}``
(``hamiltonians.load_hamiltonian``) or ``{terms: [[coefficient, label], ...]}``.

The ``.npz`` file holds ``states`` (N, 2**n) complex, ``labels`` (N,) real and optionally ``split``
(N,) with 0/``"train"`` for training and 1/``"test"`` for test samples (default: the first
``n_train`` samples train, the next ``n_test`` test). A ``features`` file holds ``features`` (N, d) real instead
of ``states``.

``task.encoding`` (the ``features`` task) is a list of rotations, each ``{pauli: Y0, feature: 0,
scale: 3.14, offset: 0.0}`` (angle ``scale * x[feature] + offset``; ``pauli`` dense ``YIII`` or
sparse ``Y0``, ``Z0 Z1``; ``scale`` default 1, ``offset`` 0) or ``{pauli: X1, angle: 0.5}`` (fixed), or
the short form ``{each_qubit: Y, scale: 3.14, offset: 0.0}``: ``R_Y(scale * x[q] + offset)`` on every
qubit q, one feature per qubit (``each_qubit: YZ`` applies R_Y then R_Z, both with feature q).

Example:
    >>> TASKS["ground_state"].loss, TASKS["symmetric_unitary"].loss
    ('energy', 'mse')
    >>> task_hamiltonian({"name": "tfim", "h": 0.5}, 3).n
    3
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..blocks.ansatze import qpr_symmetry_generators
from ..core.circuit import Circuit
from ..core.pauli import Pauli, PauliSum, PauliTable, commutation_matrix
from . import datasets
from .hamiltonians import hamiltonian, load_hamiltonian, sparse_matrix

__all__ = [
    "TaskSpec",
    "TASKS",
    "task_spec",
    "task_hamiltonian",
    "load_npz_task",
    "load_features_task",
    "feature_count",
    "encoding_circuit",
    "ENCODING_KEYS",
    "build_task",
    "initial_state",
]


@dataclass(frozen=True)
class TaskSpec:
    """One task kind.

    Attributes:
        name: the config's ``task.kind``.
        build: ``build(n_qubits, n_train, n_test, data_seed, hamiltonian, path, base_dir) -> Dataset``.
        qubits: ``(ok(n) -> bool, expected text)``.
        loss: the default ``train.loss``.
        description: one line for help texts.
        needs: task keys that must be set (``hamiltonian``, ``path``, ``encoding``).
        symmetry: ``symmetry(n) -> labels`` of the stabilizer generators the task's labels respect
            (the ``symmetric_slpa`` ansatz uses them); None when unknown (a Hamiltonian task finds
            its symmetry from the Hamiltonian).
    """

    name: str
    build: Callable[..., datasets.Dataset]
    qubits: tuple[Callable[[int], bool], str]
    loss: str
    description: str
    needs: tuple[str, ...] = ()
    symmetry: Callable[[int], list[str]] | None = None


def task_hamiltonian(spec, n_qubits: int | None, where: str = "task.hamiltonian", base_dir: str = ".") -> PauliSum:
    """The PauliSum of a ``task.hamiltonian`` mapping (see the module docstring).

    Raises:
        ValueError: not a mapping with exactly one of ``name``, ``file``, ``terms``; or what the
            builder / reader rejects (a wrong qubit count, a non-Hermitian term, an unknown parameter).
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: expected a mapping with 'name', 'file' or 'terms', got {spec!r}")
    given = [k for k in ("name", "file", "terms") if k in spec]
    if len(given) != 1:
        raise ValueError(f"{where}: give exactly one of 'name', 'file' or 'terms', got keys {sorted(spec)}")
    try:
        if "name" in spec:
            params = {k: v for k, v in spec.items() if k != "name"}
            h = hamiltonian(spec["name"], n_qubits, **params)
        elif "file" in spec:
            extra = sorted(set(spec) - {"file"})
            if extra:
                raise ValueError(f"unknown key(s) {extra} beside 'file'")
            h = load_hamiltonian(os.path.join(base_dir, str(spec["file"])), n_qubits)
        else:
            extra = sorted(set(spec) - {"terms"})
            if extra:
                raise ValueError(f"unknown key(s) {extra} beside 'terms'")
            terms = spec["terms"]
            if not isinstance(terms, list) or not all(isinstance(t, (list, tuple)) and len(t) == 2 for t in terms):
                raise ValueError(f"'terms' must be a list of [coefficient, label] pairs, got {terms!r}")
            h = PauliSum.from_terms([(float(c), str(lab)) for c, lab in terms], n_qubits)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from err
    if n_qubits is not None and h.n != n_qubits:
        raise ValueError(f"{where}: the Hamiltonian acts on {h.n} qubits, expected task.n_qubits={n_qubits}")
    if not h.is_hermitian:
        raise ValueError(f"{where}: the Hamiltonian must be Hermitian (real coefficients), got {h!r}")
    return h


def _read_npz(path: str, required: tuple[str, ...], where: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"{where}: cannot read the file: {err}") from err
    for key in required:
        if key not in arrays:
            raise ValueError(f"{where}: missing array {key!r}; the file has {sorted(arrays)}")
    return arrays


def _split(arrays: dict, n_samples: int, n_train: int | None, n_test: int | None, where: str):
    """(train indices, test indices) from the optional ``split`` array or the sample counts."""
    labels = np.asarray(arrays["labels"])
    if labels.shape != (n_samples,) or not np.issubdtype(labels.dtype, np.number):
        raise ValueError(f"{where}: 'labels' must be (N,) = ({n_samples},) real numbers, got {labels.shape}")
    if "split" in arrays:
        split = np.asarray(arrays["split"])
        if split.shape != labels.shape:
            raise ValueError(f"{where}: 'split' must have shape {labels.shape}, got {split.shape}")
        if split.dtype.kind in "iub":
            is_test, is_train = split == 1, split == 0
        else:
            is_test, is_train = split.astype(str) == "test", split.astype(str) == "train"
        if not np.all(is_test | is_train):
            raise ValueError(f"{where}: 'split' entries must be 0/'train' or 1/'test'")
        train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    else:
        n_tr = n_samples // 2 if n_train is None else n_train
        n_te = n_samples - n_tr if n_test is None else n_test
        if n_tr + n_te > n_samples:
            raise ValueError(f"{where}: n_train + n_test = {n_tr + n_te} exceeds the {n_samples} samples")
        train, test = np.arange(n_tr), np.arange(n_tr, n_tr + n_te)
    if train.size == 0 or test.size == 0:
        raise ValueError(f"{where}: need at least one train and one test sample, got {train.size} and {test.size}")
    return train, test


def load_npz_task(
    path: str, n_qubits: int | None = None, n_train: int | None = None, n_test: int | None = None
) -> datasets.Dataset:
    """A Dataset from an ``.npz`` file (see the module docstring); errors name the path and the array."""
    where = f"task.path ({path!r})"
    arrays = _read_npz(path, ("states", "labels"), where)
    states = np.asarray(arrays["states"], np.complex128)
    if states.ndim != 2 or states.shape[1] < 2 or states.shape[1] & (states.shape[1] - 1):
        raise ValueError(f"{where}: 'states' must have shape (N, 2**n), got {states.shape}")
    n = states.shape[1].bit_length() - 1
    if n_qubits is not None and n != n_qubits:
        raise ValueError(f"{where}: the states have {n} qubits (dimension {states.shape[1]}), expected {n_qubits}")
    train, test = _split(arrays, states.shape[0], n_train, n_test, where)
    norms = np.linalg.norm(states, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-6):
        bad = int(np.argmax(np.abs(norms - 1)))
        raise ValueError(f"{where}: state {bad} has norm {norms[bad]:.6g}; states must be normalised")
    labels = np.asarray(arrays["labels"]).astype(np.float64)
    return datasets.Dataset(states[train], labels[train], states[test], labels[test])


#: The keys of one ``task.encoding`` entry (long form) and of the short form.
ENCODING_KEYS = ("pauli", "feature", "scale", "offset", "angle")
_SHORT_KEYS = ("each_qubit", "scale", "offset")


def _number(v, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
        raise ValueError(f"{where}: expected a finite number, got {v!r}")
    return float(v)


def encoding_circuit(spec, n_qubits: int, n_features: int | None = None, where: str = "task.encoding") -> Circuit:
    """The data-encoding ``Circuit`` of a ``task.encoding`` spec (see the module docstring).

    Parameter ``j`` of the circuit is feature ``j`` (``n_params = n_features``), so
    ``datasets.encode_features(x, circuit)`` evaluates it on feature vectors.

    Args:
        spec: a list of rotations or the short form mapping.
        n_qubits: the task's qubit count.
        n_features: the data's feature count (checked: every feature index must be below it); None
            takes the largest index used + 1.
        where: prefix of every error (``task.encoding[2].feature``).

    Raises:
        ValueError: an unknown key, a bad label or number, a feature index out of range, or (short
            form) a feature count different from ``n_qubits``.
    """
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(_SHORT_KEYS))
        if unknown or "each_qubit" not in spec:
            raise ValueError(
                f"{where}: a mapping is the short form {{each_qubit: Y, scale: 3.14, offset: 0}}; got keys "
                f"{sorted(spec)}; for rotations give a list [{{pauli: Y0, feature: 0, scale: 3.14}}, ...]"
            )
        letters = spec["each_qubit"]
        if not isinstance(letters, str) or not letters or set(letters) - set("XYZ"):
            raise ValueError(f"{where}.each_qubit: expected Pauli letters such as 'Y' or 'YZ', got {letters!r}")
        if n_features is not None and n_features != n_qubits:
            raise ValueError(
                f"{where}: each_qubit encodes feature q on qubit q: expected n_features == task.n_qubits = "
                f"{n_qubits}, got {n_features} features; list the rotations explicitly otherwise"
            )
        extra = {k: spec[k] for k in ("scale", "offset") if k in spec}
        spec = [{"pauli": f"{p}{q}", "feature": q, **extra} for q in range(n_qubits) for p in letters]
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise ValueError(
            f"{where}: expected a non-empty list of rotations [{{pauli: Y0, feature: 0, scale: 3.14}}, ...] "
            f"or {{each_qubit: Y, scale: 3.14}}, got {spec!r}"
        )
    ops = []
    for i, op in enumerate(spec):
        w = f"{where}[{i}]"
        if not isinstance(op, Mapping):
            raise ValueError(f"{w}: expected a mapping {{pauli: Y0, feature: 0, scale: 3.14}}, got {op!r}")
        unknown = sorted(set(op) - set(ENCODING_KEYS))
        if unknown:
            raise ValueError(f"{w}: unknown key(s) {unknown}; expected keys among {list(ENCODING_KEYS)}")
        label = op.get("pauli")
        if not isinstance(label, str):
            raise ValueError(f"{w}.pauli: expected a Pauli label such as 'Y0' or 'ZZII', got {label!r}")
        try:
            sparse = " " in label.strip() or any(ch.isdigit() for ch in label)
            pauli = Pauli(label, n_qubits if sparse else None)
            if pauli.n != n_qubits:
                raise ValueError(f"label {label!r} has length {pauli.n}, expected task.n_qubits={n_qubits}")
            if pauli.phase:
                raise ValueError(f"expected an unsigned Pauli string (the sign belongs in scale), got {label!r}")
        except ValueError as err:
            raise ValueError(f"{w}.pauli: {err}") from err
        if "angle" in op:
            if any(k in op for k in ("feature", "scale", "offset")):
                raise ValueError(f"{w}: 'angle' is a fixed rotation; it takes no 'feature', 'scale' or 'offset'")
            ops.append((pauli, None, 1.0, _number(op["angle"], f"{w}.angle")))
            continue
        feat = op.get("feature")
        limit = "" if n_features is None else f" below n_features = {n_features}"
        ok = isinstance(feat, (int, np.integer)) and not isinstance(feat, bool) and feat >= 0
        if not ok or (n_features is not None and feat >= n_features):
            raise ValueError(
                f"{w}.feature: expected a feature index, an int >= 0{limit} (or a fixed 'angle'), got {feat!r}"
            )
        scale = _number(op.get("scale", 1.0), f"{w}.scale")
        ops.append((pauli, int(feat), scale, _number(op.get("offset", 0.0), f"{w}.offset")))
    used = max((f for _, f, _, _ in ops if f is not None), default=-1) + 1
    circuit = Circuit(n_qubits, n_params=used if n_features is None else n_features)
    for pauli, feat, scale, offset in ops:
        circuit = circuit.rotation(pauli, feat, scale=scale, offset=offset)
    return circuit


def feature_count(path: str) -> int:
    """The number of features per sample of a ``features`` file (its ``features`` array's columns)."""
    where = f"task.path ({path!r})"
    x = _read_npz(path, ("features", "labels"), where)["features"]
    if x.ndim != 2:
        raise ValueError(f"{where}: 'features' must have shape (N, n_features), got {x.shape}")
    return int(x.shape[1])


def load_features_task(
    path: str, encoding, n_qubits: int, n_train: int | None = None, n_test: int | None = None
) -> datasets.Dataset:
    """A Dataset of encoded feature vectors: ``features`` (N, d) and ``labels`` (N,) (optional ``split``)
    from an ``.npz`` file, each sample ``x`` becoming ``U_enc(x) |0...0>`` (``datasets.encode_features``).

    Args:
        path: the ``.npz`` file.
        encoding: a ``task.encoding`` spec or an encoding ``Circuit`` (parameter j = feature j).
        n_qubits: the task's qubit count.
        n_train, n_test: sample counts when the file has no ``split``.

    Returns:
        The Dataset; ``train_points`` / ``test_points`` hold the raw features.

    Raises:
        ValueError: a missing array, a wrong shape or feature count, a feature index out of range,
            non-finite features; messages name the path and the key.
    """
    where = f"task.path ({path!r})"
    arrays = _read_npz(path, ("features", "labels"), where)
    x = np.asarray(arrays["features"])
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"{where}: 'features' must be a real (N, n_features) array, got shape {x.shape} {x.dtype}")
    train, test = _split(arrays, x.shape[0], n_train, n_test, where)
    if isinstance(encoding, Circuit):
        circuit = encoding
        if circuit.n_qubits != n_qubits:
            raise ValueError(f"task.encoding: the circuit has {circuit.n_qubits} qubits, expected {n_qubits}")
    else:
        circuit = encoding_circuit(encoding, n_qubits, x.shape[1])
    states = datasets.encode_features(x, circuit, where=where)
    labels = np.asarray(arrays["labels"]).astype(np.float64)
    x = x.astype(np.float64)
    return datasets.Dataset(states[train], labels[train], states[test], labels[test], x[train], x[test])


def initial_state(spec, n_qubits: int, hamiltonian: PauliSum | None = None, where: str = "task.initial_state"):
    """The (2**n,) initial state of a ground-state task from its spec.

    ``None`` / ``"zero"``: ``|0...0>``; a bitstring ``"010101"`` (character q = qubit q); or
    ``{bits: "010101", sector: {XXXXXX: 1, ZZZZZZ: -1}}``: the bitstring projected onto the joint
    eigenspace of the given commuting Pauli strings with the given eigenvalues,
    ``prod_g (1 + s_g g) / 2 |bits>``, normalised. ``sector: ground`` takes the eigenvalues of the
    exact ground state of ``hamiltonian`` for the generators of its symmetry
    (``blocks.symmetry.find_symmetry``). A symmetric circuit (an SLPA) never leaves the sector of
    its input, so an SLPA needs an input in the ground state's sector.

    Raises:
        ValueError: a malformed spec, a projection that vanishes (the bitstring has no component in
            the sector), or strings that do not commute.
    """
    if spec is None or spec == "zero":
        psi = np.zeros(2**n_qubits, np.complex128)
        psi[0] = 1.0
        return psi
    bits, sector = (spec, None) if isinstance(spec, str) else (None, None)
    if isinstance(spec, Mapping):
        extra = sorted(set(spec) - {"bits", "sector"})
        if extra:
            raise ValueError(f"{where}: unknown key(s) {extra}; expected 'bits' and optionally 'sector'")
        bits, sector = spec.get("bits", "0" * n_qubits), spec.get("sector")
    if not isinstance(bits, str) or len(bits) != n_qubits or set(bits) - {"0", "1"}:
        raise ValueError(
            f"{where}: expected 'zero', a bitstring of {n_qubits} characters 0/1, or a mapping; got {spec!r}"
        )
    psi = np.zeros(2**n_qubits, np.complex128)
    psi[int(bits, 2)] = 1.0  # character q is qubit q, the (n-1-q)-th index bit: int(bits, 2) reads it so
    if sector is None:
        return psi
    if sector == "ground":
        if hamiltonian is None:
            raise ValueError(f"{where}.sector: 'ground' needs task.hamiltonian")
        sector = _ground_sector(hamiltonian)
    if not isinstance(sector, Mapping) or not sector:
        raise ValueError(f"{where}.sector: expected 'ground' or a mapping {{label: +1 or -1}}, got {sector!r}")
    labels = list(sector)
    try:
        table = PauliTable.from_labels(labels, n_qubits)
    except ValueError as err:
        raise ValueError(f"{where}.sector: {err}") from err
    if not commutation_matrix(table).all():
        raise ValueError(f"{where}.sector: the strings {labels} must commute pairwise")
    for lab, p in zip(labels, table):
        s = sector[lab]
        if s not in (1, -1):
            raise ValueError(f"{where}.sector.{lab}: expected +1 or -1, got {s!r}")
        psi = 0.5 * (psi + s * (sparse_matrix(p) @ psi))
    norm = np.linalg.norm(psi)
    if norm < 1e-12:
        raise ValueError(f"{where}: the bitstring {bits!r} has no component in the sector {dict(sector)}")
    return psi / norm


def _ground_sector(h: PauliSum) -> dict:
    """{generator label: eigenvalue} of the exact ground state for the generators of h's symmetry."""
    from ..blocks.symmetry import find_symmetry

    group = find_symmetry(h.paulis)
    if group.n_generators == 0:
        raise ValueError("task.initial_state.sector: 'ground': the Hamiltonian has no Pauli symmetry")
    from scipy.sparse.linalg import eigsh

    mat = sparse_matrix(h)
    if mat.shape[0] <= 1024:
        vals, vecs = np.linalg.eigh(mat.toarray())
        gs = vecs[:, 0]
        if vals.size > 1 and vals[1] - vals[0] < 1e-9:
            raise ValueError("task.initial_state.sector: 'ground': the ground state is degenerate; give the sector")
    else:
        gs = eigsh(mat, k=1, which="SA")[1][:, 0]
    out = {}
    for g in group.generators:
        ev = float(np.real(np.vdot(gs, sparse_matrix(g) @ gs)))
        out[g.label.lstrip("+")] = 1 if ev > 0 else -1
    return out


def _even_in(lo: int, hi: int | None = None) -> Callable[[int], bool]:
    return lambda n: n >= lo and n % 2 == 0 and (hi is None or n <= hi)


#: kind -> TaskSpec.
TASKS: dict[str, TaskSpec] = {
    s.name: s
    for s in (
        TaskSpec(
            "symmetric_unitary",
            lambda n, n_train, n_test, seed, h, path, base: datasets.symmetric_unitary_task(
                n, n_train, n_test, key=seed
            ),
            (_even_in(2, 16), "an even int in [2, 16] for symmetric_unitary (S = {I, X^n, Y^n, Z^n})"),
            "mse",
            "Fig. 4: labels <psi| U_T^dag X0 X1 U_T |psi> of a hidden symmetric unitary, Haar product states",
            symmetry=lambda n: ["X" * n, "Z" * n],
        ),
        TaskSpec(
            "cluster_ising_qpr",
            lambda n, n_train, n_test, seed, h, path, base: datasets.cluster_ising_qpr(n, n_train, n_test, key=seed),
            (_even_in(4), "an even int >= 4 for cluster_ising_qpr (periodic chain, two sublattices)"),
            "mse",
            "quantum phase recognition: cluster-Ising ground states labelled by phase",
            symmetry=lambda n: list(qpr_symmetry_generators(n)),
        ),
        TaskSpec(
            "ground_state",
            lambda n, n_train, n_test, seed, h, path, base, init=None: datasets.ground_state_task(
                n, initial_state(init, n, task_hamiltonian(h, n, base_dir=base))
            ),
            (lambda n: n >= 1, "an int >= 1"),
            "energy",
            "variational ground state of task.hamiltonian from |0...0> (loss: the energy)",
            ("hamiltonian",),
        ),
        TaskSpec(
            "file",
            lambda n, n_train, n_test, seed, h, path, base: load_npz_task(os.path.join(base, path), n, n_train, n_test),
            (lambda n: n >= 1, "an int >= 1"),
            "mse",
            "states and labels from an .npz file (task.path): states (N, 2**n), labels (N,), optional split",
            ("path",),
        ),
        TaskSpec(
            "features",
            lambda n, n_train, n_test, seed, h, path, base, enc=None: load_features_task(
                os.path.join(base, path), enc, n, n_train, n_test
            ),
            (lambda n: n >= 1, "an int >= 1"),
            "mse",
            "classical features from an .npz file (task.path: features (N, d), labels (N,), optional split) "
            "encoded into states by task.encoding (rotations with angles scale * x[feature] + offset)",
            ("path", "encoding"),
        ),
    )
}


def task_spec(kind: str, where: str = "task.kind") -> TaskSpec:
    """The catalogue entry of ``kind``; ValueError listing the kinds otherwise."""
    spec = TASKS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise ValueError(f"{where}: unknown task kind {kind!r}; valid kinds: {list(TASKS)}")
    return spec


def build_task(
    kind: str,
    n_qubits: int,
    n_train: int = 50,
    n_test: int = 50,
    data_seed: int = 0,
    *,
    hamiltonian=None,
    path: str | None = None,
    initial_state=None,
    encoding=None,
    base_dir: str = ".",
) -> datasets.Dataset:
    """The Dataset of a task (the config's ``task`` section as keywords)."""
    spec = task_spec(kind)
    for need, value in (("hamiltonian", hamiltonian), ("path", path), ("encoding", encoding)):
        if need in spec.needs and value is None:
            raise ValueError(f"task.{need}: required for task kind {kind!r}")
    if encoding is not None:
        if kind != "features":
            raise ValueError(f"task.encoding: only features tasks take it, not {kind!r}")
        return spec.build(n_qubits, n_train, n_test, data_seed, hamiltonian, path, base_dir, encoding)
    if initial_state is not None:
        if kind != "ground_state":
            raise ValueError(f"task.initial_state: only ground_state tasks take it, not {kind!r}")
        return spec.build(n_qubits, n_train, n_test, data_seed, hamiltonian, path, base_dir, initial_state)
    return spec.build(n_qubits, n_train, n_test, data_seed, hamiltonian, path, base_dir)
