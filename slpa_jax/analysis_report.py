"""One-call expressivity / efficiency report of an ansatz: X_exp, F_eff(L), the trade-off bound.

Used by ``slpa-jax analyze``. F_eff comes from the dense gradient-operator commutation matrix at one
random theta (the authors' method) with greedy repeated maximum-clique removal, so it is limited to
small n (dense 2^n x 2^n operators); the DLA dimension works for any n the closure can enumerate.
"""

from __future__ import annotations

import jax

from . import ansatze
from .circuit import Circuit

__all__ = ["ansatz_circuit", "analyze_ansatz"]

_NAMES = ("slpa", "sc", "nsc", "fig10_sc", "fig10_slpa")


def ansatz_circuit(name: str, n_qubits: int = 4, n_params: int = 96) -> Circuit:
    """Circuit of a named ansatz with ``n_params`` rotations (truncated to whole layers for Fig. 10)."""
    if name == "sc":
        _need_n4(name, n_qubits)
        return ansatze.sc_circuit(n_params)
    if name == "nsc":
        _need_n4(name, n_qubits)
        return ansatze.nsc_circuit(n_params)
    if name == "slpa":
        _need_n4(name, n_qubits)
        if n_params % 4:
            raise ValueError(f"analyze: slpa needs n_params divisible by |S| = 4, got {n_params}")
        return ansatze.slpa_circuit(n_params // 4)
    if name == "fig10_sc":
        return ansatze.fig10_sc_circuit(n_qubits, max(1, n_params // (n_qubits // 2)))
    if name == "fig10_slpa":
        return ansatze.fig10_slpa_circuit(n_qubits, max(1, n_params // (2 * n_qubits)))
    raise ValueError(f"analyze: ansatz must be one of {list(_NAMES)}, got {name!r}")


def _need_n4(name: str, n: int) -> None:
    if n != 4:
        raise ValueError(f"analyze: ansatz {name!r} is defined for n_qubits=4, got {n}; use fig10_sc / fig10_slpa")


def _half(name: str, n: int, n_params: int) -> int:
    unit = {"slpa": 4, "fig10_sc": n // 2, "fig10_slpa": 2 * n}.get(name, 1)
    return max(unit, (n_params // 2) // unit * unit)


def analyze_ansatz(name: str, *, n_qubits: int = 4, n_params: int = 96, observable: str | None = None,
                   seed: int = 0, max_dense_qubits: int = 8) -> dict:
    """X_exp, F_eff(L) (greedy clique cover at one random theta), and the trade-off check, as a dict.

    The bound is checked with the deep-circuit F_eff, estimated as the slope Delta L / Delta M_L between
    L/2 and L rotations (finite-L F_eff carries boundary effects, see ``efficiency.check_tradeoff``).
    """
    from .dla import dynamical_lie_algebra
    from .efficiency import asymptotic_f_eff, check_tradeoff, gradient_efficiency

    circuit = ansatz_circuit(name, n_qubits, n_params)
    obs = observable or ("XX" + "I" * (n_qubits - 2))
    dla = dynamical_lie_algebra(circuit)
    out = {
        "ansatz": name, "n_qubits": n_qubits, "L": circuit.num_rotations, "observable": obs,
        "X_exp": dla.dimension, "dla_connected": dla.is_connected,
    }
    if n_qubits <= max_dense_qubits:
        key = jax.random.PRNGKey(seed)
        cover = gradient_efficiency(circuit, obs, key=key)
        half = ansatz_circuit(name, n_qubits, _half(name, n_qubits, n_params))
        deep = asymptotic_f_eff([gradient_efficiency(half, obs, key=key), cover])
        rep = check_tradeoff(dla.dimension, deep, n_qubits, generators=dla, observable=obs)
        out.update({
            "groups": cover.n_groups, "F_eff(L)": round(cover.f_eff, 4), "F_eff method": cover.method,
            "groups lower bound": cover.lower_bound,
            "F_eff deep (slope from L/2 to L)": round(deep, 4),
            "bound 4^n/F - F": round(rep.upper_bound, 4), "within bound": rep.within_bounds,
            "saturated": rep.saturated, "hypothesis violations": list(rep.violations) or "none found",
        })
    else:
        out["F_eff(L)"] = f"skipped: dense gradient operators need n <= {max_dense_qubits}"
    return out
