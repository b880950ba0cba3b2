"""An encoder for RV64GC instructions, written from the RISC-V unprivileged ISA spec.

An instruction is an :class:`Insn`: an op name (the assembler mnemonic, e.g. ``"add"``,
``"fmadd.d"``, ``"amoadd.w"``, ``"c.addi16sp"``) and named operand fields.  ``encode()`` gives
the machine-code value and size (2 or 4 bytes); ``text()`` gives GNU as syntax, which the
cross-check test assembles with ``riscv64-linux-gnu-as -march=rv64gc`` and compares byte for
byte.  Register operands are numbers (0..31); which register file they name is a property of
the op.  Branch/jump offsets are byte offsets relative to the instruction itself.

Every op is described by an :class:`OpSpec` in :data:`OPS`: its size, its operand kinds (which
also define the full valid operand space, used to draw random instances), its encoder and its
text template.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

XNAMES = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
          "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
          "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
          "t3", "t4", "t5", "t6"]
FNAMES = ["ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1",
          "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
          "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
          "ft8", "ft9", "ft10", "ft11"]
RM_NAMES = {0: "rne", 1: "rtz", 2: "rdn", 3: "rup", 4: "rmm", 7: "dyn"}
VALID_RMS = (0, 1, 2, 3, 4, 7)
CSR_NAMES = {0x001: "fflags", 0x002: "frm", 0x003: "fcsr"}
FP_CSRS = (0x001, 0x002, 0x003)


class EncodeError(ValueError):
    pass


# ----------------------------------------------------------------------------------------------
# Operand kinds: how a value is checked, drawn at random over its whole valid space, and printed.
# ----------------------------------------------------------------------------------------------

def _signed_range(bits: int, step: int = 1) -> Tuple[int, int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - step, step)


@dataclass(frozen=True)
class Kind:
    name: str
    lo: int
    hi: int
    step: int = 1
    exclude: Tuple[int, ...] = ()
    choices: Tuple[int, ...] = ()
    sample_choices: Tuple[int, ...] = ()   # when set, random draws come only from these

    def valid(self, v: int) -> bool:
        if not isinstance(v, int):
            return False
        if self.choices:
            return v in self.choices
        return self.lo <= v <= self.hi and (v - self.lo) % self.step == 0 and v not in self.exclude

    def sample(self, rng: random.Random) -> int:
        if self.sample_choices:
            return rng.choice(self.sample_choices)
        if self.choices:
            return rng.choice(self.choices)
        while True:
            v = rng.randrange(self.lo, self.hi + 1, self.step)
            if v not in self.exclude:
                return v


def _k(name, lo=0, hi=0, step=1, exclude=(), choices=(), sample_choices=()):
    return Kind(name, lo, hi, step, tuple(exclude), tuple(choices), tuple(sample_choices))


KINDS: Dict[str, Kind] = {k.name: k for k in [
    _k("x", 0, 31), _k("f", 0, 31),
    _k("xnz", 1, 31),                     # x1..x31
    _k("xnz2", 1, 31, exclude=(2,)),      # c.lui rd: not x0, not sp
    _k("xc", 8, 15), _k("fc", 8, 15),     # the compressed 3-bit register fields
    _k("rm", choices=VALID_RMS),
    # rm of an exact conversion (fcvt.d.w/.d.wu/.d.s): any valid rm encodes, but GNU as 2.40
    # takes no rm operand there and writes rne, so the cross-check draws only rne.
    _k("rmx", choices=VALID_RMS, sample_choices=(0,)),
    _k("i12", -2048, 2047), _k("u20", 0, 0xFFFFF),
    _k("sh6", 0, 63), _k("sh5", 0, 31),
    _k("b13", -4096, 4094, 2), _k("j21", -(1 << 20), (1 << 20) - 2, 2),
    _k("bit", 0, 1), _k("csr", choices=FP_CSRS), _k("u5", 0, 31), _k("fence", 1, 15),
    _k("ci6", -32, 31), _k("ci6nz", -32, 31, exclude=(0,)),
    _k("clui", -32, 31, exclude=(0,)),   # c.lui nzimm[17:12]; GNU as writes it as a 20-bit value
    _k("csh", 1, 63),
    _k("c16sp", -512, 496, 16, exclude=(0,)),
    _k("c4spn", 4, 1020, 4),
    _k("cuw", 0, 124, 4), _k("cud", 0, 248, 8),
    _k("cuspw", 0, 252, 4), _k("cuspd", 0, 504, 8),
    _k("cj", -2048, 2046, 2), _k("cb", -256, 254, 2),
]}


def _fmt_pcrel(v: int) -> str:
    return ".%+d" % v


def _fmt_fence(v: int) -> str:
    return "".join(c for c, b in zip("iorw", (8, 4, 2, 1)) if v & b)


def _fmt_clui(v: int) -> str:
    return str(v) if v > 0 else hex(v & 0xFFFFF)


FORMATTERS: Dict[str, Callable[[int], str]] = {
    "x": XNAMES.__getitem__, "xnz": XNAMES.__getitem__, "xnz2": XNAMES.__getitem__,
    "xc": XNAMES.__getitem__, "f": FNAMES.__getitem__, "fc": FNAMES.__getitem__,
    "rm": RM_NAMES.__getitem__, "rmx": lambda v: "" if v == 0 else ", " + RM_NAMES[v],
    "u20": hex, "b13": _fmt_pcrel, "j21": _fmt_pcrel, "cj": _fmt_pcrel, "cb": _fmt_pcrel,
    "csr": CSR_NAMES.get, "fence": _fmt_fence, "clui": _fmt_clui,
}


# ----------------------------------------------------------------------------------------------
# Op specs
# ----------------------------------------------------------------------------------------------

@dataclass
class OpSpec:
    name: str
    size: int                       # 2 or 4 bytes
    operands: Tuple[Tuple[str, str], ...]   # (field, kind) in assembly order
    enc: Callable[[dict], int]
    template: str                   # str.format template over the formatted fields
    group: str                      # "I", "M", "A", "F", "D", "Zicsr", "C", ...
    regfile: Dict[str, str] = field(default_factory=dict)  # field -> "x" / "f"
    text_hook: Callable[[dict], str] | None = None   # special text form (e.g. amo suffixes)

    def random_operands(self, rng: random.Random) -> dict:
        return {f: KINDS[k].sample(rng) for f, k in self.operands}


OPS: Dict[str, OpSpec] = {}


def _add(name, size, operands, enc, template, group, text_hook=None):
    ops = tuple(tuple(o.split(":")) for o in operands)
    regfile = {}
    for f, k in ops:
        if k in ("x", "xnz", "xnz2", "xc"):
            regfile[f] = "x"
        elif k in ("f", "fc"):
            regfile[f] = "f"
    OPS[name] = OpSpec(name, size, ops, enc, template, group, regfile, text_hook)


def _check_bits(v, bits, what):
    if v < 0 or v >= (1 << bits):
        raise EncodeError(f"{what}={v} does not fit in {bits} bits")
    return v


# ---- 32-bit formats ----

def _r(opc, f3, f7, rs2=None):
    def enc(a):
        r2 = a["rs2"] if rs2 is None else rs2
        fn3 = a["rm"] if f3 is None else f3
        return (f7 << 25) | (r2 << 20) | (a["rs1"] << 15) | (fn3 << 12) | (a["rd"] << 7) | opc
    return enc


def _i(opc, f3, imm_key="imm"):
    def enc(a):
        return ((a[imm_key] & 0xFFF) << 20) | (a["rs1"] << 15) | (f3 << 12) | (a["rd"] << 7) | opc
    return enc


def _s(opc, f3):
    def enc(a):
        imm = a["imm"] & 0xFFF
        return (((imm >> 5) << 25) | (a["rs2"] << 20) | (a["rs1"] << 15) | (f3 << 12)
                | ((imm & 0x1F) << 7) | opc)
    return enc


def _b(f3):
    def enc(a):
        o = a["off"] & 0x1FFF
        return ((((o >> 12) & 1) << 31) | (((o >> 5) & 0x3F) << 25) | (a["rs2"] << 20)
                | (a["rs1"] << 15) | (f3 << 12) | (((o >> 1) & 0xF) << 8)
                | (((o >> 11) & 1) << 7) | 0x63)
    return enc


def _u(opc):
    return lambda a: (a["imm"] << 12) | (a["rd"] << 7) | opc


def _jal(a):
    o = a["off"] & 0x1FFFFF
    return ((((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20)
            | (((o >> 12) & 0xFF) << 12) | (a["rd"] << 7) | 0x6F)


def _shift(opc, f3, hi6):
    def enc(a):
        return ((hi6 << 26) | (a["shamt"] << 20) | (a["rs1"] << 15) | (f3 << 12)
                | (a["rd"] << 7) | opc)
    return enc


def _r4(opc, fmt):
    def enc(a):
        return ((a["rs3"] << 27) | (fmt << 25) | (a["rs2"] << 20) | (a["rs1"] << 15)
                | (a["rm"] << 12) | (a["rd"] << 7) | opc)
    return enc


def _amo(f5, f3, with_rs2=True):
    def enc(a):
        r2 = a["rs2"] if with_rs2 else 0
        return ((f5 << 27) | (a["aq"] << 26) | (a["rl"] << 25) | (r2 << 20) | (a["rs1"] << 15)
                | (f3 << 12) | (a["rd"] << 7) | 0x2F)
    return enc


def _amo_text(base):
    def hook(s):
        sfx = {(0, 0): "", (1, 0): ".aq", (0, 1): ".rl", (1, 1): ".aqrl"}[(s["_aq"], s["_rl"])]
        return base + sfx
    return hook


# RV64I ---------------------------------------------------------------------------------------
_add("lui", 4, ["rd:x", "imm:u20"], _u(0x37), "{rd}, {imm}", "I")
_add("auipc", 4, ["rd:x", "imm:u20"], _u(0x17), "{rd}, {imm}", "I")
_add("jal", 4, ["rd:x", "off:j21"], _jal, "{rd}, {off}", "I")
_add("jalr", 4, ["rd:x", "rs1:x", "imm:i12"], _i(0x67, 0), "{rd}, {imm}({rs1})", "I")
for _n, _f3 in [("beq", 0), ("bne", 1), ("blt", 4), ("bge", 5), ("bltu", 6), ("bgeu", 7)]:
    _add(_n, 4, ["rs1:x", "rs2:x", "off:b13"], _b(_f3), "{rs1}, {rs2}, {off}", "I")
for _n, _f3 in [("lb", 0), ("lh", 1), ("lw", 2), ("ld", 3), ("lbu", 4), ("lhu", 5), ("lwu", 6)]:
    _add(_n, 4, ["rd:x", "rs1:x", "imm:i12"], _i(0x03, _f3), "{rd}, {imm}({rs1})", "I")
for _n, _f3 in [("sb", 0), ("sh", 1), ("sw", 2), ("sd", 3)]:
    _add(_n, 4, ["rs2:x", "rs1:x", "imm:i12"], _s(0x23, _f3), "{rs2}, {imm}({rs1})", "I")
for _n, _f3 in [("addi", 0), ("slti", 2), ("sltiu", 3), ("xori", 4), ("ori", 6), ("andi", 7)]:
    _add(_n, 4, ["rd:x", "rs1:x", "imm:i12"], _i(0x13, _f3), "{rd}, {rs1}, {imm}", "I")
for _n, _f3, _hi in [("slli", 1, 0), ("srli", 5, 0), ("srai", 5, 0x10)]:
    _add(_n, 4, ["rd:x", "rs1:x", "shamt:sh6"], _shift(0x13, _f3, _hi), "{rd}, {rs1}, {shamt}", "I")
for _n, _f3, _f7 in [("add", 0, 0), ("sub", 0, 0x20), ("sll", 1, 0), ("slt", 2, 0), ("sltu", 3, 0),
                     ("xor", 4, 0), ("srl", 5, 0), ("sra", 5, 0x20), ("or", 6, 0), ("and", 7, 0)]:
    _add(_n, 4, ["rd:x", "rs1:x", "rs2:x"], _r(0x33, _f3, _f7), "{rd}, {rs1}, {rs2}", "I")
_add("addiw", 4, ["rd:x", "rs1:x", "imm:i12"], _i(0x1B, 0), "{rd}, {rs1}, {imm}", "I")
for _n, _f3, _hi in [("slliw", 1, 0), ("srliw", 5, 0), ("sraiw", 5, 0x10)]:
    _add(_n, 4, ["rd:x", "rs1:x", "shamt:sh5"], _shift(0x1B, _f3, _hi), "{rd}, {rs1}, {shamt}", "I")
for _n, _f3, _f7 in [("addw", 0, 0), ("subw", 0, 0x20), ("sllw", 1, 0), ("srlw", 5, 0), ("sraw", 5, 0x20)]:
    _add(_n, 4, ["rd:x", "rs1:x", "rs2:x"], _r(0x3B, _f3, _f7), "{rd}, {rs1}, {rs2}", "I")
_add("fence", 4, ["pred:fence", "succ:fence"],
     lambda a: (a["pred"] << 24) | (a["succ"] << 20) | 0x0F, "{pred}, {succ}", "I")
_add("fence.tso", 4, [], lambda a: 0x8330000F, "", "I")
_add("fence.i", 4, [], lambda a: 0x0000100F, "", "Zifencei")
_add("ecall", 4, [], lambda a: 0x00000073, "", "I")
_add("ebreak", 4, [], lambda a: 0x00100073, "", "I")

# M ---------------------------------------------------------------------------------------------
for _n, _f3 in [("mul", 0), ("mulh", 1), ("mulhsu", 2), ("mulhu", 3),
                ("div", 4), ("divu", 5), ("rem", 6), ("remu", 7)]:
    _add(_n, 4, ["rd:x", "rs1:x", "rs2:x"], _r(0x33, _f3, 1), "{rd}, {rs1}, {rs2}", "M")
for _n, _f3 in [("mulw", 0), ("divw", 4), ("divuw", 5), ("remw", 6), ("remuw", 7)]:
    _add(_n, 4, ["rd:x", "rs1:x", "rs2:x"], _r(0x3B, _f3, 1), "{rd}, {rs1}, {rs2}", "M")

# A ---------------------------------------------------------------------------------------------
for _w, _f3 in [("w", 2), ("d", 3)]:
    _add(f"lr.{_w}", 4, ["rd:x", "rs1:x", "aq:bit", "rl:bit"], _amo(0x02, _f3, False),
         "{rd}, ({rs1})", "A", _amo_text(f"lr.{_w}"))
    _add(f"sc.{_w}", 4, ["rd:x", "rs2:x", "rs1:x", "aq:bit", "rl:bit"], _amo(0x03, _f3),
         "{rd}, {rs2}, ({rs1})", "A", _amo_text(f"sc.{_w}"))
    for _n, _f5 in [("amoswap", 0x01), ("amoadd", 0x00), ("amoxor", 0x04), ("amoand", 0x0C),
                    ("amoor", 0x08), ("amomin", 0x10), ("amomax", 0x14), ("amominu", 0x18),
                    ("amomaxu", 0x1C)]:
        _add(f"{_n}.{_w}", 4, ["rd:x", "rs2:x", "rs1:x", "aq:bit", "rl:bit"], _amo(_f5, _f3),
             "{rd}, {rs2}, ({rs1})", "A", _amo_text(f"{_n}.{_w}"))

# F and D ---------------------------------------------------------------------------------------
for _p, _fmt, _grp in [("s", 0, "F"), ("d", 1, "D")]:
    _w = 2 if _p == "s" else 3
    _add(f"fl{'w' if _p == 's' else 'd'}", 4, ["rd:f", "rs1:x", "imm:i12"], _i(0x07, _w),
         "{rd}, {imm}({rs1})", _grp)
    _add(f"fs{'w' if _p == 's' else 'd'}", 4, ["rs2:f", "rs1:x", "imm:i12"], _s(0x27, _w),
         "{rs2}, {imm}({rs1})", _grp)
    for _n, _opc in [("fmadd", 0x43), ("fmsub", 0x47), ("fnmsub", 0x4B), ("fnmadd", 0x4F)]:
        _add(f"{_n}.{_p}", 4, ["rd:f", "rs1:f", "rs2:f", "rs3:f", "rm:rm"], _r4(_opc, _fmt),
             "{rd}, {rs1}, {rs2}, {rs3}, {rm}", _grp)
    for _n, _f7 in [("fadd", 0x00), ("fsub", 0x04), ("fmul", 0x08), ("fdiv", 0x0C)]:
        _add(f"{_n}.{_p}", 4, ["rd:f", "rs1:f", "rs2:f", "rm:rm"], _r(0x53, None, _f7 | _fmt),
             "{rd}, {rs1}, {rs2}, {rm}", _grp)
    _add(f"fsqrt.{_p}", 4, ["rd:f", "rs1:f", "rm:rm"], _r(0x53, None, 0x2C | _fmt, 0),
         "{rd}, {rs1}, {rm}", _grp)
    for _n, _f3 in [("fsgnj", 0), ("fsgnjn", 1), ("fsgnjx", 2)]:
        _add(f"{_n}.{_p}", 4, ["rd:f", "rs1:f", "rs2:f"], _r(0x53, _f3, 0x10 | _fmt),
             "{rd}, {rs1}, {rs2}", _grp)
    for _n, _f3 in [("fmin", 0), ("fmax", 1)]:
        _add(f"{_n}.{_p}", 4, ["rd:f", "rs1:f", "rs2:f"], _r(0x53, _f3, 0x14 | _fmt),
             "{rd}, {rs1}, {rs2}", _grp)
    for _n, _f3 in [("feq", 2), ("flt", 1), ("fle", 0)]:
        _add(f"{_n}.{_p}", 4, ["rd:x", "rs1:f", "rs2:f"], _r(0x53, _f3, 0x50 | _fmt),
             "{rd}, {rs1}, {rs2}", _grp)
    _add(f"fclass.{_p}", 4, ["rd:x", "rs1:f"], _r(0x53, 1, 0x70 | _fmt, 0), "{rd}, {rs1}", _grp)
    for _i_n, _r2 in [("w", 0), ("wu", 1), ("l", 2), ("lu", 3)]:
        # float -> int: rd is x
        _add(f"fcvt.{_i_n}.{_p}", 4, ["rd:x", "rs1:f", "rm:rm"], _r(0x53, None, 0x60 | _fmt, _r2),
             "{rd}, {rs1}, {rm}", _grp)
        # int -> float: exact for w/wu -> d
        _exact = _p == "d" and _i_n in ("w", "wu")
        _add(f"fcvt.{_p}.{_i_n}", 4, ["rd:f", "rs1:x", "rm:" + ("rmx" if _exact else "rm")],
             _r(0x53, None, 0x68 | _fmt, _r2), "{rd}, {rs1}{rm}" if _exact else "{rd}, {rs1}, {rm}", _grp)
_add("fcvt.s.d", 4, ["rd:f", "rs1:f", "rm:rm"], _r(0x53, None, 0x20, 1), "{rd}, {rs1}, {rm}", "D")
_add("fcvt.d.s", 4, ["rd:f", "rs1:f", "rm:rmx"], _r(0x53, None, 0x21, 0), "{rd}, {rs1}{rm}", "D")
_add("fmv.x.w", 4, ["rd:x", "rs1:f"], _r(0x53, 0, 0x70, 0), "{rd}, {rs1}", "F")
_add("fmv.w.x", 4, ["rd:f", "rs1:x"], _r(0x53, 0, 0x78, 0), "{rd}, {rs1}", "F")
_add("fmv.x.d", 4, ["rd:x", "rs1:f"], _r(0x53, 0, 0x71, 0), "{rd}, {rs1}", "D")
_add("fmv.d.x", 4, ["rd:f", "rs1:x"], _r(0x53, 0, 0x79, 0), "{rd}, {rs1}", "D")

# Zicsr -----------------------------------------------------------------------------------------
for _n, _f3 in [("csrrw", 1), ("csrrs", 2), ("csrrc", 3)]:
    _add(_n, 4, ["rd:x", "csr:csr", "rs1:x"],
         (lambda f3: lambda a: (a["csr"] << 20) | (a["rs1"] << 15) | (f3 << 12) | (a["rd"] << 7) | 0x73)(_f3),
         "{rd}, {csr}, {rs1}", "Zicsr")
for _n, _f3 in [("csrrwi", 5), ("csrrsi", 6), ("csrrci", 7)]:
    _add(_n, 4, ["rd:x", "csr:csr", "uimm:u5"],
         (lambda f3: lambda a: (a["csr"] << 20) | (a["uimm"] << 15) | (f3 << 12) | (a["rd"] << 7) | 0x73)(_f3),
         "{rd}, {csr}, {uimm}", "Zicsr")


# RV64C -----------------------------------------------------------------------------------------

def _bit(v, i):
    return (v >> i) & 1


def _bits(v, hi, lo):
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)


def _c_addi4spn(a):
    u = a["imm"]
    imm8 = (_bits(u, 5, 4) << 6) | (_bits(u, 9, 6) << 2) | (_bit(u, 2) << 1) | _bit(u, 3)
    return (0 << 13) | (imm8 << 5) | ((a["rd"] - 8) << 2) | 0


def _c_ls_d(f3):   # c.fld/c.ld/c.fsd/c.sd: offset[5:3] at 12:10, offset[7:6] at 6:5
    def enc(a):
        u = a["imm"]
        r = a["rd"] if "rd" in a else a["rs2"]
        return ((f3 << 13) | (_bits(u, 5, 3) << 10) | ((a["rs1"] - 8) << 7)
                | (_bits(u, 7, 6) << 5) | ((r - 8) << 2) | 0)
    return enc


def _c_ls_w(f3):   # c.lw/c.sw: offset[5:3] at 12:10, offset[2] at 6, offset[6] at 5
    def enc(a):
        u = a["imm"]
        r = a["rd"] if "rd" in a else a["rs2"]
        return ((f3 << 13) | (_bits(u, 5, 3) << 10) | ((a["rs1"] - 8) << 7)
                | (_bit(u, 2) << 6) | (_bit(u, 6) << 5) | ((r - 8) << 2) | 0)
    return enc


def _c_ci(f3, op, key="imm"):   # imm[5] at 12, rd at 11:7, imm[4:0] at 6:2
    def enc(a):
        v = a[key] & 0x3F
        return (f3 << 13) | (_bit(v, 5) << 12) | (a["rd"] << 7) | (_bits(v, 4, 0) << 2) | op
    return enc


def _c_addi16sp(a):
    v = a["imm"] & 0x3FF
    return ((3 << 13) | (_bit(v, 9) << 12) | (2 << 7) | (_bit(v, 4) << 6) | (_bit(v, 6) << 5)
            | (_bits(v, 8, 7) << 3) | (_bit(v, 5) << 2) | 1)


def _c_lui(a):
    v = a["imm"] & 0x3F   # nzimm[17:12]
    return (3 << 13) | (_bit(v, 5) << 12) | (a["rd"] << 7) | (_bits(v, 4, 0) << 2) | 1


def _c_shift_andi(f2, key):
    def enc(a):
        v = a[key] & 0x3F
        return ((4 << 13) | (_bit(v, 5) << 12) | (f2 << 10) | ((a["rd"] - 8) << 7)
                | (_bits(v, 4, 0) << 2) | 1)
    return enc


def _c_arith(hi6, f2):
    return lambda a: (hi6 << 10) | ((a["rd"] - 8) << 7) | (f2 << 5) | ((a["rs2"] - 8) << 2) | 1


def _c_j(a):
    o = a["off"] & 0xFFF
    imm11 = ((_bit(o, 11) << 10) | (_bit(o, 4) << 9) | (_bits(o, 9, 8) << 7) | (_bit(o, 10) << 6)
             | (_bit(o, 6) << 5) | (_bit(o, 7) << 4) | (_bits(o, 3, 1) << 1) | _bit(o, 5))
    return (5 << 13) | (imm11 << 2) | 1


def _c_b(f3):
    def enc(a):
        o = a["off"] & 0x1FF
        return ((f3 << 13) | (_bit(o, 8) << 12) | (_bits(o, 4, 3) << 10) | ((a["rs1"] - 8) << 7)
                | (_bits(o, 7, 6) << 5) | (_bits(o, 2, 1) << 3) | (_bit(o, 5) << 2) | 1)
    return enc


def _c_lsp_d(f3):   # c.fldsp/c.ldsp: uimm[5] at 12, uimm[4:3|8:6] at 6:2
    def enc(a):
        u = a["imm"]
        return ((f3 << 13) | (_bit(u, 5) << 12) | (a["rd"] << 7) | (_bits(u, 4, 3) << 5)
                | (_bits(u, 8, 6) << 2) | 2)
    return enc


def _c_lwsp(a):
    u = a["imm"]
    return ((2 << 13) | (_bit(u, 5) << 12) | (a["rd"] << 7) | (_bits(u, 4, 2) << 4)
            | (_bits(u, 7, 6) << 2) | 2)


def _c_ssp_d(f3):   # c.fsdsp/c.sdsp: uimm[5:3|8:6] at 12:7
    def enc(a):
        u = a["imm"]
        return (f3 << 13) | (_bits(u, 5, 3) << 10) | (_bits(u, 8, 6) << 7) | (a["rs2"] << 2) | 2
    return enc


def _c_swsp(a):
    u = a["imm"]
    return (6 << 13) | (_bits(u, 5, 2) << 9) | (_bits(u, 7, 6) << 7) | (a["rs2"] << 2) | 2


def _c_cr(b12):
    return lambda a: (4 << 13) | (b12 << 12) | (a["rd"] << 7) | (a.get("rs2", 0) << 2) | 2


_add("c.addi4spn", 2, ["rd:xc", "imm:c4spn"], _c_addi4spn, "{rd}, sp, {imm}", "C")
_add("c.fld", 2, ["rd:fc", "rs1:xc", "imm:cud"], _c_ls_d(1), "{rd}, {imm}({rs1})", "C")
_add("c.lw", 2, ["rd:xc", "rs1:xc", "imm:cuw"], _c_ls_w(2), "{rd}, {imm}({rs1})", "C")
_add("c.ld", 2, ["rd:xc", "rs1:xc", "imm:cud"], _c_ls_d(3), "{rd}, {imm}({rs1})", "C")
_add("c.fsd", 2, ["rs2:fc", "rs1:xc", "imm:cud"], _c_ls_d(5), "{rs2}, {imm}({rs1})", "C")
_add("c.sw", 2, ["rs2:xc", "rs1:xc", "imm:cuw"], _c_ls_w(6), "{rs2}, {imm}({rs1})", "C")
_add("c.sd", 2, ["rs2:xc", "rs1:xc", "imm:cud"], _c_ls_d(7), "{rs2}, {imm}({rs1})", "C")
_add("c.nop", 2, [], lambda a: 0x0001, "", "C")
_add("c.addi", 2, ["rd:xnz", "imm:ci6nz"], _c_ci(0, 1), "{rd}, {imm}", "C")
_add("c.addiw", 2, ["rd:xnz", "imm:ci6"], _c_ci(1, 1), "{rd}, {imm}", "C")
_add("c.li", 2, ["rd:xnz", "imm:ci6"], _c_ci(2, 1), "{rd}, {imm}", "C")
_add("c.addi16sp", 2, ["imm:c16sp"], _c_addi16sp, "sp, {imm}", "C")
_add("c.lui", 2, ["rd:xnz2", "imm:clui"], _c_lui, "{rd}, {imm}", "C")
_add("c.srli", 2, ["rd:xc", "shamt:csh"], _c_shift_andi(0, "shamt"), "{rd}, {shamt}", "C")
_add("c.srai", 2, ["rd:xc", "shamt:csh"], _c_shift_andi(1, "shamt"), "{rd}, {shamt}", "C")
_add("c.andi", 2, ["rd:xc", "imm:ci6"], _c_shift_andi(2, "imm"), "{rd}, {imm}", "C")
for _n, _hi6, _f2 in [("c.sub", 0x23, 0), ("c.xor", 0x23, 1), ("c.or", 0x23, 2), ("c.and", 0x23, 3),
                      ("c.subw", 0x27, 0), ("c.addw", 0x27, 1)]:
    _add(_n, 2, ["rd:xc", "rs2:xc"], _c_arith(_hi6, _f2), "{rd}, {rs2}", "C")
_add("c.j", 2, ["off:cj"], _c_j, "{off}", "C")
_add("c.beqz", 2, ["rs1:xc", "off:cb"], _c_b(6), "{rs1}, {off}", "C")
_add("c.bnez", 2, ["rs1:xc", "off:cb"], _c_b(7), "{rs1}, {off}", "C")
_add("c.slli", 2, ["rd:xnz", "shamt:csh"], _c_ci(0, 2, "shamt"), "{rd}, {shamt}", "C")
_add("c.fldsp", 2, ["rd:f", "imm:cuspd"], _c_lsp_d(1), "{rd}, {imm}(sp)", "C")
_add("c.lwsp", 2, ["rd:xnz", "imm:cuspw"], _c_lwsp, "{rd}, {imm}(sp)", "C")
_add("c.ldsp", 2, ["rd:xnz", "imm:cuspd"], _c_lsp_d(3), "{rd}, {imm}(sp)", "C")
_add("c.jr", 2, ["rd:xnz"], _c_cr(0), "{rd}", "C")          # rs1 lives in the rd field
_add("c.mv", 2, ["rd:xnz", "rs2:xnz"], _c_cr(0), "{rd}, {rs2}", "C")
_add("c.ebreak", 2, [], lambda a: 0x9002, "", "C")
_add("c.jalr", 2, ["rd:xnz"], _c_cr(1), "{rd}", "C")        # rs1 lives in the rd field
_add("c.add", 2, ["rd:xnz", "rs2:xnz"], _c_cr(1), "{rd}, {rs2}", "C")
_add("c.fsdsp", 2, ["rs2:f", "imm:cuspd"], _c_ssp_d(5), "{rs2}, {imm}(sp)", "C")
_add("c.swsp", 2, ["rs2:x", "imm:cuspw"], _c_swsp, "{rs2}, {imm}(sp)", "C")
_add("c.sdsp", 2, ["rs2:x", "imm:cuspd"], _c_ssp_d(7), "{rs2}, {imm}(sp)", "C")

#: Ops that transfer control (their target field is "off" or, for c.jr/c.jalr/jalr, a register).
CONTROL_OPS = frozenset(["jal", "jalr", "beq", "bne", "blt", "bge", "bltu", "bgeu",
                         "c.j", "c.beqz", "c.bnez", "c.jr", "c.jalr"])
#: Ops that end a program or trap; the encoder has them, random programs never emit them.
TRAPPING_OPS = frozenset(["ecall", "ebreak", "c.ebreak"])


# ----------------------------------------------------------------------------------------------
# Instructions
# ----------------------------------------------------------------------------------------------

class Insn:
    """One instruction: op name plus operand fields (ints).  ``Insn("add", rd=10, rs1=11, rs2=12)``."""

    __slots__ = ("op", "a")

    def __init__(self, op: str, **a: int):
        if op not in OPS:
            raise EncodeError(f"unknown op {op!r}")
        self.op = op
        self.a = a

    @property
    def spec(self) -> OpSpec:
        return OPS[self.op]

    @property
    def size(self) -> int:
        return OPS[self.op].size

    def check(self) -> None:
        spec = self.spec
        want = {f for f, _ in spec.operands}
        if set(self.a) != want:
            raise EncodeError(f"{self.op}: operands {sorted(self.a)} != {sorted(want)}")
        for f, k in spec.operands:
            if not KINDS[k].valid(self.a[f]):
                raise EncodeError(f"{self.op}: {f}={self.a[f]!r} is not a valid {k}")

    def encode(self) -> int:
        self.check()
        v = self.spec.enc(self.a)
        _check_bits(v, 8 * self.size, self.op)
        return v

    def to_bytes(self) -> bytes:
        return self.encode().to_bytes(self.size, "little")

    def text(self) -> str:
        spec = self.spec
        s = {}
        for f, k in spec.operands:
            fm = FORMATTERS.get(k, str)
            s[f] = fm(self.a[f])
        s["_aq"] = self.a.get("aq", 0)
        s["_rl"] = self.a.get("rl", 0)
        name = spec.text_hook(s) if spec.text_hook else spec.name
        ops = spec.template.format(**s)
        return f"{name} {ops}" if ops else name

    def __repr__(self) -> str:
        return f"Insn({self.text()!r})"

    # register usage, for the generator ------------------------------------------------------
    def writes(self) -> List[Tuple[str, int]]:
        """Registers written, as (regfile, number); implicit ones (sp, ra) included."""
        op, a = self.op, self.a
        spec = self.spec
        out = []
        if "rd" in a and op not in ("c.jr", "c.jalr"):
            out.append((spec.regfile["rd"], a["rd"]))
        if op == "c.jalr":
            out.append(("x", 1))
        if op in ("c.addi16sp",):
            out.append(("x", 2))
        return out


def encode_all(insns: List[Insn]) -> bytes:
    return b"".join(i.to_bytes() for i in insns)


def random_insn(op: str, rng: random.Random) -> Insn:
    """An instance of op with operands drawn over the op's whole valid encoding space."""
    return Insn(op, **OPS[op].random_operands(rng))
