"""The solver (one loop, steps, rules, restarts) and the native API against the NumPy reference, scikit-learn and toy cases."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import kmeanskit
import naive
from conftest import blobs
from kmeanskit import _solver
from kmeanskit._init import kmeans_plusplus_indices
from kmeanskit._kernels import lloyd as K
from kmeanskit._kernels._simd import gather_tiles, transpose_tiles


def _pass(X, C, w=None, gemm=False, update=True):
    eng = _solver.ArraySource(X, w, C.shape[0], gemm=gemm)
    labels = np.full(X.shape[0], -1, np.int32)
    d2 = np.empty(X.shape[0])
    stats, sums, wsums = eng.assign(C.astype(X.dtype), labels, update=update, dist_out=d2)
    return labels, d2, stats.copy(), sums.copy(), wsums.copy(), eng


def _pass_as_direct(X, C):
    """The pass on the shape's own strategy gives the direct loops' labels,
    distances and sums."""
    rule = _pass(X, C, gemm=None)
    direct = _pass(X, C, gemm=False)
    np.testing.assert_array_equal(rule[0], direct[0])
    np.testing.assert_allclose(rule[1], direct[1], rtol=1e-12)
    np.testing.assert_allclose(rule[3], direct[3], rtol=1e-12, atol=1e-9)


def test_float32_from_128_features_takes_the_blas_product_above_the_rows_scan(rng):
    """``GEMM_MIN_K_FLOAT32``: float32 rows of ``GEMM_MIN_D`` features or more
    take the rows x centres product from the first k the untransposed scan
    leaves (``ROWS_SCAN_MAX_K``; float64 only from ``GEMM_MIN_K``), with the
    labels, distances and sums of the direct loops, and a fit the direct
    loops' fit."""
    from kmeanskit import _config as c

    assert _solver.use_gemm(c.GEMM_MIN_D, c.ROWS_SCAN_MAX_K + 1, np.float32) == "rows"
    assert _solver.use_gemm(c.GEMM_MIN_D, c.ROWS_SCAN_MAX_K + 1, np.float64) is False
    assert _solver.use_gemm(c.GEMM_MIN_D - 1, c.ROWS_SCAN_MAX_K + 1, np.float32) is False
    # up to ROWS_SCAN_MAX_K centres the direct pass scans the rows as they lie
    assert _solver.use_gemm(c.GEMM_MIN_D, c.ROWS_SCAN_MAX_K, np.float32) is False
    assert _solver.use_gemm(c.GEMM_MIN_D, c.GEMM_MIN_K, np.float64) == "rows"
    X = rng.normal(size=(3000, 130)).astype(np.float32)
    X[:1500] += 0.4
    C = X[rng.choice(3000, 5, replace=False)].copy()
    assert _solver.ArraySource(X, None, 5).gemm == "rows"
    _pass_as_direct(X, C)
    ref = kmeanskit.fit(X, 5, init=C, algorithm="lloyd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_solver, "use_gemm", lambda d, k, dtype=None: False)
        alone = kmeanskit.fit(X, 5, init=C, algorithm="lloyd")
    np.testing.assert_array_equal(ref.labels, alone.labels)
    np.testing.assert_allclose(ref.centers, alone.centers, rtol=1e-6)
    assert ref.n_iter == alone.n_iter and ref.inertia == pytest.approx(alone.inertia, rel=1e-12)


@numba.njit
def _transposed(X):
    """``X.T`` by the direct pass's ``transpose_tiles``."""
    xt = np.empty((X.shape[1], X.shape[0]), X.dtype)
    transpose_tiles(X, X.shape[0], xt)
    return xt


@numba.njit
def _gathered(X, idx, t0, tq):
    """``X[idx[t0:t0 + tq]].T`` by Hamerly's ``gather_tiles``."""
    xt = np.empty((X.shape[1], tq), X.dtype)
    gather_tiles(X, idx, t0, tq, xt)
    return xt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d", [(1, 8), (7, 8), (8, 8), (300, 8), (257, 12), (1000, 24), (64, 31),
                                 (9, 3), (40, 64)])
def test_transposition_in_register_tiles_moves_every_value(rng, dtype, n, d):
    """The direct pass's transposition (``_simd.transpose_tiles``: 8 x 8
    tiles in registers for float32 from 8 features, loops for the rows and
    features left over and otherwise) gives NumPy's ``X.T``, also for a
    Fortran-ordered array (the loops); Hamerly's (``gather_tiles``, of the
    rows an index array picks) gives ``X[idx].T``."""
    X = rng.normal(size=(n, d)).astype(dtype)
    got = _transposed(X)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, X.T)
    np.testing.assert_array_equal(_transposed(np.asfortranarray(X)), X.T)
    # the bounded passes' variant: the rows picked by an index array, from an offset
    for idx_dtype in (np.int32, np.int64):
        idx = rng.integers(0, n, size=n + 11).astype(idx_dtype)
        for t0, tq in ((0, n), (3, min(n, 17)), (11, n)):
            got = _gathered(X, idx, t0, tq)
            np.testing.assert_array_equal(got, X[idx[t0:t0 + tq]].T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k", [(700, 64, 3), (1000, 128, 4), (300, 130, 2), (600, 80, 4),
                                   (600, 64, 9), (257, 160, 1)])
