/* syncs.c — the other pthread primitives: a barrier between phases, a reader-writer lock
 * guarding a table, pthread_once, a detached thread signalling through a semaphore,
 * pthread_mutex_trylock, thread-specific data with a destructor, and nanosleep in threads.
 * Prints the same lines whatever the interleaving. Usage: syncs [threads (4)] [rounds (50)] */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_barrier_t barrier;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static sem_t detached_done;
static long table[64];
static long nthreads, rounds;
static int once_runs, destructor_runs;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void init_once(void) { once_runs++; }
static void destroy(void *p) {
  pthread_mutex_lock(&m);
  destructor_runs++;
  pthread_mutex_unlock(&m);
  free(p);
}

static void *phase_worker(void *arg) {
  long id = (long)arg;
  pthread_once(&once, init_once);
  pthread_setspecific(key, malloc(16));
  for (long r = 0; r < rounds; r++) {
    pthread_rwlock_wrlock(&rw);
    table[id] += r;                        /* each phase: one write per thread */
    pthread_rwlock_unlock(&rw);
    pthread_barrier_wait(&barrier);
    pthread_rwlock_rdlock(&rw);
    long s = 0;
    for (long i = 0; i < nthreads; i++) s += table[i];
    pthread_rwlock_unlock(&rw);
    if (s != (long)nthreads * (r * (r + 1) / 2)) { printf("phase %ld: wrong sum %ld\n", r, s); exit(1); }
    pthread_barrier_wait(&barrier);
  }
  if (id == 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void *detached(void *arg) {
  (void)arg;
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
  sem_post(&detached_done);
  return NULL;
}

int main(int argc, char **argv) {
  nthreads = argc > 1 ? atol(argv[1]) : 4;
  rounds = argc > 2 ? atol(argv[2]) : 50;
  if (nthreads < 1 || nthreads > 64 || rounds < 0) { fprintf(stderr, "bad arguments\n"); return 2; }
  pthread_key_create(&key, destroy);
  pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
  sem_init(&detached_done, 0, 0);
  pthread_t th[64], d;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(&d, &attr, detached, NULL);
  for (long i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, phase_worker, (void *)i);
  pthread_mutex_lock(&m);
  int busy = pthread_mutex_trylock(&m);    /* already held by us: EBUSY */
  pthread_mutex_unlock(&m);
  for (long i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  sem_wait(&detached_done);
  printf("threads %ld rounds %ld\n", nthreads, rounds);
  printf("once %d destructors %d trylock %s\n", once_runs, destructor_runs, busy ? "busy" : "FREE?");
  long s = 0;
  for (long i = 0; i < nthreads; i++) s += table[i];
  printf("table sum %ld\n", s);
  printf("detached thread done\n");
  return once_runs == 1 && destructor_runs == nthreads && busy ? 0 : 1;
}
