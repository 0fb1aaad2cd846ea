"""Exact accelerated Lloyd iterations: Hamerly (one lower bound per row) and
Elkan (k lower bounds per row).

Both skip distance computations that the triangle inequality proves useless
and otherwise compute exact float64 distances, so they return the same labels
as Lloyd from the same centres (up to float rounding at exact ties, which are
broken towards the lower centre index as Lloyd does). Skips use strict
inequalities so a tie is always checked.

Rows are processed in fixed blocks (:mod:`._blocks`): Hamerly, Yinyang and
the distortion pass in the chunked blocks of the Lloyd pass, Elkan and
Exponion in blocks of rows. Per-block partial sums are reduced in block
order by the caller, so results do not depend on the number of threads. The
centre sums are maintained incrementally (a row that changes cluster moves
its weighted coordinates) unless ``full`` is set, which recomputes them from
all rows.

Bounds are distances (not squared). ``p[j]`` is how far centre j moved since
the bounds were last valid; ``jmax``/``pmax``/``pmax2`` are the index of the
largest move, the largest and the second largest.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from .._config import CHUNK_ROWS, FASTMATH, FASTMATH_ORDERED, ROW_PAD, SCAN_GROUP, SLOT_PAD
from ._blocks import block_chunks, group_span, row_block
from ._blocks import by_rows as _by_rows
from ._simd import gather_tiles
from .lloyd import (
    FINISH_VEC_MAX_D,
    FUSED_D,
    MASKED_SUMS_MAX_K,
    STAT_CHANGED,
    STAT_SQRT,
    exact_argmin,
    exact_argmin_among,
    fold_expanded,
    fold_expanded_fused,
    masked_sums,
    reduce_blocks,
    scan_lanes,
)

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))
#: Kernels whose sums keep the order written (``_config.FASTMATH_ORDERED``).
_JIT_ORDERED = dict(nogil=True, cache=True, fastmath=set(FASTMATH_ORDERED))

#: Every skip test compares against its bound times this. Bounds are sums
#: and differences of rounded distances: at an exact tie (a row on the
#: midplane of two centres, common with rounded data) a bound can round to
#: just above the distance it bounds, and a skip would keep the higher
#: centre index where Lloyd takes the lower one.
SAFE = 1.0 - 1e-12

#: Hamerly tightens the upper bounds of a group's failing rows one by one
#: (reads scattered over the data) unless more than NUM / DEN of the rows
#: fail, then all of them in order (reads that stream).
DENSE_TIGHTEN_NUM = 2
DENSE_TIGHTEN_DEN = 5


@njit(**_JIT)
def _dist2(X, i, C, j):
    """Exact squared distance, computed as in ``lloyd.exact_argmin``: the
    choice between centres is always made on these values (two squared
    distances can differ while their square roots round to the same)."""
    acc = 0.0
    for f in range(X.shape[1]):
        t = np.float64(X[i, f]) - np.float64(C[j, f])
        acc += t * t
    return acc


@njit(**_JIT)
def _dist(X, i, C, j):
    return np.sqrt(_dist2(X, i, C, j))


@njit(**_JIT)
def _scan2(X, i, C):
    """Nearest centre (lowest index on ties), its distance and the second
    smallest distance."""
    k = C.shape[0]
    b1 = np.inf
    b2 = np.inf
    bj = 0
    for j in range(k):
        acc = 0.0
        for f in range(X.shape[1]):
            t = np.float64(X[i, f]) - np.float64(C[j, f])
            acc += t * t
        if acc < b1:
            b2 = b1
            b1 = acc
            bj = j
        elif acc < b2:
            b2 = acc
    return bj, np.sqrt(b1), np.sqrt(b2)


@njit(**_JIT)
def _move(X, w, use_w, r, old, new, full, sums_b, wsums_b):
    """Book-keeping of the centre sums for row r (old label -> new label)."""
    wi = np.float64(w[r]) if use_w else 1.0
    if full:
        wsums_b[new] += wi
        for f in range(X.shape[1]):
            sums_b[new, f] += wi * np.float64(X[r, f])
    elif old != new:
        wsums_b[new] += wi
        wsums_b[old] -= wi
        for f in range(X.shape[1]):
            x = wi * np.float64(X[r, f])
            sums_b[new, f] += x
            sums_b[old, f] -= x


@njit(**_JIT)
def _full_sums(X, w, use_w, s0, M, lc, k, xt, xd, sums_b, wsums_b):
    """Add rows s0 .. s0 + M (labels ``lc``) to the block's sums exactly as
    the direct Lloyd pass does, chunk by chunk (masked sweeps for few
    centres and features, else row by row), so that a bound algorithm's
    first centres are Lloyd's to the last bit: rows on the midplane of two
    centres (common in rounded data) go where Lloyd sends them."""
    d = X.shape[1]
    Xc = X[s0:s0 + M]
    for c in range(0, M, CHUNK_ROWS):
        m = min(CHUNK_ROWS, M - c)
        if d <= FINISH_VEC_MAX_D and k <= MASKED_SUMS_MAX_K:
            for f in range(d):
                for i in range(m):
                    xt[f, i] = Xc[c + i, f]
            masked_sums(xt, xd, w, use_w, s0 + c, m, lc[c:c + m], k, sums_b, wsums_b)
        else:
            for i in range(m):
                _move(X, w, use_w, s0 + c + i, -1, lc[c + i], True, sums_b, wsums_b)


@njit(**_JIT)
def _gather_centred(Xc, idx, t0, tq, mu, xs):
    """The rows ``idx[t0:t0 + tq]`` of ``Xc`` less ``mu``, transposed into
    the first d rows of ``xs``."""
    for f in range(Xc.shape[1]):
        for t in range(tq):
            xs[f, t] = Xc[idx[t0 + t], f] - mu[f]


@njit(**_JIT)
def _settle_expanded(Xc, idx, t0, tq, ccmax, tie_eps, Cd, xs, xn, vb, vs, best, second, lab,
                     cc, g, vk, have_g):
    """After the expanded form's two best values of the gathered rows
    (``xs``), ``vb`` and ``vs`` in X's dtype: near ties to ``exact_argmin``
    (with ``have_g``, the product ``g`` of the scan, among the centres
    within the rounding bound of the best only: ``exact_argmin_among``,
    with ``vk`` k values of scratch), ``best`` (float64) the exact squared
    distance of the chosen centre, ``second`` (float64) the lower bound on
    the others (the second value plus ||x||^2, less the expanded form's
    rounding bound)."""
    d = Xc.shape[1]
    for t in range(tq):
        xn[t] = 0.0
    for f in range(d):
        for t in range(tq):
            xn[t] += np.float64(xs[f, t]) * np.float64(xs[f, t])
    for t in range(tq):
        i = idx[t0 + t]
        bound = 2.0 * tie_eps * max(ccmax, xn[t])
        bv = np.float64(vb[t])
        sv = np.float64(vs[t])
        if sv - bv <= bound:
            if have_g:
                for j in range(vk.shape[0]):  # the values as fold_expanded computed them
                    vk[j] = cc[j] - (g[j, t] + g[j, t])
                lab[t] = exact_argmin_among(Xc, i, Cd, vk, bv + bound)
            else:
                lab[t] = exact_argmin(Xc, i, Cd)
            sv = bv
        lb = sv + xn[t] - bound
        second[t] = lb if lb > 0.0 else 0.0
        best[t] = _dist2(Xc, i, Cd, lab[t])


@njit(**_JIT)
def _scan_blas(Xc, idx, t0, tq, Cs, cc, mu, ccmax, tie_eps, Cd, xs, g, vk, xn, vb, vs, best,
               second, lab):
    """The rows ``idx[t0:t0 + tq]`` of ``Xc`` against every centre with one
    BLAS product laid out centres x rows, as ``lloyd_pass_gemm_t`` does
    (``Cs`` = centres - ``mu`` in X's dtype, ``cc`` their squared norms;
    ``xs`` d x CHUNK_ROWS, ``g`` k x CHUNK_ROWS, ``vk`` k and ``vb``, ``vs``
    CHUNK_ROWS scratch in X's dtype: the fold keeps the two best values in
    the dtype they are computed in, where float64 would halve its SIMD
    lanes on float32 data).
    Gives what a lane scan gives the bound algorithms: ``lab`` the nearest
    centre (near ties by ``exact_argmin``), ``best`` its exact squared
    distance and ``second`` a lower bound on the squared distance to every
    other centre (the second value less the expanded form's rounding
    bound). For many centres in many dimensions, where the product is
    several times faster than exact differences."""
    _gather_centred(Xc, idx, t0, tq, mu, xs)
    for f in range(Xc.shape[1]):
        for t in range(tq, xs.shape[1]):
            xs[f, t] = 0.0
    np.dot(Cs, xs, g)
    fold_expanded(g, cc, tq, vb, vs, lab)
    _settle_expanded(Xc, idx, t0, tq, ccmax, tie_eps, Cd, xs, xn, vb, vs, best, second, lab,
                     cc, g, vk, True)


@njit(**_JIT)
def _scan_fused(Xc, idx, t0, tq, Cs, cc, mu, ccmax, tie_eps, Cd, xs, g, vk, xn, vb, vs, best,
                second, lab):
    """:func:`_scan_blas` up to ``FUSED_D`` features, with the Lloyd pass's
    fused scan (``fold_expanded_fused``) instead of the product: ``Cs`` and
    ``cc`` padded by ``fused_centres``, ``xs`` FUSED_D x CHUNK_ROWS (``g``
    and ``vk`` unused: near ties take ``exact_argmin``, cheap up to 8
    features)."""
    _gather_centred(Xc, idx, t0, tq, mu, xs)
    for f in range(Xc.shape[1], FUSED_D):
        for t in range(tq):
            xs[f, t] = 0.0
    fold_expanded_fused(xs, Cs, cc, tq, vb, vs, lab)
    _settle_expanded(Xc, idx, t0, tq, ccmax, tie_eps, Cd, xs, xn, vb, vs, best, second, lab,
                     cc, g, vk, False)


def _hamerly(fused: bool):
    """:func:`hamerly_pass` compiled with ``fused`` a constant: where
    ``use_blas``, the rows failing their bounds are scanned by
    :func:`_scan_blas` (``hamerly_pass``) or, up to ``FUSED_D`` features, by
    :func:`_scan_fused` (``hamerly_pass_fused``, with ``Cs`` and ``cc`` from
    ``fused_centres``). The branch not taken is not compiled: with the fused
    scan compiled in, the lane scans of the shapes that never call it ran
    5-10 % slower. The constant is a bool, not the scan itself: numba keys
    a closure's on-disk cache entries on its pickled free variables, and a
    dispatcher pickles with an id of its process, so a kernel closing over
    one was compiled again in every process (``tests/test_numba_cache.py``)."""

    def hamerly_pass(X, w, use_w, C, p, jmax, pmax, pmax2, s, labels, u, lo, full,
                     sums, wsums, stats, n_slots, use_blas, Cs, cc, mu, tie_eps):
        """One Hamerly iteration. ``s[j]`` is half the distance from centre j to
        its nearest other centre. Rows with ``labels[i] < 0`` get a full scan
        (the solver starts with Lloyd's pass instead, see ``_solver.HamerlyStep``).

        Rows are taken ``SCAN_GROUP`` chunks at a time: one sweep updates the
        bounds and collects the rows failing Hamerly's test, their upper bounds
        are tightened to exact distances, and the rows still failing are
        gathered, transposed and scanned one SIMD lane per row in X's dtype
        (``lloyd.scan_lanes``), near ties decided by ``exact_argmin``
        (:func:`_exact_bounds`); with ``use_blas`` (many centres in many
        dimensions) by one BLAS product per CHUNK_ROWS of them instead
        (:func:`_scan_blas`, with ``Cs``, ``cc``, ``mu`` and ``tie_eps`` as in
        ``lloyd_pass_gemm_t``; BLAS pinned to one thread by the caller).
        Scratch is per thread (``n_slots`` bounds the thread ids)."""
        n, d = X.shape
        k = C.shape[0]
        nb = stats.shape[0]
        Cd = C.astype(np.float64)
        grp = SCAN_GROUP
        G = grp * CHUNK_ROWS
        nt = n_slots
        # rows of X a multiple of 256 bytes apart: the scanned rows transposed
        # row by row, into rows of xt whose stride spreads over the L1 sets
        # (_config.TRANSPOSE_BY_ROWS)
        by_rows = _by_rows(d, X.itemsize)
        # the scans run in X's dtype, as Lloyd's pass does (float32 data: twice
        # the SIMD lanes of float64), then the exact distances of the chosen
        # centres in float64 (:func:`_exact_bounds`)
        Cx = C.astype(X.dtype)
        xt_all = np.empty((nt, d, CHUNK_ROWS + SLOT_PAD + (ROW_PAD if by_rows else 0)), X.dtype)
        tmp_all = np.empty((nt, 4, CHUNK_ROWS + SLOT_PAD), X.dtype)
        xn_all = np.empty((nt, CHUNK_ROWS + SLOT_PAD))
        bx_all = np.empty((nt, 2, CHUNK_ROWS + SLOT_PAD), X.dtype)
        best_all = np.empty((nt, CHUNK_ROWS + SLOT_PAD))
        second_all = np.empty((nt, CHUNK_ROWS + SLOT_PAD))
        lab_all = np.empty((nt, CHUNK_ROWS + SLOT_PAD), np.int32)
        idx_all = np.empty((nt, G + SLOT_PAD), np.int32)
        ud_all = np.empty((nt, G + SLOT_PAD))
        xd_all = np.empty((nt, d, CHUNK_ROWS + SLOT_PAD))
        nbl = nt if use_blas else 1
        xs_all = np.empty((nbl, Cs.shape[1] if use_blas else 1, CHUNK_ROWS), X.dtype)
        g_all = np.empty((nbl, k if use_blas else 1, CHUNK_ROWS), X.dtype)
        vk_all = np.empty((nbl, k if use_blas else 1), X.dtype)
        ccmax = 0.0
        if use_blas:
            for j in range(k):
                ccmax = max(ccmax, np.float64(cc[j]))
        # per centre, in one row: its move (the upper bounds' drift), s, and
        # the lower bounds' drift, read by one unsigned index in the bound
        # sweep (no negative-index test; docs/benchmarks.md, "The bound
        # sweeps read one table")
        PT = np.empty((k, 3))
        for j in range(k):
            PT[j, 0] = p[j]
            PT[j, 1] = s[j]
            PT[j, 2] = pmax2 if j == jmax else pmax
        for b in prange(nb):
            tid = get_thread_id()
            xt = xt_all[tid]
            tmp = tmp_all[tid]
            bx = bx_all[tid]
            best = best_all[tid]
            second = second_all[tid]
            lab = lab_all[tid]
            idx = idx_all[tid]
            ud = ud_all[tid]
            sums[b, :, :] = 0.0
            wsums[b, :] = 0.0
            stats[b, :] = 0.0
            changed = 0
            c0, c1 = block_chunks(b, n, nb)
            for g0 in range(c0, c1, grp):
                s0, M = group_span(g0, c1, grp, n)
                Xc = X[s0:s0 + M]  # slices, not X[s0 + i]: see lloyd.py's docstring
                lc = labels[s0:s0 + M]
                uc = u[s0:s0 + M]
                lw = lo[s0:s0 + M]
                q = 0
                first = lc[0] < 0
                if first:
                    for i in range(M):
                        idx[i] = i
                    q = M
                else:
                    # the bounds after the centres moved; collect the rows failing
                    # the test (branch-free)
                    for i in range(M):
                        a = np.uint32(lc[i])
                        ui = uc[i] + PT[a, 0]
                        li = lw[i] - PT[a, 2]
                        uc[i] = ui
                        lw[i] = li
                        sa = PT[a, 1]
                        idx[q] = i
                        q += 0 if ui < (sa if sa > li else li) * SAFE else 1
                    # tighten their upper bounds; keep those still failing (the
                    # distances first, in a loop of independent iterations: the
                    # rows' loads overlap instead of waiting on the sqrt and the
                    # test). Where many rows fail, all the group's rows in order
                    # (the reads stream; idx[t] >= t, so the compaction is in place)
                    if q * DENSE_TIGHTEN_DEN > M * DENSE_TIGHTEN_NUM:
                        for i in range(M):
                            ud[i] = _dist2(Xc, i, Cd, lc[i])
                        for t in range(q):
                            ud[t] = ud[idx[t]]
                    else:
                        for t in range(q):
                            i = idx[t]
                            ud[t] = _dist2(Xc, i, Cd, lc[i])
                    for t in range(q):
                        ud[t] = np.sqrt(ud[t])
                    q2 = 0
                    for t in range(q):
                        i = idx[t]
                        a = np.uint32(lc[i])
                        ui = ud[t]
                        uc[i] = ui
                        sa = PT[a, 1]
                        li = lw[i]
                        idx[q2] = i
                        q2 += 0 if ui < (sa if sa > li else li) * SAFE else 1
                    q = q2
                # the rows still failing, CHUNK_ROWS at a time (the scan's
                # scratch then stays in the L1 cache)
                for t0 in range(0, q, CHUNK_ROWS):
                    tq = min(CHUNK_ROWS, q - t0)
                    if use_blas and fused:
                        _scan_fused(Xc, idx, t0, tq, Cs, cc, mu, ccmax, tie_eps, Cd, xs_all[tid],
                                    g_all[tid], vk_all[tid], xn_all[tid], bx[0], bx[1], best,
                                    second, lab)
                    elif use_blas:
                        _scan_blas(Xc, idx, t0, tq, Cs, cc, mu, ccmax, tie_eps, Cd, xs_all[tid],
                                   g_all[tid], vk_all[tid], xn_all[tid], bx[0], bx[1], best,
                                   second, lab)
                    else:
                        if by_rows:
                            for t in range(tq):
                                r = idx[t0 + t]
                                for f in range(d):
                                    xt[f, t] = Xc[r, f]
                        else:
                            # 8 rows x 8 features at a time in registers from 8
                            # features (``_simd``)
                            gather_tiles(Xc, idx, t0, tq, xt)
                        scan_lanes(xt, Cx, tq, tmp, bx[0], bx[1], lab)
                        _exact_bounds(Xc, Cd, idx, t0, tq, tie_eps, bx[0], bx[1], best, second, lab)
                    for t in range(tq):
                        i = idx[t0 + t]
                        a = lc[i]
                        bj = lab[t]
                        uc[i] = np.sqrt(best[t])
                        lw[i] = np.sqrt(second[t])
                        if bj != a:
                            changed += 1
                            lc[i] = bj
                            if not (full or first):
                                _move(X, w, use_w, s0 + i, a, bj, False, sums[b], wsums[b])
                if full or first:
                    _full_sums(X, w, use_w, s0, M, lc, k, xt, xd_all[tid], sums[b], wsums[b])
            stats[b, STAT_CHANGED] = changed

    return njit(parallel=True, **_JIT)(hamerly_pass)


hamerly_pass = _hamerly(False)
hamerly_pass_fused = _hamerly(True)


@njit(**_JIT)
def _exact_bounds(Xc, Cd, idx, off, q, tie_eps, bx, sx, best, second, lab):
    """After a lane scan in X's dtype of the rows ``idx[off:off + q]`` of
    ``Xc`` (``bx``/``sx`` its two smallest values, ``lab`` the index of the
    smallest): ``best`` the exact float64 squared distance to the nearest
    centre and ``second`` a lower bound on the squared distance to every
    other one. Where the two values are within the dtype's rounding bound
    ``tie_eps`` (relative) ``exact_argmin`` decides, as in the Lloyd pass,
    so every algorithm labels a row as Lloyd does; the bound is then the
    smallest value, else the second, less that rounding bound."""
    for t in range(q):
        i = idx[off + t]
        b = np.float64(bx[t])
        s2 = np.float64(sx[t])
        if s2 < np.inf and s2 - b <= tie_eps * s2:
            lab[t] = exact_argmin(Xc, i, Cd)
            s2 = b
        best[t] = _dist2(Xc, i, Cd, lab[t])
        second[t] = s2 * (1.0 - 2.0 * tie_eps)


#: Relative rounding bound of a float64 squared distance summed over d
#: features is about (d + 1) eps; two values closer than TIE_EPS64 x (d + 2)
#: may be ordered differently by differently compiled loops.
TIE_EPS64 = 4.0 * 2.220446049250313e-16


@njit(**_JIT)
def _resolve_ties(Xc, Cd, idx, off, q, best, second, lab):
    """After a lane scan of rows ``idx[off:off + q]`` of ``Xc``: where the two
    best squared distances are within the rounding bound, the lane sums
    (one feature after another) and Lloyd's (``exact_argmin``, whose loop
    the compiler may vectorise) could disagree on which is smaller, so
    ``exact_argmin`` decides, as in the Lloyd pass: every algorithm sends a
    row on the midplane of two centres where Lloyd does. ``best`` becomes
    that centre's squared distance and ``second`` 0 (a valid lower bound)."""
    tie = TIE_EPS64 * (Xc.shape[1] + 2)
    for t in range(q):
        b2 = second[t]
        if b2 < np.inf and b2 - best[t] <= tie * b2:
            i = idx[off + t]
            j = exact_argmin(Xc, i, Cd)
            lab[t] = j
            best[t] = _dist2(Xc, i, Cd, j)
            second[t] = 0.0


