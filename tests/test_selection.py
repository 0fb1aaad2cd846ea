import io
import json
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

import kmeanskit
from conftest import blobs, three_groups
from kmeanskit import KSweep, choose_k
from kmeanskit._init import kmeans_plusplus_indices, n_local_trials
from kmeanskit.selection import _dedupe, kneedle

# --- Kneedle -----------------------------------------------------------------

def test_kneedle_paper_figure_2():
    # Satopaa et al. 2011, Figure 2: y = -1/(x + 0.1) + 5 at ten points of [0, 1].
    x = np.linspace(0.0, 1.0, 10)
    k = kneedle(x, -1 / (x + 0.1) + 5)
    assert k.x == pytest.approx(0.2222222, rel=1e-6)
    assert (k.curve, k.direction) == ("concave", "increasing")


@pytest.mark.parametrize("y, knee, shape", [
    ([1, 2, 3, 4, 5, 10, 15, 20, 40, 100], 7, ("convex", "increasing")),
    ([100, 40, 20, 15, 10, 5, 4, 3, 2, 1], 2, ("convex", "decreasing")),
    ([99, 98, 97, 96, 95, 90, 85, 80, 60, 0], 7, ("concave", "decreasing")),
    ([0, 60, 80, 85, 90, 95, 96, 97, 98, 99], 2, ("concave", "increasing")),
])
def test_kneedle_four_shapes_detected(y, knee, shape):
    k = kneedle(np.arange(10), y)
    assert k.x == knee
    assert (k.curve, k.direction) == shape


def test_kneedle_noisy_gamma_curve_and_sensitivity():
    # The paper's noisy example: sorted gamma(0.5) draws; larger S is more conservative.
    np.random.seed(23)
    y = sorted(np.random.gamma(0.5, 1.0, 1000), reverse=True)
    x = np.arange(1, 1001)
    knees = [kneedle(x, y, S=s, curve="convex", direction="decreasing").x
             for s in (1, 3, 5, 10, 100, 200, 400)]
    assert knees == [22, 137, 178, 258, 305, 482, 482]
    assert kneedle(x, y, online=True).x == 482


@pytest.mark.parametrize("seed", range(5))
def test_kneedle_noisy_elbow_curve(seed):
    # A distortion-like curve with a sharp bend at k = 4, plus 1% noise.
    rng = np.random.default_rng(seed)
    k = np.arange(1, 11)
    y = np.where(k <= 4, 100 - 22 * (k - 1), 34 - 1.5 * (k - 4)) * (1 + 0.01 * rng.normal(size=10))
    assert kneedle(k, y).x == 4


@pytest.mark.parametrize("y, why", [
    (np.linspace(10, 1, 10), "never bends"),
    (np.full(10, 3.0), "flat"),
])
def test_kneedle_no_knee_says_why(y, why):
    k = kneedle(np.arange(1, 11), y)
    assert k.x is None and why in k.reason


