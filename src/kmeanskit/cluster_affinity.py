"""Cluster-affinity features: describe each row by how close it is to each of
k centres, a compact non-linear encoding for downstream models.

With ``d[i, j]`` the distance of row ``i`` to centre ``j`` in the model's
metric (Euclidean, not squared; L1; ``1 - cos``; L-infinity):

* ``kind="distance"``: ``d[i, j]`` itself;
* ``kind="rbf"``: ``exp(-gamma * d[i, j] ** 2)``, in (0, 1];
* ``kind="soft"``: soft assignments
  ``exp(-gamma * d[i, j] ** 2) / sum_l exp(-gamma * d[i, l] ** 2)``, rows
  summing to 1 (computed after subtracting each row's smallest ``d ** 2``,
  so nothing underflows to 0/0); ``1 / gamma`` is the temperature.

Default bandwidth: ``gamma = 1 / mean_i(min_j d[i, j] ** 2)``, the inverse of
the mean squared distance of the **reference rows** to their nearest centre
(for Euclidean k-means on the training data that is the inertia per row).
The reference rows are the ``reference=`` argument, else ``X`` itself; the
transformer :class:`ClusterAffinity` measures it once on its training data
(``gamma_``), so that transforming new rows does not depend on the batch.
A typical row then has rbf affinity about ``exp(-1)`` to its own centre.

:func:`affinity` and :class:`ClusterAffinity` are also ``kmeanskit.affinity``
and ``kmeanskit.ClusterAffinity``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import Kind, Options, Rule, validate_params
from .core import fitted

__all__ = ["affinity", "default_gamma", "ClusterAffinity", "AFFINITY_KINDS"]

#: Kinds of affinity features.
AFFINITY_KINDS = ("distance", "rbf", "soft")


def _distances(model, X):
    """(n, k) float64 distances of the rows of ``X`` to the centres of a
    :class:`~kmeanskit.core.Fitted` model, in its metric."""
    return model.transform(X).astype(np.float64, copy=False)


def _gamma_from(D, w=None):
    m = float(np.average(np.min(D, axis=1) ** 2, weights=w))
    return 1.0 / m if m > 0 else 1.0


def default_gamma(model, X) -> float:
    """The default bandwidth: ``1 / mean(min_j d[i, j] ** 2)`` over the rows
    of ``X`` (1.0 if every row sits on a centre).

    Parameters
    ----------
    model : KMeans, KMeansResult or loaded model
        The fitted clustering; its metric gives the distances ``d``.
    X : array-like of shape (n_samples, n_features)
        Rows in the model's feature space.

    Returns
    -------
    float
        The bandwidth ``gamma`` that :func:`affinity` uses when none is
        given (computed on ``reference`` when one is given): the inverse of
        the mean squared distance of a row to its nearest centre.

    Examples
    --------
    >>> import kmeanskit
    >>> from kmeanskit.cluster_affinity import default_gamma
    >>> km = kmeanskit.KMeans(1).fit([[0.0], [2.0]])
    >>> default_gamma(km, [[0.0], [2.0]])
    1.0
    """
    return _gamma_from(_distances(fitted(model), X))


#: The parameters of :func:`affinity` and :class:`ClusterAffinity`, declared.
AFFINITY_PARAMS = {
    "kind": Rule((Options(AFFINITY_KINDS),),
                 f"kind must be one of {', '.join(map(repr, AFFINITY_KINDS))}, got {{kind!r}}."),
    "gamma": Rule((Options((None,)), Kind(lambda v: not isinstance(v, bool) and isinstance(v, numbers.Real)
                                          and bool(np.isfinite(v)) and v > 0, "a positive finite number")),
                  "gamma must be a positive finite number or None (the default rule), got {gamma!r}."),
}


def _check_params(kind, gamma):
    """``gamma`` as a float (or None) once ``kind`` and ``gamma`` are valid."""
    validate_params(dict(kind=kind, gamma=gamma), AFFINITY_PARAMS, "affinity")
    return None if gamma is None else float(gamma)


def _from_distances(D, kind, gamma):
    if kind == "distance":
        return D
    D2 = D * D
    if kind == "rbf":
        return np.exp(-gamma * D2)
    D2 -= D2.min(axis=1, keepdims=True)
    E = np.exp(-gamma * D2)  # the nearest centre gives exp(0) = 1: no 0/0
    E /= E.sum(axis=1, keepdims=True)
    return E


def affinity(model, X, kind="distance", *, gamma=None, reference=None) -> np.ndarray:
    """Affinity of every row to every cluster centre.

    Parameters
    ----------
    model : KMeans, KMeansResult or loaded model
        The fitted clustering; its metric gives the distances.
    X : array-like of shape (n_samples, n_features)
        Rows in the model's feature space (apply ``model.scaling_`` first
        when the model has one).
    kind : {"distance", "rbf", "soft"}, default="distance"
        Distances, Gaussian affinities ``exp(-gamma d^2)`` or soft
        assignments (rows sum to 1). See the module docstring.
    gamma : float, optional
        Bandwidth for "rbf" and "soft". Default: :func:`default_gamma` on
        ``reference`` (else on ``X``).
    reference : array-like, optional
        Rows for the default ``gamma`` (e.g. the training data).

    Returns
    -------
    ndarray of shape (n_samples, n_clusters), float64

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> from kmeanskit import affinity
    >>> km = kmeanskit.KMeans(2, init=[[0.0], [2.0]]).fit([[0.0], [2.0]])
    >>> affinity(km, [[0.0], [1.0]]).tolist()
    [[0.0, 2.0], [1.0, 1.0]]
    >>> affinity(km, [[0.0]], "rbf", gamma=0.5).round(4).tolist()
    [[1.0, 0.1353]]
    >>> affinity(km, [[0.0], [1.0]], "soft", gamma=0.5).round(4).tolist()
    [[0.8808, 0.1192], [0.5, 0.5]]
    """
    gamma = _check_params(kind, gamma)
    m = fitted(model)
    D = _distances(m, X)
    if kind != "distance" and gamma is None:
        gamma = _gamma_from(D if reference is None else _distances(m, reference))
    return _from_distances(D, kind, gamma)


class ClusterAffinity(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Cluster-affinity features as a scikit-learn transformer.

    ``fit`` clusters the rows with :class:`kmeanskit.KMeans`;
    ``transform`` returns the (n_samples, n_clusters) affinities of
    :func:`kmeanskit.affinity`, with the bandwidth measured
    once on the training rows (``gamma_``). Use it in a ``Pipeline``
    before a linear model to give it non-linear, local features.

    Parameters
    ----------
    n_clusters : int, default=8
    kind : {"rbf", "soft", "distance"}, default="rbf"
    gamma : float, optional
        Default: ``1 / mean squared distance of the training rows to
        their nearest centre``.
    random_state : None, int, Generator or RandomState
    metric, init, n_init, max_iter, tol, algorithm, n_threads
        Passed to :class:`kmeanskit.KMeans` (listed one by one, rather
        than ``**kwargs``, so that ``clone``/``GridSearchCV`` keep them).

    Attributes
    ----------
    kmeans_ : KMeans
        The fitted clustering.
    gamma_ : float
        The bandwidth used by ``transform`` (with ``sample_weight``, the
        default rule takes the weighted mean).
    n_iter_ : int
        Iterations of the k-means fit.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit import ClusterAffinity
    >>> X = np.array([[0.0], [0.2], [10.0], [10.2]])
    >>> ca = ClusterAffinity(2, kind="soft", random_state=0).fit(X)
    >>> ca.transform([[0.1], [10.1]]).round(3).tolist() in (
    ...     [[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
    True
    >>> ca.get_feature_names_out().tolist()
    ['clusteraffinity0', 'clusteraffinity1']
    """

    def __init__(self, n_clusters=8, *, kind="rbf", gamma=None, random_state=None,
                 metric="euclidean", init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, algorithm="auto", n_threads=None):
        self.n_clusters = n_clusters
        self.kind = kind
        self.gamma = gamma
        self.random_state = random_state
        self.metric = metric
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.n_threads = n_threads

    @property
    def _n_features_out(self):
        return self.kmeans_.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    def _fit(self, X, sample_weight):
        """Fit; return the training rows' distances to the centres."""
        from .estimator import KMeans

        gamma = _check_params(self.kind, self.gamma)
        km = KMeans(self.n_clusters, init=self.init, n_init=self.n_init, max_iter=self.max_iter,
                    tol=self.tol, random_state=self.random_state, algorithm=self.algorithm,
                    metric=self.metric, n_threads=self.n_threads)
        km.fit(X, sample_weight=sample_weight)
        self.kmeans_ = km
        self.n_features_in_ = km.n_features_in_
        if hasattr(km, "feature_names_in_"):
            self.feature_names_in_ = km.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_iter_ = km.n_iter_
        D = _distances(fitted(km), X)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.gamma_ = gamma if gamma is not None else _gamma_from(D, w)
        return D

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` and measure the bandwidth on it. Returns self."""
        self._fit(X, sample_weight)
        return self

    def transform(self, X):
        """(n_samples, n_clusters) affinities of ``X`` to the centres."""
        check_is_fitted(self)
        return _from_distances(_distances(fitted(self.kmeans_), X), self.kind, self.gamma_)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then transform ``X`` (one distance pass)."""
        return _from_distances(self._fit(X, sample_weight), self.kind, self.gamma_)

