"""Similar-item search by cluster: an inverted-file index over k-means cells.

:class:`ClusterIndex` stores vectors grouped by their nearest centre of a
fitted k-means model. A query looks at the ``probe`` nearest centres only
and ranks the rows of those clusters by exact distance in the model's
metric, so it scans about ``probe / k`` of the data. ``probe = k`` (or
``exact=True``) gives the exact nearest neighbours.

:func:`image_features` turns images into colour-histogram vectors for it
(used by ``kmeanskit search-images``).
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from . import _numeric
from ._validation import Interval, Rule, as_float_array, check_no_zero_rows, validate_params
from .core import fitted

__all__ = ["ClusterIndex", "image_features", "ImageFeatures"]


def _check_count(value, name, low, high=None, fix=""):
    """``value`` as an int in [low, high] (declared as a ``_validation.Rule``;
    the message says whether it is not a whole number or out of range)."""
    def message(values):
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
            return f"{name} must be a whole number, got {v!r}.{fix}"
        rng = f">= {low}" if high is None else f"between {low} and {high}"
        return f"{name}={int(v)} is out of range; pass a value {rng}.{fix}"

    validate_params({name: value}, {name: Rule((Interval(int, low, high),), message)}, name)
    return int(value)


class ClusterIndex:
    """Nearest-neighbour search restricted to the nearest k-means clusters.

    Parameters
    ----------
    model : fitted KMeans, KMeansResult or loaded model
        Its centres and metric define the cells. A model saved with a
        scaling (``scaling_``) is used as is: scale vectors and queries
        yourself before :meth:`add` and :meth:`search`.

    Notes
    -----
    Vectors are kept grouped by cluster in one contiguous array (CSR-like
    ``offsets``) in the dtype of the first vectors added (float32 stays
    float32; later vectors and queries are converted to it). Distances are
    the model's metric computed exactly in float64: Euclidean (not
    squared), Manhattan, cosine (``1 - cos``) or Chebyshev. Equal distances
    rank by insertion order, so results are deterministic and do not depend
    on the thread count. Centres of extreme magnitude (whose squared
    distances would overflow or underflow the float range): the index keeps
    vectors, queries and centres multiplied by the power of two that brings
    the centres into range, which is exact, and scales the distances back
    (docs/reliability.md).

    Examples
    --------
    >>> import numpy as np, kmeanskit
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    >>> index = kmeanskit.ClusterIndex(kmeanskit.fit(X, 2, random_state=0))
    >>> index.add(X, ids=["a", "b", "c", "d"])
    >>> ids, dist = index.search([9.0, 10.0], n=2)
    >>> ids.tolist(), dist.round(3).tolist()
    (['c', 'd'], [1.0, 1.414])
    >>> len(index), index.n_clusters
    (4, 2)
    """

    def __init__(self, model):
        m = fitted(model)
        C, metric = m.centers, m.metric
        # centres of extreme magnitude: vectors, queries and centres are stored and compared
        # multiplied by the power of two that brings the centres into range (exact; _numeric),
        # the distances returned scaled back
        self._scale = _numeric.choose(C)
        C = self._scale.data(C)
        self._centers = C
        self.metric = metric
        k, d = C.shape
        self._code = _metric_code(metric)
        self._dtype = None
        self._data = np.empty((0, d), dtype=C.dtype)
        self._pos = np.empty(0, dtype=np.int64)
        self._xinv = np.empty(0)
        self._offsets = np.zeros(k + 1, dtype=np.int64)
        self._ids = None  # in insertion order
        self._pending: list = []  # (vectors, labels, first position) not yet merged
        self._n = 0

    # --- properties ---------------------------------------------------------

    @property
    def n_clusters(self) -> int:
        """Number of clusters (cells) of the model."""
        return self._centers.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features of the indexed vectors."""
        return self._centers.shape[1]

    @property
    def cluster_sizes(self) -> np.ndarray:
        """Rows stored in each cluster.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> index = kmeanskit.ClusterIndex(kmeanskit.fit([[0.0], [10.0]], 2, init=[[0.0], [10.0]]))
        >>> index.add([[1.0], [2.0], [9.0]])
        >>> index.cluster_sizes.tolist()
        [2, 1]
        """
        self._merge()
        return np.diff(self._offsets)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return (f"ClusterIndex(n_clusters={self.n_clusters}, metric={self.metric!r}, "
                f"size={self._n})")

    # --- adding -------------------------------------------------------------

    def add(self, vectors, ids=None) -> None:
        """Add rows; each goes to the list of its nearest centre.

        Parameters
        ----------
        vectors : array-like of shape (m, n_features)
            A single vector of shape (n_features,) is one row. Never
            modified (a copy is stored).
        ids : 1-D array-like of m ints or strings, optional
            Returned by :meth:`search`; default: running integers (the
            insertion positions 0, 1, 2, ...). Every call must use the same
            kind (all ints or all strings).

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> index = kmeanskit.ClusterIndex(kmeanskit.fit([[0.0], [10.0]], 2, init=[[0.0], [10.0]]))
        >>> index.add([[1.0], [9.0]])
        >>> index.add([[2.0]])
        >>> index.search([0.0], n=3)[0].tolist()  # probe=1: only the nearest cluster
        [0, 2]
        >>> index.search([0.0], n=3, probe=2)[0].tolist()
        [0, 2, 1]
        """
        from .core import assign

        X = self._as_rows(vectors, "vectors")
        m = X.shape[0]
        new_ids = self._check_ids(ids, m)
        if self._dtype is None:
            self._dtype = X.dtype
            self._data = self._data.astype(X.dtype)
        X = self._scale.data(np.array(X, dtype=self._dtype, order="C", copy=True))
        if m == 0:
            return
        labels = assign(X, self._centers.astype(self._dtype), metric=self.metric)[0]
        self._pending.append((X, labels, self._n))
        self._ids = new_ids if self._ids is None else np.concatenate([self._ids, new_ids])
        self._n += m

    def _as_rows(self, A, name, min_rows=0):
        if type(A).__module__.startswith("scipy.sparse") and hasattr(A, "toarray"):
            A = A.tocsr().toarray()  # the index keeps its vectors dense, batch by batch as added
        arr = np.asarray(A) if not isinstance(A, np.ndarray) else A
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        arr = as_float_array(arr, name=name, min_rows=min_rows, check_finite=False)
        if arr.shape[1] != self.n_features:
            raise ValueError(f"{name} have {arr.shape[1]} features but the model has "
                             f"{self.n_features}; pass vectors with the model's columns "
                             "(scaled the same way).")
        if not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
            raise ValueError(f"{name} contain NaN or infinity (first in row {bad}); remove or "
                             "impute those values first.")
        if self.metric == "cosine" and arr.shape[0]:
            check_no_zero_rows(arr, name)
        if self._dtype is not None and arr.dtype != self._dtype:
            arr = arr.astype(self._dtype)
        return arr

    def _check_ids(self, ids, m):
        if ids is None:
            if self._ids is not None and self._ids.dtype.kind != "i":
                raise ValueError("this index has string ids; pass ids= for the new vectors too.")
            return np.arange(self._n, self._n + m, dtype=np.int64)
        arr = np.asarray(ids)
        if arr.ndim != 1 or arr.shape[0] != m:
            raise ValueError(f"ids has shape {arr.shape} but {m} vectors were given; pass one id "
                             "per vector (a 1-D array).")
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr.tolist()):
            arr = arr.astype(str)
        elif arr.dtype.kind != "U" and not (m == 0):
            raise ValueError(f"ids must be integers or strings, got dtype {arr.dtype}; pass e.g. "
                             "row numbers or names.")
        if m == 0:
            arr = arr.astype(np.int64 if self._ids is None or self._ids.dtype.kind == "i"
                             else self._ids.dtype)
        if self._ids is not None and (self._ids.dtype.kind == "i") != (arr.dtype.kind == "i"):
            kind = "integer" if self._ids.dtype.kind == "i" else "string"
            raise ValueError(f"this index has {kind} ids; pass {kind} ids for the new vectors too.")
        return arr

    def _merge(self):
        """Fold pending rows into the grouped arrays (stable: rows of a
        cluster stay in insertion order)."""
        if not self._pending:
            return
        k = self.n_clusters
        old_labels = np.repeat(np.arange(k, dtype=np.int32), np.diff(self._offsets))
        X = np.concatenate([self._data] + [p[0] for p in self._pending])
        labels = np.concatenate([old_labels] + [p[1] for p in self._pending])
        pos = np.concatenate([self._pos] + [np.arange(p[2], p[2] + p[0].shape[0], dtype=np.int64)
                                            for p in self._pending])
        order = np.argsort(labels, kind="stable")
        self._data = np.ascontiguousarray(X[order])
        self._pos = pos[order]
        np.cumsum(np.bincount(labels, minlength=k), out=self._offsets[1:])
        if self.metric == "cosine":
            from ._init import inverse_norms

            self._xinv = inverse_norms(self._data)
        self._pending = []

    # --- searching ----------------------------------------------------------

    def probe_clusters(self, query, probe=1) -> np.ndarray:
        """The ``probe`` nearest centres of each query (ties: lower index).

        Returns
        -------
        ndarray of shape (q, probe), int64 (q = 1 for a single vector)

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> index = kmeanskit.ClusterIndex(kmeanskit.fit([[0.0], [5.0], [10.0]], 3,
        ...                                              init=[[0.0], [5.0], [10.0]]))
        >>> index.probe_clusters([[4.0], [9.0]], probe=2).tolist()
        [[1, 0], [2, 1]]
        """
        Q = self._scale.data(self._as_rows(query, "query", min_rows=1))
        probe = _check_count(probe, "probe", 1, self.n_clusters,
                             " probe is the number of nearest clusters searched (1 to n_clusters).")
        return self._probe(Q, probe)

    def _probe(self, Q, probe):
        from ._kernels import search as SK

        C = np.ascontiguousarray(self._centers, dtype=Q.dtype)
        k = C.shape[0]
        qinv, cinv = self._inv(Q), self._inv(C)
        out_pos = np.empty((Q.shape[0], probe), dtype=np.int64)
        out_dist = np.empty((Q.shape[0], probe))
        SK.search_lists(Q, qinv=qinv, X=C, xinv=cinv, pos=np.arange(k, dtype=np.int64),
                        offsets=np.array([0, k], dtype=np.int64),
                        probes=np.zeros((Q.shape[0], 1), np.int64), metric=self._code,
                        out_pos=out_pos, out_dist=out_dist)
        return out_pos

    def _inv(self, A):
        if self.metric != "cosine":
            return np.ones(1)
        from ._init import inverse_norms

        return inverse_norms(A)

    def search(self, query, n=10, probe=1, *, exact=False):
        """The ``n`` stored vectors nearest to each query.

        Parameters
        ----------
        query : array-like of shape (n_features,) or (q, n_features)
        n : int
            Neighbours per query.
        probe : int
            Clusters searched per query (its ``probe`` nearest centres),
            1 to ``n_clusters``. More is slower and finds more of the true
            neighbours; ``probe = n_clusters`` is exact.
        exact : bool
            Scan every stored vector (brute force; ``probe`` is ignored).
            Gives the same result as ``probe = n_clusters``.

        Returns
        -------
        ids, distances
            For one vector: 1-D arrays of up to ``n`` entries (fewer when the
            probed clusters hold fewer vectors). For a batch: (q, n) arrays,
            padded with id -1 (or "" for string ids) and distance inf. Sorted
            by distance, then insertion order.

        Examples
        --------
        >>> import numpy as np, kmeanskit
        >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
        >>> index = kmeanskit.ClusterIndex(kmeanskit.fit(X, 2, init=[[0.5], [11.0]]))
        >>> index.add(X)
        >>> ids, dist = index.search([[2.0], [11.5]], n=3)
        >>> ids.tolist()
        [[1, 0, -1], [3, 2, -1]]
        >>> dist.tolist()
        [[1.0, 2.0, inf], [0.5, 1.5, inf]]
        >>> index.search([[2.0]], n=3, exact=True)[0].tolist()
        [[1, 0, 2]]
        """
        single = np.ndim(query) == 1
        Q = self._scale.data(self._as_rows(query, "query", min_rows=1))
        n = _check_count(n, "n", 1, None, " n is the number of neighbours to return.")
        if not isinstance(exact, (bool, np.bool_)):
            raise ValueError(f"exact must be True or False, got {exact!r}.")
        if not exact:
            probe = _check_count(probe, "probe", 1, self.n_clusters,
                                 " probe is the number of nearest clusters searched "
                                 "(1 to n_clusters).")
        pos, dist = self._search(Q, n, probe, exact)
        dist = self._scale.values_back(dist, min(_numeric.POWER[self.metric], 1), False)
        ids = self._ids_at(pos)
        if single:
            keep = int(np.count_nonzero(pos[0] >= 0))
            return ids[0, :keep], dist[0, :keep]
        return ids, dist

    def _search(self, Q, n, probe, exact):
        """(positions (q, n) with -1 padding, distances (q, n) with inf)."""
        from ._kernels import search as SK

        self._merge()
        if self._dtype is None or Q.dtype != self._dtype:
            Q = Q.astype(self._data.dtype)
        Q = np.ascontiguousarray(Q)
        nq = Q.shape[0]
        if exact:
            offsets = np.array([0, self._data.shape[0]], dtype=np.int64)
            probes = np.zeros((nq, 1), dtype=np.int64)
        else:
            offsets = self._offsets
            probes = self._probe(Q, probe) if self._n else np.zeros((nq, 1), np.int64)
        out_pos = np.empty((nq, n), dtype=np.int64)
        out_dist = np.empty((nq, n))
        SK.search_lists(Q, qinv=self._inv(Q), X=self._data,
                        xinv=self._xinv if self.metric == "cosine" else np.ones(1),
                        pos=self._pos, offsets=offsets, probes=probes, metric=self._code,
                        out_pos=out_pos, out_dist=out_dist)
        out_pos[out_pos == SK.NO_POS] = -1
        if self.metric == "euclidean":
            np.sqrt(out_dist, out=out_dist)
        return out_pos, out_dist

    def _ids_at(self, pos):
        if self._ids is None:
            return pos
        pad = -1 if self._ids.dtype.kind == "i" else ""
        ids = np.full(pos.shape, pad, dtype=self._ids.dtype)
        ok = pos >= 0
        ids[ok] = self._ids[pos[ok]]
        return ids


