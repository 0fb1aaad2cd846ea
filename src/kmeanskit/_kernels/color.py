"""Colour kernels: sRGB <-> linear RGB <-> CIE XYZ <-> CIELAB (D65, 2 degree
observer), CIEDE2000, and the pixel passes of the image pipeline (colour
histogram, label lookup, palette painting, Floyd-Steinberg dithering).

All kernels are exact IEEE arithmetic (no fastmath): colour conversions must
round-trip. uint8 input goes through the 256-entry sRGB -> linear table,
which is exact (it is the formula evaluated once per code value).

Conventions: RGB rows are ``(n, 3)``; float sRGB is in [0, 1]; Lab rows are
``(n, 3)`` float64 (L in [0, 100]). Nothing here validates its input.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

_JIT = dict(nogil=True, cache=True)

#: linear RGB -> XYZ for sRGB primaries and D65 (IEC 61966-2-1, as tabulated
#: by B. Lindbloom). The reference white is the image of RGB white, so that
#: sRGB white maps to L* = 100, a* = b* = 0 exactly.
RGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
WHITE_D65 = RGB_TO_XYZ.sum(axis=1)  # (0.95047, 1.0000001, 1.08883)

_EPS = (6.0 / 29.0) ** 3  # CIE 216/24389
_KAPPA3 = 3.0 * (6.0 / 29.0) ** 2


def _srgb_to_linear_py(c):
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


#: sRGB code value (0..255) -> linear RGB, the exact formula tabulated.
SRGB8_TO_LINEAR = _srgb_to_linear_py(np.arange(256) / 255.0)


@njit(**_JIT)
def _f_lab(t):
    if t > _EPS:
        return np.cbrt(t)
    return t / _KAPPA3 + 4.0 / 29.0


@njit(**_JIT)
def _f_lab_inv(f):
    if f > 6.0 / 29.0:
        return f * f * f
    return _KAPPA3 * (f - 4.0 / 29.0)


@njit(**_JIT)
def _lin_to_lab(r, g, b):
    M = RGB_TO_XYZ
    W = WHITE_D65
    x = (M[0, 0] * r + M[0, 1] * g + M[0, 2] * b) / W[0]
    y = (M[1, 0] * r + M[1, 1] * g + M[1, 2] * b) / W[1]
    z = (M[2, 0] * r + M[2, 1] * g + M[2, 2] * b) / W[2]
    fx = _f_lab(x)
    fy = _f_lab(y)
    fz = _f_lab(z)
    return 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)


@njit(**_JIT)
def _linear_to_lab_1(r, g, b, out, i):
    L, A, B = _lin_to_lab(r, g, b)
    out[i, 0] = L
    out[i, 1] = A
    out[i, 2] = B


@njit(parallel=True, **_JIT)
def srgb8_to_lab(rgb, out):
    """uint8 sRGB rows (n, >=3; extra channels ignored) -> Lab into ``out``."""
    lut = SRGB8_TO_LINEAR
    for i in prange(rgb.shape[0]):
        _linear_to_lab_1(lut[rgb[i, 0]], lut[rgb[i, 1]], lut[rgb[i, 2]], out, i)


@njit(parallel=True, **_JIT)
def codes_to_lab(codes, out):
    """Packed 24-bit colours (r << 16 | g << 8 | b) -> Lab into ``out``."""
    lut = SRGB8_TO_LINEAR
    for i in prange(codes.shape[0]):
        c = codes[i]
        _linear_to_lab_1(lut[(c >> 16) & 255], lut[(c >> 8) & 255], lut[c & 255], out, i)


@njit(parallel=True, **_JIT)
def linear_to_lab(lin, out):
    """Linear RGB rows (float) -> Lab into ``out``."""
    for i in prange(lin.shape[0]):
        _linear_to_lab_1(np.float64(lin[i, 0]), np.float64(lin[i, 1]), np.float64(lin[i, 2]),
                         out, i)


@njit(parallel=True, **_JIT)
def lab_to_linear(lab, out):
    """Lab rows -> linear RGB into ``out`` (not clipped: out-of-gamut colours
    give values outside [0, 1])."""
    M = XYZ_TO_RGB
    W = WHITE_D65
    for i in prange(lab.shape[0]):
        fy = (lab[i, 0] + 16.0) / 116.0
        fx = fy + lab[i, 1] / 500.0
        fz = fy - lab[i, 2] / 200.0
        x = _f_lab_inv(fx) * W[0]
        y = _f_lab_inv(fy) * W[1]
        z = _f_lab_inv(fz) * W[2]
        for c in range(3):
            out[i, c] = M[c, 0] * x + M[c, 1] * y + M[c, 2] * z


@njit(parallel=True, **_JIT)
def srgb_to_linear(x, out):
    """Element-wise sRGB transfer function inverse (float, any shape flattened)."""
    xf = x.ravel()
    of = out.ravel()
    for i in prange(xf.shape[0]):
        c = np.float64(xf[i])
        if c <= 0.04045:
            of[i] = c / 12.92
        else:
            of[i] = ((c + 0.055) / 1.055) ** 2.4


@njit(parallel=True, **_JIT)
def linear_to_srgb(x, out):
    """Element-wise sRGB transfer function (float; negative values keep the
    linear segment, so the map stays monotone and invertible)."""
    xf = x.ravel()
    of = out.ravel()
    for i in prange(xf.shape[0]):
        c = np.float64(xf[i])
        if c <= 0.0031308:
            of[i] = 12.92 * c
        else:
            of[i] = 1.055 * c ** (1.0 / 2.4) - 0.055


# DIN99o (DIN 6176; Cui, Luo, Rigg, Roesler & Witt 2002): a logarithmic
# compression of CIELAB whose Euclidean distance approximates CIEDE2000.
_D99_COS = math.cos(math.radians(26.0))
_D99_SIN = math.sin(math.radians(26.0))


@njit(**_JIT)
def _lab_to_din(L, a, b):
    L99 = 303.67 * math.log1p(0.0039 * L)
    eo = a * _D99_COS + b * _D99_SIN
    fo = 0.83 * (-a * _D99_SIN + b * _D99_COS)
    G = math.hypot(eo, fo)
    C99 = math.log1p(0.075 * G) / 0.0435
    if G == 0.0:
        return L99, 0.0, 0.0
    # rotate (eo, fo) back by 26 degrees: h99 = atan2(fo, eo) + 26 deg
    ca = (eo * _D99_COS - fo * _D99_SIN) / G
    sa = (eo * _D99_SIN + fo * _D99_COS) / G
    return L99, C99 * ca, C99 * sa


@njit(**_JIT)
def _din_to_lab(L99, a99, b99):
    L = math.expm1(L99 / 303.67) / 0.0039
    C99 = math.hypot(a99, b99)
    if C99 == 0.0:
        return L, 0.0, 0.0
    G = math.expm1(0.0435 * C99) / 0.075
    ch = a99 / C99
    sh = b99 / C99
    eo = G * (ch * _D99_COS + sh * _D99_SIN)
    fo = G * (-ch * _D99_SIN + sh * _D99_COS) / 0.83
    return L, eo * _D99_COS - fo * _D99_SIN, eo * _D99_SIN + fo * _D99_COS


@njit(parallel=True, **_JIT)
def lab_to_din99o(lab, out):
    """CIELAB rows -> DIN99o rows into ``out`` (may be ``lab`` itself)."""
    for i in prange(lab.shape[0]):
        L, A, B = _lab_to_din(lab[i, 0], lab[i, 1], lab[i, 2])
        out[i, 0] = L
        out[i, 1] = A
        out[i, 2] = B


@njit(parallel=True, **_JIT)
def din99o_to_lab(din, out):
    """DIN99o rows -> CIELAB rows into ``out`` (may be ``din`` itself)."""
    for i in prange(din.shape[0]):
        L, A, B = _din_to_lab(din[i, 0], din[i, 1], din[i, 2])
        out[i, 0] = L
        out[i, 1] = A
        out[i, 2] = B


_C30 = math.cos(math.radians(30.0))
_S30 = math.sin(math.radians(30.0))
_C6 = math.cos(math.radians(6.0))
_S6 = math.sin(math.radians(6.0))
_C63 = math.cos(math.radians(63.0))
_S63 = math.sin(math.radians(63.0))
_P25_7 = 6103515625.0  # 25**7


@njit(**_JIT)
def _hue_deg(a, b):
    """Hue angle in degrees in [0, 360) (0 for a neutral colour)."""
    if a == 0.0 and b == 0.0:
        return 0.0
    return math.degrees(math.atan2(b, a)) % 360.0


@njit(**_JIT)
def _ciede2000_1(L1, a1, b1, L2, a2, b2):
    """CIEDE2000 colour difference (kL = kC = kH = 1), following Sharma, Wu
    and Dalal (2005), equations (1)-(23).

    Written with unit hue vectors instead of hue angles where that is the
    same quantity, to save transcendental calls: with ``u1``, ``u2`` the unit
    vectors of the two (a', b) hues, 2 sin(dh'/2) = |u1 - u2| (signed like
    the cross product), and the mean hue h' (the bisector of the smaller arc,
    eq. 14) is the direction of u1 + u2; its cosines for T (eq. 15) follow
    from cos h', sin h' by multiple-angle formulas. Only exactly opposite hues
    (u1 + u2 = 0, where eq. 14 is discontinuous) take the angles of eq. 14.
    """
    C1 = math.sqrt(a1 * a1 + b1 * b1)
    C2 = math.sqrt(a2 * a2 + b2 * b2)
    Cb = 0.5 * (C1 + C2)
    Cb2 = Cb * Cb
    Cb7 = Cb2 * Cb2 * Cb2 * Cb
    G = 0.5 * (1.0 - math.sqrt(Cb7 / (Cb7 + _P25_7)))
    a1p = (1.0 + G) * a1
    a2p = (1.0 + G) * a2
    C1p = math.sqrt(a1p * a1p + b1 * b1)
    C2p = math.sqrt(a2p * a2p + b2 * b2)
    dLp = L2 - L1
    dCp = C2p - C1p
    prod = C1p * C2p
    if prod == 0.0:
        dHp = 0.0
        if C1p != 0.0:  # eq. 14 with the neutral colour's hue 0: the other hue
            ch = a1p / C1p
            sh = b1 / C1p
        elif C2p != 0.0:
            ch = a2p / C2p
            sh = b2 / C2p
        else:
            ch = 1.0
            sh = 0.0
    else:
        x1 = a1p / C1p
        y1 = b1 / C1p
        x2 = a2p / C2p
        y2 = b2 / C2p
        dx = x2 - x1
        dy = y2 - y1
        chord = math.sqrt(dx * dx + dy * dy)  # 2 |sin(dh'/2)|
        cross = x1 * y2 - y1 * x2
        dHp = math.sqrt(prod) * (chord if cross >= 0.0 else -chord)
        sx = x1 + x2
        sy = y1 + y2
        norm = math.sqrt(sx * sx + sy * sy)
        if norm > 1e-9:
            ch = sx / norm
            sh = sy / norm
        else:  # (almost) opposite hues: eq. 14 on the angles
            h1p = _hue_deg(a1p, b1)
            h2p = _hue_deg(a2p, b2)
            if abs(h1p - h2p) <= 180.0:
                hb = 0.5 * (h1p + h2p)
            elif h1p + h2p < 360.0:
                hb = 0.5 * (h1p + h2p + 360.0)
            else:
                hb = 0.5 * (h1p + h2p - 360.0)
            ch = math.cos(math.radians(hb))
            sh = math.sin(math.radians(hb))
            dh = h2p - h1p
            if dh > 180.0:
                dh -= 360.0
            elif dh < -180.0:
                dh += 360.0
            dHp = 2.0 * math.sqrt(prod) * math.sin(math.radians(dh) / 2.0)
    hbp = math.degrees(math.atan2(sh, ch))
    if hbp < 0.0:
        hbp += 360.0
    c2 = ch * ch - sh * sh
    s2 = 2.0 * sh * ch
    c3 = ch * (4.0 * ch * ch - 3.0)
    s3 = sh * (3.0 - 4.0 * sh * sh)
    c4 = c2 * c2 - s2 * s2
    s4 = 2.0 * s2 * c2
    T = (1.0 - 0.17 * (ch * _C30 + sh * _S30)
         + 0.24 * c2
         + 0.32 * (c3 * _C6 - s3 * _S6)
         - 0.20 * (c4 * _C63 + s4 * _S63))
    q = (hbp - 275.0) / 25.0
    dtheta = 30.0 * math.exp(-(q * q))
    Lbp = 0.5 * (L1 + L2)
    Cbp = 0.5 * (C1p + C2p)
    Cbp2 = Cbp * Cbp
    Cbp7 = Cbp2 * Cbp2 * Cbp2 * Cbp
    RC = 2.0 * math.sqrt(Cbp7 / (Cbp7 + _P25_7))
    l50 = (Lbp - 50.0) ** 2
    SL = 1.0 + 0.015 * l50 / math.sqrt(20.0 + l50)
    SC = 1.0 + 0.045 * Cbp
    SH = 1.0 + 0.015 * Cbp * T
    RT = -math.sin(math.radians(2.0 * dtheta)) * RC
    tl = dLp / SL
    tc = dCp / SC
    th = dHp / SH
    return math.sqrt(max(tl * tl + tc * tc + th * th + RT * tc * th, 0.0))


@njit(parallel=True, **_JIT)
def ciede2000(lab1, lab2, out):
    """Row-wise CIEDE2000 between Lab rows ``lab1`` and ``lab2`` into ``out``."""
    for i in prange(out.shape[0]):
        out[i] = _ciede2000_1(np.float64(lab1[i, 0]), np.float64(lab1[i, 1]),
                              np.float64(lab1[i, 2]), np.float64(lab2[i, 0]),
                              np.float64(lab2[i, 1]), np.float64(lab2[i, 2]))


@njit(**_JIT)
def _ciede2000_lightness_bound(L1, L2):
    """|dL'| / S_L, a lower bound of CIEDE2000: its other terms add
    t_C^2 + t_H^2 + R_T t_C t_H >= (1 - |R_T| / 2)(t_C^2 + t_H^2) >= 0, as
    |R_T| <= 2 sin 60 deg < 2."""
    l50 = (0.5 * (L1 + L2) - 50.0) ** 2
    return abs(L2 - L1) / (1.0 + 0.015 * l50 / math.sqrt(20.0 + l50))


@njit(parallel=True, **_JIT)
def ciede2000_nearest(lab, centers, labels, dist):
    """For each Lab row, the centre of smallest CIEDE2000 (the first on ties)
    into ``labels`` and that difference into ``dist``. Exact: the centre
    nearest in CIE76 is tried first, and another is skipped only when the
    lightness lower bound already reaches the best difference so far. Rows
    are independent, so the result does not depend on the thread count."""
    k = centers.shape[0]
    for i in prange(lab.shape[0]):
        L = np.float64(lab[i, 0])
        A = np.float64(lab[i, 1])
        B = np.float64(lab[i, 2])
        first = 0
        be = np.inf
        for j in range(k):
            e0 = L - centers[j, 0]
            e1 = A - centers[j, 1]
            e2 = B - centers[j, 2]
            e = e0 * e0 + e1 * e1 + e2 * e2
            if e < be:
                be = e
                first = j
        best = first
        bd = _ciede2000_1(L, A, B, centers[first, 0], centers[first, 1], centers[first, 2])
        for j in range(k):
            # (the margin keeps rounding in the bound from skipping a true minimum)
            if j == first or _ciede2000_lightness_bound(L, centers[j, 0]) > bd * (1.0 + 1e-12):
                continue
            d = _ciede2000_1(L, A, B, centers[j, 0], centers[j, 1], centers[j, 2])
            if d < bd or (d == bd and j < best):
                bd = d
                best = j
        labels[i] = best
        dist[i] = bd


@njit(parallel=True, **_JIT)
def ciede2000_assigned(lab, centers, labels, dist):
    """CIEDE2000 of each Lab row to its own centre ``centers[labels[i]]``."""
    for i in prange(lab.shape[0]):
        j = labels[i]
        dist[i] = _ciede2000_1(np.float64(lab[i, 0]), np.float64(lab[i, 1]),
                               np.float64(lab[i, 2]), centers[j, 0], centers[j, 1], centers[j, 2])


@njit(**_JIT)
def cluster_costs(w, labels, dist, cost):
    """``cost[j] = sum of w[i] * dist[i] over rows labelled j`` (serial, fixed
    order; ``cost`` zeroed here)."""
    cost[:] = 0.0
    for i in range(w.shape[0]):
        cost[labels[i]] += w[i] * dist[i]


@njit(**_JIT)
def weiszfeld_means(lab, w, labels, dist, eps, out, den):
    """One Weiszfeld (IRLS) step per cluster: the mean of its rows weighted by
    ``w / max(dist, eps)``, into ``out`` (k, 3); ``den`` gets the weight sums
    (0 for an empty cluster, whose row of ``out`` is left as it was).
    Serial, fixed order."""
    k = out.shape[0]
    num = np.zeros((k, 3))
    den[:] = 0.0
    for i in range(w.shape[0]):
        j = labels[i]
        q = w[i] / max(dist[i], eps)
        den[j] += q
        for f in range(3):
            num[j, f] += q * lab[i, f]
    for j in range(k):
        if den[j] > 0.0:
            for f in range(3):
                out[j, f] = num[j, f] / den[j]


# --- pixel passes ------------------------------------------------------------

N_CODES = 1 << 24


@njit(**_JIT)
def rgb_histogram(px, alpha_ch, min_alpha, counts, codes):
    """Count each 24-bit colour (r << 16 | g << 8 | b) of the uint8 pixel
    rows ``px`` (n, c) into ``counts`` (2**24, all zero on entry) and list
    each new colour in ``codes`` (capacity n) in order of first appearance.
    Rows whose channel ``alpha_ch`` is below ``min_alpha`` are skipped
    (``alpha_ch < 0``: none). Serial, so exact and thread-independent.
    Returns (pixels counted, distinct colours)."""
    n = px.shape[0]
    used = 0
    m = 0
    for i in range(n):
        if alpha_ch >= 0 and px[i, alpha_ch] < min_alpha:
            continue
        c = (np.int64(px[i, 0]) << 16) | (np.int64(px[i, 1]) << 8) | np.int64(px[i, 2])
        if counts[c] == 0:
            codes[m] = c
            m += 1
        counts[c] += 1
        used += 1
    return used, m


@njit(parallel=True, **_JIT)
def gather_clear(counts, codes, w):
    """``w[i] = counts[codes[i]]`` and reset those entries to zero."""
    for i in prange(codes.shape[0]):
        c = codes[i]
        w[i] = counts[c]
        counts[c] = 0


@njit(**_JIT)
def bin_means(codes, feat, w, bits):
    """Weighted means of ``feat`` over the RGB boxes given by the top
    ``bits`` bits of each channel of ``codes``. Serial, fixed order. Returns
    (means, weights, within-box weighted scatter)."""
    shift = 8 - bits
    nb = 1 << (3 * bits)
    d = feat.shape[1]
    sums = np.zeros((nb, d))
    ws = np.zeros(nb)
    box = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        r = ((c >> 16) & 255) >> shift
        g = ((c >> 8) & 255) >> shift
        b = (c & 255) >> shift
        j = (r << (2 * bits)) | (g << bits) | b
        box[i] = j
        ws[j] += w[i]
        for f in range(d):
            sums[j, f] += w[i] * feat[i, f]
    m = 0
    for j in range(nb):
        if ws[j] > 0:
            m += 1
    means = np.empty((m, d))
    mw = np.empty(m)
    index = np.full(nb, -1, dtype=np.int64)
    t = 0
    for j in range(nb):
        if ws[j] > 0:
            index[j] = t
            mw[t] = ws[j]
            for f in range(d):
                means[t, f] = sums[j, f] / ws[j]
            t += 1
    scatter = 0.0
    for i in range(codes.shape[0]):
        t = index[box[i]]
        acc = 0.0
        for f in range(d):
            q = feat[i, f] - means[t, f]
            acc += q * q
        scatter += w[i] * acc
    return means, mw, scatter


@njit(parallel=True, **_JIT)
def pixel_labels(px, alpha_ch, min_alpha, table, out):
    """Label of every pixel by table lookup on its 24-bit colour; -1 where
    the pixel's alpha is below ``min_alpha`` (``alpha_ch < 0``: never)."""
    for i in prange(px.shape[0]):
        if alpha_ch >= 0 and px[i, alpha_ch] < min_alpha:
            out[i] = -1
        else:
            c = (np.int64(px[i, 0]) << 16) | (np.int64(px[i, 1]) << 8) | np.int64(px[i, 2])
            out[i] = table[c]


