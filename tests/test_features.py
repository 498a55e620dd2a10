"""Classical features through a data-encoding circuit (issue 13 item 4): states vs a dense reference,
a tiny config trained end to end with every estimator kind, and clear errors for bad input."""

import jax
import numpy as np
import pytest
from conftest import EPS
from reference import pauli_matrix
from scipy.linalg import expm

from slpa_jax.blocks.slpa import detect_blocks
from slpa_jax.core.circuit import Circuit
from slpa_jax.train.config import ConfigError, parse_config
from slpa_jax.train.datasets import encode_features
from slpa_jax.train.runs import build_dataset, build_model
from slpa_jax.train.tasks import encoding_circuit, load_features_task
from slpa_jax.train.training import init_train_state, make_optimizer, train_epochs


def dense_encoded(x: np.ndarray, rotations, n: int) -> np.ndarray:
    """prod expm(-i angle P / 2) |0...0>, angle = scale * x[feature] + offset; ``rotations`` lists
    (dense label, feature or None, scale, offset)."""
    psi = np.zeros(2**n, complex)
    psi[0] = 1.0
    for label, feat, scale, offset in rotations:
        angle = offset + (0.0 if feat is None else scale * x[feat])
        psi = expm(-0.5j * angle * pauli_matrix(label)) @ psi
    return psi


def write_features(path, x, labels, **extra):
    np.savez(path, features=x, labels=labels, **extra)
    return str(path)


ENCODING = [
    {"pauli": "Y0", "feature": 0, "scale": 3.0},
    {"pauli": "X1 Z2", "feature": 2, "scale": -0.7, "offset": 0.3},
    {"pauli": "ZZY", "feature": 1},
    {"pauli": "X2", "angle": 0.4},
    {"pauli": "YIX", "feature": 0, "scale": 0.5},
]
# the same rotations as dense labels (qubit 0 first), for the reference
DENSE = [("YII", 0, 3.0, 0.0), ("IXZ", 2, -0.7, 0.3), ("ZZY", 1, 1.0, 0.0), ("IIX", None, 1.0, 0.4), ("YIX", 0, 0.5, 0)]


def test_encoded_states_equal_a_dense_reference():
    x = np.random.default_rng(0).normal(size=(5, 3))
    states = encode_features(x, encoding_circuit(ENCODING, 3, 3))
    want = np.stack([dense_encoded(row, DENSE, 3) for row in x])
    np.testing.assert_allclose(states, want, atol=EPS["complex128"])
    # the short form: R_Y(scale x_q + offset) then R_Z(...) on every qubit q
    short = encode_features(x, encoding_circuit({"each_qubit": "YZ", "scale": 2.0, "offset": 0.1}, 3, 3))
    rot = [(lab, q, 2.0, 0.1) for q in range(3) for lab in ("I" * q + p + "I" * (2 - q) for p in "YZ")]
    np.testing.assert_allclose(short, np.stack([dense_encoded(row, rot, 3) for row in x]), atol=EPS["complex128"])


def test_features_file_split_and_raw_features(tmp_path):
    x = np.random.default_rng(1).uniform(size=(6, 2))
    path = write_features(tmp_path / "f.npz", x, np.arange(6.0), split=np.array([0, 1, 0, 1, 0, 0]))
    data = load_features_task(path, {"each_qubit": "Y", "scale": np.pi}, 2)
    np.testing.assert_array_equal(data.train_labels, [0.0, 2.0, 4.0, 5.0])
    np.testing.assert_array_equal(data.test_points, x[[1, 3]])
    rot = [("YI", 0, np.pi, 0.0), ("IY", 1, np.pi, 0.0)]
    np.testing.assert_allclose(data.test_states[1], dense_encoded(x[3], rot, 2), atol=EPS["complex128"])


CIRCUIT = ["XY", "ZZ", "YI"]
MODEL = {"name": "blk", "ansatz": "custom", "circuit": CIRCUIT, "observable": "ZI", "estimator": "ancilla"}


def tiny(path, **task):
    return parse_config(
        {
            "name": "feat",
            "task": {"kind": "features", "n_qubits": 2, "path": path, "n_train": 4, "n_test": 2, **task},
            "models": [MODEL],
            "shots": 64,
            "train": {"epochs": 2, "n_seeds": 2, "batch_size": 2, "lr": 0.1},
        }
    )


