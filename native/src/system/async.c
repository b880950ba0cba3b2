/* async.c — system mode's asynchronous side, when device time follows the host clock
 * (wb_config.deterministic = 0): a host thread for the board's timer deadlines, and a mailbox
 * for events other host threads post while the hart runs (console input, injected software
 * interrupts, work a device's I/O thread finished: host.post), so that interrupts arrive at
 * arbitrary moments inside translated code.
 *
 * The board is only ever changed on the hart's own host thread, so it needs no lock: another
 * thread posts to the mailbox under its mutex, then interrupts the hart's thread with
 * WB_SYS_SIGNAL. The handler makes the running tier leave at its next block boundary (the
 * JIT: r15 in the signal context, as the sampler does; the interpreter notices at its next
 * poll of the board, at most 64K instructions later) and the platform applies the mailbox
 * (wb_sys_async_poll) before it looks at interrupts. The timer thread sleeps until the
 * board's next deadline in host time, then interrupts the hart the same way. An interrupt is
 * thus taken at the first instruction boundary at which the hart looks, never inside an
 * instruction, and none is lost: a posted event stays in the mailbox until the hart applied
 * it. The interrupt log's arrival time of an injected interrupt is when it was posted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "system.h"
#include "../jit/jit.h"
#include "../machine.h"

#define WB_API __attribute__((visibility("default")))
#define RX_MAILBOX 4096
#define POSTED_MAX 16   /* devices with work to finish (each posts once until it is run) */

struct wb_sys_async {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t timer;               /* the deadline thread */
  int stop;
  pthread_t hart_thread;         /* the host thread running the hart, while `running` */
  int running;
  uint64_t deadline_ns;          /* host time at which the board needs a tick (UINT64_MAX) */
  volatile int pending;          /* the mailbox holds something (read without the lock) */
  uint32_t ipi;                  /* harts with an injected software interrupt to raise */
  uint64_t ipi_ns[WB_BOARD_MAX_HARTS];
  uint8_t rx[RX_MAILBOX];        /* console input not yet taken by the UART */
  size_t nrx;
  struct { void (*fn)(void *); void *arg; } posted[POSTED_MAX];   /* host.post calls to make */
  int nposted;
};

static int g_signo;               /* WB_SYS_SIGNAL, chosen once per process */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* On the hart's thread: leave the tier at the next block boundary. */
static void on_signal(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)si;
  wb_hart *h = wb_hart_current();
  if (!h || !h->m->sys || !h->m->sys->async) return;
  h->leave = 1;
  if (h->jit) wb_jit_request_exit(h->jit, uc);
}

/* Interrupt the hart's thread (with the mailbox lock held). */
static void poke(struct wb_sys_async *a) {
  if (a->running) pthread_kill(a->hart_thread, g_signo);
}

