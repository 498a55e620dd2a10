"""Block-gradient estimators for commuting-block circuits: ancilla and ancilla-free schemes.

For block ``b`` of a ``BlockCircuit`` every component ``df/dtheta_j`` (j in the block) comes from ONE
measurement setting: the block's observables commute, are diagonalised by one Clifford
(``diagonalize.diagonalize_commuting``) and are estimated from the same shots. Derivations and the
shot accounting are in ``docs/block_gradient.md``. Supported observables: a single Pauli string
with a real coefficient, ``O = c P`` (the paper's ``XXII``); for a Pauli sum build one BlockCircuit
per term and add the gradients.

- ancilla scheme (spec section 3): one (n+1)-qubit circuit per block, ancilla = LAST qubit ``n``
  (least significant index bit; input ``kron(state, |0>_a)``): blocks 1..b on the system, ``H(a)``,
  ``S(a)`` if the block commutes with ``P`` (g = 0), then every later rotation ``R_Q(t)`` as is if ``Q``
  commutes with the block and as ``exp(+i t Z_a Q / 2) = R_{Q Z_a}(-t)`` otherwise; readout
  ``df/dtheta_j = c <X_a (x) i^g G_j P>``.
- ancilla-free scheme: insert ``R_Q(+pi/2)`` or ``R_Q(-pi/2)`` right after the block (``Q`` = its first
  generator, the logical ``Lbar_b`` of an SLPA); ``df/dtheta_j = c (<M_j>_+ - <M_j>_-) / 2`` with
  ``M_j = (Q G_j) P``. When no later generator anticommutes with the block, one unshifted circuit
  gives ``df/dtheta_j = c <i G_j P>`` (the spec's "2B - 1"; for the paper's SLPA the last two blocks
  commute, so 2B - 2).
- A block that commutes with every later generator and with ``P`` has identically zero gradient;
  no circuit is run for it (never the case in the paper's SLPA).

Simulation: every measurement circuit (and, for ``make_estimator``, the independent circuit for
``f_hat``) is lowered to a table of Pauli rotations (Clifford gates become fixed rotations, exact up
to a global phase), padded to one length and run by ONE ``lax.scan`` vmapped over circuits. Shots:
one exact multinomial draw of ``N`` shots per circuit (``sampling.sample_counts``), every observable
of the circuit estimated from those shots (``sampling.parity_means``); this is
``estimators.measure_setting`` vectorised across the blocks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit, Gate, Rotation
from ..core.gates import GATES
from ..core.gf2 import solve
from ..core.kernels import apply_rotation, pauli_expectation
from ..core.pauli import Pauli, PauliTable, commutation_matrix
from ..core.simulator import initial_state
from ..measure.diagonalize import diagonalize_commuting
from ..measure.estimator import GradientEstimator
from ..measure.ledger import ShotLedger
from ..measure.sampling import check_shots, parity_means, sample_counts, z_index_masks
from .slpa import BlockCircuit

__all__ = ["BlockMeasurement", "block_measurements", "block_gradient", "block_gradient_estimator", "SCHEMES"]

SCHEMES = ("ancilla", "ancilla_free")
_HALF_PI = float(np.pi / 2)


@dataclass(frozen=True, eq=False)
class BlockMeasurement:
    """One measurement setting of a block gradient.

    Attributes:
        circuit: the circuit to run, same parameter vector as the model. Ancilla scheme: ``n + 1``
            qubits, ancilla = last qubit ``n``, input state ``kron(state, |0>)``; ancilla-free: ``n``.
        observables: ``PauliTable`` of pairwise-commuting Hermitian signed strings, measured jointly.
        readout: ``(param index, observable index, factor)`` triples:
            ``grad[param] += factor * <observables[obs]>``.
        block: index of the block this setting serves.
    """

    circuit: Circuit
    observables: PauliTable
    readout: tuple[tuple[int, int, float], ...]
    block: int = -1

    def __post_init__(self):
        if self.observables.n != self.circuit.n_qubits:
            raise ValueError(
                f"BlockMeasurement: observables act on {self.observables.n} qubits, the circuit on "
                f"{self.circuit.n_qubits}"
            )
        bad = np.flatnonzero(self.observables.phase % 2)
        if bad.size:
            raise ValueError(
                f"BlockMeasurement: observable {self.observables[int(bad[0])].label!r} is not Hermitian; "
                "expected sign + or -"
            )
        if not commutation_matrix(self.observables).all():
            raise ValueError("BlockMeasurement: observables must commute pairwise (one measurement setting)")


def _check_scheme(scheme, where: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"{where}: scheme must be one of {SCHEMES}, got {scheme!r}")


def _check_bc(bc, where: str) -> BlockCircuit:
    if not isinstance(bc, BlockCircuit):
        raise TypeError(
            f"{where}: expected a BlockCircuit (slpa.build_slpa / slpa.detect_blocks), got {type(bc).__name__}"
        )
    return bc


def _single_term(bc: BlockCircuit, where: str) -> tuple[float, Pauli]:
    obs = bc.observable.simplify()
    if len(obs) != 1:
        raise ValueError(
            f"{where}: the observable must be a single Pauli string c * P, got {len(obs)} terms ({obs!r}); "
            "build one BlockCircuit per term and add the gradients"
        )
    return float(np.real(obs.coeffs[0])), obs.paulis[0]


def _extend(p: Pauli, letter: str) -> Pauli:
    """``p (x) letter`` with the extra qubit last; keeps the phase."""
    xa, za = {"I": (0, 0), "X": (1, 0), "Z": (0, 1)}[letter]
    return Pauli.from_bits(np.append(p.x_bits, bool(xa)), np.append(p.z_bits, bool(za)), p.phase)


def _readout(entries, where_n: int) -> tuple[PauliTable, tuple]:
    """Deduplicate observables: entries are (param, Pauli, factor)."""
    index: dict[tuple, int] = {}
    paulis: list[Pauli] = []
    readout = []
    for param, obs, factor in entries:
        key = (obs.phase, obs.x.tobytes(), obs.z.tobytes())
        if key not in index:
            index[key] = len(paulis)
            paulis.append(obs)
        readout.append((int(param), index[key], float(factor)))
    return PauliTable.from_paulis(paulis, where_n), tuple(readout)


def block_measurements(bc: BlockCircuit, scheme: str = "ancilla") -> list[BlockMeasurement]:
    """The gradient measurement plan of a BlockCircuit (no circuit for ``f`` itself).

    Args:
        bc: ``BlockCircuit`` whose observable is a single Pauli string ``c P``.
        scheme: ``"ancilla"`` (one (n+1)-qubit setting per block) or ``"ancilla_free"`` (two shifted
            n-qubit settings per block, one for a block no later generator anticommutes with).

    Returns:
        list of ``BlockMeasurement`` in block order; blocks with identically zero gradient or no
        trainable rotation get none. ``sum_m sum_(p,k,f) in m.readout f <m.observables[k]>`` is the
        exact gradient.

    Raises:
        ValueError: unknown scheme, or an observable with more than one term.
    """
    bc = _check_bc(bc, "block_measurements")
    _check_scheme(scheme, "block_measurements")
    coeff, obs = _single_term(bc, "block_measurements")
    n, n_params = bc.n_qubits, bc.n_params
    rots = bc.circuit.rotations
    out: list[BlockMeasurement] = []
    for b, (a, c) in enumerate(bc.blocks):
        trainable = [j for j in range(a, c) if rots[j].param is not None]
        if not trainable:
            continue
        q = rots[a].pauli
        anti_later = [r.pauli.anticommutes(q) for r in rots[c:]]
        g = int(q.anticommutes(obs))
        if not any(anti_later) and g == 0:
            continue  # [G_j, U^dag O U] = 0: zero gradient for every rotation in the block
        if scheme == "ancilla":
            ops = [Rotation(_extend(r.pauli, "I"), r.param, r.scale, r.offset) for r in rots[:c]]
            ops.append(Gate("H", (n,)))
            if g == 0:
                ops.append(Gate("S", (n,)))
            for r, anti in zip(rots[c:], anti_later):
                ops.append(
                    Rotation(_extend(r.pauli, "Z"), r.param, -r.scale, -r.offset)
                    if anti
                    else Rotation(_extend(r.pauli, "I"), r.param, r.scale, r.offset)
                )
            entries = []
            for j in trainable:
                prod = rots[j].pauli * obs
                o_j = Pauli.from_words(prod.x, prod.z, prod.phase + g, n)  # i^g G_j P
                entries.append((rots[j].param, _extend(o_j, "X"), coeff * rots[j].scale))
            table, readout = _readout(entries, n + 1)
            out.append(BlockMeasurement(Circuit(n + 1, tuple(ops), n_params), table, readout, b))
            continue
        if not any(anti_later):  # g == 1: measure i G_j P on the model circuit itself
            entries = []
            for j in trainable:
                prod = rots[j].pauli * obs
                entries.append(
                    (rots[j].param, Pauli.from_words(prod.x, prod.z, prod.phase + 1, n), coeff * rots[j].scale)
                )
            table, readout = _readout(entries, n)
            out.append(BlockMeasurement(bc.circuit, table, readout, b))
            continue
        for sign in (1.0, -1.0):
            ops = list(rots[:c]) + [Rotation(q, None, 1.0, sign * _HALF_PI)] + list(rots[c:])
            entries = [
                (rots[j].param, (q * rots[j].pauli) * obs, 0.5 * sign * coeff * rots[j].scale) for j in trainable
            ]
            table, readout = _readout(entries, n)
            out.append(BlockMeasurement(Circuit(n, tuple(ops), n_params), table, readout, b))
    return out


# --- lowering to a stacked rotation table --------------------------------------------------------


def _gate_rotations(gate: Gate, n: int) -> list[tuple[Pauli, float]]:
    """Fixed Pauli rotations equal to ``gate`` up to a global phase (``GateSpec.rotations``), in order."""
    return [
        (Pauli(" ".join(f"{ch}{q}" for ch, q in zip(label, gate.qubits) if ch != "I"), n), float(angle))
        for label, angle in GATES[gate.name].rotations
    ]


def _lower(circuit: Circuit) -> list[tuple[Pauli, int, float, float]]:
    """Rows ``(pauli, param, scale, offset)``; fixed angles have param 0 and scale 0."""
    rows = []
    for op in circuit.ops:
        if isinstance(op, Rotation):
            rows.append(
                (op.pauli, 0 if op.param is None else op.param, 0.0 if op.param is None else op.scale, op.offset)
            )
        else:
            rows.extend((pauli, 0, 0.0, float(angle)) for pauli, angle in _gate_rotations(op, circuit.n_qubits))
    return rows


@dataclass(frozen=True, eq=False)
class _Plan:
    """Static stacked tables for C circuits of R rows on ``n_sim`` qubits (numpy, host side)."""

    ancilla: bool
    masks: np.ndarray  # (C, R, 3) int32 rotation index masks (xmask, zmask, n_y)
    pidx: np.ndarray  # (C, R) int32
    scale: np.ndarray  # (C, R) float64
    offset: np.ndarray  # (C, R) float64
    obs_masks: np.ndarray  # (C, K, 3) int32, exact readout
    obs_sign: np.ndarray  # (C, K) float64
    basis: np.ndarray  # (C, r) int32 index masks of independent parities after diagonalisation (sampled)
    pattern: np.ndarray  # (C, K) int32: observable k's parity = XOR of the basis parities in pattern[c, k]
    parity_sign: np.ndarray  # (C, K) float64
    ro_meas: np.ndarray  # (E,) int32
    ro_obs: np.ndarray
    ro_param: np.ndarray
    ro_factor: np.ndarray  # (E,) float64
    n_grad: int  # gradient circuits; circuit n_grad (if present) is the f circuit
    f_coeff: float


@functools.lru_cache(maxsize=64)
def _plan(bc: BlockCircuit, scheme: str, sampled: bool, with_f: bool) -> _Plan:
    coeff, obs = _single_term(bc, "block_gradient")
    ms = block_measurements(bc, scheme)
    ancilla = scheme == "ancilla"
    n_sim = bc.n_qubits + (1 if ancilla else 0)
    circuits = [m.circuit for m in ms]
    tables = [m.observables for m in ms]
    if with_f:
        model = bc.circuit.embed(n_sim) if ancilla else bc.circuit
        circuits.append(model)
        tables.append(PauliTable.from_paulis([_extend(obs, "I") if ancilla else obs]))
    rows = []
    readouts = []
    for circ, tab in zip(circuits, tables):
        r = _lower(circ)
        if sampled:
            diag = diagonalize_commuting(tab)
            r += _lower(diag.clifford)
            readouts.append(_parity_basis(diag.z_masks) + (diag.signs.astype(np.float64),))
        rows.append(r)
    n_c = len(circuits)
    width = max([len(r) for r in rows], default=1)
    k_max = max([len(t) for t in tables], default=1)
    masks = np.zeros((n_c, width, 3), np.int32)
    pidx = np.zeros((n_c, width), np.int32)
    scale = np.zeros((n_c, width))
    offset = np.zeros((n_c, width))
    for i, r in enumerate(rows):
        for k, (pauli, param, sc, off) in enumerate(r):
            masks[i, k] = pauli.index_masks()
            pidx[i, k], scale[i, k], offset[i, k] = param, sc, off
    obs_masks = np.zeros((n_c, k_max, 3), np.int32)
    obs_sign = np.zeros((n_c, k_max))
    r_max = max([len(ro[0]) for ro in readouts], default=1) if sampled else 1
    basis = np.zeros((n_c, max(r_max, 1)), np.int32)
    pattern = np.zeros((n_c, k_max), np.int32)
    par_sign = np.zeros((n_c, k_max))
    for i, tab in enumerate(tables):
        xm, zm, ny = tab.index_masks()
        obs_masks[i, : len(tab)] = np.stack([xm, zm, ny], axis=1)
        obs_sign[i, : len(tab)] = np.where(tab.phase == 2, -1.0, 1.0)
        if sampled:
            b_masks, pat, signs = readouts[i]
            basis[i, : len(b_masks)] = b_masks
            pattern[i, : len(tab)] = pat
            par_sign[i, : len(tab)] = signs
    ro = [(i, k, p, f) for i, m in enumerate(ms) for (p, k, f) in m.readout]
    ro_arr = np.array(ro, dtype=np.float64).reshape(-1, 4)
    return _Plan(
        ancilla,
        masks,
        pidx,
        scale,
        offset,
        obs_masks,
        obs_sign,
        basis,
        pattern,
        par_sign,
        ro_arr[:, 0].astype(np.int32),
        ro_arr[:, 1].astype(np.int32),
        ro_arr[:, 2].astype(np.int32),
        ro_arr[:, 3],
        len(ms),
        coeff,
    )


def _initial(bc: BlockCircuit, plan: _Plan, params, state):
    psi = initial_state(bc.circuit, params, state)
    if plan.ancilla:  # kron(state, |0>_a): the ancilla is the least significant index bit
        psi = jnp.stack([psi, jnp.zeros_like(psi)], axis=-1).reshape(-1)
    return psi


def _run(plan: _Plan, params, psi0) -> jax.Array:
    """(C, 2**n_sim) final states of all circuits: one scan over rows, batched over circuits."""
    real = params.dtype
    angles = jnp.take(params, jnp.asarray(plan.pidx), axis=0) * plan.scale.astype(real) + plan.offset.astype(real)
    masks = jnp.asarray(plan.masks)
    batch = jnp.broadcast_to(psi0, (plan.masks.shape[0],) + psi0.shape)
    rotate = jax.vmap(apply_rotation)

    def body(states, row):
        m, th = row
        return rotate(states, m[:, 0], m[:, 1], m[:, 2], th), None

    rows = (jnp.swapaxes(masks, 0, 1), jnp.swapaxes(angles, 0, 1))
    return lax.scan(body, batch, rows)[0]


def _exact_values(plan: _Plan, states) -> jax.Array:
    """(C, K) exact signed expectations of every circuit's observables."""
    om = jnp.asarray(plan.obs_masks)
    per = jax.vmap(jax.vmap(pauli_expectation, in_axes=(None, 0, 0, 0)), in_axes=(0, 0, 0, 0))
    vals = per(states, om[..., 0], om[..., 1], om[..., 2])
    return vals * plan.obs_sign.astype(vals.dtype)


