/*
 * timers: interval timers and alarm() as the kernel runs them, compared with qemu-riscv64 by
 * tests/test_usermode.py (what is printed, and which signal ends the process).
 *
 *   timers spin       ITIMER_REAL 100 ms, then a busy loop: killed by SIGALRM
 *   timers sleep      ITIMER_REAL 100 ms, then sleep(5): killed by SIGALRM inside the sleep
 *   timers alarm      alarm(1), then pause(): killed by SIGALRM
 *   timers virtual    ITIMER_VIRTUAL 100 ms, busy loop: killed by SIGVTALRM
 *   timers blocked    SIGALRM blocked: it stays pending through a sleep; unblocking kills
 *   timers ignored    SIG_IGN, a periodic 10 ms timer, a sleep: survives; getitimer reports
 *                     a stopped timer (value 0, interval kept)
 *   timers cancel     alarm(5) then alarm(0) returns 5; the process survives
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static void arm(int which, long value_ms, long interval_ms) {
  struct itimerval v = {{interval_ms / 1000, interval_ms % 1000 * 1000},
                        {value_ms / 1000, value_ms % 1000 * 1000}};
  show("setitimer", setitimer(which, &v, NULL));
}

static void spin(void) {
  for (volatile unsigned long i = 0;; i++) {
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "spin")) {
    arm(ITIMER_REAL, 100, 0);
    spin();
  } else if (!strcmp(mode, "sleep")) {
    arm(ITIMER_REAL, 100, 0);
    sleep(5);
    puts("slept through the alarm");
  } else if (!strcmp(mode, "alarm")) {
    show("alarm(1)", (long)alarm(1));
    pause();
    puts("pause returned");
  } else if (!strcmp(mode, "virtual")) {
    arm(ITIMER_VIRTUAL, 100, 0);
    spin();
  } else if (!strcmp(mode, "blocked")) {
    sigset_t s, p;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    show("sigprocmask", sigprocmask(SIG_BLOCK, &s, NULL));
    arm(ITIMER_REAL, 100, 0);
    usleep(300000);
    sigpending(&p);
    printf("SIGALRM pending after the sleep: %s\n", sigismember(&p, SIGALRM) ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    puts("survived unblocking");
  } else if (!strcmp(mode, "ignored")) {
    signal(SIGALRM, SIG_IGN);
    arm(ITIMER_REAL, 10, 10);
    usleep(55000);
    struct itimerval v;
    show("getitimer", getitimer(ITIMER_REAL, &v));
    /* Linux re-arms ITIMER_REAL when SIGALRM is dequeued: an ignored one never is, so the
     * timer has stopped (value 0) and kept its interval */
    printf("interval %ld us, value %ld us\n", (long)v.it_interval.tv_usec,
           (long)(v.it_value.tv_sec * 1000000 + v.it_value.tv_usec));
    arm(ITIMER_REAL, 0, 0);
    show("getitimer", getitimer(ITIMER_REAL, &v));
    printf("disarmed: %s\n", v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0 ? "yes" : "no");
    puts("survived");
  } else if (!strcmp(mode, "cancel")) {
    show("alarm(5)", (long)alarm(5));
    show("alarm(0)", (long)alarm(0));
    usleep(10000);
    puts("survived");
  } else {
    errno = EINVAL;
    show("mode", -1);
    return 2;
  }
  return 0;
}
