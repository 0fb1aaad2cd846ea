"""numba kernels: one pass per call into caller-allocated buffers.

No validation and no Python objects here; see ``_solver`` for the driver.
"""
