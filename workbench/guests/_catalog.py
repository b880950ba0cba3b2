"""The guest programs: what they are built from and how they are run."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ._errors import GuestBuildError
from ._paths import workloads_dir
from ._sources import BLOSC, BROTLI, LUPA, ZSTANDARD, SdistPin, extracted_dir


@dataclass
class Plan:
    """Everything a compiler needs for one guest (independent of the variant)."""

    sources: list[Path]
    include_dirs: list[Path] = field(default_factory=list)
    cflags: list[str] = field(default_factory=list)
    libs: list[str] = field(default_factory=list)
    #: directories mapped with -ffile-prefix-map so builds do not embed local paths
    prefix_maps: dict[Path, str] = field(default_factory=dict)
    #: extra files whose contents go into the cache key (headers)
    extra_inputs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    kind: str  # "interpreter", "benchmark" or "test"
    prepare: Callable[[], Plan]
    sdists: tuple[SdistPin, ...] = ()
    #: default benchmark arguments, from (size, level)
    args: Callable[[object, object], list[str]] = lambda size, level: []
    #: host files the guest reads when run with args()
    files: Callable[[], list[Path]] = lambda: []
    needs_writable_cwd: bool = False


# ---------------------------------------------------------------- lua54

LUA_BENCH_DEFAULT_SIZE = 600


def _lua_plan() -> Plan:
    src = extracted_dir(LUPA)
    excluded = {"ltests.c", "onelua.c", "luac.c"}
    sources = sorted(p for p in src.glob("*.c") if p.name not in excluded)
    if not any(p.name == "lua.c" for p in sources):
        raise GuestBuildError(f"{src} has no lua.c; the {LUPA.label} pin is not the expected archive")
    return Plan(
        sources=sources,
        include_dirs=[src],
        # POSIX facilities (mkstemp, popen, ...) but no dlopen: the build is static.
        cflags=["-std=gnu99", "-DLUA_USE_POSIX"],
        libs=["-lm"],
        prefix_maps={src: "lua54"},
        extra_inputs=sorted(src.glob("*.h")),
    )


def lua_scripts_dir() -> Path:
    return workloads_dir() / "lua"


def _lua_args(size: object, level: object) -> list[str]:
    return [str(lua_scripts_dir() / "bench.lua"), str(size if size is not None else LUA_BENCH_DEFAULT_SIZE)]


# ---------------------------------------------------------------- zstd

ZSTD_DEFAULT_SIZE = "4m"
ZSTD_DEFAULT_LEVEL = 3
ZSTD_MT_WORKERS = 2  # zstd-mt: compression threads besides the caller
# zstd-mt's default level: high enough that compression (the part workers share) dominates the
# run, as it does when someone reaches for multithreaded zstd; at level 3 generating the input
# and the single-threaded decompression take most of the time and nothing can scale
ZSTD_MT_DEFAULT_LEVEL = 12
_MT_DEFINE = "#ifndef __EMSCRIPTEN__\n#define ZSTD_MULTITHREAD\n#endif\n"
_ST_NAME = "wb_zstd_singlethread.c"


def _zstd_singlethread_source(src: Path) -> Path:
    """zstd.c with its unconditional ``#define ZSTD_MULTITHREAD`` removed.

    The amalgamated zstd.c in the zstandard sdist turns multithreading on by
    itself, so a command-line flag cannot turn it off; the derived copy lives
    next to the extracted sources in the cache.
    """
    out = src / _ST_NAME
    if out.exists():
        return out
    text = (src / "zstd.c").read_text(encoding="latin-1")
    if text.count(_MT_DEFINE) != 1:
        raise GuestBuildError(
            f"{src / 'zstd.c'}: cannot find the ZSTD_MULTITHREAD definition to disable "
            f"({ZSTANDARD.label} is not the expected archive)"
        )
    text = text.replace(_MT_DEFINE, "/* workbench: ZSTD_MULTITHREAD left undefined (single-threaded build) */\n")
    fd, tmp = tempfile.mkstemp(dir=src, prefix=_ST_NAME + ".")
    with os.fdopen(fd, "w", encoding="latin-1") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out


def _zstd_plan() -> Plan:
    src = extracted_dir(ZSTANDARD)
    driver_dir = workloads_dir() / "zstd"
    return Plan(
        sources=[driver_dir / "zstd_driver.c", _zstd_singlethread_source(src)],
        include_dirs=[src],
        cflags=["-std=gnu11"],
        prefix_maps={src: "zstd", driver_dir: "workloads/zstd"},
        extra_inputs=[src / "zstd.h", src / "zstd_errors.h"],
    )


def _zstd_mt_plan() -> Plan:
    """The same driver over the sdist's zstd.c as shipped: ZSTD_MULTITHREAD on, pthreads."""
    src = extracted_dir(ZSTANDARD)
    driver_dir = workloads_dir() / "zstd"
    return Plan(
        sources=[driver_dir / "zstd_driver.c", src / "zstd.c"],
        include_dirs=[src],
        cflags=["-std=gnu11", "-pthread"],
        libs=["-lpthread"],
        prefix_maps={src: "zstd", driver_dir: "workloads/zstd"},
        extra_inputs=[src / "zstd.h", src / "zstd_errors.h"],
    )


