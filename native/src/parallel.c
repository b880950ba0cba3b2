/* parallel.c — the parallel schedule: one host thread per guest thread, the engine lock, and
 * how wb_machine_run's thread waits for, pauses and ends the workers.
 *
 * A run starts on the calling thread exactly as under the deterministic schedule. When a
 * second guest thread starts, every live hart gets a host thread of its own (a *worker*) and
 * the calling thread becomes the *coordinator*: it sleeps until the run stops, wakes harts
 * whose timeouts passed, lets guest time pass when every thread waits, and detects deadlocks.
 *
 * What is shared and how:
 * - Guest code runs without any lock. Every hart but hart 0 has its own code caches (hart.h),
 *   so lookups, chaining and flushes are private; a flush another thread asks for (fence.i,
 *   munmap, a store into translated code) is done by each hart at its next look at the
 *   machine (flush_pending).
 * - Everything else a hart touches when it leaves guest code (traps and syscalls, block
 *   building and the clients' on_block, client calls and wrappers, faults, limits and timers)
 *   runs under one engine lock (wb_lock): a big kernel lock, as early SMP kernels had. It is
 *   recursive per host thread because those paths nest.
 * - A hart looks at the machine at least every WB_PAR_POLL of its instructions (the tiers'
 *   limit check): a stop of the run, a drain, a flush, a signal to take (leave).
 * - Blocking is the deterministic schedule's own: a hart that waits (futex, sleep) leaves its
 *   tier and its worker sleeps on the hart's condition variable until a wakeup, so the
 *   syscall layer has one semantics for both schedules.
 * - Pausing: a stop of the run (exit, fault, budget, a drain) makes every worker park; the
 *   coordinator returns once all are parked, so Python reads event streams while no guest
 *   code runs; the next wb_machine_run wakes them (or, for a final stop, ends them).
 * - Atomics are the host's (interp_ops.h: AMOs are host atomic operations; SC is a compare and
 *   swap with the value LR read).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "interp.h"
#include "jit/jit.h"
#include "machine.h"
#include "parallel.h"
#include "platform.h"
#include "scheduler.h"

static __thread int t_depth; /* how many times this host thread holds the engine lock */

void wb_lock(wb_machine *m) {
  if (!m->par.on) return;
  if (t_depth++ == 0) pthread_mutex_lock(&m->par.lock);
}

void wb_unlock(wb_machine *m) {
  if (!m->par.on) return;
  if (--t_depth == 0) pthread_mutex_unlock(&m->par.lock);
}

/* The signal that interrupts a worker's blocking host call (a read of the embedder's stdin)
 * when the run pauses or ends: its handler does nothing, the call fails with EINTR. */
#define WB_INTERRUPT_SIGNAL SIGURG
static void on_interrupt(int sig) { (void)sig; }

int wb_lock_drop(wb_machine *m) {
  if (!m->par.on || t_depth == 0) return 0;
  wb_hart *h = wb_hart_current();
  if (h) h->in_host_call = 1;
  /* The coordinator interrupts harts in host calls only while it knows of them: it may have
   * looked (a pause under way, this hart not yet in its call) and gone to sleep; a pause
   * that began before the caller checks stop_reason is seen there, one that begins later
   * finds in_host_call set. Without this a read of stdin could hold a pause until input came. */
  pthread_cond_signal(&m->par.coord);
  int depth = t_depth;
  t_depth = 0;
  pthread_mutex_unlock(&m->par.lock);
  return depth;
}

void wb_lock_retake(wb_machine *m, int depth) {
  if (!depth) return;
  pthread_mutex_lock(&m->par.lock);
  t_depth = depth;
  wb_hart *h = wb_hart_current();
  if (h) h->in_host_call = 0;
}

void wb_par_unlock_all(wb_machine *m) {
  if (m->par.on && t_depth > 0) {
    t_depth = 0;
    pthread_mutex_unlock(&m->par.lock);
  }
}

