"""Anomaly scores: against the slow reference in every metric, planted
outliers ranked first (raw and normalised), tight-versus-loose clusters,
exact contamination counts with deterministic ties, saved spreads, bad
arguments; k-prototypes models (mixed rows, missing values) against their
own slow reference."""

import warnings

import numpy as np
import pytest

import kmeanskit
import naive
from conftest import blobs, three_groups
from kmeanskit import KMeans, cluster_spread, detect_outliers, outlier_scores
from test_mixed import mixed_table

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


# --- k-prototypes models: mixed numeric / categorical rows, missing values -----------------


def _kp_hand():
    """Centres (1, 'a') and (11, 'b'), gamma 1: every training row at distance 1."""
    from kmeanskit import KPrototypes

    T = np.array([[0.0, "a"], [2.0, "a"], [10.0, "b"], [12.0, "b"]], dtype=object)
    kp = KPrototypes(2, gamma=1.0, init=T[[0, 2]], missing="ignore").fit(T)
    assert kp.cluster_centroids_.tolist() == [[1.0, "a"], [11.0, "b"]]
    return kp


def test_kprototypes_hand_computed():
    kp = _kp_hand()
    rows = np.array([[5.0, "b"],     # nearest (1, a): 16 + a mismatch (1)
                     [7.0, None],    # no category: 16 to (11, b), rescaled by 2 columns / 1 present
                     [1.0, "z"],     # a category never seen: present, matches no centre (+1)
                     [None, None],   # nothing present: no score
                     [None, "b"],    # only its category, equal to (11, b)'s
                     [11.0, "a"]],   # 0 + a mismatch
                    dtype=object)
    scores = outlier_scores(kp, rows)
    np.testing.assert_allclose(scores, [np.sqrt(17.0), np.sqrt(32.0), 1.0, np.nan, 0.0, 1.0],
                               rtol=1e-15)
    # the training rows are all at distance 1: spreads 1 (fitted, kept on the model)
    assert kp.cluster_spread_.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(outlier_scores(kp, rows, normalize=True), scores, rtol=1e-15)
    # spreads from other rows: cluster 0 median of [1, 2] = 1.5; cluster 1 [0, 0] is filled with 1.5
    ref = np.array([[0.0, "a"], [3.0, "a"], [11.0, "b"], [11.0, "b"]], dtype=object)
    assert cluster_spread(kp, ref).tolist() == [1.5, 1.5]
    np.testing.assert_allclose(outlier_scores(kp, rows, normalize=True, reference=ref), scores / 1.5,
                               rtol=1e-15)
    found = detect_outliers(kp, rows, threshold=1.0)
    assert found.indices.tolist() == [1, 0, 2, 5]  # NaN is never flagged
    assert found.labels.tolist() == kp.predict(rows).tolist() == [0, 1, 0, 0, 1, 1]
    # the report lists the unscored row last, with no score or cluster, and empty cells as "-"
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [5.0, 7.0, 1.0, np.nan, np.nan, 11.0], "c": ["b", None, "z", None, "b", "a"]})
    page = found.to_html(frame=frame, top=6)
    body = page[page.index("<tbody>", page.index("top-table")):]
    rows_html = body[:body.index("</tbody>")].split("</tr>")[:-1]
    assert [r.count('class="picked"') for r in rows_html] == [1, 1, 1, 1, 0, 0]
    assert rows_html[0].endswith('<td class="num" data-value="7.0">7</td><td>-</td>')
    assert rows_html[5].endswith('<td class="num" data-value="">-</td><td></td><td class="num" data-value="">-'
                                 '</td><td class="num" data-value="">-</td><td>-</td>')
    found = detect_outliers(kp, rows, contamination=0.3)  # ceil(0.3 x 5 scored rows) = 2
    assert found.indices.tolist() == [1, 0] and found.threshold == pytest.approx(np.sqrt(17.0))


