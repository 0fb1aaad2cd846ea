"""k-prototypes / k-modes (kmeanskit.KPrototypes, _mixed): against a naive
NumPy reference, against the kmodes package on the same data and start,
determinism, weights, seeding and errors."""

from __future__ import annotations

import numpy as np
import pytest

from kmeanskit import KPrototypes, _mixed

# --- the naive reference ------------------------------------------------------------


def naive_dist(num, cat, Cn, Cc, gamma):
    """(n, k) distances over observed entries (NaN numeric, -1 categorical)."""
    diff = (num[:, None, :] - Cn[None, :, :]) ** 2
    dnum = np.where(np.isnan(diff), 0.0, diff).sum(axis=2)
    mis = ((cat[:, None, :] != Cc[None, :, :]) & (cat[:, None, :] >= 0)).sum(axis=2)
    return dnum + gamma * mis


def naive_kprototypes(num, cat, n_levels, Cn, Cc, gamma, w=None, max_iter=100, emptied=None):
    """Batch k-prototypes over observed entries: assign to the nearest centre
    (lowest index on ties), update means of observed values and modes
    (lowest code on ties), until no label changes. An empty cluster keeps
    its centre (kmeanskit relocates it: ``emptied``, a list, records that
    one occurred, for callers that must skip such cases)."""
    n = num.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    Cn, Cc = Cn.astype(np.float64).copy(), Cc.copy()
    labels = np.full(n, -1)
    for _ in range(max_iter):
        D = naive_dist(num, cat, Cn, Cc, gamma)
        new = D.argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        if emptied is not None and np.bincount(labels, minlength=Cn.shape[0]).min() == 0:
            emptied.append(True)
        for j in range(Cn.shape[0]):
            m = labels == j
            for f in range(num.shape[1]):
                ok = m & ~np.isnan(num[:, f])
                if w[ok].sum() > 0:
                    Cn[j, f] = (w[ok] * num[ok, f]).sum() / w[ok].sum()
            for f in range(cat.shape[1]):
                ok = m & (cat[:, f] >= 0)
                if w[ok].sum() > 0:
                    Cc[j, f] = np.argmax(np.bincount(cat[ok, f], weights=w[ok], minlength=n_levels[f]))
    D = naive_dist(num, cat, Cn, Cc, gamma)
    labels = D.argmin(axis=1)
    cost = float((w * D[np.arange(n), labels]).sum())
    return labels, Cn, Cc, cost


def mixed_table(rng, n=500, k=3, dn=3, dc=2, levels=4, sep=3.0, noise=0.2):
    """Rows of k groups: numeric blobs and categories that follow the group
    with probability 1 - noise. Returns (object table, true labels)."""
    y = rng.integers(0, k, n)
    centres = rng.normal(0, sep, (k, dn))
    num = centres[y] + rng.normal(0, 1, (n, dn))
    cat = np.where(rng.random((n, dc)) < 1 - noise, (y[:, None] + np.arange(dc)) % levels,
                   rng.integers(0, levels, (n, dc)))
    X = np.empty((n, dn + dc), dtype=object)
    X[:, :dn] = num
    X[:, dn:] = np.array([f"c{v}" for v in range(levels)])[cat]
    return X, y


def encoded(X, categorical):
    codes = _mixed.TableCodes().fit(X, categorical)
    return codes, codes.encode(X)


# --- exactness against the reference -----------------------------------------------


@pytest.mark.parametrize("dn,dc", [(3, 2), (0, 4), (2, 0)])
def test_matches_naive_reference(rng, dn, dc):
    X, _ = mixed_table(rng, n=300, dn=max(dn, 1), dc=max(dc, 1))
    X = X[:, [*range(dn), *range(X.shape[1] - dc, X.shape[1])]]
    cat = list(range(dn, dn + dc))
    codes, data = encoded(X, cat)
    init = X[[0, 100, 200]]
    km = KPrototypes(3, categorical=cat, init=init, gamma=0.7, tol=0.0).fit(X)
    C0 = km._centres_from(init, codes, 3)
    labels, Cn, Cc, cost = naive_kprototypes(data.num, data.cat, data.n_levels, C0[:, :dn],
                                             C0[:, dn:].astype(np.int64), 0.7)
    np.testing.assert_array_equal(km.labels_, labels)
    np.testing.assert_allclose(km.cluster_centers_, Cn, rtol=1e-12, atol=1e-12)
    assert km.cost_ == pytest.approx(cost, rel=1e-12)
    for t in range(dc):
        assert list(km.cluster_modes_[:, t]) == list(codes.categories[t][Cc[:, t]])


