"""Input checks, done once at the public entry points.

Every message says what is wrong and how to fix it. Inside the library
nothing re-checks.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


class DataTypeError(ValueError, TypeError):
    """Input of a type that cannot be clustered (strings, objects, ...).

    It is both a ``ValueError`` (the convention of this library) and a
    ``TypeError`` (what ``scipy.cluster.vq`` raises for the same input).
    """


def check_random_state(seed: Any):
    """Turn ``seed`` into a NumPy ``Generator`` or keep a ``RandomState``.

    Accepts None (fresh entropy), an int, a ``numpy.random.Generator`` or a
    ``numpy.random.RandomState``, like scipy and scikit-learn do.
    """
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"random seed must be non-negative, got {seed}; pass an int >= 0.")
        return np.random.default_rng(int(seed))
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState, got {type(seed).__name__}."
    )


def all_finite(a: np.ndarray) -> bool:
    """Whether a float array holds no NaN or infinity, without an array of
    flags as large as ``a`` (``np.isfinite(a).all()`` makes one, a byte per
    value, more than the rest of a fit's extra memory on pixels): a NaN or an
    infinity makes the sum non-finite. The sum is taken in the array's own
    dtype (a float32 sum widened to float64 ran at half the speed); only a
    sum that overflowed needs the exact test, done in slices of 2**16 rows."""
    if a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a)):
            return True
    flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    step = 1 << 16
    return all(bool(np.isfinite(flat[s:s + step]).all()) for s in range(0, flat.shape[0], step))


class _Alias:
    """Holds an array's interface with its data marked writeable, and the
    array itself (whose memory the alias uses): see :func:`kernel_view`."""

    def __init__(self, arr: np.ndarray):
        iface = dict(arr.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface
        self.arr = arr


def kernel_view(a: np.ndarray) -> np.ndarray:
    """``a`` itself, or for a read-only array (``np.load(..., mmap_mode="r")``,
    a Dask chunk read from Parquet, an image from Pillow, scikit-learn's
    read-only checks) a writeable-flagged array over the same memory, no
    copy.

    numba compiles a kernel once per argument type, and a read-only array is
    a type of its own: without this, the first fit on a read-only input
    compiles every kernel of its path a second time (docs/benchmarks.md,
    "Read-only arrays"). The kernels and the code around them never write to the data
    (the input is never modified, writeable or not), so the flag is the
    only difference."""
    if not isinstance(a, np.ndarray) or a.flags.writeable or a.size == 0:
        return a
    return np.asarray(_Alias(a))


def as_float_array(X: Any, *, name: str = "X", check_finite: bool = True,
                   allow_1d: bool = False, min_rows: int = 1) -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 or float64 array.

    float32 stays float32 and float64 stays float64 (no copy when already
    contiguous); integers, booleans and float16 become float64 (as
    scikit-learn's checks do). The input itself is
    never modified.
    """
    if type(X).__module__.startswith("scipy.sparse"):  # np.asarray would make a 0-d object array
        raise ValueError(f"{name} is a scipy.sparse matrix, which this function does not take; "
                         "kmeanskit.fit, assign, KMeans, choose_k, affinity, outlier_scores and "
                         "ClusterIndex take sparse "
                         f"rows (docs/text.md). Pass {name}.toarray() here if it fits in memory.")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as a numeric array ({exc}); "
                         "pass a 2-D array of numbers.") from None
    if arr.dtype.kind not in "fiub":
        raise DataTypeError(
            f"{name} has dtype {arr.dtype} which is not numeric; pass numbers only "
            "(convert or drop text columns first)."
        )
    if arr.ndim == 1 and not allow_1d:
        raise ValueError(f"{name} is 1-D with shape {arr.shape}; pass a 2-D array of shape "
                         "(n_samples, n_features), e.g. X.reshape(-1, 1) for one feature.")
    if arr.ndim > 2 or arr.ndim == 0:
        raise ValueError(f"{name} has {arr.ndim} dimensions (shape {arr.shape}); pass a 2-D array "
                         "(n_samples, n_features), e.g. an image's pixels as img.reshape(-1, 3).")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least {min_rows} row(s).")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {arr.shape}); pass at least one column.")
    if arr.dtype not in (np.float32, np.float64):
        # float16 too becomes float64: scikit-learn's rule (its checks convert
        # every dtype but float32 and float64 to float64), so fit, assign and
        # KMeans give the same centres for the same input
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    if check_finite and not all_finite(arr):
        if np.isnan(arr).any():  # the error path only: a second scan costs nothing here
            raise ValueError(f"{name} contains NaN; remove or impute those values first, or cluster "
                             "rows with gaps on their observed values with "
                             "kmeanskit.KPrototypes(n_clusters, missing='ignore') (docs/tables.md).")
        raise ValueError(f"{name} contains infinity; remove those rows or replace the values first.")
    return kernel_view(arr)


