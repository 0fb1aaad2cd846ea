"""Shared helpers for the benchmark suites: timing, interleaving, exact
inertia, markdown tables, peer detection and the machine description."""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

#: Environment variables set on some machines to work around old OpenBLAS
#: bugs; they slow a current numpy, so the bench process runs without them.
OPENBLAS_WORKAROUNDS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_env(environ=os.environ) -> list[str]:
    """Remove the OpenBLAS work-around variables (must run before numpy's
    BLAS is loaded to take effect in this process). Returns what was removed."""
    removed = [f"{v}={environ[v]}" for v in OPENBLAS_WORKAROUNDS if v in environ]
    for v in OPENBLAS_WORKAROUNDS:
        environ.pop(v, None)
    return removed


def n_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------
# timing

def timed(fn, *args, **kwargs):
    """``(seconds, result)`` of one call, after a garbage collection."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


@dataclass
class Runner:
    """One row of a table: ``fn(mode)`` returns a :class:`Outcome`."""

    name: str
    fn: object
    peer: bool = True          # False for kmeanskit rows
    equal_work: bool = True    # False for rows that do less work (faiss defaults)
    note: str = ""
    max_runs: int | None = None  # timed runs at most (slow single-threaded peers)


@dataclass
class Outcome:
    seconds: float             # wall time of the fit call itself
    n_iter: int
    centers: np.ndarray
    note: str = ""             # e.g. "sklearnex fell back to scikit-learn"


@dataclass
class Samples:
    times: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    error: str | None = None


#: Pause before each timed run: OpenMP/TBB worker threads of the previous
#: library keep spinning for a while after its parallel regions end, and would
#: otherwise steal the cores from the next library in the interleaving.
PAUSE_S = 0.3


def interleave(runners, mode, repeats, warmup=True, log=None, pause=PAUSE_S):
    """Run every runner ``repeats`` times in the order A B C A B C ...,
    sleeping ``pause`` seconds before each timed run. A runner that raises is
    recorded with its error and not run again."""
    res = {r.name: Samples() for r in runners}
    if warmup:
        for r in runners:
            try:
                r.fn("warmup")
            except Exception as e:  # noqa: BLE001 - reported in the table
                res[r.name].error = f"{type(e).__name__}: {e}"
    for rep in range(repeats):
        for r in runners:
            s = res[r.name]
            if s.error or (r.max_runs is not None and len(s.times) >= r.max_runs):
                continue
            if pause:
                time.sleep(pause)
            try:
                out = r.fn(mode)
            except Exception as e:  # noqa: BLE001
                s.error = f"{type(e).__name__}: {e}"
                continue
            s.times.append(out.seconds)
            s.outcomes.append(out)
            if log:
                log(f"    [{time.strftime('%H:%M:%S')}] {r.name:<28} {mode:<9} rep {rep + 1}/{repeats}: {out.seconds:8.3f} s, "
                    f"{out.n_iter} it")
    return res


# --------------------------------------------------------------------------
# exact inertia

def exact_sq_distances(X, C, chunk=None) -> np.ndarray:
    """Squared distance of every row to its nearest centre, in float64.

    The nearest centre is found with the float64 expansion
    ||x||^2 - 2 x.c + ||c||^2, then the distance to it is recomputed as a
    direct float64 difference, so the result does not suffer the expansion's
    cancellation. Used the same way for every library's centres."""
    C = np.asarray(C, dtype=np.float64)
    cc = np.einsum("ij,ij->i", C, C)
    chunk = chunk or max(1024, (1 << 22) // max(1, C.shape[0]))  # ~32 MiB of distances
    out = np.empty(X.shape[0])
    for s in range(0, X.shape[0], chunk):
        x = np.asarray(X[s:s + chunk], dtype=np.float64)
        j = np.argmin(cc[None, :] - 2.0 * (x @ C.T), axis=1)
        diff = x - C[j]
        out[s:s + chunk] = np.einsum("ij,ij->i", diff, diff)
    return out


def exact_inertia(X, C) -> float:
    """Sum of squared distances to the nearest centres (float64), see
    :func:`exact_sq_distances`."""
    return float(exact_sq_distances(X, C).sum())


# --------------------------------------------------------------------------
# markdown

def fmt(x, digits=4):
    """Numbers for tables: ints with separators, floats with ``digits``
    significant digits; strings pass through; None is a dash."""
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.{digits}g}"


def table(headers, rows) -> str:
    """A GitHub markdown table; numbers formatted with :func:`fmt`."""
    cells = [[fmt(c) for c in row] for row in rows]
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(out)


def section(title, body, notes=()) -> str:
    parts = [f"### {title}", "", body]
    if notes:
        parts += [""] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------
# peers

def have(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def limit_threads(n):
    """Limit every thread pool (BLAS, OpenMP, faiss's OpenMP, numba) to ``n``
    threads; ``None`` leaves them alone."""
    if n is None:
        yield
        return
    import numba
    from threadpoolctl import threadpool_limits

    old_numba = numba.get_num_threads()
    faiss_old = None
    if "faiss" in sys.modules:
        import faiss

        faiss_old = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        numba.set_num_threads(old_numba)
        if faiss_old is not None:
            import faiss

            faiss.omp_set_num_threads(faiss_old)


# --------------------------------------------------------------------------
# machine description

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        import psutil

        return f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        try:
            with open("/proc/meminfo") as f:
                kb = int(f.readline().split()[1])
            return f"{kb / 2**20:.1f} GiB"
        except OSError:
            return "unknown"


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for dist in ("kmeanskit", "numpy", "numba", "scipy", "scikit-learn", "scikit-learn-intelex",
                 "faiss-cpu", "threadpoolctl", "psutil"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _faiss_threads():
    import faiss

    return faiss.omp_get_max_threads()


def machine_description(removed_env=()) -> str:
    import numba
    from threadpoolctl import threadpool_info

    lines = [
        "## Machine",
        "",
        f"- Date (UTC): {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M')}",
        f"- CPU: {_cpu_model()}; {n_cores()} usable cores (os.cpu_count()={os.cpu_count()})",
        f"- RAM: {_ram()}",
        f"- OS / Python: {platform.platform()} / {platform.python_version()}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- Threads: numba {numba.get_num_threads()} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
        + (f", faiss {_faiss_threads()}" if have("faiss") else ""),
        "- Each library runs with its default (all-core) threads unless a table says otherwise",
        "- Removed from the bench environment (OpenBLAS work-arounds): "
        + (", ".join(removed_env) if removed_env else "none were set"),
        "- threadpoolctl:",
    ]
    for p in threadpool_info():
        lines.append(f"  - {p.get('user_api')}/{p.get('internal_api')} {p.get('version')}: "
                     f"{p.get('num_threads')} threads, {os.path.basename(p.get('filepath', ''))}"
                     + (f", arch {p['architecture']}" if p.get("architecture") else ""))
    return "\n".join(lines) + "\n"
