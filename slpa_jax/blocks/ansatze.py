"""The built-in circuits as data: the paper's SC, NSC and SLPA for n = 4 and the even-n SC and SLPA
of Fig. 10 (spec section 5), and the cluster-Ising QPR circuits (spec section 6).

Gate tables are plain label lists; ``*_circuit`` builders turn them into ``Circuit`` objects and the
``paper_*``, ``fig10_*`` and ``qpr_*`` builders into ``BlockCircuit`` objects (circuit, observable,
commuting blocks). SLPA circuits give every rotation its own parameter (L = B |S|), blocks
contiguous, in the order ``{L, L*XXXX, L*ZZZZ, L*YYYY}`` (unsigned products) as the spec lists them.
The catalogue (``catalogue.ANSATZE``) names these builders for configs and the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.circuit import Circuit
from ..core.pauli import Pauli
from .slpa import BlockCircuit, build_slpa, detect_blocks
from .stabilizer import StabilizerGroup

__all__ = [
    "SC_PATTERN",
    "NSC_PATTERN",
    "FIG3_SLPA_LOGICALS",
    "PAPER_STABILIZERS",
    "PAPER_OBSERVABLE",
    "sc_labels",
    "nsc_labels",
    "slpa_block_labels",
    "fig10_sc_labels",
    "fig10_slpa_labels",
    "sc_circuit",
    "nsc_circuit",
    "slpa_circuit",
    "fig10_sc_circuit",
    "fig10_slpa_circuit",
    "global_stabilizers",
    "cycle",
    "paper_observable",
    "paper_slpa",
    "paper_sc",
    "paper_nsc",
    "fig10_slpa",
    "fig10_sc",
    "qpr_symmetry_generators",
    "qpr_observable",
    "qpr_logical_pattern",
    "qpr_hea_labels",
    "qpr_slpa",
    "qpr_sc",
    "qpr_hea",
]

#: Symmetric-circuit 12-gate pattern (n = 4); also the SLPA logical operators.
SC_PATTERN = ("XXII", "IIYY", "IZZI", "XIIX", "YYII", "IIZZ", "IXXI", "YIIY", "ZZII", "IIXX", "IYYI", "ZIIZ")
#: Non-symmetric 12-gate pattern (n = 4).
NSC_PATTERN = ("XIII", "IXII", "IIXI", "IIIX", "YIII", "IYII", "IIYI", "IIIY", "ZZII", "IZZI", "IIZZ", "ZIIZ")
#: The 12 logicals the authors cycle for Fig. 3 (48-rotation SLPA list).
FIG3_SLPA_LOGICALS = ("XXII", "IIYY", "IZZI", "XIIX", "YYII", "IIZZ", "XIIX", "YIIY", "IIZZ", "XXII", "YIIY", "IZZI")
#: S = {IIII, XXXX, YYYY, ZZZZ} (as the spec lists the block order: I, X^n, Z^n, Y^n).
PAPER_STABILIZERS = ("IIII", "XXXX", "ZZZZ", "YYYY")
PAPER_OBSERVABLE = "XXII"


def cycle(pattern, n_gates: int) -> list[str]:
    """``pattern`` repeated and truncated to ``n_gates`` entries."""
    if n_gates < 0:
        raise ValueError(f"n_gates must be >= 0, got {n_gates}")
    return [pattern[i % len(pattern)] for i in range(n_gates)]


def sc_labels(n_gates: int = 96) -> list[str]:
    """The SC pattern repeated/truncated to ``n_gates`` rotations (Fig. 4: 96 = 8 x 12)."""
    return cycle(SC_PATTERN, n_gates)


def nsc_labels(n_gates: int = 96) -> list[str]:
    return cycle(NSC_PATTERN, n_gates)


def global_stabilizers(n: int) -> tuple[str, ...]:
    """S = {I, X^n, Y^n, Z^n} for even n (the spec's family), in Fig. 10's block order."""
    if n < 2 or n % 2:
        raise ValueError(f"global_stabilizers: n must be even and >= 2, got {n}")
    return ("I" * n, "X" * n, "Y" * n, "Z" * n)


def slpa_block_labels(logicals, stabilizers=PAPER_STABILIZERS) -> list[str]:
    """Concatenated blocks ``[L_b * s for s in stabilizers]`` (unsigned products)."""
    stabs = [Pauli(s) for s in stabilizers]
    out = []
    for lab in logicals:
        lp = Pauli(lab)
        out.extend((lp * s).letters for s in stabs)
    return out


def fig10_sc_labels(n: int, depth: int) -> list[str]:
    """Fig. 10 SC for even n: ``depth`` layers of n/2 two-qubit PP gates (L = depth * n / 2)."""
    if n < 4 or n % 2:
        raise ValueError(f"fig10_sc_labels: n must be even and >= 4, got {n}")
    out = []
    for i in range(depth):
        k = i % 6
        for j in range(n // 2):
            if k % 2 == 0:
                a, b = 2 * j, 2 * j + 1
                typ = "XYZ"[(j + k // 2) % 3]
            else:
                a, b = 2 * j + 1, (2 * j + 2) % n
                typ = "XYZ"[(j + (k - 1) // 2 + n // 2) % 3]
            letters = ["I"] * n
            letters[a] = letters[b] = typ
            out.append("".join(letters))
    return out


def fig10_slpa_labels(n: int, depth: int) -> list[str]:
    """Fig. 10 SLPA: each SC gate promoted to the block {P, P X^n, P Y^n, P Z^n}."""
    return slpa_block_labels(fig10_sc_labels(n, depth), global_stabilizers(n))


def sc_circuit(n_gates: int = 96) -> Circuit:
    return Circuit.from_labels(sc_labels(n_gates))


def nsc_circuit(n_gates: int = 96) -> Circuit:
    return Circuit.from_labels(nsc_labels(n_gates))


def slpa_circuit(n_blocks: int = 24, logicals=SC_PATTERN) -> Circuit:
    """Paper SLPA (n = 4): ``n_blocks`` blocks cycling ``logicals``, 4 rotations each."""
    return Circuit.from_labels(slpa_block_labels(cycle(logicals, n_blocks)))


def fig10_sc_circuit(n: int, depth: int) -> Circuit:
    return Circuit.from_labels(fig10_sc_labels(n, depth))


def fig10_slpa_circuit(n: int, depth: int) -> Circuit:
    return Circuit.from_labels(fig10_slpa_labels(n, depth))


# --- block circuits ------------------------------------------------------------------------------


def _check_count(value, where: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where} must be a positive int, got {value!r}")


def paper_observable(n: int) -> str:
    """The paper's observable ``X_0 X_1`` on ``n`` qubits (``"XX" + "I" * (n - 2)``)."""
    return "XX" + "I" * (n - 2)


def paper_slpa(n_blocks: int = 24, logicals: Sequence[str] = SC_PATTERN, observable=PAPER_OBSERVABLE) -> BlockCircuit:
    """The paper's SLPA (n = 4, S = {IIII, XXXX, ZZZZ, YYYY}, O = XXII), ``n_blocks`` blocks cycling ``logicals``.

    Fig. 4 uses 24 blocks of the SC pattern (L = 96); Fig. 3 cycles ``FIG3_SLPA_LOGICALS``.

    Example:
        >>> bc = paper_slpa(24)
        >>> bc.circuit.num_rotations, bc.n_blocks
        (96, 24)
    """
    _check_count(n_blocks, "paper_slpa: n_blocks")
    logicals = list(logicals)
    if not logicals:
        raise ValueError("paper_slpa: logicals is empty; pass the logical operators to cycle")
    return build_slpa(PAPER_STABILIZERS, cycle(logicals, n_blocks), observable)


def paper_sc(n_gates: int = 96, observable=PAPER_OBSERVABLE) -> BlockCircuit:
    """The paper's SC (n = 4, O = XXII) with its detected blocks (mostly single rotations)."""
    _check_count(n_gates, "paper_sc: n_gates")
    return detect_blocks(sc_circuit(n_gates), observable)


def paper_nsc(n_gates: int = 96, observable=PAPER_OBSERVABLE) -> BlockCircuit:
    """The paper's NSC (n = 4, O = XXII) with its detected blocks."""
    _check_count(n_gates, "paper_nsc: n_gates")
    return detect_blocks(nsc_circuit(n_gates), observable)


def fig10_slpa(n: int, depth: int, observable: str | None = None) -> BlockCircuit:
    """Fig. 10 SLPA for even ``n``: each SC gate promoted to the block {P, P X^n, P Y^n, P Z^n}.

    ``observable`` defaults to ``"XX" + "I" * (n - 2)``; ``depth`` SC layers give ``depth * n / 2`` blocks.
    """
    _check_count(depth, "fig10_slpa: depth")
    observable = paper_observable(n) if observable is None else observable
    return build_slpa(global_stabilizers(n), fig10_sc_labels(n, depth), observable)


def fig10_sc(n: int, depth: int, observable: str | None = None) -> BlockCircuit:
    """Fig. 10 SC for even ``n`` with its detected blocks; observable defaults to ``"XX" + "I" * (n - 2)``."""
    _check_count(depth, "fig10_sc: depth")
    observable = paper_observable(n) if observable is None else observable
    return detect_blocks(fig10_sc_circuit(n, depth), observable)


# --- cluster-Ising QPR (spec section 6) ----------------------------------------------------------


def qpr_observable(n: int) -> str:
    """Default QPR observable ``Z_0 X_1 Z_2``: a cluster stabiliser, commuting with both Z2 generators."""
    if not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"qpr_observable: n must be an int >= 3, got {n!r}")
    return "ZXZ" + "I" * (n - 3)


