"""numba's on-disk cache, safe when several processes compile at once.

Every kernel is compiled with ``cache=True``: numba keeps, per function, an
index mapping each compiled type signature to a data file numbered in order
(``name-<line>.py311.1.nbc``, ``.2.nbc``, ...). Its
``IndexDataCacheFile.save`` reads the index, takes the first free number,
writes the index and then the data file, with no lock. Two processes that
compile different signatures of one function at the same time (pytest-xdist
workers, Dask worker processes, joblib jobs on a fresh install) can both
take number 1; the index then maps one signature to the other's machine
code, and every later process that loads it fails with "can't unbox array
from PyObject into native value" or worse (numba issues 4807 and 10128,
open as of numba 0.68).

:func:`install` replaces that one method by :func:`_locked_save`, which
holds an exclusive ``fcntl`` lock on one lock file per cache directory
while it re-reads the index, takes a number and writes, and writes the data
file before the index entry that names it, so a process reading the cache
never meets an entry whose file is missing or holds another signature.
Where ``fcntl`` is missing (Windows) or the lock file cannot be created,
numba's own method runs unchanged.
"""

from __future__ import annotations

import itertools
import os

try:
    import fcntl
except ImportError:  # Windows: numba's own save
    fcntl = None

from numba.core import caching

LOCK_NAME = "kmeanskit-numba-cache.lock"
_numba_save = caching.IndexDataCacheFile.save


def _locked_save(self, key, data):
    """``IndexDataCacheFile.save`` under a lock: the data file, then its
    index entry."""
    try:
        lock = open(os.path.join(self._cache_path, LOCK_NAME), "ab")
    except OSError:  # a cache directory we may not write to: numba's own way
        return _numba_save(self, key, data)
    with lock:  # closing the file releases the lock
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            taken = set(overloads.values())
            name = next(n for n in map(self._data_name, itertools.count(1)) if n not in taken)
            self._save_data(name, data)
            overloads[key] = name
            self._save_index(overloads)
        else:  # a recompile of a signature already listed: replace its file
            self._save_data(name, data)


def install() -> bool:
    """Make numba's cache saves take the lock (once per process); False
    where it cannot (no ``fcntl``, or a numba without the methods used)."""
    cls = caching.IndexDataCacheFile
    if fcntl is None or not all(hasattr(cls, m) for m in ("_load_index", "_save_index",
                                                          "_save_data", "_data_name")):
        return False
    cls.save = _locked_save
    return True


INSTALLED = install()
