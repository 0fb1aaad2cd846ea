"""``kmeanskit cluster`` on a Parquet data set streamed through Dask
(:mod:`kmeanskit.tables.stream`), optionally on a running Dask cluster."""

from __future__ import annotations

import json

import click

from ._common import STDIN, announce


def cluster_streamed(input_path, k, ks, columns, standardize, log, onehot, dropna, impute, output,
                     model_path, report_dir, scheduler, seed, outputs, as_json, quiet):
    """The streamed branch of ``kmeanskit cluster``: the options that need
    the whole table are refused, outputs are written through ``outputs``
    (temporaries renamed when all succeeded)."""
    from ..tables.stream import cluster_parquet

    unsupported = [name for name, on in (("--log", log), ("--onehot", onehot), ("--dropna", dropna),
                                         ("--impute", impute), ("--report", report_dir))
                   if on]
    if unsupported:
        raise click.UsageError(f"{', '.join(unsupported)}: not available for streamed Parquet "
                               "input (they need the whole table in memory); drop them, see "
                               "docs/scale.md.")
    if output is not None and str(output) == STDIN:
        raise click.UsageError("streamed input is written to a file, not stdout; pass -o labels.parquet.")
    if output is not None and output.suffix.lower() not in (".parquet", ".csv"):
        raise click.UsageError(f"-o {output.name}: streamed output is .parquet or .csv.")
    client = None
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise click.ClickException("--scheduler needs the dask extra: pip install "
                                       "'kmeanskit[dask]'.") from None
        try:
            client = Client(scheduler)  # waits up to Dask's distributed.comm.timeouts.connect
        except (OSError, TimeoutError) as exc:
            raise click.ClickException(f"cannot connect to the Dask scheduler at {scheduler} "
                                       f"({exc}); check the address and that it runs.") from None
    cols = [c.strip() for c in columns.split(",")] if columns else None
    try:
        with outputs:
            seg = cluster_parquet(input_path, k, columns=cols, standardize=standardize,
                                  random_state=seed, k_range=ks,
                                  output=None if output is None else outputs.stage(output),
                                  model_path=None if model_path is None else outputs.stage(model_path))
    finally:
        if client is not None:
            client.close()
    if as_json:
        click.echo(json.dumps({
            "command": "cluster", "input": str(input_path), "streamed": True,
            "files": len(seg.files), "rows": seg.rows, "columns": seg.columns,
            "skipped_columns": seg.skipped, "scaling": standardize, "seed": seed, "k": seg.k,
            "inertia": float(seg.result.inertia), "n_iter": int(seg.result.n_iter),
            "clusters": [{"cluster": j, "size": int(seg.sizes[j]),
                          "mean": {c: float(seg.means[j, i]) for i, c in enumerate(seg.columns)}}
                         for j in range(seg.k)],
            "written": [str(p) for p in (output, model_path) if p is not None],
        }, indent=2))
    else:
        click.echo(f"{input_path}: {seg.rows} rows in {len(seg.files)} Parquet file(s), streamed; "
                   f"clustering column(s) {', '.join(seg.columns)}, scaled: {standardize}")
        if seg.skipped:
            click.echo(f"skipped column(s) (not numeric, or not asked for): {', '.join(seg.skipped)}")
        click.echo(f"k = {seg.k}, inertia {seg.result.inertia:.6g} after {seg.result.n_iter} iterations")
        header = ["cluster", "size", "share"] + seg.columns
        click.echo("  ".join(header))
        for j in range(seg.k):
            row = [str(j), str(int(seg.sizes[j])), f"{seg.sizes[j] / seg.rows:.1%}"]
            row += [f"{v:.4g}" for v in seg.means[j]]
            click.echo("  ".join(row))
    if output is not None:
        announce(output, "the input rows with a 'cluster' column", quiet)
    if model_path is not None:
        announce(model_path, "model and column scaling", quiet)
