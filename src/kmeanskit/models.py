"""Saved models: the ``.kmk`` file format (no pickle) as a plain record.

A file is read into and written from a :class:`ModelRecord`.
This module knows the file and nothing else: turning a fitted estimator or a
:class:`~kmeanskit.KMeansResult` into a record is
:func:`kmeanskit.core.model_record`, using a record is
:func:`kmeanskit.core.fitted`, and :func:`kmeanskit.load` builds a fitted
:class:`~kmeanskit.KMeans` from one.

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

A k-prototypes model (:class:`kmeanskit.KPrototypes`: categorical columns
and/or missing values) has ``metric`` "kprototypes" and a ``categorical``
object in ``meta.json`` (:class:`CategoricalRecord`): its last
``len(columns)`` centre columns hold category codes (indices into
``categories``), and the scaling, when present, covers the numeric
columns only. Readers before this extension refuse such a file (unknown
metric) rather than misread it; files without it are unchanged.

The ``.npy`` entries are NumPy's format, read with ``allow_pickle=False``;
nothing in the file is ever executed. See docs/models.md for the version
policy.
"""

from __future__ import annotations

import io as _io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._fileutil import atomic_write_bytes
from ._metric import METRICS  # the metrics a file can name
from ._validation import MODEL_META_MAX_BYTES, check_read_budget, read_npy
from ._version import __version__

# not_a_model_file and check_feature_names are helpers that io and core share
# with this module; they stay importable but are not part of the public API.
__all__ = ["ModelRecord", "ScalingRecord", "CategoricalRecord", "read", "write", "META_KEYS", "PARAMS", "FORMAT_NAME",
           "FORMAT_VERSION"]

#: The ``format`` value in ``meta.json``.
FORMAT_NAME = "kmeanskit-model"
#: The format version this library writes; it reads this one and older.
FORMAT_VERSION = 1
#: Keys of ``meta.json`` (format_version 1); readers ignore unknown keys.
META_KEYS = ("format", "format_version", "library", "library_version", "created_by", "metric",
             "n_clusters", "n_features", "centers_dtype", "feature_names", "scaling",
             "has_cluster_spread", "inertia", "n_iter", "converged", "params")
#: Fitting parameters a file records (when JSON can carry them exactly).
PARAMS = ("init", "n_init", "max_iter", "tol", "random_state", "algorithm")
#: Scaling kinds a file can name (those of :class:`kmeanskit.scaling.Scaling`).
SCALING_KINDS = ("zscore", "whiten", "none")
#: The metric of a k-prototypes model (with a ``categorical`` record).
KPROTOTYPES = "kprototypes"
#: Fixed timestamp of every zip entry, so one model always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ScalingRecord:
    """A column scaling ``(x - center) / scale`` as stored in a file.

    :class:`kmeanskit.scaling.Scaling` has the same three attributes, so
    either can be written.

    Attributes
    ----------
    kind : {"zscore", "whiten", "none"}
        How ``center`` and ``scale`` were chosen.
    center : ndarray of shape (n_features,), float64
        Subtracted from each column.
    scale : ndarray of shape (n_features,), float64, > 0
        Each centred column is divided by it.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from kmeanskit import models
    >>> s = models.ScalingRecord("zscore", np.array([1.0, 10.0]), np.array([2.0, 5.0]))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.kmk"
    >>> _ = models.write(models.ModelRecord(np.array([[0.0, 0.0], [1.0, 1.0]]), scaling=s), p)
    >>> back = models.read(p).scaling
    >>> back.kind, back.center.tolist(), back.scale.tolist()
    ('zscore', [1.0, 10.0], [2.0, 5.0])
    """

    kind: str
    center: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class CategoricalRecord:
    """The categorical part of a k-prototypes model.

    Attributes
    ----------
    columns : tuple of str
        The categorical columns' names, in the order of the centres' last
        columns.
    categories : tuple of tuple
        Each column's categories (str, int, float or bool), in code order.
    gamma : float
        Weight of one categorical mismatch.
    missing : str
        The model's ``missing`` option ("raise", "ignore" or "mean").

    Examples
    --------
    >>> r = CategoricalRecord(("region",), (("north", "south"),), gamma=0.5)
    >>> r.categories[0][1], r.missing
    ('south', 'raise')
    """

    columns: tuple
    categories: tuple
    gamma: float
    missing: str = "raise"


