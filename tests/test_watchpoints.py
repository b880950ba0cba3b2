"""The watchpoint unit on running guests (native/src/watch/online.c, docs/watchpoints.md):
the guest's wp.set/wp.clear and watch traps on every mechanism and both tiers, the model
replaying the unit's own trace to the same counters, and bad input."""
import numpy as np
import pytest

from workbench import Machine
from workbench._engine import ffi, lib
from workbench.errors import ConfigError
from workbench.models import watch as model

from workbench.watch import COUNTERS as UNIT_COUNTERS
TIERS = ["interp", "jit"]


def _run(tier, mech, *args, **kw):
    return Machine(tier, watch=mech, max_insns=10**8, **kw).run("wpdebug", list(args), capture=True)


@pytest.fixture(scope="module")
def reference():
    """The interpreter under pageprot: every checked access is a fault there."""
    return _run("interp", "pageprot")


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("mech", ["unlimited", "pageprot", "software"])
def test_guest_watchpoints_trap_alike_everywhere(tier, mech, reference):
    run = _run(tier, mech)
    out = run.stdout.decode()
    assert run.ok, (run.message, out)
    assert "FAILED" not in out
    assert out.rstrip().endswith("wpdebug: OK (2006 traps)")
    assert "many: 1000 watched, 2000 traps" in out and "many: after clearing, 0 traps" in out
    # the unit sees the same accesses whichever mechanism finds them
    assert {k: run.watch[k] for k in UNIT_COUNTERS} == {k: reference.watch[k] for k in UNIT_COUNTERS}
    assert run.watch["traps"] == run.watch["triggers"] == 2006
    assert run.watch["guest_sets"] == 1006 and run.watch["guest_clears"] == 5
    assert run.watch["segments"] == 0          # the program clears everything it set


def test_mechanisms_differ_in_cost_not_in_counts(reference):
    """pageprot faults on every checked access; unlimited marks the instructions and then
    checks them inline, so it takes few faults; software never needs to mark."""
    prot = _run("jit", "pageprot").watch
    unl = _run("jit", "unlimited").watch
    sw = _run("jit", "software").watch
    checked = prot["loads"] + prot["stores"]
    assert prot["view_faults"] >= checked and prot["inline_checks"] == 0 and prot["marked"] == 0
    assert unl["marked"] > 0 and unl["rebuilds"] > 0
    assert unl["view_faults"] < checked / 10 and unl["inline_checks"] > checked * 0.9
    assert sw["marked"] == 0 and sw["inline_checks"] > checked * 0.9
    # the interpreter takes the fault path for every checked access, whatever the mechanism
    assert reference.watch["view_faults"] >= checked
    # false faults: faults on watched pages that touched no watched byte of their kind
    assert prot["false_faults"] == prot["view_faults"] - prot["triggers"]


@pytest.mark.parametrize("tier", TIERS)
def test_debug_registers_hold_four_ranges(tier):
    run = _run(tier, "debugregs")
    out = run.stdout.decode()
    assert run.ok, run.message
    # the first checks fit the four registers; the thousand-range array does not
    assert "a write traps once                           ok" in out
    assert run.watch["uncovered_sets"] == 997 and run.watch["uncovered_bytes"] == 997 * 8
    assert run.watch["segments_max"] <= 4
    assert "many: 1000 watched, 2000 traps" not in out


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("entries", [1, 16, 4096])
def test_model_replays_the_units_own_trace(tier, entries):
    run = _run(tier, "unlimited", watch_cache=entries, watch_trace=True)
    assert run.ok
    trace = run.records["watch"]
    kinds = np.bincount(trace["kind"], minlength=4)
    assert kinds.tolist() == [run.watch["loads"], run.watch["stores"], run.watch["sets"], run.watch["clears"]]
    ops = trace.view(model.OP_DTYPE)
    assert model.replay(ops, entries) == {k: run.watch[k] for k in UNIT_COUNTERS}
    swept = model.sweep(ops, [entries])
    assert {k: int(swept.loc[entries, k]) for k in UNIT_COUNTERS} == {k: run.watch[k] for k in UNIT_COUNTERS}


def test_runs_repeat_exactly():
    a = _run("jit", "unlimited", watch_trace=True)
    b = _run("jit", "unlimited", watch_trace=True)
    assert a.records["watch"].tobytes() == b.records["watch"].tobytes()
    assert a.watch == b.watch and a.instructions == b.instructions


def test_many_guest_watchpoints():
    run = _run("jit", "unlimited", "many", "20000")
    assert run.ok, run.message
    assert run.stdout.decode().splitlines() == ["many: 20000 watched, 40000 traps", "many: after clearing, 0 traps"]
    assert run.watch["segments_max"] == 20000


@pytest.mark.parametrize("tier", TIERS)
def test_wp_instructions_are_illegal_without_the_unit(tier):
    run = Machine(tier).run("wpdebug", capture=True)
    assert run.reason == "illegal"
    assert "wp.set a0, a0, a1, 2" in run.message


@pytest.mark.parametrize("tier", TIERS)
def test_a_watch_trap_without_a_handler_ends_the_run(tier):
    run = _run(tier, "unlimited", "nohandler")
    assert run.reason == "ebreak"
    assert "watchpoint hit" in run.message and "no SIGTRAP handler" in run.message
    assert run.watch["traps"] == 1
    assert b"not reached" not in run.stdout


def test_disassembly_names_the_watch_instructions():
    buf = ffi.new("char[96]")
    for raw, text in [((2 << 25) | (11 << 20) | (10 << 15) | (10 << 7) | 0x0B, "wp.set a0, a0, a1, 2"),
                      ((3 << 25) | (6 << 20) | (5 << 15) | (1 << 12) | (7 << 7) | 0x0B, "wp.clear t2, t0, t1, 3")]:
        lib.wb_disassemble(raw, 0, buf, 96)
        assert ffi.string(buf).decode() == text
    lib.wb_disassemble((4 << 25) | 0x0B, 0, buf, 96)   # flags 4: no such instruction
    assert "illegal" in ffi.string(buf).decode() or "unknown" in ffi.string(buf).decode()


@pytest.mark.parametrize("kw, words", [
    ({"watch": "everything"}, "unknown watchpoint mechanism"),
    ({"watch": 1}, "unknown watchpoint mechanism"),
    ({"watch": "unlimited", "watch_cache": 0}, "watch_cache"),
    ({"watch": "unlimited", "watch_cache": 1 << 25}, "watch_cache"),
    ({"watch_trace": True}, "watch_trace needs the watchpoint unit"),
])
def test_bad_watch_settings(kw, words):
    with pytest.raises(ConfigError, match=words):
        Machine(**kw)


def test_engine_refuses_bad_mechanisms_and_system_mode():
    cfg = ffi.new("wb_config *")
    lib.wb_config_init(cfg)
    err = ffi.new("char[512]")
    cfg.watch = 9
    assert lib.wb_machine_create(cfg, err, 512) == ffi.NULL
    assert "unknown watchpoint mechanism 9" in ffi.string(err).decode()
    cfg.watch = 1
    boot = ffi.new("wb_boot *")
    assert lib.wb_system_create(cfg, boot, err, 512) == ffi.NULL
    assert "user mode only" in ffi.string(err).decode()
