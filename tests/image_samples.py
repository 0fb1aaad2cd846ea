"""Sample images shared by the tests of kmeanskit.image (tests/test_image_*.py)."""

import io

import numpy as np

COLORS = np.array([[200, 30, 30], [20, 40, 220], [240, 240, 240], [30, 160, 60]], dtype=np.uint8)
AREAS = [0.4, 0.3, 0.2, 0.1]


def flat_image(rng, h=40, w=50, colors=COLORS, areas=AREAS):
    """An image whose pixels take ``colors`` in the given shares, shuffled."""
    n = h * w
    counts = [int(round(a * n)) for a in areas]
    idx = np.repeat(np.arange(len(colors)), counts)
    rng.shuffle(idx)
    return colors[idx].reshape(h, w, 3)


def noisy_image(rng, h=300, w=300, sd=12.0):
    """Three well-separated colour blobs with Gaussian noise: > 65536 distinct colours."""
    base = np.array([[200, 60, 40], [40, 90, 200], [90, 200, 90]], dtype=np.float64)
    lab = rng.integers(0, 3, size=h * w)
    px = np.clip(np.rint(base[lab] + rng.normal(scale=sd, size=(h * w, 3))), 0, 255)
    return px.astype(np.uint8).reshape(h, w, 3)


def png_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()

