"""Dask input (kmeanskit._chunked): the same answers as in memory, the same
bits for any number of workers and threads, and faults that end cleanly.

The distributed tests start their own ``distributed.LocalCluster`` of worker
processes (no external service)."""

import os
import time
import warnings

import numpy as np
import pytest

import kmeanskit
from kmeanskit import _chunked, _solver, core
from kmeanskit._init import INITS

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")


def blobs(n_per=3000, centres=((0, 0, 0), (6, 0, 1), (0, 7, 2), (6, 7, 3), (3, 3, 9)), seed=0,
          dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 1.0, size=(n_per, len(c))) for c in centres])
    rng.shuffle(X)
    return X.astype(dtype)


@pytest.fixture(scope="module")
def X():
    return blobs()


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes with one thread each, as the issue asks."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl:
        yield cl


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster, set_as_default=True) as c:
        yield c


def same_fit(a, b, labels_b):
    assert a.n_iter == b.n_iter
    np.testing.assert_array_equal(np.asarray(a.labels), labels_b)
    np.testing.assert_allclose(b.centers, a.centers, rtol=1e-9, atol=1e-12)
    assert b.inertia == pytest.approx(a.inertia, rel=1e-9)


# --- exactness on the local scheduler -------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_fit_as_in_memory_from_the_same_start(X, dtype, weighted):
    Xt = X.astype(dtype)
    w = np.random.default_rng(1).uniform(0.5, 2.0, Xt.shape[0]) if weighted else None
    C0 = Xt[[0, 1, 2, 3, 4]].copy()
    mem = kmeanskit.fit(Xt, 5, init=C0, sample_weight=w, algorithm="lloyd")
    Xd = da.from_array(Xt, chunks=(2000, 3))
    wd = None if w is None else da.from_array(w, chunks=(2000,))
    dist = kmeanskit.fit(Xd, 5, init=C0, sample_weight=wd)
    assert isinstance(dist.labels, da.Array) and dist.labels.chunks == ((2000,) * 7 + (1000,),)
    assert dist.centers.dtype == dtype
    if dtype == np.float64:
        same_fit(mem, dist, dist.labels.compute())
    else:  # float32 sums are float64 in both; the labels and iterations are the same
        assert mem.n_iter == dist.n_iter
        np.testing.assert_array_equal(np.asarray(mem.labels), dist.labels.compute())
        np.testing.assert_allclose(dist.centers, mem.centers, rtol=1e-6)


def test_empty_cluster_relocation_matches_in_memory():
    # a start with a centre far from every row: the cluster empties at once and
    # moves onto the row farthest from its centre, in memory and on chunks alike
    X = blobs(n_per=500, seed=3)
    C0 = np.vstack([X[:3], [[100.0, 100.0, 100.0]], X[3:4]])
    mem = kmeanskit.fit(X, 5, init=C0, algorithm="lloyd")
    dist = kmeanskit.fit(da.from_array(X, chunks=(700, 3)), 5, init=C0)
    same_fit(mem, dist, dist.labels.compute())


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
@pytest.mark.parametrize("d, k, dtype", [(3, 5, np.float64), (8, 64, np.float64),
                                         (128, 6, np.float32)])
def test_lost_labels_are_recomputed_to_the_same_fit(monkeypatch, d, k, dtype, algorithm):
    # a pass updates its chunk's labels (and Hamerly's bounds) where the task ran
    # (_chunked._KEPT); a state that is gone (a dead worker, a task run elsewhere) is
    # recomputed from the centres of the pass that left it, by the pass without sums, which
    # takes other kernels than the fit's pass at 8 features and 64 centres (its fused scan)
    # and at 128 float32 features (GEMM): every chunk losing its state before every pass
    # still gives the same bits (a far centre empties at once: relocation too)
    assert _solver.use_gemm(8, 64) == "fused" and _solver.use_gemm(128, 6, np.float32) == "rows"
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(12_000, d)) + rng.integers(0, 6, size=(12_000, 1))).astype(dtype)
    C0 = X[rng.choice(X.shape[0], k, replace=False)].copy()
    C0[1] = 100.0
    mem = kmeanskit.fit(X, k, init=C0, algorithm=algorithm)
    Xd = da.from_array(X, chunks=(2500, d))
    kept = kmeanskit.fit(Xd, k, init=C0, algorithm=algorithm)
    assert kept.n_iter == mem.n_iter
    np.testing.assert_array_equal(kept.labels.compute(), np.asarray(mem.labels))
    take, lost = _chunked._kept_take, []

    def lose(slot, p, keep=False):
        take(slot, p, keep)  # gone from the store
        lost.append(slot)
        return None

    monkeypatch.setattr(_chunked, "_kept_take", lose)
    got = kmeanskit.fit(Xd, k, init=C0, algorithm=algorithm)
    assert len(lost) >= 5 * got.n_iter  # every chunk, every pass
    np.testing.assert_array_equal(got.centers, kept.centers)
    assert got.inertia == kept.inertia and got.n_iter == kept.n_iter
    np.testing.assert_array_equal(got.labels.compute(), kept.labels.compute())


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_an_empty_chunk_fits_as_in_memory(X, algorithm):
    # a chunk of no rows (a filtered partition) has no labels (or bounds) to keep and adds
    # nothing
    Xd = da.from_array(X, chunks=(6000, 3)).rechunk(((6000, 0, 9000), (3,)))
    C0 = X[:5].copy()
    got = kmeanskit.fit(Xd, 5, init=C0, algorithm=algorithm)
    same_fit(kmeanskit.fit(X, 5, init=C0, algorithm=algorithm), got, got.labels.compute())


