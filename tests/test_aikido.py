"""Per-thread views (the aikido client) and the FastTrack race detector (the fasttrack client,
full and behind the Aikido filter) on our threaded programs.

Ground truth is workloads/threads/races.c: its seeded races must all be found in full mode,
under both schedules and on both tiers, and nothing may be reported in its race-free scenarios
or in our other race-free programs. The filtered mode must find the races on pages that were
shared when they happened and miss the one seeded on a page that became shared late, and the
page events must say why. The views must not change what any program does; the tiers must
agree on everything but how often the interpreter faults; the clients run under ASan/UBSan.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from conftest import asan_wbrun

from workbench import Machine, available_tiers, guests
from workbench.errors import ConfigError
from workbench.events import PAGE_EVENTS

TIERS = available_tiers()
SCHEDULES = ["deterministic", "parallel"]
ITER = "400"
COUNT = {"aikido": {"count": 1}}     # count every access too (off by default: it costs)
#: the seeded races of races.c (its header's table) as unordered pairs of functions: which of
#: the two accesses comes first depends on the interleaving
SEEDED = {
    "flag": {frozenset({"flag_writer", "flag_reader"})},
    "hist": {frozenset({"hist_worker"})},
    "late": {frozenset({"late_first", "late_second"})},
}
#: pairs a mode may also report: the late scenario's progress counter is racy on purpose
ALSO = {"late": {frozenset({"late_wait_post", "late_wait"})}}


def fn(symbol: str) -> str:
    return str(symbol).split("+")[0]


def pairs(run) -> set[frozenset]:
    if run.fasttrack["race_pairs"] == 0:
        return set()
    ds = run.events("fasttrack")
    return {frozenset({fn(a), fn(b)}) for a, b in zip(ds.prev_symbol.values, ds.cur_symbol.values)}


def race_run(mode: str, *, filtered=False, tier=None, schedule="deterministic", prog="races", args=None):
    m = Machine(tier=tier or TIERS[-1], schedule=schedule, clients=["fasttrack"],
                client_options={"fasttrack": {"mode": "filtered" if filtered else "full"}})
    r = m.run(prog, args if args is not None else [mode, ITER], capture=True)
    assert r.ok, (r.reason, r.message, r.stderr)
    return r


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("mode", sorted(SEEDED))
def test_full_mode_finds_every_seeded_race_and_nothing_else(mode, tier, schedule):
    r = race_run(mode, tier=tier, schedule=schedule)
    found = pairs(r)
    assert SEEDED[mode] <= found, f"missed {SEEDED[mode] - found}; found {found}"
    assert found <= SEEDED[mode] | ALSO.get(mode, set()), f"reports outside the seeded races: {found}"
    ds = r.events("fasttrack")
    assert (ds["count"].values >= 1).all() and (ds.prev_thread.values != ds.cur_thread.values).all()
    assert r.fasttrack["races"] == int(ds["count"].values.sum())


@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_no_race_is_reported_in_race_free_programs(filtered, schedule):
    """races.c's clean scenarios (locks, join, release/acquire atomics, adjacent bytes of one
    word, condition variables, barriers) and our other race-free pthread programs."""
    for prog, args in [("races", ["all_clean", ITER]), ("psum", ["4", "20000"]), ("workq", ["2", "3", "500"]),
                       ("syncs", ["4", "10"])]:
        r = race_run("", filtered=filtered, schedule=schedule, prog=prog, args=args)
        assert pairs(r) == set(), f"{prog} {args}: false reports {pairs(r)}"
        assert r.fasttrack["reads"] + r.fasttrack["writes"] > 0 and r.fasttrack["syncs"] > 0


@pytest.mark.parametrize("tier", TIERS)
def test_a_wrapped_call_that_tail_calls_another_returns(tier):
    """musl's pthread_cond_wait tail-calls pthread_cond_timedwait, both wrapped: the inner
    call returns to the wrap return address with the outer frame's return address, which is
    that address again (the interpreter once fetched from it)."""
    r = race_run("", tier=tier, args=["clean_cond", "300"])
    assert pairs(r) == set() and r.fasttrack["syncs"] > 0


def test_filtered_mode_misses_only_the_race_on_a_page_shared_late():
    """flag and hist race on pages both threads share from the start: found behind the filter
    too. late_buf's race is missed: late_first wrote it while it was private to its thread,
    so the detector never saw those writes; the page events show late_second sharing it."""
    for mode in ("flag", "hist"):
        assert SEEDED[mode] <= pairs(race_run(mode, filtered=True))
    full, filt = race_run("late"), race_run("late", filtered=True)
    late = frozenset({"late_first", "late_second"})
    assert late in pairs(full) and late not in pairs(filt)
    ev = filt.events("aikido")
    kinds = [PAGE_EVENTS[int(k)] for k in ev.kind.values]
    syms = [fn(s) for s in ev.symbol.values]
    share = [i for i, (k, s) in enumerate(zip(kinds, syms)) if k == "share" and s == "late_second"]
    assert share, "late_second's store made no page shared"
    page = int(ev.page.values[share[0]])
    touch = [i for i, k in enumerate(kinds) if k == "touch" and int(ev.page.values[i]) == page]
    assert len(touch) == 1 and syms[touch[0]] == "late_first"          # private to late_first first
    assert int(ev.owner.values[share[0]]) == int(ev.thread.values[touch[0]]) != int(ev.thread.values[share[0]])
    assert filt.fasttrack["reads"] + filt.fasttrack["writes"] < full.fasttrack["reads"] + full.fasttrack["writes"]


@pytest.mark.skipif(len(TIERS) < 2, reason="needs both tiers")
@pytest.mark.parametrize("filtered", [False, True])
def test_tiers_agree_under_the_deterministic_schedule(filtered):
    """The interpreter is the JIT's oracle: the same races, counts and page events; only how
    the accesses reach the detector differs (the interpreter faults on every shared access,
    the JIT's marked instructions test the filter inline)."""
    runs = [race_run("all_racy", filtered=filtered, tier=t) for t in ("interp", "jit")]
    a, b = (r.records["fasttrack"] for r in runs)
    assert a.tobytes() == b.tobytes() and len(a) >= 3
    assert runs[0].fasttrack == runs[1].fasttrack
    if filtered:
        skip = {"shared_faults", "retranslations"}
        ka, kb = ({k: v for k, v in r.aikido.items() if k not in skip} for r in runs)
        assert ka == kb
        assert runs[0].records["aikido"].tobytes() == runs[1].records["aikido"].tobytes()
        assert runs[1].aikido["shared_faults"] < runs[0].aikido["shared_faults"]


def test_deterministic_runs_are_bit_identical():
    runs = [race_run("all_racy", filtered=True) for _ in range(2)]
    for s in ("fasttrack", "aikido"):
        assert runs[0].records[s].tobytes() == runs[1].records[s].tobytes()
    assert runs[0].aikido == runs[1].aikido


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("prog, args", [("psum", ["4", "50000"]), ("workq", ["2", "3", "1000"]),
                                        ("syncs", ["4", "10"]), ("racy", ["3", "3000"]),
                                        ("spawn", ["80", "4"]), ("zstd-mt", ["1m", "3", "2"])])
def test_per_thread_views_leave_programs_unchanged(prog, args, schedule):
    """Every thread runs in a view of its own; output and exit are the same as without."""
    plain = Machine(schedule=schedule).run(prog, args, capture=True)
    r = Machine(schedule=schedule, clients=["aikido"], client_options=COUNT).run(prog, args, capture=True)
    assert r.ok and plain.ok, (r.reason, r.message)
    assert r.stdout == plain.stdout
    a = r.aikido
    assert a["threads"] == len(r.thread_instructions)
    assert a["views"] <= min(a["threads"], 64)
    assert 0 < a["pages_shared"] <= a["pages_touched"] == a["first_touch_faults"] + a["pages_claimed"]
    assert a["pages_claimed"] > 0     # what main set up before its first thread: no fault for it
    assert a["share_faults"] == a["pages_shared"]
    assert 0 < a["shared_accesses"] <= a["accesses"]
    assert a["marked"] > 0
    assert (a["view_switches"] > 0) == (schedule == "deterministic")


@pytest.mark.skipif("jit" not in TIERS, reason="needs the JIT")
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_marked_instruction_is_translated_again_only_once_per_cache(schedule):
    """A marked load or store that faults again (on a page another thread still owns) already
    takes the mirrored path: its block is not rebuilt. blosc's unshuffle loop walks pages its
    other thread owns; rebuilding on each such fault made 2454 retranslations for 1271 marked
    instructions (and a chain of jumps through every old copy on each entry)."""
    r = Machine("jit", schedule=schedule, clients=["aikido"]).run("blosc", ["2m", "2"], capture=True)
    assert r.ok, (r.reason, r.message)
    a = r.aikido
    assert a["marked"] > 500 and a["shared_faults"] > 1000
    assert 0 < a["retranslations"] < a["marked"] / 2


def test_a_single_thread_shares_nothing():
    r = Machine(clients=["aikido"], client_options=COUNT).run("qsort", [], capture=True)
    assert r.ok
    a = r.aikido
    assert a["threads"] == 1 and a["views"] == 1
    # alone, a thread's view is open: no fault, nothing owned, nothing shared
    assert a["pages_touched"] == a["first_touch_faults"] == a["pages_shared"] == a["marked"] == 0
    assert a["shared_accesses"] == a["shared_faults"] == 0
    assert a["accesses"] > 10_000
    assert "aikido" not in r.records or len(r.records["aikido"]) == 0


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="mode"):
        Machine(clients=["fasttrack"], client_options={"fasttrack": {"mode": "half"}})
    with pytest.raises(ConfigError, match="unknown option"):
        Machine(clients=["aikido"], client_options={"aikido": {"x": 1}})
    r = Machine(clients=["aikido"]).run("psum", ["2", "1000"], capture=True)
    assert r.ok and r.aikido["accesses"] == 0 and r.aikido["shared_accesses"] > 0   # not counted unless asked
    # per-thread views and the watchpoint unit's filter view would fight over the hart's view
    with pytest.raises(ConfigError, match="watchpoint unit"):
        Machine(clients=["aikido"], watch="unlimited").run("psum", ["2", "100"], capture=True)
    with pytest.raises(ConfigError, match="watchpoint unit"):
        Machine(clients=["fasttrack"], client_options={"fasttrack": {"mode": "filtered"}},
                watch="unlimited").run("psum", ["2", "100"], capture=True)


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", ["interp", "jit"])
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("client, args", [("fasttrack", ["all_racy", "300"]),
                                          ("fasttrack:mode=filtered", ["all_racy", "300"]),
                                          ("fasttrack:mode=filtered", ["all_clean", "300"]),
                                          ("aikido", ["all_clean", "300"])])
def test_views_and_the_detector_under_asan_and_ubsan(tier, schedule, client, args):
    cmd = [str(asan_wbrun()), "-T", tier, "-P", schedule, "-S", "-c", client, str(guests.build("races")), *args]
    p = subprocess.run(cmd, capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
