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
from ..core.kernels import pauli_expectation
from ..core.pauli import Pauli, PauliTable, commutation_matrix
from ..core.simulator import group_states, initial_state, rotation_batch
from ..core.types import Key, Params, State
from ..measure.estimator import GradientEstimator
from ..measure.ledger import ShotLedger
from ..measure.sampling import check_shots, multinomial, z_index_masks
from .slpa import BlockCircuit

__all__ = [
    "FHAT_MODES",
    "BlockMeasurement",
    "block_measurements",
    "block_gradient",
    "block_gradient_estimator",
    "SCHEMES",
]

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


@dataclass(frozen=True, eq=False)
class _Plan:
    """Static tables of all measurement circuits of one estimator call (numpy, host side).

    Angles come from an extended vector ``ext = [circuit angles (L), 0, pi/2]``: index ``L`` is the
    identity padding, ``L + 1`` the ancilla-free logical shift (times its sign).
    """

    ancilla: bool
    rot_masks: np.ndarray  # (L + 2, 3) int32 rotation index masks on n qubits; rows L, L+1 unused (0)
    group_rows: np.ndarray  # (G, w) int32 rotation indices of each block, padded with L
    start: np.ndarray  # (C,) int32 block whose end state circuit c starts from
    suffix_masks: np.ndarray  # (C, R, 3) int32
    suffix_idx: np.ndarray  # (C, R) int32 into ext
    suffix_sign: np.ndarray  # (C, R) float64
    anc_phase: np.ndarray  # (C, 2) float64: (Re, Im) of w = i**(1 - g), the ancilla branch phase
    elem_masks: np.ndarray  # (C, E, 3) int32: group element T = prod_{i in T} generator_i, E = 2**r
    elem_sign: np.ndarray  # (C, E) float64
    pattern: np.ndarray  # (C, K) int32: observable k = parity_sign[c, k] * element pattern[c, k]
    parity_sign: np.ndarray  # (C, K) float64
    walsh: np.ndarray  # (E, E) float64, walsh[o, T] = (-1)**popcount(o & T)
    ro_meas: np.ndarray  # (Q,) int32 readout triples as arrays
    ro_obs: np.ndarray
    ro_param: np.ndarray
    ro_factor: np.ndarray  # (Q,) float64
    f_masks: np.ndarray  # (3,) int32 masks of P (observable c P) on n qubits
    f_coeff: float  # c times the sign of P
    with_f: bool

    @property
    def n_circuits(self) -> int:
        return self.start.shape[0]


