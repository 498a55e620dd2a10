"""Shot sampling of measurement settings: exact multinomial counts and parity estimates.

A measurement setting is a state already rotated into a basis where every measured Pauli is diagonal
(``signs[k] * Z^{z_masks[k]}``, see ``diagonalize``). Measuring it ``N`` times gives a histogram of
basis states ``counts`` ~ Multinomial(N, |psi|^2). Every Pauli of the setting is then estimated
from the *same* counts (correlated estimates, as on hardware):
``<P_k> ~ signs[k] * sum_b counts[b] (-1)**popcount(b & zmask_k) / N``.

Multinomial sampler (exact, cost independent of N): the counts are split down the binary tree of
index bits, most significant bit (qubit 0) first. At level l a node holding ``c`` shots sends
``Binomial(c, p_left / (p_left + p_right))`` of them to its left child (``jax.random.binomial``:
BTRS rejection for large ``c p``, geometric inversion for small). The product of these conditional
binomials is exactly Multinomial(N, p); there are ``2**n - 1`` binomial draws in ``n`` vectorised
levels, so the cost is ``O(2**n)`` whatever ``N`` is. (``jax.random.multinomial`` scans over the
categories one at a time: ``2**n`` sequential steps, far slower for statevectors.) To keep compile
time low the upper levels run in one ``lax.scan`` over a padded buffer and only the last few, large
levels are unrolled (a runtime overhead below about 2x the pure tree).

Counts are drawn in the probabilities' float dtype (float32 holds integers exactly up to 2**24, so
float32 sampling needs ``shots <= 2**24``; use float64 probabilities, or x64 states, beyond that).
Randomness only through explicit keys: same key, same shots, same probabilities -> same counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..core.keys import check_key
from ..core.pauli import index_weights

__all__ = [
    "check_shots",
    "sample_counts",
    "estimate_from_counts",
    "parity_means",
    "z_index_masks",
    "binomial_estimate",
    "binomial",
    "multinomial",
    "MAX_SHOTS",
]

_F32_MAX_SHOTS = 2**24
#: The largest shot count of one draw: counts are int32.
MAX_SHOTS = 2**31 - 1


def check_shots(shots, where: str = "shots"):
    """Validate a shot count: a positive int (or a traced integer array, checked when concrete).

    Returns ``shots`` unchanged. Raises TypeError for non-integers, ValueError for ``shots <= 0``.
    """
    if isinstance(shots, (bool, np.bool_)):
        raise TypeError(f"{where}: expected a positive int, got a bool ({shots!r})")
    if isinstance(shots, (int, np.integer)):
        if shots <= 0:
            raise ValueError(f"{where}: expected a positive int, got {int(shots)}")
        if shots > MAX_SHOTS:
            raise ValueError(
                f"{where}: at most 2**31 - 1 = {MAX_SHOTS} shots per draw (counts are int32), got {int(shots)}"
            )
        return shots
    if isinstance(shots, jax.core.Tracer):
        if not jnp.issubdtype(shots.dtype, jnp.integer):
            raise TypeError(f"{where}: expected an integer shot count, got dtype {shots.dtype}")
        return shots
    if isinstance(shots, (np.ndarray, jax.Array)):
        if not jnp.issubdtype(shots.dtype, jnp.integer):
            raise TypeError(f"{where}: expected an integer shot count, got dtype {shots.dtype}")
        if np.any(np.asarray(shots) <= 0):
            raise ValueError(f"{where}: expected positive shot counts, got {np.asarray(shots)}")
        if np.any(np.asarray(shots) > MAX_SHOTS):
            raise ValueError(f"{where}: at most 2**31 - 1 = {MAX_SHOTS} shots per draw (counts are int32)")
        return shots
    raise TypeError(f"{where}: expected a positive int, got {type(shots).__name__} ({shots!r})")


def _check_key(key, where: str):
    if key is None:
        raise ValueError(f"{where}: key is required when shots are drawn; pass key=jax.random.key(seed)")
    return check_key(key, f"{where}: key")


def _probabilities(probs_or_state) -> jax.Array:
    x = jnp.asarray(probs_or_state)
    if x.ndim != 1 or x.shape[0] < 2 or (x.shape[0] & (x.shape[0] - 1)):
        raise ValueError(f"probs_or_state: expected a 1-D array of length 2**n (n >= 1), got shape {tuple(x.shape)}")
    if jnp.iscomplexobj(x):
        return jnp.real(x) ** 2 + jnp.imag(x) ** 2
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _unrolled_levels(n: int) -> int:
    """How many of the last (largest) tree levels to unroll; the rest share one scan."""
    if n <= 10:
        return 0
    u = 1
    while n - u > 2**u:
        u += 1
    return u


def _split_level(counts, row):
    """One tree level on a padded buffer (module level, so eager scans reuse their compilation)."""
    ratio, key = row
    left = binomial(key, counts, ratio)
    return jnp.stack([left, counts - left], axis=-1).reshape(-1)[: counts.shape[0]], None


def sample_counts(probs_or_state, shots, *, key, unroll: int | None = None) -> jax.Array:
    """Exact multinomial histogram of ``shots`` computational-basis measurements.

    Args:
        probs_or_state: (2**n,) probabilities (real; need not be normalised) or amplitudes (complex,
            probabilities ``|a|**2``). Index order: qubit q is index bit n-1-q.
        shots: positive int (may be a traced integer, e.g. from a shot allocation).
        key: jax.random key.
        unroll: how many of the last (largest) tree levels to unroll, 0..n; the others share one
            ``lax.scan`` (default: 0 for n <= 10, else the smallest u with n - u <= 2**u). Changes
            compile time and speed, not the distribution (the random stream does depend on it).

    Returns:
        (2**n,) int32 counts summing to ``shots``. Cost O(2**n), independent of ``shots``.
    """
    probs = _probabilities(probs_or_state)
    shots = check_shots(shots)
    _check_key(key, "sample_counts")
    fdt = probs.dtype
    if fdt == jnp.float32 and isinstance(shots, (int, np.integer)) and shots > _F32_MAX_SHOTS:
        raise ValueError(
            f"shots: float32 probabilities sample at most 2**24 = {_F32_MAX_SHOTS} shots exactly, got {shots}; "
            "use float64 probabilities (enable x64)"
        )
    n = int(probs.shape[0]).bit_length() - 1
    if unroll is None:
        unroll = _unrolled_levels(n)
    elif isinstance(unroll, bool) or not isinstance(unroll, (int, np.integer)) or not 0 <= unroll <= n:
        raise ValueError(f"unroll: expected an int in [0, {n}] (number of tree levels), got {unroll!r}")
    sums = [probs]  # sums[l] = total probability of each node at tree level l (2**l nodes)
    for _ in range(n):
        sums.append(sums[-1].reshape(-1, 2).sum(-1))
    sums = sums[::-1]

    def left_ratio(level):
        tot, left = sums[level], sums[level + 1][0::2]
        safe = jnp.where(tot > 0, tot, 1)
        return jnp.clip(jnp.where(tot > 0, left / safe, 0.5), 0, 1)

    keys = jax.random.split(key, n)
    total = jnp.asarray(shots).astype(fdt)
    n_scan = n - int(unroll)
    if n_scan > 0:
        width = 2**n_scan  # buffer: level l uses its first 2**l entries, the rest hold 0 shots
        ratios = jnp.stack([jnp.pad(left_ratio(lv), (0, width - 2**lv), constant_values=0.5) for lv in range(n_scan)])

        counts = jnp.zeros(width, fdt).at[0].set(total)
        counts = lax.scan(_split_level, counts, (ratios, keys[:n_scan]))[0]
    else:
        counts = total.reshape(1)
    for lv in range(n_scan, n):
        left = binomial(keys[lv], counts, left_ratio(lv))
        counts = jnp.stack([left, counts - left], axis=-1).reshape(-1)
    return counts.astype(jnp.int32)


# --- exact binomial and multinomial draws without per-call loops -----------------------------------

_BTRS_ROUNDS = 4  # BTRS proposals drawn at once (acceptance >= ~0.8 each: a lane needs the loop w.p. < ~2e-3)
_INVERSION_TERMS = 16  # pmf table of the inversion branch (mean < 10 after the p <= 1/2 reflection)
_BTRS_MIN_MEAN = 10.0  # BTRS needs n p >= 10 (Hoermann 1993)
_STIRLING_TAIL = np.array(
    [
        0.0810614667953272,
        0.0413406959554092,
        0.0276779256849983,
        0.02079067210376509,
        0.0166446911898211,
        0.0138761288230707,
        0.0118967099458917,
        0.0104112652619720,
        0.00925546218271273,
        0.00833056343336287,
    ]
)


def _stirling_tail(k):
    """``lgamma(k + 1) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2]`` for integer-valued ``k >= 0``."""
    table = jnp.asarray(_STIRLING_TAIL, k.dtype)[jnp.clip(k, 0, 9).astype(jnp.int32)]
    kp1sq = (k + 1) * (k + 1)
    big = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return jnp.where(k <= 9, table, big)


def _btrs_round(u, v, n, q, consts):
    """One BTRS proposal (Hoermann 1993, as in ``jax.random.binomial``): ``(k, accepted)``."""
    a, b, c, v_r, r, alpha, m = consts
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = jnp.floor((2 * a / us + b) * u + c)
    reject = (k < 0) | (k > n)
    accept1 = (us >= 0.07) & (v <= v_r)
    ks = jnp.clip(k, 0, n)
    lv = jnp.log(v * alpha / (a / (us * us) + b))
    bound = (
        (m + 0.5) * jnp.log((m + 1) / (r * (n - m + 1)))
        + (n + 1) * jnp.log((n - m + 1) / (n - ks + 1))
        + (ks + 0.5) * jnp.log(r * (n - ks + 1) / (ks + 1))
        + _stirling_tail(m)
        + _stirling_tail(n - m)
        - _stirling_tail(ks)
        - _stirling_tail(n - ks)
    )
    return ks, accept1 | (~reject & (lv <= bound))


def _btrs_consts(n, q):
    sd = jnp.sqrt(n * q * (1 - q))
    b = 1.15 + 2.53 * sd
    return (
        -0.0873 + 0.0248 * b + 0.01 * q,
        b,
        n * q + 0.5,
        0.92 - 4.2 / b,
        q / (1 - q),
        (2.83 + 5.1 / b) * sd,
        jnp.floor((n + 1) * q),
    )


def binomial(key, n, p, *, rows=None, n_rows=None) -> jax.Array:
    """Exact ``Binomial(n, p)`` draws, elementwise over the broadcast shape of ``n`` and ``p``.

    Same law as ``jax.random.binomial`` without its per-call rejection loops: after reflecting to
    ``q = min(p, 1 - p)``, lanes with mean ``n q < 10`` invert the CDF on a ``16``-term pmf table
    (one uniform), the others take the first accepted of ``4`` BTRS proposals drawn at once
    (Hoermann's transformed rejection, the algorithm of ``jax.random.binomial``). A lane takes one
    branch, so both share one block of ``8`` uniforms per lane, drawn by ONE ``jax.random.uniform``
    call. Only a lane whose table or proposals run out (inversion: probability below ``1e-6``; BTRS:
    below ``2e-3``) enters a ``lax.while_loop`` that continues it exactly (next table term / further
    proposals), so the loop almost never iterates. Every step is a vectorised pass over all lanes:
    batch a whole step's draws (settings, samples, seeds) into one call.

    Args:
        key: jax.random key (same key, same ``n`` and ``p`` -> same draws).
        n: counts, integer-valued floats (or ints) ``>= 0``.
        p: success probabilities in [0, 1] (clipped).
        rows, n_rows: optional: the lanes are rows ``rows`` (an int array, one entry per index of
            axis 0) of a batch of ``n_rows`` rows, and get exactly the draws a call on that whole
            batch gives them (a device computing a slice of a batch draws what one device would).

    Returns:
        draws in the float dtype of ``p`` (``n``'s if ``p`` is not floating), integer-valued, ``0..n``.
    """
    n, p = _binomial_args(n, p)
    rows = _check_rows(rows, n_rows, p.shape, "binomial")
    return _binomial_draw(key, _uniform_rows(key, (_UNIFORMS,), p.shape, p.dtype, rows, n_rows), n, p, rows, n_rows)


#: Uniforms per binomial lane: the inversion branch reads the first, a BTRS lane all of them in pairs.
_UNIFORMS = 2 * _BTRS_ROUNDS


def _binomial_args(n, p):
    p = jnp.asarray(p)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    return jnp.broadcast_arrays(jnp.asarray(n).astype(p.dtype), p)


def _check_rows(rows, n_rows, shape, where: str):
    if rows is None and n_rows is None:
        return None
    if rows is None or not isinstance(n_rows, (int, np.integer)) or n_rows < 1:
        raise ValueError(
            f"{where}: rows and n_rows go together (an int array and a positive int), got {rows!r}, {n_rows!r}"
        )
    rows = jnp.asarray(rows)
    if rows.ndim != 1 or not len(shape) or rows.shape[0] != shape[0]:
        raise ValueError(
            f"{where}: rows must have one entry per row of the batch {tuple(shape)}, got shape {rows.shape}"
        )
    return rows


def _uniform_rows(key, lead: tuple, shape, dtype, rows, n_rows) -> jax.Array:
    """Uniforms of shape ``lead + shape``; with ``rows``, rows ``rows`` (axis ``len(lead)``) of the
    draw for a batch of ``n_rows`` rows, so a slice of a batch gets the numbers of the whole."""
    if rows is None:
        return jax.random.uniform(key, lead + tuple(shape), dtype)
    full = jax.random.uniform(key, lead + (int(n_rows),) + tuple(shape[1:]), dtype)
    return jnp.take(full, rows, axis=len(lead))


def _inversion(u0, n, q):
    """The inversion branch on a ``_INVERSION_TERMS``-term pmf table, one elementwise recurrence
    (unrolled: XLA fuses it into one pass): ``(x, pmf of the last term, cdf of the last term, ratio)``."""
    dt = q.dtype
    ratio = q / (1 - q)
    pm = jnp.exp(n * jnp.log1p(-q))
    cd = pm
    x = (cd <= u0).astype(dt)
    for k in range(1, _INVERSION_TERMS):
        pm = pm * (jnp.maximum(n - (k - 1), 0) * (ratio / k))
        cd = cd + pm
        x = x + (cd <= u0).astype(dt)
    return x, pm, cd, ratio


def _binomial_draw(key, u, n, p, rows=None, n_rows=None) -> jax.Array:
    """``binomial`` from pre-drawn uniforms ``u`` (``(_UNIFORMS,) + shape``); ``key`` only seeds the
    (rare) continuation loop, so it must differ from every key that drew ``u``'s siblings' loops.
    ``rows``/``n_rows``: the continuation draws are those of the whole batch (``binomial``)."""
    shape, dt = p.shape, p.dtype
    p = jnp.clip(p, 0, 1)
    flip = p > 0.5
    q = jnp.where(flip, 1 - p, p)
    use_btrs = n * q >= _BTRS_MIN_MEAN
    # inversion branch: X = #{k < T : cdf_k <= u} on a T-term pmf table
    qs = jnp.where(use_btrs, 0.0, q)  # keep the BTRS lanes' tables finite
    x_inv, pm, cd, ratio = _inversion(u[0], n, qs)
    ok_inv = (x_inv < _INVERSION_TERMS) | (n < _INVERSION_TERMS)
    x_inv = jnp.minimum(x_inv, n)
    # BTRS branch: the first accepted of R proposals, all R drawn and tested in one pass
    nb = jnp.where(use_btrs, n, 2 * _BTRS_MIN_MEAN)
    qb = jnp.where(use_btrs, q, 0.5)
    consts = _btrs_consts(nb, qb)
    kr, acc = _btrs_round(u[0::2], u[1::2], nb[None], qb[None], tuple(c[None] for c in consts))
    x_btrs = jnp.take_along_axis(kr, jnp.argmax(acc, axis=0)[None], axis=0)[0]
    ok_btrs = jnp.any(acc, axis=0)
    x = jnp.where(use_btrs, x_btrs, x_inv)
    ok = jnp.where(use_btrs, ok_btrs, ok_inv)
    u0 = u[0]

    def more(carry):  # lanes still open: one more BTRS proposal, or the next inversion term
        i, x, ok, pm, cd = carry
        uv = _uniform_rows(jax.random.fold_in(key, i), (2,), shape, dt, rows, n_rows)
        kb, accb = _btrs_round(uv[0], uv[1], nb, qb, consts)
        pm = pm * jnp.maximum(n - (x - 1), 0) / jnp.maximum(x, 1) * ratio  # pmf_x (inversion lanes, x >= T)
        cd = cd + pm
        inv_done = (cd > u0) | (x >= n)
        open_ = ~ok
        x_new = jnp.where(use_btrs, jnp.where(accb, kb, x), jnp.where(inv_done, x, x + 1))
        ok_new = jnp.where(use_btrs, accb, inv_done)
        return i + 1, jnp.where(open_, x_new, x), ok | (open_ & ok_new), pm, cd

    carry = (jnp.ones((), jnp.int32), x, ok, pm, cd)
    x = lax.while_loop(lambda c: ~jnp.all(c[2]), more, carry)[1]
    return jnp.where(flip, n - x, x)


def multinomial(key, probs, shots, *, rows=None, n_rows=None) -> jax.Array:
    """Exact ``Multinomial(shots, probs)`` counts for a batch of small outcome spaces.

    Args:
        key: jax.random key.
        probs: (..., K) non-negative weights (need not be normalised), K a power of two; leading
            axes are a batch (settings, samples, seeds).
        shots: positive int, or an integer array broadcastable to the batch shape.
        rows, n_rows: optional, as in ``binomial``: the rows of axis 0 are rows ``rows`` of a batch of
            ``n_rows``, and get the counts a call on the whole batch gives them.

    Returns:
        (..., K) int32 counts, each row summing to its ``shots``.

    Exact conditional binomials, the whole batch in one ``binomial`` call per step and the steps in
    one ``lax.scan`` (one compiled binomial): for K <= 32 one category after another (K - 1 steps,
    K - 1 draws per row), above that the binary tree of ``sample_counts`` (log2 K steps); the method
    depends on K only. Same key, same inputs -> same counts.
    """
    probs = jnp.asarray(probs)
    if not jnp.issubdtype(probs.dtype, jnp.floating):
        probs = probs.astype(jnp.result_type(float))
    k = probs.shape[-1]
    if probs.ndim < 1 or k < 1 or (k & (k - 1)):
        raise ValueError(f"probs: expected shape (..., K) with K a power of two, got {tuple(probs.shape)}")
    levels = k.bit_length() - 1
    batch = probs.shape[:-1]
    rows = _check_rows(rows, n_rows, batch, "multinomial")
    total = jnp.broadcast_to(jnp.asarray(shots).astype(probs.dtype), batch)
    if levels == 0:
        return total[..., None].astype(jnp.int32)
    if k <= _SEQUENTIAL_MAX_K:
        return _multinomial_sequential(key, probs, total, rows, n_rows)
    return _multinomial_tree(key, probs, total, rows, n_rows)


#: Outcome spaces up to this size draw their categories one after another (K - 1 binomial lanes per
#: row); larger ones split a binary tree (log2 K scan steps of K / 2 lanes).
_SEQUENTIAL_MAX_K = 32


def _multinomial_sequential(key, probs, total, rows=None, n_rows=None):
    """Conditional binomials over the categories: ``X_j ~ Binomial(N - sum_{i<j} X_i, p_j / sum_{i>=j} p_i)``.

    One ``lax.scan`` of K - 1 steps, each one binomial over the whole batch: exactly K - 1 draws per row.
    The tail masses are summed directly (not ``1 - prefix``): when every later category has zero
    probability the ratio is exactly 1, so impossible outcomes never receive a shot.
    """
    rest = jnp.flip(jnp.cumsum(jnp.flip(probs, -1), -1), -1)  # rest[..., j] = sum_{i >= j} p_i
    ratio = jnp.where(rest > 0, probs / jnp.where(rest > 0, rest, 1), 0.0)[..., :-1]
    steps = probs.shape[-1] - 1
    k_u, k_loop = jax.random.split(key)
    # every uniform of every step in ONE draw (per-step key splits and draws cost more than the bits)
    u = _uniform_rows(k_u, (steps, _UNIFORMS), probs.shape[:-1], probs.dtype, rows, n_rows)

    def step(left, row):
        r, uj, j = row
        x = _binomial_draw(jax.random.fold_in(k_loop, j), uj, left, r, rows, n_rows)
        return left - x, x

    left, xs = lax.scan(step, total, (jnp.moveaxis(ratio, -1, 0), u, jnp.arange(steps)))
    return jnp.concatenate([jnp.moveaxis(xs, 0, -1), left[..., None]], -1).astype(jnp.int32)


def _multinomial_tree(key, probs, total, rows=None, n_rows=None):
    """The binary tree of ``sample_counts``, every level in one ``lax.scan`` over a (..., K) buffer:
    level l splits the first K/2 entries, of which its 2**l nodes are the first (the rest hold 0 shots
    and split into 0), so one binomial program serves all levels."""
    k = probs.shape[-1]
    batch = probs.shape[:-1]
    levels = k.bit_length() - 1
    sums = [probs]
    for _ in range(levels):
        sums.append(sums[-1].reshape(sums[-1].shape[:-1] + (-1, 2)).sum(-1))
    sums = sums[::-1]
    width = k // 2
    ratios = []
    for lv in range(levels):
        tot, left = sums[lv], sums[lv + 1][..., 0::2]
        r = jnp.where(tot > 0, left / jnp.where(tot > 0, tot, 1), 0.5)
        ratios.append(jnp.pad(r, [(0, 0)] * len(batch) + [(0, width - 2**lv)], constant_values=0.5))

    def level(counts, row):
        ratio, key = row
        nodes = counts[..., :width]
        lft = binomial(key, nodes, ratio, rows=rows, n_rows=n_rows)
        return jnp.stack([lft, nodes - lft], axis=-1).reshape(batch + (k,)), None

    counts = jnp.zeros(batch + (k,), probs.dtype).at[..., 0].set(total)
    counts = lax.scan(level, counts, (jnp.stack(ratios), jax.random.split(key, levels)))[0]
    return counts.astype(jnp.int32)


def z_index_masks(z_masks) -> np.ndarray | jax.Array:
    """(m, n) bool label-order Z masks -> (m,) int32 state-index masks (qubit q = index bit n-1-q)."""
    z = z_masks if isinstance(z_masks, jax.Array) else np.asarray(z_masks)
    if z.ndim != 2:
        raise ValueError(f"z_masks: expected an (m, n) bool array, got shape {tuple(z.shape)}")
    n = z.shape[1]
    if n > 30:
        raise ValueError(f"z_masks: statevector index masks need n <= 30, got n={n}")
    weights = index_weights(n).astype(np.int32)
    if isinstance(z, jax.Array):
        return jnp.sum(z.astype(jnp.int32) * weights, axis=1).astype(jnp.int32)
    return (z.astype(np.int32) * weights).sum(1).astype(np.int32)


def _signed_sum(weights, mask):
    """``sum_b weights[b] (-1)**popcount(b & mask)`` (scan body, module level for eager caching)."""
    idx = lax.iota(jnp.int32, weights.shape[0])
    odd = (lax.population_count(idx & mask) & 1).astype(bool)
    return weights, jnp.sum(jnp.where(odd, -weights, weights))


def parity_means(weights: jax.Array, index_masks) -> jax.Array:
    """(m,) ``sum_b weights[b] (-1)**popcount(b & mask_k)`` for each index mask (scan over masks).

    Integer ``weights`` (counts) are summed exactly in integers; float weights (probabilities) in
    their dtype.
    """
    masks = jnp.asarray(index_masks, jnp.int32)
    return lax.scan(_signed_sum, jnp.asarray(weights), masks)[1]


def estimate_from_counts(counts, z_masks, signs, *, dtype=None) -> tuple[jax.Array, jax.Array]:
    """Single-shot parity means of m diagonal Paulis from one histogram.

    Args:
        counts: (2**n,) integer histogram (from ``sample_counts`` of the rotated state).
        z_masks: (m, n) bool, label order (``Diagonalization.z_masks``).
        signs: (m,) +1/-1 (``Diagonalization.signs``).
        dtype: float dtype of the estimates (default: float64 under x64, else float32).

    Returns:
        ``(estimates, shots)``: (m,) estimates ``signs[k] * mean_shots (-1)**(b . z_masks[k])`` and the
        total number of shots ``counts.sum()``.
    """
    counts = jnp.asarray(counts)
    if not jnp.issubdtype(counts.dtype, jnp.integer):
        raise TypeError(f"counts: expected an integer histogram, got dtype {counts.dtype}")
    masks = z_index_masks(z_masks)
    if counts.ndim != 1 or counts.shape[0] != 2 ** np.shape(z_masks)[1]:
        raise ValueError(
            f"counts: expected shape ({2 ** np.shape(z_masks)[1]},) for z_masks on {np.shape(z_masks)[1]} qubits, "
            f"got {tuple(counts.shape)}"
        )
    signs = jnp.asarray(signs)
    if signs.shape != (np.shape(z_masks)[0],):
        raise ValueError(f"signs: expected shape ({np.shape(z_masks)[0]},), got {tuple(signs.shape)}")
    dtype = jnp.result_type(float) if dtype is None else dtype
    total = jnp.sum(counts)
    sums = parity_means(counts, masks)
    return signs.astype(dtype) * sums.astype(dtype) / total.astype(dtype), total


def binomial_estimate(expval, shots, *, key) -> jax.Array:
    """Estimate of a single +/-1 observable from ``shots`` shots: ``2 Binomial(N, (1+<P>)/2) / N - 1``.

    Exactly the distribution of the mean of N single-shot outcomes (the fast path for a setting
    with one Pauli, spec section 4). ``expval`` is the exact ``<P>`` (clipped to [-1, 1]).
    """
    shots = check_shots(shots)
    _check_key(key, "binomial_estimate")
    expval = jnp.asarray(expval)
    if not jnp.issubdtype(expval.dtype, jnp.floating):
        expval = expval.astype(jnp.result_type(float))
    p_plus = jnp.clip(0.5 * (1 + expval), 0, 1)
    n = jnp.asarray(shots).astype(expval.dtype)
    plus = binomial(key, n, p_plus)
    return 2 * plus / n - 1
