"""Slow, obviously-correct NumPy references for the kernels and solvers.

Everything here is float64, vectorised only where that keeps it obvious, and
builds the full n x k distance matrix (fine for test sizes).
"""

from __future__ import annotations

import numpy as np


def sq_distances(X, C):
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def assign(X, C, w=None):
    """(labels, squared distances, weighted inertia)."""
    D = sq_distances(X, C)
    labels = D.argmin(axis=1)
    d2 = D[np.arange(len(X)), labels]
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64)
    return labels, d2, float((w * d2).sum())


def update(X, labels, k, w=None, old=None):
    """Weighted means per cluster; empty clusters keep ``old`` (or NaN)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64)
    C = np.full((k, X.shape[1]), np.nan) if old is None else np.array(old, dtype=np.float64)
    for j in range(k):
        m = labels == j
        if w[m].sum() > 0:
            C[j] = (w[m, None] * X[m]).sum(axis=0) / w[m].sum()
    return C


def lloyd(X, C0, max_iter=300, tol=0.0, w=None):
    """Lloyd with scikit-learn's stopping rule (labels unchanged, or the sum
    of squared centre shifts <= tol * mean variance). Assumes no cluster gets
    empty. Returns (centres, labels, inertia, n_iter)."""
    X = np.asarray(X, dtype=np.float64)
    tol_abs = tol * np.var(X, axis=0).mean()
    C = np.array(C0, dtype=np.float64)
    labels_old = None
    it = 0
    for it in range(max_iter):
        labels, _, _ = assign(X, C, w)
        C_new = update(X, labels, len(C), w, old=C)
        shift = ((C_new - C) ** 2).sum()
        C = C_new
        if labels_old is not None and np.array_equal(labels, labels_old):
            break
        if shift <= tol_abs:
            break
        labels_old = labels
    labels, _, inertia = assign(X, C, w)
    return C, labels, inertia, it + 1


def scipy_kmeans_run(X, guess, thresh=1e-5):
    """scipy.cluster.vq's single run, written out: mean non-squared distance,
    stop when it changes by <= thresh, drop empty clusters."""
    X = np.asarray(X, dtype=np.float64)
    book = np.array(guess, dtype=np.float64)
    prev = np.inf
    while True:
        labels, d2, _ = assign(X, book)
        avg = np.sqrt(d2).mean()
        k = len(book)
        counts = np.bincount(labels, minlength=k)
        book = np.array([X[labels == j].mean(axis=0) for j in range(k) if counts[j] > 0])
        diff = abs(prev - avg)
        prev = avg
        if not diff > thresh:
            return book, avg


# --- colour science (images) ---------------------------------------------------

def srgb_to_lab(rgb01):
    """sRGB floats in [0, 1] -> CIELAB (D65), the textbook formulas in NumPy."""
    c = np.asarray(rgb01, dtype=np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    M = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ M.T
    xyz = xyz / M.sum(axis=1)
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def nearest_colors(pixels, centers):
    """Index of the nearest centre of every row (first on ties)."""
    P = np.asarray(pixels, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64)
    return np.argmin(((P[:, None, :] - C[None, :, :]) ** 2).sum(axis=2), axis=1)
