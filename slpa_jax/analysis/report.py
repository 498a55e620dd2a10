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
"""

from __future__ import annotations

from ..blocks.catalogue import ANSATZE, build_ansatz
from ..core.circuit import Circuit

__all__ = ["ansatz_circuit", "pattern_period", "analyze_ansatz"]


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
    observable: str | None = None,
    seed: int = 0,
    max_dense_qubits: int = 6,
) -> dict:
    """X_exp, F_eff(L), the deep-circuit F_eff and the trade-off check of an ansatz, as an ordered dict.

    Args:
        name: ansatz name (``models.ANSATZE``).
        n_qubits, n_params: size, as in a config (``n_params`` rotations).
        observable: label; default the ansatz's (``"XX" + "I" * (n - 2)``, QPR: ``Z0 X1 Z2``).
        seed: seed of the random theta at which the gradient operators are compared.
        max_dense_qubits: F_eff needs dense 2^n x 2^n gradient operators; skipped above this n.

    Returns:
        ``{"ansatz", "n_qubits", "L", "observable", "X_exp", "dla_connected", ...}``; with F_eff:
        ``"groups"`` (M_L), ``"F_eff(L)"``, ``"F_eff method"``, ``"pattern period P"``,
        ``"F_eff deep from L"``, ``"F_eff deep"``,
        ``"bound 4^n/F - F"``, ``"within bound"``, ``"saturated"``, ``"hypothesis violations"``.
    """
    import jax

    from .dla import dynamical_lie_algebra
    from .efficiency import check_tradeoff, gradient_efficiency

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