def _zstd_mt_args(size: object, level: object) -> list[str]:
    return _zstd_args(size, level if level is not None else ZSTD_MT_DEFAULT_LEVEL) + [str(ZSTD_MT_WORKERS)]


def _zstd_args(size: object, level: object) -> list[str]:
    return [str(size if size is not None else ZSTD_DEFAULT_SIZE), str(level if level is not None else ZSTD_DEFAULT_LEVEL)]


# ---------------------------------------------------------------- blosc

BLOSC_DEFAULT_SIZE = "8m"
BLOSC_THREADS = 2


def _blosc_plan() -> Plan:
    src = extracted_dir(BLOSC)
    lib = src / "blosc"
    lz4 = sorted(src.glob("internal-complibs/lz4-*"))
    if not (lib / "blosc.c").exists() or not lz4:
        raise GuestBuildError(f"{src} has no blosc/blosc.c or bundled lz4; the {BLOSC.label} pin is not the expected archive")
    driver_dir = workloads_dir() / "blosc"
    names = ["blosc.c", "blosclz.c", "fastcopy.c", "shuffle.c", "shuffle-generic.c", "bitshuffle-generic.c"]
    return Plan(
        sources=[driver_dir / "blosc_driver.c", *(lib / n for n in names), lz4[-1] / "lz4.c", lz4[-1] / "lz4hc.c"],
        include_dirs=[lib, lz4[-1]],
        cflags=["-std=gnu11", "-pthread", "-DHAVE_LZ4"],
        libs=["-lpthread", "-lm"],
        prefix_maps={src: "c-blosc", driver_dir: "workloads/blosc"},
    )


def _blosc_args(size: object, level: object) -> list[str]:
    return [str(size if size is not None else BLOSC_DEFAULT_SIZE), str(BLOSC_THREADS)]


# ---------------------------------------------------------------- brotli

BROTLI_DEFAULT_SIZE = "1m"
BROTLI_DEFAULT_LEVEL = 5


def _brotli_plan() -> Plan:
    src = extracted_dir(BROTLI)
    sources = sorted(p for d in ("common", "dec", "enc") for p in (src / d).glob("*.c"))
    return Plan(
        sources=sources + [src / "tools" / "brotli.c"],
        include_dirs=[src / "include"],
        cflags=["-std=gnu99"],
        libs=["-lm"],
        prefix_maps={src: "brotli"},
        extra_inputs=sorted(p for d in ("common", "dec", "enc", "include/brotli") for p in (src / d).glob("*.h")),
    )


def _parse_size(size: object) -> int:
    s = str(size).lower()
    mult = {"k": 1 << 10, "m": 1 << 20}.get(s[-1:], 1)
    return int(s[:-1] if s[-1:] in ("k", "m") else s) * mult