void wb_par_kick(wb_hart *h) {
  h->poke = 1;
  if (h->m->par.on) pthread_cond_signal(&h->wakeup);
}

/* Drop this hart's own translations (another thread invalidated code). */
static void flush_own(wb_hart *h) {
  h->flush_pending = 0;
  wb_interp_flush(h->interp, h->m);
  wb_jit_flush(h->jit);
}

static void *worker(void *arg) {
  wb_hart *h = arg;
  wb_machine *m = h->m;
  /* asynchronous host signals go to the embedder's threads; guest faults stay ours */
  sigset_t all;
  sigfillset(&all);
  static const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
  for (unsigned i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++) sigdelset(&all, sync_sigs[i]);
  sigdelset(&all, WB_INTERRUPT_SIGNAL);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  wb_set_current_hart(h);
  wb_lock(m);
  char err[128];
  if (!h->interp) h->interp = wb_interp_new(err, sizeof err);
  if (!h->interp || (m->cfg.tier == WB_TIER_JIT && !h->jit &&
                     !(h->jit = wb_jit_new(m, m->cfg.jit_cache_bytes, err, sizeof err))))
    wb_machine_stop(m, WB_REASON_INTERNAL, "cannot give guest thread %d its code caches: %s", h->id, err);
  for (;;) {
    int yield = h->leave == 2;
    h->leave = 0;
    h->poke = 0;
    if (h->state == WB_HART_BLOCKED && m->platform->recheck_wait) m->platform->recheck_wait(h);
    while (!m->par.quit && h->state != WB_HART_EXITED &&
           (h->state == WB_HART_BLOCKED || m->stop_reason != WB_REASON_NONE)) {
      m->par.parked++;
      pthread_cond_signal(&m->par.coord);
      pthread_cond_wait(&h->wakeup, &m->par.lock);
      m->par.parked--;
    }
    if (m->par.quit || h->state == WB_HART_EXITED) break;
    if (h->flush_pending) flush_own(h);
    if (m->platform->deliver) m->platform->deliver(h); /* pending signals, at this boundary */
    if (m->stop_reason != WB_REASON_NONE || h->state != WB_HART_RUNNABLE) continue;
    h->leave = 0;
    wb_unlock(m);
    if (yield) sched_yield();
    wb_run_hart(h);
    wb_lock(m);
  }
  if (h->interp != m->interp) wb_interp_free(h->interp);
  if (h->jit != m->jit) wb_jit_free(h->jit);
  h->interp = NULL;
  h->jit = NULL;
  m->par.alive--;
  pthread_cond_signal(&m->par.coord);
  wb_unlock(m);
  wb_set_current_hart(NULL);
  return NULL;
}

int wb_par_start(wb_hart *h) {
  wb_machine *m = h->m;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8u << 20);  /* the interpreter and clients' hooks run here */
  int e = pthread_create(&h->thread, &attr, worker, h);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    wb_machine_stop(m, WB_REASON_INTERNAL, "cannot start a host thread for guest thread %d: %s",
                    h->id, strerror(e));
    return -1;
  }
  h->has_thread = 1;
  m->par.alive++;
  return 0;
}

static void wake_all(wb_machine *m) {
  for (int i = 0; i < m->nharts; i++)
    if (m->harts[i]->has_thread) pthread_cond_signal(&m->harts[i]->wakeup);
}

/* 1 when no hart can run: every live one waits. */
static int all_waiting(const wb_machine *m) {
  for (int i = 0; i < m->nharts; i++)
    if (m->harts[i]->state == WB_HART_RUNNABLE) return 0;
  return 1;
}

/* The earliest timeout of a waiting hart (guest monotonic ns; 0: none). */
static uint64_t first_timeout(const wb_machine *m) {
  uint64_t first = 0;
  for (int i = 0; i < m->nharts; i++) {
    const wb_hart *h = m->harts[i];
    if (h->state == WB_HART_BLOCKED && h->wake_ns && (!first || h->wake_ns < first)) first = h->wake_ns;
  }
  return first;
}

