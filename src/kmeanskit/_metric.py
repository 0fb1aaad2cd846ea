"""k-means under other distances: the metric steps of the solver loop.

Each metric has its own assignment distance, centre update and objective:

=========== ==================== ======================================= =========================
metric      assignment           centre update                           objective
=========== ==================== ======================================= =========================
euclidean   squared L2           weighted mean (``_solver``'s steps)      sum of w * squared L2
manhattan   L1                   weighted coordinate-wise median         sum of w * L1
cosine      1 - cos              normalised weighted mean of unit rows   sum of w * (1 - cos)
chebyshev   L-infinity           LP: argmin_c sum w * |x - c|_inf        sum of w * L-infinity
=========== ==================== ======================================= =========================

Every update is exact for its cluster (the median and the normalised mean
are closed forms; the Chebyshev centre solves a linear program with HiGHS'
dual simplex, feasibility tolerances ``LP_TOL``), and a new centre is kept
only if it does not raise its cluster's objective (evaluated in float64 on
the centre as stored, i.e. after rounding to float32 for float32 data). With
the assignment step picking the nearest centre, the objective therefore
never increases from one iteration to the next.

:func:`make_step` is the one place that turns a metric name (and, for
euclidean, an algorithm name) into a step of ``_solver.solve``.

Inputs are assumed validated (see ``_validation``).
"""

from __future__ import annotations

import numba
import numpy as np

from . import _solver
from ._init import inverse_norms, kmeanspp_metric, random_points
from ._kernels import metric as MK
from ._solver import ArraySource, PassResult, Step, n_blocks_for, relocate_empty, thread_context

#: The metrics, in the order they are documented.
METRICS = ("euclidean", "manhattan", "cosine", "chebyshev")

#: The one alias table: scipy's (``cdist``) and scikit-learn's
#: (``pairwise_distances``, ``DistanceMetric``) names for the same k-means
#: objective. "sqeuclidean" and "l2" are "euclidean": k-means assigns by the
#: squared distance either way and its objective is the sum of squares.
METRIC_ALIASES = {
    **{m: m for m in METRICS},
    "l2": "euclidean", "sqeuclidean": "euclidean",
    "cityblock": "manhattan", "l1": "manhattan", "taxicab": "manhattan",
    "linf": "chebyshev", "infinity": "chebyshev", "chebychev": "chebyshev",
}

#: Names with a known meaning but another objective: what to do instead.
_METRIC_HINTS = {
    "minkowski": "Minkowski with p=1 is 'manhattan', p=2 'euclidean', p=inf 'chebyshev'",
    "seuclidean": "scale the columns first (kmeanskit.vq.whiten or a Scaling) and use 'euclidean'",
    "mahalanobis": "whiten the data first (e.g. sklearn's PCA(whiten=True)) and use 'euclidean'",
    "correlation": "subtract each row's mean first and use 'cosine'",
    "nan_euclidean": "impute the missing values first and use 'euclidean'",
    "haversine": "convert to 3-D unit vectors first and use 'cosine'",
}


def metric_name(metric, owner: str = "metric") -> str:
    """The canonical name of ``metric`` (one of :data:`METRICS`), from its
    own name or a scipy / scikit-learn alias (:data:`METRIC_ALIASES`).

    Raises
    ------
    ValueError
        An unknown name, saying which name to use.

    Examples
    --------
    >>> metric_name("cityblock"), metric_name("l2"), metric_name("infinity")
    ('manhattan', 'euclidean', 'chebyshev')
    """
    if isinstance(metric, str) and metric in METRIC_ALIASES:
        return METRIC_ALIASES[metric]
    raise ValueError(metric_error(metric, owner))