@njit(**_JIT)
def _own_bound(Xc, T, lc, lw, m, dd, idx):
    """For the rows of a chunk (``Xc``, labels ``lc``, lower bounds ``lw``:
    slices: see the docstring of ``lloyd.py``): ``dd[i]`` the exact squared distance to
    the own centre (features summed in order, as :func:`_dist2`), the
    decayed lower bound written back, and in ``idx[:q]`` the rows where
    Hamerly's test fails (``not u < max(s[a], lower)``, on squared
    distances), gathered branch-free in the same sweep. Returns ``q``.

    ``T`` (:func:`_centre_table`) holds each centre's coordinates, its
    ``s`` and the drift of its rows' lower bounds in one row, read by one
    unsigned index, and the count is unsigned too: no negative-index test
    on either (docs/benchmarks.md, "The bound sweeps read one table").
    Written out for d = 2 and 3."""
    d = Xc.shape[1]
    q = np.uint64(0)
    for i in range(m):
        a = np.uint32(lc[i])
        if d == 3:
            t0 = np.float64(Xc[i, 0]) - T[a, 0]
            t1 = np.float64(Xc[i, 1]) - T[a, 1]
            t2 = np.float64(Xc[i, 2]) - T[a, 2]
            v = t0 * t0 + t1 * t1 + t2 * t2
        elif d == 2:
            t0 = np.float64(Xc[i, 0]) - T[a, 0]
            t1 = np.float64(Xc[i, 1]) - T[a, 1]
            v = t0 * t0 + t1 * t1
        else:
            v = 0.0
            for f in range(d):
                t = np.float64(Xc[i, f]) - T[a, f]
                v += t * t
        dd[i] = v
        li = lw[i] - T[a, d + 1]
        lw[i] = li
        sa = T[a, d]
        bound = sa if sa > li else li
        idx[q] = i
        q += np.uint64(0) if (v < bound * bound * SAFE) & (bound > 0.0) else np.uint64(1)
    return q


