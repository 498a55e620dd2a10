"""Shot sampling of measurement settings: exact multinomial counts and parity estimates.

A measurement setting is a state already rotated into a basis where every measured Pauli is diagonal
(``signs[k] * Z^{z_masks[k]}``, see ``diagonalize``). Measuring it ``N`` times gives a histogram of
basis states ``counts`` ~ Multinomial(N, |psi|^2). Every Pauli of the setting is then estimated
from the *same* counts (correlated estimates, as on hardware):
``<P_k> ~ signs[k] * sum_b counts[b] (-1)**popcount(b & zmask_k) / N``.

Multinomial sampler (exact, cost independent of N): the counts are split down the binary tree of
index bits, most significant bit (qubit 0) first. At level l a node holding ``c`` shots sends
``Binomial(c, p_left / (p_left + p_right))`` of them to its left child (``binomial`` below: BTRS
rejection for large ``c p``, table inversion for small). The product of these conditional
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


# --- exact binomial and multinomial draws in one vectorised pass ------------------------------------

_BTRS_MIN_MEAN = 10.0  # BTRS needs n p >= 10 (Hoermann 1993)
_BTRS_REJECT = 0.2  # a BTRS proposal's typical rejection rate (measured: 0.13-0.15 at means 300-4e5, 0.25-0.29 at 10)
_OPEN_LANES = 4.0  # proposals per lane: the fewest that leave about this many lanes of a call open
_MIN_ROUNDS, _MAX_ROUNDS = 5, 12
_INVERSION_TERMS = 32  # pmf table of the inversion branch: mean < 10, so P(X >= 32) < 3e-8
_MORE_ROUNDS = 2  # BTRS proposals per continued lane and pass
_CONTINUE_WIDTH = 64  # lanes per continuation pass
_STIRLING_TAIL = (
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
)


def _btrs_rounds(size: int) -> int:
    """BTRS proposals per lane in the vectorised pass of a call of ``size`` lanes: the smallest R in
    [5, 12] with ``size * 0.2**R <= 4``. The continuation loop settles the few open lanes in a pass or
    two, cheaper than testing more proposals on every lane; below 5 it runs too often (measured, 50
    keys: 20 x 25 multinomials on 8 outcomes under ``vmap`` 216 / 150 / 149 us per call with at least
    4 / 5 / 6 proposals; 4,000 binomial lanes fastest with 4-5, 40,000 with 6). Speed only: a lane's
    draw does not depend on R."""
    r = int(np.ceil(np.log(max(size, 1) / _OPEN_LANES) / np.log(1 / _BTRS_REJECT)))
    return min(max(r, _MIN_ROUNDS), _MAX_ROUNDS)


def _stirling_tail(k):
    """``lgamma(k + 1) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2]`` for integer-valued ``k >= 0``
    (a table below 10, the asymptotic series above; selects, not a gather: XLA vectorises them)."""
    kp1sq = (k + 1) * (k + 1)
    tail = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    for j, t in enumerate(_STIRLING_TAIL):
        tail = jnp.where(k == j, t, tail)
    return tail


def _btrs_setup(n, q):
    """Per-lane constants of BTRS (Hoermann 1993, as in ``jax.random.binomial``) for ``n q >= 10``,
    ``q <= 1/2``: ``(a, b, c, v_r, r, alpha, n, m, h)``, ``h`` the mode's part of the acceptance bound."""
    sd = jnp.sqrt(n * q * (1 - q))
    b = 1.15 + 2.53 * sd
    r = q / (1 - q)
    m = jnp.floor((n + 1) * q)
    h = (m + 0.5) * jnp.log((m + 1) / (r * (n - m + 1))) + _stirling_tail(m) + _stirling_tail(n - m)
    return (-0.0873 + 0.0248 * b + 0.01 * q, b, n * q + 0.5, 0.92 - 4.2 / b, r, (2.83 + 5.1 / b) * sd, n, m, h)


