"""Segmenting a table: pick the columns, scale them, cluster the rows and
describe each cluster in the table's own units.

:func:`segment` takes a pandas DataFrame, a NumPy array or a file (CSV, TSV,
Parquet, ``.npy``) and returns a :class:`Segmentation`: the label of every
row (input order kept, nothing dropped), the fitted model and its column
scaling (so new rows can be scored, see ``kmeanskit outliers``), and a
profile of each cluster: size, share, mean and median of every column in its
original units, and the columns that set it apart, measured in standard
deviations from the overall mean.

Needs pandas (``pip install kmeanskit[tables]``).

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

import io as _io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["segment", "Segmentation", "feature_matrix", "model_inputs", "STANDARDIZE_KINDS"]

#: Column scalings :func:`segment` understands (see :mod:`kmeanskit.scaling`).
STANDARDIZE_KINDS = ("zscore", "whiten", "none")
#: With ``categorical="onehot"`` and no column list, text columns with more
#: distinct values than this are skipped (names, ids), not encoded.
MAX_AUTO_LEVELS = 20

_LOG_RE = re.compile(r"^log1p\((.*)\)$")


def _pandas(what="kmeanskit.segment"):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"{what} needs pandas; install it with `pip install kmeanskit[tables]`.") from None
    return pd


def _names(cols) -> str:
    return ", ".join(repr(str(c)) for c in cols)


def _as_frame(data):
    """(DataFrame, description) for a DataFrame, an array or a path."""
    pd = _pandas()
    if isinstance(data, pd.DataFrame):
        df = data.copy(deep=False)
        df.columns = [str(c) for c in df.columns]
        if len(set(df.columns)) != len(df.columns):
            raise ValueError("the table has repeated column names; give every column its own name.")
        return df, "DataFrame"
    if isinstance(data, (str, os.PathLike)):
        from .io import read_frame

        return read_frame(data), Path(data).name
    A = np.asarray(data)
    if A.dtype.names:
        return pd.DataFrame({c: A[c] for c in A.dtype.names}), "array"
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2:
        raise ValueError(f"data has shape {A.shape}; pass a 2-D table (rows x columns).")
    return pd.DataFrame(A, columns=[str(j) for j in range(A.shape[1])]), "array"


def _kind(series) -> str:
    """'numeric' (ints, floats, bools as 0/1), 'categorical' (text, category)
    or 'other' (dates, ...)."""
    k = series.dtype.kind
    if k in "fiub":
        return "numeric"
    if k in "OSU" or str(series.dtype) in ("category", "string", "str"):
        return "categorical"
    return "other"


def _select(df, columns, categorical):
    """(numeric columns, categorical columns to encode, skipped) in table order."""
    kinds = {c: _kind(df[c]) for c in df.columns}
    if columns is not None:
        columns = [str(c) for c in ([columns] if isinstance(columns, str) else columns)]
        if not columns:
            raise ValueError("columns is empty; name at least one column (or pass None for every numeric one).")
        missing = [c for c in columns if c not in kinds]
        if missing:
            raise ValueError(f"column(s) {_names(missing)} not found; available: {_names(df.columns)}.")
        if len(set(columns)) != len(columns):
            raise ValueError("a column is named twice in columns; name each once.")
        other = [c for c in columns if kinds[c] == "other"]
        if other:
            raise ValueError(f"column(s) {_names(other)} are neither numbers nor categories "
                             f"({', '.join(str(df[c].dtype) for c in other)}); leave them out of columns.")
        cat = [c for c in columns if kinds[c] == "categorical"]
        if cat and categorical != "onehot":
            raise ValueError(f"column(s) {_names(cat)} are categorical (text); k-means needs numbers: "
                             "leave them out, or one-hot encode them with categorical='onehot' (--onehot).")
        return [c for c in columns if kinds[c] == "numeric"], cat, []
    num = [c for c in df.columns if kinds[c] == "numeric"]
    cat = []
    if categorical == "onehot":
        cat = [c for c in df.columns if kinds[c] == "categorical"
               and df[c].nunique(dropna=True) <= MAX_AUTO_LEVELS]
    skipped = [c for c in df.columns if c not in num and c not in cat]
    if not num and not cat:
        raise ValueError(f"no numeric columns among {_names(df.columns)}"
                         + ("; name categorical ones with columns= and pass categorical='onehot' (--onehot)."
                            if categorical != "onehot" else "."))
    return num, cat, skipped


def _onehot(df, cat):
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


def _wmean(A, w):
    return A.mean(axis=0) if w is None else np.average(A, axis=0, weights=w)


def _wmedian(A, w):
    """Column medians; weighted: the smallest value reaching half the weight."""
    if w is None:
        return np.median(A, axis=0)
    out = np.empty(A.shape[1])
    for j in range(A.shape[1]):
        o = np.argsort(A[:, j], kind="stable")
        cum = np.cumsum(w[o])
        out[j] = A[o[np.searchsorted(cum, cum[-1] / 2)], j]
    return out


def _fmt_sd(z):
    return f"{z:+.1f} sd"


@dataclass(eq=False, repr=False)
class Segmentation:
    """The result of :func:`segment`.

    Attributes
    ----------
    labels : ndarray of shape (n_rows,), int
        Cluster of every input row, in input order; -1 for rows left out
        because of missing values (``dropna=True``).
    k : int
        Number of clusters.
    model : kmeanskit.KMeans
        Fitted on the scaled features of the rows kept.
    scaling : kmeanskit.scaling.Scaling
        Maps the features to the space the model was fitted in.
    columns : list of str
        Input columns used, in table order.
    features : list of str
        The model's features (see the module notes: ``x``, ``log1p(x)``,
        ``c=level``).
    skipped : list of str
        Columns not used because no column list was given (text, dates, ...).
    dropped : ndarray of int
        Positions of the rows left out for missing values.
    imputed : dict
        Column -> number of values filled with the column mean.
    sweep : KSweep or None
        The sweep over k when ``k="auto"``.
    log : bool
        Whether numeric columns were log1p-transformed.
    """

    labels: np.ndarray
    k: int
    model: object
    scaling: object
    columns: list
    features: list
    skipped: list
    dropped: np.ndarray
    imputed: dict
    sweep: object
    log: bool
    _frame: object = field(repr=False)
    _values: np.ndarray = field(repr=False)   # kept rows, features in input units (n_kept, d)
    _F: np.ndarray = field(repr=False)        # kept rows, features before scaling (log applied)
    _Z: np.ndarray = field(repr=False)        # kept rows, scaled
    _w: object = field(repr=False)
    _kept: np.ndarray = field(repr=False)
    _display: list = field(repr=False)        # feature names in input terms (x, not log1p(x))
    _profile: object = field(default=None, repr=False)
    _profile_z: object = field(default=None, repr=False)

    # -- numbers --
    @property
    def centers(self) -> np.ndarray:
        """Cluster centres in the input units, shape (k, n_features). With
        ``log=True`` a numeric centre is ``expm1`` of the centre on the log
        scale (a geometric-mean-like typical value); a one-hot feature's
        centre is the share of the cluster with that level."""
        C = self.scaling.inverse_transform(np.asarray(self.model.cluster_centers_, dtype=np.float64))
        if self.log:
            for j, f in enumerate(self.features):
                if _LOG_RE.match(f) and f not in self.columns:
                    C[:, j] = np.expm1(C[:, j])
        return C

    @property
    def sizes(self) -> np.ndarray:
        """Rows per cluster (rows left out are not counted)."""
        return np.bincount(self.labels[self._kept], minlength=self.k)

    def _compute_profile(self):
        pd = _pandas()
        lab = self.labels[self._kept]
        V, F, w = self._values, self._F, self._w
        mu = _wmean(F, w)
        sd = np.sqrt(_wmean((F - mu) ** 2, w))
        sd = np.where(sd > 0, sd, 1.0)
        total = float(len(lab) if w is None else w.sum())
        rows, zrows = [], []
        for c in range(self.k):
            m = lab == c
            wc = None if w is None else w[m]
            size = int(m.sum())
            row = {"size": size, "share": (size if w is None else float(wc.sum())) / total}
            if size:
                mean = _wmean(V[m], wc)
                med = _wmedian(V[m], wc)
                z = (_wmean(F[m], wc) - mu) / sd
            else:  # cannot happen with kmeanskit's empty-cluster relocation; kept for safety
                mean = med = z = np.full(V.shape[1], np.nan)
            for j, name in enumerate(self._display):
                row[f"{name} mean"] = float(mean[j])
                row[f"{name} median"] = float(med[j])
            order = sorted(range(len(z)), key=lambda j: -abs(z[j]) if np.isfinite(z[j]) else 0.0)
            row["distinguishing"] = ", ".join(f"{self._display[j]} {_fmt_sd(z[j])}" for j in order[:3])
            rows.append(row)
            zrows.append(z)
        idx = pd.Index(range(self.k), name="cluster")
        self._profile = pd.DataFrame(rows, index=idx)
        self._profile_z = pd.DataFrame(np.array(zrows), index=idx, columns=list(self._display))

    @property
    def profile(self):
        """DataFrame, one row per cluster: ``size`` (rows), ``share`` (of the
        rows clustered, by weight when weighted), ``<column> mean`` and
        ``<column> median`` in the input units (weighted when weighted; a
        one-hot level's mean is its share), and ``distinguishing``: the three
        features whose cluster mean is furthest from the overall mean, in
        overall standard deviations (on the log scale with ``log=True``),
        e.g. ``"Grocery +1.9 sd, Fresh -0.6 sd, Milk +0.4 sd"``."""
        if self._profile is None:
            self._compute_profile()
        return self._profile

    @property
    def profile_z(self):
        """DataFrame (cluster x feature): how many overall standard deviations
        each cluster's mean lies from the overall mean."""
        if self._profile_z is None:
            self._compute_profile()
        return self._profile_z

    def to_frame(self, name: str = "cluster"):
        """The input rows, in input order and all of them, with a ``name``
        column holding the cluster (pandas ``Int64``; missing for rows left
        out by ``dropna``). Raises ValueError if the table already has such a
        column."""
        pd = _pandas()
        if name in self._frame.columns:
            raise ValueError(f"the table already has a column {name!r}; pick another name for the labels.")
        out = self._frame.copy()
        lab = pd.array(self.labels, dtype="Int64")
        lab[self.labels < 0] = pd.NA
        out[name] = lab
        return out

    # -- plots --
    def _pca(self):
        Z = self._Z
        mu = Z.mean(axis=0)
        _, s, Vt = np.linalg.svd(Z - mu, full_matrices=False)
        P = Vt[:2].T
        if P.shape[1] < 2:
            P = np.hstack([P, np.zeros((P.shape[0], 2 - P.shape[1]))])
        var = s ** 2
        ratio = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
        ratio = np.pad(ratio, (0, 2 - ratio.size))
        return mu, P, ratio

    def plot(self, ax=None):
        """The clustered rows in their first two principal components (of the
        scaled features), coloured by cluster, centres marked and numbered.
        Returns ``ax``. Needs matplotlib."""
        from .plotting import _new_ax

        ax = _new_ax(ax)
        mu, P, ratio = self._pca()
        XY = (self._Z - mu) @ P
        C = (np.asarray(self.model.cluster_centers_, dtype=np.float64) - mu) @ P
        lab = self.labels[self._kept]
        cmap = _cmap(self.k)
        ax.scatter(XY[:, 0], XY[:, 1], c=[cmap(i) for i in lab], s=12, alpha=0.7, linewidths=0)
        ax.scatter(C[:, 0], C[:, 1], marker="X", s=140, c=[cmap(i) for i in range(self.k)],
                   edgecolors="black", linewidths=1.2, zorder=3)
        for i, (x, y) in enumerate(C):
            ax.annotate(str(i), (x, y), xytext=(6, 6), textcoords="offset points", fontweight="bold")
        ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}% of variance)")
        ax.set_title(f"{self.k} clusters, first two principal components")
        return ax

    def plot_features(self, columns=None, *, fig=None):
        """Box plots of each feature per cluster, in the input units (log
        axis with ``log=True``). Returns the array of axes (one per feature).
        Needs matplotlib."""
        names = list(self._display) if columns is None else [str(c) for c in columns]
        bad = [c for c in names if c not in self._display]
        if bad:
            raise ValueError(f"unknown feature(s) {_names(bad)}; choose among {_names(self._display)}.")
        if fig is None:
            from .plotting import _pyplot

            n = len(names)
            ncol = min(3, n)
            nrow = math.ceil(n / ncol)
            fig, axes = _pyplot().subplots(nrow, ncol, figsize=(3.6 * ncol, 2.8 * nrow), squeeze=False)
        else:
            n = len(names)
            ncol = min(3, n)
            axes = np.array(fig.subplots(math.ceil(n / ncol), ncol, squeeze=False))
        axes = np.asarray(axes).ravel()
        lab = self.labels[self._kept]
        cmap = _cmap(self.k)
        for ax, name in zip(axes, names):
            j = self._display.index(name)
            data = [self._values[lab == c, j] for c in range(self.k)]
            bp = ax.boxplot(data, patch_artist=True, showfliers=True, flierprops={"markersize": 2})
            ax.set_xticks(range(1, self.k + 1), [str(c) for c in range(self.k)])
            for c, patch in enumerate(bp["boxes"]):
                patch.set_facecolor(cmap(c))
            if self.log and self.features[j] != name and np.all(self._values[:, j] >= 0):
                ax.set_yscale("symlog", linthresh=1.0)
                ax.set_ylim(bottom=0)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("cluster")
        for ax in axes[len(names):]:
            ax.set_visible(False)
        return axes[:len(names)]

    # -- output --
    def profile_markdown(self, digits: int = 3) -> str:
        """The profile as a Markdown table (sizes, shares, means, the
        distinguishing features; medians are in ``profile.csv``)."""
        p = self.profile
        cols = ["size", "share"] + [f"{n} mean" for n in self._display] + ["distinguishing"]
        head = ["cluster"] + cols
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---:"] * (len(head) - 1) + [":---"]) + "|"]
        for c, row in p[cols].iterrows():
            cells = [str(c), str(int(row["size"])), f"{row['share']:.1%}"]
            cells += [_num(row[f"{n} mean"], digits) for n in self._display]
            cells.append(str(row["distinguishing"]))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def save_report(self, directory, *, overwrite: bool = False) -> list:
        """Write ``profile.csv``, ``profile.md``, ``pca.png``, ``features.png``
        and, when k was chosen automatically, ``elbow.png`` into
        ``directory`` (created if needed), each atomically. Refuses, before
        writing anything, if one of them exists, unless ``overwrite``.
        Returns the paths written."""
        from ._fileutil import atomic_write_bytes

        d = Path(directory)
        if d.exists() and not d.is_dir():
            raise NotADirectoryError(f"{d} is a file; pass a folder for the report.")
        names = ["profile.csv", "profile.md", "pca.png", "features.png"]
        if self.sweep is not None:
            names.append("elbow.png")
        targets = [d / n for n in names]
        clash = [str(p) for p in targets if p.exists()]
        if clash and not overwrite:
            raise FileExistsError(f"{', '.join(clash)} exist(s); pass overwrite=True (--force) to replace.")
        blobs = {
            "profile.csv": self.profile.to_csv(lineterminator="\n").encode(),
            "profile.md": self.profile_markdown().encode(),
            "pca.png": _png(lambda fig: self.plot(ax=fig.add_subplot()), (6, 4.5)),
            "features.png": _png(lambda fig: self.plot_features(fig=fig),
                                 (3.6 * min(3, len(self._display)), 2.8 * math.ceil(len(self._display) / 3))),
        }
        if self.sweep is not None:
            from .plotting import plot_sweep

            blobs["elbow.png"] = _png(lambda fig: plot_sweep(self.sweep, ax=fig.add_subplot()), (5, 3.5))
        return [atomic_write_bytes(d / n, blobs[n]) for n in names]

    def save_model(self, path, *, overwrite: bool = False):
        """Save the model with its scaling, feature names and per-cluster
        spread on the training rows (for ``kmeanskit outliers``), with
        :func:`kmeanskit.io.save_model`."""
        from .anomaly import cluster_spread
        from .io import save_model

        spread = cluster_spread(self.model, self._Z)
        return save_model(self.model, path, scaling=self.scaling, feature_names=list(self.features),
                          cluster_spread=spread, overwrite=overwrite)

    def __repr__(self) -> str:
        return (f"Segmentation(k={self.k}, rows={self.labels.size}, columns={self.columns}, "
                f"sizes={self.sizes.tolist()})")


