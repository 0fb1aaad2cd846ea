"""The rest of scikit-learn's / scipy's k-means surface: kmeans_plusplus,
float16 input, metric aliases, polars tables in segment, and kmeans2's
seedings drawing exactly as scipy's."""

import warnings

import numpy as np
import pytest
import scipy.cluster.vq as svq

import kmeanskit
import kmeanskit.vq as kvq
import naive
from conftest import blobs
from kmeanskit import KMeans
from kmeanskit.core import fitted

# --- kmeans_plusplus -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trials", [1, 3, None])
def test_kmeans_plusplus_is_the_greedy_reference(dtype, trials):
    X = np.random.default_rng(1).normal(size=(500, 5)).astype(dtype)
    k = 7
    t = trials if trials is not None else 2 + int(2 * np.log(k))
    C, idx = kmeanskit.kmeans_plusplus(X, k, random_state=np.random.default_rng(3),
                                       n_local_trials=trials)
    want = naive.kmeanspp_metric(X, k, np.random.default_rng(3), "sqeuclidean", t)
    assert idx.tolist() == list(want)
    assert C.dtype == dtype and C.shape == (k, 5)
    np.testing.assert_array_equal(C, X[idx])


def test_kmeans_plusplus_signature_and_blobs_like_sklearn():
    from sklearn.cluster import kmeans_plusplus as sk_kpp

    X, lab, _ = blobs(np.random.default_rng(0), n=800, d=3, k=5, spread=0.3)
    ours, idx = kmeanskit.kmeans_plusplus(X, n_clusters=5, sample_weight=None, x_squared_norms=None,
                                          random_state=0, n_local_trials=None)
    theirs, sidx = sk_kpp(X, n_clusters=5, sample_weight=None, random_state=0)
    # one seed in each well-separated blob, as scikit-learn's
    assert sorted(lab[idx].tolist()) == sorted(lab[sidx].tolist()) == [0, 1, 2, 3, 4]
    assert idx.shape == sidx.shape and ours.shape == theirs.shape


def test_kmeans_plusplus_weights_and_errors():
    X = np.arange(20, dtype=float).reshape(10, 2)
    w = np.zeros(10)
    w[[2, 7]] = 1.0
    C, idx = kmeanskit.kmeans_plusplus(X, 2, sample_weight=w, random_state=0)
    assert sorted(idx.tolist()) == [2, 7]
    with pytest.raises(ValueError, match="n_clusters=11 is larger"):
        kmeanskit.kmeans_plusplus(X, 11)
    with pytest.raises(ValueError, match="distinct"):
        kmeanskit.kmeans_plusplus(np.zeros((5, 2)), 2, random_state=0)
    with pytest.raises(ValueError, match="n_local_trials"):
        kmeanskit.kmeans_plusplus(X, 2, n_local_trials=0)


# --- float16: scikit-learn's rule (float64) everywhere ------------------------------------

def test_float16_gives_float64_like_sklearn():
    from sklearn.cluster import KMeans as SKKMeans

    X, _, _ = blobs(np.random.default_rng(2), n=300, d=3, k=3)
    X16 = X.astype(np.float16)
    init = X16[[0, 1, 2]].astype(np.float64)
    sk = SKKMeans(3, init=init, n_init=1).fit(X16)
    km = KMeans(3, init=init).fit(X16)
    r = kmeanskit.fit(X16, 3, init=init)
    assert sk.cluster_centers_.dtype == km.cluster_centers_.dtype == r.centers.dtype == np.float64
    # the same as on the float64 values of the float16 data, and as scikit-learn
    r64 = kmeanskit.fit(X16.astype(np.float64), 3, init=init)
    np.testing.assert_array_equal(r.centers, r64.centers)
    np.testing.assert_allclose(km.cluster_centers_, sk.cluster_centers_, rtol=1e-12, atol=1e-12)
    labels, d2, inertia = kmeanskit.assign(X16, r.centers)
    assert d2.dtype == np.float64
    np.testing.assert_allclose(inertia, r.inertia, rtol=1e-12)
    assert km.predict(X16).tolist() == sk.predict(X16).tolist()


