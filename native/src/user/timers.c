/*
 * timers.c — the guest's interval timers (setitimer/getitimer, and alarm(), which both libcs
 * build on ITIMER_REAL) and its sleeps.
 *
 * ITIMER_REAL counts on the guest's monotonic clock and raises SIGALRM; ITIMER_VIRTUAL and
 * ITIMER_PROF count guest CPU time and raise SIGVTALRM and SIGPROF. In deterministic mode the
 * clocks advance with retired instructions (and sleeps advance the monotonic clock by the time
 * slept, without waiting), so a timer fires at the same instruction count every run; otherwise
 * they follow the host clock. The run loop does not read clocks per block: the tiers stop at
 * m->timer_insn (an instruction count, like the budget) and call wb_user_timers_due, which
 * expires what is due and sets the next stop. A signal is acted on as the kernel would with no
 * handler (default action: end the run with WB_REASON_SIGNAL; SIG_IGN: nothing; blocked:
 * pending); a handler cannot run yet (no signal delivery), which ends the run with a message
 * saying so.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "user_internal.h"
#include "../scheduler.h"

#define POLL_INSNS (1u << 20) /* non-deterministic mode: read the host clock this often */

static const int timer_signal[WB_NTIMERS] = {14, 26, 27}; /* SIGALRM, SIGVTALRM, SIGPROF */

/* Timer `which`'s clock, as it reads after `ahead` more instructions (deterministic mode). */
static uint64_t timer_now(wb_machine *m, int which, uint64_t ahead) {
  const wb_hart *self = wb_machine_self(m);
  uint64_t t = wb_guest_monotonic_ns_at(m, self->instret + ahead);
  if (which == 0) return t;
  uint64_t base = wb_u(m)->cpu_start_ns + m->sleep_ns; /* CPU time does not pass in sleeps */
  return t > base ? t - base : 0;
}

/* Set m->timer_insn: the next instruction count at which a timer may be due. */
static void rearm(wb_machine *m) {
  wb_user *u = wb_u(m);
  uint64_t ir = wb_machine_insns(m), next = UINT64_MAX;
  for (int w = 0; w < WB_NTIMERS; w++) {
    if (!u->itimer[w].deadline_ns) continue;
    uint64_t at;
    if (!m->cfg.deterministic) {
      at = ir + POLL_INSNS;
    } else {
      uint64_t now = timer_now(m, w, 0), d = u->itimer[w].deadline_ns;
      uint64_t npi = m->cfg.ns_per_insn;
      at = d <= now ? ir : ir + (d - now + npi - 1) / npi;
    }
    if (at < next) next = at;
  }
  m->timer_insn = next;
}

/* Expire the timers due by `ahead` more instructions; re-arm the periodic CPU-time ones past
 * that point (overruns coalesce into one signal, as the kernel counts them). */
static void expire(wb_machine *m, uint64_t ahead) {
  wb_user *u = wb_u(m);
  for (int w = 0; w < WB_NTIMERS && m->stop_reason == WB_REASON_NONE; w++) {
    struct wb_itimer *t = &u->itimer[w];
    if (!t->deadline_ns) continue;
    uint64_t now = timer_now(m, w, ahead);
    if (now < t->deadline_ns) continue;
    if (t->interval_ns && w != 0) {
      uint64_t late = now - t->deadline_ns;
      t->deadline_ns += (late / t->interval_ns + 1) * t->interval_ns;
    } else {
      /* Linux re-arms ITIMER_REAL only when a thread takes SIGALRM
       * (wb_user_alarm_dequeued); until then it stops, keeping its interval, exactly as
       * getitimer then shows on a real kernel (an ignored SIGALRM is never taken) */
      t->expired_ns = t->deadline_ns;
      t->deadline_ns = 0;
    }
    wb_signal_self(m, timer_signal[w]);
  }
}

void wb_user_timers_due(wb_machine *m, uint32_t n) {
  expire(m, m->cfg.deterministic ? n : 0);
  rearm(m);
  /* the tiers run the next block only if no stop is due inside it */
  uint64_t now = wb_machine_insns(m);
  if (m->timer_insn <= now + n && m->stop_reason == WB_REASON_NONE)
    m->timer_insn = now + n + (m->cfg.deterministic ? 1 : POLL_INSNS);
}

/* ---- sleeping ---- */

