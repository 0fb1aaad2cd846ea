"""Reading tables: the numeric matrix to cluster (:func:`read_table`) and
whole tables as pandas DataFrames (:func:`read_frame`, :func:`write_frame`).

Formats: CSV/TSV, Parquet and NumPy ``.npy`` (never unpickled). Errors name
the columns that are missing or not numeric and say what to do. CSV/TSV need
nothing beyond NumPy (pandas is used when it is installed); DataFrames and
Parquet need the ``tables`` extra (``pip install kmeanskit[tables]``), whose
packages are imported only when used.

The same names are importable from :mod:`kmeanskit.io` and
:mod:`kmeanskit.tables`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from .._fileutil import atomic_write_bytes
from .._validation import check_read_budget, read_npy

__all__ = ["Table", "read_table", "TABLE_SUFFIXES", "read_frame", "write_frame", "FRAME_OUTPUT_SUFFIXES"]

#: File suffixes understood by :func:`read_table`, by format.
TABLE_SUFFIXES = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".pq": "parquet", ".npy": "npy",
}


class Table(NamedTuple):
    """A numeric table, as :func:`read_table` returns it.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_columns)
        The values, float64 (float32 kept for a float32 ``.npy``).
    columns : list of str
        The columns used, in file order (``"0"``, ``"1"``... for an
        unstructured ``.npy``).
    skipped : list of str
        The non-numeric columns left out because no column list was given.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from kmeanskit.tables import read_table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.npy"
    >>> np.save(p, np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    >>> X, columns, skipped = read_table(p)
    >>> X.dtype, columns, skipped
    (dtype('float32'), ['0', '1'], [])
    """

    X: np.ndarray
    columns: list
    skipped: list


def _need(module: str, what: str):
    """Import an optional dependency of the ``tables`` extra, or raise an
    ImportError saying that ``what`` needs it and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs {module}, which is not installed; "
                          "install it with `pip install kmeanskit[tables]`.") from None


def _select(names: list, numeric: list, columns, path) -> tuple[list, list]:
    """Pick the columns to use: ``columns`` if given (all must exist and be
    numeric), else every numeric one. Returns (used, skipped)."""
    numeric = set(numeric)  # membership tests below: linear, not quadratic, in the columns
    if columns is not None:
        columns = [str(c) for c in columns]
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"{path}: column(s) {', '.join(map(repr, missing))} not found; "
                             f"available: {', '.join(map(repr, names))}.")
        bad = [c for c in columns if c not in numeric]
        if bad:
            raise ValueError(f"{path}: column(s) {', '.join(map(repr, bad))} are not numeric; "
                             "choose numeric columns with --columns / columns=.")
        return columns, []
    used = [c for c in names if c in numeric]
    if not used:
        raise ValueError(f"{path}: no numeric columns among {', '.join(map(repr, names))}; "
                         "the table must have at least one column of numbers.")
    return used, [c for c in names if c not in numeric]


def _locate(path, format) -> tuple[Path, str]:
    """The path and its table format (from ``format`` or the suffix); the
    file must exist."""
    path = Path(path)
    fmt = format or TABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown table format {path.suffix!r}; use one of "
                         f"{', '.join(sorted(TABLE_SUFFIXES))} (or pass format=).")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    return path, fmt


def _load_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array, never unpickled; its header's shape is checked
    against the file's size and the read budget before anything is
    allocated (``_validation.read_npy``)."""
    with open(path, "rb") as fh:
        A = read_npy(fh, os.fstat(fh.fileno()).st_size, str(path))
    # an array of no rows holds no data whatever its columns: their names ("0", "1", ...) are
    # what a table of it would allocate (about 100 bytes each in a DataFrame)
    if A.ndim >= 2:
        check_read_budget(100 * int(np.prod(A.shape[1:], dtype=object)),
                          f"{path}: the column names of an array of shape {A.shape}")
    return A


def _load_parquet(path: Path):
    """A Parquet file as a DataFrame, after checking its footer: the row
    groups' declared sizes against the file's size, and their decoded size
    against the read budget. pyarrow's errors on a damaged file become one
    ValueError."""
    pq = _need("pyarrow.parquet", "reading Parquet")
    import pyarrow as pa

    size = path.stat().st_size
    try:
        meta = pq.ParquetFile(path).metadata
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        stored = sum(g.column(j).total_compressed_size for g in groups for j in range(g.num_columns))
        if stored > size:
            raise ValueError(f"{path}: the Parquet footer declares {stored:,} bytes of column data in a "
                             f"{size:,}-byte file; the file is truncated or damaged.")
        # decoded columns, then their copy as a DataFrame
        check_read_budget(2 * sum(max(g.total_byte_size, 8 * g.num_rows * g.num_columns)
                                  for g in groups), f"{path}: a Parquet table of {meta.num_rows:,} rows")
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, IndexError, OverflowError, RuntimeError, KeyError, TypeError,
            AttributeError) as exc:  # damaged pandas metadata makes to_pandas raise KeyError, ...
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable Parquet file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'damaged'}).") from None


def _load_csv(pd, path: Path, sep: str):
    """A CSV/TSV file as a DataFrame: its parsed size (at most about four
    times the text, two characters a value) checked against the read budget
    first; pandas' parse errors as one ValueError."""
    check_read_budget(4 * path.stat().st_size, f"{path}: a CSV table of {path.stat().st_size:,} bytes")
    try:
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; pass a table with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise ValueError(f"{path}: not a readable {'CSV' if sep == ',' else 'TSV'} table "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}).") from None


