"""Missing values inside the fit (KPrototypes(missing="ignore")): exactness
against a naive NumPy reference, recovery of the true clusters against mean
imputation and dropping rows, predict / transform on incomplete rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import kmeanskit
from kmeanskit import KPrototypes
from test_mixed import encoded, mixed_table, naive_dist, naive_kprototypes


def blobs_with_gaps(seed, rate, n=600):
    rng = np.random.default_rng(seed)
    k = (3, 4, 5)[seed % 3]
    d = (4, 6, 8)[seed % 3]
    C = rng.normal(0, 2.5, (k, d))
    y = rng.integers(0, k, n)
    X = C[y] + rng.normal(0, 1, (n, d))
    Xm = X.copy()
    Xm[rng.random(X.shape) < rate] = np.nan
    return Xm, y, k


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_numeric_gaps_match_naive_reference(rate):
    Xm, _, k = blobs_with_gaps(1, rate, n=300)
    init = np.nan_to_num(Xm[[0, 1, 2, 3]][:k])  # explicit centres (no NaN)
    km = KPrototypes(k, init=init, missing="ignore").fit(Xm)
    codes, data = encoded(Xm, [])
    labels, Cn, _, cost = naive_kprototypes(data.num, data.cat, data.n_levels, init,
                                            np.zeros((k, 0), np.int64), km.gamma_)
    np.testing.assert_array_equal(km.labels_, labels)
    np.testing.assert_allclose(km.cluster_centers_, Cn, rtol=1e-12, atol=1e-12)
    assert km.cost_ == pytest.approx(cost, rel=1e-12)


def test_mixed_gaps_match_naive_reference(rng):
    X, _ = mixed_table(rng, n=300)
    gaps = rng.random(X.shape) < 0.2
    X[gaps & (np.arange(X.shape[1]) < 3)] = np.nan
    X[gaps & (np.arange(X.shape[1]) >= 3)] = None
    init = X[[0, 100, 200]].copy()
    init[:, :3] = np.nan_to_num(init[:, :3].astype(float))
    init[:, 3:] = [["c0", "c1"], ["c1", "c2"], ["c2", "c3"]]
    km = KPrototypes(3, categorical=[3, 4], init=init, gamma=0.9, missing="ignore").fit(X)
    codes, data = encoded(X, [3, 4])
    assert (data.cat < 0).any() and np.isnan(data.num).any()
    C0 = km._centres_from(init, codes, 3)
    labels, Cn, Cc, cost = naive_kprototypes(data.num, data.cat, data.n_levels, C0[:, :3],
                                             C0[:, 3:].astype(np.int64), 0.9)
    np.testing.assert_array_equal(km.labels_, labels)
    np.testing.assert_allclose(km.cluster_centers_, Cn, rtol=1e-12, atol=1e-12)
    assert km.cost_ == pytest.approx(cost, rel=1e-12)
    # predict / transform on incomplete rows: the same partial distances
    D = naive_dist(data.num, data.cat, Cn, Cc, 0.9)
    np.testing.assert_allclose(km.transform(X), D, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(km.predict(X), D.argmin(axis=1))


def _ari_three_ways(seed, rate):
    Xm, y, k = blobs_with_gaps(seed, rate)
    ignore = KPrototypes(k, missing="ignore", n_init=5, random_state=0).fit(Xm).labels_
    mean = KPrototypes(k, missing="mean", n_init=5, random_state=0).fit(Xm).labels_
    keep = ~np.isnan(Xm).any(axis=1)
    dropped = np.full(y.size, -1)  # a dropped row gets no segment
    dropped[keep] = kmeanskit.fit(Xm[keep], k, n_init=5, random_state=0).labels
    return (adjusted_rand_score(y, ignore), adjusted_rand_score(y, mean),
            adjusted_rand_score(y, dropped), adjusted_rand_score(y[keep], ignore[keep]),
            adjusted_rand_score(y[keep], dropped[keep]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rate", [0.1, 0.2, 0.3])
def test_recovery_at_least_mean_imputation_and_dropping(seed, rate):
    """On 6 blob sets (3 to 5 clusters in 4 to 8 columns) with 10-30 % of
    the values removed at random: the adjusted Rand index of missing="ignore"
    is at least that of mean imputation and of dropping the incomplete rows,
    over all rows (a dropped row gets no segment). Over the complete rows
    alone dropping can score higher: with 30 % removed from 4 columns only
    55 of 600 rows are complete, and a fit on those 55 alone separates them
    better (seed 1: 0.97 against 0.89); it labels nothing else."""
    a_ignore, a_mean, a_drop, _, _ = _ari_three_ways(seed, rate)
    assert a_ignore >= a_mean
    assert a_ignore >= a_drop


def test_mean_option_is_fit_on_imputed_table(rng):
    Xm, _, k = blobs_with_gaps(2, 0.2, n=200)
    filled = np.where(np.isnan(Xm), np.nanmean(Xm, axis=0), Xm)
    a = KPrototypes(k, missing="mean", init=filled[:k]).fit(Xm)
    b = KPrototypes(k, init=filled[:k]).fit(filled)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.cost_ == pytest.approx(b.cost_, rel=1e-12)
    # predict fills with the training means
    np.testing.assert_array_equal(a.predict(Xm), b.predict(filled))


def test_complete_numeric_is_kmeans(rng):
    """Without gaps or categories the fit is Lloyd's k-means from the same start."""
    Xm, _, k = blobs_with_gaps(0, 0.0, n=300)
    init = Xm[:k]
    km = KPrototypes(k, init=init).fit(Xm)
    ref = kmeanskit.fit(Xm, k, init=init, algorithm="lloyd", tol=0.0)
    np.testing.assert_array_equal(km.labels_, ref.labels)
    np.testing.assert_allclose(km.cluster_centers_, ref.centers, rtol=1e-10)
    assert km.cost_ == pytest.approx(ref.inertia, rel=1e-10)


