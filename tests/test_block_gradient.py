"""Block-gradient estimators: exact identity vs adjoint and dense references, shot statistics, ledger."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL
from reference import gate_matrix, pauli_matrix, random_state, rotation_matrix

from slpa_jax.blocks.ansatze import fig10_slpa, paper_sc, paper_slpa
from slpa_jax.blocks.gradient import (
    SCHEMES,
    BlockMeasurement,
    _parity_basis,
    block_gradient,
    block_gradient_estimator,
    block_measurements,
)
from slpa_jax.blocks.slpa import BlockCircuit, build_slpa, detect_blocks
from slpa_jax.blocks.stabilizer import StabilizerGroup
from slpa_jax.core.circuit import Circuit, Gate, Rotation
from slpa_jax.core.pauli import Pauli, PauliTable
from slpa_jax.core.simulator import expectation
from slpa_jax.measure.diagonalize import diagonalize_commuting

#: finite-difference gradients (central, step ~1e-5): a method tolerance, not a dtype one
FD_TOL = 1e-8


def signed_matrix(p) -> np.ndarray:
    return (1j**p.phase) * pauli_matrix(p.letters)


def dense_state(circuit: Circuit, params, psi) -> np.ndarray:
    """Dense float64 simulation with scipy expm rotations and brute-force gate matrices."""
    psi = np.asarray(psi, dtype=complex)
    for op in circuit.ops:
        if isinstance(op, Rotation):
            angle = op.offset + (0.0 if op.param is None else op.scale * float(params[op.param]))
            psi = rotation_matrix(op.pauli.letters, angle) @ psi
        else:
            psi = gate_matrix(op.name, op.qubits, circuit.n_qubits) @ psi
    return psi


def measurement_input(m: BlockMeasurement, n: int, psi):
    return psi if m.circuit.n_qubits == n else np.kron(psi, [1.0, 0.0])


def mixed_circuit() -> BlockCircuit:
    """Shared, scaled, signed and fixed rotations, and an observable coefficient."""
    c = (
        Circuit(4)
        .rotation("XXII", 0)
        .rotation("-ZZII", 1, scale=0.7)
        .fixed_rotation("IYYI", 0.3)
        .rotation("XIIX", 0, scale=-1.3, offset=0.2)
        .rotation("YYII", 2)
        .rotation("IIXX", 1)
        .rotation("ZIIZ", 3)
        .rotation("XXXX", 2, scale=2.0)
    )
    return detect_blocks(c, [(0.5, "XXII")])


def shuffled_slpa() -> BlockCircuit:
    labels = paper_slpa(6).circuit.generators.labels()
    perm = np.random.default_rng(7).permutation(len(labels))
    return detect_blocks(Circuit.from_labels([labels[i] for i in perm]), "XXII")


def slpa_n5() -> BlockCircuit:
    group = StabilizerGroup.from_generators(["ZZIII", "IZZII", "IIZZI", "IIIZZ"])
    xs, _ = group.logical_operators()
    y_like = (xs[0] * Pauli("ZIIII")).letters
    return build_slpa(group, [xs[0].letters, "ZIIII", y_like, "IIIIZ", xs[0].letters], "XXXXX")


CASES = {
    "paper_slpa": lambda: paper_slpa(24),
    "fig10_slpa_6": lambda: fig10_slpa(6, 3),
    "slpa_n5": slpa_n5,
    "sc": lambda: paper_sc(36),
    "shuffled": shuffled_slpa,
    "mixed": mixed_circuit,
}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_equals_adjoint(name, scheme):
    bc = CASES[name]()
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    adjoint = jax.jit(jax.value_and_grad(lambda p, s: expectation(bc.circuit, p, bc.observable, s)))
    grad_fn = jax.jit(lambda p, s: block_gradient(bc, p, scheme=scheme, state=s))
    est = jax.jit(block_gradient_estimator(bc, None, scheme))
    for _ in range(2):
        params = jnp.asarray(rng.uniform(0, 2 * np.pi, bc.n_params))
        psi = jnp.asarray(random_state(rng, bc.n_qubits))
        f_ref, ref = adjoint(params, psi)
        grad, ledger = grad_fn(params, psi)
        np.testing.assert_allclose(grad, ref, atol=TOL["float64"])
        assert int(ledger.shots) == 0 and int(ledger.executions) == 0
        f, g2, led2 = est(params, psi, jax.random.key(0))
        np.testing.assert_allclose(f, f_ref, atol=TOL["float64"])
        np.testing.assert_allclose(g2, ref, atol=TOL["float64"])
        assert int(led2.shots) == 0


@pytest.mark.parametrize("scheme", SCHEMES)
def test_measurements_against_dense_finite_differences(scheme):
    bc = paper_slpa(3)
    rng = np.random.default_rng(11)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    psi = random_state(rng, 4)
    grad = np.zeros(bc.n_params)
    for m in block_measurements(bc, scheme):
        out = dense_state(m.circuit, params, measurement_input(m, 4, psi))
        vals = [np.real(out.conj() @ signed_matrix(p) @ out) for p in m.observables]
        for p, k, f in m.readout:
            grad[p] += f * vals[k]

    def f(th):
        out = dense_state(bc.circuit, th, psi)
        return np.real(out.conj() @ pauli_matrix("XXII") @ out)

    h = 1e-5
    fd = np.array([(f(params + h * e) - f(params - h * e)) / (2 * h) for e in np.eye(bc.n_params)])
    np.testing.assert_allclose(grad, fd, atol=FD_TOL)


def test_measurement_structure_paper():
    bc = paper_slpa(24)
    anc = block_measurements(bc, "ancilla")
    assert len(anc) == 24
    seen = []
    for b, m in enumerate(anc):
        assert m.block == b and m.circuit.n_qubits == 5 and m.circuit.n_params == 96
        gates = [op for op in m.circuit.ops if isinstance(op, Gate)]
        assert all(g.qubits == (4,) and g.name in ("H", "S") for g in gates) and gates[0].name == "H"
        assert m.circuit.num_rotations == 96
        assert len(m.observables) == 4 and all(p.letters.endswith("X") for p in m.observables)
        seen += [p for p, _, _ in m.readout]
    assert sorted(seen) == list(range(96))
    free = block_measurements(bc, "ancilla_free")
    assert len(free) == 2 * 22 + 2  # the last two logicals (IYYI, ZIIZ) commute: both measured directly
    for m in free[:-2]:
        fixed = [op for op in m.circuit.rotations if op.param is None]
        assert len(fixed) == 1 and abs(abs(fixed[0].offset) - np.pi / 2) < 1e-15
        assert fixed[0].pauli.letters == bc.block_generators(m.block)[0].letters
    assert free[-1].circuit == bc.circuit and free[-2].circuit == bc.circuit
    assert [m.block for m in free[-2:]] == [22, 23]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_parity_basis_reproduces_every_parity(scheme):
    """The r independent parities determine every observable's parity, for all basis states."""
    for m in block_measurements(paper_slpa(4), scheme):
        z = diagonalize_commuting(m.observables).z_masks
        basis, pattern = _parity_basis(z)
        nq = z.shape[1]
        assert len(basis) <= len(z)
        for b in range(2**nq):
            bits = np.array([(b >> (nq - 1 - q)) & 1 for q in range(nq)])
            direct = (z.astype(int) @ bits) % 2
            indep = np.array([bin(b & int(mk)).count("1") % 2 for mk in basis])
            via = [sum(indep[i] for i in range(len(basis)) if (int(pk) >> i) & 1) % 2 for pk in pattern]
            np.testing.assert_array_equal(direct, via)


