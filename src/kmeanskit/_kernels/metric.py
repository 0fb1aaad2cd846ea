"""Kernels for k-means under non-Euclidean distances (Manhattan, cosine,
Chebyshev).

Same contract as :mod:`._kernels.lloyd`: one call is one pass over the data
in chunks of ``CHUNK_ROWS`` rows, grouped into ``n_blocks`` contiguous blocks
(a function of the data's shape only, :mod:`._blocks`); each block writes its
own partial results, which the caller reduces in block order, so results are
bit-identical for any number of threads. Distances are computed in float64
from data of either dtype (float32 data stays float32 in memory).

Metric codes (``metric`` argument):

* ``EUCLIDEAN`` (0): squared L2, used only by :func:`pairwise` (the
  Euclidean solver is the engine's, :mod:`._kernels.lloyd`);
* ``MANHATTAN`` (1): sum of absolute differences;
* ``COSINE`` (2): ``1 - x.c / (|x| |c|)``, 0 below ``COSINE_ZERO``; the caller passes
  the inverse row norms ``xinv`` and inverse centre norms ``cinv``;
* ``CHEBYSHEV`` (3): largest absolute difference.

Nothing here validates its input.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from .._config import FASTMATH
from ._blocks import block_rows, row_block

EUCLIDEAN = 0  # squared L2 (only for ``pairwise``: transform)
MANHATTAN = 1
COSINE = 2
CHEBYSHEV = 3
#: Kernel code of each metric.
CODES = {"euclidean": EUCLIDEAN, "manhattan": MANHATTAN, "cosine": COSINE, "chebyshev": CHEBYSHEV}

#: Cosine distances below this count as 0: parallel rows (e.g. x and 2x) are
#: the same point up to the rounding of the norms (angles below ~1.4e-6 rad).
COSINE_ZERO = 1e-12

# Layout of the per-block statistics vector.
STAT_OBJECTIVE = 0  # sum of w * dist(x, c)
STAT_CHANGED = 1  # rows whose label changed
N_STATS = 2

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))


@njit(**_JIT)
def _dist(X, i, C, j, metric, xinv, cinv):
    """Distance of row ``i`` of X to row ``j`` of C in float64."""
    d = X.shape[1]
    acc = 0.0
    if metric == MANHATTAN:
        for f in range(d):
            acc += abs(np.float64(X[i, f]) - np.float64(C[j, f]))
        return acc
    if metric == EUCLIDEAN:
        for f in range(d):
            t = np.float64(X[i, f]) - np.float64(C[j, f])
            acc += t * t
        return acc
    if metric == CHEBYSHEV:
        for f in range(d):
            t = abs(np.float64(X[i, f]) - np.float64(C[j, f]))
            if t > acc:
                acc = t
        return acc
    for f in range(d):
        acc += np.float64(X[i, f]) * np.float64(C[j, f])
    v = 1.0 - acc * xinv[i] * cinv[j]
    return v if v > COSINE_ZERO else 0.0


@njit(parallel=True, **_JIT)
def metric_pass(X, w, use_w, C, metric, xinv, cinv, labels, update, sums, wsums, stats,
                want_dist, dist_out):
    """Assign every row to its nearest centre under ``metric``.

    ``labels`` (n,) int32 is updated in place (ties: the lowest centre
    index). Per block ``b``: ``stats[b]`` gets the weighted objective and
    the number of changed labels; when ``update``, ``wsums[b, j]`` gets the
    weight of cluster ``j`` and, for cosine only, ``sums[b, j]`` the
    weighted sum of unit rows ``w x / |x|`` (the other metrics update their
    centres from the labels, see :func:`weighted_median_update`). When
    ``want_dist``, ``dist_out[i]`` is row i's distance to its centre.
    """
    n, d = X.shape
    k = C.shape[0]
    n_blocks = stats.shape[0]
    for b in prange(n_blocks):
        stats[b, :] = 0.0
        if update:
            wsums[b, :] = 0.0
            if metric == COSINE:
                sums[b, :, :] = 0.0
        obj = 0.0
        changed = 0
        r0, r1 = block_rows(b, n, n_blocks)
        for i in range(r0, r1):
            bv = np.inf
            bj = 0
            for j in range(k):
                v = _dist(X, i, C, j, metric, xinv, cinv)
                if v < bv:
                    bv = v
                    bj = j
            wi = np.float64(w[i]) if use_w else 1.0
            obj += wi * bv
            if labels[i] != bj:
                changed += 1
                labels[i] = bj
            if want_dist:
                dist_out[i] = bv
            if update:
                wsums[b, bj] += wi
                if metric == COSINE:
                    s = wi * xinv[i]
                    for f in range(d):
                        sums[b, bj, f] += s * np.float64(X[i, f])
        stats[b, STAT_OBJECTIVE] = obj
        stats[b, STAT_CHANGED] = changed


@njit(nogil=True, cache=True)
def reduce_blocks(sums, wsums, stats, out_sums, out_wsums, out_stats, with_sums):
    """Sum per-block partials in block order (deterministic)."""
    nb = stats.shape[0]
    out_stats[:] = 0.0
    out_wsums[:] = 0.0
    if with_sums:
        out_sums[:, :] = 0.0
    for b in range(nb):
        out_stats += stats[b]
        out_wsums += wsums[b]
        if with_sums:
            out_sums += sums[b]


@njit(parallel=True, **_JIT)
def cluster_objectives(X, w, use_w, labels, C, metric, xinv, cinv, n_blocks, out):
    """``out[j]`` = sum over rows labelled j of ``w * dist(x, C[j])``, by
    row blocks reduced in block order."""
    n = X.shape[0]
    k = C.shape[0]
    part = np.zeros((n_blocks, k))
    for b in prange(n_blocks):
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            j = labels[i]
            wi = np.float64(w[i]) if use_w else 1.0
            part[b, j] += wi * _dist(X, i, C, j, metric, xinv, cinv)
    out[:] = 0.0
    for b in range(n_blocks):
        out += part[b]


@njit(parallel=True, **_JIT)
def pairwise(X, C, metric, xinv, cinv, out):
    """``out[i, j]`` = dist(X[i], C[j]) in float64 (for ``transform``)."""
    n = X.shape[0]
    k = C.shape[0]
    for i in prange(n):
        for j in range(k):
            out[i, j] = _dist(X, i, C, j, metric, xinv, cinv)


@njit(parallel=True, **_JIT)
def dist_to_row(X, r, metric, xinv, out):
    """``out[i]`` = dist(X[i], X[r]) (for k-means++ seeding)."""
    n = X.shape[0]
    cinv = xinv[r:r + 1] if metric == COSINE else xinv[:1]
    C = X[r:r + 1]
    for i in prange(n):
        out[i] = _dist(X, i, C, 0, metric, xinv, cinv)


@njit(parallel=True, **_JIT)
def inverse_norms(X, out):
    """``out[i]`` = 1 / |X[i]| in float64 (inf for a zero row)."""
    n, d = X.shape
    for i in prange(n):
        acc = 0.0
        for f in range(d):
            t = np.float64(X[i, f])
            acc += t * t
        out[i] = 1.0 / np.sqrt(acc) if acc > 0.0 else np.inf


@njit(**_JIT)
def _weighted_median(vals, wts, m):
    """Lowest weighted median of ``vals[:m]``: the smallest value ``v`` such
    that the weight of values <= v is at least half the total. Any point
    between it and the next value minimises sum w |x - v| when the weight
    below is exactly half; this picks the lower end."""
    order = np.argsort(vals[:m], kind="mergesort")
    tot = 0.0
    for t in range(m):
        tot += wts[t]
    acc = 0.0
    for t in range(m):
        acc += wts[order[t]]
        if 2.0 * acc >= tot:
            return vals[order[t]]
    return vals[order[m - 1]]


@njit(parallel=True, **_JIT)
def weighted_median_update(X, w, use_w, order, starts, C_out, n_slots, max_m):
    """Coordinate-wise weighted median of each cluster (k-medians update).

    Rows of cluster ``j`` are ``order[starts[j]:starts[j + 1]]``. Clusters
    whose total weight is zero keep ``C_out[j]``. Each (cluster, feature)
    pair is independent, so the result does not depend on the threads.
    """
    k, d = C_out.shape
    vbuf = np.empty((n_slots, max_m))
    wbuf = np.empty((n_slots, max_m))
    for t in prange(k * d):
        j = t // d
        f = t - j * d
        tid = get_thread_id()
        vals = vbuf[tid]
        wts = wbuf[tid]
        s = starts[j]
        m = starts[j + 1] - s
        if m == 0:
            continue
        tot = 0.0
        for q in range(m):
            r = order[s + q]
            vals[q] = np.float64(X[r, f])
            wq = np.float64(w[r]) if use_w else 1.0
            wts[q] = wq
            tot += wq
        if tot > 0.0:
            C_out[j, f] = _weighted_median(vals, wts, m)
