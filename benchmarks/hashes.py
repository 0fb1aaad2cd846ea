"""Hashes of results (centres, labels, inertia, iterations) for every
algorithm, metric and entry point, to check that a refactoring changes no
result bit for bit.

Run it on two checkouts and compare the output::

    PYTHONPATH=/path/to/old/src python benchmarks/hashes.py > old.txt
    PYTHONPATH=src python benchmarks/hashes.py > new.txt
    diff old.txt new.txt

The data are the benchmark's workloads (their ``--quick`` sizes, 20,000
rows, so that every algorithm runs in seconds), two full-size default fits,
the scipy functions on pixels, the other metrics on a smaller set and the
bundled photo's palettes (CIEDE2000 refinement).
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import data as D  # noqa: E402

import kmeanskit  # noqa: E402


def h(*arrays) -> str:
    m = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        m.update(str(a.dtype).encode())
        m.update(np.ascontiguousarray(a).tobytes())
    return m.hexdigest()[:16]


def line(name, *arrays):
    print(f"{name:48s} {h(*arrays)}", flush=True)


def fit_line(name, r):
    line(name, r.centers, np.asarray(r.labels, np.int64), [r.inertia], [r.n_iter])


def main():
    algos = ["lloyd", "hamerly", "elkan", "exponion", "yinyang"]
    for w in D.workloads(quick=True):
        X = D.load(w)
        C0 = D.initial_centres(w)
        for a in algos:
            if a == "elkan" and w.k > 100:
                continue
            fit_line(f"{w.name} {a} from C0", kmeanskit.fit(X, w.k, init=C0, algorithm=a))
        fit_line(f"{w.name} auto seed 0", kmeanskit.fit(X, w.k, random_state=0))
        wt = np.random.default_rng(1).random(X.shape[0])
        fit_line(f"{w.name} hamerly weighted", kmeanskit.fit(X, w.k, sample_weight=wt,
                                                              algorithm="hamerly", random_state=1))
        fit_line(f"{w.name} random n_init=3", kmeanskit.fit(X, w.k, init="random", n_init=3,
                                                            random_state=2))
        km = kmeanskit.KMeans(w.k, random_state=3, n_init=2).fit(X)
        line(f"{w.name} KMeans", km.cluster_centers_, km.labels_, [km.inertia_], [km.n_iter_])
    # wide rows, few centres: the direct pass scans them untransposed (rows_scan)
    rng = np.random.default_rng(4)
    for d, k, dt in ((64, 3, np.float32), (128, 4, np.float32), (80, 2, np.float64)):
        Xw = (rng.normal(size=(20000, d)) + rng.integers(0, 3, 20000)[:, None]).astype(dt)
        for a in ("lloyd", "hamerly"):
            fit_line(f"wide d={d} k={k} {a}", kmeanskit.fit(Xw, k, algorithm=a, random_state=0))
    for name in ("pixels", "tabular"):
        w = D.workload(name, quick=False)
        fit_line(f"{name} full default", kmeanskit.fit(D.load(w), w.k, random_state=0))
    # scipy functions
    px = D.load(D.workload("pixels", quick=True)).astype(np.float64)
    wh = kmeanskit.whiten(px)
    for k in (3, 8):
        book, dist = kmeanskit.kmeans(wh, k, rng=0)
        line(f"vq.kmeans k={k}", book, [dist])
    book, dist = kmeanskit.kmeans(wh[:, :2].copy(), 5, rng=1)  # d <= 4: bounded run
    line("vq.kmeans d=2", book, [dist])
    tab = D.load(D.workload("tabular", quick=True))
    book, dist = kmeanskit.kmeans(tab, 6, iter=3, rng=2)  # d > 4: plain run
    line("vq.kmeans d=16", book, [dist])
    for minit in ("random", "points", "++"):
        c, lab = kmeanskit.kmeans2(wh, 8, minit=minit, rng=3)
        line(f"vq.kmeans2 {minit}", c, lab)
    code, d = kmeanskit.vq.vq(wh, book8 := kmeanskit.kmeans(wh, 8, rng=0)[0])
    line("vq.vq", code, d, book8)
    # other metrics
    rng = np.random.default_rng(5)
    M = (rng.normal(size=(3000, 5)) + rng.integers(0, 4, 3000)[:, None] * 3.0)
    for metric in ("manhattan", "cosine", "chebyshev"):
        Xm = M[:600] if metric == "chebyshev" else M
        fit_line(f"metric {metric}", kmeanskit.fit(Xm, 4, metric=metric, random_state=0))
        fit_line(f"metric {metric} f32 weighted",
                 kmeanskit.fit(Xm.astype(np.float32), 4, metric=metric, random_state=1,
                               sample_weight=np.arange(Xm.shape[0]) % 3 + 1.0))
        lab, dist, obj = kmeanskit.assign(Xm, Xm[:4], metric=metric)
        line(f"assign {metric}", lab, dist, [obj])
    # palettes (Lab mode runs the CIEDE2000 refinement)
    import importlib.resources as ir

    photo = ir.files("kmeanskit") / "data" / "coffee.jpg"
    for space in ("lab", "rgb"):
        for k in (4, 8):
            p = kmeanskit.dominant_colors(str(photo), k, color_space=space, random_state=0)
            line(f"palette {space} k={k}", np.asarray(p.colors), np.asarray(p.proportions))


if __name__ == "__main__":
    main()
