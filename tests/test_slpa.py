"""SLPA builder, block detection and the paper's circuits (spec sections 3 and 5)."""

import itertools

import numpy as np
import pytest
from reference import pauli_matrix, random_label, rotation_matrix

from slpa_jax.blocks.ansatze import fig10_sc, fig10_slpa, paper_nsc, paper_sc, paper_slpa
from slpa_jax.blocks.slpa import BlockCircuit, build_slpa, detect_blocks
from slpa_jax.blocks.stabilizer import StabilizerGroup
from slpa_jax.core.circuit import Circuit

# spec section 5, copied from the text
SPEC_SC = "XXII IIYY IZZI XIIX YYII IIZZ IXXI YIIY ZZII IIXX IYYI ZIIZ".split()
SPEC_NSC = "XIII IXII IIXI IIIX YIII IYII IIYI IIIY ZZII IZZI IIZZ ZIIZ".split()
_PRODUCT = {("I", c): c for c in "IXYZ"} | {(c, "I"): c for c in "IXYZ"} | {(c, c): "I" for c in "XYZ"}
_PRODUCT |= {("X", "Y"): "Z", ("Y", "X"): "Z", ("Y", "Z"): "X", ("Z", "Y"): "X", ("Z", "X"): "Y", ("X", "Z"): "Y"}


def letters_product(a: str, b: str) -> str:
    """Unsigned product of two labels, letter by letter (independent of slpa_jax.pauli)."""
    return "".join(_PRODUCT[(p, q)] for p, q in zip(a, b))


def dense_commute(a: str, b: str) -> bool:
    ma, mb = pauli_matrix(a), pauli_matrix(b)
    return np.allclose(ma @ mb, mb @ ma)


def dense_valid_block(gens, obs_terms, a, c) -> bool:
    """Block conditions for rotations [a, c) by dense matrices."""
    members = gens[a:c]
    if not all(dense_commute(p, q) for p, q in itertools.combinations(members, 2)):
        return False
    for later in list(gens[c:]) + list(obs_terms):
        if len({dense_commute(p, later) for p in members}) > 1:
            return False
    return True


def test_paper_slpa_matches_spec():
    bc = paper_slpa()
    expect = [
        letters_product(lab, s)
        for b in range(24)
        for lab in [SPEC_SC[b % 12]]
        for s in ("IIII", "XXXX", "ZZZZ", "YYYY")
    ]
    assert bc.circuit.generators.labels() == expect
    assert bc.blocks == tuple((4 * b, 4 * b + 4) for b in range(24))
    assert bc.n_params == 96 and bc.observable.paulis.labels() == ["XXII"]
    assert [r.param for r in bc.circuit.rotations] == list(range(96))
    fig3 = paper_slpa(12, logicals="XXII IIYY IZZI XIIX YYII IIZZ XIIX YIIY IIZZ XXII YIIY IZZI".split())
    assert fig3.circuit.generators.labels()[32:36] == [
        letters_product("IIZZ", s) for s in ("IIII", "XXXX", "ZZZZ", "YYYY")
    ]


def test_paper_sc_nsc_match_spec():
    sc, nsc = paper_sc(), paper_nsc()
    assert sc.circuit.generators.labels() == SPEC_SC * 8
    assert nsc.circuit.generators.labels() == SPEC_NSC * 8
    assert sc.n_params == nsc.n_params == 96
    assert max(sc.block_sizes) <= 2 and sum(s == 1 for s in sc.block_sizes) >= 90


def test_fig10_circuits_match_spec():
    # n = 6, layers 0 and 1 by hand from the spec's rule
    sc = fig10_sc(6, 2)
    assert sc.circuit.generators.labels() == ["XXIIII", "IIYYII", "IIIIZZ", "IXXIII", "IIIYYI", "ZIIIIZ"]
    bc = fig10_slpa(6, 2)
    expect = [
        letters_product(p, s) for p in sc.circuit.generators.labels() for s in ("IIIIII", "XXXXXX", "YYYYYY", "ZZZZZZ")
    ]
    assert bc.circuit.generators.labels() == expect
    assert bc.blocks == tuple((4 * b, 4 * b + 4) for b in range(6))
    assert bc.observable.paulis.labels() == ["XXIIII"]
    assert fig10_slpa(8, 3).circuit.num_rotations == 3 * 4 * 4