@dataclass(frozen=True)
class ModelRecord:
    """The content of a ``.kmk`` file.

    Attributes
    ----------
    centers : ndarray of shape (n_clusters, n_features), float32 or float64
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}
    feature_names : tuple of str, optional
        One name per feature.
    scaling : ScalingRecord or Scaling, optional
        The column scaling applied before fitting. :func:`read` gives a
        :class:`ScalingRecord`.
    cluster_spread : ndarray of shape (n_clusters,), float64, optional
        Per-cluster spread (:func:`kmeanskit.anomaly.cluster_spread`).
    inertia : float, optional
        The fit's objective; None when unknown.
    n_iter : int, optional
        Iterations of the fit; None when unknown (written as 0).
    converged : bool, optional
        Known for a :class:`~kmeanskit.KMeansResult`, else None.
    created_by : str, optional
        The type of the object saved ("KMeans", "KMeansResult").
    params : dict
        Fitting parameters (keys from :data:`PARAMS`); :func:`write` keeps
        those JSON carries exactly.
    library_version : str, optional
        The kmeanskit version that wrote the file (set by :func:`read`;
        :func:`write` records its own).
    categorical : CategoricalRecord, optional
        For metric "kprototypes" only (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.models import ModelRecord
    >>> rec = ModelRecord(np.array([[0.0, 1.0], [5.0, 5.0]]), "manhattan")
    >>> rec.metric, rec.centers.shape, rec.scaling is None
    ('manhattan', (2, 2), True)
    """

    centers: np.ndarray
    metric: str = "euclidean"
    feature_names: tuple | None = None
    scaling: object = None
    cluster_spread: np.ndarray | None = None
    inertia: float | None = None
    n_iter: int | None = None
    converged: bool | None = None
    created_by: str | None = None
    params: dict = field(default_factory=dict)
    library_version: str | None = None
    categorical: CategoricalRecord | None = None


def not_a_model_file(path, why) -> ValueError:
    """Make the error for a file that is not a valid model file, saying ``why``."""
    return ValueError(f"{path} is not a kmeanskit model file ({why}).")


# --- write ---------------------------------------------------------------------

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


def check_feature_names(names, d):
    """Return ``names`` as a list of ``d`` strings (None stays None)."""
    if names is None:
        return None
    names = [str(c) for c in (names.tolist() if isinstance(names, np.ndarray) else names)]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names but the model has {d} features; "
                         "pass one name per column.")
    return names


