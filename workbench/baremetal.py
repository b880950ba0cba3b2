"""Bare-metal test programs for system mode: freestanding M-mode RV64GC programs that check one
area of the privileged ISA each and print one line per check on the UART.

The sources are ``workloads/baremetal/`` (see its README.md): ``csrs``, ``traps``, ``sv39``,
``interrupts`` and ``uart``. :func:`build` compiles one with Debian's ``riscv64-linux-gnu-gcc``
into an ELF linked at 0x80000000 and caches it under ``$WB_CACHE/baremetal`` (default
``~/.cache/workbench/baremetal``), keyed by a hash of the sources, the flags and the compiler
version, as :mod:`workbench.guests` caches its builds.

The goldens, ``workloads/baremetal/expected/NAME.txt``, are the output under the oracle,
``qemu-system-riscv64 -M virt -bios none -kernel NAME.elf`` (qemu 7.2). A few lines show
behaviour the privileged spec leaves to the implementation, or where qemu 7.2 departs from the
spec; :data:`ALTERNATIVES` lists them with the lines another implementation may (or, where
qemu is wrong, must) print instead, and :func:`compare` applies it.

>>> from workbench import System, baremetal
>>> elf = baremetal.build("traps")                                    # doctest: +SKIP
>>> boot = System(firmware=elf).boot(max_insns=200_000_000)           # doctest: +SKIP
>>> baremetal.compare("traps", boot.console)                         # doctest: +SKIP
[]
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import WorkbenchError
from .guests._build import _check_elf, _input_digest, _locked, _run, _say
from .guests._elf import elf_info
from .guests._errors import GuestBuildError, ToolchainNotFound, UnknownGuestError
from .guests._paths import cache_root, workloads_dir
from .guests._toolchains import Toolchain, gnu_gcc
from .guests._toolchains import _run as _version_of

__all__ = [
    "PROGRAMS", "ENGINE_PROGRAMS", "ALTERNATIVES", "Alternative", "LOAD_ADDRESS", "source_dir", "build_dir",
    "compiler", "build", "build_all", "golden_file", "expected_output", "compare",
    "qemu_binary", "qemu_command", "run_qemu", "GuestBuildError", "ToolchainNotFound",
    "UnknownGuestError",
]

#: Bump to invalidate every cached build (change of build logic).
_SCHEMA = 1

#: name -> what the program checks
PROGRAMS: dict[str, str] = {
    "csrs": "machine/supervisor CSRs: identification, WARL fields, traps on bad access, "
            "the sstatus/sie/sip views",
    "traps": "exception causes, mepc/mtval, misaligned and faulting accesses, mret/sret to "
             "M/S/U, medeleg, TVM/TSR",
    "sv39": "Sv39 page tables: 1 GiB/2 MiB/4 KiB mappings, permissions, A/D, SUM/MXR, faults, "
            "sfence.vma, MPRV",
    "interrupts": "CLINT timer and msip, enables, wfi, delegated supervisor timer, "
                  "priorities, vectored mtvec",
    "uart": "the NS16550A as Linux's 8250 driver probes it",
}

#: programs that need the engine's host-side hooks (no qemu golden): name -> what they check
ENGINE_PROGRAMS: dict[str, str] = {
    "async_ipi": "software interrupts the host injects at random moments (host-clock mode): "
                 "counted once each, taken at instruction boundaries, registers intact",
}

#: Where the programs are linked and where the board starts hart 0.
LOAD_ADDRESS = 0x80000000

_COMMON = ("crt.S", "lib.c")
_INPUTS = ("crt.S", "lib.c", "lib.h", "link.ld")
_FLAGS = ("-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany", "-nostdlib", "-ffreestanding",
          "-static", "-fno-pie", "-no-pie", "-O2", "-Wall", "-Wextra", "-Werror",
          "-Wl,--build-id=none")


def source_dir() -> Path:
    """``workloads/baremetal`` (follows ``$WB_WORKLOADS``)."""
    return workloads_dir() / "baremetal"


def build_dir() -> Path:
    """Built programs: ``<cache>/baremetal``."""
    return cache_root() / "baremetal"


def compiler() -> Toolchain:
    """Debian's RISC-V cross compiler (``$WB_RISCV_GCC`` overrides it). Only the compiler and
    binutils are needed: the programs use no C library.

    Raises :class:`~workbench.guests.ToolchainNotFound` naming the package to install."""
    gcc = gnu_gcc("the bare-metal programs", "gcc-riscv64-linux-gnu")
    version = _version_of([gcc, "-dumpfullversion"])
    if not version or version.startswith("<failed"):
        raise ToolchainNotFound(f"{gcc} does not run: {version}")
    return Toolchain(
        variant="baremetal",
        cc=(gcc,),
        target_flags=_FLAGS,
        link_flags=(),
        identity=f"{gcc} {version}",
        description=f"riscv64-linux-gnu-gcc {version}, freestanding",
        cross=True,
    )


def _sources(name: str) -> list[Path]:
    if name not in PROGRAMS and name not in ENGINE_PROGRAMS:
        known = ", ".join([*PROGRAMS, *ENGINE_PROGRAMS])
        raise UnknownGuestError(f"unknown bare-metal program {name!r}; known: {known}")
    d = source_dir()
    paths = [d / f for f in _INPUTS] + [d / f"{name}.c"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise GuestBuildError(f"bare-metal program {name}: missing source files: {', '.join(missing)}")
    return paths


def _cache_key(name: str, tc: Toolchain, inputs: list[Path]) -> str:
    h = hashlib.sha256()
    meta = {"schema": _SCHEMA, "program": name, "toolchain": tc.identity, "flags": list(tc.target_flags)}
    h.update(json.dumps(meta, sort_keys=True).encode())
    for p in inputs:
        h.update(b"\0" + p.name.encode() + b"\0")
        h.update(_input_digest(p).encode())
    return h.hexdigest()


def build(name: str, *, force: bool = False, quiet: bool = True) -> Path:
    """Compile program ``name`` (a key of :data:`PROGRAMS`) and return the cached ELF's path.

    Rebuilds only when a source, a flag or the compiler changed (or ``force``). Raises
    :class:`~workbench.guests.ToolchainNotFound` without the cross compiler,
    :class:`~workbench.guests.UnknownGuestError` for an unknown name and
    :class:`~workbench.guests.GuestBuildError` (with the compiler's messages) when it fails."""
    inputs = _sources(name)
    tc = compiler()
    key = _cache_key(name, tc, inputs)
    out_dir = build_dir() / f"{name}-{key[:16]}"
    elf = out_dir / f"{name}.elf"
    if elf.exists() and not force:
        return elf
    with _locked(build_dir() / ".locks" / f"{name}.lock"):
        if elf.exists() and not force:
            return elf
        _say(quiet, f"building bare-metal {name} ({tc.description})")
        build_dir().mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=build_dir()))
        try:
            tmp = work / f"{name}.elf"
            d = source_dir()
            cmd = list(tc.cc) + list(tc.target_flags) + ["-T", str(d / "link.ld"), f"-I{d}"]
            cmd += [str(d / f) for f in _COMMON] + [str(d / f"{name}.c"), "-o", str(tmp)]
            _run(cmd, f"building bare-metal {name}")
            _check_elf(tmp, tc, name)
            entry = elf_info(tmp).entry
            if entry != LOAD_ADDRESS:
                raise GuestBuildError(f"{name}: entry point {entry:#x}, expected {LOAD_ADDRESS:#x} (link.ld)")
            staged = work / "out"
            staged.mkdir()
            os.replace(tmp, staged / tmp.name)
            manifest = {"name": name, "compiler": list(tc.cc), "toolchain": tc.identity,
                        "flags": list(tc.target_flags), "sources": [p.name for p in inputs],
                        "cache_key": key}
            (staged / "build.json").write_text(json.dumps(manifest, indent=2) + "\n")
            if out_dir.exists():
                shutil.rmtree(out_dir)
            os.replace(staged, out_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _say(quiet, f"built {name} -> {elf}")
        return elf


def build_all(*, force: bool = False, quiet: bool = True) -> dict[str, Path]:
    """Build every program; name -> ELF path."""
    return {n: build(n, force=force, quiet=quiet) for n in PROGRAMS}


# ---- goldens ---------------------------------------------------------------------------


def golden_file(name: str) -> Path:
    """``workloads/baremetal/expected/NAME.txt`` (it may not exist yet)."""
    if name not in PROGRAMS:
        raise UnknownGuestError(f"unknown bare-metal program {name!r}; known: {', '.join(PROGRAMS)}")
    return source_dir() / "expected" / f"{name}.txt"


def expected_output(name: str) -> str | None:
    """The golden text for ``name`` (qemu's output), or None when there is none."""
    path = golden_file(name)
    return path.read_text() if path.is_file() else None


@dataclasses.dataclass(frozen=True)
class Alternative:
    """Lines an implementation may print in place of a golden line.

    ``qemu_conforms`` False means qemu 7.2's line contradicts the privileged spec: another
    implementation must print one of ``lines`` (the spec's answer). True means the spec leaves
    the choice open: qemu's line or any of ``lines`` is fine."""

    lines: tuple[str, ...]
    qemu_conforms: bool
    why: str


_M = "0x800000000000000"  # an interrupt cause without its last digit

#: program -> {golden line: Alternative}
ALTERNATIVES: dict[str, dict[str, Alternative]] = {
    "csrs": {
        "mstatus.MPP <- 2 (reserved) reads a legal mode (0, 1, 3): no": Alternative(
            ("mstatus.MPP <- 2 (reserved) reads a legal mode (0, 1, 3): yes",), False,
            "MPP is WARL and holds only implemented modes (M, S, U); qemu 7.2 stores 2"),
        "  medeleg[11] (ecall from M) stays 0: no": Alternative(
            ("  medeleg[11] (ecall from M) stays 0: yes",), False,
            "medeleg[11] is read-only zero (an ecall from M cannot occur below M); qemu 7.2 "
            "lets it be set"),
        "mepc <- 0x80001235: 0x80001235": Alternative(
            ("mepc <- 0x80001235: 0x80001234",), False,
            "mepc[0] is always zero; qemu 7.2 keeps the bit"),
        "  mtval: the instruction bits": Alternative(
            ("  mtval: 0",), True,
            "on an illegal instruction mtval is either 0 or the faulting instruction's bits"),
        "S reads time, mcounteren = 7: mcause (0 = no trap): 0x0": Alternative(
            ("S reads time, mcounteren = 7: mcause (0 = no trap): 0x2",), True,
            "the time CSR may be left to M-mode software to emulate (OpenSBI does)"),
        "pmpaddr0 <- ~0 holds address bits 55:2: yes": Alternative(
            ("pmpaddr0 <- ~0 holds address bits 55:2: no",), True,
            "an implementation may have no PMP entries (then pmpaddr0 reads 0)"),
        "pmpcfg0 <- 0x1f: entry 0: 0x1f": Alternative(
            ("pmpcfg0 <- 0x1f: entry 0: 0x0",), True,
            "an implementation may have no PMP entries (then pmpcfg0 reads 0)"),
    },
    "traps": {
        "  mtval: 0": Alternative(
            ("  mtval: the pc",), True,
            "ebreak writes mtval with 0 or the breakpoint's address"),
        "  mtval: the instruction bits": Alternative(
            ("  mtval: 0",), True,
            "illegal instruction: mtval is 0 or the instruction's bits"),
        "ld at +1: no trap, value ok": Alternative(
            ("ld at +1: trap, mcause 0x4, mtval = the address",
             "ld at +1: trap, mcause 0x5, mtval = the address"), True,
            "misaligned loads may be done by hardware or raise address-misaligned/access fault"),
        "lw at +2: no trap, value ok": Alternative(
            ("lw at +2: trap, mcause 0x4, mtval = the address",
             "lw at +2: trap, mcause 0x5, mtval = the address"), True, "as for ld"),
        "lhu at +1: no trap, value ok": Alternative(
            ("lhu at +1: trap, mcause 0x4, mtval = the address",
             "lhu at +1: trap, mcause 0x5, mtval = the address"), True, "as for ld"),
        "sd at +3: no trap, memory ok": Alternative(
            ("sd at +3: trap, mcause 0x6, mtval = the address",
             "sd at +3: trap, mcause 0x7, mtval = the address"), True,
            "misaligned stores may be done by hardware or raise address-misaligned/access fault"),
        "sw at +2: no trap, memory ok": Alternative(
            ("sw at +2: trap, mcause 0x6, mtval = the address",
             "sw at +2: trap, mcause 0x7, mtval = the address"), True, "as for sd"),
        "sh at +1: no trap, memory ok": Alternative(
            ("sh at +1: trap, mcause 0x6, mtval = the address",
             "sh at +1: trap, mcause 0x7, mtval = the address"), True, "as for sd"),
        "amoadd.w at +2: trap, mcause 0x4, mtval = the address": Alternative(
            ("amoadd.w at +2: trap, mcause 0x6, mtval = the address",
             "amoadd.w at +2: trap, mcause 0x7, mtval = the address",
             "amoadd.w at +2: no trap, memory ok"), False,
            "an AMO reports store/AMO causes (6 misaligned, 7 access fault), or succeeds where "
            "misaligned atomics are supported; qemu 7.2 reports a load-address-misaligned (4)"),
        "  stval: 0x5eb0000b": Alternative(
            ("  stval: 0x0",), True,
            "illegal instruction: stval is 0 or the instruction's bits"),
        "lr.d at +4: trap, mcause 0x4, mtval = the address": Alternative(
            ("lr.d at +4: trap, mcause 0x5, mtval = the address",), True,
            "a misaligned LR raises address-misaligned or access fault"),
        "  mret to S cleared MPRV: no": Alternative(
            ("  mret to S cleared MPRV: yes",), False,
            "priv 1.12: an xRET to a mode below M clears MPRV; qemu 7.2 keeps it"),
    },
    "sv39": {
        "S load from page with A=0 D=0: ok": Alternative(
            ("S load from page with A=0 D=0: mcause 0xd, mtval = the VA",), True,
            "A/D may be set by hardware (Svadu) or cause a page fault for software (Svade); "
            "after a fault the program sets A itself"),
        "S store to page with D=0: ok": Alternative(
            ("S store to page with D=0: mcause 0xf",), True, "as above, for D"),
    },
    "interrupts": {
        "wfi (MIE=0, MTIE=1) returns with MTIP pending: yes": Alternative(
            ("wfi (MIE=0, MTIE=1) returns with MTIP pending: no",), True,
            "wfi is a hint: it may return at once (then the timer is not yet pending)"),
        f"  MTI+STI taken in order: {_M}5 {_M}7": Alternative(
            (f"  MTI+STI taken in order: {_M}7 {_M}5",), False,
            "priority is MEI, MSI, MTI, SEI, SSI, STI; qemu 7.2 without AIA takes the lowest "
            "pending cause number first"),
        f"  SSI+STI+SEI taken in order: {_M}1 {_M}5 {_M}9": Alternative(
            (f"  SSI+STI+SEI taken in order: {_M}9 {_M}1 {_M}5",), False,
            "priority is SEI, SSI, STI; qemu 7.2 takes the lowest cause number first"),
    },
    "uart": {
        "MCR at reset: 0x8": Alternative(
            ("MCR at reset: 0x0",), True,
            "the 16550 datasheet resets MCR to 0; qemu sets OUT2"),
    },
}


def compare(name: str, output: str, *, golden: str | None = None, oracle: bool = False) -> list[str]:
    """Differences between a run's ``output`` and the golden of ``name``, as readable lines
    (empty: it matches). ``oracle=True`` compares qemu's own output, line for line; otherwise
    the lines of :data:`ALTERNATIVES` are allowed (or, where qemu departs from the spec,
    required) to read differently."""
    if golden is None:
        golden = expected_output(name)
        if golden is None:
            return [f"no golden for {name}: {golden_file(name)}"]
    want = golden.replace("\r\n", "\n").split("\n")
    got = output.replace("\r\n", "\n").split("\n")
    alts = {} if oracle else ALTERNATIVES.get(name, {})
    problems = []
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "<end of output>"
        g = got[i] if i < len(got) else "<end of output>"
        alt = alts.get(w)
        if alt is not None:
            ok = g in alt.lines or (alt.qemu_conforms and g == w)
            if not ok:
                allowed = ([w] if alt.qemu_conforms else []) + list(alt.lines)
                problems.append(f"line {i + 1}: got {g!r}, expected one of {allowed} ({alt.why})")
        elif g != w:
            problems.append(f"line {i + 1}: got {g!r}, expected {w!r}")
        if g == "<end of output>" or (g.startswith("UNEXPECTED") and g != w):
            break  # the rest only repeats the same difference
    return problems


# ---- the oracle ------------------------------------------------------------------------


def qemu_binary() -> str | None:
    """``qemu-system-riscv64`` on PATH (Debian package ``qemu-system-misc``), or None."""
    return shutil.which("qemu-system-riscv64")


def qemu_command(elf: str | Path, *, ram_mb: int = 256) -> list[str]:
    """The oracle's command line: the virt board, no firmware, the program as the kernel."""
    qemu = qemu_binary() or "qemu-system-riscv64"
    return [qemu, "-M", "virt", "-m", f"{ram_mb}M", "-smp", "1", "-nographic", "-bios", "none",
            "-kernel", str(elf)]


def run_qemu(elf: str | Path, *, timeout: float = 60.0) -> tuple[int, str]:
    """Run a program under qemu until it writes the test device; (exit status, console text).

    Raises WorkbenchError when qemu is missing or the program does not power off in time."""
    if qemu_binary() is None:
        raise WorkbenchError("qemu-system-riscv64 is not installed (`apt-get install qemu-system-misc`)")
    try:
        res = subprocess.run(qemu_command(elf), stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", errors="replace")
        raise WorkbenchError(f"{elf}: qemu did not power off within {timeout} s; output so far:\n{out}") from None
    return res.returncode, res.stdout.decode("utf-8", errors="replace")


def _main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m workbench.baremetal",
                                description="Build the bare-metal programs; write or check their goldens with qemu.")
    p.add_argument("command", choices=["build", "goldens"])
    p.add_argument("names", nargs="*", help=f"programs (default: all of {', '.join(PROGRAMS)})")
    p.add_argument("--check", action="store_true", help="goldens: only compare, write nothing")
    args = p.parse_args(argv)
    names = args.names or list(PROGRAMS)
    status = 0
    for name in names:
        elf = build(name, quiet=False)
        if args.command == "build":
            print(elf)
            continue
        rc, out = run_qemu(elf)
        if rc != 0:
            print(f"{name}: qemu exited with status {rc}", file=sys.stderr)
            status = 1
            continue
        if args.check:
            diff = compare(name, out, oracle=True)
            print(f"{name}: {'ok' if not diff else 'DIFFERS'}")
            for d in diff:
                print("  " + d)
            status |= bool(diff)
        else:
            golden_file(name).parent.mkdir(parents=True, exist_ok=True)
            golden_file(name).write_text(out)
            print(f"{name}: wrote {golden_file(name)}")
    return status


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
