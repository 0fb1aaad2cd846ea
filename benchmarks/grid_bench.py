"""Suite ``grid`` (issue 20): a shape grid of Lloyd passes, against the peers
and against the machine's bounds, side by side in one run.

    make bench BENCH_ARGS="--only grid"            # full grid, about 30 minutes on 2 cores
    make bench BENCH_ARGS="--quick --only grid"    # n=20,000, d in {2, 16}, k in {3, 16}: harness check
    .bench-venv/bin/python -m benchmarks.grid_bench --from out/bench/grid.json   # tables + PNG again

Grid: n in {200k, 2M}, d in {2, 3, 8, 16, 32, 64, 128}, k in {3, 5, 8, 12, 16,
32, 64, 256, 1024}, float32, plus float64 on a diagonal of cells (``diagonal``:
the i-th d with the k at the same fraction of the k axis). Data: one Gaussian
mixture per (n, d) (``K_TRUE`` blobs, ``data.gaussian_mixture``, fixed seed),
generated once and shared by every k (the float32 cells use the float64 data
rounded to float32). Start: greedy k-means++ (kmeanskit's, fixed seed) on the
first max(20,000, 20 k) rows (the rows are in random order), the same centres
for every library (float64 cells: the same rows in float64).

Per cell:

- **ms per Lloyd pass**: a fixed number of iterations (10; 5 or 3 where the
  cell budget demands) from the same start with tol=0, for kmeanskit
  ``auto`` (the algorithm it resolves to is shown), kmeanskit ``lloyd``
  (only where auto is not Lloyd: otherwise the same run), scikit-learn
  ``KMeans(algorithm="lloyd", init=C0, n_init=1, max_iter=iters, tol=0)`` and
  faiss ``Kmeans(niter=iters, max_points_per_centroid=2^30)`` trained with
  ``init_centroids=C0`` (no subsampling: equal work; float64 cells give faiss
  the float32 copy, converted before the clock). Fit time / iterations done,
  median over the repeats (3 where the budget allows, else 1), runs
  interleaved A B C A B C with a pause before each (``common.interleave``).
  Everything runs under ``common.limit_threads`` (numba, BLAS, OpenMP and
  faiss at the machine's core count).
- **time to convergence** from the same start with each library's default
  stopping rule: kmeanskit and scikit-learn tol=1e-4 (sum of squared centre
  shifts <= 1e-4 x mean feature variance, or no label changed), max_iter
  300; faiss has no convergence test and runs kmeanskit auto's iteration
  count (as in the ``lloyd`` suite).
- **bound** per pass = max(n d itemsize / stream bandwidth, 2 n d k / GEMM
  rate): the bandwidth of a parallel numba read of a float32 array
  (``stream_mib``: 1 GiB, best of 5; numpy's single-threaded sum is measured too and
  the faster counts), the GEMM rate of one square N x N @ N x N numpy product
  (N = 3072) in the cell's dtype (best of 5). The rates of the (65536 x d) @ (d x k)
  products are recorded too (JSON and one table) but not used by the bound.
- **inertia**: exact float64 (``common.exact_inertia``) of every library's
  centres on the first ``inertia_rows`` rows (all rows when n k d is small),
  to check that the equal-work runs did the same work.

Pre-roll: every timed run (per pass and to convergence, every library) comes
right after an untimed one-iteration run of the same library (``PREROLL``).
On the 2-core VM of docs/benchmarks.md the first ~30 ms of work after the
0.3 s pause between runs run several times slower (a 1.6 MB array untouched
for 0.5 s took 23-32 ms to sum, then 0.09 ms; 200,000 x 2, k = 16: kmeanskit
Lloyd 5.7 ms a pass after the pause, 1.6 with the pre-roll; scikit-learn 10.6
and 5.0): without it the grid's small cells measured that wake-up more than
the pass, and most for the fastest library.

Budget: each cell has ``cell_budget_s`` (20 s: measurement time, pauses
included; data generation, k-means++ and inertia checks are outside it).
A library's pass time is predicted from the nearest measured cell (same row of
d, smaller k; then smaller d; then the smaller n or the float32 cell), as its
ratio to the bound times this cell's bound; libraries predicted not to fit
(one probe pass + 3 passes) are left out, kmeanskit lloyd first, then the
most expensive peers, and a cell whose kmeanskit auto run does not fit is
"skipped (over budget)". One probe pass of every library then fixes the
iterations and repeats, and the rest of the budget goes to the convergence
runs (kmeanskit auto capped at the iterations the budget leaves; the peers
only where they are predicted to fit). The whole grid stops at
``total_budget_s`` (40 min: "skipped (grid budget spent)"). Both budgets can
be set with the environment variables KMEANSKIT_GRID_CELL_S and
KMEANSKIT_GRID_TOTAL_S.

Targets (issue 20) checked at the end: per pass <= 0.4 x the fastest peer in
every cell and the median cell <= 0.25 x; per pass within 4 x of the bound
for d <= 8 and within 1.5 x of the GEMM bound (2 n d k / GEMM rate) for
d >= 64 (checked against the cell's bound, max(memory, GEMM): where k is
small the memory term is the larger and no pass can beat it); no cliff: no float32 cell's kmeanskit auto ms per pass above 2 x the
linear interpolation in log k of its nearest measured neighbours in k (same
n and d); the first and last k of a row have no interpolation.

Output: markdown sections (returned), ``grid.json`` (raw results; the tables
and the PNG can be regenerated from it) and ``grid.png`` (heat maps) in
``out/bench/`` (``grid-quick.*`` with ``--quick``; KMEANSKIT_BENCH_GRID_DIR
overrides the folder).
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass

import numba
import numpy as np

from . import data, peers
from .common import PAUSE_S, Runner, exact_inertia, fmt, limit_threads, n_cores, section, table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Gaussian blobs in every (n, d) data set; their standard deviation and spread.
K_TRUE = 100
BLOB_SCALE = 0.15
BLOB_SPREAD = 1.0
#: k-means++ runs on the first max(INIT_ROWS, INIT_PER_CLUSTER * k) rows.
INIT_ROWS = 20_000
INIT_PER_CLUSTER = 20
TOL = 1e-4
CONV_MAX_ITER = 300
#: the convergence runs are left out when the budget leaves fewer iterations
MIN_CONV_CAP = 10
#: (iterations, repeats) of the per-pass measurement, best first; the first
#: that fits the cell's budget is used.
PLANS = ((10, 3), (10, 2), (10, 1), (5, 1), (3, 1))
#: share of the remaining cell budget the per-pass runs may take
FIXED_SHARE = 0.6
#: An untimed one-iteration run of the same library before every timed run
#: (the module docstring, "Pre-roll", says why).
PREROLL = True
#: the float64 sum of exact inertia computations: rows limited to about this
#: many flops (n x k x d x 2) per library, at least INERTIA_MIN_ROWS
INERTIA_FLOPS = 1e10
INERTIA_MIN_ROWS = 20_000
INERTIA_MAX_ROWS = 500_000
#: ratio of a pass to the bound assumed when no cell was measured yet
DEFAULT_RATIO = {"kmeanskit": 5.0, "sklearn": 20.0, "sklearnex": 20.0, "faiss": 20.0}

AUTO = "kmeanskit auto"
LLOYD = "kmeanskit lloyd"
PEERS = ("sklearn lloyd", "sklearnex lloyd", "faiss")

#: target thresholds (issue 20)
TARGET_PEER = 0.4
TARGET_PEER_MEDIAN = 0.25
TARGET_BOUND_LOW_D = 4.0      # d <= 8
TARGET_GEMM_HIGH_D = 1.5      # d >= 64
CLIFF = 2.0


@dataclass(frozen=True)
class Grid:
    ns: tuple
    ds: tuple
    ks: tuple
    cell_budget_s: float
    total_budget_s: float
    stream_mib: int           # size of the array of the bandwidth measurement
    gemm_n: int               # N of the square GEMM-rate product
    tall_rows: int = 65536    # rows of the (rows x d) @ (d x k) products
    pause_s: float = PAUSE_S
    min_iters: int = 3
    max_repeats: int = 3
    diag: tuple = ()          # (d, k) cells also run in float64

    def as_dict(self):
        return {key: (list(map(list, v)) if key == "diag" else list(v) if isinstance(v, tuple) else v)
                for key, v in asdict(self).items()}


def diagonal(ds, ks):
    """(d, k) pairs: the i-th d with the k at the same fraction of the k axis."""
    if len(ds) == 1:
        return ((ds[0], ks[0]),)
    return tuple((d, ks[round(i * (len(ks) - 1) / (len(ds) - 1))]) for i, d in enumerate(ds))


def _env_float(name, default):
    v = os.environ.get(name)
    return float(v) if v else default


def grid(quick: bool) -> Grid:
    if quick:
        ns, ds, ks = (20_000,), (2, 16), (3, 16)
        g = Grid(ns, ds, ks, cell_budget_s=_env_float("KMEANSKIT_GRID_CELL_S", 10.0),
                 total_budget_s=_env_float("KMEANSKIT_GRID_TOTAL_S", 120.0), stream_mib=64, gemm_n=512,
                 tall_rows=8192, pause_s=0.05, max_repeats=1)
    else:
        ns, ds, ks = (200_000, 2_000_000), (2, 3, 8, 16, 32, 64, 128), (3, 5, 8, 12, 16, 32, 64, 256, 1024)
        g = Grid(ns, ds, ks, cell_budget_s=_env_float("KMEANSKIT_GRID_CELL_S", 20.0),
                 total_budget_s=_env_float("KMEANSKIT_GRID_TOTAL_S", 40 * 60.0), stream_mib=1024,
                 gemm_n=3072)
    return Grid(**{**asdict(g), "diag": diagonal(ds, ks)})


# --------------------------------------------------------------------------
# machine rates

@numba.njit(parallel=True, fastmath=True, cache=True)
def _par_sum(a, n_blocks):
    """Sum of a float32 array read once by all threads (the bandwidth probe;
    float32 partial sums are vectorised, ``a`` holds ones)."""
    m = a.size // n_blocks
    part = np.zeros(n_blocks, dtype=np.float64)
    for b in numba.prange(n_blocks):
        s = np.float32(0.0)
        end = a.size if b == n_blocks - 1 else (b + 1) * m
        for i in range(b * m, end):
            s += a[i]
        part[b] = s
    return part.sum()


def _best(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_rates(cfg: Grid, dtypes_tall, log=None) -> dict:
    """Stream bandwidth (bytes/s), square GEMM rates (flop/s) per dtype and
    the (rows x d) @ (d x k) rates of the grid's shapes."""
    t0 = time.perf_counter()
    nbytes = cfg.stream_mib << 20
    a = np.empty(nbytes // 4, np.float32)
    a.fill(1.0)
    n_blocks = 64 * numba.get_num_threads()
    _par_sum(a[:1 << 16], n_blocks)  # compile or load from the cache
    t_nb = _best(lambda: _par_sum(a, n_blocks), 5)
    t_np = _best(lambda: a.sum(), 3)
    a = None  # noqa: F841 - 1 GiB freed
    rates = {"stream_bytes": nbytes, "stream_numba_gbs": nbytes / t_nb / 1e9,
             "stream_numpy_gbs": nbytes / t_np / 1e9}
    rates["stream_gbs"] = max(rates["stream_numba_gbs"], rates["stream_numpy_gbs"])
    rng = np.random.default_rng(0)
    rates["gemm_gflops"] = {}
    N = cfg.gemm_n
    for dt in (np.float32, np.float64):
        A = rng.standard_normal((N, N)).astype(dt)
        B = rng.standard_normal((N, N)).astype(dt)
        A @ B
        rates["gemm_gflops"][np.dtype(dt).name] = 2 * N ** 3 / _best(lambda: A @ B, 5) / 1e9
        del A, B
    rates["tall_gflops"] = {}
    for dname, shapes in dtypes_tall.items():
        dt = np.dtype(dname)
        out = {}
        for d in sorted({d for d, _ in shapes}):
            A = rng.standard_normal((cfg.tall_rows, d)).astype(dt)
            for k in sorted({k for dd, k in shapes if dd == d}):
                B = rng.standard_normal((d, k)).astype(dt)
                A @ B
                t = _best(lambda: A @ B, 3)
                out[f"{d},{k}"] = 2 * cfg.tall_rows * d * k / t / 1e9
        rates["tall_gflops"][dname] = out
    rates["seconds"] = time.perf_counter() - t0
    if log:
        log(f"  grid: stream {rates['stream_gbs']:.1f} GB/s, GEMM "
            + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates["gemm_gflops"].items()))
    return rates


