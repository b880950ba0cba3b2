"""Taint tracking on the watchpoint unit (native/src/watch/taint.c, native/src/clients/taint.c):
bytes read from a chosen file are sources, their taint is propagated through registers by
stepping and through memory as the unit's watch set, and writes and syscall arguments are the
sinks. taintflow's flows have known sizes; every mechanism and both tiers must agree on them."""
import random
import subprocess
from pathlib import Path

import pytest
from conftest import asan_wbrun

from workbench import Machine, guests
from workbench._engine import find_library as lib_path
from workbench.errors import ConfigError

SOURCE, OTHER = 100, 40          # taintflow's two files
NR_LSEEK, NR_READ, NR_WRITE, NR_WRITEV = 62, 63, 64, 66


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    d = tmp_path_factory.mktemp("taintroot")
    rng = random.Random(5)
    (d / "src.bin").write_bytes(bytes(rng.randrange(256) for _ in range(SOURCE)))
    (d / "other.txt").write_bytes(b"o" * OTHER)
    return d


def _run(root, tier="jit", mech="unlimited", options=None, **kw):
    m = Machine(tier, watch=mech, root=root, clients=["taint"],
                client_options={"taint": {"file": "src.bin", **(options or {})}}, **kw)
    return m.run("taintflow", ["/src.bin", "/other.txt"], capture=True)


def _flows(run):
    return {(("source", "sink_data", "sink_args")[int(r["kind"])], int(r["nr"]), int(r["fd"])):
            (int(r["calls"]), int(r["bytes"]), int(r["args"])) for r in run.records["taint"]}


def _digits(run):
    return int(run.stderr.decode().strip().split("=")[1])


@pytest.mark.parametrize("tier", ["interp", "jit"])
@pytest.mark.parametrize("mech", ["unlimited", "pageprot", "software"])
def test_flows_are_found_exactly(root, tier, mech):
    run = _run(root, tier, mech)
    assert run.ok, run.message
    d = _digits(run)
    # 1: the copy (SOURCE), 3: the hash's digits (d), 6: the part OTHER did not overwrite,
    # 7: one byte picked out with shifts and a mask; 2, 5 and 7b write clean bytes
    assert _flows(run) == {
        ("source", NR_READ, 3): (1, SOURCE, 0),
        ("sink_data", NR_WRITE, 1): (4, SOURCE + d + (SOURCE - OTHER) + 1, 0),
        ("sink_args", NR_LSEEK, -1): (1, 0, 0b10),        # lseek's offset, a1
    }
    w = run.watch
    assert w["taint_sourced_bytes"] == SOURCE
    assert w["taint_steps"] > 0 and w["taint_step_entries"] >= 1
    # still tainted at exit: the input past OTHER, the digits (in `digits` and on the stack,
    # in `rev`) and the picked byte on the stack
    assert w["taint_tainted_bytes"] == (SOURCE - OTHER) + 2 * d + 1


@pytest.mark.parametrize("tier", ["interp", "jit"])
def test_the_addresses_policy_taints_table_look_ups(root, tier):
    """addresses=1: flow 7b's table look-up, indexed by a tainted byte, gives a tainted byte
    (and so does its trip through an FP register); everything else is as without it."""
    run = _run(root, tier, options={"addresses": 1})
    assert run.ok, run.message
    d = _digits(run)
    flows = _flows(run)
    assert flows[("sink_data", NR_WRITE, 1)] == (5, SOURCE + d + (SOURCE - OTHER) + 1 + 1, 0)
    assert flows[("source", NR_READ, 3)] == (1, SOURCE, 0)
    with pytest.raises(ConfigError, match="addresses"):
        Machine("jit", watch="unlimited", clients=["taint"], client_options={"taint": {"addresses": "yes"}})


def test_the_output_is_the_plain_runs(root):
    plain = Machine("jit", root=root).run("taintflow", ["/src.bin", "/other.txt"], capture=True)
    run = _run(root)
    assert plain.ok and run.stdout == plain.stdout and run.stderr == plain.stderr


def test_debug_registers_cannot_hold_the_source(root):
    """Four registers of at most 8 bytes cannot watch a 100-byte buffer: the copy's taint is
    lost (missed coverage); only the direct write of the input is seen, from the shadow."""
    run = _run(root, mech="debugregs")
    assert run.ok
    assert run.watch["uncovered_sets"] >= 1
    flows = _flows(run)
    assert flows[("sink_data", NR_WRITE, 1)][1] < SOURCE + (SOURCE - OTHER)


