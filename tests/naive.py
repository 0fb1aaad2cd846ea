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


# --- other metrics (k-medians, spherical k-means, Chebyshev) -------------------

def metric_distances(X, C, metric):
    """(n, k) distances: 'euclidean' (not squared), 'sqeuclidean',
    'manhattan', 'cosine' (1 - cos, clipped at 0) or 'chebyshev'."""
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    diff = X[:, None, :] - C[None, :, :]
    if metric == "sqeuclidean":
        return (diff ** 2).sum(axis=2)
    if metric == "euclidean":
        return np.sqrt((diff ** 2).sum(axis=2))
    if metric == "manhattan":
        return np.abs(diff).sum(axis=2)
    if metric == "chebyshev":
        return np.abs(diff).max(axis=2)
    if metric == "cosine":
        xn = np.linalg.norm(X, axis=1)
        cn = np.linalg.norm(C, axis=1)
        return np.maximum(1.0 - (X @ C.T) / (xn[:, None] * cn[None, :]), 0.0)
    raise ValueError(metric)


def metric_assign(X, C, metric, w=None):
    """(labels, distance to the assigned centre, weighted objective)."""
    D = metric_distances(X, C, metric)
    labels = D.argmin(axis=1)
    d = D[np.arange(len(X)), labels]
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64)
    return labels, d, float((w * d).sum())


def cluster_objective(P, c, metric, w=None):
    """sum_i w_i dist(P[i], c)."""
    w = np.ones(len(P)) if w is None else np.asarray(w, dtype=np.float64)
    return float((w * metric_distances(P, np.atleast_2d(c), metric)[:, 0]).sum())