def test_a_tiny_features_config_trains_end_to_end(tmp_path):
    """The encoded states are ordinary input states: the block-gradient estimator (and so every other,
    which takes the same ``(params, state, key)``) trains on them unchanged."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(6, 2))
    path = write_features(tmp_path / "f.npz", x, np.sign(x[:, 0]))
    encoding = [{"pauli": "Y0", "feature": 0, "scale": 1.5}, {"pauli": "Y1", "feature": 1, "scale": 1.5}]
    cfg = tiny(path, encoding=encoding)
    data = build_dataset(cfg)
    rot = [("YI", 0, 1.5, 0.0), ("IY", 1, 1.5, 0.0)]
    np.testing.assert_allclose(data.train_states[2], dense_encoded(x[2], rot, 2), atol=EPS["complex128"])
    model = build_model(cfg, 0)
    opt = make_optimizer("adam", lr=cfg.train.lr)
    state = init_train_state(model, opt, jax.random.PRNGKey(0), cfg.train.n_seeds)
    state, metrics = train_epochs(model, data, opt, state, 2, batch_size=2)
    # every shot counted: B + 1 circuits per sample (blocks of the 3-rotation circuit, detected), 64 shots each
    n_blocks = len(detect_blocks(Circuit.from_labels(CIRCUIT), "ZI").blocks)
    np.testing.assert_array_equal(metrics["shots"][:, -1], 2 * 4 * (n_blocks + 1) * 64)
    assert np.all(np.isfinite(metrics["test_loss"])) and metrics["test_loss"].shape == (2, 2)


ENC = r"'task.encoding"
BAD_ENCODINGS = [
    ([{"pauli": "Y0", "feature": 2}], ENC + r"\[0\].feature': .*an int >= 0 below n_features = 2 .*, got 2"),
    ([{"pauli": "Y0", "feature": -1}], ENC + r"\[0\].feature'.*got -1"),
    ([{"pauli": "Y0", "feature": 0, "gain": 2}], ENC + r"\[0\]': unknown key\(s\) \['gain'\]"),
    ([{"pauli": "YYY", "feature": 0}], ENC + r"\[0\].pauli': label 'YYY' has length 3, expected task.n_qubits=2"),
    ([{"pauli": "Y0", "feature": 0, "scale": float("nan")}], ENC + r"\[0\].scale': expected a finite number"),
    ([{"pauli": "Y0", "angle": 1.0, "feature": 0}], ENC + r"\[0\]': 'angle' is a fixed rotation"),
    ("Y", ENC + r"': expected a non-empty list of rotations"),
    ({"each_qubit": "Y", "gain": 1}, ENC + r"': a mapping is the short form"),
    (None, ENC + r"' is required for task kind 'features'"),
]


@pytest.mark.parametrize("encoding, match", BAD_ENCODINGS)
def test_bad_encodings_name_their_key(tmp_path, encoding, match):
    path = write_features(tmp_path / "f.npz", np.zeros((6, 2)), np.zeros(6))
    with pytest.raises(ConfigError, match=match):
        tiny(path, **({} if encoding is None else {"encoding": encoding}))
    # the short form needs one feature per qubit
    with pytest.raises(ConfigError, match=ENC + r"': each_qubit .* expected n_features == task.n_qubits = 3, got 2"):
        tiny(path, encoding={"each_qubit": "Y"}, n_qubits=3)


def test_bad_feature_data_is_named(tmp_path):
    enc = [{"pauli": "Y0", "feature": 0}]
    x = np.zeros((6, 2))
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"features must be finite; sample 3 feature 1 is inf"):
        load_features_task(write_features(tmp_path / "a.npz", x, np.zeros(6)), enc, 2)
    with pytest.raises(ValueError, match=r"'labels' must be \(N,\) = \(6,\)"):
        load_features_task(write_features(tmp_path / "b.npz", np.zeros((6, 2)), np.zeros(5)), enc, 2)
    with pytest.raises(ValueError, match=r"'features' must be a real \(N, n_features\) array, got shape \(6,\)"):
        load_features_task(write_features(tmp_path / "c.npz", np.zeros(6), np.zeros(6)), enc, 2)
    with pytest.raises(ValueError, match=r"missing array 'features'"):
        np.savez(tmp_path / "d.npz", states=np.eye(4), labels=np.zeros(4))
        load_features_task(str(tmp_path / "d.npz"), enc, 2)
    with pytest.raises(ValueError, match=r"expected 3 features per sample .* got 2"):
        encode_features(np.zeros((4, 2)), encoding_circuit(enc, 2, 3))
    # in a config, a file without features names task.path
    with pytest.raises(ConfigError, match=r"config key 'task.path' \('.*d.npz'\): missing array 'features'"):
        tiny(str(tmp_path / "d.npz"), encoding=enc)
    with pytest.raises(ConfigError, match=r"'task.encoding': only task kinds needing it take it, not 'file'"):
        tiny(str(tmp_path / "d.npz"), encoding=enc, kind="file")
