"""Statevectors sharded over the devices of a 1-D mesh: the top index bits are the device id.

Layout. A state of ``n`` qubits on a mesh of ``2**g`` devices (axis ``SHARD_AXIS``) is the (2**n,)
array of ``core.simulator`` split into ``2**g`` contiguous blocks of ``2**(n-g)`` amplitudes: device
``d`` (its position on the mesh, ``lax.axis_index``) holds indices ``j = d * 2**(n-g) + l``. With
qubit q = index bit n-1-q, qubits ``0..g-1`` are *global* (their bits are ``d``) and qubits
``g..n-1`` are *local* (local qubit ``q - g`` of an (n-g)-qubit shard). Gathering the sharded array
to the host gives exactly ``core.simulator.statevector``.

A rotation about ``P = (xmask, zmask, n_y)`` splits into global bits ``(xg, zg) = mask >> (n-g)``
(static Python ints) and local masks ``(xl, zl)`` (int32, at most 31 local bits). From
``P|j> = i**n_y (-1)**popcount(j & zmask) |j ^ xmask>``:

    (P psi)_d[l] = i**(n_y + 2 popcount(xg & zg) + 2 popcount(d & zg))
                   * i**(2 popcount(xl & zl)) (-1)**popcount(l & zl) psi_{d ^ xg}[l ^ xl]

so the global Z/Y factors only change the power of ``i`` on each device, and the local factors are
``kernels.apply_pauli`` on shard ``d ^ xg`` with the local masks. When ``xg == 0`` the rotation is
``kernels.apply_rotation`` on the own shard (no communication); otherwise one ``lax.ppermute``
(``d <-> d ^ xg``) brings the partner shard and the rotation is ``cos(t/2) psi_d + sin(t/2) (-i P psi)_d``.

Clifford gates on local qubits run ``kernels.apply_gate`` on the shard; a gate touching a global
qubit runs through its rotations in the gate table (``GateSpec.rotations``); the global phases of
those decompositions (``GateSpec.phase``) are applied once at the end, so the sharded state equals
the single-device one, not just up to a phase. Expectations of a Pauli sum add local partial sums
and reduce them with ``lax.psum`` (terms grouped by ``xg``: one ppermute per distinct nonzero
global X pattern).

Static structure (``ShardPlan``) is built once per (circuit, g) on the host. The rotations between
two gates on local qubits (including the rotations of gates on global qubits) form a run, compiled
as one ``lax.scan`` over a table of traced local masks whose body ``lax.switch``-es over the run's
distinct global X patterns (each branch with its own static ppermute), so the program size grows
with the number of local gates and patterns, not with depth (measured: ``docs/scaling.md``). Entry
points (``sharded_statevector``, ``sharded_expectation``) jit one ``jax.shard_map`` program per
(circuit, mesh, observable), cached.

Memory and communication per device (itemsize 8 for complex64, 16 for complex128): the shard is
``2**(n-g) * itemsize`` bytes and a statevector needs ``WORK_BUFFERS`` shards (state, received
partner, result). A rotation with global X bits moves one shard per device; all other rotations and
gates on local qubits move nothing. ``jax.grad`` of ``sharded_expectation`` runs a sharded adjoint
sweep (custom VJP): about 8 shards per device whatever the depth, and one ppermute of the
(psi, lambda) pair per global-X rotation in the backward pass.

Example:
    >>> import numpy as np
    >>> from slpa_jax.core import Circuit
    >>> mesh = shard_mesh(jax.devices()[:1])  # any power-of-two number of devices
    >>> c = Circuit.from_labels(["XY", "ZX"])
    >>> psi = sharded_statevector(c, np.array([0.3, 0.5], np.float32), mesh)
    >>> psi.shape, psi.dtype, len(psi.sharding.device_set)
    ((4,), dtype('complex64'), 1)
    >>> shard_plan(c, 1).ppermutes  # XY has X on the global qubit 0; ZX has not
    1
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .circuit import Circuit, Rotation
from .gates import gate_spec
from .kernels import apply_gate, apply_pauli, apply_rotation, imag_pauli_element, real_overlap, row_view
from .pauli import as_pauli_sum
from .simulator import complex_dtype_for

__all__ = [
    "SHARD_AXIS",
    "WORK_BUFFERS",
    "MAX_LOCAL_QUBITS",
    "RotationRun",
    "LocalGate",
    "ShardPlan",
    "shard_plan",
    "shard_mesh",
    "global_qubits",
    "shard_state",
    "shard_bytes",
    "device_memory_bytes",
    "check_shard_fits",
    "sharded_statevector",
    "sharded_expectation",
]

#: Name of the mesh axis whose position is the value of the global qubits.
SHARD_AXIS = "shards"
#: Shard-sized buffers a device holds while applying one rotation (state, partner, result).
WORK_BUFFERS = 3
#: Local index bits per device: the kernels index a shard with uint32 and take int32 masks.
MAX_LOCAL_QUBITS = 31
#: Runs of at least this many rotations become a ``lax.scan``; shorter runs are unrolled.
SCAN_MIN = 2


# --- static plan -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RotationRun:
    """``k`` consecutive rotations (no Clifford gate between them) with their split masks.

    Attributes:
        patterns: the distinct global X patterns of the run, sorted (static Python ints; bit ``g-1-q``
            for global qubit q); pattern 0 means no communication.
        branch: (k,) int32 index into ``patterns`` of each rotation's ``xg``.
        angle_index: (k,) int32 index of each angle in ``concat(circuit.angles(params), plan.fixed)``
            (circuit rotations first, then the fixed rotations of Clifford gates on global qubits).
        xl, zl: (k,) int32 local masks (bits below ``n - g``).
        zg: (k,) int32 global Z bits.
        nyb: (k,) int32 ``(n_y + 2 popcount(xg & zg)) % 4``; the device adds ``2 popcount(d & zg)``.
    """

    patterns: tuple[int, ...]
    branch: np.ndarray
    angle_index: np.ndarray
    xl: np.ndarray
    zl: np.ndarray
    zg: np.ndarray
    nyb: np.ndarray

    def __len__(self) -> int:
        return len(self.xl)

    @property
    def xg(self) -> np.ndarray:
        """(k,) global X pattern of each rotation."""
        return np.asarray(self.patterns, np.int64)[self.branch]

    @property
    def scanned(self) -> bool:
        """Whether the run is one ``lax.scan`` (else unrolled with static masks)."""
        return len(self) >= SCAN_MIN


@dataclass(frozen=True)
class LocalGate:
    """A Clifford gate on local qubits only: ``kernels.apply_gate`` on the (n-g)-qubit shard."""

    name: str
    qubits: tuple[int, ...]  # local qubit numbers (q - g)


@dataclass(frozen=True, eq=False)
class ShardPlan:
    """The static program of a circuit on ``2**g`` devices: ``RotationRun`` and ``LocalGate`` steps in
    application order, then one multiplication by ``phase``.

    A Clifford gate on a global qubit becomes its table rotations inside the surrounding run (so only
    gates on local qubits split runs); the global phases of those decompositions (``GateSpec.phase``)
    commute with everything and are collected into ``phase``.

    Attributes:
        n, g: qubit count and number of global qubits.
        steps: the steps.
        fixed: (f,) float64 angles of the gate rotations (indexed after the circuit's rotations).
        phase: product of the gate decompositions' global phases.
    """

    n: int
    g: int
    steps: tuple
    fixed: np.ndarray
    phase: complex

    @property
    def n_local(self) -> int:
        return self.n - self.g

    @property
    def ppermutes(self) -> int:
        """ppermutes executed by one forward pass (one per rotation with global X bits)."""
        return sum(int(np.count_nonzero(s.xg)) for s in self.steps if isinstance(s, RotationRun))

    @property
    def ppermute_sites(self) -> int:
        """ppermute operations in the lowered program: a scanned run holds one per nonzero pattern (one
        ``lax.switch`` branch each), an unrolled run one per global-X rotation."""
        return sum(
            sum(p != 0 for p in s.patterns) if s.scanned else int(np.count_nonzero(s.xg))
            for s in self.steps
            if isinstance(s, RotationRun)
        )

    @property
    def runs(self) -> int:
        return sum(isinstance(s, RotationRun) for s in self.steps)

    def comm_bytes(self, itemsize: int) -> int:
        """Bytes each device sends (and receives) in one forward pass: one shard per global-X rotation."""
        return self.ppermutes * 2**self.n_local * itemsize


def _split(x: int, z: int, ny: int, nl: int) -> tuple[int, int, int, int, int]:
    """(xg, xl, zl, zg, nyb) of full index masks, see ``RotationRun``."""
    lo = (1 << nl) - 1
    xg, zg = x >> nl, z >> nl
    return xg, x & lo, z & lo, zg, (ny + 2 * (bin(xg & zg).count("1") & 1)) % 4


def _gate_masks(label: str, qubits: tuple[int, ...], n: int) -> tuple[int, int, int]:
    """Index masks of a gate-local Pauli label placed on ``qubits`` of an n-qubit register."""
    x = z = ny = 0
    for ch, q in zip(label, qubits):
        bit = 1 << (n - 1 - q)
        x |= bit if ch in "XY" else 0
        z |= bit if ch in "YZ" else 0
        ny += ch == "Y"
    return x, z, ny


@functools.lru_cache(maxsize=256)
def shard_plan(circuit: Circuit, g: int) -> ShardPlan:
    """The static ``ShardPlan`` of ``circuit`` with its top ``g`` qubits global (host side, cached).

    Raises:
        ValueError: if ``g`` is out of range or the shard would have more than ``MAX_LOCAL_QUBITS``
            local qubits (use more devices).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"shard_plan: expected a Circuit, got {type(circuit).__name__}")
    n = circuit.n_qubits
    if not 0 <= g < n:
        raise ValueError(f"shard_plan: need 0 <= g < n_qubits={n} global qubits, got g={g}")
    nl = n - g
    if nl > MAX_LOCAL_QUBITS:
        raise ValueError(
            f"shard_plan: {nl} local qubits per device (n={n}, g={g}) exceed {MAX_LOCAL_QUBITS} (uint32 shard "
            f"indices); use at least {n - MAX_LOCAL_QUBITS} global qubits ({2 ** (n - MAX_LOCAL_QUBITS)} devices)"
        )
    rots = circuit.rotations
    masks = circuit.generators.index_masks() if rots else (np.zeros(0, np.int64),) * 3
    steps: list = []
    run: list = []  # (xg, xl, zl, zg, nyb, angle index) rows of the open run
    fixed: list = []
    phase = complex(1)

    def flush():
        if run:
            t = np.array(run, dtype=np.int64)
            patterns = tuple(int(v) for v in np.unique(t[:, 0]))
            branch = np.searchsorted(patterns, t[:, 0]).astype(np.int32)
            xl, zl, zg, nyb, idx = (t[:, i].astype(np.int32) for i in range(1, 6))
            steps.append(RotationRun(patterns, branch, idx, xl, zl, zg, nyb))
            run.clear()

    r = 0
    for op in circuit.ops:
        if isinstance(op, Rotation):
            run.append(_split(int(masks[0][r]), int(masks[1][r]), int(masks[2][r]), nl) + (r,))
            r += 1
        elif min(op.qubits) >= g:
            flush()
            steps.append(LocalGate(op.name, tuple(q - g for q in op.qubits)))
        else:
            spec = gate_spec(op.name, "shard_plan")
            for label, angle in spec.rotations:
                run.append(_split(*_gate_masks(label, op.qubits, n), nl) + (len(rots) + len(fixed),))
                fixed.append(angle)
            phase *= spec.phase
    flush()
    return ShardPlan(n, g, tuple(steps), np.array(fixed, np.float64), phase)


