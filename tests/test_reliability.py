"""Reliability suite (issue #18): extreme numbers, user callables, hostile
files, each case table-driven and stating what it expects.

* Numerics: data near the ends of the float range is fitted on an exactly
  scaled copy (``kmeanskit._numeric``). Multiplying data by a power of two is
  exact, so every case compares a fit of ``B * 2**e`` with the fit of ``B``
  (whose largest magnitude is in [0.5, 1), where nothing is scaled) and with
  the NumPy reference of tests/naive.py: the same labels bit for bit, the
  centres times ``2**e`` exactly, the inertia times ``4**e`` (inf, with a
  warning, only where that is beyond float64).
* Callables: an ``init`` callable's output is checked like an init array.
* Files: every reader (``.npy``, CSV/TSV, Parquet, ``.kmk`` models, images)
  refuses hostile or damaged files with one ValueError naming the problem,
  before allocating what they declare; the CLI prints one ``Error:`` line,
  no traceback, and leaves its input byte-identical.

``N_CASES`` (asserted below) is the number of cases docs/reliability.md
states.
"""

from __future__ import annotations

import io
import json
import math
import struct
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import kmeanskit
import naive
from kmeanskit import models, vq
from kmeanskit._numeric import choose

# --- data ---------------------------------------------------------------------------------------


def _base(dtype=np.float64, n=240, d=3, k=3, seed=0):
    """Well-separated blobs whose values all have magnitudes in [2**-6, 1):
    nothing scales them, and ``B * 2**e`` stays normal for the exponents
    below (no value becomes subnormal, so the scaled copy is exact)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 2.0, 2.0], [5.0, 2.5, 3.0], [3.0, 5.5, 4.5]])[:k, :d]
    lab = rng.integers(0, k, n)
    X = centres[lab] + rng.uniform(-0.6, 0.6, size=(n, d))
    X = X / 8.0  # values in [0.175, 0.76]
    return np.ascontiguousarray(X.astype(dtype)), lab


def _C0(B, k=3):
    # one row of each blob, as an explicit start (deterministic)
    _, lab = _base(B.dtype, n=B.shape[0], d=B.shape[1], k=k)
    return np.ascontiguousarray(B[[int(np.flatnonzero(lab == j)[0]) for j in range(k)]])


def _ldexp(a, e):
    return np.ldexp(np.asarray(a), e).astype(np.asarray(a).dtype)


def _inertia_scaled(inertia, power_e):
    """``inertia * 2**power_e`` in float64, inf beyond its range."""
    with np.errstate(over="ignore"):
        return float(np.ldexp(np.float64(inertia), power_e))


# --- numerics: fit on exactly scaled data ------------------------------------------------------------

ALGORITHMS = ["lloyd", "hamerly", "elkan", "exponion", "yinyang"]
#: (dtype, exponent): far beyond where the squares overflow (float32 ~2**64,
#: float64 ~2**512) or the squared differences underflow (float32 ~2**-40,
#: float64 ~2**-500), and the unscaled 0
FIT_SCALES = [(np.float32, -100), (np.float32, -60), (np.float32, 60), (np.float32, 100),
              (np.float64, -1000), (np.float64, -520), (np.float64, 520), (np.float64, 1000)]
FIT_CASES = [pytest.param(dt, e, a, id=f"{np.dtype(dt).name}-2^{e}-{a}")
             for dt, e in FIT_SCALES for a in ALGORITHMS]


@pytest.mark.parametrize("dtype, e, algorithm", FIT_CASES)
def test_fit_on_scaled_data_is_the_fit_scaled(dtype, e, algorithm):
    """Expect: labels equal to the unscaled fit's and to naive.lloyd's,
    centres exactly 2**e times, inertia exactly 4**e times (inf with a
    RuntimeWarning where beyond float64)."""
    B, _ = _base(dtype)
    C0 = _C0(B)
    ref = kmeanskit.fit(B, 3, init=C0, algorithm=algorithm)
    C_naive, lab_naive, _, _ = naive.lloyd(B, C0, tol=1e-4)
    np.testing.assert_array_equal(ref.labels, lab_naive)
    np.testing.assert_allclose(ref.centers, C_naive, rtol=1e-5 if dtype == np.float32 else 1e-12)

    X = _ldexp(B, e)
    want_inertia = _inertia_scaled(ref.inertia, 2 * e)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = kmeanskit.fit(X, 3, init=_ldexp(C0, e), algorithm=algorithm)
    np.testing.assert_array_equal(r.labels, ref.labels)
    np.testing.assert_array_equal(r.centers, _ldexp(ref.centers, e))
    assert r.centers.dtype == dtype
    assert r.n_iter == ref.n_iter
    assert r.inertia == want_inertia
    overflowed = [w for w in caught if "exceeds the float range" in str(w.message)]
    assert bool(overflowed) == math.isinf(want_inertia)


SEEDED_CASES = [pytest.param(dt, e, id=f"{np.dtype(dt).name}-2^{e}")
                for dt, e in [(np.float32, 90), (np.float32, -90), (np.float64, 900), (np.float64, -900)]]


@pytest.mark.parametrize("dtype, e", SEEDED_CASES)
def test_seeded_fit_on_scaled_data(dtype, e):
    """Expect: with the default seeding (k-means++ on the scaled copy), the
    same seed gives the unscaled fit's labels and 2**e times its centres."""
    B, _ = _base(dtype)
    ref = kmeanskit.fit(B, 3, random_state=7)
    r = kmeanskit.fit(_ldexp(B, e), 3, random_state=7)
    np.testing.assert_array_equal(r.labels, ref.labels)
    np.testing.assert_array_equal(r.centers, _ldexp(ref.centers, e))