def test_kneedle_too_few_points_and_bad_input():
    assert "at least 3 points" in kneedle([1, 2], [2.0, 1.0]).reason
    with pytest.raises(ValueError, match="increasing"):
        kneedle([1, 3, 2], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        kneedle([1, 2, 3], [3.0, 2.0])


def test_high_sensitivity_gives_no_knee_with_reason():
    k = np.arange(1, 11)
    y = 100.0 / k
    assert kneedle(k, y, S=1).x is not None
    none = kneedle(k, y, S=50)
    assert none.x is None and "S=50" in none.reason


# --- the sweep ---------------------------------------------------------------

def _blob_data(seed=0, n=600, d=2, k=4, spread=0.6):
    rng = np.random.default_rng(seed)
    return blobs(rng, n=n, d=d, k=k, spread=spread)[0]


def test_shared_seeding_is_a_prefix():
    X = _blob_data()
    big = kmeans_plusplus_indices(X, 8, None, np.random.default_rng(3), n_trials=4)
    for k in (1, 3, 5):
        small = kmeans_plusplus_indices(X, k, None, np.random.default_rng(3), n_trials=4)
        assert small.tolist() == big[:k].tolist()


def test_sweep_fits_equal_fit_from_the_shared_seeds():
    X = _blob_data()
    sw = choose_k(X, range(1, 7), random_state=5, n_init=1)
    idx = kmeans_plusplus_indices(X, 6, None, np.random.default_rng(5), n_trials=n_local_trials(6))
    for k in range(1, 7):
        ref = kmeanskit.fit(X, k, init=X[idx[:k]])
        m = sw.models[k]
        assert m.inertia == ref.inertia
        np.testing.assert_array_equal(m.labels, ref.labels)
        assert sw.inertia[k - 1] == ref.inertia


def test_sweep_metrics_equal_sklearn_on_the_sweep_labels():
    X = _blob_data(spread=2.0)
    sw = choose_k(X, range(1, 6), random_state=0)
    assert np.isnan(sw.silhouette[0]) and np.isnan(sw.calinski_harabasz[0])
    for i, k in enumerate(sw.k):
        if k < 2:
            continue
        lab = sw.models[int(k)].labels
        assert sw.silhouette[i] == pytest.approx(skm.silhouette_score(X, lab), rel=1e-9)
        assert sw.calinski_harabasz[i] == pytest.approx(skm.calinski_harabasz_score(X, lab), rel=1e-9)
        assert sw.davies_bouldin[i] == pytest.approx(skm.davies_bouldin_score(X, lab), rel=1e-7)
        assert sw.silhouette_se[i] == 0.0


# Small grid of well-separated blobs (separation in units of the blob spread).
GRID = [(k, d, n, sep) for k in (2, 3, 5) for d in (2, 5) for (n, sep) in ((300, 12.0), (1200, 8.0))]


@pytest.mark.parametrize("true_k, d, n, sep", GRID)
def test_recommendation_finds_true_k_on_separated_blobs(true_k, d, n, sep):
    rng = np.random.default_rng(true_k * 100 + d * 10 + n)
    # centres on a scaled simplex-like random layout at least `sep` apart
    while True:
        C = rng.uniform(0, sep * true_k, size=(true_k, d))
        dist = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1)) + np.eye(true_k) * 1e9
        if dist.min() >= sep:
            break
    lab = rng.integers(0, true_k, size=n)
    X = C[lab] + rng.normal(size=(n, d))
    sw = choose_k(X, range(1, 9), random_state=0)
    assert sw.best_k == true_k, sw.explain()


def test_gap_statistic_finds_blobs_and_one_cluster_on_uniform_noise():
    X = _blob_data(seed=1, n=400, k=3, spread=0.5)
    sw = choose_k(X, range(1, 7), criteria=("gap",), random_state=0, gap_references=8)
    assert sw.votes()["gap"] == 3 and sw.best_k == 3
    assert np.all(sw.gap_se > 0)
    for ref in ("box", "pca"):
        U = np.random.default_rng(2).uniform(size=(400, 2))
        su = choose_k(U, range(1, 6), criteria=("gap",), random_state=0, gap_reference=ref)
        assert su.votes()["gap"] == 1, su.gap


def test_gap_matches_a_direct_computation():
    X = _blob_data(seed=4, n=200, k=3)
    sw = choose_k(X, range(1, 5), criteria=("gap",), random_state=7, gap_references=5, n_init=2)
    # Recompute: same rng stream (one data sweep, then the reference sets in order).
    rng = np.random.default_rng(7)
    from kmeanskit.selection import _sweep_inertia

    ks = np.arange(1, 5)
    fits, _, _ = _sweep_inertia(X, None, ks, rng, n_init=2, max_iter=300, tol=1e-4, n_threads=None)
    logw = np.log([fits[k].inertia / 200 for k in ks])
    refs = []
    lo, hi = X.min(0), X.max(0)
    for b in range(5):
        R = rng.uniform(lo, hi, size=(200, 2))
        rf, _, _ = _sweep_inertia(R, None, ks, rng, n_init=2, max_iter=300, tol=1e-4, n_threads=None)
        refs.append([np.log(rf[k].inertia / 200) for k in ks])
    refs = np.array(refs)
    np.testing.assert_allclose(sw.gap, refs.mean(0) - logw, rtol=1e-10)
    np.testing.assert_allclose(sw.gap_se, refs.std(0) * np.sqrt(1 + 1 / 5), rtol=1e-10)


def test_scipy_distortion_curve():
    X = _blob_data()
    sw = choose_k(X, range(1, 7), criteria=("elbow",), distortion="scipy", random_state=0)
    for i, k in enumerate(sw.k):
        m = sw.models[int(k)]
        _, dist = kmeanskit.vq.vq(X, m.centers)
        assert sw.distortion[i] == pytest.approx(dist.mean(), rel=1e-12)
    assert sw.knee == 4
    assert "distortion" in sw.to_pandas().columns


