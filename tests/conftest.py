"""Strict test settings: x64 on, rank promotion raises (style.md item 13)."""

import os
import sys

# Two xdist workers on a 2-core machine: one BLAS thread each avoids oversubscription (70x slowdowns seen).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

sys.path.insert(0, os.path.dirname(__file__))

#: The tolerance tables, keyed by dtype (style.md item 11); tests use these instead of literal numbers.
#: TOL: results computed through a simulation or a sum of many terms in that precision.
TOL = {"complex128": 1e-10, "float64": 1e-10, "complex64": 2e-5, "float32": 2e-5}
#: EPS: results of a few exact-arithmetic operations (table entries, single gates, closed forms).
EPS = {"complex128": 1e-12, "float64": 1e-12, "complex64": 1e-6, "float32": 1e-6}
#: Method tolerances that are not set by a dtype (finite differences, iterative eigensolvers) are
#: named constants in the test that uses them.