def test_kept_labels_are_dropped_with_their_fit():
    # the store keeps the labels of at most KEPT_FITS fits per process, the oldest dropped
    # first, and a fit's labels leave it when its result takes them
    X = blobs(n_per=400)
    Xd = da.from_array(X, chunks=(500, 3))
    _chunked._KEPT.clear()
    r = kmeanskit.fit(Xd, 5, init=X[:5].copy())
    assert [len(v) for v in _chunked._KEPT.values()] == [0]  # taken by r.labels
    assert r.labels.compute().shape == (X.shape[0],)
    for i in range(_chunked.KEPT_FITS + 2):
        _chunked._kept_put((f"fit{i}", 0, 0), np.zeros(3, np.int8))
    assert list(_chunked._KEPT) == [f"fit{i}" for i in range(2, _chunked.KEPT_FITS + 2)]
    _chunked._KEPT.clear()


@pytest.mark.parametrize("algorithm", ["hamerly", "lloyd"])
def test_hamerly_on_chunks_matches_in_memory(algorithm, monkeypatch):
    # 40,000 rows and k = 16: "auto" is Hamerly in memory and on chunks; its bounds
    # stay with the chunks, and the iterations are Lloyd's
    steps = []
    make_step = _chunked.make_step
    monkeypatch.setattr(_chunked, "make_step",
                        lambda *a, **kw: steps.append(make_step(*a, **kw)) or steps[-1])
    rng = np.random.default_rng(8)
    centres = rng.uniform(0, 12, size=(16, 3))
    X = centres[rng.integers(0, 16, 40_000)] + rng.normal(0, 1.0, size=(40_000, 3))
    C0 = X[rng.choice(X.shape[0], 16, replace=False)].copy()
    C0[3] = [500.0, 500.0, 500.0]  # a cluster that empties at once: relocation with bounds
    mem = kmeanskit.fit(X, 16, init=C0, algorithm=algorithm)
    got = kmeanskit.fit(da.from_array(X, chunks=(7000, 3)), 16, init=C0, algorithm=algorithm)
    same_fit(mem, got, got.labels.compute())
    # the algorithm asked for is the one that ran (kmeanskit.fit and KMeans alike)
    est = kmeanskit.KMeans(16, init=C0, n_init=1, algorithm=algorithm).fit(
        da.from_array(X, chunks=(7000, 3)))
    np.testing.assert_array_equal(est.labels_.compute(), np.asarray(mem.labels))
    assert [type(s) for s in steps] == [_chunked.CHUNKED_ALGORITHMS[algorithm]] * 2
    assert _chunked.make_step(da.from_array(X, chunks=(7000, 3)), None, 16).__class__ is \
        _chunked.ChunkedHamerlyStep


def test_dataframe_input_and_lazy_outputs(X):
    pdf = pd.DataFrame(X, columns=["a", "b", "c"])
    ddf = dd.from_pandas(pdf, npartitions=4)
    C0 = X[:5].copy()
    km = kmeanskit.KMeans(5, init=C0, algorithm="lloyd").fit(ddf)
    ref = kmeanskit.KMeans(5, init=C0, algorithm="lloyd").fit(pdf)
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert list(km.feature_names_in_) == ["a", "b", "c"]
    Xd = da.from_array(X, chunks=(4000, 3))
    pred = km.predict(Xd)
    tr = km.transform(Xd)
    assert isinstance(pred, da.Array) and pred.chunks[0] == Xd.chunks[0]
    assert isinstance(tr, da.Array) and tr.chunks == (Xd.chunks[0], (5,))
    np.testing.assert_array_equal(pred.compute(), ref.predict(pdf))
    np.testing.assert_allclose(tr.compute(), ref.transform(pdf), rtol=1e-12)
    assert km.score(Xd) == pytest.approx(ref.score(pdf), rel=1e-12)
    labels, d2, inertia = kmeanskit.assign(Xd, ref.cluster_centers_)
    ref_l, ref_d2, ref_i = kmeanskit.assign(X, ref.cluster_centers_)
    assert isinstance(inertia, da.Array)
    np.testing.assert_array_equal(labels.compute(), ref_l)
    np.testing.assert_allclose(d2.compute(), ref_d2, rtol=1e-12, atol=1e-12)
    assert float(inertia.compute()) == pytest.approx(ref_i, rel=1e-12)


