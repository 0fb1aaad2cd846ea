"""Engine-wide constants: chunking, fastmath flags and defaults.

Everything that tunes the kernels lives here so that it is set in one place.
"""

from __future__ import annotations

#: Rows per chunk in the kernels. A chunk is the unit of work one thread
#: handles at a time; scratch memory is O(CHUNK_ROWS x k).
CHUNK_ROWS = 256

#: Upper bound on the number of row blocks whose partial sums are reduced.
#: The block layout depends only on the data's shape, never on the number of
#: threads, so that results are bit-identical for any thread count.
MAX_BLOCKS = 64

#: Budget (in float64 values) for the per-block partial sums (blocks x k x d).
BLOCK_SUM_BUDGET = 1 << 21

#: fastmath flags for every kernel. ``nnan`` and ``ninf`` are left out on
#: purpose: the kernels use ``inf`` sentinels and must see NaN.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: d * k above which the distance pass uses a BLAS product per chunk
#: (||x||^2 - 2 x.c + ||c||^2) instead of direct loops. Measured crossover,
#: see docs/benchmarks.md.
GEMM_MIN_D = 16
GEMM_MIN_K = 16
