"""Hit rate of choose_k's recommendation on Gaussian blobs with known k.

A grid of true k, dimensions, sizes and separations (the smallest distance
between two centres, in units of the blobs' standard deviation), a few seeds
each. Prints the hit rate of the recommendation (best_k) and of each
criterion, for well-separated data (min separation >= 6) and for the rest.

Run: PYTHONPATH=src python benchmarks/sweep_grid.py [--seeds 3] [--first-seed 0] [--gap]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from kmeanskit import choose_k
from kmeanskit.selection import kneedle


def make_blobs(true_k, d, n, sep, seed):
    """Centres drawn uniformly in a box, redrawn until every pair is at least
    ``sep`` apart; unit-variance Gaussian blobs, equal expected sizes."""
    rng = np.random.default_rng(seed)
    side = sep * max(2.0, true_k ** (1 / d) * 2.0)
    for _ in range(10_000):
        C = rng.uniform(0, side, size=(true_k, d))
        D = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1)) + np.eye(true_k) * 1e9
        if D.min() >= sep:
            break
    lab = rng.integers(0, true_k, n)
    return C[lab] + rng.normal(size=(n, d))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (0 is the set the defaults were tuned on)")
    ap.add_argument("--gap", action="store_true", help="add the gap statistic (slower)")
    a = ap.parse_args()
    criteria = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin") + (("gap",) if a.gap else ())
    grid = list(itertools.product((2, 3, 4, 6, 8), (2, 5, 10), (300, 3000), (3.0, 6.0, 10.0),
                                  range(a.first_seed, a.first_seed + a.seeds)))
    hits = {}
    for true_k, d, n, sep, seed in grid:
        X = make_blobs(true_k, d, n, sep, seed * 7919 + true_k * 101 + d * 11 + n)
        sw = choose_k(X, range(1, 11), criteria=criteria, random_state=seed)
        linear = kneedle(sw.k, sw.inertia, curve="convex", direction="decreasing").x
        row = dict(best_k=sw.best_k, **sw.votes(), elbow_linear=linear)
        group = "separated (sep >= 6)" if sep >= 6 else "overlapping (sep = 3)"
        for name, v in row.items():
            hits.setdefault(group, {}).setdefault(name, []).append(v == true_k)
    for group, h in hits.items():
        n_cases = len(h["best_k"])
        print(f"{group}: {n_cases} data sets")
        for name, v in h.items():
            print(f"  {name:20s} hit rate {np.mean(v):6.1%}")


if __name__ == "__main__":
    main()
