"""Vector code numba's loops do not produce: an 8 x 8 transpose in registers.

The Lloyd pass scans a chunk of rows transposed into a features x rows
scratch (one SIMD lane per row). Written as loops, the transposition reads
one value at a time with the row stride (the stride is only known at run
time, so the compiler cannot vectorise it), and at 8 to 32 float32 features
it took a quarter to two fifths of the pass. :func:`transpose_tiles`
moves 8 rows x 8 features at a time instead: eight vector loads of a row's
8 features, three stages of shuffles (the classic unpack / 64-bit /
128-bit interleaves, written as LLVM ``shufflevector`` and lowered by LLVM
to the target's shuffles), and eight vector stores of a feature's 8 rows.
It moves the same values: the scratch is the same bits.
Figures: docs/benchmarks.md, "The chunk's transposition in registers".
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

#: The shuffle masks of the three stages (see :func:`_transpose8`).
_MASKS = (
    ((0, 8, 1, 9, 4, 12, 5, 13), (2, 10, 3, 11, 6, 14, 7, 15)),
    ((0, 1, 8, 9, 4, 5, 12, 13), (2, 3, 10, 11, 6, 7, 14, 15)),
    ((0, 1, 2, 3, 8, 9, 10, 11), (4, 5, 6, 7, 12, 13, 14, 15)),
)


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), 8), mask))


def _transpose8(builder, rows):
    """The columns of the 8 x 8 matrix whose rows are the vectors ``rows``:
    row pairs interleaved by element, then pairs of those by element pairs,
    then by halves."""
    t = [None] * 8
    for p in range(4):
        a, b = rows[2 * p], rows[2 * p + 1]
        t[2 * p] = _shuffle(builder, a, b, _MASKS[0][0])
        t[2 * p + 1] = _shuffle(builder, a, b, _MASKS[0][1])
    u = [None] * 8
    for g in (0, 4):
        u[g] = _shuffle(builder, t[g], t[g + 2], _MASKS[1][0])
        u[g + 1] = _shuffle(builder, t[g], t[g + 2], _MASKS[1][1])
        u[g + 2] = _shuffle(builder, t[g + 1], t[g + 3], _MASKS[1][0])
        u[g + 3] = _shuffle(builder, t[g + 1], t[g + 3], _MASKS[1][1])
    cols = [None] * 8
    for j in range(4):
        cols[j] = _shuffle(builder, u[j], u[j + 4], _MASKS[2][0])
        cols[j + 4] = _shuffle(builder, u[j], u[j + 4], _MASKS[2][1])
    return cols


def _emit_tile(context, builder, xty, xa, row, f0v, tty, ta, t0v):
    """The IR of one tile: ``XT[f0 + c, t0 + r] = X[row(r), f0 + c]`` for
    r, c < 8, ``row(r)`` the IR of row r's index."""
    xary = context.make_array(xty)(context, builder, xa)
    tary = context.make_array(tty)(context, builder, ta)
    vec = ir.VectorType(context.get_value_type(xty.dtype), 8).as_pointer()
    align = xty.dtype.bitwidth // 8
    rows = []
    for r in range(8):
        p = cgutils.get_item_pointer(context, builder, xty, xary, [row(r), f0v])
        rows.append(builder.load(builder.bitcast(p, vec), align=align))
    for c, col in enumerate(_transpose8(builder, rows)):
        f = builder.add(f0v, ir.Constant(f0v.type, c))
        p = cgutils.get_item_pointer(context, builder, tty, tary, [f, t0v])
        builder.store(col, builder.bitcast(p, vec), align=align)


