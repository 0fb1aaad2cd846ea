"""Bisecting k-means: a drop-in for ``sklearn.cluster.BisectingKMeans``.

Starting from one cluster holding every row, it splits one leaf cluster at a
time in two, until there are ``n_clusters`` leaves. Each split is a 2-means
fit of the leaf's rows through the one fit path (``core.fit_arrays``: the
engine's seeding, algorithms and tolerance rule, ``n_init`` restarts); the
leaf to split next is the one with the largest inertia
(``bisecting_strategy="biggest_inertia"``) or the most rows
(``"largest_cluster"``). The splits form a binary tree: ``predict`` walks
down it, choosing the nearer of two centres at each node (as scikit-learn
does), so a row can land in a leaf whose centre is not its nearest one;
``transform`` and ``score`` use all the centres.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _solver
from ._init import INITS, FewDistinctPointsError
from ._kernels.lloyd import weighted_sse
from ._sparse import SparseRows, SparseSource
from ._validation import (
    CALLABLE,
    Interval,
    Names,
    Options,
    check_random_state,
    check_sample_weight,
    validate_params,
)
from .core import assign_arrays, fit_arrays
from .estimator import _ALGORITHM_NAMES, KMEANS_CONSTRAINTS, KMeans

__all__ = ["BisectingKMeans"]

#: Allowed parameter values, checked once at the start of ``fit``.
BISECTING_CONSTRAINTS = {
    **{p: KMEANS_CONSTRAINTS[p] for p in ("n_clusters", "max_iter", "tol", "verbose",
                                           "random_state", "copy_x", "n_threads")},
    "init": [Names(INITS), CALLABLE],
    "n_init": [Interval(int, 1, None)],
    "algorithm": [Names(_solver.ALGORITHMS, _ALGORITHM_NAMES)],
    "bisecting_strategy": [Options(("biggest_inertia", "largest_cluster"))],
}


def _rows(X, idx):
    """The rows ``idx`` of dense or sparse (``SparseRows``) data, contiguous."""
    return X.take(idx) if isinstance(X, SparseRows) else np.ascontiguousarray(X[idx])


class _Node:
    """A cluster of the bisection tree: its rows (leaves only), centre,
    score (inertia or size) and children."""

    __slots__ = ("indices", "center", "score", "left", "right", "label", "splittable")

    def __init__(self, indices, center, score):
        self.indices = indices
        self.center = center
        self.score = score
        self.left = self.right = None
        self.label = -1
        self.splittable = True

    def leaves(self):
        """The leaves, left subtree first (scikit-learn's label order)."""
        if self.left is None:
            yield self
        else:
            yield from self.left.leaves()
            yield from self.right.leaves()


class BisectingKMeans(KMeans):
    """Bisecting k-means, a drop-in for ``sklearn.cluster.BisectingKMeans``.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (leaves of the bisection tree).
    init : {"random", "k-means++", "auto", "k-means++sample"} or callable, default="random"
        Seeding of each 2-means split (greedy k-means++ for the k-means++
        names), or ``init(X, 2, random_state)``.
    n_init : int, default=1
        Restarts of each split; the lowest inertia wins.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed; the same seed gives the same tree for any thread count.
    max_iter : int, default=300
        Maximum iterations of each split.
    verbose : int, default=0
        Print each split.
    tol : float, default=1e-4
        Tolerance of each split, relative to the mean per-feature variance
        of the rows being split (scikit-learn's code passes it unscaled).
    copy_x : bool, default=True
        Accepted for compatibility: kmeanskit never modifies ``X``.
    algorithm : {"auto", "lloyd", "elkan", "hamerly", ...}, default="auto"
        Algorithm of each split (all give the same result).
    bisecting_strategy : {"biggest_inertia", "largest_cluster"}, default="biggest_inertia"
        Which leaf to split next: the one with the largest (weighted) sum of
        squared distances to its centre, or the one with the most rows.
    n_threads : int, optional
        Threads for the kernels (default: all cores).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres of the leaves, in the data's dtype.
    labels_ : ndarray of shape (n_samples,), int32
        Leaf of each training row.
    inertia_ : float
        Weighted sum of squared distances of the training rows to the
        centres of their leaves.
    n_iter_ : int
        Iterations of all the 2-means splits together.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    KMeans : flat k-means.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit import BisectingKMeans
    >>> X = np.array([[1, 1], [10, 1], [3, 1], [10, 0], [2, 1], [10, 2],
    ...               [10, 8], [10, 9], [10, 10]], dtype=float)
    >>> bk = BisectingKMeans(n_clusters=3, random_state=0).fit(X)
    >>> sorted(bk.cluster_centers_.tolist())
    [[2.0, 1.0], [10.0, 1.0], [10.0, 9.0]]
    >>> bool(bk.predict([[0.0, 0.0]])[0] == bk.labels_[0])
    True
    """

    _param_constraints = BISECTING_CONSTRAINTS

    def __init__(self, n_clusters=8, *, init="random", n_init=1, random_state=None, max_iter=300,
                 verbose=0, tol=1e-4, copy_x=True, algorithm="auto",
                 bisecting_strategy="biggest_inertia", n_threads=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.random_state = random_state
        self.max_iter = max_iter
        self.verbose = verbose
        self.tol = tol
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.bisecting_strategy = bisecting_strategy
        self.n_threads = n_threads

    metric = "euclidean"  # read by KMeans' methods (transform, score)

    def fit(self, X, y=None, sample_weight=None):
        """Build the bisection tree of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; float32 stays float32, other numbers become float64.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each row.

        Returns
        -------
        self : BisectingKMeans

        Examples
        --------
        >>> from kmeanskit import BisectingKMeans
        >>> bk = BisectingKMeans(2, random_state=0).fit([[0.0], [1.0], [10.0], [11.0]])
        >>> sorted(bk.cluster_centers_.ravel().tolist()), bk.labels_.tolist()
        ([0.5, 10.5], [0, 0, 1, 1])
        """
        validate_params(self.get_params(deep=False), self._param_constraints, type(self).__name__)
        X = self._check_X(X, reset=True, metric="euclidean")
        n, d = X.shape
        k = int(self.n_clusters)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}; "
                             f"pass at most {n} clusters or more rows.")
        w = check_sample_weight(sample_weight, n, X.dtype)
        rng = check_random_state(self.random_state)
        self._n_iter = 0
        root = _Node(np.arange(n), self._mean(X, w), 0.0)
        few = False
        for _ in range(k - 1):
            leaf = self._next_leaf(root)
            while leaf is not None and not self._bisect(X, w, leaf, rng):
                leaf = self._next_leaf(root)
            if leaf is None:  # no leaf has two distinct rows left: an empty copy keeps k centres
                few = True
                leaf = next(root.leaves())
                leaf.left = _Node(leaf.indices, leaf.center, leaf.score)
                leaf.right = _Node(leaf.indices[:0], leaf.center, 0.0)
                leaf.left.splittable = leaf.right.splittable = False
                leaf.indices = None
        labels = np.full(n, -1, dtype=np.int32)
        centers = np.empty((k, d), dtype=X.dtype)
        for i, node in enumerate(root.leaves()):
            labels[node.indices] = i
            centers[i] = node.center
            node.label = i
            node.indices = None
        self._fit_metric = "euclidean"
        self._tree = root
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = self._leaf_inertia(X, w, centers, labels)
        self.n_iter_ = self._n_iter
        if few:
            warnings.warn(f"Number of distinct clusters ({np.unique(labels).size}) found smaller than "
                          f"n_clusters ({k}). Possibly due to duplicate points in X.",
                          ConvergenceWarning, stacklevel=2)
        return self

    @staticmethod
    def _leaf_inertia(X, w, centers, labels):
        """The leaves' inertia (a row's leaf need not hold its nearest centre)."""
        if isinstance(X, SparseRows):
            d2 = SparseSource(X, w, centers.shape[0]).dist_to_assigned(centers, labels,
                                                                      np.empty(X.shape[0]))
            return float(np.sum(d2) if w is None else np.dot(w, d2))
        src = _solver.ArraySource(X, w, centers.shape[0], buffers=False)
        return float(weighted_sse(X, src.ww, src.use_w, centers, labels, src.n_blocks))

    @staticmethod
    def _mean(X, w):
        if isinstance(X, SparseRows):
            M = X.to_scipy()
            m = M.mean(axis=0) if w is None else (w @ M) / np.sum(w, dtype=np.float64)
            return np.asarray(m, dtype=np.float64).ravel().astype(X.dtype)
        if w is None:
            return X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        return (np.average(X, axis=0, weights=w)).astype(X.dtype)

    def _next_leaf(self, root):
        """The splittable leaf of largest score (the first on ties), or None."""
        best = None
        for leaf in root.leaves():
            if leaf.splittable and (best is None or leaf.score > best.score):
                best = leaf
        return best

    def _bisect(self, X, w, leaf, rng) -> bool:
        """Split ``leaf`` by a 2-means fit of its rows; False (and the leaf
        marked unsplittable) when its rows have fewer than two distinct
        points."""
        idx = leaf.indices
        if idx.size < 2:
            leaf.splittable = False
            return False
        S = _rows(X, idx)
        ws = None if w is None else np.ascontiguousarray(w[idx])
        if ws is not None and np.count_nonzero(ws) < 2:
            leaf.splittable = False
            return False
        algorithm = self.algorithm if self.algorithm in _solver.ALGORITHMS else "auto"
        try:
            res = fit_arrays(S, 2, ws, init=self.init, n_init=int(self.n_init), max_iter=self.max_iter,
                             tol=self.tol, rng=rng, algorithm=algorithm, n_threads=self.n_threads,
                             verbose=max(0, int(self.verbose) - 1))
        except FewDistinctPointsError:
            leaf.splittable = False
            return False
        self._n_iter += int(res.n_iter)
        lab = np.asarray(res.labels)
        if self.bisecting_strategy == "biggest_inertia":
            _, d2, _ = assign_arrays(S, res.centers, None, self.n_threads)
            scores = np.bincount(lab, weights=d2 if ws is None else d2 * ws, minlength=2)
        else:  # largest_cluster: rows, as scikit-learn counts them
            scores = np.bincount(lab, minlength=2).astype(np.float64)
        if self.verbose:
            print(f"Bisected a cluster of {idx.size} rows into {np.bincount(lab, minlength=2).tolist()}.")
        leaf.left = _Node(idx[lab == 0], res.centers[0], float(scores[0]))
        leaf.right = _Node(idx[lab == 1], res.centers[1], float(scores[1]))
        leaf.indices = None
        return True

    def predict(self, X):
        """Leaf of each row, going down the bisection tree: at each split
        the nearer of the two child centres (scikit-learn's rule).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32

        Examples
        --------
        >>> from kmeanskit import BisectingKMeans
        >>> bk = BisectingKMeans(2, random_state=0).fit([[0.0], [1.0], [10.0], [11.0]])
        >>> bk.predict([[2.0], [9.0]]).tolist()
        [0, 1]
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        labels = np.empty(X.shape[0], dtype=np.int32)
        self._descend(X, np.arange(X.shape[0]), self._tree, labels)
        return labels

    def _descend(self, X, rows, node, out):
        if node.left is None:
            out[rows] = node.label
            return
        if rows.size == 0:
            return
        C = np.ascontiguousarray(np.vstack((node.left.center, node.right.center)), dtype=X.dtype)
        S = _rows(X, rows)
        lab = assign_arrays(S, C, None, self.n_threads, dtype=np.int32)[0]
        self._descend(X, rows[lab == 0], node.left, out)
        self._descend(X, rows[lab == 1], node.right, out)