def exact_moments(bc, scheme, params, psi, shots):
    """Exact mean and covariance of (f_hat, grad_hat) from dense per-setting covariances."""
    n, p_count = bc.n_qubits, bc.n_params
    mean = np.zeros(p_count)
    cov = np.zeros((p_count, p_count))
    for m in block_measurements(bc, scheme):
        out = dense_state(m.circuit, params, measurement_input(m, n, psi))
        mats = [signed_matrix(p) for p in m.observables]
        ev = np.array([np.real(out.conj() @ a @ out) for a in mats])
        second = np.array([[np.real(out.conj() @ a @ b @ out) for b in mats] for a in mats])
        r = np.zeros((len(mats), p_count))
        for p, k, f in m.readout:
            r[k, p] += f
        mean += ev @ r
        cov += r.T @ (second - np.outer(ev, ev)) @ r / shots
    out = dense_state(bc.circuit, params, psi)
    coeff = float(np.real(bc.observable.coeffs[0]))
    f_mean = coeff * np.real(out.conj() @ pauli_matrix(bc.observable.paulis[0].letters) @ out)
    f_var = (coeff**2 - f_mean**2) / shots
    return f_mean, f_var, mean, cov


@pytest.mark.parametrize("scheme", SCHEMES)
def test_shot_estimator_unbiased_with_exact_covariance(scheme):
    bc = paper_slpa(3)
    shots, n_keys = 100, 4000
    rng = np.random.default_rng(5)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    psi = random_state(rng, 4)
    est = jax.jit(jax.vmap(block_gradient_estimator(bc, shots, scheme), in_axes=(None, None, 0)))
    keys = jax.random.split(jax.random.key(123), n_keys)
    f_hat, g_hat, ledger = est(jnp.asarray(params), jnp.asarray(psi), keys)
    again = est(jnp.asarray(params), jnp.asarray(psi), keys[np.zeros(n_keys, dtype=int)])
    np.testing.assert_array_equal(again[1][0], again[1][-1])  # same key, same result
    assert np.all(np.asarray(again[1][0]) == np.asarray(g_hat[0]))
    f_mean, f_var, g_mean, g_cov = exact_moments(bc, scheme, params, psi, shots)
    g_var = np.diag(g_cov)
    assert abs(np.mean(f_hat) - f_mean) < 4 * np.sqrt(f_var / n_keys)
    assert np.all(np.abs(np.mean(g_hat, 0) - g_mean) < 4 * np.sqrt(g_var / n_keys))
    # variances and within-block covariances (correlated estimates from one setting)
    emp = np.cov(np.asarray(g_hat), rowvar=False)
    assert abs(np.var(f_hat, ddof=1) / f_var - 1) < 5 * np.sqrt(2 / n_keys)
    tol = 5 * np.sqrt((np.outer(g_var, g_var) + g_cov**2) / n_keys)
    assert np.all(np.abs(emp - g_cov) < tol)
    assert np.max(np.abs(g_cov - np.diag(g_var))) > 1e-4  # the test sees real correlations
    n_circuits = len(block_measurements(bc, scheme)) + 1
    assert np.all(np.asarray(ledger.executions) == n_circuits)
    assert np.all(np.asarray(ledger.shots) == n_circuits * shots)


