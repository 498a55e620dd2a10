"""Both shot accountings of the SLPA (issue 16): the paper's B + 1 and the authors' per-block f_hat."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS

from slpa_jax.blocks.ansatze import paper_slpa
from slpa_jax.blocks.gradient import block_gradient_estimator, block_measurements
from slpa_jax.core.simulator import expectation
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.runs import build_model


def test_per_block_fhat_spends_two_b_circuits_and_is_unbiased():
    # the paper's SLPA: 24 blocks, 25 circuits per sample by the paper's accounting, 48 by the authors' code
    assert block_gradient_estimator(paper_slpa(24), 200, "ancilla").circuits_per_call == 25
    assert block_gradient_estimator(paper_slpa(24), 200, "ancilla", fhat="per_block").circuits_per_call == 48
    bc = paper_slpa(4)  # 4 blocks of 4: the statistics on a small model
    theta = jax.random.uniform(jax.random.key(0), (16,), maxval=2 * np.pi)
    psi = jnp.zeros(16, jnp.complex128).at[0].set(1)
    per_block = block_gradient_estimator(bc, 200, "ancilla", fhat="per_block")
    f_exact = float(expectation(bc.circuit, theta, bc.observable, psi))
    draws = 300
    fs = np.asarray(
        jax.jit(jax.vmap(lambda k: per_block(theta, psi, k)[0]))(jax.random.split(jax.random.key(1), draws))
    )
    assert fs.shape == (draws, 16) and np.all(fs[:, 0] == fs[:, 3]) and not np.all(fs[:, 0] == fs[:, 4])
    # each block's f_hat is an independent 200-shot estimate: unbiased, uncorrelated across blocks
    se = np.sqrt((1 - f_exact**2) / 200 / (4 * draws))
    assert abs(fs[:, ::4].mean() - f_exact) < 4 * se
    assert abs(np.corrcoef(fs[:, 0], fs[:, 4])[0, 1]) < 4 / np.sqrt(draws)
    _, _, ledger = per_block(theta, psi, jax.random.key(2))
    m = len(block_measurements(bc, "ancilla"))  # gradient circuits (a block with zero gradient has none)
    assert int(ledger.executions) == m + 4 == per_block.circuits_per_call and int(ledger.shots) == (m + 4) * 200
    # exact mode: the exact f for every parameter
    f_ex = block_gradient_estimator(bc, None, "ancilla", fhat="per_block")(theta, psi, None)[0]
    np.testing.assert_allclose(np.asarray(f_ex), f_exact, atol=EPS["float64"])


def test_config_key_and_its_errors():
    base = {"name": "x", "task": {"kind": "symmetric_unitary", "n_qubits": 4}, "shots": 100}
    cfg = parse_config({**base, "models": [{"ansatz": "slpa", "estimator": "ancilla", "fhat": "per_block"}]})
    assert build_model(cfg, 0).estimator.circuits_per_call == 48
    with pytest.raises(ConfigError, match=r"models\[0\].fhat': expected 'shared' unless the estimator is a block"):
        parse_config({**base, "models": [{"ansatz": "sc", "estimator": "param_shift", "fhat": "per_block"}]})
    with pytest.raises(ConfigError, match=r"models\[0\].fhat': expected one of \['shared', 'per_block'\]"):
        parse_config({**base, "models": [{"ansatz": "slpa", "estimator": "ancilla", "fhat": "each"}]})
