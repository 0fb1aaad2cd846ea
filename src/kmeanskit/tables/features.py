"""From a table to the features k-means clusters: reading it as a DataFrame,
choosing its columns, one-hot encoding, ``log1p``, and rebuilding a saved
model's features from a new table by name.

Needs pandas (``pip install kmeanskit[tables]``), imported when first used.

Feature names
-------------
The model's features are named after the input columns, so a saved model
can find its columns in a new table by name (:func:`feature_matrix`):

* a numeric column ``x`` is the feature ``x``;
* with ``log=True`` it is ``log1p(x)``, i.e. ``log(1 + x)``;
* a one-hot encoded column ``c`` gives one feature ``c=level`` per level
  (1 where the row has that level, else 0).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .read import read_frame

__all__ = ["feature_matrix", "model_inputs", "MAX_AUTO_LEVELS"]

#: With ``categorical="onehot"`` and no column list, text columns with more
#: distinct values than this are skipped (names, ids), not encoded.
MAX_AUTO_LEVELS = 20

#: A feature named ``log1p(x)`` is ``log(1 + x)`` of the column ``x``.
LOG_RE = re.compile(r"^log1p\((.*)\)$")


def need_pandas(what="kmeanskit.segment"):
    """The pandas module, or an ImportError saying that ``what`` needs it
    and naming the ``tables`` extra."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"{what} needs pandas; install it with `pip install kmeanskit[tables]`.") from None
    return pd


def quoted(cols) -> str:
    """Column names for a message: ``'a', 'b'``."""
    return ", ".join(repr(str(c)) for c in cols)


def as_frame(data):
    """(DataFrame, description) for a DataFrame, an array or a path."""
    pd = need_pandas()
    if isinstance(data, pd.DataFrame):
        df = data.copy(deep=False)
        df.columns = [str(c) for c in df.columns]
        if len(set(df.columns)) != len(df.columns):
            raise ValueError("the table has repeated column names; give every column its own name.")
        return df, "DataFrame"
    if isinstance(data, (str, os.PathLike)):
        return read_frame(data), Path(data).name
    A = np.asarray(data)
    if A.dtype.names:
        return pd.DataFrame({c: A[c] for c in A.dtype.names}), "array"
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2:
        raise ValueError(f"data has shape {A.shape}; pass a 2-D table (rows x columns).")
    return pd.DataFrame(A, columns=[str(j) for j in range(A.shape[1])]), "array"


def column_kind(series) -> str:
    """'numeric' (ints, floats, bools as 0/1), 'categorical' (text, category)
    or 'other' (dates, ...)."""
    k = series.dtype.kind
    if k in "fiub":
        return "numeric"
    if k in "OSU" or str(series.dtype) in ("category", "string", "str"):
        return "categorical"
    return "other"


def select_columns(df, columns, categorical):
    """(numeric columns, categorical columns to encode, skipped) in table order."""
    kinds = {c: column_kind(df[c]) for c in df.columns}
    if columns is not None:
        columns = [str(c) for c in ([columns] if isinstance(columns, str) else columns)]
        if not columns:
            raise ValueError("columns is empty; name at least one column (or pass None for every numeric one).")
        missing = [c for c in columns if c not in kinds]
        if missing:
            raise ValueError(f"column(s) {quoted(missing)} not found; available: {quoted(df.columns)}.")
        if len(set(columns)) != len(columns):
            raise ValueError("a column is named twice in columns; name each once.")
        other = [c for c in columns if kinds[c] == "other"]
        if other:
            raise ValueError(f"column(s) {quoted(other)} are neither numbers nor categories "
                             f"({', '.join(str(df[c].dtype) for c in other)}); leave them out of columns.")
        cat = [c for c in columns if kinds[c] == "categorical"]
        if cat and categorical not in ("onehot", "kprototypes"):
            raise ValueError(f"column(s) {quoted(cat)} are categorical (text); k-means needs numbers: "
                             "leave them out, one-hot encode them with categorical='onehot' (--onehot), or cluster "
                             "them as categories with categorical='kprototypes' (--kprototypes).")
        return [c for c in columns if kinds[c] == "numeric"], cat, []
    num = [c for c in df.columns if kinds[c] == "numeric"]
    cat = []
    if categorical in ("onehot", "kprototypes"):
        # k-prototypes leaves out a text column with one level too: it cannot tell rows apart
        low = 2 if categorical == "kprototypes" else 1
        cat = [c for c in df.columns if kinds[c] == "categorical"
               and low <= df[c].nunique(dropna=True) <= MAX_AUTO_LEVELS]
    skipped = [c for c in df.columns if c not in num and c not in cat]
    if not num and not cat:
        raise ValueError(f"no numeric columns among {quoted(df.columns)}"
                         + ("; name categorical ones with columns= and pass categorical='onehot' (--onehot)."
                            if categorical not in ("onehot", "kprototypes") else "."))
    return num, cat, skipped


