"""k-prototypes (Huang 1998), k-modes and k-means with missing values: one
step of the solver loop (``_solver.solve``).

Rows are split into a numeric part (float64, NaN where missing) and a
categorical part (int32 codes, -1 where missing). The distance of a row to
a centre counts only the row's **observed** entries::

    d(x, c) = sum_{numeric f observed} (x_f - c_f)^2
              + gamma * #{categorical f observed : x_f != c_f}

and the objective is the weighted sum of every row's distance to its centre.
The assignment takes the nearest centre; the update takes, per cluster, the
weighted mean of each numeric column's observed values and the weighted
mode of each categorical column's observed values. Each of the two steps
minimises the objective over its own variables, so the objective never
increases (coordinate descent, as Lloyd's).

Missing values ("partial-distance assignment with centres from observed
values") minimise the k-means objective restricted to the observed entries,
the same objective as k-POD (Chi, Chi & Baraniuk 2016). k-POD reaches its
fixed points by imputing the missing entries with the current centres and
running k-means on the completed data; the observed-entry updates reach the
same kind of fixed point without a completed copy of the data (no n x d
float copy, and categorical columns are handled the same way), which is
why this one was chosen.

Seeding: Cao et al. (2009)'s density-based seeding (``"cao"``; deterministic)
or greedy k-means++ under the mixed distance (``"k-means++"``). Measured
by ``make bench --only mixed`` (docs/benchmarks.md), Cao's start ended at
a cost at most the mean of five k-means++ starts on every table there, so
it is the default with categorical columns (``"auto"``).

Inputs are assumed validated (see ``kprototypes``).
"""

from __future__ import annotations

import numba
import numpy as np

from . import _solver
from ._init import FewDistinctPointsError, greedy_kmeanspp
from ._kernels import mixed as MX
from ._kernels.mixed import UNSEEN  # noqa: F401  (the code of an unseen category, for the scores)
from ._solver import ArraySource, PassResult, Step, n_blocks_for, relocate_empty

#: Seedings of the mixed step ("auto": "cao" with categorical columns,
#: "k-means++" without, where Cao's density is constant and its seeding
#: would be farthest-first, drawn to outliers).
INITS = ("auto", "k-means++", "cao", "random")
#: The default seeding (see the module docstring).
DEFAULT_INIT = "auto"
#: Huang (1998) suggests gamma between 1/3 and 2/3 of the numeric columns'
#: mean standard deviation; the default is the middle, as the kmodes package.
GAMMA_FACTOR = 0.5


class MixedData:
    """A table ready for the kernels: ``num`` (n, dn) float64 with NaN for
    missing values, ``cat`` (n, dc) int32 codes with -1 for missing values,
    ``n_levels`` (dc,) the number of categories of each categorical column."""

    def __init__(self, num: np.ndarray, cat: np.ndarray, n_levels):
        self.num = np.ascontiguousarray(num, dtype=np.float64)
        self.cat = np.ascontiguousarray(cat, dtype=np.int32)
        self.n_levels = np.asarray(n_levels, dtype=np.int64)
        self.offsets = np.zeros(self.n_levels.size + 1, dtype=np.int64)
        np.cumsum(self.n_levels, out=self.offsets[1:])

    @property
    def n(self) -> int:
        return self.num.shape[0]

    @property
    def dn(self) -> int:
        return self.num.shape[1]

    @property
    def dc(self) -> int:
        return self.cat.shape[1]

    def fill_values(self, w=None) -> np.ndarray:
        """Per column: the (weighted) mean of the observed numeric values,
        the (weighted) mode of the observed categories (0 when a column has
        none observed); a (dn + dc,) float64 row."""
        wt = np.ones(self.n) if w is None else np.asarray(w, dtype=np.float64)
        out = np.zeros(self.dn + self.dc)
        for f in range(self.dn):
            ok = ~np.isnan(self.num[:, f])
            s = wt[ok].sum()
            out[f] = float(wt[ok] @ self.num[ok, f]) / s if s > 0 else 0.0
        for f in range(self.dc):
            c = self.cat[:, f]
            ok = c >= 0
            if ok.any():
                out[self.dn + f] = int(np.argmax(np.bincount(c[ok], weights=wt[ok],
                                                             minlength=int(self.n_levels[f]))))
        return out

    def row(self, i: int, fill: np.ndarray) -> np.ndarray:
        """Row ``i`` as a centre (numeric, then codes as floats), its missing
        entries replaced by ``fill``."""
        r = np.concatenate([self.num[i], self.cat[i].astype(np.float64)])
        miss = np.concatenate([np.isnan(self.num[i]), self.cat[i] < 0])
        r[miss] = fill[miss]
        return r


