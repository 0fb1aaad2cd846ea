"""Sparse rows (``scipy.sparse`` CSR/CSC input) in the one k-means loop.

The centres stay dense; the rows stay sparse from the public entry to the
kernels (:mod:`._kernels.sparse`); nothing here builds an n x features or an
n x k array (except ``transform``'s n x k output, which is what it returns).
Memory of a fit: the CSR arrays (the input's own when they are already
canonical CSR), the rows' squared norms, the labels, and O(k x features)
for the centres, their transpose and the centre sums.

Internal API (also for other passes over sparse rows, e.g. mini-batches):

:func:`as_sparse_rows` (``X``, ``name``) -> :class:`SparseRows`
    Validates a ``scipy.sparse`` matrix or array (any format; CSR and CSC
    are read as they are, others converted once, never densified): numeric
    dtype (float32 kept, other numbers float64), finite values, at least one
    row and one column; makes the CSR canonical (a copy only when it is
    not). :func:`is_sparse` says whether an input is one.
:class:`SparseRows`
    The canonical CSR arrays, ``shape``, ``dtype``, the rows' squared norms
    ``xsq`` (float64, computed once) and inverse norms ``xinv`` (cosine);
    ``rows[i]`` is row i as a dense 1-D array, ``rows[idx]`` (an index
    array) the :class:`SparseRows` of those rows (a batch or a sample).
:class:`SparseSource`
    ``assign(C, labels, update, dist_out=None, want_sqrt=False,
    want_inertia=True, lb_out=None)`` -> ``(stats, sums, wsums)``: the
    contract of ``_solver.ArraySource.assign`` (``stats`` indexed by
    ``_kernels.lloyd.STAT_*``), one pass over the rows with dense centres
    ``C``; ``cosine=True`` assigns by ``1 - cos`` and sums the unit rows.
    With ``update``, the sums move only the rows that changed cluster since
    the source last summed the same rows and weights (O(their non-zeros));
    new rows (``source.X`` replaced by another batch) are summed afresh.
    ``dist_to_assigned(C, labels, out)`` gives each row's distance to its
    own centre.
:func:`sq_distances` (``rows``, ``C``) -> (n, k) float64
    Squared Euclidean (or ``1 - cos``) distances of a batch of rows to
    dense centres, by the expansion with the rows' norms computed once.
:func:`make_step` (``X``, ``w``, ``k``, ``metric``, ``algorithm``)
    The solver step for sparse rows: :class:`SparseLloydStep` (Lloyd's
    pass), :class:`SparseHamerlyStep` (Hamerly's bounds, the default from
    ``AUTO_HAMERLY_MIN_K`` clusters; Elkan's, Exponion's and Yinyang's names
    run it too: their bounds per row and centre or group would be an n x k
    array) or :class:`SparseCosineStep` (spherical k-means: the dense
    cosine step's update, relocation and acceptance rule). All plug into
    ``_solver.solve`` like the dense steps.
:func:`assign_arrays`, :func:`transform_arrays`
    ``core``'s functions of the same names for sparse rows.

:func:`cluster_means`, :func:`sq_dist_to_means`, :func:`silhouette_sums`
    What ``kmeanskit.choose_k``'s criteria need from sparse rows: the
    clusters' dense means (of the unit rows under cosine), each row's
    squared distance to its mean, and the silhouette's per-cluster distance
    sums (dot products through a CSC copy of the rows, no n x n array).

Seeding (:data:`INITS`) is greedy k-means++ (the dense seeding's random
draws and rules), each step one pass over the non-zeros with all the
candidates at once: O(nnz x candidates) per step.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _solver
from ._config import MAX_BLOCKS
from ._init import (
    SAMPLE_REFINE_ITERS,
    FewDistinctPointsError,
    _sorted_draws,
    _weighted_index,
    _worth_sampling,
    n_local_trials,
    sample_size,
    weight_cdf,
)
from ._kernels import lloyd as K
from ._kernels import metric as MK
from ._kernels import sparse as SK
from ._metric import MetricStep
from ._solver import HamerlyStep, LloydStep, PassResult, Step, Tolerance, relocate_empty, solve
from ._validation import DataTypeError

#: The metrics that take sparse rows.
SPARSE_METRICS = ("euclidean", "cosine")


def is_sparse(X) -> bool:
    """Whether ``X`` is a ``scipy.sparse`` matrix or array (or already
    :class:`SparseRows`)."""
    if isinstance(X, SparseRows):
        return True
    mod = type(X).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    import scipy.sparse as sp

    return sp.issparse(X)


class SparseRows:
    """Rows held as canonical CSR arrays (see the module docstring).

    Parameters
    ----------
    indptr, indices, data : ndarray
        Canonical CSR arrays (indices sorted in each row, no duplicates).
    shape : tuple of int
        (n_samples, n_features).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> rows = as_sparse_rows(sp.csr_matrix(np.array([[0.0, 3.0], [4.0, 0.0]])))
    >>> rows.shape, rows.xsq.tolist(), rows[1].tolist()
    ((2, 2), [9.0, 16.0], [4.0, 0.0])
    """

    def __init__(self, indptr, indices, data, shape):
        self.indptr = indptr
        self.indices = indices
        self.data = data
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = data.dtype
        self.ndim = 2
        self.xsq = np.empty(self.shape[0])
        SK.row_sq_norms(indptr, data, self.xsq)
        self._xinv = None

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def scaled(self, scale) -> "SparseRows":
        """These rows multiplied by ``scale``'s power of two (``_numeric``:
        exact); the same object when it is 1. Only the values are copied."""
        if scale.x_exp == 0:
            return self
        return SparseRows(self.indptr, self.indices, scale.data(self.data), self.shape)

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    @property
    def xinv(self) -> np.ndarray:
        """1 / ||x|| of every row (float64; inf for a zero row)."""
        if self._xinv is None:
            nrm = np.sqrt(self.xsq)
            with np.errstate(divide="ignore"):
                self._xinv = np.where(nrm > 0, 1.0 / nrm, np.inf)
        return self._xinv

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key)
            a, b = self.indptr[i], self.indptr[i + 1]
            out = np.zeros(self.shape[1], dtype=self.dtype)
            out[self.indices[a:b]] = self.data[a:b]
            return out
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return self.take(idx)

    def take(self, idx) -> "SparseRows":
        """The rows ``idx`` (in that order) as new :class:`SparseRows`."""
        idx = np.asarray(idx, dtype=np.int64)
        lens = (self.indptr[idx + 1] - self.indptr[idx]).astype(np.int64)
        indptr = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        sel = np.repeat(self.indptr[idx].astype(np.int64) - indptr[:-1], lens) + \
            np.arange(indptr[-1], dtype=np.int64)
        return SparseRows(indptr, self.indices[sel], self.data[sel], (idx.size, self.shape[1]))

    def dense_rows(self, idx) -> np.ndarray:
        """The rows ``idx`` as a dense (len(idx), n_features) array (centres)."""
        out = np.zeros((len(idx), self.shape[1]), dtype=self.dtype)
        for t, i in enumerate(idx):
            out[t] = self[int(i)]
        return out

    def to_scipy(self):
        """A ``scipy.sparse.csr_matrix`` sharing these arrays."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def __repr__(self) -> str:
        return f"SparseRows(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"


