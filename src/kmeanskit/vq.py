"""Drop-in replacements for ``scipy.cluster.vq``.

``from kmeanskit.vq import kmeans, kmeans2, vq, whiten`` changes nothing in a
scipy program but the speed: the same signatures, defaults, return types and
semantics, including scipy's own conventions, which hold *only* here:

* ``kmeans``' ``iter`` is the number of restarts, not of iterations;
* its distortion is the **mean non-squared** distance (not the inertia);
* it stops a run when the distortion changes by at most ``thresh``
  (absolute), and drops clusters that become empty;
* ``kmeans2`` runs exactly ``iter`` iterations, ignores ``thresh`` and
  returns the labels of its last assignment (made before the last update).

Differences, all documented: ``kmeans`` seeds each restart as scipy does
(k random observations; distinct ones, drawn in proportion to their counts
when repeats are merged), but on more than 2 x max(20000, 100 k) rows it
draws them from a sample of max(20000, 100 k) rows and runs the first 10
Lloyd iterations on that sample. It does not seed with greedy k-means++:
that reaches a lower inertia but a higher *mean distance* (the distortion
this function minimises by choosing among restarts) than scipy's seeding
(figures in docs/engine.md, "scipy's kmeans on small d"). When at least
half the rows are repeats (an image's pixels), ``kmeans`` works on the
distinct rows weighted by their counts, which is the same k-means; more clusters than
distinct points is a ``ValueError`` instead of a silent collapse; 3-D and
empty input raise ``ValueError`` in ``whiten`` as well.

``kmeans2``' seedings ``minit='++'`` (plain k-means++), ``'points'`` and
``'random'`` draw from the generator exactly as scipy's do, so the same
``rng`` (or ``seed``) gives scipy's centroids and labels. Greedy k-means++
(what :func:`kmeanskit.fit` and :class:`kmeanskit.KMeans` seed with: several
candidates per step, the best kept) is ``minit='greedy++'``, a kmeanskit
extension.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _numeric, _solver
from ._init import FewDistinctPointsError, kmeans_plusplus, random_points_sample, weight_cdf
from ._kernels.lloyd import count_distinct_upto, unique_rows
from ._validation import DataTypeError, check_random_state

__all__ = ["whiten", "vq", "kmeans", "kmeans2", "ClusterError"]


class ClusterError(Exception):
    """Raised by :func:`kmeans2` with ``missing='raise'`` when a cluster is
    empty (as ``scipy.cluster.vq.ClusterError``)."""


def _asarray(a, check_finite, name="obs"):
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise DataTypeError(f"{name} has non-numeric dtype {arr.dtype}; pass numbers only.")
    if check_finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("array must not contain infs or NaNs")
    return arr


def _float(arr):
    """float32 and float64 are kept; everything else becomes float64."""
    if arr.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(arr)
    return np.ascontiguousarray(arr, dtype=np.float64)


def _rng(rng, seed):
    """scipy's generator rule (SPEC 7): ``rng`` goes through
    ``np.random.default_rng`` (a RandomState's bit generator is shared by a
    new Generator, as scipy does); the legacy ``seed``
    is scipy's ``check_random_state``: an int seeds a ``RandomState``, None
    is NumPy's global RandomState (so ``np.random.seed`` applies)."""
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    if rng is not None:
        return np.random.default_rng(rng)
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    return check_random_state(seed)


def whiten(obs, check_finite=None):
    """Divide each feature (column) by its standard deviation.

    Parameters
    ----------
    obs : ndarray of shape (M, N) or (M,)
        Observations, one per row.
    check_finite : bool, optional
        Check for NaN/inf (default True).

    Returns
    -------
    ndarray
        ``obs / obs.std(axis=0)``; columns with zero deviation are left as
        they are, with a ``RuntimeWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.vq import whiten
    >>> whiten(np.array([[1.0, 2.0], [3.0, 2.0]]))  # doctest: +SKIP
    array([[1., 2.], [3., 2.]])  # with a warning about column 1
    >>> whiten(np.array([[1.0], [3.0]])).ravel().tolist()
    [1.0, 3.0]
    """
    if check_finite is None:
        check_finite = True
    obs = _asarray(obs, check_finite)
    if obs.ndim > 2:
        raise ValueError(f"obs has {obs.ndim} dimensions; whiten takes an (M, N) or (M,) array.")
    if obs.size == 0:
        raise ValueError("obs is empty; pass at least one observation.")
    if obs.dtype.kind == "f" and obs.dtype != np.float16:
        # a standard deviation beyond the float range (data near 1e154) or below it: whiten
        # an exactly scaled copy, which gives the same result (_numeric)
        scale = _numeric.choose(np.ascontiguousarray(obs.reshape(obs.shape[0], -1)))
        obs = np.ldexp(obs, scale.x_exp).astype(obs.dtype, copy=False) if scale.x_exp else obs
    std_dev = np.std(obs, axis=0)
    zero = std_dev == 0
    if np.any(zero):
        std_dev = np.where(zero, 1.0, std_dev) if np.ndim(std_dev) else np.float64(1.0)
        warnings.warn("Some columns have standard deviation zero. "
                      "The values of these columns will not change.", RuntimeWarning, stacklevel=2)
    return obs / std_dev


