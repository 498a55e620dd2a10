"""slpa-jax: pure-JAX statevector simulation and shot-faithful training of Pauli-rotation QNNs.

Conventions: ``R_P(theta) = exp(-i theta P / 2)``; label character q acts on qubit q; qubit 0 is the
most significant bit of a statevector index. complex64 by default, complex128 for float64 inputs.
Randomness only through explicit ``key=`` arguments; every shot-spending estimate returns a
``ShotLedger``. See README.md, docs/ and the spec for the science.

Layout, one concern per subpackage, imports flowing one way (core <- measure <- noise <- blocks <-
analysis, train <- export <- cli): ``core`` (Pauli algebra, circuits, gate table, kernels,
simulator, sharded simulator), ``measure`` (ledgers, grouping, diagonalisation, sampling, estimates,
parameter shift), ``noise`` (noise models, density-matrix and trajectory simulation, noisy
estimates), ``blocks`` (stabilizers, symmetry finding, SLPA, block gradients, ansatz catalogue),
``analysis`` (DLA, F_eff, landscapes), ``train`` (tasks, Hamiltonians, models, training, configs,
runs), ``export`` (QASM / Qiskit, Qiskit backends). The most used names are re-exported here; each
subpackage re-exports all of its public names.
"""

from .analysis import (
    DLA,
    check_tradeoff,
    dla_dimension,
    dla_graph,
    dynamical_lie_algebra,
    gradient_commutation_matrix,
    gradient_efficiency,
    structural_commutation,
    tradeoff_bound,
)
from .blocks import (
    ANSATZE,
    AnsatzSpec,
    BlockCircuit,
    BlockMeasurement,
    StabilizerGroup,
    block_gradient_estimator,
    block_measurements,
    build_ansatz,
    build_slpa,
    choose_logicals,
    detect_blocks,
    fig10_sc,
    fig10_sc_circuit,
    fig10_slpa,
    fig10_slpa_circuit,
    find_symmetry,
    noisy_block_gradient,
    noisy_block_gradient_estimator,
    nsc_circuit,
    paper_nsc,
    paper_sc,
    paper_slpa,
    sc_circuit,
    slpa_circuit,
    symmetric_slpa,
)
from .blocks import block_gradient as estimate_block_gradient
from .core import (
    CLIFFORD_GATES,
    Circuit,
    Gate,
    Pauli,
    PauliSum,
    PauliTable,
    Rotation,
    as_pauli_sum,
    batch_expectation,
    batch_value_and_grad,
    commutation_matrix,
    expectation,
    expectations,
    statevector,
    statevector_from_angles,
)
from .measure import (
    Diagonalization,
    GradientEstimator,
    ShotLedger,
    diagonalize_commuting,
    estimate_expectation,
    estimate_from_counts,
    exact_estimator,
    group_counts,
    group_paulis,
    measure_setting,
    measurement_plan,
    param_shift_estimator,
    param_shift_grad,
    sample_counts,
)
from .noise import NoiseModel, noisy_estimate_expectation, noisy_param_shift_estimator, noisy_param_shift_grad

__version__ = "0.1.0"

__all__ = [
    # Pauli algebra and circuits
    "CLIFFORD_GATES",
    "Circuit",
    "Gate",
    "Rotation",
    "Pauli",
    "PauliSum",
    "PauliTable",
    "as_pauli_sum",
    "commutation_matrix",
    # simulation
    "expectation",
    "expectations",
    "statevector",
    "statevector_from_angles",
    "batch_expectation",
    "batch_value_and_grad",
    # measurement and shots
    "ShotLedger",
    "sample_counts",
    "estimate_from_counts",
    "group_paulis",
    "group_counts",
    "Diagonalization",
    "diagonalize_commuting",
    "measurement_plan",
    "measure_setting",
    "estimate_expectation",
    "param_shift_grad",
    "param_shift_estimator",
    "GradientEstimator",
    "exact_estimator",
    # SLPA and commuting blocks
    "StabilizerGroup",
    "BlockCircuit",
    "build_slpa",
    "detect_blocks",
    "paper_slpa",
    "paper_sc",
    "paper_nsc",
    "fig10_slpa",
    "fig10_sc",
    "ANSATZE",
    "AnsatzSpec",
    "build_ansatz",
    "BlockMeasurement",
    "block_measurements",
    "estimate_block_gradient",
    "find_symmetry",
    "choose_logicals",
    "symmetric_slpa",
    # noise
    "NoiseModel",
    "noisy_estimate_expectation",
    "noisy_param_shift_grad",
    "noisy_param_shift_estimator",
    "block_gradient_estimator",
    "noisy_block_gradient",
    "noisy_block_gradient_estimator",
    "sc_circuit",
    "nsc_circuit",
    "slpa_circuit",
    "fig10_sc_circuit",
    "fig10_slpa_circuit",
    # analysis
    "DLA",
    "dynamical_lie_algebra",
    "dla_dimension",
    "dla_graph",
    "gradient_commutation_matrix",
    "structural_commutation",
    "gradient_efficiency",
    "tradeoff_bound",
    "check_tradeoff",
]