@intrinsic
def _tile8(typingctx, X, i0, f0, XT):
    """``XT[f0 + c, i0 + r] = X[i0 + r, f0 + c]`` for r, c < 8: both arrays
    C-contiguous, of the same float dtype (:func:`transpose_tiles` calls it
    for float32), the tile inside both (the caller's loop bounds)."""
    sig = types.void(X, types.intp, types.intp, XT)

    def codegen(context, builder, signature, args):
        xa, i0v, f0v, ta = args

        def row(r):
            return builder.add(i0v, ir.Constant(i0v.type, r))

        _emit_tile(context, builder, signature.args[0], xa, row, f0v, signature.args[3], ta, i0v)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _tile8_rows(typingctx, X, idx, j0, f0, XT, t0):
    """``XT[f0 + c, t0 + r] = X[idx[j0 + r], f0 + c]`` for r, c < 8: the tile
    of :func:`_tile8` from 8 rows of ``X`` picked by ``idx`` (signed
    integers)."""
    sig = types.void(X, idx, types.intp, types.intp, XT, types.intp)

    def codegen(context, builder, signature, args):
        xa, ia, j0v, f0v, ta, t0v = args
        ity = signature.args[1]
        iary = context.make_array(ity)(context, builder, ia)

        def row(r):
            j = builder.add(j0v, ir.Constant(j0v.type, r))
            i = builder.load(cgutils.get_item_pointer(context, builder, ity, iary, [j]))
            return builder.sext(i, j0v.type) if i.type.width < j0v.type.width else i

        _emit_tile(context, builder, signature.args[0], xa, row, f0v, signature.args[4], ta, t0v)
        return context.get_dummy_value()

    return sig, codegen


def _tiles_apply(Xc, xt):
    """Whether :func:`transpose_tiles` and :func:`gather_tiles` use the
    tiles for these argument types: C-contiguous 2-D float32 arrays (float64
    keeps the loops: there the tiles measured no faster, docs/benchmarks.md)."""
    return (isinstance(Xc, types.Array) and isinstance(xt, types.Array)
            and Xc.layout == "C" and xt.layout == "C" and Xc.ndim == 2 and xt.ndim == 2
            and Xc.dtype == xt.dtype == types.float32)


def gather_tiles(Xc, idx, t0, tq, xt):
    """``xt[f, t] = Xc[idx[t0 + t], f]`` for ``t < tq`` and every feature (the
    rows a bounded pass scans, gathered and transposed): by tiles as
    :func:`transpose_tiles` (compiled only)."""
    raise NotImplementedError("compiled only")


@overload(gather_tiles, jit_options=dict(nogil=True))
def _gather_tiles(Xc, idx, t0, tq, xt):
    if _tiles_apply(Xc, xt) and isinstance(idx, types.Array) and idx.ndim == 1 \
            and isinstance(idx.dtype, types.Integer) and idx.dtype.signed:
        def impl(Xc, idx, t0, tq, xt):
            d = Xc.shape[1]
            if d < 8:
                for f in range(d):
                    for t in range(tq):
                        xt[f, t] = Xc[idx[t0 + t], f]
                return
            q8 = tq - tq % 8
            d8 = d - d % 8
            for f0 in range(0, d8, 8):
                for s in range(0, q8, 8):
                    _tile8_rows(Xc, idx, t0 + s, f0, xt, s)
            for f in range(d8, d):
                for t in range(q8):
                    xt[f, t] = Xc[idx[t0 + t], f]
            for f in range(d):
                for t in range(q8, tq):
                    xt[f, t] = Xc[idx[t0 + t], f]
        return impl

    def loops(Xc, idx, t0, tq, xt):
        for f in range(Xc.shape[1]):
            for t in range(tq):
                xt[f, t] = Xc[idx[t0 + t], f]
    return loops


def transpose_tiles(Xc, q, xt):
    """``xt[f, i] = Xc[i, f]`` for the first ``q`` rows of ``Xc`` and all its
    features: by 8 x 8 tiles in registers for C-contiguous float32 arrays
    with 8 features or more, by loops otherwise (compiled only: see the
    overload below)."""
    raise NotImplementedError("compiled only")


@overload(transpose_tiles, jit_options=dict(nogil=True))
def _transpose_tiles(Xc, q, xt):
    if _tiles_apply(Xc, xt):
        def impl(Xc, q, xt):
            d = Xc.shape[1]
            if d < 8:  # the loops (which the compiler vectorises at 2-4 features)
                for f in range(d):
                    for i in range(q):
                        xt[f, i] = Xc[i, f]
                return
            q8 = q - q % 8
            d8 = d - d % 8
            # feature tiles outside: the stores run along the scratch's rows
            for f0 in range(0, d8, 8):
                for i0 in range(0, q8, 8):
                    _tile8(Xc, i0, f0, xt)
            for f in range(d8, d):
                for i in range(q8):
                    xt[f, i] = Xc[i, f]
            for f in range(d):
                for i in range(q8, q):
                    xt[f, i] = Xc[i, f]
        return impl

    def loops(Xc, q, xt):
        for f in range(Xc.shape[1]):
            for i in range(q):
                xt[f, i] = Xc[i, f]
    return loops

