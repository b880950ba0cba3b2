"""The engine through its Python API: exits, faults, illegal instructions, limits, bad ELFs,
unknown syscalls, determinism, and the `wb run` CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workbench
from workbench import ConfigError, LoadError, Machine

from conftest import REPO, assemble, needs_cross, wbrun_binaries

pytestmark = needs_cross

LOOP = """
    .globl _start
_start:
1:  addi t0, t0, 1
    j 1b
"""


def test_exit_status_and_stats():
    elf = assemble("""
    .globl _start
_start:
    li t0, 100
1:  addi t0, t0, -1
    bnez t0, 1b
    EXIT 42
""")
    r = Machine().run(elf)
    assert r.reason == "exit" and r.exit_code == 42
    # li + 100 * (addi, bnez) + li a0 + li a7 + ecall
    assert r.instructions == 1 + 200 + 3
    assert r.syscalls == {"exit": 1}
    assert r.blocks_translated >= 2


def test_write_to_stdout_is_captured():
    elf = assemble("""
    .globl _start
_start:
    li a0, 1
    la a1, msg
    li a2, 6
    SYSCALL 64
    EXIT 0
    .data
msg: .ascii "hello\\n"
""")
    r = Machine().run(elf, capture=True)
    assert r.ok and r.stdout == b"hello\n" and r.stderr == b""


def test_illegal_instruction_reports_pc_and_disassembly():
    elf = assemble("""
    .globl _start
_start:
    nop
    .word 0xffffffff
""")
    r = Machine().run(elf)
    assert r.reason == "illegal"
    assert r.instructions == 1
    assert "illegal instruction" in r.message and f"0x{r.pc:x}" in r.message
    assert "ffffffff" in r.message


def test_load_fault_reports_address_pc_and_insn():
    elf = assemble("""
    .globl _start
_start:
    li a0, 0x1234
    ld a1, 8(a0)
    EXIT 0
""")
    r = Machine().run(elf)
    assert r.reason == "fault"
    assert r.fault_addr == 0x123C
    assert r.instructions == 2  # lui+addi retire; the faulting load does not
    assert "ld a1, 8(a0)" in r.message and "0x123c" in r.message


def test_store_to_text_faults():
    elf = assemble("""
    .globl _start
_start:
    la a0, _start
    sd zero, 0(a0)
    EXIT 0
""")
    r = Machine().run(elf)
    assert r.reason == "fault" and "sd zero, 0(a0)" in r.message


def test_address_beyond_guest_space_faults():
    elf = assemble("""
    .globl _start
_start:
    li a0, -16
    lw a1, 0(a0)
    EXIT 0
""")
    r = Machine().run(elf)
    assert r.reason == "fault" and r.fault_addr == 2**64 - 16


def test_jump_to_unmapped_memory_is_a_fetch_fault():
    elf = assemble("""
    .globl _start
_start:
    li a0, 0x7000000
    jr a0
""")
    r = Machine().run(elf)
    assert r.reason == "fault" and r.pc == 0x7000000 and "fetch" in r.message


def test_ebreak_stops_the_run():
    elf = assemble("""
    .globl _start
_start:
    ebreak
""")
    assert Machine().run(elf).reason == "ebreak"


def test_instruction_budget():
    r = Machine(max_insns=100_000).run(assemble(LOOP))
    assert r.reason == "budget"
    assert 99_000 < r.instructions <= 100_000


def test_wall_clock_limit():
    r = Machine(wall_limit=0.3).run(assemble(LOOP))
    assert r.reason == "wallclock"
    assert r.seconds >= 0.3 and r.instructions > 0


# ---- huge and invalid wall-clock limits; programs that are not regular files ----

WBRUNS = wbrun_binaries()
needs_wbrun = pytest.mark.skipif(not WBRUNS, reason="no wbrun (installed, or build/asan)")

# a million instructions, then exit(3): long enough for the limit to be looked at
COUNT_LOOP = """
    .globl _start
_start:
    li t0, 300000
1:  addi t0, t0, -1
    bnez t0, 1b
    EXIT 3
