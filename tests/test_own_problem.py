"""A user's own problem from a config: circuits, symmetries, Hamiltonians and data (issue 13)."""

import json

import numpy as np
import pytest
from conftest import EPS

from slpa_jax.core.circuit import Circuit
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.hamiltonians import ground_energy, hamiltonian
from slpa_jax.train.runs import build_dataset, build_model, run_experiment

HEA = {"layers": 2, "ops": ["YIII", "IYII", "IIYI", "IIIY", "XXII", "IXXI", "IIXX"]}


def cfg(models, task=None, **extra):
    d = {
        "name": "own",
        "task": task or {"kind": "ground_state", "n_qubits": 4, "hamiltonian": {"name": "xxz", "delta": 0.5}},
    }
    d["models"] = models
    d["train"] = {"epochs": 3, "n_seeds": 2, "lr": 0.05, **extra.pop("train", {})}
    d.update(extra)
    return parse_config(d)


def test_a_yaml_circuit_is_the_python_circuit_and_auto_picks_the_estimator():
    c = cfg([{"ansatz": "custom", "circuit": HEA, "estimator": "auto"}], shots=100)
    model = build_model(c, 0)
    want = Circuit.from_labels(HEA["ops"] * 2)
    assert model.circuit == want and c.models[0].n_params == 14
    # a rotation-only circuit: auto is the ancilla block gradient, also for the 9-term Hamiltonian
    assert model.estimator.kind == "ancilla"
    np.testing.assert_allclose(model.observable.to_matrix(), hamiltonian("xxz", 4, delta=0.5).to_matrix(), atol=0)
    # a single-Pauli observable on a data task: auto is the ancilla block gradient
    data_task = {"kind": "symmetric_unitary", "n_qubits": 4}
    c2 = cfg([{"ansatz": "custom", "circuit": HEA, "estimator": "auto", "observable": "XXII"}], data_task)
    assert build_model(c2, 0).estimator.kind == "ancilla"


def test_symmetric_slpa_from_the_task_symmetry_and_from_the_hamiltonian():
    data_task = {"kind": "symmetric_unitary", "n_qubits": 4}
    m = build_model(
        cfg([{"ansatz": "symmetric_slpa", "n_params": 20, "estimator": "ancilla", "observable": "XXII"}], data_task), 0
    )
    gens = m.block_circuit.circuit.generators.labels()
    assert len(m.block_circuit.blocks) == 5 and gens[:4] and m.estimator.kind == "ancilla"
    # the XXZ chain's symmetry {X^4, Z^4} is found from the Hamiltonian: 4 rotations per block
    m2 = build_model(cfg([{"ansatz": "symmetric_slpa", "n_params": 8, "estimator": "exact"}]), 0)
    assert [c - a for a, c in m2.block_circuit.blocks] == [4, 4]


def test_ground_state_run_directory_end_to_end(tmp_path):
    c = cfg(
        [{"ansatz": "custom", "circuit": HEA, "estimator": "param_shift", "name": "hea"}],
        shots=50,
        output_dir=str(tmp_path),
    )
    summary = run_experiment(c, tmp_path / "run", progress=False)
    assert c.train.loss == "energy"
    rec = summary["models"]["hea"]
    # every shot counted: 3 epochs x 1 step x (2 L + 1) G circuits x 50 shots, per seed
    est = build_model(c, 0).estimator
    assert est.circuits_per_call == (2 * 14 + 1) * len(est.plan.settings)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in lines if r.get("model") == "hea"][-1]
    assert np.all(np.asarray(last["shots"]) == 3 * est.circuits_per_call * 50)
    e0 = ground_energy(hamiltonian("xxz", 4, delta=0.5))
    assert np.all(np.asarray(last["train_loss"]) >= e0 - EPS["float64"]) and rec is not None


def test_data_from_an_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    states = rng.normal(size=(6, 4)) + 1j * rng.normal(size=(6, 4))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    np.savez(tmp_path / "d.npz", states=states, labels=np.linspace(-1, 1, 6), split=[0, 0, 0, 0, 1, 1])
    task = {"kind": "file", "n_qubits": 2, "path": str(tmp_path / "d.npz"), "n_train": 4}
    c = cfg([{"ansatz": "custom", "circuit": ["XY", "ZZ"], "estimator": "exact", "observable": "ZI"}], task, shots=None)
    data = build_dataset(c)
    np.testing.assert_allclose(data.train_states, states[:4], atol=0)
    assert c.train.loss == "mse"


@pytest.mark.parametrize(
    "models, task, match",
    [
        (
            [{"ansatz": "symmetric_slpa", "n_params": 8, "estimator": "exact", "stabilizers": ["ZZII"]}],
            None,
            r"models\[0\]': build_slpa: stabilizer 'ZZII' does not commute with observable term 'IXXI'",
        ),
        (
            [{"ansatz": "custom", "circuit": HEA, "estimator": "exact"}],
            {"kind": "ground_state", "n_qubits": 4, "hamiltonian": {"terms": [[1.0, "iXXII"]]}},
            r"task.hamiltonian",
        ),
        (
            [{"ansatz": "custom", "circuit": {"ops": ["XXII", {"gate": "T", "qubits": [0]}]}, "estimator": "exact"}],
            None,
            r"models\[0\].circuit.ops\[1\].gate': expected one of",
        ),
        (
            [{"ansatz": "custom", "circuit": {"ops": ["XXII", {"gate": "H", "qubits": [0]}]}, "estimator": "ancilla"}],
            None,
            r"models\[0\].estimator': 'ancilla' needs a rotation-only circuit",
        ),
        ([{"ansatz": "custom", "estimator": "exact"}], None, r"models\[0\].circuit': required for ansatz 'custom'"),
        (
            [{"ansatz": "slpa", "estimator": "exact", "observable": "ZIII"}],
            None,
            r"observable': a ground-state task measures",
        ),
        (
            [{"ansatz": "custom", "circuit": ["XX"], "estimator": "exact", "observable": "ZI"}],
            {"kind": "file", "n_qubits": 2, "path": "missing.npz"},
            r"task.path': expected an existing .npz file",
        ),
    ],
)
def test_bad_problems_name_their_key(models, task, match):
    with pytest.raises(ConfigError, match=match):
        cfg(models, task, shots=None)


def test_loss_and_task_must_agree():
    with pytest.raises(ConfigError, match="train.loss': expected 'energy' exactly for task kind 'ground_state'"):
        cfg([{"ansatz": "custom", "circuit": HEA, "estimator": "exact"}], train={"loss": "mse"})
