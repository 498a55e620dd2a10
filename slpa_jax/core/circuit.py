"""Circuits as static data: Pauli rotations with parameter indices, and fixed Clifford gates.

A rotation applies ``R_P(theta) = exp(-i theta P / 2)`` with ``theta = scale * params[param] + offset``
(``param=None`` for a fixed angle ``offset``). Parameters may be shared between rotations.
Clifford gates (H, S, SDG, X, Y, Z, CNOT, CZ, SWAP) are exact permutation/phase passes.

A ``Circuit`` is immutable and hashable and is registered as a *static* pytree, so it can be passed
to ``jax.jit``-ed functions directly: changing parameter values never retraces, changing the circuit
does.

Example:
    >>> c = Circuit.from_labels(["XX", "ZZ"])  # R_XX(params[0]) then R_ZZ(params[1])
    >>> c.n_qubits, c.num_rotations, c.n_params, c.generators.labels()
    (2, 2, 2, ['XX', 'ZZ'])
    >>> c.inverse().ops[0].pauli.label, c.inverse().ops[0].scale
    ('ZZ', -1.0)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import jax
import numpy as np

from .gates import GATES
from .pauli import Pauli, PauliTable

__all__ = ["Rotation", "Gate", "Circuit", "CLIFFORD_GATES"]

#: Clifford gate name -> (number of qubits, name of its inverse), read from ``gates.GATES``.
CLIFFORD_GATES = {name: (g.arity, g.inverse) for name, g in GATES.items()}


@dataclass(frozen=True)
class Rotation:
    """``R_P(scale * params[param] + offset)``; ``param=None`` means the fixed angle ``offset``.

    ``pauli`` is stored unsigned; a ``-`` sign in the label is folded into ``scale`` and ``offset``.
    """

    pauli: Pauli
    param: int | None = None
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        if not isinstance(self.pauli, Pauli):
            raise TypeError(f"Rotation: pauli must be a Pauli, got {type(self.pauli).__name__}")
        if not self.pauli.is_hermitian:
            raise ValueError(f"Rotation: generator must be Hermitian (sign + or -), got {self.pauli.label!r}")
        p = self.param
        if p is not None and (not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 0):
            raise ValueError(f"Rotation: param must be a non-negative int or None, got {p!r}")
        if p is not None:
            object.__setattr__(self, "param", int(p))
        if self.pauli.phase == 2:  # R_{-P}(t) = R_P(-t): store the unsigned string
            object.__setattr__(self, "pauli", self.pauli.unsigned())
            object.__setattr__(self, "scale", -self.scale)
            object.__setattr__(self, "offset", -self.offset)

    @property
    def is_trainable(self) -> bool:
        return self.param is not None

    def inverse(self) -> Rotation:
        return Rotation(self.pauli, self.param, -self.scale, -self.offset)


@dataclass(frozen=True)
class Gate:
    """A fixed Clifford gate ``name`` on ``qubits`` (control first for CNOT)."""

    name: str
    qubits: tuple[int, ...]

    def __post_init__(self):
        object.__setattr__(self, "qubits", tuple(int(q) for q in self.qubits))

    def inverse(self) -> Gate:
        return Gate(CLIFFORD_GATES[self.name][1], self.qubits)


def _make_rotation(pauli, n: int, param, scale: float, offset: float, where: str) -> Rotation:
    if isinstance(pauli, str):
        pauli = Pauli(pauli, n if (" " in pauli.strip() or any(ch.isdigit() for ch in pauli)) else None)
    if not isinstance(pauli, Pauli):
        raise TypeError(f"{where}: expected a Pauli label or Pauli, got {type(pauli).__name__}")
    if pauli.n != n:
        raise ValueError(f"{where}: label {pauli.label!r} has length {pauli.n}, expected n_qubits={n}")
    if not pauli.is_hermitian:
        raise ValueError(f"{where}: rotation generator must be Hermitian (sign + or -), got {pauli.label!r}")
    if pauli.is_identity:
        warnings.warn(
            f"{where}: rotation generator {pauli.label!r} is the identity: a global phase, its parameter gets "
            "zero gradient (exports omit it)",
            UserWarning,
            stacklevel=3,
        )
    if param is not None and (not isinstance(param, (int, np.integer)) or isinstance(param, bool) or param < 0):
        raise ValueError(f"{where}: param must be a non-negative int or None, got {param!r}")
    return Rotation(pauli, param, float(scale), float(offset))  # Rotation folds a - sign into the angle


@dataclass(frozen=True)
class Circuit:
    """An ordered tuple of operations (``Rotation`` or ``Gate``) on ``n_qubits`` qubits.

    ``n_params`` is the length of the parameter vector the circuit expects; it may exceed the
    largest index used (unused parameters get zero gradient).
    """

    n_qubits: int
    ops: tuple[Rotation | Gate, ...] = ()
    n_params: int = 0
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.n_qubits, (int, np.integer)) or isinstance(self.n_qubits, bool) or self.n_qubits < 1:
            raise ValueError(f"Circuit: n_qubits must be a positive int, got {self.n_qubits!r}")
        if not isinstance(self.n_params, (int, np.integer)) or isinstance(self.n_params, bool) or self.n_params < 0:
            raise ValueError(f"Circuit: n_params must be a non-negative int, got {self.n_params!r}")
        ops = tuple(self.ops)
        used = -1
        for i, op in enumerate(ops):
            if isinstance(op, Rotation):
                if op.pauli.n != self.n_qubits:
                    raise ValueError(
                        f"Circuit: operation {i} acts on {op.pauli.n} qubits, expected n_qubits={self.n_qubits}"
                    )
                if op.param is not None:
                    used = max(used, op.param)
            elif isinstance(op, Gate):
                _check_gate(op, self.n_qubits, f"Circuit: operation {i}")
            else:
                raise TypeError(f"Circuit: operation {i} must be a Rotation or Gate, got {type(op).__name__}")
        if self.n_params < used + 1:
            raise ValueError(f"Circuit: n_params={self.n_params} but parameter index {used} is used")
        object.__setattr__(self, "ops", ops)
        object.__setattr__(self, "_hash", hash((self.n_qubits, self.n_params, ops)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        if self is other:
            return True
        return (
            self._hash == other._hash
            and self.n_qubits == other.n_qubits
            and self.n_params == other.n_params
            and self.ops == other.ops
        )

    # --- construction ------------------------------------------------------------------------------
    @classmethod
    def from_labels(cls, labels: Sequence[str], n_qubits: int | None = None) -> Circuit:
        """One trainable rotation per label, parameters 0, 1, ... in order.

        Example: ``Circuit.from_labels(["XXII", "IIYY", "IZZI"])`` has 3 parameters.
        """
        labels = labels if isinstance(labels, str) else list(labels)
        if isinstance(labels, str) or not labels:
            raise ValueError(f"Circuit.from_labels: expected a non-empty list of labels, got {labels!r}")
        if n_qubits is None:
            first = Pauli(labels[0])
            n_qubits = first.n
        ops = tuple(
            _make_rotation(lab, n_qubits, i, 1.0, 0.0, f"Circuit.from_labels: label {i}")
            for i, lab in enumerate(labels)
        )
        return cls(n_qubits, ops, len(ops))

    @classmethod
    def from_generators(
        cls,
        labels: Sequence[str],
        param_indices: Sequence[int | None],
        n_qubits: int | None = None,
        n_params: int | None = None,
    ) -> Circuit:
        """Rotations with explicit parameter indices (shared indices allowed, None for fixed 0)."""
        if isinstance(labels, str):
            raise ValueError(f"Circuit.from_generators: expected a list of labels, got the string {labels!r}")
        labels, param_indices = list(labels), list(param_indices)
        if len(labels) != len(param_indices):
            raise ValueError(
                f"Circuit.from_generators: {len(labels)} labels but {len(param_indices)} parameter indices"
            )
        if n_qubits is None:
            if not labels:
                raise ValueError("Circuit.from_generators: no labels; pass n_qubits to build an empty circuit")
            n_qubits = Pauli(labels[0]).n
        ops = tuple(
            _make_rotation(lab, n_qubits, p, 1.0, 0.0, f"Circuit.from_generators: label {i}")
            for i, (lab, p) in enumerate(zip(labels, param_indices))
        )
        used = max([p for p in param_indices if p is not None], default=-1) + 1
        return cls(n_qubits, ops, used if n_params is None else n_params)

    def rotation(self, pauli, param: int | None = None, *, scale: float = 1.0, offset: float = 0.0) -> Circuit:
        """Return a new circuit with ``R_P(scale * params[param] + offset)`` appended."""
        op = _make_rotation(pauli, self.n_qubits, param, scale, offset, "Circuit.rotation")
        n_params = self.n_params if param is None else max(self.n_params, param + 1)
        return Circuit(self.n_qubits, self.ops + (op,), n_params)

    def fixed_rotation(self, pauli, angle: float) -> Circuit:
        """Append ``R_P(angle)`` with a fixed angle (radians)."""
        return self.rotation(pauli, None, offset=angle)

    def gate(self, name: str, *qubits: int) -> Circuit:
        """Return a new circuit with the Clifford gate ``name`` on ``qubits`` appended."""
        op = Gate(str(name).upper(), tuple(int(q) for q in qubits))
        _check_gate(op, self.n_qubits, "Circuit.gate")
        return Circuit(self.n_qubits, self.ops + (op,), self.n_params)

    def gates(self, gates: Iterable[tuple]) -> Circuit:
        """Append several Clifford gates given as ``(name, q0[, q1])`` tuples."""
        out = self
        for g in gates:
            out = out.gate(g[0], *g[1:])
        return out

    def __add__(self, other: Circuit) -> Circuit:
        return self.concat(other)

    def concat(self, other: Circuit) -> Circuit:
        """``other`` applied after ``self``; parameter indices are shared (not shifted)."""
        if not isinstance(other, Circuit):
            raise TypeError(f"Circuit.concat: expected a Circuit, got {type(other).__name__}")
        if other.n_qubits != self.n_qubits:
            raise ValueError(f"Circuit.concat: qubit counts differ, {self.n_qubits} vs {other.n_qubits}")
        return Circuit(self.n_qubits, self.ops + other.ops, max(self.n_params, other.n_params))

    def inverse(self) -> Circuit:
        """The adjoint circuit: reversed order, negated angles, inverted Cliffords."""
        return Circuit(self.n_qubits, tuple(op.inverse() for op in reversed(self.ops)), self.n_params)

    def embed(self, n_qubits: int, offset: int = 0) -> Circuit:
        """The same circuit on a larger register, qubit q -> q + offset."""
        if offset < 0 or offset + self.n_qubits > n_qubits:
            raise ValueError(f"Circuit.embed: cannot place {self.n_qubits} qubits at offset {offset} in {n_qubits}")
        ops = []
        for op in self.ops:
            if isinstance(op, Rotation):
                xb = np.zeros(n_qubits, bool)
                zb = np.zeros(n_qubits, bool)
                xb[offset : offset + self.n_qubits] = op.pauli.x_bits
                zb[offset : offset + self.n_qubits] = op.pauli.z_bits
                ops.append(Rotation(Pauli.from_bits(xb, zb), op.param, op.scale, op.offset))
            else:
                ops.append(Gate(op.name, tuple(q + offset for q in op.qubits)))
        return Circuit(n_qubits, tuple(ops), self.n_params)

    # --- views -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ops)

    @property
    def rotations(self) -> tuple[Rotation, ...]:
        return tuple(op for op in self.ops if isinstance(op, Rotation))

    @property
    def num_rotations(self) -> int:
        return len(self.rotations)

    @property
    def generators(self) -> PauliTable:
        """The rotation generators in circuit order (unsigned)."""
        rots = self.rotations
        return PauliTable.from_paulis([r.pauli for r in rots], self.n_qubits)

    @property
    def is_clifford_only(self) -> bool:
        return all(isinstance(op, Gate) for op in self.ops)

    def angles(self, params) -> jax.Array:
        """(num_rotations,) angles ``scale * params[param] + offset`` (traceable)."""
        import jax.numpy as jnp

        params = self.check_params(params)
        idx, scale, offset = self._angle_map
        offset = offset.astype(params.dtype)
        trainable = self._trainable_mask
        if not trainable.any():  # also covers n_params == 0, where take() has nothing to index
            return jnp.asarray(offset)
        # fixed rotations never read params (a NaN in an unused slot cannot leak into their angle)
        vals = jnp.where(trainable, jnp.take(params, idx, axis=-1) * scale.astype(params.dtype), 0)
        return vals + offset

    def check_params(self, params):
        """Validate the shape of ``params`` (static check) and return it as an array."""
        import jax.numpy as jnp

        params = jnp.asarray(params)
        if jnp.issubdtype(params.dtype, jnp.complexfloating):
            raise TypeError(f"params: expected real angles (float32 or float64), got dtype {params.dtype}")
        if params.ndim != 1 or params.shape[0] != self.n_params:
            raise ValueError(
                f"params: expected shape ({self.n_params},) for a circuit with {self.n_params} parameters, "
                f"got shape {tuple(params.shape)}"
            )
        if not jnp.issubdtype(params.dtype, jnp.floating):
            params = params.astype(jnp.result_type(float))
        return params

    @functools.cached_property
    def _angle_map(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rots = self.rotations
        idx = np.array([r.param if r.param is not None else 0 for r in rots], dtype=np.int32)
        scale = np.array([r.scale if r.param is not None else 0.0 for r in rots], dtype=np.float64)
        offset = np.array([r.offset for r in rots], dtype=np.float64)
        return idx, scale, offset

    @functools.cached_property
    def _trainable_mask(self) -> np.ndarray:
        return np.array([r.param is not None for r in self.rotations], dtype=bool)

    @functools.cached_property
    def rotation_rows(self) -> tuple[PauliTable, np.ndarray, np.ndarray]:
        """The circuit as Pauli rotations only: every Clifford gate replaced by its fixed rotations
        (``GateSpec.rotations``, exact up to a global phase), in application order.

        Returns:
            ``(generators, rotation, angle)``, each of length M: row i applies ``R_{generators[i]}``
            by ``angles(params)[rotation[i]]`` when ``rotation[i] >= 0`` (an index into
            ``rotations``), else by the fixed ``angle[i]``.
        """
        paulis, rot, fixed = [], [], []
        r = 0
        for op in self.ops:
            if isinstance(op, Rotation):
                paulis.append(op.pauli)
                rot.append(r)
                fixed.append(0.0)
                r += 1
                continue
            for label, angle in GATES[op.name].rotations:
                sparse = " ".join(f"{ch}{q}" for ch, q in zip(label, op.qubits) if ch != "I")
                paulis.append(Pauli(sparse, self.n_qubits))
                rot.append(-1)
                fixed.append(float(angle))
        table = PauliTable.from_paulis(paulis, self.n_qubits)
        return table, np.array(rot, np.int32), np.array(fixed, np.float64)

    def param_usage(self) -> np.ndarray:
        """(n_params,) how many rotations use each parameter."""
        out = np.zeros(self.n_params, np.int64)
        for r in self.rotations:
            if r.param is not None:
                out[r.param] += 1
        return out

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, n_params={self.n_params})"


def _check_gate(op: Gate, n: int, where: str) -> None:
    if op.name not in CLIFFORD_GATES:
        raise ValueError(f"{where}: unknown gate {op.name!r}; expected one of {sorted(CLIFFORD_GATES)}")
    arity = CLIFFORD_GATES[op.name][0]
    if len(op.qubits) != arity:
        raise ValueError(f"{where}: gate {op.name} takes {arity} qubit(s), got {len(op.qubits)}: {op.qubits}")
    for q in op.qubits:
        if not 0 <= q < n:
            raise ValueError(f"{where}: gate {op.name} qubit {q} out of range for n_qubits={n}")
    if len(set(op.qubits)) != len(op.qubits):
        raise ValueError(f"{where}: gate {op.name} needs distinct qubits, got {op.qubits}")


jax.tree_util.register_static(Circuit)
