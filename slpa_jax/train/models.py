"""Named models: a catalogue ansatz (circuit + observable + block structure) paired with a gradient
estimator.

``make_model(ansatz, n_qubits, n_params, estimator, shots)`` is what configs and the CLI call. The
ansatz names, sizes, qubit rules and default observables come from ``blocks.catalogue.ANSATZE``;
the estimator kinds from ``measure.estimator.ESTIMATOR_KINDS``, each built by one entry of
``ESTIMATOR_BUILDERS``. The block estimators work for every catalogue ansatz (SC-type circuits use
their detected commuting blocks).

Note on the QPR SLPA: every QPR data state lies in the sector prod_even X = prod_odd X = +1, where
each block acts as one rotation ``R_L`` by the signed sum of its angles (sign -1 where
``L s = -unsigned(L s)``); the SLPA then matches ``qpr_sc`` with one rotation per block on the data,
at gradient cost B + 1 circuits (docs/qpr.md).
"""

from __future__ import annotations

from collections.abc import Callable

from ..blocks.catalogue import ANSATZE, build_ansatz
from ..blocks.gradient import block_gradient_estimator
from ..blocks.slpa import BlockCircuit
from ..measure.estimator import ESTIMATOR_KINDS, GradientEstimator, exact_estimator
from ..measure.param_shift import param_shift_estimator
from .training import Model

__all__ = ["ANSATZE", "ESTIMATORS", "ESTIMATOR_BUILDERS", "make_model", "make_block_circuit"]

#: The estimator names a config accepts.
ESTIMATORS = tuple(ESTIMATOR_KINDS)

#: kind -> ``builder(block_circuit, shots) -> GradientEstimator``.
ESTIMATOR_BUILDERS: dict[str, Callable[[BlockCircuit, int | None], GradientEstimator]] = {
    "exact": lambda bc, shots: exact_estimator(bc.circuit, bc.observable),
    "param_shift": lambda bc, shots: param_shift_estimator(bc.circuit, bc.observable, shots),
    "ancilla": lambda bc, shots: block_gradient_estimator(bc, shots, scheme="ancilla"),
    "ancilla_free": lambda bc, shots: block_gradient_estimator(bc, shots, scheme="ancilla_free"),
}


def make_block_circuit(ansatz: str, n_qubits: int, n_params: int, observable=None) -> BlockCircuit:
    """The ansatz's circuit, observable and commuting-block structure (``catalogue.build_ansatz``)."""
    return build_ansatz(ansatz, n_qubits, n_params, observable, where="make_model")


def make_model(
    ansatz: str,
    n_qubits: int,
    n_params: int,
    estimator: str,
    shots: int | None,
    observable=None,
    *,
    name: str | None = None,
) -> Model:
    """Build a named ``training.Model``.

    Args:
        ansatz: a name of ``catalogue.ANSATZE``.
        n_qubits: qubit count (4 for the paper's slpa / sc / nsc).
        n_params: number of rotations (= parameters); a multiple of the ansatz's unit.
        estimator: one of ``ESTIMATORS``.
        shots: shots per circuit execution (>= 1), or None for exact expectations (``exact`` ignores it).
        observable: optional label / PauliSum overriding the ansatz's default.
        name: model name, default ``f"{ansatz}-{estimator}"``.

    Raises:
        ValueError: unknown ansatz or estimator (the message lists the valid names), or sizes that do
            not fit the ansatz.
    """
    if estimator not in ESTIMATOR_BUILDERS:
        raise ValueError(f"make_model: unknown estimator {estimator!r}; valid estimators: {list(ESTIMATORS)}")
    bc = make_block_circuit(ansatz, n_qubits, n_params, observable)
    est = ESTIMATOR_BUILDERS[estimator](bc, shots)
    return Model(name or f"{ansatz}-{estimator}", bc.circuit, bc.observable, est, block_circuit=bc)
