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

#: Padding (elements, >= 128 bytes for any dtype) after each thread's slot
#: of the per-thread chunk scratch (the vq distortion pass and the seeding
#: kernel): two threads' slots never share a cache line or an adjacent-line
#: prefetch pair.
SLOT_PAD = 128

#: Chunks whose failing rows the bound passes (``vq.kmeans``' distortion
#: pass, Hamerly, Yinyang) gather before scanning them: few rows may fail a
#: bound test, and a scan of a handful of rows is mostly loop overhead.
#: Gathering more than 16 chunks gains next to nothing and grows the scratch:
#: O(SCAN_GROUP x CHUNK_ROWS x d) per thread in the distortion pass,
#: O(CHUNK_ROWS x d) in the others (docs/benchmarks.md, "Measurements behind
#: the kernel choices").
SCAN_GROUP = 16

#: Greedy k-means++ keeps a transposed copy of the data it seeds on (reads
#: it at every step instead of transposing each chunk again) up to this
#: size; larger data is transposed chunk by chunk at every step.
SEED_TRANSPOSED_MAX_BYTES = 1 << 30

#: Budget (in float64 values) for the per-block partial sums (blocks x k x d).
BLOCK_SUM_BUDGET = 1 << 21

#: fastmath flags for every kernel. ``nnan`` and ``ninf`` are left out on
#: purpose: the kernels use ``inf`` sentinels and must see NaN.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
#: The flags of the kernels whose sums set a returned value in an order
#: written out in the code (``FASTMATH`` without ``reassoc``): with
#: ``reassoc`` LLVM may regroup such a sum, and it did so differently in a
#: process that compiled the kernel and its callers than in one that loaded
#: them from numba's cache, so the same fit gave other last bits in the
#: next process (docs/engine.md, "Determinism").
FASTMATH_ORDERED = FASTMATH - {"reassoc"}

#: Shapes from which the distance pass uses a BLAS product per chunk
#: (||x||^2 - 2 x.c + ||c||^2) instead of the direct SIMD loops: below
#: d = 128 the direct loops are faster for every k measured, from
#: d = k = 128 the product is (docs/benchmarks.md, "Measurements behind the
#: kernel choices").
GEMM_MIN_D = 128

#: Rows per BLAS product in the gemm path (a block's rows are cut into
#: products of at most this many rows; the scratch is GEMM_ROWS x k per thread).
GEMM_ROWS = 2048
GEMM_MIN_K = 128

#: From ROWS_SCAN_MIN_D features and up to ROWS_SCAN_MAX_K centres a Lloyd
#: pass scans the rows as they lie (``lloyd.scan_rows``: each distance a
#: loop over the row's features, then a reduction across the SIMD lanes)
#: instead of transposing chunks (direct loops) or a BLAS product: with so
#: few centres the transposition or the product costs as much or more
#: than the reductions (docs/benchmarks.md, row `ROWS_SCAN_MAX_K`).
ROWS_SCAN_MIN_D = 64
ROWS_SCAN_MAX_K = 4

#: On float32 data the rows x centres product wins from GEMM_MIN_D features
#: over the transposing direct loops for any number of centres (float32 BLAS
#: runs twice the float64 rate; n = 200,000, d = 128 and 384, k = 3-64:
#: 1.1-1.6 x faster a pass, and fits to convergence 1.15-1.5 x;
#: docs/benchmarks.md, row `GEMM_MIN_K_FLOAT32`), but up to ROWS_SCAN_MAX_K
#: centres the untransposed scan beats both (above): the product from the
#: next k. float64 keeps GEMM_MIN_K: at d = 384 and k = 3-10 its direct loops
#: were faster.
GEMM_MIN_K_FLOAT32 = ROWS_SCAN_MAX_K + 1

#: Shapes from which the distance pass uses the centres x rows BLAS layout
#: (``lloyd_pass_gemm_t``) below GEMM_MIN_D: many centres, moderate d. That
#: layout beats both the rows x centres product and the direct loops from
#: k = 256 at d >= 8; below k = 256 the direct loops win (docs/benchmarks.md).
GEMM_T_MIN_D = 8
GEMM_T_MIN_K = 256
#: Scratch (values) of that layout's k x rows product per thread.
GEMM_T_SCRATCH = 1 << 18

#: Shapes from which the centres x rows layout is used below GEMM_T_MIN_D
#: and GEMM_T_MIN_K too: FUSED_MIN_D to 8 features (``lloyd.FUSED_D``) from
#: FUSED_MIN_K centres. Up to 8 features that layout keeps no product in
#: memory (``lloyd.fold_expanded_fused``: the expanded form's values folded
#: into each row's best two as they are computed), which beats the direct
#: loops' exact differences at d = 7-8 from k = 64; at d = 6 it gained at
#: k = 256 only, below that padding to 8 features costs more than it saves
#: (docs/benchmarks.md, row `FUSED_MIN_K`).
FUSED_MIN_D = 7
FUSED_MIN_K = 64

#: How long (``GOMP_SPINCOUNT``) numba's OpenMP workers spin waiting for the
#: next parallel region before they sleep, unless the user set it: with
#: libgomp's long default they fight any other busy process for the cores
#: (docs/engine.md, "Threads").
GOMP_SPINCOUNT = "1000"

#: The direct pass transposes each chunk of 256 rows into a features x rows
#: scratch, feature by feature: for each feature it reads one value from
#: each of the 256 rows. When the rows are a multiple of this many bytes
#: apart (float32 with 64, 128, ... features; float64 with 32, 64, ...),
#: those 256 cache lines fall in a quarter or fewer of the L1 cache's 64
#: sets, more lines than a set holds, and every feature reads them again
#: from L2. Such chunks are transposed row by row instead (each row read
#: once, in order), into a scratch whose rows are ROW_PAD elements longer,
#: so that its own rows do not share sets in the same way.
TRANSPOSE_BY_ROWS = 256
#: See TRANSPOSE_BY_ROWS.
ROW_PAD = 16
#: The largest features x rows scratch (bytes) a direct pass transposes a
#: chunk into: with more features the chunk is transposed and scanned in
#: pieces of fewer rows. The scan reads the scratch once per centre (four
#: at a time); a 256-row chunk of 64 float32 features (70 KB) overflowed
#: the 48 KB L1 cache and took those reads from L2, and the transposition
#: wrote it there. Up to 32 float32 (16 float64) features a chunk stays
#: whole (docs/benchmarks.md, row `TRANSPOSE_BYTES`).
TRANSPOSE_BYTES = 32 << 10
