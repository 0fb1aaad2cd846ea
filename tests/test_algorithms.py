"""Accelerated algorithms give Lloyd's result from the same start."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmeanskit
from kmeanskit._solver import ALGORITHMS

ACCEL = [a for a in ALGORITHMS if a != "lloyd"]


def _data(rng, n, d, k, dtype, dup=False):
    c = rng.normal(scale=4.0, size=(k, d))
    X = c[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    if dup:
        X[n // 2:] = X[: n - n // 2]  # every row twice
    return X.astype(dtype)


def _same(a, b, dtype):
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.centers, b.centers, rtol=1e-5 if dtype == np.float32 else 1e-10,
                               atol=1e-5 if dtype == np.float32 else 1e-10)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9)
    assert a.n_iter == b.n_iter
    assert a.converged == b.converged


@pytest.mark.parametrize("algo", ACCEL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k,dup,weighted", [
    (500, 1, 1, False, False),
    (2000, 1, 7, False, True),
    (3000, 2, 30, True, False),
    (2500, 3, 8, False, True),
    (1500, 16, 64, False, False),
    (600, 256, 10, False, True),
    (4000, 8, 1000, False, False),
    (1200, 128, 130, False, True),
    # rows 256 or 512 bytes apart, transposed row by row (_config.TRANSPOSE_BY_ROWS)
    (1500, 64, 20, False, True),
    (1500, 32, 12, False, False),
])
def test_same_result_as_lloyd(rng, algo, dtype, n, d, k, dup, weighted):
    X = _data(rng, n, d, min(k, 50), dtype, dup)
    C0 = X[rng.choice(n, k, replace=False)].copy()
    if dup:
        C0 = X[rng.choice(n // 2, k, replace=False)].copy()
    w = rng.uniform(0.5, 3.0, size=n) if weighted else None
    ref = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="lloyd", max_iter=60)
    got = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm=algo, max_iter=60)
    _same(got, ref, dtype)


@pytest.mark.parametrize("algo", ACCEL)
def test_same_result_with_empty_cluster_relocation(algo):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [0.0, 10.0], [0.5, 0.5]])
    C0 = np.array([[0.0, 0.5], [3.0, 3.0], [100.0, 100.0]])
    _same(kmeanskit.fit(X, 3, init=C0, algorithm=algo), kmeanskit.fit(X, 3, init=C0), np.float64)


@pytest.mark.parametrize("algo", ACCEL)
def test_tie_on_the_midpoint_goes_to_the_lower_index(algo):
    """Found by the property below (seed 118, n 22, d 1, k 2): at iteration 4
    a row lies exactly halfway between the centres; the rounded half
    distance came out just above its distance, the skip test kept the
    higher index and the run stopped one iteration early with other centres."""
    rng = np.random.default_rng(118)
    X = np.round(rng.normal(size=(22, 1)), 1)
    C0 = np.unique(X, axis=0)[rng.choice(len(np.unique(X, axis=0)), 2, replace=False)]
    ref = kmeanskit.fit(X, 2, init=C0, algorithm="lloyd")
    assert ref.n_iter == 6
    np.testing.assert_allclose(ref.centers.ravel(), [3.8 / 7, -1.1])
    _same(kmeanskit.fit(X, 2, init=C0, algorithm=algo), ref, np.float64)


def _rounded_without_midplanes(rng, n, d):
    """Rounded data (many duplicated rows) moved by a fixed function of each
    value, so that duplicates stay duplicates but no row lies exactly on the
    midplane of two centres: the bound algorithms keep the centre sums
    incrementally, a centre can differ from Lloyd's by an ulp, and a row on
    a midplane could then go the other way (docs/engine.md)."""
    X = np.round(rng.normal(size=(n, d)), 1)
    return X + 1e-4 * np.sin(1000.0 * X + 0.5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), d=st.integers(1, 5),
       k=st.integers(1, 5), algo=st.sampled_from(ACCEL))
def test_property_same_as_lloyd(seed, n, d, k, algo):
    rng = np.random.default_rng(seed)
    X = _rounded_without_midplanes(rng, n, d)
    if len(np.unique(X, axis=0)) < k:
        return
    C0 = np.unique(X, axis=0)[rng.choice(len(np.unique(X, axis=0)), k, replace=False)]
    ref = kmeanskit.fit(X, k, init=C0, algorithm="lloyd")
    got = kmeanskit.fit(X, k, init=C0, algorithm=algo)
    _same(got, ref, np.float64)


@pytest.mark.parametrize("algo", ["auto"] + ACCEL)
@pytest.mark.parametrize("n,k", [(20000, 10), (40000, 20)])
def test_seeded_fit_reproducible_across_threads(rng, algo, n, k):
    X = _data(rng, n, 4, k, np.float32)
    a = kmeanskit.fit(X, k, random_state=3, algorithm=algo, n_threads=1)
    b = kmeanskit.fit(X, k, random_state=3, algorithm=algo, n_threads=2)
    assert a.centers.tobytes() == b.centers.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.inertia == b.inertia


def test_auto_rule():
    """"auto" is Hamerly from 30,000 rows and 16 clusters, or 5 clusters on
    64 to 127 features (measured crossovers: _solver.resolve_algorithm),
    Lloyd below."""
    from kmeanskit._solver import resolve_algorithm

    assert resolve_algorithm("auto", 30_000, 16, 16, np.float64) == "hamerly"
    assert resolve_algorithm("auto", 2_000_000, 3, 100, np.float32) == "hamerly"
    assert resolve_algorithm("auto", 29_999, 16, 32, np.float64) == "lloyd"
    assert resolve_algorithm("auto", 2_000_000, 3, 15, np.float32) == "lloyd"
    assert resolve_algorithm("elkan", 100, 3, 2, np.float32) == "elkan"
    # 64 to 127 features: Hamerly from 5 clusters
    assert resolve_algorithm("auto", 30_000, 64, 5, np.float32) == "hamerly"
    assert resolve_algorithm("auto", 2_000_000, 127, 5, np.float64) == "hamerly"
    assert resolve_algorithm("auto", 2_000_000, 64, 4, np.float32) == "lloyd"
    assert resolve_algorithm("auto", 2_000_000, 63, 15, np.float32) == "lloyd"
    assert resolve_algorithm("auto", 2_000_000, 128, 15, np.float32) == "lloyd"
    assert resolve_algorithm("auto", 29_999, 96, 8, np.float32) == "lloyd"


@pytest.mark.parametrize("algo,weighted", [("hamerly", False), ("hamerly", True),
                                           ("yinyang", True)])
def test_same_as_lloyd_over_many_scan_groups(rng, algo, weighted):
    """Hamerly and Yinyang gather the rows failing their bounds over
    SCAN_GROUP chunks and scan them CHUNK_ROWS at a time: data big enough
    for several groups per block, with a partial last chunk, still gives
    Lloyd's result."""
    from kmeanskit._config import CHUNK_ROWS, MAX_BLOCKS, SCAN_GROUP

    n = MAX_BLOCKS * CHUNK_ROWS * (2 * SCAN_GROUP + 3) + 77
    X = _data(rng, n, 3, 24, np.float32)
    C0 = X[rng.choice(n, 16, replace=False)].copy()
    w = rng.uniform(0.5, 3.0, size=n) if weighted else None
    ref = kmeanskit.fit(X, 16, init=C0, sample_weight=w, algorithm="lloyd", max_iter=40)
    got = kmeanskit.fit(X, 16, init=C0, sample_weight=w, algorithm=algo, max_iter=40)
    assert ref.n_iter > 3
    _same(got, ref, np.float32)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 400), d=st.integers(1, 4),
       k=st.integers(2, 12), per_group=st.integers(1, 3), weighted=st.booleans())
