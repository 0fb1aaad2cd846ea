"""``kmeanskit cluster`` and ``kmeanskit outliers``: segment the rows of a
table, and score new rows against a saved segmentation.

Each command has three parts: check the outputs (``Outputs``), read the input
(:func:`read_input`, the one place a table comes in, from a file or ``-``),
then compute, print and write the staged outputs (:func:`write_table`, the
one place a table goes out, to a file or ``-``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

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

_PATH = click.Path(path_type=Path, dir_okay=False, allow_dash=True)
#: ``--html FILE``, the same on every command that has a report (kmeanskit.report).
html_option = click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
                           help="Write a single-file HTML report (opens offline in any browser).")
#: Files ``--report`` writes (elbow.png only when k was chosen, -k auto).
REPORT_FILES = ("profile.csv", "profile.md", "pca.png", "features.png")


def _console(stderr: bool = False):
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True, stderr=stderr)
    if not console.is_terminal:  # piped: no width to respect, keep the table whole
        console = Console(highlight=False, soft_wrap=True, width=160, stderr=stderr)
    return console


def _quiet_console():
    from rich.console import Console

    return Console(quiet=True)


def read_input(path: Path, fmt: str | None):
    """The table INPUT as a DataFrame: a CSV/TSV/Parquet/.npy file, or ``-``
    for stdin (format from ``--format``, CSV by default)."""
    from ..tables import read_frame

    with input_file(path, fmt) as (p, f):
        return read_frame(p, format=f)


def check_table_output(path, option: str) -> None:
    """Refuse, before any work, an output suffix that names no table format."""
    from ..tables import FRAME_OUTPUT_SUFFIXES

    if path is not None and str(path) != STDIN and path.suffix.lower() not in FRAME_OUTPUT_SUFFIXES:
        raise click.UsageError(f"{path} ({option}): cannot write {path.suffix!r} tables; "
                               "use .csv, .tsv or .parquet (or - for CSV on stdout).")


def write_table(frame, path: Path, outputs: Outputs) -> None:
    """Write ``frame``: staged as the registered output ``path``, or as CSV
    on stdout for ``-``."""
    from ..tables import write_frame

    if str(path) == STDIN:
        click.echo(frame.to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        write_frame(frame, outputs.stage(path), overwrite=True)


def _num(v):
    if not np.isfinite(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _json_num(v):
    v = float(v)
    return v if np.isfinite(v) else None


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
    cats = [c[:-5] for c in p.columns if c.endswith(" mode")]
    for n in cats:
        table.add_column(f"{n} (most common)", justify="right")
    if "missing values" in p.columns:
        table.add_column("missing values", justify="right")
    table.add_column("stands out by (sd from the overall mean)")
    for c, row in p.iterrows():
        table.add_row(str(c), str(int(row["size"])), f"{row['share']:.1%}",
                      *[_num(row[f"{n} mean"]) for n in names],
                      *[f"{row[f'{n} mode']} ({row[f'{n} share']:.0%})" for n in cats],
                      *([str(int(row["missing values"]))] if "missing values" in p.columns else []),
                      str(row["distinguishing"]))
    console.print(table)


def profile_records(seg) -> list[dict]:
    """The profile as JSON-ready records (``--json``'s ``clusters``)."""
    p = seg.profile
    names = [c[:-5] for c in p.columns if c.endswith(" mean")]
    cats = [c[:-5] for c in p.columns if c.endswith(" mode")]
    return [{"cluster": int(c), "size": int(row["size"]), "share": float(row["share"]),
             "mean": {n: _json_num(row[f"{n} mean"]) for n in names},
             "median": {n: _json_num(row[f"{n} median"]) for n in names},
             **({"mode": {n: str(row[f"{n} mode"]) for n in cats},
                 "mode_share": {n: float(row[f"{n} share"]) for n in cats}} if cats else {}),
             **({"missing_values": int(row["missing values"])} if "missing values" in p.columns else {}),
             "distinguishing": str(row["distinguishing"])}
            for c, row in p.iterrows()]


@click.command("cluster")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, allow_dash=True))
@k_option("5", "Number of clusters, or 'auto' to choose it (see --k-range).")
@click.option("--k-range", "k_range", default="2-10", show_default=True,
              help="Values of k tried by -k auto: a range 2-10, a list 2,3,5, or both.")
