"""kmeanskit.search: ClusterIndex against the brute-force reference in
tests/naive.py, and image_features."""

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import kmeanskit
import naive
from conftest import three_groups
from kmeanskit import ClusterIndex
from kmeanskit.search import image_features

METRICS = ["euclidean", "manhattan", "cosine", "chebyshev"]


def _data(rng, n=300, d=4, dtype=np.float64):
    X = (rng.normal(size=(n, d)) + rng.integers(0, 4, size=(n, 1)) * 3.0).astype(dtype)
    Q = (rng.normal(size=(25, d)) + rng.integers(0, 4, size=(25, 1)) * 3.0).astype(dtype)
    return X, Q


def _index(X, k=5, metric="euclidean", ids=None):
    model = kmeanskit.fit(X, k, random_state=0, metric=metric)
    index = ClusterIndex(model)
    index.add(X, ids=ids)
    return model, index


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_probe_all_clusters_is_exact_brute_force(rng, metric, dtype):
    X, Q = _data(rng, dtype=dtype)
    model, index = _index(X, metric=metric)
    ids, dist = index.search(Q, n=7, probe=model.n_clusters)
    ref_ids, ref_dist = naive.knn(Q, X, 7, metric)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-10, atol=1e-12)
    ids_x, dist_x = index.search(Q, n=7, exact=True)
    np.testing.assert_array_equal(ids_x, ids)
    np.testing.assert_array_equal(dist_x, dist)  # the same kernel: bit for bit
    assert dist.dtype == np.float64 and ids.dtype == np.int64


@pytest.mark.parametrize("metric", METRICS)
def test_probe_one_is_brute_force_within_the_query_cluster(rng, metric):
    X, Q = _data(rng)
    model, index = _index(X, metric=metric)
    row_cluster = kmeanskit.assign(X, model.centers, metric=metric)[0]
    q_cluster = np.argmin(naive.pair_distances(Q, model.centers, metric), axis=1)
    np.testing.assert_array_equal(index.probe_clusters(Q, 1)[:, 0], q_cluster)
    allowed = row_cluster[None, :] == q_cluster[:, None]
    ref_ids, ref_dist = naive.knn(Q, X, 400, metric, allowed=allowed)  # n > any cluster: padding
    ids, dist = index.search(Q, n=400, probe=1)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-10, atol=1e-12)
    assert (ids == -1).any() and np.isinf(dist[ids == -1]).all()


def test_probe_two_searches_the_two_nearest_cells(rng):
    X, Q = _data(rng)
    model, index = _index(X)
    row_cluster = kmeanskit.assign(X, model.centers)[0]
    D = naive.pair_distances(Q, model.centers, "euclidean")
    two = np.argsort(D, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(index.probe_clusters(Q, 2), two)
    allowed = (row_cluster[None, :] == two[:, :1]) | (row_cluster[None, :] == two[:, 1:])
    ref_ids, _ = naive.knn(Q, X, 10, "euclidean", allowed=allowed)
    np.testing.assert_array_equal(index.search(Q, n=10, probe=2)[0], ref_ids)


def test_single_query_gives_1d_results_trimmed(rng):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0]])
    index = ClusterIndex(kmeanskit.fit(X, 2, init=[[0.0, 0.5], [10.0, 10.0]]))
    index.add(X)
    ids, dist = index.search([0.0, 0.0], n=5)
    assert ids.tolist() == [0, 1] and dist.tolist() == [0.0, 1.0]
    ids, dist = index.search([[0.0, 0.0]], n=5)
    assert ids.tolist() == [[0, 1, -1, -1, -1]]
    assert dist[0, :2].tolist() == [0.0, 1.0] and np.isinf(dist[0, 2:]).all()
    ids, dist = index.search([10.0, 13.0], n=5, exact=True)
    assert ids.tolist() == [2, 1, 0]
    np.testing.assert_allclose(dist, [3.0, np.hypot(10, 12), np.hypot(10, 13)])


def test_ties_rank_by_insertion_order_across_adds():
    index = ClusterIndex(kmeanskit.fit([[0.0], [10.0]], 2, init=[[0.0], [10.0]]))
    index.add([[1.0], [-1.0], [1.0]], ids=["c", "a", "b"])
    index.add([[-1.0], [9.0]], ids=["z", "far"])
    ids, dist = index.search([0.0], n=4)
    assert ids.tolist() == ["c", "a", "b", "z"]
    assert dist.tolist() == [1.0] * 4
    ids, dist = index.search([[0.0], [10.0]], n=3)
    assert ids.tolist() == [["c", "a", "b"], ["far", "", ""]]
    assert ids.dtype.kind == "U"