def _generators(table: PauliTable) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Independent generators of commuting Hermitian observables and each observable in terms of them.

    Returns ``(gens, pattern, sign)``: ``gens`` the indices of r independent members (first found),
    ``pattern[k]`` an r-bit mask and ``sign[k]`` +-1 with ``O_k = sign[k] prod_{i in pattern[k]} O_{gens[i]}``.
    """
    bits = np.concatenate([table.x_bits, table.z_bits], axis=1)
    gens: list[int] = []
    for k in range(len(table)):
        if solve(bits[gens].reshape(-1, bits.shape[1]), bits[k]) is None:
            gens.append(k)
    rows = bits[gens].reshape(-1, bits.shape[1])
    pattern = np.zeros(len(table), np.int32)
    sign = np.ones(len(table))
    for k in range(len(table)):
        coef = solve(rows, bits[k])
        prod = Pauli.identity(table.n)
        for i in np.flatnonzero(coef):
            prod = prod * table[gens[i]]
        pattern[k] = int((coef.astype(np.int64) << np.arange(len(gens))).sum())
        ratio = table[k] * prod  # = sign * I, both Hermitian and commuting
        sign[k] = 1.0 if ratio.phase == 0 else -1.0
    return gens, pattern, sign


@functools.lru_cache(maxsize=64)
def _plan(bc: BlockCircuit, scheme: str, with_f: bool) -> _Plan:
    coeff, obs = _single_term(bc, "block_gradient")
    ms = block_measurements(bc, scheme)
    ancilla = scheme == "ancilla"
    n = bc.n_qubits
    rots = bc.circuit.rotations
    n_rot = len(rots)
    rot_masks = np.zeros((n_rot + 2, 3), np.int32)
    rot_masks[:n_rot] = np.stack(bc.circuit.generators.index_masks(), axis=1)
    width = max(c - a for a, c in bc.blocks)
    group_rows = np.full((len(bc.blocks), width), n_rot, np.int32)
    for g, (a, c) in enumerate(bc.blocks):
        group_rows[g, : c - a] = np.arange(a, c)
    ends = {c: g for g, (_, c) in enumerate(bc.blocks)}
    # per circuit: start block, suffix rows (index into ext, sign), ancilla phase, observables
    circuits = []
    for m in ms:
        a, c = bc.blocks[m.block]
        q = rots[a].pauli
        rows = []
        if ancilla:
            rows = [(r, -1.0 if rots[r].pauli.anticommutes(q) else 1.0) for r in range(c, n_rot)]
            g = int(q.anticommutes(obs))
            phase = (0.0, 1.0) if g == 0 else (1.0, 0.0)
        else:
            phase = (1.0, 0.0)
            if m.circuit is not bc.circuit:  # a shifted circuit: R_Q(+-pi/2) right after the block
                rows = [(n_rot + 1, float(np.sign(m.circuit.ops[c].offset)))]
            rows += [(r, 1.0) for r in range(c, n_rot)]
        circuits.append((ends[c], rows, phase, m.observables))
    n_c = len(circuits)
    r_len = max([len(r) for _, r, _, _ in circuits], default=0)
    suffix_masks = np.zeros((n_c, r_len, 3), np.int32)
    suffix_idx = np.full((n_c, r_len), n_rot, np.int32)
    suffix_sign = np.ones((n_c, r_len))
    gen_info = [_generators(t) for _, _, _, t in circuits]
    r_max = max([len(gi[0]) for gi in gen_info] + [1])
    n_el = 2**r_max
    k_max = max([len(t) for *_, t in circuits], default=1)
    n_sim = n + 1 if ancilla else n
    elem_masks = np.zeros((n_c, n_el, 3), np.int32)
    elem_sign = np.ones((n_c, n_el))
    pattern = np.zeros((n_c, k_max), np.int32)
    parity_sign = np.zeros((n_c, k_max))
    for i, ((_, rows, _, table), (gens, pat, sgn)) in enumerate(zip(circuits, gen_info)):
        for j, (r, sign) in enumerate(rows):
            suffix_idx[i, j], suffix_sign[i, j] = r, sign
            suffix_masks[i, j] = rot_masks[r] if r < n_rot else rot_masks[bc.blocks[circuits[i][0]][0]]
        for t in range(n_el):
            prod = Pauli.identity(n_sim)
            for b in range(len(gens)):
                if (t >> b) & 1:
                    prod = prod * table[gens[b]]
            elem_masks[i, t] = prod.index_masks()
            elem_sign[i, t] = 1.0 if prod.phase == 0 else -1.0
        pattern[i, : len(table)] = pat
        parity_sign[i, : len(table)] = sgn
    idx = np.arange(n_el)
    walsh = np.array([[-1.0 if bin(o & t).count("1") % 2 else 1.0 for t in idx] for o in idx]).reshape(n_el, n_el)
    ro = np.array([(i, k, p, f) for i, m in enumerate(ms) for (p, k, f) in m.readout], np.float64).reshape(-1, 4)
    return _Plan(
        ancilla,
        rot_masks,
        group_rows,
        np.array([s for s, *_ in circuits], np.int32),
        suffix_masks,
        suffix_idx,
        suffix_sign,
        np.array([ph for _, _, ph, _ in circuits], np.float64).reshape(-1, 2),
        elem_masks,
        elem_sign,
        pattern,
        parity_sign,
        walsh,
        ro[:, 0].astype(np.int32),
        ro[:, 1].astype(np.int32),
        ro[:, 2].astype(np.int32),
        ro[:, 3],
        np.array(obs.index_masks(), np.int32),
        coeff * (-1.0 if obs.phase == 2 else 1.0),
        with_f,
    )


def _final_states(bc: BlockCircuit, plan: _Plan, params, state) -> tuple[jax.Array, jax.Array]:
    """((C, 2**n_sim) final states of the measurement circuits, (2**n,) model output state).

    One ``simulator.group_states`` sweep gives the state after every block (the shared system
    prefixes); one ``simulator.rotation_batch`` scan runs every circuit's remainder from its prefix,
    all circuits in each pass. The ancilla circuit of block b, ``(|0>_a Vt + w |1>_a V) psi_b / sqrt2``,
    is assembled from its two branches: ``Vt psi_b`` (the remainder with the anticommuting angles
    negated) and ``V psi_b = U psi``, the model's output for every b.
    """
    psi0 = initial_state(bc.circuit, params, state)
    angles = bc.circuit.angles(params)
    real = angles.dtype
    ext = jnp.concatenate([angles, jnp.zeros(1, real), jnp.full(1, _HALF_PI, real)])
    rows = jnp.asarray(plan.group_rows)
    prefix = group_states(psi0, jnp.asarray(plan.rot_masks)[rows], ext[rows])
    final = prefix[-1]
    if plan.n_circuits == 0:
        return jnp.zeros((0,) + final.shape, final.dtype), final
    th = ext[jnp.asarray(plan.suffix_idx)] * plan.suffix_sign.astype(real)
    out = rotation_batch(prefix[jnp.asarray(plan.start)], plan.suffix_masks, th)
    if plan.ancilla:
        w = lax.complex(*(jnp.asarray(plan.anc_phase[:, i], real) for i in (0, 1))).astype(out.dtype)
        scale = jnp.asarray(np.sqrt(0.5), real).astype(out.dtype)
        out = jnp.stack([out, w[:, None] * final[None, :]], axis=-1).reshape(out.shape[0], -1) * scale
    return out, final


_multinomials = jax.vmap(multinomial, in_axes=(0, 0, None))
_element_values = jax.vmap(jax.vmap(pauli_expectation, in_axes=(None, 0, 0, 0)))


def _elements(plan: _Plan, states) -> jax.Array:
    """(C, E) exact ``<prod_{i in T} g_i>`` for every element T of every setting's generated group."""
    em = jnp.asarray(plan.elem_masks)
    vals = _element_values(states, em[..., 0], em[..., 1], em[..., 2])
    return vals * plan.elem_sign.astype(vals.dtype)


