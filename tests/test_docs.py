"""Executable docs: every code block of README.md and docs/*.md runs as pasted,
and the results the pages state are those of the same run (#19).

What runs
---------
* Every page: README.md and every ``docs/*.md`` (found when the test runs, so
  a new page is picked up without touching this file).
* ```` ```python ```` blocks: run in page order in one namespace per page.
  A ``print(...)`` statement followed directly by ``#`` comment lines states
  its output: those lines (less the ``# ``) must be what it prints.
* ```` ```bash ````, ```` ```console ```` and ```` ```sh ```` blocks: every
  line that starts with ``kmeanskit`` (or ``$ kmeanskit``; ``\\`` continues a
  line, ``#`` starts a comment, ``> FILE`` sends stdout to FILE) runs through
  the CLI (click's test runner, the command's real code). Under a
  ``$ kmeanskit`` line, the lines up to the next ``$`` line are its expected
  output: each must appear in what the command printed (stdout and stderr;
  spaces at the ends ignored). Other lines (``make``, ``pip``, ...) are
  shown, not run. Plain ```` ``` ```` blocks (no language) are text: not run.
* Blocks and commands of a page run in page order (a command may write the
  file a later Python block reads), in a fresh temporary folder (the current
  directory) holding the bundled data as the pages use it: see
  :func:`sandbox`.
* A page states other figures in its prose (a count, a k, a share, a
  table, a constant): :data:`CLAIMS` checks them against the same run, the
  library's constants or a computation (heavier ones live in the module's
  own tests: tests/test_image_quantization.py, tests/test_search.py,
  tests/test_selection.py). A speed or memory figure instead names the
  ``make bench`` run it comes from
  (docs/benchmarks.md): :func:`test_speed_figures_name_their_bench_run`
  checks that every time and speed-up of :data:`SPEED_PAGES` sits in a
  paragraph or table that links to docs/benchmarks.md (on :data:`VERBATIM`
  pages, with each number written as there), and the page's CLAIMS compare
  the figures it cites with that run's tables.
* Every relative link of a page points into the repository, and a link to a
  section (``benchmarks.md#results``) finds its heading.

Skipping a block
----------------
Put ``<!-- docs-test: skip -->`` (an HTML comment, invisible on GitHub) on
the line just before the opening fence of a block that must not run here,
such as one that connects to a real cluster or downloads data; keep it rare
and say on the page what the block needs.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "kmeanskit" / "data"
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
SKIP_MARK = "<!-- docs-test: skip -->"
SHELL = {"bash", "console", "sh", "shell"}


# --- parsing ---------------------------------------------------------------------------------------

def blocks(text: str):
    """``(language, code, first line number, skipped)`` of every fenced block."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(`{3,})\s*([\w+-]*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        prev = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        out.append((lang, "\n".join(lines[i + 1:j]), i + 2, prev == SKIP_MARK))
        i = j + 1
    return out


def shell_commands(code: str):
    """``(argv, expected output lines)`` of the kmeanskit lines of a shell block."""
    logical, buf = [], ""
    for line in code.splitlines():
        if buf:
            buf += " " + line.strip()
        else:
            buf = line
        if buf.rstrip().endswith("\\"):
            buf = buf.rstrip()[:-1]
            continue
        logical.append(buf)
        buf = ""
    cmds = []
    for line in logical:
        s = line.strip()
        prompt = s.startswith("$ ")
        if prompt:
            s = s[2:].strip()
        if s.startswith("kmeanskit ") or s == "kmeanskit":
            cmds.append((shlex.split(s, comments=True), [], prompt))
        elif prompt:
            cmds.append((None, [], True))  # another program: shown, not run
        elif cmds and cmds[-1][2] and line.strip():
            cmds[-1][1].append(line.rstrip())
    return [(argv, expected) for argv, expected, _ in cmds if argv is not None]


def split_prints(code: str):
    """The block as chunks ``(source, expected output or None)``: a
    ``print(...)`` statement followed directly by ``#`` lines is checked."""
    tree = ast.parse(code)
    lines = code.splitlines()
    chunks, start = [], 0
    for node in tree.body:
        is_print = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "print")
        if not is_print:
            continue
        expected, k = [], node.end_lineno
        while k < len(lines) and lines[k].lstrip().startswith("#"):
            expected.append(re.sub(r"^\s*# ?", "", lines[k]))
            k += 1
        if expected:
            chunks.append(("\n".join(lines[start:node.lineno - 1]), None))
            chunks.append(("\n".join(lines[node.lineno - 1:node.end_lineno]), expected))
            start = k
    chunks.append(("\n".join(lines[start:]), None))
    return chunks


# --- the sandbox -----------------------------------------------------------------------------------

