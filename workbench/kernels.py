"""A real Linux kernel for RISC-V, an initramfs of our guests, and QEMU as the oracle that boots them.

This module owns three things, each cached under ``$WB_CACHE/kernels`` (default
``~/.cache/workbench/kernels``) and keyed by a hash of its inputs:

* :func:`build_linux`: Linux 6.1 from Debian's ``linux-source-6.1`` package, configured as
  ``make tinyconfig`` plus ``kernels/linux/config.fragment`` and cross-built with
  ``riscv64-linux-gnu-gcc``. The result (:class:`KernelBuild`) is the flat ``Image`` that
  firmware jumps to, ``vmlinux`` (the ELF, for symbols) and ``System.map``. The cache key
  covers the fragment, the source package's version and sha256, and the cross compiler's
  and binutils' versions; a cold build takes two to three minutes on two cores (see
  ``kernels/README.md``), a cached one returns at once.
* :func:`build_initramfs`: a ``newc`` cpio archive (written here, no ``cpio`` tool needed)
  holding our ``/init`` (``kernels/linux/init.c``, built by :func:`build_init` with the musl
  toolchain of :mod:`workbench.guests`), the static guests ``lua54`` and ``zstd`` in
  ``/bin``, the Lua scripts of ``workloads/lua`` in ``/lua``, and ``/dev/console``.
* :func:`boot_qemu`: boots both on ``qemu-system-riscv64 -M virt`` with OpenSBI and returns
  the console text; :func:`normalize_console` strips what differs between two boots.

>>> from workbench import kernels
>>> k = kernels.build_linux()                                     # doctest: +SKIP
>>> rd = kernels.build_initramfs()                                # doctest: +SKIP
>>> console, rc = kernels.boot_qemu(k.image, rd)                  # doctest: +SKIP
>>> "wb-init: done" in console, rc                                # doctest: +SKIP
(True, 0)

Every failure is a :class:`KernelError` whose message says what to do (which package to
install, the tail of the build log); none ends in a traceback from a missing tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Mapping, NamedTuple, Sequence

from .errors import WorkbenchError
from .guests._build import _locked as _build_lock

__all__ = [
    "KernelError",
    "KernelToolMissing",
    "KernelBuildError",
    "InitramfsError",
    "FirmwareNotFound",
    "KernelBuild",
    "CpioEntry",
    "BootResult",
    "LINUX_DIR",
    "CONFIG_FRAGMENT",
    "INIT_SOURCE",
    "LINUX_SOURCE_TARBALL",
    "CROSS_COMPILE",
    "OPENSBI_FW_JUMP",
    "DEFAULT_APPEND",
    "kernels_cache_dir",
    "build_linux",
    "build_init",
    "build_initramfs",
    "initramfs_entries",
    "write_newc",
    "parse_newc",
    "qemu_command",
    "boot_qemu",
    "normalize_console",
]

_REPO_ROOT = Path(__file__).resolve().parent.parent

#: ``kernels/linux`` of the repository: the config fragment and ``init.c``.
LINUX_DIR = _REPO_ROOT / "kernels" / "linux"
CONFIG_FRAGMENT = LINUX_DIR / "config.fragment"
INIT_SOURCE = LINUX_DIR / "init.c"

#: Debian's ``linux-source-6.1`` package installs the kernel source here (override: ``WB_LINUX_SOURCE``).
LINUX_SOURCE_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
LINUX_SOURCE_PACKAGE = "linux-source-6.1"
CROSS_COMPILE = "riscv64-linux-gnu-"
#: OpenSBI built for QEMU's boards (Debian's ``opensbi`` package); jumps to the kernel at 0x80200000.
OPENSBI_FW_JUMP = Path("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin")
QEMU_SYSTEM = "qemu-system-riscv64"
#: Kernel command line: the 16550 console, SBI earlycon, and reboot (so QEMU exits) on panic.
DEFAULT_APPEND = "console=ttyS0 earlycon=sbi panic=-1"

#: Bump to invalidate every cached kernel (a change of build logic, not of inputs).
_SCHEMA = 1
#: Fixed build identity so the ``Linux version ...`` banner is the same on every machine.
_KBUILD_ENV = {
    "KBUILD_BUILD_USER": "wb",
    "KBUILD_BUILD_HOST": "workbench",
    "KBUILD_BUILD_VERSION": "1",
    "KBUILD_BUILD_TIMESTAMP": "Thu Jan  1 00:00:00 UTC 1970",
}
#: Host tools the kernel build runs, and the Debian package that has each.
_HOST_TOOLS = {
    "make": "make",
    "gcc": "gcc",
    "tar": "tar",
    "xz": "xz-utils",
    "bc": "bc",
    "bison": "bison",
    "flex": "flex",
    "perl": "perl",
}


# --------------------------------------------------------------------------- errors


class KernelError(WorkbenchError, RuntimeError):
    """Building or booting the kernel failed. ``reason`` is the one-line cause; ``log_tail``
    (possibly empty) the last lines of the tool's output; both are in ``str(error)``."""

    def __init__(self, reason: str, *, log_tail: str = "", log: Path | None = None):
        self.reason = reason
        self.log_tail = log_tail
        self.log = log
        text = reason
        if log is not None:
            text += f"\n  full log: {log}"
        if log_tail:
            text += "\n  last lines:\n" + "\n".join("    " + line for line in log_tail.splitlines())
        super().__init__(text)


