"""Readout error on outcome distributions: per-qubit (asymmetric) bit-flip confusion.

Qubit ``q`` prepared in ``b`` is read as ``b'`` with probability ``M[q, b, b']``
(``NoiseModel.readout_matrices``). Independent flips on every qubit turn an outcome distribution
``p`` (index bit ``n-1-q`` = qubit ``q``) into ``p'[b'] = sum_b prod_q M[q, b_q, b'_q] p[b]``: one
2x2 contraction per qubit on the (2,)*n view. Applying it to the exact distribution before
multinomial sampling gives counts with exactly the law of flipping every sampled bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .model import NoiseModel, as_noise_model

__all__ = ["readout_probabilities"]


def readout_probabilities(probs: jax.Array, noise: NoiseModel) -> jax.Array:
    """The distribution of the *read* bitstrings given the (2**n,) distribution of the measured ones.

    Args:
        probs: (2**n,) real outcome probabilities (qubit q = index bit n-1-q).
        noise: the ``NoiseModel`` whose ``readout_01`` / ``readout_10`` apply.

    Returns:
        (2**n,) probabilities (same dtype); ``probs`` itself when the model has no readout error.

    Raises:
        ValueError: ``probs`` is not of length 2**n, or per-qubit readout errors of another length.
    """
    noise = as_noise_model(noise, "readout_probabilities")
    probs = jnp.asarray(probs)
    size = probs.shape[0] if probs.ndim == 1 else 0
    if size < 2 or size & (size - 1):
        raise ValueError(f"probs: expected a 1-D array of length 2**n (n >= 1), got shape {tuple(probs.shape)}")
    n = size.bit_length() - 1
    noise.check_qubits(n, "readout_probabilities")
    if not noise.has_readout_error:
        return probs
    mats = noise.readout_matrices(n)
    t = probs.reshape((2,) * n)
    for q in range(n):
        m = jnp.asarray(mats[q], probs.dtype)
        t = jnp.moveaxis(jnp.tensordot(m, t, axes=([0], [q])), 0, q)  # out[b'] = sum_b M[b, b'] p[b]
    return t.reshape(-1)
