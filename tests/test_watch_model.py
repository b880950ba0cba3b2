"""The watchpoint unit's trace-driven model (workbench/models/watch.py) against
docs/watchpoints.md.

A small pure-Python oracle follows the page literally — a dict from byte to watch bits, runs
found by scanning it, and a list per cache size holding (first, last, bits) entries — and
random traces (a small address window plus the top of the address space) must give the same
counters through :func:`watch.replay` at several cache sizes; :func:`watch.sweep` must give,
for every size, what :func:`watch.replay` gives. The oracle also follows the page's bitmap
lookaside buffer (density counted byte by byte, the BLB a list of lines), checked on traces
that crowd a few lines with small watches. Hand-made traces pin the counters' meanings.
"""
from __future__ import annotations

import bisect
import time

import numpy as np
import pytest

from workbench.models import watch
from workbench.models.watch import CLEAR, LOAD, READ, SET, STORE, WRITE, TraceError, ops

TOP = 2**64 - 1
RW = READ | WRITE
LINE = 64
BLB_COUNTERS = ["blb_lookups", "blb_hits", "blb_misses", "blb_evictions", "blb_updates"]


class Oracle:
    """docs/watchpoints.md, literally, for several cache sizes at once (one table, one BLB of
    blb_entries lines: it does not depend on the cache size)."""

    def __init__(self, sizes, blb_entries=0, blb_runs=4):
        self.bits: dict[int, int] = {}              # byte -> nonzero bits
        self.keys: list[int] = []                   # its keys, sorted (to find gaps fast)
        self.nsegs = 0
        self.nops = 0
        self.sizes = list(sizes)
        self.caches = {n: [] for n in self.sizes}   # most recently used first
        table = dict.fromkeys(watch.COUNTERS, 0)
        self.c = {n: dict(table) for n in self.sizes}
        self.blb_entries = blb_entries
        self.blb_runs = blb_runs
        self.blb: list[int] = []                    # lines (their first byte), most recent first
        self.handoffs = 0                           # runs cut short at a dense next line

    def at(self, p):
        return self.bits.get(p, 0)

    def run(self, p):
        """The segment containing p, or else the gap containing it."""
        v = self.at(p)
        if v:
            lo = p
            while lo > 0 and self.at(lo - 1) == v:
                lo -= 1
            hi = p
            while hi < TOP and self.at(hi + 1) == v:
                hi += 1
            return lo, hi, v
        i = bisect.bisect_left(self.keys, p)            # keys[i - 1] < p < keys[i]
        return (self.keys[i - 1] + 1 if i else 0), (self.keys[i] - 1 if i < len(self.keys) else TOP), 0

    def inside(self, b):
        """Boundary b lies strictly inside a segment: b - 1 and b are in the same one."""
        return self.at(b) != 0 and self.at(b - 1) == self.at(b)

    def starts(self, lo, hi):
        """Segments starting in [lo, hi]: bytes whose bits are nonzero and differ from the
        byte before."""
        return sum(1 for p in range(lo, hi + 1) if self.at(p) and self.at(p - 1) != self.at(p))

    def each(self, name, k=1):
        for n in self.sizes:
            self.c[n][name] += k

    def dense(self, ls):
        """At least blb_runs runs intersect line [ls, ls + 63]: the run of its first byte, and
        a new one at every byte whose bits differ from the byte before."""
        runs = 1 + sum(1 for p in range(ls + 1, ls + LINE) if self.at(p) != self.at(p - 1))
        return runs >= self.blb_runs

    def line_lookup(self, ls):
        self.each("blb_lookups")
        if ls in self.blb:
            self.each("blb_hits")
            self.blb.remove(ls)
        else:
            self.each("blb_misses")
            if len(self.blb) == self.blb_entries:
                self.blb.pop()
                self.each("blb_evictions")
        self.blb.insert(0, ls)

    def op(self, kind, flags, addr, length):
        last = addr + length - 1
        if kind in (LOAD, STORE):
            self.each("loads" if kind == LOAD else "stores")
            mask = READ if kind == LOAD else WRITE
            blb = self.blb_entries > 0
            runs = []                               # the range cache's look-ups
            trig = False
            p = addr
            while p <= last:
                ls = p - p % LINE
                le = ls + LINE - 1
                if blb and self.dense(ls):
                    self.line_lookup(ls)
                    q = max(addr, ls)               # the runs over the accessed bytes of the line
                    while q <= min(last, le):
                        r = self.run(q)
                        trig = trig or bool(r[2] & mask)
                        q = r[1] + 1
                    p = le + 1
                else:
                    r = self.run(p)
                    runs.append(r)
                    trig = trig or bool(r[2] & mask)
                    if blb and le < TOP and self.dense(le + 1) and r[1] > le:
                        p = le + 1
                        self.handoffs += p <= last      # (one that matters: the access goes on)
                    else:
                        p = r[1] + 1
            if trig:
                self.each("triggers")
            for n in self.sizes:
                cache, c = self.caches[n], self.c[n]
                for r in runs:
                    c["lookups"] += 1
                    if r in cache:
                        c["hits"] += 1
                        cache.remove(r)
                    else:
                        c["misses"] += 1
                        c["handler_calls"] += 1
                        if len(cache) == n:
                            cache.pop()
                            c["evictions"] += 1
                    cache.insert(0, r)
            return
        s, e = addr, last
        self.each("sets" if kind == SET else "clears")
        lo, hi = max(s - 1, 0), min(e + 1, TOP)
        # the BLB's lines over [s, e] are written in place (they stay)
        self.each("blb_updates", sum(1 for ls in self.blb if ls <= e and ls + LINE - 1 >= s))
        bounds = [s] + ([e + 1] if e < TOP else [])
        self.each("splits", sum(self.inside(b) for b in bounds))
        self.nsegs -= self.starts(s, min(e + 1, TOP))   # only these bytes can start or stop
        for p in range(s, e + 1):
            v = self.at(p) | flags if kind == SET else self.at(p) & ~flags
            if v and p not in self.bits:
                bisect.insort(self.keys, p)
            elif not v and p in self.bits:
                del self.keys[bisect.bisect_left(self.keys, p)]
            if v:
                self.bits[p] = v
            else:
                self.bits.pop(p, None)
        self.nsegs += self.starts(s, min(e + 1, TOP))
        # the range cache: the entries over [s - 1, e + 1] (the parents) give way to the new
        # table's runs over their bytes, each in the place of the first parent in the list it
        # overlaps (the most recently used), in address order; then the list is cut to n
        for n in self.sizes:
            cache, c = self.caches[n], self.c[n]
            parents = [r for r in cache if not (r[1] < lo or r[0] > hi)]
            got = {r: [] for r in parents}
            for r in sorted(parents):
                p = r[0]
                while p <= r[1]:
                    q = self.run(p)
                    owner = min((x for x in parents if not (x[1] < q[0] or x[0] > q[1])), key=cache.index)
                    if q not in got[owner]:
                        got[owner].append(q)
                    p = q[1] + 1
            out = []
            for r in cache:
                if r in got:
                    out += sorted(got[r])
                    c["updates"] += len(got[r])
                    c["invalidations"] += not got[r]
                else:
                    out.append(r)
            c["evictions"] += max(0, len(out) - n)
            self.caches[n] = out[:n]
        self.each("merges", sum(self.inside(b) for b in bounds))
        self.nops += 1
        for n in self.sizes:
            self.c[n]["segments_max"] = max(self.c[n]["segments_max"], self.nsegs)
            # what lets the model work: every entry is a run of the current table
            if self.nops % 50 == 0:
                assert all(self.run(r[0]) == r for r in self.caches[n])