def test_deterministic_and_a_budget_stop_inside_stepping_continues_to_the_same(root):
    full = _run(root)
    steps = full.watch["taint_steps"]
    assert steps > 100
    # stop part-way: the budget runs out while the hart steps (most of taintflow steps)
    m = Machine("jit", watch="unlimited", root=root, clients=["taint"], max_insns=full.instructions - steps // 2,
                client_options={"taint": {"file": "src.bin"}})
    part = m.run("taintflow", ["/src.bin", "/other.txt"], capture=True)
    assert part.reason == "budget"
    again = _run(root)
    assert _flows(again) == _flows(full) and again.watch == full.watch


def test_without_a_matching_file_nothing_is_tainted(root):
    run = _run(root, options={"file": "nosuch.bin"})
    assert run.ok and _flows(run) == {}
    assert run.watch["taint_steps"] == 0 and run.watch["taint_tainted_bytes"] == 0


def test_stdin_as_a_source():
    """cat-like: lua reads stdin and writes it back; with stdin=1 the written bytes are tainted."""
    data = b"tainted line\n" * 10
    m = Machine("jit", watch="unlimited", clients=["taint"], client_options={"taint": {"stdin": 1, "file": "-none-"}})
    run = m.run("lua54", ["-e", "io.write(io.read('a'))"], stdin=data, capture=True)
    assert run.ok and run.stdout == data
    flows = _flows(run)
    src = [v for k, v in flows.items() if k[0] == "source"]
    sink = [v for k, v in flows.items() if k[0] == "sink_data"]
    assert sum(v[1] for v in src) == len(data)
    assert sum(v[1] for v in sink) == len(data)


def test_zstd_reading_its_input_from_a_file(tmp_path):
    """zstd @FILE: the whole input is a source; the printed hash of the input is a tainted sink,
    and the output matches the plain run."""
    (tmp_path / "in.txt").write_bytes(b"".join(b"line %d of the input, somewhat repetitive\n" % (i % 50) for i in range(400)))
    args = ["@/in.txt", "3"]
    plain = Machine("jit", root=tmp_path).run("zstd", args, capture=True)
    run = Machine("jit", watch="unlimited", root=tmp_path, clients=["taint"],
                  client_options={"taint": {"file": "in.txt"}}).run("zstd", args, capture=True)
    assert plain.ok and run.ok and run.stdout == plain.stdout
    flows = _flows(run)
    size = (tmp_path / "in.txt").stat().st_size
    assert sum(v[1] for k, v in flows.items() if k[0] == "source") == size
    assert any(k[0] == "sink_data" and k[2] == 1 for k in flows)     # stdout
    assert run.watch["taint_steps"] > 10_000


def test_marked_instructions_of_clean_code_stop_faulting():
    """A block with a taint copy checks every access in that copy but only marked ones in its
    clean copy: a marked instruction's clean copy must still be rebuilt with its check, or
    it keeps faulting on every tainted page (a rebuild skipped because the taint copy already
    checked it: 3290 faults instead of 539 on zstd 256k, the run 1.8x slower at 8m)."""
    from workbench.studies import watchpoints as W

    args, root, src = W._workload("zstd", "256k")
    r = Machine("jit", root=root, clients=["taint"], client_options={"taint": {"file": src}},
                watch="unlimited").run(guests.build("zstd", quiet=True), args, capture=True, argv0="zstd")
    assert r.ok
    w = r.watch
    assert w["marked"] > 100 and w["rebuilds"] > 0
    assert w["view_faults"] < 2 * w["marked"], w


@pytest.mark.parametrize("clients", [["taint", "watchheap"], ["watchheap", "taint"]])
def test_taint_owns_the_unit(root, clients):
    with pytest.raises(ConfigError, match="owns the watchpoint unit"):
        Machine("jit", watch="unlimited", root=root, clients=clients).run("heapbugs", capture=True)


def test_the_guests_own_watchpoints_are_refused_beside_taint(root):
    """wpdebug's wp.set gets an error (-EBUSY) and no watch traps: its checks fail."""
    run = Machine("jit", watch="unlimited", clients=["taint"]).run("wpdebug", capture=True)
    assert run.exit_code == 1
    assert run.stdout.decode().splitlines()[0].split() == ["wp.set", "of", "a", "word", "for", "writes", "returns", "0", "FAILED"]
    assert run.watch["traps"] == 0 and run.watch["guest_sets"] == 0