def default_gamma(data: MixedData, w=None) -> float:
    """Huang's weight of the categorical mismatches: ``GAMMA_FACTOR`` times
    the mean (weighted, observed-value) standard deviation of the numeric
    columns; 1.0 with no numeric column (k-modes) or no spread.

    Examples
    --------
    >>> d = MixedData(np.array([[0.0], [2.0]]), np.zeros((2, 1), np.int32), [1])
    >>> default_gamma(d)
    0.5
    """
    if data.dn == 0:
        return 1.0
    wt = np.ones(data.n) if w is None else np.asarray(w, dtype=np.float64)
    sds = []
    for f in range(data.dn):
        x = data.num[:, f]
        ok = ~np.isnan(x) & (wt > 0)
        if not ok.any():
            continue
        m = float(np.average(x[ok], weights=wt[ok]))
        sds.append(np.sqrt(float(np.average((x[ok] - m) ** 2, weights=wt[ok]))))
    g = GAMMA_FACTOR * float(np.mean(sds)) if sds else 0.0
    return g if g > 0 else 1.0


class MixedStep(Step):
    """The k-prototypes pass (:func:`._kernels.mixed.mixed_pass`) and
    update (means of observed values, modes). Centres are float64 (k, dn +
    dc) arrays: the numeric means, then the categories' codes."""

    objective_name = "cost"

    def __init__(self, data: MixedData, w, k: int, gamma: float):
        # the source holds the numeric part (its shape sets the blocks); the step its own buffers
        super().__init__(ArraySource(data.num, w, k, gemm=False, buffers=False),
                         labels_dtype=np.int32)
        self.data = data
        self.w = w
        self.ww = w if w is not None else np.ones(1)
        self.use_w = w is not None
        self.gamma = float(gamma)
        n = data.n
        L = int(data.offsets[-1])
        nb = n_blocks_for(n, k, data.dn + L + 1)
        self.nsums = np.empty((nb, k, data.dn))
        self.nobs = np.empty((nb, k, data.dn))
        self.counts = np.empty((nb, k, L))
        self.bwsums = np.empty((nb, k))
        self.bstats = np.empty((nb, MX.N_STATS))
        self.tot_nsums = np.empty((k, data.dn))
        self.tot_nobs = np.empty((k, data.dn))
        self.tot_counts = np.empty((k, L))
        self.tot_wsums = np.empty(k)
        self.tot_stats = np.empty(MX.N_STATS)
        self.dist = np.empty(n)
        self.fill = data.fill_values(w)
        self.n_slots = numba.config.NUMBA_NUM_THREADS

    @property
    def dtype(self):
        return np.dtype(np.float64)

    def split(self, C):
        dn = self.data.dn
        # copies: the update writes into them
        return (np.array(C[:, :dn], dtype=np.float64, order="C"),
                np.array(C[:, dn:], dtype=np.int32, order="C"))

    def mixed_pass(self, C, labels, update):
        """One pass; returns (objective, changed); distances to the assigned
        centres are left in ``self.dist``."""
        d = self.data
        Cn, Cc = self.split(C)
        MX.mixed_pass(d.num, d.cat, self.ww, self.use_w, Cn, Cc, self.gamma, d.offsets, labels,
                      update, self.nsums, self.nobs, self.counts, self.bwsums, self.bstats, True,
                      self.dist)
        MX.reduce_blocks(self.nsums, self.nobs, self.counts, self.bwsums, self.bstats,
                         self.tot_nsums, self.tot_nobs, self.tot_counts, self.tot_wsums,
                         self.tot_stats, update)
        return float(self.tot_stats[MX.STAT_OBJECTIVE]), int(self.tot_stats[MX.STAT_CHANGED])

    def assign(self, C, want_objective):
        obj, changed = self.mixed_pass(C, self.labels, True)
        self.wsums = self.tot_wsums
        return PassResult(changed, obj)

    def update(self, C):
        Cn, Cc = self.split(C)
        MX.update_centers(self.tot_nsums, self.tot_nobs, self.tot_counts, self.data.offsets, Cn, Cc)
        return np.concatenate([Cn, Cc.astype(np.float64)], axis=1)

    def relocate(self, C, on_few):
        empty = self.empty_clusters()
        if empty.size == 0:
            return 0
        score = self.dist.copy()
        if self.use_w:
            score[self.w == 0] = -1.0
        self._C = C  # take() moves the centre itself
        return relocate_empty(self, empty, score, on_few)

    def take(self, row, j):
        """Give ``row`` to the empty cluster ``j``: its partial sums move and
        the centre becomes the row (missing entries filled), so that the
        update keeps it where the row has no observed value."""
        d = self.data
        wi = float(self.w[row]) if self.use_w else 1.0
        old = self.labels[row]
        self.labels[row] = j
        x = d.num[row]
        ok = ~np.isnan(x)
        self.tot_nsums[old, ok] -= wi * x[ok]
        self.tot_nobs[old, ok] -= wi
        self.tot_nsums[j] = 0.0
        self.tot_nobs[j] = 0.0
        self.tot_nsums[j, ok] = wi * x[ok]
        self.tot_nobs[j, ok] = wi
        self.tot_counts[j] = 0.0
        for f in range(d.dc):
            c = d.cat[row, f]
            if c >= 0:
                self.tot_counts[old, d.offsets[f] + c] -= wi
                self.tot_counts[j, d.offsets[f] + c] = wi
        self.wsums[old] -= wi
        self.wsums[j] = wi
        self.dist[row] = 0.0
        self._C[j] = d.row(row, self.fill)

    def few_distinct_message(self):
        return (f"n_clusters={self.k} but the table has fewer distinct rows than clusters; "
                "ask for fewer clusters or remove duplicates.")

    def moved(self, C, C_new):
        pass

    def final(self, C, strict, last):
        if strict and last is not None and last.objective is not None:
            return self.labels, float(last.objective)
        obj, _ = self.mixed_pass(C, self.labels, False)
        return self.labels, obj

    def tolerance(self, tol):
        """``tol`` times the mean variance of the numeric columns' observed
        values (0 without numeric columns: stop when no label changes)."""
        if tol == 0 or self.data.dn == 0:
            return 0.0
        with np.errstate(all="ignore"):
            v = np.nanvar(self.data.num, axis=0)
        v = v[np.isfinite(v)]
        return float(np.mean(v) * tol) if v.size else 0.0

    def initial_centers(self, init, rng):
        return initial_centers(self.data, self.k, self.w, self.gamma, init, rng, self.fill)


