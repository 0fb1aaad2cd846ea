"""Kernels for k-prototypes (numeric + categorical columns) and for
numeric data with missing entries.

A row is split into its numeric part ``Xn`` (float64, NaN where a value is
missing) and its categorical part ``Xc`` (int32 category codes, -1 where a
value is missing). A centre is ``Cn`` (means) and ``Cc`` (modes, codes).
The distance of a row to a centre is over the row's **observed** entries::

    sum_f (x_f - c_f)^2  +  gamma * #{categorical f : x_f != c_f}

(Huang 1998; with nothing missing it is k-prototypes' distance, with no
categorical column squared Euclidean, with no numeric column gamma times
the simple matching distance of k-modes).

Same contract as :mod:`._kernels.lloyd`: one call is one pass over the rows
in chunks of ``CHUNK_ROWS``, grouped into ``n_blocks`` contiguous blocks (a
function of the data's shape only, :mod:`._blocks`); each block writes its
own partial results, which :func:`reduce_blocks` sums in block order, so
results are bit-identical for any number of threads.

Nothing here validates its input.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from ._blocks import block_rows

# Layout of the per-block statistics vector.
STAT_OBJECTIVE = 0  # sum of w * dist(x, c)
STAT_CHANGED = 1  # rows whose label changed
N_STATS = 2

# no fastmath "nnan": NaN marks a missing value and must compare as NaN
_FLAGS = set(FASTMATH) - {"nnan", "fast"}
_JIT = dict(nogil=True, cache=True, fastmath=_FLAGS if _FLAGS else False)


@njit(**_JIT)
def _dist(Xn, Xc, i, Cn, Cc, j, gamma):
    """Distance of row ``i`` to centre ``j`` over the row's observed entries."""
    acc = 0.0
    for f in range(Xn.shape[1]):
        x = Xn[i, f]
        if x == x:  # observed (not NaN)
            t = x - Cn[j, f]
            acc += t * t
    mis = 0
    for f in range(Xc.shape[1]):
        c = Xc[i, f]
        if c >= 0 and c != Cc[j, f]:
            mis += 1
    return acc + gamma * mis


@njit(**_JIT)
def _nearest(Xn, Xc, i, Cn, Cc, gamma):
    """``(distance, index)`` of row ``i``'s nearest centre (ties: the lowest
    index), shared by the pass and the outlier scores so that both give
    ``predict``'s labels."""
    bv = np.inf
    bj = 0
    for j in range(Cn.shape[0]):
        v = _dist(Xn, Xc, i, Cn, Cc, j, gamma)
        if v < bv:
            bv = v
            bj = j
    return bv, bj


@njit(parallel=True, **_JIT)
def mixed_pass(Xn, Xc, w, use_w, Cn, Cc, gamma, offsets, labels, update, nsums, nobs, counts,
               wsums, stats, want_dist, dist_out):
    """Assign every row to its nearest centre (ties: the lowest index).

    ``labels`` (n,) int32 is updated in place. Per block ``b``:
    ``stats[b]`` gets the weighted objective and the number of changed
    labels; when ``update``, ``wsums[b, j]`` the weight of cluster ``j``,
    ``nsums[b, j, f]`` the weighted sum of its observed values of numeric
    column ``f`` and ``nobs[b, j, f]`` their weight, and
    ``counts[b, j, offsets[f] + c]`` the weight of its rows with category
    ``c`` in categorical column ``f``. With ``want_dist``, ``dist_out[i]``
    is row i's distance to its centre.
    """
    n = Xn.shape[0]
    dn = Xn.shape[1]
    dc = Xc.shape[1]
    n_blocks = stats.shape[0]
    for b in prange(n_blocks):
        stats[b, :] = 0.0
        if update:
            wsums[b, :] = 0.0
            nsums[b, :, :] = 0.0
            nobs[b, :, :] = 0.0
            counts[b, :, :] = 0.0
        obj = 0.0
        changed = 0
        r0, r1 = block_rows(b, n, n_blocks)
        for i in range(r0, r1):
            bv, bj = _nearest(Xn, Xc, i, Cn, Cc, gamma)
            wi = np.float64(w[i]) if use_w else 1.0
            obj += wi * bv
            if labels[i] != bj:
                changed += 1
                labels[i] = bj
            if want_dist:
                dist_out[i] = bv
            if update:
                wsums[b, bj] += wi
                for f in range(dn):
                    x = Xn[i, f]
                    if x == x:
                        nsums[b, bj, f] += wi * x
                        nobs[b, bj, f] += wi
                for f in range(dc):
                    c = Xc[i, f]
                    if c >= 0:
                        counts[b, bj, offsets[f] + c] += wi
        stats[b, STAT_OBJECTIVE] = obj
        stats[b, STAT_CHANGED] = changed


