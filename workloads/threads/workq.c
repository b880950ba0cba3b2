/* workq.c — a mutex/condition-variable work queue: P producers push numbered items into a
 * bounded ring, C consumers pop them and add a hash of each into their own sums, and the main
 * thread shuts the queue with a broadcast once everything is produced. Exercises futex wait,
 * wake and requeue (condvars), blocking on a full and an empty queue, and joins. The output
 * (items handled, a checksum) does not depend on scheduling.
 * Usage: workq [producers (2)] [consumers (3)] [items per producer (5000)] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define RING 16
static long ring[RING];
static int head, count, closed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long per_producer;

static uint64_t hash(uint64_t v) { v ^= v >> 33; v *= 0xff51afd7ed558ccdull; v ^= v >> 33; return v; }

static void *producer(void *arg) {
  long id = (long)arg;
  for (long i = 0; i < per_producer; i++) {
    pthread_mutex_lock(&lock);
    while (count == RING) pthread_cond_wait(&not_full, &lock);
    ring[(head + count) % RING] = id * 1000000 + i;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

struct result { uint64_t sum; long items; };

static void *consumer(void *arg) {
  struct result *r = arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (count == 0 && !closed) pthread_cond_wait(&not_empty, &lock);
    if (count == 0 && closed) { pthread_mutex_unlock(&lock); return NULL; }
    long v = ring[head];
    head = (head + 1) % RING;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    r->sum += hash((uint64_t)v);
    r->items++;
  }
}

int main(int argc, char **argv) {
  long np = argc > 1 ? atol(argv[1]) : 2, nc = argc > 2 ? atol(argv[2]) : 3;
  per_producer = argc > 3 ? atol(argv[3]) : 5000;
  if (np < 1 || np > 16 || nc < 1 || nc > 16 || per_producer < 0) { fprintf(stderr, "bad arguments\n"); return 2; }
  pthread_t p[16], c[16];
  struct result res[16] = {{0}};
  for (long i = 0; i < nc; i++) pthread_create(&c[i], NULL, consumer, &res[i]);
  for (long i = 0; i < np; i++) pthread_create(&p[i], NULL, producer, (void *)i);
  for (long i = 0; i < np; i++) pthread_join(p[i], NULL);
  pthread_mutex_lock(&lock);
  closed = 1;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&lock);
  uint64_t sum = 0, expect = 0;
  long items = 0;
  for (long i = 0; i < nc; i++) { pthread_join(c[i], NULL); sum += res[i].sum; items += res[i].items; }
  for (long id = 0; id < np; id++)
    for (long i = 0; i < per_producer; i++) expect += hash((uint64_t)(id * 1000000 + i));
  printf("producers %ld consumers %ld items %ld\n", np, nc, items);
  printf("checksum %016llx %s\n", (unsigned long long)sum, sum == expect ? "ok" : "MISMATCH");
  return sum == expect && items == np * per_producer ? 0 : 1;
}
