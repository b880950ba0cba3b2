"""A trace-driven model of the watchpoint unit: a recorded trace of accesses and watchpoint
set/clear operations, replayed through the range table and an LRU range cache of any size.

The unit follows docs/watchpoints.md exactly (the engine's ``native/src/watch/`` follows the
same page), so the counters here equal the engine's on the same trace. A trace is an array of
:data:`OP_DTYPE` records ``(kind, flags, addr, len)`` (:func:`ops` builds one from tuples).
:func:`replay` simulates one cache size literally; :func:`sweep` gives the counters of many
cache sizes from a single pass (LRU stack distances over the cache's runs), each row equal to
what :func:`replay` reports for that size. Both take the bitmap lookaside buffer's two
parameters (``blb_entries``, 0 for none, and ``blb_runs``), which route the accesses to dense
64-byte lines through an LRU buffer of bitmap lines instead of the range cache.

>>> from workbench.models import watch
>>> t = watch.ops([(watch.SET, watch.READ, 100, 100),   # watch [100, 199] for reads
...                (watch.LOAD, 0, 150, 4),              # a look-up, a miss, a trigger
...                (watch.STORE, 0, 150, 4)])            # a hit, no trigger
>>> c = watch.replay(t, 16)
>>> c["lookups"], c["misses"], c["triggers"]
(2, 1, 1)
>>> watch.sweep(t, [1, 4, 64]).loc[4].to_dict() == c     # one pass, every size
True
>>> d = watch.ops([(watch.SET, watch.READ, 0x100 + 2 * k, 1) for k in range(8)]  # every other byte
...               + [(watch.LOAD, 0, 0x104, 8)] * 2)
>>> watch.replay(d, 16)["lookups"]                       # 8 one-byte runs per load
16
>>> c = watch.replay(d, 16, blb_entries=8)               # a dense line: one bitmap look-up
>>> c["lookups"], c["blb_lookups"], c["blb_misses"], c["blb_hits"]
(0, 2, 1, 1)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit, types
from numba.typed import Dict

from ..errors import ConfigError

# One trace record: the C struct {uint8_t kind, flags; uint8_t pad[6]; uint64_t addr, len;}.
OP_DTYPE = np.dtype([("kind", "u1"), ("flags", "u1"), ("pad", "u1", (6,)), ("addr", "<u8"), ("len", "<u8")])
LOAD, STORE, SET, CLEAR = 0, 1, 2, 3
READ, WRITE = 1, 2

# The counters, in the order of the C struct's fields.
COUNTERS = ("loads", "stores", "sets", "clears", "lookups", "hits", "misses", "handler_calls",
            "evictions", "invalidations", "updates", "triggers", "splits", "merges", "segments_max",
            "blb_lookups", "blb_hits", "blb_misses", "blb_evictions", "blb_updates")
(_LOADS, _STORES, _SETS, _CLEARS, _LOOKUPS, _HITS, _MISSES, _HANDLER_CALLS, _EVICTIONS,
 _INVALIDATIONS, _UPDATES, _TRIGGERS, _SPLITS, _MERGES, _SEGMENTS_MAX, _BLB_LOOKUPS, _BLB_HITS,
 _BLB_MISSES, _BLB_EVICTIONS, _BLB_UPDATES) = range(len(COUNTERS))
_NCOUNTERS = len(COUNTERS)

# The bitmap lookaside buffer's line: an aligned block of BLB_LINE bytes.
BLB_LINE = 64

# WB_WATCH_MAX_SEGMENTS: the most segments the range table may hold. Read at each call, so a
# test can lower it to reach it.
MAX_SEGMENTS = 1 << 24

# 64-bit addresses: every constant the kernels mix with addresses is a uint64, because numba
# turns uint64 (+, -, <) int64 into float64, which is wrong above 2**53.
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_TOP = np.uint64(2**64 - 1)
_LINE_LAST = np.uint64(BLB_LINE - 1)        # a line's last byte = its first + this
_LINE_MASK = np.uint64(2**64 - BLB_LINE)    # a byte & this = the first byte of its line
_LINE_BYTES = np.uint64(BLB_LINE)
_NO_ERROR = -1


class TraceError(ConfigError):
    """An invalid trace record (or an operation the range table cannot hold): ``index`` is
    the record's index in the trace, ``why`` the reason."""

    def __init__(self, index: int, why: str):
        super().__init__(f"trace record {index}: {why}")
        self.index = index
        self.why = why


