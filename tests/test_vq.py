"""kmeanskit.vq against scipy.cluster.vq on shared inputs."""


import numpy as np
import pytest
import scipy.cluster.vq as svq

import kmeanskit.vq as kvq
import naive
from conftest import blobs


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(500, 3), (400, 40), (300,)])
def test_vq_equals_scipy(rng, dtype, shape):
    X = (rng.normal(size=shape) * 10).astype(dtype)
    k = 7
    C = X[rng.choice(len(X), k, replace=False)].astype(dtype) + (1 if dtype == np.int64 else 0.1)
    code, dist = kvq.vq(X, C)
    scode, sdist = svq.vq(X, C)
    np.testing.assert_array_equal(code, scode)
    assert dist.dtype == sdist.dtype
    assert code.dtype == scode.dtype or code.dtype.kind == scode.dtype.kind
    # ours is the float64-exact distance rounded to the output dtype; scipy's
    # float32 path expands ||x||^2 - 2x.c + ||c||^2 and loses digits near 0
    X2, C2 = (X.reshape(-1, 1), C.reshape(-1, 1)) if X.ndim == 1 else (X, C)
    exact = np.sqrt(naive.sq_distances(X2, C2)[np.arange(len(X2)), code])
    np.testing.assert_allclose(dist, exact, rtol=1e-6 if dist.dtype == np.float32 else 1e-13)
    scale = np.abs(X).max()
    np.testing.assert_allclose(dist, sdist, rtol=1e-5 if dist.dtype == np.float32 else 1e-10,
                               atol=1e-4 * scale if dist.dtype == np.float32 else 0)


def test_vq_mixed_dtypes_follow_scipy(rng):
    X = rng.normal(size=(50, 2)).astype(np.float32)
    C = rng.normal(size=(3, 2))
    assert kvq.vq(X, C)[1].dtype == svq.vq(X, C)[1].dtype == np.float64


@pytest.mark.parametrize("shape", [(200, 4), (50,)])
def test_whiten_equals_scipy(rng, shape):
    X = rng.normal(size=shape) * rng.uniform(0.1, 5, size=shape[1:] or None)
    np.testing.assert_allclose(kvq.whiten(X), svq.whiten(X), rtol=1e-14)


def test_whiten_zero_std_warns_like_scipy():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    with pytest.warns(RuntimeWarning, match="standard deviation zero"):
        ours = kvq.whiten(X)
    with pytest.warns(RuntimeWarning, match="standard deviation zero"):
        theirs = svq.whiten(X)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("iters", [1, 3, 10])
