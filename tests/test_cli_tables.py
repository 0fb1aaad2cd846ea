"""`kmeanskit cluster` and `kmeanskit outliers` through the CLI runner, on real files."""

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import kmeanskit
from kmeanskit.cli import main
from kmeanskit.datasets import WHOLESALE_SPENDING


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_line_error(r, pattern):
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert re.search(pattern, lines[0]), lines[0]


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    n = 120
    g = np.repeat([0, 1, 2], n // 3)
    C = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])
    X = C[g] + rng.normal(size=(n, 2))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x": X[:, 0], "y": X[:, 1]}), g


def _write(df, path):
    s = path.suffix
    if s == ".csv":
        df.to_csv(path, index=False)
    elif s == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif s == ".parquet":
        df.to_parquet(path, index=False)
    elif s == ".npy":
        np.save(path, df[["x", "y"]].to_numpy())
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".npy"])
def test_cluster_every_input_format(table, tmp_path, suffix):
    df, g = table
    src = _write(df, tmp_path / f"in{suffix}")
    out = tmp_path / "labels.csv"
    r = run("cluster", src, "-k", 3, "-o", out)
    assert r.exit_code == 0, r.output
    assert "k = 3" in r.output and "3 clusters" in r.output
    back = pd.read_csv(out)
    cols = ["0", "1"] if suffix == ".npy" else ["id", "x", "y"]
    assert list(back.columns) == cols + ["cluster"]
    assert len(back) == len(df)
    X = df[["x", "y"]].to_numpy()
    want = kmeanskit.segment(pd.DataFrame(X, columns=["x", "y"]), k=3).labels
    np.testing.assert_array_equal(back["cluster"].to_numpy(), want)
    assert len(set(zip(g, want))) == 3
    if suffix != ".npy":
        assert "skipped column(s)" in r.output and "id" in r.output


def test_cluster_parquet_output_and_force(table, tmp_path):
    df, _ = table
    src = _write(df, tmp_path / "in.csv")
    out = tmp_path / "labels.parquet"
    assert run("cluster", src, "-k", 2, "-o", out).exit_code == 0
    back = pd.read_parquet(out)
    assert list(back["id"]) == list(df["id"]) and back["cluster"].notna().all()
    before = out.read_bytes()
    _one_line_error(run("cluster", src, "-k", 3, "-o", out), r"exists; pass --force")
    assert out.read_bytes() == before
    assert run("cluster", src, "-k", 3, "-o", out, "--force").exit_code == 0
    assert pd.read_parquet(out)["cluster"].nunique() == 3


def test_inputs_are_never_overwritten_even_with_force(table, tmp_path):
    df, _ = table
    src = _write(df, tmp_path / "in.csv")
    model = tmp_path / "m.kmk"
    assert run("cluster", src, "-k", 2, "--model", model).exit_code == 0
    before, model_before = src.read_bytes(), model.read_bytes()
    _one_line_error(run("cluster", src, "-k", 2, "-o", src, "--force"), r"refusing to overwrite the input")
    _one_line_error(run("outliers", src, "--model", model, "-o", src, "--force"),
                    r"refusing to overwrite the input")
    _one_line_error(run("outliers", src, "--model", model, "-o", model, "--force"),
                    r"refusing to overwrite the input")
    assert src.read_bytes() == before and model.read_bytes() == model_before


def test_cluster_dropna_keeps_rows_in_order(table, tmp_path):
    df, _ = table
    df = df.copy()
    df.loc[[4, 7], "x"] = np.nan
    src = _write(df, tmp_path / "in.csv")
    _one_line_error(run("cluster", src, "-k", 3), r"missing values in column\(s\) 'x' \(2\).*--dropna")
    out = tmp_path / "l.csv"
    r = run("cluster", src, "-k", 3, "--dropna", "-o", out)
    assert r.exit_code == 0, r.output
    assert "left out 2 row(s)" in r.output
    back = pd.read_csv(out)
    assert list(back["id"]) == list(df["id"])
    assert back["cluster"].isna().tolist() == [i in (4, 7) for i in range(len(df))]
    r = run("cluster", src, "-k", 3, "--impute", "mean")
    assert r.exit_code == 0 and "x (2)" in r.output


