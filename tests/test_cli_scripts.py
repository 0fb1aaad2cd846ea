"""The CLI for scripts (#19) and its output safety (#18, items 10-12):
one option spelling, ``-`` for stdin/stdout, ``--json`` everywhere, one-line
errors with one exit code for usage errors, announced writes, outputs
checked up front and written all or none, stale temporaries removed; and
the API's "no traps" conventions (int32 labels, folders, refused overwrites)."""

import importlib.resources
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import kmeanskit
from kmeanskit import _fileutil
from kmeanskit.cli import main
from kmeanskit.tables import Scaling


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def one_line_error(r, code=None):
    """The one ``Error:`` line of a failed run (stderr; nothing else printed)."""
    assert r.exit_code != 0 and (code is None or r.exit_code == code), (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.output
    return lines[0]


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(5)
    g = np.repeat([0, 1, 2], 40)
    X = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])[g] + rng.normal(size=(120, 2))
    df = pd.DataFrame({"id": [f"r{i}" for i in range(120)], "x": X[:, 0], "y": X[:, 1]})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 3, (24, 24))
    px = np.array([[220, 30, 30], [30, 200, 40], [20, 40, 220]], np.uint8)[idx]
    path = tmp_path / "in.png"
    Image.fromarray(px).save(path)
    return path


# --- one spelling, stdin/stdout, --json --------------------------------------------------------

def test_k_is_spelled_both_ways_on_every_command(table, photo, tmp_path):
    path, _ = table
    for flag in ("-k", "--k"):
        assert run("elbow", path, flag, "2-4", "--json").exit_code == 0
        assert run("cluster", path, flag, "3", "--json").exit_code == 0
        assert run("colors", photo, flag, "3", "--json").exit_code == 0
        out = tmp_path / f"q{flag}.png"
        assert run("quantize", photo, flag, "3", "-o", out, "-q").exit_code == 0
        assert run("search-images", tmp_path, photo, flag, "1", "--json").exit_code == 0


def test_every_command_prints_json_with_its_name(table, photo, tmp_path):
    path, df = table
    model = tmp_path / "m.kmk"
    docs = {
        "elbow": run("elbow", path, "-k", "2-5", "--json"),
        "cluster": run("cluster", path, "-k", "3", "--model", model, "--json"),
        "outliers": run("outliers", path, "--model", model, "--json", "--top", "3"),
        "colors": run("colors", photo, "-k", "3", "--json"),
        "quantize": run("quantize", photo, "-k", "3", "-o", tmp_path / "q.png", "--json"),
        "search-images": run("search-images", tmp_path, photo, "--json"),
        "demo": run("demo", "--out", tmp_path / "demo", "--json"),
    }
    for name, r in docs.items():
        assert r.exit_code == 0, (name, r.output)
        d = json.loads(r.stdout)  # stdout is one JSON document, nothing else
        if name not in ("colors",):
            assert d["command"] == name
    c = json.loads(docs["cluster"].stdout)
    assert c["k"] == 3 and c["rows"] == 120 and sum(x["size"] for x in c["clusters"]) == 120
    assert c["columns"] == ["x", "y"] and c["skipped_columns"] == ["id"] and c["written"] == [str(model)]
    seg = kmeanskit.segment(df, 3)
    assert [x["size"] for x in c["clusters"]] == seg.sizes.tolist()
    assert c["clusters"][0]["mean"]["x"] == pytest.approx(seg.profile["x mean"].iloc[0])
    o = json.loads(docs["outliers"].stdout)
    assert o["rows"] == 120 and o["n_outliers"] == 2 and len(o["top"]) == 3  # ceil(0.01 * 120)
    assert o["top"][0]["score"] >= o["top"][1]["score"] and o["top"][0]["outlier"]
    assert json.loads(docs["demo"].stdout)["written"][0].endswith("demo_swatch.png")


def test_dash_reads_stdin_and_writes_stdout(table, tmp_path):
    path, df = table
    text = path.read_text()
    r = run("cluster", "-", "-k", "3", "-o", "-", input=text)
    assert r.exit_code == 0, r.output
    back = pd.read_csv(io.StringIO(r.stdout))  # stdout holds only the table
    assert list(back.columns) == ["id", "x", "y", "cluster"]
    np.testing.assert_array_equal(back["cluster"], kmeanskit.segment(df, 3).labels)
    assert "3 clusters" in r.stderr  # the report goes to stderr when stdout is data
    tsv = df.to_csv(sep="\t", index=False)
    r = run("elbow", "-", "--format", "tsv", "-k", "2-4", "--json", input=tsv)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["columns"] == ["x", "y"]
    model = tmp_path / "m.kmk"
    assert run("cluster", path, "-k", "3", "--model", model, "-q").exit_code == 0
    r = run("outliers", "-", "--model", model, "-o", "-", "--top", "0", input=text)
    assert r.exit_code == 0 and pd.read_csv(io.StringIO(r.stdout)).shape == (120, 6)
    assert "stdin is empty" in one_line_error(run("cluster", "-", "-k", "2", input=""), 2)
    assert "pick one" in one_line_error(run("cluster", path, "-o", "-", "--json"), 2)


