"""kmeanskit.image.decode: every input mode (Pillow modes, 16-bit, EXIF,
animations, arrays) and the errors of reading images."""

import numpy as np
import pytest
from PIL import Image

from image_samples import png_bytes
from kmeanskit import dominant_colors, quantize
from kmeanskit.image import labels, load_image

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