"""


def _c_create_error(wall_limit_s: float) -> str | None:
    """wb_machine_create's error for this limit (None if it accepts it), without Python's checks."""
    from workbench._engine import ffi, lib

    cfg = ffi.new("wb_config *")
    lib.wb_config_init(cfg)
    cfg.wall_limit_s = wall_limit_s
    err = ffi.new("char[512]")
    m = lib.wb_machine_create(cfg, err, 512)
    if m == ffi.NULL:
        return ffi.string(err).decode()
    lib.wb_machine_destroy(m)
    return None


def test_wall_limit_inf_or_huge_means_no_limit():
    """(uint64_t)(s * 1e9) overflowed from ~1.8e10 s on and ended the run at once."""
    elf = assemble(COUNT_LOOP)
    for limit in (float("inf"), 1e300, 3e10, 1e9, 1e6):
        for tier in workbench.available_tiers():
            r = Machine(tier=tier, wall_limit=limit).run(elf)
            assert (r.reason, r.exit_code) == ("exit", 3), (limit, tier, r.message)
    assert _c_create_error(float("nan")) == "the wall-clock limit is not a number"
    assert _c_create_error(-1.0) == "negative wall-clock limit"
    assert _c_create_error(float("-inf")) == "negative wall-clock limit"
    assert _c_create_error(float("inf")) is None
    with pytest.raises(ConfigError):
        Machine(wall_limit=float("nan"))
    with pytest.raises(ConfigError):
        Machine(wall_limit=-1.0)


@needs_wbrun
@pytest.mark.parametrize("wbrun", WBRUNS, ids=[p.parent.name for p in WBRUNS])
def test_wbrun_wall_limit_option(wbrun):
    elf = assemble(COUNT_LOOP)
    for limit in ("inf", "1e300", "3e10", "infinity"):
        p = subprocess.run([str(wbrun), "-t", limit, str(elf)], capture_output=True, timeout=60)
        assert p.returncode == 3, (limit, p.stderr)
    for limit, msg in (("nan", b"the wall-clock limit is not a number"), ("-1", b"negative wall-clock limit"),
                       ("abc", b"bad wall-clock limit abc"), ("1s", b"bad wall-clock limit 1s"),
                       ("", b"bad wall-clock limit")):
        p = subprocess.run([str(wbrun), "-t", limit, str(elf)], capture_output=True, timeout=60)
        assert p.returncode == 2 and msg in p.stderr, (limit, p.returncode, p.stderr)
    p = subprocess.run([str(wbrun), "-t", "0.2", str(assemble(LOOP))], capture_output=True, timeout=60)
    assert p.returncode == 125 and b"wall-clock limit of 0.2 s reached" in p.stderr


def test_cli_wall_limit():
    elf = assemble(COUNT_LOOP)
    for limit in ("inf", "1e300"):
        assert _wb("run", "--wall-limit", limit, elf, timeout=120).returncode == 3
    for limit in ("nan", "-1", "0"):
        p = _wb("run", "--wall-limit", limit, elf, timeout=120)
        assert p.returncode == 2 and b"wall_limit" in p.stderr, (limit, p.stderr)


def _not_regular(tmp_path) -> list[Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return [fifo, tmp_path, Path("/dev/zero"), Path("/dev/null")]


def test_program_that_is_not_a_regular_file(tmp_path):
    """A FIFO used to block the loader forever (opened before it was checked)."""
    paths = _not_regular(tmp_path)
    for p in paths:
        with pytest.raises(LoadError, match="not a regular file"):
            Machine().run(p)
    # the engine's own loader, past Python's check: in a child, so that a regression fails
    # by the timeout instead of blocking the test run
    code = f"""
from workbench._engine import ffi, lib
cfg = ffi.new("wb_config *")
lib.wb_config_init(cfg)
err = ffi.new("char[512]")
argv = ffi.new("char *[]", [ffi.new("char[]", b"x")])
envp = ffi.new("char *[]", [ffi.NULL])
for path in {[str(p) for p in paths]!r}:
    m = lib.wb_machine_create(cfg, err, 512)
    assert lib.wb_machine_load(m, path.encode(), 1, argv, 0, envp, err, 512) != 0
    print(ffi.string(err).decode())
    lib.wb_machine_destroy(m)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"{q} is not a regular file" for q in paths]


