/* futex.c — futexes between guest threads: wait (with timeouts on the guest's clocks), wake,
 * requeue, wake-op, the bitset forms, and priority-inheritance locks.
 *
 * A waiter is a blocked hart whose wb_uthread names the futex word (its guest address; the
 * private flag changes nothing, there being one address space) and a bitset. Wakeups take
 * waiters in the order they started waiting, so a run is reproducible. A wait that nobody
 * else could end (the only live thread, no timeout) ends the run as a deadlock instead of
 * hanging; with a timeout, the guest's clock simply passes it.
 */
#include <errno.h>
#include "user_internal.h"
#include "../scheduler.h"

enum { WAIT = 0, WAKE = 1, REQUEUE = 3, CMP_REQUEUE = 4, WAKE_OP = 5, LOCK_PI = 6,
       UNLOCK_PI = 7, TRYLOCK_PI = 8, WAIT_BITSET = 9, WAKE_BITSET = 10, WAIT_REQUEUE_PI = 11,
       CMP_REQUEUE_PI = 12, LOCK_PI2 = 13 };
#define FUTEX_PRIVATE 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_TID_MASK 0x3fffffffu

/* The waiters on uaddr whose bitset meets `bits`, oldest first: up to n of them into out. */
static int waiters(wb_machine *m, uint64_t uaddr, uint32_t bits, wb_hart **out, int n) {
  int k = 0;
  for (;;) {  /* selection by wait_seq: at most n passes over the harts */
    wb_hart *best = NULL;
    uint64_t after = k ? out[k - 1]->wait_seq : 0;
    for (int i = 0; i < m->nharts; i++) {
      wb_hart *h = m->harts[i];
      wb_uthread *ut = h->plat;
      if (h->state != WB_HART_BLOCKED || !ut || ut->futex_addr != uaddr ||
          !(ut->futex_bits & bits) || h->wait_seq <= after)
        continue;
      if (!best || h->wait_seq < best->wait_seq) best = h;
    }
    if (!best || k == n) return k;
    out[k++] = best;
  }
}

static void stop_waiting(wb_hart *h, uint64_t a0) {
  wb_uthread *ut = h->plat;
  ut->futex_addr = 0;
  wb_sched_wake(h, a0);
}

long wb_futex_wake(wb_machine *m, uint64_t uaddr, int n, uint32_t bits) {
  if (n <= 0) return 0;
  wb_hart *w[WB_MAX_HARTS];
  int k = waiters(m, uaddr, bits, w, n > WB_MAX_HARTS ? WB_MAX_HARTS : n);
  for (int i = 0; i < k; i++) stop_waiting(w[i], 0);
  return k;
}

/* Move up to n waiters of uaddr to uaddr2 (they keep their place in the order). */
static long requeue(wb_machine *m, uint64_t uaddr, uint64_t uaddr2, int n) {
  if (n <= 0) return 0;
  wb_hart *w[WB_MAX_HARTS];
  int k = waiters(m, uaddr, ~0u, w, n > WB_MAX_HARTS ? WB_MAX_HARTS : n);
  for (int i = 0; i < k; i++) ((wb_uthread *)w[i]->plat)->futex_addr = uaddr2;
  return k;
}

