/* taint.c — the JIT's side of taint tracking (watch/taint.c): with taint on, every block is
 * translated twice, as bursty tracing's blocks are (instrument.c):
 *
 *   entry:  count the block; if hart.taint.on: jmp taint copy
 *   clean copy: the block as always (no register holds taint, so nothing needs propagating)
 *   taint copy: before each instruction, its propagation (inline, or a call of wb_taint_insn),
 *               then the instruction, its access through the primary view without the
 *               unit's check (the propagation has looked at the shadow already), as the
 *               interpreter's stepping does
 *
 * hart.taint.on is set when a register becomes tainted (a trigger's access completed:
 * wb_taint_settle) and cleared after a jump in a taint copy that leaves no register tainted
 * (jump_rule), so code that runs on clean values pays one byte test per block.
 *
 * In the taint copy, the integer instructions that only move taint between registers (the
 * most common ones: arithmetic, logic, shifts, compares, jumps; branches need nothing)
 * propagate inline, with the rules of watch/taint.c on the byte masks in hart.taint.x. Loads
 * and stores look the flat shadow up inline; a store writes it inline once its page is noted
 * as changed since the last flush (else, or across pages, it calls wb_taint_insn, as atomics,
 * FP arithmetic and ecall do).
 */
#include "tctx.h"
#include "jit.h"
#include "watch/watch.h"

#if WB_HAVE_JIT

int wb_tx_taint_wants(const tctx *t) { return t->m->taint && !t->J->sys; }

uint8_t *wb_tx_taint_entry(tctx *t) {
  static const uint8_t cmp8 = 0x80;
  x_op(&t->b, 0, &cmp8, 1, 7, 1, X_RBP, X_NOINDEX, JD(taint.on));    /* cmp byte [hart.taint.on], 0 */
  x_b(&t->b, 0);
  return x_jcc32(&t->b, CC_NE);
}

#define TX(r) (JD(taint.x) + (int32_t)(r))

static void clean_again(wb_hart *h, uint64_t unused, uint64_t pc);

static void mask_load(tctx *t, unsigned r) { x_rm0f(&t->b, 0, 0xb6, X_RAX, X_RBP, X_NOINDEX, TX(r)); } /* movzx eax, byte */
static void mask_or(tctx *t, unsigned r) { x_rm(&t->b, 0, 0x0a, X_RAX, X_RBP, TX(r)); }               /* or al, byte */
static void mask_store(tctx *t, unsigned r) { x_rm(&t->b, 0, 0x88, X_RAX, X_RBP, TX(r)); }            /* mov byte, al */
static void mask_clear(tctx *t, unsigned r) {
  static const uint8_t movb = 0xc6;
  x_op(&t->b, 0, &movb, 1, 0, 1, X_RBP, X_NOINDEX, TX(r));
  x_b(&t->b, 0);
}
static void mask_upward(tctx *t) {                          /* al |= -al: from the lowest bit up */
  static const uint8_t neg8 = 0xf6, or8 = 0x0a;
  x_rr(&t->b, 0, XA_MOV, X_RCX, X_RAX);
  x_op(&t->b, 0, &neg8, 1, 3, 0, X_RCX, X_NOINDEX, 0);       /* neg cl */
  x_op(&t->b, 0, &or8, 1, X_RAX, 0, X_RCX, X_NOINDEX, 0);    /* or al, cl */
}
static void mask_word(tctx *t) {                            /* the low 4 bytes, bit 3 repeated above */
  static const uint8_t shift8 = 0xc0;
  x_op(&t->b, 0, &shift8, 1, 4, 0, X_RAX, X_NOINDEX, 0);     /* shl al, 4 */
  x_b(&t->b, 4);
  x_op(&t->b, 0, &shift8, 1, 7, 0, X_RAX, X_NOINDEX, 0);     /* sar al, 4 */
  x_b(&t->b, 4);
}
static void mask_spread(tctx *t) {                          /* al = al ? 0xff : 0 */
  static const uint8_t neg8 = 0xf6;
  x_op(&t->b, 0, &neg8, 1, 3, 0, X_RAX, X_NOINDEX, 0);
  x_rr(&t->b, 0, 0x1b, X_RAX, X_RAX);                        /* sbb eax, eax */
}
static void mask_flag(tctx *t) {                            /* al = al ? 1 : 0 */
  x_rr(&t->b, 0, XA_TEST, X_RAX, X_RAX);
  x_setcc(&t->b, CC_NE, X_RAX);
}
/* al = (al << lo) | (al << hi) (left) or >> (right); sign: the mask's top byte repeats above */
static void mask_shift(tctx *t, int right, int sign, unsigned sh) {
  x86_buf *b = &t->b;
  unsigned lo = sh / 8, hi = (sh + 7) / 8;
  if (sign) x_rr0f(b, 0, 0xbe, X_RAX, X_RAX);               /* movsx eax, al */
  x_rr(b, 0, XA_MOV, X_RCX, X_RAX);
  if (lo) x_shift_imm(b, 0, right ? 5 : 4, X_RAX, lo);
  if (hi) x_shift_imm(b, 0, right ? 5 : 4, X_RCX, hi);
  x_rr(b, 0, XA_OR, X_RAX, X_RCX);
}

