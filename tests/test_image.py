"""kmeanskit.image: palettes, quantization, input modes, errors, determinism."""

import io
import json

import numpy as np
import pytest
from PIL import Image

import naive
from kmeanskit import Palette, dominant_colors, quantize
from kmeanskit.image import (DIRECT_MAX_COLORS, ElbowSweep, labels, load_image,
                             quantization_error, srgb_to_lab)

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


# --- exact recovery -------------------------------------------------------------

@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_known_colours_and_areas_recovered_exactly(rng, space):
    img = flat_image(rng)
    pal = dominant_colors(img, k=4, color_space=space)
    np.testing.assert_array_equal(pal.colors, COLORS)
    assert pal.proportions.tolist() == AREAS
    assert pal.counts.tolist() == [800, 600, 400, 200]
    assert pal.hex == ["#c81e1e", "#1428dc", "#f0f0f0", "#1ea03c"]
    assert pal.inertia == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(pal.lab, srgb_to_lab(COLORS), atol=1e-9)


def test_auto_k_on_flat_image_finds_the_number_of_colours(rng):
    pal = dominant_colors(flat_image(rng), k="auto")
    assert pal.k == 4
    np.testing.assert_array_equal(pal.colors, COLORS)
    assert isinstance(pal.sweep, ElbowSweep) and pal.sweep.knee == 4
    assert pal.sweep.ks.tolist() == [1, 2, 3, 4]


def test_auto_k_elbow_on_noisy_blobs(rng):
    pal = dominant_colors(noisy_image(rng, 120, 120, sd=6.0), k="auto")
    assert pal.k == 3
    assert pal.sweep.ks.tolist() == list(range(1, 11))
    assert np.all(np.diff(pal.sweep.inertia) <= 1e-6 * pal.sweep.inertia[0])


def test_fewer_distinct_colours_than_k_warns_and_shortens(rng):
    img = flat_image(rng, colors=COLORS[:2], areas=[0.75, 0.25])
    with pytest.warns(UserWarning, match="only 2 distinct"):
        pal = dominant_colors(img, k=5)
    assert pal.k == 2 and pal.proportions.tolist() == [0.75, 0.25]


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_histogram_clustering_equals_all_pixels_objective(rng, space):
    """Large images take the binned + refinement path; the reported inertia
    must be the all-pixels objective of the returned centres, and no worse
    than scikit-learn's KMeans on all pixels (RGB)."""
    img = noisy_image(rng)
    px = img.reshape(-1, 3)
    assert len(np.unique(px.view([("", px.dtype)] * 3))) > DIRECT_MAX_COLORS
    pal = dominant_colors(img, k=6, color_space=space, tol=0.0,  # run to a fixed point
                          refine=None)  # plain k-means (Lab mode refines for CIEDE2000 by default)
    feat = px.astype(np.float64) if space == "rgb" else srgb_to_lab(px)
    lab = naive.nearest_colors(feat, pal.centers)
    inertia = ((feat - pal.centers[lab]) ** 2).sum()
    assert pal.inertia == pytest.approx(inertia, rel=1e-9)
    np.testing.assert_array_equal(pal.counts, np.bincount(lab, minlength=6))
    # centres are the means of their pixels (a Lloyd fixed point)
    means = np.array([feat[lab == j].mean(axis=0) for j in range(6)])
    np.testing.assert_allclose(pal.centers, means, rtol=0, atol=1e-9)
    if space == "rgb":
        from sklearn.cluster import KMeans

        km = KMeans(6, random_state=0, n_init=1).fit(feat)
        assert pal.inertia <= km.inertia_ * (1 + 1e-6)


def test_proportions_sorted_and_sum_to_one(rng):
    pal = dominant_colors(noisy_image(rng, 100, 100), k=5)
    assert np.all(np.diff(pal.proportions) <= 0)
    assert pal.proportions.sum() == pytest.approx(1.0)
    assert pal.counts.sum() == 100 * 100


# --- determinism ----------------------------------------------------------------

