"""Saved models: the ``.kmk`` file format (no pickle), and turning any fitted
model into a :class:`~kmeanskit.KMeans` for the functions that use one.

A ``.kmk`` file is a zip archive (stored or deflated), the same container as
NumPy's ``.npz``, holding:

==========================  ===================================================
entry                       content
==========================  ===================================================
``meta.json``               UTF-8 JSON object, see :data:`META_KEYS`
``centers.npy``             (n_clusters, n_features) float32 or float64
``cluster_spread.npy``      optional, (n_clusters,) float64, finite, >= 0
``scaling_center.npy``      optional (with ``scaling_scale.npy``),
                            (n_features,) float64
``scaling_scale.npy``       optional, (n_features,) float64, > 0
==========================  ===================================================

The ``.npy`` entries are NumPy's format, read with ``allow_pickle=False``;
nothing in the file is ever executed. See docs/models.md for the version
policy.
"""

from __future__ import annotations

import io as _io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._fileutil import atomic_write_bytes
from ._validation import validate_params
from ._version import __version__

#: The ``format`` value in ``meta.json``.
FORMAT_NAME = "kmeanskit-model"
#: The format version this library writes; it reads this one and older.
FORMAT_VERSION = 1
#: Keys of ``meta.json`` (format_version 1); readers ignore unknown keys.
META_KEYS = ("format", "format_version", "library", "library_version", "created_by", "metric",
             "n_clusters", "n_features", "centers_dtype", "feature_names", "scaling",
             "has_cluster_spread", "inertia", "n_iter", "converged", "params")
#: Fitting parameters recorded (when JSON-representable) and restored on load.
_PARAMS = ("init", "n_init", "max_iter", "tol", "random_state", "algorithm")
#: Fixed timestamp of every zip entry, so one model always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_METRICS = ("euclidean", "manhattan", "cosine", "chebyshev")


# --- which model ---------------------------------------------------------------

def build_kmeans(centers, *, metric="euclidean", inertia=None, n_iter=None, feature_names=None,
                 scaling=None, cluster_spread=None, params=None):
    """A fitted :class:`~kmeanskit.KMeans` with the given centres (validated
    arrays), usable for ``predict``/``transform``/``score``."""
    from .estimator import KMeans

    km = KMeans(n_clusters=int(centers.shape[0]), metric=metric)
    if params:
        km.set_params(**params)
    km._fit_metric = metric
    km.cluster_centers_ = centers
    km.n_features_in_ = int(centers.shape[1])
    if feature_names is not None:
        km.feature_names_in_ = np.asarray(feature_names, dtype=object)
    km.inertia_ = float("nan") if inertia is None else float(inertia)
    km.n_iter_ = 0 if n_iter is None else int(n_iter)
    km.scaling_ = scaling
    km.cluster_spread_ = cluster_spread
    return km


def as_kmeans(model, what="model"):
    """``model`` (a fitted KMeans or a KMeansResult) as a fitted KMeans."""
    from .core import KMeansResult

    if isinstance(model, KMeansResult):
        return build_kmeans(np.ascontiguousarray(model.centers), metric=model.metric,
                            inertia=model.inertia, n_iter=model.n_iter)
    from sklearn.utils.validation import check_is_fitted

    from .estimator import KMeans

    if not isinstance(model, KMeans):
        raise ValueError(f"{what} must be a fitted kmeanskit.KMeans or a KMeansResult "
                         f"(from kmeanskit.fit or kmeanskit.load), got {type(model).__name__}.")
    check_is_fitted(model)
    return model


# --- save ----------------------------------------------------------------------

