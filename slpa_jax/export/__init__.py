"""Export to OpenQASM 3 / OpenQASM 2 / Qiskit: circuits, measurement settings and readout maps.

* ``circuits``: ``to_qasm3``, ``to_qasm2``, ``to_qiskit`` (qubit q -> q[q]; Qiskit's statevector
  needs ``reverse_qargs()`` to match ours, see docs/export.md).
* ``settings``: measurement settings (state prep + circuit + diagonalising Clifford + measurement)
  for f, parameter-shift and SLPA block gradients; ``export_run_artifacts`` writes a run's plan.
* ``readout``: numpy-only loader turning Qiskit-style counts into Pauli estimates and gradients.

Qiskit is needed only for ``to_qiskit`` and ``fmt="qiskit"`` (the ``export`` extra).
"""

from .circuits import QISKIT_GATE_NAMES, bind_params, check_clifford, to_qasm2, to_qasm3, to_qiskit
from .readout import (
    counts_to_arrays,
    estimates_from_counts,
    load_export,
    load_readout,
    validate_readout,
    value_and_gradient_from_counts,
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
    product_state_prep,
    render,
    write_setting,
)

__all__ = [
    "FORMATS",
    "QISKIT_GATE_NAMES",
    "MeasurementSetting",
    "bind_params",
    "block_settings",
    "check_clifford",
    "counts_to_arrays",
    "estimates_from_counts",
    "export_measurement",
    "export_run_artifacts",
    "load_export",
    "load_readout",
    "measurement_setting",
    "observable_settings",
    "param_shift_settings",
    "product_state_prep",
    "render",
    "to_qasm2",
    "to_qasm3",
    "to_qiskit",
    "validate_readout",
    "value_and_gradient_from_counts",
    "write_setting",
]
