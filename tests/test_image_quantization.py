"""kmeanskit.image.quantization: quantize, labels and quantization_error."""

import numpy as np
import pytest

import naive
from image_samples import noisy_image
from kmeanskit import Palette, dominant_colors, quantize
from kmeanskit.image import labels, quantization_error, srgb_to_lab

# --- quantize and labels --------------------------------------------------------

@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_quantize_matches_nearest_centre(rng, space):
    img = noisy_image(rng, 80, 90)
    pal = dominant_colors(img, k=5, color_space=space, refine=None)  # plain k-means
    assert pal.metric == "euclidean"
    out = quantize(img, pal)
    assert out.mode == "RGB" and out.size == (90, 80)
    px = img.reshape(-1, 3)
    feat = px.astype(np.float64) if space == "rgb" else srgb_to_lab(px)
    want = naive.nearest_colors(feat, pal.centers)
    np.testing.assert_array_equal(labels(img, pal).ravel(), want)
    np.testing.assert_array_equal(np.asarray(out).reshape(-1, 3), pal.colors[want])
    # quantize(image, k) is dominant_colors + quantize
    np.testing.assert_array_equal(np.asarray(quantize(img, 5, color_space=space, refine=None)),
                                  np.asarray(out))


def test_quantize_with_given_palette():
    img = np.array([[[250, 10, 10], [10, 10, 240], [128, 128, 128]]], dtype=np.uint8)
    pal = Palette.from_colors(["#000000", "#ffffff", "#ff0000", "#0000ff"])
    assert np.asarray(quantize(img, pal)).tolist() == [[[255, 0, 0], [0, 0, 255], [255, 255, 255]]]


def test_dither_keeps_palette_and_local_means():
    ramp = np.repeat(np.linspace(0, 255, 128)[None, :], 64, axis=0)
    img = np.repeat(ramp[:, :, None], 3, axis=2).round().astype(np.uint8)
    pal = Palette.from_colors(["#000000", "#ffffff"], color_space="rgb")
    plain = np.asarray(quantize(img, pal)).astype(float)
    dith = np.asarray(quantize(img, pal, dither=True)).astype(float)
    assert set(np.unique(dith)) <= {0.0, 255.0}
    # column means of the dithered image follow the ramp; the plain one is a step
    err_d = np.abs(dith[..., 0].mean(axis=0) - ramp[0]).mean()
    err_p = np.abs(plain[..., 0].mean(axis=0) - ramp[0]).mean()
    assert err_d < 10 and err_p > 40


def test_quantization_error_matches_direct_computation(rng):
    img = noisy_image(rng, 50, 60)
    q = np.asarray(quantize(img, 4))
    e = quantization_error(img, q)
    assert e["rgb_mse"] == pytest.approx(((img.astype(float) - q) ** 2).mean())
    from kmeanskit.image import delta_e_ciede2000

    de = delta_e_ciede2000(srgb_to_lab(img.reshape(-1, 3)), srgb_to_lab(q.reshape(-1, 3)))
    assert e["mean_ciede2000"] == pytest.approx(de.mean())
    with pytest.raises(ValueError, match="differ in size"):
        quantization_error(img, q[:10])




# --- the figures of docs/images.md (#19: every figure a page states is asserted) --------------------

_ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
_KS = (3, 5, 8, 16)


def _images_md():
    return (_ROOT / "docs" / "images.md").read_text()


def _photo_tables(text):
    """``{image: {(method, k): (mean CIEDE2000 cell, RGB MSE cell)}}`` and ``{image: MP}`` of the
    per-photo tables of docs/images.md ("**name** (0.24 MP)" then the table)."""
    import re

    tables, mp, current = {}, {}, None
    for ln in text.splitlines():
        m = re.match(r"^\*\*([\w.-]+\.(?:jpg|png))\*\* \(([\d.]+) MP\)$", ln)
        if m:
            current = m.group(1)
            tables[current], mp[current] = {}, float(m.group(2))
        elif current and ln.startswith("| ") and not ln.startswith(("| method", "| ---")):
            method, k, de, mse = (c.strip() for c in ln.strip().strip("|").split("|"))
            tables[current][(method, int(k))] = (de, mse)
        elif current and not ln.startswith("|") and ln.strip():
            current = None
    return tables, mp


def _photos():
    """The photos whose errors docs/images.md states: the bundled coffee.jpg, and scikit-image's
    astronaut.png, rocket.jpg and chelsea.png where scikit-image (which ships them) is installed."""
    import importlib.util
    from pathlib import Path

    photos = {"coffee.jpg": _ROOT / "src" / "kmeanskit" / "data" / "coffee.jpg"}
    spec = importlib.util.find_spec("skimage")
    if spec is not None and spec.origin:
        for name in ("astronaut.png", "rocket.jpg", "chelsea.png"):
            path = Path(spec.origin).parent / "data" / name
            if path.is_file():
                photos[name] = path
    return photos


