"""Sparse input (scipy.sparse CSR/CSC and other formats) through the one fit
path: against scikit-learn from identical starts, against kmeanskit's own
dense result on ``X.toarray()``, weights, float32/float64, thread counts,
errors, scikit-learn pipelines, and docs/text.md's examples."""

from __future__ import annotations

import re
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SKMeans

import kmeanskit
from kmeanskit import _sparse
from kmeanskit.anomaly import outlier_scores
from kmeanskit.cluster_affinity import affinity

ROOT = Path(__file__).resolve().parents[1]


def tfidf_like(n=1500, d=400, per_row=16, n_topics=8, seed=0, dtype=np.float64):
    """TF-IDF-like rows: half the terms of a row from a Zipf law over the
    vocabulary, half from its topic's own Zipf law (a permutation of it),
    positive values, rows L2-normalised; the frequent terms overlap between
    rows, so rows are not at equal distances from most centres."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, d + 1)
    p /= p.sum()
    perms = [rng.permutation(d) for _ in range(n_topics)]
    indptr, indices = [0], []
    for i in range(n):
        cols = np.unique(np.concatenate([rng.choice(d, per_row // 2, p=p),
                                         perms[i % n_topics][rng.choice(d, per_row // 2, p=p)]]))
        indices.append(cols)
        indptr.append(indptr[-1] + cols.size)
    indices = np.concatenate(indices)
    data = rng.random(indices.size) + 0.1
    X = sp.csr_matrix((data, indices, np.array(indptr)), shape=(n, d))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / norms) @ X
    return X.tocsr().astype(dtype)


@pytest.fixture(scope="module")
def X():
    return tfidf_like()


def start(X, k, seed=1):
    rng = np.random.default_rng(seed)
    return X[rng.choice(X.shape[0], k, replace=False)].toarray()


# --- against scikit-learn from the same start -------------------------------------------------

@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "elkan", "auto"])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_as_sklearn_float64(X, algorithm, weighted):
    k = 12
    C0 = start(X, k)
    w = np.random.default_rng(3).random(X.shape[0]) * 2 if weighted else None
    ours = kmeanskit.KMeans(k, init=C0, algorithm=algorithm).fit(X, sample_weight=w)
    theirs = SKMeans(k, init=C0, n_init=1, algorithm="lloyd").fit(X, sample_weight=w)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_same_as_sklearn_float32(X):
    X32 = X.astype(np.float32)
    C0 = start(X, 10).astype(np.float32)
    ours = kmeanskit.KMeans(10, init=C0, algorithm="lloyd").fit(X32)
    theirs = SKMeans(10, init=C0, n_init=1).fit(X32)
    assert ours.cluster_centers_.dtype == np.float32
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=1e-6)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)


def test_predict_transform_score_as_sklearn(X):
    C0 = start(X, 8)
    ours = kmeanskit.KMeans(8, init=C0).fit(X)
    theirs = SKMeans(8, init=C0, n_init=1).fit(X)
    Y = tfidf_like(300, X.shape[1], seed=7)
    np.testing.assert_array_equal(ours.predict(Y), theirs.predict(Y))
    np.testing.assert_allclose(ours.transform(Y), theirs.transform(Y), rtol=1e-9, atol=1e-12)
    assert ours.score(Y) == pytest.approx(theirs.score(Y), rel=1e-10)


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil", "csr_array", "dok"])
def test_other_formats_same_result(X, fmt):
    C0 = start(X, 6)
    ref = kmeanskit.fit(X, 6, init=C0)
    Y = sp.csr_array(X) if fmt == "csr_array" else X.asformat(fmt)
    r = kmeanskit.fit(Y, 6, init=C0)
    np.testing.assert_array_equal(r.labels, ref.labels)
    np.testing.assert_array_equal(r.centers, ref.centers)


def test_non_canonical_csr_not_modified():
    # duplicates and unsorted indices: summed in a copy, the input left as it was
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    indices = np.array([2, 0, 2, 1, 0])
    indptr = np.array([0, 3, 5])
    X = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    before = (X.data.copy(), X.indices.copy())
    rows = _sparse.as_sparse_rows(X)
    np.testing.assert_array_equal(rows[0], [2.0, 0.0, 4.0])
    np.testing.assert_array_equal(X.data, before[0])
    np.testing.assert_array_equal(X.indices, before[1])
    r = kmeanskit.fit(X, 2, init=[[0.0, 0.0, 0.0], [5.0, 4.0, 0.0]])
    np.testing.assert_array_equal(r.centers, [[2.0, 0.0, 4.0], [5.0, 4.0, 0.0]])


# --- against the dense path ---------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_as_dense_from_a_seed(X, metric, init):
    r = kmeanskit.fit(X, 9, metric=metric, init=init, random_state=4)
    d = kmeanskit.fit(X.toarray(), 9, metric=metric, init=init, random_state=4)
    assert r.n_iter == d.n_iter
    np.testing.assert_array_equal(r.labels, d.labels)
    np.testing.assert_allclose(r.centers, d.centers, rtol=0, atol=1e-12)
    assert r.inertia == pytest.approx(d.inertia, rel=1e-10)


def test_same_as_dense_with_weights_float32(X):
    X32 = X.astype(np.float32)
    w = np.random.default_rng(5).integers(0, 4, X.shape[0]).astype(np.float64)
    r = kmeanskit.fit(X32, 7, sample_weight=w, random_state=2)
    d = kmeanskit.fit(X32.toarray(), 7, sample_weight=w, random_state=2)
    assert r.centers.dtype == np.float32
    np.testing.assert_array_equal(r.labels, d.labels)
    np.testing.assert_allclose(r.centers, d.centers, rtol=0, atol=1e-6)
    assert r.inertia == pytest.approx(d.inertia, rel=1e-6)


def test_sampled_seeding_same_as_dense():
    # more rows than two sample sizes: "auto" seeds a sample (the dense path's draws)
    X = tfidf_like(41_000, 60, per_row=8, seed=3)
    r = kmeanskit.fit(X, 5, random_state=0, max_iter=5)
    d = kmeanskit.fit(X.toarray(), 5, random_state=0, max_iter=5)
    np.testing.assert_array_equal(r.labels, d.labels)
    np.testing.assert_allclose(r.centers, d.centers, rtol=0, atol=1e-12)


def test_assign_and_distances_as_dense(X):
    C = start(X, 5)
    labels, d2, inertia = kmeanskit.assign(X, C)
    ld, dd, idd = kmeanskit.assign(X.toarray(), C)
    np.testing.assert_array_equal(labels, ld)
    np.testing.assert_allclose(d2, dd, rtol=1e-9, atol=1e-12)
    assert inertia == pytest.approx(idd, rel=1e-10)
    naive = ((X.toarray()[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_allclose(_sparse.sq_distances(_sparse.as_sparse_rows(X), C), naive,
                               rtol=1e-9, atol=1e-12)
    cos = 1 - (X.toarray() @ C.T) / np.outer(np.linalg.norm(X.toarray(), axis=1),
                                            np.linalg.norm(C, axis=1))
    got = _sparse.sq_distances(_sparse.as_sparse_rows(X), C, cosine=True)
    np.testing.assert_allclose(got, np.where(cos > 1e-12, cos, 0.0), rtol=1e-9, atol=1e-12)


def test_ties_take_the_exact_argmin():
    # row 0 is equally far from both centres: the lower index, as the dense path
    X = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 0.3, 0.0]]))
    C = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    labels, d2, _ = kmeanskit.assign(X, C)
    assert labels.tolist() == kmeanskit.assign(X.toarray(), C)[0].tolist() == [0, 0]
    assert d2.tolist() == [1.0, pytest.approx(0.09)]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_assign_matches_dense_property(n, d, k, seed):
    rng = np.random.default_rng(seed)
    A = np.where(rng.random((n, d)) < 0.3, np.round(rng.normal(size=(n, d)), 1), 0.0)
    C = np.round(rng.normal(size=(k, d)), 1)
    labels, d2, _ = kmeanskit.assign(sp.csr_matrix(A), C)
    ld, dd, _ = kmeanskit.assign(A, C)
    # where two centres are at the same real distance (values on a 0.1 grid make such ties
    # common), either is right: the rounding of each path's sums decides
    D = np.sort(((A[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
    clear = D[:, 1] - D[:, 0] > 1e-9 * (1 + D[:, 1]) if k > 1 else np.ones(n, bool)
    np.testing.assert_array_equal(labels[clear], ld[clear])
    np.testing.assert_allclose(d2, dd, rtol=1e-9, atol=1e-9)


# --- cosine: spherical k-means --------------------------------------------------------------------

def test_cosine_estimator_same_as_dense(X):
    ours = kmeanskit.KMeans(6, metric="cosine", random_state=0).fit(X)
    dense = kmeanskit.KMeans(6, metric="cosine", random_state=0).fit(X.toarray())
    np.testing.assert_array_equal(ours.labels_, dense.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, dense.cluster_centers_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ours.cluster_centers_, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ours.transform(X), dense.transform(X.toarray()), rtol=1e-9, atol=1e-12)


def test_cosine_ignores_row_length(X):
    # spherical k-means on rows scaled by arbitrary positive factors: the same clustering
    s = np.random.default_rng(9).uniform(0.1, 50, X.shape[0])
    a = kmeanskit.fit(X, 5, metric="cosine", random_state=1)
    b = kmeanskit.fit(sp.diags(s) @ X, 5, metric="cosine", random_state=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.centers, b.centers, rtol=0, atol=1e-12)


# --- determinism -------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric,algorithm", [("euclidean", "lloyd"), ("euclidean", "hamerly"),
                                              ("cosine", "auto")])
def test_same_result_for_any_thread_count(X, metric, algorithm):
    old = numba.get_num_threads()
    out = []
    try:
        for t in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(t)
            out.append(kmeanskit.fit(X, 8, metric=metric, algorithm=algorithm, random_state=3))
    finally:
        numba.set_num_threads(old)
    for r in out[1:]:
        np.testing.assert_array_equal(r.labels, out[0].labels)
        np.testing.assert_array_equal(r.centers, out[0].centers)
        assert r.inertia == out[0].inertia


# --- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["manhattan", "chebyshev"])
def test_metrics_without_sparse_input_say_which_do(X, metric):
    with pytest.raises(ValueError, match="sparse rows work with metric='euclidean' or metric='cosine'"):
        kmeanskit.fit(X, 3, metric=metric)
    with pytest.raises(ValueError, match="metric='euclidean' or metric='cosine'"):
        kmeanskit.KMeans(3, metric=metric).fit(X)


def test_bad_sparse_input_messages(X):
    bad = X.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        kmeanskit.fit(bad, 3)
    with pytest.raises(ValueError, match="not numeric"):
        kmeanskit.fit(X.astype(np.complex128), 3)
    with pytest.raises(ValueError, match="empty"):
        kmeanskit.fit(sp.csr_matrix((0, 4)), 1)
    zero = sp.vstack([X[:10], sp.csr_matrix((1, X.shape[1]))]).tocsr()
    with pytest.raises(ValueError, match=r"1 row\(s\) of zero norm \(first at index 10\)"):
        kmeanskit.fit(zero, 2, metric="cosine")
    with pytest.raises(ValueError, match="centers have 3 features but X has"):
        kmeanskit.assign(X, np.zeros((2, 3)))


def test_functions_without_sparse_input_no_longer_say_dtype_object(X):
    # the message names the problem and the fix (was "X has dtype object ...")
    from kmeanskit.metrics import calinski_harabasz

    with pytest.raises(ValueError, match=r"scipy.sparse matrix.*choose_k.*X.toarray\(\)") as e:
        calinski_harabasz(X, np.arange(X.shape[0]) % 3)
    assert "dtype object" not in str(e.value)


def test_choose_k_takes_sparse_rows(X):
    # choose_k no longer refuses sparse rows: the sweep of X.toarray() (tests/test_selection_sparse.py)
    sweep = kmeanskit.choose_k(X[:400], range(1, 5), metric="cosine", random_state=0)
    dense = kmeanskit.choose_k(X[:400].toarray(), range(1, 5), metric="cosine", random_state=0)
    assert sweep.best_k == dense.best_k
    np.testing.assert_allclose(sweep.calinski_harabasz, dense.calinski_harabasz, rtol=1e-9)


def test_seeding_without_sparse_version_says_so(X):
    with pytest.raises(ValueError, match="not available for sparse input"):
        kmeanskit.fit(X, 3, init="k-means||")


def test_restarts_same_as_dense(X):
    # several runs on one source: the centre sums start afresh for each run
    r = kmeanskit.fit(X, 6, init="random", n_init=3, random_state=8)
    d = kmeanskit.fit(X.toarray(), 6, init="random", n_init=3, random_state=8)
    np.testing.assert_array_equal(r.labels, d.labels)
    np.testing.assert_allclose(r.centers, d.centers, rtol=0, atol=1e-12)


def test_too_few_distinct_rows():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="only 2 distinct points"):
        kmeanskit.fit(X, 3)
    with pytest.warns(Warning, match="Number of distinct clusters"):
        km = kmeanskit.KMeans(3, random_state=0).fit(X)
    assert sorted(set(km.labels_.tolist())) == [0, 1]


# --- the rest of the API -------------------------------------------------------------------------------

def test_affinity_outliers_index_as_dense(X):
    km = kmeanskit.KMeans(5, random_state=0).fit(X)
    Y = tfidf_like(200, X.shape[1], seed=11)
    np.testing.assert_allclose(affinity(km, Y), affinity(km, Y.toarray()), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(outlier_scores(km, Y), outlier_scores(km, Y.toarray()),
                               rtol=1e-9, atol=1e-12)
    a, b = kmeanskit.ClusterIndex(km), kmeanskit.ClusterIndex(km)
    a.add(Y)
    b.add(Y.toarray())
    q = Y[:3]
    ra, rb = a.search(q, n=4, probe=2), b.search(q.toarray(), n=4, probe=2)
    np.testing.assert_array_equal(ra[0], rb[0])


def test_tfidf_pipeline_cosine():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import adjusted_rand_score
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    vocab = [[f"w{t}_{i}" for i in range(15)] for t in range(8)]
    docs, topic = [], []
    for t in range(8):
        for _ in range(40):
            docs.append(" ".join(rng.choice(vocab[t], int(rng.integers(5, 30)))))
            topic.append(t)
    pipe = make_pipeline(TfidfVectorizer(), kmeanskit.KMeans(8, metric="cosine", random_state=0))
    labels = pipe.fit_predict(docs)
    assert adjusted_rand_score(topic, labels) == 1.0
    np.testing.assert_array_equal(pipe.predict(docs[:5]), labels[:5])


def test_column_transformer_with_sparse_one_hot():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"city": rng.choice(list("abcdefghij"), 400), "x": rng.normal(size=400),
                       "y": rng.normal(size=400)})
    # a sparse block dominates: ColumnTransformer returns a CSR matrix
    ct = ColumnTransformer([("oh", OneHotEncoder(), ["city"]), ("num", StandardScaler(), ["x", "y"])],
                           sparse_threshold=1.0)
    assert sp.issparse(ct.fit_transform(df))
    pipe = make_pipeline(ct, kmeanskit.KMeans(4, random_state=0)).fit(df)
    Z = ct.fit_transform(df)
    dense = kmeanskit.KMeans(4, random_state=0).fit(Z.toarray())
    np.testing.assert_array_equal(pipe[-1].labels_, dense.labels_)
    np.testing.assert_allclose(pipe[-1].cluster_centers_, dense.cluster_centers_, atol=1e-12)


def test_sklearn_sparse_estimator_checks():
    from sklearn.utils import estimator_checks as ec

    tags = kmeanskit.KMeans().__sklearn_tags__()
    assert tags.input_tags.sparse
    assert not kmeanskit.KMeans(metric="manhattan").__sklearn_tags__().input_tags.sparse
    for name in ("check_estimator_sparse_matrix", "check_estimator_sparse_array",
                 "check_estimator_sparse_tag"):
        check = getattr(ec, name, None)
        if check is not None:
            check(type(kmeanskit.KMeans()).__name__, kmeanskit.KMeans(n_clusters=3))


# --- docs/text.md --------------------------------------------------------------------------------------

def test_text_page_examples_and_figures():
    """Run docs/text.md's Python blocks in order; every ``print`` followed by
    ``#`` lines prints those lines (as tests/test_docs.py checks every page),
    and the figures the prose states are the run's."""
    import contextlib
    import io

    from test_docs import split_prints

    text = (ROOT / "docs" / "text.md").read_text()
    code = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert code
    ns: dict = {}
    checked = 0
    for block in code:
        for src, expected in split_prints(block):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(src, "docs/text.md", "exec"), ns)
            if expected is not None:
                assert [ln.rstrip() for ln in buf.getvalue().rstrip("\n").splitlines()] == expected
                checked += 1
    assert checked >= 4
    # the figures the prose states
    X = ns["X"]
    text = " ".join(text.split())
    assert X.shape == (600, 30) and "600 documents x 30" in text and "30 terms" in text
    assert f"{X.nnz / X.shape[0]:.1f} non-zeros a row" in text
    # choose_k on the sparse matrix: the silhouette's exact limit, the size of a dense gap
    # reference for a TF-IDF matrix, and the gap of the SVD projection rising to the last k
    from kmeanskit.metrics import SILHOUETTE_MAX_EXACT

    assert f"`silhouette_max_exact` ({SILHOUETTE_MAX_EXACT:,})" in text
    assert f"10,000 rows x 50,000 terms is {10_000 * 50_000 * 8 / 2**30:.1f} GiB" in text
    gap = ns["gap"]
    assert np.all(np.diff(gap.gap) > 0) and gap.k[-1] == 8 and "keeps rising up to k = 8" in text
    assert ns["sweep"].best_k == 3 and ns["Z"].shape == (600, 10) and "dense, 600 x 10" in text