def _metric_code(metric):
    from ._kernels.metric import CODES

    return CODES[metric]


# --- image features ------------------------------------------------------------

class ImageFeatures(NamedTuple):
    """What :func:`image_features` returns.

    Attributes
    ----------
    X : ndarray of shape (n_read, n_bins), float32
        One feature row per image read, in the input order.
    items : list
        The inputs that were read (one per row of ``X``).
    skipped : list of (item, reason)
        Inputs that could not be read (only with ``errors="skip"``).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.search import image_features
    >>> red = np.zeros((8, 8, 3), np.uint8); red[..., 0] = 255
    >>> X, items, skipped = image_features([red, "no/such/file.png"], errors="skip")
    >>> X.shape, X.dtype, len(items)
    ((1, 245), dtype('float32'), 1)
    >>> [item for item, reason in skipped]
    ['no/such/file.png']
    """

    X: np.ndarray
    items: list
    skipped: list


#: Default bins of the joint CIELAB histogram: L*, a*, b*.
DEFAULT_BINS = (5, 7, 7)
#: a* and b* are clipped to +-AB_RANGE before binning.
AB_RANGE = 70.0
#: Images are sampled down to at most this many pixels per side.
DEFAULT_MAX_SIDE = 128


@functools.lru_cache(maxsize=4)
def _bin_table(bins: tuple) -> np.ndarray:
    """Lab bin of every 18-bit colour (6 bits per channel, box centres)."""
    from .image import srgb_to_lab

    v = (np.arange(64, dtype=np.uint8) * 4 + 2)
    r, g, b = np.meshgrid(v, v, v, indexing="ij")
    lab = srgb_to_lab(np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1))
    nl, na, nb = bins
    li = np.clip((lab[:, 0] / 100.0 * nl).astype(np.int64), 0, nl - 1)
    ai = np.clip(((lab[:, 1] + AB_RANGE) / (2 * AB_RANGE) * na).astype(np.int64), 0, na - 1)
    bi = np.clip(((lab[:, 2] + AB_RANGE) / (2 * AB_RANGE) * nb).astype(np.int64), 0, nb - 1)
    return ((li * na + ai) * nb + bi).astype(np.int32)


