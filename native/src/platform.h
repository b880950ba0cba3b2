/* platform.h — the seam between the ISA (the tiers) and what surrounds the harts.
 *
 * A platform says what traps, CSRs beyond the unprivileged ones and privileged instructions
 * mean, and owns the guest's memory layout and program loading. The tiers and machine.c call
 * only this table, never a platform directly, so the Linux user-mode ABI (user/platform.c, the
 * one platform today, like QEMU's linux-user cpu_loop) and a system platform (a board with
 * privileged modes, devices and interrupts) are interchangeable behind it.
 */
#ifndef WB_PLATFORM_H
#define WB_PLATFORM_H
#include <stddef.h>
#include <stdint.h>
#include "hart.h"
#include "trap.h"

struct wb_machine;

/* privileged instructions, handed to priv_op */
enum wb_priv_op { WB_PRIV_MRET, WB_PRIV_SRET, WB_PRIV_WFI, WB_PRIV_SFENCE_VMA };

typedef struct wb_platform {
  const char *name;
  uint64_t mem_size;             /* bytes of guest (physical) address space */
  int (*init)(struct wb_machine *m, char *err, size_t errlen);
  void (*fini)(struct wb_machine *m);
  /* load a program and set hart 0 up to run it */
  int (*load)(struct wb_machine *m, const char *path, int argc, const char *const *argv,
              int envc, const char *const *envp, char *err, size_t errlen);
  /* a trap (trap.h: wb_trap_raise's contract) */
  int (*on_trap)(wb_hart *h, const wb_trap *t);
  /* CSRs other than the unprivileged ones (csr.c): 0, or -1 when the access is illegal.
   * NULL: every such CSR is illegal. */
  int (*csr_read)(wb_hart *h, unsigned csr, uint64_t *value);
  int (*csr_write)(wb_hart *h, unsigned csr, uint64_t value);
  /* the value a csrrs/csrrc modifies where it differs from what a read returns (mip: only
   * the software-writable SEIP bit takes part, not the interrupt controller's line). NULL:
   * csr_read's value. */
  int (*csr_read_rmw)(wb_hart *h, unsigned csr, uint64_t *value);
  /* may h access the unprivileged CSR csr now (system mode: FS Off makes the FP CSRs
   * illegal; mcounteren/scounteren gate cycle, time, instret)? 0 yes, -1 illegal. NULL:
   * always. */
  int (*csr_check)(wb_hart *h, unsigned csr);
  /* a privileged instruction at h->pc: 0 done (h->pc moved on), -1 illegal here. NULL: all
   * illegal. */
  int (*priv_op)(wb_hart *h, enum wb_priv_op op);
  /* the run loop is about to run h (its tier returned at an instruction boundary): act on
   * what is pending for it (user mode: signals, possibly redirecting h to a handler). NULL:
   * nothing ever is. */
  void (*deliver)(wb_hart *h);
  /* parallel schedule: h just blocked while another thread may have made something pending
   * for it (a signal sent before it began to wait): end the wait (wb_sched_wake) if so.
   * NULL: nothing interrupts waits. */
  void (*recheck_wait)(wb_hart *h);
  /* every hart waits and none has a timeout: let guest time pass to the platform's next
   * event (user mode: ITIMER_REAL) and act on it, which may wake a hart. 1 if there was
   * one, 0 if nothing can ever happen (a deadlock). NULL: nothing ever does. */
  int (*idle)(struct wb_machine *m);
  /* the run reached m->timer_insn before a block of n instructions: deliver what is due
   * (timers, device events) and set the next m->timer_insn. NULL: nothing is ever due. */
  void (*events_due)(struct wb_machine *m, uint32_t n);
  /* wb_machine_run returns (the calling thread runs no hart any more). NULL: nothing to do. */
  void (*run_end)(struct wb_machine *m);
  /* address of a program symbol (function wrapping): 0 and *addr, or -1 */
  int (*symbol)(struct wb_machine *m, const char *name, uint64_t *addr);
  /* reserve len bytes of free guest address space for a client, out of the guest's own
   * reach: its address, or 0 */
  uint64_t (*reserve)(struct wb_machine *m, uint64_t len);
  void (*unreserve)(struct wb_machine *m, uint64_t addr, uint64_t len); /* unmapped pages */
  const char *(*syscall_name)(int nr); /* for reports: NULL when the platform has none */
} wb_platform;

/* The Linux user-mode platform (user/platform.c). */
extern const wb_platform wb_user_platform;

#endif
