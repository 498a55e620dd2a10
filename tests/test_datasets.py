"""Data sets against dense float64 references (numpy kron + eigh), closed forms and Haar statistics."""

import jax
import numpy as np
import pytest
from conftest import EPS, TOL
from reference import pauli_matrix

from slpa_jax.blocks.ansatze import qpr_observable, qpr_symmetry_generators
from slpa_jax.train.datasets import (
    Dataset,
    cluster_ising_ground_state,
    cluster_ising_hamiltonian,
    cluster_ising_qpr,
    haar_product_states,
    haar_unitary,
    pauli_expectations_np,
    symmetric_target_unitary,
    symmetric_unitary_task,
)


def _lab(n, ops):
    return "".join(ops.get(q, "I") for q in range(n))


# --- symmetric-unitary task ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 6])
def test_target_is_unitary_and_commutes_with_s(n):
    u = symmetric_target_unitary(n, key=jax.random.PRNGKey(3))
    eye = np.eye(2**n)
    np.testing.assert_allclose(u.conj().T @ u, eye, atol=EPS["float64"])
    for s in ("X" * n, "Y" * n, "Z" * n):
        p = pauli_matrix(s)
        np.testing.assert_allclose(u @ p, p @ u, atol=EPS["float64"])
    # it must not commute with a generic symmetric-breaking Pauli (not trivially diagonal / identity)
    p = pauli_matrix("X" + "I" * (n - 1))
    assert np.linalg.norm(u @ p - p @ u) > 1.0


def test_target_acts_within_eigenspaces_of_zn_plus_half_xn():
    n = 4
    h = pauli_matrix("ZZZZ") + 0.5 * pauli_matrix("XXXX")
    evals, evecs = np.linalg.eigh(h)
    np.testing.assert_allclose(evals, np.repeat([-1.5, -0.5, 0.5, 1.5], 4), atol=EPS["float64"])
    u = symmetric_target_unitary(n, key=jax.random.PRNGKey(0))
    np.testing.assert_allclose(u @ h, h @ u, atol=EPS["float64"])
    # each 4-dim sector block of V^dag U V is unitary (U maps each sector onto itself)
    blk = evecs.conj().T @ u @ evecs
    for k in range(4):
        b = blk[4 * k : 4 * k + 4, 4 * k : 4 * k + 4]
        np.testing.assert_allclose(b.conj().T @ b, np.eye(4), atol=EPS["float64"])


def test_haar_blocks_have_haar_trace_moments():
    # Haar on U(d): E|tr U|^2 = 1 and Var|tr U|^2 = 1 (d >= 2); 4-sigma bound over 800 samples
    rng = np.random.default_rng(0)
    t2 = np.array([abs(np.trace(haar_unitary(4, rng))) ** 2 for _ in range(800)])
    assert abs(t2.mean() - 1.0) < 4 * 1.0 / np.sqrt(t2.size)


def test_product_states_are_normalised_products_with_haar_bloch_moments():
    rng = np.random.default_rng(1)
    n = 4
    s = haar_product_states(n, 2000, rng)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, atol=EPS["float64"])
    for cut in range(1, n):
        sv = np.linalg.svd(s[0].reshape(2**cut, -1), compute_uv=False)
        assert sv[1] < 1e-12  # Schmidt rank 1 across every cut
    # single-qubit Haar: <X_q> is uniform on [-1, 1]: E x^2 = 1/3, Var x^2 = 1/5 - 1/9
    x1 = pauli_expectations_np(s, "IXII", n)
    assert abs(np.mean(x1**2) - 1 / 3) < 4 * np.sqrt(4 / 45 / s.shape[0])
    # the label-free product structure: <X0 X1> = <X0><X1>
    np.testing.assert_allclose(
        pauli_expectations_np(s, "XXII", n), pauli_expectations_np(s, "XIII", n) * x1, atol=EPS["float64"]
    )


@pytest.mark.parametrize("n", [4, 6])
def test_labels_match_dense_reference(n):
    kt, kd = jax.random.PRNGKey(7), jax.random.PRNGKey(8)
    data = symmetric_unitary_task(n, 6, 5, key=kd, target_key=kt)
    u = symmetric_target_unitary(n, key=kt)
    o = pauli_matrix("XX" + "I" * (n - 2))
    heis = u.conj().T @ o @ u
    for states, labels in ((data.train_states, data.train_labels), (data.test_states, data.test_labels)):
        ref = np.real(np.einsum("ni,ij,nj->n", states.conj(), heis, states))
        np.testing.assert_allclose(labels, ref, atol=EPS["float64"])
        assert np.all(np.abs(labels) <= 1.0)
    assert data.n_qubits == n and data.n_train == 6 and data.n_test == 5
    assert data.train_states.dtype == np.complex128 and data.train_labels.dtype == np.float64


