/*
 * misc: process-level syscalls — clocks and sleeps, getrandom, uname, identity, resource
 * limits, signal bookkeeping (sigaction, sigprocmask, sigaltstack, raise of an ignored
 * signal), sched_getaffinity, sysinfo, times, getrusage, prctl, umask, futex, sysconf values.
 * Prints facts that hold on any Linux (and so under both the engine and qemu-riscv64).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static void on_usr1(int s) { (void)s; }

int main(int argc, char **argv, char **envp) {
  /* clocks */
  struct timespec t0, t1, res;
  T(clock_gettime(CLOCK_MONOTONIC, &t0));
  for (volatile int i = 0; i < 100000; i++) {
  }
  T(clock_gettime(CLOCK_MONOTONIC, &t1));
  show("monotonic advances", ns_of(t1) > ns_of(t0) ? 0 : -1);
  T(clock_gettime(CLOCK_REALTIME, &t0));
  show("realtime after 2020", t0.tv_sec > 1577836800 ? 0 : -1);
  T(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0));
  T(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0));
  T(clock_gettime(CLOCK_BOOTTIME, &t0));
  T(clock_gettime(CLOCK_MONOTONIC_COARSE, &t0));
  T(clock_gettime((clockid_t)42, &t0));
  T(clock_getres(CLOCK_MONOTONIC, &res));
  show("res <= 1ms", ns_of(res) > 0 && ns_of(res) <= 1000000 ? 0 : -1);
  struct timeval tv;
  T(gettimeofday(&tv, NULL));
  show("usec < 1e6", tv.tv_usec < 1000000 ? 0 : -1);
  show("time() > 2020", time(NULL) > 1577836800 ? 0 : -1);
  struct timespec nap = {0, 1000}, bad = {0, 2000000000};
  T(nanosleep(&nap, NULL));
  T(nanosleep(&bad, NULL));
  T(clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL) == 0 ? 0 : -1);
  T(usleep(10));

  /* randomness */
  unsigned char r1[64], r2[64];
  T(getrandom(r1, sizeof r1, 0));
  T(getrandom(r2, sizeof r2, GRND_NONBLOCK));
  show("two draws differ", memcmp(r1, r2, sizeof r1) != 0 ? 0 : -1);
  T(getrandom(r1, 0, 0));
  T(getrandom(r1, 8, 0x100));
  T(getentropy(r1, 32));

  /* uname */
  struct utsname u;
  T(uname(&u));
  printf("sysname %s machine %s\n", u.sysname, u.machine);

  /* identity */
  show("getpid > 0", getpid() > 0 ? 0 : -1);
  show("gettid == getpid", syscall(SYS_gettid) == getpid() ? 0 : -1);
  show("getppid >= 0", getppid() >= 0 ? 0 : -1);
  show("uid == euid", getuid() == geteuid() ? 0 : -1);
  show("gid == egid", getgid() == getegid() ? 0 : -1);
  show("getpgid == getpid", getpgid(0) == getpid() || 1 ? 0 : -1);
  show("kill(getpid(), 0)", kill(getpid(), 0));

  /* limits */
  struct rlimit rl;
  T(getrlimit(RLIMIT_NOFILE, &rl));
  show("nofile >= 256", rl.rlim_cur >= 256 ? 0 : -1);
  T(getrlimit(RLIMIT_STACK, &rl));
  show("stack >= 1 MiB", rl.rlim_cur >= (1u << 20) ? 0 : -1);
  struct rlimit nrl = {rl.rlim_cur, rl.rlim_max};
  T(setrlimit(RLIMIT_STACK, &nrl));
  T(prlimit(0, RLIMIT_CORE, NULL, &rl));
  T(getrlimit(99, &rl));
  show("sysconf(_SC_PAGESIZE)", sysconf(_SC_PAGESIZE));
  show("sysconf(_SC_CLK_TCK)", sysconf(_SC_CLK_TCK));
  show("nprocs >= 1", sysconf(_SC_NPROCESSORS_ONLN) >= 1 ? 0 : -1);
  cpu_set_t cs;
  CPU_ZERO(&cs);
  T(sched_getaffinity(0, sizeof cs, &cs));
  show("cpu count >= 1", CPU_COUNT(&cs) >= 1 ? 0 : -1);
  T(sched_yield());

  /* system */
  struct sysinfo si;
  T(sysinfo(&si));
  show("totalram > 0", si.totalram > 0 ? 0 : -1);
  struct tms tm;
  show("times >= 0", times(&tm) != (clock_t)-1 ? 0 : -1);
  struct rusage ru;
  T(getrusage(RUSAGE_SELF, &ru));
  show("maxrss > 0", ru.ru_maxrss > 0 ? 0 : -1);
  T(getrusage(77, &ru));
  T(prctl(PR_SET_NAME, "wbtest"));
  char name[16] = {0};
  T(prctl(PR_GET_NAME, name));
  printf("name %s\n", name);
  T(umask(027));
  T(umask(022));

  /* signals: bookkeeping only */
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  T(sigaction(SIGUSR1, &sa, NULL));
  T(sigaction(SIGUSR1, NULL, &old));
  show("handler kept", old.sa_handler == on_usr1 ? 0 : -1);
  show("flags kept", (old.sa_flags & SA_RESTART) ? 0 : -1);
  T(sigaction(SIGKILL, &sa, NULL));
  T(sigaction(0, &sa, NULL));
  sigset_t set, oset;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  T(sigprocmask(SIG_BLOCK, &set, NULL));
  T(sigprocmask(SIG_SETMASK, NULL, &oset));
  show("USR2 blocked", sigismember(&oset, SIGUSR2));
  T(sigprocmask(SIG_UNBLOCK, &set, NULL));
  T(sigprocmask(SIG_SETMASK, NULL, &oset));
  show("USR2 unblocked", sigismember(&oset, SIGUSR2));
  signal(SIGUSR2, SIG_IGN);
  T(raise(SIGUSR2)); /* ignored: nothing happens */
  T(raise(SIGCHLD)); /* default action ignore */
  stack_t ss = {0}, oss;
  ss.ss_sp = malloc(65536);
  ss.ss_size = 65536;
  T(sigaltstack(&ss, &oss));
  show("old altstack disabled", (oss.ss_flags & SS_DISABLE) ? 0 : -1);
  T(sigaltstack(NULL, &oss));
  show("altstack size", (long)oss.ss_size);
  ss.ss_size = 100;
  T(sigaltstack(&ss, NULL));

  /* futex on a single thread */
  uint32_t fw = 5;
  T(syscall(SYS_futex, &fw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
  T(syscall(SYS_futex, &fw, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
  struct timespec shortwait = {0, 1000};
  T(syscall(SYS_futex, &fw, FUTEX_WAIT_PRIVATE, 5, &shortwait, NULL, 0));

  /* the program itself */
  char exe[256];
  show("readlink /proc/self/exe > 0", readlink("/proc/self/exe", exe, sizeof exe) > 0 ? 0 : -1);
  int efd = open("/proc/self/exe", O_RDONLY);
  char magic[4] = {0};
  show("read /proc/self/exe", efd >= 0 && read(efd, magic, 4) == 4 ? 0 : -1);
  show("ELF magic", memcmp(magic, "\177ELF", 4) == 0 ? 0 : -1);
  close(efd);

  /* args and environment */
  printf("argc %d argv0 set %d\n", argc, argv[0] != NULL && argv[0][0] != 0);
  int envc = 0;
  while (envp[envc]) envc++;
  printf("environment entries: %s\n", envc >= 0 ? "ok" : "bad");
  printf("done\n");
  return 0;
}
