/* sys_misc.c — process-level syscalls: exit, clocks, randomness (and the guest
 * RNG), uname/sysinfo, identity, resource limits and scheduling (signals: signal.c).
 *
 * Determinism: in deterministic mode every value here depends only on the guest's own
 * execution and cfg.seed: clocks come from the run loop's virtual (instret-based) clock,
 * getrandom and AT_RANDOM from a seeded xoshiro256**, identity and system facts are constants.
 * Sleeps (timers.c) return at once and advance the virtual clocks by the time slept.
 *
 * Signals are bookkeeping only: handlers, mask and altstack are stored and reported back, but
 * nothing is ever delivered to a handler. A signal the guest sends itself or its interval timer
 * raises (timers.c), with its default action (abort() -> SIGABRT, alarm() -> SIGALRM), ends the
 * run with WB_REASON_SIGNAL, as it would kill the process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "user_internal.h"

#define RLIM_INF (~0ull)

/* ---- RNG ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void wb_rng_seed(wb_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

uint64_t wb_rng_next(wb_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

void wb_random_bytes(wb_machine *m, void *buf, size_t n) {
  uint8_t *p = buf;
  if (!m->cfg.deterministic) {
    while (n > 0) {
      ssize_t r = getrandom(p, n, 0);
      if (r <= 0) break; /* fall back to the PRNG (seeded from the host at init) */
      p += r;
      n -= (size_t)r;
    }
  }
  wb_rng *rng = &wb_u(m)->rng;
  while (n >= 8) {
    uint64_t v = wb_rng_next(rng);
    memcpy(p, &v, 8);
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t v = wb_rng_next(rng);
    memcpy(p, &v, n);
  }
}

void wb_misc_init(wb_machine *m) {
  wb_user *u = wb_u(m);
  uint64_t seed = m->cfg.seed;
  if (!m->cfg.deterministic && getrandom(&seed, sizeof seed, 0) != sizeof seed)
    seed ^= wb_host_ns();
  wb_rng_seed(&u->rng, seed);
  u->umask = 022;
  snprintf(u->comm, sizeof u->comm, "guest");
  for (int i = 0; i < 16; i++) u->rlim[i][0] = u->rlim[i][1] = RLIM_INF;
  u->rlim[3][0] = 8ull << 20; /* RLIMIT_STACK: 8 MiB soft, unlimited hard */
  u->rlim[7][0] = u->rlim[7][1] = WB_MAX_FDS; /* RLIMIT_NOFILE */
}

/* ---- clocks ---- */

/* Guest time of clock `clk` in ns, or -EINVAL. */
static int64_t clock_ns(wb_machine *m, int64_t clk) {
  switch (clk) {
    case 0: case 5: case 8: case 11: /* REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI */
      return (int64_t)wb_guest_realtime_ns(m);
    case 1: case 4: case 6: case 7: case 9: /* MONOTONIC(_RAW/_COARSE), BOOTTIME(_ALARM) */
      return (int64_t)wb_guest_monotonic_ns(m);
    case 2: case 3: { /* PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID: time since load */
      uint64_t now = wb_guest_monotonic_ns(m), s = wb_u(m)->cpu_start_ns + m->sleep_ns;
      return now > s ? (int64_t)(now - s) : 0; /* sleeping uses no CPU time */
    }
    default: return -EINVAL;
  }
}

static int put_ts(wb_machine *m, uint64_t addr, int64_t ns) {
  int64_t ts[2] = {ns / 1000000000, ns % 1000000000};
  return wb_mem_write(&m->mem, addr, ts, sizeof ts);
}

WB_SYS(clock_gettime) {
  int64_t ns = clock_ns(m, (int64_t)(int32_t)a[0]);
  if (ns < 0) return ns;
  return put_ts(m, a[1], ns);
}

WB_SYS(clock_getres) {
  int32_t clk = (int32_t)a[0];
  if (clock_ns(m, clk) < 0) return -EINVAL;
  if (!a[1]) return 0;
  return put_ts(m, a[1], (clk == 5 || clk == 6) ? 4000000 : 1);
}

WB_SYS(gettimeofday) {
  if (a[0]) {
    int64_t ns = (int64_t)wb_guest_realtime_ns(m);
    int64_t tv[2] = {ns / 1000000000, (ns % 1000000000) / 1000};
    if (wb_mem_write(&m->mem, a[0], tv, sizeof tv) != 0) return -EFAULT;
  }
  if (a[1]) {
    int32_t tz[2] = {0, 0};
    if (wb_mem_write(&m->mem, a[1], tz, sizeof tz) != 0) return -EFAULT;
  }
  return 0;
}