static void *timer_main(void *arg) {
  wb_machine *m = arg;
  struct wb_sys_async *a = m->sys->async;
  pthread_mutex_lock(&a->mu);
  while (!a->stop) {
    uint64_t now = now_ns();
    if (a->running && a->deadline_ns <= now) {
      a->deadline_ns = UINT64_MAX;   /* the hart ticks the board and names the next one */
      a->pending = 1;
      poke(a);
      continue;
    }
    uint64_t until = a->deadline_ns;
    if (!a->running || until - now > 100000000ull) until = now + 100000000ull;  /* 100 ms */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t abs = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (until - now);
    ts.tv_sec = (time_t)(abs / 1000000000ull);
    ts.tv_nsec = (long)(abs % 1000000000ull);
    pthread_cond_timedwait(&a->cv, &a->mu, &ts);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

int wb_sys_async_start(wb_machine *m, char *err, size_t errlen) {
  struct wb_sys_async *a = calloc(1, sizeof *a);
  if (!a) { snprintf(err, errlen, "out of host memory"); return -1; }
  if (!g_signo) {
    g_signo = SIGRTMIN + 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(g_signo, &sa, NULL);
  }
  pthread_mutex_init(&a->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->cv, &ca);
  pthread_condattr_destroy(&ca);
  a->deadline_ns = UINT64_MAX;
  m->sys->async = a;
  if (pthread_create(&a->timer, NULL, timer_main, m) != 0) {
    m->sys->async = NULL;
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    snprintf(err, errlen, "cannot start the board's timer thread");
    return -1;
  }
  return 0;
}

void wb_sys_async_stop(wb_machine *m) {
  struct wb_sys_async *a = m->sys ? m->sys->async : NULL;
  if (!a) return;
  pthread_mutex_lock(&a->mu);
  a->stop = 1;
  a->running = 0;
  pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
  pthread_join(a->timer, NULL);
  pthread_cond_destroy(&a->cv);
  pthread_mutex_destroy(&a->mu);
  free(a);
  m->sys->async = NULL;
}

void wb_sys_async_running(wb_machine *m, int on) {
  struct wb_sys_async *a = m->sys ? m->sys->async : NULL;
  if (!a) return;
  pthread_t self = pthread_self();
  if (on && a->running && pthread_equal(a->hart_thread, self)) return;
  pthread_mutex_lock(&a->mu);
  a->running = on;
  a->hart_thread = self;
  pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

void wb_sys_async_wake_at(wb_machine *m, uint64_t mtime) {
  struct wb_sys_async *a = m->sys ? m->sys->async : NULL;
  if (!a) return;
  uint64_t ns = mtime == UINT64_MAX || mtime > UINT64_MAX / 100 ? UINT64_MAX : mtime * 100;
  pthread_mutex_lock(&a->mu);
  if (ns != a->deadline_ns) {
    a->deadline_ns = ns;
    pthread_cond_signal(&a->cv);
  }
  pthread_mutex_unlock(&a->mu);
}

void wb_sys_async_poll(wb_machine *m) {
  struct wb_sys_async *a = m->sys ? m->sys->async : NULL;
  if (!a || !a->pending) return;
  pthread_mutex_lock(&a->mu);
  a->pending = 0;
  uint32_t ipi = a->ipi;
  uint64_t ipi_ns[WB_BOARD_MAX_HARTS];
  memcpy(ipi_ns, a->ipi_ns, sizeof ipi_ns);
  a->ipi = 0;
  if (a->nrx && m->sys->board.uart) {
    size_t k = wb_uart_input(m->sys->board.uart, a->rx, a->nrx);
    memmove(a->rx, a->rx + k, a->nrx - k);
    a->nrx -= k;
    if (a->nrx) a->pending = 1;   /* the UART's queue is full: the rest later */
  }
  int nposted = a->nposted;
  __typeof__(a->posted[0]) posted[POSTED_MAX];
  memcpy(posted, a->posted, sizeof posted);
  a->nposted = 0;
  pthread_mutex_unlock(&a->mu);
  for (int i = 0; i < nposted; i++) posted[i].fn(posted[i].arg);   /* device completions */
  for (int h = 0; h < m->nharts && ipi; h++)
    if (ipi >> h & 1) {
      wb_clint_set_msip(m->sys->board.clint, h, 1);
      wb_sys_arrived(m->harts[h], WB_MIP_MSIP, ipi_ns[h]);
    }
  wb_board_tick(&m->sys->board);   /* a deadline the timer thread saw pass */
}

void wb_sys_async_post(wb_machine *m, void (*fn)(void *), void *arg) {
  struct wb_sys_async *a = m->sys ? m->sys->async : NULL;
  if (!a) { fn(arg); return; }   /* no other thread runs the board: this one may */
  pthread_mutex_lock(&a->mu);
  int i = 0;
  while (i < a->nposted && !(a->posted[i].fn == fn && a->posted[i].arg == arg)) i++;
  if (i == a->nposted && i < POSTED_MAX) {
    a->posted[i].fn = fn;
    a->posted[i].arg = arg;
    a->nposted++;
  }
  /* (full: cannot happen with one post per device until it runs; WB_BOARD_MAX_DEVICES <= POSTED_MAX) */
  a->pending = 1;
  poke(a);
  pthread_mutex_unlock(&a->mu);
}

WB_API int wb_system_inject_ipi(wb_machine *m, int hart) {
  struct wb_sys_async *a = m && m->sys ? m->sys->async : NULL;
  if (!a || hart < 0 || hart >= m->nharts) return -1;
  pthread_mutex_lock(&a->mu);
  int fresh = !(a->ipi >> hart & 1) && !wb_clint_msip(m->sys->board.clint, hart);
  if (fresh) {
    a->ipi |= 1u << hart;
    a->ipi_ns[hart] = now_ns();
    a->pending = 1;
    poke(a);
  }
  pthread_mutex_unlock(&a->mu);
  return fresh;
}

size_t wb_sys_async_console(wb_machine *m, const uint8_t *bytes, size_t n) {
  struct wb_sys_async *a = m->sys->async;
  pthread_mutex_lock(&a->mu);
  size_t k = n < RX_MAILBOX - a->nrx ? n : RX_MAILBOX - a->nrx;
  memcpy(a->rx + a->nrx, bytes, k);
  a->nrx += k;
  if (k) {
    a->pending = 1;
    poke(a);
  }
  pthread_mutex_unlock(&a->mu);
  return k;
}