def _num(v, digits):
    if not np.isfinite(v):
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _cmap(k):
    import matplotlib

    return matplotlib.colormaps["tab10" if k <= 10 else "tab20"]


def _png(draw, size) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    draw(fig)
    fig.tight_layout()
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def feature_matrix(frame, features) -> np.ndarray:
    """Build a model's features from a table's columns, by name (the
    inverse of :func:`segment`'s naming): ``x`` is column ``x``,
    ``log1p(x)`` is ``log(1 + x)`` of column ``x``, ``c=level`` is 1 where
    column ``c`` equals ``level``. Returns float64 (n_rows, n_features);
    missing values stay NaN. Raises ValueError naming missing columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeanskit.segment import feature_matrix
    >>> df = pd.DataFrame({"a": [0.0, 9.0], "c": ["x", "y"]})
    >>> feature_matrix(df, ["a", "log1p(a)", "c=y"]).round(3).tolist()
    [[0.0, 0.0, 0.0], [9.0, 2.303, 1.0]]
    """
    cols = {str(c): c for c in frame.columns}
    out, missing = [], []
    for f in features:
        f = str(f)
        m = _LOG_RE.match(f)
        if f in cols:
            s = frame[cols[f]]
            if _kind(s) != "numeric":
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
        raise ValueError(f"the table lacks column(s) {_names(missing)} that the model was fitted on; "
                         f"it has {_names(cols)}.")
    return np.stack(out, axis=1) if out else np.empty((len(frame), 0))


