"""The paper's circuits as data (spec section 5): SC, NSC and SLPA for n = 4, and the even-n SC and
SLPA of Fig. 10. Gate tables are plain label lists; builders turn them into ``Circuit`` objects.

SLPA circuits here give every rotation its own parameter (L = B |S|), blocks contiguous, in the
order ``{L, L*XXXX, L*ZZZZ, L*YYYY}`` (unsigned products) as the spec lists them.
"""

from __future__ import annotations

from ..core.circuit import Circuit
from ..core.pauli import Pauli

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


def _cycle(pattern, n_gates: int) -> list[str]:
    if n_gates < 0:
        raise ValueError(f"n_gates must be >= 0, got {n_gates}")
    return [pattern[i % len(pattern)] for i in range(n_gates)]


def sc_labels(n_gates: int = 96) -> list[str]:
    """The SC pattern repeated/truncated to ``n_gates`` rotations (Fig. 4: 96 = 8 x 12)."""
    return _cycle(SC_PATTERN, n_gates)


def nsc_labels(n_gates: int = 96) -> list[str]:
    return _cycle(NSC_PATTERN, n_gates)


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
    return Circuit.from_labels(slpa_block_labels(_cycle(logicals, n_blocks)))


def fig10_sc_circuit(n: int, depth: int) -> Circuit:
    return Circuit.from_labels(fig10_sc_labels(n, depth))


def fig10_slpa_circuit(n: int, depth: int) -> Circuit:
    return Circuit.from_labels(fig10_slpa_labels(n, depth))
