"""One-call expressivity / efficiency report of an ansatz: X_exp, F_eff, the trade-off bound.

Used by ``slpa-jax analyze``. The ansatz is built exactly as training builds it
(``blocks.catalogue.build_ansatz``), so every name in ``blocks.catalogue.ANSATZE`` works.

* X_exp: dimension of the dynamical Lie algebra (``dla.dynamical_lie_algebra``), any n.
* F_eff(L) = L / M_L: ``efficiency.gradient_efficiency`` at one random theta (the authors' method:
  dense gradient operators, greedy repeated maximum-clique removal), so limited to small n.
* Deep F_eff: the ansatze cycle a gate pattern of P rotations; the finite-L ratio carries boundary
  effects (shallow circuits and the last blocks commute more), so the deep-circuit value is the slope
  ``P / (M_{B+P} - M_B)`` over one period from B = max(L rounded up to a multiple of P, 3P).
  E.g. paper SLPA, P = 48: 12 more groups per 48 rotations -> 4; SC and NSC, P = 12: -> 1.
* The trade-off check uses the deep F_eff (``efficiency.check_tradeoff``, hypotheses H1-H4 listed there).
* Observables may be Pauli sums (``observable_from_text``: ``"XXII + 0.5*IIZZ"``, also what
  ``slpa-jax analyze --observable`` passes): F_eff is then that of the sum's gradient operators
  ``Gamma_j = sum_k c_k Gamma_j^(k)``, which can be smaller than every term's (docs/analysis.md), and
  the report adds the block-gradient cost of the sum (settings per sample).
"""

from __future__ import annotations

import re

from ..blocks.catalogue import ANSATZE, build_ansatz
from ..core.circuit import Circuit
from ..core.pauli import PauliSum, as_pauli_sum

__all__ = ["ansatz_circuit", "pattern_period", "analyze_ansatz", "observable_from_text"]

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_TERM = re.compile(rf"^(?:({_NUMBER})\s*\*?\s*)?([IXYZ0-9 ]*[IXYZ][IXYZ0-9 ]*)$")


def observable_from_text(text: str, n: int | None = None) -> PauliSum:
    """A Pauli sum from text: terms ``[coefficient[*]]label`` joined by ``+`` / ``-``.

    Labels are dense (``XXII``) or sparse (``X0 X1``, needs ``n``). A text without ``+``, ``-`` or
    ``*`` is one label. Example: ``observable_from_text("XXII - 0.5*IIZZ + 2 ZZZZ")``.

    Raises:
        ValueError: a term that is not ``[coefficient[*]]label``, naming it.
    """
    if not isinstance(text, str):
        raise TypeError(f"observable: expected a string, got {type(text).__name__}")
    parts = re.split(r"(?<![eE])([+-])", text.strip())
    terms, sign = [], 1.0
    for part in parts:
        if part in ("+", "-"):
            sign = sign * (-1.0 if part == "-" else 1.0)
            continue
        if not part.strip():
            continue
        m = _TERM.match(part.strip())
        if m is None:
            raise ValueError(
                f"observable: term {part.strip()!r} of {text!r} is not [coefficient[*]]label, "
                "e.g. '0.5*XXII' or '2 X0 X1'"
            )
        terms.append((sign * float(m.group(1) or 1.0), m.group(2).strip()))
        sign = 1.0
    if not terms:
        raise ValueError(f"observable: no term in {text!r}")
    return as_pauli_sum(terms, n)


def ansatz_circuit(name: str, n_qubits: int = 4, n_params: int = 96, observable=None):
    """The ``slpa.BlockCircuit`` (circuit, observable, blocks) of a named ansatz, as training builds it."""
    return build_ansatz(name, n_qubits, n_params, observable, where="analyze")


