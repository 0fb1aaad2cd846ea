"""Segment a Parquet data set larger than memory, chunk by chunk, through Dask.

:func:`cluster_parquet` reads a Parquet file, a folder of them or a glob
(``data/*.parquet``) as a Dask DataFrame (one partition per row group or
file), scales the chosen columns with means and deviations from one pass,
fits k-means with the Dask source of the solver loop (docs/scale.md), and
writes the rows with their cluster one partition at a time: the table is
never held whole, in this process or anywhere. It runs on the active
``distributed.Client`` (``scheduler=`` connects one) or on Dask's local
synchronous scheduler.
"""

from __future__ import annotations

import glob as _glob
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import models
from .._chunked import ChunkSource, as_dask_array, compute, require_dask
from ..core import fit, model_record

__all__ = ["is_parquet_dataset", "cluster_parquet", "StreamedSegmentation"]


def is_parquet_dataset(path) -> bool:
    """Whether ``path`` names a Parquet data set to stream: a glob, a folder,
    or a ``.parquet`` file together with a scheduler."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        return True
    return Path(text).is_dir()


def _parquet_files(path) -> list[str]:
    text = str(path)
    if Path(text).is_dir():
        files = sorted(str(p) for p in Path(text).rglob("*.parquet"))
    elif any(ch in text for ch in "*?["):
        files = sorted(_glob.glob(text, recursive=True))
    else:
        files = [text] if Path(text).exists() else []
    if not files:
        raise ValueError(f"no Parquet files match {text}; pass a .parquet file, a folder of them "
                         "or a glob such as 'data/*.parquet'.")
    return files


@dataclass
class StreamedSegmentation:
    """What :func:`cluster_parquet` found: the columns used, the scaling,
    the fit, each cluster's size and mean in the columns' own units."""

    files: list
    columns: list
    skipped: list
    rows: int
    scaling: models.ScalingRecord
    result: object
    sizes: np.ndarray
    means: np.ndarray
    written: list = field(default_factory=list)

    @property
    def k(self) -> int:
        """The number of clusters."""
        return int(self.result.centers.shape[0])


def cluster_parquet(path, k, *, columns=None, standardize="zscore", random_state=None,
                    output=None, model_path=None, k_range=range(2, 11)) -> StreamedSegmentation:
    """Cluster a Parquet data set chunk by chunk (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` file, a folder of them (searched recursively) or a glob.
    k : int or "auto"
        Number of clusters; "auto" chooses it with :func:`kmeanskit.choose_k`
        on a uniform sample drawn chunk by chunk.
    columns : list of str, optional
        Columns to cluster (default: every numeric column).
    standardize : {"zscore", "whiten", "none"}
        Column scaling before clustering, from one pass over the data.
    random_state : int, optional
    output : path, optional
        Write the input rows with a ``cluster`` column here (``.parquet`` or
        ``.csv``), one partition at a time.
    model_path : path, optional
        Save the model with its column scaling (``.kmk``).
    k_range : iterable of int
        Values of k tried by ``k="auto"``.

    Returns
    -------
    StreamedSegmentation

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(3):
    ...     x = np.concatenate([rng.normal(0, 1, 50), rng.normal(10, 1, 50)])
    ...     pd.DataFrame({"x": x, "y": -x}).to_parquet(d / f"part{i}.parquet")
    >>> seg = cluster_parquet(d, 2, random_state=0, output=d / "labels.parquet")
    >>> seg.rows, sorted(seg.sizes.tolist())
    (300, [150, 150])
    >>> pd.read_parquet(d / "labels.parquet").shape
    (300, 3)
    """
    require_dask()
    import dask.dataframe as dd

    files = _parquet_files(path)
    ddf = dd.read_parquet(files)
    names = [str(c) for c in ddf.columns]
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"no column(s) {missing} in {path}; the columns are {names}.")
        cols = list(columns)
    else:
        cols = [c for c, t in ddf.dtypes.items() if t.kind in "fiub"]
    if not cols:
        raise ValueError(f"{path} has no numeric columns among {names}; pass --columns.")
    X = as_dask_array(ddf[cols])
    n = int(X.shape[0])
    if standardize not in ("zscore", "whiten", "none"):
        raise ValueError(f"standardize={standardize!r}; pass 'zscore', 'whiten' or 'none'.")
    _, mean, var = ChunkSource(X, None, 1).summary()
    sd = np.sqrt(var)
    sd = np.where(sd > 0, sd, 1.0)
    center = mean if standardize == "zscore" else np.zeros_like(mean)
    scale = sd if standardize != "none" else np.ones_like(sd)
    scaling = models.ScalingRecord(kind=standardize, center=center, scale=scale)
    Z = (X - center.astype(X.dtype)) / scale.astype(X.dtype) if standardize != "none" else X
    if k == "auto":
        from ..selection import choose_k

        k = int(choose_k(Z, k_range, random_state=random_state).best_k)
    res = fit(Z, int(k), random_state=random_state)
    sizes = _sizes(res.labels, res.centers.shape[0])
    means = res.centers.astype(np.float64) * scale + center
    seg = StreamedSegmentation(files=files, columns=cols, skipped=[c for c in names if c not in cols],
                               rows=n, scaling=scaling, result=res, sizes=sizes, means=means)
    if output is not None:
        write_labelled(ddf, res.labels, output)
        seg.written.append(Path(output))
    if model_path is not None:
        record = model_record(res, scaling=scaling, feature_names=cols)
        models.write(record, model_path, overwrite=True)
        seg.written.append(Path(model_path))
    return seg


def _sizes(labels, k: int) -> np.ndarray:
    """Rows per cluster, counted chunk by chunk."""
    import dask.array as da

    return np.asarray(compute(da.bincount(labels.astype(np.int64), minlength=k))[0])


def write_labelled(ddf, labels, output) -> None:
    """The rows of ``ddf`` with a ``cluster`` column, written to ``output``
    (``.parquet``: one row group per partition; ``.csv``) one partition at
    a time, in order."""
    out = Path(output)
    fmt = out.suffix.lower()
    if fmt not in (".parquet", ".csv"):
        raise ValueError(f"cannot write {out.name}: streamed output is .parquet or .csv.")
    offsets = np.concatenate([[0], np.cumsum(labels.chunks[0])])
    writer = None
    try:
        for i in range(ddf.npartitions):
            part, lab = compute(ddf.partitions[i], labels[offsets[i]:offsets[i + 1]])
            part = part.assign(cluster=np.asarray(lab).astype(np.int32))
            if fmt == ".csv":
                part.to_csv(out, mode="w" if i == 0 else "a", header=i == 0, index=False)
                continue
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(str(out), table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
