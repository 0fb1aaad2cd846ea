"""Lab mode's CIEDE2000 palettes: the fast CIEDE2000 kernel, exact CIEDE2000
assignment, the refinement's monotone objective, and the image API on top."""

import numpy as np
import pytest

import naive
from kmeanskit import Palette, _ciede, dominant_colors, quantize
from kmeanskit.image import delta_e_ciede2000, labels, quantization_error, srgb_to_lab


def random_lab(rng, n):
    return np.column_stack([rng.uniform(0, 100, n), rng.uniform(-110, 110, n),
                            rng.uniform(-110, 110, n)])


def noisy_photo(rng, h=60, w=70):
    """Smooth colour gradients plus noise: many distinct colours, no clusters."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([200 * x + 30 * y, 80 + 120 * y * (1 - x), 220 - 180 * x * y], axis=-1)
    px = np.clip(np.rint(base + rng.normal(scale=10, size=base.shape)), 0, 255)
    return px.astype(np.uint8)


def test_kernel_matches_literal_formulas(rng):
    a = random_lab(rng, 300)
    b = np.concatenate([a[:100] + rng.normal(scale=2.0, size=(100, 3)),  # near pairs
                        a[100:150] * [1, -1, -1],                        # opposite hues
                        np.column_stack([a[150:200, 0], np.zeros((50, 2))]),  # a neutral
                        random_lab(rng, 100)])
    b[200:210, 1:] = 0.0
    a[200:205, 1:] = 0.0  # both neutral
    got = delta_e_ciede2000(a, b)
    want = np.array([naive.ciede2000(x, y) for x, y in zip(a, b)])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k", [1, 3, 9])
def test_nearest_is_brute_force_ciede2000(rng, k):
    lab = np.concatenate([random_lab(rng, 400), srgb_to_lab(rng.integers(0, 256, (400, 3)))])
    centers = srgb_to_lab(rng.integers(0, 256, (k, 3)))
    got, dist = _ciede.nearest(lab, centers)
    want, wdist = naive.nearest_ciede2000(lab, centers)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(dist, wdist, rtol=1e-10, atol=1e-10)


def test_nearest_ties_go_to_the_first_centre():
    centers = np.array([[50.0, 10.0, 10.0], [20.0, 0.0, 0.0], [50.0, 10.0, 10.0]])
    got, dist = _ciede.nearest(np.array([[50.0, 10.0, 10.0], [21.0, 0.0, 0.0]]), centers)
    assert got.tolist() == [0, 1] and dist[0] == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_refinement_never_raises_the_objective(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    lab = srgb_to_lab(rng.integers(0, 256, (500, 3)).astype(np.uint8))
    w = rng.integers(1, 20, 500).astype(float)
    start = lab[rng.choice(500, k, replace=False)] + rng.normal(scale=5, size=(k, 3))
    res = _ciede.refine(lab, w, start)
    h = np.array(res.history)
    assert np.all(np.diff(h) <= 1e-9 * h[0])
    assert h[-1] < h[0]  # random starts are never already optimal
    # the result is consistent: labels and distances are those of the centres
    want, wdist = naive.nearest_ciede2000(lab, res.centers)
    np.testing.assert_array_equal(res.labels, want)
    assert float(w @ res.dist) == pytest.approx(h[-1], rel=1e-12)
    assert float(w @ wdist) == pytest.approx(h[-1], rel=1e-9)
    assert np.bincount(res.labels, minlength=k).min() > 0  # no empty colour


def test_refinement_fixed_point_on_exact_colours():
    lab = srgb_to_lab(np.array([[200, 30, 30], [20, 40, 220], [240, 240, 240]], dtype=np.uint8))
    res = _ciede.refine(lab, np.array([4.0, 3.0, 2.0]), lab)
    np.testing.assert_array_equal(res.centers, lab)
    assert res.history == [0.0, 0.0] and res.n_rounds == 1


def naive_srgb(lab):
    from kmeanskit.image import lab_to_srgb

    return lab_to_srgb(lab) * 255.0


def test_lab_palette_minimises_ciede2000_and_labels_by_it(rng):
    img = noisy_photo(rng)
    pal = dominant_colors(img, k=6)
    assert pal.metric == "ciede2000" and pal.color_space == "lab"
    np.testing.assert_allclose(pal.centers, srgb_to_lab(pal.colors), atol=1e-12)
    np.testing.assert_array_equal(pal.lab, pal.centers)
    px_lab = srgb_to_lab(img.reshape(-1, 3))
    want, wdist = naive.nearest_ciede2000(px_lab, pal.centers)
    np.testing.assert_array_equal(labels(img, pal).ravel(), want)
    np.testing.assert_array_equal(pal.counts, np.bincount(want, minlength=6))
    assert pal.inertia == pytest.approx(float((wdist ** 2).sum()), rel=1e-9)
    out = quantize(img, 6)
    np.testing.assert_array_equal(np.asarray(out).reshape(-1, 3), pal.colors[want])
    # a fixed palette with metric="ciede2000" labels the same way
    again = Palette.from_colors(pal.hex, metric="ciede2000")
    np.testing.assert_array_equal(labels(img, again), labels(img, pal))
    # and it is judged better than plain k-means in Lab or DIN99o on the metric it minimises
    err = quantization_error(img, out)["mean_ciede2000"]
    assert err == pytest.approx(wdist.mean(), rel=1e-9)
    for kw in (dict(refine=None), dict(color_space="din99o")):
        assert err < quantization_error(img, quantize(img, 6, **kw))["mean_ciede2000"]


def test_large_histograms_refine_on_boxes(rng):
    """> 4096 distinct colours: refined on RGB boxes, then every colour is
    labelled exactly by CIEDE2000."""
    img = noisy_photo(rng, 120, 150)
    px = img.reshape(-1, 3)
    assert len(np.unique(px, axis=0)) > 4096
    pal = dominant_colors(img, k=4)
    want, _ = naive.nearest_ciede2000(srgb_to_lab(px), pal.centers)
    np.testing.assert_array_equal(pal.counts, np.bincount(want, minlength=4))
    assert np.all(np.diff(pal.proportions) <= 0)


def test_dither_with_ciede2000_palette(rng):
    img = noisy_photo(rng, 30, 40)
    pal = dominant_colors(img, k=4)
    out = np.asarray(quantize(img, pal, dither=True)).reshape(-1, 3)
    assert {tuple(c) for c in out} <= {tuple(c) for c in pal.colors}


def test_refine_parameter_errors(rng):
    img = noisy_photo(rng, 10, 10)
    with pytest.raises(ValueError, match="color_space='lab'"):
        dominant_colors(img, k=2, color_space="rgb", refine="ciede2000")
    with pytest.raises(ValueError, match="refine"):
        dominant_colors(img, k=2, refine="cie94")
    with pytest.raises(ValueError, match="color_space='lab'"):
        Palette.from_colors(["#ff0000"], color_space="din99o", metric="ciede2000")
    assert dominant_colors(img, k=2, color_space="rgb").metric == "euclidean"
    assert dominant_colors(img, k=2, refine=None).metric == "euclidean"