def _btrs_round(u, v, consts):
    """BTRS proposals from uniforms ``(u, v)``: ``(k, accepted)``, elementwise."""
    a, b, c, v_r, r, alpha, n, m, h = consts
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = jnp.floor((2 * a / us + b) * u + c)
    reject = (k < 0) | (k > n)
    accept1 = (us >= 0.07) & (v <= v_r)
    ks = jnp.clip(k, 0, n)
    lv = jnp.log(v * alpha / (a / (us * us) + b))
    bound = (
        h
        + (n + 1) * jnp.log((n - m + 1) / (n - ks + 1))
        + (ks + 0.5) * jnp.log(r * (n - ks + 1) / (ks + 1))
        - _stirling_tail(ks)
        - _stirling_tail(n - ks)
    )
    return ks, accept1 | (~reject & (lv <= bound))


def binomial(key, n, p, *, rows=None, n_rows=None) -> jax.Array:
    """Exact ``Binomial(n, p)`` draws, elementwise over the broadcast shape of ``n`` and ``p``.

    Same law as ``jax.random.binomial``, in one fused vectorised pass over all lanes: after reflecting
    to ``q = min(p, 1 - p)``, lanes with mean ``n q < 10`` invert the CDF on a ``32``-term pmf table
    (one uniform), the others take the first accepted of their BTRS proposals (Hoermann's transformed
    rejection, the algorithm of ``jax.random.binomial``), of which the pass tests the first 5-12
    (``_btrs_rounds``). The few lanes left open (a handful per call) are settled exactly by a
    ``lax.while_loop`` over the open lanes only (``_continue``). Uniforms are
    counter-based: proposal j of lane i is the Threefry-2x32 hash of the counter ``(i, j)`` under 64
    bits drawn from ``key`` (``_proposal_uniforms``), hashed where it is used, so a lane's draw depends
    on its own index only (not on the other lanes, the number of proposals tested per pass, or
    ``vmap``). Batch a whole step's draws (settings, samples, seeds) into one call.

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
    return _binomial_draw(_key_words(key), _lane_ids(p.shape, rows), n, p)


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
    if int(n_rows) * int(np.prod(shape[1:], dtype=np.int64)) > 2**32:
        raise ValueError(f"{where}: at most 2**32 lanes in the whole batch, got {n_rows} rows of {tuple(shape[1:])}")
    return rows


# --- counter-based uniforms ------------------------------------------------------------------------

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY_PARITY = 0x1BD11BDA


def _threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds (Salmon et al., SC'11; the hash behind ``jax.random``): uint32 words
    ``(y0, y1)`` of the counter ``(x0, x1)`` under the key ``(k0, k1)``, elementwise over the broadcast
    shape. Written out so XLA fuses it into one pass (JAX lowers its own Threefry on CPU to a rolled
    loop, tens of microseconds a call at these sizes); equal bit for bit to ``jax.extend.random.threefry_2x32``."""
    u32 = jnp.uint32
    ks = (k0, k1, k0 ^ k1 ^ u32(_THREEFRY_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in _THREEFRY_ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = x0 ^ ((x1 << u32(r)) | (x1 >> u32(32 - r)))
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + u32(i + 1)
    return x0, x1


#: The counter whose hash under a Threefry key is a call's stream key ("SAMPLING" in ASCII).
_STREAM_COUNTER = (0x53414D50, 0x4C494E47)


def _key_words(key) -> tuple[jax.Array, jax.Array]:
    """The two uint32 key words of a call's counter stream: the Threefry hash of ``_STREAM_COUNTER``
    under a Threefry key (typed, or raw (2,) uint32), else 64 bits drawn from ``key`` with its own
    generator. Under ``vmap``, one pair per key."""
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    if typed and str(jax.random.key_impl(key)) != "threefry2x32":
        w = jax.random.bits(key, (2,), jnp.uint32)
        return w[0], w[1]
    data = jax.random.key_data(key) if typed else key
    return _threefry2x32(data[0], data[1], *(jnp.uint32(c) for c in _STREAM_COUNTER))


def _lane_ids(shape, rows=None, stride: int = 1) -> jax.Array:
    """uint32 stream index of each lane, shape ``shape``: ``stride * (row-major index in the whole
    batch)`` (with ``rows``: the lanes are rows ``rows`` of a larger batch)."""
    if rows is None:
        flat = lax.iota(jnp.uint32, int(np.prod(shape, dtype=np.int64)))
        return (flat * np.uint32(stride)).reshape(shape)
    inner = int(np.prod(shape[1:], dtype=np.int64))
    local = lax.iota(jnp.uint32, inner).reshape((1,) + tuple(shape[1:]))
    row = rows.astype(jnp.uint32).reshape((-1,) + (1,) * (len(shape) - 1))
    return (row * np.uint32(inner) + local) * np.uint32(stride)


def _inversion(u0, n, q):
    """The inversion branch on a ``_INVERSION_TERMS``-term pmf table, one elementwise recurrence
    (unrolled: XLA fuses it into one pass): x = #{k < T : cdf_k <= u0} (``_continue`` walks the same
    recurrence past T)."""
    dt = q.dtype
    ratio = q / (1 - q)
    pm = jnp.exp(n * jnp.log1p(-q))
    cd = pm
    x = (cd <= u0).astype(dt)
    for k in range(1, _INVERSION_TERMS):
        pm = pm * (jnp.maximum(n - (k - 1), 0) * (ratio / k))
        cd = cd + pm
        x = x + (cd <= u0).astype(dt)
    return x


def _proposal_uniforms(words, ids, j, dtype):
    """The uniforms ``(u, v)`` in [0, 1) of proposal ``j`` of lanes ``ids``: the two words of the
    Threefry counter ``(id, j)``, 23 random mantissa bits each in float32 (as ``jax.random.uniform``),
    all 32 bits in float64 (resolution 2**-32, far below any shot statistic; one hash per proposal keeps
    the fused pass, and its compile time, small). ``j`` may be traced."""
    k0, k1 = words
    y = _threefry2x32(k0, k1, ids.astype(jnp.uint32), jnp.asarray(j, jnp.uint32))
    if jnp.dtype(dtype) == jnp.float64:
        return tuple(w.astype(jnp.float64) * 2.0**-32 for w in y)
    return tuple(
        (lax.bitcast_convert_type((w >> np.uint32(9)) | np.uint32(0x3F800000), jnp.float32) - 1.0).astype(dtype)
        for w in y
    )


#: Proposals of a pass are unrolled in float32 (the fused pass runs ~2x faster than a ``fori_loop`` over
#: them: the SLPA step's draw 150-165 vs 339 us) and looped in float64, whose ``log`` polynomials make each
#: unrolled copy twice as large (compile time: x64 test programs). Same draws either way (tested).
_UNROLL_MAX_ITEMSIZE = 4


def _first_accepted(words, ids, first, count: int, consts, dtype):
    """The first accepted of BTRS proposals ``first .. first + count - 1`` of each lane, or -1 if
    none is: one elementwise expression with one output (uniforms hashed where used), which XLA
    computes in one fused pass (float32; float64: a ``fori_loop`` over the proposals, one fused pass
    each, from the last to the first: ``_UNROLL_MAX_ITEMSIZE``)."""

    def step(i, x):
        u, v = _proposal_uniforms(words, ids, first + (count - 1 - i), dtype)
        k, accepted = _btrs_round(u, v, consts)
        return jnp.where(accepted, k, x)

    x = jnp.full(jnp.shape(consts[0]), -1.0, dtype)
    if jnp.dtype(dtype).itemsize > _UNROLL_MAX_ITEMSIZE:
        return lax.fori_loop(0, count, step, x)
    for i in range(count):
        x = step(i, x)
    return x


def _binomial_draw(words, ids, n, p) -> jax.Array:
    """``binomial`` on lanes with stream indices ``ids`` (uint32, the shape of ``p``) of the counter
    stream ``words`` (``_key_words``), drawn by ``_lane_draws``."""
    # draws are integer-valued, constant in n and p almost everywhere: no tangents (``_lane_draws``
    # has a batching rule but no differentiation rule)
    return _lane_draws(words[0], words[1], ids, lax.stop_gradient(n), lax.stop_gradient(p))


@jax.custom_batching.custom_vmap
def _lane_draws(k0, k1, ids, n, p) -> jax.Array:
    """Binomial draws of the lanes of the broadcast shape of the arguments: ``(k0, k1)`` the stream key
    words (one pair per call, or per member of a ``vmap`` batch), ``ids`` the lanes' stream indices.

    A BTRS lane takes the first accepted of its proposals j = 0, 1, ... (``_proposal_uniforms``), so
    its draw does not depend on how many the vectorised pass tests (``_btrs_rounds``) or on which
    pass settles it. An inversion lane inverts the cdf at proposal 0's ``u``. The vectorised pass is
    one elementwise expression with one output (the draw, or -1 for a lane left open), so XLA
    computes it in one fused pass. Under ``vmap`` (seeds, samples) the batch becomes a leading lane axis
    of ONE call (``_lane_draws_vmap``): the proposals per pass are chosen for the whole batch and the
    continuation gathers its few open lanes from all of it (a vmapped ``while_loop`` would run every
    member's lanes in every pass).
    """
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in (k0, k1, ids, n, p)))
    k0, k1, ids, n, p = (jnp.reshape(a, (1,) * (len(shape) - jnp.ndim(a)) + jnp.shape(a)) for a in (k0, k1, ids, n, p))
    words = (k0, k1)
    p = jnp.broadcast_to(jnp.clip(p, 0, 1), shape)
    n = jnp.broadcast_to(n, shape)
    flip = p > 0.5
    q = jnp.where(flip, 1 - p, p)
    use_btrs, qs, consts = _branches(n, q)
    rounds = _btrs_rounds(p.size)
    x_inv = _inversion(_proposal_uniforms(words, ids, 0, p.dtype)[0], n, qs)
    x_btrs = _first_accepted(words, ids, 0, rounds, consts, p.dtype)
    inv_ok = (x_inv < _INVERSION_TERMS) | (n < _INVERSION_TERMS)
    x = jnp.where(use_btrs, x_btrs, jnp.where(inv_ok, jnp.minimum(x_inv, n), -1.0))
    if x.size:
        flat = (jnp.broadcast_to(a, p.shape).reshape(-1) for a in (k0, k1, ids, n, q, x))
        x = _continue(*flat, rounds).reshape(p.shape)
    return jnp.where(flip, n - x, x)


