"""Data in chunks of rows as a source of the one solver loop: Dask arrays and
DataFrames, on a ``distributed`` cluster or in this process.

The loop (``_solver.solve``) runs in the caller's process and sees a step
like any other. Each pass runs the in-memory kernels
(``_solver.ArraySource``) on every chunk, each chunk returning only small
results: its per-cluster weighted sums, weights and statistics. The
chunks' labels (and the seeding's distances) stay where the chunk is: on a
worker, next to the chunk (``distributed``), or in this process. Partial
results are added in chunk order, never in completion order, so a fit
gives the same bits for any number of workers, threads or timings.

Two executors run the tasks:

- :class:`DistributedChunks`, when a ``distributed.Client`` is active: the
  chunks are computed once and kept on the workers (``client.compute``).
  A pass is one task per group of chunks (:func:`group_plan`: a worker's
  chunks, cut into one run per worker thread), all in one ``client.map``
  call: the scheduling cost of a pass grows with the workers, not the
  chunks. A Lloyd or Hamerly pass's tasks keep their chunks' labels (and
  bounds) in the worker's process (``_KEPT``) and return only the small
  results, which come back with one gather. Where a chunk's state is a
  task's result (the k-means|| distances), one tiny task per group picks
  out the small results to gather and the next pass takes the whole
  result. Lost chunks, labels or states (a worker that died) are
  recomputed, by the scheduler from their lineage or by the task from the
  last centres, deterministically, so the fit ends with the same result.
  Every wait has a timeout (Dask config ``kmeanskit.timeout``, seconds,
  default 3600).
- :class:`LocalChunks`: chunks computed one at a time in this process by
  Dask's synchronous scheduler at every pass (the data is read again from
  its source: Parquet, zarr, a memmap; only one chunk is in memory at a
  time), or plain NumPy row blocks (``k-means||`` in memory).

Seeding: ``k-means||`` (Bahmani et al., "Scalable K-Means++", VLDB 2012):
one row drawn in proportion to the weights, then ``rounds`` rounds, each
drawing every row independently with probability ``l w d^2 / phi``
(``l = oversampling x k`` rows a round on average), the candidates weighted
by the weight of the rows nearest to them, reduced to ``k`` centres by the
weighted greedy k-means++ of ``_init`` and a few Lloyd iterations on the
weighted candidates, the best of up to ``REDUCE_TRIES`` such runs. A task
between rounds picks each round's candidates, so the rounds run on the
cluster without waiting for this process. Also a
uniform sample drawn chunk by chunk, seeded in memory
(``k-means++sample``), and random rows of such a sample ("random").

Steps: :class:`ChunkedLloydStep` and :class:`ChunkedHamerlyStep` (its
labels and bounds stay with each chunk; a pass returns the changes of the
sums), chosen by :func:`make_step` as the in-memory engine chooses.
"""

from __future__ import annotations

import operator
import pickle
import threading
import uuid

import numpy as np

from . import _numeric, _solver
from ._config import MAX_BLOCKS
from ._init import INITS, SAMPLE_REFINE_ITERS, FewDistinctPointsError, n_local_trials, sample_size
from ._kernels import lloyd as K
from ._kernels import seeding as SK
from ._solver import ArraySource, PassResult, Step, label_dtype
from ._validation import kernel_view

#: Candidates per k-means|| round, as a multiple of k (Bahmani et al.'s l = 2k).
OVERSAMPLING = 2.0
#: k-means|| rounds (Bahmani et al. find 5 enough; each round is one pass over the data).
ROUNDS = 5
#: Most runs of the reduction of the k-means|| candidates to k centres (best kept).
REDUCE_TRIES = 3
#: Named initialisations on chunked data; "auto" and "k-means++" are k-means||.
CHUNKED_INITS = ("auto", "k-means++", "k-means||", "k-means++sample", "random")
#: Default seconds any wait on the cluster may take (Dask config ``kmeanskit.timeout``).
DEFAULT_TIMEOUT = 3600.0
#: Rows per chunk when the user's data comes as a NumPy array for k-means||.
LOCAL_CHUNK_ROWS = 1 << 18


class ChunkTaskError(RuntimeError):
    """A task on a chunk failed (its original exception is chained)."""


# --- Dask input -----------------------------------------------------------------

def is_dask(X) -> bool:
    """Whether ``X`` is a Dask collection (array, DataFrame or Series),
    without importing Dask."""
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr") and \
        hasattr(X, "__dask_graph__")


def require_dask():
    """Import dask, or say which extra to install."""
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra has dask
        raise ImportError("Dask input needs the dask extra: pip install 'kmeanskit[dask]' "
                          "(or pip install 'dask[array,dataframe,distributed]').") from None
    return dask


def compute(*collections):
    """``dask.compute`` on the active ``distributed.Client``, else on Dask's
    synchronous scheduler in this process (not whatever a closed client
    left in Dask's config)."""
    import dask

    if active_client() is not None:
        return dask.compute(*collections)
    return dask.compute(*collections, scheduler="sync")


def as_dask_array(X, name: str = "X"):
    """A validated 2-D float32/float64 Dask array with known row chunks and
    one chunk of columns. A DataFrame must have numeric columns only."""
    require_dask()
    import dask.array as da

    if hasattr(X, "to_dask_array") and hasattr(X, "dtypes"):  # DataFrame
        bad = [str(c) for c, t in X.dtypes.items() if t.kind not in "fiub"]
        if bad:
            raise ValueError(f"{name} has non-numeric columns {bad}; select numeric columns, e.g. "
                             f"df[[...]], before clustering.")
        lengths = compute(X.map_partitions(len))[0]
        X = X.to_dask_array(lengths=[int(v) for v in lengths])
    elif hasattr(X, "to_dask_array"):  # Series
        raise ValueError(f"{name} is a Dask Series; pass a DataFrame of columns, e.g. s.to_frame().")
    if not isinstance(X, da.Array):
        raise ValueError(f"{name} is a {type(X).__name__}; pass a Dask array or DataFrame.")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} has dtype {X.dtype} which is not numeric; pass numbers only.")
    if X.ndim != 2:
        raise ValueError(f"{name} has {X.ndim} dimensions (shape {X.shape}); pass a 2-D array "
                         "(n_samples, n_features).")
    if any(np.isnan(c) for c in X.chunks[0]):
        from dask import delayed

        rows = compute(*[delayed(len)(b) for b in X.to_delayed()[:, 0]])
        X = da.Array(X.dask, X.name, (tuple(int(r) for r in rows), X.chunks[1]), dtype=X.dtype)
    if X.shape[0] < 1:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least 1 row.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {X.shape}); pass at least one column.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float32 if X.dtype == np.float16 else np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def as_dask_weights(w, X):
    """Sample weights as a Dask array with X's row chunks (None stays None;
    a scalar or a NumPy vector is cut into X's chunks)."""
    if w is None:
        return None
    import dask.array as da

    if not is_dask(w):
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(X.shape[0], float(w))
        if w.shape != (X.shape[0],):
            raise ValueError(f"sample_weight has shape {w.shape} but X has {X.shape[0]} rows; "
                             f"pass {X.shape[0]} weights.")
        w = da.from_array(w, chunks=(X.chunks[0],))
    else:
        w = as_dask_array(w.reshape(-1, 1) if getattr(w, "ndim", 1) == 1 else w,
                          "sample_weight")[:, 0]
        if w.shape[0] != X.shape[0]:
            raise ValueError(f"sample_weight has {w.shape[0]} rows but X has {X.shape[0]}; "
                             "pass one weight per row.")
        if w.chunks[0] != X.chunks[0]:
            w = w.rechunk((X.chunks[0],))
    return w.astype(X.dtype)


