"""Initial centres: greedy k-means++ and random points, in a registry dict.

Each initialiser has the signature ``(X, k, w, rng) -> centres`` where ``w``
is None for uniform weights and ``rng`` is a numpy Generator or
RandomState. Centres come back as a new (k, d) array of X's dtype.
"""

from __future__ import annotations

import math

import numpy as np

from ._config import MAX_BLOCKS
from ._kernels.seeding import kmeanspp_greedy


class FewDistinctPointsError(ValueError):
    """The data has fewer distinct rows than the clusters asked for."""


def _weights_or_dummy(X, w):
    return (w, True) if w is not None else (np.ones(1, dtype=X.dtype), False)


def _weighted_index(rng, n, w, u=None):
    """One row index drawn with probability proportional to ``w``."""
    if u is None:
        u = rng.random()
    if w is None:
        return min(int(u * n), n - 1)
    c = np.cumsum(w, dtype=np.float64)
    i = int(np.searchsorted(c, u * c[-1], side="right"))
    i = min(i, n - 1)
    while w[i] == 0:  # never start on a zero-weight row
        i = (i + 1) % n
    return i


def n_local_trials(k: int) -> int:
    """Candidates per greedy k-means++ step: 2 + ln(k), as in Arthur &
    Vassilvitskii's experiments and scikit-learn."""
    return 2 + int(math.log(k))


def kmeans_plusplus_indices(X, k, w, rng, n_trials=None):
    """Row indices of greedy k-means++ centres.

    Raises ``FewDistinctPointsError`` when X has fewer than ``k`` distinct
    rows (the potential reaches zero first).
    """
    n = X.shape[0]
    trials = n_local_trials(k) if n_trials is None else int(n_trials)
    first = _weighted_index(rng, n, w)
    uniforms = np.asarray(rng.random(max(k - 1, 0) * trials), dtype=np.float64)
    ww, use_w = _weights_or_dummy(X, w)
    out = np.empty(k, dtype=np.int64)
    n_blocks = max(1, min(MAX_BLOCKS, n))
    got = kmeanspp_greedy(X, ww, use_w, first, uniforms, trials, n_blocks, out)
    if got < k:
        raise FewDistinctPointsError(
            f"n_clusters={k} but X has only {got} distinct points (with positive weight); "
            f"ask for at most {got} clusters or remove duplicates."
        )
    return out


def kmeans_plusplus(X, k, w, rng):
    """Greedy k-means++ centres (copies of rows of X)."""
    return X[kmeans_plusplus_indices(X, k, w, rng)].copy()


def random_points(X, k, w, rng):
    """k distinct rows chosen at random (with probability proportional to the
    weights when given)."""
    n = X.shape[0]
    p = None if w is None else np.asarray(w, dtype=np.float64) / float(np.sum(w, dtype=np.float64))
    if p is not None and np.count_nonzero(p) < k:
        raise ValueError(f"only {np.count_nonzero(p)} rows have a positive weight but n_clusters={k}; "
                         "ask for fewer clusters.")
    idx = rng.choice(n, size=k, replace=False, p=p)
    return X[idx].copy()


#: Registry of named initialisations.
INITS = {
    "k-means++": kmeans_plusplus,
    "random": random_points,
}
