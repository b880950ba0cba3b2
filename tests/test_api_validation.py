"""Misuse of the public API (``Machine(...)``, ``Machine.run(...)``) raises ConfigError naming
the parameter (or LoadError for a program that cannot be loaded) before any guest runs, and
never a raw TypeError, OverflowError, FileNotFoundError or a silently changed value: NUL
characters that C strings would cut, ``args="abc"`` split into letters, ``max_insns=True``
as a budget of 1, out-of-range integers, NaN time limits, client options that inject other
options. Valid edge values (a budget of 1, an infinite wall limit, the largest uint64) still run.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from workbench import ConfigError, LoadError, Machine, WorkbenchError, available_clients, guests
from workbench import machine as wbm

from conftest import assemble, needs_cross

pytestmark = needs_cross

EXIT0 = """
    .globl _start
_start:
    EXIT 0
"""
# prints [argv[0]][argv[1]]... {$WB_X} then its stdin
ECHO = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("[%s]", argv[i]);
  const char *x = getenv("WB_X");
  printf("{%s}", x ? x : "");
  int c;
  while ((c = getchar()) != EOF) putchar(c);
  return 0;
}
"""
BIG = 2**64

# ------------------------------------------------------------------ Machine(...) misuse
# (keyword arguments, a substring the message must contain)
MACHINE_MISUSE = [
    # tier
    (dict(tier=5), "tier"),
    (dict(tier=["jit"]), "tier"),
    (dict(tier="JIT"), "tier"),
    (dict(tier=""), "tier"),
    # integer limits: bools, non-integers, negatives, too big for uint64
    (dict(max_insns=True), "max_insns"),
    (dict(max_insns=False), "max_insns"),
    (dict(max_insns=0), "max_insns"),
    (dict(max_insns=-1), "max_insns"),
    (dict(max_insns=1.5), "max_insns"),
    (dict(max_insns=1e9), "max_insns"),
    (dict(max_insns="100"), "max_insns"),
    (dict(max_insns=BIG), "max_insns"),
    (dict(max_insns=10**30), "max_insns"),
    (dict(max_insns=[1]), "max_insns"),
    (dict(mem_limit=True), "mem_limit"),
    (dict(mem_limit=-1), "mem_limit"),
    (dict(mem_limit=0), "mem_limit"),
    (dict(mem_limit=BIG), "mem_limit"),
    (dict(mem_limit=1.0), "mem_limit"),
    (dict(mem_limit="1G"), "mem_limit"),
    (dict(seed=-1), "seed"),
    (dict(seed=BIG), "seed"),
    (dict(seed=True), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(seed="0"), "seed"),
    (dict(seed=None), "seed"),
    (dict(ns_per_insn=0), "ns_per_insn"),
    (dict(ns_per_insn=-1), "ns_per_insn"),
    (dict(ns_per_insn=True), "ns_per_insn"),
    (dict(ns_per_insn=10**9 + 1), "ns_per_insn"),
    (dict(ns_per_insn=BIG), "ns_per_insn"),
    (dict(ns_per_insn=1.5), "ns_per_insn"),
    (dict(jit_hot=-1), "jit_hot"),
    (dict(jit_hot=2**32), "jit_hot"),
    (dict(jit_hot=True), "jit_hot"),
    (dict(jit_hot=4.0), "jit_hot"),
    (dict(jit_profile_insns=-1), "jit_profile_insns"),
    (dict(jit_profile_insns=2**63), "jit_profile_insns"),
    (dict(jit_profile_insns=True), "jit_profile_insns"),
    (dict(jit_cache_bytes=-1), "jit_cache_bytes"),
    (dict(jit_cache_bytes=2**30 + 1), "jit_cache_bytes"),
    (dict(jit_cache_bytes=True), "jit_cache_bytes"),
    (dict(jit_cache_bytes="1M"), "jit_cache_bytes"),
    (dict(drain_bytes=0), "drain_bytes"),
    (dict(drain_bytes=-1), "drain_bytes"),
    (dict(drain_bytes=True), "drain_bytes"),
    (dict(drain_bytes=BIG), "drain_bytes"),
    (dict(drain_bytes=1.5), "drain_bytes"),
    # wall_limit
    (dict(wall_limit=math.nan), "wall_limit"),
    (dict(wall_limit=-1), "wall_limit"),
    (dict(wall_limit=-math.inf), "wall_limit"),
    (dict(wall_limit=0), "wall_limit"),
    (dict(wall_limit=True), "wall_limit"),
    (dict(wall_limit="10"), "wall_limit"),
    (dict(wall_limit=[1]), "wall_limit"),
    (dict(wall_limit=1j), "wall_limit"),
    # deterministic
    (dict(deterministic="no"), "deterministic"),
    (dict(deterministic=2), "deterministic"),
    (dict(deterministic=None), "deterministic"),
    # root
    (dict(root=5), "root"),
    (dict(root="/nonexistent/wb-root"), "root"),
    (dict(root=Path("/nonexistent/wb-root")), "root"),
    (dict(root=__file__), "root"),                      # a file, not a directory
    (dict(root="/tmp\0/etc"), "root"),
    (dict(root=b"/tmp"), "root"),
    # cwd
    (dict(cwd="relative"), "cwd"),
    (dict(cwd="/a\0b"), "cwd"),
    (dict(cwd=5), "cwd"),
    (dict(cwd=None), "cwd"),
    (dict(cwd="/\ud800"), "cwd"),                       # a lone surrogate: not encodable
    # env
    (dict(env=["A=B"]), "env"),
    (dict(env="A=B"), "env"),
    (dict(env={"A": 1}), "env['A']"),
    (dict(env={"A": None}), "env['A']"),
    (dict(env={1: "x"}), "env key"),
    (dict(env={"": "x"}), "env key"),
    (dict(env={"A=B": "x"}), "env key"),
    (dict(env={"A": "x\0y"}), "env['A']"),
    (dict(env={"A\0B": "x"}), "env key"),
    (dict(env={"A": "\ud800"}), "env['A']"),
    # clients
    (dict(clients=5), "clients"),
    (dict(clients=["nosuch"]), "unknown client"),
    (dict(clients=[None]), "unknown client"),
    (dict(clients=[["icount"]]), "unknown client"),
    (dict(clients=["icount", "icount"]), "listed twice"),
    # client_options: the container
    (dict(clients=["barrier"], client_options=[("barrier", {})]), "client_options"),
    (dict(clients=["barrier"], client_options={"barrier": 5}), "client_options['barrier']"),
    (dict(clients=["barrier"], client_options={"barrier": [("sample_bytes", 1)]}), "client_options['barrier']"),
    (dict(client_options={"icount": {}}), "not in clients"),
    (dict(clients=["icount"], client_options={"icount": {"x": 1}}), "takes no options"),
    # barrier option values
    *[(dict(clients=["barrier"], client_options={"barrier": {k: v}}), f"client_options['barrier']['{k}']")
      for k, v in [("sample_bytes", -1), ("sample_bytes", 10**30), ("sample_bytes", BIG),
                   ("sample_bytes", ""), ("sample_bytes", "1,max_accesses=5"),
                   ("sample_bytes", True), ("sample_bytes", 1.5), ("sample_bytes", None),
                   ("sample_bytes", "lots"), ("sample_bytes", "8388608"), ("max_accesses", -5),
                   ("untouched_pct", 101), ("per_site", 2), ("per_site", "yes"), ("settle", -1),
                   ("contents", None), ("log_allocs", 1.0)]],
    (dict(clients=["barrier"], client_options={"barrier": {"every": 3}}), "unknown option 'every'"),
    (dict(clients=["barrier"], client_options={"barrier": {"period": 3}}), "unknown option 'period'"),
    (dict(clients=["barrier"], client_options={"barrier": {1: 2}}), "unknown option 1"),
    (dict(clients=["barrier"], client_options={"barrier": {"sample_bytes=1,x": 0}}), "unknown option"),
    # bursty
    *[(dict(clients=["bursty"], client_options={"bursty": {k: v}}), f"client_options['bursty']['{k}']")
      for k, v in [("period", 0), ("period", 2**63), ("period", -1), ("length", -1),
                   ("length", 2**63), ("max_accesses", "1,period=2")]],
    (dict(clients=["bursty"], client_options={"bursty": {"sample_bytes": 0}}), "unknown option 'sample_bytes'"),
    # shrink
    *[(dict(clients=["shrink"], client_options={"shrink": {k: v}}), f"client_options['shrink']['{k}']")
      for k, v in [("sites", ""), ("sites", "0x10:"), ("sites", "zz"), ("sites", "1:2,max_slots=1"),
                   ("sites", "010:5"), ("sites", f"{BIG}:1"), ("sites", 5), ("sites", "1:2/"),
                   ("sites", "1 : 2"), ("max_slots", -1), ("max_slots", "x")]],
    (dict(clients=["shrink"], client_options={"shrink": {"cut": 4}}), "unknown option 'cut'"),
]


