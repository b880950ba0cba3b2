/* machine.c — the machine object and the run loop: create, load, run, stop, faults, limits.
 *
 * A machine owns its harts (hart.h) and a platform (platform.h: user mode's Linux ABI today);
 * a run enters a tier (interpreter or JIT) on hart 0 under a SIGSEGV/SIGBUS handler. A host
 * fault whose address lies inside this machine's guest memory views is a guest memory fault:
 * the handler jumps back here (siglongjmp to the hart's fault_jmp), the tier names the guest
 * instruction, and the fault is completed (view faults, self-modifying code, memory a client
 * grows) or raised as a trap to the platform. Any other host fault is passed on to whichever
 * handler was installed before us (Python's faulthandler, say).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include "decode.h"
#include "interp.h"
#include "jit/jit.h"
#include "client.h"
#include "machine.h"
#include "watch/watch.h"
#include "parallel.h"
#include "platform.h"
#include "system/system.h"
#include "scheduler.h"
#include "trap.h"

#define WB_API __attribute__((visibility("default")))

static __thread wb_hart *t_hart; /* the hart running on this host thread */

wb_hart *wb_hart_current(void) { return t_hart; }
void wb_set_current_hart(wb_hart *h) { t_hart = h; }
wb_machine *wb_machine_current(void) { return t_hart ? t_hart->m : NULL; }

wb_hart *wb_machine_self(const wb_machine *m) {
  wb_hart *h = t_hart;
  return h && h->m == m ? h : m->running;
}

int wb_switching(const wb_machine *m) {
  const wb_hart *h = wb_machine_self(m);
  return h && h->leave;
}

int wb_stopping(const wb_machine *m) {
  /* a pause (a drain, the budget) only ever comes from another thread while a syscall runs:
   * the syscall completes, and its thread stops after it */
  return (m->stop_reason != WB_REASON_NONE && !wb_reason_resumable(m->stop_reason)) ||
         wb_switching(m);
}
static struct sigaction g_prev_segv, g_prev_bus;
static int g_handlers_installed;

uint64_t wb_host_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Deterministic guest time starts at 2024-01-01T00:00:00Z and advances ns_per_insn per
 * instruction retired by any hart (and by the time slept: sleep_ns), so the same run reads the
 * same clock. */
#define WB_VIRTUAL_EPOCH_NS 1704067200000000000ull
#define WB_VIRTUAL_BOOT_NS 1000000000ull /* monotonic clock reads 1 s at the first instruction */