def test_weights_match_naive_and_duplicates(rng):
    X, _ = mixed_table(rng, n=200)
    w = rng.integers(1, 4, X.shape[0]).astype(np.float64)
    codes, data = encoded(X, [3, 4])
    init = X[[0, 50, 150]]
    km = KPrototypes(3, init=init, gamma=1.3).fit(X, sample_weight=w)
    C0 = km._centres_from(init, codes, 3)
    labels, Cn, Cc, cost = naive_kprototypes(data.num, data.cat, data.n_levels, C0[:, :3],
                                             C0[:, 3:].astype(np.int64), 1.3, w=w)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.cost_ == pytest.approx(cost, rel=1e-12)
    # a row of weight m counts as m copies of the row
    Xd = np.repeat(X, w.astype(int), axis=0)
    kd = KPrototypes(3, init=init, gamma=1.3).fit(Xd)
    assert kd.cost_ == pytest.approx(km.cost_, rel=1e-12)
    np.testing.assert_allclose(kd.cluster_centers_, km.cluster_centers_, rtol=1e-12)


def test_cost_never_increases(rng):
    X, _ = mixed_table(rng, n=800, k=5, noise=0.5, sep=1.0)
    codes, data = encoded(X, [3, 4])
    res = _mixed.fit_mixed(data, 5, None, gamma=0.8, init="random", max_iter=100,
                           rng=np.random.default_rng(1))
    h = np.asarray(res.history)
    assert h.size >= 2
    assert np.all(np.diff(h) <= 1e-9 * h[:-1])
    assert res.inertia <= h[-1] * (1 + 1e-12)


def test_same_result_any_thread_count(rng):
    X, _ = mixed_table(rng, n=5000, k=4)
    a = KPrototypes(4, random_state=3, n_threads=1).fit(X)
    b = KPrototypes(4, random_state=3).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.cost_ == b.cost_
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_recovers_groups_and_predict(rng):
    from sklearn.metrics import adjusted_rand_score

    X, y = mixed_table(rng, n=600)
    km = KPrototypes(3, random_state=0, n_init=3).fit(X)
    assert adjusted_rand_score(y, km.labels_) > 0.9
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    D = km.transform(X)
    np.testing.assert_array_equal(D.argmin(axis=1), km.labels_)
    assert -km.score(X) == pytest.approx(km.cost_, rel=1e-12)


def test_dataframe_auto_categorical_and_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"spend": [1.0, 1.2, 8.0, 8.4, 1.1, 8.1],
                       "region": ["n", "n", "s", "s", "n", "s"],
                       "plan": pd.Categorical(["a", "a", "b", "b", "a", "b"]),
                       "visits": [1, 2, 9, 8, 1, 9]})
    km = KPrototypes(2, random_state=0).fit(df)
    assert km.categorical_.tolist() == [1, 2]
    assert km.numeric_.tolist() == [0, 3]
    assert list(km.feature_names_in_) == ["spend", "region", "plan", "visits"]
    rows = sorted(km.cluster_centroids_.tolist())
    assert rows[0][1:3] == ["n", "a"] and rows[1][1:3] == ["s", "b"]
    assert rows[0][0] == pytest.approx(1.1) and rows[1][3] == pytest.approx(26 / 3)
    km2 = KPrototypes(2, random_state=0).fit(df.drop(columns="plan"), categorical=["region"])
    assert km2.categorical_.tolist() == [1] and km2.numeric_.tolist() == [0, 2]
    with pytest.raises(ValueError, match="column 'plan' is not numeric"):
        KPrototypes(2).fit(df, categorical=["region"])


