"""Shot-faithful training: Optax optimiser, pluggable gradient estimator, seeds vmapped, steps scanned.

One call of ``train_epochs`` is one compiled program: ``vmap`` over seeds of a ``lax.scan`` over
epochs of a ``lax.scan`` over mini-batch steps. Each epoch reshuffles the training set with the
seed's key (``jax.random.permutation``), runs ``n_train / batch_size`` optimiser steps, then
evaluates the exact train and test losses (as the paper plots them) and, for classification data
(labels +-1), the exact sign accuracies.

Devices (issue 15): the program runs under ``jax.shard_map`` on a ``(seeds, samples, circuits)``
mesh of the chosen devices (``core.devices.batch_mesh``; default every device, shape by
``core.devices.mesh_shape`` or given). Seeds are split over the first axis (no communication); the
samples of each mini-batch over the second; the gradient circuits of one sample (the estimator's
``units``: 2R shifted circuits or the block settings, ``GradientEstimator.part``) over the third.
One ``psum`` over samples and circuits per step adds the gradient; the exact evaluation splits its
data over the sample and circuit axes together. Counts that do not divide are padded and the padding
dropped. Keys are split per seed, per sample and per circuit before the split, so results equal the
one-device results to rounding whatever the device count.

Gradient with shots (spec section 4). An estimator ``estimator(params, state, key) -> (f_hat,
grad_hat, ledger)`` (docs/design.md) returns ``f_hat`` from a circuit independent of ``grad_hat``.
Per sample the loss gradient is ``l'(f_hat, y) * grad_hat`` (``f_hat`` a scalar, or per parameter an
(n_params,) vector: the authors' per-block f_hat); for MSE ``l' = 2 (f_hat - y)``, which is
unbiased because the two estimates are independent. The step gradient is the mean over the batch.
For binary cross-entropy on ``p = (1 + f) / 2`` (labels +-1, ``t = (1 + y) / 2``) the same plug-in
rule is used (biased: the loss is not polynomial in f); ``p`` is clipped to ``[1e-6, 1 - 1e-6]``.

Shot ledger: the compiled program returns per-step ``ShotLedger`` sums (int32 fits any realistic
step); ``train_epochs`` adds them on the host in numpy int64, so cumulative totals are exact even
beyond 2**31 (Fig. 4's SC run spends 4.8e9 shots) whether or not x64 is enabled.

Resume: the state carries the parameters, optimiser state, per-seed keys and counters; the epoch
key chain is ``key -> split(key, 3)`` once per epoch, so ``train_epochs(k)`` twice equals
``train_epochs(2k)`` once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax import lax
from jax.sharding import PartitionSpec as P

from ..core.circuit import Circuit
from ..core.devices import (
    CIRCUIT_AXIS,
    SAMPLE_AXIS,
    SEED_AXIS,
    batch_mesh,
    global_array,
    host_array,
    pad_rows,
    pad_to,
    replicated,
    resolve_devices,
)
from ..core.keys import raw_key
from ..core.pauli import PauliSum, as_pauli_sum
from ..core.simulator import complex_dtype_for, expectation
from ..measure.estimator import GradientEstimator, as_gradient_estimator
from .optimizers import OPTIMIZERS, make_optimizer

__all__ = [
    "Model",
    "TrainState",
    "LOSSES",
    "OPTIMIZERS",
    "make_optimizer",
    "init_train_state",
    "train_epochs",
    "TRAIN_COMPILER_OPTIONS",
    "evaluate",
    "predict",
    "loss_value",
    "loss_grad_factor",
    "sign_accuracy",
    "is_classification",
]

#: mse and bce compare f with a label; energy is f itself (variational ground states: minimise <H>).
LOSSES = ("mse", "bce", "energy")
_BCE_CLIP = 1e-6


@dataclass(frozen=True)
class Model:
    """A QNN with its gradient estimator.

    Attributes:
        name: label used in logs and plots.
        circuit: the n-qubit model circuit; ``f(params, psi) = <psi| U^dag O U |psi>``.
        observable: O (converted to a ``PauliSum``).
        estimator: a ``GradientEstimator`` record (kind, cost, function); a bare callable
            ``estimator(params, state, key) -> (f_hat, grad_hat, ShotLedger)`` is wrapped as kind "custom".
        block_circuit: the ``BlockCircuit`` of the model (circuit, observable, commuting blocks), or None.
    """

    name: str
    circuit: Circuit
    observable: PauliSum
    estimator: GradientEstimator
    block_circuit: object = field(default=None)

    def __post_init__(self):
        if not isinstance(self.circuit, Circuit):
            raise TypeError(f"Model: circuit must be a Circuit, got {type(self.circuit).__name__}")
        if not callable(self.estimator):
            raise TypeError(f"Model: estimator must be callable, got {type(self.estimator).__name__}")
        object.__setattr__(self, "estimator", as_gradient_estimator(self.estimator))
        object.__setattr__(self, "observable", as_pauli_sum(self.observable, self.circuit.n_qubits))

    @property
    def n_params(self) -> int:
        return self.circuit.n_params

    @property
    def n_qubits(self) -> int:
        return self.circuit.n_qubits


@struct.dataclass
class TrainState:
    """Everything training needs to continue; leading axis = seeds.

    Attributes:
        params: (S, n_params) angles.
        opt_state: the optimiser state, every leaf batched over S.
        key: (S, 2) uint32 raw PRNG keys (advanced once per epoch).
        epoch: () int64 numpy, epochs completed.
        shots, executions: (S,) int64 numpy, cumulative shots and circuit executions spent.
    """

    params: jax.Array
    opt_state: optax.OptState
    key: jax.Array
    epoch: np.ndarray
    shots: np.ndarray
    executions: np.ndarray

    @property
    def n_seeds(self) -> int:
        return int(self.params.shape[0])


def _init_arrays(key, *, n_params, n_seeds, dtype, optimizer):
    def one(s):
        k_params, k_train = jax.random.split(jax.random.fold_in(key, s))
        theta = jax.random.uniform(k_params, (n_params,), dtype=dtype, minval=0.0, maxval=2 * np.pi)
        return theta, k_train

    params, keys = jax.vmap(one)(jnp.arange(n_seeds))
    return params, keys, jax.vmap(optimizer.init)(params)


_init_program = jax.jit(_init_arrays, static_argnames=("n_params", "n_seeds", "dtype", "optimizer"))


def init_train_state(
    model: Model, optimizer: optax.GradientTransformation, key, n_seeds: int, *, dtype=None
) -> TrainState:
    """Seed ``s`` gets ``fold_in(key, s)`` (independent of ``n_seeds``): theta ~ U[0, 2 pi)^L and a
    training key. ``dtype`` defaults to the default float (float64 with x64 on)."""
    if not isinstance(model, Model):
        raise TypeError(f"init_train_state: model must be a Model, got {type(model).__name__}")
    if not isinstance(n_seeds, (int, np.integer)) or isinstance(n_seeds, bool) or n_seeds < 1:
        raise ValueError(f"init_train_state: n_seeds must be an int >= 1, got {n_seeds!r}")
    key = raw_key(key, "init_train_state")
    dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
    params, keys, opt_state = _init_program(
        key, n_params=model.n_params, n_seeds=int(n_seeds), dtype=dtype, optimizer=optimizer
    )
    zeros = np.zeros(n_seeds, np.int64)
    return TrainState(params, opt_state, keys, np.asarray(0, np.int64), zeros, zeros.copy())


# --- losses --------------------------------------------------------------------------------------


def _check_loss(loss: str, where: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"{where}: loss must be one of {list(LOSSES)}, got {loss!r}")


def loss_value(f, y, loss: str = "mse"):
    """Per-sample loss of prediction ``f`` in [-1, 1] and label ``y``: ``(f - y)**2`` (mse), the
    binary cross-entropy of ``p = (1 + f) / 2`` against ``t = (1 + y) / 2`` (bce, labels +-1), or
    ``f`` itself (energy: ``f = <H>``, the label is ignored)."""
    _check_loss(loss, "loss_value")
    if loss == "mse":
        return (f - y) ** 2
    if loss == "energy":
        return f + 0 * y
    p = jnp.clip(0.5 * (1 + f), _BCE_CLIP, 1 - _BCE_CLIP)
    t = 0.5 * (1 + y)
    return -(t * jnp.log(p) + (1 - t) * jnp.log1p(-p))


def loss_grad_factor(f, y, loss: str = "mse"):
    """``d loss / d f`` at ``f``: ``2 (f - y)`` (mse), ``(p - t) / (2 p (1 - p))`` (bce, p clipped), or 1
    (energy: the step follows the estimated gradient of <H> itself, unbiased with no f_hat needed)."""
    _check_loss(loss, "loss_grad_factor")
    if loss == "mse":
        return 2 * (f - y)
    if loss == "energy":
        return jnp.ones_like(f) + 0 * y
    p = jnp.clip(0.5 * (1 + f), _BCE_CLIP, 1 - _BCE_CLIP)
    t = 0.5 * (1 + y)
    return (p - t) / (2 * p * (1 - p))


def predict(model: Model, params, states) -> jax.Array:
    """Exact model outputs ``f(params, psi)`` for (N, 2**n) ``states`` -> (N,). Not jitted."""
    return jax.vmap(lambda s: expectation(model.circuit, params, model.observable, s))(states)


def sign_accuracy(f, labels):
    """Fraction of samples with ``sign(f) == label`` (labels +-1; ``f == 0`` counts as wrong).

    For BCE on ``p = (1 + f) / 2`` this is the rule "predict +1 iff p > 1/2". ``f``: (..., N) real,
    ``labels``: (N,); returns (...,).
    """
    f = jnp.asarray(f)
    hits = jnp.sign(f) == jnp.broadcast_to(jnp.asarray(labels, f.dtype), f.shape)
    return jnp.mean(hits.astype(f.dtype), axis=-1)


def _loss_and_accuracy(model: Model, params, states, labels, loss: str, classify: bool):
    f = predict(model, params, states)
    acc = sign_accuracy(f, labels) if classify else jnp.zeros((), f.dtype)
    return jnp.mean(loss_value(f, labels, loss)), acc


def is_classification(data) -> bool:
    """True when every train and test label is exactly +1 or -1 (a binary classification task)."""
    return all(bool(np.all(np.abs(np.asarray(getattr(data, f"{part}_labels"))) == 1)) for part in ("train", "test"))


# --- the compiled program ------------------------------------------------------------------------


def _masked_sum(x, valid):
    """Sum over the leading axis of the rows where ``valid`` (padding rows are dropped)."""
    return jnp.sum(jnp.where(valid.reshape((-1,) + (1,) * (x.ndim - 1)), x, jnp.zeros((), x.dtype)), axis=0)


#: The mesh axes that split a mini-batch's work (samples, and each sample's circuits); one psum each step.
_BATCH_WORK = (SAMPLE_AXIS, CIRCUIT_AXIS)


def _local_rows(n: int, k: int, axes=SAMPLE_AXIS):
    """This device's rows of an ``n``-row axis split over mesh ``axes`` (``k`` devices): indices
    (``>= n`` for padding, also returned clipped: padding repeats the last row) and the mask of real rows."""
    per = -(-n // k)
    pos = lax.axis_index(axes) * per + jnp.arange(per) if k > 1 else jnp.arange(n)
    return jnp.minimum(pos, n - 1), pos < n


def _sharded_loss_and_accuracy(model: Model, params, states, labels, loss: str, classify: bool, k: int):
    """``_loss_and_accuracy`` with the data split over the sample and circuit axes (``k`` devices):
    masked local sums, one psum."""
    n = states.shape[0]
    rows, valid = _local_rows(n, k, _BATCH_WORK)
    f = predict(model, params, states[rows])
    y = labels[rows]
    total = lax.psum(_masked_sum(loss_value(f, y, loss), valid), _BATCH_WORK)
    hits = (jnp.sign(f) == y).astype(f.dtype)
    acc = lax.psum(_masked_sum(hits, valid), _BATCH_WORK) / n if classify else jnp.zeros((), f.dtype)
    return total / n, acc


def _run_epochs(
    params, opt_state, keys, xs_tr, y_tr, xs_te, y_te, *, model, optimizer, n_epochs, batch_size, loss, classify, mesh
):
    """Seeds split over the mesh's ``SEED_AXIS``, each mini-batch's samples over ``SAMPLE_AXIS``, each
    sample's gradient circuits over ``CIRCUIT_AXIS``.

    Every key is split per seed and per sample exactly as on one device (the per-sample keys of a step
    are ``split(k, batch_size)`` whatever the mesh), and an estimator's ``part`` gives each circuit the
    key of a full call; a device evaluates its slice of them, and the step gradient is the ``psum`` of
    the local masked sums over the batch size (padding dropped). ``f_hat`` is computed whole by every
    device of a sample (``GradientEstimator.part``), so the loss factor needs no communication."""
    n_train = xs_tr.shape[0]
    steps = n_train // batch_size
    kb, kc = mesh.shape[SAMPLE_AXIS], mesh.shape[CIRCUIT_AXIS]
    estimator = model.estimator
    if kc > 1:  # this device's circuits of every sample (>= units: padding, ignored by part)
        per_c = -(-estimator.units // kc)

        def estimator(params, state, key):
            units = lax.axis_index(CIRCUIT_AXIS) * per_c + jnp.arange(per_c, dtype=jnp.int32)
            return model.estimator.part(params, state, key, units)

    def local(params, opt_state, keys, xs_tr, y_tr, xs_te, y_te):
        rows, valid = _local_rows(batch_size, kb)

        def per_seed(params, opt_state, key):
            def step(carry, inp):
                params, opt_state = carry
                idx, k = inp
                idx = idx[rows]
                sample_keys = jax.random.split(k, batch_size)[rows]
                f, g, led = jax.vmap(estimator, in_axes=(None, 0, 0))(params, xs_tr[idx], sample_keys)
                # f is (batch,) or, for per-parameter estimates (fhat: per_block), (batch, n_params)
                y = y_tr[idx].reshape((len(idx),) + (1,) * (f.ndim - 1))
                factor = loss_grad_factor(f, y, loss).astype(g.dtype).reshape(len(idx), -1)
                grad = (lax.psum(_masked_sum(factor * g, valid), _BATCH_WORK) / batch_size).astype(params.dtype)
                updates, opt_state = optimizer.update(grad, opt_state, params)
                params = optax.apply_updates(params, updates)
                shots = lax.psum(jnp.sum(_masked_sum(led.shots, valid)), _BATCH_WORK)
                execs = lax.psum(jnp.sum(_masked_sum(led.executions, valid)), _BATCH_WORK)
                return (params, opt_state), (shots, execs)

            def epoch(carry, _):
                params, opt_state, key = carry
                key, k_perm, k_steps = jax.random.split(key, 3)
                perm = jax.random.permutation(k_perm, n_train).reshape(steps, batch_size)
                (params, opt_state), (shots, execs) = lax.scan(
                    step, (params, opt_state), (perm, jax.random.split(k_steps, steps))
                )
                tr, acc_tr = _sharded_loss_and_accuracy(model, params, xs_tr, y_tr, loss, classify, kb * kc)
                te, acc_te = _sharded_loss_and_accuracy(model, params, xs_te, y_te, loss, classify, kb * kc)
                return (params, opt_state, key), (tr, te, acc_tr, acc_te, shots, execs)

            (params, opt_state, key), out = lax.scan(epoch, (params, opt_state, key), None, length=n_epochs)
            return params, opt_state, key, out

        return jax.vmap(per_seed)(params, opt_state, keys)

    batched, rep = P(SEED_AXIS), P()
    out = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(batched, batched, batched, rep, rep, rep, rep),
        out_specs=batched,
        # the simulator's custom VJPs do not carry shard_map's varying-axis types; every output is a
        # psum over the sample and circuit axes (or computed from replicated values), so it is the same on them
        check_vma=False,
    )(params, opt_state, keys, xs_tr, y_tr, xs_te, y_te)
    # replicated outputs: every process can read them (they are small: parameters and metrics)
    return jax.lax.with_sharding_constraint(out, replicated(mesh))


_STATIC = ("model", "optimizer", "n_epochs", "batch_size", "loss", "classify", "mesh")
#: XLA options of the training program on CPU devices. XLA hands reductions and some elementwise fusions
#: to YNNPACK; inside the training step they are tiny (a Pauli-transfer contraction of 4**n entries per
#: seed, the readout sums), and each YNNPACK call costs more than the work: without them the Fig. 4
#: parameter-shift step (n = 4, 20 seeds) took 2.9x less CPU time in an A/B of its Pauli-transfer
#: sweeps, and the SC and NSC epochs about half (benchmarks/RESULTS.md). Other platforms compile without.
TRAIN_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
_train_program = jax.jit(_run_epochs, static_argnames=_STATIC)
_train_program_cpu = jax.jit(_run_epochs, static_argnames=_STATIC, compiler_options=TRAIN_COMPILER_OPTIONS)


@functools.partial(jax.jit, static_argnames=("model", "loss"))
def _evaluate_program(params, xs_tr, y_tr, xs_te, y_te, *, model, loss):
    tr = jax.vmap(lambda p: _loss_and_accuracy(model, p, xs_tr, y_tr, loss, False)[0])(params)
    te = jax.vmap(lambda p: _loss_and_accuracy(model, p, xs_te, y_te, loss, False)[0])(params)
    return tr, te


def _device_data(data, model: Model, params, where: str):
    n = model.n_qubits
    for part in ("train", "test"):
        s = getattr(data, f"{part}_states", None)
        if s is None:
            raise TypeError(f"{where}: data must be a Dataset, got {type(data).__name__}")
        if s.ndim != 2 or s.shape[1] != 2**n:
            raise ValueError(
                f"{where}: data {part}_states must have shape (N, {2**n}) for the model's {n} qubits, got {s.shape}"
            )
    cdt = complex_dtype_for(params)
    rdt = jnp.real(jnp.zeros((), cdt)).dtype
    return (
        jnp.asarray(data.train_states, cdt),
        jnp.asarray(data.train_labels, rdt),
        jnp.asarray(data.test_states, cdt),
        jnp.asarray(data.test_labels, rdt),
    )


def _check_state(model: Model, state, where: str) -> None:
    if not isinstance(model, Model):
        raise TypeError(f"{where}: model must be a Model, got {type(model).__name__}")
    if not isinstance(state, TrainState):
        raise TypeError(f"{where}: state must be a TrainState, got {type(state).__name__}")
    if state.params.ndim != 2 or state.params.shape[1] != model.n_params:
        raise ValueError(
            f"{where}: state.params must have shape (n_seeds, {model.n_params}), got {tuple(state.params.shape)}"
        )


def evaluate(model: Model, data, state: TrainState, *, loss: str = "mse") -> tuple[np.ndarray, np.ndarray]:
    """Exact (train_loss, test_loss), each (n_seeds,), at the state's parameters (e.g. epoch 0)."""
    _check_state(model, state, "evaluate")
    _check_loss(loss, "evaluate")
    arrays = _device_data(data, model, state.params, "evaluate")
    tr, te = _evaluate_program(state.params, *arrays, model=model, loss=loss)
    return np.asarray(tr), np.asarray(te)