def ops(records) -> np.ndarray:
    """An :data:`OP_DTYPE` array from ``(kind, flags, addr, len)`` tuples.

    >>> ops([(SET, READ | WRITE, 0x1000, 16), (LOAD, 0, 0x1008, 8)])["len"].tolist()
    [16, 8]
    """
    records = list(records)
    out = np.zeros(len(records), OP_DTYPE)
    if records:
        kind, flags, addr, length = zip(*records)
        out["kind"] = np.array(kind, np.uint8)
        out["flags"] = np.array(flags, np.uint8)
        out["addr"] = np.array(addr, np.uint64)   # Python ints up to 2**64 - 1, exactly
        out["len"] = np.array(length, np.uint64)
    return out


def _columns(trace):
    """The trace's four fields as contiguous arrays, after checking every record against the
    rules of docs/watchpoints.md (vectorised; the first invalid record is reported)."""
    t = np.asarray(trace)
    names = t.dtype.names or ()
    missing = [f for f in ("kind", "flags", "addr", "len") if f not in names]
    if missing or t.ndim != 1:
        raise TypeError(f"a trace is a 1-d array of OP_DTYPE records (missing fields: {missing})")
    n = len(t)
    raw = {f: t[f] for f in ("kind", "flags", "addr", "len")}
    # values that do not fit the C struct's fields (only possible with a foreign dtype)
    for f, bits in (("kind", 8), ("flags", 8), ("addr", 64), ("len", 64)):
        v = raw[f]
        if v.dtype.kind not in "iu":
            raise TypeError(f"trace field {f!r} must be integers, not {v.dtype}")
        bad = np.zeros(n, bool)
        if v.dtype.kind == "i":
            bad |= v < 0
        if np.iinfo(v.dtype).max > (1 << bits) - 1:
            bad |= v > (1 << bits) - 1
        if bad.any():
            i = int(np.argmax(bad))
            raise TraceError(i, f"{f} {int(v[i])} does not fit the record's {bits}-bit field")
    kind = np.ascontiguousarray(raw["kind"], np.uint8)
    flags = np.ascontiguousarray(raw["flags"], np.uint8)
    addr = np.ascontiguousarray(raw["addr"], np.uint64)
    length = np.ascontiguousarray(raw["len"], np.uint64)
    if n:
        access = kind <= STORE
        # (reason, mask) in the order a record is judged: the first rule it breaks names it
        rules = (
            ("unknown kind", kind > CLEAR),
            ("len is 0", length == 0),
            # the last byte addr + len - 1 must not wrap: len - 1 <= 2**64 - 1 - addr
            ("the range wraps past 2**64 - 1", (length != 0) & (length - np.uint64(1) > _TOP - addr)),
            ("an access is longer than 8 bytes", access & (length > 8)),
            ("the flags of a set/clear are not 1, 2 or 3", ~access & (kind <= CLEAR) & ((flags == 0) | (flags > 3))),
        )
        bad = np.zeros(n, bool)
        for _, m in rules:
            bad |= m
        if bad.any():
            i = int(np.argmax(bad))
            why = next(w for w, m in rules if m[i])
            detail = f"(kind {int(kind[i])}, flags {int(flags[i])}, addr {int(addr[i]):#x}, len {int(length[i])})"
            raise TraceError(i, f"{why} {detail}")
    return kind, flags, addr, length


def _max_lookups(kind, length) -> int:
    """An upper bound on the look-ups of a trace: each covers at least one byte of its access."""
    return int(length[kind <= STORE].sum(dtype=np.uint64))


# The range table (its numba kernels) lives in watch_table.py.
from .watch_table import _apply, _boundaries_inside, _floor, _next, _run_of, _scratch, _table  # noqa: E402,F401

# ---------------------------------------------------------------- the BLB (numba)
# The BLB does not depend on the range cache's size, so both kernels simulate it literally,
# with these helpers. A kernel walks an access with _step, which says whether each part goes
# to a dense line's bitmap (the kernel calls _blb_use) or to the run of p (the kernel looks it
# up in its range cache); a set or clear calls _blb_held.
#
# Its entries: an LRU list of at most `cap` lines (keys: their first bytes) in slots of a
# doubly linked list, most recently used at the head, found through a typed Dict key -> slot
# that the kernel makes (so that numba types it there). The list is the tuple
# (key, prv, nxt, free, st), st = [head, tail, keys held, slots ever used, free slots on `free`].
# (The replay's range cache has the same shape but stays written out in its kernel, where its
# head, tail and count live in registers: through these helpers the replay took a tenth longer.)

