/* platform.c — Linux user mode as a platform (platform.h): an ecall is a syscall; a fault,
 * an illegal instruction or an ebreak becomes the guest's signal when it has a handler for
 * it (signal.c) and otherwise ends the run with its own reason; pending signals are
 * delivered before a thread runs; privileged CSRs and instructions are illegal, and the
 * layout is user.h's. */
#include <stdio.h>
#include <string.h>
#include "../machine.h"
#include "../platform.h"
#include "../user.h"
#include "user_internal.h"
#include "../watch/watch.h"

static int user_on_trap(wb_hart *h, const wb_trap *t) {
  wb_machine *m = h->m;
  char dis[96];
  uint32_t raw = 0;
  switch (t->cause) {
    case WB_CAUSE_ECALL_U:
      if (wb_user_syscall(h) || wb_stopping(m)) {
        /* a process that ended did so after its ecall; a thread that blocked, yielded or
         * exited goes on (if ever) after it too */
        if (m->stop_reason == WB_REASON_EXIT || m->stop_reason == WB_REASON_SIGNAL ||
            wb_reason_resumable(m->stop_reason) || (m->stop_reason == WB_REASON_NONE && h->leave))
          h->pc += 4;
        return 1;
      }
      h->pc += 4;
      return 0;
    case WB_CAUSE_BREAKPOINT:
      if (t->what && strcmp(t->what, WB_WATCH_TRAP_WHAT) == 0) {  /* after a watched access */
        if (wb_signal_has_handler(m, 5)) {  /* SIGTRAP, TRAP_HWBKPT, si_addr: the access */
          wb_signal_force(h, 5, 4, t->tval);
          return 1;
        }
        wb_machine_stop(m, WB_REASON_EBREAK, "watchpoint hit: an access at 0x%llx just before pc 0x%llx "
                        "(the guest has no SIGTRAP handler)", (unsigned long long)t->tval,
                        (unsigned long long)h->pc);
        return 1;
      }
      if (wb_signal_has_handler(m, 5)) {  /* SIGTRAP, TRAP_BRKPT */
        wb_signal_force(h, 5, 1, h->pc);
        return 1;
      }
      wb_machine_stop(m, WB_REASON_EBREAK, "ebreak at pc 0x%llx (no debugger attached)",
                      (unsigned long long)h->pc);
      return 1;
    case WB_CAUSE_ILLEGAL:
      if (wb_signal_has_handler(m, 4)) {  /* SIGILL, ILL_ILLOPC */
        wb_signal_force(h, 4, 1, h->pc);
        return 1;
      }
      wb_machine_insn_text(m, h->pc, dis, sizeof dis, &raw);
      wb_machine_stop(m, WB_REASON_ILLEGAL, "illegal instruction at pc 0x%llx: %0*x (%s)",
                      (unsigned long long)h->pc, (raw & 3) == 3 ? 8 : 4, raw, dis);
      return 1;
    default: { /* memory faults (access, page, misaligned) */
      int bus = t->what && strncmp(t->what, "bus error", 9) == 0;
      int sig = bus ? 7 : 11;
      if (wb_signal_has_handler(m, sig)) {
        int mapped = wb_mem_check(&m->mem, t->tval, 1, WB_PROT_R) ||
                     wb_mem_check(&m->mem, t->tval, 1, WB_PROT_W);
        /* SIGBUS: BUS_ADRERR; SIGSEGV: SEGV_ACCERR on a mapped page, SEGV_MAPERR else */
        wb_signal_force(h, sig, bus ? 2 : mapped ? 2 : 1, t->tval);
        return 1;
      }
      wb_machine_insn_text(m, h->pc, dis, sizeof dis, &raw);
      m->fault_addr = t->tval;
      wb_machine_stop(m, WB_REASON_FAULT, "memory fault at pc 0x%llx (%s): %s, address 0x%llx",
                      (unsigned long long)h->pc, dis, t->what ? t->what : "access fault",
                      (unsigned long long)t->tval);
      return 1;
    }
  }
}

static void user_events_due(wb_machine *m, uint32_t n) { wb_user_timers_due(m, n); }

/* every thread waits: only the interval timer can still end a wait */
static int user_idle(wb_machine *m) { return wb_user_alarm_wait(m); }

/* a thread is about to run: its pending signals first */
static void user_deliver(wb_hart *h) { wb_signals_deliver(h); }
static void user_recheck_wait(wb_hart *h) { wb_signal_interrupt_wait(h); }

const wb_platform wb_user_platform = {
    .name = "linux-user",
    .mem_size = WB_GUEST_SPACE,
    .init = wb_user_init,
    .fini = wb_user_fini,
    .load = wb_user_load,
    .on_trap = user_on_trap,
    .csr_read = NULL,   /* no privileged CSRs in user mode */
    .csr_write = NULL,
    .priv_op = NULL,    /* mret, sret, wfi, sfence.vma: illegal */
    .deliver = user_deliver,
    .recheck_wait = user_recheck_wait,
    .idle = user_idle,
    .events_due = user_events_due,
    .symbol = wb_user_symbol,
    .reserve = wb_user_reserve,
    .unreserve = wb_user_unreserve,
    .syscall_name = wb_user_syscall_name,
};
