/* watch.c — the JIT's side of the watchpoint unit (watch/online.c): a load or store the unit
 * marked (or every one, under the software mechanism) is translated as
 *
 *   rcx = address; test the page filter's byte of its first and last page for its kind
 *   (skip when neither holds a watch: pages without watches cost two tests)
 *   clean call wb_watchpt_jit_check(hart, size | kind << 8, pc, rcx)
 *   the access, through the primary view (mmu_flat.c: t->mirror)
 *   if hart.watch_hit: exit JX_WATCH at the next instruction (the guest's watch trap)
 */
#include "tctx.h"
#include "jit.h"
#include "client.h"
#include "watch/watch.h"

#if WB_HAVE_JIT

int wb_tx_watch_wants(tctx *t, const wb_insn *in) {
  if (!t->m->watch || t->J->sys) return 0;
  int plain = (in->op >= WB_OP_LB && in->op <= WB_OP_SD) || in->op == WB_OP_FLW ||
              in->op == WB_OP_FLD || in->op == WB_OP_FSW || in->op == WB_OP_FSD;
  return plain && wb_watchpt_marked(t->m, t->pc);
}

/* test byte [rdx + ((rcx + off) >> 12 & mask)], want */
static void test_page(tctx *t, int32_t off, uint64_t mask, unsigned want) {
  static const uint8_t test8 = 0xf6;
  x86_buf *b = &t->b;
  x_rm(b, XW, 0x8d, X_RAX, X_RCX, off);                       /* lea rax, [rcx + off] */
  x_shift_imm(b, XW, 5, X_RAX, 12);                           /* shr rax, 12 */
  x_alu_imm(b, XW, XA_AND, 0, X_RAX, 0, (int32_t)mask);
  x_op(b, 0, &test8, 1, 0, 1, X_RDX, X_RAX, 0);
  x_b(b, want);
}

void wb_tx_watch_before(tctx *t, const wb_insn *in) {
  x86_buf *b = &t->b;
  unsigned size;
  int kind;
  wb_insn_mem_info(in, &size, &kind);
  uint64_t mask;
  const uint8_t *pages = wb_watchpt_pages(t->m, &mask);
  unsigned want = kind == WB_MEM_LOAD ? WB_WATCH_READ : WB_WATCH_WRITE;
  wb_tx_ld(t, X_RCX, in->rs1);
  if (in->imm) x_alu_imm(b, XW, XA_ADD, 0, X_RCX, 0, (int32_t)in->imm);
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)pages);
  test_page(t, 0, mask, want);
  uint8_t *first = x_jcc8(b, CC_NE);
  uint8_t *skip = NULL;
  if (size > 1) {
    test_page(t, (int32_t)size - 1, mask, want);
    skip = x_jcc32(b, CC_E);
  } else {
    skip = x_jmp32(b);
  }
  x_fix8(first, b->p);
  wb_tx_clean_call(t, (void *)wb_watchpt_jit_check, size | ((unsigned)kind << 8));
  x_fix32(skip, b->p);
}

void wb_tx_watch_after(tctx *t) {
  static const uint8_t cmp8 = 0x80;
  x_op(&t->b, 0, &cmp8, 1, 7, 1, X_RBP, X_NOINDEX, JD(watch_hit));   /* cmp byte [hart.watch_hit], 0 */
  x_b(&t->b, 0);
  wb_tx_add_stub(t, x_jcc32(&t->b, CC_NE), JX_WATCH, t->end_pc, -1, 0);
  if (!t->full) t->stubs[t->nstubs - 1].idx = t->i + 1;   /* this instruction retired */
}

#endif /* WB_HAVE_JIT */
