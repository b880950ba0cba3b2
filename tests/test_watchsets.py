"""FastTrack's read/write-set checks on per-thread watchpoint units (fasttrack mode=watchsets):
the race-detector analysis of the unlimited-watchpoints paper.

Each guest thread has a unit of its own (wb_watchset: the engine's range table, range cache and
bitmap lookaside buffer) watching the bytes whose next access by that thread the detector must
see; the accesses no unit triggers on are skipped. The claim is exactness: the detector then
does everything full mode does, so the race records are the same, record for record, while
far fewer accesses reach it. The units' counters must add up with the detector's.
"""
from __future__ import annotations

import subprocess

import pytest

from conftest import asan_wbrun

from workbench import Machine, available_tiers, guests
from workbench.errors import ConfigError

TIERS = available_tiers()
SCHEDULES = ["deterministic", "parallel"]
SETS = {"fasttrack": {"mode": "watchsets"}}
FULL = {"fasttrack": {"mode": "full"}}


def run(options, prog, args, *, tier=None, schedule="deterministic"):
    r = Machine(tier=tier or TIERS[-1], schedule=schedule, clients=["fasttrack"],
                client_options=options).run(prog, args, capture=True)
    assert r.ok, (r.reason, r.message, r.stderr)
    return r


def records(r):
    if r.fasttrack["race_pairs"] == 0:
        return []
    ds = r.events("fasttrack")
    cols = ["addr", "prev_pc", "cur_pc", "count", "time", "prev_thread", "cur_thread", "prev_write", "cur_write"]
    return [tuple(int(ds[c].values[i]) for c in cols) for i in range(ds.sizes[next(iter(ds.sizes))])]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("prog, args", [("races", ["all_racy", "300"]), ("races", ["late", "400"]),
                                        ("races", ["all_clean", "300"]), ("racy", ["3", "2000"]),
                                        ("psum", ["4", "20000"]), ("workq", ["2", "3", "500"])])
def test_the_sets_find_exactly_what_full_mode_finds(prog, args, tier):
    """Deterministic schedule: the same interleaving, so every race record (pcs, threads,
    detections, first time) must be the same as full mode's."""
    full, sets = run(FULL, prog, args, tier=tier), run(SETS, prog, args, tier=tier)
    assert sets.stdout == full.stdout
    assert records(sets) == records(full)
    f, s = full.fasttrack, sets.fasttrack
    assert s["watchsets"] == 1 and f["watchsets"] == 0 and f["set_skips"] == 0
    assert (s["races"], s["race_pairs"], s["syncs"]) == (f["races"], f["race_pairs"], f["syncs"])
    # every access full mode analysed was either skipped by its thread's unit or analysed
    assert s["reads"] + s["writes"] + s["set_skips"] == f["reads"] + f["writes"]
    assert s["in_libc"] == f["in_libc"]
    # ... and the skipped ones were all same-epoch repeats the detector would have dropped
    assert 0 < s["set_skips"] <= f["same_epoch"]
    assert s["same_epoch"] == f["same_epoch"] - s["set_skips"]


def test_the_units_counters_add_up_with_the_detectors():
    r = run(SETS, "racy", ["3", "2000"])
    s = r.fasttrack
    looked = s["unit_loads"] + s["unit_stores"]
    assert looked == s["reads"] + s["writes"] + s["set_skips"]
    assert s["unit_triggers"] == s["reads"] + s["writes"]
    assert s["unit_lookups"] >= looked and s["unit_hits"] + s["unit_misses"] == s["unit_lookups"]
    assert s["unit_clears"] > 0 and s["unit_sets"] > 0 and s["unit_segments_max"] > 1
    # most accesses repeat within an epoch: the units skip them
    assert s["set_skips"] > s["reads"] + s["writes"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_seeded_races_are_found_under_both_schedules(schedule):
    r = run(SETS, "races", ["all_racy", "400"], schedule=schedule)
    ds = r.events("fasttrack")
    fns = {frozenset({str(a).split("+")[0], str(b).split("+")[0]})
           for a, b in zip(ds.prev_symbol.values, ds.cur_symbol.values)}
    for pair in ({"flag_writer", "flag_reader"}, {"hist_worker"}, {"late_first", "late_second"}):
        assert frozenset(pair) in fns, fns


def test_a_small_range_cache_misses_more_and_finds_the_same():
    big = run({"fasttrack": {"mode": "watchsets", "cache": 4096}}, "racy", ["3", "2000"])
    small = run({"fasttrack": {"mode": "watchsets", "cache": 2}}, "racy", ["3", "2000"])
    dense = run({"fasttrack": {"mode": "watchsets", "cache": 2, "blb": 16}}, "racy", ["3", "2000"])
    assert records(small) == records(big) == records(dense)
    # the sets, not the cache, decide what is skipped
    assert small.fasttrack["set_skips"] == big.fasttrack["set_skips"] == dense.fasttrack["set_skips"]
    assert small.fasttrack["unit_misses"] > big.fasttrack["unit_misses"]
    assert small.fasttrack["unit_evictions"] > 0 == big.fasttrack["unit_evictions"]
    # dense lines go to the bitmap lookaside buffer instead of the range cache
    assert dense.fasttrack["unit_blb_lookups"] > 0 == big.fasttrack["unit_blb_lookups"]
    assert dense.fasttrack["unit_lookups"] < small.fasttrack["unit_lookups"]


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="cache"):
        Machine(clients=["fasttrack"], client_options={"fasttrack": {"mode": "watchsets", "cache": 0}})
    with pytest.raises(ConfigError, match="blb"):
        Machine(clients=["fasttrack"], client_options={"fasttrack": {"mode": "watchsets", "blb": 1 << 25}})
    with pytest.raises(ConfigError, match="watchsets"):
        Machine(clients=["fasttrack"], client_options={"fasttrack": {"cache": 8}}).run("psum", ["2", "10"])


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", ["interp", "jit"])
def test_the_sets_under_asan_and_ubsan(tier):
    cmd = [str(asan_wbrun()), "-T", tier, "-P", "parallel", "-S", "-c", "fasttrack:mode=watchsets,cache=8,blb=4",
           str(guests.build("races")), "all_racy", "200"]
    p = subprocess.run(cmd, capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
