"""Anomaly scores: against the slow reference in every metric, planted
outliers ranked first (raw and normalised), tight-versus-loose clusters,
exact contamination counts with deterministic ties, saved spreads, bad
arguments."""

import numpy as np
import pytest

import kmeanskit
import naive
from conftest import blobs
from kmeanskit import KMeans, cluster_spread, detect_outliers, outlier_scores

METRICS = ["euclidean", "manhattan", "cosine", "chebyshev"]


@pytest.fixture
def data(rng):
    X, _, _ = blobs(rng, n=300, d=3, k=4)
    return X + 30.0


@pytest.mark.parametrize("metric", METRICS)
def test_against_reference(data, metric, rng):
    km = KMeans(4, metric=metric, random_state=0).fit(data)
    C = km.cluster_centers_
    Y = data[:50] + rng.normal(scale=2.0, size=(50, 3))
    np.testing.assert_allclose(outlier_scores(km, Y), naive.outlier_scores(Y, C, metric),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cluster_spread(km, data), naive.cluster_spread(data, C, metric),
                               rtol=1e-10)
    np.testing.assert_allclose(outlier_scores(km, Y, normalize=True),
                               naive.outlier_scores(Y, C, metric, normalize=True), rtol=1e-10)
    np.testing.assert_allclose(outlier_scores(km, Y, normalize=True, reference=data),
                               naive.outlier_scores(Y, C, metric, True, reference=data),
                               rtol=1e-10)
    # the native result gives the same scores
    r = kmeanskit.fit(data, 4, metric=metric, init=C)
    np.testing.assert_allclose(outlier_scores(r, Y), naive.outlier_scores(Y, r.centers, metric),
                               rtol=1e-10, atol=1e-12)


def test_float32(data):
    X = data.astype(np.float32)
    km = KMeans(4, random_state=0).fit(X)
    np.testing.assert_allclose(outlier_scores(km, X),
                               naive.outlier_scores(X, km.cluster_centers_, "euclidean"),
                               rtol=1e-4, atol=1e-4)


def test_hand_computed():
    km = KMeans(2, init=[[0.0, 0.0], [10.0, 0.0]]).fit([[0.0, 1.0], [0.0, -1.0],
                                                          [10.0, 3.0], [10.0, -3.0]])
    assert outlier_scores(km, [[3.0, 4.0], [10.0, 0.0]]).tolist() == [5.0, 0.0]
    # spreads 1 and 3
    assert cluster_spread(km, [[0.0, 1.0], [10.0, 3.0]]).tolist() == [1.0, 3.0]
    np.testing.assert_allclose(
        outlier_scores(km, [[3.0, 4.0], [16.0, 0.0]], normalize=True,
                       reference=[[0.0, 1.0], [0.0, -1.0], [10.0, 3.0], [10.0, -3.0]]),
        [5.0, 2.0])


def test_zero_and_empty_spreads():
    km = KMeans(3, init=[[0.0], [10.0], [100.0]]).fit([[0.0], [2.0], [10.0], [100.0]])
    # cluster 0 spread 1, cluster 1 only its centre (0), cluster 2 no member: both take 1
    s = cluster_spread(km, [[0.0], [2.0], [10.0], [10.0]])
    assert s.tolist() == [1.0, 1.0, 1.0]
    # nothing measurable at all: 1.0
    assert cluster_spread(km, [[10.0]]).tolist() == [1.0, 1.0, 1.0]


def _tight_and_loose(seed, n_out=5):
    """Two tight and two loose 2-D clusters far apart, and planted outliers
    well away from every cluster."""
    g = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [60.0, 0.0], [0.0, 60.0], [60.0, 60.0]])
    sigma = np.array([0.3, 0.3, 3.0, 3.0])
    lab = np.repeat(np.arange(4), 150)
    X = centres[lab] + g.normal(size=(600, 2)) * sigma[lab, None]
    # outliers: 12 to 18 units from a random centre, in a random direction
    which = g.integers(0, 4, n_out)
    ang = g.uniform(0, 2 * np.pi, n_out)
    rad = g.uniform(20.0, 25.0, n_out)
    out = centres[which] + rad[:, None] * np.c_[np.cos(ang), np.sin(ang)]
    return X, out, centres


@pytest.mark.parametrize("seed", range(5))
def test_planted_outliers_rank_first(seed):
    X, out, _ = _tight_and_loose(seed)
    km = KMeans(4, random_state=seed, n_init=3).fit(X)
    Y = np.vstack([X, out])
    planted = set(range(len(X), len(Y)))
    for normalize in (False, True):
        scores = outlier_scores(km, Y, normalize=normalize, reference=X)
        assert set(np.argsort(-scores)[:len(out)]) == planted
        found = detect_outliers(km, Y, contamination=len(out) / len(Y), normalize=normalize,
                                reference=X)
        assert set(np.flatnonzero(found.mask)) == planted
    # fitted on all the rows, outliers included, they still come first
    km_all = KMeans(4, random_state=seed, n_init=3).fit(Y)
    scores = outlier_scores(km_all, Y)
    assert set(np.argsort(-scores)[:len(out)]) == planted


