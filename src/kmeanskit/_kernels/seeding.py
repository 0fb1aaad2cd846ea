"""Greedy k-means++ seeding in numba.

The whole seeding runs in one compiled call with the random numbers drawn
up front by the caller, so it is deterministic for a given seed. The squared
distance of every row to its closest chosen centre is kept and updated
incrementally; per-block potentials (sum of w * closest) are reduced in block
order, so the choice of centres does not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import FASTMATH

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))


@njit(**_JIT)
def _sq_dist_rows(X, i, j):
    acc = 0.0
    for f in range(X.shape[1]):
        t = np.float64(X[i, f]) - np.float64(X[j, f])
        acc += t * t
    return acc


@njit(**_JIT)
def _pick(closest, w, use_w, pot_b, per, target):
    """Index of the first row whose cumulative potential reaches ``target``
    (only rows with positive potential can be picked)."""
    n = closest.shape[0]
    nb = pot_b.shape[0]
    acc = 0.0
    b = 0
    while b < nb - 1 and acc + pot_b[b] < target:
        acc += pot_b[b]
        b += 1
    last = -1
    while True:
        for i in range(b * per, min(n, (b + 1) * per)):
            p = closest[i] * (np.float64(w[i]) if use_w else 1.0)
            if p > 0.0:
                acc += p
                last = i
                if acc >= target:
                    return i
        # Rounding left the target just past the end of this block's rows:
        # take the next block with potential, or the last positive row.
        b += 1
        if b >= nb:
            return last


@njit(parallel=True, **_JIT)
def kmeanspp_greedy(X, w, use_w, first, uniforms, n_trials, n_blocks, out_idx):
    """Greedy k-means++: fill ``out_idx`` (k,) with the row indices chosen.

    ``uniforms`` holds ``(k - 1) * n_trials`` draws in [0, 1). At each step
    ``n_trials`` candidates are sampled with probability proportional to
    w * D(x)^2 and the one that lowers the potential most is kept (ties: the
    first). Returns the number of centres chosen: fewer than k only when the
    potential reached zero, i.e. the data has fewer distinct rows than k.
    """
    n = X.shape[0]
    k = out_idx.shape[0]
    per = (n + n_blocks - 1) // n_blocks
    closest = np.empty(n)
    pot_b = np.zeros(n_blocks)
    cand_pot = np.zeros((n_blocks, n_trials))
    cand = np.empty(n_trials, np.int64)
    c = first
    out_idx[0] = c
    for b in prange(n_blocks):
        acc = 0.0
        for i in range(b * per, min(n, (b + 1) * per)):
            dd = _sq_dist_rows(X, i, c)
            closest[i] = dd
            acc += dd * (np.float64(w[i]) if use_w else 1.0)
        pot_b[b] = acc
    for step in range(1, k):
        total = 0.0
        for b in range(n_blocks):
            total += pot_b[b]
        if not total > 0.0:
            return step
        for t in range(n_trials):
            cand[t] = _pick(closest, w, use_w, pot_b, per,
                            uniforms[(step - 1) * n_trials + t] * total)
        for b in prange(n_blocks):
            for t in range(n_trials):
                cand_pot[b, t] = 0.0
            for i in range(b * per, min(n, (b + 1) * per)):
                ci = closest[i]
                wi = np.float64(w[i]) if use_w else 1.0
                for t in range(n_trials):
                    dd = _sq_dist_rows(X, i, cand[t])
                    cand_pot[b, t] += wi * (dd if dd < ci else ci)
        best_t = 0
        best_pot = np.inf
        for t in range(n_trials):
            p = 0.0
            for b in range(n_blocks):
                p += cand_pot[b, t]
            if p < best_pot:
                best_pot = p
                best_t = t
        c = cand[best_t]
        out_idx[step] = c
        for b in prange(n_blocks):
            acc = 0.0
            for i in range(b * per, min(n, (b + 1) * per)):
                dd = _sq_dist_rows(X, i, c)
                if dd < closest[i]:
                    closest[i] = dd
                acc += closest[i] * (np.float64(w[i]) if use_w else 1.0)
            pot_b[b] = acc
    return k
