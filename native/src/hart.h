/* hart.h — one hardware thread: the architectural state every tier runs on, and the per-thread
 * engine state that goes with it (fault recovery, the active memory view, wrapped calls in
 * flight, client slots).
 *
 * A machine owns its harts (machine.h: harts[], nharts; one per guest thread in user mode,
 * one per CPU later; scheduler.h creates them and chooses which one runs). Tiers run a hart
 * (wb_interp_run(h), wb_jit_run(h)); traps, client hooks and syscalls are handed the hart
 * that raised them. Everything shared by all harts (memory, clients, the run's stop reason,
 * and the code caches under the deterministic schedule) stays in the machine.
 */
#ifndef WB_HART_H
#define WB_HART_H
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#define WB_XSINK 32 /* index of the write sink that stands in for x0 as a destination */
#define WB_MAX_HARTS 1024 /* harts a machine creates over a run (guest threads ever started) */
#define WB_MAX_CLIENT_SLOTS 16 /* per-hart client slots (wb_hart_slot): one per client */
#define WB_MAX_STREAMS 32      /* client event streams per machine (stream.c) */

/* what a hart is doing (scheduler.c) */
enum { WB_HART_RUNNABLE = 0, WB_HART_BLOCKED, WB_HART_EXITED };

/* privilege levels (the encoding of mstatus.MPP) */
enum { WB_PRIV_U = 0, WB_PRIV_S = 1, WB_PRIV_M = 3 };

struct wb_machine;
struct wb_wrap_frame;

/* This hart's part of one event stream (stream.c): its own buffer and write position, so
 * harts never share a cursor. Translated code appends at `cur` and leaves for more room past
 * `end`, addressing both from the hart (jit/instrument.c). */
typedef struct wb_stream_seg {
  uint8_t *cur;         /* next free byte */
  uint8_t *end;         /* appends past this ask for room (growth, or a drain) first */
  uint8_t *buf;
  uint64_t cap;
} wb_stream_seg;

