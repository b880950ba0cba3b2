"""Analysis clients (native/src/clients/, the API of native/include/wb/client.h) from Python.

* A guest whose accesses are known exactly: memtrace records each one (icount, pc, address,
  size, kind) in order; bbprofile counts its loop block; icount equals retired instructions.
* The streams are bit-identical between the interpreter and the JIT (translated at first run
  and tiered), on real programs, with and without pauses for draining.
* Several clients together, each sees the same events as alone; bad client names are refused.
"""
from __future__ import annotations

import numpy as np
import pytest

import workbench
from workbench import Machine, available_clients, available_tiers, guests
from workbench.errors import ConfigError

from conftest import assemble, needs_cross

TIERS = available_tiers()
JIT_VARIANTS = {
    "interp": dict(tier="interp"),
    "jit": dict(tier="jit", jit_hot=0),
    "jit-tiered": dict(tier="jit", jit_hot=2, jit_profile_insns=50_000),
}
CONFIGS = [k for k in JIT_VARIANTS if JIT_VARIANTS[k]["tier"] in TIERS]

# A loop of 5 iterations over a 40-byte buffer: sd, ld, sb, lw, amoadd.d per iteration.
KNOWN = r"""
    .globl _start
_start:
    lla s0, buf
    li s1, 5
1:  sd s1, 0(s0)
    ld t0, 0(s0)
    sb t0, 1(s0)
    lw t1, 4(s0)
    amoadd.d t2, s1, (s0)
    addi s0, s0, 8
    addi s1, s1, -1
    bnez s1, 1b
    EXIT 0
    .data
    .balign 8
buf: .zero 64
"""


def test_builtin_clients_are_listed():
    assert set(available_clients()) >= {"null", "icount", "bbprofile", "memtrace"}
    assert workbench.available_clients() == available_clients()


def test_unknown_client_is_refused():
    with pytest.raises(ConfigError, match="unknown client"):
        Machine(clients=["nosuch"])


@needs_cross
@pytest.mark.parametrize("config", CONFIGS)
def test_memtrace_records_every_access_of_a_known_program(config):
    elf = assemble(KNOWN)
    r = Machine(**JIT_VARIANTS[config], clients=["memtrace", "icount", "bbprofile"]).run(elf)
    assert r.ok, r.message
    rec = r.records["memtrace"]
    sym = {s: a for a, s in zip(*_symbols(elf))}
    buf, start = sym["buf"], sym["_start"]
    assert len(rec) == 5 * 5
    # per iteration k (s0 = buf + 8k): sd, ld, sb(+1), lw(+4), amoadd.d
    want_kind = [1, 0, 1, 0, 2] * 5
    want_size = [8, 8, 1, 4, 8] * 5
    want_addr = [buf + 8 * k + off for k in range(5) for off in (0, 0, 1, 4, 0)]
    assert list(rec["kind"]) == want_kind
    assert list(rec["size"]) == want_size
    assert list(rec["addr"]) == want_addr
    # the loop body starts after lla (auipc+addi) and li: instruction 3; 8 per iteration
    want_icount = [3 + 8 * k + j for k in range(5) for j in range(5)]
    assert list(rec["icount"]) == want_icount
    assert (rec["thread"] == 0).all()
    # pcs: the five access instructions, the same in every iteration
    pcs = rec["pc"].reshape(5, 5)
    assert (pcs == pcs[0]).all() and pcs[0][0] > start
    assert list(np.diff(pcs[0])) == [4, 4, 4, 4] or all(d in (2, 4) for d in np.diff(pcs[0]))
    # icount: one record, equal to the instructions retired
    assert int(r.records["icount"]["icount"][0]) == r.instructions
    # bbprofile: the entry block runs into the first iteration (11 instructions, once), the
    # loop block (8) then runs 4 more times, the exit block (li, li, ecall) once
    bb = r.records["bbprofile"]
    assert list(zip(bb["count"].tolist(), bb["ninsns"].tolist())) == [(1, 11), (4, 8), (1, 3)]
    assert int((bb["count"] * bb["ninsns"]).sum()) == r.instructions


def _symbols(elf):
    from elftools.elf.elffile import ELFFile

    addrs, names = [], []
    with open(elf, "rb") as f:
        for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
            if s.name:
                addrs.append(s["st_value"])
                names.append(s.name)
    return addrs, names


def _run(config, prog, args, **kw):
    root = guests.LUA_SCRIPTS_DIR
    return Machine(**JIT_VARIANTS[config], root=root, **kw).run(guests.build(prog), args, capture=True)


@pytest.mark.skipif("jit" not in TIERS, reason="no JIT tier on this host")
@pytest.mark.parametrize("prog,args", [("zstd", ["96k", "1"]), ("lua54", ["coroutines.lua"])])
def test_streams_are_identical_between_tiers(prog, args):
    clients = ["icount", "bbprofile", "memtrace"]
    runs = {c: _run(c, prog, args, clients=clients) for c in CONFIGS}
    ref = runs["interp"]
    assert ref.ok and len(ref.records["memtrace"]) > 100_000
    for c, r in runs.items():
        assert r.ok and r.stdout == ref.stdout, c
        for s in clients:
            assert r.records[s].tobytes() == ref.records[s].tobytes(), (c, s)
    # icount's inline count equals the retired instructions; bbprofile agrees
    assert int(ref.records["icount"]["icount"][0]) == ref.instructions
    bb = ref.records["bbprofile"]
    assert int((bb["count"].astype(np.uint64) * bb["ninsns"]).sum()) == ref.instructions


@pytest.mark.parametrize("config", CONFIGS)
def test_draining_loses_nothing(config):
    """A tiny high-water mark pauses the run hundreds of times; the records are the same."""
    whole = _run(config, "zstd", ["64k", "1"], clients=["memtrace"])
    paused = _run(config, "zstd", ["64k", "1"], clients=["memtrace"], drain_bytes=64 * 1024)
    assert whole.ok and paused.ok
    assert paused.drains > whole.drains + 50
    assert paused.records["memtrace"].tobytes() == whole.records["memtrace"].tobytes()
    assert paused.instructions == whole.instructions and paused.stdout == whole.stdout


@pytest.mark.parametrize("config", CONFIGS)
def test_null_client_changes_nothing(config):
    plain = _run(config, "zstd", ["64k", "1"])
    null = _run(config, "zstd", ["64k", "1"], clients=["null"])
    assert null.ok and null.stdout == plain.stdout and null.instructions == plain.instructions
    assert null.records == {}


def test_events_datasets_follow_the_schema():
    r = _run(CONFIGS[-1], "zstd", ["32k", "1"], clients=["memtrace", "bbprofile"])
    ds = r.events("memtrace")
    assert ds.sizes["event"] == len(r.records["memtrace"])
    assert ds.icount.dtype == np.uint64 and ds.kind.attrs["flag_meanings"] == "load store atomic"
    assert ds.attrs["workload"] == "zstd" and "clients" in ds.attrs["config"]
    assert (np.diff(ds.icount.values.astype(np.int64)) >= 0).all()
    bb = r.events("bbprofile")
    assert bb.sizes["block"] > 100 and any(s.startswith("main+") or s.startswith("ZSTD") for s in bb.symbol.values)
    with pytest.raises(KeyError, match="no stream"):
        r.events("icount")