def bounds(n, d, k, dtype, rates) -> dict:
    item = np.dtype(dtype).itemsize
    mem = n * d * item / (rates["stream_gbs"] * 1e9)
    gemm = 2.0 * n * d * k / (rates["gemm_gflops"][np.dtype(dtype).name] * 1e9)
    return {"bound_ms": max(mem, gemm) * 1e3, "mem_bound_ms": mem * 1e3, "gemm_bound_ms": gemm * 1e3}


# --------------------------------------------------------------------------
# data and start

def make_data(n, d):
    """float64 Gaussian mixture of K_TRUE blobs (seeded by d; n rows)."""
    return data.gaussian_mixture(n, d, K_TRUE, BLOB_SCALE, np.float64, data.SEED + 100 + d,
                                 spread=BLOB_SPREAD)


def start_indices(X32, k) -> np.ndarray:
    """Rows of greedy k-means++ (fixed seed) on the first max(20,000, 20 k) rows."""
    import kmeanskit

    m = min(X32.shape[0], max(INIT_ROWS, INIT_PER_CLUSTER * k))
    _, idx = kmeanskit.kmeans_plusplus(X32[:m], k, random_state=np.random.default_rng(data.INIT_SEED))
    return np.asarray(idx)


def inertia_rows(n, d, k) -> int:
    return int(min(n, max(INERTIA_MIN_ROWS, min(INERTIA_MAX_ROWS, INERTIA_FLOPS // (2 * k * d)))))


# --------------------------------------------------------------------------
# libraries

def resolve_libraries(libraries=None) -> list[str]:
    """The libraries to run: kmeanskit, sklearn and faiss by default (sklearnex
    only when asked), each only when importable."""
    want = {"kmeanskit", "sklearn", "faiss"} if libraries is None else set(libraries)
    avail = peers.available()
    return [lib for lib in ("kmeanskit", "sklearn", "sklearnex", "faiss")
            if lib in want and (lib == "kmeanskit" or avail.get(lib))]


def lib_of(name: str) -> str:
    return name.split()[0]


def make_runners(X, X32, C0, libs, auto_alg, plan):
    """Rows of one cell from the start ``C0`` (an array, or a function giving
    it); ``fn(mode)`` with mode "probe" (1 iteration, tol=0), "fixed"
    (plan["iters"], tol=0) or "converge" (default stopping rules)."""
    rows = []
    start = C0 if callable(C0) else (lambda: C0)

    def k_fn(alg):
        def fn(mode):
            if mode == "probe":
                return peers.kmeanskit_from(X, start(), 1, 0.0, alg)
            if mode == "fixed":
                return peers.kmeanskit_from(X, start(), plan["iters"], 0.0, alg)
            return peers.kmeanskit_from(X, start(), plan["conv_cap"], TOL, alg)
        return fn

    if "kmeanskit" in libs:
        rows.append(Runner(AUTO, k_fn("auto"), peer=False))
        if auto_alg != "lloyd":
            rows.append(Runner(LLOYD, k_fn("lloyd"), peer=False))
    for flavour in ("sklearn", "sklearnex"):
        if flavour in libs:
            def sk_fn(mode, flavour=flavour):
                it, tol = {"probe": (1, 0.0), "fixed": (plan["iters"], 0.0),
                           "converge": (CONV_MAX_ITER, TOL)}[mode]
                return peers.sklearn_from(X, start(), it, tol, "lloyd", flavour)
            rows.append(Runner(f"{flavour} lloyd", sk_fn))
    if "faiss" in libs:
        def faiss_fn(mode):
            it = {"probe": 1, "fixed": plan["iters"], "converge": plan["conv_iters"]}[mode]
            return peers.faiss_from(X32, start(), it)
        note = "" if X.dtype == np.float32 else "float64 cells: on the float32 copy (converted before the clock)"
        rows.append(Runner("faiss", faiss_fn, note=note))
    return rows


# --------------------------------------------------------------------------
# budget

def _key(n, dtype, d, k):
    return (n, dtype, d, k)


def predict_pass(hist, name, cell, default_ratio) -> tuple[float, str]:
    """Predicted seconds per pass of library row ``name`` in ``cell`` from the
    nearest measured cell's ratio to its bound, and where it came from."""
    n, dt, d, k, bound = cell["n"], cell["dtype"], cell["d"], cell["k"], cell["bound_ms"] / 1e3

    def ratio(key):
        r = hist.get(key, {}).get("ratios", {})
        return r.get(name, r.get(AUTO) if name == LLOYD else None)

    cands = [_key(n, dt, d, kk) for kk in sorted((kk for (nn, tt, dd, kk) in hist
                                                   if (nn, tt, dd) == (n, dt, d) and kk < k), reverse=True)]
    cands += [_key(n, dt, dd, k) for dd in sorted((dd for (nn, tt, dd, kk) in hist
                                                    if (nn, tt, kk) == (n, dt, k) and dd < d), reverse=True)]
    cands += [_key(nn, dt, d, k) for nn in sorted((nn for (nn, tt, dd, kk) in hist
                                                    if (tt, dd, kk) == (dt, d, k) and nn < n), reverse=True)]
    cands += [_key(n, "float32", d, k)]
    for key in cands:
        r = ratio(key)
        if r is not None:
            return r * bound, f"n={key[0]:,} d={key[2]} k={key[3]} {key[1]}"
    return default_ratio * bound + 2e-3, "default"


def fit_rows(cost, runners, budget):
    """Drop rows until the sum of ``cost[name]`` fits ``budget``: kmeanskit
    lloyd first (the best peer matters more), then the most expensive peers;
    never kmeanskit auto. (kept names, dropped names)."""
    kept = [r.name for r in runners]
    dropped = []
    while sum(cost[nm] for nm in kept) > budget:
        cands = [nm for nm in kept if nm != AUTO]
        if not cands:
            break
        worst = LLOYD if LLOYD in cands else max(cands, key=lambda nm: cost[nm])
        kept.remove(worst)
        dropped.append(worst)
    return kept, dropped


# --------------------------------------------------------------------------
# one cell

def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def new_cell(n, d, k, dtype, auto_alg, rates):
    return {"n": n, "d": d, "k": k, "dtype": np.dtype(dtype).name, "auto_algorithm": auto_alg,
            **bounds(n, d, k, dtype, rates), "status": "ok", "reason": "", "iters": None, "repeats": None,
            "fixed": {}, "converge": {}, "notes": [], "inertia_rows": inertia_rows(n, d, k)}


def run_cell(cell, X, X32, idx_fn, libs, cfg: Grid, hist, log=None) -> dict:
    """Measure one cell in place (see the module docstring for the budget);
    ``idx_fn()`` gives the rows of the start."""
    t_cell = time.perf_counter()
    budget, pause = cfg.cell_budget_s, cfg.pause_s
    n, d, k = cell["n"], cell["d"], cell["k"]
    plan = {"iters": 1, "conv_cap": CONV_MAX_ITER, "conv_iters": CONV_MAX_ITER}
    start = {}

    def c0():  # the start, computed only for a cell that runs
        if "C0" not in start:
            C = np.ascontiguousarray(X[idx_fn()])
            C.setflags(write=False)
            start["C0"] = C
        return start["C0"]

    runners = make_runners(X, X32, c0, libs, cell["auto_algorithm"], plan)
    if not runners:
        cell.update(status="skipped", reason="no library")
        return cell
    by_name = {r.name: r for r in runners}
    notes = cell["notes"]
    for r in runners:
        if r.note:
            notes.append(f"{r.name}: {r.note}")

    def left():
        return budget - (time.perf_counter() - t_cell)

    # 1. predicted cost of a probe pass and min_iters passes, from the neighbours
    pred = {}
    for r in runners:
        s, src = predict_pass(hist, r.name, cell, DEFAULT_RATIO[lib_of(r.name)])
        pred[r.name] = s
        cell["fixed"][r.name] = {"predicted_ms": s * 1e3, "predicted_from": src}
    cost = {nm: (1 + cfg.min_iters) * s + 2 * pause for nm, s in pred.items()}
    kept, dropped = fit_rows(cost, runners, budget)
    for nm in dropped:
        cell["fixed"][nm]["status"] = f"over budget (predicted {pred[nm] * 1e3:.4g} ms a pass)"
    if sum(cost[nm] for nm in kept) > budget:
        cell.update(status="skipped", reason=f"over budget: predicted {pred[AUTO] * 1e3:.4g} ms a pass "
                    f"(from {cell['fixed'][AUTO]['predicted_from']})")
        return cell
    runners = [by_name[nm] for nm in kept]

    # 2. one probe pass each
    probe = {}
    for r in runners:
        time.sleep(pause / 3)  # a rough figure: a shorter pause
        try:
            o = r.fn("probe")
        except Exception as e:  # noqa: BLE001 - reported in the tables
            cell["fixed"][r.name]["status"] = f"error: {type(e).__name__}: {e}"
            continue
        probe[r.name] = o.seconds / max(1, o.n_iter)
        cell["fixed"][r.name]["probe_ms"] = probe[r.name] * 1e3
    runners = [r for r in runners if r.name in probe]
    if AUTO not in probe:
        cell.update(status="skipped", reason="kmeanskit failed: " + cell["fixed"].get(AUTO, {}).get("status", ""))
        return cell

    # 3. iterations and repeats of the per-pass runs
    chosen = None
    for iters, reps in PLANS:
        if reps > cfg.max_repeats:
            continue
        c = {r.name: (probe[r.name] * (iters + 1) + pause) * reps for r in runners}
        if sum(c.values()) <= FIXED_SHARE * left():
            chosen = (iters, reps)
            break
    if chosen is None:
        iters, reps = PLANS[-1]
        c = {r.name: probe[r.name] * (iters + 1) + pause for r in runners}
        kept, dropped = fit_rows(c, runners, left())
        for nm in dropped:
            cell["fixed"][nm]["status"] = f"over budget ({probe[nm] * 1e3:.4g} ms a probe pass)"
        if sum(c[nm] for nm in kept) > left():
            cell.update(status="skipped", reason=f"over budget: probe pass {probe[AUTO] * 1e3:.4g} ms")
            return cell
        runners = [by_name[nm] for nm in kept]
        chosen = (iters, reps)
    plan["iters"], reps = chosen
    cell["iters"], cell["repeats"] = plan["iters"], reps

    # 4. the per-pass runs, interleaved
    samples = {r.name: [] for r in runners}
    failed = set()
    for _ in range(reps):
        for r in runners:
            if r.name in failed:
                continue
            time.sleep(pause)
            try:
                if PREROLL:
                    r.fn("probe")  # untimed
                samples[r.name].append(r.fn("fixed"))
            except Exception as e:  # noqa: BLE001
                cell["fixed"][r.name]["status"] = f"error: {type(e).__name__}: {e}"
                failed.add(r.name)
    m = cell["inertia_rows"]
    Xi = X[:m]
    for r in runners:
        outs = samples[r.name]
        if not outs:
            continue
        f = cell["fixed"][r.name]
        f.update(status="ok", times_s=[o.seconds for o in outs], n_iter=[o.n_iter for o in outs],
                 pass_ms=_median([o.seconds / max(1, o.n_iter) for o in outs]) * 1e3,
                 best_pass_ms=min(o.seconds / max(1, o.n_iter) for o in outs) * 1e3,
                 inertia=exact_inertia(Xi, outs[-1].centers))
        f["notes"] = sorted({o.note for o in outs if o.note})
    if AUTO not in samples or not samples[AUTO]:
        cell.update(status="skipped", reason="kmeanskit failed: " + cell["fixed"][AUTO].get("status", ""))
        return cell
    hist[_key(n, cell["dtype"], d, k)] = {
        "ratios": {nm: cell["fixed"][nm]["pass_ms"] / cell["bound_ms"]
                   for nm in samples if cell["fixed"][nm].get("pass_ms")}}
    if log:
        log(f"    {_label(cell)}: " + ", ".join(f"{nm} {cell['fixed'][nm]['pass_ms']:.4g}"
                                              for nm in samples if cell["fixed"][nm].get("pass_ms"))
            + f" ms a pass ({plan['iters']} it x {reps})")

    # 5. to convergence: kmeanskit auto first (capped by the budget), then the peers
    conv_names = [r.name for r in runners if r.name != LLOYD and cell["fixed"][r.name].get("pass_ms")]
    per_pass = {nm: cell["fixed"][nm]["pass_ms"] / 1e3 for nm in conv_names}
    cap = int(min(CONV_MAX_ITER, (left() - pause * len(conv_names)) / sum(per_pass.values())))
    if cap < MIN_CONV_CAP:
        for nm in conv_names:
            cell["converge"][nm] = {"status": "over budget"}
        summarise_cell(cell)
        return cell
    plan["conv_cap"] = cap
    conv = {nm: [] for nm in conv_names}
    time.sleep(pause)
    try:
        if PREROLL:
            by_name[AUTO].fn("probe")  # untimed
        o = by_name[AUTO].fn("converge")
    except Exception as e:  # noqa: BLE001 - the per-pass figures stand
        cell["converge"][AUTO] = {"status": f"error: {type(e).__name__}: {e}"}
        summarise_cell(cell)
        return cell
    conv[AUTO].append(o)
    converged = o.n_iter < cap or cap == CONV_MAX_ITER
    if not converged:
        cell["converge"][AUTO] = {"status": f"not converged in {cap} iterations (budget)",
                                  "seconds": o.seconds, "n_iter": o.n_iter}
        for nm in conv_names[1:]:
            cell["converge"][nm] = {"status": "over budget"}
        summarise_cell(cell)
        return cell
    plan["conv_iters"] = o.n_iter
    cost = {nm: per_pass[nm] * o.n_iter + pause for nm in conv_names}
    cost[AUTO] = 0.0
    kept, dropped = fit_rows(cost, [by_name[nm] for nm in conv_names], left())
    for nm in dropped:
        cell["converge"][nm] = {"status": f"over budget (predicted {cost[nm]:.3g} s)"}
    total = sum(cost[nm] for nm in kept) + o.seconds + pause
    reps_c = next((r for r in (3, 2) if r <= cfg.max_repeats and r * total <= 0.5 * left()), 1)
    for rep in range(reps_c):
        for nm in kept:
            if rep == 0 and nm == AUTO:
                continue
            time.sleep(pause)
            try:
                if PREROLL:
                    by_name[nm].fn("probe")  # untimed
                conv[nm].append(by_name[nm].fn("converge"))
            except Exception as e:  # noqa: BLE001
                cell["converge"][nm] = {"status": f"error: {type(e).__name__}: {e}"}
                kept = [x for x in kept if x != nm]
    for nm in kept:
        outs = conv[nm]
        if not outs:
            continue
        cell["converge"][nm] = {"status": "ok", "times_s": [x.seconds for x in outs],
                                "seconds": _median([x.seconds for x in outs]),
                                "n_iter": int(_median([x.n_iter for x in outs])),
                                "inertia": exact_inertia(Xi, outs[-1].centers)}
    summarise_cell(cell)
    return cell


def summarise_cell(cell) -> dict:
    """Derived figures of a cell, from its raw numbers only: the best peer,
    the ratios and the inertia agreement of the equal-work runs."""
    fx = cell["fixed"]
    ok = {nm: v for nm, v in fx.items() if v.get("status") == "ok" and v.get("pass_ms") is not None}
    peer = {nm: v["pass_ms"] for nm, v in ok.items() if nm in PEERS}
    auto = ok.get(AUTO, {}).get("pass_ms")
    cell["auto_ms"] = auto
    cell["best_peer"] = min(peer, key=peer.get) if peer else None
    cell["best_peer_ms"] = peer[cell["best_peer"]] if peer else None
    cell["ratio_peer"] = auto / cell["best_peer_ms"] if auto and peer else None
    cell["ratio_bound"] = auto / cell["bound_ms"] if auto else None
    cell["ratio_gemm"] = auto / cell["gemm_bound_ms"] if auto else None
    inert = {nm: v["inertia"] for nm, v in ok.items() if v.get("inertia") is not None}
    ref = inert.get(AUTO)
    cell["max_rel_inertia"] = (max(abs(v / ref - 1) for v in inert.values()) if ref and len(inert) > 1
                               else None)
    cv = {nm: v for nm, v in cell["converge"].items() if v.get("status") == "ok"}
    cpeer = {nm: v["seconds"] for nm, v in cv.items() if nm in PEERS}
    ca = cv.get(AUTO, {}).get("seconds")
    cell["conv_best_peer"] = min(cpeer, key=cpeer.get) if cpeer else None
    cell["conv_ratio_peer"] = ca / cpeer[cell["conv_best_peer"]] if ca and cpeer else None
    return cell


# --------------------------------------------------------------------------
# the whole grid

def _label(cell):
    return f"n={cell['n']:,} d={cell['d']} k={cell['k']} {cell['dtype']}"


def warm_up(libs, dtypes, n, shapes):
    """Compile kmeanskit's kernels (both dtypes, what "auto" picks at ``n``
    rows and Lloyd, the variance kernel of tol > 0) and start every
    library's threads, on the (d, k) ``shapes``."""
    for dt in dtypes:
        for d, k in shapes:
            X = data.gaussian_mixture(n, d, 8, 0.3, dt, 1)
            C0 = np.ascontiguousarray(X[:k])
            X32 = peers.as_f32(X)
            for r in make_runners(X, X32, C0, libs, "hamerly",
                                  {"iters": 2, "conv_cap": 2, "conv_iters": 2}):
                r.fn("converge" if r.peer is False else "probe")


def machine_info() -> dict:
    from .common import _cpu_model, versions

    return {"cpu": _cpu_model(), "cores": n_cores(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions()}


def measure(quick: bool = False, libraries=None, log=None, cfg: Grid | None = None,
            checkpoint=None) -> dict:
    """Run the grid; the raw results (JSON-able dict). ``checkpoint(res)`` is
    called after every (n, d) block (partial results survive an interrupted run)."""
    from kmeanskit import _solver

    cfg = cfg or grid(quick)
    libs = resolve_libraries(libraries)
    t0 = time.perf_counter()
    res = {"suite": "grid", "format": 1, "quick": quick,
           "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine_info(), "config": cfg.as_dict(), "libraries": libs,
           "data": {"k_true": K_TRUE, "scale": BLOB_SCALE, "spread": BLOB_SPREAD, "seed": "data.SEED + 100 + d",
                    "init": f"greedy k-means++ on the first max({INIT_ROWS}, {INIT_PER_CLUSTER} k) rows, "
                            f"seed data.INIT_SEED={data.INIT_SEED}"},
           "cells": [], "preroll": PREROLL}
    if "faiss" in libs:
        import faiss  # noqa: F401 - before limit_threads, which sets faiss's threads once imported
    threads = n_cores()
    res["threads"] = threads
    diag = {tuple(x) for x in cfg.diag}
    tall = {"float32": [(d, k) for d in cfg.ds for k in cfg.ks], "float64": sorted(diag)}
    with limit_threads(threads):
        res["rates"] = measure_rates(cfg, tall, log)
        t_w = time.perf_counter()
        warm_up(libs, (np.float32, np.float64) if diag else (np.float32,), min(40_000, max(cfg.ns)),
                {(min(cfg.ds), 16), (max(cfg.ds), min(64, max(cfg.ks))),
                 (max(cfg.ds), min(cfg.ks))})  # wide rows, few centres: the untransposed scan
        res["warmup_s"] = time.perf_counter() - t_w
        hist = {}
        for n in cfg.ns:
            for d in cfg.ds:
                ks = list(cfg.ks)
                if time.perf_counter() - t0 > cfg.total_budget_s:
                    for k in ks:
                        for dt in ("float32",) + (("float64",) if (d, k) in diag else ()):
                            c = new_cell(n, d, k, dt, _solver.resolve_algorithm("auto", n, d, k, dt),
                                         res["rates"])
                            c.update(status="skipped", reason="grid budget spent")
                            res["cells"].append(summarise_cell(c))
                    continue
                t_data = time.perf_counter()
                X64 = make_data(n, d)
                X32 = np.ascontiguousarray(X64, dtype=np.float32)
                if not any((d, k) in diag for k in ks):
                    del X64
                    X64 = None
                gen_s = time.perf_counter() - t_data
                if log:
                    log(f"  grid: n={n:,} d={d}: data in {gen_s:.1f} s")
                for k in ks:
                    starts = {}

                    def idx_fn(k=k, starts=starts, X32=X32):
                        if "idx" not in starts:
                            starts["idx"] = start_indices(X32, k)
                        return starts["idx"]
                    for dt, X in (("float32", X32),) + ((("float64", X64),) if (d, k) in diag else ()):
                        c = new_cell(n, d, k, dt, _solver.resolve_algorithm("auto", n, d, k, X.dtype),
                                     res["rates"])
                        if time.perf_counter() - t0 > cfg.total_budget_s:
                            c.update(status="skipped", reason="grid budget spent")
                        else:
                            t_c = time.perf_counter()
                            try:
                                run_cell(c, X, X32, idx_fn, libs, cfg, hist, log)
                            except Exception as e:  # noqa: BLE001 - one cell must not lose the grid
                                c.update(status="skipped", reason=f"failed: {type(e).__name__}: {e}")
                            c["seconds"] = time.perf_counter() - t_c
                        if c["status"] != "ok" and log:
                            log(f"    {_label(c)}: skipped ({c['reason']})")
                        res["cells"].append(summarise_cell(c))
                X = X32 = X64 = idx_fn = None  # noqa: F841 - free the (n, d) data before the next
                gc.collect()
                if checkpoint:
                    res["seconds"] = time.perf_counter() - t0
                    checkpoint(res)
    res["seconds"] = time.perf_counter() - t0
    return res


# --------------------------------------------------------------------------
# report

def _cells(res, n=None, dtype=None):
    return [c for c in res["cells"] if (n is None or c["n"] == n) and (dtype is None or c["dtype"] == dtype)]


def _grid_table(res, n, key, digits=2):
    """Rows d, columns k, float32 cells' ``key``."""
    cfg = res["config"]
    by = {(c["d"], c["k"]): c for c in _cells(res, n, "float32")}
    rows = []
    for d in cfg["ds"]:
        row = [f"d={d}"]
        for k in cfg["ks"]:
            c = by.get((d, k))
            v = c.get(key) if c else None
            row.append("–" if v is None else fmt(float(v), digits))
        rows.append(row)
    return table(["d \\ k"] + [str(k) for k in cfg["ks"]], rows)


PEER_BUCKETS = ((TARGET_PEER_MEDIAN, "░"), (TARGET_PEER, "▒"), (1.0, "▓"), (math.inf, "█"))
BOUND_BUCKETS = ((TARGET_GEMM_HIGH_D, "░"), (TARGET_BOUND_LOW_D, "▒"), (10.0, "▓"), (math.inf, "█"))


def _glyph(v, buckets):
    if v is None:
        return "· "
    for lim, g in buckets:
        if v <= lim:
            return g * 2
    return "??"


def text_heatmap(res, n) -> str:
    cfg = res["config"]
    by = {(c["d"], c["k"]): c for c in _cells(res, n, "float32")}
    head = "".join(f"{k:>5}" for k in cfg["ks"])
    w = 5 + len(head)
    dk = "d\\k"
    lines = [f"{'auto / best peer':<{w}}  |  auto / bound", f"{dk:>5}{head}  |{dk:>5}{head}"]
    for d in cfg["ds"]:
        a = "".join(f"   {_glyph(by[(d, k)].get('ratio_peer') if (d, k) in by else None, PEER_BUCKETS)}"
                    for k in cfg["ks"])
        b = "".join(f"   {_glyph(by[(d, k)].get('ratio_bound') if (d, k) in by else None, BOUND_BUCKETS)}"
                    for k in cfg["ks"])
        lines.append(f"{d:>5}{a}  |{d:>5}{b}")
    lines += ["", "peer: ░ <= 0.25, ▒ <= 0.4, ▓ <= 1, █ > 1;  bound: ░ <= 1.5, ▒ <= 4, ▓ <= 10, █ > 10;  "
              "· not measured"]
    return "```\n" + "\n".join(lines) + "\n```"


def _ms(v):
    return None if v is None else float(v)


def raw_table(res, n) -> str:
    rows = []
    names = [AUTO, LLOYD] + [p for p in PEERS if any(p in c["fixed"] for c in _cells(res, n))]
    for c in _cells(res, n):
        fx = c["fixed"]

        def cell_ms(nm):
            v = fx.get(nm, {})
            if nm == LLOYD and nm not in fx and c["auto_algorithm"] == "lloyd" and c["status"] == "ok":
                return "= auto"
            if v.get("pass_ms") is not None:
                return _ms(v["pass_ms"])
            return "over budget" if "budget" in v.get("status", "") else "–"

        status = "ok" if c["status"] == "ok" else f"skipped ({c['reason']})"
        rows.append([c["d"], c["k"], c["dtype"], c["auto_algorithm"]] + [cell_ms(nm) for nm in names]
                    + [_ms(c["bound_ms"]), _ms(c["mem_bound_ms"]), _ms(c["gemm_bound_ms"]),
                       f"{c['iters']} x {c['repeats']}" if c["iters"] else "–",
                       c.get("ratio_peer"), c.get("ratio_bound"),
                       None if c.get("max_rel_inertia") is None else f"{c['max_rel_inertia']:.1e}", status])
    heads = ["d", "k", "dtype", "auto ="] + [f"{nm} (ms)" for nm in names] + [
        "bound (ms)", "memory (ms)", "GEMM (ms)", "iters x repeats", "auto / best peer", "auto / bound",
        "inertia spread", "status"]
    return table(heads, rows)


def conv_table(res, n) -> str:
    rows = []
    names = [AUTO] + [p for p in PEERS if any(p in c["converge"] or p in c["fixed"] for c in _cells(res, n))]
    for c in _cells(res, n):
        cv = c["converge"]

        def one(nm):
            v = cv.get(nm, {})
            if v.get("status") == "ok":
                return f"{v['seconds']:.3g} s ({v['n_iter']} it)"
            if v.get("status"):
                return v["status"]
            return "–"

        rows.append([c["d"], c["k"], c["dtype"]] + [one(nm) for nm in names] + [c.get("conv_ratio_peer")])
    return table(["d", "k", "dtype"] + names + ["auto / best peer"], rows)


def interp_log_k(k0, t0, k1, t1, k):
    """Linear interpolation of t in log k between (k0, t0) and (k1, t1)."""
    w = (math.log(k) - math.log(k0)) / (math.log(k1) - math.log(k0))
    return t0 + w * (t1 - t0)


def cliffs(res) -> list[dict]:
    """float32 cells whose auto ms per pass exceeds CLIFF x the log-k
    interpolation of the nearest measured cells left and right in k."""
    out = []
    for n in res["config"]["ns"]:
        for d in res["config"]["ds"]:
            row = sorted(((c["k"], c["auto_ms"]) for c in _cells(res, n, "float32")
                          if c["d"] == d and c.get("auto_ms")), key=lambda x: x[0])
            for i in range(1, len(row) - 1):
                (k0, t0), (k, t), (k1, t1) = row[i - 1], row[i], row[i + 1]
                ti = interp_log_k(k0, t0, k1, t1, k)
                if t > CLIFF * ti:
                    out.append({"n": n, "d": d, "k": k, "ms": t, "interp_ms": ti, "ratio": t / ti})
    return out


def targets(res) -> dict:
    ok = [c for c in res["cells"] if c["status"] == "ok"]
    peer = [c for c in ok if c.get("ratio_peer") is not None]
    over_peer = sorted((c for c in peer if c["ratio_peer"] > TARGET_PEER), key=lambda c: -c["ratio_peer"])
    f32 = [c["ratio_peer"] for c in peer if c["dtype"] == "float32"]
    low = [c for c in ok if c["d"] <= 8]
    over_low = sorted((c for c in low if c["ratio_bound"] > TARGET_BOUND_LOW_D), key=lambda c: -c["ratio_bound"])
    high = [c for c in ok if c["d"] >= 64]
    over_high = sorted((c for c in high if c["ratio_bound"] > TARGET_GEMM_HIGH_D), key=lambda c: -c["ratio_bound"])
    return {"cells": len(res["cells"]), "measured": len(ok), "with_peer": len(peer), "over_peer": over_peer,
            "median_peer_f32": statistics.median(f32) if f32 else None, "low_d": len(low), "over_low": over_low,
            "high_d": len(high), "over_high": over_high, "cliffs": cliffs(res)}


def _worst(cells, key, m=5):
    return ", ".join(f"{_label(c)}: {c[key]:.2f}" for c in cells[:m]) + (" ..." if len(cells) > m else "")


def target_section(res) -> str:
    t = targets(res)
    yes = {True: "yes", False: "**no**", None: "–"}
    med = t["median_peer_f32"]
    cl = t["cliffs"]
    rows = [
        [f"per pass <= {TARGET_PEER} x fastest peer, every cell",
         f"{len(t['over_peer'])} of {t['with_peer']} cells over" + (
             f" (worst: {_worst(t['over_peer'], 'ratio_peer')})" if t["over_peer"] else ""),
         yes[not t["over_peer"]] if t["with_peer"] else "–"],
        [f"median float32 cell <= {TARGET_PEER_MEDIAN} x fastest peer",
         "–" if med is None else f"{med:.3f}", yes[None if med is None else med <= TARGET_PEER_MEDIAN]],
        [f"per pass <= {TARGET_BOUND_LOW_D} x bound, d <= 8",
         f"{len(t['over_low'])} of {t['low_d']} cells over" + (
             f" (worst: {_worst(t['over_low'], 'ratio_bound')})" if t["over_low"] else ""),
         yes[not t["over_low"]] if t["low_d"] else "–"],
        [f"per pass <= {TARGET_GEMM_HIGH_D} x bound, d >= 64 (the GEMM term, where it exceeds the memory term)",
         f"{len(t['over_high'])} of {t['high_d']} cells over" + (
             f" (worst: {_worst(t['over_high'], 'ratio_bound')})" if t["over_high"] else ""),
         yes[not t["over_high"]] if t["high_d"] else "–"],
        [f"no cliff (> {CLIFF} x the log-k interpolation of the neighbours in k)",
         f"{len(cl)} cliffs" + (": " + ", ".join(f"n={c['n']:,} d={c['d']} k={c['k']}: {c['ms']:.3g} ms vs "
                                                  f"{c['interp_ms']:.3g} ms" for c in cl[:5]) if cl else ""),
         yes[not cl]],
    ]
    notes = [f"{t['measured']} of {t['cells']} cells measured (a cell not measured is over the budget: "
             "the raw tables say why); the targets are checked on the measured cells, float32 and float64",
             "GEMM bound = 2 n d k / the square GEMM rate of the cell's dtype; bound = max(memory bound, "
             "GEMM bound). The d >= 64 target is checked against the bound: at small k the memory term is "
             "the larger (no pass beats reading X once), from moderate k the GEMM term (raw tables: both)",
             "cliff: a float32 cell's kmeanskit auto ms per pass above 2 x the linear interpolation, in log k, "
             "of the ms per pass of its nearest measured neighbours in k (same n and d); the first and last k "
             "of a row are not judged"]
    return section("Shape grid: targets (issue 20)", table(["target", "measured", "met"], rows), notes)


def setup_section(res) -> str:
    r, cfg = res["rates"], res["config"]
    g = r["gemm_gflops"]
    lines = [
        f"- grid: n in {{{', '.join(f'{n:,}' for n in cfg['ns'])}}}, d in {{{', '.join(map(str, cfg['ds']))}}}, "
        f"k in {{{', '.join(map(str, cfg['ks']))}}}, float32; float64 on the diagonal "
        + ", ".join(f"(d={d}, k={k})" for d, k in cfg["diag"]),
        f"- data: one mixture of {res['data']['k_true']} Gaussian blobs per (n, d) (sd {res['data']['scale']} "
        f"x U[0.5, 1.5], centres N(0, {res['data']['spread']}^2)), shared by every k; start: "
        f"{res['data']['init']}",
        f"- libraries: {', '.join(res['libraries'])}; {res['threads']} threads for every library "
        "(common.limit_threads)",
        f"- stream bandwidth {r['stream_gbs']:.2f} GB/s (parallel numba read of {r['stream_bytes'] >> 20} MiB "
        f"float32: {r['stream_numba_gbs']:.2f} GB/s; numpy sum, one thread: {r['stream_numpy_gbs']:.2f} GB/s)",
        f"- GEMM rate (square {cfg['gemm_n']} x {cfg['gemm_n']} numpy matmul, best of 5): float32 "
        f"{g['float32']:.1f} GFLOP/s, float64 {g['float64']:.1f} GFLOP/s",
        f"- per pass: {PLANS[0][0]} iterations from the same start, tol=0, median of up to "
        f"{cfg.get('max_repeats', PLANS[0][1])} "
        f"repeats (fewer iterations / repeats where the cell budget of {cfg['cell_budget_s']:.0f} s demands: "
        "column iters x repeats); to convergence: kmeanskit and scikit-learn tol=1e-4, max_iter 300, faiss "
        "kmeanskit auto's iteration count"
        + ("; every timed run right after an untimed one-iteration run of the same library (pre-roll: the "
           "grid_bench docstring says why)" if res.get("preroll") else ""),
        "- auto / best peer: kmeanskit auto's ms per pass / the fastest peer's (below 1 = faster than "
        "every peer); auto / bound: over the cell's bound; inertia spread: the largest relative "
        f"difference of the equal-work runs' exact inertia (first min(n, ~{INERTIA_FLOPS:.0e} / 2kd) rows) "
        "from kmeanskit auto's",
        f"- grid time {res.get('seconds', 0) / 60:.1f} min (rates {r['seconds']:.0f} s, warm-up "
        f"{res.get('warmup_s', 0):.0f} s), {res['date']}",
    ]
    tall = r.get("tall_gflops", {}).get("float32", {})
    body = "\n".join(lines)
    if tall:
        rows = [[f"d={d}"] + [tall.get(f"{d},{k}") for k in cfg["ks"]] for d in cfg["ds"]]
        body += ("\n\nGFLOP/s of the float32 product (" + f"{cfg['tall_rows']:,}" + " x d) @ (d x k) "
                 "(not used by the bound):\n\n" + table(["d \\ k"] + [str(k) for k in cfg["ks"]],
                                                        [[row[0]] + [None if v is None else float(v)
                                                                     for v in row[1:]] for row in rows]))
    return section("Shape grid: setup", body)


def report(res) -> list[str]:
    out = [setup_section(res)]
    for n in res["config"]["ns"]:
        cells = _cells(res, n, "float32")
        if not cells:
            continue
        out.append(section(f"Shape grid n={n:,}, float32: kmeanskit auto / best peer, ms per pass",
                           _grid_table(res, n, "ratio_peer"),
                           [f"target <= {TARGET_PEER} in every cell, median <= {TARGET_PEER_MEDIAN}; "
                            "– = not measured (see the raw table)"]))
        out.append(section(f"Shape grid n={n:,}, float32: kmeanskit auto / bound, ms per pass",
                           _grid_table(res, n, "ratio_bound"),
                           [f"target <= {TARGET_BOUND_LOW_D} for d <= 8, <= {TARGET_GEMM_HIGH_D} for d >= 64; "
                            "bound = max(memory, GEMM) term (both in the raw table)"]))
        out.append(section(f"Shape grid n={n:,}, float32: heat map", text_heatmap(res, n)))
        notes = sorted({nt for c in _cells(res, n) for nt in c.get("notes", [])}
                       | {f"{nm}: {nt}" for c in _cells(res, n) for nm, v in c["fixed"].items()
                          for nt in v.get("notes", [])})
        out.append(section(f"Shape grid n={n:,}: raw ms per pass", raw_table(res, n),
                           ["auto = the algorithm kmeanskit's auto resolves to (_solver.resolve_algorithm); "
                            "kmeanskit lloyd is measured only where it differs"] + notes))
        out.append(section(f"Shape grid n={n:,}: to convergence from the same start", conv_table(res, n),
                           ["kmeanskit auto and scikit-learn: tol=1e-4, max_iter 300; faiss runs "
                            "kmeanskit auto's iteration count (no convergence test)"]))
    out.append(target_section(res))
    if res.get("png"):
        out.append(f"_heat maps: `{res['png']}`; raw results: `{res.get('json', '')}`_\n")
    return out


def plot(res, path) -> str:
    """Heat maps (float32): auto / best peer and auto / bound per n, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    cfg = res["config"]
    ns, ds, ks = cfg["ns"], cfg["ds"], cfg["ks"]
    fig, axes = plt.subplots(len(ns), 2, figsize=(12, 0.6 * len(ds) * len(ns) + 1.5 * len(ns) + 0.5),
                             squeeze=False)
    # log colour scales centred (yellow) on the targets: 0.4 x the best peer, 4 x the bound
    specs = (("ratio_peer", "kmeanskit auto / best peer (ms per pass)", (TARGET_PEER / 8, TARGET_PEER * 8)),
             ("ratio_bound", "kmeanskit auto / bound (ms per pass)",
              (TARGET_BOUND_LOW_D / 4, TARGET_BOUND_LOW_D * 4)))
    for i, n in enumerate(ns):
        by = {(c["d"], c["k"]): c for c in _cells(res, n, "float32")}
        for j, (key, title, (lo, hi)) in enumerate(specs):
            ax = axes[i][j]
            M = np.full((len(ds), len(ks)), np.nan)
            for a, d in enumerate(ds):
                for b, k in enumerate(ks):
                    v = by.get((d, k), {}).get(key)
                    if v is not None:
                        M[a, b] = v
            cmap = matplotlib.colormaps["RdYlGn_r"].with_extremes(bad="lightgrey")
            im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, norm=LogNorm(lo, hi), aspect="auto")
            for a in range(len(ds)):
                for b in range(len(ks)):
                    ax.text(b, a, "–" if np.isnan(M[a, b]) else f"{M[a, b]:.2g}", ha="center", va="center",
                            fontsize=8)
            ax.set_xticks(range(len(ks)), [str(k) for k in ks])
            ax.set_yticks(range(len(ds)), [str(d) for d in ds])
            ax.set_xlabel("k")
            ax.set_ylabel("d")
            ax.set_title(f"n={n:,}: {title}", fontsize=10)
            fig.colorbar(im, ax=ax, fraction=0.04)
    fig.suptitle(f"kmeanskit shape grid, float32 ({res['date']}); yellow = target "
                 f"({TARGET_PEER} x best peer, {TARGET_BOUND_LOW_D:g} x bound), grey: not measured", fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return o


def save(res, out_dir, stem) -> tuple[str, str]:
    """Write ``stem.json`` and ``stem.png`` into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    js, png = os.path.join(out_dir, stem + ".json"), os.path.join(out_dir, stem + ".png")
    res["json"], res["png"] = os.path.relpath(js, ROOT), os.path.relpath(png, ROOT)
    tmp = js + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_jsonable(res), f, indent=1)
    os.replace(tmp, js)
    try:
        plot(res, png)
    except Exception as e:  # noqa: BLE001 - the tables matter more than the picture
        res["png"] = None
        res.setdefault("notes", []).append(f"PNG not written: {type(e).__name__}: {e}")
    return js, png


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def run(quick: bool = False, libraries=None, out_dir=None, log=_stderr) -> list[str]:
    """Markdown sections of the grid (and grid.json / grid.png written; the
    JSON also after every (n, d) block, as ``grid.partial.json``)."""
    out_dir = out_dir or os.environ.get("KMEANSKIT_BENCH_GRID_DIR") or os.path.join(ROOT, "out", "bench")
    stem = "grid-quick" if quick else "grid"

    def checkpoint(res):
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, stem + ".partial.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(_jsonable(res), f, indent=1)
        os.replace(path + ".tmp", path)

    res = measure(quick, libraries, log, checkpoint=checkpoint)
    save(res, out_dir, stem)
    partial = os.path.join(out_dir, stem + ".partial.json")
    if os.path.exists(partial):
        os.unlink(partial)
    return report(res)


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="Tables and heat map of the grid suite from its JSON results.")
    p.add_argument("--from", dest="src", required=True, help="grid.json written by a grid run")
    p.add_argument("--png", help="PNG to (re)draw (default: next to the JSON)")
    a = p.parse_args(argv)
    with open(a.src, encoding="utf-8") as f:
        res = json.load(f)
    png = a.png or os.path.splitext(a.src)[0] + ".png"
    plot(res, png)
    res["png"], res["json"] = png, a.src
    print("\n".join(report(res)))


if __name__ == "__main__":
    main()
