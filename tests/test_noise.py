"""Noise models and the two noisy simulation paths, against independent references.

References: dense numpy Kraus maps (each channel applied on its own, kron-expanded), Qiskit Aer's
density-matrix simulator with its own channel constructors, and closed forms for readout error.
Statistical checks use 4 standard errors computed from the known variances, with fixed keys.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS, TOL
from reference import gate_matrix, pauli_matrix, random_label, random_state, rotation_matrix

from slpa_jax.core.circuit import Circuit, Gate
from slpa_jax.core.simulator import expectation, statevector
from slpa_jax.measure.diagonalize import diagonalize_commuting
from slpa_jax.measure.param_shift import param_shift_estimator
from slpa_jax.noise import (
    NoiseModel,
    density_matrix,
    density_probabilities,
    noisy_estimate_expectation,
    noisy_param_shift_estimator,
    noisy_param_shift_grad,
    readout_probabilities,
    trajectory_probabilities,
    trajectory_state,
)

EVERY_CHANNEL = NoiseModel(p1=0.05, p2=0.08, p_z=0.03, p_x=0.02, gamma=0.07)
K_SIGMA = 4.0


def random_circuit(seed: int, n: int = 3, depth: int = 8) -> tuple[Circuit, np.ndarray]:
    """Random rotations of every weight with Clifford gates of every arity in between."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    gates = ["H", "S", "SDG", "X", "Y", "Z", "CNOT", "CZ", "SWAP"]
    for i in range(depth):
        c = c.rotation(random_label(rng, n), i, scale=float(rng.choice([1.0, -0.5])), offset=float(rng.normal()))
        if i % 2:
            g = gates[int(rng.integers(len(gates)))]
            qs = rng.choice(n, size=2 if g in ("CNOT", "CZ", "SWAP") else 1, replace=False)
            c = c.gate(g, *[int(q) for q in qs])
    return c, rng.uniform(0, 2 * np.pi, depth)


# --- a dense reference: each channel as its own Kraus map ----------------------------------------


def _on(u, q, n):
    mats = [np.eye(2)] * n
    mats[q] = u
    out = np.ones((1, 1), complex)
    for m in mats:
        out = np.kron(out, m)
    return out


def _kraus(rho, ops):
    return sum(k @ rho @ k.conj().T for k in ops)


def _qubit_channels(rho, q, n, p_dep, nm):
    s = {c: pauli_matrix(c) for c in "IXYZ"}
    rho = _kraus(rho, [np.sqrt(1 - p_dep) * _on(s["I"], q, n)] + [np.sqrt(p_dep / 3) * _on(s[c], q, n) for c in "XYZ"])
    rho = _kraus(rho, [np.sqrt(1 - nm.p_z) * _on(s["I"], q, n), np.sqrt(nm.p_z) * _on(s["Z"], q, n)])
    rho = _kraus(rho, [np.sqrt(1 - nm.p_x) * _on(s["I"], q, n), np.sqrt(nm.p_x) * _on(s["X"], q, n)])
    k0 = np.diag([1, np.sqrt(1 - nm.gamma)])
    k1 = np.array([[0, np.sqrt(nm.gamma)], [0, 0]])
    return _kraus(rho, [_on(k0, q, n), _on(k1, q, n)])


def dense_noisy_rho(circuit: Circuit, params, nm: NoiseModel, psi0) -> np.ndarray:
    n = circuit.n_qubits
    rho = np.outer(psi0, psi0.conj())
    for op in circuit.ops:
        if isinstance(op, Gate):
            u, qubits = gate_matrix(op.name, op.qubits, n), op.qubits if nm.gates else ()
        else:
            angle = op.offset + (op.scale * params[op.param] if op.param is not None else 0.0)
            u = rotation_matrix(op.pauli.letters, angle)
            qubits = [q for q, ch in enumerate(op.pauli.letters) if ch != "I"]
        rho = u @ rho @ u.conj().T
        for q in qubits:
            rho = _qubit_channels(rho, q, n, nm.p1 if len(qubits) == 1 else nm.p2, nm)
    return rho


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("gates", [True, False])
def test_density_matrix_equals_dense_kraus_reference(seed, gates):
    circ, params = random_circuit(seed)
    nm = EVERY_CHANNEL.replace(gates=gates)
    psi0 = random_state(np.random.default_rng(seed + 10), 3)
    got = np.asarray(density_matrix(circ, jnp.asarray(params), nm, jnp.asarray(psi0)))
    assert got.dtype == np.complex128
    np.testing.assert_allclose(got, dense_noisy_rho(circ, params, nm, psi0), atol=TOL["complex128"], rtol=0)


