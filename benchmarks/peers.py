"""One function per library: run k-means from given centres (or with the
library's defaults) and return an :class:`Outcome` timed around the fit call
only. Data conversions a library needs (faiss wants float32) are done before
the clock starts and are noted in the tables."""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from .common import Outcome, have

#: faiss subsamples to max_points_per_centroid * k points by default; this is
#: large enough to switch that off for every workload here (equal work).
FAISS_NO_SUBSAMPLE = 1 << 30


def available() -> dict:
    """Which peer libraries can be imported here."""
    return {"sklearn": have("sklearn"), "sklearnex": have("sklearnex"), "faiss": have("faiss"),
            "scipy": have("scipy")}


def _clock(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# -- kmeanskit --------------------------------------------------------------

def kmeanskit_algorithms() -> list[str]:
    """Every registered algorithm, then "auto" (new ones appear by themselves)."""
    from kmeanskit import _solver

    return [a for a in _solver.ALGORITHMS if a != "auto"] + ["auto"]


def kmeanskit_from(X, C0, max_iter, tol, algorithm, n_threads=None):
    import kmeanskit

    t, r = _clock(lambda: kmeanskit.fit(X, C0.shape[0], init=C0, n_init=1, max_iter=max_iter,
                                        tol=tol, algorithm=algorithm, n_threads=n_threads))
    return Outcome(t, int(r.n_iter), np.asarray(r.centers))


def kmeanskit_default(X, k, seed):
    import kmeanskit

    t, r = _clock(lambda: kmeanskit.fit(X, k, random_state=seed))
    return Outcome(t, int(r.n_iter), np.asarray(r.centers))


# -- scikit-learn and scikit-learn-intelex ------------------------------------

def _sk_class(flavour):
    if flavour == "sklearnex":
        from sklearnex.cluster import KMeans
    else:
        from sklearn.cluster import KMeans
    return KMeans


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _fit_sk(km, X, flavour):
    """Fit, timed; for sklearnex also check from its log that oneDAL ran
    (it silently falls back to scikit-learn for unsupported settings)."""
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if flavour != "sklearnex":
            t, _ = _clock(lambda: km.fit(X))
        else:
            log = logging.getLogger("sklearnex")
            h, old = _Capture(), (log.level, log.propagate, list(log.handlers))
            log.handlers[:] = [h]   # capture only (sklearnex's own handler would print)
            log.setLevel(logging.INFO)
            log.propagate = False
            try:
                t, _ = _clock(lambda: km.fit(X))
            finally:
                log.handlers[:] = old[2]
                log.setLevel(old[0])
                log.propagate = old[1]
            fit_msgs = [m for m in h.messages if "KMeans.fit" in m]
            if fit_msgs and not any("accelerated" in m for m in fit_msgs):
                note = "sklearnex fell back to scikit-learn: " + fit_msgs[-1].strip()
    return t, note


def sklearn_from(X, C0, max_iter, tol, algorithm="lloyd", flavour="sklearn"):
    KMeans = _sk_class(flavour)
    km = KMeans(n_clusters=C0.shape[0], init=np.array(C0), n_init=1, max_iter=max_iter, tol=tol,
                algorithm=algorithm)
    t, note = _fit_sk(km, X, flavour)
    return Outcome(t, int(km.n_iter_), np.asarray(km.cluster_centers_), note)


def sklearn_default(X, k, seed, flavour="sklearn"):
    KMeans = _sk_class(flavour)
    km = KMeans(n_clusters=k, random_state=seed)
    t, note = _fit_sk(km, X, flavour)
    return Outcome(t, int(km.n_iter_), np.asarray(km.cluster_centers_), note)


# -- faiss --------------------------------------------------------------------

def as_f32(X):
    return X if X.dtype == np.float32 else np.ascontiguousarray(X, dtype=np.float32)


def faiss_from(X32, C0, niter, subsample=False, seed=1234):
    """faiss.Kmeans from ``C0`` for exactly ``niter`` iterations (faiss has no
    convergence test). ``subsample=False`` switches its subsampling off."""
    import faiss

    k, d = C0.shape
    kw = {} if subsample else {"max_points_per_centroid": FAISS_NO_SUBSAMPLE}
    km = faiss.Kmeans(d, k, niter=niter, verbose=False, seed=seed, **kw)
    C = np.ascontiguousarray(C0, dtype=np.float32)
    t, _ = _clock(lambda: km.train(X32, init_centroids=C))
    return Outcome(t, niter, np.asarray(km.centroids))


def faiss_default(X32, k, seed):
    import faiss

    km = faiss.Kmeans(X32.shape[1], k, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, _ = _clock(lambda: km.train(X32))
    return Outcome(t, int(km.cp.niter), np.asarray(km.centroids))


# -- scipy --------------------------------------------------------------------

def scipy_kmeans2_from(X, C0, iters):
    """scipy.cluster.vq.kmeans2(minit='matrix'): exactly ``iters`` iterations."""
    from scipy.cluster.vq import kmeans2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, (C, _) = _clock(lambda: kmeans2(X, np.array(C0), iter=iters, minit="matrix",
                                           check_finite=False))
    return Outcome(t, iters, np.asarray(C))
