"""Kernels for :class:`kmeanskit.search.ClusterIndex`: the n nearest stored
rows of each query among the rows of the clusters it probes.

Rows are stored grouped by cluster (inverted lists): the rows of cluster
``c`` are ``data[offsets[c]:offsets[c + 1]]`` and ``pos[r]`` is row r's
insertion position (the tie-break: equal distances rank by insertion order).

Distances are computed in float64 from data of either dtype, with the metric
codes of :mod:`._kernels.metric` (Euclidean is squared here; the caller takes
the square root). Each query is independent (one ``prange`` iteration), so
results do not depend on the number of threads.

Nothing here validates its input.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from .metric import CHEBYSHEV, COSINE_ZERO, EUCLIDEAN, MANHATTAN

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))

#: Position sentinel of an empty result slot (sorts after every real row).
NO_POS = np.iinfo(np.int64).max


@njit(inline="always", **_JIT)
def _sqeuclidean(Q, i, X, r):
    acc = 0.0
    for f in range(Q.shape[1]):
        t = np.float64(Q[i, f]) - np.float64(X[r, f])
        acc += t * t
    return acc


@njit(inline="always", **_JIT)
def _manhattan(Q, i, X, r):
    acc = 0.0
    for f in range(Q.shape[1]):
        acc += abs(np.float64(Q[i, f]) - np.float64(X[r, f]))
    return acc


@njit(inline="always", **_JIT)
def _chebyshev(Q, i, X, r):
    acc = 0.0
    for f in range(Q.shape[1]):
        t = abs(np.float64(Q[i, f]) - np.float64(X[r, f]))
        if t > acc:
            acc = t
    return acc


@njit(inline="always", **_JIT)
def _dot(Q, i, X, r):
    acc = 0.0
    for f in range(Q.shape[1]):
        acc += np.float64(Q[i, f]) * np.float64(X[r, f])
    return acc


@njit(inline="always", **_JIT)
def _push(bd, bp, n, v, p):
    """Insert (v, p) into the sorted top-n buffers if it ranks before the
    last entry (distance, then position)."""
    last = n - 1
    if v < bd[last] or (v == bd[last] and p < bp[last]):
        t = last
        while t > 0 and (bd[t - 1] > v or (bd[t - 1] == v and bp[t - 1] > p)):
            bd[t] = bd[t - 1]
            bp[t] = bp[t - 1]
            t -= 1
        bd[t] = v
        bp[t] = p


@njit(**_JIT)
def _scan(Q, i, qinv, X, xinv, pos, r0, r1, metric, bd, bp, n):
    # one loop per metric, so that each inner loop is a plain SIMD reduction
    if metric == EUCLIDEAN:
        for r in range(r0, r1):
            _push(bd, bp, n, _sqeuclidean(Q, i, X, r), pos[r])
    elif metric == MANHATTAN:
        for r in range(r0, r1):
            _push(bd, bp, n, _manhattan(Q, i, X, r), pos[r])
    elif metric == CHEBYSHEV:
        for r in range(r0, r1):
            _push(bd, bp, n, _chebyshev(Q, i, X, r), pos[r])
    else:  # COSINE
        for r in range(r0, r1):
            v = 1.0 - _dot(Q, i, X, r) * qinv[i] * xinv[r]
            _push(bd, bp, n, v if v > COSINE_ZERO else 0.0, pos[r])


@njit(parallel=True, **_JIT)
def search_lists(Q, qinv, X, xinv, pos, offsets, probes, metric, out_pos, out_dist):
    """For each query ``i``: the ``n = out_pos.shape[1]`` rows nearest to
    ``Q[i]`` among the lists ``probes[i, :]``, sorted by (distance,
    position). Empty slots keep distance ``inf`` and position ``NO_POS``.

    ``qinv`` / ``xinv`` are inverse row norms (cosine only; any array
    otherwise).
    """
    nq = Q.shape[0]
    n = out_pos.shape[1]
    for i in prange(nq):
        bd = out_dist[i]
        bp = out_pos[i]
        for t in range(n):
            bd[t] = np.inf
            bp[t] = NO_POS
        for u in range(probes.shape[1]):
            c = probes[i, u]
            _scan(Q, i, qinv, X, xinv, pos, offsets[c], offsets[c + 1], metric, bd, bp, n)
