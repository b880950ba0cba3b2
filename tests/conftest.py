"""Shared fixtures: small freestanding RISC-V programs assembled on the fly, tool discovery."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CROSS_GCC = shutil.which("riscv64-linux-gnu-gcc")
QEMU = shutil.which("qemu-riscv64")
ASM_CACHE = Path(os.environ.get("WB_TEST_CACHE", Path.home() / ".cache" / "workbench" / "test-asm"))

needs_cross = pytest.mark.skipif(CROSS_GCC is None, reason="riscv64-linux-gnu-gcc is not installed (make test installs it)")
needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-riscv64 is not installed (make test installs qemu-user)")

# exit(a0) and write(fd, buf, len) as assembler macros for freestanding test programs
ASM_PRELUDE = r"""
    .macro EXIT code
    li a0, \code
    li a7, 93
    ecall
    .endm
    .macro SYSCALL nr
    li a7, \nr
    ecall
    .endm
"""


def assemble(source: str, *, static: bool = True, c: bool = False, extra: tuple = ()) -> Path:
    """Assemble (or compile, c=True) a freestanding RISC-V program; cached by content."""
    if CROSS_GCC is None:
        pytest.skip("riscv64-linux-gnu-gcc is not installed")
    key = hashlib.sha256((source + repr((static, c, extra))).encode()).hexdigest()[:16]
    ASM_CACHE.mkdir(parents=True, exist_ok=True)
    out = ASM_CACHE / f"t{key}.elf"
    if out.exists():
        return out
    src = ASM_CACHE / (f"t{key}.c" if c else f"t{key}.S")
    src.write_text(source if c else ASM_PRELUDE + source)
    cmd = [CROSS_GCC, "-O1", "-o", str(out) + ".tmp", str(src)]
    if static:
        cmd[1:1] = ["-static"]
    if not c:
        cmd[1:1] = ["-nostdlib", "-march=rv64gc"]
    cmd += list(extra)
    subprocess.run(cmd, check=True, capture_output=True)
    os.replace(str(out) + ".tmp", out)
    return out


@pytest.fixture
def asm():
    return assemble


def engine_sources() -> list[str]:
    """Every C source of the engine library (for C-level tests that link it directly)."""
    return [str(p) for p in sorted((REPO / "native" / "src").rglob("*.c"))]


def build_c_test(name: str, out_dir: Path, sanitize: bool = True) -> Path:
    """Build native/tests/NAME.c against the engine sources (with ASan/UBSan when the host
    compiler has them). Returns the executable."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler")
    exe = out_dir / name
    base = [cc, "-std=gnu11", "-O1", "-g", "-D_GNU_SOURCE", "-frounding-math",
            "-I", str(REPO / "native" / "include"), "-I", str(REPO / "native" / "src"),
            str(REPO / "native" / "tests" / f"{name}.c"), *engine_sources(), "-lm", "-o", str(exe)]
    if sanitize:
        san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
        if subprocess.run(base[:2] + san + base[2:], capture_output=True).returncode == 0:
            return exe
    r = subprocess.run(base, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def asan_wbrun() -> Path | None:
    """The engine's command-line runner built with ASan/UBSan (`make asan`), if present."""
    p = REPO / "build" / "asan" / "wbrun"
    return p if p.exists() else None
