/* machine.h — the engine's internal machine object: harts, memory, run control and stats.
 *
 * Public callers see only the opaque wb_machine of engine.h. Inside the engine, the execution
 * tiers (interp.c, jit/), the platform (user/: the Linux ABI) and the run loop (machine.c)
 * share this struct. Ownership: machine.c creates and destroys it and its harts; the platform
 * owns `user`; interp.c owns `interp`, jit/ owns `jit`, client.c owns `clients`.
 */
#ifndef WB_MACHINE_H
#define WB_MACHINE_H
#include <pthread.h>
#include "wb/engine.h"
#include "hart.h"
#include "mem.h"

/* Not a stop of the run: wb_machine_stop(m, WB_REASON_SWITCH, ...) makes the calling hart
 * leave its tier (hart.h: leave) because it blocked, exited, yielded, used up its quantum or
 * has a signal to take; the run loop goes on (scheduler.c). Never returned by wb_machine_run. */
#define WB_REASON_SWITCH 64

/* Parallel schedule: a hart running translated code looks at the machine (stops, pauses,
 * flushes, signals, timers, the budget) at least every this many of its instructions. */
#define WB_PAR_POLL (1u << 16)

struct wb_user;
struct wb_interp;
struct wb_jit;
struct wb_clients;

struct wb_platform;
struct wb_system;

struct wb_machine {
  wb_hart *harts[WB_MAX_HARTS]; /* hart 0 runs the program's main thread */
  int nharts;
  wb_hart *running;          /* the hart the run loop runs (scheduler.c) */
  uint64_t others_insns;     /* instructions retired by every hart but `running` */
  uint64_t slice_end;        /* stop `running` when the machine's count passes this (its
                              * quantum; UINT64_MAX while one thread is live) */
  uint64_t slice_start;      /* the machine's count when `running` was chosen */
  uint64_t sched_rng;        /* seeded choice of the next hart (deterministic) */
  uint64_t wait_seq;         /* counts waits, so wakeups are first come first served */
  int yielding;              /* the running hart asked to let others go first */
  struct {                   /* the parallel schedule (parallel.c) */
    int on;                  /* harts run on worker threads; wb_machine_run's thread waits */
    int quit;                /* the run ended for good: workers end */
    int alive;               /* worker threads that have not ended */
    int parked;              /* workers waiting: their hart is blocked or the machine stopped */
    pthread_mutex_t lock;    /* the engine lock (wb_lock) */
    pthread_cond_t coord;    /* wb_machine_run's thread waits here */
    uint64_t last_ns;        /* the guest's monotonic clock never goes back */
  } par;
  const struct wb_platform *platform; /* what traps, CSRs and privileged ops mean (platform.h) */
  wb_mem mem;
  wb_config cfg;             /* copy; cfg.root / cfg.cwd point at root_buf / cwd_buf */
  char *root_buf, *cwd_buf;
  struct wb_user *user;      /* user-mode state: fds, brk, mmap cursor, rng (user/) */
  struct wb_system *sys;     /* system-mode state: board, RAM (system/); NULL in user mode */
  struct wb_interp *interp;  /* block cache of the interpreter tier */
  struct wb_jit *jit;        /* code cache of the JIT tier (NULL when the tier is interp) */
  struct wb_clients *clients;/* registered analysis clients and their streams (client.c) */
  struct wb_watchpt *watch;  /* the watchpoint unit (watch/online.c); NULL when off */
  struct wb_taint *taint;    /* taint tracking on the unit (watch/taint.c); NULL when off */
  volatile int drain_requested; /* a stream passed its high-water mark: pause the run */
  int loaded;
  int started;               /* the first run began (clients saw the main thread start) */

  /* run control: set by whoever stops the run, read by machine.c */
  int stop_reason;           /* enum wb_reason, WB_REASON_NONE while running */
  int exit_code;
  uint64_t fault_addr;       /* the address of the fault that stopped the run */
  char message[512];
  uint64_t view_faults;      /* view faults completed through the primary view */
  uint64_t start_ns;         /* host monotonic time when the current run started */
  uint64_t sleep_ns;         /* deterministic mode: guest time slept, added to the clocks */
  uint64_t timer_insn;       /* instruction count (of the machine, wb_machine_insns) at which
                              * the guest's timers need a look (both tiers stop there as at
                              * the budget); UINT64_MAX: none armed */

  /* stats */
  uint64_t syscall_counts[WB_MAX_SYSCALL];
  uint64_t unknown_syscalls[WB_MAX_SYSCALL];
  uint64_t unknown_other;
  uint64_t syscalls_total;
  uint64_t blocks_translated;
  uint64_t cache_flushes;
  uint64_t retranslations;   /* blocks translated again for a marked instruction (jit.c) */
  uint64_t hart_switches;    /* deterministic schedule: the running hart changed (scheduler.c) */
};

/* The running hart's instret at which the tiers must next look at the limits: the budget, a
 * timer or the end of its quantum, whichever comes first (UINT64_MAX: none). These are kept
 * as counts of the whole machine; the running hart's own count is that minus others_insns. */
