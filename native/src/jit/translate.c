/* translate.c — the JIT's per-instruction translators: one guest block -> x86-64 code.
 *
 * Layout of a translated block:
 *   entry:  sub r15, n ; js limit-stub                       (count the block, check limits)
 *           [profiling phase: add qword [counter], 1]
 *   insn 0 .. insn n-1                                       (hoff[i] = where insn i starts)
 *   [jmp fall-through exit]
 *   stubs:  cold exits to the dispatcher (limit, chained-exit targets not yet translated,
 *           indirect-jump misses, ecall, out-of-range access, slow-path stops)
 *
 * Conventions in translated code: rbp = &hart + JIT_BIAS, rbx = guest memory view base,
 * r15 = hart.jit_left (stored to memory around calls, so C helpers and signal handlers can
 * ask for an exit by making it negative), guest registers of J->map in host registers, the
 * rest in hart.x (x0 reads as the 0 in hart.x[0]; writes to x0 go to the sink x[32]).
 * rax, rcx, rdx are scratch.
 *
 * Precise state: every translator reads its operands, performs its one guest memory access
 * (which may fault), and only then writes its destination, so a host fault inside a guest
 * access leaves the guest state exactly as before that instruction. F/D arithmetic calls the
 * fpu.c functions the interpreter uses (double precision with an inline fast path for the
 * common cases); operations without a translation (CSRs, atomics, ebreak, privileged and
 * illegal instructions) spill the mapped registers and run through the interpreter
 * (wb_jit_slow), which is the reference semantics and raises their traps.
 */
#include <stdlib.h>
#include <string.h>
#include "jit_internal.h"
#include "decode.h"
#include "fpu.h"
#include "interp.h"
#include "client.h"
#include "tctx.h"

#if WB_HAVE_JIT

void wb_tx_add_stub(tctx *t, uint8_t *field, int kind, uint64_t pc, int reg, int restore) {
  if (t->nstubs >= MAX_STUBS) { t->full = 1; return; }
  t->stubs[t->nstubs++] = (stub){field, kind, pc, t->i, reg, restore, NULL, 0};
}

/* ---- guest register access ---- */
/* `op host, guest r` (op in r, r/m form) */
/* Store forwarding: the host register an in-memory guest register was just stored from, if
 * nothing has been emitted since (so it still holds the value), else -1. */
static int forwarded(tctx *t, unsigned r) {
  return t->fwd_reg == (int)r && t->b.p == t->fwd_end ? t->fwd_host : -1;
}
static void op_g(tctx *t, int flags, uint8_t op, int h, unsigned r) {
  int f = hreg(t, r) >= 0 ? hreg(t, r) : forwarded(t, r);
  if (f >= 0) x_rr(&t->b, flags, op, h, f);
  else x_rm(&t->b, flags, op, h, X_RBP, JDX(r));
}
/* host = guest r */
void wb_tx_ld(tctx *t, int h, unsigned r) {
  if (hreg(t, r) == h || forwarded(t, r) == h) return;
  op_g(t, XW, XA_MOV, h, r);
}
/* guest r = host (writes to x0 go to the sink) */
static void st(tctx *t, unsigned r, int h) {
  if (r == 0) r = WB_XSINK;
  else t->checked &= ~(1u << r);
  int g = hreg(t, r);
  if (g == h) return;
  if (g >= 0) x_rr(&t->b, XW, XA_MOV, g, h);
  else {
    x_rm(&t->b, XW, 0x89, h, X_RBP, JDX(r));
    t->fwd_reg = (int)r;
    t->fwd_host = h;
    t->fwd_end = t->b.p;
  }
}
/* Where to compute rd: its host register, unless that is also an operand read later. */
static int dest(tctx *t, unsigned rd, int avoid) {
  int h = rd ? hreg(t, rd) : -1;
  if (h < 0 || (avoid >= 0 && (unsigned)avoid == rd)) return X_RAX;
  return h;
}

/* ---- mapped registers around calls ---- */
void wb_tx_spill_all(tctx *t) {
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&t->b, XW, 0x89, t->J->hregs[k], X_RBP, JDX(t->J->gregs[k]));
}
void wb_tx_reload_all(tctx *t) {
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&t->b, XW, XA_MOV, t->J->hregs[k], X_RBP, JDX(t->J->gregs[k]));
}

wb_jit_exit *wb_tx_new_exit(tctx *t, int kind, uint64_t pc, unsigned idx) {
  wb_jit_exit *e = wb_jit_meta_alloc(t->J, sizeof *e);
  if (!e) { t->full = 1; return NULL; }
  memset(e, 0, sizeof *e);
  e->kind = (uint16_t)kind;
  e->pc = pc;
  e->idx = (uint16_t)idx;
  e->rollback = (uint16_t)(t->n - idx);
  e->generation = t->J->generation;
  return e;
}

/* ---- exits ---- */
/* A direct exit is chained (patched) to its successor's code. In system mode a chain within
 * the block's own virtual page holds for good (the page maps as a whole); an exit to another
 * page stores pc and probes the jump table, and is chained too, but listed (J->xchains):
 * that page may map elsewhere after a satp write or sfence.vma, or its code change, and
 * every unchain then points the exit back at its stub. */
static void exit_direct(tctx *t, uint8_t *field, uint64_t target) {
  if (t->J->sys && (target >> 12) != (t->block_pc >> 12))
    wb_tx_add_stub(t, field, JX_INDIRECT, target, 1, 0);
  else
    wb_tx_add_stub(t, field, JX_DIRECT, target, -1, 0);
}
static void jmp_exit(tctx *t, int kind, uint64_t pc) {
  wb_tx_add_stub(t, x_jmp32(&t->b), kind, pc, -1, 0);
}

/* Slow path: the interpreter executes this one instruction on the spilled state. */
static void slow(tctx *t) {
  wb_jit_exit *e = wb_tx_new_exit(t, JX_STOP, t->pc, t->i);
  if (!e) return;
  e->rollback = (uint16_t)(t->n - t->i);
  e->amount = t->end_pc - t->pc;   /* its length: a trap it took goes elsewhere (wb_jit_slow) */
  if (t->mirror == TX_MIRROR_CHOSEN) e->ptr = JIT_SLOW_MIRROR;   /* a mirrored atomic: hart.jit_base */
  t->checked = 0; /* the interpreter may write any register */
  wb_tx_spill_all(t);
  x_rm(&t->b, XW, 0x89, X_LEFT, X_RBP, JD(jit_left));
  x_rm(&t->b, XW, 0x8d, X_RDI, X_RBP, -JIT_BIAS); /* lea: the hart */
  x_mov_imm(&t->b, X_RSI, (uint64_t)(uintptr_t)e);
  x_mov_imm(&t->b, X_RAX, (uint64_t)(uintptr_t)wb_jit_slow);
  x_call_reg(&t->b, X_RAX);
  wb_tx_reload_all(t);
  x_rm(&t->b, XW, XA_MOV, X_LEFT, X_RBP, JD(jit_left));
  x_rr(&t->b, 0, XA_TEST, X_RAX, X_RAX);
  wb_tx_add_stub(t, x_jcc32(&t->b, CC_NE), JX_STOP, t->pc, -1, 0);
}

