"""Qiskit Aer equivalents of a ``noise.NoiseModel``: a logical circuit and an Aer ``NoiseModel``.

``to_qiskit_logical`` writes every rotation ``R_P(t)`` as ONE ``UnitaryGate`` on the support of ``P``
(labelled ``"rp<w>"``, w = weight), followed by a one-qubit identity ``UnitaryGate`` on each qubit of
the support labelled ``"ch1"`` (weight 1) or ``"ch2"`` (weight >= 2), and Clifford gates as Qiskit's
native gates. ``to_aer_noise_model`` attaches to ``ch1`` / ``ch2`` the single-qubit channel the
slpa-jax simulators apply after a rotation (``noise.model``; per-qubit markers keep the Aer model
linear in the weight, where a tensored w-qubit error would have 4**w terms), to one- and two-qubit
Clifford gates the p1 / p2 channel when ``noise.gates``, and a per-qubit ``ReadoutError``. Aer then simulates exactly
the model that ``noise.density`` does (tested to 1e-10 with Aer's density-matrix method).

Exported hardware programs (``to_qiskit``, ``export.settings``) decompose rotations into CNOT
ladders instead; noise on those is gate-level device noise, a different model.

Needs ``qiskit`` and ``qiskit-aer`` (the ``noise`` extra: ``pip install 'slpa-jax[noise]'``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.circuit import Circuit, Gate
from ..noise.model import NoiseModel, as_noise_model
from .circuits import QISKIT_GATE_NAMES, bind_params, import_qiskit

__all__ = ["import_aer", "to_qiskit_logical", "to_aer_noise_model", "ROTATION_LABEL", "CHANNEL_LABELS"]

#: Label of the unitary gate of a rotation of weight w.
ROTATION_LABEL = "rp{}"
#: Labels of the identity markers after a rotation of weight 1 and of weight >= 2 (one per support qubit).
CHANNEL_LABELS = ("ch1", "ch2")


def import_aer(where: str):
    """``qiskit_aer``, or ImportError naming the extra to install."""
    try:
        import qiskit_aer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"{where} needs qiskit-aer: pip install 'slpa-jax[noise]'") from err
    return qiskit_aer


def to_qiskit_logical(circuit: Circuit, params, *, measure: Sequence[int] | None = None):
    """A ``QuantumCircuit`` with one labelled ``UnitaryGate`` per rotation (``"rp<w>"``) and native Cliffords.

    Same qubit indices as ``to_qiskit`` (our qubit q is Qiskit qubit q); ``measure`` qubits go to clbits
    0, 1, ... of register ``c``. ``params`` must be bound (no symbolic parameters).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"to_qiskit_logical: expected a Circuit, got {type(circuit).__name__}")
    qiskit = import_qiskit("to_qiskit_logical")
    from qiskit.circuit.library import UnitaryGate

    vals = bind_params(circuit, params, "to_qiskit_logical")
    if vals is None and circuit.n_params:
        raise ValueError("to_qiskit_logical: params must be bound (a (n_params,) array), got None")
    angles = circuit.angles(np.zeros(0) if vals is None else vals)
    angles = np.asarray(angles, dtype=np.float64)
    measure = tuple(int(q) for q in (measure or ()))
    qreg = qiskit.QuantumRegister(circuit.n_qubits, "q")
    regs = [qreg] + ([qiskit.ClassicalRegister(len(measure), "c")] if measure else [])
    qc = qiskit.QuantumCircuit(*regs)
    r = 0
    for op in circuit.ops:
        if isinstance(op, Gate):
            getattr(qc, QISKIT_GATE_NAMES[op.name])(*op.qubits)
            continue
        support = [int(q) for q in np.flatnonzero(op.pauli.x_bits | op.pauli.z_bits)]
        local = op.pauli.letters
        p = _pauli_dense("".join(local[q] for q in support))
        t = angles[r]
        u = np.cos(t / 2) * np.eye(p.shape[0]) - 1j * np.sin(t / 2) * p
        # UnitaryGate's first qarg is its least significant bit; ours is the most significant
        qc.append(UnitaryGate(u, label=ROTATION_LABEL.format(len(support))), support[::-1])
        marker = CHANNEL_LABELS[0 if len(support) == 1 else 1]
        for q in support:
            qc.append(UnitaryGate(np.eye(2), label=marker), [q])
        r += 1
    for k, q in enumerate(measure):
        qc.measure(q, k)
    return qc


_SINGLE = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


def _pauli_dense(letters: str) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    for ch in letters:
        out = np.kron(out, _SINGLE[ch])
    return out


def _qubit_error(noise: NoiseModel, weight: int):
    """The per-qubit Aer ``QuantumError``: the Pauli channel, then amplitude damping; None when trivial."""
    from qiskit_aer.noise import amplitude_damping_error, pauli_error

    probs = noise.pauli_channel(weight)
    err = None
    if probs[0] < 1:
        err = pauli_error([(ch, float(p)) for ch, p in zip("IXYZ", probs) if p > 0])
    if noise.gamma > 0:
        damp = amplitude_damping_error(noise.gamma)
        err = damp if err is None else err.compose(damp)  # compose: err first, then damping
    return err


def to_aer_noise_model(noise: NoiseModel, n_qubits: int):
    """The Aer ``NoiseModel`` equivalent to ``noise`` for circuits from ``to_qiskit_logical`` on ``n_qubits``.

    Raises:
        ValueError: per-qubit readout errors of another length than ``n_qubits``.
    """
    noise = as_noise_model(noise, "to_aer_noise_model")
    noise.check_qubits(n_qubits, "to_aer_noise_model")
    import_aer("to_aer_noise_model")
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import ReadoutError

    basis = ["unitary", *sorted(set(QISKIT_GATE_NAMES.values()))]
    model = AerNoiseModel(basis_gates=basis)
    for weight, label in zip((1, 2), CHANNEL_LABELS):
        e = _qubit_error(noise, weight)
        if e is not None:
            model.add_all_qubit_quantum_error(e, [label], warnings=False)
    if noise.gates:
        from ..core.gates import GATES

        for arity in (1, 2):
            e = _qubit_error(noise, arity)
            if e is None:
                continue
            names = [QISKIT_GATE_NAMES[g] for g, spec in GATES.items() if spec.arity == arity]
            model.add_all_qubit_quantum_error(e if arity == 1 else e.tensor(e), names, warnings=False)
    if noise.has_readout_error:
        mats = noise.readout_matrices(n_qubits)
        for q in range(n_qubits):
            model.add_readout_error(ReadoutError(mats[q]), [q], warnings=False)
    return model
