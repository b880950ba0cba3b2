/* platform.c — the wb_platform of system mode (the virt board): what a trap means when there
 * is a kernel to take it. Exceptions and interrupts enter M or S mode by the privileged
 * spec's rules ("Machine Trap Delegation Registers", "Machine Interrupt Registers", priority
 * MEI > MSI > MTI > SEI > SSI > STI), mret/sret return, wfi lets guest time pass to the next
 * device deadline, sfence.vma empties the TLB and the decoded code of S and U mode.
 *
 * Interrupts are taken at instruction boundaries between tier runs: whatever may let one
 * through (a device line, a CSR write, a timer deadline reached in events_due) makes the
 * hart leave its tier (h->leave) before its next instruction, and `deliver` takes it there,
 * so the instruction count at which it lands is exact on every tier. A trap that changes the
 * privilege also leaves the tier: each privilege runs from its own block cache (system.h).
 *
 * Device time: mtime counts 100 ns ticks of the guest's monotonic clock (machine.c), so in
 * the deterministic mode it follows the instruction count and a boot repeats bit for bit; the
 * board's next deadline becomes m->timer_insn. Otherwise (host time) the board is polled
 * every WB_SYS_POLL instructions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "system.h"
#include "../interp.h"
#include "../jit/jit.h"
#include "../machine.h"
#include "../platform.h"
#include "../scheduler.h"

#define WB_SYS_POLL 65536

uint64_t wb_sys_mtime(const wb_machine *m) { return wb_guest_monotonic_ns(m) / 100; }

static int priv_enters(wb_hart *h, int old_priv) {
  h->reservation = WB_NO_RESERVATION;
  if (h->priv != old_priv) { h->leave = 1; return 1; }
  return 0;
}

void wb_sys_take_trap(wb_hart *h, uint64_t cause, uint64_t tval) {
  wb_sys_hart *s = wb_sys_of(h);
  int irq = (cause >> 63) != 0;
  unsigned code = (unsigned)(cause & 63);
  uint64_t deleg = irq ? s->mideleg : s->medeleg;
  int old = h->priv;
  if (h->priv <= WB_PRIV_S && (deleg >> code & 1)) {
    s->scause = cause;
    s->sepc = h->pc;
    s->stval = tval;
    uint64_t st = s->mstatus & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP);
    if (s->mstatus & MSTATUS_SIE) st |= MSTATUS_SPIE;
    if (h->priv == WB_PRIV_S) st |= MSTATUS_SPP;
    s->mstatus = st;
    h->priv = WB_PRIV_S;
    h->pc = (s->stvec & ~3ull) + ((irq && (s->stvec & 1)) ? 4ull * code : 0);
  } else {
    s->mcause = cause;
    s->mepc = h->pc;
    s->mtval = tval;
    uint64_t st = s->mstatus & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP);
    if (s->mstatus & MSTATUS_MIE) st |= MSTATUS_MPIE;
    st |= (uint64_t)h->priv << 11;
    s->mstatus = st;
    h->priv = WB_PRIV_M;
    h->pc = (s->mtvec & ~3ull) + ((irq && (s->mtvec & 1)) ? 4ull * code : 0);
  }
  priv_enters(h, old);
}

uint64_t wb_sys_pending_interrupt(const wb_hart *h) {
  const wb_sys_hart *s = wb_sys_of(h);
  uint64_t pending = wb_sys_mip(h) & s->mie;
  if (!pending) return 0;
  uint64_t m_ok = h->priv < WB_PRIV_M || (s->mstatus & MSTATUS_MIE) ? pending & ~s->mideleg : 0;
  uint64_t s_ok = h->priv < WB_PRIV_S || (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_SIE))
                      ? pending & s->mideleg : 0;
  static const unsigned order[] = {11, 3, 7, 9, 1, 5};
  for (unsigned i = 0; i < 6; i++)
    if ((m_ok | s_ok) >> order[i] & 1) return WB_CAUSE_INTERRUPT | order[i];
  return 0;
}

static uint64_t host_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Stamp the interrupts whose mip bit rose since the last look (every change of mip passes
 * here: device lines through host_interrupt, software bits through the CSR writes). */
