/* waits.c — waits that end badly or late, one per mode (argv[1]):
 *   timeout   a semaphore wait with a 50 ms timeout that nobody posts: ETIMEDOUT, then a
 *             condvar timed wait, both measured on CLOCK_MONOTONIC (at least the timeout)
 *   deadlock  main joins a thread that waits forever on a semaphore: every thread waits
 *   selfwait  the only thread waits on a futex word nobody will change
 *   fork      fork() (a new process: unsupported by the engine, reported as ENOSYS)
 *   limit     create threads until pthread_create fails (the engine's max-threads)
 *   alarm     the only thread waits on a semaphore nobody posts but a SIGALRM handler does
 *   alarm-mt  main joins a thread that waits on such a semaphore: every thread waits, and
 *             only the alarm (1 s later) can end it
 *   pipes     a thread writes 300 KB through a pipe (more than it holds: the writer waits
 *             for the reader) that main reads with read and poll until EOF; then a 50 ms poll
 *             on a pipe nobody writes times out while another thread lives
 *   pipewait  main reads a pipe nobody writes while the only other thread waits forever
 *   stdin     main reads a byte of stdin while a worker computes (argv[2] iterations,
 *             default 20M): did the worker finish before the byte came (it runs on while the
 *             host read blocks)?
 *   stdin-exit main reads stdin while a worker computes and then ends the process (exit 3)
 * The stdin modes read with readv instead of read when argv[3] is "readv" (as musl's stdio).
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static sem_t never;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static long ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void *waiter(void *arg) { (void)arg; sem_wait(&never); return NULL; }

static sem_t by_alarm;
static void on_alarm(int sig) { (void)sig; sem_post(&by_alarm); }  /* async-signal-safe */
static void *alarm_waiter(void *arg) {
  (void)arg;
  while (sem_wait(&by_alarm) != 0) { }  /* EINTR: the handler ran; try again */
  return NULL;
}
static void *idle(void *arg) { (void)arg; sem_wait(&never); return NULL; }

static int pfd[2];
static void *producer(void *arg) {
  (void)arg;
  char buf[100];
  for (int i = 0; i < 3000; i++) {
    memset(buf, 'a' + i % 26, sizeof buf);
    for (size_t off = 0; off < sizeof buf;) {
      ssize_t w = write(pfd[1], buf + off, sizeof buf - off);
      if (w < 0) { perror("write"); exit(1); }
      off += (size_t)w;
    }
  }
  close(pfd[1]);
  return NULL;
}