# --- extreme magnitudes (docs/reliability.md, "Numerics") ---------------------------------

@pytest.mark.parametrize("exp", [600, -600])
def test_sparse_rows_of_extreme_magnitude_are_scaled_exactly(exp):
    # squares of 2**600 overflow float64, those of 2**-600 underflow: the fit runs on a copy of
    # the stored values scaled by a power of two, so its labels are those of the unscaled rows
    # and its centres theirs times 2**exp, bit for bit (before: a FewDistinctPointsError, or
    # wrong labels); predict, transform and the cosine metric too
    f = 2.0 ** exp
    X = tfidf_like(n=600, d=120, seed=3)
    Xf = X * f
    C0 = X[:4].toarray()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) if exp > 0 else _no_warning():
        ref = kmeanskit.fit(X, 4, init=C0)
        got = kmeanskit.fit(Xf, 4, init=C0 * f)
    np.testing.assert_array_equal(got.labels, ref.labels)
    np.testing.assert_array_equal(got.centers, ref.centers * f)
    assert got.inertia == (np.inf if exp > 0 else 0.0)  # 2**(2 exp) times ref's: beyond the range
    a, b = (kmeanskit.fit(Y, 4, random_state=1) for Y in (X, Xf))
    np.testing.assert_array_equal(b.labels, a.labels)
    np.testing.assert_array_equal(b.centers, a.centers * f)
    km = kmeanskit.KMeans(4, random_state=0).fit(X)
    kf = kmeanskit.KMeans(4, random_state=0).fit(Xf)
    np.testing.assert_array_equal(kf.predict(Xf), km.predict(X))
    np.testing.assert_allclose(kf.transform(Xf) / f, km.transform(X), rtol=1e-12)
    ca, cb = (kmeanskit.fit(Y, 4, random_state=2, metric="cosine") for Y in (X, Xf))
    np.testing.assert_array_equal(cb.labels, ca.labels)
    assert cb.inertia == ca.inertia  # the cosine distance does not scale


class _no_warning:
    def __enter__(self):
        import warnings

        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error", RuntimeWarning)

    def __exit__(self, *exc):
        return self._c.__exit__(*exc)