uint64_t wb_guest_realtime_ns(const wb_machine *m) {
  if (m->cfg.deterministic)
    return WB_VIRTUAL_EPOCH_NS + wb_machine_insns(m) * m->cfg.ns_per_insn + m->sleep_ns;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t wb_guest_monotonic_ns_at(const wb_machine *m, uint64_t instret) {
  if (!m->cfg.deterministic) return wb_host_ns();
  if (!m->par.on)
    return WB_VIRTUAL_BOOT_NS + (m->others_insns + instret) * m->cfg.ns_per_insn + m->sleep_ns;
  /* parallel: the harts' counts, each read as it stands; never before an earlier reading */
  uint64_t t = WB_VIRTUAL_BOOT_NS + wb_machine_insns(m) * m->cfg.ns_per_insn + m->sleep_ns;
  uint64_t *last = (uint64_t *)&m->par.last_ns, seen = __atomic_load_n(last, __ATOMIC_RELAXED);
  while (t > seen && !__atomic_compare_exchange_n(last, &seen, t, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return t > seen ? t : seen;
}

uint64_t wb_guest_monotonic_ns(const wb_machine *m) {
  const wb_hart *h = wb_machine_self(m);
  return wb_guest_monotonic_ns_at(m, h ? h->instret : 0);
}

void wb_guest_pass_time(wb_machine *m, int64_t ns) {
  if (ns <= 0) return;
  if (m->cfg.deterministic) {
    m->sleep_ns += (uint64_t)ns;
    return;
  }
  uint64_t left = wb_machine_wall_left_ns(m);  /* never far past the run's wall-clock limit */
  if ((uint64_t)ns > left) ns = (int64_t)left + 1000000;
  struct timespec ts = {ns / 1000000000, ns % 1000000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

WB_API void wb_config_init(wb_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->tier = WB_HAVE_JIT ? WB_TIER_JIT : WB_TIER_INTERP;
  cfg->deterministic = 1;
  cfg->ns_per_insn = 1;
  cfg->jit_hot = 4;
  cfg->jit_profile_insns = 1ull << 25;
  cfg->stdin_fd = 0;
  cfg->stdout_fd = 1;
  cfg->stderr_fd = 2;
  cfg->schedule = WB_SCHEDULE_PARALLEL;
}

WB_API const char *wb_reason_name(int reason) {
  static const char *const names[] = {"none", "exit", "budget", "wallclock", "fault", "illegal",
                                      "ebreak", "memcap", "internal", "signal", "drain",
                                      "deadlock"};
  if (reason < 0 || reason >= (int)(sizeof names / sizeof names[0])) return "unknown";
  return names[reason];
}

WB_API const char *wb_engine_version(void) { return WB_ENGINE_VERSION; }
WB_API int wb_tier_available(int tier) {
  return tier == WB_TIER_INTERP || (tier == WB_TIER_JIT && WB_HAVE_JIT);
}
WB_API const char *wb_syscall_name(int nr) { return wb_user_platform.syscall_name(nr); }
WB_API int wb_disassemble(uint32_t raw, uint64_t pc, char *buf, size_t n) {
  return wb_disasm_raw(raw, pc, buf, n);
}

void wb_machine_stop(wb_machine *m, int reason, const char *fmt, ...) {
  if (reason == WB_REASON_SWITCH) {  /* not a stop: the calling hart leaves its tier */
    wb_hart *h = wb_machine_self(m);
    if (h && !h->leave) h->leave = 1;
    return;
  }
  wb_lock(m);
  if (m->stop_reason == WB_REASON_NONE) { /* the first reason wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->message, sizeof m->message, fmt, ap);
    va_end(ap);
    m->stop_reason = reason;
    if (m->par.on) {               /* the coordinator reports this hart's pc */
      if (t_hart && t_hart->m == m) m->running = t_hart;
      pthread_cond_signal(&m->par.coord);
    }
  }
  wb_unlock(m);
}

uint64_t wb_machine_wall_left_ns(const wb_machine *m) {
  if (m->cfg.wall_limit_s <= 0) return UINT64_MAX;
  uint64_t limit = (uint64_t)(m->cfg.wall_limit_s * 1e9), used = wb_host_ns() - m->start_ns;
  return used < limit ? limit - used : 0;
}

static int limits_hit(wb_hart *h, uint32_t n, int wall_due, uint64_t *next_wall_check);

int wb_machine_limits_hit(wb_hart *h, uint32_t n, int wall_due, uint64_t *next_wall_check) {
  wb_machine *m = h->m;
  if (m->stop_reason != WB_REASON_NONE || h->leave) return 1;
  if (h->poke) {  /* another thread asked: the run loop looks (a block boundary) */
    h->poke = 0;
    h->leave = 1;
    return 1;
  }
  if (!m->par.on) return limits_hit(h, n, wall_due, next_wall_check);
  wb_lock(m);
  int r = h->flush_pending ? (h->leave = 1) : limits_hit(h, n, wall_due, next_wall_check);
  wb_unlock(m);
  return r;
}

static int limits_hit(wb_hart *h, uint32_t n, int wall_due, uint64_t *next_wall_check) {
  wb_machine *m = h->m;
  uint64_t ir = h->instret;  /* this hart's count, and the machine's: */
  uint64_t total = m->par.on ? wb_machine_insns(m) : m->others_insns + ir;
  if (m->stop_reason != WB_REASON_NONE || h->leave) return 1;
  if (m->drain_requested) {
    wb_machine_stop(m, WB_REASON_DRAIN, "event streams need draining");
    return 1;
  }
  if (m->cfg.max_insns && total + n > m->cfg.max_insns) {
    wb_machine_stop(m, WB_REASON_BUDGET, "instruction budget of %llu reached",
                    (unsigned long long)m->cfg.max_insns);
    return 1;
  }
  if (m->cfg.wall_limit_s > 0 && wall_due) {
    if (wb_machine_wall_left_ns(m) == 0) {
      wb_machine_stop(m, WB_REASON_WALLCLOCK, "wall-clock limit of %g s reached",
                      m->cfg.wall_limit_s);
      return 1;
    }
    *next_wall_check = ir + (1u << 22); /* the clock is read about every 4M instructions */
  }
  if (total + n > m->timer_insn && m->platform->events_due) {
    m->platform->events_due(m, n);
    if (m->stop_reason != WB_REASON_NONE || h->leave) return 1;
  }
  if (total + n > m->slice_end && total > m->slice_start) {  /* the quantum is used up */
    if (wb_sched_quantum_over(m)) {           /* another hart's turn */
      h->leave = 1;
      return 1;
    }                                         /* else a new quantum began */
  }
  if (total + n > m->slice_end) m->slice_end = total + n;  /* a block longer than a quantum runs whole */
  return 0;
}

int wb_machine_insn_raw(wb_machine *m, uint64_t pc, uint32_t *raw) {
  uint16_t lo, hi;
  if (wb_mem_read(&m->mem, pc, &lo, 2) != 0) return -1;
  *raw = lo;
  if (wb_insn_len(lo) == 4) {
    if (wb_mem_read(&m->mem, pc + 2, &hi, 2) != 0) return -1;
    *raw |= (uint32_t)hi << 16;
  }
  return 0;
}

void wb_machine_insn_text(wb_machine *m, uint64_t pc, char *dis, size_t n, uint32_t *raw) {
  uint16_t lo;
  snprintf(dis, n, "?");
  *raw = 0;
  if (wb_mem_read(&m->mem, pc, &lo, 2) != 0) return;
  if (wb_machine_insn_raw(m, pc, raw) != 0) *raw = lo; /* its second half is unreadable */
  wb_disasm_raw(*raw, pc, dis, n);
}

void wb_machine_invalidate_code(wb_machine *m, uint64_t addr, uint64_t len) {
  (void)addr; (void)len;
  /* coarse but always correct; blocks are cheap to rebuild. Parallel: the caller's own caches
   * now, every other hart's when it next looks at the machine (it may be running from them) */
  /* system mode: the caches follow every write to RAM that held decoded code (system/mmu.c's
   * code pages, a device's DMA through ram_written), so fence.i has nothing to drop */
  if (m->sys) return;
  wb_lock(m);
  wb_hart *self = wb_machine_self(m);
  wb_interp_flush(self->interp, m);
  wb_jit_flush(self->jit);
  if (m->par.on)
    for (int i = 0; i < m->nharts; i++)
      if (m->harts[i] != self && m->harts[i]->state != WB_HART_EXITED) {
        m->harts[i]->flush_pending = 1;
        wb_par_kick(m->harts[i]);
      }
  wb_unlock(m);
}

static int complete_view_fault(wb_hart *h, uint64_t pc);

void wb_machine_request_exit(wb_machine *m) {
  wb_hart *self = wb_machine_self(m);
  if (self && self->jit) wb_jit_request_exit(self->jit, NULL);
  if (m->par.on)  /* the others, at their next look at the machine */
    for (int i = 0; i < m->nharts; i++)
      if (m->harts[i] != self && m->harts[i]->state != WB_HART_EXITED) m->harts[i]->poke = 1;
}

void wb_machine_layout_changed(wb_machine *m) {
  for (int i = 0; i < m->nharts; i++) m->harts[i]->jit_bound = m->mem.bound;
  wb_machine_request_exit(m);
}

static void code_written(void *ctx, uint64_t addr, uint64_t len) {
  wb_machine_invalidate_code(ctx, addr, len);
}

/* ---- host fault handling ---- */

static void chain_prev(int sig, siginfo_t *si, void *uc) {
  struct sigaction *prev = sig == SIGBUS ? &g_prev_bus : &g_prev_segv;
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction) { prev->sa_sigaction(sig, si, uc); return; }
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
    prev->sa_handler(sig);
    return;
  }
  /* default action: reinstall the default and let the fault happen again */
  signal(sig, SIG_DFL);
}

static void on_host_fault(int sig, siginfo_t *si, void *uc) {
  wb_hart *h = t_hart;
  if (h && h->in_guest) {
    wb_machine *m = h->m;
    uint64_t g;
    int v = wb_mem_view_of(&m->mem, (uintptr_t)si->si_addr, &g);
    if (v >= 0) {
      h->fault_addr = g;
      h->fault_view = v;
      /* a write to a page of translated code that the guest may write: self-modifying code
       * (pages are only code-protected where a fault tells writes apart: x86-64) */
#if defined(__x86_64__)
      ucontext_t *u = uc;
      h->fault_smc = g < m->mem.size && wb_mem_code_page(&m->mem, g >> WB_PAGE_SHIFT) &&
                     (m->mem.perm[g >> WB_PAGE_SHIFT] & WB_PROT_W) && (u->uc_mcontext.gregs[REG_ERR] & 2);
#else
      h->fault_smc = 0;
#endif
      /* a view fault in translated code: complete it and resume right there */
      if (!h->fault_smc && sig == SIGSEGV && v > 0 && h->jit) {
        h->in_fault_handler = 1;
        int done = wb_jit_try_complete(h, uc, complete_view_fault);
        h->in_fault_handler = 0;
        if (done) {
          /* the run must stop, or the watchpoint unit marked the instruction (its block is
           * rebuilt): leave at the next block entry */
          if (wb_stopping(m) || wb_jit_rebuild_pending(h->jit)) wb_jit_request_exit(h->jit, uc);
          return;
        }
      }
      /* translated code keeps guest registers in host registers: read them from the
       * signal context now, before the jump discards it */
      h->fault_recovered = h->jit ? wb_jit_recover_fault(h, uc) : 0;
      h->in_guest = 0;
      siglongjmp(h->fault_jmp, sig);
    }
  }
  chain_prev(sig, si, uc);
}

static void install_handlers(void) {
  if (g_handlers_installed) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_host_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
  g_handlers_installed = 1;
}

/* The memory access of the guest instruction at pc, on the current registers: its address
 * (as the guest computes it), size and kind (WB_MEM_*). 0 if pc holds no memory access. */
static int access_at(wb_hart *h, uint64_t pc, uint64_t *addr, unsigned *size, int *kind) {
  uint32_t raw;
  if (wb_machine_insn_raw(h->m, pc, &raw) != 0) return 0;
  wb_insn in;
  wb_decode(raw, &in);
  if (!wb_insn_mem_info(&in, size, kind)) return 0;
  int plain = in.op != WB_OP_LR_W && in.op != WB_OP_LR_D && in.op != WB_OP_SC_W && in.op != WB_OP_SC_D &&
              *kind != WB_MEM_ATOMIC;
  *addr = h->x[in.rs1] + (plain ? (uint64_t)in.imm : 0);
  return 1;
}

/* A guest access faulted in a view (not the primary, or through the window): if the guest's
 * own protection allows it and the clients agree, complete it through the primary view (one
 * instruction in the interpreter) and return 1; the run then resumes after it, unless it
 * must stop (wb_stopping: the callers look). 0: not completed (a guest fault). */
static int complete_view_fault_locked(wb_hart *h, uint64_t pc);

static int complete_view_fault(wb_hart *h, uint64_t pc) {
  wb_lock(h->m);
  int r = complete_view_fault_locked(h, pc);
  wb_unlock(h->m);
  return r;
}

/* An access faulted in the watchpoint unit's filter view (a page holding a watch): the unit
 * checks it (watch/online.c), then the access completes through the primary view. A watch
 * trap comes after the access: inside the signal handler (h->in_fault_handler) the fault is
 * declined before the access runs, and completed once more after the jump out, where the run
 * stops for the trap right after it. */
static int complete_watch_fault(wb_hart *h, uint64_t pc, uint64_t a, unsigned size, int kind) {
  wb_machine *m = h->m;
  int need = kind == WB_MEM_LOAD ? WB_PROT_R : kind == WB_MEM_STORE ? WB_PROT_W : (WB_PROT_R | WB_PROT_W);
  if (!wb_mem_check(&m->mem, a, size, need)) { h->fault_addr = a; return 0; }
  uint32_t raw;
  wb_insn in;
  int plain = 0;   /* a load or store the JIT translates inline (atomics run in the interpreter) */
  if (wb_machine_insn_raw(m, pc, &raw) == 0 && wb_decode(raw, &in) == 0)
    plain = (in.op >= WB_OP_LB && in.op <= WB_OP_SD) || in.op == WB_OP_FLW || in.op == WB_OP_FLD ||
            in.op == WB_OP_FSW || in.op == WB_OP_FSD;
  wb_watchpt_fault(h, pc, a, size, kind, plain);
  if (h->watch_hit && h->in_fault_handler) return 0;
  h->pc = pc;
  wb_interp_step(h, m->mem.base, m->mem.bound);
  m->view_faults++;
  if (h->watch_hit & WB_WATCH_HIT_TRAP) wb_watchpt_trap(h);
  return 1;   /* taint to propagate (WB_WATCH_HIT_TAINT): wb_run_hart steps before the tier */
}

static int complete_view_fault_locked(wb_hart *h, uint64_t pc) {
  wb_machine *m = h->m;
  int v = h->fault_view;
  if (v <= 0 || v >= m->mem.nviews) return 0;
  uint64_t a;
  unsigned size;
  int kind;
  if (!access_at(h, pc, &a, &size, &kind)) return 0;
  const wb_view *w = &m->mem.views[v];
  if (v == wb_watchpt_view(m)) return complete_watch_fault(h, pc, a, size, kind);
  uint64_t real = a - (w->window ? m->mem.size : 0);
  int need = kind == WB_MEM_LOAD ? WB_PROT_R : kind == WB_MEM_STORE ? WB_PROT_W : (WB_PROT_R | WB_PROT_W);
  if (!wb_mem_check(&m->mem, real, size, need)) { h->fault_addr = a; return 0; }
  /* the first touch of a lazily opened window page: open it; only a denied access is the
   * clients' business (an access crossing into the next page is completed all the same) */
  int opened = wb_mem_view_open(&m->mem, v, real);
  uint8_t deny = w->deny[real >> WB_PAGE_SHIFT];   /* real is inside the space: checked above */
  int denied = ((need & WB_PROT_R) && (deny & WB_DENY_READ)) || ((need & WB_PROT_W) && (deny & WB_DENY_WRITE));
  if ((!opened || denied) && wb_clients_view_fault(h, v, pc, a, size, kind)) {
    h->fault_addr = a;
    return 0;
  }
  h->pc = pc;
  wb_interp_step(h, m->mem.base - (w->window ? m->mem.size : 0), m->mem.bound);
  if (!opened || denied) m->view_faults++;
  return 1;  /* completed (a stop asked for meanwhile comes after it: the callers look) */
}

/* A guest store at pc faulted on a page of translated code (write-protected by
 * wb_mem_protect_code): run that one store in the interpreter, then the run resumes after it.
 * Merely dropping the translations and running the store again never ends when the store is
 * on the page it writes: the block rebuilt at the store protects the page again first.
 * - A store into the bytes translations were built from drops all of them first, so what
 *   follows the store runs as now written, even later in the same block (qemu-riscv64 ends
 *   the current block as translated; RISC-V leaves it open until a fence.i).
 * - A store beside the code (data sharing its page) keeps them and goes through an always
 *   writable mapping, so a loop updating a variable next to its code is not retranslated.
 * Returns 0 if the run must stop. The tier then re-enters, which looks at the limits first:
 * every such fault retires the store, so a guest doing this forever still ends at its budget. */
static int complete_code_write(wb_hart *h, uint64_t pc) {
  wb_machine *m = h->m;
  uint64_t a;
  unsigned size;
  int kind;
  if (!access_at(h, pc, &a, &size, &kind) || kind == WB_MEM_LOAD || a >= m->mem.size) {
    wb_machine_stop(m, WB_REASON_INTERNAL, "write to translated code at 0x%llx from pc 0x%llx: not a store",
                    (unsigned long long)h->fault_addr, (unsigned long long)pc);
    return 0;
  }
  int need = kind == WB_MEM_STORE ? WB_PROT_W : WB_PROT_R | WB_PROT_W;
  for (unsigned i = 0; i < size; i++)    /* e.g. a store running on into an unmapped page */
    if (!wb_mem_check(&m->mem, a + i, 1, need))
      return !wb_trap_memory(h, pc, a + i, "access to unmapped or protected memory");
  uint8_t *base = wb_mem_code_hit(&m->mem, a, size) ? NULL : wb_mem_rw_base(&m->mem);
  if (!base) {
    wb_mem_unprotect_code(&m->mem, a, size);
    wb_machine_invalidate_code(m, a, size);
    base = m->mem.base;
  }
  /* every byte of it is writable through base now (checked above): this cannot fault */
  h->pc = pc;
  wb_interp_step(h, base, m->mem.size);
  return !wb_stopping(m);
}

/* ---- public API ---- */

WB_API wb_machine *wb_machine_create(const wb_config *cfg, char *err, size_t errlen) {
  wb_machine *m = wb_machine_new(cfg, &wb_user_platform, err, errlen);
  if (m && wb_watchpt_init(m, err, errlen) != 0) {   /* the watchpoint unit (watch/online.c) */
    wb_machine_destroy(m);
    return NULL;
  }
  return m;
}

wb_machine *wb_machine_new(const wb_config *cfg, const wb_platform *platform, char *err, size_t errlen) {
  if (cfg->tier != WB_TIER_INTERP && cfg->tier != WB_TIER_JIT) {
    snprintf(err, errlen, "unknown tier %d", cfg->tier);
    return NULL;
  }
  if (isnan(cfg->wall_limit_s)) { snprintf(err, errlen, "the wall-clock limit is not a number"); return NULL; }
  if (cfg->wall_limit_s < 0) { snprintf(err, errlen, "negative wall-clock limit"); return NULL; }
  wb_machine *m = calloc(1, sizeof *m);
  if (!m) { snprintf(err, errlen, "out of host memory"); return NULL; }
  wb_hart *h = wb_sched_add(m, err, errlen);
  if (!h) { free(m); return NULL; }
  m->running = h;
  m->slice_end = UINT64_MAX;
  pthread_mutex_init(&m->par.lock, NULL);
  pthread_cond_init(&m->par.coord, NULL);
  m->sched_rng = cfg->seed ^ 0x5ced5ced5ced5cedull;
  m->platform = platform;
  m->cfg = *cfg;
  m->timer_insn = UINT64_MAX;
  if (m->cfg.ns_per_insn == 0) m->cfg.ns_per_insn = 1;
  /* A limit of 1e9 s (32 years) or more, inf included, is no limit: in nanoseconds it would
   * overflow uint64_t from ~1.8e10 s on and end the run at once. */
  if (m->cfg.wall_limit_s >= WB_WALL_LIMIT_NONE_S) m->cfg.wall_limit_s = 0;
  if (cfg->root) {
    m->root_buf = strdup(cfg->root);
    m->cfg.root = m->root_buf;
  }
  if (cfg->cwd) {
    m->cwd_buf = strdup(cfg->cwd);
    m->cfg.cwd = m->cwd_buf;
  }
  m->mem.memfd = -1;
  if (wb_mem_init(&m->mem, m->platform->mem_size, cfg->mem_limit, err, errlen) != 0) {
    free(m->root_buf); free(m->cwd_buf); free(h); free(m);
    return NULL;
  }
  m->mem.code_written = code_written;
  m->mem.code_written_ctx = m;
  if (cfg->tier == WB_TIER_JIT && !WB_HAVE_JIT) {
    snprintf(err, errlen, "the JIT tier needs an x86-64 Linux host; use the interp tier");
    wb_machine_destroy(m);
    return NULL;
  }
  if (cfg->schedule != WB_SCHEDULE_DETERMINISTIC && cfg->schedule != WB_SCHEDULE_PARALLEL) {
    snprintf(err, errlen, "unknown schedule %d", cfg->schedule);
    wb_machine_destroy(m);
    return NULL;
  }
  if (wb_interp_init(m, err, errlen) != 0 || m->platform->init(m, err, errlen) != 0 ||
      (cfg->tier == WB_TIER_JIT && wb_jit_init(m, err, errlen) != 0)) {
    wb_machine_destroy(m);
    return NULL;
  }
  h->interp = m->interp;
  h->jit = m->jit;
  return m;
}

WB_API int wb_machine_load(wb_machine *m, const char *path, int argc, const char *const *argv,
                           int envc, const char *const *envp, char *err, size_t errlen) {
  if (m->loaded) { snprintf(err, errlen, "a program is already loaded in this machine"); return -1; }
  if (argc < 0 || envc < 0) { snprintf(err, errlen, "negative argc/envc"); return -1; }
  if (m->platform->load(m, path, argc, argv, envc, envp, err, errlen) != 0) return -1;
  m->loaded = 1;
  return 0;
}

static void fill_result(wb_machine *m, wb_result *r, uint64_t t0) {
  memset(r, 0, sizeof *r);
  r->reason = m->stop_reason;
  r->exit_code = m->exit_code;
  r->pc = m->running->pc;
  r->fault_addr = m->fault_addr;
  r->instret = wb_machine_insns(m);
  r->host_ns = wb_host_ns() - t0;
  r->blocks_translated = m->blocks_translated;
  r->cache_flushes = m->cache_flushes;
  r->syscalls_total = m->syscalls_total;
  r->mem_peak = m->mem.peak;
  snprintf(r->message, sizeof r->message, "%s", m->message);
}

/* A host fault in hart h's guest access, after the jump back: complete it (1: run on) or raise
 * it to the platform (0 if the run must stop). Under the engine lock. */
static int after_fault(wb_hart *h, int sig);

void wb_run_hart(wb_hart *h) {
  wb_machine *m = h->m;
  t_hart = h;
  for (;;) {
    int sig = sigsetjmp(h->fault_jmp, 1);
    if (sig == 0) {
      h->in_guest = 1;
      h->fault_recovered = 0;
      if (m->taint) wb_taint_resume(h);   /* taint left to propagate (watch/taint.c) */
      if (m->stop_reason != WB_REASON_NONE || h->leave) { h->in_guest = 0; return; }
      if (h->jit) wb_jit_run(h);
      else wb_interp_run(h);
      h->in_guest = 0;
      if (m->taint) wb_taint_flush(m);   /* another hart may run clean code next */
      return;
    }
    wb_par_unlock_all(m);  /* the fault may have left a locked path (a client's hook) */
    wb_lock(m);
    int go_on = after_fault(h, sig);
    wb_unlock(m);
    if (!go_on) return;
  }
}

static int after_fault(wb_hart *h, int sig) {
  wb_machine *m = h->m;
  {
    uint64_t pc = h->pc;
    if (!h->fault_recovered) wb_interp_recover(h, &pc);
    if (sig == SIGSEGV && h->fault_smc) {  /* self-modifying code: complete the store */
      h->fault_smc = 0;
      return complete_code_write(h, pc);
    }
    if (sig == SIGSEGV && complete_view_fault(h, pc)) return !wb_stopping(m); /* on after it */
    /* memory a client grows on demand (the shrink client's fix-up): mapped now, run the
     * access again */
    if (sig == SIGSEGV && h->fault_view == 0 && h->fault_addr < m->mem.size &&
        wb_clients_unmapped(h, h->fault_addr, 1)) {
      h->pc = pc;
      return 1;
    }
    /* a guest fault: the platform's (a signal to the guest's handler, or the run ends) */
    return !wb_trap_memory(h, pc, h->fault_addr,
                           sig == SIGBUS ? "bus error"
                           : h->fault_addr >= m->mem.bound ? "access outside the guest address space"
                                                           : "access to unmapped or protected memory");
  }
}

WB_API int wb_machine_run(wb_machine *m, wb_result *res) {
  uint64_t t0 = wb_host_ns();
  if (!m->loaded) {
    wb_machine_stop(m, WB_REASON_INTERNAL, "no program loaded");
    fill_result(m, res, t0);
    return res->reason;
  }
  /* a run stopped by a limit (continued with a higher limit) or paused for draining event
   * streams may be continued; other stops are final */
  if (m->stop_reason == WB_REASON_BUDGET || m->stop_reason == WB_REASON_WALLCLOCK ||
      m->stop_reason == WB_REASON_DRAIN) {
    m->stop_reason = WB_REASON_NONE;
    m->message[0] = 0;
  }
  m->drain_requested = 0;
  if (m->stop_reason != WB_REASON_NONE) {
    fill_result(m, res, t0);
    return res->reason;
  }
  if (!m->started) {
    m->started = 1;
    for (int i = 0; i < m->nharts; i++)   /* user mode: the main thread; system mode: every hart */
      wb_clients_thread(m->harts[i], 1);
  }
  install_handlers();
  wb_hart *prev = t_hart;
  m->start_ns = t0;
  while (!m->par.on) {             /* run harts until one stops the run for good */
    wb_hart *h = m->running;
    if (m->platform->deliver) m->platform->deliver(h);
    if (m->stop_reason != WB_REASON_NONE) break;  /* e.g. killed by a signal */
    h->leave = 0;
    wb_run_hart(h);
    if (m->stop_reason != WB_REASON_NONE || !h->leave) break;
    h->leave = 0;
    /* a second thread started under the parallel schedule: every thread gets a host thread */
    if (m->cfg.schedule == WB_SCHEDULE_PARALLEL && wb_sched_live(m) > 1) break;
    if (!wb_sched_switch(m)) break;
  }
  t_hart = prev;
  if (m->platform->run_end) m->platform->run_end(m);
  if (m->par.on || (m->stop_reason == WB_REASON_NONE && m->cfg.schedule == WB_SCHEDULE_PARALLEL &&
                    wb_sched_live(m) > 1))
    wb_par_run(m);
  if (m->stop_reason == WB_REASON_NONE)
    wb_machine_stop(m, WB_REASON_INTERNAL, "the tier returned without a stop reason");
  if (!wb_reason_resumable(m->stop_reason))
    for (int i = 0; i < m->nharts; i++)   /* the threads still live are done (no continuing) */
      if (m->harts[i]->state != WB_HART_EXITED) {
        m->harts[i]->state = WB_HART_EXITED;
        wb_clients_thread(m->harts[i], 0);
      }
  if (m->stop_reason != WB_REASON_DRAIN) wb_clients_run_end(m);
  fill_result(m, res, t0);
  return res->reason;
}

WB_API int wb_machine_locate(const wb_machine *m, uintptr_t host_pc, uint64_t *guest_pc,
                             uintptr_t *next_boundary) {
  const wb_hart *h = wb_machine_self(m);  /* the caches of the hart this thread runs */
  return h && h->jit ? wb_jit_locate(h->jit, host_pc, guest_pc, next_boundary) : 0;
}

WB_API const uint64_t *wb_machine_syscall_counts(const wb_machine *m) { return m->syscall_counts; }

WB_API const uint64_t *wb_machine_unknown_syscalls(const wb_machine *m, uint64_t *unknown_other) {
  if (unknown_other) *unknown_other = m->unknown_other;
  return m->unknown_syscalls;
}

WB_API void wb_machine_regs(const wb_machine *m, uint64_t *x, uint64_t *f, uint64_t *pc,
                            uint32_t *fcsr) {
  const wb_hart *h = m->harts[0];
  if (x) { memcpy(x, h->x, 32 * sizeof(uint64_t)); x[0] = 0; }
  if (f) memcpy(f, h->f, 32 * sizeof(uint64_t));
  if (pc) *pc = h->pc;
  if (fcsr) *fcsr = (h->frm << 5) | h->fflags;
}

WB_API void wb_machine_destroy(wb_machine *m) {
  if (!m) return;
  wb_par_end(m);
  if (m->platform) m->platform->fini(m);
  wb_clients_fini(m);
  wb_taint_fini(m);
  wb_watchpt_fini(m);
  wb_interp_fini(m);
  wb_jit_fini(m);
  wb_mem_fini(&m->mem);
  for (int i = 0; i < m->nharts; i++) {
    for (int k = 0; k < WB_MAX_CLIENT_SLOTS; k++) {
      free(m->harts[i]->locals[k]);
      if (m->harts[i]->counters[k])
        munmap(m->harts[i]->counters[k], (size_t)WB_HART_COUNTERS * sizeof(uint64_t));
    }
    free(m->harts[i]->frames);
    pthread_cond_destroy(&m->harts[i]->wakeup);
    free(m->harts[i]);
  }
  free(m->root_buf);
  free(m->cwd_buf);
  pthread_mutex_destroy(&m->par.lock);
  pthread_cond_destroy(&m->par.coord);
  free(m);
}