static void deadline_after(struct timespec *ts, uint64_t ns) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  uint64_t t = (uint64_t)ts->tv_nsec + ns;
  ts->tv_sec += (time_t)(t / 1000000000u);
  ts->tv_nsec = (long)(t % 1000000000u);
}

void wb_par_run(wb_machine *m) {
  static int interrupt_installed;
  if (!interrupt_installed) {  /* no SA_RESTART: the interrupted call returns EINTR */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(WB_INTERRUPT_SIGNAL, &sa, NULL);
    interrupt_installed = 1;
  }
  if (!m->par.on) {
    m->par.on = 1;
    /* hart 0's translations were made for one thread (plain counter increments) */
    wb_interp_flush(m->interp, m);
    wb_jit_flush(m->jit);
    wb_lock(m);
    for (int i = 0; i < m->nharts && m->stop_reason == WB_REASON_NONE; i++)
      if (m->harts[i]->state != WB_HART_EXITED && !m->harts[i]->has_thread)
        wb_par_start(m->harts[i]);
  } else {
    wb_lock(m);
    wake_all(m);  /* resume after a pause */
  }
  for (;;) {
    if (m->par.alive == 0 || (m->stop_reason != WB_REASON_NONE && m->par.parked == m->par.alive))
      break;
    uint64_t wait_ns = 0;  /* 0: until a worker signals */
    if (m->stop_reason != WB_REASON_NONE) {
      /* stopping: a worker blocked in a host call (stdin) cannot park until the call ends */
      for (int i = 0; i < m->nharts; i++)
        if (m->harts[i]->has_thread && m->harts[i]->in_host_call) {
          pthread_kill(m->harts[i]->thread, WB_INTERRUPT_SIGNAL);
          wait_ns = 1000000;
        }
    } else {
      wb_sched_wake_timed_out(m);
      if (all_waiting(m) && m->par.parked == m->par.alive &&
          (m->cfg.deterministic || !first_timeout(m))) {
        /* nobody runs: guest time passes to the earliest timeout (on the host clock the
         * timed wait below lets it pass), a timer fires, or deadlock */
        if (!wb_sched_idle(m)) continue;
        wake_all(m);
        continue;
      }
      /* timed waits end as the guest clock passes them: look every millisecond */
      if (first_timeout(m)) wait_ns = 1000000;
      uint64_t wall = wb_machine_wall_left_ns(m);
      if (wall == 0) {
        wb_machine_stop(m, WB_REASON_WALLCLOCK, "wall-clock limit of %g s reached", m->cfg.wall_limit_s);
        continue;
      }
      if (wall != UINT64_MAX && (!wait_ns || wall < wait_ns)) wait_ns = wall;
    }
    if (wait_ns) {
      struct timespec ts;
      deadline_after(&ts, wait_ns);
      pthread_cond_timedwait(&m->par.coord, &m->par.lock, &ts);
    } else {
      pthread_cond_wait(&m->par.coord, &m->par.lock);
    }
  }
  if (m->stop_reason == WB_REASON_NONE)
    wb_machine_stop(m, WB_REASON_INTERNAL, "every guest thread's host thread ended without a stop reason");
  wb_unlock(m);
  if (!wb_reason_resumable(m->stop_reason)) wb_par_end(m);  /* the run is over */
}

void wb_par_end(wb_machine *m) {
  if (!m->par.on) return;
  wb_lock(m);
  m->par.quit = 1;
  wake_all(m);
  wb_unlock(m);
  for (int i = 0; i < m->nharts; i++)
    if (m->harts[i]->has_thread) {
      pthread_join(m->harts[i]->thread, NULL);
      m->harts[i]->has_thread = 0;
    }
}
