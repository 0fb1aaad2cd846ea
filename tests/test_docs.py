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
  table): :data:`CLAIMS` checks them against the same run. A speed or
  memory figure instead names the ``make bench`` run it comes from
  (docs/benchmarks.md).
* Every relative link of a page points into the repository.

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


#: Page name -> check of the figures its prose states, given the page's text
#: and the namespace of its run.
CLAIMS = {"tables.md": claims_tables, "README.md": claims_readme}


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