# --- seeding ------------------------------------------------------------------------

def _dist_to(data: MixedData, c: np.ndarray, gamma: float, out: np.ndarray) -> None:
    dn = data.dn
    MX.dist_to_center(data.num, data.cat, np.ascontiguousarray(c[None, :dn]),
                      np.ascontiguousarray(c[None, dn:], dtype=np.int32), gamma, out)


def cao_indices(data: MixedData, k: int, w, gamma: float, fill) -> np.ndarray:
    """Cao, Liang & Bai (2009)'s seeding: the first centre is the row of
    highest density (the mean relative frequency of its categories), each
    next one the row maximising ``density * distance to the nearest chosen
    centre``; ties by the lowest index. Deterministic (no random draws).
    Without categorical columns the density is 1 (farthest-first)."""
    n = data.n
    wt = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    tot = wt.sum()
    freq = np.zeros(int(data.offsets[-1]))
    for f in range(data.dc):
        c = data.cat[:, f]
        ok = c >= 0
        freq[data.offsets[f]:data.offsets[f + 1]] = np.bincount(
            c[ok], weights=wt[ok], minlength=int(data.n_levels[f])) / tot
    dens = np.empty(n)
    MX.cao_density(data.cat, data.offsets, freq, dens)
    dens[wt == 0] = 0.0
    idx = [int(np.argmax(dens))]
    closest = np.empty(n)
    _dist_to(data, data.row(idx[0], fill), gamma, closest)
    buf = np.empty(n)
    for step in range(1, k):
        score = dens * closest
        i = int(np.argmax(score))
        if not score[i] > 0:
            raise FewDistinctPointsError(
                f"n_clusters={k} but the table has only {step} distinct rows (with positive "
                f"weight); ask for at most {step} clusters.")
        idx.append(i)
        _dist_to(data, data.row(i, fill), gamma, buf)
        np.minimum(closest, buf, out=closest)
    return np.asarray(idx, dtype=np.int64)


