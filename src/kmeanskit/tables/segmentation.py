"""Segmenting a table: pick the columns, scale them, cluster the rows and
describe each cluster in the table's own units.

:func:`segment` takes a pandas DataFrame, a NumPy array or a file (CSV, TSV,
Parquet, ``.npy``) and returns a :class:`Segmentation`: the label of every
row (input order kept, nothing dropped), the fitted model and its column
scaling (so new rows can be scored, see ``kmeanskit outliers``), and a
profile of each cluster: size, share, mean and median of every column in its
original units, and the columns that set it apart, measured in standard
deviations from the overall mean. The features are named after the columns
(see :mod:`kmeanskit.tables.features`).

Needs pandas (``pip install kmeanskit[tables]``), imported when first used.
"""

from __future__ import annotations

import io as _io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import Interval, Kind, Options, Rule, validate_params
from ..selection import choose_k
from .features import LOG_RE, as_frame, need_pandas, quoted, select_columns, table_features
from .scaling import SCALING_KINDS, Scaling

__all__ = ["segment", "Segmentation", "STANDARDIZE_KINDS"]

#: Column scalings :func:`segment` understands (see :class:`kmeanskit.tables.Scaling`).
STANDARDIZE_KINDS = SCALING_KINDS


def _wmean(A, w):
    if np.isnan(A).any():  # missing values kept in the fit (missing="ignore"): the observed ones
        wt = np.ones(A.shape[0]) if w is None else w
        ok = ~np.isnan(A)
        ws = (wt[:, None] * ok).sum(axis=0)
        with np.errstate(invalid="ignore"):
            return (wt[:, None] * np.where(ok, A, 0.0)).sum(axis=0) / ws
    return A.mean(axis=0) if w is None else np.average(A, axis=0, weights=w)


def _wmedian(A, w):
    """Column medians; weighted: the smallest value reaching half the weight
    (over the observed values)."""
    if np.isnan(A).any():
        out = np.full(A.shape[1], np.nan)
        for j in range(A.shape[1]):
            ok = ~np.isnan(A[:, j])
            if ok.any():
                out[j] = _wmedian(A[ok, j:j + 1], None if w is None else w[ok])[0]
        return out
    if w is None:
        return np.median(A, axis=0)
    out = np.empty(A.shape[1])
    for j in range(A.shape[1]):
        o = np.argsort(A[:, j], kind="stable")
        cum = np.cumsum(w[o])
        out[j] = A[o[np.searchsorted(cum, cum[-1] / 2)], j]
    return out


