"""kmeanskit.image.palette: dominant_colors and the Palette object (exact recovery,
auto k, the histogram objective, determinism, JSON, plots, parameter errors)."""

import json

import numpy as np
import pytest
from PIL import Image

import naive
from image_samples import AREAS, COLORS, flat_image, noisy_image
from kmeanskit import Palette, dominant_colors, quantize
from kmeanskit.image import DIRECT_MAX_COLORS, ElbowSweep, labels, srgb_to_lab

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


# --- parameter errors -----------------------------------------------------------

def test_parameter_errors(rng):
    img = flat_image(rng)
    for kw, word in [(dict(color_space="hsv"), "color_space"), (dict(k=0), "k"),
                     (dict(k="many"), "k"), (dict(frames="last"), "frames"),
                     (dict(min_alpha=0), "min_alpha"), (dict(n_init=0), "n_init")]:
        with pytest.raises(ValueError, match=word):
            dominant_colors(img, **kw)
    with pytest.raises(ValueError, match="Palette"):
        labels(img, [[0, 0, 0]])


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
