/* trap.h — what a tier raises when an instruction cannot simply complete: a RISC-V trap
 * {cause, tval}, handed to the machine's platform (platform.h).
 *
 * The tiers know nothing of Linux or of privilege: an ecall, an illegal instruction, a memory
 * fault, an ebreak (and, in system mode, an interrupt) all leave the tier through
 * wb_trap_raise(). The platform decides what it means: the user-mode platform runs a syscall or
 * ends the run with a reason; a system platform would enter the trap vector.
 */
#ifndef WB_TRAP_H
#define WB_TRAP_H
#include <stdint.h>
#include "hart.h"

/* mcause/scause exception codes (privileged spec, table "Machine cause register values") */
enum wb_cause {
  WB_CAUSE_FETCH_MISALIGNED = 0, WB_CAUSE_FETCH_ACCESS = 1, WB_CAUSE_ILLEGAL = 2,
  WB_CAUSE_BREAKPOINT = 3, WB_CAUSE_LOAD_MISALIGNED = 4, WB_CAUSE_LOAD_ACCESS = 5,
  WB_CAUSE_STORE_MISALIGNED = 6, WB_CAUSE_STORE_ACCESS = 7, WB_CAUSE_ECALL_U = 8,
  WB_CAUSE_ECALL_S = 9, WB_CAUSE_ECALL_M = 11, WB_CAUSE_FETCH_PAGE = 12,
  WB_CAUSE_LOAD_PAGE = 13, WB_CAUSE_STORE_PAGE = 15,
};
#define WB_CAUSE_INTERRUPT (1ull << 63) /* set in cause for an interrupt */

typedef struct wb_trap {
  uint64_t cause;      /* enum wb_cause, | WB_CAUSE_INTERRUPT for interrupts */
  uint64_t tval;       /* faulting address, or the instruction bits (illegal) */
  const char *what;    /* memory faults: why, in words (for the run's stop message) */
} wb_trap;

/* Raise trap t on hart h. h->pc is the trapping instruction and h->instret counts the
 * instructions before it (an ecall counts itself: the Linux ABI sees it complete). Returns 0
 * when the hart goes on at h->pc (the platform moved it: past the ecall, to a trap vector),
 * 1 when the run stops (the machine's stop reason is set). */
int wb_trap_raise(wb_hart *h, const wb_trap *t);

/* Raise a memory-access trap for the instruction at pc touching addr (load, store or fetch
 * decided from the instruction): the common path of every tier's memory faults. */
int wb_trap_memory(wb_hart *h, uint64_t pc, uint64_t addr, const char *what);

#endif
