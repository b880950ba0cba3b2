"""Guest threads under both schedules: clone, futexes, exit, limits.

Our pthread programs (workloads/threads/), built with musl and glibc, must print what they
print under qemu-riscv64 and exit the same way, on both tiers, under the parallel schedule
(one host thread per guest thread) and the deterministic one at several quanta (a short
quantum switches threads inside critical sections, condvar waits and joins). A deterministic
run must be reproducible bit for bit: the same seed gives the same instruction counts per
thread and the same event streams; another seed interleaves differently with the same output. Waits that
can never end stop the run as a deadlock, fork is refused cleanly, and the thread limit is a
limit the guest sees (EAGAIN), not a crash.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from workbench import Machine, available_tiers, guests

from conftest import QEMU, needs_qemu

VARIANTS = [v for v in ("musl", "glibc") if v in guests.available_variants()]
TIERS = available_tiers()
PROGRAMS = {  # program -> arguments (kept small: each runs on every tier, variant, quantum)
    "psum": ["4", "100000"],
    "workq": ["2", "3", "2000"],
    "syncs": ["4", "20"],
    "spawn": ["64", "4"],
    "waits": ["timeout"],
    "smc": ["300"],                 # code one thread writes and another runs (fence.i)
    "racy": ["4", "20000"],         # a racy histogram: only its race-free count is printed
    "litmus": ["200", "fence"],     # store buffering with fence rw,rw: never both loads 0
    "blosc": ["2m", "3"],           # c-blosc from the python-blosc sdist, 3 threads
    "zstd-mt": ["1m", "3", "3"],   # the pinned zstd built with ZSTD_MULTITHREAD, 3 workers (zstd
                                   # compresses inputs under 1 MiB on the calling thread)
}


def _name(base: str, variant: str) -> str:
    return base if variant == "musl" else f"{base}-{variant}"


def test_blosc_output_does_not_depend_on_threads():
    outs = {n: Machine().run("blosc", ["2m", str(n)], capture=True) for n in (1, 2, 4)}
    assert all(r.ok for r in outs.values())
    lines = {n: r.stdout.splitlines()[1:] for n, r in outs.items()}
    assert lines[1] == lines[2] == lines[4]
    assert len(outs[4].thread_instructions) == 5 and len(outs[1].thread_instructions) == 1  # + main


def test_zstd_mt_output_does_not_depend_on_workers():
    """zstd's frame is the same for any number of workers: our runs must agree with that."""
    outs = {w: Machine().run("zstd-mt", ["1m", "3", str(w)], capture=True) for w in (0, 1, 4)}  # 1 MiB: big enough for workers
    assert all(r.ok for r in outs.values())
    lines = {w: r.stdout.splitlines()[1:] for w, r in outs.items()}
    assert lines[0] == lines[1] == lines[4]
    assert len(outs[4].thread_instructions) == 5 and len(outs[0].thread_instructions) == 1


def _machine(tier: str, **kw) -> Machine:
    if tier == "jit":
        kw.update(jit_hot=1, jit_profile_insns=200_000)
    return Machine(tier=tier, max_insns=2_000_000_000, **kw)


#: schedules the qemu comparison runs under: parallel, and deterministic at two quanta
SCHEDULES = {"parallel": {"schedule": "parallel"},
             "det20000": {"schedule": "deterministic", "quantum": 20000},
             "det97": {"schedule": "deterministic", "quantum": 97}}


@needs_qemu
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_threaded_programs_match_qemu(program, variant, tier, schedule):
    elf = guests.build(_name(program, variant))
    args = PROGRAMS[program]
    q = subprocess.run([QEMU, str(elf), *args], capture_output=True, timeout=300)
    r = _machine(tier, **SCHEDULES[schedule]).run(elf, args, capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)
    assert len(r.thread_instructions) > 1                       # it really ran threads
    assert sum(r.thread_instructions) == r.instructions


