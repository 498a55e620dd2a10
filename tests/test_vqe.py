"""Variational ground states through the training loop: loss "energy", one-sample ground-state task."""

import jax
import numpy as np
import pytest
from conftest import EPS

from slpa_jax.core.circuit import Circuit
from slpa_jax.measure.estimator import exact_estimator
from slpa_jax.measure.param_shift import param_shift_estimator
from slpa_jax.train.datasets import ground_state_task
from slpa_jax.train.hamiltonians import ground_energy, hamiltonian
from slpa_jax.train.training import Model, init_train_state, loss_grad_factor, loss_value, make_optimizer, train_epochs


def _hea(n: int, layers: int) -> Circuit:
    labels = []
    for _ in range(layers):
        labels += ["I" * q + "Y" + "I" * (n - q - 1) for q in range(n)]
        labels += ["I" * q + "XX" + "I" * (n - q - 2) for q in range(n - 1)]
        labels += ["I" * q + "ZY" + "I" * (n - q - 2) for q in range(n - 1)]
    return Circuit.from_labels(labels)


def test_energy_loss_is_f_itself():
    f, y = np.array([0.3, -1.2]), np.array([5.0, -7.0])
    np.testing.assert_array_equal(loss_value(f, y, "energy"), f)
    np.testing.assert_array_equal(loss_grad_factor(f, y, "energy"), np.ones(2))


def test_exact_vqe_reaches_the_xxz_ground_energy():
    n = 4
    h = hamiltonian("xxz", n, delta=0.5)
    e0 = ground_energy(h)  # exact diagonalisation, independent of the training loop
    circuit = _hea(n, 6)
    model = Model("hea", circuit, h, exact_estimator(circuit, h))
    opt = make_optimizer("adam", 0.05)
    state = init_train_state(model, opt, jax.random.key(0), 2)
    state, hist = train_epochs(model, ground_state_task(n), opt, state, 450, batch_size=1, loss="energy")
    final = np.asarray(hist["train_loss"])[:, -1]  # (n_seeds, n_epochs)
    assert np.all(final - e0 < 1e-6) and np.all(final - e0 > -EPS["float64"]), final - e0


def test_shot_based_vqe_counts_every_shot_and_lowers_the_energy():
    n = 4
    h = hamiltonian("xxz", n, delta=0.5)
    circuit = _hea(n, 2)
    est = param_shift_estimator(circuit, h, 200)
    model = Model("hea-ps", circuit, h, est)
    opt = make_optimizer("adam", 0.05)
    state = init_train_state(model, opt, jax.random.key(1), 3)
    state, hist = train_epochs(model, ground_state_task(n), opt, state, 40, batch_size=1, loss="energy")
    # the ledger: one step per epoch, (2R + 1) G circuits of 200 shots each, per seed
    per_step = est.circuits_per_call * 200
    assert est.circuits_per_call == (2 * circuit.num_rotations + 1) * len(est.plan.settings)
    np.testing.assert_array_equal(np.asarray(hist["shots"])[:, -1], 40 * per_step)  # (n_seeds, n_epochs)
    loss = np.asarray(hist["train_loss"])
    assert np.all(loss[:, -1] < loss[:, 0] - 1.0)  # noisy but clearly descending


def test_ground_state_task_validates_its_initial_state():
    assert ground_state_task(2).train_states.tolist() == [[1, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"initial_state must have shape \(4,\)"):
        ground_state_task(2, np.ones(8) / np.sqrt(8))
    with pytest.raises(ValueError, match="must be normalised"):
        ground_state_task(2, np.ones(4))
