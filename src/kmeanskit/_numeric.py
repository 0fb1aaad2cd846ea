"""Exact power-of-two scaling of a fit's data so that no squared distance
or weighted sum can overflow or underflow, whatever finite input is given.

The kernels compute differences and squared distances in the data's dtype
and accumulate weighted sums in float64. For data of ordinary magnitude that
is safe; for data near 1e19 (float32) or 1e154 (float64) the squares
overflow, for data below about 1e-12 (float32) or 1e-139 (float64) the
squares of the differences underflow, and weights near 1e307 overflow the
weighted sums. When (and only when) the data's largest magnitude or the
largest weight lies outside a window where all of that is impossible, the
fit paths of :mod:`kmeanskit.core` (``fit_arrays``, ``assign_arrays``,
``transform_arrays``) and :func:`kmeanskit.vq.kmeans` multiply the data (and
the centres given with it) by ``2**x_exp`` and the weights by ``2**w_exp``,
compute on the scaled copy, and scale the results back (so do
:class:`kmeanskit.MiniBatchKMeans` and sparse rows, whose copy scales the
stored values only); on chunked data (``_chunked.ChunkSource.choose_scale``)
each task scales its chunk as it reads it. Multiplying by a
power of two is exact (short of the subnormal range), so the labels and
centres are those of exact arithmetic on the scaled data, which are those
of the data itself; an inertia or a distance whose true value exceeds the
float range comes back as ``inf`` with a :class:`RuntimeWarning`.

Data inside the window is never copied or changed: its results are bit for
bit those of a build without this module (``benchmarks/hashes.py``). The
check costs one pass over the data, a sum of squares (which bounds the
largest magnitude from both sides, no temporary array); only when that
bound is not conclusive (extreme data) are the exact minimum and maximum
computed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

#: Largest magnitudes (as powers of two) of data that is used unscaled:
#: within ``[2**lo, 2**hi]`` no squared difference of two values, summed over
#: up to 2**30 features and weighted by weights inside ``WEIGHT_EXP``, can
#: overflow the dtype (the kernels' distances) or float64 (the sums), and the
#: square of a difference at the data's resolution (eps x the magnitude) is
#: still a normal number. float32: 2**-40 = 9.1e-13 to 2**48 = 2.8e14;
#: float64: 2**-400 = 3.9e-121 to 2**400 = 2.6e120.
DATA_EXP = {np.dtype(np.float32): (-40, 48), np.dtype(np.float64): (-400, 400)}

#: Largest weights used unscaled: 2**-64 = 5.4e-20 to 2**64 = 1.8e19.
WEIGHT_EXP = (-64, 64)

#: How each metric's distance scales with the data: squared Euclidean by the
#: square of the factor, L1 and L-infinity by the factor, the cosine distance
#: not at all.
POWER = {"euclidean": 2, "manhattan": 1, "chebyshev": 1, "cosine": 0}

#: Exponent of the scaled data's (and weights') largest magnitude: in [0.5, 1).
TARGET_EXP = 0


@dataclass(frozen=True)
class Scale:
    """Powers of two applied to a fit's data and weights.

    Attributes
    ----------
    x_exp : int
        The data (and centres) are multiplied by ``2**x_exp``.
    w_exp : int
        The weights are multiplied by ``2**w_exp``.

    Examples
    --------
    >>> import numpy as np
    >>> s = choose(np.array([[1e30], [-1e30]], np.float32))
    >>> s.x_exp, s.w_exp
    (-100, 0)
    >>> s.data(np.array([[1e30]], np.float32)).item() < 1.0
    True
    >>> choose(np.array([[1.0], [2.0]])).identity
    True
    """

    x_exp: int = 0
    w_exp: int = 0

    @property
    def identity(self) -> bool:
        """Whether nothing is scaled (the normal case)."""
        return self.x_exp == 0 and self.w_exp == 0

    def data(self, A: np.ndarray) -> np.ndarray:
        """``A * 2**x_exp`` in A's dtype (a new C-contiguous array; ``A`` as is
        when nothing is scaled)."""
        if self.x_exp == 0:
            return A
        return np.ascontiguousarray(np.ldexp(A, self.x_exp).astype(A.dtype, copy=False))

    def weights(self, w):
        """``w * 2**w_exp`` (None stays None)."""
        if w is None or self.w_exp == 0:
            return w
        return np.ascontiguousarray(np.ldexp(w, self.w_exp).astype(w.dtype, copy=False))

    def centers_back(self, C: np.ndarray) -> np.ndarray:
        """Centres of the scaled data as centres of the data."""
        if self.x_exp == 0:
            return C
        with np.errstate(over="ignore"):
            return np.ascontiguousarray(np.ldexp(C, -self.x_exp).astype(C.dtype, copy=False))

    def values_back(self, v, power: int, weighted: bool, what: str | None = None):
        """A distance-like value (or array) of the scaled problem back in the
        data's units: divided by ``2**(power * x_exp)`` (power 2 for squared
        distances, 1 for distances, 0 for scale-free ones such as the cosine
        distance) and, for sums over weighted rows (``weighted``), by
        ``2**w_exp``. A value whose true size exceeds the float range becomes
        ``inf``, with a RuntimeWarning naming ``what`` when given."""
        e = -power * self.x_exp - (self.w_exp if weighted else 0)
        if e == 0:
            return v
        scalar = np.ndim(v) == 0
        a = np.asarray(v)
        with np.errstate(over="ignore", under="ignore"):
            out = np.ldexp(a, e).astype(a.dtype, copy=False)
        if what is not None and np.isinf(out).any() and np.isfinite(a).all():
            warnings.warn(f"the {what} exceeds the float range of its result ({np.finfo(out.dtype).max:.3g}) "
                          "and is returned as inf; the labels and centres are exact. Rescale the data "
                          "(or the weights) to get a finite value.", RuntimeWarning, stacklevel=4)
        return (float(out) if type(v) is float else out[()]) if scalar else out


IDENTITY = Scale()


def magnitude(A: np.ndarray) -> float:
    """The largest ``|value|`` of a float array (0.0 when empty), exactly."""
    if A.size == 0:
        return 0.0
    return float(max(-float(np.min(A)), float(np.max(A))))


def _exp(v: float) -> int:
    """The exponent ``e`` with ``v`` in ``[2**(e-1), 2**e)`` (v > 0)."""
    return math.frexp(v)[1]


def _needs_scaling(A: np.ndarray, sumsq: float | None = None) -> int | None:
    """The exponent of ``magnitude(A)`` when it is outside the unscaled
    window, else None (:func:`exponent_outside` on ``A``'s sum of squares,
    or ``sumsq`` when the caller has it; the exact magnitude only when that
    sum is not conclusive)."""
    flat = A.reshape(-1)
    if flat.size == 0:
        return None
    if sumsq is None:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            # one pass, no temporary: BLAS's sdot for float32; for float64 numpy's own
            # sum-of-products loop (OpenBLAS's ddot threads, and measured 3-5x slower on a
            # loaded 2-core machine)
            sumsq = float(np.dot(flat, flat) if A.dtype == np.float32 else np.einsum("i,i->", flat, flat))
    return exponent_outside(sumsq, flat.size, A.dtype, lambda: magnitude(A))


def exponent_outside(S: float, size: int, dtype, exact_magnitude) -> int | None:
    """The exponent of the data's largest magnitude M when it is outside the
    unscaled window of ``dtype``, else None. One sum of squares ``S`` of the
    ``size`` values (it bounds M: M**2 <= S <= size * M**2) decides for
    ordinary data; ``exact_magnitude()`` (M itself) is called only when
    that bound reaches the window's edges (with a margin of 2**8 on S for
    the sum's own rounding, so that the decision is the exact magnitude's
    whatever the order of summation)."""
    lo, hi = DATA_EXP[np.dtype(dtype)]
    if size == 0:
        return None
    if math.isfinite(S) and S > 0:
        s_exp = _exp(S)
        # M <= sqrt(S) < 2**hi  and  M >= sqrt(S / size) >= 2**lo, with margins
        if s_exp + 8 <= 2 * hi and s_exp - _exp(size) - 8 >= 2 * lo:
            return None
    M = exact_magnitude()
    if M == 0.0:
        return None
    e = _exp(M)
    return None if lo <= e <= hi else e


def choose(X: np.ndarray, w=None, C=None, sumsq: float | None = None) -> Scale:
    """The scaling for data ``X`` (validated, finite, float32/float64), its
    weights ``w`` and centres ``C`` given with it (an explicit init or the
    centres to assign to; in X's dtype): :data:`IDENTITY` when all are within
    the unscaled windows (:data:`DATA_EXP`, :data:`WEIGHT_EXP`), else the
    powers of two that bring the largest magnitude of ``X`` and ``C``
    together, and the largest weight, into ``[0.5, 1)``. ``sumsq``: X's sum
    of squares when the caller has computed it (in any order of summation:
    :func:`exponent_outside` allows for its rounding), saving that pass.

    Examples
    --------
    >>> import numpy as np
    >>> choose(np.array([[1e-300], [5e-300]])).x_exp
    994
    >>> choose(np.ones((3, 2)), w=np.full(3, 1e307)).w_exp
    -1020
    """
    wmax = float(np.max(w)) if w is not None and w.size else 0.0
    return choose_from(_needs_scaling(X, sumsq), X.dtype, lambda: magnitude(X), C, wmax)


def choose_from(e, dtype, exact_magnitude, C=None, wmax: float = 0.0) -> Scale:
    """:func:`choose` from its parts, for data held in pieces (Dask chunks):
    ``e`` the data's exponent outside the window or None
    (:func:`exponent_outside`), ``exact_magnitude()`` the data's largest
    magnitude (called only when the centres ``C`` need it), ``wmax`` the
    largest weight (0 without weights)."""
    x_exp = 0
    if C is not None and C.size:
        mc = magnitude(C)
        # centres far beyond the data would overflow their distances to it
        if e is not None or (mc > 0 and _exp(mc) > DATA_EXP[np.dtype(dtype)][1]):
            e = _exp(max(exact_magnitude(), mc))
    if e is not None:
        x_exp = TARGET_EXP - e
    w_exp = 0
    if wmax > 0:
        ew = _exp(wmax)
        if not WEIGHT_EXP[0] <= ew <= WEIGHT_EXP[1]:
            w_exp = TARGET_EXP - ew
    return Scale(x_exp, w_exp)


def checked_init(init, X, k: int, what: str = "init"):
    """A callable ``init(X, k, rng)`` wrapped so that its output is validated
    like an explicit init array (numeric, shape (k, n_features), finite) and
    cast to X's dtype. ``X`` is the caller's data, which the wrapper passes to
    ``init`` whatever data the solver hands it: the solver may run on a
    scaled copy (:func:`scaled_init` then scales the returned centres).

    Examples
    --------
    >>> import numpy as np
    >>> bad = checked_init(lambda X, k, rng: X[:2], np.zeros((5, 1)), 3)
    >>> bad(None, 3, None)
    Traceback (most recent call last):
    ...
    ValueError: the output of the init callable has shape (2, 1) but n_clusters=3 and X has 1 features; return an array of shape (3, 1).
    """
    d = X.shape[1]

    def call(_X, _k, rng):
        C = init(X, k, rng)
        return check_centers(C, k, d, X.dtype, what=f"the output of the {what} callable")

    return call


def check_centers(C, k: int, d: int, dtype, what: str = "init") -> np.ndarray:
    """``C`` as a C-contiguous (k, d) array of ``dtype``, or a ValueError in
    the wording of an explicit init array's checks."""
    try:
        A = np.asarray(C)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{what} could not be read as a numeric array ({exc}); "
                         f"return an array of shape ({k}, {d}).") from None
    if A.dtype.kind not in "fiub":
        raise ValueError(f"{what} has dtype {A.dtype} which is not numeric; return an array of "
                         f"numbers of shape ({k}, {d}).")
    if A.shape != (k, d):
        raise ValueError(f"{what} has shape {A.shape} but n_clusters={k} and X has {d} features; "
                         f"return an array of shape ({k}, {d}).")
    if not np.isfinite(A).all():
        raise ValueError(f"{what} contains NaN or infinity; return finite centres.")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(A, dtype=dtype)
    if not np.isfinite(out).all():
        raise ValueError(f"{what} has values beyond the range of X's dtype {np.dtype(dtype).name}; "
                         "return centres within the data's range.")
    return out


def scaled_init(init, scale: Scale):
    """``init`` (a registry name, an array or a callable already wrapped by
    :func:`checked_init`) for the data scaled by ``scale``: arrays and the
    callable's output multiplied by ``2**x_exp``; names are left as they are
    (the seedings run on the scaled data)."""
    if scale.x_exp == 0 or isinstance(init, str):
        return init
    if callable(init):
        return lambda X, k, rng: scale.data(init(X, k, rng))
    return scale.data(np.asarray(init))
