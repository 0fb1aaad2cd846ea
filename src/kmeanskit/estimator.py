"""A scikit-learn-compatible :class:`KMeans` estimator.

Swap ``from sklearn.cluster import KMeans`` for ``from kmeanskit import
KMeans``: the constructor, methods and fitted attributes are scikit-learn's,
and the estimator passes scikit-learn's own estimator checks. The clustering
itself is kmeanskit's: the numba engine (:mod:`._solver`) for the Euclidean
metric and :mod:`._metric` for the others. scikit-learn is used only for its
base classes and input conventions (``validate_data``, feature names,
``check_is_fitted``).

Besides the Euclidean k-means, ``metric=`` selects k-medians
("manhattan"), spherical k-means ("cosine") or the Chebyshev k-centre-sum
("chebyshev"); each uses its own centre update and objective, reported as
``inertia_`` (see :class:`KMeans`).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _metric, _solver, models
from ._chunked import as_dask_array, compute, is_dask
from ._init import INITS, FewDistinctPointsError, inverse_norms
from ._sparse import SPARSE_METRICS, SparseRows, count_distinct_upto, is_sparse
from ._sparse import check_metric as check_sparse_metric
from ._validation import (
    ARRAY_LIKE,
    CALLABLE,
    RANDOM_STATE,
    Interval,
    Names,
    Options,
    Rule,
    check_no_zero_rows,
    check_random_state,
    check_sample_weight,
    kernel_view,
    validate_params,
)
from .core import (
    as_rows,
    assign_arrays,
    assign_dask,
    check_dask_input,
    check_rows_nonzero,
    fit_arrays,
    model_record,
    resolve_n_init,
    transform_arrays,
    transform_dask,
)

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 - 1.5
    def _sk_validate_data(est, X, **kw):
        return est._validate_data(X, **kw)

__all__ = ["KMeans"]

#: scikit-learn's algorithm names are accepted for drop-in use; all engine
#: algorithms give the same result from the same start.
_ALGORITHM_NAMES = ("auto", "lloyd", "elkan")

#: Allowed parameter values, checked once at the start of ``fit``.
KMEANS_CONSTRAINTS = {
    "n_clusters": [Interval(int, 1, None)],
    "init": [Names(INITS, ("k-means||",)), ARRAY_LIKE, CALLABLE],
    "n_init": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "verbose": [Interval(int, 0, None), Options((True, False))],
    "random_state": [RANDOM_STATE],
    "copy_x": [Options((True, False))],
    "algorithm": [Names(_solver.ALGORITHMS, _ALGORITHM_NAMES)],
    # scipy's and scikit-learn's names too (_metric.METRIC_ALIASES)
    "metric": Rule((Names(_metric.METRIC_ALIASES),), lambda v: _metric.metric_error(v["metric"], "KMeans")),
    "n_threads": [Interval(int, 1, None), Options((None,))],
}



class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering, a drop-in for ``sklearn.cluster.KMeans``.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (and centres).
    init : {"k-means++", "random"}, array of shape (n_clusters, n_features) \
or callable, default="k-means++"
        Greedy k-means++ (2 + 2 ln k candidates per step, drawn with the
        metric's own distance), ``n_clusters`` random distinct rows, explicit
        centres, or ``init(X, n_clusters, random_state)`` returning centres.
    n_init : int or "auto", default="auto"
        Restarts; the lowest objective wins. "auto" is 1 for k-means++ and
        explicit centres, 10 for "random" and callables (as scikit-learn).
    max_iter : int, default=300
        Maximum iterations per run.
    tol : float, default=1e-4
        Stop when the sum of squared centre shifts is at most ``tol`` times
        the data's mean per-feature variance (for cosine: of the unit rows),
        or when no label changes.
    verbose : int, default=0
        1: print the objective at every iteration. 2: also show a progress
        bar (rich) over the restarts when there are several.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed; the same seed gives bit-identical results for any thread count.
    copy_x : bool, default=True
        Accepted for compatibility: kmeanskit never modifies ``X``.
    algorithm : {"auto", "lloyd", "elkan"}, default="auto"
        Euclidean iteration algorithm. All give the same result from the
        same start; names the engine does not implement run "auto".
        Other metrics always use their Lloyd-style loop.
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}, default="euclidean"
        Distance, with its own centre and objective:

        - "euclidean": squared L2 assignment, weighted mean, objective the
          sum of squared distances (classic k-means);
        - "manhattan" (k-medians): L1 assignment, weighted coordinate-wise
          median, objective the sum of L1 distances. Robust to outliers;
        - "cosine" (spherical k-means): ``1 - cos`` assignment, normalised
          weighted mean of the unit rows, objective the sum of ``1 - cos``.
          For text and embeddings, where direction matters, not length.
          Rows of zero norm are rejected;
        - "chebyshev": L-infinity assignment; the centre is the point
          minimising the sum of L-infinity distances to the members, found
          exactly by a linear program (HiGHS dual simplex, feasibility
          tolerance 1e-9). For worst-coordinate tolerances. Slower: one LP
          per cluster and iteration, with 2 x members x features rows.

        A new centre is kept only if it does not raise its cluster's
        objective, so the objective never increases between iterations.
        scipy's and scikit-learn's names are accepted too ("l2",
        "sqeuclidean", "cityblock", "l1", "linf", "infinity").
    n_threads : int, optional
        Threads for the kernels (default: all cores).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the data's dtype (float32 stays float32). Unit vectors
        for cosine.
    labels_ : ndarray of shape (n_samples,), int32
        Label of each training row; they match ``cluster_centers_``.
    inertia_ : float
        The metric's objective on the training data (weighted): sum of
        squared distances for euclidean (scikit-learn's inertia), sum of
        L1 / (1 - cos) / L-infinity distances for the others.
    n_iter_ : int
        Iterations of the best run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    kmeanskit.fit : the native function, returning a result object.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit import KMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> bool(km.predict([[0.0, 0.0]])[0] == km.labels_[0])
    True
    >>> float(km.inertia_)
    16.0

    An outlier takes a whole cluster from the Euclidean k-means; k-medians
    (``metric="manhattan"``) keeps the two groups:

    >>> Y = np.array([[0.0], [1.0], [2.0], [100.0], [10.0], [11.0], [12.0]])
    >>> init = np.array([[0.0], [10.0]])
    >>> sorted(KMeans(2, init=init).fit(Y).cluster_centers_.ravel().tolist())
    [6.0, 100.0]
    >>> sorted(KMeans(2, init=init, metric="manhattan").fit(Y).cluster_centers_.ravel().tolist())
    [1.0, 11.0]
    """

    #: Parameter constraints as data (checked once in ``fit``).
    _param_constraints = KMEANS_CONSTRAINTS

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="auto",
                 metric="euclidean", n_threads=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.metric = metric
        self.n_threads = n_threads

    # --- scikit-learn plumbing ---------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # scipy.sparse CSR/CSC (and other formats, converted once) for the metrics that take it
        # (an unknown metric is reported by fit, not by asking for the tags)
        tags.input_tags.sparse = _metric.METRIC_ALIASES.get(self.metric, self.metric) in SPARSE_METRICS
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _check_X(self, X, reset, metric=None):
        metric = metric or self._metric_name()
        if is_sparse(X):
            check_sparse_metric(metric)
        X = _sk_validate_data(self, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32],
                              order="C", reset=reset)
        if is_sparse(X):  # rows stay sparse (never densified), centres dense
            X = as_rows(X, metric)
        else:
            X = kernel_view(X)  # a read-only array: the kernels' usual types (kernel_view)
        if metric == "cosine":
            check_rows_nonzero(X, "X")
        return X

    def _metric_name(self):
        return getattr(self, "_fit_metric", self.metric)

    # --- fit -------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Data: a NumPy array, a list of rows, a pandas DataFrame, or a
            ``scipy.sparse`` matrix or array (euclidean and cosine; the rows
            stay sparse, docs/text.md). float32 stays float32, other numbers
            become float64. Not modified.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each row.

        Returns
        -------
        self : KMeans

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> km = KMeans(n_clusters=1).fit([[0.0, 1.0], [2.0, 3.0]])
        >>> km.cluster_centers_.tolist(), km.n_features_in_
        ([[1.0, 2.0]], 2)
        """
        params = self.get_params(deep=False)
        validate_params(params, self._param_constraints, "KMeans")
        metric = _metric.metric_name(self.metric)
        if is_dask(X):
            return self._fit_dask(X, sample_weight, metric)
        X = self._check_X(X, reset=True, metric=metric)
        n, d = X.shape
        k = int(self.n_clusters)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}; "
                             f"pass at most {n} clusters or more rows.")
        w = check_sample_weight(sample_weight, n, X.dtype)
        rng = check_random_state(self.random_state)
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = self._check_init_array(init, X, metric)
        self._n_init = resolve_n_init(init, self.n_init, "KMeans")

        run = self._run
        with warnings.catch_warnings():
            # fewer distinct points than clusters: reported once below, as scikit-learn does
            warnings.filterwarnings("ignore", message=r"n_clusters=.*distinct", category=RuntimeWarning)
            try:
                res = run(X, k, w, init, self._n_init, rng)
            except FewDistinctPointsError:
                res = self._fit_few_distinct(X, k, w, run, rng, metric)
        self._fit_metric = metric
        self.cluster_centers_ = res.centers
        self.labels_ = np.asarray(res.labels, dtype=np.int32)  # scikit-learn's dtype
        self.inertia_ = float(res.inertia)
        self.n_iter_ = int(res.n_iter)
        n_distinct = np.unique(self.labels_).size
        if n_distinct < k:
            warnings.warn(f"Number of distinct clusters ({n_distinct}) found smaller than "
                          f"n_clusters ({k}). Possibly due to duplicate points in X.",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _fit_dask(self, X, sample_weight, metric):
        """:meth:`fit` of a Dask array or DataFrame: the same fit path, Lloyd's
        iterations one task per chunk (docs/scale.md); ``labels_`` is a Dask
        array with X's row chunks."""
        columns = getattr(X, "columns", None)
        X, w, k, init = check_dask_input(X, sample_weight, self.n_clusters, self.init,
                                         self.algorithm, metric, "KMeans")
        self.n_features_in_ = X.shape[1]
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        rng = check_random_state(self.random_state)
        self._n_init = resolve_n_init(init, self.n_init, "KMeans")
        res = self._run(X, k, w, init, self._n_init, rng)
        self._fit_metric = metric
        self.cluster_centers_ = res.centers
        self.labels_ = res.labels.astype(np.int32)
        self.inertia_ = float(res.inertia)
        self.n_iter_ = int(res.n_iter)
        return self

    def _check_dask(self, X):
        X = as_dask_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but KMeans is expecting "
                             f"{self.n_features_in_} features as input.")
        return X

    def _check_init_array(self, init, X, metric):
        k, d = int(self.n_clusters), X.shape[1]
        C = np.asarray(init)
        if C.dtype.kind not in "fiub" or C.ndim != 2 or C.shape != (k, d):
            raise ValueError(f"init has shape {C.shape} (dtype {C.dtype}) but n_clusters={k} and X "
                             f"has {d} features; pass a numeric array of shape ({k}, {d}).")
        if not np.isfinite(C).all():
            raise ValueError("init contains NaN or infinity; pass finite centres.")
        C = np.ascontiguousarray(C, dtype=X.dtype)
        if metric == "cosine":
            check_no_zero_rows(C, "init")
        return C

    def _run(self, X, k, w, init, n_init, rng):
        """The shared fit (``core.fit_arrays``), with a rich progress bar over
        iterations and restarts when verbose >= 2."""
        algorithm = self.algorithm if self.algorithm in _solver.ALGORITHMS else "auto"
        kw = dict(init=init, n_init=n_init, max_iter=self.max_iter, tol=self.tol, rng=rng,
                  algorithm=algorithm, metric=_metric.metric_name(self.metric), n_threads=self.n_threads,
                  verbose=int(self.verbose), on_few="warn")
        if self.verbose < 2:
            return fit_arrays(X, k, w, **kw)
        from rich.progress import Progress

        with Progress(transient=False) as progress:
            task = progress.add_task("k-means", total=n_init * self.max_iter)

            def step(run, it):
                # each run advances to its share of the bar, iteration by iteration
                progress.update(task, completed=run * self.max_iter + it + 1,
                                description=f"k-means restarts: run {run + 1}/{n_init}, iteration {it + 1}")

            res = fit_arrays(X, k, w, callback=step, **kw)
            progress.update(task, completed=n_init * self.max_iter)
        return res

    def _fit_few_distinct(self, X, k, w, run, rng, metric):
        """Fewer distinct rows than clusters: cluster into as many clusters
        as there are distinct rows, and repeat centres to keep n_clusters
        of them (the extra ones own no rows, as in scikit-learn)."""
        if isinstance(X, SparseRows):
            m = min(k - 1, count_distinct_upto(X, k, w, unit=metric == "cosine"))
        else:
            rows = X if w is None else X[w > 0]
            if metric == "cosine":
                rows = rows * inverse_norms(rows)[:, None]
            m = min(k - 1, np.unique(rows, axis=0).shape[0])
        while True:
            init = self.init if isinstance(self.init, str) else "k-means++"
            n_init = self._n_init if isinstance(self.init, str) else 1
            try:
                res = run(X, m, w, init, n_init, rng)
                break
            except FewDistinctPointsError:
                if m <= 1:
                    raise
                m -= 1
        res.centers = np.ascontiguousarray(res.centers[np.arange(k) % m])
        return res

    # --- use the fitted model ----------------------------------------------------

    def _assign(self, X, sample_weight=None):
        """(labels, distance-like values, objective) under the fitted metric."""
        C = kernel_view(self.cluster_centers_.astype(X.dtype, copy=False))
        w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return assign_arrays(X, C, w, self.n_threads, dtype=np.int32, metric=self._metric_name())

    def predict(self, X):
        """Index of the nearest centre (under the fitted metric) of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> km = KMeans(2, init=[[0.0], [10.0]], metric="manhattan").fit([[0.0], [1.0], [10.0]])
        >>> km.predict([[2.0], [8.0]]).tolist()
        [0, 1]
        """
        check_is_fitted(self)
        if is_dask(X):
            return assign_dask(self._check_dask(X), self.cluster_centers_, None,
                               self._metric_name(), "KMeans.predict")[0]
        X = self._check_X(X, reset=False)
        return self._assign(X)[0]

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``. See :meth:`fit`.

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> KMeans(2, init=[[0.0], [10.0]]).fit_predict([[0.0], [1.0], [10.0]]).tolist()
        [0, 0, 1]
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Distances of every row to every centre under the fitted metric:
        Euclidean (not squared, as scikit-learn), L1, ``1 - cos`` or
        L-infinity. Returned in the data's dtype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> km = KMeans(2, init=[[0.0, 0.0], [3.0, 4.0]]).fit([[0.0, 0.0], [3.0, 4.0]])
        >>> km.transform([[0.0, 0.0]]).tolist()
        [[0.0, 5.0]]
        >>> km.set_params(metric="chebyshev").fit([[0.0, 0.0], [3.0, 4.0]]).transform([[0.0, 0.0]]).tolist()
        [[0.0, 4.0]]
        """
        check_is_fitted(self)
        if is_dask(X):
            return transform_dask(self._check_dask(X), self.cluster_centers_, self._metric_name())
        X = self._check_X(X, reset=False)
        return self._transform(X)

    def _transform(self, X):
        C = kernel_view(self.cluster_centers_.astype(X.dtype, copy=False))
        return transform_arrays(X, C, self._metric_name(), self.n_threads)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return :meth:`transform` of ``X``.

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> KMeans(1).fit_transform([[0.0], [2.0]]).tolist()
        [[1.0], [1.0]]
        """
        self.fit(X, sample_weight=sample_weight)
        if is_dask(X):
            return self.transform(X)
        return self._transform(self._check_X(X, reset=False))

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the fitted metric's objective on ``X`` (higher is
        better): ``-inertia`` for euclidean.

        Examples
        --------
        >>> from kmeanskit import KMeans
        >>> km = KMeans(1).fit([[0.0], [2.0]])
        >>> km.score([[0.0], [2.0]])
        -2.0
        """
        check_is_fitted(self)
        if is_dask(X):
            inertia = assign_dask(self._check_dask(X), self.cluster_centers_, sample_weight,
                                  self._metric_name(), "KMeans.score")[2]
            return -float(compute(inertia)[0])
        X = self._check_X(X, reset=False)
        return -float(self._assign(X, sample_weight)[2])

    # --- persistence -------------------------------------------------------------

    def save(self, path, *, scaling=None, cluster_spread=None, overwrite=False):
        """Save the fitted model to a ``.kmk`` file (no pickle); see
        :func:`kmeanskit.io.save_model`. Load it with :func:`kmeanskit.load`.

        Examples
        --------
        >>> import tempfile, pathlib, kmeanskit
        >>> km = kmeanskit.KMeans(1).fit([[0.0], [2.0]])
        >>> p = km.save(pathlib.Path(tempfile.mkdtemp()) / "m.kmk")
        >>> kmeanskit.load(p).cluster_centers_.tolist()
        [[1.0]]
        """
        record = model_record(self, scaling=scaling, cluster_spread=cluster_spread)
        return models.write(record, path, overwrite=overwrite)


# --- a fitted KMeans from a saved model ----------------------------------------------------------

def kmeans_from_record(record, scaling=None) -> KMeans:
    """A fitted :class:`KMeans` with a model record's centres, metric, names,
    spreads and fitting parameters (what :func:`kmeanskit.load` returns).

    Parameters
    ----------
    record : kmeanskit.models.ModelRecord
    scaling : kmeanskit.tables.Scaling, optional
        The record's scaling as a :class:`~kmeanskit.tables.Scaling` (the
        caller builds it: the estimator does not depend on the tables
        package); kept as ``scaling_``.

    Returns
    -------
    KMeans
        Fitted: ``predict``, ``transform`` and ``score`` work; ``labels_`` is
        not set. ``scaling_`` is a :class:`kmeanskit.scaling.Scaling` or None,
        ``cluster_spread_`` an array or None, ``inertia_`` NaN when unknown.

    Raises
    ------
    ValueError
        The record's parameters break :class:`KMeans`'s constraints.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.models import ModelRecord
    >>> from kmeanskit.estimator import kmeans_from_record
    >>> km = kmeans_from_record(ModelRecord(np.array([[0.0], [10.0]]), params={"max_iter": 50}))
    >>> km.predict([[3.0], [8.0]]).tolist(), km.max_iter
    ([0, 1], 50)
    """
    params = dict(record.params)
    validate_params(params, {p: KMEANS_CONSTRAINTS[p] for p in params}, "the saved params")
    centers = record.centers
    km = KMeans(n_clusters=int(centers.shape[0]), metric=record.metric)
    if params:
        km.set_params(**params)
    km._fit_metric = record.metric
    km.cluster_centers_ = centers
    km.n_features_in_ = int(centers.shape[1])
    if record.feature_names is not None:
        km.feature_names_in_ = np.asarray(list(record.feature_names), dtype=object)
    km.inertia_ = float("nan") if record.inertia is None else float(record.inertia)
    km.n_iter_ = 0 if record.n_iter is None else int(record.n_iter)
    km.scaling_ = scaling
    km.cluster_spread_ = record.cluster_spread
    return km