def test_bad_dask_input_says_what_to_do(X):
    ddf = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 3.0], "s": ["x", "y", "z"]}), npartitions=1)
    with pytest.raises(ValueError, match=r"non-numeric columns \['s'\]"):
        kmeanskit.fit(ddf, 2)
    Xn = X.copy()
    Xn[7777, 1] = np.nan
    with pytest.raises(ValueError, match="NaN, infinity .* rows 6000 to 7999"):
        kmeanskit.fit(da.from_array(Xn, chunks=(2000, 3)), 3, random_state=0)
    with pytest.raises(ValueError, match="metric='euclidean' only"):
        kmeanskit.fit(da.from_array(X, chunks=(2000, 3)), 3, metric="manhattan")
    with pytest.raises(ValueError, match="Dask input runs 'lloyd' or 'hamerly'"):
        kmeanskit.fit(da.from_array(X, chunks=(2000, 3)), 3, algorithm="elkan")
    with pytest.raises(ValueError, match="callable init needs the data in memory"):
        kmeanskit.fit(da.from_array(X, chunks=(2000, 3)), 3, init=lambda X, k, rng: X[:k])
    with pytest.raises(ValueError, match="n_clusters"):
        kmeanskit.fit(da.from_array(X[:3], chunks=(2, 3)), 4)


def test_missing_dask_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"kmeanskit\[dask\]"):
        _chunked.require_dask()


# --- extreme magnitudes and non-finite values -------------------------------------------

@pytest.mark.parametrize("dtype, exp", [(np.float64, 660), (np.float64, -660), (np.float32, 100),
                                        (np.float32, -100)])
