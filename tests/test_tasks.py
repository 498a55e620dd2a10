"""The task catalogue (train.tasks): every entry builds, Hamiltonian specs, .npz data files."""

import numpy as np
import pytest
from conftest import EPS

from slpa_jax.train.datasets import Dataset
from slpa_jax.train.hamiltonians import hamiltonian, save_hamiltonian
from slpa_jax.train.tasks import TASKS, build_task, load_npz_task, task_hamiltonian, task_spec


def _random_states(rng, count, n):
    s = rng.normal(size=(count, 2**n)) + 1j * rng.normal(size=(count, 2**n))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", list(TASKS))
def test_every_entry_builds_a_dataset(kind, tmp_path):
    spec = TASKS[kind]
    n = next(m for m in range(1, 9) if spec.qubits[0](m) and m >= 4)
    extra = {}
    if "hamiltonian" in spec.needs:
        extra["hamiltonian"] = {"name": "tfim"}
    if "path" in spec.needs:
        rng = np.random.default_rng(0)
        features = "encoding" in spec.needs
        data = {"features": rng.normal(size=(6, n))} if features else {"states": _random_states(rng, 6, n)}
        np.savez(tmp_path / "d.npz", labels=rng.normal(size=6), **data)
        extra["path"] = "d.npz"
    if "encoding" in spec.needs:
        extra["encoding"] = {"each_qubit": "Y"}
    data = build_task(kind, n, 3, 3, 0, base_dir=str(tmp_path), **extra)
    assert isinstance(data, Dataset) and data.n_qubits == n and data.n_train >= 1 and data.n_test >= 1
    assert spec.loss in ("mse", "bce", "energy") and spec.description
    for need in spec.needs:
        with pytest.raises(ValueError, match=f"task.{need}: required"):
            build_task(kind, n, 3, 3, 0, base_dir=str(tmp_path), **{k: v for k, v in extra.items() if k != need})


def test_hamiltonian_specs_by_name_file_and_terms(tmp_path):
    want = hamiltonian("xxz", 3, delta=0.2).to_matrix()
    np.testing.assert_allclose(task_hamiltonian({"name": "xxz", "delta": 0.2}, 3).to_matrix(), want, atol=0)
    save_hamiltonian(hamiltonian("xxz", 3, delta=0.2), str(tmp_path / "h.json"))
    got = task_hamiltonian({"file": "h.json"}, 3, base_dir=str(tmp_path)).to_matrix()
    np.testing.assert_allclose(got, want, atol=EPS["float64"])
    terms = task_hamiltonian({"terms": [[0.5, "XZ"], [-1.0, "Z0"]]}, 2)
    assert terms.paulis.labels() == ["XZ", "ZI"] and list(terms.coeffs.real) == [0.5, -1.0]
    for bad, match in (
        ({"name": "xxz", "file": "h.json"}, "exactly one of"),
        ({"name": "xxz", "gamma": 1}, "unknown"),
        ({"terms": [[1.0, "XYZ"]]}, "expected|qubits|length"),
        ("xxz", "expected a mapping"),
        ({"name": "tfim"}, "acts on|n must be"),
    ):
        with pytest.raises(ValueError, match=match):
            task_hamiltonian(bad, 2 if bad != {"name": "tfim"} else 1)


def test_npz_split_and_default_split(tmp_path):
    rng = np.random.default_rng(1)
    states, labels = _random_states(rng, 5, 2), rng.normal(size=5)
    np.savez(
        tmp_path / "a.npz", states=states, labels=labels, split=np.array(["train", "test", "train", "test", "test"])
    )
    d = load_npz_task(str(tmp_path / "a.npz"), 2)
    np.testing.assert_array_equal(d.train_labels, labels[[0, 2]])
    np.testing.assert_array_equal(d.test_states, states[[1, 3, 4]])
    np.savez(tmp_path / "b.npz", states=states, labels=labels)
    d = load_npz_task(str(tmp_path / "b.npz"), n_train=3, n_test=2)
    np.testing.assert_array_equal(d.train_labels, labels[:3])


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"labels": np.zeros(2)}, "missing array 'states'"),
        ({"states": np.ones((2, 3)), "labels": np.zeros(2)}, r"'states' must have shape \(N, 2\*\*n\), got \(2, 3\)"),
        ({"states": np.eye(4)[:2], "labels": np.zeros(3)}, r"'labels' must be \(N,\) = \(2,\)"),
        ({"states": 2 * np.eye(4)[:2], "labels": np.zeros(2)}, "state 0 has norm 2"),
        ({"states": np.eye(4)[:2], "labels": np.zeros(2), "split": np.array([0, 2])}, "'split' entries"),
        ({"states": np.eye(8)[:2], "labels": np.zeros(2)}, "the states have 3 qubits"),
    ],
)
def test_bad_npz_files_are_named(arrays, match, tmp_path):
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        load_npz_task(str(tmp_path / "x.npz"), 2)


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"unknown task kind 'vqe'; valid kinds: \["):
        task_spec("vqe")


def test_initial_state_bitstrings_and_symmetry_sectors():
    from reference import pauli_matrix

    from slpa_jax.train.tasks import initial_state

    n = 4
    zero = initial_state(None, n)
    assert zero[0] == 1 and np.count_nonzero(zero) == 1
    psi = initial_state("0101", n)
    assert psi[0b0101] == 1  # character q is qubit q, the most significant bit first
    # projected onto X^4 = -1, Z^4 = +1: (|0101> - |1010>) / sqrt 2, an eigenvector of both (dense check)
    proj = initial_state({"bits": "0101", "sector": {"XXXX": -1, "ZZZZ": 1}}, n)
    xxxx = np.kron(np.kron(pauli_matrix("X"), pauli_matrix("X")), np.kron(pauli_matrix("X"), pauli_matrix("X")))
    np.testing.assert_allclose(xxxx @ proj, -proj, atol=EPS["float64"])
    np.testing.assert_allclose(proj[[0b0101, 0b1010]], [2**-0.5, -(2**-0.5)], atol=EPS["float64"])
    # 'ground' reads the sector off the exact ground state (XXZ n = 4: a singlet-like state)
    h = hamiltonian("xxz", n, delta=0.5)
    g = initial_state({"bits": "0101", "sector": "ground"}, n, h)
    vals, vecs = np.linalg.eigh(h.to_matrix())
    assert abs(np.vdot(vecs[:, 0], g)) > 0.1  # same sector: a nonzero overlap with the ground state
    with pytest.raises(ValueError, match="has no component in the sector"):
        initial_state({"bits": "0000", "sector": {"ZZZZ": -1}}, n)
    with pytest.raises(ValueError, match="must commute pairwise"):
        initial_state({"bits": "0101", "sector": {"XIII": 1, "ZIII": 1}}, n)
    with pytest.raises(ValueError, match="a bitstring of 4 characters"):
        initial_state("012", n)
