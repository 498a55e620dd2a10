"""Statevector simulation of circuits and exact expectations, with an adjoint-sweep gradient.

The circuit is lowered once (host side, cached) to *segments*: maximal runs of rotations, each a
table of index masks run by one ``lax.scan``, and the Clifford gates between them, applied as
static permutation/phase passes. Trace and compile time do not grow with the number of rotations.
Each scan step applies two rotations between two ping-pong buffers (``_rotate_into``), so every
rotation is a single fused, parallel pass over the state with no copy back into the loop buffer.
Internally the state is carried as its 2-D ``kernels.row_view``, where most rotations move whole rows;
inputs and outputs are (2**n,) vectors.

``jax.grad(expectation)`` uses a custom VJP that un-computes the circuit in reverse: it keeps two
statevectors (the state and ``lambda = U_{L:j+1}^dag O psi_L``, each with a ping-pong twin), never
the intermediate states, so its memory does not grow with depth (adjoint differentiation, Jones &
Gacon arXiv:2009.02823). Per rotation it costs two rotation passes and one fused gradient reduction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .circuit import Circuit, Gate
from .kernels import (
    apply_gate,
    apply_gate_row,
    apply_pauli,
    apply_rotation,
    gate_row,
    imag_pauli_element,
    pauli_expectations,
    real_overlap,
    row_view,
    zero_state,
)
from .pauli import PauliSum, PauliTable, as_pauli_sum
from .types import Observable, Params, State

__all__ = [
    "statevector",
    "expectation",
    "expectations",
    "complex_dtype_for",
    "initial_state",
    "statevector_from_angles",
    "group_states",
    "rotation_batch",
    "gate_batch",
    "gate_tables",
]


@dataclass(frozen=True)
class _RotSeg:
    start: int  # index of the first rotation in the circuit's rotation list
    xmask: np.ndarray  # (k,) int32
    zmask: np.ndarray
    n_y: np.ndarray


@dataclass(frozen=True)
class _GateSeg:
    gate: Gate


@functools.lru_cache(maxsize=256)
def _lower(circuit: Circuit) -> tuple:
    """Circuit -> tuple of segments (static, host side)."""
    if circuit.n_qubits > 30:
        raise ValueError(f"statevector simulation supports n_qubits <= 30, got {circuit.n_qubits}")
    segs: list = []
    run: list = []
    r = 0

    def flush():
        if run:
            x, z, ny = PauliTable.from_paulis(run).index_masks()
            segs.append(_RotSeg(r - len(run), x.astype(np.int32), z.astype(np.int32), ny.astype(np.int32)))
            run.clear()

    for op in circuit.ops:
        if isinstance(op, Gate):
            flush()
            segs.append(_GateSeg(op))
        else:
            run.append(op.pauli)
            r += 1
    flush()
    return tuple(segs)


def complex_dtype_for(params, state=None):
    """complex64 for float32 parameters, complex128 for float64 (x64 on); a given state may widen it."""
    real = jnp.result_type(params)
    cdt = jnp.complex128 if real == jnp.float64 else jnp.complex64
    if state is not None:
        cdt = jnp.result_type(cdt, jnp.asarray(state).dtype)
    return cdt


def initial_state(circuit: Circuit, params, state=None) -> jax.Array:
    """The (2**n,) input state: ``|0...0>`` when ``state`` is None, else ``state`` checked and cast to the
    complex dtype of ``params`` (``complex_dtype_for``)."""
    cdt = complex_dtype_for(params, state)
    if state is None:
        return zero_state(circuit.n_qubits, cdt)
    state = jnp.asarray(state, dtype=cdt)
    if state.shape != (2**circuit.n_qubits,):
        raise ValueError(
            f"state: expected shape ({2**circuit.n_qubits},) for {circuit.n_qubits} qubits, got {tuple(state.shape)}"
        )
    return state


def _zero_like(angles, dtype):
    """A traced real scalar zero (``dtype``'s real type): XLA cannot fold ``0 * angle`` (NaN semantics)."""
    return lax.stop_gradient(0 * angles[0]).astype(jnp.real(jnp.zeros((), dtype)).dtype)


def _rotate_into(dst, state, x, z, ny, theta, zero):
    """``R_P(theta) state``, written over the dead buffer ``dst``.

    A rotation reads ``state`` at permuted indices, so XLA cannot update it in place, and inside a
    ``lax.scan`` it would copy the result back into the loop buffer after every gate (a second full
    pass). Reading ``dst`` elementwise (adding ``zero * Re(dst)``, exact: ``zero`` is 0 and states are
    finite) lets XLA write the result straight into ``dst``'s buffer, so two buffers ping-pong without
    copies and the pass stays a parallel loop; ``dst``'s cache lines are fetched for the write anyway.
    """
    return apply_rotation(state, x, z, ny, theta, add_real=zero * jnp.real(dst))


def _pairs(table, th):
    """Rows 0..2m-1 of the mask table and angles as (m, 2) arrays, m = k // 2."""
    m = th.shape[0] // 2
    return tuple(np.asarray(a)[: 2 * m].reshape(m, 2) for a in table) + (th[: 2 * m].reshape(m, 2),)


def _rotation_pair_step(carry, row):
    """Scan body (module level, so eager calls reuse the compiled scan): two gates, ping-pong buffers."""
    a, b, zero = carry
    x, z, ny, t = row
    b = _rotate_into(b, a, x[0], z[0], ny[0], t[0], zero)
    a = _rotate_into(a, b, x[1], z[1], ny[1], t[1], zero)
    return (a, b, zero), None


def _run_rotations(psi, table, th, zero):
    """Apply rotations ``table[r]`` by ``th[r]``, r = 0..k-1 in order: a scan over pairs of gates whose
    carry is two ping-pong buffers (see ``_rotate_into``), then the odd last gate, if any."""
    k = th.shape[0]
    if k >= 4:
        # the first two gates write two fresh buffers, which become the scan's ping-pong pair: starting
        # the scan from (psi, psi) would copy psi into both buffers first
        b = apply_rotation(psi, *(a[0] for a in table), th[0])
        psi = apply_rotation(b, *(a[1] for a in table), th[1])
        rest = tuple(a[2:] for a in table)
        psi = lax.scan(_rotation_pair_step, (psi, b, zero), _pairs(rest, th[2:]))[0][0]
    elif k >= 2:
        psi = lax.scan(_rotation_pair_step, (psi, psi, zero), _pairs(table, th))[0][0]
    if k % 2:
        psi = apply_rotation(psi, *(a[-1] for a in table), th[-1])
    return psi


def _forward(segs, n, angles, psi, inverse=False):
    """Apply the lowered circuit (or its inverse) to the (2**n,) ``psi`` (run on its ``row_view``)."""
    return _forward_rows(segs, n, angles, row_view(psi), inverse).reshape(-1)


def _forward_rows(segs, n, angles, psi, inverse=False):
    """``_forward`` on a state of any shape (gates reshape it, rotations keep it)."""
    order = reversed(segs) if inverse else segs
    zero = _zero_like(angles, psi.dtype) if angles.shape[0] else None
    for seg in order:
        if isinstance(seg, _GateSeg):
            g = seg.gate.inverse() if inverse else seg.gate
            psi = apply_gate(psi, g.name, g.qubits, n)
            continue
        k = len(seg.xmask)
        th = lax.dynamic_slice_in_dim(angles, seg.start, k) if k != angles.shape[0] else angles
        th = -th[::-1] if inverse else th
        table = (seg.xmask, seg.zmask, seg.n_y)
        table = tuple(a[::-1] for a in table) if inverse else table
        psi = _run_rotations(psi, table, th, zero)
    return psi


def _adjoint_pair_step(carry, row):
    """Reverse-scan body (module level for eager reuse): un-compute two gates on psi and lambda."""
    pa, pb, la, lb, zero = carry
    x, z, ny, t = row
    pb = _rotate_into(pb, pa, x[1], z[1], ny[1], -t[1], zero)
    lb = _rotate_into(lb, la, x[1], z[1], ny[1], -t[1], zero)
    g1 = imag_pauli_element(lb, pb, x[1], z[1], ny[1])
    pa = _rotate_into(pa, pb, x[0], z[0], ny[0], -t[0], zero)
    la = _rotate_into(la, lb, x[0], z[0], ny[0], -t[0], zero)
    g0 = imag_pauli_element(la, pa, x[0], z[0], ny[0])
    return (pa, pb, la, lb, zero), jnp.stack([g0, g1])


def _adjoint_rotations(psi, lam, table, th, zero):
    """Reverse sweep over one rotation segment: for r = k-1..0, ``psi, lam <- R_r(theta_r)^dag psi, lam``
    and ``g[r] = Im <lam| P_r |psi>`` (the same before or after the rotation, which commutes with P_r;
    taking it after keeps its gather distinct from the rotations' gathers, so XLA fuses it into the
    reduction instead of materialising a shared one). Returns ``(g, psi, lam)``."""
    k = th.shape[0]
    grads = []
    if k % 2:
        row = tuple(a[-1] for a in table)
        psi = apply_rotation(psi, *row, -th[-1])
        lam = apply_rotation(lam, *row, -th[-1])
        grads.append(imag_pauli_element(lam, psi, *row)[None])
    if k >= 2:
        # the ping-pong twins only receive results: fresh zero buffers (a write-only fill) instead of
        # copies of psi and lambda
        carry = (psi, jnp.zeros_like(psi), lam, jnp.zeros_like(lam), zero)
        (psi, _, lam, _, _), g = lax.scan(_adjoint_pair_step, carry, _pairs(table, th), reverse=True)
        grads.insert(0, g.reshape(-1))
    return jnp.concatenate(grads) if len(grads) > 1 else grads[0], psi, lam


def _obs_arrays(obs: PauliSum):
    x, z, ny = obs.paulis.index_masks()
    return (x.astype(np.int32), z.astype(np.int32), ny.astype(np.int32)), np.real(obs.coeffs)


def _apply_obs(obs_tab, coeffs, psi):
    """``O @ psi`` for a Pauli sum (scan over terms)."""
    c = jnp.asarray(coeffs, dtype=jnp.real(psi).dtype)
    return lax.scan(_obs_term_step, (jnp.zeros_like(psi), psi), (*obs_tab, c))[0][0]


_FUSED_TERMS = 8  # observables with at most this many terms are evaluated in one fused pass


def _obs_value(obs_tab, coeffs, psi):
    """``<psi|O|psi>`` = ``sum_k c_k Re <psi|P_k|psi>`` without storing ``O psi``.

    Up to ``_FUSED_TERMS`` terms: one pass summing all terms elementwise, then one reduction (the
    masks are compile-time constants); more terms: a scan with one reduction per term."""
    m = len(coeffs)
    if m == 0:
        return jnp.zeros((), jnp.real(psi).dtype)
    if m > _FUSED_TERMS:
        c = jnp.asarray(coeffs, dtype=jnp.real(psi).dtype)
        return jnp.sum(c * pauli_expectations(psi, *obs_tab))
    rdt = jnp.real(psi).dtype
    return real_overlap(psi, sum(rdt.type(coeffs[k]) * apply_pauli(psi, *(a[k] for a in obs_tab)) for k in range(m)))


def _obs_term_step(carry, row):
    """Scan body of ``_apply_obs`` (module level for eager reuse): add ``c_k P_k psi``."""
    acc, psi = carry
    x, z, ny, c = row
    return (acc + c.astype(psi.dtype) * apply_pauli(psi, x, z, ny), psi), None


def _make_expect(segs, n, obs_tab, coeffs):
    """Build the custom-VJP expectation f(angles, psi0) for fixed static structure."""

    @jax.custom_vjp
    def f(angles, psi0):
        psi = _forward_rows(segs, n, angles, row_view(psi0))
        return _obs_value(obs_tab, coeffs, psi)

    def fwd(angles, psi0):
        psi = _forward_rows(segs, n, angles, row_view(psi0))
        lam = _apply_obs(obs_tab, coeffs, psi)
        return real_overlap(psi, lam), (angles, psi, lam)

    def bwd(res, ct):
        angles, psi, lam = res
        grads = []
        zero = _zero_like(angles, psi.dtype) if angles.shape[0] else None
        for seg in reversed(segs):
            if isinstance(seg, _GateSeg):
                g = seg.gate.inverse()
                psi = apply_gate(psi, g.name, g.qubits, n)
                lam = apply_gate(lam, g.name, g.qubits, n)
                continue
            k = len(seg.xmask)
            th = lax.dynamic_slice_in_dim(angles, seg.start, k) if k != angles.shape[0] else angles
            g, psi, lam = _adjoint_rotations(psi, lam, (seg.xmask, seg.zmask, seg.n_y), th, zero)
            grads.append(g)
        grads = grads[::-1]
        g_angles = jnp.concatenate(grads) if grads else jnp.zeros_like(angles)
        g_angles = (ct * g_angles).astype(angles.dtype)
        g_state = (2 * ct) * jnp.conj(lam.reshape(-1))
        return g_angles, g_state.astype(psi.dtype)

    f.defvjp(fwd, bwd)
    return f


def statevector(circuit: Circuit, params: Params, state: State | None = None) -> State:
    """Final state ``U(params) |state>`` as a (2**n,) complex array (default input |0...0>).

    Differentiable by ordinary reverse-mode AD (stores states); for gradients of expectation values
    use ``expectation``, whose VJP is an O(1)-memory adjoint sweep.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"statevector: expected a Circuit, got {type(circuit).__name__}")
    params = circuit.check_params(params)
    segs = _lower(circuit)  # validates n_qubits before a state is allocated
    psi0 = initial_state(circuit, params, state)
    return _forward(segs, circuit.n_qubits, circuit.angles(params), psi0)


def expectation(circuit: Circuit, params: Params, observable: Observable, state: State | None = None) -> jax.Array:
    """Exact real ``<state| U^dag O U |state>``; observable: label, Pauli, PauliSum, or [(c, label)].

    ``jax.grad`` with respect to ``params`` (and ``state``) uses the adjoint sweep.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expectation: expected a Circuit, got {type(circuit).__name__}")
    obs = as_pauli_sum(observable, circuit.n_qubits)
    params = circuit.check_params(params)
    segs = _lower(circuit)  # validates n_qubits before a state is allocated
    psi0 = initial_state(circuit, params, state)
    obs_tab, coeffs = _obs_arrays(obs)
    f = _make_expect(segs, circuit.n_qubits, obs_tab, coeffs)
    return f(circuit.angles(params), psi0)


def expectations(circuit: Circuit, params: Params, observables, state: State | None = None) -> jax.Array:
    """(m,) exact expectations of several observables from one simulated state (no gradient sweep)."""
    psi = row_view(statevector(circuit, params, state))
    out = []
    for o in observables:
        tab, coeffs = _obs_arrays(as_pauli_sum(o, circuit.n_qubits))
        out.append(_obs_value(tab, coeffs, psi))
    return jnp.stack(out)


def statevector_from_angles(circuit: Circuit, angles: jax.Array, state: State | None = None) -> State:
    """``U|state>`` from an explicit (num_rotations,) angle vector instead of parameters.

    Rotation r applies ``R_{P_r}(angles[r])`` (scale, offset and parameter sharing are bypassed), so
    callers can shift single rotations, e.g. for the parameter-shift rule. The complex dtype follows
    ``angles`` (and a given ``state``), as in ``statevector``.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"statevector_from_angles: expected a Circuit, got {type(circuit).__name__}")
    angles = jnp.asarray(angles)
    if angles.shape != (circuit.num_rotations,):
        raise ValueError(
            f"angles: expected shape ({circuit.num_rotations},) for a circuit with {circuit.num_rotations} "
            f"rotations, got {tuple(angles.shape)}"
        )
    if not jnp.issubdtype(angles.dtype, jnp.floating):
        angles = angles.astype(jnp.result_type(float))
    segs = _lower(circuit)  # validates n_qubits before a state is allocated
    psi0 = initial_state(circuit, angles, state)
    return _forward(segs, circuit.n_qubits, angles, psi0)


# --- batched sweeps for circuit families (block gradients, parameter shift) ----------------------


def _group_step(psi, row):
    """Scan body of ``group_states`` (module level for eager reuse): one group of rotations."""
    masks, th = row
    if th.shape[0] > 2:  # an inner scan: XLA CPU's legacy emitter would fuse the whole chain (2**w code)
        psi = lax.scan(_row_step, psi, (masks, th))[0]
    else:
        for i in range(th.shape[0]):
            psi = apply_rotation(psi, masks[i, 0], masks[i, 1], masks[i, 2], th[i])
    return psi, psi


def _row_step(psi, row):
    """Inner scan body of ``_group_step``: one rotation."""
    m, t = row
    return apply_rotation(psi, m[0], m[1], m[2], t), None


def group_states(psi0: jax.Array, masks, angles) -> jax.Array:
    """States after each group of a rotation sweep: ONE ``lax.scan`` over groups, prefixes shared.

    Args:
        psi0: (2**n,) input state.
        masks: (G, w, 3) int32 rotation index masks ``(xmask, zmask, n_y)`` (``Pauli.index_masks``);
            group g applies rows ``masks[g, 0], ..., masks[g, w-1]`` in order. Pad short groups with
            zero masks and zero angles (the identity, exactly).
        angles: (G, w) real angles, ``R_P(angle)``.

    Returns:
        (G, 2**n): row g is the state after groups 0..g. Trace size does not depend on G.
    """
    masks = jnp.asarray(masks, jnp.int32)
    return lax.scan(_group_step, psi0, (masks, angles))[1]


_rotate_batch = jax.vmap(apply_rotation)


def _batch_step(states, row):
    """Scan body of ``rotation_batch``: row r of every circuit, vmapped over circuits."""
    m, th = row
    return _rotate_batch(states, m[:, 0], m[:, 1], m[:, 2], th), None


def rotation_batch(states: jax.Array, masks, angles, lengths=None) -> jax.Array:
    """Run C rotation tables on C states: ONE ``lax.scan`` over rows, every pass over all circuits.

    Args:
        states: (C, 2**n) input states (e.g. shared prefix states from ``group_states``).
        masks: (C, R, 3) int32 index masks; circuit c applies ``masks[c, 0..R-1]`` in order (pad with
            zero masks and zero angles: the identity, exactly).
        angles: (C, R) real angles.
        lengths: optional static (C,) ints: circuit c's rows after ``lengths[c]`` are padding. From
            ``_GROUP_MIN_CIRCUITS`` circuits on, the circuits are then sorted into a few groups by
            length, each scanned only to its own end (the padded identity rows cost as much as
            rotations); the result is the same.

    Returns:
        (C, 2**n) final states. At small n each pass works on all C states at once.
    """
    if lengths is not None and masks.shape[0] >= _GROUP_MIN_CIRCUITS and masks.shape[1] > 0:
        # circuits grouped by length, each group scanned only to its own end
        masks = np.asarray(masks)
        order, chunks = _length_groups(np.asarray(lengths))
        angles = jnp.asarray(angles)
        outs = [_rotation_scan(states[jnp.asarray(c)], masks[c, :ln], angles[jnp.asarray(c), :ln]) for c, ln in chunks]
        return jnp.concatenate(outs)[jnp.asarray(np.argsort(order))]
    return _rotation_scan(states, masks, angles)


#: ``rotation_batch`` with static masks for at least ``_GROUP_MIN_CIRCUITS`` circuits splits them into
#: this many groups by length (fewer circuits: one scan). The groups cost compile time (about +20 % for
#: the paper SLPA's 24-run block estimator) for about 1/3 fewer passes; from 64 circuits (parameter shift
#: beyond the dense-suffix range, e.g. 385 circuits at n = 12) the passes dominate.
_LENGTH_GROUPS = 3
_GROUP_MIN_CIRCUITS = 64


def _length_groups(lengths: np.ndarray):
    """``(order, [(circuit indices, rows), ...])``: circuits sorted by length, split into
    ``_LENGTH_GROUPS`` groups, each run to its longest member's end (at least one row, so the program's
    size depends on neither C nor depth)."""
    order = np.argsort(-lengths, kind="stable")
    return order, [(ch, max(1, int(lengths[ch].max()))) for ch in np.array_split(order, _LENGTH_GROUPS)]


_gate_row_batch = jax.vmap(apply_gate_row)


def _gate_step(states, row):
    """Scan body of ``gate_batch``: gate row r of every circuit, vmapped over circuits."""
    return _gate_row_batch(states, *row), None


def gate_tables(circuits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``gate_batch``'s tables of C Clifford-only circuits (numpy, static): ``(bits (C, R, 2) int32,
    xmasks (C, R) int32, diags (C, R, 4), offs (C, R, 4) complex128)``, row j of circuit c its j-th gate
    (``kernels.gate_row``), padded with identity rows to the longest circuit (R = 0 if all are empty)."""
    rows = []
    for c in circuits:
        if any(not isinstance(op, Gate) for op in c.ops):
            raise ValueError("gate_tables: expected circuits of Clifford gates only, got a rotation")
        rows.append([gate_row(g.name, g.qubits, c.n_qubits) for g in c.ops])
    count, r_len = len(rows), max(map(len, rows), default=0)
    bits, xmasks = np.zeros((count, r_len, 2), np.int32), np.zeros((count, r_len), np.int32)
    diags, offs = np.ones((count, r_len, 4), complex), np.zeros((count, r_len, 4), complex)
    for c, circuit_rows in enumerate(rows):
        for j, (b, x, d, o) in enumerate(circuit_rows):
            bits[c, j], xmasks[c, j], diags[c, j], offs[c, j] = b, x, d, o
    return bits, xmasks, diags, offs


