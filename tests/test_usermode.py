"""The Linux user-mode layer (native/src/user/, mem.c) through the `wbrun` runner: syscall
programs from workloads/syscalls/ compared with qemu-riscv64 (glibc and musl builds), root
confinement, run-ending behaviours (signals, deadlocks), bad ELFs, determinism, and the C-level
loader/memory/syscall fuzz test (native/tests/test_loader.c, under ASan/UBSan when possible).

wbrun is taken from $WB_WBRUN, else native/ is built with CMake into a temporary directory.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CROSS_GCC, QEMU, REPO, engine_sources, needs_cross, needs_qemu

SRC = REPO / "workloads" / "syscalls"
HAVE_ZIG = importlib.util.find_spec("ziglang") is not None
COMPARED = ["fileops", "memops", "misc"]
LIBCS = ["glibc", "musl"]


# ---- fixtures: the runner and the guest programs ----

@pytest.fixture(scope="session")
def wbrun(tmp_path_factory) -> Path:
    env = os.environ.get("WB_WBRUN")
    if env:
        return Path(env)
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed and WB_WBRUN is not set")
    build = tmp_path_factory.mktemp("wbbuild")
    subprocess.run(["cmake", "-S", str(REPO / "native"), "-B", str(build),
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "-j4", "--target", "wbrun"], check=True,
                   capture_output=True)
    return build / "wbrun"


def _compile(libc: str, src: Path, out: Path, extra: tuple[str, ...] = ()) -> Path:
    if libc == "glibc":
        if CROSS_GCC is None:
            pytest.skip("riscv64-linux-gnu-gcc is not installed")
        cmd = [CROSS_GCC, "-static", "-O2", "-o", str(out), str(src), *extra]
    else:
        if not HAVE_ZIG:
            pytest.skip("the ziglang package (musl toolchain) is not installed")
        cmd = [sys.executable, "-m", "ziglang", "cc", "-target", "riscv64-linux-musl", "-O2",
               "-o", str(out), str(src), *extra]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def guest(tmp_path_factory):
    """guest(name, libc) -> path of workloads/syscalls/<name>.c built static for riscv64."""
    cache: dict[tuple[str, str], Path] = {}
    outdir = tmp_path_factory.mktemp("guests")

    def build(name: str, libc: str = "glibc") -> Path:
        key = (name, libc)
        if key not in cache:
            cache[key] = _compile(libc, SRC / f"{name}.c", outdir / f"{name}-{libc}")
        return cache[key]
    return build


def run_engine(wbrun: Path, elf: Path, args=(), *, root: Path, opts=(), timeout=120):
    return subprocess.run([str(wbrun), *opts, "-r", str(root), str(elf), *map(str, args)],
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def run_qemu(elf: Path, args=(), *, cwd: Path, timeout=120):
    return subprocess.run([QEMU, str(elf), *map(str, args)], capture_output=True, cwd=cwd,
                          timeout=timeout, stdin=subprocess.DEVNULL)


# ---- engine vs qemu ----

@needs_qemu
@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("name", COMPARED)
def test_matches_qemu(wbrun, guest, tmp_path, name, libc):
    elf = guest(name, libc)
    qroot, eroot = tmp_path / "q", tmp_path / "e"
    qroot.mkdir()
    eroot.mkdir()
    q = run_qemu(elf, cwd=qroot)
    e = run_engine(wbrun, elf, root=eroot)
    assert e.stderr == b"", e.stderr.decode(errors="replace")
    assert q.returncode == 0, q.stdout.decode(errors="replace")
    assert e.stdout.decode() == q.stdout.decode()
    assert e.returncode == q.returncode
    assert sorted(os.listdir(eroot)) == sorted(os.listdir(qroot))  # both cleaned up


@pytest.mark.parametrize("libc", LIBCS)
def test_static_pie(wbrun, tmp_path, libc):
    src = tmp_path / "pie.c"
    src.write_text('#include <stdio.h>\nstatic int v = 41;\n'
                   'int main(void) { printf("pie %d\\n", v + 1); return 0; }\n')
    if libc == "glibc":
        # Debian's cross glibc lacks rcrt1.o (no static-pie); musl via zig has it.
        pytest.skip("glibc static-pie is not available in the Debian cross toolchain")
    elf = _compile(libc, src, tmp_path / "pie", ("-fPIE", "-pie"))
    assert b"DYN" in subprocess.run(["readelf", "-h", str(elf)], capture_output=True).stdout
    e = run_engine(wbrun, elf, root=tmp_path)
    assert e.returncode == 0 and e.stdout == b"pie 42\n", e.stderr


# ---- signals, deadlocks, ENOSYS ----

@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("arg,sig", [("", "SIGABRT"), ("ignore", "SIGABRT"), ("term", "SIGTERM")])
def test_killed_by_signal(wbrun, guest, tmp_path, libc, arg, sig):
    e = run_engine(wbrun, guest("abort", libc), [arg] if arg else [], root=tmp_path)
    assert e.stdout == b"before abort\n"
    assert e.returncode == 125
    assert f"guest killed by {sig}".encode() in e.stderr


# ---- interval timers and alarm (native/src/user/timers.c) ----

# mode -> the signal that ends the process, or None when it survives
TIMER_MODES = {"spin": "SIGALRM", "sleep": "SIGALRM", "alarm": "SIGALRM",
               "virtual": "SIGVTALRM", "blocked": "SIGALRM", "ignored": None, "cancel": None}
SIGNUM = {"SIGALRM": 14, "SIGVTALRM": 26}


@needs_qemu
@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("mode", list(TIMER_MODES))
def test_timers_match_qemu(wbrun, guest, tmp_path, libc, mode):
    """What the program prints and which signal ends it are the kernel's (qemu-riscv64's), on
    both tiers; the engine's deterministic clock makes the timer fire at the same instruction
    on every run."""
    elf = guest("timers", libc)
    q = run_qemu(elf, [mode], cwd=tmp_path, timeout=60)
    sig = TIMER_MODES[mode]
    assert q.returncode == (-SIGNUM[sig] if sig else 0), (q.returncode, q.stdout)
    outs = []
    for tier in ("interp", "jit"):
        e = run_engine(wbrun, elf, [mode], root=tmp_path, opts=["-T", tier], timeout=60)
        assert e.stdout.decode() == q.stdout.decode(), (tier, e.stderr)
        if sig:
            assert e.returncode == 125 and f"guest killed by {sig}".encode() in e.stderr, \
                (tier, e.returncode, e.stderr)
        else:
            assert e.returncode == 0 and e.stderr == b"", (tier, e.stderr)
        again = run_engine(wbrun, elf, [mode], root=tmp_path, opts=["-T", tier, "-R"],
                           timeout=60)
        outs.append(again.stderr)
    if sig in ("SIGALRM", "SIGVTALRM") and mode in ("spin", "virtual"):
        # registers at the kill (instret among them) equal on both tiers: same instruction
        assert outs[0] == outs[1]


@pytest.mark.parametrize("mode", ["sleep", "alarm", "spin"])
def test_timers_real_clock(guest, mode):
    """Non-deterministic mode: ITIMER_REAL counts host time (the sleep is a real one, bounded
    by the wall-clock limit) and still ends the process with SIGALRM."""
    from workbench.machine import Machine
    run = Machine(deterministic=False, wall_limit=30).run(guest("timers"), [mode],
                                                            capture=True)
    assert run.reason == "signal" and run.exit_code == SIGNUM["SIGALRM"], run.message
    assert b"slept through" not in run.stdout and b"pause returned" not in run.stdout


@pytest.mark.parametrize("mode,rc,out,err", [
    (["exit", "7"], 7, "exiting", None),
    (["exit", "300"], 300 & 0xff, "exiting", None),
    (["sigpipe"], 125, None, "guest killed by SIGPIPE"),
    (["sigpipe-ignored"], 0, "-1 EPIPE", None),
    (["pipe-deadlock"], 125, None, "deadlock: read from an empty pipe"),
    (["futex-deadlock"], 125, None, "deadlock: the only thread waits on futex"),
    (["fork"], 0, "-1 ENOSYS", None),
    (["unknown"], 0, "syscall(400)                             -1 ENOSYS", None),
    (["handler"], 0, "handler ran\nraise(SIGUSR1)                           0", None),
    (["segv"], 125, None, "memory fault"),
])
def test_edge_cases(wbrun, guest, tmp_path, mode, rc, out, err):
    e = run_engine(wbrun, guest("edge"), mode, root=tmp_path, timeout=60)
    assert e.returncode == rc, (e.stdout, e.stderr)
    assert e.stdout.startswith(f"mode {mode[0]}\n".encode())
    if out:
        assert out.encode() in e.stdout
    if err:
        assert err.encode() in e.stderr


# ---- root confinement ----

@pytest.mark.parametrize("libc", LIBCS)
def test_root_cannot_be_escaped(wbrun, guest, tmp_path, libc):
    outside = tmp_path / "outside"
    root = outside / "root"
    (root / "dir").mkdir(parents=True)
    secret = outside / "secret.txt"
    secret.write_text("TOPSECRET\n")
    os.symlink("../secret.txt", root / "link_rel")
    os.symlink(str(secret), root / "link_abs")
    os.symlink("/", root / "link_root")
    os.symlink("../../../../../../..", root / "link_dotdot")
    host_passwd_words = [w for w in ("root:x:",) if Path("/etc/passwd").exists()]
    e = run_engine(wbrun, guest("escape", libc), ["/etc/passwd", "link_root/etc/passwd",
                                                 str(secret)], root=root)
    assert e.returncode == 0, e.stderr
    text = e.stdout.decode()
    assert "TOPSECRET" not in text
    for w in host_passwd_words:
        assert w not in text
    assert "SEES THE OUTSIDE" not in text
    assert "cwd after chdir(..) x20: /\n" in text
    for line in text.splitlines():
        if line.startswith("open "):
            assert line.rstrip().endswith("ENOENT"), line
    # nothing outside the root changed
    assert secret.read_text() == "TOPSECRET\n"
    assert sorted(os.listdir(outside)) == ["root", "secret.txt"]
    assert not (root / "stolen.txt").exists()


# ---- bad ELFs ----

def _bad_elfs(tmp: Path, good: Path) -> dict[str, tuple[Path, str]]:
    data = good.read_bytes()
    cases = {}

    def put(name: str, content: bytes, msg: str):
        p = tmp / name
        p.write_bytes(content)
        cases[name] = (p, msg)

    put("text", b"#!/bin/sh\necho hi\n", "not an ELF file (bad magic)")
    put("empty", b"", "not an ELF file (bad magic)")
    b = bytearray(data); b[4] = 1
    put("elf32", bytes(b), "ELF is 32-bit; only 64-bit RISC-V is supported")
    b = bytearray(data); b[5] = 2
    put("bigendian", bytes(b), "ELF is big-endian")
    put("short", data[:40], "truncated ELF: file is 40 bytes, shorter than the ELF header")
    put("trunc_ph", data[:100], "truncated ELF: program header 0 extends past end of file")
    b = bytearray(data); b[54] = 57
    put("phentsize", bytes(b), "bad ELF program header size 57 (expected 56)")
    b = bytearray(data); b[16] = 1
    put("rel", bytes(b), "ELF type ET_REL is not executable")
    b = bytearray(data); b[16] = 4
    put("core", bytes(b), "ELF type ET_CORE is not executable")
    b = bytearray(data); b[18] = 62
    put("x86", bytes(b), "ELF machine is x86-64 (62); expected RISC-V (243)")
    return cases


@needs_cross
def test_bad_elfs(wbrun, guest, tmp_path):
    for name, (path, msg) in _bad_elfs(tmp_path, guest("misc")).items():
        e = run_engine(wbrun, path, root=tmp_path)
        assert e.returncode == 2, name
        assert msg in e.stderr.decode(), (name, e.stderr)


def test_host_binary_is_rejected(wbrun, tmp_path):
    true = Path("/bin/true").resolve()
    if not true.exists() or b"x86-64" not in subprocess.run(["file", "-L", str(true)],
                                                            capture_output=True).stdout:
        pytest.skip("needs an x86-64 /bin/true")
    e = run_engine(wbrun, true, root=tmp_path)
    assert e.returncode == 2
    assert b"ELF machine is x86-64 (62); expected RISC-V (243)" in e.stderr


@needs_cross
def test_dynamic_elf_is_rejected(wbrun, tmp_path):
    src = tmp_path / "dyn.c"
    src.write_text("int main(void) { return 0; }\n")
    elf = tmp_path / "dyn"
    subprocess.run([CROSS_GCC, "-O2", "-o", str(elf), str(src)], check=True, capture_output=True)
    e = run_engine(wbrun, elf, root=tmp_path)
    assert e.returncode == 2
    assert (b"dynamically linked ELF (has PT_INTERP /lib/ld-linux-riscv64-lp64d.so.1): "
            b"only static executables are supported") in e.stderr


@needs_cross
def test_relocatable_object_is_rejected(wbrun, tmp_path):
    src = tmp_path / "o.c"
    src.write_text("int f(void) { return 0; }\n")
    obj = tmp_path / "o.o"
    subprocess.run([CROSS_GCC, "-c", "-o", str(obj), str(src)], check=True, capture_output=True)
    e = run_engine(wbrun, obj, root=tmp_path)
    assert e.returncode == 2 and b"ELF type ET_REL is not executable" in e.stderr


# ---- determinism ----

@pytest.mark.parametrize("libc", LIBCS)
def test_deterministic_runs(wbrun, guest, tmp_path, libc):
    elf = guest("determinism", libc)
    a = run_engine(wbrun, elf, root=tmp_path, opts=["-s", "1"])
    b = run_engine(wbrun, elf, root=tmp_path, opts=["-s", "1"])
    c = run_engine(wbrun, elf, root=tmp_path, opts=["-s", "2"])
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert a.stdout != c.stdout
    lines = dict(line.split(": ", 1) for line in a.stdout.decode().splitlines())
    assert lines["at_random"] != lines["getrandom"]
    assert lines["uname"] == "Linux workbench 6.1.0-wb riscv64"
    assert lines["ids"] == "pid 1000 ppid 1 uid 1000 gid 1000"


# ---- C-level tests: mem.c, loader fuzz, syscall fuzz ----

@needs_cross
def test_loader_and_syscall_fuzz(guest, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler")
    srcs = engine_sources()
    exe = tmp_path / "test_loader"
    base = [cc, "-std=gnu11", "-O1", "-g", "-D_GNU_SOURCE", "-frounding-math",
            "-I", str(REPO / "native" / "include"), "-I", str(REPO / "native" / "src"),
            str(REPO / "native" / "tests" / "test_loader.c"), *srcs, "-lm", "-o", str(exe)]
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    r = subprocess.run(base[:2] + san + base[2:], capture_output=True)
    if r.returncode != 0:  # no sanitizer runtime: plain build
        subprocess.run(base, check=True, capture_output=True)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="print_stacktrace=1")
    # the fuzz runs with scratch stdio and a private ELF copy and checks those itself; the
    # host's device nodes are checked here too (a fuzz once left /dev/null with mode 6540)
    devices = [Path(p) for p in ("/dev/null", "/dev/zero", "/dev/full") if Path(p).exists()]
    before = {p: os.stat(p) for p in devices}
    for elf, seed in ((guest("misc"), 1), (guest("fileops"), 2)):
        r = subprocess.run([str(exe), str(elf), "400", str(seed), str(work)], capture_output=True,
                           env=env, timeout=600)
        assert r.returncode == 0 and r.stdout.endswith(b"ok\n"), (r.stdout, r.stderr)
        assert b"runtime error" not in r.stderr, r.stderr
        assert b"host objects unchanged" in r.stdout
    for p in devices:
        st = os.stat(p)
        assert (st.st_mode, st.st_nlink, st.st_uid) == \
            (before[p].st_mode, before[p].st_nlink, before[p].st_uid), p
