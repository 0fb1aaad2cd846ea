"""Mini-batch k-means: a drop-in for ``sklearn.cluster.MiniBatchKMeans``.

Each step draws ``batch_size`` rows (uniformly, or in proportion to the
sample weights), assigns them with the Lloyd pass of the engine (the same
numba kernel as :func:`kmeanskit.fit`, SIMD lanes or BLAS by shape, fixed
row blocks) and moves every centre that received rows to the running mean
of all the rows it has received so far (scikit-learn's per-centre learning
rate ``1 / count``)::

    c_j <- (count_j c_j + sum of the batch's rows in j) / (count_j + batch weight in j)

The steps run in the solver's one loop (``_solver.solve``): a step
(:class:`MiniBatchStep`: draw, assign, update, reassign rare centres) and a
rule (:class:`MiniBatchRule`: scikit-learn's early stopping on the smoothed
batch inertia or on the centre shift). ``partial_fit`` is one step of the
same loop on the rows it is given.

Differences from scikit-learn, all deliberate: the batches are drawn with
a cumulative table built once (scikit-learn's ``choice(p=...)`` rebuilds it
at every step, O(n) each), the seeding is kmeanskit's greedy k-means++ on
``init_size`` rows, and the same seed gives the same centres for any
number of threads (the kernels' blocks are fixed by the batch's shape).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _numeric, _solver
from ._init import FewDistinctPointsError
from ._kernels.lloyd import STAT_CHANGED, STAT_INERTIA
from ._kernels.minibatch import update_centres
from ._sparse import SparseRows, SparseSource, column_variance_mean
from ._sparse import initial_centers as sparse_initial_centers
from ._validation import Interval, Options, check_random_state, check_sample_weight, validate_params
from .core import _scaled, _values, assign_arrays, resolve_n_init
from .estimator import KMEANS_CONSTRAINTS, KMeans

__all__ = ["MiniBatchKMeans", "MiniBatchStep", "MiniBatchRule"]

#: Allowed parameter values, checked once at the start of ``fit`` / ``partial_fit``.
MINIBATCH_CONSTRAINTS = {
    **{p: KMEANS_CONSTRAINTS[p] for p in ("n_clusters", "init", "n_init", "max_iter", "tol",
                                           "verbose", "random_state", "n_threads")},
    "batch_size": [Interval(int, 1, None)],
    "compute_labels": [Options((True, False))],
    "max_no_improvement": [Interval(int, 0, None), Options((None,))],
    "init_size": [Interval(int, 1, None), Options((None,))],
    "reassignment_ratio": [Interval(float, 0, None)],
}


def _integers(rng, n, size):
    """``size`` uniform row indices in [0, n) from a Generator or a RandomState."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, n, size)
    return rng.randint(0, n, size)


def _rows(X, idx):
    """The rows ``idx`` of dense or sparse (``SparseRows``) data, contiguous."""
    return X.take(idx) if isinstance(X, SparseRows) else np.ascontiguousarray(X[idx])


def _dense(X):
    return X.dense_rows(np.arange(X.shape[0])) if isinstance(X, SparseRows) else X.copy()


def _initial_centers(X, k, w, init, rng):
    """Dense centres from the seeding registries (dense or sparse rows)."""
    if isinstance(X, SparseRows):
        return sparse_initial_centers(X, k, w, init, rng)
    return _solver.initial_centers(X, k, w, init, rng)


def _tolerance(X, tol):
    """``tol`` times the data's mean per-feature variance."""
    if isinstance(X, SparseRows):
        return 0.0 if tol == 0 else column_variance_mean(X) * tol
    return _solver.tolerance(X, tol)