def test_ledger_counts_paper_setting():
    bc = paper_slpa(24)
    params = jnp.zeros(96)
    psi = jnp.asarray(random_state(np.random.default_rng(0), 4))
    _, _, ledger = jax.jit(block_gradient_estimator(bc, 1000, "ancilla"))(params, psi, jax.random.key(0))
    assert (int(ledger.executions), int(ledger.shots)) == (24 + 1, 25 * 1000)  # (B + 1) N
    assert len(block_measurements(bc, "ancilla_free")) + 1 == 47


def test_block_gradient_with_shots_unbiased():
    bc = paper_slpa(3)
    shots, n_keys = 100, 1000
    rng = np.random.default_rng(6)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    psi = random_state(rng, 4)
    fn = jax.jit(jax.vmap(lambda k: block_gradient(bc, jnp.asarray(params), shots=shots, key=k, state=psi)))
    g_hat, ledger = fn(jax.random.split(jax.random.key(9), n_keys))
    _, _, g_mean, g_cov = exact_moments(bc, "ancilla", params, psi, shots)
    assert np.all(np.abs(np.mean(g_hat, 0) - g_mean) < 4 * np.sqrt(np.diag(g_cov) / n_keys))
    assert np.all(np.asarray(ledger.executions) == 3) and np.all(np.asarray(ledger.shots) == 300)


def test_float32_inside_scan_and_program_size():
    bc = paper_slpa(3)
    est = block_gradient_estimator(bc, 50, "ancilla")
    rng = np.random.default_rng(2)
    params = jnp.asarray(rng.uniform(0, 2 * np.pi, bc.n_params), jnp.float32)
    psi = jnp.asarray(random_state(rng, 4), jnp.complex64)

    def step(p, key):
        f, g, led = est(p, psi, key)
        return p - 0.01 * g, (f, g, led.shots)

    p_end, (f, g, shots) = jax.jit(lambda p: jax.lax.scan(step, p, jax.random.split(jax.random.key(1), 4)))(params)
    assert p_end.dtype == g.dtype == f.dtype == jnp.float32
    assert np.all(np.asarray(shots) == 4 * 50) and np.all(np.isfinite(np.asarray(g)))
    small = jax.make_jaxpr(block_gradient_estimator(paper_slpa(3), 50))(jnp.zeros(12), psi, jax.random.key(0))
    large = jax.make_jaxpr(block_gradient_estimator(paper_slpa(12), 50))(jnp.zeros(48), psi, jax.random.key(0))
    assert len(small.eqns) == len(large.eqns)  # program size does not grow with depth