@_lane_draws.def_vmap
def _lane_draws_vmap(axis_size, in_batched, *args):
    """``vmap`` rule of ``_lane_draws``: the batch as a leading lane axis of one call (the same draws:
    a lane's draw depends on its key words and index only). Batched arguments get singleton axes after
    the batch axis so that they broadcast against the others (the key words stay one pair per member,
    broadcast in the fused pass, not materialised per lane)."""
    inner = jnp.broadcast_shapes(*(a.shape[1:] if b else a.shape for a, b in zip(args, in_batched)))
    lead = [
        a.reshape(a.shape[:1] + (1,) * (len(inner) + 1 - a.ndim) + a.shape[1:]) if b else a
        for a, b in zip(args, in_batched)
    ]
    return _lane_draws(*lead), True


def _branches(n, q):
    """``(use_btrs, q of the inversion lanes (0 on BTRS lanes), BTRS constants (dummy on inversion lanes))``."""
    use_btrs = n * q >= _BTRS_MIN_MEAN
    consts = _btrs_setup(jnp.where(use_btrs, n, 2 * _BTRS_MIN_MEAN), jnp.where(use_btrs, q, 0.5))
    return use_btrs, jnp.where(use_btrs, 0.0, q), consts


def _continue(k0, k1, ids, n, q, x, start: int):
    """Settle the lanes the vectorised pass left open (``x < 0``; rare, see ``_btrs_rounds``), exactly.

    ``lax.while_loop`` over passes; a pass takes up to ``_CONTINUE_WIDTH`` open lanes (``nonzero``):
    a BTRS lane tests its next ``_MORE_ROUNDS`` proposals (from ``start``, in order); an inversion
    lane walks its pmf recurrence one term per pass from k = 0 (the table's arithmetic, so the same
    cdf): X = the first k with cdf_k > u, or n; a cdf that stops growing past the mean (float
    rounding left u above the table's total) ends there. Every argument is (size,) (``k0, k1``: the
    lanes' key words); returns x, (size,).
    """
    size = ids.shape[0]
    width = min(size, _CONTINUE_WIDTH)
    dt = q.dtype

    def more(carry):
        x, pm, cd, passes = carry
        idx = jnp.nonzero(x < 0, size=width, fill_value=size)[0]  # out of range: dropped below
        w0, w1, i, n_, q_, pm_, cd_, c_ = (jnp.take(a, idx, mode="clip") for a in (k0, k1, ids, n, q, pm, cd, passes))
        btrs, qs, consts = _branches(n_, q_)
        xb = _first_accepted((w0, w1), i, start + _MORE_ROUNDS * c_, _MORE_ROUNDS, consts, dt)
        u0 = _proposal_uniforms((w0, w1), i, 0, dt)[0]
        k = c_.astype(dt)
        first = c_ == 0
        pm_ = jnp.where(first, jnp.exp(n_ * jnp.log1p(-qs)), pm_ * (jnp.maximum(n_ - (k - 1), 0) * (qs / (1 - qs) / k)))
        grown = jnp.where(first, pm_, cd_ + pm_)
        stuck = ~first & (grown <= cd_) & (k > n_ * qs)
        xi = jnp.where((grown > u0) | (k >= n_) | stuck, jnp.minimum(k, n_), -1.0)
        put = lambda a, v: a.at[idx].set(v, mode="drop")
        return put(x, jnp.where(btrs, xb, xi)), put(pm, pm_), put(cd, grown), passes.at[idx].add(1, mode="drop")

    zero = jnp.zeros(size, dt)
    carry = (x, zero, zero, jnp.zeros(size, jnp.uint32))
    return lax.while_loop(lambda c: jnp.any(c[0] < 0), more, carry)[0]


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

    Exact conditional binomials, the whole batch in one binomial pass per step and the steps in
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
    words = _key_words(key)
    if k <= _SEQUENTIAL_MAX_K:
        return _multinomial_sequential(words, probs, total, rows)
    return _multinomial_tree(words, probs, total, rows)


