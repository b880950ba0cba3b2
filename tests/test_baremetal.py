"""The privileged ISA, checked against qemu-system-riscv64: the bare-metal programs of
workloads/baremetal (csrs, traps, sv39, interrupts, uart) print one line per check; qemu's
output is the golden (workloads/baremetal/expected/NAME.txt) and our engine's system mode must
print the same, except for the lines workbench.baremetal.ALTERNATIVES lists (the spec leaves
them to the implementation, or qemu 7.2 gets them wrong)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from workbench import ConfigError, LoadError, System, available_tiers, baremetal

needs_cc = pytest.mark.skipif(shutil.which("riscv64-linux-gnu-gcc") is None,
                              reason="needs riscv64-linux-gnu-gcc (make test installs it)")
needs_qemu = pytest.mark.skipif(baremetal.qemu_binary() is None,
                                reason="needs qemu-system-riscv64 (apt-get install qemu-system-misc)")

PROGRAMS = list(baremetal.PROGRAMS)
MAX_INSNS = 200_000_000


def _report(name: str, output: str, problems: list[str]) -> str:
    return f"{name}: {len(problems)} difference(s) from the golden:\n  " + "\n  ".join(problems) + \
        "\n--- full output ---\n" + output


@pytest.fixture(scope="module")
def elves():
    try:
        return baremetal.build_all()
    except baremetal.ToolchainNotFound as exc:  # pragma: no cover - the Makefile installs it
        pytest.skip(str(exc))


@needs_cc
@pytest.mark.parametrize("name", PROGRAMS)
def test_goldens_exist_and_end_cleanly(name):
    golden = baremetal.expected_output(name)
    assert golden is not None, f"missing {baremetal.golden_file(name)}: python -m workbench.baremetal goldens {name}"
    lines = golden.splitlines()
    assert lines[0] == f"{name}: start" and lines[-1] == f"{name}: done"
    assert not any(line.startswith("UNEXPECTED") for line in lines)


@needs_cc
@needs_qemu
@pytest.mark.parametrize("name", PROGRAMS)
def test_qemu_prints_the_golden(elves, name):
    rc, out = baremetal.run_qemu(elves[name], timeout=120)
    assert rc == 0, f"qemu exited with status {rc}:\n{out}"
    problems = baremetal.compare(name, out, oracle=True)
    assert not problems, _report(name, out, problems)


@needs_cc
@pytest.mark.parametrize("tier", available_tiers())
@pytest.mark.parametrize("name", PROGRAMS)
def test_engine_prints_the_golden(elves, name, tier):
    boot = System(firmware=elves[name], tier=tier).boot(max_insns=MAX_INSNS)
    assert boot.reason == "exit" and boot.exit_code == 0, \
        f"{name}: reason {boot.reason}, exit code {boot.exit_code}, {boot.message}, pc {boot.pc:#x}\n{boot.console}"
    problems = baremetal.compare(name, boot.console)
    assert not problems, _report(name, boot.console, problems)


@needs_cc
@pytest.mark.skipif("jit" not in available_tiers(), reason="no JIT tier on this host")
@pytest.mark.parametrize("name", PROGRAMS)
def test_tiers_agree_to_the_instruction(elves, name):
    """Both tiers take every trap and interrupt at the same instruction."""
    a = System(firmware=elves[name], tier="interp").boot(max_insns=MAX_INSNS)
    for hot in (None, 0, 1):   # 0: every block translated at once (traps in translated code)
        b = System(firmware=elves[name], tier="jit", jit_hot=hot).boot(max_insns=MAX_INSNS)
        assert (a.console_bytes, a.instructions, a.interrupts) == (b.console_bytes, b.instructions, b.interrupts), hot


@needs_cc
def test_engine_boots_are_deterministic(elves):
    a = System(firmware=elves["interrupts"]).boot(max_insns=MAX_INSNS)
    b = System(firmware=elves["interrupts"]).boot(max_insns=MAX_INSNS)
    assert (a.console_bytes, a.instructions, a.interrupts) == (b.console_bytes, b.instructions, b.interrupts)
    assert a.interrupts > 0


def test_alternatives_name_golden_lines():
    """Every line ALTERNATIVES gives a choice for is in that program's golden, so that a
    regenerated golden cannot silently make an entry dead."""
    for name, alts in baremetal.ALTERNATIVES.items():
        golden = baremetal.expected_output(name)
        assert golden is not None, name
        lines = set(golden.splitlines())
        for line, alt in alts.items():
            assert line in lines, f"{name}: {line!r} is not a line of the golden"
            assert alt.lines and alt.why and line not in alt.lines


def test_compare_applies_alternatives():
    golden = "traps: start\n  mret to S cleared MPRV: no\nld at +1: no trap, value ok\ntraps: done\n"
    same = golden
    assert baremetal.compare("traps", same, golden=golden, oracle=True) == []
    # qemu's non-conforming line is not good enough for anyone else
    assert baremetal.compare("traps", same, golden=golden)
    spec = golden.replace("MPRV: no", "MPRV: yes")
    assert baremetal.compare("traps", spec, golden=golden) == []
    trapping = spec.replace("no trap, value ok", "trap, mcause 0x4, mtval = the address")
    assert baremetal.compare("traps", trapping, golden=golden) == []
    wrong = spec.replace("no trap, value ok", "no trap, WRONG value")
    (problem,) = baremetal.compare("traps", wrong, golden=golden)
    assert "line 3" in problem and "WRONG" in problem
    assert baremetal.compare("traps", "traps: start\n", golden=golden)


@needs_cc
def test_build_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path))
    elf = baremetal.build("uart")
    assert elf.is_file() and str(elf).startswith(str(tmp_path / "baremetal"))
    mtime = elf.stat().st_mtime_ns
    assert baremetal.build("uart") == elf and elf.stat().st_mtime_ns == mtime
    info = baremetal.elf_info(elf)
    assert info.machine_name == "riscv" and info.elf_class == 64 and info.entry == baremetal.LOAD_ADDRESS


def test_build_errors_are_clear(monkeypatch):
    with pytest.raises(baremetal.UnknownGuestError, match="known: csrs"):
        baremetal.build("nosuch")
    monkeypatch.setenv("WB_RISCV_GCC", "no-such-riscv-gcc")
    with pytest.raises(baremetal.ToolchainNotFound, match="WB_RISCV_GCC"):
        baremetal.build("csrs")
    monkeypatch.delenv("WB_RISCV_GCC")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(baremetal.ToolchainNotFound, match="apt-get install gcc-riscv64-linux-gnu"):
        baremetal.build("csrs")


@needs_cc
def test_a_program_that_never_powers_off_stops_at_its_budget(tmp_path):
    d = baremetal.source_dir()
    src = tmp_path / "spin.c"
    src.write_text('#include "lib.h"\nint main(void) {\n  puts_("spin\\n");\n  for (;;) {\n  }\n}\n')
    elf = tmp_path / "spin.elf"
    tc = baremetal.compiler()
    subprocess.run([*tc.cc, *tc.target_flags, "-T", str(d / "link.ld"), f"-I{d}", str(d / "crt.S"),
                    str(d / "lib.c"), str(src), "-o", str(elf)], check=True, capture_output=True)
    boot = System(firmware=elf).boot(max_insns=300_000)
    assert boot.reason == "budget" and boot.instructions == 300_000
    assert boot.console == "spin\n" and not boot.ok


def test_missing_or_foreign_firmware_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="No such file"):
        System(firmware=tmp_path / "nosuch.elf").boot(max_insns=1000)
    true = shutil.which("true")
    assert true is not None
    with pytest.raises(LoadError, match="RISC-V"):
        System(firmware=true).boot(max_insns=1000)


@needs_cc
def test_clients_in_system_mode_agree_on_both_tiers(elves):
    """Built-in clients see the firmware's code in every privilege: sv39 runs in M, S and U,
    so memtrace's records carry all three (and virtual addresses); both tiers, every block
    translated at once on the JIT, record the same accesses in the same order."""
    runs = {t: System(firmware=elves["sv39"], tier=t, clients=["memtrace", "bbprofile"],
                      jit_hot=0 if t == "jit" else None).boot(max_insns=MAX_INSNS)
            for t in available_tiers()}
    for b in runs.values():
        assert b.ok, b.summary
        ds = b.events("memtrace")
        assert ds.sizes["event"] > 1000 and set(ds.priv.values.tolist()) == {0, 1, 3}
        assert b.events("bbprofile").sizes["block"] > 10
    if len(runs) == 2:
        assert (runs["interp"].records["memtrace"] == runs["jit"].records["memtrace"]).all()
    with pytest.raises(ConfigError, match="clients"):
        System(firmware=elves["sv39"], clients=["nope"])


@needs_cc
def test_memphys_sees_physical_addresses_and_privilege(elves):
    """sv39's S-mode loads through the 2 MiB megapage at VA 0x40000000 reach physical
    0x80400000 + offset; M's accesses are physical (identity); both tiers record the same."""
    runs = {t: System(firmware=elves["sv39"], tier=t, clients=["memphys"],
                      jit_hot=0 if t == "jit" else None).boot(max_insns=MAX_INSNS)
            for t in available_tiers()}
    for b in runs.values():
        assert b.ok, b.summary
        ds = b.events("memphys")
        va, pa, priv = ds.vaddr.values, ds.paddr.values, ds.priv.values
        mega = (va >= 0x40000000) & (va < 0x40200000) & (priv == 1)
        assert mega.sum() >= 2 and (pa[mega] == va[mega] - 0x40000000 + 0x80400000).all()
        m = (priv == 3) & (va >= 0x80000000) & (va < 0x90000000)
        assert m.sum() > 100 and (pa[m] == va[m]).all()
        assert (pa == 2**64 - 1).any()            # the faulting accesses it checks
    if len(runs) == 2:
        assert (runs["interp"].records["memphys"] == runs["jit"].records["memphys"]).all()