/* The guest monotonic time at which a wait times out: 0 for none, or -errno. */
static int64_t deadline(wb_machine *m, uint64_t uts, int absolute, int realtime) {
  if (!uts) return 0;
  int64_t ts[2];
  if (wb_mem_read(&m->mem, uts, ts, sizeof ts) != 0) return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return -EINVAL;
  uint64_t t = (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
  uint64_t mono = wb_guest_monotonic_ns(m);
  if (!absolute) return (int64_t)(mono + t) > 0 ? (int64_t)(mono + t) : 1;
  if (realtime) {  /* an absolute CLOCK_REALTIME time, on the monotonic clock */
    uint64_t real = wb_guest_realtime_ns(m);
    t = t > real ? mono + (t - real) : mono;
  }
  return t ? (int64_t)t : 1;
}

/* The running thread waits on uaddr until woken or until `when` (0: never). */
static long wait_on(wb_machine *m, wb_hart *h, uint64_t uaddr, uint32_t bits, int64_t when) {
  if (wb_sched_live(m) <= 1) {  /* nobody else could wake it */
    /* but the interval timer's signal can interrupt the wait */
    if (!when && wb_user_alarm_wait(m) && wb_switching(m)) return -EINTR;
    if (!when && wb_stopping(m)) return 0;
    if (!when) {
      wb_machine_stop(m, WB_REASON_DEADLOCK,
                      "deadlock: the only thread waits on futex 0x%llx with no timeout",
                      (unsigned long long)uaddr);
      return 0;
    }
    uint64_t now = wb_guest_monotonic_ns(m);
    if ((uint64_t)when > now) wb_guest_pass_time(m, (int64_t)((uint64_t)when - now));
    return -ETIMEDOUT;
  }
  wb_uthread *ut = wb_ut(h);
  if (!ut) return -ENOMEM;
  ut->futex_addr = uaddr;
  ut->futex_bits = bits;
  wb_sched_block(h, (uint64_t)when, (uint64_t)-ETIMEDOUT);
  return 0;  /* a0 when woken; a timeout sets -ETIMEDOUT */
}

static long wake_op(wb_machine *m, uint64_t uaddr, int n, uint64_t uaddr2, int n2, uint32_t enc) {
  uint32_t op = (enc >> 28) & 7, cmp = (enc >> 24) & 15;
  int32_t sarg = (int32_t)(enc << 8) >> 20, scmp = (int32_t)(enc << 20) >> 20;  /* 12-bit, signed */
  uint32_t oparg = (uint32_t)sarg, cmparg = (uint32_t)scmp;
  if ((enc >> 28) & 8) oparg = 1u << (oparg & 31);  /* FUTEX_OP_OPARG_SHIFT */
  if (uaddr2 & 3) return -EINVAL;
  uint32_t old, nv;
  if (wb_mem_read(&m->mem, uaddr2, &old, 4) != 0 || !wb_mem_check(&m->mem, uaddr2, 4, WB_PROT_W))
    return -EFAULT;
  switch (op) {
    case 0: nv = oparg; break;        /* SET */
    case 1: nv = old + oparg; break;  /* ADD */
    case 2: nv = old | oparg; break;  /* OR */
    case 3: nv = old & ~oparg; break; /* ANDN */
    case 4: nv = old ^ oparg; break;  /* XOR */
    default: return -ENOSYS;
  }
  int hit;
  switch (cmp) {
    case 0: hit = old == cmparg; break;
    case 1: hit = old != cmparg; break;
    case 2: hit = (int32_t)old < (int32_t)cmparg; break;
    case 3: hit = (int32_t)old <= (int32_t)cmparg; break;
    case 4: hit = (int32_t)old > (int32_t)cmparg; break;
    case 5: hit = (int32_t)old >= (int32_t)cmparg; break;
    default: return -ENOSYS;
  }
  wb_mem_write(&m->mem, uaddr2, &nv, 4);
  long woken = wb_futex_wake(m, uaddr, n, ~0u);
  if (hit) woken += wb_futex_wake(m, uaddr2, n2, ~0u);
  return woken;
}

/* FUTEX_LOCK_PI and friends: the word holds the owner's tid (and FUTEX_WAITERS). */
static long lock_pi(wb_machine *m, wb_hart *h, uint64_t uaddr, int try, int64_t when) {
  uint32_t cur, tid = (uint32_t)wb_tid(h);
  if (wb_mem_read(&m->mem, uaddr, &cur, 4) != 0 || !wb_mem_check(&m->mem, uaddr, 4, WB_PROT_W))
    return -EFAULT;
  uint32_t owner = cur & FUTEX_TID_MASK;
  if (owner == 0) {
    uint32_t nv = (cur & FUTEX_WAITERS) | tid;
    wb_mem_write(&m->mem, uaddr, &nv, 4);
    return 0;
  }
  if (owner == tid) return -EDEADLK;
  if (try) return -EBUSY;
  if (!wb_thread_of(m, owner)) return -ESRCH;  /* held by a thread that does not exist */
  uint32_t nv = cur | FUTEX_WAITERS;
  wb_mem_write(&m->mem, uaddr, &nv, 4);
  return wait_on(m, h, uaddr, ~0u, when);  /* UNLOCK_PI hands the lock over */
}

static long unlock_pi(wb_machine *m, wb_hart *h, uint64_t uaddr) {
  uint32_t cur;
  if (wb_mem_read(&m->mem, uaddr, &cur, 4) != 0) return -EFAULT;
  if ((cur & FUTEX_TID_MASK) != (uint32_t)wb_tid(h)) return -EPERM;
  wb_hart *w[2];
  int k = waiters(m, uaddr, ~0u, w, 2);
  uint32_t nv = k ? ((uint32_t)wb_tid(w[0]) | (k > 1 ? FUTEX_WAITERS : 0)) : 0;
  wb_mem_write(&m->mem, uaddr, &nv, 4);
  if (k) stop_waiting(w[0], 0);  /* the first waiter owns it now */
  return 0;
}

WB_SYS(futex) {
  uint64_t uaddr = a[0];
  int op = (int)a[1], cmd = op & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
  int realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
  uint32_t val = (uint32_t)a[2], cur;
  if (uaddr & 3) return -EINVAL;
  if (realtime && cmd != WAIT && cmd != WAIT_BITSET && cmd != LOCK_PI2 && cmd != WAIT_REQUEUE_PI)
    return -ENOSYS;
  switch (cmd) {
    case WAIT: case WAIT_BITSET: case WAIT_REQUEUE_PI: {
      uint32_t bits = cmd == WAIT_BITSET ? (uint32_t)a[5] : ~0u;
      if (!bits) return -EINVAL;
      int64_t when = deadline(m, a[3], cmd != WAIT, realtime);
      if (when < 0) return when;
      if (wb_mem_read(&m->mem, uaddr, &cur, 4) != 0) return -EFAULT;
      if (cur != val) return -EAGAIN;
      return wait_on(m, hart, uaddr, bits, when);
    }
    case WAKE: case WAKE_BITSET: {
      uint32_t bits = cmd == WAKE_BITSET ? (uint32_t)a[5] : ~0u;
      if (!bits) return -EINVAL;
      return wb_futex_wake(m, uaddr, (int)(val > INT32_MAX ? INT32_MAX : val), bits);
    }
    case REQUEUE: case CMP_REQUEUE: case CMP_REQUEUE_PI: {
      if (a[4] & 3) return -EINVAL;
      if (cmd != REQUEUE) {
        if (wb_mem_read(&m->mem, uaddr, &cur, 4) != 0) return -EFAULT;
        if (cur != (uint32_t)a[5]) return -EAGAIN;
      }
      int n = (int)(val > INT32_MAX ? INT32_MAX : val);
      int n2 = (int)((uint32_t)a[3] > INT32_MAX ? INT32_MAX : (uint32_t)a[3]);
      long woken = wb_futex_wake(m, uaddr, n, ~0u);
      return woken + requeue(m, uaddr, a[4], n2);
    }
    case WAKE_OP:
      return wake_op(m, uaddr, (int)(val > INT32_MAX ? INT32_MAX : val), a[4],
                     (int)((uint32_t)a[3] > INT32_MAX ? INT32_MAX : (uint32_t)a[3]), (uint32_t)a[5]);
    case LOCK_PI: case LOCK_PI2: case TRYLOCK_PI: {
      int64_t when = cmd == TRYLOCK_PI ? 0 : deadline(m, a[3], 1, cmd == LOCK_PI || realtime);
      if (when < 0) return when;
      return lock_pi(m, hart, uaddr, cmd == TRYLOCK_PI, when);
    }
    case UNLOCK_PI:
      return unlock_pi(m, hart, uaddr);
    default:
      return -ENOSYS;
  }
}