/* ---- F/D operations: direct calls of fpu.c (the functions the interpreter calls) ----
 * Arguments: FP sources from hart.f, an integer source from its guest register, the rounding
 * mode resolved inline (a dynamic one from frm; an invalid one leaves the block so the
 * interpreter reports the illegal instruction), fflags by pointer. Only the caller-saved host
 * registers holding guest registers are parked around the call. */
enum { FPC_BIN, FPC_TRI, FPC_UN, FPC_TOI, FPC_TOF, FPC_NORM, FPC_CMP, FPC_SGN, FPC_CLASS };
typedef struct { void *fn; uint8_t cls; } fp_op;

static fp_op fp_lookup(unsigned op) {
  switch (op) {
#define C(O, fn, cls) case WB_OP_##O: return (fp_op){(void *)wb_##fn, cls};
    C(FMADD_S, fmadd_s, FPC_TRI) C(FMSUB_S, fmsub_s, FPC_TRI) C(FNMSUB_S, fnmsub_s, FPC_TRI)
    C(FNMADD_S, fnmadd_s, FPC_TRI) C(FADD_S, fadd_s, FPC_BIN) C(FSUB_S, fsub_s, FPC_BIN)
    C(FMUL_S, fmul_s, FPC_BIN) C(FDIV_S, fdiv_s, FPC_BIN) C(FSQRT_S, fsqrt_s, FPC_UN)
    C(FSGNJ_S, fsgnj_s, FPC_SGN) C(FSGNJN_S, fsgnjn_s, FPC_SGN) C(FSGNJX_S, fsgnjx_s, FPC_SGN)
    C(FMIN_S, fmin_s, FPC_NORM) C(FMAX_S, fmax_s, FPC_NORM)
    C(FCVT_W_S, fcvt_w_s, FPC_TOI) C(FCVT_WU_S, fcvt_wu_s, FPC_TOI) C(FCVT_L_S, fcvt_l_s, FPC_TOI)
    C(FCVT_LU_S, fcvt_lu_s, FPC_TOI)
    C(FEQ_S, feq_s, FPC_CMP) C(FLT_S, flt_s, FPC_CMP) C(FLE_S, fle_s, FPC_CMP)
    C(FCLASS_S, fclass_s, FPC_CLASS)
    C(FCVT_S_W, fcvt_s_w, FPC_TOF) C(FCVT_S_WU, fcvt_s_wu, FPC_TOF) C(FCVT_S_L, fcvt_s_l, FPC_TOF)
    C(FCVT_S_LU, fcvt_s_lu, FPC_TOF)
    C(FMADD_D, fmadd_d, FPC_TRI) C(FMSUB_D, fmsub_d, FPC_TRI) C(FNMSUB_D, fnmsub_d, FPC_TRI)
    C(FNMADD_D, fnmadd_d, FPC_TRI) C(FADD_D, fadd_d, FPC_BIN) C(FSUB_D, fsub_d, FPC_BIN)
    C(FMUL_D, fmul_d, FPC_BIN) C(FDIV_D, fdiv_d, FPC_BIN) C(FSQRT_D, fsqrt_d, FPC_UN)
    C(FSGNJ_D, fsgnj_d, FPC_SGN) C(FSGNJN_D, fsgnjn_d, FPC_SGN) C(FSGNJX_D, fsgnjx_d, FPC_SGN)
    C(FMIN_D, fmin_d, FPC_NORM) C(FMAX_D, fmax_d, FPC_NORM)
    C(FCVT_S_D, fcvt_s_d, FPC_UN) C(FCVT_D_S, fcvt_d_s, FPC_UN)
    C(FEQ_D, feq_d, FPC_CMP) C(FLT_D, flt_d, FPC_CMP) C(FLE_D, fle_d, FPC_CMP)
    C(FCLASS_D, fclass_d, FPC_CLASS)
    C(FCVT_W_D, fcvt_w_d, FPC_TOI) C(FCVT_WU_D, fcvt_wu_d, FPC_TOI) C(FCVT_L_D, fcvt_l_d, FPC_TOI)
    C(FCVT_LU_D, fcvt_lu_d, FPC_TOI)
    C(FCVT_D_W, fcvt_d_w, FPC_TOF) C(FCVT_D_WU, fcvt_d_wu, FPC_TOF) C(FCVT_D_L, fcvt_d_l, FPC_TOF)
    C(FCVT_D_LU, fcvt_d_lu, FPC_TOF)
#undef C
    default: return (fp_op){NULL, 0};
  }
}


static void fp_call(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  fp_op f = fp_lookup(in->op);
  if (!f.fn) { slow(t); return; }
  int rounds = f.cls == FPC_BIN || f.cls == FPC_TRI || f.cls == FPC_UN || f.cls == FPC_TOI || f.cls == FPC_TOF;
  if (rounds && in->rm > 4 && in->rm != WB_RM_DYN) { slow(t); return; } /* illegal: reported there */
  int int_rd = f.cls == FPC_TOI || f.cls == FPC_CMP || f.cls == FPC_CLASS;
  int rm_reg = f.cls == FPC_TRI ? X_RCX : f.cls == FPC_BIN ? X_RDX : X_RSI;
  if (rounds && in->rm == WB_RM_DYN) {     /* frm, checked before anything is disturbed */
    x_rm(b, 0, XA_MOV, X_RAX, X_RBP, JD(frm));
    x_alu_imm(b, 0, XA_CMP, 0, X_RAX, 0, 4);
    wb_tx_add_stub(t, x_jcc32(b, CC_A), JX_INTERP, t->pc, -1, 0);
  }
  for (int k = 0; k < JIT_NMAP; k++)
    if (caller_saved(t->J->hregs[k])) x_rm(b, XW, 0x89, t->J->hregs[k], X_RBP, JDX(t->J->gregs[k]));
  /* first argument; the host registers still hold their guest values (only stored so far) */
  if (f.cls == FPC_TOF) wb_tx_ld(t, X_RDI, in->rs1);
  else x_rm(b, XW, XA_MOV, X_RDI, X_RBP, JDF(in->rs1));
  if (f.cls == FPC_BIN || f.cls == FPC_TRI || f.cls == FPC_NORM || f.cls == FPC_CMP || f.cls == FPC_SGN)
    x_rm(b, XW, XA_MOV, X_RSI, X_RBP, JDF(in->rs2));
  if (f.cls == FPC_TRI) x_rm(b, XW, XA_MOV, X_RDX, X_RBP, JDF(in->rs3));
  if (rounds) {
    if (in->rm == WB_RM_DYN) x_rr(b, XW, XA_MOV, rm_reg, X_RAX);
    else x_mov_imm(b, rm_reg, in->rm);
  }
  /* fflags pointer: after rm for BIN (rcx), TRI (r8), UN/TOI/TOF (rdx), NORM/CMP (rdx) */
  int ffreg = f.cls == FPC_TRI ? X_R8 : f.cls == FPC_BIN ? X_RCX : X_RDX;
  if (f.cls != FPC_SGN && f.cls != FPC_CLASS) x_rm(b, XW, 0x8d, ffreg, X_RBP, JD(fflags));
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)f.fn);
  x_call_reg(b, X_RAX);
  unsigned rd = in->rd;
  if (int_rd) {
    t->checked &= ~(1u << rd);
    if (rd == 0) rd = WB_XSINK;
    /* into memory if a caller-saved register holds it (the reload below picks it up) */
    if (hreg(t, rd) < 0 || caller_saved(hreg(t, rd))) x_rm(b, XW, 0x89, X_RAX, X_RBP, JDX(rd));
    else x_rr(b, XW, XA_MOV, hreg(t, rd), X_RAX);
  } else {
    x_rm(b, XW, 0x89, X_RAX, X_RBP, JDF(in->rd));
  }
  for (int k = 0; k < JIT_NMAP; k++)
    if (caller_saved(t->J->hregs[k])) x_rm(b, XW, XA_MOV, t->J->hregs[k], X_RBP, JDX(t->J->gregs[k]));
}