static long read_req(wb_machine *m, uint64_t addr, int64_t *ns) {
  int64_t ts[2];
  if (wb_mem_read(&m->mem, addr, ts, sizeof ts) != 0) return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return -EINVAL;
  *ns = ts[0] > INT64_MAX / 1000000000 - 1 ? INT64_MAX : ts[0] * 1000000000 + ts[1];
  return 0;
}

WB_SYS(nanosleep) {
  int64_t ns;
  long r = read_req(m, a[0], &ns);
  if (r) return r;
  return wb_guest_sleep(m, ns);
}

WB_SYS(clock_nanosleep) {
  int32_t clk = (int32_t)a[0];
  int64_t now = clock_ns(m, clk);
  if (now < 0 || clk == 3) return -EINVAL; /* THREAD_CPUTIME_ID cannot be slept on */
  if (a[1] & ~(uint64_t)1) return -EINVAL;
  int64_t ns;
  long r = read_req(m, a[2], &ns);
  if (r) return r;
  if (a[1] & 1) ns = ns > now ? ns - now : 0; /* TIMER_ABSTIME */
  return wb_guest_sleep(m, ns);
}

WB_SYS(times) {
  int64_t cpu = clock_ns(m, 2);
  if (a[0]) {
    int64_t t[4] = {cpu / 10000000, 0, 0, 0};
    if (wb_mem_write(&m->mem, a[0], t, sizeof t) != 0) return -EFAULT;
  }
  return (long)(wb_guest_monotonic_ns(m) / 10000000);
}

WB_SYS(getrusage) {
  int32_t who = (int32_t)a[0];
  if (who != 0 && who != -1 && who != 1) return -EINVAL;
  int64_t ru[18];
  memset(ru, 0, sizeof ru);
  if (who != -1) { /* RUSAGE_SELF, RUSAGE_THREAD; children: all zero */
    int64_t cpu = clock_ns(m, 2);
    ru[0] = cpu / 1000000000;
    ru[1] = (cpu % 1000000000) / 1000;
    ru[4] = (int64_t)(m->mem.peak / 1024); /* ru_maxrss in KiB */
  }
  return wb_mem_write(&m->mem, a[1], ru, sizeof ru);
}

/* ---- randomness, system facts ---- */

WB_SYS(getrandom) {
  uint64_t flags = a[2];
  if (flags & ~(uint64_t)7) return -EINVAL;
  if ((flags & 6) == 6) return -EINVAL; /* GRND_INSECURE with GRND_RANDOM */
  uint64_t len = a[1] > 0x1ffffff ? 0x1ffffff : a[1];
  if (len == 0) return 0;
  uint64_t n = wb_mem_span(&m->mem, a[0], len, WB_PROT_W);
  if (n == 0) return -EFAULT;
  wb_mem_will_write(&m->mem, a[0], n);
  wb_random_bytes(m, wb_mem_host(&m->mem, a[0]), (size_t)n);
  return (long)n;
}

WB_SYS(uname) {
  char u[6][65];
  memset(u, 0, sizeof u);
  strcpy(u[0], "Linux");
  strcpy(u[1], "workbench");
  strcpy(u[2], "6.1.0-wb");
  strcpy(u[3], "#1 SMP PREEMPT_DYNAMIC");
  strcpy(u[4], "riscv64");
  strcpy(u[5], "(none)");
  return wb_mem_write(&m->mem, a[0], u, sizeof u);
}

WB_SYS(sysinfo) {
  uint8_t b[112];
  memset(b, 0, sizeof b);
  uint64_t v[10] = {wb_guest_monotonic_ns(m) / 1000000000, 0, 0, 0, m->mem.limit,
                    m->mem.limit - (m->mem.committed < m->mem.limit ? m->mem.committed
                                                                    : m->mem.limit),
                    0, 0, 0, 0};
  memcpy(b, v, sizeof v);       /* uptime, loads[3], total/free/shared/buffer ram, swap */
  uint16_t procs = 1;
  memcpy(b + 80, &procs, 2);
  uint32_t unit = 1;
  memcpy(b + 104, &unit, 4);
  return wb_mem_write(&m->mem, a[0], b, sizeof b);
}

/* ---- identity ---- */

