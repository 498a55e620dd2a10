"""Stabilizer groups, normalizer and logical operators, checked against dense brute force."""

import itertools

import numpy as np
import pytest
from reference import pauli_matrix, random_label

from slpa_jax.blocks.stabilizer import StabilizerGroup
from slpa_jax.core.pauli import Pauli


def signed_matrix(label: str) -> np.ndarray:
    sign = -1.0 if label.startswith("-") else 1.0
    return sign * pauli_matrix(label.lstrip("+-"))


def dense_group(gen_labels, n):
    """All products of subsets of the generators, as dense matrices (brute force)."""
    mats = [signed_matrix(g) for g in gen_labels]
    out = []
    for bits in itertools.product([0, 1], repeat=len(mats)):
        m = np.eye(2**n, dtype=complex)
        for b, g in zip(bits, mats):
            if b:
                m = m @ g
        out.append(m)
    return out


def all_labels(n):
    return ["".join(t) for t in itertools.product("IXYZ", repeat=n)]


def random_group(rng, n, r):
    """Greedy random commuting, independent generators with -I not generated (dense checks only)."""
    gens = []
    while len(gens) < r:
        lab = random_label(rng, n)
        lab = ("-" if rng.integers(2) else "") + lab
        m = signed_matrix(lab)
        if any(not np.allclose(m @ signed_matrix(g), signed_matrix(g) @ m) for g in gens):
            continue
        group = dense_group(gens, n)
        if any(np.allclose(m, e) or np.allclose(-m, e) for e in group):
            continue
        gens.append(lab)
    return gens


def test_paper_group_elements_in_spec_order():
    s = StabilizerGroup.from_generators(["XXXX", "ZZZZ"])
    assert s.elements().labels() == ["IIII", "XXXX", "ZZZZ", "YYYY"]
    assert (s.n, s.n_generators, s.n_logical, s.size) == (4, 2, 2, 4)


@pytest.mark.parametrize("seed,n,r", [(0, 3, 1), (1, 3, 2), (2, 4, 2), (3, 4, 3), (4, 2, 2)])
def test_elements_match_dense_group(seed, n, r):
    rng = np.random.default_rng(seed)
    gens = random_group(rng, n, r)
    s = StabilizerGroup.from_generators(gens)
    elems = s.elements()
    assert len(elems) == 2**r
    dense = dense_group(gens, n)
    got = [p.to_matrix() for p in elems]
    for d in dense:
        assert sum(np.allclose(d, g) for g in got) == 1
    assert not any(np.allclose(g, -np.eye(2**n)) for g in got)


@pytest.mark.parametrize("seed,n,r", [(5, 3, 2), (6, 3, 1), (7, 4, 2)])
def test_contains_and_normalizer_brute_force(seed, n, r):
    rng = np.random.default_rng(seed)
    gens = random_group(rng, n, r)
    s = StabilizerGroup.from_generators(gens)
    dense = dense_group(gens, n)
    for lab in all_labels(n):
        m = pauli_matrix(lab)
        for sign in ("", "-"):
            expect = any(np.allclose((-m if sign else m), d) for d in dense)
            assert s.contains(sign + lab) == expect
        assert s.contains(lab, up_to_sign=True) == any(np.allclose(m, d) or np.allclose(-m, d) for d in dense)
        commutes = all(np.allclose(m @ d, d @ m) for d in dense)
        assert s.in_normalizer(lab) == commutes
        assert s.is_logical(lab) == (commutes and not s.contains(lab, up_to_sign=True))