@njit(**_JIT)
def _centre_table(Cd, s, jmax, pmax, pmax2, T):
    """``T[j]`` = centre j's coordinates, ``s[j]``, and the drift of the
    lower bounds of its rows (``pmax2`` for the centre that moved most,
    ``pmax`` for the others), for :func:`_own_bound`."""
    k, d = Cd.shape
    for j in range(k):
        for f in range(d):
            T[j, f] = Cd[j, f]
        T[j, d] = s[j]
        T[j, d + 1] = pmax2 if j == jmax else pmax


@njit(**_JIT_ORDERED)
def _distortion_sum(dd, Xc, wc, use_w, m):
    """The chunk's share of scipy's distortion: the sum of ``wc[i] *
    sqrt(dd[i])``, each root taken in X's dtype as scipy computes it.
    Overwrites ``dd``. Four partial sums let the additions pipeline (one
    chain costs 4 cycles a row); their order is fixed by the chunk, so the
    result does not depend on the threads."""
    if use_w:
        for i in range(m):
            dd[i] = np.float64(np.sqrt(Xc.dtype.type(dd[i]))) * np.float64(wc[i])
    else:
        for i in range(m):
            dd[i] = np.float64(np.sqrt(Xc.dtype.type(dd[i])))
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    m4 = m - m % 4
    for i in range(0, m4, 4):
        a0 += dd[i]
        a1 += dd[i + 1]
        a2 += dd[i + 2]
        a3 += dd[i + 3]
    for i in range(m4, m):
        a0 += dd[i]
    return (a0 + a1) + (a2 + a3)