/* ---- inline double precision: fpu.c's "hardfloat" fast path, in host code ----
 * fadd/fsub/fmul/fdiv.d in round-to-nearest-even with NX already accrued, normal operands
 * and a result above the smallest normal can raise nothing but NX, so the host's SSE result
 * is the answer and fflags do not change (the same conditions fpu.c's fast path uses);
 * comparisons of non-NaN operands raise nothing; int -> double conversions that are exact
 * raise nothing. Anything else falls to the call. */

/* rax = biased exponent of the double in hart.f[r] minus lo; jump to `slow` if it is not in
 * [lo, hi] */
static void exp_check(tctx *t, int reg_from_mem, unsigned r, unsigned lo, unsigned hi, uint8_t **slow, int *ns) {
  x86_buf *b = &t->b;
  if (reg_from_mem) x_rm(b, XW, XA_MOV, X_RAX, X_RBP, JDF(r));
  x_shift_imm(b, XW, 4, X_RAX, 1);                 /* drop the sign */
  x_shift_imm(b, XW, 5, X_RAX, 53);                /* the exponent */
  x_alu_imm(b, 0, XA_SUB, 0, X_RAX, 0, (int32_t)lo);
  x_alu_imm(b, 0, XA_CMP, 0, X_RAX, 0, (int32_t)(hi - lo));
  slow[(*ns)++] = x_jcc32(b, CC_A);
}