def write(record: ModelRecord, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``record`` to a ``.kmk`` file, atomically.

    Parameters
    ----------
    record : ModelRecord
    path : str or path
        Destination (``.kmk`` is customary; not added for you).
    overwrite : bool, default=False
        Replace an existing file; without it an existing ``path`` is an error.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        ``path`` is a folder, or the record's parts disagree (names, scaling
        or spreads of the wrong length).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from kmeanskit import models
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.kmk"
    >>> _ = models.write(models.ModelRecord(np.array([[0.0], [4.0]])), p)
    >>> models.read(p).centers.tolist()
    [[0.0], [4.0]]
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; pass a file name such as model.kmk.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    C = np.asarray(record.centers)
    if C.ndim != 2 or C.dtype not in (np.float32, np.float64):
        raise ValueError(f"centers must be a 2-D float32 or float64 array, got dtype {C.dtype} "
                         f"and shape {C.shape}.")
    cat = record.categorical
    if (record.metric == KPROTOTYPES) != (cat is not None):
        raise ValueError("a categorical record goes with metric 'kprototypes' and only with it.")
    if record.metric not in METRICS and record.metric != KPROTOTYPES:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {record.metric!r}.")
    k, d = C.shape
    names = check_feature_names(record.feature_names, d)
    d_num = d
    if cat is not None:
        cat_meta = _categorical_meta(cat, C)
        d_num = d - len(cat_meta["columns"])
    scaling = record.scaling
    if scaling is not None:
        if not all(hasattr(scaling, a) for a in ("kind", "center", "scale")):
            raise ValueError(f"scaling must be a kmeanskit.scaling.Scaling or None, got "
                             f"{type(scaling).__name__}.")
        n = np.shape(scaling.center)[0]
        if n != d_num:
            raise ValueError(f"scaling is for {n} columns but the model has {d} "
                             "features; pass the Scaling fitted on the training table.")
    spread = record.cluster_spread
    if spread is not None:
        spread = np.asarray(spread, dtype=np.float64)
        if spread.shape != (k,) or not np.isfinite(spread).all() or (spread < 0).any():
            raise ValueError(f"cluster_spread must be {k} finite non-negative numbers (one per "
                             f"cluster), got shape {spread.shape}; see "
                             "kmeanskit.anomaly.cluster_spread.")
    # keep a parameter only when JSON carries it exactly (None only when it was None)
    params = {p: _json_param(v) for p, v in record.params.items() if p in PARAMS}
    params = {p: v for p, v in params.items() if v is not None or record.params[p] is None}
    inertia = float("nan") if record.inertia is None else float(record.inertia)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library": "kmeanskit",
        "library_version": __version__,
        "created_by": record.created_by,
        "metric": record.metric,
        "n_clusters": int(k),
        "n_features": int(d),
        "centers_dtype": C.dtype.name,
        "feature_names": names,
        "scaling": None if scaling is None else scaling.kind,
        "has_cluster_spread": spread is not None,
        "inertia": inertia if np.isfinite(inertia) else None,
        "n_iter": 0 if record.n_iter is None else int(record.n_iter),
        "converged": None if record.converged is None else bool(record.converged),
        "params": params,
    }
    if cat is not None:
        meta["categorical"] = cat_meta
    entries = {"meta.json": json.dumps(meta, indent=1, sort_keys=True).encode("utf-8"),
               "centers.npy": _npy_bytes(C)}
    if spread is not None:
        entries["cluster_spread.npy"] = _npy_bytes(spread)
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


def _categorical_meta(cat, C) -> dict:
    """``cat`` as the JSON object of ``meta.json``, checked against the
    centres ``C`` (codes in range)."""
    cols = [str(c) for c in cat.columns]
    cats = []
    for levels in cat.categories:
        out = []
        for v in levels:
            v = v.item() if isinstance(v, np.generic) else v
            if not isinstance(v, (str, int, float, bool)):
                raise ValueError(f"category {v!r} is not a string, number or bool; a .kmk file "
                                 "stores categories as JSON.")
            out.append(v)
        cats.append(out)
    dc = len(cols)
    if len(cats) != dc or dc > C.shape[1]:
        raise ValueError(f"categorical: {dc} columns but {len(cats)} category lists for "
                         f"{C.shape[1]} centre columns.")
    gamma = float(cat.gamma)
    if not np.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"categorical: gamma must be a positive number, got {cat.gamma!r}.")
    codes = C[:, C.shape[1] - dc:]
    for t in range(dc):
        col = codes[:, t]
        if not (np.all(col == np.round(col)) and np.all(col >= 0) and np.all(col < len(cats[t]))):
            raise ValueError(f"categorical: centre codes of column {cols[t]!r} are not indices "
                             f"into its {len(cats[t])} categories.")
    return {"columns": cols, "categories": cats, "gamma": gamma, "missing": str(cat.missing)}