def metric_error(metric, owner: str = "metric") -> str:
    """The message for an unknown ``metric``: the names accepted, and the
    one to use when ``metric`` is a known name for another objective or
    close to an accepted name."""
    names = ", ".join(repr(m) for m in METRIC_ALIASES)
    msg = f"{owner}: metric must be one of {names}; got {metric!r}"
    if isinstance(metric, str):
        key = metric.lower().replace("-", "_").replace(" ", "_")
        if key in METRIC_ALIASES:
            return f"{msg}. Use {key!r} (names are lower case)."
        if key in _METRIC_HINTS:
            return f"{msg}. {_METRIC_HINTS[key]}."
        import difflib

        close = difflib.get_close_matches(key, list(METRIC_ALIASES), n=1)
        if close:
            return f"{msg}. Did you mean {close[0]!r}?"
    return msg + "."

#: Primal/dual feasibility tolerance given to HiGHS for the Chebyshev centre.
LP_TOL = 1e-9


def center_inverse_norms(C):
    nrm = np.sqrt(np.einsum("ij,ij->i", C.astype(np.float64), C.astype(np.float64)))
    with np.errstate(divide="ignore"):
        return np.where(nrm > 0, 1.0 / nrm, np.inf)


class MetricStep(_solver.Step):
    """One metric's pass (``metric_pass``: distances to every centre,
    per-block weights and, for cosine, sums of unit rows) and its centre
    update (:data:`UPDATES`)."""

    objective_name = "objective"

    def __init__(self, source: ArraySource, metric: str):
        super().__init__(source, labels_dtype=np.int32)
        self.metric = metric
        self.code = MK.CODES[metric]
        X = source.X
        n, d = X.shape
        k = source.k
        nb = n_blocks_for(n, k, d)
        self.n_blocks = nb
        cos = self.code == MK.COSINE
        self.bsums = np.empty((nb, k, d) if cos else (1, 1, 1))
        self.bwsums = np.empty((nb, k))
        self.bstats = np.empty((nb, MK.N_STATS))
        self.tot_sums = np.empty((k, d) if cos else (1, 1))
        self.tot_wsums = np.empty(k)
        self.tot_stats = np.empty(MK.N_STATS)
        self.dist = np.empty(n)
        self.xinv = inverse_norms(X) if cos else np.ones(1)
        self.n_slots = numba.config.NUMBA_NUM_THREADS

    # the data, for the centre updates
    X = property(lambda self: self.source.X)
    w = property(lambda self: self.source.w)
    ww = property(lambda self: self.source.ww)
    use_w = property(lambda self: self.source.use_w)

    def cinv(self, C):
        return center_inverse_norms(C) if self.code == MK.COSINE else np.ones(1)

    def metric_pass(self, C, labels, update):
        """One pass; returns (objective, changed); distances to the assigned
        centres are left in ``self.dist``."""
        MK.metric_pass(self.X, w=self.ww, use_w=self.use_w, C=C, metric=self.code,
                       xinv=self.xinv, cinv=self.cinv(C), labels=labels, update=update,
                       sums=self.bsums, wsums=self.bwsums, stats=self.bstats, want_dist=True,
                       dist_out=self.dist)
        MK.reduce_blocks(self.bsums, self.bwsums, self.bstats, out_sums=self.tot_sums,
                         out_wsums=self.tot_wsums, out_stats=self.tot_stats,
                         with_sums=update and self.code == MK.COSINE)
        return float(self.tot_stats[MK.STAT_OBJECTIVE]), int(self.tot_stats[MK.STAT_CHANGED])

    def assign(self, C, want_objective):
        obj, changed = self.metric_pass(C, self.labels, True)
        self.sums, self.wsums = self.tot_sums, self.tot_wsums
        return PassResult(changed, obj)

    def relocate(self, C, on_few):
        empty = self.empty_clusters()
        if empty.size == 0:
            return 0
        dist = self.dist.copy()
        if self.use_w:
            dist[self.w == 0] = -1.0
        return relocate_empty(self, empty, dist, on_few)

    def take(self, row, j):
        """Relabel ``row`` to the empty cluster ``j`` (the median and the LP
        read the labels; cosine's sums follow the row)."""
        wi = float(self.w[row]) if self.use_w else 1.0
        old = self.labels[row]
        self.labels[row] = j
        self.wsums[old] -= wi
        self.wsums[j] = wi
        if self.code == MK.COSINE:
            u = wi * self.xinv[row] * self.X[row].astype(np.float64)
            self.sums[old] -= u
            self.sums[j] = u

    def few_distinct_message(self):
        return (f"n_clusters={self.k} but X has fewer distinct points (under the {self.metric} "
                "distance) than clusters; ask for fewer clusters or remove duplicates.")

    def cluster_objectives(self, labels, C):
        out = np.empty(C.shape[0])
        MK.cluster_objectives(self.X, w=self.ww, use_w=self.use_w, labels=labels, C=C,
                              metric=self.code, xinv=self.xinv, cinv=self.cinv(C),
                              n_blocks=self.n_blocks, out=out)
        return out

    def update(self, C):
        """The metric's centres, each kept only where it does not raise its
        cluster's objective."""
        C_new = UPDATES[self.metric](self, self.labels, C)
        worse = self.cluster_objectives(self.labels, C_new) > self.cluster_objectives(self.labels, C)
        C_new[worse] = C[worse]
        return C_new

    def moved(self, C, C_new):
        pass

    def final(self, C, strict, last):
        if strict:
            return self.labels, float(last.objective)
        obj, _ = self.metric_pass(C, self.labels, False)
        return self.labels, obj

    def tolerance(self, tol):
        """``tol`` relative to the mean per-feature variance of the data the
        centres live with (the unit rows for cosine)."""
        if tol == 0:
            return 0.0
        Xf = self.X.astype(np.float64)
        if self.code == MK.COSINE:
            Xf = Xf * self.xinv[:, None]
        return float(np.mean(np.var(Xf, axis=0)) * tol)

    def initial_centers(self, init, rng):
        """Greedy k-means++ under the metric ("k-means++"), random rows (any
        other name), explicit centres or a callable ``init(X, k, rng)``."""
        X, k = self.X, self.k
        if isinstance(init, str):
            if init == "k-means++":
                return X[kmeanspp_metric(X, k, self.w, rng, self.metric, self.xinv)].copy()
            return random_points(X, k, self.w, rng)
        C = np.asarray(init(X, k, rng)) if callable(init) else np.asarray(init)
        return np.ascontiguousarray(C, dtype=X.dtype)


