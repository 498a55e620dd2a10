"""Sharded-statevector checks against independent references on 8 CPU devices, for ``test_sharded.py``.

``devices_worker.py`` (the suite's one 8-device subprocess) calls ``run()``; ``python tests/sharded_worker.py``
runs these checks alone. Either sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before JAX
starts and enables x64; ``run()`` returns the records ``[{"name", "dtype", "kind", "err"}, ...]``.

``kind`` is ``"sim"`` (results of a whole simulation: compared with ``TOL``) or ``"count"`` (exact
integers: ``err`` must be 0). References: ``core.simulator`` on one device (independent of the sharded
code), dense numpy/scipy matrices from ``reference.py`` for tiny n, and the 8-device result for the
device-count checks. Assertions live in ``test_sharded.py``; this script only measures.
"""

from __future__ import annotations

import json
import os
import sys
import time

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import numpy as np  # noqa: E402
from reference import dense_circuit, dense_observable, random_label, random_state  # noqa: E402

from slpa_jax.core import simulator as sim  # noqa: E402
from slpa_jax.core.circuit import Circuit  # noqa: E402
from slpa_jax.core.sharded import (  # noqa: E402
    global_qubits,
    shard_mesh,
    shard_plan,
    sharded_expectation,
    sharded_statevector,
)

CHECKS: list[dict] = []
T0 = time.perf_counter()


def record(name: str, dtype, kind: str, err: float) -> None:
    print(f"{time.perf_counter() - T0:7.1f} s  {name}", file=sys.stderr, flush=True)
    CHECKS.append({"name": name, "dtype": np.dtype(dtype).name, "kind": kind, "err": float(err)})


def mesh_of(g: int):
    return shard_mesh(jax.devices()[: 2**g])


def random_ops(rng, n: int, g: int, depth: int) -> list:
    """Rotations (``("R", label, param)``) and Clifford gates (``("G", name, qubits)``) in a random order.

    Every global qubit gets rotations with X, Y and Z on it (each with a random local partner letter,
    and one with a global-only generator); Clifford gates act on global qubits, across the boundary
    (CNOT both ways, SWAP, CZ) and on local qubits."""
    rots = []
    for q in range(g):
        for letter in "XYZ":
            lab = ["I"] * n
            lab[q] = letter
            lab[int(rng.integers(g, n))] = "XYZ"[rng.integers(3)]
            rots.append("".join(lab))
    rots.append("".join("Z" if q < g else "I" for q in range(n)))  # only global Z: a pure per-device sign
    rots.append("".join("Y" if q < g else "I" for q in range(n)))  # only global bits, X part global
    rots += [random_label(rng, n, int(rng.integers(1, 5))) for _ in range(depth - len(rots))]
    loc = [int(q) for q in rng.choice(np.arange(g, n), size=3, replace=False)]
    other_global = g - 1 if g > 1 else loc[2]
    gates = [
        ("H", (0,)),
        ("S", (g - 1,)),
        ("SDG", (0,)),
        ("X", (g - 1,)),
        ("Y", (0,)),
        ("Z", (g - 1,)),
        ("CNOT", (0, loc[0])),
        ("CNOT", (loc[1], g - 1)),
        ("CZ", (0, other_global)),
        ("SWAP", (loc[2], 0)),
        ("H", (loc[0],)),
        ("CNOT", (loc[0], loc[1])),
    ]
    ops = [("R", lab, i) for i, lab in enumerate(rots)] + [("G", name, qs) for name, qs in gates]
    order = rng.permutation(len(ops))
    ops = [ops[i] for i in order]
    ops.append(("R", rots[0], 0))  # a shared parameter
    return ops


def build(ops, n: int) -> Circuit:
    c = Circuit(n)
    for op in ops:
        c = c.rotation(op[1], op[2]) if op[0] == "R" else c.gate(op[1], *op[2])
    return c.fixed_rotation("X" + "Y" * (n - 1), 0.37)


def observable(rng, n: int, g: int, many: bool) -> list:
    terms = [(0.7, "X" + "I" * (n - 1)), (-0.4, "I" * (n - 1) + "Z"), (0.3, "Y" * n), (0.5, "Z" * g + "X" * (n - g))]
    if many:  # more than 8 terms in one global-X group: the scanned path
        terms += [(float(rng.normal()), "I" * g + random_label(rng, n - g, 2)) for _ in range(10)]
    return terms


