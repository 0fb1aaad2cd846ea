"""Colour spaces: sRGB <-> CIELAB (D65) conversions, DIN99o, CIEDE2000.

The arithmetic lives in numba kernels (:mod:`kmeanskit._kernels.color`):
sRGB -> linear through the exact 256-entry table for 8-bit input, the
IEC 61966-2-1 matrix to XYZ, the CIE formulas to Lab, and back; 8-bit colours
round-trip exactly. This module holds the public, vectorised conversions and
the helpers that move clustering centres between the three clustering spaces
("lab", "rgb" and "din99o"), and rounds CIEDE2000 palettes to 8-bit colours.
"""

from __future__ import annotations

import numpy as np

from .._kernels import color as _C

__all__ = ["srgb_to_lab", "lab_to_srgb", "delta_e_ciede2000"]

#: Clustering spaces of :func:`kmeanskit.image.dominant_colors`.
SPACES = ("lab", "rgb", "din99o")
#: The kernels' code of each space (Floyd-Steinberg dithering; 3 is CIEDE2000).
SPACE_CODE = {"rgb": 0, "lab": 1, "din99o": 2}
#: Refinements of the palette: "auto" is "ciede2000" in Lab, None elsewhere.
REFINES = ("auto", "ciede2000", None)

# The 27 sRGB code-value offsets (each channel -1, 0, +1) tried around a
# rounded colour by ``snap_to_srgb8``, fewest changed channels first, so that
# (0, 0, 0) comes first and wins ties.
_OFFSETS = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])
_OFFSETS = _OFFSETS[np.argsort(np.abs(_OFFSETS).sum(axis=1), kind="stable")]


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
    >>> import numpy as np
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
        L*, a*, b*.
    as_uint8 : bool
        Return rounded uint8 code values (clipped to the gamut) instead of
        floats in [0, 1] (not clipped: out-of-gamut colours fall outside).

    Returns
    -------
    ndarray of shape (..., 3)
        float64 in [0, 1] (for in-gamut colours), or uint8 with
        ``as_uint8=True``.

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

    Parameters
    ----------
    lab1, lab2 : array-like of shape (..., 3)
        CIELAB colours (broadcast against each other).

    Returns
    -------
    ndarray of shape (...), float64
        The difference of each pair.

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


# --- clustering spaces ---------------------------------------------------------

def resolve_metric(color_space: str, choice, name: str) -> str:
    """Return the labelling metric, "euclidean" or "ciede2000".

    ``choice`` is a ``refine`` (``name="refine"``) or ``metric`` value in
    ``color_space``; CIEDE2000 needs Lab (ValueError otherwise).
    """
    if choice == "auto":
        return "ciede2000" if color_space == "lab" else "euclidean"
    if choice is None or choice == "euclidean":
        return "euclidean"
    if color_space != "lab":
        raise ValueError(f"{name}='ciede2000' needs color_space='lab' (got {color_space!r}); "
                         f"use color_space='lab' or leave {name} at its default.")
    return "ciede2000"


def codes_to_space(codes: np.ndarray, space: str) -> np.ndarray:
    """Convert packed 24-bit colours to (m, 3) float64 points of ``space``.

    Colours are packed as ``r << 16 | g << 8 | b``; RGB points are 0-255 code
    values.
    """
    if space in ("lab", "din99o"):
        out = np.empty((codes.shape[0], 3))
        _C.pick(_C.codes_to_lab, out.shape[0])(codes, out)
        if space == "din99o":
            _C.pick(_C.lab_to_din99o, out.shape[0])(out, out)
        return out
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=1).astype(np.float64)


def lab_to_space(lab: np.ndarray, rgb: np.ndarray, space: str) -> np.ndarray:
    """Return colours given both in Lab and as 8-bit ``rgb`` as points of ``space``."""
    if space == "lab":
        return lab.copy()
    if space == "din99o":
        out = np.ascontiguousarray(lab, dtype=np.float64).copy()
        _C.pick(_C.lab_to_din99o, out.shape[0])(out, out)
        return out
    return rgb.astype(np.float64)


def space_to_lab_and_rgb(centers: np.ndarray, space: str):
    """Return centres of ``space`` as (Lab float64, 8-bit sRGB clipped to the gamut)."""
    if space in ("lab", "din99o"):
        lab = np.ascontiguousarray(centers, dtype=np.float64).copy()
        if space == "din99o":
            _C.pick(_C.din99o_to_lab, lab.shape[0])(lab, lab)
        return lab, lab_to_srgb(lab, as_uint8=True)
    rgb = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    return srgb_to_lab(np.clip(centers, 0, 255) / 255.0), rgb


def snap_to_srgb8(lab, w, labels, centers) -> np.ndarray:
    """Round Lab palette colours to the 8-bit colours that serve their points best.

    Per centre, of the 27 code values around its rounded sRGB colour (each
    channel -1, 0, +1), the one of lowest ``sum w * CIEDE2000`` over the
    points labelled with it is kept (the rounded colour itself on ties).

    Parameters
    ----------
    lab : ndarray of shape (n, 3)
        Lab points.
    w : ndarray of shape (n,)
        Their weights (pixel counts).
    labels : ndarray of shape (n,), int32
        Index into ``centers`` of each point.
    centers : ndarray of shape (k, 3)
        Lab palette colours.

    Returns
    -------
    ndarray of shape (k, 3), uint8

    Examples
    --------
    >>> import numpy as np
    >>> lab = srgb_to_lab(np.array([[10, 200, 30], [12, 200, 30]], dtype=np.uint8))
    >>> snap_to_srgb8(lab, np.array([3.0, 1.0]), np.zeros(2, dtype=np.int32),
    ...               lab.mean(axis=0, keepdims=True)).tolist()
    [[10, 200, 30]]
    """
    lab = np.ascontiguousarray(lab, dtype=np.float64)
    k = centers.shape[0]
    base = lab_to_srgb(centers, as_uint8=True).astype(np.int64)
    best = base.copy()
    best_cost = np.full(k, np.inf)
    dist = np.empty(lab.shape[0])
    cost = np.empty(k)
    for off in _OFFSETS:
        cand = np.clip(base + off, 0, 255).astype(np.uint8)
        _C.pick(_C.ciede2000_assigned, lab.shape[0])(lab, srgb_to_lab(cand), labels, dist)
        _C.cluster_costs(w, labels, dist, cost)
        better = cost < best_cost
        best[better] = cand[better]
        best_cost[better] = cost[better]
    return best.astype(np.uint8)
