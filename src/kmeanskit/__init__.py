"""kmeanskit: fast, exact, reproducible k-means.

Public names:

* native API: :func:`fit` -> :class:`KMeansResult`, :func:`assign`;
* scikit-learn drop-in: :class:`KMeans` (also other metrics via ``metric=``);
* scipy drop-in: :func:`kmeans`, :func:`kmeans2`, :func:`whiten`,
  :class:`ClusterError` and ``vq`` (also in :mod:`kmeanskit.vq`; the module
  ``kmeanskit.vq`` is itself callable as ``vq(obs, code_book)``).
* images: :func:`dominant_colors` -> :class:`Palette`, :func:`quantize`
  (more in :mod:`kmeanskit.image`);
* choosing k: :func:`choose_k` -> :class:`KSweep`;
* similar-item search: :class:`ClusterIndex` (more in :mod:`kmeanskit.search`);
* anomalies: :func:`outlier_scores`, :func:`detect_outliers`,
  :func:`cluster_spread` (also in :mod:`kmeanskit.anomaly`);
* cluster-affinity features: ``affinity`` (the module :mod:`kmeanskit.affinity`,
  callable as ``affinity(model, X, kind)``) and the scikit-learn transformer
  :class:`ClusterAffinity`;
* tables: :func:`segment` -> :class:`Segmentation` (needs pandas, the
  ``tables`` extra), bundled data in :mod:`kmeanskit.datasets`;
* saved models: :func:`load` (``.kmk`` files, no pickle; save with
  ``KMeans.save``, ``KMeansResult.save`` or :func:`kmeanskit.io.save_model`).
"""

from __future__ import annotations

import os as _os

# numba's OpenMP workers wait for the next parallel region spinning for a long
# time by default; on a machine where another process keeps a core busy they
# fight it and every pass waits for the slowed thread. A short spin then sleep
# costs nothing measurable on an idle machine and makes a pass with one core
# busy 1.9 x instead of 2.6 x slower (docs/engine.md, "Threads"). Read by
# libgomp when numba starts its threads; a value the user set is kept.
_os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from ._version import __version__
from . import choose_k  # the module; calling it runs choose_k.choose_k
from .choose_k import KSweep
from .core import KMeansResult, assign, fit
from . import vq  # the module; calling it runs vq.vq (see kmeanskit.vq)
from .vq import ClusterError, kmeans, kmeans2, whiten
from .image import Palette, dominant_colors, quantize
from .search import ClusterIndex
from . import segment  # the module; calling it runs segment.segment (pandas imported lazily)
from .segment import Segmentation
from .io import load_model as load
from .anomaly import Outliers, cluster_spread, detect_outliers, outlier_scores

__all__ = [
    "__version__",
    "fit",
    "assign",
    "KMeansResult",
    "KMeans",
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
    if name == "affinity":  # imports scikit-learn too; the module is callable
        import importlib

        return importlib.import_module(".affinity", __name__)
    if name == "ClusterAffinity":
        from .affinity import ClusterAffinity

        return ClusterAffinity
    raise AttributeError(f"module 'kmeanskit' has no attribute {name!r}")
