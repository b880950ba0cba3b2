/* mmu_flat.c — the JIT's memory-access chokepoint for the flat backend (mmu.h): where a
 * translated load or store finds its host address.
 *
 * Guest address = base register + 12-bit offset, reached as [rbx + base + disp] with rbx the
 * hart's memory view. The base is checked against the bound once per block (until it is
 * written again): the guard regions around the view (64 KiB below, 1 MiB above) catch the
 * offset, so a checked base plus any offset faults precisely instead of reaching host memory.
 * An unchecked base out of range leaves the block (JX_INTERP) and the interpreter runs that
 * one instruction with its exact semantics. A soft-TLB backend would emit its probe here and
 * return the host address in a scratch register; translate.c does not change. A load or store
 * the watchpoint unit checks inline goes through the primary view instead (rdx), where the
 * pages its filter view denies are open; a mirrored one (wb_bb_mirror_mem) through the base its
 * filter test chose (hart.jit_base).
 */
#include "tctx.h"

#if WB_HAVE_JIT

wb_tx_addr wb_tx_mem(tctx *t, unsigned rs1, int64_t imm) {
  if (t->J->sys) return wb_tx_mem_sys(t, rs1, imm);   /* system mode: the soft TLB (mmu_sys.c) */
  int a = hreg(t, rs1);
  if (a < 0) { wb_tx_ld(t, X_RAX, rs1); a = X_RAX; }
  if (rs1 != 0 && !(t->checked & (1u << rs1))) {
    x_rm(&t->b, XW, XA_CMP, a, X_RBP, JD(jit_bound));
    wb_tx_add_stub(t, x_jcc32(&t->b, CC_AE), JX_INTERP, t->pc, -1, 0);
    t->checked |= 1u << rs1;
  }
  if (t->mirror == TX_MIRROR_CHOSEN) {   /* wb_bb_mirror_mem's test chose the view */
    x_rm(&t->b, XW, XA_MOV, X_RDX, X_RBP, JD(jit_base));
    return (wb_tx_addr){X_RDX, a, (int32_t)imm};
  }
  if (t->mirror) {   /* checked by the watchpoint unit: the primary view, never denied */
    x_mov_imm(&t->b, X_RDX, (uint64_t)(uintptr_t)t->m->mem.base);
    return (wb_tx_addr){X_RDX, a, (int32_t)imm};
  }
  return (wb_tx_addr){X_RBX, a, (int32_t)imm};
}

#endif /* WB_HAVE_JIT */
