import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import matplotlib  # noqa: E402  (headless plots in every test)
from hypothesis import settings  # noqa: E402

matplotlib.use("Agg")

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci) replays the same examples every run,
# so a submission passes or fails on its own merits; a local `make test`
# explores new examples each time (and keeps failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
# `make fuzz` (tests/test_fuzz.py with KMEANSKIT_FUZZ_EXAMPLES examples a reader): new random
# examples every run, failures kept in .hypothesis/ to replay
settings.register_profile("fuzz", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def blobs(rng, n=600, d=3, k=4, spread=0.6, dtype=np.float64):
    """Gaussian blobs around k well-separated random centres."""
    centers = rng.normal(scale=10.0, size=(k, d))
    lab = rng.integers(0, k, size=n)
    X = centers[lab] + rng.normal(scale=spread, size=(n, d))
    return X.astype(dtype), lab, centers


def three_groups(n_per=300, d=3, seed=0):
    """Three well-separated groups of ``n_per`` rows (around 0, 5 and 10 in
    every feature, sd 0.3), in group order: the extreme-magnitude tests
    scale them by a power of two."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(c, 0.3, size=(n_per, d)) for c in (0.0, 5.0, 10.0)])


def pytest_configure(config):
    """In the controller of an xdist run (``-n N``): compile the kernels the
    suite uses once, in N processes sharing the work (tests/warmup.py),
    before the workers start; they then load them from numba's cache
    instead of each compiling the same kernels."""
    import subprocess
    import time

    n = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or not isinstance(n, int) or n < 2:
        return
    if os.environ.get("KMEANSKIT_TEST_WARMUP") == "0":  # to measure the suite without it
        return
    here = os.path.dirname(__file__)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, os.path.join(here, "warmup.py"), str(i), str(n)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    errors = [p.communicate()[1] for p in procs if p.wait() != 0]
    for err in errors:  # the tests themselves will report what is broken
        sys.stderr.write(f"kernel warm-up failed:\n{err[-2000:]}\n")
    sys.stderr.write(f"numba kernels compiled or loaded in {time.perf_counter() - t0:.1f} s "
                     f"({n} processes, tests/warmup.py)\n")
