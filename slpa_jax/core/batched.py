"""Batched expectations and gradients: many parameter vectors or input states, split over devices.

``batch_expectation`` and ``batch_value_and_grad`` are the public batched calls (issue 15 item 1):
what ``jax.vmap`` of ``simulator.expectation`` (and of its ``jax.value_and_grad``) computes, with the
batch axis split over the chosen devices (``core.devices``: ``"all"``, a count N, device ids or
devices). Either ``params`` (B, n_params) or ``states`` (B, 2**n) or both carry the batch; an
unbatched one, (n_params,) or (2**n,), is shared by every member. The batch is padded to a multiple
of the device count (the last member repeated, its results dropped) and run by one compiled
``shard_map`` program per (circuit, observable, devices, shapes); each device vmaps its share. Every
member is computed exactly as on one device, so results equal ``jax.vmap`` of the single-device calls
to rounding whatever the device count. The results are replicated (every process of a
``jax.distributed`` job can read them; every process must make the same call).

Example (``R_X(theta)|0>`` measured in Z: ``f = cos theta``):
    >>> import numpy as np
    >>> c = Circuit.from_labels(["X"])
    >>> thetas = np.array([[0.0], [0.5], [np.pi]], np.float32)
    >>> [round(float(v), 4) for v in batch_expectation(c, thetas, "Z")]
    [1.0, 0.8776, -1.0]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from .circuit import Circuit
from .devices import SEED_AXIS, batch_mesh, global_array, pad_rows, replicated, resolve_devices
from .pauli import as_pauli_sum
from .simulator import complex_dtype_for, expectation
from .types import Observable

__all__ = ["batch_expectation", "batch_value_and_grad"]


def _batch(circuit: Circuit, params, states, where: str):
    """``(params, states, B, params batched, states batched)`` checked; host arrays."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"{where}: circuit must be a Circuit, got {type(circuit).__name__}")
    params = np.asarray(params)
    if params.dtype.kind not in "fiu":
        raise TypeError(f"{where}: params must be real, got dtype {params.dtype}")
    n_p, dim = circuit.n_params, 2**circuit.n_qubits
    if params.ndim not in (1, 2) or params.shape[-1] != n_p:
        raise ValueError(f"{where}: params: expected shape (B, {n_p}) or ({n_p},), got {params.shape}")
    p_batched = params.ndim == 2
    s_batched = False
    if states is not None:
        states = np.asarray(states)
        if states.ndim not in (1, 2) or states.shape[-1] != dim:
            raise ValueError(f"{where}: states: expected shape (B, {dim}) or ({dim},), got {states.shape}")
        s_batched = states.ndim == 2
    sizes = {x.shape[0] for x, b in ((params, p_batched), (states, s_batched)) if b}
    if not sizes:
        raise ValueError(f"{where}: expected a batch: params of shape (B, {n_p}) or states of shape (B, {dim})")
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError(
            f"{where}: params and states must share a batch size >= 1, got {params.shape[0]} and {states.shape[0]}"
        )
    if not np.issubdtype(params.dtype, np.floating):
        params = params.astype(jnp.result_type(float))
    if states is not None:
        states = states.astype(complex_dtype_for(params))
    return params, states, sizes.pop(), p_batched, s_batched


def _obs_key(obs) -> tuple:
    t = obs.paulis
    return (t.n, t.x.tobytes(), t.z.tobytes(), t.phase.tobytes(), np.asarray(obs.coeffs).tobytes())


_PROGRAMS: dict = {}


def _program(circuit: Circuit, obs, mesh, grad: bool, p_batched: bool, s_batched: bool, has_state: bool):
    """The compiled program of one (circuit, observable, mesh, layout), built once (jit caches shapes)."""
    key = (circuit, _obs_key(obs), mesh, grad, p_batched, s_batched, has_state)
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= 32:
            _PROGRAMS.clear()
        _PROGRAMS[key] = _build(circuit, obs, mesh, grad, p_batched, s_batched, has_state)
    return _PROGRAMS[key]


def _build(circuit: Circuit, obs, mesh, grad: bool, p_batched: bool, s_batched: bool, has_state: bool):
    def one(p, s):
        f = lambda q: expectation(circuit, q, obs, s if has_state else None)
        return jax.value_and_grad(f)(p) if grad else f(p)

    local = jax.vmap(one, in_axes=(0 if p_batched else None, 0 if s_batched else None))
    spec = lambda b: P(SEED_AXIS) if b else P()
    out = P(SEED_AXIS), P(SEED_AXIS)
    sharded = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(spec(p_batched), spec(s_batched)),
        out_specs=out if grad else out[0],
        check_vma=False,  # the simulator's custom VJP does not carry shard_map's varying-axis types
    )
    return jax.jit(sharded, out_shardings=replicated(mesh))


def _run(circuit, params, observable, states, devices, grad: bool, where: str):
    params, states, b, p_batched, s_batched = _batch(circuit, params, states, where)
    obs = as_pauli_sum(observable, circuit.n_qubits)
    mesh = batch_mesh(resolve_devices(devices, where=f"{where}: devices"), b)
    k = mesh.shape[SEED_AXIS]
    b_pad = -(-b // k) * k
    p = pad_rows(params, b_pad) if p_batched else params
    s = None if states is None else (pad_rows(states, b_pad) if s_batched else states)
    program = _program(circuit, obs, mesh, grad, p_batched, s_batched, states is not None)
    s = np.zeros(1, p.dtype) if s is None else s  # a placeholder when every member starts in |0...0>
    spec = lambda batched: P(SEED_AXIS) if batched else None
    out = program(global_array(p, mesh, spec(p_batched)), global_array(s, mesh, spec(s_batched)))
    return jax.tree_util.tree_map(lambda x: x[:b], out)


def batch_expectation(circuit: Circuit, params, observable: Observable, states=None, *, devices="all") -> jax.Array:
    """(B,) exact expectations ``<psi_i| U(theta_i)^dag O U(theta_i) |psi_i>``, the batch split over devices.

    Args:
        circuit: the circuit U.
        params: (B, n_params) parameter vectors, or (n_params,) shared by every member.
        observable: O (label, Pauli, PauliSum or list of (coefficient, label)).
        states: None (|0...0> for every member), (B, 2**n) input states, or one (2**n,) state shared.
        devices: ``core.devices.resolve_devices`` (default every device).

    Equal to ``jax.vmap(simulator.expectation)`` on one device, to rounding, for any device count.
    """
    return _run(circuit, params, observable, states, devices, False, "batch_expectation")


def batch_value_and_grad(
    circuit: Circuit, params, observable: Observable, states=None, *, devices="all"
) -> tuple[jax.Array, jax.Array]:
    """((B,) values, (B, n_params) gradients) of ``batch_expectation`` (adjoint sweep per member),
    the batch split over devices; arguments as ``batch_expectation``."""
    return _run(circuit, params, observable, states, devices, True, "batch_value_and_grad")
