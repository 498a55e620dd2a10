"""Does the SLPA's shot advantage survive noise? Fig. 4 models under depolarizing noise and readout error.

For every noise point (a noiseless reference, then p2 in --p2 with p1 = p2 / 10 and readout error
--readout on every point) and every model of the config (default ``configs/fig4_noise.yaml``: SLPA
with the ancilla and ancilla-free block gradients, SC and NSC with parameter shift), trains
``train.n_seeds`` seeds with the noisy estimators (exact density-matrix simulation of every
measurement setting, shots drawn from the noisy distributions) and records after every epoch:

* ``test_mse``: the test MSE of the trained parameters on the ideal (noiseless) model, the metric
  of the training loop (what the parameters learned);
* shots spent (every setting counted, ``ShotLedger``);

and, at the end, ``noisy_test_mse``: the test MSE of the noisy model's exact output (what a noisy
device would predict with infinitely many shots). Writes ``results.json``, ``table.md`` and
``noise_mse.png`` / ``noise_shots.png`` into ``--out``; points already in results.json are skipped,
so an interrupted study resumes.

    python experiments/noise.py --out runs/noise                       # ~15 min on a shared 2-core CPU
    python experiments/noise.py --p2 0.001 --epochs 3 --seeds 1 --out /tmp/n   # a smoke test
    python experiments/noise.py --fake FakeManilaV2 --out runs/noise   # + a short SLPA run on a fake IBM device
"""

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from slpa_jax.noise import noisy_estimate_expectation
from slpa_jax.train.config import load_config, parse_config
from slpa_jax.train.models import noise_model_from_config
from slpa_jax.train.runs import build_dataset, build_model
from slpa_jax.train.training import init_train_state, make_optimizer, train_epochs

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "slpa_jax" / "train" / "configs" / "fig4_noise.yaml"


def point_overrides(p2, readout):
    if p2 is None:
        return ["noise=null"]
    return [f"noise.p2={p2}", f"noise.p1={p2 / 10}", f"noise.readout={readout}"]


def shots_to_reach(test_mse, shots, target):
    """Per seed: cumulative shots at the first epoch with test MSE <= target (None if never)."""
    out = []
    for te, sh in zip(test_mse, shots):
        hit = np.flatnonzero(np.asarray(te) <= target)
        out.append(int(sh[hit[0]]) if hit.size else None)
    return out


def noisy_test_mse(cfg, model, params, data):
    """Test MSE of the noisy model's exact output (density matrix, readout included), per seed."""
    nm = noise_model_from_config(cfg.noise, model.n_qubits)
    xs, ys = jnp.asarray(data.test_states), jnp.asarray(data.test_labels)

    def one(p):
        f = jax.vmap(lambda s: noisy_estimate_expectation(model.circuit, p, model.observable, nm, state=s)[0])(xs)
        return jnp.mean((f - ys) ** 2)

    return [float(v) for v in jax.jit(jax.vmap(one))(params)]


