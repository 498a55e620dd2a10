"""Every parameter-shifted noisy expectation from ONE forward and ONE backward (Heisenberg) sweep.

The noisy parameter-shift rule needs, for every trainable rotation ``r`` and both signs, the outcome
law of each measurement setting of the circuit with ``R_{P_r}(t_r +- pi/2)``. Run as 2R separate
density-matrix simulations (``noise.estimators``' forward path) that is ``O(R * rows)`` passes over
``4**n`` amplitudes. The circuits share everything but one rotation, and for a setting that measures
ONE Pauli the shots only need the mean of its read parity (``binomial_estimate``). That mean is
``Tr(F rho_final)`` with the readout observable

    F = sign * prod_{q in support} (alpha_q I + beta_q Z_q),  alpha = r10 - r01,  beta = 1 - r01 - r10,

(``E[(-1)**read | prepared b] = alpha + beta (-1)**b`` for the per-qubit, possibly asymmetric readout
flips; without readout error ``F = sign * Z^mask``), a diagonal operator, so linearity handles any
readout error with one observable per setting. With ``rho_r`` the state just after rotation ``r``
(before its channel) and ``sigma_r = N_r^dag(...)`` the observable evolved backwards through every
later row (the setting's noisy Clifford included) and row r's channel (``N^dag``: Pauli channels are
self-adjoint, amplitude damping has its adjoint ``K0^dag s K0 + K1^dag s K1``,
``density.apply_damping(adjoint=True)``), the shifted means are

    m_r(+-) = Tr(sigma_r R_P(+-pi/2) rho_r R_P(+-pi/2)^dag)      (R_P(t +- pi/2) = R_P(+-pi/2) R_P(t)).

So: one forward scan storing ``rho_r`` (rows x 4**n amplitudes of memory), one backward scan of the
G setting observables (``U^dag sigma U`` is the row's rotation with ``-t``), and per trainable row
two reductions against ``rho_r`` and its Pauli images (``_shifted_means``: no shifted state is
written): ``O(rows)`` passes instead of ``O(R rows)``. The means are exact (not an approximation);
the shots are then drawn from them exactly as the forward path draws them (same keys, same
samplers), so both paths give the same estimates up to rounding.

Settings measuring several commuting Paulis need their joint law (several parities) and are not
handled here (``sweep_applies``); the estimators fall back to the forward path for them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit
from ..core.kernels import apply_pauli, apply_rotation, row_view
from ..core.simulator import complex_dtype_for
from ..measure.diagonalize import Diagonalization
from ..measure.expectation import MeasurementPlan
from ..measure.param_shift import shift_table
from .density import apply_row_channels, density_table, initial_density
from .model import NoiseModel
from .program import NoisyProgram, lower_noisy

__all__ = ["readout_observable", "heisenberg_observable", "sweep_applies", "shifted_setting_means"]


def readout_observable(diag: Diagonalization, noise: NoiseModel, dtype) -> jax.Array:
    """(4**n,) vectorised diagonal ``F`` with ``Tr(F rho) = E[sign * (-1)**(read parity)]`` of a one-Pauli setting.

    ``rho`` is the state after the setting's Clifford; the read bits are the measured bits flipped with
    the model's (asymmetric) readout errors.
    """
    if len(diag) != 1:
        raise ValueError(f"readout_observable: expected a setting of one Pauli, got {len(diag)}")
    n = diag.n_qubits
    ro = noise.readout_matrices(n)  # [q, prepared, read]
    a, c = ro[:, 0, 1], ro[:, 1, 0]
    alpha, beta = c - a, 1.0 - a - c
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1  # (2**n, n), qubit q = bit n-1-q
    f = np.full(2**n, float(diag.signs[0]))
    for q in np.flatnonzero(np.asarray(diag.z_masks[0], bool)):
        f = f * (alpha[q] + beta[q] * (1.0 - 2.0 * bits[:, q]))
    return jnp.diag(jnp.asarray(f, dtype)).reshape(-1)


@functools.lru_cache(maxsize=64)
def _adjoint_step(n: int, pauli_noise: bool, damping: bool):
    def step(s, row):
        return _unrotate(_adjoint_channels(s, row, n, pauli_noise, damping), row), None

    return step


def _adjoint_channels(s, row, n, pauli_noise, damping):
    _, _, _, _, _, _, _, qubits, probs, gamma = row
    return apply_row_channels(s, n, qubits, probs, gamma, pauli_noise, damping, adjoint=True)


def _rotate(v, row, angle):
    """``R v R^dag`` for the row's rotation at ``angle`` (rows and columns of the vectorised rho)."""
    xh, zh, xl, zl, ny, _, low_sign, _, _, _ = row
    v = apply_rotation(v, xh, zh, ny, angle)
    return apply_rotation(v, xl, zl, ny, low_sign.astype(angle.dtype) * angle)


def _unrotate(s, row):
    """``U^dag s U`` for the row's rotation ``U = R_P(t)``: the same passes with ``-t``."""
    return _rotate(s, row, -row[5])


def heisenberg_observable(program: NoisyProgram, angles, sigma) -> jax.Array:
    """The adjoint of ``program`` applied to a vectorised observable (4**n,): ``Tr(sigma' rho) = Tr(sigma rho_out)``.

    ``angles`` is the circuit's (num_rotations,) angle vector, as ``density.evolve_density``.
    """
    if program.n_rows == 0:
        return sigma
    real = jnp.real(sigma).dtype
    table = density_table(program, program.row_angles(angles).astype(real))
    step = _adjoint_step(program.n_qubits, program.pauli_noise, program.damping)
    return lax.scan(step, row_view(sigma), table, reverse=True)[0].reshape(-1)


