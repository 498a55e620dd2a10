"""The code base is ruff-clean and ruff-formatted (ruff is part of the test extra, so CI enforces both)."""

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

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


def test_a_warning_from_our_code_is_an_error():
    # pyproject's filterwarnings turns a warning attributed to an slpa_jax module into an error
    with pytest.raises(UserWarning, match="probe"):
        warnings.warn_explicit("probe", UserWarning, "pauli.py", 1, module="slpa_jax.core.pauli")