@pytest.mark.parametrize("seed", range(3))
def test_normalize_compares_tight_and_loose(seed):
    X, _, centres = _tight_and_loose(seed)
    km = KMeans(4, random_state=seed, n_init=3).fit(X)
    far_from_tight = centres[0] + [1.5, 0.0]           # 5 sigma from a tight cluster
    loose_members = X[300:450]                          # cluster 2 (sigma 3)
    d_loose = np.linalg.norm(loose_members - centres[2], axis=1)
    typical = loose_members[np.argsort(d_loose)[len(d_loose) // 2]]  # median distance
    Y = np.vstack([far_from_tight, typical])
    raw = outlier_scores(km, Y)
    norm = outlier_scores(km, Y, normalize=True, reference=X)
    assert raw[1] > raw[0]            # raw distance favours the loose member
    assert norm[0] > 3 * norm[1]      # relative to the spread, the other is anomalous
    assert abs(norm[1] - 1.0) < 0.2   # a typical member scores about 1


def test_saved_spread_is_used(tmp_path, data):
    km = KMeans(4, random_state=0).fit(data)
    Y = data[::7] + 1.0
    expected = outlier_scores(km, Y, normalize=True, reference=data)
    loaded = kmeanskit.load(km.save(tmp_path / "m.kmk", cluster_spread=cluster_spread(km, data)))
    np.testing.assert_allclose(outlier_scores(loaded, Y, normalize=True), expected, rtol=1e-15)
    # a reference still wins over the saved spread
    np.testing.assert_allclose(outlier_scores(loaded, Y, normalize=True, reference=Y),
                               outlier_scores(km, Y, normalize=True), rtol=1e-15)


def test_contamination_counts_and_ties(data, rng):
    km = KMeans(4, random_state=0).fit(data)
    n = len(data)
    for c, m in [(0.01, 3), (0.02, 6), (0.1, 30), (0.013, 4), (0.49, 147), (1e-6, 1)]:
        found = detect_outliers(km, data, contamination=c)
        assert found.n_outliers == m
        np.testing.assert_array_equal(found.mask, naive.top_fraction(found.scores, c))
        assert found.threshold == found.scores[found.mask].min()
        assert (found.scores[~found.mask] <= found.threshold).all()
    assert detect_outliers(km, data).n_outliers == int(np.ceil(0.01 * n))
    # ties: the lower row index wins, whatever the order of equal scores
    one = KMeans(1, init=[[0.0]]).fit([[0.0], [1.0], [-1.0]])
    X = np.array([[1.0], [-1.0], [0.0], [1.0], [-1.0], [0.5]])
    found = detect_outliers(one, X, contamination=0.34)  # ceil(2.04) = 3
    assert found.mask.tolist() == [True, True, False, True, False, False]
    assert found.indices.tolist() == [0, 1, 3] and found.threshold == 1.0


def test_threshold(data):
    km = KMeans(4, random_state=0).fit(data)
    scores = outlier_scores(km, data)
    t = float(np.quantile(scores, 0.9))
    found = detect_outliers(km, data, threshold=t)
    np.testing.assert_array_equal(found.mask, scores >= t)
    assert found.threshold == t
    assert list(found.indices) == sorted(np.flatnonzero(scores >= t), key=lambda i: -scores[i])
    assert "Outliers(n_outliers=" in repr(found)


def test_input_not_modified_and_scaling_is_callers(data):
    km = KMeans(4, random_state=0).fit(data)
    X = data.copy()
    outlier_scores(km, X, normalize=True, reference=X)
    detect_outliers(km, X)
    np.testing.assert_array_equal(X, data)


@pytest.mark.parametrize("kwargs, match", [
    (dict(contamination=0.1, threshold=1.0), "not both"),
    (dict(contamination=0.0), "contamination must be a fraction"),
    (dict(contamination=0.5), "contamination must be a fraction"),
    (dict(contamination=-0.1), "contamination must be a fraction"),
    (dict(contamination="1%"), "contamination must be a fraction"),
    (dict(contamination=True), "contamination must be a fraction"),
    (dict(threshold=float("nan")), "threshold must be a finite number"),
    (dict(threshold="high"), "threshold must be a finite number"),
])
def test_bad_arguments(data, kwargs, match):
    km = KMeans(4, random_state=0).fit(data)
    with pytest.raises(ValueError, match=match):
        detect_outliers(km, data, **kwargs)


def test_bad_models_and_data(data):
    km = KMeans(4, random_state=0).fit(data)
    with pytest.raises(ValueError, match="fitted kmeanskit.KMeans or a KMeansResult"):
        outlier_scores(np.zeros((4, 3)), data)
    with pytest.raises(ValueError, match="not fitted"):
        outlier_scores(KMeans(2), data)
    with pytest.raises(ValueError, match="features"):
        outlier_scores(km, data[:, :2])
    with pytest.raises(ValueError, match="features"):
        outlier_scores(km, data, normalize=True, reference=data[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        outlier_scores(km, np.full((2, 3), np.nan))