def _parse_categorical(meta, C) -> CategoricalRecord:
    raw = meta.get("categorical")
    if not isinstance(raw, dict):
        raise _Bad("metric 'kprototypes' without a categorical object")
    cols, cats, gamma, missing = (raw.get("columns"), raw.get("categories"), raw.get("gamma"),
                                  raw.get("missing", "raise"))
    if (not isinstance(cols, list) or not all(isinstance(c, str) for c in cols)
            or not isinstance(cats, list) or len(cats) != len(cols)
            or not all(isinstance(c, list) and all(isinstance(v, (str, int, float, bool)) for v in c)
                       for c in cats)
            or not isinstance(gamma, (int, float)) or isinstance(gamma, bool)
            or not np.isfinite(gamma) or gamma <= 0 or missing not in ("raise", "ignore", "mean")):
        raise _Bad("malformed categorical object")
    rec = CategoricalRecord(tuple(cols), tuple(tuple(c) for c in cats), float(gamma), missing)
    try:
        _categorical_meta(rec, C)
    except ValueError as exc:
        raise _Bad(str(exc).rstrip(".")) from None
    return rec


# --- read ----------------------------------------------------------------------

class _Bad(Exception):
    """The file is not a valid model file (the message says why)."""


class _Newer(Exception):
    """A valid model file in a format version newer than ours."""


def _read_npy(zf, name, max_bytes):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _Bad(f"entry {name} is missing") from None
    # the declared shape bounds the entry's size: refuse before decompressing more
    if info.file_size > max_bytes:
        raise _Bad(f"entry {name} is {info.file_size} bytes, more than its declared shape needs")
    # and the entry's size bounds the array its header may declare (read_npy checks both, and
    # the read budget, before allocating); the zip reader stops at the declared size
    with zf.open(info) as fh:
        try:
            return read_npy(fh, info.file_size, name)
        except ValueError as exc:
            raise _Bad(f"entry {name} is not a plain numeric array ({str(exc).rstrip('.')})") from None


def _read_meta(zf) -> bytes:
    """``meta.json``, read no further than MODEL_META_MAX_BYTES whatever its
    entry declares (a small file can inflate to gigabytes)."""
    try:
        info = zf.getinfo("meta.json")
    except KeyError:
        raise _Bad("no meta.json entry") from None
    if info.file_size > MODEL_META_MAX_BYTES:
        raise _Bad(f"meta.json declares {info.file_size:,} bytes, more than the "
                   f"{MODEL_META_MAX_BYTES:,} a model's metadata may take")
    with zf.open(info) as fh:
        raw = fh.read(MODEL_META_MAX_BYTES + 1)
    if len(raw) > MODEL_META_MAX_BYTES:  # pragma: no cover - the zip reader stops at file_size
        raise _Bad("meta.json is implausibly large")
    return raw


def _float_vector(zf, name, n, what):
    a = _read_npy(zf, name, 1024 + 8 * n)
    if a.dtype.kind != "f" or a.shape != (n,) or not np.isfinite(a).all():
        raise _Bad(f"{name} should hold {n} finite floats ({what}), found dtype {a.dtype} "
                   f"and shape {a.shape}")
    return a.astype(np.float64)


