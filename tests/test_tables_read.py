"""kmeanskit.tables.read: the numeric matrix of CSV/TSV (with and without
pandas), structured and plain ``.npy``, Parquet; the same readers from
kmeanskit.io. (The CLI's use of them is tested in test_cli_elbow.py and
test_cli_tables.py.)"""

import numpy as np
import pytest

from kmeanskit.tables import read as kio


def test_read_table_without_pandas_and_npy_variants(tmp_path, monkeypatch):
    p = tmp_path / "t.tsv"
    p.write_text("a\tb\tlabel\n1\t2.5\tx\n3\t-4\ty\n")
    t = kio._read_csv_plain(p, "\t", None)
    assert t.X.tolist() == [[1.0, 2.5], [3.0, -4.0]] and t.columns == ["a", "b"] and t.skipped == ["label"]
    assert kio.read_table(p).X.tolist() == t.X.tolist()  # same through pandas
    with pytest.raises(ValueError, match="'label' are not numeric"):
        kio._read_csv_plain(p, "\t", ["a", "label"])
    rec = np.array([(1.0, 2, b"a"), (3.0, 4, b"b")], dtype=[("u", "f8"), ("v", "i4"), ("s", "S1")])
    np.save(tmp_path / "r.npy", rec)
    t = kio.read_table(tmp_path / "r.npy")
    assert t.X.tolist() == [[1.0, 2.0], [3.0, 4.0]] and t.columns == ["u", "v"] and t.skipped == ["s"]
    np.save(tmp_path / "f.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    t = kio.read_table(tmp_path / "f.npy", ["1"])
    assert t.X.dtype == np.float32 and t.X.ravel().tolist() == [1.0, 3.0, 5.0]
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="without unpickling"):
        kio.read_table(tmp_path / "o.npy")
    # Parquet without pyarrow names the extra
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(ImportError, match=r"kmeanskit\[tables\]"):
        kio.read_table(tmp_path / "x.parquet")


def test_io_and_tables_export_the_same_readers():
    import kmeanskit.io
    import kmeanskit.tables

    for name in ("read_table", "read_frame", "write_frame", "Table", "TABLE_SUFFIXES", "FRAME_OUTPUT_SUFFIXES"):
        assert getattr(kmeanskit.io, name) is getattr(kmeanskit.tables, name) is getattr(kio, name)