def _finish(X, used, skipped, path) -> Table:
    if X.shape[0] == 0:
        raise ValueError(f"{path}: the table has no rows; pass a file with data.")
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [f"{used[j]!r} ({int(bad[:, j].sum())})" for j in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(f"{path}: missing or non-finite values in column(s) {', '.join(cols)}; "
                         "drop or impute those rows first.")
    return Table(np.ascontiguousarray(X), used, skipped)


def _read_csv_plain(path: Path, delimiter: str, columns) -> Table:
    """CSV without pandas: header row, then values; a column is numeric when
    every non-empty cell parses as a float. The cells are Python strings
    (about 64 bytes each with their list slot, and a cell takes at least two
    bytes of the file): 32 times the file's size is checked against the read
    budget first."""
    size = path.stat().st_size
    check_read_budget(32 * size, f"{path}: a CSV table of {size:,} bytes read without pandas")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: the file is empty; pass a table with a header row.")
    names = [c.strip() for c in rows[0]]
    body = rows[1:]
    cols = {}
    numeric = []
    for j, name in enumerate(names):
        vals = []
        ok = True
        for r in body:
            cell = r[j].strip() if j < len(r) else ""
            if cell == "":
                vals.append(np.nan)
                continue
            try:
                vals.append(float(cell))
            except ValueError:
                ok = False
                break
        if ok:
            numeric.append(name)
            cols[name] = vals
    used, skipped = _select(names, numeric, columns, path)
    X = np.array([cols[c] for c in used], dtype=np.float64).T.reshape(len(body), len(used))
    return _finish(X, used, skipped, path)


def _from_frame(df, columns, path) -> Table:
    names = [str(c) for c in df.columns]
    df.columns = names
    numeric = [c for c in names if df[c].dtype.kind in "fiub"]
    used, skipped = _select(names, numeric, columns, path)
    X = df[used].to_numpy(dtype=np.float64, na_value=np.nan)
    return _finish(X, used, skipped, path)


def read_table(path: str | os.PathLike, columns: Sequence[str] | None = None, *,
               format: str | None = None) -> Table:
    """Read the numeric columns of a CSV, TSV, Parquet or ``.npy`` file.

    Parameters
    ----------
    path : str or path
        ``.csv``/``.txt`` (comma), ``.tsv``/``.tab`` (tab), ``.parquet``/``.pq``
        or ``.npy`` (a 1-D, 2-D or structured array; never unpickled).
    columns : sequence of str, optional
        Columns to use, by name (``.npy`` columns are named ``"0"``, ``"1"``...
        unless the array is structured). Default: every numeric column, the
        others being listed in ``Table.skipped``.
    format : {"csv", "tsv", "parquet", "npy"}, optional
        Overrides the guess from the suffix.

    Returns
    -------
    Table
        ``(X, columns, skipped)``.

    Raises
    ------
    ValueError
        Unknown format, missing or non-numeric columns (named), empty table,
        missing values (column and count named).
    ImportError
        Parquet without pyarrow (names the ``tables`` extra).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from kmeanskit.tables import read_table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("name,x,y\\na,1,2\\nb,3,4\\n")
    >>> t = read_table(p)
    >>> t.X.tolist(), t.columns, t.skipped
    ([[1.0, 2.0], [3.0, 4.0]], ['x', 'y'], ['name'])
    """
    path, fmt = _locate(path, format)
    if fmt == "npy":
        A = _load_npy(path)
        if A.dtype.names:
            names = list(A.dtype.names)
            numeric = [c for c in names if A.dtype[c].kind in "fiub" and A.dtype[c].shape == ()]
            used, skipped = _select(names, numeric, columns, path)
            X = np.stack([A[c].astype(np.float64) for c in used], axis=1)
            return _finish(X, used, skipped, path)
        if A.ndim == 1:
            A = A.reshape(-1, 1)
        if A.ndim != 2:
            raise ValueError(f"{path}: the array has shape {A.shape}; save a 2-D table "
                             "(rows x columns), e.g. pixels as img.reshape(-1, 3).")
        if A.dtype.kind not in "fiub":
            raise ValueError(f"{path}: the array has non-numeric dtype {A.dtype}; save numbers.")
        names = [str(j) for j in range(A.shape[1])]
        used, skipped = _select(names, names, columns, path)
        X = A[:, [int(c) for c in used]]
        X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
        return _finish(X, used, skipped, path)
    if fmt == "parquet":
        return _from_frame(_load_parquet(path), columns, path)
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        try:
            import pandas as pd
        except ImportError:
            return _read_csv_plain(path, sep, columns)
        return _from_frame(_load_csv(pd, path, sep), columns, path)
    raise ValueError(f"unknown format {fmt!r}; use csv, tsv, parquet or npy.")


# --- whole tables as DataFrames (kmeanskit.segment, `kmeanskit cluster` / `outliers`) ---------------

#: File suffixes :func:`write_frame` can write, by format.
FRAME_OUTPUT_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def read_frame(path: str | os.PathLike, *, format: str | None = None):
    """Read a whole CSV, TSV, Parquet or ``.npy`` table as a pandas DataFrame.

    Unlike :func:`read_table`, every column is kept (text and all) and
    missing values stay missing, so the rows can be written back out with
    extra columns. A 2-D ``.npy`` array gets the columns ``"0"``, ``"1"``...;
    a structured one keeps its field names. Needs pandas (and pyarrow for
    Parquet): ``pip install kmeanskit[tables]``.

    Parameters
    ----------
    path : str or path
        ``.csv``/``.txt``, ``.tsv``/``.tab``, ``.parquet``/``.pq`` or ``.npy``.
    format : {"csv", "tsv", "parquet", "npy"}, optional
        Overrides the guess from the suffix.

    Returns
    -------
    pandas.DataFrame
        Every column, named as strings.

    Raises
    ------
    ValueError
        Unknown format, empty file, or a ``.npy`` array that is not a table
        or would need unpickling.
    ImportError
        pandas (or pyarrow for Parquet) missing; names the ``tables`` extra.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from kmeanskit.tables import read_frame
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("name,x\\na,1\\nb,\\n")
    >>> df = read_frame(p)
    >>> list(df.columns), df["x"].isna().tolist()
    (['name', 'x'], [False, True])
    """
    pd = _need("pandas", "reading a whole table")
    path, fmt = _locate(path, format)
    if fmt == "npy":
        A = _load_npy(path)
        if A.dtype.names:
            return pd.DataFrame({c: A[c] for c in A.dtype.names})
        if A.ndim == 1:
            A = A.reshape(-1, 1)
        if A.ndim != 2:
            raise ValueError(f"{path}: the array has shape {A.shape}; save a 2-D table (rows x columns).")
        return pd.DataFrame(A, columns=[str(j) for j in range(A.shape[1])])
    if fmt == "parquet":
        df = _load_parquet(path)
    elif fmt in ("csv", "tsv"):
        df = _load_csv(pd, path, "," if fmt == "csv" else "\t")
    else:
        raise ValueError(f"unknown format {fmt!r}; use csv, tsv, parquet or npy.")
    df.columns = [str(c) for c in df.columns]
    return df


def write_frame(frame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a DataFrame as CSV, TSV or Parquet (chosen by the suffix),
    atomically, without the index. Refuses to replace an existing file
    unless ``overwrite``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write.
    path : str or path
        ``.csv``, ``.tsv``/``.tab`` or ``.parquet``/``.pq``.
    overwrite : bool, default=False
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        A suffix that names no table format.
    ImportError
        Parquet without pyarrow (names the ``tables`` extra).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from kmeanskit.tables import write_frame
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> _ = write_frame(pd.DataFrame({"x": [1, 2]}), p)
    >>> p.read_text()
    'x\\n1\\n2\\n'
    """
    path = Path(path)
    fmt = FRAME_OUTPUT_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot write {path.suffix!r} tables; name the file "
                         f"{', '.join(sorted(FRAME_OUTPUT_SUFFIXES))}.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force) to replace it.")
    if fmt == "parquet":
        _need("pyarrow", "writing Parquet")
        import io as _io

        buf = _io.BytesIO()
        frame.to_parquet(buf, index=False)
        data = buf.getvalue()
    else:
        data = frame.to_csv(index=False, sep="," if fmt == "csv" else "\t",
                            lineterminator="\n").encode()
    return atomic_write_bytes(path, data)