# --- meshes, placement and memory ------------------------------------------------------------------


def shard_mesh(devices=None) -> Mesh:
    """A 1-D ``Mesh`` with axis ``SHARD_AXIS`` over ``devices`` (default: all of ``jax.devices()``).

    The number of devices must be a power of two, ``2**g``; mesh position d holds block d.
    """
    devices = list(jax.devices() if devices is None else devices)
    k = len(devices)
    if k < 1 or k & (k - 1):
        raise ValueError(f"shard_mesh: the number of devices must be a power of two, got {k}")
    return Mesh(np.array(devices), (SHARD_AXIS,))


def global_qubits(mesh: Mesh) -> int:
    """``g`` with ``mesh.size == 2**g`` for a mesh from ``shard_mesh``."""
    if tuple(mesh.axis_names) != (SHARD_AXIS,):
        raise ValueError(f"global_qubits: expected a 1-D mesh with axis {SHARD_AXIS!r}, got axes {mesh.axis_names}")
    k = mesh.size
    if k & (k - 1):
        raise ValueError(f"global_qubits: the mesh size must be a power of two, got {k}")
    return k.bit_length() - 1


def shard_state(state, mesh: Mesh, dtype=None) -> jax.Array:
    """Place a (2**n,) state on ``mesh`` (block d on mesh position d); host arrays go straight to their shards."""
    if dtype is not None:
        state = np.asarray(state, dtype=dtype) if isinstance(state, np.ndarray) else jnp.asarray(state, dtype)
    return jax.device_put(state, NamedSharding(mesh, P(SHARD_AXIS)))