def _f_value(plan: _Plan, final) -> jax.Array:
    return pauli_expectation(final, *(int(v) for v in plan.f_masks))


def _values(plan: _Plan, states, final, shots, key, n_f: int = 1):
    """((C, K) observable values, f's <P> or None): exact, or from one multinomial draw per circuit.

    A setting's K commuting observables are +-products of r independent generators, so the joint
    law of its single-shot values is a law on 2**r outcomes: ``p(o) = 2**-r sum_T (-1)**|o & T| E_T``
    (a Walsh transform of the group elements' expectations E_T). One ``sampling.multinomial`` call
    (vmapped over per-circuit keys) draws ``shots`` shots for every circuit (and the f circuit) at
    once; an observable's estimate is ``sum_o counts[o] (-1)**|o & pattern_k| / shots``, so
    estimates in a setting share their shots.
    """
    elems = _elements(plan, states)
    pattern = jnp.asarray(plan.pattern)
    real = elems.dtype
    f = _f_value(plan, final) if plan.with_f else None
    if shots is None:
        return plan.parity_sign.astype(real) * jnp.take_along_axis(elems, pattern, axis=1), f
    walsh = jnp.asarray(plan.walsh, real)
    probs = jnp.clip(elems @ walsh / plan.walsh.shape[0], 0, None)
    if f is not None:  # n_f independent runs of the model circuit (one, or one per block)
        pf = jnp.zeros((n_f, walsh.shape[0]), real).at[:, :2].set(jnp.stack([1 + f, 1 - f]) / 2)
        probs = jnp.concatenate([probs, jnp.clip(pf, 0, None)])
    keys = jax.random.split(key, probs.shape[0])  # one key per circuit: its draw does not depend on C
    counts = _multinomials(keys, probs, shots).astype(real)
    sums = counts @ walsh / jnp.asarray(shots, real)
    if f is not None:
        f, sums = (sums[-1, 1] if n_f == 1 else sums[-n_f:, 1]), sums[:-n_f]
    return plan.parity_sign.astype(real) * jnp.take_along_axis(sums, pattern, axis=1), f


def _assemble(plan: _Plan, values, n_params: int, dtype) -> jax.Array:
    contrib = values[jnp.asarray(plan.ro_meas), jnp.asarray(plan.ro_obs)] * plan.ro_factor.astype(values.dtype)
    return jnp.zeros(n_params, dtype).at[jnp.asarray(plan.ro_param)].add(contrib.astype(dtype))