def vq(obs, code_book, check_finite=True):
    """Assign each observation to its nearest code (Euclidean).

    Parameters
    ----------
    obs : ndarray of shape (M, N) or (M,)
    code_book : ndarray of shape (k, N) or (k,)
    check_finite : bool

    Returns
    -------
    code : ndarray (M,) int32
        Index of each observation's nearest code.
    dist : ndarray (M,)
        Its (non-squared) distance, in the inputs' common float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.vq import vq
    >>> code, dist = vq(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 0.0]]))
    >>> code.tolist(), dist.tolist()
    ([0, 1], [0.0, 4.0])
    """
    obs = _asarray(obs, check_finite)
    code_book = _asarray(code_book, check_finite, "code_book")
    if obs.ndim != code_book.ndim:
        raise ValueError("Observation and code_book should have the same rank")
    if obs.ndim > 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    ct = np.result_type(obs, code_book)
    if ct.kind != "f" or ct == np.float16:
        ct = np.float64
    X = np.ascontiguousarray(obs, dtype=ct)
    C = np.ascontiguousarray(code_book, dtype=ct)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
        C = C.reshape(-1, 1)
    elif C.shape[1] != X.shape[1]:
        raise ValueError("Code-book and observation should have same number of features")
    if C.shape[0] == 0:
        raise ValueError("code_book is empty; pass at least one code.")
    if X.shape[0] == 0:
        return np.empty(0, np.int32), np.empty(0, ct)
    scale = _numeric.choose(X, None, C)  # extreme magnitudes: an exactly scaled copy
    labels, d2, _ = _assign(scale.data(X), scale.data(C))
    return labels, scale.values_back(np.sqrt(d2), 1, False).astype(ct)


def _assign(X, C):
    from .core import assign_arrays

    return assign_arrays(X, C, dtype=np.int32)  # scipy's code dtype