class MiniBatchStep(_solver.Step):
    """One mini-batch step of the solver's loop.

    ``assign`` draws a batch (``batch_size`` rows; with ``batch_size=None``
    the batch is all of X with its weights: ``partial_fit``) and runs the
    Lloyd pass on it; ``update`` moves the centres with the per-centre
    learning rate and, when due, reassigns the centres that received few
    rows; ``final`` labels all of X (``compute_labels``). ``counts`` (k,)
    float64, the weight each centre has received, is updated in place: the
    estimator keeps it across ``partial_fit`` calls.
    """

    def __init__(self, X, w, k, *, counts, rng, batch_size=None, reassignment_ratio=0.01,
                 state=None, verbose=0):
        self.sparse = isinstance(X, SparseRows)  # CSR rows (kmeanskit._sparse), dense centres
        super().__init__(SparseSource(X, w, k) if self.sparse else
                         _solver.ArraySource(X, w, k, buffers=False), labels_dtype=np.int32)
        n, d = X.shape
        self.rng = rng
        self.counts = counts
        self.ratio = float(reassignment_ratio)
        self.verbose = verbose
        # rows since the last reassignment check, kept by the estimator across partial_fit
        self.state = {"n_since_reassign": 0} if state is None else state
        if batch_size is None:  # partial_fit: the batch is X itself, with its weights
            self.batch = self.source if self.sparse else _solver.ArraySource(X, w, k)
            self.batch_rows = None
            self.cdf = None
        else:
            self.batch_rows = np.zeros(batch_size, np.int64)
            # one source with its pass buffers for every batch: its rows are replaced at each draw
            self.batch = SparseSource(X.take(self.batch_rows), None, k) if self.sparse else \
                _solver.ArraySource(np.empty((batch_size, d), X.dtype), None, k)
            # weighted draws through a cumulative table built once
            self.cdf = None if w is None else np.cumsum(w, dtype=np.float64) / np.sum(w, dtype=np.float64)
        self.blabels = np.zeros(self.batch.X.shape[0], np.int32)

    def start(self, C):
        """A run from ``C``: the batch's labels (all rows only in :meth:`final`)."""
        self.labels = self.blabels  # the full labels only in final()

    def draw(self):
        """Fill the batch with rows of X (uniform, or by weight)."""
        if self.batch_rows is None:
            return
        b = self.batch_rows.size
        n = self.source.X.shape[0]
        if self.cdf is None:
            self.batch_rows[:] = _integers(self.rng, n, b)
        else:
            u = self.rng.random(b)
            np.minimum(np.searchsorted(self.cdf, u * self.cdf[-1], side="right"), n - 1,
                       out=self.batch_rows)
        if self.sparse:
            self.batch.X = self.source.X.take(self.batch_rows)
        else:
            np.take(self.source.X, self.batch_rows, axis=0, out=self.batch.X)

    def reassign_due(self) -> bool:
        """scikit-learn's schedule: after every ``10 k`` rows, or whenever a
        centre has received nothing yet."""
        self.state["n_since_reassign"] += self.batch.X.shape[0]
        if (self.counts == 0).any() or self.state["n_since_reassign"] >= 10 * self.k:
            self.state["n_since_reassign"] = 0
            return True
        return False

    def assign(self, C, want_objective):
        """Draw a batch and assign it: its sums, weights and inertia."""
        self.draw()
        self.reassign = self.reassign_due()
        stats, self.sums, self.wsums = self.batch.assign(C, self.blabels, update=True)
        return _solver.PassResult(stats[STAT_CHANGED], float(stats[STAT_INERTIA]))

    def update(self, C):
        """Each centre that received rows moves to the running mean of all
        the rows it has received; then rare centres are reassigned when due."""
        C_new = np.empty_like(C)
        # one compiled call: the update, the counts and the reassignment check
        rare = update_centres(C, self.counts, self.sums, self.wsums,
                              self.ratio if self.reassign else 0.0, C_new)
        if rare:
            self.reassign_rare(C_new)
        return C_new

    def reassign_rare(self, C):
        """Move the centres whose count is below ``reassignment_ratio`` times
        the largest onto random rows of the batch (at most half the batch);
        their counts become the smallest count kept, so that they are not
        reassigned at once again (scikit-learn's rule)."""
        counts = self.counts
        rare = counts < self.ratio * counts.max()
        b = self.batch.X.shape[0]
        if rare.sum() > 0.5 * b:
            rare[np.argsort(counts, kind="stable")[int(0.5 * b):]] = False
        m = int(rare.sum())
        if m == 0:
            return
        rows = self.rng.choice(b, size=m, replace=False)
        if self.verbose:
            print(f"[MiniBatchKMeans] Reassigning {m} cluster centers.")
        C[rare] = self.batch.X.dense_rows(rows) if self.sparse else self.batch.X[rows]
        counts[rare] = np.min(counts[~rare])

    def moved(self, C, C_new):
        """Nothing to follow: the next batch is assigned afresh."""

    def final(self, C, strict, last):
        """All rows of X labelled with ``C``, and their (weighted) inertia."""
        labels = np.empty(self.source.X.shape[0], np.int32)
        X, w = self.source.X, self.source.w
        src = SparseSource(X, w, self.k) if self.sparse else _solver.ArraySource(X, w, self.k)
        stats, _, _ = src.assign(C, labels, update=False)
        return labels, float(stats[STAT_INERTIA])


