"""k-prototypes for tables of numbers and categories, with missing values.

:class:`KPrototypes` clusters rows that mix numeric and categorical columns
(Huang 1998): numeric columns by squared Euclidean distance, categorical
columns by simple matching (the number of columns whose category differs),
weighted by ``gamma``. Centres hold means for the numeric and modes for the
categorical columns. With only categorical columns it is k-modes; with only
numeric columns it is k-means. ``missing="ignore"`` clusters incomplete rows
on their observed entries (see :mod:`._mixed`). The fit runs in the solver
loop of every other kmeanskit fit, with numba kernels that give the same
result for any number of threads.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _mixed, models
from ._validation import (
    ARRAY_LIKE,
    RANDOM_STATE,
    Interval,
    Options,
    check_n_clusters,
    check_random_state,
    check_sample_weight,
    validate_params,
)

__all__ = ["KPrototypes"]

#: What ``missing=`` accepts.
MISSING = ("raise", "ignore", "mean")

KPROTOTYPES_CONSTRAINTS = {
    "n_clusters": [Interval(int, 1, None)],
    "gamma": [Interval(float, 0, None, closed_low=False), Options((None,))],
    "init": [Options(_mixed.INITS), ARRAY_LIKE],
    "n_init": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "missing": [Options(MISSING)],
    "random_state": [RANDOM_STATE],
    "n_threads": [Interval(int, 1, None), Options((None,))],
    "verbose": [Interval(int, 0, None), Options((True, False))],
}


class KPrototypes(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-prototypes clustering of mixed numeric / categorical tables.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    categorical : list of int or str, optional
        The categorical columns, by index or (for a DataFrame) name. None
        (default): the columns whose values are not numbers (text,
        categories, booleans). ``fit(X, categorical=...)`` overrides it.
    gamma : float, optional
        Weight of one categorical mismatch against squared numeric
        differences. None (default): half the mean standard deviation of
        the numeric columns (Huang 1998 suggests 1/3 to 2/3 of it; scale
        the numeric columns first so that they count alike), 1.0 without
        numeric columns.
    init : {"auto", "cao", "k-means++", "random"} or array of shape (k, n_features), default="auto"
        Seeding: Cao et al. (2009)'s density seeding (deterministic; the
        lower cost in ``make bench --only mixed``), greedy k-means++ under
        the mixed distance, distinct random rows, or centres (one row per
        centre, values in the table's column order). "auto": "cao" when
        there are categorical columns, "k-means++" otherwise.
    n_init : int, default=1
        Runs from different seeds; the lowest cost wins. Cao's seeding is
        deterministic, so with it (``"auto"`` with categorical columns) one
        run is made whatever ``n_init`` says.
    max_iter : int, default=100
        Most iterations per run.
    tol : float, default=0.0
        Stop when the squared centre shift is at most ``tol`` times the
        numeric columns' mean variance (and always when no label changes).
    missing : {"raise", "ignore", "mean"}, default="raise"
        Missing values (NaN, None, pandas NA): "raise" refuses them,
        "ignore" clusters every row on its observed entries only (distances
        and centres over the observed values; the objective is the cost
        over observed entries), "mean" fills numeric gaps with the column
        mean and categorical gaps with the column mode before the fit.
    random_state : int, Generator or None
        Seed; the same seed gives the same result for any thread count.
    n_threads : int, optional
        Threads for the kernels.
    verbose : int, default=0
        Print the cost at each iteration.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_numeric)
        The numeric columns' means.
    cluster_modes_ : ndarray of shape (n_clusters, n_categorical), object
        The categorical columns' modes (category values).
    cluster_centroids_ : ndarray of shape (n_clusters, n_features), object
        Both, in the table's column order.
    labels_ : ndarray of shape (n_samples,)
    cost_ : float
        Weighted sum of every row's distance to its centre (over the
        observed entries).
    n_iter_ : int
    gamma_ : float
        The gamma used.
    categorical_, numeric_ : ndarray of int
        Column indices of each kind.
    categories_ : list of ndarray
        The categories of each categorical column (sorted).
    cluster_spread_ : ndarray of shape (n_clusters,)
        Per cluster, the median outlier score of its training rows
        (:func:`kmeanskit.anomaly.outlier_scores`: the rescaled root of the
        distance to the centre); 0 for a cluster without a scored row.
        ``outlier_scores(..., normalize=True)`` divides by it (zeros are
        filled as :func:`kmeanskit.anomaly.cluster_spread` fills them), and
        it is saved with the model.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit import KPrototypes
    >>> X = np.array([[1.0, "a"], [1.2, "a"], [8.0, "b"], [8.4, "b"]], dtype=object)
    >>> km = KPrototypes(2, random_state=0).fit(X)
    >>> sorted(km.cluster_centroids_.tolist())
    [[1.1, 'a'], [8.2, 'b']]
    """

    def __init__(self, n_clusters=8, *, categorical=None, gamma=None, init=_mixed.DEFAULT_INIT,
                 n_init=1, max_iter=100, tol=0.0, missing="raise", random_state=None,
                 n_threads=None, verbose=0):
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.gamma = gamma
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.missing = missing
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    # --- fitting --------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None, categorical=None):
        """Fit to the table ``X`` (DataFrame, 2-D array or list of rows).

        Parameters
        ----------
        X : table of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
        categorical : list of int or str, optional
            Overrides the ``categorical`` parameter.

        Returns
        -------
        self
        """
        validate_params({p: getattr(self, p) for p in KPROTOTYPES_CONSTRAINTS},
                        KPROTOTYPES_CONSTRAINTS, "KPrototypes")
        cat = self.categorical if categorical is None else categorical
        codes = _mixed.TableCodes()
        data = codes.fit_encode(X, cat)
        n = data.n
        k = check_n_clusters(self.n_clusters, n)
        w = check_sample_weight(sample_weight, n, np.float64)
        data = self._handle_missing(data, codes, w)
        self._codes = codes
        self.gamma_ = float(self.gamma) if self.gamma is not None else _mixed.default_gamma(data, w)
        init = self.init
        if not isinstance(init, str):
            init = self._centres_from(init, codes, k)
        res = _mixed.fit_mixed(data, k, w, gamma=self.gamma_, init=init, n_init=self.n_init,
                               max_iter=self.max_iter, tol=self.tol,
                               rng=check_random_state(self.random_state),
                               n_threads=self.n_threads, verbose=self.verbose)
        self._C = res.centers
        self.labels_ = res.labels.astype(np.int32)
        self.cost_ = float(res.inertia)
        self.n_iter_ = int(res.n_iter)
        self.categorical_ = codes.categorical
        self.numeric_ = codes.numeric
        self.categories_ = codes.categories
        self.n_features_in_ = codes.n_features
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(codes.names, dtype=object)
        self.cluster_centers_, self.cluster_modes_ = codes.decode(res.centers)
        full = np.empty((k, codes.n_features), dtype=object)
        full[:, codes.numeric] = self.cluster_centers_
        full[:, codes.categorical] = self.cluster_modes_
        self.cluster_centroids_ = full
        labels, scores, _ = _mixed.outlier_distances(data, self._C, self.gamma_, n_threads=self.n_threads)
        self.cluster_spread_ = _median_per_cluster(labels, scores, k)
        return self

    def _handle_missing(self, data, codes, w):
        has = bool(np.isnan(data.num).any() or (data.cat < 0).any())
        if not has or self.missing == "ignore":
            return data
        if self.missing == "raise":
            raise ValueError("X has missing values (NaN, None or NA); pass missing='ignore' to "
                             "cluster rows on their observed values, or missing='mean' to fill "
                             "them with column means and modes.")
        fill = data.fill_values(w)
        self._fill = fill
        return _fill(data, fill)

    def _centres_from(self, init, codes, k):
        A = np.asarray(init, dtype=object)
        if A.shape != (k, codes.n_features):
            raise ValueError(f"init has shape {A.shape} but n_clusters={k} and X has "
                             f"{codes.n_features} columns; pass an array of shape "
                             f"({k}, {codes.n_features}).")
        num = A[:, codes.numeric].astype(np.float64)
        return np.concatenate([num, codes.encode_modes(A[:, codes.categorical])], axis=1)

    def fit_predict(self, X, y=None, sample_weight=None, categorical=None):
        """Fit and return the labels.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight, categorical=categorical).labels_

    # --- using the model ------------------------------------------------------------

    def _data(self, X, unseen=-1):
        """``X`` encoded for the kernels; a category not seen in fit gets
        the code ``unseen`` (-1: counted as missing)."""
        check_is_fitted(self, "cluster_centroids_")
        if hasattr(X, "columns") and hasattr(self, "feature_names_in_"):
            missing = [c for c in self.feature_names_in_ if c not in set(map(str, X.columns))]
            if missing:
                raise ValueError(f"X has no column(s) {missing}; the model was fitted on "
                                 f"{list(self.feature_names_in_)}.")
            X = X.rename(columns=str)[list(self.feature_names_in_)]  # columns found by name
        data = self._codes.encode(X, unseen=unseen)
        if self.missing == "raise":
            if unseen == -1:  # predict, transform, score
                if np.isnan(data.num).any() or (data.cat < 0).any():
                    raise ValueError("X has missing values or categories not seen in fit; pass "
                                     "missing='ignore' (or 'mean') when fitting to accept them.")
            elif gaps := int(np.isnan(data.num).sum() + (data.cat == -1).sum()):  # outlier scores
                raise ValueError(f"X has {gaps} missing value(s) (NaN, None or NA) but the model was "
                                 "fitted with missing='raise'; fill or drop those rows, or fit with "
                                 "missing='ignore' to score incomplete rows on their observed values.")
        if self.missing == "mean" and hasattr(self, "_fill"):
            data = _fill(data, self._fill)
        return data

    def _outlier_scores(self, X):
        """(labels, outlier scores) of the rows of ``X``, for
        :func:`kmeanskit.anomaly.outlier_scores`: see
        :func:`kmeanskit._mixed.outlier_distances`. Missing values are
        handled as ``predict`` handles them (``missing``); a category not
        seen in fit is a present value that matches no centre."""
        data = self._data(X, unseen=_mixed.UNSEEN)
        labels, scores, _ = _mixed.outlier_distances(data, self._C, self.gamma_, n_threads=self.n_threads)
        return labels, scores

    def predict(self, X):
        """Nearest centre of each row (missing entries: as in ``fit``).

        Returns
        -------
        labels : ndarray of shape (n_samples,) int32
        """
        labels, _, _ = _mixed.assign_mixed(self._data(X), self._C, self.gamma_,
                                           n_threads=self.n_threads)
        return labels

    def transform(self, X):
        """Distances of each row to every centre (over observed entries).

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        return _mixed.pairwise(self._data(X), self._C, self.gamma_, n_threads=self.n_threads)

    def score(self, X, y=None, sample_weight=None):
        """Minus the cost of ``X`` under the fitted centres.

        Returns
        -------
        float
        """
        data = self._data(X)
        w = check_sample_weight(sample_weight, data.n, np.float64)
        _, _, cost = _mixed.assign_mixed(data, self._C, self.gamma_, w, n_threads=self.n_threads)
        return -cost

    # --- saving -----------------------------------------------------------------------

    def to_record(self, *, scaling=None) -> models.ModelRecord:
        """The model as a ``.kmk`` record (:mod:`kmeanskit.models`): centres
        (numeric means, then category codes), feature names (numeric columns
        first), the categories, gamma and ``missing``, the per-cluster
        spreads ``cluster_spread_`` (when the model has them); ``scaling`` (a
        :class:`kmeanskit.tables.Scaling` of the numeric columns) if given.

        Returns
        -------
        kmeanskit.models.ModelRecord
        """
        check_is_fitted(self, "cluster_centroids_")
        c = self._codes
        names = [c.names[f] for f in c.numeric] + [c.names[f] for f in c.categorical]
        cat = models.CategoricalRecord(tuple(c.names[f] for f in c.categorical),
                                       tuple(tuple(v) for v in c.categories), self.gamma_, self.missing)
        return models.ModelRecord(
            centers=np.asarray(self._C, dtype=np.float64), metric=models.KPROTOTYPES,
            feature_names=tuple(names), scaling=scaling, inertia=self.cost_, n_iter=self.n_iter_,
            cluster_spread=getattr(self, "cluster_spread_", None),
            created_by=type(self).__name__,
            params={p: getattr(self, p) for p in ("init", "n_init", "max_iter", "tol", "random_state")},
            categorical=cat)

    def save(self, path, *, scaling=None, overwrite: bool = False):
        """Write the model to a ``.kmk`` file (see :meth:`to_record`).

        Parameters
        ----------
        path : str or path
        scaling : Scaling, optional
            The numeric columns' scaling, stored with the model.
        overwrite : bool, default=False

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> from kmeanskit import KPrototypes
        >>> X = np.array([[1.0, "a"], [1.2, "a"], [8.0, "b"], [8.4, "b"]], dtype=object)
        >>> km = KPrototypes(2, random_state=0).fit(X)
        >>> p = km.save(pathlib.Path(tempfile.mkdtemp()) / "m.kmk")
        >>> back = KPrototypes.load(p)
        >>> (back.predict(X) == km.labels_).all()
        np.True_
        """
        return models.write(self.to_record(scaling=scaling), path, overwrite=overwrite)

    @classmethod
    def from_record(cls, record) -> "KPrototypes":
        """A fitted :class:`KPrototypes` from a record of metric
        "kprototypes" (as :func:`kmeanskit.models.read` gives). Its columns
        are the record's feature names, numeric first; a DataFrame passed to
        ``predict`` has its columns found by name.

        Returns
        -------
        KPrototypes
        """
        cat = record.categorical
        if record.metric != models.KPROTOTYPES or cat is None:
            raise ValueError(f"this model has metric {record.metric!r}; load it with kmeanskit.load.")
        C = np.asarray(record.centers, dtype=np.float64)
        k, d = C.shape
        dc = len(cat.columns)
        names = list(record.feature_names) if record.feature_names else (
            [f"x{f}" for f in range(d - dc)] + list(cat.columns))
        km = cls(k, categorical=list(range(d - dc, d)), gamma=cat.gamma, missing=cat.missing)
        codes = _mixed.TableCodes()
        codes.n_features = d
        codes.names = names
        codes.numeric = np.arange(d - dc, dtype=np.int64)
        codes.categorical = np.arange(d - dc, d, dtype=np.int64)
        codes.categories = [np.asarray(list(c), dtype=object) for c in cat.categories]
        km._codes = codes
        km._C = C
        km.gamma_ = float(cat.gamma)
        km.cost_ = record.inertia
        km.n_iter_ = record.n_iter
        km.categorical_, km.numeric_, km.categories_ = codes.categorical, codes.numeric, codes.categories
        km.n_features_in_ = d
        km.feature_names_in_ = np.asarray(names, dtype=object)
        km.cluster_centers_, km.cluster_modes_ = codes.decode(C)
        full = np.empty((k, d), dtype=object)
        full[:, :d - dc] = km.cluster_centers_
        full[:, d - dc:] = km.cluster_modes_
        km.cluster_centroids_ = full
        km.scaling_ = record.scaling
        if record.cluster_spread is not None:  # files written before the spreads have none
            km.cluster_spread_ = np.asarray(record.cluster_spread, dtype=np.float64)
        return km

    @classmethod
    def load(cls, path) -> "KPrototypes":
        """Read a model written by :meth:`save`.

        Returns
        -------
        KPrototypes
        """
        return cls.from_record(models.read(path))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing != "raise"
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def _fill(data, fill):
    """Missing values (NaN, code -1) filled; an unseen category (code
    ``_mixed.UNSEEN``) is a value and stays."""
    num = data.num.copy()
    cat = data.cat.copy()
    dn = data.dn
    for f in range(dn):
        num[np.isnan(num[:, f]), f] = fill[f]
    for f in range(data.dc):
        cat[cat[:, f] == -1, f] = int(fill[dn + f])
    return _mixed.MixedData(num, cat, data.n_levels)


def _median_per_cluster(labels, scores, k) -> np.ndarray:
    """Per cluster, the median of its rows' finite scores (0 without one)."""
    out = np.zeros(k)
    ok = np.isfinite(scores)
    labels, scores = labels[ok], scores[ok]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for j in range(k):
        members = scores[order[bounds[j]:bounds[j + 1]]]
        if members.size:
            out[j] = float(np.median(members))
    return out
