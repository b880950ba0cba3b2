"""Compiling guests, with a content-addressed cache."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ._catalog import SPECS, Plan, Spec
from ._elf import EM_RISCV, elf_info
from ._errors import GuestBuildError, UnknownGuestError
from ._paths import build_dir
from ._sources import file_sha256
from ._toolchains import Toolchain, find_toolchain

#: Bump to invalidate every cached build (change of build logic).
_SCHEMA = 1

_SUFFIX = {"musl": "", "glibc": "-glibc", "native": "-native"}
_OPT_FLAGS = ["-O2"]


def split_name(name: str) -> tuple[Spec, str]:
    """``"lua54-glibc"`` -> (lua54 spec, ``"glibc"``); no suffix means musl."""
    base, variant = name, "musl"
    for v, suffix in (("glibc", "-glibc"), ("native", "-native"), ("musl", "-musl")):
        if name.endswith(suffix):
            base, variant = name[: -len(suffix)], v
            break
    spec = SPECS.get(base)
    if spec is None:
        known = ", ".join(sorted(SPECS))
        raise UnknownGuestError(f"unknown guest {name!r}; known guests: {known} (add -glibc for the glibc build)")
    return spec, variant


def output_name(spec: Spec, variant: str) -> str:
    return spec.name + _SUFFIX[variant]


def _jobs() -> int:
    env = os.environ.get("WB_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1)


_digest_memo: dict[tuple[str, int, int], str] = {}


def _input_digest(p: Path) -> str:
    """sha256 of a source file, memoised on (path, mtime, size) within the process."""
    st = p.stat()
    memo_key = (str(p), st.st_mtime_ns, st.st_size)
    digest = _digest_memo.get(memo_key)
    if digest is None:
        digest = _digest_memo[memo_key] = file_sha256(p)
    return digest


def _cache_key(spec: Spec, variant: str, tc: Toolchain, plan: Plan, flags: list[str]) -> str:
    h = hashlib.sha256()
    meta = {
        "schema": _SCHEMA,
        "guest": spec.name,
        "variant": variant,
        "toolchain": tc.identity,
        "cc": list(tc.cc[-1:]),
        "flags": flags,
        "libs": plan.libs,
        "link": list(tc.link_flags),
    }
    h.update(json.dumps(meta, sort_keys=True).encode())
    for p in list(plan.sources) + list(plan.extra_inputs):
        h.update(b"\0" + p.name.encode() + b"\0")
        h.update(_input_digest(p).encode())
    return h.hexdigest()


def _compile_flags(tc: Toolchain, plan: Plan) -> list[str]:
    flags = list(tc.target_flags) + _OPT_FLAGS + list(plan.cflags)
    for d in plan.include_dirs:
        flags.append(f"-I{d}")
    for d, label in plan.prefix_maps.items():
        flags.append(f"-ffile-prefix-map={d}={label}")
    return flags


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    except OSError as exc:
        raise GuestBuildError(f"{what}: cannot run the compiler: {exc}", cmd=cmd) from exc
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-25:])
        raise GuestBuildError(f"{what} failed (exit status {res.returncode})", cmd=cmd, stderr_tail=tail)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(f"workbench: {msg}", file=sys.stderr, flush=True)


def _check_elf(path: Path, tc: Toolchain, out_name: str) -> None:
    info = elf_info(path)
    if tc.cross:
        problems = []
        if info.machine != EM_RISCV or info.elf_class != 64:
            problems.append(f"machine {info.machine_name}/{info.elf_class}-bit, expected riscv 64-bit")
        if info.has_interp:
            problems.append("it has a PT_INTERP (dynamic loader) segment")
        if info.float_abi != "double":
            problems.append(f"float ABI {info.float_abi}, expected double (lp64d)")
        if problems:
            raise GuestBuildError(f"{out_name}: the built ELF is not a static RV64 executable: " + "; ".join(problems))


def _update_bin_link(exe: Path, out_name: str) -> None:
    """Keep ``<build dir>/bin/NAME`` pointing at the newest build (for people, not for code)."""
    bindir = build_dir() / "bin"
    try:
        bindir.mkdir(parents=True, exist_ok=True)
        tmp = bindir / f".{out_name}.{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(exe)
        os.replace(tmp, bindir / out_name)
    except OSError:
        pass


def build_variant(spec: Spec, variant: str, *, force: bool = False, quiet: bool = False) -> Path:
    tc = find_toolchain(variant)
    out_name = output_name(spec, variant)
    plan = spec.prepare()  # may download and extract sdists
    flags = _compile_flags(tc, plan)
    key = _cache_key(spec, variant, tc, plan, flags)
    out_dir = build_dir() / variant / f"{spec.name}-{key[:16]}"
    exe = out_dir / out_name
    if exe.exists() and not force:
        return exe

    with _locked(build_dir() / ".locks" / f"{out_name}.lock"):
        if exe.exists() and not force:  # built by someone else meanwhile
            return exe
        t0 = time.monotonic()
        nsrc = len(plan.sources)
        _say(quiet, f"building {out_name} ({nsrc} C file{'s' if nsrc != 1 else ''}, {tc.description})")
        build_dir().mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out_name}.", dir=build_dir()))
        env = dict(os.environ, **tc.env)
        try:
            tmp_exe = work / out_name
            if nsrc == 1:
                cmd = list(tc.cc) + flags + list(tc.link_flags) + [str(plan.sources[0]), "-o", str(tmp_exe)] + plan.libs
                _run(cmd, f"building {out_name}", env)
            else:
                objs = []
                jobs = []
                for i, src in enumerate(plan.sources):
                    obj = work / f"{i:03d}-{src.stem}.o"
                    objs.append(obj)
                    cmd = list(tc.cc) + flags + ["-c", str(src), "-o", str(obj)]
                    jobs.append((src.stat().st_size, cmd, f"compiling {src.name} for {out_name}"))
                jobs.sort(key=lambda j: -j[0])  # largest files first: the long poles start early
                with concurrent.futures.ThreadPoolExecutor(max_workers=_jobs()) as pool:
                    futures = [pool.submit(_run, cmd, what, env) for _, cmd, what in jobs]
                    for fut in futures:
                        fut.result()
                cmd = list(tc.cc) + list(tc.target_flags) + _OPT_FLAGS + list(tc.link_flags)
                cmd += [str(o) for o in objs] + ["-o", str(tmp_exe)] + plan.libs
                _run(cmd, f"linking {out_name}", env)
            _check_elf(tmp_exe, tc, out_name)
            digest = file_sha256(tmp_exe)
            seconds = time.monotonic() - t0
            if out_dir.exists():
                shutil.rmtree(out_dir)
            staged = work / "out"
            staged.mkdir()
            os.replace(tmp_exe, staged / out_name)
            manifest = {
                "name": out_name,
                "guest": spec.name,
                "variant": variant,
                "sha256": digest,
                "toolchain": tc.identity,
                "compiler": list(tc.cc),
                "flags": flags,
                "link_flags": list(tc.link_flags),
                "libs": plan.libs,
                "sources": [p.name for p in plan.sources],
                "third_party": [f"{p.label} sha256={p.sha256}" for p in spec.sdists],
                "cache_key": key,
                "build_seconds": round(seconds, 2),
            }
            (staged / "build.json").write_text(json.dumps(manifest, indent=2) + "\n")
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, out_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _update_bin_link(exe, out_name)
        _say(quiet, f"built {out_name} in {seconds:.1f} s -> {exe}")
        return exe