@needs_wbrun
@pytest.mark.parametrize("wbrun", WBRUNS, ids=[p.parent.name for p in WBRUNS])
def test_wbrun_refuses_what_is_not_a_regular_file(wbrun, tmp_path):
    for path in _not_regular(tmp_path):
        p = subprocess.run([str(wbrun), str(path)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 2, (path, p.stderr)
        assert p.stderr == f"wbrun: {path} is not a regular file\n".encode()


def test_cli_refuses_a_fifo(tmp_path):
    fifo = _not_regular(tmp_path)[0]
    p = _wb("run", fifo, timeout=120)
    assert p.returncode == 2 and b"not a regular file" in p.stderr


def test_memory_cap_refuses_mmap():
    # mmap 1 MiB anonymous chunks until the engine refuses; exit with the number obtained
    elf = assemble("""
    .globl _start
_start:
    li s0, 0
1:  li a0, 0
    li a1, 0x100000
    li a2, 3          # PROT_READ|PROT_WRITE
    li a3, 0x22       # MAP_PRIVATE|MAP_ANONYMOUS
    li a4, -1
    li a5, 0
    SYSCALL 222
    li t0, -4096
    bgeu a0, t0, 2f
    sd s0, 0(a0)      # touch it
    addi s0, s0, 1
    li t1, 200
    blt s0, t1, 1b
2:  mv a0, s0
    SYSCALL 93
""")
    r = Machine(mem_limit=32 << 20).run(elf)
    assert r.reason == "exit"
    assert 5 <= r.exit_code < 32  # the stack and the program use part of the 32 MiB
    assert r.mem_peak <= 32 << 20
    r2 = Machine(mem_limit=512 << 20).run(elf)
    assert r2.exit_code == 200


def test_unknown_syscall_returns_enosys_and_is_counted():
    elf = assemble("""
    .globl _start
_start:
    SYSCALL 400
    li t0, -38
    bne a0, t0, 1f
    SYSCALL 400
    EXIT 0
1:  EXIT 1
""")
    r = Machine().run(elf)
    assert r.ok
    assert r.unknown_syscalls == {400: 2}


def test_not_an_elf(tmp_path):
    p = tmp_path / "notelf"
    p.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(LoadError, match="not an ELF"):
        Machine().run(p)


def test_wrong_architecture():
    with pytest.raises(LoadError, match="(?i)x86-64|machine"):
        Machine().run(sys.executable if Path(sys.executable).stat().st_size > 1000 else "/bin/true")


def test_32bit_elf(tmp_path):
    data = bytearray(assemble(LOOP).read_bytes())
    data[4] = 1  # EI_CLASS = ELFCLASS32
    p = tmp_path / "elf32"
    p.write_bytes(bytes(data))
    with pytest.raises(LoadError, match="32-bit"):
        Machine().run(p)


def test_truncated_elf(tmp_path):
    data = assemble(LOOP).read_bytes()
    # cut inside the ELF header, the program headers, and the loadable segment's bytes
    # (which end at 0x110 in this tiny program)
    for n in (0, 10, 63, 64, 100, 200):
        p = tmp_path / f"trunc{n}"
        p.write_bytes(data[:n])
        with pytest.raises(LoadError, match="not an ELF|truncated"):
            Machine(max_insns=10_000).run(p)


def test_dynamically_linked_elf():
    elf = assemble('#include <stdio.h>\nint main(void){puts("x");return 0;}\n', c=True, static=False)
    with pytest.raises(LoadError, match="dynamically linked"):
        Machine().run(elf)


def test_missing_program():
    with pytest.raises(LoadError, match="no such file"):
        Machine().run("/nonexistent/prog")


def test_bad_parameters():
    with pytest.raises(ConfigError):
        Machine(tier="turbo")
    with pytest.raises(ConfigError):
        Machine(max_insns=-5)
    with pytest.raises(ConfigError):
        Machine(wall_limit=0)
    with pytest.raises(ConfigError):
        Machine(root="/nonexistent-dir")


DETERMINISM_C = r"""
#include <stdio.h>
#include <time.h>
#include <sys/random.h>
int main(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    volatile long s = 0;
    for (int i = 0; i < 100000; i++) s += i;
    clock_gettime(CLOCK_MONOTONIC, &b);
    unsigned char r[8];
    getrandom(r, sizeof r, 0);
    printf("%lld.%09ld %lld.%09ld %lld\n", (long long)a.tv_sec, a.tv_nsec, (long long)b.tv_sec, b.tv_nsec, (long long)time(NULL));
    for (int i = 0; i < 8; i++) printf("%02x", r[i]);
    printf("\n");
    return 0;
}
"""


def test_deterministic_runs_are_identical_and_seeded():
    elf = assemble(DETERMINISM_C, c=True)
    a = Machine(seed=1).run(elf, capture=True)
    b = Machine(seed=1).run(elf, capture=True)
    c = Machine(seed=2).run(elf, capture=True)
    assert a.ok, a.message
    assert a.stdout == b.stdout and a.instructions == b.instructions
    assert a.stdout.splitlines()[0] == c.stdout.splitlines()[0]  # the clock does not depend on the seed
    assert a.stdout.splitlines()[1] != c.stdout.splitlines()[1]
    t0, t1, _ = a.stdout.split()[:3]
    assert float(t1) > float(t0)  # virtual time advances with instructions


def _wb(*args, **kw):
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)],
                          capture_output=True, **kw)