def _mode_share(values, w):
    """The most frequent observed value (weighted; ties: the first in sorted
    order) and its share of the rows (missing ones included)."""
    pd = need_pandas()
    wt = np.ones(len(values)) if w is None else w
    s = pd.Series(wt).groupby(pd.Series(values, dtype=object).to_numpy(), dropna=True, sort=True).sum()
    if s.empty:
        return None, 0.0
    return s.idxmax(), float(s.max() / wt.sum())


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
    model : kmeanskit.KMeans or kmeanskit.KPrototypes
        Fitted on the scaled features of the rows kept (a KPrototypes, with
        the categorical columns as categories, for
        ``categorical="kprototypes"`` or ``missing="ignore"``).
    scaling : kmeanskit.tables.Scaling
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

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeanskit import segment
    >>> df = pd.DataFrame({"spend": [10.0, 12.0, 11.0, 90.0, 95.0, 92.0],
    ...                    "visits": [1, 2, 1, 9, 8, 9]})
    >>> seg = segment(df, k=2)
    >>> seg
    Segmentation(k=2, rows=6, columns=['spend', 'visits'], sizes=[3, 3])
    >>> seg.centers[seg.labels[3]].round(2).tolist()
    [92.33, 8.67]
    >>> seg.dropped.size, seg.imputed
    (0, {})
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
    #: k-prototypes (categorical="kprototypes" or missing="ignore"): the kept rows'
    #: categorical columns (DataFrame) and each kept row's number of missing values
    _cat: object = field(default=None, repr=False)
    _n_missing: object = field(default=None, repr=False)

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
                if LOG_RE.match(f) and f not in self.columns:
                    C[:, j] = np.expm1(C[:, j])
        return C

    @property
    def sizes(self) -> np.ndarray:
        """Rows per cluster (rows left out are not counted)."""
        return np.bincount(self.labels[self._kept], minlength=self.k)

    def _compute_profile(self):
        pd = need_pandas()
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
            if self._cat is not None:  # each categorical column's mode and its share of the segment
                for col in self._cat.columns:
                    mode, share = _mode_share(self._cat[col].to_numpy()[m], wc)
                    row[f"{col} mode"] = mode
                    row[f"{col} share"] = share
            if self._n_missing is not None:
                row["missing values"] = int(self._n_missing[m].sum())
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
        pd = need_pandas()
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
        from ..plotting import _new_ax

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
            raise ValueError(f"unknown feature(s) {quoted(bad)}; choose among {quoted(self._display)}.")
        if fig is None:
            from ..plotting import _pyplot

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
        cats = [] if self._cat is None else list(self._cat.columns)
        extra = [f"{c} mode (share)" for c in cats] + (["missing values"] if self._n_missing is not None else [])
        cols = ["size", "share"] + [f"{n} mean" for n in self._display] + ["distinguishing"]
        head = ["cluster"] + cols[:-1] + extra + cols[-1:]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---:"] * (len(head) - 1) + [":---"]) + "|"]
        for c, row in p.iterrows():
            cells = [str(c), str(int(row["size"])), f"{row['share']:.1%}"]
            cells += [_num(row[f"{n} mean"], digits) for n in self._display]
            cells += [f"{row[f'{n} mode']} ({row[f'{n} share']:.0%})" for n in cats]
            if self._n_missing is not None:
                cells.append(str(int(row["missing values"])))
            cells.append(str(row["distinguishing"]))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def save_report(self, directory, *, overwrite: bool = False) -> list:
        """Write ``profile.csv``, ``profile.md``, ``pca.png``, ``features.png``
        and, when k was chosen automatically, ``elbow.png`` into
        ``directory`` (created if needed), each atomically. Refuses, before
        writing anything, if one of them exists, unless ``overwrite``.
        Returns the paths written."""
        from .._fileutil import atomic_write_bytes

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
            from ..plotting import plot_sweep

            blobs["elbow.png"] = _png(lambda fig: plot_sweep(self.sweep, ax=fig.add_subplot()), (5, 3.5))
        return [atomic_write_bytes(d / n, blobs[n]) for n in names]

    def to_html(self, path=None, *, source=None, title=None, overwrite: bool = False):
        """A single-file HTML report of the segmentation: the data, the
        choice of k, each segment's size, share and profile, a 2-D
        projection, per-column distributions and a sortable, filterable
        table of the rows (:func:`kmeanskit.report.segmentation_html`).

        Parameters
        ----------
        path : str or path, optional
            Where to write the page (atomically; an existing file only with
            ``overwrite``). None: return the HTML instead.
        source : str, optional
            The table's name (a file name) shown in the report.
        title : str, optional
            The page title.
        overwrite : bool
            Replace an existing ``path``.

        Returns
        -------
        Path or str
            The file written, or the HTML when ``path`` is None.

        Examples
        --------
        >>> import pandas as pd
        >>> from kmeanskit import segment
        >>> df = pd.DataFrame({"spend": [10.0, 12.0, 11.0, 90.0, 95.0, 92.0], "visits": [1, 2, 1, 9, 8, 9]})
        >>> page = segment(df, k=2).to_html(source="shop.csv")
        >>> page.startswith("<!DOCTYPE html>"), "Segments of shop.csv" in page
        (True, True)
        """
        from ..report import segmentation_html, write_html

        html = segmentation_html(self, source=source, title=title)
        return html if path is None else write_html(html, path, overwrite=overwrite)

    def save_model(self, path, *, overwrite: bool = False):
        """Save the model with its scaling, feature names and per-cluster
        spread on the training rows (for ``kmeanskit outliers``), in the
        ``.kmk`` file :func:`kmeanskit.io.save_model` writes."""
        # kmeanskit.io re-exports this package's readers, so the package
        # writes through the layers beneath io, as io.save_model does.
        from .. import models
        from ..anomaly import cluster_spread
        from ..core import model_record

        if hasattr(self.model, "to_record"):  # k-prototypes: categories, gamma and scaling in the file
            return models.write(self.model.to_record(scaling=self.scaling), path, overwrite=overwrite)
        spread = cluster_spread(self.model, self._Z)
        record = model_record(self.model, scaling=self.scaling, feature_names=list(self.features),
                              cluster_spread=spread)
        return models.write(record, path, overwrite=overwrite)

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


