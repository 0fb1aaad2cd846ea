"""Suite ``scipy``: the scipy.cluster.vq drop-in against scipy itself.

``kmeanskit.vq.kmeans(pixels, 8)`` and ``scipy.cluster.vq.kmeans(pixels, 8)``
with their defaults (20 restarts, thresh=1e-5) on the same pixels, whitened
(scipy's ``whiten``, as in the tutorial) and raw (0..255). Both run with
seed = 0, 1, ..., repeats - 1 (scipy: 20-45 s a run here). Times are medians;
the distortion is scipy's definition (mean non-squared distance to the
nearest centre), recomputed in float64 for every code book and averaged over
the seeds: one seed's distortion varies by about 1e-4 (relative), as much as
the two libraries differ. As in the other suites, each timed run follows a
pause (``PAUSE_S``): the distortion check before it multiplies matrices with
BLAS, whose threads spin for a while afterwards (kmeanskit's whitened run
measured 0.32-0.36 s right after one, 0.28-0.31 s after a pause).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from . import data
from .common import PAUSE_S, exact_sq_distances, median, section, table


def run(quick: bool, repeats: int | None = None, log=None, workload=None,
        scipy_runs: int | None = None) -> list[str]:
    from scipy.cluster import vq as svq

    import kmeanskit.vq as kvq

    repeats = repeats or (1 if quick else 3)
    scipy_runs = scipy_runs or repeats
    w = workload or data.workload("pixels", quick)
    raw = np.ascontiguousarray(data.load(w))
    out = []
    for label, X in (("whitened pixels (the tutorial)", np.ascontiguousarray(svq.whiten(raw))),
                     ("raw pixels, 0..255", raw)):
        out.append(_compare(label, X, w, kvq, svq, repeats, scipy_runs, log))
    out.append(photos(quick, repeats, log))
    return out


#: The tutorial workflow on real photos of 0.1-0.5 megapixels (issue 20):
#: scikit-image's sample photos (public domain or CC0; sources in
#: src/kmeanskit/data/README.md) when scikit-image is installed (the bench
#: venv has it), and the bundled coffee.jpg always.
PHOTOS = ("chelsea", "astronaut", "rocket")
PHOTO_KS = (3, 5, 8, 12, 16)


def _photo_pixels(quick):
    """``[(name, pixels (n, 3) float64)]`` of the photos available."""
    from importlib import resources

    from PIL import Image

    out = []
    try:
        import skimage.data as skd
    except ImportError:
        skd = None
    for name in PHOTOS[:1] if quick else PHOTOS:
        if skd is not None:
            out.append((f"scikit-image {name}", getattr(skd, name)().reshape(-1, 3).astype(np.float64)))
    if not quick or skd is None:
        with resources.as_file(resources.files("kmeanskit") / "data" / "coffee.jpg") as f:
            with Image.open(f) as im:
                px = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(np.float64)
        out.append(("bundled coffee.jpg", px))
    return out


def photos(quick, repeats, log=None):
    """``whiten`` then ``kmeans(w, k)`` with defaults on each photo, k in
    ``PHOTO_KS``: kmeanskit's and scipy's medians over seeds 0, 1, ...
    (scipy one run a seed), and their float64 distortions averaged over the
    same seeds."""
    from scipy.cluster import vq as svq

    import kmeanskit.vq as kvq

    ks = (3, 8) if quick else PHOTO_KS
    seeds = 1 if quick else max(2, min(repeats, 3))
    rows = []
    for name, px in _photo_pixels(quick):
        W = np.ascontiguousarray(svq.whiten(px))
        n_colours = len(np.unique(px.astype(np.uint8), axis=0))
        kvq.kmeans(W, 3, iter=1, seed=0)  # warm-up
        for k in ks:
            t = {"k": [], "s": []}
            dist = {"k": [], "s": []}
            for s in range(seeds):
                for key, fn in (("k", kvq.kmeans), ("s", svq.kmeans)):
                    time.sleep(PAUSE_S)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        t0 = time.perf_counter()
                        book, _ = fn(W, k, seed=s)
                        t[key].append(time.perf_counter() - t0)
                    dist[key].append(float(np.sqrt(exact_sq_distances(W, book)).mean()))
            tk, ts = median(t["k"]), median(t["s"])
            dk, ds = float(np.mean(dist["k"])), float(np.mean(dist["s"]))
            if log:
                log(f"    {name} k={k}: kmeanskit {tk:.3f} s, scipy {ts:.3f} s, x{ts / tk:.1f}")
            rows.append([name, f"{px.shape[0]:,} px, {n_colours:,} colours", k, tk, ts, ts / tk,
                         f"{dk:.6g}", f"{ds:.6g}", f"{dk / ds - 1:+.2e}"])
    body = table(["photo", "size", "k", "kmeanskit (s)", "scipy (s)", "speed-up",
                  "distortion kmeanskit", "distortion scipy", "kmeanskit / scipy - 1"], rows)
    ups = [r[5] for r in rows]
    return section("The tutorial workflow on photos: whiten, then kmeans(w, k) with defaults", body, [
        f"seeds 0..{seeds - 1} for both; times: medians over the seeds (kmeanskit warm); "
        "distortions: float64 means over the seeds",
        f"speed-up: median {median(ups):.1f} x, lowest {min(ups):.1f} x",
        "target (issue 20): speed-up >= 50 on every photo and k, distortion no worse"])


def _compare(label, X, w, kvq, svq, repeats, scipy_runs, log):
    kvq.kmeans(X, 8, iter=1, seed=0)  # warm-up (numba compile or cache load)
    res = {}
    for name, fn, runs in (("kmeanskit.vq.kmeans", kvq.kmeans, repeats),
                           ("scipy.cluster.vq.kmeans", svq.kmeans, scipy_runs)):
        times, reported, exact, kk = [], [], [], []
        for r in range(runs):
            time.sleep(PAUSE_S)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                book, dist = fn(X, 8, seed=r)
                times.append(time.perf_counter() - t0)
            reported.append(float(dist))
            exact.append(float(np.sqrt(exact_sq_distances(X, book)).mean()))
            kk.append(len(book))
            if log:
                log(f"    {name:<26} seed {r}: {times[-1]:8.3f} s, distortion {exact[-1]:.7g}")
        res[name] = (median(times), runs, float(np.mean(reported)), float(np.mean(exact)),
                     " ".join(f"{e:.7g}" for e in exact), min(kk))
    tk, ts = res["kmeanskit.vq.kmeans"][0], res["scipy.cluster.vq.kmeans"][0]
    dk, ds = res["kmeanskit.vq.kmeans"][3], res["scipy.cluster.vq.kmeans"][3]
    rows = [[name, t, runs, f"{rep:.7g}", f"{ex:.7g}", per, kk]
            for name, (t, runs, rep, ex, per, kk) in res.items()]
    rows.append(["speed-up (scipy / kmeanskit)", ts / tk, "", "",
                 f"{dk / ds - 1:+.2e} (kmeanskit vs scipy)", "", ""])
    body = table(["function", "time (s, median)", "seeds", "distortion (reported, mean)",
                  "distortion (float64, mean)", "distortion per seed", "centres"], rows)
    return section(f"kmeans({label}, 8) with defaults: {w.label}", body, [
        "same data and seeds (0, 1, ...) for both; times: medians; distortions: means over the seeds",
        "target (issue 2): speed-up >= 50, distortion no worse"])
