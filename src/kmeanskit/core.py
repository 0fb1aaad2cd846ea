"""The native API: :func:`fit` returns a :class:`KMeansResult`; :func:`assign`
labels rows with given centres.

Unlike the scipy shim, names here are unambiguous: ``n_init`` is the number
of restarts, ``max_iter`` the iterations per run, and ``inertia`` the
(weighted) sum of squared Euclidean distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _solver
from ._init import INITS
from ._kernels.lloyd import STAT_INERTIA
from ._validation import (
    ARRAY_LIKE,
    CALLABLE,
    RANDOM_STATE,
    Interval,
    Options,
    as_float_array,
    check_n_clusters,
    check_random_state,
    check_sample_weight,
    check_no_zero_rows,
    validate_params,
)

__all__ = ["KMeansResult", "fit", "assign"]

#: Allowed values of fit's parameters, checked once on entry.
FIT_CONSTRAINTS = {
    "init": [Options(tuple(INITS)), ARRAY_LIKE, CALLABLE],
    "n_init": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "random_state": [RANDOM_STATE],
    "algorithm": [Options(("auto",) + tuple(_solver.ALGORITHMS))],
    "n_threads": [Interval(int, 1, None), Options((None,))],
    "verbose": [Interval(int, 0, None)],
    "metric": [Options(("euclidean", "manhattan", "cosine", "chebyshev"))],
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
        from .io import save_model

        return save_model(self, path, scaling=scaling, feature_names=feature_names,
                          cluster_spread=cluster_spread, overwrite=overwrite)

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
    explicit = not isinstance(init, str) and not callable(init)
    if explicit:
        C0 = as_float_array(init, name="init")
        if C0.shape != (k, d):
            raise ValueError(f"init has shape {C0.shape} but n_clusters={k} and X has {d} features; "
                             f"pass an array of shape ({k}, {d}).")
        init = C0.astype(X.dtype)
    if n_init == "auto":
        n_init = 1 if (explicit or init in ("auto", "k-means++", "k-means++sample")) else 10
    elif explicit and n_init != 1:
        import warnings

        warnings.warn(f"explicit initial centres were given, so n_init={n_init} would repeat "
                      "the same run; doing it once.", RuntimeWarning, stacklevel=2)
        n_init = 1
    if metric == "euclidean":
        res = _solver.run_kmeans(X, k, w=w, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                                 rng=rng, algorithm=algorithm, n_threads=n_threads,
                                 verbose=verbose)
    else:
        from ._metric import run_metric_kmeans

        if metric == "cosine":
            check_no_zero_rows(X, "X")
            if explicit:
                check_no_zero_rows(init, "init")
        if isinstance(init, str) and init != "random":
            init = "k-means++"  # the metric's own greedy k-means++ on all rows
        res = run_metric_kmeans(X, k, metric, w=w, init=init, n_init=n_init, max_iter=max_iter,
                                tol=tol, rng=rng, n_threads=n_threads, verbose=verbose)
    labels = res.labels.astype(_solver.label_dtype(k), copy=False)
    return KMeansResult(res.centers, labels, res.inertia, res.n_iter, res.converged, n_init,
                        metric)


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
    if metric != "euclidean":
        from ._metric import assign_metric

        if metric == "cosine":
            check_no_zero_rows(X, "X")
            check_no_zero_rows(C, "centers")
        labels, dist, objective = assign_metric(X, C, metric, w, n_threads)
        return labels.astype(_solver.label_dtype(C.shape[0]), copy=False), dist, float(objective)
    return assign_arrays(X, C, w, n_threads)


def assign_arrays(X, C, w=None, n_threads=None, dtype=None):
    """Unchecked :func:`assign` for validated arrays of the same dtype;
    labels of ``dtype`` (default: the compact one for ``len(C)`` clusters,
    ``_solver.label_dtype``)."""
    engine = _solver.Engine(X, w, C.shape[0])
    labels = np.empty(X.shape[0], dtype=_solver.label_dtype(C.shape[0]) if dtype is None else dtype)
    d2 = np.empty(X.shape[0])
    with _solver.thread_context(n_threads, engine.gemm, work=X.shape[0] * C.shape[0] * X.shape[1]):
        stats, _, _ = engine.assign(C, labels, update=False, dist_out=d2)
    return labels, d2, float(stats[STAT_INERTIA])