def test_direct_pass_layouts_give_the_same_bits(rng, dtype, n, d, k):
    """The three compilations of the direct pass (``lloyd.BY_FEATURES``,
    ``BY_ROWS``, ``UNTRANSPOSED``) give the same labels, sums, distances,
    lower bounds and statistics bit for bit: the labels are the exact argmin
    whatever the order of a distance's sum (near ties settled by
    ``exact_argmin``), and the book-keeping after the scan is shared. The
    transposed layouts scan these wide chunks in pieces of fewer rows
    (``transpose_rows``), each its own number of rows here (the row-by-row
    layout's scratch is padded). Rounded rows make exact ties."""
    from kmeanskit._config import CHUNK_ROWS
    from kmeanskit._kernels._blocks import transpose_rows

    item = np.dtype(dtype).itemsize
    # both transposed layouts scan these chunks in pieces of fewer rows
    assert transpose_rows(d, item, 0) < CHUNK_ROWS and transpose_rows(d, item, 16) < CHUNK_ROWS
    X = np.round(rng.normal(size=(n, d)) * 2).astype(dtype)
    X[: n // 3] += 1.5
    C = X[rng.choice(n, k, replace=False)].copy()
    C[-1] = X[1]  # a centre on a row: a zero distance
    w = rng.random(n).astype(dtype)
    out = []
    for kernel in (K.lloyd_pass_direct, K.lloyd_pass_direct_rows, K.lloyd_pass_direct_untransposed):
        eng = _solver.ArraySource(X, w, k, gemm=False)
        labels = np.full(n, -1, np.int32)
        dist, lb = np.empty(n), np.empty(n)
        kernel(X, w=eng.ww, use_w=True, C=C, labels=labels, update=True, sums=eng.sums,
               wsums=eng.wsums, stats=eng.stats, want_dist=True, dist_out=dist, tie_eps=eng.tie_eps,
               want_sqrt=True, want_inertia=True, want_lb=True, lb_out=lb)
        stats, sums, wsums = eng.reduce()
        out.append((labels, dist, lb, stats.copy(), sums.copy(), wsums.copy()))
    for got in out[1:]:
        for a, b in zip(out[0], got):
            np.testing.assert_array_equal(a, b)
    rl, rd2, _ = naive.assign(X, C.astype(np.float64), w)
    np.testing.assert_array_equal(out[0][0], rl)
    np.testing.assert_allclose(out[0][1], rd2, rtol=1e-12, atol=1e-12)
    # the pass picks the untransposed scan from ROWS_SCAN_MIN_D = 64 features
    # up to ROWS_SCAN_MAX_K = 4 centres
    assert _solver.rows_scan(d, k) == (k <= 4)
    assert not _solver.rows_scan(63, 2)


def test_fused_layout_from_seven_to_eight_features_and_64_centres(rng):
    """``FUSED_MIN_D`` / ``FUSED_MIN_K``: d = 7-8 from 64 centres take the
    centres x rows layout without a BLAS product (``"fused"``, up to
    ``FUSED_D`` features); fewer features or centres keep the direct loops,
    and so do passes without the sums and Hamerly's first lower bounds
    there (``fused_only``); Hamerly's scans of the rows failing their bounds
    take the fused scan. The pass and a Hamerly fit give the direct loops'
    labels, distances, sums and fit."""
    from kmeanskit import _config as c

    for dt in (np.float32, np.float64):
        assert _solver.use_gemm(c.FUSED_MIN_D, c.FUSED_MIN_K, dt) == "fused"
        assert _solver.use_gemm(K.FUSED_D, c.GEMM_T_MIN_K, dt) == "cols"  # Hamerly's fused scans too
        assert _solver.use_gemm(c.FUSED_MIN_D - 1, 1024, dt) is False
        assert _solver.use_gemm(c.FUSED_MIN_D, c.FUSED_MIN_K - 1, dt) is False
    assert _solver.fused_only(c.FUSED_MIN_D, c.FUSED_MIN_K)
    assert not _solver.fused_only(c.GEMM_T_MIN_D, c.GEMM_T_MIN_K)  # BLAS shapes: Hamerly's too
    X = (rng.normal(size=(4000, 7)) + 50.0).astype(np.float32)  # offset: the expanded form's rounding
    C = X[rng.choice(4000, 70, replace=False)].copy()
    assert _solver.ArraySource(X, None, 70).gemm == "fused"
    _pass_as_direct(X, C)
    lbs = []
    for gemm in (None, False):  # the first lower bounds: the direct loops' on both
        lb = np.empty(4000)
        _solver.ArraySource(X, None, 70, gemm=gemm).assign(C, np.full(4000, -1, np.int32), False,
                                                           lb_out=lb)
        lbs.append(lb)
    np.testing.assert_array_equal(lbs[0], lbs[1])
    ref = kmeanskit.fit(X, 70, init=C, algorithm="hamerly", max_iter=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_solver, "use_gemm", lambda d, k, dtype=None: False)
        alone = kmeanskit.fit(X, 70, init=C, algorithm="hamerly", max_iter=30)
    np.testing.assert_array_equal(ref.labels, alone.labels)
    assert ref.n_iter == alone.n_iter and ref.inertia == pytest.approx(alone.inertia, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 5, 8])
