/* racy.c — a racy histogram, kept racy on purpose (args: threads, items per thread, [show]).
 *
 * Every thread bins its items into a shared histogram with plain read-modify-write updates
 * and no lock (the race: two threads updating one bin at once lose an update), and counts them
 * with an atomic add as well (no race). It prints what does not depend on the interleaving
 * (threads, items, the atomic count); with "show" it also prints how many updates the
 * histogram lost, which depends on it. A race detector must report the histogram updates.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BINS 8
static volatile unsigned long hist[BINS];   /* racy */
static unsigned long counted;               /* atomic */
static long items;

static void *worker(void *arg) {
  unsigned long seed = (unsigned long)(size_t)arg * 2654435761ul + 1;
  for (long i = 0; i < items; i++) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    unsigned b = (unsigned)(seed >> 61);
    hist[b] = hist[b] + 1;                  /* the race: load, add, store */
    __atomic_fetch_add(&counted, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4;
  items = argc > 2 ? atol(argv[2]) : 20000;
  int show = argc > 3 && !strcmp(argv[3], "show");
  if (n < 1 || n > 64 || items < 1) { fprintf(stderr, "usage: racy [threads 1..64] [items] [show]\n"); return 2; }
  pthread_t t[64];
  for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + 1));
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  unsigned long binned = 0;
  for (int b = 0; b < BINS; b++) binned += hist[b];
  printf("threads %d items %ld counted %lu\n", n, items, counted);
  if (show) printf("lost updates %lu\n", counted - binned);
  return 0;
}
