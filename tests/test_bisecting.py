"""kmeanskit.BisectingKMeans: scikit-learn's estimator checks, scikit-learn's
trees on the same data, the split rules written out, sparse = dense."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import naive
from conftest import blobs
from kmeanskit import BisectingKMeans

SKLEARN_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight is not equivalent to removing/repeating samples (as in scikit-learn).",
    "check_sample_weight_equivalence_on_sparse_data":
        "sample_weight is not equivalent to removing/repeating samples (as in scikit-learn).",
}


@parametrize_with_checks([BisectingKMeans(), BisectingKMeans(n_clusters=3, init="k-means++",
                                                             bisecting_strategy="largest_cluster")],
                         expected_failed_checks=lambda est: SKLEARN_XFAIL)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("strategy", ["biggest_inertia", "largest_cluster"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_tree_as_sklearn(strategy, dtype):
    from sklearn.cluster import BisectingKMeans as SKBisecting

    X, lab, _ = blobs(np.random.default_rng(0), n=3000, d=4, k=6, spread=0.4, dtype=dtype)
    ours = BisectingKMeans(6, random_state=0, bisecting_strategy=strategy).fit(X)
    theirs = SKBisecting(6, random_state=0, bisecting_strategy=strategy).fit(X)
    assert ours.cluster_centers_.dtype == dtype
    assert adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5 if dtype == np.float32 else 1e-12)
    # the same leaves, in scikit-learn's order (left subtree first) up to the
    # order of the two children of each split
    order, sk_order = np.lexsort(ours.cluster_centers_.T), np.lexsort(theirs.cluster_centers_.T)
    np.testing.assert_allclose(ours.cluster_centers_[order], theirs.cluster_centers_[sk_order],
                               rtol=1e-5 if dtype == np.float32 else 1e-10)
    Y = X[::7] + 0.3
    assert adjusted_rand_score(ours.predict(Y), theirs.predict(Y)) == 1.0
    np.testing.assert_allclose(ours.transform(Y)[:, order], theirs.transform(Y)[:, sk_order], rtol=1e-4)


def _tree_checks(bk, X, w=None):
    """Every split (run to strict convergence, tol=0) is a 2-means fixed point
    and the fitted attributes agree."""
    w = np.ones(len(X)) if w is None else w
    k = bk.n_clusters

    def walk(node):
        if node.left is None:
            return [node.label]
        leaves_l, leaves_r = walk(node.left), walk(node.right)
        rows = np.isin(bk.labels_, leaves_l + leaves_r)
        left = np.isin(bk.labels_, leaves_l)
        # the child centres are the weighted means of the rows on each side,
        for side, centre in ((left, node.left.center), (rows & ~left, node.right.center)):
            if w[side].sum() > 0:
                np.testing.assert_allclose(centre, np.average(X[side], axis=0, weights=w[side]),
                                           rtol=1e-9, atol=1e-9)
        # and each row is on the side of the nearer child centre
        lab, _, _ = naive.assign(X[rows], np.vstack([node.left.center, node.right.center]))
        assert lab.tolist() == (~left[rows]).astype(int).tolist()
        return leaves_l + leaves_r

    assert sorted(walk(bk._tree)) == list(range(k))
    centres = bk.cluster_centers_.astype(np.float64)
    d2 = ((X - centres[bk.labels_]) ** 2).sum(axis=1)
    assert bk.inertia_ == pytest.approx(float(np.dot(w, d2)), rel=1e-10)
    assert bk.predict(X).tolist() == bk.labels_.tolist()


@pytest.mark.parametrize("strategy", ["biggest_inertia", "largest_cluster"])
def test_every_split_is_a_two_means_fixed_point(strategy):
    rng = np.random.default_rng(1)
    X, _, _ = blobs(rng, n=1500, d=3, k=7, spread=1.5)
    w = rng.random(1500) + 0.1
    _tree_checks(BisectingKMeans(7, random_state=2, tol=0.0, bisecting_strategy=strategy).fit(X), X)
    _tree_checks(BisectingKMeans(7, random_state=2, tol=0.0, bisecting_strategy=strategy).fit(X, sample_weight=w),
                 X, w)


def test_strategies_split_different_clusters():
    # A: 20 rows spread wide (the largest inertia); B: 400 rows tight (the most rows)
    rng = np.random.default_rng(3)
    A = rng.normal(scale=10.0, size=(20, 2))
    B = rng.normal(scale=0.1, size=(400, 2)) + 1000.0
    X = np.vstack([A, B])
    by_inertia = BisectingKMeans(3, random_state=0, init="k-means++").fit(X)
    by_size = BisectingKMeans(3, random_state=0, init="k-means++",
                              bisecting_strategy="largest_cluster").fit(X)
    assert np.unique(by_inertia.labels_[:20]).size == 2 and np.unique(by_inertia.labels_[20:]).size == 1
    assert np.unique(by_size.labels_[:20]).size == 1 and np.unique(by_size.labels_[20:]).size == 2


def test_hand_computed():
    X = np.array([[1, 1], [10, 1], [3, 1], [10, 0], [2, 1], [10, 2], [10, 8], [10, 9], [10, 10]],
                 dtype=float)
    bk = BisectingKMeans(n_clusters=3, random_state=0).fit(X)
    assert sorted(bk.cluster_centers_.tolist()) == [[2.0, 1.0], [10.0, 1.0], [10.0, 9.0]]
    assert bk.inertia_ == pytest.approx(2.0 + 2.0 + 2.0)


def test_sparse_is_the_dense_tree():
    sp = pytest.importorskip("scipy.sparse")
    X, _, _ = blobs(np.random.default_rng(4), n=2000, d=20, k=5)
    X[np.abs(X) < 5] = 0.0
    dense = BisectingKMeans(5, random_state=0).fit(X)
    sparse = BisectingKMeans(5, random_state=0).fit(sp.csr_matrix(X))
    assert sparse.labels_.tolist() == dense.labels_.tolist()
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=1e-10, atol=1e-10)
    assert sparse.inertia_ == pytest.approx(dense.inertia_, rel=1e-10)
    assert sparse.predict(sp.csr_matrix(X[:50])).tolist() == dense.predict(X[:50]).tolist()


def test_few_distinct_points_and_errors():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5 + [[5.0, 5.0]] * 5)
    with pytest.warns(Warning, match="Number of distinct clusters \\(3\\) found smaller than n_clusters \\(5\\)"):
        bk = BisectingKMeans(5, random_state=0).fit(X)
    assert bk.cluster_centers_.shape == (5, 2) and np.unique(bk.labels_).size == 3
    assert bk.inertia_ == 0.0
    with pytest.raises(ValueError, match="bisecting_strategy must be one of"):
        BisectingKMeans(2, bisecting_strategy="largest").fit(X)
    with pytest.raises(ValueError, match="n_samples=15 should be >= n_clusters=16"):
        BisectingKMeans(16).fit(X)