def model_inputs(data, model):
    """The rows of a table as a saved model sees them: its features rebuilt
    by name (:func:`feature_matrix`), scaled with the model's ``scaling_``,
    as a DataFrame with the model's feature names (ready for ``predict`` or
    :func:`kmeanskit.anomaly.detect_outliers`). Raises ValueError naming
    missing columns or columns with missing values.

    Examples
    --------
    >>> import pandas as pd, kmeanskit, tempfile, pathlib
    >>> from kmeanskit.segment import model_inputs
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 10.0, 11.0]})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.kmk"
    >>> _ = kmeanskit.segment(df, k=2).save_model(p)
    >>> model = kmeanskit.load(p)
    >>> model_inputs(pd.DataFrame({"x": [6.0], "note": ["new"]}), model).round(3).values.tolist()
    [[0.0]]
    """
    pd = _pandas()
    frame, _ = _as_frame(data)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("the model has no feature names, so its columns cannot be found in the table; "
                         "save it from segment() / `kmeanskit cluster --model`, or with feature_names=.")
    names = [str(n) for n in names]
    F = feature_matrix(frame, names)
    bad = ~np.isfinite(F)
    if bad.any():
        cols = [f"{names[j]!r} ({int(bad[:, j].sum())})" for j in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(f"missing or non-finite values in column(s) {', '.join(cols)}; "
                         "drop or fill those rows first.")
    scaling = getattr(model, "scaling_", None)
    Z = F if scaling is None else scaling.transform(F)
    return pd.DataFrame(Z, columns=names, index=frame.index)


def segment(data, k=5, *, columns=None, standardize="zscore", log=False, categorical="refuse",
            dropna=False, impute=None, sample_weight=None, random_state=0, n_init="auto",
            k_range=range(2, 11)) -> Segmentation:
    """Cluster the rows of a table and describe the clusters.

    Parameters
    ----------
    data : DataFrame, array-like or path
        The table (a path is read with :func:`kmeanskit.io.read_frame`: CSV,
        TSV, Parquet, ``.npy``). Never modified.
    k : int or "auto"
        Number of clusters, or "auto": sweep ``k_range`` with
        :func:`kmeanskit.choose_k` and take its ``best_k`` (the sweep is kept
        in ``.sweep``).
    columns : sequence of str, optional
        Columns to use. Default: every numeric column (bools count as 0/1);
        the others are listed in ``.skipped``.
    standardize : {"zscore", "whiten", "none"}
        Column scaling before clustering (:class:`kmeanskit.scaling.Scaling`):
        zscore (mean 0, sd 1) by default, so a column in thousands does not
        swamp one in units.
    log : bool
        Replace each numeric column x by ``log(1 + x)`` before scaling (for
        skewed non-negative amounts such as spending or counts; negative
        values are refused). Profiles stay in the input units.
    categorical : {"refuse", "onehot"}
        Text or category columns named in ``columns`` are refused (with a
        message naming them) unless "onehot", which encodes each level as a
        0/1 feature ``column=level``. Without ``columns``, "onehot" encodes
        the text columns with at most 20 levels and skips the rest.
    dropna : bool
        Leave rows with missing values in the used columns out of the fit;
        they keep their place in the output with no cluster (label -1).
    impute : None or "mean"
        Fill missing values with the column mean (weighted when weighted).
    sample_weight : array-like of shape (n_rows,), optional
        Row weights for the scaling, the fit and the profile.
    random_state : int, Generator or None
        Seed (default 0, so runs are reproducible).
    n_init : int or "auto"
        Restarts of k-means (see :class:`kmeanskit.KMeans`).
    k_range : range or sequence of int
        Values of k tried when ``k="auto"``.

    Returns
    -------
    Segmentation

    Raises
    ------
    ValueError
        Unknown or non-numeric columns, categorical columns without
        "onehot", missing values without ``dropna``/``impute`` (columns and
        counts named), too few rows for k.
    ImportError
        pandas not installed (names the ``tables`` extra).

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeanskit import segment
    >>> df = pd.DataFrame({"name": list("abcdef"),
    ...                    "spend": [10.0, 12.0, 11.0, 90.0, 95.0, 92.0],
    ...                    "visits": [1, 2, 1, 9, 8, 9]})
    >>> seg = segment(df, k=2)
    >>> seg.columns, seg.skipped
    (['spend', 'visits'], ['name'])
    >>> seg.to_frame()["cluster"].tolist() in ([0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0])
    True
    >>> big = seg.profile.loc[seg.labels[3]]
    >>> int(big["size"]), round(float(big["spend mean"]), 2), float(big["spend median"])
    (3, 92.33, 92.0)
    >>> seg.profile.loc[seg.labels[3], "distinguishing"]
    'spend +1.0 sd, visits +1.0 sd'
    """
    from .estimator import KMeans
    from .scaling import Scaling

    if standardize not in STANDARDIZE_KINDS:
        raise ValueError(f"unknown standardize={standardize!r}; use one of {', '.join(STANDARDIZE_KINDS)}.")
    if categorical not in ("refuse", "onehot"):
        raise ValueError(f"unknown categorical={categorical!r}; use 'refuse' or 'onehot'.")
    if impute not in (None, "mean"):
        raise ValueError(f"unknown impute={impute!r}; use None or 'mean'.")
    if dropna and impute is not None:
        raise ValueError("pass either dropna=True or impute='mean', not both.")
    if not (k == "auto" or (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1)):
        raise ValueError(f"k must be a whole number >= 1 or 'auto'; got {k!r}.")

    df, _ = _as_frame(data)
    n = len(df)
    if n == 0:
        raise ValueError("the table has no rows; pass a table with data.")
    num, cat, skipped = _select(df, columns, categorical)
    used = [c for c in df.columns if c in num or c in cat] if columns is None else \
        [str(c) for c in ([columns] if isinstance(columns, str) else columns)]

    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"sample_weight must be {n} finite non-negative numbers, not all zero.")

    # features in input units (V) and before scaling (F), with NaN where missing
    blocks_v, blocks_f, feats, display = [], [], [], []
    for c in used:
        if c in num:
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
            B, names = _onehot(df, [c])
            blocks_v.append(B)
            blocks_f.append(B)
            feats += names
            display += names
    V = np.concatenate(blocks_v, axis=1)
    F = np.concatenate(blocks_f, axis=1)

    miss = np.isnan(V)
    imputed = {}
    kept = np.arange(n)
    if miss.any():
        counts = {}
        for c in used:
            cnt = int(df[c].isna().sum()) if c in cat else int(np.isnan(V[:, display.index(c)]).sum())
            if cnt:
                counts[c] = cnt
        if not dropna and impute is None:
            listed = ", ".join(f"{c!r} ({m})" for c, m in counts.items())
            raise ValueError(f"missing values in column(s) {listed}; pass dropna=True (--dropna) to leave "
                             "those rows out, or impute='mean' (--impute mean) to fill them with the column mean.")
        if dropna:
            kept = np.flatnonzero(~miss.any(axis=1))
            if kept.size == 0:
                raise ValueError("every row has a missing value in the used columns; nothing left to cluster.")
        else:
            V = V.copy()
            F = F.copy()
            for j in np.flatnonzero(miss.any(axis=0)):
                ok = ~miss[:, j]
                if not ok.any():
                    raise ValueError(f"column {display[j]!r} has no values to take a mean of.")
                wj = None if w is None else w[ok]
                if wj is not None and wj.sum() <= 0:
                    wj = None
                V[~ok, j] = np.average(V[ok, j], weights=wj)
                F[~ok, j] = np.average(F[ok, j], weights=wj)
            imputed = counts
    Vk, Fk = V[kept], F[kept]
    wk = None if w is None else w[kept]
    if wk is not None and wk.sum() <= 0:
        raise ValueError("the rows kept have zero total weight.")

    scaling = Scaling.fit(Fk, standardize, sample_weight=wk)
    Z = np.ascontiguousarray(scaling.transform(Fk))

    sweep = None
    if k == "auto":
        from .choose_k import choose_k

        ks = [int(x) for x in k_range if int(x) <= len(kept)]
        if not ks:
            raise ValueError(f"no k in k_range fits {len(kept)} rows; pass a smaller k_range.")
        sweep = choose_k(Z, ks, sample_weight=wk, random_state=random_state, keep_models=False)
        k = sweep.best_k
        if k is None:
            raise ValueError("choose_k gave no recommendation for this table; pass a number for k.")
    k = int(k)
    if k > len(kept):
        raise ValueError(f"k = {k} is more than the {len(kept)} rows to cluster; pass a smaller k.")
    model = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z, sample_weight=wk)
    labels = np.full(n, -1, dtype=np.int64)
    labels[kept] = model.labels_
    return Segmentation(labels=labels, k=k, model=model, scaling=scaling, columns=list(used),
                        features=feats, skipped=list(skipped), dropped=np.setdiff1d(np.arange(n), kept),
                        imputed=imputed, sweep=sweep, log=bool(log), _frame=df, _values=Vk, _F=Fk, _Z=Z,
                        _w=wk, _kept=kept, _display=display)


from ._modutil import make_callable  # noqa: E402

make_callable(__name__, segment)