class KernelToolMissing(KernelError):
    """A program or file the build or boot needs is not installed; the message names the package."""


class KernelBuildError(KernelError):
    """``make`` (config or build) failed, or the config lost a symbol the fragment asks for."""


class InitramfsError(KernelError, ValueError):
    """Bad input for the initramfs (a missing or non-RISC-V program, a bad name) or a corrupt archive."""


class FirmwareNotFound(KernelToolMissing):
    """The OpenSBI firmware image for ``-bios`` does not exist."""


# --------------------------------------------------------------------------- small helpers


def kernels_cache_dir() -> Path:
    """``$WB_CACHE/kernels`` (default ``~/.cache/workbench/kernels``)."""
    from .guests import cache_root

    return cache_root() / "kernels"


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(f"workbench: {msg}", file=sys.stderr, flush=True)


def _locked(name: str):
    """An exclusive lock across processes (two test workers must not build the same kernel)."""
    return _build_lock(kernels_cache_dir() / ".locks" / f"{name}.lock")


def _need_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise KernelToolMissing(f"{name} not found: install it with `apt-get install {package}`")
    return path


def _first_line(cmd: Sequence[str]) -> str:
    try:
        res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"<failed: {exc}>"
    out = (res.stdout or res.stderr).strip().splitlines()
    return out[0] if out else ""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _build_env() -> dict[str, str]:
    """The environment of the kernel's make and merge_config.sh runs."""
    env = dict(os.environ, **_KBUILD_ENV)
    # A parent make's flags and jobserver (`make test`) must not leak in, and these would
    # move the config or the output tree away from where the build expects them.
    for var in ("MAKEFLAGS", "MFLAGS", "KCONFIG_CONFIG", "KBUILD_OUTPUT", "KCONFIG_ALLCONFIG"):
        env.pop(var, None)
    return env