def active_client():
    """The active ``distributed.Client``, or None (then Dask's local,
    synchronous scheduler runs the tasks in this process)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import get_client

    try:
        client = get_client()
    except ValueError:
        return None
    return client if client.status == "running" else None  # a closed default client: none


def timeout() -> float:
    import dask

    return float(dask.config.get("kmeanskit.timeout", DEFAULT_TIMEOUT))


# --- executors --------------------------------------------------------------------

class LocalChunks:
    """Chunks processed in order in this process: NumPy blocks, or Dask
    chunks computed (synchronously) each time a task needs them."""

    distributed = False

    def __init__(self, xs, ws):
        self.xs = xs
        self.ws = ws

    @staticmethod
    def _value(a):
        if a is None or isinstance(a, np.ndarray):
            return a
        return np.asarray(a.compute(scheduler="sync"))

    def map(self, fn, states, *args, skip_none=False, small=False):
        out = []
        for i in range(len(self.xs)):
            if skip_none and states[i] is None:
                out.append(None)
                continue
            x = self._value(self.xs[i])
            w = None if self.ws is None else self._value(self.ws[i])
            out.append(fn(x, w, None if states is None else states[i], *args))
        return out

    def field(self, handles, j):
        return [None if h is None else h[j] for h in handles]

    def gather(self, handles):
        return list(handles)

    def reduce(self, fn, handles, *args):
        """``fn(values of the handles, in chunk order, *args)``, here and now."""
        return fn(self.gather(handles), *args)

    def value(self, v):
        """The value of a :meth:`reduce` result (itself, here)."""
        return v

    def to_dask(self, parts, sizes, dtype):
        """1-D chunk results (NumPy arrays here) as one Dask array."""
        import dask.array as da

        return da.concatenate([da.from_array(p, chunks=p.shape) for p in parts])


class DistributedChunks:
    """Chunks kept on the workers of a ``distributed`` cluster; one task per
    group of chunks (:func:`group_plan`) per pass, small results gathered in
    chunk order."""

    distributed = True

    def __init__(self, client, X, w):
        self.client = client
        self.timeout = timeout()
        self.xs = client.compute(list(X.to_delayed().ravel()))
        self.ws = None if w is None else client.compute(list(w.to_delayed().ravel()))
        sizes = [int(c) for c in X.chunks[0]]
        holders = self._spread(sizes)
        self.groups = group_plan(holders, sizes, self._nthreads())

    def _nthreads(self):
        return {a: max(1, int(w.get("nthreads", 1)))
                for a, w in self.client.scheduler_info()["workers"].items()}

    def _spread(self, sizes):
        """Copy chunks to the workers holding less than their share of the
        rows (:func:`spread_plan`), once, so that every pass uses all of
        them: a persisted array that an earlier ``.compute()`` gathered
        onto one worker would otherwise run every pass there alone (the
        scheduler does not move a large chunk for a short task). The copies
        are new keys with a loose worker restriction: if that worker dies,
        the scheduler recomputes them elsewhere from the original.

        Returns the workers holding each chunk afterwards (none known
        when the chunks are not ready within the timeout).
        """
        from distributed import wait

        try:
            wait(self.xs + (self.ws or []), timeout=self.timeout)
        except TimeoutError:  # the first pass's wait reports it
            return [()] * len(sizes)
        who = self.client.who_has(self.xs)
        holders = [tuple(who.get(f.key, ())) for f in self.xs]
        plan = spread_plan(holders, sizes, self._nthreads())
        if not plan:
            return holders
        token = uuid.uuid4().hex
        for i, worker in plan.items():
            for name, parts in (("x", self.xs), ("w", self.ws)):
                if parts is not None:
                    parts[i] = self.client.submit(_same, parts[i], key=f"chunk-{name}-{token}-{i}",
                                                  workers=[worker], allow_other_workers=True,
                                                  pure=False)
        # where the copies went (the restriction is loose: the scheduler may
        # place one elsewhere), for the groups of chunks
        try:
            wait([self.xs[i] for i in plan], timeout=self.timeout)
        except TimeoutError:
            return [(plan[i],) if i in plan else h for i, h in enumerate(holders)]
        who = self.client.who_has([self.xs[i] for i in plan])
        for i in plan:
            holders[i] = tuple(who.get(self.xs[i].key, ())) or (plan[i],)
        return holders

    def _map(self, fn, columns, args, name=None):
        """One task per row of ``columns`` (lists, one entry per task), with
        ``args`` the same for all: one ``client.map`` call (one message to
        the scheduler, not one per task), keys named after ``name`` (``fn``'s
        name by default) with one random token per call."""
        if not columns[0]:
            return []
        token = uuid.uuid4().hex
        name = (name or fn.__name__).strip("_")
        keys = [f"{name}-{token}-{i}" for i in range(len(columns[0]))]
        try:
            return self.client.map(fn, *columns, *[[a] * len(keys) for a in args], key=keys,
                                   pure=False)
        except Exception as exc:
            if self.client.status in ("closing", "closed"):
                raise ChunkTaskError("The Dask client was closed during the computation; "
                                     "keep it open until the fit returns.") from exc
            raise

    def map(self, fn, states, *args, skip_none=False, small=False):
        """``fn(x, w, state, *args)`` on every chunk (but those whose state is
        None, with ``skip_none``): one task per group of chunks
        (:func:`group_plan`), all in one ``client.map`` call. Returns one
        handle per chunk (:class:`_Part`, None for a skipped chunk).

        ``small``: the results are small and all of them come back (no
        later task takes them): each group task returns its list of results
        pickled into one bytes object, which :meth:`gather` fetches as it
        is, with no task picking parts out of it (one scheduler round trip
        a pass fewer)."""
        out = [None] * len(self.xs)
        columns, where = ([], [], [], []), []
        for g in self.groups:
            take = [i for i in g if not (skip_none and states[i] is None)]
            if not take:
                continue
            prevs = []
            columns[0].append([self.xs[i] for i in take])
            columns[1].append(None if self.ws is None else [self.ws[i] for i in take])
            columns[2].append([_encode(None if states is None else states[i], prevs) for i in take])
            columns[3].append(prevs)
            where.append(take)
        got = self._map(_group_small_task if small else _group_task, list(columns), (fn,) + args,
                        name=fn.__name__)
        for take, f in zip(where, got):
            for pos, i in enumerate(take):
                out[i] = _Part(f, pos, small=small)
        return out

    def field(self, handles, j):
        """Field ``j`` of each chunk's result: no task (it is picked out on
        the worker when gathered or passed to the next pass)."""
        return [None if h is None else h.field(j) for h in handles]

    def _picked(self, handles, packed=True):
        """Futures of lists holding the requested parts of each group's
        result, one tiny task per group (only these parts travel, the rest
        stays on the workers), and where each handle's value sits in them:
        ``(futures, [(index of future, index in its list) or None])``.

        ``packed``: each list pickled into one bytes object (:func:`_unpack`
        reads it back). Dask sends each NumPy array of a result as a frame
        of its own, and a pass's small results are a few arrays per chunk:
        one blob a group instead of a frame per array keeps the gather's
        cost from growing with the chunks (docs/benchmarks.md). The labels
        (large) go unpacked."""
        order, wants, where = {}, [], []
        for h in handles:
            if h is None:
                where.append(None)
                continue
            g = order.setdefault(h.fut.key, len(order))
            if g == len(wants):
                wants.append((h.fut, []))
            where.append((g, len(wants[g][1])))
            wants[g][1].append((h.pos, h.path))
        futs = self._map(_pick, [[f for f, _ in wants], [w for _, w in wants]], (packed,))
        return futs, where

    def gather(self, handles):
        """The values of the handles (:meth:`map`, :meth:`field`), waited
        for with the timeout; a failed task raises ChunkTaskError naming its
        exception."""
        if self.client.status in ("closing", "closed"):
            return self._fetch(None)
        if any(h is not None and h.small for h in handles):  # map(small=True): fetched whole
            futs = list({h.fut.key: h.fut for h in handles if h is not None}.values())
            got = {f.key: _unpack(b) for f, b in zip(futs, self._fetch(futs))}
            return [None if h is None else _follow(got[h.fut.key][h.pos], h.path) for h in handles]
        futs, where = self._picked(handles)
        got = [_unpack(b) for b in self._fetch(futs)]
        return [None if p is None else got[p[0]][p[1]] for p in where]

    def reduce(self, fn, handles, *args):
        """``fn(values of the handles, in chunk order, *args)`` in a task on
        the cluster, after one tiny task per group picking out those values:
        a future, which later tasks may take as an argument and
        :meth:`value` fetches (nothing comes back here until then)."""
        futs, where = self._picked(handles)
        return self._map(_reduce_task, [[futs]], (where, fn) + args, name=fn.__name__)[0]

    def value(self, fut):
        """The value of a :meth:`reduce` future, waited for with the timeout."""
        if self.client.status in ("closing", "closed"):
            return self._fetch(None)
        return self._fetch([fut])[0]

    def _fetch(self, futs):
        """The values of ``futs`` (None: the client is closed), waited for
        with the timeout, every failure as a ChunkTaskError that says what
        to do."""
        from concurrent.futures import CancelledError

        from distributed import wait

        client = self.client
        try:
            if futs is None or client.status in ("closing", "closed"):
                raise CancelledError()
            _, pending = wait(futs, timeout=self.timeout)
            if pending:
                raise TimeoutError()
            return client.gather(futs)
        except (CancelledError, TimeoutError) as exc:
            if client.status in ("closing", "closed"):
                raise ChunkTaskError("The Dask client was closed during the computation; "
                                     "keep it open until the fit returns.") from exc
            if isinstance(exc, TimeoutError):
                raise ChunkTaskError(
                    f"Dask tasks did not finish within {self.timeout:g} s (config "
                    "'kmeanskit.timeout'); check the cluster's workers, or raise the timeout "
                    "with dask.config.set({'kmeanskit.timeout': seconds}).") from exc
            raise ChunkTaskError("Dask tasks were cancelled during the computation "
                                 "(the cluster lost them); run the fit again.") from exc
        except ValueError:
            raise
        except ChunkTaskError:
            raise
        except Exception as exc:
            raise ChunkTaskError(f"A Dask task failed: {type(exc).__name__}: {exc}") from exc

    def to_dask(self, parts, sizes, dtype):
        """1-D chunk results (handles on the workers) as one Dask array: the
        parts picked out of their groups' results first (one task per
        group), so that the array holds them and not the groups' whole
        results (a Hamerly pass's bounds)."""
        import dask.array as da
        from dask import delayed

        futs, where = self._picked(parts, packed=False)  # large: one frame per array
        return da.concatenate([da.from_delayed(delayed(operator.getitem)(futs[g], i), shape=(s,),
                                               dtype=dtype)
                               for (g, i), s in zip(where, sizes)])


class _Part:
    """A handle on one chunk's result inside its group task's result (a
    list, one entry per chunk of the group): the group's future, the
    chunk's position there, and the fields picked out of it (``path``);
    ``small``: the group's result is its list pickled (:func:`_group_small_task`)."""

    __slots__ = ("fut", "pos", "path", "small")

    def __init__(self, fut, pos: int, path: tuple = (), small: bool = False):
        self.fut = fut
        self.pos = pos
        self.path = path
        self.small = small

    def field(self, j: int) -> "_Part":
        return _Part(self.fut, self.pos, self.path + (j,), self.small)


class _Ref:
    """A :class:`_Part` as a group task's argument: the index of its group's
    result among the task's ``prevs`` (futures, which the worker replaces by
    their values), its position and path."""

    __slots__ = ("j", "pos", "path")

    def __init__(self, j: int, pos: int, path: tuple):
        self.j = j
        self.pos = pos
        self.path = path


def _encode(obj, prevs: list):
    """``obj`` with each :class:`_Part` (also inside tuples and lists)
    replaced by a :class:`_Ref`, its group's future appended to ``prevs``
    (once per group)."""
    if isinstance(obj, _Part):
        for j, f in enumerate(prevs):
            if f.key == obj.fut.key:
                break
        else:
            j = len(prevs)
            prevs.append(obj.fut)
        return _Ref(j, obj.pos, obj.path)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_encode(o, prevs) for o in obj)
    return obj


