"""The in-memory fit of two checkouts side by side (docs/benchmarks.md, "The
in-memory path after issues 16-22").

Run it in alternating fresh processes, one per checkout::

    PYTHONPATH=/path/to/old/src python benchmarks/before_after.py
    PYTHONPATH=src python benchmarks/before_after.py

Per workload (pixels, tabular; full size): the median of 7 runs of 10 Lloyd
iterations from the benchmark's centres (time / 11 passes, the last being
the final assignment) and of 7 default fits (seeds 0-6).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import data as D  # noqa: E402

import kmeanskit  # noqa: E402


def main():
    out = {}
    for name in ("pixels", "tabular"):
        w = D.workload(name, False)
        X = D.load(w)
        C0 = D.initial_centres(w)
        k = C0.shape[0]
        kmeanskit.fit(X, k, init=C0, max_iter=2, algorithm="lloyd")  # compile outside the timing
        kmeanskit.fit(X, k, random_state=0)
        passes, defaults = [], []
        for r in range(7):
            t = time.perf_counter()
            kmeanskit.fit(X, k, init=C0, max_iter=10, tol=0.0, algorithm="lloyd")
            passes.append(time.perf_counter() - t)
            t = time.perf_counter()
            kmeanskit.fit(X, k, random_state=r)
            defaults.append(time.perf_counter() - t)
        out[name] = (np.median(passes) / 11 * 1e3, np.median(defaults))
    print(kmeanskit.__file__)
    print(" ".join(f"{k}: pass {v[0]:.2f} ms, default {v[1]:.3f} s" for k, v in out.items()))


if __name__ == "__main__":
    main()
