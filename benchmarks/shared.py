"""Suite ``shared``: time per iteration with one core kept busy by another
process.

Pixels workload, 10 iterations from the same start (as in ``lloyd``), each
library with its default (all-core) thread setting. Each repeat runs all
libraries on the idle machine, then starts a spinning Python subprocess
(``while True: pass``), runs them again, and stops it. Reported: medians and
the busy / idle ratio.
"""

from __future__ import annotations

import subprocess
import sys
import time

from . import data, peers
from .common import PAUSE_S, median, section, table

ITERS = 10


def spinner():
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)  # let it get scheduled
    return p


def run(quick: bool, repeats: int | None = None, log=None, libraries=None) -> list[str]:
    repeats = repeats or (1 if quick else 3)
    pause = 0.05 if quick else PAUSE_S
    w = data.workload("pixels", quick)
    X, C0 = data.load(w), data.initial_centres(w)
    avail = peers.available()

    def want(lib):
        return (libraries is None or lib in libraries) and (lib == "kmeanskit" or avail.get(lib))

    libs = []
    if want("kmeanskit"):
        libs.append(("kmeanskit auto", lambda it: peers.kmeanskit_from(X, C0, it, 0.0, "auto")))
    if want("sklearn"):
        libs.append(("sklearn lloyd", lambda it: peers.sklearn_from(X, C0, it, 0.0, "lloyd")))
    if want("sklearnex"):
        libs.append(("sklearnex lloyd",
                     lambda it: peers.sklearn_from(X, C0, it, 0.0, "lloyd", "sklearnex")))
    if want("faiss"):
        X32 = peers.as_f32(X)
        libs.append(("faiss (no subsampling)", lambda it: peers.faiss_from(X32, C0, it)))
    for _, fn in libs:
        fn(2)
    times = {(name, busy): [] for name, _ in libs for busy in (False, True)}
    for rep in range(repeats):
        for busy in (False, True):
            sp = spinner() if busy else None
            try:
                for name, fn in libs:
                    time.sleep(pause)
                    o = fn(ITERS)
                    times[(name, busy)].append(o.seconds / max(1, o.n_iter))
                    if log:
                        log(f"    {name:<24} {'busy' if busy else 'idle'}: {times[(name, busy)][-1] * 1e3:8.2f} ms/it")
            finally:
                if sp is not None:
                    sp.kill()
                    sp.wait()
    rows = []
    for name, _ in libs:
        a, b = median(times[(name, False)]), median(times[(name, True)])
        rows.append([name, a * 1e3, b * 1e3, b / a])
    body = table(["library", "idle (ms / it)", "one core busy (ms / it)", "busy / idle"], rows)
    return [section(f"One core busy with another process: {w.label}", body, [
        "busy = a spinning Python subprocess (while True: pass) started before the timed runs; "
        "each library with its default threads; medians over repeats",
        "target (issue 4): kmeanskit busy / idle <= 2.5"])]
