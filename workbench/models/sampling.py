"""A trace-driven model of the barrier profiler: from one ground-truth run, the profile that
sampling at any interval would have produced — in milliseconds, so a slider can answer at once.

The ground-truth run records every memory access (the ``memtrace`` client) and every
allocation call (the ``barrier`` client's ``barrier_allocs`` stream, with nothing sampled).
:func:`replay` maps each access to the heap object it touched (objects live from the return
of their allocation to the entry of their free or realloc, as the profiler sees them) — the
one expensive step, a numba kernel run once. :func:`sampled_objects` replays the profiler's
sampling decisions for an interval exactly (native/src/clients/barrier.c), and
:func:`profile` aggregates the accesses of the sampled objects into the per-object profile
the engine reports (same fields, same rules), so model and engine can be compared record by
record; :func:`faults` lists the barrier faults behind that profile one by one (the engine
only counts them), for a timeline.

>>> from workbench import Machine
>>> run = Machine(clients=["barrier", "memtrace"],
...               client_options={"barrier": {"sample_bytes": 1 << 62}}).run("objects")  # doctest: +SKIP
>>> trace = replay(run.records["barrier_allocs"], run.records["memtrace"])  # doctest: +SKIP
>>> prof = profile(trace, sampled_objects(trace, 4096))  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from ..events import flag_value

# the records' codes, from their one description (the kernels below see them as constants)
LOAD, STORE, ATOMIC = (flag_value("memtrace", "kind", k) for k in ("load", "store", "atomic"))
MALLOC, CALLOC, REALLOC, FREE = (flag_value("barrier_allocs", "kind", k)
                                 for k in ("malloc", "calloc", "realloc", "free"))
WRITTEN_AFTER_INIT, FREED, REALLOCED, STOPPED = (
    flag_value("barrier", "flags", f) for f in ("written_after_init", "freed", "realloced", "stopped"))


@dataclasses.dataclass
class Trace:
    """A ground-truth run, replayed: the heap objects and, per access, the object touched."""

    obj_addr: np.ndarray      # uint64, one entry per object (allocation call), in call order
    obj_size: np.ndarray      # uint64
    obj_site: np.ndarray      # uint64
    obj_kind: np.ndarray      # uint8: MALLOC, CALLOC or REALLOC
    obj_old: np.ndarray       # int64: realloc: the object it replaced (-1 none)
    obj_birth: np.ndarray     # uint64 icount at the call's return
    obj_death: np.ndarray     # uint64 icount at its free/realloc entry (max: never)
    obj_end_kind: np.ndarray  # uint8: 0 live at the end, FREED or REALLOCED
    acc_obj: np.ndarray       # int64 per access: object index (-1: not a heap object)
    acc_off: np.ndarray       # uint64 per access: offset in the object
    acc_size: np.ndarray      # uint8
    acc_kind: np.ndarray      # uint8: LOAD, STORE or ATOMIC
    acc_icount: np.ndarray    # uint64


def _objects(allocs):
    """Objects from the allocation log: births, deaths (free or realloc entry), realloc links."""
    kind = allocs["kind"].astype(np.uint8)
    is_obj = kind != FREE
    idx = np.flatnonzero(is_obj)
    n = len(idx)
    addr = allocs["addr"][idx].astype(np.uint64)
    size = allocs["size"][idx].astype(np.uint64)
    death = np.full(n, np.iinfo(np.uint64).max, np.uint64)
    end_kind = np.zeros(n, np.uint8)
    old = np.full(n, -1, np.int64)
    live: dict[int, int] = {}   # address -> object
    k = 0
    for e in range(len(allocs)):
        a = int(allocs["addr"][e])
        if kind[e] == FREE:
            o = live.pop(a, None)
            if o is not None:
                death[o] = allocs["icount"][e]
                end_kind[o] = FREED
            continue
        if kind[e] == REALLOC and int(allocs["old"][e]):
            o = live.pop(int(allocs["old"][e]), None)
            if o is not None:
                death[o] = allocs["entry_icount"][e]
                end_kind[o] = REALLOCED
                old[k] = o
        live[a] = k
        k += 1
    return (addr, size, allocs["site"][idx].astype(np.uint64), kind[idx], old,
            allocs["icount"][idx].astype(np.uint64), death, end_kind)


@njit(cache=True)
def _is_recorded(o, i, sampled, stop):
    """Whether access i (to object o, -1 for none) is recorded: the object is sampled and
    its tracking has not stopped before i."""
    return o >= 0 and sampled[o] and not (stop[o] >= 0 and i > stop[o])


@njit(cache=True)
def _map_accesses(acc_icount, acc_addr, ev_icount, ev_is_birth, ev_obj, obj_addr, obj_size):
    """Walk accesses and object births/deaths in icount order; for each access, the live
    object containing its address (sorted array of live objects, binary search)."""
    n = acc_icount.shape[0]
    out_obj = np.full(n, -1, np.int64)
    out_off = np.zeros(n, np.uint64)
    cap = 1024
    live_start = np.empty(cap, np.uint64)
    live_obj = np.empty(cap, np.int64)
    nlive = 0
    j = 0
    nev = ev_icount.shape[0]
    for i in range(n):
        t = acc_icount[i]
        while j < nev and ev_icount[j] <= t:
            o = ev_obj[j]
            a = obj_addr[o]
            # position of a in the sorted live starts
            lo, hi = 0, nlive
            while lo < hi:
                mid = (lo + hi) // 2
                if live_start[mid] < a:
                    lo = mid + 1
                else:
                    hi = mid
            if ev_is_birth[j]:
                if nlive == cap:
                    cap *= 2
                    ns = np.empty(cap, np.uint64)
                    no = np.empty(cap, np.int64)
                    ns[:nlive] = live_start[:nlive]
                    no[:nlive] = live_obj[:nlive]
                    live_start, live_obj = ns, no
                for k in range(nlive, lo, -1):
                    live_start[k] = live_start[k - 1]
                    live_obj[k] = live_obj[k - 1]
                live_start[lo] = a
                live_obj[lo] = o
                nlive += 1
            else:
                while lo < nlive and live_start[lo] == a and live_obj[lo] != o:
                    lo += 1
                if lo < nlive and live_obj[lo] == o:
                    for k in range(lo, nlive - 1):
                        live_start[k] = live_start[k + 1]
                        live_obj[k] = live_obj[k + 1]
                    nlive -= 1
            j += 1
        a = acc_addr[i]
        lo, hi = 0, nlive
        while lo < hi:                      # last live object starting at or before a
            mid = (lo + hi) // 2
            if live_start[mid] <= a:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            o = live_obj[lo - 1]
            if a - obj_addr[o] < obj_size[o]:
                out_obj[i] = o
                out_off[i] = a - obj_addr[o]
    return out_obj, out_off


def replay(allocs: np.ndarray, memtrace: np.ndarray) -> Trace:
    """Map every access of a ground-truth run to its heap object (see the module docstring).

    ``allocs``: the ``barrier_allocs`` records; ``memtrace``: the ``memtrace`` records of the
    same run (the barrier client sampling nothing, so that addresses are the real ones).
    """
    addr, size, site, kind, old, birth, death, end_kind = _objects(allocs)
    n = len(addr)
    ev_icount = np.concatenate([birth, death[death != np.iinfo(np.uint64).max]])
    ev_obj = np.concatenate([np.arange(n), np.flatnonzero(death != np.iinfo(np.uint64).max)]).astype(np.int64)
    ev_birth = np.concatenate([np.ones(n, np.bool_), np.zeros(len(ev_icount) - n, np.bool_)])
    # deaths before births at the same icount (a realloc's old object dies at its entry)
    order = np.lexsort((ev_birth, ev_icount))
    acc_icount = np.ascontiguousarray(memtrace["icount"], np.uint64)
    acc_obj, acc_off = _map_accesses(acc_icount, np.ascontiguousarray(memtrace["addr"], np.uint64),
                                     ev_icount[order], ev_birth[order], ev_obj[order], addr, size)
    return Trace(addr, size, site, kind, old, birth, death, end_kind, acc_obj, acc_off,
                 np.asarray(memtrace["size"], np.uint8), np.asarray(memtrace["kind"], np.uint8),
                 acc_icount)


@njit(cache=True)
def _stop_points(acc_obj, acc_off, acc_size, acc_kind, obj_size, k, settle, untouched_pct):
    """Index (into the access arrays) of the access after which each object's profiling stops
    (-1: never): its k-th access, or with ``settle`` the access after which it has been read,
    written after its first read, and has at least ``untouched_pct`` % of its bytes touched."""
    n_obj = obj_size.shape[0]
    out = np.full(n_obj, -1, np.int64)
    seen = np.zeros(n_obj, np.int64)
    reads = np.zeros(n_obj, np.int64)
    seen_read = np.zeros(n_obj, np.bool_)
    wai = np.zeros(n_obj, np.bool_)
    touched = np.zeros(n_obj, np.int64)
    # one bit per byte of every object: bit offset of each object's first byte
    base = np.zeros(n_obj + 1, np.int64)
    if settle:
        for o in range(n_obj):
            base[o + 1] = base[o] + np.int64(obj_size[o])
    bits = np.zeros((base[n_obj] + 7) // 8 if settle else 1, np.uint8)
    for i in range(acc_obj.shape[0]):
        o = acc_obj[i]
        if o < 0 or out[o] >= 0:
            continue
        seen[o] += 1
        kd = acc_kind[i]
        rd = kd == LOAD or kd == ATOMIC
        wr = kd == STORE or kd == ATOMIC
        if settle:
            if wr and seen_read[o]:
                wai[o] = True
            if rd:
                reads[o] += 1
                seen_read[o] = True
            end = np.int64(acc_off[i]) + np.int64(acc_size[i])
            if end > np.int64(obj_size[o]):
                end = np.int64(obj_size[o])
            for b in range(np.int64(acc_off[i]), end):
                g = base[o] + b
                bit = np.uint8(1 << (g & 7))
                if not (bits[g >> 3] & bit):
                    bits[g >> 3] |= bit
                    touched[o] += 1
        if seen[o] == k or (settle and reads[o] > 0 and wai[o]
                            and touched[o] * 100 >= np.int64(obj_size[o]) * untouched_pct):
            out[o] = i
    return out


def stop_points(trace: Trace, max_accesses: int, *, settle: bool = True, untouched_pct: int = 10) -> np.ndarray:
    """Per object, the index of the access after which the profiler stops recording it (-1:
    never), by the engine's rules (K = ``max_accesses``; 0: never stop)."""
    n = len(trace.obj_addr)
    if not max_accesses:
        return np.full(n, -1, np.int64)
    return _stop_points(trace.acc_obj, trace.acc_off, trace.acc_size, trace.acc_kind,
                        trace.obj_size, np.int64(max_accesses), bool(settle), np.int64(untouched_pct))