@njit(cache=True)
def _lru(n_slots):
    return (np.empty(n_slots, np.uint64), np.full(n_slots, -1, np.int64),
            np.full(n_slots, -1, np.int64), np.empty(n_slots, np.int64),
            np.array([-1, -1, 0, 0, 0], np.int64))


@njit(cache=True)
def _lru_unlink(Q, s):
    key, prv, nxt, free, st = Q
    if prv[s] >= 0:
        nxt[prv[s]] = nxt[s]
    else:
        st[0] = nxt[s]
    if nxt[s] >= 0:
        prv[nxt[s]] = prv[s]
    else:
        st[1] = prv[s]


@njit(cache=True)
def _lru_push(Q, s):
    key, prv, nxt, free, st = Q
    prv[s] = -1
    nxt[s] = st[0]
    if st[0] >= 0:
        prv[st[0]] = s
    else:
        st[1] = s
    st[0] = s


@njit(cache=True)
def _lru_use(Q, where, k, cap):
    """Look up key k in the list (cap entries), leaving it the most recently used: 0 if it was
    there (a hit), 1 if it took a free entry, 2 if it took the least recently used one's."""
    key, prv, nxt, free, st = Q
    if k in where:                           # (Dict.get would type s as Optional)
        s = where[k]
        if s != st[0]:
            _lru_unlink(Q, s)
            _lru_push(Q, s)
        return 0
    if st[2] == cap:
        s = st[1]
        where.pop(key[s])
        _lru_unlink(Q, s)
        got = 2
    else:
        if st[4] > 0:
            st[4] -= 1
            s = free[st[4]]
        else:
            s = st[3]
            st[3] += 1
        st[2] += 1
        got = 1
    key[s] = k
    where[k] = s
    _lru_push(Q, s)
    return got


@njit(cache=True)
def _lru_drop(Q, where, k):
    """Remove key k if the list holds it; whether it did."""
    key, prv, nxt, free, st = Q
    if k not in where:
        return False
    s = where[k]
    where.pop(k)
    _lru_unlink(Q, s)
    free[st[4]] = s
    st[4] += 1
    st[2] -= 1
    return True


@njit(cache=True)
def _dense(T, ls, thr):
    """Whether at least thr runs intersect the line starting at byte ls. The runs partition
    the space, so they number 1 + the run boundaries b with ls < b <= the line's end: each
    segment's first byte and the byte after its last (once when the next segment starts
    there). Stops counting at thr, so the cost is bounded by thr (a line has <= 64 runs)."""
    F, L, B, cnt, bid, bmin, st, free = T
    le = ls + _LINE_LAST                     # ls <= 2**64 - 64: no wrap
    n = 1
    prev = ls                                # the last boundary counted (ls itself is none)
    j, o = _floor(T, ls)
    if j < 0:
        j, o = (0, 0) if st[0] > 0 else (-1, -1)
    while j >= 0 and n < thr:
        r = bid[j]
        f = F[r, o]
        l = L[r, o]
        if f > le:
            break
        if l >= ls:                          # the segment intersects the line
            if f > prev:
                n += 1
            if l < le:                       # l + 1 <= le: no wrap
                prev = l + _U1
                n += 1
        j, o = _next(T, j, o)
    return n >= thr


@njit(cache=True)
def _any_bit(T, lo, hi, mask):
    """Whether a run intersecting [lo, hi] has a bit of mask (what a bitmap line says of the
    accessed bytes)."""
    p = lo
    while True:
        rf, rl, rb = _run_of(T, p)
        if np.int64(rb) & mask:
            return True
        if rl >= hi:
            return False
        p = rl + _U1


@njit(cache=True)
def _step(T, p, a, last, mask, blb_cap, blb_thr):
    """One step of the walk of the access [a, last] at byte p: with a BLB (blb_cap > 0) and
    p's line dense, a bitmap look-up of that line, else a range-cache look-up of the run of p.
    Returns (True for a run to look up in the range cache, False for a line of the BLB; the
    run's or the line's first byte; whether this part triggers; whether the walk is done; the
    next p). It counts nothing: the BLB's state stays out of this call, which every look-up
    makes, with a BLB or without (passing it costs time)."""
    ls = p & _LINE_MASK
    le = ls + _LINE_LAST
    if blb_cap > 0 and _dense(T, ls, blb_thr):
        trig = _any_bit(T, a if a > ls else ls, last if last < le else le, mask)
        if le >= last:
            return False, ls, trig, True, p
        return False, ls, trig, False, le + _U1
    rf, rl, rb = _run_of(T, p)
    trig = (np.int64(rb) & mask) != 0
    # the access goes on into the next line (so le < 2**64 - 1), the run with it, and that
    # line is dense: its bytes are the BLB's, not this run's
    if blb_cap > 0 and le < last and rl > le and _dense(T, le + _U1, blb_thr):
        return True, rf, trig, False, le + _U1
    if rl >= last:
        return True, rf, trig, True, p
    return True, rf, trig, False, rl + _U1