WB_SYS(getpid) { return WB_PID; }
WB_SYS(getppid) { return WB_PPID; }
WB_SYS(getuid) { return WB_UID; }
WB_SYS(getgid) { return WB_GID; }
WB_SYS(getpgid) {
  int32_t pid = (int32_t)a[0];
  return (pid == 0 || pid == WB_PID) ? WB_PID : -ESRCH;
}
WB_SYS(getsid) { return wb_sys_getpgid(m, hart, a); }
WB_SYS(setsid) { return -EPERM; } /* already a process-group leader */
WB_SYS(setpgid) {
  int32_t pid = (int32_t)a[0], pg = (int32_t)a[1];
  if (pid != 0 && pid != WB_PID) return -ESRCH;
  return (pg == 0 || pg == WB_PID) ? 0 : -EPERM;
}
WB_SYS(getresuid) {
  uint32_t id = WB_UID;
  for (int i = 0; i < 3; i++)
    if (wb_mem_write(&m->mem, a[i], &id, 4) != 0) return -EFAULT;
  return 0;
}
WB_SYS(getgroups) { return 0; }
WB_SYS(setgroups) { return -EPERM; }

static int id_ok(uint64_t v, int allow_keep) {
  uint32_t id = (uint32_t)v;
  return id == WB_UID || (allow_keep && id == 0xffffffffu);
}
WB_SYS(setid) { return id_ok(a[0], 0) ? 0 : -EPERM; }
WB_SYS(setreid) { return id_ok(a[0], 1) && id_ok(a[1], 1) ? 0 : -EPERM; }
WB_SYS(setresid) { return id_ok(a[0], 1) && id_ok(a[1], 1) && id_ok(a[2], 1) ? 0 : -EPERM; }
WB_SYS(setfsid) { return WB_UID; } /* returns the previous fs id */

WB_SYS(umask) {
  wb_user *u = wb_u(m);
  uint32_t old = u->umask;
  u->umask = (uint32_t)(a[0] & 0777);
  return old;
}

WB_SYS(prctl) {
  wb_user *u = wb_u(m);
  switch ((int)a[0]) {
    case 1: return a[1] <= 64 ? 0 : -EINVAL; /* PR_SET_PDEATHSIG */
    case 2: { int32_t z = 0; return wb_mem_write(&m->mem, a[1], &z, 4); } /* GET_PDEATHSIG */
    case 3: return 1;                              /* PR_GET_DUMPABLE */
    case 4: return a[1] <= 1 ? 0 : -EINVAL;        /* PR_SET_DUMPABLE */
    case 15: {                                     /* PR_SET_NAME */
      char name[16];
      long r = wb_mem_read_str(&m->mem, a[1], name, sizeof name);
      if (r == -EFAULT) return -EFAULT;
      name[15] = 0;
      memcpy(u->comm, name, sizeof name);
      return 0;
    }
    case 16: return wb_mem_write(&m->mem, a[1], u->comm, sizeof u->comm); /* PR_GET_NAME */
    case 21: return 0;                             /* PR_GET_SECCOMP */
    case 23: return 0;                             /* PR_CAPBSET_READ: no capabilities */
    case 29: return 0;                             /* PR_SET_TIMERSLACK */
    case 30: return 50000;                         /* PR_GET_TIMERSLACK */
    case 38: return 0;                             /* PR_SET_NO_NEW_PRIVS */
    case 39: return 0;                             /* PR_GET_NO_NEW_PRIVS */
    case 41: return 0;                             /* PR_SET_THP_DISABLE */
    case 42: return 0;                             /* PR_GET_THP_DISABLE */
    case 0x53564d41: return 0;                     /* PR_SET_VMA (naming anon mappings) */
    default: return -EINVAL;
  }
}

/* ---- resource limits ---- */

WB_SYS(getrlimit) {
  if (a[0] >= 16) return -EINVAL;
  return wb_mem_write(&m->mem, a[1], wb_u(m)->rlim[a[0]], 16);
}

static long set_rlim(wb_machine *m, uint64_t res, const uint64_t v[2]) {
  if (v[0] > v[1]) return -EINVAL;
  wb_user *u = wb_u(m);
  if (res == 7 && v[1] > WB_MAX_FDS && v[1] > u->rlim[7][1]) return -EPERM; /* nr_open */
  u->rlim[res][0] = v[0];
  u->rlim[res][1] = v[1];
  return 0;
}