def test_cli_run_passes_output_and_status(tmp_path):
    elf = assemble("""
    .globl _start
_start:
    li a0, 1
    la a1, msg
    li a2, 3
    SYSCALL 64
    EXIT 7
    .data
msg: .ascii "ok\\n"
""")
    js = tmp_path / "stats.json"
    p = _wb("run", "--json", js, elf)
    assert p.returncode == 7 and p.stdout == b"ok\n"
    stats = json.loads(js.read_text())
    assert stats["reason"] == "exit" and stats["instructions"] == 9 and stats["syscalls"]["write"] == 1


def test_cli_run_with_clients_writes_event_stores(tmp_path):
    elf = assemble("""
    .globl _start
_start:
    lla a1, msg
    ld t0, 0(a1)
    sd t0, 8(a1)
    EXIT 0
    .data
msg: .dword 5, 0
""")
    js = tmp_path / "stats.json"
    p = _wb("run", "--client", "memtrace", "--client", "icount", "--events", tmp_path / "ev", "--json", js, elf)
    assert p.returncode == 0, p.stderr
    assert b"memtrace: 2 records" in p.stderr
    assert json.loads(js.read_text())["records"] == {"memtrace": 2, "icount": 1}
    from workbench.store import load
    ds = load(tmp_path / "ev" / "memtrace.zarr")
    assert list(ds.kind.values) == [0, 1] and list(ds["size"].values) == [8, 8]
    assert _wb("run", "--client", "nosuch", elf).returncode == 2


def test_cli_bad_elf_exits_2(tmp_path):
    p = tmp_path / "junk"
    p.write_bytes(b"\x7fELF" + b"\0" * 10)
    r = _wb("run", p)
    assert r.returncode == 2 and b"ELF" in r.stderr


def test_cli_fault_exits_125_with_reason():
    elf = assemble("""
    .globl _start
_start:
    ld a0, 0(zero)
""")
    r = _wb("run", "--max-insns", "1000", elf)
    assert r.returncode == 125 and b"fault" in r.stderr and b"ld a0, 0(zero)" in r.stderr


def test_disassemble_and_syscall_names():
    assert workbench.disassemble(0x00A50533) == "add a0, a0, a0"
    assert workbench.syscall_name(64) == "write"
    assert workbench.syscall_name(222) == "mmap"