def gradient_operators(labels, params, obs):
    """Dense Gamma_j = (i/2)[G_j^H, O^H] (spec section 2), float64 reference."""
    dim = 2 ** len(obs)
    us = [rotation_matrix(lab, t) for lab, t in zip(labels, params)]
    full = np.eye(dim, dtype=complex)
    for u in us:
        full = u @ full
    o_h = full.conj().T @ pauli_matrix(obs) @ full
    out = []
    prefix = np.eye(dim, dtype=complex)
    for lab, u in zip(labels, us):
        prefix = u @ prefix
        g_h = prefix.conj().T @ pauli_matrix(lab) @ prefix
        out.append(0.5j * (g_h @ o_h - o_h @ g_h))
    return out


def test_slpa_block_gradient_operators_commute_and_interleaving_breaks_it():
    rng = np.random.default_rng(0)
    bc = paper_slpa(3)
    labels = bc.circuit.generators.labels()
    gam = gradient_operators(labels, rng.uniform(0, 2 * np.pi, 12), "XXII")
    for a, c in bc.blocks:
        for j, k in itertools.combinations(range(a, c), 2):
            assert np.linalg.norm(gam[j] @ gam[k] - gam[k] @ gam[j]) < 1e-10
    # interleave block 1 (logical IIYY) with block 2 (IZZI, anticommuting): L1 s0, L2 s0, L1 s1, L2 s1, ...
    inter = labels[:4] + [labels[i] for pair in zip(range(4, 8), range(8, 12)) for i in pair]
    gam2 = gradient_operators(inter, rng.uniform(0, 2 * np.pi, 12), "XXII")
    block1 = [4, 6, 8, 10]  # positions of the original block-1 rotations
    worst = max(np.linalg.norm(gam2[j] @ gam2[k] - gam2[k] @ gam2[j]) for j, k in itertools.combinations(block1, 2))
    assert worst > 1e-3
    with pytest.raises(ValueError, match="do not commute; a block's generators must commute pairwise"):
        BlockCircuit(Circuit.from_labels(inter), "XXII", ((0, 4), (4, 8), (8, 12)))


def test_build_slpa_other_group_n5():
    group = StabilizerGroup.from_generators(["ZZIII", "IZZII", "IIZZI", "IIIZZ"])
    xs, zs = group.logical_operators()
    logicals = [xs[0].letters, "ZIIII", letters_product(xs[0].letters, "ZIIII")]
    bc = build_slpa(group, logicals, "ZIIII")
    assert bc.blocks == ((0, 16), (16, 32), (32, 48))
    elems = [p.letters for p in group.elements()]
    for b, lab in enumerate(logicals):
        assert bc.circuit.generators.labels()[16 * b : 16 * b + 16] == [letters_product(lab, s) for s in elems]
    gens = bc.circuit.generators.labels()
    for a, c in bc.blocks:
        assert dense_valid_block(gens, ["ZIIII"], a, c)