class MiniBatchRule(_solver.Rule):
    """scikit-learn's early stopping for mini-batches: the batch inertia per
    row, smoothed by an exponentially weighted average (weight
    ``2 batch_size / (n + 1)``), must fall below its lowest value within
    ``max_no_improvement`` steps, and (with ``tol_abs`` > 0) a step that
    moves the centres by at most ``tol_abs`` (sum of squared shifts) ends
    the run. The first step's inertia (that of the initial centres) is not
    counted. Without a final pass the objective is the smoothed inertia
    times the total weight (scikit-learn's ``inertia_`` without labels)."""

    def __init__(self, *, tol_abs, max_no_improvement, batch_size, n, total_weight,
                 compute_labels=True, verbose=0):
        self.final_pass = compute_labels
        self.verbose = verbose
        self.tol_abs = tol_abs
        self.max_no_improvement = max_no_improvement
        self.batch_size = batch_size
        self.alpha = min(batch_size * 2.0 / (n + 1), 1.0)
        self.total_weight = total_weight
        self.ewa = self.ewa_min = None
        self.no_improvement = 0
        self.last = None

    def stop_after_update(self, it, res, C, C_new, verbose, step):
        """Smoothed batch inertia and centre shift: (stop, strict=False)."""
        batch_inertia = res.objective / self.batch_size
        verbose = verbose or self.verbose
        self.last = batch_inertia
        if it == 0:
            return False, False
        self.ewa = batch_inertia if self.ewa is None else \
            self.ewa * (1 - self.alpha) + batch_inertia * self.alpha
        if verbose:
            print(f"Minibatch step {it + 1}: mean batch inertia {batch_inertia:.6g}, "
                  f"ewa inertia {self.ewa:.6g}")
        if self.tol_abs > 0:
            shift = float(np.sum((C_new.astype(np.float64) - C) ** 2))
            if shift <= self.tol_abs:
                if verbose:
                    print(f"Converged (small centers change) at step {it + 1}")
                return True, False
        if self.ewa_min is None or self.ewa < self.ewa_min:
            self.no_improvement = 0
            self.ewa_min = self.ewa
        else:
            self.no_improvement += 1
        if self.max_no_improvement is not None and self.no_improvement >= self.max_no_improvement:
            if verbose:
                print(f"Converged (lack of improvement in inertia) at step {it + 1}")
            return True, False
        return False, False

    def objective(self, res):
        """The smoothed batch inertia per row times the total weight."""
        ewa = self.ewa if self.ewa is not None else self.last
        return float(ewa * self.total_weight)


class _OneStep(_solver.Rule):
    """``partial_fit``: one step, then (``compute_labels``) labels for its rows."""

    def __init__(self, compute_labels):
        self.final_pass = compute_labels


