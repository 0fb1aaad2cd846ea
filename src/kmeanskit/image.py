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
"""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._fileutil import atomic_write_bytes as _atomic_write
from ._kernels import color as _C
from ._validation import RANDOM_STATE, Interval, Kind, Options, check_random_state, validate_params

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

#: Up to this many distinct colours the histogram is clustered directly.
DIRECT_MAX_COLORS = 1 << 16
#: The same for the k = 1..10 sweep of ``k="auto"``.
AUTO_DIRECT_MAX_COLORS = 1 << 13
#: Bits per channel of the RGB boxes used above that (32 x 32 x 32 boxes).
BIN_BITS = 5
#: Below this many points (distinct colours or boxes) k-means runs on one
#: thread (same result, less overhead).
PARALLEL_MIN_COLORS = 1 << 18
#: Largest k tried by ``k="auto"``.
AUTO_K_MAX = 10
#: Default alpha below which a pixel counts as transparent.
DEFAULT_MIN_ALPHA = 128

_PILLOW_LIMIT = "pillow"
_BOMB_LOCK = threading.Lock()


# --- colour conversions (public, vectorised) --------------------------------

def srgb_to_lab(rgb) -> np.ndarray:
    """Convert sRGB colours to CIELAB (D65, 2 degree observer).

    Parameters
    ----------
    rgb : array-like of shape (..., 3)
        uint8 code values (0-255; exact, through a 256-entry table) or
        floats in [0, 1].

    Returns
    -------
    ndarray of shape (..., 3), float64
        L* in [0, 100], a*, b*.

    Examples
    --------
    >>> srgb_to_lab([255, 0, 0]).round(4).tolist()
    [53.2408, 80.0925, 67.2032]
    >>> srgb_to_lab(np.array([[1.0, 1.0, 1.0]])).round(6).tolist()
    [[100.0, 0.0, 0.0]]
    """
    arr = np.asarray(rgb)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"rgb has shape {arr.shape}; pass colours as (..., 3) arrays.")
    flat = arr.reshape(-1, 3)
    out = np.empty(flat.shape, dtype=np.float64)
    if arr.dtype == np.uint8:
        _C.pick(_C.srgb8_to_lab, out.shape[0])(np.ascontiguousarray(flat), out)
    elif arr.dtype.kind in "iu":
        if flat.size and (flat.min() < 0 or flat.max() > 255):
            raise ValueError("integer rgb values must be in 0..255; pass uint8 or floats in [0, 1].")
        _C.pick(_C.srgb8_to_lab, out.shape[0])(np.ascontiguousarray(flat, dtype=np.uint8), out)
    else:
        f = np.ascontiguousarray(flat, dtype=np.float64)
        lin = np.empty_like(f)
        _C.pick(_C.srgb_to_linear, f.shape[0])(f, lin)
        _C.pick(_C.linear_to_lab, lin.shape[0])(lin, out)
    return out.reshape(arr.shape)


def lab_to_srgb(lab, *, as_uint8: bool = False) -> np.ndarray:
    """Convert CIELAB (D65) colours to sRGB.

    Parameters
    ----------
    lab : array-like of shape (..., 3)
    as_uint8 : bool
        Return rounded uint8 code values (clipped to the gamut) instead of
        floats in [0, 1] (not clipped: out-of-gamut colours fall outside).

    Examples
    --------
    >>> lab_to_srgb([53.24079183, 80.09246954, 67.20319254], as_uint8=True).tolist()
    [255, 0, 0]
    """
    arr = np.asarray(lab, dtype=np.float64)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"lab has shape {arr.shape}; pass colours as (..., 3) arrays.")
    flat = np.ascontiguousarray(arr.reshape(-1, 3))
    lin = np.empty_like(flat)
    _C.pick(_C.lab_to_linear, flat.shape[0])(flat, lin)
    out = np.empty_like(lin)
    _C.pick(_C.linear_to_srgb, lin.shape[0])(lin, out)
    out = out.reshape(arr.shape)
    if as_uint8:
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    return out


def delta_e_ciede2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) between Lab colours.

    Implements Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula:
    implementation notes, supplementary test data, and mathematical
    observations", Color Res. Appl. 30(1), 2005. Broadcasts like NumPy.

    Examples
    --------
    >>> float(delta_e_ciede2000([50, 2.6772, -79.7751], [50, 0, -82.7485]).round(4))
    2.0425
    """
    a, b = np.broadcast_arrays(np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64))
    if a.shape[-1:] != (3,):
        raise ValueError(f"Lab inputs have shape {a.shape}; pass colours as (..., 3) arrays.")
    fa = np.ascontiguousarray(a.reshape(-1, 3))
    fb = np.ascontiguousarray(b.reshape(-1, 3))
    out = np.empty(fa.shape[0])
    _C.pick(_C.ciede2000, out.shape[0])(fa, fb, out)
    return out.reshape(a.shape[:-1])


# --- loading -----------------------------------------------------------------

@dataclass
class _Pixels:
    """8-bit pixels of an image: ``px`` (n, 3 or 4) uint8, C-contiguous."""

    px: np.ndarray
    height: int
    width: int
    has_alpha: bool
    n_frames: int = 1

    @property
    def alpha_ch(self) -> int:
        return 3 if self.has_alpha else -1


