"""Dominant colours / colour quantization: kmeanskit against its peers.

For each image and each k, every method produces a k-colour version of the
image; we report the time and the error of that image against the original:
the mean CIEDE2000 (perceptual) and the RGB mean squared error (per channel,
0-255 values).

Methods (peers are skipped when not installed):

* ``kmeanskit-lab`` / ``-rgb`` / ``-din99o``: ``quantize(image, k)`` (the
  palette of ``dominant_colors`` and the full repaint), clustering in
  CIELAB / sRGB / DIN99o;
* ``pillow-mediancut``, ``pillow-maxcoverage``, ``pillow-fastoctree``,
  ``pillow-libimagequant`` (when Pillow is built with it), and
  ``pillow-mediancut+kmeans`` (``Image.quantize(kmeans=10)``);
* ``colorthief`` / ``fast-colorthief`` (palette at the default quality 10, then
  each pixel mapped to its nearest palette colour in RGB; the mapping is not
  timed), optional. Its median cut often returns one colour more or fewer than
  asked (coffee.jpg: 4 for 3, 7 for 8, 15 for 16): the adapter asks for
  neighbouring counts until the palette has exactly k colours (else keeps the
  first k), so every method is compared with k colours; it is timed as the
  best of two calls, the second asking for the right count at once;
* ``sklearn``: scikit-learn ``KMeans`` (k-means++, n_init=1) on all pixels in
  RGB, then its labels.

Images: the paths given, or by default a synthetic 12-megapixel JPEG made by
upscaling the bundled ``coffee.jpg`` to 4000 x 3000 (bicubic), adding Gaussian
noise (sd 8 per channel, like sensor noise) and saving it as a JPEG of quality
95 (about 10 MB, over a million distinct colours after decoding, which is
harder than most real photos: the histogram alone is not small there). Decoding is timed separately (Pillow, best of ``repeat``); all
methods start from the decoded image.

Usage::

    python benchmarks/images_bench.py                 # 12 MP synthetic, k = 3 5 8 16
    python benchmarks/images_bench.py photo1.jpg photo2.jpg -k 8 --no-sklearn
    python benchmarks/images_bench.py --markdown > table.md

``run(...)`` returns the rows as dicts for ``make bench``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from importlib import resources

import numpy as np

KS = (3, 5, 8, 16)


def synthetic_photo(path, size=(4000, 3000), seed=0, sd=8.0):
    """Write the upscaled + noisy bundled photograph as a JPEG; return path."""
    from PIL import Image

    with resources.as_file(resources.files("kmeanskit") / "data" / "coffee.jpg") as src:
        img = Image.open(src).convert("RGB").resize(size, Image.BICUBIC)
    arr = np.asarray(img).astype(np.float32)
    rng = np.random.default_rng(seed)
    arr += rng.normal(scale=sd, size=arr.shape).astype(np.float32)
    Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)).save(path, quality=95)
    return path


def _best_of(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


#: (image size, k, method) -> the count to ask ColorThief for (see _exactly_k)
_COUNT_FOR_K: dict = {}


def _exactly_k(get_palette, k, key):
    """A palette of exactly k colours from ``get_palette(count)`` (ColorThief's
    count is approximate): try k, k - 1, k + 1, k - 2, k + 2; else the first k
    colours of the first palette that has at least k. The count that worked is
    remembered under ``key``, so a repeated (timed) call makes one call."""
    if key in _COUNT_FOR_K:
        c, cut = _COUNT_FOR_K[key]
        return list(get_palette(c))[:cut]
    tried = []
    for c in (k, k - 1, k + 1, k - 2, k + 2):
        if c < 2:
            continue
        pal = list(get_palette(c))
        if len(pal) == k:
            _COUNT_FOR_K[key] = (c, k)
            return pal
        tried.append((c, pal))
    longer = [(c, p) for c, p in tried if len(p) > k]
    c, pal = longer[0] if longer else max(tried, key=lambda t: len(t[1]))
    _COUNT_FOR_K[key] = (c, k)
    return pal[:k]


def _nearest_rgb(img, palette_rgb):
    from kmeanskit.image import Palette, quantize

    return quantize(img, Palette.from_colors([tuple(map(int, c)) for c in palette_rgb],
                                             color_space="rgb"))


def methods(include_sklearn=True):
    """name -> callable(PIL image, k) returning a quantized image, and the
    number of timed repetitions for it."""
    from PIL import Image, features

    import kmeanskit

    Q = Image.Quantize
    m = {
        "kmeanskit-lab": (lambda im, k: kmeanskit.quantize(im, k), 3),
        "kmeanskit-rgb": (lambda im, k: kmeanskit.quantize(im, k, color_space="rgb"), 3),
        "kmeanskit-din99o": (lambda im, k: kmeanskit.quantize(im, k, color_space="din99o"), 3),
        "pillow-mediancut": (lambda im, k: im.quantize(k, method=Q.MEDIANCUT), 1),
        "pillow-maxcoverage": (lambda im, k: im.quantize(k, method=Q.MAXCOVERAGE), 1),
        "pillow-fastoctree": (lambda im, k: im.quantize(k, method=Q.FASTOCTREE), 3),
        "pillow-mediancut+kmeans": (lambda im, k: im.quantize(k, method=Q.MEDIANCUT, kmeans=10), 1),
    }
    if features.check("libimagequant"):
        m["pillow-libimagequant"] = (lambda im, k: im.quantize(k, method=Q.LIBIMAGEQUANT), 1)
    if importlib.util.find_spec("colorthief") is not None:
        def colorthief(im, k):
            import io

            from colorthief import ColorThief

            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return _exactly_k(lambda c: ColorThief(io.BytesIO(buf.getvalue())).get_palette(
                color_count=c, quality=10), k, (im.size, k, "ct"))

        m["colorthief"] = (colorthief, 2)
    if importlib.util.find_spec("fast_colorthief") is not None:
        def fast_colorthief(im, k):
            import fast_colorthief as fct

            arr = np.asarray(im.convert("RGBA"))
            return _exactly_k(lambda c: fct.get_palette(arr, c, 10), k, (im.size, k, "fct"))

        m["fast-colorthief"] = (fast_colorthief, 2)
    if include_sklearn and importlib.util.find_spec("sklearn") is not None:
        def sk(im, k):
            from sklearn.cluster import KMeans

            X = np.asarray(im, dtype=np.float32).reshape(-1, 3)
            km = KMeans(k, n_init=1, random_state=0).fit(X)
            cols = np.clip(np.rint(km.cluster_centers_), 0, 255).astype(np.uint8)
            return Image.fromarray(cols[km.labels_].reshape(im.height, im.width, 3))

        m["sklearn"] = (sk, 1)
    return m


def run(images=None, ks=KS, include_sklearn=True, only=None, verbose=True):
    """Benchmark rows: dicts with image, megapixels, decode_s, method, k,
    seconds (after decode), mean_ciede2000, rgb_mse."""
    from PIL import Image

    from kmeanskit.image import quantization_error

    tmp = None
    if not images:
        tmp = tempfile.mkdtemp(prefix="kmk-bench-")
        images = [synthetic_photo(os.path.join(tmp, "synthetic-12mp.jpg"))]
    meths = methods(include_sklearn)
    if only:
        meths = {k: v for k, v in meths.items() if k in only}
    # warm up numba (compilation is not what we measure)
    for name in ("kmeanskit-lab", "kmeanskit-rgb", "kmeanskit-din99o"):
        if name in meths:
            meths[name][0](Image.fromarray(np.random.default_rng(0).integers(
                0, 256, (64, 64, 3)).astype(np.uint8)), 3)
    rows = []
    for path in images:
        def decode():
            im = Image.open(path)
            im.load()
            return im.convert("RGB") if im.mode != "RGB" else im

        decode_s, img = _best_of(decode, 3)
        mp = img.width * img.height / 1e6
        for k in ks:
            for name, (fn, rep) in meths.items():
                secs, out = _best_of(lambda: fn(img, k), rep)
                if isinstance(out, list):  # a palette (ColorThief): map pixels to it
                    out = _nearest_rgb(img, out)
                err = quantization_error(img, out.convert("RGB"))
                row = dict(image=os.path.basename(str(path)), megapixels=round(mp, 2),
                           decode_s=decode_s, method=name, k=k, seconds=secs, **err)
                rows.append(row)
                if verbose:
                    print(f"{row['image']} k={k:<2} {name:<24} {secs:7.3f} s  "
                          f"dE00 {err['mean_ciede2000']:6.3f}  MSE {err['rgb_mse']:8.2f}",
                          file=sys.stderr, flush=True)
    if tmp:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return rows


def markdown(rows) -> str:
    out = []
    for image in dict.fromkeys(r["image"] for r in rows):
        rs = [r for r in rows if r["image"] == image]
        out.append(f"**{image}** ({rs[0]['megapixels']} MP; Pillow decode {rs[0]['decode_s']:.3f} s)\n")
        out.append("| method | k | seconds after decode | mean CIEDE2000 | RGB MSE |")
        out.append("| --- | ---: | ---: | ---: | ---: |")
        for k in dict.fromkeys(r["k"] for r in rs):
            group = [r for r in rs if r["k"] == k]
            best_de = min(r["mean_ciede2000"] for r in group)
            best_mse = min(r["rgb_mse"] for r in group)
            for r in group:
                de = f"{r['mean_ciede2000']:.3f}" + (" *" if r["mean_ciede2000"] == best_de else "")
                mse = f"{r['rgb_mse']:.1f}" + (" *" if r["rgb_mse"] == best_mse else "")
                out.append(f"| {r['method']} | {k} | {r['seconds']:.3f} | {de} | {mse} |")
        out.append("")
    out.append("`*`: lowest error at that k.")
    return "\n".join(out)


def bench_suite(quick=False):
    """``make bench`` hook: the markdown tables (k = 8 without scikit-learn
    in quick mode)."""
    rows = run(ks=(8,) if quick else KS, include_sklearn=not quick, verbose=False)
    return ["### Dominant colours and quantization (12 MP synthetic photo)\n\n" + markdown(rows)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="*", help="image files (default: synthetic 12 MP photo)")
    ap.add_argument("-k", type=int, action="append", help="k values (default 3 5 8 16)")
    ap.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (slow)")
    ap.add_argument("--only", action="append", help="run only this method (repeatable)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    rows = run(args.images, tuple(args.k or KS), not args.no_sklearn, args.only)
    if args.markdown:
        print(markdown(rows))
    return rows


if __name__ == "__main__":
    main()