def run_point(cfg, model_index, epochs_per_call):
    model = build_model(cfg, model_index)  # the config's noise section applied (models.noisy_model)
    data = build_dataset(cfg)
    t = cfg.train
    opt = make_optimizer(t.optimizer, lr=t.lr, b1=t.b1, b2=t.b2, eps=t.eps, eps_root=t.eps_root)
    key = jax.random.fold_in(jax.random.PRNGKey(t.seed), model_index)
    state = init_train_state(model, opt, key, t.n_seeds)
    hist = {"test_loss": [], "train_loss": [], "shots": []}
    done = 0
    while done < t.epochs:
        k = min(epochs_per_call, t.epochs - done)
        state, m = train_epochs(model, data, opt, state, k, batch_size=t.batch_size, loss=t.loss)
        for name in hist:
            hist[name].append(np.asarray(m[name]))
        done += k
    hist = {k: np.concatenate(v, axis=1) for k, v in hist.items()}
    noisy = noisy_test_mse(cfg, model, state.params, data) if cfg.noise is not None else hist["test_loss"][:, -1]
    return model, hist, [float(x) for x in np.asarray(noisy)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    p.add_argument("--p2", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 1e-2])
    p.add_argument("--readout", type=float, default=1e-2)
    p.add_argument("--no-reference", action="store_true", help="skip the noiseless reference point")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--target", type=float, default=1e-3, help="test MSE target for shots-to-reach")
    p.add_argument("--models", nargs="+", default=None, help="model names to run (default: all)")
    p.add_argument("--fake", default=None, help="also a short SLPA run on this fake IBM backend")
    p.add_argument("--fake-epochs", type=int, default=1)
    p.add_argument("--fake-train", type=int, default=4)
    p.add_argument("--out", default="runs/noise")
    p.add_argument("--attenuation", action="store_true", help="only the exact gradient attenuation table")
    a = p.parse_args(argv)
    if a.attenuation:
        attenuation(a, Path(a.out))
        return
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    done = {(r["model"], r["p2"]) for r in rows}
    sizes = []
    if a.epochs is not None:
        sizes.append(f"train.epochs={a.epochs}")
    if a.seeds is not None:
        sizes.append(f"train.n_seeds={a.seeds}")
    points = ([] if a.no_reference else [None]) + list(a.p2)
    for p2 in points:
        cfg = parse_config(load_config(a.config, sizes + point_overrides(p2, a.readout)))
        for i, mcfg in enumerate(cfg.models):
            if (a.models and mcfg.name not in a.models) or (mcfg.name, p2) in done:
                continue
            t0 = time.perf_counter()
            model, hist, noisy = run_point(cfg, i, 5)
            secs = time.perf_counter() - t0
            row = {
                "model": mcfg.name,
                "estimator": model.estimator.kind,
                "p2": p2,
                "p1": None if p2 is None else p2 / 10,
                "readout": None if p2 is None else a.readout,
                "circuits_per_sample": model.estimator.circuits_per_call,
                "epochs": cfg.train.epochs,
                "seeds": cfg.train.n_seeds,
                "n_train": cfg.task.n_train,
                "shots_per_circuit": cfg.shots,
                "test_mse": hist["test_loss"].tolist(),
                "shots": hist["shots"].tolist(),
                "final_test_mse": hist["test_loss"][:, -1].tolist(),
                "final_noisy_test_mse": noisy,
                "shots_to_target": shots_to_reach(hist["test_loss"], hist["shots"], a.target),
                "target": a.target,
                "seconds": secs,
            }
            rows.append(row)
            path.write_text(json.dumps(rows))
            print(
                f"{mcfg.name:18s} p2={p2}: final test MSE {np.median(row['final_test_mse']):.3g} "
                f"(noisy {np.median(noisy):.3g}), shots to {a.target:g}: {row['shots_to_target']} [{secs:.0f} s]",
                flush=True,
            )
    if a.fake:
        fake_run(a, out)
    write_table(rows, out, a.target)
    plot(rows, out, a.target)


def fake_run(a, out):
    """A short SLPA run (ancilla block gradient) on a fake IBM device through the backend estimator."""
    path = out / "fake.json"
    if path.exists():
        return
    overrides = [
        "noise=null",
        f"backend={{fake: {a.fake}}}",
        f"train.epochs={a.fake_epochs}",
        "train.n_seeds=1",
        f"task.n_train={a.fake_train}",
        "task.n_test=10",
        "shots=200",
    ]
    cfg = parse_config(load_config(a.config, overrides))
    i = [m.name for m in cfg.models].index("SLPA-ancilla")
    import slpa_jax.export.backend  # noqa: F401  (registers the Qiskit backend builder)

    t0 = time.perf_counter()
    model, hist, _ = run_point(cfg, i, cfg.train.epochs)
    secs = time.perf_counter() - t0
    info = {
        "backend": a.fake,
        "model": "SLPA-ancilla",
        "epochs": cfg.train.epochs,
        "n_train": cfg.task.n_train,
        "shots_per_circuit": cfg.shots,
        "circuits_per_sample": model.estimator.circuits_per_call,
        "test_mse": hist["test_loss"].tolist(),
        "shots": hist["shots"].tolist(),
        "seconds": secs,
    }
    path.write_text(json.dumps(info))
    print(f"fake backend {a.fake}: test MSE {info['test_mse']} after {info['shots']} shots [{secs:.0f} s]", flush=True)


