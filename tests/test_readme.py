"""The README's Python example runs as written and its printed claims hold."""

import re
from pathlib import Path

import numpy as np


def test_readme_example_runs():
    src = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", src, re.S).group(1).replace("print(", "(")
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["sj"].dla_dimension(ns["bc"].circuit) == 60
    assert int(ns["ledger_b"].executions) == 24 and int(ns["ledger_b"].shots) == 24_000
    assert int(ns["ledger_ps"].executions) == 8 and int(ns["ledger_ps"].shots) == 8_000
    assert np.isfinite(float(ns["est"]))
