/* litmus.c — the store-buffering litmus test (args: rounds, [fence|nofence]).
 *
 * Two threads (the main one and one more), two shared words x and y, both 0 at the start of a round:
 *   thread A: x = 1; FENCE; r1 = y        thread B: y = 1; FENCE; r2 = x
 * With `fence rw,rw` between the store and the load (RVWMO, and sequential consistency), at
 * least one thread must see the other's store: r1 == 0 && r2 == 0 is forbidden. Without the
 * fence both RVWMO and x86's TSO allow it (each store may still sit in its core's store
 * buffer when the other load runs), and real parallel hardware shows it. An engine that maps
 * the guest's FENCE to nothing on x86 gives the forbidden outcome under real parallelism.
 * Prints the rounds and how many ended with both loads 0 ("forbidden" with the fence,
 * "relaxed" without, which depends on the interleaving).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile long x, y, r1, r2;
static long arrived;              /* a spin barrier for the two threads */
static long rounds;
static int fenced = 1;

static inline void fence(void) {
  if (fenced) __asm__ volatile("fence rw,rw" ::: "memory");
  else __asm__ volatile("" ::: "memory");
}

static void barrier(long *phase) {
  long target = 2 * ++*phase;
  __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < target) { }
}

/* thread B; the main thread is A, and resets the words between rounds */
static void *side_b(void *arg) {
  long phase = 0;
  (void)arg;
  for (long k = 0; k < rounds; k++) {
    barrier(&phase);
    y = 1; fence(); r2 = x;
    barrier(&phase);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 20000;
  if (argc > 2) fenced = strcmp(argv[2], "nofence") != 0;
  if (rounds < 1) { fprintf(stderr, "usage: litmus [rounds] [fence|nofence]\n"); return 2; }
  pthread_t t;
  pthread_create(&t, NULL, side_b, NULL);
  long phase = 0, both_zero = 0;
  for (long k = 0; k < rounds; k++) {
    x = y = 0;
    r1 = r2 = -1;
    barrier(&phase);
    x = 1; fence(); r1 = y;
    barrier(&phase);
    both_zero += r1 == 0 && r2 == 0;
  }
  pthread_join(t, NULL);
  printf("rounds %ld %s %ld\n", rounds, fenced ? "forbidden" : "relaxed", both_zero);
  return 0;
}