@njit(cache=True)
def _blb_use(QB, whereB, ls, blb_cap, c):
    """The bitmap look-up of the line starting at ls, counted."""
    c[_BLB_LOOKUPS] += 1
    got = _lru_use(QB, whereB, ls, blb_cap)
    if got == 0:
        c[_BLB_HITS] += 1
    else:
        c[_BLB_MISSES] += 1
        if got == 2:
            c[_BLB_EVICTIONS] += 1


@njit(cache=True)
def _blb_held(QB, whereB, lo, hi):
    """How many of the BLB's lines intersect [lo, hi] (a set or clear writes their bits in
    place): looked up one by one when the range spans no more lines than the BLB holds, else
    by walking the entries (a set may span 2**58 lines)."""
    key, prv, nxt, free, st = QB
    if st[2] == 0:
        return 0
    first = lo & _LINE_MASK
    final = hi & _LINE_MASK
    n = 0
    if (final - first) // _LINE_BYTES < np.uint64(st[2]):
        x = first
        while True:
            if x in whereB:
                n += 1
            if x == final:                   # before x + 64 could wrap
                break
            x += _LINE_BYTES
    else:
        s = st[0]
        while s >= 0:
            if first <= key[s] and key[s] <= final:
                n += 1
            s = nxt[s]
    return n


# A set or clear's in-place update of the cache (its numba helpers) lives in watch_update.py.
from .watch_update import _new_runs, _parents, _replaced_in_order  # noqa: E402


# ---------------------------------------------------------------- replay: one cache size

# Slots past the cache's size that a replacement may fill before the overflow is evicted: a
# parent gets at most three runs, and each is evicted for right after its parent's runs.
_SLACK = 2