/* A jump's propagation: its link register is clean, and at a call (rd = ra) or a return the
 * calling convention's dead registers are (watch/taint.c's dead_at_transfer). Then, if no
 * register is tainted any more, hart.taint.on = 0 and the unit's watch set follows the shadow
 * (wb_taint_clean_again), so the blocks from the jump's target on run their clean copies.
 * Only jumps look: a look per block would cost more than most blocks, and calls and returns
 * are where registers fall dead. The 64 masks (taint.f follows taint.x) are cleared and summed a
 * quadword at a time, with an and and an or in registers: byte stores followed by quadword
 * loads of the same bytes would wait for the stores to retire (no store forwarding), which
 * made the returns of small, hot functions (memmove) the dearest instructions of a taint copy. */
static void jump_rule(tctx *t, const wb_insn *in) {
  static const uint8_t temps[] = {5, 6, 7, 28, 29, 30, 31};
  x86_buf *b = &t->b;
  uint8_t dead[64] = {0};
  int call = in->rd == 1, ret = in->op == WB_OP_JALR && in->rd == 0 && in->rs1 == 1 && in->imm == 0;
  if (call || ret) {
    for (unsigned i = 0; i < sizeof temps; i++) dead[temps[i]] = 1;
    for (unsigned i = 0; i < 8; i++) dead[32 + i] = 1;           /* ft0-ft7 */
    for (unsigned i = 28; i < 32; i++) dead[32 + i] = 1;         /* ft8-ft11 */
  }
  if (ret)
    for (unsigned r = 12; r <= 17; r++) dead[r] = dead[32 + r] = 1;   /* a2-a7, fa2-fa7 */
  if (in->rd) dead[in->rd] = 1;
  for (int k = 0; k < 8; k++) {
    int32_t at = JD(taint.x) + 8 * k;
    uint64_t keep = ~0ull;
    for (int i = 0; i < 8; i++)
      if (dead[8 * k + i]) keep &= ~(0xffull << (8 * i));
    x_rm(b, XW, XA_MOV, X_RCX, X_RBP, at);
    if (keep != ~0ull) {
      x_mov_imm(b, X_RDX, keep);
      x_rr(b, XW, XA_AND, X_RCX, X_RDX);
      x_rm(b, XW, 0x89, X_RCX, X_RBP, at);                    /* mov [at], rcx */
    }
    x_rr(b, XW, k ? XA_OR : XA_MOV, X_RAX, X_RCX);
  }
  x_rr(b, XW, XA_TEST, X_RAX, X_RAX);
  uint8_t *tainted = x_jcc32(b, CC_NE);
  wb_tx_clean_call(t, (void *)clean_again, 0);
  x_fix32(tainted, b->p);
}

