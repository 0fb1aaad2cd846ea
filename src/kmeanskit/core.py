"""The native API: :func:`fit` returns a :class:`KMeansResult`; :func:`assign`
labels rows with given centres.

Unlike the scipy shim, names here are unambiguous: ``n_init`` is the number
of restarts, ``max_iter`` the iterations per run, and ``inertia`` the
(weighted) sum of squared Euclidean distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _solver, models
from ._init import INITS
from ._kernels import metric as MK
from ._kernels.lloyd import STAT_INERTIA
from ._metric import METRICS, assign_metric, distances, make_step
from ._validation import (
    ARRAY_LIKE,
    CALLABLE,
    RANDOM_STATE,
    Interval,
    Names,
    Options,
    as_float_array,
    check_n_clusters,
    check_no_zero_rows,
    check_random_state,
    check_sample_weight,
    validate_params,
)

__all__ = ["KMeansResult", "fit", "assign", "fitted", "Fitted", "model_record"]

#: Allowed values of fit's parameters, checked once on entry.
FIT_CONSTRAINTS = {
    "init": [Names(INITS), ARRAY_LIKE, CALLABLE],
    "n_init": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "random_state": [RANDOM_STATE],
    "algorithm": [Names(_solver.ALGORITHMS, ("auto",))],
    "n_threads": [Interval(int, 1, None), Options((None,))],
    "verbose": [Interval(int, 0, None)],
    "metric": [Options(METRICS)],
}


@dataclass(frozen=True)
class KMeansResult:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    centers : ndarray of shape (k, n_features)
        Cluster centres, in the input's dtype (float32 stays float32).
    labels : ndarray of shape (n_samples,), int8, int16 or int32
        Index of each row's centre; they match ``centers`` exactly. The
        dtype is the smallest signed integer type that holds ``k - 1``, as
        pandas' categorical codes: int8 up to 128 clusters (one byte a row:
        2,000,000 int32 labels would take a third of the memory of 2,000,000
        float32 pixels), int16 up to 32,768, int32 beyond. Indexing,
        comparisons and ``np.bincount`` work as with int32; cast with
        ``labels.astype(np.intp)`` before arithmetic that could leave the
        type's range (``labels * 1000``). :class:`kmeanskit.KMeans` and the
        scipy functions return int32, as scikit-learn and scipy do.
    inertia : float
        Weighted sum of squared distances of rows to their centres,
        accumulated in float64.
    n_iter : int
        Lloyd iterations of the best run.
    converged : bool
        Whether the best run met the tolerance before ``max_iter``.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 10.0]])
    >>> r = kmeanskit.fit(X, 2, random_state=0)
    >>> r.n_clusters, float(r.inertia)
    (2, 1.0)
    >>> bool(r.labels[0] == r.labels[1]) and bool(r.labels[0] != r.labels[2])
    True
    >>> r.labels.dtype
    dtype('int8')
    """

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    n_init: int = field(default=1)
    metric: str = field(default="euclidean")

    @property
    def n_clusters(self) -> int:
        """Number of clusters (rows of ``centers``)."""
        return self.centers.shape[0]

    def predict(self, X, *, n_threads=None) -> np.ndarray:
        """Label new rows with the nearest of these centres.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> r = kmeanskit.fit(np.array([[0.0], [0.1], [10.0], [10.1]]), 2, random_state=0)
        >>> r.predict([[9.0], [0.5]]).tolist() == [r.labels[2], r.labels[0]]
        True
        """
        return assign(X, self.centers, n_threads=n_threads, metric=self.metric)[0]

    def save(self, path, *, scaling=None, feature_names=None, cluster_spread=None,
             overwrite=False):
        """Save these centres to a ``.kmk`` file (no pickle); see
        :func:`kmeanskit.io.save_model`. :func:`kmeanskit.load` gives back a
        fitted :class:`kmeanskit.KMeans`.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np, kmeanskit
        >>> r = kmeanskit.fit(np.array([[0.0], [2.0]]), 1)
        >>> p = r.save(pathlib.Path(tempfile.mkdtemp()) / "m.kmk")
        >>> kmeanskit.load(p).predict([[5.0]]).tolist()
        [0]
        """
        record = model_record(self, scaling=scaling, feature_names=feature_names,
                              cluster_spread=cluster_spread)
        return models.write(record, path, overwrite=overwrite)

    def __repr__(self) -> str:
        return (f"KMeansResult(n_clusters={self.n_clusters}, inertia={self.inertia:.6g}, "
                f"n_iter={self.n_iter}, converged={self.converged})")


