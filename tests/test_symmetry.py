"""Symmetry finding and the automatic SLPA (analysis.symmetry) against brute force and theory."""

import itertools

import numpy as np
import pytest
from reference import brute_commutes

from slpa_jax.analysis.dla import dla_dimension
from slpa_jax.blocks.ansatze import NSC_PATTERN, SC_PATTERN
from slpa_jax.blocks.stabilizer import StabilizerGroup
from slpa_jax.blocks.symmetry import choose_logicals, commutant, find_symmetry, symmetric_slpa


def xxz_terms(n: int, delta: float = 0.5, hz: float = 0.0, periodic: bool = False):
    terms = []
    for i in range(n - 1 + int(periodic)):
        j = (i + 1) % n
        for letter, c in (("X", 1.0), ("Y", 1.0), ("Z", delta)):
            lab = ["I"] * n
            lab[i] = lab[j] = letter
            terms.append((c, "".join(lab)))
    terms += [(hz, "I" * i + "Z" + "I" * (n - 1 - i)) for i in range(n) if hz]
    return terms


def _span(labels: list[str], n: int) -> set[str]:
    """Every unsigned product of the given strings (brute force over subsets)."""
    out = set()
    for bits in itertools.product((0, 1), repeat=len(labels)):
        x = np.zeros(n, bool)
        z = np.zeros(n, bool)
        for b, lab in zip(bits, labels):
            if b:
                x ^= np.array([c in "XY" for c in lab])
                z ^= np.array([c in "ZY" for c in lab])
        out.add("".join("IXZY"[int(a) + 2 * int(b)] for a, b in zip(x, z)))
    return out


@pytest.mark.parametrize("terms", [["XXI", "IZZ"], ["XYZ", "ZZI", "IIX"], ["XII"], ["XXX", "ZZZ", "YYY"]])
def test_commutant_is_every_commuting_string(terms):
    n = 3
    brute = {
        "".join(p) for p in itertools.product("IXYZ", repeat=n) if all(brute_commutes("".join(p), t) for t in terms)
    }
    gens = commutant(terms).labels()
    assert _span(gens, n) == brute
    assert 2 ** len(gens) == len(brute)  # independent generators


def test_the_papers_symmetry_is_found_from_the_sc_pattern():
    group = find_symmetry(list(SC_PATTERN) + ["XXII"])
    assert _span(group.generators.labels(), 4) == {"IIII", "XXXX", "YYYY", "ZZZZ"}


@pytest.mark.parametrize("n", [4, 6])
def test_xxz_chain_has_the_z2_parities(n):
    assert _span(find_symmetry(xxz_terms(n)).generators.labels(), n) == {"I" * n, "X" * n, "Y" * n, "Z" * n}
    # a longitudinal field keeps only the Z parity
    assert _span(find_symmetry(xxz_terms(n, hz=0.3)).generators.labels(), n) == {"I" * n, "Z" * n}


def test_odd_chain_center_is_trivial_and_maximal_mode_extends_it():
    terms = [t for _, t in xxz_terms(5)]
    assert find_symmetry(terms).n_generators == 0  # X^5 and Z^5 anticommute: no common center
    group = find_symmetry(terms, mode="maximal")
    assert group.n_generators == 1
    g = group.generators.labels()[0]
    assert g in {"XXXXX", "YYYYY", "ZZZZZ"} and all(brute_commutes(g, t) for t in terms)
    with pytest.raises(ValueError, match="mode must be one of"):
        find_symmetry(terms, mode="all")


@pytest.mark.parametrize(
    "problem, observable, n",
    [
        (list(SC_PATTERN), "XXII", 4),
        ([t for _, t in xxz_terms(6)], "ZZIIII", 6),
        ([t for _, t in xxz_terms(4)], "XXII", 4),
    ],
)
def test_chosen_logicals_reach_the_largest_symmetric_dla(problem, observable, n):
    group = find_symmetry(problem + [observable])
    k = n - group.n_generators
    logicals = choose_logicals(group)
    assert len(logicals) == 3 * k - 1
    assert all(group.is_logical(lab) for lab in logicals)
    bc = symmetric_slpa(problem, observable, n_blocks=2 * len(logicals))
    # spec: block b = {Lbar_b s : s in S}; the DLA is su(2^k) on every code space times the |S| sectors
    assert dla_dimension(bc.circuit) == (4**k - 1) * 2**group.n_generators
    # low weight: on these chains every chosen logical has weight <= 2 (vs n for X^n-like products)
    assert max(sum(c != "I" for c in lab) for lab in logicals) <= 2


def test_symmetric_slpa_errors():
    with pytest.raises(ValueError, match="no Pauli symmetry"):
        symmetric_slpa(list(NSC_PATTERN), "XXII", n_blocks=4)
    with pytest.raises(ValueError, match="n_blocks must be a positive int"):
        symmetric_slpa(list(SC_PATTERN), "XXII", n_blocks=0)
    with pytest.raises(ValueError, match="does not commute with observable"):
        symmetric_slpa(list(SC_PATTERN), "ZIII", n_blocks=2, stabilizers=["XXXX", "ZZZZ"])
    with pytest.raises(TypeError, match="StabilizerGroup"):
        choose_logicals(["XXXX"])
    assert choose_logicals(StabilizerGroup.from_generators(["ZI", "IZ"])) == []  # k = 0