@pytest.mark.parametrize("dtype, e", SEEDED_CASES)
def test_kmeans_plusplus_on_scaled_data(dtype, e):
    """Expect: the public greedy k-means++ draws the same rows whatever the
    magnitude (before: other rows at 2**900, FewDistinctPointsError at
    2**-900: the squared distances overflowed or vanished)."""
    B, _ = _base(dtype)
    w = np.linspace(1.0, 2.0, B.shape[0]).astype(dtype)
    C, idx = kmeanskit.kmeans_plusplus(_ldexp(B, e), 3, sample_weight=w, random_state=3)
    C_ref, idx_ref = kmeanskit.kmeans_plusplus(B, 3, sample_weight=w, random_state=3)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(C, _ldexp(C_ref, e))


METRIC_CASES = [pytest.param(m, dt, e, id=f"{m}-{np.dtype(dt).name}-2^{e}")
                for m in ("manhattan", "cosine", "chebyshev")
                for dt, e in [(np.float64, 700), (np.float64, -700), (np.float32, 90)]]
POWER = {"manhattan": 1, "chebyshev": 1, "cosine": 0}


@pytest.mark.parametrize("metric, dtype, e", METRIC_CASES)
def test_other_metrics_on_scaled_data(metric, dtype, e):
    """Expect: labels equal to the unscaled fit's, centres 2**e times, the
    objective 2**e times (cosine: unchanged); assign gives the same."""
    B, _ = _base(dtype)
    C0 = _C0(B)
    ref = kmeanskit.fit(B, 3, init=C0, metric=metric)
    r = kmeanskit.fit(_ldexp(B, e), 3, init=_ldexp(C0, e), metric=metric)
    np.testing.assert_array_equal(r.labels, ref.labels)
    np.testing.assert_allclose(r.centers, _ldexp(ref.centers, e), rtol=1e-12)
    assert r.inertia == pytest.approx(_inertia_scaled(ref.inertia, POWER[metric] * e), rel=1e-6)
    lab, dist, obj = kmeanskit.assign(_ldexp(B, e), r.centers, metric=metric)
    lab0, dist0, obj0 = kmeanskit.assign(B, ref.centers, metric=metric)
    np.testing.assert_array_equal(lab, lab0)
    np.testing.assert_allclose(dist, np.ldexp(dist0, POWER[metric] * e), rtol=1e-6)


# --- numerics: the cases of issue #18 -----------------------------------------------------------


