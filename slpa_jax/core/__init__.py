"""The engine: Pauli algebra, static circuits, the gate table, array kernels and the statevector simulator.

Every public name of the modules behind this face is re-exported here."""

from .circuit import (
    CLIFFORD_GATES,
    Circuit,
    Gate,
    Rotation,
)
from .gates import (
    GATES,
    GateSpec,
    conjugate_paulis,
    gate_spec,
)
from .gf2 import (
    independent_rows,
    nullspace,
    rank,
    rref,
    solve,
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
    anticommute_parity,
    as_pauli_sum,
    as_pauli_table,
    commutation_matrix,
    index_weights,
    n_words,
    string_keys,
)
from .simulator import (
    complex_dtype_for,
    expectation,
    expectations,
    group_states,
    initial_state,
    rotation_batch,
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
    "as_pauli_table",
    "anticommute_parity",
    "string_keys",
    "commutation_matrix",
    "n_words",
    "index_weights",
    "rref",
    "rank",
    "nullspace",
    "solve",
    "independent_rows",
    "GateSpec",
    "GATES",
    "gate_spec",
    "conjugate_paulis",
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
    "initial_state",
    "statevector_from_angles",
    "group_states",
    "rotation_batch",
]
