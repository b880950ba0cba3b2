"""Random, valid, well-defined RV64GC instruction sequences (seeded).

A :class:`Program` is what the harness turns into an ELF: initial values for x1..x31, f0..f31
and fcsr, 4 KiB of scratch memory, and a straight-line sequence of instructions grouped into
*units*.  A unit is a few instructions that belong together (materialize an address, then an
AMO through it; ``lr`` then ``sc``; ``auipc`` then ``jalr``; ...).  Control transfers go forward
only, and only to unit boundaries, so every program terminates and no unit is entered halfway.

Conventions kept by every unit (the harness sets them up):

* ``prog.base`` (a random register of x3..x31, fixed per program) holds the address of the
  scratch area (4096-aligned) and is never written.
* ``sp`` (x2) holds scratch+2048 and is never written, except by a ``c.addi16sp`` pair that
  restores it inside the same unit.
* Every memory access falls inside the scratch area and is naturally aligned.
* ``frm`` always holds a valid rounding mode (0..4); FP ops use static rm 0..4 or dyn (7).
* ``lr`` is immediately followed by an ``sc`` to the same address (optionally by a second
  ``sc``, which must fail: the first one cleared the reservation).

The harness may run the whole sequence up to three times (``Program.passes``); every
convention above holds at unit boundaries, so each pass is as well-defined as the first.

Most units end with *log stores*: ``sd``/``fsd`` of the registers they wrote (and now and then
of fcsr) into the next slot of a log area below the scratch area.  Without them about half of
all results would be overwritten before the final register dump and never compared.
"""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .encode import CONTROL_OPS, KINDS, OPS, TRAPPING_OPS, Insn

SCRATCH_SIZE = 4096
SP_OFFSET = 2048          # sp = scratch + SP_OFFSET
# Below the scratch area (reached as negative offsets from base): the harness's register dump
# at base-2048 .. base-1521, then the log area at base-1520 .. base-1, where units store what
# they computed (so that a result overwritten later is still compared).  Random memory ops
# never touch it; the harness writes it out with the registers and the scratch area.
LOG_OFFSET = -1520
LOG_SLOTS = 190
MASK64 = (1 << 64) - 1

#: Every op random programs can contain (all encoder ops except those that trap).
GEN_OPS: Tuple[str, ...] = tuple(op for op in OPS if op not in TRAPPING_OPS)


MEM_SIZE = {"lb": 1, "lbu": 1, "sb": 1, "lh": 2, "lhu": 2, "sh": 2, "lw": 4, "lwu": 4, "sw": 4,
            "flw": 4, "fsw": 4, "ld": 8, "sd": 8, "fld": 8, "fsd": 8}