def _two_groups(scale, dtype, n=100):
    rng = np.random.default_rng(3)
    a = 1.0 + rng.uniform(0, 0.01, n // 2)
    X = np.concatenate([a, -a])[:, None] * scale
    return X.astype(dtype)


def test_issue_assign_float32_near_1e30():
    """Expect [0 0 1 1] (was [0 0 1 0]: the squared distances overflowed)."""
    X = np.array([[1e30], [1.01e30], [-1e30], [-1.01e30]], np.float32)
    labels, d2, inertia = kmeanskit.assign(X, np.array([[1e30], [-1e30]], np.float32))
    assert labels.tolist() == [0, 0, 1, 1]
    want = naive.assign(X.astype(np.float64), np.array([[1e30], [-1e30]], np.float32).astype(np.float64))[1]
    np.testing.assert_allclose(d2, want, rtol=1e-6)
    assert inertia == pytest.approx(want.sum(), rel=1e-6)


@pytest.mark.parametrize("scale, dtype", [(1e30, np.float32), (1e36, np.float32), (1e160, np.float64),
                                          (1e300, np.float64)], ids=["f32-1e30", "f32-1e36", "f64-1e160",
                                                                     "f64-1e300"])
def test_issue_fit_splits_separated_groups(scale, dtype):
    """Expect the two groups of 50 (was a 99/1 split), each centre the
    group's mean."""
    X = _two_groups(scale, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inertia beyond float64 for 1e160+
        r = kmeanskit.fit(X, 2, random_state=0)
    assert sorted(np.bincount(r.labels).tolist()) == [50, 50]
    assert (r.labels[:50] == r.labels[0]).all() and (r.labels[50:] != r.labels[0]).all()
    means = sorted([float(X[:50].astype(np.float64).mean()), float(X[50:].astype(np.float64).mean())])
    np.testing.assert_allclose(np.sort(r.centers.ravel().astype(np.float64)), means, rtol=1e-6)


@pytest.mark.parametrize("weight", [1e306, 1e307, 2.0 ** 1019, 1e-300, 2.0 ** -1070],
                         ids=["1e306", "1e307", "2^1019", "1e-300", "2^-1070-subnormal"])
def test_issue_extreme_weights_give_the_unweighted_centres(weight):
    """Expect: uniform weights of any size give the unweighted fit's labels
    and centres (were NaN/inf centres for 1e307), and inertia = weight x the
    unweighted inertia (inf with a warning when beyond float64)."""
    X, _ = _base(np.float64, n=60)
    X = X * 8.0
    ref = kmeanskit.KMeans(3, random_state=0, n_init=1).fit(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        km = kmeanskit.KMeans(3, random_state=0, n_init=1).fit(X, sample_weight=np.full(60, weight))
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert np.isfinite(km.cluster_centers_).all()
    with np.errstate(over="ignore"):
        want = ref.inertia_ * weight
    if math.isinf(want):
        assert math.isinf(km.inertia_)
        assert any("exceeds the float range" in str(w.message) for w in caught)
    else:
        assert km.inertia_ == pytest.approx(want, rel=1e-9)


def test_issue_tiny_values_are_four_distinct_points():
    """Expect two clusters {1e-300, 1.1e-300} and {5e-300, 5.1e-300} (was
    "only 1 distinct points": the squares underflowed), and assign agreeing."""
    X = np.array([[1e-300], [1.1e-300], [5e-300], [5.1e-300]])
    r = kmeanskit.fit(X, 2, random_state=0)
    assert r.labels[0] == r.labels[1] != r.labels[2] == r.labels[3]
    np.testing.assert_allclose(np.sort(r.centers.ravel()), [1.05e-300, 5.05e-300], rtol=1e-12)
    labels, _, _ = kmeanskit.assign(X, np.array([[1e-300], [5e-300]]))
    assert labels.tolist() == [0, 0, 1, 1]


def test_issue_weights_1e307_with_exactly_k_distinct_points():
    """Expect a fit (was "n_clusters=3 but X has only 3 distinct points")."""
    X = np.array([[0.0], [1.0], [5.0]])
    r = kmeanskit.fit(X, 3, sample_weight=np.full(3, 1e307), random_state=0)
    np.testing.assert_array_equal(np.sort(r.centers.ravel()), [0.0, 1.0, 5.0])
    assert r.inertia == 0.0


@pytest.mark.parametrize("X, w, k, match", [
    (np.array([[1.0], [1.0], [2.0]]), None, 3, "only 2 distinct points"),
    (np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 0.0, 1.0]), 3, "only 2 distinct points"),
    (np.array([[1.0], [1e-300], [1.1e-300], [2.0]]), None, 4, "at least 4 distinct points"),
], ids=["duplicates", "zero-weight", "underflowing-differences"])
def test_distinct_count_is_exact(X, w, k, match):
    """Expect the number of distinct rows counted on their values, not on
    distances (which underflow): a true count, or a message saying the rows
    are distinct but too close for the float range."""
    with pytest.raises(ValueError, match=match):
        kmeanskit.fit(X, k, sample_weight=w, init="k-means++", random_state=0)


def test_float32_weights_beyond_float32_are_named():
    """Expect a ValueError naming the weights' range (was an "inf" message
    about weights that are finite)."""
    X = np.ones((3, 1), np.float32) * np.arange(3, dtype=np.float32)[:, None]
    with pytest.raises(ValueError, match="beyond the range of X's dtype float32"):
        kmeanskit.fit(X, 2, sample_weight=np.full(3, 1e307))


@pytest.mark.parametrize("e", [450, -450], ids=["2^450", "2^-450"])
def test_estimator_predict_transform_score_scaled(e):
    """Expect predict = the unscaled model's labels, transform = 2**e x its
    distances, score = 4**e x its score (finite here)."""
    B, _ = _base(np.float64)
    ref = kmeanskit.KMeans(3, random_state=1, n_init=1).fit(B)
    km = kmeanskit.KMeans(3, random_state=1, n_init=1).fit(_ldexp(B, e))
    X = _ldexp(B, e)
    np.testing.assert_array_equal(km.predict(X), ref.predict(B))
    np.testing.assert_allclose(km.transform(X), np.ldexp(ref.transform(B), e), rtol=1e-12)
    assert km.score(X) == pytest.approx(np.ldexp(ref.score(B), 2 * e), rel=1e-12)
    np.testing.assert_allclose(km.transform(X), np.sqrt(naive.sq_distances(B, ref.cluster_centers_))
                               * 2.0 ** e, rtol=1e-12)


def test_same_seed_same_result_on_scaled_data_for_any_thread_count():
    """Expect bit-identical results with 1 and 2 threads on data near 1e300."""
    X = _ldexp(_base(np.float64, n=3000)[0], 1000)
    a = kmeanskit.fit(X, 3, random_state=5, n_threads=1, algorithm="hamerly")
    b = kmeanskit.fit(X, 3, random_state=5, n_threads=2, algorithm="hamerly")
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centers, b.centers)


def test_ordinary_data_is_not_scaled():
    """Expect the unscaled window to hold ordinary data (no copy, the
    results of the kernels as they are: benchmarks/hashes.py)."""
    for A in (np.random.default_rng(0).normal(size=(100, 3)) * 1e6, np.full((4, 2), 255.0),
              np.random.default_rng(1).random((50, 4)).astype(np.float32) * 1e-6):
        assert choose(A).identity
        assert choose(A, np.full(A.shape[0], 1e9)).identity