def oracle(records, sizes, blb_entries=0, blb_runs=4):
    o = Oracle(sizes, blb_entries, blb_runs)
    for r in records:
        o.op(*r)
    return o.c


def random_records(seed, n, *, window=512, top_share=0.15, max_range=48):
    """Valid records: mostly in [0, window), some within 300 bytes of 2**64 - 1."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        kind = int(rng.choice(4, p=[0.35, 0.25, 0.25, 0.15]))
        near_top = rng.random() < top_share
        if kind in (LOAD, STORE):
            length = int(rng.integers(1, 9))
            flags = 0
        else:
            length = int(rng.integers(1, max_range + 1)) if rng.random() < 0.9 else int(rng.integers(1, 200))
            flags = int(rng.integers(1, 4))
        if near_top:
            addr = TOP - int(rng.integers(0, 300))
            if rng.random() < 0.2:
                addr = TOP - length + 1                      # ends exactly at the top
            length = min(length, TOP - addr + 1)
        else:
            addr = int(rng.integers(0, window))
        out.append((kind, flags, addr, length))
    return out


ORACLE_SIZES = (1, 2, 4, 16, 64)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_equals_the_oracle_on_random_traces(seed):
    records = random_records(seed, 2500)
    want = oracle(records, ORACLE_SIZES)
    trace = ops(records)
    for n in ORACLE_SIZES:
        assert watch.replay(trace, n) == want[n], f"seed {seed}, {n} entries"
    # the traces exercise what they should
    c = want[4]
    assert c["hits"] and c["evictions"] and c["invalidations"] and c["triggers"]
    assert c["splits"] and c["merges"] and c["segments_max"] > 10


def test_replay_equals_the_oracle_with_sparse_watches():
    # few sets, many accesses: long-lived runs, deep reuse, gaps that span the space
    rng = np.random.default_rng(7)
    records = random_records(8, 600, window=4096, max_range=16)
    records += [(int(rng.integers(0, 2)), 0, int(rng.integers(0, 4096)), int(rng.integers(1, 9)))
                for _ in range(1500)]
    rng.shuffle(records)
    want = oracle(records, ORACLE_SIZES)
    for n in ORACLE_SIZES:
        assert watch.replay(ops(records), n) == want[n], f"{n} entries"


def test_replay_equals_the_oracle_with_many_segments():
    # thousands of segments (the model keeps them in blocks of a few hundred): blocks split,
    # fill up, empty and join; then sets and clears spanning hundreds of segments at once
    records = random_records(21, 16_000, window=32_768, top_share=0.02, max_range=6)
    rng = np.random.default_rng(22)
    for _ in range(300):
        kind = int(rng.choice([LOAD, STORE, SET, CLEAR], p=[0.3, 0.3, 0.2, 0.2]))
        addr = int(rng.integers(0, 32_768))
        length = int(rng.integers(1, 9)) if kind <= STORE else int(rng.integers(100, 3000))
        records.append((kind, 0 if kind <= STORE else int(rng.integers(1, 4)), addr, length))
    records += random_records(23, 3000, window=32_768, top_share=0.02, max_range=6)
    want = oracle(records, (1, 16, 64))
    assert want[16]["segments_max"] > 2000
    for n in (1, 16, 64):
        assert watch.replay(ops(records), n) == want[n], f"{n} entries"


SWEEP_SIZES = [1, 2, 3, 4, 5, 8, 16, 31, 64, 100, 256, 1024, 131072]


@pytest.mark.parametrize("seed,n,window,max_range", [
    (11, 20_000, 512, 48),          # busy table, many invalidations
    (12, 20_000, 4096, 8),          # many small segments, deep stacks
    (13, 5_000, 64, 200),           # few runs, constant churn
    (14, 30_000, 100_000, 4),       # thousands of runs: large sizes differ
])
def test_sweep_rows_equal_replay(seed, n, window, max_range):
    trace = ops(random_records(seed, n, window=window, max_range=max_range))
    df = watch.sweep(trace, SWEEP_SIZES)
    assert list(df.columns) == list(watch.COUNTERS)
    assert list(df.index) == SWEEP_SIZES
    for size in SWEEP_SIZES:
        assert df.loc[size].to_dict() == watch.replay(trace, size), f"seed {seed}, {size} entries"
    # hits grow with the size, evictions shrink
    assert (np.diff(df["hits"].to_numpy()) >= 0).all()
    assert (np.diff(df["evictions"].to_numpy()) <= 0).all()


def test_sweep_when_a_merge_frees_an_entry():
    # A = [100, 109] and B = [200, 209] are watched; a set of the gap between joins them into
    # Q = [100, 209], written in the place of the more recently used of the two (B); at size
    # 2, which held both, A's entry is then free: 300's run comes in without an eviction.
    t = ops([(SET, READ, 100, 10), (SET, READ, 200, 10),
             (LOAD, 0, 100, 1), (LOAD, 0, 200, 1),                     # [B, A]
             (SET, READ, 110, 90),                                     # [Q] and a free entry
             (LOAD, 0, 300, 1), (LOAD, 0, 150, 1), (LOAD, 0, 105, 1)])
    df = watch.sweep(t, [1, 2, 3, 4])
    for size in (1, 2, 3, 4):
        assert df.loc[size].to_dict() == watch.replay(t, size)
    cols = ["hits", "misses", "evictions", "invalidations", "updates"]
    # size 1: B evicted A; Q replaces B; 300 evicts Q, 150 brings it back, 105 hits it
    assert df.loc[1, cols].tolist() == [1, 4, 3, 0, 1]
    # size 2: A's entry dropped (an invalidation), 300 takes it; 150 and 105 hit Q
    assert df.loc[2, cols].tolist() == [2, 3, 0, 1, 1]
    assert df.loc[4, cols].tolist() == [2, 3, 0, 1, 1]
    want = oracle([tuple(int(x) for x in (r["kind"], r["flags"], r["addr"], r["len"])) for r in t], [1, 2, 3, 4])
    for size in (1, 2, 3, 4):
        assert df.loc[size].to_dict() == want[size]


def test_a_split_writes_its_runs_in_place():
    # a clear inside a cached run cuts it in three; all three are written where it was (the
    # lowest address first), so the accesses beside the cleared bytes still hit
    t = ops([(SET, RW, 100, 100), (LOAD, 0, 150, 1), (CLEAR, READ, 150, 8),
             (LOAD, 0, 158, 1), (LOAD, 0, 150, 1), (LOAD, 0, 120, 1)])
    df = watch.sweep(t, [1, 2, 3, 16])
    cols = ["lookups", "hits", "misses", "evictions", "updates", "triggers", "splits"]
    assert df.loc[3, cols].tolist() == [4, 3, 1, 0, 3, 3, 2]
    assert df.loc[16].to_dict() == df.loc[3].to_dict()
    # size 1 keeps [100, 149] only (the other two evicted at once), size 2 also [150, 157]:
    # each later look-up then misses
    assert df.loc[1, ["hits", "misses", "evictions"]].tolist() == [0, 4, 5]
    assert df.loc[2, ["hits", "misses", "evictions"]].tolist() == [0, 4, 4]
    for size in (1, 2, 3, 16):
        assert df.loc[size].to_dict() == watch.replay(t, size)


# ---------------------------------------------------------------- the BLB, random traces

def dense_records(seed, n, *, top_share=0.4, lines=4):
    """Valid records crowding a few 64-byte lines (at address 0 and at the top of the address
    space) with 1-2 byte watches and runs of every-other-byte ones, so that lines become
    dense, with some large sets and clears over them; accesses often straddle two lines."""
    rng = np.random.default_rng(seed)
    span = lines * LINE
    out = []
    while len(out) < n:
        base = TOP + 1 - span if rng.random() < top_share else 0
        u = rng.random()
        if u < 0.45:                                            # an access
            kind, flags, length = int(rng.integers(0, 2)), 0, int(rng.integers(1, 9))
            if rng.random() < 0.35:                             # across a line's end
                off = int(rng.integers(1, lines + 1)) * LINE - int(rng.integers(1, length + 1))
            else:
                off = int(rng.integers(-16, span + 16))
            recs = [(kind, flags, off, length)]
        elif u < 0.88:                                          # small watches, or their end
            kind = SET if u < 0.8 else CLEAR
            flags = int(rng.integers(1, 4))
            off = int(rng.integers(-8, span + 8))
            if rng.random() < 0.25:                             # every other (or third) byte
                step = int(rng.integers(2, 4))
                recs = [(kind, flags, off + step * k, 1) for k in range(int(rng.integers(4, 20)))]
            else:
                recs = [(kind, flags, off, int(rng.integers(1, 3)))]
        else:                                                   # large ranges over the lines
            kind = SET if rng.random() < 0.5 else CLEAR
            recs = [(kind, int(rng.integers(1, 4)), int(rng.integers(-100, span)), int(rng.integers(32, 400)))]
        for kind, flags, off, length in recs:
            addr = min(max(base + off, 0), TOP)
            out.append((kind, flags, addr, min(length, TOP - addr + 1)))
    return out[:n]


BLB_RC_SIZES = [1, 2, 3, 4, 8, 16, 64, 256, 1024]
BLB_ORACLE_SIZES = (1, 4, 16, 1024)


@pytest.mark.parametrize("seed", [41, 42])
@pytest.mark.parametrize("blb_runs", [2, 4, 16])
@pytest.mark.parametrize("blb_entries", [0, 1, 2, 8, 64])
def test_blb_replay_equals_the_oracle_and_the_sweep(blb_entries, blb_runs, seed):
    records = dense_records(seed, 1500)
    o = Oracle(BLB_ORACLE_SIZES, blb_entries, blb_runs)
    for r in records:
        o.op(*r)
    trace = ops(records)
    df = watch.sweep(trace, BLB_RC_SIZES, blb_entries, blb_runs)
    assert list(df.columns) == list(watch.COUNTERS)
    for n in BLB_RC_SIZES:
        got = watch.replay(trace, n, blb_entries, blb_runs)
        assert df.loc[n].to_dict() == got, f"sweep row {n}"
        if n in BLB_ORACLE_SIZES:
            assert got == o.c[n], f"{n} entries"
    # the BLB's counters do not depend on the range cache
    assert (df[BLB_COUNTERS] == df[BLB_COUNTERS].iloc[0]).all().all()
    c = o.c[4]
    if blb_entries == 0:
        assert c == oracle(records, [4])[4] and not any(c[k] for k in BLB_COUNTERS)
        return
    # the traces exercise what they should: dense lines come and go, accesses hand over from
    # a run to a dense line, and the range cache still works for the rest
    assert c["blb_hits"] and c["blb_misses"] and c["blb_updates"] and o.handoffs
    assert c["lookups"] and c["hits"] and c["invalidations"] and c["triggers"]
    assert c["blb_lookups"] == c["blb_hits"] + c["blb_misses"]
    if blb_entries <= 2:
        assert c["blb_evictions"]


def test_blb_replay_equals_the_oracle_with_many_lines():
    # dense lines spread over a few kilobytes: more lines than the BLB holds, deep reuse
    records = dense_records(43, 4000, lines=48, top_share=0.2)
    for blb_entries, blb_runs in ((8, 4), (24, 2), (3, 16)):
        want = oracle(records, [1, 16, 1024], blb_entries, blb_runs)
        df = watch.sweep(ops(records), [1, 16, 1024], blb_entries, blb_runs)
        for n in (1, 16, 1024):
            assert watch.replay(ops(records), n, blb_entries, blb_runs) == want[n] == df.loc[n].to_dict()
        assert want[16]["blb_evictions"] and want[16]["blb_hits"]


# ---------------------------------------------------------------- hand-made cases

def counters(records, n=16):
    return watch.replay(ops(records), n)


def test_load_in_a_read_watch_triggers_a_store_does_not():
    c = counters([(SET, READ, 100, 100), (LOAD, 0, 150, 4)])
    assert (c["lookups"], c["misses"], c["handler_calls"], c["hits"], c["triggers"]) == (1, 1, 1, 0, 1)
    assert (c["sets"], c["loads"], c["segments_max"], c["splits"], c["merges"]) == (1, 1, 1, 0, 0)
    c = counters([(SET, READ, 100, 100), (STORE, 0, 150, 4)])
    assert (c["lookups"], c["misses"], c["triggers"], c["stores"]) == (1, 1, 0, 1)
    c = counters([(SET, READ, 100, 100), (LOAD, 0, 150, 4), (STORE, 0, 160, 8)])
    assert (c["lookups"], c["hits"], c["misses"], c["triggers"]) == (2, 1, 1, 1)


def test_an_access_straddling_a_segment_edge_needs_two_lookups():
    c = counters([(SET, WRITE, 100, 100), (STORE, 0, 198, 4)])          # [100,199] then the gap
    assert (c["lookups"], c["misses"], c["triggers"]) == (2, 2, 1)
    c = counters([(SET, WRITE, 100, 100), (LOAD, 0, 96, 8)])            # the gap then [100,199]
    assert (c["lookups"], c["misses"], c["triggers"]) == (2, 2, 0)
    c = counters([(SET, READ, 100, 2), (SET, WRITE, 102, 2), (LOAD, 0, 99, 6)])  # gap, R, W, gap
    assert (c["lookups"], c["triggers"], c["segments_max"]) == (4, 1, 2)
    c = counters([(LOAD, 0, 0, 8), (LOAD, 0, TOP - 7, 8)])              # one run: the whole space
    assert (c["lookups"], c["hits"], c["misses"]) == (2, 1, 1)


def test_splits_and_merges():
    c = counters([(SET, READ, 100, 100), (SET, READ, 120, 10)])         # inside, same bits
    assert (c["splits"], c["merges"], c["segments_max"]) == (2, 2, 1)
    c = counters([(SET, READ, 100, 100), (SET, WRITE, 120, 10)])        # inside, other bits
    assert (c["splits"], c["merges"], c["segments_max"]) == (2, 0, 3)
    c = counters([(SET, READ, 100, 100), (SET, READ, 200, 10)])         # extends it upwards
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 1, 1)
    c = counters([(SET, READ, 100, 100), (SET, READ, 90, 10)])          # and downwards
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 1, 1)
    c = counters([(SET, READ, 100, 100), (SET, WRITE, 200, 10)])        # adjacent, other bits
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 0, 2)
    c = counters([(SET, READ, 100, 100), (CLEAR, READ, 140, 10)])       # a hole in the middle
    assert (c["splits"], c["merges"], c["segments_max"]) == (2, 0, 2)
    c = counters([(SET, READ, 100, 10), (SET, READ, 120, 10), (SET, READ, 110, 10)])  # fills a gap
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 2, 2)
    c = counters([(SET, RW, 100, 100), (CLEAR, WRITE, 100, 100)])       # same range, bits change
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 0, 1)
    # merges on a set that covers many segments of other bits
    c = counters([(SET, READ, 0, 1), (SET, READ, 2, 1), (SET, READ, 4, 1), (SET, WRITE, 0, 5)])
    assert (c["splits"], c["merges"], c["segments_max"]) == (0, 0, 5)


def test_top_of_the_address_space():
    c = counters([(SET, WRITE, TOP - 7, 8), (STORE, 0, TOP - 3, 4), (LOAD, 0, TOP, 1)])
    assert (c["triggers"], c["lookups"], c["hits"], c["segments_max"], c["splits"]) == (1, 2, 1, 1, 0)
    c = counters([(SET, WRITE, TOP - 7, 8), (CLEAR, WRITE, TOP, 1)])   # only boundary s counts
    assert (c["splits"], c["merges"], c["segments_max"]) == (1, 0, 1)
    c = counters([(SET, WRITE, TOP - 7, 8), (SET, WRITE, TOP, 1)])
    assert (c["splits"], c["merges"]) == (1, 1)
    # the whole address space in two operations (len cannot be 2**64): one segment
    c = counters([(SET, RW, 0, TOP), (SET, RW, TOP, 1), (LOAD, 0, TOP - 3, 4), (STORE, 0, 0, 8)])
    assert (c["merges"], c["segments_max"], c["lookups"], c["hits"], c["triggers"]) == (1, 1, 2, 1, 2)
    # [0, TOP] cached, cut into [0, TOP - 1] (W) and [TOP] (RW) in place, then those two into
    # [0] (W), [1, TOP - 1] (none) and [TOP] (R): the second load of 5 hits
    c = counters([(SET, RW, 0, TOP), (SET, RW, TOP, 1), (LOAD, 0, 5, 1), (CLEAR, READ, 0, TOP),
                  (CLEAR, WRITE, 1, TOP), (LOAD, 0, 5, 1)])
    assert (c["updates"], c["invalidations"], c["misses"], c["hits"], c["triggers"], c["splits"]) == (5, 0, 1, 1, 1, 2)


def test_evictions_and_updates_in_place():
    t = [(SET, READ, 100, 100), (LOAD, 0, 50, 1), (LOAD, 0, 150, 1), (LOAD, 0, 50, 1), (LOAD, 0, 150, 1)]
    c = counters(t, 1)
    assert (c["misses"], c["evictions"], c["hits"]) == (4, 3, 0)
    c = counters(t, 2)
    assert (c["misses"], c["evictions"], c["hits"]) == (2, 0, 2)
    # a set far away leaves the cached run alone; one beside it (within one byte) writes it
    # again in place (its run is unchanged here), so it still hits
    t = [(SET, READ, 100, 100), (LOAD, 0, 150, 1), (SET, WRITE, 300, 10), (LOAD, 0, 150, 1),
         (SET, WRITE, 200, 1), (LOAD, 0, 150, 1)]
    c = counters(t)
    assert (c["misses"], c["hits"], c["updates"], c["invalidations"]) == (1, 2, 1, 0)
    assert watch.sweep(ops(t), [1, 16]).loc[16].to_dict() == c
    # gap runs too: [0, 99] and [100, 199] touch [98, 100]; [200, 2**64 - 1] does not
    c = counters([(SET, READ, 100, 100), (LOAD, 0, 50, 1), (LOAD, 0, 150, 1), (LOAD, 0, 250, 1),
                  (CLEAR, WRITE, 99, 1), (LOAD, 0, 250, 1), (LOAD, 0, 50, 1)])
    assert (c["updates"], c["invalidations"], c["hits"]) == (2, 0, 2)


def test_clearing_what_was_never_set_changes_nothing():
    c = counters([(CLEAR, READ, 100, 100), (CLEAR, RW, 0, TOP), (CLEAR, WRITE, TOP, 1)])
    assert c == dict.fromkeys(watch.COUNTERS, 0) | {"clears": 3}
    # and a clear of bits a segment does not have leaves it whole
    c = counters([(SET, READ, 100, 100), (CLEAR, WRITE, 120, 10), (LOAD, 0, 150, 1), (LOAD, 0, 100, 8)])
    assert (c["splits"], c["merges"], c["segments_max"], c["hits"], c["misses"]) == (2, 2, 1, 1, 1)


def test_empty_trace():
    assert watch.replay(ops([]), 4) == dict.fromkeys(watch.COUNTERS, 0)
    df = watch.sweep(ops([]), [1, 8])
    assert (df.to_numpy() == 0).all() and list(df.index) == [1, 8]


def test_op_dtype_matches_the_c_struct():
    assert watch.OP_DTYPE.itemsize == 24
    assert [watch.OP_DTYPE.fields[f][1] for f in ("kind", "flags", "pad", "addr", "len")] == [0, 1, 2, 8, 16]
    t = ops([(SET, RW, TOP, 1)])
    assert t.tobytes() == bytes([SET, RW]) + bytes(6) + TOP.to_bytes(8, "little") + (1).to_bytes(8, "little")


# ---------------------------------------------------------------- the BLB, by hand

def blb(records, blb_entries, blb_runs, n=16, *, with_oracle=True):
    """replay's counters, after checking that the sweep's row and the oracle (which walks a
    set's bytes one by one: not for huge ranges) say the same."""
    c = watch.replay(ops(records), n, blb_entries, blb_runs)
    assert watch.sweep(ops(records), [1, n], blb_entries, blb_runs).loc[n].to_dict() == c
    if with_oracle:
        assert oracle(records, [n], blb_entries, blb_runs)[n] == c
    return c


def pick(c, names):
    return tuple(c[k] for k in names.split())


RC = "lookups hits misses handler_calls"
BLB = "blb_lookups blb_hits blb_misses blb_evictions blb_updates"

# line [0x100, 0x13f]: gap [0, 0x101], 0x102 (R), gap, 0x106 (R), gap [0x107, ...]: 5 runs
FIVE_RUNS = [(SET, READ, 0x102, 1), (SET, READ, 0x106, 1)]
# line [0x140, 0x17f]: gap [.., 0x141], 0x142 (R), gap, 0x146 (W), gap, 0x14a (R), gap: 7 runs;
# line [0x100, 0x13f] alone lies in the gap [0, 0x141]: 1 run
SEVEN_RUNS = [(SET, READ, 0x142, 1), (SET, WRITE, 0x146, 1), (SET, READ, 0x14a, 1)]


def test_blb_a_dense_line_goes_to_the_blb():
    t = FIVE_RUNS + [(LOAD, 0, 0x108, 4), (LOAD, 0, 0x108, 4), (LOAD, 0, 0x101, 2)]
    for runs in (2, 4, 5):                                  # 5 runs: dense up to T = 5
        c = blb(t, 1, runs)
        assert pick(c, BLB) == (3, 2, 1, 0, 0), runs        # a miss, then hits
        assert pick(c, RC) == (0, 0, 0, 0) and c["triggers"] == 1
    # T = 6 or 8: not dense, the same accesses go to the range cache: [0x107, ...] misses
    # then hits; [0, 0x101] and [0x102, 0x102] miss (the last load triggers)
    for runs in (6, 8):
        c = blb(t, 1, runs)
        assert pick(c, BLB) == (0, 0, 0, 0, 0) and pick(c, RC) == (4, 1, 3, 3) and c["triggers"] == 1
        assert c == counters(t) == blb(t, 0, 4)             # as without a BLB


def test_blb_density_counts_runs_not_segments():
    # two adjacent segments filling line [0x200, 0x23f]: 2 runs (their boundary counts once;
    # 0x240, where the second ends, is the next line's)
    t = [(SET, READ, 0x200, 32), (SET, WRITE, 0x220, 32), (LOAD, 0, 0x21e, 4)]
    assert pick(blb(t, 1, 2), "blb_lookups lookups triggers") == (1, 0, 1)
    assert pick(blb(t, 1, 3), "blb_lookups lookups triggers") == (0, 2, 1)
    # segments at both ends of line [0x240, 0x27f] and a gap between: 3 runs
    t = [(SET, READ, 0x240, 1), (SET, READ, 0x27f, 1), (STORE, 0, 0x250, 8)]
    assert pick(blb(t, 1, 3), "blb_lookups lookups") == (1, 0)
    assert pick(blb(t, 1, 4), "blb_lookups lookups") == (0, 1)
    # one segment over the whole line, or nothing at all: 1 run, never dense
    for t in ([(SET, READ, 0x1f0, 100), (LOAD, 0, 0x210, 8)], [(LOAD, 0, 0x210, 8)]):
        assert pick(blb(t, 1, 2), "blb_lookups lookups") == (0, 1)


def test_blb_an_access_crossing_into_a_dense_line():
    t = SEVEN_RUNS + [
        (LOAD, 0, 0x13C, 8),    # [0x13c, 0x143]: run [0, 0x141] (miss), which reaches into the
                                # dense line: the rest is the line's (BLB miss; 0x142 triggers)
        (STORE, 0, 0x17C, 8),   # [0x17c, 0x183]: the line (BLB hit), then run [0x14b, ...] (miss)
        (LOAD, 0, 0x138, 8),    # [0x138, 0x13f]: run [0, 0x141] only (hit): ends in its line
    ]
    c = blb(t, 2, 4)
    assert pick(c, RC) == (3, 1, 2, 2) and pick(c, BLB) == (2, 1, 1, 0, 0) and c["triggers"] == 1
    # without a BLB (or with line 0x140 below the threshold): [0, 0x141], 0x142 and
    # [0x143, 0x145], then [0x14b, ...], then [0, 0x141] again
    for c in (counters(t), blb(t, 2, 8)):
        assert pick(c, RC) == (5, 1, 4, 4) and pick(c, BLB) == (0,) * 5 and c["triggers"] == 1


def test_blb_evictions():
    t = FIVE_RUNS + SEVEN_RUNS + [(LOAD, 0, 0x108, 1), (LOAD, 0, 0x150, 1), (LOAD, 0, 0x108, 1)]
    assert pick(blb(t, 1, 4), BLB) == (3, 0, 3, 2, 0)
    assert pick(blb(t, 2, 4), BLB) == (3, 1, 2, 0, 0)


def test_blb_a_set_or_clear_writes_its_lines_in_place():
    look = (LOAD, 0, 0x150, 1)                  # line [0x140, 0x17f] (7 runs throughout)
    t = SEVEN_RUNS + [
        look,                                   # miss
        (SET, WRITE, 0x181, 4), look,           # [0x181, 0x184]: the next line only; a hit
        (SET, WRITE, 0x17f, 1), look,           # the line's last byte: written in place; a hit
        (SET, WRITE, 0x13C, 8), look,           # across both lines: one held; a hit
        (CLEAR, READ, 0x130, 16), look,         # [0x130, 0x13f]: the line before only; a hit
        (CLEAR, WRITE, 0x100, 0x100), look,     # four lines, one held; a hit
    ]
    c = blb(t, 4, 4)
    assert pick(c, BLB) == (6, 5, 1, 0, 3) and c["lookups"] == 0


def test_blb_at_the_top_of_the_address_space():
    # the last line [TOP - 63, TOP]: gap, TOP - 60, gap, TOP - 56, gap, TOP - 52, gap: 7 runs
    t = [(SET, READ, TOP - 60, 1), (SET, READ, TOP - 56, 1), (SET, READ, TOP - 52, 1),
         (LOAD, 0, TOP - 7, 8),     # the line (BLB miss), which ends at TOP: done
         (LOAD, 0, TOP - 67, 8),    # run [0, TOP - 61] (miss) reaches into the line: BLB hit;
                                    # TOP - 60 triggers
         (SET, WRITE, TOP, 1),      # the line's bits, written in place
         (LOAD, 0, TOP, 1),         # BLB hit (8 runs now), no trigger
         (STORE, 0, TOP, 1)]        # BLB hit, triggers
    c = blb(t, 4, 4)
    assert pick(c, BLB) == (4, 3, 1, 0, 1) and pick(c, RC) == (1, 0, 1, 1) and c["triggers"] == 2
    # and at the bottom: a set at 0 writes line 0
    t = [(SET, READ, 2, 1), (SET, READ, 5, 1), (LOAD, 0, 0, 8), (SET, WRITE, 0, 1), (LOAD, 0, 0, 8)]
    assert pick(blb(t, 4, 4), BLB) == (2, 1, 1, 0, 1)


def test_blb_a_set_over_the_whole_space_writes_every_line():
    # the range spans 2**58 lines: every entry is written, found by walking the BLB, not the
    # lines
    lines = [0x1000 * k for k in range(5)] + [TOP - 63]
    t = [(SET, READ, x + 1, 1) for x in lines] + [(LOAD, 0, x, 1) for x in lines] + [(CLEAR, WRITE, 0, TOP)]
    assert pick(blb(t, 4, 3, with_oracle=False), BLB) == (6, 0, 6, 2, 4)
    # with 8 entries: 6 misses, 6 lines written, 6 hits; then a clear of [0x1000, 0x2000]
    # (of nothing) writes lines 0x1000 and 0x2000, and the next round hits all 6 again
    t += [(LOAD, 0, x, 1) for x in lines]
    t += [(CLEAR, WRITE, 0x1000, 0x1001)] + [(LOAD, 0, x, 1) for x in lines]
    assert pick(blb(t, 8, 3, with_oracle=False), BLB) == (18, 12, 6, 0, 6 + 2)


def test_blb_counters_are_zero_without_one():
    t = ops(dense_records(44, 500))
    c = watch.replay(t, 8)
    assert watch.COUNTERS[-5:] == tuple(BLB_COUNTERS) and not any(c[k] for k in BLB_COUNTERS)
    assert watch.replay(t, 8, 0, 2) == c == watch.replay(t, 8, blb_entries=0, blb_runs=64)
    # a threshold above a line's 64 runs: never dense
    assert watch.replay(t, 8, 16, 65) == c == watch.replay(t, 8, 16, 10**9)


# ---------------------------------------------------------------- bad input

BAD = [
    ((LOAD, 0, 100, 0), "len is 0"),
    ((SET, READ, 100, 0), "len is 0"),
    ((SET, READ, TOP, 2), "wraps"),
    ((CLEAR, WRITE, 2, TOP), "wraps"),
    ((STORE, 0, TOP - 2, 4), "wraps"),
    ((LOAD, 0, 100, 9), "longer than 8"),
    ((SET, 0, 100, 4), "flags"),
    ((CLEAR, 4, 100, 4), "flags"),
    ((SET, 255, 100, 4), "flags"),
    ((4, 0, 100, 4), "unknown kind"),
    ((255, 1, 100, 4), "unknown kind"),
]


@pytest.mark.parametrize("record,why", BAD)
def test_an_invalid_record_is_named(record, why):
    good = [(SET, READ, 100, 8), (LOAD, 0, 100, 8), (CLEAR, READ, 100, 8)]
    for at in (0, 3):
        t = ops(good[:at] + [record] + good)
        for run in (lambda: watch.replay(t, 4), lambda: watch.sweep(t, [1, 4])):
            with pytest.raises(TraceError, match=why) as err:
                run()
            assert err.value.index == at and f"record {at}:" in str(err.value)


def test_records_at_the_limits_are_valid():
    c = counters([(SET, READ, TOP, 1), (SET, WRITE, 0, TOP), (LOAD, 0, TOP - 7, 8), (STORE, 0, 0, 8),
                  (LOAD, 0x34, 0, 8), (STORE, 0xFF, TOP, 1)])   # an access's flags are not looked at
    assert c["loads"] == 2 and c["stores"] == 2


def test_bad_sizes():
    t = ops([(LOAD, 0, 0, 1)])
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError):
            watch.replay(t, bad)
    for bad in ([0], [4, -2], [2.0], [True]):
        with pytest.raises(ValueError):
            watch.sweep(t, bad)
    assert watch.replay(t, np.int64(3))["misses"] == 1
    assert watch.replay(t, 2**62)["misses"] == 1


