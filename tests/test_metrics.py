import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import naive
from conftest import blobs
from kmeanskit import metrics as M


def _labelled(rng, kind, n=400, d=3, dtype=np.float64):
    if kind == "blobs":
        X, lab, _ = blobs(rng, n=n, d=d, k=4, spread=1.5, dtype=dtype)
    else:  # random labels on noise, with a singleton cluster
        X = rng.normal(size=(n, d)).astype(dtype)
        lab = rng.integers(0, 5, size=n)
        lab[7] = 9
    return X, lab


@pytest.mark.parametrize("kind", ["blobs", "noise"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equal_sklearn_on_same_labels(rng, kind, dtype):
    X, lab = _labelled(rng, kind, dtype=dtype)
    s = M.silhouette(X, lab)
    assert s.exact and s.standard_error == 0.0 and s.n_scored == len(X)
    Xd = X.astype(np.float64)
    assert s.value == pytest.approx(skm.silhouette_score(Xd, lab), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(M.silhouette_samples(X, lab), skm.silhouette_samples(Xd, lab),
                               rtol=1e-9, atol=1e-12)
    assert M.calinski_harabasz(X, lab) == pytest.approx(skm.calinski_harabasz_score(Xd, lab), rel=1e-9)
    assert M.davies_bouldin(X, lab) == pytest.approx(skm.davies_bouldin_score(Xd, lab), rel=1e-7)


def test_weights_equal_repeated_rows(rng):
    X, lab = _labelled(rng, "blobs", n=200)
    w = rng.integers(1, 4, size=len(X))
    Xr, lr = np.repeat(X, w, axis=0), np.repeat(lab, w)
    assert M.silhouette(X, lab, sample_weight=w).value == pytest.approx(skm.silhouette_score(Xr, lr), rel=1e-9)
    assert M.calinski_harabasz(X, lab, sample_weight=w) == pytest.approx(
        skm.calinski_harabasz_score(Xr, lr), rel=1e-9)
    assert M.davies_bouldin(X, lab, sample_weight=w) == pytest.approx(
        skm.davies_bouldin_score(Xr, lr), rel=1e-7)
    assert M.inertia(X, lab, sample_weight=w) == pytest.approx(M.inertia(Xr, lr), rel=1e-12)


def test_inertia_matches_naive(rng):
    X, lab = _labelled(rng, "blobs")
    C = naive.update(X, lab, 4)
    assert M.inertia(X, lab) == pytest.approx(naive.assign(X, C)[2], rel=1e-10)
    C2 = C + 0.5
    expected = float(((X - C2[lab]) ** 2).sum())
    assert M.inertia(X, lab, C2) == pytest.approx(expected, rel=1e-12)


def test_hand_computed_toy():
    X = [[0.0], [1.0], [10.0], [11.0]]
    lab = [0, 0, 1, 1]
    # a = 1, b = 10.5 (or 9.5): s = 9.5/10.5 and 8.5/9.5
    np.testing.assert_allclose(M.silhouette_samples(X, lab),
                               [9.5 / 10.5, 8.5 / 9.5, 8.5 / 9.5, 9.5 / 10.5])
    # B = 4 * 5^2 = 100 over 1 dof, W = 4 * 0.25 = 1 over 2 dof
    assert M.calinski_harabasz(X, lab) == pytest.approx(200.0)
    # s_i = 0.5 each, centroid distance 10
    assert M.davies_bouldin(X, lab) == pytest.approx(0.1)


def test_sampled_silhouette_estimate_is_within_its_error(rng):
    X, lab, _ = blobs(rng, n=3000, d=2, k=3, spread=4.0)
    exact = skm.silhouette_score(X, lab)
    s = M.silhouette(X, lab, max_exact=1000, n_samples=600, random_state=0)
    assert not s.exact and s.n_scored == 600 and s.n_reference == 3000
    assert 0 < s.standard_error < 0.05
    assert abs(s.value - exact) < 4 * s.standard_error
    again = M.silhouette(X, lab, max_exact=1000, n_samples=600, random_state=0)
    assert again == s  # reproducible
    # with a reference subset
    s2 = M.silhouette(X, lab, max_exact=1000, n_samples=600, max_reference=1500, random_state=1)
    assert s2.n_reference == 1500
    assert abs(s2.value - exact) < 5 * s2.standard_error + 0.01


def test_silhouette_memory_does_not_grow_with_n_squared(rng):
    # 12k rows exact would need a 1.1 GB distance matrix; the kernel needs O(n k).
    import tracemalloc

    X = rng.normal(size=(12_000, 2))
    lab = (X[:, 0] > 0).astype(int)
    M.silhouette(X[:200], lab[:200])  # compile outside the measurement
    tracemalloc.start()
    s = M.silhouette(X, lab, max_exact=12_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert s.exact
    assert peak < 50 * 12_000 * 8  # a few arrays of n floats, far from n^2 (1.1 GB)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(10, dtype=int), "at least 2 clusters"),
    (np.arange(10), "at least 2 clusters"),
    (np.zeros(9, dtype=int), "one label per row"),
    (np.linspace(0, 1, 10), "integers"),
])
def test_bad_labels(bad, match):
    X = np.arange(20.0).reshape(10, 2)
    with pytest.raises(ValueError, match=match):
        M.silhouette(X, bad)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 5))
def test_silhouette_properties(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    lab = rng.integers(0, k, size=40)
    if np.unique(lab).size < 2:
        lab[0], lab[1] = 0, 1
    s = M.silhouette_samples(X, lab)
    assert np.all(s >= -1 - 1e-12) and np.all(s <= 1 + 1e-12)
    perm = rng.permutation(10)  # renaming clusters changes nothing
    np.testing.assert_allclose(M.silhouette_samples(X, perm[lab]), s, rtol=1e-12, atol=1e-15)
    assert M.calinski_harabasz(X, perm[lab]) == pytest.approx(M.calinski_harabasz(X, lab))
