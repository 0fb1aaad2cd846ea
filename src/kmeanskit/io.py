"""Reading data tables (CSV/TSV, Parquet, NumPy ``.npy``) and saving/loading
fitted models (``.kmk`` files, no pickle).

The table readers :func:`read_table`, :func:`read_frame` and
:func:`write_frame` are those of :mod:`kmeanskit.tables.read`, re-exported
here.
"""

from __future__ import annotations

import os
from pathlib import Path

from .tables.read import FRAME_OUTPUT_SUFFIXES, TABLE_SUFFIXES, Table, read_frame, read_table, write_frame
from .tables.scaling import Scaling

__all__ = ["Table", "read_table", "TABLE_SUFFIXES", "read_frame", "write_frame", "FRAME_OUTPUT_SUFFIXES",
           "save_model", "load_model"]


# --- saved models ----------------------------------------------------------------

def save_model(model, path: str | os.PathLike, *, scaling=None, feature_names=None,
               cluster_spread=None, overwrite: bool = False) -> Path:
    """Save a fitted model to a ``.kmk`` file: portable, versioned, no pickle.

    The file is a zip archive of NumPy ``.npy`` arrays (centres in their own
    dtype, optional cluster spreads and scaling) and a ``meta.json`` entry
    (format name and version, library version, metric, shapes, feature
    names, scaling kind, inertia, iterations, fitting parameters). The format
    is described in docs/models.md. It is written atomically, as
    ``kmeanskit.models.write(kmeanskit.core.model_record(model, ...), path)``.

    Parameters
    ----------
    model : KMeans, KMeansResult or KPrototypes
        A fitted :class:`kmeanskit.KMeans` (or one from :func:`load_model`)
        or the result of :func:`kmeanskit.fit` (anything
        :func:`kmeanskit.core.fitted` takes), or a fitted
        :class:`kmeanskit.KPrototypes` (written by its ``to_record``, with
        its categories; ``feature_names`` and ``cluster_spread`` come from
        the model).
    path : str or path
        Destination; ``.kmk`` is the customary suffix (not added for you).
    scaling : kmeanskit.scaling.Scaling, optional
        The column scaling applied before fitting, so that users of the saved
        model can apply it to new rows. Default: the model's ``scaling_``, if
        it has one (a loaded model).
    feature_names : sequence of str, optional
        Column names. Default: the model's ``feature_names_in_`` (set when a
        KMeans was fitted on a DataFrame); if both are given they must agree.
    cluster_spread : array-like of shape (n_clusters,), optional
        Per-cluster spread of the training rows
        (:func:`kmeanskit.anomaly.cluster_spread`), used by normalised
        anomaly scores. Default: the model's ``cluster_spread_``, if any.
    overwrite : bool, default=False
        Replace an existing file. Without it an existing ``path`` is an
        error.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        Unfitted or foreign model, or extras of the wrong shape.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, kmeanskit
    >>> from kmeanskit.io import save_model, load_model
    >>> r = kmeanskit.fit(np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 8.0]]), 2,
    ...                   random_state=0)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.kmk"
    >>> _ = save_model(r, p, feature_names=["x", "y"])
    >>> km = load_model(p)
    >>> bool(np.array_equal(km.cluster_centers_, r.centers)), km.feature_names_in_.tolist()
    (True, ['x', 'y'])
    >>> save_model(r, p)
    Traceback (most recent call last):
    ...
    FileExistsError: ... already exists; pass overwrite=True to replace it.
    """
    from . import models
    from .core import kprototypes_kind, model_record

    if kprototypes_kind(model) == "estimator":
        # its record carries the categories, gamma and spreads
        if feature_names is not None or cluster_spread is not None:
            raise ValueError("a k-prototypes model saves its own column names and spreads; "
                             "leave feature_names and cluster_spread out.")
        return models.write(model.to_record(scaling=scaling), path, overwrite=overwrite)
    record = model_record(model, scaling=scaling, feature_names=feature_names,
                          cluster_spread=cluster_spread)
    return models.write(record, path, overwrite=overwrite)


def load_model(path: str | os.PathLike):
    """Load a model saved by :func:`save_model` (also ``kmeanskit.load``).

    Only ``zipfile``, ``json`` and ``numpy.load``-style reading with
    ``allow_pickle=False`` are used: loading never runs code from the file.
    The file is read by :func:`kmeanskit.models.read` (the plain record,
    without scikit-learn) and turned into an estimator by
    :func:`kmeanskit.estimator.kmeans_from_record`.

    Parameters
    ----------
    path : str or path
        A ``.kmk`` file.

    Returns
    -------
    KMeans or KPrototypes
        A fitted :class:`kmeanskit.KPrototypes` for a k-prototypes model (numeric
        and categorical columns), else a fitted :class:`kmeanskit.KMeans`: ``cluster_centers_`` (float32 or
        float64 as saved), ``n_features_in_``, ``feature_names_in_`` (when
        names were saved), ``inertia_`` (NaN if not saved), ``n_iter_``, the
        ``metric``/``n_clusters`` and saved fitting parameters, plus
        ``scaling_`` (:class:`~kmeanskit.scaling.Scaling` or None: apply
        ``scaling_.transform`` to raw rows before ``predict``) and
        ``cluster_spread_`` (array or None). ``predict``, ``transform`` and
        ``score`` work; ``labels_`` is not saved.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a kmeanskit model file: damaged or truncated, another zip/npz,
        a pickle, inconsistent shapes, or a newer format version (the
        message says to upgrade).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, kmeanskit
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> km = kmeanskit.KMeans(2, init=[[0.0], [10.0]]).fit(X)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.kmk"
    >>> _ = km.save(p)
    >>> kmeanskit.load(p).predict([[0.2], [12.0]]).tolist()
    [0, 1]
    >>> _ = p.write_bytes(b"not a model")
    >>> kmeanskit.load(p)
    Traceback (most recent call last):
    ...
    ValueError: ...model.kmk is not a kmeanskit model file or is damaged (BadZipFile: ...).
    """
    # the estimator imports scikit-learn: only on the first load
    from . import models
    from .estimator import kmeans_from_record

    record = models.read(path)
    if record.metric == "kprototypes":  # numeric and categorical columns (Segmentation.save_model)
        from .kprototypes import KPrototypes

        return KPrototypes.from_record(record)
    s = record.scaling
    scaling = None if s is None else Scaling.from_dict({"kind": s.kind, "center": s.center,
                                                        "scale": s.scale})
    try:
        return kmeans_from_record(record, scaling)
    except ValueError as exc:  # saved parameters KMeans refuses
        raise models.not_a_model_file(path, exc) from None
