"""Tests for slpa_jax.sampling: exact multinomial counts, parity estimates, binomial fast path."""

import math
from itertools import product

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from conftest import EPS
from reference import random_state

from slpa_jax.measure.sampling import (
    binomial_estimate,
    check_shots,
    estimate_from_counts,
    sample_counts,
    z_index_masks,
)


def _keys(n, seed=0):
    return jax.random.split(jax.random.key(seed), n)


def _outcomes(n_cat, shots):
    """All count vectors of length n_cat summing to shots."""
    return [c for c in product(range(shots + 1), repeat=n_cat) if sum(c) == shots]


@pytest.mark.parametrize("unroll", [0, 2])
def test_counts_follow_the_exact_multinomial_pmf(unroll):
    # Chi-square of the empirical distribution of whole count vectors against the multinomial pmf.
    p = np.array([0.1, 0.2, 0.3, 0.4])
    shots, n_samples = 3, 20000
    draw = jax.jit(jax.vmap(lambda k: sample_counts(jnp.asarray(p), shots, key=k, unroll=unroll)))
    counts = np.asarray(draw(_keys(n_samples, seed=unroll)))
    outcomes = _outcomes(4, shots)
    pmf = np.array(
        [math.factorial(shots) / np.prod([math.factorial(c) for c in o]) * np.prod(p ** np.array(o)) for o in outcomes]
    )
    assert np.isclose(pmf.sum(), 1.0)
    index = {o: i for i, o in enumerate(outcomes)}
    observed = np.bincount([index[tuple(row)] for row in counts], minlength=len(outcomes))
    expected = n_samples * pmf
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 < scipy.stats.chi2.ppf(1 - 1e-6, df=len(outcomes) - 1)


def test_counts_mean_and_covariance_match_multinomial():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=8)
    p[[2, 5]] = 0.0  # impossible outcomes must never be drawn
    p /= p.sum()
    shots, n_samples = 50, 4000
    draw = jax.jit(jax.vmap(lambda k: sample_counts(jnp.asarray(3.0 * p), shots, key=k)))  # unnormalised ok
    counts = np.asarray(draw(_keys(n_samples, seed=1))).astype(float)
    assert np.all(counts.sum(1) == shots)
    assert np.all(counts[:, [2, 5]] == 0)
    cov = shots * (np.diag(p) - np.outer(p, p))
    se_mean = np.sqrt(np.diag(cov) / n_samples)
    live = p > 0
    assert np.all(np.abs(counts.mean(0) - shots * p)[live] <= 4 * se_mean[live])
    emp = np.cov(counts, rowvar=False)
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n_samples)
    assert np.all(np.abs(emp - cov)[np.ix_(live, live)] <= 5 * se_cov[np.ix_(live, live)])


def test_large_shots_on_unrolled_tree_from_amplitudes():
    # Scan levels plus unrolled levels; 10**6 shots exercise the BTRS branch of the binomial.
    n, shots = 6, 10**6
    psi = random_state(np.random.default_rng(2), n)
    draw = jax.jit(lambda psi, key: sample_counts(psi, shots, key=key, unroll=1))
    counts = np.asarray(draw(jnp.asarray(psi), jax.random.key(2)))
    assert counts.dtype == np.int32 and counts.shape == (2**n,)
    assert counts.sum() == shots
    expected = shots * np.abs(psi) ** 2
    chi2 = np.sum((counts - expected) ** 2 / expected)
    dof = 2**n - 1
    assert abs(chi2 - dof) < 6 * np.sqrt(2 * dof)


def test_basis_state_gets_every_shot():
    psi = np.zeros(16, complex)
    psi[11] = 1j
    counts = np.asarray(sample_counts(jnp.asarray(psi), 777, key=jax.random.key(0)))
    assert counts[11] == 777 and counts.sum() == 777