def test_bad_blb_parameters():
    t = ops([(LOAD, 0, 0, 1)])
    for bad in (-1, 1.5, True, np.bool_(False), None, "4"):
        with pytest.raises(ValueError, match="blb_entries must be an integer >= 0"):
            watch.replay(t, 4, bad)
        with pytest.raises(ValueError, match="blb_entries must be an integer >= 0"):
            watch.sweep(t, [4], blb_entries=bad)
    for bad in (1, 0, -4, 2.0, True, None):
        with pytest.raises(ValueError, match="blb_runs must be an integer >= 2"):
            watch.replay(t, 4, 8, bad)
        with pytest.raises(ValueError, match="blb_runs must be an integer >= 2"):
            watch.sweep(t, [4], blb_runs=bad)
    # checked before the trace, and whether or not there is a BLB
    with pytest.raises(ValueError, match="blb_runs"):
        watch.replay(ops([(LOAD, 0, 0, 9)]), 4, 0, 1)
    # numpy integers and huge sizes are fine
    assert watch.replay(t, 4, np.int64(2), np.uint8(2)) == watch.replay(t, 4, 2**70, 2)


def test_the_segment_cap(monkeypatch):
    monkeypatch.setattr(watch, "MAX_SEGMENTS", 3)
    t = [(SET, READ, 10 * i, 3) for i in range(3)] + [(LOAD, 0, 0, 1)]
    assert counters(t)["segments_max"] == 3                       # at the cap: fine
    # an operation that would need a 4th segment fails, whichever way it needs it
    for extra in [(SET, READ, 100, 2), (CLEAR, READ, 21, 1), (SET, WRITE, 0, 25)]:
        for run in (lambda: watch.replay(ops(t + [extra]), 2), lambda: watch.sweep(ops(t + [extra]), [2])):
            with pytest.raises(TraceError, match="3 segments.*cap") as err:
                run()
            assert err.value.index == 4
    # one that merges or stays within the cap is fine
    c = counters(t + [(SET, READ, 2, 8), (CLEAR, READ, 20, 3), (SET, READ, 0, 30)])
    assert (c["segments_max"], c["splits"], c["merges"]) == (3, 1, 2)


