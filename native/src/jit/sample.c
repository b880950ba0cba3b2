/* sample.c — exact guest state at asynchronous host signals (the JIT's precise-interrupt
 * mechanism; the interface is in jit.h).
 *
 * A signal can land anywhere in translated code, in the middle of the host instructions of one
 * guest instruction. The map from host offsets to guest instructions (wb_jit_locate) names
 * the interrupted instruction; to read the state at an instruction boundary the handler sets
 * the x86 trap flag and lets the host code run one instruction at a time (SIGTRAP after
 * each) until the pc reaches a boundary: a block entry or the start of a guest instruction's
 * code. There the guest registers are read from the signal context (mapped registers) and
 * cpu.x (the others), and instret from r15. If stepping leaves translated code (into a
 * helper, or out through the exit trampoline), or the signal landed outside it, the sample
 * is taken when the dispatcher next runs, where the state is exact too.
 */
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include "jit_internal.h"

#if WB_HAVE_JIT

#define TF 0x100ull /* EFLAGS trap flag */

static struct sigaction g_prev_trap;
static int g_installed_signo;

static void finish(struct wb_jit *J) {
  if (J->scount < J->scap) J->sbuf[J->scount] = J->cur;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (J->scount < J->scap) J->scount++;
}

/* If rip is a guest instruction boundary in translated code, take the sample there. */
static int take_at_boundary(struct wb_jit *J, ucontext_t *uc, uintptr_t rip) {
  const wb_jit_block *b = wb_jit_block_at(J, rip);
  if (!b) return 0;
  uint32_t off = (uint32_t)(rip - (uintptr_t)b->code);
  unsigned i;
  uint64_t pending = 0; /* block instructions counted on entry but not yet retired */
  if (off == 0) { i = 0; pending = 0; }
  else {
    const uint16_t *h = wb_jit_body(b, off);
    for (i = 0; i < b->n && h[i] != off; i++) {}
    if (i == b->n) return 0;
    pending = b->n - i;
  }
  int64_t left = J->left_swapped ? J->saved_left : (int64_t)uc->uc_mcontext.gregs[REG_R15];
  wb_jit_sample *s = &J->cur;
  s->where = 0;
  s->boundary = rip;
  s->pc = off == 0 ? b->pc : wb_jit_insn_pc(b, i);
  s->instret = J->hart->jit_mark - (uint64_t)left - pending;
  memcpy(s->x, J->hart->x, sizeof s->x);
  for (int k = 0; k < JIT_NMAP; k++)
    s->x[J->gregs[k]] = (uint64_t)uc->uc_mcontext.gregs[wb_jit_greg_index[J->hregs[k]]];
  s->x[0] = 0;
  finish(J);
  return 1;
}

static void defer_to_dispatcher(struct wb_jit *J, ucontext_t *uc) {
  J->sample_pending = 1;
  wb_jit_request_exit(J, uc);
}

static void on_sample_signal(int sig, siginfo_t *si, void *ucv) {
  (void)sig; (void)si;
  wb_hart *h = wb_hart_current();   /* the cache of the hart this host thread runs */
  struct wb_jit *J = h ? h->jit : NULL;
  if (!J || !J->sbuf) return;
  if (J->stepping || J->sample_pending || J->scount >= J->scap) return; /* one at a time */
  ucontext_t *uc = ucv;
  uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  memset(&J->cur, 0, sizeof J->cur);
  J->cur.host_pc = rip;
  /* the block map is only stable while translated code runs (the dispatcher translates) */
  if (!J->in_jit || J->in_helper || !wb_jit_block_at(J, rip)) { defer_to_dispatcher(J, uc); return; }
  wb_jit_locate(J, rip, &J->cur.located_pc, &J->cur.located_next);
  if (take_at_boundary(J, uc, rip)) return;
  J->stepping = 1;
  uc->uc_mcontext.gregs[REG_EFL] |= TF;
}

static void on_trap(int sig, siginfo_t *si, void *ucv) {
  wb_hart *h = wb_hart_current();
  ucontext_t *uc = ucv;
  if (!h || !h->jit || !h->jit->stepping) {
    if (g_prev_trap.sa_flags & SA_SIGINFO) { if (g_prev_trap.sa_sigaction) g_prev_trap.sa_sigaction(sig, si, ucv); }
    else if (g_prev_trap.sa_handler != SIG_DFL && g_prev_trap.sa_handler != SIG_IGN) g_prev_trap.sa_handler(sig);
    return;
  }
  struct wb_jit *J = h->jit;
  uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  J->cur.steps++;
  if (wb_jit_block_at(J, rip)) {
    if (take_at_boundary(J, uc, rip)) {
      J->stepping = 0;
      uc->uc_mcontext.gregs[REG_EFL] &= ~TF;
    }
    return; /* keep stepping */
  }
  /* left translated code: a helper call or the exit trampoline */
  J->stepping = 0;
  uc->uc_mcontext.gregs[REG_EFL] &= ~TF;
  defer_to_dispatcher(J, uc);
}

int wb_jit_sampler_start(wb_machine *m, int signo, wb_jit_sample *buf, size_t cap) {
  struct wb_jit *J = m->jit;
  if (!J || !buf || !cap || signo == SIGTRAP || signo == SIGSEGV || signo == SIGBUS) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, signo);
  sa.sa_sigaction = on_trap;
  if (!g_installed_signo && sigaction(SIGTRAP, &sa, &g_prev_trap) != 0) return -1;
  sa.sa_sigaction = on_sample_signal;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGTRAP);
  if (sigaction(signo, &sa, NULL) != 0) return -1;
  g_installed_signo = signo;
  J->scount = 0;
  J->scap = cap;
  J->stepping = 0;
  J->sample_pending = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  J->sbuf = buf;
  return 0;
}

void wb_jit_sampler_stop(wb_machine *m) {
  if (m->jit) m->jit->sbuf = NULL;
}

size_t wb_jit_sampler_count(const wb_machine *m) { return m->jit ? m->jit->scount : 0; }

void wb_jit_sampler_poll(struct wb_jit *J, uint64_t pc) {
  /* sample_pending stays set until the record is written: a signal arriving meanwhile is
   * dropped ("one at a time") instead of clearing J->cur under our feet */
  if (J->sbuf) {
    wb_jit_sample *s = &J->cur;
    s->where = 1;
    s->boundary = 0;
    s->pc = pc;
    s->instret = J->hart->instret;
    memcpy(s->x, J->hart->x, sizeof s->x);
    s->x[0] = 0;
    finish(J);
  }
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  J->sample_pending = 0;
}

#else
int wb_jit_sampler_start(wb_machine *m, int signo, wb_jit_sample *buf, size_t cap) { return -1; }
void wb_jit_sampler_stop(wb_machine *m) { (void)m; }
size_t wb_jit_sampler_count(const wb_machine *m) { return 0; }
void wb_jit_sampler_poll(struct wb_jit *J, uint64_t pc) { (void)J; (void)pc; }
#endif
