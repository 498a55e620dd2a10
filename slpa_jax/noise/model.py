"""Noise models as static data: per-rotation qubit channels and per-qubit readout error.

After every rotation ``R_P(theta)`` each qubit ``q`` in the support of ``P`` goes through one
single-qubit channel, in this order (``docs/noise.md``):

1. a Pauli channel, the composition of
   - depolarizing: with probability ``p`` one of X, Y, Z, each ``p / 3`` (stim's ``DEPOLARIZE1(p)``;
     Qiskit Aer's ``depolarizing_error(4 p / 3, 1)``); ``p = p1`` for weight-1 generators and
     ``p = p2`` (per qubit) for weight >= 2;
   - dephasing: Z with probability ``p_z``;
   - bit flip: X with probability ``p_x``;
2. amplitude damping with probability ``gamma`` (Kraus ``diag(1, sqrt(1 - gamma))`` and
   ``sqrt(gamma) |0><1|``), the only non-Pauli channel.

With ``gates=True`` (the default) a Clifford gate of the circuit (including the diagonalising
Clifford of a measurement setting) is followed by the same channel on its qubits, with ``p1`` for
one-qubit and ``p2`` for two-qubit gates. Channels on different qubits commute, so their order does
not matter. At measurement every qubit ``q`` is read wrongly with probability ``readout_01[q]``
(prepared 0, read 1) or ``readout_10[q]`` (prepared 1, read 0).

A ``NoiseModel`` is frozen, hashable and registered as a static pytree (like ``Circuit``): pass it
to ``jax.jit``-ed functions directly; changing it retraces.

Example:
    >>> nm = NoiseModel(p1=1e-3, p2=1e-2, readout_01=0.02, readout_10=0.05)
    >>> [round(float(v), 6) for v in nm.pauli_channel(2)]  # (I, X, Y, Z) after a weight-2 rotation
    [0.99, 0.003333, 0.003333, 0.003333]
    >>> nm.readout_matrices(2)[1]  # rows: prepared 0/1, columns: read 0/1
    array([[0.98, 0.02],
           [0.05, 0.95]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

__all__ = ["NoiseModel", "compose_pauli_channels"]

_PROBS = ("p1", "p2", "p_z", "p_x", "gamma")


def _check_probability(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"NoiseModel: {name} must be a probability (a float in [0, 1]), got {type(value).__name__}")
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"NoiseModel: {name} must be a probability in [0, 1], got {v!r}")
    return v


def _check_readout(value, name: str):
    """A readout error: one probability for every qubit, or a per-qubit tuple."""
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"NoiseModel: {name} must be a float or a non-empty 1-D sequence, got shape {arr.shape}")
        return tuple(_check_probability(v, f"{name}[{q}]") for q, v in enumerate(arr.tolist()))
    return _check_probability(value, name)


def compose_pauli_channels(*channels) -> np.ndarray:
    """(4,) probabilities (I, X, Y, Z) of the composition of single-qubit Pauli channels.

    Pauli channels compose by convolution over the Pauli group modulo phases (X Y ~ Z, ...): the
    composite applies ``a b`` with probability ``sum p(a) q(b)``.
    """
    out = np.array([1.0, 0.0, 0.0, 0.0])
    for ch in channels:
        ch = np.asarray(ch, dtype=np.float64)
        new = np.zeros(4)
        for a in range(4):
            for b in range(4):
                new[a ^ b] += out[a] * ch[b]  # index = x bit + 2 z bit order: I=0, X=1, Z=2, Y=3 below
        out = new
    return out


# indices of I, X, Y, Z in the xor (x + 2 z) encoding used by ``compose_pauli_channels``
_XOR = {"I": 0, "X": 1, "Z": 2, "Y": 3}


def _channel(p_i_x_y_z) -> np.ndarray:
    """(I, X, Y, Z) probabilities -> the xor encoding."""
    out = np.zeros(4)
    for letter, p in zip("IXYZ", p_i_x_y_z):
        out[_XOR[letter]] = p
    return out


@dataclass(frozen=True)
class NoiseModel:
    """Per-rotation single-qubit channels and per-qubit readout error (module docstring).

    Attributes:
        p1: depolarizing probability after a weight-1 rotation (and a one-qubit Clifford gate).
        p2: depolarizing probability per qubit after a rotation of weight >= 2 (and a two-qubit gate).
        p_z: dephasing (Z) probability per qubit touched.
        p_x: bit-flip (X) probability per qubit touched.
        gamma: amplitude-damping probability per qubit touched.
        readout_01: P(read 1 | prepared 0), one float for every qubit or a tuple of n floats.
        readout_10: P(read 0 | prepared 1), idem.
        gates: whether Clifford gates carry the channel too.

    Raises:
        TypeError / ValueError: a probability that is not a float in [0, 1] (the field is named).
    """

    p1: float = 0.0
    p2: float = 0.0
    p_z: float = 0.0
    p_x: float = 0.0
    gamma: float = 0.0
    readout_01: float | tuple[float, ...] = 0.0
    readout_10: float | tuple[float, ...] = 0.0
    gates: bool = True

    def __post_init__(self):
        for name in _PROBS:
            object.__setattr__(self, name, _check_probability(getattr(self, name), name))
        for name in ("readout_01", "readout_10"):
            object.__setattr__(self, name, _check_readout(getattr(self, name), name))
        if not isinstance(self.gates, (bool, np.bool_)):
            raise TypeError(f"NoiseModel: gates must be a bool, got {type(self.gates).__name__}")
        a, b = self.readout_01, self.readout_10
        if isinstance(a, tuple) and isinstance(b, tuple) and len(a) != len(b):
            raise ValueError(
                f"NoiseModel: readout_01 and readout_10 must have the same length (one per qubit), got {len(a)} and "
                f"{len(b)}"
            )

    # --- the channel tables ------------------------------------------------------------------------
    def pauli_channel(self, weight: int) -> np.ndarray:
        """(4,) probabilities of (I, X, Y, Z) applied to each qubit after a gate of ``weight`` qubits."""
        p = self.p1 if weight == 1 else self.p2
        dep = _channel((1 - p, p / 3, p / 3, p / 3))
        dephase = _channel((1 - self.p_z, 0, 0, self.p_z))
        flip = _channel((1 - self.p_x, self.p_x, 0, 0))
        xor = compose_pauli_channels(dep, dephase, flip)
        return np.array([xor[_XOR[c]] for c in "IXYZ"])

    @property
    def has_pauli_noise(self) -> bool:
        return any(v > 0 for v in (self.p1, self.p2, self.p_z, self.p_x))

    @property
    def has_readout_error(self) -> bool:
        return any(np.any(np.asarray(v) > 0) for v in (self.readout_01, self.readout_10))

    @property
    def is_noiseless(self) -> bool:
        return not (self.has_pauli_noise or self.gamma > 0 or self.has_readout_error)

    def check_qubits(self, n_qubits: int, where: str = "NoiseModel") -> None:
        """Raise ValueError if a per-qubit readout tuple does not have ``n_qubits`` entries."""
        for name in ("readout_01", "readout_10"):
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != n_qubits:
                raise ValueError(
                    f"{where}: the noise model's {name} has {len(v)} entries (one per qubit), but the circuit has "
                    f"{n_qubits} qubits"
                )

    def readout_matrices(self, n_qubits: int) -> np.ndarray:
        """(n, 2, 2) confusion matrices ``M[q, prepared, read]`` (rows sum to 1)."""
        self.check_qubits(n_qubits, "NoiseModel.readout_matrices")
        a = np.broadcast_to(np.asarray(self.readout_01, dtype=np.float64), (n_qubits,))
        b = np.broadcast_to(np.asarray(self.readout_10, dtype=np.float64), (n_qubits,))
        return np.stack([np.array([[1 - a[q], a[q]], [b[q], 1 - b[q]]]) for q in range(n_qubits)])

    def replace(self, **changes) -> NoiseModel:
        """A copy with some fields changed (validated again)."""
        fields = {k: getattr(self, k) for k in (*_PROBS, "readout_01", "readout_10", "gates")}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"NoiseModel.replace: unknown field(s) {sorted(unknown)}; expected some of {list(fields)}")
        fields.update(changes)
        return NoiseModel(**fields)


def as_noise_model(noise, where: str) -> NoiseModel:
    """``noise`` checked to be a ``NoiseModel``."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"{where}: noise must be a NoiseModel, got {type(noise).__name__}")
    return noise


__all__ += ["as_noise_model"]

jax.tree_util.register_static(NoiseModel)
