"""The races guest (workloads/threads/races.c): seeded data races and race-free counterparts.

Every mode prints the same lines under both schedules (and under qemu-riscv64, when it is
installed), whatever the interleaving; a bad mode is a usage error (exit 2). The race table in
the program's header comment is the ground truth a race detector is checked against: here the
memory trace confirms that every row's two functions really access that variable from two
threads, and that late_buf's page is touched by late_first for a long time and by late_second
only once (the race an Aikido-style shared-page filter misses).
"""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from workbench import Machine, guests
from workbench.events import flag_value, symbolize

from conftest import QEMU, REPO, needs_qemu

SCHEDULES = ["deterministic", "parallel"]
SOURCE = REPO / "workloads" / "threads" / "races.c"

#: what each mode prints with the default 2000 iterations
OUT = {
    "flag": "flag: payload 1860599279\nflag: done\n",
    "hist": "hist: 2 threads, updates 4000\n",
    "late": "late: first wrote 250 passes of 512 words, second wrote 1 word\n",
    "clean_lock": "clean_lock: total 4000\n",
    "clean_join": "clean_join: results 256930/5097 251091/3370\n",
    "clean_atomic": "clean_atomic: payload 946225\n",
    "clean_adjacent": "clean_adjacent: left 2000 right 4000\n",
    "clean_cond": "clean_cond: handed 250 values, sum 5239625\n",
    "clean_barrier": "clean_barrier: 100 rounds, sums 10100 5050\n",
}
RACY = ["flag", "hist", "late"]
CLEAN = [m for m in OUT if m.startswith("clean_")]
OUT["all_racy"] = "".join(OUT[m] for m in RACY)
OUT["all_clean"] = "".join(OUT[m] for m in CLEAN)

#: the header's race table: (mode, function, function, variable as written there) and the
#: bytes of the data object it means, (object symbol, first offset, end offset)
RACES = {
    ("flag", "flag_writer", "flag_reader", "flag_box.payload"): ("flag_box", 0, 4),
    ("flag", "flag_writer", "flag_reader", "flag_box.flag"): ("flag_box", 8, 12),
    ("hist", "hist_worker", "hist_worker", "hist (all 8 bins)"): ("hist", 0, 64),
    ("late", "late_first", "late_second", "late_buf[7]"): ("late_buf", 56, 64),
    ("late", "late_wait_post", "late_wait", "late_progress"): ("late_progress", 0, 8),
}


@pytest.fixture(scope="module")
def elf():
    return guests.build("races", quiet=True)


def _run(elf, args, schedule, **kw):
    return Machine(schedule=schedule, max_insns=200_000_000, wall_limit=60, **kw).run(
        elf, args, capture=True, argv0=str(elf))


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("mode", list(OUT))
def test_every_mode_prints_what_does_not_depend_on_the_interleaving(elf, mode, schedule):
    r = _run(elf, [mode], schedule)
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout.decode(), r.stderr) == (0, OUT[mode], b"")
    assert len(r.thread_instructions) >= 3          # main and at least two threads
    if QEMU:
        q = subprocess.run([QEMU, str(elf), mode], capture_output=True, timeout=60)
        assert (q.returncode, q.stdout) == (0, r.stdout)


@needs_qemu
@pytest.mark.parametrize("mode", ["all_racy", "all_clean"])
def test_glibc_build_agrees(mode):
    elf = guests.build("races-glibc", quiet=True)
    q = subprocess.run([QEMU, str(elf), mode], capture_output=True, timeout=60)
    assert (q.returncode, q.stdout.decode()) == (0, OUT[mode])
    for schedule in SCHEDULES:
        r = _run(elf, [mode], schedule)
        assert (r.reason, r.exit_code, r.stdout.decode()) == ("exit", 0, OUT[mode]), r.message


