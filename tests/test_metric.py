"""k-means under other distances (manhattan, cosine, chebyshev): kernels,
centre updates, seeding and whole runs against the slow references in
``naive.py``, optimality of the centre updates, and the never-increasing
objective (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmeanskit
import naive
from conftest import blobs
from kmeanskit import KMeans, _init, _metric
from kmeanskit._init import FewDistinctPointsError
from kmeanskit.core import fit_arrays


def run_metric(X, k, metric, *, init, w=None, tol=1e-4, max_iter=300, **kw):
    """One run of the shared fit under ``metric`` from centres ``init``."""
    return fit_arrays(X, k, w, init=init, n_init=1, max_iter=max_iter, tol=tol, rng=None,
                      metric=metric, **kw)

METRICS = ["manhattan", "cosine", "chebyshev"]


def _data(rng, n=300, d=3, k=4, dtype=np.float64, metric="manhattan"):
    X, _, _ = blobs(rng, n=n, d=d, k=k, spread=2.0)
    if metric == "cosine":
        X = X + 0.1 * rng.normal(size=X.shape)  # no zero rows in practice
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (300, 3, 5), (1100, 7, 12)])
def test_pass_matches_reference(rng, metric, dtype, n, d, k):
    X = rng.normal(size=(n, d)).astype(dtype)
    C = rng.normal(size=(k, d)).astype(dtype)
    w = rng.random(n).astype(dtype)
    labels, dist, obj = _metric.assign_metric(X, C, metric, w)
    rl, rd, robj = naive.metric_assign(X, C, metric, w)
    agree = labels == rl
    assert agree.mean() >= (0.995 if dtype == np.float32 else 1.0)
    np.testing.assert_allclose(dist[agree], rd[agree], rtol=1e-9, atol=1e-12)
    ref = float((w.astype(np.float64) * naive.metric_distances(X, C, metric)[np.arange(n), labels]).sum())
    assert obj == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(_metric.distances(X, C, metric), naive.metric_distances(X, C, metric),
                               rtol=1e-9, atol=1e-12)


def test_distances_hand_computed():
    X = np.array([[1.0, 0.0], [3.0, 4.0]])
    C = np.array([[0.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(_metric.distances(X, C, "manhattan"), [[1, 3], [7, 5]])
    np.testing.assert_allclose(_metric.distances(X, C, "chebyshev"), [[1, 2], [4, 3]])
    Xc = np.array([[1.0, 0.0], [1.0, 1.0]])
    Cc = np.array([[2.0, 0.0], [0.0, 5.0]])
    np.testing.assert_allclose(_metric.distances(Xc, Cc, "cosine"),
                               [[0, 1], [1 - 2 ** -0.5, 1 - 2 ** -0.5]], atol=1e-15)


# --- centre updates ----------------------------------------------------------------

def _engine(X, labels, k, metric, w=None):
    return _metric.metric_step(X, w, k, metric)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_update_matches_reference(rng, dtype):
    X = rng.normal(size=(500, 4)).astype(dtype)
    w = rng.integers(0, 4, size=500).astype(dtype)  # ties of cumulative weight are common
    k = 6
    labels = rng.integers(0, k, size=500).astype(np.int32)
    old = rng.normal(size=(k, 4)).astype(dtype)
    eng = _engine(X, labels, k, "manhattan", w)
    C = _metric.median_centers(eng, labels, old)
    assert C.dtype == dtype
    np.testing.assert_array_equal(C, naive.metric_update(X, labels, k, "manhattan", w, old))


def test_median_hand_computed():
    X = np.array([[0.0, 5.0], [1.0, 1.0], [10.0, 2.0], [2.0, 100.0]])
    eng = _engine(X, None, 1, "manhattan")
    C = _metric.median_centers(eng, np.zeros(4, np.int32), np.zeros((1, 2)))
    assert C.tolist() == [[1.0, 2.0]]  # lower median of each column
    w = np.array([1.0, 1.0, 5.0, 1.0])
    eng = _engine(X, None, 1, "manhattan", w)
    C = _metric.median_centers(eng, np.zeros(4, np.int32), np.zeros((1, 2)))
    assert C.tolist() == [[10.0, 2.0]]


def test_cosine_update_matches_reference(rng):
    X = rng.normal(size=(400, 5))
    w = rng.random(400)
    k = 4
    C0 = rng.normal(size=(k, 5))
    eng = _engine(X, None, k, "cosine", w)
    labels = np.full(400, -1, np.int32)
    eng.metric_pass(C0, labels, update=True)
    C = _metric.cosine_centers(eng.tot_sums, C0)
    np.testing.assert_allclose(C, naive.metric_update(X, labels, k, "cosine", w, C0), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, rtol=1e-14)


def test_chebyshev_center_matches_dense_reference(rng):
    for m, d in [(2, 2), (7, 3), (25, 4), (40, 2)]:
        P = rng.normal(size=(m, d)) * rng.uniform(0.5, 5, size=d)
        w = rng.uniform(0.1, 2, size=m)
        c = _metric.chebyshev_center(P, w)
        ref = naive.chebyshev_center(P, w)
        assert naive.cluster_objective(P, c, "chebyshev", w) == pytest.approx(
            naive.cluster_objective(P, ref, "chebyshev", w), rel=1e-8, abs=1e-10)


def test_chebyshev_center_hand_computed():
    # two points: any point of the segment's L-inf "middle" works; the
    # objective is the L-inf distance between them
    P = np.array([[0.0, 0.0], [4.0, 2.0]])
    c = _metric.chebyshev_center(P, np.ones(2))
    assert naive.cluster_objective(P, c, "chebyshev") == pytest.approx(4.0)
    # the four corners of a square: the centre is the middle, objective 4 * 1
    P = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    c = _metric.chebyshev_center(P, np.ones(4))
    np.testing.assert_allclose(c, [1.0, 1.0], atol=1e-9)
    # one dimension: the weighted median
    assert _metric.chebyshev_center(np.array([[0.0], [1.0], [9.0]]), np.ones(3)).tolist() == [1.0]
    # a single row with positive weight
    assert _metric.chebyshev_center(np.array([[3.0, 1.0], [5.0, 5.0]]), np.array([0.0, 2.0])).tolist() \
        == [5.0, 5.0]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed", range(4))
def test_centre_update_is_locally_optimal(metric, seed):
    """No small perturbation of an updated centre lowers its cluster's
    objective (all 2d axis moves and 40 random directions, 3 step sizes)."""
    rng = np.random.default_rng(seed)
    m, d = int(rng.integers(2, 30)), int(rng.integers(1, 5))
    P = rng.normal(size=(m, d)) + (3.0 if metric == "cosine" else 0.0)
    w = rng.uniform(0.2, 3.0, size=m)
    eng = _engine(P, None, 1, metric, w)
    labels = np.zeros(m, np.int32)
    C0 = P[:1].copy()
    if metric == "manhattan":
        C = _metric.median_centers(eng, labels, C0)
    elif metric == "cosine":
        eng.metric_pass(C0, np.full(m, -1, np.int32), update=True)
        C = _metric.cosine_centers(eng.tot_sums, C0)
    else:
        C = _metric.chebyshev_centers(eng, labels, C0)
    c = C[0]
    best = naive.cluster_objective(P, c, metric, w)
    dirs = np.concatenate([np.eye(d), -np.eye(d), rng.normal(size=(40, d))])
    for eps in (1e-6, 1e-3, 1e-1):
        for v in dirs:
            moved = naive.cluster_objective(P, c + eps * v / np.linalg.norm(v), metric, w)
            assert moved >= best - 1e-9 * max(1.0, best)


# --- seeding ---------------------------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeanspp_matches_reference(rng, metric, weighted):
    X = _data(rng, n=200, d=3, metric=metric)
    w = rng.uniform(0.5, 2.0, size=200) if weighted else None
    got = _init.kmeanspp_metric(X, 6, w, np.random.default_rng(7), metric, n_trials=3)
    ref = naive.kmeanspp_metric(X, 6, np.random.default_rng(7), metric, 3, w)
    assert got.tolist() == ref


def test_kmeanspp_uses_the_metric_distance():
    """With one candidate per step, the second centre is drawn with
    probability proportional to the metric's distance to the first: far
    points under L-inf (but near under L1) get chosen accordingly."""
    # row 0 is the first centre (u = 0); rows 1, 2 differ: under L1, row 1
    # is at 2, row 2 at 3; under L-inf, row 1 at 1, row 2 at 3
    X = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])

    class Fixed:
        def __init__(self, us):
            self.us = list(us)

        def random(self, size=None):
            if size is None:
                return self.us.pop(0)
            out = np.array(self.us[:size])
            del self.us[:size]
            return out

    # L1 potentials 2 and 3 -> row 1 for u < 0.4; L-inf 1 and 3 -> row 1 for u < 0.25
    pick = lambda metric, u: _init.kmeanspp_metric(X, 2, None, Fixed([0.0, u]), metric, n_trials=1)[1]
    assert pick("manhattan", 0.3) == 1
    assert pick("chebyshev", 0.3) == 2
    assert pick("manhattan", 0.45) == 2
    assert pick("chebyshev", 0.2) == 1


def test_kmeanspp_few_distinct_points():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]])
    with pytest.raises(FewDistinctPointsError, match="distinct"):
        _init.kmeanspp_metric(X, 3, None, np.random.default_rng(0), "manhattan")
    # under cosine, parallel rows are the same point
    with pytest.raises(FewDistinctPointsError, match="cosine"):
        _init.kmeanspp_metric(X, 2, None, np.random.default_rng(0), "cosine")


# --- whole runs --------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["manhattan", "cosine"])
@pytest.mark.parametrize("weighted", [False, True])
def test_run_matches_reference(rng, metric, weighted):
    X = _data(rng, n=400, d=3, k=3, metric=metric)
    w = rng.uniform(0.5, 2.0, size=len(X)) if weighted else None
    C0 = X[[0, 1, 2, 3]].copy()
    res = run_metric(X, 4, metric, w=w, init=C0, tol=0.0)
    C, labels, obj, n_iter = naive.metric_lloyd(X, C0, metric, w=w)
    assert np.array_equal(res.labels, labels)
    assert res.inertia == pytest.approx(obj, rel=1e-10)
    assert res.n_iter == n_iter
    np.testing.assert_allclose(res.centers, C, rtol=1e-12, atol=1e-12)
    assert res.converged


@pytest.mark.parametrize("weighted", [False, True])
def test_chebyshev_run_is_a_fixed_point_of_the_reference(rng, weighted):
    """The Chebyshev centre need not be unique (the LP can have a face of
    optima), so runs are compared through the reference's optimality: the
    returned labels are the nearest centres, every centre attains the dense
    reference LP's optimum for its members, and the objective matches."""
    X = _data(rng, n=150, d=3, k=3)
    w = rng.uniform(0.5, 2.0, size=len(X)) if weighted else None
    res = run_metric(X, 4, "chebyshev", w=w, init=X[[0, 1, 2, 3]].copy(), tol=0.0)
    assert res.converged
    labels, _, obj = naive.metric_assign(X, res.centers, "chebyshev", w)
    assert np.array_equal(res.labels, labels)
    assert res.inertia == pytest.approx(obj, rel=1e-10)
    ww = np.ones(len(X)) if w is None else w
    for j in range(4):
        m = labels == j
        best = naive.chebyshev_center(X[m], ww[m])
        assert naive.cluster_objective(X[m], res.centers[j], "chebyshev", ww[m]) == pytest.approx(
            naive.cluster_objective(X[m], best, "chebyshev", ww[m]), rel=1e-8)
    # and a hand-checkable case: two tight groups on a line
    Y = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0], [11.0, 0.0], [12.0, 0.0]])
    r = run_metric(Y, 2, "chebyshev", init=Y[[0, 5]].copy(), tol=0.0)
    assert r.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert r.inertia == pytest.approx(4.0)