def test_density_matrix_is_complex64_by_default_and_jit_vmap_agree():
    circ, params = random_circuit(3)
    p32 = jnp.asarray(params, jnp.float32)
    rho32 = density_matrix(circ, p32, EVERY_CHANNEL)
    assert rho32.dtype == jnp.complex64
    ref = dense_noisy_rho(circ, params, EVERY_CHANNEL, np.eye(8)[0])
    np.testing.assert_allclose(np.asarray(rho32), ref, atol=10 * TOL["complex64"], rtol=0)
    batch = jnp.stack([jnp.asarray(params), jnp.asarray(params) + 0.3])
    f = lambda p: density_matrix(circ, p, EVERY_CHANNEL)  # noqa: E731
    vm = jax.vmap(f)(batch)
    jt = jax.jit(f)(batch[1])
    np.testing.assert_allclose(np.asarray(vm[1]), np.asarray(f(batch[1])), atol=TOL["complex128"], rtol=0)
    np.testing.assert_allclose(np.asarray(jt), np.asarray(f(batch[1])), atol=TOL["complex128"], rtol=0)


# --- Qiskit Aer's density-matrix simulator with the equivalent NoiseModel -------------------------


def _aer_density(qc, noise_model):
    aer = pytest.importorskip("qiskit_aer", reason="qiskit-aer is not installed (pip install 'slpa-jax[noise]')")
    qc = qc.copy()
    qc.save_density_matrix()
    qc.save_probabilities()
    data = aer.AerSimulator(method="density_matrix", noise_model=noise_model).run(qc).result().data()
    n = qc.num_qubits
    rho = np.asarray(data["density_matrix"]).reshape((2,) * (2 * n))
    rev = list(range(n))[::-1]
    rho = rho.transpose(rev + [n + q for q in rev]).reshape(2**n, 2**n)  # Qiskit's qubit 0 is the lowest bit
    probs = np.asarray(data["probabilities"]).reshape((2,) * n).transpose(rev).reshape(-1)
    return rho, probs


@pytest.mark.parametrize("seed", [0, 2])
def test_density_path_equals_aer_density_matrix_simulator(seed):
    pytest.importorskip("qiskit_aer", reason="qiskit-aer is not installed (pip install 'slpa-jax[noise]')")
    from slpa_jax.export.aer import to_aer_noise_model, to_qiskit_logical

    circ, params = random_circuit(seed)
    # a general-commuting setting: its Clifford has CNOT / CZ / H / S gates, noisy too
    diag = diagonalize_commuting(["XXI", "YYI", "ZZI"])
    full = Circuit(3, circ.ops + diag.clifford.ops, circ.n_params)
    model = to_aer_noise_model(EVERY_CHANNEL, 3)
    rho_aer, probs_aer = _aer_density(to_qiskit_logical(full, params), model)
    rho = density_matrix(full, jnp.asarray(params), EVERY_CHANNEL)
    np.testing.assert_allclose(np.asarray(rho), rho_aer, atol=TOL["complex128"], rtol=0)
    probs = density_probabilities(circ, jnp.asarray(params), EVERY_CHANNEL, diag)
    np.testing.assert_allclose(np.asarray(probs), probs_aer, atol=TOL["float64"], rtol=0)


# --- trajectories ---------------------------------------------------------------------------------


