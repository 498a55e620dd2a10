"""The docstring examples of every slpa_jax module run as doctests (x64 on, as in every test)."""

import doctest
import importlib
import pkgutil

import pytest

import slpa_jax

MODULES = sorted(m.name for m in pkgutil.walk_packages(slpa_jax.__path__, "slpa_jax."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(name: str) -> list[doctest.DocTest]:
    mod = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(mod, name) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in _examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed"


def test_the_engine_and_its_main_entry_points_carry_examples():
    with_examples = {name for name in MODULES if _examples(name)}
    for name in (
        "slpa_jax.core.pauli",
        "slpa_jax.core.circuit",
        "slpa_jax.core.gates",
        "slpa_jax.measure.expectation",
        "slpa_jax.measure.estimator",
        "slpa_jax.blocks.catalogue",
        "slpa_jax.blocks.slpa",
    ):
        assert name in with_examples, f"{name} has no docstring example"