def pattern_period(circuit: Circuit, unit: int = 1) -> int | None:
    """Smallest P (a multiple of ``unit``, P <= L/2) with ``generator[i] == generator[i + P]`` for all i,
    or None when the rotation labels do not repeat within the circuit."""
    labels = [r.pauli.letters for r in circuit.rotations]
    L = len(labels)
    for p in range(unit, L // 2 + 1, unit):
        if all(labels[i] == labels[i + p] for i in range(L - p)):
            return p
    return None


def analyze_ansatz(
    name: str,
    *,
    n_qubits: int = 4,
    n_params: int = 96,
    observable=None,
    seed: int = 0,
    max_dense_qubits: int = 6,
) -> dict:
    """X_exp, F_eff(L), the deep-circuit F_eff and the trade-off check of an ansatz, as an ordered dict.

    Args:
        name: ansatz name (``models.ANSATZE``).
        n_qubits, n_params: size, as in a config (``n_params`` rotations).
        observable: a label, a sum as text (``observable_from_text``), ``[(c, label), ...]`` or a
            ``PauliSum``; default the ansatz's (``"XX" + "I" * (n - 2)``, QPR: ``Z0 X1 Z2``).
        seed: seed of the random theta at which the gradient operators are compared.
        max_dense_qubits: F_eff needs dense 2^n x 2^n gradient operators; skipped above this n.

    Returns:
        ``{"ansatz", "n_qubits", "L", "observable", "X_exp", "dla_connected", ...}``; with F_eff:
        ``"groups"`` (M_L), ``"F_eff(L)"``, ``"F_eff method"``, ``"pattern period P"``,
        ``"F_eff deep from L"``, ``"F_eff deep"``,
        ``"bound 4^n/F - F"``, ``"within bound"``, ``"saturated"``, ``"hypothesis violations"``; for
        a sum also ``"observable terms"`` and ``"block-gradient settings per sample"`` (ancilla scheme,
        ``f_hat`` included).
    """
    import jax

    from ..blocks.gradient import block_gradient_estimator
    from .dla import dynamical_lie_algebra
    from .efficiency import check_tradeoff, gradient_efficiency

    if isinstance(observable, str):
        observable = observable_from_text(observable, n_qubits)
    bc = ansatz_circuit(name, n_qubits, n_params, observable)
    circuit, obs = bc.circuit, bc.observable
    obs_text = " + ".join(f"{c.real:g}*{lab}" if c != 1 else lab for lab, c in zip(obs.paulis.labels(), obs.coeffs))
    dla = dynamical_lie_algebra(circuit)
    out = {
        "ansatz": name,
        "n_qubits": n_qubits,
        "L": circuit.num_rotations,
        "observable": obs_text,
        "X_exp": dla.dimension,
        "dla_connected": dla.is_connected,
    }
    if len(obs) > 1:
        out["observable terms"] = len(obs)
        out["block-gradient settings per sample"] = block_gradient_estimator(bc, 1, "ancilla").circuits_per_call
    if n_qubits > max_dense_qubits:
        out["F_eff(L)"] = f"skipped: dense gradient operators need n_qubits <= {max_dense_qubits}"
        return out
    key = jax.random.PRNGKey(seed)
    cover = gradient_efficiency(circuit, obs, key=key)
    out.update(
        {
            "groups": cover.n_groups,
            "F_eff(L)": round(cover.f_eff, 4),
            "F_eff method": cover.method,
            "groups lower bound": cover.lower_bound,
        }
    )
    unit = ANSATZE[name].unit(n_qubits)
    probe = ansatz_circuit(name, n_qubits, 24 * n_qubits, observable).circuit  # longer than every pattern
    period = pattern_period(probe, unit)
    if period is None:
        out["F_eff deep"] = "unknown: the ansatz does not cycle a pattern"
        return out
    base = max(-(-n_params // period) * period, 3 * period)
    m_base, m_next = (
        gradient_efficiency(ansatz_circuit(name, n_qubits, length, observable).circuit, obs, key=key).n_groups
        for length in (base, base + period)
    )
    out["pattern period P"] = period
    out["F_eff deep from L"] = f"{base}..{base + period}"
    dm = m_next - m_base
    if dm <= 0:
        out["F_eff deep"] = f"unknown: M_L did not grow from L={base} to L={base + period}"
        return out
    deep = period / dm
    rep = check_tradeoff(dla.dimension, deep, n_qubits, generators=circuit, observable=obs)
    out.update(
        {
            "F_eff deep": round(deep, 4),
            "bound 4^n/F - F": round(rep.upper_bound, 4),
            "within bound": rep.within_bounds,
            "saturated": rep.saturated,
            "hypothesis violations": list(rep.violations) or "none found",
        }
    )
    return out