@columns_option
@click.option("--standardize", type=click.Choice(["zscore", "whiten", "none"]), default="zscore",
              show_default=True, help="Column scaling before clustering (zscore: mean 0, sd 1).")
@click.option("--log", "log", is_flag=True,
              help="Cluster log(1 + x) of the numeric columns (skewed amounts: spending, counts).")
@click.option("--onehot", is_flag=True, help="One-hot encode text/categorical columns instead of refusing them.")
@click.option("--kprototypes", "kproto", is_flag=True,
              help="Cluster text/categorical columns as categories (k-prototypes): the default when "
                   "--columns is not given (text columns with at most 20 levels).")
@click.option("--missing", "missing", type=click.Choice(["ignore", "drop", "mean"]),
              help="Missing values: cluster rows on their observed values (ignore), leave the rows "
                   "out (drop, as --dropna) or fill them with the column mean / mode (mean).")
@click.option("--dropna", is_flag=True,
              help="Leave rows with missing values out of the fit (they get an empty cluster in -o).")
@click.option("--impute", type=click.Choice(["mean"]), help="Fill missing values with the column mean.")
@format_option
@click.option("-o", "--output", "output", type=_PATH,
              help="Write the input rows with a 'cluster' column (.csv, .tsv, .parquet; - for CSV on stdout).")
@click.option("--model", "model_path", type=_PATH,
              help="Save the model with its column scaling (.kmk), for `kmeanskit outliers`.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write profile.csv, profile.md, pca.png, features.png (and elbow.png) here.")