def check_sample_weight(sample_weight: Any, n: int, dtype) -> np.ndarray | None:
    """Validate weights: None, a scalar, or n non-negative finite numbers with
    a positive sum. Returns None for uniform weights."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "fiub":
        raise DataTypeError(f"sample_weight has non-numeric dtype {w.dtype}; pass numbers.")
    if w.ndim == 0:
        w = np.full(n, float(w), dtype=dtype)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight has shape {w.shape} but X has {n} rows; pass one weight per row.")
    if w.dtype.kind == "f" and not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity; pass finite weights.")
    with np.errstate(over="ignore"):
        w = np.ascontiguousarray(w, dtype=dtype)
    if not np.isfinite(w).all():  # finite, but not in X's dtype (float32 X, weights > 3.4e38)
        raise ValueError(f"sample_weight has values up to {float(np.max(sample_weight)):.3g}, beyond the "
                         f"range of X's dtype {np.dtype(dtype).name}; divide the weights by a common "
                         "factor (the centres do not change) or pass X as float64.")
    if (w < 0).any():
        raise ValueError("sample_weight contains negative values; weights must be >= 0.")
    with np.errstate(over="ignore"):  # a sum beyond the float range is still positive
        positive = w.sum() > 0
    if not positive:
        raise ValueError("sample_weight sums to zero; at least one row needs a positive weight.")
    return w


def check_n_clusters(k: Any, n_samples: int, name: str = "n_clusters") -> int:
    if isinstance(k, bool) or not isinstance(k, (numbers.Integral, np.integer)):
        if isinstance(k, (numbers.Real, np.floating)) and float(k).is_integer():
            k = int(k)
        else:
            raise ValueError(f"{name} must be a whole number >= 1, got {k!r}.")
    k = int(k)
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}; ask for at least one cluster.")
    if k > n_samples:
        raise ValueError(f"{name}={k} is larger than the number of samples ({n_samples}); "
                         f"pass at most {n_samples} clusters.")
    return k


# --- parameter constraints declared as data --------------------------------

@dataclass(frozen=True)
class Interval:
    """A numeric range constraint; ``kind`` is ``int`` or ``float``."""

    kind: type
    low: float | None
    high: float | None
    closed_low: bool = True
    closed_high: bool = True

    def accepts(self, v: Any) -> bool:
        if isinstance(v, bool):
            return False
        if self.kind is int and not isinstance(v, (numbers.Integral, np.integer)):
            return False
        if not isinstance(v, (numbers.Real, np.number)):
            return False
        if self.low is not None and (v < self.low or (v == self.low and not self.closed_low)):
            return False
        if self.high is not None and (v > self.high or (v == self.high and not self.closed_high)):
            return False
        return True

    def __str__(self) -> str:
        lo = "-inf" if self.low is None else self.low
        hi = "inf" if self.high is None else self.high
        kind = "an int" if self.kind is int else "a number"
        return f"{kind} in {'[' if self.closed_low else '('}{lo}, {hi}{']' if self.closed_high else ')'}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, None, ...)."""

    values: tuple

    def accepts(self, v: Any) -> bool:
        return any(v is o or (isinstance(o, str) and isinstance(v, str) and v == o) for o in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Names:
    """One of the names of a registry, read when the value is checked (a new
    registry entry is accepted at once), or one of ``extra``."""

    registry: Any
    extra: tuple = ()

    def accepts(self, v: Any) -> bool:
        return isinstance(v, str) and (v in self.extra or v in self.registry)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in dict.fromkeys((*self.extra, *self.registry)))