@pytest.mark.parametrize("k", [1, 3, 4, 9])
def test_fused_scan_gives_the_expanded_forms_two_best(rng, dtype, d, k):
    """``fold_expanded_fused`` on data padded to ``FUSED_D`` features and
    centres padded to a multiple of ``FUSED_CB``: each row's two smallest
    values of ||c||^2 - 2 x.c and the index of the smallest, as the
    product's :func:`fold_expanded` gives them (the padding never wins)."""
    m = 45
    X = rng.normal(size=(m, d)).astype(dtype)
    C = rng.normal(size=(k, d)).astype(dtype)
    cc = (C.astype(np.float64) ** 2).sum(1).astype(dtype)
    xs = np.zeros((K.FUSED_D, 64), dtype)
    xs[:d, :m] = X.T
    Cp, ccp = K.fused_centres(C, cc)
    assert Cp.shape == (-(-k // K.FUSED_CB) * K.FUSED_CB, K.FUSED_D)
    best, second, lab = np.empty(64, dtype), np.empty(64, dtype), np.empty(64, np.int32)
    K.fold_expanded_fused(xs, Cp, ccp, m, best, second, lab)
    V = cc[None, :].astype(np.float64) - 2.0 * X.astype(np.float64) @ C.astype(np.float64).T
    np.testing.assert_array_equal(lab[:m], V.argmin(axis=1))
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(best[:m], V.min(axis=1), rtol=rtol, atol=rtol)
    expected_second = np.sort(V, axis=1)[:, 1] if k > 1 else np.full(m, np.inf)
    np.testing.assert_allclose(second[:m], expected_second, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, K.SCATTER_SUMS_MIN_K - 1, K.SCATTER_SUMS_MIN_K,
                               K.SCATTER_SUMS_MIN_K_2D, K.GROUPED_SUMS_MAX_K,
                               K.GROUPED_SUMS_MAX_K + 1, K.MASKED_SUMS_MAX_K])
@pytest.mark.parametrize("m", [1, 255, 256])
@pytest.mark.parametrize("weighted", [False, True])
def test_chunk_sums_match_numpy(rng, d, k, m, weighted):
    """``lloyd.masked_sums``: the masked sweeps, for 3 or 4 features up to
    ``GROUPED_SUMS_MAX_K`` centres the sums four centres a sweep (every
    remainder of k modulo 4), above it (from ``SCATTER_SUMS_MIN_K_2D``
    with 2 features) the two-copy scatter: a chunk's weighted sums and
    weights per cluster, added to what the block holds, as NumPy gives
    them (odd and even row counts)."""
    xt = rng.normal(size=(d, m)).astype(np.float32)
    w = rng.integers(1, 4, size=m + 3).astype(np.float32) if weighted else np.ones(1, np.float32)
    lab = rng.integers(0, k, size=m).astype(np.int32)
    sums = rng.normal(size=(k, d))
    wsums = rng.random(k)
    ref_s, ref_w = sums.copy(), wsums.copy()
    wr = w[3:3 + m].astype(np.float64) if weighted else np.ones(m)
    np.add.at(ref_s, lab, (xt.astype(np.float64) * wr).T)
    np.add.at(ref_w, lab, wr)
    K.masked_sums(xt, np.empty((d, 256)), w, weighted, 3, m, lab, k, sums, wsums)
    np.testing.assert_allclose(sums, ref_s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wsums, ref_w, rtol=1e-12)


@pytest.mark.parametrize("d", [2, 3, 4])
@pytest.mark.parametrize("k", [K.GROUPED_SUMS_MAX_K + 1, K.MASKED_SUMS_MAX_K])
@pytest.mark.parametrize("m", [255, 256])
@pytest.mark.parametrize("dtype,weights", [(np.float32, None), (np.float32, "random"),
                                           (np.float64, None), (np.float64, "dyadic")])
def test_scatter_sums_add_in_their_written_order(rng, d, k, m, dtype, weights):
    """The two-copy scatter's sums bit for bit: row i added to copy i % 2 in row order, then
    per centre copy 0 + copy 1. Where a row's products w x are exact (float32 rows and weights,
    or no weights) its features and weight go in as one 4-wide vector; this pins that those
    give the loop's bits. The block's sums start at zero here: the kernels' ``reassoc`` lets
    LLVM add the two copies to a running sum one after the other (test above, to 1e-12)."""
    assert k >= max(K.SCATTER_SUMS_MIN_K, K.SCATTER_SUMS_MIN_K_2D) and k > K.GROUPED_SUMS_MAX_K
    xt = rng.normal(size=(d, m)).astype(dtype)
    if weights == "random":
        w = rng.random(m + 3).astype(dtype)
    elif weights == "dyadic":  # products exact in float64 (the loop's path for float64 weights)
        w = (rng.integers(1, 64, m + 3) / 8.0).astype(dtype)
        xt = np.round(xt * 1024) / 1024
    else:
        w = np.ones(1, dtype)
    lab = rng.integers(0, k, size=m).astype(np.int32)
    sums = np.zeros((k, d))
    wsums = np.zeros(k)
    acc = np.zeros((2, k, d + 1))
    for i in range(m):
        wi = float(w[3 + i]) if weights else 1.0
        for f in range(d):
            acc[i % 2, lab[i], f] += wi * float(xt[f, i])
        acc[i % 2, lab[i], d] += wi
    ref_s = acc[0, :, :d] + acc[1, :, :d]
    ref_w = acc[0, :, d] + acc[1, :, d]
    K.masked_sums(xt, np.empty((d, 256)), w, weights is not None, 3, m, lab, k, sums, wsums)
    assert np.array_equal(sums, ref_s) and np.array_equal(wsums, ref_w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gemm", [False, "rows", "cols"])
@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (257, 3, 5), (5000, 2, 16), (600, 4, 17),
                                   (1000, 20, 17), (3000, 7, 40),
                                   # rows 256 or 512 bytes apart: the direct pass transposes
                                   # them row by row (_config.TRANSPOSE_BY_ROWS)
                                   (700, 32, 5), (700, 64, 6)])
def test_pass_matches_reference(rng, dtype, gemm, n, d, k):
    X = rng.normal(size=(n, d)).astype(dtype)
    C = rng.normal(size=(k, d)).astype(dtype)
    w = rng.random(n).astype(dtype)
    labels, d2, stats, sums, wsums, _ = _pass(X, C, w, gemm)
    rl, rd2, rin = naive.assign(X, C.astype(np.float64), w)
    # ties are impossible with continuous random data, up to float32 rounding
    agree = labels == rl
    assert agree.mean() >= (0.999 if dtype == np.float32 else 1.0)
    np.testing.assert_allclose(d2[agree], rd2[agree], rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-9)
    ref_in = float((w.astype(np.float64) * naive.sq_distances(X, C)[np.arange(n), labels]).sum())
    assert stats[K.STAT_INERTIA] == pytest.approx(ref_in, rel=1e-10)
    assert stats[K.STAT_CHANGED] == n
    ref_w = np.bincount(labels, weights=w.astype(np.float64), minlength=k)
    np.testing.assert_allclose(wsums, ref_w, rtol=1e-10)
    for j in range(k):
        m = labels == j
        np.testing.assert_allclose(sums[j], (w[m, None].astype(np.float64) * X[m]).sum(0),
                                   rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gemm", [False, "rows", "cols"])
@pytest.mark.parametrize("n,d,k", [(257, 3, 1), (3000, 2, 16), (2000, 20, 40), (1500, 64, 130)])
def test_pass_lower_bounds_on_the_other_centres(rng, dtype, gemm, n, d, k):
    """``lb_out`` (Hamerly's first lower bounds) never exceeds the exact
    distance to the nearest centre other than the row's own, and is tight,
    on every distance strategy; also for rounded data full of ties and for
    data far from the origin (the expanded form's rounding)."""
    for case in ("normal", "ties", "offset"):
        X = rng.normal(size=(n, d))
        if case == "ties":
            X = np.round(X)
        if case == "offset":
            X += 1000.0
        X = X.astype(dtype)
        C = X[rng.choice(n, k, replace=False)].copy()
        eng = _solver.ArraySource(X, None, k, gemm=gemm)
        labels = np.full(n, -1, np.int32)
        lb = np.empty(n)
        eng.assign(C, labels, update=False, lb_out=lb)
        D = np.sqrt(naive.sq_distances(X, C))
        D[np.arange(n), labels] = np.inf
        other = D.min(axis=1)
        assert np.all(lb <= other), case
        if k > 1:
            ok = other > 0
            assert np.median(lb[ok] / other[ok]) > 0.999, case


@pytest.mark.parametrize("scan", ["scan_two_best", "scan_lanes"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 8, 11])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 8, 9])
def test_lane_scan_finds_the_two_best(rng, scan, dtype, d, k):
    """``scan_two_best`` (centres and features four at a time, then the
    remainders) and ``scan_lanes`` (for 2 to 4 features ``_scan_small``:
    four centres a sweep, then the remainder) give each row its nearest
    centre, that distance and the second smallest, for every remainder of
    k and d modulo 4."""
    m = 37
    X = rng.normal(size=(m, d)).astype(dtype)
    C = rng.normal(size=(k, d)).astype(dtype)
    xt = np.ascontiguousarray(X.T)
    tmp = np.empty((4, m), dtype)
    best = np.empty(m, dtype)
    second = np.empty(m, dtype)
    lab = np.empty(m, np.int32)
    getattr(K, scan)(xt, C, m, tmp, best, second, lab)
    D = naive.sq_distances(X, C)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(lab, D.argmin(axis=1))
    np.testing.assert_allclose(best, D.min(axis=1), rtol=rtol)
    expected_second = np.sort(D, axis=1)[:, 1] if k > 1 else np.full(m, np.inf)
    np.testing.assert_allclose(second, expected_second, rtol=rtol)