def test_taint_runs_on_the_deterministic_schedule(root):
    """Machine gives the taint client the deterministic schedule (its shadow is not shared by
    threads running at once); the engine refuses the parallel one with a clear error."""
    m = Machine("jit", watch="unlimited", root=root, schedule="parallel", clients=["taint"],
                client_options={"taint": {"file": "src.bin"}})
    assert m.schedule == "deterministic" and m.config["schedule"] == "deterministic"
    assert m.run("taintflow", ["/src.bin", "/other.txt"], capture=True).ok
    wbrun = Path(lib_path()).parent / "wbrun"
    if wbrun.exists():
        p = subprocess.run([str(wbrun), "-P", "parallel", "-W", "unlimited", "-c", "taint", "-r", str(root),
                            str(guests.build("taintflow")), "/src.bin", "/other.txt"], capture_output=True)
        assert p.returncode != 0 and b"deterministic schedule" in p.stderr


def test_bad_options_and_no_unit():
    with pytest.raises(ConfigError, match="needs the watchpoint unit"):
        Machine("jit", clients=["taint"]).run("taintflow", capture=True)
    with pytest.raises(ConfigError, match="file"):
        Machine("jit", watch="unlimited", clients=["taint"], client_options={"taint": {"file": "a,b"}})
    with pytest.raises(ConfigError, match="file"):
        Machine("jit", watch="unlimited", clients=["taint"], client_options={"taint": {"file": 3}})
    with pytest.raises(ConfigError, match="unknown option"):
        Machine("jit", watch="unlimited", clients=["taint"], client_options={"taint": {"files": "x"}})


@pytest.mark.parametrize("program, addresses", [("zstd", 0), ("brotli", 0), ("zstd", 1)])
def test_the_jits_inline_propagation_agrees_with_the_interpreters(tmp_path, program, addresses):
    """The JIT's taint copies (inline rules, inline shadow look-ups, deferred watch updates)
    against the interpreter's stepping through watch/taint.c's rules: the same taint in memory
    at exit and the same sinks. (The unit's counters differ: the JIT leaves its taint copies a
    few blocks after the registers are clean, the interpreter at once.)"""
    rng = random.Random(11)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 7))) for _ in range(60)]
    (tmp_path / "in.txt").write_bytes(b" ".join(rng.choice(words) for _ in range(2500)))
    args = ["@/in.txt", "3"] if program == "zstd" else ["-c", "-q", "5", "/in.txt"]
    runs = {tier: Machine(tier, watch="unlimited", root=tmp_path, clients=["taint"],
                          client_options={"taint": {"file": "in.txt", "addresses": addresses}}).run(
                              program, args, capture=True)
            for tier in ("interp", "jit")}
    assert all(r.ok for r in runs.values())
    assert runs["jit"].stdout == runs["interp"].stdout
    assert _flows(runs["jit"]) == _flows(runs["interp"])
    w = {tier: r.watch for tier, r in runs.items()}
    assert w["jit"]["taint_tainted_bytes"] == w["interp"]["taint_tainted_bytes"] > 0
    assert w["jit"]["taint_sourced_bytes"] == w["interp"]["taint_sourced_bytes"]
    assert w["jit"]["taint_steps"] > 10_000


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", ["interp", "jit"])
@pytest.mark.parametrize("mech", ["unlimited", "pageprot", "software"])
@pytest.mark.parametrize("prog, client, args", [
    ("taintflow", "taint:file=src.bin", ["/src.bin", "/other.txt"]),
    ("zstd", "taint:file=in.txt", ["@/in.txt", "3"]),
    ("heapbugs", "watchheap", []),
    ("wpdebug", None, [])])
def test_the_watchpoint_unit_and_its_clients_under_asan_and_ubsan(root, tier, mech, prog, client, args):
    """The unit, taint tracking (the JIT's taint copies and the flush) and the heap checker,
    in the engine built with AddressSanitizer and UBSan."""
    (root / "in.txt").write_bytes(b"".join(b"%d: some text to compress\n" % (i % 97) for i in range(3000)))
    cmd = [str(asan_wbrun()), "-T", tier, "-P", "deterministic", "-W", mech, "-S", "-r", str(root)]
    if client:
        cmd += ["-c", client]
    p = subprocess.run([*cmd, str(guests.build(prog)), *args], cwd=root, capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
