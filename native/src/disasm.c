/* disasm.c — the disassembler: op names, register names, and wb_insn -> text.
 *
 * Output follows GNU objdump's operand order and number style, without pseudo-instruction
 * aliases and with ", " between operands: "addi a0, sp, 16", "ld ra, 8(sp)",
 * "beq a0, zero, 0x10a3c" (absolute target), "lui a0, 0x12345", "slli a0, a0, 0x3",
 * "csrrs a0, fflags, zero", "fadd.d fa0, fa1, fa2, rtz" (rounding mode only when not dynamic),
 * "amoadd.w.aqrl a0, a1, (a2)", "fence iorw, iorw". Compressed instructions print as the base
 * instruction they expand to. How each op prints is chosen by its FORMAT in ops.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "decode.h"

enum fmt {
#define FMT_ENUM(name) FMT_##name,
  FMT_ENUM(R) FMT_ENUM(I) FMT_ENUM(SH) FMT_ENUM(LD) FMT_ENUM(ST) FMT_ENUM(B) FMT_ENUM(U)
  FMT_ENUM(J) FMT_ENUM(JR) FMT_ENUM(CSR) FMT_ENUM(CSRI) FMT_ENUM(AMO) FMT_ENUM(LR)
  FMT_ENUM(FLD) FMT_ENUM(FST) FMT_ENUM(FR) FMT_ENUM(FR4) FMT_ENUM(FR1) FMT_ENUM(FRM)
  FMT_ENUM(FRM1) FMT_ENUM(FCMP) FMT_ENUM(FX) FMT_ENUM(XF) FMT_ENUM(FCVTI) FMT_ENUM(FCVTF)
  FMT_ENUM(N) FMT_ENUM(FENCE) FMT_ENUM(WP)
#undef FMT_ENUM
};

static const char *const op_names[WB_OP_COUNT] = {
#define OP_NAME(name, mn, fmt) mn,
  WB_OPS(OP_NAME)
#undef OP_NAME
};

static const unsigned char op_fmts[WB_OP_COUNT] = {
#define OP_FMT(name, mn, fmt) FMT_##fmt,
  WB_OPS(OP_FMT)
#undef OP_FMT
};

static const char *const xreg_names[32] = {
  "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
  "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static const char *const freg_names[32] = {
  "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1",
  "fa2", "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7",
  "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
};

/* Rounding-mode names by rm; 5 and 6 are reserved (the executor rejects them). */
static const char *const rm_names[8] = {"rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"};

static const struct {
  uint16_t num;
  const char *name;
} csr_names[] = {
  {0x001, "fflags"},   {0x002, "frm"},      {0x003, "fcsr"},
  {0xc00, "cycle"},    {0xc01, "time"},     {0xc02, "instret"},
  {0x100, "sstatus"},  {0x104, "sie"},      {0x105, "stvec"},    {0x140, "sscratch"},
  {0x141, "sepc"},     {0x142, "scause"},   {0x143, "stval"},    {0x144, "sip"},
  {0x180, "satp"},
  {0x300, "mstatus"},  {0x301, "misa"},     {0x302, "medeleg"},  {0x303, "mideleg"},
  {0x304, "mie"},      {0x305, "mtvec"},    {0x340, "mscratch"}, {0x341, "mepc"},
  {0x342, "mcause"},   {0x343, "mtval"},    {0x344, "mip"},      {0xf14, "mhartid"},
};

const char *wb_op_name(unsigned op) { return op < WB_OP_COUNT ? op_names[op] : "?"; }
const char *wb_xreg_name(unsigned r) { return r < 32 ? xreg_names[r] : "?"; }
const char *wb_freg_name(unsigned r) { return r < 32 ? freg_names[r] : "?"; }

/* ---- output buffer ------------------------------------------------------------------------ */

typedef struct out {
  char *buf;
  size_t n, len; /* capacity, characters written so far (never more than n - 1) */
} out;

static void put(out *o, const char *fmt, ...) {
  if (o->n == 0 || o->len + 1 >= o->n) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
  va_end(ap);
  if (k > 0) o->len += (size_t)k < o->n - o->len ? (size_t)k : o->n - o->len - 1;
}

static void put_csr(out *o, int64_t csr) {
  for (size_t i = 0; i < sizeof csr_names / sizeof csr_names[0]; i++) {
    if (csr_names[i].num == csr) {
      put(o, "%s", csr_names[i].name);
      return;
    }
  }
  put(o, "0x%llx", (unsigned long long)csr);
}

static void put_rm(out *o, unsigned rm) {
  if (rm != 7) put(o, ", %s", rm_names[rm & 7]);
}

/* fcvt.d.s, fcvt.d.w and fcvt.d.wu are exact, so their rm field cannot matter; assemblers
 * encode it as 0 (rne), which, like GNU objdump, we do not print. */
static int rm_is_moot(unsigned op, unsigned rm) {
  return rm == 0 && (op == WB_OP_FCVT_D_S || op == WB_OP_FCVT_D_W || op == WB_OP_FCVT_D_WU);
}

/* FENCE predecessor/successor set: "iorw" letters, "0" for the empty set. */
static void put_fence_set(out *o, unsigned set) {
  if (set == 0) {
    put(o, "0");
    return;
  }
  put(o, "%s%s%s%s", set & 8 ? "i" : "", set & 4 ? "o" : "", set & 2 ? "r" : "",
      set & 1 ? "w" : "");
}

static const char *aqrl_suffix(unsigned rm) {
  static const char *const s[4] = {"", ".rl", ".aq", ".aqrl"};
  return s[rm & 3];
}

