"""Type aliases for the traced arguments of the public API, with their shapes and conventions.

Annotations document; they do not check. Shapes use ``n`` qubits and ``n_params`` parameters.

Example:
    >>> import jax.numpy as jnp
    >>> from slpa_jax.core.types import Params
    >>> isinstance(jnp.zeros(3), Params)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

from .pauli import Pauli, PauliSum

__all__ = ["Params", "State", "Key", "Observable", "Real"]

#: (n_params,) real rotation angles in radians (float32 by default, float64 under x64).
Params = jax.Array
#: (2**n,) complex statevector, qubit 0 the most significant index bit (complex64 by default).
State = jax.Array
#: A ``jax.random`` key: typed (``jax.random.key``) or raw uint32[2] (``jax.random.PRNGKey``).
Key = jax.Array
#: A real scalar or array (an expectation value, a loss).
Real = jax.Array | np.ndarray | float
#: An observable: a label, a ``Pauli``, a ``PauliSum`` or a list of ``(coefficient, label)``.
Observable = str | Pauli | PauliSum | Sequence[tuple[float, str]]
