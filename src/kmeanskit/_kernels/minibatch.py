"""Mini-batch k-means: the per-centre learning-rate update of one step.

Each centre that received weight in the batch moves to the running mean of
everything it has received; the counts are updated in place, and the
centres whose count falls below ``ratio`` times the largest are counted (the
reassignment check), all in one call over k x d values. In NumPy the same
update took as long as the batch's Lloyd pass on small k x d (pixels: 0.3
ms a step each; docs/estimator.md).

Nothing here validates its input: the public entry points do that once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._config import FASTMATH

_JIT = dict(nogil=True, cache=True, fastmath=set(FASTMATH))


@njit(**_JIT)
def update_centres(C, counts, sums, wsums, ratio, out):
    """``out[j] = (counts[j] C[j] + sums[j]) / (counts[j] + wsums[j])`` (in
    float64, stored in out's dtype) for every centre with ``wsums[j] > 0``,
    ``out[j] = C[j]`` otherwise; ``counts += wsums``. Returns the number of
    centres whose new count is below ``ratio`` times the largest (0 when
    ``ratio`` <= 0)."""
    k, d = C.shape
    top = 0.0
    for j in range(k):
        wj = wsums[j]
        if wj > 0:
            old = counts[j]
            total = old + wj
            inv = 1.0 / total
            for f in range(d):
                out[j, f] = (np.float64(C[j, f]) * old + sums[j, f]) * inv
            counts[j] = total
        else:
            for f in range(d):
                out[j, f] = C[j, f]
        if counts[j] > top:
            top = counts[j]
    rare = 0
    if ratio > 0:
        lim = ratio * top
        for j in range(k):
            if counts[j] < lim:
                rare += 1
    return rare
