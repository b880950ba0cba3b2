"""Random-instruction differential testing: the engine against qemu-riscv64.

* The encoder (tests/difftest/encode.py) is checked against GNU as, byte for byte.
* Generated programs (tests/difftest/gen.py, harness.py) are checked to run cleanly under
  qemu-riscv64, the oracle.
* The engine runs the same ELFs; its stdout (final registers, the log of intermediate
  results, the scratch memory) and exit status must equal qemu's.

One program by hand: ``cd tests && python -m difftest SEED [N]`` prints its listing, runs it
under qemu and the engine, and shows the differences.

Environment:
  WB_DIFFTEST_SEEDS   number of random programs compared against the engine (default 300)
  WB_DIFFTEST_SEED0   first seed (default 0)
  WB_DIFFTEST_N       instructions per program (default: varies by seed, 40..240)
  WB_DIFFTEST_CACHE   where built ELFs and qemu outputs are kept (default $TMPDIR/wb-difftest)
  WB_DIFFTEST_CAMPAIGN  programs in the slow-marked campaign test (default 5000)
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import random

import pytest

from difftest import encode, gen, harness

SEEDS = int(os.environ.get("WB_DIFFTEST_SEEDS", "300"))
SEED0 = int(os.environ.get("WB_DIFFTEST_SEED0", "0"))
SANITY_SEEDS = 200
COVER_SEEDS = 4           # programs that contain every op at least once
LONG_PROGRAMS = [(5000 + s, 1500) for s in range(4)]   # long branch/jump offsets
MAX_REPORTED = 3          # mismatches printed in full

_ok, _why = harness.tools_available()
needs_tools = pytest.mark.skipif(not _ok, reason=f"{_why} (make test installs the RISC-V toolchain and qemu-user)")

try:
    import workbench
    _tiers = list(workbench.available_tiers()) if hasattr(workbench, "available_tiers") else ["interp"]
    # the JIT twice: every block translated at first execution, and mixed with the interpreter
    # (blocks translated after their first run, so a program's passes cross tiers)
    if "jit" in _tiers:
        _tiers += ["jit-mixed"]
    _wb_error = None
except Exception as e:  # ImportError, or the engine library not built yet
    workbench = None
    _tiers = ["interp"]
    _wb_error = f"workbench cannot be imported: {type(e).__name__}: {e}"


def n_for(seed: int) -> int:
    if "WB_DIFFTEST_N" in os.environ:
        return int(os.environ["WB_DIFFTEST_N"])
    return harness.default_n(seed)


def seed_specs(count: int, start: int = SEED0):
    return [(s, n_for(s)) for s in range(start, start + count)]


# ----------------------------------------------------------------------------------------------
# Encoder
# ----------------------------------------------------------------------------------------------

def _edge_instances(op: str):
    """Instances of op with every operand at the low end, then at the high end, of its range."""
    spec = encode.OPS[op]
    out = []
    for pick in (0, -1):
        a = {}
        for f, k in spec.operands:
            kind = encode.KINDS[k]
            if kind.sample_choices:
                a[f] = kind.sample_choices[pick]
            elif kind.choices:
                a[f] = kind.choices[pick]
            else:
                vals = [v for v in (kind.lo, kind.hi) if kind.valid(v)] or [kind.sample(random.Random(0))]
                a[f] = vals[pick]
        out.append(encode.Insn(op, **a))
    return out


@needs_tools
def test_encoder_matches_gnu_as(tmp_path):
    rng = random.Random(2024)
    insns = []
    for op in encode.OPS:
        insns += _edge_instances(op)
        insns += [encode.random_insn(op, rng) for _ in range(300)]
    theirs = harness.assemble_with_gas(insns, workdir=tmp_path)
    mine = encode.encode_all(insns)
    assert len(theirs) == len(mine), "GNU as produced a different total size"
    bad = {}
    pos = 0
    for ins in insns:
        m, t = mine[pos:pos + ins.size], theirs[pos:pos + ins.size]
        if m != t:
            bad.setdefault(ins.op, []).append(f"{ins.text()}: ours {m[::-1].hex()} as {t[::-1].hex()}")
        pos += ins.size
    assert not bad, "encoder disagrees with GNU as:\n" + "\n".join(
        f"{op} ({len(v)} bad): " + "; ".join(v[:3]) for op, v in bad.items())


def test_encoder_op_inventory():
    ops = set(encode.OPS)
    groups = {}
    for name, spec in encode.OPS.items():
        groups.setdefault(spec.group, set()).add(name)
    # RV32I 40 + fence.tso + the 12 RV64I additions; fence.i is Zifencei; M 13; A 22; F 30;
    # D 32 (the F set in double, plus fcvt.s.d, fcvt.d.s, fmv.x.d, fmv.d.x); Zicsr 6; C 37
    assert len(groups["I"]) == 53, sorted(groups["I"])
    assert groups["Zifencei"] == {"fence.i"}
    assert len(groups["M"]) == 13
    assert len(groups["A"]) == 22
    assert len(groups["F"]) == 30, sorted(groups["F"])
    assert len(groups["D"]) == 32, sorted(groups["D"])
    assert len(groups["Zicsr"]) == 6
    assert len(groups["C"]) == 37, sorted(groups["C"])
    for op in ("c.addi4spn", "c.fld", "c.lw", "c.ld", "c.fsd", "c.sw", "c.sd", "c.nop", "c.addi",
               "c.addiw", "c.li", "c.addi16sp", "c.lui", "c.srli", "c.srai", "c.andi", "c.sub",
               "c.xor", "c.or", "c.and", "c.subw", "c.addw", "c.j", "c.beqz", "c.bnez", "c.slli",
               "c.fldsp", "c.lwsp", "c.ldsp", "c.jr", "c.mv", "c.ebreak", "c.jalr", "c.add",
               "c.fsdsp", "c.swsp", "c.sdsp"):
        assert op in ops, op
    with pytest.raises(encode.EncodeError):
        encode.Insn("c.addi", rd=0, imm=1).encode()          # a HINT, not generated
    with pytest.raises(encode.EncodeError):
        encode.Insn("fadd.d", rd=1, rs1=2, rs2=3, rm=5).encode()   # reserved rounding mode


# ----------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------

def test_generator_is_deterministic():
    for s in (0, 1, 99):
        a, b = gen.generate(s, 120), gen.generate(s, 120)
        assert a.code == b.code and a.x_init == b.x_init and a.f_init == b.f_init
        assert a.scratch == b.scratch and a.fcsr_init == b.fcsr_init and a.base == b.base
    assert gen.generate(1, 120).code != gen.generate(2, 120).code


def test_generator_covers_every_op():
    assert set(gen.GEN_OPS) == set(encode.OPS) - encode.TRAPPING_OPS
    for s in range(COVER_SEEDS):
        prog = harness.program_for(1000 + s, 60, cover=True)
        missing = set(gen.GEN_OPS) - prog.ops
        assert not missing, f"cover program {s} lacks {sorted(missing)}"
    # plain random programs reach every op too, over a few hundred seeds
    seen = set()
    for s in range(300):
        seen |= gen.generate(s, n_for(s)).ops
    assert seen >= set(gen.GEN_OPS), sorted(set(gen.GEN_OPS) - seen)


def test_generator_keeps_conventions():
    for s in range(200):
        prog = gen.generate(s, n_for(s))
        assert 3 <= prog.base <= 31
        for u in prog.units:
            ops = [i.op for i in u.insns]
            for k, ins in enumerate(u.insns):
                a = ins.a
                if "rm" in a:
                    assert a["rm"] in (0, 1, 2, 3, 4, 7)
                if ins.op.startswith("lr."):
                    assert ops[k + 1].startswith("sc.") and u.insns[k + 1].a["rs1"] == a["rs1"]
                    assert a["rd"] != a["rs1"]
                for rf, r in ins.writes():
                    if rf == "x":
                        assert r != prog.base
                        assert r != 2 or ins.op == "c.addi16sp"
            if "c.addi16sp" in ops:
                d = sum(i.a["imm"] for i in u.insns if i.op == "c.addi16sp")
                assert d == 0, "sp must be restored inside the unit"
        # forward control flow only
        for off, u in zip(prog.offsets, prog.units):
            if u.target is not None:
                assert u.target > off


# ----------------------------------------------------------------------------------------------
# Harness under qemu (the oracle)
# ----------------------------------------------------------------------------------------------

def _qemu_all(elfs):
    with cf.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as ex:
        return list(ex.map(harness.run_qemu, elfs))


@pytest.fixture(scope="module")
def cache_dir():
    return harness.default_cache_dir()


@needs_tools
def test_programs_run_cleanly_under_qemu(cache_dir):
    specs = seed_specs(max(SANITY_SEEDS, SEEDS))[:SANITY_SEEDS]
    elfs = harness.build_many(specs, cache_dir)
    outs = _qemu_all(elfs)
    for (seed, n), out in zip(specs, outs):
        d = harness.decode_dump(out)
        assert d["size_ok"], f"seed {seed}: dump is {d['size']} bytes, want {harness.DUMP_SIZE}"
        prog_base = gen.generate(seed, n).base
        assert d["x"][0] == 0
        assert d["x"][prog_base] % 4096 == 0
        assert d["x"][2] == d["x"][prog_base] + gen.SP_OFFSET, f"seed {seed}: sp not restored"
        assert d["fcsr"] >> 5 & 7 <= 4 and d["fcsr"] >> 8 == 0
    # the dumps really depend on the program
    assert len(set(outs)) == len(outs)


@needs_tools
def test_cover_and_long_programs_run_cleanly_under_qemu(cache_dir):
    elfs = harness.build_many([(1000 + s, 60) for s in range(COVER_SEEDS)], cache_dir, cover=True)
    elfs += harness.build_many(LONG_PROGRAMS, cache_dir)
    for out in _qemu_all(elfs):
        assert harness.decode_dump(out)["size_ok"]


# ----------------------------------------------------------------------------------------------
# Engine vs qemu
# ----------------------------------------------------------------------------------------------

def _compare_with_engine(tier, specs, cache_dir, cover=False):
    if workbench is None:
        pytest.skip(_wb_error)
    elfs = harness.build_many(specs, cache_dir, cover=cover)
    expected = _qemu_all(elfs)
    if tier == "jit":
        machine = workbench.Machine(tier="jit", max_insns=10_000_000, jit_hot=0)
    elif tier == "jit-mixed":
        # and the register map re-chosen from the profile a little way in
        machine = workbench.Machine(tier="jit", max_insns=10_000_000, jit_hot=1, jit_profile_insns=300)
    else:
        machine = workbench.Machine(tier=tier, max_insns=10_000_000)
    failures = []
    for (seed, n), elf, want in zip(specs, elfs, expected):
        try:
            run = machine.run(str(elf), capture=True)
        except Exception as e:  # the engine refused or crashed on this program
            failures.append((seed, n, elf, want, b"", f"run raised {type(e).__name__}: {e}"))
            continue
        got = run.stdout or b""
        reason = getattr(run, "reason", "exit")
        if got == want and run.exit_code == 0 and reason == "exit":
            continue
        pc = getattr(run, "pc", None)
        start = harness.symbol_address(elf, "seq_start")
        where = ""
        if start is not None and isinstance(pc, int):
            where = f"; the sequence starts at {start:#x}"
            if start <= pc < start + 0x10000:
                where += f", pc is at sequence offset {pc - start:#x}"
        failures.append((seed, n, elf, want, got,
                         f"engine stopped: reason={reason} exit_code={run.exit_code} "
                         f"pc={pc if pc is None else hex(pc)} {getattr(run, 'message', '')}{where}"))
    if not failures:
        return
    lines = [f"{len(failures)} of {len(specs)} programs differ between qemu and the engine "
             f"(tier {tier}); seeds: {', '.join(str(f[0]) for f in failures[:50])}"
             f"{' ...' if len(failures) > 50 else ''}",
             "(rerun one with: cd tests && python -m difftest SEED N" + (" --cover" if cover else "") + ")"]
    for seed, n, elf, want, got, what in failures[:MAX_REPORTED]:
        prog = harness.program_for(seed, n, cover)
        lines += ["", f"=== seed {seed}, n {n}{' (cover)' if cover else ''}: {what}",
                  f"    ELF: {elf}   (python -m difftest {seed} {n}{' --cover' if cover else ''})",
                  harness.diff_dumps(want, got, prog)]
    pytest.fail("\n".join(lines), pytrace=False)


@needs_tools
@pytest.mark.parametrize("tier", _tiers)
def test_engine_matches_qemu_on_random_programs(tier, cache_dir):
    _compare_with_engine(tier, seed_specs(SEEDS) + LONG_PROGRAMS, cache_dir)


@needs_tools
@pytest.mark.parametrize("tier", _tiers)
def test_engine_matches_qemu_on_every_op(tier, cache_dir):
    _compare_with_engine(tier, [(1000 + s, 60) for s in range(COVER_SEEDS)], cache_dir, cover=True)


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize("tier", _tiers)
def test_engine_matches_qemu_campaign(tier, cache_dir):
    """A longer campaign on seeds the default test doesn't use (about 2 minutes per 4000)."""
    count = int(os.environ.get("WB_DIFFTEST_CAMPAIGN", "5000"))
    _compare_with_engine(tier, seed_specs(count, start=100_000), cache_dir)
