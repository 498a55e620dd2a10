"""Export to OpenQASM 3 / OpenQASM 2 / Qiskit: circuits, measurement settings and readout maps.

* ``circuits``: ``to_qasm3``, ``to_qasm2``, ``to_qiskit`` (qubit q -> q[q]; Qiskit's statevector
  needs ``reverse_qargs()`` to match ours, see docs/export.md).
* ``settings``: measurement settings (state prep + circuit + diagonalising Clifford + measurement)
  for f, parameter-shift and SLPA block gradients; ``export_run_artifacts`` writes a run's plan.
* ``readout``: numpy-only loader turning Qiskit-style counts into Pauli estimates and gradients.

* ``aer``: ``to_qiskit_logical`` + ``to_aer_noise_model``, Qiskit Aer's equivalent of a ``noise.NoiseModel``.
* ``backend``: ``backend_estimator``, the exported settings executed on any Qiskit ``BaseSamplerV2``.

Qiskit is needed only for ``to_qiskit`` and ``fmt="qiskit"`` (the ``export`` extra); Qiskit Aer for
``aer`` (the ``noise`` extra).
"""

from .aer import (
    CHANNEL_LABELS,
    ROTATION_LABEL,
    import_aer,
    to_aer_noise_model,
    to_qiskit_logical,
)
from .backend import (
    PRODUCT_TOL,
    backend_estimator,
    config_backend_estimator,
    fake_backend,
    product_state_angles,
    setting_programs,
)
from .circuits import (
    QISKIT_GATE_NAMES,
    bind_params,
    check_clifford,
    to_qasm2,
    to_qasm3,
    to_qiskit,
)
from .readout import (
    READOUT_FORMAT,
    READOUT_VERSION,
    counts_to_arrays,
    estimates_from_counts,
    load_export,
    load_readout,
    validate_readout,
    value_and_gradient_from_counts,
)
from .run import (
    export_run,
    gradient_plan,
)
from .settings import (
    FORMATS,
    MeasurementSetting,
    block_settings,
    export_measurement,
    export_run_artifacts,
    measurement_setting,
    observable_settings,
    param_shift_settings,
    product_factors,
    product_state_prep,
    render,
    state_prep_circuit,
    write_setting,
)

__all__ = [
    "to_qasm3",
    "to_qasm2",
    "to_qiskit",
    "bind_params",
    "check_clifford",
    "QISKIT_GATE_NAMES",
    "READOUT_FORMAT",
    "READOUT_VERSION",
    "load_readout",
    "validate_readout",
    "counts_to_arrays",
    "estimates_from_counts",
    "value_and_gradient_from_counts",
    "load_export",
    "FORMATS",
    "MeasurementSetting",
    "measurement_setting",
    "export_measurement",
    "observable_settings",
    "param_shift_settings",
    "block_settings",
    "product_factors",
    "product_state_prep",
    "state_prep_circuit",
    "render",
    "write_setting",
    "export_run_artifacts",
    "export_run",
    "gradient_plan",
    "import_aer",
    "to_qiskit_logical",
    "to_aer_noise_model",
    "ROTATION_LABEL",
    "CHANNEL_LABELS",
    "PRODUCT_TOL",
    "product_state_angles",
    "setting_programs",
    "backend_estimator",
    "config_backend_estimator",
    "fake_backend",
]