def _jobs() -> int:
    env = os.environ.get("WB_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- the kernel


@dataclass(frozen=True)
class KernelBuild:
    """A built kernel: the files in its cache directory and how it was made."""

    directory: Path
    image: Path  # arch/riscv/boot/Image: what -kernel / firmware loads
    vmlinux: Path  # the ELF with symbols
    system_map: Path
    config: Path  # the final .config
    release: str  # e.g. "6.1.0" (include/config/kernel.release)
    build_seconds: float  # wall time of the cold build that made it
    cached: bool  # True when this call found it in the cache


def _source_tarball() -> Path:
    env = os.environ.get("WB_LINUX_SOURCE")
    path = Path(env) if env else LINUX_SOURCE_TARBALL
    if not path.is_file():
        hint = f"`apt-get install {LINUX_SOURCE_PACKAGE}`" if not env else "fix WB_LINUX_SOURCE"
        raise KernelToolMissing(f"Linux source {path} not found: install it with {hint}")
    return path


def _source_identity(tarball: Path) -> dict[str, str]:
    """Package version and sha256 of the source tarball; the sha256 is memoised on the file's
    size and mtime, so a cached build_linux() does not re-read 140 MB every call."""
    st = tarball.stat()
    memo_path = kernels_cache_dir() / ".source-sha256.json"
    memo_key = f"{tarball.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    digest = memo.get(memo_key)
    if not digest:
        digest = _sha256_file(tarball)
        memo[memo_key] = digest
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_name(f".{memo_path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(memo, indent=1) + "\n")
        os.replace(tmp, memo_path)
    version = ""
    if shutil.which("dpkg-query") and tarball == LINUX_SOURCE_TARBALL:
        version = _first_line(["dpkg-query", "-W", "-f=${Version}", LINUX_SOURCE_PACKAGE])
    return {"tarball": tarball.name, "package_version": version, "sha256": digest}


def _cross_identity() -> dict[str, str]:
    gcc = _need_tool(CROSS_COMPILE + "gcc", "gcc-riscv64-linux-gnu")
    return {
        "gcc": _first_line([gcc, "-dumpfullversion"]),
        "ld": _first_line([_need_tool(CROSS_COMPILE + "ld", "binutils-riscv64-linux-gnu"), "--version"]),
    }


def _linux_key(fragment: str, source: Mapping[str, str], cross: Mapping[str, str]) -> str:
    meta = {"schema": _SCHEMA, "fragment": fragment, "source": dict(source), "cross": dict(cross),
            "kbuild": _KBUILD_ENV, "base": "tinyconfig", "target": "Image"}
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


def _extract_source(tarball: Path, digest: str, quiet: bool) -> Path:
    """The unpacked source tree, shared by every config (``kernels/src/linux-<sha>``).

    Unpacked into a temporary directory and renamed into place, so an interrupted
    extraction is never mistaken for a tree."""
    src_root = kernels_cache_dir() / "src"
    tree = src_root / f"linux-{digest[:16]}"
    if (tree / "Makefile").is_file():
        return tree
    with _locked("source"):
        if (tree / "Makefile").is_file():
            return tree
        _say(quiet, f"linux: unpacking {tarball.name} into {tree}")
        src_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack.", dir=src_root))
        try:
            res = subprocess.run(["tar", "-xJf", str(tarball), "-C", str(work)], capture_output=True, text=True)
            if res.returncode != 0:
                raise KernelBuildError(f"unpacking {tarball} failed (tar exit status {res.returncode})",
                                       log_tail="\n".join(res.stderr.strip().splitlines()[-15:]))
            tops = [p for p in work.iterdir() if p.is_dir()]
            if len(tops) != 1 or not (tops[0] / "Makefile").is_file():
                raise KernelBuildError(f"{tarball} does not hold one kernel source tree (found {[p.name for p in tops]})")
            if tree.exists():
                shutil.rmtree(tree)
            os.replace(tops[0], tree)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tree


_CONFIG_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_CONFIG_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def _parse_config(text: str) -> dict[str, str]:
    """``CONFIG_X=value`` and ``# CONFIG_X is not set`` (as ``"n"``) lines of a config or fragment."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        m = _CONFIG_SET.match(line)
        if m:
            out[m.group(1)] = m.group(2)
            continue
        m = _CONFIG_UNSET.match(line)
        if m:
            out[m.group(1)] = "n"
    return out


def _check_config(fragment: str, config: str) -> None:
    """Kconfig drops a fragment's assignment without failing when a dependency is missing or
    the name is wrong; say so instead of shipping a kernel without it."""
    have = _parse_config(config)
    lost = [f"{name}={want} (got {have.get(name, 'n')})"
            for name, want in _parse_config(fragment).items() if have.get(name, "n") != want]
    if lost:
        raise KernelBuildError(
            f"the kernel config lost {len(lost)} setting(s) of {CONFIG_FRAGMENT.name} "
            "(unmet dependency or unknown symbol): " + ", ".join(lost))


# make's short progress lines ("  CC      mm/slub.o"); the ones worth a line of their own
_STAGE = re.compile(r"^\s+(LD|OBJCOPY|SYSMAP|KSYMS|GZIP)\s+(\S+)")
_COMPILE = re.compile(r"^\s+(CC|AS|AR|HOSTCC|HOSTLD)\s+")


def _make(tree: Path, out: Path, args: Sequence[str], log: IO[str], what: str, log_path: Path,
          quiet: bool, t0: float) -> None:
    """Run ``make`` in ``tree`` with ``O=out``, appending to ``log``; print stage lines and a
    progress line at most every 20 s; raise KernelBuildError with the log's tail on failure."""
    cmd = ["make", "-C", str(tree), f"O={out}", "ARCH=riscv", f"CROSS_COMPILE={CROSS_COMPILE}", *args]
    env = _build_env()
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", env=env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise KernelToolMissing(f"{what}: cannot run make: {exc}") from exc
    compiled, last_report = 0, time.monotonic()
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)
        if _COMPILE.match(line):
            compiled += 1
        stage = _STAGE.match(line)
        now = time.monotonic()
        if stage:
            _say(quiet, f"linux: {stage.group(1)} {stage.group(2)} ({now - t0:.0f} s)")
        elif now - last_report >= 20 and compiled:
            _say(quiet, f"linux: {what}: {compiled} files compiled ({now - t0:.0f} s), last: {line.strip()}")
            last_report = now
    rc = proc.wait()
    log.flush()
    if rc != 0:
        raise KernelBuildError(f"{what} failed (make exit status {rc})", log_tail=_tail(log_path), log=log_path)


def build_linux(*, force: bool = False, quiet: bool = False) -> KernelBuild:
    """Build (or find in the cache) Linux 6.1 for RISC-V and return its files.

    Configured as ``tinyconfig`` + ``kernels/linux/config.fragment`` (``merge_config.sh -m``,
    then ``olddefconfig``; every fragment line is checked against the result) and built with
    ``make -jN ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- Image`` out of tree, N being
    ``$WB_JOBS`` or the number of cores. Progress goes to stderr unless ``quiet``; the cold
    build's wall time is printed and kept in ``build.json`` (``KernelBuild.build_seconds``).

    Raises :class:`KernelToolMissing` (naming the Debian package) when the source package,
    cross compiler or a host tool is missing, :class:`KernelBuildError` with the log's tail
    when the build fails.

    >>> k = build_linux()                                         # doctest: +SKIP
    >>> k.image.name, k.vmlinux.name, k.system_map.name           # doctest: +SKIP
    ('Image', 'vmlinux', 'System.map')
    """
    for tool, package in _HOST_TOOLS.items():
        _need_tool(tool, package)
    tarball = _source_tarball()
    if not CONFIG_FRAGMENT.is_file():
        raise KernelBuildError(f"config fragment {CONFIG_FRAGMENT} is missing")
    fragment = CONFIG_FRAGMENT.read_text()
    source = _source_identity(tarball)
    cross = _cross_identity()
    key = _linux_key(fragment, source, cross)
    out_dir = kernels_cache_dir() / f"linux-{key[:16]}"
    if not force:
        found = _load_build(out_dir)
        if found:
            return found

    with _locked("linux"):
        if not force:
            found = _load_build(out_dir)  # built by another process meanwhile
            if found:
                return found
        t0 = time.monotonic()
        jobs = _jobs()
        _say(quiet, f"linux: cold build of {source['tarball']} {source['package_version']} "
                    f"with {CROSS_COMPILE}gcc {cross['gcc']}, make -j{jobs} (this takes a while)")
        tree = _extract_source(tarball, source["sha256"], quiet)
        root = kernels_cache_dir()
        work = Path(tempfile.mkdtemp(prefix=f".linux-{key[:16]}.", dir=root))
        obj = work / "build"
        obj.mkdir()
        log_path = root / f"linux-{key[:16]}.log"  # outside work/: it must survive a failure
        (obj / "fragment.config").write_text(fragment)
        try:
            with open(log_path, "w") as log:
                _make(tree, obj, ["tinyconfig"], log, "make tinyconfig", log_path, quiet, t0)
                merge = [str(tree / "scripts" / "kconfig" / "merge_config.sh"), "-m", "-O", str(obj),
                         str(obj / ".config"), str(obj / "fragment.config")]
                log.write(f"$ {' '.join(merge)}\n")
                log.flush()
                res = subprocess.run(merge, stdout=log, stderr=subprocess.STDOUT, cwd=obj, env=_build_env(),
                                     stdin=subprocess.DEVNULL)
                if res.returncode != 0:
                    raise KernelBuildError(f"merge_config.sh failed (exit status {res.returncode})",
                                           log_tail=_tail(log_path), log=log_path)
                _make(tree, obj, ["olddefconfig"], log, "make olddefconfig", log_path, quiet, t0)
                _check_config(fragment, (obj / ".config").read_text())
                _make(tree, obj, [f"-j{jobs}", "Image"], log, "make Image", log_path, quiet, t0)
            seconds = time.monotonic() - t0
            staged = work / "out"
            staged.mkdir()
            files = {"Image": obj / "arch" / "riscv" / "boot" / "Image", "vmlinux": obj / "vmlinux",
                     "System.map": obj / "System.map", "config": obj / ".config"}
            for name, path in files.items():
                if not path.is_file():
                    raise KernelBuildError(f"make Image finished but {path.relative_to(obj)} is missing",
                                           log_tail=_tail(log_path), log=log_path)
                shutil.copy2(path, staged / name)
            release = (obj / "include" / "config" / "kernel.release").read_text().strip()
            manifest = {
                "release": release,
                "source": source,
                "cross": cross,
                "jobs": jobs,
                "cache_key": key,
                "build_seconds": round(seconds, 1),
                "image_bytes": (staged / "Image").stat().st_size,
                "image_sha256": _sha256_file(staged / "Image"),
                "fragment": CONFIG_FRAGMENT.name,
            }
            (staged / "build.json").write_text(json.dumps(manifest, indent=2) + "\n")
            shutil.copy2(log_path, staged / "build.log")
            if out_dir.exists():
                shutil.rmtree(out_dir)
            os.replace(staged, out_dir)
            log_path.unlink(missing_ok=True)
        finally:
            # the object tree is big and never reused: only new inputs (a new key) build again
            shutil.rmtree(work, ignore_errors=True)
        _say(quiet, f"linux: built {release} in {seconds:.0f} s (make -j{jobs}), "
                    f"Image {manifest['image_bytes'] / 1e6:.1f} MB -> {out_dir}")
        found = _load_build(out_dir, cached=False)
        assert found is not None
        return found


def _load_build(out_dir: Path, *, cached: bool = True) -> KernelBuild | None:
    try:
        manifest = json.loads((out_dir / "build.json").read_text())
    except (OSError, ValueError):
        return None
    files = [out_dir / n for n in ("Image", "vmlinux", "System.map", "config")]
    if not all(p.is_file() for p in files):
        return None
    return KernelBuild(directory=out_dir, image=files[0], vmlinux=files[1], system_map=files[2],
                       config=files[3], release=str(manifest.get("release", "")),
                       build_seconds=float(manifest.get("build_seconds", 0.0)), cached=cached)


# --------------------------------------------------------------------------- /init


def build_init(*, force: bool = False, quiet: bool = False) -> Path:
    """Build ``kernels/linux/init.c`` as a static riscv64 musl ELF (cached) and return its path.

    Uses the musl toolchain of :mod:`workbench.guests` (zig cc), the same compiler and target
    flags as the guests it runs, so there is one RISC-V C toolchain to install and trust.
    """
    from .guests import GuestBuildError, elf_info, find_toolchain

    try:
        tc = find_toolchain("musl")
    except GuestBuildError as exc:
        raise KernelToolMissing(f"building /init: {exc}") from None
    if not INIT_SOURCE.is_file():
        raise InitramfsError(f"{INIT_SOURCE} is missing")
    flags = [*tc.target_flags, "-O2", "-Wall", "-Werror", *tc.link_flags]
    h = hashlib.sha256()
    h.update(json.dumps({"schema": _SCHEMA, "toolchain": tc.identity, "cc": list(tc.cc[-1:]),
                         "flags": flags}, sort_keys=True).encode())
    h.update(INIT_SOURCE.read_bytes())
    out_dir = kernels_cache_dir() / f"init-{h.hexdigest()[:16]}"
    exe = out_dir / "init"
    if exe.is_file() and not force:
        return exe
    with _locked("init"):
        if exe.is_file() and not force:
            return exe
        _say(quiet, f"building /init ({tc.description})")
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".init.{os.getpid()}"
        cmd = [*tc.cc, *flags, str(INIT_SOURCE), "-o", str(tmp)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **tc.env))
        except OSError as exc:
            raise KernelToolMissing(f"building /init: cannot run the compiler: {exc}") from None
        if res.returncode != 0:
            tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-25:])
            raise KernelBuildError(f"building /init failed (exit status {res.returncode}): {' '.join(cmd)}",
                                   log_tail=tail)
        info = elf_info(tmp)
        if info.machine_name != "riscv" or info.elf_class != 64 or not info.static:
            raise KernelBuildError(f"/init built as {info.machine_name}/{info.elf_class}-bit "
                                   f"(static={info.static}), expected a static riscv 64-bit ELF")
        os.replace(tmp, exe)
    return exe