def test_kprototypes_against_reference(rng):
    from kmeanskit import KPrototypes
    from kmeanskit._mixed import UNSEEN

    X, _ = mixed_table(rng, n=240)
    X[rng.random(X.shape) < 0.15] = None
    km = KPrototypes(3, missing="ignore", random_state=0).fit(X)
    Y, _ = mixed_table(rng, n=80)
    Y[rng.random(Y.shape) < 0.2] = None
    Y[:4, 3] = "never-seen"
    Y[5] = None  # nothing present
    codes = km._codes
    ny, nx = codes.encode(Y, unseen=UNSEEN), codes.encode(X)
    assert (ny.cat == UNSEEN).sum() == 4 and (ny.cat == -1).any() and np.isnan(ny.num).any()
    Cn, Cc = km._C[:, :3], km._C[:, 3:].astype(int)
    labels, ref = naive.mixed_outlier_scores(ny.num, ny.cat, Cn, Cc, km.gamma_)
    np.testing.assert_allclose(outlier_scores(km, Y), ref, rtol=1e-12, equal_nan=True)
    found = detect_outliers(km, Y, threshold=0.0)
    np.testing.assert_array_equal(found.labels[~np.isnan(ref)], labels[~np.isnan(ref)])
    assert found.mask.sum() == 79 and not found.mask[5]
    # normalised by the fitted spreads (the training rows' median scores) or by a reference
    _, train = naive.mixed_outlier_scores(nx.num, nx.cat, Cn, Cc, km.gamma_)
    tl = km.predict(X)
    np.testing.assert_allclose(km.cluster_spread_, [np.median(train[tl == j]) for j in range(3)],
                               rtol=1e-12)
    _, ref_n = naive.mixed_outlier_scores(ny.num, ny.cat, Cn, Cc, km.gamma_, normalize=True,
                                          reference=(nx.num, nx.cat))
    np.testing.assert_allclose(outlier_scores(km, Y, normalize=True), ref_n, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(outlier_scores(km, Y, normalize=True, reference=X), ref_n, rtol=1e-12,
                               equal_nan=True)
    _, self_n = naive.mixed_outlier_scores(ny.num, ny.cat, Cn, Cc, km.gamma_, normalize=True)
    del km.cluster_spread_  # a model without saved spreads measures them on the rows scored
    np.testing.assert_allclose(outlier_scores(km, Y, normalize=True), self_n, rtol=1e-12, equal_nan=True)


def test_kprototypes_numeric_only_scores_as_kmeans(data):
    """Without categorical columns or gaps a k-prototypes model scores as
    k-means with the same centres: the Euclidean distance."""
    from kmeanskit import KPrototypes

    kp = KPrototypes(4, random_state=0).fit(data)
    r = kmeanskit.fit(data, 4, init=kp.cluster_centers_, algorithm="lloyd")
    np.testing.assert_allclose(r.centers, kp.cluster_centers_, rtol=1e-10)
    Y = data[::3] + 0.5
    np.testing.assert_allclose(outlier_scores(kp, Y), outlier_scores(r, Y), rtol=1e-9)
    np.testing.assert_allclose(outlier_scores(kp, Y), naive.outlier_scores(Y, kp.cluster_centers_, "euclidean"),
                               rtol=1e-9)
    # the square of a complete row's score is the dissimilarity to the nearest prototype
    np.testing.assert_allclose(outlier_scores(kp, Y) ** 2, kp.transform(Y).min(axis=1), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_kprototypes_planted_outlier_ranks_first(seed):
    """A row with a rare category combination and extreme numbers gets the
    top score, raw and normalised, with and without gaps elsewhere."""
    from kmeanskit import KPrototypes

    g = np.random.default_rng(seed)
    X, y = mixed_table(g, n=300, noise=0.05)
    X[g.random(X.shape) < 0.1] = None
    km = KPrototypes(3, missing="ignore", random_state=seed).fit(X)
    Y, _ = mixed_table(g, n=100, noise=0.05)
    Y[g.random(Y.shape) < 0.1] = None
    # group y has categories (c_y, c_{y+1}) 95 % of the time: (c0, c2) is rare; the numbers far out
    num = np.asarray(X[:, :3], dtype=float)
    Y[37] = [*(np.nanmax(num, axis=0) + 3 * np.nanstd(num, axis=0)), "c0", "c2"]
    for normalize in (False, True):
        scores = outlier_scores(km, Y, normalize=normalize)
        assert int(np.nanargmax(scores)) == 37
        assert scores[37] > 1.5 * np.sort(scores[~np.isnan(scores)])[-2]
        found = detect_outliers(km, Y, contamination=0.005, normalize=normalize)
        assert found.indices.tolist() == [37]


def test_kprototypes_saved_spreads_and_report(tmp_path, rng):
    from kmeanskit import KPrototypes, models

    X, _ = mixed_table(rng, n=150)
    X[rng.random(X.shape) < 0.1] = None
    km = KPrototypes(3, missing="ignore", random_state=0).fit(X)
    p = km.save(tmp_path / "m.kmk")
    rec = models.read(p)
    np.testing.assert_array_equal(rec.cluster_spread, km.cluster_spread_)
    expected = outlier_scores(km, X, normalize=True)
    for loaded in (kmeanskit.load(p), KPrototypes.load(p), rec):  # estimator or plain record
        np.testing.assert_array_equal(outlier_scores(loaded, X, normalize=True), expected)
    found = detect_outliers(km, X, contamination=0.02)
    assert found.n_outliers == 3
    page = found.to_html(source="mixed.csv")
    assert "3 of 150 rows flagged" in page
    top = found.indices[0]
    assert f">{top}<" in page and f">{found.labels[top]}<" in page


def test_kprototypes_bad_input():
    from kmeanskit import KPrototypes

    kp = _kp_hand()
    with pytest.raises(ValueError, match="normalize must be True or False"):
        outlier_scores(kp, [[1.0, "a"]], normalize="median")
    with pytest.raises(ValueError, match="X has 1 columns but the model was fitted on 2"):
        outlier_scores(kp, [[1.0]])
    with pytest.raises(ValueError, match="not fitted"):
        outlier_scores(KPrototypes(2), [[1.0, "a"]])
    complete = KPrototypes(2, gamma=1.0, random_state=0).fit(
        np.array([[0.0, "a"], [2.0, "a"], [10.0, "b"], [12.0, "b"]], dtype=object))
    with pytest.raises(ValueError, match=r"1 missing value\(s\).*missing='raise'"):
        outlier_scores(complete, np.array([[None, "a"]], dtype=object))
    # an unseen category is a value, not a gap: scored even without missing="ignore"
    assert outlier_scores(complete, np.array([[1.0, "q"]], dtype=object)).tolist() == [1.0]


@pytest.mark.parametrize("exp", [600, -600])
def test_scores_of_extreme_magnitudes_are_exact(exp):
    # rows of 2**600: their squared distances overflow, their distances do not; rows of 2**-600:
    # their squares underflow. The scores, spreads and thresholds are those of the unscaled rows
    # times 2**exp (bit for bit: power-of-two scaling is exact); normalized scores the same
    f = 2.0 ** exp
    X = three_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fit's inertia beyond the range
        ref = kmeanskit.KMeans(3, random_state=0).fit(X)
        big = kmeanskit.KMeans(3, random_state=0).fit(X * f)
    np.testing.assert_array_equal(outlier_scores(big, X * f), outlier_scores(ref, X) * f)
    np.testing.assert_array_equal(cluster_spread(big, X * f), cluster_spread(ref, X) * f)
    np.testing.assert_array_equal(outlier_scores(big, X * f, normalize=True),
                                  outlier_scores(ref, X, normalize=True))
    a, b = detect_outliers(ref, X), detect_outliers(big, X * f)
    np.testing.assert_array_equal(b.mask, a.mask)
    assert b.threshold == a.threshold * f