def test_cluster_categorical_refusal_and_onehot(table, tmp_path):
    df, g = table
    df = df.assign(kind=np.array(["p", "q", "r"])[g])
    src = _write(df, tmp_path / "in.csv")
    _one_line_error(run("cluster", src, "--columns", "x,kind", "-k", 3), r"'kind'.*categorical.*--onehot")
    r = run("cluster", src, "--columns", "x,kind", "-k", 3, "--onehot")
    assert r.exit_code == 0, r.output
    assert "kind=p mean" not in r.output and "kind=p" in r.output


def test_cluster_bad_input_one_line(tmp_path, table):
    df, _ = table
    src = _write(df, tmp_path / "in.csv")
    _one_line_error(run("cluster", tmp_path / "nope.csv"), "no such file")
    _one_line_error(run("cluster", src, "--columns", "x,zz"), r"'zz' not found")
    _one_line_error(run("cluster", src, "-k", "many"), "neither a number nor 'auto'")
    bad = tmp_path / "t.xlsx"
    bad.write_text("x")
    _one_line_error(run("cluster", bad), "unknown table format")
    _one_line_error(run("cluster", src, "-o", tmp_path / "o.json"), "cannot write")


def _png_var(path):
    with Image.open(path) as im:
        return float(np.asarray(im.convert("L"), dtype=np.float64).var())


def test_cluster_auto_with_report_and_model(table, tmp_path):
    df, _ = table
    src = _write(df, tmp_path / "in.csv")
    rep = tmp_path / "report"
    r = run("cluster", src, "-k", "auto", "--k-range", "2-6", "--report", rep, "--model", tmp_path / "m.kmk")
    assert r.exit_code == 0, r.output
    assert "k = 3, chosen from k = 2, 3, 4, 5, 6" in r.output and "Recommended k = 3" in r.output
    for name in ("pca.png", "features.png", "elbow.png"):
        assert _png_var(rep / name) > 100.0
    assert (rep / "profile.csv").stat().st_size > 0 and (rep / "profile.md").read_text().startswith("| cluster")
    km = kmeanskit.load(tmp_path / "m.kmk")
    assert km.n_clusters == 3 and list(km.feature_names_in_) == ["x", "y"]
    _one_line_error(run("cluster", src, "-k", 3, "--report", rep), r"profile.csv exists; pass --force")
    assert run("cluster", src, "-k", 3, "--report", rep, "--force").exit_code == 0


