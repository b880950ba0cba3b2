/* signal.c — guest signals: actions (rt_sigaction), per-thread masks and alternate stacks,
 * sending (kill, tkill, tgkill, timers, faults, SIGPIPE), delivery to guest handlers with a
 * riscv64 signal frame, rt_sigreturn, sigsuspend, and the default actions.
 *
 * Sending only marks a signal pending (on a thread, or on the process) and asks the run loop
 * to look (WB_REASON_SWITCH); a thread blocked in a wait that the signal may interrupt wakes
 * with EINTR. Delivery happens in the run loop, before a hart runs (platform op `deliver`):
 * the tiers have returned at an instruction boundary, so the frame holds an exact guest
 * state — after the ecall for a signal sent by a syscall, the faulting instruction for a
 * fault, the next block for a timer. The frame is the kernel's (arch/riscv signal.c): a
 * siginfo, then a ucontext whose mcontext holds pc, x1..x31, f0..f31 and fcsr; the handler
 * returns to a two-instruction trampoline (li a7, 139; ecall) on a page the loader maps,
 * since there is no vDSO. Faults with no handler keep their own stop reasons ("fault",
 * "illegal", "ebreak") with the engine's message, which says more than "SIGSEGV".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "user_internal.h"
#include "../parallel.h"
#include "../scheduler.h"

#define SIG_DFL 0
#define SIG_IGN 1
#define SA_SIGINFO 4u
#define SA_ONSTACK 0x08000000u
#define SA_NODEFER 0x40000000u
#define SA_RESETHAND 0x80000000u
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048

/* The frame (arch/riscv/kernel/signal.c rt_sigframe): siginfo, then the ucontext. */
#define SIGINFO_SIZE 128
#define UC_STACK 16        /* stack_t: ss_sp, ss_flags (+pad), ss_size */
#define UC_SIGMASK 40
#define UC_MCONTEXT 176    /* after 128 bytes of sigset space, 16-byte aligned */
#define MC_FPREGS 256      /* after gregs[32]: pc, x1..x31 */
#define MC_FCSR (MC_FPREGS + 256)
#define UC_SIZE (UC_MCONTEXT + 256 + 528)
#define FRAME_SIZE (SIGINFO_SIZE + UC_SIZE)

static const char *const signames[32] = {
    NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",
    "SIGBUS",  "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV",   "SIGUSR2", "SIGPIPE",
    "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ",   "SIGVTALRM", "SIGPROF",
    "SIGWINCH", "SIGIO",  "SIGPWR",    "SIGSYS",
};

const char *wb_signal_name(int sig) {
  if (sig > 0 && sig < 32) return signames[sig];
  return NULL;
}

static uint64_t sigbit(int sig) { return 1ull << (sig - 1); }
#define UNBLOCKABLE (sigbit(9) | sigbit(19))

static int default_ignored(int sig) {
  return sig == 17 || sig == 18 || sig == 23 || sig == 28; /* CHLD, CONT, URG, WINCH */
}

static int dumps_core(int sig) {  /* the default action is "core" (signal(7)) */
  return sig == 3 || sig == 4 || sig == 5 || sig == 6 || sig == 7 || sig == 8 || sig == 11 ||
         sig == 24 || sig == 25 || sig == 31;
}

static int ignored(const wb_user *u, int sig) {
  uint64_t h = u->sigaction[sig][0];
  return sig != 9 && sig != 19 && (h == SIG_IGN || (h == SIG_DFL && default_ignored(sig)));
}

int wb_signal_has_handler(wb_machine *m, int sig) {
  uint64_t h = wb_u(m)->sigaction[sig][0];
  return h != SIG_DFL && h != SIG_IGN;
}

static uint64_t mask_of(wb_hart *h) {
  wb_uthread *ut = wb_ut(h);
  return ut ? ut->sigmask : 0;
}

