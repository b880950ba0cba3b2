"""Interrupts at arbitrary host moments (system mode's host-clock mode): the random-interrupt
test. A host thread raises the machine software interrupt at random moments while the
bare-metal program async_ipi runs a self-checking loop (in translated code on the JIT tier);
every interrupt must be taken exactly once, at an instruction boundary, with the guest's
registers and memory intact. Also: Linux boots in host-clock mode on both tiers."""
from __future__ import annotations

import random
import shutil
import time

import pytest
from elftools.elf.elffile import ELFFile

from workbench import ConfigError, System, available_tiers, baremetal, kernels

needs_cc = pytest.mark.skipif(shutil.which("riscv64-linux-gnu-gcc") is None,
                              reason="needs riscv64-linux-gnu-gcc (make test installs it)")
TARGET = 200   # async_ipi.c's TARGET


@pytest.fixture(scope="module")
def elf():
    return baremetal.build("async_ipi")


def _insn_starts(path) -> set[int]:
    """Every instruction address of the program's code (a linear sweep: its text is code only)."""
    starts = set()
    with open(path, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if not (sec["sh_flags"] & 0x4) or sec["sh_type"] != "SHT_PROGBITS":   # SHF_EXECINSTR
                continue
            data, addr, off = sec.data(), sec["sh_addr"], 0
            while off + 2 <= len(data):
                starts.add(addr + off)
                off += 4 if (data[off] & 3) == 3 else 2
    return starts


def _random_injector(seed: int, max_gap_s: float = 0.002):
    def run(inj):
        rng = random.Random(seed)
        while not inj.done.is_set():
            time.sleep(rng.uniform(0, max_gap_s))
            inj.ipi()
    return run


@needs_cc
@pytest.mark.parametrize("tier", available_tiers())
def test_random_interrupts_are_taken_once_each_at_instruction_boundaries(elf, tier):
    holder = {}

    def injector(inj):
        holder["inj"] = inj
        _random_injector(seed=7)(inj)

    boot = System(firmware=elf, tier=tier, deterministic=False).boot(wall_limit=120, injector=injector)
    assert boot.ok, (boot.summary, boot.console)
    lines = boot.console.splitlines()
    assert f"async_ipi: interrupts: {TARGET}" in lines, boot.console
    assert "async_ipi: state intact: yes" in lines and "async_ipi: iterations > 0: yes" in lines, boot.console
    inj = holder["inj"]
    # the last one may have been raised after the program stopped taking them
    assert inj.accepted in (TARGET, TARGET + 1), (inj.accepted, inj.merged)
    log = boot.interrupt_log
    msi = log[log.name == "MSI"]
    assert len(msi) == TARGET and len(log) == TARGET            # none lost, none twice
    starts = _insn_starts(elf)
    assert set(msi.pc) <= starts, sorted(set(msi.pc) - starts)[:5]   # instruction boundaries
    assert (msi.delivery_ns >= msi.arrival_ns).all() and (msi.delivery_insn >= msi.arrival_insn).all()


def test_an_injector_needs_host_clock_mode(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x6f\x00\x00\x00")
    with pytest.raises(ConfigError, match="deterministic=False"):
        System(fw).boot(max_insns=10, injector=lambda inj: None)


@pytest.mark.timeout(3600)
@pytest.mark.skipif(not kernels.LINUX_SOURCE_TARBALL.is_file() or shutil.which("riscv64-linux-gnu-gcc") is None
                    or not kernels.OPENSBI_FW_JUMP.is_file(), reason="needs the kernel build's inputs")
@pytest.mark.parametrize("tier", available_tiers())
def test_linux_boots_in_host_clock_mode(tier):
    image, rd = kernels.build_linux().image, kernels.build_initramfs()
    b = System(kernels.OPENSBI_FW_JUMP, kernel=image, initrd=rd, bootargs=kernels.DEFAULT_APPEND,
               tier=tier, deterministic=False).boot(wall_limit=300)
    assert b.ok and "wb-init: done" in b.console, (b.summary, b.console[-2000:])
    names = set(b.interrupt_log.name)
    assert {"MTI", "STI", "SEI"} <= names
