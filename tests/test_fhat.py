"""Both shot accountings of the SLPA (issue 16): the paper's B + 1 and the authors' per-block f_hat."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS

from slpa_jax.blocks.ansatze import paper_slpa
from slpa_jax.blocks.gradient import block_gradient_estimator
from slpa_jax.core.simulator import expectation
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.runs import build_model


def test_per_block_fhat_spends_two_b_circuits_and_is_unbiased():
    # the paper's SLPA: 24 blocks, 25 circuits per sample by the paper's accounting, 48 by the authors' code
    bc = paper_slpa(24)
    assert block_gradient_estimator(bc, 200, "ancilla").circuits_per_call == 25
    per_block = block_gradient_estimator(bc, 200, "ancilla", fhat="per_block")
    assert per_block.circuits_per_call == 48
    theta = jax.random.uniform(jax.random.key(0), (96,), maxval=2 * np.pi)
    psi = jnp.zeros(16, jnp.complex128).at[0].set(1)
    f_exact = float(expectation(bc.circuit, theta, bc.observable, psi))
    run = jax.jit(per_block)
    draws = 8  # x 24 independent block estimates each
    out = [run(theta, psi, k) for k in jax.random.split(jax.random.key(1), draws)]
    fs = np.stack([np.asarray(o[0]) for o in out])  # (draws, 96): a block's 4 parameters share its f_hat
    assert np.all(fs[:, 0] == fs[:, 3]) and not np.all(fs[:, 0] == fs[:, 4])
    blocks = fs[:, ::4]  # (draws, 24) independent 200-shot estimates of f
    se = np.sqrt((1 - f_exact**2) / 200 / blocks.size)
    assert abs(blocks.mean() - f_exact) < 4 * se
    dev = (blocks - f_exact).ravel()
    assert abs(np.mean(dev[:-1] * dev[1:]) / np.var(dev)) < 4 / np.sqrt(dev.size - 1)  # neighbours uncorrelated
    ledger = out[0][2]
    assert int(ledger.executions) == 48 and int(ledger.shots) == 48 * 200
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
