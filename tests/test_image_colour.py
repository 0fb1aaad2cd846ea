"""kmeanskit.image.colour: colour conversions and CIEDE2000 against published reference values,
and rounding palettes to 8-bit colours (snap_to_srgb8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from kmeanskit.image import delta_e_ciede2000, lab_to_srgb, srgb_to_lab
from kmeanskit.image.colour import _OFFSETS, snap_to_srgb8

# Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Color Res. Appl. 30(1), 2005,
# Table 1: the 34 test pairs (L1, a1, b1, L2, a2, b2, dE00).
SHARMA_2005 = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]

# sRGB (D65) -> CIELAB of the primaries, secondaries and neutrals, as tabulated by
# B. Lindbloom's colour calculator / EasyRGB (sRGB, D65, 2 degree observer).
SRGB_LAB = [
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
    ((255, 255, 0), (97.1393, -21.5537, 94.4780)),
    ((0, 255, 255), (91.1132, -48.0875, -14.1312)),
    ((255, 0, 255), (60.3242, 98.2343, -60.8249)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((128, 128, 128), (53.5850, 0.0, 0.0)),
]


def test_ciede2000_sharma_table():
    data = np.array(SHARMA_2005)
    got = delta_e_ciede2000(data[:, :3], data[:, 3:6])
    np.testing.assert_allclose(got, data[:, 6], atol=5e-5)
    # the formula is symmetric in its two colours
    np.testing.assert_allclose(delta_e_ciede2000(data[:, 3:6], data[:, :3]), got, rtol=0, atol=1e-12)


def test_ciede2000_broadcasts_and_identity():
    lab = np.array([[50.0, 10.0, -20.0], [70.0, -5.0, 3.0]])
    assert delta_e_ciede2000(lab, lab).tolist() == [0.0, 0.0]
    d = delta_e_ciede2000(lab[:, None, :], lab[None, :, :])
    assert d.shape == (2, 2)
    assert d[0, 1] == d[1, 0] > 10


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-120, 120), min_size=6, max_size=6))
def test_ciede2000_properties(v):
    a = np.array([abs(v[0]) % 100, v[1], v[2]])
    b = np.array([abs(v[3]) % 100, v[4], v[5]])
    d = float(delta_e_ciede2000(a, b))
    assert d >= 0 and np.isfinite(d)
    assert d == pytest.approx(float(delta_e_ciede2000(b, a)), abs=1e-9)


@pytest.mark.parametrize("rgb, lab", SRGB_LAB)
def test_srgb_to_lab_reference_values(rgb, lab):
    np.testing.assert_allclose(srgb_to_lab(np.array(rgb, dtype=np.uint8)), lab, atol=2e-3)
    np.testing.assert_allclose(srgb_to_lab(np.array(rgb) / 255.0), lab, atol=2e-3)


def test_srgb_to_lab_matches_naive_formulas(rng):
    x = rng.random((500, 3))
    np.testing.assert_allclose(srgb_to_lab(x), naive.srgb_to_lab(x), rtol=0, atol=1e-10)
    u = rng.integers(0, 256, size=(500, 3)).astype(np.uint8)
    np.testing.assert_allclose(srgb_to_lab(u), naive.srgb_to_lab(u / 255.0), rtol=0, atol=1e-10)
    # any integer dtype in 0..255 is read as code values
    np.testing.assert_array_equal(srgb_to_lab(u.astype(np.int64)), srgb_to_lab(u))


def test_round_trip_is_exact_for_8bit(rng):
    u = rng.integers(0, 256, size=(20000, 3)).astype(np.uint8)
    greys = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    for arr in (u, greys):
        back = lab_to_srgb(srgb_to_lab(arr), as_uint8=True)
        np.testing.assert_array_equal(back, arr)
        np.testing.assert_allclose(lab_to_srgb(srgb_to_lab(arr)) * 255, arr, atol=1e-8)


def test_out_of_gamut_lab():
    lab = np.array([50.0, 120.0, 0.0])  # more saturated than any sRGB red
    f = lab_to_srgb(lab)
    assert f[0] > 1.0 or f.min() < 0.0
    u = lab_to_srgb(lab, as_uint8=True)
    assert u.dtype == np.uint8 and u[0] == 255


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        srgb_to_lab(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="0..255"):
        srgb_to_lab(np.array([300, 0, 0]))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        lab_to_srgb([1.0, 2.0])


def test_din99o_round_trip_and_anchors(rng):
    from kmeanskit._kernels import color as C

    lab = srgb_to_lab(rng.integers(0, 256, size=(5000, 3)).astype(np.uint8))
    din = np.empty_like(lab)
    C.lab_to_din99o(lab, din)
    back = np.empty_like(din)
    C.din99o_to_lab(din, back)
    np.testing.assert_allclose(back, lab, rtol=0, atol=1e-9)
    # anchors of the definition: L99o(100) = 100 (303.67 ln 1.39), neutrals stay neutral
    ref = np.array([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    out = np.empty_like(ref)
    C.lab_to_din99o(ref, out)
    np.testing.assert_allclose(out[:, 0], [100.0, 0.0, 303.67 * np.log(1.195)], atol=2e-3)
    assert np.all(out[:, 1:] == 0)


def test_din99o_distance_tracks_ciede2000_better_than_lab():
    """On the Sharma pairs, Euclidean DIN99o distance is closer (in relative
    terms) to CIEDE2000 than Euclidean CIELAB distance (CIE76) is."""
    from kmeanskit._kernels import color as C

    data = np.array(SHARMA_2005)
    a, b = data[:, :3].copy(), data[:, 3:6].copy()
    da, db = np.empty_like(a), np.empty_like(b)
    C.lab_to_din99o(a, da)
    C.lab_to_din99o(b, db)
    de00 = data[:, 6]
    d_lab = np.linalg.norm(a - b, axis=1)
    d_din = np.linalg.norm(da - db, axis=1)
    spread = lambda d: np.std(np.log(d / de00))  # noqa: E731
    assert spread(d_din) < spread(d_lab)


# --- rounding palettes to 8-bit colours ------------------------------------------

def test_snap_picks_the_best_8bit_neighbour(rng):
    lab = srgb_to_lab(rng.integers(90, 110, (200, 3)).astype(np.uint8))
    w = np.ones(200)
    centre = lab.mean(axis=0, keepdims=True)
    rgb = snap_to_srgb8(lab, w, np.zeros(200, dtype=np.int32), centre)
    base = np.clip(np.rint(lab_to_srgb(centre) * 255.0), 0, 255).astype(int)[0]
    cands = [np.clip(base + o, 0, 255) for o in _OFFSETS]
    costs = [sum(naive.ciede2000(x, srgb_to_lab(c.astype(np.uint8))) for x in lab) for c in cands]
    assert rgb[0].tolist() == cands[int(np.argmin(costs))].tolist()


def test_snap_keeps_the_rounded_colour_on_ties():
    rgb = np.array([[10, 200, 30], [250, 250, 5]], dtype=np.uint8)
    lab = srgb_to_lab(rgb)
    out = snap_to_srgb8(lab, np.ones(2), np.arange(2, dtype=np.int32), lab)
    assert out.dtype == np.uint8 and out.tolist() == rgb.tolist()
    assert _OFFSETS[0].tolist() == [0, 0, 0] and len(_OFFSETS) == 27
