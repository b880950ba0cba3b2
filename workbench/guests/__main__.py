"""Maintenance commands for the guest programs.

    python -m workbench.guests list
    python -m workbench.guests build [--force] [--native] NAME... | all
    python -m workbench.guests goldens [--check]

``goldens`` runs every small program and Lua test script under qemu-riscv64
(musl and glibc builds), checks that both agree once ``[libc]`` lines are
dropped, and rewrites workloads/*/expected/*.txt from the musl run (or, with
``--check``, only reports differences).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import (
    GuestBuildError,
    build,
    build_native,
    expected_output,
    golden_file,
    guest_names,
    list_guests,
    lua_scripts,
    normalize_output,
    sha256,
)
from ._catalog import SPECS, lua_scripts_dir, small_dir

SMALL = [name for name, spec in SPECS.items() if spec.kind == "test"]


def _cmd_list(_args: argparse.Namespace) -> int:
    for g in list_guests():
        variants = ", ".join(g.variants) or "(no cross toolchain installed)"
        print(f"{g.name:8s} {g.kind:11s} {variants:28s} {g.description}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    names = args.names
    if names == ["all"]:
        names = [g.name for g in list_guests()] if args.native else guest_names()
    for name in names:
        path = build_native(name, force=args.force) if args.native else build(name, force=args.force)
        print(f"{path}  sha256={sha256(path)}")
    return 0


def _run_qemu(exe: Path, argv: list[str], cwd: Path) -> str:
    qemu = shutil.which("qemu-riscv64")
    if qemu is None:
        raise SystemExit("qemu-riscv64 is not installed (apt-get install qemu-user)")
    res = subprocess.run([qemu, str(exe), *argv], cwd=cwd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"{exe.name} {' '.join(argv)} exited with {res.returncode}:\n{res.stderr[-2000:]}")
    return res.stdout


def _cmd_goldens(args: argparse.Namespace) -> int:
    jobs: list[tuple[str, str, list[str], Path | None, Path]] = []
    for prog in SMALL:
        jobs.append((prog, prog, [], None, small_dir() / "expected" / f"{prog}.txt"))
    for script in lua_scripts():
        jobs.append((script.name, "lua54", [script.name], script.parent, lua_scripts_dir() / "expected" / f"{script.stem}.txt"))
    bad = 0
    for label, guest, argv, cwd, target in jobs:
        outputs = {}
        for variant in ("", "-glibc"):
            with tempfile.TemporaryDirectory() as tmp:
                outputs[variant] = _run_qemu(build(guest + variant), argv, cwd or Path(tmp))
        musl, glibc = normalize_output(outputs[""]), normalize_output(outputs["-glibc"])
        if musl != glibc:
            print(f"{label}: musl and glibc outputs differ outside [libc] lines", file=sys.stderr)
            bad += 1
            continue
        if args.check:
            same = golden_file(label) is not None and expected_output(label) == musl
            print(f"{label}: {'ok' if same else 'DIFFERS from ' + str(target)}")
            bad += 0 if same else 1
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(musl)
            print(f"{label}: wrote {target}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.guests", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list guests and available variants").set_defaults(func=_cmd_list)
    p = sub.add_parser("build", help="build guests (NAME, NAME-glibc, or all)")
    p.add_argument("names", nargs="+")
    p.add_argument("--force", action="store_true")
    p.add_argument("--native", action="store_true", help="build for the host instead")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("goldens", help="regenerate (or --check) the golden outputs under qemu")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=_cmd_goldens)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GuestBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
