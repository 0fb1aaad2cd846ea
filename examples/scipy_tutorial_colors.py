"""The classic scipy.cluster.vq colour tutorial, with one line changed.

    from scipy.cluster.vq import kmeans, vq, whiten   # before
    from kmeanskit.vq import kmeans, vq, whiten       # after

Whiten each channel of an image's pixels, draw the elbow for k = 1..10, label
the pixels with vq and un-whiten the centres to get the colours. Run:

    python examples/scipy_tutorial_colors.py [IMAGE] [-k 4]
    python examples/scipy_tutorial_colors.py --help

Without an image it uses a synthetic four-colour image (no download).
"""

import argparse
import sys

import numpy as np

from kmeanskit.vq import kmeans, vq, whiten


def load_pixels(path=None):
    if path is None:
        rng = np.random.default_rng(0)
        palette = np.array([[230, 30, 30], [30, 200, 40], [20, 40, 220], [240, 240, 240]], float)
        img = palette[rng.integers(0, 4, size=(120, 160))] + rng.normal(0, 6, size=(120, 160, 3))
        return np.clip(img, 0, 255).reshape(-1, 3)
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=float).reshape(-1, 3)


def main(path=None, k=4):
    """Print the elbow table for k = 1..10 and the k colours with their shares."""
    pixels = load_pixels(path)
    std = pixels.std(axis=0)
    white = whiten(pixels)
    print(" k  distortion")
    for j in range(1, 11):
        _, distortion = kmeans(white, j, rng=0)
        print(f"{j:2d}  {distortion:.4f}")
    book, _ = kmeans(white, k, rng=0)
    codes, _ = vq(white, book)
    colours = np.clip(np.round(book * std), 0, 255).astype(int)
    counts = np.bincount(codes, minlength=len(book))
    for c, n in sorted(zip(colours.tolist(), counts), key=lambda t: -t[1]):
        print(f"#{c[0]:02x}{c[1]:02x}{c[2]:02x}  {100 * n / len(codes):5.1f}%")


def parse_args(argv=None):
    """The command line: an optional image path and -k."""
    ap = argparse.ArgumentParser(description="scipy's vq colour tutorial on kmeanskit.vq (one import changed).")
    ap.add_argument("image", nargs="?", help="an image file (default: a synthetic four-colour image)")
    ap.add_argument("-k", type=int, default=4, help="number of colours to report (default 4)")
    args = ap.parse_args(argv)
    if args.k < 1:
        ap.error("-k must be at least 1")
    return args


if __name__ == "__main__":
    args = parse_args()
    try:
        main(args.image, args.k)
    except (OSError, ValueError) as exc:  # an unreadable image: one line, no traceback
        sys.exit(f"Error: {str(exc).splitlines()[0]}")