def test_incremental_adds_equal_one_add(rng):
    X, Q = _data(rng, dtype=np.float32)
    model = kmeanskit.fit(X, 6, random_state=1)
    one = ClusterIndex(model)
    one.add(X)
    parts = ClusterIndex(model)
    parts.add(X[:100])
    parts.search(Q[:1])  # merges the first part before more arrive
    parts.add(X[100:101])
    parts.add(X[101:])
    assert len(parts) == len(one) == X.shape[0]
    np.testing.assert_array_equal(parts.cluster_sizes, one.cluster_sizes)
    for probe in (1, 3):
        a = one.search(Q, n=9, probe=probe)
        b = parts.search(Q, n=9, probe=probe)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_float32_storage_and_default_ids(rng):
    X, Q = _data(rng, dtype=np.float32)
    _, index = _index(X)
    assert index.cluster_sizes.sum() == X.shape[0]  # merges the pending rows
    assert index._data.dtype == np.float32
    assert np.array_equal(np.sort(index._pos), np.arange(X.shape[0]))
    # float64 queries are rounded to the stored dtype: the same answer
    a = index.search(Q, n=5, probe=2)
    b = index.search(Q.astype(np.float64), n=5, probe=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_integer_ids_and_inputs_untouched(rng):
    X, Q = _data(rng)
    X0, Q0 = X.copy(), Q.copy()
    ids = np.arange(X.shape[0]) * 10 + 7
    ids0 = ids.copy()
    model, index = _index(X, ids=ids)
    got = index.search(Q, n=3, exact=True)[0]
    ref, _ = naive.knn(Q, X, 3, "euclidean")
    np.testing.assert_array_equal(got, ids[ref])
    assert np.array_equal(X, X0) and np.array_equal(Q, Q0) and np.array_equal(ids, ids0)


def test_from_estimator_and_result_and_metric(rng):
    X, Q = _data(rng)
    km = kmeanskit.KMeans(4, random_state=0, metric="manhattan").fit(X)
    index = ClusterIndex(km)
    assert index.metric == "manhattan" and index.n_clusters == 4
    index.add(X)
    ids, dist = index.search(Q, n=5, probe=4)
    ref_ids, ref_dist = naive.knn(Q, X, 5, "manhattan")
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    assert "n_clusters=4" in repr(index)


def test_empty_index_returns_padding():
    index = ClusterIndex(kmeanskit.fit([[0.0], [1.0]], 2, random_state=0))
    assert len(index) == 0
    ids, dist = index.search([[0.5]], n=2)
    assert ids.tolist() == [[-1, -1]] and np.isinf(dist).all()
    assert index.search([0.5], n=2)[0].tolist() == []


@pytest.mark.parametrize("call, match", [
    (lambda ix: ix.search([1.0, 2.0, 3.0]), "3 features but the model has 2"),
    (lambda ix: ix.add([[1.0, 2.0, 3.0]]), "3 features but the model has 2"),
    (lambda ix: ix.search([1.0, 2.0], probe=0), "probe=0 is out of range"),
    (lambda ix: ix.search([1.0, 2.0], probe=3), "between 1 and 2"),
    (lambda ix: ix.search([1.0, 2.0], probe=1.5), "probe must be a whole number"),
    (lambda ix: ix.search([1.0, 2.0], n=0), "n=0 is out of range"),
    (lambda ix: ix.search([np.nan, 2.0]), "NaN or infinity"),
    (lambda ix: ix.add([[0.0, 1.0], [np.inf, 2.0]]), r"NaN or infinity \(first in row 1\)"),
    (lambda ix: ix.add([[0.0, 1.0]], ids=[1, 2]), "one id per vector"),
    (lambda ix: ix.add([[0.0, 1.0]], ids=[1.5]), "integers or strings"),
    (lambda ix: ix.add([[0.0, 1.0]], ids=["a"]), "integer ids"),
    (lambda ix: ix.search(["a", "b"]), "not numeric"),
    (lambda ix: ix.search([1.0, 2.0], exact="yes"), "exact must be True or False"),
])
def test_bad_input_is_a_clear_value_error(call, match):
    index = ClusterIndex(kmeanskit.fit([[0.0, 0.0], [5.0, 5.0]], 2, random_state=0))
    index.add([[0.0, 0.0]])
    with pytest.raises(ValueError, match=match):
        call(index)


def test_bad_models_and_string_then_default_ids():
    with pytest.raises(ValueError, match="not fitted"):
        ClusterIndex(kmeanskit.KMeans(2))
    with pytest.raises(ValueError, match="must be a fitted"):
        ClusterIndex(np.zeros((2, 2)))
    index = ClusterIndex(kmeanskit.fit([[0.0], [5.0]], 2, random_state=0))
    index.add([[1.0]], ids=["a"])
    with pytest.raises(ValueError, match="string ids"):
        index.add([[2.0]])
    cos = ClusterIndex(kmeanskit.fit([[1.0, 0.0], [0.0, 1.0]], 2, random_state=0, metric="cosine"))
    with pytest.raises(ValueError, match="zero norm"):
        cos.add([[0.0, 0.0]])


@settings(max_examples=30, deadline=None)
@given(X=arrays(np.float64, st.tuples(st.integers(3, 40), st.just(2)),
                elements=st.integers(-5, 5).map(float)),
       q=arrays(np.float64, (3, 2), elements=st.integers(-6, 6).map(float)),
       n=st.integers(1, 8), metric=st.sampled_from(METRICS))
@example(X=np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]),
         q=np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), n=1, metric="cosine")
