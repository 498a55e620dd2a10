"""Many processes and split sweeps (issue 15 item 3): ``--distributed``, ``--shard I/N``, ``--merge``.

A two-process ``jax.distributed`` job on localhost (``distributed_worker.py``, two virtual CPU devices
each, gloo collectives) runs a tiny training, resumes it, and runs a three-point sweep split over the
processes; everything must equal the same commands in one process (this one, one device), which is
also the reference for a sweep split into shards by ``--shard I/N`` and merged.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TOL

from slpa_jax.cli import main
from slpa_jax.train.runs import read_metrics
from slpa_jax.train.sweeps import parse_shard, sweep_slice

WORKER = Path(__file__).with_name("distributed_worker.py")
SWEEP = ["--over", "train.seed=[1,2,3]", "--set", "train.epochs=1"]  # one epoch per point is enough
#: One seed, a full batch of 4 samples: on 4 devices every gradient is a psum over both processes.
CONFIG = {
    "name": "tiny",
    "task": {"kind": "symmetric_unitary", "n_qubits": 4, "n_train": 4, "n_test": 4, "data_seed": 7},
    "models": [{"name": "SC", "ansatz": "sc", "estimator": "param_shift", "n_params": 8}],
    "shots": 50,
    "train": {"epochs": 2, "n_seeds": 1, "batch_size": 4, "checkpoint_every": 1, "seed": 3},
}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def one_process(config, tmp_path_factory):
    """The reference: the same run and sweep in this process."""
    out = tmp_path_factory.mktemp("one")
    assert main(["run", config, "--run-dir", str(out / "run"), "--no-progress"]) == 0
    assert main(["sweep", config, *SWEEP, "--run-dir", str(out / "sweep"), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def two_processes(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    with socket.socket() as s:  # a free port for the coordinator
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(i), str(port), config, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in (0, 1)
    ]
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=600)
            assert p.returncode == 0, stderr[-4000:]
            results.append((json.loads(stdout.strip().splitlines()[-1]), stdout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return out, results


def close(a: dict, b: dict) -> None:
    """Two ``read_metrics`` histories: losses to TOL, shot counts exactly."""
    assert sorted(a) == sorted(b)
    for model in a:
        for k in ("train_loss", "test_loss"):
            np.testing.assert_allclose(a[model][k], b[model][k], atol=TOL["float64"], err_msg=f"{model} {k}")
        for k in ("shots", "executions"):
            np.testing.assert_array_equal(a[model][k], b[model][k], err_msg=f"{model} {k}")


@pytest.mark.slow
def test_two_processes_equal_one_process(one_process, two_processes):
    out, results = two_processes
    infos = [info for info, _ in results]
    assert [i["process"] for i in infos] == [0, 1]
    assert all(i["processes"] == 2 and i["devices"] == 4 and i["local_devices"] == 2 for i in infos)
    assert all(i["exit_codes"] == [0, 0, 0] for i in infos)
    # the resumed two-epoch run equals the uninterrupted one-process run
    close(read_metrics(out / "run"), read_metrics(one_process / "run"))
    assert len((out / "run" / "metrics.jsonl").read_text().splitlines()) == 2  # one writer: 2 epochs, no repeats
    # only process 0 prints the run's table and the sweep files; the sweep points are split i, i+P
    (_, log0), (_, log1) = results
    assert log0.count("test loss") == 2 + 2 and log1.count("test loss") == 1  # 2 runs + its 2 points / 1 point
    assert "(process 0 of 2: points [0, 2])" in log0 and "(process 1 of 2: points [1])" in log1
    assert "sweep index:" in log0 and "sweep index:" not in log1
    index = json.loads((out / "sweep" / "sweep-tiny.json").read_text())
    ref = json.loads((one_process / "sweep" / "sweep-tiny.json").read_text())
    assert [e["point"] for e in index] == [e["point"] for e in ref] == [{"train.seed": s} for s in (1, 2, 3)]
    for e, r in zip(index, ref):
        close(read_metrics(e["run_dir"]), read_metrics(r["run_dir"]))
        assert not (Path(e["run_dir"]) / ".lock").exists()


def test_shards_split_a_sweep_and_merge(config, one_process, tmp_path, capsys):
    sw = str(tmp_path / "sw")
    args = ["sweep", config, *SWEEP, "--run-dir", sw, "--no-progress"]
    assert main([*args, "--shard", "0/2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"slpa-jax sweep: 2 of 3 run(s) (shard 0/2) -> {sw}")
    assert "sweep incomplete: 1 of 3 point(s) not finished:\n  [1] tiny-seed2 {'train.seed': 2}" in out
    assert not (tmp_path / "sw" / "sweep-tiny.json").exists()
    # a merge before every shard has finished names the missing points
    assert main([*args, "--merge"]) == 2
    err = capsys.readouterr().err
    assert "error: sweep incomplete: 1 of 3 point(s) not finished:" in err and "[1] tiny-seed2" in err
    assert main([*args, "--shard", "1/2"]) == 0  # the last shard completes the sweep and writes its files
    assert "sweep index:" in capsys.readouterr().out
    index = json.loads((tmp_path / "sw" / "sweep-tiny.json").read_text())
    ref = json.loads((one_process / "sweep" / "sweep-tiny.json").read_text())
    assert [e["point"] for e in index] == [e["point"] for e in ref]
    for e, r in zip(index, ref):  # the same process and device: the same numbers
        a, b = read_metrics(e["run_dir"]), read_metrics(r["run_dir"])
        for k in a["SC"]:
            np.testing.assert_array_equal(a["SC"][k], b["SC"][k])
    assert main([*args, "--merge"]) == 0 and "sweep index:" in capsys.readouterr().out


def test_shard_and_distributed_options_are_checked(config, capsys):
    assert sweep_slice(7, (1, 3)) == [1, 4] and sweep_slice(7, (0, 1), (1, 2)) == [1, 3, 5]
    assert sweep_slice(7, (0, 2), (1, 2)) == [2, 6] and parse_shard("2/5") == (2, 5)
    for bad in ("2/2", "x/3", "1", "-1/2"):
        with pytest.raises(
            ValueError, match=rf"--shard: expected I/N with integers 0 <= I < N \(e.g. 0/4\), got '{bad}'"
        ):
            parse_shard(bad)
    assert main(["sweep", config, "--shard", "3/2"]) == 2
    assert "--shard: expected I/N" in capsys.readouterr().err
    assert main(["run", config, "--process-id", "1"]) == 2
    assert capsys.readouterr().err.strip() == "slpa-jax run: error: --process-id: only with --distributed"
    assert main(["run", config, "--devices", "0", "--dry-run"]) == 2
    assert "config key 'train.devices': expected 'all', an int >= 1" in capsys.readouterr().err
    assert main(["run", config, "--devices", "99", "--dry-run"]) == 0  # validated against the devices when run
    assert "devices: 99" in capsys.readouterr().out
