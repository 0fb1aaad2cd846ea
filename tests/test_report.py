"""Single-file HTML reports (kmeanskit.report, #21), read without a browser:
the pages are parsed with the standard library's HTML parser and their
tables, figures and numbers compared with the results they report (the
browser checks are in tests/test_report_browser.py)."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import kmeanskit
from kmeanskit.anomaly import detect_outliers
from kmeanskit.cli import main
from kmeanskit.image import Palette
from kmeanskit.report import fmt_num, outliers_html, palette_html, segmentation_html, sweep_html


class Page(HTMLParser):
    """The parts of a report the tests read: tables (id -> header, rows of
    (text, data-value)), images (src, width, height), meta tags, and every
    URL-bearing attribute."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables, self.images, self.meta, self.urls, self.scripts = {}, [], [], [], []
        self._table = None
        self._row = None
        self._cell = None
        self._in_head = False
        self._in_script = False
        self.text_parts = []
        self.feed(text)
        # text nodes joined by a space (so table cells stay apart), none before punctuation
        self.text = re.sub(r" ([,.;:)])", r"\1", " ".join(" ".join(self.text_parts).split()))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "action", "data", "poster"):
            if key in a:
                self.urls.append(a[key])
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = {"head": [], "rows": []}
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ["", a.get("data-value")]
        elif tag == "img":
            self.images.append(a)
        elif tag == "meta":
            self.meta.append(a)
        elif tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            t = self.tables[self._table]
            if self._in_head:
                t["head"] = [c[0] for c in self._row]
            else:
                t["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text_parts.append(data)


def check_self_contained(text: str) -> Page:
    """A complete page that refers to nothing outside itself: every URL a
    data: URI, a CSP that forbids fetching, every image a decodable PNG or
    JPEG of the size the tag states."""
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = Page(text)
    assert all(u.startswith("data:image/") for u in page.urls), [u[:40] for u in page.urls]
    assert not re.search(r"https?://", text.replace("http-equiv", "")), "a URL in the page"
    csp = [m["content"] for m in page.meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'")
    assert any(m.get("name") == "viewport" for m in page.meta)
    assert "@media print" in text and "@media (max-width" in text
    for img in page.images:
        head, b64 = img["src"].split(",", 1)
        im = Image.open(io.BytesIO(base64.b64decode(b64)))
        assert im.format in ("PNG", "JPEG") and head == f"data:image/{im.format.lower()};base64"
        assert (im.width, im.height) == (int(img["width"]), int(img["height"]))
        assert np.asarray(im.convert("L")).std() > 5, "a blank figure"
    return page


@pytest.fixture(scope="module")
def toy():
    df = pd.DataFrame({"name": [f"shop {i}" for i in range(12)],
                       "spend": [10.0, 12.0, 11.0, 13.0, 90.0, 95.0, 92.0, 91.0, 50.0, 52.0, 49.0, 51.0],
                       "visits": [1, 2, 1, 2, 9, 8, 9, 9, 5, 5, 4, 6]})
    return df, kmeanskit.segment(df, k=3, random_state=0)


def test_segmentation_report_numbers(toy):
    df, seg = toy
    page = check_self_contained(segmentation_html(seg, source="shops.csv"))
    prof = page.tables["profile-table"]
    assert prof["head"][:3] == ["segment", "size", "share"] and prof["head"][-1] == "stands out by"
    assert len(prof["rows"]) == 3
    for row, (c, p) in zip(prof["rows"], seg.profile.iterrows()):
        assert int(row[0][0]) == c
        assert row[1][0] == str(int(p["size"])) and row[2][0] == f"{p['share']:.1%}"
        assert row[3][0] == fmt_num(p["spend mean"]) and float(row[3][1]) == pytest.approx(p["spend mean"])
        assert row[-1][0] == p["distinguishing"]
    rows = page.tables["rows-table"]
    assert rows["head"] == ["row", "name", "spend", "visits", "segment"]
    assert [r[0][0] for r in rows["rows"]] == [str(i) for i in range(12)]
    assert [int(r[-1][0]) for r in rows["rows"]] == seg.labels.tolist()
    assert [r[1][0] for r in rows["rows"]] == df["name"].tolist()
    assert [float(r[2][1]) for r in rows["rows"]] == df["spend"].tolist()
    assert "All 12 rows" in page.text and "shops.csv" in page.text
    assert "k = 3 was given" in page.text and "sweep-table" not in page.tables
    assert "columns not used name" in page.text  # the Data section names the skipped text column
    assert {i["alt"].split()[0] for i in page.images} == {"scatter", "box"}
    assert "sortable" in segmentation_html(seg) and "data-table=\"rows-table\"" in segmentation_html(seg)


def test_segmentation_report_first_rows_and_the_rest(toy):
    _, seg = toy
    page = Page(segmentation_html(seg, max_rows=5))
    assert len(page.tables["rows-table"]["rows"]) == 5
    assert "The first 5 of 12 rows (7 more not shown)" in page.text
    rng = np.random.default_rng(0)
    big = kmeanskit.segment(pd.DataFrame({"v": rng.normal(size=1005)}), k=2)
    page = Page(segmentation_html(big))  # the default: the first 1,000 rows
    assert len(page.tables["rows-table"]["rows"]) == 1000
    assert "The first 1,000 of 1,005 rows (5 more not shown)" in page.text


def test_segmentation_report_with_sweep_missing_values_and_escaping():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(c, 0.3, size=(15, 2)) for c in (0.0, 4.0, 8.0)])
    df = pd.DataFrame(X, columns=["<b>x</b>", "y & z"])
    df.iloc[3, 0] = np.nan
    seg = kmeanskit.segment(df, k="auto", k_range=range(2, 6), impute="mean", random_state=0)
    text = segmentation_html(seg, source="<evil>.csv")
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text and "&lt;evil&gt;.csv" in text
    page = check_self_contained(text)
    assert "<b>x</b>: 1 filled with the column mean" in page.text
    sweep = page.tables["sweep-table"]
    assert [int(r[0][0]) for r in sweep["rows"]] == seg.sweep.k.tolist()
    assert "picked" in text and f"k = {seg.k}, chosen from k = 2, 3, 4, 5" in page.text
    for line in seg.sweep.explain().splitlines():
        assert " ".join(line.split()) in page.text
    assert len(page.images) == 3  # the sweep, the projection, the distributions