def metric_step(X, w, k, metric):
    """A :class:`MetricStep` over the rows ``X`` (weights ``w`` or None)."""
    return MetricStep(ArraySource(X, w, k, gemm=False, buffers=False), metric)


def make_step(X, w, k, metric="euclidean", algorithm="auto") -> Step:
    """The step of ``_solver.solve`` for ``metric`` (and, for euclidean, the
    algorithm, "auto" resolved from the shape)."""
    if metric == "euclidean":
        n, d = X.shape
        name = _solver.resolve_algorithm(algorithm, n, d, k, X.dtype)
        return _solver.ALGORITHMS[name](ArraySource(X, w, k))
    return metric_step(X, w, k, metric)


def distances(X, C, metric: str, n_threads=None):
    """(n, k) float64 distances under a non-Euclidean ``metric``."""
    code = MK.CODES[metric]
    xinv = inverse_norms(X) if code == MK.COSINE else np.ones(1)
    cinv = center_inverse_norms(C) if code == MK.COSINE else np.ones(1)
    out = np.empty((X.shape[0], C.shape[0]))
    with thread_context(n_threads, False):
        MK.pairwise(X, np.ascontiguousarray(C, dtype=X.dtype), code, xinv, cinv, out)
    return out


def assign_metric(X, C, metric: str, w=None, n_threads=None):
    """(labels int32, distances float64, objective) under ``metric``."""
    C = np.ascontiguousarray(C, dtype=X.dtype)
    step = metric_step(X, w, C.shape[0], metric)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    with thread_context(n_threads, False):
        obj, _ = step.metric_pass(C, labels, update=False)
    return labels, step.dist.copy(), obj


# --- centre updates ------------------------------------------------------------