def sandbox(where: Path) -> None:
    """The files the pages use, in ``where`` (the current directory):

    * ``src/kmeanskit/data/``: the bundled data, as in a clone;
    * ``photo.jpg``: the bundled photograph (``coffee.jpg``), ``query.jpg`` and ``holiday.jpg`` its mirror image;
    * ``customers.csv``: the bundled wholesale customers table;
    * ``photos/``: ``photo.jpg``, a copy of it turned by 90 degrees, and four
      small generated images in plain colours (two in ``photos/more/``);
    * ``data.csv``, ``table.csv``, ``new_rows.csv``: the bundled iris table.
    """
    from PIL import Image

    dest = where / "src" / "kmeanskit" / "data"
    dest.mkdir(parents=True)
    for f in DATA.iterdir():
        if f.is_file():
            shutil.copy(f, dest / f.name)
    shutil.copy(DATA / "coffee.jpg", where / "photo.jpg")
    with Image.open(DATA / "coffee.jpg") as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(where / "query.jpg")
    shutil.copy(where / "query.jpg", where / "holiday.jpg")
    shutil.copy(DATA / "wholesale_customers.csv", where / "customers.csv")
    for name in ("data.csv", "table.csv", "new_rows.csv"):
        shutil.copy(DATA / "iris.csv", where / name)
    photos = where / "photos"
    (photos / "more").mkdir(parents=True)
    shutil.copy(DATA / "coffee.jpg", photos / "photo.jpg")
    with Image.open(DATA / "coffee.jpg") as im:
        im.rotate(90, expand=True).save(photos / "turned.jpg")
    rng = np.random.default_rng(0)
    for i, name in enumerate(["red.png", "green.png", "more/blue.png", "more/grey.png"]):
        base = np.array([[200, 40, 30], [40, 180, 60], [30, 50, 200], [128, 128, 128]][i])
        px = np.clip(base + rng.normal(scale=12, size=(32, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(px).save(photos / name)


# --- running a page --------------------------------------------------------------------------------

def run_cli(argv, where: Path):
    """Run one ``kmeanskit ...`` line; returns its output (stdout + stderr)."""
    from kmeanskit.cli import main

    args = argv[1:]
    target = None
    if ">" in args:
        i = args.index(">")
        target, args = args[i + 1], args[:i]
    if any(t in ("|", "<", "&&", ";") for t in args):
        raise AssertionError(f"docs-test runs one kmeanskit command per line, not {' '.join(argv)!r}")
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, f"`{' '.join(argv)}` failed ({r.exit_code}):\n{r.output}"
    if target is not None:
        (where / target).write_text(r.stdout)
    return r.output


def run_page(page: Path, where: Path) -> dict:
    """Run every block of ``page`` in order; returns the Python namespace,
    with the CLI outputs under ``"__cli__"`` (a list of (argv, output))."""
    import matplotlib.pyplot as plt

    ns = {"__name__": "__docs__"}
    cli = ns["__cli__"] = []
    for lang, code, line, skipped in blocks(page.read_text()):
        if skipped:
            continue
        where_ = f"{page.relative_to(ROOT)}:{line}"
        if lang == "python":
            for src, expected in split_prints(code):
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    try:
                        exec(compile(src, where_, "exec"), ns)
                    except Exception as exc:
                        raise AssertionError(f"{where_}: the block fails as pasted: "
                                             f"{type(exc).__name__}: {exc}") from exc
                if expected is not None:
                    got = [ln.rstrip() for ln in buf.getvalue().rstrip("\n").splitlines()]
                    assert got == [ln.rstrip() for ln in expected], (
                        f"{where_}: `{src.strip()}` prints\n" + "\n".join(got)
                        + "\nbut the page says\n" + "\n".join(expected))
        elif lang in SHELL:
            for argv, expected in shell_commands(code):
                out = run_cli(argv, where)
                cli.append((argv, out))
                have = {ln.strip() for ln in out.splitlines()}
                missing = [ln for ln in expected if ln.strip() not in have]
                assert not missing, (f"{where_}: `{' '.join(argv)}` no longer prints\n"
                                     + "\n".join(missing) + "\nit printed:\n" + out)
        plt.close("all")
    return ns


# --- figures stated in prose -----------------------------------------------------------------------

def stated(text: str, pattern: str):
    """The groups of ``pattern`` in the page (which must state it); a space
    in ``pattern`` matches any white space (prose wraps), case is ignored."""
    m = re.search(pattern.replace(" ", r"\s+"), text, flags=re.S | re.I)
    assert m, f"the page no longer states {pattern!r}"
    return m.groups()


BENCH = ROOT / "docs" / "benchmarks.md"


def section(text: str, heading: str) -> str:
    """The text under the first Markdown heading that starts with ``heading``
    (``"### Suite `lloyd`"``), up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(heading))
    level = len(heading) - len(heading.lstrip("#"))
    out = []
    for ln in lines[i + 1:]:
        m = re.match(r"^(#+) ", ln)
        if m and len(m.group(1)) <= level:
            break
        out.append(ln)
    return "\n".join(out)


def rounds_to(shown: str, value: float) -> bool:
    """Whether ``value`` shown to the decimals of ``shown`` (``"0.25"``) reads ``shown``."""
    shown = shown.replace(",", "")
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(value - float(shown)) <= 0.5 * 10 ** -decimals + 1e-9 * max(1.0, abs(value))


def md_table(text: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header line starts with ``header``."""
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    rows = []
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def claims_tables(text, ns):
    """docs/tables.md: the channel table, the agreement count, the k = 4 story."""
    import pandas as pd

    from kmeanskit.datasets import WHOLESALE_SPENDING, load_wholesale_customers

    df = load_wholesale_customers(as_frame=True)
    seg = ns["seg"]
    tab = pd.crosstab(seg.labels, df["Channel"])
    rows = md_table(text, "| cluster | Horeca | Retail |")
    assert [[int(c) for c in r] for r in rows] == [[c, *tab.loc[c].tolist()] for c in tab.index]
    agree = int(sum(tab.max(axis=1)))
    n, share = stated(text, r"(\d+) of 440 clients \((\d+)%\) fall in the segment of their channel")
    assert int(n) == agree and int(share) == round(100 * agree / 440)
    k4 = __import__("kmeanskit").segment(df, 4, columns=list(WHOLESALE_SPENDING), log=True)
    ch = pd.crosstab(k4.labels, df["Channel"])
    c, size, retail = (int(v) for v in stated(text, r"cluster (\d) \((\d+) clients, (\d+) of them retail\)"))
    assert (k4.sizes[c], ch.loc[c, 2]) == (size, retail)
    c2, horeca, size2 = (int(v) for v in stated(text, r"cluster (\d) \((\d+) of (\d+) Horeca\)"))
    assert (ch.loc[c2, 1], k4.sizes[c2]) == (horeca, size2)
    claims_penguin_outliers(text, ns)
    claims_tables_prose(text, ns)


def claims_tables_prose(text, ns):
    """docs/tables.md: the figures of its prose outside the tables: the data, the raw-amounts sweep,
    the medians and votes of the walkthrough, the k = 4 story, the outlier rows, the options' defaults."""
    import inspect
    import math

    import pandas as pd

    import kmeanskit
    from kmeanskit.anomaly import detect_outliers
    from kmeanskit.cli import main
    from kmeanskit.datasets import WHOLESALE_SPENDING, load_penguins, load_wholesale_customers
    from kmeanskit.tables import MAX_AUTO_LEVELS, segmentation

    df = load_wholesale_customers(as_frame=True)
    spend = list(WHOLESALE_SPENDING)
    n, six = stated(text, r"UCI \*Wholesale customers\* table \((\d+) clients of a Portuguese wholesale distributor.*?"
                          r"annual spending in (six) product families")
    assert int(n) == len(df) and six == "six" and len(spend) == 6
    assert sorted(df["Channel"].unique()) == [1, 2] and sorted(df["Region"].unique()) == [1, 2, 3]
    lo, hi, med = (int(v.replace(",", "")) for v in stated(
        text, r"Fresh runs from ([\d,]+) to ([\d,]+) with a median of ([\d,]+)"))
    assert (lo, hi, med) == (df["Fresh"].min(), df["Fresh"].max(), df["Fresh"].median())
    k_raw, deli = stated(text, r"On the raw amounts the sweep picks k = (\d+) and one cluster is a single client "
                               r"\(the one spending ([\d,]+) on delicatessen\)")
    raw = kmeanskit.segment(df, k="auto", columns=spend)
    single = [c for c in range(raw.k) if raw.sizes[c] == 1]
    assert raw.k == int(k_raw) and len(single) == 1
    assert df.loc[raw.labels == single[0], "Delicassen"].tolist() == [int(deli.replace(",", ""))]
    seg = ns["seg"]
    votes = seg.sweep.votes()
    assert stated(text, r"Two segments win, by (two) of the four criteria \(silhouette and Calinski-Harabasz; the "
                        r"elbow picks (\d) and Davies-Bouldin (\d), one vote each") == (
        "two", str(votes["elbow"]), str(votes["davies_bouldin"]))
    assert seg.k == 2 and votes["silhouette"] == votes["calinski_harabasz"] == 2
    g0, g1 = stated(text, r"\(cluster 0: median grocery spending ([\d,]+)\).*?\(cluster 1: median grocery ([\d,]+)\)")
    assert [float(g.replace(",", "")) for g in (g0, g1)] == seg.profile["Grocery median"].tolist()
    assert all(len(s.split(", ")) == 3 for s in seg.profile["distinguishing"])  # "the three features"
    k4 = kmeanskit.segment(df, 4, columns=spend, log=True)
    ch = pd.crosstab(k4.labels, df["Channel"])
    c3, n3 = (int(v) for v in stated(text, r"cluster (\d) \((\d+) clients, both channels\)"))
    assert k4.sizes[c3] == n3 and (ch.loc[c3] > 0).all()
    c0, n0, sd = stated(text, r"cluster (\d) holds (\d+) very small clients \(Fresh (\d) sd below the mean\)")
    z = k4.profile_z.loc[int(c0)]
    assert k4.sizes[int(c0)] == int(n0) and z["Fresh"] == z.min() and round(-z["Fresh"]) == int(sd)
    # the outlier rows of the wholesale table
    row, line = (int(v) for v in stated(text, r"\(row (\d+) is the (\d+)th line of the file\)"))
    lines = (DATA / "wholesale_customers.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert [int(lines[line - 1].split(",")[header.index(c)]) for c in spend] == df.loc[row, spend].tolist()
    amounts = [int(v) for v in stated(text, r"row 154 spends ([\d /]+), row 75")[0].split(" / ")]
    assert amounts == df.loc[154, spend].tolist()
    assert df[spend].sum(axis=1).idxmin() == 154  # "the most unusual clients are the tiny ones"
    g, dp = (int(v) for v in stated(text, r"row 75 spends (\d+) on groceries and\s+(\d+) on detergents"))
    assert (df.loc[75, "Grocery"], df.loc[75, "Detergents_Paper"]) == (g, dp)
    default = float(stated(text, r"flags the top fraction \(default ([\d.]+), i.e.")[0])
    assert f"`ceil({default} n)` rows" in text
    assert detect_outliers(ns["km"], ns["Z"]).n_outliers == math.ceil(default * len(df))
    outliers = {p.name: p for p in main.commands["outliers"].params}
    assert f"(default {default})" in outliers["contamination"].help
    # the options' defaults
    cluster = {p.name: p for p in main.commands["cluster"].params}
    assert stated(text, r"`--k-range` \(default (\d+-\d+)\)")[0] == cluster["k_range"].default
    lo_k, hi_k = (int(v) for v in cluster["k_range"].default.split("-"))
    assert inspect.signature(segmentation.segment).parameters["k_range"].default == range(lo_k, hi_k + 1)
    assert int(stated(text, r"with `--seed` \(default (\d+)\)")[0]) == cluster["seed"].default
    levels = re.findall(r"at most\s+(\d+)\s+levels", text)
    assert len(levels) == 2 and all(int(v) == MAX_AUTO_LEVELS for v in levels)
    # the penguins
    penguins = load_penguins()
    measures = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    n_p, no_meas, no_sex = (int(v) for v in stated(
        text, r"`sex` of (\d+) penguins; (\d+) rows have no measurements and (\d+) no `sex`"))
    assert (n_p, no_meas, no_sex) == (len(penguins), penguins[measures].isna().all(axis=1).sum(),
                                      penguins["sex"].isna().sum())
    assert round(ns["pseg"].model.gamma_, 6) == float(stated(text, r"scaled numeric columns \(([\d.]+) here\)")[0])
    # what tests/test_missing.py checks
    probe = (ROOT / "tests" / "test_missing.py").read_text()
    lo_r, hi_r = (int(v) for v in stated(text, r"On synthetic blobs with (\d+)-(\d+) % of the values removed"))
    assert f'@pytest.mark.parametrize("rate", [{lo_r / 100}, 0.2, {hi_r / 100}])\n' \
           "def test_recovery_at_least_mean_imputation_and_dropping" in probe
    sets, within, below = stated(text, r"On (six) sets of blobs where half the rows lost about half their values, the "
                                       r"incomplete rows' mean squared score is within (\d+) % of the complete rows' "
                                       r"with the rescaling, and below (\d+) % of it without")
    assert '@pytest.mark.parametrize("seed", range(6))\ndef test_rescaling_makes_incomplete_rows_comparable' in probe
    assert sets == "six"
    lo_s, hi_s = (float(v) for v in re.search(
        r"assert ([\d.]+) < np.mean\(s\[half\] \*\* 2\) / np.mean\(s\[~half\] \*\* 2\) < ([\d.]+)", probe).groups())
    assert 1 - int(within) / 100 <= lo_s < 1 < hi_s <= 1 + int(within) / 100
    assert f"assert np.mean(raw[half] ** 2) / np.mean(raw[~half] ** 2) < {int(below) / 100}" in probe


def claims_penguin_outliers(text, ns):
    """docs/tables.md, outliers in mixed tables with gaps: the story of the top rows and of row 3."""
    from kmeanskit.datasets import load_penguins

    penguins, pk, found, P = load_penguins(), ns["pk"], ns["found"], ns["P"]
    labels = pk.predict(P)
    top = found.indices.tolist()
    row, mass = (int(v.replace(",", "")) for v in stated(
        text, r"row (\d+), is the one Chinstrap the clustering put with the Gentoo males: a male of ([\d,]+) g from Dream"))
    assert row == top[0] and penguins.loc[row, ["species", "sex", "island"]].tolist() == ["Chinstrap", "male", "Dream"]
    assert penguins.loc[row, "body_mass_g"] == mass
    seg = penguins["species"][labels == labels[row]]
    assert (seg == "Chinstrap").sum() == 1 and seg.value_counts().index[0] == "Gentoo"
    assert pk.cluster_modes_[labels[row]].tolist() == ["Biscoe", "male"]
    depth = float(stated(text, r"with a bill ([\d.]+) mm deep")[0])
    assert penguins.loc[row, "bill_depth_mm"] == depth > penguins.loc[penguins.species == "Gentoo", "bill_depth_mm"].max()
    row2, length, mass2 = stated(text, r"Row (\d+) is the Gentoo male with the longest bill in the table "
                                       r"\(([\d.]+) mm\) and ([\d,]+) g")
    assert int(row2) == top[1] and penguins.loc[int(row2), ["species", "sex"]].tolist() == ["Gentoo", "male"]
    assert penguins.loc[int(row2), "bill_length_mm"] == float(length) == penguins["bill_length_mm"].max()
    assert penguins.loc[int(row2), "body_mass_g"] == int(mass2.replace(",", ""))
    stated(text, r"The next ones are long-billed Chinstraps at the edge of the segment they share with the Adelies")
    chin = penguins.loc[penguins.species == "Chinstrap", "bill_length_mm"]
    for r in top[2:5]:
        assert penguins.loc[r, "species"] == "Chinstrap" and penguins.loc[r, "bill_length_mm"] > chin.quantile(0.75)
        assert penguins["species"][labels == labels[r]].value_counts().index[0] == "Adelie"
    n_gaps, r3, island, gamma = stated(text, r"The (\d+) rows with gaps are scored on what they have. Row (\d) "
                                             r"has only its island \((\w+), no segment's most common island\) left "
                                             r"of the six columns: its distance to every prototype is one differing "
                                             r"category, `gamma` = ([\d.]+)")
    assert int(n_gaps) == int(P.isna().any(axis=1).sum()) and penguins.loc[int(r3), "island"] == island
    assert island not in pk.cluster_modes_[:, 0] and round(pk.gamma_, 6) == float(gamma)


def claims_choose_k(text, ns):
    """docs/choose_k.md: the defaults and constants its prose states, and its speed paragraph against
    the named run (docs/benchmarks.md, suite `sweep` of results-23). The hit-rate table and the ties:
    tests/test_selection.py::test_choose_k_page_hit_rates_and_ties (180 sweeps)."""
    import inspect
    import math

    from kmeanskit import metrics, selection
    from kmeanskit._init import n_local_trials

    sig = inspect.signature(selection.choose_k).parameters
    assert sig["k"].default == range(1, 11)
    assert stated(text, r"the chord from k = (\d+) to k = (\d+)") == ("1", "10")

    def num(pattern):
        return int(stated(text, pattern)[0].replace(",", ""))

    assert num(r"Up to `silhouette_max_exact` \(([\d,]+)\) rows") == sig["silhouette_max_exact"].default \
        == metrics.SILHOUETTE_MAX_EXACT
    assert num(r"a reference set of at most ([\d,]+) rows") == metrics.SILHOUETTE_MAX_REFERENCE
    assert num(r"`silhouette_samples` \(([\d,]+)\) rows") == sig["silhouette_samples"].default \
        == metrics.SILHOUETTE_N_SAMPLES
    assert num(r"`B = gap_references` \((\d+)\)") == sig["gap_references"].default
    assert num(r"\(`gap_max_samples`, ([\d,]+)\)") == sig["gap_max_samples"].default
    stated(text, r"\(`2 \+ 2 ln k_max`, at least what each smaller k would use\)")
    assert all(n_local_trials(k) == 2 + int(2 * math.log(k)) for k in range(1, 5000))
    # duplicate merging: from 10,000 rows of whole numbers, when it at least halves them
    rows, halves = stated(text, r"When there are at least ([\d,]+) rows of whole numbers \(image pixels, counts\) "
                                r"and merging identical rows at least (halves) them")
    m = int(rows.replace(",", ""))
    halved = np.repeat(np.arange(m // 2, dtype=np.float64), 2)[:, None]  # m rows, m / 2 distinct
    assert selection._dedupe(halved, None) is not None and selection._dedupe(halved[:-1], None) is None
    assert selection._dedupe(halved + 0.5, None) is None  # not whole numbers
    less = np.r_[halved[:-2, 0], [-1.0, -2.0]][:, None]  # m rows, m / 2 + 1 distinct
    assert halves == "halves" and selection._dedupe(less, None) is None
    # the subsample warm start
    big, sub, seedings, best = (int(v.replace(",", "")) for v in stated(
        text, r"\(`presample=\"auto\"`: more than ([\d,]+) rows remain\)\. Each k is swept on a uniform subsample "
              r"of ([\d,]+) rows with (\d+) shared seedings; the (\d+) best distinct subsample solutions"))
    assert (big, sub, seedings, best) == (selection.PRESAMPLE_MIN_ROWS, selection.PRESAMPLE_ROWS,
                                          selection.PRESAMPLE_RESTARTS, selection.PRESAMPLE_REFINE)
    stated(text, r"`kmeanskit.selection.bench_sweep\(X\)` is the sweep measured by `make bench`: k = 1..10 with "
                 r"inertia and knee only")
    assert inspect.signature(selection.bench_sweep).parameters["k"].default == range(1, 11)
    small, sub2 = (int(v.replace(",", "")) for v in stated(
        text, r"\(rows x features x k below ([\d,]+), and the ([\d,]+)-row subsample\) on one thread"))
    assert (small, sub2) == (selection.SMALL_PASS, selection.PRESAMPLE_ROWS)
    # the speed paragraph: the `sweep` suite of results-23
    suite = section(BENCH.read_text(), "### Suite `sweep`")
    assert "results-23" in stated(text, r"\[the (results-\d+) run\]\(benchmarks.md#suite-sweep-outbench(results-\d+)md\)")[0]
    n, = stated(text, r"on the benchmark's ([\d,]+) pixels, d = 3\)")
    assert f"sweep on pixels (n={n}, d=3)" in suite
    ours, theirs, ratio = stated(text, r"took ([\d.]+) s \(median of 3\) against ([\d.]+) s for ten default "
                                       r"`sklearn.cluster.KMeans` fits \(ratio ([\d.]+)\)")
    assert f"sweep (median of 3): {ours} s; ten default scikit-learn fits: {theirs} s; ratio {ratio}" in suite
    rel = [float(r[3]) for r in md_table(suite, "| k | kmeanskit inertia |")]
    lo, hi = stated(text, r"every k's inertia was lower than scikit-learn's \(by ([\d.e-]+) to (\d+) %\)")
    assert len(rel) == 10 and max(rel) < 0
    assert math.isclose(float(lo), -max(rel), rel_tol=0.02) and int(hi) == round(-100 * min(rel))


def claims_text(text, ns):
    """docs/text.md: the sizes its prose states (the run's matrix and sweeps, and the benchmark's TF-IDF
    matrix of docs/benchmarks.md, "Sparse TF-IDF") and the defaults it names. The run's own figures are
    also checked by tests/test_sparse.py::test_text_page_examples_and_figures."""
    import inspect

    from kmeanskit import _sparse, selection
    from kmeanskit.metrics import SILHOUETTE_MAX_EXACT

    gib = 2 ** 30
    docs, terms, full = (int(v.replace(",", "")) for v in stated(
        text, r"\(([\d,]+) documents x ([\d,]+) terms would take (\d+) GiB as float64\)"))
    bench = section(BENCH.read_text(), "## Sparse TF-IDF")
    assert re.search(rf"{docs:,}\s+documents x {terms:,} terms", bench)
    assert full == round(docs * terms * 8 / gib)
    stated(text, rf"Speed and memory on a {docs:,} x {terms:,} TF-IDF matrix against scikit-learn: "
                 r"`make bench --only sparse`, figures in \[benchmarks\]\(benchmarks.md#sparse-tf-idf\)")
    X = ns["X"]
    n_docs, three = stated(text, r"A small corpus of (\d+) documents on (three) topics")
    assert X.shape[0] == int(n_docs) == len(ns["docs"]) and three == "three" and len(ns["topics"]) == 3
    n, d, nnz = stated(text, r"CSR matrix of (\d+) documents x (\d+) terms \(the topics' words.*?\), ([\d.]+) non-zeros a row")
    assert X.shape == (int(n), int(d)) == (int(n_docs), sum(len(w) for w in ns["topics"].values()))
    assert nnz == f"{X.nnz / X.shape[0]:.1f}"
    sig = inspect.signature(selection.choose_k).parameters
    assert int(stated(text, r"`silhouette_max_exact`\s+\(([\d,]+)\) rows")[0].replace(",", "")) == \
        SILHOUETTE_MAX_EXACT == sig["silhouette_max_exact"].default
    ref_rows, ref_terms, ref_gib = stated(text, r"\(([\d,]+) rows x ([\d,]+) terms is ([\d.]+) GiB\)")
    assert int(ref_rows.replace(",", "")) == sig["gap_max_samples"].default and int(ref_terms.replace(",", "")) == terms
    assert ref_gib == f"{sig['gap_max_samples'].default * terms * 8 / gib:.1f}"
    gap = ns["gap"]
    assert int(stated(text, r"the gap keeps rising up to k = (\d+)")[0]) == gap.k[-1] and np.all(np.diff(gap.gap) > 0)
    assert gap.votes() == {"gap": None}
    assert int(stated(text, r"Hamerly's bounds \(the default from (\d+)\s+clusters\)")[0]) == _sparse.AUTO_HAMERLY_MIN_K
    assert _sparse.resolve_algorithm("auto", 100, _sparse.AUTO_HAMERLY_MIN_K) == "hamerly"
    assert _sparse.resolve_algorithm("auto", 100, _sparse.AUTO_HAMERLY_MIN_K - 1) == "lloyd"
    stated(text, r"centres \(to (1e-10) in float64\) are scikit-learn's")
    assert "rtol=0, atol=1e-10" in text


def claims_readme(text, ns):
    """README.md: the tables walkthrough's summary agrees with docs/tables.md's run."""
    k, agree = stated(text, r"`-k auto` picks (\d) segments \((\d) of 4 criteria agree")
    n = int(stated(text, r"for (\d+) of\s+440 clients")[0])
    seg = ns["seg"]
    assert int(k) == seg.k
    assert int(agree) == list(seg.sweep.votes().values()).count(seg.k)
    import pandas as pd

    from kmeanskit.datasets import load_wholesale_customers

    tab = pd.crosstab(seg.labels, load_wholesale_customers(as_frame=True)["Channel"])
    assert n == int(sum(tab.max(axis=1)))
    others = sorted(int(v) for v in stated(text, r"the other two pick (\d) and (\d)\)"))
    votes = list(seg.sweep.votes().values())
    assert others == sorted(v for v in votes if v != seg.k)
    apart = stated(text, r'\("(Detergents_Paper [+-][\d.]+ sd, Grocery [+-][\d.]+ sd, Milk [+-][\d.]+ sd)"\)')[0]
    assert apart in seg.profile["distinguishing"].tolist()
    # the labels' memory: compact int8 against int32 labels next to float32 pixels
    from kmeanskit._solver import label_dtype

    small, big, pixels = stated(text, r"([\d.]+) MiB instead of ([\d.]+) MiB for 2,000,000\s+rows, next to ([\d.]+) MiB")
    mib = 2_000_000 / 2 ** 20
    assert (float(small), float(big), float(pixels)) == (
        round(mib * label_dtype(8).itemsize, 1), round(mib * 4, 1), round(mib * 12, 1))
    # figures other pages assert (docs/models.md's table)
    raw, aff = (md_table((ROOT / "docs" / "models.md").read_text(), "| features | accuracy |")[i][1] for i in (0, 3))
    assert stated(text, r"30 cluster affinities keep ([\d.]+) of the ([\d.]+) accuracy") == (aff.split()[0], raw)
    # constants the prose states
    from kmeanskit import _init, _solver
    from kmeanskit.tables import features

    words = {"four": 4, "five": 5, "six": 6}
    from kmeanskit.core import resolve_n_init

    pp, rnd = (int(v) for v in stated(text, r"`\"auto\"` = (\d+) for the k-means\+\+ seedings, (\d+) for random\)"))
    assert (pp, rnd) == (resolve_n_init("k-means++", "auto", "fit"), resolve_n_init("random", "auto", "fit"))
    assert words[stated(text, r"`algorithm=` is one of (\w+) exact algorithms")[0]] == len(_solver.ALGORITHMS)
    n_min, k_min = (int(v.replace(",", "")) for v in stated(text, r"is Hamerly from ([\d,]+) rows and (\d+) clusters"))
    assert (n_min, k_min) == (_solver.AUTO_HAMERLY_MIN_N, _solver.AUTO_HAMERLY_MIN_K)
    assert_wide_rule(stated(text, r"\((\d+) clusters on (\d+) to (\d+)\s+features\)"))
    factor, lo, per_k, lo2, per_k2, iters = stated(
        text, r"more than (twice)\s+max\(([\d,]+), (\d+) k\) rows\) draws them from a sample of max\(([\d,]+), (\d+) k\) "
              r"rows and runs the first (\d+) iterations")
    assert factor == "twice" and _init.AUTO_SAMPLE_FACTOR == 2 and lo == lo2 and per_k == per_k2
    assert (int(lo.replace(",", "")), int(per_k), int(iters)) == (
        _init.SAMPLE_MIN, _init.SAMPLE_PER_CLUSTER, _init.SAMPLE_REFINE_ITERS)
    design = section(BENCH.read_text(), "## Measurements behind design choices")
    ours, greedy = stated(text, r"\(8 seeds:\s+(-[\d.e-]+) relative on whitened pixels\).*?but a ([\d.e-]+) higher mean")
    assert f"random observations {ours}, greedy k-means++ +{greedy}" in design
    from kmeanskit.datasets import WHOLESALE_SPENDING

    clients, families = stated(text, r"CC BY 4.0; (\d+) clients' annual spending on (\w+) product families")
    assert int(clients) == len(load_wholesale_customers(as_frame=True)) and words[families] == len(WHOLESALE_SPENDING)
    assert int(stated(text, r"Text columns \(up to (\d+) levels\)")[0]) == features.MAX_AUTO_LEVELS
    photos = re.findall(r"^\*\*[\w.-]+\.(?:jpg|png)\*\* \([\d.]+ MP\)$", (ROOT / "docs" / "images.md").read_text(), re.M)
    assert words[stated(text, r"On (\w+)\s+photos at k = 3, 5, 8, 16")[0]] == len(photos) + 1  # and the 12 MP one
    claims_readme_speed(text)


def claims_readme_speed(text):
    """README.md, "Speed" and the test-suite line: each figure is the named `make bench` run's
    (docs/benchmarks.md), as rounded on the page."""
    b = BENCH.read_text()
    lloyd = section(b, "### Suite `lloyd`")
    pix10 = {r[0]: r for r in md_table(section(lloyd, "#### pixels (n=2,000,000, d=3, k=8, float32): 10 iterations"),
                                      "| library |")}
    assert rounds_to(stated(text, r"k = 8: ([\d.]+) ms per Lloyd iteration")[0], float(pix10["kmeanskit lloyd"][1]))
    assert rounds_to(stated(text, r"against scikit-learn's ([\d.]+) ms")[0], float(pix10["sklearn lloyd"][1]))
    assert rounds_to(stated(text, r"ms \(([\d.]+) x\); a default fit")[0], float(pix10["kmeanskit lloyd"][5]))
    default = md_table(section(b, "### Suite `default`"), "| workload | library |")
    dflt = {(r[0], r[1]): r for r in default}
    fit, sk, lower = stated(text, r"a default fit in\s+([\d.]+) s \(scikit-learn ([\d.]+) s\) with a ([\d.]+) % lower")
    assert rounds_to(fit, float(dflt[("pixels", "kmeanskit")][2])) and rounds_to(sk, float(dflt[("pixels", "sklearn")][2]))
    assert rounds_to(lower, -100 * float(dflt[("pixels", "kmeanskit")][6]))
    mem = {r[0]: r for r in md_table(section(b, "### Suite `memory`"), "| library | input (MiB) |")}
    extra, share, labels = stated(text, r"([\d.]+) MiB of extra memory \(([\d.]+) % of the input\), ([\d.]+) of\s+them")
    assert rounds_to(extra, float(mem["kmeanskit"][4])) and share + "%" == mem["kmeanskit"][5]
    assert rounds_to(labels, float(mem["kmeanskit"][6]))
    assert rounds_to(stated(text, r"scikit-learn: ([\d.]+) MiB\)")[0], float(mem["sklearn"][4]))
    busy = {r[0]: r for r in md_table(section(b, "### Suite `shared`"), "| library |")}
    assert rounds_to(stated(text, r"busy, ([\d.]+) x slower")[0], float(busy["kmeanskit auto"][3]))
    summary = md_table(section(lloyd, "#### Summary"), "| workload | kmeanskit |")
    conv = {r[0]: float(r[3]) for r in summary if r[1] == "kmeanskit auto"}
    lo, hi, low_d = stated(text, r"from the same start, ([\d.]+)-([\d.]+) x the fastest peer.*?, ([\d.]+) x on")
    assert (lo, hi) == (f"{min(v for w, v in conv.items() if w != 'low_d'):.2f}",
                        f"{max(v for w, v in conv.items() if w != 'low_d'):.2f}")
    assert rounds_to(low_d, conv["low_d"])
    ours = [r for r in default if r[1] == "kmeanskit"]
    lo, hi = stated(text, r"default fits \(seeding included\): ([\d.]+)-([\d.]+) x scikit-learn's time")
    assert rounds_to(lo, min(float(r[5]) for r in ours)) and rounds_to(hi, max(float(r[5]) for r in ours))
    lo, hi = stated(text, r"lower\s+mean inertia on every one \(by ([\d.]+)-([\d.]+) %\)")
    gains = [-100 * float(r[6]) for r in ours]
    assert min(gains) > 0 and rounds_to(lo, min(gains)) and rounds_to(hi, max(gains))
    assert all(float(r[7]) < 1 for r in ours)  # "faster than scikit-learn-intelex on every one"
    sweep = section(b, "### Suite `sweep`")
    ours_s, theirs = stated(text, r"2,000,000 pixels: ([\d.]+) s against ([\d.]+) s for ten scikit-learn fits")
    assert f"sweep (median of 3): {ours_s} s; ten default scikit-learn fits: {theirs} s" in sweep
    scipy = section(b, "### Suite `scipy`")
    speedups = re.findall(r"\| speed-up \(scipy / kmeanskit\) \| ([\d.]+) \|", scipy)
    white, raw = stated(text, r"`kmeanskit.vq.kmeans\(pixels, 8\)`: (\d+) x \(whitened.*?and (\d+) x \(raw\)")
    assert (int(white), int(raw)) == tuple(round(float(v)) for v in speedups)
    images = {(r[0], r[1]): r for r in md_table(section(b, "### Suite `images`"), "| method | k |")}
    lo, hi, mc = stated(text, r"12-megapixel photo: ([\d.]+)-([\d.]+) s after decoding, against ([\d.]+) s for")
    assert (lo, hi) == (f"{float(images[('kmeanskit-rgb', '8')][2]):.2f}", f"{float(images[('kmeanskit-lab', '8')][2]):.2f}")
    assert rounds_to(mc, float(images[("pillow-mediancut", "8")][2]))
    lab8, dec = stated(text, r"in ([\d.]+) s after a ([\d.]+) s decode for a\s+12-megapixel photo at k = 8")
    assert lab8 == images[("kmeanskit-lab", "8")][2] and f"Pillow decode {dec} s" in section(b, "### Suite `images`")
    # the first fit: the engine redesign's "First fit" runs
    first = b[b.index("**First fit**"):b.index("**Test suite**")]
    colds = [float(v) for v in re.findall(r"(\d+\.\d) / (\d+\.\d) s after", first)[0]]
    warm = float(re.search(r"(\d+\.\d+) s after\.", first).group(1))
    lo, hi, w = stated(text, r"compiles the kernels \((\d+)-(\d+) s on this 2-core machine, cached afterwards: ([\d.]+) s")
    assert (int(lo), int(hi)) == (int(min(colds)) // 5 * 5, -(-int(max(colds)) // 5) * 5) and rounds_to(w, warm)
    # the test suite after issues 16-22
    suite = b[b.index("**Test suite after issues 16-22**"):]
    n, secs, ci, pytest_min = stated(text, r"\(([\d,]+) tests, measured on the 2-core\s+reference machine on 2026-12-\d\d: "
                                           r"about (\d+) s of pytest.*?; ([\d.]+) minutes for `bash .ci/run`.*?of which "
                                           r"([\d.]+) minutes of pytest")
    assert f"{n} passed" in suite
    assert round(int(re.search(r"`pytest -n 2`: (\d+) s", suite).group(1)), -1) == int(secs)

    def minutes(s):
        m_, s_ = s.split(":")
        return int(m_) + int(s_) / 60

    ci_time, py_time = re.search(r"cold\s+numba cache; chromium already installed\): (\d+:\d+), of which pytest (\d+:\d+)",
                                 suite).groups()
    assert rounds_to(ci, minutes(ci_time)) and rounds_to(pytest_min, minutes(py_time))


def claims_engine(text, ns):
    """docs/engine.md: the constants and counts its prose states, and what it says of the named
    `make bench` run (its speed figures: test_speed_figures_name_their_bench_run)."""
    import math
    import sys

    import test_algorithms
    from kmeanskit import _config, _init, _solver, vq
    from kmeanskit._kernels import bounds, lloyd

    c = _config
    assert int(stated(text, r"chunks of `CHUNK_ROWS = (\d+)`")[0]) == c.CHUNK_ROWS
    assert int(stated(text, r"`n_blocks` blocks \(at most (\d+),")[0]) == c.MAX_BLOCKS
    chunks, nb, per, most, empty = (int(v) for v in stated(
        text, r"(\d+) chunks make (\d+) blocks of (\d+), not (\d+) with (\d+) empty"))
    assert _solver.n_blocks_for(chunks * c.CHUNK_ROWS, 8, 3) == nb and most == c.MAX_BLOCKS
    assert per == -(-chunks // c.MAX_BLOCKS) and nb == -(-chunks // per) and empty == most - nb
    assert int(stated(text, r"`d x (\d+)` scratch")[0]) == c.CHUNK_ROWS
    assert int(stated(text, r"For d <= (\d+)\s+\(`FINISH_VEC_MAX_D`\)")[0]) == lloyd.FINISH_VEC_MAX_D
    assert int(stated(text, r"for k <= (\d+) \(`MASKED_SUMS_MAX_K`\)")[0]) == lloyd.MASKED_SUMS_MAX_K
    assert int(stated(text, r"k = `GROUPED_SUMS_MAX_K` = (\d+)")[0]) == lloyd.GROUPED_SUMS_MAX_K
    assert tuple(int(v) for v in stated(text, r"`GEMM_MIN_D` = (\d+) and k >= `GEMM_MIN_K` = (\d+)")) == (
        c.GEMM_MIN_D, c.GEMM_MIN_K)
    assert int(stated(text, r"k >= `GEMM_MIN_K_FLOAT32` = (\d+)")[0]) == c.GEMM_MIN_K_FLOAT32
    assert int(stated(text, r"`TRANSPOSE_BY_ROWS` = (\d+) bytes")[0]) == c.TRANSPOSE_BY_ROWS
    assert int(stated(text, r"`ROW_PAD` = (\d+) elements")[0]) == c.ROW_PAD
    assert int(stated(text, r"`TRANSPOSE_BYTES` = (\d+) KiB")[0]) << 10 == c.TRANSPOSE_BYTES
    from kmeanskit._kernels._blocks import transpose_rows

    r64, r128 = (int(v) for v in stated(text, r"(\d+) rows at 64 float32 features, (\d+) at 128"))
    assert (r64, r128) == (transpose_rows(64, 4, c.ROW_PAD), transpose_rows(128, 4, c.ROW_PAD))
    assert (64 * 4 * 256) >> 10 == int(stated(text, r"256 rows of 64 float32 features\s+are (\d+) KiB")[0])
    assert tuple(int(v) for v in stated(text, r"From `ROWS_SCAN_MIN_D` = (\d+) features up to\s+"
                                              r"`ROWS_SCAN_MAX_K` = (\d+) centres")) == (
        c.ROWS_SCAN_MIN_D, c.ROWS_SCAN_MAX_K)
    assert (64 * 4) % c.TRANSPOSE_BY_ROWS == 0 == (32 * 8) % c.TRANSPOSE_BY_ROWS != (48 * 4) % c.TRANSPOSE_BY_ROWS
    assert int(stated(text, r"`GEMM_ROWS` = (\d+) rows")[0]) == c.GEMM_ROWS
    assert tuple(int(v) for v in stated(text, r"`GEMM_T_MIN_D` = (\d+) <= d < (\d+) and k >= `GEMM_T_MIN_K` = (\d+)")) == (
        c.GEMM_T_MIN_D, c.GEMM_MIN_D, c.GEMM_T_MIN_K)
    assert int(stated(text, r"Up to `FUSED_D` = (\d+) features")[0]) == lloyd.FUSED_D
    assert tuple(int(v) for v in stated(text, r"`FUSED_MIN_D` = (\d+) <= d <= (\d+) and k >= `FUSED_MIN_K` = (\d+)")) == (
        c.FUSED_MIN_D, lloyd.FUSED_D, c.FUSED_MIN_K)
    i8, i16 = (int(v.replace(",", "")) for v in stated(text, r"int8 up to (\d+)\s+clusters, int16 up to ([\d,]+), int32"))
    assert [_solver.label_dtype(k).name for k in (i8, i8 + 1, i16, i16 + 1)] == ["int8", "int16", "int16", "int32"]
    row, one, four = (int(v) for v in stated(text, r"float32 pixels \((\d+) bytes a row\) is the difference between "
                                                   r"(\d+) % and (\d+) % of"))
    assert row == 3 * 4 and (one, four) == (round(100 / row), round(400 / row))
    assert stated(text, r"greedy k-means\+\+ \(Arthur & Vassilvitskii; `(2 \+ 2 ln k)` candidates per step")
    assert all(_init.n_local_trials(k) == 2 + int(2 * math.log(k)) for k in range(1, 5000))
    assert int(stated(text, r"`SEED_TRANSPOSED_MAX_BYTES` = (\d+) GiB")[0]) << 30 == c.SEED_TRANSPOSED_MAX_BYTES
    lo, per_k, iters = (int(v) for v in stated(text, r"a uniform sample of `max\((\d+), (\d+) k\)` rows\s+"
                                                     r"\(keeping weights\) and refines it with (\d+) Lloyd"))
    assert (lo, per_k, iters) == (_init.SAMPLE_MIN, _init.SAMPLE_PER_CLUSTER, _init.SAMPLE_REFINE_ITERS)
    assert stated(text, r"when X has more than (two) sample sizes of rows") == ("two",) and _init.AUTO_SAMPLE_FACTOR == 2
    n, d, k = (int(v.replace(",", "")) for v in stated(text, r"embeddings workload \(([\d,]+) x (\d+) float32, k = (\d+)"))
    assert int(stated(text, r"on a ([\d,]+)-row sample")[0].replace(",", "")) == _init.sample_size(n, k)
    assert n > _init.AUTO_SAMPLE_FACTOR * _init.sample_size(n, k)  # that workload seeds on a sample
    assert stated(text, r"sets `GOMP_SPINCOUNT=(\d+)`")[0] == c.GOMP_SPINCOUNT
    assert 1 << int(stated(text, r"`PARALLEL_MIN_WORK` = 2\^(\d+)")[0]) == _solver.PARALLEL_MIN_WORK
    assert int(stated(text, r"`SCAN_GROUP` = (\d+)")[0]) == c.SCAN_GROUP
    sample, refine_iters, restarts = (int(v.replace(",", "")) for v in stated(
        text, r"drawn from a ([\d,]+)-row weighted sample on which\s+the first (\d+) Lloyd iterations run; the (\d+) restarts"))
    assert (sample, refine_iters) == (_init.SAMPLE_MIN, _init.SAMPLE_REFINE_ITERS)
    assert restarts == __import__("inspect").signature(vq.kmeans).parameters["iter"].default
    # the benchmark's pixels: their distinct colours (benchmarks/data.py)
    sys.path.insert(0, str(ROOT))
    from benchmarks.data import photo_pixels

    colours = int(stated(text, r"On the\s+([\d,]+) distinct colours of the 2,000,000-pixel workload")[0].replace(",", ""))
    px = photo_pixels(2_000_000).astype(np.int64)
    assert colours == round(len(np.unique((px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2])), -3)
    assert int(stated(text, r"one lower bound per group of about (\d+) centres")[0]) == _solver.YINYANG_CENTRES_PER_GROUP
    assert bounds.SAFE == 1 - float(stated(text, r"`bounds.SAFE` = 1 - (1e-\d+)")[0])
    assert int(stated(text, r"once more than (\d+) % fail")[0]) == 100 * bounds.DENSE_TIGHTEN_NUM // bounds.DENSE_TIGHTEN_DEN
    n_min, k_min = (int(v.replace(",", "")) for v in stated(text, r"Hamerly from ([\d,]+) rows and (\d+) clusters, Lloyd"))
    assert (n_min, k_min) == (_solver.AUTO_HAMERLY_MIN_N, _solver.AUTO_HAMERLY_MIN_K)
    assert_wide_rule(stated(text, r"but from (\d+) clusters on (\d+) to (\d+) features"))
    assert_wide_rule(stated(text, r"On (\d+) to (\d+) features \(`AUTO_HAMERLY_WIDE_D`\) Hamerly is the\s+choice from (\d+)"),
                     order=(2, 0, 1))
    # what the tests it names check
    marks = {m.args[0]: m.args[1] for m in test_algorithms.test_same_as_lloyd_on_exact_ties.pytestmark
             if m.name == "parametrize"}
    assert int(stated(text, r"`test_same_as_lloyd_on_exact_ties`: (\d+) per algorithm")[0]) == len(marks["seed"])
    cases = next(m.args[1] for m in test_algorithms.test_same_result_as_lloyd.pytestmark
                 if m.name == "parametrize" and m.args[0].startswith("n,d,k"))
    d_lo, d_hi, k_lo, k_hi = (int(v) for v in stated(text, r"checks it on d from (\d+) to (\d+), k from (\d+) to (\d+)"))
    assert (d_lo, d_hi, k_lo, k_hi) == (min(cs[1] for cs in cases), max(cs[1] for cs in cases),
                                        min(cs[2] for cs in cases), max(cs[2] for cs in cases))
    # "Yinyang and Exponion measured slower than Hamerly on every benchmark workload ..., Elkan too"
    stated(text, r"Yinyang and Exponion measured slower than Hamerly on every benchmark workload")
    lloyd_suite = section(BENCH.read_text(), "### Suite `lloyd`")
    tables = re.split(r"^#### ", lloyd_suite, flags=re.M)[1:]
    timed = [tb for tb in tables if "from the same start" in tb.splitlines()[0]]
    assert len(timed) == 10
    for tb in timed:
        times = {r[0]: float(r[1]) for r in md_table(tb, "| library |")}
        assert all(times["kmeanskit hamerly"] < times[f"kmeanskit {a}"] for a in ("yinyang", "exponion", "elkan")), tb[:80]


def claims_images(text, ns):
    """docs/images.md: its constants, and its 12-megapixel figures against the `images` suite of
    the named `make bench` run (the per-photo errors: tests/test_image_quantization.py)."""
    import math

    import test_image_colour
    from kmeanskit import _ciede
    from kmeanskit._kernels import color as kc
    from kmeanskit.image import cluster, colour, palette

    assert int(stated(text, r"tested on the (\d+)\s+pairs of their Table 1")[0]) == len(test_image_colour.SHARMA_2005)
    assert int(stated(text, r"with the\s+(\d+) Sharma pairs")[0]) == len(test_image_colour.SHARMA_2005)
    assert int(stated(text, r"through the exact (\d+)-entry\s+table")[0]) == len(kc.SRGB8_TO_LINEAR)
    assert 1 << int(stated(text, r"in a reused 2\^(\d+)-entry table")[0]) == kc.N_CODES
    assert int(stated(text, r"up to ([\d ]+) distinct colours \(`DIRECT_MAX_COLORS`\)")[0].replace(" ", "")) == \
        cluster.DIRECT_MAX_COLORS
    side = 1 << cluster.BIN_BITS
    assert int(stated(text, r"`BIN_BITS = (\d+)`")[0]) == cluster.BIN_BITS
    assert stated(text, r"pooled into\s+(\d+) x (\d+) x (\d+) RGB boxes") == (str(side),) * 3
    assert int(stated(text, r"\(at most ([\d ]+)\) boxes")[0].replace(" ", "")) == side ** 3
    assert int(stated(text, r"at most ([\d ]+) points \(the boxes")[0].replace(" ", "")) == side ** 3
    above, s = (int(v) for v in stated(text, r"above (\d+) of them, the Lab means of their (\d+) x"))
    assert (above, s) == (cluster.REFINE_DIRECT_MAX_COLORS, side)
    assert int(stated(text, r"takes up to (\d+) Weiszfeld steps")[0]) == _ciede.WEISZFELD_STEPS
    assert float(stated(text, r"`count / max\(CIEDE2000, ([\d.]+)\)`")[0]) == _ciede.WEISZFELD_EPS
    pct, rounds = stated(text, r"lowers J by at most ([\d.]+) %, or after (\d+) rounds")
    assert math.isclose(float(pct) / 100, _ciede.TOL) and int(rounds) == _ciede.MAX_ROUNDS
    assert int(stated(text, r"the best of the (\d+)\s+code values")[0]) == len(colour._OFFSETS)
    assert 1 << int(stated(text, r"Small problems \(fewer than 2\^(\d+) points\)")[0]) == cluster.PARALLEL_MIN_COLORS
    assert int(stated(text, r"`min_alpha`, default (\d+)\)")[0]) == palette.DEFAULT_MIN_ALPHA
    assert int(stated(text, r"rounded to 8 bits \(v / (\d+)\)")[0]) == 65535 // 255
    kmax, fallback = (int(v) for v in stated(text, r"`k=\"auto\"` fits k = 1..(\d+) .*?if Kneedle finds no knee, k = (\d+)\."))
    assert (kmax, fallback) == (cluster.AUTO_K_MAX, cluster.AUTO_K_FALLBACK)
    assert int(stated(text, r"An\s+image with at most (\d+) distinct colours")[0]) == cluster.AUTO_K_MAX
    assert [int(v) for v in stated(text, r"for k = (\d+), (\d+), (\d+), (\d+)\. Peers")] == [3, 5, 8, 16]
    # the 12-megapixel photo: the `images` suite of results-23
    suite = section(BENCH.read_text(), "### Suite `images`")
    rows = {(r[0], int(r[1])): r for r in md_table(suite, "| method | k |")}
    lab, rgb, decode = stated(text, r"at k = 8, Lab mode took ([\d.]+) s after decode \(palette and full\s+repaint\) "
                                    r"and RGB mode ([\d.]+) s, after Pillow's decode of ([\d.]+) s")
    assert (lab, rgb) == (rows[("kmeanskit-lab", 8)][2], rows[("kmeanskit-rgb", 8)][2])
    assert f"Pillow decode {decode} s" in suite
    assert float(lab) <= 0.5 and float(lab) + float(decode) <= 1.0  # "targets ...; met"
    mc, sk = stated(text, r"Pillow median cut took ([\d.]+) s, scikit-learn ([\d.]+) s")
    assert (mc, sk) == (rows[("pillow-mediancut", 8)][2], rows[("sklearn", 8)][2])
    ks = (3, 5, 8, 16)
    methods = list(dict.fromkeys(m for m, _ in rows))
    de = {(m, k): float(rows[(m, k)][3].rstrip(" *")) for m in methods for k in ks}
    mse = {(m, k): float(rows[(m, k)][4].rstrip(" *")) for m in methods for k in ks}
    ours = [float(v) for v in stated(text, r"lowest mean CIEDE2000 at every k\s+\(([\d.]+), ([\d.]+), ([\d.]+), "
                                           r"([\d.]+) at k = 3, 5, 8, 16")]
    best = [float(v) for v in stated(text, r"the best other method ([\d.]+), ([\d.]+), ([\d.]+), ([\d.]+): our DIN99o")]
    others = [min((m for m in methods if m != "kmeanskit-lab"), key=lambda m: de[(m, k)]) for k in ks]
    assert ours == [de[("kmeanskit-lab", k)] for k in ks] == [min(de[(m, k)] for m in methods) for k in ks]
    assert best == [de[(m, k)] for m, k in zip(others, ks)]
    assert others == ["kmeanskit-din99o", "sklearn", "kmeanskit-din99o", "kmeanskit-din99o"]  # "then scikit-learn at k = 5"
    assert all(mse[("kmeanskit-rgb", k)] == min(mse[(m, k)] for m in methods) for k in ks)
    tie = float(stated(text, r"at k = 3 tied with Pillow median cut \+\s+`kmeans=10`, ([\d.]+)\)")[0])
    assert mse[("kmeanskit-rgb", 3)] == mse[("pillow-mediancut+kmeans", 3)] == tie
    lo, hi = stated(text, r"ColorThief with exactly k colours has ([\d.]+)-([\d.]+) x RGB mode's RGB MSE there")
    ratios = [mse[("colorthief", k)] / mse[("kmeanskit-rgb", k)] for k in ks]
    assert (float(lo), float(hi)) == (round(min(ratios), 1), round(max(ratios), 1))


def claims_models(text, ns):
    """docs/models.md: the digits table (examples/affinity_digits.py, the run it names), the
    spread of k = 30 over seeds 0-5 and the figure without the scaler; the spread's floor."""
    import importlib.util
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from kmeanskit import ClusterAffinity, anomaly

    spec = importlib.util.spec_from_file_location("affinity_digits", ROOT / "examples" / "affinity_digits.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    X, y = load_digits(return_X_y=True)
    n, side, d = (int(v) for v in stated(text, r"\((\d+) (\d)x\d images, (\d+) pixel\s+features\)"))
    assert (n, side * side, d) == (X.shape[0], X.shape[1], X.shape[1])
    rows = md_table(text, "| features | accuracy |")
    lr = dict(max_iter=1000)

    def pipe(k, kind="rbf", seed=0, scale=True):
        steps = [ClusterAffinity(k, kind=kind, random_state=seed)] + ([StandardScaler()] if scale else [])
        return make_pipeline(*steps, LogisticRegression(**lr))

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence chatter
        got = [ex.accuracy(make_pipeline(StandardScaler(), LogisticRegression(**lr)), X, y)]
        got += [ex.accuracy(pipe(k, kind), X, y) for _, k, kind in ex.ROWS]
        seeds = [ex.accuracy(pipe(30, seed=s), X, y) for s in range(6)]
        unscaled = ex.accuracy(pipe(40, scale=False), X, y)
    assert [r[0] for r in rows] == ["the 64 raw pixels"] + [label for label, _, _ in ex.ROWS]
    assert [r[1].split()[0] for r in rows] == [f"{a:.3f}" for a in got]
    lo, hi = stated(text, r"\(seeds 0-5: ([\d.]+) to ([\d.]+)\)")
    assert (lo, hi) == (f"{min(seeds):.3f}", f"{max(seeds):.3f}")
    assert stated(text, r"without the `StandardScaler`\s+k = 40 rbf features gave ([\d.]+)")[0] == f"{unscaled:.3f}"
    assert float(stated(text, r"below (1e-\d+) x the largest")[0]) == anomaly._ZERO_SPREAD


def claims_search(text, ns):
    """docs/search.md: k about sqrt(n) in its example, the image features' histogram and the
    CLI's default probe (recall and share: tests/test_search.py)."""
    from kmeanskit import search
    from kmeanskit.cli import main

    assert ns["model"].centers.shape[0] == round(np.sqrt(len(ns["X"])))
    b = search.DEFAULT_BINS
    assert stated(text, r"joint CIELAB histogram of (\d) x (\d) x (\d) = (\d+) bins") == (*map(str, b), str(np.prod(b)))
    assert stated(text, r"a\* and b\* -(\d+)\.\.(\d+), clipped") == (str(int(search.AB_RANGE)),) * 2
    assert int(stated(text, r"sampled down to at most (\d+) pixels per side")[0]) == search.DEFAULT_MAX_SIDE
    assert float(stated(text, r"([\d.]+) = no colour in common")[0]) == round(np.sqrt(2), 2)
    probe = next(p for p in main.commands["search-images"].params if p.name == "probe")
    assert int(stated(text, r"`--probe` \(default (\d+), capped at k\)")[0]) == probe.default


def claims_estimator(text, ns):
    """docs/estimator.md: its constants, and its mini-batch table against the named run
    (docs/benchmarks.md, suite `minibatch`), as rounded on the page."""
    import math

    from kmeanskit import _metric
    from kmeanskit._kernels import metric as km

    rad, cos = stated(text, r"within an angle of about ([\d.e-]+) rad \(1 - cos below ([\d.e-]+)\)")
    assert float(cos) == km.COSINE_ZERO and math.isclose(float(rad), math.acos(1 - float(cos)), rel_tol=0.05)
    assert float(stated(text, r"tolerances ([\d.e-]+) \(`kmeanskit._metric.LP_TOL`\)")[0]) == _metric.LP_TOL
    dirs, steps = stated(text, r"no move along the axes or (\d+)\s+random directions, at steps ([\de., -]+), lowers")
    probe = (ROOT / "tests" / "test_metric.py").read_text()
    assert f"rng.normal(size=({dirs}, d))" in probe
    assert f"for eps in ({', '.join(f'{float(s):.0e}'.replace('e-0', 'e-') for s in steps.split(', '))}):" in probe
    b = section(BENCH.read_text(), "### Suite `minibatch`")
    dflt = md_table(b, "| workload | kmeanskit s |")
    equal = {r[0]: r for r in md_table(b, "| workload | passes |")}
    rows = md_table(text, "| workload | mini-batch s |")
    assert len(rows) == len(dflt)
    for mine, run in zip(rows, dflt):
        name = run[0].split()[0]
        assert mine[0].startswith(name)
        fields = mine[4].split(", ")
        eq = equal[name]
        assert rounds_to(mine[1], float(run[1])) and rounds_to(mine[2], float(run[9])) and mine[3] == run[11]
        assert rounds_to(fields[0].rstrip(" s"), float(eq[3]))
        assert rounds_to(fields[1], float(eq[5]) / float(run[10]))
    speed = [float(r[9]) / float(r[1]) for r in dflt]
    worse = [100 * (float(r[11]) - 1) for r in dflt]
    lo, hi, ilo, ihi = stated(text, r"mini-batch buys (\d+)-(\d+) x less time for a ([\d.]+)-(\d+) % higher inertia")
    assert (int(lo), int(hi)) == (round(min(speed)), round(max(speed)))
    assert rounds_to(ilo, min(worse)) and rounds_to(ihi, max(worse))
    exact, mini = stated(text, r"the embeddings took (\d+) s exact, (\d+) s mini-batch")
    emb = dflt[-1]
    assert (int(exact), int(mini)) == (round(float(emb[9])), round(float(emb[1])))


def claims_scale(text, ns):
    """docs/scale.md: its constants, and its speed table against the named run
    (docs/benchmarks.md, "Dask and memory-mapped files"), as rounded on the page."""
    import inspect

    import kmeanskit
    from kmeanskit import _chunked, _config, _solver, selection

    assert int(stated(text, r"sweeps a uniform sample of ([\d,]+) rows")[0].replace(",", "")) == selection.DASK_SAMPLE_ROWS
    returned, small, k_max = (int(v) for v in stated(
        text, r"the labels \((\d) bytes a row as\s+returned, (\d) byte a row while iterating for up to (\d+) clusters\)"))
    assert returned == np.dtype(np.int32).itemsize
    assert small == _solver.label_dtype(k_max).itemsize < _solver.label_dtype(k_max + 1).itemsize
    sig = inspect.signature(kmeanskit.kmeans_parallel).parameters
    assert int(stated(text, r"then (\d+) rounds that each draw")[0]) == sig["rounds"].default == _chunked.ROUNDS
    assert float(stated(text, r"probability `(\d+)k w d\^2 / phi`")[0]) == sig["oversampling"].default
    assert int(stated(text, r"reduction runs up to (\d) times")[0]) == _chunked.REDUCE_TRIES
    # the case the page cites is tests/test_dask.py's, with the figures that test asserts
    worse, seeds, pct = stated(text, r"leaves (\d) of (\d) seeds more than (\d) %")
    case = (Path(__file__).parent / "test_dask.py").read_text()
    case = case[case.index("def test_kmeans_parallel_keeps_the_best_of_its_reductions"):]
    case = case[:case.index("\ndef ")]
    assert f"random_state=s).inertia for s in range({seeds})" in case
    assert f"np.sum(one > 1.0{pct} * three.min()) == {worse}" in case
    assert int(stated(text, r"in seconds \(default (\d+)\)")[0]) == _chunked.DEFAULT_TIMEOUT
    assert int(stated(text, r"at most (\d) M float64 values")[0]) == _config.BLOCK_SUM_BUDGET >> 20
    n_min, k_min = (int(v.replace(",", "")) for v in stated(text, r"\(Hamerly from ([\d,]+) rows and (\d+) clusters, "))
    assert (n_min, k_min) == (_solver.AUTO_HAMERLY_MIN_N, _solver.AUTO_HAMERLY_MIN_K)
    assert_wide_rule(stated(text, r"clusters, (\d+) clusters on (\d+) to (\d+) features\)"))
    assert stated(text, r"k-means\|\| costs (six) passes") == ("six",) and 1 + _chunked.ROUNDS == 6
    ratio, features = stated(text, r"at least (one and a half)\s+times as many earlier candidates as new ones.*?with (\d+) or\s+more")
    assert (ratio, int(features)) == ("one and a half", _chunked.PRUNE_MIN_FEATURES) and _chunked.PRUNE_MIN_EARLIER == 1.5
    b = section(BENCH.read_text(), "## Dask and memory-mapped files")
    runs = {}
    for part in re.split(r"^#### Dask: ", b, flags=re.M)[1:]:
        rows = md_table(part, "|  | in memory |")
        size = part.split(" float32")[0].replace(",000,000", " M").replace(",500,000", ".5 M")
        runs[size] = rows
    for row in md_table(text, "| data | Lloyd pass"):
        run = runs[row[0].split(",")[0]]
        assert rounds_to(row[1], float(run[0][3])) and rounds_to(row[2], float(run[1][3])), row
        assert (row[3].startswith("not run") and run[1][5] == "") or rounds_to(row[3], float(run[1][5])), row
        assert (row[4] == "not run" and len(run) == 3) or rounds_to(row[4], float(run[3][5])), row
    times = [1 / float(r[1][5]) for r in runs.values() if r[1][5]]
    lo, hi = stated(text, r"there kmeanskit is (\d+) to (\d+) times\s+faster than dask-ml")
    assert (int(lo), int(hi)) == (int(min(times)), int(max(times)))
    same = [1 / float(r[3][5]) for r in runs.values() if len(r) > 3]
    lo, hi = stated(text, r"above\), (\d+) to (\d+)\s+times from the same centres")
    assert (int(lo), int(hi)) == (round(min(same)), round(max(same)))
    labels = stated(text, r"costs only its\s+labels \((\d+) MiB\)")[0]
    assert f"| {labels} |" in b


def claims_reliability(text, ns):
    """docs/reliability.md: the float range's figures and the `make fuzz` table's totals (the
    rest: tests/test_reliability.py::test_docs_figures)."""
    import math

    f32, f64 = (np.finfo(t) for t in (np.float32, np.float64))

    def decade(x):
        return math.floor(math.log10(x))

    lo32, lo64 = stated(text, r"float32 from about 1e(\d+), float64 from about 1e(\d+)")
    assert (int(lo32), int(lo64)) == (decade(math.sqrt(f32.max)), decade(math.sqrt(f64.max)))
    assert stated(text, r"the largest float64 \(([\d.]+e\d+)\)")[0] == f"{f64.max:.1e}".replace("e+", "e")
    e, about = stated(text, r"below 2\*\*(-\d+) times it, about 1e(-\d+)")
    assert int(e) == f64.minexp and int(about) == decade(2.0 ** f64.minexp)
    # the fuzz finds: the PNG chunk's declared size is the one of test_reliability's case
    # (test_png_chunk_declaring_134MB_is_not_allocated writes the length bytes 08 00 00 38)
    assert int(stated(text, r"a PNG chunk declaring (\d+) MB")[0]) == int.from_bytes(b"\x08\x00\x008", "big") // 10**6
    assert "65,536 columns" in text and "_npy_bytes((0, 65536))" in (ROOT / "tests" / "test_reliability.py").read_text()
    rows = md_table(text, "| fuzz test |")
    makefile = (ROOT / "Makefile").read_text()
    default = int(re.search(r"^FUZZ_EXAMPLES \?= (\d+)", makefile, flags=re.M).group(1))
    assert f"default {default})" in text and f"`FUZZ_EXAMPLES={default}`" in text
    assert all(int(r[1].replace(",", "")) == default and r[2] == "0" for r in rows)
    total = int(stated(text, r"([\d,]+) mutated files read")[0].replace(",", ""))
    assert total == sum(int(r[1].replace(",", "")) for r in rows)


def claims_reports(text, ns):
    """docs/reports.md: the rows table holds the first MAX_ROWS rows."""
    from kmeanskit import report

    assert int(stated(text, r"table \(the first ([\d,]+), with the count")[0].replace(",", "")) == report.MAX_ROWS


def claims_cli(text, ns):
    """docs/cli.md: the first-run figure is the named run's (the engine redesign's "First fit"),
    and the completion line the one README.md gives."""
    b = BENCH.read_text()
    first = b[b.index("**First fit**"):b.index("**Test suite**")]
    colds = sorted(float(v) for v in re.findall(r"(\d+\.\d) / (\d+\.\d) s after", first)[0])
    lo, hi = stated(text, r"\"First fit\", ([\d.]+)-([\d.]+) s\)")
    assert [float(lo), float(hi)] == colds
    assert round(max(colds), -1) == int(stated(text, r"after installing \(about (\d+) s on a 2-core machine")[0])
    from kmeanskit import _fileutil

    assert stated(text, r"or that are over a (day) old") == ("day",) and _fileutil.STALE_AGE_S == 24 * 3600


#: Page name -> check of the figures its prose states, given the page's text
#: and the namespace of its run.
CLAIMS = {"tables.md": claims_tables, "README.md": claims_readme, "engine.md": claims_engine,
          "images.md": claims_images, "models.md": claims_models, "search.md": claims_search,
          "estimator.md": claims_estimator, "scale.md": claims_scale, "reliability.md": claims_reliability,
          "reports.md": claims_reports, "cli.md": claims_cli, "choose_k.md": claims_choose_k,
          "text.md": claims_text}


# --- the tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs_as_pasted(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sandbox(tmp_path)
    ns = run_page(page, tmp_path)
    check = CLAIMS.get(page.name)
    if check is not None:
        check(page.read_text(), ns)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_stay_in_the_repository(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert path.exists(), f"{page.name} links to a missing file: {target}"


def test_the_harness_reads_what_it_claims():
    text = ("intro\n" + SKIP_MARK + "\n```python\nraise SystemExit\n```\n"
            "```console\n$ kmeanskit colors a.png \\\n    -k 2   # two\nwrote x\n$ make demo\nother\n```\n")
    (py, code, _, skipped), (sh, shell, _, _) = blocks(text)
    assert py == "python" and skipped and sh == "console"
    assert shell_commands(shell) == [(["kmeanskit", "colors", "a.png", "-k", "2"], ["wrote x"])]
    chunks = split_prints("x = 1\nprint(x)\n# 1\ny = 2\n")
    assert chunks == [("x = 1", None), ("print(x)", ["1"]), ("y = 2", None)]


def test_examples_answer_help_and_fail_in_one_line(tmp_path):
    """The examples the docs point to: ``--help`` prints usage (not a
    traceback), a missing image is one ``Error:`` line."""
    import subprocess
    import sys

    ex = ROOT / "examples"
    for script in sorted(ex.glob("*.py")):
        r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "usage:" in r.stdout, (script.name, r.stderr[-500:])
    r = subprocess.run([sys.executable, str(ex / "scipy_tutorial_colors.py"), str(tmp_path / "no.png")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith("Error:") and "Traceback" not in r.stderr


def test_shell_completion_as_documented():
    """README and docs/cli.md: ``_KMEANSKIT_COMPLETE=bash_source kmeanskit``
    prints a completion script, and completion offers commands and choices."""
    from kmeanskit.cli import main

    env = {"_KMEANSKIT_COMPLETE": "bash_source"}
    r = CliRunner().invoke(main, [], env=env, prog_name="kmeanskit")
    assert r.exit_code == 0 and "_kmeanskit_completion" in r.output
    env = {"_KMEANSKIT_COMPLETE": "bash_complete", "COMP_WORDS": "kmeanskit cluster t.csv --standardize ",
           "COMP_CWORD": "4"}
    r = CliRunner().invoke(main, [], env=env, prog_name="kmeanskit")
    assert r.output.split() == ["plain,zscore", "plain,whiten", "plain,none"]
    readme = (ROOT / "README.md").read_text()
    assert 'eval "$(_KMEANSKIT_COMPLETE=bash_source kmeanskit)"' in readme


# --- speed figures name their `make bench` run -----------------------------------------------------

#: Pages whose speed figures are checked: each sits in a paragraph, list or table that links to
#: docs/benchmarks.md (or right after one that does). docs/reliability.md's times are the fuzz
#: tests' budgets (tests/test_reliability.py) and its `make fuzz` run's, which it names.
SPEED_PAGES = ("README.md", "choose_k.md", "cli.md", "engine.md", "estimator.md", "images.md", "models.md",
               "reports.md", "scale.md", "search.md", "tables.md", "text.md")
#: ... and on these every number of a speed figure is written as docs/benchmarks.md writes it
#: (the others round, and their own checks in CLAIMS compare the rounding).
VERBATIM = ("choose_k.md", "engine.md", "images.md", "search.md")
_NUM = r"\d[\d,]*(?:\.\d+)?"
SPEED_FIGURE = re.compile(
    rf"(?<![\w.-]){_NUM}(?:\s*(?:-|->|/|to|vs)\s*{_NUM})*\s?(?:ms|us|µs|ns|s|seconds|minutes)\b"
    rf"|(?<![\w.-]){_NUM}(?:-{_NUM})?\s?x\b(?=\s+(?:faster|slower|as fast|instead|until|less|the|scikit))"
    rf"|(?<![\w.-]){_NUM}x\b")
BENCH_LINK = re.compile(r"\]\((?:docs/)?benchmarks\.md(?:#[\w-]*)?\)")


def prose_blocks(text: str) -> list[str]:
    """The page's paragraphs, lists and tables (split at blank lines), without its code blocks
    and with inline code blanked (a program's own message is not a measurement)."""
    text = re.sub(r"^(`{3,})[^\n]*\n.*?^\1\s*$", "", text, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "`code`", text)
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def speed_figures(page: Path):
    """``(figure, linked)`` of every speed figure of the page."""
    blocks = prose_blocks(page.read_text())
    for i, b in enumerate(blocks):
        linked = bool(BENCH_LINK.search(b)) or (i > 0 and bool(BENCH_LINK.search(blocks[i - 1])))
        for m in SPEED_FIGURE.finditer(b):
            yield " ".join(m.group(0).split()), linked


@pytest.mark.parametrize("name", SPEED_PAGES)
def test_speed_figures_name_their_bench_run(name):
    """A time or speed-up a page states comes from a `make bench` run in docs/benchmarks.md and
    links to it; on VERBATIM pages each of its numbers is in docs/benchmarks.md as written."""
    page = ROOT / name if name == "README.md" else ROOT / "docs" / name
    bench_numbers = set(re.findall(_NUM, BENCH.read_text()))
    for figure, linked in speed_figures(page):
        assert linked, f"{name}: {figure!r} does not link to the docs/benchmarks.md run it comes from"
        if name in VERBATIM:
            missing = [v for v in re.findall(_NUM, figure) if v not in bench_numbers]
            assert not missing, f"{name}: {figure!r}: {missing} are not figures of docs/benchmarks.md"


def test_speed_figure_guard_reads_what_it_claims(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("A pass 5.5-5.8 -> 4.3-5.3 ms, 1.7 x faster.\n\nSee [runs](benchmarks.md#x): 0.5 s, 64x.\n\n"
                    "| a | b |\n|---|---|\n| 12 s | 2 x 3 |\n\n`about 30 s` and 1e-9 x the largest, 8x8 images.\n")
    assert list(speed_figures(page)) == [("5.5-5.8 -> 4.3-5.3 ms", False), ("1.7 x", False), ("0.5 s", True),
                                         ("64x", True), ("12 s", True)]


def assert_wide_rule(found, order=(0, 1, 2)):
    """A page's "from K clusters on D0 to D1 features" is ``_solver``'s rule
    (``found``: the three numbers as the page orders them)."""
    from kmeanskit import _solver

    k, d0, d1 = (int(found[i]) for i in order)
    assert (k, d0, d1 + 1) == (_solver.AUTO_HAMERLY_WIDE_MIN_K, *_solver.AUTO_HAMERLY_WIDE_D)


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of the page's headings (lower case, punctuation dropped, spaces -> -)."""
    text = re.sub(r"^(`{3,})[^\n]*\n.*?^\1\s*$", "", text, flags=re.S | re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_to_sections_exist(page):
    """A link to a section of a page (``benchmarks.md#results``) finds its heading."""
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"^[a-z]+:", target) or "#" not in target:
            continue
        path, anchor = target.split("#", 1)
        doc = (page.parent / path).resolve() if path else page
        if doc.suffix == ".md":
            assert anchor in heading_anchors(doc.read_text()), f"{page.name}: no section #{anchor} in {doc.name}"
