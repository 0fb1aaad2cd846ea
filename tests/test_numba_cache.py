"""numba's on-disk cache written by two processes at once (kmeanskit._kernels._cachelock).

The interleaving that broke CI: two processes compiling different type signatures of one kernel
both read an empty index, both take data file number 1, and the index ends up naming the other
signature's machine code ("can't unbox array from PyObject into native value" in every later
process). The test replays that interleaving with two threads, each with its own lock file
handle as two processes would have.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
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


# What a process that compiles the kernels and one that loads them from the cache compute. The
# first writes the cache, the second loads it. With fastmath's ``reassoc`` LLVM regrouped
# weighted_sse's sum (the bounded algorithms' final inertia) and the distortion sums of
# vq.kmeans differently in the two: their last bits differed from one run to the next.
_FRESH_OR_CACHED = """
import os, sys
import numpy as np
sys.path.insert(0, os.path.join({root!r}, "benchmarks"))
import data as D
import kmeanskit
from kmeanskit._kernels import lloyd as K
rng = np.random.default_rng(0)
X = rng.normal(size=(50_000, 2)).astype(np.float32)
lab = rng.integers(0, 5, X.shape[0]).astype(np.int32)
w = rng.random(X.shape[0]).astype(np.float32)
print(repr(K.weighted_sse(X, w, True, X[:5].copy(), lab, 8)))
px = kmeanskit.whiten(D.load(D.workload("pixels", quick=True)).astype(np.float64))
book, dist = kmeanskit.kmeans(px, 3, rng=0)
print(repr(float(dist)), book.tobytes().hex())
"""


def test_a_process_that_compiles_and_one_that_loads_the_cache_agree(tmp_path):
    from pathlib import Path

    root = str(Path(__file__).parents[1])
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([os.path.join(root, "src"), os.environ.get("PYTHONPATH", "")]))
    code = _FRESH_OR_CACHED.format(root=root)
    fresh, cached = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True, env=env, timeout=600).stdout for _ in range(2))
    assert any((tmp_path / "cache").rglob("*.nbi"))  # the second process had a cache to load
    assert fresh == cached


# The suite's warm-up calls (every algorithm and distance strategy in both dtypes, the other
# metrics, images, search, sparse rows, k-prototypes), then the kernels that compiled in this
# process instead of loading from numba's cache.
_COMPILED_HERE = """
import sys
import numba
sys.path.insert(0, {tests!r})
import warmup
warmup.run(0, 1)
seen = set()
for name, mod in list(sys.modules.items()):
    if not name.startswith("kmeanskit"):
        continue
    for attr, obj in list(vars(mod).items()):
        if isinstance(obj, numba.core.registry.CPUDispatcher) and id(obj) not in seen:
            seen.add(id(obj))
            if sum(obj.stats.cache_misses.values()):
                print("compiled", name + "." + attr)
            elif sum(obj.stats.cache_hits.values()):
                print("loaded", name + "." + attr)
"""


def test_a_second_process_loads_every_kernel_from_the_cache():
    """numba keys a closure's cache entries on its pickled free variables: a kernel built by a
    factory closing over another kernel (a dispatcher pickles with an id of its process) found
    no entry in any later process and compiled again, 13 s for Hamerly's pass. The first process
    fills the cache (loads it, when the suite's warm-up did); the second must compile nothing."""
    from pathlib import Path

    code = _COMPILED_HERE.format(tests=str(Path(__file__).parent))
    first, second = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True, timeout=900).stdout.splitlines() for _ in range(2))
    assert [line for line in second if line.startswith("compiled")] == []
    loaded = {line.split()[1] for line in second if line.startswith("loaded")}
    # the check saw the kernels: Hamerly's pass (the one that had recompiled) among them
    assert "kmeanskit._kernels.bounds.hamerly_pass" in loaded and len(loaded) >= 50


# Fits and model use on read-only data (np.load(..., mmap_mode="r"), a Dask chunk read from Parquet,
# an image from Pillow, scikit-learn's read-only checks) and read-only centres (a model unpickled from a
# read-only memmap), then every compiled kernel signature that takes a read-only array.
_READ_ONLY = """
import sys
import numba
import numpy as np
import kmeanskit
from kmeanskit import KMeans
rng = np.random.default_rng(0)
base = rng.normal(size=(3000, 3)) + rng.integers(0, 4, (3000, 1)) * 4
out = []
for dtype in (np.float32, np.float64):
    X = base.astype(dtype)
    R = X.copy()
    R.setflags(write=False)
    for algo in ("lloyd", "hamerly"):
        a = kmeanskit.fit(X, 4, algorithm=algo, random_state=0)
        b = kmeanskit.fit(R, 4, algorithm=algo, random_state=0)
        out.append(a.centers.tobytes() == b.centers.tobytes() and (a.labels == b.labels).all())
    for metric in ("euclidean", "manhattan"):
        km = KMeans(4, metric=metric, random_state=0, n_init=1).fit(R)
        km.cluster_centers_.setflags(write=False)
        km.predict(R), km.transform(R), km.score(R)
img = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
img.setflags(write=False)  # as np.asarray(PIL.Image) gives it
kmeanskit.dominant_colors(img, 4)
kmeanskit.quantize(img, 4, dither=True)
for name, mod in list(sys.modules.items()):
    if name.startswith("kmeanskit"):
        for attr, obj in list(vars(mod).items()):
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                for sig in obj.signatures:
                    if any(isinstance(t, numba.types.Array) and not t.mutable for t in sig):
                        print("read-only", name + "." + attr)
print("same", all(out))
"""


def test_read_only_data_and_centres_use_the_kernels_of_writeable_ones():
    """numba compiles a kernel once per argument type, and a read-only array is a type of its
    own: the first fit on a read-only memmap compiled every kernel of its path again. Read-only
    data and centres now reach the kernels as
    writeable-flagged views of the same memory (``_validation.kernel_view``): no kernel has a
    read-only signature, and the fits are the same bits as on a writeable copy."""
    out = subprocess.run([sys.executable, "-c", _READ_ONLY], capture_output=True, text=True,
                         check=True, timeout=900).stdout.splitlines()
    assert [line for line in out if line.startswith("read-only")] == []
    assert out[-1] == "same True"


def test_a_chunk_task_gets_a_writeable_view_of_a_read_only_chunk():
    from kmeanskit import _chunked

    x = np.arange(12.0).reshape(4, 3)
    x.setflags(write=False)
    seen = []
    got = _chunked._group_task([x], None, [None], [],
                               lambda c, w, s: seen.append(c) or float(c.sum()))
    assert got == [66.0]
    assert seen[0].flags.writeable and np.shares_memory(seen[0], x)
    assert not x.flags.writeable  # the chunk itself is left as it was