def test_segmentation_report_categorical_columns():
    """k-prototypes segments: each text column's most common level and its
    share, and the missing values per segment, as the profile has them."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 30), rng.normal(6, 1, 30)],
                       "shop": ["a"] * 25 + ["b"] * 5 + ["c"] * 30})
    df.loc[3, "x"] = np.nan
    try:
        seg = kmeanskit.segment(df, k=2, categorical="kprototypes", missing="ignore")
    except (TypeError, ValueError) as exc:  # k-prototypes segmentation not in this build
        pytest.skip(f"segment(categorical='kprototypes') unavailable: {exc}")
    page = check_self_contained(segmentation_html(seg))
    prof = page.tables["profile-table"]
    assert prof["head"][4:6] == ["shop (most common)", "missing values"]
    for row, (_, p) in zip(prof["rows"], seg.profile.iterrows()):
        assert row[4][0] == f"{p['shop mode']} ({p['shop share']:.0%})"
        assert int(row[5][0]) == int(p["missing values"])


def test_sweep_report():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.2, size=(12, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    sweep = kmeanskit.choose_k(X, range(1, 7), criteria="all", random_state=0)
    page = check_self_contained(sweep_html(sweep, source="blobs", facts=[("rows", "36")]))
    assert f"Recommended k = {sweep.best_k}" in page.text and "Choosing k: blobs" in page.text
    t = page.tables["sweep-table"]
    assert t["head"][:2] == ["k", "inertia"] and "gap" in t["head"]
    for r, inertia in zip(t["rows"], sweep.inertia):
        assert float(r[1][1]) == pytest.approx(inertia)
    votes = sweep.votes()
    for c, v in votes.items():
        assert (f"k = {v}" if v is not None else "no answer") in page.text
    silhouette = t["head"].index("silhouette")
    starred = [int(r[0][0]) for r in t["rows"] if r[silhouette][0].endswith("*")]
    assert starred == [votes["silhouette"]]


def test_sweep_report_labels_the_cosine_elbow(monkeypatch):
    # under metric="cosine" the elbow curve is a sum of 1 - cos, not of squared distances
    from kmeanskit import plotting

    labels = []
    real = plotting.elbow_plot
    monkeypatch.setattr(plotting, "elbow_plot",
                        lambda *a, ylabel=None, **kw: labels.append(ylabel) or real(*a, ylabel=ylabel, **kw))
    rng = np.random.default_rng(1)
    X = np.abs(np.concatenate([rng.normal(c, 0.2, size=(12, 3)) for c in ([5, 0, 0], [0, 5, 0])]))
    cos = kmeanskit.choose_k(X, range(1, 4), metric="cosine", random_state=0)
    euc = kmeanskit.choose_k(X, range(1, 4), random_state=0)
    assert cos.to_dict()["metric"] == "cosine" and euc.to_dict()["metric"] == "euclidean"
    sweep_html(cos, source="cos")
    sweep_html(euc, source="euc")
    assert labels == ["inertia (sum of 1 - cos)", plotting._LABELS["inertia"]]


def test_palette_report(tmp_path):
    rng = np.random.default_rng(0)
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = (200, 30, 30)
    img[:, 30:] = (20, 40, 220)
    img[:10, :10] = (250, 250, 250)
    img = np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "flag.png"
    Image.fromarray(img).save(path)
    pal = kmeanskit.image.dominant_colors(path, 3, random_state=0)
    text = palette_html(pal, path, quantized=kmeanskit.quantize(path, pal))
    page = check_self_contained(text)
    for h, c, p in zip(pal.hex, pal.colors, pal.proportions):
        assert f"{h} copy" in page.text and f"rgb({int(c[0])}, {int(c[1])}, {int(c[2])})" in page.text
        assert f"{p:.1%} of the pixels" in page.text
        assert f'data-copy="{h}"' in text
    assert "flag.png" in page.text and "60 x 40 pixels" in page.text
    alts = [i["alt"] for i in page.images]
    assert alts == ["swatch of the palette", "the photo flag.png", "flag.png repainted with the palette"]
    quant = page.images[2]["src"].split(",", 1)[1]
    q = np.asarray(Image.open(io.BytesIO(base64.b64decode(quant))).convert("RGB")).reshape(-1, 3)
    assert {"#{:02x}{:02x}{:02x}".format(*c) for c in np.unique(q, axis=0)} == set(pal.hex)
    # no photo: the palette alone
    only = check_self_contained(palette_html(Palette.from_colors(["#ff0000", "#0000ff"]), name="two"))
    assert len(only.images) == 1 and "Colours of two" in only.text


def test_outliers_report():
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0], [30.0], [-9.0]])
    km = kmeanskit.KMeans(2, init=[[1.0], [11.0]]).fit(X[:6])
    found = detect_outliers(km, X, threshold=5.0)
    frame = pd.DataFrame({"x": X[:, 0], "tag": list("abcdefgh")})
    labels = km.predict(X)
    page = check_self_contained(outliers_html(found, frame=frame, labels=labels, top=4, source="t.csv"))
    t = page.tables["top-table"]
    assert t["head"] == ["row", "score", "flagged", "cluster", "x", "tag"]
    assert [r[0][0] for r in t["rows"]] == ["6", "7", "0", "2"]
    assert [float(r[1][1]) for r in t["rows"]] == [19.0, 10.0, 1.0, 1.0]
    assert [r[2][0] for r in t["rows"]] == ["yes", "yes", "", ""]
    assert [r[5][0] for r in t["rows"]] == ["g", "h", "a", "c"]
    assert "2 of 8 rows (25.0%)" in page.text and "threshold 5 (flagged at or above)" in page.text


def test_to_html_methods_write_atomically(toy, tmp_path):
    _, seg = toy
    target = tmp_path / "r.html"
    assert seg.to_html(target, source="shops.csv") == target
    assert target.read_text(encoding="utf-8") == seg.to_html(source="shops.csv")
    with pytest.raises(FileExistsError):
        seg.to_html(target)
    seg.to_html(target, overwrite=True)
    sweep = kmeanskit.choose_k(np.arange(20.0).reshape(10, 2), range(1, 4), random_state=0)
    assert sweep.to_html().startswith("<!DOCTYPE html>")
    pal = Palette.from_colors(["#ff0000", "#00ff00"])
    assert "#00ff00" in pal.to_html(tmp_path / "p.html").read_text()
    found = detect_outliers(seg.model, seg._Z, threshold=1.0)
    assert "Outliers" in found.to_html(tmp_path / "o.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.html", "p.html", "r.html"]  # no temporaries left


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(c, 0.4, size=(20, 2)) for c in (0.0, 5.0, 10.0)])
    pd.DataFrame(X, columns=["a", "b"]).to_csv(d / "t.csv", index=False)
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, 15:] = (0, 90, 200)
    img[:5] = (240, 220, 10)
    Image.fromarray(img).save(d / "p.png")
    return d


@pytest.mark.parametrize("args, title", [
    (["cluster", "t.csv", "-k", "3"], "Segments of t.csv"),
    (["elbow", "t.csv", "-k", "1-5"], "Choosing k: t.csv"),
    (["colors", "p.png", "-k", "3"], "Colours of p.png"),
    (["quantize", "p.png", "-k", "3", "-o", "q.png"], "Colours of p.png"),
])
def test_cli_html(cli_dir, monkeypatch, args, title):
    monkeypatch.chdir(cli_dir)
    out = f"{args[0]}.html"
    runner = CliRunner()
    res = runner.invoke(main, args + ["--html", out, "--force"] + (["--json"] if args[0] != "colors" else []))
    assert res.exit_code == 0, res.output
    assert f"wrote {out} (HTML report)" in res.stderr
    if args[0] != "colors":
        assert out in json.loads(res.stdout)["written"]
    page = check_self_contained((cli_dir / out).read_text(encoding="utf-8"))
    assert title in page.text
    (cli_dir / "q.png").unlink(missing_ok=True)  # quantize's -o: only the report exists now
    again = runner.invoke(main, args + ["--html", out])  # an existing report needs --force
    assert again.exit_code == 1 and f"{out} exists; pass --force" in again.stderr


def test_cli_colors_html_per_image(cli_dir, monkeypatch):
    """Several images: one report each, named like the swatches."""
    monkeypatch.chdir(cli_dir)
    (cli_dir / "imgs").mkdir(exist_ok=True)
    for name, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        img = np.zeros((10, 10, 3), np.uint8)
        img[:] = colour
        img[:3] = (250, 250, 250)
        Image.fromarray(img).save(cli_dir / "imgs" / f"{name}.png")
    res = CliRunner().invoke(main, ["colors", "imgs", "-k", "2", "--json", "--html", "pal.html", "--force"])
    assert res.exit_code == 0, res.output
    for doc in json.loads(res.stdout):
        name = doc["image"].split("/")[-1]
        page = check_self_contained((cli_dir / f"pal-{name[:-4]}.html").read_text(encoding="utf-8"))
        assert f"Colours of {name}" in page.text
        assert re.findall(r"(#[0-9a-f]{6}) copy", page.text) == [c["hex"] for c in doc["colors"]]


def test_cli_outliers_html(cli_dir, monkeypatch):
    monkeypatch.chdir(cli_dir)
    runner = CliRunner()
    assert runner.invoke(main, ["cluster", "t.csv", "-k", "3", "--model", "m.kmk", "--force", "-q"]).exit_code == 0
    res = runner.invoke(main, ["outliers", "t.csv", "--model", "m.kmk", "--top", "5", "--json",
                               "--html", "o.html", "--force"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    page = check_self_contained((cli_dir / "o.html").read_text(encoding="utf-8"))
    rows = page.tables["top-table"]["rows"]
    assert [int(r[0][0]) for r in rows] == [t["row"] for t in doc["top"]]
    assert [float(r[1][1]) for r in rows] == pytest.approx([t["score"] for t in doc["top"]])
    assert f"{doc['n_outliers']} of 60 rows" in page.text and "Outliers in t.csv" in page.text


def test_cli_html_refuses_input_and_failure_writes_nothing(cli_dir, monkeypatch):
    monkeypatch.chdir(cli_dir)
    runner = CliRunner()
    res = runner.invoke(main, ["cluster", "t.csv", "-k", "3", "--html", "t.csv", "--force"])
    assert res.exit_code == 1 and "refusing to overwrite the input t.csv (--html)" in res.stderr
    res = runner.invoke(main, ["cluster", "t.csv", "-k", "999", "--html", "never.html"])
    assert res.exit_code == 1 and not (cli_dir / "never.html").exists()


def test_demo_writes_report(tmp_path):
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert str(tmp_path / "report.html") in doc["written"]
    page = check_self_contained((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert [c["hex"] for c in doc["colors"]] == re.findall(r"(#[0-9a-f]{6}) copy", page.text)
    assert "coffee.jpg" in page.text and len(page.images) == 4  # swatch, photo, quantized, elbow
    assert html.unescape("600 x 400 pixels") in page.text
