"""Mini-batch k-means: kmeanskit.MiniBatchKMeans vs scikit-learn's, and vs the
exact k-means, on the pixels, tabular and embeddings workloads (benchmarks/data.py).

    python -m benchmarks.minibatch_bench [--quick]
    make bench --only minibatch        (python benchmarks/run.py --only minibatch)

Two tables per run:

1. Default fits (``MiniBatchKMeans(k, random_state=s)`` of both libraries:
   batch_size 1024, k-means++ on 3 x 1024 rows, early stopping after 10
   steps without improvement), seeds 0, 1, 2: median wall time of the fit
   (labels of all rows included, as both compute them by default) and the
   median exact inertia of the centres (float64, the same function for
   both). Next to them kmeanskit's exact ``KMeans(k, random_state=s)``
   (greedy k-means++, Hamerly or Lloyd by shape, to convergence): when
   mini-batch is worth it.
2. Equal time: kmeanskit without early stopping, given as many passes over
   the data as fit in scikit-learn's default-fit time, and the inertia it
   reaches.

Inertias are exact (float64) sums over all rows; times are medians of the
seeds, libraries interleaved. The machine is shared: read the ratios, not
the absolute times.
"""

from __future__ import annotations

import sys
import time

import numpy as np

try:
    from benchmarks.common import exact_inertia, section, table
    from benchmarks.data import load, workload
except ImportError:  # run as a script from benchmarks/
    from common import exact_inertia, section, table  # type: ignore
    from data import load, workload  # type: ignore

WORKLOADS = ("pixels", "tabular", "embeddings")
SEEDS = (0, 1, 2)
BATCH = 1024
#: most passes over the data in the equal-time runs
MAX_PASSES = 20


def _fit(cls, X, k, seed, **kw):
    t0 = time.perf_counter()
    m = cls(k, random_state=seed, **kw).fit(X)
    return time.perf_counter() - t0, m


def _median(xs):
    return float(np.median(xs))


def _defaults(X, k, log):
    from sklearn.cluster import MiniBatchKMeans as SKMiniBatch

    from kmeanskit import KMeans, MiniBatchKMeans

    out = {"kmeanskit": ([], [], []), "scikit-learn": ([], [], []), "exact": ([], [], [])}
    for cls in (MiniBatchKMeans, SKMiniBatch, KMeans):  # compile / load the kernels before timing
        cls(k, random_state=0).fit(X[:max(5 * BATCH, 3 * k)])
    for seed in SEEDS:
        for name, cls, kw in (("kmeanskit", MiniBatchKMeans, {}), ("scikit-learn", SKMiniBatch, {}),
                              ("exact", KMeans, {})):
            t, m = _fit(cls, X, k, seed, **kw)
            steps = getattr(m, "n_steps_", m.n_iter_)
            out[name][0].append(t)
            out[name][1].append(exact_inertia(X, m.cluster_centers_))
            out[name][2].append(steps)
            log(f"    minibatch defaults {name:<12} seed {seed}: {t:7.3f} s, {steps} steps/iterations")
    return {n: (_median(t), _median(i), int(np.median(s))) for n, (t, i, s) in out.items()}


def _equal_time(X, k, ours, theirs, log):
    """kmeanskit with early stopping off and as many passes over the data as
    fit in scikit-learn's default-fit time (from its own time per step in
    the default fits), at most ``MAX_PASSES``."""
    from kmeanskit import MiniBatchKMeans

    n = X.shape[0]
    per_step = ours[0] / max(ours[2], 1)
    target = theirs[0] / per_step  # steps that fit in scikit-learn's time
    passes = int(max(1, min(MAX_PASSES, np.floor(target * BATCH / n))))
    ts, inert, steps = [], [], []
    for seed in SEEDS:
        t, m = _fit(MiniBatchKMeans, X, k, seed, max_no_improvement=None, batch_size=BATCH,
                    max_iter=passes)
        ts.append(t)
        inert.append(exact_inertia(X, m.cluster_centers_))
        steps.append(m.n_steps_)
    log(f"    minibatch equal time: {passes} passes, {int(np.median(steps))} steps in {_median(ts):.3f} s")
    return [passes, int(np.median(steps)), _median(ts), theirs[0], _median(inert), theirs[1],
            _median(inert) / theirs[1]]


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def run(quick: bool = False, log=_stderr) -> list[str]:
    """The suite's markdown sections (``make bench --only minibatch``);
    progress lines go to ``log`` (stderr)."""
    d_rows, e_rows = [], []
    for name in WORKLOADS:
        w = workload(name, quick)
        X = load(w)
        log(f"  minibatch: {w.label}")
        d = _defaults(X, w.k, log)
        o, s, e = d["kmeanskit"], d["scikit-learn"], d["exact"]
        d_rows.append([w.label, o[0], s[0], o[0] / s[0], o[1], s[1], o[1] / s[1], o[2], s[2],
                       e[0], e[1], o[1] / e[1]])
        e_rows.append([w.name] + _equal_time(X, w.k, o, s, log))
    return [
        section("Default fits (MiniBatchKMeans(k, random_state=s), s = 0, 1, 2; medians)",
                table(["workload", "kmeanskit s", "scikit-learn s", "time ratio", "kmeanskit inertia",
                       "scikit-learn inertia", "inertia ratio", "kmeanskit steps", "scikit-learn steps",
                       "exact KMeans s", "exact inertia", "mini-batch / exact inertia"], d_rows),
                ["Both stop by the same rule (10 steps without a lower smoothed batch inertia), so "
                 "the time ratio is the ratio at (about) equal inertia.",
                 "exact KMeans: kmeanskit.KMeans(k, random_state=s) to convergence (tol=1e-4): greedy "
                 "k-means++, Hamerly or Lloyd by shape.",
                 "Inertia: exact float64 sum of squared distances of all rows to the centres, the "
                 "same function for every row of the table."]),
        section("Equal time: kmeanskit without early stopping, given the passes that fit in "
                "scikit-learn's default-fit time",
                table(["workload", "passes", "kmeanskit steps", "kmeanskit s", "scikit-learn s",
                       "kmeanskit inertia", "scikit-learn inertia", "inertia ratio"], e_rows),
                [f"Passes over the data: scikit-learn's default-fit time divided by kmeanskit's time "
                 f"per step, at most {MAX_PASSES}; the time column shows that kmeanskit stays within "
                 "scikit-learn's time."]),
    ]


if __name__ == "__main__":  # pragma: no cover
    for s in run(quick="--quick" in sys.argv):
        print(s)
