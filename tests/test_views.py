"""Guest memory views (mem.c) and completing a faulting access through the primary view.

native/tests/test_views.c registers a client that records view faults; the guest below
stores to and loads from a page its view denies, ten times each, interleaved with accesses to
a page it may touch. Every denied access must be reported once (pc, address, size, kind), be
completed (the guest's sum proves the values went to the right place) and the guest resume at
the next instruction; the allowed page must cause no fault. Both tiers, both kinds of view.
"""
from __future__ import annotations

import subprocess

import pytest

from workbench import available_tiers

from conftest import assemble, build_c_test, needs_cross

GUEST = r"""
    .globl _start
_start:
    lla s0, buf
    li t0, {window}
    slli t0, t0, 32
    add s0, s0, t0
    lla s2, other
    li s1, 0
    li s4, 0
1:  slli t1, s1, 3
    add t2, s0, t1
    sd s1, 0(t2)
    add t3, s2, t1
    sd s1, 0(t3)
    ld t4, 0(t2)
    add s4, s4, t4
    lbu t5, 0(t3)
    add s4, s4, t5
    addi s1, s1, 1
    li t6, 10
    blt s1, t6, 1b
    mv a0, s4
    li a7, 93
    ecall
    .data
    .balign 4096
buf: .zero 4096
other: .zero 4096
"""


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_c_test("test_views", tmp_path_factory.mktemp("views"))


def _symbol(elf, name):
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
            if s.name == name:
                return s["st_value"]
    raise KeyError(name)


@needs_cross
@pytest.mark.parametrize("mode", ["view", "window"])
@pytest.mark.parametrize("tier", available_tiers())
def test_denied_accesses_fault_are_recorded_and_complete(exe, tier, mode):
    elf = assemble(GUEST.replace("{window}", "1" if mode == "window" else "0"))
    buf = _symbol(elf, "buf")
    r = subprocess.run([str(exe), tier, str(elf), hex(buf), mode], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    offset = int(lines[0].split()[1])
    assert lines[1].startswith("reason exit exit 90 "), r.stdout
    head, faults = lines[2], [l.split() for l in lines[3:]]
    assert head == "faults 20 completed 20", r.stdout
    base = buf + (offset if mode == "window" else 0)
    want = [(base + 8 * i, kind) for i in range(10) for kind in (1, 0)]
    got = [(int(f[1], 16), int(f[3])) for f in faults]
    assert got == want
    assert all(f[2] == "8" for f in faults)
    # two instructions fault, each ten times
    assert len({f[0] for f in faults}) == 2
    assert "runtime error" not in r.stderr
