"""Strict test settings: x64 on, rank promotion raises (style.md item 13)."""

import os
import sys

# Two xdist workers on a 2-core machine: one BLAS thread each avoids oversubscription (70x slowdowns seen).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

sys.path.insert(0, os.path.dirname(__file__))

#: One tolerance table keyed by dtype (style.md item 11).
TOL = {"complex128": 1e-10, "float64": 1e-10, "complex64": 2e-5, "float32": 2e-5}