def kmeanspp_indices(data: MixedData, k: int, w, gamma: float, rng, fill) -> np.ndarray:
    """Greedy k-means++ under the mixed distance: candidates drawn with
    probability ``w * d(x, nearest chosen centre)`` (the objective's own
    per-row cost), of ``2 + 2 ln k`` candidates the one lowering the total
    cost most is kept (``_init.greedy_kmeanspp``, as the other metrics)."""
    return greedy_kmeanspp(
        data.n, k, w, rng, lambda i, out: _dist_to(data, data.row(i, fill), gamma, out),
        lambda m: (f"n_clusters={k} but the table has only {m} distinct rows (with positive "
                   f"weight); ask for at most {m} clusters."))


def initial_centers(data: MixedData, k, w, gamma, init, rng, fill=None) -> np.ndarray:
    """(k, dn + dc) float64 centres from ``init``: "k-means++", "cao",
    "random" (distinct rows drawn by weight) or an array of centres."""
    if fill is None:
        fill = data.fill_values(w)
    if isinstance(init, str):
        if init == "auto":
            init = "cao" if data.dc > 0 else "k-means++"
        if init == "cao":
            idx = cao_indices(data, k, w, gamma, fill)
        elif init == "k-means++":
            idx = kmeanspp_indices(data, k, w, gamma, rng, fill)
        else:
            p = None if w is None else np.asarray(w, np.float64) / float(np.sum(w))
            idx = rng.choice(data.n, size=k, replace=False, p=p)
        return np.stack([data.row(int(i), fill) for i in idx])
    return np.array(init, dtype=np.float64, copy=True)


# --- fit, assign --------------------------------------------------------------------

def fit_mixed(data: MixedData, k: int, w, *, gamma: float, init=DEFAULT_INIT, n_init=1,
              max_iter=100, tol=0.0, rng=None, n_threads=None, verbose=0, on_few="raise"):
    """Best of ``n_init`` k-prototypes runs (``_solver.RunResult``; its
    ``inertia`` is the cost) through the solver loop with the tolerance rule."""
    step = MixedStep(data, w, k, gamma)
    if isinstance(init, str) and (init == "cao" or (init == "auto" and data.dc > 0)):
        n_init = 1  # Cao's seeding is deterministic: every run would be the same
    tol_abs = step.tolerance(tol)
    if n_threads is None and data.n * k * (data.dn + data.dc) >= _solver.PARALLEL_MIN_WORK:
        n_threads = numba.get_num_threads()  # the loop sizes the work by the numeric part only
    rng = np.random.default_rng() if rng is None else rng
    return _solver.run_kmeans(step, rule=lambda: _solver.Tolerance(tol_abs, on_few), init=init,
                              n_init=n_init, max_iter=max_iter, rng=rng, n_threads=n_threads,
                              verbose=verbose)


def assign_mixed(data: MixedData, C, gamma: float, w=None, n_threads=None):
    """(labels int32, distances float64, cost) of the rows to centres ``C``."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    step = MixedStep(data, w, C.shape[0], gamma)
    labels = np.full(data.n, -1, dtype=np.int32)
    with _solver.thread_context(n_threads, False):
        obj, _ = step.mixed_pass(C, labels, update=False)
    return labels, step.dist.copy(), obj


def pairwise(data: MixedData, C, gamma: float, n_threads=None) -> np.ndarray:
    """(n, k) distances of the rows to centres ``C`` (observed entries)."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    dn = data.dn
    out = np.empty((data.n, C.shape[0]))
    with _solver.thread_context(n_threads, False):
        MX.pairwise(data.num, data.cat, np.ascontiguousarray(C[:, :dn]),
                    np.ascontiguousarray(C[:, dn:], dtype=np.int32), gamma, out)
    return out