def _follow(value, path):
    for j in path:
        value = value[j]
    return value


def _decode(obj, prevs):
    """The inverse of :func:`_encode` on the worker (``prevs``: values)."""
    if isinstance(obj, _Ref):
        return _follow(prevs[obj.j][obj.pos], obj.path)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_decode(o, prevs) for o in obj)
    return obj


def _group_task(xs, ws, states, prevs, fn, *args):
    """``fn(x, w, state, *args)`` on each chunk of a group, in chunk order:
    the list of their results."""
    # a chunk read from Parquet is a read-only buffer of pyarrow's (kernel_view)
    return [fn(kernel_view(x), None if ws is None else ws[i], _decode(states[i], prevs), *args)
            for i, x in enumerate(xs)]


def _group_small_task(xs, ws, states, prevs, fn, *args):
    """:func:`_group_task`'s list pickled into one bytes object (small
    results, all gathered: see ``DistributedChunks.map``)."""
    return pickle.dumps(_group_task(xs, ws, states, prevs, fn, *args),
                        protocol=pickle.HIGHEST_PROTOCOL)


def _pick(results, wants, packed):
    """The parts ``[(position, path), ...]`` of a group's result, as a list,
    or with ``packed`` as that list pickled into one bytes object."""
    got = [_follow(results[pos], path) for pos, path in wants]
    return pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL) if packed else got


def _unpack(blob):
    """A list :func:`_pick` packed."""
    return pickle.loads(blob)


def _reduce_task(picked, where, fn, *args):
    """``fn`` on the picked values in chunk order (``where``: the place of
    each in ``picked``, a packed list per group; see
    ``DistributedChunks._picked``)."""
    picked = [_unpack(b) for b in picked]
    return fn([None if p is None else picked[p[0]][p[1]] for p in where], *args)


def group_plan(holders, sizes, nthreads) -> list:
    """The chunks' groups, one task each per pass: ``[[chunk index, ...],
    ...]``, ordered by first chunk.

    ``holders``: the workers holding each chunk; ``sizes``: its rows;
    ``nthreads``: the cluster's workers and their threads. Each worker's
    chunks (a chunk held by several counts for the one with the fewest rows
    so far), in chunk order, are cut into as many runs of about equal rows
    as the worker has threads: one task per thread and pass, so that the
    scheduling cost of a pass does not grow with the number of chunks. A
    chunk held by no known worker is a group of its own."""
    load = dict.fromkeys(nthreads, 0)
    mine = {a: [] for a in nthreads}
    groups = []
    for i, hs in enumerate(holders):
        hs = [h for h in hs if h in load]
        if not hs:
            groups.append([i])
            continue
        h = min(hs, key=lambda a: (load[a], a))
        load[h] += sizes[i]
        mine[h].append(i)
    for a, idx in mine.items():
        t = min(nthreads[a], len(idx))
        if t == 0:
            continue
        total = float(sum(sizes[i] for i in idx))
        cut, acc, g = [[]], 0.0, 0
        for i in idx:
            # start the next run once this one holds its share of the rows
            if cut[-1] and g + 1 < t and acc >= total * (g + 1) / t:
                cut.append([])
                g += 1
            cut[-1].append(i)
            acc += sizes[i]
        groups.extend(cut)
    return sorted(groups, key=lambda g: g[0])


#: A worker holding more than this multiple of its share of the rows makes a
#: fit copy chunks to the workers below theirs (:func:`spread_plan`).
SPREAD_ABOVE = 1.25


def spread_plan(holders, sizes, nthreads) -> dict:
    """Where to copy chunks so that each worker holds about its share of the
    rows, in proportion to its threads: ``{chunk index: worker}``, empty
    when no worker holds more than ``SPREAD_ABOVE`` times its share.

    ``holders``: the workers holding each chunk; ``sizes``: its rows;
    ``nthreads``: the cluster's workers and their threads. A chunk counts
    for its holder with the lowest load; in chunk order, a chunk stays
    while its holder is within its share, and the others go, in chunk
    order, each to the worker then furthest below its share (ties: by
    name; its own holder, when that is it, keeps it). Chunks held by no
    known worker stay (the scheduler computes them where it likes)."""
    workers = sorted(nthreads)
    if len(workers) < 2:
        return {}
    total = float(sum(sizes))
    threads = float(sum(nthreads.values()))
    share = {a: total * nthreads[a] / threads for a in workers}
    known = [sorted(h for h in hs if h in share) for hs in holders]

    def place(keep_within):
        load = dict.fromkeys(workers, 0.0)
        moved = []
        for i, hs in enumerate(known):
            if not hs:
                continue
            h = min(hs, key=lambda a: (load[a] / share[a], a))
            if keep_within and load[h] + sizes[i] > share[h] and load[h] > 0:
                moved.append(i)
            else:
                load[h] += sizes[i]
        return load, moved

    load, _ = place(False)
    if max(load[a] / share[a] for a in workers) <= SPREAD_ABOVE:
        return {}
    load, moved = place(True)
    plan = {}
    for i in moved:
        target = min(workers, key=lambda a: (load[a] / share[a], a))
        load[target] += sizes[i]
        if target not in known[i]:
            plan[i] = target
    return plan


def _same(x):
    """A chunk under a new key, where the task runs (:meth:`DistributedChunks._spread`)."""
    return x