@pytest.mark.parametrize("tier", TIERS)
def test_parallel_stress_threads_come_and_go_while_others_translate(tier):
    """Sixty-four threads created and joined in rounds, every block translated at its first
    execution (jit_hot=0: translations race with thread exits on their own caches), a
    producer/consumer queue and barrier/rwlock rounds, ten times over: always the same output."""
    kw = {"jit_hot": 0} if tier == "jit" else {}
    m = Machine(tier=tier, schedule="parallel", max_insns=2_000_000_000, **kw)
    for _ in range(10):
        for prog, args, want in (("spawn", ["64", "4"], b"ok\n"), ("workq", ["4", "4", "3000"], b"ok\n"),
                                 ("syncs", ["8", "30"], b"done\n")):
            r = m.run(prog, args, capture=True)
            assert r.ok, (prog, r.message)
            assert r.stdout.endswith(want), (prog, r.stdout[-200:])


def _fingerprint(r):
    return (r.instructions, tuple(r.thread_instructions), r.stdout,
            {k: v.tobytes() for k, v in r.records.items()})


@pytest.mark.parametrize("tier", TIERS)
def test_a_run_is_reproducible_and_the_seed_chooses_the_interleaving(tier):
    runs = [_machine(tier, schedule="deterministic", quantum=500, clients=["memtrace", "bbprofile"]).run(
        "workq", ["2", "3", "300"], capture=True) for _ in range(5)]
    assert all(r.ok for r in runs)
    first = _fingerprint(runs[0])
    assert all(_fingerprint(r) == first for r in runs[1:])
    # memtrace's thread field names the hart that made each access
    threads = set(runs[0].records["memtrace"]["thread"].tolist())
    assert threads == set(range(len(runs[0].thread_instructions)))
    other = _machine(tier, schedule="deterministic", quantum=500, seed=12345).run("workq", ["2", "3", "300"], capture=True)
    assert other.ok and other.stdout == runs[0].stdout
    assert other.thread_instructions != runs[0].thread_instructions


def test_tiers_interleave_identically():
    """The quantum is counted in instructions at block boundaries the same way on both tiers,
    so the interpreter and the JIT switch threads at the same points."""
    if len(TIERS) < 2:
        pytest.skip("one tier in this build")
    a, b = (Machine(tier=t, schedule="deterministic", quantum=333, clients=["memtrace"]).run("syncs", ["3", "10"], capture=True)
            for t in ("interp", "jit"))
    assert a.ok and b.ok
    assert a.thread_instructions == b.thread_instructions
    assert a.records["memtrace"].tobytes() == b.records["memtrace"].tobytes()


@needs_qemu
@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_pipes_between_threads_wait_for_each_other(variant, tier, schedule):
    """A reader of an empty guest pipe (read or poll) waits for the writer thread, a writer
    of a full one for the reader, and a timed poll on a silent pipe times out."""
    elf = guests.build(_name("waits", variant))
    q = subprocess.run([QEMU, str(elf), "pipes"], capture_output=True, timeout=120)
    r = _machine(tier, schedule=schedule).run(elf, ["pipes"], capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout) == (q.returncode, q.stdout)
    assert r.stdout.startswith(b"pipe bytes 300000 ")


@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", ["deadlock", "selfwait", "pipewait"])
def test_waits_that_cannot_end_are_a_deadlock(variant, mode, schedule):
    r = Machine(wall_limit=60, schedule=schedule).run(_name("waits", variant), [mode], capture=True)
    assert r.reason == "deadlock", (r.reason, r.message)
    assert "deadlock" in r.message and b"not reached" not in r.stdout


@needs_qemu
@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", ["alarm", "alarm-mt"])
def test_an_alarm_ends_a_wait_that_nothing_else_could(variant, tier, mode, schedule):
    """Every thread waits, none with a timeout, but ITIMER_REAL is armed: time passes to it,
    the SIGALRM handler posts the semaphore, and the program goes on (no deadlock)."""
    elf = guests.build(_name("waits", variant))
    q = subprocess.run([QEMU, str(elf), mode], capture_output=True, timeout=120)
    r = _machine(tier, schedule=schedule).run(elf, [mode], capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout) == (q.returncode, q.stdout)
    assert r.stdout.endswith(b">= 1 s: yes\n")