class MiniBatchKMeans(KMeans):
    """Mini-batch k-means, a drop-in for ``sklearn.cluster.MiniBatchKMeans``.

    Each step draws ``batch_size`` rows, assigns them to the nearest centres
    with the engine's Lloyd pass, and moves each centre to the running mean
    of all the rows it has received. Faster than :class:`KMeans` per pass
    over the data, but it stops near, not at, a k-means fixed point:
    docs/estimator.md says when it is worth it (measured).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random", "auto", "k-means++sample"}, array of \
shape (n_clusters, n_features) or callable, default="k-means++"
        Seeding, run on ``init_size`` random rows (greedy k-means++ by
        default), explicit centres, or ``init(X, n_clusters, random_state)``.
    max_iter : int, default=100
        Maximum passes over the data: at most ``max_iter * n_samples //
        batch_size`` steps.
    batch_size : int, default=1024
        Rows per step.
    verbose : int, default=0
        Print the batch inertia at each step.
    compute_labels : bool, default=True
        Label all training rows at the end (``labels_``, exact
        ``inertia_``); otherwise ``inertia_`` is the smoothed batch inertia
        times the total weight and there is no ``labels_``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the seeding, the batches and the reassignments; the same
        seed gives the same result for any thread count.
    tol : float, default=0.0
        Stop when a step moves the centres by at most ``tol`` times the
        data's mean per-feature variance (sum of squared shifts); 0 turns
        this off.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new lowest smoothed batch
        inertia; None turns this off.
    init_size : int, optional
        Rows (drawn at random) to seed on; default ``3 * batch_size``, at
        least ``3 * n_clusters``, at most n_samples. The seeding candidates
        of ``n_init`` are compared on another such draw.
    n_init : int or "auto", default="auto"
        Seedings tried (the best on the validation rows is kept); "auto" is
        1 for the k-means++ variants, 3 for "random" and callables.
    reassignment_ratio : float, default=0.01
        Centres that received less than this fraction of the largest count
        are moved onto random rows of the batch (after every ``10 k`` rows,
        or while a centre has received nothing).
    n_threads : int, optional
        Threads for the kernels (default: all cores).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the data's dtype.
    labels_ : ndarray of shape (n_samples,), int32
        Labels of the training rows (with ``compute_labels``).
    inertia_ : float
        Weighted sum of squared distances of the training rows to their
        centres (with ``compute_labels``; else the estimate above).
    n_iter_ : int
        Passes over the data started: ``ceil(n_steps_ * batch_size / n)``.
    n_steps_ : int
        Mini-batch steps run (``partial_fit`` calls included).
    counts_ : ndarray of shape (n_clusters,), float64
        Weight of the rows each centre has received (its learning rate is
        ``1 / counts_``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    KMeans : exact k-means (Lloyd or the bounded algorithms).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit import MiniBatchKMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = MiniBatchKMeans(n_clusters=2, batch_size=6, random_state=0).fit(X)
    >>> km.labels_.tolist() in ([0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0])  # the two groups
    True
    >>> km.predict([[0.0, 0.0], [12.0, 3.0]]).tolist() == [km.labels_[0], km.labels_[3]]
    True

    ``partial_fit`` takes the data a batch at a time (streams, files too
    large for memory):

    >>> km = MiniBatchKMeans(n_clusters=2, random_state=0)
    >>> for _ in range(3):
    ...     km = km.partial_fit(X)
    >>> km.n_steps_, sorted(np.round(km.cluster_centers_).tolist())
    (3, [[1.0, 2.0], [10.0, 2.0]])
    """

    _param_constraints = MINIBATCH_CONSTRAINTS

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_size=1024, verbose=0,
                 compute_labels=True, random_state=None, tol=0.0, max_no_improvement=10,
                 init_size=None, n_init="auto", reassignment_ratio=0.01, n_threads=None):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_threads = n_threads

    metric = "euclidean"  # the mean update is the Euclidean k-means'; read by KMeans' methods

    def _check_inputs(self, X, sample_weight, reset):
        validate_params(self.get_params(deep=False), self._param_constraints, type(self).__name__)
        X = self._check_X(X, reset=reset, metric="euclidean")
        n = X.shape[0]
        k = int(self.n_clusters)
        if n < k and reset:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}; "
                             f"pass at most {n} clusters or more rows.")
        w = check_sample_weight(sample_weight, n, X.dtype)
        return X, w, k

    def _sizes(self, n, k):
        """(batch size, init size) for n rows, as scikit-learn sets them."""
        batch = min(int(self.batch_size), n)
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * batch
            if init_size < k:
                init_size = 3 * k
        elif init_size < k:
            warnings.warn(f"init_size={init_size} should be larger than n_clusters={k}. Setting it "
                          "to min(3*n_clusters, n_samples)", RuntimeWarning, stacklevel=3)
            init_size = 3 * k
        return batch, min(int(init_size), n)

    def _seed(self, X, w, k, init, init_size, rng, n_init):
        """The best of ``n_init`` seedings, each on ``init_size`` random rows,
        compared by their inertia on another ``init_size`` random rows."""
        n = X.shape[0]
        if not isinstance(init, str) and not callable(init):
            return init
        valid = _integers(rng, n, init_size)
        Xv = _rows(X, valid)
        wv = None if w is None else np.ascontiguousarray(w[valid])
        best = best_inertia = None
        for r in range(n_init):
            rows = _integers(rng, n, init_size) if init_size < n else None
            S = X if rows is None else _rows(X, rows)
            ws = w if rows is None or w is None else np.ascontiguousarray(w[rows])
            if ws is not None and np.count_nonzero(ws) < k:  # the draw missed the weighted rows
                S, ws = X, w
            try:
                C = _initial_centers(S, k, ws, init, rng)
            except FewDistinctPointsError:
                try:  # the draw repeated rows: seed on all rows
                    C = _initial_centers(X, k, w, init, rng)
                except FewDistinctPointsError:  # fewer distinct rows than k: repeats
                    C = _dense(_rows(X, _integers(rng, n, k)))
            inertia = assign_arrays(Xv, C, wv, self.n_threads)[2]
            if self.verbose:
                print(f"Inertia for init {r + 1}/{n_init}: {inertia:.6g}")
            if best is None or inertia < best_inertia:
                best, best_inertia = C, inertia
        return best

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres from mini-batches of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; float32 stays float32, other numbers become float64.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Batches draw rows in proportion to these weights (the seeding
            uses them too).

        Returns
        -------
        self : MiniBatchKMeans

        Examples
        --------
        >>> from kmeanskit import MiniBatchKMeans
        >>> km = MiniBatchKMeans(1, random_state=0).fit([[0.0], [2.0]])
        >>> # the running mean of the rows drawn (with replacement) by the batches
        >>> bool(0.0 < km.cluster_centers_[0, 0] < 2.0), km.n_features_in_, km.counts_.tolist()
        (True, 1, [24.0])
        """
        X, w, k = self._check_inputs(X, sample_weight, reset=True)
        n, d = X.shape
        rng = check_random_state(self.random_state)
        batch, init_size = self._sizes(n, k)
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = self._check_init_array(init, X, "euclidean")
        # data of extreme magnitude runs on an exactly scaled copy, as KMeans (_numeric)
        scale = _numeric.choose(_values(X), w, init if isinstance(init, np.ndarray) else None)
        if not scale.identity:
            X, w, init = _scaled(X, scale), scale.weights(w), _numeric.scaled_init(init, scale)
        n_init = resolve_n_init(init, self.n_init, type(self).__name__)
        if n_init == 10 and self.n_init == "auto":
            n_init = 3  # scikit-learn's "auto" for MiniBatchKMeans' random seedings
        counts = np.zeros(k)
        total = float(n) if w is None else float(np.sum(w, dtype=np.float64))
        n_steps = max(1, (int(self.max_iter) * n) // batch)
        step = MiniBatchStep(X, w, k, counts=counts, rng=rng, batch_size=batch,
                             reassignment_ratio=self.reassignment_ratio, verbose=self.verbose)
        rule = MiniBatchRule(tol_abs=_tolerance(X, self.tol), batch_size=batch, n=n,
                             max_no_improvement=self.max_no_improvement, total_weight=total,
                             compute_labels=bool(self.compute_labels), verbose=int(self.verbose))
        with _solver.thread_context(self.n_threads, step.batch.gemm, work=batch * k * d):
            C0 = self._seed(X, w, k, init, init_size, rng, n_init)
            res = _solver.solve(step, C0, rule, n_steps, verbose=0)
        self._set_fitted(res, counts, n, batch, k)
        self._scale_back(scale)
        self._rng, self._reassign_state = rng, step.state  # partial_fit continues from here
        self.n_steps_ = int(res.n_iter)
        self.n_iter_ = int(np.ceil(res.n_iter * batch / n))
        return self

    def _set_fitted(self, res, counts, n, batch, k):
        self._fit_metric = "euclidean"
        self.cluster_centers_ = res.centers
        self.counts_ = counts
        self.inertia_ = float(res.inertia)
        if self.compute_labels:
            # no warning when a centre owns no row: normal for mini-batches (as scikit-learn)
            self.labels_ = np.asarray(res.labels, dtype=np.int32)

    def _scale_back(self, scale, inertia: bool = True):
        """The centres, counts and (with ``inertia``) inertia just fitted on a
        scaled copy (``_numeric``), in the data's units."""
        if scale.identity:
            return
        self.cluster_centers_ = scale.centers_back(self.cluster_centers_)
        self.counts_ = scale.values_back(self.counts_, 0, True)
        if inertia:
            self.inertia_ = scale.values_back(self.inertia_, 2, True, "inertia")

    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on all of ``X`` (its rows are the batch).

        The first call seeds the centres on ``X`` (on ``init_size`` of its
        rows); the later ones continue from the current centres and counts.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows in the centre update.

        Returns
        -------
        self : MiniBatchKMeans

        Examples
        --------
        >>> import numpy as np
        >>> from kmeanskit import MiniBatchKMeans
        >>> km = MiniBatchKMeans(2, init=np.array([[0.0], [10.0]]))
        >>> km = km.partial_fit([[0.0], [2.0], [10.0]]).partial_fit([[4.0], [12.0]])
        >>> km.cluster_centers_.ravel().tolist(), km.counts_.tolist(), km.n_steps_
        ([2.0, 11.0], [3.0, 2.0], 2)
        """
        first = not hasattr(self, "cluster_centers_")
        X, w, k = self._check_inputs(X, sample_weight, reset=first)
        n, d = X.shape
        # a batch of extreme magnitude (or centres far from it) runs on exactly scaled copies,
        # the counts (sums of weights) scaled with the weights (_numeric)
        given = None
        if first and not isinstance(self.init, str) and not callable(self.init):
            given = self._check_init_array(self.init, X, "euclidean")
        elif not first:
            given = self.cluster_centers_.astype(X.dtype, copy=False)
        scale = _numeric.choose(_values(X), w, given)
        if not scale.identity:
            X, w = _scaled(X, scale), scale.weights(w)
        if first:
            if n < k:
                raise ValueError(f"n_samples={n} should be >= n_clusters={k}; "
                                 f"pass at most {n} clusters or more rows.")
            self._rng = check_random_state(self.random_state)
            init = self.init if given is None else scale.data(given)
            _, init_size = self._sizes(n, k)
            n_init = resolve_n_init(init, self.n_init, type(self).__name__)
            if n_init == 10 and self.n_init == "auto":
                n_init = 3
            C = self._seed(X, w, k, init, init_size, self._rng, n_init)
            counts = np.zeros(k)
            self._reassign_state = {"n_since_reassign": 0}
            self.n_steps_ = 0
        else:
            C = scale.data(given)
            counts = scale.weights(self.counts_)  # the same array when the weights are not scaled
        step = MiniBatchStep(X, w, k, counts=counts, rng=self._rng, batch_size=None,
                             reassignment_ratio=self.reassignment_ratio,
                             state=self._reassign_state, verbose=self.verbose)
        with _solver.thread_context(self.n_threads, step.batch.gemm, work=n * k * d):
            res = _solver.solve(step, C, _OneStep(bool(self.compute_labels)), 1)
        self._fit_metric = "euclidean"
        self.cluster_centers_ = res.centers
        self.counts_ = counts
        if self.compute_labels:
            self.labels_ = np.asarray(res.labels, dtype=np.int32)
            self.inertia_ = float(res.inertia)
        self._scale_back(scale, bool(self.compute_labels))
        self.n_steps_ += 1
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the labels of ``X``. See :meth:`fit`.

        Examples
        --------
        >>> from kmeanskit import MiniBatchKMeans
        >>> MiniBatchKMeans(2, init=[[0.0], [10.0]], random_state=0).fit_predict([[0.0], [1.0], [10.0]]).tolist()
        [0, 0, 1]
        """
        self.fit(X, sample_weight=sample_weight)
        if self.compute_labels:
            return self.labels_
        return self.predict(X)
