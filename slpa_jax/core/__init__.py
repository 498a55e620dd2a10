"""The engine: Pauli algebra, static circuits, the gate table, array kernels and the statevector simulator.

Every public name of the modules behind this face is re-exported here."""

from .circuit import (
    CLIFFORD_GATES,
    Circuit,
    Gate,
    Rotation,
)
from .kernels import (
    apply_gate,
    apply_pauli,
    apply_rotation,
    imag_pauli_element,
    pauli_expectation,
    pauli_expectations,
    real_overlap,
    row_view,
    zero_state,
)
from .keys import (
    numpy_rng,
    raw_key,
)
from .pauli import (
    Pauli,
    PauliSum,
    PauliTable,
    as_pauli_sum,
    commutation_matrix,
    index_weights,
    n_words,
)
from .simulator import (
    complex_dtype_for,
    expectation,
    expectations,
    statevector,
    statevector_from_angles,
)

__all__ = [
    "raw_key",
    "numpy_rng",
    "Pauli",
    "PauliTable",
    "PauliSum",
    "as_pauli_sum",
    "commutation_matrix",
    "n_words",
    "index_weights",
    "Rotation",
    "Gate",
    "Circuit",
    "CLIFFORD_GATES",
    "row_view",
    "apply_pauli",
    "apply_rotation",
    "apply_gate",
    "pauli_expectation",
    "pauli_expectations",
    "real_overlap",
    "imag_pauli_element",
    "zero_state",
    "statevector",
    "expectation",
    "expectations",
    "complex_dtype_for",
    "statevector_from_angles",
]
