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

__all__ = ["raw_key", "numpy_rng", "check_key"]


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


def check_key(key, where: str = "key"):
    """``key`` itself if it is a JAX PRNG key (typed, or raw (2,) uint32), for traced code that
    spends randomness; a TypeError naming ``where`` otherwise (an int seed is rejected here with the
    fix in the message: functions that draw shots take keys, not seeds).
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        raise TypeError(
            f"{where}: expected a jax.random key, got the int {int(key)}; pass key=jax.random.key({int(key)})"
        )
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return key
    shape = getattr(key, "shape", None)
    if dtype is None or shape is None or dtype != jnp.uint32 or len(shape) < 1 or shape[-1] != 2:
        raise TypeError(
            f"{where}: expected a jax.random key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got "
            f"{type(key).__name__}" + (f" of dtype {dtype} and shape {tuple(shape)}" if shape is not None else "")
        )
    return key


def numpy_rng(key, where: str) -> np.random.Generator:
    """A numpy Generator seeded from a key or an int seed (an int seeds numpy directly)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return np.random.default_rng(int(key))
    data = np.asarray(raw_key(key, where))
    if data.size == 0:
        raise TypeError(f"{where}: key must be a jax PRNG key or an int seed, got an empty array")
    return np.random.default_rng(data.ravel().tolist())
