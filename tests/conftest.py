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
