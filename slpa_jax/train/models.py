"""Named models: an ansatz (circuit + observable + block structure) paired with a gradient estimator.

``make_model(ansatz, n_qubits, n_params, estimator, shots)`` is what configs and the CLI call.

Ansatze (``ANSATZE``):
    slpa        paper SLPA, n = 4: ``n_params / 4`` blocks cycling the SC pattern, S = {I, X^4, Y^4, Z^4}.
    sc, nsc     paper SC / NSC, n = 4: the 12-gate patterns cycled to ``n_params`` rotations.
    fig10_sc    Fig. 10 SC for even n: ``n_params / (n/2)`` layers of n/2 two-qubit PP rotations.
    fig10_slpa  Fig. 10 SLPA for even n: each SC gate promoted to {P, P X^n, P Y^n, P Z^n}
                (``n_params / (2 n)`` layers).
    qpr_slpa    cluster-Ising QPR, S = <prod_even X, prod_odd X>; the logical pattern below, each logical
                promoted to its block {L s : s in S} (``n_params / 4`` blocks).
    qpr_sc      the same logical pattern, one rotation per logical (symmetric baseline).
    qpr_hea     non-symmetric hardware-efficient baseline: X_i, Y_i on every qubit, Z_i Z_{i+1} on a ring.
Default observable: ``"XX" + "I" * (n - 2)`` for the paper ansatze, ``datasets.qpr_observable(n)``
(``Z_0 X_1 Z_2``, commuting with S) for the QPR ansatze.

QPR logical pattern: the logical pairs ``(xbar_j, zbar_j)``, j < k = n - 2, of
``StabilizerGroup.logical_operators()`` give one layer ``xbar_0 .. xbar_{k-1}, zbar_0 .. zbar_{k-1},
zbar_0 zbar_1, .., zbar_{k-2} zbar_{k-1}`` (a logical hardware-efficient layer), cycled. Note: every
QPR data state lies in the sector prod_even X = prod_odd X = +1, where each block acts as one rotation
``R_L`` by the signed sum of its angles (sign -1 where ``L s = -unsigned(L s)``); the SLPA then matches
``qpr_sc`` with one rotation per block on the data, at gradient cost B + 1 circuits (docs/qpr.md).

Estimators (``ESTIMATORS``): ``exact`` (adjoint gradient, no shots), ``param_shift`` (2L + 1 circuits),
``ancilla`` (block gradient, B + 1 circuits), ``ancilla_free`` (block gradient, two circuits per block
plus one for f). The block estimators work for every ansatz here (SC-type circuits use their detected
commuting blocks).
"""

from __future__ import annotations

import numpy as np

from ..blocks import ansatze, slpa
from ..blocks.gradient import make_estimator as block_gradient_estimator  # slpa_jax.block_gradient is the function
from ..blocks.stabilizer import StabilizerGroup
from ..core.circuit import Circuit
from ..measure import param_shift
from .config import ANSATZE, ESTIMATORS, _ansatz_unit
from .datasets import qpr_observable, qpr_symmetry_generators
from .training import Model, exact_estimator

__all__ = ["ANSATZE", "ESTIMATORS", "make_model", "make_block_circuit", "qpr_logical_pattern", "qpr_hea_labels"]


def _divide(n_params: int, ansatz: str, n: int) -> int:
    """``n_params`` in units of the ansatz's block/layer (``config._ansatz_unit``)."""
    unit, what = _ansatz_unit(ansatz, n)
    if n_params % unit:
        raise ValueError(
            f"make_model: ansatz {ansatz!r} needs n_params to be a multiple of {unit} ({what}), got {n_params}"
        )
    return n_params // unit


def qpr_logical_pattern(n: int) -> list[str]:
    """One layer of the QPR logical pattern (see module docstring), as labels."""
    group = StabilizerGroup.from_generators(list(qpr_symmetry_generators(n)))
    xs, zs = group.logical_operators()
    k = len(xs)
    ent = [(zs[j] * zs[j + 1]).letters for j in range(k - 1)]
    return [p.letters for p in xs] + [p.letters for p in zs] + ent