@pytest.mark.parametrize("metric", METRICS)
def test_float32_stays_float32(rng, metric):
    X = _data(rng, n=200, metric=metric, dtype=np.float32)
    km = KMeans(3, metric=metric, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X).dtype == np.float32
    X64 = X.astype(np.float64)
    km64 = KMeans(3, metric=metric, random_state=0, init=km.cluster_centers_.astype(np.float64)).fit(X64)
    assert km64.inertia_ == pytest.approx(km.inertia_, rel=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_results_do_not_depend_on_thread_count(rng, metric):
    X = _data(rng, n=3000 if metric != "chebyshev" else 600, d=4, k=5, metric=metric)
    w = rng.random(len(X))
    a = KMeans(5, metric=metric, random_state=3, n_init=2, n_threads=1).fit(X, sample_weight=w)
    b = KMeans(5, metric=metric, random_state=3, n_init=2, n_threads=2).fit(X, sample_weight=w)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    assert np.array_equal(a.transform(X), b.set_params(n_threads=1).transform(X))


def test_empty_cluster_relocated_to_farthest_point():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0]])
    # centre 1 is far from every row: it gets the farthest row, (10, 10)
    C0 = np.array([[0.0, 0.0], [-100.0, 50.0]])
    res = run_metric(X, 2, "manhattan", init=C0, tol=0.0)
    assert res.labels.tolist() == [0, 0, 0, 1]
    assert res.centers.tolist() == [[0.0, 0.0], [10.0, 10.0]]
    assert res.inertia == 2.0