def _distinct_weighted(X):
    """``(rows, weights)``: the distinct rows of X with their multiplicities
    when that at least halves the rows (an image's pixels, say), else
    ``(X, None)``. k-means on the weighted distinct rows is k-means on X:
    the same assignments, means and mean distance."""
    n = X.shape[0]
    if n < 1024:
        return X, None
    bits = X.view(np.uint32 if X.dtype == np.float32 else np.uint64)
    first, counts, nu = unique_rows(bits, n // 2)
    if nu < 0:
        return X, None
    return np.ascontiguousarray(X[first[:nu]]), counts[:nu].astype(X.dtype)


#: Up to this many features a scipy-style run uses Hamerly's bounds (one
#: exact distance per row and iteration instead of k; see
#: ``bounds.hamerly_distortion_pass`` and docs/engine.md).
BOUNDED_MAX_D = 4

#: A scipy-style run iterates until its rule stops it.
_UNTIL_CONVERGED = 1 << 62


#: Memory for the labels and lower bounds of the restarts that run together
#: (12 bytes a row each; ``_kmeans_runs``): all 20 of scipy's default
#: restarts on up to 280,000 distinct rows, fewer at a time above.
BATCH_BYTES = 64 << 20


def _kmeans_runs(X, w, k, thresh, n_runs, seed, rng=None, scale=_numeric.IDENTITY):
    """The best of ``n_runs`` scipy-style runs (stop when the mean distance
    changes by at most ``thresh``, drop empty clusters), each from
    ``seed(rng)``; the first on ties. Returns (code_book, mean distance in
    X's dtype). ``scale`` (``_numeric.choose``): X and the seeds are on that
    scale, the results are scaled back.

    Up to ``BOUNDED_MAX_D`` features (from two clusters) the runs use
    Hamerly's bounds (``_solver.DistortionHamerlyStep``), as many restarts
    at once as ``BATCH_BYTES`` allows: each pass reads the rows once for
    all of them, and the loop's cost per iteration is shared. The seeds are
    drawn in restart order before their batch runs, so the generator gives
    the same starts as one restart after another. Above, Lloyd's pass with
    the sum of distances, one restart after another."""
    src = _solver.ArraySource(X, w, k)
    total = src.total_weight
    thresh = thresh * 2.0 ** scale.x_exp
    n, d = X.shape
    if d > BOUNDED_MAX_D or k == 1:
        step = _solver.LloydStep(src, labels_dtype=np.int32, want_sqrt=True)
        best = _solver.run_kmeans(
            step, rule=lambda: _solver.Distortion(thresh, total, X.dtype), n_init=n_runs,
            max_iter=_UNTIL_CONVERGED, rng=rng, seed=seed)
        return scale.centers_back(best.centers), scale.values_back(best.inertia, 1, False)
    per = int(max(1, min(n_runs, BATCH_BYTES // (12 * n))))
    book = dist = None
    with _solver.thread_context(None, False, work=n * k * d * per):
        for first in range(0, n_runs, per):
            C0 = np.stack([np.asarray(seed(rng), dtype=X.dtype)
                           for _ in range(min(per, n_runs - first))])
            step = _solver.DistortionHamerlyStep(src)
            run = _solver.solve(step, C0, _solver.Distortion(thresh, total, X.dtype),
                                _UNTIL_CONVERGED)
            r = int(np.argmin(run.inertia))  # the first on ties
            if dist is None or run.inertia[r] < dist:
                book, dist = step.book(run.centers, r), run.inertia[r]
    return scale.centers_back(book), scale.values_back(dist, 1, False)


def kmeans(obs, k_or_guess, iter=20, thresh=1e-05, check_finite=True, *, rng=None, seed=None):
    """k-means with scipy's conventions (see the module docstring).

    Parameters
    ----------
    obs : ndarray of shape (M, N) or (M,)
        Observations (usually whitened).
    k_or_guess : int or ndarray
        Number of centroids, or the initial code book (then one run only).
    iter : int
        Number of restarts (the best distortion is kept); ignored when a
        code book is given.
    thresh : float
        A run ends when its distortion changes by at most this.
    check_finite : bool
    rng, seed : None, int, Generator or RandomState
        Randomness for the seeding (``seed`` is scipy's older name).

    Returns
    -------
    codebook : ndarray of shape (k', N)
        Centroids (k' <= k: clusters left empty are dropped).
    distortion : float
        Mean non-squared distance of the observations to their nearest
        centroid, at the last assignment of the best run.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.vq import kmeans
    >>> pts = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> book, dist = kmeans(pts, 2, rng=0)
    >>> sorted(book.tolist()), float(dist)
    ([[0.0, 0.5], [10.0, 0.5]], 0.5)
    """
    obs = _asarray(obs, check_finite)
    guess = _asarray(k_or_guess, check_finite, "k_or_guess")
    if obs.ndim > 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    if iter < 1:
        raise ValueError(f"iter must be at least 1, got {iter}")
    if obs.size == 0:
        raise ValueError("obs is empty; pass at least one observation.")
    one_d = obs.ndim == 1
    X = _float(obs.reshape(-1, 1) if one_d else obs)
    if np.size(guess) != 1:
        if np.size(guess) < 1:
            raise ValueError(f"Asked for 0 clusters. Initial book was {guess}")
        C = np.ascontiguousarray(guess.reshape(-1, 1) if one_d else guess, dtype=X.dtype)
        if C.ndim != 2 or C.shape[1] != X.shape[1]:
            raise ValueError("Code-book and observation should have same number of features")
        Xu, wu = _distinct_weighted(X)
        scale = _numeric.choose(Xu, None, C)  # extreme magnitudes: an exactly scaled copy
        Xu, C = scale.data(Xu), scale.data(C)
        book, dist = _kmeans_runs(Xu, wu, C.shape[0], thresh, 1, lambda rng: C, scale=scale)
        return (book.ravel() if one_d else book), dist
    k = int(guess)
    if k != guess:
        raise ValueError("If k_or_guess is a scalar, it must be an integer.")
    if k < 1:
        raise ValueError(f"Asked for {k} clusters.")
    if k > X.shape[0]:
        raise ValueError(f"Asked for {k} clusters but obs has only {X.shape[0]} observations.")
    gen = _rng(rng, seed)
    Xu, wu = _distinct_weighted(X)
    # merged rows are distinct already
    n_distinct = Xu.shape[0] if wu is not None else count_distinct_upto(Xu, k)
    if n_distinct < k:
        raise ValueError(f"Asked for {k} clusters but obs has only {n_distinct} distinct "
                         f"points; ask for at most {n_distinct}.")
    cdf = None if wu is None else weight_cdf(wu)  # shared by the restarts' seedings
    scale = _numeric.choose(Xu)  # extreme magnitudes: an exactly scaled copy
    Xu = scale.data(Xu)

    def seed(rng):
        return random_points_sample(Xu, k, wu, rng, cdf=cdf, refine=_solver.refine_on_sample)

    book, dist = _kmeans_runs(Xu, wu, k, thresh, iter, seed, gen, scale)
    return (book.ravel() if one_d else book), dist


def _missing_warn():
    warnings.warn("One of the clusters is empty. Re-run kmeans with a different initialization.",
                  stacklevel=3)


def _missing_raise():
    raise ClusterError("One of the clusters is empty. Re-run kmeans with a different initialization.")


_valid_miss_meth = {"warn": _missing_warn, "raise": _missing_raise}


def _krandinit(data, k, rng):
    """Centroids drawn from a Gaussian with the data's mean and covariance."""
    mu = data.mean(axis=0)
    if data.ndim == 1:
        cov = np.cov(data)
        x = rng.standard_normal(size=k)
        x = x * np.sqrt(cov)
    elif data.shape[1] > data.shape[0]:
        _, s, vh = np.linalg.svd(data - mu, full_matrices=False)
        x = rng.standard_normal(size=(k, s.size))
        sVh = s[:, None] * vh / np.sqrt(data.shape[0] - 1.0)
        x = x @ sVh
    else:
        cov = np.atleast_2d(np.cov(data.T))
        x = rng.standard_normal(size=(k, mu.size))
        x = x @ np.linalg.cholesky(cov).T
    return x + mu


def _kpoints(data, k, rng):
    idx = rng.choice(data.shape[0], size=int(k), replace=False)
    return data[idx]


def _kpp(data, k, rng):
    """Plain k-means++ (Arthur & Vassilvitskii) with scipy's draws: the first
    centre is ``integers(n)`` (``randint`` for a RandomState), each next one
    the first row whose cumulative share of the squared distance to the
    chosen centres (float64) reaches one ``uniform()`` draw. The closest
    distances are kept from step to step (scipy recomputes them from all
    chosen centres: the same minimum, with O(n d) work a step instead of
    O(n d i))."""
    from scipy.spatial.distance import cdist

    X = data.reshape(-1, 1) if data.ndim == 1 else data
    n = X.shape[0]
    init = np.empty((int(k), X.shape[1]))
    closest = None
    for i in range(int(k)):
        if i == 0:
            idx = int(rng.integers(n) if isinstance(rng, np.random.Generator) else
                      rng.randint(n, dtype=np.int64))
        else:
            probs = closest / closest.sum()
            idx = int(np.searchsorted(probs.cumsum(), rng.uniform()))
        init[i] = X[idx]
        d2 = cdist(init[i:i + 1], X, metric="sqeuclidean")[0]
        closest = d2 if closest is None else np.minimum(closest, d2)
    return init[:, 0] if data.ndim == 1 else init


def _kpp_greedy(data, k, rng):
    """Greedy k-means++ (``minit='greedy++'``): 2 + 2 ln k candidates a step,
    the one lowering the potential most kept (kmeanskit's own seeding)."""
    X = data.reshape(-1, 1) if data.ndim == 1 else data
    try:
        C = kmeans_plusplus(_float(X), k, None, rng)
    except FewDistinctPointsError as exc:
        raise ValueError(str(exc)) from None
    return C.ravel() if data.ndim == 1 else C


_valid_init_meth = {"random": _krandinit, "points": _kpoints, "++": _kpp, "greedy++": _kpp_greedy}


def kmeans2(data, k, iter=10, thresh=1e-05, minit="random", missing="warn", check_finite=True,
            *, rng=None, seed=None):
    """k-means with scipy's ``kmeans2`` conventions: exactly ``iter``
    iterations, labels from the last assignment.

    Parameters
    ----------
    data : ndarray of shape (M, N) or (M,)
    k : int or ndarray
        Number of clusters, or the initial centroids (with
        ``minit='matrix'`` or any array of more than one element).
    iter : int
        Number of iterations.
    thresh : float
        Unused, as in scipy.
    minit : {'random', 'points', '++', 'matrix', 'greedy++'}
        Gaussian draws fitted to the data, random rows, k-means++ (these
        three draw from ``rng`` exactly as scipy does: the same generator
        gives scipy's result), ``k`` itself, or greedy k-means++ (a
        kmeanskit extension: the seeding of :func:`kmeanskit.fit`).
    missing : {'warn', 'raise'}
        What an empty cluster does: warn (it keeps its previous centroid) or
        raise :class:`ClusterError`.
    check_finite : bool
    rng, seed : None, int, Generator or RandomState

    Returns
    -------
    centroid : ndarray (k, N)
    label : ndarray (M,) int32

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.vq import kmeans2
    >>> pts = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> c, lab = kmeans2(pts, np.array([[0.0, 0.0], [10.0, 0.0]]), minit='matrix')
    >>> c.tolist(), lab.tolist()
    ([[0.0, 0.5], [10.0, 0.5]], [0, 0, 1, 1])
    """
    if int(iter) < 1:
        raise ValueError(f"Invalid iter ({iter}), must be a positive integer.")
    try:
        miss_meth = _valid_miss_meth[missing]
    except KeyError:
        raise ValueError(f"Unknown missing method {missing!r}") from None
    data = _asarray(data, check_finite, "data")
    code_book = np.array(k, copy=True)
    if data.ndim == 1:
        d = 1
    elif data.ndim == 2:
        d = data.shape[1]
    else:
        raise ValueError("Input of rank > 2 is not supported.")
    if data.size < 1 or code_book.size < 1:
        raise ValueError("Empty input is not supported.")
    if minit == "matrix" or code_book.size > 1:
        if data.ndim != code_book.ndim:
            raise ValueError("k array doesn't match data rank")
        nc = code_book.shape[0]
        if data.ndim > 1 and code_book.shape[1] != d:
            raise ValueError("k array doesn't match data dimension")
    else:
        nc = int(code_book)
        if nc < 1:
            raise ValueError(f"Cannot ask kmeans2 for {nc} clusters (k was {code_book})")
        elif nc != code_book:
            warnings.warn("k was not an integer, was converted.", stacklevel=2)
        try:
            init_meth = _valid_init_meth[minit]
        except KeyError:
            raise ValueError(f"Unknown init method {minit!r}") from None
        X2 = _float(data.reshape(-1, 1) if data.ndim == 1 else data)
        n_distinct = count_distinct_upto(X2, nc) if nc <= X2.shape[0] else X2.shape[0]
        if nc > n_distinct:
            raise ValueError(f"Asked for {nc} clusters but data has only {n_distinct} distinct "
                             f"points; ask for at most {n_distinct}.")
        pre = _numeric.choose(X2)  # extreme magnitudes: seed on an exactly scaled copy
        if pre.identity:
            code_book = init_meth(data, nc, _rng(rng, seed))
        else:
            code_book = init_meth(pre.data(X2).reshape(data.shape), nc, _rng(rng, seed))
            code_book = np.ldexp(np.asarray(code_book, dtype=np.float64), -pre.x_exp)
    one_d = data.ndim == 1
    X = _float(data.reshape(-1, 1) if one_d else data)
    C = np.ascontiguousarray(code_book.reshape(-1, 1) if one_d else code_book, dtype=X.dtype)
    scale = _numeric.choose(X, None, C)  # extreme magnitudes: an exactly scaled copy
    X, C = scale.data(X), scale.data(C)
    step = _solver.LloydStep(_solver.ArraySource(X, None, nc), labels_dtype=np.int32)
    with _solver.thread_context(None, step.source.gemm, work=X.shape[0] * nc * X.shape[1]):
        res = _solver.solve(step, C, _solver.FixedIterations(miss_meth), int(iter))
    C = scale.centers_back(res.centers)
    return (C.ravel() if one_d else C), res.labels