@njit(nogil=True, cache=True)
def reduce_blocks(nsums, nobs, counts, wsums, stats, out_nsums, out_nobs, out_counts, out_wsums,
                  out_stats, with_sums):
    """Sum the per-block partials in block order (deterministic)."""
    nb = stats.shape[0]
    out_stats[:] = 0.0
    if with_sums:
        out_wsums[:] = 0.0
        out_nsums[:, :] = 0.0
        out_nobs[:, :] = 0.0
        out_counts[:, :] = 0.0
    for b in range(nb):
        out_stats += stats[b]
        if with_sums:
            out_wsums += wsums[b]
            out_nsums += nsums[b]
            out_nobs += nobs[b]
            out_counts += counts[b]


@njit(nogil=True, cache=True)
def update_centers(nsums, nobs, counts, offsets, Cn, Cc):
    """New centres in place: each numeric column's mean over the cluster's
    observed values, each categorical column's mode (the most weight; ties:
    the lowest code). An entry with no observed weight keeps its value."""
    k, dn = Cn.shape
    dc = Cc.shape[1]
    for j in range(k):
        for f in range(dn):
            if nobs[j, f] > 0.0:
                Cn[j, f] = nsums[j, f] / nobs[j, f]
        for f in range(dc):
            best = 0.0
            bc = -1
            for c in range(offsets[f + 1] - offsets[f]):
                v = counts[j, offsets[f] + c]
                if v > best:
                    best = v
                    bc = c
            if bc >= 0:
                Cc[j, f] = bc


@njit(parallel=True, **_JIT)
def dist_to_center(Xn, Xc, cn, cc, gamma, out):
    """``out[i]`` = distance of row i to the one centre ``(cn, cc)``
    (shapes (1, dn) and (1, dc)), for the seedings."""
    n = Xn.shape[0]
    for i in prange(n):
        out[i] = _dist(Xn, Xc, i, cn, cc, 0, gamma)


@njit(parallel=True, **_JIT)
def pairwise(Xn, Xc, Cn, Cc, gamma, out):
    """``out[i, j]`` = distance of row i to centre j (for ``transform``)."""
    n = Xn.shape[0]
    k = Cn.shape[0]
    for i in prange(n):
        for j in range(k):
            out[i, j] = _dist(Xn, Xc, i, Cn, Cc, j, gamma)


@njit(parallel=True, **_JIT)
def cao_density(Xc, offsets, freq, out):
    """``out[i]`` = mean over the categorical columns of the relative
    frequency of row i's category (Cao et al. 2009's density; a missing
    entry counts 0). ``freq[offsets[f] + c]`` is the relative frequency of
    category ``c`` of column ``f``."""
    n, dc = Xc.shape
    for i in prange(n):
        acc = 0.0
        for f in range(dc):
            c = Xc[i, f]
            if c >= 0:
                acc += freq[offsets[f] + c]
        out[i] = acc / dc if dc > 0 else 1.0


#: Code of a categorical value that is present but not a category of the
#: model (seen only when scoring outliers; every other caller encodes it as
#: missing, -1): it matches no centre.
UNSEEN = -2


@njit(parallel=True, **_JIT)
def nearest_observed(Xn, Xc, Cn, Cc, gamma, labels, dist, n_obs):
    """Nearest centre of every row and what the outlier scores need.

    ``labels[i]`` is the nearest centre by :func:`_dist` (the labels of
    ``predict``; ties: the lowest index), ``dist[i]`` the distance to it
    plus ``gamma`` for each categorical entry coded :data:`UNSEEN` (a value
    that differs from every centre's category), ``n_obs[i]`` the number of
    the row's entries that are present (not NaN, not -1; UNSEEN counts as
    present). One row per iteration: nothing is reduced, so the result does
    not depend on the thread count.
    """
    n = Xn.shape[0]
    dn = Xn.shape[1]
    dc = Xc.shape[1]
    for i in prange(n):
        bv, bj = _nearest(Xn, Xc, i, Cn, Cc, gamma)
        obs = 0
        for f in range(dn):
            x = Xn[i, f]
            if x == x:
                obs += 1
        unseen = 0
        for f in range(dc):
            c = Xc[i, f]
            if c >= 0:
                obs += 1
            elif c == UNSEEN:
                obs += 1
                unseen += 1
        labels[i] = bj
        dist[i] = bv + gamma * unseen if unseen > 0 else bv
        n_obs[i] = obs
