"""A circuit plus a noise model lowered to one table of rotations with channel slots (static, host side).

Every operation becomes rows of a table that one ``lax.scan`` runs: a ``Rotation`` is one row; a
Clifford gate becomes its fixed rotations from the gate table (``core.gates.GATES[name].rotations``,
exact up to a global phase, which no noisy quantity sees). The last row of an operation carries its
noise: the qubits it touches (padded with -1 to the widest operation), the (I, X, Y, Z) Pauli
channel probabilities of ``NoiseModel.pauli_channel(weight)`` and the amplitude-damping ``gamma``.
Rows without noise carry no qubits. Angles stay traced: row ``r`` reads ``angles[source[r]]`` or
its fixed angle.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..core.circuit import Circuit, Gate, Rotation
from ..core.gates import GATES
from ..core.pauli import Pauli
from .model import NoiseModel

__all__ = ["NoisyProgram", "lower_noisy", "pad_program", "pad_batch"]


@dataclass(frozen=True, eq=False)
class NoisyProgram:
    """The lowered table (all numpy, static).

    Attributes:
        n_qubits: qubit count.
        xmask, zmask, n_y: (rows,) int64 index masks of the row's Pauli (qubit q = index bit n-1-q).
        source: (rows,) int32 index into the circuit's angle vector, or -1 for a fixed angle.
        fixed: (rows,) float64 fixed angle (used where ``source == -1``).
        qubits: (rows, w) int32 qubits whose channel follows the row (-1 = empty slot), w >= 1.
        probs: (rows, 4) float64 Pauli channel (I, X, Y, Z) of the row's noisy qubits.
        gamma: (rows,) float64 amplitude damping of the row's noisy qubits.
        pauli_noise, damping: whether any row has Pauli noise / amplitude damping (static switches).
        rotations: the rows' unsigned Paulis as a rotation-only ``Circuit`` (one fixed rotation per
            row, for ``simulator.statevector_from_angles``); None for padded programs.
        signs: (rows,) float64 +-1, the sign of each row's Pauli (``R_{-P}(t) = R_P(-t)``).
    """

    n_qubits: int
    xmask: np.ndarray
    zmask: np.ndarray
    n_y: np.ndarray
    source: np.ndarray
    fixed: np.ndarray
    qubits: np.ndarray
    probs: np.ndarray
    gamma: np.ndarray
    pauli_noise: bool
    damping: bool
    rotations: Circuit | None = None
    signs: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.xmask.shape[0])

    def row_angles(self, angles):
        """(rows,) angles from the circuit's (num_rotations,) angle vector (traceable)."""
        fixed = jnp.asarray(self.fixed, jnp.asarray(angles).dtype)
        if not (self.source >= 0).any():
            return fixed
        taken = jnp.take(angles, np.maximum(self.source, 0), axis=0)
        return jnp.where(self.source >= 0, taken, fixed)