def test_the_default_cap_is_2_to_the_24():
    assert watch.MAX_SEGMENTS == 2**24


# ---------------------------------------------------------------- scale

def test_a_million_watches():
    # a million separate watchpoints set in random order (the table's worst case for shifting)
    n = 1_000_000
    rng = np.random.default_rng(5)
    t = np.zeros(n + 2000, watch.OP_DTYPE)
    t["kind"][:n] = SET
    t["flags"][:n] = np.arange(n) % 3 + 1
    t["addr"][:n] = rng.permutation(n).astype(np.uint64) * np.uint64(4096)
    t["len"][:n] = 64
    # then accesses across the ends of the first thousand watched pages' segments
    t["kind"][n:] = rng.integers(0, 2, 2000)
    t["addr"][n:] = rng.integers(0, 1000, 2000).astype(np.uint64) * np.uint64(4096) + np.uint64(60)
    t["len"][n:] = 8
    start = time.perf_counter()
    c = watch.replay(t, 64)
    took = time.perf_counter() - start
    assert c["sets"] == n and c["segments_max"] == n and c["splits"] == c["merges"] == 0
    assert c["lookups"] == 4000 and c["triggers"] > 0 and c["invalidations"] == 0
    assert took < 10, f"replay of a million sets took {took:.1f} s"
    # the sweep on a quarter of it
    part = np.concatenate([t[:n // 4], t[n:]])
    df = watch.sweep(part, [1, 64, 131072])
    for size in (1, 64, 131072):
        assert df.loc[size].to_dict() == watch.replay(part, size)