def attenuation(a, out):
    """Exact (density-matrix, no shots) noisy gradients of every model at random parameters vs the
    noiseless ones: norm ratio and cosine, with each scheme's circuit sizes (why the advantage moves)."""
    from slpa_jax.blocks.gradient import block_measurements
    from slpa_jax.blocks.noisy_gradient import noisy_block_gradient
    from slpa_jax.noise import noisy_param_shift_grad
    from slpa_jax.noise.program import lower_noisy

    cfg0 = parse_config(load_config(a.config, ["noise=null"]))
    data = build_dataset(cfg0)
    state = jnp.asarray(data.train_states[0])
    lines = [
        "| model | circuits/sample | qubits | rotations per circuit | noisy qubit slots per circuit | "
        + " | ".join(f"p2={p:g}: norm ratio, cosine" for p in a.p2 if p > 0)
        + " |",
        "|---|---|---|---|---|" + "---|" * len([p for p in a.p2 if p > 0]),
    ]
    for i, mcfg in enumerate(cfg0.models):
        base = build_model(cfg0, i)
        kind = base.estimator.kind
        params = jnp.asarray(np.random.default_rng(0).uniform(0, 2 * np.pi, base.n_params))
        if kind in ("ancilla", "ancilla_free"):
            circuits = [m.circuit for m in block_measurements(base.block_circuit, kind)]
        else:
            circuits = [base.circuit]
        cells = []
        ref = None
        for p2 in [0.0] + [p for p in a.p2 if p > 0]:
            cfg = parse_config(load_config(a.config, point_overrides(p2, a.readout)))
            anc = kind == "ancilla"
            nm = noise_model_from_config(cfg.noise, base.n_qubits, ancilla=anc)
            if kind in ("ancilla", "ancilla_free"):
                g, _ = noisy_block_gradient(base.block_circuit, params, nm, scheme=kind, state=state)
            else:
                g, _ = noisy_param_shift_grad(base.circuit, params, base.observable, nm, state=state)
            g = np.asarray(g)
            if ref is None:
                ref = g
                continue
            slots = np.mean([(lower_noisy(c, nm).qubits >= 0).sum() for c in circuits])
            norm, cos = np.linalg.norm(g) / np.linalg.norm(ref), g @ ref / np.linalg.norm(g) / np.linalg.norm(ref)
            cells.append(f"{norm:.3f}, {cos:.3f}")
        lines.append(
            f"| {mcfg.name} | {base.estimator.circuits_per_call} | {circuits[0].n_qubits} | "
            f"{np.mean([c.num_rotations for c in circuits]):.0f} | {slots:.0f} | " + " | ".join(cells) + " |"
        )
    text = "\n".join(lines) + "\n"
    (out / "attenuation.md").write_text(text)
    print(text)


def _label(p2):
    return "noiseless" if p2 is None else f"{p2:g}"


def write_table(rows, out, target):
    lines = [
        f"| model | p2 | circuits/sample | final test MSE (ideal model), median [min, max] | final test MSE of the "
        f"noisy model, median | seeds reaching {target:g} | median shots to reach {target:g} |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        te = np.asarray(r["final_test_mse"])
        hits = [s for s in r["shots_to_target"] if s is not None]
        med = f"{np.median(hits):.3g}" if len(hits) == len(te) else ("-" if not hits else f">= {np.median(hits):.3g}")
        lines.append(
            f"| {r['model']} | {_label(r['p2'])} | {r['circuits_per_sample']} | {np.median(te):.3g} "
            f"[{te.min():.3g}, {te.max():.3g}] | {np.median(r['final_noisy_test_mse']):.3g} | "
            f"{len(hits)}/{len(te)} | {med} |"
        )
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def plot(rows, out, target):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    p2s = [p for p in dict.fromkeys(r["p2"] for r in rows) if p is not None]
    xs = {p: (p if p > 0 else min([q for q in p2s if q > 0] + [1e-4]) / 10) for p in p2s}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in models:
        mine = sorted((r for r in rows if r["model"] == name and r["p2"] is not None), key=lambda r: r["p2"])
        x = [xs[r["p2"]] for r in mine]
        for ax, key in zip(axes, ("final_test_mse", "final_noisy_test_mse")):
            y = np.array([np.median(r[key]) for r in mine])
            lo = np.array([np.min(r[key]) for r in mine])
            hi = np.array([np.max(r[key]) for r in mine])
            ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o", capsize=3, label=name)
    for ax, title in zip(axes, ("test MSE of the trained parameters (ideal model)", "test MSE of the noisy model")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(target, color="gray", lw=0.8, ls="--")
        ax.set_xlabel("p2 (p1 = p2 / 10; readout 1e-2; leftmost point: p2 = 0)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("final test MSE (median, min-max over seeds)")
    fig.tight_layout()
    fig.savefig(out / "noise_mse.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in models:
        mine = sorted((r for r in rows if r["model"] == name), key=lambda r: -1 if r["p2"] is None else r["p2"])
        for r in mine:
            sh = np.median(np.asarray(r["shots"]), axis=0)
            te = np.median(np.asarray(r["test_mse"]), axis=0)
            ls = {None: ":", 0.0: "-", 1e-4: "--", 1e-3: "-.", 1e-2: (0, (1, 1))}.get(r["p2"], "-")
            ax.plot(sh, te, ls=ls, color=f"C{models.index(name)}", label=f"{name} p2={_label(r['p2'])}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(target, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("shots per seed")
    ax.set_ylabel("test MSE (median over seeds)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "noise_shots.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