def _errors(path, method_names):
    """``{(method, k): (mean CIEDE2000, RGB MSE)}`` of the benchmark's methods
    (benchmarks/images_bench.py), plus ``("refine=None", k)``: plain Lab k-means."""
    import sys

    from PIL import Image

    sys.path.insert(0, str(_ROOT))
    from benchmarks.images_bench import methods

    with Image.open(path) as im:
        im.load()
        img = im.convert("RGB")
    fns = methods(include_sklearn=True)
    out = {}
    for k in _KS:
        for name in method_names:
            e = quantization_error(img, fns[name][0](img, k).convert("RGB"))
            out[(name, k)] = (e["mean_ciede2000"], e["rgb_mse"])
        e = quantization_error(img, quantize(img, k, refine=None))
        out[("refine=None", k)] = (e["mean_ciede2000"], e["rgb_mse"])
    return out, img.width * img.height / 1e6


def test_images_md_quality_tables_and_summary():
    """docs/images.md's per-photo tables (mean CIEDE2000 and RGB MSE of each method at k = 3, 5, 8,
    16, the lowest starred), its summary table (plain Lab k-means, Lab mode, the best other method)
    and the ranges its prose draws from them are the current library's: computed here on the
    bundled coffee.jpg, and on scikit-image's three photos when scikit-image is installed (the
    ranges are then checked exactly, else the coffee photo's figures must lie within them)."""
    import re

    text = _images_md()
    tables, mp = _photo_tables(text)
    photos = _photos()
    assert set(tables) == {"coffee.jpg", "astronaut.png", "rocket.jpg", "chelsea.png"}
    lines = text[text.index("| image | k | Lab k-means"):].splitlines()[2:]
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")]
            for ln in lines[:next(i for i, ln in enumerate(lines) if not ln.startswith("|"))]]
    summary = {(r[0], int(r[1])): r[2:] for r in rows}
    spans = {key: [] for key in ("best", "plain", "mse", "rgb_mse", "plain_rgb")}
    for name, path in photos.items():
        table = tables[name]
        names = list(dict.fromkeys(m for m, _ in table))
        got, megapixels = _errors(path, names)
        assert mp[name] == round(megapixels, 2), name
        for k in _KS:
            if ("sklearn", k) in table:
                # scikit-learn's sums follow the processor's vector width (its k-means++ and
                # Lloyd's reductions), so its rows are those of the machine the page names:
                # here within 15 %, never below Lab mode, then the page's figures stand in
                # for it in the stars and the summary below
                doc = tuple(float(v.rstrip(" *")) for v in table[("sklearn", k)])
                now = got[("sklearn", k)]
                assert all(abs(a / b - 1) < 0.15 for a, b in zip(doc, now)), (name, k, doc, now)
                assert now[0] > got[("kmeanskit-lab", k)][0], (name, k)
                got[("sklearn", k)] = doc
            row = {m: got[(m, k)] for m in names}
            best_de = min(v[0] for v in row.values())
            best_mse = min(v[1] for v in row.values())
            for m, (de, mse) in row.items():
                want = (f"{de:.3f}" + (" *" if de == best_de else ""),
                        f"{mse:.1f}" + (" *" if mse == best_mse else ""))
                assert table[(m, k)] == want, (name, m, k, table[(m, k)], want)
            lab, rgb = row["kmeanskit-lab"], row["kmeanskit-rgb"]
            other = min((m for m in names if m != "kmeanskit-lab"), key=lambda m: row[m][0])
            plain = got[("refine=None", k)][0]
            assert summary[(name, k)] == [f"{plain:.3f}", f"**{lab[0]:.3f}**",
                                          f"{row[other][0]:.3f} ({other})",
                                          f"{lab[0] / row[other][0]:.3f}"], (name, k)
            assert lab[0] == best_de  # "Lab mode has the lowest mean CIEDE2000 ... at every k"
            spans["best"].append(100 * (1 - lab[0] / row[other][0]))
            spans["plain"].append(100 * (1 - lab[0] / plain))
            spans["mse"].append(100 * (lab[1] / rgb[1] - 1))
            spans["rgb_mse"].append(100 * (rgb[1] / best_mse - 1))
            spans["plain_rgb"].append(100 * (plain / rgb[0] - 1))
    lo_best, hi_best = (float(v) for v in re.search(r"every photo, ([\d.]+)-([\d.]+) % below the\s+best other",
                                                   text).groups())
    lo_plain, hi_plain = (float(v) for v in re.search(r"and ([\d.]+)-([\d.]+) % below plain Lab k-means\.",
                                                     text).groups())
    lo_mse, hi_mse = (float(v) for v in re.search(r"Its RGB MSE is ([\d.]+)-([\d.]+) % above", text).groups())
    within = float(re.search(r"or within ([\d.]+) % of the lowest", text).group(1))
    below, above = (float(v) for v in re.search(
        r"it ranges from ([\d.]+) % below to ([\d.]+) % above\s+RGB-space k-means", text).groups())
    small, large = (float(v) for v in re.search(r"on\s+photos of ([\d.]+)-([\d.]+) MP", text).groups())
    assert (small, large) == (min(mp.values()), max(mp.values()))
    lo_vs_plain, hi_vs_plain = (float(v) for v in re.search(
        r"where Lab mode is ([\d.]+)-([\d.]+) % below plain Lab k-means", text).groups())
    assert (lo_vs_plain, hi_vs_plain) == (lo_plain, hi_plain)
    assert max(spans["rgb_mse"]) <= within
    if len(photos) == 4:  # every photo the page measures: the ranges exactly
        assert (lo_best, hi_best) == (round(min(spans["best"]), 1), round(max(spans["best"]), 1))
        assert (lo_plain, hi_plain) == (round(min(spans["plain"]), 1), round(max(spans["plain"]), 1))
        assert (lo_mse, hi_mse) == (round(min(spans["mse"]), 1), round(max(spans["mse"]), 1))
        assert (-below, above) == (round(min(spans["plain_rgb"]), 1), round(max(spans["plain_rgb"]), 1))
    else:  # the bundled photo only: its figures lie within the stated ranges
        for (lo, hi), key in (((lo_best, hi_best), "best"), ((lo_plain, hi_plain), "plain"),
                              ((lo_mse, hi_mse), "mse"), ((-below, above), "plain_rgb")):
            assert all(lo - 0.05 <= v <= hi + 0.05 for v in spans[key]), (key, spans[key])