def qpr_symmetry_generators(n: int) -> tuple[str, str]:
    """The Z2 x Z2 generators ``(prod_{i even} X_i, prod_{i odd} X_i)`` as labels."""
    if not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"qpr_symmetry_generators: n must be an int >= 3, got {n!r}")
    even = "".join("X" if q % 2 == 0 else "I" for q in range(n))
    odd = "".join("X" if q % 2 == 1 else "I" for q in range(n))
    return even, odd


def qpr_logical_pattern(n: int) -> list[str]:
    """One layer of logicals for S = <prod_even X, prod_odd X>, as labels.

    The logical pairs ``(xbar_j, zbar_j)``, j < k = n - 2, of ``StabilizerGroup.logical_operators()``
    give ``xbar_0 .. xbar_{k-1}, zbar_0 .. zbar_{k-1}, zbar_0 zbar_1, .., zbar_{k-2} zbar_{k-1}``
    (a logical hardware-efficient layer).
    """
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
    return cycle(layer, n_params)


def qpr_slpa(n: int, n_blocks: int, observable=None) -> BlockCircuit:
    """QPR SLPA: ``qpr_logical_pattern(n)`` cycled to ``n_blocks`` logicals, each promoted to its block
    ``{L s : s in S}``, S = <prod_even X, prod_odd X> (4 rotations per block)."""
    _check_count(n_blocks, "qpr_slpa: n_blocks")
    observable = qpr_observable(n) if observable is None else observable
    return build_slpa(list(qpr_symmetry_generators(n)), cycle(qpr_logical_pattern(n), n_blocks), observable)


def qpr_sc(n: int, n_gates: int, observable=None) -> BlockCircuit:
    """The QPR logical pattern with one rotation per logical (symmetric baseline), detected blocks."""
    _check_count(n_gates, "qpr_sc: n_gates")
    observable = qpr_observable(n) if observable is None else observable
    return detect_blocks(Circuit.from_labels(cycle(qpr_logical_pattern(n), n_gates), n), observable)


def qpr_hea(n: int, n_gates: int, observable=None) -> BlockCircuit:
    """Non-symmetric hardware-efficient baseline (``qpr_hea_labels``) with its detected blocks."""
    _check_count(n_gates, "qpr_hea: n_gates")
    observable = qpr_observable(n) if observable is None else observable
    return detect_blocks(Circuit.from_labels(qpr_hea_labels(n, n_gates), n), observable)