@pytest.mark.parametrize("variant", VARIANTS)
def test_fork_is_refused_with_enosys(variant):
    r = Machine().run(_name("waits", variant), ["fork"], capture=True)
    assert r.ok and r.stdout == b"fork: Function not implemented\n"
    assert r.unknown_syscalls.get(220) == 1     # counted as a call the engine does not do


@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_thread_limit_is_eagain(variant, schedule):
    r = Machine(max_threads=10, schedule=schedule).run(_name("waits", variant), ["limit"], capture=True)
    assert r.ok, r.message
    assert r.stdout == b"created 9 threads, then: Resource temporarily unavailable\n"
    assert len(r.thread_instructions) == 10


@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
def test_timed_waits_pass_guest_time_not_host_time(schedule):
    """The virtual clock: a 1 s condvar timeout passes at once when every thread waits."""
    r = Machine(wall_limit=30, schedule=schedule).run("waits", ["timeout"], capture=True)
    assert r.ok
    assert r.stdout == (b"sem_timedwait: ETIMEDOUT after >= 50 ms: yes\n"
                        b"cond_timedwait: ETIMEDOUT after >= 1 s: yes\n")
    assert r.instructions < 200_000            # waited on the clock, not in a busy loop


def test_cli_reports_a_deadlock_with_status_125():
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "run", str(guests.build("waits")),
                        "deadlock"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 125
    assert "deadlock" in p.stderr and "Traceback" not in p.stderr


def test_bad_thread_settings_are_config_errors():
    from workbench.errors import ConfigError
    for kw in ({"max_threads": 0}, {"max_threads": 5000}, {"quantum": 0}, {"quantum": 1.5},
               {"schedule": "random"}, {"schedule": 1}):
        with pytest.raises(ConfigError):
            Machine(**kw)


@pytest.mark.parametrize("tier", TIERS)
def test_barrier_profiler_follows_each_thread_through_malloc(tier):
    """Wrapped-call state is per thread (hart slots): with a quantum short enough to switch
    threads inside malloc, every worker's object is still sampled and profiled, exactly as
    with a long quantum."""
    opts = {"barrier": {"sample_bytes": 0, "per_site": 0}}
    base = Machine(tier=tier).run("psum", ["8", "20000"], capture=True)
    got = {}
    for q in (20000, 37, "parallel"):
        how = {"schedule": "parallel"} if q == "parallel" else {"schedule": "deterministic", "quantum": q}
        r = Machine(tier=tier, clients=["barrier"], client_options=opts, **how).run(
            "psum", ["8", "20000"], capture=True)
        assert r.ok and r.stdout == base.stdout
        ds = r.events("barrier")
        sites = [str(s).split("+")[0] for s in ds.site_symbol.values]
        assert sites.count("worker") == 8
        # each worker's object is named by the thread that allocated it (threads 1..8)
        workers = [int(t) for t, s in zip(ds.thread.values, sites) if s == "worker"]
        assert sorted(workers) == list(range(1, 9))
        got[q] = (len(sites), int(ds.reads.sum()), int(ds.writes.sum()))
    assert got[37] == got[20000] == got["parallel"]
    # the allocation log names the thread of every call: each worker's own malloc among them
    r = Machine(tier=tier, clients=["barrier"], client_options={"barrier": {"log_allocs": 1}}).run(
        "psum", ["8", "20000"], capture=True)
    allocs = r.records["barrier_allocs"]
    assert set(allocs["thread"].tolist()) >= set(range(1, 9))
    assert r.events("barrier_allocs")["thread"].attrs["long_name"] == "guest thread that made the call"


