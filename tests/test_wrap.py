"""Wrapping guest functions by symbol (wb_wrap): pre and post hooks with arguments, return
values and return addresses, for malloc/calloc/realloc/free of a static glibc program and a
function whose argument and result the hooks change. Both tiers, compared with each other.
"""
from __future__ import annotations

import re
import subprocess

import pytest

from workbench import available_tiers

from conftest import assemble, build_c_test, needs_cross

GUEST = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) long twice(long x) { return 2 * x; }
int main(void) {
    char *a = malloc(100);
    long *b = calloc(10, 8);
    strcpy(a, "hello");
    a = realloc(a, 5000);
    free(b);
    void *c = malloc(1 << 20);
    fprintf(stderr, "a=%lx b=%lx c=%lx twice=%ld str=%s\n", (long)a, (long)b, (long)c, twice(21), a);
    free(a);
    free(c);
    return 0;
}
"""


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_c_test("test_wrap", tmp_path_factory.mktemp("wrap"))


def _run(exe, tier, elf, *extra):
    r = subprocess.run([str(exe), tier, str(elf), *extra], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines(), r.stderr


@needs_cross
@pytest.mark.parametrize("tier", available_tiers())
def test_malloc_family_and_return_values_are_wrapped(exe, tier):
    elf = assemble(GUEST, c=True)
    log, guest_out = _run(exe, tier, elf)
    assert log[-1] == "reason exit exit 0", log
    assert not any(l.startswith(("nowrap", "wrapped a missing")) for l in log), log
    m = re.search(r"a=(\w+) b=(\w+) c=(\w+) twice=(\d+) str=hello", guest_out)
    assert m, guest_out
    a, b, c = (int(m.group(i), 16) for i in (1, 2, 3))
    # the hooks changed twice's argument (21 -> 22) and its result (+1000)
    assert m.group(4) == "1044"
    assert any(l.startswith("twice 15 -> 2c ") for l in log), log  # logged before the changes
    calls = [l for l in log if not l.startswith("reason")]

    def find(prefix):
        return [l for l in calls if l.startswith(prefix)]

    assert find(f"calloc a 8 -> {b:x} "), calls
    assert find(f"malloc 100000 -> {c:x} "), calls
    mal100 = find("malloc 64 -> ")
    assert mal100, calls
    a0 = int(mal100[0].split()[3], 16)
    assert find(f"realloc {a0:x} 1388 -> {a:x} "), calls
    assert find(f"free {b:x} ") and find(f"free {a:x} ") and find(f"free {c:x} "), calls
    # return addresses are in main (the call sites), not the wrap return address
    assert all("ra=fffff000" not in l for l in calls)


@needs_cross
@pytest.mark.skipif("jit" not in available_tiers(), reason="no JIT tier on this host")
def test_wrap_logs_are_identical_between_tiers(exe):
    elf = assemble(GUEST, c=True)
    assert _run(exe, "interp", elf) == _run(exe, "jit", elf)


@needs_cross
@pytest.mark.parametrize("tier", available_tiers())
def test_a_guarded_hook_runs_only_for_arguments_in_range(exe, tier):
    """wb_wrap_when: free's hook runs for the one pointer in range; the others pass an inline
    compare (JIT) or the same check (interpreter), and the program is unchanged."""
    elf = assemble(GUEST, c=True)
    log, out = _run(exe, tier, elf)
    frees = [int(l.split()[1], 16) for l in log if l.startswith("free ")]
    assert len(frees) >= 3
    b = frees[1]
    glog, gout = _run(exe, tier, elf, hex(b), hex(b + 1))
    assert [l for l in glog if l.startswith("free ")] == [f"free {b:x} " + l.split(" ", 2)[2]
                                                          for l in log if l.startswith(f"free {b:x} ")]
    assert gout == out and glog[-1] == "reason exit exit 0"
    assert not any(l.startswith(("no guard", "guarded a wrap")) for l in glog), glog