def test_pass_counts_changes_and_assign_only(rng):
    X = rng.normal(size=(500, 2))
    C = rng.normal(size=(4, 2))
    labels, _, _, _, _, eng = _pass(X, C)
    stats, _, _ = eng.assign(C, labels, update=False)
    assert stats[K.STAT_CHANGED] == 0
    labels[:10] = (labels[:10] + 1) % 4
    stats, _, _ = eng.assign(C, labels, update=False)
    assert stats[K.STAT_CHANGED] == 10


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gemm", [False, "rows", "cols"])
@pytest.mark.parametrize("d", [7, 9])
def test_exact_ties_take_the_lowest_index_on_every_path(rng, dtype, gemm, d):
    """Integer grid data with duplicated centres: many exact ties, which
    every strategy must break like the exact float64 argmin (lowest index);
    "cols" with d = 7 is the fused scan, with d = 9 the BLAS product."""
    X = rng.integers(0, 4, size=(3000, d)).astype(dtype)
    C = np.concatenate([X[:150], X[:150]])  # k = 300, every centre twice
    C[::7] += 0.5
    labels, d2, *_ = _pass(X, C, gemm=gemm)
    rl, rd2, _ = naive.assign(X, C)
    np.testing.assert_array_equal(labels, rl)
    np.testing.assert_allclose(d2, rd2, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gemm,d,k", [("rows", 130, 132), ("cols", 24, 300)])
def test_near_ties_are_settled_among_the_centres_within_the_bound(rng, dtype, gemm, d, k):
    """Centres in triples 1e-3 apart (1e-11 in float64), data offset from
    the origin: 5-56 % of the rows have two expanded-form values within the
    rounding bound, and ``exact_argmin_among`` settles them from those
    centres alone. Labels and distances are the exact float64 argmin's, and
    a Hamerly fit (whose BLAS scans settle the same way) gives Lloyd's
    labels and iteration count."""
    X = (rng.normal(size=(3000, d)) + 4.0).astype(dtype)
    base = X[rng.choice(3000, k // 3, replace=False)].astype(np.float64)
    delta = 1e-3 if dtype == np.float32 else 1e-11
    C = np.concatenate([base, base + delta, base - delta])
    C = C[rng.permutation(k)].astype(dtype)
    assert _solver.ArraySource(X, None, k).gemm == gemm
    # the rows with a near tie in the kernel's sense: the path under test runs
    Xs = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    Cs = C.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    cc = (Cs ** 2).sum(axis=1)
    V = np.sort(cc[None, :] - 2.0 * Xs @ Cs.T, axis=1)
    bound = 8.0 * (d + 2) * np.finfo(dtype).eps * np.maximum(cc.max(), (Xs ** 2).sum(axis=1))
    assert np.mean(V[:, 1] - V[:, 0] <= bound) > 0.03
    labels, d2, *_ = _pass(X, C, gemm=gemm)
    rl, rd2, _ = naive.assign(X, C)
    np.testing.assert_array_equal(labels, rl)
    np.testing.assert_allclose(d2, rd2, rtol=1e-12)
    ref = kmeanskit.fit(X, k, init=C, algorithm="lloyd", max_iter=30)
    got = kmeanskit.fit(X, k, init=C, algorithm="hamerly", max_iter=30)
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert got.n_iter == ref.n_iter > 2


def test_rows_pass_with_nan_values_labels_within_range(rng):
    """NaN values (never reach a fit: validation refuses them) leave the rows
    x centres pass's labels in range: a NaN centre is never the nearest, and
    a row of NaN, with no value at or below its minimum, goes to
    ``exact_argmin`` (centre 0), not to an index past the last centre."""
    X = rng.normal(size=(3000, 130)).astype(np.float32)
    C = X[:6].copy()
    C[2] = np.nan
    X[7] = np.nan
    assert _solver.ArraySource(X, None, 6).gemm == "rows"
    labels, *_ = _pass(X, C, gemm="rows", update=False)
    D = naive.sq_distances(X, np.delete(C, 2, axis=0))
    expect = D.argmin(axis=1)
    expect = expect + (expect >= 2)
    expect[7] = 0
    np.testing.assert_array_equal(labels, expect)


@settings(max_examples=40, deadline=None)
@given(X=arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 4)),
                elements=st.floats(-1e3, 1e3)),
       k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_pass_property_nearest(X, k, seed):
    """Every row's label is a nearest centre and its distance is exact."""
    C = np.random.default_rng(seed).uniform(-1e3, 1e3, size=(k, X.shape[1]))
    labels, d2, *_ = _pass(X, C)
    D = naive.sq_distances(X, C)
    assert np.all(D[np.arange(len(X)), labels] <= D.min(axis=1) * (1 + 1e-12) + 1e-9)
    np.testing.assert_allclose(d2, D[np.arange(len(X)), labels], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_matches_naive_lloyd(rng, dtype):
    X, _, _ = blobs(rng, n=800, d=4, k=5, spread=2.0, dtype=dtype)
    C0 = X[:5].copy()
    r = kmeanskit.fit(X, 5, init=C0, tol=0.0)
    C, labels, inertia, n_iter = naive.lloyd(X, C0, tol=0.0)
    np.testing.assert_array_equal(r.labels, labels)
    np.testing.assert_allclose(r.centers, C, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert r.inertia == pytest.approx(inertia, rel=1e-6 if dtype == np.float32 else 1e-12)
    assert r.n_iter == n_iter
    assert r.converged
    assert r.centers.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2000, 2, 8), (1500, 24, 20), (3000, 3, 8)])
