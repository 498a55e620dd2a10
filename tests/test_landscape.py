"""Fig. 10 statistics: deep SC and SLPA reach the spec's closed-form variance plateau."""

import jax
import numpy as np
import pytest

from slpa_jax.analysis.landscape import expectation_samples, expectation_variance, variance_plateau
from slpa_jax.blocks import ansatze


def test_plateau_closed_form():
    assert variance_plateau(14) == pytest.approx(0.5 / (2**12 + 1))
    assert variance_plateau(14) == pytest.approx(1.22e-4, rel=1e-2)
    with pytest.raises(ValueError, match="n must be >= 2"):
        variance_plateau(1)


@pytest.mark.parametrize("name", ["sc", "slpa"])
def test_deep_circuits_reach_plateau(name):
    n = 6
    circuit = ansatze.fig10_sc_circuit(n, 36) if name == "sc" else ansatze.fig10_slpa_circuit(n, 18)
    obs = "XX" + "I" * (n - 2)
    samples = jax.jit(lambda k: expectation_samples(circuit, obs, key=k, n_samples=3000, batch_size=500))(
        jax.random.PRNGKey(7)
    )
    var, se = expectation_variance(samples)
    # Exact mean is 0: averaging R_G(theta) . R_G(theta)^dag over a uniform theta is the Pauli channel
    # rho -> (rho + G rho G)/2, which only removes Pauli components of |0..0><0..0| (Z strings), so no
    # X0 X1 component ever appears.
    assert abs(np.mean(samples)) < 4 * np.sqrt(var / samples.size)
    assert abs(var - variance_plateau(n)) < 4 * se


def test_samples_reproducible_and_validated():
    c = ansatze.fig10_sc_circuit(4, 2)
    a = expectation_samples(c, "XXII", key=jax.random.PRNGKey(1), n_samples=8, batch_size=3)
    b = expectation_samples(c, "XXII", key=jax.random.PRNGKey(1), n_samples=8, batch_size=3)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="n_samples must be an int >= 1"):
        expectation_samples(c, "XXII", key=jax.random.PRNGKey(1), n_samples=0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        expectation_samples(c, "XXII", key=jax.random.PRNGKey(1), n_samples=4, batch_size=0)
    with pytest.raises(ValueError, match="need at least 4 samples"):
        expectation_variance([1.0, 2.0])