# --- metric aliases --------------------------------------------------------------------

ALIASES = [("l2", "euclidean"), ("sqeuclidean", "euclidean"), ("cityblock", "manhattan"),
           ("l1", "manhattan"), ("linf", "chebyshev"), ("infinity", "chebyshev"),
           ("cosine", "cosine")]


@pytest.mark.parametrize("alias,name", ALIASES)
def test_metric_aliases_are_the_same_fit(alias, name):
    X, _, _ = blobs(np.random.default_rng(4), n=200, d=3, k=3)
    X = X + 50.0  # no zero rows for cosine
    init = X[[0, 1, 2]]
    a = kmeanskit.fit(X, 3, init=init, metric=alias)
    b = kmeanskit.fit(X, 3, init=init, metric=name)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert a.metric == name and a.inertia == b.inertia
    km = KMeans(3, init=init, metric=alias).fit(X)
    assert km.get_params()["metric"] == alias  # scikit-learn: parameters are kept as given
    np.testing.assert_array_equal(km.cluster_centers_, b.centers)
    assert fitted(km).metric == name
    la, da, oa = kmeanskit.assign(X, b.centers, metric=alias)
    lb, db, ob = kmeanskit.assign(X, b.centers, metric=name)
    assert la.tolist() == lb.tolist() and oa == ob


def test_metric_alias_saved_under_its_name(tmp_path):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [9.0, 9.0], [10.0, 9.0]])
    km = KMeans(2, init=X[[0, 2]], metric="cityblock").fit(X)
    loaded = kmeanskit.load(km.save(tmp_path / "m.kmk"))
    assert loaded.metric == "manhattan"
    assert loaded.predict(X).tolist() == km.predict(X).tolist()


@pytest.mark.parametrize("bad,hint", [
    ("minkowski", "p=1 is 'manhattan'"),
    ("Euclidean", "Use 'euclidean'"),
    ("cosin", "Did you mean 'cosine'"),
    ("mahalanobis", "whiten"),
    ("correlation", "'cosine'"),
])
def test_unknown_metric_says_which_name_to_use(bad, hint):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [9.0, 9.0]])
    for call in (lambda: kmeanskit.fit(X, 2, metric=bad),
                 lambda: kmeanskit.assign(X, X[:2], metric=bad),
                 lambda: KMeans(2, metric=bad).fit(X)):
        with pytest.raises(ValueError, match="metric must be one of") as e:
            call()
        assert hint in str(e.value)


# --- segment on polars --------------------------------------------------------------

def test_segment_accepts_polars_like_pandas():
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    data = {"name": list("abcdef"), "spend": [10.0, 12.0, 11.0, 90.0, 95.0, 92.0],
            "visits": [1, 2, 1, 9, 8, 9]}
    a = kmeanskit.segment(pl.DataFrame(data), k=2)
    b = kmeanskit.segment(pd.DataFrame(data), k=2)
    assert a.columns == b.columns == ["spend", "visits"] and a.skipped == ["name"]
    assert a.labels.tolist() == b.labels.tolist()
    np.testing.assert_array_equal(a.model.cluster_centers_, b.model.cluster_centers_)
    # as fit does with the same frame
    r = kmeanskit.fit(pl.DataFrame(data).select("spend", "visits"), 2, random_state=0)
    assert r.centers.shape == (2, 2)


# --- kmeans2: scipy's draws ---------------------------------------------------------

def _scipy_tests():
    try:
        with warnings.catch_warnings():  # its array-API marks are unknown to this suite
            warnings.simplefilter("ignore")
            from scipy.cluster.tests import test_vq
    except Exception:  # pragma: no cover - a scipy built without its tests
        pytest.skip("scipy's own tests are not installed")
    return test_vq