def _pillow():
    from PIL import Image, ImageOps, ImageSequence

    return Image, ImageOps, ImageSequence


def _open_path(path, max_pixels):
    Image, _, _ = _pillow()
    from PIL import UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS if max_pixels == _PILLOW_LIMIT else max_pixels
    with _BOMB_LOCK:  # Pillow's own check is replaced by ours (same limit by default)
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(path)
        except UnidentifiedImageError:
            raise ValueError(f"{path} is not an image file Pillow can read; pass a PNG, JPEG, GIF, "
                             "TIFF, WebP or BMP image.") from None
        finally:
            Image.MAX_IMAGE_PIXELS = old
    w, h = img.size
    if limit is not None and w * h > limit:
        img.close()
        raise ValueError(
            f"{path} is {w} x {h} = {w * h:,} pixels, more than the decompression-bomb limit of "
            f"{int(limit):,} pixels (Pillow's Image.MAX_IMAGE_PIXELS); if you trust this file, "
            "pass max_pixels=None (or a larger number) to read it.")
    return img


def _exif_upright(img):
    _, ImageOps, _ = _pillow()
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # damaged EXIF block: keep the pixels as stored
        return img
    if orientation in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


def _scale16(a: np.ndarray) -> np.ndarray:
    a = np.clip(a.astype(np.int64), 0, 65535)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def _frame_to_array(img, name) -> tuple[np.ndarray, bool]:
    """One Pillow frame -> (h, w, 3 or 4) uint8 and whether it has alpha."""
    mode = img.mode
    transparent = "transparency" in img.info
    if mode in ("RGB",) and not transparent:
        return np.asarray(img), False
    if mode == "RGBA":
        return np.asarray(img), True
    if mode in ("LA", "La", "PA", "RGBa", "RGBX") or transparent:
        conv = img.convert("RGBA")
        return np.asarray(conv), mode != "RGBX" or transparent
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(img)
        if mode == "F":
            a = np.nan_to_num(a.astype(np.float64))
            g = np.clip(np.rint(a * 255.0 if a.size and a.max() <= 1.0 else a), 0, 255).astype(np.uint8)
        elif mode.startswith("I;16") or (a.size and a.max() > 255):
            g = _scale16(a)
        else:
            g = np.clip(a, 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2), False
    try:
        conv = img.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ValueError(f"{name}: cannot convert Pillow mode {mode!r} to RGB ({exc}); "
                         "convert the image to RGB first.") from None
    return np.asarray(conv), False


def _decode(img, name, frames):
    from PIL import Image

    try:
        img.load()
        n_frames = getattr(img, "n_frames", 1) if frames == "all" else 1
        arrays = []
        start = img.tell() if n_frames > 1 else 0
        try:
            for i in range(n_frames):
                if n_frames > 1:
                    img.seek(i)
                frame = _exif_upright(img) if i == 0 else img
                arrays.append(_frame_to_array(frame, name))
        finally:
            if n_frames > 1:
                img.seek(start)  # leave a caller's image on the frame it was on
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{name}: {exc}; pass max_pixels=None if you trust this file.") from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"could not decode {name} ({exc}); the file looks damaged or "
                         "incomplete (truncated).") from None
    has_alpha = any(a for _, a in arrays)
    h, w = arrays[0][0].shape[:2]
    parts = []
    for arr, alpha in arrays:
        if has_alpha and not alpha:
            arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], axis=2)
        parts.append(np.ascontiguousarray(arr).reshape(-1, arr.shape[2]))
    px = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return _Pixels(px, h, w, has_alpha, len(parts))


def _array_pixels(arr: np.ndarray) -> _Pixels:
    a = arr
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"image array has shape {arr.shape}; pass (height, width), "
                         "(height, width, 3) RGB or (height, width, 4) RGBA.")
    if a.dtype == np.uint8:
        u = a
    elif a.dtype == np.bool_:
        u = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        u = _scale16(a)
    elif a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError("integer image values must be in 0..255 (or uint16 for 16-bit); "
                             f"got {a.min()}..{a.max()}.")
        u = a.astype(np.uint8)
    elif a.dtype.kind == "f":
        if a.size and not np.isfinite(a).all():
            raise ValueError("image array contains NaN or infinity; pass finite values in [0, 1].")
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError(f"float image values must be in [0, 1], got {a.min():g}..{a.max():g}; "
                             "divide by 255 (or pass uint8).")
        u = np.rint(a * 255.0).astype(np.uint8)
    else:
        raise ValueError(f"image array has dtype {a.dtype}; pass uint8, uint16 or floats in [0, 1].")
    if u.shape[2] == 1:
        u = np.repeat(u, 3, axis=2)
    h, w, c = u.shape
    return _Pixels(np.ascontiguousarray(u).reshape(h * w, c), h, w, c == 4)


def _load(image, *, frames="first", max_pixels=_PILLOW_LIMIT) -> _Pixels:
    Image, _, _ = _pillow()
    if isinstance(image, (str, os.PathLike)):
        name = os.fspath(image)
        if os.path.isdir(name):
            raise ValueError(f"{name} is a folder; pass an image file.")
        img = _open_path(name, max_pixels)
        with img:
            pix = _decode(img, name, frames)
    elif isinstance(image, Image.Image):
        pix = _decode(image, "image", frames)
    elif isinstance(image, np.ndarray) or hasattr(image, "__array__"):
        pix = _array_pixels(np.asarray(image))
    else:
        raise ValueError(f"image must be a path, a PIL image or an array, got {type(image).__name__}.")
    if pix.px.shape[0] == 0:
        raise ValueError(f"the image is empty ({pix.width} x {pix.height} pixels); pass an image "
                         "with at least one pixel.")
    return pix


