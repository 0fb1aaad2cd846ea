"""Cold and warm start: ``import kmeanskit`` + a small fit in a fresh process.

Cold uses an empty numba cache directory (NUMBA_CACHE_DIR), warm reuses it.
Prints a markdown table. Usage: python benchmarks/compile_time.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

SNIPPET = (
    "import time; t0 = time.perf_counter(); import numpy as np, kmeanskit; t1 = time.perf_counter(); "
    "X = np.random.default_rng(0).normal(size=(1000, 3)); "
    "kmeanskit.fit(X, 4, random_state=0); t2 = time.perf_counter(); "
    "print(f'{t1 - t0:.4f} {t2 - t0:.4f}')"
)


def _run(cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def run(repeats: int = 3) -> str:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            cold.append(_run(d))
            warm.extend(_run(d) for _ in range(2))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    return "\n".join([
        "| start | import kmeanskit (s) | import + fit(1000 x 3, k=4) (s) |",
        "|---|---|---|",
        f"| cold (empty numba cache) | {med(cold, 0):.2f} | {med(cold, 1):.2f} |",
        f"| warm (cached kernels) | {med(warm, 0):.2f} | {med(warm, 1):.2f} |",
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    print(run(ap.parse_args().repeats))