def test_symmetric_task_reproducible_and_key_split():
    k = jax.random.PRNGKey(11)
    a = symmetric_unitary_task(4, 5, 5, key=k)
    b = symmetric_unitary_task(4, 5, 5, key=k)
    np.testing.assert_array_equal(a.train_states, b.train_states)
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    kt, kd = jax.random.split(k)
    c = symmetric_unitary_task(4, 5, 5, key=kd, target_key=kt)
    np.testing.assert_array_equal(a.train_labels, c.train_labels)
    d = symmetric_unitary_task(4, 5, 5, key=jax.random.PRNGKey(12))
    assert not np.allclose(a.train_labels, d.train_labels)
    # same target, new data: the hidden unitary is shared
    e = symmetric_unitary_task(4, 5, 5, key=jax.random.PRNGKey(99), target_key=kt)
    assert not np.allclose(e.train_states, c.train_states)
    # typed keys and int seeds work too
    f = symmetric_unitary_task(4, 5, 5, key=jax.random.key(11))
    np.testing.assert_array_equal(f.train_labels, a.train_labels)
    symmetric_unitary_task(4, 2, 2, key=5)


def test_symmetric_task_errors():
    with pytest.raises(ValueError, match="n must be an even int >= 2"):
        symmetric_unitary_task(5, key=0)
    with pytest.raises(ValueError, match="n_train must be an int >= 1"):
        symmetric_unitary_task(4, 0, 5, key=0)
    with pytest.raises(TypeError, match="key must be a jax PRNG key or an int seed"):
        symmetric_unitary_task(4, key="seed")
    with pytest.raises(ValueError, match="n must be <= 16"):
        symmetric_target_unitary(18, key=0)


def test_dataset_validation():
    s = np.zeros((3, 4), complex)
    with pytest.raises(ValueError, match=r"train_labels must have shape \(3,\)"):
        Dataset(s, np.zeros(2), s, np.zeros(3))
    with pytest.raises(ValueError, match=r"test_states must have shape \(N, 2\*\*n\)"):
        Dataset(s, np.zeros(3), np.zeros((3, 3), complex), np.zeros(3))
    with pytest.raises(ValueError, match="differ in dimension"):
        Dataset(s, np.zeros(3), np.zeros((3, 8), complex), np.zeros(3))


# --- cluster-Ising QPR ---------------------------------------------------------------------------


def _dense_cluster_ising(n, h1, h2, periodic):
    """Independent dense reference, written from the formula."""
    h = np.zeros((2**n, 2**n), complex)
    centres = range(n) if periodic else range(1, n - 1)
    for i in centres:
        h -= pauli_matrix(_lab(n, {(i - 1) % n: "Z", i: "X", (i + 1) % n: "Z"}))
    for i in range(n):
        h -= h1 * pauli_matrix(_lab(n, {i: "X"}))
    for i in range(n) if periodic else range(n - 1):
        h -= h2 * pauli_matrix(_lab(n, {i: "X", (i + 1) % n: "X"}))
    return h


@pytest.mark.parametrize("boundary", ["open", "periodic"])
def test_hamiltonian_matches_dense_and_has_z2xz2_symmetry(boundary):
    n = 6
    h = cluster_ising_hamiltonian(n, 0.7, -0.4, boundary=boundary).toarray()
    np.testing.assert_allclose(h, _dense_cluster_ising(n, 0.7, -0.4, boundary == "periodic"), atol=EPS["float64"])
    for g in qpr_symmetry_generators(n):
        p = pauli_matrix(g)
        np.testing.assert_allclose(h @ p, p @ h, atol=EPS["float64"])
    o = pauli_matrix(qpr_observable(n))
    for g in qpr_symmetry_generators(n):
        p = pauli_matrix(g)
        np.testing.assert_allclose(o @ p, p @ o, atol=EPS["float64"])