def gate_batch(states: jax.Array, bits, xmasks, diags, offs) -> jax.Array:
    """Run C Clifford gate sequences natively (``kernels.gate_row``): ONE ``lax.scan`` over rows,
    every pass over all circuits.

    Args:
        states: (C, 2**n) input states.
        bits: (C, R, 2) int32, xmasks: (C, R) int32, diags and offs: (C, R, 4) complex: circuit c
            applies rows ``0..R-1`` in order (pad with identity rows: bits 0, xmask 0, diag 1, off 0).

    Returns:
        (C, 2**n) final states; one pass per gate (the rotation lowering costs 1-3 per gate).
    """
    if np.shape(xmasks)[1] == 0:
        return states
    rows = (jnp.asarray(bits, jnp.int32), jnp.asarray(xmasks, jnp.int32), jnp.asarray(diags), jnp.asarray(offs))
    return lax.scan(_gate_step, states, tuple(jnp.swapaxes(a, 0, 1) for a in rows))[0]


def _rotation_scan(states, masks, angles):
    masks = jnp.asarray(masks, jnp.int32)
    if masks.shape[1] == 0:
        return states
    return lax.scan(_batch_step, states, (jnp.swapaxes(masks, 0, 1), jnp.swapaxes(angles, 0, 1)))[0]