def test_default_gamma_is_half_mean_std():
    X = np.array([[0.0, 10.0, "a"], [2.0, 14.0, "b"], [4.0, 12.0, "a"]], dtype=object)
    km = KPrototypes(1).fit(X)
    sd = [np.std([0.0, 2.0, 4.0]), np.std([10.0, 14.0, 12.0])]
    assert km.gamma_ == pytest.approx(0.5 * np.mean(sd))
    assert KPrototypes(1).fit(X[:, 2:]).gamma_ == 1.0  # k-modes


def test_kmodes_hand_example():
    X = np.array([["a", "x"], ["a", "x"], ["a", "y"], ["b", "z"], ["b", "z"], ["c", "z"]])
    km = KPrototypes(2, init="cao").fit(X)
    assert sorted(km.cluster_modes_.tolist()) == [["a", "x"], ["b", "z"]]
    assert km.cost_ == 2.0  # ("a", "y") and ("c", "z") differ from their mode in one column
    assert sorted(np.bincount(km.labels_).tolist()) == [3, 3]


@pytest.mark.parametrize("init", ["cao", "k-means++", "random"])
def test_seedings(rng, init):
    X, y = mixed_table(rng, n=400)
    km = KPrototypes(3, init=init, random_state=1).fit(X)
    assert np.bincount(km.labels_, minlength=3).min() > 0
    # Cao's seeding is deterministic
    if init == "cao":
        assert KPrototypes(3, init="cao", random_state=7).fit(X).cost_ == km.cost_


def test_errors(rng):
    X, _ = mixed_table(rng, n=50)
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match="missing='ignore'"):
        KPrototypes(2).fit(X)
    with pytest.raises(ValueError, match="no column named 'nope'"):
        KPrototypes(2, categorical=["nope"]).fit(X)
    with pytest.raises(ValueError, match="not numeric"):
        KPrototypes(2, categorical=[4]).fit(X)
    with pytest.raises(ValueError, match="missing"):
        KPrototypes(2, missing="drop").fit(X)
    with pytest.raises(ValueError, match="n_clusters"):
        KPrototypes(60).fit(X)
    Y = X.copy()
    Y[3, 0] = np.inf
    with pytest.raises(ValueError, match="column 'x0' has infinite values"):
        KPrototypes(2, missing="ignore").fit(Y)
    with pytest.raises(ValueError, match="init has shape"):
        KPrototypes(2, init=X[:3], missing="ignore").fit(X)


def test_unseen_category_counts_as_missing(rng):
    X, _ = mixed_table(rng, n=200)
    km = KPrototypes(3, random_state=0, missing="ignore").fit(X)
    Z = X[:5].copy()
    Z[:, 3] = "never-seen"
    D = km.transform(Z)
    Zm = Z.copy()
    Zm[:, 3] = None
    np.testing.assert_allclose(D, km.transform(Zm))
    with pytest.raises(ValueError, match="not seen in fit"):
        KPrototypes(3, random_state=0).fit(X).predict(Z)


def test_sklearn_clone_and_params():
    from sklearn.base import clone

    km = KPrototypes(4, gamma=0.3, init="cao")
    c = clone(km)
    assert c.get_params() == km.get_params()


# --- against the kmodes package -----------------------------------------------------


def _kmodes_fit(X, categorical, init_rows, gamma):
    kp = pytest.importorskip("kmodes.kprototypes")
    from kmodes.util import encode_features

    num_cols = [f for f in range(X.shape[1]) if f not in categorical]
    _, enc_map = encode_features(np.asarray(X[:, categorical]))
    cat_init, _ = encode_features(np.asarray(init_rows[:, categorical]), enc_map)
    init = [init_rows[:, num_cols].astype(np.float64), cat_init]
    m = kp.KPrototypes(n_clusters=init_rows.shape[0], init=init, gamma=gamma, n_init=1,
                       max_iter=100, random_state=0)
    m.fit(X, categorical=categorical)
    return m


