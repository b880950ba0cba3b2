"""Self-modifying code and fence.i: the engine must run the new instructions, like qemu.

The guest maps a read-write-execute page, writes a small function into it, runs it, rewrites
one instruction and runs it again — with fence.i (the architected way), and without it (the
engine catches the write to translated code by write-protecting such pages). A loop that
patches its own next iteration's immediate checks repeated invalidation. Every tier's output
and exit status must equal qemu-riscv64's.
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

from workbench import Machine, available_tiers

from conftest import QEMU, asan_wbrun, assemble, needs_cross, needs_qemu

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


# ---- stores into the page that is running (an RWX segment: the section flags "awx") ----
#
# The engine write-protects a guest-writable page once code from it is translated. A store
# into the page that holds the running code used to livelock both tiers: the translations
# were dropped and the store ran again, but the block rebuilt at the store protected the page
# again first (and instret was rolled back each time, so --max-insns never fired). Now the
# store itself is completed (machine.c, complete_code_write) and the run goes on after it.

RWX_SECTION = '.section .smc, "awx", @progbits'
RWX_LINK = ("-Wl,--no-warn-rwx-segments",)

# (a) stores and an AMO into data on the running page, never into an instruction
BESIDE_CODE = r"""
    SECTION
    .globl _start
_start:
    la s0, data
    li t0, 40
    sw t0, 0(s0)            # into this page, not into code
    li t1, 1
    amoadd.w zero, t1, (s0) # an AMO there too (the JIT runs it through the interpreter)
    sb t1, 5(s0)
    li t0, 0x0a6b6f         # "ok\n", written next to the code and printed from there
    sw t0, 8(s0)
    li a0, 1
    addi a1, s0, 8
    li a2, 3
    SYSCALL 64
    lw a0, 0(s0)            # 41
    lbu t2, 5(s0)
    add a0, a0, t2          # 42
    li a7, 93
    ecall
    .balign 64
data: .dword 0, 0
"""

# (b) a store that rewrites an instruction later in the same block: "li a0, 5" becomes
# "li a0, 7" (the instruction is 4 bytes long: .option norvc)
SAME_BLOCK = r"""
    SECTION
    .globl _start
_start:
    la s0, target
    li t0, (7 << 20) | (10 << 7) | 0x13   # li a0, 7
    sw t0, 0(s0)
    FENCE
    .option push
    .option norvc
target:
    li a0, 5
    .option pop
    li a7, 93
    ecall
"""

# (c) a loop storing into its own page N times: a counter next to the code
COUNTER_LOOP = r"""
    SECTION
    .globl _start
_start:
    la s0, data
    li s1, 0
    li s2, N
1:  sw s1, 0(s0)            # the counter, in the loop's own page
    addi s1, s1, 1
    blt s1, s2, 1b
    lw a0, 0(s0)            # N - 1
    andi a0, a0, 255
    li a7, 93
    ecall
    .balign 256
data: .word 0
"""

# (c') a loop rewriting an instruction of its own page N times ("li a0, i & 0x7ff"), run
# right after in another block: every iteration drops the translations
PATCH_LOOP = r"""
    SECTION
    .globl _start
_start:
    la s0, patched
    li s1, 0
    li s2, N
    li s3, 0
    li t1, (10 << 7) | 0x13   # addi a0, zero, 0
1:  andi t0, s1, 0x7ff
    slli t0, t0, 20
    or t0, t0, t1
    sw t0, 0(s0)
    j 2f
2:
    .option push
    .option norvc
patched:
    li a0, 0
    .option pop
    add s3, s3, a0
    addi s1, s1, 1
    blt s1, s2, 1b
    andi a0, s3, 255
    li a7, 93
    ecall