@njit(cache=True)
def _sample(obj_kind, obj_old, obj_addr, obj_size, obj_site, obj_birth, obj_death, stopped,
            sample_bytes, per_site):
    n = obj_kind.shape[0]
    out = np.zeros(n, np.bool_)
    since = 0
    tracked = dict()                       # site -> its last sampled object
    for o in range(n):
        if obj_kind[o] == REALLOC and obj_old[o] >= 0:
            prev = obj_old[o]
            if out[prev]:
                # a realloc of a sampled object: profiled on, unless its profiling stopped
                if not stopped[prev]:
                    out[o] = True
                    if per_site:
                        tracked[obj_site[o]] = o
                continue
            if obj_addr[o] == obj_addr[prev]:
                continue
        size = obj_size[o]
        since += size if size else 1
        if sample_bytes and since < sample_bytes:
            continue
        if per_site and obj_site[o] in tracked:
            t = tracked[obj_site[o]]
            # the site's tracked object still lives when this one is born: skip, keep the credit
            if obj_death[t] > obj_birth[o]:
                continue
        if sample_bytes:
            since %= sample_bytes
        out[o] = True
        if per_site:
            tracked[obj_site[o]] = o
    return out


def sampled_objects(trace: Trace, sample_bytes: int, *, per_site: bool = False,
                    max_accesses: int = 0, settle: bool = True, untouched_pct: int = 10,
                    stop: np.ndarray | None = None) -> np.ndarray:
    """Which objects the barrier profiler samples (bool per object), replaying its rules
    exactly (native/src/clients/barrier.c): one per ``sample_bytes`` bytes allocated (0: all);
    a realloc of a sampled object stays sampled (unless its profiling stopped: see
    :func:`stop_points`) and is not counted; a realloc of an unsampled one counts like a malloc
    unless it stayed in place; with ``per_site``, a site whose last sampled object still lives
    gets no other, and the credit passes to the next allocation. ``stop``: the
    :func:`stop_points` for these rules, if already computed (they do not depend on the interval).

    >>> t = Trace(*(np.zeros(2, np.uint64),) * 3, np.zeros(2, np.uint8), np.full(2, -1),
    ...           np.zeros(2, np.uint64), np.full(2, 2**64 - 1, np.uint64), np.zeros(2, np.uint8),
    ...           np.zeros(0, np.int64), *(np.zeros(0),) * 4)
    >>> sampled_objects(t, 0).tolist()
    [True, True]
    """
    if stop is None:
        stop = stop_points(trace, max_accesses, settle=settle, untouched_pct=untouched_pct)
    stopped = stop >= 0
    return _sample(trace.obj_kind.astype(np.int64), trace.obj_old.astype(np.int64),
                   trace.obj_addr, trace.obj_size, trace.obj_site, trace.obj_birth,
                   trace.obj_death, stopped, np.uint64(sample_bytes), bool(per_site))