def test_property_full_probe_matches_brute_force_with_ties(X, q, n, metric):
    # integer grids make many exact ties: the order must still be (distance, insertion)
    if metric == "cosine":
        X = X[np.any(X != 0, axis=1)]
        q = q[np.any(q != 0, axis=1)]
        if X.shape[0] == 0 or q.shape[0] == 0:
            return
    # distinct points under the metric: under cosine, [1, 0] and [2, 0] are one
    # (hypothesis found X = [[1, 0], [2, 0]] after dropping the zero row)
    pts = X / np.linalg.norm(X, axis=1, keepdims=True) if metric == "cosine" else X
    k = min(3, np.unique(np.round(pts, 12), axis=0).shape[0])
    model = kmeanskit.fit(X, k, random_state=0, metric=metric)
    index = ClusterIndex(model)
    index.add(X)
    ids, dist = index.search(q, n=n, probe=k)
    ref_ids, ref_dist = naive.knn(q, X, n, metric)
    if metric == "cosine":  # 1 - cos rounds differently: compare the distances, then ids off ties
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-9, atol=1e-12)
        return
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(dist, ref_dist)


# --- image features -----------------------------------------------------------

def _img(rng, rgb, size=(20, 30)):
    base = np.array(rgb, dtype=np.float64)
    return np.clip(base + rng.normal(0, 12, size + (3,)), 0, 255).astype(np.uint8)


def test_image_features_match_a_hand_histogram(rng):
    from kmeanskit.search import AB_RANGE, DEFAULT_BINS

    img = _img(rng, (200, 40, 40))
    f = image_features([img])
    assert f.X.shape == (1, 245) and f.X.dtype == np.float32 and f.skipped == []
    # reference: every pixel's colour rounded to the centre of its 6-bit box, to Lab, binned
    box = (img.reshape(-1, 3) // 4) * 4 + 2
    lab = naive.srgb_to_lab(box / 255.0)
    nl, na, nb = DEFAULT_BINS
    li = np.clip((lab[:, 0] / 100 * nl).astype(int), 0, nl - 1)
    ai = np.clip(((lab[:, 1] + AB_RANGE) / (2 * AB_RANGE) * na).astype(int), 0, na - 1)
    bi = np.clip(((lab[:, 2] + AB_RANGE) / (2 * AB_RANGE) * nb).astype(int), 0, nb - 1)
    h = np.bincount((li * na + ai) * nb + bi, minlength=245)
    np.testing.assert_allclose(f.X[0], np.sqrt(h / h.sum()), rtol=1e-6)
    assert abs(float(np.sum(f.X[0].astype(np.float64) ** 2)) - 1.0) < 1e-5


def test_image_features_similar_colours_are_near(rng, tmp_path):
    from PIL import Image

    reds = [_img(rng, (210, 30, 30)) for _ in range(2)]
    blue = _img(rng, (30, 40, 200))
    big = tmp_path / "big_red.jpg"
    Image.fromarray(_img(rng, (210, 30, 30), (900, 700))).save(big, quality=90)
    f = image_features(reds + [blue, big, Image.fromarray(reds[0]).convert("P")])
    D = naive.pair_distances(f.X, f.X, "euclidean")
    assert D[0, 1] < 0.5 * D[0, 2] and D[0, 3] < 0.5 * D[0, 2]
    assert D[0, 4] < 0.5 * D[0, 2]  # palette mode decodes like RGB


def test_image_features_transparent_pixels_left_out(rng):
    img = np.zeros((10, 10, 4), np.uint8)
    img[..., 0] = 255
    img[..., 3] = 255
    img[:5, :, :3] = (0, 0, 255)
    img[:5, :, 3] = 0  # the blue half is transparent
    only_red = image_features([img[5:, :, :3]]).X
    np.testing.assert_array_equal(image_features([img]).X, only_red)


def test_image_features_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="not an image file"):
        image_features([bad])
    ok = np.zeros((3, 3, 3), np.uint8)
    f = image_features([bad, ok, tmp_path], errors="skip")  # a folder stands for its image files (#19)
    assert f.items == [ok] and f.X.shape == (1, 245)
    assert [s[0] for s in f.skipped] == [bad, bad]
    with pytest.raises(ValueError, match="bins must be"):
        image_features([ok], bins=(4, 0, 4))
    with pytest.raises(ValueError, match="errors must be"):
        image_features([ok], errors="ignore")
    assert image_features([], errors="skip").X.shape == (0, 245)