/* Inline propagation of in, if it is one of the register-only integer instructions: 1, else 0. */
static int inline_rule(tctx *t, const wb_insn *in) {
  unsigned op = in->op, rd = in->rd;
  switch (op) {
    case WB_OP_BEQ: case WB_OP_BNE: case WB_OP_BLT: case WB_OP_BGE: case WB_OP_BLTU: case WB_OP_BGEU:
    case WB_OP_FENCE:
      return 1;
    case WB_OP_JAL: case WB_OP_JALR:
      jump_rule(t, in);
      return 1;
    case WB_OP_LUI: case WB_OP_AUIPC:
      if (rd) mask_clear(t, rd);
      return 1;
    default:
      break;
  }
  int simple = (op >= WB_OP_ADDI && op <= WB_OP_SRAI) || (op >= WB_OP_ADD && op <= WB_OP_AND) ||
               (op >= WB_OP_ADDIW && op <= WB_OP_SRAW) || (op >= WB_OP_MUL && op <= WB_OP_REMUW) ||
               (op >= WB_OP_CSRRW && op <= WB_OP_CSRRCI);
  if (!simple) return 0;
  if (!rd) return 1;                                   /* x0: nothing to keep */
  if (op >= WB_OP_CSRRW && op <= WB_OP_CSRRCI) { mask_clear(t, rd); return 1; }
  mask_load(t, in->rs1);
  unsigned sh = (unsigned)in->imm & 63;
  switch (op) {
    case WB_OP_ADDI: if (in->imm) mask_upward(t); break;
    case WB_OP_XORI: case WB_OP_ORI: break;
    case WB_OP_ANDI: {
      unsigned keep = 0;
      for (unsigned i = 0; i < 8; i++) keep |= (((uint64_t)in->imm >> (8 * i)) & 0xff) ? 1u << i : 0;
      x_alu_imm(&t->b, 0, XA_AND, 0, X_RAX, 0, (int32_t)keep);
      break;
    }
    case WB_OP_SLLI: mask_shift(t, 0, 0, sh); break;
    case WB_OP_SRLI: mask_shift(t, 1, 0, sh); break;
    case WB_OP_SRAI: mask_shift(t, 1, 1, sh); break;
    case WB_OP_SLTI: case WB_OP_SLTIU: mask_flag(t); break;
    case WB_OP_ADD: case WB_OP_SUB: mask_or(t, in->rs2); mask_upward(t); break;
    case WB_OP_XOR: case WB_OP_OR: case WB_OP_AND: mask_or(t, in->rs2); break;
    case WB_OP_SLT: case WB_OP_SLTU: mask_or(t, in->rs2); mask_flag(t); break;
    case WB_OP_ADDIW: if (in->imm) mask_upward(t); mask_word(t); break;
    case WB_OP_SLLIW: case WB_OP_SRLIW: case WB_OP_SRAIW: mask_spread(t); break;
    case WB_OP_ADDW: case WB_OP_SUBW: mask_or(t, in->rs2); mask_upward(t); mask_word(t); break;
    default: mask_or(t, in->rs2); mask_spread(t); break;   /* register shifts, M (word(spread) = spread) */
  }
  mask_store(t, rd);
  return 1;
}

static void call_insn(tctx *t, const wb_insn *in);

/* rcx = the access's guest address; jumps to the returned field when it lies outside the
 * space (whose taint is clean, and where stores change nothing) */
static uint8_t *address_in_space(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  wb_tx_ld(t, X_RCX, in->rs1);
  if (in->imm) x_alu_imm(b, XW, XA_ADD, 0, X_RCX, 0, (int32_t)in->imm);
  x_mov_imm(b, X_RDX, t->m->mem.size);
  x_rr(b, XW, XA_CMP, X_RCX, X_RDX);
  return x_jcc32(b, CC_AE);
}

/* rdx = &shadow[rcx >> 3], cl = rcx & 7, ax = the 16 shadow bits from there */
static void shadow_word(tctx *t) {
  x86_buf *b = &t->b;
  uint64_t npages;
  uint8_t *dirty, *flat = wb_taint_shadow(t->m, &npages, &dirty);
  x_rr(b, XW, XA_MOV, X_RAX, X_RCX);
  x_shift_imm(b, XW, 5, X_RAX, 3);
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)flat);
  x_rr(b, XW, XA_ADD, X_RDX, X_RAX);
  x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, 7);
  x_rm0f(b, 0, 0xb7, X_RAX, X_RDX, X_NOINDEX, 0);          /* movzx eax, word [rdx] */
}

