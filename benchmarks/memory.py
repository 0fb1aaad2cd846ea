"""Suite ``memory``: peak resident memory of a default fit relative to the
input's size (pixels workload).

Method: the parent writes the data to a temporary ``.npy`` file. A fresh
child process loads it (``np.load``: no temporaries), imports the library
and warms it up on a small slice (numba compilation, thread pools), then
reports its RSS (the baseline) and waits. The parent then lets it run the fit
(``kmeanskit.fit(X, k, random_state=0)``, ``KMeans(k, random_state=0).fit(X)``,
...) while sampling the child's RSS with psutil every millisecond from outside
(the sampler is not slowed by the child's GIL or its busy threads). Extra
memory = peak sampled RSS - baseline. As a cross-check the child also reports
the change of ``getrusage(RUSAGE_SELF).ru_maxrss`` across the fit (the
kernel's own peak; 0 when the fit never exceeded the process's earlier peak).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import data, peers
from .common import section, table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import gc, resource, sys, warnings
import numpy as np
import psutil
lib, path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
warnings.simplefilter("ignore")
X = np.load(path)
small = np.ascontiguousarray(X[: 50 * k])
if lib == "kmeanskit":
    import kmeanskit
    fit = lambda A: kmeanskit.fit(A, k, random_state=0)
elif lib in ("sklearn", "sklearnex"):
    if lib == "sklearn":
        from sklearn.cluster import KMeans
    else:
        from sklearnex.cluster import KMeans
    fit = lambda A: KMeans(k, random_state=0).fit(A)
elif lib == "faiss":
    import faiss
    def fit(A):
        km = faiss.Kmeans(A.shape[1], k, seed=0)
        km.train(A)
        return km
fit(small)
del small
gc.collect()
me = psutil.Process()
print("READY", me.memory_info().rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
sys.stdin.readline()
r = fit(X)
lab = getattr(r, "labels", getattr(r, "labels_", None))
print("DONE", me.memory_info().rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
      0 if lab is None else lab.nbytes, flush=True)
"""


def measure(lib, path, k, interval=0.001):
    """Baseline RSS, peak sampled RSS, the ru_maxrss change and the size of
    the labels the fit returns (bytes), and the fit's seconds."""
    import psutil

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), env.get("PYTHONPATH"))
                                        if p)
    p = subprocess.Popen([sys.executable, "-c", CHILD, lib, path, str(k)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"{lib}: child failed before the fit")
        base, maxrss0 = int(line[1]), int(line[2])
        proc = psutil.Process(p.pid)
        peak = base
        t0 = time.perf_counter()
        p.stdin.write("go\n")
        p.stdin.flush()
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        while True:
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            if sel.select(timeout=interval):
                break
        secs = time.perf_counter() - t0
        line = p.stdout.readline().split()
        if not line or line[0] != "DONE":
            raise RuntimeError(f"{lib}: child failed during the fit")
        maxrss1, labels_bytes = int(line[2]), int(line[3])
        peak = max(peak, int(line[1]))
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return base, peak, max(0, maxrss1 - maxrss0), labels_bytes, secs


def run(quick: bool, repeats: int | None = None, log=None, libraries=None) -> list[str]:
    w = data.workload("pixels", quick)
    X = data.load(w)
    avail = peers.available()
    names = ("kmeanskit", "sklearn") if quick else ("kmeanskit", "sklearn", "sklearnex", "faiss")
    libs = [lib for lib in names
            if (lib == "kmeanskit" or avail[lib]) and (libraries is None or lib in libraries)]
    rows, notes = [], []
    mb = 2.0 ** 20
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "X.npy")
        np.save(path, X)
        for lib in libs:
            try:
                base, peak, dmax, lab, secs = measure(lib, path, w.k)
            except Exception as e:  # noqa: BLE001
                notes.append(f"{lib}: {e}")
                continue
            extra = peak - base
            if log:
                log(f"    {lib:<10} extra {extra / mb:8.1f} MiB ({secs:.2f} s)")
            rows.append([lib, X.nbytes / mb, base / mb, peak / mb, extra / mb,
                         f"{100 * extra / X.nbytes:.1f}%", lab / mb,
                         f"{100 * (extra - lab) / X.nbytes:.1f}%", dmax / mb])
    body = table(["library", "input (MiB)", "RSS before fit (MiB)", "peak RSS in fit (MiB)",
                  "extra (MiB)", "extra / input", "labels returned (MiB)",
                  "(extra - labels) / input", "ru_maxrss change (MiB)"], rows)
    return [section(f"Peak memory of a default fit: {w.label}", body, [
        "fresh process per library; baseline after loading the data (np.load) and a warm-up fit "
        "on a slice; peak = RSS sampled every 1 ms from the parent with psutil during the fit",
        "the fits: kmeanskit.fit(X, k, random_state=0), KMeans(k, random_state=0).fit(X), "
        "faiss.Kmeans(d, k, seed=0).train(X)",
        "labels returned: the fit's own output, counted in 'extra' (kmeanskit: n int8 labels, "
        "the smallest type that holds k - 1; scikit-learn and sklearnex: n int32; faiss's train "
        "returns none)",
        "target (issue 4): extra <= 10% of the input + O(k x d)"] + notes)]
