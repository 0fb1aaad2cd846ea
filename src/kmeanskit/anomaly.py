"""Anomaly scores from a fitted clustering: how far each row lies from its
nearest centre, optionally relative to how spread out that cluster is.

* :func:`outlier_scores` -- the distance of each row to its nearest centre in
  the model's metric (Euclidean, not squared; L1; ``1 - cos``;
  L-infinity), or that distance divided by the cluster's spread
  (``normalize=True``), so that a point moderately far from a tight cluster
  outranks a typical member of a loose one.
* :func:`cluster_spread` -- the spread of each cluster: the **median**
  distance of its member rows to its centre (robust: a few outliers in the
  reference rows do not inflate it). A cluster with no member rows, or whose
  spread is zero (all members on the centre) or below ``1e-9`` times the
  largest spread, takes the median spread of the other clusters (1.0 if
  none has a positive spread), so no score divides by zero.
* :func:`detect_outliers` -- flags the top ``contamination`` fraction
  (exactly ``ceil(contamination * n)`` of the ``n`` scored rows) or the
  rows at or above a ``threshold``.

``model`` is a fitted :class:`kmeanskit.KMeans`, a :class:`kmeanskit.KMeansResult`,
a model loaded by :func:`kmeanskit.load` or anything else :func:`kmeanskit.core.fitted`
takes, or a fitted :class:`kmeanskit.KPrototypes` (also one loaded from a
``.kmk`` file, or its record). ``X`` must be in the model's
feature space: if the model was fitted on scaled columns (a loaded model's
``scaling_``), apply ``model.scaling_.transform`` to raw rows first
(:func:`kmeanskit.tables.model_inputs` does it for a table).

k-prototypes models (mixed tables, missing values)
--------------------------------------------------
For a :class:`kmeanskit.KPrototypes` the score of a row is::

    sqrt(d_obs * p / p_obs)

``d_obs`` is the k-prototypes dissimilarity to the nearest prototype over
the row's present entries (squared differences of the numeric columns plus
``gamma`` per differing category), ``p`` the number of columns and
``p_obs`` the row's present entries. Why:

* the **square root** puts the score in the units of the k-means score (the
  Euclidean distance, not squared; the dissimilarity is in squared units,
  as the inertia). A model without categorical columns scores a complete
  row as k-means with the same centres does, and the ranking is that of
  the dissimilarity itself (``KPrototypes.transform(X).min(axis=1)`` is the
  square of the score of a complete row);
* the **rescaling** by ``p / p_obs`` makes rows with gaps comparable with
  complete ones: ``d_obs`` sums fewer terms for a row with gaps, which
  would make it look closer than it is. ``p / p_obs`` scales the sum up to
  all ``p`` columns, the estimate of the full dissimilarity when the
  missing entries differ from the prototype as much, on average, as the
  present ones (the partial distance strategy, Dixon 1979; scikit-learn's
  ``nan_euclidean_distances`` weights the same way, and for a model without
  categorical columns the scores are its distances to the nearest centre).
  A complete row is not rescaled (``p / p_obs = 1``).

Missing values are handled by the model's ``missing`` as ``predict``
handles them: "ignore" scores the present entries as above, "mean" fills
the gaps with the training means and modes (the row is then complete; a
model read from a file keeps no fill values and scores the present
entries, as its ``predict`` compares them), "raise" refuses rows with gaps.
A category the model never saw is a present value that matches no
prototype: it adds ``gamma`` (an unseen category is unusual, not missing).
A row with nothing present scores NaN: it is never flagged, and
``contamination`` counts only the scored rows. A k-means model
(:class:`kmeanskit.KMeans`) scores complete rows only; fit a
``KPrototypes(missing="ignore")`` (numeric columns only are fine) to score
rows with gaps.

``normalize=True`` divides by the cluster's spread as for k-means: the
median score of the cluster's rows. A fitted ``KPrototypes`` carries the
spreads of its training rows (``cluster_spread_``, saved with it), which
are used unless ``reference`` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core import fitted, kprototypes_kind

__all__ = ["outlier_scores", "cluster_spread", "detect_outliers", "Outliers"]

#: Spreads at most this fraction of the largest one count as zero.
_ZERO_SPREAD = 1e-9


class _Mixed:
    """A fitted :class:`kmeanskit.KPrototypes` as this module uses a
    :class:`~kmeanskit.core.Fitted`: ``n_clusters``, ``cluster_spread``."""

    def __init__(self, km):
        self.km = km
        self.n_clusters = int(km.cluster_centroids_.shape[0])
        spread = getattr(km, "cluster_spread_", None)
        self.cluster_spread = None if spread is None else np.asarray(spread, dtype=np.float64)


def _model(model):
    """``model`` as a :class:`~kmeanskit.core.Fitted` (k-means models) or a
    :class:`_Mixed` (k-prototypes: an estimator, or a record of metric
    "kprototypes", as :func:`kmeanskit.models.read` gives it)."""
    if isinstance(model, _Mixed):
        return model
    kind = kprototypes_kind(model)
    if kind == "record":
        from .kprototypes import KPrototypes

        return _Mixed(KPrototypes.from_record(model))
    if kind == "estimator":
        return _Mixed(model)
    return fitted(model)  # an unfitted KPrototypes: "not fitted; call .fit(X) first"


def _nearest(model, X):
    """(labels, true distance to the nearest centre) of the rows of ``X``
    under a :class:`~kmeanskit.core.Fitted` model's metric; for a
    :class:`_Mixed` model the rescaled root dissimilarity (module
    docstring), NaN for a row with nothing present."""
    if isinstance(model, _Mixed):
        return model.km._outlier_scores(X)
    return model.nearest(X)


def _spread_from(labels, dist, k):
    unscored = np.isnan(dist)  # k-prototypes: rows with nothing present
    if unscored.any():
        labels, dist = labels[~unscored], dist[~unscored]
    spread = np.zeros(k)
    present = np.zeros(k, dtype=bool)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for j in range(k):
        members = dist[order[bounds[j]:bounds[j + 1]]]
        if members.size:
            spread[j] = np.median(members)
            present[j] = True
    return _fix_spread(spread, present)


def _fix_spread(spread, present=None):
    """Replace unmeasured or (near-)zero spreads by the median of the others."""
    spread = np.asarray(spread, dtype=np.float64).copy()
    ok = spread > _ZERO_SPREAD * (spread.max() if spread.size else 0.0)
    ok &= spread > 0
    if present is not None:
        ok &= present
    fill = float(np.median(spread[ok])) if ok.any() else 1.0
    spread[~ok] = fill
    return spread


def cluster_spread(model, X) -> np.ndarray:
    """Per-cluster spread: the median distance of the rows of ``X`` assigned
    to each cluster to its centre (in the model's metric).

    Clusters that get no row of ``X``, or whose spread is zero (or below
    ``1e-9`` times the largest), take the median spread of the other
    clusters (1.0 if there is none). Save the result with the model
    (``model.save(path, cluster_spread=...)``) so that normalised scores of
    new rows need not see the training data again.

    For a :class:`kmeanskit.KPrototypes` the distances are the scores of
    :func:`outlier_scores` (rescaled for rows with gaps; rows with nothing
    present are left out).

    Parameters
    ----------
    model : KMeans, KMeansResult, KPrototypes or loaded model
    X : array-like or table of shape (n_samples, n_features)
        Reference rows, typically the training data, in the model's feature
        space (apply ``model.scaling_`` first if the model has one).

    Returns
    -------
    ndarray of shape (n_clusters,), float64, all > 0

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.anomaly import cluster_spread
    >>> X = np.array([[0.0], [2.0], [4.0], [9.0], [11.0], [10.0]])
    >>> km = kmeanskit.KMeans(2, init=[[1.0], [9.0]]).fit(X)
    >>> km.cluster_centers_.ravel().tolist()
    [2.0, 10.0]
    >>> cluster_spread(km, X).tolist()  # medians of [2, 0, 2] and [1, 1, 0]
    [2.0, 1.0]
    >>> cluster_spread(km, [[2.0], [9.0], [10.0], [12.0]]).tolist()  # zero spread: filled
    [1.0, 1.0]
    """
    m = _model(model)
    labels, dist = _nearest(m, X)
    return _spread_from(labels, dist, m.n_clusters)


def outlier_scores(model, X, *, normalize=False, reference=None) -> np.ndarray:
    """Anomaly score of every row: the distance to its nearest centre.

    Parameters
    ----------
    model : KMeans, KMeansResult, KPrototypes or loaded model
        The fitted clustering; its metric gives the distance (Euclidean, not
        squared; L1; ``1 - cos``; L-infinity). For a
        :class:`kmeanskit.KPrototypes` (mixed numeric and categorical
        columns, missing values): ``sqrt(d_obs * p / p_obs)``, the root of
        the k-prototypes dissimilarity over the row's ``p_obs`` present
        entries of ``p``, rescaled to all of them (see the module
        docstring: rows with gaps are comparable with complete ones).
    X : array-like or table of shape (n_samples, n_features)
        Rows to score, in the model's feature space (the caller applies
        ``model.scaling_.transform`` first when the model has a scaling;
        for a ``KPrototypes``, to the numeric columns). Missing values only
        for a ``KPrototypes`` fitted with ``missing="ignore"`` or ``"mean"``.
    normalize : bool, default=False
        Divide each distance by the spread of the row's cluster
        (:func:`cluster_spread`), making tight and loose clusters comparable.
    reference : array-like, optional
        Rows on which to measure the spreads (typically the training data).
        Default: the model's saved ``cluster_spread_`` if it has one (a
        loaded model saved with spreads, or any fitted ``KPrototypes``: its
        training rows' spreads), else ``X`` itself.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        Higher is more anomalous. NaN for a row with no value present
        (``KPrototypes`` with ``missing="ignore"`` only).

    Raises
    ------
    ValueError
        ``normalize`` is not True or False; the rows do not fit the model
        (columns, missing values the model refuses).

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.anomaly import outlier_scores
    >>> tight = [[0.0], [0.1], [-0.1], [0.0]]
    >>> loose = [[10.0], [12.0], [8.0], [10.0]]
    >>> km = kmeanskit.KMeans(2, init=[[0.0], [10.0]]).fit(tight + loose)
    >>> outlier_scores(km, [[1.0], [12.0]]).tolist()
    [1.0, 2.0]
    >>> outlier_scores(km, [[1.0], [12.0]], normalize=True, reference=tight + loose).tolist()
    [20.0, 2.0]

    A k-prototypes model: a differing category costs gamma = 1 (first
    row); the second row misses its category (scored on its number,
    rescaled by 2 columns / 1 present); the third has a category the model
    never saw (a mismatch with every prototype):

    >>> from kmeanskit import KPrototypes
    >>> T = np.array([[0.0, "a"], [2.0, "a"], [10.0, "b"], [12.0, "b"]], dtype=object)
    >>> kp = KPrototypes(2, gamma=1.0, init=T[[0, 2]], missing="ignore").fit(T)
    >>> kp.cluster_centroids_.tolist()
    [[1.0, 'a'], [11.0, 'b']]
    >>> rows = np.array([[5.0, "b"], [7.0, None], [1.0, "z"]], dtype=object)
    >>> outlier_scores(kp, rows).round(4).tolist()  # sqrt(16 + 1), sqrt(16 * 2 / 1), sqrt(0 + 1)
    [4.1231, 5.6569, 1.0]
    """
    return _scores(model, X, normalize, reference)[1]


def _scores(model, X, normalize, reference):
    """(nearest cluster, score) of every row: :func:`outlier_scores`."""
    if isinstance(normalize, (bool, np.bool_)):
        normalize = bool(normalize)
    else:
        raise ValueError(f"normalize must be True or False, got {normalize!r}; True divides each "
                         "distance by its cluster's spread (cluster_spread).")
    m = _model(model)
    labels, dist = _nearest(m, X)
    if not normalize:
        return labels, dist
    if reference is not None:
        spread = cluster_spread(m, reference)
    elif m.cluster_spread is not None:
        spread = _fix_spread(m.cluster_spread)
    else:
        spread = _spread_from(labels, dist, m.n_clusters)
    return labels, dist / spread[labels]


@dataclass(frozen=True)
class Outliers:
    """What :func:`detect_outliers` found.

    Attributes
    ----------
    mask : ndarray of shape (n_samples,), bool
        True for the flagged rows.
    scores : ndarray of shape (n_samples,), float64
        :func:`outlier_scores` of every row (NaN: a row with nothing
        present, never flagged).
    threshold : float
        The threshold given, or with ``contamination`` the lowest flagged
        score (rows scoring above it are all flagged; NaN when no row could
        be scored).
    labels : ndarray of shape (n_samples,) or None
        Each row's nearest cluster (as ``predict`` gives it), when
        :func:`detect_outliers` made this.

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.anomaly import detect_outliers
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [30.0], [-9.0]])
    >>> km = kmeanskit.KMeans(2, init=[[1.0], [11.0]]).fit(X[:6])
    >>> found = detect_outliers(km, X, threshold=5.0)
    >>> found
    Outliers(n_outliers=2 of 8, threshold=5)
    >>> found.indices.tolist(), found.scores[6:].tolist()
    ([6, 7], [19.0, 10.0])
    """

    mask: np.ndarray
    scores: np.ndarray
    threshold: float
    labels: np.ndarray | None = None

    @property
    def indices(self) -> np.ndarray:
        """Row indices of the flagged rows, highest score first (ties: lower
        index first)."""
        idx = np.flatnonzero(self.mask)
        return idx[np.lexsort((idx, -self.scores[idx]))]

    @property
    def n_outliers(self) -> int:
        """Number of rows flagged as outliers."""
        return int(self.mask.sum())

    def to_html(self, path=None, *, frame=None, labels=None, top: int = 20, source=None, title=None,
                overwrite: bool = False):
        """A single-file HTML report: the top rows with their scores and the
        score distribution with the threshold
        (:func:`kmeanskit.report.outliers_html`).

        Parameters
        ----------
        path : str or path, optional
            Where to write the page (atomically; an existing file only with
            ``overwrite``). None: return the HTML instead.
        frame : DataFrame, optional
            The rows scored, listed beside the top scores.
        labels : array-like of int, optional
            Each row's nearest cluster (default: ``self.labels``).
        top : int
            Rows listed, highest scores first.
        source, title : str, optional
            The data's name and the page title.
        overwrite : bool
            Replace an existing ``path``.

        Returns
        -------
        Path or str
            The file written, or the HTML when ``path`` is None.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [30.0]])
        >>> km = kmeanskit.KMeans(2, init=[[1.0], [11.0]]).fit(X[:6])
        >>> page = detect_outliers(km, X, threshold=5.0).to_html(source="t.csv")
        >>> "1 of 7 rows flagged" in page
        True
        """
        from .report import outliers_html, write_html

        labels = self.labels if labels is None else labels
        html = outliers_html(self, frame=frame, labels=labels, top=top, source=source, title=title)
        return html if path is None else write_html(html, path, overwrite=overwrite)

    def __repr__(self) -> str:
        return (f"Outliers(n_outliers={self.n_outliers} of {self.mask.size}, "
                f"threshold={self.threshold:.6g})")


def detect_outliers(model, X, *, contamination=None, threshold=None, normalize=False,
                    reference=None) -> Outliers:
    """Flag the rows farthest from their cluster centres.

    Give at most one of ``contamination`` and ``threshold``; with neither,
    ``contamination=0.01``.

    Parameters
    ----------
    model : KMeans, KMeansResult, KPrototypes or loaded model
    X : array-like or table of shape (n_samples, n_features)
        Rows in the model's feature space (apply ``model.scaling_`` first
        when the model has one).
    contamination : float in (0, 0.5), optional
        Fraction of rows to flag: exactly ``ceil(contamination * n)`` rows
        (at least one), those with the highest scores. Ties at the boundary
        go to the lower row index, so the result is deterministic. ``n``
        counts the scored rows (a row with a NaN score, nothing present,
        is never flagged).
    threshold : float, optional
        Flag every row whose score is ``>= threshold`` (in the units of the
        scores: distances, or spreads when ``normalize=True``).
    normalize, reference
        As in :func:`outlier_scores`.

    Returns
    -------
    Outliers
        ``mask``, ``scores``, ``threshold`` (and ``indices``, ``n_outliers``).

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit.anomaly import detect_outliers
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [30.0]])
    >>> km = kmeanskit.KMeans(2, init=[[1.0], [11.0]]).fit(X[:6])
    >>> found = detect_outliers(km, X, contamination=0.1)
    >>> found.mask.tolist(), found.threshold
    ([False, False, False, False, False, False, True], 19.0)
    >>> detect_outliers(km, X, threshold=1.0).indices.tolist()
    [6, 0, 2, 3, 5]
    """
    if contamination is not None and threshold is not None:
        raise ValueError("pass either contamination= or threshold=, not both.")
    if threshold is None:
        c = 0.01 if contamination is None else contamination
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) \
                or not 0 < c < 0.5:
            raise ValueError(f"contamination must be a fraction in (0, 0.5), got {c!r}; "
                             "e.g. 0.01 flags the top 1% of rows.")
    else:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer,
                                                                      np.floating)) \
                or not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
    labels, scores = _scores(model, X, normalize, reference)
    n = scores.size
    if threshold is not None:
        with np.errstate(invalid="ignore"):  # NaN scores are not flagged
            return Outliers(scores >= threshold, scores, float(threshold), labels)
    scored = n - int(np.isnan(scores).sum())  # NaN: a row with nothing present (k-prototypes)
    if scored == 0:
        return Outliers(np.zeros(n, dtype=bool), scores, float("nan"), labels)
    m = min(scored, max(1, math.ceil(c * scored - 1e-9)))
    order = np.lexsort((np.arange(n), -scores))  # NaN scores sort last
    mask = np.zeros(n, dtype=bool)
    mask[order[:m]] = True
    return Outliers(mask, scores, float(scores[order[m - 1]]), labels)
