"""Self-modifying code and fence.i: the engine must run the new instructions, like qemu.

The guest maps a read-write-execute page, writes a small function into it, runs it, rewrites
one instruction and runs it again — with fence.i (the architected way), and without it (the
engine catches the write to translated code by write-protecting such pages). A loop that
patches its own next iteration's immediate checks repeated invalidation. Every tier's output
and exit status must equal qemu-riscv64's.
"""
from __future__ import annotations

import subprocess

import pytest

from workbench import Machine, available_tiers

from conftest import QEMU, assemble, needs_cross, needs_qemu

pytestmark = [needs_cross, needs_qemu]

# li a0, IMM  is  addi a0, zero, IMM: (IMM << 20) | (10 << 7) | 0x13 ; ret = 0x00008067
PROGRAM = r"""
    .globl _start
_start:
    # page = mmap(0, 4096, PROT_READ|WRITE|EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
    li a0, 0
    li a1, 4096
    li a2, 7
    li a3, 0x22
    li a4, -1
    li a5, 0
    SYSCALL 222
    mv s0, a0
    li s3, 0                # accumulated results
    # write "li a0, 5; ret" and call it
    li t0, (5 << 20) | (10 << 7) | 0x13
    sw t0, 0(s0)
    li t0, 0x00008067
    sw t0, 4(s0)
    FENCE
    jalr ra, 0(s0)
    add s3, s3, a0          # +5
    # patch the immediate to 7, call again (hot now in every tier)
    li s1, 0
1:  li t0, (7 << 20) | (10 << 7) | 0x13
    sw t0, 0(s0)
    FENCE
    jalr ra, 0(s0)
    add s3, s3, a0          # +7 per iteration
    # and make the next iteration's value depend on this one: imm = 7 + s1
    addi s1, s1, 1
    li t1, 20
    blt s1, t1, 1b
    # a patch that changes the instruction each time: li a0, k for k = 0..29
    li s1, 0
2:  slli t0, s1, 20
    li t1, (10 << 7) | 0x13
    or t0, t0, t1
    sw t0, 0(s0)
    FENCE
    jalr ra, 0(s0)
    add s3, s3, a0
    addi s1, s1, 1
    li t1, 30
    blt s1, t1, 2b
    # exit(s3 & 255): 5 + 20*7 + (0+...+29) = 580 -> 68
    andi a0, s3, 255
    li a7, 93
    ecall
"""


def _elf(fence: bool):
    return assemble(PROGRAM.replace("FENCE", "fence.i" if fence else "nop"))


@pytest.mark.parametrize("fence", [True, False], ids=["fence.i", "no-fence"])
@pytest.mark.parametrize("tier", available_tiers() + (["jit-hot0"] if "jit" in available_tiers() else []))
def test_self_modifying_code_matches_qemu(tier, fence):
    elf = _elf(fence)
    q = subprocess.run([QEMU, str(elf)], capture_output=True, timeout=60)
    assert q.returncode == 68
    kw = dict(tier="jit", jit_hot=0) if tier == "jit-hot0" else dict(tier=tier)
    r = Machine(**kw).run(elf, capture=True)
    assert r.reason == "exit", r.message
    assert r.exit_code == q.returncode
    # every patch of the 50 dropped the stale translation (fence.i, or the write fault)
    assert r.cache_flushes >= 50, r.cache_flushes
