"""Mixed numeric / categorical tables: kmeanskit.KPrototypes vs the kmodes package.

    python -m benchmarks.mixed_bench [--quick] [--rows N]
    make bench --only mixed

The table (:func:`mixed_table`): 100,000 rows, 6 numeric columns (Gaussian
groups, unit spread) and 4 categorical columns (8, 8, 5 and 30 levels; each
follows the row's group with probability 0.7, else a uniform level), 8
groups; k = 8, gamma = 1.0 (the numeric columns have unit spread). Two
measurements:

1. From the same start (greedy k-means++ centres under the mixed distance
   drawn once): kmeanskit's fit against kmodes' ``KPrototypes`` (one job),
   both to convergence: time, iterations and cost (the target: kmeanskit
   >= 20 x faster, same or lower cost).
2. Seeding: Cao et al. (2009)'s density seeding against greedy k-means++
   on the mixed distance, the cost after the fit from each (k-means++: the
   mean and best of 5 seeds), on this table and on smaller ones with more
   noise.
"""

from __future__ import annotations

import time

import numpy as np

try:
    from benchmarks.common import section, table
except ImportError:  # run as a script from benchmarks/
    from common import section, table  # type: ignore

ROWS, QUICK_ROWS, K, LEVELS = 100_000, 20_000, 8, (8, 8, 5, 30)


def mixed_table(n=ROWS, k=K, dn=6, levels=LEVELS, follow=0.7, seed=0):
    """(numeric (n, dn) float64, categories (n, dc) object array of str,
    groups (n,))."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, 2.0, (k, dn))
    num = centres[y] + rng.normal(0, 1, (n, dn))
    cat = np.empty((n, len(levels)), dtype=object)
    for f, m in enumerate(levels):
        own = rng.permutation(m)[y % m]
        codes = np.where(rng.random(n) < follow, own, rng.integers(0, m, n))
        cat[:, f] = np.array([f"v{f}_{c}" for c in range(m)], dtype=object)[codes]
    return num, cat, y


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run(quick: bool = False, rows: int | None = None, log=print) -> list[str]:
    """The two measurements; returns markdown sections."""
    from kmodes.kprototypes import KPrototypes as KmKP
    from kmodes.util import encode_features

    from kmeanskit import KPrototypes, _mixed

    n = rows or (QUICK_ROWS if quick else ROWS)
    num, cat, _ = mixed_table(n)
    X = np.concatenate([num.astype(object), cat], axis=1)
    cols = list(range(6, 10))
    log(f"mixed: {n:,} rows, 6 numeric + 4 categorical columns, k = {K}")
    KPrototypes(K, categorical=cols, random_state=0, max_iter=2).fit(X[:2000])  # compile

    codes = _mixed.TableCodes().fit(X, cols)
    data = codes.encode(X)
    C0 = _mixed.initial_centers(data, K, None, 1.0, "k-means++", np.random.default_rng(0))
    init_rows = np.empty((K, 10), dtype=object)
    init_rows[:, :6] = C0[:, :6]
    init_rows[:, 6:] = codes.decode(C0)[1]
    ours, t_ours = _timed(lambda: KPrototypes(K, categorical=cols, init=init_rows, gamma=1.0).fit(X))
    log(f"  kmeanskit: {t_ours:.2f} s, {ours.n_iter_} iterations, cost {ours.cost_:.6g}")
    ours1, t_ours1 = _timed(lambda: KPrototypes(K, categorical=cols, init=init_rows, gamma=1.0,
                                                n_threads=1).fit(X))
    _, enc_map = encode_features(cat)
    cat0, _ = encode_features(np.asarray(init_rows[:, 6:]), enc_map)
    km_init = [C0[:, :6].copy(), cat0]
    theirs, t_km = _timed(lambda: KmKP(K, init=km_init, gamma=1.0, n_init=1, max_iter=100,
                                       n_jobs=1).fit(X, categorical=cols))
    log(f"  kmodes: {t_km:.2f} s, {theirs.n_iter_} iterations, cost {theirs.cost_:.6g}")
    same = table(["library", "seconds", "iterations", "cost", "s / iteration"], [
        ["kmeanskit `KPrototypes` (all cores)", t_ours, ours.n_iter_, ours.cost_, t_ours / ours.n_iter_],
        ["kmeanskit `KPrototypes` (1 thread)", t_ours1, ours1.n_iter_, ours1.cost_,
         t_ours1 / ours1.n_iter_],
        ["kmodes `KPrototypes` (n_jobs=1)", t_km, theirs.n_iter_, theirs.cost_, t_km / theirs.n_iter_],
    ])
    same_notes = [f"speed-up over kmodes: {t_km / t_ours:.0f} x (all cores), {t_km / t_ours1:.0f} x "
                  f"(1 thread); cost ratio kmeanskit / kmodes {ours.cost_ / theirs.cost_:.6f}",
                  f"same labels as kmodes: {bool(np.array_equal(ours.labels_, theirs.labels_))}",
                  "the time includes turning the object table into codes (both libraries)"]

    seed_rows = []
    for label, (nn, follow, seed) in {"this table": (n, 0.7, 0),
                                      "20,000 rows, follow 0.5": (20_000, 0.5, 1),
                                      "5,000 rows, follow 0.4": (5_000, 0.4, 2)}.items():
        num2, cat2, _ = mixed_table(nn, follow=follow, seed=seed)
        X2 = np.concatenate([num2.astype(object), cat2], axis=1)
        cao = KPrototypes(K, categorical=cols, init="cao", gamma=1.0).fit(X2).cost_
        pp = [KPrototypes(K, categorical=cols, init="k-means++", gamma=1.0, random_state=s).fit(X2).cost_
              for s in range(5)]
        seed_rows.append([label, cao, float(np.mean(pp)), float(np.min(pp)),
                          float(np.mean(np.asarray(pp) <= cao))])
        log(f"  seeding ({label}): Cao {cao:.6g}, k-means++ mean {np.mean(pp):.6g} best {np.min(pp):.6g}")
    seeding = table(["table", "cost from Cao", "k-means++ mean of 5", "k-means++ best of 5",
                     "share of k-means++ seeds <= Cao"], seed_rows)
    return [
        section(f"k-prototypes, same start ({n:,} rows, 6 numeric + 4 categorical, k = {K})",
                same, same_notes),
        section("k-prototypes seeding: Cao et al. 2009 vs greedy k-means++ (cost after the fit)",
                seeding),
    ]


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rows", type=int)
    a = p.parse_args()
    print("\n".join(run(a.quick, a.rows)))