@dataclass(frozen=True)
class Kind:
    """An instance check, e.g. array-like or callable."""

    test: Callable[[Any], bool]
    label: str

    def accepts(self, v: Any) -> bool:
        return self.test(v)

    def __str__(self) -> str:
        return self.label


ARRAY_LIKE = Kind(lambda v: hasattr(v, "__array__") or isinstance(v, (list, tuple)), "an array-like")
CALLABLE = Kind(callable, "a callable")
RANDOM_STATE = Kind(
    lambda v: v is None or isinstance(v, (np.random.Generator, np.random.RandomState))
    or (isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)),
    "None, an int, a numpy Generator or RandomState",
)


@dataclass(frozen=True)
class Rule:
    """Constraints (any may accept) with the message for any other value: a
    string formatted with all the checked values, or a function of them."""

    allowed: tuple
    message: Any

    def text(self, values: dict) -> str:
        return self.message(values) if callable(self.message) else self.message.format(**values)


def validate_params(values: dict, constraints: dict, owner: str) -> None:
    """Check ``values`` against ``constraints``, in order.

    ``constraints`` maps a parameter name (or a tuple of names, for a rule on
    their values together) to a list of constraints, any of which may accept
    the value (the message then lists them), or to a :class:`Rule` with its
    own message. Names missing from ``values`` are skipped.
    """
    for name, allowed in constraints.items():
        names = name if isinstance(name, tuple) else (name,)
        if any(n not in values for n in names):
            continue
        v = tuple(values[n] for n in names) if isinstance(name, tuple) else values[name]
        if isinstance(allowed, Rule):
            if not any(c.accepts(v) for c in allowed.allowed):
                raise ValueError(allowed.text(values))
        elif not any(c.accepts(v) for c in allowed):
            choices = " or ".join(str(c) for c in allowed)
            raise ValueError(f"{owner}: {name} must be {choices}; got {v!r}.")


def check_no_zero_rows(X, name):
    """Cosine needs every row to have a non-zero norm."""
    zero = ~np.any(X != 0, axis=1)
    if zero.any():
        i = np.flatnonzero(zero)
        raise ValueError(f"{name} has {i.size} row(s) of zero norm (first at index {i[0]}); the cosine "
                         "distance is undefined for them. Remove those rows or use another metric.")


# --- file-size budgets: what a reader may allocate for what a file declares ------------------------

#: Environment variable that sets :func:`read_budget_bytes` (a number of bytes).
READ_BUDGET_ENV = "KMEANSKIT_MAX_READ_BYTES"

#: Bound on ``meta.json`` of a ``.kmk`` model file (it holds a few numbers and
#: the feature names; 64 MiB is about a million long column names).
MODEL_META_MAX_BYTES = 64 << 20


def read_budget_bytes() -> int:
    """The most memory a file reader allocates for what a file declares
    (an array's shape, a model's centres, a Parquet table's decoded size):
    ``$KMEANSKIT_MAX_READ_BYTES`` when set, else half this machine's physical
    memory (4 GiB when that is unknown). Files declaring more are refused
    with a ValueError before anything is allocated.

    Examples
    --------
    >>> read_budget_bytes() > 0
    True
    """
    env = os.environ.get(READ_BUDGET_ENV)
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            raise ValueError(f"{READ_BUDGET_ENV}={env!r} is not a number of bytes; set it to e.g. "
                             "8e9 or unset it.") from None
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 4 << 30


