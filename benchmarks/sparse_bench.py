"""Sparse input: k-means on a synthetic TF-IDF matrix, kmeanskit vs scikit-learn.

    python -m benchmarks.sparse_bench [--quick] [--docs N]
    make bench --only sparse

The matrix (:func:`tfidf_matrix`): 200,000 documents x 50,000 terms, 50
topics, Zipfian term frequencies (a background Zipf law over the vocabulary
plus a Zipf law over each topic's own 2,000 terms), about 100 distinct
terms a document, TF-IDF weighted and L2-normalised as TfidfVectorizer
does; k = 50. Three measurements:

1. From the same start (greedy k-means++ centres drawn once): kmeanskit's
   Lloyd and its default algorithm (Hamerly on sparse rows from 8 clusters)
   against scikit-learn's Lloyd: time to convergence, iterations, inertia
   (the target: kmeanskit <= 0.4 x scikit-learn's time, same iterations and
   labels).
2. Default fits (``KMeans(50, random_state=0)`` of each library): time and
   inertia.
3. Peak memory of a default fit in a fresh process: the resident size,
   sampled every millisecond during the fit, above the process's size with
   the matrix loaded and the library warmed up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    from benchmarks.common import section, table
except ImportError:  # run as a script from benchmarks/
    from common import section, table  # type: ignore

DOCS, TERMS, NNZ, TOPICS, K = 200_000, 50_000, 100, 50, 50
QUICK_DOCS = 20_000


def tfidf_matrix(n_docs=DOCS, n_terms=TERMS, nnz=NNZ, n_topics=TOPICS, seed=0, dtype=np.float64):
    """A TF-IDF-like CSR matrix and the topic of each row.

    Each document draws ``1.3 nnz`` tokens, half from a Zipf law (exponent
    1.07) over the whole vocabulary, half from a Zipf law over its topic's
    2,000 terms (a random subset per topic); counts become
    ``tf x (ln((1 + n) / (1 + df)) + 1)``, rows L2-normalised
    (TfidfVectorizer's defaults).
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    ranks = np.arange(1, n_terms + 1, dtype=np.float64)
    bg = np.cumsum(ranks ** -1.07)
    bg /= bg[-1]
    per_topic = min(2000, n_terms)
    tz = np.cumsum(np.arange(1, per_topic + 1, dtype=np.float64) ** -1.07)
    tz /= tz[-1]
    topic_terms = np.stack([rng.choice(n_terms, per_topic, replace=False) for _ in range(n_topics)])
    topic = rng.integers(0, n_topics, n_docs)
    tokens = int(1.3 * nnz)
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), tokens)
    half = rng.random(rows.size) < 0.5
    cols = np.empty(rows.size, dtype=np.int64)
    cols[half] = np.minimum(np.searchsorted(bg, rng.random(int(half.sum()))), n_terms - 1)
    m = int((~half).sum())
    cols[~half] = topic_terms[topic[rows[~half]], np.minimum(np.searchsorted(tz, rng.random(m)),
                                                              per_topic - 1)]
    X = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_docs, n_terms))
    X.sum_duplicates()
    df = np.bincount(X.indices, minlength=n_terms)
    idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    X.data *= idf[X.indices]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X.data /= np.repeat(norms, np.diff(X.indptr))
    return X.astype(dtype), topic


def _timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t0


CHILD = r"""
import resource, sys, time
import numpy as np, scipy.sparse as sp
lib, path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
X = sp.load_npz(path).tocsr()
if lib == "kmeanskit":
    import kmeanskit
    kmeanskit.KMeans(k, random_state=0, max_iter=2).fit(X[:3000])  # compile / warm up
    fit = lambda: kmeanskit.KMeans(k, random_state=0).fit(X)
else:
    from sklearn.cluster import KMeans
    KMeans(k, random_state=0, max_iter=2).fit(X[:3000])
    fit = lambda: KMeans(k, random_state=0).fit(X)
import threading
import psutil
me = psutil.Process()
base = me.memory_info().rss
top = [base]
done = threading.Event()
def poll():  # the resident size every millisecond during the fit
    while not done.is_set():
        top[0] = max(top[0], me.memory_info().rss)
        time.sleep(0.001)
t = threading.Thread(target=poll)
t.start()
fit()
done.set()
t.join()
top[0] = max(top[0], me.memory_info().rss)
print("PEAK", base, top[0] - base, X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
"""


