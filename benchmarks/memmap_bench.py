"""Suite ``memmap``: the extra memory of a fit on a memory-mapped ``.npy`` file.

    python benchmarks/run.py --only memmap           # an 8 GiB float32 file (134M x 16)
    python benchmarks/run.py --only memmap --quick   # 1 GiB

The file is written in slices (clustered rows), then a fresh process maps it
with ``np.load(mmap_mode="r")`` and fits it (``algorithm="lloyd"``, k = 16,
5 iterations, the default seeding). A thread samples ``/proc/self/status``
every 20 ms: ``RssAnon`` is the process's private memory (what the fit
allocates), ``RssFile`` the file's pages mapped in (page cache, which the
kernel reclaims under pressure). The peak of ``RssAnon`` above its level
before the fit is the fit's extra memory; the labels alone are 4 bytes a row
(int32, as returned) plus 1 byte a row while iterating.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from .common import section, table

CHILD = r"""
import sys, threading, time, json
import numpy as np
import kmeanskit

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon", "RssFile")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) * 1024
    return out

path = sys.argv[1]
M = np.load(path, mmap_mode="r")
kmeanskit.fit(np.array(M[:50_000]), 16, max_iter=2, random_state=0)  # compile outside the measure
base = status()
peak = dict(base)
stop = threading.Event()
def sample():
    while not stop.is_set():
        s = status()
        for k in s:
            peak[k] = max(peak[k], s[k])
        time.sleep(0.02)
th = threading.Thread(target=sample, daemon=True); th.start()
t = time.perf_counter()
r = kmeanskit.fit(M, 16, max_iter=5, algorithm="lloyd", random_state=0)
dt = time.perf_counter() - t
stop.set(); th.join()
print(json.dumps(dict(seconds=dt, n_iter=r.n_iter, base_anon=base["RssAnon"],
                      peak_anon=peak["RssAnon"], peak_file=peak["RssFile"], rows=M.shape[0],
                      nbytes=M.nbytes)))
"""


def write_file(path, n, d, seed=0):
    M = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10, size=(16, d)).astype(np.float32)
    step = 1 << 20
    for s in range(0, n, step):
        m = min(step, n - s)
        M[s:s + m] = centres[rng.integers(0, 16, m)] + rng.standard_normal((m, d), dtype=np.float32)
    M.flush()
    del M


def run(quick: bool = False):
    """The suite's markdown section (the benchmark runner's hook)."""
    import json

    d = 16
    gib = 1 if quick else 8
    n = gib * (1 << 30) // (4 * d)
    with tempfile.TemporaryDirectory(prefix="kmk-memmap-", dir=os.environ.get("KMK_BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "x.npy")
        t = time.perf_counter()
        write_file(path, n, d)
        t_write = time.perf_counter() - t
        out = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, text=True,
                             check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
    extra = m["peak_anon"] - m["base_anon"]
    labels = 5 * m["rows"]
    rows = [[f"{m['nbytes'] / 2**30:.1f} GiB ({m['rows']:,} x {d} float32)", m["seconds"], m["n_iter"],
             extra / 2**20, labels / 2**20, m["peak_file"] / 2**20]]
    body = table(["file", "fit s", "iterations", "extra private memory, MiB", "labels, MiB (5 B/row)",
                  "file pages mapped at peak, MiB"], rows)
    notes = [f"file written in {t_write:.0f} s; the fit maps it (np.load(mmap_mode='r')): no copy of X",
             "extra private memory = peak RssAnon during the fit - RssAnon before it"]
    return [section("memmap: a fit on a memory-mapped file", body, notes)]
