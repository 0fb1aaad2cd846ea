"""kmeanskit.choose_k on scipy.sparse rows (and under metric="cosine"):
the same sweep as on ``X.toarray()`` (same k, same fits, criteria equal to
rounding), the criteria against scikit-learn's on the same labels, the
sampled silhouette, duplicate merging, the subsample warm start, the
refused gap statistic, and a TF-IDF corpus that is never densified."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.preprocessing import normalize

import kmeanskit
from kmeanskit import _sparse
from kmeanskit import metrics as km_metrics
from kmeanskit.selection import _dedupe, _dedupe_sparse, _RowCriteria
from test_sparse import tfidf_like

CRITERIA = ("inertia", "distortion", "silhouette", "silhouette_se", "calinski_harabasz", "davies_bouldin")


def scaled_tfidf(n=500, d=150, seed=0, dtype=np.float64):
    """TF-IDF-like rows (tests/test_sparse.py) scaled by factors in [0.5, 2]:
    Euclidean distances of a row to two centres it shares no term with then
    differ by the centres' norms. (Unit rows make such distances exactly
    equal, 2.0, and the sparse and dense passes may break that exact tie
    differently, so their fits would not be comparable.)"""
    X = tfidf_like(n, d, per_row=12, n_topics=5, seed=seed)
    s = np.random.default_rng(seed + 100).uniform(0.5, 2.0, n)
    return (sp.diags(s) @ X).tocsr().astype(dtype)


@pytest.fixture(scope="module")
def X():
    return scaled_tfidf()


def assert_same_sweep(a, b, rtol=1e-9):
    """Two sweeps with the same fits: same k, votes, knee and labels, the
    criteria equal to ``rtol``."""
    assert a.best_k == b.best_k
    assert a.votes() == b.votes()
    assert a.knee == b.knee
    assert a.n_rows_clustered == b.n_rows_clustered
    assert a.notes == b.notes
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    for c in CRITERIA:
        np.testing.assert_allclose(getattr(a, c), getattr(b, c), rtol=rtol, atol=1e-12, err_msg=c)
    for k in a.models:
        np.testing.assert_array_equal(a.models[k].labels, b.models[k].labels)
        np.testing.assert_allclose(a.models[k].centers, b.models[k].centers, rtol=0, atol=1e-6)
        assert a.models[k].metric == b.models[k].metric


# --- the same sweep as on X.toarray() -----------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_sweep_equals_dense_sweep(X, metric, dtype, weighted):
    Xt = X.astype(dtype)
    w = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    kw = dict(k=range(1, 8), metric=metric, sample_weight=w, random_state=0)
    a = kmeanskit.choose_k(Xt, **kw)
    b = kmeanskit.choose_k(Xt.toarray(), **kw)
    assert_same_sweep(a, b)
    assert a.metric == metric and a.models[3].centers.dtype == dtype
    # the sweep says something: the indices are defined from k = 2 and vote
    assert np.all(np.isfinite(a.silhouette[1:])) and np.isnan(a.silhouette[0])
    assert all(a.votes()[c] in range(2, 8) for c in ("silhouette", "calinski_harabasz", "davies_bouldin"))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_scipy_distortion_and_other_formats_same(X, metric):
    kw = dict(k=range(1, 6), metric=metric, distortion="scipy", random_state=2,
              criteria=("elbow", "silhouette"))
    ref = kmeanskit.choose_k(X, **kw)
    assert_same_sweep(ref, kmeanskit.choose_k(X.toarray(), **kw))
    # the distortion is the mean distance: not squared under euclidean, 1 - cos under cosine
    r = ref.models[3]
    d = kmeanskit.assign(X, r.centers, metric=metric)[1]
    expected = d.mean() if metric == "cosine" else np.sqrt(d).mean()
    assert ref.distortion[2] == pytest.approx(expected, rel=1e-12)
    for Y in (X.tocsc(), X.tocoo(), sp.csr_array(X), X.tolil()):
        got = kmeanskit.choose_k(Y, **kw)
        for c in CRITERIA:
            np.testing.assert_array_equal(getattr(got, c), getattr(ref, c))


def test_sampled_silhouette_equals_dense(X):
    # more rows than silhouette_max_exact: the sampled estimate, from the same random draws
    kw = dict(k=range(1, 6), random_state=4, silhouette_max_exact=200, silhouette_samples=150,
              criteria=("silhouette", "davies_bouldin"))
    for metric in ("euclidean", "cosine"):
        a = kmeanskit.choose_k(X, metric=metric, **kw)
        b = kmeanskit.choose_k(X.toarray(), metric=metric, **kw)
        assert np.all(a.silhouette_se[1:] > 0)
        assert_same_sweep(a, b)


def test_sampled_silhouette_with_a_reference_subset(X):
    # n > max_reference: a uniform reference subset, weights kept, as kmeanskit.metrics draws it
    lab = kmeanskit.fit(X, 4, random_state=0).labels
    w = np.random.default_rng(2).integers(1, 4, X.shape[0]).astype(np.float64)
    crit = _RowCriteria(_sparse.as_sparse_rows(X), w, cosine=False)
    got = crit.silhouette(None, lab, max_exact=100, n_samples=80, max_reference=300,
                          random_state=np.random.default_rng(7))
    ref = km_metrics.silhouette(X.toarray(), lab, sample_weight=w, max_exact=100, n_samples=80,
                                max_reference=300, random_state=np.random.default_rng(7))
    assert (got.exact, got.n_scored, got.n_reference) == (False, 80, 300)
    assert got.value == pytest.approx(ref.value, rel=1e-12)
    assert got.standard_error == pytest.approx(ref.standard_error, rel=1e-9)


def test_presampled_warm_start_same_as_dense(X):
    kw = dict(k=range(1, 6), presample=200, random_state=5, criteria=("elbow", "calinski_harabasz"))
    for metric in ("euclidean", "cosine"):
        a = kmeanskit.choose_k(X, metric=metric, **kw)
        assert any("Large data" in n for n in a.notes)
        assert_same_sweep(a, kmeanskit.choose_k(X.toarray(), metric=metric, **kw))


# --- the criteria against scikit-learn on the same labels ---------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_criteria_equal_sklearn_on_the_sweep_labels(X, metric):
    sweep = kmeanskit.choose_k(X, range(1, 7), metric=metric, random_state=1)
    # scikit-learn's silhouette takes sparse rows; its CH and DB do not, so they get the
    # dense rows (under cosine, the unit rows: the indices of spherical k-means' sphere)
    Xd = normalize(X).toarray() if metric == "cosine" else X.toarray()
    for i, k in enumerate(sweep.k):
        if k < 2:
            continue
        lab = sweep.models[int(k)].labels
        assert sweep.silhouette[i] == pytest.approx(skm.silhouette_score(X, lab, metric=metric), rel=1e-9)
        assert sweep.calinski_harabasz[i] == pytest.approx(skm.calinski_harabasz_score(Xd, lab), rel=1e-9)
        assert sweep.davies_bouldin[i] == pytest.approx(skm.davies_bouldin_score(Xd, lab), rel=1e-9)
    with pytest.raises(TypeError):  # why CH gets the dense rows above
        skm.calinski_harabasz_score(X, sweep.models[2].labels)


def test_silhouette_sums_against_a_direct_computation_and_thread_counts(X):
    rows = _sparse.as_sparse_rows(X[:300])
    lab = np.random.default_rng(0).integers(0, 4, 300)
    w = np.random.default_rng(1).random(300)
    query = np.array([0, 5, 17, 299, 5])
    Xd = X[:300].toarray()
    D = np.sqrt(((Xd[query][:, None, :] - Xd[None, :, :]) ** 2).sum(axis=2))
    U = normalize(Xd)
    Dc = 1.0 - U[query] @ U.T
    onehot = np.eye(4)[lab] * w[:, None]
    old = numba.get_num_threads()
    try:
        for t in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            got = _sparse.silhouette_sums(rows, lab, 4, w, query, cosine=False, n_threads=t)
            np.testing.assert_allclose(got, D @ onehot, rtol=1e-12)
            gotc = _sparse.silhouette_sums(rows, lab, 4, w, query, cosine=True, n_threads=t)
            np.testing.assert_allclose(gotc, np.clip(Dc, 0, 2) @ onehot, rtol=1e-12, atol=1e-12)
            if t == 1:
                first = (got, gotc)
            else:
                np.testing.assert_array_equal(got, first[0])
                np.testing.assert_array_equal(gotc, first[1])
    finally:
        numba.set_num_threads(old)
    # a duplicate row is at distance exactly 0 (the expansion alone would leave rounding)
    dup = _sparse.as_sparse_rows(sp.vstack([X[:50], X[3]]).tocsr())
    s = _sparse.silhouette_sums(dup, np.zeros(51, dtype=np.int64), 1, np.eye(1, 51, 3).ravel(),
                                np.array([50]))
    assert s[0, 0] == 0.0


# --- duplicate rows merged into weights -----------------------------------------------------------------

def counts_matrix(n=12_000, seed=0, negative=False, full_column=False):
    """Small whole-number rows, half zeros: many duplicates."""
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 4, size=(n, 5)) * (rng.random((n, 5)) < 0.5)
    A[: n // 3, 0] += 6  # a cluster of rows far out on feature 0
    if negative:
        A[:, 1] -= 2 * (rng.random(n) < 0.3)
    if full_column:
        A = np.c_[A, rng.integers(3, 5, size=n)]  # stored in every row, lowest value 3
    return sp.csr_matrix(A.astype(np.float64))


@pytest.mark.parametrize("negative,full_column", [(False, False), (True, False), (False, True)])
def test_dedupe_sparse_merges_as_dense(negative, full_column):
    S = counts_matrix(negative=negative, full_column=full_column)
    w = np.random.default_rng(3).random(S.shape[0])
    for ww in (None, w):
        got = _dedupe_sparse(_sparse.as_sparse_rows(S), ww)
        ref = _dedupe(S.toarray(), ww)
        assert got is not None and ref is not None
        np.testing.assert_array_equal(got[0].to_scipy().toarray(), ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(got[2], ref[2])
        # exact: the merged rows and weights rebuild the input
        np.testing.assert_array_equal(got[0].to_scipy().toarray()[got[2]], S.toarray())
    # text-like rows (not whole numbers, many columns) are left alone, as dense rows are
    T = scaled_tfidf(10_500, 60, seed=2)
    assert _dedupe_sparse(_sparse.as_sparse_rows(T), None) is None
    assert _dedupe(T.toarray(), None) is None


def test_sweep_of_counts_with_duplicates_same_as_dense():
    S = counts_matrix()
    kw = dict(k=range(1, 6), random_state=0)
    a = kmeanskit.choose_k(S, **kw)
    b = kmeanskit.choose_k(S.toarray(), **kw)
    assert a.n_rows_clustered < S.shape[0] // 2
    assert any("distinct rows with weights" in n for n in a.notes)
    assert_same_sweep(a, b)
    assert a.models[2].labels.shape == (S.shape[0],)


# --- the gap statistic, and errors ------------------------------------------------------------------------

def test_gap_refused_for_sparse_and_cosine_with_the_fix(X):
    with pytest.raises(ValueError, match=r"gap statistic does not take sparse input.*"
                       r"elbow, silhouette, calinski_harabasz, davies_bouldin.*TruncatedSVD"):
        kmeanskit.choose_k(X, range(1, 4), criteria=("elbow", "gap"))
    with pytest.raises(ValueError, match=r"does not take metric='cosine'.*drop 'gap'"):
        kmeanskit.choose_k(X.toarray(), range(1, 4), criteria=("gap",), metric="cosine")
    # "all": every criterion that takes the input, and a note saying what was left out
    sweep = kmeanskit.choose_k(X, range(1, 4), criteria="all", random_state=0)
    assert sweep.criteria == ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin")
    assert np.isnan(sweep.gap).all()
    assert any("left out of criteria='all'" in n for n in sweep.notes)
    assert "left out of criteria='all'" in sweep.explain()
    # dense euclidean rows keep it
    assert "gap" in kmeanskit.choose_k(X.toarray(), range(1, 4), criteria="all", random_state=0,
                                       gap_references=2).criteria


def test_sparse_errors_name_the_problem_and_the_fix(X):
    zero = sp.vstack([X[:30], sp.csr_matrix((1, X.shape[1]))]).tocsr()
    with pytest.raises(ValueError, match=r"1 row\(s\) of zero norm \(first at index 30\)"):
        kmeanskit.choose_k(zero, range(1, 4), metric="cosine")
    kmeanskit.choose_k(zero, range(1, 4), random_state=0)  # euclidean takes a zero row
    with pytest.raises(ValueError, match="metric must be one of 'euclidean', 'cosine'"):
        kmeanskit.choose_k(X, range(1, 4), metric="manhattan")
    with pytest.raises(ValueError, match=r"k=5 is more than the 4 distinct points of X; sweep k up to 4"):
        kmeanskit.choose_k(sp.csr_matrix(np.repeat(np.eye(4), 3, axis=0)), range(1, 6))
    with pytest.raises(ValueError, match="NaN or infinity"):
        bad = X.copy()
        bad.data[0] = np.nan
        kmeanskit.choose_k(bad, range(1, 3))


# --- text ---------------------------------------------------------------------------------------------------

def generated_corpus(seed=0, per_topic=120):
    """Documents on four topics: a few words of the topic among common words."""
    rng = np.random.default_rng(seed)
    topics = ["orbit rocket launch planet moon satellite astronaut telescope".split(),
              "recipe oven flour sugar butter bake dough garlic".split(),
              "goal match striker referee league penalty stadium coach".split(),
              "court judge lawyer verdict trial appeal jury witness".split()]
    common = "the a of and to in is it that for on with as this was".split()
    docs, truth = [], []
    for t, words in enumerate(topics):
        for _ in range(per_topic):
            own = rng.choice(words, int(rng.integers(3, 8))).tolist()
            docs.append(" ".join(own + rng.choice(common, int(rng.integers(4, 30))).tolist()))
            truth.append(t)
    return docs, np.array(truth)


def test_tfidf_corpus_finds_its_topics_without_densifying(monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs, truth = generated_corpus()
    X = TfidfVectorizer(stop_words="english").fit_transform(docs)
    assert sp.issparse(X) and X.nnz / X.shape[0] < 6
    dense = kmeanskit.choose_k(X.toarray(), range(1, 9), metric="cosine", random_state=0)

    def refuse(self, *a, **k):
        raise AssertionError("choose_k densified the sparse matrix")

    for cls in {c for c in type(X).__mro__ for name in ("toarray", "todense") if name in vars(c)}:
        for name in ("toarray", "todense"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, refuse)
    with pytest.raises(AssertionError, match="densified"):
        X.toarray()  # the guard works
    sweep = kmeanskit.choose_k(X, range(1, 9), metric="cosine", random_state=0)
    monkeypatch.undo()
    assert sweep.best_k == 4
    assert skm.adjusted_rand_score(truth, sweep.models[4].labels) == 1.0
    assert_same_sweep(sweep, dense)


def test_scipy_sparse_random_euclidean():
    # a scipy.sparse.random matrix (no structure to find): the sweep runs and equals the dense one
    S = sp.random(400, 300, density=0.03, format="csr", random_state=np.random.default_rng(0))
    kw = dict(k=range(1, 6), random_state=0)
    assert_same_sweep(kmeanskit.choose_k(S, **kw), kmeanskit.choose_k(S.toarray(), **kw))