/* A plain store: the stored register's low bytes' taint into the shadow, inline when the
 * shadow does not change or its page is noted as changed since the last flush
 * (wb_taint_flush); the first change of a page since the flush, and a store across pages,
 * call wb_taint_insn. The common case (the shadow unchanged) uses three scratch registers
 * and no scratch memory: ch holds the stored taint while cl holds the shift. */
static void inline_store(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  unsigned op = in->op;
  int sext, fp = op == WB_OP_FSW || op == WB_OP_FSD;
  unsigned n = wb_taint_access(op, &sext), smask = (1u << n) - 1;
  uint64_t npages;
  uint8_t *dirty;
  wb_taint_shadow(t->m, &npages, &dirty);
  int32_t kept = JD(taint.scratch[0]);
  static const uint8_t d3 = 0xd3, a81 = 0x81, c3b = 0x3b, m89 = 0x89, g80 = 0x80;
  uint8_t *outside = address_in_space(t, in), *cross = NULL;
  if (n > 1) {                                             /* into the next page: the call */
    x_rr(b, 0, XA_MOV, X_RAX, X_RCX);
    x_alu_imm(b, 0, XA_AND, 0, X_RAX, 0, 0xfff);
    x_alu_imm(b, 0, XA_CMP, 0, X_RAX, 0, (int32_t)(WB_PAGE_SIZE - n));
    cross = x_jcc32(b, CC_A);
  }
  shadow_word(t);
  x_rm(b, 0, 0x8a, 5, X_RBP, TX(in->rs2 + (fp ? 32u : 0u)));   /* mov ch, the register's mask */
  x_op(b, 0, &g80, 1, 4, 0, 5, X_NOINDEX, 0);                   /* and ch, smask */
  x_b(b, (uint8_t)smask);
  x_op(b, X66, &d3, 1, 1, 0, X_RAX, X_NOINDEX, 0);         /* ror ax, cl: the bytes' bits at 0 */
  x_op(b, X66, &a81, 1, 4, 0, X_RAX, X_NOINDEX, 0);        /* and ax, ~smask */
  x_b(b, ~smask & 0xff);
  x_b(b, 0xff);
  x_rr(b, 0, 0x0a, X_RAX, 5);                              /* or al, ch */
  x_op(b, X66, &d3, 1, 0, 0, X_RAX, X_NOINDEX, 0);         /* rol ax, cl */
  x_op(b, X66, &c3b, 1, X_RAX, 1, X_RDX, X_NOINDEX, 0);    /* cmp ax, word [rdx] */
  uint8_t *same = x_jcc32(b, CC_E);
  /* it changes: is its page noted? (the address again, into rcx) */
  x_op(b, X66, &m89, 1, X_RAX, 1, X_RBP, X_NOINDEX, kept); /* mov word [kept], ax */
  wb_tx_ld(t, X_RCX, in->rs1);
  if (in->imm) x_alu_imm(b, XW, XA_ADD, 0, X_RCX, 0, (int32_t)in->imm);
  x_shift_imm(b, XW, 5, X_RCX, 12);
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)dirty);
  x_rm0f(b, 0, 0xb6, X_RAX, X_RAX, X_RCX, 0);               /* movzx eax, byte [rax + rcx] */
  x_rr(b, 0, XA_TEST, X_RAX, X_RAX);
  uint8_t *first = x_jcc32(b, CC_E);
  x_rm0f(b, 0, 0xb7, X_RAX, X_RBP, X_NOINDEX, kept);        /* movzx eax, word [kept] */
  x_op(b, X66, &m89, 1, X_RAX, 1, X_RDX, X_NOINDEX, 0);    /* mov word [rdx], ax */
  uint8_t *written = x_jmp32(b);
  if (cross) x_fix32(cross, b->p);
  x_fix32(first, b->p);
  call_insn(t, in);
  x_fix32(outside, b->p);
  x_fix32(same, b->p);
  x_fix32(written, b->p);
}

