"""Run the kmeanskit benchmark suites and write a markdown report.

    python benchmarks/run.py [--quick] [--only SUITE[,SUITE]] [--repeats N] [--out FILE]

Suites: lloyd, default, scipy, memory, shared, images, sweep, search (the last three
only when benchmarks/images_bench.py / sweep_bench.py / search_bench.py provide
``run(quick) -> list[str]``). See docs/benchmarks.md.
"""

from __future__ import annotations

import os
import sys

# Before numpy is imported anywhere: the OpenBLAS work-around variables slow a
# current numpy down, so the bench process (and its subprocesses) run without.
_REMOVED = [f"{v}={os.environ.pop(v)}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if v in os.environ]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The suites are imported as the package ``benchmarks``; the script's own
# folder must not be on sys.path (its modules would shadow real packages).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, ROOT)

# kmeanskit's first fit sets GOMP_SPINCOUNT=1000 (docs/engine.md, "Threads"),
# which libgomp reads when numba starts its threads. The machine description
# below starts them (numba.get_num_threads), so set it first, as kmeanskit's
# first fit would; then drop the variable again, so that the peers' own OpenMP
# runtimes (loaded later, each reading the environment when it loads) keep
# their defaults.
_SPIN_SET_BY_USER = "GOMP_SPINCOUNT" in os.environ
import numba  # noqa: E402

from kmeanskit import _solver  # noqa: E402

_solver.quiet_spinning()
numba.get_num_threads()
if not _SPIN_SET_BY_USER:
    os.environ.pop("GOMP_SPINCOUNT", None)

import argparse  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

#: suite name -> module in benchmarks/
MODULES = {"lloyd": "lloyd", "default": "default", "scipy": "scipy_vq", "memory": "memory",
           "shared": "shared"}
SUITES = ["lloyd", "default", "scipy", "memory", "shared", "images", "sweep", "search", "dask", "minibatch", "memmap", "sparse", "mixed", "grid"]
#: suites written by other helpers: module name and the function they expose
HOOKS = {"images": "images_bench", "sweep": "sweep_bench", "search": "search_bench", "dask": "dask_bench", "minibatch": "minibatch_bench", "memmap": "memmap_bench",
         "sparse": "sparse_bench", "mixed": "mixed_bench", "grid": "grid_bench"}


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run_hook(name, quick):
    """A suite from another helper's module, if it exists and has the agreed
    ``run(quick: bool) -> list[str]``; otherwise a note saying why not."""
    modname = HOOKS[name]
    if not os.path.exists(os.path.join(ROOT, "benchmarks", modname + ".py")):
        return None, f"benchmarks/{modname}.py is not there: suite skipped"
    mod = importlib.import_module(f"benchmarks.{modname}")
    fn = getattr(mod, "bench_suite", None) or getattr(mod, "run", None)
    if not callable(fn):
        return None, f"benchmarks/{modname}.py has no run(quick) function: suite skipped"
    try:
        inspect.signature(fn).bind(quick=quick)
    except TypeError:
        return None, f"benchmarks/{modname}.py: run() does not take quick=: suite skipped"
    out = fn(quick=quick)
    if isinstance(out, str):
        out = [out]
    if not isinstance(out, (list, tuple)) or not all(isinstance(s, str) for s in out):
        return None, f"benchmarks/{modname}.py: run() did not return a list of strings: suite skipped"
    return list(out), None


def run_suite(name, args, log):
    if name in HOOKS:
        return run_hook(name, args.quick)
    mod = importlib.import_module(f"benchmarks.{MODULES[name]}")
    return mod.run(quick=args.quick, repeats=args.repeats, log=log), None


def threading_note():
    """numba's threading layer is only known once a parallel kernel ran."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "none chosen (no parallel kernel ran)"
    return (f"_numba threading layer used: {layer} "
            f"(NUMBA_THREADING_LAYER={numba.config.THREADING_LAYER})_\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="small workloads (n=20,000) to check the harness; timings mean little")
    p.add_argument("--only", action="append", metavar="SUITE",
                   help=f"run only these suites (repeatable or comma-separated): {', '.join(SUITES)}")
    p.add_argument("--repeats", type=int, default=None,
                   help="repeats per measurement (default: 3, or 1 with --quick)")
    p.add_argument("--out", default=os.path.join("out", "bench", "results.md"),
                   help="markdown results file (default: out/bench/results.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-run progress lines")
    args = p.parse_args(argv)
    only = [s.strip() for o in (args.only or []) for s in o.split(",") if s.strip()]
    bad = [s for s in only if s not in SUITES]
    if bad:
        p.error(f"unknown suite {', '.join(bad)}; choose from {', '.join(SUITES)}")
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be at least 1")
    args.suites = only or SUITES
    return args


def main(argv=None):
    args = parse_args(argv)
    from benchmarks.common import machine_description

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    title = "# kmeanskit benchmark results" + (" (--quick: harness check, not timings)" if args.quick else "")
    parts = [title, "", machine_description(_REMOVED)]
    print("\n".join(parts), flush=True)
    failed = []
    for name in args.suites:
        t0 = time.perf_counter()
        log(f"suite {name} ...")
        try:
            sections, skipped = run_suite(name, args, log)
        except Exception as e:  # noqa: BLE001 - one broken suite must not lose the others
            import traceback

            traceback.print_exc()
            failed.append(name)
            sections, skipped = None, f"suite failed: {type(e).__name__}: {e}"
        text = f"## Suite `{name}`\n\n" + ("\n".join(sections) if sections else f"_{skipped}_\n")
        text += f"\n_suite time: {time.perf_counter() - t0:.1f} s_\n"
        print(text, flush=True)
        parts.append(text)
        write_atomic(args.out, "\n".join(parts))
    parts.append(threading_note())
    print(parts[-1])
    write_atomic(args.out, "\n".join(parts))
    log(f"results written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