@pytest.mark.parametrize("kw,expect", MACHINE_MISUSE, ids=[repr(kw)[:80] for kw, _ in MACHINE_MISUSE])
def test_machine_misuse_is_a_config_error(kw, expect):
    with pytest.raises(ConfigError) as e:
        Machine(**kw)
    assert expect in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, WorkbenchError)


# ------------------------------------------------------------------ Machine.run(...) misuse
def _closed_fd() -> int:
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    return fd


RUN_MISUSE = [
    # program (a bad type or NUL; missing files are LoadError, below)
    (dict(program=5), "program"),
    (dict(program=None), "program"),
    (dict(program=b"/bin/true"), "program"),
    (dict(program="/bin/tr\0ue"), "program"),
    # args
    (dict(args="abc"), "args must be a list of strings, not a str"),
    (dict(args=b"abc"), "args must be a list of strings, not a bytes"),
    (dict(args=Path("x")), "args"),
    (dict(args=5), "args"),
    (dict(args=[1]), "args[0]"),
    (dict(args=[None]), "args[0]"),
    (dict(args=[b"x"]), "args[0]"),
    (dict(args=["a\0b"]), "args[0]"),
    (dict(args=["ok", "x\0"]), "args[1]"),
    (dict(args=["\ud800"]), "args[0]"),
    # argv0
    (dict(argv0=5), "argv0"),
    (dict(argv0="a\0b"), "argv0"),
    (dict(argv0=b"x"), "argv0"),
    # capture, regs
    (dict(capture="yes"), "capture"),
    (dict(capture=2), "capture"),
    (dict(capture=None), "capture"),
    (dict(regs="yes"), "regs"),
    (dict(regs=None), "regs"),
    # stdin
    (dict(stdin="text"), "stdin: no such file"),
    (dict(stdin="no/such/file"), "stdin: no such file"),
    (dict(stdin=Path("/nonexistent/in")), "stdin: no such file"),
    (dict(stdin="/tmp"), "stdin"),
    (dict(stdin="a\0b"), "stdin"),
    (dict(stdin=True), "stdin"),
    (dict(stdin=-1), "stdin"),
    (dict(stdin=2**40), "stdin"),
    (dict(stdin="closed fd"), "not an open host file descriptor"),
    (dict(stdin=1.5), "stdin"),
    (dict(stdin=["a"]), "stdin"),
    (dict(stdin=object()), "stdin"),
    # on_records, max_record_bytes
    (dict(on_records=5), "on_records"),
    (dict(on_records="print"), "on_records"),
    (dict(max_record_bytes=-1), "max_record_bytes"),
    (dict(max_record_bytes=True), "max_record_bytes"),
    (dict(max_record_bytes=1.5), "max_record_bytes"),
    (dict(max_record_bytes=BIG), "max_record_bytes"),
]


