"""Noise: noise models as static data and two exact-in-expectation noisy simulation paths.

Rank 1.5 in the layout (``tests/test_layout.py``): ``noise`` imports only ``core`` and ``measure``;
``blocks`` and everything above may import it.

* ``model``: ``NoiseModel`` (depolarizing p1/p2, dephasing, bit flip, amplitude damping after every
  rotation on the qubits it touches; per-qubit asymmetric readout error), ``compose_pauli_channels``.
* ``program``: a circuit + noise model lowered to one table of rotations with channel slots.
* ``density``: exact density-matrix simulation with the statevector mask kernels (n <= 14).
* ``trajectories``: Pauli-jump trajectories, one statevector per key (any n the simulator takes).
* ``readout``: readout confusion applied to outcome distributions.
* ``heisenberg``: every parameter-shifted expectation from one forward and one backward sweep.
* ``estimators``: noisy ``estimate_expectation`` and parameter shift with a ``ShotLedger``.

See docs/noise.md.
"""

from .density import (
    MAX_DENSITY_QUBITS,
    apply_damping,
    apply_pauli_channel,
    apply_row_channels,
    density_matrix,
    density_matrix_from_angles,
    density_probabilities,
    density_table,
    diagonal_probabilities,
    evolve_density,
    evolve_density_batch,
    initial_density,
    setting_probabilities_from_density,
)
from .estimators import (
    METHODS,
    check_method,
    noisy_estimate_expectation,
    noisy_param_shift_estimator,
    noisy_param_shift_grad,
    noisy_setting_probabilities,
    noisy_value_plan,
    sample_plan,
)
from .heisenberg import (
    heisenberg_observable,
    readout_observable,
    shifted_setting_means,
    sweep_applies,
)
from .model import (
    NoiseModel,
    as_noise_model,
    compose_pauli_channels,
)
from .program import (
    NoisyProgram,
    lower_noisy,
    pad_program,
)
from .readout import (
    readout_probabilities,
)
from .trajectories import (
    evolve_trajectory,
    trajectory_probabilities,
    trajectory_probabilities_batch,
    trajectory_probabilities_from_angles,
    trajectory_state,
)

__all__ = [
    "NoiseModel",
    "as_noise_model",
    "compose_pauli_channels",
    "NoisyProgram",
    "lower_noisy",
    "pad_program",
    "readout_probabilities",
    "MAX_DENSITY_QUBITS",
    "initial_density",
    "evolve_density",
    "evolve_density_batch",
    "density_matrix",
    "density_matrix_from_angles",
    "diagonal_probabilities",
    "density_probabilities",
    "setting_probabilities_from_density",
    "apply_pauli_channel",
    "apply_damping",
    "apply_row_channels",
    "density_table",
    "readout_observable",
    "heisenberg_observable",
    "sweep_applies",
    "shifted_setting_means",
    "evolve_trajectory",
    "trajectory_state",
    "trajectory_probabilities",
    "trajectory_probabilities_from_angles",
    "trajectory_probabilities_batch",
    "METHODS",
    "check_method",
    "noisy_setting_probabilities",
    "noisy_estimate_expectation",
    "noisy_param_shift_grad",
    "noisy_param_shift_estimator",
    "sample_plan",
    "noisy_value_plan",
]