static void note_arrivals(wb_hart *h) {
  wb_sys_hart *s = wb_sys_of(h);
  uint64_t mip = wb_sys_mip(h) & 0xffff;
  uint64_t rose = mip & ~s->seen_mip;
  s->seen_mip = mip;
  if (!rose) return;
  uint64_t ns = host_ns();
  for (unsigned i = 0; i < 16; i++)
    if (rose >> i & 1) { s->arrival_insn[i] = h->instret; s->arrival_ns[i] = ns; }
}

static void log_delivery(wb_hart *h, unsigned code, uint64_t pc, int from, int to) {
  wb_system *sys = h->m->sys;
  wb_sys_hart *s = wb_sys_of(h);
  size_t n = sys->irq_count;
  if (n >= WB_IRQ_LOG_MAX) { sys->irq_dropped++; return; }
  if (n >= sys->irq_cap) {
    size_t cap = sys->irq_cap ? 2 * sys->irq_cap : 4096;
    wb_irq_record *nl = realloc(sys->irq_log, cap * sizeof *nl);
    if (!nl) { sys->irq_dropped++; return; }
    sys->irq_log = nl;
    sys->irq_cap = cap;
  }
  uint64_t ns = host_ns();
  sys->irq_log[n] = (wb_irq_record){.arrival_insn = s->arrival_insn[code], .delivery_insn = h->instret,
                                    .arrival_ns = s->arrival_ns[code], .delivery_ns = ns, .pc = pc,
                                    .cause = code, .hart = (uint8_t)h->id, .from_priv = (uint8_t)from,
                                    .to_priv = (uint8_t)to};
  sys->irq_count = n + 1;
  /* a line still high after this is pending again from now (the handler has not cleared it) */
  s->arrival_insn[code] = h->instret;
  s->arrival_ns[code] = ns;
}

void wb_sys_arrived(wb_hart *h, uint64_t mip_bits, uint64_t ns) {
  wb_sys_hart *s = wb_sys_of(h);
  note_arrivals(h);
  for (unsigned i = 0; i < 16; i++)
    if (mip_bits >> i & 1) s->arrival_ns[i] = ns;
}

void wb_sys_kick(wb_hart *h) {
  note_arrivals(h);
  if (wb_sys_pending_interrupt(h)) h->leave = 1;
  /* a hart in wfi (more than one hart: it waits blocked) runs again once an interrupt it
   * enabled in mie is pending, whatever the global enables say */
  if (h->state == WB_HART_BLOCKED && (wb_sys_mip(h) & wb_sys_of(h)->mie)) h->state = WB_HART_RUNNABLE;
}

void wb_sys_unchain_code(wb_hart *h, uint64_t va) {
  wb_sys_hart *s = wb_sys_of(h);
  for (int p = 0; p < 8; p++)
    if ((p & 3) != WB_PRIV_M) {
      if (s->caches[p]) wb_interp_unchain(s->caches[p]);
      if (s->jits[p] && va == UINT64_MAX) wb_jit_unchain(s->jits[p]);
      else if (s->jits[p]) wb_jit_unchain_at(s->jits[p], va);
    }
}

void wb_sys_drop_code_page(wb_hart *h) {
  wb_sys_hart *s = wb_sys_of(h);
  for (int p = 0; p < 8; p++) {
    if (s->caches[p]) wb_interp_unchain(s->caches[p]);
    if (s->jits[p]) wb_jit_unchain(s->jits[p]);   /* its chains stay within one page */
  }
  h->leave = 1;   /* the running block may be one of them: it ends after this store */
}

/* ---- the board's view of the machine (board.h wb_board_host) ---- */

static uint64_t host_now(void *ctx) { return wb_sys_mtime(ctx); }

static void host_interrupt(void *ctx, int hart) {
  wb_machine *m = ctx;
  if (hart < 0 || hart >= m->nharts) return;
  wb_hart *h = m->harts[hart];
  int was_blocked = h->state == WB_HART_BLOCKED;
  wb_sys_kick(h);
  /* More than one hart: an interrupt for a hart that is not running (an IPI, its timer)
   * ends the running hart's turn after this instruction, and the scheduler picks another
   * hart (deterministically): the sender of an IPI usually spins until the target answered,
   * and would otherwise spin out its whole quantum. */
  wb_hart *cur = m->running;
  if (cur && cur != h && h->state == WB_HART_RUNNABLE &&
      (was_blocked || wb_sys_pending_interrupt(h))) {
    m->yielding = 1;
    cur->leave = 1;
  }
}