def test_duplicates_are_merged_exactly():
    rng = np.random.default_rng(0)
    C = np.array([[20, 20, 20], [200, 40, 40], [60, 200, 90]])
    lab = rng.integers(0, 3, 30_000)
    X = np.round(C[lab] + rng.normal(scale=2, size=(30_000, 3))).clip(0, 255).astype(np.float32)
    assert _dedupe(X, None)[0].shape[0] < 15_000
    sw = choose_k(X, range(1, 5), random_state=0, silhouette_max_exact=20_000)
    assert sw.n_rows_clustered < 15_000 and "merged" in sw.explain()
    m = sw.models[3]
    assert m.labels.shape == (30_000,)
    assert kmeanskit.assign(X, m.centers)[2] == pytest.approx(m.inertia, rel=1e-9)
    Xd = X.astype(np.float64)
    assert sw.calinski_harabasz[2] == pytest.approx(skm.calinski_harabasz_score(Xd, m.labels), rel=1e-7)
    assert sw.davies_bouldin[2] == pytest.approx(skm.davies_bouldin_score(Xd, m.labels), rel=1e-6)
    sub = rng.choice(30_000, 3000, replace=False)  # the silhouette of all rows, checked on a sample
    assert sw.silhouette[2] == pytest.approx(skm.silhouette_score(Xd[sub], m.labels[sub]), abs=0.02)
    assert sw.best_k == 3
    plain = choose_k(X, range(1, 5), random_state=0, dedupe=False, criteria=("elbow",))
    # same optimum up to the true k (beyond it, each run is one local optimum)
    np.testing.assert_allclose(plain.inertia[:3], sw.inertia[:3], rtol=1e-6)
    assert plain.n_rows_clustered == 30_000


def test_presampled_warm_start():
    X = _blob_data(n=20_000, k=5, spread=1.0)
    full = choose_k(X, range(1, 8), criteria=("elbow",), random_state=0, presample=False)
    warm = choose_k(X, range(1, 8), criteria=("elbow",), random_state=0, presample=2_000)
    assert "sampled rows" in warm.explain()
    for k in range(1, 8):
        m = warm.models[k]
        assert kmeanskit.assign(X, m.centers)[2] == pytest.approx(m.inertia, rel=1e-9)
    # close to the plain sweep (each is one local optimum)
    np.testing.assert_allclose(warm.inertia, full.inertia, rtol=0.02)
    np.testing.assert_allclose(warm.inertia[:5], full.inertia[:5], rtol=1e-5)
    assert warm.knee == full.knee == 5
    with pytest.raises(ValueError, match="too small"):
        choose_k(X, range(1, 8), presample=50)


def test_weights_equal_repeated_rows():
    X = _blob_data(n=200)
    w = np.random.default_rng(1).integers(1, 4, 200)
    sw = choose_k(X, range(2, 6), sample_weight=w, random_state=0)
    Xr = np.repeat(X, w, axis=0)
    for i, k in enumerate(sw.k):
        lr = np.repeat(sw.models[int(k)].labels, w)
        assert sw.silhouette[i] == pytest.approx(skm.silhouette_score(Xr, lr), rel=1e-9)
        assert sw.calinski_harabasz[i] == pytest.approx(skm.calinski_harabasz_score(Xr, lr), rel=1e-9)


def test_explain_reports_agreement_and_disagreement():
    X = _blob_data()
    sw = choose_k(X, range(1, 9), random_state=0)
    text = sw.explain()
    assert text.startswith("Recommended k = 4 (4 of 4 criteria agree")
    # force a disagreement: a sweep whose elbow and silhouette differ
    fake = KSweep(k=np.arange(1, 6), inertia=np.array([100.0, 20, 15, 12, 10]),
                  distortion=np.array([100.0, 20, 15, 12, 10]), distortion_kind="inertia",
                  silhouette=np.array([np.nan, 0.5, 0.7, 0.6, 0.4]), silhouette_se=np.zeros(5),
                  calinski_harabasz=np.full(5, np.nan), davies_bouldin=np.full(5, np.nan),
                  gap=np.full(5, np.nan), gap_se=np.full(5, np.nan), fit_time=np.zeros(5),
                  n_iter=np.ones(5, int), criteria=("elbow", "silhouette"),
                  knee_info=kneedle(np.arange(1, 6), [100.0, 20, 15, 12, 10]))
    assert fake.votes() == {"elbow": 2, "silhouette": 3}
    assert fake.best_k == 2  # tie broken by the elbow
    assert "The criteria disagree: silhouette picks k = 3" in fake.explain()


def test_no_knee_gives_no_silent_guess():
    # uniform noise on a line: the distortion curve bends smoothly, a high S finds no knee
    X = np.linspace(0, 1, 300)[:, None]
    sw = choose_k(X, range(1, 8), criteria=("elbow",), S=20, random_state=0)
    assert sw.knee is None and sw.best_k is None
    assert "no knee" in sw.knee_reason
    assert sw.explain().startswith("No recommendation")
    few = choose_k(X, [2, 3], criteria=("elbow",), random_state=0)
    assert few.knee is None and "at least 3" in few.knee_reason