def block_gradient(
    bc: BlockCircuit,
    params: Params,
    *,
    scheme: str = "ancilla",
    shots: int | None = None,
    key: Key | None = None,
    state: State | None = None,
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

    One compiled program per (circuit, scheme, shots): called eagerly it runs compiled (op-by-op
    dispatch of the sampler's thousands of small ops took seconds); inside a caller's ``jit`` it is
    inlined.
    """
    bc = _check_bc(bc, "block_gradient")
    _check_scheme(scheme, "block_gradient")
    params = bc.circuit.check_params(params)
    if shots is not None:
        check_shots(shots)
        if key is None:
            raise ValueError("block_gradient: key is required when shots is given; pass key=jax.random.key(seed)")
    plan = _plan(bc, scheme, False)
    if plan.n_circuits == 0:
        initial_state(bc.circuit, params, state)  # validates the state
        return jnp.zeros(bc.n_params, params.dtype), ShotLedger.zero()
    initial_state(bc.circuit, params, state)  # validates the state outside the compiled program
    grad = _block_gradient_program(bc, plan, shots, params, state, key)
    if shots is None:
        return grad, ShotLedger.zero()
    n_c = plan.n_circuits
    return grad, ShotLedger.of(n_c, n_c * shots)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _block_gradient_program(bc: BlockCircuit, plan: _Plan, shots, params, state, key) -> jax.Array:
    states, final = _final_states(bc, plan, params, state)
    values, _ = _values(plan, states, final, shots, key)
    return _assemble(plan, values, bc.n_params, params.dtype)


#: How ``f_hat`` is drawn: one model-circuit run per call (the paper's accounting, B + 1), or a fresh
#: one per block (the authors' code: 2B circuits per sample for the ancilla scheme).
FHAT_MODES = ("shared", "per_block")


def _param_blocks(bc: BlockCircuit, where: str) -> np.ndarray:
    """(n_params,) int: the block of each parameter; ValueError if a parameter spans two blocks."""
    out = np.full(bc.n_params, -1, np.int64)
    rots = bc.circuit.rotations
    for b, (a, c) in enumerate(bc.blocks):
        for r in range(a, c):
            p = rots[r].param
            if p is None:
                continue
            if out[p] not in (-1, b):
                raise ValueError(
                    f"{where}: fhat='per_block' needs each parameter in one block; parameter {p} "
                    f"is in blocks {out[p]} and {b}"
                )
            out[p] = b
    return np.where(out < 0, 0, out)


def block_gradient_estimator(
    bc: BlockCircuit, shots: int | None, scheme: str = "ancilla", *, fhat: str = "shared"
) -> GradientEstimator:
    """Block-gradient estimator for training (``measure.estimator.GradientEstimator``, kind = ``scheme``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``, pure.

    ``f_hat`` comes from an independent run of the model circuit (same ``N`` shots), so
    ``2 (f_hat - y) grad_hat`` is an unbiased MSE gradient. Per call the ledger is ``M + 1``
    executions and ``(M + 1) N`` shots, ``M`` = number of block measurements: ``B`` for the ancilla
    scheme (paper SLPA: 25 N), at most ``2B - 1`` for the ancilla-free scheme (paper SLPA: 46 + 1,
    its last two blocks commute, so both are measured directly). ``shots=None`` gives the exact
    estimator (ledger zero, key ignored).

    ``fhat="per_block"`` reproduces the authors' code: a fresh ``f_hat`` for every block, returned as
    an (n_params,) vector (parameter j gets its block's estimate; the training loop multiplies each
    gradient component by its own ``2 (f_hat_j - y)``); the ledger is ``M + B`` (paper SLPA,
    ancilla: 48 circuits per sample).
    Usable inside ``jit``/``vmap``/``lax.scan``; the static tables are built once here.

    Raises:
        TypeError/ValueError: bad BlockCircuit, scheme, shots, fhat, or a multi-term observable.
    """
    bc = _check_bc(bc, "block_gradient_estimator")
    _check_scheme(scheme, "block_gradient_estimator")
    if fhat not in FHAT_MODES:
        raise ValueError(f"block_gradient_estimator: fhat must be one of {FHAT_MODES}, got {fhat!r}")
    if shots is not None:
        check_shots(shots)
    plan = _plan(bc, scheme, True)
    per_block = fhat == "per_block"
    n_f = len(bc.blocks) if per_block else 1
    blocks_of = jnp.asarray(_param_blocks(bc, "block_gradient_estimator")) if per_block else None
    n_c = plan.n_circuits + n_f

    def estimator(params, state, key):
        params = bc.circuit.check_params(params)
        states, final = _final_states(bc, plan, params, state)
        values, f_val = _values(plan, states, final, shots, key, n_f)
        ledger = ShotLedger.zero() if shots is None else ShotLedger.of(n_c, n_c * shots)
        f_hat = (plan.f_coeff * f_val).astype(params.dtype)
        if per_block:
            f_hat = f_hat[blocks_of] if f_hat.ndim else jnp.broadcast_to(f_hat, (bc.n_params,))
        return f_hat, _assemble(plan, values, bc.n_params, params.dtype), ledger

    return GradientEstimator(scheme, estimator, n_c if shots is not None else 0, shots, bc)