@pytest.mark.parametrize("kw,expect", RUN_MISUSE, ids=[repr(kw)[:80] for kw, _ in RUN_MISUSE])
def test_run_misuse_is_a_config_error_before_anything_runs(kw, expect, monkeypatch):
    kw = dict(kw)
    if kw.get("stdin") == "closed fd":
        kw["stdin"] = _closed_fd()
    program = kw.pop("program", assemble(EXIT0))

    def reached(*a, **k):
        raise AssertionError("the run went past parameter checking")
    monkeypatch.setattr(wbm, "resolve_program", reached)
    with pytest.raises(ConfigError) as e:
        Machine().run(program, **kw)
    assert expect in str(e.value)


@pytest.mark.parametrize("attr,value", [("max_insns", -1), ("max_insns", True), ("wall_limit", math.nan),
                                         ("seed", BIG), ("env", {"A": "x\0"}), ("cwd", "rel"),
                                         ("clients", ["nosuch"]), ("tier", "fast")])
def test_settings_changed_after_construction_are_checked_by_run(attr, value):
    m = Machine()
    setattr(m, attr, value)
    with pytest.raises(ConfigError, match=attr if attr != "clients" else "unknown client"):
        m.run(assemble(EXIT0))


def test_options_changed_after_construction_are_checked_by_run():
    m = Machine(clients=["barrier"])
    m.client_options["barrier"] = {"sample_bytes": "1,max_accesses=5"}
    with pytest.raises(ConfigError, match="sample_bytes"):
        m.run(guests.build("objects"), stdin=b"")


