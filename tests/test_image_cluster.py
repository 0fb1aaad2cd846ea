"""kmeanskit.image.cluster: the colour histogram and the k chosen by k="auto"."""

import warnings

import numpy as np
import pytest

from kmeanskit.image.cluster import AUTO_K_FALLBACK, histogram, knee_of_sweep
from kmeanskit.image.decode import pixels_from_array


def kneed_knee(ks, inertia, m):
    """The rule of k="auto" written directly on kneed's KneeLocator."""
    from kneed import KneeLocator

    if len(ks) <= 2:
        return int(ks[-1])
    tiny = inertia <= 1e-12 * max(inertia[0], 1e-300)
    if tiny[-1] and m <= ks[-1]:
        return int(ks[np.flatnonzero(tiny)[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kl = KneeLocator(ks, inertia, curve="convex", direction="decreasing", S=1.0)
    return int(min(5, ks[-1])) if kl.knee is None else int(kl.knee)


def test_knee_agrees_with_kneed_on_decreasing_curves(rng):
    for _ in range(300):
        n = int(rng.integers(3, 11))
        ks = np.arange(1, n + 1)
        drops = np.sort(rng.gamma(rng.uniform(0.2, 3.0), size=n - 1))[::-1]  # convex curve
        if rng.random() < 0.3:
            drops = rng.permutation(drops)  # any decreasing curve
        floor = 0.0 if rng.random() < 0.2 else rng.uniform(0.0, 5.0)
        inertia = np.append(np.cumsum(drops[::-1])[::-1], 0.0) + floor
        m = int(rng.integers(1, 20))
        assert knee_of_sweep(ks, inertia, m) == kneed_knee(ks, inertia, m)


def test_knee_special_cases():
    assert knee_of_sweep(np.arange(1, 3), np.array([5.0, 1.0]), 50) == 2  # too short to bend
    exact = np.array([9.0, 4.0, 1.0, 0.0, 0.0, 0.0])
    assert knee_of_sweep(np.arange(1, 7), exact, 4) == 4  # a flat-coloured image: all its colours
    line = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    assert knee_of_sweep(np.arange(1, 8), line, 100) == AUTO_K_FALLBACK == 5  # no knee
    assert knee_of_sweep(np.arange(1, 4), np.array([3.0, 2.0, 1.0]), 100) == 3  # fallback <= k max


@pytest.mark.parametrize("alpha", [False, True])
def test_histogram_counts_distinct_colours(rng, alpha):
    px = rng.integers(0, 4, size=(30, 20, 4)).astype(np.uint8) * 60
    pix = pixels_from_array(px if alpha else px[..., :3])
    hist = histogram(pix, pix.alpha_ch, 100)
    rows = px.reshape(-1, 4)
    if alpha:
        rows = rows[rows[:, 3] >= 100]
    codes = (rows[:, 0].astype(np.int64) << 16) | (rows[:, 1].astype(np.int64) << 8) | rows[:, 2]
    want, counts = np.unique(codes, return_counts=True)
    np.testing.assert_array_equal(hist.codes, want)
    np.testing.assert_array_equal(hist.w, counts.astype(np.float64))
    assert hist.n_pixels == rows.shape[0]