def test_same_key_same_counts_and_transforms_agree():
    p = jnp.asarray(np.random.default_rng(3).dirichlet(np.ones(8)))
    key = jax.random.key(5)
    a = sample_counts(p, 1000, key=key)
    np.testing.assert_array_equal(a, sample_counts(p, 1000, key=key))
    assert not np.array_equal(a, sample_counts(p, 1000, key=jax.random.key(6)))
    # jit with a traced shot count (as produced by a shot allocation) gives the same counts; vmap
    # over keys equals the per-key results.
    draw = jax.jit(jax.vmap(lambda k, s: sample_counts(p, s, key=k), in_axes=(0, None)))
    keys = jnp.stack([key, jax.random.key(6), jax.random.key(7)])
    batched = draw(keys, jnp.asarray(1000))
    np.testing.assert_array_equal(batched, np.stack([sample_counts(p, 1000, key=k) for k in keys]))


def test_estimate_from_counts_matches_brute_force():
    rng = np.random.default_rng(4)
    n, m = 4, 5
    counts = rng.integers(0, 50, size=2**n).astype(np.int32)
    z_masks = rng.integers(0, 2, size=(m, n)).astype(bool)
    signs = rng.choice([-1, 1], size=m)
    est, total = estimate_from_counts(jnp.asarray(counts), z_masks, signs)
    ref = np.zeros(m)
    for b in range(2**n):
        bits = np.array([(b >> (n - 1 - q)) & 1 for q in range(n)])  # label order: qubit 0 = MSB
        ref += counts[b] * signs * (-1.0) ** (z_masks.astype(int) @ bits)
    np.testing.assert_allclose(est, ref / counts.sum(), atol=EPS["float64"])
    assert int(total) == counts.sum()
    assert list(z_index_masks(np.eye(3, dtype=bool))) == [4, 2, 1]


def test_binomial_estimate_moments():
    expval, shots, n_samples = 0.3, 40, 4000
    est = np.asarray(jax.jit(jax.vmap(lambda k: binomial_estimate(expval, shots, key=k)))(_keys(n_samples, seed=7)))
    var = (1 - expval**2) / shots
    assert abs(est.mean() - expval) <= 4 * np.sqrt(var / n_samples)
    # Sample variance within 5 standard errors (fourth moment estimated from the samples).
    mu4 = np.mean((est - est.mean()) ** 4)
    assert abs(est.var(ddof=1) - var) <= 5 * np.sqrt((mu4 - var**2) / n_samples)
    grid = est * shots
    assert np.allclose(grid, np.round(grid)) and np.all(np.abs(est) <= 1)


@pytest.mark.parametrize(
    ("shots", "err", "match"),
    [
        (0, ValueError, r"shots: expected a positive int, got 0"),
        (-3, ValueError, r"shots: expected a positive int, got -3"),
        (1.5, TypeError, r"shots: expected a positive int, got float"),
        (True, TypeError, r"shots: expected a positive int, got a bool"),
        (np.array(0), ValueError, r"shots: expected positive shot counts"),
        (np.array(2.0), TypeError, r"shots: expected an integer shot count"),
        (
            2**31,
            ValueError,
            r"shots: at most 2\*\*31 - 1 = 2147483647 shots per draw \(counts are int32\), got 2147483648",
        ),
        (np.array([10, 2**40]), ValueError, r"shots: at most 2\*\*31 - 1"),
    ],
)
def test_bad_shots_raise(shots, err, match):
    with pytest.raises(err, match=match):
        check_shots(shots)
    with pytest.raises(err, match=match):
        sample_counts(jnp.ones(4) / 4, shots, key=jax.random.key(0))