def load_image(image, *, frames: str = "first", max_pixels=_PILLOW_LIMIT) -> np.ndarray:
    """Read an image as 8-bit sRGB(A) pixels the way this module sees them.

    Parameters
    ----------
    image : path, PIL.Image.Image or array
        Any Pillow mode (RGB, RGBA, LA, L, 1, P, CMYK, YCbCr, I;16, I, F...).
        EXIF orientation is applied. Arrays: (h, w), (h, w, 3) or
        (h, w, 4); uint8, uint16 (16-bit) or floats in [0, 1].
    frames : {"first", "all"}
        For animated images: the first frame, or all frames stacked
        vertically.
    max_pixels : int, None or "pillow"
        Decompression-bomb guard for files: refuse images with more pixels
        ("pillow": Pillow's ``Image.MAX_IMAGE_PIXELS``; None: no limit).

    Returns
    -------
    ndarray of shape (h, w, 3) or (h, w, 4), uint8

    Examples
    --------
    >>> load_image(np.zeros((2, 3), dtype=np.uint8)).shape
    (2, 3, 3)
    """
    validate_params(dict(frames=frames, max_pixels=max_pixels), _LOAD_CONSTRAINTS, "load_image")
    pix = _load(image, frames=frames, max_pixels=max_pixels)
    c = pix.px.shape[1]
    return pix.px.reshape(-1, pix.width, c)