@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("tier", TIERS)
def test_clients_count_per_thread_under_both_schedules(tier, schedule):
    """icount: one record per guest thread, its exact count; memtrace and bbprofile see every
    thread; bbprofile counts per thread, exactly: each thread's block counts add up to that
    thread's instructions, whichever hart translated the block."""
    r = _machine(tier, schedule=schedule, clients=["icount", "memtrace", "bbprofile"]).run(
        "psum", ["4", "20000"], capture=True)
    assert r.ok, r.message
    ic = r.records["icount"]
    assert ic["thread"].tolist() == list(range(5))
    assert ic["icount"].tolist() == list(r.thread_instructions)
    assert int(ic["icount"].sum()) == r.instructions
    assert set(r.records["memtrace"]["thread"].tolist()) == set(range(5))
    bb = r.records["bbprofile"]
    per_thread = [int((bb["count"].astype("u8") * bb["ninsns"])[bb["thread"] == t].sum())
                  for t in range(5)]
    assert per_thread == list(r.thread_instructions)
    order = np.lexsort((bb["thread"], bb["pc"]))          # sorted by pc, then thread
    assert (order == np.arange(len(bb))).all()


def test_cli_schedule_option():
    cli = [sys.executable, "-m", "workbench.cli", "run"]
    ok = subprocess.run(cli + ["--schedule", "deterministic", "--quantum", "500", "psum", "2", "1000"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "ok" in ok.stdout, ok.stderr
    bad = subprocess.run(cli + ["--schedule", "bogus", "psum"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown schedule 'bogus'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("tier", TIERS)
def test_parallel_runs_pause_for_drains_and_lose_no_record(tier):
    """A small drain mark pauses a parallel run many times: every worker parks, Python copies
    the streams out, the run goes on. Every thread's records arrive, each thread's in
    instruction order, none twice; syscalls and view faults that were in progress when another
    thread paused the run complete once (twenty runs: the pauses land at random points)."""
    import numpy as np
    opts = {"barrier": {"sample_bytes": 0, "per_site": 0}}
    for k in range(20):
        chunks = []
        clients = ["memtrace", "barrier"][: 1 + k % 2]
        r = Machine(tier=tier, schedule="parallel", clients=clients,
                    client_options={c: o for c, o in opts.items() if c in clients},
                    drain_bytes=64 << 10).run(
            "psum", ["4", "20000"], capture=True,
            on_records=lambda s, a: chunks.append(a.copy()) if s == "memtrace" else None)
        assert r.ok and r.stdout.endswith(b"tids distinct yes\n"), (k, r.message)
        assert len(chunks) > 10
        recs = np.concatenate(chunks)
        assert set(recs["thread"].tolist()) == set(range(5))
        for t in range(5):
            ic = recs["icount"][recs["thread"] == t]
            assert (np.diff(ic.astype(np.int64)) > 0).all()     # in order, none twice
            assert int(ic[-1]) < r.thread_instructions[t]


@pytest.mark.parametrize("tier", TIERS)
def test_a_blocking_host_read_does_not_stop_the_other_threads(tier):
    """Parallel: main blocks reading the embedder's stdin (a pipe we fill 3 s later) while a
    worker computes; the worker finishes meanwhile (the read does not hold the engine)."""
    import os
    import threading
    import time
    rfd, wfd = os.pipe()

    def feed():
        time.sleep(3)
        os.write(wfd, b"x")
        os.close(wfd)
    guests.build("waits")          # before the clock starts: a first build takes seconds
    threading.Thread(target=feed, daemon=True).start()
    try:
        r = Machine(tier=tier, schedule="parallel").run("waits", ["stdin"], capture=True, stdin=rfd)
    finally:
        os.close(rfd)
    assert r.ok, r.message
    assert r.stdout == b"read 1; worker done before input: 1\n"


@pytest.mark.parametrize("tier", TIERS)
def test_the_racy_histogram_stays_racy(tier):
    """The histogram's bins are plain stores from every thread with no synchronisation between
    them (what a race detector must find): each bin is stored by all four threads, some 2500
    times each (a thread's records arrive together: streams are drained thread by thread).
    Under the parallel one the race can lose updates; the
    program counts them (any number, 0 included, is a correct outcome)."""
    import numpy as np
    r = _machine(tier, schedule="deterministic", quantum=97, clients=["memtrace"]).run(
        "racy", ["4", "20000"], capture=True)
    assert r.ok and r.stdout == b"threads 4 items 20000 counted 80000\n"
    mt = r.records["memtrace"]
    st = mt[(mt["kind"] == 1) & (mt["size"] == 8)]
    shared = 0
    for addr in np.unique(st["addr"]):
        th = st["thread"][st["addr"] == addr]
        if set(th.tolist()) == {1, 2, 3, 4} and min(np.bincount(th)[1:]) > 1000:
            shared += 1
    assert shared == 8                       # the eight bins
    p = _machine(tier, schedule="parallel").run("racy", ["4", "200000", "show"], capture=True)
    assert p.ok and p.stdout.startswith(b"threads 4 items 200000 counted 800000\nlost updates ")


@pytest.mark.parametrize("call", ["read", "readv"])
@pytest.mark.parametrize("tier", TIERS)
def test_a_blocking_host_read_gives_way_to_pauses_and_the_end(tier, call):
    """Parallel: while main blocks reading stdin (read, or readv as musl's stdio does), the
    worker's records fill the streams (the run pauses to drain them: the read is interrupted
    and runs again after each pause), and in stdin-exit the worker ends the process: the run
    ends at once, it does not wait for input that never comes."""
    import os
    import threading
    import time
    rfd, wfd = os.pipe()

    def feed():
        # the worker's 200000 traced iterations take well under a second alone. (This test
        # failed now and then: a drain pause that began while main was on its way into the
        # read was never sent to interrupt it, so the worker stayed parked until input came;
        # parallel.c's wb_lock_drop now tells the coordinator of every host call.)
        time.sleep(3)
        os.write(wfd, b"x")
    guests.build("waits")          # before the clock starts: a first build takes seconds
    threading.Thread(target=feed, daemon=True).start()
    try:
        r = Machine(tier=tier, schedule="parallel", clients=["memtrace"], drain_bytes=64 << 10).run(
            "waits", ["stdin", "200000", call], capture=True, stdin=rfd)
        assert r.ok, r.message
        assert r.stdout == b"read 1; worker done before input: 1\n"
        assert len(r.records["memtrace"]) > 400_000   # a load and a store per iteration
        t0 = time.monotonic()
        e = Machine(tier=tier, schedule="parallel", wall_limit=60).run(
            "waits", ["stdin-exit", "20000000", call], capture=True, stdin=rfd)  # nothing more comes
        assert e.reason == "exit" and e.exit_code == 3, e.message
        assert e.stdout == b"worker exits the process\n" and time.monotonic() - t0 < 30
    finally:
        os.close(rfd)
        os.close(wfd)


@pytest.mark.parametrize("variant", ["musl", "glibc"])
@pytest.mark.parametrize("tier", TIERS)
def test_fence_rw_rw_orders_stores_before_loads_under_real_parallelism(tier, variant):
    """The store-buffering litmus test: with `fence rw,rw` between each thread's store and load,
    both loads reading 0 is forbidden. x86 lets a load pass an earlier store (TSO's store
    buffer), so the engine must turn such a FENCE into an mfence when threads run in parallel;
    without it this outcome shows up hundreds of times in 20000 rounds on two host cores.
    Under the deterministic schedule one thread runs at a time and it never happens."""
    elf = "litmus" + ("-glibc" if variant == "glibc" else "")
    r = _machine(tier, schedule="parallel").run(elf, ["20000", "fence"], capture=True)
    assert r.ok, r.message
    assert r.stdout == b"rounds 20000 forbidden 0\n"
    relaxed = _machine(tier, schedule="parallel").run(elf, ["20000", "nofence"], capture=True)
    assert relaxed.ok and relaxed.stdout.startswith(b"rounds 20000 relaxed ")  # any number
    det = _machine(tier, schedule="deterministic", quantum=500).run(elf, ["200", "nofence"], capture=True)
    assert det.ok and det.stdout == b"rounds 200 relaxed 0\n"
