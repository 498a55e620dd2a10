"""The code base is ruff-clean and ruff-formatted (ruff is part of the test extra, so CI enforces both)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["slpa_jax", "tests", "benchmarks", "experiments"]


def _ruff() -> str:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    assert Path(ruff).exists(), "ruff is not installed: pip install -e '.[test]'"
    return ruff


def test_ruff_clean():
    out = subprocess.run([_ruff(), "check", *TREES], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_formatted():
    out = subprocess.run([_ruff(), "format", "--check", *TREES], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, "run `ruff format slpa_jax tests benchmarks experiments`\n" + out.stdout + out.stderr
