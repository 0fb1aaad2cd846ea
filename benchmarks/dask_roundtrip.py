"""The scheduling floor of a Dask pass on this machine (docs/benchmarks.md, "Dask and
memory-mapped files"): round trips of trivial tasks on an idle LocalCluster of 2 worker
processes x 1 thread, medians of 50.

    python benchmarks/dask_roundtrip.py

- one task, submitted and its result fetched;
- two tasks and a gather of their results;
- two tasks, one tiny task on each result (kmeanskit's pick of the small results), and a
  wait and a gather of those: the pattern of one kmeanskit pass, without its work.
"""

from __future__ import annotations

import time

import numpy as np


def _same(x):
    return x


def _listed(x):
    return [x]


def _first(r):
    return r[0]


def main(repeats: int = 50):
    import distributed

    def median_ms(fn):
        for _ in range(5):
            fn()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return 1e3 * float(np.median(ts))

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl, \
            distributed.Client(cl) as c:
        one = median_ms(lambda: c.submit(_same, 1, pure=False).result())
        two = median_ms(lambda: c.gather(c.map(_listed, [1, 2], pure=False)))

        def picked():
            ps = c.map(_first, c.map(_listed, [1, 2], pure=False), pure=False)
            distributed.wait(ps)
            return c.gather(ps)

        pick = median_ms(picked)
    print(f"one task: {one:.1f} ms; two tasks, gathered: {two:.1f} ms; "
          f"two tasks and their picks, waited for and gathered: {pick:.1f} ms")


if __name__ == "__main__":
    main()
