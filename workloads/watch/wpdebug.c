/* wpdebug.c — a debugger-like user of the engine's guest-visible watchpoints: the custom-0
 * instructions wp.set / wp.clear (docs/watchpoints.md) and the SIGTRAP that a watched access
 * raises after it completes (si_code TRAP_HWBKPT, si_addr = the access's address).
 *
 * Modes (argv[1]):
 *   all        every check below; prints one line per check and "wpdebug: OK" at the end
 *   nohandler  watch a word for writes and write it without a SIGTRAP handler (the run ends)
 *   many N     watch every other 8-byte element of an array of 2N, then read and write them
 *              all: prints the traps taken (2 per watched element)
 * Without the engine's watchpoint unit the first wp.set is an illegal instruction.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* wp.set a0, a0, a1, FLAGS (funct3 0) and wp.clear (funct3 1): R-type, opcode 0x0b, funct7 the
 * watch flags (1 read, 2 write, 3 both), rd = rs1 = a0 (address in, result out), rs2 = a1 */
#define WP_WORD(f3, flags) "((" #flags " << 25) | (11 << 20) | (10 << 15) | (" #f3 " << 12) | (10 << 7) | 0x0b)"
#define WP_FN(name, f3, flags)                                                      \
  static long name(volatile void *addr, unsigned long len) {                        \
    register long a0 __asm__("a0") = (long)addr;                                    \
    register unsigned long a1 __asm__("a1") = len;                                  \
    __asm__ volatile(".word " WP_WORD(f3, flags) : "+r"(a0) : "r"(a1) : "memory"); \
    return a0;                                                                      \
  }
WP_FN(set_r, 0, 1)
WP_FN(set_w, 0, 2)
WP_FN(set_rw, 0, 3)
WP_FN(clear_w, 1, 2)
WP_FN(clear_rw, 1, 3)

static volatile int traps, last_code;
static volatile uintptr_t last_addr;
static volatile long seen;          /* what the handler read from `probe` */
static volatile long *probe;
static int failures;

static void on_trap(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  traps++;
  last_addr = (uintptr_t)si->si_addr;
  last_code = si->si_code;
  if (probe) seen = *probe;
}

static void check(const char *what, int ok) {
  printf("%-44s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) failures++;
}

static long x[4];
static unsigned char buf[64] __attribute__((aligned(16)));

static int many(long n) {
  long *arr = calloc((size_t)(2 * n), sizeof *arr);
  if (!arr) return 1;
  for (long i = 0; i < 2 * n; i += 2)
    if (set_rw(&arr[i], sizeof arr[i]) != 0) { printf("wp.set failed at %ld\n", i); return 1; }
  int before = traps;
  for (long i = 0; i < 2 * n; i++) ((volatile long *)arr)[i] += i;
  printf("many: %ld watched, %d traps\n", n, traps - before);
  clear_rw(arr, (unsigned long)(2 * n) * sizeof *arr);
  before = traps;
  for (long i = 0; i < 2 * n; i++) ((volatile long *)arr)[i] += i;
  printf("many: after clearing, %d traps\n", traps - before);
  free(arr);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "all";
  if (strcmp(mode, "nohandler") == 0) {
    set_w(&x[0], 8);
    ((volatile long *)x)[0] = 1;
    printf("nohandler: not reached\n");
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, NULL);
  if (strcmp(mode, "many") == 0) return many(argc > 2 ? atol(argv[2]) : 1000);

  volatile long *vx = x;
  check("wp.set of a word for writes returns 0", set_w(&x[1], 8) == 0);
  vx[1] = 5;
  check("a write traps once", traps == 1);
  check("si_addr is the written address", last_addr == (uintptr_t)&x[1]);
  check("si_code is TRAP_HWBKPT", last_code == 4);
  long v = vx[1];
  check("a read of a write watch does not trap", traps == 1 && v == 5);

  set_r(&x[2], 8);
  v = vx[2];
  check("a read of a read watch traps", traps == 2 && last_addr == (uintptr_t)&x[2]);
  vx[2] = 7;
  check("a write of a read watch does not trap", traps == 2);

  clear_w(&x[1], 8);
  vx[1] = 6;
  check("after wp.clear a write does not trap", traps == 2);

  probe = &x[3];
  set_w(&x[3], 8);
  vx[3] = 77;
  check("the trap comes after the store", traps == 3 && seen == 77);
  probe = NULL;
  clear_w(&x[3], 8);

  /* byte granularity: one watched byte in the middle of a word */
  volatile unsigned char *vb = buf;
  set_w(&buf[13], 1);
  *(volatile uint32_t *)(vb + 12) = 0x01020304;
  check("a word store covering the byte traps", traps == 4 && last_addr == (uintptr_t)&buf[12]);
  vb[14] = 1;
  vb[12] = 1;
  check("byte stores beside it do not", traps == 4);
  *(volatile uint64_t *)(vb + 8) = 0;
  check("a doubleword store covering it traps", traps == 5);
  vb[13] = 9;
  check("a byte store to it traps", traps == 6 && last_addr == (uintptr_t)&buf[13]);
  clear_w(&buf[13], 1);

  check("a zero length is EINVAL", set_w(&x[0], 0) == -EINVAL);
  check("a range past the address space end is EINVAL", set_w((void *)-8, 16) == -EINVAL);
  check("clearing what was never set is fine", clear_rw(&x[0], 32) == 0);
  check("no trap from the failed operations", traps == 6);

  if (many(1000) != 0) failures++;
  printf("wpdebug: %s (%d traps)\n", failures ? "FAILED" : "OK", traps);
  return failures ? 1 : 0;
}