static volatile int worker_done;
static long iterations = 20000000;
static void *compute(void *arg) {
  (void)arg;
  volatile unsigned long x = 1;
  for (long i = 0; i < iterations; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
  worker_done = 1;
  return NULL;
}

static void *compute_then_exit(void *arg) {
  compute(arg);
  printf("worker exits the process\n");
  fflush(stdout);
  exit(3);
}

static ssize_t read_stdin(char *c, int vectored) {
  struct iovec v = {c, 1};
  return vectored ? readv(0, &v, 1) : read(0, c, 1);
}

static int pipes(void) {
  if (pipe(pfd) != 0) { perror("pipe"); return 1; }
  pthread_t t;
  pthread_create(&t, NULL, producer, NULL);
  unsigned long sum = 0, total = 0, reads = 0;
  char buf[4096];
  for (;;) {
    if (reads++ % 2) {  /* every other read waits in poll first */
      struct pollfd p = {pfd[0], POLLIN, 0};
      if (poll(&p, 1, -1) != 1) { perror("poll"); return 1; }
    }
    ssize_t r = read(pfd[0], buf, sizeof buf);
    if (r == 0) break;
    if (r < 0) { perror("read"); return 1; }
    for (ssize_t i = 0; i < r; i++) sum = sum * 31 + (unsigned char)buf[i];
    total += (unsigned long)r;
  }
  pthread_join(t, NULL);
  printf("pipe bytes %lu sum %lx\n", total, sum);
  int q[2];
  pipe(q);
  pthread_create(&t, NULL, idle, NULL);
  struct pollfd p = {q[0], POLLIN, 0};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = poll(&p, 1, 50);
  printf("poll on a silent pipe: %d after >= 50 ms: %s\n", r, ms_since(&t0) >= 50 ? "yes" : "no");
  sem_post(&never);
  pthread_join(t, NULL);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "timeout";
  sem_init(&never, 0, 0);
  if (!strcmp(mode, "timeout")) {
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);  /* a second thread: waits block, not pass */
    struct timespec t0, dl;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 50000000;
    if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
    int r = sem_timedwait(&never, &dl);
    int e = errno;
    long waited = ms_since(&t0);
    printf("sem_timedwait: %s after >= 50 ms: %s\n", r == -1 && e == ETIMEDOUT ? "ETIMEDOUT" : "??",
           waited >= 50 ? "yes" : "no");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 1;
    pthread_mutex_lock(&mu);
    r = pthread_cond_timedwait(&cv, &mu, &dl);
    pthread_mutex_unlock(&mu);
    printf("cond_timedwait: %s after >= 1 s: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "??",
           ms_since(&t0) >= 1000 ? "yes" : "no");
    sem_post(&never);
    pthread_join(t, NULL);
    return 0;
  }
  if (!strcmp(mode, "deadlock")) {
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pthread_join(t, NULL);
    printf("not reached\n");
    return 0;
  }
  if (!strcmp(mode, "selfwait")) {
    static int word = 0;
    syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("not reached\n");
    return 0;
  }
  if (!strcmp(mode, "alarm") || !strcmp(mode, "alarm-mt")) {
    sem_init(&by_alarm, 0, 0);
    signal(SIGALRM, on_alarm);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    alarm(1);
    if (!strcmp(mode, "alarm")) {
      alarm_waiter(NULL);
      printf("woken by the alarm after >= 1 s: %s\n", ms_since(&t0) >= 1000 ? "yes" : "no");
    } else {
      pthread_t t;
      pthread_create(&t, NULL, alarm_waiter, NULL);
      pthread_join(t, NULL);
      printf("joined after the alarm, >= 1 s: %s\n", ms_since(&t0) >= 1000 ? "yes" : "no");
    }
    return 0;
  }
  if (!strcmp(mode, "pipes")) return pipes();
  if (argc > 2) iterations = atol(argv[2]);  /* stdin, stdin-exit: the worker's loop */
  int vectored = argc > 3 && !strcmp(argv[3], "readv");
  if (!strcmp(mode, "stdin-exit")) {
    pthread_t t;
    pthread_create(&t, NULL, compute_then_exit, NULL);
    char c;
    ssize_t r = read_stdin(&c, vectored);
    printf("not reached: read %zd\n", r);
    return 0;
  }
  if (!strcmp(mode, "stdin")) {
    pthread_t t;
    pthread_create(&t, NULL, compute, NULL);
    char c;
    ssize_t r = read_stdin(&c, vectored);
    printf("read %zd; worker done before input: %d\n", r, worker_done);
    pthread_join(t, NULL);
    return 0;
  }
  if (!strcmp(mode, "pipewait")) {
    int q[2];
    pipe(q);
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    char c;
    ssize_t r = read(q[0], &c, 1);
    printf("not reached: read %zd\n", r);
    return 0;
  }
  if (!strcmp(mode, "fork")) {
    pid_t p = fork();
    printf("fork: %s\n", p < 0 ? strerror(errno) : "a child?");
    return 0;
  }
  if (!strcmp(mode, "limit")) {
    long n = 0;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 65536);
    for (;;) {
      pthread_t t;
      int r = pthread_create(&t, &a, idle, NULL);
      if (r) { printf("created %ld threads, then: %s\n", n, strerror(r)); break; }
      n++;
      if (n > 5000) break;
    }
    for (long i = 0; i < n; i++) sem_post(&never);
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
