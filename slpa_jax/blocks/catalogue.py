"""The ansatz catalogue: one record per named ansatz, read by config validation, models, the CLI and
the analysis report. Adding an ansatz is one entry of ``ANSATZE``.

An entry says how to build the ansatz from a config's ``(n_qubits, n_params, observable)`` (a
``BlockCircuit``: circuit, observable, commuting blocks), in which unit ``n_params`` is counted
(rotations per block or per layer), which qubit counts it supports, its default observable, and a
one-line description for ``slpa-jax --help`` and ``slpa-jax ansatze``.

Example:
    >>> spec = ANSATZE["slpa"]
    >>> spec.qubits.describe(), spec.unit(4), spec.unit_text
    ('n_qubits = 4', 4, '4 rotations per block')
    >>> build_ansatz("slpa", 4, 96).n_blocks
    24
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import ansatze
from .slpa import BlockCircuit

__all__ = ["QubitRule", "AnsatzSpec", "ANSATZE", "ansatz_spec", "build_ansatz", "check_ansatz_size"]


@dataclass(frozen=True)
class QubitRule:
    """Supported qubit counts: ``exact`` if given, else ``n >= min`` (and even when ``even``)."""

    min: int = 1
    even: bool = False
    exact: int | None = None

    def allows(self, n: int) -> bool:
        if self.exact is not None:
            return n == self.exact
        return n >= self.min and (not self.even or n % 2 == 0)

    def describe(self) -> str:
        """Human-readable rule, e.g. ``'an even n_qubits >= 4'``."""
        if self.exact is not None:
            return f"n_qubits = {self.exact}"
        return f"{'an even ' if self.even else ''}n_qubits >= {self.min}"

    def expected(self) -> str:
        """The rule as a config value, e.g. ``'4'`` or ``'an even int >= 4'``."""
        if self.exact is not None:
            return str(self.exact)
        return f"{'an even ' if self.even else 'an '}int >= {self.min}"


@dataclass(frozen=True)
class AnsatzSpec:
    """One catalogue entry.

    Attributes:
        name: the config / CLI name.
        build: ``build(n_qubits, count, observable) -> BlockCircuit``; ``count = n_params / unit(n)``
            (blocks, layers or gates) and ``observable`` already defaulted.
        unit: ``unit(n_qubits)`` rotations per counted item; ``n_params`` must be a multiple of it.
        unit_text: what the unit is, e.g. ``"4 rotations per block"``.
        qubits: the supported qubit counts.
        default_observable: ``default_observable(n_qubits) -> label``.
        description: one line for help texts.
        hint: extra advice for an unsupported qubit count.
    """

    name: str
    build: Callable[[int, int, object], BlockCircuit]
    unit: Callable[[int], int]
    unit_text: str
    qubits: QubitRule
    default_observable: Callable[[int], str]
    description: str
    hint: str = ""


def _one(n: int) -> int:
    return 1


def _four(n: int) -> int:
    return 4


_PAPER_N4 = QubitRule(exact=4)
_EVEN4 = QubitRule(min=4, even=True)
_FIG10_HINT = "use 'fig10_slpa' / 'fig10_sc' for other even n"

#: name -> AnsatzSpec, in help order.
ANSATZE: dict[str, AnsatzSpec] = {
    spec.name: spec
    for spec in (
        AnsatzSpec(
            "slpa",
            lambda n, blocks, obs: ansatze.paper_slpa(blocks, observable=obs),
            _four,
            "4 rotations per block",
            _PAPER_N4,
            ansatze.paper_observable,
            "paper SLPA (Fig. 4): blocks {L, L XXXX, L ZZZZ, L YYYY} cycling the SC pattern",
            _FIG10_HINT,
        ),
        AnsatzSpec(
            "sc",
            lambda n, gates, obs: ansatze.paper_sc(gates, obs),
            _one,
            "one rotation per parameter",
            _PAPER_N4,
            ansatze.paper_observable,
            "paper symmetric circuit (SC): the 12-gate pattern cycled",
            _FIG10_HINT,
        ),
        AnsatzSpec(
            "nsc",
            lambda n, gates, obs: ansatze.paper_nsc(gates, obs),
            _one,
            "one rotation per parameter",
            _PAPER_N4,
            ansatze.paper_observable,
            "paper non-symmetric circuit (NSC): the 12-gate pattern cycled",
            _FIG10_HINT,
        ),
        AnsatzSpec(
            "fig10_sc",
            lambda n, layers, obs: ansatze.fig10_sc(n, layers, obs),
            lambda n: n // 2,
            "n/2 rotations per layer",
            _EVEN4,
            ansatze.paper_observable,
            "Fig. 10 SC for even n: layers of n/2 two-qubit PP rotations",
        ),
        AnsatzSpec(
            "fig10_slpa",
            lambda n, layers, obs: ansatze.fig10_slpa(n, layers, obs),
            lambda n: 2 * n,
            "2n rotations per layer",
            _EVEN4,
            ansatze.paper_observable,
            "Fig. 10 SLPA for even n: each SC gate promoted to {P, P X^n, P Y^n, P Z^n}",
        ),
        AnsatzSpec(
            "qpr_slpa",
            lambda n, blocks, obs: ansatze.qpr_slpa(n, blocks, obs),
            _four,
            "4 rotations per block",
            _EVEN4,
            ansatze.qpr_observable,
            "cluster-Ising QPR SLPA: S = <prod_even X, prod_odd X>, logical pattern promoted to blocks",
        ),
        AnsatzSpec(
            "qpr_sc",
            lambda n, gates, obs: ansatze.qpr_sc(n, gates, obs),
            _one,
            "one rotation per parameter",
            _EVEN4,
            ansatze.qpr_observable,
            "QPR symmetric baseline: the logical pattern, one rotation per logical",
        ),
        AnsatzSpec(
            "qpr_hea",
            lambda n, gates, obs: ansatze.qpr_hea(n, gates, obs),
            _one,
            "one rotation per parameter",
            _EVEN4,
            ansatze.qpr_observable,
            "QPR non-symmetric hardware-efficient baseline: X_i, Y_i, Z_i Z_i+1 (ring)",
        ),
    )
}


def ansatz_spec(name: str, where: str = "ansatz") -> AnsatzSpec:
    """The catalogue entry of ``name``; ValueError listing the valid names otherwise."""
    spec = ANSATZE.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"{where}: unknown ansatz {name!r}; valid ansatze: {list(ANSATZE)}")
    return spec


def check_ansatz_size(name: str, n_qubits: int, n_params: int, where: str = "ansatz") -> int:
    """Validate a size for ``name``; return the count of units (blocks, layers or gates).

    Raises:
        ValueError: unknown ansatz, a qubit count outside its rule, or ``n_params`` not a positive
            multiple of its unit (the message names the rule).
    """
    spec = ansatz_spec(name, where)
    for what, v in (("n_qubits", n_qubits), ("n_params", n_params)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{where}: {what} must be a positive int, got {v!r}")
    if not spec.qubits.allows(int(n_qubits)):
        hint = f"; {spec.hint}" if spec.hint else ""
        if spec.qubits.exact is not None:
            exact = spec.qubits.exact
            raise ValueError(
                f"{where}: ansatz {name!r} is the paper's n = {exact} circuit, got n_qubits={n_qubits}{hint}"
            )
        raise ValueError(f"{where}: ansatz {name!r} needs {spec.qubits.describe()}, got {n_qubits}{hint}")
    unit = spec.unit(int(n_qubits))
    if n_params % unit:
        raise ValueError(
            f"{where}: ansatz {name!r} needs n_params to be a multiple of {unit} ({spec.unit_text}), got {n_params}"
        )
    return int(n_params) // unit


def build_ansatz(
    name: str, n_qubits: int, n_params: int, observable=None, *, where: str = "build_ansatz"
) -> BlockCircuit:
    """The ``BlockCircuit`` (circuit, observable, blocks) of a named ansatz with ``n_params`` rotations.

    ``observable`` defaults to the entry's ``default_observable(n_qubits)``; ``where`` prefixes errors.
    """
    count = check_ansatz_size(name, n_qubits, n_params, where)
    spec = ANSATZE[name]
    obs = spec.default_observable(int(n_qubits)) if observable is None else observable
    return spec.build(int(n_qubits), count, obs)