@pytest.mark.parametrize("seed,n,r", [(8, 3, 1), (9, 4, 2), (10, 4, 1), (11, 3, 0), (12, 4, 3)])
def test_logical_operators_symplectic_basis(seed, n, r):
    rng = np.random.default_rng(seed)
    gens = random_group(rng, n, r)
    s = StabilizerGroup.from_generators(gens, n=n)
    xs, zs = s.logical_operators()
    k = n - r
    assert len(xs) == len(zs) == k
    xm = [pauli_matrix(p.letters) for p in xs]
    zm = [pauli_matrix(p.letters) for p in zs]
    for i, j in itertools.product(range(k), repeat=2):
        anti_xz = np.allclose(xm[i] @ zm[j], -zm[j] @ xm[i])
        assert anti_xz == (i == j)
        assert np.allclose(xm[i] @ xm[j], xm[j] @ xm[i])
        assert np.allclose(zm[i] @ zm[j], zm[j] @ zm[i])
    for p in list(xs) + list(zs):
        assert s.in_normalizer(p) and not s.contains(p, up_to_sign=True)
    # stabilizers and logicals generate the whole normalizer: 2**(2n - r) unsigned strings
    normalizer = {lab for lab in all_labels(n) if s.in_normalizer(lab)}
    assert len(normalizer) == 2 ** (2 * n - r)
    gen_all = [Pauli(g) for g in gens] + list(xs) + list(zs)
    generated = set()
    for bits in itertools.product([0, 1], repeat=len(gen_all)):
        p = Pauli.identity(n)
        for b, g in zip(bits, gen_all):
            if b:
                p = p * g
        generated.add(p.letters)
    assert generated == normalizer


def test_generated_by_accepts_whole_group_and_signs():
    s = StabilizerGroup.generated_by(["IIII", "XXXX", "ZZZZ", "YYYY"])
    assert s.generators.labels() == ["XXXX", "ZZZZ"]
    # X^6 Y^6 = i^6 Z^6 = -Z^6: a group only up to sign
    with pytest.raises(ValueError, match="so -I is in the group"):
        StabilizerGroup.generated_by(["IIIIII", "XXXXXX", "YYYYYY", "ZZZZZZ"])
    s6 = StabilizerGroup.generated_by(["IIIIII", "XXXXXX", "YYYYYY", "ZZZZZZ"], up_to_sign=True)
    assert s6.elements().labels() == ["IIIIII", "XXXXXX", "YYYYYY", "-ZZZZZZ"]


def test_trivial_group():
    s = StabilizerGroup.from_generators([], n=2)
    assert s.elements().labels() == ["II"]
    xs, zs = s.logical_operators()
    assert len(xs) == len(zs) == 2
    assert s.in_normalizer("XY") and not s.contains("XY")


def test_errors():
    with pytest.raises(ValueError, match="do not commute; a stabilizer group must be abelian"):
        StabilizerGroup.from_generators(["XX", "ZI"])
    with pytest.raises(ValueError, match="not independent"):
        StabilizerGroup.from_generators(["XX", "ZZ", "-YY"])  # XX ZZ = -YY
    with pytest.raises(ValueError, match="-I is in the group"):
        StabilizerGroup.from_generators(["XX", "ZZ", "YY"])
    with pytest.raises(ValueError, match="not independent"):
        StabilizerGroup.from_generators(["XX", "II"])
    with pytest.raises(ValueError, match="-I is in the group"):
        StabilizerGroup.from_generators(["-II"])
    with pytest.raises(ValueError, match="is not Hermitian"):
        StabilizerGroup.from_generators(["iXX"])
    with pytest.raises(ValueError, match="no generators and no n given"):
        StabilizerGroup.from_generators([])
    with pytest.raises(TypeError, match="wrap it in a list"):
        StabilizerGroup.from_generators("XXXX")
    with pytest.raises(ValueError, match="acts on 3 qubits, expected n=2"):
        StabilizerGroup.from_generators([Pauli("XX"), Pauli("ZZZ")])
    with pytest.raises(TypeError, match="entry 0 must be a Pauli label or Pauli"):
        StabilizerGroup.from_generators([3])
    s = StabilizerGroup.from_generators(["XXXX", "ZZZZ"])
    with pytest.raises(ValueError, match="acts on 3 qubits, expected n=4"):
        s.contains(Pauli("XXX"))
    with pytest.raises(TypeError, match="expected a Pauli label or Pauli"):
        s.in_normalizer(5)