@njit(cache=True)
def _replay(kind, flags, addr, length, n_entries, n_slots, blb_cap, blb_slots, blb_thr, seg_cap):
    """Simulate the unit with an LRU cache of n_entries entries (n_slots >= the most it can
    ever hold) and a BLB of blb_cap lines (blb_slots >= the most it can hold) for lines of at
    least blb_thr runs. Returns (counters, index of the record that overflowed the table or -1)."""
    c = np.zeros(_NCOUNTERS, np.int64)
    T = _table()
    W = _scratch()
    # the cache: slots in a doubly linked list, most recently used at head; `where` maps an
    # entry's run (by its first byte: entries are current runs, so they never overlap) to it;
    # stamp: the time of the slot's last use (shared by runs written in one entry's place)
    slots = n_slots + _SLACK
    key = np.empty(slots, np.uint64)
    stamp = np.zeros(slots, np.int64)
    prv = np.full(slots, -1, np.int64)
    nxt = np.full(slots, -1, np.int64)
    free = np.empty(slots, np.int64)
    nfree = 0
    used = 0
    count = 0
    head = -1
    tail = -1
    t = 0
    where = Dict.empty(key_type=types.uint64, value_type=types.int64)
    QB = _lru(blb_slots)
    whereB = Dict.empty(key_type=types.uint64, value_type=types.int64)
    # a set or clear's parents (at most every entry) and their new runs (three each)
    pf = np.empty(slots, np.uint64)
    pl = np.empty(slots, np.uint64)
    pst = np.empty(slots, np.int64)
    ps = np.empty(slots, np.int64)
    pn = np.empty(slots, np.int64)
    p0 = np.empty(slots, np.int64)
    idx = np.empty(slots, np.int64)
    qf = np.empty(3 * slots, np.uint64)
    qp = np.empty(3 * slots, np.int64)
    for i in range(kind.shape[0]):
        kd = kind[i]
        a = addr[i]
        end = a + (length[i] - _U1)
        if kd == LOAD or kd == STORE:
            if kd == LOAD:
                c[_LOADS] += 1
                mask = READ
            else:
                c[_STORES] += 1
                mask = WRITE
            trig = False
            p = a
            while True:
                is_run, rf, hit, done, p = _step(T, p, a, end, mask, blb_cap, blb_thr)
                if hit:
                    trig = True
                if not is_run:
                    _blb_use(QB, whereB, rf, blb_cap, c)
                    if done:
                        break
                    continue
                c[_LOOKUPS] += 1
                s = where[rf] if rf in where else -1
                if s >= 0:
                    c[_HITS] += 1
                    if s != head:                   # unlink, then push at head
                        nxt[prv[s]] = nxt[s]
                        if nxt[s] >= 0:
                            prv[nxt[s]] = prv[s]
                        else:
                            tail = prv[s]
                        prv[s] = -1
                        nxt[s] = head
                        prv[head] = s
                        head = s
                else:
                    c[_MISSES] += 1
                    c[_HANDLER_CALLS] += 1
                    if count == n_entries:          # full: evict the least recently used
                        s = tail
                        where.pop(key[s])
                        tail = prv[s]
                        if tail >= 0:
                            nxt[tail] = -1
                        else:
                            head = -1
                        count -= 1
                        c[_EVICTIONS] += 1
                    elif nfree > 0:
                        nfree -= 1
                        s = free[nfree]
                    else:
                        s = used
                        used += 1
                    key[s] = rf
                    where[rf] = s
                    prv[s] = -1
                    nxt[s] = head
                    if head >= 0:
                        prv[head] = s
                    else:
                        tail = s
                    head = s
                    count += 1
                stamp[s] = t
                t += 1
                if done:
                    break
            if trig:
                c[_TRIGGERS] += 1
        else:
            is_set = kd == SET
            c[_SETS if is_set else _CLEARS] += 1
            lo = a - _U1 if a > _U0 else a           # [s - 1, e + 1], clipped
            hi = end + _U1 if end < _TOP else end
            npar = _parents(T, where, stamp, lo, hi, pf, pl, pst, ps) if count > 0 else 0
            splits = _boundaries_inside(T, a, end)
            T, W, ok = _apply(T, a, end, flags[i], is_set, seg_cap, W)
            if not ok:
                return c, i
            c[_SPLITS] += splits
            c[_MERGES] += _boundaries_inside(T, a, end)
            if T[6][1] > c[_SEGMENTS_MAX]:
                c[_SEGMENTS_MAX] = T[6][1]
            c[_BLB_UPDATES] += _blb_held(QB, whereB, a, end)
            if npar == 0:
                continue
            nq = _new_runs(T, pf, pl, pst, npar, qf, qp, pn, p0)
            for j in range(npar):
                where.pop(pf[j])
                if pn[j] == 0:                       # merged into a more recent parent's run
                    s = ps[j]
                    if prv[s] >= 0:
                        nxt[prv[s]] = nxt[s]
                    else:
                        head = nxt[s]
                    if nxt[s] >= 0:
                        prv[nxt[s]] = prv[s]
                    else:
                        tail = prv[s]
                    free[nfree] = s
                    nfree += 1
                    count -= 1
                    c[_INVALIDATIONS] += 1
            for j in _replaced_in_order(pst, pn, npar, idx):
                at = ps[j]                           # the first run takes the parent's slot
                key[at] = qf[p0[j]]
                where[key[at]] = at
                for k in range(p0[j] + 1, p0[j] + pn[j]):   # the others go right after it
                    if nfree > 0:
                        nfree -= 1
                        x = free[nfree]
                    else:
                        x = used
                        used += 1
                    key[x] = qf[k]
                    where[qf[k]] = x
                    stamp[x] = stamp[at]
                    prv[x] = at
                    nxt[x] = nxt[at]
                    if nxt[at] >= 0:
                        prv[nxt[at]] = x
                    else:
                        tail = x
                    nxt[at] = x
                    at = x
                    count += 1
                c[_UPDATES] += pn[j]
                while count > n_entries:             # overflow: evict the least recently used
                    x = tail
                    where.pop(key[x])
                    tail = prv[x]
                    nxt[tail] = -1                   # (a cache of >= 1 keeps an entry)
                    free[nfree] = x
                    nfree += 1
                    count -= 1
                    c[_EVICTIONS] += 1
    return c, _NO_ERROR


def _cap_error(index: int, cap: int) -> TraceError:
    return TraceError(index, f"the range table would need more than {cap} segments (its cap, "
                             "WB_WATCH_MAX_SEGMENTS)")


def _is_int(v) -> bool:
    return not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, np.integer))