# --------------------------------------------------------------------------- cpio (newc)


class CpioEntry(NamedTuple):
    """One member of a ``newc`` archive. ``mode`` includes the file type bits
    (``stat.S_IFREG | 0o755``); ``rdev`` is ``(major, minor)`` for device nodes."""

    name: str  # without a leading "/", e.g. "bin/lua54"
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


_NEWC_MAGIC = b"070701"
_NEWC_HEADER = 110  # 6 bytes of magic + 13 fields of 8 hex digits
_TRAILER = "TRAILER!!!"


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _newc_header(ino: int, mode: int, nlink: int, size: int, rdev: tuple[int, int], namesize: int) -> bytes:
    # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check.
    # uid/gid 0 and mtime 0 keep the archive a pure function of its contents.
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], namesize, 0)
    return _NEWC_MAGIC + b"".join(b"%08X" % f for f in fields)


def write_newc(entries: Sequence[CpioEntry]) -> bytes:
    """The bytes of a ``newc`` (SVR4, no CRC) cpio archive of ``entries``, ending in ``TRAILER!!!``.

    This is the format the kernel unpacks into its rootfs (Documentation/driver-api/
    early-userspace/buffer-format.rst): a 110-byte ASCII header, the NUL-terminated name
    padded to 4 bytes, the data padded to 4 bytes. Directories must come before their members.

    >>> parse_newc(write_newc([CpioEntry("init", stat.S_IFREG | 0o755, b"hi")]))[0].data
    b'hi'
    """
    out = bytearray()
    for ino, e in enumerate([*entries, CpioEntry(_TRAILER, 0)], start=1):
        name = e.name.encode() + b"\0"
        is_trailer = e.name == _TRAILER
        nlink = 1 if is_trailer else (2 if stat.S_ISDIR(e.mode) else 1)
        out += _newc_header(0 if is_trailer else ino, e.mode, nlink, len(e.data), e.rdev, len(name))
        out += name + b"\0" * _pad4(_NEWC_HEADER + len(name))
        out += e.data + b"\0" * _pad4(len(e.data))
    return bytes(out)