/* The default action of an unhandled signal: end the run, as the kernel kills the process. */
static void terminate(wb_machine *m, int sig) {
  const char *name = wb_signal_name(sig);
  char num[24];
  if (!name) {
    snprintf(num, sizeof num, "signal %d", sig);
    name = num;
  }
  m->exit_code = sig;
  wb_machine_stop(m, WB_REASON_SIGNAL, "guest killed by %s%s", name,
                  dumps_core(sig) ? " (core dumped, as the default action would)" : "");
}

/* The thread a process-directed signal goes to: the running one if it takes it, else the
 * first live one that does not block it. */
static wb_hart *taker(wb_machine *m, int sig) {
  wb_hart *r = wb_machine_self(m);
  if (r && r->state != WB_HART_EXITED && !(mask_of(r) & sigbit(sig))) return r;
  for (int i = 0; i < m->nharts; i++) {
    wb_hart *h = m->harts[i];
    if (h->state != WB_HART_EXITED && !(mask_of(h) & sigbit(sig))) return h;
  }
  return NULL;
}

long wb_signal_send(wb_machine *m, wb_hart *to, int sig, int code, uint64_t addr) {
  if (sig == 0) return 0;
  wb_user *u = wb_u(m);
  wb_hart *t = to ? to : taker(m, sig);
  int blocked = !t || (mask_of(t) & sigbit(sig) && !(sigbit(sig) & UNBLOCKABLE));
  if (!blocked && ignored(u, sig)) return 0;  /* discarded when sent, as the kernel does */
  wb_siginfo *info;
  if (to) {
    wb_uthread *ut = wb_ut(to);
    if (!ut) return -ENOMEM;
    if (ut->sigpending & sigbit(sig)) return 0;  /* standard signals do not queue */
    ut->sigpending |= sigbit(sig);
    info = &ut->info[sig];
  } else {
    if (u->sigpending & sigbit(sig)) return 0;
    u->sigpending |= sigbit(sig);
    info = &u->info[sig];
  }
  info->code = code;
  info->addr = addr;
  if (blocked) return 0;
  wb_signal_interrupt_wait(t);  /* a wait the signal interrupts */
  wb_machine_stop(m, WB_REASON_SWITCH, "a signal to deliver");
  if (m->par.on && t != wb_machine_self(m)) wb_par_kick(t);  /* it takes it at its next look */
  return 0;
}

long wb_signal_self(wb_machine *m, int sig) { return wb_signal_send(m, NULL, sig, 0x80, 0); }

void wb_signal_force(wb_hart *h, int sig, int code, uint64_t addr) {
  wb_user *u = wb_u(h->m);
  wb_uthread *ut = wb_ut(h);
  /* a fault the thread blocks or ignores kills it (force_sig): unblock, default action */
  if (ut && (ut->sigmask & sigbit(sig))) ut->sigmask &= ~sigbit(sig);
  if (u->sigaction[sig][0] == SIG_IGN) u->sigaction[sig][0] = SIG_DFL;
  wb_signal_send(h->m, h, sig, code, addr);
}

long wb_epipe(wb_machine *m) {
  wb_signal_send(m, wb_machine_self(m), 13, 0, 0);  /* SIGPIPE to the writing thread */
  return -EPIPE;
}

/* The alternate stack's state as sigaltstack and the frame report it, for sp. */
static uint64_t altstack_flags(const wb_uthread *ut, uint64_t sp) {
  if (ut->altstack[1] & SS_DISABLE) return SS_DISABLE;
  return sp - ut->altstack[0] <= ut->altstack[2] ? SS_ONSTACK : 0;
}

/* Put a frame for sig on h's stack and point h at the handler; 0, or -1 if the stack is
 * unwritable (the kernel then kills with SIGSEGV). */