static int fp_inline(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  uint8_t sse = 0;
  int cmp = 0, cvt = 0;
  switch (in->op) {
    case WB_OP_FADD_D: sse = 0x58; break;
    case WB_OP_FSUB_D: sse = 0x5c; break;
    case WB_OP_FMUL_D: sse = 0x59; break;
    case WB_OP_FDIV_D: sse = 0x5e; break;
    case WB_OP_FEQ_D: case WB_OP_FLT_D: case WB_OP_FLE_D: cmp = 1; break;
    case WB_OP_FCVT_D_L: case WB_OP_FCVT_D_W: cvt = 1; break;
    default: return 0;
  }
  uint8_t *slow[8];
  int ns = 0;
  if (sse || cvt) {
    if (in->rm != WB_RM_RNE && in->rm != WB_RM_DYN) return 0;
    if (in->rm == WB_RM_DYN) {
      x_alu_imm(b, 0, XA_CMP, 1, X_RBP, JD(frm), 0);
      slow[ns++] = x_jcc32(b, CC_NE);
    }
  }
  if (sse) {
    uint8_t op = 0xf6;                              /* test byte [fflags], NX */
    x_op(b, 0, &op, 1, 0, 1, X_RBP, X_NOINDEX, JD(fflags));
    x_b(b, 1);
    slow[ns++] = x_jcc32(b, CC_E);
    exp_check(t, 1, in->rs1, 1, 0x7fe, slow, &ns);
    exp_check(t, 1, in->rs2, 1, 0x7fe, slow, &ns);
    x_sse_m(b, 0xf2, 0x10, 0, X_RBP, JDF(in->rs1)); /* movsd xmm0, a */
    x_sse_m(b, 0xf2, sse, 0, X_RBP, JDF(in->rs2));  /* op xmm0, b */
    x_movq_r_x(b, X_RCX, 0);
    x_rr(b, XW, XA_MOV, X_RAX, X_RCX);
    exp_check(t, 0, 0, 2, 0x7fe, slow, &ns);        /* above the smallest normal, finite */
    x_rm(b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
  } else if (cmp) {
    exp_check(t, 1, in->rs1, 0, 0x7fe, slow, &ns);  /* no NaN (nor infinity) */
    exp_check(t, 1, in->rs2, 0, 0x7fe, slow, &ns);
    x_sse_m(b, 0xf2, 0x10, 0, X_RBP, JDF(in->rs1));
    x_sse_m(b, 0x66, 0x2f, 0, X_RBP, JDF(in->rs2)); /* comisd xmm0, b */
    int cc = in->op == WB_OP_FEQ_D ? CC_E : in->op == WB_OP_FLT_D ? CC_B : CC_BE;
    x_setcc(b, cc, X_RAX);
    st(t, in->rd, X_RAX);
  } else {
    /* int -> double: exact when converting back gives the same integer (.w: always) */
    if (in->op == WB_OP_FCVT_D_W) { op_g(t, 0, XA_MOV, X_RAX, in->rs1); x_rr(b, XW, 0x63, X_RAX, X_RAX); }
    else wb_tx_ld(t, X_RAX, in->rs1);
    x_cvtsi2sd(b, 0, X_RAX);
    if (in->op == WB_OP_FCVT_D_L) {
      x_mov_imm(b, X_RCX, 1ull << 53);
      x_rr(b, XW, XA_ADD, X_RCX, X_RAX);            /* rcx = x + 2^53 */
      x_mov_imm(b, X_RDX, 1ull << 54);
      x_rr(b, XW, XA_CMP, X_RCX, X_RDX);
      slow[ns++] = x_jcc32(b, CC_AE);               /* |x| > 2^53: may round */
    }
    x_movq_r_x(b, X_RCX, 0);
    x_rm(b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
  }
  uint8_t *done = x_jmp32(b);
  for (int k = 0; k < ns; k++) x_fix32(slow[k], b->p);
  fp_call(t, in);
  x_fix32(done, b->p);
  return 1;
}

/* fsgnj.d rd, rs, rs (fmv.d), fsgnjn.d (fneg.d), fsgnjx.d (fabs.d): bit operations */
static int fp_sign_same(tctx *t, const wb_insn *in) {
  if (in->rs1 != in->rs2) return 0;
  x86_buf *b = &t->b;
  x_rm(b, XW, XA_MOV, X_RCX, X_RBP, JDF(in->rs1));
  if (in->op == WB_OP_FSGNJN_D) { x_mov_imm(b, X_RDX, 1ull << 63); x_rr(b, XW, XA_XOR, X_RCX, X_RDX); }
  else if (in->op == WB_OP_FSGNJX_D) { x_mov_imm(b, X_RDX, ~(1ull << 63)); x_rr(b, XW, XA_AND, X_RCX, X_RDX); }
  x_rm(b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
  return 1;
}

static void load(tctx *t, const wb_insn *in, int flags, const uint8_t *op, int nop) {
  wb_tx_addr a = wb_tx_mem(t, in->rs1, in->imm);
  int d = in->rd ? hreg(t, in->rd) : -1;
  if (d < 0) d = X_RCX;
  x_op(&t->b, flags, op, nop, d, 1, a.base, a.index, a.disp);
  st(t, in->rd, d);
}

static void store(tctx *t, const wb_insn *in, int flags, uint8_t op) {
  wb_tx_addr a = wb_tx_mem(t, in->rs1, in->imm);
  int s = hreg(t, in->rs2);
  if (s < 0) { wb_tx_ld(t, X_RCX, in->rs2); s = X_RCX; }
  x_op(&t->b, flags, &op, 1, s, 1, a.base, a.index, a.disp);
}

/* rd = rs1 op rs2 (op in r, r/m form); w: 64-bit (else 32-bit, sign-extended) */
static void alu_rr(tctx *t, const wb_insn *in, uint8_t op, int commutative, int w) {
  unsigned rs1 = in->rs1, rs2 = in->rs2;
  /* moves in disguise: add/or/xor with x0 (c.mv is add rd, x0, rs), sub rs - x0 */
  if (w && (op == XA_ADD || op == XA_OR || op == XA_XOR || op == XA_SUB) && (rs2 == 0 || (rs1 == 0 && op != XA_SUB))) {
    unsigned src = rs2 == 0 ? rs1 : rs2;
    int d = dest(t, in->rd, -1);
    wb_tx_ld(t, d, src);
    st(t, in->rd, d);
    return;
  }
  if (commutative && in->rd == rs2 && in->rd != rs1) { rs2 = rs1; rs1 = in->rd; }
  int d = dest(t, in->rd, (int)rs2);
  wb_tx_ld(t, d, rs1);
  op_g(t, w ? XW : 0, op, d, rs2);
  if (!w) x_rr(&t->b, XW, 0x63, d, d);                 /* movsxd */
  st(t, in->rd, d);
}

/* rd = rs1 op imm */
static void alu_ri(tctx *t, const wb_insn *in, uint8_t op, int w) {
  int d = dest(t, in->rd, -1);
  wb_tx_ld(t, d, in->rs1);
  if (in->imm || op == XA_AND) x_alu_imm(&t->b, w ? XW : 0, op, 0, d, 0, (int32_t)in->imm);
  if (!w) x_rr(&t->b, XW, 0x63, d, d);
  st(t, in->rd, d);
}

static void addi(tctx *t, const wb_insn *in) {
  int d = dest(t, in->rd, -1);
  int s = hreg(t, in->rs1);
  if (in->rs1 == 0) x_mov_imm(&t->b, d, (uint64_t)in->imm);
  else if (s >= 0 && s != d && in->imm) x_rm(&t->b, XW, 0x8d, d, s, (int32_t)in->imm);
  else {
    wb_tx_ld(t, d, in->rs1);
    if (in->imm) x_alu_imm(&t->b, XW, XA_ADD, 0, d, 0, (int32_t)in->imm);
  }
  st(t, in->rd, d);
}

static void shift_imm(tctx *t, const wb_insn *in, int digit, int w) {
  int d = dest(t, in->rd, -1);
  wb_tx_ld(t, d, in->rs1);
  unsigned sh = (unsigned)in->imm & (w ? 63 : 31);
  if (sh || !w) x_shift_imm(&t->b, w ? XW : 0, digit, d, sh);
  if (!w) x_rr(&t->b, XW, 0x63, d, d);
  st(t, in->rd, d);
}

static void shift_reg(tctx *t, const wb_insn *in, int digit, int w) {
  op_g(t, 0, XA_MOV, X_RCX, in->rs2);                  /* mov ecx, rs2 (count in cl) */
  int d = dest(t, in->rd, -1);
  wb_tx_ld(t, d, in->rs1);
  x_shift_cl(&t->b, w ? XW : 0, digit, d);
  if (!w) x_rr(&t->b, XW, 0x63, d, d);
  st(t, in->rd, d);
}

/* rd = (rs1 cmp rs2) via setcc */
static void setcc_rr(tctx *t, const wb_insn *in, int cc) {
  int a = hreg(t, in->rs1);
  if (a < 0) { wb_tx_ld(t, X_RAX, in->rs1); a = X_RAX; }
  op_g(t, XW, XA_CMP, a, in->rs2);
  x_setcc(&t->b, cc, X_RDX);
  st(t, in->rd, X_RDX);
}
static void setcc_ri(tctx *t, const wb_insn *in, int cc) {
  int a = hreg(t, in->rs1);
  if (a < 0) { wb_tx_ld(t, X_RAX, in->rs1); a = X_RAX; }
  x_alu_imm(&t->b, XW, XA_CMP, 0, a, 0, (int32_t)in->imm);
  x_setcc(&t->b, cc, X_RDX);
  st(t, in->rd, X_RDX);
}

static void mul(tctx *t, const wb_insn *in, int w) {
  unsigned rs1 = in->rs1, rs2 = in->rs2;
  if (in->rd == rs2 && in->rd != rs1) { rs2 = rs1; rs1 = in->rd; }
  int d = dest(t, in->rd, (int)rs2);
  wb_tx_ld(t, d, rs1);
  uint8_t op[2] = {0x0f, 0xaf};
  if (hreg(t, rs2) >= 0) x_op(&t->b, w ? XW : 0, op, 2, d, 0, hreg(t, rs2), X_NOINDEX, 0);
  else x_op(&t->b, w ? XW : 0, op, 2, d, 1, X_RBP, X_NOINDEX, JDX(rs2));
  if (!w) x_rr(&t->b, XW, 0x63, d, d);
  st(t, in->rd, d);
}

/* one-operand group-3 op on guest rs2 (mul/imul: rdx:rax = rax * rs2) */
static void grp3_g(tctx *t, int digit, unsigned r) {
  uint8_t op = 0xf7;
  if (hreg(t, r) >= 0) x_op(&t->b, XW, &op, 1, digit, 0, hreg(t, r), X_NOINDEX, 0);
  else x_op(&t->b, XW, &op, 1, digit, 1, X_RBP, X_NOINDEX, JDX(r));
}

static void mulh(tctx *t, const wb_insn *in) {
  wb_tx_ld(t, X_RAX, in->rs1);
  switch (in->op) {
    case WB_OP_MULH: grp3_g(t, 5, in->rs2); break;
    case WB_OP_MULHU: grp3_g(t, 4, in->rs2); break;
    default: /* mulhsu: high(unsigned a*b) - (a < 0 ? b : 0) */
      grp3_g(t, 4, in->rs2);
      wb_tx_ld(t, X_RCX, in->rs1);
      x_shift_imm(&t->b, XW, 7, X_RCX, 63);
      op_g(t, XW, XA_AND, X_RCX, in->rs2);
      x_rr(&t->b, XW, XA_SUB, X_RDX, X_RCX);
  }
  st(t, in->rd, X_RDX);
}

/* div/rem with RISC-V's results for division by zero and overflow (no host #DE). */
static void divrem(tctx *t, const wb_insn *in) {
  int w = 1, sgn = 1, rem = 0;
  switch (in->op) {
    case WB_OP_DIV: break;
    case WB_OP_DIVU: sgn = 0; break;
    case WB_OP_REM: rem = 1; break;
    case WB_OP_REMU: sgn = 0; rem = 1; break;
    case WB_OP_DIVW: w = 0; break;
    case WB_OP_DIVUW: w = 0; sgn = 0; break;
    case WB_OP_REMW: w = 0; rem = 1; break;
    default: w = 0; sgn = 0; rem = 1; break;
  }
  int f = w ? XW : 0;
  x86_buf *b = &t->b;
  wb_tx_ld(t, X_RAX, in->rs1);
  wb_tx_ld(t, X_RCX, in->rs2);
  x_rr(b, f, XA_TEST, X_RCX, X_RCX);
  uint8_t *jz = x_jcc8(b, CC_E), *jm1 = NULL;
  if (sgn) {
    x_alu_imm(b, f, XA_CMP, 0, X_RCX, 0, -1);
    jm1 = x_jcc8(b, CC_E);
    if (w) { x_b(b, 0x48); x_b(b, 0x99); } else x_b(b, 0x99);   /* cqo / cdq */
    x_grp3(b, f, 7, X_RCX);                                      /* idiv */
  } else {
    x_rr(b, 0, XA_XOR, X_RDX, X_RDX);
    x_grp3(b, f, 6, X_RCX);                                      /* div */
  }
  if (rem) x_rr(b, XW, XA_MOV, X_RAX, X_RDX);
  uint8_t *jdone1 = x_jmp8(b);
  /* divisor 0: quotient all ones, remainder = dividend */
  x_fix8(jz, b->p);
  if (!rem) x_mov_imm(b, X_RAX, ~0ull);
  uint8_t *jdone2 = NULL;
  if (sgn) {
    jdone2 = x_jmp8(b);
    /* divisor -1: quotient = -dividend (wraps for the most negative), remainder 0 */
    x_fix8(jm1, b->p);
    if (rem) x_rr(b, 0, XA_XOR, X_RAX, X_RAX);
    else x_grp3(b, f, 3, X_RAX);                                 /* neg */
  }
  x_fix8(jdone1, b->p);
  if (jdone2) x_fix8(jdone2, b->p);
  if (!w) x_rr(b, XW, 0x63, X_RAX, X_RAX);                      /* sign-extend 32-bit results */
  st(t, in->rd, X_RAX);
}

static void branch(tctx *t, const wb_insn *in, int cc) {
  int a = hreg(t, in->rs1);
  if (in->rs2 == 0 && a >= 0) x_rr(&t->b, XW, XA_TEST, a, a);
  else if (in->rs2 == 0) x_alu_imm(&t->b, XW, XA_CMP, 1, X_RBP, JDX(in->rs1), 0);
  else {
    if (a < 0) { wb_tx_ld(t, X_RAX, in->rs1); a = X_RAX; }
    op_g(t, XW, XA_CMP, a, in->rs2);
  }
  exit_direct(t, x_jcc32(&t->b, cc), t->pc + (uint64_t)in->imm);
  exit_direct(t, x_jmp32(&t->b), t->end_pc);
}

static void jalr(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  /* the target: the source register itself when it needs no offset and survives the link */
  int tr = hreg(t, in->rs1);
  if (tr < 0 || in->imm || (in->rd && in->rd == in->rs1)) {
    wb_tx_ld(t, X_RAX, in->rs1);
    if (in->imm) x_alu_imm(b, XW, XA_ADD, 0, X_RAX, 0, (int32_t)in->imm);
    tr = X_RAX;
  }
  /* bit 0 of the target is not cleared here: the table holds only even pcs, so an odd
   * target misses and the dispatcher clears it */
  if (in->rd) {
    int d = hreg(t, in->rd) >= 0 ? hreg(t, in->rd) : X_RCX;
    x_mov_imm(b, d, t->end_pc);
    st(t, in->rd, d);
  }
  /* jump table probe: entry (pc >> 1) & mask, 16 bytes each */
  if (t->J->jc_low) {
    int32_t tab = (int32_t)(uintptr_t)t->J->jc;
    static const uint8_t cmp_op = 0x3b, jmp_op = 0xff;
    x_rr(b, 0, XA_MOV, X_RCX, tr);                                  /* ecx = pc & (mask << 1) */
    x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, (int32_t)((JIT_JC_SIZE - 1) << 1));
    x_op_abs_index(b, XW, &cmp_op, 1, tr, X_RCX, 3, tab);           /* cmp tr, [rcx*8 + tab] */
    uint8_t *miss = x_jcc8(b, CC_NE);
    x_op_abs_index(b, 0, &jmp_op, 1, 4, X_RCX, 3, tab + 8);         /* jmp [rcx*8 + tab + 8] */
    x_fix8(miss, b->p);
    x_rm(b, XW, 0x89, tr, X_RBP, JD(pc));
    jmp_exit(t, JX_INDIRECT, 0);
    return;
  }
  x_rr(b, 0, XA_MOV, X_RCX, tr);                                    /* mov ecx, tr32 */
  x_shift_imm(b, 0, 4, X_RCX, 3);
  x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, (int32_t)((JIT_JC_SIZE - 1) << 4));
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)t->J->jc);
  x_rmx(b, XW, XA_CMP, tr, X_RDX, X_RCX, 0);
  uint8_t *miss = x_jcc8(b, CC_NE);
  x_jmp_mem(b, X_RDX, X_RCX, 8);
  x_fix8(miss, b->p);
  x_rm(b, XW, 0x89, tr, X_RBP, JD(pc));
  jmp_exit(t, JX_INDIRECT, 0);
}

