"""Initial centres: greedy k-means++ and random points, in a registry dict.

Each initialiser has the signature ``(X, k, w, rng) -> centres`` where ``w``
is None for uniform weights and ``rng`` is a numpy Generator or
RandomState. Centres come back as a new (k, d) array of X's dtype.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._config import MAX_BLOCKS, SEED_TRANSPOSED_MAX_BYTES
from ._kernels import metric as MK
from ._kernels.lloyd import count_distinct_upto
from ._kernels.seeding import draws_from_cdf, kmeanspp_greedy
from ._validation import kernel_view


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
    """Candidates per greedy k-means++ step: 2 + 2 ln(k), twice the
    ln(k) of Arthur & Vassilvitskii's experiments and scikit-learn's 2 +
    ln(k). The extra candidates give a lower mean inertia on every benchmark
    workload in the same time or less (the better start needs fewer
    iterations); more candidates than this gain little and cost time on
    large k (figures: docs/benchmarks.md, "Measurements behind design
    choices")."""
    return 2 + int(2.0 * math.log(k))


def kmeans_plusplus_indices(X, k, w, rng, n_trials=None):
    """Row indices of greedy k-means++ centres.

    Raises ``FewDistinctPointsError`` when X has fewer than ``k`` distinct
    rows (the potential reaches zero first).
    """
    X = kernel_view(X)  # read-only rows: the kernel compiled for writeable ones
    n = X.shape[0]
    trials = n_local_trials(k) if n_trials is None else int(n_trials)
    first = _weighted_index(rng, n, w)
    uniforms = np.asarray(rng.random(max(k - 1, 0) * trials), dtype=np.float64)
    ww, use_w = _weights_or_dummy(X, w)
    out = np.empty(k, dtype=np.int64)
    n_blocks = max(1, min(MAX_BLOCKS, n))
    got = kmeanspp_greedy(X, w=ww, use_w=use_w, first=first, uniforms=uniforms,
                          n_trials=trials, n_blocks=n_blocks, out_idx=out,
                          n_slots=numba.config.NUMBA_NUM_THREADS,
                          keep_transposed=X.nbytes <= SEED_TRANSPOSED_MAX_BYTES)
    if got < k:
        raise FewDistinctPointsError(few_distinct_message(X, k, w, got))
    return out


def few_distinct_message(X, k, w, got) -> str:
    """Why a seeding found only ``got`` < ``k`` centres: the exact number of
    distinct rows with positive weight (counted on their values, not on
    distances, which can underflow) when that is below ``k``, else that the
    distinct rows are too close together for the float range."""
    rows = X if w is None else np.ascontiguousarray(X[np.asarray(w) > 0])
    n_distinct = count_distinct_upto(rows, k) if rows.shape[0] else 0
    if n_distinct < k:
        return (f"n_clusters={k} but X has only {n_distinct} distinct points (with positive weight); "
                f"ask for at most {n_distinct} clusters or remove duplicates.")
    return (f"n_clusters={k}: X has at least {k} distinct points, but only {got} of them are apart by "
            "more than the float range resolves (their squared distances underflow next to the "
            "data's largest values); rescale or centre the columns, or ask for fewer clusters.")


def kmeans_plusplus(X, k, w, rng, **_):
    """Greedy k-means++ centres (copies of rows of X)."""
    return X[kmeans_plusplus_indices(X, k, w, rng)].copy()


def random_points(X, k, w, rng, **_):
    """k distinct rows chosen at random (with probability proportional to the
    weights when given)."""
    n = X.shape[0]
    p = None if w is None else np.asarray(w, dtype=np.float64) / float(np.sum(w, dtype=np.float64))
    if p is not None and np.count_nonzero(p) < k:
        raise ValueError(f"only {np.count_nonzero(p)} rows have a positive weight but n_clusters={k}; "
                         "ask for fewer clusters.")
    idx = rng.choice(n, size=k, replace=False, p=p)
    return X[idx].copy()


def inverse_norms(X) -> np.ndarray:
    """1 / ||x|| of every row in float64 (cosine's unit rows)."""
    out = np.empty(X.shape[0])
    MK.inverse_norms(X, out)
    return out


def greedy_kmeanspp(n: int, k: int, w, rng, dist_to_row, few_message, n_trials=None):
    """Greedy k-means++ over any per-row cost: ``dist_to_row(i, out)`` writes
    every row's cost to row ``i`` as a centre (a distance, or the mixed
    dissimilarity) into ``out`` (n,) float64. The first row is drawn in
    proportion to the weights; then candidates are drawn with probability
    proportional to ``w * cost to the closest chosen centre`` and, of
    ``2 + 2 ln k`` candidates, the one lowering the total cost most is kept.
    Returns row indices. Raises ``FewDistinctPointsError(few_message(m))``
    when the cost reaches zero with ``m < k`` centres chosen.

    The in-memory Euclidean seeding is the compiled ``kmeanspp_greedy``;
    this loop serves the other metrics (:func:`kmeanspp_metric`) and the
    mixed distance (``_mixed.kmeanspp_indices``).
    """
    trials = n_local_trials(k) if n_trials is None else int(n_trials)
    wf = None if w is None else np.asarray(w, dtype=np.float64)
    first = _weighted_index(rng, n, w)
    uniforms = np.asarray(rng.random(max(k - 1, 0) * trials), dtype=np.float64)
    idx = [first]
    closest = np.empty(n)
    dist_to_row(first, closest)
    pot_of = (lambda d: float(np.sum(d))) if wf is None else (lambda d: float(np.dot(wf, d)))
    pot = pot_of(closest)
    buf = np.empty(n)
    for step in range(1, k):
        if not pot > 0:
            raise FewDistinctPointsError(few_message(step))
        p = closest if wf is None else wf * closest
        cum = np.cumsum(p)
        best = None
        for t in range(trials):
            u = uniforms[(step - 1) * trials + t]
            c = int(np.searchsorted(cum, u * cum[-1], side="right"))
            if c >= n or p[c] <= 0:
                c = int(np.flatnonzero(p > 0)[-1]) if c >= n else c
                while p[c] <= 0:
                    c = (c + 1) % n
            dist_to_row(c, buf)
            new = np.minimum(closest, buf)
            new_pot = pot_of(new)
            if best is None or new_pot < best[0]:
                best = (new_pot, c, new)
        pot, c, closest = best
        idx.append(c)
    return np.asarray(idx, dtype=np.int64)


def kmeanspp_metric(X, k, w, rng, metric: str, xinv=None, n_trials=None):
    """Greedy k-means++ under another ``metric`` ("manhattan", "cosine",
    "chebyshev"): candidates are drawn with probability proportional to
    ``w * D(x)``, D the metric's distance to the closest chosen centre (the
    objective's own per-row cost, as k-means++ draws by squared distance for
    the squared-distance objective); of ``2 + 2 ln k`` candidates the one
    lowering the potential most is kept (:func:`greedy_kmeanspp`). ``xinv``:
    :func:`inverse_norms` of X for cosine, when the caller has it. Returns
    row indices.

    Raises FewDistinctPointsError when the potential reaches zero before k
    centres (fewer distinct rows with positive weight than k).
    """
    code = MK.CODES[metric]
    if xinv is None:
        xinv = inverse_norms(X) if code == MK.COSINE else np.ones(1)
    return greedy_kmeanspp(
        X.shape[0], k, w, rng, lambda i, out: MK.dist_to_row(X, i, code, xinv, out),
        lambda m: (f"n_clusters={k} but X has only {m} distinct points (with positive weight) "
                   f"under the {metric} distance; ask for at most {m} clusters or remove duplicates."),
        n_trials)


#: Sample size for seeding at scale: max(SAMPLE_MIN, SAMPLE_PER_CLUSTER * k)
SAMPLE_MIN = 20_000
SAMPLE_PER_CLUSTER = 100
#: Lloyd iterations on the sample after seeding it.
SAMPLE_REFINE_ITERS = 10


#: ``init="auto"`` seeds on a sample once X has more than this many sample
#: sizes of rows: from there seeding on the sample is faster and the fits are
#: as good as with greedy k-means++ on all rows (figures: docs/engine.md,
#: "Seeding at scale").
AUTO_SAMPLE_FACTOR = 2


def sample_size(n: int, k: int) -> int:
    return min(n, max(SAMPLE_MIN, SAMPLE_PER_CLUSTER * k))


def weight_cdf(w) -> np.ndarray:
    """The cumulative distribution of sampling rows in proportion to ``w``,
    as ``Generator.choice(p=w / w.sum())`` builds it: compute it once when
    seeding the same weighted data many times (restarts)."""
    p = np.asarray(w, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf /= cdf[-1]
    return cdf


def _sorted_draws(cdf, u):
    """The distinct rows drawn by uniforms ``u`` through ``cdf`` and how often
    each was drawn, in row order: ``np.unique(cdf.searchsorted(u, "right"),
    return_counts=True)``, but searching sorted uniforms, each search from
    where the last one ended (:func:`draws_from_cdf`), which walks the table
    in order instead of missing the cache on every draw (20,000 draws into
    371k weighted colours; docs/benchmarks.md)."""
    u = np.sort(u)
    idx = np.empty(u.size, np.int64)
    cnt = np.empty(u.size, np.int64)
    nd = draws_from_cdf(cdf, u, idx, cnt)
    return idx[:nd], cnt[:nd]


def _sample(X, k, w, rng, cdf):
    """A seeding sample of ``sample_size(n, k)`` rows: ``(S, weights or None)``,
    uniform without replacement, or, with weights, that many draws in
    proportion to them with repeats merged into counts (an unbiased sample
    of the weighted data: a uniform draw over rows would miss the few heavy
    rows of, e.g., a colour histogram; the same draws as
    ``rng.choice(n, m, p=w / w.sum())``). None when the sample would be all
    of X."""
    n = X.shape[0]
    m = sample_size(n, k)
    if m >= n:
        return None
    if w is None:
        idx = rng.choice(n, size=m, replace=False)
        idx.sort()  # in place: rows in order for the gather, no second index array
        return np.ascontiguousarray(np.take(X, idx, axis=0)), None
    if cdf is None:
        cdf = weight_cdf(w)
    idx, cnt = _sorted_draws(cdf, rng.random(m))
    # np.take gathers rows about 3 x faster than X[idx] (20,000 draws: docs/benchmarks.md)
    return np.ascontiguousarray(np.take(X, idx, axis=0)), cnt.astype(X.dtype)


def _seed_on_sample(seed, X, k, w, rng, cdf, missing, refine):
    """``seed(S, k, weights, rng)`` on a sample (:func:`_sample`), then
    ``refine(S, weights, centres)`` (the solver's Lloyd iterations on that
    sample); ``seed`` on X itself when the sample would be all of X, or when
    it raises ``missing`` (the sample may miss rare distinct rows)."""
    drawn = _sample(X, k, w, rng, cdf)
    if drawn is None:
        return seed(X, k, w, rng)
    S, ws = drawn
    try:
        C = seed(S, k, ws, rng)
    except missing:
        return seed(X, k, w, rng)
    return refine(S, ws, C)


def seeds_on_sample(init, n: int, k: int) -> bool:
    """Whether the named ``init`` seeds ``n`` rows on a sample (a callable
    or an array of centres: no)."""
    if not isinstance(init, str):
        return False
    if init == "k-means++sample":
        return sample_size(n, k) < n
    return init == "auto" and _worth_sampling(n, k)


def _worth_sampling(n: int, k: int) -> bool:
    """The rule of ``init="auto"`` (and of ``vq.kmeans``' seeding): seed a
    sample once the data has more than two sample sizes of rows."""
    return n > AUTO_SAMPLE_FACTOR * sample_size(n, k)


_malloc_trim = None


def release_freed_memory() -> None:
    """Give the C heap's free pages back to the operating system (glibc's
    ``malloc_trim(0)``; nothing elsewhere), as Dask's workers do.

    A fit calls it once, after its first seeding if that seeded a sample
    (``seeds_on_sample``): the sample's temporaries (the sample, the drawn
    indices, the seeding's distances: about 1.4 MiB for 20,000 pixels) are
    freed by then, but glibc keeps such small blocks in its heap, and the
    labels allocated next would come on top of them, raising the fit's peak
    memory. Not after every seeding: the memory given back would be faulted
    in again by the next one, which slows fits that seed on a sample many
    times (``vq.kmeans``' 20 restarts). Figures: docs/benchmarks.md,
    "Measurements behind design choices".
    """
    global _malloc_trim
    if _malloc_trim is None:
        _malloc_trim = False
        import sys

        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _malloc_trim = ctypes.CDLL(None).malloc_trim  # glibc only (not musl)
            except (OSError, AttributeError):
                pass
    if _malloc_trim:
        _malloc_trim(0)


def kmeans_plusplus_sample(X, k, w, rng, *, refine, cdf=None):
    """Seeding at scale: greedy k-means++ on a sample of ``max(20000, 100 k)``
    rows (uniform, or in proportion to the weights), refined by a few Lloyd
    iterations on that sample. Costs O(sample x k) instead of O(n x k) per
    seeding step; on data with fewer rows it is plain k-means++. ``cdf``:
    :func:`weight_cdf` of ``w``, when the caller has it already; ``refine``:
    the Lloyd iterations on the sample (``_solver.refine_on_sample``)."""
    return _seed_on_sample(kmeans_plusplus, X, k, w, rng, cdf, FewDistinctPointsError, refine)


def random_points_sample(X, k, w, rng, *, refine, cdf=None):
    """scipy's seeding (k random rows, in proportion to the weights) at
    scale: drawn from a sample as in :func:`kmeans_plusplus_sample` and
    refined by the same few Lloyd iterations on it, so the first iterations
    cost a sample's pass instead of a full one. On data no larger than two
    sample sizes: k random rows. ``vq.kmeans`` seeds with this (see its
    module docstring for why not k-means++)."""
    if _worth_sampling(X.shape[0], k):
        # random_points raises ValueError when the sample has < k distinct rows
        return _seed_on_sample(random_points, X, k, w, rng, cdf, ValueError, refine)
    return random_points(X, k, w, rng)


def auto_init(X, k, w, rng, *, refine, cdf=None):
    """Greedy k-means++ on all rows, or on a sample once the data has more
    than 2 sample sizes of rows (there the sample gives the same or a lower
    inertia for a fraction of the seeding time; docs/engine.md). ``cdf`` as in
    :func:`kmeans_plusplus_sample`."""
    if _worth_sampling(X.shape[0], k):
        return kmeans_plusplus_sample(X, k, w, rng, cdf=cdf, refine=refine)
    return kmeans_plusplus(X, k, w, rng)


#: Registry of named initialisations.
INITS = {
    "k-means++": kmeans_plusplus,
    "random": random_points,
    "auto": auto_init,
    "k-means++sample": kmeans_plusplus_sample,
}