def brotli_input(size: object = None) -> Path:
    """A deterministic text file of `size` bytes (words from a small vocabulary, lines of
    varying length) for the brotli workload, made once in the cache."""
    from ._paths import cache_root

    n = _parse_size(size if size is not None else BROTLI_DEFAULT_SIZE)
    path = cache_root() / "inputs" / f"brotli-input-{n}.txt"
    if path.exists() and path.stat().st_size == n:
        return path
    words = ("the quick brown fox jumps over lazy dog engine guest host block trace sample "
             "object pointer barrier profile memory view fault page cache translate").split()
    out, x = [], 2463534242
    total = 0
    while total < n:
        x ^= (x << 13) & 0xFFFFFFFF; x ^= x >> 17; x ^= (x << 5) & 0xFFFFFFFF
        line = " ".join(words[(x >> (3 * k)) % len(words)] for k in range(3 + x % 9)) + f" {x % 1000}\n"
        out.append(line)
        total += len(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(out)[:n], encoding="ascii")
    os.replace(tmp, path)
    return path


def _brotli_args(size: object, level: object) -> list[str]:
    lv = level if level is not None else BROTLI_DEFAULT_LEVEL
    return ["-c", "-q", str(lv), str(brotli_input(size))]


# ---------------------------------------------------------------- small programs


def small_dir() -> Path:
    return workloads_dir() / "small"


def _small(name: str, libs: tuple[str, ...] = ()) -> Callable[[], Plan]:
    def plan() -> Plan:
        d = small_dir()
        return Plan(sources=[d / f"{name}.c"], cflags=["-std=gnu11"], libs=list(libs), prefix_maps={d: "workloads/small"})

    return plan


def threads_dir() -> Path:
    return workloads_dir() / "threads"


def _threaded(name: str) -> Callable[[], Plan]:
    """A pthread program of ours (workloads/threads/), linked statically with the libc's threads."""
    def plan() -> Plan:
        d = threads_dir()
        return Plan(sources=[d / f"{name}.c"], cflags=["-std=gnu11", "-pthread"], libs=["-lpthread"],
                    prefix_maps={d: "workloads/threads"})

    return plan


def _watching(name: str) -> Callable[[], Plan]:
    """A program of ours that uses the engine's guest-visible watchpoints (workloads/watch/)."""
    def plan() -> Plan:
        d = workloads_dir() / "watch"
        return Plan(sources=[d / f"{name}.c"], cflags=["-std=gnu11"], prefix_maps={d: "workloads/watch"})

    return plan


def _qsort_args(size: object, level: object) -> list[str]:
    return [str(size)] if size is not None else []


SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            "lua54",
            "Lua 5.4 interpreter (lua.c + library, from the lupa sdist); runs workloads/lua/*.lua",
            "interpreter",
            _lua_plan,
            sdists=(LUPA,),
            args=_lua_args,
            files=lambda: [lua_scripts_dir() / "bench.lua"],
        ),
        Spec(
            "zstd",
            "zstd round trip of generated data (our driver around the single-file zstd.c, single-threaded)",
            "benchmark",
            _zstd_plan,
            sdists=(ZSTANDARD,),
            args=_zstd_args,
        ),
        Spec(
            "zstd-mt",
            "multithreaded zstd: the same round trip with the sdist's zstd.c built with ZSTD_MULTITHREAD (args: size, level, workers)",
            "benchmark",
            _zstd_mt_plan,
            sdists=(ZSTANDARD,),
            args=_zstd_mt_args,
        ),
        Spec(
            "blosc",
            "c-blosc 1 (from the python-blosc sdist) compressing typed arrays with 2 threads, then decompressing (args: size, threads, codec)",
            "benchmark",
            _blosc_plan,
            sdists=(BLOSC,),
            args=_blosc_args,
        ),
        Spec(
            "brotli",
            "Brotli's own command-line tool compressing a generated text file to stdout (from the Brotli sdist)",
            "benchmark",
            _brotli_plan,
            sdists=(BROTLI,),
            args=_brotli_args,
            files=lambda: [brotli_input()],
        ),
        Spec("fpmath", "floating point: libm, printf %a/%e/%g, strtod round trips, rounding modes, fenv flags",
             "test", _small("fpmath", ("-lm",))),
        Spec("atomics", "C11 atomics: fetch_add/sub/and/or/xor, exchange, CAS strong/weak, 32 and 64 bit",
             "test", _small("atomics")),
        Spec("setjmp", "setjmp/longjmp across nested calls and recursion", "test", _small("setjmp")),
        Spec("qsort", "qsort/bsearch over pseudo-random ints, records and strings (arg: count)",
             "test", _small("qsort"), args=_qsort_args),
        Spec("printf", "printf/snprintf/sscanf and strtol-family conversions", "test", _small("printf")),
        Spec("objects", "heap objects with a known access pattern (the barrier profiler's test)",
             "test", _small("objects")),
        Spec("heads", "16 KiB buffers of which only the heads are used, write-only char arrays (arg: count)",
             "benchmark", _small("heads"), args=lambda size, level: [str(size if size is not None else 2000)]),
        Spec("psum", "pthreads: a parallel sum over private slices, TLS, distinct tids (args: threads, elements)",
             "test", _threaded("psum")),
        Spec("workq", "pthreads: mutex/condvar work queue, producers and consumers (args: producers, consumers, items)",
             "test", _threaded("workq")),
        Spec("syncs", "pthreads: barrier, rwlock, once, detached thread + semaphore, trylock, TSD destructors, sleeps",
             "test", _threaded("syncs")),
        Spec("spawn", "pthreads: rounds of creating and joining many short threads (args: per round, rounds)",
             "test", _threaded("spawn")),
        Spec("waits", "pthreads: timed waits, a deadlock, a lone futex wait, fork, the thread limit (arg: mode)",
             "test", _threaded("waits")),
        Spec("racy", "pthreads: a histogram updated without a lock, a race kept on purpose (args: threads, items, [show])",
             "test", _threaded("racy")),
        Spec("races", "pthreads: seeded data races and race-free counterparts, ground truth for race detectors "
             "(args: mode flag|hist|late|all_racy|clean_lock|clean_join|clean_atomic|clean_adjacent|clean_cond|"
             "clean_barrier|all_clean, [iterations])", "test", _threaded("races")),
        Spec("smc", "pthreads: one thread rewrites a function another runs, fence.i between (arg: rounds)",
             "test", _threaded("smc")),
        Spec("litmus", "pthreads: the store-buffering litmus test, with and without fence rw,rw (args: rounds, [fence|nofence])",
             "test", _threaded("litmus")),
        Spec("signals", "signal handlers: faults recovered, pc edited in the ucontext, altstack, masks, alarms, pthread_kill (arg: all|abort)",
             "test", _threaded("signals")),
        Spec("wpdebug", "the engine's wp.set/wp.clear instructions and watch traps, as a debugger uses "
             "them (args: all | nohandler | many N; needs Machine(watch=...))", "test", _watching("wpdebug")),
        Spec("heapbugs", "heap bugs planted on purpose: overflows, an underflow, uses after free (the heap "
             "checkers' test; args: bugs | clean N; a size runs clean N)", "test", _watching("heapbugs"),
             args=lambda size, level: ["clean", str(size)] if size is not None else []),
        Spec("taintflow", "data flows of known sizes from a file to writes and syscall arguments "
             "(taint tracking's test; args: SOURCE OTHER; needs Machine(watch=...), the taint client)",
             "test", _watching("taintflow")),
        Spec("files", "file system calls: open/read/write/lseek/fstat/readdir/rename/unlink/getcwd (needs a writable cwd)",
             "test", _small("files"), needs_writable_cwd=True),
    ]
}

#: sizes for benchmark runs (:func:`workbench.guests.workload`'s default): the native build
#: runs for a few tenths of a second on a current x86-64 core, long enough that process
#: start-up (native, qemu) and load time (engine) do not matter
BENCH_SIZES: dict[str, object] = {"lua54": 300, "zstd": "32m", "heads": 20000, "brotli": "8m", "zstd-mt": "16m", "blosc": "32m"}