/* The machine's instruction count at which the guest clock reaches mtime `t` (deterministic). */
static uint64_t insn_at_mtime(const wb_machine *m, uint64_t t) {
  uint64_t now = wb_machine_insns(m);
  uint64_t cur = wb_sys_mtime(m);
  if (t <= cur) return now;
  uint64_t ns = (t - cur) * 100;
  return now + (ns + m->cfg.ns_per_insn - 1) / m->cfg.ns_per_insn;
}

/* Set m->timer_insn from the board's next deadline. The running tier keeps its own copy of
 * the limit: when the deadline moves earlier (a timer armed by an MMIO store), it leaves
 * after the instruction and looks again. */
static void schedule_events(wb_machine *m) {
  uint64_t old = m->timer_insn;
  if (!m->cfg.deterministic)
    m->timer_insn = wb_machine_insns(m) + WB_SYS_POLL;
  else
    m->timer_insn = m->sys->wake_mtime == UINT64_MAX ? UINT64_MAX : insn_at_mtime(m, m->sys->wake_mtime);
  if (m->timer_insn < old && m->running) m->running->leave = 1;
}

static void host_wake_at(void *ctx, uint64_t mtime) {
  wb_machine *m = ctx;
  m->sys->wake_mtime = mtime;
  schedule_events(m);
  wb_sys_async_wake_at(m, mtime);
}

static void host_console(void *ctx, const uint8_t *bytes, size_t n) {
  wb_machine *m = ctx;
  if (m->cfg.stdout_fd < 0) return;
  while (n > 0) {
    ssize_t w = write(m->cfg.stdout_fd, bytes, n);
    if (w <= 0) return;   /* the embedder closed its end: the console is lost, not the run */
    bytes += w;
    n -= (size_t)w;
  }
}

static void host_power(void *ctx, int reboot, int code) {
  wb_machine *m = ctx;
  m->sys->poweroff = reboot ? 2 : 1;
  m->exit_code = code;
  wb_machine_stop(m, WB_REASON_EXIT, reboot ? "the guest rebooted" : "the guest powered off (exit code %d)", code);
}

static void host_ram_written(void *ctx, uint64_t pa, uint64_t len) { wb_sys_ram_written(ctx, pa, len); }

static void host_post(void *ctx, void (*fn)(void *), void *arg) { wb_sys_async_post(ctx, fn, arg); }

const wb_board_host wb_sys_board_host = {
    .now = host_now, .interrupt = host_interrupt, .wake_at = host_wake_at,
    .console = host_console, .power = host_power, .ram_written = host_ram_written,
    .post = host_post,   /* boot.c drops it in the deterministic mode */
};

/* ---- platform ops ---- */

static int virt_init(wb_machine *m, char *err, size_t errlen) { (void)m; (void)err; (void)errlen; return 0; }

static void virt_fini(wb_machine *m) { wb_system_free(m); }

static void virt_run_end(wb_machine *m) { wb_sys_async_running(m, 0); }

static int virt_load(wb_machine *m, const char *path, int argc, const char *const *argv,
                     int envc, const char *const *envp, char *err, size_t errlen) {
  (void)m; (void)path; (void)argc; (void)argv; (void)envc; (void)envp;
  snprintf(err, errlen, "a system-mode machine boots what wb_system_create loaded; it loads no program");
  return -1;
}