@pytest.mark.parametrize("dtype, lo, hi", [(np.float32, -40, 48), (np.float64, -400, 400)])
def test_range_check_takes_the_fits_sum_of_squares(monkeypatch, dtype, lo, hi):
    """Expect ``choose`` given the sum of squares a fit takes from its
    tolerance's column variances (``_solver.column_stats``: ``n (var +
    mean^2)``, another order of summation than its own dot product) to pick
    the scaling it picks alone, at and around both edges of the unscaled
    window, beyond them and for ordinary data; and ``fit`` to give the same
    bits as a fit whose range check measures its own sum of squares."""
    from kmeanskit import _solver

    rng = np.random.default_rng(3)
    base = rng.normal(size=(3000, 5)) + 2.0
    for e in (0, 3, -3, *(edge + off for edge in (lo, hi) for off in (-9, -2, -1, 0, 1, 2, 9)),
              2 * lo, 2 * hi):
        X = _ldexp(base.astype(dtype), e)
        with np.errstate(over="ignore", under="ignore"):
            alone = choose(X)
        assert choose(X, sumsq=_solver.column_stats(X)[1]) == alone, e
    X = base.astype(dtype)
    # the variances the tolerance takes from them, on ordinary data
    var, _ = _solver.column_stats(X)
    assert _solver.tolerance(X, 1e-4, var) == pytest.approx(np.var(X.astype(np.float64), axis=0).mean() * 1e-4,
                                                            rel=1e-12)
    r = kmeanskit.fit(X, 4, random_state=0)
    calls = []
    real = _solver.column_stats

    def own_sumsq(A):  # the range check measures its own sum of squares, as before the change
        calls.append(1)
        return real(A)[0], None

    monkeypatch.setattr(_solver, "column_stats", own_sumsq)
    again = kmeanskit.fit(X, 4, random_state=0)
    assert calls == [1]  # once a fit: the tolerance takes the same variances
    np.testing.assert_array_equal(again.labels, r.labels)
    np.testing.assert_array_equal(again.centers, r.centers)
    assert again.inertia == r.inertia and again.n_iter == r.n_iter
    # the sum of squares itself, on ordinary data
    assert real(X)[1] == pytest.approx(float(np.sum(X.astype(np.float64) ** 2)), rel=1e-12)


# --- numerics: the scipy functions ---------------------------------------------------------------

VQ_SCALES = [pytest.param(e, id=f"2^{e}") for e in (700, -700)]


@pytest.mark.parametrize("e", VQ_SCALES)
def test_vq_kmeans_scaled(e):
    """Expect scipy-style kmeans' code book 2**e times and its distortion
    2**e times the unscaled run's (same rng, ``thresh`` in the data's units,
    so 2**e times too)."""
    B, _ = _base(np.float64)
    book0, dist0 = vq.kmeans(B, 3, rng=0)
    book, dist = vq.kmeans(_ldexp(B, e), 3, rng=0, thresh=np.ldexp(1e-5, e))
    np.testing.assert_array_equal(book, _ldexp(book0, e))
    assert dist == pytest.approx(np.ldexp(dist0, e), rel=1e-12)
    code, d = vq.vq(_ldexp(B, e), book)
    code0, d0 = vq.vq(B, book0)
    np.testing.assert_array_equal(code, code0)
    np.testing.assert_allclose(d, np.ldexp(d0, e), rtol=1e-12)


@pytest.mark.parametrize("minit", ["++", "points", "random", "matrix"])
@pytest.mark.parametrize("e", VQ_SCALES)
def test_vq_kmeans2_scaled(minit, e):
    """Expect kmeans2's labels equal and centroids 2**e times the unscaled
    run's (same rng; minit='random' fits a Gaussian to the data, which
    scales)."""
    B, _ = _base(np.float64)
    k = _C0(B) if minit == "matrix" else 3
    c0, lab0 = vq.kmeans2(B, k, minit=minit, rng=4)
    c, lab = vq.kmeans2(_ldexp(B, e), _ldexp(k, e) if minit == "matrix" else 3, minit=minit, rng=4)
    np.testing.assert_array_equal(lab, lab0)
    np.testing.assert_allclose(c, np.ldexp(c0, e), rtol=1e-9)


@pytest.mark.parametrize("e", [1000, 600, -600, -1000])
def test_vq_whiten_scaled(e):
    """Expect whiten of scaled data equal to whiten of the data (its result
    has unit deviation; was 0 or inf where the variance over/underflowed)."""
    B, _ = _base(np.float64)
    np.testing.assert_allclose(vq.whiten(_ldexp(B, e)), vq.whiten(B), rtol=1e-12)


# --- user callables --------------------------------------------------------------------------------

def _X():
    return _base(np.float64, n=60)[0]


CALLABLE_CASES = [
    ("two-rows-for-k3", lambda X, k, rng: X[:2], "has shape \\(2, 3\\) but n_clusters=3"),
    ("nan", lambda X, k, rng: np.full((k, X.shape[1]), np.nan), "contains NaN or infinity"),
    ("inf", lambda X, k, rng: np.full((k, X.shape[1]), np.inf), "contains NaN or infinity"),
    ("text", lambda X, k, rng: np.full((k, X.shape[1]), "a"), "dtype <U1 which is not numeric"),
    ("ragged", lambda X, k, rng: [[1.0], [1.0, 2.0], [3.0]], "could not be read as a numeric array"),
    ("one-d", lambda X, k, rng: X[:, 0][:3], "has shape \\(3,\\)"),
    ("transposed", lambda X, k, rng: X[:3].T[:, :2], "has shape \\(3, 2\\)"),
    ("none", lambda X, k, rng: None, "not numeric"),
]


@pytest.mark.parametrize("entry", ["fit", "KMeans", "fit-manhattan"])
@pytest.mark.parametrize("case, init, match", CALLABLE_CASES, ids=[c[0] for c in CALLABLE_CASES])
def test_callable_init_output_is_checked(entry, case, init, match):
    """Expect a ValueError naming the callable's output and the problem, in
    the wording of an init array's checks (was IndexError, or accepted)."""
    X = _X()
    with pytest.raises(ValueError, match=match) as info:
        if entry == "fit":
            kmeanskit.fit(X, 3, init=init, random_state=0)
        elif entry == "KMeans":
            kmeanskit.KMeans(3, init=init, random_state=0).fit(X)
        else:
            kmeanskit.fit(X, 3, init=init, metric="manhattan", random_state=0)
    assert "init callable" in str(info.value)


