"""Reading images as 8-bit sRGB(A) pixels, with a decompression-bomb guard.

Every input (a file path, a Pillow image in any mode, or an array) becomes a
:class:`Pixels`: an (n, 3) or (n, 4) uint8 array of its pixels in row order.
16-bit values are rounded to 8 bits (value / 257); colour-managed inputs (an
embedded ICC profile, CMYK with a profile) are converted with Pillow's plain
conversions, not through the profile. Files larger than ``max_pixels`` are
refused before they are decoded.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from dataclasses import dataclass

import numpy as np

from .._validation import Interval, Options, check_read_budget, kernel_view, validate_params

__all__ = ["load_image"]

#: ``max_pixels`` value meaning "Pillow's ``Image.MAX_IMAGE_PIXELS``, read at call time".
PILLOW_LIMIT = "pillow"
# Pillow's own bomb check reads a module global; it is switched off around
# ``Image.open`` (ours replaces it), so concurrent opens must not interleave.
_BOMB_LOCK = threading.Lock()

#: What Pillow raises on a damaged or hostile file (besides ValueError): its
#: plugins parse headers with struct and index tables they read from the file.
DAMAGED_ERRORS = (OSError, EOFError, SyntaxError, struct.error, IndexError, KeyError, TypeError,
                  ZeroDivisionError, OverflowError, zlib.error)

LOAD_CONSTRAINTS = {
    "frames": [Options(("first", "all"))],
    "max_pixels": [Options((PILLOW_LIMIT, None)), Interval(int, 1, None)],
}


@dataclass
class Pixels:
    """8-bit pixels of an image: ``px`` (n, 3 or 4) uint8, C-contiguous.

    ``n_frames`` frames of ``height`` x ``width`` pixels are stacked in
    ``px``; ``has_alpha`` says whether a fourth (alpha) column is present.
    """

    px: np.ndarray
    height: int
    width: int
    has_alpha: bool
    n_frames: int = 1

    def __post_init__(self):
        # an image's array from Pillow is read-only: the colour kernels
        # compiled for writeable arrays take it as it is (kernel_view)
        self.px = kernel_view(self.px)

    @property
    def alpha_ch(self) -> int:
        """Column of the alpha channel in ``px``, or -1 when there is none."""
        return 3 if self.has_alpha else -1


def pillow_modules():
    """Return Pillow's ``Image``, ``ImageOps`` and ``ImageSequence`` modules.

    Pillow is imported on first use.
    """
    from PIL import Image, ImageOps, ImageSequence

    return Image, ImageOps, ImageSequence


def open_image_file(path, max_pixels):
    """Open ``path`` with Pillow (lazily: nothing is decoded yet).

    Images of more than ``max_pixels`` pixels (``PILLOW_LIMIT``: Pillow's
    ``Image.MAX_IMAGE_PIXELS``; None: no limit) are refused with a
    ValueError whose message says how to proceed.
    """
    Image, _, _ = pillow_modules()
    from PIL import UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS if max_pixels == PILLOW_LIMIT else max_pixels
    # the file's bytes, read once: Pillow's plugins call read(n) with lengths taken from the
    # file (a PNG chunk's), and a file object allocates n bytes before it finds the file
    # shorter; from memory a read returns only what there is
    size = os.stat(path).st_size  # FileNotFoundError as it is
    check_read_budget(size, f"{path}: an image file of {size:,} bytes")
    with open(path, "rb") as fh:
        data = io.BytesIO(fh.read())
    with _BOMB_LOCK:  # Pillow's own check is replaced by ours (same limit by default)
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(data)
        except UnidentifiedImageError:
            raise ValueError(f"{path} is not an image file Pillow can read; pass a PNG, JPEG, GIF, "
                             "TIFF, WebP or BMP image.") from None
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except DAMAGED_ERRORS as exc:  # a damaged header: Pillow's plugins raise all of these
            raise ValueError(f"could not open {path} ({type(exc).__name__}: {exc}); the file looks "
                             "damaged or incomplete (truncated).") from None
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
    _, ImageOps, _ = pillow_modules()
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # damaged EXIF block: keep the pixels as stored
        return img
    if orientation in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


def _scale16(a: np.ndarray) -> np.ndarray:
    """16-bit values to 8 bits, rounded (value * 255 / 65535)."""
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


def decode_pil(img, name, frames, max_pixels=PILLOW_LIMIT) -> Pixels:
    """Decode an open Pillow image to 8-bit pixels.

    Its first frame (``frames="first"``, EXIF orientation applied) or all
    frames stacked (``"all"``); ``name`` names the image in error messages.
    ``max_pixels`` bounds the pixels of all frames together (the
    decompression-bomb limit of :func:`open_image_file`, applied to the
    total: a small GIF can hold many frames of a large canvas), checked
    before any frame is decoded.
    """
    from PIL import Image

    try:
        n_frames = getattr(img, "n_frames", 1) if frames == "all" else 1
        limit = Image.MAX_IMAGE_PIXELS if max_pixels == PILLOW_LIMIT else max_pixels
        w, h = img.size
        if n_frames > 1 and limit is not None and n_frames * w * h > limit:
            raise ValueError(
                f"{name} has {n_frames} frames of {w} x {h} pixels, {n_frames * w * h:,} pixels in all, "
                f"more than the decompression-bomb limit of {int(limit):,} pixels; read the first "
                "frame only, or if you trust this file pass max_pixels=None (or a larger number).")
        img.load()
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
    except DAMAGED_ERRORS as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"could not decode {name} ({type(exc).__name__}: {exc}); the file looks damaged "
                         "or incomplete (truncated).") from None
    has_alpha = any(a for _, a in arrays)
    h, w = arrays[0][0].shape[:2]
    parts = []
    for arr, alpha in arrays:
        if has_alpha and not alpha:
            arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], axis=2)
        parts.append(np.ascontiguousarray(arr).reshape(-1, arr.shape[2]))
    px = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return Pixels(px, h, w, has_alpha, len(parts))


def pixels_from_array(arr: np.ndarray) -> Pixels:
    """Convert an image array to 8-bit pixels.

    Accepted: (h, w), (h, w, 1), (h, w, 3) or (h, w, 4) of uint8, bool,
    uint16 (16-bit), other integers in 0..255 or floats in [0, 1]; other
    shapes, dtypes or ranges raise ValueError.
    """
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
    return Pixels(np.ascontiguousarray(u).reshape(h * w, c), h, w, c == 4)


def read_pixels(image, *, frames="first", max_pixels=PILLOW_LIMIT, draft_side=None) -> Pixels:
    """Read the pixels of a path, Pillow image or array.

    The parameters are those of :func:`load_image`, not validated here. An
    empty image raises ValueError. ``draft_side``: a JPEG file is decoded at
    the smallest of 1/2, 1/4 or 1/8 size that keeps at least this many pixels
    per side (Pillow's draft mode; other formats ignore it).
    """
    Image, _, _ = pillow_modules()
    if isinstance(image, (str, os.PathLike)):
        name = os.fspath(image)
        if os.path.isdir(name):
            raise ValueError(f"{name} is a folder; pass an image file.")
        img = open_image_file(name, max_pixels)
        with img:
            if draft_side is not None:
                try:
                    img.draft(None, (draft_side, draft_side))
                except Exception:  # pragma: no cover - other formats ignore draft
                    pass
            pix = decode_pil(img, name, frames, max_pixels)
    elif isinstance(image, Image.Image):
        pix = decode_pil(image, "image", frames, max_pixels)
    elif isinstance(image, np.ndarray) or hasattr(image, "__array__"):
        pix = pixels_from_array(np.asarray(image))
    else:
        raise ValueError(f"image must be a path, a PIL image or an array, got {type(image).__name__}.")
    if pix.px.shape[0] == 0:
        raise ValueError(f"the image is empty ({pix.width} x {pix.height} pixels); pass an image "
                         "with at least one pixel.")
    return pix


def load_image(image, *, frames: str = "first", max_pixels=PILLOW_LIMIT) -> np.ndarray:
    """Read an image as 8-bit sRGB(A) pixels the way this package sees them.

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
    >>> import numpy as np
    >>> load_image(np.zeros((2, 3), dtype=np.uint8)).shape
    (2, 3, 3)
    """
    validate_params(dict(frames=frames, max_pixels=max_pixels), LOAD_CONSTRAINTS, "load_image")
    pix = read_pixels(image, frames=frames, max_pixels=max_pixels)
    c = pix.px.shape[1]
    return pix.px.reshape(-1, pix.width, c)


#: File suffixes read as images when a folder is given (``image_files``, the CLI).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm",
                            ".pgm", ".pbm", ".tga", ".ico", ".jfif"})


def image_files(items, *, recursive: bool = True) -> list:
    """``items`` with every folder replaced by the image files in it (and in
    its sub-folders with ``recursive``), sorted by path, by suffix
    (:data:`IMAGE_SUFFIXES`); other items (files, arrays, Pillow images)
    are kept as given. As the CLI's ``colors`` and ``search-images`` read
    folders.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "sub").mkdir()
    >>> for name in ("b.png", "a.JPG", "notes.txt", "sub/c.gif"):
    ...     _ = (d / name).write_bytes(b"")
    >>> [p.relative_to(d).as_posix() for p in image_files([d])]
    ['a.JPG', 'b.png', 'sub/c.gif']
    >>> [p.name for p in image_files([d], recursive=False)]
    ['a.JPG', 'b.png']
    """
    from pathlib import Path

    out = []
    for item in items:
        if isinstance(item, (str, os.PathLike)) and os.path.isdir(item):
            folder = Path(item)
            found = folder.rglob("*") if recursive else folder.iterdir()
            out.extend(sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            out.append(item)
    return out