#: Outcome spaces up to this size draw their categories one after another (K - 1 binomial lanes per
#: row); larger ones split a binary tree (log2 K scan steps of K / 2 lanes).
_SEQUENTIAL_MAX_K = 32


def _multinomial_sequential(words, probs, total, rows=None):
    """Conditional binomials over the categories: ``X_j ~ Binomial(N - sum_{i<j} X_i, p_j / sum_{i>=j} p_i)``.

    One ``lax.scan`` of K - 1 steps, each one binomial over the whole batch: exactly K - 1 draws per
    row; step j of row r is lane ``(K - 1) r + j`` of the counter stream. The tail masses are summed
    directly (not ``1 - prefix``): when every later category has zero probability the ratio is
    exactly 1, so impossible outcomes never receive a shot.
    """
    rest = jnp.flip(jnp.cumsum(jnp.flip(probs, -1), -1), -1)  # rest[..., j] = sum_{i >= j} p_i
    ratio = jnp.where(rest > 0, probs / jnp.where(rest > 0, rest, 1), 0.0)[..., :-1]
    steps = probs.shape[-1] - 1
    base = _lane_ids(total.shape, rows, stride=steps)

    def step(left, row):
        r, j = row
        x = _binomial_draw(words, base + j, left, r)
        return left - x, x

    left, xs = lax.scan(step, total, (jnp.moveaxis(ratio, -1, 0), lax.iota(jnp.uint32, steps)))
    return jnp.concatenate([jnp.moveaxis(xs, 0, -1), left[..., None]], -1).astype(jnp.int32)


def _multinomial_tree(words, probs, total, rows=None):
    """The binary tree of ``sample_counts``, every level in one ``lax.scan`` over a (..., K) buffer:
    level l splits the first K/2 entries, of which its 2**l nodes are the first (the rest hold 0 shots
    and split into 0), so one binomial program serves all levels. Node i of level l in row r is lane
    ``(levels K/2) r + (K/2) l + i`` of the counter stream."""
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
    base = _lane_ids(batch + (width,), rows, stride=1)
    base = (base // np.uint32(width)) * np.uint32(levels * width) + base % np.uint32(width)

    def level(counts, row):
        ratio, lv = row
        nodes = counts[..., :width]
        lft = _binomial_draw(words, base + lv * np.uint32(width), nodes, ratio)
        return jnp.stack([lft, nodes - lft], axis=-1).reshape(batch + (k,)), None

    counts = jnp.zeros(batch + (k,), probs.dtype).at[..., 0].set(total)
    counts = lax.scan(level, counts, (jnp.stack(ratios), lax.iota(jnp.uint32, levels)))[0]
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
