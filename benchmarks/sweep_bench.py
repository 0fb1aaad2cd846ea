"""``make bench`` suite ``sweep`` (issue 5): the k = 1..10 elbow sweep with
inertia and knee on the 2,000,000-pixel workload, against ten default
scikit-learn fits (k = 1..10), with each k's inertia compared in float64."""

from __future__ import annotations

import time

import numpy as np


def bench_suite(quick=False):
    from sklearn.cluster import KMeans

    from benchmarks import data as D
    from kmeanskit import assign
    from kmeanskit.selection import bench_sweep

    X = D.load(D.workload("pixels", quick))
    bench_sweep(X[:20000])  # numba compilation / cache load, not timed
    t_ours = []
    for _ in range(1 if quick else 3):
        t = time.perf_counter()
        sw = bench_sweep(X, random_state=0)
        t_ours.append(time.perf_counter() - t)
    ours_t = float(np.median(t_ours))
    rows, t_sk = [], 0.0
    for k in range(1, 11):
        t = time.perf_counter()
        km = KMeans(k, random_state=k).fit(X)
        t_sk += time.perf_counter() - t
        sk = assign(X, km.cluster_centers_.astype(X.dtype))[2]
        rows.append((k, sw.inertia[k - 1], sk))
    lines = [
        f"### k = 1..10 sweep on pixels (n={X.shape[0]:,}, d=3): kmeanskit.choose_k vs ten scikit-learn fits",
        "",
        "| k | kmeanskit inertia | scikit-learn inertia (float64) | relative difference |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {k} | {a:.6e} | {b:.6e} | {(a - b) / b:+.2e} |" for k, a, b in rows]
    lines += ["", f"- sweep (median of {len(t_ours)}): {ours_t:.2f} s; ten default scikit-learn fits: "
              f"{t_sk:.2f} s; ratio {ours_t / t_sk:.3f} (target <= 0.2); knee at k = {sw.knee}"]
    return ["\n".join(lines)]
