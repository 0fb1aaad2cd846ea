"""One k-means run (init -> iterate -> converge), restarts, and the algorithm
registry.

The solver owns the loop, the convergence test (labels unchanged, then
centre shift <= tol), empty-cluster relocation, the final assignment that
makes labels match the returned centres, the restarts and the thread count.
Inputs are assumed validated (see ``_validation``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numba
import numpy as np

from ._config import (BLOCK_SUM_BUDGET, CHUNK_ROWS, GEMM_MIN_D, GEMM_MIN_K, GEMM_T_MIN_D,
                      GEMM_T_MIN_K, GEMM_T_SCRATCH, MAX_BLOCKS)
from ._init import INITS, FewDistinctPointsError, release_freed_memory, seeds_on_sample
from ._kernels import bounds as B
from ._kernels import lloyd as K


@dataclass
class RunResult:
    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool


def label_dtype(k: int) -> np.dtype:
    """The labels' dtype for ``k`` clusters: the smallest signed integer type
    that holds k - 1 (and the -1 of "no label yet"), as pandas' categorical
    codes: int8 up to 128 clusters, int16 up to 32,768, int32 beyond.

    One byte per row instead of four: on 2,000,000 pixels (12 bytes a row)
    int32 labels alone were 33 % of the input; int8 ones are 8.3 %.

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
    # p = ceil(chunks / blocks), and the threads equal shares of the blocks;
    # 71 chunks in 64 blocks left 28 empty ones, all on one thread
    # (18,000 rows: 2 threads 0.11 ms a pass, 1 thread 0.10, now 0.06)
    per = -(-n_chunks // nb)
    return int(-(-n_chunks // per))


def use_gemm(d: int, k: int) -> str | bool:
    """The distance strategy for a shape: ``"rows"`` (BLAS product laid out
    rows x centres), ``"cols"`` (centres x rows) or False (direct loops);
    crossovers measured on the reference machine (docs/engine.md)."""
    if d >= GEMM_MIN_D and k >= GEMM_MIN_K:
        return "rows"
    if d >= GEMM_T_MIN_D and k >= GEMM_T_MIN_K:
        return "cols"
    return False


def gemm_t_rows(k: int) -> int:
    """Rows per product of the centres x rows layout: the k x rows scratch
    stays near the L2 cache (GEMM_T_SCRATCH values)."""
    return int(max(64, min(512, (GEMM_T_SCRATCH // k) // 64 * 64)))


#: Below this much work per pass (n x k x d) a fit runs on one thread.
PARALLEL_MIN_WORK = 1 << 17


@contextlib.contextmanager
def thread_context(n_threads: int | None, blas_single: bool, work: float | None = None):
    """Set numba's thread count (restored afterwards) and, when the kernels
    call BLAS from inside their parallel loops, pin BLAS to one thread so the
    two pools never oversubscribe the cores.

    ``work`` (about n x k x d per pass) below ``PARALLEL_MIN_WORK`` runs on
    one thread unless ``n_threads`` asks otherwise: waking threads costs more
    than such a pass. None of this changes any result: the blocks are
    fixed by the shape.
    """
    old = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    elif work is not None and work < PARALLEL_MIN_WORK:
        numba.set_num_threads(1)
    try:
        if blas_single:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                yield
        else:
            yield
    finally:
        numba.set_num_threads(old)


class Engine:
    """Buffers and kernel choice for repeated passes over one data set."""

    def __init__(self, X: np.ndarray, w: np.ndarray | None, k: int,
                 gemm: bool | str | None = None):
        self.X = X
        self.w = w
        self.ww = w if w is not None else np.ones(1, dtype=X.dtype)
        self.use_w = w is not None
        n, d = X.shape
        self.k = k
        # False (direct loops), "rows" or "cols" (BLAS product layouts); True = "rows"
        self.gemm = use_gemm(d, k) if gemm is None else ("rows" if gemm is True else gemm)
        nb = n_blocks_for(n, k, d)
        self.n_blocks = nb
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

    @property
    def mu(self) -> np.ndarray:
        """The data's column means in X's dtype (the gemm path centres on it)."""
        if self._mu is None:
            nb = max(1, min(MAX_BLOCKS, self.X.shape[0]))
            mean, _ = K.column_mean_var(self.X, self.ww, False, nb)
            self._mu = mean.astype(self.X.dtype)
        return self._mu

    def assign(self, C: np.ndarray, labels: np.ndarray, update: bool, dist_out=None,
               want_sqrt: bool = False, want_inertia: bool = True, lb_out=None):
        """One pass. Returns (stats, sums, wsums) reduced over blocks;
        ``stats[STAT_SQRT]`` (scipy's distortion) only with ``want_sqrt``,
        ``stats[STAT_INERTIA]`` only with ``want_inertia`` (an exact float64
        distance per row: Lloyd's iterations do without it). ``lb_out`` (n,)
        receives a lower bound on each row's distance to the centres other
        than its own (Hamerly's bound; see the kernels)."""
        X = self.X
        C = np.ascontiguousarray(C, dtype=X.dtype)
        want = dist_out is not None
        dist = dist_out if want else self._nodist
        want_lb = lb_out is not None
        lb = lb_out if want_lb else self._nodist
        if self.gemm == "cols":
            Cs = np.ascontiguousarray((C - self.mu).astype(X.dtype))
            cc = np.einsum("ij,ij->i", Cs, Cs, dtype=np.float64).astype(X.dtype)
            K.lloyd_pass_gemm_t(X, self.ww, self.use_w, C, Cs, cc, self.mu, labels, update,
                                self.sums, self.wsums, self.stats, want, dist, self.n_slots,
                                self.tie_eps, gemm_t_rows(self.k), want_sqrt, want_inertia,
                                want_lb, lb)
        elif self.gemm:
            Cs = (C - self.mu).astype(X.dtype)
            Ct = np.ascontiguousarray(Cs.T)
            cc = np.einsum("ij,ij->i", Cs, Cs, dtype=np.float64).astype(X.dtype)
            K.lloyd_pass_gemm(X, self.ww, self.use_w, C, Ct, cc, self.mu, labels, update,
                              self.sums, self.wsums, self.stats, want, dist, self.n_slots,
                              self.tie_eps, want_sqrt, want_inertia, want_lb, lb)
        else:
            K.lloyd_pass_direct(X, self.ww, self.use_w, C, labels, update, self.sums,
                                self.wsums, self.stats, want, dist, self.tie_eps, want_sqrt,
                                want_inertia, want_lb, lb)
        K.reduce_blocks(self.sums, self.wsums, self.stats, self.tot_sums, self.tot_wsums,
                        self.tot_stats)
        return self.tot_stats, self.tot_sums, self.tot_wsums

    def accumulate(self, sums: np.ndarray, wsums: np.ndarray, full: bool) -> np.ndarray:
        """After a bound-based pass: reduce the per-block results and set
        (``full``) or update (deltas) the running ``sums``/``wsums`` in place.
        Returns the reduced statistics."""
        K.reduce_blocks(self.sums, self.wsums, self.stats, self.tot_sums, self.tot_wsums,
                        self.tot_stats)
        if full:
            sums[:] = self.tot_sums
            wsums[:] = self.tot_wsums
        else:
            sums += self.tot_sums
            wsums += self.tot_wsums
        return self.tot_stats


def relocate_empty(engine: Engine, C_old, labels, sums, wsums, on_few: str = "raise"):
    """Move each empty cluster to one of the points farthest from their own
    centre (largest first, ties by lower index: deterministic), taking the
    point's weight out of its old cluster. ``sums``/``wsums`` are updated in
    place. Returns the number relocated."""
    empty = np.flatnonzero(wsums == 0)
    if empty.size == 0:
        return 0
    X = engine.X
    n = X.shape[0]
    dist = np.empty(n)
    K.sq_dist_to_assigned(X, C_old, labels, dist)
    if engine.use_w:
        dist[engine.w == 0] = -1.0  # a zero-weight row cannot hold a cluster
    m = empty.size
    cand = np.argpartition(-dist, m - 1)[:m] if m < n else np.arange(n)
    order = cand[np.lexsort((cand, -dist[cand]))]
    for j, far in zip(empty, order):
        if not dist[far] > 0:
            n_distinct = K.count_distinct_upto(X, engine.k)
            msg = (f"n_clusters={engine.k} but X has only {n_distinct} distinct points; "
                   f"ask for at most {n_distinct} clusters or remove duplicates.")
            if on_few == "raise":
                raise FewDistinctPointsError(msg)
            import warnings

            warnings.warn(msg, RuntimeWarning, stacklevel=4)
            break
        wi = float(engine.w[far]) if engine.use_w else 1.0
        old = labels[far]
        x = X[far].astype(np.float64)
        sums[old] -= wi * x
        wsums[old] -= wi
        sums[j] = wi * x
        wsums[j] = wi
    return m


def new_centers(sums, wsums, C_old, dtype):
    """Weighted means; a cluster left with no weight keeps its old centre."""
    C = np.array(C_old, dtype=dtype, copy=True)
    nz = wsums > 0
    C[nz] = (sums[nz] / wsums[nz, None]).astype(dtype)
    return C


def lloyd(engine: Engine, C0: np.ndarray, max_iter: int, tol: float, verbose: int = 0,
          on_few: str = "raise", callback=None) -> RunResult:
    """Lloyd's algorithm from centres ``C0``.

    Stops when no label changes ("strict" convergence) or when the sum of
    squared centre shifts is <= ``tol`` (absolute). Then one assign-only
    pass makes the labels match the returned centres and gives the exact
    inertia (the iterations skip it unless ``verbose`` prints it). ``callback(it)``, when given, is called
    after each iteration (progress bars).
    """
    X = engine.X
    n = X.shape[0]
    C = np.array(C0, dtype=X.dtype, copy=True, order="C")
    labels = np.full(n, -1, dtype=label_dtype(engine.k))
    strict = False
    converged = False
    it = 0
    for it in range(max_iter):
        stats, sums, wsums = engine.assign(C, labels, update=True, want_inertia=bool(verbose))
        if verbose:
            print(f"Iteration {it}, inertia {stats[K.STAT_INERTIA]:.6g}.")
        relocate_empty(engine, C, labels, sums, wsums, on_few)
        if callback is not None:
            callback(it)
        C_new = new_centers(sums, wsums, C, X.dtype)
        shift = float(np.sum((C_new.astype(np.float64) - C) ** 2))
        same = np.array_equal(C_new, C)
        C = C_new
        if stats[K.STAT_CHANGED] == 0:
            strict = same
            converged = True
            if verbose:
                print(f"Converged at iteration {it}: strict convergence.")
            break
        if shift <= tol:
            converged = True
            if verbose:
                print(f"Converged at iteration {it}: center shift {shift:.6g} within tolerance {tol:.6g}.")
            break
    if strict and verbose:
        inertia = float(stats[K.STAT_INERTIA])
    else:  # the iterations skipped the exact inertia: one assign-only pass
        stats, _, _ = engine.assign(C, labels, update=False)
        inertia = float(stats[K.STAT_INERTIA])
    return RunResult(C, labels, inertia, it + 1, converged)


def _hamerly_pass(engine: Engine, C, p, s_half, labels, u, lo, full):
    """One Hamerly pass; its fallback scans use BLAS where Lloyd's pass does
    (measured on the benchmark's embeddings and large-k workloads)."""
    X = engine.X
    k = C.shape[0]
    order = np.argsort(-p, kind="stable")
    jmax = int(order[0])
    pmax = float(p[jmax])
    pmax2 = float(p[order[1]]) if k > 1 else 0.0
    if engine.gemm:
        mu = engine.mu
        Cs = np.ascontiguousarray((C - mu).astype(X.dtype))
        cc = np.einsum("ij,ij->i", Cs, Cs, dtype=np.float64).astype(X.dtype)
    else:  # unused; in X's dtype so that one compiled kernel serves both
        mu = np.zeros(X.shape[1], X.dtype)
        Cs = np.zeros((1, X.shape[1]), X.dtype)
        cc = np.zeros(1, X.dtype)
    B.hamerly_pass(X, engine.ww, engine.use_w, C, p, jmax, pmax, pmax2, s_half, labels, u, lo,
                   full, engine.sums, engine.wsums, engine.stats, engine.n_slots,
                   bool(engine.gemm), Cs, cc, mu, engine.tie_eps)


def _bounded(kind: str):
    """Build a bound-based exact algorithm (Hamerly, Elkan, Exponion, Yinyang)
    with lloyd's signature. Iterations mirror Lloyd's exactly (assign with C_t, update to
    C_{t+1}, same convergence test); the triangle-inequality bounds only skip
    distance computations. A final full assignment gives the labels and the
    exact inertia."""

    def run(engine: Engine, C0: np.ndarray, max_iter: int, tol: float, verbose: int = 0,
            on_few: str = "raise", callback=None) -> RunResult:
        X = engine.X
        n = X.shape[0]
        k = engine.k
        nb = engine.n_blocks
        C = np.array(C0, dtype=X.dtype, copy=True, order="C")
        labels = np.full(n, -1, dtype=label_dtype(engine.k))
        u = np.empty(n)
        if kind == "elkan":
            lo = np.empty((n, k), dtype=np.float32)
        elif kind == "yinyang":
            gof, gidx, gptr = centre_groups(C, max(1, k // YINYANG_CENTRES_PER_GROUP))
            lo = np.empty((n, gptr.shape[0] - 1), dtype=np.float32)
            drift = np.zeros(gptr.shape[0] - 1)
        else:
            lo = np.empty(n)
        sums = np.zeros((k, X.shape[1]))
        wsums = np.zeros(k)
        p = np.zeros(k)
        full = True
        converged = False
        it = 0
        for it in range(max_iter):
            if kind in ("hamerly", "yinyang"):
                s_half = B.nearest_half(C)
            else:
                half, s_half = B.center_geometry(C)
            if kind == "exponion":
                order = np.argsort(-p, kind="stable")
                jmax = int(order[0])
                pmax = float(p[jmax])
                pmax2 = float(p[order[1]]) if k > 1 else 0.0
            # Lloyd's pass (BLAS for large d and k) gives the labels, the
            # sums, exact distances (the upper bounds) and lower bounds on the
            # distance to the other centres: it starts Hamerly and Exponion.
            # (Also running it instead of a Hamerly pass that followed one
            # comparing most rows with every centre measured no faster.)
            lloyd_pass = it == 0 and kind in ("hamerly", "exponion")
            if lloyd_pass:
                engine.assign(C, labels, update=True, dist_out=u, want_inertia=False,
                              lb_out=lo)
                np.sqrt(u, out=u)
            elif kind == "yinyang":
                drift += np.maximum.reduceat(p[gidx], gptr[:-1])
                Cg = np.ascontiguousarray(C[gidx], dtype=np.float64)
                B.yinyang_pass(X, engine.ww, engine.use_w, C, Cg, gidx, gptr, gof, p, drift,
                               s_half, labels, u, lo, full, engine.sums, engine.wsums,
                               engine.stats, engine.n_slots)
            elif kind == "hamerly":
                _hamerly_pass(engine, C, p, s_half, labels, u, lo, full)
            elif kind == "exponion":
                nbr, nbr_dist = B.sorted_neighbors(half)
                B.exponion_pass(X, engine.ww, engine.use_w, C, p, jmax, pmax, pmax2, s_half,
                                nbr, nbr_dist, labels, u, lo, full, engine.sums, engine.wsums,
                                engine.stats)
            else:
                B.elkan_pass(X, engine.ww, engine.use_w, C, p, half, s_half, labels, u, lo,
                             full, engine.sums, engine.wsums, engine.stats)
            if lloyd_pass:
                sums[:] = engine.tot_sums
                wsums[:] = engine.tot_wsums
            else:
                engine.accumulate(sums, wsums, full)
            changed = engine.tot_stats[K.STAT_CHANGED]
            if verbose:
                sse = K.weighted_sse(X, engine.ww, engine.use_w, C, labels, nb)
                print(f"Iteration {it}, inertia {sse:.6g}, {int(changed)} labels changed.")
            # relocation edits the sums behind the labels' back: recompute them next time
            wsums[np.abs(wsums) < 1e-12 * max(1.0, float(np.max(np.abs(wsums))))] = 0.0
            full = relocate_empty(engine, C, labels, sums, wsums, on_few) > 0
            if callback is not None:
                callback(it)
            C_new = new_centers(sums, wsums, C, X.dtype)
            diff = C_new.astype(np.float64) - C
            p = np.sqrt(np.sum(diff * diff, axis=1))
            shift = float(np.sum(diff * diff))
            C = C_new
            if changed == 0 or shift <= tol:
                converged = True
                if verbose:
                    print(f"Converged at iteration {it}.")
                break
        if kind == "hamerly":
            # labels for the returned centres: one more (cheap) bounded pass,
            # then the exact inertia, instead of a full pass
            _hamerly_pass(engine, C, p, B.nearest_half(C), labels, u, lo, False)
            inertia = K.weighted_sse(X, engine.ww, engine.use_w, C, labels, nb)
        else:
            stats, _, _ = engine.assign(C, labels, update=False)
            inertia = float(stats[K.STAT_INERTIA])
        return RunResult(C, labels, inertia, it + 1, converged)

    run.__name__ = kind
    run.__doc__ = f"{kind.capitalize()}'s exact accelerated k-means (same result as lloyd)."
    return run


#: Centres per group in Yinyang (Ding et al. suggest k / 10 groups).
YINYANG_CENTRES_PER_GROUP = 10


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


#: Registry of algorithms: every entry has lloyd's signature and result.
ALGORITHMS = {
    "lloyd": lloyd,
    "hamerly": _bounded("hamerly"),
    "elkan": _bounded("elkan"),
    "exponion": _bounded("exponion"),
    "yinyang": _bounded("yinyang"),
}


def resolve_algorithm(name: str, n: int, d: int, k: int, dtype) -> str:
    """The algorithm "auto" stands for, from the data's shape: Hamerly from
    ``AUTO_HAMERLY_MIN_N`` rows and ``AUTO_HAMERLY_MIN_K`` clusters, Lloyd
    otherwise.

    Measured on the 2-core reference machine, time to convergence from the
    same start (lloyd / hamerly, ms; blobs with overlap, float32; Hamerly
    before its first pass became Lloyd's and its scans could use BLAS, both
    faster since):
    100k x 16 k=32 56.8/28.1; 50k x 16 k=32 20.1/12.9; 20k x 16 k=32
    12.1/17.0; 50k x 3 k=16 37.7/19.7; 30k x 2 k=64 14.0/10.9; 50k x 32
    k=128 157/120; 100k x 32 k=256 971/701; 100k x 128 k=256 335/301;
    500k x 3 k=8 99.6/70.4, but 200k x 16 k=8 5.8/7.3 (2 iterations) and
    the benchmark's 2M pixels, k=8 107/104. The benchmark workloads and
    the other algorithms: docs/engine.md. Below 16 clusters Lloyd's pass is
    cheap and Hamerly's two bounds (16 bytes a row) would double the
    memory of a fit on pixels.
    """
    if name != "auto":
        return name
    if n >= AUTO_HAMERLY_MIN_N and k >= AUTO_HAMERLY_MIN_K:
        return "hamerly"
    return "lloyd"


#: Crossovers of the "auto" rule (measured; see resolve_algorithm).
AUTO_HAMERLY_MIN_N = 30_000
AUTO_HAMERLY_MIN_K = 16


def tolerance(X: np.ndarray, tol: float) -> float:
    """``tol`` relative to the data's mean per-feature variance (as in
    scikit-learn), computed in float64 by blocks."""
    if tol == 0:
        return 0.0
    nb = max(1, min(MAX_BLOCKS, X.shape[0]))
    _, var = K.column_mean_var(X, np.ones(1, X.dtype), False, nb)
    return float(np.mean(var) * tol)


def initial_centers(X, k, w, init, rng):
    """Centres from a registry name, a callable ``(X, k, random_state)`` or an
    array (copied, cast to X's dtype)."""
    if isinstance(init, str):
        return INITS[init](X, k, w, rng)
    if callable(init):
        C = np.asarray(init(X, k, rng))
    else:
        C = np.asarray(init)
    return np.ascontiguousarray(C, dtype=X.dtype)


def run_kmeans(X, k, *, w=None, init="k-means++", n_init=1, max_iter=300, tol=1e-4,
               rng=None, algorithm="auto", n_threads=None, verbose=0,
               on_few="raise", callback=None) -> RunResult:
    """Best of ``n_init`` runs (lowest inertia; the first on ties).
    ``callback(run, it)`` is called after every iteration of every run."""
    n, d = X.shape
    algo = ALGORITHMS[resolve_algorithm(algorithm, n, d, k, X.dtype)]
    engine = Engine(X, w, k)
    best = None
    with thread_context(n_threads, engine.gemm, work=n * k * d):
        tol_abs = tolerance(X, tol)
        for r in range(n_init):
            C0 = initial_centers(X, k, w, init, rng)
            if r == 0 and seeds_on_sample(init, n, k):
                release_freed_memory()  # before the labels: see its docstring
            if verbose:
                print(f"Initialization complete (run {r + 1} of {n_init}).")
            cb = None if callback is None else (lambda it, r=r: callback(r, it))
            res = algo(engine, C0, max_iter, tol_abs, verbose, on_few, cb)
            if best is None or res.inertia < best.inertia:
                best = res
    return best