def peak_memory(lib, path, k):
    """(peak bytes above the loaded process, bytes of the CSR arrays)."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(root, "src"), env.get("PYTHONPATH"))
                                        if p)
    out = subprocess.run([sys.executable, "-c", CHILD, lib, path, str(k)], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    i = out.index("PEAK")
    return int(out[i + 2]), int(out[i + 3])


def run(quick: bool = False, n_docs: int | None = None, log=print) -> list[str]:
    """The three measurements; returns markdown sections."""
    import scipy.sparse as sp
    from sklearn.cluster import KMeans as SKMeans

    import kmeanskit
    from kmeanskit import _sparse

    n = n_docs or (QUICK_DOCS if quick else DOCS)
    X, _ = tfidf_matrix(n)
    log(f"sparse: {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz / X.shape[0]:.1f} non-zeros a row")
    # warm up (compilation) on a slice
    kmeanskit.KMeans(K, random_state=0, max_iter=2).fit(X[:3000])
    SKMeans(K, random_state=0, max_iter=2).fit(X[:3000])

    rows = _sparse.as_sparse_rows(X)
    C0 = rows.dense_rows(_sparse.kmeanspp_indices(rows, K, None, np.random.default_rng(0)))
    ours, t_ours = _timed(lambda: kmeanskit.KMeans(K, init=C0, algorithm="lloyd").fit(X))
    log(f"  kmeanskit same start (Lloyd): {t_ours:.2f} s, {ours.n_iter_} iterations")
    ham, t_ham = _timed(lambda: kmeanskit.KMeans(K, init=C0).fit(X))
    log(f"  kmeanskit same start (auto: Hamerly): {t_ham:.2f} s, {ham.n_iter_} iterations")
    theirs, t_sk = _timed(lambda: SKMeans(K, init=C0, n_init=1, algorithm="lloyd").fit(X))
    log(f"  scikit-learn same start: {t_sk:.2f} s, {theirs.n_iter_} iterations")
    same = table(["library", "seconds", "iterations", "inertia", "s / iteration"], [
        ["kmeanskit, Lloyd", t_ours, ours.n_iter_, ours.inertia_, t_ours / ours.n_iter_],
        ["kmeanskit, auto (Hamerly)", t_ham, ham.n_iter_, ham.inertia_, t_ham / ham.n_iter_],
        ["scikit-learn, Lloyd", t_sk, theirs.n_iter_, theirs.inertia_, t_sk / theirs.n_iter_],
    ])
    same_notes = [f"time ratio kmeanskit / scikit-learn: Lloyd {t_ours / t_sk:.2f}, auto (Hamerly) "
                  f"{t_ham / t_sk:.2f}",
                  f"same labels as scikit-learn: Lloyd {bool(np.array_equal(ours.labels_, theirs.labels_))}, "
                  f"Hamerly {bool(np.array_equal(ham.labels_, theirs.labels_))}; largest centre difference "
                  f"{float(np.abs(ours.cluster_centers_ - theirs.cluster_centers_).max()):.1e}"]

    d_ours, td_ours = _timed(lambda: kmeanskit.KMeans(K, random_state=0).fit(X))
    log(f"  kmeanskit default: {td_ours:.2f} s")
    d_sk, td_sk = _timed(lambda: SKMeans(K, random_state=0).fit(X))
    log(f"  scikit-learn default: {td_sk:.2f} s")
    default = table(["library", "seconds", "iterations", "inertia"], [
        ["kmeanskit `KMeans(50, random_state=0)`", td_ours, d_ours.n_iter_, d_ours.inertia_],
        ["scikit-learn `KMeans(50, random_state=0)`", td_sk, d_sk.n_iter_, d_sk.inertia_],
    ])
    default_notes = [f"time ratio {td_ours / td_sk:.2f}; inertia ratio "
                     f"{d_ours.inertia_ / d_sk.inertia_:.4f}"]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npz")
        sp.save_npz(path, X, compressed=False)
        mem_rows = []
        for lib in ("kmeanskit", "sklearn"):
            peak, csr = peak_memory(lib, path, K)
            mem_rows.append([lib, peak / 2**20, csr / 2**20])
            log(f"  {lib} peak: {peak / 2**20:.0f} MiB above the loaded matrix")
    mem = table(["library", "peak MiB above the loaded process", "CSR arrays MiB"], mem_rows)
    dense_mib = X.shape[0] * X.shape[1] * 8 / 2**20
    nk_mib = X.shape[0] * K * 8 / 2**20
    mem_notes = [f"for scale: a dense n x terms float64 copy would be {dense_mib:,.0f} MiB, an n x k "
                 f"float64 matrix {nk_mib:,.0f} MiB, k x terms {K * X.shape[1] * 8 / 2**20:,.0f} MiB"]
    shape = f"{X.shape[0]:,} x {X.shape[1]:,}, {X.nnz / X.shape[0]:.0f} non-zeros a row, k = {K}"
    return [
        section(f"Sparse TF-IDF, same start ({shape})", same, same_notes),
        section("Sparse TF-IDF, default fits", default, default_notes),
        section("Sparse TF-IDF, peak memory of a default fit", mem, mem_notes),
    ]


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--docs", type=int, default=None)
    a = p.parse_args()
    print("\n".join(run(a.quick, a.docs)))
