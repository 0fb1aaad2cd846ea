"""Deterministic synthetic workloads (nothing is downloaded).

Every workload is generated from a fixed seed, so every library and every
run sees the same bytes. ``quick=True`` gives small versions (n = 20,000)
for checking the harness, not for timing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

SEED = 20240611
INIT_SEED = 7


@dataclass(frozen=True)
class Workload:
    name: str
    n: int
    d: int
    k: int
    dtype: type
    kind: str          # generator name in GENERATORS
    description: str = ""

    @property
    def label(self) -> str:
        return (f"{self.name} (n={self.n:,}, d={self.d}, k={self.k:,}, "
                f"{np.dtype(self.dtype).name})")


def photo_pixels(n: int, seed: int = SEED) -> np.ndarray:
    """RGB pixels (0..255, rounded like an 8-bit image, as float32) of a
    synthetic landscape 'photo' with about ``n`` pixels: a sky gradient, a sun,
    hills, a lake, a few coloured objects, soft shading, vignetting and
    sensor noise. Returns exactly ``n`` rows in raster order."""
    rng = np.random.default_rng(seed)
    w = int(round(np.sqrt(n * 1.25)))
    h = -(-n // w)
    v, u = np.meshgrid(np.linspace(0, 1, h, dtype=np.float32),
                       np.linspace(0, 1, w, dtype=np.float32), indexing="ij")
    img = np.empty((h, w, 3), np.float32)
    # sky: deep blue at the top to pale near the horizon
    t = np.clip(v / 0.55, 0, 1)[..., None]
    img[:] = (1 - t) * np.array([40, 90, 190], np.float32) + t * np.array([200, 220, 240], np.float32)

    def blend(mask, colour, shade=None):
        m = np.clip(mask, 0, 1)[..., None]
        c = np.asarray(colour, np.float32)
        if shade is not None:
            c = c * shade[..., None]
        img[:] = (1 - m) * img + m * c

    def soft(x, width):
        return 0.5 * (1 + np.tanh(x / (2 * width)))

    # sun with a glow
    r = np.hypot(u - 0.78, (v - 0.18) * 1.2)
    blend(np.exp(-(r / 0.12) ** 2) * 0.6, [255, 230, 170])
    blend(soft(0.05 - r, 0.004), [255, 250, 220])
    # two hills
    hill1 = 0.55 + 0.08 * np.sin(u * 5.0 + 0.3) + 0.03 * np.sin(u * 17.0)
    blend(soft(v - hill1, 0.003), [70, 120, 60], 0.75 + 0.35 * (1 - v))
    hill2 = 0.66 + 0.05 * np.cos(u * 7.0)
    blend(soft(v - hill2, 0.003), [110, 150, 50], 0.8 + 0.3 * u)
    # lake with a reflection-like gradient
    lake = soft(0.1 - np.hypot((u - 0.35) / 2.2, v - 0.86), 0.004)
    blend(lake, [60, 110, 150], 0.8 + 0.4 * (v - 0.8))
    # a red roof, a white wall, a yellow field strip
    blend(soft(0.02 - np.maximum(np.abs(u - 0.62) - 0.05, np.abs(v - 0.6) - 0.03), 0.002), [170, 40, 35])
    blend(soft(0.02 - np.maximum(np.abs(u - 0.62) - 0.045, np.abs(v - 0.66) - 0.03), 0.002),
          [235, 232, 225])
    blend(soft(0.015 - np.abs(v - (0.72 + 0.1 * u)), 0.003) * (u > 0.7), [220, 190, 60])
    # lighting, vignetting, noise
    vignette = 1 - 0.35 * ((u - 0.5) ** 2 + (v - 0.5) ** 2) * 2
    img *= vignette[..., None]
    img += rng.normal(0, 4.0, img.shape).astype(np.float32)
    np.clip(np.rint(img, out=img), 0, 255, out=img)
    return np.ascontiguousarray(img.reshape(-1, 3)[:n])


def gaussian_mixture(n, d, centres, scale, dtype, seed, spread=1.0):
    """Points around ``centres`` random centres in d dimensions, with
    per-cluster standard deviations in [0.5, 1.5] x ``scale`` and unequal
    cluster sizes."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, spread, (centres, d))
    sd = scale * rng.uniform(0.5, 1.5, centres)
    p = rng.dirichlet(np.full(centres, 5.0))
    lab = rng.choice(centres, size=n, p=p)
    X = rng.standard_normal((n, d), dtype=np.float64)
    X *= sd[lab, None]
    X += mu[lab]
    return np.ascontiguousarray(X, dtype=dtype)