def test_benchmark_recall_and_share_as_documented():
    """docs/search.md and README.md state the recall@10 of probe = 1, 2, 4, 8 and the expected
    share of the data a probed cell holds on the search benchmark's workload (100,000 x 64
    float32, k = 316, 2,000 held-out queries: benchmarks/search_bench.py); recall is exact, so
    these are the current library's figures, recomputed here."""
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from benchmarks.search_bench import K_NEIGHBOURS, make_embeddings, recall

    page = (root / "docs" / "search.md").read_text()
    n, d, queries, neighbours = (int(v.replace(",", "")) for v in re.search(
        r"n = ([\d,]+) float32 vectors in d = (\d+) .*?; ([\d,]+) queries held out .*?cells; (\d+) neighbours",
        page, flags=re.S).groups())
    X, Q = make_embeddings(n, d)
    assert X.dtype == np.float32 and len(Q) == queries and neighbours == K_NEIGHBOURS
    k = int(round(np.sqrt(len(X))))
    index = ClusterIndex(kmeanskit.fit(X, k, random_state=0))
    index.add(X)
    truth = index.search(Q, K_NEIGHBOURS, exact=True)[0]
    got = {p: 100 * recall(index.search(Q, K_NEIGHBOURS, probe=p)[0], truth) for p in (1, 2, 4, 8)}
    sizes = index.cluster_sizes.astype(np.float64)
    share = 100 * float(np.sum(sizes ** 2) / sizes.sum() / len(X))

    m = re.search(r"probe = 1 finds ([\d.]+) % of the true\s+10 nearest neighbours, probe = 2 ([\d.]+) %, "
                  r"probe = 4 ([\d.]+) %, probe = 8 ([\d.]+) %", page)
    assert m and [float(v) for v in m.groups()] == [round(got[p], 1) for p in (1, 2, 4, 8)], got
    assert f"= {k} cells" in page.replace("\n", " ").replace("  ", " ")
    assert float(re.search(r"holds ([\d.]+) % of the data on average", page).group(1)) == round(share, 2)
    readme = (root / "README.md").read_text()
    m = re.search(r"k = (\d+), probe = 1 finds ([\d.]+) % of the\s+true 10 nearest neighbours while scanning "
                  r"about ([\d.]+) % of the data, probe = 4 finds ([\d.]+) %", readme)
    assert m, "README.md no longer states the search benchmark's recall"
    assert (int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))) == (
        k, round(got[1], 1), round(share, 1), round(got[4], 1))


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine", "chebyshev"])
@pytest.mark.parametrize("exp", [600, -600])
def test_vectors_of_extreme_magnitude_search_exactly(metric, exp):
    # vectors of 2**600 (squared distances overflow) or 2**-600 (they underflow): the index keeps
    # them multiplied by the power of two that brings the model's centres into range, so the
    # neighbours and probes are those of the unscaled vectors and the distances theirs times
    # 2**exp (the cosine distance unchanged), bit for bit (before: inf or 0 distances, other ids)
    f = 2.0 ** exp
    X = three_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fit's inertia beyond the range
        ref = kmeanskit.ClusterIndex(kmeanskit.fit(X, 8, random_state=0, metric=metric))
        big = kmeanskit.ClusterIndex(kmeanskit.fit(X * f, 8, random_state=0, metric=metric))
    ref.add(X)
    big.add(X * f)
    ids0, d0 = ref.search(X[:20], n=5, probe=2)
    ids, d = big.search(X[:20] * f, n=5, probe=2)
    np.testing.assert_array_equal(ids, ids0)
    np.testing.assert_array_equal(d, d0 * (1.0 if metric == "cosine" else f))
    np.testing.assert_array_equal(big.probe_clusters(X[:5] * f, 2), ref.probe_clusters(X[:5], 2))