def test_deterministic_across_runs_and_threads(rng):
    img = noisy_image(rng, 200, 200)
    a = dominant_colors(img, k=7, random_state=3, n_threads=1)
    b = dominant_colors(img, k=7, random_state=3, n_threads=2)
    c = dominant_colors(img, k=7, random_state=3)
    for p in (b, c):
        np.testing.assert_array_equal(a.centers, p.centers)
        np.testing.assert_array_equal(a.counts, p.counts)
    qa = np.asarray(quantize(img, a, dither=True, n_threads=1))
    qb = np.asarray(quantize(img, a, dither=True, n_threads=2))
    np.testing.assert_array_equal(qa, qb)


# --- input modes ----------------------------------------------------------------

def two_colour_pil(mode_from="RGB"):
    arr = np.zeros((10, 10, 3), dtype=np.uint8)
    arr[:, :6] = (250, 20, 20)
    arr[:, 6:] = (20, 20, 250)
    return Image.fromarray(arr, "RGB")


def test_rgba_transparent_pixels_excluded(rng):
    arr = np.zeros((10, 10, 4), dtype=np.uint8)
    arr[..., :3] = (0, 255, 0)
    arr[:, :5, 3] = 255
    arr[:, :5, :3] = (255, 0, 0)  # opaque red on the left, transparent green on the right
    pal = dominant_colors(Image.fromarray(arr, "RGBA"), k=1)
    assert pal.hex == ["#ff0000"] and pal.counts.tolist() == [50]
    pal2 = dominant_colors(arr, k=2, ignore_transparent=False)
    assert sorted(pal2.hex) == ["#00ff00", "#ff0000"]
    assert labels(arr, pal).tolist()[0] == [0] * 5 + [-1] * 5
    q = np.asarray(quantize(arr, pal))
    assert q.shape == (10, 10, 4)
    np.testing.assert_array_equal(q[..., 3], arr[..., 3])  # alpha kept
    arr[..., 3] = 0
    with pytest.raises(ValueError, match="every pixel is transparent"):
        dominant_colors(arr)


def test_la_and_p_with_transparency():
    la = Image.fromarray(np.stack([np.full((4, 4), 90, np.uint8),
                                   np.tile([0, 255], 8).reshape(4, 4).astype(np.uint8)], -1), "LA")
    pal = dominant_colors(la, k=1)
    assert pal.hex == ["#5a5a5a"] and pal.counts.tolist() == [8]
    p = two_colour_pil().quantize(2)
    assert p.mode == "P"
    pal = dominant_colors(p, k=2)
    assert pal.proportions.tolist() == [0.6, 0.4]
    p.info["transparency"] = int(np.asarray(p)[0, 0])  # the left (60 %) colour transparent
    with pytest.warns(UserWarning, match="only 1 distinct"):
        pal = dominant_colors(p, k=2)
    assert pal.k == 1 and pal.counts.tolist() == [40]


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "YCbCr", "RGBX", "HSV", "I", "F"])
def test_pillow_modes(mode):
    rgb = two_colour_pil()
    if mode in ("I", "F"):
        g = np.zeros((10, 10), dtype=np.float32 if mode == "F" else np.int32)
        g[:, :6] = 1.0 if mode == "F" else 40000  # F in [0, 1]; I as 16-bit values
        img = Image.fromarray(g, mode)
        pal = dominant_colors(img, k=2)
        top = 255 if mode == "F" else round(40000 / 257)
        assert sorted(pal.hex) == ["#000000", "#{0:02x}{0:02x}{0:02x}".format(top)]
        return
    img = rgb.convert(mode)
    pal = dominant_colors(img, k=2)
    expect = np.asarray(img.convert("RGB")).reshape(-1, 3)
    want = sorted({"#%02x%02x%02x" % tuple(c) for c in expect})
    assert sorted(pal.hex) == want
    assert pal.proportions.tolist() == [0.6, 0.4] or mode == "1"


