"""Clustering an image's colour histogram: k-means and the CIEDE2000 palette.

The cost follows the number of *distinct* colours, not of pixels: the exact
24-bit colour histogram is clustered with the pixel counts as sample weights,
which is k-means on all pixels. Above ``DIRECT_MAX_COLORS`` distinct colours
the histogram is first pooled into 32 x 32 x 32 RGB boxes (each box's
weighted mean colour, weighted by its pixel count), k-means with restarts
runs on those boxes, and Lloyd iterations on the full histogram (still exact,
weighted) start from the result, so the centres are a local optimum of the
all-pixels objective.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .. import _ciede
from .._kernels import color as _C
from .._solver import thread_context
from ..core import fit_arrays
from ..selection import kneedle
from .colour import codes_to_space, snap_to_srgb8, srgb_to_lab
from .decode import Pixels

__all__ = ["ElbowSweep"]

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
#: k chosen by ``k="auto"`` when Kneedle finds no knee.
AUTO_K_FALLBACK = 5
#: Up to this many distinct colours the CIEDE2000 refinement works on the
#: colours themselves; above, on their 32 x 32 x 32 RGB boxes (Lab means).
REFINE_DIRECT_MAX_COLORS = 1 << 12


# --- the colour histogram ------------------------------------------------------

@dataclass
class Hist:
    """Exact colour histogram of an image."""

    codes: np.ndarray  # (m,) int64 packed colours r << 16 | g << 8 | b, ascending
    w: np.ndarray  # (m,) float64 pixel counts
    n_pixels: int


_TLS = threading.local()


def code_table() -> np.ndarray:
    """Return this thread's (2**24,) uint32 table indexed by packed colour.

    It is all zero between uses and reused, so that its 64 MB are not
    page-faulted in again on every call: a user must zero the entries it set
    before returning.
    """
    t = getattr(_TLS, "table", None)
    if t is None:
        t = _TLS.table = np.zeros(_C.N_CODES, dtype=np.uint32)
    return t


def histogram(pix: Pixels, alpha_ch: int, min_alpha: int) -> Hist:
    """Count the distinct colours of the pixels (counts as float64 weights).

    Only pixels whose alpha (column ``alpha_ch``; -1: all pixels) is at least
    ``min_alpha`` are counted.
    """
    counts = code_table()
    codes = np.empty(min(pix.px.shape[0], _C.N_CODES), dtype=np.int64)
    try:
        used, m = _C.rgb_histogram(pix.px, alpha_ch, min_alpha, counts, codes)
    except BaseException:
        counts[:] = 0
        raise
    codes = np.sort(codes[:m])
    w = np.empty(m)
    _C.pick(_C.gather_clear, m)(counts, codes, w)
    return Hist(codes, w, int(used))


# --- k-means on the histogram --------------------------------------------------

@dataclass(frozen=True, eq=False)
class ElbowSweep:
    """Inertia of the best k-means fit for each k, and the chosen knee.

    The inertia is the pixel-weighted sum of squared distances in the
    clustering space (for large histograms, measured on the pooled RGB boxes
    plus their within-box scatter, an upper bound of the all-pixels value).

    Attributes
    ----------
    ks : ndarray of int
        The k values fitted (1, 2, ...).
    inertia : ndarray of float64
        Inertia of the best fit for each k.
    knee : int
        The chosen k.
    color_space : {"lab", "rgb", "din99o"}
        The clustering space.

    Examples
    --------
    >>> import numpy as np
    >>> sweep = ElbowSweep(np.arange(1, 5), np.array([9.0, 2.0, 1.5, 1.2]), 2)
    >>> sweep.knee, sweep.color_space
    (2, 'lab')
    """

    ks: np.ndarray
    inertia: np.ndarray
    knee: int
    color_space: str = "lab"

    def plot(self, ax=None):
        """Plot inertia against k with the knee marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (a new figure when None).

        Returns
        -------
        matplotlib Axes
        """
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


def knee_of_sweep(ks: np.ndarray, inertia: np.ndarray, m: int) -> int:
    """Choose the k of ``k="auto"`` from a sweep over ``ks`` = 1, 2, ...

    An image with at most ``ks[-1]`` distinct colours (``m``) that the sweep
    fits exactly gets the first k with (relatively) zero inertia; otherwise
    the knee of the decreasing convex curve by Kneedle (S = 1,
    :func:`kmeanskit.selection.kneedle`), or ``AUTO_K_FALLBACK`` when it finds
    none. Sweeps of one or two points give their last k.
    """
    if len(ks) <= 2:
        return int(ks[-1])
    exact = inertia <= 1e-12 * max(inertia[0], 1e-300)
    if exact[-1] and m <= ks[-1]:  # the image is flat-coloured
        return int(ks[np.flatnonzero(exact)[0]])
    found = kneedle(ks, inertia, S=1.0, curve="convex", direction="decreasing")
    if found.x is None:
        return int(min(AUTO_K_FALLBACK, ks[-1]))
    return int(found.x)


def cluster_histogram(feat, w, codes, k, *, space, n_init, max_iter, tol, rng, n_threads,
                      polish=True):
    """Cluster the weighted histogram; return (centers, labels, inertia, sweep).

    Fixed k: k-means++ with restarts on the histogram, or (above
    ``DIRECT_MAX_COLORS``) on its RGB boxes followed by a refinement on the
    full histogram. ``k="auto"``: the k = 1..10 sweep runs on the boxes as
    soon as there are more than ``AUTO_DIRECT_MAX_COLORS`` colours, and the
    chosen k is refined on the full histogram. ``polish=False`` skips that
    refinement (the caller refines otherwise); the labels are then those of
    the boxes.
    """
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
        fits = [fit_arrays(coarse, int(kk), cw, init="k-means++", n_init=n_init, rng=rng,
                           **on_coarse) for kk in ks]
        inertia = np.array([f.inertia for f in fits]) + scatter
        knee = knee_of_sweep(ks, inertia, m)
        sweep = ElbowSweep(ks, inertia, knee, space)
        first = fits[knee - 1]
        k = knee
    else:
        first = fit_arrays(coarse, k, cw, init="k-means++", n_init=n_init, rng=rng, **on_coarse)
    if binned and polish:
        res = fit_arrays(feat, k, w, init=first.centers, n_init=1, rng=None, **full)
    else:
        res = first
    return res.centers, res.labels, res.inertia, sweep


# --- Lab mode: the CIEDE2000 palette --------------------------------------------

def ciede2000_palette(hist: Hist, k, *, n_init, max_iter, tol, rng, n_threads):
    """Find Lab mode's palette, which minimises the mean CIEDE2000.

    Seeded by k-means in DIN99o, refined by :func:`kmeanskit._ciede.refine`
    and rounded to the best nearby 8-bit colours (:func:`snap_to_srgb8`).
    Returns (Lab centres of the 8-bit colours, labels and CIEDE2000 of every
    distinct colour, sweep).
    """
    lab = codes_to_space(hist.codes, "lab")
    din = np.empty_like(lab)
    _C.pick(_C.lab_to_din99o, din.shape[0])(lab, din)
    seed, _, _, sweep = cluster_histogram(din, hist.w, hist.codes, k, space="din99o",
                                          n_init=n_init, max_iter=max_iter, tol=tol, rng=rng,
                                          n_threads=n_threads, polish=False)
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
        rgb = snap_to_srgb8(work, ww, ref.labels, ref.centers)
        centers = srgb_to_lab(rgb)
        labels_d, dist = _ciede.nearest(lab, centers)
    return centers, labels_d, dist, sweep