def test_property_yinyang_groups_same_as_lloyd(seed, n, d, k, per_group, weighted):
    """Yinyang with many small groups (1-3 centres each, so rows change
    group and groups are skipped, tightened and rescanned), on rounded data
    full of duplicates: Lloyd's result."""
    import kmeanskit._solver as S

    rng = np.random.default_rng(seed)
    X = _rounded_without_midplanes(rng, n, d)
    uniq = np.unique(X, axis=0)
    if len(uniq) < k:
        return
    C0 = uniq[rng.choice(len(uniq), k, replace=False)]
    w = rng.integers(1, 4, size=n).astype(float) if weighted else None
    ref = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="lloyd")
    old = S.YINYANG_CENTRES_PER_GROUP
    S.YINYANG_CENTRES_PER_GROUP = per_group
    try:
        got = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="yinyang")
    finally:
        S.YINYANG_CENTRES_PER_GROUP = old
    _same(got, ref, np.float64)


def test_centre_groups():
    """Groups cover every centre once, each in increasing index, none empty;
    well-separated clumps of centres form their own groups."""
    from kmeanskit._solver import centre_groups

    rng = np.random.default_rng(0)
    C = np.concatenate([rng.normal(loc=m, scale=0.1, size=(5, 2)) for m in (0.0, 50.0, 100.0)])
    C = C[rng.permutation(15)]
    gof, gidx, gptr = centre_groups(C, 3)
    assert sorted(gidx.tolist()) == list(range(15))
    assert gptr.tolist() == [0, 5, 10, 15]
    for g in range(3):
        members = gidx[gptr[g]:gptr[g + 1]]
        assert np.all(np.diff(members) > 0) and np.all(gof[members] == g)
        assert np.ptp(np.round(C[members, 0] / 50.0)) == 0  # one clump each
    gof1, gidx1, gptr1 = centre_groups(C, 1)
    assert gptr1.tolist() == [0, 15] and gidx1.tolist() == list(range(15))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d,k,n,blas", [(8, 256, 3000, True), (128, 130, 3000, True), (7, 64, 3000, True),
                                        (2, 40, 4000, False), (3, 64, 4000, False), (8, 32, 4000, False)])