def parse_newc(data: bytes) -> list[CpioEntry]:
    """The entries of a ``newc`` archive (without the trailer); :class:`InitramfsError` names the
    offset of the first thing wrong (bad magic, bad number, truncation, no trailer)."""
    entries, pos = [], 0
    while True:
        if pos + _NEWC_HEADER > len(data):
            raise InitramfsError(f"corrupt cpio archive: truncated header at offset {pos} (no {_TRAILER} entry)")
        if data[pos:pos + 6] != _NEWC_MAGIC:
            raise InitramfsError(f"corrupt cpio archive: bad magic {data[pos:pos + 6]!r} at offset {pos}, "
                                 f"expected {_NEWC_MAGIC.decode()} (newc)")
        try:
            f = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise InitramfsError(f"corrupt cpio archive: non-hex header field at offset {pos}") from None
        mode, size, rdev, namesize = f[1], f[6], (f[9], f[10]), f[11]
        name_start = pos + _NEWC_HEADER
        data_start = name_start + namesize + _pad4(_NEWC_HEADER + namesize)
        end = data_start + size
        if namesize < 1 or end > len(data):
            raise InitramfsError(f"corrupt cpio archive: entry at offset {pos} runs past the end ({len(data)} bytes)")
        name = data[name_start:name_start + namesize - 1].decode(errors="replace")
        if name == _TRAILER:
            return entries
        entries.append(CpioEntry(name, mode, bytes(data[data_start:end]), rdev))
        pos = end + _pad4(size)