@njit(parallel=True, **_JIT)
def hamerly_distortion_pass(X, w, use_w, C, jmax, pmax, pmax2, s, labels, lo, full, live,
                            sums, wsums, stats, n_slots):
    """One Hamerly iteration of scipy's ``kmeans`` for each of R runs at
    once (restarts from different centres, ``C``: R x k x d). The rule needs
    every row's distance to its centre at every iteration (the distortion it
    stops on, summed into ``stats[:, r, STAT_SQRT]``). That distance is the
    tight upper bound, so the bound test costs one distance per row; only
    rows failing it (``not u < max(s[a], lower)``, as in
    :func:`hamerly_pass`, made on exact squared distances) get a full scan,
    gathered over ``SCAN_GROUP`` chunks. The first pass of a run (labels <
    0) scans every row in loops over the rows of a chunk that vectorise.
    Sums as in :func:`hamerly_pass` (deltas unless ``full[r]``). Meant for
    small d.

    Run r uses its own slices of every argument (``jmax[r]``, ``s[r]``,
    ``labels[r]``, ``sums[:, r]``, ...); runs with ``live[r]`` False are
    skipped. A group of rows is visited once for all runs, so its rows are
    read from memory once; each run's arithmetic, and so its result, is
    exactly that of the run alone (R = 1). A cluster dropped from a run has
    infinite coordinates: it is never the nearest centre.

    The distortion takes each row's square root in the data's dtype, as
    scipy computes it, and sums it chunk by chunk in a fixed order.
    """
    n, d = X.shape
    R, k = C.shape[0], C.shape[1]
    nb = stats.shape[0]
    Cd = C.astype(np.float64)
    T = np.empty((R, k, d + 2))
    for r in range(R):
        if live[r]:
            _centre_table(Cd[r], s[r], jmax[r], pmax[r], pmax2[r], T[r])
    G = SCAN_GROUP * CHUNK_ROWS
    # scratch per thread, not per block (O(SCAN_GROUP x CHUNK_ROWS) each)
    nt = n_slots
    xt_all = np.empty((nt, d, G + SLOT_PAD))
    tmp_all = np.empty((nt, 4, G + SLOT_PAD))
    dd_all = np.empty((nt, G + SLOT_PAD))
    second_all = np.empty((nt, G + SLOT_PAD))
    lab_all = np.empty((nt, G + SLOT_PAD), np.int32)
    tmp2_all = np.empty((nt, d if k <= MASKED_SUMS_MAX_K else 1, CHUNK_ROWS + SLOT_PAD))
    bq_all = np.empty((nt, G + SLOT_PAD))
    idx_all = np.empty((nt, G + SLOT_PAD), np.int32)
    for b in prange(nb):
        tid = get_thread_id()
        dd = dd_all[tid]
        xt = xt_all[tid]
        second = second_all[tid]
        lab = lab_all[tid]
        for r in range(R):
            if live[r]:
                sums[b, r, :, :] = 0.0
                wsums[b, r, :] = 0.0
                stats[b, r, :] = 0.0
        c0, c1 = block_chunks(b, n, nb)
        for g0 in range(c0, c1, SCAN_GROUP):
            s0, M = group_span(g0, c1, SCAN_GROUP, n)
            Xc = X[s0:s0 + M]  # slices, not X[s0 + i]: see lloyd.py's docstring
            wc = w[s0:s0 + M]
            for r in range(R):
                if live[r]:
                    _distortion_group(X, Xc, wc, w, use_w, s0, M, Cd[r], T[r], labels[r],
                                      lo[r], full[r], sums[b, r],
                                      wsums[b, r], stats[b, r], xt, tmp_all[tid], dd, second,
                                      lab, tmp2_all[tid], bq_all[tid], idx_all[tid])


