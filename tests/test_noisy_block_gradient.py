"""Noisy block gradients (ancilla and ancilla-free) against independent references.

References: the noiseless block gradient (p = 0), and a dense numpy simulation of every measurement
setting (kron / expm rotations, brute-force gate matrices, each channel its own Kraus map, readout
as a kron of confusion matrices) assembled with the readout triples of ``block_measurements``.
Statistical checks: 4 standard errors with fixed keys.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL
from reference import gate_matrix, pauli_matrix, rotation_matrix

from slpa_jax.blocks.gradient import SCHEMES, block_gradient, block_gradient_estimator, block_measurements
from slpa_jax.blocks.noisy_gradient import noisy_block_gradient, noisy_block_gradient_estimator
from slpa_jax.blocks.slpa import detect_blocks
from slpa_jax.core.circuit import Circuit, Gate
from slpa_jax.measure.diagonalize import diagonalize_commuting
from slpa_jax.noise import NoiseModel, noisy_estimate_expectation

K_SIGMA = 4.0


def small_bc():
    """3 qubits, shared / scaled / signed / fixed rotations, a weighted observable: every kind of readout."""
    c = (
        Circuit(3)
        .rotation("XXI", 0)
        .rotation("-ZZI", 1, scale=0.7)
        .fixed_rotation("IYY", 0.3)
        .rotation("XIX", 0, scale=-1.3, offset=0.2)
        .rotation("YYI", 2)
        .rotation("IZX", 3)
    )
    return detect_blocks(c, [(0.8, "ZIZ")])


BC = small_bc()  # one object: the compiled programs are shared between the tests
PARAMS = np.array([0.4, -1.1, 2.0, 0.7])
PSI = np.array([0.3, 0.1j, -0.2, 0.5, 0.4 - 0.1j, 0.2, 0.6, -0.1], complex)
PSI = PSI / np.linalg.norm(PSI)
EVERY = NoiseModel(p1=0.05, p2=0.08, p_z=0.03, p_x=0.02, gamma=0.07)


# --- dense reference ------------------------------------------------------------------------------


def _on(u, q, n):
    out = np.ones((1, 1), complex)
    for k in range(n):
        out = np.kron(out, u if k == q else np.eye(2))
    return out


def _kraus(rho, ops):
    return sum(k @ rho @ k.conj().T for k in ops)


def _channels(rho, q, n, p_dep, nm):
    s = {c: pauli_matrix(c) for c in "IXYZ"}
    rho = _kraus(rho, [np.sqrt(1 - p_dep) * _on(s["I"], q, n)] + [np.sqrt(p_dep / 3) * _on(s[c], q, n) for c in "XYZ"])
    rho = _kraus(rho, [np.sqrt(1 - nm.p_z) * _on(s["I"], q, n), np.sqrt(nm.p_z) * _on(s["Z"], q, n)])
    rho = _kraus(rho, [np.sqrt(1 - nm.p_x) * _on(s["I"], q, n), np.sqrt(nm.p_x) * _on(s["X"], q, n)])
    k0, k1 = np.diag([1, np.sqrt(1 - nm.gamma)]), np.array([[0, np.sqrt(nm.gamma)], [0, 0]])
    return _kraus(rho, [_on(k0, q, n), _on(k1, q, n)])


def dense_rho(ops, n, params, nm, rho):
    for op in ops:
        if isinstance(op, Gate):
            u, qubits = gate_matrix(op.name, op.qubits, n), (op.qubits if nm.gates else ())
        else:
            angle = op.offset + (0.0 if op.param is None else op.scale * params[op.param])
            sign = -1.0 if op.pauli.phase == 2 else 1.0  # R_{-P}(t) = R_P(-t)
            u = rotation_matrix(op.pauli.letters, sign * angle)
            qubits = [q for q, ch in enumerate(op.pauli.letters) if ch != "I"]
        rho = u @ rho @ u.conj().T
        for q in qubits:
            rho = _channels(rho, q, n, nm.p1 if len(qubits) == 1 else nm.p2, nm)
    return rho


def dense_noisy_gradient(bc, scheme, params, nm, psi, via_readout: bool):
    """sum over settings of factor * <observable>, each setting simulated densely.

    via_readout: the setting's Clifford runs (noisy), bits are read through the confusion matrices and
    the diagonalisation's parities give the values; else values are Tr(rho O) of the dense signed O.
    """
    n = bc.n_qubits
    grad = np.zeros(bc.n_params)
    for m in block_measurements(bc, scheme):
        k = m.circuit.n_qubits
        v = psi if k == n else np.kron(psi, [1.0, 0.0])
        rho = dense_rho(m.circuit.ops, k, params, nm, np.outer(v, v.conj()))
        if via_readout:
            d = diagonalize_commuting(m.observables)
            rho = dense_rho(d.clifford.ops, k, params, nm, rho)
            conf = np.ones((1, 1))
            for row in nm.readout_matrices(k):
                conf = np.kron(conf, row)
            p = np.real(np.diag(rho)) @ conf
            bits = (np.arange(2**k)[:, None] >> (k - 1 - np.arange(k))) & 1
            vals = [s * p @ (-1.0) ** (bits @ z.astype(int)) for z, s in zip(d.z_masks, d.signs)]
        else:
            vals = [np.real(np.trace(rho @ ((1j**o.phase) * pauli_matrix(o.letters)))) for o in m.observables]
        for param, obs, factor in m.readout:
            grad[param] += factor * vals[obs]
    return grad


# --- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_zero_noise_reproduces_the_noiseless_block_gradient_and_estimator(scheme):
    bc = BC
    p = jnp.asarray(PARAMS)
    got, ledger = noisy_block_gradient(bc, p, NoiseModel(), scheme=scheme, state=jnp.asarray(PSI))
    want, _ = block_gradient(bc, p, scheme=scheme, state=jnp.asarray(PSI))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=TOL["float64"], rtol=0)
    assert int(ledger.shots) == 0
    f, g, led = noisy_block_gradient_estimator(bc, NoiseModel(), None, scheme)(p, jnp.asarray(PSI), None)
    f0, g0, _ = block_gradient_estimator(bc, None, scheme)(p, jnp.asarray(PSI), None)
    np.testing.assert_allclose([float(f), *np.asarray(g)], [float(f0), *np.asarray(g0)], atol=TOL["float64"], rtol=0)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_density_noisy_gradient_equals_dense_kraus_reference(scheme):
    bc = BC
    n_sim = 4 if scheme == "ancilla" else 3
    nm = EVERY.replace(readout_01=tuple(0.01 * (q + 1) for q in range(n_sim)), readout_10=0.04)
    got, _ = noisy_block_gradient(bc, jnp.asarray(PARAMS), nm, scheme=scheme, state=jnp.asarray(PSI))
    want = dense_noisy_gradient(bc, scheme, PARAMS, nm, PSI, via_readout=True)
    np.testing.assert_allclose(np.asarray(got), want, atol=TOL["float64"], rtol=0)
    # without gate noise and readout error the settings measure Tr(rho O) exactly (no Clifford needed)
    nm = EVERY.replace(gates=False)
    got, _ = noisy_block_gradient(bc, jnp.asarray(PARAMS), nm, scheme=scheme, state=jnp.asarray(PSI))
    want = dense_noisy_gradient(bc, scheme, PARAMS, nm, PSI, via_readout=False)
    np.testing.assert_allclose(np.asarray(got), want, atol=TOL["float64"], rtol=0)
    assert np.abs(want - np.asarray(block_gradient(bc, jnp.asarray(PARAMS), scheme=scheme)[0])).max() > 1e-3


@pytest.mark.parametrize("scheme", SCHEMES)
def test_shot_estimates_are_unbiased_within_4_standard_errors(scheme):
    """Mean and variance over 300 keys vs the exact noisy values; the estimator's f_hat and ledger too."""
    bc, p, shots, reps = BC, jnp.asarray(PARAMS), 100, 300
    exact, _ = noisy_block_gradient(bc, p, EVERY, scheme=scheme, state=jnp.asarray(PSI))
    est = noisy_block_gradient_estimator(bc, EVERY, shots, scheme)
    run = jax.jit(jax.vmap(est, in_axes=(None, None, 0)))
    f, g, led = run(p, jnp.asarray(PSI), jax.random.split(jax.random.key(7), reps))
    m = len(block_measurements(bc, scheme))
    assert est.circuits_per_call == m + 1
    assert np.all(np.asarray(led.executions) == m + 1) and np.all(np.asarray(led.shots) == (m + 1) * shots)
    g = np.asarray(g)
    se = g.std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(se > 0)
    assert np.all(np.abs(g.mean(0) - np.asarray(exact)) <= K_SIGMA * se)
    f_exact, _ = noisy_estimate_expectation(bc.circuit, p, bc.observable, EVERY, state=jnp.asarray(PSI))
    f, c = np.asarray(f), 0.8  # f_hat = c <ZIZ>, one +-1 average of `shots` shots: var c^2 (1 - <P>^2) / shots
    assert abs(f.mean() - float(f_exact)) <= K_SIGMA * f.std(ddof=1) / np.sqrt(reps)
    var = c**2 * (1 - (float(f_exact) / c) ** 2) / shots
    assert abs(f.var(ddof=1) / var - 1) <= K_SIGMA * np.sqrt(2 / (reps - 1))
    # same key, same result
    again = run(p, jnp.asarray(PSI), jax.random.split(jax.random.key(7), reps))[1]
    np.testing.assert_array_equal(np.asarray(again), g)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_trajectories_agree_with_density_within_4_standard_errors(scheme):
    bc, p = BC, jnp.asarray(PARAMS)
    exact, _ = noisy_block_gradient(bc, p, EVERY, scheme=scheme, state=jnp.asarray(PSI))
    run = jax.jit(
        jax.vmap(
            lambda k: noisy_block_gradient(
                bc, p, EVERY, scheme=scheme, state=jnp.asarray(PSI), method="trajectories", trajectories=16, key=k
            )[0]
        )
    )
    keys = jax.random.split(jax.random.key(11), 24)  # 24 x 16 trajectories
    g = np.asarray(run(keys))
    se = g.std(axis=0, ddof=1) / np.sqrt(g.shape[0])
    assert np.all(se > 0)
    assert np.all(np.abs(g.mean(0) - np.asarray(exact)) <= K_SIGMA * se)
    np.testing.assert_array_equal(np.asarray(run(keys)), g)  # same key, same result


def test_bad_input_gives_clear_errors():
    bc = BC
    p = jnp.asarray(PARAMS)
    with pytest.raises(ValueError, match="readout_01 has 3 entries, expected 4 .one per qubit, the ancilla last"):
        noisy_block_gradient(bc, p, NoiseModel(readout_01=(0.1, 0.1, 0.1)), scheme="ancilla")
    with pytest.raises(ValueError, match="scheme: expected one of"):
        noisy_block_gradient(bc, p, NoiseModel(), scheme="nope")
    with pytest.raises(ValueError, match="method: expected one of"):
        noisy_block_gradient(bc, p, NoiseModel(), method="exact")
    with pytest.raises(ValueError, match="key is required"):
        noisy_block_gradient(bc, p, NoiseModel(), shots=10)
    with pytest.raises(ValueError, match="trajectories: expected a positive int"):
        noisy_block_gradient_estimator(bc, NoiseModel(), 10, method="trajectories", trajectories=0)
    with pytest.raises(TypeError, match="noise must be a NoiseModel"):
        noisy_block_gradient(bc, p, {"p2": 0.1})
    with pytest.raises(TypeError, match="expected a BlockCircuit"):
        noisy_block_gradient_estimator(bc.circuit, NoiseModel(), 10)
