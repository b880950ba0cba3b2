"""JIT-specific behaviour, each case compared with the interpreter (the reference tier):
faults from base registers and offsets at the edges of the guest address space (the JIT
checks a base once per block and relies on guard regions for the offset), and the knobs that
change when code is translated and how registers are mapped.
"""
from __future__ import annotations

import pytest

from workbench import Machine, available_tiers, guests

from conftest import assemble, needs_cross

pytestmark = pytest.mark.skipif("jit" not in available_tiers(), reason="no JIT tier on this host")

EDGE = r"""
    .globl _start
_start:
    lla s0, buf
    ld t0, 0(s0)          # a checked base ...
    ld t1, 8(s0)          # ... used again unchecked
    li s1, {base}
    {op} t2, {imm}(s1)
    EXIT 0
    .data
    .balign 8
buf: .dword 1, 2
"""

CASES = {
    "minus16-plus16": ("-16", "16", "ld"),                 # address 0: unmapped page 0
    "x0-minus8": ("0", "-8", "ld"),                        # address -8: outside
    "top-plus": ("0xfffff800", "2047", "ld"),              # 4 GiB + 0x7ff: outside
    "above-minus": ("0x100000008", "-16", "sd"),           # base out of range, address in range
    "far": ("0x7000000000000000", "0", "sb"),
    "neg-store": ("-2048", "2047", "sw"),
}


@needs_cross
@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_addresses_fault_like_the_interpreter(case):
    base, imm, op = CASES[case]
    src = EDGE.replace("{base}", base).replace("{imm}", imm).replace("{op}", op)
    elf = assemble(src)
    runs = [Machine(tier="interp").run(elf), Machine(tier="jit", jit_hot=0).run(elf)]
    a, b = runs
    assert a.reason == "fault", a.message
    assert (b.reason, b.pc, b.fault_addr, b.instructions) == (a.reason, a.pc, a.fault_addr, a.instructions)
    assert b.message == a.message


@pytest.mark.parametrize("hot,profile", [(0, 1 << 25), (1, 1000), (64, 10_000), (4, 0)])
def test_tiering_and_register_map_knobs_keep_results(hot, profile):
    root = guests.LUA_SCRIPTS_DIR
    ref = Machine(tier="interp", root=root).run(guests.build("lua54"), ["strings.lua"], capture=True)
    r = Machine(tier="jit", jit_hot=hot, jit_profile_insns=profile, root=root).run(
        guests.build("lua54"), ["strings.lua"], capture=True)
    assert r.ok and r.stdout == ref.stdout and r.instructions == ref.instructions


def test_budget_stops_at_the_same_instruction_on_both_tiers():
    root = guests.LUA_SCRIPTS_DIR
    for budget in (12_345, 1_000_000, 7_654_321):
        runs = [Machine(tier=t, max_insns=budget, root=root).run(guests.build("lua54"), ["tables.lua"], capture=True)
                for t in ("interp", "jit")]
        a, b = runs
        assert a.reason == b.reason == "budget"
        assert (a.instructions, a.pc) == (b.instructions, b.pc)


@pytest.mark.parametrize("clients", [[], ["memtrace", "bbprofile"]])
def test_a_tiny_code_cache_fills_and_refills(clients):
    """With a 64 KiB cache Lua fills it over and over; every flush drops chained exits and the
    jump table, and the run (and its events) must not notice."""
    root = guests.LUA_SCRIPTS_DIR
    args = (guests.build("lua54"), ["coroutines.lua"])
    ref = Machine(tier="interp", root=root, clients=clients).run(*args, capture=True)
    r = Machine(tier="jit", jit_hot=0, jit_cache_bytes=64 << 10, root=root, clients=clients).run(*args, capture=True)
    assert r.ok and r.stdout == ref.stdout and r.instructions == ref.instructions
    assert r.cache_flushes > 10
    for s in clients:
        assert r.records[s].tobytes() == ref.records[s].tobytes()
