import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import kmeanskit
from kmeanskit.cli import main
from kmeanskit.cli.elbow import parse_k_range


def _blob_table(seed=0, n=300, k=3):
    rng = np.random.default_rng(seed)
    C = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])[:k]
    lab = rng.integers(0, k, n)
    return C[lab] + rng.normal(size=(n, 2))


def _write_csv(path, X):
    lines = ["name,x,y"] + [f"p{i},{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(X)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _zscore(X):
    return (X - X.mean(0)) / X.std(0)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_line_error(r):
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    err = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(err) == 1
    return err[0]


def test_table_output_and_recommendation(tmp_path):
    X = _blob_table()
    p = _write_csv(tmp_path / "d.csv", X)
    r = run("elbow", p, "--k", "1-6", "--standardize", "none")
    assert r.exit_code == 0, r.output
    assert "skipped non-numeric column(s): name" in r.output
    assert "Recommended k = 3" in r.output and "scaled: none" in r.output
    rows = [ln for ln in r.output.splitlines() if ln.startswith("│")]
    assert [ln.split("│")[1].strip() for ln in rows] == ["1", "2", "3", "4", "5", "6"]
    api = kmeanskit.choose_k(X, range(1, 7), random_state=0)
    assert f"{api.inertia[2]:.4g}" in r.output


def test_json_matches_the_api(tmp_path):
    X = _blob_table(k=4)
    p = _write_csv(tmp_path / "d.csv", X)
    r = run("elbow", p, "--json", "-k", "2-3,4,5-7", "--columns", "x,y")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    api = kmeanskit.choose_k(_zscore(X), range(2, 8), random_state=0)  # tables: z-scored, as `cluster`
    assert d["best_k"] == api.best_k == 4
    assert [row["k"] for row in d["per_k"]] == list(range(2, 8))
    assert [row["inertia"] for row in d["per_k"]] == pytest.approx(api.inertia.tolist(), rel=1e-12)
    assert d["columns"] == ["x", "y"] and d["knee"] == api.knee and d["metric"] == "euclidean"
    assert d["votes"]["silhouette"] == 4


def test_plot_written_atomically_and_not_overwritten(tmp_path):
    p = _write_csv(tmp_path / "d.csv", _blob_table())
    out = tmp_path / "elbow.png"
    r = run("elbow", p, "--plot", out, "--k", "1-6")
    assert r.exit_code == 0, r.output
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape[1] > 400 and (img.sum(axis=2) < 600).mean() > 0.02
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    before = out.read_bytes()
    r = run("elbow", p, "--plot", out)
    assert "exists; pass --force" in _one_line_error(r)
    assert out.read_bytes() == before
    r = run("elbow", p, "--plot", out, "--force", "--k", "1-4")
    assert r.exit_code == 0 and out.read_bytes() != before


def test_image_input_uses_pixels(tmp_path):
    rng = np.random.default_rng(0)
    colours = np.array([[230, 30, 30], [30, 200, 40], [20, 40, 220], [240, 240, 240]])
    idx = np.repeat(np.repeat(rng.integers(0, 4, (8, 8)), 8, axis=0), 8, axis=1)
    pix = (colours[idx] + rng.normal(scale=6, size=idx.shape + (3,))).clip(0, 255).astype(np.uint8)
    path = tmp_path / "img.png"
    Image.fromarray(pix).save(path)
    r = run("elbow", path, "--json", "--k", "1-8")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["n_rows"] == 64 * 64 and d["columns"] == ["R", "G", "B"]
    assert d["best_k"] == 4
    r = run("elbow", path, "--columns", "x")
    assert "applies to tables" in _one_line_error(r)


def test_npy_and_parquet_inputs_and_standardize(tmp_path):
    X = _blob_table()
    np.save(tmp_path / "d.npy", X)
    r = run("elbow", tmp_path / "d.npy", "--json", "--k", "1-5", "--standardize")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    Z = (X - X.mean(0)) / X.std(0)
    api = kmeanskit.choose_k(Z, range(1, 6), random_state=0)
    assert d["standardized"] and d["best_k"] == api.best_k == 3
    assert d["per_k"][2]["inertia"] == pytest.approx(api.inertia[2], rel=1e-12)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "tag": ["a"] * len(X)}).to_parquet(tmp_path / "d.parquet")
    r = run("elbow", tmp_path / "d.parquet", "--json", "--k", "1-5")
    d = json.loads(r.output)
    assert d["skipped_columns"] == ["tag"] and d["best_k"] == 3


@pytest.mark.parametrize("args, match", [
    (["--k", "0-5"], "k must be >= 1"),
    (["--k", "5-2"], "backwards"),
    (["--k", "one"], "not a k range"),
    (["--k", "1-400"], "more than the 300 rows"),
    (["--columns", "z"], "'z' not found"),
    (["--columns", "name"], "not numeric"),
    (["--criteria", "elbow,bic"], "unknown criteria"),
])
def test_clear_one_line_errors(tmp_path, args, match):
    p = _write_csv(tmp_path / "d.csv", _blob_table())
    assert match in _one_line_error(run("elbow", p, *args))


def test_errors_for_distinct_points_missing_file_and_constant_column(tmp_path):
    p = tmp_path / "few.csv"
    p.write_text("x,y\n" + "".join(f"{i % 3},{i % 3}\n" for i in range(30)))
    assert "3 distinct points" in _one_line_error(run("elbow", p, "--k", "1-5"))
    assert "no such file" in _one_line_error(run("elbow", tmp_path / "nope.csv"))
    c = tmp_path / "const.csv"  # a constant column keeps scale 1 (as `cluster`): it changes nothing
    c.write_text("x,y\n" + "".join(f"{i},1\n" for i in range(30)))
    r = run("elbow", c, "--standardize", "--json", "-k", "1-4")
    assert r.exit_code == 0, r.output
    want = kmeanskit.choose_k(_zscore(np.arange(30.0))[:, None], range(1, 5), random_state=0)
    assert [row["inertia"] for row in json.loads(r.output)["per_k"]] == pytest.approx(want.inertia.tolist())
    bad = tmp_path / "d.xlsx"
    bad.write_text("x")
    assert "unknown table format" in _one_line_error(run("elbow", bad))
    nan = tmp_path / "nan.csv"
    nan.write_text("x,y\n1,2\n,3\n4,5\n")
    assert "'x' (1)" in _one_line_error(run("elbow", nan))


def test_help_has_examples():
    r = run("elbow", "--help")
    assert r.exit_code == 0 and "kmeanskit elbow data.csv" in r.output and "--standardize" in r.output


def test_parse_k_range():
    assert parse_k_range("1-10") == list(range(1, 11))
    assert parse_k_range("2, 4,6-7") == [2, 4, 6, 7]