def test_trajectory_average_is_the_mean_of_single_trajectories_and_agrees_with_density():
    circ, params = random_circuit(4, depth=6)
    p = jnp.asarray(params)
    key = jax.random.key(7)
    n_traj = 512
    keys = jax.random.split(jax.random.key_data(key), n_traj)
    states = jax.vmap(lambda k: trajectory_state(circ, p, EVERY_CHANNEL, key=k))(keys)
    norms = jnp.sum(jnp.abs(states) ** 2, axis=1)
    np.testing.assert_allclose(np.asarray(norms), 1.0, atol=TOL["float64"])
    mean = trajectory_probabilities(circ, p, EVERY_CHANNEL, key=key, trajectories=n_traj, batch=128)
    np.testing.assert_allclose(np.asarray(mean), np.asarray(jnp.mean(jnp.abs(states) ** 2, 0)), atol=TOL["float64"])
    # every observable of rho: <P>_t per trajectory against the exact noisy value, 4 standard errors
    rho = np.asarray(dense_noisy_rho(circ, params, EVERY_CHANNEL, np.eye(8)[0]))
    psi = np.asarray(states)
    for label in ("ZII", "XYI", "IZZ", "YXZ"):
        pm = pauli_matrix(label)
        vals = np.real(np.einsum("ti,ij,tj->t", psi.conj(), pm, psi))
        se = vals.std(ddof=1) / np.sqrt(n_traj)
        assert abs(vals.mean() - np.real(np.trace(pm @ rho))) < K_SIGMA * se + EPS["float64"], label


def test_trajectory_shot_estimate_agrees_with_density_within_4_se():
    circ, params = random_circuit(5, depth=6)
    p = jnp.asarray(params)
    nm = EVERY_CHANNEL.replace(readout_01=0.03, readout_10=(0.05, 0.0, 0.1))
    obs = [(1.0, "XXI"), (0.5, "XIZ")]  # one QWC setting, two correlated parities
    exact, led0 = noisy_estimate_expectation(circ, p, obs, nm)
    assert int(led0.shots) == 0
    shots, n_traj = 20000, 256
    est, led = noisy_estimate_expectation(
        circ, p, obs, nm, shots=shots, key=jax.random.key(3), method="trajectories", trajectories=n_traj
    )
    assert (int(led.executions), int(led.shots)) == (1, shots)
    # variance bound: shot noise of sum_k c_k P_k (<= (sum |c_k|)**2 / N) plus the trajectory spread (<= idem / T)
    se = sum(abs(c) for c, _ in obs) * np.sqrt(1.0 / shots + 1.0 / n_traj)
    assert abs(float(est) - float(exact)) < K_SIGMA * se


# --- readout error --------------------------------------------------------------------------------


def test_readout_error_matches_its_closed_form():
    rng = np.random.default_rng(0)
    probs = rng.random(8)
    probs /= probs.sum()
    nm = NoiseModel(readout_01=(0.1, 0.02, 0.3), readout_10=(0.05, 0.2, 0.0))
    mats = [np.array([[1 - a, a], [b, 1 - b]]) for a, b in zip(nm.readout_01, nm.readout_10)]
    full = np.kron(np.kron(mats[0], mats[1]), mats[2])  # full[prepared, read], qubit 0 most significant
    got = np.asarray(readout_probabilities(jnp.asarray(probs), nm))
    np.testing.assert_allclose(got, full.T @ probs, atol=EPS["float64"], rtol=0)
    # one qubit: P(read 1) = p1 (1 - r10) + (1 - p1) r01
    one = readout_probabilities(jnp.array([0.3, 0.7]), NoiseModel(readout_01=0.1, readout_10=0.2))
    assert abs(float(one[1]) - (0.7 * 0.8 + 0.3 * 0.1)) < EPS["float64"]
    # no readout error: the distribution itself
    assert readout_probabilities(jnp.asarray(probs), NoiseModel(p1=0.1)) is not None
    np.testing.assert_array_equal(np.asarray(readout_probabilities(jnp.asarray(probs), NoiseModel())), probs)