@njit(**_JIT)
def _distortion_group(X, Xc, wc, w, use_w, s0, M, Cd, T, labels, lo, full,
                      sums_b, wsums_b, stats_b, xt, tmp, dd, second, lab, tmp2, bq, idx):
    """One run's share of :func:`hamerly_distortion_pass` on the ``M`` rows
    from ``s0`` (``Xc``, ``wc``: slices; the run's labels and lower bounds);
    adds the changed rows and the distortion terms to ``stats_b``."""
    lc = labels[s0:s0 + M]  # slices: see lloyd.py's docstring
    lw = lo[s0:s0 + M]
    d = X.shape[1]
    k = Cd.shape[0]
    if lc[0] < 0:
        # first pass: float64 distances to every centre, one SIMD lane per
        # row, near ties settled by exact_argmin, second for the bound
        for c in range(0, M, CHUNK_ROWS):
            m = min(CHUNK_ROWS, M - c)
            for f in range(d):
                for i in range(m):
                    xt[f, i] = np.float64(Xc[c + i, f])
            scan_lanes(xt, Cd, m, tmp, dd, second, lab)
            for i in range(m):
                idx[i] = c + i
            _resolve_ties(Xc, Cd, idx, 0, m, dd, second, lab)
            for i in range(m):
                lc[c + i] = lab[i]
                lw[c + i] = np.sqrt(second[i])
            if k <= MASKED_SUMS_MAX_K:
                masked_sums(xt, tmp2, w, use_w, s0 + c, m, lab, k, sums_b, wsums_b)
            else:
                for i in range(m):
                    _move(X, w, use_w, s0 + c + i, -1, lab[i], True, sums_b, wsums_b)
            stats_b[STAT_CHANGED] += m
            stats_b[STAT_SQRT] += _distortion_sum(dd, Xc[c:c + m], wc[c:c + m], use_w, m)
        return
    # later passes: the squared distance to the own centre, the decayed
    # lower bound and Hamerly's test in one sweep; a full scan for the rows
    # failing it; then the distortion terms
    q = np.int64(_own_bound(Xc, T, lc, lw, M, dd, idx))
    if q:
        # the failing rows, scanned one SIMD lane per row (near ties settled
        # by exact_argmin)
        for f in range(d):
            for t in range(q):
                xt[f, t] = np.float64(Xc[idx[t], f])
        scan_lanes(xt, Cd, q, tmp, bq, second, lab)
        _resolve_ties(Xc, Cd, idx, 0, q, bq, second, lab)
        changed = 0
        for t in range(q):
            i = idx[t]
            a = lc[i]
            bj = lab[t]
            lw[i] = np.sqrt(second[t])
            dd[i] = bq[t]
            if bj != a:
                changed += 1
                lc[i] = bj
                if not full:
                    _move(X, w, use_w, s0 + i, a, bj, False, sums_b, wsums_b)
        stats_b[STAT_CHANGED] += changed
    for c in range(0, M, CHUNK_ROWS):
        m = min(CHUNK_ROWS, M - c)
        stats_b[STAT_SQRT] += _distortion_sum(dd[c:c + m], Xc[c:c + m], wc[c:c + m], use_w, m)
    if full:
        for i in range(M):
            _move(X, w, use_w, s0 + i, -1, lc[i], True, sums_b, wsums_b)


@njit(**_JIT)
def _down32(v):
    """A float32 not above the non-negative float64 ``v`` (a lower bound
    stored in float32 stays a lower bound)."""
    return np.float32((v if v > 0.0 else 0.0) * (1.0 - 1e-6))