def fit(X, n_clusters, *, sample_weight=None, init="auto", n_init="auto", max_iter=300,
        tol=1e-4, random_state=None, algorithm="auto", n_threads=None, verbose=0,
        metric="euclidean") -> KMeansResult:
    """Cluster the rows of ``X`` into ``n_clusters`` groups with k-means.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data. float32 is kept float32; other numbers become float64. Never
        modified.
    n_clusters : int
        Number of clusters, at most the number of distinct rows.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weight of each row (a row of weight 2 counts as two).
    init : {"auto", "k-means++", "k-means++sample", "random"}, array or callable
        "k-means++" is greedy k-means++ on all rows (2 + 2 ln k candidates
        per step, the best kept); "k-means++sample" seeds a sample of
        max(20000, 100 k) rows the same way and refines it with Lloyd
        iterations on the sample; "auto" (default) uses the sample once X has
        more than two sample sizes of rows. Also random distinct rows,
        explicit centres (k, n_features), or a callable ``init(X, k, rng)``.
    n_init : int or "auto"
        Restarts; the lowest inertia wins. "auto" is 1 for the k-means++
        variants and explicit centres, 10 for "random" and callables.
    max_iter : int
        Maximum Lloyd iterations per run.
    tol : float
        Stop when the sum of squared centre shifts is at most
        ``tol * mean(var(X, axis=0))`` (or when no label changes).
    random_state : None, int, numpy Generator or RandomState
        Seed. The same seed gives bit-identical results for any thread count.
    algorithm : {"auto", "lloyd", "hamerly", "elkan", "exponion", "yinyang"}
        Iteration algorithm; all give the same result from the same start
        (the accelerated ones skip distance computations with triangle
        inequality bounds). "auto" picks by n, d and k; see docs/engine.md.
    n_threads : int, optional
        Threads for the kernels (default: numba's setting, all cores).
    verbose : int
        Print the inertia at each iteration when > 0.
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}
        Distance, each with the centre that minimises it: the weighted mean
        (k-means), the coordinate-wise weighted median (k-medians), the
        normalised mean (spherical k-means) or the exact L-infinity centre.
        For metrics other than euclidean, ``inertia`` is the sum of (weighted)
        distances, not squared, and ``algorithm`` is ignored.

    Returns
    -------
    KMeansResult

    Raises
    ------
    ValueError
        For non-numeric, non-finite, empty or 3-D data, ``n_clusters`` < 1
        or larger than the number of distinct rows, and bad parameters.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> X = np.array([[1.0, 1.0], [1.5, 2.0], [8.0, 8.0], [8.5, 9.0]])
    >>> r = kmeanskit.fit(X, 2, random_state=0)
    >>> sorted(r.centers.tolist())
    [[1.25, 1.5], [8.25, 8.5]]
    >>> float(r.inertia)
    1.25
    """
    validate_params(dict(init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                         random_state=random_state, algorithm=algorithm, n_threads=n_threads,
                         verbose=verbose, metric=metric), FIT_CONSTRAINTS, "kmeanskit.fit")
    X = as_float_array(X)
    n, d = X.shape
    k = check_n_clusters(n_clusters, n)
    w = check_sample_weight(sample_weight, n, X.dtype)
    rng = check_random_state(random_state)
    if not isinstance(init, str) and not callable(init):
        C0 = as_float_array(init, name="init")
        if C0.shape != (k, d):
            raise ValueError(f"init has shape {C0.shape} but n_clusters={k} and X has {d} features; "
                             f"pass an array of shape ({k}, {d}).")
        init = C0.astype(X.dtype)
    if metric == "cosine":
        check_no_zero_rows(X, "X")
        if not isinstance(init, str) and not callable(init):
            check_no_zero_rows(init, "init")
    n_init = resolve_n_init(init, n_init, "kmeanskit.fit")
    res = fit_arrays(X, k, w, init=init, n_init=n_init, max_iter=max_iter, tol=tol, rng=rng,
                     algorithm=algorithm, metric=metric, n_threads=n_threads, verbose=verbose)
    labels = res.labels.astype(_solver.label_dtype(k), copy=False)
    return KMeansResult(res.centers, labels, res.inertia, res.n_iter, res.converged, n_init,
                        metric)