def test_elbow_and_cluster_agree_on_scaling(tmp_path):
    iris = tmp_path / "iris.csv"
    iris.write_bytes((importlib.resources.files("kmeanskit") / "data" / "iris.csv").read_bytes())
    e = json.loads(run("elbow", iris, "-k", "2-10", "--json").stdout)
    c = json.loads(run("cluster", iris, "-k", "auto", "--json").stdout)
    assert e["scaling"] == c["scaling"] == "zscore"
    assert e["best_k"] == c["k"]
    X = pd.read_csv(iris).iloc[:, :4].to_numpy()
    want = kmeanskit.choose_k(Scaling.fit(X, "zscore").transform(X), range(2, 11), random_state=0)
    assert e["best_k"] == want.best_k
    assert "scaled: none" in run("elbow", iris, "--standardize", "none", "-k", "1-3").stdout


# --- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["elbow"],                                   # missing argument
    ["elbow", "x.csv", "--nope"],                # unknown option
    ["cluster", "x.csv", "--standardize", "zz"],  # bad choice
    ["colors", "nope.png"],                      # path does not exist
    ["cluster", "x.csv", "-k", "many"],          # a command's own check of a value
    ["elbow", "x.csv", "-k", "5-2"],
    ["nocommand"],
])
def test_usage_errors_are_one_line_with_exit_2(args, tmp_path):
    msg = one_line_error(run(*args), code=2)
    assert "--help" in msg


