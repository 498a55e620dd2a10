"""slpa-jax: pure-JAX statevector simulation and shot-faithful training of Pauli-rotation QNNs.

Conventions: ``R_P(theta) = exp(-i theta P / 2)``; label character q acts on qubit q; qubit 0 is the
most significant bit of a statevector index. complex64 by default, complex128 for float64 inputs.
Randomness only through explicit ``key=`` arguments; every shot-spending estimate returns a
``ShotLedger``. See README.md, docs/ and the spec for the science.

The most used names are re-exported here; every module (``slpa_jax.grouping``, ``slpa_jax.dla``,
...) documents the rest.
"""

from .analysis.dla import DLA, dla_dimension, dla_graph, dynamical_lie_algebra
from .analysis.efficiency import (
    check_tradeoff,
    gradient_commutation_matrix,
    gradient_efficiency,
    structural_commutation,
    tradeoff_bound,
)
from .blocks.ansatze import fig10_sc_circuit, fig10_slpa_circuit, nsc_circuit, sc_circuit, slpa_circuit
from .blocks.gradient import BlockMeasurement, block_measurements
from .blocks.gradient import block_gradient as estimate_block_gradient
from .blocks.gradient import make_estimator as block_gradient_estimator
from .blocks.slpa import BlockCircuit, build_slpa, detect_blocks, fig10_slpa, paper_slpa
from .blocks.stabilizer import StabilizerGroup
from .core.circuit import CLIFFORD_GATES, Circuit, Gate, Rotation
from .core.pauli import Pauli, PauliSum, PauliTable, as_pauli_sum, commutation_matrix
from .core.simulator import expectation, expectations, statevector, statevector_from_angles
from .measure.diagonalize import Diagonalization, diagonalize_commuting
from .measure.expectation import estimate_expectation, measure_setting, measurement_plan
from .measure.grouping import group_counts, group_paulis
from .measure.ledger import ShotLedger
from .measure.param_shift import make_estimator as param_shift_estimator
from .measure.param_shift import param_shift_grad
from .measure.sampling import estimate_from_counts, sample_counts

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
    # SLPA and commuting blocks
    "StabilizerGroup",
    "BlockCircuit",
    "build_slpa",
    "detect_blocks",
    "paper_slpa",
    "fig10_slpa",
    "BlockMeasurement",
    "block_measurements",
    "estimate_block_gradient",
    "block_gradient_estimator",
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