long wb_guest_sleep(wb_machine *m, int64_t ns) {
  wb_user *u = wb_u(m);
  uint64_t end = timer_now(m, 0, 0) + (uint64_t)(ns > 0 ? ns : 0);
  if (wb_sched_live(m) > 1) {
    /* other threads run meanwhile: this one waits until the clock passes `end` */
    if (ns > 0) wb_sched_block(wb_machine_self(m), end, 0);
    return 0;
  }
  for (;;) {
    uint64_t now = timer_now(m, 0, 0), d = u->itimer[0].deadline_ns; /* only ITIMER_REAL */
    if (now >= end && !(d && d <= now)) break;                       /* runs in a sleep */
    int fires = d && d <= end;
    uint64_t target = fires ? d : end;
    if (target > now) wb_guest_pass_time(m, (int64_t)(target - now));
    if (wb_machine_wall_left_ns(m) == 0) break; /* the run loop stops the run right after */
    if (fires) {
      /* default action ends the run; ignored or blocked signals do not end a sleep, and a
       * handler cannot run (deliver() stops the run saying so) */
      expire(m, 0);
      if (wb_switching(m)) {  /* a handler runs: the sleep is interrupted */
        rearm(m);
        return -EINTR;
      }
      if (m->stop_reason != WB_REASON_NONE) break;
    }
  }
  rearm(m);
  return 0;
}

void wb_user_alarm_dequeued(wb_machine *m) {
  struct wb_itimer *t = &wb_u(m)->itimer[0];
  if (t->deadline_ns || !t->interval_ns || !t->expired_ns) return;
  uint64_t now = timer_now(m, 0, 0), d = t->expired_ns;
  d += (now >= d ? (now - d) / t->interval_ns + 1 : 1) * t->interval_ns;  /* next period after now */
  t->deadline_ns = d;
  t->expired_ns = 0;
  rearm(m);
}

int wb_user_alarm_wait(wb_machine *m) {
  wb_user *u = wb_u(m);
  uint64_t d = u->itimer[0].deadline_ns;
  if (!d) return 0;
  uint64_t now = timer_now(m, 0, 0);
  if (d > now) wb_guest_pass_time(m, (int64_t)(d - now));
  expire(m, 0);
  rearm(m);
  return 1;
}

int wb_guest_wait_timer(wb_machine *m) {
  wb_user *u = wb_u(m);
  uint64_t d = u->itimer[0].deadline_ns;
  if (!d) return 0;
  uint64_t now = timer_now(m, 0, 0);
  wb_guest_sleep(m, d > now ? (int64_t)(d - now) : 0);
  return 1;
}

/* ---- the syscalls ---- */

static int put_itimerval(wb_machine *m, uint64_t addr, const struct wb_itimer *t, uint64_t now) {
  uint64_t left = t->deadline_ns > now ? t->deadline_ns - now : (t->deadline_ns ? 1000 : 0);
  int64_t v[4] = {(int64_t)(t->interval_ns / 1000000000), (int64_t)(t->interval_ns % 1000000000 / 1000),
                  (int64_t)(left / 1000000000), (int64_t)(left % 1000000000 / 1000)};
  return wb_mem_write(&m->mem, addr, v, sizeof v) != 0 ? -EFAULT : 0;
}

WB_SYS(getitimer) {
  if (a[0] >= WB_NTIMERS) return -EINVAL;
  int w = (int)a[0];
  return put_itimerval(m, a[1], &wb_u(m)->itimer[w], timer_now(m, w, 0));
}

WB_SYS(setitimer) {
  if (a[0] >= WB_NTIMERS) return -EINVAL;
  int w = (int)a[0];
  int64_t v[4] = {0, 0, 0, 0};
  if (a[1] && wb_mem_read(&m->mem, a[1], v, sizeof v) != 0) return -EFAULT;
  for (int i = 0; i < 4; i++)
    if (v[i] < 0 || ((i & 1) && v[i] >= 1000000)) return -EINVAL;
  for (int i = 0; i < 4; i += 2)
    if (v[i] > INT64_MAX / 2000000000) return -EINVAL; /* beyond any guest clock */
  wb_user *u = wb_u(m);
  struct wb_itimer *t = &u->itimer[w];
  uint64_t now = timer_now(m, w, 0);
  if (a[2]) {
    long r = put_itimerval(m, a[2], t, now);
    if (r) return r;
  }
  uint64_t value = (uint64_t)v[2] * 1000000000u + (uint64_t)v[3] * 1000u;
  t->interval_ns = (uint64_t)v[0] * 1000000000u + (uint64_t)v[1] * 1000u;
  t->deadline_ns = value ? now + value : 0;
  rearm(m);
  return 0;
}
