"""A small fit's Lloyd pass with and without a pause before each fit
(docs/benchmarks.md, "Shape grid": why the n = 200,000 row reads worse).

    GOMP_SPINCOUNT=1000 python benchmarks/sleep_wake.py [SLEEP_S]

The grid's kind of data (100 Gaussian blobs, sd 0.15), 200,000 x 2 float32,
k = 3, Lloyd from the first rows, tol = 0: 40 fits of 10 iterations in one
process, each after ``SLEEP_S`` seconds of sleep (default 0.3; 0 for fits
back to back) and a 1-iteration pre-roll, as the grid runs its cells. Prints
the median and the largest ms a pass. kmeanskit sets ``GOMP_SPINCOUNT=1000``
on its first fit unless the environment has it: set it here to try others.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(sleep_s: float = 0.3, n: int = 200_000, d: int = 2, k: int = 3, fits: int = 40):
    import kmeanskit

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, d))
    X = (centres[rng.integers(0, 100, n)] + rng.normal(scale=0.15, size=(n, d))).astype(np.float32)
    C0 = X[:k].copy()

    def fit(iters):
        return kmeanskit.fit(X, k, init=C0, max_iter=iters, tol=0.0, algorithm="lloyd")

    fit(10)
    ms = []
    for _ in range(fits):
        if sleep_s > 0:
            time.sleep(sleep_s)
            fit(1)
        t = time.perf_counter()
        fit(10)
        ms.append((time.perf_counter() - t) / 10 * 1e3)
    # kmeanskit's first fit set GOMP_SPINCOUNT (to 1000) unless the environment had it
    print(f"GOMP_SPINCOUNT={os.environ['GOMP_SPINCOUNT']}, "
          f"sleep {sleep_s:g} s: ms a pass, median {np.median(ms):.2f}, largest {max(ms):.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.3)