def test_16bit_png(tmp_path):
    g = np.zeros((8, 8), dtype=np.uint16)
    g[:, :2] = 65535
    g[:, 2:] = 257 * 100
    path = tmp_path / "sixteen.png"
    Image.fromarray(g).save(path)  # uint16 -> mode I;16
    assert Image.open(path).mode in ("I;16", "I")
    pal = dominant_colors(path, k=2)
    assert pal.hex == ["#646464", "#ffffff"] and pal.proportions.tolist() == [0.75, 0.25]
    # uint16 arrays are read as 16-bit
    assert dominant_colors(g, k=2).hex == pal.hex


def test_jpeg_ycbcr_file(tmp_path):
    path = tmp_path / "photo.jpg"
    arr = np.zeros((64, 80, 3), dtype=np.uint8)
    arr[:, :48] = (250, 20, 20)  # edge on the 16-pixel JPEG block grid
    arr[:, 48:] = (20, 20, 250)
    Image.fromarray(arr).convert("YCbCr").save(path, quality=95)
    assert Image.open(path).mode == "RGB"  # Pillow decodes YCbCr JPEG to RGB
    pal = dominant_colors(path, k=2)
    assert pal.proportions.tolist() == [0.6, 0.4]
    assert np.abs(pal.colors.astype(int) - [[250, 20, 20], [20, 20, 250]]).max() < 12


def test_exif_orientation_honoured(tmp_path):
    arr = np.zeros((2, 3, 3), dtype=np.uint8)
    arr[:, 0] = 255  # white left column
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=100)
    q = load_image(path)
    assert q.shape[:2] == (3, 2)
    assert q[0].mean() > 200 and q[2].mean() < 50  # the white column is now the top row
    assert quantize(path, 2).size == (2, 3)


def test_animated_gif_frames(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (6, 6), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with pytest.warns(UserWarning, match="only 1 distinct"):
        assert dominant_colors(path, k=2).hex == ["#ff0000"]  # first frame only
    pal = dominant_colors(path, k=2, frames="all")
    assert sorted(pal.hex) == ["#0000ff", "#ff0000"] and pal.proportions.tolist() == [0.5, 0.5]
    with Image.open(path) as im:  # a caller's image is left on its frame
        im.seek(1)
        assert dominant_colors(im, k=2, frames="all").k == 2
        assert im.tell() == 1
    assert load_image(path, frames="all").shape == (12, 6, 3)  # frames stacked vertically


def test_arrays_of_several_dtypes():
    u8 = np.zeros((4, 4, 3), dtype=np.uint8)
    u8[:2] = 255
    ref = dominant_colors(u8, k=2).hex
    assert dominant_colors(u8 / 255.0, k=2).hex == ref
    assert dominant_colors(u8[..., 0] > 0, k=2).hex == ref  # boolean mask as an image
    assert dominant_colors(u8.astype(np.int64), k=2).hex == ref
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dominant_colors(u8.astype(np.float64), k=2)
    with pytest.raises(ValueError, match="shape"):
        dominant_colors(np.zeros((4, 4, 2), dtype=np.uint8))


# --- errors ---------------------------------------------------------------------

def test_truncated_files(tmp_path):
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, size=(64, 64, 3)).astype(np.uint8))
    for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg")):
        data = png_bytes(img, format=fmt)
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match="damaged or incomplete"):
            dominant_colors(path)


def test_non_image_and_missing_files(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ValueError, match="not an image file"):
        dominant_colors(path)
    with pytest.raises(FileNotFoundError):
        dominant_colors(tmp_path / "absent.png")
    with pytest.raises(ValueError, match="is a folder"):
        dominant_colors(tmp_path)
    with pytest.raises(ValueError, match="path, a PIL image or an array"):
        dominant_colors(12)


def test_zero_size_images():
    with pytest.raises(ValueError, match="empty"):
        dominant_colors(np.zeros((0, 5, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="empty"):
        dominant_colors(Image.new("RGB", (0, 0)))


def test_decompression_bomb_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 80), (10, 20, 30)).save(path)
    with pytest.raises(ValueError, match="decompression-bomb limit of 5,000"):
        dominant_colors(path, max_pixels=5000)
    assert dominant_colors(path, k=1, max_pixels=None).hex == ["#0a141e"]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)
    with pytest.raises(ValueError, match="max_pixels=None"):
        dominant_colors(path)
    assert dominant_colors(path, k=1, max_pixels=8000).hex == ["#0a141e"]
    assert Image.MAX_IMAGE_PIXELS == 4000  # our override does not leak into Pillow