@njit(**_JIT)
def distortion_iteration(X, w, use_w, C, labels, lo, sums, counts, p, full, live, bsums, bwsums,
                         bstats, tot_sums, tot_wsums, tot_stats, dist, n_slots):
    """One assignment of scipy's rule with Hamerly's bounds for the live
    runs among R, in one call: each run's nearest-half distances, its
    largest moves ``p[r]`` (from the last update),
    :func:`hamerly_distortion_pass`, the blocks' reduction and the running
    ``sums[r]``/``counts[r]`` (set when ``full[r]``, else moved by the
    deltas; a cluster emptied by moves keeps no rounding residue). Writes
    each live run's distortion sum into ``dist[r]``; returns the rows whose
    label changed, over the live runs. Keeping this bookkeeping in the
    compiled call keeps the solver loop's cost per iteration small
    (scipy's rule runs many short iterations)."""
    R, k = C.shape[0], C.shape[1]
    s = np.empty((R, k))
    jmax = np.zeros(R, np.int64)
    pmax = np.zeros(R)
    pmax2 = np.zeros(R)
    for r in range(R):
        if not live[r]:
            continue
        s[r] = _nearest_half_serial(np.ascontiguousarray(C[r].astype(np.float64).T))
        pr = p[r]
        jm = 0
        for j in range(k):
            if pr[j] > pr[jm]:
                jm = j
        jmax[r] = jm
        pmax[r] = pr[jm]
        for j in range(k):
            if j != jm and pr[j] > pmax2[r]:
                pmax2[r] = pr[j]
    hamerly_distortion_pass(X, w, use_w, C, jmax, pmax, pmax2, s, labels, lo, full, live, bsums,
                            bwsums, bstats, n_slots)
    changed = 0.0
    for r in range(R):
        if not live[r]:
            continue
        reduce_blocks(bsums[:, r], bwsums[:, r], bstats[:, r], tot_sums, tot_wsums, tot_stats)
        if full[r]:
            sums[r, :, :] = tot_sums
            counts[r, :] = tot_wsums
        else:
            sums[r] += tot_sums
            counts[r] += tot_wsums
        cr = counts[r]
        cmax = 1.0
        for j in range(k):
            cmax = max(cmax, abs(cr[j]))
        for j in range(k):
            if abs(cr[j]) < 1e-12 * cmax:
                cr[j] = 0.0
        dist[r] = tot_stats[STAT_SQRT]
        changed += tot_stats[STAT_CHANGED]
        full[r] = False
    return changed


@njit(**_JIT)
def means_of_sums(sums, counts, C_old, live):
    """The weighted means ``sums[r, j] / counts[r, j]`` of the live runs in
    ``C_old``'s dtype (R x k x d); a cluster with no weight, and every
    cluster of a run that is not live, keeps its row of ``C_old``."""
    C = C_old.copy()
    R, k, d = C_old.shape
    for r in range(R):
        if not live[r]:
            continue
        for j in range(k):
            if counts[r, j] > 0.0:
                for f in range(d):
                    C[r, j, f] = sums[r, j, f] / counts[r, j]
    return C


@njit(**_JIT)
def centre_moves(C_new, C_old, p):
    """``p[r, j]``: how far centre j of run r moved, ``||C_new[r, j] -
    C_old[r, j]||`` in float64 (the drift that loosens the bounds). A centre
    dropped earlier (infinite coordinates on both sides) moved 0; one
    dropped by this update moved infinitely far, which only its restart's
    next pass, a fresh one that reads no bounds, sees."""
    R, k, d = C_new.shape
    for r in range(R):
        for j in range(k):
            acc = 0.0
            for f in range(d):
                t = np.float64(C_new[r, j, f]) - np.float64(C_old[r, j, f])
                acc += t * t
            p[r, j] = np.sqrt(acc) if acc == acc else 0.0


@njit(**_JIT)
def _store_lb(v, drift):
    """A group lower bound ``v`` (a distance) stored in float32 as
    ``v + drift`` rounded down: the bound read back, ``stored - drift``,
    never exceeds ``v``, and it decays with the group's drift without being
    rewritten (see :func:`yinyang_pass`)."""
    return _down32(v + drift)