WB_SYS(setrlimit) {
  if (a[0] >= 16) return -EINVAL;
  uint64_t v[2];
  if (wb_mem_read(&m->mem, a[1], v, sizeof v) != 0) return -EFAULT;
  return set_rlim(m, a[0], v);
}

WB_SYS(prlimit64) {
  int32_t pid = (int32_t)a[0];
  if (pid != 0 && pid != WB_PID) return -ESRCH;
  if (a[1] >= 16) return -EINVAL;
  uint64_t v[2];
  if (a[2] && wb_mem_read(&m->mem, a[2], v, sizeof v) != 0) return -EFAULT;
  if (a[3] && wb_mem_write(&m->mem, a[3], wb_u(m)->rlim[a[1]], 16) != 0) return -EFAULT;
  if (a[2]) return set_rlim(m, a[1], v);
  return 0;
}

/* ---- scheduling ---- */

WB_SYS(sched_getaffinity) {
  int32_t pid = (int32_t)a[0];
  if (pid != 0 && !wb_thread_of(m, pid)) return -ESRCH;
  if (a[1] < 8 || (a[1] & 7)) return -EINVAL;
  uint64_t mask = 1; /* one CPU */
  if (wb_mem_write(&m->mem, a[2], &mask, 8) != 0) return -EFAULT;
  return 8;
}
WB_SYS(zero) { return 0; }
WB_SYS(sched_getparam) {
  int32_t prio = 0;
  return wb_mem_write(&m->mem, a[1], &prio, 4);
}
WB_SYS(sched_getscheduler) { return 0; } /* SCHED_OTHER */
WB_SYS(sched_get_priority) {
  int32_t policy = (int32_t)a[0];
  int is_max = hart->x[WB_REG_A7] == 125;
  if (policy == 1 || policy == 2) return is_max ? 99 : 1; /* SCHED_FIFO, SCHED_RR */
  if (policy == 0 || policy == 3 || policy == 5 || policy == 6) return 0;
  return -EINVAL;
}
WB_SYS(getpriority) { return 20; } /* kernel form 20 - nice, nice 0 */
WB_SYS(setpriority) { return 0; }
WB_SYS(getcpu) {
  uint32_t z = 0;
  if (a[0] && wb_mem_write(&m->mem, a[0], &z, 4) != 0) return -EFAULT;
  if (a[1] && wb_mem_write(&m->mem, a[1], &z, 4) != 0) return -EFAULT;
  return 0;
}
WB_SYS(membarrier) { return 0; } /* one thread: every barrier is trivially complete */

WB_SYS(personality) { return 0; } /* PER_LINUX */

WB_SYS(capget) {
  uint32_t hdr[2];
  if (wb_mem_read(&m->mem, a[0], hdr, sizeof hdr) != 0) return -EFAULT;
  int n;
  if (hdr[0] == 0x19980330) n = 1;
  else if (hdr[0] == 0x20071026 || hdr[0] == 0x20080522) n = 2;
  else {
    hdr[0] = 0x20080522;
    wb_mem_write(&m->mem, a[0], hdr, 4);
    return a[1] ? -EINVAL : 0;
  }
  if (a[1]) {
    uint32_t z[6] = {0};
    if (wb_mem_write(&m->mem, a[1], z, (size_t)n * 12) != 0) return -EFAULT;
  }
  return 0;
}

WB_SYS(wait4) { return -ECHILD; } /* no children can exist */

WB_SYS(riscv_hwprobe) {
  uint64_t count = a[1];
  if (a[4] != 0) return -EINVAL;
  if (count > 4096) return -EINVAL;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t pair[2];
    uint64_t addr = a[0] + 16 * i;
    if (wb_mem_read(&m->mem, addr, pair, sizeof pair) != 0) return -EFAULT;
    switch ((int64_t)pair[0]) {
      case 0: case 1: case 2: pair[1] = 0; break; /* mvendorid, marchid, mimpid */
      case 3: pair[1] = 1; break;                 /* BASE_BEHAVIOR_IMA */
      case 4: pair[1] = 1 | 2; break;             /* IMA_EXT_0: FD, C */
      case 5: pair[1] = 0; break;                 /* CPUPERF_0: misaligned speed unknown */
      default: pair[0] = (uint64_t)-1; pair[1] = 0; break;
    }
    if (wb_mem_write(&m->mem, addr, pair, sizeof pair) != 0) return -EFAULT;
  }
  return 0;
}