def _check_blb(blb_entries, blb_runs):
    if not _is_int(blb_entries) or blb_entries < 0:
        raise ValueError(f"blb_entries must be an integer >= 0 (0: no BLB), not {blb_entries!r}")
    if not _is_int(blb_runs) or blb_runs < 2:
        raise ValueError(f"blb_runs must be an integer >= 2, not {blb_runs!r}")


def _blb_params(blb_entries, blb_runs, kind):
    """The BLB's (entries, slots, threshold) for the kernels. The BLB never holds more lines
    than two per access, and past BLB_LINE + 1 every threshold means the same (a line has at
    most BLB_LINE runs)."""
    cap = min(int(blb_entries), 2**62)
    slots = max(1, min(cap, 2 * int(np.count_nonzero(kind <= STORE))))
    return np.int64(cap), np.int64(slots), np.int64(min(int(blb_runs), BLB_LINE + 1))


def replay(trace, rc_entries: int, blb_entries: int = 0, blb_runs: int = 4) -> dict[str, int]:
    """The unit's counters (all of :data:`COUNTERS`) after ``trace``, with a range cache of
    ``rc_entries`` entries (>= 1) and a bitmap lookaside buffer of ``blb_entries`` lines (0,
    the default: none) for the 64-byte lines that ``blb_runs`` runs or more intersect (>= 2).
    Raises :class:`ValueError` for a bad size, :class:`TraceError` for an invalid record
    (before replaying anything) or when the range table would exceed :data:`MAX_SEGMENTS`."""
    if not _is_int(rc_entries) or rc_entries < 1:
        raise ValueError(f"rc_entries must be an integer >= 1, not {rc_entries!r}")
    _check_blb(blb_entries, blb_runs)
    kind, flags, addr, length = _columns(trace)
    blb_cap, blb_slots, blb_thr = _blb_params(blb_entries, blb_runs, kind)
    n_slots = max(1, min(int(rc_entries), _max_entries(kind, length)))
    cap = int(MAX_SEGMENTS)
    c, err = _replay(kind, flags, addr, length, np.int64(min(int(rc_entries), 2**62)),
                     np.int64(n_slots), blb_cap, blb_slots, blb_thr, np.int64(cap))
    if err != _NO_ERROR:
        raise _cap_error(int(err), cap)
    return {name: int(v) for name, v in zip(COUNTERS, c)}


# ---------------------------------------------------------------- sweep: all sizes at once
# Every cache size sees the same look-ups and the same runs, and each keeps its entries in
# the order of their last use; a set or clear writes runs in a parent's place, in that order,
# at every size holding the parent. So caches nest: the cache of N entries holds the first k_N
# entries (k_N <= N) of one list, the cache of the largest size. The pass keeps that list
# (most recently used first) and, per size, k_N and the last entry it holds (its boundary);
# each entry records the smallest size holding it (its level; a size larger than one holding
# it holds it too). Then:
#   - a look-up of an entry at level L hits at every size from L up; at the smaller sizes it
#     misses and the entry becomes their first: a size with a free entry takes it (k_N + 1),
#     a full one evicts its boundary (whose level goes up by one); the entry's level is 0;
#   - a dropped parent at level L leaves every size from L up (k_N - 1);
#   - a parent at level L replaced by r runs gives every size from L up r - 1 more entries
#     and evicts boundaries while k_N > N. Parents are replaced least recently used first,
#     so what an overflow evicts is what it would evict after all the replacements.
# An entry no size holds any more leaves the list. A look-up costs O(1) plus a step per size
# it misses at (the sizes are a few dozen at most).