static inline uint64_t wb_machine_stop_insn(const wb_hart *h) {
  const wb_machine *m = h->m;
  if (m->par.on) return h->instret + WB_PAR_POLL;  /* limits are looked at every poll */
  uint64_t s = m->timer_insn;
  if (m->cfg.max_insns && m->cfg.max_insns < s) s = m->cfg.max_insns;
  if (m->slice_end < s) s = m->slice_end;
  if (s == UINT64_MAX) return s;
  return s > m->others_insns ? s - m->others_insns : 0;
}

/* A FENCE (imm = fm, pred, succ) the x86-64 host must carry out while other threads run: one
 * that orders earlier stores before later loads (pred has W, succ has R), which TSO alone does
 * not; every other ordering RVWMO asks for, x86's TSO already gives (FENCE.TSO included). */
static inline int wb_fence_needs_host(const wb_machine *m, int32_t imm) {
  return m->par.on && (imm >> 8) != 8 && ((imm >> 4) & 1) && (imm & 2);
}

/* A stop after which wb_machine_run may be called again to go on (a limit, a drain pause). */
static inline int wb_reason_resumable(int reason) {
  return reason == WB_REASON_BUDGET || reason == WB_REASON_WALLCLOCK || reason == WB_REASON_DRAIN;
}

/* The hart this host thread runs in m: the running hart (deterministic schedule) or this
 * worker's (parallel); NULL on a thread that runs none (the coordinator). */
wb_hart *wb_machine_self(const wb_machine *m);
/* The run ends (a final stop), or the calling hart must leave its tier (a switch): what a
 * syscall in progress must give way to. */
int wb_stopping(const wb_machine *m);
/* The calling hart must leave its tier (a switch), the run going on. */
int wb_switching(const wb_machine *m);
/* The engine lock (parallel schedule; nothing otherwise): taken by a hart's host thread
 * whenever it leaves guest code for shared engine state (traps and syscalls, building blocks,
 * client calls, completing faults, limits). Recursive per host thread. */
void wb_lock(wb_machine *m);
void wb_unlock(wb_machine *m);
/* Around a host call that may block for long (a read of the embedder's stdin, a poll on host
 * fds): let the other threads into the engine meanwhile. wb_lock_drop returns what
 * wb_lock_retake needs. */
int wb_lock_drop(wb_machine *m);
void wb_lock_retake(wb_machine *m, int depth);

/* Stop the run (called from syscalls, faults and limits). fmt is printf-style. */
void wb_machine_stop(wb_machine *m, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The limits both tiers check before hart h runs a block of n instructions: a pending stop,
 * a drain request, the instruction budget, (when wall_due) the wall clock, and the platform's
 * events due by then (timers). Returns 1 if the run must stop; *next_wall_check moves on each
 * time the clock is read. */
int wb_machine_limits_hit(wb_hart *h, uint32_t n, int wall_due, uint64_t *next_wall_check);
/* Nanoseconds of the run's wall-clock limit left (UINT64_MAX: no limit; 0: reached). */
uint64_t wb_machine_wall_left_ns(const wb_machine *m);
/* The encoding of the instruction at pc (16 bits if compressed): 0, or -1 if unreadable. */
int wb_machine_insn_raw(wb_machine *m, uint64_t pc, uint32_t *raw);
/* The instruction at pc disassembled into dis ("?" if unreadable), for stop messages. */
void wb_machine_insn_text(wb_machine *m, uint64_t pc, char *dis, size_t n, uint32_t *raw);
/* Ask every running tier to return to its dispatcher at the next block entry, where it looks
 * at the machine again (a drain request, a hart's new view). Not for signal handlers. */
void wb_machine_request_exit(wb_machine *m);
/* The guest address bound changed (a window view was added): the tiers pick it up. */
void wb_machine_layout_changed(wb_machine *m);
/* Drop translated/decoded code overlapping [addr, addr+len) (munmap, mprotect, fence.i). */
void wb_machine_invalidate_code(wb_machine *m, uint64_t addr, uint64_t len);
/* The machine running on this host thread (NULL outside wb_machine_run); signal-safe. */
wb_machine *wb_machine_current(void);
/* Create a machine on platform p (wb_machine_create: the Linux user-mode one; system/boot.c:
 * the virt board). */
wb_machine *wb_machine_new(const wb_config *cfg, const struct wb_platform *p, char *err, size_t errlen);
/* Host monotonic clock in ns. */
uint64_t wb_host_ns(void);
/* The guest's clock in ns since the Unix epoch: virtual (from the instructions retired by all
 * harts) in deterministic mode,
 * else the host's CLOCK_REALTIME. Monotonic clocks use the same source minus boot offset. */
uint64_t wb_guest_realtime_ns(const wb_machine *m);
uint64_t wb_guest_monotonic_ns(const wb_machine *m);
/* The monotonic clock as it reads when the running hart's instret is `instret` (deterministic
 * mode; the host clock otherwise): for reads from inside a block, where cpu.instret already
 * counts the whole block. */
uint64_t wb_guest_monotonic_ns_at(const wb_machine *m, uint64_t instret);
/* Let ns of guest time pass without running guest code: deterministic mode moves the clocks
 * on (sleep_ns), otherwise the host thread sleeps (never far past the wall-clock limit). */
void wb_guest_pass_time(wb_machine *m, int64_t ns);

#endif
