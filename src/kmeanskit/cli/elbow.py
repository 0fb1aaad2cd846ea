"""``kmeanskit elbow``: sweep k over a table or an image and recommend one."""

from __future__ import annotations

import io as _io
import json
import re
from pathlib import Path

import click
import numpy as np

from ..image.decode import IMAGE_SUFFIXES  # read as pixels, with Pillow
from ._common import (
    STDIN,
    Outputs,
    announce,
    columns_option,
    force_option,
    format_option,
    friendly_errors,
    input_file,
    json_option,
    k_option,
    quiet_option,
    seed_option,
    split_columns,
)


def parse_k_range(text: str) -> list[int]:
    """``"1-10"``, ``"2,3,5"`` or ``"2-4,8"`` -> sorted list of ints >= 1.

    Examples
    --------
    >>> parse_k_range("1-4,8")
    [1, 2, 3, 4, 8]
    """
    out = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(-?\d+)(?:-(-?\d+))?", part)
        if m is None:
            raise ValueError(f"{text!r} is not a k range; write e.g. 1-10 or 2,3,5.")
        a = int(m.group(1))
        b = a if m.group(2) is None else int(m.group(2))
        if a > b:
            raise ValueError(f"range {part!r} is backwards; write it as {b}-{a}.")
        out.update(range(a, b + 1))
    if not out:
        raise ValueError("empty k range; write e.g. 1-10.")
    if min(out) < 1:
        raise ValueError(f"k must be >= 1, got {min(out)}; write e.g. 1-10.")
    return sorted(out)


def k_range_option(text: str, option: str = "-k") -> list[int]:
    """:func:`parse_k_range` for an option: a bad range is a usage error."""
    try:
        return parse_k_range(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None


def load_input(path: Path, columns, fmt=None):
    """(X, column names, skipped columns, description, is_image) from a
    table (a file, or ``-`` for stdin) or an image."""
    if str(path) != STDIN and path.suffix.lower() in IMAGE_SUFFIXES and fmt is None:
        if columns:
            raise click.UsageError("--columns applies to tables, not images (an image's columns are R, G, B).")
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file.")
        from PIL import Image

        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        X = np.ascontiguousarray(rgb.reshape(-1, 3), dtype=np.float32)
        desc = f"{path.name}: {rgb.shape[1]}x{rgb.shape[0]} image, {X.shape[0]} pixels"
        return X, ["R", "G", "B"], [], desc, True
    from ..tables import read_table

    with input_file(path, fmt) as (p, f):
        t = read_table(p, columns, format=f)
    name = "stdin" if str(path) == STDIN else path.name
    return t.X, t.columns, t.skipped, f"{name}: {t.X.shape[0]} rows x {t.X.shape[1]} columns", False


def scale_columns(X, kind: str, log: bool):
    """log(1 + x) if asked, then the column scaling ``kind`` (as ``kmeanskit
    cluster`` does: :class:`kmeanskit.tables.Scaling`)."""
    from ..tables import Scaling

    X = np.asarray(X, dtype=np.float64)
    if log:
        if (X < 0).any():
            raise ValueError("--log needs non-negative values (log(1 + x)); leave it out or pick columns.")
        X = np.log1p(X)
    if kind == "none":
        return X
    return Scaling.fit(X, kind).transform(X)


def _fmt(v, digits=4):
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}g}"


@click.command("elbow")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@k_option("1-10", "Values of k: a range 1-10, a list 2,3,5, or both (2-4,8).")
@columns_option
@click.option("--standardize", type=click.Choice(["zscore", "whiten", "none"]), default=None,
              is_flag=False, flag_value="zscore",
              help="Column scaling before clustering: zscore (mean 0, sd 1; the default for tables, "
                   "as in `kmeanskit cluster`), whiten or none (the default for images).")
@click.option("--log", "log", is_flag=True, help="Use log(1 + x) of the columns (as `kmeanskit cluster --log`).")
@format_option
@click.option("--criteria", default="elbow,silhouette,calinski_harabasz,davies_bouldin", show_default=True,
              help="Comma-separated criteria: elbow, silhouette, calinski_harabasz, davies_bouldin, gap (or all).")
@click.option("--distortion", type=click.Choice(["inertia", "scipy"]), default="inertia", show_default=True,
              help="Elbow curve: inertia, or scipy.cluster.vq.kmeans' mean distance.")