def test_fit_matches_sklearn_same_init(rng, dtype, shape):
    from sklearn.cluster import KMeans

    n, d, k = shape
    X, _, _ = blobs(rng, n=n, d=d, k=k, spread=3.0, dtype=dtype)
    C0 = X[rng.choice(n, k, replace=False)].copy()
    sk = KMeans(k, init=C0, n_init=1, algorithm="lloyd", tol=1e-4).fit(X)
    r = kmeanskit.fit(X, k, init=C0, tol=1e-4)
    assert (r.labels == sk.labels_).mean() >= 0.999
    np.testing.assert_allclose(r.centers, sk.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert r.inertia == pytest.approx(sk.inertia_, rel=1e-4)
    assert r.n_iter == sk.n_iter_


def test_weights_equal_repeated_rows(rng):
    X, _, _ = blobs(rng, n=300, d=2, k=3)
    reps = rng.integers(1, 4, size=300)
    C0 = X[:3].copy()
    a = kmeanskit.fit(X, 3, init=C0, sample_weight=reps, tol=0)
    b = kmeanskit.fit(np.repeat(X, reps, axis=0), 3, init=C0, tol=0)
    np.testing.assert_allclose(a.centers, b.centers, rtol=1e-12)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-12)
    np.testing.assert_array_equal(np.repeat(a.labels, reps), b.labels)


def test_toy_hand_computed():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])
    r = kmeanskit.fit(X, 2, init=np.array([[0.0, 0.0], [10.0, 0.0]]))
    np.testing.assert_array_equal(r.centers, [[0.0, 1.0], [10.0, 2.0]])
    np.testing.assert_array_equal(r.labels, [0, 0, 1, 1, 1])
    assert r.inertia == 1 + 1 + 4 + 0 + 4


def test_empty_cluster_relocated_to_farthest_point():
    # centre 2 starts far away and gets no point: it must move to the point
    # farthest from its centre, (10, 0) (distance 5 from the mean of cluster 1).
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [0.0, 10.0]])
    C0 = np.array([[0.0, 0.5], [3.0, 3.0], [100.0, 100.0]])
    r = kmeanskit.fit(X, 3, init=C0, tol=0)
    assert sorted(map(tuple, r.centers.tolist())) == [(0.0, 0.5), (0.0, 10.0), (10.0, 0.0)]
    assert r.inertia == 0.5


def test_fewer_distinct_points_is_an_error():
    X = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0]] * 5)
    with pytest.raises(ValueError, match="only 2 distinct points"):
        kmeanskit.fit(X, 3, random_state=0)
    with pytest.raises(ValueError, match="only 2 distinct points"):
        kmeanskit.fit(X, 3, init="random", random_state=0)
    with pytest.raises(ValueError, match="only 2 distinct"):
        kmeanskit.fit(X, 3, init=np.array([[1.0, 1.0], [2.0, 2.0], [5.0, 5.0]]))


def test_kmeanspp_is_greedy_and_spreads(rng):
    X, lab, centers = blobs(rng, n=2000, d=2, k=6, spread=0.1)
    idx = kmeans_plusplus_indices(X, 6, None, np.random.default_rng(0))
    assert len(set(lab[idx])) == 6  # one seed per well-separated blob
    w = np.zeros(2000)
    w[:50] = 1.0
    idx = kmeans_plusplus_indices(X, 3, w, np.random.default_rng(0))
    assert np.all(idx < 50)  # zero-weight rows are never chosen


@pytest.mark.parametrize("keep_transposed", [True, False])
@pytest.mark.parametrize("d,k", [(3, 7), (9, 12)])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeanspp_matches_reference(rng, monkeypatch, keep_transposed, d, k, weighted):
    """Greedy k-means++ picks the rows the written-out reference picks from
    the same random numbers (D^2 sampling, lowest potential among the
    candidates), whether it keeps a transposed copy of the data or
    transposes chunk by chunk (``SEED_TRANSPOSED_MAX_BYTES``); n spans
    several chunks and blocks."""
    from kmeanskit import _init

    if not keep_transposed:
        monkeypatch.setattr(_init, "SEED_TRANSPOSED_MAX_BYTES", 0)
    X = rng.normal(size=(1500, d))
    w = rng.uniform(0.5, 2.0, size=1500) if weighted else None
    got = kmeans_plusplus_indices(X, k, w, np.random.default_rng(5), n_trials=5)
    ref = naive.kmeanspp_metric(X, k, np.random.default_rng(5), "sqeuclidean", 5, w)
    assert got.tolist() == ref


def test_seeded_fit_is_reproducible_and_as_good_as_sklearn(rng):
    from sklearn.cluster import KMeans

    X, _, _ = blobs(rng, n=3000, d=5, k=8, spread=4.0)
    a = kmeanskit.fit(X, 8, random_state=7)
    b = kmeanskit.fit(X, 8, random_state=7)
    np.testing.assert_array_equal(a.centers, b.centers)
    ours = np.mean([kmeanskit.fit(X, 8, random_state=s).inertia for s in range(8)])
    theirs = np.mean([KMeans(8, random_state=s).fit(X).inertia_ for s in range(8)])
    assert ours <= theirs * 1.01


_SCRIPT = """
import hashlib, numpy as np, kmeanskit
rng = np.random.default_rng(3)
X = rng.normal(size=(40000, {d})).astype(np.float32)
r = kmeanskit.fit(X, {k}, random_state=11, n_init=2)
h = hashlib.sha256(r.centers.tobytes() + r.labels.tobytes() + np.float64(r.inertia).tobytes())
print(h.hexdigest(), r.n_iter)
"""