def _default_programs() -> dict[str, Path]:
    from .guests import build

    return {"lua54": build("lua54"), "zstd": build("zstd")}


def _check_program(name: str, path: Path) -> None:
    from .guests import elf_info

    if not re.fullmatch(r"[A-Za-z0-9._+-]+", name) or name in (".", ".."):
        raise InitramfsError(f"program name {name!r}: expected a plain file name (it goes to /bin/{name})")
    if not path.is_file():
        raise InitramfsError(f"program {name!r}: {path} does not exist (build it first, e.g. "
                             f"workbench.guests.build({name!r}))")
    try:
        info = elf_info(path)
    except (OSError, ValueError) as exc:
        raise InitramfsError(f"program {name!r}: {path} is not an ELF file ({exc})") from None
    if info.machine_name != "riscv" or info.elf_class != 64 or not info.static:
        raise InitramfsError(f"program {name!r}: {path} is {info.machine_name}/{info.elf_class}-bit "
                             f"(static={info.static}); the initramfs needs static riscv 64-bit ELFs")


def _without_debug_info(path: Path) -> bytes:
    """The ELF at ``path`` without its DWARF sections (symbols stay, for profiles).

    Our static guests are two-thirds debug info; leaving it out halves the archive the
    kernel copies at every boot. Without ``riscv64-linux-gnu-strip`` (binutils, which the
    kernel build needs anyway) the file goes in as it is."""
    strip = shutil.which(CROSS_COMPILE + "strip")
    if not strip:
        return path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="wb-strip.") as tmp:
        out = Path(tmp) / path.name
        res = subprocess.run([strip, "--strip-debug", "-o", str(out), str(path)], capture_output=True, text=True)
        if res.returncode != 0:
            raise InitramfsError(f"{strip} --strip-debug {path} failed (exit status {res.returncode})",
                                 log_tail=res.stderr.strip())
        return out.read_bytes()