def s64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def d2b(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f2b(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


# ----------------------------------------------------------------------------------------------
# Interesting values
# ----------------------------------------------------------------------------------------------

INT_VALUES = [
    0, 1, 2, 3, 7, 31, 32, 63, 64, -1, -2, -31, -32, -64, 0x7FF, -0x800, 0x800,
    -(1 << 63), (1 << 63) - 1, -(1 << 63) + 1,
    -(1 << 31), (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, -(1 << 32), 0xFFFF, 0x8000,
    0x7FFF, 0x80, 0xFF, 0x5555555555555555, s64(0xAAAAAAAAAAAAAAAA), s64(0x8000000080000000),
    0x00000000FFFFFFFF, s64(0xFFFFFFFF00000000), s64(0xFFFFFFFF7FFFFFFF), 0x0000000080000001,
]

DOUBLE_BITS = [
    0x0000000000000000, 0x8000000000000000,             # +-0
    0x7FF0000000000000, 0xFFF0000000000000,             # +-inf
    0x7FF8000000000000, 0xFFF8000000000000,             # quiet NaN (canonical, negative)
    0x7FF0000000000001, 0x7FF4000000000000,             # signaling NaNs
    0xFFF0000000000001, 0x7FFFFFFFFFFFFFFF, 0x7FF8000000000123,  # payload NaNs
    0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x000FFFFFFFFFFFFF,  # subnormals
    0x0010000000000000, 0x8010000000000000,             # smallest normals
    0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,             # largest finite
    d2b(1.0), d2b(-1.0), d2b(0.5), d2b(-0.5), d2b(1.5), d2b(2.5), d2b(-2.5), d2b(3.5),
    d2b(0.1), d2b(-7.75), d2b(1e300), d2b(-1e-300), d2b(3.0), d2b(1.0 / 3.0),
    d2b(2.0 ** 31), d2b(-2.0 ** 31), d2b(2.0 ** 31 - 1), d2b(2.0 ** 31 - 0.5), d2b(-2.0 ** 31 - 1),
    d2b(2.0 ** 32), d2b(2.0 ** 32 - 1), d2b(-0.9), d2b(0.9999),
    d2b(2.0 ** 63), d2b(-2.0 ** 63), d2b(2.0 ** 64), d2b(2.0 ** 64 - 2048), d2b(-(2.0 ** 63) - 4096),
    d2b(3.4028234663852886e38), d2b(3.4028235677973366e38),  # FLT_MAX, rounds to inf in f32
    d2b(1.0 + 2.0 ** -24), d2b(1.0 + 3 * 2.0 ** -24), d2b(1.0 + 2.0 ** -52),  # f32 rounding ties
    d2b(1.401298464324817e-45), d2b(1.1754942106924411e-38),   # f32 subnormal range
    d2b(4.0), d2b(16.0), d2b(-0.0) ^ 1,
]

SINGLE_BITS = [
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000,     # +-0, +-inf
    0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000,     # qNaN, -qNaN, sNaN
    0xFF800001, 0x7FFFFFFF, 0x7FC00123,
    0x00000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000,
    0x7F7FFFFF, 0xFF7FFFFF,
    f2b(1.0), f2b(-1.0), f2b(0.5), f2b(1.5), f2b(2.5), f2b(-2.5), f2b(3.5), f2b(0.1), f2b(3.0),
    f2b(-7.75), f2b(1.0 / 3.0), f2b(2.0 ** 31), f2b(-2.0 ** 31), f2b(2.0 ** 32),
    f2b(2.0 ** 63), f2b(-2.0 ** 63), f2b(2.0 ** 64), f2b(2.0 ** 24 + 2), f2b(-0.9), f2b(4294967040.0),
    f2b(16.0),
]

NAN_BOX = 0xFFFFFFFF00000000


def random_double_bits(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.45:
        return rng.choice(DOUBLE_BITS)
    if r < 0.7:      # a random value of moderate magnitude, sometimes an integer
        x = rng.uniform(-1e6, 1e6)
        if rng.random() < 0.4:
            x = float(round(x))
        return d2b(x)
    if r < 0.8:      # exponent near the edges
        e = rng.choice([0, 1, 2, 0x3FE, 0x3FF, 0x400, 0x41E, 0x41F, 0x43E, 0x43F, 0x7FE, 0x7FF])
        return (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52)
    return rng.getrandbits(64)


def random_single_bits(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.45:
        return rng.choice(SINGLE_BITS)
    if r < 0.7:
        x = rng.uniform(-1e4, 1e4)
        if rng.random() < 0.4:
            x = float(round(x))
        return f2b(x)
    if r < 0.8:
        e = rng.choice([0, 1, 2, 0x7E, 0x7F, 0x80, 0x9E, 0x9F, 0xBE, 0xBF, 0xFE, 0xFF])
        return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23)
    return rng.getrandbits(32)


def random_fp_reg_bits(rng: random.Random) -> int:
    """A 64-bit FP register value: a double, a NaN-boxed single, or an improperly boxed one."""
    r = rng.random()
    if r < 0.45:
        return random_double_bits(rng)
    if r < 0.88:
        return NAN_BOX | random_single_bits(rng)
    hi = rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFF0000, rng.getrandbits(32)])
    return (hi << 32) | random_single_bits(rng)


def random_int(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.5:
        return s64(rng.choice(INT_VALUES))
    if r < 0.65:
        return rng.randint(-20, 20)
    if r < 0.8:
        return s64(rng.getrandbits(32) - (1 << 31))
    return s64(rng.getrandbits(64))


# ----------------------------------------------------------------------------------------------
# Program structure
# ----------------------------------------------------------------------------------------------

@dataclass
class Fixup:
    """A forward control transfer inside a unit, resolved once the layout is known.

    ``insn`` is the index (in the unit) of the instruction whose field gets the offset,
    ``anchor`` the index of the instruction the offset is relative to (the branch itself,
    or the auipc of an auipc+jalr / auipc+addi+c.jr group), ``fld`` the field name,
    ``lo``/``hi`` its range, ``odd`` whether to add 1 (jalr ignores bit 0 of the target).
    """
    insn: int
    anchor: int
    fld: str
    lo: int
    hi: int
    odd: bool = False


@dataclass
class Unit:
    insns: List[Insn]
    kind: str                       # the op this unit was made for, or "set.x"/"set.f"
    fixups: List[Fixup] = field(default_factory=list)
    target: Optional[int] = None    # byte offset (from the sequence start) a fixup jumps to


@dataclass
class Program:
    seed: int
    n_insns: int
    base: int
    x_init: List[int]               # 32 values (x0, base and sp entries are ignored)
    f_init: List[int]               # 32 64-bit patterns
    fcsr_init: int
    scratch: bytes
    units: List[Unit]
    log_init: bytes = b""           # initial contents of the log area (LOG_SLOTS dwords)
    passes: int = 1                 # how many times the harness runs the sequence
    offsets: List[int] = field(default_factory=list)   # byte offset of each unit start

    @property
    def insns(self) -> List[Insn]:
        return [i for u in self.units for i in u.insns]

    @property
    def ops(self) -> set:
        return {i.op for u in self.units for i in u.insns}

    @property
    def code(self) -> bytes:
        return b"".join(i.to_bytes() for i in self.insns)

    @property
    def size(self) -> int:
        return sum(i.size for i in self.insns)


# ----------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------

class Gen:
    def __init__(self, rng: random.Random, base: int):
        self.rng = rng
        self.base = base
        self.wx_all = [r for r in range(1, 32) if r not in (2, base)]      # writable x regs
        self.wxc = [r for r in range(8, 16) if r != base]                 # writable x8..x15
        self.log_slot = 0

    # log stores -----------------------------------------------------------------------------
    def _log_store(self, rf: str, r: int) -> Insn:
        off = LOG_OFFSET + 8 * (self.log_slot % LOG_SLOTS)
        self.log_slot += 1
        return Insn("sd" if rf == "x" else "fsd", rs2=r, rs1=self.base, imm=off)

    def add_logs(self, u: Unit, p: float = 0.85) -> Unit:
        """Append log stores of (up to two of) the registers the unit wrote, with probability
        p; for FP units sometimes also of fcsr (its flags may be cleared by a later CSR op)."""
        if u.fixups or self.rng.random() >= p:
            return u
        written = []
        for ins in u.insns:
            for w in ins.writes():
                if w not in written and w != ("x", 0) and w != ("x", 2):
                    written.append(w)
        if len(written) > 2:
            written = written[-1:] + self.rng.sample(written[:-1], 1)
        logs = [self._log_store(rf, r) for rf, r in written]
        if OPS[u.insns[-1].op].group in ("F", "D") and self.rng.random() < 0.2:
            t = self.wx(zero_ok=False)
            logs += [Insn("csrrs", rd=t, csr=0x003, rs1=0), self._log_store("x", t)]
        u.insns.extend(logs)
        return u

    # registers ---------------------------------------------------------------------------
    def wx(self, zero_ok: bool = True) -> int:
        if zero_ok and self.rng.random() < 0.03:
            return 0
        return self.rng.choice(self.wx_all)

    def rx(self) -> int:
        return self.rng.randrange(32)

    def fr(self) -> int:
        return self.rng.randrange(32)

    def rm(self) -> int:
        return self.rng.choice((0, 1, 2, 3, 4, 7, 7, 7))

    def imm_edge(self, kind: str) -> int:
        k = KINDS[kind]
        if self.rng.random() < 0.25 and not k.choices:
            cand = [v for v in (k.lo, k.hi, 0, 1, -1, k.step, -k.step) if k.valid(v)]
            if cand:
                return self.rng.choice(cand)
        return k.sample(self.rng)

    # value materialization ----------------------------------------------------------------
    def li(self, rd: int, v: int) -> List[Insn]:
        """Instructions that put the 64-bit value v into rd (rd != x0)."""
        v = s64(v)
        if -32 <= v < 32 and self.rng.random() < 0.4:
            return [Insn("c.li", rd=rd, imm=v)]
        if -2048 <= v < 2048:
            return [Insn("addi", rd=rd, rs1=0, imm=v)]
        if -(1 << 31) <= v < (1 << 31):
            hi = (v + 0x800) >> 12
            lo = v - (hi << 12)               # in -2048..2047
            out = [Insn("lui", rd=rd, imm=hi & 0xFFFFF)]
            if lo:
                out.append(Insn("addiw", rd=rd, rs1=rd, imm=lo))
            return out
        lo = ((v & 0xFFF) ^ 0x800) - 0x800
        rest = v - lo
        shift = (rest & -rest).bit_length() - 1
        out = self.li(rd, rest >> shift)
        out.append(Insn("slli", rd=rd, rs1=rd, shamt=shift))
        if lo:
            out.append(Insn("addi", rd=rd, rs1=rd, imm=lo))
        return out

    def set_x_unit(self) -> Unit:
        rd = self.wx(zero_ok=False)
        return Unit(self.li(rd, random_int(self.rng)), "set.x")

    def set_f_unit(self) -> Unit:
        t = self.wx(zero_ok=False)
        fd = self.fr()
        if self.rng.random() < 0.5:
            return Unit(self.li(t, random_double_bits(self.rng)) + [Insn("fmv.d.x", rd=fd, rs1=t)], "set.f")
        return Unit(self.li(t, random_single_bits(self.rng)) + [Insn("fmv.w.x", rd=fd, rs1=t)], "set.f")

    # generic: operands drawn over the op's space, registers under the conventions -----------
    def generic(self, op: str, **fixed) -> Insn:
        spec = OPS[op]
        a = {}
        for f, k in spec.operands:
            if f in fixed:
                a[f] = fixed[f]
                continue
            rf = spec.regfile.get(f)
            if rf == "x":
                kind = KINDS[k]
                if f == "rd" and op not in ("c.jr", "c.jalr"):
                    pool = self.wxc if k == "xc" else self.wx_all
                    if k == "x" and self.rng.random() < 0.03:
                        a[f] = 0
                    else:
                        a[f] = self.rng.choice([r for r in pool if kind.valid(r)])
                else:
                    a[f] = kind.sample(self.rng)
            elif rf == "f":
                a[f] = KINDS[k].sample(self.rng)
            elif k == "rm":
                a[f] = self.rm()
            elif k == "rmx":
                a[f] = self.rm()
            else:
                a[f] = self.imm_edge(k)
        return Insn(op, **a)

    # memory ------------------------------------------------------------------------------
    def _aligned_addr(self, size: int, lo: int = 0, hi: int = SCRATCH_SIZE) -> int:
        """A size-aligned scratch offset A with lo <= A and A + size <= hi."""
        lo = max(lo, 0)
        hi = min(hi, SCRATCH_SIZE)
        first = -(-lo // size) * size
        last = (hi - size) // size * size
        return self.rng.randrange(first, last + 1, size)

    def mem_unit(self, op: str) -> Unit:
        """A 32-bit load/store: addressed from base, from sp, or from a fresh temp register."""
        size = MEM_SIZE[op]
        mode = self.rng.random()
        if mode < 0.35:       # off(base)
            addr = self._aligned_addr(size, 0, 2048)
            return Unit([self.generic(op, rs1=self.base, imm=addr)], op)
        if mode < 0.6:        # off(sp), sp = scratch + 2048
            addr = self._aligned_addr(size)
            return Unit([self.generic(op, rs1=2, imm=addr - SP_OFFSET)], op)
        t = self.wx(zero_ok=False)
        addr = self._aligned_addr(size, 0, 2047 + 2047 + size)   # base + k + imm, |k|,|imm| < 2048
        k = self.rng.randint(max(-2048, addr - 2047), min(2047, addr + 2048))
        return Unit([Insn("addi", rd=t, rs1=self.base, imm=k), self.generic(op, rs1=t, imm=addr - k)], op)

    def cmem_unit(self, op: str) -> Unit:
        """c.lw/c.ld/c.fld/c.sw/c.sd/c.fsd: rs1' in x8..x15 pointing into scratch."""
        size = 4 if op in ("c.lw", "c.sw") else 8
        ins = self.generic(op)
        imm = ins.a["imm"]
        mode = self.rng.random()
        if self.base in range(8, 16) and mode < 0.3:
            ins.a["rs1"] = self.base
            return Unit([ins], op)
        t = self.rng.choice(self.wxc)
        ins.a["rs1"] = t
        if mode < 0.6:        # c.addi4spn t, sp, k: t = scratch + 2048 + k
            k = self.rng.randrange(size, min(1020, SCRATCH_SIZE - SP_OFFSET - imm - size) + 1, size)
            return Unit([Insn("c.addi4spn", rd=t, imm=k), ins], op)
        addr = self._aligned_addr(size, imm - 2048, imm + 2047 + size)
        return Unit([Insn("addi", rd=t, rs1=self.base, imm=addr - imm), ins], op)

    def sp_unit(self, op: str) -> Unit:
        """c.*sp loads/stores and c.addi4spn, sometimes inside a c.addi16sp +d / -d pair."""
        ins = self.generic(op)
        if self.rng.random() < 0.3:
            d = self.rng.randrange(-496, 497, 16) or 16
            return Unit([Insn("c.addi16sp", imm=d), ins, Insn("c.addi16sp", imm=-d)], op)
        return Unit([ins], op)

    def addi16sp_unit(self) -> Unit:
        d = self.rng.randrange(-496, 497, 16) or -16
        mid = []
        r = self.rng.random()
        if r < 0.4:
            mid = [self.generic(self.rng.choice(["c.ldsp", "c.lwsp", "c.fldsp", "c.sdsp", "c.swsp",
                                                  "c.fsdsp", "c.addi4spn"]))]
        elif r < 0.7:         # a plain load/store through the moved sp
            op = self.rng.choice(["ld", "sd", "lw", "sw", "fld", "fsd", "lhu", "sb"])
            size = {"ld": 8, "sd": 8, "lw": 4, "sw": 4, "fld": 8, "fsd": 8, "lhu": 2, "sb": 1}[op]
            addr = self._aligned_addr(size, SP_OFFSET + d - 2048, SP_OFFSET + d + 2047 + size)
            mid = [self.generic(op, rs1=2, imm=addr - SP_OFFSET - d)]
        else:                 # read sp itself
            mid = [self.generic(self.rng.choice(["c.mv", "c.add", "add", "addi"]))]
            a = mid[0].a
            if "rs2" in a:
                a["rs2"] = 2
            else:
                a["rs1"] = 2
        return Unit([Insn("c.addi16sp", imm=d)] + mid + [Insn("c.addi16sp", imm=-d)], "c.addi16sp")

    def amo_unit(self, op: str) -> Unit:
        size = 4 if op.endswith(".w") else 8
        r = self.rng.random()
        pre: List[Insn] = []
        if r < 0.15:
            ptr = self.base
        elif r < 0.25:
            ptr = 2
        else:
            ptr = self.wx(zero_ok=False)
            pre = [Insn("addi", rd=ptr, rs1=self.base, imm=self._aligned_addr(size, 0, 2048))]
        aq, rl = self.rng.getrandbits(1), self.rng.getrandbits(1)
        if op.startswith("lr.") or op.startswith("sc."):
            w = op[-1]
            rd1 = self.rng.choice([r_ for r_ in [0] + self.wx_all if r_ != ptr])
            lr = Insn(f"lr.{w}", rd=rd1, rs1=ptr, aq=aq, rl=rl)
            sc = Insn(f"sc.{w}", rd=self.wx(), rs2=self.rx(), rs1=ptr,
                      aq=self.rng.getrandbits(1), rl=self.rng.getrandbits(1))
            body = [lr, sc]
            if self.rng.random() < 0.15 and sc.a["rd"] != ptr:
                # No reservation is held after an sc: this second one must fail (rd = 1).
                body.append(Insn(f"sc.{w}", rd=self.wx(), rs2=self.rx(), rs1=ptr,
                                 aq=self.rng.getrandbits(1), rl=self.rng.getrandbits(1)))
            return Unit(pre + body, op)
        return Unit(pre + [Insn(op, rd=self.wx(), rs2=self.rx(), rs1=ptr, aq=aq, rl=rl)], op)

    # CSRs -------------------------------------------------------------------------------
    def csr_value(self, csr: int, set_mode: bool) -> int:
        """A 64-bit value to write (csrrw) or set (csrrs) that keeps frm in 0..4."""
        v = s64(self.rng.getrandbits(64)) if self.rng.random() < 0.3 else self.rng.getrandbits(12)
        frm_shift = 0 if csr == 0x002 else 5
        if csr == 0x001:
            return v
        v &= ~(7 << frm_shift)
        if not set_mode:
            v |= self.rng.randrange(5) << frm_shift
        return s64(v)

    def csr_unit(self, op: str) -> Unit:
        csr = self.rng.choice((1, 2, 3))
        rd = self.wx()
        if op in ("csrrw", "csrrs"):
            if self.rng.random() < 0.2:
                return Unit([Insn(op, rd=rd, csr=csr, rs1=0)], op)
            t = self.wx(zero_ok=False)
            return Unit(self.li(t, self.csr_value(csr, op == "csrrs")) + [Insn(op, rd=rd, csr=csr, rs1=t)], op)
        if op == "csrrc":       # clearing bits can never make frm invalid
            return Unit([Insn(op, rd=rd, csr=csr, rs1=self.rx())], op)
        u = self.rng.randrange(32)
        if csr == 0x002 and op == "csrrwi":
            u = (u & ~7) | self.rng.randrange(5)
        if csr == 0x002 and op == "csrrsi":
            u &= ~7
        return Unit([Insn(op, rd=rd, csr=csr, uimm=u)], op)

    # control flow --------------------------------------------------------------------------
    def ctl_unit(self, op: str) -> Unit:
        if op in ("beq", "bne", "blt", "bge", "bltu", "bgeu"):
            rs1, rs2 = self.rx(), self.rx()
            if self.rng.random() < 0.2:
                rs2 = rs1
            elif self.rng.random() < 0.15:
                rs2 = 0
            return Unit([Insn(op, rs1=rs1, rs2=rs2, off=0)], op, [Fixup(0, 0, "off", -4096, 4094)])
        if op in ("c.beqz", "c.bnez"):
            return Unit([Insn(op, rs1=self.rng.randrange(8, 16), off=0)], op, [Fixup(0, 0, "off", -256, 254)])
        if op == "jal":
            return Unit([Insn(op, rd=self.wx(), off=0)], op, [Fixup(0, 0, "off", -(1 << 20), (1 << 20) - 2)])
        if op == "c.j":
            return Unit([Insn(op, off=0)], op, [Fixup(0, 0, "off", -2048, 2046)])
        t = self.wx(zero_ok=False)
        odd = self.rng.random() < 0.3
        if op == "jalr":
            return Unit([Insn("auipc", rd=t, imm=0), Insn("jalr", rd=self.wx(), rs1=t, imm=0)], op,
                        [Fixup(1, 0, "imm", -2048, 2047, odd)])
        assert op in ("c.jr", "c.jalr")
        return Unit([Insn("auipc", rd=t, imm=0), Insn("addi", rd=t, rs1=t, imm=0), Insn(op, rd=t)], op,
                    [Fixup(1, 0, "imm", -2048, 2047, odd)])

    # ops with special values ---------------------------------------------------------------
    DIV_OPS = ("div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw")

    def div_unit(self, op: str) -> Unit:
        r = self.rng.random()
        if r < 0.15:        # divide by zero
            return Unit([self.generic(op, rs2=0)], op)
        if r < 0.35:        # overflow: INT_MIN / -1
            a, b = self.rng.sample(self.wx_all, 2)
            mn = -(1 << 63) if not op.endswith("w") else self.rng.choice([-(1 << 31), s64(0x1234567880000000)])
            pre = self.li(a, mn) + self.li(b, self.rng.choice([-1, -1, s64(0xABCDEF00FFFFFFFF)]))
            return Unit(pre + [self.generic(op, rs1=a, rs2=b)], op)
        return Unit([self.generic(op)], op)

    # dispatch --------------------------------------------------------------------------------
    def unit_for(self, op: str) -> Unit:
        if op in CONTROL_OPS:
            return self.ctl_unit(op)
        if op in MEM_SIZE:
            return self.mem_unit(op)
        if op in ("c.lw", "c.ld", "c.fld", "c.sw", "c.sd", "c.fsd"):
            return self.cmem_unit(op)
        if op in ("c.lwsp", "c.ldsp", "c.fldsp", "c.swsp", "c.sdsp", "c.fsdsp", "c.addi4spn"):
            return self.sp_unit(op)
        if op == "c.addi16sp":
            return self.addi16sp_unit()
        if OPS[op].group == "A":
            return self.amo_unit(op)
        if OPS[op].group == "Zicsr":
            return self.csr_unit(op)
        if op in self.DIV_OPS:
            return self.div_unit(op)
        return Unit([self.generic(op)], op)

    def random_unit(self) -> Unit:
        r = self.rng.random()
        if r < 0.08:
            return self.set_x_unit()
        if r < 0.14:
            return self.set_f_unit()
        return self.unit_for(self.rng.choice(GEN_OPS))


def _layout(units: List[Unit]) -> List[int]:
    offs, pos = [], 0
    for u in units:
        offs.append(pos)
        pos += sum(i.size for i in u.insns)
    offs.append(pos)
    return offs


def _resolve(units: List[Unit], rng: random.Random) -> List[int]:
    offs = _layout(units)        # sizes never change while resolving
    for ui, u in enumerate(units):
        if not u.fixups:
            continue
        ioffs, p = [], offs[ui]
        for ins in u.insns:
            ioffs.append(p)
            p += ins.size
        for fx in u.fixups:
            anchor = ioffs[fx.anchor]
            extra = 1 if fx.odd else 0
            cands = [t for t in offs[ui + 1:] if fx.lo <= t - anchor + extra <= fx.hi]
            assert cands, "no forward target in range"
            # Mostly near targets, so that taken branches skip little.
            if rng.random() < 0.05:    # now and then anywhere in range (long offsets)
                k = rng.randrange(len(cands))
            else:
                k = min(int(rng.expovariate(1 / 2.5)), len(cands) - 1)
            u.target = cands[k]
            u.insns[fx.insn].a[fx.fld] = cands[k] - anchor + extra
    return offs[:-1]


def generate(seed: int, n_insns: int = 100, *, cover: Optional[List[str]] = None) -> Program:
    """A program of about n_insns instructions (at least n_insns; units are not split).

    ``cover``: ops that must each appear (a unit is made for each, mixed into the random ones).
    """
    rng = random.Random(f"wb-difftest-{seed}")
    base = rng.choice([r for r in range(3, 32)])
    g = Gen(rng, base)

    x_init = [0] + [random_int(rng) for _ in range(31)]
    x_init[2] = 0
    x_init[base] = 0
    f_init = [random_fp_reg_bits(rng) for _ in range(32)]
    fcsr_init = (rng.randrange(5) << 5) | (rng.getrandbits(5) if rng.random() < 0.5 else 0)
    words = []
    for _ in range(SCRATCH_SIZE // 8):
        r = rng.random()
        if r < 0.3:
            words.append(random_fp_reg_bits(rng))
        elif r < 0.6:
            words.append(random_int(rng) & MASK64)
        elif r < 0.7:
            words.append((random_single_bits(rng) << 32) | random_single_bits(rng))
        else:
            words.append(rng.getrandbits(64))
    scratch = b"".join(w.to_bytes(8, "little") for w in words)

    units: List[Unit] = []
    forced = list(cover or [])
    rng.shuffle(forced)
    count = 0
    while count < n_insns or forced:
        if forced and (rng.random() < 0.5 or count >= n_insns):
            u = g.unit_for(forced.pop())
        else:
            u = g.random_unit()
        units.append(g.add_logs(u))
        count += len(u.insns)
    offsets = _resolve(units, rng)
    for u in units:
        for i in u.insns:
            i.check()
            for rf, r in i.writes():
                assert not (rf == "x" and r == base), (i, base)
                if rf == "x" and r == 2:
                    assert i.op == "c.addi16sp", i
    log_init = rng.getrandbits(64 * LOG_SLOTS).to_bytes(8 * LOG_SLOTS, "little")
    passes = rng.choice((1, 2, 2, 3))
    return Program(seed, n_insns, base, x_init, f_init, fcsr_init, scratch, units,
                   log_init=log_init, offsets=offsets, passes=passes)
