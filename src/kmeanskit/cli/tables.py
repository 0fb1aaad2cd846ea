"""``kmeanskit cluster`` and ``kmeanskit outliers``: segment the rows of a
table, and score new rows against a saved segmentation."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ._common import friendly_errors

_PATH = click.Path(path_type=Path, dir_okay=False)


def _console():
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped: no width to respect, keep the table whole
        console = Console(highlight=False, soft_wrap=True, width=160)
    return console


def _refuse_existing(paths, force, inputs=()):
    """Refuse to write over an existing file unless ``force``, and over one of
    the command's ``inputs`` ever."""
    ins = {Path(i).resolve() for i in inputs if i is not None}
    for p in paths:
        if p is None:
            continue
        if Path(p).resolve() in ins:
            raise click.ClickException(f"refusing to overwrite the input {p}; pass a different path.")
        if Path(p).exists() and not force:
            raise click.ClickException(f"{p} exists; pass --force to overwrite it.")


def _num(v):
    if not np.isfinite(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def print_profile(console, seg):
    """The profile as a rich table: size, share, the mean of each feature, and
    what sets each cluster apart."""
    from rich.table import Table

    p = seg.profile
    table = Table(title=f"{seg.k} clusters: mean of each column (in its own units)")
    table.add_column("cluster", justify="right")
    table.add_column("size", justify="right")
    table.add_column("share", justify="right")
    names = [c[:-5] for c in p.columns if c.endswith(" mean")]
    for n in names:
        table.add_column(n, justify="right")
    table.add_column("stands out by (sd from the overall mean)")
    for c, row in p.iterrows():
        table.add_row(str(c), str(int(row["size"])), f"{row['share']:.1%}",
                      *[_num(row[f"{n} mean"]) for n in names], str(row["distinguishing"]))
    console.print(table)


@click.command("cluster")
@click.argument("input_path", metavar="INPUT", type=_PATH)
@click.option("-k", "k_text", default="5", show_default=True,
              help="Number of clusters, or 'auto' to choose it (see --k-range).")
@click.option("--k-range", "k_range", default="2-10", show_default=True,
              help="Values of k tried by -k auto: a range 2-10, a list 2,3,5, or both.")
@click.option("--columns", "columns", multiple=True,
              help="Columns to use (repeat or comma-separate); default: every numeric column.")
@click.option("--standardize", type=click.Choice(["zscore", "whiten", "none"]), default="zscore",
              show_default=True, help="Column scaling before clustering (zscore: mean 0, sd 1).")
@click.option("--log", "log", is_flag=True,
              help="Cluster log(1 + x) of the numeric columns (skewed amounts: spending, counts).")
@click.option("--onehot", is_flag=True, help="One-hot encode text/categorical columns instead of refusing them.")
@click.option("--dropna", is_flag=True,
              help="Leave rows with missing values out of the fit (they get an empty cluster in -o).")
@click.option("--impute", type=click.Choice(["mean"]), help="Fill missing values with the column mean.")
@click.option("-o", "--output", "output", type=_PATH,
              help="Write the input rows with a 'cluster' column (.csv, .tsv or .parquet).")
@click.option("--model", "model_path", type=_PATH,
              help="Save the model with its column scaling (.kmk), for `kmeanskit outliers`.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write profile.csv, profile.md, pca.png, features.png (and elbow.png) here.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@friendly_errors
def cluster(input_path, k_text, k_range, columns, standardize, log, onehot, dropna, impute, output,
            model_path, report_dir, seed, force):
    """Segment the rows of a table with k-means and describe each cluster.

    INPUT is a CSV, TSV, Parquet or .npy table. Numeric columns are used
    (or those named with --columns), scaled (--standardize), clustered, and
    each cluster is described by its size, the mean of every column in its
    own units, and the columns where it differs most from the rest.

    \b
    Examples:
        kmeanskit cluster customers.csv -k auto --columns Fresh,Milk,Grocery --log
        kmeanskit cluster customers.csv -k 4 -o labels.csv --model model.kmk --report report/
        kmeanskit outliers new.csv --model model.kmk --top 10
    """
    from ..tables import segment
    from .elbow import parse_k_range

    k_text = k_text.strip().lower()
    if k_text == "auto":
        k = "auto"
    else:
        try:
            k = int(k_text)
        except ValueError:
            raise ValueError(f"-k {k_text!r} is neither a number nor 'auto'.") from None
    cols = [c.strip() for part in columns for c in part.split(",") if c.strip()] or None
    _refuse_existing([output, model_path], force, inputs=[input_path])
    if output is not None:
        from ..tables import FRAME_OUTPUT_SUFFIXES

        if output.suffix.lower() not in FRAME_OUTPUT_SUFFIXES:
            raise ValueError(f"{output}: cannot write {output.suffix!r} tables; use .csv, .tsv or .parquet.")
    if report_dir is not None and not force:
        names = ["profile.csv", "profile.md", "pca.png", "features.png"] + (["elbow.png"] if k == "auto" else [])
        _refuse_existing([report_dir / n for n in names], force)
    seg = segment(input_path, k, columns=cols, standardize=standardize, log=log,
                  categorical="onehot" if onehot else "refuse", dropna=dropna, impute=impute,
                  random_state=seed, k_range=parse_k_range(k_range))
    console = _console()
    n = seg.labels.size
    console.print(f"{input_path.name}: {n} rows; clustering {n - seg.dropped.size} rows on "
                  f"{len(seg.features)} feature(s) from column(s) {', '.join(seg.columns)}"
                  + (" (log(1 + x))" if log else "") + f", scaled: {standardize}")
    if seg.skipped:
        console.print(f"skipped column(s) (not numeric, or not asked for): {', '.join(seg.skipped)}")
    if seg.dropped.size:
        console.print(f"left out {seg.dropped.size} row(s) with missing values (no cluster in the output)")
    if seg.imputed:
        console.print("filled missing values with the column mean: "
                      + ", ".join(f"{c} ({m})" for c, m in seg.imputed.items()))
    if seg.sweep is not None:
        console.print(f"k = {seg.k}, chosen from k = {', '.join(map(str, seg.sweep.k.tolist()))}:")
        console.print(seg.sweep.explain())
    else:
        console.print(f"k = {seg.k}")
    print_profile(console, seg)
    if output is not None:
        from ..tables import write_frame

        write_frame(seg.to_frame(), output, overwrite=force)
        console.print(f"wrote {output} (the input rows with a 'cluster' column)")
    if model_path is not None:
        seg.save_model(model_path, overwrite=force)
        console.print(f"wrote {model_path} (model, column scaling and cluster spreads)")
    if report_dir is not None:
        written = seg.save_report(report_dir, overwrite=force)
        console.print(f"wrote {', '.join(str(p) for p in written)}")


@click.command("outliers")
@click.argument("input_path", metavar="INPUT", type=_PATH)
@click.option("--model", "model_path", type=_PATH, required=True,
              help="A model saved by `kmeanskit cluster --model` (or KMeans.save).")
@click.option("--contamination", type=float,
              help="Flag this fraction of the rows, the highest scores (default 0.01).")
@click.option("--threshold", type=float, help="Flag the rows scoring at least this much instead.")
@click.option("--normalize", is_flag=True,
              help="Score = distance / the cluster's typical distance (its spread on the training rows).")
@click.option("-o", "--output", "output", type=_PATH,
              help="Write every row with outlier_score, is_outlier and cluster columns (.csv/.tsv/.parquet).")
@click.option("--top", default=10, show_default=True, help="How many of the highest scores to print.")
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@friendly_errors
def outliers(input_path, model_path, contamination, threshold, normalize, output, top, force):
    """Score the rows of INPUT by their distance to the nearest cluster centre
    of a saved model, and flag the farthest.

    The model's columns are taken from INPUT by name and scaled as they were
    for training (log(1 + x) and one-hot features are rebuilt from their
    columns). Prints the top rows (row numbers count data rows from 0).

    \b
    Examples:
        kmeanskit cluster customers.csv -k 4 --model model.kmk
        kmeanskit outliers customers.csv --model model.kmk --contamination 0.02 -o scores.csv
        kmeanskit outliers new.parquet --model model.kmk --normalize --threshold 3
    """
    from ..anomaly import detect_outliers
    from ..core import fitted
    from ..io import load_model
    from ..tables import FRAME_OUTPUT_SUFFIXES, model_inputs, read_frame

    if contamination is not None and threshold is not None:
        raise ValueError("pass either --contamination or --threshold, not both.")
    if top < 0:
        raise ValueError("--top must be >= 0.")
    _refuse_existing([output], force, inputs=[input_path, model_path])
    if output is not None and output.suffix.lower() not in FRAME_OUTPUT_SUFFIXES:
        raise ValueError(f"{output}: cannot write {output.suffix!r} tables; use .csv, .tsv or .parquet.")
    km = load_model(model_path)
    model = fitted(km)  # centres, metric, scaling and spreads, used for every row below
    frame = read_frame(input_path)
    try:
        Z = model_inputs(frame, km)
    except ValueError as exc:
        raise ValueError(f"{input_path}: {exc}") from None
    names = list(Z.columns)
    found = detect_outliers(model, Z, contamination=contamination, threshold=threshold, normalize=normalize)
    labels = model.assign(Z)[0]
    console = _console()
    how = (f"threshold {threshold:g}" if threshold is not None
           else f"contamination {0.01 if contamination is None else contamination:g}")
    unit = "distance / cluster spread" if normalize else "distance to the nearest centre (scaled units)"
    console.print(f"{input_path.name}: {frame.shape[0]} rows scored against {model_path.name} "
                  f"(k = {model.n_clusters}, columns {', '.join(map(str, names))}"
                  + (f", scaling {model.scaling.kind}" if model.scaling is not None else "") + ")")
    console.print(f"flagged {found.n_outliers} row(s) as outliers ({how}; score = {unit}, "
                  f"flagged at >= {found.threshold:.4g})")
    if top:
        from rich.table import Table

        order = np.lexsort((np.arange(found.scores.size), -found.scores))[:top]
        table = Table(title=f"top {len(order)} scores")
        for c in ("row", "score", "cluster", "outlier"):
            table.add_column(c, justify="right")
        for i in order:
            table.add_row(str(int(i)), f"{found.scores[i]:.4g}", str(int(labels[i])),
                          "yes" if found.mask[i] else "")
        console.print(table)
    if output is not None:
        from ..tables import write_frame

        out = frame.copy()
        for name in ("outlier_score", "is_outlier", "cluster"):
            if name in out.columns:
                raise ValueError(f"{input_path} already has a column {name!r}; rename it first.")
        out["outlier_score"] = found.scores
        out["is_outlier"] = found.mask
        out["cluster"] = labels.astype(np.int64)
        write_frame(out, output, overwrite=force)
        console.print(f"wrote {output} (every row with outlier_score, is_outlier, cluster)")


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(cluster)
    group.add_command(outliers)