def _image_pixels(item, max_side, max_pixels):
    """8-bit pixels (n, 3 or 4) of a path, PIL image or array, sampled to at
    most ``max_side`` pixels per side (JPEGs decoded at reduced size)."""
    from .image.decode import read_pixels

    pix = read_pixels(item, max_pixels=max_pixels, draft_side=max_side)
    px = pix.px.reshape(pix.height, pix.width, -1)
    step = max(1, -(-max(pix.height, pix.width) // max_side))
    if step > 1:
        px = px[::step, ::step]
    px = px.reshape(-1, px.shape[2])
    if pix.has_alpha:
        opaque = px[:, 3] >= 128
        if opaque.any():
            px = px[opaque]
    return px


def image_features(images: Sequence[Any], *, bins=DEFAULT_BINS, max_side: int = DEFAULT_MAX_SIDE,
                   errors: str = "raise", max_pixels="pillow",
                   on_image: Callable[[Any], None] | None = None, recursive: bool = True) -> ImageFeatures:
    """Colour-histogram features of images, for :class:`ClusterIndex`.

    Each image becomes a joint CIELAB histogram (``bins`` = L*, a*, b*
    bins; L* over 0..100, a* and b* over -70..70, clipped), L1-normalised
    and square-rooted, so the Euclidean distance between two feature rows
    is ``sqrt(2)`` times the Hellinger distance between the colour
    distributions (0 = same colours, at most ``sqrt(2)`` = no colour in
    common). Transparent pixels (alpha < 128) are left out unless all are.
    Images are sampled to at most ``max_side`` pixels per side (every s-th
    row and column; JPEGs are also decoded at a reduced size), so cost
    hardly depends on the image size.

    Parameters
    ----------
    images : sequence of paths, folders, PIL images or arrays
        Anything :func:`kmeanskit.image.load_image` reads (every Pillow
        mode); a folder stands for its image files (by suffix, sorted; see
        :func:`kmeanskit.image.decode.image_files`), as in the CLI.
    bins : (int, int, int)
        Bins for L*, a*, b*; the default (5, 7, 7) gives 245 features.
        Odd a*/b* counts keep the greys inside one bin.
    max_side : int
    errors : {"raise", "skip"}
        On an unreadable image: raise ``ValueError``, or leave it out and
        list it in ``skipped`` with the reason.
    max_pixels : int, None or "pillow"
        Decompression-bomb guard (see :func:`kmeanskit.image.load_image`).
    on_image : callable, optional
        Called with each item after it is processed (progress bars).
    recursive : bool, default=True
        Folders: also read the images in their sub-folders.

    Returns
    -------
    ImageFeatures
        ``(X, items, skipped)``.

    Examples
    --------
    >>> import numpy as np
    >>> red = np.zeros((8, 8, 3), np.uint8); red[..., 0] = 255
    >>> blue = np.zeros((8, 8, 3), np.uint8); blue[..., 2] = 255
    >>> f = image_features([red, red // 2 + 100, blue])
    >>> f.X.shape
    (3, 245)
    >>> round(float(np.linalg.norm(f.X[0] - f.X[2])), 4)  # no colour in common
    1.4142
    """
    bins = tuple(int(b) for b in bins)
    if len(bins) != 3 or min(bins) < 1:
        raise ValueError(f"bins must be three whole numbers >= 1 (L*, a*, b*), got {bins}.")
    max_side = _check_count(max_side, "max_side", 1)
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}.")
    from .image.decode import image_files

    images = image_files(images, recursive=recursive)
    table = _bin_table(bins)
    nbins = bins[0] * bins[1] * bins[2]
    rows, items, skipped = [], [], []
    for item in images:
        try:
            px = _image_pixels(item, max_side, max_pixels)
        except (ValueError, OSError) as exc:
            if errors == "raise":
                raise
            skipped.append((item, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        else:
            code = ((px[:, 0].astype(np.int32) >> 2) << 12) | ((px[:, 1].astype(np.int32) >> 2) << 6) \
                | (px[:, 2].astype(np.int32) >> 2)
            h = np.bincount(table[code], minlength=nbins).astype(np.float64)
            rows.append(np.sqrt(h / h.sum()).astype(np.float32))
            items.append(item)
        if on_image is not None:
            on_image(item)
    X = np.stack(rows) if rows else np.empty((0, nbins), dtype=np.float32)
    return ImageFeatures(X, items, skipped)