def test_kmeans2_matrix_equals_scipy(rng, dtype, iters):
    X, _, _ = blobs(rng, n=1000, d=3, k=5, spread=3.0, dtype=dtype)
    C0 = X[rng.choice(1000, 5, replace=False)].copy()
    c, lab = kvq.kmeans2(X, C0, iter=iters, minit="matrix")
    sc, slab = svq.kmeans2(X, C0, iter=iters, minit="matrix")
    np.testing.assert_array_equal(lab, slab)
    np.testing.assert_allclose(c, sc, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert c.dtype == sc.dtype


def test_kmeans2_1d_and_empty_cluster_warning(rng):
    X = np.concatenate([rng.normal(0, 1, 100), rng.normal(20, 1, 100)])
    C0 = np.array([0.0, 20.0, 1000.0])
    with pytest.warns(UserWarning, match="One of the clusters is empty"):
        c, lab = kvq.kmeans2(X, C0, iter=2, minit="matrix")
    with pytest.warns(UserWarning, match="One of the clusters is empty"):
        sc, slab = svq.kmeans2(X, C0, iter=2, minit="matrix")
    np.testing.assert_allclose(c, sc)
    np.testing.assert_array_equal(lab, slab)
    assert c[2] == 1000.0  # empty cluster keeps its previous centroid
    with pytest.raises(kvq.ClusterError, match="One of the clusters is empty"):
        kvq.kmeans2(X, C0, iter=2, minit="matrix", missing="raise")


@pytest.mark.parametrize("minit", ["random", "points", "++"])
def test_kmeans2_inits_run_and_are_seeded(rng, minit):
    X, _, _ = blobs(rng, n=500, d=2, k=3)
    c1, l1 = kvq.kmeans2(X, 3, minit=minit, rng=42)
    c2, l2 = kvq.kmeans2(X, 3, minit=minit, rng=42)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(l1, l2)
    assert c1.shape == (3, 2) and l1.shape == (500,)
    # as scipy: rng=42 is default_rng(42), the legacy seed=42 RandomState(42)
    for kw in ({"rng": 42}, {"seed": 42}):
        ours, ol = kvq.kmeans2(X, 3, minit=minit, **kw)
        theirs, tl = svq.kmeans2(X, 3, minit=minit, **kw)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(ol, tl)


def test_kmeans2_random_init_is_scipys_gaussian():
    X = np.random.default_rng(0).normal(size=(300, 3))
    # same rng stream -> the same Gaussian draws as scipy's 'random' init
    ours = kvq._krandinit(X, 4, np.random.default_rng(5))
    from scipy.cluster import vq as sv

    theirs = np.asarray(sv._krandinit(X, 4, np.random.default_rng(5), np))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_kmeans_run_matches_reference(rng):
    X, _, _ = blobs(rng, n=800, d=3, k=4, spread=2.0)
    guess = X[:4].copy()
    book, dist = kvq.kmeans(X, guess)
    rbook, rdist = naive.scipy_kmeans_run(X, guess)
    sbook, sdist = svq.kmeans(X, guess)
    np.testing.assert_allclose(book, rbook, rtol=1e-10)
    np.testing.assert_allclose(book, sbook, rtol=1e-10)
    assert dist == pytest.approx(rdist, rel=1e-12)
    assert dist == pytest.approx(sdist, rel=1e-10)


def test_kmeans_drops_empty_clusters_like_scipy():
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    guess = np.array([[0.0], [10.0], [500.0]])
    book, dist = kvq.kmeans(X, guess)
    sbook, sdist = svq.kmeans(X, guess)
    np.testing.assert_allclose(book, sbook)
    assert book.shape == (2, 1)
    assert dist == pytest.approx(sdist)


def test_kmeans_restarts_distortion_no_worse_than_scipy(rng):
    X, _, _ = blobs(rng, n=2000, d=3, k=6, spread=2.5)
    X = kvq.whiten(X)
    _, ours = kvq.kmeans(X, 6, rng=1)
    _, theirs = svq.kmeans(X, 6, rng=1)
    assert ours <= theirs * (1 + 1e-6)
    b1, d1 = kvq.kmeans(X, 6, rng=np.random.default_rng(3))
    b2, d2 = kvq.kmeans(X, 6, rng=np.random.RandomState(3))
    assert b1.shape == b2.shape == (6, 3)


def test_kmeans_seeds_on_a_sample_at_scale_and_matches_scipys_distortion(monkeypatch):
    """120,000 rows with 46,000 distinct ones: merged into weighted rows, more
    than two sample sizes, so each restart draws scipy's random observations
    from a weighted sample and runs its first iterations there."""
    import kmeanskit._init as init

    calls = []
    real = init._seed_on_sample
    monkeypatch.setattr(init, "_seed_on_sample", lambda *a: calls.append(a[0]) or real(*a))
    X = np.round(np.random.default_rng(5).normal(size=(120_000, 3)) * 9)
    book, ours = kvq.kmeans(X, 5, rng=0)
    _, theirs = svq.kmeans(X, 5, rng=0)
    assert calls == [init.random_points] * 20  # one sample seeding per restart
    assert book.shape == (5, 3)
    assert ours <= theirs * (1 + 1e-3)
    assert ours == pytest.approx(np.sqrt(naive.sq_distances(X, book).min(axis=1)).mean(), rel=1e-5)


def test_kmeans_returns_scipy_types(rng):
    X = rng.normal(size=(100, 2)).astype(np.float32)
    book, dist = kvq.kmeans(X, 3, rng=0)
    sbook, sdist = svq.kmeans(X, 3, rng=0)
    assert book.dtype == sbook.dtype
    assert type(dist) is type(sdist)


def test_tutorial_workflow_on_pixels(rng):
    """The classic tutorial: whiten pixels, elbow over k with kmeans, label
    with vq, un-whiten the centres into colours. Works unchanged."""
    palette = np.array([[230, 30, 30], [30, 200, 40], [20, 40, 220], [240, 240, 240]], float)
    img = palette[rng.integers(0, 4, size=(60, 80))] + rng.normal(0, 4, size=(60, 80, 3))
    pixels = img.reshape(-1, 3)
    std = pixels.std(axis=0)
    white = kvq.whiten(pixels)
    distortions = [kvq.kmeans(white, k, rng=0)[1] for k in range(1, 8)]
    assert all(a >= b - 1e-9 for a, b in zip(distortions, distortions[1:4]))
    assert distortions[3] < 0.2 * distortions[0]  # the bend at k=4
    book, _ = kvq.kmeans(white, 4, rng=0)
    codes, _ = kvq.vq(white, book)
    colours = book * std
    got = sorted(map(tuple, np.round(colours / 10).astype(int).tolist()))
    assert got == sorted(map(tuple, np.round(palette / 10).astype(int).tolist()))
    assert np.bincount(codes).sum() == pixels.shape[0]


# ---- errors and warnings -------------------------------------------------

@pytest.mark.parametrize("func", ["kmeans", "kmeans2", "vq", "whiten"])
def test_nan_raises_valueerror_like_scipy(func):
    X = np.array([[1.0, np.nan], [2.0, 3.0]])
    args = {"kmeans": (X, 1), "kmeans2": (X, 1), "vq": (X, X), "whiten": (X,)}[func]
    with pytest.raises(ValueError):
        getattr(svq, func)(*args)
    with pytest.raises(ValueError, match="infs or NaNs"):
        getattr(kvq, func)(*args)


@pytest.mark.parametrize("func", ["kmeans", "kmeans2", "vq", "whiten"])
def test_non_numeric_raises_typeerror_like_scipy(func):
    X = np.array([["a", "b"], ["c", "d"]])
    args = {"kmeans": (X, 1), "kmeans2": (X, 1), "vq": (X, X), "whiten": (X,)}[func]
    with pytest.raises(TypeError):
        getattr(svq, func)(*args)
    with pytest.raises(TypeError, match="non-numeric"):
        getattr(kvq, func)(*args)


def test_rank_and_empty_errors():
    X3 = np.zeros((2, 2, 2))
    for f, args in [(kvq.kmeans, (X3, 1)), (kvq.kmeans2, (X3, 1)), (kvq.vq, (X3, X3)),
                    (kvq.whiten, (X3,))]:
        with pytest.raises(ValueError):
            f(*args)
    with pytest.raises(ValueError, match="Empty input"):
        kvq.kmeans2(np.empty((0, 2)), 2)
    with pytest.raises(ValueError, match="empty"):
        kvq.kmeans(np.empty((0, 2)), 2)
    with pytest.raises(ValueError, match="same rank"):
        kvq.vq(np.zeros((3, 2)), np.zeros(2))


def test_k_errors():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="Asked for 0 clusters"):
        kvq.kmeans(X, 0)
    with pytest.raises(ValueError, match="must be an integer"):
        kvq.kmeans(X, 2.5)
    with pytest.raises(ValueError, match="iter must be at least 1"):
        kvq.kmeans(X, 2, iter=0)
    with pytest.raises(ValueError, match="Cannot ask kmeans2 for 0 clusters"):
        kvq.kmeans2(X, 0)
    with pytest.raises(ValueError, match="Unknown init method"):
        kvq.kmeans2(X, 2, minit="bogus")
    with pytest.raises(ValueError, match="Unknown missing method"):
        kvq.kmeans2(X, 2, missing="bogus")
    with pytest.raises(ValueError, match="Invalid iter"):
        kvq.kmeans2(X, 2, iter=0)
    with pytest.raises(ValueError, match="doesn't match data dimension"):
        kvq.kmeans2(X, np.zeros((2, 3)), minit="matrix")


