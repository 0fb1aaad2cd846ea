"""Saved models (.kmk): round trips for KMeans and KMeansResult in every
metric and dtype, feature names, scaling, overwrite refusal, atomic writes,
and refusal of damaged, foreign, pickled and newer files (never unpickling)."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import kmeanskit
from conftest import blobs
from kmeanskit import KMeans
from kmeanskit.io import load_model, save_model
from kmeanskit.scaling import Scaling

METRICS = ["euclidean", "manhattan", "cosine", "chebyshev"]


@pytest.fixture
def data(rng):
    X, _, _ = blobs(rng, n=200, d=3, k=3)
    return X + 40.0  # away from the origin, so cosine has no zero rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", METRICS)
def test_kmeans_round_trip(tmp_path, data, metric, dtype):
    X = data.astype(dtype)
    km = KMeans(3, metric=metric, random_state=0, max_iter=50).fit(X)
    p = km.save(tmp_path / "m.kmk")
    assert p == tmp_path / "m.kmk"
    back = kmeanskit.load(p)
    assert type(back) is KMeans
    assert back.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(back.cluster_centers_, km.cluster_centers_)
    assert back.metric == metric and back.n_clusters == 3 and back.n_features_in_ == 3
    assert back.inertia_ == km.inertia_ and back.n_iter_ == km.n_iter_
    assert back.max_iter == 50 and back.random_state == 0
    assert back.scaling_ is None and back.cluster_spread_ is None
    Y = X[::3] + dtype(0.5)
    np.testing.assert_array_equal(back.predict(Y), km.predict(Y))
    np.testing.assert_array_equal(back.transform(Y), km.transform(Y))
    assert back.score(Y) == km.score(Y)
    np.testing.assert_array_equal(back.predict(X), km.labels_)


@pytest.mark.parametrize("metric", METRICS)
def test_result_round_trip(tmp_path, data, metric):
    r = kmeanskit.fit(data, 3, metric=metric, random_state=1)
    p = r.save(tmp_path / "r.kmk", feature_names=["a", "b", "c"])
    back = load_model(p)
    np.testing.assert_array_equal(back.cluster_centers_, r.centers)
    assert back.metric == metric and back.inertia_ == r.inertia and back.n_iter_ == r.n_iter
    assert back.feature_names_in_.tolist() == ["a", "b", "c"]
    import pandas as pd

    df = pd.DataFrame(data, columns=["a", "b", "c"])
    np.testing.assert_array_equal(back.predict(df), r.predict(data))
    meta = json.loads(zipfile.ZipFile(p).read("meta.json"))
    assert meta["created_by"] == "KMeansResult" and meta["converged"] == r.converged


def test_feature_names_from_dataframe(tmp_path, data):
    import pandas as pd

    df = pd.DataFrame(data, columns=["height", "weight", "age"])
    km = KMeans(3, random_state=0).fit(df)
    back = kmeanskit.load(km.save(tmp_path / "m.kmk"))
    assert back.feature_names_in_.tolist() == ["height", "weight", "age"]
    np.testing.assert_array_equal(back.predict(df), km.labels_)
    # the saved names are enforced like scikit-learn does
    with pytest.raises(ValueError, match="feature names"):
        back.predict(df.rename(columns={"age": "years"}))
    # conflicting names are refused
    with pytest.raises(ValueError, match="differ"):
        save_model(km, tmp_path / "n.kmk", feature_names=["x", "y", "z"])
    with pytest.raises(ValueError, match="one name per column"):
        save_model(kmeanskit.fit(data, 2, random_state=0), tmp_path / "n.kmk",
                   feature_names=["x"])


def test_scaling_and_spread_round_trip(tmp_path, data):
    raw = data * np.array([1.0, 100.0, 0.01])
    s = Scaling.fit(raw, "zscore")
    km = KMeans(3, random_state=0).fit(s.transform(raw))
    spread = np.array([0.5, 0.0, 2.25])
    back = kmeanskit.load(km.save(tmp_path / "m.kmk", scaling=s, cluster_spread=spread))
    assert back.scaling_ == s
    np.testing.assert_array_equal(back.cluster_spread_, spread)
    np.testing.assert_array_equal(back.predict(back.scaling_.transform(raw)), km.labels_)
    # a loaded model saves again with its scaling and spread, byte for byte
    again = back.save(tmp_path / "again.kmk")
    assert kmeanskit.load(again).scaling_ == s
    np.testing.assert_array_equal(kmeanskit.load(again).cluster_spread_, spread)
    # the same model always gives the same bytes (no timestamps)
    b1 = km.save(tmp_path / "b1.kmk", scaling=s, cluster_spread=spread).read_bytes()
    b2 = km.save(tmp_path / "b2.kmk", scaling=s, cluster_spread=spread).read_bytes()
    assert b1 == b2
    for kind in ("whiten", "none"):
        sk = Scaling.fit(raw, kind)
        assert kmeanskit.load(km.save(tmp_path / f"{kind}.kmk", scaling=sk)).scaling_ == sk


def test_bad_extras_refused(tmp_path, data):
    km = KMeans(3, random_state=0).fit(data)
    with pytest.raises(ValueError, match="cluster_spread must be 3"):
        km.save(tmp_path / "m.kmk", cluster_spread=[1.0, 2.0])
    with pytest.raises(ValueError, match="cluster_spread must be 3"):
        km.save(tmp_path / "m.kmk", cluster_spread=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match="scaling is for 2 columns"):
        km.save(tmp_path / "m.kmk", scaling=Scaling.fit(data[:, :2]))
    with pytest.raises(ValueError, match="must be a kmeanskit.scaling.Scaling"):
        km.save(tmp_path / "m.kmk", scaling={"kind": "zscore"})
    with pytest.raises(ValueError, match="fitted kmeanskit.KMeans or a KMeansResult"):
        save_model(np.zeros((2, 3)), tmp_path / "m.kmk")
    with pytest.raises(ValueError, match="not fitted"):
        save_model(KMeans(2), tmp_path / "m.kmk")
    assert not os.listdir(tmp_path)


def test_overwrite_refused_then_allowed_and_atomic(tmp_path, data):
    km1 = KMeans(2, random_state=0).fit(data)
    km3 = KMeans(3, random_state=0).fit(data)
    p = km1.save(tmp_path / "m.kmk")
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        km3.save(p)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_model(km3, str(p))
    assert p.read_bytes() == before
    km3.save(p, overwrite=True)
    assert kmeanskit.load(p).n_clusters == 3
    assert sorted(os.listdir(tmp_path)) == ["m.kmk"]  # no temporary files left


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _npy(a, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


@pytest.fixture
def good(tmp_path, data):
    s = Scaling.fit(data)
    return KMeans(3, random_state=0).fit(data).save(tmp_path / "good.kmk", scaling=s,
                                                    cluster_spread=[1.0, 2.0, 3.0])


def _expect_bad(path, match="not a kmeanskit model file"):
    with pytest.raises(ValueError, match=match):
        load_model(path)


def test_truncated_and_corrupted(tmp_path, good):
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        p = tmp_path / f"cut{cut}.kmk"
        p.write_bytes(data[:cut])
        _expect_bad(p)
    # flip bytes in the middle (inside compressed entries)
    for pos in range(40, len(data) - 100, max(1, len(data) // 12)):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        p = tmp_path / "flip.kmk"
        p.write_bytes(bytes(bad))
        try:
            km = load_model(p)
        except ValueError as exc:
            assert "kmeanskit model file" in str(exc)
        else:  # a flip in a zip header field that nothing reads: the model is intact
            np.testing.assert_array_equal(km.cluster_centers_, load_model(good).cluster_centers_)


def test_foreign_files(tmp_path, good, data):
    p = tmp_path / "x.kmk"
    np.savez(p.with_suffix(".npz"), centers=data)
    _expect_bad(p.with_suffix(".npz"), "no meta.json")
    p.write_bytes(_zip({"hello.txt": b"hi"}))
    _expect_bad(p, "no meta.json")
    e = _entries(good)
    for meta, why in [(b"{not json", "not valid JSON"),
                      (json.dumps({"format": "other"}).encode(), "format='kmeanskit-model'"),
                      (json.dumps([1, 2]).encode(), "format="),
                      (b"\xff\xfe", "not valid JSON")]:
        p.write_bytes(_zip({**e, "meta.json": meta}))
        _expect_bad(p, why)
    p.write_text("a,b\n1,2\n")
    _expect_bad(p)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.kmk")
    with pytest.raises(ValueError, match="folder"):
        load_model(tmp_path)


def _with_meta(good, **changes):
    e = _entries(good)
    meta = json.loads(e["meta.json"])
    meta.update(changes)
    e["meta.json"] = json.dumps(meta).encode()
    return e


@pytest.mark.parametrize("changes, why", [
    ({"n_clusters": 4}, r"shape \(4, 3\)"),
    ({"n_features": 2}, r"shape \(3, 2\)"),
    ({"n_clusters": 0}, "bad n_clusters"),
    ({"n_clusters": True}, "bad n_clusters"),
    ({"metric": "hamming"}, "unknown metric"),
    ({"format_version": "1"}, "bad format_version"),
    ({"format_version": 0}, "bad format_version"),
    ({"feature_names": ["a", "b"]}, "feature_names should be 3 strings"),
    ({"feature_names": [1, 2, 3]}, "feature_names should be 3 strings"),
    ({"scaling": "minmax"}, "malformed scaling"),
    ({"params": {"max_iter": -1}}, "max_iter"),
    ({"n_iter": -1}, "bad n_iter"),
    ({"inertia": "big"}, "bad inertia"),
])
def test_inconsistent_meta(tmp_path, good, changes, why):
    p = tmp_path / "bad.kmk"
    p.write_bytes(_zip(_with_meta(good, **changes)))
    _expect_bad(p, why)


def test_inconsistent_arrays(tmp_path, good):
    p = tmp_path / "bad.kmk"
    e = _entries(good)
    cases = [
        ({"centers.npy": _npy(np.zeros((3, 3), dtype=np.int64))}, "dtype int64"),
        ({"centers.npy": _npy(np.full((3, 3), np.nan))}, "NaN"),
        ({"centers.npy": b"garbage"}, "not a plain numeric array"),
        ({"cluster_spread.npy": _npy(np.ones(2))}, "cluster_spread.npy should hold 3"),
        ({"cluster_spread.npy": _npy(-np.ones(3))}, "negative"),
        ({"scaling_scale.npy": _npy(np.zeros(3))}, "malformed scaling"),
        ({"centers.npy": _npy(np.zeros((3000, 3000)))}, "more than its declared shape needs"),
    ]
    for change, why in cases:
        p.write_bytes(_zip({**e, **change}))
        _expect_bad(p, why)
    del e["scaling_center.npy"]
    p.write_bytes(_zip(e))
    _expect_bad(p, "scaling_center.npy is missing")


def test_newer_version_asks_to_upgrade(tmp_path, good):
    p = tmp_path / "new.kmk"
    p.write_bytes(_zip(_with_meta(good, format_version=2, library_version="9.0")))
    with pytest.raises(ValueError, match=r"newer kmeanskit \(model format_version 2.*Upgrade"):
        load_model(p)


def test_unknown_keys_and_entries_are_ignored(tmp_path, good):
    p = tmp_path / "extra.kmk"
    e = _with_meta(good, future_key={"x": 1})
    e["future.npy"] = _npy(np.ones(2))
    p.write_bytes(_zip(e))
    np.testing.assert_array_equal(load_model(p).cluster_centers_, load_model(good).cluster_centers_)


class _Boom:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickles_are_never_loaded(tmp_path, good, data):
    marker = tmp_path / "pwned"
    evil = _Boom(str(marker))
    # a whole-file pickle (what pickle.dump(model) would give)
    p = tmp_path / "evil.kmk"
    p.write_bytes(pickle.dumps(evil))
    _expect_bad(p, "pickle")
    # an object array (pickled) where the centres should be
    obj = np.empty((3, 3), dtype=object)
    obj[0, 0] = evil
    e = _entries(good)
    p.write_bytes(_zip({**e, "centers.npy": _npy(obj, allow_pickle=True)}))
    _expect_bad(p, "not a plain numeric array")
    # ... and in an optional entry
    spread = np.empty(3, dtype=object)
    spread[0] = evil
    p.write_bytes(_zip({**e, "cluster_spread.npy": _npy(spread, allow_pickle=True)}))
    _expect_bad(p, "not a plain numeric array")
    # a pickle appended to a valid model, or stored beside it, is simply not read
    p.write_bytes(_zip({**e, "model.pkl": pickle.dumps(evil)}))
    assert load_model(p).n_clusters == 3
    assert not marker.exists()


def test_format_is_as_documented(good):
    with zipfile.ZipFile(good) as zf:
        names = zf.namelist()
        meta = json.loads(zf.read("meta.json"))
        C = np.load(io.BytesIO(zf.read("centers.npy")), allow_pickle=False)
    assert names == ["meta.json", "centers.npy", "cluster_spread.npy", "scaling_center.npy",
                     "scaling_scale.npy"]
    assert meta["format"] == "kmeanskit-model" and meta["format_version"] == 1
    assert meta["library_version"] == kmeanskit.__version__
    assert meta["metric"] == "euclidean" and meta["n_clusters"] == 3 and meta["n_features"] == 3
    assert meta["scaling"] == "zscore" and meta["has_cluster_spread"] is True
    assert meta["centers_dtype"] == "float64" and C.shape == (3, 3)
    from kmeanskit.models import META_KEYS

    assert sorted(meta) == sorted(META_KEYS)


# --- the plain record and the one model path (kmeanskit.models, kmeanskit.core.fitted) ---------

def test_record_round_trip_and_same_bytes_as_save(tmp_path, data):
    from kmeanskit import models
    from kmeanskit.core import model_record

    s = Scaling.fit(data, "whiten")
    km = KMeans(3, random_state=0).fit(s.transform(data))
    saved = km.save(tmp_path / "saved.kmk", scaling=s, cluster_spread=[1.0, 2.0, 3.0])
    written = models.write(model_record(km, scaling=s, cluster_spread=[1.0, 2.0, 3.0]),
                           tmp_path / "written.kmk")
    assert written.read_bytes() == saved.read_bytes()
    rec = models.read(saved)
    assert isinstance(rec, models.ModelRecord) and isinstance(rec.scaling, models.ScalingRecord)
    np.testing.assert_array_equal(rec.centers, km.cluster_centers_)
    assert rec.metric == "euclidean" and rec.created_by == "KMeans"
    assert rec.inertia == km.inertia_ and rec.n_iter == km.n_iter_ and rec.converged is None
    assert rec.params["random_state"] == 0 and rec.library_version == kmeanskit.__version__
    assert rec.scaling.kind == "whiten"
    np.testing.assert_array_equal(rec.scaling.scale, s.scale)
    np.testing.assert_array_equal(rec.cluster_spread, [1.0, 2.0, 3.0])
    # a record read back writes the same bytes again
    assert models.write(rec, tmp_path / "again.kmk").read_bytes() == saved.read_bytes()
    # a hand-made record
    plain = models.write(models.ModelRecord(np.array([[0.0, 1.0]], dtype=np.float32), "cosine",
                                            feature_names=("a", "b")), tmp_path / "plain.kmk")
    back = kmeanskit.load(plain)
    assert back.metric == "cosine" and back.cluster_centers_.dtype == np.float32
    assert back.feature_names_in_.tolist() == ["a", "b"] and np.isnan(back.inertia_)
    with pytest.raises(ValueError, match="metric must be one of"):
        models.write(models.ModelRecord(np.zeros((1, 2)), "hamming"), tmp_path / "bad.kmk")


def _ways(tmp_path, km):
    """The same fitted model as an estimator, a result, a record and a loaded
    estimator."""
    from kmeanskit import KMeansResult, models

    r = KMeansResult(km.cluster_centers_, km.labels_, km.inertia_, km.n_iter_, True, 1,
                     km.metric)
    p = km.save(tmp_path / "m.kmk")
    return {"estimator": km, "result": r, "record": models.read(p), "loaded": kmeanskit.load(p)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", METRICS)
def test_fitted_gives_the_same_model_from_every_input(tmp_path, data, metric, dtype, rng):
    from kmeanskit.core import Fitted, fitted

    X = data.astype(dtype)
    km = KMeans(3, metric=metric, random_state=0, max_iter=50).fit(X)
    Y = X[::4] + rng.normal(size=(len(X[::4]), 3)).astype(dtype)
    w = rng.uniform(0.5, 2.0, len(Y))
    labels, dist, objective = kmeanskit.assign(Y, km.cluster_centers_, metric=metric)
    for way, model in _ways(tmp_path, km).items():
        m = fitted(model)
        assert isinstance(m, Fitted) and fitted(m) is m, way
        assert m.metric == metric and m.centers.dtype == dtype, way
        np.testing.assert_array_equal(m.centers, km.cluster_centers_)
        got = m.assign(Y)
        np.testing.assert_array_equal(got[0], labels)
        np.testing.assert_array_equal(got[0], km.predict(Y))
        np.testing.assert_array_equal(got[1], dist)
        assert got[2] == objective
        assert m.assign(Y, sample_weight=w)[2] == -km.score(Y, sample_weight=w)
        D = m.transform(Y)
        assert D.dtype == dtype
        np.testing.assert_array_equal(D, km.transform(Y))


def test_fitted_carries_names_scaling_and_spreads(tmp_path, data):
    import pandas as pd

    from kmeanskit import models
    from kmeanskit.core import fitted

    s = Scaling.fit(data)
    df = pd.DataFrame(s.transform(data), columns=["a", "b", "c"])
    km = KMeans(3, random_state=0).fit(df)
    p = km.save(tmp_path / "m.kmk", scaling=s, cluster_spread=[1.0, 2.0, 3.0])
    for model in (kmeanskit.load(p), models.read(p)):
        m = fitted(model)
        assert m.feature_names == ("a", "b", "c") and m.scaling.kind == "zscore"
        np.testing.assert_array_equal(m.scaling.center, s.center)
        np.testing.assert_array_equal(m.cluster_spread, [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(m.assign(df)[0], km.labels_)
        with pytest.raises(ValueError, match="feature names"):
            m.assign(df.rename(columns={"c": "z"}))
    m = fitted(km)
    assert m.scaling is None and m.cluster_spread is None and m.feature_names == ("a", "b", "c")


def test_fitted_refuses_what_is_not_a_fitted_model(data):
    from kmeanskit import models
    from kmeanskit.core import fitted

    with pytest.raises(ValueError, match="not fitted"):
        fitted(KMeans(2))
    for bad in (np.zeros((2, 3)), "model.kmk", None):
        with pytest.raises(ValueError, match="fitted kmeanskit.KMeans or a KMeansResult"):
            fitted(bad)
    with pytest.raises(ValueError, match="metric 'hamming' is not one of"):
        fitted(models.ModelRecord(np.zeros((2, 3)), "hamming"))
    with pytest.raises(ValueError, match="zero norm"):
        fitted(models.ModelRecord(np.zeros((2, 3)), "cosine"))
    m = fitted(KMeans(3, random_state=0).fit(data))
    with pytest.raises(ValueError, match="X has 2 features, but the model was fitted on 3"):
        m.transform(data[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        m.assign(np.full((2, 3), np.nan))


def test_loading_checks_the_saved_params(tmp_path):
    from kmeanskit import models
    from kmeanskit.estimator import kmeans_from_record

    rec = models.ModelRecord(np.array([[0.0], [1.0]]), params={"max_iter": 0})
    with pytest.raises(ValueError, match="max_iter"):
        kmeans_from_record(rec)
    # a record with such params can be written and read, but not loaded as a KMeans
    p = models.write(rec, tmp_path / "m.kmk")
    assert models.read(p).params == {"max_iter": 0}
    _expect_bad(p, r"not a kmeanskit model file \(the saved params: max_iter")
