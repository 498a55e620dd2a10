"""Key normalisation: every public ``key=`` argument goes through here.

A key is a JAX PRNG key, raw (``jax.random.PRNGKey(s)``: a (2,) uint32 array) or typed
(``jax.random.key(s)``). Host-side builders (data sets) also accept an int seed.
``numpy_rng`` derives a numpy ``Generator`` from a key, for host-side numpy sampling: same key,
same draws.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["raw_key", "numpy_rng"]


def raw_key(key, where: str) -> jax.Array:
    """A raw (2,) uint32 PRNG key from an int seed, a typed key or a raw key.

    Raises:
        TypeError: anything else (the message names ``where``).
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.PRNGKey(int(key))
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    try:
        arr = jnp.asarray(key)
    except TypeError:
        arr = None
    if arr is None or arr.dtype != jnp.uint32 or arr.ndim != 1:
        raise TypeError(f"{where}: key must be a jax PRNG key or an int seed, got {type(key).__name__}")
    return arr


def numpy_rng(key, where: str) -> np.random.Generator:
    """A numpy Generator seeded from a key or an int seed (an int seeds numpy directly)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return np.random.default_rng(int(key))
    data = np.asarray(raw_key(key, where))
    if data.size == 0:
        raise TypeError(f"{where}: key must be a jax PRNG key or an int seed, got an empty array")
    return np.random.default_rng(data.ravel().tolist())
