"""The guest-program build system (workbench.guests).

Builds every guest (musl via zig, glibc via riscv64-linux-gnu-gcc), checks the
ELFs are static RV64 executables, and runs them under qemu-riscv64 against the
golden outputs in workloads/*/expected/. Builds are cached under $WB_CACHE
(default ~/.cache/workbench), so only the first run pays for compilation.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from workbench import guests
from workbench.guests import _sources, _toolchains

QEMU = shutil.which("qemu-riscv64")
READELF = shutil.which("readelf") or shutil.which("riscv64-linux-gnu-readelf")

SMALL = ["fpmath", "atomics", "setjmp", "qsort", "printf", "files"]
ALL_GUESTS = ["lua54", "zstd", "zstd-mt", "blosc", "brotli", "fpmath", "atomics", "setjmp", "qsort", "printf",
              "objects", "heads", "psum", "workq", "syncs", "spawn", "waits", "racy", "races", "smc", "litmus", "signals", "wpdebug", "heapbugs", "taintflow", "files"]
CROSS_VARIANTS = ["musl", "glibc"]
SUFFIX = {"musl": "", "glibc": "-glibc"}

needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-riscv64 is not installed (apt-get install qemu-user)")


def _build(name: str) -> Path:
    try:
        return guests.build(name, quiet=True)
    except guests.ToolchainNotFound as exc:
        pytest.skip(str(exc))


def _build_native(name: str) -> Path:
    try:
        return guests.build_native(name, quiet=True)
    except guests.ToolchainNotFound as exc:
        pytest.skip(str(exc))


def _qemu(exe: Path, args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([QEMU, str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _native(exe: Path, args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _diff_hint(actual: str, expected: str) -> str:
    a, e = actual.splitlines(), expected.splitlines()
    for i, (x, y) in enumerate(zip(a, e, strict=False)):
        if x != y:
            return f"first difference at line {i + 1}:\n  got:      {x!r}\n  expected: {y!r}"
    return f"line counts differ: got {len(a)}, expected {len(e)}"


# ----------------------------------------------------------------- catalogue and API


def test_list_guests():
    infos = {g.name: g for g in guests.list_guests()}
    assert list(infos) == ALL_GUESTS
    assert infos["lua54"].third_party == ("lupa==2.8",)
    assert infos["zstd"].third_party == ("zstandard==0.25.0",)
    assert infos["files"].needs_writable_cwd
    for g in infos.values():
        assert g.description
        assert g.all_variants == (g.name, g.name + "-glibc")
        assert set(g.variants) <= set(g.all_variants)
    assert "lua54-glibc" in guests.guest_names()
    assert "lua54-glibc" not in guests.guest_names(glibc=False)


def test_unknown_guest_is_a_clear_error():
    with pytest.raises(guests.UnknownGuestError, match="known guests: .*lua54"):
        guests.build("no-such-guest")
    with pytest.raises(ValueError):
        guests.workload_args("nope-glibc")


def test_workload_args_and_files():
    lua_args = guests.workload_args("lua54")
    assert Path(lua_args[0]) == guests.LUA_SCRIPTS_DIR / "bench.lua"
    assert lua_args[1] == "600"
    assert guests.workload_args("lua54-glibc", size=7)[1] == "7"
    assert guests.workload_files("lua54") == [guests.LUA_SCRIPTS_DIR / "bench.lua"]
    assert all(p.is_file() for p in guests.workload_files("lua54"))
    assert guests.workload_args("zstd") == ["4m", "3"]
    assert guests.workload_args("zstd-glibc", size="1m", level=19) == ["1m", "19"]
    assert guests.workload_files("zstd") == []
    assert guests.workload_args("qsort") == []
    assert guests.workload_args("qsort", size=1000) == ["1000"]
    assert guests.workload_args("fpmath") == []


def test_workload_is_a_run_ready_for_the_engine(tmp_path):
    """guests.workload: benchmark sizes by default, files relative to the root it returns."""
    w = guests.workload("lua54")
    args, root = w  # unpacks as (args, root)
    assert w.args == ["bench.lua", str(guests.BENCH_SIZES["lua54"])] and root == guests.LUA_SCRIPTS_DIR
    assert (root / args[0]).is_file()
    assert guests.workload("lua54-glibc", size=7) == guests.Workload(["bench.lua", "7"], guests.LUA_SCRIPTS_DIR)
    # no files: the arguments as the catalogue gives them, a scratch directory as root
    zstd = guests.workload("zstd", size="1m")
    assert zstd.args == guests.workload_args("zstd", size="1m") and zstd.root.is_dir()
    assert guests.workload("zstd").args[0] == guests.BENCH_SIZES["zstd"]
    assert guests.workload("qsort").args == []  # no benchmark size: the catalogue's default
    with pytest.raises(guests.UnknownGuestError):
        guests.workload("nope")


def test_lua_scripts_and_goldens():
    names = [p.name for p in guests.lua_scripts()]
    assert names == ["coroutines.lua", "mathfmt.lua", "strings.lua", "tables.lua"]
    assert guests.lua_scripts(include_bench=True)[0].name == "bench.lua"
    assert guests.lua_script("strings") == guests.lua_script("strings.lua")
    with pytest.raises(FileNotFoundError):
        guests.lua_script("missing")
    for name in SMALL:
        assert guests.golden_file(name) is not None, name
        assert guests.golden_file(name + "-glibc") == guests.golden_file(name)
    for script in names:
        assert guests.golden_file(script) is not None, script
    assert guests.normalize_output("a\n[libc] x\nb\n") == "a\nb\n"


def test_missing_toolchains_name_the_package(monkeypatch):
    monkeypatch.setattr(_toolchains, "_which", lambda *_a, **_k: None)
    monkeypatch.setattr(_toolchains, "_find_spec", lambda *_a, **_k: None)
    monkeypatch.delenv("WB_ZIG", raising=False)
    monkeypatch.delenv("WB_RISCV_GCC", raising=False)
    monkeypatch.delenv("CC", raising=False)
    _toolchains._find.cache_clear()
    try:
        with pytest.raises(guests.ToolchainNotFound, match=r"pip install ziglang==\d"):
            guests.find_toolchain("musl")
        with pytest.raises(guests.ToolchainNotFound, match="gcc-riscv64-linux-gnu"):
            guests.find_toolchain("glibc")
        with pytest.raises(guests.ToolchainNotFound, match="apt-get install gcc"):
            guests.find_toolchain("native")
        assert guests.available_variants() == []
        with pytest.raises(guests.ToolchainNotFound):
            guests.build("atomics-glibc")
    finally:
        _toolchains._find.cache_clear()


# ----------------------------------------------------------------- pinned third-party sources


def _fake_pin(tmp_path: Path, payload: bytes, sha256: str) -> _sources.SdistPin:
    fake = tmp_path / "served" / "lupa-2.8.tar.gz"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_bytes(payload)
    return dataclasses.replace(_sources.LUPA, url=fake.as_uri(), sha256=sha256)


def test_tampered_pin_raises_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    pin = _fake_pin(tmp_path, b"not the real archive", "0" * 64)
    with pytest.raises(guests.SourceIntegrityError, match="sha256 mismatch for lupa==2.8") as excinfo:
        guests.fetch_sdist(pin)
    assert "0" * 64 in str(excinfo.value)
    leftovers = list((tmp_path / "cache" / "sdists").iterdir())
    assert leftovers == [], leftovers


def test_corrupt_cached_archive_is_refetched(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    good = b"pretend this is lupa-2.8.tar.gz"
    pin = _fake_pin(tmp_path, good, _sources.hashlib.sha256(good).hexdigest())
    cached = tmp_path / "cache" / "sdists" / pin.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated or tampered")
    assert guests.fetch_sdist(pin) == cached
    assert cached.read_bytes() == good


def test_real_pins_match_the_cache():
    # Whatever is in the cache (downloaded by the builds) must match the pins.
    for pin in guests.PINS.values():
        try:
            path = guests.fetch_sdist(pin)
        except guests.SourceIntegrityError:
            raise  # a real mismatch is a failure, never a skip
        except guests.GuestBuildError as exc:  # no network and nothing cached
            pytest.skip(str(exc))
        assert guests.sha256(path) == pin.sha256


def test_extraction_is_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:

        def add(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("lupa-2.8/third-party/lua54/good.c", b"int good;\n")
        add("lupa-2.8/third-party/lua54/../../../../evil.c", b"evil")
        add("/abs/lupa-2.8/third-party/lua54/abs.c", b"evil")
        add("lupa-2.8/third-party/lua54/link.c", kind=tarfile.SYMTYPE, link="/etc/passwd")
        add("lupa-2.8/third-party/lua54/hard.c", kind=tarfile.LNKTYPE, link="lupa-2.8/setup.py")
        add("lupa-2.8/third-party/lua54/testes/skipped.c", b"subdir: not kept")
        add("lupa-2.8/setup.py", b"outside the subdir")
    data = buf.getvalue()
    pin = _fake_pin(tmp_path, data, _sources.hashlib.sha256(data).hexdigest())
    out = guests.extracted_dir(pin)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or p.is_symlink())
    assert files == [".complete", "good.c"]
    assert not (tmp_path / "evil.c").exists() and not list(tmp_path.rglob("evil.c"))
    assert (out / "good.c").read_text() == "int good;\n"
    assert guests.extracted_dir(pin) == out  # cached


# ----------------------------------------------------------------- building


@pytest.mark.parametrize("variant", CROSS_VARIANTS)
@pytest.mark.parametrize("guest", ALL_GUESTS)
def test_build_is_static_riscv_elf(guest, variant):
    name = guest + SUFFIX[variant]
    exe = _build(name)
    assert exe.name == name and exe.is_file() and os.access(exe, os.X_OK)
    info = guests.elf_info(exe)
    assert info.machine_name == "riscv" and info.elf_class == 64 and info.little_endian
    assert info.static and not info.has_interp, "must not need a dynamic loader"
    assert info.float_abi == "double" and info.rvc
    if READELF:
        headers = subprocess.run([READELF, "-lW", str(exe)], capture_output=True, text=True, check=True).stdout
        assert "INTERP" not in headers
        assert ("EXEC" in headers) or ("DYN" in headers)
    # cached: the second call does not rebuild
    mtime = exe.stat().st_mtime_ns
    assert guests.build(name, quiet=True) == exe
    assert exe.stat().st_mtime_ns == mtime
    manifest = (exe.parent / "build.json").read_text()
    assert guests.sha256(exe) in manifest


def test_build_failure_reports_compiler_output(tmp_path, monkeypatch):
    try:
        guests.find_toolchain("glibc")
    except guests.ToolchainNotFound as exc:
        pytest.skip(str(exc))
    work = tmp_path / "workloads"
    shutil.copytree(Path(guests.workloads_dir()) / "small", work / "small")
    (work / "small" / "setjmp.c").write_text("int main(void) { return undeclared_identifier_xyz; }\n")
    monkeypatch.setenv("WB_WORKLOADS", str(work))
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(guests.GuestBuildError, match="building setjmp-glibc failed") as excinfo:
        guests.build("setjmp-glibc", quiet=True)
    assert "undeclared_identifier_xyz" in excinfo.value.stderr_tail
    assert "undeclared_identifier_xyz" in str(excinfo.value)


def test_force_rebuild_is_reproducible():
    exe = _build("setjmp-glibc")
    before = guests.sha256(exe)
    again = guests.build("setjmp-glibc", force=True, quiet=True)
    assert again == exe and guests.sha256(again) == before


# ----------------------------------------------------------------- running under qemu


@needs_qemu
@pytest.mark.parametrize("variant", CROSS_VARIANTS)
@pytest.mark.parametrize("prog", SMALL)
def test_small_program_matches_golden(prog, variant, tmp_path):
    exe = _build(prog + SUFFIX[variant])
    res = _qemu(exe, [], tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f"{prog} done" in res.stdout
    expected = guests.expected_output(prog)
    actual = guests.normalize_output(res.stdout)
    assert actual == expected, _diff_hint(actual, expected)
    assert list(tmp_path.iterdir()) == [], "the program must clean up after itself"


@needs_qemu
@pytest.mark.parametrize("variant", CROSS_VARIANTS)
@pytest.mark.parametrize("script", ["strings", "tables", "coroutines", "mathfmt"])
def test_lua_script_matches_golden(script, variant):
    exe = _build("lua54" + SUFFIX[variant])
    path = guests.lua_script(script)
    res = _qemu(exe, [path.name], path.parent)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert res.stdout.rstrip().splitlines()[-1] == f"{script}: OK"
    expected = guests.expected_output(path.name)
    assert res.stdout == expected, _diff_hint(res.stdout, expected)


@needs_qemu
@pytest.mark.parametrize("variant", CROSS_VARIANTS)
def test_lua_version_and_error_exit(variant, tmp_path):
    exe = _build("lua54" + SUFFIX[variant])
    res = _qemu(exe, ["-v"], tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("Lua 5.4.8")
    res = _qemu(exe, ["-e", "io.write(string.format('%d %s', 6 * 7, os.getenv('NO_SUCH_VAR_XYZ')))"], tmp_path)
    assert res.returncode == 0 and res.stdout == "42 nil"
    res = _qemu(exe, ["-e", "error('expected failure')"], tmp_path)
    assert res.returncode == 1 and "expected failure" in res.stderr


@needs_qemu
@pytest.mark.parametrize("variant", CROSS_VARIANTS)
@pytest.mark.parametrize("size,level", [("64k", 1), ("512k", 3), ("64k", 19)])
def test_zstd_round_trip(variant, size, level, tmp_path):
    exe = _build("zstd" + SUFFIX[variant])
    res = _qemu(exe, guests.workload_args("zstd", size=size, level=level), tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "single-threaded" in res.stdout
    assert "round-trip OK" in res.stdout
    assert f"level {level}: compressed" in res.stdout


@needs_qemu
def test_zstd_bad_arguments(tmp_path):
    exe = _build("zstd-glibc")
    assert _qemu(exe, ["12q"], tmp_path).returncode == 2
    assert _qemu(exe, ["1k", "99"], tmp_path).returncode == 2


@needs_qemu
@pytest.mark.parametrize("variant", CROSS_VARIANTS)
def test_lua_bench_runs(variant):
    exe = _build("lua54" + SUFFIX[variant])
    args = guests.workload_args("lua54", size=3)
    res = _qemu(exe, args, guests.LUA_SCRIPTS_DIR)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("spectral norm (N=34): 1.27")
    assert lines[-1] == "bench: done"


# ----------------------------------------------------------------- native builds (benchmark baselines)


@needs_qemu
@pytest.mark.parametrize(
    "guest,args",
    [
        ("lua54", ["bench.lua", "3"]),
        ("zstd", ["300k", "5"]),
        ("qsort", ["20000"]),
    ],
)
def test_native_build_matches_riscv_output(guest, args):
    """Benchmarks compare engine vs native vs qemu: all must compute the same thing."""
    native = _build_native(guest)
    assert native.name == guest + "-native"
    assert guests.elf_info(native).machine_name != "riscv"
    cwd = guests.LUA_SCRIPTS_DIR
    res_native = _native(native, args, cwd)
    res_riscv = _qemu(_build(guest + "-glibc"), args, cwd)
    assert res_native.returncode == 0 and res_riscv.returncode == 0
    assert res_native.stdout == res_riscv.stdout


@pytest.mark.parametrize("prog", [p for p in SMALL if p != "fpmath"])
def test_native_small_programs_match_golden(prog, tmp_path):
    # fpmath is left out: x86-64 differs legitimately (NaN sign bit, fmin(-0, 0)).
    exe = _build_native(prog)
    res = _native(exe, [], tmp_path)
    assert res.returncode == 0, res.stderr
    expected = guests.expected_output(prog)
    assert guests.normalize_output(res.stdout) == expected, _diff_hint(res.stdout, expected)
