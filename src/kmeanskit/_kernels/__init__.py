"""numba kernels: one pass per call into caller-allocated buffers.

No validation and no Python objects here; see ``_solver`` for the driver.
"""

from . import _cachelock  # noqa: F401  (numba cache writes safe across processes, before any kernel)