def check_read_budget(n_bytes: int, what: str) -> None:
    """Refuse to allocate ``n_bytes`` for ``what`` (a file and what it
    declares) beyond :func:`read_budget_bytes`, with one line saying how to
    proceed.

    Examples
    --------
    >>> check_read_budget(10**15, "h.npy: shape (10**12, 125) float64")
    Traceback (most recent call last):
    ...
    ValueError: h.npy: shape (10**12, 125) float64 needs 909.5 TiB, more than the read budget of ...
    """
    budget = read_budget_bytes()
    if n_bytes > budget:
        whose = f"${READ_BUDGET_ENV}" if os.environ.get(READ_BUDGET_ENV) else "half this machine's memory"
        raise ValueError(f"{what} needs {_size(n_bytes)}, more than the read budget of {_size(budget)} "
                         f"({whose}); if the file is what you expect, set {READ_BUDGET_ENV} to a "
                         "larger number of bytes.")


def npy_header(fp, available: int, what: str):
    """Read and check the header of a ``.npy`` stream ``fp`` holding
    ``available`` bytes in all, before any data is read: a plain (not
    object, not pickled) dtype, a shape whose bytes the stream really holds
    and that fits :func:`read_budget_bytes`. Returns ``(shape, fortran_order,
    dtype, data_bytes)``; ``fp`` is left at the start of the data. ``what``
    names the file in the messages.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> np.save(buf, np.zeros((2, 3)))
    >>> n = buf.tell(); _ = buf.seek(0)
    >>> npy_header(buf, n, "t.npy")[:3]
    ((2, 3), False, dtype('float64'))
    >>> _ = buf.seek(0)
    >>> npy_header(buf, n - 8, "t.npy")
    Traceback (most recent call last):
    ...
    ValueError: t.npy declares an array of shape (2, 3) float64 (48 bytes) but holds only 40 bytes of data; the file is truncated or damaged.
    """
    fmt = np.lib.format
    start = fp.tell()
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            shape, fortran, dtype = fmt._read_array_header(fp, version)
    except MemoryError:  # pragma: no cover - the header is at most 4 GiB by format, read in full
        raise
    except Exception as exc:  # numpy's parser raises ValueError, SyntaxError, tokenize errors...
        raise ValueError(f"{what} is not a readable .npy array ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'damaged header'}).") from None
    if dtype.hasobject:
        raise ValueError(f"{what}: cannot read as .npy without unpickling (it holds Python objects, "
                         f"dtype {dtype}, which kmeanskit never unpickles); save a numeric array.")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"{what} declares an invalid shape {shape}.")
    count = 1
    for n in shape:
        count *= int(n)
    need = count * dtype.itemsize
    have = available - (fp.tell() - start)
    desc = f"shape {tuple(shape)} {dtype}" if dtype.names is None else f"shape {tuple(shape)}"
    if need > have:
        raise ValueError(f"{what} declares an array of {desc} ({_size(need)}) but holds only "
                         f"{_size(max(have, 0))} of data; the file is truncated or damaged.")
    check_read_budget(need, f"{what}: an array of {desc}")
    return tuple(shape), fortran, dtype, need


def read_npy(fp, available: int, what: str) -> np.ndarray:
    """A ``.npy`` array from the stream ``fp`` (``available`` bytes), its
    header checked by :func:`npy_header` before anything is allocated."""
    shape, fortran, dtype, need = npy_header(fp, available, what)
    buf = bytearray(need)  # writable, and no second copy of the data
    got = fp.readinto(buf) if need else 0
    if got != need:
        raise ValueError(f"{what} is truncated ({got} of {need} bytes of data).")
    try:
        a = np.frombuffer(buf, dtype=dtype) if need else np.empty(0, dtype)
        a = a.reshape(shape[::-1]).transpose() if fortran else a.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} is not a readable .npy array ({exc}).") from None
    return a


def _size(n: int) -> str:
    """A byte count for messages: 1.5 GiB, 20.0 KiB, 12 bytes."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"