def test_images_md_lab_seeding_and_rounds(monkeypatch):
    """docs/images.md, Lab mode: on the bundled photo at k = 3, 5, 8, 16 the CIEDE2000 rounds take
    the stated numbers of rounds, and seeding them from Lab k-means instead of DIN99o k-means (the
    DIN99o conversions replaced by the identity) ends the stated per cent higher."""
    import re
    import types

    from PIL import Image

    from kmeanskit import _ciede
    from kmeanskit.image import cluster

    text = _images_md()
    with Image.open(_ROOT / "src" / "kmeanskit" / "data" / "coffee.jpg") as im:
        img = im.convert("RGB")

    rounds = []
    refine = _ciede.refine

    def counting(*args, **kwargs):
        out = refine(*args, **kwargs)
        rounds.append(out.n_rounds)
        return out

    monkeypatch.setattr(cluster._ciede, "refine", counting)
    din = [quantization_error(img, quantize(img, k))["mean_ciede2000"] for k in _KS]
    lo, hi = (int(v) for v in re.search(r"after 20 rounds\s+\((\d+)-(\d+) on the bundled photo at k = 3, 5, 8, 16\)",
                                        text).groups())
    assert (min(rounds), max(rounds)) == (lo, hi), rounds

    real = cluster._C

    def identity(a, out):
        out[...] = a

    lab_seeded = types.SimpleNamespace(**{n: getattr(real, n) for n in dir(real) if not n.startswith("__")})
    lab_seeded.lab_to_din99o = lab_seeded.din99o_to_lab = identity
    lab_seeded.pick = lambda kernel, n: kernel if kernel is identity else real.pick(kernel, n)
    monkeypatch.setattr(cluster, "_C", lab_seeded)
    lab = [quantization_error(img, quantize(img, k))["mean_ciede2000"] for k in _KS]
    higher = [100 * (a / b - 1) for a, b in zip(lab, din)]
    m = re.search(r"seeding from Lab k-means ends\s+([\d.]+)-([\d.]+) % higher on the bundled photo", text)
    assert m, "docs/images.md no longer states the Lab seeding's figure"
    assert (float(m.group(1)), float(m.group(2))) == (round(min(higher), 2), round(max(higher), 1)), higher


def test_images_md_synthetic_photo_distinct_colours():
    """docs/images.md: the benchmark's synthetic 12-megapixel photo has the stated number of
    distinct colours after decoding (benchmarks/images_bench.py's generator)."""
    import re
    import sys

    from PIL import Image

    sys.path.insert(0, str(_ROOT))
    from benchmarks.images_bench import synthetic_photo

    text = _images_md()
    found = re.findall(r"\b(\d{3},\d{3})\s+distinct\s+colours", text)
    assert len(found) == 3, found  # "How it is fast", "Benchmark" and the 12-megapixel photo
    stated = {int(v.replace(",", "")) for v in found}
    with __import__("tempfile").TemporaryDirectory() as tmp:
        with Image.open(synthetic_photo(f"{tmp}/synthetic-12mp.jpg")) as im:
            px = np.asarray(im.convert("RGB"))
            assert im.size == (4000, 3000)
    codes = (px[..., 0].astype(np.int64) << 16) | (px[..., 1].astype(np.int64) << 8) | px[..., 2]
    assert stated == {int(np.count_nonzero(np.bincount(codes.ravel(), minlength=1 << 24)))}
