/* signals.c — guest signal handlers: faults recovered by siglongjmp and by fixing the page,
 * an illegal instruction and an ebreak skipped by editing the pc in the ucontext, SA_SIGINFO
 * fields (si_signo, si_code, si_addr), the alternate signal stack, blocking and pending,
 * SA_RESETHAND, a periodic SIGALRM with sigsuspend, a signal to another thread (also one
 * blocked in a condvar wait), and (mode "abort") the default action of SIGABRT. Output does
 * not depend on scheduling. Usage: signals [all|abort] */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile sig_atomic_t hits;
static volatile uintptr_t fault_addr;
static volatile int fault_code;
static char *page;

static void on_segv_jump(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_addr = (uintptr_t)si->si_addr;
  fault_code = si->si_code;
  siglongjmp(jb, sig);
}

static void on_segv_fix(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  hits++;
  mprotect((void *)((uintptr_t)si->si_addr & ~4095ul), 4096, PROT_READ | PROT_WRITE);
}

static void skip_insn(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  hits++;
  fault_code = si->si_code;
  fault_addr = (uintptr_t)si->si_addr == uc->uc_mcontext.__gregs[0];  /* si_addr = the pc */
  uc->uc_mcontext.__gregs[0] += 4;   /* REG_PC: go on after the 4-byte instruction */
  (void)sig;
}

static char altstack[65536];
static volatile int on_alt;
static void check_alt(int sig) {
  char here;
  on_alt = &here >= altstack && &here < altstack + sizeof altstack;
  (void)sig;
}

static volatile int usr1_tid, usr1_code, usr2_seen;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  usr1_tid = (int)syscall(SYS_gettid);
  usr1_code = si->si_code;
}
static void on_usr2(int sig) { (void)sig; usr2_seen++; }

static volatile int ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static volatile int spin_go, worker_tid;
static void *spinner(void *arg) {
  (void)arg;
  worker_tid = (int)syscall(SYS_gettid);
  while (!usr1_tid) { }       /* until the signal's handler ran on this thread */
  return NULL;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int released, waiter_tid;
static void *cond_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  waiter_tid = (int)syscall(SYS_gettid);
  while (!released) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "abort")) {
    printf("aborting\n");
    fflush(stdout);
    abort();
  }
  page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  /* 1. a write to a read-only page, recovered with siglongjmp */
  install(SIGSEGV, on_segv_jump, 0);
  if (sigsetjmp(jb, 1) == 0) { page[12] = 1; printf("no fault?\n"); }
  printf("segv jump: addr ok %d code %s\n", fault_addr == (uintptr_t)(page + 12),
         fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
  if (sigsetjmp(jb, 1) == 0) { *(volatile int *)16 = 1; printf("no fault?\n"); }
  printf("segv jump: null+16 code %s\n", fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");

  /* 2. the handler makes the page writable and the store runs again */
  install(SIGSEGV, on_segv_fix, 0);
  page[100] = 42;
  printf("segv fixed: hits %d value %d\n", (int)hits, page[100]);

  /* 3. an illegal instruction and an ebreak, skipped by the handlers */
  hits = 0;
  install(SIGILL, skip_insn, 0);
  __asm__ volatile(".4byte 0x00000000");
  printf("sigill skipped: hits %d code %s pc ok %d\n", (int)hits, fault_code == ILL_ILLOPC ? "ILL_ILLOPC" : "other", (int)fault_addr);
  install(SIGTRAP, skip_insn, 0);
  __asm__ volatile(".4byte 0x00100073");
  printf("sigtrap skipped: hits %d\n", (int)hits);

  /* 4. the alternate signal stack */
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = check_alt;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  printf("altstack used %d\n", on_alt);

  /* 5. blocked, pending, then delivered on unblock; SA_RESETHAND */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGUSR2, &sa, NULL);
  sigset_t set, old, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, &old);
  raise(SIGUSR2);
  sigpending(&pend);
  printf("pending while blocked %d, handled %d\n", sigismember(&pend, SIGUSR2), (int)usr2_seen);
  sigprocmask(SIG_SETMASK, &old, NULL);
  struct sigaction now;
  sigaction(SIGUSR2, NULL, &now);
  printf("after unblock handled %d, reset to default %d\n", (int)usr2_seen, now.sa_handler == SIG_DFL);

  /* 6. a periodic SIGALRM, waited for with sigsuspend */
  signal(SIGALRM, on_alarm);
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  sigprocmask(SIG_BLOCK, &set, &old);
  struct itimerval it = {{0, 10000}, {0, 10000}};
  setitimer(ITIMER_REAL, &it, NULL);
  sigset_t waitmask = old;
  sigdelset(&waitmask, SIGALRM);
  while (ticks < 3) sigsuspend(&waitmask);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("alarm ticks %d\n", ticks >= 3 ? 3 : ticks);

  /* 7. a signal to another (running) thread runs there */
  install(SIGUSR1, on_usr1, 0);
  pthread_t t;
  pthread_create(&t, NULL, spinner, NULL);
  while (!worker_tid) sched_yield();
  pthread_kill(t, SIGUSR1);
  pthread_join(t, NULL);
  printf("thread signal ran on target %d code %s\n", usr1_tid == worker_tid,
         usr1_code == SI_TKILL ? "SI_TKILL" : "other");

  /* 8. a signal to a thread blocked in a condvar wait: handler, then the wait goes on */
  usr1_tid = 0;
  pthread_create(&t, NULL, cond_waiter, NULL);
  for (;;) {
    pthread_mutex_lock(&mu);
    int ready = waiter_tid != 0;
    pthread_mutex_unlock(&mu);
    if (ready) break;
    sched_yield();
  }
  pthread_kill(t, SIGUSR1);
  while (!usr1_tid) sched_yield();
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
  printf("blocked thread handled %d, then released\n", usr1_tid == waiter_tid);
  return 0;
}