def test_errors():
    bc = paper_slpa(2)
    with pytest.raises(ValueError, match="scheme must be one of"):
        block_measurements(bc, "parameter_shift")
    with pytest.raises(TypeError, match="expected a BlockCircuit"):
        block_gradient_estimator(bc.circuit, 100)
    with pytest.raises(ValueError, match="key is required when shots is given"):
        block_gradient(bc, jnp.zeros(8), shots=10)
    with pytest.raises(ValueError, match="shots: expected a positive int"):
        block_gradient_estimator(bc, 0)
    with pytest.raises(ValueError, match="state: expected shape \\(16,\\)"):
        block_gradient(bc, jnp.zeros(8), state=jnp.ones(8))
    with pytest.raises(ValueError, match="params: expected shape \\(8,\\)"):
        block_gradient(bc, jnp.zeros(7))
    with pytest.raises(ValueError, match="observables must commute pairwise"):
        BlockMeasurement(Circuit(2), PauliTable.from_labels(["XI", "ZI"]), ())
    with pytest.raises(ValueError, match="'iXI' is not Hermitian"):
        BlockMeasurement(Circuit(2), PauliTable.from_labels(["iXI"]), ())
    with pytest.raises(ValueError, match="observables act on 3 qubits, the circuit on 2"):
        BlockMeasurement(Circuit(2), PauliTable.from_labels(["XII"]), ())


@pytest.mark.parametrize("scheme", SCHEMES)
def test_zero_gradient_blocks_are_skipped(scheme):
    # ZZII commutes with everything after it and with the observable: exactly zero gradient
    bc = detect_blocks(Circuit.from_labels(["XIII", "ZZII", "IIZI"]), "ZZII")
    assert all(m.block != 1 for m in block_measurements(bc, scheme))
    psi = jnp.asarray(random_state(np.random.default_rng(1), 4))
    params = jnp.array([0.3, 0.4, 0.5])
    grad, _ = jax.jit(lambda p: block_gradient(bc, p, scheme=scheme, state=psi))(params)
    assert float(grad[1]) == 0.0
    ref = jax.grad(expectation, argnums=1)(bc.circuit, params, "ZZII", psi)
    np.testing.assert_allclose(grad, ref, atol=TOL["float64"])


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", ["paper_slpa", "mixed", "slpa_n5"])
def test_shared_prefix_states_equal_each_measurement_circuit(name, scheme):
    """The shared-prefix sweep (and the ancilla branch assembly) gives every measurement circuit's
    final state, checked against a dense simulation of that circuit (``block_measurements``)."""
    from slpa_jax.blocks.gradient import _final_states, _plan

    bc = CASES[name]()
    rng = np.random.default_rng(3)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    psi = random_state(rng, bc.n_qubits)
    states, final = _final_states(bc, _plan(bc, scheme, True), jnp.asarray(params), jnp.asarray(psi))
    ms = block_measurements(bc, scheme)
    assert states.shape[0] == len(ms)
    for m, got in zip(ms, np.asarray(states)):
        ref = dense_state(m.circuit, params, measurement_input(m, bc.n_qubits, psi))
        np.testing.assert_allclose(got, ref, atol=TOL["float64"])
    np.testing.assert_allclose(final, dense_state(bc.circuit, params, psi), atol=TOL["float64"])