static int push_frame(wb_hart *h, int sig, const wb_siginfo *si, uint64_t old_mask) {
  wb_machine *m = h->m;
  wb_user *u = wb_u(m);
  wb_uthread *ut = wb_ut(h);
  uint64_t flags = u->sigaction[sig][1], sp = h->x[WB_REG_SP];
  uint64_t ssf = altstack_flags(ut, sp);
  if ((flags & SA_ONSTACK) && ssf == 0) sp = ut->altstack[0] + ut->altstack[2];
  uint64_t frame = (sp - FRAME_SIZE) & ~15ull;
  uint8_t f[FRAME_SIZE];
  memset(f, 0, sizeof f);
  int32_t head[3] = {sig, 0, si->code};
  memcpy(f, head, sizeof head);
  if (si->code == 0 || si->code == -6) {  /* SI_USER, SI_TKILL: the sender */
    uint32_t pid_uid[2] = {WB_PID, WB_UID};
    memcpy(f + 16, pid_uid, sizeof pid_uid);
  } else {
    memcpy(f + 16, &si->addr, 8);          /* faults: si_addr */
  }
  uint8_t *uc = f + SIGINFO_SIZE;
  uint64_t stack[3] = {ut->altstack[0], ssf, ut->altstack[2]};
  memcpy(uc + UC_STACK, stack, sizeof stack);
  memcpy(uc + UC_SIGMASK, &old_mask, 8);
  uint64_t gregs[32];
  memcpy(gregs, h->x, sizeof gregs);
  gregs[0] = h->pc;
  memcpy(uc + UC_MCONTEXT, gregs, sizeof gregs);
  memcpy(uc + UC_MCONTEXT + MC_FPREGS, h->f, 32 * 8);
  uint32_t fcsr = (h->frm << 5) | h->fflags;
  memcpy(uc + UC_MCONTEXT + MC_FCSR, &fcsr, 4);
  if (wb_mem_write(&m->mem, frame, f, sizeof f) != 0) return -1;
  h->x[WB_REG_SP] = frame;
  h->x[WB_REG_RA] = WB_SIGRETURN_ADDR;
  h->x[WB_REG_A0] = (uint64_t)sig;
  h->x[WB_REG_A1] = frame;
  h->x[WB_REG_A2] = frame + SIGINFO_SIZE;
  h->pc = u->sigaction[sig][0] & ~1ull;
  h->reservation = WB_NO_RESERVATION;
  return 0;
}

void wb_signal_interrupt_wait(wb_hart *h) {
  wb_uthread *ut = wb_ut(h);
  if (h->state != WB_HART_BLOCKED || !ut || !((ut->sigpending | wb_u(h->m)->sigpending) & ~ut->sigmask))
    return;
  ut->futex_addr = 0;
  if (ut->io_wait) {  /* a pipe wait was to run its call again: it returns EINTR instead */
    ut->io_wait = 0;
    ut->io_deadline = 0;
    h->pc += 4;
  }
  wb_sched_wake(h, (uint64_t)-EINTR);
}

void wb_signals_deliver(wb_hart *h) {
  wb_machine *m = h->m;
  wb_user *u = wb_u(m);
  wb_uthread *ut = wb_ut(h);
  if (!ut) return;
  while (m->stop_reason == WB_REASON_NONE) {
    uint64_t ready = (ut->sigpending | u->sigpending) & ~ut->sigmask;
    if (!ready) break;
    int sig = __builtin_ctzll(ready) + 1;
    wb_siginfo si;
    if (ut->sigpending & sigbit(sig)) {
      ut->sigpending &= ~sigbit(sig);
      si = ut->info[sig];
    } else {
      u->sigpending &= ~sigbit(sig);
      si = u->info[sig];
    }
    if (sig == 14) wb_user_alarm_dequeued(m);  /* ITIMER_REAL re-arms when SIGALRM is taken */
    if (ignored(u, sig)) continue;
    if (!wb_signal_has_handler(m, sig)) {
      terminate(m, sig);
      return;
    }
    uint64_t old = ut->restore_mask ? ut->saved_mask : ut->sigmask;
    uint64_t *act = u->sigaction[sig];
    if (push_frame(h, sig, &si, old) != 0) {
      terminate(m, 11);  /* no room for the frame: SIGSEGV, as the kernel does */
      return;
    }
    ut->restore_mask = 0;
    ut->sigmask = (old | act[2] | ((act[1] & SA_NODEFER) ? 0 : sigbit(sig))) & ~UNBLOCKABLE;
    if (act[1] & SA_RESETHAND) act[0] = SIG_DFL;
  }
  if (ut->restore_mask) {  /* sigsuspend returned without running a handler */
    ut->sigmask = ut->saved_mask;
    ut->restore_mask = 0;
  }
}