@pytest.mark.parametrize("args", [["bogus"], [], ["flag", "0"], ["flag", "10", "extra"]])
def test_bad_arguments_are_a_usage_error(elf, args):
    r = _run(elf, args, "deterministic")
    assert (r.reason, r.exit_code, r.stdout) == ("exit", 2, b"")
    assert r.stderr.startswith(b"usage: races MODE")
    if QEMU:
        q = subprocess.run([QEMU, str(elf), *args], capture_output=True, timeout=60)
        assert (q.returncode, q.stderr) == (2, r.stderr)


def test_iterations_argument():
    r = Machine().run("races", ["all_racy", "16"], capture=True)
    assert r.ok and r.stdout == (b"flag: payload 426607119\nflag: done\nhist: 2 threads, updates 32\n"
                                 b"late: first wrote 2 passes of 512 words, second wrote 1 word\n")


def test_the_header_table_is_the_one_checked_here():
    """The program's comment and RACES list the same rows (a detector test reads either)."""
    text = SOURCE.read_text()
    rows = set()
    for m in re.finditer(r"^ \*   (flag|hist|late) +(\w+) +(\w+) +(.+?)  +\S.*$", text, re.M):
        rows.add(m.groups())
    assert rows == set(RACES)


def _objects(elf):
    """Data symbols (STT_OBJECT) of the ELF: name -> (address, size)."""
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: (int(s["st_value"]), int(s["st_size"])) for s in sec.iter_symbols()
                if s["st_info"]["type"] == "STT_OBJECT"}


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_trace_shows_every_race_of_the_table(elf, schedule):
    r = _run(elf, ["all_racy"], schedule, clients=["memtrace"])
    assert r.ok and r.stdout.decode() == OUT["all_racy"], r.message
    mt = r.records["memtrace"]
    funcs = np.array([s.split("+")[0] for s in symbolize(elf).lookup(mt["pc"])])
    objs = _objects(elf)
    store = flag_value("memtrace", "kind", "store")
    for (mode, f1, f2, var), (obj, lo, hi) in RACES.items():
        base = objs[obj][0]
        on = (mt["addr"] >= base + lo) & (mt["addr"] < base + hi)
        threads1 = set(mt["thread"][on & (funcs == f1)].tolist())
        threads2 = set(mt["thread"][on & (funcs == f2)].tolist())
        assert threads1 and threads2, (var, threads1, threads2)
        assert len(threads1 | threads2) == 2, var    # two threads, not one calling both
        assert (mt["kind"][on & ((funcs == f1) | (funcs == f2))] == store).any(), var
    # late_buf: one page of its own, written 250 x 512 times by late_first's thread, then
    # once by late_second's (the only access of a second thread to the page), at late_buf[7]
    addr, size = objs["late_buf"]
    assert addr % 4096 == 0 and size == 4096
    page = (mt["addr"] >= addr) & (mt["addr"] < addr + 4096)
    assert set(funcs[page].tolist()) == {"late_first", "late_second"}
    first, second = page & (funcs == "late_first"), page & (funcs == "late_second")
    assert first.sum() == 250 * 512 and (mt["kind"][first] == store).all()
    assert len(set(mt["thread"][first].tolist())) == 1
    assert second.sum() == 1 and mt["addr"][second][0] == addr + 56 and mt["kind"][second][0] == store
    assert mt["thread"][second][0] != mt["thread"][first][0]
    # late_progress sits on another page
    assert objs["late_progress"][0] // 4096 != addr // 4096


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_clean_adjacent_stores_are_two_ints_of_one_word(elf, schedule):
    r = _run(elf, ["clean_adjacent", "50"], schedule, clients=["memtrace"])
    assert r.ok, r.message
    mt = r.records["memtrace"]
    funcs = np.array([s.split("+")[0] for s in symbolize(elf).lookup(mt["pc"])])
    base = _objects(elf)["adjacent_pair"][0]
    assert base % 8 == 0
    for f, off in (("adjacent_left", 0), ("adjacent_right", 4)):
        mine = mt[funcs == f]
        mine = mine[(mine["addr"] >= base) & (mine["addr"] < base + 8)]
        assert len(mine) == 50 and set(mine["addr"].tolist()) == {base + off}
        assert set(mine["size"].tolist()) == {4}