@pytest.mark.parametrize("d,k", [(3, 8), (32, 20)])
def test_bit_identical_for_1_and_2_threads(d, k):
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        p = subprocess.run([sys.executable, "-c", _SCRIPT.format(d=d, k=k)], env=env,
                           capture_output=True, text=True, check=True)
        out.append(p.stdout.strip())
    assert out[0] == out[1]


def test_n_threads_argument_gives_identical_results(rng):
    X = rng.normal(size=(20000, 3)).astype(np.float32)
    a = kmeanskit.fit(X, 6, random_state=1, n_threads=1)
    b = kmeanskit.fit(X, 6, random_state=1, n_threads=2)
    assert a.centers.tobytes() == b.centers.tobytes()
    assert a.inertia == b.inertia
    np.testing.assert_array_equal(a.labels, b.labels)


def test_float32_inertia_is_float64_exact(rng):
    X = (rng.random((100000, 3)) * 255).astype(np.float32)
    r = kmeanskit.fit(X, 8, random_state=0)
    _, _, ref = naive.assign(X[:, :], r.centers.astype(np.float64))
    assert r.inertia == pytest.approx(ref, rel=1e-12)


def test_assign_and_predict(rng):
    X = rng.normal(size=(300, 3))
    C = rng.normal(size=(5, 3))
    labels, d2, inertia = kmeanskit.assign(X, C)
    rl, rd2, rin = naive.assign(X, C)
    np.testing.assert_array_equal(labels, rl)
    np.testing.assert_allclose(d2, rd2, rtol=1e-12)
    assert inertia == pytest.approx(rin)
    r = kmeanskit.fit(X, 5, random_state=0)
    np.testing.assert_array_equal(r.predict(X), r.labels)


def test_label_dtype_is_the_smallest_signed_type_that_holds_k():
    got = [_solver.label_dtype(k) for k in (1, 2, 128, 129, 32768, 32769, 10 ** 6)]
    assert got == [np.int8] * 3 + [np.int16] * 2 + [np.int32] * 2


@pytest.mark.parametrize("algo", list(_solver.ALGORITHMS))
@pytest.mark.parametrize("n,d,k", [(1000, 3, 128), (700, 130, 128), (1500, 8, 129),
                                   (3000, 16, 300)])
def test_compact_labels_match_the_reference_at_the_type_limit(rng, algo, n, d, k):
    # k = 128: labels up to 127 in int8 on the direct and BLAS passes; 129 and
    # 300 (the centres x rows pass) in int16
    X = rng.normal(size=(n, d))
    r = kmeanskit.fit(X, k, init=X[:k].copy(), algorithm=algo, max_iter=4, compact_labels=True)
    assert r.labels.dtype == _solver.label_dtype(k)
    np.testing.assert_array_equal(r.labels, naive.assign(X, r.centers)[0])
    from kmeanskit.core import assign_arrays

    labels, d2, _ = assign_arrays(X, X[:k], dtype=None)  # the compact labels of the assignment pass
    assert labels.dtype == _solver.label_dtype(k)
    np.testing.assert_array_equal(labels[:k], np.arange(k))
    np.testing.assert_array_equal(labels, naive.assign(X, X[:k])[0])


def test_label_dtype_of_each_api(rng):
    from kmeanskit import KMeans, vq

    X = rng.normal(size=(600, 2))
    # int32 everywhere by default, as scikit-learn and scipy (#19); compact on request
    for metric in ("euclidean", "manhattan", "cosine", "chebyshev"):
        r = kmeanskit.fit(X, 3, random_state=0, metric=metric)
        assert r.labels.dtype == np.int32 and r.predict(X).dtype == np.int32
        assert kmeanskit.assign(X, r.centers, metric=metric)[0].dtype == np.int32
        assert kmeanskit.fit(X, 3, random_state=0, metric=metric, compact_labels=True).labels.dtype == np.int8
    r = kmeanskit.fit(X, 200, random_state=0, compact_labels=True)
    assert r.labels.dtype == np.int16
    # scikit-learn's and scipy's dtype where their APIs are copied
    km = KMeans(3, random_state=0).fit(X)
    assert km.labels_.dtype == np.int32 and km.predict(X).dtype == np.int32
    assert KMeans(3, random_state=0, metric="manhattan").fit(X).labels_.dtype == np.int32
    assert vq.vq(X, X[:3])[0].dtype == np.int32
    assert vq.kmeans2(X, 3, seed=0)[1].dtype == np.int32


def test_freed_memory_is_given_back_once_after_a_sampled_seeding(rng, monkeypatch):
    from kmeanskit import _init, vq

    calls = []
    monkeypatch.setattr(_solver, "release_freed_memory", lambda: calls.append(1))
    X = rng.normal(size=(50_000, 2)).astype(np.float32)
    kmeanskit.fit(X, 3, random_state=0, n_init=3)  # > two sample sizes: seeds samples
    assert calls == [1]  # once, before the first run's labels
    kmeanskit.fit(X[:30_000], 3, random_state=0)  # seeds on all rows: nothing to give back
    kmeanskit.fit(X, 3, init="random", random_state=0)
    vq.kmeans(X, 3, seed=0)  # seeds samples, returns no labels
    assert calls == [1]
    kmeanskit.fit(X[:30_000], 3, init="k-means++sample", random_state=0)
    assert calls == [1, 1]
    assert _init.seeds_on_sample("auto", 40_001, 3) and not _init.seeds_on_sample("auto", 40_000, 3)
    assert not _init.seeds_on_sample(X[:3], 50_000, 3)
    monkeypatch.undo()
    _init.release_freed_memory()
    if sys.platform.startswith("linux") and not os.path.exists("/etc/alpine-release"):
        assert callable(_init._malloc_trim)  # glibc


