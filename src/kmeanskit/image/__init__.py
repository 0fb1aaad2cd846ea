"""Dominant colours, colour quantization and segmentation of images.

Every pixel is a point in colour space; k-means finds the ``k`` colours that
best summarise the image. By default (CIELAB, D65) the palette minimises the
mean CIEDE2000 difference of the pixels to their colours and pixels are
labelled by CIEDE2000 (seeded by k-means in DIN99o, then refined, see
:mod:`kmeanskit._ciede`; ``refine=None`` gives plain k-means in Lab);
``color_space="rgb"`` runs k-means on sRGB code values (lowest RGB mean
squared error), and ``color_space="din99o"`` k-means in DIN99o (DIN 6176), a
log-compressed CIELAB whose distances approximate CIEDE2000 better than
CIELAB's do. Palettes are always reported in sRGB.

How it stays fast: the cost follows the number of *distinct* colours, not of
pixels. The image's 24-bit colour histogram is clustered with the pixel
counts as sample weights, which is exactly k-means on all pixels. When a
photo holds more than ``DIRECT_MAX_COLORS`` distinct colours, the histogram
is first pooled into 32 x 32 x 32 RGB boxes (each box's weighted mean colour,
weighted by its pixel count), k-means with restarts runs on those boxes, and
a refinement pass of Lloyd iterations on the full histogram (still exact,
weighted) starts from the result. The returned centres are therefore a local
optimum of the true all-pixels objective.

All inputs are reduced to 8-bit sRGB first (16-bit images are rounded to 8
bits, i.e. value / 257). Colour-managed inputs (an embedded ICC profile, CMYK
with a profile) are converted with Pillow's plain conversions, not through
the profile.

The package's modules, each using only those listed before it:

- :mod:`~kmeanskit.image.decode`: reading files, Pillow images and arrays as
  8-bit pixels (:func:`load_image`, the decompression-bomb guard);
- :mod:`~kmeanskit.image.colour`: sRGB, CIELAB and DIN99o conversions,
  CIEDE2000, rounding palettes to 8-bit colours;
- :mod:`~kmeanskit.image.cluster`: the colour histogram and its k-means
  (fixed k or the ``k="auto"`` sweep, :class:`ElbowSweep`), and Lab mode's
  CIEDE2000 refinement;
- :mod:`~kmeanskit.image.palette`: :class:`Palette` and
  :func:`dominant_colors`;
- :mod:`~kmeanskit.image.quantization`: :func:`quantize` (with dithering),
  :func:`labels` and :func:`quantization_error`.
"""

# The tuning constants and option lists stay importable as kmeanskit.image.NAME.
from .cluster import (  # noqa: F401
                      AUTO_DIRECT_MAX_COLORS,
                      AUTO_K_MAX,
                      BIN_BITS,
                      DIRECT_MAX_COLORS,
                      PARALLEL_MIN_COLORS,  # noqa: F401
                      REFINE_DIRECT_MAX_COLORS,
                      ElbowSweep,
)
from .colour import REFINES, SPACES, delta_e_ciede2000, lab_to_srgb, srgb_to_lab  # noqa: F401
from .decode import load_image
from .palette import DEFAULT_MIN_ALPHA, Palette, dominant_colors  # noqa: F401
from .quantization import labels, quantization_error, quantize

__all__ = [
    "Palette",
    "ElbowSweep",
    "dominant_colors",
    "quantize",
    "labels",
    "load_image",
    "srgb_to_lab",
    "lab_to_srgb",
    "delta_e_ciede2000",
    "quantization_error",
]
