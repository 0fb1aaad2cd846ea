"""kmeanskit: fast, exact, reproducible k-means.

Public names:

* native API: :func:`fit` -> :class:`KMeansResult`, :func:`assign`;
* scipy drop-in: :func:`kmeans`, :func:`kmeans2`, :func:`vq`, :func:`whiten`,
  :class:`ClusterError` (also in :mod:`kmeanskit.vq`);
* choosing k: :func:`choose_k` -> :class:`KSweep`.
"""

from __future__ import annotations

from ._version import __version__
from .choose_k import KSweep, choose_k
from .core import KMeansResult, assign, fit
from .vq import ClusterError, kmeans, kmeans2, vq, whiten

__all__ = [
    "__version__",
    "fit",
    "assign",
    "KMeansResult",
    "kmeans",
    "kmeans2",
    "vq",
    "whiten",
    "ClusterError",
    "choose_k",
    "KSweep",
]