def compare_with_simulator(n: int, gs, seed: int, *, many_terms=False, with_state=False, dtype=np.float64):
    """One random circuit on ``2**g`` devices for each g in ``gs`` (its global qubits: ``max(gs)``) against
    ``core.simulator`` on one device, and, for several g, against the largest mesh (device-count check)."""
    rng = np.random.default_rng(seed)
    circuit = build(random_ops(rng, n, max(gs), 16), n)
    params = rng.uniform(0, 2 * np.pi, circuit.n_params).astype(dtype)
    obs = observable(rng, n, max(gs), many_terms)
    cdt = sim.complex_dtype_for(params)
    state = random_state(rng, n).astype(cdt) if with_state else None
    tag = f"n={n}" + (" state" if with_state else "") + (" many-terms" if many_terms else "") + f" {cdt.__name__}"

    exact = dtype == np.float64

    def program(statevector, expectation, mesh=()):
        """One compiled program per mesh: the state, and in float64 the value, gradient and state cotangent."""

        def run(p, v):
            psi = statevector(circuit, p, *mesh, v)
            if not exact:
                return (psi,)
            val, grad = jax.value_and_grad(lambda q: expectation(circuit, q, obs, *mesh, v))(p)
            if not with_state:
                return psi, val, grad
            return psi, val, grad, jax.grad(lambda w: expectation(circuit, p, obs, *mesh, w))(v)

        # XLA's default fusion emitters: the suite's classic emitter (conftest.py) takes ~12x longer on the
        # one-device reference with gates between rotations (26 s vs 2 s to compile at n = 16)
        return jax.jit(run, compiler_options={"xla_cpu_use_fusion_emitters": True})(params, state)

    ref = [np.asarray(x) for x in program(sim.statevector, sim.expectation)]
    out = {}
    for g in gs:
        got = program(sharded_statevector, sharded_expectation, (mesh_of(g),))
        record(f"sharding {tag} g={g}", cdt, "count", int(len(got[0].sharding.device_set) != 2**g))
        out[g] = [np.asarray(x) for x in got]
        for what, a, b in zip(("statevector", "expectation", "gradient", "state gradient"), out[g], ref):
            record(f"{what} {tag} g={g}", cdt, "sim", np.abs(a - b).max())
    for g in gs[:-1]:
        for what, a, b in zip(("statevector", "expectation", "gradient"), out[g], out[gs[-1]]):
            record(f"devices {2**g} vs {2 ** gs[-1]}: {what} {tag}", cdt, "sim", np.abs(a - b).max())


def dense_reference(n: int, g: int, seed: int):
    """Tiny n against kron/expm matrices (independent of both simulators)."""
    rng = np.random.default_rng(seed)
    ops = random_ops(rng, n, g, 3 * g + 6)
    circuit = build(ops, n)
    params = rng.uniform(0, 2 * np.pi, circuit.n_params)
    dense_ops = [("R", op[1], params[op[2]]) if op[0] == "R" else op for op in ops]
    dense_ops.append(("R", "X" + "Y" * (n - 1), 0.37))
    state = random_state(rng, n)
    want = dense_circuit(dense_ops, n) @ state
    got = np.asarray(sharded_statevector(circuit, params, mesh_of(g), state))
    record(f"dense statevector n={n} g={g}", np.complex128, "sim", np.abs(got - want).max())
    obs = observable(rng, n, g, False)
    val = float(sharded_expectation(circuit, params, obs, mesh_of(g), state))
    record(
        f"dense expectation n={n} g={g}",
        np.complex128,
        "sim",
        abs(val - np.vdot(want, dense_observable(obs) @ want).real),
    )


def lowered_ppermutes(n: int, g: int, seed: int):
    """ppermutes in the lowered program = the plan's count; none for a circuit without global X."""
    rng = np.random.default_rng(seed)
    mesh = mesh_of(g)
    for name, circuit in (
        ("random", build(random_ops(rng, n, g, 30), n)),
        (
            "local-only",
            Circuit.from_labels(["Z" * g + random_label(rng, n - g, 2) for _ in range(12)]).gate("CZ", 0, 1),
        ),
    ):
        plan = shard_plan(circuit, global_qubits(mesh))
        params = np.zeros(circuit.n_params)
        text = jax.jit(lambda p, c=circuit: sharded_statevector(c, p, mesh)).lower(params).as_text()
        record(
            f"ppermute sites {name} n={n} g={g}",
            np.complex128,
            "count",
            abs(text.count("collective_permute") - plan.ppermute_sites),
        )
        if name == "local-only":
            record(f"no communication {name}", np.complex128, "count", plan.ppermute_sites + plan.ppermutes)
        else:
            xg = np.concatenate([s.xg for s in plan.steps if hasattr(s, "xg")])
            record(
                "executed ppermutes = global-X rotations",
                np.complex128,
                "count",
                abs(plan.ppermutes - int(np.count_nonzero(xg))),
            )


def run() -> list[dict]:
    """Every check on this process's 8 devices; returns the records."""
    assert len(jax.devices()) == 8, jax.devices()
    compare_with_simulator(10, (1, 2, 3), 1, many_terms=True)  # also: the device count changes nothing
    compare_with_simulator(16, (3,), 3, with_state=True)
    compare_with_simulator(12, (2,), 4, dtype=np.float32)
    dense_reference(6, 3, 9)
    lowered_ppermutes(10, 3, 10)
    return CHECKS


def main() -> None:
    print(json.dumps({"devices": len(jax.devices()), "checks": run()}))


if __name__ == "__main__":
    main()