def test_row_with_nothing_observed(rng):
    X, _ = mixed_table(rng, n=100)
    X[5, :3] = np.nan
    X[5, 3:] = None
    km = KPrototypes(3, missing="ignore", random_state=0).fit(X)
    np.testing.assert_array_equal(km.transform(X[5:6]), 0.0)
    assert km.predict(X[5:6])[0] == 0  # all distances tie: the first centre


# --- segment() and `kmeanskit cluster` ---------------------------------------------


def _table(rng, n=240):
    pd = pytest.importorskip("pandas")
    y = np.repeat([0, 1, 2], n // 3)
    df = pd.DataFrame({"spend": rng.normal(y * 10.0, 1.0), "visits": rng.normal(y * 4.0, 1.0),
                       "region": np.array(["north", "south", "east"])[y],
                       "plan": np.where(rng.random(n) < 0.5, "a", "b")})
    df.loc[rng.random(n) < 0.15, "spend"] = np.nan
    df.loc[rng.random(n) < 0.15, "region"] = None
    return df, y


def test_segment_kprototypes_profile(rng, tmp_path):
    df, y = _table(rng)
    seg = kmeanskit.segment(df, 3, categorical="kprototypes", missing="ignore")
    assert seg.dropped.size == 0 and (seg.labels >= 0).all()
    assert adjusted_rand_score(y, seg.labels) == 1.0
    p = seg.profile
    for c in range(3):
        m = seg.labels == c
        rows = df[m]
        counts = rows["region"].value_counts()
        assert p.loc[c, "region mode"] == counts.index[0]
        assert p.loc[c, "region share"] == pytest.approx(counts.iloc[0] / m.sum())
        assert p.loc[c, "missing values"] == int(rows.isna().to_numpy().sum())
        assert p.loc[c, "spend mean"] == pytest.approx(rows["spend"].mean())  # observed values
    assert "region mode (share)" in seg.profile_markdown()
    # the .kmk model carries the categories, gamma and the numeric columns' scaling
    from kmeanskit import models

    path = seg.save_model(tmp_path / "seg.kmk")
    rec = models.read(path)
    assert rec.metric == "kprototypes" and rec.categorical.columns == ("region", "plan")
    assert rec.categorical.categories == (("east", "north", "south"), ("a", "b"))
    np.testing.assert_allclose(rec.scaling.center, seg.scaling.center)
    back = KPrototypes.load(path)
    assert back.missing == "ignore" and back.gamma_ == seg.model.gamma_
    Z = seg.scaling.transform(df[["spend", "visits"]].to_numpy())
    table = df[["region", "plan"]].assign(spend=Z[:, 0], visits=Z[:, 1])  # columns found by name
    np.testing.assert_array_equal(back.predict(table), seg.labels)


def test_segment_missing_options(rng):
    df, _ = _table(rng)
    with pytest.raises(ValueError, match="missing='ignore'"):
        kmeanskit.segment(df, 3, categorical="kprototypes")
    with pytest.raises(ValueError, match="pass one of"):
        kmeanskit.segment(df, 3, missing="ignore", dropna=True)
    with pytest.raises(ValueError, match="pass a number for k"):
        kmeanskit.segment(df, "auto", missing="ignore")
    drop = kmeanskit.segment(df, 3, categorical="kprototypes", dropna=True)
    assert drop.dropped.size == int(df.isna().any(axis=1).sum())
    mean = kmeanskit.segment(df, 3, categorical="kprototypes", impute="mean")
    assert mean.imputed == {"spend": int(df["spend"].isna().sum()), "region": int(df["region"].isna().sum())}
    # numeric columns only, gaps kept: same as KPrototypes on the z-scored columns
    num = kmeanskit.segment(df[["spend", "visits"]], 3, missing="ignore")
    assert (num.labels >= 0).all() and num.skipped == []


def test_cli_missing_and_categories(tmp_path, rng):
    from click.testing import CliRunner

    from kmeanskit.cli import main

    df, y = _table(rng)
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "labels.csv"
    r = CliRunner().invoke(main, ["cluster", str(src), "-k", "3", "--missing", "ignore", "-o", str(out),
                                  "--json"])
    assert r.exit_code == 0, r.output
    import json

    rec = json.loads(r.stdout)
    assert rec["rows_clustered"] == len(df)
    assert {"mode", "mode_share", "missing_values"} <= set(rec["clusters"][0])
    assert sum(c["missing_values"] for c in rec["clusters"]) == int(df.isna().to_numpy().sum())
    import pandas as pd

    back = pd.read_csv(out)
    assert adjusted_rand_score(y, back["cluster"]) == 1.0
    r = CliRunner().invoke(main, ["cluster", str(src), "-k", "3", "--missing", "drop"])
    assert r.exit_code == 0 and "left out" in r.output
    r = CliRunner().invoke(main, ["cluster", str(src), "-k", "3", "--missing", "mean", "--dropna"])
    assert r.exit_code != 0 and "--missing replaces" in r.output
    r = CliRunner().invoke(main, ["cluster", str(src), "-k", "3", "--onehot", "--kprototypes"])
    assert r.exit_code != 0 and "pick one" in r.output


def test_penguins_walkthrough_figures():
    """docs/tables.md: every row kept, and the species agreement of the three options."""
    pytest.importorskip("pandas")
    from kmeanskit.datasets import load_penguins

    df = load_penguins()
    assert df.shape == (344, 8) and int(df["sex"].isna().sum()) == 11
    cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]
    ari = {}
    for name, how in {"ignore": dict(missing="ignore"), "drop": dict(dropna=True),
                      "mean": dict(impute="mean")}.items():
        s = kmeanskit.segment(df, k=3, columns=cols, categorical="kprototypes", **how)
        ari[name] = adjusted_rand_score(df["species"], s.labels)
    assert ari["ignore"] >= ari["drop"] and ari["ignore"] >= ari["mean"]
    assert round(ari["ignore"], 3) == 0.512