def test_unloadable_programs_are_load_errors(tmp_path):
    (tmp_path / "text").write_text("not an ELF\n")
    for program in ("/nonexistent/prog", tmp_path / "missing", tmp_path, tmp_path / "text",
                    "no-such-guest-name"):
        with pytest.raises(LoadError):
            Machine().run(program)


# ------------------------------------------------------------------ valid edge values still work
def test_a_budget_of_one_instruction_stops_on_budget():
    r = Machine(max_insns=1).run(assemble(EXIT0))
    assert r.reason == "budget" and r.instructions <= 1


@pytest.mark.parametrize("limit", [math.inf, 1e300, 1e9, BIG])
def test_huge_wall_limits_mean_no_limit(limit):
    m = Machine(wall_limit=limit)
    assert m.wall_limit is None and m.config["wall_limit"] is None
    assert m.run(assemble(EXIT0)).ok


def test_ordinary_wall_limits_are_kept():
    m = Machine(wall_limit=1e9 - 1)
    assert m.wall_limit == 1e9 - 1 and m.run(assemble(EXIT0)).ok
    assert Machine(wall_limit=np.float64(2.5)).wall_limit == 2.5


def test_largest_values_of_each_integer_setting_are_accepted():
    m = Machine(max_insns=BIG - 1, mem_limit=BIG - 1, seed=BIG - 1, ns_per_insn=10**9,
                jit_hot=2**32 - 1, jit_profile_insns=2**63 - 1, jit_cache_bytes=1 << 30,
                drain_bytes=BIG - 1)
    assert m.run(assemble(EXIT0), max_record_bytes=BIG - 1).ok
    assert Machine(max_insns=np.int64(10**6), seed=np.uint64(BIG - 1)).max_insns == 10**6


def test_arguments_environment_and_stdin_arrive_whole(tmp_path):
    elf = assemble(ECHO, c=True)
    m = Machine(env={"WB_X": "caf\u00e9 = ok"}, root=tmp_path)
    r = m.run(elf, ("a b", Path("p/q"), "\u00e9"), argv0="prog", stdin=bytearray(b"in"), capture=True)
    assert r.ok and r.stdout == "[prog][a b][p/q][\u00e9]{caf\u00e9 = ok}in".encode()
    assert r.args == ["a b", "p/q", "\u00e9"]
    env = "{caf\u00e9 = ok}".encode()
    (tmp_path / "in.txt").write_bytes(b"from a file")
    for stdin in (str(tmp_path / "in.txt"), tmp_path / "in.txt"):
        assert m.run(elf, None, argv0="p", stdin=stdin, capture=True).stdout == b"[p]" + env + b"from a file"
    with open(tmp_path / "in.txt", "rb") as f:
        r = m.run(elf, (a for a in ["g"]), argv0=Path("p"), stdin=f.fileno(), capture=True)
    assert r.stdout == b"[p][g]" + env + b"from a file"
    assert m.run(elf, [], argv0="p", stdin=memoryview(b"mv"), capture=1).stdout == b"[p]" + env + b"mv"


def test_every_builtin_client_has_an_option_table():
    assert set(wbm.CLIENT_OPTIONS) == set(available_clients())


def test_option_tables_match_what_the_clients_accept():
    """Every option in CLIENT_OPTIONS, at an edge of its range, is accepted by the C client."""
    elf = guests.build("objects")
    for client, opts in [
        ("barrier", dict(sample_bytes=BIG - 1, max_accesses=BIG - 1, per_site=True, settle=False,
                         untouched_pct=100, contents=0, log_allocs=1)),
        ("bursty", dict(period=2**63 - 1, length=0, max_accesses=0, settle=1, untouched_pct=0,
                        contents=False, log_allocs=True)),
        ("shrink", dict(sites="0x10:0/4096:0X1f", max_slots=BIG - 1)),
    ]:
        r = Machine(clients=[client], client_options={client: opts}).run(elf, stdin=b"x\n", capture=True)
        assert r.reason == "exit", (client, r.message)


def test_options_are_formatted_for_c_without_injection():
    assert wbm._client_options_string("barrier", {"sample_bytes": np.int64(0), "per_site": True}) \
        == "sample_bytes=0,per_site=1"
    assert wbm._client_options_string("shrink", {"sites": "0x10b2c:128/7:0"}) == "sites=0x10b2c:128/7:0"
    assert wbm._client_options_string("memtrace", {}) == ""