def shard_bytes(n: int, g: int, dtype) -> int:
    """Bytes of one shard, ``2**(n-g) * itemsize``."""
    return 2 ** (n - g) * np.dtype(dtype).itemsize


def device_memory_bytes(device) -> int | None:
    """Memory available to one device: its allocator limit when it reports one (GPU), else for CPU
    devices the host's physical memory divided by the number of local CPU devices; None if unknown."""
    try:
        stats = device.memory_stats()
    except Exception:  # backends without allocator statistics raise
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    if device.platform == "cpu" and hasattr(os, "sysconf"):
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            return None
        return int(total // max(1, len(jax.local_devices(backend="cpu"))))
    return None


def _fmt_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if b < 1024 or unit == "PiB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024
    return ""  # pragma: no cover


def check_shard_fits(n: int, g: int, dtype, device_bytes: int | None, where: str = "sharded") -> None:
    """Raise a ``MemoryError`` naming the memory needed when ``WORK_BUFFERS`` shards exceed ``device_bytes``.

    ``device_bytes=None`` (unknown) passes. The message gives the smallest ``g`` that fits.
    """
    if device_bytes is None:
        return
    need = WORK_BUFFERS * shard_bytes(n, g, dtype)
    if need <= device_bytes:
        return
    g_min = g
    while g_min < n and WORK_BUFFERS * shard_bytes(n, g_min, dtype) > device_bytes:
        g_min += 1
    raise MemoryError(
        f"{where}: n={n} qubits on 2**{g}={2**g} device(s) needs a shard of 2**{n - g} amplitudes "
        f"({_fmt_bytes(shard_bytes(n, g, dtype))} in {np.dtype(dtype).name}) per device, "
        f"{_fmt_bytes(need)} with its {WORK_BUFFERS} working buffers, but a device has "
        f"{_fmt_bytes(device_bytes)}; use at least {2**g_min} devices (g={g_min})"
        + (" or complex64" if np.dtype(dtype).itemsize > 8 else "")
    )


# --- the per-device program ------------------------------------------------------------------------


def _rotate(psi, xg: int, g: int, xl, zl, zg, nyb, theta, d):
    """``R_P(theta)`` on the own shard ``psi`` of device ``d`` (see the module docstring)."""
    ny = nyb + 2 * (lax.population_count(d & zg) & 1)
    if xg == 0:
        return apply_rotation(psi, xl, zl, ny, theta)
    other = lax.ppermute(psi, SHARD_AXIS, perm=[(s, s ^ xg) for s in range(2**g)])
    half = 0.5 * theta
    real = jnp.real(psi).dtype
    c = jnp.cos(half).astype(real)
    # sin(t/2) * (-i P psi)_d: -i = i**3 folded into the power of i
    return lax.complex(c * jnp.real(psi), c * jnp.imag(psi)) + jnp.sin(half).astype(real) * apply_pauli(
        other, xl, zl, ny + 3
    )


def _run_rotations(psi, run: RotationRun, g: int, th, d):
    """Apply one ``RotationRun`` with angles ``th`` (k,): unrolled with static masks when short,
    else one ``lax.scan`` whose body switches over the run's global X patterns (``lax.switch``; each
    branch has its own static ppermute), so the program size does not grow with the run's length."""
    if not run.scanned:
        xg = run.xg
        for k in range(len(run)):
            row = (int(run.xl[k]), int(run.zl[k]), int(run.zg[k]), int(run.nyb[k]))
            psi = _rotate(psi, int(xg[k]), g, *row, th[k], d)
        return psi

    def branch(xg):
        return lambda state, row: _rotate(state, xg, g, *row, d)

    branches = [branch(xg) for xg in run.patterns]

    def body(state, row):
        b, rest = row[0], row[1:]
        if len(branches) == 1:
            return branches[0](state, rest), None
        return lax.switch(b, branches, state, rest), None

    return lax.scan(body, psi, (run.branch, run.xl, run.zl, run.zg, run.nyb, th))[0]


def _forward_shard(plan: ShardPlan, angles, psi, d):
    """Run ``plan`` with the circuit's (num_rotations,) ``angles`` on the own shard ``psi`` (any shape of
    2**(n-g) amplitudes) of device ``d``."""
    real = jnp.real(psi).dtype
    ext = jnp.concatenate([angles.astype(real), jnp.asarray(plan.fixed, real)]) if len(plan.fixed) else angles
    for step in plan.steps:
        if isinstance(step, LocalGate):
            psi = apply_gate(psi, step.name, step.qubits, plan.n_local)
        else:
            psi = _run_rotations(psi, step, plan.g, ext[step.angle_index].astype(real), d)
    if plan.phase != 1:
        psi = psi * jnp.asarray(plan.phase, psi.dtype)
    return psi


def _partners(states, xg: int, g: int):
    """Shard ``d ^ xg`` of each array in ``states`` (a tuple): the own shards when ``xg == 0``, else one
    ``lax.ppermute`` of the stacked arrays (one message per device however many states)."""
    if xg == 0:
        return states
    if len(states) == 1:
        return (lax.ppermute(states[0], SHARD_AXIS, perm=[(s, s ^ xg) for s in range(2**g)]),)
    both = lax.ppermute(jnp.stack(states), SHARD_AXIS, perm=[(s, s ^ xg) for s in range(2**g)])
    return tuple(both[i] for i in range(len(states)))


def _unrotate_pair(psi, lam, xg: int, g: int, xl, zl, zg, nyb, theta, d):
    """Adjoint step: ``(Im <lam|P|psi>_d, R_P(theta)^dag psi, R_P(theta)^dag lam)`` on device d.

    The gradient term is taken before un-rotating (equal to after: ``R_P`` commutes with ``P``), so a
    global-X rotation needs one ppermute of the pair and nothing more.
    """
    ny = nyb + 2 * (lax.population_count(d & zg) & 1)
    if xg == 0:
        grad = imag_pauli_element(lam, psi, xl, zl, ny)
        return grad, apply_rotation(psi, xl, zl, ny, -theta), apply_rotation(lam, xl, zl, ny, -theta)
    other_psi, other_lam = _partners((psi, lam), xg, g)
    p_psi = apply_pauli(other_psi, xl, zl, ny + 1)  # i P psi: R(-t) = cos(t/2) + sin(t/2) i P
    p_lam = apply_pauli(other_lam, xl, zl, ny + 1)
    grad = -real_overlap(lam, p_psi)  # Im <lam|P|psi> = -Re <lam|iP|psi>
    real = jnp.real(psi).dtype
    c, s = jnp.cos(0.5 * theta).astype(real), jnp.sin(0.5 * theta).astype(real)
    return grad, c * psi + s * p_psi, c * lam + s * p_lam


def _adjoint_run(psi, lam, run: RotationRun, g: int, th, d):
    """Un-compute one ``RotationRun`` on ``(psi, lam)`` in reverse; returns ``(grads (k,), psi, lam)``."""
    if not run.scanned:
        xg, grads = run.xg, [None] * len(run)
        for k in reversed(range(len(run))):
            row = (int(run.xl[k]), int(run.zl[k]), int(run.zg[k]), int(run.nyb[k]))
            grads[k], psi, lam = _unrotate_pair(psi, lam, int(xg[k]), g, *row, th[k], d)
        return jnp.stack(grads), psi, lam

    def branch(xg):
        return lambda carry, row: _unrotate_pair(*carry, xg, g, *row, d)

    branches = [branch(xg) for xg in run.patterns]

    def body(carry, row):
        b, rest = row[0], row[1:]
        grad, psi, lam = branches[0](carry, rest) if len(branches) == 1 else lax.switch(b, branches, carry, rest)
        return (psi, lam), grad

    table = (run.branch, run.xl, run.zl, run.zg, run.nyb, th)
    (psi, lam), grads = lax.scan(body, (psi, lam), table, reverse=True)
    return grads, psi, lam


def _adjoint_shard(plan: ShardPlan, angles, psi, lam, d):
    """The adjoint sweep on device d: ``(local part of d<O>/d angles (num_rotations,), U^dag lam)``.

    ``psi`` is the final shard, ``lam`` the shard of ``O psi``; both are un-computed gate by gate (O(1)
    shards of memory, like ``core.simulator.expectation``'s VJP); the caller ``psum``s the gradient.
    """
    real = jnp.real(psi).dtype
    ext = jnp.concatenate([angles.astype(real), jnp.asarray(plan.fixed, real)]) if len(plan.fixed) else angles
    if plan.phase != 1:
        back = jnp.asarray(np.conj(plan.phase), psi.dtype)
        psi, lam = psi * back, lam * back
    grads = jnp.zeros(ext.shape[0], real)
    for step in reversed(plan.steps):
        if isinstance(step, LocalGate):
            inv = gate_spec(step.name, "sharded").inverse
            psi = apply_gate(psi, inv, step.qubits, plan.n_local)
            lam = apply_gate(lam, inv, step.qubits, plan.n_local)
        else:
            g, psi, lam = _adjoint_run(psi, lam, step, plan.g, ext[step.angle_index].astype(real), d)
            grads = grads.at[step.angle_index].set(g.astype(real))
    return grads[: angles.shape[0]], lam


def _zero_shard(n_local: int, dtype, d):
    """Device d's shard of |0...0>: a 1 at local index 0 on device 0 only."""
    return jnp.zeros(2**n_local, dtype).at[0].set(jnp.where(d == 0, 1, 0).astype(dtype))


# --- observables -----------------------------------------------------------------------------------

_FUSED_TERMS = 8  # terms of one global-X group evaluated in one fused pass; more run as a scan


def _obs_plan(observable, n: int, g: int) -> tuple:
    """Hashable static plan of a Pauli sum: ``((xg, ((xl, zl, zg, nyb, coeff), ...)), ...)`` by ``xg``."""
    obs = as_pauli_sum(observable, n)
    if len(obs.coeffs) == 0:
        return ()
    x, z, ny = obs.paulis.index_masks()
    groups: dict[int, list] = {}
    for k in range(len(obs.coeffs)):
        xg, xl, zl, zg, nyb = _split(int(x[k]), int(z[k]), int(ny[k]), n - g)
        groups.setdefault(xg, []).append((xl, zl, zg, nyb, float(np.real(obs.coeffs[k]))))
    return tuple((xg, tuple(rows)) for xg, rows in sorted(groups.items()))


def _obs_value_shard(obs_plan: tuple, g: int, psi, d):
    """Device d's partial sum ``sum_k c_k Re <psi|P_k|psi>`` over its own indices (psum it)."""
    real = jnp.real(psi).dtype
    total = jnp.zeros((), real)
    for xg, rows in obs_plan:
        other = psi if xg == 0 else lax.ppermute(psi, SHARD_AXIS, perm=[(s, s ^ xg) for s in range(2**g)])

        def term(xl, zl, zg, nyb, c, other=other):
            ny = nyb + 2 * (lax.population_count(d & zg) & 1)
            return c * apply_pauli(other, xl, zl, ny)

        if len(rows) <= _FUSED_TERMS:
            acc = sum(term(*r[:4], real.type(r[4])) for r in rows)
            total = total + real_overlap(psi, acc)
        else:
            table = tuple(np.array([r[i] for r in rows], np.int32) for i in range(4))
            coeffs = np.array([r[4] for r in rows], real)

            def body(carry, row):
                return carry + real_overlap(psi, term(*row)), None

            start = lax.pcast(jnp.zeros((), real), (SHARD_AXIS,), to="varying")  # the carry varies by device
            total = total + lax.scan(body, start, (*table, coeffs))[0]
    return total


def _obs_apply_shard(obs_plan: tuple, g: int, psi, d):
    """Device d's shard of ``O psi`` (one ppermute per nonzero global X pattern of the observable)."""
    out = None
    for xg, rows in obs_plan:
        (other,) = _partners((psi,), xg, g)
        for xl, zl, zg, nyb, c in rows:
            ny = nyb + 2 * (lax.population_count(d & zg) & 1)
            term = jnp.real(psi).dtype.type(c) * apply_pauli(other, xl, zl, ny)
            out = term if out is None else out + term
    return jnp.zeros_like(psi) if out is None else out


# --- entry points ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _program(circuit: Circuit, mesh: Mesh, obs_plan: tuple | None, from_zero: bool):
    """The jitted shard_map program: ``f(angles[, psi0])`` -> sharded state, or the expectation."""
    g = global_qubits(mesh)
    plan = shard_plan(circuit, g)

    def body(angles, *psi0):
        d = lax.axis_index(SHARD_AXIS)
        psi = _zero_shard(plan.n_local, complex_dtype_for(angles), d) if from_zero else psi0[0]
        psi = _forward_shard(plan, angles, row_view(psi), d)
        if obs_plan is None:
            return psi.reshape(-1)
        return lax.psum(_obs_value_shard(obs_plan, g, psi, d), SHARD_AXIS)

    in_specs = (P(),) if from_zero else (P(), P(SHARD_AXIS))
    out_specs = P(SHARD_AXIS) if obs_plan is None else P()
    return jax.jit(jax.shard_map(body, mesh=mesh, in_specs=in_specs, out_specs=out_specs))


def _prepare(where: str, circuit, params, mesh, state):
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: expected a Circuit, got {type(circuit).__name__}")
    if not isinstance(mesh, Mesh):
        raise TypeError(f"{where}: expected a jax.sharding.Mesh (see shard_mesh), got {type(mesh).__name__}")
    g = global_qubits(mesh)
    params = circuit.check_params(params)
    cdt = complex_dtype_for(params)
    if state is not None:  # the state's dtype may widen it (read without copying the state anywhere)
        cdt = jnp.result_type(cdt, state.dtype if hasattr(state, "dtype") else np.asarray(state).dtype)
    shard_plan(circuit, g)  # validates g and the local width before any allocation
    check_shard_fits(circuit.n_qubits, g, cdt, device_memory_bytes(mesh.devices.flat[0]), where)
    angles = circuit.angles(params)
    if state is None:
        return (angles,)
    if tuple(np.shape(state)) != (2**circuit.n_qubits,):
        raise ValueError(
            f"{where}: state: expected shape ({2**circuit.n_qubits},) for {circuit.n_qubits} qubits, "
            f"got {tuple(np.shape(state))}"
        )
    return angles, shard_state(state, mesh, cdt)


def sharded_statevector(circuit: Circuit, params, mesh: Mesh, state=None) -> jax.Array:
    """``U(params)|state>`` as a (2**n,) array sharded over ``mesh`` (``NamedSharding(mesh, P(SHARD_AXIS))``).

    Args:
        circuit: the circuit; its top ``g = log2(mesh.size)`` qubits become global.
        params: (n_params,) real angles; float32 gives complex64, float64 complex128.
        mesh: a 1-D mesh from ``shard_mesh`` (2**g devices).
        state: optional (2**n,) input state (a host array or a sharded ``jax.Array``); default |0...0>,
            built shard by shard without a full copy anywhere.

    Returns:
        The sharded final state; ``np.asarray`` of it equals ``core.simulator.statevector``.

    Raises:
        MemoryError: when the shard and its working buffers cannot fit on a device (see ``check_shard_fits``).
    """
    args = _prepare("sharded_statevector", circuit, params, mesh, state)
    return _program(circuit, mesh, None, state is None)(*args)


@functools.lru_cache(maxsize=64)
def _expectation_fn(circuit: Circuit, mesh: Mesh, obs_plan: tuple, from_zero: bool):
    """``f(angles[, psi0])`` -> real expectation, with a custom VJP running the sharded adjoint sweep."""
    g = global_qubits(mesh)
    plan = shard_plan(circuit, g)
    value = _program(circuit, mesh, obs_plan, from_zero)
    state_specs = () if from_zero else (P(SHARD_AXIS),)

    def fwd_body(angles, *psi0):
        d = lax.axis_index(SHARD_AXIS)
        psi = _zero_shard(plan.n_local, complex_dtype_for(angles), d) if from_zero else psi0[0]
        psi = _forward_shard(plan, angles, row_view(psi), d)
        lam = _obs_apply_shard(obs_plan, g, psi, d)
        return lax.psum(real_overlap(psi, lam), SHARD_AXIS), psi, lam

    def bwd_body(angles, psi, lam):
        d = lax.axis_index(SHARD_AXIS)
        grads, lam0 = _adjoint_shard(plan, angles, psi, lam, d)
        return lax.psum(grads, SHARD_AXIS), lam0.reshape(-1)

    specs = dict(mesh=mesh)
    fwd_prog = jax.jit(
        jax.shard_map(fwd_body, in_specs=(P(), *state_specs), out_specs=(P(), P(SHARD_AXIS), P(SHARD_AXIS)), **specs)
    )
    bwd_prog = jax.jit(
        jax.shard_map(bwd_body, in_specs=(P(), P(SHARD_AXIS), P(SHARD_AXIS)), out_specs=(P(), P(SHARD_AXIS)), **specs)
    )

    def fwd(angles, *psi0):
        val, psi, lam = fwd_prog(angles, *psi0)
        return val, (angles, psi, lam)

    def bwd(res, ct):
        angles, psi, lam = res
        grads, lam0 = bwd_prog(angles, psi, lam)
        g_angles = (ct * grads).astype(angles.dtype)
        return (g_angles,) if from_zero else (g_angles, ((2 * ct) * jnp.conj(lam0)).astype(lam0.dtype))

    if from_zero:
        f = jax.custom_vjp(lambda angles: value(angles))
    else:
        f = jax.custom_vjp(lambda angles, psi0: value(angles, psi0))
    f.defvjp(fwd, bwd)
    return f


def sharded_expectation(circuit: Circuit, params, observable, mesh: Mesh, state=None) -> jax.Array:
    """Exact real ``<state|U^dag O U|state>`` on a sharded state: local partial sums, then ``psum``.

    ``observable`` is a label, Pauli, PauliSum or ``[(c, label)]`` as in ``core.simulator.expectation``.
    ``jax.grad`` (with respect to ``params``, and ``state`` when given) runs a sharded adjoint sweep:
    memory a few shards per device whatever the depth, per rotation two un-rotation passes and one
    gradient reduction, and for a rotation with global X bits one ppermute of the (psi, lambda) pair.
    """
    args = _prepare("sharded_expectation", circuit, params, mesh, state)
    obs_plan = _obs_plan(observable, circuit.n_qubits, global_qubits(mesh))
    return _expectation_fn(circuit, mesh, obs_plan, state is None)(*args)
