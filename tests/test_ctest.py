"""The C tests in native/tests through CMake and ctest (native/CMakeLists.txt with
WB_BUILD_TESTS=ON): a fresh build tree is configured, built and every registered test run
(the FPU, the board's devices, the FastTrack core), the guest-running ones (test_loader,
test_sample) with a small static guest."""
from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# the venv's cmake (pip's, what builds the package) else the system's; ctest sits beside it
_VENV_CMAKE = Path(sys.executable).parent / "cmake"
CMAKE = str(_VENV_CMAKE) if _VENV_CMAKE.exists() else shutil.which("cmake")
CC = shutil.which("cc") or shutil.which("gcc")

pytestmark = pytest.mark.skipif(CMAKE is None or CC is None, reason="needs cmake and a host C compiler")


def _guest() -> Path | None:
    """A static guest that reads no files and exits 0, or None without a RISC-V toolchain."""
    from workbench import guests

    try:
        return guests.build("qsort", quiet=True)
    except guests.ToolchainNotFound:
        return None


def test_ctest_builds_and_passes_the_c_tests(tmp_path):
    elf = _guest()
    build = tmp_path / "build"
    configure = [CMAKE, "-S", str(REPO / "native"), "-B", str(build), "-DWB_BUILD_TESTS=ON",
                 "-DCMAKE_BUILD_TYPE=Release"] + ([f"-DWB_TEST_ELF={elf}"] if elf else [])
    for cmd in (configure, [CMAKE, "--build", str(build), "-j2"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    ctest = Path(CMAKE).with_name("ctest")
    r = subprocess.run([str(ctest), "--output-on-failure"], cwd=build, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    ran = set(re.findall(r"Test +#\d+: (\w+) \.+ +Passed", r.stdout))
    expected = {"fpu_default", "fpu_portable", "board", "fasttrack"}
    if elf:
        expected.add("loader")
        if platform.machine() in ("x86_64", "AMD64"):
            expected.add("sample")
    assert ran == expected, r.stdout