def _npy_bytes(a) -> bytes:
    buf = _io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _json_param(v):
    """``v`` if JSON can carry it exactly, else None (not recorded)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and np.isfinite(v):
        return float(v)
    return None


def _check_names(names, d):
    if names is None:
        return None
    names = [str(c) for c in (names.tolist() if isinstance(names, np.ndarray) else names)]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names but the model has {d} features; "
                         "pass one name per column.")
    return names


def save_model(model, path, *, scaling=None, feature_names=None, cluster_spread=None,
               overwrite=False) -> Path:
    """Write a fitted model to a ``.kmk`` file (zip of ``.npy`` arrays and
    ``meta.json``; no pickle). See :func:`kmeanskit.io.save_model`."""
    from .core import KMeansResult
    from .scaling import Scaling

    km = as_kmeans(model)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; pass a file name such as model.kmk.")
    C = np.asarray(km.cluster_centers_)
    k, d = C.shape
    if scaling is None:
        scaling = getattr(km, "scaling_", None)
    if cluster_spread is None:
        cluster_spread = getattr(km, "cluster_spread_", None)
    own = getattr(km, "feature_names_in_", None)
    own = None if own is None else [str(c) for c in own]
    names = _check_names(feature_names, d)
    if names is not None and own is not None and names != own:
        raise ValueError(f"feature_names {names} differ from the model's feature_names_in_ {own}; "
                         "leave feature_names out to keep the model's names.")
    names = names if names is not None else own
    if scaling is not None:
        if not isinstance(scaling, Scaling):
            raise ValueError(f"scaling must be a kmeanskit.scaling.Scaling or None, got "
                             f"{type(scaling).__name__}.")
        if scaling.n_features != d:
            raise ValueError(f"scaling is for {scaling.n_features} columns but the model has {d} "
                             "features; pass the Scaling fitted on the training table.")
    if cluster_spread is not None:
        cluster_spread = np.asarray(cluster_spread, dtype=np.float64)
        if (cluster_spread.shape != (k,) or not np.isfinite(cluster_spread).all()
                or (cluster_spread < 0).any()):
            raise ValueError(f"cluster_spread must be {k} finite non-negative numbers (one per "
                             f"cluster), got shape {cluster_spread.shape}; see "
                             "kmeanskit.anomaly.cluster_spread.")
    if isinstance(model, KMeansResult):
        params = {"n_init": int(model.n_init)}
        converged = bool(model.converged)
    else:
        params = {p: _json_param(getattr(km, p)) for p in _PARAMS}
        params = {p: v for p, v in params.items()
                  if v is not None or getattr(km, p) is None}
        converged = None
    inertia = float(km.inertia_)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library": "kmeanskit",
        "library_version": __version__,
        "created_by": type(model).__name__,
        "metric": km._metric_name(),
        "n_clusters": int(k),
        "n_features": int(d),
        "centers_dtype": C.dtype.name,
        "feature_names": names,
        "scaling": None if scaling is None else scaling.kind,
        "has_cluster_spread": cluster_spread is not None,
        "inertia": inertia if np.isfinite(inertia) else None,
        "n_iter": int(km.n_iter_),
        "converged": converged,
        "params": params,
    }
    entries = {"meta.json": json.dumps(meta, indent=1, sort_keys=True).encode("utf-8"),
               "centers.npy": _npy_bytes(C)}
    if cluster_spread is not None:
        entries["cluster_spread.npy"] = _npy_bytes(cluster_spread)
    if scaling is not None:
        entries["scaling_center.npy"] = _npy_bytes(np.asarray(scaling.center, dtype=np.float64))
        entries["scaling_scale.npy"] = _npy_bytes(np.asarray(scaling.scale, dtype=np.float64))
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return atomic_write_bytes(path, buf.getvalue())


# --- load ----------------------------------------------------------------------

class _Bad(Exception):
    """Internal: the file is not a valid model file (message says why)."""


class _Newer(Exception):
    """Internal: a valid model file in a format version newer than ours."""


def _read_npy(zf, name, max_bytes):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _Bad(f"entry {name} is missing") from None
    if info.file_size > max_bytes:
        raise _Bad(f"entry {name} is {info.file_size} bytes, more than its declared shape needs")
    data = zf.read(info)
    try:
        return np.lib.format.read_array(_io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise _Bad(f"entry {name} is not a plain numeric array ({exc})") from None


def _float_vector(zf, name, n, what):
    a = _read_npy(zf, name, 1024 + 8 * n)
    if a.dtype.kind != "f" or a.shape != (n,) or not np.isfinite(a).all():
        raise _Bad(f"{name} should hold {n} finite floats ({what}), found dtype {a.dtype} "
                   f"and shape {a.shape}")
    return a.astype(np.float64)


def _parse(zf):
    from .scaling import Scaling

    try:
        raw = zf.read("meta.json")
    except KeyError:
        raise _Bad("no meta.json entry") from None
    if len(raw) > 50_000_000:
        raise _Bad("meta.json is implausibly large")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Bad(f"meta.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _Bad(f"meta.json does not say format={FORMAT_NAME!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Bad(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise _Newer(
            f"written by a newer kmeanskit (model format_version {version}, "
            f"library {meta.get('library_version', '?')}); this kmeanskit {__version__} reads "
            f"format_version <= {FORMAT_VERSION}. Upgrade kmeanskit to load it.")
    metric = meta.get("metric")
    k, d = meta.get("n_clusters"), meta.get("n_features")
    if metric not in _METRICS:
        raise _Bad(f"unknown metric {metric!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (k, d)):
        raise _Bad(f"bad n_clusters/n_features {k!r}/{d!r}")
    C = _read_npy(zf, "centers.npy", 1024 + 8 * k * d)
    if C.dtype not in (np.float32, np.float64) or C.shape != (k, d):
        raise _Bad(f"centers.npy has dtype {C.dtype} and shape {C.shape}, expected float32/float64 "
                   f"of shape ({k}, {d}) as meta.json says")
    if not np.isfinite(C).all():
        raise _Bad("centers.npy holds NaN or infinity")
    if metric == "cosine" and not (np.abs(C) > 0).any(axis=1).all():
        raise _Bad("a cosine centre is the zero vector")
    names = meta.get("feature_names")
    if names is not None:
        if (not isinstance(names, list) or len(names) != d
                or not all(isinstance(c, str) for c in names)):
            raise _Bad(f"feature_names should be {d} strings")
    spread = None
    if meta.get("has_cluster_spread"):
        spread = _float_vector(zf, "cluster_spread.npy", k, "cluster spreads")
        if (spread < 0).any():
            raise _Bad("cluster_spread.npy holds negative values")
    scaling = None
    if meta.get("scaling") is not None:
        center = _float_vector(zf, "scaling_center.npy", d, "scaling centre")
        scale = _float_vector(zf, "scaling_scale.npy", d, "scaling scale")
        try:
            scaling = Scaling.from_dict({"kind": meta["scaling"], "center": center, "scale": scale})
        except ValueError as exc:
            raise _Bad(str(exc)) from None
    inertia = meta.get("inertia")
    n_iter = meta.get("n_iter")
    if inertia is not None and not isinstance(inertia, (int, float)):
        raise _Bad(f"bad inertia {inertia!r}")
    if n_iter is not None and not (isinstance(n_iter, int) and n_iter >= 0):
        raise _Bad(f"bad n_iter {n_iter!r}")
    params = meta.get("params") or {}
    if not isinstance(params, dict):
        raise _Bad("params should be an object")
    params = {p: v for p, v in params.items()
              if p in _PARAMS and (p != "init" or isinstance(v, str))}
    from .estimator import KMEANS_CONSTRAINTS

    try:
        validate_params(params, {p: KMEANS_CONSTRAINTS[p] for p in params}, "the saved params")
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return build_kmeans(C, metric=metric, inertia=inertia, n_iter=n_iter, feature_names=names,
                        scaling=scaling, cluster_spread=spread, params=params)


def load_model(path):
    """Read a ``.kmk`` file. See :func:`kmeanskit.io.load_model`."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a kmeanskit model file.")
    data = path.read_bytes()  # FileNotFoundError propagates as is
    if data[:1] == b"\x80" or data[:2] in (b"(d", b"(l", b"}q", b"]q"):
        raise ValueError(f"{path} is not a kmeanskit model file (it looks like a Python pickle, "
                         "which kmeanskit never loads: it could run code).")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as zf:
            km = _parse(zf)
    except _Bad as exc:
        raise ValueError(f"{path} is not a kmeanskit model file ({exc}).") from None
    except _Newer as exc:
        raise ValueError(f"{path} was {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not a kmeanskit model file or is damaged ({exc}).") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError,
            NotImplementedError, RuntimeError, OverflowError, TypeError) as exc:
        raise ValueError(f"{path} is not a kmeanskit model file or is damaged "
                         f"({type(exc).__name__}: {exc}).") from None
    return km
