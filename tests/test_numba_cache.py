"""numba's on-disk cache written by two processes at once (kmeanskit._kernels._cachelock).

The interleaving that broke CI: two processes compiling different type signatures of one kernel
both read an empty index, both take data file number 1, and the index ends up naming the other
signature's machine code ("can't unbox array from PyObject into native value" in every later
process). The test replays that interleaving with two threads, each with its own lock file
handle as two processes would have.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from numba.core import caching

from kmeanskit._kernels import _cachelock


def _two_saves_at_once(cache_dir, save):
    """Save signature "a" and signature "b" of one function, "b" starting while "a" has read the
    index but not yet written anything; returns what a later process loads for each."""
    stamp = (1.0, 10)
    first = caching.IndexDataCacheFile(str(cache_dir), "kernel-10.py311", stamp)
    second = caching.IndexDataCacheFile(str(cache_dir), "kernel-10.py311", stamp)
    has_read = threading.Event()
    read_index = first._load_index

    def slow_read():  # "a" pauses between reading the index and writing
        overloads = read_index()
        has_read.set()
        time.sleep(0.3)
        return overloads

    first._load_index = slow_read
    a = threading.Thread(target=save, args=(first, "a", b"code for a"))
    a.start()
    has_read.wait()
    save(second, "b", b"code for b")
    a.join()
    later = caching.IndexDataCacheFile(str(cache_dir), "kernel-10.py311", stamp)
    return later.load("a"), later.load("b")


def test_two_processes_saving_one_kernel_keep_each_signature(tmp_path):
    assert _cachelock.INSTALLED
    assert caching.IndexDataCacheFile.save is _cachelock._locked_save
    assert _two_saves_at_once(tmp_path, caching.IndexDataCacheFile.save) == (b"code for a", b"code for b")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kernel-10.py311.1.nbc", "kernel-10.py311.2.nbc", "kernel-10.py311.nbi", _cachelock.LOCK_NAME]


def test_numbas_own_save_loses_a_signature_in_that_interleaving(tmp_path):
    """Why the lock is there: numba's unlocked save, same interleaving. If a numba release makes
    this pass, its own save is safe and _cachelock can go."""
    # both take file 1; "a" writes the index last, and "b"'s entry is gone (with the writes in the
    # other order, the index names "b" and its file holds "a"'s code: the CI failure)
    assert _two_saves_at_once(tmp_path, _cachelock._numba_save) == (b"code for a", None)


def test_importing_kmeanskit_installs_the_lock():
    code = ("import kmeanskit; from numba.core import caching; "
            "from kmeanskit._kernels import _cachelock; "
            "print(caching.IndexDataCacheFile.save is _cachelock._locked_save)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_unwritable_cache_directory_falls_back_to_numbas_save(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(_cachelock, "_numba_save", lambda self, key, data: calls.append(key))
    f = caching.IndexDataCacheFile(str(tmp_path / "missing"), "kernel-10.py311", (1.0, 10))
    _cachelock._locked_save(f, "a", b"code")
    assert calls == ["a"]


def test_a_third_save_takes_the_next_number(tmp_path):
    n = 3
    f = caching.IndexDataCacheFile(str(tmp_path), "kernel-10.py311", (1.0, 10))
    for i in range(n):
        f.save(f"sig{i}", f"code {i}".encode())
    f.save("sig1", b"recompiled 1")  # a listed signature keeps its file
    assert [f.load(f"sig{i}") for i in range(n)] == [b"code 0", b"recompiled 1", b"code 2"]
    assert len(list(tmp_path.glob("*.nbc"))) == n