def as_sparse_rows(X, name: str = "X") -> SparseRows:
    """Validate a ``scipy.sparse`` input and return :class:`SparseRows`
    (see the module docstring). Never densifies; copies only what must
    change (a dtype, a non-canonical CSR)."""
    if isinstance(X, SparseRows):
        return X
    import scipy.sparse as sp

    if X.ndim != 2:
        raise ValueError(f"{name} is a {X.ndim}-D sparse array; pass a 2-D matrix "
                         "(n_samples, n_features).")
    if X.dtype.kind not in "fiub":
        raise DataTypeError(f"{name} is a sparse matrix of dtype {X.dtype}, which is not numeric "
                            "(or complex); pass real numbers.")
    n, d = X.shape
    if n < 1:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least 1 row(s).")
    if d < 1:
        raise ValueError(f"{name} has no features (shape {X.shape}); pass at least one column.")
    if X.format != "csr":
        X = X.tocsr()  # CSC, COO, LIL, DOK, BSR, DIA: one conversion, still sparse
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else (
        np.float32 if X.dtype == np.float16 else np.float64)
    data = X.data
    if data.dtype != dtype:
        data = data.astype(dtype)
    if not np.isfinite(np.sum(data, dtype=np.float64)) and not np.isfinite(data).all():
        raise ValueError(f"{name} contains NaN or infinity; remove or impute those values first.")
    if not X.has_canonical_format or (data.size and not np.all(data != 0)):
        # duplicates summed, indices sorted, stored zeros dropped: in a copy
        X = sp.csr_matrix((data.copy(), X.indices.copy(), X.indptr.copy()), shape=X.shape)
        X.sum_duplicates()
        X.eliminate_zeros()
        data = X.data
    return SparseRows(X.indptr, X.indices, data, (n, d))


def check_metric(metric: str) -> None:
    """A clear error for a metric that does not take sparse rows."""
    if metric not in SPARSE_METRICS:
        raise ValueError(f"metric={metric!r} does not take sparse input; sparse rows work with "
                         f"metric='euclidean' or metric='cosine'. Use one of those, or pass "
                         "X.toarray() if it fits in memory.")


