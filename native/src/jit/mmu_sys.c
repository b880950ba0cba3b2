/* mmu_sys.c — the JIT's memory-access chokepoint in system mode (mmu.h): the inline probe of
 * the soft TLB (system/mmu.c) on the hit path, and the call into the soft MMU on a miss.
 *
 * While a cache's code runs, rbx holds the TLB entries of its privilege (jit.c passes them
 * where user mode passes the memory view). A load or store at va = rs1 + imm becomes
 *     rax = va; rdx = 64 * ((va >> 12) % WB_TLB_SIZE)   (as (va >> 6) & mask: one shift)
 *     rcx = (va + size - 1) >> 12
 *     cmp rcx, [rbx + rdx].rtag (a store: .wtag); jne miss
 *     add rax, [rbx + rdx].addend                      -> the translator's access [rax]
 * One compare checks the page, the permission (a tag is the page number only where the
 * inline path may go: RAM, and for a store a dirty page no cached code came from) and that
 * the access stays in the page (its last byte's page). The miss paths (a call of
 * wb_jit_sys_mem through the cache's trampoline, then a jump back) follow the block's body,
 * out of the hot path. The soft MMU walks the page table, raises page faults precisely,
 * reaches devices, marks written code and refills the entry, so the next access to the page
 * hits. LR/SC and the AMOs always take the call.
 */
#include <stddef.h>
#include <string.h>
#include "tctx.h"
#include "../system/system.h"

#if WB_HAVE_JIT

_Static_assert(sizeof(wb_tlb_entry) == 64 && (WB_TLB_SIZE & (WB_TLB_SIZE - 1)) == 0,
               "the inline probe indexes the TLB with (vpage & (size - 1)) << 6");

/* The call into the soft MMU for instruction `in` (on the spilled registers; on return the
 * mapped registers are reloaded, so rd holds what the access wrote). */
static void sys_mem_call(tctx *t, const wb_insn *in) {
  wb_jit_exit *e = wb_tx_new_exit(t, JX_STOP, t->pc, t->i);
  wb_dinsn *d = wb_jit_meta_alloc(t->J, sizeof *d);
  if (!e || !d) { t->full = 1; return; }
  e->amount = in->op | ((uint64_t)in->len << 16);
  memset(d, 0, sizeof *d);
  int fp_dest = in->op == WB_OP_FLW || in->op == WB_OP_FLD;
  d->rd = (uint8_t)(in->rd == 0 && !fp_dest ? WB_XSINK : in->rd);
  d->rs1 = in->rs1;
  d->rs2 = in->rs2;
  d->imm = (int32_t)in->imm;
  x86_buf *b = &t->b;
  x_mov_imm(b, X_RCX, (uint64_t)(uintptr_t)e);
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)d);
  x_b(b, 0xe8);                                   /* call J->sys_mem_call (spills, reloads) */
  uint8_t *field = b->p;
  x_d32(b, 0);
  x_fix32(field, t->J->sys_mem_call);
  x_rr(b, 0, XA_TEST, X_RAX, X_RAX);
  wb_tx_add_stub(t, x_jcc32(b, CC_NE), JX_STOP, t->pc, -1, 0);
}

static int inline_op(tctx *t, const wb_insn *in) {
  if (!t->J->tlb) return 0;
  switch (in->op) {
    case WB_OP_LB: case WB_OP_LBU: case WB_OP_LH: case WB_OP_LHU: case WB_OP_LW: case WB_OP_LWU:
    case WB_OP_LD: case WB_OP_SB: case WB_OP_SH: case WB_OP_SW: case WB_OP_SD:
    case WB_OP_FLW: case WB_OP_FLD: case WB_OP_FSW: case WB_OP_FSD:
      return 1;
    default:
      return 0;
  }
}

wb_tx_addr wb_tx_mem_sys(tctx *t, unsigned rs1, int64_t imm) {
  x86_buf *b = &t->b;
  /* rbx = this cache's TLB entries (jit.c passes them where user mode passes its view) */
  int32_t tag = (int32_t)(t->mem_store ? offsetof(wb_tlb_entry, wtag) : offsetof(wb_tlb_entry, rtag));
  wb_tx_ld(t, X_RAX, rs1);
  if (imm) x_alu_imm(b, XW, XA_ADD, 0, X_RAX, 0, (int32_t)imm);   /* rax = va */
  x_rr(b, 0, XA_MOV, X_RDX, X_RAX);
  x_shift_imm(b, 0, 5, X_RDX, 12 - 6);                            /* the slot of va's page, */
  x_alu_imm(b, 0, XA_AND, 0, X_RDX, 0, (WB_TLB_SIZE - 1) << 6);   /* times 64: its offset */
  x_rm(b, XW, 0x8d, X_RCX, X_RAX, (int32_t)t->mem_size - 1);      /* lea: the last byte */
  x_shift_imm(b, XW, 5, X_RCX, 12);                               /* ... its page */
  /* one compare: the right page, allowed, and the access stays in it */
  x_rmx(b, XW, XA_CMP, X_RCX, X_RBX, X_RDX, tag);
  t->sys_miss = x_jcc32(b, CC_NE);
  x_rmx(b, XW, XA_ADD, X_RAX, X_RBX, X_RDX, (int32_t)offsetof(wb_tlb_entry, addend));
  return (wb_tx_addr){X_RAX, X_NOINDEX, 0};
}

void wb_tx_sys_mem(tctx *t, const wb_insn *in, void (*access)(tctx *t, const wb_insn *in)) {
  if (!inline_op(t, in)) { sys_mem_call(t, in); return; }
  unsigned msize;
  int mkind;
  wb_insn_mem_info(in, &msize, &mkind);
  t->mem_size = msize;
  t->mem_store = mkind != 0;
  t->sys_miss = NULL;
  access(t, in);                       /* the translator: probe (wb_tx_mem), access, rd */
  if (!t->sys_miss || t->nsys_defer >= WB_BLOCK_MAX) { t->full = 1; return; }
  t->sys_defer[t->nsys_defer].miss = t->sys_miss;
  t->sys_defer[t->nsys_defer].done = t->b.p;
  t->sys_defer[t->nsys_defer].in = *in;
  t->sys_defer[t->nsys_defer].i = t->i;
  t->sys_defer[t->nsys_defer].pc = t->pc;
  t->nsys_defer++;
  t->fwd_reg = -1;   /* the miss path arrives here with only the guest registers right */
}

int wb_tx_sys_mem_misses(tctx *t) {
  unsigned i = t->i;
  uint64_t pc = t->pc;
  for (unsigned k = 0; k < t->nsys_defer; k++) {
    if (t->b.end - t->b.p < 96) return 0;
    x_fix32(t->sys_defer[k].miss, t->b.p);
    t->i = t->sys_defer[k].i;
    t->pc = t->sys_defer[k].pc;
    sys_mem_call(t, &t->sys_defer[k].in);
    x_fix32(x_jmp32(&t->b), t->sys_defer[k].done);
  }
  t->nsys_defer = 0;
  t->i = i;
  t->pc = pc;
  return !t->full;
}

#endif /* WB_HAVE_JIT */