def test_parameter_errors(rng):
    img = flat_image(rng)
    for kw, word in [(dict(color_space="hsv"), "color_space"), (dict(k=0), "k"),
                     (dict(k="many"), "k"), (dict(frames="last"), "frames"),
                     (dict(min_alpha=0), "min_alpha"), (dict(n_init=0), "n_init")]:
        with pytest.raises(ValueError, match=word):
            dominant_colors(img, **kw)
    with pytest.raises(ValueError, match="Palette"):
        labels(img, [[0, 0, 0]])


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


# --- Palette object -------------------------------------------------------------

def test_palette_json_and_repr(rng):
    pal = dominant_colors(flat_image(rng), k=4)
    d = json.loads(pal.to_json())
    assert [c["hex"] for c in d["colors"]] == pal.hex
    assert [c["rgb"] for c in d["colors"]] == COLORS.tolist()
    assert [c["proportion"] for c in d["colors"]] == AREAS
    assert d["n_pixels"] == 2000 and d["color_space"] == "lab"
    assert "#c81e1e 40.0%" in repr(pal)
    with pytest.raises(ValueError, match="rrggbb"):
        Palette.from_colors(["#12345"])
    with pytest.raises(ValueError, match="non-empty"):
        Palette.from_colors([])


def rendered(ax):
    fig = ax.figure
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3]


def test_palette_plot_and_swatch(rng, tmp_path):
    import matplotlib.pyplot as plt

    pal = dominant_colors(flat_image(rng), k=4)
    ax = pal.plot()
    px = rendered(ax).reshape(-1, 3)
    for c in COLORS:  # every palette colour is painted
        assert (np.abs(px.astype(int) - c).sum(axis=1) == 0).sum() > 100
    plt.close(ax.figure)
    path = pal.save_swatch(tmp_path / "sw.png")
    sw = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    counts = [(np.abs(sw.astype(int) - c).sum(axis=1) == 0).sum() for c in COLORS]
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0  # widths follow proportions


def test_elbow_plot(rng):
    import matplotlib.pyplot as plt

    pal = dominant_colors(noisy_image(rng, 60, 60, sd=6.0), k="auto")
    ax = pal.sweep.plot()
    img = rendered(ax)
    assert (np.abs(img.astype(int) - [0x3b, 0x6e, 0xa8]).sum(axis=2) < 30).sum() > 50
    assert ax.get_xlabel().startswith("k")
    plt.close(ax.figure)


def test_din99o_space(rng):
    img = flat_image(rng)
    pal = dominant_colors(img, k=4, color_space="din99o")
    np.testing.assert_array_equal(pal.colors, COLORS)
    assert pal.proportions.tolist() == AREAS
    np.testing.assert_allclose(pal.lab, srgb_to_lab(COLORS), atol=1e-9)
    q = np.asarray(quantize(img, pal, dither=True))
    np.testing.assert_array_equal(q, img)  # exact colours: nothing to diffuse
    pal2 = Palette.from_colors(pal.hex, color_space="din99o")
    np.testing.assert_allclose(pal2.centers, pal.centers, atol=1e-9)


def test_many_colours_in_few_boxes_auto():
    """> 8192 distinct colours that fall in only 32 RGB boxes: the sweep runs
    on the colours themselves rather than on too few boxes."""
    r, g, b = np.meshgrid(np.arange(100, 132), np.arange(40, 72), np.arange(200, 216), indexing="ij")
    img = np.stack([r, g, b], -1).reshape(128, 128, 3).astype(np.uint8)
    pal = dominant_colors(img, k="auto")
    assert 1 <= pal.k <= 10 and pal.counts.sum() == 128 * 128
    assert pal.sweep.ks.tolist() == list(range(1, 11))
