"""Fig. 4 in the paper's format: the epoch-0 losses (train.log_initial) and the paper-axes plot."""

import json

import jax
import numpy as np
import pytest
from conftest import TOL

from slpa_jax.train.config import parse_config
from slpa_jax.train.optimizers import make_optimizer
from slpa_jax.train.runs import INITIAL_NAME, PAPER_PLOT_NAME, build_dataset, build_model, run_experiment
from slpa_jax.train.training import init_train_state, predict


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    cfg = parse_config(
        {
            "name": "p",
            "task": {"kind": "symmetric_unitary", "n_qubits": 4, "n_train": 4, "n_test": 4},
            "models": [{"name": "SC", "ansatz": "sc", "estimator": "exact", "n_params": 12}],
            "shots": None,
            "train": {"epochs": 2, "n_seeds": 2, "log_initial": True, "lr": 0.01},
        }
    )
    run_experiment(cfg, out / "run", progress=False)
    return cfg, out / "run"


def test_initial_losses_are_the_losses_at_the_initial_parameters(run):
    cfg, run_dir = run
    initial = json.loads((run_dir / INITIAL_NAME).read_text())["SC"]
    model, data = build_model(cfg, 0), build_dataset(cfg)
    # the documented key rule: model i starts from fold_in(PRNGKey(train.seed), i), seeds split from it
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.train.seed), 0)
    state = init_train_state(model, make_optimizer(lr=cfg.train.lr), key, cfg.train.n_seeds)
    for s in range(cfg.train.n_seeds):
        f_tr = np.asarray(predict(model, state.params[s], data.train_states))
        f_te = np.asarray(predict(model, state.params[s], data.test_states))
        assert initial["train_loss"][s] == pytest.approx(np.mean((f_tr - data.train_labels) ** 2), abs=TOL["float64"])
        assert initial["test_loss"][s] == pytest.approx(np.mean((f_te - data.test_labels) ** 2), abs=TOL["float64"])
    first = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert first["epoch"] == 1 and not np.allclose(first["train_loss"], initial["train_loss"])
    assert (run_dir / PAPER_PLOT_NAME).stat().st_size > 10_000