"""

RWX_TIERS = available_tiers() + (["jit-hot0"] if "jit" in available_tiers() else [])


def _rwx(src: str, **subst) -> Path:
    src = src.replace("SECTION", RWX_SECTION)
    for k, v in subst.items():
        src = src.replace(k, str(v))
    return assemble(src, extra=RWX_LINK)


def _machine(tier, **kw):
    # a generous wall-clock limit: a livelock fails the test instead of hanging it
    kw.setdefault("wall_limit", 60)
    return Machine(**(dict(tier="jit", jit_hot=0) if tier == "jit-hot0" else dict(tier=tier)), **kw)


@functools.lru_cache(maxsize=None)
def _qemu(elf):
    return subprocess.run([QEMU, str(elf)], capture_output=True, timeout=120)


@pytest.mark.parametrize("tier", RWX_TIERS)
def test_store_beside_the_running_code_continues(tier):
    elf = _rwx(BESIDE_CODE)
    q = _qemu(elf)
    r = _machine(tier).run(elf, capture=True)
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout) == (q.returncode, q.stdout) == (42, b"ok\n")
    assert r.instructions == 20  # each completed store counted once
    # data beside code keeps the translations (the load flushes once)
    assert r.cache_flushes <= 2, r.cache_flushes


@pytest.mark.parametrize("tier", RWX_TIERS)
def test_store_into_a_later_instruction_of_the_same_block(tier):
    """With fence.i the new instruction runs, in every tier and in qemu. Without it the
    engine runs the new instruction too (the store drops the translations before the rest
    of the block runs); qemu-riscv64 7.2 finishes the block as translated and runs the old
    one. RISC-V allows both: only fence.i makes the store visible to instruction fetch."""
    fenced = _rwx(SAME_BLOCK.replace("FENCE", "fence.i"))
    assert _qemu(fenced).returncode == 7
    r = _machine(tier).run(fenced)
    assert (r.reason, r.exit_code) == ("exit", 7), r.message
    assert r.instructions == 9
    r = _machine(tier).run(_rwx(SAME_BLOCK.replace("FENCE", "nop")))
    assert (r.reason, r.exit_code) == ("exit", 7), r.message
    assert _qemu(_rwx(SAME_BLOCK.replace("FENCE", "nop"))).returncode in (5, 7)


@pytest.mark.parametrize("tier", RWX_TIERS)
def test_loop_storing_into_its_own_page(tier):
    n = 300_000  # qemu-riscv64 needs ~3 s for these (a write fault and a retranslation each)
    elf = _rwx(COUNTER_LOOP, N=n)
    q = _qemu(elf)
    assert q.returncode == (n - 1) & 255
    r = _machine(tier).run(elf)
    assert (r.reason, r.exit_code) == ("exit", q.returncode), r.message
    assert r.instructions == 3 * n + 9  # each completed store counted once
    assert r.seconds < 10, r.seconds  # ~1 us per store here
    assert r.cache_flushes <= 2, r.cache_flushes
    # a small budget ends it, exactly (it used to spin with instret rolled back)
    for budget in (1, 1000, 100_001):
        r = _machine(tier, max_insns=budget).run(elf)
        assert r.reason == "budget", r.message
        assert budget - 3 <= r.instructions <= budget


@pytest.mark.parametrize("tier", RWX_TIERS)
def test_loop_rewriting_code_in_its_own_page(tier):
    n = 20_000
    elf = _rwx(PATCH_LOOP, N=n)
    q = _qemu(elf)
    assert q.returncode == sum(i & 0x7FF for i in range(n)) & 255
    r = _machine(tier).run(elf)
    assert (r.reason, r.exit_code) == ("exit", q.returncode), r.message
    assert r.cache_flushes >= n  # every patch dropped the stale translation
    r = _machine(tier, max_insns=50_000).run(elf)
    assert r.reason == "budget", r.message
    assert 50_000 - 3 <= r.instructions <= 50_000


@pytest.mark.parametrize("tier", RWX_TIERS)
def test_client_streams_equal_across_tiers_with_stores_into_code_pages(tier):
    """The completed store is recorded once (its record is made before the access faults)."""
    elf = _rwx(COUNTER_LOOP, N=50)
    r = _machine(tier, clients=["memtrace"]).run(elf)
    ref = _machine("interp", clients=["memtrace"]).run(elf)
    assert r.reason == ref.reason == "exit"
    a, b = r.records["memtrace"], ref.records["memtrace"]
    assert len(a) == len(b) == 52  # the GOT load of la, 50 stores, the final load
    assert (a == b).all()


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", [t for t in ("interp", "jit") if t in available_tiers()])
def test_stores_into_the_running_page_under_asan(tier):
    for elf, rc, opts in ((_rwx(BESIDE_CODE), 42, ()), (_rwx(SAME_BLOCK.replace("FENCE", "fence.i")), 7, ()),
                          (_rwx(COUNTER_LOOP, N=20_000), 19_999 & 255, ()),
                          (_rwx(PATCH_LOOP, N=2_000), sum(i & 0x7FF for i in range(2_000)) & 255, ()),
                          (_rwx(COUNTER_LOOP, N=20_000), 125, ("-n", "5000"))):
        p = subprocess.run([str(asan_wbrun()), "-T", tier, "-t", "60", *opts, str(elf)],
                           capture_output=True, timeout=120)
        assert p.returncode == rc, p.stderr.decode()
        if rc == 125:
            assert b"instruction budget of 5000 reached" in p.stderr