def test_cost_vs_kmodes_same_start():
    """From the same 12 starts: in total at most kmodes' cost, and never more
    than 0.1 % above it on one start. Both stop at a partition where no row
    is nearer another centre; kmodes moves one row at a time (centres
    updated after each move), kmeanskit all rows then all centres, so the
    two can stop at different such partitions (measured: 10 of 12 starts
    equal or lower here, 2 higher by 0.02 % and 0.006 %)."""
    ours, theirs = [], []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        X, _ = mixed_table(rng, n=400, k=4, noise=0.3, sep=2.0)
        cat = [3, 4]
        init_rows = X[rng.choice(X.shape[0], 4, replace=False)]
        ref = _kmodes_fit(X, cat, init_rows, gamma=1.0)
        km = KPrototypes(4, categorical=cat, init=init_rows, gamma=1.0).fit(X)
        ours.append(km.cost_)
        theirs.append(ref.cost_)
    ours, theirs = np.array(ours), np.array(theirs)
    assert ours.sum() <= theirs.sum()
    assert np.all(ours <= theirs * (1 + 1e-3))
    assert np.sum(ours <= theirs * (1 + 1e-9)) >= 10


def test_kmodes_only_at_most_kmodes_same_start():
    km_mod = pytest.importorskip("kmodes.kmodes")
    from kmodes.util import encode_features

    rng = np.random.default_rng(5)
    X, _ = mixed_table(rng, n=400, k=4, dn=1, dc=5, levels=5, noise=0.3)
    X = X[:, 1:].astype(str)
    init_rows = X[rng.choice(X.shape[0], 4, replace=False)]
    _, enc_map = encode_features(X)
    enc_init, _ = encode_features(init_rows, enc_map)
    ref = km_mod.KModes(4, init=enc_init, n_init=1, max_iter=100).fit(X)
    km = KPrototypes(4, init=init_rows).fit(X)
    assert km.cost_ <= ref.cost_ + 1e-9


def test_save_load_round_trip_and_old_format(tmp_path, rng):
    import json
    import zipfile

    import kmeanskit
    from kmeanskit import models

    X, _ = mixed_table(rng, n=200)
    km = KPrototypes(3, random_state=0, missing="ignore").fit(X)
    p = km.save(tmp_path / "m.kmk")
    back = KPrototypes.load(p)
    np.testing.assert_array_equal(back.predict(X), km.labels_)
    np.testing.assert_allclose(back.transform(X), km.transform(X))
    assert back.cost_ == km.cost_ and back.missing == "ignore"
    # kmeanskit.load gives the k-prototypes estimator too (not a KMeans with a strange metric)
    loaded = kmeanskit.load(p)
    assert isinstance(loaded, KPrototypes)
    np.testing.assert_array_equal(loaded.predict(X), km.labels_)
    meta = json.loads(zipfile.ZipFile(p).read("meta.json"))
    assert meta["format_version"] == 1 and meta["metric"] == "kprototypes"
    assert meta["categorical"]["categories"] == [["c0", "c1", "c2", "c3"]] * 2
    # plain models are written exactly as before (no categorical key)
    q = kmeanskit.KMeans(2, random_state=0).fit(X[:, :3].astype(float)).save(tmp_path / "k.kmk")
    assert "categorical" not in json.loads(zipfile.ZipFile(q).read("meta.json"))
    # codes that are not category indices are refused on writing and on reading
    rec = km.to_record()
    bad = models.ModelRecord(np.where(np.arange(5) == 3, 9.0, rec.centers), metric="kprototypes",
                             categorical=rec.categorical)
    with pytest.raises(ValueError, match="not indices"):
        models.write(bad, tmp_path / "bad.kmk")
    with pytest.raises(ValueError, match="only with it"):
        models.write(models.ModelRecord(rec.centers, categorical=rec.categorical), tmp_path / "b.kmk")
    with pytest.raises(ValueError, match="load it with kmeanskit.load"):
        KPrototypes.load(q)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _gappy_rows(seed, n, dn, dc, gap):
    """(rng, numbers, category codes, dn) of ``n`` random rows (at least one
    numeric column when none of either kind is asked for), each value
    missing with probability ``gap`` (NaN, or code -1)."""
    if dn + dc == 0:
        dn = 1
    rng = np.random.default_rng(seed)
    num = rng.normal(0, 2, (n, dn))
    cat = rng.integers(0, 3, (n, dc)).astype(np.int32)
    num[rng.random(num.shape) < gap] = np.nan
    cat[rng.random(cat.shape) < gap] = -1
    return rng, num, cat, dn


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 60), dn=st.integers(0, 3), dc=st.integers(0, 3),
       k=st.integers(1, 4), gap=st.sampled_from([0.0, 0.2]), gamma=st.sampled_from([0.3, 1.0, 2.5]))