/* Something became deliverable (a mask change): let the run loop deliver it. */
static void look_again(wb_machine *m, wb_hart *h) {
  if ((wb_ut(h)->sigpending | wb_u(m)->sigpending) & ~wb_ut(h)->sigmask)
    wb_machine_stop(m, WB_REASON_SWITCH, "a signal to deliver");
}

WB_SYS(rt_sigreturn) {
  uint64_t uc = hart->x[WB_REG_SP] + SIGINFO_SIZE;
  uint64_t gregs[32], f[32], mask;
  uint32_t fcsr;
  wb_uthread *ut = wb_ut(hart);
  if (!ut || wb_mem_read(&m->mem, uc + UC_MCONTEXT, gregs, sizeof gregs) != 0 ||
      wb_mem_read(&m->mem, uc + UC_MCONTEXT + MC_FPREGS, f, sizeof f) != 0 ||
      wb_mem_read(&m->mem, uc + UC_MCONTEXT + MC_FCSR, &fcsr, 4) != 0 ||
      wb_mem_read(&m->mem, uc + UC_SIGMASK, &mask, 8) != 0) {
    terminate(m, 11);  /* a corrupt frame: the kernel sends SIGSEGV */
    return 0;
  }
  memcpy(&hart->x[1], &gregs[1], 31 * 8);
  memcpy(hart->f, f, sizeof f);
  hart->fflags = fcsr & 0x1f;
  hart->frm = (fcsr >> 5) & 7;
  hart->pc = gregs[0] - 4;  /* the ecall's +4 lands on the restored pc */
  ut->sigmask = mask & ~UNBLOCKABLE;
  look_again(m, hart);
  return (long)hart->x[WB_REG_A0];  /* a0 as the frame holds it */
}

WB_SYS(rt_sigaction) {
  int sig = (int)a[0];
  if (a[3] != 8 || sig < 1 || sig > WB_NSIG) return -EINVAL;
  if (a[1] && (sig == 9 || sig == 19)) return -EINVAL;
  wb_user *u = wb_u(m);
  uint64_t nact[3];
  if (a[1] && wb_mem_read(&m->mem, a[1], nact, sizeof nact) != 0) return -EFAULT;
  if (a[2] && wb_mem_write(&m->mem, a[2], u->sigaction[sig], sizeof nact) != 0) return -EFAULT;
  if (a[1]) {
    memcpy(u->sigaction[sig], nact, sizeof nact);
    /* Setting SIG_IGN discards pending instances (as the kernel does). */
    if (ignored(u, sig)) {
      u->sigpending &= ~sigbit(sig);
      for (int i = 0; i < m->nharts; i++)
        if (m->harts[i]->plat) ((wb_uthread *)m->harts[i]->plat)->sigpending &= ~sigbit(sig);
    }
  }
  return 0;
}

WB_SYS(rt_sigprocmask) {
  if (a[3] != 8) return -EINVAL;
  wb_uthread *ut = wb_ut(hart);
  if (!ut) return -ENOMEM;
  uint64_t set = 0;
  if (a[1]) {
    if (a[0] > 2) return -EINVAL;
    if (wb_mem_read(&m->mem, a[1], &set, 8) != 0) return -EFAULT;
  }
  if (a[2] && wb_mem_write(&m->mem, a[2], &ut->sigmask, 8) != 0) return -EFAULT;
  if (a[1]) {
    switch (a[0]) {
      case 0: ut->sigmask |= set; break;   /* SIG_BLOCK */
      case 1: ut->sigmask &= ~set; break;  /* SIG_UNBLOCK */
      default: ut->sigmask = set; break;   /* SIG_SETMASK */
    }
    ut->sigmask &= ~UNBLOCKABLE;
    look_again(m, hart);
  }
  return 0;
}