def test_bad_inputs_raise():
    p = jnp.ones(4) / 4
    with pytest.raises(ValueError, match=r"probs_or_state: expected a 1-D array of length 2\*\*n"):
        sample_counts(jnp.ones(3), 10, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"probs_or_state: expected a 1-D array"):
        sample_counts(jnp.ones((2, 2)), 10, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"sample_counts: key is required"):
        sample_counts(p, 10, key=None)
    with pytest.raises(ValueError, match=r"unroll: expected an int in \[0, 2\]"):
        sample_counts(p, 10, key=jax.random.key(0), unroll=3)
    with pytest.raises(ValueError, match=r"float32 probabilities sample at most 2\*\*24"):
        sample_counts(p.astype(jnp.float32), 2**24 + 1, key=jax.random.key(0))
    with pytest.raises(TypeError, match=r"counts: expected an integer histogram"):
        estimate_from_counts(jnp.ones(4), np.ones((1, 2), bool), [1])
    with pytest.raises(ValueError, match=r"counts: expected shape \(8,\)"):
        estimate_from_counts(jnp.ones(4, jnp.int32), np.ones((1, 3), bool), [1])
    with pytest.raises(ValueError, match=r"signs: expected shape \(2,\)"):
        estimate_from_counts(jnp.ones(4, jnp.int32), np.ones((2, 2), bool), [1])
    with pytest.raises(ValueError, match=r"z_masks: expected an \(m, n\) bool array"):
        z_index_masks(np.ones(3, bool))
    with pytest.raises(ValueError, match=r"binomial_estimate: key is required"):
        binomial_estimate(0.1, 10, key=None)
    # an int seed where a key is needed: a TypeError that says how to make a key
    with pytest.raises(TypeError, match=r"sample_counts: key: expected a jax.random key, got the int 3; pass key=jax"):
        sample_counts(p, 10, key=3)
    with pytest.raises(TypeError, match=r"binomial_estimate: key: expected a jax.random key, got the int 3"):
        binomial_estimate(0.1, 10, key=3)


# --- binomial() and multinomial(): exact draws without per-call loops ------------------------------

from slpa_jax.measure.sampling import binomial, multinomial  # noqa: E402


@pytest.mark.parametrize(
    "n, p",
    [
        (5, 0.3),  # inversion table covers every outcome
        (40, 0.1),  # inversion, mean 4
        (40, 0.5),  # BTRS, mean 20
        (1000, 0.85),  # reflected to q = 0.15, BTRS
        (200, 0.97),  # reflected to q = 0.03, inversion (mean 6)
    ],
)
def test_binomial_follows_the_exact_pmf(n, p):
    # chi-square of 100k draws against the binomial pmf (tail bins merged to >= 5 expected), in float64
    # (x64: proposals in a fori_loop) and, for the BTRS cases, float32 (proposals unrolled)
    for dt in (jnp.float64, jnp.float32) if n * min(p, 1 - p) >= 10 else (jnp.float64,):
        _chi_square_binomial(n, p, dt)


def _chi_square_binomial(n, p, dt):
    n_draws = 100_000
    draws = np.asarray(
        jax.jit(lambda k: binomial(k, jnp.full(n_draws, float(n), dt), jnp.asarray(p, dt)))(jax.random.key(n))
    )
    assert np.all(draws == np.round(draws)) and draws.min() >= 0 and draws.max() <= n
    pmf = scipy.stats.binom.pmf(np.arange(n + 1), n, p)
    live = np.flatnonzero(n_draws * pmf >= 5)
    lo, hi = live[0], live[-1]
    observed = np.bincount(np.clip(draws.astype(int), lo, hi) - lo, minlength=hi - lo + 1)
    expected = n_draws * np.concatenate([[pmf[: lo + 1].sum()], pmf[lo + 1 : hi], [pmf[hi:].sum()]])
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 < scipy.stats.chi2.ppf(1 - 1e-6, df=len(expected) - 1)


def test_binomial_moments_edges_and_keys():
    # means and variances within 4 standard errors for many lanes at once; 50k BTRS lanes make
    # the rare continuation loop run (a lane's 4 proposals all rejected w.p. ~1e-3)
    n = jnp.asarray([0.0, 1.0, 7.0, 9.0, 60.0, 1000.0, 10.0**6, 50.0])
    p = jnp.asarray([0.3, 0.5, 0.0, 1.0, 0.5, 0.02, 0.4, 0.999])
    draws = np.asarray(jax.jit(jax.vmap(lambda k: binomial(k, n, p)))(_keys(50_000, seed=3)))
    mean, var = np.asarray(n * p), np.asarray(n * p * (1 - p))
    k = draws.shape[0]
    assert np.all(np.abs(draws.mean(0) - mean) <= 4 * np.sqrt(var / k) + 1e-12)
    nz = var > 0
    assert np.all(np.abs(draws.var(0)[nz] / var[nz] - 1) <= 4 * np.sqrt(2 / k))
    assert np.all(draws[:, ~nz] == mean[~nz])  # n = 0, p = 0 and p = 1 are deterministic
    many = jax.jit(lambda key: binomial(key, jnp.full(50_000, 300.0), 0.5))
    a = np.asarray(many(jax.random.key(4)))
    np.testing.assert_array_equal(a, np.asarray(many(jax.random.key(4))))  # same key, same draws
    assert not np.array_equal(a, np.asarray(many(jax.random.key(5))))
    assert binomial(jax.random.key(0), 10, jnp.float32(0.5)).dtype == jnp.float32