def test_extreme_magnitudes_fit_as_in_memory(X, dtype, exp):
    # squares of 2**660 overflow float64 and those of 2**-660 underflow (2**100 and 2**-100 in
    # float32): the chunks are scaled exactly by a power of two as each task reads them, so
    # the fit is the in-memory fit of the same rows, and the default fit (k-means||) is that of
    # the unscaled rows times 2**exp, bit for bit
    f = 2.0 ** exp
    Xt = X.astype(dtype)
    C0 = Xt[[0, 1, 2, 3, 4]] * dtype(f)
    big = (exp > 0) == (dtype == np.float64)  # the inertia exceeds the float range
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if big else "error", RuntimeWarning)
        mem = kmeanskit.fit(Xt * dtype(f), 5, init=C0, algorithm="lloyd")
        dist = kmeanskit.fit(da.from_array(Xt * dtype(f), chunks=(2000, 3)), 5, init=C0)
        base = kmeanskit.fit(da.from_array(Xt, chunks=(2000, 3)), 5, random_state=4)
        scaled = kmeanskit.fit(da.from_array(Xt * dtype(f), chunks=(2000, 3)), 5, random_state=4)
    assert mem.n_iter == dist.n_iter
    np.testing.assert_array_equal(np.asarray(mem.labels), dist.labels.compute())
    np.testing.assert_allclose(dist.centers, mem.centers, rtol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_array_equal(scaled.centers, base.centers * dtype(f))
    np.testing.assert_array_equal(scaled.labels.compute(), base.labels.compute())
    if dtype == np.float64 and exp > 0:
        assert dist.inertia == np.inf  # 2**1320 times the unscaled inertia
    elif dtype == np.float64:
        assert dist.inertia == 0.0  # 2**-1320 times it: below the float range
    else:
        assert dist.inertia == pytest.approx(base.inertia * f * f, rel=1e-6)


def test_extreme_magnitudes_warn_on_cluster_and_seed_with_kmeans_parallel(client, X):
    f = 2.0 ** 660
    Xd = da.from_array(X, chunks=(1500, 3))
    with pytest.warns(RuntimeWarning, match="inertia exceeds the float range"):
        r = kmeanskit.fit(da.from_array(X * f, chunks=(1500, 3)), 6, random_state=2)
    ref = kmeanskit.fit(Xd, 6, random_state=2)
    np.testing.assert_array_equal(r.centers, ref.centers * f)
    np.testing.assert_array_equal(r.labels.compute(), ref.labels.compute())
    C = kmeanskit.kmeans_parallel(da.from_array(X * 2.0 ** -660, chunks=(1500, 3)), 6, random_state=1)
    np.testing.assert_array_equal(C, kmeanskit.kmeans_parallel(Xd, 6, random_state=1) * 2.0 ** -660)
    C = kmeanskit.kmeans_parallel(X * f, 6, random_state=1)  # in memory: a scaled copy
    np.testing.assert_array_equal(C, kmeanskit.kmeans_parallel(X, 6, random_state=1) * f)
    # weights near the float range scale too (their sums would overflow)
    w = np.random.default_rng(3).uniform(0.5, 1.0, X.shape[0])
    a = kmeanskit.fit(Xd, 6, sample_weight=da.from_array(w, chunks=1500), random_state=5)
    b = kmeanskit.fit(Xd, 6, sample_weight=da.from_array(w * 2.0 ** 1000, chunks=1500), random_state=5)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert b.inertia == a.inertia * 2.0 ** 1000


def test_every_dask_fit_checks_its_chunks(X):
    # with tol=0 and given centres the fit needed no summary pass, and a NaN went through to a
    # NaN inertia; the pass that chooses the scaling now checks every chunk for every fit
    Xn = X.copy()
    Xn[4321, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN, infinity or a negative weight in rows 4000 to 5999"):
        kmeanskit.fit(da.from_array(Xn, chunks=(2000, 3)), 3, init=X[:3], tol=0.0, max_iter=3)


def test_lazy_results_of_non_finite_rows_raise_naming_them(X):
    km = kmeanskit.KMeans(4, random_state=0).fit(da.from_array(X, chunks=(2000, 3)))
    Xn = X.copy()
    Xn[4321, 1] = np.nan
    Xn[15, 0] = np.inf
    Xd = da.from_array(Xn, chunks=(2000, 3))
    for lazy in (km.predict(Xd), km.transform(Xd),
                 kmeanskit.assign(Xd, km.cluster_centers_)[0]):
        with pytest.raises(ValueError, match=r"NaN or infinity in rows (0 to 1999|4000 to 5999)"):
            lazy.compute()
    with pytest.raises(ValueError, match="NaN or infinity"):
        km.score(Xd)
    # finite rows of extreme magnitude: the labels of the rows themselves
    tiny = kmeanskit.assign(da.from_array(X * 2.0 ** -700, chunks=(2000, 3)),
                            km.cluster_centers_ * 2.0 ** -700)
    np.testing.assert_array_equal(tiny[0].compute(), km.predict(X))


# --- seeding ----------------------------------------------------------------------------

def test_kmeans_parallel_is_within_one_percent_of_greedy_kmeanspp():
    # 12 overlapping clusters: the seeding matters. Mean over 5 seeds of the inertia after
    # convergence, k-means|| on chunks against in-memory greedy k-means++.
    rng = np.random.default_rng(5)
    centres = rng.uniform(0, 20, size=(12, 4))
    X = np.concatenate([rng.normal(c, 1.5, size=(1500, 4)) for c in centres])
    Xd = da.from_array(X, chunks=(3000, 4))
    par = [kmeanskit.fit(Xd, 12, init="k-means||", random_state=s).inertia for s in range(5)]
    pp = [kmeanskit.fit(X, 12, init="k-means++", random_state=s).inertia for s in range(5)]
    assert np.mean(par) <= 1.01 * np.mean(pp)
    # greedy k-means++ on a sample drawn chunk by chunk is as good; random rows of
    # that sample converge, to a local optimum more often (as in memory)
    sample = [kmeanskit.fit(Xd, 12, init="k-means++sample", random_state=s).inertia for s in range(5)]
    assert np.mean(sample) <= 1.01 * np.mean(pp)
    r = kmeanskit.fit(Xd, 12, init="random", n_init=3, random_state=0)
    assert r.converged and r.inertia <= 1.5 * np.mean(pp)


def test_kmeans_parallel_keeps_the_best_of_its_reductions(monkeypatch):
    # 16 clusters in 8 dimensions, about 160 candidates: one reduction run (greedy k-means++
    # and Lloyd on the weighted candidates) leaves two clusters under one centre for 3 of these
    # 8 seeds, 7 % above the others' inertia after convergence; the best of three runs never
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 10, size=(16, 8))
    X = centres[rng.integers(0, 16, 48000)] + rng.normal(0, 1, size=(48000, 8))
    Xd = da.from_array(X, chunks=(8000, 8))
    assert _chunked.reduce_tries(48000, 160, 16) == 3

    def inertias():
        return np.array([kmeanskit.fit(Xd, 16, random_state=s).inertia for s in range(8)])

    three = inertias()
    np.testing.assert_allclose(three, three.min(), rtol=1e-6)  # the same optimum, to the tol
    monkeypatch.setattr(_chunked, "REDUCE_TRIES", 1)
    one = inertias()
    assert np.sum(one > 1.05 * three.min()) == 3


def test_reduce_tries_fit_in_about_one_pass():
    # a run costs about m (trials + 10) k d against a pass's n k d
    assert _chunked.reduce_tries(1_500_000, 159, 16) == 3
    assert _chunked.reduce_tries(100_000, 10_241, 1024) == 1  # k = 1024: 10 k candidates
    assert _chunked.reduce_tries(300_000, 10_241, 1024) == 2
    assert _chunked.reduce_tries(10, 10, 3) == 1


def test_reduce_candidates_is_the_best_run_with_the_same_draws():
    rng = np.random.default_rng(9)
    cand = rng.normal(size=(60, 3)) * 4
    wc = rng.integers(1, 50, size=60).astype(np.float64)
    got = _chunked.reduce_candidates(cand, wc, 6, np.random.default_rng(4), 10**6)
    ref_rng = np.random.default_rng(4)
    runs = []
    for _ in range(3):
        C0 = INITS["k-means++"](cand, 6, wc, ref_rng)
        runs.append(_solver.refine_on_sample(cand, wc, C0))
    cost = [float((((cand[:, None] - C[None]) ** 2).sum(-1).min(1) * wc).sum()) for C in runs]
    np.testing.assert_array_equal(got, runs[int(np.argmin(cost))])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("width", [64, 3])  # 3: most rows outgrow their table and measure every candidate
@pytest.mark.parametrize("path", ["skipping", "engine"])  # every round after the first on one or the other
def test_kmeans_parallel_rounds_find_the_nearest_candidate(monkeypatch, dtype, width, path):
    # each round's (d2, nearest) against every candidate measured in NumPy: the triangle
    # inequality skips candidates but never changes the answer; ties go to the lowest number
    monkeypatch.setattr(_chunked, "TABLE_WIDTH", width)
    monkeypatch.setattr(_chunked, "PRUNE_MIN_FEATURES", 1 if path == "skipping" else 100)
    monkeypatch.setattr(_chunked, "PRUNE_MIN_EARLIER", 0.0)
    calls = []
    kernel = _chunked.SK.nearest_candidate_update
    monkeypatch.setattr(_chunked.SK, "nearest_candidate_update",
                        lambda *a: calls.append(a[1].shape[0]) or kernel(*a))
    rng = np.random.default_rng(5)
    X = blobs(n_per=400, seed=5, dtype=dtype)
    cands, prev = [], None
    for size in (1, 30, 25, 40):
        C = X[rng.choice(X.shape[0], size, replace=False)].astype(np.float64)
        old = np.concatenate(cands) if cands else np.empty((0, 3))
        offset = old.shape[0]
        if size == 25:
            C[7] = C[3]  # two new candidates at the same place: the lower number wins
            dup = (offset + 3, offset + 7)
        table = _chunked.candidate_table(old, C)
        prev = _chunked._parallel_chunk(X, None, prev, None, C, offset, table, 2.0 * 5)
        cands.append(C)
        d2, nearest = prev[0][:2]
        allc = np.concatenate(cands)
        D = ((X.astype(np.float64)[:, None, :] - allc[None, :, :]) ** 2).sum(-1)
        np.testing.assert_array_equal(nearest, np.argmin(D, axis=1))
        np.testing.assert_allclose(d2, D.min(axis=1), rtol=1e-12, atol=1e-300)
        counts = prev[1][1]
        np.testing.assert_array_equal(counts, np.bincount(np.argmin(D, axis=1), minlength=allc.shape[0]))
    assert np.any(nearest == dup[0]) and not np.any(nearest == dup[1])
    assert calls == ([1, 30, 25, 40] if path == "skipping" else [1])  # the round's new candidates


@pytest.mark.parametrize("path", ["skipping", "engine"])
def test_a_kmeans_parallel_round_run_again_on_the_state_it_updated_gives_the_same(monkeypatch, path):
    # a round updates the last round's arrays in place; were Dask to run its task again on
    # that input, the second run must give what the first gave (idempotent rounds)
    monkeypatch.setattr(_chunked, "PRUNE_MIN_FEATURES", 1 if path == "skipping" else 100)
    monkeypatch.setattr(_chunked, "PRUNE_MIN_EARLIER", 0.0)
    rng = np.random.default_rng(9)
    X = blobs(n_per=400, seed=9)
    cands, prev = [], None
    for size in (1, 30, 25, 40):
        C = X[rng.choice(X.shape[0], size, replace=False)].astype(np.float64)
        old = np.concatenate(cands) if cands else np.empty((0, 3))
        table = _chunked.candidate_table(old, C)
        args = (C, old.shape[0], table, 10.0)
        first = _chunked._parallel_chunk(X, None, prev, 11, *args)
        (d2, nearest), small = [a.copy() for a in first[0][:2]], first[1]
        again = _chunked._parallel_chunk(X, None, prev, 11, *args)
        np.testing.assert_array_equal(again[0][0], d2)
        np.testing.assert_array_equal(again[0][1], nearest)
        assert again[1][0] == small[0]
        for a, b in zip(again[1][1:], small[1:]):
            np.testing.assert_array_equal(a, b)
        cands.append(C)
        prev = again
    allc = np.concatenate(cands)
    D = ((X.astype(np.float64)[:, None, :] - allc[None, :, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(prev[0][1], np.argmin(D, axis=1))
    assert np.any(prev[0][1] >= 56)  # rows whose nearest is a new candidate when run again


@pytest.mark.parametrize("block", [7, 100, 1 << 16])
def test_kmeans_parallel_draws_the_rows_of_one_draw_block_by_block(monkeypatch, block):
    # a round's uniforms drawn DRAW_BLOCK rows at a time are those of one draw of them all:
    # the same rows drawn, with the same u (blocks of 7 rows, of all 100, and larger than them)
    monkeypatch.setattr(_chunked, "DRAW_BLOCK", block)
    wd2 = np.random.default_rng(1).random(100)
    u_all = np.random.default_rng(42).random(100)
    want = np.flatnonzero(u_all * 2.5 < wd2)
    assert 10 < want.size < 50
    idx, u = _chunked._rows_drawn(wd2, 2.5, 42)
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_array_equal(u, u_all[want])
    idx, u = _chunked._rows_drawn(np.empty(0), 2.5, 42)
    assert idx.shape == (0,) and idx.dtype == np.int64 and u.shape == (0,)


def test_kmeans_parallel_parameters_and_in_memory_use():
    X = blobs(n_per=400, seed=2)
    src = _chunked.ChunkSource(X, None, 5)
    C = _chunked.kmeans_parallel(src, 5, np.random.default_rng(0), oversampling=3.0, rounds=2)
    assert C.shape == (5, 3)
    # every centre is near a blob centre (a seeding that found all five blobs)
    true = np.array([(0, 0, 0), (6, 0, 1), (0, 7, 2), (6, 7, 3), (3, 3, 9)], float)
    d = np.sqrt(((C[:, None, :] - true[None]) ** 2).sum(-1)).min(axis=0)
    assert d.max() < 1.0
    r = kmeanskit.fit(X, 5, init="k-means||", random_state=0)
    assert r.inertia < 1.1 * 3 * X.shape[0]  # about the noise variance per row


def test_choose_k_on_dask_input():
    X = blobs(n_per=800, seed=4)
    sweep = kmeanskit.choose_k(da.from_array(X, chunks=(1000, 3)), range(2, 9), random_state=0)
    assert sweep.best_k == 5


# --- larger than memory on one machine ----------------------------------------------------

def test_memmap_input_is_not_copied(tmp_path, X):
    path = tmp_path / "x.npy"
    np.save(path, X.astype(np.float32))
    M = np.load(path, mmap_mode="r")
    from kmeanskit._validation import as_float_array

    assert np.shares_memory(as_float_array(M), M)
    C0 = np.array(M[:5])
    a = kmeanskit.fit(M, 5, init=C0)
    b = kmeanskit.fit(np.array(M), 5, init=C0)
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_parquet_folder_and_zarr_store(tmp_path, X):
    pdf = pd.DataFrame(X, columns=["a", "b", "c"])
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(3):
        pdf.iloc[i * 5000:(i + 1) * 5000].to_parquet(folder / f"part{i}.parquet")
    C0 = X[:5].copy()
    ref = kmeanskit.fit(X, 5, init=C0, algorithm="lloyd")
    got = kmeanskit.fit(dd.read_parquet(str(folder / "*.parquet"))[["a", "b", "c"]], 5, init=C0)
    same_fit(ref, got, got.labels.compute())
    zarr = pytest.importorskip("zarr")
    z = zarr.open(str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(4000, 3), dtype="f8")
    z[:] = X
    got = kmeanskit.fit(da.from_zarr(str(tmp_path / "x.zarr")), 5, init=C0)
    same_fit(ref, got, got.labels.compute())


# --- on a distributed cluster ----------------------------------------------------------------

def test_distributed_fit_equals_local_and_in_memory(client, X):
    Xd = da.from_array(X, chunks=(2000, 3))
    C0 = X[:5].copy()
    mem = kmeanskit.fit(X, 5, init=C0, algorithm="lloyd")
    got = kmeanskit.fit(Xd, 5, init=C0)
    same_fit(mem, got, got.labels.compute())
    local = kmeanskit.fit(Xd, 5, random_state=3)  # the default seeding, on the cluster
    km = kmeanskit.KMeans(5, random_state=3).fit(Xd)
    assert km.inertia_ == local.inertia
    np.testing.assert_array_equal(km.predict(Xd).compute(), local.labels.compute())
    fp = kmeanskit.KMeans(5, random_state=3).fit_predict(Xd)
    ft = kmeanskit.KMeans(5, random_state=3).fit_transform(Xd)
    assert isinstance(fp, da.Array) and isinstance(ft, da.Array)
    np.testing.assert_array_equal(fp.compute(), local.labels.compute())
    np.testing.assert_allclose(ft.compute(), km.transform(X), rtol=1e-12)


def test_same_bits_for_any_number_of_workers_and_threads(cluster, X):
    Xd = da.from_array(X, chunks=(1500, 3))
    w = da.from_array(np.random.default_rng(2).uniform(0.1, 3, X.shape[0]), chunks=(1500,))

    def run():
        r = kmeanskit.fit(Xd, 6, sample_weight=w, random_state=11)
        return r.centers.tobytes(), r.inertia, r.labels.compute().tobytes(), r.n_iter

    ref = run()  # the local, synchronous scheduler
    with distributed.Client(cluster):  # 2 workers x 1 thread
        assert run() == ref
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl2:
        with distributed.Client(cl2) as c2:  # 1 worker x 2 threads
            assert run() == ref
            cl2.scale(3)  # 3 workers x 2 threads
            c2.wait_for_workers(3, timeout=60)
            assert run() == ref


def _kill_first_worker(client, killed):
    """Kill the first worker's process (its nanny starts a new one) and note its address."""
    addr = sorted(client.scheduler_info()["workers"])[0]
    killed.append(addr)
    try:
        client.run(os._exit, 1, workers=[addr])
    except Exception:  # the worker's connection drops as it exits
        pass


def _same_result(client, res, undisturbed):
    np.testing.assert_array_equal(res.centers, undisturbed.centers)
    assert res.inertia == undisturbed.inertia and res.n_iter == undisturbed.n_iter
    np.testing.assert_array_equal(res.labels.compute(), undisturbed.labels.compute())
    client.wait_for_workers(2, timeout=60)


def test_worker_killed_between_passes_gives_the_same_result(client, X):
    Xd = da.from_array(X, chunks=(2000, 3))
    undisturbed = kmeanskit.fit(Xd, 5, random_state=4)
    killed = []

    def kill_one(run, it):
        if it == 0 and not killed:
            _kill_first_worker(client, killed)

    X_, w, k, init = core.check_dask_input(Xd, None, 5, "auto", "auto", "euclidean", "test")
    res = core.fit_arrays(X_, k, w, init=init, n_init=1, max_iter=300, tol=1e-4,
                          rng=np.random.default_rng(4), callback=kill_one)
    assert killed
    _same_result(client, res, undisturbed)


def test_worker_killed_during_the_seeding_rounds_gives_the_same_result(client, X, monkeypatch):
    # the k-means|| rounds run chained on the cluster (each round's plan a task): a worker killed
    # once the third round is submitted loses the earlier rounds' results it held, and the
    # scheduler recomputes them from their lineage
    Xd = da.from_array(X, chunks=(1500, 3))
    undisturbed = kmeanskit.fit(Xd, 5, random_state=6)
    reduce, plans, killed = _chunked.DistributedChunks.reduce, [], []

    def reduce_then_kill(self, fn, handles, *args):
        out = reduce(self, fn, handles, *args)
        plans.append(fn)
        if fn is _chunked._next_plan and plans.count(fn) == 3 and not killed:
            _kill_first_worker(client, killed)
        return out

    monkeypatch.setattr(_chunked.DistributedChunks, "reduce", reduce_then_kill)
    res = kmeanskit.fit(Xd, 5, random_state=6)
    assert killed and plans.count(_chunked._next_plan) == 1 + _chunked.ROUNDS
    _same_result(client, res, undisturbed)


@pytest.mark.parametrize("weighted", [False, True])
def test_chunks_held_by_one_worker_are_spread_over_all(client, X, weighted):
    # data persisted on one worker (as an earlier .compute() of the whole array leaves it): the
    # fit copies half the chunks (and their weights) to the other worker once, and every pass
    # then runs on both, one task per worker (its thread) on its 5 chunks
    addr = sorted(client.scheduler_info()["workers"])[0]
    Xd = da.from_array(X, chunks=(1500, 3)).persist(workers=[addr])
    w = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    wd = None if w is None else da.from_array(w, chunks=(1500,)).persist(workers=[addr])
    distributed.wait([Xd] + ([wd] if weighted else []))
    assert {w for ws in client.who_has(Xd).values() for w in ws} == {addr}
    C0 = X[:5].copy()
    with distributed.get_task_stream(client) as ts:
        got = kmeanskit.fit(Xd, 5, init=C0, algorithm="lloyd", sample_weight=wd)
    ran, copied = {}, {}
    for t in ts.data:
        key = t["key"] if isinstance(t["key"], str) else ""
        for prefix, seen in (("lloyd_kept-", ran), ("chunk-x-", copied), ("chunk-w-", copied)):
            if key.startswith(prefix):
                seen[t["worker"]] = seen.get(t["worker"], 0) + 1
    # (the copies' worker restriction is loose: the scheduler may run one elsewhere)
    assert sum(copied.values()) == (10 if weighted else 5)
    assert len(ran) == 2 and min(ran.values()) == max(ran.values()) >= got.n_iter
    same_fit(kmeanskit.fit(X, 5, init=C0, algorithm="lloyd", sample_weight=w), got, got.labels.compute())


@pytest.mark.parametrize("holders, sizes, nthreads, plan", [
    ([["a"]] * 8, [1] * 8, {"a": 1, "b": 1}, {4: "b", 5: "b", 6: "b", 7: "b"}),
    ([["a"], ["b"]] * 4, [1] * 8, {"a": 1, "b": 1}, {}),  # balanced: nothing moves
    ([["a"]] * 5 + [["b"]] * 3, [1] * 8, {"a": 1, "b": 1}, {}),  # 1.25 x its share: within
    ([["a"]] * 6 + [["b"]] * 2, [1] * 8, {"a": 1, "b": 1}, {4: "b", 5: "b"}),
    ([["a", "b"]] * 8, [1] * 8, {"a": 1, "b": 1}, {}),  # replicated on both
    ([["a"]] * 9, [1] * 9, {"a": 1, "b": 1, "c": 1}, {3: "b", 4: "c", 5: "b", 6: "c", 7: "b", 8: "c"}),
    ([["a"]] * 6, [1] * 6, {"a": 1, "b": 2}, {2: "b", 3: "b", 4: "b", 5: "b"}),  # by threads
    ([["a"]] * 3 + [[]], [4, 4, 4, 1], {"a": 1, "b": 1}, {1: "b"}),  # sizes; unheld chunk stays
    ([["a"]] * 4, [1] * 4, {"a": 1}, {}),  # one worker
])
def test_spread_plan(holders, sizes, nthreads, plan):
    assert _chunked.spread_plan(holders, sizes, nthreads) == plan


@pytest.mark.parametrize("holders, sizes, nthreads, groups", [
    ([["a"], ["b"]] * 4, [1] * 8, {"a": 1, "b": 1}, [[0, 2, 4, 6], [1, 3, 5, 7]]),
    ([["a"], ["b"]] * 4, [1] * 8, {"a": 2, "b": 1}, [[0, 2], [1, 3, 5, 7], [4, 6]]),  # by threads
    ([["a"]] * 4, [3, 1, 1, 1], {"a": 2}, [[0], [1, 2, 3]]),  # about equal rows
    ([["a"]] * 2, [1, 1], {"a": 4}, [[0], [1]]),  # more threads than chunks
    ([["a", "b"]] * 4, [1] * 4, {"a": 1, "b": 1}, [[0, 2], [1, 3]]),  # replicated: the lighter
    ([["a"], [], ["c"], ["a"]], [1] * 4, {"a": 1, "b": 1}, [[0, 3], [1], [2]]),  # unknown holders
])
def test_group_plan(holders, sizes, nthreads, groups):
    assert _chunked.group_plan(holders, sizes, nthreads) == groups


def _fail_on_third(block, block_info=None):
    if block_info[0]["chunk-location"][0] == 2:
        raise ZeroDivisionError("boom in chunk 2")
    return block


def test_exception_in_a_task_reaches_the_caller(client, X):
    Xd = da.from_array(X, chunks=(2000, 3)).map_blocks(_fail_on_third, dtype=X.dtype)
    t = time.monotonic()
    with pytest.raises(_chunked.ChunkTaskError, match="ZeroDivisionError: boom in chunk 2"):
        kmeanskit.fit(Xd, 5, random_state=0)
    assert time.monotonic() - t < 60


def _slow(block):
    time.sleep(3)
    return block


def test_every_wait_has_a_timeout(client, X):
    import dask

    Xd = da.from_array(X, chunks=(8000, 3)).map_blocks(_slow, dtype=X.dtype)
    with dask.config.set({"kmeanskit.timeout": 0.5}):
        with pytest.raises(_chunked.ChunkTaskError, match="did not finish within 0.5 s"):
            kmeanskit.fit(Xd, 5, random_state=0)


def test_a_cluster_without_workers_times_out_with_a_clear_error(X):
    import dask

    with distributed.LocalCluster(n_workers=0, dashboard_address=None, silence_logs=40) as cl, \
            distributed.Client(cl) as c, dask.config.set({"kmeanskit.timeout": 1.0}):
        with pytest.raises(_chunked.ChunkTaskError, match="did not finish within 1 s"):
            kmeanskit.fit(da.from_array(X, chunks=(5000, 3)), 3, random_state=0)
        # a k-means|| plan: a task on the cluster's results, fetched with the timeout too
        ex = _chunked.DistributedChunks(c, da.from_array(X[:10], chunks=(10, 3)), None)
        plan = ex.reduce(len, ex.map(_chunked._summary_chunk, None))
        with pytest.raises(_chunked.ChunkTaskError, match="did not finish within 1 s"):
            ex.value(plan)


def test_client_closed_mid_fit_fails_cleanly(cluster, X):
    Xd = da.from_array(X, chunks=(2000, 3))
    c = distributed.Client(cluster)

    def close(run, it):
        if it == 1:
            c.close()

    X_, w, k, init = core.check_dask_input(Xd, None, 5, "auto", "auto", "euclidean", "test")
    with pytest.raises(_chunked.ChunkTaskError, match="client was closed"):
        core.fit_arrays(X_, k, w, init=init, n_init=1, max_iter=300, tol=0.0,
                        rng=np.random.default_rng(0), callback=close)


# --- the command line: Parquet streamed, on a running cluster ------------------------------

@pytest.fixture(scope="module")
def parquet_folder(tmp_path_factory, X):
    folder = tmp_path_factory.mktemp("pq")
    pdf = pd.DataFrame(X, columns=["a", "b", "c"]).assign(name="row")
    for i in range(3):
        pdf.iloc[i * 5000:(i + 1) * 5000].to_parquet(folder / f"part{i}.parquet")
    return folder


def _cli(args):
    from click.testing import CliRunner

    from kmeanskit.cli import main

    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_streams_a_parquet_glob_to_parquet(parquet_folder, tmp_path, X):
    out = tmp_path / "labels.parquet"
    r = _cli(["cluster", str(parquet_folder / "*.parquet"), "-k", "5", "--seed", "0", "-o", str(out),
              "--model", str(tmp_path / "m.kmk"), "--json"])
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(out)
    assert list(got.columns) == ["a", "b", "c", "name", "cluster"] and len(got) == 15000
    # the same clustering as kmeanskit.fit on the z-scored rows with the same seed
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    ref = kmeanskit.fit(da.from_array(Z, chunks=(5000, 3)), 5, random_state=0)
    np.testing.assert_array_equal(got["cluster"].to_numpy(), ref.labels.compute())
    import json

    info = json.loads(r.stdout)
    assert info["streamed"] and info["rows"] == 15000 and info["skipped_columns"] == ["name"]
    assert sorted(c["size"] for c in info["clusters"]) == sorted(np.bincount(ref.labels.compute()))
    assert kmeanskit.load(tmp_path / "m.kmk").cluster_centers_.shape == (5, 3)


def test_cli_streamed_input_refuses_whole_table_options(parquet_folder, tmp_path):
    r = _cli(["cluster", str(parquet_folder), "-k", "2", "--log"])
    assert r.exit_code != 0 and "--log: not available for streamed Parquet input" in r.output
    r = _cli(["cluster", str(tmp_path / "none" / "*.parquet"), "-k", "2"])
    assert r.exit_code == 1 and "no Parquet files match" in r.output


def test_cli_scheduler_option_runs_on_the_cluster(cluster, parquet_folder, tmp_path):
    out = tmp_path / "labels.csv"
    r = _cli(["cluster", str(parquet_folder), "-k", "5", "--seed", "0", "-o", str(out),
              "--scheduler", cluster.scheduler_address, "--quiet"])
    assert r.exit_code == 0, r.output
    local = _cli(["cluster", str(parquet_folder), "-k", "5", "--seed", "0", "-o",
                  str(tmp_path / "local.csv"), "--quiet"])
    assert local.exit_code == 0
    assert out.read_bytes() == (tmp_path / "local.csv").read_bytes()
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        r = _cli(["cluster", str(parquet_folder), "-k", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 1 and "cannot connect to the Dask scheduler" in r.output