# --- p = 0 is the noiseless simulator -------------------------------------------------------------


def test_zero_noise_reproduces_the_noiseless_results():
    circ, params = random_circuit(6, depth=5)
    p = jnp.asarray(params)
    psi0 = jnp.asarray(random_state(np.random.default_rng(1), 3))
    zero = NoiseModel()
    psi = statevector(circ, p, psi0)
    rho = density_matrix(circ, p, zero, psi0)
    np.testing.assert_allclose(np.asarray(rho), np.outer(psi, jnp.conj(psi)), atol=TOL["complex128"], rtol=0)
    traj = trajectory_probabilities(circ, p, zero, key=jax.random.key(0), trajectories=2, state=psi0)
    np.testing.assert_allclose(np.asarray(traj), np.abs(np.asarray(psi)) ** 2, atol=TOL["float64"], rtol=0)
    obs = [(1.0, "XXI"), (0.5, "IZZ"), (0.25, "ZZI")]
    key = jax.random.key(11)
    # same key: the same shots as the noiseless estimator (equal distributions, same key splits, same
    # draws); f_hat runs the plan of two QWC settings {XXI} and {IZZ, ZZI}. The noiseless one is jitted
    # here only to keep the test fast.
    e1 = noisy_param_shift_estimator(circ, obs, zero, 200)(p, psi0, key)
    e2 = jax.jit(param_shift_estimator(circ, obs, 200).fn)(p, psi0, key)
    assert abs(float(e1[0]) - float(e2[0])) < EPS["float64"]
    np.testing.assert_allclose(np.asarray(e1[1]), np.asarray(e2[1]), atol=EPS["float64"], rtol=0)
    n_rot = circ.num_rotations
    assert (int(e1[2].executions), int(e1[2].shots)) == (int(e2[2].executions), int(e2[2].shots))
    assert (int(e1[2].executions), int(e1[2].shots)) == ((2 * n_rot + 1) * 2, (2 * n_rot + 1) * 2 * 200)
    # exact modes
    ex, _ = noisy_estimate_expectation(circ, p, obs, zero, state=psi0)
    assert abs(float(ex) - float(expectation(circ, p, obs, psi0))) < TOL["float64"]


# --- noisy gradients ------------------------------------------------------------------------------


#: Central finite differences of the dense reference, step FD_STEP: truncation error ~ FD_STEP**2.
FD_STEP = 1e-4
FD_TOL = 1e-6


def dense_noisy_value(circuit, params, nm, z_qubits):
    """<Z^z_qubits> of the read bitstrings: dense noisy rho, its diagonal, readout confusion by kron."""
    n = circuit.n_qubits
    probs = np.real(np.diag(dense_noisy_rho(circuit, params, nm, np.eye(2**n)[0])))
    full = np.ones((1, 1))
    for a, b in zip(np.broadcast_to(nm.readout_01, n), np.broadcast_to(nm.readout_10, n)):
        full = np.kron(full, np.array([[1 - a, a], [b, 1 - b]]))
    read = full.T @ probs
    parity = [(-1) ** sum((j >> (n - 1 - q)) & 1 for q in z_qubits) for j in range(2**n)]
    return float(read @ np.array(parity))


