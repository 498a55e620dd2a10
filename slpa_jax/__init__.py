"""slpa-jax: pure-JAX statevector simulation and shot-faithful training of Pauli-rotation QNNs.

Conventions: ``R_P(theta) = exp(-i theta P / 2)``; label character q acts on qubit q; qubit 0 is the
most significant bit of a statevector index. See ``docs/`` and the spec for the science.
"""

from .circuit import CLIFFORD_GATES, Circuit, Gate, Rotation
from .pauli import Pauli, PauliSum, PauliTable, as_pauli_sum, commutation_matrix
from .simulator import expectation, expectations, statevector

__version__ = "0.1.0"

__all__ = [
    "CLIFFORD_GATES",
    "Circuit",
    "Gate",
    "Rotation",
    "Pauli",
    "PauliSum",
    "PauliTable",
    "as_pauli_sum",
    "commutation_matrix",
    "expectation",
    "expectations",
    "statevector",
]