/* ---- FP loads, stores and moves (bit copies, no rounding or flags) ---- */
static void fp_load(tctx *t, const wb_insn *in, int dbl) {
  wb_tx_addr a = wb_tx_mem(t, in->rs1, in->imm);
  if (dbl) x_rmx(&t->b, XW, XA_MOV, X_RCX, a.base, a.index, a.disp);
  else {
    x_rmx(&t->b, 0, XA_MOV, X_RCX, a.base, a.index, a.disp);
    x_mov_imm(&t->b, X_RDX, 0xffffffff00000000ull);
    x_rr(&t->b, XW, XA_OR, X_RCX, X_RDX);
  }
  x_rm(&t->b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
}
static void fp_store(tctx *t, const wb_insn *in, int dbl) {
  wb_tx_addr a = wb_tx_mem(t, in->rs1, in->imm);
  x_rm(&t->b, dbl ? XW : 0, XA_MOV, X_RCX, X_RBP, JDF(in->rs2));
  x_rmx(&t->b, dbl ? XW : 0, 0x89, X_RCX, a.base, a.index, a.disp);
}

/* The loads and stores (system mode: the hit path of wb_tx_sys_mem) */
static void mem_access(tctx *t, const wb_insn *in) {
  static const uint8_t op_movsx8[2] = {0x0f, 0xbe}, op_movzx8[2] = {0x0f, 0xb6},
                       op_movsx16[2] = {0x0f, 0xbf}, op_movzx16[2] = {0x0f, 0xb7},
                       op_movsxd[1] = {0x63}, op_mov[1] = {0x8b};
  switch (in->op) {
    case WB_OP_LB: load(t, in, XW, op_movsx8, 2); break;
    case WB_OP_LBU: load(t, in, 0, op_movzx8, 2); break;
    case WB_OP_LH: load(t, in, XW, op_movsx16, 2); break;
    case WB_OP_LHU: load(t, in, 0, op_movzx16, 2); break;
    case WB_OP_LW: load(t, in, XW, op_movsxd, 1); break;
    case WB_OP_LWU: load(t, in, 0, op_mov, 1); break;
    case WB_OP_LD: load(t, in, XW, op_mov, 1); break;
    case WB_OP_SB: store(t, in, XBYTE, 0x88); break;
    case WB_OP_SH: store(t, in, X66, 0x89); break;
    case WB_OP_SW: store(t, in, 0, 0x89); break;
    case WB_OP_SD: store(t, in, XW, 0x89); break;
    case WB_OP_FLD: fp_load(t, in, 1); break;
    case WB_OP_FLW: fp_load(t, in, 0); break;
    case WB_OP_FSD: fp_store(t, in, 1); break;
    case WB_OP_FSW: fp_store(t, in, 0); break;
    default: t->full = 1; break;   /* never: mmu_sys.c inlines only these */
  }
}

/* Translate instruction `in` (index t->i). Returns 1 if it ended the block's code. */
static int translate_insn(tctx *t, const wb_insn *in) {
  static const uint8_t op_movsx8[2] = {0x0f, 0xbe}, op_movzx8[2] = {0x0f, 0xb6},
                       op_movsx16[2] = {0x0f, 0xbf}, op_movzx16[2] = {0x0f, 0xb7},
                       op_movsxd[1] = {0x63}, op_mov[1] = {0x8b};
  x86_buf *b = &t->b;
  unsigned msize;
  int mkind;
  if (t->J->sys && wb_insn_mem_info(in, &msize, &mkind)) { wb_tx_sys_mem(t, in, mem_access); return 0; }
  switch (in->op) {
    case WB_OP_LUI: { int d = dest(t, in->rd, -1); x_mov_imm(b, d, (uint64_t)in->imm); st(t, in->rd, d); return 0; }
    case WB_OP_AUIPC: { int d = dest(t, in->rd, -1); x_mov_imm(b, d, t->pc + (uint64_t)in->imm); st(t, in->rd, d); return 0; }
    case WB_OP_JAL:
      if (in->rd) { int d = dest(t, in->rd, -1); x_mov_imm(b, d, t->end_pc); st(t, in->rd, d); }
      exit_direct(t, x_jmp32(b), t->pc + (uint64_t)in->imm);
      return 1;
    case WB_OP_JALR: jalr(t, in); return 1;
    case WB_OP_BEQ: branch(t, in, CC_E); return 1;
    case WB_OP_BNE: branch(t, in, CC_NE); return 1;
    case WB_OP_BLT: branch(t, in, CC_L); return 1;
    case WB_OP_BGE: branch(t, in, CC_GE); return 1;
    case WB_OP_BLTU: branch(t, in, CC_B); return 1;
    case WB_OP_BGEU: branch(t, in, CC_AE); return 1;
    case WB_OP_LB: load(t, in, XW, op_movsx8, 2); return 0;
    case WB_OP_LBU: load(t, in, 0, op_movzx8, 2); return 0;
    case WB_OP_LH: load(t, in, XW, op_movsx16, 2); return 0;
    case WB_OP_LHU: load(t, in, 0, op_movzx16, 2); return 0;
    case WB_OP_LW: load(t, in, XW, op_movsxd, 1); return 0;
    case WB_OP_LWU: load(t, in, 0, op_mov, 1); return 0;
    case WB_OP_LD: load(t, in, XW, op_mov, 1); return 0;
    case WB_OP_SB: store(t, in, XBYTE, 0x88); return 0;
    case WB_OP_SH: store(t, in, X66, 0x89); return 0;
    case WB_OP_SW: store(t, in, 0, 0x89); return 0;
    case WB_OP_SD: store(t, in, XW, 0x89); return 0;
    case WB_OP_ADDI: addi(t, in); return 0;
    case WB_OP_SLTI: setcc_ri(t, in, CC_L); return 0;
    case WB_OP_SLTIU: setcc_ri(t, in, CC_B); return 0;
    case WB_OP_XORI: alu_ri(t, in, XA_XOR, 1); return 0;
    case WB_OP_ORI: alu_ri(t, in, XA_OR, 1); return 0;
    case WB_OP_ANDI: alu_ri(t, in, XA_AND, 1); return 0;
    case WB_OP_SLLI: shift_imm(t, in, 4, 1); return 0;
    case WB_OP_SRLI: shift_imm(t, in, 5, 1); return 0;
    case WB_OP_SRAI: shift_imm(t, in, 7, 1); return 0;
    case WB_OP_ADD: alu_rr(t, in, XA_ADD, 1, 1); return 0;
    case WB_OP_SUB: alu_rr(t, in, XA_SUB, 0, 1); return 0;
    case WB_OP_SLL: shift_reg(t, in, 4, 1); return 0;
    case WB_OP_SLT: setcc_rr(t, in, CC_L); return 0;
    case WB_OP_SLTU: setcc_rr(t, in, CC_B); return 0;
    case WB_OP_XOR: alu_rr(t, in, XA_XOR, 1, 1); return 0;
    case WB_OP_SRL: shift_reg(t, in, 5, 1); return 0;
    case WB_OP_SRA: shift_reg(t, in, 7, 1); return 0;
    case WB_OP_OR: alu_rr(t, in, XA_OR, 1, 1); return 0;
    case WB_OP_AND: alu_rr(t, in, XA_AND, 1, 1); return 0;
    case WB_OP_FENCE:
      if (wb_fence_needs_host(t->m, in->imm)) { x_b(&t->b, 0x0f); x_b(&t->b, 0xae); x_b(&t->b, 0xf0); } /* mfence */
      return 0;
    case WB_OP_FENCE_I: jmp_exit(t, JX_FLUSH, t->end_pc); return 1;
    case WB_OP_ECALL: jmp_exit(t, JX_ECALL, t->pc); return 1;
    case WB_OP_ADDIW: alu_ri(t, in, XA_ADD, 0); return 0;
    case WB_OP_SLLIW: shift_imm(t, in, 4, 0); return 0;
    case WB_OP_SRLIW: shift_imm(t, in, 5, 0); return 0;
    case WB_OP_SRAIW: shift_imm(t, in, 7, 0); return 0;
    case WB_OP_ADDW: alu_rr(t, in, XA_ADD, 1, 0); return 0;
    case WB_OP_SUBW: alu_rr(t, in, XA_SUB, 0, 0); return 0;
    case WB_OP_SLLW: shift_reg(t, in, 4, 0); return 0;
    case WB_OP_SRLW: shift_reg(t, in, 5, 0); return 0;
    case WB_OP_SRAW: shift_reg(t, in, 7, 0); return 0;
    case WB_OP_MUL: mul(t, in, 1); return 0;
    case WB_OP_MULW: mul(t, in, 0); return 0;
    case WB_OP_MULH: case WB_OP_MULHU: case WB_OP_MULHSU: mulh(t, in); return 0;
    case WB_OP_DIV: case WB_OP_DIVU: case WB_OP_REM: case WB_OP_REMU:
    case WB_OP_DIVW: case WB_OP_DIVUW: case WB_OP_REMW: case WB_OP_REMUW:
      divrem(t, in); return 0;
    case WB_OP_FLD: fp_load(t, in, 1); return 0;
    case WB_OP_FLW: fp_load(t, in, 0); return 0;
    case WB_OP_FSD: fp_store(t, in, 1); return 0;
    case WB_OP_FSW: fp_store(t, in, 0); return 0;
    case WB_OP_FMV_X_D: {
      int d = dest(t, in->rd, -1);
      x_rm(b, XW, XA_MOV, d, X_RBP, JDF(in->rs1));
      st(t, in->rd, d);
      return 0; }
    case WB_OP_FMV_D_X:
      wb_tx_ld(t, X_RCX, in->rs1);
      x_rm(b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
      return 0;
    case WB_OP_FMV_X_W: {
      int d = dest(t, in->rd, -1);
      x_rm(b, XW, 0x63, d, X_RBP, JDF(in->rs1));
      st(t, in->rd, d);
      return 0; }
    case WB_OP_FMV_W_X:
      op_g(t, 0, XA_MOV, X_RCX, in->rs1);
      x_mov_imm(b, X_RDX, 0xffffffff00000000ull);
      x_rr(b, XW, XA_OR, X_RCX, X_RDX);
      x_rm(b, XW, 0x89, X_RCX, X_RBP, JDF(in->rd));
      return 0;
    case WB_OP_FSGNJ_D: case WB_OP_FSGNJN_D: case WB_OP_FSGNJX_D:
      if (fp_sign_same(t, in)) return 0;
      fp_call(t, in);
      return 0;
    default:
      if (in->op >= WB_OP_FMADD_S && in->op <= WB_OP_FMV_D_X) {
        if (!fp_inline(t, in)) fp_call(t, in);
        return 0;
      }
      /* CSRs, atomics, ebreak, illegal and privileged ops */
      slow(t);
      if (!wb_op_ends_block(in->op)) return 0;
      /* mret, sret, wfi, sfence.vma, a trap taken: on at the pc the interpreter left */
      jmp_exit(t, JX_STOP, t->pc);
      return 1;
  }
}

static wb_jit_block *translate_block(struct wb_jit *J, uint64_t pc, const wb_insn *in, unsigned n,
                                     uint64_t p, uint64_t cmask, const wb_action *acts,
                                     const unsigned *astart);

static void emit_stub(tctx *t, stub *s) {
  x86_buf *b = &t->b;
  uint8_t *here = b->p;
  wb_jit_exit *e = wb_tx_new_exit(t, s->kind, s->pc, s->idx);
  if (!e) return;
  switch (s->kind) {
    case JX_LIMIT:
      x_alu_imm(b, XW, XA_ADD, 0, X_LEFT, 0, s->restore);
      e->rollback = 0;
      break;
    case JX_STREAM:
      x_alu_imm(b, XW, XA_ADD, 0, X_LEFT, 0, s->restore);
      e->rollback = 0;
      e->ptr = s->ptr;
      e->amount = s->amount;
      break;
    case JX_DIRECT:
      e->patch = s->field;
      e->rollback = 0;
      break;
    case JX_INTERP:
      break;
    case JX_INDIRECT:
      e->rollback = 0;
      if (s->reg != 1) break;
      /* system mode, a direct exit to another page: cpu.pc = target, then the jump table
       * (the dispatcher may chain the exit past this stub: jit.c) */
      e->patch = s->field;
      e->stub = here;
      x_mov_imm(b, X_RAX, s->pc);
      x_rm(b, XW, 0x89, X_RAX, X_RBP, JD(pc));
      if (t->J->jc_low) {
        int32_t tab = (int32_t)(uintptr_t)t->J->jc;
        static const uint8_t cmp_op = 0x3b, jmp_op = 0xff;
        x_rr(b, 0, XA_MOV, X_RCX, X_RAX);
        x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, (int32_t)((JIT_JC_SIZE - 1) << 1));
        x_op_abs_index(b, XW, &cmp_op, 1, X_RAX, X_RCX, 3, tab);
        uint8_t *miss = x_jcc8(b, CC_NE);
        x_op_abs_index(b, 0, &jmp_op, 1, 4, X_RCX, 3, tab + 8);
        x_fix8(miss, b->p);
      }
      break;
    case JX_ECALL: case JX_FLUSH:
      e->rollback = 0;
      break;
    default:
      break;
  }
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)e);
  x_fix32(x_jmp32(b), t->J->exit_common);
  x_fix32(s->field, here);
}