def _task_threads():
    """Numba threads for one task on a worker: one (a worker runs as many
    tasks at once as it has threads); unchanged in this process."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return None
    return 1


# --- chunk tasks (module-level functions: they are pickled to the workers) ----------

def _summary_chunk(x, w, _state):
    """(rows, weight, column means, column M2, finite, largest weight) of
    one chunk, float64; the means and M2 from one kernel call (two passes
    over the chunk, in blocks reduced in order), the whole chunk checked
    for NaN and infinity only when they came out non-finite (a sum may
    overflow on finite values)."""
    n, d = x.shape
    finite = True
    wmax = 0.0
    if w is not None:
        wf = w.astype(np.float64)
        finite = bool(np.isfinite(wf).all()) and bool((wf >= 0).all())
        wsum = float(wf.sum())
        wmax = float(wf.max()) if n and finite else 0.0
    else:
        wsum = float(n)
    if n == 0 or not finite:
        return n, wsum, np.zeros(d), np.zeros(d), finite, wmax
    x = np.ascontiguousarray(x)
    with _solver.thread_context(_task_threads(), False):
        mean, var = K.column_mean_var(x, np.ones(1, x.dtype), False, max(1, min(MAX_BLOCKS, n)))
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        finite = bool(np.isfinite(x).all())
    return n, wsum, mean, var * n, finite, wmax


def _magnitude_chunk(x, _w, _state):
    """The largest ``|value|`` of one chunk, exactly."""
    return _numeric.magnitude(np.asarray(x))


def _scaled_call(x, w, state, fn, scale, *args):
    """``fn`` on a chunk (and its weights) multiplied by the powers of two
    of ``scale`` (``_numeric``: exact), for data of extreme magnitude."""
    return fn(scale.data(np.ascontiguousarray(x)), scale.weights(w), state, *args)


def _state_of(prev):
    """A k-means|| round's chunk state from its previous round: that round's
    whole result ``(state, small results)`` is the next round's input, so
    that the state needs no task of its own to be picked out (only the
    small results are picked out, by the plan's task)."""
    return None if prev is None else prev[0]


#: The state of each chunk in the chunked fits under way (Lloyd's labels;
#: Hamerly's labels and bounds), in each process that runs their tasks (a
#: worker, or this process for the local executor): ``{fit token: {chunk:
#: (pass, state)}}``. A pass's task updates its chunk's state in place and
#: returns only the small results, so a pass is one task per group of chunks
#: and one gather. At most ``KEPT_FITS`` fits are kept per process (the
#: oldest dropped first); a state that is missing (a worker that died, a task
#: that ran elsewhere, a dropped fit) is recomputed from the centres of the
#: pass that left it (:func:`_kept_labels`, :func:`_hamerly_kept`).
_KEPT: dict = {}
_KEPT_LOCK = threading.Lock()
KEPT_FITS = 4


def _kept_take(slot, p, keep=False):
    """The state pass ``p`` left for the chunk of ``slot`` (token, chunk,
    pass), taken out of the store (left there with ``keep``); None when the
    store has none of that pass."""
    token, i = slot[0], slot[1]
    with _KEPT_LOCK:
        fit = _KEPT.get(token, {})
        got = fit.get(i) if keep else fit.pop(i, None)
    return got[1] if got is not None and got[0] == p else None


def _kept_put(slot, state):
    """Keep ``state`` as the chunk's state after pass ``slot[2]``."""
    token, i, p = slot
    with _KEPT_LOCK:
        fit = _KEPT.get(token)
        if fit is None:
            while len(_KEPT) >= KEPT_FITS:
                _KEPT.pop(next(iter(_KEPT)))
            fit = _KEPT[token] = {}
        fit[i] = (p, state)


def _assigned(x, k, C, bounds=False):
    """The labels of the rows ``x`` for the centres ``C`` (all -1 without
    centres); with ``bounds``, also each row's distance to its centre and a
    lower bound on its distance to the others (Hamerly's first bounds).
    Labels depend only on the rows and the centres (near ties go to
    ``lloyd.exact_argmin``), so a recomputed array equals a lost one."""
    n = x.shape[0]
    lab = np.full(n, -1, dtype=label_dtype(k))
    u = np.empty(n) if bounds else None
    lo = np.empty(n) if bounds else None
    if C is not None and n:
        src = ArraySource(np.ascontiguousarray(x), None, k)
        with _solver.thread_context(_task_threads(), src.gemm):
            src.assign(C, lab, update=False, dist_out=u, want_inertia=False, lb_out=lo)
        if bounds:
            np.sqrt(u, out=u)
    return (lab, u, lo) if bounds else lab


def _kept_labels(x, k, slot, p, C, keep=False):
    """The labels of the chunk's rows ``x`` after pass ``p`` (centres
    ``C``, None before the first pass; ``k`` centres): from the store (the
    labels of a state), else recomputed."""
    state = _kept_take(slot, p, keep)
    return _assigned(x, k, C) if state is None else _labels_of(state)


def _lloyd_kept(x, w, slot, C_prev, C, update, want_inertia):
    """Pass ``slot[2]`` on a chunk (``slot``: fit token, chunk, pass), with
    the labels its previous pass (centres ``C_prev``) left in the store,
    updated in place and kept there: ``(stats, sums, wsums)``."""
    k = C.shape[0]
    lab = _kept_labels(x, k, slot, slot[2] - 1, C_prev)
    if x.shape[0] == 0:
        _kept_put(slot, lab)
        return np.zeros(K.N_STATS), np.zeros((k, x.shape[1])), np.zeros(k)
    src = ArraySource(np.ascontiguousarray(x), None if w is None else np.ascontiguousarray(w), k)
    with _solver.thread_context(_task_threads(), src.gemm):
        stats, sums, wsums = src.assign(C, lab, update=update, want_inertia=want_inertia)
    _kept_put(slot, lab)
    return stats.copy(), sums.copy() if update else None, wsums.copy() if update else None


def _labels_kept(x, w, slot, C):
    """The chunk's labels after pass ``slot[2]`` (centres ``C``), out of the store."""
    return _kept_labels(x, C.shape[0], slot, slot[2], C)


def _farthest_kept(x, w, slot, C, m):
    """The ``m`` rows of the chunk farthest from their centre, by the labels
    of pass ``slot[2]`` (centres ``C``) from the store (left there;
    recomputed, and not kept, when missing): ``(scores, local indices,
    rows, labels, weights)``, largest first, ties by lower index."""
    labels = _kept_labels(x, C.shape[0], slot, slot[2], C, keep=True)
    dist = np.empty(x.shape[0])
    K.sq_dist_to_assigned(np.ascontiguousarray(x), C, labels, dist)
    if w is not None:
        dist[w == 0] = -1.0
    idx = _solver.farthest_rows(dist, m)
    return (dist[idx], idx, np.array(x[idx]), labels[idx],
            np.ones(idx.size) if w is None else w[idx].astype(np.float64))


def _labels_of(state):
    """A chunk's labels from its kept state: the state itself (Lloyd's
    array) or its first array (Hamerly's labels, bounds)."""
    return state if isinstance(state, np.ndarray) else state[0]


def _parallel_chunk(x, w, prev, seed, C, offset, table, l):
    """One k-means|| round on a chunk: each row's squared distance ``d2`` to
    the nearest candidate so far and that candidate's number, updated with
    the new candidates ``C`` (float64, numbered from ``offset``; ``table``:
    :func:`candidate_table` for the earlier ones, to skip the new candidates
    that cannot be nearer; None for a round on the engine's distance pass,
    :func:`_kernel_round`); then, with a ``seed``, the rows the next round
    may draw.

    A row is drawn when ``u phi / l < w d2`` (probability ``l w d2 / phi``,
    ``u`` uniform, ``phi`` the sum of ``w d2`` over all chunks). ``phi`` is
    only known once every chunk is done, but it is at least this chunk's
    part ``phi_i``: the rows with ``u phi_i / l < w d2`` include every row
    that will be drawn, and are about ``l`` rows at most. They are returned
    with their ``w d2`` and ``u`` and the caller keeps those that pass with
    the total ``phi``: one pass a round instead of a distance pass and a
    sampling pass.

    The state is updated in place: ``d2`` and ``nearest`` are the last
    round's arrays, and a round on the engine's distance pass writes the
    distances to its candidates into ``spare`` (the array ``d2`` was the
    round before), which becomes ``d2``. A chunk's arrays are thus made once
    a fit, not once a round (with weights, the rows' float64 weights and
    ``w d2`` are still made each round): on a Dask worker, whose ``MALLOC_TRIM_THRESHOLD_``
    returns freed memory to the system at once, every new array of a chunk's
    size is page-faulted in again (docs/benchmarks.md, "k-means|| rounds
    without new arrays"). Writing over the last round's result is safe
    because a round is idempotent: run again on the state it left (were Dask
    to run a task again on an input the first run updated), it leaves that
    state (a candidate replaces a row's nearest only when strictly nearer,
    so the new candidates change nothing the second time).

    Returns ``((d2, nearest, spare), (phi_i, weight nearest to each
    candidate, rows, w d2, u))``; ``prev`` is the last round's result."""
    n = x.shape[0]
    m = offset + C.shape[0]
    wf = None if w is None else w.astype(np.float64)
    state = _state_of(prev)
    engine = C.shape[0] and n and not _kernel_round(offset, C.shape[0], x.shape[1])
    spare = None
    if state is not None:
        d2, nearest, spare = state
    elif engine:  # not read
        d2, nearest = np.empty(0), np.empty(0, np.int32)
    else:
        d2, nearest = np.full(n, np.inf), np.full(n, -1, np.int32)
    if engine:
        # few earlier candidates for the new ones (the second and third
        # rounds: rows are still far from their nearest, and the triangle
        # inequality skips little), or few features (a distance costs about
        # what its test does): the engine's distance pass, faster (the exact float64
        # distance to the nearest new candidate, the lowest on ties, as the
        # skipping kernel gives)
        xc = np.ascontiguousarray(x)
        src = ArraySource(xc, None, C.shape[0])
        lab = np.empty(n, dtype=label_dtype(C.shape[0]))
        d2_new = np.empty(n) if spare is None else spare
        nearest_new = np.empty(n, np.int32) if state is None else nearest
        with _solver.thread_context(_task_threads(), src.gemm):  # the distances into d2_new
            src.assign(np.ascontiguousarray(C, dtype=x.dtype), lab, update=False, dist_out=d2_new,
                       want_inertia=False)
        SK.merge_nearest(d2_new, lab, offset, d2, nearest, state is not None, d2_new, nearest_new)
        d2, nearest, spare = d2_new, nearest_new, (d2 if state is not None else None)
    elif C.shape[0] and n:
        near_idx, near_d, bound = _split_table(table)
        with _solver.thread_context(_task_threads(), False):  # in place, row by row
            SK.nearest_candidate_update(np.ascontiguousarray(x), C, offset, near_idx, near_d, bound,
                                        d2, nearest, d2, nearest, max(1, min(MAX_BLOCKS, n)))
    wd2 = d2 if wf is None else np.empty(n)
    counts = np.zeros(m)
    SK.nearest_weights(nearest, wf if wf is not None else d2, wf is not None, d2, wd2, counts)
    phi = float(wd2.sum())
    rows = score = u = None
    if seed is not None:
        idx, u = _rows_drawn(wd2, phi / l, seed)
        rows, score = np.array(x[idx]), wd2[idx]
    return (d2, nearest, spare), (phi, counts, rows, score, u)


#: Rows a k-means|| round draws its uniforms for at a time
#: (:func:`_rows_drawn`).
DRAW_BLOCK = 1 << 16


def _rows_drawn(wd2, scale, seed):
    """The rows ``i`` with ``u_i scale < wd2_i``, ``u`` uniform from
    ``seed``, and their ``u``: the uniforms drawn ``DRAW_BLOCK`` rows at a
    time (the same numbers as one draw of them all), so that a round's
    temporaries are a block, not the chunk. Arrays the size of a chunk,
    allocated and freed every round, cost page faults on a Dask worker,
    where ``MALLOC_TRIM_THRESHOLD_`` (64 KiB by default) returns freed
    memory to the system at once (docs/benchmarks.md, "k-means|| rounds
    without new arrays")."""
    n = wd2.shape[0]
    rng = np.random.default_rng(seed)
    ub = np.empty(min(n, DRAW_BLOCK))
    ib = np.empty(ub.shape[0], np.int64)
    idx, us = [np.empty(0, np.int64)], [np.empty(0)]
    for s in range(0, n, DRAW_BLOCK):
        e = min(n, s + DRAW_BLOCK)
        rng.random(out=ub[:e - s])
        m = SK.rows_below(ub[:e - s], scale, wd2[s:e], ib)
        us.append(ub[ib[:m]])
        idx.append(ib[:m] + s)
    return np.concatenate(idx), np.concatenate(us)


#: Fewest features for which a k-means|| round skips candidates by the
#: triangle inequality (below, the engine's distance pass measuring them
#: all is as fast or faster).
PRUNE_MIN_FEATURES = 12
#: Fewest earlier candidates, per new one, for which a round skips
#: candidates (below, the rows are far from their nearest candidate and
#: most new ones lie within reach: measuring them all is faster). Both
#: thresholds are measured, docs/benchmarks.md "Dask and memory-mapped
#: files".
PRUNE_MIN_EARLIER = 1.5
#: New candidates listed per earlier candidate, nearest first, in a k-means||
#: round's table (:func:`candidate_table`): enough for the rows near a
#: candidate; a row farther out measures every new candidate.
TABLE_WIDTH = 64


def _kernel_round(offset: int, m: int, d: int) -> bool:
    """Whether a round with ``offset`` earlier candidates and ``m`` new ones
    on ``d`` features runs the skipping kernel, with its table
    (:func:`candidate_table`), rather than the engine's distance pass: one
    new candidate (the first round), or enough earlier candidates and
    features for the triangle inequality to pay."""
    return m <= 1 or (offset >= PRUNE_MIN_EARLIER * m and d >= PRUNE_MIN_FEATURES)


def candidate_table(C_old, C_new) -> np.ndarray:
    """For each earlier candidate, its ``TABLE_WIDTH`` nearest new
    candidates, their distances and the distance of the next one, packed in
    one float64 array ``(p, 2 T + 1)`` (one object to send to the workers;
    :func:`_split_table` unpacks it)."""
    p, m = C_old.shape[0], C_new.shape[0]
    T = min(TABLE_WIDTH, m)
    near_idx = np.empty((p, T), np.int64)
    near_d = np.empty((p, T))
    bound = np.empty(p)
    if p and m:
        SK.nearest_new_candidates(C_old, C_new, near_idx, near_d, bound)
    return np.hstack([near_idx.astype(np.float64), near_d, bound[:, None]])


def _split_table(table):
    T = (table.shape[1] - 1) // 2
    return (np.ascontiguousarray(table[:, :T]).astype(np.int64), np.ascontiguousarray(table[:, T:2 * T]),
            np.ascontiguousarray(table[:, 2 * T]))


def _uniform_chunk(x, w, _state, seed, rate):
    """A Bernoulli sample of the chunk (each row with probability ``rate``,
    or ``rate w / mean w`` with weights): ``(rows, weights)``, each row's
    weight divided by its probability (an unbiased sample of the weighted
    rows)."""
    rng = np.random.default_rng(seed)
    u = rng.random(x.shape[0])
    if w is None:
        idx = np.flatnonzero(u < rate)
        return np.array(x[idx]), np.full(idx.size, 1.0 / rate)
    p = np.minimum(1.0, rate * w.astype(np.float64))
    idx = np.flatnonzero(u < p)
    return np.array(x[idx]), w[idx].astype(np.float64) / p[idx]


def _hamerly_kept(x, w, slot, C_prev, C, p, full, want_objective):
    """Pass ``slot[2]`` of Hamerly's algorithm on a chunk (the in-memory
    step's kernels on its rows), with the labels and bounds its previous
    pass (centres ``C_prev``) left in the store, updated in place and kept
    there: ``(stats, sums, wsums, objective)``. The first pass (no previous
    centres) is Lloyd's, giving the bounds and the full sums; later passes
    return the sums' changes (the moved rows), or the chunk's full sums with
    ``full``. A state missing from the store is recomputed as that first
    pass would give it for ``C_prev``: the same labels, and bounds at least
    as tight, so the same moves and sums."""
    k, n = C.shape[0], x.shape[0]
    state = _kept_take(slot, slot[2] - 1)
    if n == 0:
        _kept_put(slot, (np.empty(0, label_dtype(k)), np.empty(0), np.empty(0)))
        return np.zeros(K.N_STATS), np.zeros((k, x.shape[1])), np.zeros(k), 0.0
    src = ArraySource(np.ascontiguousarray(x), None if w is None else np.ascontiguousarray(w), k)
    if state is None and C_prev is None:
        labels = np.full(n, -1, dtype=label_dtype(k))
        u, lo = np.empty(n), np.empty(n)
        with _solver.thread_context(_task_threads(), src.gemm):
            src.assign(C, labels, update=True, dist_out=u, want_inertia=False, lb_out=lo)
        np.sqrt(u, out=u)
    else:
        if state is None:
            state = _assigned(x, k, C_prev, bounds=True)
        step = _solver.HamerlyStep(src)
        step.labels, step.u, step.lo = state
        step.p = p
        step.full = full
        with _solver.thread_context(_task_threads(), src.gemm):
            step.bounded_pass(C)
        src.reduce()
        labels, u, lo = step.labels, step.u, step.lo
    objective = 0.0
    if want_objective:
        with _solver.thread_context(_task_threads(), src.gemm):
            objective = float(K.weighted_sse(src.X, src.ww, src.use_w, C, labels, src.n_blocks))
    _kept_put(slot, (labels, u, lo))
    return src.tot_stats.copy(), src.tot_sums.copy(), src.tot_wsums.copy(), objective


def _rows_chunk(x, _w, idx):
    return np.array(x[idx])


# --- the source ---------------------------------------------------------------------

class ChunkSource:
    """Rows in chunks (see the module docstring) with ``k`` centres.

    ``X`` is a validated Dask array (:func:`as_dask_array`) or a NumPy array
    cut into blocks of ``LOCAL_CHUNK_ROWS`` rows; ``w`` the matching weights.
    """

    gemm = False

    def __init__(self, X, w, k: int, executor=None):
        self.X = X
        self.w = w
        self.k = k
        self.use_w = w is not None
        if executor is None:
            executor = make_executor(X, w)
        self.ex = executor
        if isinstance(X, np.ndarray):
            n = X.shape[0]
            self.sizes = [min(LOCAL_CHUNK_ROWS, n - s) for s in range(0, n, LOCAL_CHUNK_ROWS)]
        else:
            self.sizes = [int(c) for c in X.chunks[0]]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self._summary = None
        # the chunks' exact power-of-two scaling (choose_scale; identity but for data of
        # extreme magnitude), applied in each task as the chunk is read
        self.scale = _numeric.IDENTITY

    @property
    def dtype(self):
        return np.dtype(self.X.dtype)

    @property
    def n_chunks(self) -> int:
        return len(self.sizes)

    def with_k(self, k: int) -> "ChunkSource":
        if k == self.k:
            return self
        other = object.__new__(ChunkSource)
        other.__dict__.update(self.__dict__)
        other.k = k
        return other

    def run(self, fn, states, *args, skip_none=False, small=False):
        """``fn`` on every chunk (one task per group of chunks on a cluster;
        with ``skip_none``, not on chunks whose state is None), each chunk
        scaled by ``self.scale`` first; returns a handle per chunk (results
        stay remote; ``small``: see ``DistributedChunks.map``)."""
        if not self.scale.identity:
            return self.ex.map(_scaled_call, states, fn, self.scale, *args, skip_none=skip_none,
                               small=small)
        return self.ex.map(fn, states, *args, skip_none=skip_none, small=small)

    def gather(self, handles):
        return self.ex.gather(handles)

    def summary(self):
        """(total weight, column means, column variances), float64, from one
        pass; raises ValueError when a chunk holds NaN or infinity or a
        negative weight."""
        if self._summary is None:
            parts = self.gather(self.run(_summary_chunk, None, small=True))
            for i, (_, _, _, _, finite, _) in enumerate(parts):
                if not finite:
                    a, b = self.offsets[i], self.offsets[i + 1]
                    raise ValueError(f"X (or sample_weight) contains NaN, infinity or a negative "
                                     f"weight in rows {a} to {b - 1} (chunk {i}); remove or impute "
                                     "those values first.")
            # Chan et al.'s pairwise combination of means and M2, in chunk order
            n_tot, mean, m2 = 0, None, None
            with np.errstate(over="ignore", invalid="ignore"):
                # the data's sum of squares, for choose_scale (overflows only on extreme data)
                self._sumsq = float(sum(np.sum(p[3] + p[0] * p[2] * p[2]) for p in parts))
            self._wmax = max(p[5] for p in parts)
            for n_i, _, mean_i, m2_i, _, _ in parts:
                if n_i == 0:
                    continue
                if mean is None:
                    n_tot, mean, m2 = n_i, mean_i.copy(), m2_i.copy()
                    continue
                delta = mean_i - mean
                tot = n_tot + n_i
                mean = mean + delta * (n_i / tot)
                with np.errstate(over="ignore", invalid="ignore"):  # extreme data: see choose_scale
                    m2 = m2 + m2_i + delta * delta * (n_tot * n_i / tot)
                n_tot = tot
            wsum = float(sum(p[1] for p in parts))
            self._summary = (wsum, mean, m2 / n_tot)
        return self._summary

    @property
    def total_weight(self) -> float:
        return self.summary()[0]

    def choose_scale(self, C=None):
        """The exact power-of-two scaling of the data, its weights and the
        centres ``C`` given with them (``_numeric.choose`` on chunks: the
        summary pass's sum of squares decides for ordinary data; the exact
        largest magnitude, one more pass, only when it is not conclusive).
        When it is not the identity, every later pass reads the chunks
        scaled (:meth:`run`), and the summary is taken again on them."""
        self.summary()
        got = []

        def magnitude():
            if not got:
                got.append(max(self.gather(self.run(_magnitude_chunk, None, small=True)), default=0.0))
            return got[0]

        size = int(self.offsets[-1]) * int(self.X.shape[1])
        e = _numeric.exponent_outside(self._sumsq, size, self.dtype, magnitude)
        scale = _numeric.choose_from(e, self.dtype, magnitude, C, self._wmax)
        if not scale.identity:
            self.scale = scale
            self._summary = None
        return scale


def make_executor(X, w):
    """The executor for ``X``: a distributed cluster's when a client is
    active (Dask input), else this process."""
    if isinstance(X, np.ndarray):
        n = X.shape[0]
        xs = [X[s:s + LOCAL_CHUNK_ROWS] for s in range(0, n, LOCAL_CHUNK_ROWS)]
        ws = None if w is None else [w[s:s + LOCAL_CHUNK_ROWS] for s in range(0, n, LOCAL_CHUNK_ROWS)]
        return LocalChunks(xs, ws)
    client = active_client()
    if client is not None:
        return DistributedChunks(client, X, w)
    return LocalChunks(list(X.to_delayed().ravel()),
                       None if w is None else list(w.to_delayed().ravel()))


# --- the step -----------------------------------------------------------------------

class ChunkedLloydStep(Step):
    """Lloyd's iterations on chunked rows: one task per group of chunks per
    pass, returning the small results only; the labels stay where each
    chunk's task ran (:func:`_lloyd_kept`, the store ``_KEPT``)."""

    @property
    def dtype(self):
        return self.source.dtype

    def start(self, C):
        self.source = self.base_source.with_k(C.shape[0])
        self._cands = None
        self._token = uuid.uuid4().hex
        self._pass_no = -1  # the last pass
        self._C_last = None  # its centres
        self._labels = None
        self._sent = None  # the last pass's handles

    def _slots(self, p):
        return [(self._token, i, p) for i in range(self.source.n_chunks)]

    def _run_pass(self, fn, C, *args):
        """``fn(x, w, slot, C_prev, C, *args)`` on every chunk, the next pass
        (:func:`_lloyd_kept`, :func:`_hamerly_kept`): the chunks' small
        results, in chunk order."""
        p = self._pass_no + 1
        handles = self.source.run(fn, self._slots(p), self._C_last, C, *args, small=True)
        # the last pass's futures are released only now, after this pass went out: a
        # distributed client sends its messages at most every 10 ms, and a release sent just
        # before would hold this pass back until then
        self._sent = handles
        small = self.source.gather(handles)
        self._pass_no, self._C_last, self._labels = p, C, None
        return small

    def _pass(self, C, update, want_inertia):
        C = np.ascontiguousarray(C, dtype=self.source.dtype)
        small = self._run_pass(_lloyd_kept, C, update, want_inertia)
        k, d = C.shape
        stats = np.zeros(K.N_STATS)
        sums = np.zeros((k, d))
        wsums = np.zeros(k)
        for st, s, ws in small:  # chunk order
            stats += st
            if update:
                sums += s
                wsums += ws
        return stats, sums, wsums

    def assign(self, C, want_objective):
        stats, self.sums, self.wsums = self._pass(C, True, want_objective)
        return PassResult(stats[K.STAT_CHANGED],
                          float(stats[K.STAT_INERTIA]) if want_objective else None)

    def relocate(self, C, on_few):
        empty = self.empty_clusters()
        if empty.size == 0:
            return 0
        src = self.source
        C = np.ascontiguousarray(C, dtype=src.dtype)
        m = int(empty.size)
        # each chunk's m rows farthest from their centre
        got = src.gather(src.run(_farthest_kept, self._slots(self._pass_no), C, m, small=True))
        # candidates in chunk order, each chunk's by row order: position order = row order
        order = [np.argsort(g[1], kind="stable") for g in got]
        scores = np.concatenate([g[0][o] for g, o in zip(got, order)])
        self._cands = dict(rows=np.concatenate([g[2][o] for g, o in zip(got, order)]),
                           labels=np.concatenate([g[3][o] for g, o in zip(got, order)]),
                           weights=np.concatenate([g[4][o] for g, o in zip(got, order)]))
        return _solver.relocate_empty(self, empty, scores, on_few)

    def take(self, row, j):
        c = self._cands
        wi = float(c["weights"][row])
        x = c["rows"][row].astype(np.float64)
        old = int(c["labels"][row])
        self.sums[old] -= wi * x
        self.wsums[old] -= wi
        self.sums[j] = wi * x
        self.wsums[j] = wi

    def few_distinct_message(self):
        return (f"n_clusters={self.k} but X has fewer than {self.k} distinct points (with "
                "positive weight); ask for fewer clusters or remove duplicates.")

    def tolerance(self, tol):
        if tol == 0:
            return 0.0
        return float(np.mean(self.source.summary()[2]) * tol)

    def initial_centers(self, init, rng):
        src = self.source
        if isinstance(init, str):
            return SEEDINGS[init](src, self.k, rng)
        if callable(init):
            raise ValueError("a callable init needs the data in memory; with Dask input pass "
                             "init='k-means||', 'k-means++sample', 'random' or an array of centres.")
        return np.ascontiguousarray(init, dtype=src.dtype)

    def final(self, C, strict, last):
        if not (strict and last.objective is not None):
            stats, _, _ = self._pass(C, False, True)
            objective = float(stats[K.STAT_INERTIA])
        else:
            objective = float(last.objective)
        return self.labels, objective

    @property
    def labels(self):
        """The labels of the last pass as a Dask array with the data's row
        chunks (results of tasks, kept where the chunks are; taken out of
        the store, once)."""
        if self._pass_no < 0:
            return None
        if self._labels is None:
            self._labels = labels_array(self.source, self.source.run(
                _labels_kept, self._slots(self._pass_no), self._C_last))
        return self._labels


class ChunkedHamerlyStep(ChunkedLloydStep):
    """Hamerly's algorithm on chunked rows: each chunk keeps its labels and
    bounds (8 + 16 bytes a row) where its task ran (:func:`_hamerly_kept`);
    a pass returns the changes of the per-cluster sums (the rows that
    moved), added in chunk order. The same labels and iterations as
    Lloyd's, most distances skipped."""

    def start(self, C):
        super().start(C)
        k, d = C.shape
        self.p = np.zeros(k)
        self.full = True
        self.sums = np.zeros((k, d))
        self.wsums = np.zeros(k)

    def _bounded(self, C, want_objective, full):
        C = np.ascontiguousarray(C, dtype=self.source.dtype)
        small = self._run_pass(_hamerly_kept, C, self.p, full, want_objective)
        stats = np.zeros(K.N_STATS)
        sums = np.zeros_like(self.sums)
        wsums = np.zeros_like(self.wsums)
        objective = 0.0
        for st, s, ws, obj in small:  # chunk order
            stats += st
            sums += s
            wsums += ws
            objective += obj
        return self._pass_no == 0, stats, sums, wsums, objective

    def assign(self, C, want_objective):
        first, stats, sums, wsums, objective = self._bounded(C, want_objective, self.full)
        if first or self.full:
            self.sums, self.wsums = sums, wsums
        else:
            self.sums += sums
            self.wsums += wsums
        self.full = False
        _solver.drop_rounding_residue(self.wsums)
        return PassResult(stats[K.STAT_CHANGED], objective if want_objective else None)

    def relocate(self, C, on_few):
        moved = super().relocate(C, on_few)
        self.full = self.full or moved > 0
        return moved

    #: how far each centre moved (``p``), as the in-memory bounded steps record it
    moved = _solver._BoundedStep.moved

    def final(self, C, strict, last):
        # labels for the returned centres: one more bounded pass, with the exact inertia
        _, _, _, _, objective = self._bounded(C, True, False)
        return self.labels, objective


#: The chunked steps by algorithm name ("auto" resolves as in memory).
CHUNKED_ALGORITHMS = {"lloyd": ChunkedLloydStep, "hamerly": ChunkedHamerlyStep}


def make_step(X, w, k: int, algorithm: str = "auto") -> Step:
    """The chunked step for ``algorithm``: "auto" picks Hamerly or Lloyd by
    the shape, as the in-memory engine does (``_solver.resolve_algorithm``)."""
    name = _solver.resolve_algorithm(algorithm, X.shape[0], X.shape[1], k, X.dtype)
    return CHUNKED_ALGORITHMS[name](ChunkSource(X, w, k))


def labels_array(src: ChunkSource, parts):
    """Chunk results (1-D, one per chunk) as one Dask array."""
    if parts is None:
        return None
    dt = label_dtype(src.k)
    if isinstance(src.X, np.ndarray):
        return np.concatenate(src.gather(parts))
    return src.ex.to_dask(parts, src.sizes, dt)


# --- seeding --------------------------------------------------------------------------

def _chunk_seeds(rng, n):
    return [int(s) for s in rng.integers(0, 2 ** 63 - 1, size=n)]


def _weighted_first_row(src: ChunkSource, rng) -> np.ndarray:
    """One row drawn in proportion to the weights: the chunk from the
    chunks' total weights, then the row within it (two passes)."""
    wtot = src.gather(src.run(_weight_chunk, None, small=True))
    cum = np.cumsum(np.asarray(wtot, dtype=np.float64))
    u = rng.random() * cum[-1]
    i = int(min(np.searchsorted(cum, u, side="right"), len(cum) - 1))
    while wtot[i] == 0:
        i = (i + 1) % len(cum)
    u_in = (u - (cum[i - 1] if i else 0.0)) / wtot[i]
    states = [None] * src.n_chunks
    states[i] = u_in
    got = src.gather(src.run(_weighted_row_chunk, states, skip_none=True, small=True))
    return got[i][None, :]


def _weight_chunk(x, w, _state):
    return float(w.astype(np.float64).sum())


def _weighted_row_chunk(x, w, u):
    c = np.cumsum(w.astype(np.float64))
    i = int(min(np.searchsorted(c, u * c[-1], side="right"), len(c) - 1))
    while w[i] == 0:
        i = (i + 1) % len(c)
    return np.array(x[i])


def kmeans_parallel(src: ChunkSource, k: int, rng, oversampling: float = OVERSAMPLING,
                    rounds: int = ROUNDS) -> np.ndarray:
    """k-means|| centres (see the module docstring): one pass a round
    (:func:`_parallel_chunk`), the candidates' weights from the last one.

    The rounds run without a stop in this process: each round's tasks take
    their new candidates from a plan (:func:`_next_plan`) that a task
    computes from the last round's small results (``ex.reduce``: on the
    cluster, a future), so all ``rounds + 1`` passes are submitted at once
    and only the last plan comes back. The seeds are drawn up front, in
    round order (the draws one round at a time would make). Should the
    rounds leave fewer than ``k`` candidates (the rows' distances all zero
    bar a few), more rounds follow, up to 10."""
    ex = src.ex
    l = oversampling * k
    plan = _start_plan(src, rng)
    state = None
    sampling = rounds
    for extra in range(11):
        for r in range(sampling + 1):
            sample = r < sampling
            seeds = _chunk_seeds(rng, src.n_chunks) if sample else [None] * src.n_chunks
            handles = _run_seeded(src, _parallel_round, state, seeds, plan, l)
            plan = ex.reduce(_next_plan, ex.field(handles, 1), plan, sample, l)
            state = handles  # the next round updates (d2, nearest, spare) of these (_state_of)
        plan = ex.value(plan)
        if plan["total"] >= k or plan["phi"] <= 0:
            break
        sampling = 1  # one more round that draws rows, and one that measures them
    cand = np.ascontiguousarray(np.concatenate(plan["cands"]), dtype=src.dtype)
    counts = plan["counts"]
    keep = counts > 0
    cand, wc = cand[keep], counts[keep].astype(src.dtype)
    return reduce_candidates(cand, wc, k, rng, int(src.offsets[-1]))


def reduce_candidates(cand, wc, k: int, rng, n: int) -> np.ndarray:
    """The ``k`` centres of k-means|| from its weighted candidates: the
    best, by weighted inertia on the candidates, of :func:`reduce_tries`
    runs of weighted greedy k-means++ and a few Lloyd iterations on them
    (the first on ties). A handful of candidates per cluster makes one
    run's greedy choice coarse: a single run can leave two true clusters
    under one centre, which Lloyd's iterations on all rows do not undo."""
    best = None
    for _ in range(reduce_tries(n, cand.shape[0], k)):
        run = _solver.refine_run(cand, wc, INITS["k-means++"](cand, k, wc, rng))
        if best is None or run.inertia < best.inertia:
            best = run
    return best.centers


def reduce_tries(n: int, m: int, k: int) -> int:
    """Runs of the candidates' reduction: up to ``REDUCE_TRIES``, as many as
    fit in about one pass over the ``n`` rows (a run costs about ``m k d
    (trials + iterations)`` against a pass's ``n k d``), at least one."""
    per_run = m * (n_local_trials(k) + SAMPLE_REFINE_ITERS)
    return max(1, min(REDUCE_TRIES, 1 + n // max(per_run, 1)))


def _round_plan(cands, C_new, phi, counts):
    """A k-means|| round's plan: the candidates so far (``cands``, a list of
    arrays of the data's dtype), the new ones to measure (``C_new``), their
    numbering (``total``: how many before them) and, when the round reads
    it, the table of :func:`candidate_table` (None otherwise); with the
    last round's ``phi`` and candidate weights."""
    total = int(sum(c.shape[0] for c in cands))
    C64 = C_new.astype(np.float64)
    table = None
    if _kernel_round(total, C64.shape[0], C64.shape[1]):
        old = np.concatenate(cands).astype(np.float64) if cands else np.empty((0, C64.shape[1]))
        table = candidate_table(old, C64)
    return {"cands": cands, "C": C_new, "total": total, "table": table, "phi": phi,
            "counts": counts}


def _first_plan(first):
    return _round_plan([], first, np.inf, np.zeros(0))


def _start_plan(src: ChunkSource, rng):
    """The first round's plan, its one candidate a row drawn uniformly, or
    in proportion to the weights (:func:`_weighted_first_row`). Without
    weights the draw is a row index, known here: the row is taken and the
    plan made by tasks on the cluster, with no wait here."""
    if src.use_w:
        return _first_plan(_weighted_first_row(src, rng).astype(src.dtype))
    n = int(src.offsets[-1])
    g = min(int(rng.random() * n), n - 1)
    i = int(np.searchsorted(src.offsets, g, side="right") - 1)
    states = [None] * src.n_chunks
    states[i] = np.array([g - src.offsets[i]])
    return src.ex.reduce(_first_plan_of_rows, src.run(_rows_chunk, states, skip_none=True), i)


def _first_plan_of_rows(rows, i):
    return _first_plan(rows[i])


def _next_plan(small, plan, sample, l):
    """The next round's plan from this round's small results (chunk order)
    and plan: ``phi`` and the candidates' weights summed in chunk order,
    and, with ``sample``, the rows drawn with the total ``phi`` (each chunk
    sent a superset) as the new candidates."""
    cands = plan["cands"] + [plan["C"]]
    total = plan["total"] + plan["C"].shape[0]
    phi = 0.0
    counts = np.zeros(total)
    for part in small:  # chunk order
        phi += part[0]
        counts += part[1]
    C_new = plan["C"][:0]
    if sample and phi > 0:
        drawn = [part[2][part[4] * (phi / l) < part[3]] for part in small]
        C_new = np.ascontiguousarray(np.concatenate(drawn), dtype=plan["C"].dtype)
    return _round_plan(cands, C_new, phi, counts)


def _parallel_round(x, w, prev, seed, plan, l):
    """:func:`_parallel_chunk` with the round's candidates from its plan."""
    return _parallel_chunk(x, w, prev, seed, plan["C"].astype(np.float64), plan["total"],
                           plan["table"], l)


def _run_seeded(src, fn, states, seeds, *args, small=False):
    """``fn(x, w, state, seed, *args)`` per chunk, each chunk its own seed."""
    pairs = [(None if states is None else states[i], seeds[i]) for i in range(src.n_chunks)]
    return src.run(_with_seed, pairs, fn, *args, small=small)


def _with_seed(x, w, pair, fn, *args):
    state, seed = pair
    return fn(x, w, state, seed, *args)


def _uniform_sample(src: ChunkSource, k: int, rng):
    """A sample of about ``sample_size(n, k)`` rows (:func:`uniform_rows`)."""
    S, ws = uniform_rows(src.X, src.w, sample_size(int(src.offsets[-1]), k), rng, src=src)
    if ws is not None:
        ws = ws.astype(src.dtype)
    if S.shape[0] < k:
        raise FewDistinctPointsError(f"n_clusters={k} but the sample drawn has only {S.shape[0]} "
                                     "rows; ask for fewer clusters.")
    return S, ws


def sample_seeding(src: ChunkSource, k: int, rng) -> np.ndarray:
    """Greedy k-means++ on a uniform sample drawn chunk by chunk, refined by
    a few Lloyd iterations on the sample."""
    S, ws = _uniform_sample(src, k, rng)
    C = INITS["k-means++"](S, k, ws, rng)
    return _solver.refine_on_sample(S, ws, C)


def random_seeding(src: ChunkSource, k: int, rng) -> np.ndarray:
    """``k`` distinct rows of a uniform sample drawn chunk by chunk (in
    proportion to the weights)."""
    S, ws = _uniform_sample(src, k, rng)
    return INITS["random"](S, k, ws, rng)


#: Seedings of chunked data by name.
SEEDINGS = {
    "auto": kmeans_parallel,
    "k-means++": kmeans_parallel,
    "k-means||": kmeans_parallel,
    "k-means++sample": sample_seeding,
    "random": random_seeding,
}


# --- fitted centres on Dask input: lazy, with the input's chunks ----------------------------

def check_finite_block(x, block_info=None):
    """``x`` (a block of a lazily computed result's input) unless it holds
    NaN or infinity: then a ValueError naming its rows (the check runs in
    the block's task, so it is raised when the result is computed)."""
    if not np.isfinite(x).all():
        where = ""
        loc = (block_info or {}).get(0, {}).get("array-location")
        if loc:
            a, b = loc[0]
            where = f" in rows {a} to {b - 1}"
        raise ValueError(f"X contains NaN or infinity{where}; remove or impute those values first.")
    return x


def _assign_block(x, C, block_info=None):
    """``[label, squared distance]`` of each row of a block (float64 columns),
    on exactly scaled copies for data of extreme magnitude (``_numeric``, as
    ``core.assign_arrays``); NaN or infinity in the block raise ValueError."""
    k = C.shape[0]
    x = np.ascontiguousarray(x)
    lab = np.empty(x.shape[0], dtype=label_dtype(k))
    d2 = np.empty(x.shape[0])
    if x.shape[0]:
        scale = _numeric.choose(x, None, C)
        src = ArraySource(scale.data(x), None, k)
        with _solver.thread_context(_task_threads(), src.gemm):
            src.assign(scale.data(C), lab, update=False, dist_out=d2, want_inertia=False)
        if not np.isfinite(d2).all():  # NaN or infinity in x (checked only then: no cost)
            check_finite_block(x, block_info)
        d2 = scale.values_back(d2, 2, False)
    return np.column_stack([lab.astype(np.float64), d2])


def assign_lazy(X, C, w=None, dtype=np.int32):
    """Nearest centre of each row of a Dask array: lazy ``(labels,
    squared distances, inertia)`` with X's row chunks (one task per chunk
    computes both; the inertia is a Dask scalar summed in a fixed order)."""
    C = np.ascontiguousarray(C, dtype=X.dtype)
    both = X.map_blocks(_assign_block, C, dtype=np.float64, chunks=(X.chunks[0], (2,)))
    labels = both[:, 0].astype(dtype)
    d2 = both[:, 1]
    inertia = (d2 * w.astype(np.float64)).sum() if w is not None else d2.sum()
    return labels, d2, inertia


def map_rows(X, fn, n_out: int, dtype, **kwargs):
    """``fn(block, **kwargs)`` (a 2-D result of ``n_out`` columns per row) on
    each row chunk of a Dask array, lazily."""
    return X.map_blocks(fn, dtype=dtype, chunks=(X.chunks[0], (n_out,)), **kwargs)


def uniform_rows(X, w, m: int, rng, src=None):
    """About ``m`` rows of a Dask array drawn uniformly (each row with
    probability m / n, or in proportion to its weight), chunk by chunk with
    one seed per chunk: ``(rows, weights)`` in memory, the weights
    correcting for the sampling (None when every row was taken unweighted)."""
    src = ChunkSource(X, w, 1) if src is None else src
    n = int(src.offsets[-1])
    rate = (m / src.summary()[0]) if w is not None else min(1.0, m / n)
    seeds = _chunk_seeds(rng, src.n_chunks)
    got = src.gather(_run_seeded(src, _uniform_chunk, None, seeds, rate, small=True))
    S = np.ascontiguousarray(np.concatenate([g[0] for g in got]), dtype=src.dtype)
    ws = np.concatenate([g[1] for g in got])
    if w is None and rate >= 1.0:
        ws = None
    return S, ws
