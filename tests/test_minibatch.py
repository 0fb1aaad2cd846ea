"""kmeanskit.MiniBatchKMeans: scikit-learn's estimator checks, the update
rule against a NumPy replay, scikit-learn's results on the same data,
determinism for a seed and any thread count."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import naive
from conftest import blobs
from kmeanskit import KMeans, MiniBatchKMeans

# scikit-learn marks these as expected failures for its own MiniBatchKMeans
# (sklearn/utils/_test_common/instance_generator.py): weights are not
# equivalent to repeated rows because the random draws differ.
SKLEARN_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight is not equivalent to removing/repeating samples (as in scikit-learn).",
    "check_sample_weight_equivalence_on_sparse_data":
        "sample_weight is not equivalent to removing/repeating samples (as in scikit-learn).",
}


@parametrize_with_checks([MiniBatchKMeans(), MiniBatchKMeans(n_clusters=3, batch_size=16)],
                         expected_failed_checks=lambda est: SKLEARN_XFAIL)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- the update rule, replayed in NumPy --------------------------------------------------

def _replay_step(Xb, wb, C, counts):
    """scikit-learn's mini-batch update written out: each centre moves to the
    running (weighted) mean of all the rows it has received."""
    labels, _, _ = naive.assign(Xb, C)
    C = C.copy()
    for j in range(C.shape[0]):
        m = labels == j
        if m.any():
            wj = wb[m].sum()
            C[j] = (C[j] * counts[j] + (wb[m, None] * Xb[m]).sum(axis=0)) / (counts[j] + wj)
            counts[j] += wj
    return C, labels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_is_the_numpy_replay(dtype):
    rng = np.random.default_rng(0)
    X, _, _ = blobs(rng, n=2000, d=4, k=5, dtype=dtype)
    C0 = X[:5].astype(np.float64)
    km = MiniBatchKMeans(5, init=C0, batch_size=100, max_iter=2, max_no_improvement=None,
                         reassignment_ratio=0.0, random_state=np.random.default_rng(7)).fit(X)
    # the same draws: one batch of uniform row indices per step
    g = np.random.default_rng(7)
    C, counts = C0.astype(dtype).astype(np.float64), np.zeros(5)
    n_steps = 2 * 2000 // 100
    for _ in range(n_steps):
        idx = g.integers(0, 2000, 100)
        C, _ = _replay_step(X[idx].astype(np.float64), np.ones(100), C, counts)
        C = C.astype(dtype).astype(np.float64)  # centres are stored in the data's dtype
    assert km.n_steps_ == n_steps and km.n_iter_ == 2
    np.testing.assert_allclose(km.cluster_centers_, C, rtol=1e-10 if dtype == np.float64 else 1e-5)
    np.testing.assert_array_equal(km.counts_, counts)
    labels, _, inertia = naive.assign(X, km.cluster_centers_.astype(np.float64))
    assert km.labels_.tolist() == labels.tolist()
    assert km.inertia_ == pytest.approx(inertia, rel=1e-10)


def test_partial_fit_is_the_numpy_replay():
    rng = np.random.default_rng(1)
    X, _, _ = blobs(rng, n=900, d=3, k=4)
    w = rng.random(900)
    C0 = X[[0, 1, 2, 3]]
    km = MiniBatchKMeans(4, init=C0, reassignment_ratio=0.0)
    C, counts = C0.copy(), np.zeros(4)
    for s in range(0, 900, 300):
        km.partial_fit(X[s:s + 300], sample_weight=w[s:s + 300])
        C, labels = _replay_step(X[s:s + 300], w[s:s + 300], C, counts)
        np.testing.assert_allclose(km.cluster_centers_, C, rtol=1e-12)
        np.testing.assert_allclose(km.counts_, counts, rtol=1e-12)
        # labels_ and inertia_ of the batch, with the updated centres (as scikit-learn)
        lab, d2, _ = naive.assign(X[s:s + 300], km.cluster_centers_)
        assert km.labels_.tolist() == lab.tolist()
        assert km.inertia_ == pytest.approx(float(np.dot(w[s:s + 300], d2)), rel=1e-12)
    assert km.n_steps_ == 3


def test_partial_fit_after_fit_continues():
    X, _, _ = blobs(np.random.default_rng(2), n=1000, d=3, k=3)
    km = MiniBatchKMeans(3, random_state=0, batch_size=200).fit(X)
    steps, counts = km.n_steps_, km.counts_.copy()
    km.partial_fit(X[:100])
    assert km.n_steps_ == steps + 1
    assert km.counts_.sum() == pytest.approx(counts.sum() + 100)


# --- results against scikit-learn ---------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_clustering_as_sklearn_on_blobs(dtype):
    from sklearn.cluster import MiniBatchKMeans as SKMiniBatch

    X, lab, _ = blobs(np.random.default_rng(3), n=6000, d=5, k=6, spread=0.5, dtype=dtype)
    ours = MiniBatchKMeans(6, random_state=0, batch_size=256).fit(X)
    theirs = SKMiniBatch(6, random_state=0, batch_size=256).fit(X)
    exact = KMeans(6, random_state=0).fit(X)
    assert ours.cluster_centers_.dtype == dtype
    assert adjusted_rand_score(ours.labels_, lab) == 1.0
    assert adjusted_rand_score(theirs.labels_, lab) == 1.0
    # near the exact k-means optimum, as scikit-learn's
    assert ours.inertia_ <= exact.inertia_ * 1.01
    assert ours.inertia_ <= theirs.inertia_ * 1.01


def test_compute_labels_false_reports_the_smoothed_inertia():
    X, _, _ = blobs(np.random.default_rng(4), n=5000, d=3, k=4)
    km = MiniBatchKMeans(4, random_state=0, compute_labels=False, batch_size=100).fit(X)
    assert not hasattr(km, "labels_")
    exact = MiniBatchKMeans(4, random_state=0, batch_size=100).fit(X)
    # the same run; only the reported inertia differs (an estimate from the batches)
    np.testing.assert_array_equal(km.cluster_centers_, exact.cluster_centers_)
    assert km.inertia_ == pytest.approx(exact.inertia_, rel=0.2)
    assert km.fit_predict(X).tolist() == exact.labels_.tolist()


def test_weights_draw_rows_by_weight():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(500, 2))
    B = rng.normal(size=(500, 2)) + 100.0
    X = np.vstack([A, B])
    w = np.r_[np.ones(500), np.zeros(500)]  # B is never drawn
    km = MiniBatchKMeans(2, init=np.array([[0.0, 0.0], [1.0, 1.0]]), random_state=0,
                         batch_size=50, max_no_improvement=None, max_iter=3).fit(X, sample_weight=w)
    assert np.abs(km.cluster_centers_).max() < 10
    assert km.counts_.sum() == km.n_steps_ * 50
    # and the inertia is the weighted one
    _, d2, _ = naive.assign(X, km.cluster_centers_)
    assert km.inertia_ == pytest.approx(float(np.dot(w, d2)), rel=1e-10)


def test_far_centre_is_reassigned():
    X, _, _ = blobs(np.random.default_rng(6), n=3000, d=2, k=3)
    C0 = np.vstack([X[:2], [[1e6, 1e6]]])
    km = MiniBatchKMeans(3, init=C0, random_state=0, batch_size=100).fit(X)
    assert np.abs(km.cluster_centers_).max() < 1e3
    assert (km.labels_ == 2).any()  # the far centre moved onto the data and holds rows
    kept = MiniBatchKMeans(3, init=C0, random_state=0, batch_size=100, reassignment_ratio=0.0).fit(X)
    assert kept.cluster_centers_[2].tolist() == [1e6, 1e6]


def test_stopping_rules():
    X, _, _ = blobs(np.random.default_rng(7), n=20000, d=3, k=4)
    long = MiniBatchKMeans(4, random_state=0, max_no_improvement=None, batch_size=100, max_iter=1).fit(X)
    assert long.n_steps_ == 200 and long.n_iter_ == 1
    early = MiniBatchKMeans(4, random_state=0, max_no_improvement=3, batch_size=100, max_iter=1).fit(X)
    assert early.n_steps_ < 200
    tol = MiniBatchKMeans(4, random_state=0, max_no_improvement=None, tol=1e-2, batch_size=100,
                          max_iter=1).fit(X)
    assert tol.n_steps_ < 200


def test_seed_gives_the_same_result_and_parameters_are_checked():
    X, _, _ = blobs(np.random.default_rng(8), n=3000, d=3, k=4)
    a = MiniBatchKMeans(4, random_state=3).fit(X)
    b = MiniBatchKMeans(4, random_state=3).fit(X)
    assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
    with pytest.raises(ValueError, match="batch_size must be an int in"):
        MiniBatchKMeans(4, batch_size=0).fit(X)
    with pytest.raises(ValueError, match="reassignment_ratio must be"):
        MiniBatchKMeans(4, reassignment_ratio=-1.0).fit(X)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        MiniBatchKMeans(4).fit(X[:3])
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than n_clusters=4"):
        MiniBatchKMeans(4, init_size=2, random_state=0).fit(X)


_SCRIPT = """
import hashlib, numpy as np
from kmeanskit import MiniBatchKMeans
X = np.random.default_rng(0).normal(size=(30000, {d})).astype(np.float32)
km = MiniBatchKMeans({k}, random_state=1, batch_size=2048).fit(X)
h = hashlib.sha256(km.cluster_centers_.tobytes() + km.labels_.tobytes() + km.counts_.tobytes())
print(h.hexdigest(), km.n_steps_, repr(km.inertia_))
"""


@pytest.mark.parametrize("d,k", [(3, 8), (32, 20)])
def test_bit_identical_for_1_and_2_threads(d, k):
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        p = subprocess.run([sys.executable, "-c", _SCRIPT.format(d=d, k=k)], env=env,
                           capture_output=True, text=True, check=True)
        out.append(p.stdout.strip())
    assert out[0] == out[1]


def test_seeding_when_few_rows_carry_weight():
    # 3 weighted rows among 100,000: the uniform seeding draw misses them; seed on all rows
    rng = np.random.default_rng(9)
    X = rng.normal(size=(100_000, 2))
    w = np.zeros(100_000)
    w[[10, 50_000, 99_999]] = 1.0
    km = MiniBatchKMeans(3, random_state=0, batch_size=64, max_iter=1).fit(X, sample_weight=w)
    got, want = km.cluster_centers_, X[[10, 50_000, 99_999]]
    np.testing.assert_allclose(got[np.lexsort(got.T)], want[np.lexsort(want.T)], rtol=1e-12)


def test_sparse_rows_give_the_dense_result():
    sp = pytest.importorskip("scipy.sparse")
    X, _, _ = blobs(np.random.default_rng(10), n=3000, d=20, k=5)
    X[np.abs(X) < 5] = 0.0
    S = sp.csr_matrix(X)
    dense = MiniBatchKMeans(5, random_state=0, batch_size=256).fit(X)
    sparse = MiniBatchKMeans(5, random_state=0, batch_size=256).fit(S)
    assert sparse.n_steps_ == dense.n_steps_
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=1e-10, atol=1e-10)
    assert sparse.labels_.tolist() == dense.labels_.tolist()
    assert sparse.inertia_ == pytest.approx(dense.inertia_, rel=1e-10)
    dense.partial_fit(X[:100])
    sparse.partial_fit(S[:100])
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=1e-10, atol=1e-10)
    assert sparse.predict(S[:50]).tolist() == dense.predict(X[:50]).tolist()


@pytest.mark.parametrize("exp", [600, -600])
def test_extreme_magnitudes_fit_and_stream_on_exactly_scaled_copies(exp):
    # squares of 2**600 overflow float64 and those of 2**-600 underflow: fit, partial_fit and
    # sparse rows run on copies scaled by a power of two, so the centres are those of the
    # unscaled rows times 2**exp and the counts and labels theirs, bit for bit (before: other
    # centres); weights near the float range scale the same way
    f = 2.0 ** exp
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.3, size=(2000, 3)) for c in (0.0, 5.0, 10.0)])
    rng.shuffle(X)
    w = rng.uniform(0.5, 1.0, X.shape[0])

    def fits(Y, wy):
        full = MiniBatchKMeans(3, random_state=0).fit(Y, sample_weight=wy)
        stream = MiniBatchKMeans(3, random_state=0)
        for i in range(0, Y.shape[0], 1000):
            stream.partial_fit(Y[i:i + 1000], sample_weight=wy[i:i + 1000])
        sparse = MiniBatchKMeans(3, random_state=0).fit(sp.csr_matrix(Y), sample_weight=wy)
        return full, stream, sparse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the inertia beyond the float range
        ref, scaled, heavy = fits(X, w), fits(X * f, w), fits(X, w * 2.0 ** 1000)
    for a, b, h in zip(ref, scaled, heavy):
        np.testing.assert_array_equal(b.cluster_centers_, a.cluster_centers_ * f)
        np.testing.assert_array_equal(b.counts_, a.counts_)
        np.testing.assert_array_equal(b.labels_, a.labels_)
        assert b.inertia_ == (np.inf if exp > 0 else 0.0)
        np.testing.assert_array_equal(h.cluster_centers_, a.cluster_centers_)
        np.testing.assert_array_equal(h.counts_, a.counts_ * 2.0 ** 1000)
