"""Statevector simulation, expectations and the adjoint gradient vs float64 dense references.

References: numpy kron + scipy expm circuits (``reference.py``), central finite differences, the
parameter-shift rule evaluated on the dense reference, and JAX autodiff of a dense quadratic form.
Also: jit == eager, vmap == loop, no retracing on new parameter values, traced program size and
compiled gradient memory independent of depth, dtype rules, and every error message.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import EPS, TOL
from jax.test_util import check_grads
from reference import (
    dense_circuit,
    dense_expectation,
    dense_observable,
    pauli_matrix,
    random_label,
    random_state,
)

from slpa_jax.core.circuit import CLIFFORD_GATES, Circuit
from slpa_jax.core.kernels import apply_gate
from slpa_jax.core.pauli import PauliSum
from slpa_jax.core.simulator import expectation, expectations, statevector, statevector_from_angles

GATE_NAMES = sorted(CLIFFORD_GATES)

# One compilation per (circuit, observable) keeps the suite fast; jit == eager is tested separately.
# The Circuit is a static pytree; observables passed as static arguments must be hashable (str, PauliSum).
SV = jax.jit(statevector)
EX = jax.jit(expectation, static_argnums=2)
GRAD = jax.jit(jax.grad(expectation, argnums=1), static_argnums=2)

#: finite-difference gradients (central, step ~1e-5): a method tolerance, not a dtype one
FD_TOL = 1e-8


# --- random circuits as plain data, turned into a Circuit and into a dense reference independently -----


def random_spec(rng, n, n_rot, *, gates=True, n_params=None, all_weights=True):
    """Plain list of ("R", label, param) / ("G", name, qubits); weights 1..n all appear when asked."""
    weights = list(range(1, n + 1)) if all_weights else []
    weights += [int(rng.integers(1, n + 1)) for _ in range(max(0, n_rot - len(weights)))]
    rng.shuffle(weights)
    n_params = len(weights) if n_params is None else n_params
    spec = []
    for i, w in enumerate(weights):
        param = i if n_params == len(weights) else int(rng.integers(n_params))
        spec.append(("R", random_label(rng, n, w), param))
        if gates and rng.random() < 0.5:
            name = GATE_NAMES[int(rng.integers(len(GATE_NAMES)))]
            if CLIFFORD_GATES[name][0] <= n:
                qubits = tuple(int(q) for q in rng.choice(n, size=CLIFFORD_GATES[name][0], replace=False))
                spec.append(("G", name, qubits))
    return spec, n_params


def build(spec, n, n_params):
    c = Circuit(n, (), n_params)
    for op in spec:
        c = c.rotation(op[1], op[2]) if op[0] == "R" else c.gate(op[1], *op[2])
    return c


def dense_ops(spec, params):
    return [("R", op[1], float(params[op[2]])) if op[0] == "R" else op for op in spec]


def random_terms(rng, n, m):
    """Real-coefficient Pauli sum, including the identity and a full-weight string."""
    labels = ["I" * n, random_label(rng, n, n)] + [random_label(rng, n) for _ in range(m - 2)]
    return [(float(rng.normal()), lab) for lab in labels]


# --- accuracy vs the dense reference ------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 9))
def test_statevector_and_expectation_vs_dense(n):
    rng = np.random.default_rng(100 + n)
    n_rot = n + 3 if n <= 5 else n + 1
    spec, n_params = random_spec(rng, n, n_rot)
    c = build(spec, n, n_params)
    params = rng.normal(size=n_params)
    state = random_state(rng, n)
    # columns: the random input state and |0...0>; the dense reference acts on both
    psi_ref = dense_circuit(dense_ops(spec, params), n, np.stack([state, np.eye(2**n)[0]], axis=1))
    tol = TOL["complex128"]
    terms = random_terms(rng, n, 4)
    singles = [terms[1][1], "-" + terms[2][1]]

    @jax.jit
    def run(p, s):
        return (
            statevector(c, p, s),
            statevector(c, p),
            expectation(c, p, PauliSum.from_terms(terms), s),
            expectation(c, p, terms, s),
            expectations(c, p, singles + [terms], s),
        )

    psi, psi0, e_sum, e_list, e_many = run(jnp.asarray(params), jnp.asarray(state))
    assert psi.dtype == jnp.complex128 and e_sum.dtype == jnp.float64 and e_sum.shape == ()
    np.testing.assert_allclose(np.asarray(psi), psi_ref[:, 0], rtol=0, atol=tol)
    np.testing.assert_allclose(np.asarray(psi0), psi_ref[:, 1], rtol=0, atol=tol)
    ref = float(np.real(np.vdot(psi_ref[:, 0], dense_observable(terms) @ psi_ref[:, 0])))
    assert abs(float(e_sum) - ref) <= tol and abs(float(e_list) - ref) <= tol
    want = [
        float(np.real(np.vdot(psi_ref[:, 0], sign * pauli_matrix(lab.lstrip("-")) @ psi_ref[:, 0])))
        for sign, lab in zip((1.0, -1.0), singles)
    ] + [ref]
    np.testing.assert_allclose(np.asarray(e_many), want, rtol=0, atol=tol)


def test_float32_accuracy_and_dtypes():
    rng = np.random.default_rng(9)
    spec, n_params = random_spec(rng, 3, 6)
    c = build(spec, 3, n_params)
    params = rng.normal(size=n_params)
    u = dense_circuit(dense_ops(spec, params), 3)
    p32, p64 = jnp.asarray(params, jnp.float32), jnp.asarray(params, jnp.float64)
    psi, e = jax.jit(lambda p: (statevector(c, p), expectation(c, p, "ZXY")))(p32)
    assert psi.dtype == jnp.complex64 and e.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(psi), u[:, 0], rtol=0, atol=TOL["complex64"])
    assert abs(float(e) - dense_expectation(dense_ops(spec, params), 3, [(1.0, "ZXY")], np.eye(8)[0])) < TOL["float32"]
    # dtype rules (traced only, nothing compiled)
    shape = lambda fn, *args: jax.eval_shape(fn, *args)
    grad = jax.grad(lambda p: expectation(c, p, "ZXY"))
    assert shape(grad, p32).dtype == jnp.float32
    assert shape(statevector, c, p64).dtype == jnp.complex128
    assert shape(lambda p: expectation(c, p, "ZXY"), p64).dtype == jnp.float64
    assert shape(grad, p64).dtype == jnp.float64
    # a given state may widen the dtype: complex128 state with float32 parameters gives complex128
    assert shape(statevector, c, p32, jnp.asarray(u[:, 1])).dtype == jnp.complex128
    assert shape(statevector, c, p32, jnp.asarray(u[:, 1], jnp.complex64)).dtype == jnp.complex64


def test_statevector_from_angles_bypasses_parameter_map():
    c = Circuit(3, (), 2).rotation("XYZ", 1, scale=2.0, offset=0.3).gate("CZ", 0, 2).rotation("-IZX", 1)
    c = c.fixed_rotation("YIY", 0.4)
    angles = np.array([0.2, -0.9, 1.3])
    ref = dense_circuit([("R", "XYZ", 0.2), ("G", "CZ", (0, 2)), ("R", "IZX", -0.9), ("R", "YIY", 1.3)], 3)
    state = random_state(np.random.default_rng(17), 3)
    psi = jax.jit(statevector_from_angles)(c, jnp.asarray(angles), jnp.asarray(state))
    assert psi.dtype == jnp.complex128
    np.testing.assert_allclose(np.asarray(psi), ref @ state, rtol=0, atol=TOL["complex128"])
    # with the circuit's own angles it reproduces statevector (signs are folded into scale, not angles)
    p = jnp.array([0.0, 0.35])
    np.testing.assert_allclose(
        np.asarray(statevector_from_angles(c, c.angles(p))), np.asarray(SV(c, p)), rtol=0, atol=TOL["complex128"]
    )
    assert jax.eval_shape(statevector_from_angles, c, jnp.zeros(3, jnp.float32)).dtype == jnp.complex64
    assert jax.eval_shape(statevector_from_angles, c, jnp.zeros(3, jnp.int32)).dtype == jnp.complex128
    with pytest.raises(TypeError, match=r"statevector_from_angles: expected a Circuit, got str"):
        statevector_from_angles("XYZ", angles)
    with pytest.raises(ValueError, match=r"angles: expected shape \(3,\) for a circuit with 3 rotations, got \(2,\)"):
        statevector_from_angles(c, angles[:2])
    with pytest.raises(ValueError, match=r"state: expected shape \(8,\) for 3 qubits, got \(4,\)"):
        statevector_from_angles(c, angles, jnp.zeros(4))
    with pytest.raises(ValueError, match=r"statevector simulation supports n_qubits <= 30, got 31"):
        statevector_from_angles(Circuit(31), jnp.zeros(0))


# --- gradients ---------------------------------------------------------------------------------------


def _param_shift_dense(spec, n, terms, state, params):
    """(f(theta + pi/2 e_j) - f(theta - pi/2 e_j)) / 2 on the dense reference (unshared parameters)."""
    out = np.zeros(len(params))
    for j in range(len(params)):
        e = np.zeros(len(params))
        e[j] = np.pi / 2
        plus = dense_expectation(dense_ops(spec, params + e), n, terms, state)
        minus = dense_expectation(dense_ops(spec, params - e), n, terms, state)
        out[j] = (plus - minus) / 2
    return out


@pytest.mark.parametrize("n", [2, 4])
def test_gradient_vs_parameter_shift_and_finite_differences(n):
    rng = np.random.default_rng(200 + n)
    spec, n_params = random_spec(rng, n, 7)
    c = build(spec, n, n_params)
    params = rng.normal(size=n_params)
    state = random_state(rng, n)
    terms = random_terms(rng, n, 3)
    f = jax.jit(lambda p: expectation(c, p, terms, jnp.asarray(state)))
    grad = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(params)))

    np.testing.assert_allclose(grad, _param_shift_dense(spec, n, terms, state, params), rtol=0, atol=TOL["float64"])

    h = 1e-5
    fd = np.array(
        [
            (float(f(jnp.asarray(params + h * e))) - float(f(jnp.asarray(params - h * e)))) / (2 * h)
            for e in np.eye(n_params)
        ]
    )
    np.testing.assert_allclose(grad, fd, rtol=0, atol=FD_TOL)
    if n == 2:
        check_grads(f, (jnp.asarray(params),), order=1, modes=("rev",), atol=1e-6, rtol=1e-6)


def test_shared_parameters_accumulate():
    rng = np.random.default_rng(11)
    n, n_params = 3, 3
    c = Circuit(n, (), n_params)
    rows = []  # (label, param, scale, offset) in plain data
    for _ in range(7):
        row = (random_label(rng, n), int(rng.integers(n_params)), float(rng.normal()), float(rng.normal()))
        rows.append(row)
        c = c.rotation(row[0], row[1], scale=row[2], offset=row[3]).gate("CNOT", 0, 2)
    assert c.param_usage().sum() == 7 and c.param_usage().max() > 1
    params = rng.normal(size=n_params)
    terms = [(0.7, "XZY"), (-0.4, "ZIZ")]
    state = np.eye(2**n)[0]

    def unrolled_spec():
        spec = []
        for i, r in enumerate(rows):
            spec += [("R", r[0], i), ("G", "CNOT", (0, 2))]
        return spec

    angles = np.array([r[2] * params[r[1]] + r[3] for r in rows])
    g_angles = _param_shift_dense(unrolled_spec(), n, terms, state, angles)
    expected = np.zeros(n_params)
    for r, g in zip(rows, g_angles):
        expected[r[1]] += r[2] * g  # chain rule through scale, summed over the rotations that share it
    grad = GRAD(c, jnp.asarray(params), PauliSum.from_terms(terms))
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=0, atol=TOL["float64"])


def test_unused_parameter_has_zero_gradient():
    c = Circuit.from_generators(["XY", "ZZ"], [0, 2], n_params=4)
    g = GRAD(c, jnp.array([0.3, 0.2, -0.5, 1.0]), "ZI")
    assert float(g[1]) == 0.0 and float(g[3]) == 0.0
    assert abs(float(g[0]) + np.sin(0.3)) < 1e-12  # <ZI> = cos(theta_0): ZZ commutes with ZI


def test_gradient_wrt_input_state_vs_dense_autodiff():
    rng = np.random.default_rng(12)
    n = 3
    spec, n_params = random_spec(rng, n, 6)
    c = build(spec, n, n_params)
    params = rng.normal(size=n_params)
    state = jnp.asarray(random_state(rng, n))
    terms = random_terms(rng, n, 3)
    u = dense_circuit(dense_ops(spec, params), n)
    m = jnp.asarray(u.conj().T @ dense_observable(terms) @ u)
    ref = jax.grad(lambda s: jnp.real(jnp.vdot(s, m @ s)))(state)
    g_state, (g_p, g_s) = jax.jit(
        lambda p, s: (
            jax.grad(expectation, argnums=3)(c, p, terms, s),
            jax.grad(expectation, argnums=(1, 3))(c, p, terms, s),
        )
    )(jnp.asarray(params), state)
    assert g_state.dtype == jnp.complex128
    np.testing.assert_allclose(np.asarray(g_state), np.asarray(ref), rtol=0, atol=TOL["float64"])
    np.testing.assert_allclose(np.asarray(g_s), np.asarray(ref), rtol=0, atol=TOL["float64"])
    ps = _param_shift_dense(spec, n, terms, np.asarray(state), params)
    np.testing.assert_allclose(np.asarray(g_p), ps, rtol=0, atol=TOL["float64"])


def test_statevector_is_differentiable():
    c = Circuit.from_labels(["XY", "YZ", "ZX"])
    params = jnp.array([0.3, -1.2, 0.8])
    f = lambda p: jnp.abs(statevector(c, p)[0]) ** 2
    ref = lambda p: abs(dense_circuit([("R", lab, t) for lab, t in zip(["XY", "YZ", "ZX"], p)], 2)[0, 0]) ** 2
    h = 1e-6
    fd = [(ref(np.asarray(params) + h * e) - ref(np.asarray(params) - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(f))(params)), fd, rtol=0, atol=FD_TOL)


# --- transforms: jit, vmap, retracing, program size, memory --------------------------------------------


@pytest.fixture(scope="module")
def small_problem():
    rng = np.random.default_rng(13)
    c = Circuit.from_labels(["XYZ", "-ZIX"]).gate("CNOT", 2, 0).rotation("YYI", 2).rotation("IZY", 0)
    terms = random_terms(rng, 3, 3)
    params = jnp.asarray(rng.normal(size=(4, c.n_params)))
    states = jnp.asarray(np.stack([random_state(rng, 3) for _ in range(4)]))
    return c, terms, params, states


def test_jit_equals_eager(small_problem):
    c, terms, params, states = small_problem
    f = lambda p, s: expectation(c, p, terms, s)
    g = jax.grad(f)
    np.testing.assert_allclose(
        np.asarray(jax.jit(f)(params[0], states[0])), np.asarray(f(params[0], states[0])), rtol=0, atol=EPS["float64"]
    )
    np.testing.assert_allclose(
        np.asarray(jax.jit(g)(params[0], states[0])), np.asarray(g(params[0], states[0])), rtol=0, atol=EPS["float64"]
    )
    sv = jax.jit(statevector)  # the Circuit is a static pytree: passed as an ordinary argument
    np.testing.assert_allclose(
        np.asarray(sv(c, params[0])), np.asarray(statevector(c, params[0])), rtol=0, atol=EPS["float64"]
    )


def test_vmap_equals_loop(small_problem):
    c, terms, params, states = small_problem

    def one(p, s):
        value, (g_p, g_s) = jax.value_and_grad(lambda p, s: expectation(c, p, terms, s), argnums=(0, 1))(p, s)
        return value, g_p, g_s, statevector(c, p, s)

    one_jit = jax.jit(one)
    loop = [one_jit(p, s) for p, s in zip(params, states)]
    for in_axes, xs in (((0, 0), (params, states)), ((None, 0), (params[0], states))):
        batched = jax.jit(jax.vmap(one, in_axes=in_axes))(*xs)
        if in_axes[0] is None:
            loop = [one_jit(params[0], s) for s in states]
        for k in range(4):
            np.testing.assert_allclose(
                np.asarray(batched[k]), np.stack([np.asarray(r[k]) for r in loop]), rtol=0, atol=EPS["float64"]
            )


def test_new_parameter_values_do_not_retrace(small_problem):
    c, terms, params, states = small_problem
    traces = {"f": 0, "g": 0, "circuit_arg": 0}

    @jax.jit
    def f(p):
        traces["f"] += 1
        return expectation(c, p, terms)

    @jax.jit
    def g(p, s):
        traces["g"] += 1
        return jax.grad(expectation, argnums=1)(c, p, terms, s)

    @jax.jit
    def h(circuit, p):
        traces["circuit_arg"] += 1
        return expectation(circuit, p, "ZZZ")

    for i in range(3):
        f(params[i])
        g(params[i], states[i])
        h(c, params[i])
    assert traces == {"f": 1, "g": 1, "circuit_arg": 1}
    rebuilt = Circuit(c.n_qubits, tuple(c.ops), c.n_params)  # equal structure: cache hit
    h(rebuilt, params[3])
    assert traces["circuit_arg"] == 1
    h(c.gate("H", 0), params[3])  # new structure: retrace
    assert traces["circuit_arg"] == 2


def _count_eqns(jaxpr) -> int:
    """Equations of a jaxpr including those of nested sub-jaxprs (scan bodies, custom VJPs, ...)."""
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for value in eqn.params.values():
            for v in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(v, "jaxpr", v)
                if hasattr(inner, "eqns"):
                    total += _count_eqns(inner)
    return total


def _random_rotations(rng, n, depth):
    return Circuit.from_labels([random_label(rng, n) for _ in range(depth)])


def test_traced_program_size_independent_of_depth():
    rng = np.random.default_rng(14)
    sizes = {}
    for depth in (10, 200):
        c = _random_rotations(rng, 4, depth)
        p = jnp.zeros(depth)
        f = lambda p, c=c: expectation(c, p, [(0.5, "XXII"), (1.0, "IZZI")])
        sv = jax.make_jaxpr(lambda p, c=c: statevector(c, p))(p).jaxpr
        ex = jax.make_jaxpr(f)(p).jaxpr
        gr = jax.make_jaxpr(jax.grad(f))(p).jaxpr
        sizes[depth] = (_count_eqns(sv), _count_eqns(ex), _count_eqns(gr), len(gr.eqns))
    assert sizes[10] == sizes[200], sizes


def test_compiled_gradient_memory_independent_of_depth():
    """Adjoint sweep: temporary memory of jit(grad) at n=10 must not grow like one state per rotation."""
    rng = np.random.default_rng(15)
    n = 10
    temp = {}
    for depth in (20, 400):
        c = _random_rotations(rng, n, depth)
        f = lambda p, c=c: expectation(c, p, [(1.0, "ZZ" + "I" * (n - 2)), (0.5, "X" * n)])
        analysis = jax.jit(jax.grad(f)).lower(jnp.zeros(depth)).compile().memory_analysis()
        assert analysis is not None, "memory_analysis() returned None on this backend; cannot check memory"
        temp[depth] = analysis.temp_size_in_bytes
    state_bytes = 16 * 2**n  # one complex128 statevector
    # storing the states would add 380 statevectors (6 MB); allow only O(depth) scalars (angles, grads)
    assert temp[400] - temp[20] < 2 * state_bytes, temp


# --- errors ------------------------------------------------------------------------------------------


def test_simulator_errors():
    c = Circuit.from_labels(["XY", "ZZ"])
    p = jnp.zeros(2)
    with pytest.raises(TypeError, match=r"statevector: expected a Circuit, got str"):
        statevector("XY", p)
    with pytest.raises(TypeError, match=r"expectation: expected a Circuit, got list"):
        expectation(["XY"], p, "ZZ")
    with pytest.raises(ValueError, match=r"state: expected shape \(4,\) for 2 qubits, got \(8,\)"):
        statevector(c, p, jnp.zeros(8))
    with pytest.raises(ValueError, match=r"state: expected shape \(4,\) for 2 qubits, got \(1, 4\)"):
        expectation(c, p, "ZZ", jnp.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"params: expected shape \(2,\) for a circuit with 2 parameters"):
        statevector(c, jnp.zeros(3))
    with pytest.raises(ValueError, match=r"params: expected shape \(2,\) for a circuit with 2 parameters"):
        expectation(c, jnp.zeros((2, 1)), "ZZ")
    with pytest.raises(ValueError, match=r"observable: expected 2 qubits, got 3"):
        expectation(c, p, PauliSum.from_terms([(1.0, "ZZZ")]))
    with pytest.raises(ValueError, match=r"observable: must be Hermitian"):
        expectation(c, p, [(1j, "ZZ")])
    with pytest.raises(ValueError, match=r"statevector simulation supports n_qubits <= 30, got 31"):
        statevector(Circuit(31), jnp.zeros(0))
    with pytest.raises(ValueError, match=r"statevector simulation supports n_qubits <= 30, got 31"):
        expectation(Circuit(31), jnp.zeros(0), "Z0")
    with pytest.raises(ValueError, match=r"apply_gate: unknown gate 'T'"):
        apply_gate(jnp.zeros(2, jnp.complex64), "T", (0,), 1)


def test_identity_only_and_empty_circuits():
    state = random_state(np.random.default_rng(16), 2)
    np.testing.assert_allclose(np.asarray(statevector(Circuit(2), jnp.zeros(0), jnp.asarray(state))), state, atol=0)
    obs = [(0.25, "II"), (1.0, "XY")]
    want = float(np.real(np.vdot(state, dense_observable(obs) @ state)))
    assert abs(float(expectation(Circuit(2), jnp.zeros(0), obs, jnp.asarray(state))) - want) < 1e-12
    for label in itertools.islice(("XZ", "YY"), 2):
        m = pauli_matrix(label)
        assert (
            abs(
                float(expectation(Circuit(2), jnp.zeros(0), label, jnp.asarray(state)))
                - float(np.real(np.vdot(state, m @ state)))
            )
            < 1e-12
        )


def test_eager_calls_reuse_compiled_scans(caplog):
    """Un-jitted calls with new parameter values compile nothing new (scan bodies are module level)."""
    import logging

    circuit = Circuit.from_labels(["XXII", "IIYY", "IZZI", "XIIX", "YYII"])
    value = lambda p: expectation(circuit, p, [(1.0, "XXII"), (0.5, "ZZII")])
    grad = jax.grad(value)
    value(jnp.full(5, 0.1)), grad(jnp.full(5, 0.1))  # warm up
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING):
            value(jnp.full(5, 0.7)).block_until_ready()
            grad(jnp.full(5, 0.9)).block_until_ready()
    finally:
        jax.config.update("jax_log_compiles", False)
    compiled = [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]
    assert compiled == []


def test_row_view_paths_vs_dense():
    """n = 8 runs on a (16, 16) row view: X parts only on the high qubits 0-3 (whole-row gathers), only on
    the low qubits 4-7 (elementwise fallback), on both, or absent; states, values and gradients vs dense."""
    from reference import rotation_matrix

    from slpa_jax.core.kernels import row_view

    n = 8
    assert row_view(jnp.zeros(2**n)).shape == (16, 16)
    labels = ["XYIZIIII", "IZIIXIIY", "YIIIIZIX", "ZIZIIZIZ", "IIXXIIII", "IIIIYXII", "ZIIYIIYZ", "IIIIIIIX"]
    rng = np.random.default_rng(7)
    params = rng.normal(size=len(labels))
    state = random_state(rng, n)
    terms = [(0.7, "XIIIIIIY"), (-1.3, "ZZIIIIII"), (0.4, "IIIIIYIX")]
    c = Circuit.from_labels(labels)
    obs = PauliSum.from_terms(terms)
    o = dense_observable(terms)

    def value(p):
        psi = state.astype(complex)
        for lab, t in zip(labels, p):
            psi = rotation_matrix(lab, t) @ psi
        return psi, float(np.real(np.vdot(psi, o @ psi)))

    psi_ref, f_ref = value(params)
    # parameter shift is exact for rotations about Pauli strings
    grad_ref = [(value(params + np.pi / 2 * e)[1] - value(params - np.pi / 2 * e)[1]) / 2 for e in np.eye(len(labels))]
    tol = TOL["complex128"]
    p, s = jnp.asarray(params), jnp.asarray(state)
    np.testing.assert_allclose(np.asarray(SV(c, p, s)), psi_ref, rtol=0, atol=tol)
    assert abs(float(EX(c, p, obs, s)) - f_ref) <= tol
    np.testing.assert_allclose(np.asarray(GRAD(c, p, obs, s)), grad_ref, rtol=0, atol=tol)


@pytest.mark.parametrize("m", [1, 8, 9, 20])
def test_observable_sizes_vs_dense(m):
    """Small observables are evaluated in one fused pass, larger ones term by term: both vs dense."""
    n = 5
    rng = np.random.default_rng(300 + m)
    spec, n_params = random_spec(rng, n, 7, gates=False)
    c = build(spec, n, n_params)
    params = rng.normal(size=n_params)
    state = random_state(rng, n)
    terms = [(float(rng.normal()), random_label(rng, n)) for _ in range(m)]
    ref = dense_expectation(dense_ops(spec, params), n, terms, state)
    obs = PauliSum.from_terms(terms)
    assert abs(float(EX(c, jnp.asarray(params), obs, jnp.asarray(state))) - ref) <= TOL["complex128"]
    value = jax.jit(lambda p: expectations(c, p, [obs], jnp.asarray(state))[0])
    assert abs(float(value(jnp.asarray(params))) - ref) <= TOL["complex128"]


@pytest.mark.parametrize("k", range(1, 8))
def test_every_segment_length_vs_dense(k):
    """Segments of 1..7 rotations (peeled first pair, pair scan, odd last gate) vs dense, value and gradient."""
    n = 3
    rng = np.random.default_rng(400 + k)
    spec, n_params = random_spec(rng, n, k, gates=False, all_weights=False)
    c = build(spec, n, n_params)
    params = rng.normal(size=n_params)
    state = random_state(rng, n)
    terms = random_terms(rng, n, 3)
    psi_ref = dense_circuit(dense_ops(spec, params), n, state[:, None])[:, 0]
    tol = TOL["complex128"]
    p, s = jnp.asarray(params), jnp.asarray(state)
    np.testing.assert_allclose(np.asarray(SV(c, p, s)), psi_ref, rtol=0, atol=tol)
    value = lambda q: dense_expectation(dense_ops(spec, q), n, terms, state)
    grad_ref = [(value(params + np.pi / 2 * e) - value(params - np.pi / 2 * e)) / 2 for e in np.eye(n_params)]
    obs = PauliSum.from_terms(terms)
    np.testing.assert_allclose(np.asarray(GRAD(c, p, obs, s)), grad_ref, rtol=0, atol=tol)


# --- batched sweeps: group_states and rotation_batch ------------------------------------------------

from reference import rotation_matrix  # noqa: E402

from slpa_jax.core.pauli import Pauli  # noqa: E402
from slpa_jax.core.simulator import group_states, rotation_batch  # noqa: E402


def _masks(labels):
    return np.array([Pauli(lab).index_masks() if set(lab) != {"I"} else (0, 0, 0) for lab in labels], np.int32)


def test_group_states_and_rotation_batch_match_dense():
    rng = np.random.default_rng(11)
    n, groups, width = 4, 5, 3
    labels = [[random_label(rng, n) for _ in range(width)] for _ in range(groups)]
    labels[2][2] = "IIII"  # identity padding: zero masks, zero angle
    angles = rng.uniform(0, 2 * np.pi, (groups, width))
    angles[2, 2] = 0.0
    psi = random_state(rng, n)
    out = np.asarray(group_states(jnp.asarray(psi), np.stack([_masks(g) for g in labels]), jnp.asarray(angles)))
    ref = psi
    for g in range(groups):
        for lab, t in zip(labels[g], angles[g]):
            ref = rotation_matrix(lab, t) @ ref
        np.testing.assert_allclose(out[g], ref, atol=TOL["complex128"])
    # C circuits from C different states, each with its own rows
    c, rows = 3, 4
    states = np.stack([random_state(rng, n) for _ in range(c)])
    table = [[random_label(rng, n) for _ in range(rows)] for _ in range(c)]
    th = rng.uniform(0, 2 * np.pi, (c, rows))
    res = np.asarray(rotation_batch(jnp.asarray(states), np.stack([_masks(t) for t in table]), jnp.asarray(th)))
    for i in range(c):
        ref = states[i]
        for lab, t in zip(table[i], th[i]):
            ref = rotation_matrix(lab, t) @ ref
        np.testing.assert_allclose(res[i], ref, atol=TOL["complex128"])
    np.testing.assert_array_equal(rotation_batch(jnp.asarray(states), np.zeros((c, 0, 3), np.int32), th[:, :0]), states)