def outlier_distances(data: MixedData, C, gamma: float, n_threads=None):
    """(labels int32, scores float64, n_observed int64) of the rows against
    centres ``C``: the outlier score of every row (``kmeanskit.anomaly``).

    The score is the square root of the row's distance to its nearest
    centre, over its present entries, rescaled by the share of them::

        score = sqrt(d_obs * p / p_obs)

    with ``p = dn + dc`` the number of columns, ``p_obs`` the row's present
    entries (a category the model never saw is present and differs from
    every centre: it adds ``gamma``) and ``d_obs`` the k-prototypes distance
    over them. ``d_obs`` is a sum over the row's present entries, so a row
    with gaps has fewer terms and would look closer than it is; ``p / p_obs``
    scales the sum up to all ``p`` columns, the estimate of the full
    distance when the missing entries differ from the centre as much, on
    average, as the present ones (the partial distance strategy, Dixon
    1979; scikit-learn's ``nan_euclidean_distances`` weights the same way).
    A complete row keeps its distance exactly (``p / p_obs = 1``); the
    square root puts the score in the units of the k-means score (the
    Euclidean distance, not squared: without categorical columns and gaps
    the two are the same). A row with nothing present scores NaN. The
    labels are those of ``predict`` (a rescaling per row does not move its
    nearest centre)."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    dn = data.dn
    n = data.n
    labels = np.empty(n, dtype=np.int32)
    dist = np.empty(n)
    n_obs = np.empty(n, dtype=np.int64)
    with _solver.thread_context(n_threads, False):
        MX.nearest_observed(data.num, data.cat, np.ascontiguousarray(C[:, :dn]),
                            np.ascontiguousarray(C[:, dn:], dtype=np.int32), float(gamma), labels,
                            dist, n_obs)
    p = dn + data.dc
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.sqrt(np.maximum(dist, 0.0) * (p / n_obs))
    scores[n_obs == 0] = np.nan
    return labels, scores, n_obs


# --- tables -> codes ------------------------------------------------------------------

def is_missing(values: np.ndarray) -> np.ndarray:
    """Which entries of a 1-D object or float array are missing (None, NaN,
    pandas' NA / NaT)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    if values.dtype.kind in "US":
        return np.zeros(values.shape, dtype=bool)
    try:  # pandas, when installed, checks object arrays in C
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    except ImportError:
        pass
    out = np.zeros(values.shape, dtype=bool)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v):
            out[i] = True
        elif type(v).__name__ in ("NAType", "NaTType"):
            out[i] = True
    return out


def _numeric_kind(col) -> bool:
    kind = np.asarray(col).dtype.kind if not hasattr(col, "dtype") else getattr(col.dtype, "kind", "O")
    return kind in "iuf"


class TableCodes:
    """Which columns of a table are categorical, and their categories.

    ``fit`` learns, per categorical column, the sorted distinct observed
    values; ``encode`` turns a table with the same columns into
    :class:`MixedData` (a category not seen in ``fit`` counts as missing).
    A table is a pandas DataFrame, a 2-D array (object or numeric) or a
    list of rows; ``categorical`` names or indexes the categorical columns
    (None: the columns whose values are not numbers, bool included).
    """

    def fit_encode(self, X, categorical=None) -> MixedData:
        """:meth:`fit` then :meth:`encode`, reading the columns once."""
        cols = _columns(X)
        return self.fit(cols, categorical).encode(cols)

    def fit(self, X, categorical=None) -> "TableCodes":
        cols, names = X if isinstance(X, tuple) else _columns(X)
        d = len(cols)
        if categorical is None:
            cat = [f for f in range(d) if not _numeric_kind(cols[f])]
        else:
            cat = sorted({_column_index(c, names, d) for c in np.atleast_1d(categorical).tolist()})
        self.n_features = d
        self.names = names
        self.categorical = np.asarray(cat, dtype=np.int64)
        self.numeric = np.asarray([f for f in range(d) if f not in set(cat)], dtype=np.int64)
        self.categories = []
        for f in cat:
            col = np.asarray(cols[f], dtype=object)
            obs = col[~is_missing(col)]
            try:
                try:  # pandas' hash table, then sort the few distinct values
                    import pandas as pd

                    cats = np.array(sorted(pd.unique(obs)), dtype=object)
                except ImportError:
                    cats = np.unique(obs)
            except TypeError:  # values of several types: compare them as text
                cats = np.unique(obs.astype(str))
            self.categories.append(cats)
        for f in self.numeric:
            if np.asarray(cols[f]).dtype.kind not in "iufb":
                _as_numeric(cols[f], names[f])
        return self

    def encode(self, X, unseen: int = -1) -> MixedData:
        """The table as :class:`MixedData`; a present value that is not a
        category of its column gets the code ``unseen`` (-1, as missing, by
        default; the outlier scores pass ``_kernels.mixed.UNSEEN``)."""
        cols, _ = X if isinstance(X, tuple) else _columns(X)
        if len(cols) != self.n_features:
            raise ValueError(f"X has {len(cols)} columns but the model was fitted on "
                             f"{self.n_features}; pass the same columns.")
        n = len(cols[0]) if cols else 0
        num = np.empty((n, self.numeric.size))
        for t, f in enumerate(self.numeric):
            num[:, t] = _as_numeric(cols[f], self.names[f])
            if np.isinf(num[:, t]).any():
                raise ValueError(f"column {self.names[f]!r} has infinite values; replace them (or "
                                 "set them to NaN to treat them as missing).")
        cat = np.full((n, self.categorical.size), -1, dtype=np.int32)
        for t, f in enumerate(self.categorical):
            col = np.asarray(cols[f], dtype=object)
            miss = is_missing(col)
            cats = self.categories[t]
            if cats.dtype.kind == "O" and not miss.any():
                try:  # pandas' hash table: fast for object columns
                    import pandas as pd

                    codes = pd.Index(cats).get_indexer(col)  # -1: not a category
                    cat[:, t] = np.where(codes < 0, unseen, codes) if unseen != -1 else codes
                    continue
                except (ImportError, TypeError, ValueError):
                    pass
            vals = col[~miss]
            if cats.dtype.kind in "US":
                vals = vals.astype(str)
            try:
                pos = np.searchsorted(cats, vals)
            except TypeError:
                vals = vals.astype(str)
                pos = np.searchsorted(cats.astype(str), vals)
            pos = np.minimum(pos, max(cats.size - 1, 0))
            known = (cats[pos] == vals) if cats.size else np.zeros(vals.size, dtype=bool)
            codes = np.where(known, pos, unseen).astype(np.int32)
            cat[~miss, t] = codes
        return MixedData(num, cat, [c.size for c in self.categories])

    def decode(self, C: np.ndarray):
        """Centres (k, dn + dc) as (numeric means (k, dn), modes (k, dc)
        object array of category values)."""
        dn = self.numeric.size
        modes = np.empty((C.shape[0], self.categorical.size), dtype=object)
        for t in range(self.categorical.size):
            modes[:, t] = self.categories[t][C[:, dn + t].astype(np.int64)]
        return np.asarray(C[:, :dn], dtype=np.float64), modes

    def encode_modes(self, modes) -> np.ndarray:
        """The codes (k, dc) float64 of category values (inverse of decode)."""
        modes = np.asarray(modes, dtype=object).reshape(len(modes), self.categorical.size)
        out = np.empty(modes.shape)
        for t in range(self.categorical.size):
            cats = list(self.categories[t])
            for j in range(modes.shape[0]):
                v = modes[j, t]
                if v not in cats:
                    raise ValueError(f"centre {j}: {v!r} is not a category of column "
                                     f"{self.names[self.categorical[t]]!r}.")
                out[j, t] = cats.index(v)
        return out