def test_seed_refinement_on_a_sample_is_its_weighted_lloyd_iterations(rng):
    """A sampled seeding's refinement (``refine_on_sample``) gives the
    centres of ``SAMPLE_REFINE_ITERS`` weighted Lloyd iterations (the NumPy
    reference), the same bits as ``refine_run``, whose final pass only
    labels the rows again."""
    X, _, _ = blobs(rng, n=3000, d=3, k=6, spread=4.0)
    w = rng.integers(1, 5, size=len(X)).astype(np.float64)
    C0 = X[rng.choice(len(X), 6, replace=False)].copy()
    C = _solver.refine_on_sample(X, w, C0)
    np.testing.assert_array_equal(C, _solver.refine_run(X, w, C0).centers)
    ref, _, _, _ = naive.lloyd(X, C0, max_iter=_solver.SAMPLE_REFINE_ITERS, w=w)
    np.testing.assert_allclose(C, ref, rtol=1e-10, atol=1e-10)
    assert not np.allclose(C, C0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_check_without_a_flag_array(dtype):
    """``all_finite`` finds one NaN or infinity anywhere in a large array,
    and accepts finite values whose sum overflows (values near the dtype's
    maximum: the sum is taken in the array's dtype), which its fast path
    cannot decide alone."""
    from kmeanskit._validation import all_finite

    X = np.ones((200_003, 3), dtype)
    assert all_finite(X)
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[-1, 2] = bad
        assert not all_finite(Y)
        assert not all_finite(Y[:, 2])
    big = np.full((70_000, 2), np.finfo(dtype).max / 2, dtype)
    assert all_finite(big)
    big[69_999, 0] = np.nan
    assert not all_finite(big)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_w", [False, True])
def test_column_means_are_the_first_pass_of_column_mean_var(rng, dtype, use_w):
    """``column_means`` (the BLAS passes' centring) gives ``column_mean_var``'s
    means bit for bit (the same blocks, reduced in order), the weighted means
    of the NumPy reference and the total weight."""
    X = (rng.normal(size=(5003, 7)) * 3 + 100).astype(dtype)
    w = rng.uniform(0.5, 2.0, size=5003).astype(dtype) if use_w else np.ones(1, dtype)
    mean, wtot = K.column_means(X, w, use_w, 7)
    mean2, var = K.column_mean_var(X, w, use_w, 7)
    np.testing.assert_array_equal(mean, mean2)
    ww = w.astype(np.float64) if use_w else np.ones(5003)
    ref = (X.astype(np.float64) * ww[:, None]).sum(axis=0) / ww.sum()
    np.testing.assert_allclose(mean, ref, rtol=1e-13)
    np.testing.assert_allclose(var, (ww[:, None] * (X - ref) ** 2).sum(axis=0) / ww.sum(), rtol=1e-10)
    assert wtot == pytest.approx(ww.sum(), rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,n_blocks", [(5003, 3, 64), (5003, 7, 7), (1000, 16, 9), (70, 5, 64),
                                          (10, 3, 10), (3, 4, 3)])
def test_interleaved_column_sums_add_each_block_in_row_order(rng, dtype, n, d, n_blocks):
    """The column sums of unweighted rows of 3 or more features walk four
    blocks together (``lloyd._interleaved_sums``; at 3 features the rows all
    four have with the sums in registers, ``lloyd._sums_three``); each
    block's sum still gets its rows in order, the NumPy cumulative sum's
    order, bit for bit (blocks of unequal length, block counts not a
    multiple of four, more blocks than rows). The squared deviations agree
    to rounding (LLVM may fuse their multiply-add), and neither depends on
    the thread count."""
    X = (rng.normal(size=(n, d)) * 3 + 100).astype(dtype)
    per = -(-n // n_blocks)

    def by_blocks(values):
        tot = np.zeros(d)
        for b in range(n_blocks):
            block = values[min(n, b * per):min(n, (b + 1) * per)]
            tot = tot + (np.cumsum(block, axis=0)[-1] if len(block) else 0.0)
        return tot

    sums = K._interleaved_column_sums(X, n_blocks, np.zeros(d), False)
    np.testing.assert_array_equal(sums, by_blocks(X.astype(np.float64)))
    mean = sums / n
    m2 = K._interleaved_column_sums(X, n_blocks, mean, True)
    np.testing.assert_allclose(m2, by_blocks((X.astype(np.float64) - mean) ** 2), rtol=1e-13)
    got = K.column_mean_var(X, np.ones(1, dtype), False, n_blocks)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = K.column_mean_var(X, np.ones(1, dtype), False, n_blocks)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(got[0], one[0])
    np.testing.assert_array_equal(got[1], one[1])
    np.testing.assert_allclose(got[1], m2 / n, rtol=1e-15)


@pytest.mark.parametrize("bad,match", [
    (np.array([["a", "b"], ["c", "d"]]), "not numeric"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "contains infinity"),
    (np.empty((0, 3)), "empty"),
    (np.zeros((2, 2, 2)), "3 dimensions"),
    (np.zeros(5), "1-D"),
])
def test_bad_data(bad, match):
    with pytest.raises(ValueError, match=match):
        kmeanskit.fit(bad, 1)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_clusters=0), "n_clusters must be >= 1"),
    (dict(n_clusters=2.5), "whole number"),
    (dict(n_clusters=11), "larger than the number of samples"),
    (dict(n_clusters=2, max_iter=0), "max_iter must be"),
    (dict(n_clusters=2, tol=-1), "tol must be"),
    (dict(n_clusters=2, init="kmeans"), "init must be"),
    (dict(n_clusters=2, algorithm="fast"), "algorithm must be"),
    (dict(n_clusters=2, init=np.zeros((3, 2))), r"init has shape \(3, 2\)"),
    (dict(n_clusters=2, sample_weight=-np.ones(10)), "negative"),
    (dict(n_clusters=2, sample_weight=np.ones(3)), "one weight per row"),
    (dict(n_clusters=2, random_state="x"), "random_state must be"),
])
def test_bad_parameters(rng, kwargs, match):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match=match):
        kmeanskit.fit(X, **kwargs)


