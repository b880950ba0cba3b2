/* scheduler.c — harts and their scheduling (scheduler.h): creating harts, blocking and waking them,
 * thread exit, and the seeded, deterministic choice of the hart that runs next.
 *
 * Why one host thread: interleaving guest threads at instruction counts chosen by a seeded
 * generator makes a multithreaded run reproducible bit for bit (the same instruction
 * counts, outputs and event streams every time), which notebooks and race-detector tests
 * need. A switch happens only at a block boundary, when the running hart blocks, exits,
 * yields or has run its quantum; the tiers see the quantum as one more "stop at instruction
 * N" (wb_machine_stop_insn) and return with WB_REASON_SWITCH, so single-threaded programs
 * (no quantum while one thread is live) run exactly as before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "machine.h"
#include "parallel.h"
#include "platform.h"
#include "scheduler.h"

#define DEFAULT_QUANTUM 20000

uint64_t wb_machine_insns(const wb_machine *m) {
  if (m->par.on) {  /* each hart's count as it stands (translated code updates it at exits) */
    uint64_t n = 0;
    for (int i = 0; i < m->nharts; i++) n += m->harts[i]->instret;
    return n;
  }
  return m->others_insns + (m->running ? m->running->instret : 0);
}

static uint64_t quantum(const wb_machine *m) {
  return m->cfg.quantum ? m->cfg.quantum : DEFAULT_QUANTUM;
}

static void request_switch(wb_machine *m) {
  wb_machine_stop(m, WB_REASON_SWITCH, "switching harts");
}

wb_hart *wb_sched_add(wb_machine *m, char *err, size_t errlen) {
  if (m->nharts >= WB_MAX_HARTS) {
    snprintf(err, errlen, "this run already started %d threads (the engine's limit)", WB_MAX_HARTS);
    return NULL;
  }
  /* a hart starts a page, so translated code's hottest data (registers, counters, stream
   * cursors) sits at the same page offsets in every run, whatever the heap did before */
  size_t size = (sizeof(wb_hart) + WB_PAGE_SIZE - 1) & ~(size_t)(WB_PAGE_SIZE - 1);
  wb_hart *h = aligned_alloc(WB_PAGE_SIZE, size);
  if (!h) { snprintf(err, errlen, "out of host memory"); return NULL; }
  memset(h, 0, sizeof *h);
  h->m = m;
  h->id = m->nharts;
  h->priv = WB_PRIV_U;
  h->reservation = WB_NO_RESERVATION;
  h->state = WB_HART_RUNNABLE;
  h->view = m->nharts ? m->harts[0]->view : 0;  /* the machine-wide view clients chose */
  if (m->cfg.schedule == WB_SCHEDULE_DETERMINISTIC || m->nharts == 0) {
    h->interp = m->interp;    /* shared; a parallel thread's own are made by its worker */
    h->jit = m->jit;
  }
  pthread_cond_init(&h->wakeup, NULL);
  if (m->clients && (wb_streams_hart_init(h) != 0 || wb_counters_hart_init(h) != 0)) {
    free(h);
    snprintf(err, errlen, "out of host memory");
    return NULL;
  }
  m->harts[m->nharts++] = h;
  return h;
}

int wb_sched_live(const wb_machine *m) {
  int n = 0;
  for (int i = 0; i < m->nharts; i++) n += m->harts[i]->state != WB_HART_EXITED;
  return n;
}

/* The running hart gets a quantum when another thread is live, else runs unbounded. */
static void start_slice(wb_machine *m) {
  uint64_t now = wb_machine_insns(m);
  m->slice_start = now;
  m->slice_end = wb_sched_live(m) > 1 && m->cfg.schedule == WB_SCHEDULE_DETERMINISTIC
                     ? now + quantum(m) : UINT64_MAX;
}

void wb_sched_started(wb_hart *h) {
  wb_machine *m = h->m;
  wb_clients_thread(h, 1);
  if (m->cfg.schedule == WB_SCHEDULE_PARALLEL) {
    if (m->par.on) wb_par_start(h);
    else request_switch(m);  /* the run loop gives every thread a host thread */
    return;
  }
  if (m->slice_end == UINT64_MAX && wb_sched_live(m) > 1) start_slice(m);
}

void wb_sched_block(wb_hart *h, uint64_t wake_ns, uint64_t timeout_a0) {
  wb_machine *m = h->m;
  h->state = WB_HART_BLOCKED;
  h->wait_seq = ++m->wait_seq;
  h->wake_ns = wake_ns;
  h->timeout_a0 = timeout_a0;
  request_switch(m);
}

