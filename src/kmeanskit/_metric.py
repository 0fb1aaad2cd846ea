"""k-means under other distances: the solver loop, the centre updates and
k-means++ seeding with the metric's own distance.

Each metric has its own assignment distance, centre update and objective:

=========== ==================== ======================================= =========================
metric      assignment           centre update                           objective
=========== ==================== ======================================= =========================
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

The Euclidean metric is the engine's (:mod:`._solver`); nothing here is
used for it.

Inputs are assumed validated (see ``estimator``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numba
import numpy as np

from ._init import FewDistinctPointsError, _weighted_index, n_local_trials, random_points
from ._kernels import metric as MK
from ._solver import n_blocks_for, thread_context

#: Metric names and kernel codes (euclidean is the engine's, code 0).
METRICS = {"euclidean": 0, "manhattan": MK.MANHATTAN, "cosine": MK.COSINE,
           "chebyshev": MK.CHEBYSHEV}

#: Primal/dual feasibility tolerance given to HiGHS for the Chebyshev centre.
LP_TOL = 1e-9


@dataclass
class MetricRunResult:
    centers: np.ndarray
    labels: np.ndarray
    inertia: float  # the metric's objective
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)  # objective at each iteration's assignment


class MetricEngine:
    """Buffers for repeated passes over one data set under one metric."""

    def __init__(self, X, w, k, metric: str):
        self.X = X
        self.w = w
        self.ww = w if w is not None else np.ones(1, dtype=X.dtype)
        self.use_w = w is not None
        self.code = METRICS[metric]
        self.metric = metric
        n, d = X.shape
        self.k = k
        nb = n_blocks_for(n, k, d)
        self.n_blocks = nb
        cos = self.code == MK.COSINE
        self.sums = np.empty((nb, k, d) if cos else (1, 1, 1))
        self.wsums = np.empty((nb, k))
        self.stats = np.empty((nb, MK.N_STATS))
        self.tot_sums = np.empty((k, d) if cos else (1, 1))
        self.tot_wsums = np.empty(k)
        self.tot_stats = np.empty(MK.N_STATS)
        self.dist = np.empty(n)
        self.xinv = row_inverse_norms(X) if cos else np.ones(1)
        self.n_slots = numba.config.NUMBA_NUM_THREADS

    def cinv(self, C):
        if self.code != MK.COSINE:
            return np.ones(1)
        return center_inverse_norms(C)

    def assign(self, C, labels, update):
        """One pass; returns (objective, changed, sums, wsums); distances to
        the assigned centres are left in ``self.dist``."""
        MK.metric_pass(self.X, self.ww, self.use_w, C, self.code, self.xinv, self.cinv(C),
                       labels, update, self.sums, self.wsums, self.stats, True, self.dist)
        MK.reduce_blocks(self.sums, self.wsums, self.stats, self.tot_sums, self.tot_wsums,
                         self.tot_stats, update and self.code == MK.COSINE)
        return (float(self.tot_stats[MK.STAT_OBJECTIVE]), int(self.tot_stats[MK.STAT_CHANGED]),
                self.tot_sums, self.tot_wsums)

    def cluster_objectives(self, labels, C):
        out = np.empty(C.shape[0])
        MK.cluster_objectives(self.X, self.ww, self.use_w, labels, C, self.code, self.xinv,
                              self.cinv(C), self.n_blocks, out)
        return out


def row_inverse_norms(X):
    out = np.empty(X.shape[0])
    MK.inverse_norms(X, out)
    return out


def center_inverse_norms(C):
    nrm = np.sqrt(np.einsum("ij,ij->i", C.astype(np.float64), C.astype(np.float64)))
    with np.errstate(divide="ignore"):
        return np.where(nrm > 0, 1.0 / nrm, np.inf)


def distances(X, C, metric: str, n_threads=None):
    """(n, k) float64 distances under a non-Euclidean ``metric``."""
    code = METRICS[metric]
    xinv = row_inverse_norms(X) if code == MK.COSINE else np.ones(1)
    cinv = center_inverse_norms(C) if code == MK.COSINE else np.ones(1)
    out = np.empty((X.shape[0], C.shape[0]))
    with thread_context(n_threads, False):
        MK.pairwise(X, np.ascontiguousarray(C, dtype=X.dtype), code, xinv, cinv, out)
    return out


def assign_metric(X, C, metric: str, w=None, n_threads=None):
    """(labels int32, distances float64, objective) under ``metric``."""
    C = np.ascontiguousarray(C, dtype=X.dtype)
    eng = MetricEngine(X, w, C.shape[0], metric)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    with thread_context(n_threads, False):
        obj, _, _, _ = eng.assign(C, labels, update=False)
    return labels, eng.dist.copy(), obj


# --- seeding -----------------------------------------------------------------

def kmeanspp_metric(X, k, w, rng, metric: str, xinv=None, n_trials=None):
    """Greedy k-means++ under ``metric``: candidates are drawn with
    probability proportional to ``w * D(x)``, D the metric's distance to the
    closest chosen centre (the objective's own per-row cost, as k-means++
    draws by squared distance for the squared-distance objective); of
    ``2 + 2 ln k`` candidates the one lowering the potential most is kept.

    Raises FewDistinctPointsError when the potential reaches zero before k
    centres (fewer distinct rows with positive weight than k).
    """
    n = X.shape[0]
    code = METRICS[metric]
    if xinv is None:
        xinv = row_inverse_norms(X) if code == MK.COSINE else np.ones(1)
    trials = n_local_trials(k) if n_trials is None else int(n_trials)
    wf = None if w is None else np.asarray(w, dtype=np.float64)
    first = _weighted_index(rng, n, w)
    uniforms = np.asarray(rng.random(max(k - 1, 0) * trials), dtype=np.float64)
    idx = [first]
    closest = np.empty(n)
    MK.dist_to_row(X, first, code, xinv, closest)
    pot_of = (lambda d: float(np.sum(d))) if wf is None else (lambda d: float(np.dot(wf, d)))
    pot = pot_of(closest)
    buf = np.empty(n)
    for step in range(1, k):
        if not pot > 0:
            raise FewDistinctPointsError(
                f"n_clusters={k} but X has only {step} distinct points (with positive weight) "
                f"under the {metric} distance; ask for at most {step} clusters or remove duplicates.")
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
            MK.dist_to_row(X, c, code, xinv, buf)
            new = np.minimum(closest, buf)
            new_pot = pot_of(new)
            if best is None or new_pot < best[0]:
                best = (new_pot, c, new)
        pot, c, closest = best
        idx.append(c)
    return np.asarray(idx, dtype=np.int64)


def initial_centers(X, k, w, init, rng, metric, xinv):
    if isinstance(init, str):
        if init == "k-means++":
            return X[kmeanspp_metric(X, k, w, rng, metric, xinv)].copy()
        return random_points(X, k, w, rng)
    C = np.asarray(init(X, k, rng)) if callable(init) else np.asarray(init)
    return np.ascontiguousarray(C, dtype=X.dtype)


# --- centre updates ------------------------------------------------------------

def _groups(labels, k):
    order = np.argsort(labels, kind="stable").astype(np.int64)
    counts = np.bincount(labels, minlength=k)
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return order, starts


def median_centers(eng: MetricEngine, labels, C_old):
    order, starts = _groups(labels, eng.k)
    C = np.array(C_old, copy=True)
    max_m = int(np.max(np.diff(starts))) if eng.k else 0
    MK.weighted_median_update(eng.X, eng.ww, eng.use_w, order, starts, C, eng.n_slots,
                              max(max_m, 1))
    return C


def cosine_centers(sums, C_old):
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


def chebyshev_centers(eng: MetricEngine, labels, C_old):
    order, starts = _groups(labels, eng.k)
    C = np.array(C_old, copy=True)
    X = eng.X
    for j in range(eng.k):
        rows = order[starts[j]:starts[j + 1]]
        if rows.size == 0:
            continue
        wts = eng.w[rows] if eng.use_w else np.ones(rows.size)
        if not np.sum(wts) > 0:
            continue
        C[j] = chebyshev_center(X[rows], wts).astype(C.dtype)
    return C


def relocate_empty(eng: MetricEngine, labels, wsums, sums, on_few):
    """Move each empty cluster onto one of the rows farthest from their
    centres (largest distance first, ties by lower index), relabelling it.
    ``wsums`` (and ``sums`` for cosine) are updated in place."""
    empty = np.flatnonzero(wsums == 0)
    if empty.size == 0:
        return 0
    dist = eng.dist.copy()
    if eng.use_w:
        dist[eng.w == 0] = -1.0
    order = np.lexsort((np.arange(dist.size), -dist))
    X = eng.X
    taken = 0
    for j in empty:
        far = int(order[taken]) if taken < order.size else -1
        if far < 0 or not dist[far] > 0:
            msg = (f"n_clusters={eng.k} but X has fewer distinct points (under the {eng.metric} "
                   "distance) than clusters; ask for fewer clusters or remove duplicates.")
            if on_few == "raise":
                raise FewDistinctPointsError(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
            break
        taken += 1
        wi = float(eng.w[far]) if eng.use_w else 1.0
        old = labels[far]
        labels[far] = j
        wsums[old] -= wi
        wsums[j] = wi
        if eng.code == MK.COSINE:
            u = wi * eng.xinv[far] * X[far].astype(np.float64)
            sums[old] -= u
            sums[j] = u
    return taken


def run_once(eng: MetricEngine, C0, max_iter, tol_abs, verbose=0, on_few="raise"):
    """One run from ``C0``: assign, relocate empty clusters, update every
    centre (kept only if it does not raise its cluster's objective); stop
    when no label changes or the sum of squared centre shifts <= tol_abs."""
    X = eng.X
    n = X.shape[0]
    C = np.array(C0, dtype=X.dtype, copy=True, order="C")
    labels = np.full(n, -1, dtype=np.int32)
    history = []
    strict = False
    converged = False
    it = 0
    for it in range(max_iter):
        obj, changed, sums, wsums = eng.assign(C, labels, update=True)
        history.append(obj)
        if verbose:
            print(f"Iteration {it}, objective {obj:.6g}.")
        relocate_empty(eng, labels, wsums, sums, on_few)
        if eng.code == MK.MANHATTAN:
            C_new = median_centers(eng, labels, C)
        elif eng.code == MK.COSINE:
            C_new = cosine_centers(sums, C)
        else:
            C_new = chebyshev_centers(eng, labels, C)
        # keep a new centre only where it does not raise its cluster's objective
        before = eng.cluster_objectives(labels, C)
        after = eng.cluster_objectives(labels, C_new)
        worse = after > before
        C_new[worse] = C[worse]
        shift = float(np.sum((C_new.astype(np.float64) - C) ** 2))
        same = np.array_equal(C_new, C)
        C = C_new
        if changed == 0:
            strict = same
            converged = True
            if verbose:
                print(f"Converged at iteration {it}: strict convergence.")
            break
        if shift <= tol_abs:
            converged = True
            if verbose:
                print(f"Converged at iteration {it}: center shift {shift:.6g} within tolerance "
                      f"{tol_abs:.6g}.")
            break
    if strict:
        final = history[-1]
    else:
        final, _, _, _ = eng.assign(C, labels, update=False)
    return MetricRunResult(C, labels, final, it + 1, converged, history)


def tolerance(X, tol, metric, xinv=None):
    """``tol`` relative to the mean per-feature variance of the data the
    centres live with (the unit rows for cosine)."""
    if tol == 0:
        return 0.0
    Xf = X.astype(np.float64)
    if METRICS[metric] == MK.COSINE:
        Xf = Xf * xinv[:, None]
    return float(np.mean(np.var(Xf, axis=0)) * tol)


def run_metric_kmeans(X, k, metric, *, w=None, init="k-means++", n_init=1, max_iter=300,
                      tol=1e-4, rng=None, n_threads=None, verbose=0, on_few="raise",
                      on_run=None):
    """Best of ``n_init`` runs (lowest objective; the first on ties).
    ``on_run(r, result)`` is called after each run (progress reporting)."""
    eng = MetricEngine(X, w, k, metric)
    best = None
    with thread_context(n_threads, False, work=X.shape[0] * k * X.shape[1]):
        tol_abs = tolerance(X, tol, metric, eng.xinv)
        for r in range(n_init):
            C0 = initial_centers(X, k, w, init, rng, metric, eng.xinv)
            if verbose:
                print(f"Initialization complete (run {r + 1} of {n_init}).")
            res = run_once(eng, C0, max_iter, tol_abs, verbose, on_few)
            if best is None or res.inertia < best.inertia:
                best = res
            if on_run is not None:
                on_run(r, res)
    return best
