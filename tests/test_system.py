"""System mode's entry points (workbench.System, wbrun -F): a tiny M-mode program takes an
ecall trap and a timer interrupt and powers off through the test device; bad images and bad
settings are clear errors; a guest that never powers off stops at its budget; a boot is
deterministic. The privileged ISA itself is tested against qemu-system-riscv64 by
tests/test_baremetal.py, and Linux by tests/test_linux_boot.py."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from workbench import ConfigError, LoadError, System, available_tiers

CC = shutil.which("riscv64-linux-gnu-gcc")
needs_cc = pytest.mark.skipif(CC is None, reason="needs riscv64-linux-gnu-gcc (make test installs it)")

# prints A, takes an ecall (the handler prints B and steps over it), prints C, arms the CLINT
# timer 50 ticks ahead and spins; the timer interrupt prints T and powers off with `code`
SMOKE = r"""
  .globl _start
_start:
  la t0, trap
  csrw mtvec, t0
  li a0, 0x10000000
  li t1, 'A'
  sb t1, 0(a0)
  ecall
  li t1, 'C'
  sb t1, 0(a0)
  li t2, 0x200bff8
  ld t3, 0(t2)
  addi t3, t3, 50
  li t2, 0x2004000
  sd t3, 0(t2)
  li t1, 0x80
  csrs mie, t1
  csrsi mstatus, 8
1: j 1b
trap:
  csrr t4, mcause
  bltz t4, irq
  li t1, 'B'
  sb t1, 0(a0)
  csrr t5, mepc
  addi t5, t5, 4
  csrw mepc, t5
  mret
irq:
  li t1, 'T'
  sb t1, 0(a0)
  li t2, 0x100000
  li t1, CODE
  sw t1, 0(t2)
2: j 2b
"""


def _build(tmp_path, code: int = 0x5555, src: str = SMOKE):
    s = tmp_path / "smoke.S"
    s.write_text(src.replace("CODE", hex(code)))
    elf = tmp_path / "smoke.elf"
    subprocess.run([CC, "-nostdlib", "-static", "-Wl,-N", "-Wl,--build-id=none",
                    "-Wl,-Ttext=0x80000000", "-o", str(elf), str(s)], check=True, capture_output=True)
    return elf


@needs_cc
def test_a_trap_and_a_timer_interrupt_then_poweroff(tmp_path):
    boot = System(_build(tmp_path)).boot(max_insns=1_000_000)
    assert boot.reason == "exit" and boot.exit_code == 0, boot.message
    assert boot.console == "ABCT" and boot.ok
    assert boot.interrupts == 1
    # mtime ticks every 100 ns of guest time = 100 instructions at 1 ns each: the interrupt
    # lands ~5000 instructions after the timer was armed, at the same count every time
    again = System(_build(tmp_path)).boot(max_insns=1_000_000)
    assert again.instructions == boot.instructions and 5000 <= boot.instructions < 6000


@needs_cc
def test_the_test_device_gives_the_exit_code(tmp_path):
    boot = System(_build(tmp_path, code=(7 << 16) | 0x3333)).boot(max_insns=1_000_000)
    assert boot.reason == "exit" and boot.exit_code == 7 and not boot.ok


@needs_cc
def test_a_guest_that_never_powers_off_stops_at_its_budget(tmp_path):
    spin = "  .globl _start\n_start:\n1: j 1b\n"
    boot = System(_build(tmp_path, src=spin)).boot(max_insns=100_000)
    assert boot.reason == "budget" and boot.instructions == 100_000


@needs_cc
def test_wbrun_boots_too(tmp_path):
    """The command-line runner, and the ASan/UBSan build of it where it exists."""
    from conftest import wbrun_binaries
    elf = _build(tmp_path, code=(3 << 16) | 0x3333)
    for wbrun in wbrun_binaries():
        r = subprocess.run([str(wbrun), "-F", str(elf), "-n", "1000000"], capture_output=True, timeout=60)
        assert r.returncode == 3 and r.stdout == b"ABCT", (wbrun, r.stderr)


def test_bad_images_are_load_errors(tmp_path):
    with pytest.raises(LoadError, match="No such file"):
        System(tmp_path / "missing.bin").boot()
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="empty file"):
        System(empty).boot()
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x6f\x00\x00\x00")          # j . (a raw image is fine as firmware)
    notkernel = tmp_path / "Image"
    notkernel.write_bytes(b"\0" * 4096)
    with pytest.raises(LoadError, match="neither a RISC-V Linux Image"):
        System(fw, kernel=notkernel).boot()
    with pytest.raises(LoadError, match="not a 64-bit RISC-V"):
        System(fw, kernel=shutil.which("true")).boot()
    bad_cpio = tmp_path / "initrd"
    bad_cpio.write_bytes(b"garbage" * 100)
    with pytest.raises(LoadError, match="not a cpio archive"):
        System(fw, initrd=bad_cpio).boot()
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 << 20))              # firmware gets the first 2 MiB
    with pytest.raises(LoadError, match="larger than"):
        System(big).boot()


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="ram_mb"):
        System("fw.bin", ram_mb=8)
    with pytest.raises(ConfigError, match="even"):
        System("fw.bin", ram_mb=255)
    for harts in (0, 9, 1.5):
        with pytest.raises(ConfigError, match="harts"):
            System("fw.bin", harts=harts)
    with pytest.raises(ConfigError, match="tier"):
        System("fw.bin", tier="qemu")
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x6f\x00\x00\x00")
    # a jump to itself: both tiers stop it at the same budget
    stops = [System(fw, tier=t).boot(max_insns=1000) for t in available_tiers()]
    assert {(b.reason, b.instructions, b.pc) for b in stops} == {("budget", 1000, 0x80000000)}
