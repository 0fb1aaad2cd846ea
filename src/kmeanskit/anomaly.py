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
  (exactly ``ceil(contamination * n)`` rows) or the rows at or above a
  ``threshold``.

``model`` is a fitted :class:`kmeanskit.KMeans`, a :class:`kmeanskit.KMeansResult`,
a model loaded by :func:`kmeanskit.load` or anything else :func:`kmeanskit.core.fitted`
takes. ``X`` must be in the model's
feature space: if the model was fitted on scaled columns (a loaded model's
``scaling_``), apply ``model.scaling_.transform`` to raw rows first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core import fitted

__all__ = ["outlier_scores", "cluster_spread", "detect_outliers", "Outliers"]

#: Spreads at most this fraction of the largest one count as zero.
_ZERO_SPREAD = 1e-9


def _nearest(model, X):
    """(labels, true distance to the nearest centre) of the rows of ``X``
    under a :class:`~kmeanskit.core.Fitted` model's metric."""
    labels, dist, _ = model.assign(X)
    if model.metric == "euclidean":  # assign gives squared distances
        dist = np.sqrt(np.maximum(dist, 0.0))
    return labels, np.asarray(dist, dtype=np.float64)


def _spread_from(labels, dist, k):
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

    Parameters
    ----------
    model : KMeans, KMeansResult or loaded model
    X : array-like of shape (n_samples, n_features)
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
    m = fitted(model)
    labels, dist = _nearest(m, X)
    return _spread_from(labels, dist, m.n_clusters)


def outlier_scores(model, X, *, normalize=False, reference=None) -> np.ndarray:
    """Anomaly score of every row: the distance to its nearest centre.

    Parameters
    ----------
    model : KMeans, KMeansResult or loaded model
        The fitted clustering; its metric gives the distance (Euclidean, not
        squared; L1; ``1 - cos``; L-infinity).
    X : array-like of shape (n_samples, n_features)
        Rows to score, in the model's feature space (the caller applies
        ``model.scaling_.transform`` first when the model has a scaling).
    normalize : bool, default=False
        Divide each distance by the spread of the row's cluster
        (:func:`cluster_spread`), making tight and loose clusters comparable.
    reference : array-like, optional
        Rows on which to measure the spreads (typically the training data).
        Default: the model's saved ``cluster_spread_`` if it has one (a
        loaded model saved with spreads), else ``X`` itself.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        Higher is more anomalous.

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
    """
    m = fitted(model)
    labels, dist = _nearest(m, X)
    if not normalize:
        return dist
    if reference is not None:
        spread = cluster_spread(m, reference)
    elif m.cluster_spread is not None:
        spread = _fix_spread(m.cluster_spread)
    else:
        spread = _spread_from(labels, dist, m.n_clusters)
    return dist / spread[labels]


@dataclass(frozen=True)
class Outliers:
    """What :func:`detect_outliers` found.

    Attributes
    ----------
    mask : ndarray of shape (n_samples,), bool
        True for the flagged rows.
    scores : ndarray of shape (n_samples,), float64
        :func:`outlier_scores` of every row.
    threshold : float
        The threshold given, or with ``contamination`` the lowest flagged
        score (rows scoring above it are all flagged).

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
            Each row's nearest cluster.
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
    model : KMeans, KMeansResult or loaded model
    X : array-like of shape (n_samples, n_features)
        Rows in the model's feature space (apply ``model.scaling_`` first
        when the model has one).
    contamination : float in (0, 0.5), optional
        Fraction of rows to flag: exactly ``ceil(contamination * n)`` rows
        (at least one), those with the highest scores. Ties at the boundary
        go to the lower row index, so the result is deterministic.
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
    scores = outlier_scores(model, X, normalize=normalize, reference=reference)
    n = scores.size
    if threshold is not None:
        return Outliers(scores >= threshold, scores, float(threshold))
    m = min(n, max(1, math.ceil(c * n - 1e-9)))
    order = np.lexsort((np.arange(n), -scores))
    mask = np.zeros(n, dtype=bool)
    mask[order[:m]] = True
    return Outliers(mask, scores, float(scores[order[m - 1]]))