@njit(cache=True)
def _aggregate(acc_obj, acc_off, acc_size, acc_kind, acc_icount, sampled, obj_size, stop):
    n_obj = obj_size.shape[0]
    accesses = np.zeros(n_obj, np.uint64)
    reads = np.zeros(n_obj, np.uint64)
    writes = np.zeros(n_obj, np.uint64)
    max_read = np.full(n_obj, -1, np.int64)
    max_write = np.full(n_obj, -1, np.int64)
    first = np.zeros(n_obj, np.uint64)
    last = np.zeros(n_obj, np.uint64)
    flags = np.zeros(n_obj, np.uint32)
    seen_read = np.zeros(n_obj, np.bool_)
    # touched ranges: (object, start, end) of every recorded access, merged later
    r_obj = np.empty(acc_obj.shape[0], np.int64)
    r_start = np.empty(acc_obj.shape[0], np.uint64)
    r_end = np.empty(acc_obj.shape[0], np.uint64)
    nr = 0
    for i in range(acc_obj.shape[0]):
        o = acc_obj[i]
        if not _is_recorded(o, i, sampled, stop):
            continue
        if accesses[o] == 0:
            first[o] = acc_icount[i]
        last[o] = acc_icount[i]
        accesses[o] += 1
        off = acc_off[i]
        end = off + acc_size[i]
        if end > obj_size[o]:
            end = obj_size[o]
        k = acc_kind[i]
        rd = k == LOAD or k == ATOMIC
        wr = k == STORE or k == ATOMIC
        if wr and seen_read[o]:
            flags[o] |= WRITTEN_AFTER_INIT
        if rd:
            reads[o] += 1
            if np.int64(end) - 1 > max_read[o]:
                max_read[o] = np.int64(end) - 1
            seen_read[o] = True
        if wr:
            writes[o] += 1
            if np.int64(end) - 1 > max_write[o]:
                max_write[o] = np.int64(end) - 1
        r_obj[nr] = o
        r_start[nr] = off
        r_end[nr] = end
        nr += 1
        if stop[o] == i:
            flags[o] |= STOPPED
    return accesses, reads, writes, max_read, max_write, first, last, flags, r_obj[:nr], r_start[:nr], r_end[:nr]


