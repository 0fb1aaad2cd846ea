"""``kmeanskit elbow``: sweep k over a table or an image and recommend one."""

from __future__ import annotations

import io as _io
import json
import re
from pathlib import Path

import click
import numpy as np

from ._common import atomic_write_bytes, friendly_errors

#: Image suffixes read as pixels (with Pillow).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


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


def load_input(path: Path, columns):
    """(X, column names, skipped columns, description) from a table or image."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if columns:
            raise ValueError("--columns applies to tables, not images (an image's columns are R, G, B).")
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file.")
        from PIL import Image

        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        X = np.ascontiguousarray(rgb.reshape(-1, 3), dtype=np.float32)
        return X, ["R", "G", "B"], [], f"{path.name}: {rgb.shape[1]}x{rgb.shape[0]} image, {X.shape[0]} pixels"
    from ..tables import read_table

    t = read_table(path, columns)
    return t.X, t.columns, t.skipped, f"{path.name}: {t.X.shape[0]} rows x {t.X.shape[1]} columns"


def _fmt(v, digits=4):
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}g}"


@click.command("elbow")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--k", "k_text", default="1-10", show_default=True,
              help="Values of k: a range 1-10, a list 2,3,5, or both (2-4,8).")
@click.option("--columns", "columns", multiple=True,
              help="Columns to use (repeat or comma-separate); default: every numeric column.")
@click.option("--standardize", is_flag=True, help="Scale each column to mean 0, standard deviation 1.")
@click.option("--criteria", default="elbow,silhouette,calinski_harabasz,davies_bouldin", show_default=True,
              help="Comma-separated criteria: elbow, silhouette, calinski_harabasz, davies_bouldin, gap (or all).")
@click.option("--distortion", type=click.Choice(["inertia", "scipy"]), default="inertia", show_default=True,
              help="Elbow curve: inertia, or scipy.cluster.vq.kmeans' mean distance.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the elbow plot (with the other criteria) to this PNG/PDF/SVG file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --plot file.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
@friendly_errors
def elbow(input_path, k_text, columns, standardize, criteria, distortion, seed, plot_path, force, as_json):
    """Fit k-means for each k on INPUT and recommend a number of clusters.

    INPUT is a CSV/TSV, Parquet or .npy table, or an image (its RGB pixels).
    Prints the criteria per k and the recommendation, with the criteria
    that agree and where they disagree.

    \b
    Examples:
        kmeanskit elbow data.csv --columns x,y --standardize --plot elbow.png
        kmeanskit elbow photo.jpg --k 1-12 --json
    """
    from ..selection import choose_k

    ks = parse_k_range(k_text)
    cols = [c.strip() for part in columns for c in part.split(",") if c.strip()] or None
    if plot_path is not None and plot_path.exists() and not force:
        raise click.ClickException(f"{plot_path} exists; pass --force to overwrite it.")
    X, names, skipped, desc = load_input(input_path, cols)
    if standardize:
        X = X.astype(np.float64)
        sd = X.std(axis=0)
        flat = [names[j] for j in np.flatnonzero(sd == 0)]
        if flat:
            raise ValueError(f"cannot standardize constant column(s) {', '.join(map(repr, flat))}; "
                             "leave them out with --columns.")
        X = (X - X.mean(axis=0)) / sd
    crit = [c.strip() for c in criteria.split(",") if c.strip()]
    crit = "all" if crit == ["all"] else tuple(crit)
    sweep = choose_k(X, ks, criteria=crit, distortion=distortion, random_state=seed, keep_models=False)
    if plot_path is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        axes = sweep.plot()
        fig = axes[0].figure
        buf = _io.BytesIO()
        fmt = (plot_path.suffix.lstrip(".").lower() or "png")
        try:
            fig.savefig(buf, format=fmt, dpi=110)
        except ValueError:
            raise ValueError(f"cannot write a plot as {fmt!r}; use a .png, .pdf or .svg file name.") from None
        finally:
            plt.close(fig)
        atomic_write_bytes(plot_path, buf.getvalue(), force=force)
    if as_json:
        out = sweep.to_dict()
        out.update(input=str(input_path), columns=names, skipped_columns=skipped,
                   standardized=bool(standardize), n_rows=int(X.shape[0]),
                   plot=None if plot_path is None else str(plot_path))
        click.echo(json.dumps(out, indent=2))
        return
    _print_table(sweep, desc, names, skipped, standardize, plot_path)


def _print_table(sweep, desc, names, skipped, standardize, plot_path):
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped: no width to respect, keep numbers whole
        console = Console(highlight=False, soft_wrap=True, width=130)
    console.print(desc + (f"; columns {', '.join(names)}" if len(names) <= 12 else "")
                  + (" (standardized)" if standardize else ""))
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
    if plot_path is not None:
        console.print(f"plot written to {plot_path}")


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(elbow)