def test_build_slpa_errors():
    stabs = ["XXXX", "ZZZZ"]
    with pytest.raises(ValueError, match="stabilizer 'ZZZZ' does not commute with observable term 'XIII'"):
        build_slpa(stabs, ["XXII"], "XIII")
    with pytest.raises(ValueError, match="logical 1 'XIII' anticommutes with stabilizer 'ZZZZ'.*outside the norm"):
        build_slpa(stabs, ["XXII", "XIII"], "XXII")
    with pytest.raises(ValueError, match="logical 0 '-YYYY' is in S"):
        build_slpa(stabs, ["-YYYY"], "XXII")
    with pytest.raises(ValueError, match="logical 0 'IIII' is in S"):
        build_slpa(stabs, ["IIII"], "XXII")
    with pytest.raises(ValueError, match="logicals is empty"):
        build_slpa(stabs, [], "XXII")
    with pytest.raises(TypeError, match="logicals must be a sequence"):
        build_slpa(stabs, "XXII", "XXII")
    with pytest.raises(ValueError, match="acts on 3 qubits, expected n=4"):
        from slpa_jax.core.pauli import Pauli

        build_slpa(stabs, [Pauli("XXI")], "XXII")
    with pytest.raises(ValueError, match="is not Hermitian"):
        build_slpa(stabs, ["iXXII"], "XXII")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detect_blocks_valid_maximal_and_minimal(seed):
    rng = np.random.default_rng(seed)
    n = 3
    pool = [random_label(rng, n) for _ in range(5)]
    labels = [pool[i] for i in rng.integers(0, 5, size=14)]  # repeats make longer blocks likely
    obs = random_label(rng, n)
    bc = detect_blocks(Circuit.from_labels(labels), obs)
    for a, c in bc.blocks:
        assert dense_valid_block(labels, [obs], a, c)
        if c < len(labels):
            assert not dense_valid_block(labels, [obs], a, c + 1)
    # fewest blocks: dynamic programming over dense validity
    best = [0] + [10**9] * len(labels)
    for c in range(1, len(labels) + 1):
        best[c] = min(best[a] + 1 for a in range(c) if dense_valid_block(labels, [obs], a, c))
    assert bc.n_blocks == best[-1]


def test_detect_blocks_on_sc_and_shuffled_slpa():
    sc = paper_sc(24)
    gens = sc.circuit.generators.labels()
    for a, c in sc.blocks:
        assert dense_valid_block(gens, ["XXII"], a, c)
    slpa = paper_slpa(6)
    d = detect_blocks(slpa.circuit, "XXII")
    assert d.n_blocks <= slpa.n_blocks
    rng = np.random.default_rng(3)
    labels = slpa.circuit.generators.labels()
    perm = rng.permutation(len(labels))
    shuffled = detect_blocks(Circuit.from_labels([labels[i] for i in perm]), "XXII")
    shuffled_gens = shuffled.circuit.generators.labels()
    for a, c in shuffled.blocks:
        assert dense_valid_block(shuffled_gens, ["XXII"], a, c)


def test_blockcircuit_errors():
    circ = Circuit.from_labels(["XXII", "ZZII", "XIII", "IIZZ"])
    with pytest.raises(ValueError, match="block 1 = \\(2, 2\\) must start at rotation 2 and be non-empty"):
        BlockCircuit(circ, "XXII", ((0, 2), (2, 2), (2, 4)))
    with pytest.raises(ValueError, match="blocks cover rotations 0..2 but the circuit has 4"):
        BlockCircuit(circ, "XXII", ((0, 2), (2, 3)))
    with pytest.raises(ValueError, match="differ in their commutation with the later generator 'IXII'"):
        BlockCircuit(
            Circuit.from_labels(["XXII", "ZZII", "IZZI", "IIZZ"]).rotation("IXII", 4),
            "ZZZZ",
            ((0, 1), (1, 2), (2, 4), (4, 5)),
        )
    with pytest.raises(ValueError, match="differ in their commutation with the observable term 'XIII'"):
        BlockCircuit(Circuit.from_labels(["ZZII", "IZII"]), "XIII", ((0, 2),))
    with pytest.raises(ValueError, match="blocks must be \\(start, stop\\) pairs"):
        BlockCircuit(circ, "XXII", (0, 4))
    with pytest.raises(ValueError, match="Clifford gate H"):
        detect_blocks(Circuit.from_labels(["XXII"]).gate("H", 0), "XXII")
    with pytest.raises(ValueError, match="the circuit has no rotations"):
        detect_blocks(Circuit(2), "XX")
    with pytest.raises(TypeError, match="expected a Circuit"):
        detect_blocks(["XX"], "XX")
    with pytest.raises(ValueError, match="n_blocks must be a positive int"):
        paper_slpa(0)
    with pytest.raises(ValueError, match="paper_slpa: logicals is empty"):
        paper_slpa(2, logicals=[])