@njit(parallel=True, **_JIT)
def yinyang_pass(X, w, use_w, C, Cg, gidx, gptr, gof, p, D, s, labels, u, glb, full,
                 sums, wsums, stats, n_slots):
    """One Yinyang iteration (Ding et al., 2015) with the fallback scans of
    :func:`hamerly_pass`. The centres fall into t fixed groups (``Cg``: the
    centres in float64, group by group, each group in increasing index;
    ``gidx`` their indices, group g = positions ``gptr[g]:gptr[g + 1]``;
    ``gof[j]`` the group of centre j). Row i's lower bound on its distance
    to every centre of group g but its own is ``glb[i, g] - D[g]``: ``D[g]``
    is the group's drift, the sum over iterations of its largest move, and
    ``glb`` holds bound + drift at the time it was set (float32, rounded
    down), so the bounds decay without being rewritten. A row is skipped
    when ``u < max(s[a], min over groups of its bounds)``; otherwise its
    upper bound is tightened and each group whose bound does not rule it
    out is scanned, one SIMD lane per row (``lloyd.scan_lanes``),
    CHUNK_ROWS rows at a time. The best over the scanned groups and the own
    centre is the nearest centre; near ties go to ``exact_argmin`` as in
    Lloyd (:func:`_resolve_ties`). Rows with labels < 0 scan every group."""
    n, d = X.shape
    k = C.shape[0]
    t_g = gptr.shape[0] - 1
    nb = stats.shape[0]
    Cd = C.astype(np.float64)
    G = SCAN_GROUP * CHUNK_ROWS
    R = CHUNK_ROWS
    nt = n_slots
    xt_all = np.empty((nt, d, R + SLOT_PAD))
    tmp_all = np.empty((nt, 4, R + SLOT_PAD))
    best_all = np.empty((nt, R + SLOT_PAD))
    second_all = np.empty((nt, R + SLOT_PAD))
    lab_all = np.empty((nt, R + SLOT_PAD), np.int32)
    idx_all = np.empty((nt, G + SLOT_PAD), np.int32)
    xd_all = np.empty((nt, d, R + SLOT_PAD))
    sub_all = np.empty((nt, R + SLOT_PAD), np.int32)
    rb_all = np.empty((nt, R + SLOT_PAD))  # running best (squared)
    rj_all = np.empty((nt, R + SLOT_PAD), np.int32)  # its centre
    rg_all = np.empty((nt, R + SLOT_PAD), np.int32)  # its group if scanned, else -1
    rs_all = np.empty((nt, R + SLOT_PAD))  # that group's second (squared)
    r2_all = np.empty((nt, R + SLOT_PAD))  # the smallest other value seen (squared)
    tie = TIE_EPS64 * (d + 2)
    for b in prange(nb):
        tid = get_thread_id()
        xt = xt_all[tid]
        tmp = tmp_all[tid]
        best = best_all[tid]
        second = second_all[tid]
        lab = lab_all[tid]
        idx = idx_all[tid]
        sub = sub_all[tid]
        rb = rb_all[tid]
        rj = rj_all[tid]
        rg = rg_all[tid]
        rs = rs_all[tid]
        r2 = r2_all[tid]
        sums[b, :, :] = 0.0
        wsums[b, :] = 0.0
        stats[b, :] = 0.0
        changed = 0
        c0, c1 = block_chunks(b, n, nb)
        for g0 in range(c0, c1, SCAN_GROUP):
            s0, M = group_span(g0, c1, SCAN_GROUP, n)
            Xc = X[s0:s0 + M]  # slices, not X[s0 + i]: see lloyd.py's docstring
            lc = labels[s0:s0 + M]
            uc = u[s0:s0 + M]
            gc = glb[s0:s0 + M]
            first = lc[0] < 0
            q = 0
            if first:
                for i in range(M):
                    idx[i] = i
                    uc[i] = np.inf
                q = M
            else:
                # collect the rows the global test fails
                for i in range(M):
                    a = lc[i]
                    ui = uc[i] + p[a]
                    uc[i] = ui
                    gl = np.inf
                    for g in range(t_g):
                        gl = min(gl, np.float64(gc[i, g]) - D[g])
                    sa = s[a]
                    idx[q] = i
                    q += 0 if ui < (sa if sa > gl else gl) * SAFE else 1
                # tighten their upper bounds; keep those still failing
                q2 = 0
                for tt in range(q):
                    i = idx[tt]
                    a = lc[i]
                    ui = np.sqrt(_dist2(Xc, i, Cd, a))
                    uc[i] = ui
                    gl = np.inf
                    for g in range(t_g):
                        gl = min(gl, np.float64(gc[i, g]) - D[g])
                    sa = s[a]
                    idx[q2] = i
                    q2 += 0 if ui < (sa if sa > gl else gl) * SAFE else 1
                q = q2
            for t0 in range(0, q, R):
                tq = min(R, q - t0)
                for tt in range(tq):
                    i = idx[t0 + tt]
                    a = lc[i]
                    rb[tt] = _dist2(Xc, i, Cd, a) if a >= 0 else np.inf
                    rj[tt] = a
                    rg[tt] = -1
                    rs[tt] = np.inf
                    r2[tt] = np.inf
                whole = False  # xt holds the whole batch, in order
                for g in range(t_g):
                    # the rows of this batch whose bound on group g fails
                    nq = 0
                    for tt in range(tq):
                        i = idx[t0 + tt]
                        sub[nq] = tt
                        nq += 0 if uc[i] < (np.float64(gc[i, g]) - D[g]) * SAFE else 1
                    if nq == 0:
                        continue
                    if not (whole and nq == tq):
                        for f in range(d):
                            for r in range(nq):
                                xt[f, r] = np.float64(Xc[idx[t0 + sub[r]], f])
                        whole = nq == tq
                    Cgrp = Cg[gptr[g]:gptr[g + 1]]
                    scan_lanes(xt, Cgrp, nq, tmp, best, second, lab)
                    Dg = D[g]
                    for r in range(nq):
                        tt = sub[r]
                        i = idx[t0 + tt]
                        gb = best[r]
                        gj = gidx[gptr[g] + lab[r]]
                        gc[i, g] = _store_lb(np.sqrt(gb), Dg)
                        if gj == rj[tt]:
                            # the group holds the running best
                            rg[tt] = g
                            rs[tt] = second[r]
                            r2[tt] = min(r2[tt], second[r])
                        elif gb < rb[tt] or (gb == rb[tt] and gj < rj[tt]):
                            r2[tt] = min(r2[tt], min(rb[tt], second[r]))
                            old = rj[tt]
                            if old >= 0 and rg[tt] < 0:
                                # the old centre's group was not scanned: it
                                # now bounds that group (the row leaves it)
                                go = gof[old]
                                gc[i, go] = min(gc[i, go], _store_lb(np.sqrt(rb[tt]), D[go]))
                            rb[tt] = gb
                            rj[tt] = gj
                            rg[tt] = g
                            rs[tt] = second[r]
                        else:
                            r2[tt] = min(r2[tt], gb)
                for tt in range(tq):
                    i = idx[t0 + tt]
                    a = lc[i]
                    bj = rj[tt]
                    v2 = r2[tt]
                    if v2 < np.inf and v2 - rb[tt] <= tie * v2:
                        # a near tie: Lloyd's exact_argmin decides (see
                        # _resolve_ties); every group bound drops to 0
                        bj = exact_argmin(Xc, i, Cd)
                        rb[tt] = _dist2(Xc, i, Cd, bj)
                        for g in range(t_g):
                            gc[i, g] = _store_lb(0.0, D[g])
                    elif rg[tt] >= 0:
                        gc[i, rg[tt]] = _store_lb(np.sqrt(rs[tt]), D[rg[tt]])
                    uc[i] = np.sqrt(rb[tt])
                    if bj != a:
                        changed += 1
                        lc[i] = bj
                        if not (full or first):
                            _move(X, w, use_w, s0 + i, a, bj, False, sums[b], wsums[b])
            if full or first:
                _full_sums(X, w, use_w, s0, M, lc, k, xt, xd_all[tid], sums[b], wsums[b])
        stats[b, STAT_CHANGED] = changed


@njit(parallel=True, **_JIT)
def elkan_pass(X, w, use_w, C, p, half_cc, s, labels, u, lb, full, sums, wsums, stats):
    """One Elkan iteration. ``half_cc[a, j]`` is half the distance between
    centres a and j; ``lb`` (n, k) float32 holds lower bounds on each row's
    distance to each centre, stored rounded down so they stay valid. Rows
    with ``labels[i] < 0`` are initialised with all k distances."""
    n = X.shape[0]
    k = C.shape[0]
    nb = stats.shape[0]
    for b in prange(nb):
        sums[b, :, :] = 0.0
        wsums[b, :] = 0.0
        stats[b, :] = 0.0
        changed = 0
        i0, i1 = row_block(b, n, nb)
        for i in range(i0, i1):
            a = labels[i]
            if a < 0:
                bj = 0
                u2 = np.inf
                for j in range(k):
                    dj2 = _dist2(X, i, C, j)
                    lb[i, j] = np.float32(np.sqrt(dj2) * (1.0 - 1e-6))
                    if dj2 < u2:
                        u2 = dj2
                        bj = j
                ui = np.sqrt(u2)
            else:
                ui = u[i] + p[a]
                bj = a
                for j in range(k):
                    v = lb[i, j] - p[j]
                    lb[i, j] = np.float32((v if v > 0.0 else 0.0) * (1.0 - 1e-6))
                if not ui < s[a] * SAFE:
                    tight = False
                    u2 = 0.0
                    for j in range(k):
                        if j == bj:
                            continue
                        z = max(np.float64(lb[i, j]), half_cc[bj, j]) * SAFE
                        if ui < z:
                            continue
                        if not tight:
                            u2 = _dist2(X, i, C, bj)
                            ui = np.sqrt(u2)
                            lb[i, bj] = np.float32(ui * (1.0 - 1e-6))
                            tight = True
                            if ui < z:
                                continue
                        dj2 = _dist2(X, i, C, j)
                        lb[i, j] = np.float32(np.sqrt(dj2) * (1.0 - 1e-6))
                        if dj2 < u2 or (dj2 == u2 and j < bj):
                            bj = j
                            u2 = dj2
                            ui = np.sqrt(dj2)
            if bj != a:
                changed += 1
                labels[i] = bj
            u[i] = ui
            _move(X, w, use_w, i, a, bj, full or a < 0, sums[b], wsums[b])
        stats[b, STAT_CHANGED] = changed