# --- outlier scores of incomplete rows -------------------------------------------------


def _gapped_half(X, seed):
    """Every other row loses each value with probability 1/2 (one value always kept)."""
    g = np.random.default_rng(seed)
    G = X.copy()
    half = np.arange(len(X)) % 2 == 1
    drop = (g.random(X.shape) < 0.5) & half[:, None]
    drop[np.arange(len(X)), g.integers(0, X.shape[1], len(X))] = False
    G[drop] = np.nan
    return G, half


def test_scores_of_incomplete_rows_are_nan_euclidean(rng):
    """Numeric columns with gaps: the score is scikit-learn's
    nan_euclidean_distances to the nearest centre (partial distance,
    rescaled by columns / present values); nothing present: NaN."""
    from sklearn.metrics.pairwise import nan_euclidean_distances

    from kmeanskit.anomaly import cluster_spread, detect_outliers, outlier_scores

    Xm, _, k = blobs_with_gaps(4, 0.3, n=300)
    km = KPrototypes(k, missing="ignore", random_state=0).fit(Xm)
    Y = Xm[:60].copy()
    Y[7] = np.nan
    D = nan_euclidean_distances(Y, km.cluster_centers_)
    scores = outlier_scores(km, Y)
    np.testing.assert_allclose(scores, np.min(D, axis=1, initial=np.inf, where=~np.isnan(D)) *
                               np.where(np.isnan(D[:, 0]), np.nan, 1.0), rtol=1e-12, equal_nan=True)
    assert np.isnan(scores[7]) and np.isfinite(np.delete(scores, 7)).all()
    np.testing.assert_array_equal(detect_outliers(km, Y).labels, km.predict(Y))
    # a row's score by hand: 2 of the 6 values present
    row = np.full(Xm.shape[1], np.nan)
    row[[1, 4]] = [0.5, -1.0]
    d = ((row[[1, 4]] - km.cluster_centers_[:, [1, 4]]) ** 2).sum(axis=1)
    assert outlier_scores(km, row[None])[0] == pytest.approx(np.sqrt(d.min() * 6 / 2), rel=1e-12)
    # spreads leave the unscored row out
    s = cluster_spread(km, Y)
    lab = km.predict(Y)
    ok = np.arange(60) != 7
    np.testing.assert_allclose(s, [np.median(scores[ok & (lab == j)]) for j in range(k)], rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_rescaling_makes_incomplete_rows_comparable(seed):
    """Half the rows lose about half their values. Rescaled, their mean
    squared score is that of the complete rows within 13 % (0.87 to 1.01
    of it on these 6 sets; below 1 as a row with gaps may find a nearer
    centre on its present values), and at 10 % flagged they are flagged
    0.97 to 2.1 times as often as complete rows (fewer values: a noisier
    estimate, more often in the tails). Unrescaled partial distances give
    them 0.52 to 0.63 of the mean squared score and 0.14 to 0.46 of the
    flag rate: incomplete rows would hide."""
    from kmeanskit.anomaly import detect_outliers

    X, _, k = blobs_with_gaps(seed, 0.0, n=1200)
    km = KPrototypes(k, n_init=3, random_state=0, missing="ignore").fit(X)
    G, half = _gapped_half(X, seed)
    found = detect_outliers(km, G, contamination=0.1)
    s = found.scores
    assert 0.85 < np.mean(s[half] ** 2) / np.mean(s[~half] ** 2) < 1.05
    assert 0.9 < found.mask[half].mean() / found.mask[~half].mean() < 2.5
    present = (~np.isnan(G)).sum(axis=1)
    raw = s / np.sqrt(X.shape[1] / present)  # the partial distance, not rescaled
    assert np.mean(raw[half] ** 2) / np.mean(raw[~half] ** 2) < 0.7
    flagged = np.zeros(len(G), dtype=bool)
    flagged[np.argsort(-raw)[:found.n_outliers]] = True
    assert flagged[half].mean() < 0.5 * flagged[~half].mean()


def test_scores_follow_the_models_missing_option():
    from kmeanskit.anomaly import outlier_scores

    Xm, _, k = blobs_with_gaps(2, 0.2, n=200)
    filled = np.where(np.isnan(Xm), np.nanmean(Xm, axis=0), Xm)
    mean = KPrototypes(k, missing="mean", init=filled[:k]).fit(Xm)
    # "mean": gaps filled with the training means, then a complete row (no rescaling)
    np.testing.assert_allclose(outlier_scores(mean, Xm), outlier_scores(mean, filled), rtol=1e-12)
    np.testing.assert_allclose(outlier_scores(mean, filled) ** 2, mean.transform(filled).min(axis=1),
                               rtol=1e-12)
    # "raise": rows with gaps are refused, with what to do
    strict = KPrototypes(k, init=filled[:k]).fit(filled)
    with pytest.raises(ValueError, match="fitted with missing='raise'.*missing='ignore'"):
        outlier_scores(strict, Xm)
    # "ignore" on the same centres: the present values only, rescaled
    ignore = KPrototypes(k, missing="ignore", init=mean.cluster_centers_, max_iter=1).fit(filled)
    np.testing.assert_allclose(ignore.cluster_centers_, mean.cluster_centers_, rtol=1e-12)
    row = Xm[np.isnan(Xm).any(axis=1)][:1]
    present = int((~np.isnan(row)).sum())
    partial = ignore.transform(row).min()
    assert outlier_scores(ignore, row)[0] == pytest.approx(np.sqrt(partial * Xm.shape[1] / present),
                                                           rel=1e-12)