@njit(parallel=True, **_JIT)
def paint(px, labels, colors, out):
    """``out[i, :3] = colors[labels[i]]`` (keep the pixel where label < 0);
    extra channels (alpha) are copied from ``px``."""
    c = px.shape[1]
    for i in prange(px.shape[0]):
        j = labels[i]
        if j >= 0:
            out[i, 0] = colors[j, 0]
            out[i, 1] = colors[j, 1]
            out[i, 2] = colors[j, 2]
        else:
            out[i, 0] = px[i, 0]
            out[i, 1] = px[i, 1]
            out[i, 2] = px[i, 2]
        for f in range(3, c):
            out[i, f] = px[i, f]


@njit(**_JIT)
def floyd_steinberg(px, h, w, space, centers, out):
    """Floyd-Steinberg error diffusion in the clustering space.

    Each uint8 sRGB pixel of ``px`` (h*w, >=3) is taken to the clustering
    space (``space``: 0 RGB 0-255 values, 1 Lab, 2 DIN99o, 3 Lab with the
    nearest centre by CIEDE2000 instead of Euclidean distance); left to right, top to bottom, the
    pixel plus the error diffused to it takes its nearest centre and passes
    on 7/16, 3/16, 5/16 and 1/16 of the remaining error. Serial by nature
    (each pixel depends on the previous ones), so deterministic.
    """
    k = centers.shape[0]
    lut = SRGB8_TO_LINEAR
    err = np.zeros((2, w + 2, 3))
    for y in range(h):
        cur = y & 1
        nxt = 1 - cur
        for x in range(w + 2):
            for f in range(3):
                err[nxt, x, f] = 0.0
        for x in range(w):
            i = y * w + x
            if space >= 1:
                f0, f1, f2 = _lin_to_lab(lut[px[i, 0]], lut[px[i, 1]], lut[px[i, 2]])
                if space == 2:
                    f0, f1, f2 = _lab_to_din(f0, f1, f2)
            else:
                f0 = np.float64(px[i, 0])
                f1 = np.float64(px[i, 1])
                f2 = np.float64(px[i, 2])
            v0 = f0 + err[cur, x + 1, 0]
            v1 = f1 + err[cur, x + 1, 1]
            v2 = f2 + err[cur, x + 1, 2]
            best = 0
            bd = np.inf
            for j in range(k):
                if space == 3:
                    dd = _ciede2000_1(v0, v1, v2, centers[j, 0], centers[j, 1], centers[j, 2])
                else:
                    d0 = v0 - centers[j, 0]
                    d1 = v1 - centers[j, 1]
                    d2 = v2 - centers[j, 2]
                    dd = d0 * d0 + d1 * d1 + d2 * d2
                if dd < bd:
                    bd = dd
                    best = j
            out[i] = best
            e0 = v0 - centers[best, 0]
            e1 = v1 - centers[best, 1]
            e2 = v2 - centers[best, 2]
            err[cur, x + 2, 0] += e0 * 0.4375
            err[cur, x + 2, 1] += e1 * 0.4375
            err[cur, x + 2, 2] += e2 * 0.4375
            err[nxt, x, 0] += e0 * 0.1875
            err[nxt, x, 1] += e1 * 0.1875
            err[nxt, x, 2] += e2 * 0.1875
            err[nxt, x + 1, 0] += e0 * 0.3125
            err[nxt, x + 1, 1] += e1 * 0.3125
            err[nxt, x + 1, 2] += e2 * 0.3125
            err[nxt, x + 2, 0] += e0 * 0.0625
            err[nxt, x + 2, 1] += e1 * 0.0625
            err[nxt, x + 2, 2] += e2 * 0.0625