void wb_sched_wake(wb_hart *h, uint64_t a0) {
  if (h->state != WB_HART_BLOCKED) return;
  h->state = WB_HART_RUNNABLE;
  h->x[WB_REG_A0] = a0;
  if (h->m->par.on) pthread_cond_signal(&h->wakeup);
}

int wb_sched_exit(wb_hart *h) {
  h->state = WB_HART_EXITED;
  wb_clients_thread(h, 0);
  request_switch(h->m);
  return wb_sched_live(h->m);
}

void wb_sched_yield(wb_hart *h) {
  wb_machine *m = h->m;
  if (m->cfg.schedule == WB_SCHEDULE_PARALLEL) {
    h->leave = 2;  /* its worker yields the host CPU before it runs on */
    return;
  }
  m->yielding = 1;
  request_switch(m);
}

/* Wake the blocked harts whose timeout has passed at guest time now. */
static void wake_timed_out(wb_machine *m, uint64_t now) {
  for (int i = 0; i < m->nharts; i++) {
    wb_hart *h = m->harts[i];
    if (h->state == WB_HART_BLOCKED && h->wake_ns && h->wake_ns <= now)
      wb_sched_wake(h, h->timeout_a0);
  }
}

static uint64_t next_rand(wb_machine *m) {  /* xorshift64*: the scheduler's own stream */
  uint64_t x = m->sched_rng ? m->sched_rng : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  m->sched_rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

int wb_sched_quantum_over(wb_machine *m) {
  wake_timed_out(m, wb_guest_monotonic_ns(m));
  for (int i = 0; i < m->nharts; i++)
    if (m->harts[i] != m->running && m->harts[i]->state == WB_HART_RUNNABLE) return 1;
  start_slice(m);  /* nobody else can run: the running hart goes on without a switch */
  return 0;
}

void wb_sched_wake_timed_out(wb_machine *m) { wake_timed_out(m, wb_guest_monotonic_ns(m)); }

int wb_sched_idle(wb_machine *m) {
  uint64_t first = 0;
  int waiting = 0;
  for (int i = 0; i < m->nharts; i++) {
    wb_hart *h = m->harts[i];
    if (h->state != WB_HART_BLOCKED) continue;
    waiting++;
    if (h->wake_ns && (!first || h->wake_ns < first)) first = h->wake_ns;
  }
  if (!first) {
    /* the platform's own events (a timer's signal) may still wake one; a signal to take
     * wakes its thread (EINTR), which the caller then finds runnable */
    if (m->platform->idle && m->platform->idle(m)) return m->stop_reason == WB_REASON_NONE;
    wb_machine_stop(m, WB_REASON_DEADLOCK,
                    "deadlock: all %d live threads wait (futex, pipe) and none has a timeout", waiting);
    return 0;
  }
  uint64_t now = wb_guest_monotonic_ns(m);
  if (first > now) wb_guest_pass_time(m, first - now);
  wake_timed_out(m, first);
  return m->stop_reason == WB_REASON_NONE;  /* e.g. the wall-clock limit */
}

int wb_sched_switch(wb_machine *m) {
  wb_hart *cur = m->running;
  uint64_t total = wb_machine_insns(m);
  int yielded = m->yielding;
  m->yielding = 0;
  /* a context switch breaks an LR/SC pair, as on hardware: the SC after it fails */
  cur->reservation = WB_NO_RESERVATION;
  wake_timed_out(m, wb_guest_monotonic_ns(m));
  wb_hart *pick[WB_MAX_HARTS];
  int n = 0;
  for (;;) {
    n = 0;
    for (int i = 0; i < m->nharts; i++)
      if (m->harts[i]->state == WB_HART_RUNNABLE && !(yielded && m->harts[i] == cur))
        pick[n++] = m->harts[i];
    if (n == 0 && yielded && cur->state == WB_HART_RUNNABLE) pick[n++] = cur;
    if (n) break;
    if (!wb_sched_idle(m)) return 0;
  }
  wb_hart *next = pick[n == 1 ? 0 : next_rand(m) % (uint64_t)n];
  m->others_insns = total - next->instret;
  if (next != cur) m->hart_switches++;   /* a switch of memory view too (per-thread views) */
  m->running = next;
  start_slice(m);
  return 1;
}
