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


def wbrun_binaries() -> list[Path]:
    """The command-line runners that exist: the one installed next to the engine library
    the package loads, and the ASan/UBSan build (`make asan`)."""
    from workbench._engine import find_library

    paths = [find_library().parent / "wbrun", REPO / "build" / "asan" / "wbrun"]
    return [p for p in paths if p.exists()]


# ------------------------------------------------------------------ shared helpers
# (imported by several test files: ``from conftest import synthetic_engine_dataset, kernel_dir``)

ENGINE_DIMS = ("workload", "tier", "client", "repeat")
ENGINE_TIERS = ("native", "qemu", "interp", "jit")
ENGINE_CLIENTS = ("none", "null", "icount", "bbprofile", "memtrace")


def synthetic_engine_dataset(workloads=("lua54", "zstd"), tiers=ENGINE_TIERS,
                             clients=ENGINE_CLIENTS, repeats=3, seed=0):
    """A small engine-study Dataset (made-up numbers, the real layout of
    ``workbench.studies.engine.run``): native and qemu run only with client "none"; the engine
    tiers run every client; the other cells are NaN, as in the real study. ``events`` counts
    made-up client records (0 without a client).

    >>> ds = synthetic_engine_dataset(clients=("none", "memtrace"))
    >>> float(ds.overhead_ratio.sel(workload="zstd", tier="jit", client="none"))
    1.0
    """
    import json

    import numpy as np
    import xarray as xr

    rng = np.random.default_rng(seed)
    slow = {"native": 1.0, "qemu": 6.0, "interp": 11.0, "jit": 3.0}
    cost = {"none": 1.0, "null": 1.01, "icount": 1.3, "bbprofile": 1.2, "memtrace": 5.0}
    per_insn = {"none": 0.0, "null": 0.0, "icount": None, "bbprofile": None, "memtrace": 0.3}
    shape = (len(workloads), len(tiers), len(clients), repeats)
    t = np.full(shape, np.nan)
    insns = np.full(shape, np.nan)
    events = np.full(shape, np.nan)
    for i in range(len(workloads)):
        n = 1e8 * (i + 1)
        for j, tier in enumerate(tiers):
            for k, c in enumerate(clients):
                if tier in ("native", "qemu") and c != "none":
                    continue
                t[i, j, k] = 0.2 * (i + 1) * slow[tier] * cost[c] * (1 + 0.02 * rng.standard_normal(repeats))
                if tier != "native":
                    insns[i, j, k] = n
                if tier not in ("native", "qemu"):
                    rate = per_insn[c]
                    events[i, j, k] = (1.0 if c == "icount" else 2500.0 * (i + 1)) \
                        if rate is None else rate * n
    ran = ~np.isnan(t)
    coords = {"workload": list(workloads), "tier": list(tiers), "client": list(clients),
              "repeat": np.arange(repeats)}
    ds = xr.Dataset(
        {"time_s": (ENGINE_DIMS, t, {"units": "s"}),
         "instructions": (ENGINE_DIMS, insns),
         "guest_mips": (ENGINE_DIMS, insns / t / 1e6),
         "blocks_translated": (ENGINE_DIMS, np.where(ran & ~np.isnan(events), 1000.0, np.nan)),
         "events": (ENGINE_DIMS, events, {"units": "1"}),
         "output_ok": (ENGINE_DIMS, np.where(ran, 1.0, np.nan))},
        coords=coords)
    med = ds.time_s.median("repeat")
    ds["ratio_native"] = med / med.sel(tier="native", client="none")
    ds["ratio_qemu"] = med / med.sel(tier="qemu", client="none")
    ds["overhead_ratio"] = med / med.sel(client="none")
    ds.attrs.update(
        engine_version="0.1.0", git_revision="0" * 40, workload=",".join(workloads),
        workload_sha256=json.dumps({w: "ab" * 32 for w in workloads}),
        config=json.dumps({"scale": "small", "synthetic": True}), host_cpu="synthetic cpu",
        created="2025-01-01T00:00:00+00:00", Conventions="CF-1.10", study="engine")
    return ds


def kernel_dir(root: Path) -> Path:
    """Write a ``python3`` kernelspec running this interpreter under ``root``; returns root.

    Put ``root`` first in JUPYTER_PATH and every Jupyter tool finds this kernel first.

    >>> import tempfile
    >>> (kernel_dir(Path(tempfile.mkdtemp())) / "kernels" / "python3" / "kernel.json").is_file()
    True
    """
    import json
    import sys

    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (workbench tests)", "language": "python",
    }))
    return root