def test_to_pandas_to_dict_and_repr():
    X = _blob_data()
    sw = choose_k(X, range(1, 6), criteria="all", random_state=0, gap_references=3)
    df = sw.to_pandas()
    assert list(df.index) == [1, 2, 3, 4, 5]
    assert {"inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "gap_se",
            "fit_time", "n_iter"} <= set(df.columns)
    np.testing.assert_array_equal(df["inertia"].to_numpy(), sw.inertia)
    d = json.loads(json.dumps(sw.to_dict()))
    assert d["best_k"] == sw.best_k and d["per_k"][0]["silhouette"] is None
    assert "best_k=" in repr(sw)


def test_reproducible_and_input_untouched():
    X = _blob_data().astype(np.float32)
    X0 = X.copy()
    a = choose_k(X, range(1, 6), random_state=3)
    b = choose_k(X, range(1, 6), random_state=3)
    np.testing.assert_array_equal(a.inertia, b.inertia)
    np.testing.assert_array_equal(a.silhouette, b.silhouette)
    np.testing.assert_array_equal(X, X0)
    assert a.models[3].centers.dtype == np.float32


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=[0, 1, 2]), ">= 1"),
    (dict(k=[]), "empty"),
    (dict(k=[1.5]), "whole numbers"),
    (dict(k=range(1, 700)), "more than the 600 rows"),
    (dict(criteria=("elbow", "bic")), "unknown criteria"),
    (dict(distortion="mean"), "distortion"),
    (dict(S=0), "S must be"),
])
def test_bad_arguments(kwargs, match):
    X = _blob_data()
    with pytest.raises(ValueError, match=match):
        choose_k(X, **kwargs)


def test_more_clusters_than_distinct_points():
    X = np.repeat(np.arange(5.0)[:, None], 10, axis=0)
    with pytest.raises(ValueError, match="5 distinct points"):
        choose_k(X, range(1, 8))


def test_plot_renders_headless_png():
    import matplotlib.pyplot as plt
    from PIL import Image

    X = _blob_data()
    sw = choose_k(X, range(1, 8), criteria="all", random_state=0, gap_references=3)
    axes = sw.plot()
    assert len(axes) == 5
    fig = axes[0].figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(int)
    assert img.shape[0] > 100 and img.shape[1] > 400
    # more than a blank canvas: plenty of non-white pixels, and the red knee marker
    assert (img.sum(axis=2) < 600).mean() > 0.02
    red = (img[..., 0] > 150) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 20
    fig2, ax = plt.subplots()
    assert sw.plot(ax=ax) is ax
    assert any("knee" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig2)


def test_choose_k_is_a_function_of_an_importable_module():
    import importlib

    import kmeanskit

    mod = importlib.import_module("kmeanskit.selection")
    assert mod.choose_k is kmeanskit.choose_k
    assert mod.KSweep is kmeanskit.KSweep
    X = np.random.default_rng(0).normal(size=(60, 2))
    sweep = kmeanskit.choose_k(X, k=[1, 2], criteria=("elbow",), random_state=0)
    assert sweep.k.tolist() == [1, 2]


# --- docs/choose_k.md: the hit-rate table and the ties --------------------------------------------