# --- segment(), step by step -----------------------------------------------------

#: The parameters :func:`segment` checks before reading the table, in this
#: order (``_validation.validate_params``; a tuple of names is a rule on
#: several), each with the message for a value it refuses.
SEGMENT_PARAMS = {
    "standardize": Rule((Options(STANDARDIZE_KINDS),),
                        f"unknown standardize={{standardize!r}}; use one of {', '.join(STANDARDIZE_KINDS)}."),
    "categorical": Rule((Options(("refuse", "onehot", "kprototypes")),),
                        "unknown categorical={categorical!r}; use 'refuse' or 'onehot'. Or 'kprototypes' to "
                        "cluster text columns as categories."),
    "missing": Rule((Options((None, "ignore")),), "unknown missing={missing!r}; use None or 'ignore'."),
    ("missing", "dropna", "impute"): Rule(
        (Kind(lambda v: v[0] is None or (not v[1] and v[2] is None), "alone"),),
        "pass one of missing='ignore', dropna=True or impute='mean'."),
    "impute": Rule((Options((None, "mean")),), "unknown impute={impute!r}; use None or 'mean'."),
    ("dropna", "impute"): Rule((Kind(lambda v: not (v[0] and v[1] is not None), "not both"),),
                               "pass either dropna=True or impute='mean', not both."),
    "k": Rule((Options(("auto",)), Interval(int, 1, None)),
              "k must be a whole number >= 1 or 'auto'; got {k!r}."),
}


def _check_params(params: dict) -> None:
    """Raise ValueError with the message of the first rule of
    :data:`SEGMENT_PARAMS` that ``params`` break."""
    validate_params(params, SEGMENT_PARAMS, "segment")


def _used_columns(df, columns, numeric, categorical) -> list:
    """The input columns used: as named in ``columns``, else the numeric and
    encoded ones in table order."""
    if columns is None:
        return [c for c in df.columns if c in numeric or c in categorical]
    return [str(c) for c in ([columns] if isinstance(columns, str) else columns)]


