"""Targeted F/D vectors: builds native/tests/test_fpu.c with native/src/fpu.c and runs it.

The vectors (results and fflags worked out from the RISC-V spec) live in the C program; it exits
0 when all pass. Built once with the default host path (the x86-64 MXCSR fast path where it
applies), once with the portable <fenv.h> path, once with UBSan when the toolchain has it, and,
when qemu-riscv64 and the cross-compiler are there, for RISC-V (a non-x86 host) run in qemu.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "native" / "src"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(CC is None, reason="needs a host C compiler (cc)")

BASE = ["-O2", "-frounding-math", "-ffp-contract=off", f"-I{SRC}"]
VARIANTS = {
    "default": [],
    "portable": ["-DWB_FPU_PORTABLE"],
    "ubsan": ["-fsanitize=undefined", "-fno-sanitize-recover=undefined"],
}


def _build(tmp_path: Path, name: str, extra: list[str]):
    exe = tmp_path / f"test_fpu_{name}"
    cmd = [CC, *BASE, *extra, str(ROOT / "native" / "tests" / "test_fpu.c"), str(SRC / "fpu.c"),
           "-o", str(exe), "-lm"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120), exe


@pytest.mark.skipif(shutil.which("qemu-riscv64") is None or
                    shutil.which("riscv64-linux-gnu-gcc") is None,
                    reason="needs qemu-riscv64 and riscv64-linux-gnu-gcc")
def test_fpu_vectors_on_riscv_host(tmp_path):
    """The portable path on a non-x86 host: fpu.c and the vectors built for RISC-V, run in qemu."""
    exe = tmp_path / "test_fpu_rv"
    cmd = ["riscv64-linux-gnu-gcc", "-static", *BASE, str(ROOT / "native" / "tests" / "test_fpu.c"),
           str(SRC / "fpu.c"), "-o", str(exe), "-lm"]
    built = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert built.returncode == 0, built.stderr
    run = subprocess.run(["qemu-riscv64", str(exe)], capture_output=True, text=True, check=False,
                         timeout=60)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fpu_vectors(tmp_path, variant):
    built, exe = _build(tmp_path, variant, VARIANTS[variant])
    if built.returncode != 0:
        if variant == "ubsan":
            pytest.skip(f"toolchain cannot build with UBSan: {built.stderr[-500:]}")
        pytest.fail(f"build failed:\n{built.stderr}")
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "0 failures" in run.stdout


def test_fpu_compiles_without_warnings(tmp_path):
    """fpu.c with the engine's warning set (native/CMakeLists.txt) and its per-file flags."""
    warn = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare",
            "-Wno-missing-field-initializers", "-Werror", "-std=c11"]
    for extra in ([], ["-DWB_FPU_PORTABLE"]):
        r = subprocess.run([CC, *BASE, "-fno-fast-math", *warn, *extra, "-c", str(SRC / "fpu.c"),
                            "-o", str(tmp_path / "fpu.o")], capture_output=True, text=True,
                           check=False, timeout=120)
        assert r.returncode == 0, r.stderr
