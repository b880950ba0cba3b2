/* machine.h — the engine's internal machine object: CPU, memory, run control and stats.
 *
 * Public callers see only the opaque wb_machine of engine.h. Inside the engine, the execution
 * tiers (interp.c, later jit/), the user-mode layer (user/) and the run loop (machine.c) share
 * this struct. Ownership: machine.c creates and destroys it; user/ owns `user`; interp.c owns
 * `interp`.
 */
#ifndef WB_MACHINE_H
#define WB_MACHINE_H
#include <setjmp.h>
#include "wb/engine.h"
#include "cpu.h"
#include "mem.h"

struct wb_user;
struct wb_interp;
struct wb_jit;
struct wb_clients;

struct wb_machine {
  wb_cpu cpu;
  wb_mem mem;
  wb_config cfg;             /* copy; cfg.root / cfg.cwd point at root_buf / cwd_buf */
  char *root_buf, *cwd_buf;
  struct wb_user *user;      /* user-mode state: fds, brk, mmap cursor, rng (user/) */
  struct wb_interp *interp;  /* block cache of the interpreter tier */
  struct wb_jit *jit;        /* code cache of the JIT tier (NULL when the tier is interp) */
  struct wb_clients *clients;/* registered analysis clients and their streams (client.c) */
  volatile int drain_requested; /* a stream passed its high-water mark: pause the run */
  int loaded;
  int started;               /* the first run began (clients saw the main thread start) */

  /* run control: set by whoever stops the run, read by machine.c */
  int stop_reason;           /* enum wb_reason, WB_REASON_NONE while running */
  int exit_code;
  uint64_t fault_addr;
  char message[512];
  sigjmp_buf fault_jmp;      /* where a host SIGSEGV inside a guest access lands */
  volatile int in_guest;     /* 1 while guest code runs (the SIGSEGV handler checks it) */
  volatile int fault_recovered; /* the tier restored the guest state inside the handler */
  volatile int fault_view;   /* the memory view the fault happened in */
  volatile int fault_smc;    /* the fault was a write to write-protected translated code */
  uint64_t view_faults;      /* view faults completed through the primary view */
  uint64_t reserve_cursor;     /* wb_guest_reserve: next search starts below it (0: mid-space) */
  uint64_t start_ns;         /* host monotonic time when the current run started */
  uint64_t sleep_ns;         /* deterministic mode: guest time slept, added to the clocks */
  uint64_t timer_insn;       /* instret at which the guest's timers need a look (both tiers
                              * stop there as at the budget); UINT64_MAX: none armed */

  /* stats */
  uint64_t syscall_counts[WB_MAX_SYSCALL];
  uint64_t unknown_syscalls[WB_MAX_SYSCALL];
  uint64_t unknown_other;
  uint64_t syscalls_total;
  uint64_t blocks_translated;
  uint64_t cache_flushes;
};

/* Stop the run (called from syscalls, faults and limits). fmt is printf-style. */
void wb_machine_stop(wb_machine *m, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The limits both tiers check before a block of n instructions: a pending stop, a drain
 * request, the instruction budget and (when wall_due) the wall clock. Returns 1 if the run
 * must stop; *next_wall_check moves on each time the clock is read. */
int wb_machine_limits_hit(wb_machine *m, uint32_t n, int wall_due, uint64_t *next_wall_check);
/* Stop with a memory fault at guest address `addr` while executing at `pc`. */
void wb_machine_fault(wb_machine *m, uint64_t pc, uint64_t addr, const char *what);
/* Drop translated/decoded code overlapping [addr, addr+len) (munmap, mprotect, fence.i). */
void wb_machine_invalidate_code(wb_machine *m, uint64_t addr, uint64_t len);
/* The machine running on this host thread (NULL outside wb_machine_run); signal-safe. */
wb_machine *wb_machine_current(void);
/* Host monotonic clock in ns. */
uint64_t wb_host_ns(void);
/* The guest's clock in ns since the Unix epoch: virtual (from instret) in deterministic mode,
 * else the host's CLOCK_REALTIME. Monotonic clocks use the same source minus boot offset. */
uint64_t wb_guest_realtime_ns(const wb_machine *m);
uint64_t wb_guest_monotonic_ns(const wb_machine *m);
/* The monotonic clock as it reads when `instret` instructions have retired (deterministic
 * mode; the host clock otherwise): for reads from inside a block, where cpu.instret already
 * counts the whole block. */
uint64_t wb_guest_monotonic_ns_at(const wb_machine *m, uint64_t instret);

#endif