def resolve_n_init(init, n_init, who: str) -> int:
    """The number of runs: ``"auto"`` is 1 for the k-means++ variants and
    explicit centres, 10 for "random" and callables; explicit centres give
    one run whatever is asked (with a warning, as scikit-learn does)."""
    explicit = not isinstance(init, str) and not callable(init)
    if n_init == "auto":
        return 10 if (init == "random" if isinstance(init, str) else callable(init)) else 1
    if explicit and n_init != 1:
        import warnings

        warnings.warn(f"Explicit initial center position passed: performing only one init "
                      f"in {who} instead of n_init={n_init}.", RuntimeWarning, stacklevel=3)
        return 1
    return int(n_init)


def fit_arrays(X, k, w, *, init, n_init, max_iter, tol, rng, algorithm="auto",
               metric="euclidean", n_threads=None, verbose=0, on_few="raise", callback=None):
    """The one fit behind :func:`fit` and :meth:`kmeanskit.KMeans.fit`, on
    validated arrays: the step of ``metric`` (and ``algorithm``), the
    tolerance rule, the best of ``n_init`` runs (``_solver.RunResult``).
    The other metrics seed with their own k-means++ for every k-means++
    name ("auto", "k-means++", "k-means++sample")."""
    if metric != "euclidean" and isinstance(init, str) and init != "random":
        init = "k-means++"
    step = make_step(X, w, k, metric, algorithm)
    tol_abs = step.tolerance(tol)
    return _solver.run_kmeans(step, rule=lambda: _solver.Tolerance(tol_abs, on_few), init=init,
                              n_init=n_init, max_iter=max_iter, rng=rng, n_threads=n_threads,
                              verbose=verbose, callback=callback)


def assign(X, centers, *, sample_weight=None, n_threads=None, metric="euclidean"):
    """Nearest centre of every row: ``(labels, squared_distances, inertia)``.

    With another ``metric`` the distances are that metric's (not squared) and
    the third value is the (weighted) sum of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centers : array-like of shape (k, n_features)
    sample_weight : array-like of shape (n_samples,), optional
        Weights for the returned inertia.
    n_threads : int, optional
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}

    Returns
    -------
    labels : ndarray (n_samples,)
        The smallest signed integer type that holds ``k - 1`` (int8 up to
        128 centres), as :attr:`KMeansResult.labels`.
    squared_distances : ndarray (n_samples,) float64
    inertia : float

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> labels, d2, inertia = kmeanskit.assign([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [3.0, 0.0]])
    >>> labels.tolist(), d2.tolist(), inertia
    ([0, 1], [0.0, 16.0], 16.0)
    """
    X = as_float_array(X)
    C = as_float_array(centers, name="centers")
    if C.shape[1] != X.shape[1]:
        raise ValueError(f"centers have {C.shape[1]} features but X has {X.shape[1]}; "
                         "pass centres fitted on the same columns.")
    w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    validate_params(dict(metric=metric), FIT_CONSTRAINTS, "kmeanskit.assign")
    C = C.astype(X.dtype, copy=False)
    if metric == "cosine":
        check_no_zero_rows(X, "X")
        check_no_zero_rows(C, "centers")
    return assign_arrays(X, C, w, n_threads, metric=metric)


def assign_arrays(X, C, w=None, n_threads=None, dtype=None, metric="euclidean"):
    """Unchecked :func:`assign` for validated arrays of the same dtype;
    labels of ``dtype`` (default: the compact one for ``len(C)`` clusters,
    ``_solver.label_dtype``). The one assignment of fitted centres behind
    :func:`assign`, :class:`Fitted` and the estimator."""
    if metric != "euclidean":
        labels, dist, objective = assign_metric(X, C, metric, w, n_threads)
        dt = _solver.label_dtype(C.shape[0]) if dtype is None else dtype
        return labels.astype(dt, copy=False), dist, float(objective)
    source = _solver.ArraySource(X, w, C.shape[0])
    labels = np.empty(X.shape[0], dtype=_solver.label_dtype(C.shape[0]) if dtype is None else dtype)
    d2 = np.empty(X.shape[0])
    with _solver.thread_context(n_threads, source.gemm, work=X.shape[0] * C.shape[0] * X.shape[1]):
        stats, _, _ = source.assign(C, labels, update=False, dist_out=d2)
    return labels, d2, float(stats[STAT_INERTIA])


