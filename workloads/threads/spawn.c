/* spawn.c — thread churn: rounds of creating N threads that each bump an atomic counter and
 * exit, joined before the next round; then threads that exit while others are still being
 * created. Tests thread creation/exit/join at volume and the engine's limits on threads.
 * Usage: spawn [threads per round (64)] [rounds (8)] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_long counter;

static void *bump(void *arg) {
  long n = (long)arg;
  for (long i = 0; i < n; i++) atomic_fetch_add(&counter, 1);
  return (void *)n;
}

int main(int argc, char **argv) {
  long per = argc > 1 ? atol(argv[1]) : 64, rounds = argc > 2 ? atol(argv[2]) : 8;
  if (per < 1 || per > 1000 || rounds < 0) { fprintf(stderr, "bad arguments\n"); return 2; }
  pthread_t *th = malloc(per * sizeof *th);
  long joined = 0;
  for (long r = 0; r < rounds; r++) {
    for (long i = 0; i < per; i++)
      if (pthread_create(&th[i], NULL, bump, (void *)(i % 5 + 1)) != 0) { perror("pthread_create"); return 1; }
    for (long i = 0; i < per; i++) {
      void *ret;
      pthread_join(th[i], &ret);
      joined += (long)ret;
    }
  }
  printf("rounds %ld threads %ld\n", rounds, per * rounds);
  printf("counter %ld joined %ld %s\n", (long)atomic_load(&counter), joined,
         atomic_load(&counter) == joined ? "ok" : "MISMATCH");
  return atomic_load(&counter) == joined ? 0 : 1;
}
