"""One Lloyd pass on a Dask LocalCluster against the same pass in memory
(docs/benchmarks.md, "Dask and memory-mapped files": the before/after table).

    PYTHONPATH=/path/to/old/src python benchmarks/dask_pass.py N D K CHUNK_ROWS
    PYTHONPATH=src              python benchmarks/dask_pass.py N D K CHUNK_ROWS

Run it in alternating fresh processes, one per checkout. A LocalCluster of 2
worker processes x 1 thread; the data of ``dask_bench.make_data`` persisted
on it and computed into this process; a pass is (time of 12 iterations -
time of 2) / 10 from the same centres, ``algorithm="lloyd"``, best of 5.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(n, d, k, chunk_rows):
    import distributed

    import kmeanskit
    from benchmarks.dask_bench import chunks_per_worker, gather_rows, make_data

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl, \
            distributed.Client(cl) as cl_client:
        Xd = make_data(n, d, k, seed=7, chunk_rows=chunk_rows).persist()
        distributed.wait(Xd)
        Xm = gather_rows(cl_client, Xd)
        print("chunks per worker:", chunks_per_worker(cl_client, Xd))
        C0 = Xm[np.random.default_rng(0).choice(n, k, replace=False)].copy()
        kmeanskit.fit(Xm[:20000], k, init=C0, max_iter=2)  # compile and import outside the clock
        kmeanskit.fit(Xd[:chunk_rows * 2], k, init=C0, max_iter=2)

        def best(fn, repeats=5):
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            return min(ts)

        for X, name in ((Xm, "memory"), (Xd, "dask")):
            t12 = best(lambda: kmeanskit.fit(X, k, init=C0, max_iter=12, tol=0.0, algorithm="lloyd"))
            t2 = best(lambda: kmeanskit.fit(X, k, init=C0, max_iter=2, tol=0.0, algorithm="lloyd"))
            print(f"{name}: {(t12 - t2) / 10 * 1e3:.1f} ms a pass")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:5]))
