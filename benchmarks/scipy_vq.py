"""Suite ``scipy``: the scipy.cluster.vq drop-in against scipy itself.

``kmeanskit.vq.kmeans(pixels, 8)`` and ``scipy.cluster.vq.kmeans(pixels, 8)``
with their defaults (20 restarts, thresh=1e-5) on the same pixels, whitened
(scipy's ``whiten``, as in the tutorial) and raw (0..255). Distortion is scipy's definition (mean
non-squared distance to the nearest centre), recomputed in float64 for both
codebooks. scipy takes about two minutes on the full pixels, so it runs once;
kmeanskit's time is the median of ``repeats`` runs.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from . import data
from .common import exact_sq_distances, median, section, table


def run(quick: bool, repeats: int | None = None, log=None, workload=None,
        scipy_runs: int = 1) -> list[str]:
    from scipy.cluster import vq as svq

    import kmeanskit.vq as kvq

    repeats = repeats or (1 if quick else 3)
    w = workload or data.workload("pixels", quick)
    raw = np.ascontiguousarray(data.load(w))
    out = []
    for label, X in (("whitened pixels (the tutorial)", np.ascontiguousarray(svq.whiten(raw))),
                     ("raw pixels, 0..255", raw)):
        out.append(_compare(label, X, w, kvq, svq, repeats, scipy_runs, log))
    return out


def _compare(label, X, w, kvq, svq, repeats, scipy_runs, log):
    kvq.kmeans(X[:5000], 8, seed=0)  # warm-up (numba compile)
    res = {}
    for name, fn, runs in (("kmeanskit.vq.kmeans", kvq.kmeans, repeats),
                           ("scipy.cluster.vq.kmeans", svq.kmeans, scipy_runs)):
        times, book, dist = [], None, None
        for r in range(runs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                book, dist = fn(X, 8, seed=r)
                times.append(time.perf_counter() - t0)
            if log:
                log(f"    {name:<26} run {r + 1}/{runs}: {times[-1]:8.3f} s")
        res[name] = (median(times), len(times), float(dist),
                     float(np.sqrt(exact_sq_distances(X, book)).mean()), len(book))
    tk, ts = res["kmeanskit.vq.kmeans"][0], res["scipy.cluster.vq.kmeans"][0]
    dk, ds = res["kmeanskit.vq.kmeans"][3], res["scipy.cluster.vq.kmeans"][3]
    rows = [[name, t, runs, f"{rep:.7g}", f"{ex:.7g}", kk] for name, (t, runs, rep, ex, kk) in res.items()]
    rows.append(["speed-up (scipy / kmeanskit)", ts / tk, "", "", f"{dk / ds - 1:+.2e} (kmeanskit vs scipy)", ""])
    body = table(["function", "time (s)", "runs", "distortion (reported)", "distortion (float64)",
                  "centres"], rows)
    return section(f"kmeans({label}, 8) with defaults: {w.label}", body, [
        "same data for both; seed=run index; scipy run once, kmeanskit: median",
        "target (issue 2): speed-up >= 50, distortion no worse"])