def test_callable_init_sees_the_callers_data_and_is_used():
    """Expect the callable to get the data as passed (not a scaled copy) and
    its centres (a list is fine) to be the start: with centres from the data,
    the fit equals the fit from that explicit array."""
    X = _ldexp(_base(np.float64)[0], 900)
    seen = []

    def init(data, k, rng):
        seen.append(float(np.abs(data).max()))
        return _C0(data).tolist()

    r = kmeanskit.fit(X, 3, init=init, n_init=1)
    ref = kmeanskit.fit(X, 3, init=_C0(X))
    assert seen == [float(np.abs(X).max())]
    np.testing.assert_array_equal(r.centers, ref.centers)


# --- files ---------------------------------------------------------------------------------------------

def _npy_bytes(shape, descr="<f8", data=b"", version=(1, 0), fortran=False):
    """A .npy file whose header declares ``shape`` whatever ``data`` holds."""
    h = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}).encode("latin1")
    pre = 8 + (2 if version == (1, 0) else 4)
    h = h + b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    size = struct.pack("<H" if version == (1, 0) else "<I", len(h))
    return b"\x93NUMPY" + bytes(version) + size + h + data


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _good_model_entries():
    """The entries of a valid .kmk file (2 centres, 2 features)."""
    import tempfile
    from pathlib import Path

    from kmeanskit.core import model_record

    r = kmeanskit.fit(np.array([[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]]), 2, init=[[0.0, 0.0], [9.0, 9.0]])
    with tempfile.TemporaryDirectory() as d:
        p = models.write(model_record(r), Path(d) / "good.kmk")
        with zipfile.ZipFile(p) as z:
            return {n: z.read(n) for n in z.namelist()}


def _zip(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return out.getvalue()


def _meta(entries, **changes):
    m = json.loads(entries["meta.json"])
    m.update(changes)
    return {**entries, "meta.json": json.dumps(m).encode()}


def _png_bytes(w=4, h=3, mode="RGB"):
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (w, h), (10, 20, 30) if mode == "RGB" else 5).save(buf, "PNG")
    return buf.getvalue()


def _png_declaring(w, h):
    """A tiny PNG whose IHDR declares w x h pixels (with a valid CRC)."""
    import zlib

    raw = bytearray(_png_bytes())
    ihdr = struct.pack(">II", w, h) + bytes(raw[24:29])
    raw[16:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(raw)


def _gif_frames(n, side):
    from PIL import Image

    buf = io.BytesIO()
    frames = [Image.new("P", (side, side), i) for i in range(n)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _parquet_bytes():
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"x": np.arange(50, dtype=float), "y": np.arange(50, dtype=float) ** 2}).to_parquet(
        buf, index=False)
    return buf.getvalue()


def _read_table(p):
    from kmeanskit.tables import read_table

    return read_table(p)


def _read_frame(p):
    from kmeanskit.tables import read_frame

    return read_frame(p)


def _load_image(p, frames="first"):
    from kmeanskit.image import load_image

    return load_image(p, frames=frames)


def _bad_parquet_footer():
    b = bytearray(_parquet_bytes())
    n = struct.unpack("<I", b[-8:-4])[0]
    mid = len(b) - 8 - n // 2
    b[mid:mid + 8] = b"\xff" * 8  # damage the footer's thrift metadata
    return bytes(b)


