"""Suite ``dask``: kmeanskit on a Dask ``LocalCluster`` against the same fit in
memory and against dask-ml, side by side in one run.

    python benchmarks/run.py --only dask            # 20M x 16 (k = 32) and 10M x 3 (k = 8)
    python benchmarks/run.py --only dask --quick    # 1.5M x 8 (k = 16) and 2M x 3 (k = 8)

One LocalCluster of 2 worker processes with 1 thread each (the data is
generated on the workers, chunk by chunk, and persisted there); the
in-memory runs use the same rows computed into this process. Per data set:

- a Lloyd pass: the time of 12 iterations minus that of 2 from the same
  centres (tol = 0, Lloyd on both sides; the fits' fixed costs cancel),
  seconds per iteration, in memory and on the cluster;
- a default fit (seeding included): ``kmeanskit.fit(X, k, random_state=0)``
  in memory (greedy k-means++ on a sample) and on the cluster (k-means||);
- dask-ml's ``KMeans`` with its defaults (k-means||, 300 iterations,
  tol 1e-4), its pass measured as kmeanskit's (12 iterations minus 2 from
  the same centres, over 10), and a fit from those centres with its
  defaults otherwise, against kmeanskit's fit from them;
- memory: this process's peak RSS increase during the Dask fit (the client
  holds the centres and small per-chunk results) and each worker's RSS
  before and after (its chunks and labels).

Inertia is recomputed in float64 for every result (the same way for all).
"""

from __future__ import annotations

import time

import numpy as np

from .common import section, table


def _blobs_block(block_info=None, *, k, d, seed, spread):
    info = block_info[None]
    (start, stop), _ = info["array-location"]
    i = info["chunk-location"][0]
    rng = np.random.default_rng([seed, i])
    centres = np.random.default_rng(seed).uniform(0, 10, size=(k, d))
    lab = rng.integers(0, k, size=stop - start)
    return (centres[lab] + rng.normal(0, spread, size=(stop - start, d))).astype(np.float32)


