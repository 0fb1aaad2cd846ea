"""Property-based fuzzing of the file readers (issue #18).

Valid ``.kmk``, ``.npy``, CSV, Parquet, PNG and GIF files are mutated by
hypothesis (bytes overwritten, flipped, inserted, removed, the file cut
short; the ``.npy`` header's shape and a ``.kmk``'s declared sizes rewritten
to huge values). For every mutation the reader must

* return normally or raise ``ValueError`` (nothing else: no MemoryError,
  IndexError, struct.error, zlib.error, traceback from a dependency);
* finish within the deadline (no hang);
* allocate at most ``ALLOC_BUDGET`` bytes of Python/NumPy memory (measured
  with tracemalloc) while the read budget is lowered to
  ``READ_BUDGET`` (``$KMEANSKIT_MAX_READ_BYTES``) and images to
  ``MAX_PIXELS`` pixels: declared sizes are checked before allocating;
* write nothing: the folder's listing and the file's bytes are unchanged.

Examples per reader: ``$KMEANSKIT_FUZZ_EXAMPLES`` (default 40, the CI count;
``make fuzz`` runs many more, see docs/reliability.md).
"""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmeanskit
from kmeanskit import models

#: Examples per reader (CI: 40; `make fuzz`: KMEANSKIT_FUZZ_EXAMPLES=2000).
FUZZ_EXAMPLES = int(os.environ.get("KMEANSKIT_FUZZ_EXAMPLES", "40"))
#: The read budget during fuzzing, and the most a read may allocate (traced).
READ_BUDGET = 32 << 20
ALLOC_BUDGET = 96 << 20
#: Decompression-bomb limit for the image readers during fuzzing.
MAX_PIXELS = 1 << 20

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=5000,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- seeds: one valid file of each kind ------------------------------------------------------------

