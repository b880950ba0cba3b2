"""Real programs on the engine against qemu-riscv64: byte-identical output and exit status.

Lua 5.4 (from the pinned lupa sdist) runs our scripts; zstd (our driver around the pinned
single-file zstd.c) compresses and decompresses a generated buffer; our small C programs
exercise floating point, atomics, setjmp/longjmp, qsort, printf and file system calls. Each
runs as a musl build (zig) and, where Debian's cross gcc exists, a glibc build, on every
tier: the interpreter, and the JIT with blocks translated after one interpreted run and the
register map re-chosen early (so runs cross tiers and register maps).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workbench import Machine, available_tiers, guests

from conftest import QEMU, asan_wbrun, needs_qemu

pytestmark = needs_qemu
VARIANTS = [v for v in ("musl", "glibc") if v in guests.available_variants()]
LUA_SCRIPTS = ["strings.lua", "tables.lua", "coroutines.lua", "mathfmt.lua"]
SMALL = ["fpmath", "atomics", "setjmp", "qsort", "printf", "files"]
TIERS = available_tiers()


def _machine(tier: str, **kw) -> Machine:
    if tier == "jit":
        kw.update(jit_hot=1, jit_profile_insns=200_000)
    return Machine(tier=tier, **kw)


def _name(base: str, variant: str) -> str:
    return base if variant == "musl" else f"{base}-{variant}"


def _qemu(elf: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([QEMU, str(elf), *args], cwd=cwd, capture_output=True, timeout=600)


def _compare(elf: Path, args: list[str], root: Path, tmp_path: Path | None = None):
    q = _qemu(elf, args, root)
    r = Machine(max_insns=20_000_000_000).run(elf, args, capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert r.exit_code == q.returncode
    assert r.stdout == q.stdout
    assert r.stderr == q.stderr
    return r


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("script", LUA_SCRIPTS)
def test_lua_scripts_match_qemu(variant, script, tier, monkeypatch):
    elf = guests.build(_name("lua54", variant))
    root = guests.LUA_SCRIPTS_DIR
    monkeypatch.chdir(root)
    q = _qemu(elf, [script], root)
    r = _machine(tier, root=root).run(elf, [script], capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)
    assert r.exit_code == 0
    expected = guests.expected_output(script)
    assert expected is not None, f"no golden output for {script}"
    assert guests.normalize_output(r.stdout.decode()) == expected


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_lua_error_exit_status_matches_qemu(variant, tier, tmp_path):
    elf = guests.build(_name("lua54", variant))
    (tmp_path / "boom.lua").write_text("print('before')\nerror('boom')\n")
    q = _qemu(elf, ["boom.lua"], tmp_path)
    r = _machine(tier, root=tmp_path).run(elf, ["boom.lua"], capture=True, argv0=str(elf))
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)
    assert r.exit_code == 1 and b"boom" in r.stderr


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_zstd_round_trip_matches_qemu(variant, tier, tmp_path):
    elf = guests.build(_name("zstd", variant))
    args = ["1m", "3"]
    q = _qemu(elf, args, tmp_path)
    r = _machine(tier, root=tmp_path).run(elf, args, capture=True, argv0=str(elf))
    assert r.ok, r.message
    assert (r.stdout, r.stderr) == (q.stdout, q.stderr)
    assert q.returncode == 0


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("prog", SMALL)
def test_small_programs_match_qemu(variant, prog, tier, tmp_path):
    elf = guests.build(_name(prog, variant))
    q = _qemu(elf, [], tmp_path)
    shutil.rmtree(tmp_path / "wb_files_tmp", ignore_errors=True)
    r = _machine(tier, root=tmp_path).run(elf, [], capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)
    assert r.exit_code == 0


@pytest.mark.parametrize("tier", TIERS)
def test_brotli_cli_matches_qemu(tier):
    """Brotli's own command-line tool (a third-party program with its own main) compressing a
    generated text file to stdout: the same bytes as under qemu."""
    from workbench.guests._catalog import brotli_input
    path = brotli_input("192k")
    elf = guests.build("brotli")
    args = ["-c", "-q", "5", path.name]
    q = _qemu(elf, args, path.parent)
    assert q.returncode == 0 and len(q.stdout) > 1000
    r = _machine(tier, root=path.parent).run(elf, args, capture=True, argv0=str(elf))
    assert r.reason == "exit", r.message
    assert (r.exit_code, r.stdout, r.stderr) == (q.returncode, q.stdout, q.stderr)


@pytest.mark.skipif("jit" not in TIERS, reason="no JIT tier on this host")
@pytest.mark.parametrize("prog,args", [("lua54", ["tables.lua"]), ("zstd", ["1m", "3"])])
def test_tiers_retire_the_same_instructions(prog, args):
    """The JIT counts exactly the interpreter's instructions and syscalls (blocks are cut at
    the same places; counts are per block on entry in both)."""
    root = guests.LUA_SCRIPTS_DIR
    runs = [_machine(t, root=root).run(guests.build(prog), args, capture=True) for t in ("interp", "jit")]
    a, b = runs
    assert a.reason == b.reason == "exit"
    assert a.stdout == b.stdout
    assert a.instructions == b.instructions
    assert a.syscalls == b.syscalls


def test_runs_are_deterministic():
    elf = guests.build("lua54")
    root = guests.LUA_SCRIPTS_DIR
    a = Machine(root=root).run(elf, ["tables.lua"], capture=True)
    b = Machine(root=root).run(elf, ["tables.lua"], capture=True)
    assert a.stdout == b.stdout and a.instructions == b.instructions and a.syscalls == b.syscalls


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("prog,args", [("lua54", ["coroutines.lua"]), ("zstd", ["256k", "3"]),
                                       ("fpmath", []), ("atomics", []),
                                       ("workq", ["2", "3", "500"]), ("spawn-glibc", ["16", "3"]),
                                       ("syncs", ["3", "10"]), ("zstd-mt", ["2m", "3", "3"]),
                                       ("waits", ["pipes"]), ("smc", ["200"])])
@pytest.mark.parametrize("schedule", ["parallel", "deterministic"])
@pytest.mark.parametrize("tier", TIERS)
def test_engine_under_asan_and_ubsan(prog, args, tier, schedule):
    """The engine built with AddressSanitizer and UBSan runs real programs cleanly, on every
    tier (the JIT's own C code: dispatcher, translator, helpers, under the sanitizers) and
    under both schedules (the threaded ones: worker threads, per-thread caches, the lock)."""
    elf = guests.build(prog)
    root = guests.LUA_SCRIPTS_DIR
    p = subprocess.run([str(asan_wbrun()), "-T", tier, "-P", schedule, "-r", str(root), str(elf), *args],
                       cwd=root, capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
    q = _qemu(elf, args, root)
    assert p.stdout == q.stdout
