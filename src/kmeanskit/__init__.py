"""kmeanskit: fast, exact, reproducible k-means.

Public names:

* native API: :func:`fit` -> :class:`KMeansResult`, :func:`assign`;
* images: :func:`dominant_colors` -> :class:`Palette`, :func:`quantize`
  (more in :mod:`kmeanskit.image`);
* scipy drop-in: :func:`kmeans`, :func:`kmeans2`, :func:`vq`, :func:`whiten`,
  :class:`ClusterError` (also in :mod:`kmeanskit.vq`).
"""

from __future__ import annotations

from ._version import __version__
from .core import KMeansResult, assign, fit
from .image import Palette, dominant_colors, quantize
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
    "dominant_colors",
    "quantize",
    "Palette",
]