def onehot(df, cat):
    """(features (n, m) float with NaN rows where the value is missing, names)."""
    blocks, names = [], []
    for c in cat:
        s = df[c]
        levels = sorted(s.dropna().astype(str).unique())
        if not levels:
            raise ValueError(f"column {c!r} has no values to encode.")
        vals = s.astype(str).to_numpy()
        miss = s.isna().to_numpy()
        B = np.stack([(vals == lv).astype(np.float64) for lv in levels], axis=1)
        B[miss] = np.nan
        blocks.append(B)
        names += [f"{c}={lv}" for lv in levels]
    return (np.concatenate(blocks, axis=1) if blocks else np.empty((len(df), 0))), names


def table_features(df, used, numeric, log):
    """The features of the ``used`` columns, in input units and before
    scaling, with NaN where a value is missing (infinities count as missing).

    Returns ``(V, F, features, display)``: ``V`` (n_rows, n_features) in the
    input units, ``F`` the same with ``log1p`` applied to numeric columns
    when ``log``, the features' model names (``x``, ``log1p(x)``,
    ``c=level``) and their names in input terms (``x``, ``c=level``).
    Raises ValueError for negative values under ``log``.
    """
    blocks_v, blocks_f, feats, display = [], [], [], []
    for c in used:
        if c in numeric:
            v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
            v = np.where(np.isinf(v), np.nan, v)  # infinities count as missing values
            if log:
                neg = np.nan_to_num(v, nan=0.0) < 0
                if neg.any():
                    raise ValueError(f"column {c!r} has {int(neg.sum())} negative value(s); log=True (--log) "
                                     "takes log(1 + x) and needs values >= 0.")
            blocks_v.append(v[:, None])
            blocks_f.append((np.log1p(v) if log else v)[:, None])
            feats.append(f"log1p({c})" if log else c)
            display.append(c)
        else:
            B, names = onehot(df, [c])
            blocks_v.append(B)
            blocks_f.append(B)
            feats += names
            display += names
    return np.concatenate(blocks_v, axis=1), np.concatenate(blocks_f, axis=1), feats, display