@html_option
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on a Dask cluster (e.g. tcp://scheduler:8786); needs kmeanskit[dask].")
@seed_option()
@force_option
@json_option
@quiet_option
@friendly_errors
def cluster(input_path, k, k_range, columns, standardize, log, onehot, kproto, missing, dropna, impute, fmt,
            output, model_path, report_dir, html_path, scheduler, seed, force, as_json, quiet):
    """Segment the rows of a table with k-means and describe each cluster.

    INPUT is a CSV, TSV, Parquet or .npy table, or - for stdin (CSV unless
    --format). Numeric columns are used (or those named with --columns),
    scaled (--standardize), clustered, and each cluster is described by its
    size, the mean of every column in its own units, and the columns where
    it differs most from the rest. Text columns (up to 20 levels) are
    clustered as categories (k-prototypes; --onehot encodes them instead),
    and each cluster's most common category is shown with its share.

    \b
    Examples:
        kmeanskit cluster customers.csv -k auto --columns Fresh,Milk,Grocery --log
        kmeanskit cluster customers.csv -k 4 -o labels.csv --model model.kmk --report report/
        kmeanskit cluster customers.csv -k auto --log --html report.html
        kmeanskit cluster penguins.csv -k 3 --missing ignore
        cat customers.csv | kmeanskit cluster - -k 3 -o - > labels.csv
        kmeanskit cluster 'data/*.parquet' -k 20 -o labels.parquet

    A folder of Parquet files or a glob ('data/*.parquet', quoted) is
    streamed: read chunk by chunk through Dask, clustered without ever
    holding the table, and -o written one chunk at a time (Parquet or CSV);
    --scheduler runs it on a running Dask cluster (docs/scale.md).
    """
    from ..tables import segment
    from ..tables.stream import is_parquet_dataset
    from .elbow import k_range_option

    k_text = str(k).strip().lower()
    if k_text == "auto":
        k = "auto"
    else:
        try:
            k = int(k_text)
        except ValueError:
            raise click.BadParameter(f"{k_text!r} is neither a number nor 'auto'.",
                                     param_hint="'-k' / '--k'") from None
    ks = k_range_option(k_range, "--k-range")
    if onehot and kproto:
        raise click.UsageError("--onehot and --kprototypes both say what to do with text columns; pick one.")
    if missing is not None and (dropna or impute):
        raise click.UsageError("--missing replaces --dropna and --impute; pass only one of them.")
    if missing == "drop":
        dropna, missing = True, None
    elif missing == "mean":
        impute, missing = "mean", None
    if onehot:
        categorical = "onehot"
    elif kproto or (split_columns(columns) is None and k != "auto"):
        categorical = "kprototypes"
    else:
        categorical = "refuse"
    to_stdout = output is not None and str(output) == STDIN
    if to_stdout and as_json:
        raise click.UsageError("-o - and --json both write to stdout; pick one.")
    outputs = Outputs(inputs=[input_path], force=force)
    outputs.add(output, "-o")
    outputs.add(model_path, "--model")
    outputs.add(html_path, "--html")
    check_table_output(output, "-o")
    report = []
    if report_dir is not None:
        if report_dir.exists() and not report_dir.is_dir():
            raise click.ClickException(f"{report_dir} is a file; pass a folder for --report.")
        names = list(REPORT_FILES) + (["elbow.png"] if k == "auto" else [])
        report = [outputs.add(report_dir / n, "--report") for n in names]

    if str(input_path) != STDIN and (scheduler or is_parquet_dataset(input_path)):
        if html_path is not None:
            raise click.UsageError("--html needs the table in memory; it is not available for a streamed "
                                   "Parquet folder or glob, or with --scheduler.")
        if missing == "ignore":
            raise click.UsageError("--missing ignore needs the table in memory; use --missing drop or mean "
                                   "for a streamed Parquet folder or glob, or with --scheduler.")
        from .scale import cluster_streamed

        return cluster_streamed(input_path, k, ks, columns, standardize, log, onehot, dropna, impute,
                                output, model_path, report_dir, scheduler, seed, outputs, as_json, quiet)
    frame = read_input(input_path, fmt)
    seg = segment(frame, k, columns=split_columns(columns), standardize=standardize, log=log,
                  categorical=categorical, dropna=dropna, impute=impute, missing=missing,
                  random_state=seed, k_range=ks)
    with outputs:
        if output is not None:
            write_table(seg.to_frame(), output, outputs)
        if model_path is not None:
            seg.save_model(outputs.stage(model_path), overwrite=True)
        if report:
            folder = outputs.folder(report_dir)
            for written in seg.save_report(folder, overwrite=True):
                outputs.adopt(report_dir / written.name, written)
        if html_path is not None:
            outputs.write(html_path, seg.to_html(source="stdin" if str(input_path) == STDIN
                                                 else input_path.name).encode("utf-8"))
    n = seg.labels.size
    name = "stdin" if str(input_path) == STDIN else input_path.name
    if as_json:
        click.echo(json.dumps({
            "command": "cluster", "input": str(input_path), "rows": int(n),
            "rows_clustered": int(n - seg.dropped.size), "columns": list(seg.columns),
            "features": list(seg.features), "skipped_columns": list(seg.skipped),
            "dropped_rows": seg.dropped.tolist(), "imputed": {c: int(m) for c, m in seg.imputed.items()},
            "log": bool(log), "scaling": standardize, "seed": seed, "k": int(seg.k),
            "sweep": None if seg.sweep is None else seg.sweep.to_dict(),
            "clusters": profile_records(seg),
            "written": [str(p) for p in (output, model_path) if p is not None and str(p) != STDIN]
            + [str(p) for p in report] + ([] if html_path is None else [str(html_path)]),
        }, indent=2))
    else:
        console = _console(stderr=to_stdout)
        console.print(f"{name}: {n} rows; clustering {n - seg.dropped.size} rows on "
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
    if output is not None and not to_stdout:
        announce(output, "the input rows with a 'cluster' column", quiet)
    if model_path is not None:
        announce(model_path, "model, column scaling and cluster spreads", quiet)
    for p in report:
        announce(p, "report", quiet)
    if html_path is not None:
        announce(html_path, "HTML report", quiet)


@click.command("outliers")
@click.argument("input_path", metavar="INPUT", type=_PATH)
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="A model saved by `kmeanskit cluster --model` (or KMeans.save, KPrototypes.save).")
@click.option("--contamination", type=float,
              help="Flag this fraction of the rows, the highest scores (default 0.01).")
@click.option("--threshold", type=float, help="Flag the rows scoring at least this much instead.")
@click.option("--normalize", is_flag=True,
              help="Score = distance / the cluster's typical distance (its spread on the training rows).")
@format_option
@click.option("-o", "--output", "output", type=_PATH,
              help="Write every row with outlier_score, is_outlier and cluster columns "
                   "(.csv/.tsv/.parquet; - for CSV on stdout).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many of the highest scores to print (and list in --html).")
@html_option
@force_option
@json_option
@quiet_option
@friendly_errors
def outliers(input_path, model_path, contamination, threshold, normalize, fmt, output, top, html_path,
             force, as_json, quiet):
    """Score the rows of INPUT by their distance to the nearest cluster centre
    of a saved model, and flag the farthest.

    The model's columns are taken from INPUT (a table file, or - for stdin)
    by name and scaled as they were for training (log(1 + x) and one-hot
    features are rebuilt from their columns). Prints the top rows (row
    numbers count data rows from 0).

    A k-prototypes model (text columns, `cluster --kprototypes`) scores the
    root of the mixed distance (squared numeric differences plus gamma per
    differing category); with `--missing ignore` a row with empty cells is
    scored on its values, rescaled by (columns / values present) so that it
    compares with complete rows. A row with no value at all is not scored.

    \b
    Examples:
        kmeanskit cluster customers.csv -k 4 --model model.kmk
        kmeanskit outliers customers.csv --model model.kmk --contamination 0.02 -o scores.csv
        kmeanskit outliers new.parquet --model model.kmk --normalize --threshold 3
        kmeanskit outliers customers.csv --model model.kmk --html outliers.html
        kmeanskit cluster penguins.csv -k 3 --missing ignore --model penguins.kmk
        kmeanskit outliers penguins.csv --model penguins.kmk --normalize
    """
    from ..anomaly import detect_outliers
    from ..core import fitted
    from ..io import load_model
    from ..tables import model_inputs

    if contamination is not None and threshold is not None:
        raise click.UsageError("pass either --contamination or --threshold, not both.")
    to_stdout = output is not None and str(output) == STDIN
    if to_stdout and as_json:
        raise click.UsageError("-o - and --json both write to stdout; pick one.")
    outputs = Outputs(inputs=[input_path, model_path], force=force)
    outputs.add(output, "-o")
    outputs.add(html_path, "--html")
    check_table_output(output, "-o")
    km = load_model(model_path)
    from ..kprototypes import KPrototypes

    mixed = isinstance(km, KPrototypes)  # kmeanskit.load gives one for a k-prototypes model
    # k-means: centres, metric, scaling and spreads, used for every row below; k-prototypes: the model itself
    model = km if mixed else fitted(km)
    k = int(km.cluster_centroids_.shape[0]) if mixed else model.n_clusters
    scaling = getattr(km, "scaling_", None) if mixed else model.scaling
    cat_names = [str(km.feature_names_in_[i]) for i in km.categorical_] if mixed else []
    frame = read_input(input_path, fmt)
    try:
        Z = model_inputs(frame, km)
    except ValueError as exc:
        raise ValueError(f"{input_path}: {exc}") from None
    names = list(Z.columns)
    found = detect_outliers(model, Z, contamination=contamination, threshold=threshold, normalize=normalize)
    labels = found.labels
    unscored = np.isnan(found.scores)  # k-prototypes: rows with no value in the model's columns
    incomplete = Z.isna().to_numpy().any(axis=1) & ~unscored if mixed else np.zeros(len(Z), dtype=bool)
    order = np.lexsort((np.arange(found.scores.size), -found.scores))[:top]
    name = "stdin" if str(input_path) == STDIN else input_path.name
    if mixed:
        unit = ("root mixed distance / cluster spread" if normalize
                else "root mixed distance to the nearest prototype (scaled units)")
    else:
        unit = "distance / cluster spread" if normalize else "distance to the nearest centre (scaled units)"
    if output is not None or html_path is not None:
        if output is not None:
            out = frame.copy()
            for col in ("outlier_score", "is_outlier", "cluster"):
                if col in out.columns:
                    raise ValueError(f"{input_path} already has a column {col!r}; rename it first.")
            out["outlier_score"] = found.scores
            out["is_outlier"] = found.mask
            if unscored.any():  # no cluster for a row with nothing to compare (as `cluster` leaves it empty)
                import pandas as pd

                out["cluster"] = pd.array(np.where(unscored, 0, labels), dtype="Int64")
                out.loc[unscored, "cluster"] = pd.NA
            else:
                out["cluster"] = labels.astype(np.int64)
        with outputs:
            if output is not None:
                write_table(out, output, outputs)
            if html_path is not None:
                from ..report import outliers_html

                outputs.write(html_path, outliers_html(
                    found, frame=frame, labels=np.where(unscored, -1, labels), top=top, source=name,
                    model=model_path.name, unit=unit).encode("utf-8"))
    if as_json:
        click.echo(json.dumps({
            "command": "outliers", "input": str(input_path), "model": str(model_path),
            "rows": int(frame.shape[0]), "k": k, "features": [str(c) for c in names],
            "categorical": cat_names, "scaling": None if scaling is None else scaling.kind,
            "normalize": bool(normalize), "contamination": None if threshold is not None else
            (0.01 if contamination is None else contamination), "threshold": _json_num(found.threshold),
            "n_outliers": int(found.n_outliers), "outlier_rows": found.indices.tolist(),
            "incomplete_rows": int(incomplete.sum()), "unscored_rows": np.flatnonzero(unscored).tolist(),
            "top": [{"row": int(i), "score": _json_num(found.scores[i]),
                     "cluster": None if unscored[i] else int(labels[i]),
                     "outlier": bool(found.mask[i])} for i in order],
            "written": ([] if output is None or to_stdout else [str(output)])
            + ([] if html_path is None else [str(html_path)]),
        }, indent=2))
    else:
        console = _console(stderr=to_stdout)
        how = (f"threshold {threshold:g}" if threshold is not None
               else f"contamination {0.01 if contamination is None else contamination:g}")
        console.print(f"{name}: {frame.shape[0]} rows scored against {model_path.name} "
                      f"(k = {k}, columns {', '.join(map(str, names))}"
                      + (f"; categorical {', '.join(cat_names)}" if cat_names else "")
                      + (f"{';' if cat_names else ','} scaling {scaling.kind}" if scaling is not None else "")
                      + ")")
        if incomplete.any():
            console.print(f"{int(incomplete.sum())} row(s) with missing values scored on the values they have "
                          "(rescaled by columns / values present)")
        if unscored.any():
            console.print(f"{int(unscored.sum())} row(s) with no value in the model's columns: not scored "
                          f"(rows {', '.join(map(str, np.flatnonzero(unscored)[:10].tolist()))}"
                          + (", ..." if unscored.sum() > 10 else "") + ")")
        console.print(f"flagged {found.n_outliers} row(s) as outliers ({how}; score = {unit}, "
                      f"flagged at >= {found.threshold:.4g})")
        if top:
            from rich.table import Table

            table = Table(title=f"top {len(order)} scores")
            for c in ("row", "score", "cluster", "outlier"):
                table.add_column(c, justify="right")
            for i in order:
                table.add_row(str(int(i)), f"{found.scores[i]:.4g}" if not unscored[i] else "-",
                              str(int(labels[i])) if not unscored[i] else "-",
                              "yes" if found.mask[i] else "")
            console.print(table)
    if output is not None and not to_stdout:
        announce(output, "every row with outlier_score, is_outlier, cluster", quiet)
    if html_path is not None:
        announce(html_path, "HTML report", quiet)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``kmeanskit`` command group."""
    group.add_command(cluster)
    group.add_command(outliers)
