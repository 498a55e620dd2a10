"""The README's Python example runs as written and its printed claims hold.

It runs in a fresh interpreter with JAX's defaults, as a user runs it: float32/complex64 (no x64) and
XLA's default CPU compiler settings. The rest of the suite compiles with cheaper settings (conftest.py),
so this test also keeps the default compilation path covered.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CHECK = """
import json, re, sys
import numpy as np
src = open(sys.argv[1]).read()
code = re.search(r"```python\\n(.*?)```", src, re.S).group(1).replace("print(", "(")
ns = {}
exec(compile(code, "README.md", "exec"), ns)
print(json.dumps({
    "dla": int(ns["sj"].dla_dimension(ns["bc"].circuit)),
    "ledger_b": [int(ns["ledger_b"].executions), int(ns["ledger_b"].shots)],
    "ledger_ps": [int(ns["ledger_ps"].executions), int(ns["ledger_ps"].shots)],
    "est_finite": bool(np.isfinite(float(ns["est"]))),
    "x64": bool(__import__("jax").config.jax_enable_x64),
}))
"""


def test_readme_example_runs():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(readme)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-4000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"dla": 60, "ledger_b": [24, 24_000], "ledger_ps": [8, 8_000], "est_finite": True, "x64": False}
    assert re.search(r"```python\n", readme.read_text())