def feature_matrix(frame, features) -> np.ndarray:
    """Build a model's features from a table's columns, by name (the
    inverse of :func:`kmeanskit.segment`'s naming).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    features : sequence of str
        Feature names: ``x`` is column ``x``, ``log1p(x)`` is ``log(1 + x)``
        of column ``x``, ``c=level`` is 1 where column ``c`` equals
        ``level`` (else 0).

    Returns
    -------
    ndarray of shape (n_rows, n_features), float64
        Missing values stay NaN.

    Raises
    ------
    ValueError
        Columns the features need are missing (named), a plain feature's
        column is not numeric, or a ``log1p`` column has negative values.

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeanskit.tables import feature_matrix
    >>> df = pd.DataFrame({"a": [0.0, 9.0], "c": ["x", "y"]})
    >>> feature_matrix(df, ["a", "log1p(a)", "c=y"]).round(3).tolist()
    [[0.0, 0.0, 0.0], [9.0, 2.303, 1.0]]
    """
    cols = {str(c): c for c in frame.columns}
    out, missing = [], []
    for f in features:
        f = str(f)
        m = LOG_RE.match(f)
        if f in cols:
            s = frame[cols[f]]
            if column_kind(s) != "numeric":
                raise ValueError(f"column {f!r} is not numeric ({s.dtype}); the model needs numbers there.")
            out.append(s.to_numpy(dtype=np.float64, na_value=np.nan))
        elif m and m.group(1) in cols:
            s = frame[cols[m.group(1)]]
            v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.any(v < 0):
                raise ValueError(f"column {m.group(1)!r} has negative values; the model takes log(1 + x) of it.")
            out.append(np.log1p(v))
        elif "=" in f and f.split("=", 1)[0] in cols:
            c, level = f.split("=", 1)
            s = frame[cols[c]]
            v = (s.astype(str).to_numpy() == level).astype(np.float64)
            v[s.isna().to_numpy()] = np.nan
            out.append(v)
        else:
            missing.append(m.group(1) if m else (f.split("=", 1)[0] if "=" in f else f))
    if missing:
        missing = list(dict.fromkeys(missing))
        raise ValueError(f"the table lacks column(s) {quoted(missing)} that the model was fitted on; "
                         f"it has {quoted(cols)}.")
    return np.stack(out, axis=1) if out else np.empty((len(frame), 0))