def test_property_same_as_naive_reference(seed, n, dn, dc, k, gap, gamma):
    """Any shape, any share of gaps: the kernels' fit from the same start is
    the naive reference's (labels, centres, cost), and the cost is the sum
    of the reference distances."""
    rng, num, cat, dn = _gappy_rows(seed, n, dn, dc, gap)
    data = _mixed.MixedData(num, cat, [3] * dc)
    rows = rng.choice(n, k, replace=False)
    C0 = np.concatenate([np.nan_to_num(num[rows]), np.maximum(cat[rows], 0)], axis=1)
    res = _mixed.fit_mixed(data, k, None, gamma=gamma, init=C0, max_iter=50, on_few="ignore")
    # the reference has no empty-cluster relocation: compare only runs that never emptied a cluster
    emptied = []
    labels, Cn, Cc, cost = naive_kprototypes(num, cat, data.n_levels, C0[:, :dn],
                                             C0[:, dn:].astype(np.int64), gamma, max_iter=50,
                                             emptied=emptied)
    if emptied:
        return
    np.testing.assert_array_equal(res.labels, labels)
    np.testing.assert_allclose(res.centers[:, :dn], Cn, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res.centers[:, dn:], Cc)
    assert res.inertia == pytest.approx(cost, rel=1e-12, abs=1e-12)