# --- results -----------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ElbowSweep:
    """Inertia of the best k-means fit for each k, and the chosen knee.

    The inertia is the pixel-weighted sum of squared distances in the
    clustering space (for large histograms, measured on the pooled RGB boxes
    plus their within-box scatter, an upper bound of the all-pixels value).
    """

    ks: np.ndarray
    inertia: np.ndarray
    knee: int
    color_space: str = "lab"

    def plot(self, ax=None):
        """Inertia against k with the knee marked. Returns the axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(self.ks, self.inertia, "o-", color="#3b6ea8")
        i = int(np.flatnonzero(self.ks == self.knee)[0])
        ax.plot([self.knee], [self.inertia[i]], "o", ms=12, mfc="none", mec="#c0392b", mew=2)
        ax.axvline(self.knee, color="#c0392b", ls="--", lw=1)
        ax.annotate(f"knee: k = {self.knee}", (self.knee, self.inertia[i]), xytext=(8, 10),
                    textcoords="offset points", color="#c0392b")
        ax.set_xlabel("k (number of colours)")
        ax.set_ylabel(f"inertia ({self.color_space.upper()} space)")
        ax.set_xticks(self.ks)
        return ax


@dataclass(frozen=True, eq=False)
class Palette:
    """Dominant colours of an image, most frequent first.

    Attributes
    ----------
    colors : ndarray (k, 3) uint8
        sRGB colours.
    proportions : ndarray (k,) float64
        Share of the counted pixels nearest to each colour (sums to 1),
        descending.
    counts : ndarray (k,) int64
        Pixels per colour.
    lab : ndarray (k, 3) float64
        The colours in CIELAB (for plain k-means in Lab, ``refine=None``, the
        exact cluster means before rounding to sRGB; for a CIEDE2000-refined
        palette, the Lab values of the 8-bit sRGB ``colors`` themselves).
    centers : ndarray (k, 3) float64
        Cluster centres in the clustering space (Lab, RGB 0-255 or DIN99o),
        used to label pixels.
    color_space : {"lab", "rgb", "din99o"}
    inertia : float
        Pixel-weighted sum of squared distances to the centres, measured
        with ``metric``.
    sweep : ElbowSweep or None
        The k sweep when ``k="auto"`` chose k.
    metric : {"euclidean", "ciede2000"}
        How pixels are labelled: the centre at the smallest Euclidean
        distance in ``color_space``, or (Lab palettes only) the colour of
        smallest CIEDE2000.
    """

    colors: np.ndarray
    proportions: np.ndarray
    counts: np.ndarray
    lab: np.ndarray
    centers: np.ndarray
    color_space: str = "lab"
    inertia: float = 0.0
    sweep: ElbowSweep | None = field(default=None, repr=False)
    metric: str = "euclidean"

    def __len__(self) -> int:
        return int(self.colors.shape[0])

    @property
    def k(self) -> int:
        return len(self)

    @property
    def hex(self) -> list[str]:
        """Colours as ``#rrggbb`` strings."""
        return ["#{:02x}{:02x}{:02x}".format(*map(int, c)) for c in self.colors]

    def __repr__(self) -> str:
        parts = ", ".join(f"{h} {p:.1%}" for h, p in zip(self.hex, self.proportions))
        return f"Palette(k={self.k}, color_space={self.color_space!r}, [{parts}])"

    @classmethod
    def from_colors(cls, colors, *, color_space: str = "lab", metric: str = "euclidean"
                    ) -> "Palette":
        """A palette from given sRGB colours (uint8 triples or ``#rrggbb``
        strings), e.g. to :func:`quantize` with a fixed palette. Proportions
        are unknown (zero).

        ``metric`` decides how pixels are labelled: "euclidean" (nearest in
        ``color_space``; the default) or, for Lab palettes, "ciede2000" (as
        the palettes of :func:`dominant_colors` in Lab mode do: pass it to
        reproduce their labels from their colours). CIEDE2000 was fitted to
        small colour differences: with a sparse hand-picked palette it can
        send a mid grey to a saturated colour of the same lightness rather
        than to white.

        Examples
        --------
        >>> Palette.from_colors(["#ff0000", (0, 0, 255)]).hex
        ['#ff0000', '#0000ff']
        >>> Palette.from_colors(["#ff0000"], metric="ciede2000").metric
        'ciede2000'
        """
        validate_params(dict(color_space=color_space, metric=metric),
                        {"color_space": [Options(SPACES)],
                         "metric": [Options(("euclidean", "ciede2000"))]},
                        "Palette.from_colors")
        metric = _resolve_metric(color_space, metric, "metric")
        rows = []
        for c in colors:
            if isinstance(c, str):
                s = c.lstrip("#")
                if len(s) != 6:
                    raise ValueError(f"colour {c!r} is not #rrggbb; pass e.g. '#1f77b4'.")
                try:
                    rows.append([int(s[i:i + 2], 16) for i in (0, 2, 4)])
                except ValueError:
                    raise ValueError(f"colour {c!r} is not #rrggbb hex.") from None
            else:
                rows.append(list(c))
        arr = np.asarray(rows)
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0 or arr.min() < 0 or arr.max() > 255:
            raise ValueError("colors must be a non-empty list of #rrggbb strings or 0-255 RGB triples.")
        rgb = arr.astype(np.uint8)
        lab = srgb_to_lab(rgb)
        centers = _lab_to_space(lab, rgb, color_space)
        k = rgb.shape[0]
        return cls(rgb, np.zeros(k), np.zeros(k, dtype=np.int64), lab, centers, color_space, 0.0,
                   None, metric)

    def to_dict(self) -> dict:
        """Plain-Python description (what :meth:`to_json` writes)."""
        d = {
            "color_space": self.color_space,
            "metric": self.metric,
            "k": self.k,
            "n_pixels": int(self.counts.sum()),
            "colors": [
                {"hex": h, "rgb": [int(v) for v in c], "lab": [round(float(v), 4) for v in lab],
                 "proportion": round(float(p), 6), "pixels": int(n)}
                for h, c, lab, p, n in zip(self.hex, self.colors, self.lab, self.proportions,
                                           self.counts)
            ],
        }
        if self.sweep is not None:
            d["auto_k"] = {"ks": [int(k) for k in self.sweep.ks],
                           "inertia": [float(v) for v in self.sweep.inertia],
                           "knee": int(self.sweep.knee)}
        return d

    def to_json(self, **kwargs) -> str:
        """The palette as JSON (hex, RGB, Lab, proportion and pixel count of
        each colour).

        Examples
        --------
        >>> import json
        >>> json.loads(Palette.from_colors(["#102030"]).to_json())["colors"][0]["rgb"]
        [16, 32, 48]
        """
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def plot(self, ax=None):
        """A swatch: one block per colour, width proportional to its share
        (equal widths when proportions are unknown), labelled with its hex
        code and percentage. Returns the axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 1.8))
        k = self.k
        widths = self.proportions if self.proportions.sum() > 0 else np.full(k, 1.0 / k)
        left = 0.0
        for c, wdt, h, p, lab in zip(self.colors, widths, self.hex, self.proportions, self.lab):
            ax.add_patch(_rectangle((left, 0), wdt, 1, c / 255.0))
            txt = "#000000" if lab[0] > 55 else "#ffffff"
            label = f"{h}\n{p:.1%}" if self.proportions.sum() > 0 else h
            if wdt > 0.045:
                ax.text(left + wdt / 2, 0.5, label, ha="center", va="center", color=txt,
                        fontsize=8 if wdt > 0.09 else 6, family="monospace")
            left += wdt
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_axis_off()
        return ax

    def save_swatch(self, path, *, dpi: int = 100) -> Path:
        """Write the :meth:`plot` swatch to ``path`` (format from the
        suffix, e.g. .png, .svg, .pdf) atomically. Returns the path."""
        from matplotlib.figure import Figure

        path = Path(path)
        fig = Figure(figsize=(8, 1.6))
        ax = fig.add_axes((0, 0, 1, 1))
        self.plot(ax=ax)
        buf = io.BytesIO()
        fmt = path.suffix.lstrip(".").lower() or "png"
        fig.savefig(buf, format=fmt, dpi=dpi)
        return _atomic_write(path, buf.getvalue())


def _rectangle(xy, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=color, edgecolor="none")


# --- the pipeline ------------------------------------------------------------

@dataclass
class _Hist:
    codes: np.ndarray  # (m,) int64 packed colours r << 16 | g << 8 | b, ascending
    w: np.ndarray  # (m,) float64 pixel counts
    n_pixels: int


_TLS = threading.local()


def _table() -> np.ndarray:
    """This thread's (2**24,) uint32 table, all zero between uses (reused
    so that its 64 MB are not page-faulted in again on every call)."""
    t = getattr(_TLS, "table", None)
    if t is None:
        t = _TLS.table = np.zeros(_C.N_CODES, dtype=np.uint32)
    return t


def _histogram(pix: _Pixels, alpha_ch: int, min_alpha: int) -> _Hist:
    """Exact colour histogram (counts as float64 weights)."""
    counts = _table()
    codes = np.empty(min(pix.px.shape[0], _C.N_CODES), dtype=np.int64)
    try:
        used, m = _C.rgb_histogram(pix.px, alpha_ch, min_alpha, counts, codes)
    except BaseException:
        counts[:] = 0
        raise
    codes = np.sort(codes[:m])
    w = np.empty(m)
    _C.pick(_C.gather_clear, m)(counts, codes, w)
    return _Hist(codes, w, int(used))


SPACES = ("lab", "rgb", "din99o")
_SPACE_CODE = {"rgb": 0, "lab": 1, "din99o": 2}
#: Refinements of the palette: "auto" is "ciede2000" in Lab, None elsewhere.
REFINES = ("auto", "ciede2000", None)
#: Up to this many distinct colours the CIEDE2000 refinement works on the
#: colours themselves; above, on their 32 x 32 x 32 RGB boxes (Lab means).
REFINE_DIRECT_MAX_COLORS = 1 << 12


def _resolve_metric(color_space: str, choice, name: str) -> str:
    """The labelling metric for ``refine`` (name="refine") or ``metric``."""
    if choice == "auto":
        return "ciede2000" if color_space == "lab" else "euclidean"
    if choice is None or choice == "euclidean":
        return "euclidean"
    if color_space != "lab":
        raise ValueError(f"{name}='ciede2000' needs color_space='lab' (got {color_space!r}); "
                         f"use color_space='lab' or leave {name} at its default.")
    return "ciede2000"


def _features(codes: np.ndarray, space: str) -> np.ndarray:
    if space in ("lab", "din99o"):
        out = np.empty((codes.shape[0], 3))
        _C.pick(_C.codes_to_lab, out.shape[0])(codes, out)
        if space == "din99o":
            _C.pick(_C.lab_to_din99o, out.shape[0])(out, out)
        return out
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=1).astype(np.float64)


def _lab_to_space(lab: np.ndarray, rgb: np.ndarray, space: str) -> np.ndarray:
    if space == "lab":
        return lab.copy()
    if space == "din99o":
        out = np.ascontiguousarray(lab, dtype=np.float64).copy()
        _C.pick(_C.lab_to_din99o, out.shape[0])(out, out)
        return out
    return rgb.astype(np.float64)


def _space_to_lab_and_rgb(centers: np.ndarray, space: str):
    if space in ("lab", "din99o"):
        lab = np.ascontiguousarray(centers, dtype=np.float64).copy()
        if space == "din99o":
            _C.pick(_C.din99o_to_lab, lab.shape[0])(lab, lab)
        return lab, lab_to_srgb(lab, as_uint8=True)
    rgb = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    return srgb_to_lab(np.clip(centers, 0, 255) / 255.0), rgb


def _knee(ks: np.ndarray, inertia: np.ndarray, m: int) -> int:
    """Elbow of a decreasing inertia curve (kneed's Kneedle, S=1)."""
    from kneed import KneeLocator

    if len(ks) <= 2:
        return int(ks[-1])
    if inertia[-1] <= 1e-12 * max(inertia[0], 1e-300) and m <= ks[-1]:
        # as many colours as the sweep allows fit exactly: the image is flat-coloured
        exact = int(ks[np.flatnonzero(inertia <= 1e-12 * max(inertia[0], 1e-300))[0]])
        return exact
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kl = KneeLocator(ks, inertia, curve="convex", direction="decreasing", S=1.0)
    if kl.knee is None:
        return int(min(5, ks[-1]))
    return int(kl.knee)


def _cluster(feat, w, codes, k, *, space, n_init, max_iter, tol, rng, n_threads, polish=True):
    """Cluster the weighted histogram. Returns (centers, labels, inertia, sweep).

    Fixed k: k-means++ with restarts on the histogram, or (above
    ``DIRECT_MAX_COLORS``) on its RGB boxes followed by a refinement on the
    full histogram. ``k="auto"``: the k = 1..10 sweep runs on the boxes as
    soon as there are more than ``AUTO_DIRECT_MAX_COLORS`` colours, and the
    chosen k is refined on the full histogram. ``polish=False`` skips that
    refinement (the caller refines otherwise); the labels are then those of
    the boxes.
    """
    from ._solver import run_kmeans

    m = feat.shape[0]
    limit = AUTO_DIRECT_MAX_COLORS if k == "auto" else DIRECT_MAX_COLORS
    binned = m > limit
    if binned:
        coarse, cw, scatter = _C.bin_means(codes, feat, w, BIN_BITS)
        if coarse.shape[0] < 4 * (AUTO_K_MAX if k == "auto" else k):  # too few boxes for k
            binned = False
    if not binned:
        coarse, cw, scatter = feat, w, 0.0
    sweep = None
    # Small problems run on one thread: the result is the same for any thread
    # count, and a parallel region per Lloyd pass costs more than it saves
    # below a few hundred thousand points (much more on a busy machine).
    common = dict(max_iter=max_iter, tol=tol)
    full = dict(common, n_threads=1 if m < PARALLEL_MIN_COLORS else n_threads)
    on_coarse = dict(common, n_threads=1 if coarse.shape[0] < PARALLEL_MIN_COLORS else n_threads)
    if k == "auto":
        kmax = int(min(AUTO_K_MAX, coarse.shape[0]))
        ks = np.arange(1, kmax + 1)
        fits = [run_kmeans(coarse, int(kk), w=cw, n_init=n_init, rng=rng, **on_coarse)
                for kk in ks]
        inertia = np.array([f.inertia for f in fits]) + scatter
        knee = _knee(ks, inertia, m)
        sweep = ElbowSweep(ks, inertia, knee, space)
        first = fits[knee - 1]
        k = knee
    else:
        first = run_kmeans(coarse, k, w=cw, n_init=n_init, rng=rng, **on_coarse)
    if binned and polish:
        res = run_kmeans(feat, k, w=w, init=first.centers, n_init=1, **full)
    else:
        res = first
    return res.centers, res.labels, res.inertia, sweep


_LOAD_CONSTRAINTS = {
    "frames": [Options(("first", "all"))],
    "max_pixels": [Options((_PILLOW_LIMIT, None)), Interval(int, 1, None)],
}
_CONSTRAINTS = {
    "k": [Interval(int, 1, None), Options(("auto",))],
    "color_space": [Options(SPACES)],
    "ignore_transparent": [Kind(lambda v: isinstance(v, bool), "True or False")],
    "min_alpha": [Interval(int, 1, 255)],
    "random_state": [RANDOM_STATE],
    "n_init": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "n_threads": [Options((None,)), Interval(int, 1, None)],
    "dither": [Kind(lambda v: isinstance(v, bool), "True or False")],
    "refine": [Options(REFINES)],
    **_LOAD_CONSTRAINTS,
}


def _refined_ciede2000(hist, k, *, n_init, max_iter, tol, rng, n_threads):
    """Lab mode's palette: seeded by k-means in DIN99o, then refined to
    minimise the mean CIEDE2000 (see :mod:`kmeanskit._ciede`). Returns
    (Lab centres of the 8-bit colours, labels and CIEDE2000 of every distinct
    colour, sweep)."""
    from . import _ciede
    from ._solver import thread_context

    lab = _features(hist.codes, "lab")
    din = np.empty_like(lab)
    _C.pick(_C.lab_to_din99o, din.shape[0])(lab, din)
    seed, _, _, sweep = _cluster(din, hist.w, hist.codes, k, space="din99o", n_init=n_init,
                                 max_iter=max_iter, tol=tol, rng=rng, n_threads=n_threads,
                                 polish=False)
    seed = np.ascontiguousarray(seed, dtype=np.float64)
    _C.pick(_C.din99o_to_lab, seed.shape[0])(seed, seed)
    kk = seed.shape[0]
    with thread_context(n_threads, False):
        work, ww = lab, hist.w
        if lab.shape[0] > REFINE_DIRECT_MAX_COLORS:
            boxes, bw, _ = _C.bin_means(hist.codes, lab, hist.w, BIN_BITS)
            if boxes.shape[0] >= 4 * kk:
                work, ww = boxes, bw
        ref = _ciede.refine(work, ww, seed)
        rgb = _ciede.snap_to_srgb8(work, ww, ref.labels, ref.centers)
        centers = srgb_to_lab(rgb)
        labels_d, dist = _ciede.nearest(lab, centers)
    return centers, labels_d, dist, sweep


def _palette_from(pix, k, *, color_space, ignore_transparent, min_alpha, random_state, n_init,
                  max_iter, tol, n_threads, with_labels=False, refine="auto"):
    alpha_ch = pix.alpha_ch if ignore_transparent else -1
    hist = _histogram(pix, alpha_ch, min_alpha)
    m = hist.codes.shape[0]
    if m == 0:
        raise ValueError(f"every pixel is transparent (alpha < {min_alpha}); pass "
                         "ignore_transparent=False to use their colours anyway.")
    if k != "auto" and k > m:
        warnings.warn(f"the image has only {m} distinct colour(s), fewer than k={k}; "
                      f"returning a palette of {m}.", UserWarning, stacklevel=3)
        k = m
    rng = check_random_state(random_state)
    metric = _resolve_metric(color_space, refine, "refine")
    if metric == "ciede2000":
        centers, lab_d, dist, sweep = _refined_ciede2000(hist, k, n_init=n_init,
                                                         max_iter=max_iter, tol=tol, rng=rng,
                                                         n_threads=n_threads)
        inertia = float(hist.w @ (dist * dist))
    else:
        feat = _features(hist.codes, color_space)
        centers, lab_d, inertia, sweep = _cluster(feat, hist.w, hist.codes, k, space=color_space,
                                                  n_init=n_init, max_iter=max_iter, tol=tol,
                                                  rng=rng, n_threads=n_threads)
    kk = centers.shape[0]
    counts = np.bincount(lab_d, weights=hist.w, minlength=kk)
    order = np.argsort(-counts, kind="stable")
    centers = np.ascontiguousarray(centers[order], dtype=np.float64)
    counts = counts[order]
    if metric == "ciede2000":  # centres are the Lab values of 8-bit colours
        lab, rgb = centers.copy(), lab_to_srgb(centers, as_uint8=True)
    else:
        lab, rgb = _space_to_lab_and_rgb(centers, color_space)
    total = counts.sum()
    pal = Palette(rgb, counts / total, np.rint(counts).astype(np.int64), lab, centers, color_space,
                  float(inertia), sweep, metric)
    if not with_labels:
        return pal
    rank = np.empty(kk, dtype=np.int32)
    rank[order] = np.arange(kk, dtype=np.int32)
    return pal, (hist, rank[lab_d], alpha_ch)


def dominant_colors(image, k: int | str = 5, *, color_space: str = "lab",
                    ignore_transparent: bool = True, min_alpha: int = DEFAULT_MIN_ALPHA,
                    frames: str = "first", random_state=0, n_init: int = 5, max_iter: int = 300,
                    tol: float = 1e-5, max_pixels=_PILLOW_LIMIT, n_threads: int | None = None,
                    refine: str | None = "auto") -> Palette:
    """The ``k`` dominant colours of an image, by k-means on its pixels.

    Parameters
    ----------
    image : path, PIL.Image.Image or array
        Any Pillow mode: RGB, RGBA/LA (transparent pixels left out by
        default), L, 1, P (palette), CMYK, YCbCr, I;16 and other 16-bit modes
        (rounded to 8 bits). EXIF orientation is honoured. Arrays: (h, w),
        (h, w, 3) or (h, w, 4) of uint8, uint16 or floats in [0, 1].
    k : int or "auto"
        Number of colours. "auto" fits k = 1..10 and takes the elbow of the
        inertia curve (Kneedle); the sweep is kept in ``Palette.sweep``. An
        image with fewer distinct colours than ``k`` gives a shorter palette
        (with a warning).
    color_space : {"lab", "rgb", "din99o"}
        Where distances are measured: CIELAB (perceptual; by default the
        palette minimises the mean CIEDE2000, see ``refine``), sRGB values
        (k-means; minimises the RGB mean squared error), or DIN99o (k-means
        in a logarithmic compression of CIELAB whose Euclidean distance
        approximates CIEDE2000).
    ignore_transparent : bool
        Leave out pixels with alpha < ``min_alpha``.
    min_alpha : int
        Alpha (1-255) from which a pixel counts as visible.
    frames : {"first", "all"}
        Animated images: the first frame, or all frames pooled.
    random_state : None, int, Generator or RandomState
        Seed of k-means++; the same image and seed give the same palette on
        any thread count.
    n_init : int
        k-means++ restarts (on the colour histogram or its boxes, so they are
        cheap).
    max_iter, tol : int, float
        Lloyd iteration limit and tolerance (as in :func:`kmeanskit.fit`;
        tighter than its 1e-4 by default, which the histogram makes cheap).
    max_pixels : int, None or "pillow"
        Decompression-bomb guard for files: larger images are refused with
        a clear error ("pillow": Pillow's ``Image.MAX_IMAGE_PIXELS``, about
        89 million; None: no limit).
    n_threads : int, optional
        Threads for the kernels.
    refine : {"auto", "ciede2000", None}
        "ciede2000" (what "auto" means in Lab; Lab only): the palette
        minimises the pixel-weighted sum of CIEDE2000 differences of the
        pixels to their palette colours, and pixels are labelled by smallest
        CIEDE2000. It starts from k-means in DIN99o and alternates CIEDE2000
        assignment with Weiszfeld centre updates that are kept only when
        they lower the objective (so it never rises), on the distinct colours
        (or, above 4096 of them, their 32 x 32 x 32 RGB boxes), stopping when
        nothing changes, a round gains <= 0.01 %, or after 20 rounds; each
        colour is then rounded to the best nearby 8-bit sRGB value and every
        distinct colour of the image takes its nearest colour by CIEDE2000.
        None: plain k-means in ``color_space`` (in Lab: squared CIE76
        distances, centres are Lab means).

    Returns
    -------
    Palette

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((10, 10, 3), dtype=np.uint8)
    >>> img[:, :7] = (200, 30, 30)          # 70 % red
    >>> img[:, 7:] = (20, 40, 220)          # 30 % blue
    >>> pal = dominant_colors(img, k=2)
    >>> pal.hex, pal.proportions.tolist()
    (['#c81e1e', '#1428dc'], [0.7, 0.3])
    """
    validate_params(dict(k=k, color_space=color_space, ignore_transparent=ignore_transparent,
                         min_alpha=min_alpha, frames=frames, random_state=random_state,
                         n_init=n_init, max_iter=max_iter, tol=tol, max_pixels=max_pixels,
                         n_threads=n_threads, refine=refine), _CONSTRAINTS, "dominant_colors")
    _resolve_metric(color_space, refine, "refine")
    pix = _load(image, frames=frames, max_pixels=max_pixels)
    return _palette_from(pix, k if k == "auto" else int(k), color_space=color_space,
                         ignore_transparent=ignore_transparent, min_alpha=min_alpha,
                         random_state=random_state, n_init=n_init, max_iter=max_iter, tol=tol,
                         n_threads=n_threads, refine=refine)


def _label_pixels(pix: _Pixels, palette: Palette, dither: bool, n_threads=None,
                  known=None) -> np.ndarray:
    """Nearest palette colour of every pixel (all pixels, alpha ignored).
    ``known``: (histogram, labels) of all pixels from the clustering, reused."""
    from ._solver import thread_context
    from .core import assign_arrays

    centers = np.ascontiguousarray(palette.centers, dtype=np.float64)
    out = np.empty(pix.px.shape[0], dtype=np.int32)
    with thread_context(n_threads, False):
        ciede = palette.metric == "ciede2000"
        if dither:
            code = 3 if ciede else _SPACE_CODE[palette.color_space]
            _C.floyd_steinberg(pix.px, pix.height, pix.width, code, centers, out)
            return out
        if known is not None:
            hist, lab_d = known
        elif ciede:
            from ._ciede import nearest

            hist = _histogram(pix, -1, 0)
            lab_d, _ = nearest(_features(hist.codes, "lab"), centers)
        else:
            hist = _histogram(pix, -1, 0)
            feat = _features(hist.codes, palette.color_space)
            m = feat.shape[0]
            lab_d, _, _ = assign_arrays(feat, centers,
                                        n_threads=1 if m < PARALLEL_MIN_COLORS else n_threads)
        table = _table().view(np.int32)
        table[hist.codes] = lab_d
        try:
            _C.pixel_labels(pix.px, -1, 0, table, out)
        finally:
            table[hist.codes] = 0
    return out


def quantize(image, k_or_palette: Any = 8, *, color_space: str = "lab", dither: bool = False,
             ignore_transparent: bool = True, min_alpha: int = DEFAULT_MIN_ALPHA,
             random_state=0, n_init: int = 5, max_pixels=_PILLOW_LIMIT,
             n_threads: int | None = None, refine: str | None = "auto"):
    """Repaint an image with ``k`` colours (or a given :class:`Palette`).

    Every pixel takes the colour of its nearest palette entry (by the
    palette's ``metric``: CIEDE2000 for Lab palettes by default, else
    Euclidean distance in its clustering space), which is also a colour
    segmentation. With ``dither=True`` Floyd-Steinberg error diffusion (in
    the same space, nearest by the same metric) is applied. Alpha is kept as it was; transparent pixels do not shape the
    palette (see :func:`dominant_colors`) but are repainted too.

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
                         n_threads=n_threads, refine=refine), _CONSTRAINTS, "quantize")
    from PIL import Image

    pix = _load(image, max_pixels=max_pixels)
    known = None
    if isinstance(k_or_palette, Palette):
        pal = k_or_palette
    else:
        validate_params(dict(k=k_or_palette), {"k": _CONSTRAINTS["k"]}, "quantize")
        k = k_or_palette if k_or_palette == "auto" else int(k_or_palette)
        pal, (hist, lab_d, alpha_ch) = _palette_from(
            pix, k, color_space=color_space, ignore_transparent=ignore_transparent,
            min_alpha=min_alpha, random_state=random_state, n_init=n_init, max_iter=300, tol=1e-5,
            n_threads=n_threads, with_labels=True, refine=refine)
        if alpha_ch < 0:  # every pixel was clustered: reuse its labels
            known = (hist, lab_d)
    lab_px = _label_pixels(pix, pal, dither, n_threads, known)
    out = np.empty_like(pix.px)
    _C.paint(pix.px, lab_px, pal.colors, out)
    return Image.fromarray(out.reshape(pix.height, pix.width, -1), "RGBA" if pix.has_alpha else "RGB")


def labels(image, palette: Palette, *, ignore_transparent: bool = True,
           min_alpha: int = DEFAULT_MIN_ALPHA, max_pixels=_PILLOW_LIMIT) -> np.ndarray:
    """Label map: index (into ``palette``) of each pixel's nearest colour
    (by the palette's ``metric``, as in :func:`quantize`).

    Returns an int32 array of shape (height, width); transparent pixels
    (alpha < ``min_alpha``) are -1 unless ``ignore_transparent=False``.

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
                         max_pixels=max_pixels), _CONSTRAINTS, "labels")
    pix = _load(image, max_pixels=max_pixels)
    out = _label_pixels(pix, palette, False)
    if ignore_transparent and pix.has_alpha:
        out[pix.px[:, 3] < min_alpha] = -1
    return out.reshape(pix.height, pix.width)


def quantization_error(original, quantized) -> dict:
    """Mean CIEDE2000 and RGB mean squared error between two images of the
    same size (alpha ignored): how faithful a quantized image is.

    Returns ``{"mean_ciede2000": float, "rgb_mse": float}``; the MSE is per
    channel, on 0-255 values.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 2, 3), dtype=np.uint8)
    >>> quantization_error(a, a + 2)["rgb_mse"]
    4.0
    """
    a = _load(original)
    b = _load(quantized)
    if (a.height, a.width) != (b.height, b.width):
        raise ValueError(f"images differ in size ({a.width} x {a.height} vs {b.width} x {b.height}); "
                         "pass the quantized version of the same image.")
    de = np.empty(a.px.shape[0])
    sq = np.empty(a.px.shape[0])
    _C.pixel_errors(a.px, b.px, de, sq)
    return {"mean_ciede2000": float(de.mean()), "rgb_mse": float(sq.sum() / (3 * sq.shape[0]))}