def test_cli_guest_list_and_build():
    p = _wb("guest", "list")
    assert p.returncode == 0
    for name in (b"lua54", b"zstd", b"fpmath", b"atomics", b"setjmp", b"qsort", b"printf"):
        assert name in p.stdout
    p = _wb("guest", "build", "zstd")
    assert p.returncode == 0
    path = Path(p.stdout.decode().strip().splitlines()[-1])
    assert path.is_file() and path.read_bytes()[:4] == b"\x7fELF"
    p = _wb("guest", "build", "no-such-guest")
    assert p.returncode == 2 and b"unknown guest" in p.stderr


def test_cli_run_guest_by_name_with_budget():
    p = _wb("run", "--max-insns", "1000", "zstd", "1m")
    assert p.returncode == 125 and b"budget" in p.stderr


def test_memory_unmapped_then_mapped_again_reads_zero():
    """Unmapped pages may keep their host memory (mem.c) but must read as zero when mapped
    again, also read-only, also after a MAP_FIXED remap over live pages."""
    elf = assemble("""
    .globl _start
_start:
    li s2, 0x30000000
    li s4, 0x3000fff8               # the last dword of the 64 KiB
    li s3, 0                        # round: 0 map RW, 1 map RO, 2 MAP_FIXED over live
1:  mv a0, s2
    li a1, 65536
    li a2, 3
    li a3, 0x32                     # MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
    li a4, -1
    li a5, 0
    SYSCALL 222
    bne a0, s2, 9f
    li t0, -1
    sd t0, 0(s2)
    sd t0, 0(s4)
    li t1, 2
    beq s3, t1, 3f                  # round 2: map again without unmapping
    mv a0, s2
    li a1, 65536
    SYSCALL 215                     # munmap
3:  mv a0, s2
    li a1, 65536
    li a2, 1                        # PROT_READ (round 1), RW otherwise
    li t1, 1
    beq s3, t1, 4f
    li a2, 3
4:  li a3, 0x32
    li a4, -1
    li a5, 0
    SYSCALL 222
    bne a0, s2, 9f
    ld t0, 0(s2)
    bnez t0, 9f
    ld t0, 0(s4)
    bnez t0, 9f
    li t1, 1
    beq s3, t1, 5f
    mv a0, s2                       # leave it unmapped for the next round
    li a1, 65536
    SYSCALL 215
5:  mv a0, s2
    li a1, 65536
    SYSCALL 215
    addi s3, s3, 1
    li t1, 3
    blt s3, t1, 1b
    EXIT 0
9:  EXIT 1
""")
    for tier in workbench.available_tiers():
        r = Machine(tier=tier).run(elf)
        assert r.ok, (tier, r.reason, r.exit_code, r.message)


def test_cli_double_dash_separates_guest_arguments():
    """`wb run ELF -- ARGS`: the `--` ends wb's options and is not passed to the guest (the
    tour notebook's `wb run lua54 -- -e "print(1)"`)."""
    p = _wb("run", "lua54", "--", "-e", "print(6*7)")
    assert p.returncode == 0 and p.stdout == b"42\n", p.stderr
    p = _wb("run", "lua54", "-e", "print(6*7)")          # without it, the same
    assert p.returncode == 0 and p.stdout == b"42\n", p.stderr


@pytest.mark.parametrize("option,path,why", [
    ("--json", "/nonexistent/dir/x.json", b"does not exist"),
    ("--json", "/etc/passwd/x.json", b"is not a directory"),
    ("--events", "/etc/passwd/ev", b"is not a directory"),
    ("--json", "/", b"is a directory"),
])
def test_cli_bad_output_paths_are_refused_before_the_run(tmp_path, option, path, why):
    elf = assemble("""
    .globl _start
_start:
    li a0, 1
    la a1, msg
    li a2, 4
    SYSCALL 64
    EXIT 0
    .data
msg: .ascii "ran\\n"
""")
    p = _wb("run", "--client", "icount", option, path, elf)
    assert p.returncode == 2 and why in p.stderr, p.stderr
    assert p.stdout == b""                               # the guest never ran
    assert b"Traceback" not in p.stderr
