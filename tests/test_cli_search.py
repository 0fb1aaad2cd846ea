"""`kmeanskit search-images` through click's CliRunner, on generated image files."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kmeanskit.cli import main
from kmeanskit.cli.search import auto_k


@pytest.fixture
def runner():
    return CliRunner()


def _save(path, rgb, rng, size=(24, 32)):
    base = np.array(rgb, dtype=np.float64)
    arr = np.clip(base + rng.normal(0, 15, size + (3,)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def folder(tmp_path, rng):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    for i in range(3):
        _save(d / f"red{i}.png", (200 + 10 * i, 40, 35), rng)
        _save(d / f"blue{i}.jpg", (30, 50, 190 + 10 * i), rng)
        _save(d / "sub" / f"green{i}.png", (40, 180 + 10 * i, 50), rng)
    return d


def _results(out):
    return json.loads(out)["results"]


def test_red_query_finds_red_images_first(runner, folder, tmp_path, rng):
    q = _save(tmp_path / "query.png", (215, 35, 40), rng)
    res = runner.invoke(main, ["search-images", str(folder), str(q), "-n", "4", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["images"] == 9 and out["k"] == auto_k(9) == 2 and out["probe"] == 2
    names = [r["path"].split("/")[-1] for r in out["results"]]
    assert sorted(names[:3]) == ["red0.png", "red1.png", "red2.png"]
    d = [r["distance"] for r in out["results"]]
    assert d == sorted(d) and d[3] > 2 * d[2]


def test_table_output_and_options(runner, folder, rng):
    q = folder / "sub" / "green1.png"  # in the folder: left out of its own results
    res = runner.invoke(main, ["search-images", str(folder), str(q), "-n", "2", "--k", "3",
                               "--probe", "1"])
    assert res.exit_code == 0, res.output
    assert "Images like green1.png" in res.stdout and "k=3, probe=1" in res.stdout
    assert "distance" in res.stdout and res.stdout.count("green") >= 3
    assert "green1.png" not in res.stdout.replace("Images like green1.png", "")
    res = runner.invoke(main, ["search-images", str(folder), str(q), "--no-recursive", "--json"])
    assert res.exit_code == 0, res.output
    names = [r["path"] for r in _results(res.stdout)]
    assert len(names) == 5 and not any("green" in p for p in names)


def test_unreadable_files_are_skipped_with_a_note(runner, folder, tmp_path, rng):
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "notes.png").write_text("hello")
    q = _save(tmp_path / "q.png", (30, 50, 200), rng)
    res = runner.invoke(main, ["search-images", str(folder), str(q), "-n", "3", "--json"])
    assert res.exit_code == 0, res.output
    assert "Note: skipped 2 of 11 files" in res.stderr
    assert [r["path"].split("/")[-1][:4] for r in _results(res.stdout)] == ["blue"] * 3


def test_errors_are_one_line(runner, tmp_path, rng):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    q = _save(tmp_path / "q.png", (200, 0, 0), rng)
    res = runner.invoke(main, ["search-images", str(empty), str(q)])
    assert res.exit_code == 1 and "holds no image files" in res.stderr
    assert "Traceback" not in res.output
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"x{i}.png").write_bytes(b"garbage")
    res = runner.invoke(main, ["search-images", str(bad), str(q)])
    assert res.exit_code == 1
    assert "none of the 3 image files" in res.stderr and "3 not an image" in res.stderr
    good = tmp_path / "good"
    good.mkdir()
    _save(good / "a.png", (0, 0, 200), rng)
    broken_q = tmp_path / "q.jpg"
    broken_q.write_bytes(b"garbage")
    res = runner.invoke(main, ["search-images", str(good), str(broken_q)])
    assert res.exit_code == 1 and "cannot read the query image" in res.stderr
    res = runner.invoke(main, ["search-images", str(good), str(q), "--k", "zero"])
    assert res.exit_code == 2 and "not a number of clusters" in res.output
    assert len(res.stderr.strip().splitlines()[-1]) > 0


def test_single_image_folder_and_help(runner, tmp_path, rng):
    d = tmp_path / "one"
    d.mkdir()
    _save(d / "only.png", (10, 200, 10), rng)
    q = _save(tmp_path / "q.png", (10, 190, 20), rng)
    res = runner.invoke(main, ["search-images", str(d), str(q), "--json", "--k", "5"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["k"] == 1 and out["probe"] == 1 and len(out["results"]) == 1
    res = runner.invoke(main, ["search-images", "--help"])
    assert res.exit_code == 0 and "Examples" in res.output