def model_inputs(data, model):
    """The rows of a table as a saved model sees them.

    Parameters
    ----------
    data : DataFrame, array-like or path
        The table (a path is read with :func:`kmeanskit.tables.read_frame`).
    model : fitted model with ``feature_names_in_``
        E.g. one saved by :meth:`Segmentation.save_model` and loaded with
        :func:`kmeanskit.load`; its ``scaling_`` (if any) is applied. A
        :class:`kmeanskit.KPrototypes` (``categorical_``) takes its
        categorical columns as they are (text) and its numeric features
        rebuilt and scaled; missing values are kept (NaN, None) unless the
        model was fitted with ``missing="raise"`` (infinities count as
        missing, as in :func:`kmeanskit.segment`).

    Returns
    -------
    pandas.DataFrame
        The model's features rebuilt by name (:func:`feature_matrix`) and
        scaled, with the model's feature names as columns and the table's
        index (ready for ``predict`` or
        :func:`kmeanskit.anomaly.detect_outliers`).

    Raises
    ------
    ValueError
        The model has no feature names, or the table lacks columns or has
        missing values in them that the model does not take (named).

    Examples
    --------
    >>> import pandas as pd, kmeanskit, tempfile, pathlib
    >>> from kmeanskit.tables import model_inputs
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 10.0, 11.0]})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.kmk"
    >>> _ = kmeanskit.segment(df, k=2).save_model(p)
    >>> model = kmeanskit.load(p)
    >>> model_inputs(pd.DataFrame({"x": [6.0], "note": ["new"]}), model).round(3).values.tolist()
    [[0.0]]

    A k-prototypes model (a text column, gaps kept):

    >>> df = pd.DataFrame({"x": [1.0, 2.0, 10.0, 11.0], "c": ["a", "a", "b", None]})
    >>> _ = kmeanskit.segment(df, k=2, categorical="kprototypes", missing="ignore").save_model(p, overwrite=True)
    >>> model_inputs(pd.DataFrame({"c": ["b", None], "x": [None, 6.0]}), kmeanskit.load(p)).values.tolist()
    [[nan, 'b'], [0.0, None]]
    """
    pd = need_pandas()
    frame, _ = as_frame(data)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("the model has no feature names, so its columns cannot be found in the table; "
                         "save it from segment() / `kmeanskit cluster --model`, or with feature_names=.")
    names = [str(n) for n in names]
    if getattr(model, "categorical_", None) is not None:  # a KPrototypes: categories and gaps
        return _mixed_inputs(frame, model, names)
    F = feature_matrix(frame, names)
    bad = ~np.isfinite(F)
    if bad.any():
        cols = [f"{names[j]!r} ({int(bad[:, j].sum())})" for j in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(f"missing or non-finite values in column(s) {', '.join(cols)}; "
                         "drop or fill those rows first.")
    scaling = getattr(model, "scaling_", None)
    Z = F if scaling is None else scaling.transform(F)
    return pd.DataFrame(Z, columns=names, index=frame.index)


def _lacking(frame, features) -> list:
    """The table columns ``features`` need that ``frame`` lacks (as
    :func:`feature_matrix` names them)."""
    cols = {str(c) for c in frame.columns}
    out = []
    for f in features:
        m = LOG_RE.match(f)
        if f in cols or (m and m.group(1) in cols) or ("=" in f and f.split("=", 1)[0] in cols):
            continue
        out.append(m.group(1) if m else (f.split("=", 1)[0] if "=" in f else f))
    return out


def _mixed_inputs(frame, model, names):
    """:func:`model_inputs` for a :class:`kmeanskit.KPrototypes`: its
    numeric features rebuilt and scaled, its categorical columns as they
    are (present values as text when the model's categories are text),
    missing values kept as NaN / None unless the model refuses them."""
    from .scaling import Scaling

    pd = need_pandas()
    cat_at = {int(i) for i in model.categorical_}
    cat_names = [n for i, n in enumerate(names) if i in cat_at]
    num_names = [n for i, n in enumerate(names) if i not in cat_at]
    lacking = list(dict.fromkeys(_lacking(frame, num_names) + [c for c in cat_names
                                                               if c not in {str(x) for x in frame.columns}]))
    if lacking:
        raise ValueError(f"the table lacks column(s) {quoted(lacking)} that the model was fitted on; "
                         f"it has {quoted(frame.columns)}.")
    F = feature_matrix(frame, num_names)
    F = np.where(np.isinf(F), np.nan, F)  # infinities count as missing values, as in segment()
    cols = {str(c): c for c in frame.columns}
    cats = {}
    for t, c in enumerate(cat_names):
        s = frame[cols[c]]
        miss = s.isna().to_numpy()
        v = s.astype(object).to_numpy().copy()
        known = model.categories_[t]
        if len(known) and all(isinstance(x, str) for x in known):
            v[~miss] = [str(x) for x in v[~miss]]  # a column read as numbers still matches text categories
        v[miss] = None
        cats[c] = v
    if getattr(model, "missing", "raise") == "raise":
        gaps = [(n, int(np.isnan(F[:, j]).sum())) for j, n in enumerate(num_names)]
        gaps += [(c, int(sum(x is None for x in v))) for c, v in cats.items()]
        gaps = [f"{n!r} ({m})" for n, m in gaps if m]
        if gaps:
            raise ValueError(f"missing or non-finite values in column(s) {', '.join(gaps)}; the model was "
                             "fitted without missing values (missing='raise'): drop or fill those rows, or "
                             "refit with missing='ignore' (--missing ignore) to score incomplete rows.")
    scaling = getattr(model, "scaling_", None)
    if scaling is not None and F.shape[1]:
        if not hasattr(scaling, "transform"):  # a loaded KPrototypes keeps the record's plain scaling
            scaling = Scaling.from_dict({"kind": scaling.kind, "center": scaling.center,
                                         "scale": scaling.scale})
        F = scaling.transform(F)
    out = pd.DataFrame(index=frame.index)
    num_at = {n: j for j, n in enumerate(num_names)}
    for n in names:
        out[n] = F[:, num_at[n]] if n in num_at else pd.Series(cats[n], index=frame.index, dtype=object)
    return out
