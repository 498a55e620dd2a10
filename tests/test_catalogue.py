"""Invariants of the tables: the ansatz catalogue and the gradient-estimator builders.

Every entry is checked by looping over the table, so a new entry is tested without a new test.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slpa_jax.blocks.catalogue import ANSATZE, build_ansatz, check_ansatz_size
from slpa_jax.blocks.slpa import BlockCircuit
from slpa_jax.cli import build_parser
from slpa_jax.core.pauli import Pauli, as_pauli_sum
from slpa_jax.measure.estimator import ESTIMATOR_KINDS, GradientEstimator
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.models import ESTIMATOR_BUILDERS, make_model


def _smallest_n(spec) -> int:
    return spec.qubits.exact if spec.qubits.exact is not None else spec.qubits.min


@pytest.mark.parametrize("name", list(ANSATZE))
def test_every_entry_builds_what_it_promises(name):
    spec = ANSATZE[name]
    assert spec.name == name and spec.description and spec.unit_text
    for n in sorted({_smallest_n(spec), _smallest_n(spec) + (2 if spec.qubits.exact is None else 0)}):
        unit = spec.unit(n)
        bc = build_ansatz(name, n, 3 * unit)
        assert isinstance(bc, BlockCircuit)
        assert bc.n_qubits == n and bc.circuit.num_rotations == 3 * unit == bc.n_params
        default = as_pauli_sum(spec.default_observable(n), n)
        assert bc.observable.paulis.labels() == default.paulis.labels()
        # a different (symmetric) observable is honoured
        other = "IXX" + "I" * (n - 3)
        assert default.paulis.labels() != [other]
        assert build_ansatz(name, n, unit, other).observable.paulis.labels() == [other]
        with pytest.raises(ValueError, match=rf"multiple of {unit}" if unit > 1 else "positive int"):
            build_ansatz(name, n, unit + 1 if unit > 1 else 0)


@pytest.mark.parametrize("name", list(ANSATZE))
def test_qubit_rule_is_the_one_config_and_builder_use(name):
    # the task 'symmetric_unitary' accepts every even n in [2, 16]; on those n the config accepts the
    # model exactly when the catalogue rule does, and the builder agrees on every n
    spec = ANSATZE[name]
    for n in range(1, 9):
        allowed = spec.qubits.allows(n)
        unit = spec.unit(n) or 1
        if n % 2 == 0:
            d = {"name": "x", "task": {"kind": "symmetric_unitary", "n_qubits": n}}
            d["models"] = [{"ansatz": name, "estimator": "exact", "n_params": unit}]
            if allowed:
                parse_config(d)
            else:
                with pytest.raises(ConfigError, match=rf"task.n_qubits.*{name!r}"):
                    parse_config(d)
        if allowed:
            assert check_ansatz_size(name, n, unit) == 1
        else:
            with pytest.raises(ValueError, match=rf"ansatz {name!r}.*got n_qubits=|needs {spec.qubits.describe()}"):
                check_ansatz_size(name, n, unit)


def test_cli_help_lists_every_entry():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = sub.choices["analyze"].format_help().replace("\n", " ")
    for name, spec in ANSATZE.items():
        assert name in text and spec.description.split(":")[0].split()[0] in text


@pytest.mark.parametrize("kind", list(ESTIMATOR_KINDS))
def test_every_estimator_kind_has_a_builder_whose_record_states_its_cost(kind):
    assert set(ESTIMATOR_BUILDERS) == set(ESTIMATOR_KINDS)
    shots = None if kind == "exact" else 7
    model = make_model("slpa", 4, 8, kind, shots)
    est = model.estimator
    assert isinstance(est, GradientEstimator) and est.kind == kind and est.shots == shots
    psi = jnp.zeros(16, jnp.complex128).at[3].set(1)
    f, g, ledger = jax.jit(est)(jnp.linspace(0.1, 0.8, 8), psi, jax.random.key(0))
    assert g.shape == (8,) and np.isfinite(float(f))
    assert int(ledger.executions) == est.circuits_per_call
    assert int(ledger.shots) == est.shots_per_call
    if kind in ("ancilla", "ancilla_free"):
        assert est.plan is model.block_circuit
    if kind == "exact":
        assert est.circuits_per_call == 0 and est.shots_per_call == 0


def test_a_bare_callable_becomes_a_custom_record():
    model = make_model("sc", 4, 4, "exact", None)
    from slpa_jax.train.training import Model

    custom = Model("c", model.circuit, model.observable, model.estimator.fn)
    assert custom.estimator.kind == "custom" and custom.estimator.circuits_per_call is None
    assert custom.estimator.shots_per_call is None
    with pytest.raises(TypeError, match="Model: estimator must be callable"):
        Model("c", model.circuit, model.observable, 3)


def test_default_observable_commutes_with_the_stabilizers_of_every_symmetric_entry():
    # within an SLPA block {P s_0, P s_1, ...} the ratios s_k s_0 are stabilizers; the default
    # observable must commute with all of them (spec: symmetric observable, [O, S] = 0)
    for name in ("slpa", "fig10_slpa", "qpr_slpa"):
        spec = ANSATZE[name]
        n = _smallest_n(spec)
        bc = build_ansatz(name, n, spec.unit(n))
        gens = bc.circuit.generators
        obs = Pauli(spec.default_observable(n))
        ratios = [gens[k] * gens[a] for a, c in bc.blocks for k in range(a + 1, c)]
        assert ratios, name
        assert all(obs.commutes(s) for s in ratios), name