@functools.lru_cache(maxsize=256)
def lower_noisy(circuit: Circuit, noise: NoiseModel) -> NoisyProgram:
    """Lower ``circuit`` with ``noise`` to a ``NoisyProgram`` (cached per (circuit, noise))."""
    n = circuit.n_qubits
    rows: list[tuple[Pauli, int, float]] = []  # (pauli, source, fixed angle)
    noisy: list[tuple[tuple[int, ...], int]] = []  # per row: (qubits, weight) of the channel after it
    r = 0
    for op in circuit.ops:
        if isinstance(op, Gate):
            spec = GATES[op.name]
            for local, angle in spec.rotations:
                label = ["I"] * n
                for q, ch in zip(op.qubits, local):
                    label[q] = ch
                rows.append((Pauli("".join(label)), -1, float(angle)))
                noisy.append(((), 0))
            if noise.gates:
                noisy[-1] = (tuple(sorted(op.qubits)), spec.arity)
        else:
            rows.append((op.pauli, r, 0.0))
            support = tuple(int(q) for q in np.flatnonzero(op.pauli.x_bits | op.pauli.z_bits))
            noisy.append((support, len(support)))
            r += 1
    if not noise.has_pauli_noise and noise.gamma == 0:
        noisy = [((), 0)] * len(rows)
    k = len(rows)
    width = max([len(q) for q, _ in noisy] + [1])
    xm, zm, ny = np.zeros(k, np.int64), np.zeros(k, np.int64), np.zeros(k, np.int64)
    source, fixed = np.zeros(k, np.int32), np.zeros(k, np.float64)
    qubits = np.full((k, width), -1, np.int32)
    probs = np.zeros((k, 4))
    probs[:, 0] = 1.0
    gamma = np.zeros(k)
    for i, ((p, src, ang), (qs, w)) in enumerate(zip(rows, noisy)):
        x, z, y = p.index_masks()
        xm[i], zm[i], ny[i] = int(x), int(z), int(y) + int(p.phase)
        source[i], fixed[i] = src, ang
        if qs:
            qubits[i, : len(qs)] = qs
            probs[i] = noise.pauli_channel(w)
            gamma[i] = noise.gamma
    out = NoisyProgram(
        n,
        xm,
        zm,
        ny,
        source,
        fixed,
        qubits,
        probs,
        gamma,
        bool(noise.has_pauli_noise),
        bool(noise.gamma > 0),
        Circuit(n, tuple(Rotation(Pauli.from_bits(p.x_bits, p.z_bits, 0), None, 1.0, 0.0) for p, _, _ in rows), 0),
        np.array([-1.0 if p.phase == 2 else 1.0 for p, _, _ in rows]),
    )
    return out


def pad_program(program: NoisyProgram, n_rows: int, width: int) -> NoisyProgram:
    """``program`` with identity rows appended up to ``n_rows`` and channel slots up to ``width``.

    A padding row is ``R_I(0)`` (masks 0, fixed angle 0) without a channel; an empty slot is -1. Both
    are exact no-ops in the density and trajectory scans, so programs of different lengths can be
    stacked into one vmapped scan (``density.evolve_density_batch``).
    """
    k, w = program.n_rows, program.qubits.shape[1]
    if n_rows < k or width < w:
        raise ValueError(f"pad_program: cannot shrink a program of {k} rows x {w} slots to {n_rows} x {width}")
    extra = n_rows - k

    def grow(a, fill):
        return np.concatenate([a, np.full((extra,) + a.shape[1:], fill, a.dtype)])

    qubits = np.full((n_rows, width), -1, np.int32)
    qubits[:k, :w] = program.qubits
    probs = grow(program.probs, 0.0)
    probs[k:, 0] = 1.0
    return NoisyProgram(
        program.n_qubits,
        grow(program.xmask, 0),
        grow(program.zmask, 0),
        grow(program.n_y, 0),
        grow(program.source, -1),
        grow(program.fixed, 0.0),
        qubits,
        probs,
        grow(program.gamma, 0.0),
        program.pauli_noise,
        program.damping,
    )


def pad_batch(programs, angles, real, where: str) -> tuple[int, list[NoisyProgram], jax.Array]:
    """Check C programs and their angle vectors for one vmapped scan and pad them to one shape.

    Returns ``(n, padded, th)``: the common qubit count, the programs padded to the longest
    (``pad_program``) and the (C, rows) row angles in ``real``. ValueError (naming ``where``) for no
    programs, different qubit counts or an angle vector per program missing."""
    programs = tuple(programs)
    if not programs:
        raise ValueError(f"{where}: programs must be non-empty")
    n = programs[0].n_qubits
    if any(p.n_qubits != n for p in programs):
        raise ValueError(f"{where}: every program must act on {n} qubits, got {[p.n_qubits for p in programs]}")
    if len(angles) != len(programs):
        raise ValueError(f"angles: expected {len(programs)} angle vectors (one per program), got {len(angles)}")
    rows = max(max(p.n_rows for p in programs), 1)
    width = max(p.qubits.shape[1] for p in programs)
    padded = [pad_program(p, rows, width) for p in programs]
    th = jnp.stack([p.row_angles(jnp.asarray(a)).astype(real) for p, a in zip(padded, angles)])
    return n, padded, th