@njit(parallel=True, **_JIT)
def exponion_pass(X, w, use_w, C, p, jmax, pmax, pmax2, s, nbr, nbr_dist, labels, u, lo,
                  full, sums, wsums, stats):
    """One Exponion iteration (Newling & Fleuret, 2016): Hamerly's bounds, and
    when they fail, only the centres inside a ball around the row's centre are
    examined. ``nbr[a]`` lists the other centres by increasing distance
    ``nbr_dist[a]`` from centre a. With u the row's exact distance to its
    centre a and R = 2u + 2s[a], the nearest centre lies within R of a, and
    every centre farther than R from a is more than R - u from the row, which
    bounds the second distance."""
    n = X.shape[0]
    k = C.shape[0]
    nb = stats.shape[0]
    for b in prange(nb):
        sums[b, :, :] = 0.0
        wsums[b, :] = 0.0
        stats[b, :] = 0.0
        changed = 0
        i0, i1 = row_block(b, n, nb)
        for i in range(i0, i1):
            a = labels[i]
            if a < 0:
                bj, ui, li = _scan2(X, i, C)
            else:
                ui = u[i] + p[a]
                li = lo[i] - (pmax2 if a == jmax else pmax)
                m = (s[a] if s[a] > li else li) * SAFE
                bj = a
                if not ui < m:
                    u2 = _dist2(X, i, C, a)
                    ui = np.sqrt(u2)
                    if not ui < m:
                        R = (2.0 * ui + 2.0 * s[a]) / SAFE
                        b1 = u2
                        b2 = np.inf
                        for q in range(k - 1):
                            if nbr_dist[a, q] > R:
                                break
                            j = nbr[a, q]
                            dj2 = _dist2(X, i, C, j)
                            if dj2 < b1 or (dj2 == b1 and j < bj):
                                b2 = b1
                                b1 = dj2
                                bj = j
                            elif dj2 < b2:
                                b2 = dj2
                        outside = R - ui
                        b2 = np.sqrt(b2)
                        li = b2 if b2 < outside else outside
                        ui = np.sqrt(b1)
            if bj != a:
                changed += 1
                labels[i] = bj
            u[i] = ui
            lo[i] = li
            _move(X, w, use_w, i, a, bj, full or a < 0, sums[b], wsums[b])
        stats[b, STAT_CHANGED] = changed


@njit(parallel=True, nogil=True, cache=True)
def sorted_neighbors(half):
    """For each centre, the other centres by increasing distance: (indices
    (k, k-1) int32, distances (k, k-1) float64) from half distances."""
    k = half.shape[0]
    nbr = np.empty((k, max(k - 1, 0)), np.int32)
    dist = np.empty((k, max(k - 1, 0)))
    for a in prange(k):
        order = np.argsort(half[a])  # a itself (0) comes first... or ties
        q = 0
        for t in range(k):
            j = order[t]
            if j == a:
                continue
            if q < k - 1:
                nbr[a, q] = j
                dist[a, q] = 2.0 * half[a, j]
                q += 1
    return nbr, dist


@njit(nogil=True, cache=True)
def _sq_dists_from(Ct, a, tmp):
    """``tmp[j]``: squared distance from centre a to every centre j, from
    the transposed centres ``Ct`` (d x k, float64): one SIMD lane per
    centre, features summed in order (the values of a row-by-row loop)."""
    d, k = Ct.shape
    ca = Ct[0, a]
    for j in range(k):
        e = Ct[0, j] - ca
        tmp[j] = e * e
    for f in range(1, d):
        ca = Ct[f, a]
        for j in range(k):
            e = Ct[f, j] - ca
            tmp[j] += e * e


@njit(nogil=True, cache=True)
def _geometry_row(Ct, a, half, s, tmp):
    """Row a of the half inter-centre distances, and ``s[a]``."""
    k = Ct.shape[1]
    _sq_dists_from(Ct, a, tmp)
    m = np.inf
    for j in range(k):
        h = 0.5 * np.sqrt(tmp[j])
        half[a, j] = h
        if j != a and h < m:
            m = h
    half[a, a] = 0.0
    s[a] = m


@njit(parallel=True, nogil=True, cache=True)
def _center_geometry_par(Ct):
    k = Ct.shape[1]
    half = np.zeros((k, k))
    s = np.full(k, np.inf)
    for a in prange(k):
        _geometry_row(Ct, a, half, s, np.empty(k))
    return half, s


@njit(nogil=True, cache=True)
def _center_geometry_serial(Ct):
    k = Ct.shape[1]
    half = np.zeros((k, k))
    s = np.full(k, np.inf)
    tmp = np.empty(k)
    for a in range(k):
        _geometry_row(Ct, a, half, s, tmp)
    return half, s


@njit(nogil=True, cache=True)
def _nearest_half_row(Ct, a, s, tmp):
    """``s[a]``: half the distance from centre a to its nearest other
    centre, the value :func:`_geometry_row` gives, without the k x k
    matrix."""
    _sq_dists_from(Ct, a, tmp)
    m = np.inf
    for j in range(Ct.shape[1]):
        if j != a and tmp[j] < m:
            m = tmp[j]
    s[a] = 0.5 * np.sqrt(m)


@njit(parallel=True, nogil=True, cache=True)
def _nearest_half_par(Ct):
    k = Ct.shape[1]
    s = np.full(k, np.inf)
    for a in prange(k):
        _nearest_half_row(Ct, a, s, np.empty(k))
    return s


@njit(nogil=True, cache=True)
def _nearest_half_serial(Ct):
    k = Ct.shape[1]
    s = np.full(k, np.inf)
    tmp = np.empty(k)
    for a in range(k):
        _nearest_half_row(Ct, a, s, tmp)
    return s


def nearest_half(C):
    """``s`` of :func:`center_geometry` alone (Hamerly and Yinyang need no
    more): for k = 1,000 the k x k matrix costs more than the distances."""
    Ct = np.ascontiguousarray(np.asarray(C, dtype=np.float64).T)
    if C.shape[0] * C.shape[0] * C.shape[1] < (1 << 16):
        return _nearest_half_serial(Ct)
    return _nearest_half_par(Ct)


def center_geometry(C):
    """(half inter-centre distances (k, k), s (k,)): s[j] is half the
    distance from centre j to its nearest other centre (inf when k == 1).
    Few centres are done on one thread: waking the others costs more (and
    far more when the cores are busy)."""
    Ct = np.ascontiguousarray(np.asarray(C, dtype=np.float64).T)
    if C.shape[0] * C.shape[0] * C.shape[1] < (1 << 16):
        return _center_geometry_serial(Ct)
    return _center_geometry_par(Ct)
