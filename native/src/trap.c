/* trap.c — raising traps (trap.h): the one way out of a tier for ecalls, illegal
 * instructions, breakpoints and memory faults; the platform decides what they mean. */
#include "trap.h"
#include "client.h"
#include "decode.h"
#include "machine.h"
#include "platform.h"

int wb_trap_raise(wb_hart *h, const wb_trap *t) {
  wb_machine *m = h->m;
  wb_lock(m);
  /* parallel: another thread ended the process meanwhile; this one does nothing more */
  int r = m->stop_reason != WB_REASON_NONE && !wb_reason_resumable(m->stop_reason)
              ? 1 : m->platform->on_trap(h, t);
  wb_unlock(m);
  return r;
}

int wb_trap_memory(wb_hart *h, uint64_t pc, uint64_t addr, const char *what) {
  wb_trap t = {WB_CAUSE_FETCH_ACCESS, addr, what};
  uint32_t raw;
  if (addr != pc && wb_machine_insn_raw(h->m, pc, &raw) == 0) {
    wb_insn in;
    unsigned size;
    int kind;
    wb_decode(raw, &in);
    if (wb_insn_mem_info(&in, &size, &kind))
      t.cause = kind == WB_MEM_LOAD ? WB_CAUSE_LOAD_ACCESS : WB_CAUSE_STORE_ACCESS;
  }
  h->pc = pc;
  return wb_trap_raise(h, &t);
}
