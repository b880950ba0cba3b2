"""The barrier profiler (native/src/clients/barrier.c) on a guest whose accesses are known.

workloads/small/objects.c touches its heap objects in a pattern written out below. The
ground-truth run (every object sampled) must report exactly that profile per object; a
sampled run must report, for each object it sampled, the same profile (a subset of the
ground truth) and take faults only for sampled objects; barrier pointers must survive being
stored in memory, realloc, free and read()/write() syscalls; the program's output must not
change. Both tiers, musl and glibc.
"""
from __future__ import annotations

import numpy as np
import pytest

from workbench import Machine, available_tiers, guests

VARIANTS = [v for v in ("musl", "glibc") if v in guests.available_variants()]
INPUT = b"".join(b"line %04d of the input\n" % i for i in range(150))[:4101]

# size -> (bytes_touched, ranges, reads, writes, max_read, max_write, flags)
# flags: 1 written after its first read, 2 freed, 4 reallocated
EXPECTED = {
    16000: (100, [(0, 100)], 100, 100, 99, 99, 2),
    77: (77, [(0, 77)], 0, 77, -1, 76, 2),
    160: (160, [(0, 160)], 40, 41, 159, 159, 1 | 2),
    16: (16, [(0, 16)], 5, 2, 15, 15, 2),          # holder: p, n written; p read 4x, n once
    99: (8, [(0, 8)], 1, 2, 3, 7, 2),              # calloc'd, through the stored pointer
    40: (40, [(0, 40)], 0, 10, -1, 39, 4),         # realloc'd away
    80: (44, [(12, 16), (40, 80)], 1, 10, 15, 79, 2),
    4101: (0, [], 0, 0, -1, -1, 2),                # only syscalls touch it
    12000: (51, [(0, 50), (9000, 9001)], 2, 51, 9000, 9000, 2),  # head, then once far out
}


def _run(variant, tier, **opts):
    name = "objects" if variant == "musl" else "objects-glibc"
    if "every" not in opts:
        opts = {"max_accesses": 0, "per_site": 0, **opts}   # exact profiles
    m = Machine(tier=tier, clients=["barrier"], client_options={"barrier": opts})
    return m.run(guests.build(name), stdin=INPUT, capture=True)


def _profile(run):
    objs = run.records["barrier"]
    ranges = run.records["barrier_touched"]
    out = {}
    for o in objs:
        size = int(o["size"])
        if size not in EXPECTED:
            continue  # the C library's own allocations
        rs = [(int(r["start"]), int(r["end"])) for r in ranges[ranges["id"] == o["id"]]]
        out[size] = (int(o["bytes_touched"]), rs, int(o["reads"]), int(o["writes"]),
                     int(o["max_read"]), int(o["max_write"]), int(o["flags"]) & 7)
    return out


@pytest.mark.parametrize("tier", available_tiers())
@pytest.mark.parametrize("variant", VARIANTS)
def test_ground_truth_profile_is_exact(variant, tier):
    plain = Machine(tier=tier).run(guests.build("objects" if variant == "musl" else "objects-glibc"),
                                   stdin=INPUT, capture=True)
    r = _run(variant, tier, sample_bytes=0)
    assert r.ok, r.message
    assert r.stdout == plain.stdout and r.stdout.startswith(INPUT)   # read()/write() on a barrier buffer
    prof = _profile(r)
    assert prof == EXPECTED
    stats = r.records["barrier_stats"][0]
    objs = r.records["barrier"]
    assert int(stats["stray"]) == 0
    assert int(stats["faults"]) == int(objs["accesses"].sum())
    # allocation sites are in main, and the realloc'd object was sampled again at realloc's site
    sites = {int(o["size"]): int(o["site"]) for o in objs if int(o["size"]) in EXPECTED}
    assert len(set(sites.values())) == len(EXPECTED)


@pytest.mark.parametrize("tier", available_tiers())
def test_sampled_profiles_are_subsets_and_unsampled_objects_never_fault(tier):
    truth = _profile(_run("musl", tier, sample_bytes=0))
    seen = set()
    for interval in (100, 1000, 5000, 20000):
        r = _run("musl", tier, sample_bytes=interval)
        assert r.ok and r.stdout.startswith(INPUT)
        prof = _profile(r)
        for size, p in prof.items():
            assert p == truth[size], (interval, size)
        seen |= set(prof)
        stats = r.records["barrier_stats"][0]
        objs = r.records["barrier"]
        # faults only for sampled objects: every fault is an access of a sampled object
        assert int(stats["faults"]) == int(objs["accesses"].sum()) and int(stats["stray"]) == 0
        assert int(stats["samples"]) == len(objs) <= int(stats["allocations"])
    assert len(seen) >= 3  # the intervals sampled different objects


def test_default_interval_samples_nothing_in_a_small_program():
    r = Machine(clients=["barrier"]).run(guests.build("objects"), stdin=INPUT, capture=True)
    stats = r.records["barrier_stats"][0]
    assert r.ok and int(stats["sample_bytes"]) == 8 << 20
    assert int(stats["samples"]) == 0 and int(stats["faults"]) == 0


def test_bad_options_are_refused():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown option"):
        _run("musl", "interp", every=3)
    with pytest.raises(ConfigError, match="not a number"):
        _run("musl", "interp", sample_bytes="lots")


def test_allocation_sites_are_symbolized():
    r = _run("musl", available_tiers()[-1], sample_bytes=0, log_allocs=1)
    ds = r.events("barrier")
    names = {str(s).split("+")[0] for s in ds.site_symbol.values}
    assert "main" in names                       # our objects are allocated in main
    allocs = r.events("barrier_allocs")
    assert (allocs.site_symbol.values == "?").sum() == 0


@pytest.mark.parametrize("tier", available_tiers())
def test_profiling_stops_and_stays_stopped(tier):
    """K accesses stop an object's profiling; its realloc is not profiled again; a table used
    whole settles (read, written after its first read, 10% touched) before K."""
    sizes = lambda r: sorted(int(s) for s in r.records["barrier"]["size"])  # noqa: E731
    full = _run("musl", tier, sample_bytes=0)
    assert 80 in sizes(full)                                   # the realloc'd array, profiled on
    r = _run("musl", tier, sample_bytes=0, max_accesses=5, settle=0)
    objs = {int(o["size"]): o for o in r.records["barrier"]}
    assert 40 in objs and int(objs[40]["flags"]) & 8 and int(objs[40]["accesses"]) == 5
    assert 80 not in objs                                      # stopped before its realloc
    assert r.stdout == full.stdout
    r = _run("musl", tier, sample_bytes=0, max_accesses=1000)  # settle is on by default
    arr = next(o for o in r.records["barrier"] if int(o["size"]) == 160)
    # 40 writes, 40 reads, then the write of arr[5]: written after init, all bytes touched
    assert int(arr["flags"]) & 8 and int(arr["accesses"]) == 81
