"""kmeanskit.segment (kmeanskit.tables.segmentation): column selection, missing values, one-hot, log, profiles
against a slow reference, plots, reports, saved models; the bundled
wholesale customers table."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import kmeanskit
import naive
from kmeanskit import segment
from kmeanskit.datasets import WHOLESALE_SPENDING, load_wholesale_customers
from kmeanskit.tables import feature_matrix
from kmeanskit.tables.scaling import Scaling


@pytest.fixture
def shops(rng):
    """Three groups of shops with a name column and a text column."""
    n = 90
    g = np.repeat([0, 1, 2], n // 3)
    spend = np.array([100.0, 1000.0, 5000.0])[g] * rng.lognormal(0, 0.2, n)
    visits = np.array([2.0, 10.0, 4.0])[g] + rng.normal(0, 0.5, n)
    return pd.DataFrame({"name": [f"s{i}" for i in range(n)], "spend": spend, "visits": visits,
                         "kind": np.array(["a", "b", "c"])[g]}), g


def test_labels_match_fit_on_hand_scaled_matrix(shops):
    df, g = shops
    seg = segment(df, k=3, random_state=7)
    X = df[["spend", "visits"]].to_numpy()
    Z = (X - X.mean(0)) / X.std(0)
    ref = kmeanskit.fit(Z, 3, random_state=7)
    np.testing.assert_array_equal(seg.labels, ref.labels)
    assert seg.columns == ["spend", "visits"] and seg.skipped == ["name", "kind"]
    np.testing.assert_allclose(seg.centers, ref.centers * X.std(0) + X.mean(0), rtol=1e-10)
    # the planted groups are found
    assert len({(a, b) for a, b in zip(g, seg.labels)}) == 3


@pytest.mark.parametrize("log", [False, True])
def test_profile_against_slow_reference(shops, log):
    df, _ = shops
    seg = segment(df, k=3, columns=["spend", "visits"], log=log)
    V = df[["spend", "visits"]].to_numpy()
    F = np.log1p(V) if log else V
    ref = naive.segment_profile(V, F, seg.labels, 3)
    p = seg.profile
    for c, r in enumerate(ref):
        assert p.loc[c, "size"] == r["size"]
        assert p.loc[c, "share"] == pytest.approx(r["share"])
        for j, name in enumerate(["spend", "visits"]):
            assert p.loc[c, f"{name} mean"] == pytest.approx(r["mean"][j], rel=1e-12)
            assert p.loc[c, f"{name} median"] == pytest.approx(r["median"][j], rel=1e-12)
            assert seg.profile_z.loc[c, name] == pytest.approx(r["z"][j], rel=1e-9, abs=1e-12)
        order = sorted(range(2), key=lambda j: -abs(r["z"][j]))
        want = ", ".join(f"{['spend', 'visits'][j]} {r['z'][j]:+.1f} sd" for j in order)
        assert p.loc[c, "distinguishing"] == want
    assert seg.features == (["log1p(spend)", "log1p(visits)"] if log else ["spend", "visits"])


def test_distinguishing_toy_case():
    # x: cluster means 0 and 10, overall mean 5, sd 5 -> -1.0 / +1.0 sd; y constant -> 0 sd
    df = pd.DataFrame({"x": [0.0, 0.0, 10.0, 10.0], "y": [3.0, 3.0, 3.0, 3.0]})
    seg = segment(df, k=2, standardize="none")
    hi = seg.labels[2]
    assert seg.profile.loc[hi, "distinguishing"] == "x +1.0 sd, y +0.0 sd"
    assert seg.profile.loc[1 - hi, "distinguishing"] == "x -1.0 sd, y +0.0 sd"
    assert seg.profile["share"].tolist() == [0.5, 0.5]


def test_inputs_not_modified_and_array_input(shops):
    df, _ = shops
    before = df.copy()
    segment(df, k=2)
    pd.testing.assert_frame_equal(df, before)
    X = df[["spend", "visits"]].to_numpy()
    Xc = X.copy()
    seg = segment(X, k=3)
    np.testing.assert_array_equal(X, Xc)
    assert seg.columns == ["0", "1"]
    np.testing.assert_array_equal(seg.labels, segment(df, k=3).labels)


def test_categorical_refused_with_fix(shops):
    df, _ = shops
    with pytest.raises(ValueError, match=r"'kind'.*categorical.*categorical='onehot' \(--onehot\)"):
        segment(df, k=3, columns=["spend", "kind"])


def test_onehot(shops):
    df, g = shops
    seg = segment(df, k=3, columns=["visits", "kind"], categorical="onehot")
    assert seg.features == ["visits", "kind=a", "kind=b", "kind=c"]
    # each level is its own cluster: the one-hot shares are 0 or 1
    shares = seg.profile[["kind=a mean", "kind=b mean", "kind=c mean"]].to_numpy()
    assert sorted(shares.sum(axis=0).tolist()) == [1.0, 1.0, 1.0]
    assert set(np.unique(shares)) <= {0.0, 1.0}
    F = feature_matrix(df, seg.features)
    np.testing.assert_array_equal(F[:, 1:].argmax(axis=1), g)
    # automatic selection with onehot: low-cardinality text encoded, the name column skipped
    auto = segment(df, k=3, categorical="onehot")
    assert auto.skipped == ["name"] and "kind=b" in auto.features


def test_missing_values_message_and_dropna_keeps_order(shops):
    df, _ = shops
    df = df.copy()
    df.loc[[3, 40], "spend"] = np.nan
    df.loc[5, "visits"] = np.nan
    with pytest.raises(ValueError, match=r"'spend' \(2\), 'visits' \(1\).*dropna=True \(--dropna\).*"
                                         r"impute='mean' \(--impute mean\)"):
        segment(df, k=3)
    seg = segment(df, k=3, dropna=True)
    assert seg.dropped.tolist() == [3, 5, 40]
    assert seg.labels[[3, 5, 40]].tolist() == [-1, -1, -1]
    out = seg.to_frame()
    assert len(out) == len(df) and out.index.equals(df.index)
    assert out["cluster"].isna().tolist() == [i in (3, 5, 40) for i in range(len(df))]
    pd.testing.assert_frame_equal(out.drop(columns="cluster"), df)
    # the rows kept cluster exactly as the complete table without them
    rest = segment(df.drop(index=[3, 5, 40]), k=3)
    np.testing.assert_array_equal(seg.labels[seg.labels >= 0], rest.labels)
    assert seg.profile["size"].sum() == len(df) - 3


def test_impute_mean(shops):
    df, _ = shops
    df = df.copy()
    df.loc[3, "spend"] = np.nan
    seg = segment(df, k=3, impute="mean")
    assert seg.imputed == {"spend": 1} and seg.dropped.size == 0
    filled = df.copy()
    filled.loc[3, "spend"] = df["spend"].mean()
    np.testing.assert_array_equal(seg.labels, segment(filled, k=3).labels)
    with pytest.raises(ValueError, match="either dropna"):
        segment(df, k=3, impute="mean", dropna=True)


def test_bad_arguments(shops):
    df, _ = shops
    with pytest.raises(ValueError, match="not found"):
        segment(df, columns=["nope"])
    with pytest.raises(ValueError, match="standardize"):
        segment(df, standardize="minmax")
    with pytest.raises(ValueError, match="k must be"):
        segment(df, k=0)
    with pytest.raises(ValueError, match="negative"):
        segment(pd.DataFrame({"x": [-1.0, 2.0, 3.0]}), k=2, log=True)
    with pytest.raises(ValueError, match="no numeric columns"):
        segment(pd.DataFrame({"t": ["a", "b"]}), k=1)


def test_k_auto_keeps_sweep_and_weights(shops):
    df, _ = shops
    seg = segment(df, k="auto", columns=["spend", "visits"], log=True, k_range=range(2, 7))
    assert seg.sweep is not None and seg.k == seg.sweep.best_k
    assert seg.sweep.k.tolist() == [2, 3, 4, 5, 6]
    w = np.ones(len(df))
    w[:5] = 3.0
    ws = segment(df, k=3, sample_weight=w)
    assert ws.profile["share"].sum() == pytest.approx(1.0)
    big = ws.labels[0]
    assert ws.profile.loc[big, "share"] == pytest.approx(w[ws.labels == big].sum() / w.sum())


def _png_pixels(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float64)


def test_report_files_and_refusal(shops, tmp_path):
    df, _ = shops
    seg = segment(df, k="auto", columns=["spend", "visits"], k_range=range(2, 5))
    written = seg.save_report(tmp_path / "rep")
    assert sorted(p.name for p in written) == ["elbow.png", "features.png", "pca.png",
                                               "profile.csv", "profile.md"]
    for name in ("pca.png", "features.png", "elbow.png"):
        px = _png_pixels(tmp_path / "rep" / name)
        assert px.shape[0] > 100 and px.var() > 100.0
    back = pd.read_csv(tmp_path / "rep" / "profile.csv", index_col="cluster")
    np.testing.assert_allclose(back["spend mean"], seg.profile["spend mean"])
    md = (tmp_path / "rep" / "profile.md").read_text()
    assert md.count("\n") == seg.k + 2 and "distinguishing" in md
    before = (tmp_path / "rep" / "profile.csv").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        seg.save_report(tmp_path / "rep")
    assert (tmp_path / "rep" / "profile.csv").read_bytes() == before
    seg.save_report(tmp_path / "rep", overwrite=True)


def test_saved_model_scores_like_the_segmentation(shops, tmp_path):
    from kmeanskit.anomaly import cluster_spread

    df, _ = shops
    seg = segment(df, k=3, columns=["spend", "visits"], log=True)
    path = seg.save_model(tmp_path / "m.kmk")
    km = kmeanskit.load(path)
    assert list(km.feature_names_in_) == ["log1p(spend)", "log1p(visits)"]
    assert km.scaling_ == seg.scaling
    np.testing.assert_allclose(km.cluster_spread_, cluster_spread(seg.model, seg._Z))
    Z = km.scaling_.transform(feature_matrix(df, km.feature_names_in_))
    np.testing.assert_array_equal(km.predict(pd.DataFrame(Z, columns=km.feature_names_in_)), seg.labels)
    with pytest.raises(FileExistsError):
        seg.save_model(tmp_path / "m.kmk")


def test_feature_matrix_names_missing_columns():
    df = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match=r"lacks column\(s\) 'b', 'c'"):
        feature_matrix(df, ["a", "log1p(b)", "c=x"])


def test_plots_return_axes(shops):
    df, _ = shops
    seg = segment(df, k=3)
    ax = seg.plot()
    assert len(ax.collections) == 2 and ax.get_xlabel().startswith("PC1")
    axes = seg.plot_features()
    assert [a.get_title() for a in axes] == ["spend", "visits"]
    import matplotlib.pyplot as plt

    plt.close("all")


# --- the bundled wholesale customers table ----------------------------------------

def test_wholesale_table_matches_published_figures():
    X, cols = load_wholesale_customers()
    assert X.shape == (440, 8)
    assert cols == ["Channel", "Region", *WHOLESALE_SPENDING]
    means = dict(zip(cols, X.mean(axis=0)))
    for name, want in dict(Fresh=12000.2977, Milk=5796.2659, Grocery=7951.2773, Frozen=3071.9318,
                           Detergents_Paper=2881.4932, Delicassen=1524.8705).items():
        assert round(means[name], 4) == want
    assert np.bincount(X[:, 0])[1:].tolist() == [298, 142]
    assert np.bincount(X[:, 1])[1:].tolist() == [77, 47, 316]
    df = load_wholesale_customers(as_frame=True)
    np.testing.assert_array_equal(df.to_numpy(), X)


def test_wholesale_log_segments_recover_the_channel():
    """On log spending, k = "auto" picks 2 segments that are essentially the
    two sales channels (which the clustering never sees): 378 of 440 agree."""
    df = load_wholesale_customers(as_frame=True)
    seg = segment(df, k="auto", columns=WHOLESALE_SPENDING, log=True)
    assert seg.k == 2
    tab = pd.crosstab(seg.labels, df["Channel"]).to_numpy()
    agree = max(tab[0, 0] + tab[1, 1], tab[0, 1] + tab[1, 0])
    assert agree == 378
    retail = int(np.argmax(tab[:, 1]))
    assert re.match(r"(Detergents_Paper|Grocery|Milk) \+0\.\d sd", seg.profile.loc[retail, "distinguishing"])
    # on the raw (skewed) amounts a single client takes a cluster of its own at k = 5
    raw = segment(df, k=5, columns=WHOLESALE_SPENDING)
    assert raw.sizes.min() == 1


def test_segment_is_a_function_of_the_tables_package():
    import importlib
    import types

    mod = importlib.import_module("kmeanskit.tables.segmentation")
    assert isinstance(kmeanskit.segment, types.FunctionType)
    assert mod.segment is kmeanskit.segment is kmeanskit.tables.segment
    assert mod.Segmentation is kmeanskit.Segmentation


@pytest.mark.parametrize("kwargs, message", [
    ({"standardize": "minmax"}, "unknown standardize='minmax'; use one of zscore, whiten, none."),
    ({"categorical": "drop"}, "unknown categorical='drop'; use 'refuse' or 'onehot'."),
    ({"impute": "median"}, "unknown impute='median'; use None or 'mean'."),
    ({"dropna": True, "impute": "mean"}, "pass either dropna=True or impute='mean', not both."),
    ({"k": 0}, "k must be a whole number >= 1 or 'auto'; got 0."),
    ({"k": True}, "k must be a whole number >= 1 or 'auto'; got True."),
    ({"k": 2.0}, "k must be a whole number >= 1 or 'auto'; got 2.0."),
    ({"standardize": "minmax", "k": 0}, "unknown standardize='minmax'"),  # the first rule broken is reported
])
def test_parameter_messages(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        segment(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), **kwargs)


@pytest.mark.parametrize("exp", [900, -900])
def test_columns_near_the_float_range_ends_are_scaled_exactly(exp):
    # a column of about 2**900 (its squares overflow) or 2**-900 (they underflow): its mean and
    # standard deviation are measured on a copy scaled by a power of two, so the z-scores, and
    # the segments, are those of the unscaled column, bit for bit and without a warning (before:
    # a standard deviation of inf or 1, the column's z-scores all 0 or about 1e-271)
    rng = np.random.default_rng(0)
    num = np.concatenate([rng.normal(c, 0.3, size=(200, 2)) for c in (0.0, 5.0, 10.0)])
    f = 2.0 ** exp
    w = rng.uniform(0.5, 1.5, num.shape[0])
    for kind in ("zscore", "whiten"):
        ref = Scaling.fit(num, kind, sample_weight=w)
        got = Scaling.fit(num * [f, 1.0], kind, sample_weight=w)
        np.testing.assert_array_equal(got.transform(num * [f, 1.0]), ref.transform(num))
        np.testing.assert_array_equal(got.scale, ref.scale * [f, 1.0])
    gaps = num.copy()
    gaps[::7, 0] = np.nan  # missing values: each column's observed ones
    np.testing.assert_array_equal(Scaling.fit(gaps * [f, 1.0]).transform(gaps * [f, 1.0]),
                                  Scaling.fit(gaps).transform(gaps))
    table = pd.DataFrame({"x": num[:, 0], "y": rng.normal(size=num.shape[0])})
    big = table.assign(x=table["x"] * f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        a, b = segment(table, 3, random_state=0), segment(big, 3, random_state=0)
    np.testing.assert_array_equal(b.labels, a.labels)
