"""Column scaling before clustering, remembered so new rows get the same.

k-means measures distance in the units of the columns, so a column in
thousands swamps one in fractions. :class:`Scaling` records what was done to
the training table (``zscore``: subtract the mean, divide by the standard
deviation; ``whiten``: divide by the standard deviation only, as
``scipy.cluster.vq.whiten``; ``none``) so that a saved model applies exactly
the same transform to new rows, and centres can be reported in the original
units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import SCALING_KINDS  # the kinds a model file can hold

__all__ = ["Scaling", "SCALING_KINDS"]


@dataclass(frozen=True)
class Scaling:
    """A fitted per-column affine map ``(x - center) / scale``.

    Attributes
    ----------
    kind : {"zscore", "whiten", "none"}
    center : ndarray of shape (n_features,)
        Subtracted first (zeros unless ``kind="zscore"``).
    scale : ndarray of shape (n_features,)
        Divided by next (ones for ``"none"``; a constant column keeps scale 1
        so it maps to a constant instead of dividing by zero).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeanskit.tables import Scaling
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> s = Scaling.fit(X, "zscore")
    >>> s.transform(X).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> s.inverse_transform(s.transform(X)).tolist()
    [[1.0, 10.0], [3.0, 30.0]]
    >>> Scaling.from_dict(s.to_dict()) == s
    True
    """

    kind: str
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X, kind: str = "zscore", sample_weight=None) -> "Scaling":
        """Measure the columns of ``X`` (n_samples, n_features), optionally
        weighted, for the scaling ``kind``."""
        if kind not in SCALING_KINDS:
            raise ValueError(f"unknown scaling {kind!r}; use one of {', '.join(SCALING_KINDS)}.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (rows x columns); got shape {X.shape}.")
        d = X.shape[1]
        if kind == "none":
            return cls(kind, np.zeros(d), np.ones(d))
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        # each column measured on a copy multiplied by the power of two that brings its largest
        # magnitude into [0.5, 1): exact, so ordinary columns get the same bits, and columns
        # near the float range's ends neither overflow nor vanish in the sums and squares
        e = _exponents(X)
        Xs = np.ldexp(X, -e)
        if np.isnan(X).any():  # missing values (segment(missing="ignore")): each column's observed ones
            wt = np.ones(X.shape[0]) if w is None else w
            ok = ~np.isnan(X)
            ws = (wt[:, None] * ok).sum(axis=0)
            ws = np.where(ws > 0, ws, 1.0)
            mean = (wt[:, None] * np.where(ok, Xs, 0.0)).sum(axis=0) / ws
            dev = np.where(ok, Xs - mean, 0.0)
            e2 = _exponents(dev)
            std = np.sqrt((wt[:, None] * np.ldexp(dev, -e2) ** 2).sum(axis=0) / ws)
        else:
            mean = np.average(Xs, axis=0, weights=w)
            dev = Xs - mean
            e2 = _exponents(dev)
            std = np.sqrt(np.average(np.ldexp(dev, -e2) ** 2, axis=0, weights=w))
        mean, std = np.ldexp(mean, e), np.ldexp(std, e + e2)
        std = np.where(std > 0, std, 1.0)
        center = mean if kind == "zscore" else np.zeros(d)
        return cls(kind, center, std)

    @property
    def n_features(self) -> int:
        """Number of columns the scaling was fitted on."""
        return self.center.shape[0]

    def _check(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X has shape {X.shape}; this scaling was fitted on "
                             f"{self.n_features} columns.")
        return X

    def transform(self, X) -> np.ndarray:
        """Scaled copy of ``X``; float32 input stays float32."""
        X = self._check(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if self.kind == "none":
            return np.array(X, dtype=dtype)
        # in the units of each column's scale times a power of two (exact: the same bits as
        # (X - center) / scale where that cannot overflow, a finite value where it would)
        e = np.frexp(self.scale)[1]
        return ((np.ldexp(X, -e) - np.ldexp(self.center, -e)) / np.ldexp(self.scale, -e)).astype(dtype, copy=False)

    def inverse_transform(self, Z) -> np.ndarray:
        """Back to the original units (e.g. cluster centres)."""
        Z = self._check(Z)
        dtype = Z.dtype if Z.dtype in (np.float32, np.float64) else np.float64
        return (Z * self.scale + self.center).astype(dtype, copy=False)

    def to_dict(self) -> dict:
        """JSON-ready description (plain lists of floats)."""
        return {"kind": self.kind, "center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaling":
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed dict."""
        try:
            kind = d["kind"]
            center = np.asarray(d["center"], dtype=np.float64)
            scale = np.asarray(d["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed scaling record ({exc!r}).") from None
        if (kind not in SCALING_KINDS or center.ndim != 1 or center.shape != scale.shape
                or not np.all(np.isfinite(center)) or not np.all(scale > 0)):
            raise ValueError("malformed scaling record: unknown kind or bad center/scale.")
        return cls(kind, center, scale)

    def __eq__(self, other) -> bool:
        return (isinstance(other, Scaling) and self.kind == other.kind
                and np.array_equal(self.center, other.center)
                and np.array_equal(self.scale, other.scale))

    __hash__ = None


def _exponents(A) -> np.ndarray:
    """Per column of ``A``: the exponent ``e`` with its largest finite
    magnitude in ``[2**(e-1), 2**e)`` (0 for a column of zeros or NaN)."""
    with np.errstate(invalid="ignore"):
        mag = np.nanmax(np.abs(A), axis=0, initial=0.0)
    return np.frexp(mag)[1].astype(np.int64)