def make_data(n, d, k_true, seed, chunk_rows):
    import dask.array as da

    chunks = [chunk_rows] * (n // chunk_rows) + ([n % chunk_rows] if n % chunk_rows else [])
    return da.map_blocks(_blobs_block, dtype=np.float32, chunks=(tuple(chunks), (d,)),
                         k=k_true, d=d, seed=seed, spread=1.0)


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


def _peak_during(fn):
    """(result, seconds, peak RSS increase of this process in bytes), RSS
    sampled every 20 ms by a thread."""
    import threading

    base = _rss()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    try:
        out = fn()
    finally:
        dt = time.perf_counter() - t
        stop.set()
        th.join()
    return out, dt, peak[0] - base


def gather_rows(client, Xd):
    """The rows of a persisted Dask array in this process, each chunk fetched from its worker.
    ``Xd.compute()`` would instead concatenate them in a task on one worker, and the scheduler then
    keeps a single copy of each chunk, on that worker: every later pass would run there alone
    (the run of 10:14 UTC measured the Dask side, and dask-ml, that way)."""
    parts = client.gather(client.compute(list(Xd.to_delayed().ravel())))
    return np.concatenate(parts)


def chunks_per_worker(client, Xd):
    """How many chunks each worker holds (sorted counts)."""
    from collections import Counter

    return sorted(Counter(w for ws in client.who_has(Xd).values() for w in ws).values())


def _phases(client, Xd, k):
    """The wall time of each pass of a default fit on Dask, from the scheduler's task stream:
    each pass is one ``client.map`` call, its tasks' keys named after the task function and one
    token per call (``_chunked.DistributedChunks._map``)."""
    import distributed

    import kmeanskit

    with distributed.get_task_stream(client) as ts:
        t = time.perf_counter()
        kmeanskit.fit(Xd, k, random_state=0)
        wall = time.perf_counter() - t
    spans = {}
    for rec in ts.data:
        if not isinstance(rec["key"], str) or rec["key"].count("-") < 2:  # not one of the fit's passes
            continue
        name, token = rec["key"].split("-")[:2]
        if name in ("getitem", "pick", "next_plan"):
            continue
        for ss in rec["startstops"]:
            if ss["action"] == "compute":
                a, b = spans.get((name, token), (ss["start"], ss["stop"]))
                spans[(name, token)] = (min(a, ss["start"]), max(b, ss["stop"]))
    groups = {"summary_chunk": "summary pass", "with_seed": "k-means|| rounds",
              "hamerly_kept": "Hamerly passes", "lloyd_kept": "Lloyd passes"}
    order = sorted(spans.items(), key=lambda kv: kv[1][0])
    parts = []
    for label_key, label in groups.items():
        secs = [b - a for (name, _), (a, b) in order if name == label_key]
        if secs:
            parts.append(f"{label} " + ", ".join(f"{v:.2f}" for v in secs) + " s")
    return f"{wall:.2f} s in all; " + "; ".join(parts)


def _inertia(Xd, C):
    import kmeanskit

    return float(kmeanskit.assign(Xd, np.asarray(C, dtype=np.float64).astype(Xd.dtype))[2].compute())


def bench_shape(client, n, d, k, chunk_rows, repeats, with_dask_ml, log, seeds=0):
    import distributed

    import kmeanskit

    # the workers' baseline includes kmeanskit and its kernels (imported by their first task)
    client.run(lambda: __import__("kmeanskit._chunked"))
    workers_before = client.run(_rss)
    Xd = make_data(n, d, k, seed=7, chunk_rows=chunk_rows).persist()
    distributed.wait(Xd)
    Xm = gather_rows(client, Xd)  # the same rows, in this process; the chunks stay where they are
    log(f"  chunks per worker: {chunks_per_worker(client, Xd)}")
    C0 = Xm[np.random.default_rng(0).choice(n, k, replace=False)].copy()
    rows, notes = [], []

    def best(fn):
        ts = []
        out = None
        for _ in range(repeats):
            t = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t)
        return out, min(ts)

    # warm up both paths (compilation, worker imports), the default fits' seedings too
    # (greedy k-means++ on a sample in memory, k-means|| on the workers): their kernels load
    # from numba's cache on first use in each process, which the first timed fit would pay
    for init in (C0, "auto"):
        kmeanskit.fit(Xm[:20000], k, init=init, max_iter=2, random_state=0)
        kmeanskit.fit(Xd[:chunk_rows * 2], k, init=init, max_iter=2, random_state=0)

    # a Lloyd pass: the time of 12 iterations minus that of 2, over 10 (the fit's fixed
    # costs, the input check's pass and the final pass, cancel), Lloyd on both sides
    def per_pass(X):
        _, t12 = best(lambda: kmeanskit.fit(X, k, init=C0, max_iter=12, tol=0.0, algorithm="lloyd"))
        _, t2 = best(lambda: kmeanskit.fit(X, k, init=C0, max_iter=2, tol=0.0, algorithm="lloyd"))
        return (t12 - t2) / 10

    it_mem, it_dsk = per_pass(Xm), per_pass(Xd)
    rows.append(["Lloyd, s per iteration (12 minus 2 from the same centres)", it_mem, it_dsk,
                 it_dsk / it_mem, "", ""])
    log(f"  lloyd pass: memory {it_mem:.3f} s, dask {it_dsk:.3f} s")

    d_mem, t_dmem = best(lambda: kmeanskit.fit(Xm, k, random_state=0))
    (d_dsk, t_ddsk, peak) = _peak_during(lambda: kmeanskit.fit(Xd, k, random_state=0))
    in_mem = _inertia(Xd, d_mem.centers)
    in_dsk = _inertia(Xd, d_dsk.centers)
    rows.append(["default fit, s (seeding included)", t_dmem, t_ddsk, t_ddsk / t_dmem, "", ""])
    rows.append(["default fit, inertia / in-memory - 1", 0.0, in_dsk / in_mem - 1, "", "", ""])
    log(f"  default fit: memory {t_dmem:.2f} s, dask {t_ddsk:.2f} s")
    notes.append("task stream of a second Dask default fit: " + _phases(client, Xd, k))
    workers = client.run(_rss)
    notes.append(f"client peak RSS increase during the Dask default fit: {peak / 2**20:.0f} MiB "
                 f"(the data: {Xm.nbytes / 2**20:.0f} MiB); each worker's RSS increase from before the "
                 "data was loaded to after the fits: "
                 + ", ".join(f"{(workers[a] - workers_before[a]) / 2**20:.0f} MiB" for a in workers)
                 + f" (its half of the chunks: about {Xm.nbytes / 2 / 2**20:.0f} MiB)")
    if seeds:
        # k-means|| on Dask against greedy k-means++ on all rows in memory: inertia after
        # convergence, mean over the seeds
        par = [_inertia(Xd, kmeanskit.fit(Xd, k, init="k-means||", random_state=s).centers)
               for s in range(seeds)]
        pp = [_inertia(Xd, kmeanskit.fit(Xm, k, init="k-means++", random_state=s).centers)
              for s in range(seeds)]
        notes.append(f"inertia after convergence, mean over {seeds} seeds: k-means|| on Dask / greedy "
                     f"k-means++ in memory - 1 = {np.mean(par) / np.mean(pp) - 1:+.4f}")
        log(f"  k-means|| vs k-means++ over {seeds} seeds: {np.mean(par) / np.mean(pp) - 1:+.4f}")
    if with_dask_ml:
        from dask_ml.cluster import KMeans as DKM

        t = time.perf_counter()
        m = DKM(n_clusters=k, random_state=0).fit(Xd)
        t_ml = time.perf_counter() - t
        in_ml = _inertia(Xd, m.cluster_centers_)
        log(f"  dask-ml default: {t_ml:.1f} s")
        # its pass measured as kmeanskit's: 12 iterations minus 2 from the same centres, over 10
        def ml_fit(iters):
            t = time.perf_counter()
            DKM(n_clusters=k, init=C0.astype(np.float64), max_iter=iters, tol=0.0).fit(Xd)
            return time.perf_counter() - t

        t_ml12, t_ml2 = ml_fit(12), ml_fit(2)
        it_ml = (t_ml12 - t_ml2) / 10
        log(f"  dask-ml from the same centres: 12 iterations {t_ml12:.1f} s, 2 iterations {t_ml2:.1f} s")
        rows[0][4] = it_ml
        rows[0][5] = it_dsk / it_ml
        rows[1][4] = t_ml
        rows[1][5] = t_ddsk / t_ml
        rows[2][4] = in_ml / in_mem - 1
        notes.append(f"dask-ml default fit: {t_ml:.1f} s, {int(m.n_iter_)} iterations; "
                     f"kmeanskit on Dask: {t_ddsk:.2f} s, {d_dsk.n_iter} iterations")
        # both from the same initial centres, each with its default iterations and tolerance
        t = time.perf_counter()
        m3 = DKM(n_clusters=k, init=C0.astype(np.float64)).fit(Xd)
        t_ml3 = time.perf_counter() - t
        s_ks, t_ks = best(lambda: kmeanskit.fit(Xd, k, init=C0))
        in_ml3, in_ks = _inertia(Xd, m3.cluster_centers_), _inertia(Xd, s_ks.centers)
        rows.append(["fit from the same centres, s (each library's defaults otherwise)", "", t_ks, "",
                     t_ml3, t_ks / t_ml3])
        rows.append(["fit from the same centres, inertia / in-memory default - 1", "",
                     in_ks / in_mem - 1, "", in_ml3 / in_mem - 1, ""])
        notes.append(f"from the same centres: dask-ml {t_ml3:.1f} s, {int(m3.n_iter_)} iterations; "
                     f"kmeanskit on Dask {t_ks:.2f} s, {s_ks.n_iter} iterations")
        log(f"  from the same centres: dask-ml {t_ml3:.1f} s, kmeanskit {t_ks:.2f} s")

    body = table(["", "in memory", "kmeanskit on Dask", "Dask / memory", "dask-ml", "kmeanskit / dask-ml"],
                 rows)
    return body, notes


def run(quick: bool = False):
    """The suite's markdown sections (the benchmark runner's hook)."""
    from distributed import Client, LocalCluster

    shapes = [(1_500_000, 8, 16, 250_000), (2_000_000, 3, 8, 250_000)] if quick else \
        [(20_000_000, 16, 32, 1_000_000), (10_000_000, 3, 8, 1_000_000)]
    out = []

    def log(msg):
        print(msg, flush=True)

    for n, d, k, chunk in shapes:
        log(f"dask: {n} x {d}, k = {k}")
        # a fresh cluster per data set: nothing of the previous one left in the workers
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40, memory_limit=0) as cl, Client(cl) as client:
            # dask-ml at every size: at the full ones its fits take minutes (a pass at
            # 20 M x 16 about 2.6 s on 2 cores)
            body, notes = bench_shape(client, n, d, k, chunk, repeats=2 if quick else 1,
                                      with_dask_ml=True, log=log, seeds=5 if n <= 5_000_000 else 0)
        out.append(section(f"Dask: {n:,} x {d} float32, k = {k} (LocalCluster: 2 workers x 1 thread, "
                           f"chunks of {chunk:,} rows)", body, notes))
    return out
