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