def qpr_hea_labels(n: int, n_params: int) -> list[str]:
    """Non-symmetric baseline: layers of X_i, Y_i (every qubit) and Z_i Z_{i+1} (ring), cycled to n_params."""
    layer = []
    for letter in "XY":
        layer += ["".join(letter if q == i else "I" for q in range(n)) for i in range(n)]
    pairs = range(n) if n > 2 else range(1)
    layer += ["".join("Z" if q in (i, (i + 1) % n) else "I" for q in range(n)) for i in pairs]
    return [layer[i % len(layer)] for i in range(n_params)]


def make_block_circuit(ansatz: str, n_qubits: int, n_params: int, observable=None) -> slpa.BlockCircuit:
    """The ansatz's circuit, observable and commuting-block structure (see module docstring)."""
    if ansatz not in ANSATZE:
        raise ValueError(f"make_model: unknown ansatz {ansatz!r}; valid ansatze: {list(ANSATZE)}")
    if not isinstance(n_qubits, (int, np.integer)) or isinstance(n_qubits, bool) or n_qubits < 1:
        raise ValueError(f"make_model: n_qubits must be a positive int, got {n_qubits!r}")
    if not isinstance(n_params, (int, np.integer)) or isinstance(n_params, bool) or n_params < 1:
        raise ValueError(f"make_model: n_params must be a positive int, got {n_params!r}")
    n = int(n_qubits)
    if ansatz in ("slpa", "sc", "nsc") and n != 4:
        raise ValueError(
            f"make_model: ansatz {ansatz!r} is the paper's n = 4 circuit, got n_qubits={n}; "
            "use 'fig10_slpa' / 'fig10_sc' for other even n"
        )
    if ansatz.startswith("fig10") and (n < 4 or n % 2):
        raise ValueError(f"make_model: ansatz {ansatz!r} needs an even n_qubits >= 4, got {n}")
    if ansatz.startswith("qpr") and n < 4:
        raise ValueError(f"make_model: ansatz {ansatz!r} needs n_qubits >= 4, got {n}")
    if observable is None:
        observable = qpr_observable(n) if ansatz.startswith("qpr") else "XX" + "I" * (n - 2)
    if ansatz == "slpa":
        return slpa.paper_slpa(_divide(n_params, ansatz, n), observable=observable)
    if ansatz == "sc":
        return slpa.paper_sc(n_params, observable)
    if ansatz == "nsc":
        return slpa.paper_nsc(n_params, observable)
    if ansatz == "fig10_sc":
        return slpa.fig10_sc(n, _divide(n_params, ansatz, n), observable)
    if ansatz == "fig10_slpa":
        return slpa.fig10_slpa(n, _divide(n_params, ansatz, n), observable)
    if ansatz == "qpr_slpa":
        blocks = _divide(n_params, ansatz, n)
        pattern = qpr_logical_pattern(n)
        return slpa.build_slpa(list(qpr_symmetry_generators(n)), ansatze._cycle(pattern, blocks), observable)
    if ansatz == "qpr_sc":
        pattern = qpr_logical_pattern(n)
        return slpa.detect_blocks(Circuit.from_labels(ansatze._cycle(pattern, n_params), n), observable)
    return slpa.detect_blocks(Circuit.from_labels(qpr_hea_labels(n, n_params), n), observable)


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
        ansatz: one of ``ANSATZE``.
        n_qubits: qubit count (4 for the paper's slpa / sc / nsc).
        n_params: number of rotations (= parameters); must fit the ansatz's unit (see module docstring).
        estimator: one of ``ESTIMATORS``.
        shots: shots per circuit execution (>= 1), or None for exact expectations (``exact`` ignores it).
        observable: optional label / PauliSum overriding the ansatz's default.
        name: model name, default ``f"{ansatz}-{estimator}"``.

    Raises:
        ValueError: unknown ansatz or estimator (the message lists the valid names), or sizes that do
            not fit the ansatz.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"make_model: unknown estimator {estimator!r}; valid estimators: {list(ESTIMATORS)}")
    bc = make_block_circuit(ansatz, n_qubits, n_params, observable)
    if estimator == "exact":
        est = exact_estimator(bc.circuit, bc.observable)
    elif estimator == "param_shift":
        est = param_shift.make_estimator(bc.circuit, bc.observable, shots)
    else:
        est = block_gradient_estimator(bc, shots, scheme=estimator)
    return Model(name or f"{ansatz}-{estimator}", bc.circuit, bc.observable, est, block_circuit=bc)
