"""Palettes that minimise the mean CIEDE2000 error (Lab mode's refinement).

k-means in CIELAB minimises squared CIE76 differences, but a quantized image
is judged by the mean CIEDE2000 difference of each pixel to its palette
colour. This module minimises that objective directly,

    J(palette, labels) = sum_i w_i * CIEDE2000(x_i, palette[labels_i]),

over Lab points ``x_i`` (distinct colours or pooled colour boxes) with pixel
counts ``w_i``, by alternating (a k-medians scheme with a perceptual
distance):

1. assignment: each point takes the palette colour of smallest CIEDE2000
   (exact, all k colours compared; the first on ties);
2. update: per colour, up to ``WEISZFELD_STEPS`` Weiszfeld (IRLS) steps --
   the mean of its points weighted by ``w_i / max(CIEDE2000_i, eps)`` -- each
   kept only if it lowers that colour's share of J;
3. an empty colour moves to the point of largest ``w_i * CIEDE2000_i``.

Every step can only lower J, so J never increases. It stops when no point
changes colour and no colour moves, when a round lowers J by at most
``tol`` (relative), or after ``max_rounds`` rounds. Finally each colour is
rounded to 8-bit sRGB (what a quantized image can show) and the best of the
27 code values around it (each channel -1, 0, +1) for its points is kept.

Rows are independent in the parallel kernels and all sums are serial, so the
result does not depend on the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import color as _C

#: Most assignment + update rounds.
MAX_ROUNDS = 20
#: Stop when a round lowers the objective by at most this fraction.
TOL = 1e-4
#: Weiszfeld steps per round (each one kept only if it helps).
WEISZFELD_STEPS = 3
#: Floor of the CIEDE2000 in the Weiszfeld weights (a point on the centre).
WEISZFELD_EPS = 1e-3

_OFFSETS = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])
_OFFSETS = _OFFSETS[np.argsort(np.abs(_OFFSETS).sum(axis=1), kind="stable")]  # (0, 0, 0) first


def nearest(lab: np.ndarray, centers: np.ndarray):
    """Index and CIEDE2000 of the nearest centre of each Lab row."""
    lab = np.ascontiguousarray(lab, dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    labels = np.empty(lab.shape[0], dtype=np.int32)
    dist = np.empty(lab.shape[0])
    _C.pick(_C.ciede2000_nearest, lab.shape[0])(lab, centers, labels, dist)
    return labels, dist


def _to_assigned(lab, centers, labels, dist):
    _C.pick(_C.ciede2000_assigned, lab.shape[0])(lab, centers, labels, dist)


def _costs(w, labels, dist, k):
    cost = np.empty(k)
    _C.cluster_costs(w, labels, dist, cost)
    return cost


@dataclass
class Refined:
    centers: np.ndarray  # (k, 3) Lab
    labels: np.ndarray  # (n,) int32
    dist: np.ndarray  # (n,) CIEDE2000 of each point to its centre
    history: list  # J after the first assignment and after every round
    n_rounds: int


def _relocate_empty(lab, w, centers, labels, dist):
    """Move each empty centre onto the point of largest w * dist (in index
    order; that point then costs 0, so J drops)."""
    k = centers.shape[0]
    sizes = np.bincount(labels, minlength=k)
    for j in np.flatnonzero(sizes == 0):
        contrib = w * dist
        i = int(np.argmax(contrib))
        if contrib[i] <= 0.0:
            break
        sizes[labels[i]] -= 1
        centers[j] = lab[i]
        labels[i] = j
        dist[i] = 0.0


def refine(lab, w, centers, *, max_rounds: int = MAX_ROUNDS, tol: float = TOL,
           steps: int = WEISZFELD_STEPS) -> Refined:
    """Lower ``sum w * CIEDE2000(lab, centers[labels])`` from ``centers``
    (continuous Lab; see the module docstring)."""
    lab = np.ascontiguousarray(lab, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    C = np.array(centers, dtype=np.float64, order="C", copy=True)
    k = C.shape[0]
    labels, dist = nearest(lab, C)
    _relocate_empty(lab, w, C, labels, dist)
    obj = float(w @ dist)
    history = [obj]
    d2 = np.empty_like(dist)
    den = np.empty(k)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        cost = _costs(w, labels, dist, k)
        moved = False
        for _ in range(steps):
            P = C.copy()
            _C.weiszfeld_means(lab, w, labels, dist, WEISZFELD_EPS, P, den)
            _to_assigned(lab, P, labels, d2)
            pc = _costs(w, labels, d2, k)
            accept = (pc < cost) & (den > 0.0)
            if not accept.any():
                break
            moved = True
            C[accept] = P[accept]
            cost[accept] = pc[accept]
            rows = accept[labels]
            dist[rows] = d2[rows]
        new_labels, new_dist = nearest(lab, C)
        _relocate_empty(lab, w, C, new_labels, new_dist)
        changed = bool((new_labels != labels).any())
        labels, dist = new_labels, new_dist
        new_obj = float(w @ dist)
        history.append(new_obj)
        if (not changed and not moved) or obj - new_obj <= tol * obj:
            break
        obj = new_obj
    return Refined(C, labels, dist, history, rounds)


def snap_to_srgb8(lab, w, labels, centers) -> np.ndarray:
    """8-bit sRGB colours for ``centers``: per centre, of the 27 code values
    around its rounded sRGB colour, the one of lowest ``sum w * CIEDE2000``
    over its points (the rounded colour itself on ties). Returns (k, 3)
    uint8."""
    from .image import lab_to_srgb, srgb_to_lab

    lab = np.ascontiguousarray(lab, dtype=np.float64)
    k = centers.shape[0]
    base = lab_to_srgb(centers, as_uint8=True).astype(np.int64)
    best = base.copy()
    best_cost = np.full(k, np.inf)
    dist = np.empty(lab.shape[0])
    for off in _OFFSETS:
        cand = np.clip(base + off, 0, 255).astype(np.uint8)
        _to_assigned(lab, srgb_to_lab(cand), labels, dist)
        cost = _costs(w, labels, dist, k)
        better = cost < best_cost
        best[better] = cand[better]
        best_cost[better] = cost[better]
    return best.astype(np.uint8)
