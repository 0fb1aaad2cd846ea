"""Cluster validity indices: inertia, silhouette, Calinski-Harabasz,
Davies-Bouldin.

All of them accept ``sample_weight``, where a row of weight ``m`` counts as
``m`` identical rows (as in :func:`kmeanskit.fit`); with no weights they equal
scikit-learn's ``silhouette_score``, ``calinski_harabasz_score`` and
``davies_bouldin_score`` on the same labels.

The silhouette never builds the n x n distance matrix. Up to ``max_exact``
rows it is exact, computed by a numba kernel that streams over the rows and
keeps only one row of per-cluster distance sums per scored point. Beyond
that it is a sampled estimate with a standard error (see :func:`silhouette`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ._config import FASTMATH
from ._validation import as_float_array, check_random_state, check_sample_weight

__all__ = ["inertia", "silhouette", "silhouette_samples", "calinski_harabasz", "davies_bouldin",
           "SilhouetteScore"]

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))

#: Default largest number of rows for which the silhouette is exact.
SILHOUETTE_MAX_EXACT = 10_000
#: Default number of rows scored by the sampled silhouette estimate.
SILHOUETTE_N_SAMPLES = 2_000
#: Default largest reference set for the sampled silhouette estimate.
SILHOUETTE_MAX_REFERENCE = 100_000


# --- kernels ----------------------------------------------------------------

@njit(parallel=True, **_JIT)
def _cluster_distance_sums(X, R, w, use_w, ref_labels, k, query, out):
    """out[q, c] = sum over reference rows j in cluster c of w_j * ||X[query[q]] - R[j]||.

    Parallel over scored rows: each writes only its own row of ``out``, and
    the sum over j runs in a fixed order, so the result does not depend on
    the number of threads. Memory: O(len(query) x k)."""
    m = query.shape[0]
    nr, d = R.shape
    for q in prange(m):
        i = query[q]
        acc = np.zeros(k)
        for j in range(nr):
            s = 0.0
            for f in range(d):
                t = np.float64(X[i, f]) - np.float64(R[j, f])
                s += t * t
            wj = np.float64(w[j]) if use_w else 1.0
            acc[ref_labels[j]] += wj * np.sqrt(s)
        for c in range(k):
            out[q, c] = acc[c]


# --- helpers ----------------------------------------------------------------

def _prepare(X, labels, sample_weight):
    X = as_float_array(X)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels has shape {labels.shape} but X has {X.shape[0]} rows; "
                         "pass one label per row.")
    if labels.dtype.kind not in "iub":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}; pass cluster indices.")
    uniq, lab = np.unique(labels, return_inverse=True)
    w = check_sample_weight(sample_weight, X.shape[0], np.float64)
    return X, lab.astype(np.int64).ravel(), uniq.size, w


def _check_n_labels(k, n, name):
    if not 2 <= k <= n - 1:
        raise ValueError(f"{name} needs 2 <= number of clusters <= n_samples - 1, got {k} cluster(s) "
                         f"for {n} rows; score a clustering with at least 2 clusters.")


def _weights(w, n):
    return np.ones(n) if w is None else w


def _centroids(X, lab, k, w):
    """Weighted cluster means (float64) and weights per cluster."""
    ww = _weights(w, X.shape[0])
    wk = np.bincount(lab, weights=ww, minlength=k)
    C = np.empty((k, X.shape[1]))
    for f in range(X.shape[1]):
        C[:, f] = np.bincount(lab, weights=ww * X[:, f], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        C /= wk[:, None]
    return C, wk


def _dist_to_own_centroid(X, lab, C, squared, chunk=1 << 18):
    out = np.empty(X.shape[0])
    for s in range(0, X.shape[0], chunk):
        diff = X[s:s + chunk].astype(np.float64) - C[lab[s:s + chunk]]
        d2 = np.einsum("ij,ij->i", diff, diff)
        out[s:s + chunk] = d2 if squared else np.sqrt(d2)
    return out


# --- public -----------------------------------------------------------------

def inertia(X, labels, centers=None, *, sample_weight=None) -> float:
    """Weighted sum of squared distances of rows to their cluster centre.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster index of each row.
    centers : array-like of shape (k, n_features), optional
        Centre of cluster ``j`` in row ``j``; by default the (weighted)
        mean of each cluster's rows.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float

    Examples
    --------
    >>> from kmeanskit.metrics import inertia
    >>> inertia([[0.0], [2.0], [10.0]], [0, 0, 1])
    2.0
    """
    if centers is None:
        X, lab, k, w = _prepare(X, labels, sample_weight)
        C, _ = _centroids(X, lab, k, w)
    else:
        X = as_float_array(X)
        lab = np.asarray(labels).astype(np.int64)
        w = check_sample_weight(sample_weight, X.shape[0], np.float64)
        C = as_float_array(centers, name="centers").astype(np.float64)
        if lab.size and (lab.min() < 0 or lab.max() >= C.shape[0]):
            raise ValueError(f"labels must lie in [0, {C.shape[0] - 1}] to index the centres.")
    d2 = _dist_to_own_centroid(X, lab, C, squared=True)
    return float(d2.sum() if w is None else d2 @ w)


def calinski_harabasz(X, labels, *, sample_weight=None) -> float:
    """Calinski-Harabasz index: between- over within-cluster dispersion,
    each divided by its degrees of freedom (higher is better).

    ``CH = [B / (k - 1)] / [W / (n - k)]`` with ``n`` the total weight.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    labels : array-like of shape (n_samples,), int
        Cluster of each row (any integers; at least 2 distinct values and
        fewer than ``n_samples``).
    sample_weight : array-like of shape (n_samples,), optional
        A row of weight ``m`` counts as ``m`` identical rows.

    Returns
    -------
    float
        The index; 1.0 when every row sits on its centroid (W = 0), as in
        scikit-learn.

    Examples
    --------
    >>> from kmeanskit.metrics import calinski_harabasz
    >>> round(calinski_harabasz([[0.0], [1.0], [10.0], [11.0]], [0, 0, 1, 1]), 6)
    200.0
    """
    X, lab, k, w = _prepare(X, labels, sample_weight)
    n = X.shape[0]
    _check_n_labels(k, n, "calinski_harabasz")
    ww = _weights(w, n)
    C, wk = _centroids(X, lab, k, w)
    ntot = float(ww.sum())
    mean = (wk @ C) / ntot
    between = float(wk @ ((C - mean) ** 2).sum(axis=1))
    within = float(_dist_to_own_centroid(X, lab, C, squared=True) @ ww)
    if within == 0.0:
        return 1.0  # scikit-learn's convention
    return between * (ntot - k) / (within * (k - 1.0))


def davies_bouldin(X, labels, *, sample_weight=None) -> float:
    """Davies-Bouldin index: mean over clusters of the worst ratio
    ``(s_i + s_j) / ||c_i - c_j||`` (lower is better), ``s_i`` being the mean
    distance of cluster ``i``'s rows to its centroid.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    labels : array-like of shape (n_samples,), int
        Cluster of each row (any integers; at least 2 distinct values and
        fewer than ``n_samples``).
    sample_weight : array-like of shape (n_samples,), optional
        A row of weight ``m`` counts as ``m`` identical rows.

    Returns
    -------
    float
        The index, >= 0; 0.0 when every cluster has zero spread or all
        centroids coincide, as in scikit-learn.

    Examples
    --------
    >>> from kmeanskit.metrics import davies_bouldin
    >>> round(davies_bouldin([[0.0], [1.0], [10.0], [11.0]], [0, 0, 1, 1]), 6)
    0.1
    """
    X, lab, k, w = _prepare(X, labels, sample_weight)
    n = X.shape[0]
    _check_n_labels(k, n, "davies_bouldin")
    ww = _weights(w, n)
    C, wk = _centroids(X, lab, k, w)
    dist = _dist_to_own_centroid(X, lab, C, squared=False)
    s = np.bincount(lab, weights=ww * dist, minlength=k) / wk
    return _davies_bouldin_from(s, C)


def _davies_bouldin_from(s, C) -> float:
    """The Davies-Bouldin index from each cluster's mean distance to its
    centroid ``s`` and the centroids ``C`` (k x features; the centroid
    distances one centroid at a time, no k x k x features array)."""
    k = C.shape[0]
    cd = np.empty((k, k))
    for j in range(k):
        cd[j] = np.sqrt(((C - C[j]) ** 2).sum(axis=1))
    if np.allclose(s, 0) or np.allclose(cd, 0):
        return 0.0  # scikit-learn's convention
    cd[cd == 0] = np.inf
    R = (s[:, None] + s[None, :]) / cd
    np.fill_diagonal(R, -np.inf)
    return float(np.mean(R.max(axis=1)))


class SilhouetteScore(NamedTuple):
    """Mean silhouette with how it was obtained, from :func:`silhouette`.

    Attributes
    ----------
    value : float
        The (weighted) mean silhouette.
    standard_error : float
        Standard error of a sampled estimate; 0 when exact.
    exact : bool
        Whether every row was scored against every row.
    n_scored : int
        Rows scored.
    n_reference : int
        Rows each scored row was compared with.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.metrics import silhouette
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    >>> s = silhouette(X, [0, 0, 0, 1, 1, 1])
    >>> s.exact, s.standard_error, (s.n_scored, s.n_reference)
    (True, 0.0, (6, 6))
    >>> s = silhouette(X, [0, 0, 0, 1, 1, 1], max_exact=4, n_samples=3, random_state=0)
    >>> s.exact, s.n_scored, s.n_reference
    (False, 3, 6)
    """

    value: float
    standard_error: float
    exact: bool
    n_scored: int
    n_reference: int


def _silhouette_values(X, R, wR, lab_R, k, query, q_labels, wk):
    """Silhouette of rows ``query`` of X (with labels ``q_labels``) against the
    reference rows R (weights wR, labels lab_R, per-cluster weight wk)."""
    use_w = wR is not None
    sums = np.empty((query.size, k))
    _cluster_distance_sums(X, R, wR if use_w else np.ones(1), use_w,
                           lab_R, k, query.astype(np.int64), sums)
    own = wk[q_labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[np.arange(query.size), q_labels] / (own - 1.0)
        means = sums / wk[None, :]
    means[np.arange(query.size), q_labels] = np.inf
    b = means.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[~(own > 1.0)] = 0.0  # singletons score 0 (as in scikit-learn)
    return np.nan_to_num(s)


def silhouette_samples(X, labels, *, sample_weight=None) -> np.ndarray:
    """Exact silhouette of every row, in O(n^2 d) time and O(n k) memory.

    Equals ``sklearn.metrics.silhouette_samples`` without weights. With
    weights, a row of weight ``m`` counts as ``m`` identical rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    labels : array-like of shape (n_samples,), int
        Cluster of each row (any integers; at least 2 distinct values and
        fewer than ``n_samples``).
    sample_weight : array-like of shape (n_samples,), optional
        A row of weight ``m`` counts as ``m`` identical rows.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        Silhouette of each row, in [-1, 1]; 0 for a row alone in its
        cluster.

    Examples
    --------
    >>> from kmeanskit.metrics import silhouette_samples
    >>> silhouette_samples([[0.0], [1.0], [10.0], [11.0]], [0, 0, 1, 1]).round(4).tolist()
    [0.9048, 0.8947, 0.8947, 0.9048]
    """
    X, lab, k, w = _prepare(X, labels, sample_weight)
    _check_n_labels(k, X.shape[0], "silhouette")
    wk = np.bincount(lab, weights=_weights(w, X.shape[0]), minlength=k)
    return _silhouette_values(X, X, w, lab, k, np.arange(X.shape[0]), lab, wk)


def silhouette(X, labels, *, sample_weight=None, max_exact=SILHOUETTE_MAX_EXACT,
               n_samples=SILHOUETTE_N_SAMPLES, max_reference=SILHOUETTE_MAX_REFERENCE,
               random_state=None) -> SilhouetteScore:
    """Mean silhouette coefficient, exact in chunks or a sampled estimate.

    * ``n <= max_exact``: exact, every row against every row (no n x n
      matrix: a numba kernel keeps one row of per-cluster sums per row).
    * otherwise, a sampled estimate: a reference set of ``max_reference``
      rows drawn uniformly without replacement (all rows when
      ``n <= max_reference``; weights kept), and ``n_samples`` rows drawn
      from it with probability proportional to their weight, each scored
      exactly against the whole reference set. The value is the mean of
      those scores and ``standard_error`` their standard deviation over
      ``sqrt(n_samples)`` (it covers the choice of scored rows; the random
      reference set adds a smaller, second-order variation).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), optional
        A row of weight ``m`` counts as ``m`` identical rows.
    max_exact, n_samples, max_reference : int
    random_state : None, int or Generator
        Seed of the sampled estimate (unused when exact).

    Returns
    -------
    SilhouetteScore

    Examples
    --------
    >>> from kmeanskit.metrics import silhouette
    >>> s = silhouette([[0.0], [1.0], [10.0], [11.0]], [0, 0, 1, 1])
    >>> round(s.value, 4), s.exact, s.standard_error
    (0.8997, True, 0.0)
    """
    X, lab, k, w = _prepare(X, labels, sample_weight)
    n = X.shape[0]
    _check_n_labels(k, n, "silhouette")
    ww = _weights(w, n)
    if n <= max_exact:
        wk = np.bincount(lab, weights=ww, minlength=k)
        s = _silhouette_values(X, X, w, lab, k, np.arange(n), lab, wk)
        return SilhouetteScore(float(s @ ww / ww.sum()), 0.0, True, n, n)
    rng = check_random_state(random_state)
    if n > max_reference:
        ref = np.sort(rng.choice(n, size=int(max_reference), replace=False))
    else:
        ref = np.arange(n)
    R = np.ascontiguousarray(X[ref])
    wR = None if w is None else np.ascontiguousarray(w[ref])
    lab_R = np.ascontiguousarray(lab[ref])
    wk = np.bincount(lab_R, weights=_weights(wR, ref.size), minlength=k)
    p = None if wR is None else wR / wR.sum()
    m = int(n_samples)
    pick = rng.choice(ref.size, size=m, replace=True, p=p)
    s = _silhouette_values(R, R, wR, lab_R, k, pick, lab_R[pick], wk)
    se = float(np.std(s, ddof=1) / np.sqrt(m)) if m > 1 else float("nan")
    return SilhouetteScore(float(s.mean()), se, False, m, int(ref.size))