def _merge_ranges(r_obj, r_start, r_end):
    order = np.lexsort((r_start, r_obj))
    return _merge_sorted(r_obj[order], r_start[order], r_end[order])


@njit(cache=True)
def _merge_sorted(r_obj, r_start, r_end):
    o_out = np.empty(r_obj.shape[0], np.int64)
    s_out = np.empty(r_obj.shape[0], np.uint64)
    e_out = np.empty(r_obj.shape[0], np.uint64)
    n = 0
    for idx in range(r_obj.shape[0]):
        o, s, e = r_obj[idx], r_start[idx], r_end[idx]
        if e <= s:
            continue
        if n and o_out[n - 1] == o and s <= e_out[n - 1]:
            if e > e_out[n - 1]:
                e_out[n - 1] = e
        else:
            o_out[n], s_out[n], e_out[n] = o, s, e
            n += 1
    return o_out[:n], s_out[:n], e_out[:n]


def profile(trace: Trace, sampled: np.ndarray, max_accesses: int = 0, *, settle: bool = True,
            untouched_pct: int = 10, stop: np.ndarray | None = None) -> dict:
    """The per-object profile the profiler reports for the ``sampled`` objects: a dict of
    arrays in sampling order (``id`` counts sampled objects as the engine does; ``obj`` is
    the object index in the trace) plus ``ranges`` (object id, start, end), the same fields
    and rules as the engine's ``barrier`` and ``barrier_touched`` streams."""
    acc, rd, wr, mr, mw, first, last, flags, r_obj, r_start, r_end = _aggregate(
        trace.acc_obj, trace.acc_off, trace.acc_size, trace.acc_kind, trace.acc_icount,
        np.ascontiguousarray(sampled), trace.obj_size,
        stop if stop is not None else stop_points(trace, max_accesses, settle=settle,
                                                  untouched_pct=untouched_pct))
    objs = np.flatnonzero(sampled)
    ids = np.full(len(sampled), -1, np.int64)
    ids[objs] = np.arange(len(objs))
    o, s, e = _merge_ranges(r_obj, r_start, r_end)
    touched = np.zeros(len(sampled), np.uint64)
    np.add.at(touched, o, (e - s).astype(np.uint64))
    return {
        "id": ids[objs], "obj": objs, "site": trace.obj_site[objs], "addr": trace.obj_addr[objs],
        "size": trace.obj_size[objs], "accesses": acc[objs], "reads": rd[objs],
        "writes": wr[objs], "bytes_touched": touched[objs], "max_read": mr[objs],
        "max_write": mw[objs], "first_icount": first[objs], "last_icount": last[objs],
        "flags": flags[objs] | trace.obj_end_kind[objs],
        "ranges": np.rec.fromarrays([ids[o], s, e], names="id,start,end"),
    }