def test_input_never_modified(rng):
    X = rng.normal(size=(500, 3)).astype(np.float32)
    X0 = X.copy()
    C0 = X[:4].copy()
    C00 = C0.copy()
    kmeanskit.fit(X, 4, init=C0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(C0, C00)


def test_verbose_prints_inertia(rng, capsys):
    X = rng.normal(size=(200, 2))
    kmeanskit.fit(X, 3, random_state=0, verbose=1)
    out = capsys.readouterr().out
    assert "Iteration 0, inertia" in out and "Converged" in out


@pytest.mark.parametrize("preset,expected", [(None, "1000"), ("5", "5")])
def test_first_fit_sets_a_short_openmp_spin_unless_the_user_did(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if preset is not None:
        env["GOMP_SPINCOUNT"] = preset
    code = ("import os, kmeanskit; before = os.environ.get('GOMP_SPINCOUNT'); "
            "kmeanskit.fit([[0.0], [1.0]], 1); print(before, os.environ['GOMP_SPINCOUNT'])")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    assert p.stdout.split() == [str(preset), expected]  # import alone changes nothing


# --- the one loop ------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40), st.integers(1, 45))
def test_farthest_rows_are_the_largest_scores_ties_by_lower_index(scores, m):
    score = np.array(scores, dtype=np.float64)
    expected = sorted(range(score.size), key=lambda i: (-score[i], i))[:m]
    assert _solver.farthest_rows(score, m).tolist() == expected


def test_every_entry_point_runs_the_one_loop(rng, monkeypatch):
    """fit (every algorithm and metric), the estimator, the scipy functions
    and the CIEDE2000 palette all iterate in ``_solver.solve``."""
    calls = []
    solve = _solver.solve

    def counting(step, *args, **kw):
        calls.append(type(step).__name__)
        return solve(step, *args, **kw)

    monkeypatch.setattr(_solver, "solve", counting)
    X = rng.normal(size=(300, 2)) + 5.0
    for algo in _solver.ALGORITHMS:
        kmeanskit.fit(X, 3, algorithm=algo, random_state=0)
    for metric in ("manhattan", "cosine", "chebyshev"):
        kmeanskit.fit(X[:60], 3, metric=metric, random_state=0)
    kmeanskit.KMeans(3, n_init=2, random_state=0).fit(X)
    kmeanskit.vq.kmeans(X, 3, iter=2, rng=0)  # d <= 4: Hamerly's distortion step, both restarts
    kmeanskit.vq.kmeans(np.hstack([X, X, X]), 3, iter=1, rng=0)  # d = 6: Lloyd's pass
    kmeanskit.vq.kmeans2(X, 3, minit="points", rng=0)
    from kmeanskit import _ciede

    _ciede.refine(np.array([[50.0, 0, 0], [52.0, 1, 1], [80.0, 5, 5]]), np.ones(3),
                  np.array([[50.0, 0, 0], [80.0, 5, 5]]))
    assert calls == ["LloydStep", "HamerlyStep", "ElkanStep", "ExponionStep", "YinyangStep",
                     "MetricStep", "MetricStep", "MetricStep", "LloydStep", "LloydStep",
                     "DistortionHamerlyStep", "LloydStep", "LloydStep",
                     "CiedeStep"]


def test_a_new_algorithm_is_one_registry_entry(rng, monkeypatch):
    """A step class added to ``ALGORITHMS`` is accepted by ``fit`` and runs in
    the one loop: here Lloyd's step counting its passes."""
    passes = []

    class CountingLloyd(_solver.LloydStep):
        def assign(self, C, want_objective):
            passes.append(1)
            return super().assign(C, want_objective)

    monkeypatch.setitem(_solver.ALGORITHMS, "counting", CountingLloyd)
    X = rng.normal(size=(500, 3))
    C0 = X[:4].copy()
    got = kmeanskit.fit(X, 4, init=C0, algorithm="counting")
    ref = kmeanskit.fit(X, 4, init=C0, algorithm="lloyd")
    assert len(passes) == got.n_iter
    np.testing.assert_array_equal(got.centers, ref.centers)
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert got.inertia == ref.inertia
    with pytest.raises(ValueError, match="'counting'"):
        monkeypatch.delitem(_solver.ALGORITHMS, "counting")
        kmeanskit.fit(X, 4, algorithm="counting")


def test_rules_of_the_loop(rng):
    """scipy's rule drops an empty cluster; kmeans2's keeps it and reports it;
    scikit-learn's relocates it to the farthest row."""
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    C0 = np.array([[0.0], [0.0], [10.0]])  # a duplicated centre: cluster 1 gets no row
    step = _solver.LloydStep(_solver.ArraySource(X, None, 3), labels_dtype=np.int32,
                             want_sqrt=True)
    run = _solver.solve(step, C0, _solver.Distortion(1e-9, 4.0), 100)
    assert run.centers.tolist() == [[0.05], [10.05]] and run.inertia == pytest.approx(0.05)
    missing = []
    run = _solver.solve(_solver.LloydStep(_solver.ArraySource(X, None, 3)), C0,
                        _solver.FixedIterations(lambda: missing.append(1)), 3)
    # iteration 1: cluster 1 empty (reported), keeps its centre 0.0; from then on
    # row 0.0 is nearest to it: [0.1], [0.0], [10.05], no cluster empty
    assert run.centers.tolist() == [[0.1], [0.0], [10.05]] and len(missing) == 1
    assert run.labels.tolist() == [1, 0, 2, 2]
    run = _solver.solve(_solver.LloydStep(_solver.ArraySource(X, None, 3)), C0,
                        _solver.Tolerance(0.0), 100)
    # cluster 1 moves onto the farthest row: 0.1 and 10.1 tie at 0.01, the lower index wins
    assert run.centers.ravel().tolist() == [0.0, 0.1, 10.05]
    assert run.inertia == pytest.approx(0.005)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_centre_is_the_weighted_mean(dtype, weighted):
    """k = 1 through the direct pass (which counts no near ties with one
    centre): every label 0, the centre the weighted mean and the inertia the
    weighted sum of squares, against the NumPy reference."""
    rng = np.random.default_rng(11)
    X = (rng.normal(size=(20_000, 3)) * [1.0, 5.0, 0.1] + 40.0).astype(dtype)
    w = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    r = kmeanskit.fit(X, 1, sample_weight=w, random_state=0)
    assert r.labels.shape == (X.shape[0],) and not r.labels.any()
    C = naive.update(X, np.zeros(X.shape[0], np.int64), 1, w)
    np.testing.assert_allclose(r.centers, C, rtol=1e-6 if dtype == np.float32 else 1e-12)
    _, _, inertia = naive.assign(X, r.centers, w)
    np.testing.assert_allclose(r.inertia, inertia, rtol=1e-9)