def test_outliers_cli_scores_kprototypes_models(tmp_path, rng):
    """`kmeanskit outliers` takes a saved k-prototypes model (it used to
    refuse it): the scores are those of kmeanskit.anomaly."""
    import json

    import pandas as pd
    from click.testing import CliRunner

    from kmeanskit.anomaly import outlier_scores
    from kmeanskit.cli import main

    X, _ = mixed_table(rng, n=120)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d", "e"]).infer_objects()  # numbers, then text
    km = KPrototypes(3, random_state=0).fit(df)
    model = km.save(tmp_path / "m.kmk")
    df.to_csv(tmp_path / "t.csv", index=False)
    r = CliRunner().invoke(main, ["outliers", str(tmp_path / "t.csv"), "--model", str(model), "--json",
                                  "--top", "3"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["categorical"] == ["d", "e"] and rec["n_outliers"] == 2
    table = pd.read_csv(tmp_path / "t.csv")
    scores = outlier_scores(km, table)
    assert [t["row"] for t in rec["top"]] == np.argsort(-scores, kind="stable")[:3].tolist()
    np.testing.assert_allclose([t["score"] for t in rec["top"]], np.sort(scores)[::-1][:3], rtol=1e-12)


# --- outlier scores: the kernel against the reference -----------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), dn=st.integers(0, 3), dc=st.integers(0, 3),
       k=st.integers(1, 4), gap=st.sampled_from([0.0, 0.3, 0.9]), gamma=st.sampled_from([0.3, 1.0, 2.5]))
def test_property_outlier_distances_same_as_naive(seed, n, dn, dc, k, gap, gamma):
    """Any shape and share of gaps (and unseen categories): the kernel's
    labels are predict's, its scores the reference's, for any thread count."""
    import naive
    from kmeanskit._kernels.mixed import UNSEEN

    rng, num, cat, dn = _gappy_rows(seed, n, dn, dc, gap)
    cat[rng.random(cat.shape) < 0.1] = UNSEEN
    data = _mixed.MixedData(num, cat, [3] * dc)
    C = np.concatenate([rng.normal(0, 2, (k, dn)), rng.integers(0, 3, (k, dc))], axis=1)
    labels, scores, n_obs = _mixed.outlier_distances(data, C, gamma, n_threads=1)
    ref_labels, ref = naive.mixed_outlier_scores(num, cat, C[:, :dn], C[:, dn:].astype(int), gamma)
    np.testing.assert_allclose(scores, ref, rtol=1e-12, atol=1e-300, equal_nan=True)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_array_equal(n_obs, (~np.isnan(num)).sum(axis=1) + (cat != -1).sum(axis=1))
    pred, _, _ = _mixed.assign_mixed(data, C, gamma)  # the labels of predict (unseen as missing)
    np.testing.assert_array_equal(labels, pred)
    two = _mixed.outlier_distances(data, C, gamma, n_threads=2)
    np.testing.assert_array_equal(two[1], scores)


def test_unseen_category_code_only_for_the_scores(rng):
    from kmeanskit._kernels.mixed import UNSEEN

    X, _ = mixed_table(rng, n=50)
    codes = _mixed.TableCodes().fit(X)
    Z = X[:6].copy()
    Z[0, 3] = "new"
    Z[1, 4] = None
    Z[2, 3] = "other"
    plain, scored = codes.encode(Z), codes.encode(Z, unseen=UNSEEN)
    # predict's encoding: an unseen category is missing (-1); the scores' keeps it apart
    assert plain.cat[[0, 2], 0].tolist() == [-1, -1] and plain.cat[1, 1] == -1
    assert scored.cat[[0, 2], 0].tolist() == [UNSEEN, UNSEEN] and scored.cat[1, 1] == -1
    np.testing.assert_array_equal(np.delete(scored.cat, [0, 2], axis=0), np.delete(plain.cat, [0, 2], axis=0))


def test_fit_keeps_the_training_spreads(rng):
    """cluster_spread_: per cluster the median score of its training rows,
    saved and read back with the model."""
    import naive

    X, _ = mixed_table(rng, n=200)
    X[rng.random(X.shape) < 0.1] = None
    w = rng.uniform(0.5, 2.0, 200)
    km = KPrototypes(3, missing="ignore", random_state=0).fit(X, sample_weight=w)
    _, data = encoded(X, None)
    labels, scores = naive.mixed_outlier_scores(data.num, data.cat, km._C[:, :3], km._C[:, 3:].astype(int),
                                                km.gamma_)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_allclose(km.cluster_spread_, [np.median(scores[labels == j]) for j in range(3)],
                               rtol=1e-12)


# --- the model path: saving, and the places that take k-means models only -------------

def test_save_model_writes_the_kprototypes_record_and_k_means_only_places_refuse(tmp_path):
    import pandas as pd

    import kmeanskit
    from kmeanskit import core, io
    from kmeanskit.search import ClusterIndex

    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 30), rng.normal(6, 1, 30)],
                       "c": ["x"] * 28 + ["y"] * 2 + ["y"] * 29 + ["x"]})
    kp = KPrototypes(2, categorical=["c"], random_state=0).fit(df)
    # io.save_model of a KPrototypes writes its own record (categories included), not
    # a k-means record of its numeric centres
    path = io.save_model(kp, tmp_path / "m.kmk")
    back = kmeanskit.load(path)
    assert isinstance(back, KPrototypes)
    np.testing.assert_array_equal(back.predict(df), kp.predict(df))
    assert back.cluster_modes_.tolist() == kp.cluster_modes_.tolist()
    with pytest.raises(ValueError, match="saves its own column names"):
        io.save_model(kp, tmp_path / "n.kmk", feature_names=["a", "c"])
    # affinity, the similar-item index and fitted() would use only the numeric centres
    for call in (lambda m: kmeanskit.affinity(m, df[["a"]]), lambda m: ClusterIndex(m),
                 core.fitted):
        for m in (kp, kmeanskit.models.read(path)):
            with pytest.raises(ValueError, match="is a k-prototypes model"):
                call(m)
