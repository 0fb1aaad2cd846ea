"""Compile the numba kernels the test suite uses, split over processes.

With a cold cache, each pytest-xdist worker compiles every kernel it meets,
so two workers starting together compile the same kernels twice, one on
each core. ``conftest.py`` runs this module first instead, in one process
per worker, each compiling a different share of the kernels' type
specialisations (float64 in one, float32 and the image, search and
criteria kernels in the other); numba caches them on disk, and the workers
then load them from there. With a warm cache it only loads them (a few
seconds).

Run by hand: ``python tests/warmup.py PART N_PARTS``.
"""

from __future__ import annotations

import sys

import numpy as np


def _engine(dtype):
    """The Euclidean engine: every algorithm and distance strategy, compact
    (int8, int16) and int32 labels, weights, seedings, vq and the estimator."""
    import kmeanskit
    from kmeanskit import KMeans, vq

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(600, 3)) + rng.integers(0, 4, (600, 1)) * 4).astype(dtype)
    w = rng.random(600).astype(dtype)
    for algo in ("lloyd", "hamerly", "elkan", "exponion", "yinyang"):
        kmeanskit.fit(X, 4, algorithm=algo, random_state=0, max_iter=5)
        kmeanskit.fit(X, 4, algorithm=algo, sample_weight=w, random_state=0, max_iter=5)
    kmeanskit.fit(X, 4, init="random", n_init=2, random_state=0, max_iter=3)
    for d, k in ((130, 128), (16, 300)):  # the BLAS layouts (rows x centres, centres x rows)
        Y = rng.normal(size=(700, d)).astype(dtype)
        kmeanskit.fit(Y, k, init=Y[:k].copy(), max_iter=2)
        kmeanskit.fit(Y, k, init=Y[:k].copy(), max_iter=2, algorithm="hamerly")
    kmeanskit.fit(Y, 8, init="k-means||", max_iter=2)  # its rounds' skipping kernels (d >= 12)
    # rows a multiple of 256 bytes apart: the direct pass's row-by-row variant
    Z = rng.normal(size=(700, 256 // np.dtype(dtype).itemsize)).astype(dtype)
    kmeanskit.fit(Z, 5, init=Z[:5].copy(), max_iter=2)
    kmeanskit.fit(Z, 5, init=Z[:5].copy(), max_iter=2, sample_weight=rng.random(700))
    kmeanskit.assign(X, X[:4])
    km = KMeans(4, random_state=0, n_init=1).fit(X)
    km.predict(X), km.transform(X), km.score(X)
    vq.kmeans(X, 3, iter=2, rng=0)
    vq.kmeans(np.hstack([X, X]), 3, iter=1, rng=0)
    for minit in ("random", "points", "++"):
        vq.kmeans2(X, 3, minit=minit, rng=0)
    vq.vq(X, X[:3])


def _metrics(dtype):
    """The other metrics' passes, updates, seeding and distances."""
    import kmeanskit
    from kmeanskit import KMeans

    rng = np.random.default_rng(1)
    X = (rng.normal(size=(300, 3)) + 5.0).astype(dtype)
    for metric in ("manhattan", "cosine", "chebyshev"):
        kmeanskit.fit(X[:80], 3, metric=metric, random_state=0, max_iter=3)
        kmeanskit.assign(X, X[:3], metric=metric)
        KMeans(3, metric=metric, random_state=0, max_iter=3).fit(X[:80]).transform(X)


def _images_and_tables():
    """Colour, search and criteria kernels (float64 / uint8 only)."""
    import kmeanskit
    from kmeanskit import ClusterIndex

    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    for space in ("lab", "rgb"):
        kmeanskit.dominant_colors(img, 4, color_space=space)
    kmeanskit.quantize(img, 4, dither=True)
    X = rng.normal(size=(400, 4))
    kmeanskit.choose_k(X, k=range(2, 5), random_state=0)
    ix = ClusterIndex(kmeanskit.fit(X, 4, random_state=0))
    ix.add(X)
    ix.search(X[0], n=2)


def _sparse_and_mixed():
    """Sparse rows (fit, choose_k's criteria) and k-prototypes with gaps
    (fit, outlier scores)."""
    import scipy.sparse as sp

    import kmeanskit
    from kmeanskit import KPrototypes

    rng = np.random.default_rng(3)
    S = sp.random(300, 40, density=0.1, format="csr", random_state=3) + \
        sp.csr_matrix(np.repeat(np.eye(4), [75, 75, 75, 75], axis=0) @ rng.random((4, 40)))
    for metric in ("euclidean", "cosine"):
        kmeanskit.choose_k(S.tocsr(), k=range(2, 4), metric=metric, random_state=0)
    num = rng.normal(size=(200, 2))
    num[::7, 0] = np.nan
    rows = np.empty((200, 3), dtype=object)
    rows[:, :2] = num
    rows[:, 2] = rng.choice(["a", "b", "c"], 200)
    km = KPrototypes(3, categorical=[2], missing="ignore", random_state=0, max_iter=5).fit(rows)
    kmeanskit.outlier_scores(km, rows)


PARTS = [
    [lambda: _engine(np.float64), lambda: _metrics(np.float64), _sparse_and_mixed],
    [lambda: _engine(np.float32), lambda: _metrics(np.float32), _images_and_tables],
]


def run(part: int, n_parts: int) -> None:
    """Run the warm-up calls of ``part`` (of ``n_parts`` processes)."""
    import warnings

    jobs = [job for i, share in enumerate(PARTS) if i % n_parts == part for job in share]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for job in jobs:
            job()


if __name__ == "__main__":
    run(int(sys.argv[1]), int(sys.argv[2]))