@pytest.mark.parametrize("boundary", ["open", "periodic"])
@pytest.mark.parametrize("h1", [0.0, 0.6, 1.4])
def test_ground_state_is_symmetric_sector_ground_state(boundary, h1):
    n = 6
    e, psi = cluster_ising_ground_state(n, h1, 0.0, boundary=boundary)
    h = _dense_cluster_ising(n, h1, 0.0, boundary == "periodic")
    np.testing.assert_allclose(np.linalg.norm(psi), 1.0, atol=EPS["float64"])
    np.testing.assert_allclose(h @ psi, e * psi, atol=1e-9)
    pe, po = (pauli_matrix(g) for g in qpr_symmetry_generators(n))
    np.testing.assert_allclose(pe @ psi, psi, atol=EPS["float64"])
    np.testing.assert_allclose(po @ psi, psi, atol=EPS["float64"])
    proj = (np.eye(2**n) + pe) @ (np.eye(2**n) + po) / 4
    big = 100.0
    ref = np.linalg.eigvalsh(proj @ h @ proj + big * (np.eye(2**n) - proj))[0]
    np.testing.assert_allclose(e, ref, atol=TOL["float64"])
    if boundary == "periodic":  # on the h2 = 0 line the sector holds the global ground state
        np.testing.assert_allclose(e, np.linalg.eigvalsh(h)[0], atol=TOL["float64"])


def test_ground_state_limits_and_sparse_path():
    n = 10  # sector dimension 256: the sparse eigsh path
    e0, psi0 = cluster_ising_ground_state(n, 0.0, 0.0)
    np.testing.assert_allclose(e0, -n, atol=1e-9)  # cluster state: every ZXZ = +1
    np.testing.assert_allclose(pauli_expectations_np(psi0[None], qpr_observable(n), n), 1.0, atol=1e-9)
    _, psi_pm = cluster_ising_ground_state(n, 50.0, 0.0)
    assert pauli_expectations_np(psi_pm[None], "X" + "I" * (n - 1), n)[0] > 0.999
    h = cluster_ising_hamiltonian(n, 0.8, 0.0)
    e, psi = cluster_ising_ground_state(n, 0.8, 0.0)
    np.testing.assert_allclose(h @ psi, e * psi, atol=1e-8)
    np.testing.assert_allclose(e, np.linalg.eigvalsh(h.toarray())[0], atol=1e-9)


def test_qpr_dataset_labels_and_points():
    data = cluster_ising_qpr(6, 7, 5, key=jax.random.PRNGKey(0))
    for pts, y, s in (
        (data.train_points, data.train_labels, data.train_states),
        (data.test_points, data.test_labels, data.test_states),
    ):
        np.testing.assert_array_equal(y, np.where(pts[:, 0] < 1.0, 1.0, -1.0))
        assert np.all((pts[:, 0] >= 0) & (pts[:, 0] <= 2)) and np.all(pts[:, 1] == 0)
        for h1, state in zip(pts[:, 0], s):
            np.testing.assert_allclose(state, cluster_ising_ground_state(6, h1, 0.0)[1], atol=EPS["float64"])
    again = cluster_ising_qpr(6, 7, 5, key=jax.random.PRNGKey(0))
    np.testing.assert_array_equal(again.train_states, data.train_states)
    grid = cluster_ising_qpr(4, 4, 3, key=0, sampling="grid", h1_range=(0.2, 2.0), boundary="open")
    np.testing.assert_allclose(grid.train_points[:, 0], [0.2, 0.8, 1.4, 2.0], atol=EPS["float64"])
    np.testing.assert_array_equal(grid.train_labels, [1.0, 1.0, -1.0, -1.0])
    np.testing.assert_array_equal(grid.test_labels, [1.0, -1.0, -1.0])


def test_qpr_errors():
    with pytest.raises(ValueError, match="h2 must be 0.0"):
        cluster_ising_qpr(4, 2, 2, key=0, h2=0.3)
    with pytest.raises(ValueError, match="periodic boundary needs an even n >= 4"):
        cluster_ising_qpr(5, 2, 2, key=0)
    with pytest.raises(ValueError, match="boundary must be 'open' or 'periodic'"):
        cluster_ising_hamiltonian(4, 1.0, 0.0, boundary="ring")
    with pytest.raises(ValueError, match="sampling must be 'random' or 'grid'"):
        cluster_ising_qpr(4, 2, 2, key=0, sampling="sobol")
    with pytest.raises(ValueError, match="exactly on the critical point"):
        cluster_ising_qpr(4, 3, 2, key=0, sampling="grid", h1_range=(0.0, 2.0))
    with pytest.raises(ValueError, match="h1_range must satisfy"):
        cluster_ising_qpr(4, 2, 2, key=0, h1_range=(1.0, 0.5))
    with pytest.raises(ValueError, match="J must be > 0"):
        cluster_ising_qpr(4, 2, 2, key=0, J=0.0)
    with pytest.raises(ValueError, match="n_test must be an int >= 1"):
        cluster_ising_qpr(4, 2, 0, key=0)
    with pytest.raises(ValueError, match="n must be an int >= 3"):
        qpr_observable(2)
    with pytest.raises(ValueError, match="n must be an int >= 3"):
        qpr_symmetry_generators(2)
