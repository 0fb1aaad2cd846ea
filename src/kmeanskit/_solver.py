"""The k-means loop: the one place where a k-means iteration is written.

:func:`solve` runs, for any *step* and any *rule*::

    start from C0 -> repeat {assign, handle empty clusters, update,
    converged?} -> final assignment

A **step** is how one iteration assigns rows and moves centres: Lloyd's
pass, one of the exact bounded algorithms (Hamerly, Elkan, Exponion,
Yinyang), scipy's distortion pass, or another metric's pass and centre
update (``_metric``). Steps are registry entries with one small interface
(:class:`Step`); the loop never asks which one it runs.

A **rule** says when a run stops and what an empty cluster does:
:class:`Tolerance` (scikit-learn's: no label changed, or the squared centre
shift within a tolerance; empty clusters move to far rows),
:class:`Distortion` (scipy ``kmeans``': the mean distance changed by at most
``thresh``; empty clusters are dropped), :class:`FixedIterations` (scipy
``kmeans2``: a fixed count; an empty cluster keeps its centre, with a
warning or an error) and :class:`RelativeDecrease` (the objective fell by
at most a fraction; used by the CIEDE2000 palette refinement).

A step reads its rows through a **source**, which performs one pass with
given centres and returns the per-cluster weighted sums, the weights and
the pass statistics reduced over row blocks in a fixed order: the in-memory
:class:`ArraySource` today. Results do not depend on the thread count,
because the blocks are fixed by the data's shape.

:func:`run_kmeans` adds seeding and restarts (the best of ``n_init`` runs).
Inputs are assumed validated (see ``_validation``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field

import numba
import numpy as np

from ._config import (
    BLOCK_SUM_BUDGET,
    CHUNK_ROWS,
    FUSED_MIN_D,
    FUSED_MIN_K,
    GEMM_MIN_D,
    GEMM_MIN_K,
    GEMM_MIN_K_FLOAT32,
    GEMM_T_MIN_D,
    GEMM_T_MIN_K,
    GEMM_T_SCRATCH,
    GOMP_SPINCOUNT,
    MAX_BLOCKS,
    ROWS_SCAN_MAX_K,
    ROWS_SCAN_MIN_D,
)
from ._init import INITS, SAMPLE_REFINE_ITERS, FewDistinctPointsError, release_freed_memory, seeds_on_sample
from ._kernels import bounds as B
from ._kernels import lloyd as K
from ._kernels._blocks import by_rows
from ._validation import kernel_view


@dataclass
class RunResult:
    """One run's (or the best run's) outcome: centres, labels, the rule's
    objective (the inertia, another metric's objective, or scipy's mean
    distance), the iterations, whether the rule stopped it, and the
    objective at each assignment where the step computed it."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)


def label_dtype(k: int) -> np.dtype:
    """The labels' dtype for ``k`` clusters: the smallest signed integer type
    that holds k - 1 (and the -1 of "no label yet"), as pandas' categorical
    codes: int8 up to 128 clusters, int16 up to 32,768, int32 beyond.

    One byte per row instead of four: next to float32 pixels (12 bytes a
    row) int8 labels add 8.3 % to the input's memory, int32 ones 33 %.

    Examples
    --------
    >>> label_dtype(8), label_dtype(1000), label_dtype(100_000)
    (dtype('int8'), dtype('int16'), dtype('int32'))
    """
    if k <= 1 << 7:
        return np.dtype(np.int8)
    if k <= 1 << 15:
        return np.dtype(np.int16)
    return np.dtype(np.int32)