static int virt_on_trap(wb_hart *h, const wb_trap *t) {
  wb_sys_hart *s = wb_sys_of(h);
  uint64_t cause = t->cause, tval = t->tval;
  switch (cause) {
    case WB_CAUSE_ECALL_U: case WB_CAUSE_ECALL_S: case WB_CAUSE_ECALL_M:
      h->instret--;          /* an ecall that traps does not retire (the tiers counted it) */
      tval = 0;
      break;
    case WB_CAUSE_FETCH_ACCESS:
      if (s->fetch_fault.cause) {          /* the decoder's fetch failed: say why */
        cause = s->fetch_fault.cause;
        tval = s->fetch_fault.tval;
        s->fetch_fault.cause = 0;
      }
      break;
    case WB_CAUSE_ILLEGAL:
      tval = 0;
      break;
    default:
      break;
  }
  s->fetch_fault.cause = 0;
  wb_sys_take_trap(h, cause, tval);
  return h->leave;
}

/* Waiting harts let time pass: to the board's next deadline (deterministic: the guest clock
 * jumps there), or a little host time (a posted event interrupts the sleep) and the mailbox;
 * then the devices act on it. */
static void pass_time(wb_machine *m) {
  if (m->cfg.deterministic) {
    uint64_t now = wb_sys_mtime(m);
    if (m->sys->wake_mtime > now) wb_guest_pass_time(m, (int64_t)(m->sys->wake_mtime - now) * 100);
  } else {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    wb_sys_async_poll(m);
  }
  wb_board_tick(&m->sys->board);
}

static int virt_priv_op(wb_hart *h, enum wb_priv_op op) {
  wb_sys_hart *s = wb_sys_of(h);
  wb_machine *m = h->m;
  int old = h->priv;
  switch (op) {
    case WB_PRIV_MRET: {
      if (h->priv != WB_PRIV_M) return -1;
      int mpp = (int)((s->mstatus & MSTATUS_MPP) >> 11);
      uint64_t st = s->mstatus & ~(MSTATUS_MIE | MSTATUS_MPP);
      if (s->mstatus & MSTATUS_MPIE) st |= MSTATUS_MIE;
      st |= MSTATUS_MPIE;
      if (mpp != WB_PRIV_M) st &= ~MSTATUS_MPRV;
      s->mstatus = st;
      h->priv = mpp;
      h->pc = s->mepc;
      break;
    }
    case WB_PRIV_SRET: {
      if (h->priv < WB_PRIV_S || (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_TSR))) return -1;
      int spp = (s->mstatus & MSTATUS_SPP) ? WB_PRIV_S : WB_PRIV_U;
      uint64_t st = s->mstatus & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV);
      if (s->mstatus & MSTATUS_SPIE) st |= MSTATUS_SIE;
      st |= MSTATUS_SPIE;
      s->mstatus = st;
      h->priv = spp;
      h->pc = s->sepc;
      break;
    }
    case WB_PRIV_WFI: {
      if (h->priv == WB_PRIV_U || (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_TW))) return -1;
      h->pc += 4;
      if (m->nharts > 1) {
        /* The others run meanwhile: with no interrupt it enabled pending, the hart waits
         * blocked (wb_sys_kick wakes it, virt_idle lets time pass when all wait); with one
         * pending but globally masked (OpenSBI's HSM wait loops so on its stale msip) wfi
         * falls through, as the spec allows, but ends the hart's turn: the hart is only
         * spinning until another one acts. */
        if (!(wb_sys_mip(h) & s->mie)) {
          h->state = WB_HART_BLOCKED;
          h->wake_ns = 0;
        } else {
          m->yielding = 1;
        }
        h->leave = 1;
        return 0;
      }
      /* wait for an interrupt that is enabled in mie (whatever the global enables say) */
      for (int spins = 0; !(wb_sys_mip(h) & s->mie); spins++) {
        if (m->stop_reason != WB_REASON_NONE) return 0;
        if (m->sys->wake_mtime == UINT64_MAX && !m->cfg.deterministic && spins > 1000) break;
        if (m->sys->wake_mtime == UINT64_MAX && m->cfg.deterministic) {
          wb_machine_stop(m, WB_REASON_DEADLOCK,
                          "the guest waits for an interrupt (wfi at pc 0x%llx) and no timer or device can raise one",
                          (unsigned long long)(h->pc - 4));
          return 0;
        }
        pass_time(m);
      }
      schedule_events(m);
      wb_sys_kick(h);
      return 0;
    }
    case WB_PRIV_SFENCE_VMA:
      if (h->priv == WB_PRIV_U || (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_TVM))) return -1;
      h->pc += 4;
      if (h->priv_arg == UINT64_MAX) wb_sys_tlb_flush(h);
      else wb_sys_tlb_flush_page(h, h->priv_arg);
      wb_sys_unchain_code(h, h->priv_arg);
      return 0;
  }
  priv_enters(h, old);
  wb_sys_kick(h);
  return 0;
}