# --- the objective never increases ---------------------------------------------------

@pytest.mark.filterwarnings("ignore:n_clusters=.*distinct:RuntimeWarning")
@settings(max_examples=30, deadline=None)
@given(metric=st.sampled_from(METRICS), n=st.integers(8, 60), d=st.integers(1, 4),
       k=st.integers(1, 6), seed=st.integers(0, 2 ** 31 - 1), dup=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_objective_never_increases(metric, n, d, k, seed, dup, dtype):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d)
    if dup:  # many repeated coordinates: median ties, degenerate LPs
        X = np.round(X)
    if metric == "cosine":
        X[np.all(X == 0, axis=1)] = 1.0
    X = X.astype(dtype)
    w = rng.integers(0, 3, size=n).astype(dtype)
    w[0] = 1
    C0 = rng.normal(size=(k, d)).astype(dtype) * 3
    if metric == "cosine":
        C0[np.all(C0 == 0, axis=1)] = 1.0
    res = run_metric(X, k, metric, w=w, init=C0, tol=0.0, max_iter=50,
                                    on_few="warn")
    h = np.array(res.history + [res.inertia])
    scale = max(1.0, float(h[0]))
    assert np.all(np.diff(h) <= 1e-12 * scale), h
    # the reported objective is the objective of the returned centres and labels
    _, _, obj = naive.metric_assign(X, res.centers, metric, w)
    assert res.inertia == pytest.approx(obj, rel=1e-6, abs=1e-9)


