"""`kmeanskit colors`, `kmeanskit quantize` and `kmeanskit demo` through click's CliRunner."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kmeanskit.cli import main
from kmeanskit.cli.demo import DEMO_OUTPUTS, load_iris

RED, BLUE, WHITE = (200, 30, 30), (20, 40, 220), (240, 240, 240)


def make_png(path, shares=((RED, 6), (BLUE, 3), (WHITE, 1))):
    cols = []
    for c, n in shares:
        cols += [c] * n
    arr = np.array(cols, dtype=np.uint8)[None, :, :].repeat(5, axis=0)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def runner():
    return CliRunner()


def test_colors_text_output(runner, tmp_path):
    img = make_png(tmp_path / "a.png")
    res = runner.invoke(main, ["colors", str(img), "-k", "3"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "3 colours" in lines[0] and "LAB" in lines[0]
    assert "#c81e1e" in lines[1] and "rgb(200,  30,  30)" in lines[1] and "60.00%" in lines[1]
    assert "#1428dc" in lines[2] and "30.00%" in lines[2]
    assert "#f0f0f0" in lines[3] and "10.00%" in lines[3]


def test_colors_json_and_auto(runner, tmp_path):
    img = make_png(tmp_path / "a.png")
    res = runner.invoke(main, ["colors", str(img), "-k", "auto", "--json", "--space", "rgb"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["image"] == str(img) and d["color_space"] == "rgb" and d["k"] == 3
    assert [c["proportion"] for c in d["colors"]] == [0.6, 0.3, 0.1]
    assert d["auto_k"]["knee"] == 3


def test_colors_swatch_and_force(runner, tmp_path):
    img = make_png(tmp_path / "a.png")
    sw = tmp_path / "sw.png"
    res = runner.invoke(main, ["colors", str(img), "-k", "3", "--swatch", str(sw)])
    assert res.exit_code == 0, res.output
    px = np.asarray(Image.open(sw).convert("RGB")).reshape(-1, 3).astype(int)
    assert ((px == RED).all(axis=1)).sum() > ((px == BLUE).all(axis=1)).sum() > 100
    res = runner.invoke(main, ["colors", str(img), "-k", "3", "--swatch", str(sw)])
    assert res.exit_code == 1 and "--force" in res.output
    res = runner.invoke(main, ["colors", str(img), "-k", "3", "--swatch", str(sw), "--force"])
    assert res.exit_code == 0


def test_colors_folder_many_files_with_a_bad_one(runner, tmp_path):
    make_png(tmp_path / "a.png")
    make_png(tmp_path / "b.png", ((BLUE, 1),))
    (tmp_path / "c.png").write_text("not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    res = runner.invoke(main, ["colors", str(tmp_path), "-k", "2", "--json",
                               "--swatch", str(tmp_path / "out" / "sw.png")])
    assert res.exit_code == 1
    assert "c.png" in res.stderr and "not an image" in res.stderr
    assert "1 of 3 images could not be read" in res.stderr
    assert "Note: " in res.stderr and "only 1 distinct colour" in res.stderr
    out = json.loads(res.stdout)
    assert [Path_name(d["image"]) for d in out] == ["a.png", "b.png"]
    # all outputs or none: a failed image means no swatch is written (#18)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    res = runner.invoke(main, ["colors", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-k", "2",
                               "--swatch", str(tmp_path / "out" / "sw.png")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sw-a.png", "sw-b.png"]
    assert f"wrote {tmp_path / 'out' / 'sw-a.png'} (swatch)" in res.stderr


def Path_name(p):
    return p.replace("\\", "/").rsplit("/", 1)[-1]


def test_colors_errors_are_one_line(runner, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    res = runner.invoke(main, ["colors", str(bad)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("Error:") and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main, ["colors", str(make_png(tmp_path / "a.png")), "-k", "zero"])
    assert res.exit_code == 2 and "-k 5 or -k auto" in res.output
    res = runner.invoke(main, ["colors", str(tmp_path / "a.png"), "--max-pixels", "10"])
    assert res.exit_code == 1 and "decompression-bomb" in res.output


def test_quantize_writes_and_refuses_overwrites(runner, tmp_path):
    img = make_png(tmp_path / "in.png")
    before = img.read_bytes()
    out = tmp_path / "out.png"
    res = runner.invoke(main, ["quantize", str(img), "-k", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    q = np.asarray(Image.open(out))
    assert len(np.unique(q.reshape(-1, 3), axis=0)) == 2
    assert "wrote" in res.output and "2 colours" in res.output
    res = runner.invoke(main, ["quantize", str(img), "-k", "2", "-o", str(out)])
    assert res.exit_code == 1 and "--force" in res.output
    res = runner.invoke(main, ["quantize", str(img), "-k", "3", "-o", str(out), "--force", "--dither"])
    assert res.exit_code == 0 and "dithered" in res.output
    res = runner.invoke(main, ["quantize", str(img), "-k", "2", "-o", str(img), "--force"])
    assert res.exit_code == 1 and "refusing to overwrite the input" in res.output
    assert img.read_bytes() == before
    res = runner.invoke(main, ["quantize", str(img), "-o", str(tmp_path / "x.unknownext")])
    assert res.exit_code == 2 and "suffix" in res.output  # a usage error
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


def test_quantize_rgba_to_jpeg_drops_alpha(runner, tmp_path):
    arr = np.zeros((8, 8, 4), dtype=np.uint8)
    arr[..., 0] = 255
    arr[..., 3] = 255
    src = tmp_path / "a.png"
    Image.fromarray(arr, "RGBA").save(src)
    res = runner.invoke(main, ["quantize", str(src), "-k", "1", "-o", str(tmp_path / "o.jpg")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "o.jpg").mode == "RGB"


def test_demo_writes_outputs(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("not ours")
    res = runner.invoke(main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "chosen at the elbow" in res.output and "#" in res.output
    for name in DEMO_OUTPUTS:
        img = np.asarray(Image.open(out / name).convert("RGB"))
        assert img.std() > 10 and len(np.unique(img.reshape(-1, 3), axis=0)) >= 3
    assert (out / "keep.txt").read_text() == "not ours"
    again = runner.invoke(main, ["demo", "--out", str(out)])  # re-running replaces its own files
    assert again.exit_code == 0 and again.output == res.output


def test_load_iris_still_available():
    X, names, species = load_iris()
    assert X.shape == (150, 4) and len(set(species)) == 3


def test_commands_documented(runner):
    for cmd in ("colors", "quantize", "demo"):
        res = runner.invoke(main, [cmd, "--help"])
        assert res.exit_code == 0 and "Example" in res.output


def test_outputs_have_usual_permissions(runner, tmp_path):
    import os

    img = make_png(tmp_path / "in.png")
    out = tmp_path / "q.png"
    assert runner.invoke(main, ["quantize", str(img), "-k", "2", "-o", str(out)]).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (out.stat().st_mode & 0o777) == (0o666 & ~umask)