/* ---- formatting --------------------------------------------------------------------------- */

int wb_disasm(const wb_insn *x, uint64_t pc, char *buf, size_t n) {
  out o = {buf, n, 0};
  if (n) buf[0] = '\0';
  unsigned op = x->op;
  if (op >= WB_OP_COUNT || op == WB_OP_ILLEGAL) {
    put(&o, "illegal");
    return (int)o.len;
  }
  const char *mn = op_names[op];
  const char *rd = wb_xreg_name(x->rd), *rs1 = wb_xreg_name(x->rs1), *rs2 = wb_xreg_name(x->rs2);
  const char *frd = wb_freg_name(x->rd), *frs1 = wb_freg_name(x->rs1);
  const char *frs2 = wb_freg_name(x->rs2), *frs3 = wb_freg_name(x->rs3);
  long long imm = (long long)x->imm;
  unsigned long long target = (unsigned long long)(pc + (uint64_t)x->imm);

  if (op == WB_OP_SFENCE_VMA) { /* listed as R, but has no rd */
    put(&o, "%s %s, %s", mn, rs1, rs2);
    return (int)o.len;
  }
  switch (op_fmts[op]) {
    case FMT_R: put(&o, "%s %s, %s, %s", mn, rd, rs1, rs2); break;
    case FMT_WP: put(&o, "%s %s, %s, %s, %lld", mn, rd, rs1, rs2, imm); break;
    case FMT_I: put(&o, "%s %s, %s, %lld", mn, rd, rs1, imm); break;
    case FMT_SH: put(&o, "%s %s, %s, 0x%llx", mn, rd, rs1, (unsigned long long)x->imm); break;
    case FMT_LD: put(&o, "%s %s, %lld(%s)", mn, rd, imm, rs1); break;
    case FMT_ST: put(&o, "%s %s, %lld(%s)", mn, rs2, imm, rs1); break;
    case FMT_B: put(&o, "%s %s, %s, 0x%llx", mn, rs1, rs2, target); break;
    case FMT_U:
      put(&o, "%s %s, 0x%llx", mn, rd, (unsigned long long)(((uint64_t)x->imm >> 12) & 0xfffff));
      break;
    case FMT_J: put(&o, "%s %s, 0x%llx", mn, rd, target); break;
    case FMT_JR: put(&o, "%s %s, %lld(%s)", mn, rd, imm, rs1); break;
    case FMT_CSR:
      put(&o, "%s %s, ", mn, rd);
      put_csr(&o, x->imm);
      put(&o, ", %s", rs1);
      break;
    case FMT_CSRI:
      put(&o, "%s %s, ", mn, rd);
      put_csr(&o, x->imm);
      put(&o, ", %u", (unsigned)x->rs1);
      break;
    case FMT_AMO: put(&o, "%s%s %s, %s, (%s)", mn, aqrl_suffix(x->rm), rd, rs2, rs1); break;
    case FMT_LR: put(&o, "%s%s %s, (%s)", mn, aqrl_suffix(x->rm), rd, rs1); break;
    case FMT_FLD: put(&o, "%s %s, %lld(%s)", mn, frd, imm, rs1); break;
    case FMT_FST: put(&o, "%s %s, %lld(%s)", mn, frs2, imm, rs1); break;
    case FMT_FR: put(&o, "%s %s, %s, %s", mn, frd, frs1, frs2); break;
    case FMT_FRM: put(&o, "%s %s, %s, %s", mn, frd, frs1, frs2); put_rm(&o, x->rm); break;
    case FMT_FR4:
      put(&o, "%s %s, %s, %s, %s", mn, frd, frs1, frs2, frs3);
      put_rm(&o, x->rm);
      break;
    case FMT_FR1: put(&o, "%s %s, %s", mn, frd, frs1); break;
    case FMT_FRM1:
      put(&o, "%s %s, %s", mn, frd, frs1);
      if (!rm_is_moot(op, x->rm)) put_rm(&o, x->rm);
      break;
    case FMT_FCMP: put(&o, "%s %s, %s, %s", mn, rd, frs1, frs2); break;
    case FMT_FX: put(&o, "%s %s, %s", mn, rd, frs1); break;
    case FMT_XF: put(&o, "%s %s, %s", mn, frd, rs1); break;
    case FMT_FCVTI: put(&o, "%s %s, %s", mn, rd, frs1); put_rm(&o, x->rm); break;
    case FMT_FCVTF:
      put(&o, "%s %s, %s", mn, frd, rs1);
      if (!rm_is_moot(op, x->rm)) put_rm(&o, x->rm);
      break;
    case FMT_N: put(&o, "%s", mn); break;
    case FMT_FENCE: {
      unsigned fm = (unsigned)(x->imm >> 8) & 15, pred = (unsigned)(x->imm >> 4) & 15;
      unsigned succ = (unsigned)x->imm & 15;
      if (fm == 8 && pred == 3 && succ == 3) { /* FENCE.TSO: fm = 1000, rw, rw */
        put(&o, "fence.tso");
        break;
      }
      put(&o, "%s ", mn);
      put_fence_set(&o, pred);
      put(&o, ", ");
      put_fence_set(&o, succ);
      break;
    }
    default: put(&o, "%s ?", mn); break;
  }
  return (int)o.len;
}

int wb_disasm_raw(uint32_t raw, uint64_t pc, char *buf, size_t n) {
  wb_insn x;
  wb_decode(raw, &x);
  return wb_disasm(&x, pc, buf, n);
}
