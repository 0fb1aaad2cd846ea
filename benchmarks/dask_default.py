"""A default fit on a Dask LocalCluster against the same fit in memory (docs/benchmarks.md,
"Dask and memory-mapped files": the before/after figures).

    PYTHONPATH=/path/to/old/src python benchmarks/dask_default.py N D K CHUNK_ROWS REPEATS
    PYTHONPATH=src              python benchmarks/dask_default.py N D K CHUNK_ROWS REPEATS

Run it in alternating fresh processes, one per checkout. A LocalCluster of 2 worker processes x
1 thread; the data of ``dask_bench.make_data`` persisted on it and fetched chunk by chunk into
this process; ``kmeanskit.fit(X, K, random_state=0)`` REPEATS times on each (k-means|| on Dask,
greedy k-means++ on a sample in memory), every time printed, and the ratio of the best.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(n, d, k, chunk_rows, repeats):
    import distributed

    import kmeanskit
    from benchmarks.dask_bench import gather_rows, make_data

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40, memory_limit=0) as cl, \
            distributed.Client(cl) as client:
        Xd = make_data(n, d, k, seed=7, chunk_rows=chunk_rows).persist()
        distributed.wait(Xd)
        Xm = gather_rows(client, Xd)
        kmeanskit.fit(Xm[:20000], k, max_iter=2)  # compile and import outside the clock
        kmeanskit.fit(Xd[:chunk_rows * 2], k, max_iter=2)
        best = {}
        for name, X in (("memory", Xm), ("dask", Xd)):
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                r = kmeanskit.fit(X, k, random_state=0)
                ts.append(time.perf_counter() - t)
            best[name] = min(ts)
            print(f"{name}: " + " ".join(f"{v:.3f}" for v in ts) + f" s, {r.n_iter} iterations")
        print(f"dask / memory: {best['dask'] / best['memory']:.3f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:6]))