@njit(cache=True)
def _recorded(acc_obj, sampled, stop):
    """Indices of the accesses the profiler records (one barrier fault each): accesses to a
    sampled object up to and including its stop point; the same rule as ``_aggregate``."""
    out = np.empty(acc_obj.shape[0], np.int64)
    k = 0
    for i in range(acc_obj.shape[0]):
        if not _is_recorded(acc_obj[i], i, sampled, stop):
            continue
        out[k] = i
        k += 1
    return out[:k]


def faults(trace: Trace, sampled: np.ndarray, max_accesses: int = 0, *, settle: bool = True,
           untouched_pct: int = 10, stop: np.ndarray | None = None):
    """Every barrier fault the profiler would take with these ``sampled`` objects, as an
    ``xarray.Dataset`` along dimension ``fault`` in time order: ``icount`` (coordinate: when),
    ``object`` (sampled-object id, counted as the engine counts them), ``site``, ``offset``
    (byte offset in the object), ``size`` and ``kind`` (load/store/atomic, with CF flag
    attrs). One fault per recorded access, so ``len(faults)`` equals the profile's
    ``accesses`` summed. The engine does not log faults one by one; the replay can.

    >>> f = faults(trace, sampled_objects(trace, 4096), 250)   # doctest: +SKIP
    >>> int(f.sizes["fault"]) == int(profile(trace, sampled_objects(trace, 4096), 250)["accesses"].sum())  # doctest: +SKIP
    True
    """
    import xarray as xr

    from ..events import MEMTRACE_KINDS

    if stop is None:
        stop = stop_points(trace, max_accesses, settle=settle, untouched_pct=untouched_pct)
    sampled = np.ascontiguousarray(sampled, np.bool_)
    idx = _recorded(trace.acc_obj, sampled, stop)
    obj = trace.acc_obj[idx]
    ids = np.cumsum(sampled) - 1        # sampled objects are numbered in sampling order
    codes = np.array(sorted(MEMTRACE_KINDS), np.uint8)
    return xr.Dataset(
        {"object": ("fault", ids[obj].astype(np.uint64), {"long_name": "sampled object, in sampling order"}),
         "site": ("fault", trace.obj_site[obj], {"long_name": "allocation site of the object"}),
         "offset": ("fault", trace.acc_off[idx], {"long_name": "byte offset of the access in the object",
                                                  "units": "bytes"}),
         "size": ("fault", trace.acc_size[idx], {"long_name": "width of the access", "units": "bytes"}),
         "kind": ("fault", trace.acc_kind[idx], {
             "long_name": "kind of memory access", "flag_values": codes,
             "flag_meanings": " ".join(MEMTRACE_KINDS[int(c)] for c in codes)})},
        coords={"icount": ("fault", trace.acc_icount[idx],
                           {"long_name": "guest instructions retired at the fault", "units": "1"})},
        attrs={"description": "barrier faults predicted by the trace-driven model (one per recorded access)"})
