"""Training-throughput benchmark: time per seed-step of each gradient estimator, side by side.

1. Per seed-step time of one training step (estimator + MSE factor + Adam, batch size 1, as in
   ``training.train_epochs``) for the estimators ``ancilla``, ``ancilla_free`` (SLPA block
   gradients), ``param_shift`` (SC circuit) and ``exact``, at n = 4 (the paper's models, L = 96),
   n = 8 (``fig10_*``, L = 96) and n = 12 (``fig10_*``, L = 192), with 1 and 20 seeds vmapped. Every
   call runs ``--steps`` steps in one ``lax.scan``; the estimators of one (n, seeds) cell are timed
   in interleaved rounds (A B C D A B C D ...) and the median per estimator is reported, so load
   changes hit all of them alike. Compilation is excluded (reported separately).
2. A profile split per estimator: cumulative stages (simulation; + basis change; + sampling;
   + readout; + optimiser), each jitted and scanned like the step; a stage's share is the
   difference of consecutive stages.
3. The amplitude-update floor: amplitude updates per seed-step (rotation passes, padded rows
   included, and Pauli-expectation passes; for parameter shift on the Pauli-transfer path at small n,
   the real vector entries its sweeps and contractions update) times the time per amplitude update of the simulator's
   batched rotation pass measured at the same n (``simulator.rotation_batch`` on 64 states), with
   16 bytes (complex64 read + write) and about 10 flops per update.
4. ``--fig4 E``: the Fig. 4 experiment (3 models x 20 seeds, N = 1000) for E epochs from a fresh
   process (compilation included) and again for 2E epochs (programs cached), extrapolated to 500
   epochs as ``compile + 500 x per-epoch``; ``--fig4 500`` runs it in full.
5. ``--fig4-profile E``: where the Fig. 4 time goes, per model, as ``run_experiment`` spends it: the
   first ``train_epochs`` call (compilation + one epoch), then E one-epoch calls (the run's cadence:
   wall and process CPU time per epoch), the same E epochs as ONE call (the host round trips of the
   one-epoch cadence are the difference), the exact train + test loss evaluation of 20 seeds alone,
   one checkpoint and one metrics write at 500 epochs' history, and the shares extrapolated to 500 epochs.

Unless ``--no-write`` the script replaces the ``bench_training`` section of benchmarks/RESULTS.md.
Runs on CPU or GPU unchanged (``jax.devices()`` decides); ``--quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from results_md import write_section  # benchmarks/ is on sys.path

from slpa_jax.blocks import gradient as block_gradient_module
from slpa_jax.core.simulator import rotation_batch, statevector
from slpa_jax.measure import param_shift as param_shift_module
from slpa_jax.measure.expectation import estimate_state, plan_expectation
from slpa_jax.train.models import make_model
from slpa_jax.train.training import TRAIN_COMPILER_OPTIONS

ESTIMATORS = (
    "ancilla",
    "ancilla_circuits",
    "ancilla_free",
    "param_shift",
    "param_shift_statevector",
    "param_shift_dense",
    "exact",
)
#: ``ancilla_circuits``: the SLPA ancilla estimator with its B ancilla circuits simulated (the default
#: before the two-sweep path, ``gradient.ADJOINT_SWEEPS``; same laws and draws).
CIRCUITS_KIND = "ancilla_circuits"
#: ``param_shift_dense``: the same SC estimator with the small-n dense-suffix path switched on
#: (``param_shift.DENSE_SUFFIXES``, off by default).
DENSE_KIND = "param_shift_dense"
#: ``param_shift_statevector``: the same SC estimator with the small-n Pauli-transfer path switched off
#: (the 2R statevector remainders; the default before it, same draws).
STATEVECTOR_KIND = "param_shift_statevector"
SHOTS = 1000


def models_for(n: int):
    """(SLPA model builder name, SC builder name, L) at n qubits."""
    return ("slpa", "sc", 96) if n == 4 else ("fig10_slpa", "fig10_sc", 96 if n == 8 else 192)


def build(n: int, kind: str):
    slpa, sc, n_params = models_for(n)
    if kind.startswith("param_shift"):
        return make_model(sc, n, n_params, "param_shift", SHOTS)
    if kind == CIRCUITS_KIND:  # the estimator's plan is fixed when it is built
        saved, block_gradient_module.ADJOINT_SWEEPS = block_gradient_module.ADJOINT_SWEEPS, False
        try:
            return make_model(slpa, n, n_params, "ancilla", SHOTS)
        finally:
            block_gradient_module.ADJOINT_SWEEPS = saved
    return make_model(slpa, n, n_params, kind, SHOTS)


def block_plan(model, kind: str):
    """The block estimator's plan (``ancilla_circuits``: the circuit path's)."""
    scheme = "ancilla" if kind == CIRCUITS_KIND else kind
    adjoint = kind != CIRCUITS_KIND and block_gradient_module.ADJOINT_SWEEPS
    return block_gradient_module._plan_cached(model.block_circuit, scheme, True, None, adjoint)


class _transfer_off:
    """Trace parameter shift without the Pauli-transfer path (``param_shift_statevector``)."""

    def __enter__(self):
        self.saved = param_shift_module._use_transfer
        param_shift_module._use_transfer = lambda circuit, plan: False

    def __exit__(self, *exc):
        param_shift_module._use_transfer = self.saved


class _dense_suffixes_on:
    """Trace parameter shift with the dense-suffix path on (``param_shift_dense``)."""

    def __enter__(self):
        self.saved = param_shift_module.DENSE_SUFFIXES
        param_shift_module.DENSE_SUFFIXES = True

    def __exit__(self, *exc):
        param_shift_module.DENSE_SUFFIXES = self.saved


def random_states(rng, count: int, n: int) -> np.ndarray:
    psi = rng.normal(size=(count, 2**n)) + 1j * rng.normal(size=(count, 2**n))
    return (psi / np.linalg.norm(psi, axis=1, keepdims=True)).astype(np.complex64)


def scanned(fn, n_seeds: int, steps: int):
    """jit(scan over steps of vmap over seeds of ``fn(params, x, y, key) -> (params', out)``), compiled with
    the training program's XLA options (``training.TRAIN_COMPILER_OPTIONS``)."""

    def run(params, xs, ys, keys):
        def body(p, inp):
            x, y, k = inp
            p, out = jax.vmap(fn, in_axes=(0, None, None, 0))(p, x, y, k)
            return p, jax.tree.map(lambda a: jnp.sum(a.astype(jnp.float32)), out)

        return lax.scan(body, params, (xs, ys, keys))

    cpu = jax.default_backend() == "cpu"
    return jax.jit(run, compiler_options=TRAIN_COMPILER_OPTIONS if cpu else None)  # as the training program


def stage_fns(model, kind: str, opt):
    """Cumulative stages ``name -> fn(params, x, y, key) -> (params', out)`` ending with the full step."""
    est = model.estimator

    def full_step(p, x, y, k):
        f, g, _ = est(p, x, k)
        upd, _ = opt.update(2 * (f - y) * g, opt.init(p), p)
        return optax.apply_updates(p, upd), f

    def keep(out_fn):  # stage output only; params pass through
        return lambda p, x, y, k: (p + 0 * jnp.sum(jnp.real(jnp.asarray(out_fn(p, x, k)))), 0.0)

    stages = {}
    if kind == "ancilla" and block_plan(model, kind).adjoint is not None:
        bc, g = model.block_circuit, block_gradient_module
        plan = block_plan(model, kind)  # two sweeps and the element overlaps; the law's Walsh transform

        def elements(p, x):
            return g._adjoint_elements(bc, plan, p, x)

        stages["simulation"] = keep(lambda p, x, k: elements(p, x)[0].sum())
        stages["basis change"] = keep(lambda p, x, k: g._walsh(elements(p, x)[0]))

        def sampled(p, x, k):
            elems, final = elements(p, x)
            return g._values(plan, None, final, SHOTS, k, elems=elems)[0]

        stages["sampling"] = keep(sampled)
        stages["readout"] = keep(lambda p, x, k: est(p, x, k)[1])
    elif kind in ("ancilla", CIRCUITS_KIND, "ancilla_free"):
        bc, g = model.block_circuit, block_gradient_module
        plan = block_plan(model, kind)
        stages["simulation"] = keep(lambda p, x, k: g._final_states(bc, plan, p, x)[0].sum())
        stages["basis change"] = keep(lambda p, x, k: g._elements(plan.grad, g._final_states(bc, plan, p, x)[0]))
        stages["sampling"] = keep(lambda p, x, k: g._values(plan, *g._final_states(bc, plan, p, x), SHOTS, k)[0])
        stages["readout"] = keep(lambda p, x, k: est(p, x, k)[1])
    elif kind == "param_shift" and param_shift_module._use_transfer(model.circuit, est.plan):
        circ, plan = model.circuit, est.plan  # small n: Pauli-transfer sweeps give the exact values

        def values(p, x):
            return param_shift_module._transfer_values(circ, plan, p, x)[0]

        stages["simulation"] = keep(lambda p, x, k: values(p, x).sum())
        draw = param_shift_module._single_pauli_estimates
        stages["sampling"] = keep(lambda p, x, k: draw(values(p, x), plan, SHOTS, k))
        stages["readout"] = keep(lambda p, x, k: est(p, x, k)[1])
    elif kind.startswith("param_shift"):
        circ, plan = model.circuit, est.plan

        dense = kind == DENSE_KIND
        shifted = param_shift_module._shifted_states_dense if dense else param_shift_module._shifted_states

        def sim(p, x):
            return shifted(circ, p, x), statevector(circ, p, x)

        stages["simulation"] = keep(lambda p, x, k: sim(p, x)[0].sum() + sim(p, x)[1].sum())
        if param_shift_module._single_paulis(plan):  # as `_grad`: exact <P_g>, then ONE binomial draw
            single = param_shift_module._single_pauli_values

            def values(p, x):
                states, final = sim(p, x)
                return jax.vmap(lambda s: single(s, plan))(states), final

            stages["basis change"] = keep(lambda p, x, k: values(p, x)[0].sum() + values(p, x)[1].sum())
            draw = param_shift_module._single_pauli_estimates

            def drawn(p, x, k):
                vals, final = values(p, x)
                return draw(vals, plan, SHOTS, k).sum() + final.sum()

            stages["sampling"] = keep(drawn)
            stages["readout"] = keep(lambda p, x, k: est(p, x, k)[1])
            stages["optimiser"] = full_step
            return stages
        stages["basis change"] = keep(lambda p, x, k: jax.vmap(lambda s: plan_expectation(s, plan))(sim(p, x)[0]))

        def sampled(p, x, k):
            states, final = sim(p, x)
            keys = jax.random.split(k, states.shape[0] + 1)
            vals = jax.vmap(lambda s, kk: estimate_state(s, plan, SHOTS, key=kk)[0])(states, keys[1:])
            return vals.sum() + estimate_state(final, plan, SHOTS, key=keys[0])[0]

        stages["sampling"] = keep(sampled)
        stages["readout"] = keep(lambda p, x, k: est(p, x, k)[1])
    else:
        stages["simulation"] = keep(lambda p, x, k: est(p, x, k)[1])  # value and adjoint gradient
    stages["optimiser"] = full_step
    return stages


def amplitude_updates(model, kind: str, n: int) -> int:
    """Amplitude updates per seed-step (rotation passes incl. padding, expectation passes)."""
    d = 2**n
    if kind in ("ancilla", CIRCUITS_KIND, "ancilla_free"):
        plan = block_plan(model, kind)
        if plan.adjoint is not None:  # forward and backward sweeps, one overlap pass per element
            return 2 * plan.group_rows.size * d + plan.adjoint.masks.shape[0] * plan.adjoint.masks.shape[1] * d + d
        n_sim = 2 * d if kind != "ancilla_free" else d
        c, r = plan.suffix_idx.shape
        fam = plan.grad  # settings read their runs by Pauli-expectation passes over the group elements
        passes = fam.size * (fam.elem_masks.shape[1] if fam.mode == "elements" else fam.cliff_masks.shape[1] + 1)
        return plan.group_rows.size * d + c * r * d + passes * n_sim + d
    L = model.circuit.num_rotations
    if kind == DENSE_KIND:
        # prefix sweep, suffix matrices (M passes over d x d), 2R shift passes + 2R d x d mat-vecs,
        # 2R expectation passes, the f circuit
        m, two_r = len(model.circuit.rotation_rows[1]), 2 * int(param_shift_module.shift_table(model.circuit)[0].size)
        return m * d + m * d * d + two_r * (d + d * d) + two_r * d + L * d + d
    if kind == "param_shift" and param_shift_module._use_transfer(model.circuit, model.estimator.plan):
        # Pauli-transfer entries (real, 4**n per vector and row): the state forward, G observables
        # backward, two contractions per observable and row, and the state's Pauli vector (d**3)
        m, g = len(model.circuit.rotation_rows[1]), model.estimator.plan.n_settings
        return m * d * d * (1 + 3 * g) + d**3
    if kind.startswith("param_shift"):
        start, masks, _, _ = param_shift_module._suffix_tables(model.circuit)
        return L * d + masks.shape[0] * masks.shape[1] * d + masks.shape[0] * d + L * d + d
    return 3 * L * d + d  # exact: forward, adjoint sweep (two states per rotation)


def ns_per_update(n: int) -> float:
    """Time per amplitude update of the batched rotation pass at n qubits (64 states x 64 rows)."""
    rng = np.random.default_rng(0)
    states = jnp.asarray(random_states(rng, 64, n))
    masks = rng.integers(0, 2**n, size=(64, 64, 3)).astype(np.int32)
    masks[..., 2] = rng.integers(0, 4, size=(64, 64))
    angles = jnp.asarray(rng.uniform(0, 6, size=(64, 64)), jnp.float32)
    f = jax.jit(lambda s, a: rotation_batch(s, masks, a))
    jax.block_until_ready(f(states, angles))
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        jax.block_until_ready(f(states, angles))
        best = min(best, time.perf_counter() - t0)
    return best / (64 * 64 * 2**n) * 1e9


def time_cell(n: int, n_seeds: int, steps: int, rounds: int, kinds, profile: bool) -> dict:
    rng = np.random.default_rng(n)
    xs = jnp.asarray(random_states(rng, steps, n))
    ys = jnp.asarray(rng.uniform(-0.5, 0.5, steps), jnp.float32)
    keys = jax.random.split(jax.random.key(n_seeds), (steps, n_seeds))
    opt = optax.adam(1e-3)
    runs, compile_s, args = {}, {}, {}
    for kind in kinds:
        model = build(n, kind)
        params = jnp.asarray(rng.uniform(0, 2 * np.pi, (n_seeds, model.circuit.n_params)), jnp.float32)
        fns = stage_fns(model, kind, opt)
        names = list(fns) if profile else ["optimiser"]
        for name in names:
            f = scanned(fns[name], n_seeds, steps)
            t0 = time.perf_counter()
            if kind in (DENSE_KIND, STATEVECTOR_KIND):
                with _dense_suffixes_on() if kind == DENSE_KIND else _transfer_off():
                    jax.block_until_ready(f(params, xs, ys, keys))
            else:
                jax.block_until_ready(f(params, xs, ys, keys))
            compile_s[(kind, name)] = time.perf_counter() - t0
            runs[(kind, name)] = f
            args[(kind, name)] = params
    times: dict = {key: [] for key in runs}
    cpu: dict = {key: [] for key in runs}
    for _ in range(rounds):  # interleaved: every estimator once per round
        for key, f in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            jax.block_until_ready(f(args[key], xs, ys, keys))
            times[key].append((time.perf_counter() - t0) / (steps * n_seeds))
            cpu[key].append((time.process_time() - c0) / (steps * n_seeds))
    return {
        key: (statistics.median(v), compile_s[key], min(v), statistics.median(cpu[key])) for key, v in times.items()
    }


def fig4(epochs: int) -> dict:
    """Fig. 4 wall time for ``epochs`` (fresh compile) and ``2 epochs`` (cached), per model."""
    from slpa_jax.train.config import load_config, parse_config
    from slpa_jax.train.runs import run_experiment

    root = Path(__file__).resolve().parent.parent
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, e in (("first", epochs), ("second", 2 * epochs)):
            raw = load_config(root / "configs" / "fig4.yaml")
            raw["train"]["epochs"] = e
            raw["train"]["checkpoint_every"] = min(25, e)
            cfg = parse_config(raw)
            t0 = time.perf_counter()
            run_experiment(cfg, Path(tmp) / label, progress=False)
            out[label] = (e, time.perf_counter() - t0)
    (e1, t1), (e2, t2) = out["first"], out["second"]
    per_epoch = t2 / e2
    return {"epochs": e1, "first_s": t1, "second_s": t2, "per_epoch_s": per_epoch, "compile_s": t1 - e1 * per_epoch}


def fig4_profile(epochs: int) -> list[str]:
    """Per-model split of the Fig. 4 time (module docstring, item 5); returns table lines."""
    from slpa_jax.train import runs, training
    from slpa_jax.train.config import load_config, parse_config

    cfg = parse_config(load_config(Path(__file__).resolve().parent.parent / "configs" / "fig4.yaml"))
    data, opt = runs.build_dataset(cfg), runs._optimizer(cfg)
    lines = [
        "| model | compile + 1st epoch s | s / epoch (1-epoch calls) | CPU s / epoch | s / epoch (one call) |"
        " exact evaluation ms | checkpoint ms | metrics ms | 500 epochs s (compile + 500 x epoch + writes) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = 0.0
    for i, m in enumerate(cfg.models):
        model = runs.build_model(cfg, i)
        state = training.init_train_state(model, opt, runs._model_key(cfg, i), cfg.train.n_seeds)
        kw = {"batch_size": cfg.train.batch_size, "loss": cfg.train.loss}
        t0 = time.perf_counter()
        state, _ = training.train_epochs(model, data, opt, state, 1, **kw)
        first = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(epochs):
            state, metrics = training.train_epochs(model, data, opt, state, 1, **kw)
        per, cpu = (time.perf_counter() - t0) / epochs, (time.process_time() - c0) / epochs
        training.train_epochs(model, data, opt, state, epochs, **kw)  # compile the E-epoch program
        t0 = time.perf_counter()
        jax.block_until_ready(training.train_epochs(model, data, opt, state, epochs, **kw)[0].params)
        one_call = (time.perf_counter() - t0) / epochs
        training.evaluate(model, data, state)
        t0 = time.perf_counter()
        training.evaluate(model, data, state)
        ev = time.perf_counter() - t0
        history = {k: np.repeat(np.asarray(v), 500, axis=1) for k, v in metrics.items()}
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            runs._save_ckpt(Path(tmp) / "m.ckpt", runs._ckpt_payload(state, history, m.name))
            ck = time.perf_counter() - t0
            t0 = time.perf_counter()
            runs._write_metrics(Path(tmp), {m.name: history})
            mt = time.perf_counter() - t0
        est = first + 499 * per + 20 * (ck + mt)  # a checkpoint and a metrics write every 25 epochs
        total += est
        lines.append(
            f"| {m.name} | {first:.1f} | {per:.3f} | {cpu:.3f} | {one_call:.3f} | {ev * 1e3:.1f} | {ck * 1e3:.1f} | "
            f"{mt * 1e3:.1f} | {est:.0f} |"
        )
        print(lines[-1], flush=True)
    lines.append(f"| **all** | | | | | | | | **{total:.0f} ({total / 60:.1f} min)** |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="*", default=[4, 8, 12])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 20])
    ap.add_argument("--kinds", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS, help="estimators to time")
    ap.add_argument("--steps", type=int, default=10, help="steps per timed call (one lax.scan)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median reported)")
    ap.add_argument("--profile-n", type=int, nargs="*", default=[4, 12], help="n values with a profile split")
    ap.add_argument("--fig4", type=int, default=0, help="also time Fig. 4 for this many epochs (0: skip)")
    ap.add_argument("--fig4-profile", type=int, default=0, help="profile Fig. 4 per model over this many epochs")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.seeds, args.steps, args.rounds, args.profile_n = [4], [1, 2], 2, 2, [4]
    load = os.getloadavg()
    lines = [
        "## Training throughput (issue 12): per seed-step time per estimator",
        "",
        f"Measured {datetime.date.today()} on {platform.machine()} ({os.cpu_count()} CPU cores), "
        f"{jax.devices()[0].device_kind}, jax {jax.__version__}, load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min; other sessions share the cores). "
        f"complex64, N = {SHOTS} shots per circuit, batch size 1, {args.steps} steps per call, median of "
        f"{args.rounds} interleaved rounds, compilation excluded. Floor = amplitude updates x time per update of "
        "the batched rotation pass at the same n (16 B and ~10 flop per update).",
        "",
        "| n | seeds | estimator | circuits / step | us per seed-step (median) | min | CPU us (median) |"
        " amplitude updates | floor us | x floor (median) | compile s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    profiles = []
    for n in args.n:
        t_amp = ns_per_update(n)
        for s in args.seeds:
            kinds = args.kinds
            res = time_cell(n, s, args.steps, args.rounds, kinds, n in args.profile_n and s == max(args.seeds))
            for kind in kinds:
                model = build(n, kind)
                upd = amplitude_updates(model, kind, n)
                t, c, t_min, t_cpu = res[(kind, "optimiser")]
                floor = upd * t_amp * 1e-3
                lines.append(
                    f"| {n} | {s} | {kind} | {model.estimator.circuits_per_call} | {t * 1e6:.1f} | {t_min * 1e6:.1f} | "
                    f"{t_cpu * 1e6:.1f} | {upd:,} | {floor:.1f} | {t * 1e6 / floor:.1f} | {c:.1f} |"
                )
                print(lines[-1], flush=True)
                names = [k[1] for k in res if k[0] == kind]
                if len(names) > 1:
                    prev, parts = 0.0, []
                    for name in names:
                        cur = res[(kind, name)][0]
                        parts.append(f"{name} {max(cur - prev, 0) * 1e6:.1f}")
                        prev = cur
                    profiles.append(f"| {n} | {s} | {kind} | {' / '.join(parts)} | {t * 1e6:.1f} |")
            pairs = [
                (a, b)
                for a in ("ancilla", CIRCUITS_KIND)
                for b in ("param_shift", STATEVECTOR_KIND, DENSE_KIND)
                if a in kinds and b in kinds
            ]
            for a, sc in pairs:
                med = res[(a, "optimiser")][0] / res[(sc, "optimiser")][0]
                low = res[(a, "optimiser")][2] / res[(sc, "optimiser")][2]
                cpu = res[(a, "optimiser")][3] / res[(sc, "optimiser")][3]
                lines.append(f"| {n} | {s} | **{a} / {sc}** | | **{med:.3f}** | {low:.3f} | {cpu:.3f} | | | | |")
                print(lines[-1], flush=True)
        lines.append(f"| {n} | | time per amplitude update | | {t_amp:.3f} ns | | | | | | |")
    if profiles:
        lines += [
            "",
            "Profile split (us per seed-step, cumulative-stage differences: simulation / basis change /"
            " sampling / readout / optimiser; `exact`: value + adjoint gradient / optimiser; for parameter shift"
            " the 'basis change' is the exact single-Pauli expectation feeding the binomial readout):",
            "",
            "| n | seeds | estimator | split | total |",
            "|---:|---:|---|---|---:|",
            *profiles,
        ]
    if args.fig4:
        load_fig4 = os.getloadavg()[0]
        r = fig4(args.fig4)
        full = r["compile_s"] + 500 * r["per_epoch_s"]
        lines += [
            "",
            f"Fig. 4 (3 models x 20 seeds, N = 1000, `run_experiment` on configs/fig4.yaml): {r['epochs']} epochs "
            f"from a fresh process {r['first_s']:.1f} s (compilation included), {2 * r['epochs']} epochs with the "
            f"programs cached {r['second_s']:.1f} s, i.e. {r['per_epoch_s']:.3f} s per epoch (all 3 models) and "
            f"{r['compile_s']:.1f} s compilation; extrapolated full run (500 epochs): {full:.0f} s "
            f"({full / 60:.1f} min)" + (" (measured in full)" if args.fig4 >= 500 else "") + f"; load average "
            f"{load_fig4:.1f} at its start, {os.getloadavg()[0]:.1f} at its end.",
        ]
        print(lines[-1], flush=True)
    if args.fig4_profile:
        load_p = os.getloadavg()[0]
        head = f"Fig. 4 profile ({args.fig4_profile} epochs per model, load average {load_p:.1f} at its start):"
        lines += ["", head, ""]
        lines += fig4_profile(args.fig4_profile)
        lines.append(f"(load average {os.getloadavg()[0]:.1f} at its end)")
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write and not args.quick:
        write_section(Path(__file__).with_name("RESULTS.md"), "bench_training", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