def test_more_clusters_than_distinct_points_is_an_error():
    X = np.array([[1.0, 1.0]] * 10 + [[2.0, 2.0]] * 10)
    with pytest.raises(ValueError, match="only 2 distinct points"):
        kvq.kmeans(X, 3, rng=0)
    with pytest.raises(ValueError, match="only 2 distinct points"):
        kvq.kmeans2(X, 3, minit="points", rng=0)


def test_scipy_top_level_reexports():
    import kmeanskit

    assert kmeanskit.kmeans is kvq.kmeans
    # kmeanskit.vq is the module (as scipy.cluster.vq), holding the vq function
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    C = np.array([[0.0, 0.0], [3.0, 0.0]])
    assert not callable(kmeanskit.vq)
    code, dist = kmeanskit.vq.vq(X, C)
    assert code.tolist() == [0, 1] and dist.tolist() == [0.0, 4.0]
    from kmeanskit import vq

    assert vq.kmeans2 is kmeanskit.kmeans2
    assert issubclass(kmeanskit.ClusterError, Exception)


@pytest.mark.parametrize("d", [1, 3, 8, 12])  # bits kept beside the counts up to 8 features
@pytest.mark.parametrize("dtype,view", [(np.float32, np.uint32), (np.float64, np.uint64)])
def test_unique_rows_matches_numpy(rng, d, dtype, view):
    from kmeanskit._kernels.lloyd import unique_rows

    X = rng.integers(0, 3 if d > 3 else 4, size=(5000, d)).astype(dtype)
    if d > 3:
        X[:, 3:] = X[:, :1]  # few distinct rows in many features
    first, counts, nu = unique_rows(X.view(view), 2500)
    U, idx, c = np.unique(X, axis=0, return_index=True, return_counts=True)
    assert nu == len(U)
    # in order of first appearance, each with its count
    order = np.argsort(idx)
    np.testing.assert_array_equal(first[:nu], idx[order])
    np.testing.assert_array_equal(counts[:nu], c[order])
    # gives up beyond the limit
    assert unique_rows(X.view(view), nu - 1)[2] == -1
    assert unique_rows(X.view(view), nu)[2] == nu