def _parse(zf) -> ModelRecord:
    raw = _read_meta(zf)
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
    if metric not in METRICS and metric != KPROTOTYPES:
        raise _Bad(f"unknown metric {metric!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (k, d)):
        raise _Bad(f"bad n_clusters/n_features {k!r}/{d!r}")
    try:
        check_read_budget(8 * k * d, f"the centres declared by meta.json ({k} x {d})")
    except ValueError as exc:
        raise _Bad(str(exc).rstrip(".")) from None
    C = _read_npy(zf, "centers.npy", 1024 + 8 * k * d)
    if C.dtype not in (np.float32, np.float64) or C.shape != (k, d):
        raise _Bad(f"centers.npy has dtype {C.dtype} and shape {C.shape}, expected float32/float64 "
                   f"of shape ({k}, {d}) as meta.json says")
    if not np.isfinite(C).all():
        raise _Bad("centers.npy holds NaN or infinity")
    if metric == "cosine" and not (np.abs(C) > 0).any(axis=1).all():
        raise _Bad("a cosine centre is the zero vector")
    cat = _parse_categorical(meta, C) if metric == KPROTOTYPES else None
    d_num = d - (0 if cat is None else len(cat.columns))
    names = meta.get("feature_names")
    if names is not None:
        if (not isinstance(names, list) or len(names) != d
                or not all(isinstance(c, str) for c in names)):
            raise _Bad(f"feature_names should be {d} strings")
        names = tuple(names)
    spread = None
    if meta.get("has_cluster_spread"):
        spread = _float_vector(zf, "cluster_spread.npy", k, "cluster spreads")
        if (spread < 0).any():
            raise _Bad("cluster_spread.npy holds negative values")
    scaling = None
    if meta.get("scaling") is not None:
        center = _float_vector(zf, "scaling_center.npy", d_num, "scaling centre")
        scale = _float_vector(zf, "scaling_scale.npy", d_num, "scaling scale")
        kind = meta["scaling"]
        if not isinstance(kind, str) or kind not in SCALING_KINDS or not np.all(scale > 0):
            raise _Bad("malformed scaling record: unknown kind or bad center/scale.")
        scaling = ScalingRecord(kind, center, scale)
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
              if p in PARAMS and (p != "init" or isinstance(v, str))}
    converged = meta.get("converged")
    created_by = meta.get("created_by")
    library_version = meta.get("library_version")
    return ModelRecord(
        centers=C, metric=metric, feature_names=names, scaling=scaling, cluster_spread=spread,
        inertia=None if inertia is None else float(inertia), n_iter=n_iter,
        converged=converged if isinstance(converged, bool) else None,
        created_by=created_by if isinstance(created_by, str) else None, params=params,
        library_version=library_version if isinstance(library_version, str) else None,
        categorical=cat)


def read(path: str | os.PathLike) -> ModelRecord:
    """Read a ``.kmk`` file.

    Only ``zipfile``, ``json`` and NumPy's ``.npy`` reader with
    ``allow_pickle=False`` are used: reading never runs code from the file.
    Every entry's size is checked against the shape ``meta.json`` declares
    before it is decompressed.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    ModelRecord
        Its ``scaling`` is a :class:`ScalingRecord` or None; ``params`` are
        the recorded fitting parameters, not yet checked against
        :class:`kmeanskit.KMeans`'s constraints (:func:`kmeanskit.load` does).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a kmeanskit model file (damaged or truncated, another zip or
        ``.npz``, a pickle, inconsistent shapes), or a newer format version
        (the message says to upgrade).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, kmeanskit
    >>> from kmeanskit import models
    >>> p = kmeanskit.fit(np.array([[0.0], [1.0], [9.0]]), 2, init=[[0.0], [9.0]]).save(
    ...     pathlib.Path(tempfile.mkdtemp()) / "m.kmk")
    >>> rec = models.read(p)
    >>> rec.centers.tolist(), rec.metric, rec.created_by, rec.params
    ([[0.5], [9.0]], 'euclidean', 'KMeansResult', {'n_init': 1})
    >>> _ = p.write_bytes(b"not a model")
    >>> models.read(p)
    Traceback (most recent call last):
    ...
    ValueError: ...m.kmk is not a kmeanskit model file or is damaged (BadZipFile: ...).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a kmeanskit model file.")
    size = path.stat().st_size  # FileNotFoundError propagates as is
    check_read_budget(size, f"{path}: a model file of {size:,} bytes")
    data = path.read_bytes()
    if data[:1] == b"\x80" or data[:2] in (b"(d", b"(l", b"}q", b"]q"):
        raise ValueError(f"{path} is not a kmeanskit model file (it looks like a Python pickle, "
                         "which kmeanskit never loads: it could run code).")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as zf:
            return _parse(zf)
    except _Bad as exc:
        raise not_a_model_file(path, exc) from None
    except _Newer as exc:
        raise ValueError(f"{path} was {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not a kmeanskit model file or is damaged ({exc}).") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError,
            NotImplementedError, RuntimeError, OverflowError, TypeError) as exc:
        raise ValueError(f"{path} is not a kmeanskit model file or is damaged "
                         f"({type(exc).__name__}: {exc}).") from None