def _columns(X):
    """The columns of a table as a list of 1-D arrays, and their names."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas DataFrame
        names = [str(c) for c in X.columns]
        cols = []
        for c in range(X.shape[1]):
            s = X.iloc[:, c]
            if getattr(s.dtype, "name", "") == "category":
                s = s.astype(object)
            elif not _numeric_kind(s):
                s = s.astype(object)
            elif s.dtype.kind in "iu" or str(s.dtype) in ("Int64", "Float64"):
                s = s.astype("float64") if s.dtype.kind in "iu" else s
            cols.append(s.to_numpy())
        return cols, names
    A = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
    if A.ndim != 2:
        raise ValueError(f"X must be a 2-D table (rows x columns); got an array of shape {A.shape}.")
    if A.dtype.kind == "O":
        cols = []
        for f in range(A.shape[1]):
            col = A[:, f]
            cols.append(_as_numeric(col, f"x{f}") if _all_numbers(col) else col)
        return cols, [f"x{f}" for f in range(A.shape[1])]
    return [A[:, f] for f in range(A.shape[1])], [f"x{f}" for f in range(A.shape[1])]


def _all_numbers(col) -> bool:
    """Whether every observed value of an object column is a number (not a bool)."""
    try:
        from pandas.api.types import infer_dtype

        return infer_dtype(col, skipna=True) in ("floating", "integer", "mixed-integer-float",
                                                 "empty")
    except ImportError:
        obs = col[~is_missing(col)]
        return all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                   for v in obs)


def _column_index(c, names, d) -> int:
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
        if not -d <= c < d:
            raise ValueError(f"categorical: column index {c} is out of range for {d} columns.")
        return int(c) % d
    if str(c) in names:
        return names.index(str(c))
    raise ValueError(f"categorical: no column named {c!r}; the columns are {names}.")


def _as_numeric(col, name) -> np.ndarray:
    col = np.asarray(col)
    if col.dtype.kind in "iufb":
        return col.astype(np.float64)
    out = np.full(col.shape, np.nan)
    miss = is_missing(col)
    try:
        out[~miss] = col[~miss].astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"column {name!r} is not numeric; list it in categorical=[...] "
                         "to cluster it as categories.") from None
    return out
