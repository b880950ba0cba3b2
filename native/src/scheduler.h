/* scheduler.h — which harts exist and which one runs: hart creation, blocking, waking, exit, and
 * the deterministic interleaving of guest threads on one host thread.
 *
 * Harts are created by the platform (user mode: clone) and never freed before the machine,
 * so their stream segments and instruction counts outlive them. One hart runs at a time:
 * the running hart runs until it blocks (a futex wait, a sleep), exits, yields, or its
 * quantum of instructions is used up; the tiers notice at a block boundary (the slice end is
 * one more "stop at instruction N" beside the budget and the timers, wb_machine_stop_insn),
 * return to the run loop with WB_REASON_SWITCH, and wb_sched_switch picks the next hart with
 * a seeded generator. A run's interleaving therefore depends only on the program, its inputs,
 * the seed and the quantum: the same run gives the same instruction counts, outputs and event
 * streams every time. Blocked harts with a timeout wake when the guest clock passes it; when
 * every live hart is blocked, the clock jumps to the earliest timeout, and with none the run
 * ends with WB_REASON_DEADLOCK.
 */
#ifndef WB_SCHED_H
#define WB_SCHED_H
#include <stdint.h>
#include "hart.h"

struct wb_machine;

/* A new hart (state zeroed, runnable, stream segments allocated), or NULL when the machine
 * has WB_MAX_HARTS harts or no memory (err says which). Clients see it start later, when the
 * caller calls wb_sched_started. */
wb_hart *wb_sched_add(struct wb_machine *m, char *err, size_t errlen);
/* h's thread started: clients' on_thread hooks run for it. */
void wb_sched_started(wb_hart *h);
/* The running hart h waits: until wb_sched_wake, or until the guest monotonic clock reaches
 * wake_ns (0: no timeout; it then wakes with a0 = timeout_a0). Switches away. */
void wb_sched_block(wb_hart *h, uint64_t wake_ns, uint64_t timeout_a0);
/* A blocked hart runs again; its a0 (the result of the call it waited in) becomes a0. */
void wb_sched_wake(wb_hart *h, uint64_t a0);
/* h's thread has ended (clients see it end); switches away. Returns the live harts left. */
int wb_sched_exit(wb_hart *h);
/* The running hart lets another runnable hart go first (sched_yield). */
void wb_sched_yield(wb_hart *h);
/* The run loop, after the tier returned with WB_REASON_SWITCH: choose the hart to run next
 * and make it m->running. Returns 0 if the run must stop (reason set: deadlock). */
int wb_sched_switch(struct wb_machine *m);
/* The running hart used up its quantum: 1 if another hart can run (a switch is due), else a
 * new quantum starts (0), which spares leaving the tier when the others all wait. */
int wb_sched_quantum_over(struct wb_machine *m);
/* Every live hart waits: let guest time pass to the earliest timeout and wake the harts due
 * then, or let the platform's events (an interval timer) wake one, or stop the run with
 * WB_REASON_DEADLOCK. Returns 0 if the run stopped. */
int wb_sched_idle(struct wb_machine *m);
/* Wake the blocked harts whose timeout the guest clock has passed. */
void wb_sched_wake_timed_out(struct wb_machine *m);
/* Harts whose thread has not ended. */
int wb_sched_live(const struct wb_machine *m);
/* Instructions retired by all harts so far (the deterministic clock's count). */
uint64_t wb_machine_insns(const struct wb_machine *m);

#endif