def test_hamerly_scans_same_as_lloyd_on_ties(rng, dtype, d, k, n, blas):
    """Hamerly's scans of the rows failing their bounds take the Lloyd
    pass's strategy: where it uses BLAS, the expanded form (near ties to
    exact_argmin, a rounding-safe lower bound); else its lane scan in the
    data's dtype (``lloyd.scan_lanes``), then exact float64 distances, near
    ties to exact_argmin and a lower bound less the dtype's rounding bound
    (``bounds._exact_bounds``). On half-integer data with duplicated rows
    (many exact ties), weighted: still Lloyd's labels, centres and
    iteration count."""
    X = np.round(rng.normal(size=(n, d)) * 2) / 2
    dup = 3 * n // 8
    X[:dup] = X[dup:2 * dup]
    X = X.astype(dtype)
    uniq = np.unique(X, axis=0)
    C0 = uniq[rng.choice(len(uniq), k, replace=False)]
    w = rng.integers(1, 4, size=n).astype(float)
    assert bool(kmeanskit._solver.ArraySource(X, None, k).gemm) == blas  # the path under test
    ref = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="lloyd", max_iter=100)
    got = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="hamerly", max_iter=100)
    assert ref.n_iter > 2
    _same(got, ref, dtype)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_hamerly_lane_scan_settles_float32_near_ties_exactly(d):
    """The rows are nearer centre 1 by 2^-23 in squared distance, far below
    the float32 rounding of sums near 10^4, so the float32 lane scan sees a
    tie and keeps centre 0: ``bounds._exact_bounds`` must send them to
    ``exact_argmin`` (centre 1), give the exact float64 distance and a lower
    bound at or below the other centre's exact squared distance."""
    from kmeanskit._kernels.bounds import _exact_bounds
    from kmeanskit._kernels.lloyd import scan_lanes

    m = 64
    X = np.zeros((m, d), np.float32)
    X[:, 0] = 0.5 + 2.0 ** -24
    X[:, 1] = np.linspace(60.0, 110.0, m, dtype=np.float32)
    C = np.zeros((2, d), np.float32)
    C[1, 0] = 1.0
    Cd = C.astype(np.float64)
    xt = np.ascontiguousarray(X.T)
    tmp = np.empty((4, m), np.float32)
    bx, sx = np.empty(m, np.float32), np.empty(m, np.float32)
    lab = np.empty(m, np.int32)
    scan_lanes(xt, C, m, tmp, bx, sx, lab)
    assert (lab == 0).all() and (bx == sx).all()  # the float32 scan cannot tell them apart
    best, second = np.empty(m), np.empty(m)
    tie_eps = 4.0 * (d + 2) * float(np.finfo(np.float32).eps)  # ArraySource.tie_eps
    _exact_bounds(X, Cd, np.arange(m, dtype=np.int32), 0, m, tie_eps, bx, sx, best, second, lab)
    exact = ((X.astype(np.float64)[:, None, :] - Cd[None]) ** 2).sum(-1)
    assert (exact[:, 1] < exact[:, 0]).all()
    np.testing.assert_array_equal(lab, 1)
    np.testing.assert_array_equal(best, exact[:, 1])
    assert (second <= exact[:, 0]).all()


@pytest.mark.parametrize("algo", ACCEL)
@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_same_as_lloyd_on_exact_ties(algo, seed):
    """Rounded data full of exact ties (rows on the midplane of two centres):
    every path sends near ties to exact_argmin, and the bound algorithms'
    first and full sums are Lloyd's, so these fixed cases (from 600 checked
    while developing, all equal) give Lloyd's result. Not a property: an ulp
    of difference in incrementally kept sums can send a midplane row the
    other way (hypothesis found one; docs/engine.md)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 600))
    d = int(rng.integers(1, 5))
    k = int(rng.integers(2, 20))
    X = np.round(rng.normal(size=(n, d)), 1)
    if seed % 2:
        X = X.astype(np.float32)
    uniq = np.unique(X, axis=0)
    if len(uniq) < k:
        return
    C0 = uniq[rng.choice(len(uniq), k, replace=False)]
    w = rng.integers(1, 4, size=n).astype(float) if seed % 4 == 1 else None
    ref = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm="lloyd")
    got = kmeanskit.fit(X, k, init=C0, sample_weight=w, algorithm=algo)
    _same(got, ref, X.dtype.type)