def transform_arrays(X, C, metric="euclidean", n_threads=None) -> np.ndarray:
    """Distances of every row of ``X`` to every centre (validated arrays of
    the same dtype): Euclidean (not squared, as scikit-learn's
    ``transform``), L1, ``1 - cos`` or L-infinity, in X's dtype."""
    if metric != "euclidean":
        return distances(X, C, metric, n_threads).astype(X.dtype, copy=False)
    D = np.empty((X.shape[0], C.shape[0]))
    with _solver.thread_context(n_threads, False):
        MK.pairwise(X, np.ascontiguousarray(C), MK.EUCLIDEAN, xinv=np.ones(1), cinv=np.ones(1), out=D)
    np.sqrt(D, out=D)
    return D.astype(X.dtype, copy=False)


# --- one model path: any fitted model as centres + metric ---------------------------------------
#
# anomaly, affinity, search, the CLI and the model files use a fitted model only through
# fitted(model), which reads what they need from a KMeans estimator (by its fitted attributes:
# core imports no estimator), a KMeansResult or a models.ModelRecord.

@dataclass(frozen=True, eq=False)
class Fitted:
    """A fitted model reduced to what using it needs: centres, metric and
    what the model carries about its columns. Made by :func:`fitted`.

    Attributes
    ----------
    centers : ndarray of shape (n_clusters, n_features), float32 or float64
        C-contiguous and finite (no zero row under cosine).
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}
    scaling : Scaling, ScalingRecord or None
        The column scaling the model was fitted after (attributes ``kind``,
        ``center``, ``scale``): a :class:`kmeanskit.scaling.Scaling` from a
        loaded model, a :class:`kmeanskit.models.ScalingRecord` from a
        record. Rows passed to the methods must already be scaled.
    feature_names : tuple of str or None
        Column names; a DataFrame passed to the methods must have them.
    cluster_spread : ndarray of shape (n_clusters,) or None
        Saved per-cluster spreads (:func:`kmeanskit.anomaly.cluster_spread`).
    n_threads : int or None
        Threads for the kernels (the estimator's ``n_threads``).

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.core import fitted
    >>> m = fitted(kmeanskit.fit(np.array([[0.0], [1.0], [9.0]]), 2, init=[[0.0], [9.0]]))
    >>> m.centers.tolist(), m.metric, m.n_clusters
    ([[0.5], [9.0]], 'euclidean', 2)
    """

    centers: np.ndarray
    metric: str = "euclidean"
    scaling: object = None
    feature_names: tuple | None = None
    cluster_spread: np.ndarray | None = None
    n_threads: int | None = None

    @property
    def n_clusters(self) -> int:
        """Number of clusters (rows of ``centers``)."""
        return self.centers.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``centers``)."""
        return self.centers.shape[1]

    def check_X(self, X, name="X") -> np.ndarray:
        """``X`` as a C-contiguous float32/float64 array of this model's
        features, as scikit-learn's checks give it to a fitted KMeans:
        float32 and float64 kept, anything else float64; a DataFrame's
        column names must be the model's ``feature_names``.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> from kmeanskit.core import fitted
        >>> m = fitted(kmeanskit.fit([[0.0, 0.0], [1.0, 1.0]], 1))
        >>> m.check_X([[1, 2]]).dtype
        dtype('float64')
        >>> m.check_X([[1.0]])
        Traceback (most recent call last):
        ...
        ValueError: X has 1 features, but the model was fitted on 2 features; pass rows with its columns.
        """
        cols = getattr(X, "columns", None)
        if cols is not None and self.feature_names is not None:
            names = [str(c) for c in cols] if all(isinstance(c, str) for c in cols) else None
            if names is not None and names != list(self.feature_names):
                raise ValueError(f"The feature names of {name} should match those that were passed "
                                 f"during fit: the model has {list(self.feature_names)}, {name} has "
                                 f"{names}.")
        if isinstance(X, np.ndarray) and X.dtype == np.float16:
            X = X.astype(np.float64)  # as scikit-learn's checks do for a fitted KMeans
        A = as_float_array(X, name=name)
        if A.shape[1] != self.n_features:
            raise ValueError(f"{name} has {A.shape[1]} features, but the model was fitted on "
                             f"{self.n_features} features; pass rows with its columns.")
        if self.metric == "cosine":
            check_no_zero_rows(A, name)
        return A

    def assign(self, X, sample_weight=None):
        """Nearest centre of every row of ``X``, as :func:`assign`:
        ``(labels, distances, objective)``, the distances squared for
        euclidean (the objective then the inertia), the metric's own
        otherwise (the objective their weighted sum).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the objective.

        Returns
        -------
        labels : ndarray (n_samples,)
            The smallest signed integer type that holds ``k - 1``.
        distances : ndarray (n_samples,) float64
        objective : float

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> from kmeanskit.core import fitted
        >>> km = kmeanskit.KMeans(2, init=[[0.0], [10.0]], metric="manhattan").fit([[0.0], [10.0]])
        >>> labels, dist, total = fitted(km).assign([[1.0], [7.0]])
        >>> labels.tolist(), dist.tolist(), total
        ([0, 1], [1.0, 3.0], 4.0)
        """
        X = self.check_X(X)
        C = self.centers.astype(X.dtype, copy=False)
        w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return assign_arrays(X, C, w, self.n_threads, metric=self.metric)

    def transform(self, X) -> np.ndarray:
        """Distances of every row to every centre, as ``KMeans.transform``:
        Euclidean (not squared), L1, ``1 - cos`` or L-infinity, in the data's
        dtype.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)

        Examples
        --------
        >>> import kmeanskit
        >>> from kmeanskit.core import fitted
        >>> r = kmeanskit.fit([[0.0, 0.0], [3.0, 4.0]], 2, init=[[0.0, 0.0], [3.0, 4.0]])
        >>> fitted(r).transform([[0.0, 0.0]]).tolist()
        [[0.0, 5.0]]
        """
        X = self.check_X(X)
        return transform_arrays(X, self.centers.astype(X.dtype, copy=False), self.metric,
                                self.n_threads)

    def __repr__(self) -> str:
        return (f"Fitted(n_clusters={self.n_clusters}, n_features={self.n_features}, "
                f"metric={self.metric!r})")


def _fitted_from(centers, metric, *, scaling=None, feature_names=None, cluster_spread=None,
                 n_threads=None) -> Fitted:
    from ._metric import METRICS

    if metric not in METRICS:
        raise ValueError(f"the model's metric {metric!r} is not one of {', '.join(METRICS)}.")
    C = as_float_array(centers, name="the model's centres")
    if metric == "cosine":
        check_no_zero_rows(C, "the model's centres")
    if feature_names is not None:
        feature_names = tuple(str(c) for c in feature_names)
    if cluster_spread is not None:
        cluster_spread = np.asarray(cluster_spread, dtype=np.float64)
    return Fitted(C, metric, scaling, feature_names, cluster_spread, n_threads)


def fitted(model, what: str = "model") -> Fitted:
    """Any fitted model as a :class:`Fitted`: centres, metric, scaling,
    feature names and cluster spreads.

    Parameters
    ----------
    model : KMeans, KMeansResult, ModelRecord or Fitted
        A fitted :class:`kmeanskit.KMeans` (also one from
        :func:`kmeanskit.load`; any object with the fitted attributes
        ``cluster_centers_`` and optionally ``metric``, ``feature_names_in_``,
        ``scaling_``, ``cluster_spread_``, ``n_threads``), the result of
        :func:`kmeanskit.fit` (or any object with ``centers`` and optionally
        ``metric``), a record read by :func:`kmeanskit.models.read`, or a
        :class:`Fitted` (returned as is).
    what : str, default="model"
        How error messages name ``model``.

    Returns
    -------
    Fitted

    Raises
    ------
    ValueError
        An unfitted estimator, another kind of object, an unknown metric or
        invalid centres.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.core import fitted
    >>> X = np.array([[0.0], [1.0], [5.0], [10.0], [11.0], [12.0]])
    >>> km = kmeanskit.KMeans(2, init=[[0.0], [10.0]], metric="manhattan").fit(X)
    >>> m = fitted(km)
    >>> m.metric, m.centers.ravel().tolist()
    ('manhattan', [1.0, 11.0])
    >>> m.assign([[2.0], [9.0]])[0].tolist() == km.predict([[2.0], [9.0]]).tolist()
    True
    >>> fitted(kmeanskit.KMeans(2))
    Traceback (most recent call last):
    ...
    ValueError: the KMeans model is not fitted; call .fit(X) first.
    """
    if isinstance(model, Fitted):
        return model
    if isinstance(model, models.ModelRecord):
        return _fitted_from(model.centers, model.metric, scaling=model.scaling,
                            feature_names=model.feature_names,
                            cluster_spread=model.cluster_spread)
    if isinstance(model, KMeansResult):
        return _fitted_from(np.ascontiguousarray(model.centers), model.metric)
    if hasattr(model, "cluster_centers_"):
        # the metric the estimator was fitted with, even if set_params changed it since
        metric = getattr(model, "_fit_metric", None) or getattr(model, "metric", "euclidean")
        return _fitted_from(model.cluster_centers_, metric,
                            scaling=getattr(model, "scaling_", None),
                            feature_names=getattr(model, "feature_names_in_", None),
                            cluster_spread=getattr(model, "cluster_spread_", None),
                            n_threads=getattr(model, "n_threads", None))
    if hasattr(model, "get_params") and hasattr(model, "n_clusters"):
        raise ValueError(f"the {type(model).__name__} {what} is not fitted; call .fit(X) first.")
    if hasattr(model, "centers"):  # another result-like object: centres and a metric
        return _fitted_from(model.centers, getattr(model, "metric", "euclidean"))
    raise ValueError(f"{what} must be a fitted kmeanskit.KMeans or a KMeansResult (from "
                     f"kmeanskit.fit or kmeanskit.load), got {type(model).__name__}.")


def model_record(model, *, scaling=None, feature_names=None,
                 cluster_spread=None) -> models.ModelRecord:
    """What a ``.kmk`` file of ``model`` holds (see :mod:`kmeanskit.models`).

    Parameters
    ----------
    model : KMeans, KMeansResult, ModelRecord or Fitted
        As :func:`fitted` takes.
    scaling : kmeanskit.scaling.Scaling, optional
        Default: the model's own (a loaded model's ``scaling_``).
    feature_names : sequence of str, optional
        Default: the model's ``feature_names_in_``; if both are given they
        must agree.
    cluster_spread : array-like of shape (n_clusters,), optional
        Default: the model's own ``cluster_spread_``.

    Returns
    -------
    kmeanskit.models.ModelRecord
        With the model's inertia, iterations and the fitting parameters
        :data:`kmeanskit.models.PARAMS` it has.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.core import model_record
    >>> rec = model_record(kmeanskit.fit(np.array([[0.0], [2.0]]), 1), feature_names=["x"])
    >>> rec.centers.tolist(), rec.feature_names, rec.inertia, rec.created_by
    ([[1.0]], ('x',), 2.0, 'KMeansResult')
    """
    m = fitted(model)
    own = None if m.feature_names is None else list(m.feature_names)
    names = models.check_feature_names(feature_names, m.n_features)
    if names is not None and own is not None and names != own:
        raise ValueError(f"feature_names {names} differ from the model's feature_names_in_ {own}; "
                         "leave feature_names out to keep the model's names.")
    names = names if names is not None else own
    if isinstance(model, models.ModelRecord):
        inertia, n_iter, converged, params = (model.inertia, model.n_iter, model.converged,
                                              dict(model.params))
        created_by = model.created_by
    elif isinstance(model, KMeansResult):
        inertia, n_iter, converged = model.inertia, model.n_iter, bool(model.converged)
        params = {"n_init": int(model.n_init)}
        created_by = type(model).__name__
    else:
        inertia, n_iter, converged = (getattr(model, "inertia_", None), getattr(model, "n_iter_", None),
                                      None)
        params = {p: getattr(model, p) for p in models.PARAMS if hasattr(model, p)}
        created_by = type(model).__name__
    return models.ModelRecord(
        centers=m.centers, metric=m.metric, feature_names=None if names is None else tuple(names),
        scaling=m.scaling if scaling is None else scaling,
        cluster_spread=m.cluster_spread if cluster_spread is None else cluster_spread,
        inertia=inertia, n_iter=n_iter, converged=converged, created_by=created_by, params=params)