wb_jit_block *wb_jit_translate(struct wb_jit *J, uint64_t pc) {
  wb_machine *m = J->m;
  wb_insn in[WB_BLOCK_MAX];
  uint64_t p, cmask;
  unsigned n = J->sys ? wb_block_decode_sys(J->hart, J->fp_off, pc, WB_BLOCK_MAX, in, &p, &cmask)
                      : wb_block_decode(&m->mem, pc, WB_BLOCK_MAX, in, &p, &cmask);
  if (n == 0) return NULL; /* the caller checked fetchability: cannot happen */

  /* client instrumentation, ordered by instruction (stable: the order clients asked in) */
  wb_action *acts = NULL, *sorted = NULL;
  unsigned nacts = 0, astart[WB_BLOCK_MAX + 1] = {0};
  if (m->clients) {
    uint64_t pcs[WB_BLOCK_MAX];
    for (unsigned i = 0, o = 0; i < n; o += in[i].len, i++) pcs[i] = pc + o;
    nacts = wb_client_instrument(m, pc, in, pcs, n, &acts);
    if (nacts) {
      sorted = malloc(nacts * sizeof *sorted);
      if (!sorted) { free(acts); return NULL; }
      for (unsigned k = 0; k < nacts; k++) astart[acts[k].insn + 1]++;
      for (unsigned i = 0; i < n; i++) astart[i + 1] += astart[i];
      unsigned fill[WB_BLOCK_MAX];
      memcpy(fill, astart, sizeof fill);
      for (unsigned k = 0; k < nacts; k++) sorted[fill[acts[k].insn]++] = acts[k];
    }
    free(acts);
  }
  wb_jit_block *blk = translate_block(J, pc, in, n, p, cmask, sorted, astart);
  free(sorted);
  return blk;
}