@njit(cache=True)
def _sweep(kind, flags, addr, length, caps, n_slots, blb_cap, blb_slots, blb_thr, seg_cap):
    """One pass for the cache sizes caps (ascending, distinct): the size-independent counters
    (the BLB's among them), and per size, the hits, evictions, invalidations and updates.
    Returns them and the overflow index."""
    S = caps.shape[0]
    c = np.zeros(_NCOUNTERS, np.int64)
    hit_at = np.zeros(S + 1, np.int64)      # look-ups of an entry at level L (L = S: none)
    drop_at = np.zeros(S + 1, np.int64)     # dropped parents at level L
    upd_at = np.zeros(S + 1, np.int64)      # runs written in place of a parent at level L
    ev = np.zeros(S, np.int64)              # evictions per size
    k = np.zeros(S, np.int64)
    bnd = np.full(S, -1, np.int64)
    T = _table()
    W = _scratch()
    slots = n_slots + _SLACK + 1
    key = np.empty(slots, np.uint64)
    stamp = np.zeros(slots, np.int64)
    lvl = np.zeros(slots, np.int64)
    prv = np.full(slots, -1, np.int64)
    nxt = np.full(slots, -1, np.int64)
    free = np.empty(slots, np.int64)
    nfree = 0
    used = 0
    head = -1
    tail = -1
    t = 0
    where = Dict.empty(key_type=types.uint64, value_type=types.int64)
    QB = _lru(blb_slots)
    whereB = Dict.empty(key_type=types.uint64, value_type=types.int64)
    pf = np.empty(slots, np.uint64)
    pl = np.empty(slots, np.uint64)
    pst = np.empty(slots, np.int64)
    ps = np.empty(slots, np.int64)
    pn = np.empty(slots, np.int64)
    p0 = np.empty(slots, np.int64)
    idx = np.empty(slots, np.int64)
    qf = np.empty(3 * slots, np.uint64)
    qp = np.empty(3 * slots, np.int64)
    for i in range(kind.shape[0]):
        kd = kind[i]
        a = addr[i]
        end = a + (length[i] - _U1)
        if kd == LOAD or kd == STORE:
            if kd == LOAD:
                c[_LOADS] += 1
                mask = READ
            else:
                c[_STORES] += 1
                mask = WRITE
            trig = False
            p = a
            while True:
                is_run, rf, hit, done, p = _step(T, p, a, end, mask, blb_cap, blb_thr)
                if hit:
                    trig = True
                if not is_run:                          # a line of the BLB: not the list's
                    _blb_use(QB, whereB, rf, blb_cap, c)
                    if done:
                        break
                    continue
                c[_LOOKUPS] += 1
                if rf in where:
                    s = where[rf]
                    L = lvl[s]
                    if prv[s] >= 0:                     # not first yet: move it there
                        for j in range(L, S):
                            if bnd[j] == s:
                                bnd[j] = prv[s]
                        nxt[prv[s]] = nxt[s]
                        if nxt[s] >= 0:
                            prv[nxt[s]] = prv[s]
                        else:
                            tail = prv[s]
                        prv[s] = -1
                        nxt[s] = head
                        prv[head] = s
                        head = s
                else:
                    L = S
                    if nfree > 0:
                        nfree -= 1
                        s = free[nfree]
                    else:
                        s = used
                        used += 1
                    key[s] = rf
                    where[rf] = s
                    prv[s] = -1
                    nxt[s] = head
                    if head >= 0:
                        prv[head] = s
                    else:
                        tail = s
                    head = s
                hit_at[L] += 1
                stamp[s] = t
                t += 1
                lvl[s] = 0
                for j in range(L):                      # the sizes it misses at
                    if k[j] < caps[j]:
                        k[j] += 1
                        if bnd[j] < 0:
                            bnd[j] = s
                    else:                               # full: the boundary goes
                        b = bnd[j]
                        ev[j] += 1
                        bnd[j] = prv[b]
                        lvl[b] = j + 1
                        if j + 1 == S:                  # no size holds it: off the list
                            where.pop(key[b])
                            tail = prv[b]
                            nxt[tail] = -1
                            free[nfree] = b
                            nfree += 1
                if done:
                    break
            if trig:
                c[_TRIGGERS] += 1
        else:
            is_set = kd == SET
            c[_SETS if is_set else _CLEARS] += 1
            lo = a - _U1 if a > _U0 else a             # [s - 1, e + 1], clipped
            hi = end + _U1 if end < _TOP else end
            npar = _parents(T, where, stamp, lo, hi, pf, pl, pst, ps) if head >= 0 else 0
            splits = _boundaries_inside(T, a, end)
            T, W, ok = _apply(T, a, end, flags[i], is_set, seg_cap, W)
            if not ok:
                return c, hit_at, drop_at, upd_at, ev, i
            c[_SPLITS] += splits
            c[_MERGES] += _boundaries_inside(T, a, end)
            if T[6][1] > c[_SEGMENTS_MAX]:
                c[_SEGMENTS_MAX] = T[6][1]
            c[_BLB_UPDATES] += _blb_held(QB, whereB, a, end)
            if npar == 0:
                continue
            nq = _new_runs(T, pf, pl, pst, npar, qf, qp, pn, p0)
            for j in range(npar):
                where.pop(pf[j])
                if pn[j] == 0:                         # dropped: it leaves every size holding it
                    s = ps[j]
                    L = lvl[s]
                    drop_at[L] += 1
                    for z in range(L, S):
                        k[z] -= 1
                        if bnd[z] == s:
                            bnd[z] = prv[s]
                    if prv[s] >= 0:
                        nxt[prv[s]] = nxt[s]
                    else:
                        head = nxt[s]
                    if nxt[s] >= 0:
                        prv[nxt[s]] = prv[s]
                    else:
                        tail = prv[s]
                    free[nfree] = s
                    nfree += 1
            for j in _replaced_in_order(pst, pn, npar, idx):
                s = ps[j]
                L = lvl[s]
                at = s
                key[at] = qf[p0[j]]
                where[key[at]] = at
                for q in range(p0[j] + 1, p0[j] + pn[j]):
                    if nfree > 0:
                        nfree -= 1
                        x = free[nfree]
                    else:
                        x = used
                        used += 1
                    key[x] = qf[q]
                    where[qf[q]] = x
                    stamp[x] = stamp[s]
                    lvl[x] = L
                    prv[x] = at
                    nxt[x] = nxt[at]
                    if nxt[at] >= 0:
                        prv[nxt[at]] = x
                    else:
                        tail = x
                    nxt[at] = x
                    at = x
                upd_at[L] += pn[j]
                for z in range(L, S):
                    k[z] += pn[j] - 1
                    if bnd[z] == s:
                        bnd[z] = at
                    while k[z] > caps[z]:              # overflow: the boundary goes
                        b = bnd[z]
                        ev[z] += 1
                        k[z] -= 1
                        bnd[z] = prv[b]
                        lvl[b] = z + 1
                        if z + 1 == S:
                            where.pop(key[b])
                            tail = prv[b]
                            nxt[tail] = -1
                            free[nfree] = b
                            nfree += 1
    return c, hit_at, drop_at, upd_at, ev, _NO_ERROR


