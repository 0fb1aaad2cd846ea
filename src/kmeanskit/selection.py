"""Choosing the number of clusters: a sweep over k with the elbow (Kneedle),
silhouette, Calinski-Harabasz, Davies-Bouldin and the gap statistic.

:func:`choose_k` (also ``kmeanskit.choose_k``) returns a :class:`KSweep`;
:func:`kneedle` finds the knee of any curve.

How the sweep saves work
------------------------
* **Shared seeding.** Greedy k-means++ is sequential: its first ``k``
  centres depend only on the random draws made for them. With the number of
  candidates per step fixed for the sweep (``2 + 2 ln(k_max)``, at least what
  each smaller k would use), the seeds for every k are a *prefix* of the one
  seeding for ``k_max``, drawn with the same random numbers. So the sweep
  seeds once instead of once per k, and each k's start is exactly a greedy
  k-means++ start. Each k then runs Lloyd's algorithm to convergence on the
  whole data set (no warm start from the k - 1 solution: it would bias the
  sweep towards the previous partition).
* **Duplicate rows collapse to weights.** When the data are whole numbers
  (image pixels, counts), identical rows are merged into one row weighted by
  its count before clustering. The k-means objective, the seeding's
  distribution and every criterion (silhouette included) are unchanged, and
  an image's two million pixels often become a few tens of thousands of
  colours. Labels are mapped back to the original rows.
* Every Lloyd pass already uses all cores (rows in parallel), so the k
  values run one after the other: running them side by side would only
  split the same cores.

Sparse rows and cosine
----------------------
``scipy.sparse`` input (CSR and CSC as they are, other formats converted
once) is never densified: the seeding, the fits and the distortion run
through :mod:`._sparse` as :func:`kmeanskit.fit` does, and every criterion
is computed from the rows' non-zeros with their squared norms computed
once: the cluster means are dense (k x features), each row's distance to
its mean is a sum over its non-zeros plus the mean's remaining norm, and
the silhouette's distances come from dot products through a CSC copy of
the rows (``_sparse.silhouette_sums``). Identical rows are merged by the
same rule and in the same order as dense rows, so a sparse sweep is the
sweep of ``X.toarray()`` (same k, criteria equal to rounding).

``metric="cosine"`` sweeps spherical k-means (dense or sparse rows): the
distortion is the sum of ``1 - cos``, the silhouette uses the ``1 - cos``
distance (scikit-learn's ``metric="cosine"``), and Calinski-Harabasz and
Davies-Bouldin are the usual Euclidean indices of the unit rows
``x / |x|``, the sphere on which spherical k-means clusters
(``|u - v|^2 = 2 (1 - cos)``).

The gap statistic takes neither. Its reference data are uniform over the
data's bounding box (or the box of its principal axes): for sparse rows
every reference row would be dense (all features non-zero: 10,000 x
50,000 values for a TF-IDF matrix) and a null model of a different kind
(no document uses every term), and a box has no counterpart on the unit
sphere of the cosine fits. Asking for it raises a ValueError naming the
criteria that do take the input (``criteria="all"`` drops it with a
note); for a gap statistic on text, sweep a dense projection such as
``TruncatedSVD`` components, where the reference box is Tibshirani's own
principal-components construction.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import _chunked, _numeric, _solver, _sparse
from . import metrics as _m
from ._init import (
    FewDistinctPointsError,
    inverse_norms,
    kmeans_plusplus_indices,
    kmeanspp_metric,
    n_local_trials,
)
from ._kernels import metric as MK
from ._kernels.lloyd import count_distinct_upto
from ._validation import (
    RANDOM_STATE,
    Interval,
    Options,
    as_float_array,
    check_random_state,
    check_sample_weight,
    validate_params,
)
from .core import KMeansResult, _scaled, _values, assign_arrays, check_rows_nonzero, fit_arrays

__all__ = ["choose_k", "KSweep", "Knee", "kneedle", "CRITERIA"]

#: Criteria a sweep can compute, with the rule each one uses to vote for k.
CRITERIA = {
    "elbow": "knee of the distortion curve (Kneedle)",
    "silhouette": "highest mean silhouette",
    "calinski_harabasz": "highest Calinski-Harabasz index",
    "davies_bouldin": "lowest Davies-Bouldin index",
    "gap": "smallest k with Gap(k) >= Gap(k+1) - s(k+1) (Tibshirani et al.)",
}
DEFAULT_CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin")
#: Order in which criteria break a tie between equally voted k values.
_TIE_ORDER = ("elbow", "silhouette", "gap", "calinski_harabasz", "davies_bouldin")

#: Metrics a sweep can use (dense or sparse rows).
METRICS = ("euclidean", "cosine")
#: Criteria that take sparse rows or metric="cosine" (all but the gap statistic).
SPARSE_CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin")

CHOOSE_K_CONSTRAINTS = {
    "metric": [Options(METRICS)],
    "distortion": [Options(("inertia", "scipy"))],
    "elbow_scale": [Options(("log", "linear"))],
    "S": [Interval(float, 0, None, closed_low=False)],
    "n_init": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "random_state": [RANDOM_STATE],
    "gap_references": [Interval(int, 2, None)],
    "gap_reference": [Options(("box", "pca"))],
    "gap_max_samples": [Interval(int, 10, None)],
    "dedupe": [Options(("auto", False))],
    "presample": [Options(("auto", False)), Interval(int, 2, None)],
    "keep_models": [Options((True, False))],
    "n_threads": [Interval(int, 1, None), Options((None,))],
    "silhouette_max_exact": [Interval(int, 2, None)],
    "silhouette_samples": [Interval(int, 2, None)],
}


# --- Kneedle ---------------------------------------------------------------

@dataclass(frozen=True)
class Knee:
    """The outcome of Kneedle: ``x`` (None when there is no knee) and why.

    Attributes
    ----------
    x : float or None
        The curve's ``x`` at the knee; None when there is no knee.
    reason : str
        Why the knee is there, or why there is none.
    S : float
        The sensitivity used.
    curve : str
        ``"concave"`` or ``"convex"`` (as given or detected); ``"flat"`` for
        a flat curve.
    direction : str
        ``"increasing"`` or ``"decreasing"`` (as given or detected);
        ``"flat"`` for a flat curve.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.selection import kneedle
    >>> x = np.linspace(0.0, 1.0, 10)
    >>> knee = kneedle(x, -1 / (x + 0.1) + 5)
    >>> round(knee.x, 2), knee.curve, knee.direction
    (0.22, 'concave', 'increasing')
    >>> knee = kneedle([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0])
    >>> knee.x is None, knee.reason.startswith("no knee")
    (True, True)
    """

    x: float | None
    reason: str
    S: float
    curve: str
    direction: str


def kneedle(x, y, *, S=1.0, curve="auto", direction="auto", online=False) -> Knee:
    """Knee (or elbow) of a curve by Kneedle (Satopaa, Albrecht, Irwin and
    Raghavan, 2011), via the ``kneed`` package.

    Parameters
    ----------
    x, y : sequences of numbers
        The curve, ``x`` increasing.
    S : float
        Sensitivity: a larger S needs a sharper bend (the paper's default is 1).
    curve, direction : str
        ``"concave"``/``"convex"`` and ``"increasing"``/``"decreasing"``;
        ``"auto"`` detects them (``kneed.shape_detector.find_shape``: the
        sign of a line fit's slope and whether the middle of the curve lies
        above or below that line).
    online : bool
        False returns the first knee found, True the last one (kneed's
        meaning).

    Returns
    -------
    Knee
        ``Knee.x`` is None when there is no knee, and ``Knee.reason`` says
        why; Kneedle never guesses.

    Examples
    --------
    The curve of the paper's Figure 2, ``y = -1/(x + 0.1) + 5`` at ten
    points of [0, 1], has its knee at x = 0.22:

    >>> import numpy as np
    >>> from kmeanskit.selection import kneedle
    >>> x = np.linspace(0.0, 1.0, 10)
    >>> round(kneedle(x, -1 / (x + 0.1) + 5).x, 2)
    0.22
    >>> kneedle([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0]).x is None
    True
    """
    from kneed import KneeLocator
    from kneed.shape_detector import find_shape

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite; drop the NaN points first.")
    if x.size < 3:
        return Knee(None, f"Kneedle needs at least 3 points, got {x.size}; sweep more values of k.",
                    S, curve, direction)
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing.")
    if np.ptp(y) == 0:
        return Knee(None, "the curve is flat, so it has no knee.", S, "flat", "flat")
    if curve == "auto" or direction == "auto":
        d_, c_ = find_shape(x, y)
        direction = d_ if direction == "auto" else direction
        curve = c_ if curve == "auto" else curve
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kl = KneeLocator(x, y, S=S, curve=curve, direction=direction, online=online)
    if kl.knee is not None:
        i = int(np.flatnonzero(x == kl.knee)[0])
        return Knee(float(kl.knee), f"Kneedle ({direction} {curve} curve, S={S:g}): the normalised "
                    f"curve's distance from its chord peaks here ({kl.y_difference[_diff_index(kl, i)]:.3f}) "
                    "and then drops below the threshold.", S, curve, direction)
    yd = kl.y_difference
    if kl.maxima_indices.size == 0 or np.max(yd) <= 1e-9:
        why = "the curve never bends away from the straight line between its ends"
    else:
        why = (f"no bend stands out at sensitivity S={S:g}: after its highest point "
               f"({np.max(yd):.3f}) the difference curve never drops below the threshold "
               f"{np.max(kl.Tmx):.3f}; try a lower S or a wider range of k")
    return Knee(None, f"no knee: {why} ({direction} {curve} curve).", S, curve, direction)


def _diff_index(kl, i):
    """Index in kneed's difference curve of the original point ``i``."""
    if (kl.direction, kl.curve) in (("decreasing", "concave"), ("increasing", "convex")):
        return len(kl.x) - 1 - i
    return i


# --- the sweep result ------------------------------------------------------

@dataclass
class KSweep:
    """Criteria per number of clusters, from :func:`choose_k`.

    The arrays are aligned with ``k``; they hold NaN where a criterion was
    not computed or is undefined (e.g. the silhouette at k = 1).

    Attributes
    ----------
    k : ndarray of int
        The values of k swept, increasing.
    inertia : ndarray
        Weighted sum of squared distances to the centres (of ``1 - cos``
        under ``metric="cosine"``).
    distortion : ndarray
        The curve the knee is found on: the inertia, or with
        ``distortion="scipy"`` the mean non-squared distance of
        ``kmeanskit.vq.kmeans`` (the mean ``1 - cos`` under cosine).
    distortion_kind : str
        ``"inertia"`` or ``"scipy"``: which curve ``distortion`` holds.
    silhouette, silhouette_se : ndarray
        Mean silhouette and its standard error (0 when exact).
    calinski_harabasz, davies_bouldin : ndarray
        The Calinski-Harabasz and Davies-Bouldin indices.
    gap, gap_se : ndarray
        Gap statistic and ``s_k = sd_k * sqrt(1 + 1/B)``.
    fit_time : ndarray
        Seconds of Lloyd iterations per k (the shared seeding is in
        ``seed_time``).
    n_iter : ndarray of int
        Lloyd iterations of the fit kept for each k.
    criteria : tuple of str
        The criteria computed.
    knee_info : Knee
        Kneedle's outcome on the distortion curve (``knee`` and
        ``knee_reason`` read it).
    models : dict of int to KMeansResult
        Each k's best fit; empty when ``keep_models=False``.
    seed_time : float
        Seconds spent on the seeding shared by all k.
    n_rows_clustered : int
        Rows the fits ran on (fewer than the input's when identical rows
        were merged into weights).
    notes : list of str
        Remarks on how the sweep ran, printed by :meth:`explain`.
    elbow_scale : str
        ``"log"`` or ``"linear"``: the scale the knee was found on.
    metric : str
        ``"euclidean"`` or ``"cosine"``: the distance of the fits and the
        criteria.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([c + rng.normal(scale=0.3, size=(10, 2))
    ...                     for c in ([0, 0], [5, 0], [0, 5])])
    >>> sweep = kmeanskit.choose_k(X, range(1, 6), criteria=("elbow", "silhouette"),
    ...                            random_state=0)
    >>> sweep
    KSweep(k=[1, 2, 3, 4, 5], criteria=['elbow', 'silhouette'], knee=3, best_k=3)
    >>> sweep.votes()
    {'elbow': 3, 'silhouette': 3}
    >>> bool(np.isnan(sweep.silhouette[0])), sweep.models[3].n_clusters
    (True, 3)
    """

    k: np.ndarray
    inertia: np.ndarray
    distortion: np.ndarray
    distortion_kind: str
    silhouette: np.ndarray
    silhouette_se: np.ndarray
    calinski_harabasz: np.ndarray
    davies_bouldin: np.ndarray
    gap: np.ndarray
    gap_se: np.ndarray
    fit_time: np.ndarray
    n_iter: np.ndarray
    criteria: tuple
    knee_info: Knee
    models: dict = field(default_factory=dict, repr=False)
    seed_time: float = 0.0
    n_rows_clustered: int = 0
    notes: list = field(default_factory=list)
    elbow_scale: str = "linear"
    metric: str = "euclidean"

    # -- recommendations --
    @property
    def knee(self) -> int | None:
        """k at the knee of the distortion curve, or None (see ``knee_reason``)."""
        return None if self.knee_info.x is None else int(round(self.knee_info.x))

    @property
    def knee_reason(self) -> str:
        """Why the knee is where it is, or why there is none."""
        return self.knee_info.reason

    def votes(self) -> dict:
        """The k each computed criterion picks (None when it picks none)."""
        out = {}
        ks = self.k
        for c in self.criteria:
            if c == "elbow":
                out[c] = self.knee
            elif c in ("silhouette", "calinski_harabasz", "davies_bouldin"):
                v = getattr(self, c)
                ok = np.isfinite(v)
                if not ok.any():
                    out[c] = None
                else:
                    vv = np.where(ok, v, np.inf if c == "davies_bouldin" else -np.inf)
                    out[c] = int(ks[np.argmin(vv) if c == "davies_bouldin" else np.argmax(vv)])
            elif c == "gap":
                out[c] = _gap_choice(ks, self.gap, self.gap_se)
        return out

    @property
    def best_k(self) -> int | None:
        """The k most criteria vote for (ties broken in the order elbow,
        silhouette, gap, Calinski-Harabasz, Davies-Bouldin); None when no
        criterion picks a k."""
        votes = {c: v for c, v in self.votes().items() if v is not None}
        if not votes:
            return None
        counts = {}
        for v in votes.values():
            counts[v] = counts.get(v, 0) + 1
        top = max(counts.values())
        tied = [k for k, n in counts.items() if n == top]
        if len(tied) == 1:
            return tied[0]
        for c in _TIE_ORDER:
            if c in votes and votes[c] in tied:
                return votes[c]
        return min(tied)

    def explain(self) -> str:
        """A few lines: the recommendation, which criteria agree, and where
        they disagree (or why a criterion has no answer)."""
        votes = self.votes()
        best = self.best_k
        lines = []
        if best is None:
            lines.append("No recommendation: no criterion picked a number of clusters.")
        else:
            agree = [c for c, v in votes.items() if v == best]
            lines.append(f"Recommended k = {best} ({len(agree)} of {len(votes)} criteria agree: "
                         f"{', '.join(agree)}).")
        others = {c: v for c, v in votes.items() if v is not None and v != best}
        if others:
            lines.append("The criteria disagree: " + "; ".join(
                f"{c} picks k = {v} ({CRITERIA[c]})" for c, v in others.items()) + ".")
        elif best is not None and len([v for v in votes.values() if v is not None]) > 1:
            lines.append("All criteria that gave an answer agree.")
        if "elbow" in votes:
            lines.append(("Elbow: " if self.knee is None else f"Elbow at k = {self.knee}: ")
                         + self.knee_reason)
        if "gap" in votes and votes["gap"] is None:
            lines.append("Gap statistic: Gap(k) >= Gap(k+1) - s(k+1) holds for no k in the sweep; "
                         "it keeps rising, so try larger k.")
        for c in ("silhouette", "calinski_harabasz", "davies_bouldin"):
            if c in votes and votes[c] is None:
                lines.append(f"{c}: undefined for every k in the sweep (it needs k >= 2).")
        if "silhouette" in votes and np.any(self.silhouette_se > 0):
            lines.append(f"Silhouette is a sampled estimate (standard error up to "
                         f"{np.nanmax(self.silhouette_se):.3g}).")
        lines.extend(self.notes)
        return "\n".join(lines)

    # -- output --
    def to_dict(self) -> dict:
        """Plain Python (JSON-ready) form: one record per k plus the verdicts."""
        def num(v):
            v = float(v)
            return None if not math.isfinite(v) else v

        cols = self._columns()
        rows = [{name: (int(vals[i]) if name in ("k", "n_iter") else num(vals[i]))
                 for name, vals in cols.items()} for i in range(self.k.size)]
        return {
            "criteria": list(self.criteria),
            "metric": self.metric,
            "distortion": self.distortion_kind,
            "elbow_scale": self.elbow_scale,
            "per_k": rows,
            "knee": self.knee,
            "knee_reason": self.knee_reason,
            "votes": self.votes(),
            "best_k": self.best_k,
            "explanation": self.explain(),
        }

    def _columns(self) -> dict:
        cols = {"k": self.k, "inertia": self.inertia}
        if self.distortion_kind != "inertia":
            cols["distortion"] = self.distortion
        for c in ("silhouette", "calinski_harabasz", "davies_bouldin", "gap"):
            if c in self.criteria:
                cols[c] = getattr(self, c)
                if c == "silhouette" and np.any(self.silhouette_se > 0):
                    cols["silhouette_se"] = self.silhouette_se
                if c == "gap":
                    cols["gap_se"] = self.gap_se
        cols["fit_time"] = self.fit_time
        cols["n_iter"] = self.n_iter
        return cols

    def to_pandas(self):
        """A DataFrame indexed by k with one column per computed criterion.

        Needs pandas (``pip install kmeanskit[tables]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("KSweep.to_pandas needs pandas; install it with "
                              "`pip install kmeanskit[tables]`.") from None
        cols = self._columns()
        return pd.DataFrame({c: v for c, v in cols.items() if c != "k"},
                            index=pd.Index(self.k, name="k"))

    def plot(self, ax=None):
        """The elbow plot with the knee marked and, when ``ax`` is None, the
        other criteria on panels beside it (best k of each marked).

        Returns ``ax`` when given (elbow only), else the array of the new
        figure's axes (elbow first). Needs matplotlib."""
        from .plotting import plot_sweep

        return plot_sweep(self, ax=ax)

    def to_html(self, path=None, *, source=None, title=None, overwrite: bool = False):
        """A single-file HTML report of the sweep: the curve with its knee,
        every criterion per k and the recommendation in words
        (:func:`kmeanskit.report.sweep_html`).

        Parameters
        ----------
        path : str or path, optional
            Where to write the page (atomically; an existing file only with
            ``overwrite``). None: return the HTML instead.
        source : str, optional
            The data's name shown in the report.
        title : str, optional
            The page title.
        overwrite : bool
            Replace an existing ``path``.

        Returns
        -------
        Path or str
            The file written, or the HTML when ``path`` is None.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> X = np.r_[np.zeros((6, 2)), np.full((6, 2), 9.0)] + np.arange(12)[:, None] * 0.05
        >>> page = kmeanskit.choose_k(X, range(1, 5), random_state=0).to_html(source="toy")
        >>> "Choosing k: toy" in page
        True
        """
        from .report import sweep_html, write_html

        html = sweep_html(self, source=source, title=title)
        return html if path is None else write_html(html, path, overwrite=overwrite)

    def __repr__(self) -> str:
        return (f"KSweep(k={self.k.tolist()}, criteria={list(self.criteria)}, knee={self.knee}, "
                f"best_k={self.best_k})")


def _gap_choice(ks, gap, se):
    if not np.isfinite(gap).any():
        return None
    for i in range(len(ks) - 1):
        if ks[i + 1] == ks[i] + 1 and gap[i] >= gap[i + 1] - se[i + 1]:
            return int(ks[i])
    return None


# --- the sweep ------------------------------------------------------------

def _parse_k(k, n_rows):
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        k = range(1, int(k) + 1)
    try:
        vals = [v for v in k]
    except TypeError:
        raise ValueError(f"k must be a range or sequence of ints, got {k!r}; e.g. k=range(1, 11).") from None
    out = []
    for v in vals:
        if isinstance(v, bool) or not (isinstance(v, (int, np.integer))
                                       or (isinstance(v, (float, np.floating)) and float(v).is_integer())):
            raise ValueError(f"k values must be whole numbers, got {v!r}.")
        v = int(v)
        if v < 1:
            raise ValueError(f"k values must be >= 1, got {v}; sweep e.g. k=range(1, 11).")
        out.append(v)
    if not out:
        raise ValueError("k is empty; pass at least one number of clusters, e.g. k=range(1, 11).")
    out = sorted(set(out))
    if out[-1] > n_rows:
        raise ValueError(f"k={out[-1]} is more than the {n_rows} rows of X; sweep k up to {n_rows}.")
    return np.array(out, dtype=np.int64)


def _dedupe(X, w):
    """Merge identical rows when X holds whole numbers of small range.
    Returns (Xu, wu, inverse) or None when it would not pay."""
    n, d = X.shape
    if n < 10_000:
        return None
    lo = X.min(axis=0).astype(np.float64)
    hi = X.max(axis=0).astype(np.float64)
    span = hi - lo + 1
    if not np.all(span < 2 ** 20) or float(np.prod(span)) >= 2.0 ** 62:
        return None
    probe = X[:: max(1, n // 4096)]
    if not np.array_equal(probe, np.round(probe)):
        return None
    if not np.array_equal(X, np.round(X)):
        return None
    key = np.zeros(n, dtype=np.int64)
    for f in range(d):
        key *= int(span[f])
        key += (X[:, f].astype(np.float64) - lo[f]).astype(np.int64)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if uniq.size > n // 2:
        return None
    Xu = np.ascontiguousarray(X[first])
    wu = np.bincount(inverse, weights=None if w is None else w, minlength=uniq.size).astype(X.dtype)
    return Xu, wu, inverse.ravel()


def _dedupe_sparse(rows: _sparse.SparseRows, w):
    """:func:`_dedupe` for sparse rows, by the same rule (the column ranges
    count the zeros) and with the same keys, so the merged rows come out in
    the same order as from ``X.toarray()``; the key of a row is built from
    its non-zeros only (int64 arithmetic is exact modulo 2**64 and the key
    is below 2**62). Returns (SparseRows, wu, inverse) or None."""
    n, d = rows.shape
    if n < 10_000 or not np.array_equal(rows.data, np.round(rows.data)):
        return None
    S = rows.to_scipy()
    lo = S.min(axis=0).toarray().ravel().astype(np.float64)  # 1 x features: the zeros count
    hi = S.max(axis=0).toarray().ravel().astype(np.float64)
    span = hi - lo + 1
    with np.errstate(over="ignore"):  # the product of many spans is inf: no merging
        if not np.all(span < 2 ** 20) or float(np.prod(span)) >= 2.0 ** 62:
            return None
    if np.max(np.abs(np.r_[lo, hi])) >= 2.0 ** 52:
        return None
    mult = np.ones(d, dtype=np.int64)  # place value of each column's digit (the last column's is 1)
    for f in range(d - 2, -1, -1):
        mult[f] = mult[f + 1] * int(span[f + 1])
    zero_digit = (-lo).astype(np.int64)  # a zero's digit, x - lo
    with np.errstate(over="ignore"):
        base = int(np.sum(zero_digit * mult, dtype=np.int64))
        ind = rows.indices
        digits = (rows.data.astype(np.float64) - lo[ind]).astype(np.int64)
        terms = (digits - zero_digit[ind]) * mult[ind]
        csum = np.zeros(terms.size + 1, dtype=np.int64)
        np.cumsum(terms, out=csum[1:])
        key = csum[rows.indptr[1:]] - csum[rows.indptr[:-1]] + np.int64(base)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if uniq.size > n // 2:
        return None
    wu = np.bincount(inverse, weights=None if w is None else w, minlength=uniq.size).astype(rows.dtype)
    return rows.take(first), wu, inverse.ravel()


def _seed_indices(X, k, w, rng, trials, metric):
    """Row indices of one greedy k-means++ seeding with ``trials``
    candidates per step, for dense or sparse rows under ``metric``."""
    if isinstance(X, _sparse.SparseRows):
        return _sparse.kmeanspp_indices(X, k, w, rng, cosine=metric == "cosine", n_trials=trials)
    if metric == "cosine":
        return kmeanspp_metric(X, k, w, rng, "cosine", n_trials=trials)
    return kmeans_plusplus_indices(X, k, w, rng, n_trials=trials)


def _sweep_inertia(X, w, ks, rng, *, n_init, max_iter, tol, n_threads, keep=1, metric="euclidean"):
    """Shared-seeding sweep: for each k the best of n_init runs, each started
    from a prefix of one greedy k-means++ seeding for max(ks). With
    ``keep > 1`` each k maps to its ``keep`` best runs (best first)."""
    kmax = int(ks[-1])
    trials = n_local_trials(kmax)
    sparse = isinstance(X, _sparse.SparseRows)
    if n_threads is None and (X.nnz if sparse else X.shape[0] * X.shape[1]) * kmax < SMALL_PASS:
        n_threads = 1  # results do not depend on the thread count
    best = {}
    seed_time = 0.0
    times = {int(k): 0.0 for k in ks}
    for _ in range(n_init):
        t0 = time.perf_counter()
        with _solver.thread_context(n_threads, False):
            idx = _seed_indices(X, kmax, w, rng, trials, metric)
        seeds = X.dense_rows(idx) if sparse else None  # the centres (dense) of the sparse rows
        seed_time += time.perf_counter() - t0
        for k in ks:
            k = int(k)
            t0 = time.perf_counter()
            res = fit_arrays(X, k, w, init=seeds[:k].copy() if sparse else X[idx[:k]], n_init=1,
                             max_iter=max_iter, tol=tol, rng=rng, n_threads=n_threads, metric=metric)
            times[k] += time.perf_counter() - t0
            best.setdefault(k, []).append(res)
    for k in best:  # stable: the first run wins ties
        runs = sorted(best[k], key=lambda r: r.inertia)
        best[k] = runs[0] if keep == 1 else runs[:keep]
    return best, times, seed_time


def _sweep_presampled(X, w, ks, rng, *, m, n_init, max_iter, tol, n_threads, metric="euclidean"):
    """Large data: sweep a uniform subsample of m rows (n_init shared
    seedings, best per k), then run Lloyd on all rows from each k's best
    subsample centres (a warm start)."""
    n = X.shape[0]
    idx = np.sort(rng.choice(n, size=m, replace=False))
    Xm = X.take(idx) if isinstance(X, _sparse.SparseRows) else np.ascontiguousarray(X[idx])
    wm = None if w is None else np.ascontiguousarray(w[idx])
    # The subsample's passes are short: one thread each avoids hundreds of
    # parallel launches (and their waits when the cores are shared).
    sub, times, seed_time = _sweep_inertia(Xm, wm, ks, rng, n_init=n_init, max_iter=max_iter, tol=tol,
                                           n_threads=1 if n_threads is None else n_threads,
                                           keep=PRESAMPLE_REFINE, metric=metric)
    best = {}
    for k in ks:
        k = int(k)
        t0 = time.perf_counter()
        for cand in sub[k]:
            if k > 1 and k in best and np.array_equal(cand.labels, sub[k][0].labels):
                continue  # same partition of the subsample: same start
            res = fit_arrays(X, k, w, init=cand.centers, n_init=1, max_iter=max_iter, tol=tol, rng=rng,
                             n_threads=n_threads, metric=metric)
            if k not in best or res.inertia < best[k].inertia:
                best[k] = res
        times[k] += time.perf_counter() - t0
    return best, times, seed_time


#: rows x features x k below which a sweep runs its passes on one thread:
#: such passes take well under a millisecond, less than waking the thread
#: pool (and much less than waiting for it when the cores are shared).
SMALL_PASS = 2_000_000
#: Shared seedings per sweep with n_init="auto" when the data are swept whole.
AUTO_N_INIT = 3
#: Rows above which the sweep starts each k from a subsample's solution.
PRESAMPLE_MIN_ROWS = 200_000
#: Default subsample size for that warm start.
PRESAMPLE_ROWS = 50_000
#: Shared seedings (restarts) on the subsample; the best per k is refined.
PRESAMPLE_RESTARTS = 5
#: Best subsample solutions per k refined on all rows (the best result wins).
PRESAMPLE_REFINE = 2


def _presample_size(presample, n, ks):
    if presample is False:
        return 0
    if presample == "auto":
        return PRESAMPLE_ROWS if n > PRESAMPLE_MIN_ROWS else 0
    m = int(presample)
    if m < 20 * int(ks[-1]):
        raise ValueError(f"presample={m} is too small for k={int(ks[-1])}; pass at least "
                         f"{20 * int(ks[-1])} rows or presample=False.")
    return m if m < n else 0


def _reference_sets(X, w, B, kind, n_ref, rng):
    """Gap statistic reference data: uniform over the bounding box of X, or of
    X rotated onto its principal components (then rotated back)."""
    Xd = X.astype(np.float64)
    if kind == "pca":
        ww = np.ones(X.shape[0]) if w is None else w.astype(np.float64)
        mean = (ww @ Xd) / ww.sum()
        Xc = (Xd - mean) * np.sqrt(ww / ww.sum())[:, None]
        _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
        Z = (Xd - mean) @ Vt.T
        lo, hi = Z.min(axis=0), Z.max(axis=0)
        for _ in range(B):
            yield np.ascontiguousarray(rng.uniform(lo, hi, size=(n_ref, len(lo))) @ Vt + mean)
    else:
        lo, hi = Xd.min(axis=0), Xd.max(axis=0)
        for _ in range(B):
            yield np.ascontiguousarray(rng.uniform(lo, hi, size=(n_ref, len(lo))))


def choose_k(X, k=range(1, 11), *, criteria=DEFAULT_CRITERIA, sample_weight=None, random_state=None,
             distortion="inertia", elbow_scale="log", S=1.0, n_init="auto", max_iter=300, tol=1e-4, gap_references=10,
             gap_reference="box", gap_max_samples=10_000, silhouette_max_exact=_m.SILHOUETTE_MAX_EXACT,
             silhouette_samples=_m.SILHOUETTE_N_SAMPLES, dedupe="auto", presample="auto",
             keep_models=True, n_threads=None, metric="euclidean") -> KSweep:
    """Fit k-means for each k and score the fits, to choose the number of
    clusters.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Data (never modified; float32 kept float32). A ``scipy.sparse``
        matrix or array (CSR, CSC; other formats are converted once) stays
        sparse through the fits and every criterion but the gap statistic
        (docs/text.md): the same sweep as on ``X.toarray()``.
    k : range, sequence of int, or int
        Values of k to try (an int ``m`` means 1..m). Default 1..10.
    criteria : sequence of str or "all"
        Any of ``"elbow"`` (Kneedle on the distortion curve),
        ``"silhouette"``, ``"calinski_harabasz"``, ``"davies_bouldin"`` and
        ``"gap"`` (Tibshirani, Walther and Hastie 2001; costs
        ``gap_references`` extra sweeps on up to ``gap_max_samples`` rows;
        dense rows and ``metric="euclidean"`` only, where "all" includes
        it). The inertia and fit times are always recorded.
    sample_weight : array-like of shape (n_samples,), optional
        A row of weight m counts as m identical rows, in the fits and in
        every criterion.
    random_state : None, int, Generator or RandomState
        Seed; the same seed gives the same sweep.
    distortion : {"inertia", "scipy"}
        Curve for the elbow: the inertia (sum of squared distances) or
        ``kmeanskit.vq.kmeans``' distortion, the mean non-squared distance
        of the rows to their centres (the classic scipy tutorial's elbow).
    elbow_scale : {"log", "linear"}
        Find the knee on ``log(distortion)`` (default) or on the distortion
        itself. On the log scale a bend is judged by the *relative* drop, so
        one dominant early drop (two far-apart groups of blobs) does not hide
        the true elbow (docs/choose_k.md compares both on a grid of blobs).
    S : float
        Kneedle's sensitivity (1 as in the paper; larger is more
        conservative).
    n_init : int or "auto"
        Shared seedings; for each k the best of the runs is kept. Shared
        seeds are a prefix of each other, so one unlucky seed would be kept
        by every larger k: "auto" is 3 (``AUTO_N_INIT``) on data swept
        whole, and 5 on the subsample of large data (see ``presample``).
    max_iter, tol : int, float
        As in :func:`kmeanskit.fit`.
    gap_references : int
        Reference data sets B for the gap statistic.
    gap_reference : {"box", "pca"}
        Reference data uniform over the data's bounding box, or over the box
        aligned with its principal components.
    gap_max_samples : int
        Rows per reference set (``min(n, gap_max_samples)``; both sides of
        the gap use ``log(W_k / n)`` so the sizes need not match).
    silhouette_max_exact, silhouette_samples : int
        Exact silhouette up to this many (distinct) rows, else a sampled
        estimate scoring this many rows (see
        :func:`kmeanskit.metrics.silhouette`).
    dedupe : {"auto", False}
        Merge identical rows into weights ("auto": when there are at least
        10,000 rows of whole numbers and merging at least halves them).
        Exact; see the module notes.
    presample : {"auto", False} or int
        Warm start for large data: sweep a uniform subsample of this many
        rows (best of ``max(n_init, 5)`` shared seedings per k), then run
        Lloyd on all rows from each k's subsample centres. "auto": 50,000
        rows when more than 200,000 (distinct) rows remain; False: seed
        every k on the whole data.
    keep_models : bool
        Keep each k's :class:`~kmeanskit.KMeansResult` in ``models``.
    n_threads : int, optional
        Threads for the kernels.
    metric : {"euclidean", "cosine"}
        ``"euclidean"``: k-means. ``"cosine"``: spherical k-means (as
        :func:`kmeanskit.fit`; rows of zero norm are refused); the
        distortion is the sum of ``1 - cos``, the silhouette uses the
        ``1 - cos`` distance, and Calinski-Harabasz and Davies-Bouldin are
        computed on the unit rows ``x / |x|``.

    Returns
    -------
    KSweep
        ``.knee``, ``.best_k``, ``.explain()``, ``.plot()``, ``.to_pandas()``.

    Raises
    ------
    ValueError
        Bad data or parameters, k < 1, k larger than the number of
        distinct rows, or ``"gap"`` asked of sparse rows or of
        ``metric="cosine"``.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> rng = np.random.default_rng(0)
    >>> centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    >>> X = np.concatenate([c + rng.normal(size=(50, 2)) for c in centers])
    >>> sweep = kmeanskit.choose_k(X, range(1, 9), random_state=0)
    >>> sweep.knee, sweep.best_k
    (4, 4)
    >>> print(sweep.explain().splitlines()[0])
    Recommended k = 4 (4 of 4 criteria agree: elbow, silhouette, calinski_harabasz, davies_bouldin).

    Sparse rows and cosine: word counts of 60 documents over 12 terms, each
    document using the 4 terms of one of 3 topics:

    >>> import scipy.sparse as sp
    >>> rate = np.kron(np.eye(3), np.ones((20, 4))) * 3
    >>> counts = sp.csr_matrix(rng.poisson(rate))
    >>> sweep = kmeanskit.choose_k(counts, range(1, 7), metric="cosine", random_state=0)
    >>> sweep.best_k, sweep.votes()["silhouette"], sweep.models[3].metric
    (3, 3, 'cosine')
    """
    every = isinstance(criteria, str) and criteria == "all"
    criteria = _check_params(criteria, dict(
        distortion=distortion, elbow_scale=elbow_scale, S=S, n_init=n_init, max_iter=max_iter, tol=tol,
        random_state=random_state, gap_references=gap_references, gap_reference=gap_reference,
        gap_max_samples=gap_max_samples, dedupe=dedupe, presample=presample, keep_models=keep_models,
        n_threads=n_threads, silhouette_max_exact=silhouette_max_exact, silhouette_samples=silhouette_samples,
        metric=metric))
    notes = []
    criteria = _check_gap_input(criteria, every, _sparse.is_sparse(X), metric, notes)
    if _chunked.is_dask(X):  # a uniform sample drawn chunk by chunk (docs/scale.md)
        X, sample_weight = _dask_sample(X, sample_weight, random_state, notes)
    X, ks, w = _check_data(X, k, sample_weight, metric)
    # data of extreme magnitude: the sweep runs on an exactly scaled copy (_numeric), its
    # curves and models scaled back at the end (the other criteria do not depend on the scale)
    scale = _numeric.choose(_values(X), w)
    if not scale.identity:
        X, w = _scaled(X, scale), scale.weights(w)
    rng = check_random_state(random_state)
    data = _collapse_duplicates(X, w, notes) if dedupe is not False else _Rows(X, w, None)
    fits, n_init_used, n_init_ref = _sweep(data, ks, rng, notes, presample=presample, n_init=n_init,
                                           max_iter=max_iter, tol=tol, n_threads=n_threads, metric=metric)
    scores = _scores(data, ks, fits.best, criteria, rng, distortion=distortion, n_threads=n_threads,
                     silhouette_max_exact=silhouette_max_exact, silhouette_samples=silhouette_samples,
                     metric=metric)
    if "gap" in criteria:
        scores["gap"], scores["gap_se"] = _gap_statistic(
            data, ks, scores["inertia"], rng, n_ref=int(min(X.shape[0], gap_max_samples)), B=gap_references,
            reference=gap_reference, n_init=n_init_ref, max_iter=max_iter, tol=tol, n_threads=n_threads)
    knee, elbow_scale = _knee(ks, scores["distortion"], criteria, elbow_scale, S, notes)
    models = _models(fits.best, ks, data.inverse, n_init_used, metric) if keep_models else {}
    if not scale.identity:
        models = _scale_back(scale, scores, models, distortion, metric)
    return KSweep(k=ks, distortion_kind=distortion, fit_time=np.array([fits.times[int(kk)] for kk in ks]),
                  criteria=criteria, knee_info=knee, models=models, seed_time=fits.seed_time,
                  n_rows_clustered=data.X.shape[0], notes=notes, elbow_scale=elbow_scale, metric=metric,
                  **scores)


# --- choose_k(), step by step ---------------------------------------------------

class _Rows(NamedTuple):
    """The rows a sweep clusters: ``X`` (an array, or ``_sparse.SparseRows``)
    and weights ``w`` (None: all 1), and ``inverse`` mapping the input rows
    to them when duplicates were merged (else None)."""

    X: np.ndarray | _sparse.SparseRows
    w: np.ndarray | None
    inverse: np.ndarray | None


class _Fits(NamedTuple):
    """A sweep's best fit per k, seconds of Lloyd iterations per k, and the
    seconds spent seeding."""

    best: dict
    times: dict
    seed_time: float


#: Rows of Dask input that choose_k sweeps: a uniform sample of this many.
DASK_SAMPLE_ROWS = 200_000


def _dask_sample(X, sample_weight, random_state, notes):
    """choose_k of a Dask array or DataFrame: a uniform sample of about
    ``DASK_SAMPLE_ROWS`` rows drawn chunk by chunk (all rows when fewer),
    with weights correcting for the sampling; drawn with ``random_state``."""
    X = _chunked.as_dask_array(X)
    w = _chunked.as_dask_weights(sample_weight, X)
    S, ws = _chunked.uniform_rows(X, w, DASK_SAMPLE_ROWS, check_random_state(random_state))
    if S.shape[0] < X.shape[0]:
        notes.append(f"Dask input: k chosen on a uniform sample of {S.shape[0]} of its "
                     f"{X.shape[0]} rows, drawn chunk by chunk.")
    return S, ws


def _check_params(criteria, params: dict) -> tuple:
    """Check the parameters against :data:`CHOOSE_K_CONSTRAINTS` and return
    the criteria as a tuple without repeats ("all": every one of
    :data:`CRITERIA`); raises ValueError naming unknown criteria."""
    validate_params(params, CHOOSE_K_CONSTRAINTS, "kmeanskit.choose_k")
    if isinstance(criteria, str):
        criteria = tuple(CRITERIA) if criteria == "all" else (criteria,)
    criteria = tuple(dict.fromkeys(criteria))
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown:
        raise ValueError(f"kmeanskit.choose_k: unknown criteria {unknown}; choose from "
                         f"{', '.join(CRITERIA)} (or 'all').")
    return criteria


def _check_gap_input(criteria, every, sparse, metric, notes) -> tuple:
    """The criteria, without the gap statistic where it does not apply
    (sparse rows, metric="cosine"; see the module notes): dropped with a
    note from ``criteria="all"``, a ValueError naming the criteria that do
    apply when asked for by name."""
    if "gap" not in criteria or (not sparse and metric == "euclidean"):
        return criteria
    what = "sparse input" if sparse else "metric='cosine'"
    why = ("its reference data, uniform over the bounding box of the rows, would be dense (every "
           "feature non-zero in every reference row) and unlike any sparse data" if sparse else
           "its reference data, uniform over a box, have no counterpart on the unit sphere the "
           "cosine fits live on")
    if every:
        notes.append(f"The gap statistic was left out of criteria='all': it does not take {what} ({why}).")
        return tuple(c for c in criteria if c != "gap")
    fix = ("for a gap statistic, sweep a dense projection of the rows such as "
           "sklearn.decomposition.TruncatedSVD(100).fit_transform(X)" if sparse else
           "use metric='euclidean' (on the rows scaled to unit length, for their directions)")
    raise ValueError(f"kmeanskit.choose_k: the gap statistic does not take {what}: {why}. The criteria "
                     f"that take {what} are {', '.join(SPARSE_CRITERIA)}: drop 'gap' from criteria, "
                     f"or {fix}.")


def _check_data(X, k, sample_weight, metric="euclidean"):
    """``(X, ks, w)``: the data as a float array (``_sparse.SparseRows`` for
    ``scipy.sparse`` input, never densified), the sorted values of k and the
    weights (None when uniform). Raises ValueError when the largest k
    exceeds the rows, the rows of positive weight, or the distinct rows,
    and under cosine for rows of zero norm."""
    sparse = _sparse.is_sparse(X)
    X = _sparse.as_sparse_rows(X) if sparse else as_float_array(X)
    n = X.shape[0]
    ks = _parse_k(k, n)
    w = check_sample_weight(sample_weight, n, X.dtype)
    if w is not None:
        n_pos = int(np.count_nonzero(w))
        if ks[-1] > n_pos:
            raise ValueError(f"k={ks[-1]} is more than the {n_pos} rows with positive weight; "
                             f"sweep k up to {n_pos}.")
    if metric == "cosine":
        check_rows_nonzero(X, "X")
    n_distinct = (_sparse.count_distinct_upto if sparse else count_distinct_upto)(X, int(ks[-1]))
    if n_distinct < ks[-1]:
        raise ValueError(f"k={ks[-1]} is more than the {n_distinct} distinct points of X; "
                         f"sweep k up to {n_distinct}.")
    return X, ks, w


def _collapse_duplicates(X, w, notes) -> _Rows:
    """The rows to sweep with identical rows merged into weights when that
    pays (see :func:`_dedupe`); exact, so the objective and every criterion
    are unchanged."""
    dd = _dedupe_sparse(X, w) if isinstance(X, _sparse.SparseRows) else _dedupe(X, w)
    if dd is None:
        return _Rows(X, w, None)
    notes.append(f"{X.shape[0]} rows were merged into {dd[0].shape[0]} distinct rows with weights "
                 "(exact: same objective and criteria).")
    return _Rows(*dd)


def _sweep(data: _Rows, ks, rng, notes, *, presample, n_init, max_iter, tol, n_threads, metric="euclidean"):
    """Fit every k: on all rows from shared seedings, or (large data) from
    the best fits on a subsample. Returns the fits, the ``n_init`` recorded
    in the models and the seedings per gap reference set."""
    m = _presample_size(presample, data.X.shape[0], ks)
    n_init_ref = AUTO_N_INIT if n_init == "auto" else n_init
    if n_init == "auto":
        n_init = PRESAMPLE_RESTARTS if m else AUTO_N_INIT
    try:
        if m:
            restarts = max(n_init, PRESAMPLE_RESTARTS)
            fits = _Fits(*_sweep_presampled(data.X, data.w, ks, rng, m=m, n_init=restarts, max_iter=max_iter,
                                            tol=tol, n_threads=n_threads, metric=metric))
            notes.append(f"Large data: each k was started from the best of {restarts} fits on "
                         f"{m} sampled rows, then refined on all rows.")
        else:
            fits = _Fits(*_sweep_inertia(data.X, data.w, ks, rng, n_init=n_init, max_iter=max_iter, tol=tol,
                                         n_threads=n_threads, metric=metric))
    except FewDistinctPointsError as exc:  # zero-weight duplicates and the like
        raise ValueError(str(exc)) from None
    return fits, n_init, n_init_ref


def _scores(data: _Rows, ks, fits, criteria, rng, *, distortion, n_threads, silhouette_max_exact,
            silhouette_samples, metric="euclidean") -> dict:
    """Per-k arrays for :class:`KSweep`: inertia, iterations, the distortion
    curve, and the silhouette (with its standard error), Calinski-Harabasz
    and Davies-Bouldin indices where requested and defined (2 <= k < rows);
    NaN elsewhere, and for the gap statistic (see :func:`_gap_statistic`).
    Dense rows under euclidean are scored by :mod:`kmeanskit.metrics`,
    sparse rows and cosine by :class:`_RowCriteria`."""
    Xs, ws = data.X, data.w
    cosine = metric == "cosine"
    if isinstance(Xs, _sparse.SparseRows) or cosine:
        crit = _RowCriteria(Xs, ws, cosine, n_threads)
        sil_of, ch_of, db_of = crit.silhouette, crit.calinski_harabasz, crit.davies_bouldin
    else:  # dense rows, euclidean: kmeanskit.metrics, as ever
        sil_of, ch_of, db_of = _m.silhouette, _m.calinski_harabasz, _m.davies_bouldin
    nan = np.full(ks.size, np.nan)
    inertia = np.array([fits[int(kk)].inertia for kk in ks])
    n_iter = np.array([fits[int(kk)].n_iter for kk in ks], dtype=np.int64)
    sil, sil_se, ch, db = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    dist = inertia.copy()
    wsum = float(Xs.shape[0] if ws is None else ws.sum(dtype=np.float64))
    n_rows = Xs.shape[0]
    for i, kk in enumerate(ks):
        kk = int(kk)
        lab = fits[kk].labels
        if distortion == "scipy":
            _, d2, _ = assign_arrays(Xs, fits[kk].centers, None, n_threads, metric=metric)
            r = d2 if cosine else np.sqrt(d2)  # 1 - cos is the cosine distance itself
            dist[i] = float(r.sum() if ws is None else r @ ws.astype(np.float64)) / wsum
        if kk < 2 or kk > n_rows - 1:
            continue
        if "silhouette" in criteria:
            s = sil_of(Xs, lab, sample_weight=ws, max_exact=silhouette_max_exact,
                       n_samples=silhouette_samples, random_state=rng)
            sil[i], sil_se[i] = s.value, s.standard_error
        if "calinski_harabasz" in criteria:
            ch[i] = ch_of(Xs, lab, sample_weight=ws)
        if "davies_bouldin" in criteria:
            db[i] = db_of(Xs, lab, sample_weight=ws)
    return dict(inertia=inertia, n_iter=n_iter, distortion=dist, silhouette=sil, silhouette_se=sil_se,
                calinski_harabasz=ch, davies_bouldin=db, gap=nan.copy(), gap_se=nan.copy())


class _RowCriteria:
    """The silhouette, Calinski-Harabasz and Davies-Bouldin indices of sparse
    rows (``_sparse.SparseRows``) or under ``metric="cosine"``, with the
    signatures, formulas, conventions and random draws of
    :func:`kmeanskit.metrics.silhouette`, ``calinski_harabasz`` and
    ``davies_bouldin`` (which score dense rows under euclidean): on the
    same labels a sparse matrix scores as its ``toarray()``, to rounding.

    * Sparse rows: the cluster means are dense (k x features), each row's
      squared distance to its mean is summed over its non-zeros plus the
      mean's remaining norm, and the silhouette's per-cluster distance sums
      come from dot products with the rows' norms computed once
      (``_sparse.cluster_means``, ``sq_dist_to_means``, ``silhouette_sums``).
    * Cosine: the silhouette uses the ``1 - cos`` distance (scikit-learn's
      ``silhouette_score(X, labels, metric="cosine")``); Calinski-Harabasz
      and Davies-Bouldin are the Euclidean indices of the unit rows
      ``x / |x|`` (scikit-learn's on ``normalize(X)``): spherical k-means
      clusters on the unit sphere, where ``|u - v|^2 = 2 (1 - cos)``.
    """

    def __init__(self, X, w, cosine: bool, n_threads=None):
        self.X = X
        self.sparse = isinstance(X, _sparse.SparseRows)
        self.cosine = cosine
        self.n_threads = n_threads
        self.n = X.shape[0]
        self.w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)  # as metrics reads them
        self._xinv = None
        self._unit = None

    # -- the rows ---------------------------------------------------------------------------------
    def xinv(self):
        """1 / |x| of every dense row (cosine)."""
        if self._xinv is None:
            self._xinv = inverse_norms(self.X)
        return self._xinv

    def unit_rows(self):
        """The dense rows scaled to unit length, float64 (cosine's CH and DB)."""
        if self._unit is None:
            self._unit = self.X.astype(np.float64) * self.xinv()[:, None]
        return self._unit

    def _labels(self, labels, name):
        uniq, lab = np.unique(np.asarray(labels), return_inverse=True)
        _m._check_n_labels(uniq.size, self.n, name)
        return lab.astype(np.int64).ravel(), uniq.size

    def _cluster_means(self, labels, name):
        """``(labels 0..k-1, k, weights, cluster means, cluster weights)`` of
        the sparse rows (the unit rows under cosine), for criterion ``name``."""
        lab, k = self._labels(labels, name)
        ww = _m._weights(self.w, self.n)
        C, _ = _sparse.cluster_means(self.X, lab, k, self.w, self.cosine)
        return lab, k, ww, C, np.bincount(lab, weights=ww, minlength=k)

    # -- the criteria -----------------------------------------------------------------------------
    def calinski_harabasz(self, X, labels, *, sample_weight=None) -> float:
        """As :func:`kmeanskit.metrics.calinski_harabasz` (``X`` and
        ``sample_weight`` are this object's)."""
        if not self.sparse:
            return _m.calinski_harabasz(self.unit_rows(), labels, sample_weight=self.w)
        lab, k, ww, C, wk = self._cluster_means(labels, "calinski_harabasz")
        ntot = float(ww.sum())
        mean = (wk @ C) / ntot
        between = float(wk @ ((C - mean) ** 2).sum(axis=1))
        within = float(_sparse.sq_dist_to_means(self.X, lab, C, self.cosine) @ ww)
        if within == 0.0:
            return 1.0  # scikit-learn's convention
        return between * (ntot - k) / (within * (k - 1.0))

    def davies_bouldin(self, X, labels, *, sample_weight=None) -> float:
        """As :func:`kmeanskit.metrics.davies_bouldin` (``X`` and
        ``sample_weight`` are this object's); the k x k centre distances one
        centre at a time (no k x k x features array)."""
        if not self.sparse:
            return _m.davies_bouldin(self.unit_rows(), labels, sample_weight=self.w)
        lab, k, ww, C, wk = self._cluster_means(labels, "davies_bouldin")
        dist = np.sqrt(_sparse.sq_dist_to_means(self.X, lab, C, self.cosine))
        s = np.bincount(lab, weights=ww * dist, minlength=k) / wk
        return _m._davies_bouldin_from(s, C)

    def silhouette(self, X, labels, *, sample_weight=None, max_exact=_m.SILHOUETTE_MAX_EXACT,
                   n_samples=_m.SILHOUETTE_N_SAMPLES, max_reference=_m.SILHOUETTE_MAX_REFERENCE,
                   random_state=None) -> _m.SilhouetteScore:
        """As :func:`kmeanskit.metrics.silhouette`: exact up to ``max_exact``
        rows, else the same sampled estimate from the same random draws
        (``X`` and ``sample_weight`` are this object's)."""
        lab, k = self._labels(labels, "silhouette")
        n = self.n
        w = self.w
        ww = _m._weights(w, n)
        if n <= max_exact:
            wk = np.bincount(lab, weights=ww, minlength=k)
            s = self._values(None, w, lab, k, np.arange(n), wk)
            return _m.SilhouetteScore(float(s @ ww / ww.sum()), 0.0, True, n, n)
        rng = check_random_state(random_state)
        if n > max_reference:
            ref = np.sort(rng.choice(n, size=int(max_reference), replace=False))
        else:
            ref = np.arange(n)
        wR = None if w is None else np.ascontiguousarray(w[ref])
        lab_R = np.ascontiguousarray(lab[ref])
        wk = np.bincount(lab_R, weights=_m._weights(wR, ref.size), minlength=k)
        p = None if wR is None else wR / wR.sum()
        m = int(n_samples)
        pick = rng.choice(ref.size, size=m, replace=True, p=p)
        s = self._values(ref if ref.size < n else None, wR, lab_R, k, pick, wk)
        se = float(np.std(s, ddof=1) / np.sqrt(m)) if m > 1 else float("nan")
        return _m.SilhouetteScore(float(s.mean()), se, False, m, int(ref.size))

    def _values(self, ref, wR, lab_R, k, query, wk):
        """Silhouette of the reference rows ``query`` (positions in the rows
        ``ref``, None: all rows) against all of them: the formula of
        ``kmeanskit.metrics`` on this class's distance sums."""
        sums = self._sums(ref, wR, lab_R, k, query)
        q_labels = lab_R[query]
        own = wk[q_labels]
        rows = np.arange(query.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = sums[rows, q_labels] / (own - 1.0)  # a row of weight m has m - 1 copies besides itself
            means = sums / wk[None, :]
        means[rows, q_labels] = np.inf
        b = means.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (b - a) / np.maximum(a, b)
        s[~(own > 1.0)] = 0.0  # singletons score 0 (as in scikit-learn)
        return np.nan_to_num(s)

    def _sums(self, ref, wR, lab_R, k, query):
        """(len(query), k) weighted sums of the distances of each row
        ``query[q]`` to the rows of every cluster (rows ``ref`` of X)."""
        if self.sparse:
            R = self.X if ref is None else self.X.take(ref)
            return _sparse.silhouette_sums(R, lab_R, k, wR, query, self.cosine, self.n_threads)
        # dense rows under cosine: blocks of the scored rows' 1 - cos to every row (the metric
        # kernel's formula, as the sparse kernel's), summed per cluster by one product each
        R = self.X if ref is None else np.ascontiguousarray(self.X[ref])
        xr = self.xinv() if ref is None else self.xinv()[ref]
        W = np.zeros((R.shape[0], k))
        W[np.arange(R.shape[0]), lab_R] = 1.0 if wR is None else wR
        out = np.empty((query.size, k))
        step = max(1, (1 << 22) // max(1, R.shape[0]))  # 32 MiB of distances a block
        D = np.empty((min(step, query.size), R.shape[0]))
        with _solver.thread_context(self.n_threads, False):
            for s0 in range(0, query.size, step):
                q = query[s0:s0 + step]
                Dq = D[:q.size]
                MK.pairwise(np.ascontiguousarray(R[q]), R, MK.COSINE, np.ascontiguousarray(xr[q]), xr, Dq)
                out[s0:s0 + q.size] = Dq @ W
        return out


def _gap_statistic(data: _Rows, ks, inertia, rng, *, n_ref, B, reference, n_init, max_iter, tol, n_threads):
    """``(gap, gap_se)`` per k (Tibshirani, Walther and Hastie 2001): the mean
    of ``log(W_k / n_ref)`` over ``B`` reference sets of ``n_ref`` rows, less
    the data's ``log(W_k / total weight)``, and ``sd * sqrt(1 + 1/B)``."""
    Xs, ws = data.X, data.w
    wsum = float(Xs.shape[0] if ws is None else ws.sum(dtype=np.float64))
    logw_ref = np.empty((B, ks.size))
    for b, R in enumerate(_reference_sets(Xs, ws, B, reference, n_ref, rng)):
        R = R.astype(Xs.dtype)
        rf, _, _ = _sweep_inertia(R, None, ks, rng, n_init=n_init, max_iter=max_iter, tol=tol,
                                  n_threads=n_threads)
        logw_ref[b] = [np.log(max(rf[int(kk)].inertia, 1e-300) / n_ref) for kk in ks]
    logw = np.log(np.maximum(inertia, 1e-300) / wsum)
    gap = logw_ref.mean(axis=0) - logw
    gap_se = logw_ref.std(axis=0) * np.sqrt(1.0 + 1.0 / B)
    return gap, gap_se


def _knee(ks, dist, criteria, elbow_scale, S, notes):
    """``(knee, elbow_scale)``: Kneedle on the distortion curve (on its log
    unless ``elbow_scale="linear"`` or it reaches 0), and the scale used."""
    if elbow_scale == "log" and not np.all(dist > 0):
        elbow_scale = "linear"
        notes.append("The distortion reaches 0, so the knee was sought on the linear curve.")
    curve_y = np.log(dist) if elbow_scale == "log" else dist
    if "elbow" not in criteria:
        return Knee(None, "the elbow criterion was not requested.", S, "convex", "decreasing"), elbow_scale
    knee = kneedle(ks, curve_y, S=S, curve="convex", direction="decreasing")
    # A distortion curve falls and flattens (convex, decreasing); we state
    # that shape instead of guessing it, and say so when the data disagree.
    if ks.size >= 3 and np.ptp(curve_y) > 0:
        from kneed.shape_detector import find_shape

        shape = find_shape(ks.astype(float), curve_y)
        if shape != ("decreasing", "convex"):
            knee = kneedle(ks, curve_y, S=S)
            notes.append(f"The distortion curve looks {shape[0]} and {shape[1]}, not the usual "
                         "decreasing convex shape; Kneedle used the detected shape.")
    if elbow_scale == "log":
        knee = Knee(knee.x, knee.reason.replace("Kneedle (", "Kneedle on log(distortion) (", 1),
                    knee.S, knee.curve, knee.direction)
    return knee, elbow_scale


def _scale_back(scale, scores, models, distortion, metric) -> dict:
    """A sweep of an exactly scaled copy in the data's units: the inertia
    and distortion curves (in place) and the models (returned); a value
    beyond the float range becomes inf with a warning (``_numeric``)."""
    p = _numeric.POWER[metric]
    scores["inertia"] = scale.values_back(scores["inertia"], p, True, "inertia")
    if distortion == "scipy":  # a weighted mean of distances, not squared
        scores["distortion"] = scale.values_back(scores["distortion"], min(p, 1), False)
    else:
        scores["distortion"] = scores["inertia"].copy()
    return {kk: KMeansResult(scale.centers_back(m.centers), m.labels,
                             scale.values_back(m.inertia, p, True), m.n_iter, m.converged, m.n_init,
                             m.metric)
            for kk, m in models.items()}


def _models(fits, ks, inverse, n_init, metric="euclidean") -> dict:
    """Each k's fit as a :class:`~kmeanskit.KMeansResult`, labels mapped back
    to the input rows when duplicates were merged."""
    models = {}
    for kk in ks:
        f = fits[int(kk)]
        labels = f.labels if inverse is None else f.labels[inverse]
        models[int(kk)] = KMeansResult(f.centers, labels, f.inertia, f.n_iter, f.converged, n_init, metric)
    return models


def bench_sweep(X, k=range(1, 11), random_state=0, n_threads=None) -> KSweep:
    """The sweep measured by ``make bench``: inertia and knee only.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    k : range, sequence of int, or int
        Values of k, as in :func:`choose_k`.
    random_state : None, int, Generator or RandomState
        Seed.
    n_threads : int, optional
        Threads for the kernels.

    Returns
    -------
    KSweep
        With the elbow criterion only and no models kept.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.selection import bench_sweep
    >>> X = np.random.default_rng(0).integers(0, 256, size=(1000, 3)).astype(np.float32)
    >>> bench_sweep(X).k.tolist()
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    """
    return choose_k(X, k, criteria=("elbow",), random_state=random_state, keep_models=False,
                    n_threads=n_threads)