#: (id, file name, bytes or a function of nothing giving them, reader, expected message regex)
FILE_CASES = [
    # .npy
    ("npy-declares-1e12-rows", "h.npy", lambda: _npy_bytes((10**12, 3)), _read_table,
     r"declares an array of shape \(1000000000000, 3\) float64 \(21.8 TiB\) but holds only 0 bytes"),
    ("npy-truncated", "t.npy", lambda: _npy(np.zeros((100, 3)))[:-8], _read_table,
     "holds only 2.3 KiB of data; the file is truncated"),
    ("npy-frame-truncated", "t.npy", lambda: _npy(np.zeros((100, 3)))[:-8], _read_frame,
     "the file is truncated"),
    ("npy-object-pickle", "o.npy", lambda: _npy_bytes((2,), "|O", b"\x80\x04N."), _read_table,
     "without unpickling"),
    ("npy-bad-magic", "m.npy", b"\x93NUMPZ\x01\x00garbage", _read_table, "not a readable .npy array"),
    ("npy-empty-file", "e.npy", b"", _read_table, "not a readable .npy array"),
    ("npy-bad-header", "b.npy", lambda: _npy_bytes((3,))[:12] + b"{'descr': 5}" + b" " * 50 + b"\n",
     _read_table, "not a readable .npy array"),
    ("npy-negative-shape", "n.npy", lambda: _npy_bytes((-1, 3)), _read_table,
     "not a readable .npy array|invalid shape"),
    ("npy-v2-declares-huge", "v2.npy", lambda: _npy_bytes((10**9, 10**6), version=(2, 0)), _read_table,
     "but holds only 0 bytes"),
    ("npy-3d", "c.npy", lambda: _npy(np.zeros((2, 2, 2))), _read_table, "save a 2-D table"),
    # found by test_fuzz: 65,536 empty columns took 80 s (a quadratic column selection)
    ("npy-0-rows-65536-columns", "w.npy", lambda: _npy_bytes((0, 65536)), _read_table, "has no rows"),
    # found by test_fuzz: no rows and 10**12 columns built 10**12 column names (killed by the OS)
    ("npy-0-rows-1e12-columns", "w.npy", lambda: _npy_bytes((0, 10**12)), _read_frame,
     r"the column names of an array of shape \(0, 1000000000000\) needs 90.9 TiB"),
    # CSV / TSV
    ("csv-empty", "e.csv", b"", _read_table, "the file is empty"),
    ("csv-binary", "b.csv", bytes(range(256)) * 4, _read_table,
     "not a readable CSV table|no numeric columns|has no rows|non-numeric|missing"),
    ("csv-not-utf8", "u.csv", b"x,y\n1,\xff\xfe\n", _read_table, "not a readable CSV table|non-numeric"),
    ("csv-ragged", "r.csv", b"x,y\n1,2\n3,4,5,6\n", _read_table, "not a readable CSV table"),
    ("csv-missing-values", "m.csv", b"x,y\n1,2\n3,\n", _read_table, "missing or non-finite values"),
    ("csv-inf", "i.csv", b"x,y\n1,2\n3,inf\n", _read_table, "missing or non-finite values"),
    ("tsv-header-only", "h.tsv", b"x\ty\n", _read_table, "no numeric columns|has no rows"),
    # Parquet
    ("parquet-truncated", "t.parquet", lambda: _parquet_bytes()[:-20], _read_table,
     "not a readable Parquet file"),
    ("parquet-garbage-with-magic", "g.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1", _read_table,
     "not a readable Parquet file"),
    ("parquet-bad-footer", "f.parquet", _bad_parquet_footer, _read_table,
     "not a readable Parquet file|truncated or damaged"),
    ("parquet-not-parquet", "n.parquet", b"x,y\n1,2\n", _read_frame, "not a readable Parquet file"),
    # models
    ("kmk-meta-bomb", "bomb.kmk", lambda: _zip({**_good_model_entries(), "meta.json": b" " * (80 << 20)}),
     kmeanskit.load, "meta.json declares 83,886,080 bytes, more than"),
    ("kmk-declares-1e6x1e6-centres", "big.kmk",
     lambda: _zip(_meta(_good_model_entries(), n_clusters=10**6, n_features=10**6)), kmeanskit.load,
     r"centres declared by meta.json \(1000000 x 1000000\) needs 7.3 TiB, more than the read budget"),
    ("kmk-centres-header-1e6x1e6", "big2.kmk",
     lambda: _zip({**_good_model_entries(), "centers.npy": _npy_bytes((10**6, 10**6))}), kmeanskit.load,
     "centers.npy is not a plain numeric array .*holds only 0 bytes"),
    ("kmk-centres-wrong-shape", "s.kmk",
     lambda: _zip({**_good_model_entries(), "centers.npy": _npy(np.zeros((3, 2)))}), kmeanskit.load,
     r"shape \(3, 2\), expected"),
    ("kmk-truncated", "t.kmk", lambda: _zip(_good_model_entries())[:-30], kmeanskit.load,
     "not a kmeanskit model file"),
    ("kmk-not-zip", "n.kmk", b"hello world", kmeanskit.load, "not a kmeanskit model file"),
    ("kmk-pickle", "p.kmk", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.", kmeanskit.load,
     "looks like a Python pickle"),
    ("kmk-meta-not-json", "j.kmk", lambda: _zip({**_good_model_entries(), "meta.json": b"{nope"}),
     kmeanskit.load, "meta.json is not valid JSON"),
    ("kmk-newer-version", "v.kmk", lambda: _zip(_meta(_good_model_entries(), format_version=99)),
     kmeanskit.load, "Upgrade kmeanskit"),
    ("kmk-no-centres", "c.kmk",
     lambda: _zip({n: b for n, b in _good_model_entries().items() if n != "centers.npy"}),
     kmeanskit.load, "centers.npy is missing"),
    ("kmk-object-centres", "o.kmk",
     lambda: _zip({**_good_model_entries(), "centers.npy": _npy_bytes((2, 2), "|O", b"\x80\x04N.")}),
     kmeanskit.load, "without unpickling"),
    ("kmk-inflating-centres", "i.kmk",
     lambda: _zip({**_good_model_entries(), "centers.npy": _npy(np.zeros((2, 2))) + b"\0" * (1 << 20)}),
     kmeanskit.load, "more than its declared shape needs"),
    ("kmk-bad-metric", "m.kmk", lambda: _zip(_meta(_good_model_entries(), metric="hamming")),
     kmeanskit.load, "unknown metric 'hamming'"),
    ("kmk-bool-k", "b.kmk", lambda: _zip(_meta(_good_model_entries(), n_clusters=True)),
     kmeanskit.load, "bad n_clusters"),
    # images
    ("gif-frames-bomb", "a.gif", lambda: _gif_frames(3, 6000), lambda p: _load_image(p, "all"),
     "3 frames of 6000 x 6000 pixels, 108,000,000 pixels in all, more than the decompression-bomb"),
    ("png-declares-1e10-pixels", "big.png", lambda: _png_declaring(100_000, 100_000), _load_image,
     "more than the decompression-bomb limit"),
    ("png-truncated", "t.png", lambda: _png_bytes(64, 64)[:60], _load_image,
     "damaged or incomplete|not an image file"),
    ("png-garbage", "g.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, _load_image,
     "not an image file|damaged"),
    ("image-not-an-image", "x.jpg", b"hello", _load_image, "not an image file"),
    # found by test_fuzz: Image.open raised OSError on a PNG cut inside its header; a NUL in a .npy
    # header made numpy's parser raise tokenize.TokenError
    ("png-cut-in-header", "h.png", lambda: _png_bytes()[:16], _load_image, "damaged or incomplete"),
    ("npy-nul-in-header", "z.npy", lambda: _npy(np.zeros((2, 3))).replace(b"(2, 3), ", b"(2, 3), \x00"),
     _read_table, "not a readable .npy array"),
]