def weighted_median(v, w):
    """A minimiser of sum_i w_i |v_i - m| found by trying every v_i (the
    objective is piecewise linear with kinks at the v_i); the lowest on ties
    (costs equal up to rounding count as ties)."""
    v = np.asarray(v, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    cost = [(w * np.abs(v - m)).sum() for m in v]
    best = min(cost)
    return float(min(m for m, c in zip(v, cost) if c <= best + 1e-12 * max(1.0, best)))


def chebyshev_center(P, w=None):
    """argmin_c sum_i w_i max_f |P[i, f] - c_f| as a dense LP, solved with
    HiGHS' interior point method (variables c, t; -t_i <= P[i,f] - c_f <= t_i)."""
    from scipy.optimize import linprog

    P = np.asarray(P, dtype=np.float64)
    m, d = P.shape
    w = np.ones(m) if w is None else np.asarray(w, dtype=np.float64)
    A, b = [], []
    for i in range(m):
        for f in range(d):
            row = np.zeros(d + m)
            row[f], row[d + i] = 1.0, -1.0  # c_f - t_i <= P[i, f]
            A.append(row)
            b.append(P[i, f])
            row = np.zeros(d + m)
            row[f], row[d + i] = -1.0, -1.0  # -c_f - t_i <= -P[i, f]
            A.append(row)
            b.append(-P[i, f])
    res = linprog(np.concatenate([np.zeros(d), w]), A_ub=np.array(A), b_ub=np.array(b),
                  bounds=[(None, None)] * d + [(0, None)] * m, method="highs-ipm")
    assert res.status == 0
    return res.x[:d]


def metric_update(X, labels, k, metric, w=None, old=None):
    """Centre of every cluster under ``metric``; empty clusters keep ``old``."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64)
    C = np.array(old, dtype=np.float64)
    for j in range(k):
        m = (labels == j) & (w > 0)
        if not m.any():
            continue
        P, wj = X[m], w[m]
        if metric == "manhattan":
            C[j] = [weighted_median(P[:, f], wj) for f in range(X.shape[1])]
        elif metric == "cosine":
            s = (wj[:, None] * P / np.linalg.norm(P, axis=1)[:, None]).sum(axis=0)
            if np.linalg.norm(s) > 0:
                C[j] = s / np.linalg.norm(s)
        elif metric == "chebyshev":
            C[j] = chebyshev_center(P, wj)
        else:
            C[j] = (wj[:, None] * P).sum(axis=0) / wj.sum()
    return C


def metric_lloyd(X, C0, metric, max_iter=300, w=None):
    """Lloyd-style k-means under ``metric``, stopping when no label changes.
    Assumes no cluster gets empty. Returns (centres, labels, objective,
    n_iter)."""
    C = np.array(C0, dtype=np.float64)
    labels_old = None
    it = 0
    for it in range(max_iter):
        labels, _, _ = metric_assign(X, C, metric, w)
        C = metric_update(X, labels, len(C), metric, w, old=C)
        if labels_old is not None and np.array_equal(labels, labels_old):
            break
        labels_old = labels
    labels, _, obj = metric_assign(X, C, metric, w)
    return C, labels, obj, it + 1


def kmeanspp_metric(X, k, rng, metric, n_trials, w=None):
    """Greedy k-means++ under ``metric`` written out: first row drawn
    uniformly (or by weight), then ``n_trials`` candidates per step drawn
    with probability w * D(x) (D the distance to the closest chosen centre),
    keeping the one with the lowest potential sum w * min(D, d(x, cand)).
    Consumes ``rng`` as kmeanskit does: one uniform for the first row, then
    all the step uniforms at once. Returns the row indices."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    u0 = rng.random()
    cw = np.cumsum(w)
    first = min(int(np.searchsorted(cw, u0 * cw[-1], side="right")), n - 1)
    us = rng.random((k - 1) * n_trials)
    idx = [first]
    closest = metric_distances(X, X[[first]], metric)[:, 0]
    for step in range(1, k):
        p = w * closest
        cum = np.cumsum(p)
        best = None
        for t in range(n_trials):
            c = int(np.searchsorted(cum, us[(step - 1) * n_trials + t] * cum[-1], side="right"))
            new = np.minimum(closest, metric_distances(X, X[[c]], metric)[:, 0])
            pot = float((w * new).sum())
            if best is None or pot < best[0]:
                best = (pot, c, new)
        _, c, closest = best
        idx.append(c)
    return idx
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


# --- similar-item search ---------------------------------------------------------

def pair_distances(Q, X, metric):
    """(q, n) float64 distances in ``metric`` (Euclidean not squared;
    cosine is 1 - cos, 0 below 1e-12), the textbook formulas."""
    Q = np.asarray(Q, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    diff = Q[:, None, :] - X[None, :, :]
    if metric == "euclidean":
        return np.sqrt((diff ** 2).sum(axis=2))
    if metric == "manhattan":
        return np.abs(diff).sum(axis=2)
    if metric == "chebyshev":
        return np.abs(diff).max(axis=2)
    cos = (Q @ X.T) / np.linalg.norm(Q, axis=1)[:, None] / np.linalg.norm(X, axis=1)[None, :]
    v = 1.0 - cos
    return np.where(v > 1e-12, v, 0.0)


def knn(Q, X, n, metric, allowed=None):
    """Brute-force n nearest rows of X for each query, sorted by (distance,
    row index); ``allowed[i]`` (bool mask over rows) restricts query i.
    Returns (rows (q, n) padded with -1, distances padded with inf)."""
    D = pair_distances(Q, X, metric)
    q = D.shape[0]
    rows = np.full((q, n), -1, dtype=np.int64)
    dist = np.full((q, n), np.inf)
    for i in range(q):
        cand = np.arange(X.shape[0]) if allowed is None else np.flatnonzero(allowed[i])
        order = sorted(cand.tolist(), key=lambda r: (D[i, r], r))[:n]
        rows[i, :len(order)] = order
        dist[i, :len(order)] = D[i, order]
    return rows, dist


# --- anomaly scores and cluster-affinity features --------------------------------

def nearest_distance(X, C, metric):
    """(labels, true distance to the nearest centre) under ``metric``."""
    D = metric_distances(X, C, metric)
    labels = D.argmin(axis=1)
    return labels, D[np.arange(len(D)), labels]


def cluster_spread(X, C, metric):
    """Median member distance per cluster; clusters with no member or a
    spread <= 1e-9 x the largest take the median of the others (else 1)."""
    labels, d = nearest_distance(X, C, metric)
    spread = []
    for j in range(len(C)):
        members = [d[i] for i in range(len(d)) if labels[i] == j]
        spread.append(float(np.median(members)) if members else 0.0)
    spread = np.array(spread)
    good = [j for j in range(len(C)) if spread[j] > 0 and spread[j] > 1e-9 * spread.max()]
    fill = float(np.median(spread[good])) if good else 1.0
    return np.array([spread[j] if j in good else fill for j in range(len(C))])


def outlier_scores(X, C, metric, normalize=False, reference=None):
    labels, d = nearest_distance(X, C, metric)
    if not normalize:
        return d
    spread = cluster_spread(X if reference is None else reference, C, metric)
    return np.array([d[i] / spread[labels[i]] for i in range(len(d))])


def top_fraction(scores, contamination):
    """Mask of the ceil(c n) highest scores, ties to the lower index."""
    n = len(scores)
    m = max(1, int(np.ceil(contamination * n - 1e-9)))
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    mask = np.zeros(n, dtype=bool)
    mask[order[:m]] = True
    return mask


def default_gamma(X, C, metric):
    """1 / mean squared distance to the nearest centre."""
    return 1.0 / float(np.mean(nearest_distance(X, C, metric)[1] ** 2))


def affinity(X, C, metric, kind, gamma):
    """distance / exp(-gamma d^2) / its row-normalised softmax, row by row."""
    D = metric_distances(X, C, metric)
    if kind == "distance":
        return D
    if kind == "rbf":
        return np.exp(-gamma * D ** 2)
    out = np.empty_like(D)
    for i in range(len(D)):
        z = -gamma * D[i] ** 2
        e = np.exp(z - z.max())
        out[i] = e / e.sum()
    return out


# --- table segmentation profiles (kmeanskit.segment) ----------------------------

def segment_profile(values, features, labels, k):
    """Per cluster, by plain loops: size, share, column means and medians of
    ``values`` (input units), and the (cluster mean - overall mean) / overall
    sd of ``features`` (population sd), all unweighted."""
    values = np.asarray(values, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    n, d = values.shape
    mu = [sum(features[i, j] for i in range(n)) / n for j in range(d)]
    sd = [np.sqrt(sum((features[i, j] - mu[j]) ** 2 for i in range(n)) / n) for j in range(d)]
    out = []
    for c in range(k):
        rows = [i for i in range(n) if labels[i] == c]
        size = len(rows)
        mean = [sum(values[i, j] for i in rows) / size for j in range(d)]
        med = []
        for j in range(d):
            s = sorted(values[i, j] for i in rows)
            med.append(s[size // 2] if size % 2 else (s[size // 2 - 1] + s[size // 2]) / 2)
        fmean = [sum(features[i, j] for i in rows) / size for j in range(d)]
        z = [(fmean[j] - mu[j]) / sd[j] for j in range(d)]
        out.append({"size": size, "share": size / n, "mean": mean, "median": med, "z": z})
    return out


# --- CIEDE2000 (kmeanskit._ciede, Lab mode of kmeanskit.image) ---------------------

def ciede2000(lab1, lab2):
    """CIEDE2000 of two Lab triples, Sharma, Wu & Dalal (2005) eqs. (1)-(23)
    written out literally with hue angles in degrees (plain Python floats)."""
    import math

    L1, a1, b1 = map(float, lab1)
    L2, a2, b2 = map(float, lab2)
    Cb = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    G = 0.5 * (1 - math.sqrt(Cb ** 7 / (Cb ** 7 + 25 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = math.hypot(a1p, b1), math.hypot(a2p, b2)

    def hue(a, b):
        return 0.0 if a == 0 and b == 0 else math.degrees(math.atan2(b, a)) % 360

    h1p, h2p = hue(a1p, b1), hue(a2p, b2)
    dLp, dCp = L2 - L1, C2p - C1p
    if C1p * C2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    elif h2p - h1p > 180:
        dhp = h2p - h1p - 360
    else:
        dhp = h2p - h1p + 360
    dHp = 2 * math.sqrt(C1p * C2p) * math.sin(math.radians(dhp / 2))
    Lbp, Cbp = (L1 + L2) / 2, (C1p + C2p) / 2
    if C1p * C2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    elif h1p + h2p < 360:
        hbp = (h1p + h2p + 360) / 2
    else:
        hbp = (h1p + h2p - 360) / 2
    T = (1 - 0.17 * math.cos(math.radians(hbp - 30)) + 0.24 * math.cos(math.radians(2 * hbp))
         + 0.32 * math.cos(math.radians(3 * hbp + 6)) - 0.20 * math.cos(math.radians(4 * hbp - 63)))
    dtheta = 30 * math.exp(-(((hbp - 275) / 25) ** 2))
    RC = 2 * math.sqrt(Cbp ** 7 / (Cbp ** 7 + 25 ** 7))
    SL = 1 + 0.015 * (Lbp - 50) ** 2 / math.sqrt(20 + (Lbp - 50) ** 2)
    SC = 1 + 0.045 * Cbp
    SH = 1 + 0.015 * Cbp * T
    RT = -math.sin(math.radians(2 * dtheta)) * RC
    return math.sqrt(max((dLp / SL) ** 2 + (dCp / SC) ** 2 + (dHp / SH) ** 2
                         + RT * (dCp / SC) * (dHp / SH), 0.0))


def nearest_ciede2000(lab, centers):
    """(labels, distances): for each Lab row, every centre tried in order and
    the first of smallest CIEDE2000 kept."""
    labels, dist = [], []
    for x in np.asarray(lab, dtype=np.float64):
        d = [ciede2000(x, c) for c in np.asarray(centers, dtype=np.float64)]
        j = int(np.argmin(d))
        labels.append(j)
        dist.append(d[j])
    return np.array(labels), np.array(dist)


# --- k-prototypes outlier scores (mixed tables, missing values) ------------------------

def mixed_outlier_scores(num, cat, Cn, Cc, gamma, normalize=False, reference=None):
    """(labels, scores) of k-prototypes rows, one row and one centre at a time.

    ``num`` holds numbers with NaN for a missing value; ``cat`` category codes
    with -1 for a missing value and -2 for a category the model never saw
    (present, equal to no centre's). The nearest centre minimises the
    distance over the present entries, the unseen ones left out (they add
    the same gamma to every centre; lowest index on ties). The score is
    sqrt(d * p / p_obs): d the distance to that centre over the present
    entries, unseen ones counting gamma, p the number of columns, p_obs the
    present entries; NaN when nothing is present. ``normalize``: divided by
    the median score of the cluster's rows of ``reference`` = (num, cat)
    (default: the rows themselves), with the fill rule of cluster_spread.
    """
    import math

    num, cat = np.asarray(num, dtype=np.float64), np.asarray(cat)
    n, dn = num.shape
    dc = cat.shape[1]
    p = dn + dc
    labels, scores = np.zeros(n, dtype=np.int64), np.zeros(n)
    for i in range(n):
        best, bj = math.inf, 0
        for j in range(len(Cn)):
            d = 0.0
            for f in range(dn):
                if not math.isnan(num[i, f]):
                    d += (num[i, f] - Cn[j][f]) ** 2
            for f in range(dc):
                if cat[i, f] >= 0 and cat[i, f] != Cc[j][f]:
                    d += gamma
            if d < best:
                best, bj = d, j
        unseen = sum(1 for f in range(dc) if cat[i, f] == -2)
        present = sum(1 for f in range(dn) if not math.isnan(num[i, f])) + sum(
            1 for f in range(dc) if cat[i, f] != -1)
        labels[i] = bj
        scores[i] = math.sqrt((best + gamma * unseen) * p / present) if present else math.nan
    if not normalize:
        return labels, scores
    rl, rs = (labels, scores) if reference is None else mixed_outlier_scores(*reference, Cn, Cc, gamma)
    spread = []
    for j in range(len(Cn)):
        members = [rs[i] for i in range(len(rs)) if rl[i] == j and not math.isnan(rs[i])]
        spread.append(float(np.median(members)) if members else 0.0)
    spread = np.array(spread)
    good = [j for j in range(len(Cn)) if spread[j] > 0 and spread[j] > 1e-9 * spread.max()]
    fill = float(np.median(spread[good])) if good else 1.0
    spread = np.array([spread[j] if j in good else fill for j in range(len(Cn))])
    return labels, np.array([scores[i] / spread[labels[i]] for i in range(n)])