@pytest.mark.parametrize("shots", [20, 1000])
def test_multinomial_mean_variance_covariance(shots):
    rng = np.random.default_rng(7)
    p = rng.uniform(size=(3, 8))
    p[1, [0, 5]] = 0.0  # impossible outcomes are never drawn
    p /= p.sum(1, keepdims=True)
    n_samples = 8_000
    draw = jax.jit(jax.vmap(lambda k: multinomial(k, jnp.asarray(2.0 * p), shots)))  # unnormalised ok
    counts = np.asarray(draw(_keys(n_samples, seed=shots))).astype(float)
    assert counts.shape == (n_samples, 3, 8) and np.all(counts.sum(-1) == shots)
    assert np.all(counts[:, 1, [0, 5]] == 0)
    for row in range(3):
        c, pr = counts[:, row], p[row]
        cov = shots * (np.diag(pr) - np.outer(pr, pr))
        live = pr > 0
        se = np.sqrt(np.diag(cov) / n_samples)
        assert np.all(np.abs(c.mean(0) - shots * pr)[live] <= 4 * se[live])
        emp = np.cov(c, rowvar=False)
        # distribution-free standard error of each covariance (few shots: far from Gaussian)
        centred = c - shots * pr
        se_cov = np.std(centred[:, :, None] * centred[:, None, :], axis=0) / np.sqrt(n_samples)
        assert np.all(np.abs(emp - cov)[np.ix_(live, live)] <= 5 * se_cov[np.ix_(live, live)])
    again = np.asarray(draw(_keys(n_samples, seed=shots)))
    np.testing.assert_array_equal(again, counts.astype(np.int32))  # same keys, same counts


def test_multinomial_tree_path_for_large_outcome_spaces():
    # K = 64 takes the binary-tree path (K > 32): exact means and the multinomial variance per outcome,
    # zero-probability outcomes never drawn, counts summing to the shots
    rng = np.random.default_rng(11)
    p = rng.uniform(size=64) ** 3
    p[[3, 40]] = 0.0
    p /= p.sum()
    shots, n_samples = 500, 4000
    counts = np.asarray(jax.jit(jax.vmap(lambda k: multinomial(k, jnp.asarray(p), shots)))(_keys(n_samples, 12)))
    assert np.all(counts.sum(-1) == shots) and np.all(counts[:, [3, 40]] == 0)
    var = shots * p * (1 - p)
    live = p > 0
    assert np.all(np.abs(counts.mean(0) - shots * p)[live] <= 4 * np.sqrt(var / n_samples)[live])
    # variance within 5 distribution-free standard errors (rare outcomes are far from Gaussian)
    dev2 = (counts - shots * p) ** 2
    se_var = dev2.std(0) / np.sqrt(n_samples)
    seen = shots * p >= 1  # outcomes too rare to appear in the sample have no variance estimate
    assert np.all(np.abs(dev2.mean(0) - var)[seen] <= 5 * se_var[seen])


def test_multinomial_rejects_bad_shapes():
    with pytest.raises(ValueError, match="K a power of two"):
        multinomial(jax.random.key(0), jnp.ones((2, 3)), 10)


# --- the counter-based stream: Threefry, lane independence, continuation -------------------------

from slpa_jax.measure import sampling  # noqa: E402