@pytest.mark.parametrize("case, name, content, reader, match", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_reader_refuses_with_one_clear_error(tmp_path, case, name, content, reader, match):
    """Expect a ValueError matching ``match`` (one line), nothing allocated
    beyond a small budget, and the file left byte-identical."""
    import tracemalloc

    data = content() if callable(content) else content
    p = tmp_path / name
    p.write_bytes(data)
    before = sorted(tmp_path.iterdir())
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            reader(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    assert peak < 16 * len(data) + (64 << 20), f"peak {peak} bytes"
    assert p.read_bytes() == data
    assert sorted(tmp_path.iterdir()) == before


def test_png_chunk_declaring_134MB_is_not_allocated(tmp_path):
    """Found by test_fuzz: an IDAT chunk declaring 134 MB in a 70-byte PNG
    made Pillow allocate 134 MB (a file object's read(n) allocates n bytes
    first). Expect the pixels Pillow can decode, with a small peak."""
    import tracemalloc

    p = tmp_path / "c.png"
    p.write_bytes(_png_bytes()[:33] + b"\x08\x00\x008" + _png_bytes()[37:])
    tracemalloc.start()
    try:
        img = _load_image(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert img.shape == (3, 4, 3) and (img == [10, 20, 30]).all()
    assert peak < 4 << 20, peak


#: Legitimate files read as they should (against the values they hold).
def test_readers_read_what_they_should(tmp_path):
    """Expect the .npy (C and Fortran order, float32 kept, v2 header), CSV
    and Parquet tables' values, and a model's centres, as written."""
    A = np.arange(12, dtype=np.float64).reshape(4, 3)
    for i, arr in enumerate([A, np.asfortranarray(A), A.astype(np.float32)]):
        (tmp_path / f"a{i}.npy").write_bytes(_npy(arr))
        t = _read_table(tmp_path / f"a{i}.npy")
        np.testing.assert_array_equal(t.X, A)
        assert t.X.dtype == arr.dtype
    (tmp_path / "v2.npy").write_bytes(_npy_bytes((4, 3), data=A.tobytes(), version=(2, 0)))
    np.testing.assert_array_equal(_read_table(tmp_path / "v2.npy").X, A)
    (tmp_path / "p.parquet").write_bytes(_parquet_bytes())
    t = _read_table(tmp_path / "p.parquet")
    np.testing.assert_array_equal(t.X[:, 1], np.arange(50.0) ** 2)
    p = tmp_path / "m.kmk"
    p.write_bytes(_zip(_good_model_entries()))
    np.testing.assert_array_equal(kmeanskit.load(p).cluster_centers_, [[0.5, 0.5], [9.0, 9.0]])


def test_read_budget_is_applied(tmp_path, monkeypatch):
    """Expect a file larger than $KMEANSKIT_MAX_READ_BYTES refused with the
    budget named (.npy, CSV, Parquet, model), and read once it is raised."""
    A = np.zeros((1000, 4))
    (tmp_path / "a.npy").write_bytes(_npy(A))
    (tmp_path / "a.csv").write_text("x,y\n" + "1,2\n" * 2000)
    (tmp_path / "a.parquet").write_bytes(_parquet_bytes())
    monkeypatch.setenv("KMEANSKIT_MAX_READ_BYTES", "1000")
    for name in ("a.npy", "a.csv", "a.parquet"):
        with pytest.raises(ValueError, match=r"more than the read budget of 1000 bytes \(\$KMEANSKIT_MAX"):
            _read_table(tmp_path / name)
    from kmeanskit.tables.read import _read_csv_plain  # the reader used without pandas

    with pytest.raises(ValueError, match=r"read without pandas needs .* more than the read budget"):
        _read_csv_plain(tmp_path / "a.csv", ",", None)
    monkeypatch.setenv("KMEANSKIT_MAX_READ_BYTES", "1e9")
    assert _read_csv_plain(tmp_path / "a.csv", ",", None).X.shape == (2000, 2)
    assert _read_table(tmp_path / "a.npy").X.shape == (1000, 4)
    monkeypatch.setenv("KMEANSKIT_MAX_READ_BYTES", "lots")
    with pytest.raises(ValueError, match="is not a number of bytes"):
        _read_table(tmp_path / "a.npy")


# --- the CLI over hostile inputs -------------------------------------------------------------------

def _good_table_csv():
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f}" for a, b in rng.normal(size=(30, 2)))
    return ("x,y\n" + rows + "\n").encode()


CLI_CASES = [
    ("cluster-npy-1e12-rows", {"h.npy": lambda: _npy_bytes((10**12, 3))}, ["cluster", "h.npy", "-k", "2"],
     "declares an array of shape"),
    ("cluster-truncated-npy", {"t.npy": lambda: _npy(np.zeros((10, 2)))[:-3]},
     ["cluster", "t.npy", "-k", "2"], "truncated"),
    ("cluster-ragged-csv", {"r.csv": b"x,y\n1,2\n3,4,5,6\n"}, ["cluster", "r.csv", "-k", "2"],
     "not a readable CSV table"),
    ("cluster-bad-parquet", {"b.parquet": b"PAR1" + b"\0" * 64 + b"PAR1"},
     ["cluster", "b.parquet", "-k", "2"], "not a readable Parquet file"),
    ("outliers-model-1e6x1e6", {"t.csv": _good_table_csv,
                                "big.kmk": lambda: _zip(_meta(_good_model_entries(), n_clusters=10**6,
                                                              n_features=10**6))},
     ["outliers", "t.csv", "--model", "big.kmk"], "read budget"),
    ("outliers-model-meta-bomb", {"t.csv": _good_table_csv,
                                  "bomb.kmk": lambda: _zip({**_good_model_entries(),
                                                            "meta.json": b" " * (80 << 20)})},
     ["outliers", "t.csv", "--model", "bomb.kmk"], "meta.json declares"),
    ("colors-all-frames-bomb", {"a.gif": lambda: _gif_frames(3, 6000)}, ["colors", "a.gif", "--all-frames"],
     "pixels in all, more than the decompression-bomb limit"),
    ("colors-truncated-png", {"t.png": lambda: _png_bytes(64, 64)[:60]}, ["colors", "t.png"],
     "damaged|not an image"),
]


@pytest.mark.parametrize("case, files, args, match", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_hostile_input_one_error_line(tmp_path, monkeypatch, case, files, args, match):
    """Expect a non-zero exit, exactly one ``Error:`` line naming the
    problem, no traceback, and every input byte-identical (nothing written)."""
    from kmeanskit.cli import main

    monkeypatch.chdir(tmp_path)
    written = {}
    for name, content in files.items():
        written[name] = content() if callable(content) else content
        (tmp_path / name).write_bytes(written[name])
    r = CliRunner().invoke(main, args)
    out = r.output
    assert r.exit_code != 0
    assert "Traceback" not in out and not isinstance(r.exception, (MemoryError, KeyError, IndexError))
    errors = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, out
    assert __import__("re").search(match, errors[0]), errors[0]
    for name, data in written.items():
        assert (tmp_path / name).read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)


# --- the count docs/reliability.md states -----------------------------------------------------------

#: Cases of this suite (parametrized tests count each case; docs/reliability.md).
N_CASES = 175


def test_case_count_matches_the_docs(request):
    """Expect this module to hold N_CASES cases, the figure stated in
    docs/reliability.md."""
    from pathlib import Path

    if request.config.getoption("keyword") or request.config.getoption("markexpr"):
        pytest.skip("the count is checked when the whole module runs (no -k / -m)")
    items = [i for i in request.session.items if getattr(getattr(i, "module", None), "__name__", None) == __name__]
    assert len(items) == N_CASES
    doc = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text()
    assert f"{N_CASES} cases" in doc


def test_docs_figures():
    """Expect the figures docs/reliability.md states to be the code's: the
    unscaled windows, the metadata cap, Pillow's limit, the fuzzing's
    budgets, deadline and CI example count."""
    from pathlib import Path

    from PIL import Image

    import test_fuzz
    from kmeanskit import _numeric, _validation

    doc = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text()
    (f32_lo, f32_hi), (f64_lo, f64_hi) = (_numeric.DATA_EXP[np.dtype(t)] for t in (np.float32, np.float64))
    for lo, hi in ((f32_lo, f32_hi), (f64_lo, f64_hi)):
        assert f"2**{lo} = {2.0 ** lo:.2g}" in doc and f"2**{hi} = {2.0 ** hi:.2g}" in doc
    assert f"2**{_numeric.WEIGHT_EXP[0]} to 2**{_numeric.WEIGHT_EXP[1]}" in doc
    assert f"{_validation.MODEL_META_MAX_BYTES >> 20} MiB whatever its entry declares" in doc
    assert f"{Image.MAX_IMAGE_PIXELS:,}" in doc
    assert f"at most {test_fuzz.ALLOC_BUDGET >> 20} MiB" in doc
    assert f"lowered to {test_fuzz.READ_BUDGET >> 20} MiB and images to 2**{test_fuzz.MAX_PIXELS.bit_length() - 1}" in doc
    assert f"within a {test_fuzz.FUZZ.deadline.total_seconds():g} s deadline" in doc
    assert "runs 40 examples a fuzz test" in doc
    assert f"files: {len(FILE_CASES)} hostile or damaged" in doc
    assert len(CALLABLE_CASES) == 8 and "eight kinds of wrong output" in doc
    assert sorted(FIT_SCALES, key=lambda s: (np.dtype(s[0]).itemsize, abs(s[1]))) == [
        (np.float32, -60), (np.float32, 60), (np.float32, -100), (np.float32, 100),
        (np.float64, -520), (np.float64, 520), (np.float64, -1000), (np.float64, 1000)]
    assert "float32: e = ±60, ±100; float64: ±520, ±1000" in doc
    assert 'os.environ.get("KMEANSKIT_FUZZ_EXAMPLES", "40")' in Path(test_fuzz.__file__).read_text()