def _max_entries(kind, length) -> int:
    """An upper bound on the entries a cache ever holds: one per look-up, and two more per
    set or clear (it cuts at most two runs in two)."""
    return _max_lookups(kind, length) + 2 * int(np.count_nonzero(kind > STORE))


def sweep(trace, sizes, blb_entries: int = 0, blb_runs: int = 4) -> pd.DataFrame:
    """The counters of :func:`replay` for every cache size in ``sizes`` (integers >= 1), from
    one pass over ``trace``: a DataFrame indexed by size (index name ``rc_entries``, in the
    order given), one column per counter of :data:`COUNTERS`; row N equals
    ``replay(trace, N, blb_entries, blb_runs)``. The BLB's counters are the same in every row:
    which accesses go to the BLB does not depend on the range cache."""
    sizes = list(sizes)
    for s in sizes:
        if not _is_int(s) or s < 1:
            raise ValueError(f"cache sizes must be integers >= 1, not {s!r}")
    sizes = [int(s) for s in sizes]
    _check_blb(blb_entries, blb_runs)
    kind, flags, addr, length = _columns(trace)
    blb_cap, blb_slots, blb_thr = _blb_params(blb_entries, blb_runs, kind)
    caps = sorted({min(s, 2**62) for s in sizes})
    bound = _max_entries(kind, length)
    n_slots = max(1, min(caps[-1], bound)) if caps else 1
    cap = int(MAX_SEGMENTS)
    c, hit_at, drop_at, upd_at, ev, err = _sweep(kind, flags, addr, length, np.array(caps, np.int64),
                                                 np.int64(n_slots), blb_cap, blb_slots, blb_thr,
                                                 np.int64(cap))
    if err != _NO_ERROR:
        raise _cap_error(int(err), cap)
    upto = {name: np.cumsum(h) for name, h in (("hits", hit_at), ("drops", drop_at), ("updates", upd_at))}
    rows = []
    for size in sizes:
        j = caps.index(min(size, 2**62))
        row = c.copy()
        row[_HITS] = upto["hits"][j]
        row[_MISSES] = row[_LOOKUPS] - row[_HITS]
        row[_HANDLER_CALLS] = row[_MISSES]
        row[_EVICTIONS] = ev[j]
        row[_INVALIDATIONS] = upto["drops"][j]
        row[_UPDATES] = upto["updates"][j]
        rows.append(row)
    return pd.DataFrame(np.array(rows, np.int64).reshape(len(sizes), len(COUNTERS)),
                        index=pd.Index(sizes, name="rc_entries"), columns=list(COUNTERS))
