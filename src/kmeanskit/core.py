"""The native API: :func:`fit` returns a :class:`KMeansResult`; :func:`assign`
labels rows with given centres.

Unlike the scipy shim, names here are unambiguous: ``n_init`` is the number
of restarts, ``max_iter`` the iterations per run, and ``inertia`` the
(weighted) sum of squared Euclidean distances.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from . import _chunked, _numeric, _solver, _sparse, models
from ._init import INITS, kmeans_plusplus_indices
from ._kernels import metric as MK
from ._kernels.lloyd import STAT_INERTIA
from ._metric import METRIC_ALIASES, METRICS, assign_metric, distances, make_step, metric_error, metric_name
from ._validation import (
    ARRAY_LIKE,
    CALLABLE,
    RANDOM_STATE,
    Interval,
    Names,
    Options,
    Rule,
    as_float_array,
    check_n_clusters,
    check_no_zero_rows,
    check_random_state,
    check_sample_weight,
    validate_params,
)

__all__ = ["KMeansResult", "fit", "assign", "fitted", "Fitted", "model_record", "kmeans_plusplus",
           "kmeans_parallel"]

#: Allowed values of fit's parameters, checked once on entry.
FIT_CONSTRAINTS = {
    "init": [Names(INITS, ("k-means||",)), ARRAY_LIKE, CALLABLE],
    "n_init": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "random_state": [RANDOM_STATE],
    "algorithm": [Names(_solver.ALGORITHMS, ("auto",))],
    "n_threads": [Interval(int, 1, None), Options((None,))],
    "verbose": [Interval(int, 0, None)],
    # scipy's and scikit-learn's names too (_metric.METRIC_ALIASES)
    "metric": Rule((Names(METRIC_ALIASES),), lambda v: metric_error(v["metric"], "kmeanskit.fit")),
    "compact_labels": [Options((True, False))],
}


@dataclass(frozen=True)
class KMeansResult:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    centers : ndarray of shape (k, n_features)
        Cluster centres, in the input's dtype (float32 stays float32).
    labels : ndarray of shape (n_samples,), int32
        Index of each row's centre; they match ``centers`` exactly. int32,
        as scikit-learn's ``labels_`` and scipy's codes; with
        ``fit(..., compact_labels=True)`` the smallest signed type that holds
        ``k - 1`` (int8 up to 128 clusters: 1.9 MiB instead of 7.6 MiB for
        2,000,000 rows), the solver's own working type.
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
    dtype('int32')
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
        metric="euclidean", compact_labels=False) -> KMeansResult:
    """Cluster the rows of ``X`` into ``n_clusters`` groups with k-means.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Data. float32 is kept float32; other numbers become float64. Never
        modified. A ``scipy.sparse`` matrix or array (CSR, CSC; other
        formats are converted once) stays sparse, for metric "euclidean" or
        "cosine" (docs/text.md).
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
        Print the inertia at each iteration when > 0 (and, the first time
        after installing, that the kernels are being compiled).
    compact_labels : bool, default=False
        Return the labels in the smallest signed integer type that holds
        ``k - 1`` (int8 up to 128 clusters) instead of int32: a quarter of
        the memory (1.9 instead of 7.6 MiB for 2,000,000 rows, next to 22.9
        MiB of float32 pixels), but ``labels * 100`` wraps around.
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"}
        Distance, each with the centre that minimises it: the weighted mean
        (k-means), the coordinate-wise weighted median (k-medians), the
        normalised mean (spherical k-means) or the exact L-infinity centre.
        For metrics other than euclidean, ``inertia`` is the sum of (weighted)
        distances, not squared, and ``algorithm`` is ignored. scipy's and
        scikit-learn's names are accepted too: "l2", "sqeuclidean";
        "cityblock", "l1"; "linf", "infinity" (``_metric.METRIC_ALIASES``).

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
                         verbose=verbose, metric=metric, compact_labels=compact_labels),
                    FIT_CONSTRAINTS, "kmeanskit.fit")
    metric = metric_name(metric)
    if _chunked.is_dask(X):
        return _fit_dask(X, n_clusters, sample_weight=sample_weight, init=init, n_init=n_init,
                         max_iter=max_iter, tol=tol, random_state=random_state,
                         algorithm=algorithm, n_threads=n_threads, verbose=verbose, metric=metric,
                         compact_labels=compact_labels)
    X = as_rows(X, metric)
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
        check_rows_nonzero(X, "X")
        if not isinstance(init, str) and not callable(init):
            check_no_zero_rows(init, "init")
    n_init = resolve_n_init(init, n_init, "kmeanskit.fit")
    res = fit_arrays(X, k, w, init=init, n_init=n_init, max_iter=max_iter, tol=tol, rng=rng,
                     algorithm=algorithm, metric=metric, n_threads=n_threads, verbose=verbose)
    # int32 as scikit-learn and scipy; the solver's working labels are compact
    labels = res.labels.astype(_solver.label_dtype(k) if compact_labels else np.int32, copy=False)
    return KMeansResult(res.centers, labels, res.inertia, res.n_iter, res.converged, n_init,
                        metric)


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None,
                    n_local_trials=None):
    """Greedy k-means++ seeding, as ``sklearn.cluster.kmeans_plusplus``:
    the initial centres and the rows they were taken from.

    The first centre is a row drawn in proportion to the weights; each next
    one is the best of ``n_local_trials`` candidates drawn in proportion to
    ``w * D(x)^2`` (D the distance to the closest centre so far), the one
    that lowers the potential most (the seeding of :func:`fit` and
    :class:`kmeanskit.KMeans`, one compiled call).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data; float32 kept, other numbers float64.
    n_clusters : int
        Number of centres, at most the number of distinct rows.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights of the rows (zero-weight rows are never picked).
    x_squared_norms : ignored
        Accepted for scikit-learn's signature (the kernels need no norms).
    random_state : None, int, numpy Generator or RandomState
        Seed; the same seed gives the same centres for any thread count.
    n_local_trials : int, optional
        Candidates per step. Default ``2 + int(2 ln k)`` (scikit-learn's is
        ``2 + int(ln k)``: twice as many gave lower inertia on every
        benchmark workload, docs/engine.md); 1 is plain k-means++.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Copies of rows of X, in X's dtype.
    indices : ndarray of shape (n_clusters,), int64
        Their row indices: ``centers == X[indices]``.

    Raises
    ------
    ValueError
        Bad input, more clusters than rows, or fewer distinct rows (with a
        positive weight) than clusters.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0], [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> centers, indices = kmeanskit.kmeans_plusplus(X, 2, random_state=0)
    >>> bool((centers == X[indices]).all()), sorted(X[indices, 0].tolist())
    (True, [1.0, 10.0])
    """
    X = as_float_array(X)
    k = check_n_clusters(n_clusters, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    if n_local_trials is not None:
        validate_params(dict(n_local_trials=n_local_trials),
                        {"n_local_trials": [Interval(int, 1, None)]}, "kmeans_plusplus")
    rng = check_random_state(random_state)
    scale = _numeric.choose(X, w)  # extreme magnitudes: the draws on an exactly scaled copy
    with _solver.thread_context(None, False, work=X.shape[0] * k * X.shape[1]):
        idx = kmeans_plusplus_indices(scale.data(X), k, scale.weights(w), rng, n_trials=n_local_trials)
    return X[idx].copy(), idx


def kmeans_parallel(X, n_clusters, *, sample_weight=None, oversampling=_chunked.OVERSAMPLING,
                    rounds=_chunked.ROUNDS, random_state=None) -> np.ndarray:
    """k-means|| seeding (Bahmani et al., "Scalable K-Means++", VLDB 2012)
    of a Dask array or DataFrame, or of an in-memory array (in blocks of
    rows): the initial centres ``init="k-means||"`` starts from, with its
    two parameters exposed.

    One row is drawn in proportion to the weights; each of ``rounds`` rounds
    then draws every row independently with probability ``l w d^2 / phi``
    (``l = oversampling x n_clusters`` rows a round on average, ``d`` the
    distance to the nearest candidate so far, ``phi`` the sum of ``w d^2``);
    the candidates are weighted by the weight of the rows nearest to them and
    reduced to ``n_clusters`` by weighted greedy k-means++ and a few Lloyd
    iterations on the weighted candidates, the best of up to 3 such runs
    (fewer when the candidates are many for the rows). Each round is one
    pass over the data (docs/scale.md).

    Parameters
    ----------
    X : array-like, Dask array or Dask DataFrame of shape (n_samples, n_features)
    n_clusters : int
    sample_weight : array-like or Dask array of shape (n_samples,), optional
    oversampling : float
        Candidates drawn per round, as a multiple of ``n_clusters`` (2).
    rounds : int
        Oversampling rounds (5; more rounds are drawn only while there are
        fewer candidates than clusters).
    random_state : None, int or numpy Generator

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(c, 0.1, size=(100, 2)) for c in (0.0, 5.0, 10.0)])
    >>> C = kmeanskit.kmeans_parallel(X, 3, random_state=0)
    >>> sorted(int(round(c)) for c in C[:, 0])
    [0, 5, 10]
    """
    validate_params(dict(oversampling=oversampling, rounds=rounds, random_state=random_state),
                    {"oversampling": [Interval(float, 0, None, closed_low=False)],
                     "rounds": [Interval(int, 1, None)], "random_state": [RANDOM_STATE]},
                    "kmeanskit.kmeans_parallel")
    if _chunked.is_dask(X):
        X, w, k, _ = check_dask_input(X, sample_weight, n_clusters, "k-means||", "auto",
                                      "euclidean", "kmeanskit.kmeans_parallel")
    else:
        X = as_float_array(X)
        k = check_n_clusters(n_clusters, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    # data of extreme magnitude is scaled exactly: in memory a scaled copy (as fit_arrays
    # makes), on Dask chunk by chunk as the tasks read it
    if _chunked.is_dask(X):
        src = _chunked.ChunkSource(X, w, k)
        scale = src.choose_scale()
    else:
        scale = _numeric.choose(X, w)
        src = _chunked.ChunkSource(scale.data(X), scale.weights(w), k)
    C = _chunked.kmeans_parallel(src, k, check_random_state(random_state),
                                 oversampling=float(oversampling), rounds=int(rounds))
    return scale.centers_back(C)


def check_dask_input(X, sample_weight, n_clusters, init, algorithm, metric, who: str):
    """Validated Dask input of a fit: ``(X, weights, k, init)`` (see
    :mod:`kmeanskit._chunked`). Dask input runs Lloyd's iterations with the
    Euclidean metric."""
    X = _chunked.as_dask_array(X)
    n, d = X.shape
    k = check_n_clusters(n_clusters, n)
    w = _chunked.as_dask_weights(sample_weight, X)
    if metric != "euclidean":
        raise ValueError(f"{who}: Dask input takes metric='euclidean' only, not {metric!r}; "
                         "compute on a sample in memory for other metrics.")
    if algorithm != "auto" and algorithm not in _chunked.CHUNKED_ALGORITHMS:
        raise ValueError(f"{who}: Dask input runs {' or '.join(map(repr, _chunked.CHUNKED_ALGORITHMS))} "
                         f"(one task per chunk per pass; docs/scale.md says why); pass one of them or "
                         f"'auto', not {algorithm!r}.")
    if isinstance(init, str):
        if init not in _chunked.CHUNKED_INITS:
            raise ValueError(f"{who}: init={init!r} is not available for Dask input; pass one of "
                             f"{list(_chunked.CHUNKED_INITS)} or an array of centres.")
    elif callable(init):
        raise ValueError(f"{who}: a callable init needs the data in memory; with Dask input pass "
                         "init='k-means||', 'k-means++sample', 'random' or an array of centres.")
    else:
        C0 = as_float_array(init, name="init")
        if C0.shape != (k, d):
            raise ValueError(f"init has shape {C0.shape} but n_clusters={k} and X has {d} features; "
                             f"pass an array of shape ({k}, {d}).")
        init = C0.astype(X.dtype)
    return X, w, k, init


def _fit_dask(X, n_clusters, *, sample_weight, init, n_init, max_iter, tol, random_state,
              algorithm, n_threads, verbose, metric, compact_labels) -> KMeansResult:
    """:func:`fit` of a Dask array or DataFrame (the labels come back as a
    Dask array with X's row chunks, kept where the chunks are)."""
    X, w, k, init = check_dask_input(X, sample_weight, n_clusters, init, algorithm, metric,
                                     "kmeanskit.fit")
    rng = check_random_state(random_state)
    n_init = resolve_n_init(init, n_init, "kmeanskit.fit")
    res = fit_arrays(X, k, w, init=init, n_init=n_init, max_iter=max_iter, tol=tol, rng=rng,
                     algorithm=algorithm, n_threads=n_threads, verbose=verbose)
    labels = res.labels.astype(_solver.label_dtype(k) if compact_labels else np.int32)
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
    if verbose:
        compile_notice()
    if metric != "euclidean" and isinstance(init, str) and init != "random":
        init = "k-means++"
    if _chunked.is_dask(X):  # chunks on a cluster or read chunk by chunk: Lloyd's steps
        step = _chunked.make_step(X, w, k, algorithm)
        # data of extreme magnitude: each task scales its chunks exactly as it reads them
        explicit = not isinstance(init, str)
        scale = step.base_source.choose_scale(np.asarray(init) if explicit else None)
        init = _numeric.scaled_init(init, scale)
    else:
        if callable(init):  # its output is checked like an explicit init array
            init = _numeric.checked_init(init, X, k)
        explicit = not isinstance(init, str) and not callable(init)
        # the tolerance's column variances first, for dense rows: their sums give the range
        # check below its sum of squares (one pass over X fewer)
        stats = _solver.column_stats(X) if tol and metric == "euclidean" and isinstance(X, np.ndarray) \
            else None
        # data whose squares or weighted sums could overflow or underflow runs on an exactly
        # scaled copy (_numeric; of a sparse matrix's values only); ordinary data is used as
        # it is
        scale = _numeric.choose(_values(X), w, np.asarray(init) if explicit else None,
                                sumsq=None if stats is None else stats[1])
        if not scale.identity:
            X, w, init = _scaled(X, scale), scale.weights(w), _numeric.scaled_init(init, scale)
            stats = None  # the scaled copy's variances are taken again
        if isinstance(X, _sparse.SparseRows):  # sparse rows, dense centres (_sparse)
            step = _sparse.make_step(X, w, k, metric, algorithm)
        else:
            step = make_step(X, w, k, metric, algorithm)
            if stats is not None:
                step.source.column_var = stats[0]
    seed = None
    if isinstance(init, str) and init == "k-means||" and not _chunked.is_dask(X) \
            and not isinstance(X, _sparse.SparseRows):  # in memory too
        def seed(rng):
            return _chunked.kmeans_parallel(_chunked.ChunkSource(X, w, k), k, rng)
    tol_abs = step.tolerance(tol)
    res = _solver.run_kmeans(step, rule=lambda: _solver.Tolerance(tol_abs, on_few), init=init,
                             n_init=n_init, max_iter=max_iter, rng=rng, n_threads=n_threads,
                             verbose=verbose, callback=callback, seed=seed)
    if scale is not None and not scale.identity:
        p = _numeric.POWER[metric]
        res.centers = scale.centers_back(res.centers)
        res.inertia = scale.values_back(res.inertia, p, True, "inertia")
        res.history = [scale.values_back(float(h), p, True) for h in res.history]
    return res


#: Seconds the first fit after installing spends compiling the kernels on a
#: 2-core machine (README "Speed"; benchmarks/compile_time.py measures it).
COLD_COMPILE_S = 30
_compile_noticed = False


def kernels_cold() -> bool:
    """Whether numba's cache holds none of the Lloyd and seeding kernels yet,
    i.e. the next fit compiles them (tens of seconds, once per install).

    Looks for the cache index file (``<module>.<kernel>-<line>.py<ver>.nbi``)
    of each of those kernels where numba keeps it: ``__pycache__`` next to
    ``kmeanskit/_kernels``, or ``NUMBA_CACHE_DIR`` / the user's cache folder
    when that is not writable. About 30 ``stat`` calls, no compilation.

    Examples
    --------
    >>> isinstance(kernels_cold(), bool)
    True
    """
    import os

    from ._kernels import lloyd, seeding

    paths = []
    for mod in (lloyd, seeding):
        for obj in vars(mod).values():
            cache = getattr(obj, "_cache", None)
            index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
            if index is not None:
                paths.append(index)
    return bool(paths) and not any(os.path.exists(p) for p in paths)


def compile_notice() -> bool:
    """Print ``compiling kernels, about N s, once per install`` on stderr,
    once per process, when :func:`kernels_cold`; returns whether it did.
    Called by :func:`fit` and :class:`kmeanskit.KMeans` when verbose, and
    by every command of the CLI."""
    global _compile_noticed
    if _compile_noticed or not kernels_cold():
        return False
    import sys

    _compile_noticed = True
    print(f"kmeanskit: compiling kernels, about {COLD_COMPILE_S} s, once per install "
          "(later runs load them from numba's cache)", file=sys.stderr, flush=True)
    return True


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
    metric : {"euclidean", "manhattan", "cosine", "chebyshev"} or an alias
        As in :func:`fit` ("cityblock", "l1", "l2", ... accepted).

    Returns
    -------
    labels : ndarray (n_samples,) int32
        As :attr:`KMeansResult.labels`.
    squared_distances : ndarray (n_samples,) float64
    inertia : float

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> labels, d2, inertia = kmeanskit.assign([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [3.0, 0.0]])
    >>> labels.tolist(), d2.tolist(), inertia
    ([0, 1], [0.0, 16.0], 16.0)
    """
    metric = metric_name(metric, "kmeanskit.assign")
    if _chunked.is_dask(X):
        return assign_dask(X, centers, sample_weight, metric, "kmeanskit.assign")
    X = as_rows(X, metric)
    C = as_float_array(centers, name="centers")
    if C.shape[1] != X.shape[1]:
        raise ValueError(f"centers have {C.shape[1]} features but X has {X.shape[1]}; "
                         "pass centres fitted on the same columns.")
    w = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    C = C.astype(X.dtype, copy=False)
    if metric == "cosine":
        check_rows_nonzero(X, "X")
        check_no_zero_rows(C, "centers")
    return assign_arrays(X, C, w, n_threads, metric=metric)


def assign_dask(X, centers, sample_weight=None, metric="euclidean", who="kmeanskit.assign"):
    """:func:`assign` of a Dask array or DataFrame: lazy Dask ``(labels,
    squared_distances, inertia)`` with X's row chunks."""
    if metric != "euclidean":
        raise ValueError(f"{who}: Dask input takes metric='euclidean' only, not {metric!r}.")
    X = _chunked.as_dask_array(X)
    C = as_float_array(centers, name="centers")
    if C.shape[1] != X.shape[1]:
        raise ValueError(f"centers have {C.shape[1]} features but X has {X.shape[1]}; "
                         "pass centres fitted on the same columns.")
    w = _chunked.as_dask_weights(sample_weight, X)
    return _chunked.assign_lazy(X, C.astype(X.dtype), w)


def transform_dask(X, C, metric="euclidean"):
    """:func:`transform_arrays` of a validated Dask array, lazily, chunk by chunk."""
    C = np.ascontiguousarray(C, dtype=X.dtype)
    return _chunked.map_rows(X, _transform_block, C.shape[0], X.dtype, C=C, metric=metric)


def _transform_block(x, block_info=None, *, C, metric):
    """:func:`transform_arrays` of one block; NaN or infinity in it raise
    ValueError (checked only when a distance came out non-finite)."""
    D = transform_arrays(x, C, metric)
    if not np.isfinite(D).all():
        _chunked.check_finite_block(x, block_info)
    return D


def as_rows(X, metric="euclidean", name="X"):
    """Validated rows: a ``scipy.sparse`` matrix or array as
    :class:`kmeanskit._sparse.SparseRows` (euclidean and cosine only; never
    densified), anything else as :func:`as_float_array` gives it."""
    if _sparse.is_sparse(X):
        _sparse.check_metric(metric)
        return _sparse.as_sparse_rows(X, name)
    return as_float_array(X, name=name)


def check_rows_nonzero(X, name):
    """Cosine's check (no row of zero norm) on dense or sparse rows."""
    if isinstance(X, _sparse.SparseRows):
        _sparse.check_no_zero_rows(X, name)
    else:
        check_no_zero_rows(X, name)


def assign_arrays(X, C, w=None, n_threads=None, dtype=np.int32, metric="euclidean"):
    """Unchecked :func:`assign` for validated arrays of the same dtype;
    labels of ``dtype`` (int32 by default, as every public API; None: the
    compact one for ``len(C)`` clusters, ``_solver.label_dtype``). The one assignment of fitted centres behind
    :func:`assign`, :class:`Fitted` and the estimator."""
    scale = _numeric.choose(_values(X), w, C)
    if not scale.identity:  # extreme magnitudes: exactly scaled copies (_numeric)
        labels, dist, objective = _assign_in_range(_scaled(X, scale), scale.data(C), scale.weights(w),
                                                   n_threads, dtype, metric)
        # a distance or an inertia beyond the float range comes back as inf (docs/reliability.md)
        p = _numeric.POWER[metric]
        return labels, scale.values_back(dist, p, False), scale.values_back(objective, p, True)
    return _assign_in_range(X, C, w, n_threads, dtype, metric)


def _assign_in_range(X, C, w, n_threads, dtype, metric):
    """:func:`assign_arrays` of data inside the unscaled window (checked, or
    scaled into it, by the caller)."""
    if isinstance(X, _sparse.SparseRows):
        return _sparse.assign_arrays(X, C, w, n_threads, dtype, metric)
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


def _values(X) -> np.ndarray:
    """The values whose magnitude decides the scaling (``_numeric``): the
    array itself, or a sparse matrix's stored values."""
    return X.data if isinstance(X, _sparse.SparseRows) else X


def _scaled(X, scale):
    """``X`` multiplied by ``scale``'s power of two (a copy; sparse: its values)."""
    return X.scaled(scale) if isinstance(X, _sparse.SparseRows) else scale.data(X)


def transform_arrays(X, C, metric="euclidean", n_threads=None) -> np.ndarray:
    """Distances of every row of ``X`` to every centre (validated arrays of
    the same dtype): Euclidean (not squared, as scikit-learn's
    ``transform``), L1, ``1 - cos`` or L-infinity, in X's dtype."""
    scale = _numeric.choose(_values(X), None, C)
    if not scale.identity:  # extreme magnitudes: exactly scaled copies (_numeric)
        D = _transform_in_range(_scaled(X, scale), scale.data(C), metric, n_threads)
        return scale.values_back(D, min(_numeric.POWER[metric], 1), False)
    return _transform_in_range(X, C, metric, n_threads)


def _transform_in_range(X, C, metric, n_threads):
    """:func:`transform_arrays` of data inside the unscaled window."""
    if isinstance(X, _sparse.SparseRows):
        return _sparse.transform_arrays(X, C, metric, n_threads)
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
        A = as_rows(X, self.metric, name=name)
        if A.shape[1] != self.n_features:
            raise ValueError(f"{name} has {A.shape[1]} features, but the model was fitted on "
                             f"{self.n_features} features; pass rows with its columns.")
        if self.metric == "cosine":
            check_rows_nonzero(A, name)
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

    def nearest(self, X):
        """``(labels, distances)`` of the rows of ``X`` to their nearest
        centre under the metric, Euclidean distances not squared. Rows of
        extreme magnitude are measured on an exactly scaled copy
        (``_numeric``), so a distance within the float range comes back
        finite even where its square is not.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray (n_samples,)
        distances : ndarray (n_samples,) float64

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> from kmeanskit.core import fitted
        >>> r = kmeanskit.fit([[0.0], [1e200]], 2, init=[[0.0], [1e200]])
        >>> labels, dist = fitted(r).nearest([[3e200]])
        >>> labels.tolist(), dist.tolist()
        ([1], [2e+200])
        """
        X = self.check_X(X)
        C = self.centers.astype(X.dtype, copy=False)
        scale = _numeric.choose(_values(X), None, C)  # the one check of the magnitudes
        labels, dist, _ = _assign_in_range(_scaled(X, scale), scale.data(C), None, self.n_threads,
                                           np.int32, self.metric)
        if self.metric == "euclidean":  # assign gives squared distances
            dist = np.sqrt(np.maximum(dist, 0.0))
        dist = scale.values_back(np.asarray(dist, dtype=np.float64), min(_numeric.POWER[self.metric], 1),
                                 False)
        return labels, dist

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
    if metric not in METRIC_ALIASES:
        aliases = ", ".join(a for a in METRIC_ALIASES if a not in METRICS)
        raise ValueError(f"the model's metric {metric!r} is not one of {', '.join(METRICS)} "
                         f"(or the aliases {aliases}).")
    metric = METRIC_ALIASES[metric]
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
    _refuse_kprototypes(model, what)
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


def kprototypes_kind(model) -> str | None:
    """``"estimator"`` for a fitted :class:`kmeanskit.KPrototypes`,
    ``"record"`` for a ``.kmk`` record of one (metric "kprototypes"), else
    None. The one test the model path uses to tell k-prototypes models from
    k-means ones (no import of the estimator's module, and with it
    scikit-learn: a KPrototypes exists only once that module is loaded).

    Parameters
    ----------
    model : object
        Anything :func:`fitted` or :func:`kmeanskit.outlier_scores` takes.

    Returns
    -------
    str or None

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.core import kprototypes_kind
    >>> X = np.array([[0.0, np.nan], [0.0, 1.0], [9.0, 9.0], [9.0, 8.0]])
    >>> kprototypes_kind(kmeanskit.KPrototypes(2, missing="ignore", random_state=0).fit(X))
    'estimator'
    >>> kprototypes_kind(kmeanskit.fit(np.nan_to_num(X), 2, random_state=0)) is None
    True
    """
    if isinstance(model, models.ModelRecord):
        return "record" if model.metric == models.KPROTOTYPES else None
    kp = sys.modules.get("kmeanskit.kprototypes")
    if kp is not None and isinstance(model, kp.KPrototypes) and hasattr(model, "cluster_centroids_"):
        return "estimator"
    return None


def _refuse_kprototypes(model, what: str) -> None:
    """A k-prototypes model (categorical columns or missing values) is not
    a set of centres in one space: the places that take any fitted model
    (affinity features, the similar-item index, the model file of a
    k-means fit) say so instead of silently using its numeric centres."""
    if kprototypes_kind(model):
        raise ValueError(f"{what} is a k-prototypes model (categorical columns or missing values); "
                         "this takes k-means models only. A k-prototypes model has predict, "
                         "transform and kmeanskit.outlier_scores of its own.")


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
