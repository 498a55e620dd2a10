"""Measurement and shots: ledgers, grouping, Clifford diagonalisation, sampling, expectation estimates,
the gradient-estimator record, parameter shift and Pauli-transfer sweeps for small n.

Every public name of the modules behind this face is re-exported here."""

from .diagonalize import (
    Diagonalization,
    conjugate_by_clifford,
    diagonalize_commuting,
    is_qubitwise_commuting,
)
from .estimator import (
    ESTIMATOR_KINDS,
    GradientEstimator,
    as_gradient_estimator,
    exact_estimator,
    sum_parts,
)
from .expectation import (
    ALLOCATIONS,
    MeasurementPlan,
    allocate_shots,
    as_plan,
    estimate_expectation,
    estimate_state,
    measure_setting,
    measurement_plan,
    plan_expectation,
    resolve_shots,
    setting_variances,
)
from .grouping import (
    KINDS,
    METHODS,
    compatibility_matrix,
    group_counts,
    group_paulis,
)
from .ledger import (
    ShotLedger,
)
from .param_shift import (
    param_shift_estimator,
    param_shift_grad,
    shift_table,
)
from .sampling import (
    MAX_SHOTS,
    binomial,
    binomial_estimate,
    check_shots,
    estimate_from_counts,
    multinomial,
    parity_means,
    sample_counts,
    z_index_masks,
)
from .transfer import (
    pauli_index,
    pauli_product_phase,
    pauli_vector,
    row_tables,
    shift_contractions,
    transfer_size,
)

__all__ = [
    "ShotLedger",
    "check_shots",
    "sample_counts",
    "estimate_from_counts",
    "parity_means",
    "z_index_masks",
    "binomial_estimate",
    "binomial",
    "multinomial",
    "MAX_SHOTS",
    "KINDS",
    "METHODS",
    "compatibility_matrix",
    "group_paulis",
    "group_counts",
    "Diagonalization",
    "diagonalize_commuting",
    "conjugate_by_clifford",
    "is_qubitwise_commuting",
    "ALLOCATIONS",
    "MeasurementPlan",
    "measurement_plan",
    "measure_setting",
    "allocate_shots",
    "setting_variances",
    "plan_expectation",
    "as_plan",
    "resolve_shots",
    "estimate_state",
    "estimate_expectation",
    "ESTIMATOR_KINDS",
    "GradientEstimator",
    "exact_estimator",
    "sum_parts",
    "as_gradient_estimator",
    "shift_table",
    "param_shift_grad",
    "param_shift_estimator",
    "transfer_size",
    "pauli_product_phase",
    "row_tables",
    "pauli_vector",
    "pauli_index",
    "shift_contractions",
]
