"""Speculative shrinking (native/src/clients/shrink.c) on the guest whose accesses are known.

workloads/small/objects.c allocates, among others, a 16000-byte buffer it uses 100 bytes of,
a 12000-byte buffer it uses 50 bytes of and then once at offset 9000, and a 4101-byte buffer
that only read()/write() touch. The plan cuts all three to what a profile saw of their heads:
the 16000-byte one must stay shrunk, the 12000-byte one must be grown by an instruction's
fix-up, the 4101-byte one by a syscall's; the output must not change, and memory must be
saved. Both tiers, musl and glibc.
"""
from __future__ import annotations

import subprocess

import pytest

from conftest import asan_wbrun
from workbench import Machine, available_tiers, guests

VARIANTS = [v for v in ("musl", "glibc") if v in guests.available_variants()]
INPUT = b"".join(b"line %04d of the input\n" % i for i in range(150))[:4101]


def _prog(variant):
    return guests.build("objects" if variant == "musl" else "objects-glibc")


def _sites(variant, tier):
    """Allocation site of each object, by size, from a ground-truth profile."""
    r = Machine(tier=tier, clients=["barrier"],
                client_options={"barrier": {"sample_bytes": 0, "max_accesses": 0, "per_site": 0}}).run(
        _prog(variant), stdin=INPUT, capture=True)
    assert r.ok
    return {int(o["size"]): int(o["site"]) for o in r.records["barrier"]}


@pytest.mark.parametrize("tier", available_tiers())
@pytest.mark.parametrize("variant", VARIANTS)
def test_shrunk_objects_are_grown_exactly_when_accessed_past_the_cut(variant, tier):
    sites = _sites(variant, tier)
    plan = {sites[16000]: 100, sites[12000]: 50, sites[4101]: 1}
    plain = Machine(tier=tier).run(_prog(variant), stdin=INPUT, capture=True)
    r = Machine(tier=tier, clients=["shrink"], client_options={"shrink": {
        "sites": "/".join(f"{s:#x}:{c}" for s, c in plan.items())}}).run(_prog(variant), stdin=INPUT, capture=True)
    assert r.ok, (r.reason, r.message)
    assert r.stdout == plain.stdout and r.stdout.startswith(INPUT)
    objs = {int(o["size"]): o for o in r.records["shrink"]}
    assert set(objs) == {16000, 12000, 4101}
    assert int(objs[16000]["grown"]) == 0 and int(objs[16000]["mapped"]) == 4096
    assert int(objs[12000]["grown"]) == 1 and int(objs[12000]["grow_icount"]) > int(objs[12000]["alloc_icount"])
    assert int(objs[4101]["grown"]) == 1               # read() into the unmapped part
    assert all(int(o["freed"]) == 1 for o in objs.values())
    st = r.records["shrink_stats"][0]
    assert int(st["objects"]) == 3 and int(st["fixups"]) == 2 and int(st["skipped"]) == 0
    assert int(st["bytes_requested"]) == 16000 + 12000 + 4101
    assert int(st["bytes_mapped"]) == 3 * 4096
    assert int(st["bytes_grown"]) == 4096 + 8192       # 12000 -> 3 pages, 4101 -> 2 pages
    assert int(st["peak_live_mapped"]) < int(st["peak_live_requested"])


def test_bad_plans_are_refused():
    for opts in ({"sites": "0x10:"}, {"sites": "zz"}, {"cut": 4}, {"max_slots": "x"}):
        with pytest.raises(Exception, match="shrink"):
            Machine(clients=["shrink"], client_options={"shrink": opts}).run(_prog("musl"), stdin=INPUT)


def test_slots_are_capped():
    """Past max_slots live slots, planned allocations are left to the allocator (counted)."""
    sites = _sites("musl", available_tiers()[0])
    r = Machine(clients=["shrink"], client_options={"shrink": {
        "sites": f"{sites[16000]:#x}:100/{sites[12000]:#x}:50", "max_slots": 1}}).run(
        _prog("musl"), stdin=INPUT, capture=True)
    assert r.ok
    st = r.records["shrink_stats"][0]
    assert int(st["objects"]) == 1 and int(st["skipped"]) == 1    # 16000 still live when 12000 comes


@pytest.mark.skipif(asan_wbrun() is None, reason="build/asan/wbrun not built (make asan)")
@pytest.mark.parametrize("tier", available_tiers())
def test_profilers_and_shrink_under_asan_and_ubsan(tier):
    """The barrier, bursty and shrink clients' C code (faults, completion, fix-ups, slots)
    under AddressSanitizer and UBSan, with the output checked against a plain run."""
    sites = _sites("musl", tier)
    plain = Machine(tier=tier).run(_prog("musl"), stdin=INPUT, capture=True)
    for client in ("barrier:sample_bytes=0,max_accesses=0,per_site=0,contents=1", "barrier",
                   "bursty:contents=1",
                   f"shrink:sites={sites[16000]:#x}:100/{sites[12000]:#x}:50/{sites[4101]:#x}:1"):
        p = subprocess.run([str(asan_wbrun()), "-T", tier, "-S", "-c", client, str(_prog("musl"))],
                           input=INPUT, capture_output=True, timeout=600)
        assert p.returncode == 0, (client, p.stderr.decode(errors="replace")[-3000:])
        assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
        assert p.stdout == plain.stdout, client