def n_blocks_for(n: int, k: int, d: int) -> int:
    """Number of row blocks with their own partial sums: a function of the
    shape only (never of the thread count)."""
    n_chunks = -(-n // CHUNK_ROWS)
    by_memory = max(8, BLOCK_SUM_BUDGET // (k * (d + 1)))
    nb = int(max(1, min(n_chunks, MAX_BLOCKS, by_memory)))
    # no empty blocks: the kernels give block b chunks [b p, (b + 1) p) with
    # p = ceil(chunks / blocks), and the threads equal shares of the blocks
    # (an empty block would leave its thread idle)
    per = -(-n_chunks // nb)
    return int(-(-n_chunks // per))


def use_gemm(d: int, k: int, dtype=np.float64) -> str | bool:
    """The distance strategy for a shape and the data's dtype: ``"rows"``
    (BLAS product laid out rows x centres), ``"cols"`` (centres x rows; up
    to ``lloyd.FUSED_D`` features the Lloyd pass and Hamerly's scans compute
    that layout's values in registers, ``lloyd.fold_expanded_fused``),
    ``"fused"`` (the Lloyd pass's fused scan only, no BLAS anywhere:
    :func:`fused_only`) or False (direct loops); crossovers measured
    (docs/engine.md)."""
    min_k = GEMM_MIN_K_FLOAT32 if np.dtype(dtype) == np.float32 else GEMM_MIN_K
    if d >= GEMM_MIN_D and k >= min_k:
        return "rows"
    if d >= GEMM_T_MIN_D and k >= GEMM_T_MIN_K:
        return "cols"
    if fused_only(d, k):
        return "fused"
    return False


def rows_scan(d: int, k: int) -> bool:
    """Shapes whose direct passes scan the rows as they lie, untransposed
    (``ROWS_SCAN_MIN_D``, ``ROWS_SCAN_MAX_K``; ``lloyd.scan_rows``)."""
    return d >= ROWS_SCAN_MIN_D and k <= ROWS_SCAN_MAX_K


def fused_only(d: int, k: int) -> bool:
    """Shapes whose Lloyd passes take the centres x rows layout for its
    fused scan alone (``FUSED_MIN_D``, ``FUSED_MIN_K``; strategy
    ``"fused"``). There a pass without the sums (the final one, ``assign``)
    and Hamerly's first pass (which gives the first lower bounds) keep the
    direct loops: one pass does not repay the column means the layout
    centres on (a pass of their own), and the expanded form's looser
    rounding bound would loosen those bounds. Hamerly's scans of the rows
    failing their bounds take the fused scan (``bounds.hamerly_pass_fused``),
    the faster there from k = 64 (docs/benchmarks.md, row "Hamerly's scans at
    the fused shapes")."""
    return (FUSED_MIN_D <= d <= K.FUSED_D and k >= FUSED_MIN_K
            and not (d >= GEMM_T_MIN_D and k >= GEMM_T_MIN_K))


def gemm_t_rows(k: int) -> int:
    """Rows per product of the centres x rows layout: the k x rows scratch
    stays near the L2 cache (GEMM_T_SCRATCH values)."""
    return int(max(64, min(512, (GEMM_T_SCRATCH // k) // 64 * 64)))


#: Below this much work per pass (n x k x d) a fit runs on one thread.
PARALLEL_MIN_WORK = 1 << 17


@contextlib.contextmanager
def thread_context(n_threads: int | None, blas_single: bool | str, work: float | None = None):
    """Set numba's thread count (restored afterwards) and, when the kernels
    call BLAS from inside their parallel loops, pin BLAS to one thread so the
    two pools never oversubscribe the cores.

    ``work`` (about n x k x d per pass) below ``PARALLEL_MIN_WORK`` runs on
    one thread unless ``n_threads`` asks otherwise: waking threads costs more
    than such a pass. None of this changes any result: the blocks are
    fixed by the shape.
    """
    quiet_spinning()
    old = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    elif work is not None and work < PARALLEL_MIN_WORK:
        numba.set_num_threads(1)
    try:
        if blas_single and blas_single != "fused":  # "fused" calls no BLAS
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                yield
        else:
            yield
    finally:
        numba.set_num_threads(old)




_spin_checked = False


def quiet_spinning() -> None:
    """Before the first parallel pass: unless the user set it, shorten the
    time numba's OpenMP workers spin waiting for the next parallel region
    (``GOMP_SPINCOUNT``; libgomp reads it when it starts its threads). Long
    spinning fights any other busy process for the cores; a short spin
    costs nothing measurable on an idle machine (docs/engine.md, "Threads").
    Set here, on first use, rather than when the package is imported."""
    global _spin_checked
    if not _spin_checked:
        os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
        _spin_checked = True


# --- the data source --------------------------------------------------------------

class ArraySource:
    """Rows held in memory (an array or a memmap) and the buffers of repeated
    passes over them with ``k`` centres.

    :meth:`assign` is one pass: every row's nearest centre, and, with
    ``update``, the per-cluster weighted sums and weights, reduced over the
    row blocks in block order.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray | None, k: int,
                 gemm: bool | str | None = None, buffers: bool = True):
        quiet_spinning()
        self.X = X = kernel_view(X)  # one compiled kernel for read-only data too
        self.w = w
        self.ww = w if w is not None else np.ones(1, dtype=X.dtype)
        self.use_w = w is not None
        n, d = X.shape
        self.k = k
        # False (direct loops), "rows" or "cols" (BLAS product layouts); True = "rows"
        self.gemm = use_gemm(d, k, X.dtype) if gemm is None else ("rows" if gemm is True else gemm)
        nb = n_blocks_for(n, k, d)
        self.n_blocks = nb
        if buffers:  # per-block and reduced results of a pass (a metric step has its own)
            self.sums = np.empty((nb, k, d))
            self.wsums = np.empty((nb, k))
            self.stats = np.empty((nb, K.N_STATS))
            self.tot_sums = np.empty((k, d))
            self.tot_wsums = np.empty(k)
            self.tot_stats = np.empty(K.N_STATS)
        self._nodist = np.empty(1)
        self.n_slots = numba.config.NUMBA_NUM_THREADS
        # Relative rounding bound of a distance computed in X's dtype: rows
        # whose two nearest centres are closer than this get exact distances.
        self.tie_eps = 4.0 * (d + 2) * float(np.finfo(X.dtype).eps)
        self._mu = None
        # the column variances, when the fit computed them before building the step
        # (core.fit_arrays: _numeric.choose took its sum of squares from them)
        self.column_var = None

    def with_k(self, k: int) -> "ArraySource":
        """The same rows with buffers for ``k`` centres."""
        return self if k == self.k else ArraySource(self.X, self.w, k)

    @property
    def total_weight(self) -> float:
        return float(self.w.sum(dtype=np.float64)) if self.use_w else float(self.X.shape[0])

    @property
    def mu(self) -> np.ndarray:
        """The data's column means in X's dtype (the gemm path centres on it)."""
        if self._mu is None:
            nb = max(1, min(MAX_BLOCKS, self.X.shape[0]))
            mean, _ = K.column_means(self.X, self.ww, False, nb)
            self._mu = mean.astype(self.X.dtype)
        return self._mu

    def shifted_centers(self, C):
        """``(C - mu, its squared norms)`` in X's dtype, for the BLAS paths."""
        Cs = np.ascontiguousarray((C - self.mu).astype(self.X.dtype))
        cc = np.einsum("ij,ij->i", Cs, Cs, dtype=np.float64).astype(self.X.dtype)
        return Cs, cc

    def assign(self, C: np.ndarray, labels: np.ndarray, update: bool, dist_out=None,
               want_sqrt: bool = False, want_inertia: bool = True, lb_out=None):
        """One pass. Returns (stats, sums, wsums) reduced over blocks;
        ``stats[STAT_SQRT]`` (scipy's distortion) only with ``want_sqrt``,
        ``stats[STAT_INERTIA]`` only with ``want_inertia`` (an exact float64
        distance per row: Lloyd's iterations do without it). ``dist_out`` (n,)
        receives the squared distances, ``lb_out`` (n,) a lower bound on each
        row's distance to the centres other than its own (Hamerly's bound)."""
        X = self.X
        C = np.ascontiguousarray(C, dtype=X.dtype)
        buffers = dict(w=self.ww, use_w=self.use_w, C=C, labels=labels, update=update,
                       sums=self.sums, wsums=self.wsums, stats=self.stats,
                       want_dist=dist_out is not None,
                       dist_out=self._nodist if dist_out is None else dist_out,
                       tie_eps=self.tie_eps, want_sqrt=want_sqrt, want_inertia=want_inertia,
                       want_lb=lb_out is not None,
                       lb_out=self._nodist if lb_out is None else lb_out)
        gemm = self.gemm
        if gemm == "fused" and (lb_out is not None or not update):
            gemm = False  # see fused_only
        if gemm in ("cols", "fused"):
            Cs, cc = self.shifted_centers(C)
            K.lloyd_pass_gemm_t(X, Cs=Cs, cc=cc, mu=self.mu, n_slots=self.n_slots,
                                rows=gemm_t_rows(self.k), **buffers)
        elif gemm:
            Cs, cc = self.shifted_centers(C)
            K.lloyd_pass_gemm(X, Ct=np.ascontiguousarray(Cs.T), cc=cc, mu=self.mu,
                              n_slots=self.n_slots, **buffers)
        elif rows_scan(X.shape[1], self.k):
            K.lloyd_pass_direct_untransposed(X, **buffers)
        elif by_rows.py_func(X.shape[1], X.itemsize):  # the rule the kernels use, in Python
            K.lloyd_pass_direct_rows(X, **buffers)
        else:
            K.lloyd_pass_direct(X, **buffers)
        return self.reduce()

    def reduce(self):
        """Reduce the per-block results of the last pass, in block order."""
        K.reduce_blocks(self.sums, self.wsums, self.stats, self.tot_sums, self.tot_wsums,
                        self.tot_stats)
        return self.tot_stats, self.tot_sums, self.tot_wsums

    def accumulate(self, sums: np.ndarray, wsums: np.ndarray, full: bool) -> np.ndarray:
        """After a bound-based pass: reduce the per-block results and set
        (``full``) or update (deltas) the running ``sums``/``wsums`` in place.
        Returns the reduced statistics."""
        self.reduce()
        if full:
            sums[:] = self.tot_sums
            wsums[:] = self.tot_wsums
        else:
            sums += self.tot_sums
            wsums += self.tot_wsums
        return self.tot_stats


# --- empty clusters -------------------------------------------------------------

def farthest_rows(score: np.ndarray, m: int) -> np.ndarray:
    """Indices of the ``m`` rows of largest ``score``, largest first, ties by
    lower index (deterministic)."""
    n = score.size
    if m >= n:
        cand = np.arange(n)
    else:
        cand = np.flatnonzero(score >= np.partition(score, n - m)[n - m])
    return cand[np.lexsort((cand, -score[cand]))][:m]


def relocate_empty(step, empty: np.ndarray, score: np.ndarray, on_few: str) -> int:
    """Move each empty cluster (in index order) onto one of the rows of
    largest ``score`` (their distance to their own centre, largest first,
    ties by lower index) with ``step.take(row, cluster)``. When no row with a
    positive score is left, the data has fewer distinct rows than clusters:
    ``on_few`` "raise" raises FewDistinctPointsError, "warn" warns, "ignore"
    stops quietly. Returns the number of empty clusters."""
    far = farthest_rows(score, empty.size)
    for t, j in enumerate(empty):
        if t >= far.size or not score[far[t]] > 0:
            if on_few != "ignore":
                msg = step.few_distinct_message()
                if on_few == "raise":
                    raise FewDistinctPointsError(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=5)
            break
        step.take(int(far[t]), int(j))
    return int(empty.size)


# --- steps ----------------------------------------------------------------------

@dataclass
class PassResult:
    """What the loop learns from one assignment: how many labels changed,
    the step's objective when it computed it, and scipy's distortion sum."""

    changed: float
    objective: float | None = None
    distortion: float | None = None


class Step:
    """How one iteration assigns rows and moves centres (the interface the
    loop uses). Subclasses implement :meth:`assign` and :meth:`update`; the
    rest has defaults for steps whose state is labels and per-cluster sums.

    Attributes set by :meth:`start` and :meth:`assign`: ``labels``, ``sums``
    (k, d) float64 and ``wsums`` (k,) float64 of the last assignment.
    """

    #: Name of the objective in verbose output.
    objective_name = "inertia"

    def __init__(self, source: ArraySource, labels_dtype=None):
        self.source = self.base_source = source
        self.labels_dtype = labels_dtype

    @property
    def dtype(self):
        return self.source.X.dtype

    @property
    def k(self) -> int:
        return self.source.k

    def start(self, C: np.ndarray) -> None:
        """Fresh state for a run from centres ``C``."""
        self.source = self.base_source.with_k(C.shape[0])
        dt = label_dtype(self.k) if self.labels_dtype is None else self.labels_dtype
        self.labels = np.full(self.source.X.shape[0], -1, dtype=dt)

    def assign(self, C: np.ndarray, want_objective: bool) -> PassResult:
        raise NotImplementedError

    def update(self, C: np.ndarray) -> np.ndarray:
        """New centres: the weighted means; a cluster with no weight keeps
        its centre."""
        return new_centers(self.sums, self.wsums, C, self.dtype)

    def empty_clusters(self) -> np.ndarray:
        return np.flatnonzero(self.wsums == 0)

    def relocate(self, C: np.ndarray, on_few: str) -> int:
        """Move empty clusters onto the rows farthest from their centres."""
        empty = self.empty_clusters()
        if empty.size == 0:
            return 0
        src = self.source
        dist = np.empty(src.X.shape[0])
        K.sq_dist_to_assigned(src.X, C, self.labels, dist)
        if src.use_w:
            dist[src.w == 0] = -1.0  # a zero-weight row cannot hold a cluster
        return relocate_empty(self, empty, dist, on_few)

    def take(self, row: int, j: int) -> None:
        """Give ``row`` (its weight) to the empty cluster ``j``."""
        src = self.source
        wi = float(src.w[row]) if src.use_w else 1.0
        old = self.labels[row]
        x = src.X[row].astype(np.float64)
        self.sums[old] -= wi * x
        self.wsums[old] -= wi
        self.sums[j] = wi * x
        self.wsums[j] = wi

    def few_distinct_message(self) -> str:
        n_distinct = K.count_distinct_upto(self.source.X, self.k)
        return (f"n_clusters={self.k} but X has only {n_distinct} distinct points; "
                f"ask for at most {n_distinct} clusters or remove duplicates.")

    def tolerance(self, tol: float) -> float:
        """The absolute tolerance of :class:`Tolerance` for relative ``tol``."""
        return tolerance(self.source.X, tol, getattr(self.source, "column_var", None))

    def initial_centers(self, init, rng) -> np.ndarray:
        """Centres to start a run from (see :func:`initial_centers`)."""
        return initial_centers(self.source.X, self.k, self.source.w, init, rng)

    def drop_empty(self, C_new: np.ndarray) -> np.ndarray:
        """``C_new`` without the clusters left with no weight (scipy's rule
        drops them)."""
        return C_new[self.wsums > 0] if (self.wsums == 0).any() else C_new

    def retire(self, done) -> None:
        """The rule has stopped the runs where ``done`` is true (a step that
        runs several restarts at once stops computing them)."""

    def moved(self, C: np.ndarray, C_new: np.ndarray) -> None:
        """The centres moved from ``C`` to ``C_new`` (which may have fewer
        rows: scipy's rule drops empty clusters)."""
        if C_new.shape[0] != self.k:
            self.source = self.source.with_k(C_new.shape[0])

    def final(self, C: np.ndarray, strict: bool, last: PassResult):
        """Labels matching ``C`` and their exact objective: the last pass's
        when the run ended with no label changed and the centres unchanged
        (and the pass computed it), else one assign-only pass."""
        if strict and last.objective is not None:
            return self.labels, float(last.objective)
        stats, _, _ = self.source.assign(C, self.labels, update=False)
        return self.labels, float(stats[K.STAT_INERTIA])


def drop_rounding_residue(wsums: np.ndarray) -> None:
    """Zero, in place, the weights of clusters that moves of rows emptied
    but that kept a rounding residue (the bounded steps update the sums by
    differences)."""
    wsums[np.abs(wsums) < 1e-12 * max(1.0, float(np.max(np.abs(wsums))))] = 0.0


def new_centers(sums, wsums, C_old, dtype):
    """Weighted means; a cluster left with no weight keeps its old centre."""
    C = np.array(C_old, dtype=dtype, copy=True)
    nz = wsums > 0
    C[nz] = (sums[nz] / wsums[nz, None]).astype(dtype)
    return C


class LloydStep(Step):
    """Lloyd's pass: every row compared with every centre (SIMD loops, or a
    BLAS product for many centres in many dimensions)."""

    def __init__(self, source, labels_dtype=None, want_sqrt=False):
        super().__init__(source, labels_dtype)
        self.want_sqrt = want_sqrt

    def assign(self, C, want_objective):
        stats, self.sums, self.wsums = self.source.assign(
            C, self.labels, update=True, want_inertia=want_objective, want_sqrt=self.want_sqrt)
        return PassResult(stats[K.STAT_CHANGED],
                          float(stats[K.STAT_INERTIA]) if want_objective else None,
                          float(stats[K.STAT_SQRT]) if self.want_sqrt else None)


class _BoundedStep(Step):
    """An exact accelerated algorithm: the same iterations as Lloyd's (the
    same labels, sums and convergence), with triangle-inequality bounds that
    skip distance computations. The per-cluster sums are kept up to date by
    moving the rows that change cluster (``full`` recomputes them, after a
    relocation edited them)."""

    #: Start with Lloyd's pass, which gives the labels, the sums, exact
    #: distances (the upper bounds) and lower bounds on the distance to the
    #: other centres.
    lloyd_first = False

    def start(self, C):
        super().start(C)
        n, d = self.source.X.shape
        k = self.k
        self.u = np.empty(n)
        self.lo = self.lower_bounds(n, k, C)
        self.sums = np.zeros((k, d))
        self.wsums = np.zeros(k)
        self.p = np.zeros(k)  # how far each centre moved in the last update
        self.full = True
        self.first = True

    def lower_bounds(self, n, k, C):
        return np.empty(n)

    def assign(self, C, want_objective):
        src = self.source
        if self.first and self.lloyd_first:
            src.assign(C, self.labels, update=True, dist_out=self.u, want_inertia=False,
                       lb_out=self.lo)
            np.sqrt(self.u, out=self.u)
            self.sums[:] = src.tot_sums
            self.wsums[:] = src.tot_wsums
        else:
            self.bounded_pass(C)
            src.accumulate(self.sums, self.wsums, self.full)
        self.first = False
        self.full = False
        changed = src.tot_stats[K.STAT_CHANGED]
        objective = None
        if want_objective:
            objective = K.weighted_sse(src.X, src.ww, src.use_w, C, self.labels, src.n_blocks)
        drop_rounding_residue(self.wsums)
        return PassResult(changed, objective)

    def relocate(self, C, on_few):
        # relocation edits the sums behind the labels' back: recompute them next time
        moved = super().relocate(C, on_few)
        self.full = self.full or moved > 0
        return moved

    def moved(self, C, C_new):
        diff = C_new.astype(np.float64) - C
        self.p = np.sqrt(np.sum(diff * diff, axis=1))

    def drift_order(self):
        """(jmax, pmax, pmax2): the centre that moved most, its move and the
        second largest move (Hamerly's and Exponion's bound updates)."""
        p = self.p
        order = np.argsort(-p, kind="stable")
        return int(order[0]), float(p[order[0]]), float(p[order[1]]) if p.size > 1 else 0.0

    def final(self, C, strict, last):
        stats, _, _ = self.source.assign(C, self.labels, update=False)
        return self.labels, float(stats[K.STAT_INERTIA])


class HamerlyStep(_BoundedStep):
    """Hamerly (2010): one lower bound per row (to the second-nearest
    centre); its fallback scans use BLAS where Lloyd's pass does."""

    lloyd_first = True

    def bounded_pass(self, C, full=None):
        src = self.source
        X = src.X
        jmax, pmax, pmax2 = self.drift_order()
        use_blas = src.gemm in ("rows", "cols", "fused")  # "fused": its fused scan (fused_only)
        kernel = B.hamerly_pass
        if use_blas:
            Cs, cc = src.shifted_centers(C)
            mu = src.mu
            if X.shape[1] <= K.FUSED_D:  # the Lloyd pass's fused scan, not the product
                Cs, cc = K.fused_centres(Cs, cc)
                kernel = B.hamerly_pass_fused
        else:  # unused; in X's dtype so that one compiled kernel serves both
            mu = np.zeros(X.shape[1], X.dtype)
            Cs = np.zeros((1, X.shape[1]), X.dtype)
            cc = np.zeros(1, X.dtype)
        kernel(X, w=src.ww, use_w=src.use_w, C=C, p=self.p, jmax=jmax, pmax=pmax,
               pmax2=pmax2, s=B.nearest_half(C), labels=self.labels, u=self.u,
               lo=self.lo, full=self.full if full is None else full, sums=src.sums,
               wsums=src.wsums, stats=src.stats, n_slots=src.n_slots,
               use_blas=use_blas, Cs=Cs, cc=cc, mu=mu, tie_eps=src.tie_eps)

    def final(self, C, strict, last):
        # labels for the returned centres: one more (cheap) bounded pass,
        # then the exact inertia, instead of a full pass
        src = self.source
        self.bounded_pass(C, full=False)
        return self.labels, K.weighted_sse(src.X, src.ww, src.use_w, C, self.labels,
                                           src.n_blocks)


class ElkanStep(_BoundedStep):
    """Elkan (2003): a lower bound per row and centre (float32, k per row)."""

    def lower_bounds(self, n, k, C):
        return np.empty((n, k), dtype=np.float32)

    def bounded_pass(self, C):
        src = self.source
        half, s_half = B.center_geometry(C)
        B.elkan_pass(src.X, w=src.ww, use_w=src.use_w, C=C, p=self.p, half_cc=half, s=s_half,
                     labels=self.labels, u=self.u, lb=self.lo, full=self.full, sums=src.sums,
                     wsums=src.wsums, stats=src.stats)


class ExponionStep(_BoundedStep):
    """Exponion (Newling & Fleuret 2016): Hamerly's bounds, and when they
    fail only the centres in a ball around the row's centre are examined."""

    lloyd_first = True

    def bounded_pass(self, C):
        src = self.source
        half, s_half = B.center_geometry(C)
        jmax, pmax, pmax2 = self.drift_order()
        nbr, nbr_dist = B.sorted_neighbors(half)
        B.exponion_pass(src.X, w=src.ww, use_w=src.use_w, C=C, p=self.p, jmax=jmax, pmax=pmax,
                        pmax2=pmax2, s=s_half, nbr=nbr, nbr_dist=nbr_dist, labels=self.labels,
                        u=self.u, lo=self.lo, full=self.full, sums=src.sums, wsums=src.wsums,
                        stats=src.stats)


#: Centres per group in Yinyang (Ding et al. suggest k / 10 groups).
YINYANG_CENTRES_PER_GROUP = 10


class YinyangStep(_BoundedStep):
    """Yinyang (Ding et al. 2015): a lower bound per row and group of
    centres (groups fixed at the start by clustering the centres)."""

    def lower_bounds(self, n, k, C):
        self.gof, self.gidx, self.gptr = centre_groups(C, max(1, k // YINYANG_CENTRES_PER_GROUP))
        n_groups = self.gptr.shape[0] - 1
        self.drift = np.zeros(n_groups)
        return np.empty((n, n_groups), dtype=np.float32)

    def bounded_pass(self, C):
        src = self.source
        self.drift += np.maximum.reduceat(self.p[self.gidx], self.gptr[:-1])
        Cg = np.ascontiguousarray(C[self.gidx], dtype=np.float64)
        B.yinyang_pass(src.X, w=src.ww, use_w=src.use_w, C=C, Cg=Cg, gidx=self.gidx,
                       gptr=self.gptr, gof=self.gof, p=self.p, D=self.drift,
                       s=B.nearest_half(C), labels=self.labels, u=self.u, glb=self.lo,
                       full=self.full, sums=src.sums, wsums=src.wsums, stats=src.stats,
                       n_slots=src.n_slots)


def centre_groups(C: np.ndarray, t: int):
    """Yinyang's fixed groups of centres: ``t`` groups by a few Lloyd
    iterations on the centres themselves, started from evenly spaced
    centres (deterministic); empty groups are dropped. Returns (group of
    each centre (k,), centre indices group by group, each group in
    increasing index (k,), group start offsets (t' + 1,))."""
    Cd = np.asarray(C, dtype=np.float64)
    k = Cd.shape[0]
    g = np.zeros(k, dtype=np.int64)
    if t > 1:
        G = Cd[np.linspace(0, k - 1, t).astype(np.int64)].copy()
        for _ in range(5):
            d2 = (np.einsum("ij,ij->i", Cd, Cd)[:, None] - 2.0 * Cd @ G.T
                  + np.einsum("ij,ij->i", G, G)[None, :])
            g = np.argmin(d2, axis=1)
            for j in range(t):
                members = g == j
                if members.any():
                    G[j] = Cd[members].mean(axis=0)
        g = np.unique(g, return_inverse=True)[1].ravel()  # drop empty groups
    gidx = np.argsort(g, kind="stable").astype(np.int32)
    gptr = np.concatenate([[0], np.cumsum(np.bincount(g))]).astype(np.int64)
    return g.astype(np.int32), gidx, gptr


class DistortionHamerlyStep(Step):
    """Hamerly's bounds for scipy's rule, which needs every row's distance
    to its centre at every iteration (the distortion it stops on): that
    distance is the tight upper bound, so the bound test costs one distance
    per row (``bounds.hamerly_distortion_pass``; meant for small d).

    The step runs R restarts at once: its centres are an R x k x d array,
    each pass visits the rows once for all the restarts still running
    (``live``), and :class:`Distortion` retires each restart when scipy's
    rule stops it. Each restart computes exactly what it would alone. A
    cluster a restart drops gets infinite coordinates (no row is ever
    nearest to it) and the restart's bounds start afresh; ``alive`` says
    which clusters each restart still has.
    """

    def __init__(self, source):
        super().__init__(source, labels_dtype=np.int32)

    def start(self, C):
        R, k, d = C.shape
        src = self.source
        n, nb = src.X.shape[0], src.n_blocks
        self.labels = np.full((R, n), -1, dtype=np.int32)
        self.lo = np.empty((R, n))
        self.sums = np.zeros((R, k, d))
        self.wsums = np.zeros((R, k))
        self.p = np.zeros((R, k))
        self.full = np.ones(R, dtype=bool)
        self.live = np.ones(R, dtype=bool)
        self.alive = np.ones((R, k), dtype=bool)
        self.dist = np.zeros(R)
        self.blocks = (np.empty((nb, R, k, d)), np.empty((nb, R, k)),
                       np.empty((nb, R, K.N_STATS)))

    def assign(self, C, want_objective):
        src = self.source
        bsums, bwsums, bstats = self.blocks
        changed = B.distortion_iteration(
            src.X, w=src.ww, use_w=src.use_w, C=C, labels=self.labels, lo=self.lo, sums=self.sums,
            counts=self.wsums, p=self.p, full=self.full, live=self.live, bsums=bsums,
            bwsums=bwsums, bstats=bstats, tot_sums=src.tot_sums, tot_wsums=src.tot_wsums,
            tot_stats=src.tot_stats, dist=self.dist, n_slots=src.n_slots)
        return PassResult(changed, None, self.dist.copy())

    def update(self, C):
        return B.means_of_sums(self.sums, self.wsums, C, self.live)

    def drop_empty(self, C_new):
        empty = self.alive & (self.wsums == 0) & self.live[:, None]
        if empty.any():
            C_new[empty] = np.inf
            self.alive &= ~empty
            for r in np.flatnonzero(empty.any(axis=1)):
                # bounds for the remaining clusters from scratch: the next
                # pass scans every row of the restart and sets its sums anew
                self.labels[r] = -1
                self.full[r] = True
        return C_new

    def retire(self, done):
        self.live &= ~done

    def moved(self, C, C_new):
        B.centre_moves(C_new, C, self.p)

    def book(self, C, r):
        """Restart ``r``'s code book: its centres without the dropped ones."""
        return C[r][self.alive[r]]


#: Registry of the Euclidean algorithms (all give Lloyd's result).
ALGORITHMS = {
    "lloyd": LloydStep,
    "hamerly": HamerlyStep,
    "elkan": ElkanStep,
    "exponion": ExponionStep,
    "yinyang": YinyangStep,
}


# --- rules ----------------------------------------------------------------------

class Rule:
    """When a run stops and what an empty cluster does (the interface the
    loop uses). The defaults: empty clusters are left to the step, the rule
    never stops a run before the update, keeps every centre, never stops it
    after the update either, and makes no final pass."""

    #: Whether the run ends with an assign-only pass (labels matching the
    #: returned centres, exact objective) instead of the last assignment.
    final_pass = False

    def empty(self, step, C):
        pass

    def stop_before_update(self, it, res, history, step):
        return False

    def keep(self, step, C, C_new):
        return C_new

    def stop_after_update(self, it, res, C, C_new, verbose, step):
        """(stop, strict): strict when the run ended with no label changed
        and the centres exactly the same."""
        return False, False

    def objective(self, res):
        """The run's objective when there is no final pass."""
        return res.objective


class Tolerance(Rule):
    """scikit-learn's rule: stop when no label changed or the sum of squared
    centre shifts is at most ``tol_abs``; empty clusters move onto the rows
    farthest from their centres (``on_few``: what too few distinct rows
    does, see :func:`relocate_empty`); a final pass."""

    final_pass = True

    def __init__(self, tol_abs: float, on_few: str = "raise"):
        self.tol_abs = tol_abs
        self.on_few = on_few

    def empty(self, step, C):
        step.relocate(C, self.on_few)

    def stop_after_update(self, it, res, C, C_new, verbose, step):
        shift = float(np.sum((C_new.astype(np.float64) - C) ** 2))
        if res.changed == 0:
            if verbose:
                print(f"Converged at iteration {it}: strict convergence.")
            return True, bool(np.array_equal(C_new, C))
        if shift <= self.tol_abs:
            if verbose:
                print(f"Converged at iteration {it}: center shift {shift:.6g} within "
                      f"tolerance {self.tol_abs:.6g}.")
            return True, False
        return False, False


class Distortion(Rule):
    """scipy ``kmeans``' rule: stop when the mean distance (weighted, not
    squared) changed by at most ``thresh`` from the previous iteration;
    clusters left empty are dropped. The result is the last update's code
    book and the last assignment's mean distance (no final pass). With a
    step that runs several restarts at once (its distortion an array), each
    restart is stopped on its own (``step.retire``) and the loop ends when
    all are."""

    def __init__(self, thresh: float, total_weight: float, dtype=np.float64):
        self.thresh = thresh
        self.total = total_weight
        self.dtype = np.dtype(dtype)
        self.prev = np.inf

    def keep(self, step, C, C_new):
        return step.drop_empty(C_new)

    def stop_after_update(self, it, res, C, C_new, verbose, step):
        avg = res.distortion / self.total
        done = ~(np.abs(self.prev - avg) > self.thresh)
        self.prev = avg
        step.retire(done)
        return bool(np.all(done)), False

    def objective(self, res):
        """The last mean distance, in the data's dtype (as scipy returns it);
        one per restart for a step that runs several."""
        return np.asarray(self.prev).astype(self.dtype)[()]


class FixedIterations(Rule):
    """scipy ``kmeans2``' rule: exactly ``max_iter`` iterations, labels from
    the last assignment; an empty cluster keeps its centre after
    ``missing()`` (which warns or raises)."""

    def __init__(self, missing):
        self.missing = missing

    def empty(self, step, C):
        if step.empty_clusters().size:
            self.missing()

    def objective(self, res):
        return None


class RelativeDecrease(Rule):
    """Stop, before updating, when an assignment changed no label and the
    previous update moved no centre, or lowered the objective by at most
    ``tol`` (a fraction); at most ``max_updates`` updates. The step's
    assignment handles empty clusters itself. The result is the last
    assignment (no final pass)."""

    def __init__(self, tol: float, max_updates: int):
        self.tol = tol
        self.max_updates = max_updates

    def stop_before_update(self, it, res, history, step):
        if it == 0:
            return it >= self.max_updates
        if (not res.changed and not step.moved_any) or \
                history[-2] - history[-1] <= self.tol * history[-2]:
            return True
        return it >= self.max_updates


# --- the loop -------------------------------------------------------------------

def solve(step: Step, C0: np.ndarray, rule: Rule, max_iter: int, verbose: int = 0,
          callback=None) -> RunResult:
    """One k-means run of ``step`` from centres ``C0`` under ``rule``.

    Each iteration assigns the rows, lets the rule handle empty clusters,
    and (unless the rule stops it first) updates the centres and asks the
    rule whether to stop. Rules with a final pass then assign once more so
    that the labels match the returned centres and the objective is exact.
    ``callback(it)`` is called after each assignment (progress bars).
    """
    C = np.array(C0, dtype=step.dtype, copy=True, order="C")
    step.start(C)
    history = []
    converged = strict = False
    it = 0
    res = None
    for it in range(max_iter):
        res = step.assign(C, want_objective=bool(verbose))
        rule.empty(step, C)
        if res.objective is not None:
            history.append(res.objective)
        if verbose:
            print(f"Iteration {it}, {step.objective_name} {res.objective:.6g}, "
                  f"{int(res.changed)} labels changed.")
        if callback is not None:
            callback(it)
        if rule.stop_before_update(it, res, history, step):
            converged = True
            break
        C_new = rule.keep(step, C, step.update(C))
        done, strict = rule.stop_after_update(it, res, C, C_new, verbose, step)
        step.moved(C, C_new)
        C = C_new
        if done:
            converged = True
            break
    if rule.final_pass:
        labels, objective = step.final(C, strict, res)
    else:
        labels, objective = step.labels, rule.objective(res)
    return RunResult(C, labels, objective, it + 1, converged, history)


# --- algorithm choice, tolerance, seeding, restarts -------------------------------

def resolve_algorithm(name: str, n: int, d: int, k: int, dtype) -> str:
    """The algorithm "auto" stands for, from the data's shape: Hamerly from
    ``AUTO_HAMERLY_MIN_N`` rows and ``AUTO_HAMERLY_MIN_K`` clusters, or from
    ``AUTO_HAMERLY_WIDE_MIN_K`` clusters on ``AUTO_HAMERLY_WIDE_D`` features;
    Lloyd otherwise. Below 16 clusters Lloyd's pass is cheap and Hamerly's
    two bounds (16 bytes a row) would double the memory of a fit on pixels;
    on 64 to 127 features a row is 256 bytes or more, the bounds add a few
    per cent, and Lloyd's pass there (the transposed loops from 5 centres)
    costs more than Hamerly's bounded passes save (from 128 features
    Lloyd's pass is a BLAS product, which keeps up). The crossovers are where
    Hamerly starts to converge faster than Lloyd (figures in docs/engine.md).
    """
    if name != "auto":
        return name
    if n >= AUTO_HAMERLY_MIN_N and (k >= AUTO_HAMERLY_MIN_K or (
            AUTO_HAMERLY_WIDE_D[0] <= d < AUTO_HAMERLY_WIDE_D[1] and k >= AUTO_HAMERLY_WIDE_MIN_K)):
        return "hamerly"
    return "lloyd"


#: Crossovers of the "auto" rule (see resolve_algorithm).
AUTO_HAMERLY_MIN_N = 30_000
AUTO_HAMERLY_MIN_K = 16
#: Features (from, up to but not including) on which Hamerly is "auto" from
#: AUTO_HAMERLY_WIDE_MIN_K clusters.
AUTO_HAMERLY_WIDE_D = (64, 128)
AUTO_HAMERLY_WIDE_MIN_K = 5


def tolerance(X: np.ndarray, tol: float, var=None) -> float:
    """``tol`` relative to the data's mean per-feature variance (as in
    scikit-learn), computed in float64 by blocks (``var``: those variances,
    when :func:`column_stats` gave them already)."""
    if tol == 0:
        return 0.0
    if var is None:
        var = column_stats(X)[0]
    return float(np.mean(var) * tol)


def column_stats(X: np.ndarray):
    """(column variances, sum of squares) of the rows ``X``, float64, from
    the two passes of ``column_mean_var``: the variances :func:`tolerance`
    takes, and the sum of squares ``_numeric.choose`` takes, ``n (var +
    mean^2)`` summed over the features (inf or NaN where the data's squares
    overflow float64: ``choose`` then measures the magnitude itself)."""
    nb = max(1, min(MAX_BLOCKS, X.shape[0]))
    mean, var = K.column_mean_var(X, np.ones(1, X.dtype), False, nb)
    with np.errstate(over="ignore", invalid="ignore"):
        sumsq = float(X.shape[0] * np.sum(var + mean * mean))
    return var, sumsq


def refine_on_sample(S, ws, C):
    """A few Lloyd iterations on a seeding sample (the sampled seedings of
    ``_init`` call this): the centres they end with (:func:`refine_run`
    without its final pass, which would only label the sample again)."""
    return refine_run(S, ws, C, final_pass=False).centers


def refine_run(S, ws, C, final_pass=True) -> RunResult:
    """The run of :func:`refine_on_sample`: its centres and, with the final
    pass, their exact weighted inertia on ``S`` (k-means|| compares runs by
    it)."""
    rule = Tolerance(0.0, "warn")
    rule.final_pass = final_pass
    return solve(LloydStep(ArraySource(S, ws, C.shape[0])), C, rule, SAMPLE_REFINE_ITERS)


def initial_centers(X, k, w, init, rng):
    """Centres from a registry name, a callable ``(X, k, random_state)`` or an
    array (copied, cast to X's dtype)."""
    if isinstance(init, str):
        return INITS[init](X, k, w, rng, refine=refine_on_sample)
    if callable(init):
        C = np.asarray(init(X, k, rng))
    else:
        C = np.asarray(init)
    return np.ascontiguousarray(C, dtype=X.dtype)


def run_kmeans(step: Step, *, rule, init="k-means++", n_init=1, max_iter=300,
               rng=None, n_threads=None, verbose=0, callback=None, seed=None) -> RunResult:
    """Best of ``n_init`` runs of ``step`` under ``rule`` (lowest objective;
    the first on ties). Each run is seeded by ``seed(rng)`` when given, else
    by :func:`initial_centers` from ``init``. ``rule`` is a factory called
    once per run (rules may keep state). ``callback(run, it)`` is called
    after every iteration of every run."""
    src = step.source
    n, d = src.X.shape
    k = step.k
    best = None
    with thread_context(n_threads, src.gemm, work=n * k * d):
        for r in range(n_init):
            C0 = seed(rng) if seed is not None else step.initial_centers(init, rng)
            if r == 0 and seeds_on_sample(init, n, k):
                release_freed_memory()  # before the labels: see its docstring
            if verbose:
                print(f"Initialization complete (run {r + 1} of {n_init}).")
            cb = None if callback is None else (lambda it, r=r: callback(r, it))
            res = solve(step, C0, rule(), max_iter, verbose, cb)
            if best is None or res.inertia < best.inertia:
                best = res
    return best