def sweep_applies(plan: MeasurementPlan, method: str) -> str | None:
    """None if the Heisenberg sweep computes this estimate, else the reason it cannot."""
    if method != "density":
        return f"method={method!r} (the sweep is exact density-matrix simulation; use method='density')"
    wide = [g for g, d in enumerate(plan.settings) if len(d) != 1]
    if wide:
        return (
            f"setting {wide[0]} of the measurement plan measures {len(plan.settings[wide[0]])} commuting Paulis "
            "(the sweep needs one Pauli per setting; use grouping='none')"
        )
    return None


def _shifted_means(sig, rho, row) -> jax.Array:
    """(2, G) ``Tr(sigma_g R(+-pi/2) rho R(+-pi/2)^dag)`` without shifting ``rho``: reductions only.

    ``R(+-pi/2) rho R(+-pi/2)^dag = (rho + P rho P) / 2 +- (i/2) (rho P - P rho)``; in the vectorised
    picture ``P rho P = (P (x) P*) rho`` (one Pauli on both registers, phase 0), ``P rho = (P (x) I) rho``
    and ``rho P = (I (x) P^T) rho = (I (x) P*) rho`` (``P* = i**(-n_Y) ...``). With
    ``Tr(s M) = <vec s, vec M>`` for Hermitian ``s``: mean(+-) = ``S1 -+ S2``, ``S1 = Re <s, rho + P rho P> / 2``,
    ``S2 = Im <s, rho P - P rho> / 2``.
    """
    xh, zh, xl, zl, ny, _, _, _, _, _ = row
    zero = jnp.zeros((), jnp.int32)
    both = apply_pauli(rho, xh | xl, zh | zl, zero)  # P rho P
    left = apply_pauli(rho, xh, zh, ny)  # P rho
    right = apply_pauli(rho, xl, zl, -ny)  # rho P
    even = rho + both
    odd = right - left

    def one(s):
        s1 = 0.5 * jnp.sum(jnp.real(s) * jnp.real(even) + jnp.imag(s) * jnp.imag(even))
        s2 = 0.5 * jnp.sum(jnp.real(s) * jnp.imag(odd) - jnp.imag(s) * jnp.real(odd))
        return jnp.stack([s1 - s2, s1 + s2])

    return jax.vmap(one, out_axes=1)(sig)


@functools.lru_cache(maxsize=64)
def _backward_step(n: int, pauli_noise: bool, damping: bool):
    def step(sig, xs):
        row, rho_t, live = xs
        sig = jax.vmap(lambda s: _adjoint_channels(s, row, n, pauli_noise, damping))(sig)

        def means():
            return _shifted_means(sig, rho_t, row)

        vals = lax.cond(live, means, lambda: jnp.zeros((2, sig.shape[0]), row[5].dtype))
        return jax.vmap(lambda s: _unrotate(s, row))(sig), vals

    return step


@functools.lru_cache(maxsize=64)
def _forward_step(n: int, pauli_noise: bool, damping: bool):
    def step(v, row):
        v = _rotate(v, row, row[5])
        _, _, _, _, _, _, _, qubits, probs, gamma = row
        return apply_row_channels(v, n, qubits, probs, gamma, pauli_noise, damping), v

    return step


def shifted_setting_means(circuit: Circuit, angles, plan: MeasurementPlan, noise: NoiseModel, state=None):
    """(2R, G) exact means of the read ``sign * parity`` of every one-Pauli setting of the 2R shifted circuits.

    Rows 0..R-1: trainable rotation r (``measure.param_shift.shift_table`` order) shifted by +pi/2;
    rows R..2R-1: by -pi/2 (the order of ``noise.estimators``). Each setting runs its diagonalising
    Clifford (noisy with ``noise.gates``) and is read through the readout errors. Traceable; compile
    time does not grow with depth (two ``lax.scan`` s).

    Raises:
        ValueError: a setting of several Paulis (``sweep_applies``).
    """
    reason = sweep_applies(plan, "density")
    if reason is not None:
        raise ValueError(f"shifted_setting_means: {reason}")
    n = circuit.n_qubits
    program = lower_noisy(circuit, noise)
    rot = shift_table(circuit)[0]
    rho0 = initial_density(n, state, complex_dtype_for(angles))
    real = jnp.real(rho0).dtype
    sigmas = []
    for diag in plan.settings:
        sig = readout_observable(diag, noise, rho0.dtype)
        if len(diag.clifford.ops):
            sig = heisenberg_observable(lower_noisy(diag.clifford, noise), jnp.zeros(0, real), sig)
        sigmas.append(row_view(sig))
    if not sigmas or rot.size == 0:
        return jnp.zeros((2 * rot.size, len(sigmas)), real)
    table = density_table(program, program.row_angles(angles).astype(real))
    fwd = _forward_step(n, program.pauli_noise, program.damping)
    bwd = _backward_step(n, program.pauli_noise, program.damping)
    ys = lax.scan(fwd, row_view(rho0), table)[1]  # (rows, ...) rho after each row's rotation
    rows = np.array([int(np.flatnonzero(program.source == r)[0]) for r in rot])
    live = np.zeros(program.n_rows, bool)
    live[rows] = True
    vals = lax.scan(bwd, jnp.stack(sigmas), (table, ys, live), reverse=True)[1]  # (rows, 2, G)
    return jnp.concatenate([vals[rows, 0], vals[rows, 1]])
