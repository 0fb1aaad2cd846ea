"""Kernels for sparse rows (CSR: ``indptr``, ``indices``, ``data``) and dense
centres.

Same contract as :mod:`._kernels.lloyd`: one call is one pass, rows in
chunks of ``CHUNK_ROWS`` grouped into ``n_blocks`` contiguous blocks (a
function of the data's shape only, :mod:`._blocks`), per-block partial
statistics reduced by the caller in block order, so results are
bit-identical for any number of threads.

Distances use the expansion ``||x||^2 - 2 x.c + ||c||^2`` with the rows'
squared norms computed once (``xsq``) and the centres transposed (``CT``,
d x k, float64): each stored value of a row adds ``v * CT[f, :]`` to the
row's k dot products, a contiguous loop that vectorises, so a pass costs
O(nnz x k) and reads each centre column once per non-zero. A row whose two
best values are within the expansion's rounding bound is made dense and
re-assigned by the dense kernels' own ``lloyd.exact_argmin`` (exact float64
distances over every feature), so it gets their label on every processor
(:func:`exact_argmin` says why). The distance to the
chosen centre is then computed with less cancellation:
``sum over the row's non-zeros of (x_f - c_f)^2 + (||c||^2 - sum of those c_f^2)``.

Cosine (``cosine`` true): the value is ``1 - x.c / (|x| |c|)`` from the same
dot products, 0 below ``metric.COSINE_ZERO``, as the dense metric kernel.

Centre sums are not accumulated per block (that would be n_blocks x k x d
for d in the tens of thousands): :func:`cluster_sums` sums each cluster's
rows in row order, clusters in parallel, into one k x d array; the order
is fixed by the labels, so it too is independent of the thread count.

The CSR arrays must be canonical (indices sorted within a row, no
duplicates). Nothing here validates its input.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import FASTMATH
from ._blocks import block_rows, row_block
from .lloyd import exact_argmin as _dense_exact_argmin
from .metric import COSINE_ZERO

# Layout of the per-block statistics vector (as lloyd's).
STAT_INERTIA = 0  # sum of w * distance (squared L2, or 1 - cos)
STAT_SQRT = 1  # sum of w * sqrt(distance)
STAT_CHANGED = 2  # rows whose label changed
N_STATS = 3

#: Relative rounding bound per term of a float64 sum.
EPS64 = float(np.finfo(np.float64).eps)

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))


@njit(parallel=True, **_JIT)
def row_sq_norms(indptr, data, out):
    """``out[i]`` = squared norm of row i in float64."""
    n = out.shape[0]
    for i in prange(n):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = np.float64(data[p])
            acc += v * v
        out[i] = acc


@njit(**_JIT)
def row_dots(indptr, indices, data, i, CT, acc):
    """``acc[j]`` = x_i . c_j for every centre (``CT`` d x k, float64)."""
    k = CT.shape[1]
    for j in range(k):
        acc[j] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        v = np.float64(data[p])
        cf = CT[indices[p]]
        for j in range(k):
            acc[j] += v * cf[j]


@njit(**_JIT)
def exact_argmin(indptr, indices, data, i, C):
    """Nearest centre of row i by exact float64 distances summed over every
    feature (the zeros included), the lowest index on ties: the row made
    dense (O(d) scratch, only for the rare rows in a near tie) and given to
    the dense kernels' own ``lloyd.exact_argmin``. The same function, not a
    copy of its loop: with ``reassoc`` LLVM may vectorise that sum into
    partial sums, differently on different processors, and a row in an
    exact tie (orthogonal to centres of equal norms, as TF-IDF rows often
    are to rows drawn as seeds) must get the dense path's label on every
    processor."""
    row = np.zeros((1, C.shape[1]), C.dtype)
    for p in range(indptr[i], indptr[i + 1]):
        row[0, indices[p]] = data[p]
    return _dense_exact_argmin(row, 0, C)


@njit(**_JIT)
def sq_dist_one(indptr, indices, data, i, C, j, cc_j):
    """Squared distance of row i to centre j (``cc_j`` = ||c_j||^2):
    ``sum over the non-zeros of (x_f - c_f)^2 + (||c||^2 - sum of those
    c_f^2)``, at least 0."""
    acc = 0.0
    part = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        c = C[j, indices[p]]
        t = np.float64(data[p]) - c
        acc += t * t
        part += c * c
    v = acc + (cc_j - part)
    return v if v > 0.0 else 0.0


@njit(**_JIT)
def _value(dot, xsq, xinv_i, cc_j, cinv_j, cosine):
    """The quantity minimised: ``||c||^2 - 2 x.c`` (euclidean; the squared
    distance less ||x||^2) or ``1 - cos`` (cosine)."""
    if cosine:
        v = 1.0 - dot * xinv_i * cinv_j
        return v if v > COSINE_ZERO else 0.0
    return cc_j - 2.0 * dot


@njit(parallel=True, **_JIT)
def sparse_pass(indptr, indices, data, xsq, xinv, w, use_w, C, CT, cc, cinv, cosine, labels,
                stats, want_dist, dist_out, want_sqrt, want_inertia, want_lb, lb_out):
    """Assign every row to its nearest centre (the first on ties).

    ``C`` (k, d) and ``CT`` (d, k) are the centres in float64, ``cc`` their
    squared norms, ``cinv`` their inverse norms (cosine), ``xsq`` the rows'
    squared norms, ``xinv`` their inverse norms (cosine). ``labels`` (n,)
    is updated in place; ``stats`` (n_blocks, N_STATS) receives per block
    the weighted objective (with ``want_inertia`` or ``want_dist``), the
    weighted square roots (``want_sqrt``) and the changed labels;
    ``dist_out`` (n,) the distances (squared L2, or 1 - cos) with
    ``want_dist``; ``lb_out`` (n,) a lower bound on the (not squared)
    Euclidean distance to every other centre with ``want_lb``.
    """
    n = xsq.shape[0]
    k = C.shape[0]
    n_blocks = stats.shape[0]
    ccmax = 0.0
    for j in range(k):
        ccmax = max(ccmax, cc[j])
    want_exact = want_inertia or want_dist or want_sqrt
    for b in prange(n_blocks):
        acc = np.empty(k)
        obj = 0.0
        sq = 0.0
        changed = 0
        r0, r1 = block_rows(b, n, n_blocks)
        for i in range(r0, r1):
            row_dots(indptr, indices, data, i, CT, acc)
            xi = xinv[i] if cosine else 1.0
            bv = np.inf
            sv = np.inf
            bj = 0
            for j in range(k):
                v = _value(acc[j], xsq[i], xi, cc[j], cinv[j] if cosine else 1.0, cosine)
                if v < bv:
                    sv = bv
                    bv = v
                    bj = j
                elif v < sv:
                    sv = v
            if not cosine:
                # the expansion's rounding bound: the row's terms and both norms
                eps = 4.0 * (indptr[i + 1] - indptr[i] + 2) * EPS64 * (xsq[i] + ccmax)
                if sv - bv <= eps:
                    bj = exact_argmin(indptr, indices, data, i, C)
                if want_lb:
                    # after a tie the other centre may be the computed best
                    other = sv if sv - bv > eps else bv
                    v = other + xsq[i] - eps
                    lb_out[i] = np.sqrt(v) if v > 0.0 else 0.0
            wi = np.float64(w[i]) if use_w else 1.0
            if want_exact:
                if cosine:
                    dist = bv
                else:
                    dist = sq_dist_one(indptr, indices, data, i, C, bj, cc[bj])
                obj += wi * dist
                if want_sqrt:
                    sq += wi * np.sqrt(dist)
                if want_dist:
                    dist_out[i] = dist
            if labels[i] != bj:
                changed += 1
                labels[i] = bj
        stats[b, STAT_INERTIA] = obj
        stats[b, STAT_SQRT] = sq
        stats[b, STAT_CHANGED] = changed


@njit(nogil=True, cache=True)
def reduce_stats(stats, out):
    """Sum per-block statistics in block order (deterministic)."""
    out[:] = 0.0
    for b in range(stats.shape[0]):
        out += stats[b]


@njit(parallel=True, **_JIT)
def cluster_sums(indptr, indices, data, w, use_w, scale, use_scale, order, starts, sums, wsums):
    """Per-cluster weighted sums of the rows (times ``scale[i]`` with
    ``use_scale``: cosine's unit rows): cluster j's rows are
    ``order[starts[j]:starts[j + 1]]`` (increasing), summed in that order,
    clusters in parallel. ``sums`` (k, d) and ``wsums`` (k,) float64 are
    overwritten."""
    k = sums.shape[0]
    for j in prange(k):
        sj = sums[j]
        sj[:] = 0.0
        tw = 0.0
        for t in range(starts[j], starts[j + 1]):
            i = order[t]
            wi = np.float64(w[i]) if use_w else 1.0
            tw += wi
            s = wi * (scale[i] if use_scale else 1.0)
            for p in range(indptr[i], indptr[i + 1]):
                sj[indices[p]] += s * np.float64(data[p])
        wsums[j] = tw


@njit(parallel=True, **_JIT)
def dist_to_assigned(indptr, indices, data, xinv, C, cc, cinv, cosine, labels, out):
    """``out[i]``: distance (squared L2, or 1 - cos) of row i to centre
    ``labels[i]``."""
    n = out.shape[0]
    for i in prange(n):
        j = labels[i]
        if cosine:
            dot = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                dot += np.float64(data[p]) * C[j, indices[p]]
            v = 1.0 - dot * xinv[i] * cinv[j]
            out[i] = v if v > COSINE_ZERO else 0.0
        else:
            out[i] = sq_dist_one(indptr, indices, data, i, C, j, cc[j])


@njit(parallel=True, **_JIT)
def pairwise(indptr, indices, data, xsq, xinv, CT, cc, cinv, cosine, out):
    """``out[i, j]``: squared L2 (expanded, at least 0) or ``1 - cos``
    between row i and centre j; ``out`` (n, k) is the caller's."""
    n, k = out.shape
    for i in prange(n):
        acc = np.empty(k)
        row_dots(indptr, indices, data, i, CT, acc)
        for j in range(k):
            if cosine:
                v = 1.0 - acc[j] * xinv[i] * cinv[j]
                out[i, j] = v if v > COSINE_ZERO else 0.0
            else:
                v = xsq[i] + cc[j] - 2.0 * acc[j]
                out[i, j] = v if v > 0.0 else 0.0


@njit(**_JIT)
def _pair_sq_dist(indptr, indices, data, a, b):
    """Exact squared distance between rows a and b (a merge of their sorted
    indices)."""
    p, pe = indptr[a], indptr[a + 1]
    q, qe = indptr[b], indptr[b + 1]
    acc = 0.0
    while p < pe or q < qe:
        if q >= qe or (p < pe and indices[p] < indices[q]):
            t = np.float64(data[p])
            p += 1
        elif p >= pe or indices[q] < indices[p]:
            t = np.float64(data[q])
            q += 1
        else:
            t = np.float64(data[p]) - np.float64(data[q])
            p += 1
            q += 1
        acc += t * t
    return acc


@njit(**_JIT)
def _row_row(indptr, indices, data, xsq, xinv, i, c, dot, cosine):
    """Distance of row i to row c (the seeding's): ``1 - cos``, or the
    squared distance by the expansion, exact (a merge) where the expansion's
    rounding could matter (near duplicates: their distance must come out 0)."""
    if i == c:
        return 0.0
    if cosine:
        v = 1.0 - dot * xinv[i] * xinv[c]
        return v if v > COSINE_ZERO else 0.0
    v = xsq[i] + xsq[c] - 2.0 * dot
    nnz = indptr[i + 1] - indptr[i] + indptr[c + 1] - indptr[c]
    if v <= 4.0 * (nnz + 2) * EPS64 * (xsq[i] + xsq[c]):
        return _pair_sq_dist(indptr, indices, data, i, c)
    return v


@njit(parallel=True, **_JIT)
def seed_pass(indptr, indices, data, xsq, xinv, w, use_w, cosine, CT, cand, closest, cand_pot):
    """One step of greedy k-means++ over the rows: ``CT`` (d, t) holds the
    ``t`` candidate rows ``cand``; ``cand_pot[b, c]`` receives block b's
    potential ``sum w * min(closest, D(x, candidate c))``, blocks of rows
    (:func:`._blocks.row_block`). D is the squared distance, or
    ``1 - cos``."""
    n = xsq.shape[0]
    nt = cand.shape[0]
    n_blocks = cand_pot.shape[0]
    for b in prange(n_blocks):
        acc = np.empty(nt)
        for c in range(nt):
            cand_pot[b, c] = 0.0
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            row_dots(indptr, indices, data, i, CT, acc)
            wi = np.float64(w[i]) if use_w else 1.0
            ci = closest[i]
            for c in range(nt):
                v = _row_row(indptr, indices, data, xsq, xinv, i, cand[c], acc[c], cosine)
                cand_pot[b, c] += wi * (v if v < ci else ci)


@njit(parallel=True, **_JIT)
def dist_to_row(indptr, indices, data, xsq, xinv, cosine, CT, c, out, fold):
    """``out[i]`` = D(row i, row c), D as in :func:`seed_pass` (``CT`` (d,
    1) holds row c); with ``fold``, ``out[i]`` = min(out[i], D) instead
    (the seeding's closest distances after a new centre)."""
    n = out.shape[0]
    for i in prange(n):
        dot = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            dot += np.float64(data[p]) * CT[indices[p], 0]
        v = _row_row(indptr, indices, data, xsq, xinv, i, c, dot, cosine)
        out[i] = min(out[i], v) if fold else v


@njit(parallel=True, **_JIT)
def hamerly_pass(indptr, indices, data, xsq, C, CT, cc, p, jmax, pmax, pmax2, s, labels, u, lo,
                 order, stats):
    """One iteration of Hamerly's algorithm over sparse rows (after the
    centres moved by ``p``; ``jmax`` moved most, by ``pmax``, the others at
    most ``pmax2``; ``s[j]`` is half the distance from centre j to its
    nearest other centre).

    ``u`` (n,) is an upper bound on each row's distance (not squared) to its
    centre, ``lo`` (n,) a lower bound on its distance to every other centre.
    A row whose bounds say its centre is still the nearest costs nothing; if
    the test fails, its own distance is computed (O(row's non-zeros)) and
    the test repeated; only then are all k dot products computed (as
    :func:`sparse_pass`, the same tie fallback). The bounds carry the
    expansion's rounding bound, so the labels are those of
    :func:`sparse_pass`. ``stats[b, STAT_CHANGED]`` counts changed labels
    per block; ``STAT_SQRT`` the rows scanned in full.

    Rows are visited in the order ``order`` (a permutation: the rows
    grouped by label), blocks of positions in it: the rows of one cluster
    read the same centre row, which then stays in cache (each row's own
    distance gathers one value of its centre per non-zero). Each row's
    result depends only on the row, so the order changes no result.
    """
    n = xsq.shape[0]
    k = C.shape[0]
    n_blocks = stats.shape[0]
    ccmax = 0.0
    for j in range(k):
        ccmax = max(ccmax, cc[j])
    for b in prange(n_blocks):
        acc = np.empty(k)
        changed = 0
        scanned = 0
        r0, r1 = block_rows(b, n, n_blocks)
        for t in range(r0, r1):
            i = order[t]
            a = labels[i]
            ui = u[i] + p[a]
            li = lo[i] - (pmax2 if a == jmax else pmax)
            z = max(li, s[a])
            lo[i] = li
            u[i] = ui
            if ui <= z:
                continue
            eps = 4.0 * (indptr[i + 1] - indptr[i] + 2) * EPS64 * (xsq[i] + ccmax)
            ui = np.sqrt(sq_dist_one(indptr, indices, data, i, C, a, cc[a]) + eps)
            u[i] = ui
            if ui <= z:
                continue
            scanned += 1
            row_dots(indptr, indices, data, i, CT, acc)
            bv = np.inf
            sv = np.inf
            bj = 0
            for j in range(k):
                v = cc[j] - 2.0 * acc[j]
                if v < bv:
                    sv = bv
                    bv = v
                    bj = j
                elif v < sv:
                    sv = v
            if sv - bv <= eps:
                bj = exact_argmin(indptr, indices, data, i, C)
                sv = bv  # the other centre may be the computed best
            u[i] = np.sqrt(sq_dist_one(indptr, indices, data, i, C, bj, cc[bj]) + eps)
            v = sv + xsq[i] - eps
            lo[i] = np.sqrt(v) if v > 0.0 else 0.0
            if bj != a:
                changed += 1
                labels[i] = bj
        stats[b, STAT_INERTIA] = 0.0
        stats[b, STAT_SQRT] = scanned
        stats[b, STAT_CHANGED] = changed


@njit(**_JIT)
def move_rows(indptr, indices, data, w, use_w, scale, use_scale, rows, old, new, sums, wsums):
    """Move rows between clusters' sums: for each ``t``, row ``rows[t]``
    (times its weight, and ``scale`` with ``use_scale``) leaves cluster
    ``old[t]`` and joins ``new[t]``. One thread, rows in the given order (a
    fixed order: the result does not depend on the thread count); after an
    iteration only the rows that changed cluster are read, instead of all
    the non-zeros (:func:`cluster_sums`)."""
    for t in range(rows.shape[0]):
        i = rows[t]
        a = old[t]
        c = new[t]
        wi = np.float64(w[i]) if use_w else 1.0
        s = wi * (scale[i] if use_scale else 1.0)
        wsums[a] -= wi
        wsums[c] += wi
        sa = sums[a]
        sc = sums[c]
        for p in range(indptr[i], indptr[i + 1]):
            v = s * np.float64(data[p])
            sa[indices[p]] -= v
            sc[indices[p]] += v


@njit(**_JIT)
def column_mean_var(indptr, indices, data, scale, use_scale, d):
    """Unweighted column means and variances (float64) of the rows (times
    ``scale[i]`` with ``use_scale``), zeros included: two passes over the
    non-zeros in row order (one thread, deterministic), O(d) memory."""
    n = indptr.shape[0] - 1
    mean = np.zeros(d)
    cnt = np.zeros(d)
    for i in range(n):
        s = scale[i] if use_scale else 1.0
        for p in range(indptr[i], indptr[i + 1]):
            mean[indices[p]] += s * np.float64(data[p])
            cnt[indices[p]] += 1.0
    mean /= n
    var = np.zeros(d)
    for i in range(n):
        s = scale[i] if use_scale else 1.0
        for p in range(indptr[i], indptr[i + 1]):
            t = s * np.float64(data[p]) - mean[indices[p]]
            var[indices[p]] += t * t
    for f in range(d):
        var[f] = (var[f] + (n - cnt[f]) * mean[f] * mean[f]) / n
    return mean, var


# --- cluster validity indices over sparse rows (kmeanskit.choose_k) ----------------------------------

@njit(parallel=True, **_JIT)
def cluster_distance_sums(indptr, indices, data, xsq, xinv, cosine, cptr, crows, cvals, w, use_w,
                          labels, query, n_blocks, out):
    """The silhouette's sums: ``out[q, c]`` = sum over the rows j of cluster
    ``c`` of ``w_j * D(x_i, x_j)``, ``i = query[q]``; D the Euclidean
    distance (not squared) or ``1 - cos``, as :func:`_row_row` gives it (the
    expansion, exact where it could round a near duplicate's distance).

    ``cptr``, ``crows``, ``cvals`` hold the same rows by column (CSC: for
    each feature the rows storing it, increasing): row i's dot products with
    every row come from the columns of its own features, O(sum of those
    columns' lengths + n) per scored row, into a dense buffer of n values
    per block. Blocks of scored rows (:func:`._blocks.row_block`) run in
    parallel; each scored row's sums run over j in order, so the result does
    not depend on ``n_blocks`` or the thread count. O(n_blocks x n) memory.
    """
    m = query.shape[0]
    n = xsq.shape[0]
    k = out.shape[1]
    for b in prange(n_blocks):
        dots = np.zeros(n)
        acc = np.empty(k)
        q0, q1 = row_block(b, m, n_blocks)
        for q in range(q0, q1):
            i = query[q]
            for p in range(indptr[i], indptr[i + 1]):
                v = np.float64(data[p])
                f = indices[p]
                for t in range(cptr[f], cptr[f + 1]):
                    dots[crows[t]] += v * np.float64(cvals[t])
            for c in range(k):
                acc[c] = 0.0
            for j in range(n):
                dist = _row_row(indptr, indices, data, xsq, xinv, i, j, dots[j], cosine)
                if not cosine:
                    dist = np.sqrt(dist)
                acc[labels[j]] += (np.float64(w[j]) if use_w else 1.0) * dist
                dots[j] = 0.0
            for c in range(k):
                out[q, c] = acc[c]


@njit(parallel=True, **_JIT)
def sq_dist_to_means(indptr, indices, data, xsq, scale, use_scale, C, cc, labels, out):
    """``out[i]`` = ``||s_i x_i - c_j||^2`` for ``j = labels[i]``, ``s_i =
    scale[i]`` with ``use_scale`` (cosine's unit rows ``x / |x|``: the
    sphere spherical k-means clusters on), else 1; ``cc`` the centres'
    squared norms. As :func:`sq_dist_one`: the row's non-zeros plus the
    centre's remaining squared norm; where that is within the expansion's
    rounding bound (a row at or next to its centre: a singleton cluster,
    duplicates), every feature is summed instead, so such a distance is
    exact (0 for a row on its centre) rather than rounding left over."""
    n = out.shape[0]
    d = C.shape[1]
    for i in prange(n):
        j = labels[i]
        s = scale[i] if use_scale else 1.0
        p0 = indptr[i]
        p1 = indptr[i + 1]
        acc = 0.0
        part = 0.0
        for p in range(p0, p1):
            c = C[j, indices[p]]
            t = s * np.float64(data[p]) - c
            acc += t * t
            part += c * c
        v = acc + (cc[j] - part)
        if v <= 4.0 * (p1 - p0 + 2) * EPS64 * (s * s * xsq[i] + cc[j]):
            acc = 0.0
            p = p0
            for f in range(d):
                x = 0.0
                if p < p1 and indices[p] == f:
                    x = s * np.float64(data[p])
                    p += 1
                t = x - C[j, f]
                acc += t * t
            v = acc
        out[i] = v if v > 0.0 else 0.0
