"""Tables: reading them, scaling their columns and segmenting their rows.

* :mod:`~kmeanskit.tables.read`: :func:`read_table` (the numeric matrix of a
  CSV/TSV, Parquet or ``.npy`` file), :func:`read_frame` and
  :func:`write_frame` (whole tables as DataFrames); also in
  :mod:`kmeanskit.io`.
* :mod:`~kmeanskit.tables.scaling`: :class:`Scaling`, the column scaling a
  saved model remembers.
* :mod:`~kmeanskit.tables.features`: from columns to named features and
  back (:func:`feature_matrix`, :func:`model_inputs`).
* :mod:`~kmeanskit.tables.segmentation`: :func:`segment` ->
  :class:`Segmentation` (also ``kmeanskit.segment``).

pandas and pyarrow (the ``tables`` extra, ``pip install kmeanskit[tables]``)
are imported only when a function needs them.
"""

from __future__ import annotations

from .features import MAX_AUTO_LEVELS, feature_matrix, model_inputs
from .read import FRAME_OUTPUT_SUFFIXES, TABLE_SUFFIXES, Table, read_frame, read_table, write_frame
from .scaling import SCALING_KINDS, Scaling
from .segmentation import STANDARDIZE_KINDS, Segmentation, segment

__all__ = [
    "read_table",
    "read_frame",
    "write_frame",
    "Table",
    "TABLE_SUFFIXES",
    "FRAME_OUTPUT_SUFFIXES",
    "Scaling",
    "SCALING_KINDS",
    "segment",
    "Segmentation",
    "STANDARDIZE_KINDS",
    "feature_matrix",
    "model_inputs",
    "MAX_AUTO_LEVELS",
]
