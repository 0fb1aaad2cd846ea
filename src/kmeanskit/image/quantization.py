"""Repainting and labelling images with a palette.

:func:`quantize` (with Floyd-Steinberg dithering), :func:`labels` and
:func:`quantization_error`. Pixels are labelled through the colour
histogram: each distinct colour is labelled once (by the palette's metric)
and the labels are spread to the pixels through a 2**24-entry table, so the
cost follows the number of distinct colours. Dithering works pixel by pixel
in the palette's space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _ciede
from .._kernels import color as _C
from .._solver import thread_context
from .._validation import validate_params
from ..core import assign_arrays
from .cluster import PARALLEL_MIN_COLORS, code_table, histogram
from .colour import SPACE_CODE, codes_to_space
from .decode import PILLOW_LIMIT, Pixels, read_pixels
from .palette import CONSTRAINTS, DEFAULT_MIN_ALPHA, Palette, palette_from

__all__ = ["quantize", "labels", "quantization_error"]


def label_pixels(pix: Pixels, palette: Palette, dither: bool, n_threads=None,
                 known=None) -> np.ndarray:
    """Label every pixel (alpha ignored) with its nearest palette colour.

    ``known``: (histogram, labels) of all pixels from the clustering, reused.
    """
    centers = np.ascontiguousarray(palette.centers, dtype=np.float64)
    out = np.empty(pix.px.shape[0], dtype=np.int32)
    with thread_context(n_threads, False):
        ciede = palette.metric == "ciede2000"
        if dither:
            code = 3 if ciede else SPACE_CODE[palette.color_space]
            _C.floyd_steinberg(pix.px, pix.height, pix.width, code, centers, out)
            return out
        if known is not None:
            hist, lab_d = known
        elif ciede:
            hist = histogram(pix, -1, 0)
            lab_d, _ = _ciede.nearest(codes_to_space(hist.codes, "lab"), centers)
        else:
            hist = histogram(pix, -1, 0)
            feat = codes_to_space(hist.codes, palette.color_space)
            m = feat.shape[0]
            lab_d, _, _ = assign_arrays(feat, centers,
                                        n_threads=1 if m < PARALLEL_MIN_COLORS else n_threads)
        table = code_table().view(np.int32)
        table[hist.codes] = lab_d
        try:
            _C.pixel_labels(pix.px, alpha_ch=-1, min_alpha=0, table=table, out=out)
        finally:
            table[hist.codes] = 0
    return out


def quantize(image, k_or_palette: Any = 8, *, color_space: str = "lab", dither: bool = False,
             ignore_transparent: bool = True, min_alpha: int = DEFAULT_MIN_ALPHA,
             random_state=0, n_init: int = 5, max_pixels=PILLOW_LIMIT,
             n_threads: int | None = None, refine: str | None = "auto"):
    """Repaint an image with ``k`` colours (or a given :class:`Palette`).

    Every pixel takes the colour of its nearest palette entry (by the
    palette's ``metric``: CIEDE2000 for Lab palettes by default, else
    Euclidean distance in its clustering space), which is also a colour
    segmentation. With ``dither=True`` Floyd-Steinberg error diffusion (in
    the same space, nearest by the same metric) is applied. Alpha is kept as
    it was; transparent pixels do not shape the palette (see
    :func:`dominant_colors`) but are repainted too.

    Parameters
    ----------
    image : path, PIL.Image.Image or array
        As in :func:`dominant_colors` (the first frame of animations).
    k_or_palette : int, "auto" or Palette
    color_space, ignore_transparent, min_alpha, random_state, n_init, max_pixels, n_threads, refine
        As in :func:`dominant_colors` (used when a palette is computed).
    dither : bool
        Floyd-Steinberg dithering.

    Returns
    -------
    PIL.Image.Image
        Mode "RGB", or "RGBA" when the input has alpha.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> img[:, 2:] = 250
    >>> img[0, 0] = (10, 10, 10)
    >>> out = quantize(img, 2)              # Lab: the colour of least CIEDE2000
    >>> np.asarray(out)[0, :, 0].tolist()
    [0, 0, 250, 250]
    >>> np.asarray(quantize(img, 2, refine=None))[0, :, 0].tolist()   # Lab k-means: the mean
    [1, 1, 250, 250]
    """
    validate_params(dict(color_space=color_space, dither=dither,
                         ignore_transparent=ignore_transparent, min_alpha=min_alpha,
                         random_state=random_state, n_init=n_init, max_pixels=max_pixels,
                         n_threads=n_threads, refine=refine), CONSTRAINTS, "quantize")
    from PIL import Image

    pix = read_pixels(image, max_pixels=max_pixels)
    known = None
    if isinstance(k_or_palette, Palette):
        pal = k_or_palette
    else:
        validate_params(dict(k=k_or_palette), {"k": CONSTRAINTS["k"]}, "quantize")
        k = k_or_palette if k_or_palette == "auto" else int(k_or_palette)
        pal, (hist, lab_d, alpha_ch) = palette_from(
            pix, k, color_space=color_space, ignore_transparent=ignore_transparent,
            min_alpha=min_alpha, random_state=random_state, n_init=n_init, max_iter=300, tol=1e-5,
            n_threads=n_threads, with_labels=True, refine=refine)
        if alpha_ch < 0:  # every pixel was clustered: reuse its labels
            known = (hist, lab_d)
    lab_px = label_pixels(pix, pal, dither, n_threads, known)
    out = np.empty_like(pix.px)
    _C.paint(pix.px, lab_px, pal.colors, out)
    return Image.fromarray(out.reshape(pix.height, pix.width, -1), "RGBA" if pix.has_alpha else "RGB")


def labels(image, palette: Palette, *, ignore_transparent: bool = True,
           min_alpha: int = DEFAULT_MIN_ALPHA, max_pixels=PILLOW_LIMIT) -> np.ndarray:
    """Map each pixel to the index of its nearest colour in ``palette``.

    Nearest by the palette's ``metric``, as in :func:`quantize`.

    Parameters
    ----------
    image : path, PIL.Image.Image or array
        As in :func:`dominant_colors` (the first frame of animations).
    palette : Palette
        From :func:`dominant_colors` or :meth:`Palette.from_colors`.
    ignore_transparent : bool
        Label pixels with alpha < ``min_alpha`` -1.
    min_alpha : int
        Alpha (1-255) from which a pixel counts as visible.
    max_pixels : int, None or "pillow"
        Decompression-bomb guard for files (see :func:`load_image`).

    Returns
    -------
    ndarray of shape (height, width), int32
        Palette index of each pixel; transparent pixels (alpha <
        ``min_alpha``) are -1 unless ``ignore_transparent=False``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[[255, 0, 0], [250, 5, 0], [0, 0, 250]]], dtype=np.uint8)
    >>> labels(img, Palette.from_colors(["#0000ff", "#ff0000"])).tolist()
    [[1, 1, 0]]
    """
    if not isinstance(palette, Palette):
        raise ValueError(f"palette must be a Palette (from dominant_colors or Palette.from_colors), "
                         f"got {type(palette).__name__}.")
    validate_params(dict(ignore_transparent=ignore_transparent, min_alpha=min_alpha,
                         max_pixels=max_pixels), CONSTRAINTS, "labels")
    pix = read_pixels(image, max_pixels=max_pixels)
    out = label_pixels(pix, palette, False)
    if ignore_transparent and pix.has_alpha:
        out[pix.px[:, 3] < min_alpha] = -1
    return out.reshape(pix.height, pix.width)


def quantization_error(original, quantized) -> dict:
    """Measure how faithful a quantized image is to the original.

    The mean CIEDE2000 and the RGB mean squared error between two images of
    the same size (alpha ignored).

    Parameters
    ----------
    original, quantized : path, PIL.Image.Image or array
        The two images (anything :func:`load_image` reads).

    Returns
    -------
    dict
        ``{"mean_ciede2000": float, "rgb_mse": float}``; the MSE is per
        channel, on 0-255 values.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 2, 3), dtype=np.uint8)
    >>> quantization_error(a, a + 2)["rgb_mse"]
    4.0
    """
    a = read_pixels(original)
    b = read_pixels(quantized)
    if (a.height, a.width) != (b.height, b.width):
        raise ValueError(f"images differ in size ({a.width} x {a.height} vs {b.width} x {b.height}); "
                         "pass the quantized version of the same image.")
    de = np.empty(a.px.shape[0])
    sq = np.empty(a.px.shape[0])
    _C.pixel_errors(a.px, b.px, de, sq)
    return {"mean_ciede2000": float(de.mean()), "rgb_mse": float(sq.sum() / (3 * sq.shape[0]))}