def _grid_script():
    """benchmarks/sweep_grid.py, loaded from its file (its blobs, and its source to check the grid)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "sweep_grid.py"
    spec = importlib.util.spec_from_file_location("sweep_grid", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, path.read_text()


def test_choose_k_page_hit_rates_and_ties():
    """docs/choose_k.md's hit-rate table is benchmarks/sweep_grid.py on the held-out seeds 1-2 (rerun
    here: 180 sweeps, about 30 s on one core), and its sentence on the ties of two votes against two
    counts the same sweeps."""
    import itertools
    import re
    from collections import Counter
    from pathlib import Path

    mod, source = _grid_script()
    text = (Path(__file__).resolve().parents[1] / "docs" / "choose_k.md").read_text()
    flat = " ".join(text.split())
    m = re.search(r"true k in \{([\d, ]+)\}, d in \{([\d, ]+)\}, n in \{([\d, ]+)\}, minimum centre "
                  r"separation (\d+, \d+ or \d+) blob standard deviations", flat)
    ks, ds, ns, seps = ([int(v) for v in re.findall(r"\d+", g)] for g in m.groups())
    grid = f"itertools.product({tuple(ks)}, {tuple(ds)}, {tuple(ns)}, {tuple(float(s) for s in seps)},"
    assert grid in source  # the page describes the script's grid
    assert "make_blobs(true_k, d, n, sep, seed * 7919 + true_k * 101 + d * 11 + n)" in source
    assert "choose_k(X, range(1, 11), criteria=criteria, random_state=seed)" in source
    first, last = (int(v) for v in re.search(r"seeds (\d)-(\d) are held out", flat).groups())
    hits, ties = {}, []
    for true_k, d, n, sep, seed in itertools.product(ks, ds, ns, seps, range(first, last + 1)):
        X = mod.make_blobs(true_k, d, n, float(sep), seed * 7919 + true_k * 101 + d * 11 + n)
        sw = choose_k(X, range(1, 11), random_state=seed)
        votes = sw.votes()
        linear = kneedle(sw.k, sw.inertia, curve="convex", direction="decreasing").x
        row = {"best_k": sw.best_k, "elbow (log)": votes["elbow"], "elbow (linear)": linear,
               "silhouette": votes["silhouette"], "Calinski-Harabasz": votes["calinski_harabasz"],
               "Davies-Bouldin": votes["davies_bouldin"]}
        group = "separated" if sep >= 6 else "overlapping"
        for name, v in row.items():
            hits.setdefault(group, {}).setdefault(name, []).append(v == true_k)
        if sorted(Counter(votes.values()).values()) == [2, 2]:
            ties.append((votes, true_k))
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("| data (seeds 1-2) |"))
    header = [c.strip() for c in lines[i].strip("|").split("|")]
    for ln in lines[i + 2:i + 4]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        h = hits[cells[0].split()[0]]
        assert int(cells[1]) == len(h["best_k"]), cells
        for name, cell in zip(header[2:], cells[2:]):
            assert float(cell.strip("*%")) == round(100 * np.mean(h[name]), 1), (cells[0], name, cell)
    # "the log knee found the true k far more often than the linear one"
    assert all(np.mean(h["elbow (log)"]) > 1.5 * np.mean(h["elbow (linear)"]) for h in hits.values())
    n_ties, n_pairs, right, of, other = re.search(
        r"(\d+) sweeps ended in a tie of two votes against two, (\d+) of them elbow and Calinski-Harabasz "
        r"against silhouette and Davies-Bouldin, which favour merging two close blobs: the elbow's pair was "
        r"right in (\d+) of those (\d+) and the other pair in (none|\d+)\)", flat).groups()
    n_ties, n_pairs, right, of = int(n_ties), int(n_pairs), int(right), int(of)
    other = 0 if other == "none" else int(other)
    assert of == n_pairs
    assert n_ties == len(ties)
    pairs = [(v, t) for v, t in ties if v["elbow"] == v["calinski_harabasz"] and v["silhouette"] == v["davies_bouldin"]]
    assert n_pairs == len(pairs)
    assert right == sum(v["elbow"] == t for v, t in pairs) and other == sum(v["silhouette"] == t for v, t in pairs)


@pytest.mark.parametrize("exp", [600, -600])
def test_choose_k_on_extreme_magnitudes(exp):
    # rows of 2**600 (squares overflow) or 2**-600 (they underflow): the sweep runs on an exactly
    # scaled copy, so k, the models and the curves are the unscaled rows' (the inertia 4**exp
    # times theirs: inf or 0 here, beyond the float range; scipy's distortion 2**exp times)
    # and the scale-free criteria equal theirs to rounding (before: a ValueError or another k)
    f = 2.0 ** exp
    X = three_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the inertia beyond the float range
        ref = kmeanskit.choose_k(X, range(1, 6), criteria="all", random_state=0)
        got = kmeanskit.choose_k(X * f, range(1, 6), criteria="all", random_state=0)
        d_ref = kmeanskit.choose_k(X, range(1, 6), random_state=0, distortion="scipy")
        d_got = kmeanskit.choose_k(X * f, range(1, 6), random_state=0, distortion="scipy")
    assert got.best_k == ref.best_k == 3 and d_got.best_k == d_ref.best_k
    assert got.votes() == ref.votes()
    for kk in ref.models:
        np.testing.assert_array_equal(got.models[kk].centers, ref.models[kk].centers * f)
        np.testing.assert_array_equal(got.models[kk].labels, ref.models[kk].labels)
    assert np.all(got.inertia == (np.inf if exp > 0 else 0.0))
    np.testing.assert_array_equal(d_got.distortion, d_ref.distortion * f)
    for key in ("silhouette", "calinski_harabasz", "davies_bouldin", "gap"):
        np.testing.assert_allclose(getattr(got, key), getattr(ref, key), rtol=1e-12)
