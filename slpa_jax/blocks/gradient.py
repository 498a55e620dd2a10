"""Block-gradient estimators for commuting-block circuits: ancilla and ancilla-free schemes.

For block ``b`` of a ``BlockCircuit`` every component ``df/dtheta_j`` (j in the block) comes from ONE
measurement setting: the block's observables commute, are diagonalised by one Clifford
(``diagonalize.diagonalize_commuting``) and are estimated from the same shots. Derivations and the
shot accounting are in ``docs/block_gradient.md``. Observables: a single Pauli string with a real
coefficient, ``O = c P`` (the paper's ``XXII``), or a Pauli sum ``O = sum_k c_k P_k`` with real
coefficients: every block circuit is then measured in one setting per group of pairwise-commuting
terms (``grouping.group_paulis``, general commutation), and ``f_hat`` is a grouped measurement of
``O`` (``expectation.measurement_plan``, grouping "gc"; the identity coefficient exact).

- ancilla scheme (spec section 3): one (n+1)-qubit circuit per block, ancilla = LAST qubit ``n``
  (least significant index bit; input ``kron(state, |0>_a)``): blocks 1..b on the system, ``H(a)``,
  ``S(a)`` if the block commutes with ``P`` (g = 0), then every later rotation ``R_Q(t)`` as is if ``Q``
  commutes with the block and as ``exp(+i t Z_a Q / 2) = R_{Q Z_a}(-t)`` otherwise; readout
  ``df/dtheta_j = c <X_a (x) i^g G_j P>``. For a sum whose terms differ in g, one circuit without
  ``S(a)`` serves all terms: ``S(a)`` commutes with everything after it, and ``X_a`` read after it is
  ``-Y_a`` read before, so a g = 0 term is read as ``-Y_a (x) G_j P_k``.
- ancilla-free scheme: insert ``R_Q(+pi/2)`` or ``R_Q(-pi/2)`` right after the block (``Q`` = its first
  generator, the logical ``Lbar_b`` of an SLPA); ``df/dtheta_j = c (<M_j>_+ - <M_j>_-) / 2`` with
  ``M_j = (Q G_j) P``. When no later generator anticommutes with the block, one unshifted circuit
  gives ``df/dtheta_j = c <i G_j P>`` (the spec's "2B - 1"; for the paper's SLPA the last two blocks
  commute, so 2B - 2).
- A block that commutes with every later generator and with ``P`` has identically zero gradient;
  no circuit is run for it (never the case in the paper's SLPA).

Simulation: the ancilla scheme with a single-string observable (the paper's SLPA) simulates no
ancilla circuit: every setting's outcome law is the Walsh transform of its group elements, and each
element is ``Re(w <psi_b| M P |lambda_b>)`` or ``<psi_b| M |psi_b>`` with ``psi_b`` the state after
block b (one forward sweep) and ``lambda_b = V^dag P V psi_b`` (one backward sweep of ``P U psi``),
both on n qubits (``_Adjoint``, derivation in ``docs/block_gradient.md``): ``2 L 2**n`` amplitude
updates instead of about ``B L 2**n`` for the B circuits; at small n the elements are read from the
stacked sweeps through static index tables (``_overlap_tables``). Otherwise every measurement circuit
(and, for the estimator, the independent circuit for ``f_hat``) is lowered to a table of Pauli rotations
(Clifford gates become fixed rotations, exact up to a global phase), padded to one length and run by
ONE ``lax.scan`` vmapped over circuits, from the shared prefix states. Shots:
one exact multinomial draw of ``N`` shots per setting (``sampling.multinomial``), every observable
of the setting estimated from those shots; this is ``expectation.measure_setting`` vectorised
across the settings. A circuit measured in several settings (sums) is simulated once. NaN
parameters give NaN estimates (exact and with shots), as the adjoint gradient does.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.circuit import Circuit, Gate, Rotation
from ..core.gf2 import solve
from ..core.kernels import apply_pauli, pauli_expectation
from ..core.keys import check_key
from ..core.pauli import Pauli, PauliTable, commutation_matrix
from ..core.simulator import gate_batch, gate_tables, group_states, initial_state, rotation_batch
from ..core.types import Key, Params, State
from ..measure.diagonalize import diagonalize_commuting
from ..measure.estimator import GradientEstimator
from ..measure.expectation import measurement_plan
from ..measure.grouping import group_paulis
from ..measure.ledger import ShotLedger
from ..measure.sampling import check_shots, multinomial, z_index_masks
from .slpa import BlockCircuit

__all__ = [
    "FHAT_MODES",
    "BlockMeasurement",
    "block_measurements",
    "block_gradient",
    "block_gradient_estimator",
    "parameter_blocks",
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


def _terms(bc: BlockCircuit) -> tuple[list[tuple[float, Pauli]], float, bool]:
    """``(terms, constant, single)``: the non-identity terms ``(c_k, P_k)`` of the merged observable, its
    identity coefficient, and whether it is one Pauli string ``c P`` (the original single-term path)."""
    obs = bc.observable.simplify()
    terms, constant = [], 0.0
    for c, p in zip(np.real(obs.coeffs), obs.paulis):
        if p.weight == 0:
            constant += float(c) * (-1.0 if p.phase % 4 == 2 else 1.0)
        else:
            terms.append((float(c), p))
    return terms, constant, len(obs) == 1


def _term_groups(terms, active: list[int]) -> list[list[int]]:
    """Groups of pairwise-commuting terms (general commutation, ``grouping.group_paulis``).

    Every gradient observable of a circuit is ``+- A_j P_k`` with the ``A_j`` of one block commuting
    pairwise and (anti)commuting alike with every term, so observables of terms ``k`` and ``m`` commute
    iff ``P_k`` and ``P_m`` do (docs/block_gradient.md): grouping the terms groups the observables.
    """
    if len(active) == 1:
        return [list(active)]
    table = PauliTable.from_paulis([terms[k][1] for k in active])
    coeffs = np.array([terms[k][0] for k in active])
    return [[active[int(i)] for i in g] for g in group_paulis(table, coeffs, kind="gc")]


def _extend(p: Pauli, letter: str) -> Pauli:
    """``p (x) letter`` with the extra qubit last; keeps the phase."""
    xa, za = {"I": (0, 0), "X": (1, 0), "Y": (1, 1), "Z": (0, 1)}[letter]
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


@dataclass(frozen=True, eq=False)
class _Run:
    """One simulated circuit: the end state of block ``start``, then ``rows`` = ``(rotation index or
    L + 1 for the logical shift, angle sign)``; ancilla branch phase ``w = phase[0] + i phase[1]``."""

    start: int
    rows: tuple[tuple[int, float], ...]
    phase: tuple[float, float]


def _measurements(bc: BlockCircuit, scheme: str) -> list[tuple[_Run, BlockMeasurement]]:
    """Every gradient setting with the circuit run it reads (settings of one circuit share its run)."""
    terms, _, single = _terms(bc)
    n, n_params = bc.n_qubits, bc.n_params
    rots = bc.circuit.rotations
    n_rot = len(rots)
    out: list[tuple[_Run, BlockMeasurement]] = []
    for b, (a, c) in enumerate(bc.blocks):
        trainable = [j for j in range(a, c) if rots[j].param is not None]
        if not trainable:
            continue
        q = rots[a].pauli
        anti_later = [r.pauli.anticommutes(q) for r in rots[c:]]
        g = [int(q.anticommutes(p)) for _, p in terms]
        # no later generator anticommutes: a term the block commutes with has [G_j, W_k] = 0
        active = [k for k in range(len(terms)) if any(anti_later) or g[k] == 1]
        if not active:
            continue  # zero gradient for every rotation in the block
        groups = [active] if single else _term_groups(terms, active)
        if scheme == "ancilla":
            # S(a) commutes with every later operation, so it can move into the readout: on the circuit
            # without it, X_a read after S(a) is -Y_a. One circuit serves terms of both g (sums).
            use_s = all(g[k] == 0 for k in active)
            ops = [Rotation(_extend(r.pauli, "I"), r.param, r.scale, r.offset) for r in rots[:c]]
            ops.append(Gate("H", (n,)))
            if use_s:
                ops.append(Gate("S", (n,)))
            for r, anti in zip(rots[c:], anti_later):
                ops.append(
                    Rotation(_extend(r.pauli, "Z"), r.param, -r.scale, -r.offset)
                    if anti
                    else Rotation(_extend(r.pauli, "I"), r.param, r.scale, r.offset)
                )
            circuit = Circuit(n + 1, tuple(ops), n_params)
            run = _Run(
                b,
                tuple((r, -1.0 if anti else 1.0) for r, anti in zip(range(c, n_rot), anti_later)),
                (0.0, 1.0) if use_s else (1.0, 0.0),
            )
            for group in groups:
                entries = []
                for j in trainable:
                    for k in group:
                        coeff, p = terms[k]
                        prod = rots[j].pauli * p
                        if use_s or g[k] == 1:  # X_a (x) i^g G_j P
                            o_j = _extend(Pauli.from_words(prod.x, prod.z, prod.phase + g[k], n), "X")
                        else:  # -Y_a (x) G_j P
                            o_j = _extend(Pauli.from_words(prod.x, prod.z, prod.phase + 2, n), "Y")
                        entries.append((rots[j].param, o_j, coeff * rots[j].scale))
                table, readout = _readout(entries, n + 1)
                out.append((run, BlockMeasurement(circuit, table, readout, b)))
            continue
        if not any(anti_later):  # every active term has g == 1: measure i G_j P on the model circuit
            run = _Run(b, tuple((r, 1.0) for r in range(c, n_rot)), (1.0, 0.0))
            for group in groups:
                entries = []
                for j in trainable:
                    for k in group:
                        coeff, p = terms[k]
                        prod = rots[j].pauli * p
                        entries.append(
                            (rots[j].param, Pauli.from_words(prod.x, prod.z, prod.phase + 1, n), coeff * rots[j].scale)
                        )
                table, readout = _readout(entries, n)
                out.append((run, BlockMeasurement(bc.circuit, table, readout, b)))
            continue
        for sign in (1.0, -1.0):
            ops = list(rots[:c]) + [Rotation(q, None, 1.0, sign * _HALF_PI)] + list(rots[c:])
            circuit = Circuit(n, tuple(ops), n_params)
            run = _Run(b, ((n_rot + 1, sign),) + tuple((r, 1.0) for r in range(c, n_rot)), (1.0, 0.0))
            for group in groups:
                entries = [
                    (rots[j].param, (q * rots[j].pauli) * terms[k][1], 0.5 * sign * terms[k][0] * rots[j].scale)
                    for j in trainable
                    for k in group
                ]
                table, readout = _readout(entries, n)
                out.append((run, BlockMeasurement(circuit, table, readout, b)))
    return out


def block_measurements(bc: BlockCircuit, scheme: str = "ancilla") -> list[BlockMeasurement]:
    """The gradient measurement plan of a BlockCircuit (no circuit for ``f`` itself).

    Args:
        bc: ``BlockCircuit``; its observable a Pauli string ``c P`` or a Pauli sum ``sum_k c_k P_k``
            (real coefficients; an identity term has no gradient).
        scheme: ``"ancilla"`` (one (n+1)-qubit circuit per block) or ``"ancilla_free"`` (two shifted
            n-qubit circuits per block, one for a block no later generator anticommutes with).

    Returns:
        list of ``BlockMeasurement`` in block order, one per measurement setting (= one circuit
        execution). For a sum, a block's circuit is measured in one setting per group of pairwise
        commuting terms (general commutation, ``grouping.group_paulis``), so several measurements
        share one ``circuit``. Blocks with identically zero gradient or no trainable rotation get none.
        ``sum_m sum_(p,k,f) in m.readout f <m.observables[k]>`` is the exact gradient.

    Raises:
        ValueError: unknown scheme.
    """
    bc = _check_bc(bc, "block_measurements")
    _check_scheme(scheme, "block_measurements")
    return [m for _, m in _measurements(bc, scheme)]


# --- lowering to a stacked rotation table --------------------------------------------------------


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


#: A family of settings is read from its group elements (one Pauli-expectation pass per element, the
#: single-term path) when a setting has at most this many (2**r); beyond, from its diagonalising
#: Clifford and the law of its r independent parities in the computational basis (sums).
_ELEMENT_LIMIT = 16
#: Walsh transforms up to this size are one matrix product; larger ones a butterfly (FWHT).
_MATRIX_WALSH = 64


@dataclass(frozen=True, eq=False)
class _Family:
    """Static tables of S measurement settings read from states of one width (numpy, host side).

    Setting s measures K commuting observables, ``+-`` products of r independent generators; element
    ``T`` (an r-bit mask) is the product of the generators in ``T``, and observable k is
    ``parity_sign[s, k] * element[pattern[s, k]]``. Mode ``"elements"``: the 2**r element
    expectations are Pauli-expectation passes over the state. Mode ``"basis"``: the setting's Clifford
    (``diagonalize_commuting``, its gates applied natively: ``simulator.gate_batch``) is applied, and the
    law of the r independent
    parities ``par_masks`` of the computational basis is summed out of ``|C psi|^2``; the elements are
    its Walsh transform.
    """

    mode: str
    n_el: int  # 2**r_max
    source: np.ndarray  # (S,) int32: the state (run) each setting reads
    elem_masks: np.ndarray  # (S, n_el, 3) int32 (elements mode)
    elem_sign: np.ndarray  # (S, n_el) float64 (elements mode)
    cliff_bits: np.ndarray  # (S, R, 2) int32 Clifford gate rows (``kernels.gate_row``; basis mode)
    cliff_xmask: np.ndarray  # (S, R) int32
    cliff_diag: np.ndarray  # (S, R, 4) complex128
    cliff_off: np.ndarray  # (S, R, 4) complex128
    par_masks: np.ndarray  # (S, r_max) int32 state-index parity masks (basis mode; 0 = unused)
    pattern: np.ndarray  # (S, K) int32
    parity_sign: np.ndarray  # (S, K) float64

    @property
    def size(self) -> int:
        return self.source.shape[0]


def _family(tables: list[PauliTable], source, n_sim: int, mode: str | None) -> _Family:
    """The tables of a list of commuting sets; ``mode`` None picks by the largest group size."""
    s_count = len(tables)
    gen_info = [_generators(t) for t in tables]
    r_max = max([len(gi[0]) for gi in gen_info] + [1])
    n_el = 2**r_max
    if mode is None:
        mode = "elements" if n_el <= _ELEMENT_LIMIT else "basis"
    k_max = max([len(t) for t in tables], default=1)
    pattern = np.zeros((s_count, k_max), np.int32)
    parity_sign = np.zeros((s_count, k_max))
    elem_masks = np.zeros((s_count, n_el if mode == "elements" else 0, 3), np.int32)
    elem_sign = np.ones((s_count, n_el if mode == "elements" else 0))
    diags = [diagonalize_commuting(t) for t in tables] if mode == "basis" else []
    cliffords = [d.clifford for d in diags] if mode == "basis" else [Circuit(n_sim, ())] * s_count
    cliff_bits, cliff_xmask, cliff_diag, cliff_off = gate_tables(cliffords)
    par_masks = np.zeros((s_count, r_max if mode == "basis" else 0), np.int32)
    for i, (table, (gens, pat, sgn)) in enumerate(zip(tables, gen_info)):
        if mode == "elements":
            for t in range(n_el):
                prod = _element(table, gens, t)
                elem_masks[i, t] = prod.index_masks()
                elem_sign[i, t] = 1.0 if prod.phase == 0 else -1.0
            pattern[i, : len(table)] = pat
            parity_sign[i, : len(table)] = sgn
            continue
        basis, pat = _parity_basis(diags[i].z_masks)
        par_masks[i, : len(basis)] = basis
        pattern[i, : len(table)] = pat
        parity_sign[i, : len(table)] = diags[i].signs
    return _Family(
        mode,
        n_el,
        np.asarray(source, np.int32).reshape(s_count),
        elem_masks,
        elem_sign,
        cliff_bits,
        cliff_xmask,
        cliff_diag,
        cliff_off,
        par_masks,
        pattern,
        parity_sign,
    )


@dataclass(frozen=True, eq=False)
class _Adjoint:
    """Static tables of the ancilla scheme's group elements read from two n-qubit sweeps (single string).

    Element ``T`` of block ``b``'s setting is ``X_a**|T| (x) M_T`` (ancilla letter I or X). With ``Vt =
    G V G`` (``G`` any generator of the block: it anticommutes exactly with the rotations ``Vt`` negates)
    and ``G M_T P`` a product of an even number of the block's generators (it commutes with ``V`` and
    ``P``), the final state ``(|0>_a Vt psi_b + w |1>_a V psi_b) / sqrt2`` gives
    ``<X_a (x) M_T> = Re(w <psi_b| M_T P |lambda_b>)`` (|T| odd, ``lambda_b = V^dag P V psi_b``: the
    adjoint sweep of ``P U psi`` back to block ``b``) and ``<M_T> = <psi_b| M_T |psi_b>`` (|T| even).
    ``value = Re(coeff <psi_b| sigma |ket>)`` with ``sigma`` the Pauli string of ``masks``, ``ket`` =
    ``lambda_b`` (odd) or ``psi_b`` (even).
    """

    block: np.ndarray  # (S,) int32: the block whose end state the setting reads
    masks: np.ndarray  # (S, n_el, 3) int32 n-qubit index masks of sigma
    coeff: np.ndarray  # (S, n_el, 2) float64 (Re, Im) of the complex factor
    odd: np.ndarray  # (S, n_el) bool: read against lambda_b
    p_masks: np.ndarray  # (3,) int32: the string P (no phase) of the observable, applied to U psi


def _adjoint_tables(tables: list[PauliTable], blocks: list[int], phases, p: Pauli, n: int) -> _Adjoint | None:
    """``_Adjoint`` for the ancilla settings ``tables`` ((n+1)-qubit observables) of ``blocks`` with
    ancilla phases ``w``; None when an element has an ancilla letter other than I and X."""
    n_el = 2 ** max([len(_generators(t)[0]) for t in tables] + [1])
    s_count = len(tables)
    masks = np.zeros((s_count, n_el, 3), np.int32)
    coeff = np.zeros((s_count, n_el, 2))
    odd = np.zeros((s_count, n_el), bool)
    unsigned_p = Pauli.from_words(p.x, p.z, 0, n)
    for i, table in enumerate(tables):
        gens = _generators(table)[0]
        w = complex(*phases[i])
        for t in range(n_el):  # as ``_family``: bits beyond the setting's r generators are ignored
            prod = _element(table, gens, t)
            xa, za = bool(prod.x_bits[n]), bool(prod.z_bits[n])
            if za:
                return None
            m_t = Pauli.from_bits(prod.x_bits[:n], prod.z_bits[:n], prod.phase)
            if xa:  # Re(w i**phase(M_T P) i**phase(P) <psi| sigma(M_T P) |lambda(unsigned P)>)
                a = m_t * p
                c = w * 1j ** ((a.phase + p.phase) % 4)
                masks[i, t], odd[i, t] = a.index_masks(), True
            else:
                c = 1j ** (m_t.phase % 4)
                masks[i, t] = m_t.index_masks()
            coeff[i, t] = (c.real, c.imag)
    return _Adjoint(
        np.asarray(blocks, np.int32).reshape(s_count),
        masks,
        coeff,
        odd,
        np.array(unsigned_p.index_masks(), np.int32),
    )


#: The ancilla scheme with a single-string observable reads its group elements from one forward and
#: one backward n-qubit sweep (``_Adjoint``) instead of simulating B ancilla circuits; False: the
#: circuits (kept for comparison: tests, ``benchmarks/bench_training.py``).
ADJOINT_SWEEPS = True


@dataclass(frozen=True, eq=False)
class _Plan:
    """Static tables of all measurement circuits of one estimator call (numpy, host side).

    Runs (simulated circuits) are indexed by c, settings (executions, each reading one run) by s.
    Angles come from an extended vector ``ext = [circuit angles (L), 0, pi/2]``: index ``L`` is the
    identity padding, ``L + 1`` the ancilla-free logical shift (times its sign).
    """

    ancilla: bool
    rot_masks: np.ndarray  # (L + 2, 3) int32 rotation index masks on n qubits; rows L, L+1 unused (0)
    group_rows: np.ndarray  # (G, w) int32 rotation indices of each block, padded with L
    start: np.ndarray  # (C,) int32 block whose end state run c starts from
    suffix_masks: np.ndarray  # (C, R, 3) int32
    suffix_idx: np.ndarray  # (C, R) int32 into ext
    suffix_sign: np.ndarray  # (C, R) float64
    anc_phase: np.ndarray  # (C, 2) float64: (Re, Im) of w, the ancilla branch phase (i with S(a), else 1)
    grad: _Family  # the gradient settings (source = run)
    n_el: int  # outcomes per sampled row (all rows of one call are padded to it)
    ro_meas: np.ndarray  # (Q,) int32 readout triples as arrays: setting, observable, parameter, factor
    ro_obs: np.ndarray
    ro_param: np.ndarray
    ro_factor: np.ndarray  # (Q,) float64
    f_single: bool  # the observable is one string c P: f from one two-outcome circuit (f_masks, f_coeff)
    f_masks: np.ndarray  # (3,) int32 masks of P (observable c P) on n qubits
    f_coeff: float  # c times the sign of P
    f: _Family | None  # sums: the settings of O on the model output (grouping "gc"), source 0
    f_weight: np.ndarray  # (F, K_f) float64 coefficient of each measured term of O (0 = padding)
    f_constant: float  # identity coefficient of O (exact, no shots)
    with_f: bool
    adjoint: _Adjoint | None  # ancilla scheme, single string: the elements from two sweeps (no ancilla runs)

    @property
    def n_circuits(self) -> int:
        """Gradient circuit executions (measurement settings) per call."""
        return self.grad.size

    @property
    def n_f_settings(self) -> int:
        """Executions of one ``f_hat`` estimate: 1 for a single string, the settings of O for a sum."""
        return 1 if self.f_single else (0 if self.f is None else self.f.size)


def _element(table: PauliTable, gens: list[int], t: int) -> Pauli:
    """Group element ``t`` (an r-bit mask; higher bits ignored): the product of the generators
    ``table[gens[b]]`` for the bits ``b`` of ``t``, in increasing ``b``."""
    prod = Pauli.identity(table.n)
    for b in range(len(gens)):
        if (t >> b) & 1:
            prod = prod * table[gens[b]]
    return prod


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


def _plan(bc: BlockCircuit, scheme: str, with_f: bool, mode: str | None = None) -> _Plan:
    """``mode`` forces how sum settings are read ("elements" or "basis"; tests); single terms: elements."""
    return _plan_cached(bc, scheme, with_f, mode, ADJOINT_SWEEPS)


@functools.lru_cache(maxsize=64)
def _plan_cached(bc: BlockCircuit, scheme: str, with_f: bool, mode: str | None, adjoint: bool) -> _Plan:
    terms, constant, single = _terms(bc)
    single = single and bool(terms)
    ms = _measurements(bc, scheme)
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
    runs: list[_Run] = []
    index: dict[int, int] = {}
    source = []
    for run, _ in ms:
        if id(run) not in index:
            index[id(run)] = len(runs)
            runs.append(run)
        source.append(index[id(run)])
    n_c = len(runs)
    r_len = max([len(run.rows) for run in runs], default=0)
    suffix_masks = np.zeros((n_c, r_len, 3), np.int32)
    suffix_idx = np.full((n_c, r_len), n_rot, np.int32)
    suffix_sign = np.ones((n_c, r_len))
    for i, run in enumerate(runs):
        for j, (r, sign) in enumerate(run.rows):
            suffix_idx[i, j], suffix_sign[i, j] = r, sign
            suffix_masks[i, j] = rot_masks[r] if r < n_rot else rot_masks[bc.blocks[run.start][0]]
    grad = _family([m.observables for _, m in ms], source, n + 1 if ancilla else n, "elements" if single else mode)
    ro = np.array([(i, k, p, f) for i, (_, m) in enumerate(ms) for (p, k, f) in m.readout], np.float64).reshape(-1, 4)
    f_family, f_weight, n_el = None, np.zeros((0, 1)), grad.n_el
    if single:
        f_coeff, f_pauli = terms[0]
        f_masks, f_coeff = np.array(f_pauli.index_masks(), np.int32), f_coeff * (-1.0 if f_pauli.phase == 2 else 1.0)
    else:
        f_masks, f_coeff = np.zeros(3, np.int32), 0.0
        if with_f and terms:
            fplan = measurement_plan(bc.observable, n, grouping="gc")
            constant = fplan.constant
            f_family = _family([d.paulis for d in fplan.settings], np.zeros(fplan.n_settings), n, mode)
            f_weight = np.zeros((fplan.n_settings, f_family.pattern.shape[1]))
            for s, coeffs in enumerate(fplan.coeffs):
                f_weight[s, : len(coeffs)] = coeffs
            n_el = max(n_el, f_family.n_el)
    adj = None
    if adjoint and ancilla and single and ms:
        phases = [runs[i].phase for i in source]
        adj = _adjoint_tables([m.observables for _, m in ms], [runs[i].start for i in source], phases, terms[0][1], n)
    return _Plan(
        ancilla,
        rot_masks,
        group_rows,
        np.array([run.start for run in runs], np.int32),
        suffix_masks,
        suffix_idx,
        suffix_sign,
        np.array([run.phase for run in runs], np.float64).reshape(-1, 2),
        grad,
        n_el,
        ro[:, 0].astype(np.int32),
        ro[:, 1].astype(np.int32),
        ro[:, 2].astype(np.int32),
        ro[:, 3],
        single,
        f_masks,
        f_coeff,
        f_family,
        f_weight,
        float(constant),
        with_f,
        adj,
    )


def _prefix_states(bc: BlockCircuit, plan: _Plan, params, state) -> tuple[jax.Array, jax.Array]:
    """((B, 2**n) the state after every block: ONE ``simulator.group_states`` sweep, (L + 2,) the
    extended angles ``ext`` of ``_Plan``)."""
    angles = bc.circuit.angles(params)
    real = angles.dtype
    ext = jnp.concatenate([angles, jnp.zeros(1, real), jnp.full(1, _HALF_PI, real)])
    rows = jnp.asarray(plan.group_rows)
    prefix = group_states(initial_state(bc.circuit, params, state), jnp.asarray(plan.rot_masks)[rows], ext[rows])
    return prefix, ext


def _final_states(bc: BlockCircuit, plan: _Plan, params, state, runs=None) -> tuple[jax.Array, jax.Array]:
    """((C, 2**n_sim) final states of the measurement circuits (runs), (2**n,) model output state).

    One ``simulator.group_states`` sweep gives the state after every block (the shared system
    prefixes); one ``simulator.rotation_batch`` scan runs every circuit's remainder from its prefix,
    all circuits in each pass. The ancilla circuit of block b, ``(|0>_a Vt + w |1>_a V) psi_b / sqrt2``,
    is assembled from its two branches: ``Vt psi_b`` (the remainder with the anticommuting angles
    negated) and ``V psi_b = U psi``, the model's output for every b. ``runs``: an int array of the
    runs to simulate (one device's share, ``GradientEstimator.part``); None: all C.
    """
    prefix, ext = _prefix_states(bc, plan, params, state)
    real = ext.dtype
    final = prefix[-1]
    if plan.start.shape[0] == 0:
        return jnp.zeros((0,) + final.shape, final.dtype), final
    start, masks, idx, sign, phase = plan.start, plan.suffix_masks, plan.suffix_idx, plan.suffix_sign, plan.anc_phase
    if runs is not None:
        start, masks, idx, sign, phase = (jnp.asarray(t)[runs] for t in (start, masks, idx, sign, phase))
    th = ext[jnp.asarray(idx)] * sign.astype(real)
    # static lengths (index L pads) for the full set; a traced slice runs one padded scan
    lengths = None if runs is not None else (plan.suffix_idx != plan.rot_masks.shape[0] - 2).sum(1)
    out = rotation_batch(prefix[jnp.asarray(start)], masks, th, lengths=lengths)
    if plan.ancilla:
        w = lax.complex(*(jnp.asarray(phase[:, i], real) for i in (0, 1))).astype(out.dtype)
        scale = jnp.asarray(np.sqrt(0.5), real).astype(out.dtype)
        out = jnp.stack([out, w[:, None] * final[None, :]], axis=-1).reshape(out.shape[0], -1) * scale
    return out, final


def _adjoint_elements(bc: BlockCircuit, plan: _Plan, params, state, settings=None) -> tuple[jax.Array, jax.Array]:
    """((S, n_el) group-element values of the ancilla settings, (2**n,) model output) from ONE forward
    sweep (``psi_b``, the state after every block) and ONE backward sweep (``lambda_b = V_b^dag P U psi``),
    both ``simulator.group_states`` on n qubits (``_Adjoint``). ``settings``: an int array of the
    settings to read (one device's share); None: all."""
    adj = plan.adjoint
    prefix, ext = _prefix_states(bc, plan, params, state)
    real = ext.dtype
    final = prefix[-1]
    chi = apply_pauli(final, *(int(v) for v in adj.p_masks))
    # lambda_b = W_{b+1}^dag lambda_{b+1}: the blocks B-1..1 undone (a block's rotations commute)
    rows = jnp.asarray(plan.group_rows)
    masks = jnp.asarray(plan.rot_masks)[rows]
    back = group_states(chi, masks[:0:-1], -ext[rows][:0:-1]) if rows.shape[0] > 1 else chi[None][:0]
    lam = jnp.concatenate([back[::-1], chi[None]])
    tables = _overlap_tables(adj, rows.shape[0], final.shape[0])
    if tables is not None:  # small n: static gathers of the stacked sweeps, one fused product-sum
        ket_idx, bra_idx, weight = tables
        if settings is not None:
            ket_idx, bra_idx, weight = (jnp.asarray(t)[settings] for t in tables)
        flat = jnp.concatenate([prefix, lam]).reshape(-1)
        prod = jnp.conj(flat[jnp.asarray(bra_idx)])[:, None, :] * flat[jnp.asarray(ket_idx)]
        w = jnp.asarray(weight, real)
        return jnp.sum(w[..., 0] * jnp.real(prod) - w[..., 1] * jnp.imag(prod), axis=-1), final
    block, sig, coeff, odd = adj.block, adj.masks, adj.coeff, adj.odd
    if settings is not None:
        block, sig, coeff, odd = (jnp.asarray(t)[settings] for t in (block, sig, coeff, odd))
    block = jnp.asarray(block)
    bra = prefix[block]
    ket = jnp.where(jnp.asarray(odd)[..., None], lam[block][:, None, :], bra[:, None, :])
    sig = jnp.asarray(sig)
    z = _pauli_elements(bra, ket, sig[..., 0], sig[..., 1], sig[..., 2])
    c = jnp.asarray(coeff, real)
    return c[..., 0] * jnp.real(z) - c[..., 1] * jnp.imag(z), final


#: ``_adjoint_elements`` reads the group elements through static index tables (``_overlap_tables``) when
#: they have at most this many entries (settings x elements x 2**n): the paper's n = 4 SLPA (3,072)
#: and n = 8 (40,960); beyond, the vmapped Pauli passes (their tables would be large program constants).
#: Measured at n = 4, 20 seeds: sweeps and elements 17.5 -> 10.6 us per seed-step (benchmarks/RESULTS.md).
_STATIC_OVERLAP_MAX = 2**16


def _overlap_tables(adj: _Adjoint, n_blocks: int, dim: int):
    """``(ket_idx (S, n_el, d) int32, bra_idx (S, d) int32, weight (S, n_el, d, 2) float64)`` or None
    (above ``_STATIC_OVERLAP_MAX``): element ``(s, t) = sum_j Re(conj(flat[bra_idx[s, j]]) w flat[ket_idx[s, t, j]])``
    with ``w = weight[s, t, j]`` as (Re, Im) and ``flat`` the (2 B d,) stack of ``psi_b`` (rows 0..B-1) and
    ``lambda_b`` (rows B..2B-1): ``(sigma ket)[j] = i**(n_y + 2 |x & z|) (-1)**|j & z| ket[j ^ x]``
    (``kernels.apply_pauli``) times the element's complex factor."""
    s_count, n_el = adj.masks.shape[:2]
    if s_count * n_el * dim > _STATIC_OVERLAP_MAX:
        return None
    return _overlap_tables_cached(adj, n_blocks, dim)


@functools.lru_cache(maxsize=32)
def _overlap_tables_cached(adj: _Adjoint, n_blocks: int, dim: int):
    j = np.arange(dim, dtype=np.int64)
    x, z, n_y = (adj.masks[..., i].astype(np.int64)[..., None] for i in range(3))
    power = n_y + 2 * (np.bitwise_count(x & z) + np.bitwise_count(j & z))  # (S, n_el, d)
    w = (adj.coeff[..., 0] + 1j * adj.coeff[..., 1])[..., None] * 1j ** (power % 4)
    row = adj.block[:, None].astype(np.int64) + n_blocks * adj.odd  # ket: psi_b (even) or lambda_b (odd)
    ket_idx = (row[..., None] * dim + (j ^ x)).astype(np.int32)
    bra_idx = (adj.block[:, None].astype(np.int64) * dim + j).astype(np.int32)
    return ket_idx, bra_idx, np.stack([w.real, w.imag], axis=-1)


def _pauli_element(bra, ket, xmask, zmask, n_y):
    """Complex ``<bra| sigma |ket>`` for the Pauli string of index masks ``(xmask, zmask, n_y)``."""
    return jnp.sum(jnp.conj(bra) * apply_pauli(ket, xmask, zmask, n_y))


_pauli_elements = jax.vmap(jax.vmap(_pauli_element, in_axes=(None, 0, 0, 0, 0)))
_element_values = jax.vmap(jax.vmap(pauli_expectation, in_axes=(None, 0, 0, 0)))


@functools.lru_cache(maxsize=16)
def _walsh_matrix(size: int) -> np.ndarray:
    idx = np.arange(size)
    return np.array([[-1.0 if bin(o & t).count("1") % 2 else 1.0 for t in idx] for o in idx]).reshape(size, size)


def _walsh(x: jax.Array) -> jax.Array:
    """``out[..., T] = sum_o x[..., o] (-1)**|o & T|`` (its own inverse up to ``1 / size``)."""
    size = x.shape[-1]
    if size <= _MATRIX_WALSH:
        return x @ jnp.asarray(_walsh_matrix(size), x.dtype)
    lead, h = x.shape[:-1], 1
    while h < size:  # butterfly on index bit log2(h)
        y = x.reshape(lead + (size // (2 * h), 2, h))
        x = jnp.stack([y[..., 0, :] + y[..., 1, :], y[..., 0, :] - y[..., 1, :]], axis=-2).reshape(lead + (size,))
        h *= 2
    return x


def _basis_law(fam: _Family, states) -> jax.Array:
    """(S, n_el) law of each basis-mode setting's independent parities after its Clifford."""
    src = states[jnp.asarray(fam.source)]
    psi = gate_batch(src, fam.cliff_bits, fam.cliff_xmask, fam.cliff_diag, fam.cliff_off)
    probs = jnp.real(psi) ** 2 + jnp.imag(psi) ** 2
    idx = lax.iota(jnp.int32, probs.shape[1])
    masks = jnp.asarray(fam.par_masks)
    outcome = jnp.zeros(probs.shape, jnp.int32)
    for i in range(masks.shape[1]):
        bit = lax.population_count(idx[None, :] & masks[:, i : i + 1]) & 1
        outcome = outcome | (bit << i)
    return jax.vmap(lambda p, o: jax.ops.segment_sum(p, o, num_segments=fam.n_el))(probs, outcome)


def _elements(fam: _Family, states) -> jax.Array:
    """(S, n_el) exact ``<prod_{i in T} g_i>`` for every element T of every setting's generated group."""
    if fam.mode == "basis":
        return _walsh(_basis_law(fam, states))
    em = jnp.asarray(fam.elem_masks)
    vals = _element_values(states[jnp.asarray(fam.source)], em[..., 0], em[..., 1], em[..., 2])
    return vals * fam.elem_sign.astype(vals.dtype)


def _probs(fam: _Family, states) -> jax.Array:
    """(S, n_el) outcome law of every setting's r independent parities (sampled with shots)."""
    if fam.mode == "basis":
        return _basis_law(fam, states)
    return _law(fam, _elements(fam, states))


def _law(fam: _Family, elems) -> jax.Array:
    """(S, n_el) outcome law from the (S, n_el) group elements: their Walsh transform / n_el."""
    return jnp.clip(_walsh(elems) / fam.n_el, 0, None)


def _observables(fam: _Family, elems) -> jax.Array:
    """(S, K) observable values from (S, >= n_el) element values (exact or estimated)."""
    return fam.parity_sign.astype(elems.dtype) * jnp.take_along_axis(elems, jnp.asarray(fam.pattern), axis=1)


def _pad(probs, width: int) -> jax.Array:
    return jnp.pad(probs, ((0, 0), (0, width - probs.shape[1])))


def _f_value(plan: _Plan, final) -> jax.Array:
    return pauli_expectation(final, *(int(v) for v in plan.f_masks))


def _f_sum(plan: _Plan, values) -> jax.Array:
    """(n_f,) estimates of ``<O>`` from (n_f * F, K_f) term values: constant + sum of c_k <P_k>."""
    w = jnp.asarray(plan.f_weight, values.dtype)
    vals = values.reshape((-1,) + w.shape)
    return jnp.asarray(plan.f_constant, values.dtype) + jnp.sum(vals * w[None], axis=(1, 2))


def _family_rows(fam: _Family, rows) -> _Family:
    """The settings ``rows`` (an int array) of ``fam``, reading states ``0..len(rows)-1`` in that order."""
    take = {f: jnp.asarray(getattr(fam, f))[rows] for f in _ROW_FIELDS}
    return dataclasses.replace(fam, source=np.arange(rows.shape[0], dtype=np.int32), **take)


_ROW_FIELDS = (
    "elem_masks",
    "elem_sign",
    "cliff_bits",
    "cliff_xmask",
    "cliff_diag",
    "cliff_off",
    "par_masks",
    "pattern",
    "parity_sign",
)


def _values(plan: _Plan, states, final, shots, key, n_f: int = 1, settings=None, elems=None):
    """((S, K) observable values, f or None): exact, or from one multinomial draw per setting.

    f is the single string's ``<P>`` (``f_hat = f_coeff * f``), or for a sum the (n_f,) estimates
    of ``<O>`` itself. A setting's K commuting observables are +-products of r independent
    generators, so the joint law of its single-shot values is a law on 2**r outcomes:
    ``p(o) = 2**-r sum_T (-1)**|o & T| E_T`` (a Walsh transform of the group elements' expectations E_T).
    One ``sampling.multinomial`` call (one key, rows independent) draws ``shots`` shots for every
    setting (and the f settings) at once; an observable's estimate is
    ``sum_o counts[o] (-1)**|o & pattern_k| / shots``, so estimates in a setting share their shots.
    A setting whose state is not finite (NaN parameters) gives NaN estimates, as the exact path does.
    ``settings``: an int array of the gradient settings to estimate, whose runs ``states`` holds in
    that order (``GradientEstimator.part``); their keys are those of a full call. ``elems``: the
    settings' (S, n_el) group-element values when already known (``_adjoint_elements``; ``states``
    unused).
    """
    g = plan.grad if settings is None else _family_rows(plan.grad, settings)
    real = jnp.real(final).dtype
    with_sum = plan.with_f and not plan.f_single and plan.f is not None
    if shots is None:
        f = None
        if plan.with_f:
            if plan.f_single:
                f = _f_value(plan, final)
            elif with_sum:
                f = _f_sum(plan, _observables(plan.f, _elements(plan.f, final[None])))
            else:
                f = jnp.full(1, plan.f_constant, real)
        return _observables(g, _elements(g, states) if elems is None else elems), f
    parts = [_pad(_probs(g, states) if elems is None else _law(g, elems), plan.n_el)] if g.size else []
    if plan.with_f and plan.f_single:
        f = _f_value(plan, final)
        pf = jnp.zeros((n_f, plan.n_el), real).at[:, :2].set(jnp.stack([1 + f, 1 - f]) / 2)
        parts.append(jnp.clip(pf, 0, None))
    elif with_sum:
        parts.append(jnp.tile(_pad(_probs(plan.f, final[None]), plan.n_el), (n_f, 1)))
    if not parts:
        return jnp.zeros((0, g.pattern.shape[1]), real), (jnp.full(n_f, plan.f_constant, real) if plan.with_f else None)
    probs = jnp.concatenate(parts) if len(parts) > 1 else parts[0]
    finite = jnp.isfinite(jnp.sum(probs, axis=1, keepdims=True))
    # every setting's draw in ONE multinomial call (one key, the rows independent): per-setting keys
    # cost a key split and a random-bits call per setting and category. A slice of the settings
    # (``settings``, with the f rows) draws the rows a full call gives them.
    rows = n_rows = None
    if settings is not None:
        n_rows = plan.grad.size + probs.shape[0] - g.size
        rows = jnp.concatenate([jnp.asarray(settings, jnp.int32), jnp.arange(plan.grad.size, n_rows, dtype=jnp.int32)])
    counts = multinomial(key, jnp.where(finite, probs, 1.0), shots, rows=rows, n_rows=n_rows).astype(real)
    sums = jnp.where(finite, _walsh(counts) / jnp.asarray(shots, real), jnp.nan)
    f = None
    if plan.with_f and plan.f_single:
        f, sums = (sums[-1, 1] if n_f == 1 else sums[-n_f:, 1]), sums[:-n_f]
    elif with_sum:
        n_rows = n_f * plan.f.size
        f_rows, sums = sums[-n_rows:], sums[:-n_rows]
        tiled = jnp.tile(jnp.asarray(plan.f.pattern), (n_f, 1))
        vals = jnp.tile(plan.f.parity_sign.astype(real), (n_f, 1)) * jnp.take_along_axis(f_rows, tiled, axis=1)
        f = _f_sum(plan, vals)
    elif plan.with_f:
        f = jnp.full(n_f, plan.f_constant, real)
    return _observables(g, sums), f


def _assemble(plan: _Plan, values, params) -> jax.Array:
    """(n_params,) gradient from the readout triples; NaN everywhere when a parameter is not finite
    (as the adjoint gradient, also for components that are identically zero and never measured)."""
    contrib = values[jnp.asarray(plan.ro_meas), jnp.asarray(plan.ro_obs)] * plan.ro_factor.astype(values.dtype)
    grad = jnp.zeros(params.shape[0], params.dtype).at[jnp.asarray(plan.ro_param)].add(contrib.astype(params.dtype))
    return _nan_unless_finite(params, grad)


def _nan_unless_finite(params, x) -> jax.Array:
    return jnp.where(jnp.isfinite(jnp.sum(params)), x, jnp.nan)


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
        bc: ``BlockCircuit``; its observable a Pauli string or a Pauli sum (real coefficients).
        params: (n_params,) real angles.
        scheme: ``"ancilla"`` or ``"ancilla_free"``.
        shots: ``None`` for exact expectations (ledger zero), else shots per circuit ``N``.
        key: jax.random key, required with ``shots`` (same key, same result).
        state: (2**n,) input state, default ``|0...0>``.

    Returns:
        ``(grad (n_params,), ShotLedger)``; with shots the ledger is ``M`` executions and ``M * N``
        shots for ``M = len(block_measurements(bc, scheme))`` settings (``B`` for the ancilla scheme
        and a single string).

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
        check_key(key, "block_gradient: key")
    plan = _plan(bc, scheme, False)
    if plan.n_circuits == 0:
        initial_state(bc.circuit, params, state)  # validates the state
        return _nan_unless_finite(params, jnp.zeros(bc.n_params, params.dtype)), ShotLedger.zero()
    initial_state(bc.circuit, params, state)  # validates the state outside the compiled program
    grad = _block_gradient_program(bc, plan, shots, params, state, key)
    if shots is None:
        return grad, ShotLedger.zero()
    n_c = plan.n_circuits
    return grad, ShotLedger.of(n_c, n_c * shots)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _block_gradient_program(bc: BlockCircuit, plan: _Plan, shots, params, state, key) -> jax.Array:
    states, final, elems = _setting_states(bc, plan, params, state)
    values, _ = _values(plan, states, final, shots, key, elems=elems)
    return _assemble(plan, values, params)


def _setting_states(bc: BlockCircuit, plan: _Plan, params, state, settings=None):
    """``(states, final, elems)``: the settings' circuit states (``_final_states``; None on the adjoint
    path), the model output and the group elements (``_adjoint_elements``; None on the circuit path)."""
    if plan.adjoint is not None:
        elems, final = _adjoint_elements(bc, plan, params, state, settings)
        return None, final, elems
    runs = None if settings is None else jnp.asarray(plan.grad.source)[settings]
    states, final = _final_states(bc, plan, params, state, runs=runs)
    return states, final, None


#: How ``f_hat`` is drawn: one model-circuit run per call (the paper's accounting, B + 1), or a fresh
#: one per block (the authors' code: 2B circuits per sample for the ancilla scheme).
FHAT_MODES = ("shared", "per_block")


def parameter_blocks(bc: BlockCircuit, where: str) -> np.ndarray:
    """(n_params,) int: the block of each parameter (0 for a parameter of no rotation).

    Raises:
        ValueError: a parameter in two blocks (``fhat="per_block"`` gives each parameter ONE block's f_hat).
    """
    out = np.full(bc.n_params, -1, np.int64)
    for b, (a, c) in enumerate(bc.blocks):
        for op in bc.circuit.rotations[a:c]:
            p = op.param
            if p is None:
                continue
            if out[p] not in (-1, b):
                raise ValueError(
                    f"{where}: fhat='per_block' needs each parameter in one block; parameter {p} is in blocks "
                    f"{out[p]} and {b}"
                )
            out[p] = b
    return np.where(out < 0, 0, out)


def block_gradient_estimator(
    bc: BlockCircuit, shots: int | None, scheme: str = "ancilla", *, fhat: str = "shared"
) -> GradientEstimator:
    """Block-gradient estimator for training (``measure.estimator.GradientEstimator``, kind = ``scheme``).

    ``estimator(params, state, key) -> (f_hat, grad_hat, ledger)``, pure.

    ``f_hat`` comes from an independent run of the model circuit (same ``N`` shots), so
    ``2 (f_hat - y) grad_hat`` is an unbiased MSE gradient. Per call the ledger is ``M + F``
    executions and ``(M + F) N`` shots, ``M`` = number of block measurements (settings), ``F`` = the
    settings of one ``f_hat`` (1 for a single string; for a sum, the general-commuting groups of
    ``O``). Single string: ``M = B`` for the ancilla scheme (paper SLPA: 25 N), at most ``2B - 1``
    for the ancilla-free scheme (paper SLPA: 46 + 1, its last two blocks commute, so both are
    measured directly). Sum: every block's circuit(s) times its groups of commuting terms.
    ``shots=None`` gives the exact estimator (ledger zero, key ignored).

    ``fhat="per_block"`` reproduces the authors' code: a fresh ``f_hat`` for every block, returned as
    an (n_params,) vector (parameter j gets its block's estimate; the training loop multiplies each
    gradient component by its own ``2 (f_hat_j - y)``); the ledger is ``M + B F`` (paper SLPA,
    ancilla: 48 circuits per sample).
    ``units = M``: the settings split over devices through ``part`` (``measure.estimator``).
    Usable inside ``jit``/``vmap``/``lax.scan``; the static tables are built once here.

    Raises:
        TypeError/ValueError: bad BlockCircuit, scheme, shots or fhat.
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
    blocks_of = jnp.asarray(parameter_blocks(bc, "block_gradient_estimator")) if per_block else None
    n_c = plan.n_circuits + n_f * plan.n_f_settings

    def f_estimate(f_val, params):
        if plan.f_single:
            f_hat = (plan.f_coeff * f_val).astype(params.dtype)
        else:  # (n_f,) estimates of <O> (one in exact mode)
            f_hat = (f_val if per_block and f_val.shape[0] == n_f else f_val[0]).astype(params.dtype)
        if per_block:
            f_hat = f_hat[blocks_of] if f_hat.ndim else jnp.broadcast_to(f_hat, (bc.n_params,))
        return _nan_unless_finite(params, f_hat)

    def estimator(params, state, key):
        params = bc.circuit.check_params(params)
        if shots is not None:
            check_key(key, "block_gradient_estimator: key")
        states, final, elems = _setting_states(bc, plan, params, state)
        values, f_val = _values(plan, states, final, shots, key, n_f, elems=elems)
        ledger = ShotLedger.zero() if shots is None else ShotLedger.of(n_c, n_c * shots)
        return f_estimate(f_val, params), _assemble(plan, values, params), ledger

    def part(params, state, key, idx):  # GradientEstimator.part: the settings idx (>= M: padding)
        params = bc.circuit.check_params(params)
        m = plan.n_circuits
        valid, c = idx < m, jnp.minimum(idx, m - 1)
        states, final, elems = _setting_states(bc, plan, params, state, settings=c)
        values, f_val = _values(plan, states, final, shots, key, n_f, settings=c, elems=elems)
        full = jnp.zeros((m, values.shape[1]), values.dtype).at[c].add(jnp.where(valid[:, None], values, 0))
        if shots is None:
            ledger = ShotLedger.zero()
        else:
            n = jnp.sum(valid) + jnp.where(jnp.any(idx == 0), n_c - m, 0)
            ledger = ShotLedger.of(n, n * shots)
        return f_estimate(f_val, params), _assemble(plan, full, params), ledger

    splits = plan.n_circuits > 0
    return GradientEstimator(
        scheme,
        estimator,
        n_c if shots is not None else 0,
        shots,
        bc,
        plan.n_circuits if splits else None,
        part if splits else None,
    )