def test_threefry_known_answers_and_jax_equality():
    # the sampler's unrolled Threefry-2x32 (20 rounds) against the Random123 known-answer vectors
    # (Salmon et al. 2011) and, bit for bit, against jax's own hash on random keys and counters
    from jax.extend.random import threefry_2x32

    from slpa_jax.measure.sampling import _threefry2x32

    u = np.uint32
    for key, ctr, want in [
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]:
        got = _threefry2x32(*(jnp.asarray(u(w)) for w in key + ctr))
        assert tuple(int(w) for w in got) == want
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2**32, 2, dtype=np.uint32)
    ctr = rng.integers(0, 2**32, (2, 1000), dtype=np.uint32)
    ref = np.asarray(threefry_2x32(jnp.asarray(key), jnp.asarray(ctr.reshape(-1)))).reshape(2, 1000)
    got = _threefry2x32(jnp.asarray(key[0]), jnp.asarray(key[1]), jnp.asarray(ctr[0]), jnp.asarray(ctr[1]))
    np.testing.assert_array_equal(np.stack([np.asarray(w) for w in got]), ref)


def _mixed_lanes(size=3000, seed=0):
    """Counts and probabilities that take every branch: inversion (small mean), BTRS (mean >= 10),
    reflected p > 1/2, n below the inversion table, n = 0 and p in {0, 1}."""
    rng = np.random.default_rng(seed)
    n = rng.choice([0.0, 3.0, 25.0, 200.0, 1000.0, 1e5], size=size)
    p = rng.choice([0.0, 1.0, 0.004, 0.03, 0.3, 0.5, 0.8, 0.999], size=size) * rng.uniform(0.9, 1.0, size)
    return jnp.asarray(n), jnp.asarray(np.clip(p, 0, 1))


def test_draws_do_not_depend_on_how_many_proposals_a_pass_tests(monkeypatch):
    # a lane takes the first accepted of its own proposal stream, so testing 1 proposal per lane in the
    # vectorised pass (most BTRS lanes then settle in the continuation loop, 3 lanes and 1 proposal per
    # pass) and a 2-term inversion table (the rest term by term) gives the same draws bit for bit as the
    # default pass, whose law the chi-square tests above check. Also for multinomial counts.
    n, p = _mixed_lanes()
    probs = jnp.asarray(np.random.default_rng(1).dirichlet(np.ones(8), size=(40,)))
    key = jax.random.key(3)
    draws = lambda: np.asarray(jax.jit(lambda k: binomial(k, n, p))(key))  # noqa: E731
    counts = lambda: np.asarray(jax.jit(lambda k: multinomial(k, probs, 1000))(key))  # noqa: E731
    ref, ref_counts = draws(), counts()
    # the other code path for the pass's proposals (unrolled <-> fori_loop) draws the same
    monkeypatch.setattr(sampling, "_UNROLL_MAX_ITEMSIZE", 4 if sampling._UNROLL_MAX_ITEMSIZE > 4 else 8)
    np.testing.assert_array_equal(draws(), ref)
    for name, value in [("_MIN_ROUNDS", 1), ("_MAX_ROUNDS", 1), ("_CONTINUE_WIDTH", 3), ("_MORE_ROUNDS", 1)]:
        monkeypatch.setattr(sampling, name, value)
    monkeypatch.setattr(sampling, "_INVERSION_TERMS", 2)
    np.testing.assert_array_equal(draws(), ref)
    np.testing.assert_array_equal(counts(), ref_counts)
    assert np.all(ref == np.round(ref)) and np.all((ref >= 0) & (ref <= np.asarray(n)))
    assert np.all(ref[np.asarray(p) == 0] == 0) and np.all(ref[np.asarray(p) == 1] == np.asarray(n)[np.asarray(p) == 1])