def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _kmk() -> bytes:
    import tempfile
    from pathlib import Path

    from kmeanskit.core import model_record

    X = np.array([[0.0, 1.0], [1.0, 0.0], [9.0, 9.0], [8.0, 9.5]])
    r = kmeanskit.fit(X, 2, init=X[[0, 2]])
    sc = models.ScalingRecord("zscore", np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    with tempfile.TemporaryDirectory() as d:
        rec = model_record(r, feature_names=["a", "b"], scaling=sc, cluster_spread=np.array([1.0, 2.0]))
        return models.write(rec, Path(d) / "m.kmk").read_bytes()


def _csv() -> bytes:
    rng = np.random.default_rng(0)
    rows = "\n".join(f"r{i},{a:.4f},{b:.2e},{int(c)}" for i, (a, b, c) in enumerate(rng.normal(size=(20, 3))))
    return ("name,x,y,z\n" + rows + "\n").encode()


def _parquet() -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20) % 3, "s": list("ab" * 10)}).to_parquet(
        buf, index=False)
    return buf.getvalue()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    a = (np.arange(16 * 12 * 3) % 251).astype(np.uint8).reshape(12, 16, 3)
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def _gif() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    frames = [Image.new("P", (16, 12), i) for i in range(3)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


SEEDS = {"kmk": _kmk, "npy": lambda: _npy(np.arange(60, dtype=np.float64).reshape(20, 3)),
         "npy32": lambda: _npy(np.arange(60, dtype=np.float32).reshape(20, 3)),
         "csv": _csv, "parquet": _parquet, "png": _png, "gif": _gif}
_CACHE: dict = {}


def seed(kind) -> bytes:
    if kind not in _CACHE:
        _CACHE[kind] = SEEDS[kind]()
    return _CACHE[kind]


# --- mutations ----------------------------------------------------------------------------------------

BIG = st.sampled_from([0, 1, 255, 2**16, 2**31 - 1, 2**32 - 1, 2**40, 10**12])


@st.composite
def mutated(draw, base: bytes):
    """``base`` with 1-4 random edits: overwrite, flip, insert, delete,
    truncate, or a 4-byte little/big-endian integer set to a large value (zip
    sizes, PNG/GIF dimensions)."""
    b = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not b:
            break
        op = draw(st.sampled_from(["overwrite", "flip", "insert", "delete", "truncate", "int"]))
        i = draw(st.integers(0, len(b) - 1))
        if op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            b[i:i + len(chunk)] = chunk
        elif op == "flip":
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del b[i:i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del b[i:]
        else:
            v = draw(BIG)
            fmt = draw(st.sampled_from(["<I", ">I"]))
            b[i:i + 4] = struct.pack(fmt, v & 0xFFFFFFFF)
    return bytes(b)


@st.composite
def npy_with_shape(draw):
    """A .npy whose header declares a random (often huge) shape over a small body."""
    shape = tuple(draw(st.lists(st.one_of(st.integers(0, 50), BIG), min_size=0, max_size=3)))
    descr = draw(st.sampled_from(["<f8", "<f4", ">f8", "<i8", "|u1", "|b1", "<c16", "|V8", "|S3"]))
    h = repr({"descr": descr, "fortran_order": draw(st.booleans()), "shape": shape}).encode()
    h = h + b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    body = draw(st.binary(max_size=256))
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + body


@st.composite
def kmk_with_declared(draw):
    """A .kmk whose meta.json declares random sizes and whose entries'
    declared (zip) sizes may lie."""
    import json

    with zipfile.ZipFile(io.BytesIO(seed("kmk"))) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(entries["meta.json"])
    meta["n_clusters"] = draw(st.one_of(st.integers(0, 5), BIG))
    meta["n_features"] = draw(st.one_of(st.integers(0, 5), BIG))
    entries["meta.json"] = json.dumps(meta).encode()
    if draw(st.booleans()):
        entries["centers.npy"] = draw(npy_with_shape())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return out.getvalue()


# --- the property ---------------------------------------------------------------------------------------

def _read_table(p):
    from kmeanskit.tables import read_table

    return read_table(p)


def _read_frame(p):
    from kmeanskit.tables import read_frame

    return read_frame(p)


def _image_all_frames(p):
    from kmeanskit.image import load_image

    return load_image(p, frames="all", max_pixels=MAX_PIXELS)


def _image_first(p):
    from kmeanskit.image import load_image

    return load_image(p, max_pixels=MAX_PIXELS)


#: (seed, file name, reader) of every reader fuzzed.
READERS = [("kmk", "m.kmk", kmeanskit.load), ("npy", "t.npy", _read_table), ("npy32", "t.npy", _read_frame),
           ("csv", "t.csv", _read_table), ("csv", "t.csv", _read_frame), ("parquet", "t.parquet", _read_table),
           ("parquet", "t.parquet", _read_frame), ("png", "i.png", _image_first),
           ("gif", "i.gif", _image_all_frames)]


def check_reader(folder, name: str, data: bytes, reader) -> None:
    """Write ``data`` as ``folder/name``, read it with ``reader`` and check
    the property in the module docstring."""
    p = folder / name
    p.write_bytes(data)
    before = sorted(os.listdir(folder))
    tracemalloc.start()
    try:
        try:
            reader(p)
        except ValueError as exc:
            assert str(exc), "an empty message"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= ALLOC_BUDGET, f"{name}: {peak} bytes allocated"
    assert sorted(os.listdir(folder)) == before, "the reader wrote a file"
    assert p.read_bytes() == data, "the reader changed its input"
    p.unlink()


@pytest.fixture(scope="module")
def _warm(tmp_path_factory):
    """Make the seeds and read each once (imports, numba's cache) outside
    the examples' deadline."""
    d = tmp_path_factory.mktemp("warm")
    for kind, name, reader in READERS:
        (d / name).write_bytes(seed(kind))
        reader(d / name)


@pytest.fixture
def folder(tmp_path, monkeypatch, _warm):
    monkeypatch.setenv("KMEANSKIT_MAX_READ_BYTES", str(READ_BUDGET))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# one test per reader and seed; hypothesis draws the mutations

@FUZZ
@given(data=st.data())
def test_fuzz_model_files(folder, data):
    check_reader(folder, "m.kmk", data.draw(st.one_of(mutated(seed("kmk")), kmk_with_declared())),
                 kmeanskit.load)


@FUZZ
@given(data=st.data())
def test_fuzz_npy(folder, data):
    kind = data.draw(st.sampled_from(["npy", "npy32"]))
    blob = data.draw(st.one_of(mutated(seed(kind)), npy_with_shape()))
    reader = data.draw(st.sampled_from([_read_table, _read_frame]))
    check_reader(folder, "t.npy", blob, reader)


@FUZZ
@given(data=st.data())
def test_fuzz_csv(folder, data):
    reader = data.draw(st.sampled_from([_read_table, _read_frame]))
    check_reader(folder, "t.csv", data.draw(mutated(seed("csv"))), reader)


@FUZZ
@given(data=st.data())
def test_fuzz_parquet(folder, data):
    reader = data.draw(st.sampled_from([_read_table, _read_frame]))
    check_reader(folder, "t.parquet", data.draw(mutated(seed("parquet"))), reader)


@FUZZ
@given(data=st.data())
def test_fuzz_images(folder, data):
    kind = data.draw(st.sampled_from(["png", "gif"]))
    reader = data.draw(st.sampled_from([_image_first, _image_all_frames]))
    check_reader(folder, f"i.{kind}", data.draw(mutated(seed(kind))), reader)


@pytest.mark.parametrize("kind, name, reader", READERS)
def test_seeds_are_read(folder, kind, name, reader):
    """The unmutated seeds are valid files: the fuzzing starts from files
    that read."""
    p = folder / name
    p.write_bytes(seed(kind))
    assert reader(p) is not None


def test_parquet_with_damaged_pandas_metadata(folder):
    """Found by fuzzing: a Parquet file whose pandas metadata lost a key
    made pyarrow's to_pandas raise KeyError; now a ValueError."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    meta = json.loads(t.schema.metadata[b"pandas"]) if t.schema.metadata else {
        "index_columns": [], "column_indexes": [], "columns": []}
    meta["columns"] = [{"name": "x", "field_name": "x"}]  # no 'pandas_type'
    t = t.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})
    pq.write_table(t, folder / "d.parquet")
    check_reader(folder, "d2.parquet", (folder / "d.parquet").read_bytes(), _read_table)