@seed_option()
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the elbow plot (with the other criteria) to this PNG/PDF/SVG file.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a single-file HTML report: the curve, the knee, every criterion, the advice.")
@force_option
@json_option
@quiet_option
@friendly_errors
def elbow(input_path, k, columns, standardize, log, fmt, criteria, distortion, seed, plot_path, html_path,
          force, as_json, quiet):
    """Fit k-means for each k on INPUT and recommend a number of clusters.

    INPUT is a CSV/TSV, Parquet or .npy table (- for stdin, CSV unless
    --format), or an image (its RGB pixels). Table columns are z-scored
    first, as `kmeanskit cluster` does (--standardize none to keep them).
    Prints the criteria per k and the recommendation, with the criteria
    that agree and where they disagree.

    \b
    Examples:
        kmeanskit elbow data.csv --columns x,y --plot elbow.png
        kmeanskit elbow photo.jpg -k 1-12 --json
        kmeanskit elbow data.csv -k 2-8 --html elbow.html
    """
    from ..selection import choose_k

    ks = k_range_option(k)
    if plot_path is not None:
        fmt_plot = plot_path.suffix.lstrip(".").lower() or "png"
        if fmt_plot not in ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp"):
            raise click.UsageError(f"cannot write a plot as {fmt_plot!r}; use a .png, .pdf or .svg file name.")
    outputs = Outputs(inputs=[input_path], force=force)
    outputs.add(plot_path, "--plot")
    outputs.add(html_path, "--html")
    X, names, skipped, desc, is_image = load_input(input_path, split_columns(columns), fmt)
    scaling = standardize or ("none" if is_image else "zscore")
    X = scale_columns(X, scaling, log) if (scaling != "none" or log) else X
    crit = [c.strip() for c in criteria.split(",") if c.strip()]
    crit = "all" if crit == ["all"] else tuple(crit)
    sweep = choose_k(X, ks, criteria=crit, distortion=distortion, random_state=seed, keep_models=False)
    with outputs:
        if plot_path is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            axes = sweep.plot()
            fig = axes[0].figure
            buf = _io.BytesIO()
            try:
                fig.savefig(buf, format=fmt_plot, dpi=110)
            finally:
                plt.close(fig)
            outputs.write(plot_path, buf.getvalue())
        if html_path is not None:
            from ..report import sweep_html

            facts = [("input", desc), ("columns", ", ".join(names)),
                     ("scaling", scaling + (", after log(1 + x)" if log else ""))]
            if skipped:
                facts.append(("columns not used", ", ".join(skipped)))
            source = "stdin" if str(input_path) == STDIN else input_path.name
            outputs.write(html_path, sweep_html(sweep, source=source, facts=facts).encode("utf-8"))
    if as_json:
        out = sweep.to_dict()
        out.update(command="elbow", input=str(input_path), columns=names, skipped_columns=skipped,
                   scaling=scaling, standardized=scaling != "none", log=bool(log), n_rows=int(X.shape[0]),
                   seed=seed, plot=None if plot_path is None else str(plot_path),
                   written=[str(p) for p in (plot_path, html_path) if p is not None])
        click.echo(json.dumps(out, indent=2))
    else:
        _print_table(sweep, desc, names, skipped, scaling, log)
    if plot_path is not None:
        announce(plot_path, "elbow plot", quiet)
    if html_path is not None:
        announce(html_path, "HTML report", quiet)


def _print_table(sweep, desc, names, skipped, scaling, log):
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped: no width to respect, keep numbers whole
        console = Console(highlight=False, soft_wrap=True, width=130)
    console.print(desc + (f"; columns {', '.join(names)}" if len(names) <= 12 else "")
                  + ("; log(1 + x)" if log else "") + f"; scaled: {scaling}")
    if skipped:
        console.print(f"skipped non-numeric column(s): {', '.join(skipped)}")
    cols = sweep._columns()
    votes = sweep.votes()
    table = Table(title="criteria per k")
    short = {"calinski_harabasz": "calinski", "davies_bouldin": "davies", "silhouette_se": "sil_se"}
    for c in cols:
        table.add_column(short.get(c, c), justify="right")
    for i, k in enumerate(sweep.k):
        row = []
        for c, vals in cols.items():
            if c in ("k", "n_iter"):
                cell = str(int(vals[i]))
            elif c == "fit_time":
                cell = f"{vals[i]:.3f}s"
            elif c in ("silhouette_se", "gap_se"):
                cell = _fmt(vals[i], 2)
            else:
                cell = _fmt(vals[i])
            if votes.get(c) == k or (c in ("inertia", "distortion") and votes.get("elbow") == k):
                cell = f"[bold]{cell}*[/bold]"
            row.append(cell)
        table.add_row(*row)
    console.print(table)
    console.print("* = the k that criterion picks (for inertia: the knee); calinski = Calinski-Harabasz "
                  "(higher is better), davies = Davies-Bouldin (lower is better)")
    console.print(sweep.explain())


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(elbow)
