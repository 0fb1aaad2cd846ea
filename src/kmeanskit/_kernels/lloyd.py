"""The Lloyd pass: assign every row to its nearest centre, optionally
accumulating the per-cluster weighted sums for the centre update.

One call reads the data once. Rows are processed in chunks of
``CHUNK_ROWS``; chunks are grouped into ``n_blocks`` contiguous blocks whose
partial results (sums, weights, inertia, ...) are stored per block and reduced
in block order by the caller. The block layout (:mod:`._blocks`) depends only
on the data's shape, so the result is bit-identical for any number of threads.

Two distance strategies share the same bookkeeping:

* ``direct``: the chunk is transposed into a (d x CHUNK_ROWS) scratch so that
  the inner loops run over points, one SIMD lane per point, exact
  differences (best for small d);
* ``gemm``: one BLAS product per chunk gives x.c, and the argmin uses
  ||c||^2 - 2 x.c (best for large d and k); up to ``FUSED_D`` features the
  centres x rows layout computes those values in registers instead
  (:func:`fold_expanded_fused`).

In both, the winning centre's distance is recomputed exactly in float64, so
distances and inertia do not suffer the cancellation of the expanded form and
float32 data gets a float64-accurate inertia.

Loops over a chunk index slices (``Xc = X[s:s + m]``, then ``Xc[i, f]``),
never ``X[s + i, f]``: numba wraps a computed index that might be negative
(adds the length), so LLVM can neither prove such accesses contiguous nor
vectorise the loop, and emits gathers or scalar code. The loop variable of
``range`` needs no wrapping.

Nothing here validates its input: the public entry points do that once.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from .._config import CHUNK_ROWS, FASTMATH, FASTMATH_ORDERED, GEMM_ROWS, ROW_PAD
from ._blocks import block_chunks, block_rows, chunk_span, row_block, transpose_rows
from ._simd import transpose_tiles

# Layout of the per-block statistics vector.
STAT_INERTIA = 0  # sum of w * ||x - c||^2
STAT_SQRT = 1  # sum of w * ||x - c|| (scipy's distortion, times n; with want_sqrt)
STAT_CHANGED = 2  # number of rows whose label changed
N_STATS = 3

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))
#: Kernels whose sums keep the order written (``_config.FASTMATH_ORDERED``).
_JIT_ORDERED = dict(nogil=True, cache=True, fastmath=set(FASTMATH_ORDERED))


@njit(**_JIT)
def _exact_d2(X, r, C, j):
    """Row r's exact float64 squared distance to centre j: the one sum of
    :func:`exact_argmin` and :func:`exact_argmin_among`."""
    acc = 0.0
    for f in range(C.shape[1]):
        t = np.float64(X[r, f]) - np.float64(C[j, f])
        acc += t * t
    return acc


@njit(**_JIT)
def exact_argmin(X, r, C):
    """Nearest centre of row r by exact float64 distances, the lowest index
    on ties: the assignment every path and algorithm agrees on."""
    best = np.inf
    bj = 0
    for j in range(C.shape[0]):
        acc = _exact_d2(X, r, C, j)
        if acc < best:
            best = acc
            bj = j
    return bj


@njit(**_JIT)
def exact_argmin_among(X, r, C, v, thr):
    """:func:`exact_argmin` over the centres j with ``v[j] <= thr`` only:
    ``v`` the row's expanded-form values (``||c_j||^2 - 2 x.c_j``), ``thr``
    the smallest of them plus the expanded form's rounding bound. Each value
    is within half that bound of the exact squared distance less
    ||x||^2, so a centre above ``thr`` is farther than the nearest one: the
    skipped centres can be neither the minimum nor tied with it, and the
    result is exact_argmin's (the lowest index on ties). A near tie then
    costs k comparisons and a few exact distances, not k of them."""
    best = np.inf
    bj = 0
    for j in range(C.shape[0]):
        if v[j] <= thr:
            acc = _exact_d2(X, r, C, j)
            if acc < best:
                best = acc
                bj = j
    return bj


@njit(**_JIT)
def _fold(v, bi, sv, li, j):
    """Fold value ``v`` of centre j into a row's best ``bi``, second ``sv``
    and label ``li`` (the first centre on ties): the new (best, second,
    label), branch-free."""
    lt = v < bi
    return (v if lt else bi), (bi if lt else (v if v < sv else sv)), (j if lt else li)


@njit(**_JIT)
def track_two_best(tmp, best, second, lab, j, m):
    """Fold centre j's values ``tmp[:m]`` into each row's best and second
    best value and best index (the first on ties), in a loop over rows that
    vectorises."""
    for i in range(m):
        best[i], second[i], lab[i] = _fold(tmp[i], best[i], second[i], lab[i], j)


@njit(**_JIT)
def _sq4(x0, x1, x2, x3, a0, a1, a2, a3):
    """Squared distance over four features (two pairs, then their sum)."""
    e0 = x0 - a0
    e1 = x1 - a1
    e2 = x2 - a2
    e3 = x3 - a3
    return (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)


@njit(**_JIT)
def _lane_dists_one(xt, C, j, m, out):
    """``out[i]`` = squared distance of the row in lane i of ``xt`` (d x m,
    one SIMD lane per row) to centre j, four features per sweep (the lane's
    partial sum stays in a register for four differences)."""
    d = xt.shape[0]
    d4 = d - d % 4
    for i in range(m):
        out[i] = 0.0
    for f in range(0, d4, 4):
        a0, a1, a2, a3 = C[j, f], C[j, f + 1], C[j, f + 2], C[j, f + 3]
        for i in range(m):
            out[i] += _sq4(xt[f, i], xt[f + 1, i], xt[f + 2, i], xt[f + 3, i], a0, a1, a2, a3)
    for f in range(d4, d):
        a0 = C[j, f]
        for i in range(m):
            out[i] += (xt[f, i] - a0) * (xt[f, i] - a0)


@njit(**_JIT)
def _lane_dists_four(xt, C, j, m, o0, o1, o2, o3):
    """:func:`_lane_dists_one` for centres j .. j + 3 in one sweep: each
    lane's four features are loaded once for sixteen differences (the loop
    is bound by loads and stores, not arithmetic; the helpers inline: same
    speed as the loop written out)."""
    d = xt.shape[0]
    d4 = d - d % 4
    for i in range(m):
        o0[i] = 0.0
        o1[i] = 0.0
        o2[i] = 0.0
        o3[i] = 0.0
    for f in range(0, d4, 4):
        a0, a1, a2, a3 = C[j, f], C[j, f + 1], C[j, f + 2], C[j, f + 3]
        b0, b1, b2, b3 = C[j + 1, f], C[j + 1, f + 1], C[j + 1, f + 2], C[j + 1, f + 3]
        c0, c1, c2, c3 = C[j + 2, f], C[j + 2, f + 1], C[j + 2, f + 2], C[j + 2, f + 3]
        g0, g1, g2, g3 = C[j + 3, f], C[j + 3, f + 1], C[j + 3, f + 2], C[j + 3, f + 3]
        for i in range(m):
            x0, x1, x2, x3 = xt[f, i], xt[f + 1, i], xt[f + 2, i], xt[f + 3, i]
            o0[i] += _sq4(x0, x1, x2, x3, a0, a1, a2, a3)
            o1[i] += _sq4(x0, x1, x2, x3, b0, b1, b2, b3)
            o2[i] += _sq4(x0, x1, x2, x3, c0, c1, c2, c3)
            o3[i] += _sq4(x0, x1, x2, x3, g0, g1, g2, g3)
    for f in range(d4, d):
        a0, b0, c0, g0 = C[j, f], C[j + 1, f], C[j + 2, f], C[j + 3, f]
        for i in range(m):
            x0 = xt[f, i]
            o0[i] += (x0 - a0) * (x0 - a0)
            o1[i] += (x0 - b0) * (x0 - b0)
            o2[i] += (x0 - c0) * (x0 - c0)
            o3[i] += (x0 - g0) * (x0 - g0)


@njit(**_JIT)
def _track_four(o0, o1, o2, o3, best, second, lab, j, m):
    """:func:`track_two_best` for centres j .. j + 3 (values ``o0`` ..
    ``o3``) in one loop: each row's best, second and label are loaded and
    stored once."""
    for i in range(m):
        bi, sv, li = _fold(o0[i], best[i], second[i], lab[i], j)
        bi, sv, li = _fold(o1[i], bi, sv, li, j + 1)
        bi, sv, li = _fold(o2[i], bi, sv, li, j + 2)
        best[i], second[i], lab[i] = _fold(o3[i], bi, sv, li, j + 3)


@njit(**_JIT)
def scan_two_best(xt, C, m, tmp, best, second, lab):
    """For the m rows held in ``xt`` (d x m, one SIMD lane per row): the
    nearest centre of ``C`` (the first on ties) into ``lab``, its squared
    distance into ``best`` and the second smallest into ``second``;
    ``tmp`` is 4 x m scratch. Centres four at a time, features four at a
    time, the four centres folded in one loop: the loops are bound by
    loads and stores, and this layout makes four times fewer of them per
    difference than one centre and one feature a sweep. The sums are not
    in feature order: callers settle near ties with ``exact_argmin``."""
    k = C.shape[0]
    for i in range(m):
        best[i] = np.inf
        second[i] = np.inf
        lab[i] = 0
    k4 = k - k % 4
    for j in range(0, k4, 4):
        _lane_dists_four(xt, C, j, m, tmp[0], tmp[1], tmp[2], tmp[3])
        _track_four(tmp[0], tmp[1], tmp[2], tmp[3], best, second, lab, j, m)
    for j in range(k4, k):
        _lane_dists_one(xt, C, j, m, tmp[0])
        track_two_best(tmp[0], best, second, lab, j, m)


@njit(inline="always", **_JIT)
def _scan_small(xt, C, m, best, second, lab):
    """:func:`scan_two_best` for d = 2 to 4: four centres a sweep, their
    squared distances computed and folded into the best two in the same
    loop, in centre order (a row's best, second and label are loaded and
    stored once per four centres, and no distance is stored; the same sums
    and folds as :func:`scan_two_best`, in one loop instead of two)."""
    d = xt.shape[0]
    k = C.shape[0]
    k4 = k - k % 4
    for i in range(m):
        best[i] = np.inf
        second[i] = np.inf
        lab[i] = 0
    for j in range(0, k4, 4):
        if d == 2:
            a0, a1 = C[j, 0], C[j, 1]
            b0, b1 = C[j + 1, 0], C[j + 1, 1]
            c0, c1 = C[j + 2, 0], C[j + 2, 1]
            g0, g1 = C[j + 3, 0], C[j + 3, 1]
            for i in range(m):
                x0 = xt[0, i]
                x1 = xt[1, i]
                t0 = x0 - a0
                t1 = x1 - a1
                bi, sv, li = _fold(t0 * t0 + t1 * t1, best[i], second[i], lab[i], j)
                t0 = x0 - b0
                t1 = x1 - b1
                bi, sv, li = _fold(t0 * t0 + t1 * t1, bi, sv, li, j + 1)
                t0 = x0 - c0
                t1 = x1 - c1
                bi, sv, li = _fold(t0 * t0 + t1 * t1, bi, sv, li, j + 2)
                t0 = x0 - g0
                t1 = x1 - g1
                best[i], second[i], lab[i] = _fold(t0 * t0 + t1 * t1, bi, sv, li, j + 3)
        elif d == 4:
            a0, a1, a2, a3 = C[j, 0], C[j, 1], C[j, 2], C[j, 3]
            b0, b1, b2, b3 = C[j + 1, 0], C[j + 1, 1], C[j + 1, 2], C[j + 1, 3]
            c0, c1, c2, c3 = C[j + 2, 0], C[j + 2, 1], C[j + 2, 2], C[j + 2, 3]
            g0, g1, g2, g3 = C[j + 3, 0], C[j + 3, 1], C[j + 3, 2], C[j + 3, 3]
            for i in range(m):
                x0, x1, x2, x3 = xt[0, i], xt[1, i], xt[2, i], xt[3, i]
                bi, sv, li = _fold(_sq4(x0, x1, x2, x3, a0, a1, a2, a3), best[i], second[i],
                                   lab[i], j)
                bi, sv, li = _fold(_sq4(x0, x1, x2, x3, b0, b1, b2, b3), bi, sv, li, j + 1)
                bi, sv, li = _fold(_sq4(x0, x1, x2, x3, c0, c1, c2, c3), bi, sv, li, j + 2)
                best[i], second[i], lab[i] = _fold(_sq4(x0, x1, x2, x3, g0, g1, g2, g3),
                                                   bi, sv, li, j + 3)
        else:
            a0, a1, a2 = C[j, 0], C[j, 1], C[j, 2]
            b0, b1, b2 = C[j + 1, 0], C[j + 1, 1], C[j + 1, 2]
            c0, c1, c2 = C[j + 2, 0], C[j + 2, 1], C[j + 2, 2]
            g0, g1, g2 = C[j + 3, 0], C[j + 3, 1], C[j + 3, 2]
            for i in range(m):
                x0 = xt[0, i]
                x1 = xt[1, i]
                x2 = xt[2, i]
                t0 = x0 - a0
                t1 = x1 - a1
                t2 = x2 - a2
                bi, sv, li = _fold(t0 * t0 + t1 * t1 + t2 * t2, best[i], second[i], lab[i], j)
                t0 = x0 - b0
                t1 = x1 - b1
                t2 = x2 - b2
                bi, sv, li = _fold(t0 * t0 + t1 * t1 + t2 * t2, bi, sv, li, j + 1)
                t0 = x0 - c0
                t1 = x1 - c1
                t2 = x2 - c2
                bi, sv, li = _fold(t0 * t0 + t1 * t1 + t2 * t2, bi, sv, li, j + 2)
                t0 = x0 - g0
                t1 = x1 - g1
                t2 = x2 - g2
                best[i], second[i], lab[i] = _fold(t0 * t0 + t1 * t1 + t2 * t2, bi, sv, li,
                                                   j + 3)
    for j in range(k4, k):
        if d == 2:
            a0 = C[j, 0]
            a1 = C[j, 1]
            for i in range(m):
                t0 = xt[0, i] - a0
                t1 = xt[1, i] - a1
                best[i], second[i], lab[i] = _fold(t0 * t0 + t1 * t1, best[i], second[i],
                                                   lab[i], j)
        elif d == 4:
            a0, a1, a2, a3 = C[j, 0], C[j, 1], C[j, 2], C[j, 3]
            for i in range(m):
                best[i], second[i], lab[i] = _fold(
                    _sq4(xt[0, i], xt[1, i], xt[2, i], xt[3, i], a0, a1, a2, a3), best[i],
                    second[i], lab[i], j)
        else:
            a0 = C[j, 0]
            a1 = C[j, 1]
            a2 = C[j, 2]
            for i in range(m):
                t0 = xt[0, i] - a0
                t1 = xt[1, i] - a1
                t2 = xt[2, i] - a2
                best[i], second[i], lab[i] = _fold(t0 * t0 + t1 * t1 + t2 * t2, best[i],
                                                   second[i], lab[i], j)


@njit(inline="always", **_JIT)
def scan_lanes(xt, C, m, tmp, best, second, lab):
    """The nearest two centres of the m rows in ``xt`` (d x m, one SIMD lane
    per row), in the dtype of ``xt`` and ``C``: :func:`_scan_small` for
    d = 2 to 4, else :func:`scan_two_best` (``tmp``: 4 x m scratch). The
    Lloyd pass and Hamerly's scans of the rows failing their bounds share
    it; callers settle near ties (within the dtype's rounding bound) with
    ``exact_argmin``."""
    d = xt.shape[0]
    if 2 <= d <= 4:
        _scan_small(xt, C, m, best, second, lab)
    else:
        scan_two_best(xt, C, m, tmp, best, second, lab)


@njit(**_JIT)
def _finish_chunk(X, w, use_w, C, s, m, lab, labels, update, sums_b, wsums_b,
                  want_dist, dist_out, stats_b, want_sqrt, want_inertia):
    """Book-keeping of the gemm strategy for one chunk of ``m`` rows (row
    by row; :func:`_finish_direct` is the direct strategy's vectorised one)."""
    d = X.shape[1]
    inertia = 0.0
    sqrt_sum = 0.0
    changed = 0
    want_exact = want_inertia or want_dist or want_sqrt
    for i in range(m):
        r = s + i
        j = lab[i]
        acc = 0.0
        if want_exact:
            for f in range(d):
                t = np.float64(X[r, f]) - np.float64(C[j, f])
                acc += t * t
        wi = np.float64(w[r]) if use_w else 1.0
        inertia += wi * acc
        if want_sqrt:  # only scipy's distortion needs it; a sqrt per row costs
            sqrt_sum += wi * np.sqrt(acc)
        if labels[r] != j:
            changed += 1
            labels[r] = j
        if want_dist:
            dist_out[r] = acc
        if update:
            wsums_b[j] += wi
            for f in range(d):
                sums_b[j, f] += wi * np.float64(X[r, f])
    stats_b[STAT_INERTIA] += inertia
    stats_b[STAT_SQRT] += sqrt_sum
    stats_b[STAT_CHANGED] += changed


#: Up to this many features the direct pass uses the vectorised
#: book-keeping :func:`_finish_direct`; above, the row-by-row
#: :func:`_finish_chunk`: loops over rows, one per feature, win while a row
#: has few features; with more, one loop over a row's features is faster
#: (docs/benchmarks.md, "Measurements behind the kernel choices").
FINISH_VEC_MAX_D = 4

#: Up to this many centres, the direct pass accumulates the centre sums with
#: one masked, vectorised sweep per centre instead of a scalar scatter per
#: row: k sweeps that vectorise cost less than the scatter's scalar loads and
#: stores while k is small (docs/benchmarks.md).
MASKED_SUMS_MAX_K = 16

#: From this many centres, rows of 3 or 4 (2) features are added to their
#: clusters' sums by a scatter into two interleaved copies of float64
#: accumulators (a row's features and weight in one 32- or 64-byte row)
#: instead of the masked sweeps, whose cost grows with k: the crossovers
#: measured (docs/benchmarks.md, row `SCATTER_SUMS_MIN_K`).
SCATTER_SUMS_MIN_K = 5
SCATTER_SUMS_MIN_K_2D = 7

#: Up to this many centres, rows of 3 or 4 features are added to their
#: clusters' sums four centres a sweep under masks (:func:`_grouped_sums`),
#: ahead of the scatter and the masked sweeps (docs/benchmarks.md).
GROUPED_SUMS_MAX_K = 12


@njit(**_JIT)
def _scatter_sums(xt, xd, wc, use_w, m, lab, k, sums_b, wsums_b):
    """The scatter of :func:`masked_sums` for d = 2 to 4: even rows go to
    one copy of the accumulators, odd rows to the other (two chains of
    additions instead of one), the copies added per chunk in a fixed order.
    ``xd`` (float64, at least 8 k elements, 16 k for d = 4) holds the
    copies."""
    d = xt.shape[0]
    W = 4 if d <= 3 else 8  # a row's features, then its weight at d
    acc = xd.ravel()[:2 * W * k].reshape((2, k, W))
    acc[:, :, :] = 0.0
    m2 = m - m % 2
    exact = not use_w or (xt.itemsize == 4 and wc.itemsize == 4)
    if d == 4 and exact:
        # as below, the four features as one vector, the weight after them
        # (written out twice on purpose: one branch for d = 2 to 4, or a
        # helper per row, kept LLVM from vectorising the additions;
        # docs/benchmarks.md)
        for i in range(0, m2, 2):
            w0 = np.float64(wc[i]) if use_w else 1.0
            w1 = np.float64(wc[i + 1]) if use_w else 1.0
            a = acc[0, lab[i]]
            b = acc[1, lab[i + 1]]
            a0 = w0 * np.float64(xt[0, i])
            a1 = w0 * np.float64(xt[1, i])
            a2 = w0 * np.float64(xt[2, i])
            a3 = w0 * np.float64(xt[3, i])
            b0 = w1 * np.float64(xt[0, i + 1])
            b1 = w1 * np.float64(xt[1, i + 1])
            b2 = w1 * np.float64(xt[2, i + 1])
            b3 = w1 * np.float64(xt[3, i + 1])
            a[0] += a0
            a[1] += a1
            a[2] += a2
            a[3] += a3
            a[4] += w0
            b[0] += b0
            b[1] += b1
            b[2] += b2
            b[3] += b3
            b[4] += w1
    elif (d == 3 or d == 2) and exact:
        # a row's four slots written with constant indices: LLVM adds them as
        # one 4-wide vector (the weight's slot d; with 2 features the fourth
        # slot gets 0.0), where a loop over a run-time d is four scalar
        # read-add-writes. The same additions in the same order, and the
        # same bits: the products w x are exact here (float32 w and x, or
        # w = 1), so the loop's fused multiply-adds round as the vector's
        # separate products and sums do; other weighted rows keep the loop.
        for i in range(0, m2, 2):
            w0 = np.float64(wc[i]) if use_w else 1.0
            w1 = np.float64(wc[i + 1]) if use_w else 1.0
            a = acc[0, lab[i]]
            b = acc[1, lab[i + 1]]
            a0 = w0 * np.float64(xt[0, i])
            a1 = w0 * np.float64(xt[1, i])
            b0 = w1 * np.float64(xt[0, i + 1])
            b1 = w1 * np.float64(xt[1, i + 1])
            if d == 3:
                a2 = w0 * np.float64(xt[2, i])
                b2 = w1 * np.float64(xt[2, i + 1])
                a3 = w0
                b3 = w1
            else:
                a2 = w0
                b2 = w1
                a3 = 0.0
                b3 = 0.0
            a[0] += a0
            a[1] += a1
            a[2] += a2
            a[3] += a3
            b[0] += b0
            b[1] += b1
            b[2] += b2
            b[3] += b3
    else:
        for i in range(0, m2, 2):
            w0 = np.float64(wc[i]) if use_w else 1.0
            w1 = np.float64(wc[i + 1]) if use_w else 1.0
            a = acc[0, lab[i]]
            b = acc[1, lab[i + 1]]
            for f in range(d):
                a[f] += w0 * np.float64(xt[f, i])
                b[f] += w1 * np.float64(xt[f, i + 1])
            a[d] += w0
            b[d] += w1
    for i in range(m2, m):
        w0 = np.float64(wc[i]) if use_w else 1.0
        a = acc[0, lab[i]]
        for f in range(d):
            a[f] += w0 * np.float64(xt[f, i])
        a[d] += w0
    for j in range(k):
        wsums_b[j] += acc[0, j, d] + acc[1, j, d]
        for f in range(d):
            sums_b[j, f] += acc[0, j, f] + acc[1, j, f]


@njit(inline="always", **_JIT)
def _group(xt, wc, use_w, m, lab, j, nf):
    """The sums of :func:`_grouped_sums` for rows of ``nf`` features (3 or
    4): centre j's (x0, x1, x2, x3, w), then j + 1's, j + 2's, j + 3's.
    Inlined with ``nf`` and ``use_w`` constants: a fourth feature past
    ``nf`` is the constant 0, whose sums LLVM drops, and without weights
    there is no product by 1."""
    a0 = a1 = a2 = a3 = aw = b0 = b1 = b2 = b3 = bw = 0.0
    c0 = c1 = c2 = c3 = cw = e0 = e1 = e2 = e3 = ew = 0.0
    for i in range(m):
        li = lab[i]
        wi = np.float64(wc[i]) if use_w else 1.0
        x0 = np.float64(xt[0, i]) * wi
        x1 = np.float64(xt[1, i]) * wi
        x2 = np.float64(xt[2, i]) * wi
        x3 = np.float64(xt[3, i]) * wi if nf > 3 else 0.0
        a0 += x0 if li == j else 0.0
        a1 += x1 if li == j else 0.0
        a2 += x2 if li == j else 0.0
        a3 += x3 if li == j else 0.0
        aw += wi if li == j else 0.0
        b0 += x0 if li == j + 1 else 0.0
        b1 += x1 if li == j + 1 else 0.0
        b2 += x2 if li == j + 1 else 0.0
        b3 += x3 if li == j + 1 else 0.0
        bw += wi if li == j + 1 else 0.0
        c0 += x0 if li == j + 2 else 0.0
        c1 += x1 if li == j + 2 else 0.0
        c2 += x2 if li == j + 2 else 0.0
        c3 += x3 if li == j + 2 else 0.0
        cw += wi if li == j + 2 else 0.0
        e0 += x0 if li == j + 3 else 0.0
        e1 += x1 if li == j + 3 else 0.0
        e2 += x2 if li == j + 3 else 0.0
        e3 += x3 if li == j + 3 else 0.0
        ew += wi if li == j + 3 else 0.0
    return a0, a1, a2, a3, aw, b0, b1, b2, b3, bw, c0, c1, c2, c3, cw, e0, e1, e2, e3, ew


@njit(**_JIT)
def _grouped_sums(xt, wc, use_w, m, lab, k, sums_b, wsums_b):
    """:func:`masked_sums` for d = 3 or 4 and few centres: four centres a
    sweep, each row's features (times its weight) and weight added to the
    four centres' sums where the row's label is the centre (a select, not
    a branch), the 4 (d + 1) sums held in SIMD registers: one loop that
    vectorises, where the scatter adds one row at a time and the masked
    sweeps read the chunk once per centre and feature. Its cost grows with
    k, the scatter's does not (``GROUPED_SUMS_MAX_K``). :func:`_group`
    holds the loop, inlined once per feature count and weighting. Not
    used at 2 features: LLVM leaves that loop scalar (docs/benchmarks.md)."""
    d = xt.shape[0]
    for j in range(0, k, 4):
        if d == 3:
            r = _group(xt, wc, True, m, lab, j, 3) if use_w else _group(xt, wc, False, m, lab, j, 3)
        else:
            r = _group(xt, wc, True, m, lab, j, 4) if use_w else _group(xt, wc, False, m, lab, j, 4)
        for g in range(min(4, k - j)):
            for f in range(d):
                sums_b[j + g, f] += r[5 * g + f]
            wsums_b[j + g] += r[5 * g + 4]


@njit(**_JIT)
def masked_sums(xt, xd, w, use_w, s, m, lab, k, sums_b, wsums_b):
    """Add the chunk's rows (``xt``: d x m, transposed; rows s.. of the data
    for the weights) to the sums of their clusters ``lab``: one masked sweep
    per centre, loops that vectorise (for few centres, faster than a scalar
    scatter per row), or from ``SCATTER_SUMS_MIN_K`` centres with 3 or 4
    features (``SCATTER_SUMS_MIN_K_2D`` with 2) :func:`_scatter_sums`.
    ``xd`` is float64 scratch like ``xt``."""
    d = xt.shape[0]
    wc = w[s:s + m]  # slices: see the module docstring
    if (d == 3 or d == 4) and k <= GROUPED_SUMS_MAX_K:
        _grouped_sums(xt, wc, use_w, m, lab, k, sums_b, wsums_b)
        return
    if ((d == 3 or d == 4) and k >= SCATTER_SUMS_MIN_K) or (d == 2 and k >= SCATTER_SUMS_MIN_K_2D):
        _scatter_sums(xt, xd, wc, use_w, m, lab, k, sums_b, wsums_b)
        return
    for f in range(d):
        for i in range(m):
            xd[f, i] = np.float64(xt[f, i]) * (np.float64(wc[i]) if use_w else 1.0)
    for j in range(k):
        cnt = 0.0
        for i in range(m):
            cnt += (np.float64(wc[i]) if use_w else 1.0) if lab[i] == j else 0.0
        wsums_b[j] += cnt
        for f in range(d):
            acc = 0.0
            for i in range(m):
                acc += xd[f, i] if lab[i] == j else 0.0
            sums_b[j, f] += acc


@njit(**_JIT)
def _finish_direct(X, xt, xd, dd, w, use_w, Cd, s, m, lab, labels, update, sums_b, wsums_b,
                   want_dist, dist_out, stats_b, want_sqrt, want_inertia):
    """Book-keeping of the direct strategy for one chunk of ``m`` rows, in
    loops over rows that vectorise: ``xt`` is the chunk of ``X`` transposed (d x m),
    ``Cd`` the centres in float64, ``xd``/``dd`` float64 scratch."""
    d = xt.shape[0]
    k = Cd.shape[0]
    wc = w[s:s + m]  # slices: see the module docstring
    lc = labels[s:s + m]
    if want_inertia or want_dist or want_sqrt:
        # exact float64 distance to the chosen centre (each sums its features
        # in order), features outer so the row loop vectorises
        for i in range(m):
            t = np.float64(xt[0, i]) - Cd[lab[i], 0]
            dd[i] = t * t
        for f in range(1, d):
            for i in range(m):
                t = np.float64(xt[f, i]) - Cd[lab[i], f]
                dd[i] += t * t
        inertia = 0.0
        sqrt_sum = 0.0
        for i in range(m):
            wi = np.float64(wc[i]) if use_w else 1.0
            inertia += wi * dd[i]
        if want_sqrt:  # only scipy's distortion needs it; a sqrt per row costs
            for i in range(m):
                wi = np.float64(wc[i]) if use_w else 1.0
                sqrt_sum += wi * np.sqrt(dd[i])
        if want_dist:
            for i in range(m):
                dist_out[s + i] = dd[i]
        stats_b[STAT_INERTIA] += inertia
        stats_b[STAT_SQRT] += sqrt_sum
    changed = 0
    for i in range(m):
        changed += 1 if lc[i] != lab[i] else 0
        lc[i] = lab[i]
    stats_b[STAT_CHANGED] += changed
    if not update:
        return
    if k <= MASKED_SUMS_MAX_K:
        masked_sums(xt, xd, w, use_w, s, m, lab, k, sums_b, wsums_b)
    else:
        for i in range(m):
            j = lab[i]
            wi = np.float64(wc[i]) if use_w else 1.0
            wsums_b[j] += wi
            for f in range(d):
                sums_b[j, f] += wi * np.float64(X[s + i, f])


@njit(**_JIT)
def scan_rows(X, s, m, C, best, second, lab):
    """:func:`scan_two_best` for the ``m`` rows of ``X`` from row ``s`` as
    they lie, with no transposition: each row's distances to four centres
    at a time, in loops over its features that vectorise (four sums, the
    row's values loaded once for the four), folded in centre order. Each
    sum ends with a reduction across the SIMD lanes, which costs more than
    transposing while there are many centres; with many features and few
    centres it saves the transposition, which costs as much or more
    (``_solver.rows_scan``). The sums are not in feature order: callers settle
    near ties with ``exact_argmin``."""
    d = X.shape[1]
    k = C.shape[0]
    k4 = k - k % 4
    zero = X.dtype.type(0.0)
    inf = X.dtype.type(np.inf)
    for i in range(m):
        x = X[s + i]
        bi = inf
        sv = inf
        li = 0
        for j in range(0, k4, 4):
            c0 = C[j]
            c1 = C[j + 1]
            c2 = C[j + 2]
            c3 = C[j + 3]
            a0 = a1 = a2 = a3 = zero
            for f in range(d):
                xf = x[f]
                t0 = xf - c0[f]
                t1 = xf - c1[f]
                t2 = xf - c2[f]
                t3 = xf - c3[f]
                a0 += t0 * t0
                a1 += t1 * t1
                a2 += t2 * t2
                a3 += t3 * t3
            bi, sv, li = _fold(a0, bi, sv, li, j)
            bi, sv, li = _fold(a1, bi, sv, li, j + 1)
            bi, sv, li = _fold(a2, bi, sv, li, j + 2)
            bi, sv, li = _fold(a3, bi, sv, li, j + 3)
        for j in range(k4, k):
            c0 = C[j]
            a0 = zero
            for f in range(d):
                t0 = x[f] - c0[f]
                a0 += t0 * t0
            bi, sv, li = _fold(a0, bi, sv, li, j)
        best[i] = bi
        second[i] = sv
        lab[i] = li


#: How :func:`lloyd_pass_direct` lays a chunk out for its scan: transposed
#: feature by feature, transposed row by row (rows a multiple of
#: ``TRANSPOSE_BY_ROWS`` bytes apart), or as it lies (:func:`scan_rows`).
BY_FEATURES, BY_ROWS, UNTRANSPOSED = 0, 1, 2


def _direct_pass(layout: int):
    """:func:`lloyd_pass_direct` compiled with ``layout`` a constant
    (``BY_FEATURES``, ``BY_ROWS`` or ``UNTRANSPOSED``); the branches not
    taken are not compiled, so each variant's loops are those of a kernel
    without them. ``UNTRANSPOSED`` keeps the row-by-row book-keeping at any
    d (its callers have 64 features or more: ``_solver.rows_scan``)."""
    by_rows = layout == BY_ROWS
    untransposed = layout == UNTRANSPOSED

    def lloyd_pass_direct(X, w, use_w, C, labels, update, sums, wsums, stats,
                          want_dist, dist_out, tie_eps, want_sqrt, want_inertia, want_lb, lb_out):
        """Assign rows of ``X`` to centres ``C`` with exact direct distances.

        Parameters are caller-allocated buffers: ``labels`` (n,), any signed
        integer type holding k - 1 (see ``_solver.label_dtype``), is updated in
        place, ``sums`` (n_blocks, k, d) float64 and ``wsums`` (n_blocks, k)
        float64 receive the per-block partial sums when ``update`` is true,
        ``stats`` (n_blocks, N_STATS) float64 the per-block statistics and
        ``dist_out`` (n,) the squared distances when ``want_dist``. The inertia
        (an exact float64 distance per row) is computed only when
        ``want_inertia`` (or distances are wanted); Lloyd's iterations skip it.

        The distances are computed in the data's dtype; a row whose two nearest
        centres are within the rounding bound ``tie_eps`` (relative; the terms
        are all non-negative) is re-assigned with exact float64 distances, so the
        labels are those of the exact argmin whatever the dtype.

        With ``want_lb``, ``lb_out[i]`` receives a lower bound on row i's
        distance (not squared) to every centre but its own: the second smallest
        value less its rounding bound (Hamerly's first lower bounds).
        """
        n, d = X.shape
        k = C.shape[0]
        n_blocks = stats.shape[0]
        Cd = C.astype(np.float64)
        nxd = d if update and k <= MASKED_SUMS_MAX_K else 1
        ntmp = 1 if 2 <= d <= 4 else 4
        # ``by_rows`` (the factory's constant): each chunk transposed row by row
        # into a padded scratch (see _config.TRANSPOSE_BY_ROWS)
        pad = ROW_PAD if by_rows else 0
        # rows per transposed piece: the scratch stays in L1 (transpose_rows)
        sub = transpose_rows(d, X.itemsize, pad)
        for b in prange(n_blocks):
            # O(d x CHUNK_ROWS) scratch (the transposed piece: O(d x sub), at
            # most TRANSPOSE_BYTES) allocated in the loop's body: numba hoists
            # it to once per worker (about 30 KiB in all for pixels), far less
            # memory than a slot per block allocated up front, and faster to
            # reach than slots per thread indexed by the thread id.
            xt = np.empty((d, sub + pad), X.dtype)
            xd = np.empty((nxd, CHUNK_ROWS))
            dd = np.empty(CHUNK_ROWS)
            tmp2 = np.empty((ntmp, CHUNK_ROWS), X.dtype)
            best = np.empty(CHUNK_ROWS, X.dtype)
            second = np.empty(CHUNK_ROWS, X.dtype)
            lab = np.empty(CHUNK_ROWS, np.int32)
            # where the scan writes a piece's nearest two: the chunk's own
            # arrays when the chunk is one piece, else a piece's arrays,
            # copied into the chunk's after the scan; the scan's loops run
            # on whole arrays, not on slices at an offset, which made them
            # slower (docs/benchmarks.md)
            if sub < CHUNK_ROWS:
                bp = np.empty(sub, X.dtype)
                sp = np.empty(sub, X.dtype)
                lp = np.empty(sub, np.int32)
            else:
                bp, sp, lp = best, second, lab
            stats[b, :] = 0.0
            if update:
                sums[b, :, :] = 0.0
                wsums[b, :] = 0.0
            c0, c1 = block_chunks(b, n, n_blocks)
            for ch in range(c0, c1):
                s, m = chunk_span(ch, n)
                if untransposed:
                    scan_rows(X, s, m, C, best, second, lab)
                else:
                    for p in range(0, m, sub):
                        q = min(sub, m - p)
                        Xc = X[s + p:s + p + q]  # slices: see the module docstring
                        if by_rows:
                            for i in range(q):
                                for f in range(d):
                                    xt[f, i] = Xc[i, f]
                        else:
                            # 8 rows x 8 features at a time in registers from
                            # 8 features (_simd: the loops read one value at a
                            # time with the row stride)
                            transpose_tiles(Xc, q, xt)
                        scan_lanes(xt, C, q, tmp2, bp, sp, lp)
                        if sub < CHUNK_ROWS:
                            bc = best[p:p + q]  # slices: see the module docstring
                            sc = second[p:p + q]
                            lc = lab[p:p + q]
                            for i in range(q):
                                bc[i] = bp[i]
                                sc[i] = sp[i]
                                lc[i] = lp[i]
                n_ties = 0
                # counted in a loop that vectorises; usually 0. One centre has no
                # ties: its rows' second value is inf, and inf - best <= tie_eps inf
                # would send every row to exact_argmin
                for i in range(m if k > 1 else 0):
                    n_ties += 1 if second[i] - best[i] <= tie_eps * second[i] else 0
                if n_ties:
                    for i in range(m):
                        if second[i] - best[i] <= tie_eps * second[i]:
                            lab[i] = exact_argmin(X, s + i, C)
                if want_lb:
                    lbc = lb_out[s:s + m]
                    for i in range(m):
                        # after a tie the other centre may be the computed best
                        v = np.float64(second[i] if second[i] - best[i] > tie_eps * second[i]
                                       else best[i])
                        lbc[i] = np.sqrt(v * (1.0 - 2.0 * tie_eps))
                # the untransposed variant (rows_scan: d >= 64) has no transposed
                # chunk for the vectorised book-keeping, nor compiles it
                if not untransposed and d <= FINISH_VEC_MAX_D:
                    _finish_direct(X, xt, xd, dd, w, use_w, Cd, s, m, lab, labels,
                                   update, sums[b], wsums[b], want_dist, dist_out, stats[b],
                                   want_sqrt, want_inertia)
                else:
                    _finish_chunk(X, w, use_w, C, s, m, lab, labels, update, sums[b], wsums[b],
                                  want_dist, dist_out, stats[b], want_sqrt, want_inertia)

    return njit(parallel=True, **_JIT)(lloyd_pass_direct)


lloyd_pass_direct = _direct_pass(BY_FEATURES)
lloyd_pass_direct_rows = _direct_pass(BY_ROWS)
lloyd_pass_direct_untransposed = _direct_pass(UNTRANSPOSED)


@njit(**_JIT)
def _row_min(v):
    """The smallest of ``v``, with eight running minima: a single chain of
    comparisons runs at their latency, and a minimum over a loop does not
    vectorise without ``nnan`` (not among the kernels' fastmath flags).
    Exact: the minimum does not depend on the order."""
    k = v.shape[0]
    k8 = k - k % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = np.inf
    for j in range(0, k8, 8):
        m0 = min(m0, v[j])
        m1 = min(m1, v[j + 1])
        m2 = min(m2, v[j + 2])
        m3 = min(m3, v[j + 3])
        m4 = min(m4, v[j + 4])
        m5 = min(m5, v[j + 5])
        m6 = min(m6, v[j + 6])
        m7 = min(m7, v[j + 7])
    for j in range(k8, k):
        m0 = min(m0, v[j])
    return min(min(min(m0, m1), min(m2, m3)), min(min(m4, m5), min(m6, m7)))


@njit(parallel=True, **_JIT)
def lloyd_pass_gemm(X, w, use_w, C, Ct, cc, mu, labels, update, sums, wsums, stats,
                    want_dist, dist_out, n_slots, tie_eps, want_sqrt, want_inertia, want_lb,
                    lb_out):
    """Same contract as :func:`lloyd_pass_direct`, with one BLAS product per
    chunk. ``Ct`` is ``C.T`` made contiguous and ``cc`` holds ||c_j||^2 in the
    data's dtype. Run it with BLAS limited to one thread: numba owns the
    threads here. ``n_slots`` bounds the thread ids: the O(CHUNK_ROWS x k)
    product scratch is per thread, not per block.

    Each chunk is centred on ``mu`` (the data's mean; ``Ct`` and ``cc`` come
    from the centred centres) before the product, which keeps the expanded
    form's rounding error proportional to the data's spread rather than its
    offset. A row whose two best values are within that error bound
    (``tie_eps`` x (||x||^2 + max ||c||^2)) is re-assigned with exact
    float64 distances.
    """
    n, d = X.shape
    k = C.shape[0]
    n_blocks = stats.shape[0]
    R = GEMM_ROWS
    g_all = np.empty((n_slots, R, k), X.dtype)
    xs_all = np.empty((n_slots, R, d), X.dtype)
    lab_all = np.empty((n_slots, R), np.int32)
    ccmax = 0.0
    for j in range(k):
        ccmax = max(ccmax, np.float64(cc[j]))
    for b in prange(n_blocks):
        tid = get_thread_id()
        g = g_all[tid]
        xs = xs_all[tid]
        lab = lab_all[tid]
        stats[b, :] = 0.0
        if update:
            sums[b, :, :] = 0.0
            wsums[b, :] = 0.0
        r0, r1 = block_rows(b, n, n_blocks)
        # the block's rows, up to GEMM_ROWS per product (bigger products run
        # at a larger fraction of the BLAS peak than 256-row ones)
        for s in range(r0, r1, R):
            m = min(R, r1 - s)
            for i in range(m):
                for f in range(d):
                    xs[i, f] = X[s + i, f] - mu[f]
            if m == R:
                np.dot(xs, Ct, g)
            else:
                np.dot(xs[:m], Ct, g[:m])
            for i in range(m):
                # passes over the row's k values: the values, their minimum,
                # then the count of near ties with the (first) index of the
                # minimum
                gi = g[i]
                for j in range(k):
                    gi[j] = cc[j] - (gi[j] + gi[j])  # stays in X's dtype (2 * x would widen)
                bv = _row_min(gi)
                thr = bv + 2.0 * tie_eps * max(ccmax, _sq_norm(xs, i))
                cnt = 0
                bj = k
                for j in range(k):
                    cnt += 1 if gi[j] <= thr else 0
                    bj = min(bj, j if gi[j] == bv else k)
                if cnt > 1:
                    bj = exact_argmin_among(X, s + i, C, gi, thr)
                elif cnt == 0:  # no value at or below its minimum: NaN values
                    bj = exact_argmin(X, s + i, C)
                lab[i] = bj
                if want_lb:
                    # the smallest value of another centre, less the bound
                    gi[bj] = np.inf
                    xx = _sq_norm(xs, i)
                    v = np.float64(_row_min(gi)) + xx - 2.0 * tie_eps * max(ccmax, xx)
                    lb_out[s + i] = np.sqrt(v) if v > 0.0 else 0.0
            _finish_chunk(X, w, use_w, C, s, m, lab, labels, update, sums[b],
                          wsums[b], want_dist, dist_out, stats[b], want_sqrt, want_inertia)


@njit(parallel=True, **_JIT)
def lloyd_pass_gemm_t(X, w, use_w, C, Cs, cc, mu, labels, update, sums, wsums, stats,
                      want_dist, dist_out, n_slots, tie_eps, rows, want_sqrt, want_inertia,
                      want_lb, lb_out):
    """Same contract as :func:`lloyd_pass_gemm`, with the product laid out
    centres x rows: ``G = Cs . Xs^T`` for ``rows`` rows at a time, so the
    argmin runs like the direct pass, one SIMD lane per row, with no
    reduction over k (which does not vectorise without ``nnan``). Best for
    many centres in moderate dimension (``_config.GEMM_T_MIN_D``,
    ``GEMM_T_MIN_K``).
    ``Cs`` is ``C - mu`` in X's dtype (k x d, contiguous).
    """
    n, d = X.shape
    k = C.shape[0]
    n_blocks = stats.shape[0]
    R = rows
    # up to FUSED_D features, no product in memory: fold_expanded_fused, on
    # chunks padded with zero features (written once here, never after)
    fused = d <= FUSED_D
    g_all = np.empty((n_slots, 1 if fused else k, R), X.dtype)
    xt_all = np.zeros((n_slots, FUSED_D if fused else d, R), X.dtype)
    if fused:
        Cp, ccp = fused_centres(Cs, cc)
    else:
        Cp, ccp = Cs, cc
    xn_all = np.empty((n_slots, R))
    vk_all = np.empty((n_slots, 1 if fused else k), X.dtype)
    best_all = np.empty((n_slots, R), X.dtype)
    second_all = np.empty((n_slots, R), X.dtype)
    lab_all = np.empty((n_slots, R), np.int32)
    ccmax = 0.0
    for j in range(k):
        ccmax = max(ccmax, np.float64(cc[j]))
    for b in prange(n_blocks):
        tid = get_thread_id()
        g = g_all[tid]
        xt = xt_all[tid]
        xn = xn_all[tid]
        vk = vk_all[tid]
        best = best_all[tid]
        second = second_all[tid]
        lab = lab_all[tid]
        stats[b, :] = 0.0
        if update:
            sums[b, :, :] = 0.0
            wsums[b, :] = 0.0
        r0, r1 = block_rows(b, n, n_blocks)
        for s in range(r0, r1, R):
            m = min(R, r1 - s)
            for i in range(m):
                for f in range(d):
                    xt[f, i] = X[s + i, f] - mu[f]
            if fused:
                fold_expanded_fused(xt, Cp, ccp, m, best, second, lab)
            else:
                if m < R:  # the product is always R wide: pad with zeros
                    for f in range(d):
                        for i in range(m, R):
                            xt[f, i] = 0.0
                np.dot(Cs, xt, g)
                fold_expanded(g, cc, m, best, second, lab)
            for i in range(m):
                xn[i] = 0.0
            for f in range(d):
                for i in range(m):
                    xn[i] += np.float64(xt[f, i]) * np.float64(xt[f, i])
            # rows whose two best are within the expanded form's rounding
            # bound get exact float64 distances (counted first: usually none)
            n_ties = 0
            for i in range(m):
                bound = 2.0 * tie_eps * max(ccmax, xn[i])
                n_ties += 1 if np.float64(second[i]) - np.float64(best[i]) <= bound else 0
            if n_ties:
                for i in range(m):
                    bound = 2.0 * tie_eps * max(ccmax, xn[i])
                    if np.float64(second[i]) - np.float64(best[i]) <= bound:
                        if fused:  # no product kept; d <= 8 makes exact_argmin cheap
                            lab[i] = exact_argmin(X, s + i, C)
                        else:
                            # the row's values, as fold_expanded computed them
                            for j in range(k):
                                vk[j] = cc[j] - (g[j, i] + g[j, i])
                            lab[i] = exact_argmin_among(X, s + i, C, vk,
                                                        np.float64(best[i]) + bound)
            if want_lb:
                for i in range(m):
                    # the second value (the best after a tie) plus ||x||^2,
                    # less the expanded form's rounding bound
                    bound = 2.0 * tie_eps * max(ccmax, xn[i])
                    sv = np.float64(second[i])
                    if sv - np.float64(best[i]) <= bound:
                        sv = np.float64(best[i])
                    v = sv + xn[i] - bound
                    lb_out[s + i] = np.sqrt(v) if v > 0.0 else 0.0
            _finish_chunk(X, w, use_w, C, s, m, lab, labels, update, sums[b], wsums[b],
                          want_dist, dist_out, stats[b], want_sqrt, want_inertia)


@njit(**_JIT)
def fold_expanded(g, cc, m, best, second, lab):
    """The two smallest of ``cc[j] - 2 g[j, i]`` over the centres j (``g``:
    k x rows, the products x.c of the centred data) for the first ``m``
    rows, one SIMD lane per row: values into ``best`` / ``second``, the
    first index of the smallest into ``lab``. Fused into one loop, not a
    ``tmp`` pass followed by :func:`track_two_best`: the k x rows values are
    read once. The values stay in the data's dtype (``2 * x`` would
    widen)."""
    for i in range(m):
        best[i] = np.inf
        second[i] = np.inf
        lab[i] = 0
    for j in range(g.shape[0]):
        cj = cc[j]
        gj = g[j]
        for i in range(m):
            v = cj - (gj[i] + gj[i])
            bi = best[i]
            lt = v < bi
            sv = second[i]
            second[i] = bi if lt else (v if v < sv else sv)
            best[i] = v if lt else bi
            lab[i] = j if lt else lab[i]


#: Features of the fused expanded-form scan (:func:`fold_expanded_fused`):
#: data of up to this many features is padded to it, so one compiled loop
#: serves them all; its feature loop has a constant trip count, which LLVM
#: unrolls, leaving the loop over rows innermost, where it vectorises.
FUSED_D = 8
#: Centres per sweep of that scan: each row's features are loaded once for
#: FUSED_CB centres; the centres are padded to a multiple of it.
FUSED_CB = 4


@njit(**_JIT)
def fused_centres(Cs, cc):
    """``Cs`` (k x d, d <= FUSED_D) and ``cc`` padded for
    :func:`fold_expanded_fused`: FUSED_D columns (zeros beyond d) and a
    multiple of FUSED_CB rows (zero centres of norm ``inf``: never the best
    nor the second of any row)."""
    k, d = Cs.shape
    kp = -(-k // FUSED_CB) * FUSED_CB
    Cp = np.zeros((kp, FUSED_D), Cs.dtype)
    ccp = np.full(kp, np.inf, cc.dtype)
    for j in range(k):
        for f in range(d):
            Cp[j, f] = Cs[j, f]
        ccp[j] = cc[j]
    return Cp, ccp


@njit(**_JIT)
def fold_expanded_fused(xs, Cp, ccp, m, best, second, lab):
    """What ``np.dot(Cs, xs, g)`` then :func:`fold_expanded` give, without
    the k x rows product in memory: for each row i < m of ``xs``
    (FUSED_D x rows, zero beyond the data's features) the two smallest of
    ``ccp[j] - 2 x_i.c_j`` and the first index of the smallest, FUSED_CB
    centres a sweep (``Cp``, ``ccp`` from :func:`fused_centres`). Few
    features make that product a poor BLAS call (most of its time goes to
    writing and re-reading the values); here each value is folded into the
    row's best two in registers as it is computed. The dot products sum in
    another order than BLAS's: the callers' tie bound holds for any order."""
    for i in range(m):
        best[i] = np.inf
        second[i] = np.inf
        lab[i] = 0
    for j in range(0, Cp.shape[0], FUSED_CB):
        c0 = Cp[j]
        c1 = Cp[j + 1]
        c2 = Cp[j + 2]
        c3 = Cp[j + 3]
        q0 = ccp[j]
        q1 = ccp[j + 1]
        q2 = ccp[j + 2]
        q3 = ccp[j + 3]
        j0 = np.int32(j)  # int32 labels: an int64 would halve the vector lanes
        j1 = np.int32(j + 1)
        j2 = np.int32(j + 2)
        j3 = np.int32(j + 3)
        for i in range(m):
            x = xs[0, i]
            s0 = x * c0[0]
            s1 = x * c1[0]
            s2 = x * c2[0]
            s3 = x * c3[0]
            for f in range(1, FUSED_D):
                x = xs[f, i]
                s0 += x * c0[f]
                s1 += x * c1[f]
                s2 += x * c2[f]
                s3 += x * c3[f]
            bi, sv, li = _fold(q0 - (s0 + s0), best[i], second[i], lab[i], j0)
            bi, sv, li = _fold(q1 - (s1 + s1), bi, sv, li, j1)
            bi, sv, li = _fold(q2 - (s2 + s2), bi, sv, li, j2)
            best[i], second[i], lab[i] = _fold(q3 - (s3 + s3), bi, sv, li, j3)


@njit(**_JIT)
def _sq_norm(A, i):
    acc = 0.0
    for f in range(A.shape[1]):
        acc += np.float64(A[i, f]) * np.float64(A[i, f])
    return acc


@njit(nogil=True, cache=True)
def reduce_blocks(sums, wsums, stats, out_sums, out_wsums, out_stats):
    """Sum the per-block partials in block order (deterministic)."""
    nb = stats.shape[0]
    out_sums[:, :] = 0.0
    out_wsums[:] = 0.0
    out_stats[:] = 0.0
    for b in range(nb):
        out_stats += stats[b]
    if sums.shape[0] == nb:
        for b in range(nb):
            out_sums += sums[b]
            out_wsums += wsums[b]


@njit(parallel=True, **_JIT)
def sq_dist_to_assigned(X, C, labels, out):
    """out[i] = ||X[i] - C[labels[i]]||^2 in float64."""
    n, d = X.shape
    for i in prange(n):
        j = labels[i]
        acc = 0.0
        for f in range(d):
            t = np.float64(X[i, f]) - np.float64(C[j, f])
            acc += t * t
        out[i] = acc


@njit(parallel=True, **_JIT_ORDERED)
def weighted_sse(X, w, use_w, C, labels, n_blocks):
    """sum_i w_i ||X[i] - C[labels[i]]||^2 in float64, reduced by blocks in
    order: within a block four partial sums (row i into sum i mod 4, added
    as (a0 + a1) + (a2 + a3)), compiled without ``reassoc`` so that every
    compilation adds in this order (deterministic across processes)."""
    n, d = X.shape
    part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        a = np.zeros(4)
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            j = labels[i]
            s = 0.0
            for f in range(d):
                t = np.float64(X[i, f]) - np.float64(C[j, f])
                s += t * t
            a[(i - i0) & 3] += s * (np.float64(w[i]) if use_w else 1.0)
        part[b] = (a[0] + a[1]) + (a[2] + a[3])
    tot = 0.0
    for b in range(n_blocks):
        tot += part[b]
    return tot


#: Up to this many features :func:`unique_rows` keeps each distinct row's
#: bits beside its count (a copy of at most ``max_unique`` rows): a repeated
#: row is then compared in that compact array instead of at its first
#: occurrence in the data, one cache miss fewer per repeated row. The copy
#: holds ``max_unique x d`` values, so only narrow rows get one.
UNIQUE_INLINE_MAX_D = 8


@njit(nogil=True, cache=True)
def unique_rows(bits, max_unique):
    """Distinct rows of an array given as its bit patterns (``X.view`` as
    unsigned integers of the same width), by open-addressing hashing.

    Returns ``(first_index, counts, n_unique)``: the index of the first row
    of each distinct row and how many rows equal it, in order of first
    appearance. Gives up (n_unique = -1) once more than ``max_unique``
    distinct rows are seen, so a pass over data without duplicates stays
    cheap. Rows equal as numbers but not as bits (0.0 and -0.0) count as
    different, which only merges less.
    """
    n, d = bits.shape
    cap = min(n, max_unique + 1)
    size = 1
    while size < 2 * cap:
        size *= 2
    mask = size - 1
    table = np.full(size, -1, np.int32)
    first = np.empty(cap, np.int64)
    inline = d <= UNIQUE_INLINE_MAX_D
    # per distinct row: its bits (inline) and then its count, in one row
    keys = np.empty((cap, d + 1 if inline else 1), bits.dtype)
    c = keys.shape[1] - 1
    nu = 0
    for i in range(n):
        h = np.uint64(1469598103934665603)
        for f in range(d):
            h = (h ^ np.uint64(bits[i, f])) * np.uint64(1099511628211)
        # fold the high bits down (murmur3's finaliser): the multiplications
        # only carry bits upwards, and small whole numbers stored as floats
        # have all-zero low mantissa bits, which would pile into few slots
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
        slot = np.int64(h & np.uint64(mask))
        while True:
            u = table[slot]
            if u < 0:
                if nu >= max_unique:
                    return first, np.zeros(0, np.int64), -1
                table[slot] = nu
                first[nu] = i
                if inline:
                    for f in range(d):
                        keys[nu, f] = bits[i, f]
                keys[nu, c] = 1
                nu += 1
                break
            same = True
            if inline:
                for f in range(d):
                    if bits[i, f] != keys[u, f]:
                        same = False
                        break
            else:
                r = first[u]
                for f in range(d):
                    if bits[i, f] != bits[r, f]:
                        same = False
                        break
            if same:
                keys[u, c] += 1
                break
            slot = (slot + 1) & mask
    counts = np.empty(nu, np.int64)
    for u in range(nu):
        counts[u] = keys[u, c]
    return first, counts, nu


@njit(nogil=True, cache=True)
def count_distinct_upto(X, limit):
    """Number of distinct rows of ``X``, counting no further than ``limit``.

    Typical data reaches ``limit`` within its first rows, so this is cheap;
    its worst case (fewer distinct rows than ``limit``) is one pass of
    O(n x limit x d)."""
    n, d = X.shape
    seen = np.empty(limit, np.int64)
    n_seen = 0
    for i in range(n):
        new = True
        for s in range(n_seen):
            r = seen[s]
            same = True
            for f in range(d):
                if X[i, f] != X[r, f]:
                    same = False
                    break
            if same:
                new = False
                break
        if new:
            seen[n_seen] = i
            n_seen += 1
            if n_seen >= limit:
                return n_seen
    return n_seen


#: Blocks summed together by :func:`_interleaved_sums`.
SUM_GROUP = 4


@njit(inline="always", **_JIT_ORDERED)
def _add_row_three(x, j, s0, s1, s2, m0, m1, m2, centred):
    """Row ``j`` of ``x`` (3 features) added to its block's three column
    sums (``centred``: its squared deviations from the means ``m``)."""
    if centred:
        u0 = np.float64(x[j, 0]) - m0
        u1 = np.float64(x[j, 1]) - m1
        u2 = np.float64(x[j, 2]) - m2
        return s0 + u0 * u0, s1 + u1 * u1, s2 + u2 * u2
    return s0 + np.float64(x[j, 0]), s1 + np.float64(x[j, 1]), s2 + np.float64(x[j, 2])


@njit(**_JIT_ORDERED)
def _sums_three(X, first, size, mean, centred, acc):
    """:func:`_interleaved_sums`' walk for rows of 3 features over the rows
    that all four blocks have (``first``, ``size``: the blocks' first rows
    and lengths; none when a block is missing): the 12 sums held in
    registers, where the general walk reads and writes each through
    memory at every row, then stored in ``acc`` (4 x 3, zeros before).
    Each sum starts at zero and gets its block's rows in order, as in the
    general walk, which continues from the returned row count."""
    common = min(min(size[0], size[1]), min(size[2], size[3]))
    if common == 0:
        return 0
    xa = X[first[0]:first[0] + common]  # slices: see the module docstring
    xb = X[first[1]:first[1] + common]
    xc = X[first[2]:first[2] + common]
    xe = X[first[3]:first[3] + common]
    a0 = a1 = a2 = b0 = b1 = b2 = c0 = c1 = c2 = e0 = e1 = e2 = 0.0
    m0, m1, m2 = mean[0], mean[1], mean[2]
    for j in range(common):
        a0, a1, a2 = _add_row_three(xa, j, a0, a1, a2, m0, m1, m2, centred)
        b0, b1, b2 = _add_row_three(xb, j, b0, b1, b2, m0, m1, m2, centred)
        c0, c1, c2 = _add_row_three(xc, j, c0, c1, c2, m0, m1, m2, centred)
        e0, e1, e2 = _add_row_three(xe, j, e0, e1, e2, m0, m1, m2, centred)
    acc[0, 0], acc[0, 1], acc[0, 2] = a0, a1, a2
    acc[1, 0], acc[1, 1], acc[1, 2] = b0, b1, b2
    acc[2, 0], acc[2, 1], acc[2, 2] = c0, c1, c2
    acc[3, 0], acc[3, 1], acc[3, 2] = e0, e1, e2
    return common


@njit(**_JIT_ORDERED)
def _interleaved_sums(X, n_blocks, g, mean, centred, part):
    """The column sums of ``X`` (``centred``: of ``(X - mean)^2``) over each
    of the blocks ``SUM_GROUP * g ...`` (:func:`._blocks.row_block`) that
    exist, added to ``part[b]``, each block's rows in order. The blocks are
    walked together, a row of each in turn: one block's sums form a chain
    of dependent additions through memory, which bounds a pass over one
    block at a time; four independent chains overlap. Each sum gets the
    same values in the same order as a walk over its block alone, so the
    bits are the same."""
    n, d = X.shape
    b0 = g * SUM_GROUP
    acc = np.zeros((SUM_GROUP, d))
    # each block's first row and length (0 for a block past the last)
    first = np.zeros(SUM_GROUP, np.int64)
    size = np.zeros(SUM_GROUP, np.int64)
    longest = 0
    for t in range(SUM_GROUP):
        if b0 + t < n_blocks:
            i0, i1 = row_block(b0 + t, n, n_blocks)
            first[t], size[t] = i0, i1 - i0
            longest = max(longest, i1 - i0)
    # 3 features (pixels): the rows all four blocks have, their sums in registers
    # (_sums_three walks four blocks: SUM_GROUP's value, a constant numba folds)
    start = _sums_three(X, first, size, mean, centred, acc) if d == 3 and SUM_GROUP == 4 else 0
    for j in range(start, longest):
        for t in range(SUM_GROUP):  # a constant count, unrolled
            if j < size[t]:
                i = first[t] + j
                for f in range(d):
                    if centred:
                        u = np.float64(X[i, f]) - mean[f]
                        acc[t, f] += u * u
                    else:
                        acc[t, f] += np.float64(X[i, f])
    for t in range(SUM_GROUP):
        if b0 + t < n_blocks:
            for f in range(d):
                part[b0 + t, f] += acc[t, f]


@njit(parallel=True, **_JIT)
def _block_means(X, w, use_w, n_blocks):
    """:func:`column_means` one block at a time (a thread per block)."""
    n, d = X.shape
    part = np.zeros((n_blocks, d))
    wpart = np.zeros(n_blocks)
    for b in prange(n_blocks):
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            wi = np.float64(w[i]) if use_w else 1.0
            wpart[b] += wi
            for f in range(d):
                part[b, f] += wi * np.float64(X[i, f])
    mean = np.zeros(d)
    wtot = 0.0
    for b in range(n_blocks):
        mean += part[b]
        wtot += wpart[b]
    mean /= wtot
    return mean, wtot


@njit(parallel=True, **_JIT)
def _block_m2(X, w, use_w, n_blocks, mean):
    """The weighted sums of squared deviations from ``mean`` by blocks,
    reduced in order, one block at a time (a thread per block)."""
    n, d = X.shape
    part = np.zeros((n_blocks, d))
    for b in prange(n_blocks):
        i0, i1 = row_block(b, n, n_blocks)
        for i in range(i0, i1):
            wi = np.float64(w[i]) if use_w else 1.0
            for f in range(d):
                t = np.float64(X[i, f]) - mean[f]
                part[b, f] += wi * t * t
    m2 = np.zeros(d)
    for b in range(n_blocks):
        m2 += part[b]
    return m2


@njit(parallel=True, **_JIT)
def _interleaved_column_sums(X, n_blocks, mean, centred):
    """The same sums as :func:`_block_means` (``centred``: :func:`_block_m2`)
    of unweighted rows, by :func:`_interleaved_sums` (a thread per group of
    blocks), reduced in order."""
    n, d = X.shape
    part = np.zeros((n_blocks, d))
    for g in prange((n_blocks + SUM_GROUP - 1) // SUM_GROUP):
        _interleaved_sums(X, n_blocks, g, mean, centred, part)
    tot = np.zeros(d)
    for b in range(n_blocks):
        tot += part[b]
    return tot


@njit(**_JIT)
def _interleaved(use_w, d):
    """Whether the column sums go by :func:`_interleaved_sums`: unweighted rows
    of 3 or more features. At 1 and 2 features LLVM vectorises the loop of
    one block at a time (faster, and at 1 feature in another order)."""
    return not use_w and d >= 3


@njit(**_JIT)
def column_means(X, w, use_w, n_blocks):
    """Weighted column means in float64 and the total weight, by blocks
    reduced in order (one pass: the BLAS passes centre on the means)."""
    if _interleaved(use_w, X.shape[1]):
        wtot = np.float64(X.shape[0])
        return _interleaved_column_sums(X, n_blocks, np.zeros(X.shape[1]), False) / wtot, wtot
    return _block_means(X, w, use_w, n_blocks)


@njit(**_JIT)
def column_mean_var(X, w, use_w, n_blocks):
    """Weighted column means and (population) variances in float64, by blocks
    reduced in order; two passes for accuracy (the first:
    :func:`column_means`)."""
    mean, wtot = column_means(X, w, use_w, n_blocks)
    if _interleaved(use_w, X.shape[1]):
        return mean, _interleaved_column_sums(X, n_blocks, mean, True) / wtot
    return mean, _block_m2(X, w, use_w, n_blocks, mean) / wtot