def test_outliers_finds_planted_rows_first(tmp_path):
    rng = np.random.default_rng(11)
    g = rng.integers(0, 3, 300)
    C = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = C[g] + rng.normal(size=(300, 2))
    train = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "note": "t"})
    _write(train, tmp_path / "train.csv")
    model = tmp_path / "m.kmk"
    assert run("cluster", tmp_path / "train.csv", "-k", 3, "--model", model).exit_code == 0
    new = train.iloc[:60].copy().reset_index(drop=True)
    planted = [7, 23, 41]
    new.loc[planted, ["x", "y"]] = [[40.0, 40.0], [-30.0, 5.0], [5.0, -25.0]]
    new = new[["note", "y", "x"]]  # other column order: columns are found by name
    _write(new, tmp_path / "new.tsv")
    out = tmp_path / "scores.csv"
    r = run("outliers", tmp_path / "new.tsv", "--model", model, "--contamination", 0.05, "--top", 3, "-o", out)
    assert r.exit_code == 0, r.output
    top_rows = [int(line.split()[1]) for line in r.output.splitlines() if line.startswith("│")]
    assert sorted(top_rows) == planted
    assert "flagged 3 row(s)" in r.output
    s = pd.read_csv(out)
    assert list(s.columns) == ["note", "y", "x", "outlier_score", "is_outlier", "cluster"]
    assert np.flatnonzero(s["is_outlier"]).tolist() == planted
    # scores are distances to the nearest centre in the scaled space of the model
    km = kmeanskit.load(model)
    Z = km.scaling_.transform(new[["x", "y"]].to_numpy())
    d = np.sqrt(((Z[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(s["outlier_score"], d.min(1), rtol=1e-9)
    np.testing.assert_array_equal(s["cluster"], d.argmin(1))
    # threshold and normalize
    r = run("outliers", tmp_path / "new.tsv", "--model", model, "--normalize", "--threshold", 5)
    assert r.exit_code == 0 and "flagged 3 row(s)" in r.output
    _one_line_error(run("outliers", tmp_path / "new.tsv", "--model", model, "-o", out), "exists; pass --force")


def test_outliers_missing_columns_and_log_model(tmp_path):
    df = pd.DataFrame({"a": np.arange(1.0, 41.0), "b": np.tile([1.0, 100.0], 20)})
    _write(df, tmp_path / "t.csv")
    r = run("cluster", tmp_path / "t.csv", "-k", 2, "--log", "--model", tmp_path / "m.kmk")
    assert r.exit_code == 0, r.output
    assert list(kmeanskit.load(tmp_path / "m.kmk").feature_names_in_) == ["log1p(a)", "log1p(b)"]
    r = run("outliers", tmp_path / "t.csv", "--model", tmp_path / "m.kmk", "--top", 0)
    assert r.exit_code == 0, r.output
    _write(df[["a"]], tmp_path / "only_a.csv")
    _one_line_error(run("outliers", tmp_path / "only_a.csv", "--model", tmp_path / "m.kmk"),
                    r"lacks column\(s\) 'b'")
    _one_line_error(run("outliers", tmp_path / "t.csv", "--model", tmp_path / "m.kmk",
                        "--threshold", 1, "--contamination", 0.1), "not both")


def test_wholesale_walkthrough(tmp_path):
    from importlib import resources

    with resources.as_file(resources.files("kmeanskit") / "data" / "wholesale_customers.csv") as p:
        r = run("cluster", p, "-k", "auto", "--columns", ",".join(WHOLESALE_SPENDING), "--log",
                "-o", tmp_path / "labels.csv", "--model", tmp_path / "m.kmk")
        assert r.exit_code == 0, r.output
        assert "k = 2, chosen" in r.output and "skipped" not in r.output
        o = run("outliers", p, "--model", tmp_path / "m.kmk", "--top", 3)
    assert o.exit_code == 0, o.output
    assert "flagged 5 row(s)" in o.output  # ceil(1% of 440)
    labels = pd.read_csv(tmp_path / "labels.csv")
    assert labels.shape == (440, 9)


def test_commands_documented():
    for cmd in ("cluster", "outliers"):
        res = run(cmd, "--help")
        assert res.exit_code == 0 and "Examples:" in res.output and "kmeanskit " + cmd in res.output


# --- k-prototypes models: text columns and empty cells ----------------------------------


def _mixed_tables(tmp_path):
    """A training CSV (numbers, two text columns, empty cells) and a new
    CSV in another column order with a planted row, gaps, a row with no
    value in the model's columns and a category never seen."""
    g = np.random.default_rng(5)
    n = 300
    y = g.integers(0, 3, n)
    train = pd.DataFrame({"spend": g.normal(y * 8.0, 1.0), "visits": g.normal(y * 3.0, 1.0),
                          "region": np.array(["north", "south", "east"])[y],
                          "plan": np.array(["basic", "plus", "pro"])[y], "id": [f"c{i}" for i in range(n)]})
    for col, rate in (("spend", 0.1), ("region", 0.1), ("plan", 0.05)):
        train.loc[g.random(n) < rate, col] = None
    _write(train, tmp_path / "train.csv")
    new = train.iloc[:40].copy().reset_index(drop=True)
    new.loc[11, ["spend", "visits", "region", "plan"]] = [80.0, -20.0, "north", "pro"]  # rare and extreme
    new.loc[3, ["spend", "region", "plan"]] = None                                     # only visits
    new.loc[5, ["spend", "visits", "region", "plan"]] = None                           # nothing
    new.loc[8, "region"] = "west"                                                      # never seen
    new = new[["id", "plan", "visits", "region", "spend"]]
    _write(new, tmp_path / "new.csv")
    return train, new


def test_outliers_kprototypes_model_end_to_end(tmp_path):
    import json

    from kmeanskit.anomaly import outlier_scores
    from kmeanskit.tables import model_inputs

    _, new = _mixed_tables(tmp_path)
    model = tmp_path / "m.kmk"
    r = run("cluster", tmp_path / "train.csv", "-k", 3, "--missing", "ignore", "--model", model)
    assert r.exit_code == 0, r.output
    km = kmeanskit.load(model)
    assert list(km.feature_names_in_) == ["spend", "visits", "region", "plan"] and km.missing == "ignore"
    r = run("outliers", tmp_path / "new.csv", "--model", model, "--contamination", 0.05, "--json", "--top", 3)
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["outlier_rows"][0] == 11 and rec["n_outliers"] == 2  # ceil(0.05 x 39 scored rows)
    assert rec["categorical"] == ["region", "plan"] and rec["scaling"] == "zscore"
    assert rec["unscored_rows"] == [5]
    assert rec["incomplete_rows"] == int(new.drop(columns="id").isna().any(axis=1).sum()) - 1
    # the scores are the Python API's on the same rows, and row 3 (visits only) by hand
    scores = outlier_scores(km, model_inputs(pd.read_csv(tmp_path / "new.csv"), km))
    assert [t["row"] for t in rec["top"]] == np.argsort(-np.nan_to_num(scores, nan=-1), kind="stable")[:3].tolist()
    np.testing.assert_allclose([t["score"] for t in rec["top"]], -np.sort(-scores[~np.isnan(scores)])[:3],
                               rtol=1e-12)
    z = (new.loc[3, "visits"] - km.scaling_.center[1]) / km.scaling_.scale[1]
    assert scores[3] == pytest.approx(np.sqrt(((z - km.cluster_centers_[:, 1]) ** 2).min() * 4 / 1), rel=1e-12)
    # -o: every row, the unscored one with an empty score and cluster; --html
    out = tmp_path / "scores.csv"
    r = run("outliers", tmp_path / "new.csv", "--model", model, "--normalize", "--threshold", 3, "-o", out,
            "--html", tmp_path / "o.html")
    assert r.exit_code == 0, r.output
    assert "1 row(s) with no value in the model's columns: not scored (rows 5)" in r.output
    assert "categorical region, plan; scaling zscore" in r.output
    s = pd.read_csv(out)
    assert list(s.columns) == list(new.columns) + ["outlier_score", "is_outlier", "cluster"]
    assert s["outlier_score"].isna().tolist() == [i == 5 for i in range(40)]
    assert s["cluster"].isna().tolist() == [i == 5 for i in range(40)]
    assert s.loc[11, "is_outlier"] and not s.loc[5, "is_outlier"]
    np.testing.assert_allclose(s["outlier_score"], outlier_scores(km, model_inputs(new, km), normalize=True),
                               rtol=1e-12)
    page = (tmp_path / "o.html").read_text()
    assert f"{int(s['is_outlier'].sum())} of 40 rows flagged" in page


def test_outliers_kprototypes_bad_input(tmp_path):
    train, new = _mixed_tables(tmp_path)
    model = tmp_path / "m.kmk"
    assert run("cluster", tmp_path / "train.csv", "-k", 3, "--missing", "ignore", "--model", model).exit_code == 0
    _write(new.drop(columns=["plan", "visits"]), tmp_path / "lacks.csv")
    _one_line_error(run("outliers", tmp_path / "lacks.csv", "--model", model),
                    r"lacks\.csv: the table lacks column\(s\) 'visits', 'plan' that the model was fitted on")
    bad = new.copy()
    bad["spend"] = bad["spend"].astype(object)
    bad.loc[0, "spend"] = "lots"
    _write(bad, tmp_path / "text.csv")
    _one_line_error(run("outliers", tmp_path / "text.csv", "--model", model),
                    r"column 'spend' is not numeric")
    # a model fitted without --missing ignore refuses rows with gaps, naming the columns
    complete = train.dropna()
    _write(complete, tmp_path / "complete.csv")
    strict = tmp_path / "strict.kmk"
    assert run("cluster", tmp_path / "complete.csv", "-k", 3, "--model", strict).exit_code == 0
    _one_line_error(run("outliers", tmp_path / "new.csv", "--model", strict),
                    r"missing or non-finite values in column\(s\) 'spend' \(\d+\).*missing='ignore'")
    # ... and scores complete rows, an unseen category included
    ok = new.dropna()
    _write(ok, tmp_path / "ok.csv")
    r = run("outliers", tmp_path / "ok.csv", "--model", strict, "--top", 1)
    assert r.exit_code == 0, r.output
    _one_line_error(run("outliers", tmp_path / "new.csv", "--model", model, "--normalize", "--threshold", 0.0,
                        "-o", tmp_path / "new.csv", "--force"), "input")