WB_SYS(rt_sigpending) {
  if (a[1] > 8) return -EINVAL;
  wb_uthread *ut = wb_ut(hart);
  uint64_t p = ut ? (ut->sigpending | wb_u(m)->sigpending) & ut->sigmask : 0;
  return wb_mem_write(&m->mem, a[0], &p, (size_t)a[1]);
}

WB_SYS(rt_sigsuspend) {
  if (a[1] != 8) return -EINVAL;
  uint64_t set;
  if (wb_mem_read(&m->mem, a[0], &set, 8) != 0) return -EFAULT;
  wb_uthread *ut = wb_ut(hart);
  if (!ut) return -ENOMEM;
  /* wait with `set` as the mask; the handler's frame records the old mask, so returning
   * from the handler restores it */
  ut->saved_mask = ut->sigmask;
  ut->restore_mask = 1;
  ut->sigmask = set & ~UNBLOCKABLE;
  if ((ut->sigpending | wb_u(m)->sigpending) & ~ut->sigmask) {
    look_again(m, hart);
    return -EINTR;
  }
  if (wb_sched_live(m) > 1) {  /* a signal from another thread ends the wait (EINTR) */
    wb_sched_block(hart, 0, (uint64_t)-EINTR);
    return -EINTR;
  }
  /* alone: the only possible source is our own interval timer */
  if (wb_guest_wait_timer(m) && wb_stopping(m)) return -EINTR;
  if ((ut->sigpending | wb_u(m)->sigpending) & ~ut->sigmask) {
    look_again(m, hart);
    return -EINTR;
  }
  ut->sigmask = ut->saved_mask;
  ut->restore_mask = 0;
  wb_machine_stop(m, WB_REASON_DEADLOCK, "deadlock: sigsuspend with no signal source");
  return 0;
}

WB_SYS(sigaltstack) {
  wb_uthread *ut = wb_ut(hart);
  if (!ut) return -ENOMEM;
  uint64_t ss[3], cur[3] = {ut->altstack[0], altstack_flags(ut, hart->x[WB_REG_SP]), ut->altstack[2]};
  if (a[0] && wb_mem_read(&m->mem, a[0], ss, sizeof ss) != 0) return -EFAULT;
  if (a[1] && wb_mem_write(&m->mem, a[1], cur, sizeof cur) != 0) return -EFAULT;
  if (a[0]) {
    uint32_t flags = (uint32_t)ss[1];
    if (flags & ~(SS_DISABLE | 0x80000000u)) return -EINVAL;
    if (cur[1] == SS_ONSTACK) return -EPERM;  /* cannot change the stack it runs on */
    if (flags & SS_DISABLE) {
      ut->altstack[0] = 0;
      ut->altstack[1] = SS_DISABLE;
      ut->altstack[2] = 0;
    } else {
      if (ss[2] < MINSIGSTKSZ) return -ENOMEM;
      memcpy(ut->altstack, ss, sizeof ss);
      ut->altstack[1] = 0;
    }
  }
  return 0;
}

static int sig_ok(uint64_t v) { return (int64_t)(int32_t)v >= 0 && (int32_t)v <= WB_NSIG; }

WB_SYS(kill) {
  int32_t pid = (int32_t)a[0];
  if (!sig_ok(a[1])) return -EINVAL;
  if (pid == WB_PID || pid == 0 || pid == -1 || pid == -WB_PID)
    return wb_signal_send(m, NULL, (int)a[1], 0, 0);
  return -ESRCH;
}

WB_SYS(tkill) {
  int32_t tid = (int32_t)a[0];
  if (tid <= 0 || !sig_ok(a[1])) return -EINVAL;
  wb_hart *t = wb_thread_of(m, tid);
  return t ? wb_signal_send(m, t, (int)a[1], -6, 0) : -ESRCH;
}

WB_SYS(tgkill) {
  int32_t tgid = (int32_t)a[0], tid = (int32_t)a[1];
  if (tgid <= 0 || tid <= 0 || !sig_ok(a[2])) return -EINVAL;
  wb_hart *t = tgid == WB_PID ? wb_thread_of(m, tid) : NULL;
  return t ? wb_signal_send(m, t, (int)a[2], -6, 0) : -ESRCH;
}