def test_a_lane_draws_the_same_alone_in_a_batch_under_vmap_and_as_a_slice():
    # a lane's draw depends on its key and its index in the whole batch only: vmap over keys gives the
    # per-key draws, and rows of a batch drawn as a slice (rows/n_rows, as one device of several does)
    # get the draws of the whole call
    n, p = _mixed_lanes(size=600, seed=2)
    keys = _keys(3, seed=9)
    one = jax.jit(lambda k, n, p: binomial(k, n, p))
    each = np.stack([np.asarray(one(k, n, p)) for k in keys])
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(lambda k: binomial(k, n, p)))(keys)), each)
    rows = jnp.asarray([5, 0, 17, 3])
    nb, pb = n.reshape(30, 20), p.reshape(30, 20)
    part = jax.jit(lambda k, n, p: binomial(k, n, p, rows=rows, n_rows=30))(keys[0], nb[rows], pb[rows])
    np.testing.assert_array_equal(np.asarray(part), np.asarray(one(keys[0], nb, pb))[np.asarray(rows)])
    probs = jnp.asarray(np.random.default_rng(4).dirichlet(np.ones(16), size=(30,)))
    whole = jax.jit(lambda k, p: multinomial(k, p, 500))(keys[1], probs)
    part = jax.jit(lambda k, p: multinomial(k, p, 500, rows=rows, n_rows=30))(keys[1], probs[rows])
    np.testing.assert_array_equal(np.asarray(part), np.asarray(whole)[np.asarray(rows)])


def test_vmap_draws_each_members_lanes_in_one_call(monkeypatch):
    # under vmap the batch becomes a leading lane axis of one call (sampling._lane_draws_vmap): every
    # member still draws what it draws alone, for batched keys, batched probabilities, both, nested
    # vmaps, and with the continuation loop settling most lanes across the whole flattened batch
    n, p = _mixed_lanes(size=60, seed=5)
    keys = _keys(6, seed=11)
    ps = jnp.stack([p, p[::-1], jnp.roll(p, 7)])
    one = jax.jit(lambda k, p: binomial(k, n, p))
    probs = jnp.asarray(np.random.default_rng(6).dirichlet(np.ones(8), size=(3, 5)))
    single = jax.jit(lambda k, q: multinomial(k, q, 700))

    def check(all_cases=True):
        if all_cases:
            got = jax.jit(jax.vmap(lambda k: binomial(k, n, p)))(keys)
            np.testing.assert_array_equal(np.asarray(got), np.stack([np.asarray(one(k, p)) for k in keys]))
            got = jax.jit(jax.vmap(lambda q: binomial(keys[0], n, q)))(ps)
            np.testing.assert_array_equal(np.asarray(got), np.stack([np.asarray(one(keys[0], q)) for q in ps]))
        got = jax.jit(jax.vmap(jax.vmap(lambda k, q: binomial(k, n, q), in_axes=(0, None)), in_axes=(None, 0)))(
            keys[:2], ps
        )
        ref = np.stack([np.stack([np.asarray(one(k, q)) for k in keys[:2]]) for q in ps])
        np.testing.assert_array_equal(np.asarray(got), ref)
        got = jax.jit(jax.vmap(lambda k, q: multinomial(k, q, 700)))(keys[:3], probs)
        ref = np.stack([np.asarray(single(k, q)) for k, q in zip(keys[:3], probs)])
        np.testing.assert_array_equal(np.asarray(got), ref)
        assert np.all(np.asarray(got).sum(-1) == 700)

    check()
    for name, value in [("_MIN_ROUNDS", 1), ("_MAX_ROUNDS", 1), ("_CONTINUE_WIDTH", 3), ("_MORE_ROUNDS", 1)]:
        monkeypatch.setattr(sampling, name, value)
    check(all_cases=False)  # the references keep their (default) compiled programs


def test_draws_have_zero_derivative_under_grad_and_vmap():
    # counts are constant in the probabilities almost everywhere: grad (also vmapped) through the
    # samplers gives zeros, not an error
    key = jax.random.key(0)
    p = jnp.full(3, 0.3)
    np.testing.assert_array_equal(np.asarray(jax.grad(lambda p: jnp.sum(binomial(key, 100.0, p)))(p)), 0.0)
    counts = jax.vmap(jax.grad(lambda p: jnp.sum(multinomial(key, jnp.stack([p, 1 - p], -1), 100).astype(p.dtype))))
    np.testing.assert_array_equal(np.asarray(jax.jit(counts)(jnp.stack([p, p]))), 0.0)
