"""The package layout: one concern per subpackage, imports flowing one way, no private names imported.

Ranks (a module may import from its own subpackage or a strictly lower rank):
core 0 < measure 1 < noise 1.5 < blocks 2 < analysis 3 = train 3 < export 4 < cli 5 < the top-level face 6.
"""

import ast
import importlib
import pathlib

import pytest

import slpa_jax

ROOT = pathlib.Path(slpa_jax.__file__).parent
RANK = {
    "core": 0,
    "measure": 1,
    "noise": 1.5,  # imports core and measure only
    "blocks": 2,
    "analysis": 3,
    "train": 3,
    "export": 4,
    "cli": 5,
    "__init__": 6,
}
MODULES = sorted(ROOT.rglob("*.py"))


def _unit(parts: tuple[str, ...]) -> str:
    """The layout unit of a module path relative to the package: its subpackage, or 'cli'/'__init__'."""
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(source: str, rel: tuple[str, ...]):
    """(target parts, imported names, line) of every intra-package import in ``source`` at path ``rel``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("slpa_jax"):
                    continue
                target = tuple(node.module.split(".")[1:])
            else:
                base = rel[:-1][: len(rel) - node.level]
                target = base + tuple((node.module or "").split(".") if node.module else ())
            yield target, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("slpa_jax."):
                    yield tuple(a.name.split(".")[1:]), [], node.lineno


def _violations(source: str, rel: tuple[str, ...]) -> list[str]:
    """Upward imports and private-name imports of a module at package-relative path ``rel``."""
    here = _unit(rel)
    out = []
    for target, names, line in _imports(source, rel):
        where = f"{'/'.join(rel)}:{line}"
        # `from . import x` at the top level names the unit x
        there = (target[0] if target else names[0]).removesuffix(".py")
        if there != here:
            if there not in RANK:
                out.append(f"{where}: import of unknown unit {there!r}")
            elif RANK[there] >= RANK[here]:
                out.append(f"{where}: {here} (rank {RANK[here]}) imports {there} (rank {RANK[there]})")
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private:
            out.append(f"{where}: imports private names {private} across modules; make them public")
    return out


def test_every_module_lives_in_a_ranked_unit():
    units = {_unit(p.relative_to(ROOT).parts) for p in MODULES}
    assert units <= set(RANK), sorted(units - set(RANK))
    assert {"core", "measure", "blocks", "analysis", "train", "export"} <= units


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way_and_name_no_private_helper(path):
    assert _violations(path.read_text(), path.relative_to(ROOT).parts) == []


def test_the_rule_catches_a_violation():
    # the checker must be able to fail: an upward import, a sideways one and a private name
    rel = ("measure", "probe.py")
    assert "measure (rank 1) imports train (rank 3)" in _violations("from ..train.models import make_model\n", rel)[0]
    sideways = _violations("from ..analysis.dla import DLA\n", ("train", "probe.py"))
    assert "train (rank 3) imports analysis (rank 3)" in sideways[0]
    assert "private names ['_LETTERS']" in _violations("from ..core.pauli import _LETTERS\n", rel)[0]
    assert _violations("from ..core.pauli import Pauli\nfrom .ledger import ShotLedger\n", rel) == []


@pytest.mark.parametrize("unit", [u for u in RANK if u not in ("cli", "__init__")])
def test_each_subpackage_face_exports_only_what_exists(unit):
    mod = importlib.import_module(f"slpa_jax.{unit}")
    assert mod.__doc__, unit
    for name in mod.__all__:
        assert hasattr(mod, name), f"slpa_jax.{unit}.__all__ names missing {name!r}"


def test_top_level_face_exports_only_what_exists():
    for name in slpa_jax.__all__:
        assert hasattr(slpa_jax, name), name