@pytest.mark.parametrize("name", ["paper_slpa", "mixed", "slpa_n5", "sc"])
def test_adjoint_sweeps_give_every_ancilla_circuits_law(name, monkeypatch):
    """The ancilla settings' group elements from two n-qubit sweeps (``gradient.ADJOINT_SWEEPS``) equal
    the dense (n+1)-qubit measurement circuits' (``block_measurements``): the expectation of every
    product of a setting's generators (so the whole joint outcome law); with shots the estimates equal
    the circuit path's for the same key (the same law, drawn alike)."""
    from slpa_jax.blocks import gradient

    bc = CASES[name]()
    rng = np.random.default_rng(11)
    params = rng.uniform(0, 2 * np.pi, bc.n_params)
    psi = random_state(rng, bc.n_qubits)
    plan = gradient._plan(bc, "ancilla", True)
    assert plan.adjoint is not None
    elems, final = gradient._adjoint_elements(bc, plan, jnp.asarray(params), jnp.asarray(psi))
    elems = np.asarray(elems)
    np.testing.assert_allclose(final, dense_state(bc.circuit, params, psi), atol=TOL["float64"])
    # the same elements from both overlap paths (static index tables at small n, vmapped Pauli passes
    # beyond), for all settings and (one case) for a slice of them, one device's share
    some = jnp.asarray(np.arange(elems.shape[0])[::-2].copy())
    cases = [(None, elems)] + ([(some, elems[np.asarray(some)])] if name == "paper_slpa" else [])
    assert gradient._overlap_tables(plan.adjoint, plan.group_rows.shape[0], 2**bc.n_qubits) is not None
    for limit in (gradient._STATIC_OVERLAP_MAX, 0):
        monkeypatch.setattr(gradient, "_STATIC_OVERLAP_MAX", limit)
        for settings, ref in cases[1 - (limit == 0) :]:
            got = gradient._adjoint_elements(bc, plan, jnp.asarray(params), jnp.asarray(psi), settings=settings)[0]
            np.testing.assert_allclose(got, ref, atol=TOL["float64"])
    monkeypatch.undo()
    for s, m in enumerate(block_measurements(bc, "ancilla")):
        phi = dense_state(m.circuit, params, measurement_input(m, bc.n_qubits, psi))
        gens = gradient._generators(m.observables)[0]  # element T = product of the generators in T
        for t in range(2 ** len(gens)):
            op = np.eye(phi.shape[0])
            for b in range(len(gens)):
                if (t >> b) & 1:
                    op = op @ signed_matrix(m.observables[gens[b]])
            ref = np.vdot(phi, op @ phi)
            assert abs(ref.imag) < TOL["float64"]
            np.testing.assert_allclose(elems[s, t], ref.real, atol=TOL["float64"])
    if name not in ("paper_slpa", "mixed"):  # the shot path once per kind of circuit (the suite's time)
        return
    est = block_gradient_estimator(bc, 1000)
    new = jax.jit(est)(jnp.asarray(params), jnp.asarray(psi), jax.random.key(5))
    monkeypatch.setattr(gradient, "ADJOINT_SWEEPS", False)
    assert gradient._plan(bc, "ancilla", True).adjoint is None
    old = jax.jit(block_gradient_estimator(bc, 1000))(jnp.asarray(params), jnp.asarray(psi), jax.random.key(5))
    np.testing.assert_allclose(new[1], old[1], atol=TOL["float64"])
    assert float(new[0]) == pytest.approx(float(old[0]), abs=TOL["float64"])


def test_same_key_same_estimate_and_program_is_one_sweep():
    bc = paper_slpa(6)
    est = jax.jit(block_gradient_estimator(bc, 1000))
    psi = jnp.asarray(random_state(np.random.default_rng(4), 4))
    params = jnp.linspace(0, 3, bc.n_params)
    a, b = est(params, psi, jax.random.key(8)), est(params, psi, jax.random.key(8))
    np.testing.assert_array_equal(a[1], b[1])
    assert float(a[0]) == float(b[0])
    assert not np.array_equal(a[1], est(params, psi, jax.random.key(9))[1])
    jaxpr = str(jax.make_jaxpr(block_gradient_estimator(bc, 1000))(params, psi, jax.random.key(0)))
    # one forward and one backward sweep over the blocks (simulator.group_states: each block's 4
    # rotations an inner scan, whose body the jaxpr prints once) and the multinomial sampler's scan over
    # categories, in which two fori_loops over BTRS proposals (float64: sampling._UNROLL_MAX_ITEMSIZE; the
    # vectorised pass's and the continuation's); no (n+1)-qubit ancilla circuit is simulated
    # (gradient.ADJOINT_SWEEPS)
    assert max(c - a for a, c in bc.blocks) == 4
    assert jaxpr.count("scan[") == 6


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nan_parameters_propagate(scheme):
    """NaN parameters give NaN f_hat and gradient with shots too, as the exact (adjoint) path does,
    also where the gradient is identically zero (paper_slpa(2): no block is measured at all)."""
    bc = paper_slpa(2)
    params = jnp.zeros(bc.n_params).at[5].set(jnp.nan)
    f, g, ledger = jax.jit(block_gradient_estimator(bc, 50, scheme))(params, None, jax.random.key(0))
    assert np.isnan(float(f)) and np.all(np.isnan(np.asarray(g))) and int(ledger.shots) == 50
    for shots in (None, 50):
        g2, _ = block_gradient(bc, params, scheme=scheme, shots=shots, key=jax.random.key(0))
        assert np.all(np.isnan(np.asarray(g2)))


def test_int_seed_as_key_is_a_clear_error():
    bc = paper_slpa(2)
    params = jnp.zeros(bc.n_params)
    with pytest.raises(TypeError, match=r"block_gradient: key: expected a jax.random key, got the int 3; pass key="):
        block_gradient(bc, params, shots=10, key=3)
    with pytest.raises(TypeError, match=r"block_gradient_estimator: key: expected a jax.random key, got the int 3"):
        block_gradient_estimator(bc, 10)(params, None, 3)