def check_no_zero_rows(rows: SparseRows, name: str) -> None:
    """Cosine needs every row to have a non-zero norm (a row of values so
    small that its squared norm underflows is not zero: it is scaled)."""
    zero = rows.xsq == 0
    if zero.any():
        n = rows.shape[0]
        with_value = np.repeat(np.arange(n), np.diff(rows.indptr))[rows.data != 0]
        zero &= np.bincount(with_value, minlength=n) == 0
    if zero.any():
        i = np.flatnonzero(zero)
        raise ValueError(f"{name} has {i.size} row(s) of zero norm (first at index {i[0]}); the cosine "
                         "distance is undefined for them (an empty document: no term of the "
                         "vocabulary). Remove those rows or use metric='euclidean'.")


def count_distinct_upto(rows: SparseRows, limit: int, w=None, unit: bool = False) -> int:
    """Number of distinct rows (with positive weight; of the unit rows with
    ``unit``), counting up to ``limit``."""
    seen = set()
    ip, ind, dat = rows.indptr, rows.indices, rows.data
    for i in range(rows.shape[0]):
        if w is not None and not w[i] > 0:
            continue
        a, b = ip[i], ip[i + 1]
        vals = dat[a:b].astype(np.float64) * (rows.xinv[i] if unit else 1.0)
        seen.add((ind[a:b].tobytes(), vals.tobytes()))
        if len(seen) >= limit:
            break
    return len(seen)


def column_variance_mean(rows: SparseRows, unit: bool = False) -> float:
    """Mean over the features of the (unweighted) column variances, in
    float64, of the rows (the unit rows with ``unit``), two passes over the
    non-zeros as scikit-learn's ``mean_variance_axis``, O(features) memory."""
    _, var = SK.column_mean_var(rows.indptr, rows.indices, rows.data,
                                rows.xinv if unit else np.ones(1), unit, rows.shape[1])
    return float(np.mean(var))


def centre_arrays(C, cosine: bool):
    """(C float64 contiguous, C.T contiguous, squared norms, inverse norms)."""
    Cd = np.ascontiguousarray(C, dtype=np.float64)
    cc = np.einsum("ij,ij->i", Cd, Cd)
    if cosine:
        nrm = np.sqrt(cc)
        with np.errstate(divide="ignore"):
            cinv = np.where(nrm > 0, 1.0 / nrm, np.inf)
    else:
        cinv = np.ones(1)
    return Cd, np.ascontiguousarray(Cd.T), cc, cinv


def nearest_half(Cd, cc) -> np.ndarray:
    """``s[j]``: half the distance from centre j to its nearest other centre
    (inf for one centre), from one BLAS product ``C C^T`` (k x k x d: the
    centres of sparse data have many features), less the expansion's
    rounding bound so that it never exceeds the true value."""
    k, d = Cd.shape
    if k == 1:
        return np.full(1, np.inf)
    d2 = cc[:, None] + cc[None, :] - 2.0 * (Cd @ Cd.T)
    d2 -= 4.0 * (d + 2) * SK.EPS64 * (cc[:, None] + cc[None, :])
    np.fill_diagonal(d2, np.inf)
    return 0.5 * np.sqrt(np.maximum(d2.min(axis=1), 0.0))


