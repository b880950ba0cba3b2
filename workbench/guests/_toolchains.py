"""The three compilers guests are built with.

* ``musl``: zig's clang from the ``ziglang`` PyPI package,
  ``python -m ziglang cc -target riscv64-linux-musl -static`` (static musl ELF).
* ``glibc``: Debian's ``riscv64-linux-gnu-gcc -static`` (static glibc ELF).
* ``native``: the host C compiler (``$CC`` or ``cc``), for x86-64 reference runs.

Both cross toolchains target RV64GC with the LP64D ABI.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from ._errors import ToolchainNotFound

# Module-level aliases so tests can simulate missing tools without patching the stdlib.
_which = shutil.which
_find_spec = importlib.util.find_spec

#: The ziglang release the guests are built and tested with (also pinned in pyproject.toml).
ZIGLANG_PIN = "ziglang==0.15.2"

VARIANTS = ("musl", "glibc", "native")


@dataclass(frozen=True)
class Toolchain:
    """A C compiler plus the flags that select its target."""

    variant: str
    cc: tuple[str, ...]
    target_flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    identity: str  # versions and paths that go into the build cache key
    description: str
    cross: bool
    env: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _run(cmd: list[str]) -> str:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"<failed: {exc}>"
    return (res.stdout + res.stderr).strip()


def _zig() -> Toolchain:
    override = os.environ.get("WB_ZIG")
    if override:
        if not _which(override):
            raise ToolchainNotFound(f"WB_ZIG={override} is not an executable zig binary")
        cc: tuple[str, ...] = (override, "cc")
        version = _run([override, "version"])
        origin = f"WB_ZIG={override}"
    elif _find_spec("ziglang") is not None:
        cc = (sys.executable, "-m", "ziglang", "cc")
        version = _run([sys.executable, "-m", "ziglang", "version"])
        try:
            origin = "ziglang " + importlib.metadata.version("ziglang")
        except importlib.metadata.PackageNotFoundError:
            origin = "ziglang (unknown version)"
    elif _which("zig"):
        zig = _which("zig")
        assert zig
        cc = (zig, "cc")
        version = _run([zig, "version"])
        origin = zig
    else:
        raise ToolchainNotFound(
            "the musl build variant needs zig: install it with "
            f"`pip install {ZIGLANG_PIN}` (or set WB_ZIG to a zig binary)"
        )
    if not version or version.startswith("<failed"):
        raise ToolchainNotFound(f"zig ({origin}) does not run: {version}. Try `pip install {ZIGLANG_PIN}`")
    return Toolchain(
        variant="musl",
        cc=cc,
        target_flags=("-target", "riscv64-linux-musl", "-mcpu=baseline_rv64", "-fno-sanitize=all"),
        link_flags=("-static",),
        identity=f"zig {version} ({origin})",
        description=f"zig {version} cc, riscv64-linux-musl, static",
        cross=True,
    )


def gnu_gcc(who: str, packages: str) -> str:
    """Path of Debian's riscv64-linux-gnu-gcc (``$WB_RISCV_GCC`` overrides it); the error
    names ``who`` needs it and the Debian ``packages`` to install."""
    override = os.environ.get("WB_RISCV_GCC")
    gcc = _which(override) if override else _which("riscv64-linux-gnu-gcc")
    if override and not gcc:
        raise ToolchainNotFound(f"WB_RISCV_GCC={override} is not an executable compiler")
    if not gcc:
        raise ToolchainNotFound(f"{who} needs riscv64-linux-gnu-gcc: install it with `apt-get install {packages}`")
    return gcc


def _gnu_cross() -> Toolchain:
    gcc = gnu_gcc("the glibc build variant", "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross")
    version = _run([gcc, "-dumpfullversion"])
    libc_a = _run([gcc, "-print-file-name=libc.a"])
    try:
        st = os.stat(libc_a)
        libc_id = f"{libc_a} {st.st_size} {int(st.st_mtime)}"
    except OSError:
        raise ToolchainNotFound(
            f"{gcc} has no static glibc (libc.a not found): install it with "
            "`apt-get install libc6-dev-riscv64-cross`"
        ) from None
    return Toolchain(
        variant="glibc",
        cc=(gcc,),
        target_flags=("-march=rv64gc", "-mabi=lp64d"),
        link_flags=("-static",),
        identity=f"{gcc} {version}; {libc_id}",
        description=f"riscv64-linux-gnu-gcc {version}, glibc, static",
        cross=True,
    )


def _native() -> Toolchain:
    cc_env = os.environ.get("CC")
    cc = _which(cc_env) if cc_env else (_which("cc") or _which("gcc") or _which("clang"))
    if not cc:
        raise ToolchainNotFound(
            "native builds need a host C compiler (cc): install it with `apt-get install gcc`"
        )
    banner = _run([cc, "--version"])
    version = banner.splitlines()[0] if banner else "?"
    machine = _run([cc, "-dumpmachine"])
    return Toolchain(
        variant="native",
        cc=(cc,),
        target_flags=(),
        link_flags=(),
        identity=f"{cc} {version} {machine}",
        description=f"host {version} ({machine})",
        cross=False,
    )


@functools.lru_cache(maxsize=None)
def _find(variant: str, env_key: tuple) -> Toolchain:
    if variant == "musl":
        return _zig()
    if variant == "glibc":
        return _gnu_cross()
    if variant == "native":
        return _native()
    raise ValueError(f"unknown build variant {variant!r}; expected one of {VARIANTS}")


def find_toolchain(variant: str) -> Toolchain:
    """The toolchain for ``variant`` (``musl``, ``glibc`` or ``native``).

    Raises :class:`ToolchainNotFound`, naming the package to install, when the
    compiler is missing.

    >>> find_toolchain("glibc").cc           # doctest: +SKIP
    ('/usr/bin/riscv64-linux-gnu-gcc',)
    """
    env_key = tuple(os.environ.get(k) for k in ("WB_ZIG", "WB_RISCV_GCC", "CC", "PATH"))
    return _find(variant, env_key)


def available_variants() -> list[str]:
    """The build variants whose toolchain is installed."""
    out = []
    for v in VARIANTS:
        try:
            find_toolchain(v)
        except ToolchainNotFound:
            continue
        out.append(v)
    return out