typedef struct wb_hart {
  /* ---- architectural state. Translated code addresses these fields at fixed offsets from
   * its base register (jit_internal.h: JD/JDX/JDF), so they stay first and in this order. */
  uint64_t x[33];        /* x[0] is always 0; decoded insns with rd = 0 write x[WB_XSINK] */
  uint64_t f[32];        /* raw FP registers (singles NaN-boxed) */
  uint64_t pc;
  uint64_t instret;      /* instructions retired */
  uint64_t reservation;  /* LR/SC reserved address; WB_NO_RESERVATION when none */
  uint64_t priv_arg;     /* operand of the privileged instruction the platform is doing:
                            sfence.vma's virtual address (UINT64_MAX: every address) */
  uint32_t fflags;       /* accrued FP exceptions (5 bits): the unprivileged CSR file with frm */
  uint32_t frm;          /* dynamic rounding mode (3 bits) */
  /* JIT tier scratch (jit/): instructions left before the dispatcher must look at limits,
   * a value passed out of translated code, and the bound of guest addresses */
  int64_t jit_left;
  uint64_t jit_mark;     /* instret = jit_mark - jit_left (inside translated code) */
  uint64_t jit_scratch;
  uint64_t jit_bound;
  uint64_t jit_base;     /* a mirrored access's memory base, chosen by its filter test
                            (jit/instrument.c): the primary view's or the hart's own */

  /* ---- privileged state: the privilege level; the platform keeps its per-hart state behind
   * `plat` (user mode: the guest thread's tid, futex wait, robust list; system mode: the
   * privileged CSRs) */
  int priv;
  void *plat;

  /* ---- scheduling (scheduler.c) */
  int state;             /* WB_HART_* */
  uint64_t wait_seq;     /* blocked: when it started waiting (wakeups go in this order) */
  uint64_t wake_ns;      /* blocked: guest monotonic time of its timeout (0: none) */
  uint64_t timeout_a0;   /* blocked: a0 when the timeout wakes it */

  /* ---- code caches this hart runs from: the machine's (m->interp, m->jit) under the
   * deterministic schedule, where harts take turns on one host thread; under the parallel one
   * every hart but hart 0 has its own, so lookups, chaining and flushes need no lock (as
   * DynamoRIO's thread-private caches and DRK's per-CPU ones) */
  struct wb_interp *interp;
  struct wb_jit *jit;
  /* the tier returns to the run loop at its next check (it blocked, exited, yielded, has a
   * signal to take); set by the hart's own host thread, cleared by the run loop */
  volatile int leave;
  /* another host thread asks this hart to look at the machine at its next block boundary
   * (a signal for it, a flush): never mid-block, where an instruction would run twice */
  volatile int poke;
  volatile int flush_pending;  /* parallel: another thread dropped translations: drop ours */
  uint64_t reserved_value;     /* the value LR read: SC stores only if memory still holds it */

  /* ---- parallel schedule (parallel.c): this hart's host thread */
  pthread_t thread;
  int has_thread;
  volatile int in_host_call;   /* in a host call that may block, without the engine lock */
  pthread_cond_t wakeup;       /* it waits here while blocked or while the machine is paused */

  /* ---- engine state of this hart */
  struct wb_machine *m;
  int id;                /* 0..nharts-1; the guest thread/CPU number clients see */
  int view;              /* the memory view this hart's accesses go through (mem.h) */
  /* host fault recovery: where a host SIGSEGV inside a guest access lands, and what the
   * handler found out (machine.c) */
  sigjmp_buf fault_jmp;
  volatile int in_guest;        /* 1 while guest code runs on this hart */
  volatile int fault_recovered; /* the tier restored the guest state inside the handler */
  volatile int fault_view;      /* the memory view the fault happened in */
  volatile int fault_smc;       /* the fault was a write to write-protected translated code */
  uint64_t fault_addr;          /* guest address of the last fault */
  /* the watchpoint unit (watch/online.c): a watch trap is due after the current instruction
   * (translated code tests watch_hit after a checked access), at the access's address; the
   * last filter-view fault checked (so a fault seen twice is checked once) */
  volatile uint8_t watch_hit;
  volatile uint8_t in_fault_handler;   /* completing a view fault inside the signal handler */
  uint64_t watch_addr;
  uint64_t watch_seen_pc, watch_seen_icount;
  /* taint tracking (watch/taint.c): a byte mask per register (bit i: byte i is tainted), the
   * access a trigger noted (pending until it completes), the tainted a0..a7 of an ecall */
  struct {
    uint8_t x[32], f[32];
    uint8_t on;          /* some register may be tainted: the JIT runs taint copies */
    uint8_t scratch[2];  /* the taint copy's inline stores: a changed shadow word, kept */
    uint64_t propagated; /* instructions run with propagation (stepped, or in taint copies) */
    uint64_t since;      /* instret when on was last set */
    uint8_t pending;
    uint32_t sysargs;
    uint64_t pend_pc, pend_addr;
  } taint;
  /* calls of wrapped functions that have not returned (client.c's wrapping, per thread) */
  struct wb_wrap_frame *frames;
  size_t nframes, capframes;
  void *slots[WB_MAX_CLIENT_SLOTS]; /* per-hart client data (wb_hart_slot) */
  void *locals[WB_MAX_CLIENT_SLOTS]; /* per-hart client data the engine frees (wb_hart_local) */
  uint64_t *counters[WB_MAX_CLIENT_SLOTS]; /* per-hart counter tables (wb_bb_count_hart):
                                              WB_HART_COUNTERS each, reserved, zero until used */
  wb_stream_seg streams[WB_MAX_STREAMS]; /* this hart's records of stream i (stream.c) */
} wb_hart;

#define WB_NO_RESERVATION (~(uint64_t)0)

/* ABI register numbers used by the syscall layer */
enum { WB_REG_RA = 1, WB_REG_SP = 2, WB_REG_GP = 3, WB_REG_TP = 4, WB_REG_A0 = 10, WB_REG_A1,
       WB_REG_A2, WB_REG_A3, WB_REG_A4, WB_REG_A5, WB_REG_A6, WB_REG_A7 };

/* The hart running on this host thread (NULL outside a run); signal-safe. */
wb_hart *wb_hart_current(void);

#endif