def test_kmeans_on_repeated_pixels_equals_full_run(rng):
    """Duplicate rows are merged into weights: the same run as on all rows."""
    X = np.round(rng.normal(size=(6000, 3)) * 3).astype(np.float64)  # many repeats
    guess = np.unique(X, axis=0)[:5].copy()
    book, dist = kvq.kmeans(X, guess)
    rbook, rdist = naive.scipy_kmeans_run(X, guess)
    sbook, sdist = svq.kmeans(X, guess)
    np.testing.assert_allclose(book, rbook, rtol=1e-10)
    np.testing.assert_allclose(book, sbook, rtol=1e-10)
    assert dist == pytest.approx(rdist, rel=1e-12)
    assert dist == pytest.approx(sdist, rel=1e-10)


def test_bounded_run_equals_plain_run_over_many_scan_groups(rng, monkeypatch):
    """Large enough that each block holds several groups of SCAN_GROUP chunks
    (the bounded pass gathers the failing rows of a group into one scan) and
    the last chunk is partial: the same code book and distortion as the plain
    run, weighted and not."""
    from kmeanskit._config import CHUNK_ROWS, MAX_BLOCKS, SCAN_GROUP

    n = MAX_BLOCKS * CHUNK_ROWS * (2 * SCAN_GROUP + 3) + 77
    X = rng.integers(0, 40, size=(n, 3)).astype(np.float32)
    X += rng.normal(scale=0.5, size=X.shape).astype(np.float32)
    w = rng.integers(1, 5, size=n).astype(np.float32)
    guess = X[rng.choice(n, 8, replace=False)].copy()
    for wu in (None, w):
        out = {}
        for bounded in (True, False):
            monkeypatch.setattr(kvq, "BOUNDED_MAX_D", 4 if bounded else 0)
            out[bounded] = kvq._kmeans_runs(X, wu, 8, 1e-6, 1, lambda rng: guess)
        (b1, d1), (b2, d2) = out[True], out[False]
        np.testing.assert_allclose(b1, b2, rtol=1e-6)
        assert d1 == pytest.approx(d2, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d,k", [(1, 3), (2, 20), (3, 8), (4, 17)])
def test_bounded_run_equals_plain_run(rng, monkeypatch, dtype, d, k):
    """Small d runs use Hamerly's bounds (bounds.hamerly_distortion_pass):
    the same iterations, code book and distortion as the plain Lloyd run,
    on data with many exact ties (an integer grid), with and without the
    duplicate-row weights."""
    X = rng.integers(0, 6, size=(3000, d)).astype(dtype)
    X[:1000] += rng.normal(scale=0.3, size=(1000, d)).astype(dtype)
    guess = X[rng.choice(len(X), k, replace=False)].copy()
    guess[0] = guess[1]  # a duplicated centre: one cluster empties, scipy drops it
    out = {}
    for bounded in (True, False):
        monkeypatch.setattr(kvq, "BOUNDED_MAX_D", 4 if bounded else 0)
        for weighted in (False, True):
            Xu, wu = (X, None) if not weighted else (X[:2000], np.ones(2000, dtype) * 2)
            out[bounded, weighted] = kvq._kmeans_runs(np.ascontiguousarray(Xu), wu, k, 1e-7, 1,
                                                      lambda rng: guess)
    for weighted in (False, True):
        (b1, d1), (b2, d2) = out[True, weighted], out[False, weighted]
        assert b1.shape == b2.shape and b1.shape[0] < k
        np.testing.assert_allclose(b1, b2, rtol=1e-6 if dtype == np.float32 else 1e-10)
        assert d1 == pytest.approx(d2, rel=1e-6 if dtype == np.float32 else 1e-12)


def _restart_starts(rng, X, k, n_starts):
    """Random starts for restarts, two of them with a duplicated centre (a
    cluster that empties and is dropped)."""
    starts = [X[rng.choice(len(X), k, replace=False)].copy() for _ in range(n_starts)]
    starts[1][1] = starts[1][0]
    starts[4][3] = starts[4][2]
    return starts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d,k", [(2, 6), (3, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_restarts_run_together_each_as_it_would_alone(rng, monkeypatch, dtype, d, k, weighted):
    """kmeans' restarts run in one step (``DistortionHamerlyStep`` with an R x k
    x d array of centres): every restart ends with the code book and the
    distortion, bit for bit, of its run alone, dropping its own empty clusters
    and stopping at its own iteration; and with the centres of the plain
    Lloyd run (``BOUNDED_MAX_D = 0``, one restart at a time)."""
    from kmeanskit import _solver

    X = rng.integers(0, 7, size=(3000, d)).astype(dtype)
    X[:1500] += rng.normal(scale=0.4, size=(1500, d)).astype(dtype)
    w = rng.integers(1, 4, size=3000).astype(dtype) if weighted else None
    starts = _restart_starts(rng, X, k, 6)
    src = _solver.ArraySource(X, w, k)
    rule = _solver.Distortion(1e-7, src.total_weight, dtype)
    step = _solver.DistortionHamerlyStep(src)
    run = _solver.solve(step, np.stack(starts), rule, 1000)
    assert run.inertia.shape == (6,) and run.inertia.dtype == dtype
    assert step.alive[1].sum() < k and step.alive[4].sum() < k and step.alive[0].all()
    iterations = set()
    monkeypatch.setattr(kvq, "BOUNDED_MAX_D", 0)
    for r, C0 in enumerate(starts):
        solo = _solver.DistortionHamerlyStep(src)
        one = _solver.solve(solo, C0[None], _solver.Distortion(1e-7, src.total_weight, dtype), 1000)
        iterations.add(one.n_iter)
        np.testing.assert_array_equal(step.book(run.centers, r), solo.book(one.centers, 0))
        assert run.inertia[r] == one.inertia[0]
        plain, dist = kvq._kmeans_runs(X, w, k, 1e-7, 1, lambda rng, C0=C0: C0)
        np.testing.assert_allclose(step.book(run.centers, r), plain,
                                   rtol=1e-5 if dtype == np.float32 else 1e-10)
        assert run.inertia[r] == pytest.approx(dist, rel=1e-5 if dtype == np.float32 else 1e-12)
    assert len(iterations) > 1  # the restarts stopped at different iterations


def test_restarts_in_batches_give_the_same_result(rng, monkeypatch):
    """Restarts run as many at a time as ``BATCH_BYTES`` allows; one at a
    time, the seeds come from the generator in the same order and the best
    restart is the same, bit for bit."""
    X = np.round(rng.normal(size=(5000, 3)) * 4)
    together = kvq.kmeans(X, 7, rng=3)
    monkeypatch.setattr(kvq, "BATCH_BYTES", 1)
    alone = kvq.kmeans(X, 7, rng=3)
    np.testing.assert_array_equal(together[0], alone[0])
    assert together[1] == alone[1]


_VQ_SCRIPT = """
import hashlib, numpy as np
from kmeanskit.vq import kmeans
X = np.round(np.random.default_rng(4).normal(size=(60000, 3)) * 6)  # 18,586 distinct rows, weighted
book, dist = kmeans(X, 6, rng=2)
print(hashlib.sha256(book.tobytes() + np.float64(dist).tobytes()).hexdigest())
"""


def test_restarts_together_are_bit_identical_for_1_and_2_threads():
    """The restarts' pass splits rows into blocks by shape, not by threads:
    the same code book and distortion with 1 and 2 numba threads."""
    import os
    import subprocess
    import sys

    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        p = subprocess.run([sys.executable, "-c", _VQ_SCRIPT], env=env, capture_output=True,
                           text=True, check=True)
        out.append(p.stdout.strip())
    assert out[0] == out[1] and len(out[0]) == 64


@pytest.mark.parametrize("n,m", [(1, 5), (7, 300), (300, 40), (100_000, 2_000)])
def test_draws_from_a_cdf_match_numpy(rng, n, m):
    # the weighted seeding sample's draws: np.unique(searchsorted(sorted u, "right"))
    from kmeanskit._init import _sorted_draws, weight_cdf

    for trial in range(20):
        w = rng.random(n)
        w[rng.random(n) < 0.3] = 0.0  # zero weights: runs of equal cdf values
        w[rng.integers(n)] = 1.0
        cdf = weight_cdf(w)
        u = rng.random(m)
        if trial % 2 and n > 1:  # uniforms exactly on cdf values (< 1): side="right"'s ties
            u[: m // 2] = np.minimum(cdf[rng.integers(0, n - 1, m // 2)], np.nextafter(1.0, 0.0))
        i, c = np.unique(cdf.searchsorted(np.sort(u), side="right"), return_counts=True)
        got_i, got_c = _sorted_draws(cdf, u)
        np.testing.assert_array_equal(got_i, i)
        np.testing.assert_array_equal(got_c, c)
        assert np.all(w[got_i] > 0)