/* A plain load: the loaded bytes' taint from the shadow into the register's mask, inline. An
 * address outside the space (whose taint is clean) is moved to the space's end, where the
 * shadow's slack reads as clean, rather than branched around. */
static void inline_load(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  int sext, fp = in->op == WB_OP_FLW || in->op == WB_OP_FLD;
  unsigned n = wb_taint_access(in->op, &sext), smask = (1u << n) - 1;
  int32_t mask_at = TX(in->rd + (fp ? 32u : 0u));
  uint64_t npages;
  uint8_t *dirty, *flat = wb_taint_shadow(t->m, &npages, &dirty);
  wb_tx_ld(t, X_RCX, in->rs1);
  if (in->imm) x_alu_imm(b, XW, XA_ADD, 0, X_RCX, 0, (int32_t)in->imm);
  x_mov_imm(b, X_RDX, t->m->mem.size);
  x_rr(b, XW, XA_CMP, X_RCX, X_RDX);
  x_rr0f(b, XW, 0x43, X_RCX, X_RDX);                      /* cmovae rcx, rdx */
  x_rr(b, XW, XA_MOV, X_RAX, X_RCX);
  x_shift_imm(b, XW, 5, X_RAX, 3);
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)flat);
  x_rm0f(b, 0, 0xb7, X_RAX, X_RDX, X_RAX, 0);               /* movzx eax, word [rdx + rax] */
  x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, 7);
  x_shift_cl(b, 0, 5, X_RAX);
  x_alu_imm(b, 0, XA_AND, 0, X_RAX, 0, (int32_t)smask);   /* eax = the bytes' taint */
  if (sext && n < 8) {                                /* the top byte's taint repeats above */
    x_rr(b, 0, XA_MOV, X_RCX, X_RAX);
    if (n > 1) x_shift_imm(b, 0, 5, X_RCX, n - 1);
    x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, 1);
    x_grp3(b, 0, 3, X_RCX);
    x_alu_imm(b, 0, XA_AND, 0, X_RCX, 0, (int32_t)(0xffu & ~smask));
    x_rr(b, 0, XA_OR, X_RAX, X_RCX);
  }
  x_rm(b, 0, 0x88, X_RAX, X_RBP, mask_at);
}

/* Inline propagation of a plain load or store: 1, else 0 (the caller calls wb_taint_insn). */
static int inline_mem(tctx *t, const wb_insn *in) {
  if (wb_taint_follows_addresses(t->m)) return 0;   /* the addresses policy: wb_taint_insn */
  unsigned op = in->op;
  int fp = op == WB_OP_FLW || op == WB_OP_FLD;
  int load = (op >= WB_OP_LB && op <= WB_OP_LWU) || fp;
  int store = (op >= WB_OP_SB && op <= WB_OP_SD) || op == WB_OP_FSW || op == WB_OP_FSD;
  if (store) inline_store(t, in);
  else if (load && (fp || in->rd)) inline_load(t, in);   /* (into x0: nothing to keep) */
  return load || store;
}

static void clean_again(wb_hart *h, uint64_t unused, uint64_t pc) {
  (void)unused; (void)pc;
  wb_jit_synced(h->jit, 1);
  wb_taint_clean_again(h);
  wb_jit_synced(h->jit, 0);
}

static void taint_call(wb_hart *h, uint64_t insn, uint64_t pc) {
  (void)pc;
  wb_jit_synced(h->jit, 1);
  wb_taint_insn(h, (const wb_insn *)(uintptr_t)insn);
  wb_jit_synced(h->jit, 0);
}

static void call_insn(tctx *t, const wb_insn *in) {
  wb_insn *keep = wb_jit_meta_alloc(t->J, sizeof *keep);
  if (!keep) { t->full = 1; return; }
  *keep = *in;
  wb_tx_clean_call(t, (void *)taint_call, (uint64_t)(uintptr_t)keep);
  t->checked = 0;
}

void wb_tx_taint_insn(tctx *t, const wb_insn *in) {
  if (inline_rule(t, in) || inline_mem(t, in)) return;
  call_insn(t, in);
}

#endif /* WB_HAVE_JIT */