def _parity_basis(z_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent parities of a setting: (r,) index masks, and (K,) int masks over them per observable.

    After diagonalisation observable k reads the parity ``z_masks[k] . b``; these are XORs of ``r``
    independent parities, so the joint law of all K single-shot values is the law of an r-bit
    pattern (2**r outcomes instead of 2**n).
    """
    z = np.asarray(z_masks, dtype=bool)
    chosen: list[np.ndarray] = []
    for row in z:
        if solve(np.array(chosen, dtype=bool).reshape(-1, z.shape[1]), row) is None:
            chosen.append(row)
    rows = np.array(chosen, dtype=bool).reshape(-1, z.shape[1])
    weights = 1 << np.arange(len(chosen))
    pattern = np.array([int((solve(rows, row) * weights).sum()) for row in z], dtype=np.int32)
    return np.asarray(z_index_masks(rows), np.int32).reshape(-1), pattern


def _sampled_values(plan: _Plan, states, shots: int, key) -> jax.Array:
    """(C, K) shot estimates: one multinomial draw of ``shots`` per circuit, all observables from it.

    The draw is over the joint outcome of the setting's independent parities (exactly the law of
    the parities of ``shots`` computational-basis samples), so estimates are correlated as on hardware.
    """
    keys = jax.random.split(key, states.shape[0])
    probs = jnp.real(states) ** 2 + jnp.imag(states) ** 2
    idx = lax.iota(jnp.int32, states.shape[1])
    basis = jnp.asarray(plan.basis)
    bits = lax.population_count(idx[None, :, None] & basis[:, None, :]) & 1  # (C, D, r)
    outcome = jnp.sum(bits << jnp.arange(basis.shape[1], dtype=jnp.int32)[None, None, :], axis=-1)  # (C, D)
    n_out = 2 ** max(basis.shape[1], 1)
    marginal = jax.vmap(lambda p, o: jax.ops.segment_sum(p, o, num_segments=n_out))(probs, outcome)
    counts = jax.vmap(lambda p, k: sample_counts(p, shots, key=k))(marginal, keys)
    sums = jax.vmap(parity_means)(counts, jnp.asarray(plan.pattern))
    real = jnp.real(states).dtype
    return plan.parity_sign.astype(real) * sums.astype(real) / jnp.asarray(shots, real)


def _assemble(plan: _Plan, values, n_params: int, dtype) -> jax.Array:
    contrib = values[jnp.asarray(plan.ro_meas), jnp.asarray(plan.ro_obs)] * plan.ro_factor.astype(values.dtype)
    return jnp.zeros(n_params, dtype).at[jnp.asarray(plan.ro_param)].add(contrib.astype(dtype))


def block_gradient(
    bc: BlockCircuit, params, *, scheme: str = "ancilla", shots: int | None = None, key=None, state=None
) -> tuple[jax.Array, ShotLedger]:
    """Gradient ``df/dparams`` of ``f = <state| U^dag O U |state>`` from the block measurements.

    Args:
        bc: ``BlockCircuit`` with a single-Pauli observable.
        params: (n_params,) real angles.
        scheme: ``"ancilla"`` or ``"ancilla_free"``.
        shots: ``None`` for exact expectations (ledger zero), else shots per circuit ``N``.
        key: jax.random key, required with ``shots`` (same key, same result).
        state: (2**n,) input state, default ``|0...0>``.

    Returns:
        ``(grad (n_params,), ShotLedger)``; with shots the ledger is ``M`` executions and ``M * N``
        shots for ``M = len(block_measurements(bc, scheme))`` (``B`` for the ancilla scheme).

    Traceable (no jit inside); jit it at the call site.
    """
    bc = _check_bc(bc, "block_gradient")
    _check_scheme(scheme, "block_gradient")
    params = bc.circuit.check_params(params)
    if shots is not None:
        check_shots(shots)
        if key is None:
            raise ValueError("block_gradient: key is required when shots is given; pass key=jax.random.key(seed)")
    plan = _plan(bc, scheme, shots is not None, False)
    psi0 = _initial(bc, plan, params, state)
    if plan.masks.shape[0] == 0:
        return jnp.zeros(bc.n_params, params.dtype), ShotLedger.zero()
    states = _run(plan, params, psi0)
    if shots is None:
        return _assemble(plan, _exact_values(plan, states), bc.n_params, params.dtype), ShotLedger.zero()
    values = _sampled_values(plan, states, shots, key)
    n_c = plan.masks.shape[0]
    return _assemble(plan, values, bc.n_params, params.dtype), ShotLedger.of(n_c, n_c * shots)


def block_gradient_estimator(bc: BlockCircuit, shots: int | None, scheme: str = "ancilla") -> GradientEstimator:
    """Block-gradient estimator for training (``measure.estimator.GradientEstimator``, kind = ``scheme``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``, pure.

    ``f_hat`` comes from an independent run of the model circuit (same ``N`` shots), so
    ``2 (f_hat - y) grad_hat`` is an unbiased MSE gradient. Per call the ledger is ``M + 1``
    executions and ``(M + 1) N`` shots, ``M`` = number of block measurements: ``B`` for the ancilla
    scheme (paper SLPA: 25 N), at most ``2B - 1`` for the ancilla-free scheme (paper SLPA: 46 + 1,
    its last two blocks commute, so both are measured directly). ``shots=None`` gives the exact
    estimator (ledger zero, key ignored).
    Usable inside ``jit``/``vmap``/``lax.scan``; the static tables are built once here.

    Raises:
        TypeError/ValueError: bad BlockCircuit, scheme, shots, or a multi-term observable.
    """
    bc = _check_bc(bc, "block_gradient_estimator")
    _check_scheme(scheme, "block_gradient_estimator")
    if shots is not None:
        check_shots(shots)
    plan = _plan(bc, scheme, shots is not None, True)
    n_c = plan.masks.shape[0]

    def estimator(params, state, key):
        params = bc.circuit.check_params(params)
        states = _run(plan, params, _initial(bc, plan, params, state))
        if shots is None:
            values = _exact_values(plan, states)
            ledger = ShotLedger.zero()
        else:
            values = _sampled_values(plan, states, shots, key)
            ledger = ShotLedger.of(n_c, n_c * shots)
        f_hat = (plan.f_coeff * values[plan.n_grad, 0]).astype(params.dtype)
        return f_hat, _assemble(plan, values, bc.n_params, params.dtype), ledger

    return GradientEstimator(scheme, estimator, n_c if shots is not None else 0, shots, bc)