def _groups(labels, k):
    order = np.argsort(labels, kind="stable").astype(np.int64)
    counts = np.bincount(labels, minlength=k)
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return order, starts


def median_centers(step: MetricStep, labels, C_old):
    """Weighted coordinate-wise medians of each cluster (k-medians)."""
    order, starts = _groups(labels, step.k)
    C = np.array(C_old, copy=True)
    max_m = int(np.max(np.diff(starts))) if step.k else 0
    MK.weighted_median_update(step.X, w=step.ww, use_w=step.use_w, order=order, starts=starts,
                              C_out=C, n_slots=step.n_slots, max_m=max(max_m, 1))
    return C


def cosine_centers(sums, C_old):
    """Normalised sums of the unit rows (spherical k-means)."""
    C = np.array(C_old, copy=True)
    nrm = np.sqrt(np.einsum("ij,ij->i", sums, sums))
    ok = nrm > 0
    C[ok] = (sums[ok] / nrm[ok, None]).astype(C.dtype)
    return C


def chebyshev_center(P, wts):
    """The point minimising ``sum_i wts[i] * max_f |P[i, f] - c_f|``.

    Solved exactly as the linear program (variables c and t_i >= 0)::

        minimise sum_i w_i t_i  subject to  -t_i <= P[i, f] - c_f <= t_i

    with HiGHS' dual simplex (``scipy.optimize.linprog``), primal and dual
    feasibility tolerances ``LP_TOL``. One row: the row itself. One column:
    the weighted median (the same problem in closed form).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    P = np.asarray(P, dtype=np.float64)
    wts = np.asarray(wts, dtype=np.float64)
    keep = wts > 0
    P, wts = P[keep], wts[keep]
    m, d = P.shape
    if m == 1:
        return P[0].copy()
    if d == 1:
        return np.array([MK._weighted_median(P[:, 0].copy(), wts, m)])
    # rows (i, f) for  c_f - t_i <= P[i, f]  and  -c_f - t_i <= -P[i, f]
    rows = np.arange(m * d)
    ci = np.tile(np.arange(d), m)
    ti = d + np.repeat(np.arange(m), d)
    ones = np.ones(m * d)
    A1 = sparse.csr_matrix((np.concatenate([ones, -ones]),
                            (np.concatenate([rows, rows]), np.concatenate([ci, ti]))),
                           shape=(m * d, d + m))
    A2 = sparse.csr_matrix((np.concatenate([-ones, -ones]),
                            (np.concatenate([rows, rows]), np.concatenate([ci, ti]))),
                           shape=(m * d, d + m))
    A = sparse.vstack([A1, A2]).tocsr()
    b = np.concatenate([P.ravel(), -P.ravel()])
    cost = np.concatenate([np.zeros(d), wts])
    bounds = [(None, None)] * d + [(0, None)] * m
    res = linprog(cost, A_ub=A, b_ub=b, bounds=bounds, method="highs-ds",
                  options=dict(primal_feasibility_tolerance=LP_TOL,
                               dual_feasibility_tolerance=LP_TOL))
    if res.status != 0:  # pragma: no cover - HiGHS solves these bounded LPs
        raise RuntimeError(f"the Chebyshev centre LP failed: {res.message}")
    return res.x[:d]


def chebyshev_centers(step: MetricStep, labels, C_old):
    """Each cluster's exact L-infinity centre (:func:`chebyshev_center`)."""
    order, starts = _groups(labels, step.k)
    C = np.array(C_old, copy=True)
    X = step.X
    for j in range(step.k):
        rows = order[starts[j]:starts[j + 1]]
        if rows.size == 0:
            continue
        wts = step.w[rows] if step.use_w else np.ones(rows.size)
        if not np.sum(wts) > 0:
            continue
        C[j] = chebyshev_center(X[rows], wts).astype(C.dtype)
    return C


#: Centre update of each metric: ``(step, labels, C_old) -> C_new``.
UPDATES = {
    "manhattan": median_centers,
    "cosine": lambda step, labels, C: cosine_centers(step.sums, C),
    "chebyshev": chebyshev_centers,
}