/* The run loop is about to run h: take a pending interrupt, and run from the block cache of
 * h's privilege. */
static void virt_deliver(wb_hart *h) {
  if (h->m->sys->async) {          /* host-clock mode: events other threads posted */
    wb_sys_async_running(h->m, 1);
    wb_sys_async_poll(h->m);
  }
  uint64_t cause = wb_sys_pending_interrupt(h);
  if (cause) {
    uint64_t pc = h->pc;
    int from = h->priv;
    note_arrivals(h);
    wb_sys_take_trap(h, cause, 0);
    log_delivery(h, (unsigned)(cause & 15), pc, from, h->priv);
    h->m->sys->interrupts_taken++;
  }
  unsigned i = wb_sys_cache_index(h);
  h->interp = wb_sys_of(h)->caches[i];
  if (wb_sys_of(h)->jits[i]) h->jit = wb_sys_of(h)->jits[i];
}

unsigned wb_sys_cache_index(const wb_hart *h) {
  const wb_sys_hart *s = wb_sys_of(h);
  return (unsigned)h->priv | ((s->mstatus & MSTATUS_FS) ? 0u : 4u);
}

static void virt_events_due(wb_machine *m, uint32_t n) {
  (void)n;
  wb_sys_async_poll(m);
  wb_board_tick(&m->sys->board);
  schedule_events(m);
  for (int i = 0; i < m->nharts; i++) wb_sys_kick(m->harts[i]);
}

/* Every hart waits in wfi (more than one hart): let time pass to the board's next deadline
 * (deterministic: the guest clock jumps there; host-clock: sleep a little and look at the
 * mailbox) and wake the harts it raised an interrupt for. 1 to look again, 0 if the run must
 * stop (reason set). */
static int virt_idle(wb_machine *m) {
  if (m->stop_reason != WB_REASON_NONE) return 0;
  if (m->cfg.wall_limit_s > 0 && wb_machine_wall_left_ns(m) == 0) {
    wb_machine_stop(m, WB_REASON_WALLCLOCK, "wall-clock limit of %g s reached", m->cfg.wall_limit_s);
    return 0;
  }
  if (m->cfg.deterministic && m->sys->wake_mtime == UINT64_MAX) {
    wb_machine_stop(m, WB_REASON_DEADLOCK,
                    "every hart waits for an interrupt (wfi) and no timer or device can raise one");
    return 0;
  }
  pass_time(m);
  schedule_events(m);
  for (int i = 0; i < m->nharts; i++) wb_sys_kick(m->harts[i]);
  return 1;
}

static uint64_t virt_reserve(wb_machine *m, uint64_t len) { (void)m; (void)len; return 0; }
static void virt_unreserve(wb_machine *m, uint64_t addr, uint64_t len) { (void)m; (void)addr; (void)len; }
static int virt_symbol(wb_machine *m, const char *name, uint64_t *addr) { (void)m; (void)name; (void)addr; return -1; }

const wb_platform wb_virt_platform = {
    .name = "virt",
    .mem_size = 1u << 20,       /* m->mem is unused in system mode: RAM is the board's */
    .init = virt_init,
    .fini = virt_fini,
    .load = virt_load,
    .on_trap = virt_on_trap,
    .csr_read = wb_sys_csr_read,
    .csr_write = wb_sys_csr_write,
    .csr_check = wb_sys_csr_check,
    .csr_read_rmw = wb_sys_csr_read_rmw,
    .priv_op = virt_priv_op,
    .deliver = virt_deliver,
    .recheck_wait = NULL,
    .idle = virt_idle,
    .events_due = virt_events_due,
    .run_end = virt_run_end,
    .symbol = virt_symbol,
    .reserve = virt_reserve,
    .unreserve = virt_unreserve,
    .syscall_name = NULL,
};