@njit(parallel=True, **_JIT)
def pixel_errors(a, b, out_de, out_sq):
    """Per pixel between two uint8 sRGB images (n, >=3): CIEDE2000 (via Lab)
    and the squared RGB error summed over the three channels."""
    lut = SRGB8_TO_LINEAR
    for i in prange(a.shape[0]):
        L1, A1, B1 = _lin_to_lab(lut[a[i, 0]], lut[a[i, 1]], lut[a[i, 2]])
        L2, A2, B2 = _lin_to_lab(lut[b[i, 0]], lut[b[i, 1]], lut[b[i, 2]])
        out_de[i] = _ciede2000_1(L1, A1, B1, L2, A2, B2)
        s = 0.0
        for c in range(3):
            t = np.float64(a[i, c]) - np.float64(b[i, c])
            s += t * t
        out_sq[i] = s


#: Below this many rows the conversions run serially: a parallel launch costs
#: more than converting a palette or a few thousand colours.
SERIAL_MAX_ROWS = 1 << 14

def pick(kernel, n_rows):
    """``kernel`` itself for large inputs; for small ones, a call of it on one
    thread (same arithmetic, same results): a parallel launch costs far more
    than converting a palette, above all on a busy machine."""
    if n_rows >= SERIAL_MAX_ROWS:
        return kernel

    def one_thread(*args):
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(old)

    return one_thread