def _row_weights(sample_weight, n):
    """``sample_weight`` as float64 (None stays None); they must be ``n``
    finite non-negative numbers, not all zero."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"sample_weight must be {n} finite non-negative numbers, not all zero.")
    return w


def _missing_values(df, used, categorical, V, F, display, w, *, dropna, impute):
    """Apply the missing-value rule to the features ``V`` (input units) and
    ``F`` (before scaling): refuse them with a message naming the columns
    and counts, leave their rows out (``dropna``) or fill them with the
    column mean (``impute="mean"``, weighted when weighted).

    Returns ``(V, F, kept, imputed)``: the features (copies when filled),
    the positions of the rows kept and the number of values filled per
    column.
    """
    miss = np.isnan(V)
    kept = np.arange(len(df))
    if not miss.any():
        return V, F, kept, {}
    counts = {}
    for c in used:
        cnt = int(df[c].isna().sum()) if c in categorical else int(np.isnan(V[:, display.index(c)]).sum())
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
        return V, F, kept, {}
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
    return V, F, kept, counts


def _resolve_k(k, Z, w, k_range, random_state):
    """``(k, sweep)``: a number of clusters is checked against the rows of
    ``Z``; "auto" takes :func:`kmeanskit.choose_k`'s ``best_k`` over the
    values of ``k_range`` that fit, and returns its sweep."""
    n_rows = Z.shape[0]
    sweep = None
    if k == "auto":
        ks = [int(x) for x in k_range if int(x) <= n_rows]
        if not ks:
            raise ValueError(f"no k in k_range fits {n_rows} rows; pass a smaller k_range.")
        sweep = choose_k(Z, ks, sample_weight=w, random_state=random_state, keep_models=False)
        k = sweep.best_k
        if k is None:
            raise ValueError("choose_k gave no recommendation for this table; pass a number for k.")
    k = int(k)
    if k > n_rows:
        raise ValueError(f"k = {k} is more than the {n_rows} rows to cluster; pass a smaller k.")
    return k, sweep


def _fit(Z, k, w, *, n_init, random_state):
    """The fitted :class:`kmeanskit.KMeans` (scikit-learn is imported here,
    when a table is segmented, not with the package)."""
    from ..estimator import KMeans

    return KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z, sample_weight=w)


def _segment_kprototypes(df, k, used, num, cat, skipped, w, *, standardize, log, dropna, impute, missing,
                         random_state, n_init):
    """:func:`segment` with :class:`kmeanskit.KPrototypes`: the numeric (and
    one-hot) features scaled as usual, the columns in ``cat`` as
    categories, missing values per ``missing`` / ``dropna`` / ``impute``."""
    from ..kprototypes import KPrototypes

    if k == "auto":
        raise ValueError("k='auto' is for numeric features only; pass a number for k with categorical "
                         "columns or missing='ignore'.")
    n = len(df)
    feats_used = [c for c in used if c not in cat]
    if feats_used:
        V, F, feats, display = table_features(df, feats_used, num, log)
    else:
        V = F = np.empty((n, 0))
        feats, display = [], []
    C = df[cat].astype(object) if cat else None
    cat_miss = C.isna().to_numpy() if cat else np.zeros((n, 0), dtype=bool)
    n_missing = np.isnan(V).sum(axis=1) + cat_miss.sum(axis=1)
    kept = np.arange(n)
    imputed = {}
    if n_missing.any():
        counts = {c: int(np.isnan(V[:, display.index(c)]).sum()) if c in display else int(df[c].isna().sum())
                  for c in used}
        counts = {c: m for c, m in counts.items() if m}
        if missing is None and not dropna and impute is None:
            listed = ", ".join(f"{c!r} ({m})" for c, m in counts.items())
            raise ValueError(f"missing values in column(s) {listed}; pass missing='ignore' (--missing ignore) "
                             "to cluster rows on their observed values, dropna=True (--missing drop) to "
                             "leave those rows out, or impute='mean' (--missing mean) to fill them.")
        if dropna:
            kept = np.flatnonzero(n_missing == 0)
            if kept.size == 0:
                raise ValueError("every row has a missing value in the used columns; nothing left to cluster.")
        elif impute == "mean":
            imputed = counts
    Vk, Fk = V[kept], F[kept]
    wk = None if w is None else w[kept]
    scaling = Scaling.fit(Fk, standardize, sample_weight=wk)
    Z = np.ascontiguousarray(scaling.transform(Fk)) if Fk.shape[1] else Fk
    pd = need_pandas()
    table = pd.DataFrame({f: Z[:, j] for j, f in enumerate(feats)})  # named: the model keeps the names
    for c in cat:
        table[c] = C[c].to_numpy()[kept]
    if k > kept.size:
        raise ValueError(f"k = {k} is more than the {kept.size} rows to cluster; pass a smaller k.")
    model = KPrototypes(int(k), categorical=list(cat),
                        missing="ignore" if missing == "ignore" else ("mean" if impute == "mean" else "raise"),
                        # "auto": Cao's deterministic seeding with categories (one run), else 10
                        # k-means++ starts (on the penguins' measurements one start ended at a cost
                        # of 486, the best of ten at 379: docs/tables.md)
                        n_init=(1 if cat else 10) if n_init == "auto" else int(n_init),
                        random_state=random_state)
    model.fit(table, sample_weight=wk)
    if impute == "mean":  # the profile describes the values the model saw
        Vk, Fk = _fill_means(Vk, wk), _fill_means(Fk, wk)
        Z = np.ascontiguousarray(scaling.transform(Fk)) if Fk.shape[1] else Fk
    labels = np.full(n, -1, dtype=np.int64)
    labels[kept] = model.labels_
    # for the 2-D projection: a missing scaled value drawn at its segment's centre
    Zp = np.where(np.isnan(Z), model.cluster_centers_[model.labels_], Z) if Z.shape[1] else Z
    return Segmentation(labels=labels, k=int(k), model=model, scaling=scaling, columns=list(used),
                        features=feats, skipped=list(skipped), dropped=np.setdiff1d(np.arange(n), kept),
                        imputed=imputed, sweep=None, log=bool(log), _frame=df, _values=Vk, _F=Fk, _Z=Zp,
                        _w=wk, _kept=kept, _display=display,
                        _cat=None if C is None else C.iloc[kept].reset_index(drop=True),
                        _n_missing=n_missing[kept])


def _fill_means(A, w):
    """``A`` with each missing value replaced by its column's (weighted) mean."""
    if not np.isnan(A).any():
        return A
    return np.where(np.isnan(A), _wmean(A, w), A)


