"""The engine's layering, checked on its sources: the tiers (interpreter, JIT) reach the
Linux user-mode platform only through the trap/platform seam (trap.h, platform.h), the
platform never reaches into a tier, in-tree clients use only the public client API, and no
source file grows past the size where it should be split (ARCHITECTURE.md, "Seams")."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "native" / "src"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
TIERS = [*SRC.glob("interp*"), *(SRC / "jit").glob("*"), SRC / "csr.c", SRC / "trap.c",
         SRC / "mmu.h", SRC / "machine.c", *SRC.glob("client*.c"), SRC / "stream.c",
         SRC / "wrap.c"]


def includes(path: Path) -> set[str]:
    return {Path(name).name if "/" not in name.strip("./") else name
            for name in INCLUDE.findall(path.read_text())}


@pytest.mark.parametrize("path", TIERS, ids=lambda p: str(p.relative_to(SRC)))
def test_tiers_do_not_include_the_user_platform(path):
    inc = includes(path)
    assert "user.h" not in inc and not any(i.startswith(("user/", "../user")) for i in inc), inc


@pytest.mark.parametrize("path", sorted((SRC / "user").glob("*.[ch]")), ids=lambda p: p.name)
def test_user_platform_does_not_include_a_tier(path):
    inc = includes(path)
    assert not inc & {"interp.h", "jit.h", "jit/jit.h", "../interp.h", "../jit/jit.h",
                      "interp_ops.h", "tctx.h"}, inc


@pytest.mark.parametrize("path", sorted(p for p in (SRC / "clients").glob("*.c")
                                        if p.name != "registry.c"), ids=lambda p: p.name)
def test_in_tree_clients_use_only_the_public_api(path):
    """wb/client.h, and the engine-independent algorithms of native/src/race/ (which include no
    engine header: next test)."""
    inc = includes(path)
    assert "wb/client.h" in inc and inc - {"wb/client.h"} <= {f"../race/{p.name}" for p in (SRC / "race").glob("*.h")}, inc


@pytest.mark.parametrize("path", sorted((SRC / "race").glob("*.[ch]")), ids=lambda p: p.name)
def test_the_race_algorithms_stand_alone(path):
    assert includes(path) <= {p.name for p in (SRC / "race").glob("*.h")}, includes(path)


def test_no_engine_file_is_too_long():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.[ch]")
            if (n := len(p.read_text().splitlines())) > 900}
    assert not long, f"split these files: {long}"
