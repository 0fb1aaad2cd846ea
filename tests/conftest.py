import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import matplotlib  # noqa: E402  (headless plots in every test)

matplotlib.use("Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def blobs(rng, n=600, d=3, k=4, spread=0.6, dtype=np.float64):
    """Gaussian blobs around k well-separated random centres."""
    centers = rng.normal(scale=10.0, size=(k, d))
    lab = rng.integers(0, k, size=n)
    X = centers[lab] + rng.normal(scale=spread, size=(n, d))
    return X.astype(dtype), lab, centers