static wb_jit_block *translate_block(struct wb_jit *J, uint64_t pc, const wb_insn *in, unsigned n,
                                     uint64_t p, uint64_t cmask, const wb_action *acts,
                                     const unsigned *astart) {
  wb_machine *m = J->m;
  int two = 0;
  for (unsigned k = 0; acts && k < astart[n]; k++) two |= acts[k].kind == WB_ACT_BURST;
  /* taint tracking's copy (jit/taint.c); bursty tracing's copies leave no room for it, and
   * the workbench refuses the two together */
  int tcopy = !two && wb_tx_taint_wants(&(tctx){.m = m, .J = J});
  two |= tcopy;
  wb_jit_block *blk = wb_jit_meta_alloc(J, sizeof *blk + (two ? 2 : 1) * (n + 1) * sizeof(uint16_t));
  uint16_t *fwd = wb_jit_meta_alloc(J, (two ? 2 : 1) * (n + 1) * sizeof(uint16_t));
  if (!blk || !fwd) return NULL;
  static __thread tctx tc; /* large (stubs); one translation at a time per thread */
  tctx *t = &tc;
  t->m = m; t->J = J; t->map = J->map; t->n = n; t->nstubs = 0; t->full = 0; t->checked = 0;
  t->block_pc = pc;
  t->fwd_reg = -1; t->fwd_end = NULL;
  t->b.p = J->code + J->code_used;
  t->b.end = J->code + J->code_size;
  memset(blk, 0, sizeof *blk);
  blk->pc = pc;
  blk->end_pc = p;
  blk->cmask = cmask;
  blk->n = (uint16_t)n;
  blk->code = t->b.p;
  blk->fwd = fwd;

  /* entry: count the block, leave if the count runs out */
  t->i = 0;
  t->pc = pc;             /* the entry's stubs (limit, streams) resume at the block start */
  x_alu_imm(&t->b, XW, XA_SUB, 0, X_LEFT, 0, (int32_t)n);
  wb_tx_add_stub(t, x_jcc32(&t->b, CC_S), JX_LIMIT, pc, -1, (int)n);
  if (J->profiling) {
    blk->refs = wb_jit_meta_alloc(J, 32 * sizeof(uint16_t));
    if (!blk->refs) return NULL;
    memset(blk->refs, 0, 32 * sizeof(uint16_t));
    for (unsigned i = 0; i < n; i++) wb_jit_count_refs(&in[i], blk->refs);
    x_mov_imm(&t->b, X_RAX, (uint64_t)(uintptr_t)&blk->execs);
    x_alu_imm(&t->b, XW, XA_ADD, 1, X_RAX, 0, 1);
  }
  /* room in every stream the block records into; bursty tracing's entry check (instrument.c) */
  if (acts && !wb_tx_stream_room(t, acts, astart[n])) return NULL;
  wb_burst *burst = NULL;
  for (unsigned k = 0; acts && k < astart[n] && !burst; k++)
    if (acts[k].kind == WB_ACT_BURST) burst = acts[k].burst;
  uint8_t *to_alt = burst ? wb_tx_burst_entry(t, burst) : tcopy ? wb_tx_taint_entry(t) : NULL;
  uint64_t checked_in[2] = {0, 0};   /* per copy: instructions whose access takes the checked path */
  for (int copy = 0; copy < (two ? 2 : 1); copy++) {
    uint16_t *hoff = blk->hoff + (copy ? n + 1 : 0);
    int mode = burst ? copy + 1 : 0;
    if (copy) {
      blk->alt = (uint16_t)(t->b.p - blk->code);
      x_fix32(to_alt, t->b.p);
    }
    t->checked = 0;
    t->fwd_reg = -1;
    t->nsys_defer = 0;
    uint64_t ipc = pc;
    int ended = 0;
    for (unsigned i = 0; i < n; i++) {
      if (t->b.end - t->b.p < INSN_ROOM) return NULL;
      t->i = i;
      t->pc = ipc;
      t->end_pc = ipc + in[i].len;
      hoff[i] = (uint16_t)(t->b.p - blk->code);
      fwd[(copy ? n + 1 : 0) + i] = t->fwd_reg >= 0 && t->fwd_end == t->b.p
                                        ? (uint16_t)((t->fwd_reg << 8) | t->fwd_host) : 0xffff;
      if (acts && astart[i + 1] > astart[i]) {
        wb_tx_emit_actions(t, acts + astart[i], astart[i + 1] - astart[i], mode);
        if (t->b.end - t->b.p < INSN_ROOM) return NULL;
      }
      /* the taint copy propagates every access itself: no unit check, the primary view */
      int tainted = tcopy && copy;
      if (tainted) wb_tx_taint_insn(t, &in[i]);
      int watched = !tainted && wb_tx_watch_wants(t, &in[i]);
      if (watched) wb_tx_watch_before(t, &in[i]);
      t->mirror = watched || tainted ? 1
                  : acts && astart[i + 1] > astart[i] && wb_tx_acts_mirror(acts + astart[i], astart[i + 1] - astart[i])
                  ? TX_MIRROR_CHOSEN : 0;
      if (t->mirror) checked_in[copy] |= 1ull << i;
      ended = translate_insn(t, &in[i]);
      t->mirror = 0;
      if (watched) wb_tx_watch_after(t);
      if (t->full) return NULL;
      ipc = t->end_pc;
    }
    /* rebuild.c leaves an instruction only when every copy checks it (a taint copy checks
     * every access; the clean copy only the marked ones) */
    blk->mirrored = copy ? blk->mirrored & checked_in[1] : checked_in[0];
    t->i = n;
    if (!ended) exit_direct(t, x_jmp32(&t->b), p);
    if (t->b.p - blk->code > 60000) return NULL; /* hoff is 16-bit; never near this in practice */
    hoff[n] = (uint16_t)(t->b.p - blk->code);
    if (t->nsys_defer && !wb_tx_sys_mem_misses(t)) return NULL;   /* system mode (mmu_sys.c) */
  }
  if (t->b.end - t->b.p < (ptrdiff_t)(t->nstubs * STUB_ROOM)) return NULL;
  for (unsigned s = 0; s < t->nstubs; s++) {
    t->i = t->stubs[s].idx;
    emit_stub(t, &t->stubs[s]);
    if (t->full) return NULL;
  }
  blk->code_len = (uint32_t)(t->b.p - blk->code);
  J->code_used = (size_t)(t->b.p - J->code);
  J->code_used = (J->code_used + 15) & ~(size_t)15;
  return blk;
}

#endif /* WB_HAVE_JIT */
