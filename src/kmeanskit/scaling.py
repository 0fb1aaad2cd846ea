"""The column scaling of tables, :class:`~kmeanskit.tables.Scaling`, under its
older import path ``kmeanskit.scaling`` (saved models and their error
messages name it so). It is defined in :mod:`kmeanskit.tables.scaling`.
"""

from __future__ import annotations

from .tables.scaling import SCALING_KINDS, Scaling

__all__ = ["Scaling", "SCALING_KINDS"]
