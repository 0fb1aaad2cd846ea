"""The block layout of the parallel kernels, written once.

A parallel kernel splits its rows into ``n_blocks`` contiguous blocks, runs
the blocks in a ``prange`` and gives each its own partial results, which the
caller reduces in block order. The layout depends only on the data's shape
and ``n_blocks`` (never on the thread count), so results are bit-identical
for any number of threads. Two layouts are in use:

* chunked (the passes): the rows are cut into chunks of ``CHUNK_ROWS`` and
  the chunks into blocks of ``ceil(n_chunks / n_blocks)`` chunks each
  (:func:`block_chunks`, :func:`block_rows`); a block walks its chunks one at
  a time (:func:`chunk_span`) or ``SCAN_GROUP`` at a time (:func:`group_span`);
* by rows (the reductions, Elkan, Exponion, the seeding): blocks of
  ``ceil(n / n_blocks)`` rows each (:func:`row_block`).

The last blocks may be shorter or empty. The helpers are inlined into the
kernels (``inline="always"``, at numba's IR level), so they cost nothing
over the arithmetic written out. numba's on-disk cache does not notice a
change to this file (it checks only the file that defines each cached
kernel): after editing it, clear the kernels' ``__pycache__``.
"""

from __future__ import annotations

from numba import njit

from .._config import CHUNK_ROWS, TRANSPOSE_BY_ROWS, TRANSPOSE_BYTES

_INLINE = dict(inline="always", nogil=True, cache=True)


@njit(**_INLINE)
def block_chunks(b, n, n_blocks):
    """Chunks ``[c0, c1)`` of block ``b`` in the chunked layout of ``n``
    rows (``c0 == c1`` for an empty block)."""
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    per_block = (n_chunks + n_blocks - 1) // n_blocks
    return min(n_chunks, b * per_block), min(n_chunks, (b + 1) * per_block)


@njit(**_INLINE)
def block_rows(b, n, n_blocks):
    """Rows ``[r0, r1)`` of block ``b`` in the chunked layout of ``n`` rows:
    the rows of its chunks (:func:`block_chunks`)."""
    c0, c1 = block_chunks(b, n, n_blocks)
    return min(n, c0 * CHUNK_ROWS), min(n, c1 * CHUNK_ROWS)


@njit(**_INLINE)
def chunk_span(ch, n):
    """``(s, m)``: chunk ``ch`` is the ``m`` rows from row ``s``."""
    s = ch * CHUNK_ROWS
    return s, min(CHUNK_ROWS, n - s)


@njit(**_INLINE)
def group_span(g0, c1, group, n):
    """``(s0, M)``: the chunks from ``g0`` up to ``group`` of them, not past
    the block's end ``c1``, are the ``M`` rows from row ``s0``."""
    s0 = g0 * CHUNK_ROWS
    return s0, min(min(g0 + group, c1) * CHUNK_ROWS, n) - s0


@njit(**_INLINE)
def row_block(b, n, n_blocks):
    """Rows ``[i0, i1)`` of block ``b`` in the layout by rows: blocks of
    ``ceil(n / n_blocks)`` rows (block 0 is the longest)."""
    per = (n + n_blocks - 1) // n_blocks
    return min(n, b * per), min(n, (b + 1) * per)


@njit(**_INLINE)
def by_rows(d, itemsize):
    """Whether chunks of rows of ``d`` values of ``itemsize`` bytes are
    transposed row by row into a padded scratch rather than feature by
    feature: rows a multiple of ``TRANSPOSE_BY_ROWS`` bytes apart
    (``_config.TRANSPOSE_BY_ROWS`` says why). The Lloyd pass (its variant
    chosen by ``_solver.ArraySource.assign``) and Hamerly's scans both ask."""
    return (d * itemsize) % TRANSPOSE_BY_ROWS == 0


@njit(**_INLINE)
def transpose_rows(d, itemsize, pad):
    """Rows per piece when a chunk is transposed into a features x rows
    scratch of ``d`` rows of ``rows + pad`` values: ``CHUNK_ROWS`` halved
    (not below 16) while the scratch would exceed ``TRANSPOSE_BYTES``, so
    that the scans that read it once per centre read it from L1
    (``_config.TRANSPOSE_BYTES`` says why)."""
    rows = CHUNK_ROWS
    while rows > 16 and d * itemsize * (rows + pad) > TRANSPOSE_BYTES:
        rows //= 2
    return rows
