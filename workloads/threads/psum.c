/* psum.c — a parallel sum with private data: N threads each sum their own slice of an array
 * into a thread-local accumulator and hand the result back through pthread_join. Checks
 * thread creation and join, per-thread stacks and TLS (__thread), gettid being distinct per
 * thread, and the total against a sequential sum. Output does not depend on scheduling.
 * Usage: psum [threads (default 4)] [elements (default 200000)] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread uint64_t acc;           /* each thread's own accumulator */
static uint32_t *data;
static long nelem, nthreads;
static long tids[64];

struct job { long index; };

static void *worker(void *arg) {
  struct job *j = arg;
  long lo = nelem * j->index / nthreads, hi = nelem * (j->index + 1) / nthreads;
  tids[j->index] = syscall(SYS_gettid);
  acc = 0;
  for (long i = lo; i < hi; i++) acc += (uint64_t)data[i] * (uint64_t)(i % 7 + 1);
  uint64_t *out = malloc(sizeof *out);
  *out = acc;
  return out;
}

int main(int argc, char **argv) {
  nthreads = argc > 1 ? atol(argv[1]) : 4;
  nelem = argc > 2 ? atol(argv[2]) : 200000;
  if (nthreads < 1 || nthreads > 64 || nelem < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
  data = malloc(nelem * sizeof *data);
  uint32_t x = 12345;
  for (long i = 0; i < nelem; i++) { x = x * 1103515245u + 12345u; data[i] = x >> 8; }
  pthread_t th[64];
  struct job jobs[64];
  acc = 99;  /* the main thread's copy must survive the workers */
  for (long t = 0; t < nthreads; t++) {
    jobs[t].index = t;
    if (pthread_create(&th[t], NULL, worker, &jobs[t]) != 0) { perror("pthread_create"); return 1; }
  }
  uint64_t total = 0;
  for (long t = 0; t < nthreads; t++) {
    void *r;
    if (pthread_join(th[t], &r) != 0) { perror("pthread_join"); return 1; }
    total += *(uint64_t *)r;
    free(r);
  }
  uint64_t check = 0;
  for (long i = 0; i < nelem; i++) check += (uint64_t)data[i] * (uint64_t)(i % 7 + 1);
  int distinct = 1;
  long me = syscall(SYS_gettid);
  for (long t = 0; t < nthreads; t++) {
    if (tids[t] == me || tids[t] <= 0) distinct = 0;
    for (long u = 0; u < t; u++) if (tids[u] == tids[t]) distinct = 0;
  }
  printf("threads %ld elements %ld\n", nthreads, nelem);
  printf("sum %llu check %llu %s\n", (unsigned long long)total, (unsigned long long)check,
         total == check ? "ok" : "MISMATCH");
  printf("tls main %llu\n", (unsigned long long)acc);
  printf("tids distinct %s\n", distinct ? "yes" : "no");
  return total == check && acc == 99 && distinct ? 0 : 1;
}