def test_noisy_param_shift_is_the_gradient_of_the_noisy_value_and_unbiased():
    circ, params = random_circuit(8, depth=5)
    p = jnp.asarray(params)
    nm = EVERY_CHANNEL.replace(readout_01=0.02, readout_10=0.04)
    obs = "ZIZ"
    exact_grad, led = noisy_param_shift_grad(circ, p, obs, nm)
    assert int(led.shots) == 0
    fd = np.zeros_like(params)
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = FD_STEP
        fd[i] = (dense_noisy_value(circ, params + e, nm, (0, 2)) - dense_noisy_value(circ, params - e, nm, (0, 2))) / (
            2 * FD_STEP
        )
    np.testing.assert_allclose(np.asarray(exact_grad), fd, atol=FD_TOL, rtol=0)
    assert np.abs(fd).max() > 0.05  # a gradient that is not trivially zero
    shots = 4000
    est = noisy_param_shift_estimator(circ, obs, nm, shots)
    f_hat, g_hat, ledger = jax.jit(est.fn)(p, None, jax.random.key(5))
    n_rot = circ.num_rotations
    assert (int(ledger.executions), int(ledger.shots)) == ((2 * n_rot + 1), (2 * n_rot + 1) * shots)
    assert est.circuits_per_call == 2 * n_rot + 1
    # one Pauli per setting: Var(fhat) <= 1/N; each gradient entry is (scale/2)(f+ - f-) (one rotation per param)
    scale = np.array([op.scale for op in circ.rotations])
    assert abs(float(f_hat) - dense_noisy_value(circ, params, nm, (0, 2))) < K_SIGMA / np.sqrt(shots)
    se = np.abs(scale) / 2 * np.sqrt(2.0 / shots)
    assert np.all(np.abs(np.asarray(g_hat) - np.asarray(exact_grad)) < K_SIGMA * se)


# --- bad input ------------------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match=r"p1 must be a probability in \[0, 1\], got 1.5"):
        NoiseModel(p1=1.5)
    with pytest.raises(ValueError, match=r"gamma must be a probability in \[0, 1\], got -0.1"):
        NoiseModel(gamma=-0.1)
    with pytest.raises(ValueError, match=r"readout_10\[1\] must be a probability"):
        NoiseModel(readout_10=(0.1, 2.0))
    with pytest.raises(TypeError, match="p_x must be a probability .* got str"):
        NoiseModel(p_x="0.1")
    with pytest.raises(ValueError, match="readout_01 and readout_10 must have the same length"):
        NoiseModel(readout_01=(0.1, 0.1), readout_10=(0.1,))
    with pytest.raises(TypeError, match="unknown field"):
        NoiseModel().replace(p3=0.1)
    circ, params = random_circuit(0)
    p = jnp.asarray(params)
    wrong = NoiseModel(readout_01=(0.1, 0.1))
    with pytest.raises(ValueError, match="readout_01 has 2 entries .one per qubit., but the circuit has 3 qubits"):
        density_probabilities(circ, p, wrong)
    with pytest.raises(ValueError, match="readout_01 has 2 entries"):
        noisy_estimate_expectation(circ, p, "ZZZ", wrong, shots=10, key=jax.random.key(0))
    with pytest.raises(TypeError, match="noise must be a NoiseModel, got dict"):
        density_matrix(circ, p, {"p1": 0.1})
    with pytest.raises(ValueError, match="method: expected one of .'density', 'trajectories'., got 'exact'"):
        noisy_estimate_expectation(circ, p, "ZZZ", EVERY_CHANNEL, method="exact")
    with pytest.raises(ValueError, match="trajectories: expected a positive int"):
        noisy_estimate_expectation(circ, p, "ZZZ", EVERY_CHANNEL, method="trajectories", trajectories=0)
    with pytest.raises(ValueError, match="key is required when shots is given"):
        noisy_estimate_expectation(circ, p, "ZZZ", EVERY_CHANNEL, shots=10)
    with pytest.raises(ValueError, match="batch: expected a positive int dividing trajectories=10"):
        trajectory_probabilities(circ, p, EVERY_CHANNEL, key=jax.random.key(0), trajectories=10, batch=3)
    with pytest.raises(ValueError, match="density-matrix path supports n_qubits <= 14 .* got 15; use the trajectory"):
        density_matrix(Circuit.from_labels(["X" * 15]), jnp.zeros(1), EVERY_CHANNEL)
    with pytest.raises(ValueError, match="shots: expected a positive int, got 0"):
        noisy_estimate_expectation(circ, p, "ZZZ", EVERY_CHANNEL, shots=0, key=jax.random.key(0))