def test_data_errors_are_one_line_with_exit_1(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n,3\n")
    assert "missing" in one_line_error(run("cluster", bad, "-k", "1"), code=1)


def test_writes_are_announced_unless_quiet(table, photo, tmp_path):
    path, _ = table
    sw = tmp_path / "sw.png"
    r = run("colors", photo, "-k", "2", "--swatch", sw)
    assert r.exit_code == 0 and f"wrote {sw} (swatch)" in r.stderr and "wrote" not in r.stdout
    plot = tmp_path / "e.png"
    r = run("elbow", path, "-k", "1-4", "--plot", plot)
    assert r.exit_code == 0 and f"wrote {plot}" in r.stderr
    r = run("cluster", path, "-k", "2", "-o", tmp_path / "o.csv", "--report", tmp_path / "rep", "-q")
    assert r.exit_code == 0 and "wrote" not in r.output
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [
        "features.png", "pca.png", "profile.csv", "profile.md"]


# --- output safety (#18, 10-12) -----------------------------------------------------------------

def test_no_output_may_be_an_input_even_with_force(table, photo, tmp_path):
    path, _ = table
    before = photo.read_bytes()
    assert "input" in one_line_error(run("colors", photo, "--swatch", photo, "--force"), 1)
    assert "input" in one_line_error(run("elbow", photo, "--plot", photo, "--force"), 1)
    assert photo.read_bytes() == before
    rep = tmp_path / "rep"
    rep.mkdir()
    profile = rep / "profile.csv"
    profile.write_bytes(path.read_bytes())
    before = profile.read_bytes()
    assert "input" in one_line_error(run("cluster", profile, "-k", "2", "--report", rep, "--force"), 1)
    assert profile.read_bytes() == before
    link = tmp_path / "hard.csv"  # the same file under another name
    os.link(path, link)
    before = path.read_bytes()
    assert "input" in one_line_error(run("cluster", path, "-k", "2", "-o", link, "--force"), 1)
    assert path.read_bytes() == before


def test_outputs_are_distinct_and_written_all_or_none(table, tmp_path):
    path, _ = table
    out = tmp_path / "out.csv"
    msg = one_line_error(run("cluster", path, "-k", "3", "-o", out, "--model", out), 1)
    assert "twice" in msg and not out.exists()
    # --model fails after the table was computed: nothing is written
    model = tmp_path / "m.kmk"
    model.write_bytes(b"keep")
    r = run("cluster", path, "-k", "3", "-o", out, "--model", model)
    assert "exists; pass --force" in one_line_error(r, 1) and not out.exists()
    assert model.read_bytes() == b"keep"
    # a failure while writing the second output leaves the first untouched
    (tmp_path / "rep").write_text("a file where the report folder should go")
    r = run("cluster", path, "-k", "3", "-o", out, "--report", tmp_path / "rep")
    assert r.exit_code != 0 and not out.exists()
    assert not [p for p in tmp_path.iterdir() if _fileutil.TMP_TAG in p.name]


def test_stale_temporaries_of_dead_processes_are_removed(table, tmp_path):
    path, _ = table
    # a writer killed with SIGKILL between writing its temporary and renaming it
    code = ("import os, sys; from kmeanskit import _fileutil; "
            "t = _fileutil.temporary_path(sys.argv[1]); open(t, 'wb').write(b'half'); "
            "print(t, flush=True); os.kill(os.getpid(), 9)")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out.csv")], capture_output=True, text=True)
    stale = tmp_path / p.stdout.strip().rsplit("/", 1)[-1]
    assert p.returncode != 0 and stale.exists()
    mine = _fileutil.temporary_path(tmp_path / "live.csv")  # a live writer's (this process) is kept
    _fileutil._swept.discard(os.path.realpath(tmp_path))
    assert run("cluster", path, "-k", "2", "-o", tmp_path / "out.csv", "-q").exit_code == 0
    assert not stale.exists() and mine.exists()
    mine.unlink()


# --- first run -----------------------------------------------------------------------------------

def test_cold_kernel_cache_is_detected_and_announced_once(tmp_path):
    from kmeanskit import core

    kmeanskit.fit(np.arange(8.0).reshape(4, 2), 2, random_state=0)
    assert core.kernels_cold() is False  # compiled (or loaded) and cached just now
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"))
    code = "from kmeanskit.core import kernels_cold; print(kernels_cold())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


def test_compile_notice_says_it_once(monkeypatch, capsys):
    from kmeanskit import core

    monkeypatch.setattr(core, "kernels_cold", lambda: True)
    monkeypatch.setattr(core, "_compile_noticed", False)
    assert core.compile_notice() and not core.compile_notice()
    err = capsys.readouterr().err
    assert err.count("compiling kernels, about 30 s, once per install") == 1
    monkeypatch.setattr(core, "_compile_noticed", False)
    X = np.arange(12.0).reshape(6, 2)
    kmeanskit.fit(X, 2, random_state=0)  # quiet fits say nothing
    assert "compiling" not in capsys.readouterr().err
    kmeanskit.KMeans(2, random_state=0, verbose=1).fit(X)  # verbose ones do, once
    kmeanskit.fit(X, 2, random_state=0, verbose=1)
    assert capsys.readouterr().err.count("compiling kernels") == 1


# --- no traps in the API -------------------------------------------------------------------------

def test_labels_are_int32_everywhere(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    r = kmeanskit.fit(X, 5, random_state=0)
    assert r.labels.dtype == np.int32 and (r.labels * 100).max() == r.labels.max() * 100
    assert kmeanskit.assign(X, r.centers)[0].dtype == np.int32
    assert r.predict(X[:3]).dtype == np.int32
    assert kmeanskit.KMeans(5, random_state=0).fit(X).labels_.dtype == np.int32
    assert kmeanskit.vq.vq(X, r.centers)[0].dtype == np.int32
    compact = kmeanskit.fit(X, 5, random_state=0, compact_labels=True)
    assert compact.labels.dtype == np.int8
    np.testing.assert_array_equal(compact.labels, r.labels)
    assert kmeanskit.fit(X, 5, random_state=0, metric="manhattan").labels.dtype == np.int32


def test_image_features_expands_folders_as_the_cli(photo, tmp_path):
    from kmeanskit.search import image_features

    sub = tmp_path / "sub"
    sub.mkdir()
    Image.open(photo).rotate(90).save(sub / "b.png")
    (tmp_path / "notes.txt").write_text("not an image")
    f = image_features([tmp_path])
    assert [p.name for p in f.items] == ["in.png", "b.png"] and f.X.shape == (2, 245)
    assert [p.name for p in image_features([tmp_path], recursive=False).items] == ["in.png"]


def test_save_swatch_refuses_to_overwrite(tmp_path):
    pal = kmeanskit.image.Palette.from_colors(["#102030", "#e0c0a0"])
    p = pal.save_swatch(tmp_path / "s.png")
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        pal.save_swatch(p)
    assert p.read_bytes() == before
    assert pal.save_swatch(p, overwrite=True) == p


def test_cli_says_once_that_kernels_compile_when_cold(monkeypatch, table):
    from kmeanskit import core

    path, _ = table
    monkeypatch.setattr(core, "kernels_cold", lambda: True)
    monkeypatch.setattr(core, "_compile_noticed", False)
    r = run("cluster", path, "-k", "2", "--json")
    assert r.exit_code == 0 and r.stderr.count("compiling kernels, about 30 s, once per install") == 1
    json.loads(r.stdout)  # stdout stays clean JSON
    r = run("cluster", path, "-k", "2", "--json")
    assert "compiling" not in r.stderr  # once per process
