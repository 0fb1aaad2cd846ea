"""kmeanskit: fast, exact, reproducible k-means.

Public names:

* native API: :func:`fit` -> :class:`KMeansResult`, :func:`assign`,
  :func:`kmeans_parallel` (k-means|| seeding); Dask arrays and DataFrames too
  (docs/scale.md);
* scikit-learn drop-in: :class:`KMeans` (also other metrics via ``metric=``),
  :class:`MiniBatchKMeans`, :class:`BisectingKMeans`, :func:`kmeans_plusplus`;
* scipy drop-in: the module :mod:`kmeanskit.vq` (``kmeans``, ``kmeans2``,
  ``vq``, ``whiten``, ``ClusterError``, as ``scipy.cluster.vq``); :func:`kmeans`,
  :func:`kmeans2`, :func:`whiten` and :class:`ClusterError` also at top level.
* images: :func:`dominant_colors` -> :class:`Palette`, :func:`quantize`
  (more in :mod:`kmeanskit.image`);
* choosing k: :func:`choose_k` -> :class:`KSweep` (more in :mod:`kmeanskit.selection`);
* similar-item search: :class:`ClusterIndex` (more in :mod:`kmeanskit.search`);
* anomalies: :func:`outlier_scores`, :func:`detect_outliers`,
  :func:`cluster_spread` (also in :mod:`kmeanskit.anomaly`);
* cluster-affinity features: :func:`affinity` (``affinity(model, X, kind)``) and
  the scikit-learn transformer :class:`ClusterAffinity` (more in
  :mod:`kmeanskit.cluster_affinity`);
* tables: :func:`segment` -> :class:`Segmentation` (needs pandas, the
  ``tables`` extra; more in :mod:`kmeanskit.tables`), bundled data in
  :mod:`kmeanskit.datasets`;
* saved models: :func:`load` (``.kmk`` files, no pickle; save with
  ``KMeans.save``, ``KMeansResult.save`` or :func:`kmeanskit.io.save_model`).
"""

from __future__ import annotations

from . import vq  # the module, as scipy.cluster.vq
from ._version import __version__
from .anomaly import Outliers, cluster_spread, detect_outliers, outlier_scores
from .core import KMeansResult, assign, fit, kmeans_parallel, kmeans_plusplus
from .image import Palette, dominant_colors, quantize
from .io import load_model as load
from .search import ClusterIndex
from .selection import KSweep, choose_k
from .tables import Segmentation, segment  # pandas is imported when a table is read
from .vq import ClusterError, kmeans, kmeans2, whiten

__all__ = [
    "__version__",
    "fit",
    "assign",
    "KMeansResult",
    "KMeans",
    "MiniBatchKMeans",
    "BisectingKMeans",
    "KPrototypes",
    "kmeans_plusplus",
    "kmeans_parallel",
    "kmeans",
    "kmeans2",
    "vq",
    "whiten",
    "ClusterError",
    "dominant_colors",
    "quantize",
    "Palette",
    "choose_k",
    "KSweep",
    "ClusterIndex",
    "segment",
    "Segmentation",
    "load",
    "outlier_scores",
    "detect_outliers",
    "cluster_spread",
    "Outliers",
    "affinity",
    "ClusterAffinity",
]


def __getattr__(name):
    # KMeans imports scikit-learn (about a second): load it on first use only
    if name == "KMeans":
        from .estimator import KMeans

        return KMeans
    if name == "MiniBatchKMeans":  # scikit-learn too
        from .minibatch import MiniBatchKMeans

        return MiniBatchKMeans
    if name == "BisectingKMeans":
        from .bisecting import BisectingKMeans

        return BisectingKMeans
    if name == "KPrototypes":  # scikit-learn too
        from .kprototypes import KPrototypes

        return KPrototypes
    if name == "affinity":  # imports scikit-learn too
        from .cluster_affinity import affinity

        return affinity
    if name == "ClusterAffinity":
        from .cluster_affinity import ClusterAffinity

        return ClusterAffinity
    raise AttributeError(f"module 'kmeanskit' has no attribute {name!r}")