def train_epochs(
    model: Model,
    data,
    optimizer: optax.GradientTransformation,
    state: TrainState,
    n_epochs: int,
    *,
    batch_size: int,
    loss: str = "mse",
    devices="all",
    mesh_shape=None,
) -> tuple[TrainState, dict[str, np.ndarray]]:
    """Train all seeds for ``n_epochs`` epochs in one compiled program.

    Args:
        model: the QNN and its gradient estimator.
        data: a ``datasets.Dataset`` (states with 2**model.n_qubits amplitudes).
        optimizer: an Optax transformation (e.g. ``make_optimizer()``); reuse the same object across
            calls to reuse the compiled program.
        state: from ``init_train_state`` or a previous call.
        n_epochs: epochs to run (>= 1).
        batch_size: samples per step; must divide ``data.n_train``.
        loss: "mse", "bce" or "energy".
        devices: where to run (``core.devices.resolve_devices``): ``"all"`` (every device of every
            process), a count N, a list of device ids, or a list of ``jax.Device``. Seeds, the
            samples of each mini-batch and each sample's gradient circuits are split over a mesh of
            them (``batch_mesh``; padded, the padding dropped); results equal the one-device results
            to rounding, for any device count, because keys are split per seed, per sample and per
            circuit before the split. With several
            processes (``jax.distributed``) every process must call this with the same arguments.
        mesh_shape: None (``core.devices.mesh_shape``'s rule over seeds, batch samples and the
            estimator's gradient circuits) or ``(ks, kb, kc)`` devices on the seed, sample and circuit
            axes, their product the device count (config key ``train.mesh``). ``kc > 1`` needs an
            estimator that splits (``GradientEstimator.units``: parameter shift and block gradients).

    Returns:
        ``(new_state, metrics)``; metrics maps ``train_loss``, ``test_loss`` (float, exact, after each
        epoch), ``shots``, ``executions`` (int64, cumulative over the state's whole history) to
        (n_seeds, n_epochs) numpy arrays. For a classification task (``is_classification``: every
        label +-1) also ``train_accuracy`` and ``test_accuracy``: the ``sign_accuracy`` of the exact
        outputs after each epoch.
    """
    _check_state(model, state, "train_epochs")
    _check_loss(loss, "train_epochs")
    if not isinstance(n_epochs, (int, np.integer)) or isinstance(n_epochs, bool) or n_epochs < 1:
        raise ValueError(f"train_epochs: n_epochs must be an int >= 1, got {n_epochs!r}")
    arrays = _device_data(data, model, state.params, "train_epochs")
    n_train = arrays[0].shape[0]
    if (
        not isinstance(batch_size, (int, np.integer))
        or isinstance(batch_size, bool)
        or batch_size < 1
        or n_train % batch_size
    ):
        raise ValueError(
            f"train_epochs: batch_size must be a positive divisor of n_train={n_train}, got {batch_size!r}"
        )
    classify = is_classification(data)
    n_seeds = state.n_seeds
    units = model.estimator.units or 1
    devs = resolve_devices(devices, where="train_epochs: devices")
    try:
        mesh = batch_mesh(devs, n_seeds, batch_size, units, shape=mesh_shape)
    except ValueError as err:
        raise ValueError(f"train_epochs: mesh_shape: {str(err).split('shape: ', 1)[-1]}") from None
    if mesh.shape[CIRCUIT_AXIS] > 1 and model.estimator.part is None:
        raise ValueError(
            f"train_epochs: mesh_shape: the {model.estimator.kind!r} estimator of model {model.name!r} cannot split "
            f"its circuits over devices; expected 1 device on the circuit axis, got {mesh.shape[CIRCUIT_AXIS]}"
        )
    s_pad = pad_to(n_seeds, mesh.shape[SEED_AXIS])

    def seeds_in(x):  # pad the seed axis (repeating the last seed; dropped below) and shard it
        return global_array(pad_rows(host_array(x), s_pad), mesh, P(SEED_AXIS))

    program = _train_program_cpu if devs[0].platform == "cpu" else _train_program
    out = program(
        seeds_in(state.params),
        jax.tree_util.tree_map(seeds_in, state.opt_state),
        seeds_in(state.key),
        *(global_array(host_array(a), mesh) for a in arrays),
        model=model,
        optimizer=optimizer,
        n_epochs=int(n_epochs),
        batch_size=int(batch_size),
        loss=loss,
        classify=classify,
        mesh=mesh,
    )
    # back to this process's default device, padding dropped
    out = jax.tree_util.tree_map(lambda x: jnp.asarray(host_array(x)[:n_seeds]), out)
    params, opt_state, keys, (tr, te, acc_tr, acc_te, shots, execs) = out
    # per-step sums (S, E, steps) -> exact int64 cumulative totals on the host
    shots = np.asarray(shots).astype(np.int64).sum(axis=2)
    execs = np.asarray(execs).astype(np.int64).sum(axis=2)
    cum_shots = np.asarray(state.shots, np.int64)[:, None] + np.cumsum(shots, axis=1)
    cum_execs = np.asarray(state.executions, np.int64)[:, None] + np.cumsum(execs, axis=1)
    new_state = TrainState(
        params,
        opt_state,
        keys,
        np.asarray(int(state.epoch) + int(n_epochs), np.int64),
        cum_shots[:, -1].copy(),
        cum_execs[:, -1].copy(),
    )
    metrics = {
        "train_loss": np.asarray(tr),
        "test_loss": np.asarray(te),
        "shots": cum_shots,
        "executions": cum_execs,
    }
    if classify:
        metrics["train_accuracy"] = np.asarray(acc_tr)
        metrics["test_accuracy"] = np.asarray(acc_te)
    return new_state, metrics