def _kpp_high_dim_data(rng):
    n_dim, size = 100, 10
    centers = np.vstack([5 * np.ones(n_dim), -5 * np.ones(n_dim)])
    data = np.vstack([rng.multivariate_normal(centers[0], np.eye(n_dim), size=size),
                      rng.multivariate_normal(centers[1], np.eye(n_dim), size=size)])
    return data, centers


def test_scipy_kmeans2_kpp_high_dim():
    # scipy's test_kmeans2_kpp_high_dim (gh-11462), with kmeanskit's kmeans2
    rng = np.random.default_rng(23587923456834568)
    data, centers = _kpp_high_dim_data(rng)
    res, _ = kvq.kmeans2(data, 2, minit="++", rng=rng)
    np.testing.assert_array_equal(np.sign(res), np.sign(centers))


def test_scipy_kmeans2_kpp_low_dim():
    # scipy's test_kmeans2_kpp_low_dim (gh-11462)
    data = _scipy_tests().TESTDATA_2D
    rng = np.random.default_rng(2358792345678234568)
    res, _ = kvq.kmeans2(data, 2, minit="++", rng=rng)
    np.testing.assert_allclose(res, [[-1.95266667, 0.898], [-3.153375, 3.3945]], rtol=1e-7)


def _generators(s):
    return [("Generator", lambda: {"rng": np.random.default_rng(s)}),
            ("RandomState", lambda: {"rng": np.random.RandomState(s)}),
            ("seed=int", lambda: {"seed": s})]


@pytest.mark.parametrize("minit", ["++", "points", "random"])
@pytest.mark.parametrize("s", [0, 1, 12345678])
@pytest.mark.parametrize("one_d", [False, True])
def test_kmeans2_draws_as_scipy(minit, s, one_d):
    data = _scipy_tests().TESTDATA_2D
    data = data[:, 1] if one_d else data
    for label, kw in _generators(s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 'random' may leave a cluster empty, in both
            c1, l1 = svq.kmeans2(data, 3, iter=5, minit=minit, **kw())
            c2, l2 = kvq.kmeans2(data, 3, iter=5, minit=minit, **kw())
        np.testing.assert_allclose(c2, c1, rtol=1e-12, atol=1e-12, err_msg=label)
        assert l2.tolist() == l1.tolist(), label


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans2_kpp_same_as_scipy_in_many_dimensions(dtype):
    data, _ = _kpp_high_dim_data(np.random.default_rng(5))
    data = data.astype(dtype)
    c1, l1 = svq.kmeans2(data, 4, minit="++", rng=np.random.default_rng(9))
    c2, l2 = kvq.kmeans2(data, 4, minit="++", rng=np.random.default_rng(9))
    assert l2.tolist() == l1.tolist()
    np.testing.assert_allclose(c2, c1, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_kmeans2_global_state_when_no_seed():
    data = _scipy_tests().TESTDATA_2D
    np.random.seed(3)
    c1, _ = svq.kmeans2(data, 3, minit="points")
    np.random.seed(3)
    c2, _ = kvq.kmeans2(data, 3, minit="points")
    np.testing.assert_allclose(c2, c1, rtol=1e-12)  # means summed in another order


def test_kmeans2_greedy_kpp_under_its_own_name():
    X, lab, _ = blobs(np.random.default_rng(0), n=400, d=2, k=4, spread=0.2)
    C, labels = kvq.kmeans2(X, 4, minit="greedy++", rng=np.random.default_rng(1))
    idx = kmeanskit.kmeans_plusplus(X, 4, random_state=np.random.default_rng(1))[1]
    C0 = X[idx]
    C_ref, l_ref = kvq.kmeans2(X, C0, minit="matrix")
    np.testing.assert_array_equal(C, C_ref)
    assert labels.tolist() == l_ref.tolist()
    with pytest.raises(ValueError, match="Unknown init method"):
        kvq.kmeans2(X, 4, minit="kmeans++")