def n_blocks(n: int) -> int:
    """Blocks of a pass: only the statistics are per block (the centre sums
    are summed per cluster), so as many as ``MAX_BLOCKS`` allows."""
    return int(max(1, min(MAX_BLOCKS, -(-n // 256))))


# --- the source --------------------------------------------------------------------

class SparseSource:
    """Sparse rows and the buffers of repeated passes over them with ``k``
    dense centres: ``_solver.ArraySource``'s contract (see the module
    docstring)."""

    gemm = False

    def __init__(self, X: SparseRows, w, k: int, cosine: bool = False):
        _solver.quiet_spinning()
        self.X = X
        self.w = w
        self.ww = w if w is not None else np.ones(1, dtype=X.dtype)
        self.use_w = w is not None
        self.k = k
        self.cosine = cosine
        n, d = X.shape
        self.n_blocks = n_blocks(n)
        self.stats = np.empty((self.n_blocks, SK.N_STATS))
        self.tot_stats = np.empty(SK.N_STATS)
        self.tot_sums = np.empty((k, d))
        self.tot_wsums = np.empty(k)
        self.order = None  # set by sums_by_cluster
        self.sum_labels = None  # the labels tot_sums stand for,
        self._sums_of = (None, None)  # with these rows and weights
        self._nodist = np.empty(1)
        self.n_slots = numba.config.NUMBA_NUM_THREADS

    def with_k(self, k: int) -> "SparseSource":
        return self if k == self.k else SparseSource(self.X, self.w, k, self.cosine)

    @property
    def total_weight(self) -> float:
        return float(self.w.sum(dtype=np.float64)) if self.use_w else float(self.X.shape[0])

    def assign(self, C, labels, update, dist_out=None, want_sqrt=False, want_inertia=True,
               lb_out=None, cosine=None):
        """One pass (``ArraySource.assign``'s contract); returns (stats,
        sums, wsums), the sums and weights recomputed only with ``update``."""
        X = self.X
        cos = self.cosine if cosine is None else cosine
        Cd, CT, cc, cinv = centre_arrays(C, cos)
        SK.sparse_pass(X.indptr, X.indices, X.data, X.xsq, X.xinv if cos else self._nodist,
                       w=self.ww, use_w=self.use_w, C=Cd, CT=CT, cc=cc, cinv=cinv, cosine=cos,
                       labels=labels, stats=self.stats, want_dist=dist_out is not None,
                       dist_out=self._nodist if dist_out is None else dist_out,
                       want_sqrt=want_sqrt, want_inertia=want_inertia,
                       want_lb=lb_out is not None,
                       lb_out=self._nodist if lb_out is None else lb_out)
        SK.reduce_stats(self.stats, self.tot_stats)
        if update:
            self.update_sums(labels, cos)
        return self.tot_stats, self.tot_sums, self.tot_wsums

    def update_sums(self, labels, cosine):
        """``tot_sums``, ``tot_wsums`` for ``labels``: by moving the rows that
        changed cluster since the labels they were last computed for
        (``sum_labels``), or from scratch (the first time, or when most rows
        moved)."""
        prev = self.sum_labels
        if (prev is None or prev.shape != labels.shape or self._sums_of[0] is not self.X
                or self._sums_of[1] is not self.ww):  # other rows or weights (a new batch)
            self.sums_by_cluster(labels, cosine)
            return
        moved = np.flatnonzero(prev != labels)
        if moved.size * 4 > labels.size:
            self.sums_by_cluster(labels, cosine)
            return
        X = self.X
        SK.move_rows(X.indptr, X.indices, X.data, self.ww, self.use_w,
                     X.xinv if cosine else self._nodist, cosine, moved,
                     prev[moved].astype(np.int64), labels[moved].astype(np.int64),
                     self.tot_sums, self.tot_wsums)
        prev[moved] = labels[moved]
        ws = self.tot_wsums  # a cluster emptied by moves may keep a rounding residue
        ws[np.abs(ws) < 1e-12 * max(1.0, float(np.max(np.abs(ws))))] = 0.0

    def moved_row(self, row: int, j: int) -> None:
        """A step moved ``row``'s contribution to cluster ``j`` in the sums
        itself (relocation of an empty cluster): the sums now stand for
        ``row`` in ``j``."""
        if self.sum_labels is not None:
            self.sum_labels[row] = j

    def sums_by_cluster(self, labels, cosine):
        """The per-cluster weighted sums (of the unit rows for cosine) and
        weights into ``tot_sums``, ``tot_wsums``, from scratch."""
        X = self.X
        self.sum_labels = labels.copy()
        self._sums_of = (X, self.ww)
        lab = labels.astype(np.int64, copy=False)
        order = np.argsort(lab, kind="stable")
        self.order = order  # the rows grouped by label (Hamerly's visiting order)
        starts = np.zeros(self.k + 1, dtype=np.int64)
        np.cumsum(np.bincount(lab, minlength=self.k), out=starts[1:])
        SK.cluster_sums(X.indptr, X.indices, X.data, self.ww, self.use_w,
                        X.xinv if cosine else self._nodist, cosine, order, starts,
                        self.tot_sums, self.tot_wsums)

    def dist_to_assigned(self, C, labels, out, cosine=None):
        """Distances (squared L2, or 1 - cos) of the rows to their centres."""
        X = self.X
        cos = self.cosine if cosine is None else cosine
        Cd, _, cc, cinv = centre_arrays(C, cos)
        SK.dist_to_assigned(X.indptr, X.indices, X.data, X.xinv if cos else self._nodist, Cd, cc,
                            cinv, cos, labels, out)
        return out


def sq_distances(rows: SparseRows, C, cosine: bool = False, n_threads=None) -> np.ndarray:
    """(n, k) float64 squared Euclidean distances (``1 - cos`` with
    ``cosine``) of sparse rows to dense centres, by the expansion
    ``||x||^2 - 2 x.c + ||c||^2`` (at least 0) with the rows' norms computed
    once. For a batch of rows, not for all of a large X (n x k output)."""
    _, CT, cc, cinv = centre_arrays(C, cosine)
    out = np.empty((rows.shape[0], CT.shape[1]))
    with _solver.thread_context(n_threads, False):
        SK.pairwise(rows.indptr, rows.indices, rows.data, rows.xsq,
                    rows.xinv if cosine else np.ones(1), CT, cc, cinv, cosine, out)
    return out


# --- cluster validity indices (kmeanskit.choose_k) ------------------------------------------------

def cluster_means(rows: SparseRows, labels, k: int, w=None, unit: bool = False):
    """``(C, wk)``: the weighted mean of each cluster's rows (of the unit
    rows with ``unit``) as a dense (k, features) float64 array, and each
    cluster's total weight; NaN centres for empty clusters. One pass over
    the non-zeros (:func:`._kernels.sparse.cluster_sums`, clusters in
    parallel, each in row order)."""
    lab = np.asarray(labels, dtype=np.int64)
    order = np.argsort(lab, kind="stable")
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(lab, minlength=k), out=starts[1:])
    sums = np.empty((k, rows.shape[1]))
    wk = np.empty(k)
    SK.cluster_sums(rows.indptr, rows.indices, rows.data, w if w is not None else np.ones(1),
                    w is not None, rows.xinv if unit else np.ones(1), unit, order, starts, sums, wk)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums /= wk[:, None]
    return sums, wk


def sq_dist_to_means(rows: SparseRows, labels, C, unit: bool = False) -> np.ndarray:
    """(n,) float64 squared Euclidean distance of each row (each unit row
    with ``unit``) to the dense centre ``C[labels[i]]``, over the row's
    non-zeros plus the centre's remaining squared norm, exact for a row at
    its centre (:func:`._kernels.sparse.sq_dist_to_means`; no n x features
    array)."""
    Cd, _, cc, _ = centre_arrays(C, False)
    out = np.empty(rows.shape[0])
    SK.sq_dist_to_means(rows.indptr, rows.indices, rows.data, rows.xsq, rows.xinv if unit else np.ones(1),
                        unit, Cd, cc, np.asarray(labels, dtype=np.int64), out)
    return out


def silhouette_sums(rows: SparseRows, labels, k: int, w, query, cosine: bool = False,
                    n_threads=None) -> np.ndarray:
    """(len(query), k) float64: for each row ``query[q]`` of ``rows``, the
    weighted sums of its distances (Euclidean, or ``1 - cos``) to the rows
    of every cluster (:func:`._kernels.sparse.cluster_distance_sums`), the
    sums the silhouette is made of. The rows are read by column too (one
    CSC copy of their non-zeros); memory O(nnz + threads x n + len(query) x
    k), no n x n or n x features array."""
    csc = rows.to_scipy().tocsc()
    if not csc.has_sorted_indices:
        csc.sort_indices()
    query = np.ascontiguousarray(query, dtype=np.int64)
    out = np.empty((query.size, k))
    n_blocks = max(1, min(query.size, MAX_BLOCKS))
    with _solver.thread_context(n_threads, False):
        SK.cluster_distance_sums(rows.indptr, rows.indices, rows.data, rows.xsq,
                                 rows.xinv if cosine else np.ones(1), cosine, csc.indptr, csc.indices,
                                 csc.data, w if w is not None else np.ones(1), w is not None,
                                 np.ascontiguousarray(labels, dtype=np.int64), query, n_blocks, out)
    return out


# --- steps --------------------------------------------------------------------------

class _SparseEuclidean:
    """What the Euclidean steps do with their rows, for sparse rows:
    relocation distances, the few-distinct message, the tolerance and the
    seeding."""

    def relocate(self, C, on_few):
        empty = self.empty_clusters()
        if empty.size == 0:
            return 0
        src = self.source
        dist = src.dist_to_assigned(C, self.labels, np.empty(src.X.shape[0]), cosine=False)
        if src.use_w:
            dist[src.w == 0] = -1.0
        return relocate_empty(self, empty, dist, on_few)

    def take(self, row, j):
        super().take(row, j)
        self.source.moved_row(row, j)

    def few_distinct_message(self):
        n_distinct = count_distinct_upto(self.source.X, self.k)
        return (f"n_clusters={self.k} but X has only {n_distinct} distinct points; "
                f"ask for at most {n_distinct} clusters or remove duplicates.")

    def tolerance(self, tol):
        return 0.0 if tol == 0 else column_variance_mean(self.source.X) * tol

    def initial_centers(self, init, rng):
        return initial_centers(self.source.X, self.k, self.source.w, init, rng, cosine=False)

    def inertia(self, C):
        """The exact weighted inertia of the current labels."""
        src = self.source
        dist = src.dist_to_assigned(C, self.labels, np.empty(src.X.shape[0]), cosine=False)
        return float(np.dot(dist, src.w) if src.use_w else np.sum(dist))


class SparseLloydStep(_SparseEuclidean, LloydStep):
    """Lloyd's pass over sparse rows (``LloydStep`` with a :class:`SparseSource`)."""


class SparseHamerlyStep(_SparseEuclidean, HamerlyStep):
    """Hamerly's algorithm over sparse rows: Lloyd's pass first (labels and
    lower bounds), then :func:`._kernels.sparse.hamerly_pass`, which needs
    only the centres' geometry (how far each moved, half the distance to
    the nearest other centre) to skip rows. The centre sums are recomputed
    from the labels after each pass (O(nnz), no per-row deltas)."""

    def assign(self, C, want_objective):
        src = self.source
        if self.first:
            src.assign(C, self.labels, update=False, want_inertia=False, lb_out=self.lo)
            self.u[:] = np.inf  # the first bounded pass computes each row's own distance
        else:
            self.bounded_pass(C)
        changed = src.tot_stats[K.STAT_CHANGED]
        src.update_sums(self.labels, False)
        self.sums, self.wsums = src.tot_sums, src.tot_wsums  # relocation edits them with the source
        self.first = False
        self.full = False
        return PassResult(changed, self.inertia(C) if want_objective else None)

    def relocate(self, C, on_few):
        return _SparseEuclidean.relocate(self, C, on_few)

    def bounded_pass(self, C, full=None):
        src = self.source
        X = src.X
        jmax, pmax, pmax2 = self.drift_order()
        Cd, CT, cc, _ = centre_arrays(C, False)
        SK.hamerly_pass(X.indptr, X.indices, X.data, X.xsq, Cd, CT, cc, self.p, jmax, pmax, pmax2,
                        nearest_half(Cd, cc), self.labels, self.u, self.lo, src.order, src.stats)
        SK.reduce_stats(src.stats, src.tot_stats)

    def final(self, C, strict, last):
        self.bounded_pass(C)
        return self.labels, self.inertia(C)


class SparseCosineStep(MetricStep):
    """Spherical k-means over sparse rows: the dense cosine step
    (``_metric.MetricStep``: normalised mean of the unit rows, a centre kept
    only where it does not raise its cluster's objective, relocation onto
    the farthest rows) with the sparse pass."""

    def __init__(self, source: SparseSource):
        Step.__init__(self, source, labels_dtype=np.int32)
        self.metric = "cosine"
        self.code = MK.COSINE
        n = source.X.shape[0]
        self.n_blocks = source.n_blocks
        self.dist = np.empty(n)
        self.xinv = source.X.xinv
        self.n_slots = source.n_slots

    def metric_pass(self, C, labels, update):
        stats, sums, wsums = self.source.assign(C, labels, update, dist_out=self.dist,
                                                cosine=True)
        self.tot_sums, self.tot_wsums = sums, wsums
        return float(stats[K.STAT_INERTIA]), int(stats[K.STAT_CHANGED])

    def take(self, row, j):
        super().take(row, j)
        self.source.moved_row(row, j)

    def cluster_objectives(self, labels, C):
        src = self.source
        dist = src.dist_to_assigned(C, labels, np.empty(src.X.shape[0]), cosine=True)
        wd = dist * src.w if src.use_w else dist
        return np.bincount(labels, weights=wd, minlength=C.shape[0])

    def few_distinct_message(self):
        return (f"n_clusters={self.k} but X has fewer distinct points (under the cosine "
                "distance) than clusters; ask for fewer clusters or remove duplicates.")

    def tolerance(self, tol):
        return 0.0 if tol == 0 else column_variance_mean(self.source.X, unit=True) * tol

    def initial_centers(self, init, rng):
        return initial_centers(self.source.X, self.k, self.source.w, init, rng, cosine=True)


#: The algorithm each Euclidean name runs on sparse rows: Lloyd's pass, or
#: Hamerly's bounds (which need only the centres' geometry); Elkan's,
#: Exponion's and Yinyang's bounds per row and centre or group are not
#: written for sparse rows: those names run Hamerly (the same result).
SPARSE_ALGORITHMS = {"lloyd": SparseLloydStep, "hamerly": SparseHamerlyStep,
                     "elkan": SparseHamerlyStep, "exponion": SparseHamerlyStep,
                     "yinyang": SparseHamerlyStep}


def resolve_algorithm(name: str, n: int, k: int) -> str:
    """"auto" on sparse rows: Hamerly from ``AUTO_HAMERLY_MIN_K`` clusters
    (its skipped rows save k dot products each), Lloyd below."""
    if name != "auto":
        return name
    return "hamerly" if k >= AUTO_HAMERLY_MIN_K else "lloyd"


#: Fewest clusters for which "auto" runs Hamerly on sparse rows. Measured
#: on benchmarks/sparse_bench.py's matrix (20,000 documents, the same start,
#: 2-core machine): Hamerly / Lloyd time about 1.3 at k = 2, 1.0 at k = 4,
#: 0.75 at k = 8 and 16; 0.5 at k = 50 on 200,000 documents
#: (docs/benchmarks.md, "Sparse TF-IDF").
AUTO_HAMERLY_MIN_K = 8


def make_step(X: SparseRows, w, k: int, metric: str = "euclidean", algorithm: str = "auto") -> Step:
    """The step of ``_solver.solve`` for sparse rows under ``metric`` (and,
    for euclidean, ``algorithm``: every name gives Lloyd's result)."""
    check_metric(metric)
    if metric == "cosine":
        return SparseCosineStep(SparseSource(X, w, k, cosine=True))
    name = resolve_algorithm(algorithm, X.shape[0], k)
    return SPARSE_ALGORITHMS[name](SparseSource(X, w, k))


def assign_arrays(X: SparseRows, C, w=None, n_threads=None, dtype=None, metric="euclidean"):
    """``core.assign_arrays`` for sparse rows: (labels, distances (squared
    L2, or 1 - cos), objective)."""
    check_metric(metric)
    k = C.shape[0]
    source = SparseSource(X, w, k, cosine=metric == "cosine")
    labels = np.full(X.shape[0], -1, dtype=_solver.label_dtype(k) if dtype is None else dtype)
    dist = np.empty(X.shape[0])
    with _solver.thread_context(n_threads, False, work=X.nnz * k):
        stats, _, _ = source.assign(C, labels, update=False, dist_out=dist)
    return labels, dist, float(stats[K.STAT_INERTIA])


def transform_arrays(X: SparseRows, C, metric="euclidean", n_threads=None) -> np.ndarray:
    """``core.transform_arrays`` for sparse rows: Euclidean (not squared) or
    ``1 - cos`` distances to every centre, in X's dtype."""
    check_metric(metric)
    D = sq_distances(X, C, cosine=metric == "cosine", n_threads=n_threads)
    if metric == "euclidean":
        np.sqrt(D, out=D)
    return D.astype(X.dtype, copy=False)


# --- seeding ------------------------------------------------------------------------

def _scatter_rows(rows: SparseRows, idx, out):
    """Rows ``idx`` as the columns of ``out`` (d, len(idx)) float64."""
    out[:] = 0.0
    for t, i in enumerate(idx):
        if i < 0:
            continue
        a, b = rows.indptr[i], rows.indptr[i + 1]
        out[rows.indices[a:b], t] = rows.data[a:b]


def kmeanspp_indices(rows: SparseRows, k: int, w, rng, cosine: bool = False, n_trials=None):
    """Row indices of greedy k-means++ centres on sparse rows: the dense
    seeding's draws (first row by weight, then ``2 + 2 ln k`` candidates per
    step drawn in proportion to ``w x D``, D the squared distance or
    ``1 - cos`` to the closest chosen centre, the one lowering the potential
    most kept); one pass over the non-zeros per step for all candidates.

    Raises FewDistinctPointsError when the potential reaches zero first.
    """
    n, d = rows.shape
    trials = n_local_trials(k) if n_trials is None else int(n_trials)
    first = _weighted_index(rng, n, w)
    uniforms = np.asarray(rng.random(max(k - 1, 0) * trials), dtype=np.float64)
    ww = w if w is not None else np.ones(1, dtype=rows.dtype)
    use_w = w is not None
    wf = None if w is None else np.asarray(w, dtype=np.float64)
    xinv = rows.xinv if cosine else np.ones(1)
    ip, ind, dat = rows.indptr, rows.indices, rows.data
    closest = np.empty(n)
    CT1 = np.empty((d, 1))
    _scatter_rows(rows, [first], CT1)
    SK.dist_to_row(ip, ind, dat, rows.xsq, xinv, cosine, CT1, first, closest, False)
    nb = max(1, min(MAX_BLOCKS, n))
    CT = np.empty((d, trials))
    cand_pot = np.empty((nb, trials))
    out = [first]
    for step in range(1, k):
        p = closest if wf is None else wf * closest
        cum = np.cumsum(p)
        total = cum[-1]
        if not total > 0:
            raise FewDistinctPointsError(
                f"n_clusters={k} but X has only {step} distinct points (with positive weight)"
                f"{' under the cosine distance' if cosine else ''}; ask for at most {step} "
                "clusters or remove duplicates.")
        cand = np.empty(trials, dtype=np.int64)
        for t in range(trials):
            c = int(np.searchsorted(cum, uniforms[(step - 1) * trials + t] * total, side="left"))
            if c >= n:
                c = int(np.flatnonzero(p > 0)[-1])
            while not p[c] > 0:
                c = (c + 1) % n
            cand[t] = c
        _scatter_rows(rows, cand, CT)
        SK.seed_pass(ip, ind, dat, rows.xsq, xinv, ww, use_w, cosine, CT, cand, closest, cand_pot)
        pots = cand_pot.sum(axis=0)  # numpy sums each column in block order
        chosen = int(cand[int(np.argmin(pots))])
        out.append(chosen)
        if step < k - 1:  # fold the new centre into the closest distances
            _scatter_rows(rows, [chosen], CT1)
            SK.dist_to_row(ip, ind, dat, rows.xsq, xinv, cosine, CT1, chosen, closest, True)
    return np.asarray(out, dtype=np.int64)


def _sparse_kmeanspp(rows, k, w, rng, cosine):
    return rows.dense_rows(kmeanspp_indices(rows, k, w, rng, cosine))


def _sparse_random(rows, k, w, rng, cosine):
    n = rows.shape[0]
    p = None if w is None else np.asarray(w, dtype=np.float64) / float(np.sum(w, dtype=np.float64))
    if p is not None and np.count_nonzero(p) < k:
        raise ValueError(f"only {np.count_nonzero(p)} rows have a positive weight but n_clusters={k}; "
                         "ask for fewer clusters.")
    return rows.dense_rows(rng.choice(n, size=k, replace=False, p=p))


def _sparse_sample(rows, k, w, rng, cosine):
    """Greedy k-means++ on a sample of ``max(20000, 100 k)`` rows (the dense
    ``k-means++sample``'s draws), refined by a few Lloyd iterations (or
    spherical iterations) on the sample; on X itself when the sample would
    be all of it or misses distinct rows."""
    n = rows.shape[0]
    m = sample_size(n, k)
    if m >= n:
        return _sparse_kmeanspp(rows, k, w, rng, cosine)
    if w is None:
        idx = rng.choice(n, size=m, replace=False)
        idx.sort()
        ws = None
    else:
        idx, cnt = _sorted_draws(weight_cdf(w), rng.random(m))
        ws = cnt.astype(rows.dtype)
    S = rows.take(idx)
    try:
        C = _sparse_kmeanspp(S, k, ws, rng, cosine)
    except FewDistinctPointsError:
        return _sparse_kmeanspp(rows, k, w, rng, cosine)
    step = make_step(S, ws, k, "cosine" if cosine else "euclidean")
    return solve(step, C, Tolerance(0.0, "warn"), SAMPLE_REFINE_ITERS).centers


def _sparse_auto(rows, k, w, rng, cosine):
    if _worth_sampling(rows.shape[0], k):
        return _sparse_sample(rows, k, w, rng, cosine)
    return _sparse_kmeanspp(rows, k, w, rng, cosine)


#: Seedings of sparse rows, by the dense registry's names.
INITS = {
    "k-means++": _sparse_kmeanspp,
    "random": _sparse_random,
    "auto": _sparse_auto,
    "k-means++sample": _sparse_sample,
}


def initial_centers(rows: SparseRows, k, w, init, rng, cosine=False):
    """Dense centres to start from: a registry name (cosine: every k-means++
    name is greedy k-means++ on all rows, as the dense cosine step), a
    callable ``init(X, k, rng)`` (given the ``scipy.sparse`` CSR matrix) or
    an array."""
    if isinstance(init, str):
        if cosine and init != "random":
            init = "k-means++"
        if init not in INITS:
            raise ValueError(f"init={init!r} is not available for sparse input; pass one of "
                             f"{', '.join(map(repr, INITS))}, an array of centres or a callable.")
        return np.ascontiguousarray(INITS[init](rows, k, w, rng, cosine), dtype=rows.dtype)
    C = init(rows.to_scipy(), k, rng) if callable(init) else init
    if hasattr(C, "toarray"):
        C = C.toarray()
    return np.ascontiguousarray(np.asarray(C), dtype=rows.dtype)


__all__ = ["SparseRows", "SparseSource", "SparseLloydStep", "SparseHamerlyStep", "SparseCosineStep",
           "as_sparse_rows", "is_sparse", "make_step", "assign_arrays", "transform_arrays",
           "sq_distances", "kmeanspp_indices", "INITS", "cluster_means", "sq_dist_to_means",
           "silhouette_sums"]
