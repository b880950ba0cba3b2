/* smc.c — code written by one thread and run by another (args: rounds).
 *
 * A writer thread fills an executable page with a small function `return K;` for a new K each
 * round, while the reader runs the previous version; the writer publishes the round with a
 * release store, the reader acquires it, executes fence.i (RISC-V makes every hart that will
 * run new code fence its own instruction fetch) and calls the function, which must return the
 * new K. Each round also rewrites the function the reader last ran, so stale translations of
 * it exist on another thread when the bytes change. Prints a checksum of what the reader got.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static uint32_t *code;
static volatile int round_ready, round_done;
static int rounds;

static uint32_t addi_a0(int k) { return ((uint32_t)(k & 0xfff) << 20) | (10u << 7) | 0x13; }

static void emit(int k) {
  code[0] = addi_a0(k);     /* addi a0, zero, k */
  code[1] = 0x00008067;     /* ret */
}

static void *writer(void *arg) {
  (void)arg;
  for (int r = 1; r <= rounds; r++) {
    while (__atomic_load_n(&round_done, __ATOMIC_ACQUIRE) != r - 1) sched_yield();
    emit((r * 37) % 2000);
    __asm__ volatile("fence.i" ::: "memory");
    __atomic_store_n(&round_ready, r, __ATOMIC_RELEASE);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atoi(argv[1]) : 500;
  code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  emit(0);
  __asm__ volatile("fence.i" ::: "memory");
  int (*fn)(void) = (int (*)(void))(uintptr_t)code;
  unsigned long sum = (unsigned long)fn(), wrong = 0;
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  for (int r = 1; r <= rounds; r++) {
    while (__atomic_load_n(&round_ready, __ATOMIC_ACQUIRE) != r) sched_yield();
    __asm__ volatile("fence.i" ::: "memory");
    int got = fn();
    if (got != (r * 37) % 2000) wrong++;
    sum = sum * 31 + (unsigned long)got;
    __atomic_store_n(&round_done, r, __ATOMIC_RELEASE);
  }
  pthread_join(t, NULL);
  printf("rounds %d wrong %lu sum %lx\n", rounds, wrong, sum);
  return wrong != 0;
}
