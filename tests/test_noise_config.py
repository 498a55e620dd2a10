"""The `noise:` and `backend:` config sections: validation (named keys), sweeps, models, a tiny noisy run."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TOL

from slpa_jax.blocks.noisy_gradient import noisy_block_gradient
from slpa_jax.noise import NoiseModel
from slpa_jax.train.config import (
    BackendConfig,
    ConfigError,
    NoiseConfig,
    config_to_dict,
    expand_sweep,
    parse_config,
)
from slpa_jax.train.models import noise_model_from_config
from slpa_jax.train.runs import build_dataset, build_model
from slpa_jax.train.training import init_train_state, make_optimizer, train_epochs


def base(**extra) -> dict:
    return {
        "name": "t",
        "task": {"kind": "symmetric_unitary", "n_qubits": 4, "n_train": 2, "n_test": 2},
        "models": [
            {"name": "SLPA", "ansatz": "slpa", "estimator": "ancilla", "n_params": 12},
            {"name": "SC", "ansatz": "sc", "estimator": "param_shift", "n_params": 4},
        ],
        "shots": 16,
        "train": {"epochs": 2, "n_seeds": 1, "batch_size": 1, "checkpoint_every": 1},
        **extra,
    }


@pytest.mark.parametrize(
    ("noise", "key"),
    [
        ({"p2": 1.5}, "noise.p2"),
        ({"p1": "a lot"}, "noise.p1"),
        ({"dephasing": -0.1}, "noise.dephasing"),
        ({"readout": [0.1, 0.1, 0.1]}, "noise.readout"),
        ({"readout_01": [0.1, 0.1, 0.1, 2.0]}, "noise.readout_01[3]"),
        ({"readout": 0.1, "readout_10": 0.2}, "noise.readout"),
        ({"method": "exact"}, "noise.method"),
        ({"trajectories": 0}, "noise.trajectories"),
        ({"gates": "yes"}, "noise.gates"),
        ({"p3": 0.1}, "noise.p3"),
        ("strong", "noise"),
    ],
)
def test_noise_section_errors_name_the_key(noise, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        parse_config(base(noise=noise))


def test_backend_section_errors_name_the_key():
    for backend, key in [
        ({"sampler": "ibm"}, "backend.sampler"),
        ({"fake": "Manila"}, "backend.fake"),
        ({"optimization_level": 5}, "backend.optimization_level"),
        ({"fake": "FakeManilaV2"}, "backend.fake"),  # with a noise section: exclusive
    ]:
        with pytest.raises(ConfigError, match=f"'{key}"):
            parse_config(base(backend=backend, noise={"p2": 0.01}))
    with pytest.raises(ConfigError, match="'backend'"):
        parse_config({**base(backend={}), "shots": None})
    d = base(noise={"p2": 0.01})  # per-block f_hat has a noisy estimator (tests/test_noise_sweep.py)
    d["models"][0]["fhat"] = "per_block"
    assert parse_config(d).models[0].fhat == "per_block"


def test_noise_config_round_trip_sweep_and_noise_model():
    r01 = [0.01, 0.02, 0.03, 0.06]
    cfg = parse_config(base(noise={"p2": "1e-3", "readout_01": r01, "readout_10": 0.03}))
    assert cfg.noise == NoiseConfig(p2=1e-3, readout_01=tuple(r01), readout_10=0.03)
    assert parse_config(config_to_dict(cfg)) == cfg
    assert parse_config(base()).noise is None and parse_config(base()).backend is None
    points = expand_sweep(base(noise={"readout": 0.01}), {"noise.p2": [0.0, 0.01]})
    assert [c.noise.p2 for _, c in points] == [0.0, 0.01] and points[1][1].name == "t-p20.01"
    # the system model and the ancilla settings' model (the ancilla's readout: the mean of the list)
    assert noise_model_from_config(cfg.noise, 4) == NoiseModel(p2=1e-3, readout_01=tuple(r01), readout_10=0.03)
    anc = noise_model_from_config(cfg.noise, 4, ancilla=True)
    assert anc.readout_01 == pytest.approx((*r01, 0.03))
    every = NoiseConfig(p1=0.1, dephasing=0.2, bit_flip=0.3, amplitude_damping=0.4, readout=0.05)
    both = noise_model_from_config(every, 2)
    assert both == NoiseModel(p1=0.1, p_z=0.2, p_x=0.3, gamma=0.4, readout_01=0.05, readout_10=0.05)
    assert isinstance(parse_config(base(backend={})).backend, BackendConfig)


def test_noisy_models_use_the_noisy_estimators_and_a_tiny_noisy_run_trains():
    cfg = parse_config({**base(noise={"p1": 0.02, "p2": 0.05, "readout": 0.03}), "shots": None})
    state = jnp.asarray(build_dataset(cfg).train_states[0])
    model = build_model(cfg, 0)  # runs.build_model applies the noise section (models.noisy_model)
    assert model.estimator.kind == "ancilla"
    assert model is build_model(cfg, 0)  # memoised: one compiled program
    params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, model.n_params))
    f, g, led = model.estimator(params, state, jax.random.key(0))
    nm = noise_model_from_config(cfg.noise, 4, ancilla=True)
    want, _ = noisy_block_gradient(model.block_circuit, params, nm, state=state)
    np.testing.assert_allclose(np.asarray(g), np.asarray(want), atol=TOL["float64"], rtol=0)
    assert int(led.shots) == 0
    # end to end: two epochs of the noisy parameter-shift model (exact noisy gradients: shots null)
    model = build_model(cfg, 1)
    opt = make_optimizer("adam", lr=0.05)
    start = init_train_state(model, opt, jax.random.PRNGKey(0), 1)
    st, metrics = train_epochs(model, build_dataset(cfg), opt, start, 2, batch_size=1)
    assert metrics["shots"].tolist() == [[0, 0]]
    assert np.all(np.isfinite(metrics["test_loss"]))
    assert not np.allclose(np.asarray(st.params), np.asarray(start.params))


def test_backend_section_runs_the_settings_on_a_fake_ibm_device():
    import slpa_jax.export.backend  # noqa: F401  (registers the Qiskit backend builder, as the CLI does)

    cfg = parse_config({**base(backend={"fake": "FakeManilaV2"}), "shots": 64})
    model = build_model(cfg, 0)  # SLPA, ancilla: 5 qubits on a 5-qubit device
    assert model.estimator.kind == "ancilla"
    params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, model.n_params))
    f, g, led = model.estimator(params, None, jax.random.key(1))
    assert np.isfinite(float(f)) and abs(float(f)) <= 1 and np.all(np.isfinite(np.asarray(g)))
    assert (int(led.executions), int(led.shots)) == (model.estimator.circuits_per_call, 64 * led.executions)
