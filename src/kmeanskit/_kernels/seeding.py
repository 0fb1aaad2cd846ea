"""Greedy k-means++ seeding in numba.

The whole seeding runs in one compiled call with the random numbers drawn
up front by the caller, so it is deterministic for a given seed. The squared
distance of every row to its closest chosen centre is kept and updated
incrementally; per-block potentials (sum of w * closest, blocks of rows:
:func:`._blocks.row_block`) are reduced in block order, so the choice of
centres does not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from .._config import CHUNK_ROWS, FASTMATH, SLOT_PAD
from ._blocks import row_block
from .bounds import _dist2
from .lloyd import _lane_dists_four, _lane_dists_one

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))


@njit(**_JIT)
def _pick(X, closest, w, use_w, pot_b, target, pending):
    """Index of the first row whose cumulative potential reaches ``target``
    (only rows with positive potential can be picked). ``pending`` (or -1) is
    a chosen centre not yet folded into ``closest``; ``pot_b`` already
    accounts for it, and the one block scanned here applies it on the fly."""
    n = closest.shape[0]
    nb = pot_b.shape[0]
    acc = 0.0
    b = 0
    while b < nb - 1 and acc + pot_b[b] < target:
        acc += pot_b[b]
        b += 1
    last = -1
    while True:
        i0, i1 = row_block(b, n, nb)
        for i in range(i0, i1):
            ci = closest[i]
            if pending >= 0:
                dd = _dist2(X, i, X, pending)
                ci = dd if dd < ci else ci
            p = ci * (np.float64(w[i]) if use_w else 1.0)
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


@njit(**_JIT)
def _load_chunk(X, s, m, xt):
    """Transpose rows s..s+m of X into xt (d x CHUNK, X's dtype), so the
    distance loops below run over points (one SIMD lane per point)."""
    Xc = X[s:s + m]  # slices, not X[s + i]: see lloyd.py's docstring
    for f in range(X.shape[1]):
        for i in range(m):
            xt[f, i] = Xc[i, f]


@njit(**_JIT)
def _chunk_dist_many(xt, Cc, m, tmp2):
    """``tmp2[t, i]`` = squared distance of the chunk's row i (``xt``, d x
    CHUNK in X's dtype: float32 data gets 16 lanes per instruction; the
    potentials that decide the seeding are summed in float64) to candidate
    ``Cc[t]``, for all candidates: four at a time, with the lane loops of
    the Lloyd pass (``lloyd._lane_dists_four``: each transposed feature
    row is read once for four candidates, and from the L1 cache)."""
    nc = Cc.shape[0]
    n4 = nc - nc % 4
    for t in range(0, n4, 4):
        _lane_dists_four(xt, Cc, t, m, tmp2[t], tmp2[t + 1], tmp2[t + 2], tmp2[t + 3])
    for t in range(n4, nc):
        _lane_dists_one(xt, Cc, t, m, tmp2[t])


@njit(parallel=True, **_JIT)
def kmeanspp_greedy(X, w, use_w, first, uniforms, n_trials, n_blocks, out_idx, n_slots,
                    keep_transposed):
    """Greedy k-means++: fill ``out_idx`` (k,) with the row indices chosen.

    ``uniforms`` holds ``(k - 1) * n_trials`` draws in [0, 1). At each step
    ``n_trials`` candidates are sampled with probability proportional to
    w * D(x)^2 and the one that lowers the potential most is kept (ties: the
    first). Returns the number of centres chosen: fewer than k only when the
    potential reached zero, i.e. the data has fewer distinct rows than k.
    ``n_slots`` bounds the thread ids (the chunk scratch is per thread).
    With ``keep_transposed`` the chunks transposed for the first centre are
    kept (a copy of X) and every step reads them, instead of transposing
    each chunk again at every step; the caller decides by X's size
    (``_config.SEED_TRANSPOSED_MAX_BYTES``).

    One pass over the data per step, chunked and vectorised over rows: it
    first folds the previous step's centre into the closest distances, then
    evaluates the candidates. The block potentials after that fold are known
    without it (they are the winning candidate's), so sampling needs no pass.
    """
    n, d = X.shape
    k = out_idx.shape[0]
    CH = CHUNK_ROWS
    closest = np.empty(n)
    pot_b = np.zeros(n_blocks)
    cand_pot = np.zeros((n_blocks, n_trials))
    cand = np.empty(n_trials, np.int64)
    Cc = np.empty((n_trials, d), X.dtype)  # the candidates' rows
    nt = n_slots  # scratch per thread, not per block
    r0, r1 = row_block(0, n, n_blocks)  # the longest block
    cpb = (r1 - r0 + CH - 1) // CH  # its chunks
    if keep_transposed:
        XT = np.empty((n_blocks, cpb, d, CH), X.dtype)
    else:
        XT = np.empty((nt, 1, d, CH), X.dtype)
    tmp_all = np.empty((nt, CH + SLOT_PAD), X.dtype)
    tmp2_all = np.empty((nt, n_trials, CH + SLOT_PAD), X.dtype)
    out_idx[0] = first
    # first centre: closest distances and block potentials
    for b in prange(n_blocks):
        tid = get_thread_id()
        tmp = tmp_all[tid]
        acc_b = 0.0
        i0, i1 = row_block(b, n, n_blocks)
        for s in range(i0, i1, CH):
            m = min(CH, i1 - s)
            xt = XT[b, (s - i0) // CH] if keep_transposed else XT[tid, 0]
            _load_chunk(X, s, m, xt)
            _lane_dists_one(xt, X, first, m, tmp)
            acc = 0.0
            cl = closest[s:s + m]
            wc = w[s:s + m]
            for i in range(m):
                cl[i] = tmp[i]
                acc += tmp[i] * (np.float64(wc[i]) if use_w else 1.0)
            acc_b += acc
        pot_b[b] = acc_b
    pending = -1
    for step in range(1, k):
        total = 0.0
        for b in range(n_blocks):
            total += pot_b[b]
        if not total > 0.0:
            return step
        for t in range(n_trials):
            cand[t] = _pick(X, closest, w, use_w, pot_b,
                            uniforms[(step - 1) * n_trials + t] * total, pending)
            Cc[t] = X[cand[t]]
        for b in prange(n_blocks):
            tid = get_thread_id()
            tmp = tmp_all[tid]
            tmp2 = tmp2_all[tid]
            for t in range(n_trials):
                cand_pot[b, t] = 0.0
            i0, i1 = row_block(b, n, n_blocks)
            for s in range(i0, i1, CH):
                m = min(CH, i1 - s)
                if keep_transposed:
                    xt = XT[b, (s - i0) // CH]
                else:
                    xt = XT[tid, 0]
                    _load_chunk(X, s, m, xt)
                cl = closest[s:s + m]
                wc = w[s:s + m]
                if pending >= 0:
                    _lane_dists_one(xt, X, pending, m, tmp)
                    for i in range(m):
                        ci = cl[i]
                        cl[i] = tmp[i] if tmp[i] < ci else ci
                _chunk_dist_many(xt, Cc, m, tmp2)
                for t in range(n_trials):
                    acc = 0.0
                    for i in range(m):
                        ci = cl[i]
                        v = tmp2[t, i] if tmp2[t, i] < ci else ci
                        acc += v * (np.float64(wc[i]) if use_w else 1.0)
                    cand_pot[b, t] += acc
        best_t = 0
        best_pot = np.inf
        for t in range(n_trials):
            p = 0.0
            for b in range(n_blocks):
                p += cand_pot[b, t]
            if p < best_pot:
                best_pot = p
                best_t = t
        out_idx[step] = cand[best_t]
        pending = cand[best_t]
        for b in range(n_blocks):
            pot_b[b] = cand_pot[b, best_t]
    return k


@njit(nogil=True, cache=True)
def draws_from_cdf(cdf, u, idx_out, cnt_out):
    """The rows drawn by sorted uniforms ``u`` through the cumulative
    distribution ``cdf`` (``cdf.searchsorted(u, "right")``), merged into
    distinct rows (``idx_out``, increasing) and how often each was drawn
    (``cnt_out``); returns how many distinct rows.

    Each search starts from the previous result and gallops forward, so it
    touches the table near where the last one ended instead of bisecting
    all of it (faster than ``np.searchsorted`` for sorted draws); unlike a
    plain forward walk, it does not cost O(len(cdf)) when the draws are
    few.
    """
    n = cdf.shape[0]
    lo = 0  # every cdf[:lo] <= the current key
    nd = 0
    for j in range(u.shape[0]):
        x = u[j]
        if lo < n and cdf[lo] <= x:
            step = 1
            hi = lo + 1
            while hi < n and cdf[hi] <= x:
                lo = hi
                step *= 2
                hi = lo + step
            hi = min(hi, n)
            lo += 1
            while lo < hi:  # the first index in [lo, hi) whose value exceeds x, else hi
                mid = (lo + hi) >> 1
                if cdf[mid] <= x:
                    lo = mid + 1
                else:
                    hi = mid
        if nd > 0 and idx_out[nd - 1] == lo:
            cnt_out[nd - 1] += 1
        else:
            idx_out[nd] = lo
            cnt_out[nd] = 1
            nd += 1
    return nd


# --- k-means|| rounds (kmeanskit._chunked.kmeans_parallel) ---------------------------

#: Relative slack on the triangle-inequality tests of a k-means|| round: a
#: candidate is skipped only when it is farther than the bound by more than
#: the rounding of float64 distances, so skipping never changes a result.
PRUNE_SLACK = 1.0 + 1e-9


@njit(parallel=True, **_JIT)
def nearest_new_candidates(Cold, Cn, near_idx, near_d, bound):
    """For each earlier candidate ``j`` (rows of ``Cold``, float64): its
    ``T = near_idx.shape[1]`` nearest new candidates (rows of ``Cn``,
    float64), nearest first (ties by index), into ``near_idx[j]`` and their
    distances into ``near_d[j]``; ``bound[j]``: the distance of the next one
    (inf when there is none)."""
    p = Cold.shape[0]
    m = Cn.shape[0]
    T = near_idx.shape[1]
    for j in prange(p):
        dj = np.empty(m)
        for c in range(m):
            dj[c] = np.sqrt(_dist2(Cold, j, Cn, c))
        order = np.argsort(dj, kind="mergesort")
        for t in range(T):
            near_idx[j, t] = order[t]
            near_d[j, t] = dj[order[t]]
        bound[j] = dj[order[T]] if T < m else np.inf


@njit(**_JIT)
def _nearer(dist, c, best, arg):
    """Whether new candidate number ``c`` at squared distance ``dist`` replaces
    candidate number ``arg`` at ``best``: strictly nearer, or as near and an
    earlier new candidate (never an old one), so that the choice does not
    depend on the order the candidates are visited in."""
    return dist < best or (dist == best and c < arg)


@njit(parallel=True, **_JIT)
def nearest_candidate_update(X, Cn, offset, near_idx, near_d, bound, d2, nearest, d2_out, nearest_out,
                             n_blocks):
    """One k-means|| round's distances: each row's squared distance ``d2``
    to its nearest candidate and that candidate's number ``nearest``
    (``-1`` and inf before the first round), updated into ``d2_out`` and
    ``nearest_out`` with the new candidates ``Cn`` (float64, numbered from
    ``offset``): a new candidate replaces the old one only when strictly
    nearer, and ties between new ones go to the lowest number. Distances
    are float64 sums.

    With ``j`` the row's nearest candidate at distance ``r``, a new
    candidate ``c`` is no nearer than ``j`` (nor than the best ``b`` found so
    far) when ``|c - j| >= r + sqrt(b)`` (the triangle inequality, with a
    relative slack ``PRUNE_SLACK`` beyond float64 rounding, so skipping
    never changes the result). The new candidates are visited in order of
    their distance from ``j`` (the table of :func:`nearest_new_candidates`),
    stopping at the first that fails. A row with no candidate yet, or too
    far from ``j`` for its table (``2 r`` beyond ``bound[j]``), measures
    every new candidate; so does a row whose nearest is already a new one
    (a round run again on the state it updated: ``d2_out`` and
    ``nearest_out`` may be ``d2`` and ``nearest``, each row read before it
    is written)."""
    n = X.shape[0]
    m = Cn.shape[0]
    T = near_idx.shape[1]
    for b in prange(n_blocks):
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            best = d2[i]
            arg = nearest[i]
            j = arg
            if 0 <= j < near_idx.shape[0] and T > 0:
                r = np.sqrt(best)
                if 2.0 * r * PRUNE_SLACK <= bound[j]:
                    stop = 2.0 * r * PRUNE_SLACK
                    for t in range(T):
                        if near_d[j, t] >= stop:
                            break
                        c = near_idx[j, t]
                        dist = _dist2(X, i, Cn, c)
                        if _nearer(dist, offset + c, best, arg):
                            best = dist
                            arg = offset + c
                            stop = (r + np.sqrt(best)) * PRUNE_SLACK
                    d2_out[i] = best
                    nearest_out[i] = arg
                    continue
            for c in range(m):
                dist = _dist2(X, i, Cn, c)
                if _nearer(dist, offset + c, best, arg):
                    best = dist
                    arg = offset + c
            d2_out[i] = best
            nearest_out[i] = arg


# The NumPy work of a k-means|| round on a chunk, one compiled loop each
# (kmeanskit._chunked._parallel_chunk): without fastmath, so each result is
# the one NumPy's expressions gave, bit for bit.

@njit(nogil=True, cache=True)
def merge_nearest(dist, lab, offset, d2, nearest, has_old, d2_out, nearest_out):
    """Each row's nearest candidate after a round measured on the engine's
    distance pass: the new one (``lab + offset`` at ``dist``) when strictly
    nearer than the old (``d2``, ``nearest``; none when not ``has_old``),
    into ``d2_out`` and ``nearest_out``."""
    for i in range(dist.shape[0]):
        if not has_old or dist[i] < d2[i]:
            d2_out[i] = dist[i]
            nearest_out[i] = lab[i] + offset
        else:
            d2_out[i] = d2[i]
            nearest_out[i] = nearest[i]


@njit(nogil=True, cache=True)
def nearest_weights(nearest, w, use_w, d2, wd2_out, counts):
    """The weight of the rows nearest to each candidate, added into
    ``counts`` in row order (``np.bincount``'s sums), and, with weights,
    each row's ``w d2`` into ``wd2_out``."""
    for i in range(nearest.shape[0]):
        if use_w:
            counts[nearest[i]] += w[i]
            wd2_out[i] = d2[i] * w[i]
        else:
            counts[nearest[i]] += 1.0


@njit(nogil=True, cache=True)
def rows_below(u, scale, wd2, idx_out):
    """The rows with ``u scale < wd2`` (``np.flatnonzero``'s order) into
    ``idx_out``; returns how many."""
    m = 0
    for i in range(u.shape[0]):
        if u[i] * scale < wd2[i]:
            idx_out[m] = i
            m += 1
    return m