def initramfs_entries(programs: Mapping[str, Path], scripts: Sequence[Path], init: Path) -> list[CpioEntry]:
    """The archive's members, in order: directories, ``/dev/console``, ``/init``, ``/bin/*``, ``/lua/*``."""
    d, x, r = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFREG | 0o644
    entries = [CpioEntry(n, d) for n in ("bin", "dev", "lua", "proc", "sys", "tmp")]
    # The kernel opens /dev/console for init's stdio before anything mounts devtmpfs
    # (DEVTMPFS_MOUNT does not apply to an initramfs root), so the node must be in the archive.
    entries.append(CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    entries.append(CpioEntry("init", x, _without_debug_info(init)))
    entries += [CpioEntry(f"bin/{n}", x, _without_debug_info(Path(p))) for n, p in sorted(programs.items())]
    entries += [CpioEntry(f"lua/{p.name}", r, p.read_bytes()) for p in sorted(scripts, key=lambda p: p.name)]
    return entries


def build_initramfs(programs: Mapping[str, Path | str] | None = None, *, scripts: Sequence[Path | str] | None = None,
                    out: Path | str | None = None, init: Path | str | None = None, quiet: bool = False) -> Path:
    """Write the initramfs (an uncompressed ``newc`` cpio) and return its path.

    ``programs`` maps names to static riscv64 ELFs placed in ``/bin`` (default: the musl
    builds of ``lua54`` and ``zstd``, which our ``/init`` runs); ``scripts`` go to ``/lua``
    (default: every ``*.lua`` of ``workloads/lua``); ``init`` defaults to :func:`build_init`.
    ``out`` defaults to ``$WB_CACHE/kernels/initramfs-<hash>.cpio``; the archive is a pure
    function of its contents (no timestamps, owner root), so the same inputs give the same file.

    Raises :class:`InitramfsError` for a missing, non-ELF or non-riscv64 program, or a bad name.

    >>> build_initramfs({"lua54": guests.build("lua54")}, out="rd.cpio")   # doctest: +SKIP
    PosixPath('rd.cpio')
    """
    from .guests import LUA_SCRIPTS_DIR

    progs = {n: Path(p) for n, p in (programs.items() if programs is not None else _default_programs().items())}
    for name, path in progs.items():
        _check_program(name, path)
    lua = [Path(p) for p in scripts] if scripts is not None else sorted(LUA_SCRIPTS_DIR.glob("*.lua"))
    for p in lua:
        if not p.is_file():
            raise InitramfsError(f"script {p} does not exist")
    init_path = Path(init) if init is not None else build_init(quiet=quiet)
    _check_program("init", init_path)
    data = write_newc(initramfs_entries(progs, lua, init_path))
    if out is None:
        target = kernels_cache_dir() / f"initramfs-{hashlib.sha256(data).hexdigest()[:16]}.cpio"
        if target.is_file() and target.stat().st_size == len(data):
            return target
    else:
        target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    _say(quiet, f"initramfs: {len(data) / 1e6:.1f} MB, /bin: {', '.join(sorted(progs))} -> {target}")
    return target


# --------------------------------------------------------------------------- the oracle: QEMU


class BootResult(NamedTuple):
    """What :func:`boot_qemu` saw. Unpacks as ``(console, returncode)``."""

    console: str  # everything on the serial console (OpenSBI, kernel, init), "\n" line ends
    returncode: int | None  # QEMU's exit status; None when it was killed at the timeout

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def powered_off(self) -> bool:
        """QEMU exited by itself after the kernel's orderly poweroff (not a panic, not the timeout)."""
        return self.returncode == 0 and "reboot: Power down" in self.console and "Kernel panic" not in self.console


def qemu_command(kernel: Path | str, initramfs: Path | str, *, append: str = DEFAULT_APPEND,
                 firmware: Path | str = OPENSBI_FW_JUMP, memory: str = "256M", smp: int = 1,
                 disk: Path | str | None = None) -> list[str]:
    """The ``qemu-system-riscv64`` command line :func:`boot_qemu` runs.

    ``-no-reboot`` turns a reboot (``panic=-1`` after a panic) into QEMU exiting, so a broken
    boot ends at once instead of booting again until the timeout. ``disk`` (a raw image)
    becomes a virtio-mmio block device in the board's first virtio slot, as ``System(disk=)``.
    """
    cmd = [QEMU_SYSTEM, "-M", "virt", "-m", memory, "-smp", str(smp), "-nographic", "-no-reboot",
           "-bios", str(firmware), "-kernel", str(kernel), "-initrd", str(initramfs), "-append", append]
    if disk is not None:
        cmd += ["-drive", f"file={disk},format=raw,if=none,id=wbdisk",
                "-device", "virtio-blk-device,drive=wbdisk"]
    return cmd


def boot_qemu(kernel: Path | str | KernelBuild, initramfs: Path | str, *, append: str = DEFAULT_APPEND,
              timeout: float = 120.0, firmware: Path | str = OPENSBI_FW_JUMP, memory: str = "256M",
              smp: int = 1, disk: Path | str | None = None) -> BootResult:
    """Boot ``kernel`` (an ``Image`` or a :class:`KernelBuild`) with ``initramfs`` on QEMU's ``virt``
    board under OpenSBI; return the console text and QEMU's exit status.

    QEMU exits by itself when our ``/init`` powers off (status 0, ``BootResult.powered_off``);
    after ``timeout`` seconds it is killed and ``returncode`` is None. Raises
    :class:`FirmwareNotFound` or :class:`KernelToolMissing` (naming the package) before starting.
    """
    image = kernel.image if isinstance(kernel, KernelBuild) else Path(kernel)
    fw = Path(firmware)
    if not fw.is_file():
        raise FirmwareNotFound(f"OpenSBI firmware {fw} not found: install it with `apt-get install opensbi`")
    for what, p in (("kernel image", image), ("initramfs", Path(initramfs))):
        if not p.is_file():
            raise KernelError(f"{what} {p} does not exist")
    _need_tool(QEMU_SYSTEM, "qemu-system-misc")
    if disk is not None and not Path(disk).is_file():
        raise KernelError(f"disk image {disk} does not exist")
    cmd = qemu_command(image, initramfs, append=append, firmware=fw, memory=memory, smp=smp, disk=disk)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        raw, _ = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        raw, _ = proc.communicate()
        rc = None
    return BootResult(raw.decode(errors="replace").replace("\r\n", "\n").replace("\r", ""), rc)


_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# lines whose numbers are measurements (clock calibration, boot-time delays) or whose place
# in the output depends on timing (the entropy pool's messages)
_TIMING = re.compile(
    r"BogoMIPS|lpj=|calibrat|clocksource|sched_clock|\bmax_idle_ns\b|\brandom: |"
    r"\b\d+(\.\d+)?\s*(ns|us|usecs|ms|msecs)\b|\btook \d+|\bin \d+(\.\d+)? ?s\b")


def normalize_console(text: str) -> str:
    """``text`` with the printk timestamps (``[    0.123456] ``) stripped and the lines that
    carry timings dropped, so the consoles of two boots of the same inputs compare equal."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "").split("\n"):
        line = _TIMESTAMP.sub("", line)
        if _TIMING.search(line):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip("\n") + "\n"


#: Kernel console lines that differ between qemu's virt board and ours by design, each with
#: why. :func:`console_differences` leaves out the lines that match (on either side).
KNOWN_BOARD_DIFFERENCES = {
    r"^Machine model: riscv-virtio,(qemu|workbench)$": "the device tree names the board",
    r"^riscv: base ISA extensions ": "qemu's hart also offers H (the hypervisor extension); ours does not",
    r"^Memory: \d+K/\d+K available ": "the firmware reserves the device tree's pages; ours is smaller",
    r"^riscv-timer: Timer interrupt in S-mode is available via sstc extension$":
        "qemu offers Sstc (stimecmp); ours sets the S timer through SBI",
    r"^ASID allocator ": "qemu's satp has 16 ASID bits; ours none (legal: ASIDLEN may be 0)",
}
_KNOWN = [re.compile(p) for p in KNOWN_BOARD_DIFFERENCES]


def _from_banner(text: str) -> list[str]:
    i = text.find("Linux version")
    lines = normalize_console(text[max(i, 0):]).splitlines()
    return [ln for ln in lines if not any(k.search(ln) for k in _KNOWN)]


def console_differences(expected: str, got: str) -> list[str]:
    """The unified diff of two boots' consoles from the kernel banner on, after
    :func:`normalize_console` and without :data:`KNOWN_BOARD_DIFFERENCES`: empty when the
    boots agree.

    >>> console_differences("[ 0.1] Linux version 6\\nMachine model: riscv-virtio,qemu\\nok\\n",
    ...                     "[ 0.2] Linux version 6\\nMachine model: riscv-virtio,workbench\\nok\\n")
    []
    """
    import difflib

    return list(difflib.unified_diff(_from_banner(expected), _from_banner(got), "qemu", "engine",
                                     lineterm=""))

