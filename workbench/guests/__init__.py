"""Guest programs: real RISC-V (RV64GC) Linux executables for the engine to run.

Every guest is built from source on demand and cached:

* ``NAME``        static musl ELF, built with zig (``pip install ziglang==0.15.2``)
* ``NAME-glibc``  static glibc ELF, built with Debian's ``riscv64-linux-gnu-gcc``
* :func:`build_native` builds the same program for the host (x86-64), for
  engine-vs-native-vs-qemu benchmarks.

The guests are ``lua54`` (the Lua 5.4 interpreter; scripts in
:data:`LUA_SCRIPTS_DIR`), ``zstd`` (our compression round-trip driver) and
small C test programs (``fpmath``, ``atomics``, ``setjmp``, ``qsort``,
``printf``, ``files``). Third-party sources (Lua from the lupa sdist, zstd from
the zstandard sdist) are downloaded from PyPI at build time, pinned by sha256,
and cached outside the repository.

Caches live under ``$WB_CACHE`` (default ``~/.cache/workbench``): ``sdists/``
for archives, ``guests/`` for builds, keyed by a hash of sources, flags and
toolchain version, so a rebuild only happens when something changed.

>>> from workbench import guests
>>> exe = guests.build("lua54")                       # doctest: +SKIP
>>> args = guests.workload_args("lua54", size=50)     # doctest: +SKIP
>>> subprocess.run(["qemu-riscv64", exe, *args])      # doctest: +SKIP

A run ready for the engine (arguments relative to the directory the guest runs in, which is
also its root) comes from :func:`workload`:

>>> w = guests.workload("lua54", size=50)             # doctest: +SKIP
>>> Machine(root=w.root).run(guests.build("lua54"), w.args)  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import _catalog
from ._build import build_variant, output_name, split_name
from ._catalog import BENCH_SIZES, LUA_BENCH_DEFAULT_SIZE, SPECS, ZSTD_DEFAULT_LEVEL, ZSTD_DEFAULT_SIZE, brotli_input
from ._elf import ElfInfo, elf_info
from ._errors import GuestBuildError, SourceIntegrityError, ToolchainNotFound, UnknownGuestError
from ._paths import build_dir, cache_root, sdist_cache_dir, workloads_dir
from ._sources import PINS, SdistPin, extracted_dir, fetch_sdist, file_sha256
from ._toolchains import VARIANTS, ZIGLANG_PIN, Toolchain, available_variants, find_toolchain

__all__ = [
    "brotli_input",
    "GuestInfo",
    "GuestBuildError",
    "ToolchainNotFound",
    "SourceIntegrityError",
    "UnknownGuestError",
    "ElfInfo",
    "SdistPin",
    "Toolchain",
    "LUA_SCRIPTS_DIR",
    "LUA_BENCH_DEFAULT_SIZE",
    "ZSTD_DEFAULT_SIZE",
    "ZSTD_DEFAULT_LEVEL",
    "BENCH_SIZES",
    "PINS",
    "VARIANTS",
    "ZIGLANG_PIN",
    "list_guests",
    "guest_names",
    "build",
    "build_native",
    "build_all",
    "sha256",
    "elf_info",
    "workload_args",
    "workload_files",
    "Workload",
    "workload",
    "lua_script",
    "lua_scripts",
    "golden_file",
    "expected_output",
    "normalize_output",
    "find_toolchain",
    "available_variants",
    "fetch_sdist",
    "extracted_dir",
    "cache_root",
    "build_dir",
    "sdist_cache_dir",
    "workloads_dir",
]

#: Directory of our Lua scripts (strings.lua, tables.lua, coroutines.lua, mathfmt.lua, bench.lua).
LUA_SCRIPTS_DIR: Path = _catalog.lua_scripts_dir()


@dataclass(frozen=True)
class GuestInfo:
    """One guest program.

    ``variants`` are the names :func:`build` accepts for it whose toolchain is
    installed right now (e.g. ``("lua54", "lua54-glibc")``); ``all_variants``
    lists them regardless of toolchains; ``native`` says whether
    :func:`build_native` can work.
    """

    name: str
    description: str
    kind: str  # "interpreter", "benchmark" or "test"
    variants: tuple[str, ...]
    all_variants: tuple[str, ...]
    native: bool
    third_party: tuple[str, ...]  # e.g. ("lupa==2.8",)
    needs_writable_cwd: bool


def list_guests() -> list[GuestInfo]:
    """All guests, with the build variants available on this machine.

    >>> [g.name for g in list_guests()]                   # doctest: +SKIP
    ['lua54', 'zstd', 'fpmath', 'atomics', 'setjmp', 'qsort', 'printf', 'files']
    >>> list_guests()[0].variants                         # doctest: +SKIP
    ('lua54', 'lua54-glibc')
    """
    have = set(available_variants())
    out = []
    cross = ("musl", "glibc")
    for spec in SPECS.values():
        out.append(
            GuestInfo(
                name=spec.name,
                description=spec.description,
                kind=spec.kind,
                variants=tuple(output_name(spec, v) for v in cross if v in have),
                all_variants=tuple(output_name(spec, v) for v in cross),
                native="native" in have,
                third_party=tuple(p.label for p in spec.sdists),
                needs_writable_cwd=spec.needs_writable_cwd,
            )
        )
    return out


def guest_names(*, glibc: bool = True) -> list[str]:
    """Every cross build name: ``["lua54", "lua54-glibc", "zstd", ...]``."""
    names = []
    for spec in SPECS.values():
        names.append(spec.name)
        if glibc:
            names.append(output_name(spec, "glibc"))
    return names


def build(name: str, *, force: bool = False, quiet: bool = False) -> Path:
    """Build a RISC-V guest and return the path of its static ELF.

    ``name`` is a guest name (musl build) or a guest name with ``-glibc``
    (glibc build), e.g. ``"lua54"``, ``"lua54-glibc"``, ``"zstd"``,
    ``"fpmath-glibc"``. Builds are cached by a hash of the sources, flags and
    toolchain version; ``force=True`` rebuilds anyway. A progress line goes to
    stderr when something is actually compiled, unless ``quiet``.

    Raises :class:`GuestBuildError` (with the compiler's stderr tail) when
    compilation fails, :class:`ToolchainNotFound` when the compiler is not
    installed, :class:`SourceIntegrityError` when a download does not match
    its pin.

    >>> exe = build("zstd-glibc")                         # doctest: +SKIP
    >>> exe.name                                          # doctest: +SKIP
    'zstd-glibc'
    """
    spec, variant = split_name(name)
    if variant == "native":
        return build_native(spec.name, force=force, quiet=quiet)
    return build_variant(spec, variant, force=force, quiet=quiet)


def build_native(name: str, *, force: bool = False, quiet: bool = False) -> Path:
    """Build ``name`` for the host with ``cc -O2`` (same sources as the guest).

    ``name`` may carry a ``-native`` suffix; the result is ``NAME-native``.

    >>> build_native("lua54").name                        # doctest: +SKIP
    'lua54-native'
    """
    spec, variant = split_name(name)
    if variant == "glibc":
        raise UnknownGuestError(f"{name!r}: build_native() takes a guest name such as {spec.name!r}")
    return build_variant(spec, "native", force=force, quiet=quiet)


def build_all(*, variants: tuple[str, ...] = ("musl", "glibc"), force: bool = False, quiet: bool = False) -> dict[str, Path]:
    """Build every guest for each of ``variants``; returns ``{build name: path}``.

    >>> sorted(build_all(variants=("glibc",)))            # doctest: +SKIP
    ['atomics-glibc', 'files-glibc', ...]
    """
    out = {}
    for spec in SPECS.values():
        for v in variants:
            out[output_name(spec, v)] = build_variant(spec, v, force=force, quiet=quiet)
    return out


def sha256(path: str | Path) -> str:
    """Hex sha256 of a built ELF (datasets record the workload's hash).

    >>> sha256(build("atomics"))                          # doctest: +SKIP
    '3f1c...'
    """
    return file_sha256(Path(path))


def workload_args(name: str, *, size: object = None, level: object = None) -> list[str]:
    """Command-line arguments (after the program path) for a benchmark run of ``name``.

    * ``lua54``: ``[<LUA_SCRIPTS_DIR>/bench.lua, SIZE]`` (default size 600, ~1.5 s native)
    * ``zstd``: ``[SIZE, LEVEL]`` (defaults ``4m`` and ``3``; SIZE takes k/m suffixes)
    * ``qsort``: ``[COUNT]`` if ``size`` is given, else ``[]`` (300000)
    * other small programs: ``[]``

    Paths are absolute host paths; the guest must be able to read them
    (see :func:`workload_files`).

    >>> workload_args("zstd-glibc", size="1m")            # doctest: +SKIP
    ['1m', '3']
    >>> workload_args("lua54", size=50)[1]                # doctest: +SKIP
    '50'
    """
    spec, _ = split_name(name)
    return spec.args(size, level)


def workload_files(name: str) -> list[Path]:
    """Host files that ``name`` reads when run with :func:`workload_args`."""
    spec, _ = split_name(name)
    return spec.files()


class Workload(NamedTuple):
    """A benchmark run of a guest, ready for the engine (see :func:`workload`)."""

    #: arguments after the program path; the files it reads are relative to ``root``
    args: list[str]
    #: the directory the guest runs in: its working directory, and the engine's root
    root: Path


def workload(name: str, size: object = None) -> Workload:
    """The arguments and root directory for a benchmark run of ``name``.

    ``size`` defaults to the benchmark size :data:`BENCH_SIZES` gives the guest (else the
    catalogue's default, as for :func:`workload_args`). Files the guest reads are passed
    relative to ``root`` (the directory holding the first of them; a temporary directory
    when it reads none), so the same arguments work for the engine with ``root`` as its
    root, for qemu and for the native build run in ``root``. Unpacks as ``(args, root)``.

    >>> workload("zstd", size="1m")                       # doctest: +SKIP
    Workload(args=['1m', '3'], root=PosixPath('/tmp'))
    >>> args, root = workload("lua54")                    # doctest: +SKIP
    >>> args, root.name                                   # doctest: +SKIP
    (['bench.lua', '300'], 'lua')
    """
    spec, _ = split_name(name)
    args = list(workload_args(name, size=size if size is not None else BENCH_SIZES.get(spec.name)))
    root = None
    for i, a in enumerate(args):
        p = Path(a)
        if p.is_absolute() and p.is_file():
            root = root or p.parent
            args[i] = str(p.relative_to(root)) if p.is_relative_to(root) else a
    return Workload(args, Path(root or tempfile.gettempdir()))


def lua_script(name: str) -> Path:
    """Path of one of our Lua scripts: ``lua_script("strings")`` or ``lua_script("strings.lua")``."""
    fname = name if name.endswith(".lua") else name + ".lua"
    path = _catalog.lua_scripts_dir() / fname
    if not path.is_file():
        raise FileNotFoundError(f"no Lua script {fname} in {_catalog.lua_scripts_dir()}")
    return path


def lua_scripts(*, include_bench: bool = False) -> list[Path]:
    """The Lua test scripts (sorted); ``bench.lua`` only with ``include_bench``."""
    scripts = sorted(_catalog.lua_scripts_dir().glob("*.lua"))
    return [p for p in scripts if include_bench or p.name != "bench.lua"]


def golden_file(name: str) -> Path | None:
    """The golden output file for a small program (``"fpmath"``) or Lua script (``"strings.lua"``).

    The goldens hold the output of a default run under qemu-riscv64; lines
    starting with ``[libc] `` are libc dependent and ignored by comparisons
    (see :func:`normalize_output`). Returns None when there is no golden.
    """
    if name.endswith(".lua"):
        path = _catalog.lua_scripts_dir() / "expected" / (name[:-4] + ".txt")
    else:
        spec, _ = split_name(name)
        path = _catalog.small_dir() / "expected" / f"{spec.name}.txt"
    return path if path.is_file() else None


def normalize_output(text: str) -> str:
    """Drop the lines marked libc dependent (``[libc] ...``) and normalise line ends."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(line for line in lines if not line.startswith("[libc] "))


def expected_output(name: str) -> str | None:
    """:func:`normalize_output` of the golden for ``name``, or None."""
    path = golden_file(name)
    return normalize_output(path.read_text()) if path else None
