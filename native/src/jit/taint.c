/* taint.c — the JIT's side of taint tracking (watch/taint.c): with taint on, every block is
 * translated twice, as bursty tracing's blocks are (instrument.c):
 *
 *   entry:  count the block; if hart.taint.on: jmp taint copy
 *   clean copy: the block as always (no register holds taint, so nothing needs propagating)
 *   taint copy: if no register is tainted any more: hart.taint.on = 0, jmp clean copy
 *               before each instruction, a clean call propagating its taint (wb_taint_insn),
 *               then the instruction, its access through the primary view without the
 *               unit's check (the propagation has looked at the shadow already), as the
 *               interpreter's stepping does
 *
 * hart.taint.on is set when a register becomes tainted (a trigger's access completed:
 * wb_taint_settle) and cleared by the taint copy's entry, so code that runs on clean values
 * pays one byte test per block, and code on tainted values a call per instruction instead of
 * an interpreter step.
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

void wb_tx_taint_alt_entry(tctx *t, const uint8_t *clean) {
  x86_buf *b = &t->b;
  /* rax = the OR of every register's mask (32 integer and 32 FP bytes) */
  x_rm(b, XW, XA_MOV, X_RAX, X_RBP, JD(taint.x));
  for (int k = 1; k < 4; k++) x_rm(b, XW, XA_OR, X_RAX, X_RBP, JD(taint.x) + 8 * k);
  for (int k = 0; k < 4; k++) x_rm(b, XW, XA_OR, X_RAX, X_RBP, JD(taint.f) + 8 * k);
  x_rr(b, XW, XA_TEST, X_RAX, X_RAX);
  uint8_t *tainted = x_jcc8(b, CC_NE);
  static const uint8_t movb = 0xc6;
  x_op(b, 0, &movb, 1, 0, 1, X_RBP, X_NOINDEX, JD(taint.on));        /* mov byte [hart.taint.on], 0 */
  x_b(b, 0);
  x_fix32(x_jmp32(b), clean);
  x_fix8(tainted, b->p);
}

static void taint_call(wb_hart *h, uint64_t insn, uint64_t pc) {
  (void)pc;
  wb_jit_synced(h->jit, 1);
  wb_taint_insn(h, (const wb_insn *)(uintptr_t)insn);
  wb_jit_synced(h->jit, 0);
}

void wb_tx_taint_insn(tctx *t, const wb_insn *in) {
  wb_insn *keep = wb_jit_meta_alloc(t->J, sizeof *keep);
  if (!keep) { t->full = 1; return; }
  *keep = *in;
  wb_tx_clean_call(t, (void *)taint_call, (uint64_t)(uintptr_t)keep);
  t->checked = 0;
}

#endif /* WB_HAVE_JIT */