def tabular(n, d, seed=SEED):
    """Mixed-scale tabular features: a mixture of 40 clusters, a linear mix
    between features, a few log-normal (skewed) columns and per-column units."""
    rng = np.random.default_rng(seed + 1)
    X = gaussian_mixture(n, d, 40, 0.8, np.float64, seed + 2)
    X = X @ (np.eye(d) + 0.3 * rng.normal(0, 1 / np.sqrt(d), (d, d)))
    X[:, : d // 4] = np.exp(0.5 * X[:, : d // 4])
    X *= rng.uniform(0.1, 100, d)
    return np.ascontiguousarray(X)


def low_d(n, seed=SEED):
    """2-D points: 150 blobs of varied sizes plus 5% uniform background."""
    rng = np.random.default_rng(seed + 3)
    X = gaussian_mixture(n, 2, 150, 0.02, np.float64, seed + 4, spread=1.0)
    m = rng.random(n) < 0.05
    X[m] = rng.uniform(-3, 3, (int(m.sum()), 2))
    return X


GENERATORS = {
    "pixels": lambda w: photo_pixels(w.n),
    "tabular": lambda w: tabular(w.n, w.d),
    "embeddings": lambda w: gaussian_mixture(w.n, w.d, 300, 0.35, np.float32, SEED + 5,
                                             spread=1 / np.sqrt(2)),
    "large_k": lambda w: gaussian_mixture(w.n, w.d, 1200, 0.3, np.float32, SEED + 6),
    "low_d": lambda w: low_d(w.n),
}

FULL = [
    Workload("pixels", 2_000_000, 3, 8, np.float32, "pixels",
             "synthetic 8-bit RGB photo (sky gradient, sun, hills, lake, objects, noise)"),
    Workload("tabular", 200_000, 16, 32, np.float64, "tabular",
             "40-cluster mixture, mixed features, skewed columns, mixed units"),
    Workload("embeddings", 100_000, 128, 256, np.float32, "embeddings",
             "300-component Gaussian mixture, overlapping"),
    Workload("large_k", 100_000, 32, 1_000, np.float32, "large_k",
             "1,200-component Gaussian mixture"),
    Workload("low_d", 1_000_000, 2, 100, np.float64, "low_d",
             "150 2-D blobs + 5% uniform background"),
]

QUICK_N = 20_000
QUICK = [
    Workload("pixels", QUICK_N, 3, 8, np.float32, "pixels", FULL[0].description),
    Workload("tabular", QUICK_N, 16, 32, np.float64, "tabular", FULL[1].description),
    Workload("embeddings", QUICK_N, 128, 32, np.float32, "embeddings", FULL[2].description),
    Workload("large_k", QUICK_N, 32, 100, np.float32, "large_k", FULL[3].description),
    Workload("low_d", QUICK_N, 2, 100, np.float64, "low_d", FULL[4].description),
]


def workloads(quick: bool) -> list[Workload]:
    return list(QUICK if quick else FULL)


def workload(name: str, quick: bool) -> Workload:
    return next(w for w in workloads(quick) if w.name == name)


@functools.lru_cache(maxsize=2)
def load(w: Workload) -> np.ndarray:
    """The data of a workload (cached: the last two)."""
    X = GENERATORS[w.kind](w)
    assert X.shape == (w.n, w.d) and X.dtype == np.dtype(w.dtype), (X.shape, X.dtype)
    X.setflags(write=False)
    return X


@functools.lru_cache(maxsize=8)
def initial_centres(w: Workload) -> np.ndarray:
    """k-means++ (kmeanskit's greedy seeding) from a fixed seed, computed once
    and given to every library."""
    from kmeanskit._init import kmeans_plusplus_indices

    X = load(w)
    idx = kmeans_plusplus_indices(X, w.k, None, np.random.default_rng(INIT_SEED))
    C = np.ascontiguousarray(X[np.asarray(idx)])
    C.setflags(write=False)
    return C
