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
``tol`` (relative), or after ``max_rounds`` rounds. These are a step
(:class:`CiedeStep`) and a rule (``_solver.RelativeDecrease``) of the
solver's one loop. (The image package then rounds each colour to the best
nearby 8-bit sRGB value.)

Rows are independent in the parallel kernels and all sums are serial, so the
result does not depend on the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _solver
from ._kernels import color as _C
from ._solver import ArraySource, PassResult, RelativeDecrease, Step, relocate_empty

#: Most assignment + update rounds.
MAX_ROUNDS = 20
#: Stop when a round lowers the objective by at most this fraction.
TOL = 1e-4
#: Weiszfeld steps per round (each one kept only if it helps).
WEISZFELD_STEPS = 3
#: Floor of the CIEDE2000 in the Weiszfeld weights (a point on the centre).
WEISZFELD_EPS = 1e-3

def nearest(lab: np.ndarray, centers: np.ndarray):
    """Index and CIEDE2000 of the nearest centre of each Lab row."""
    lab = np.ascontiguousarray(lab, dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    labels = np.empty(lab.shape[0], dtype=np.int32)
    dist = np.empty(lab.shape[0])
    _C.pick(_C.ciede2000_nearest, lab.shape[0])(lab, centers, labels, dist)
    return labels, dist


def to_assigned(lab, centers, labels, dist):
    """``dist[i]``: CIEDE2000 of Lab row i to ``centers[labels[i]]``."""
    _C.pick(_C.ciede2000_assigned, lab.shape[0])(lab, centers, labels, dist)


def costs(w, labels, dist, k):
    """Each centre's share ``sum w * dist`` of the objective."""
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


class CiedeStep(Step):
    """Assignment by exact CIEDE2000 (all k colours compared, the first on
    ties; an empty colour then moves onto the point of largest
    ``w * CIEDE2000``), update by Weiszfeld steps each kept only where it
    lowers that colour's share of J."""

    objective_name = "objective"

    def __init__(self, lab, w, k, steps=WEISZFELD_STEPS):
        super().__init__(ArraySource(lab, w, k, buffers=False), labels_dtype=np.int32)
        self.lab = lab
        self.w = w
        self.steps = steps

    def start(self, C):
        self.labels = None
        self.moved_any = False

    def assign(self, C, want_objective):
        old = self.labels
        self.labels, self.dist = nearest(self.lab, C)
        sizes = np.bincount(self.labels, minlength=self.k)
        empty = np.flatnonzero(sizes == 0)
        if empty.size:
            self.C = C  # relocation moves the centres themselves
            relocate_empty(self, empty, self.w * self.dist, "ignore")
        changed = old is None or bool((self.labels != old).any())
        return PassResult(changed, float(self.w @ self.dist))

    def take(self, row, j):
        self.C[j] = self.lab[row]
        self.labels[row] = j
        self.dist[row] = 0.0

    def update(self, C):
        lab, w, labels, dist, k = self.lab, self.w, self.labels, self.dist, self.k
        C = C.copy()
        cost = costs(w, labels, dist, k)
        d2 = np.empty_like(dist)
        den = np.empty(k)
        self.moved_any = False
        for _ in range(self.steps):
            P = C.copy()
            _C.weiszfeld_means(lab, w=w, labels=labels, dist=dist, eps=WEISZFELD_EPS, out=P,
                               den=den)
            to_assigned(lab, P, labels, d2)
            pc = costs(w, labels, d2, k)
            accept = (pc < cost) & (den > 0.0)
            if not accept.any():
                break
            self.moved_any = True
            C[accept] = P[accept]
            cost[accept] = pc[accept]
            rows = accept[labels]
            dist[rows] = d2[rows]
        return C

    def moved(self, C, C_new):
        pass


def refine(lab, w, centers, *, max_rounds: int = MAX_ROUNDS, tol: float = TOL,
           steps: int = WEISZFELD_STEPS) -> Refined:
    """Lower ``sum w * CIEDE2000(lab, centers[labels])`` from ``centers``
    (continuous Lab; see the module docstring)."""
    lab = np.ascontiguousarray(lab, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64)
    step = CiedeStep(lab, w, C.shape[0], steps)
    run = _solver.solve(step, C, RelativeDecrease(tol, max_rounds), max_rounds + 1)
    return Refined(run.centers, step.labels, step.dist, run.history, run.n_iter - 1)
