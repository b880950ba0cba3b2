/*
 * edge: one edge case per run, chosen by argv[1]; used by tests/test_usermode.py for the
 * engine's run-ending behaviours:
 *   exit N          exit_group(N) after some output
 *   sigpipe         write to a pipe whose read end is closed: killed by SIGPIPE
 *   sigpipe-ignored the same with SIGPIPE ignored: write fails with EPIPE
 *   pipe-deadlock   blocking read of an empty pipe nobody else can write (engine: deadlock)
 *   futex-deadlock  FUTEX_WAIT without timeout on a single thread (engine: deadlock)
 *   fork            fork() and clone are not available yet: ENOSYS, the program goes on
 *   unknown         an unknown syscall number returns ENOSYS
 *   handler         raise() with a handler installed: the handler runs, then raise returns 0
 *   segv            a store to address 8 (engine: memory fault)
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static void on_usr1(int s) { (void)s; printf("handler ran\n"); }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  printf("mode %s\n", mode);
  fflush(stdout);
  int p[2];
  if (strcmp(mode, "exit") == 0) {
    printf("exiting\n");
    fflush(stdout);
    syscall(SYS_exit_group, argc > 2 ? atoi(argv[2]) : 0);
  } else if (strcmp(mode, "sigpipe") == 0 || strcmp(mode, "sigpipe-ignored") == 0) {
    if (strcmp(mode, "sigpipe-ignored") == 0) signal(SIGPIPE, SIG_IGN);
    pipe(p);
    close(p[0]);
    T(write(p[1], "x", 1));
  } else if (strcmp(mode, "pipe-deadlock") == 0) {
    char c;
    pipe(p);
    T(read(p[0], &c, 1));
  } else if (strcmp(mode, "futex-deadlock") == 0) {
    uint32_t w = 0;
    T(syscall(SYS_futex, &w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
  } else if (strcmp(mode, "fork") == 0) {
    T(fork());
  } else if (strcmp(mode, "unknown") == 0) {
    T(syscall(400));
    T(syscall(258 + 1000));
  } else if (strcmp(mode, "handler") == 0) {
    signal(SIGUSR1, on_usr1);
    T(raise(SIGUSR1));
  } else if (strcmp(mode, "segv") == 0) {
    *(volatile int *)(uintptr_t)8 = 1;
  }
  printf("end\n");
  return 0;
}