def _other_frame_to_pandas(data):
    """A polars (or pyarrow) table as a pandas DataFrame with its column
    names and dtypes (``to_pandas``, through Arrow); anything else as is.
    Without this, ``np.asarray`` would turn it into an unnamed array."""
    mod = type(data).__module__.split(".")[0]
    if mod in ("polars", "pyarrow") and hasattr(data, "to_pandas") and hasattr(data, "columns"):
        return data.to_pandas()
    return data


def segment(data, k=5, *, columns=None, standardize="zscore", log=False, categorical="refuse",
            dropna=False, impute=None, sample_weight=None, random_state=0, n_init="auto",
            k_range=range(2, 11), missing=None) -> Segmentation:
    """Cluster the rows of a table and describe the clusters.

    Parameters
    ----------
    data : DataFrame, array-like or path
        The table: a pandas or polars DataFrame (polars through Arrow: needs
        pyarrow, the ``tables`` extra), an array, or a path read with
        :func:`kmeanskit.tables.read_frame` (CSV, TSV, Parquet, ``.npy``).
        Never modified.
    k : int or "auto"
        Number of clusters, or "auto": sweep ``k_range`` with
        :func:`kmeanskit.choose_k` and take its ``best_k`` (the sweep is kept
        in ``.sweep``).
    columns : sequence of str, optional
        Columns to use. Default: every numeric column (bools count as 0/1);
        the others are listed in ``.skipped``.
    standardize : {"zscore", "whiten", "none"}
        Column scaling before clustering (:class:`kmeanskit.tables.Scaling`):
        zscore (mean 0, sd 1) by default, so a column in thousands does not
        swamp one in units.
    log : bool
        Replace each numeric column x by ``log(1 + x)`` before scaling (for
        skewed non-negative amounts such as spending or counts; negative
        values are refused). Profiles stay in the input units.
    categorical : {"refuse", "onehot", "kprototypes"}
        Text or category columns named in ``columns`` are refused (with a
        message naming them) unless "onehot", which encodes each level as a
        0/1 feature ``column=level``, or "kprototypes", which clusters them
        as categories (:class:`kmeanskit.KPrototypes`: a differing category
        costs ``gamma``, half the mean standard deviation of the scaled
        numeric columns, i.e. 0.5 with "zscore"; the profile gives each
        segment's mode and its share). Without ``columns``, both take the
        text columns with at most 20 levels and skip the rest.
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
    missing : None or "ignore"
        "ignore": cluster rows with missing values on their observed values
        (:class:`kmeanskit.KPrototypes` with ``missing="ignore"``); every
        row gets a segment and the profile counts each segment's missing
        values. Not with ``dropna`` or ``impute``.

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
    _check_params(dict(standardize=standardize, categorical=categorical, impute=impute, dropna=dropna, k=k,
                       missing=missing))
    df, _ = as_frame(_other_frame_to_pandas(data))
    n = len(df)
    if n == 0:
        raise ValueError("the table has no rows; pass a table with data.")
    num, cat, skipped = select_columns(df, columns, categorical)
    used = _used_columns(df, columns, num, cat)
    w = _row_weights(sample_weight, n)
    if missing == "ignore" or (categorical == "kprototypes" and cat):
        return _segment_kprototypes(df, k, used, num, cat if categorical == "kprototypes" else [],
                                    skipped, w, standardize=standardize, log=log, dropna=dropna,
                                    impute=impute, missing=missing, random_state=random_state,
                                    n_init=n_init)
    V, F, feats, display = table_features(df, used, num, log)
    V, F, kept, imputed = _missing_values(df, used, cat, V, F, display, w, dropna=dropna, impute=impute)
    Vk, Fk = V[kept], F[kept]
    wk = None if w is None else w[kept]
    if wk is not None and wk.sum() <= 0:
        raise ValueError("the rows kept have zero total weight.")
    scaling = Scaling.fit(Fk, standardize, sample_weight=wk)
    Z = np.ascontiguousarray(scaling.transform(Fk))
    k, sweep = _resolve_k(k, Z, wk, k_range, random_state)
    model = _fit(Z, k, wk, n_init=n_init, random_state=random_state)
    labels = np.full(n, -1, dtype=np.int64)
    labels[kept] = model.labels_
    return Segmentation(labels=labels, k=k, model=model, scaling=scaling, columns=list(used),
                        features=feats, skipped=list(skipped), dropped=np.setdiff1d(np.arange(n), kept),
                        imputed=imputed, sweep=sweep, log=bool(log), _frame=df, _values=Vk, _F=Fk, _Z=Z,
                        _w=wk, _kept=kept, _display=display)