# --- errors ------------------------------------------------------------------------

def test_cosine_zero_vectors_rejected():
    X = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="zero norm.*first at index 1.*Remove those rows or use another metric"):
        KMeans(2, metric="cosine").fit(X)
    km = KMeans(2, metric="cosine", random_state=0).fit(X[[0, 2]])
    with pytest.raises(ValueError, match="zero norm"):
        km.predict(X)
    with pytest.raises(ValueError, match="init has 1 row"):
        KMeans(2, metric="cosine", init=np.array([[0.0, 0.0], [1.0, 1.0]])).fit(X[[0, 2]])
    # the Euclidean metric takes zero rows
    assert KMeans(2, random_state=0).fit(X).inertia_ >= 0


def test_unknown_metric_message():
    with pytest.raises(ValueError, match="metric must be one of 'euclidean', 'manhattan', 'cosine', 'chebyshev'"):
        KMeans(2, metric="minkowski").fit([[0.0], [1.0]])


@pytest.mark.parametrize("metric", ["manhattan", "cosine", "chebyshev"])
def test_native_fit_and_assign_use_the_metric(metric):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3)) + 5.0
    r = kmeanskit.fit(X, 4, metric=metric, random_state=0)
    assert r.metric == metric
    labels, dist, obj = kmeanskit.assign(X, r.centers, metric=metric)
    np.testing.assert_array_equal(labels, r.labels)
    np.testing.assert_array_equal(r.predict(X), r.labels)
    assert obj == pytest.approx(r.inertia, rel=1e-9)
    ref = {"manhattan": lambda a, b: np.abs(a - b).sum(-1),
           "chebyshev": lambda a, b: np.abs(a - b).max(-1),
           "cosine": lambda a, b: 1 - (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)}
    D = ref[metric](X[:, None, :], r.centers[None, :, :])
    np.testing.assert_array_equal(labels, D.argmin(1))
    np.testing.assert_allclose(dist, D.min(1), rtol=1e-9, atol=1e-12)


def test_native_cosine_zero_rows_error():
    with pytest.raises(ValueError, match="zero norm"):
        kmeanskit.fit(np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]]), 2, metric="cosine")
