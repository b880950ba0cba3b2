/* objects.c — a heap workload whose every access to its objects is known, for the barrier
 * profiler's tests (tests/test_barrier.py holds the expected profile).
 *
 * Objects (sizes chosen to be unique): a 16000-byte buffer of which only the first 100 bytes
 * are used; a write-only 77-byte character array; a 40-int array written, read, and written
 * again; a 16-byte holder that stores a pointer to a calloc'd 99-byte object (pointers kept
 * in memory); a 10-int array realloc'd to 20 ints; a 4101-byte buffer filled by read() and
 * written by write() (syscalls on the object, no instruction touches it); a 12000-byte buffer
 * used at its head and, once, far beyond it (where a shrunk copy needs its fix-up). Volatile accesses
 * pin the number and width of every load and store. stdin is copied to stdout; the last line
 * is the checksum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct holder {
  volatile int *volatile p;
  volatile long n;
};

int main(void) {
  long sum = 0;
  volatile char *big = malloc(16000);
  for (int i = 0; i < 100; i++) big[i] = (char)i;
  for (int i = 0; i < 100; i++) sum += big[i];

  volatile char *wo = malloc(77);
  for (int i = 0; i < 77; i++) wo[i] = (char)('a' + i % 26);

  volatile int *arr = malloc(40 * sizeof(int));
  for (int i = 0; i < 40; i++) arr[i] = i;
  for (int i = 0; i < 40; i++) sum += arr[i];
  arr[5] = 99;

  struct holder *volatile h = malloc(sizeof *h);
  h->p = calloc(3, 33);
  h->n = 3;
  h->p[0] = 7;
  h->p[1] = 8;
  sum += h->p[0] + h->n;

  volatile int *g = malloc(10 * sizeof(int));
  for (int i = 0; i < 10; i++) g[i] = i;
  g = realloc((void *)g, 20 * sizeof(int));
  for (int i = 10; i < 20; i++) g[i] = i;
  sum += g[3];

  volatile char *late = malloc(12000);
  for (int i = 0; i < 50; i++) late[i] = (char)i;
  late[9000] = 1;
  sum += late[9000] + late[10];

  char *io = malloc(4101);
  ssize_t n = read(0, io, 4101);
  if (n > 0 && write(1, io, (size_t)n) != n) return 2;

  free((void *)big);
  free((void *)wo);
  free((void *)arr);
  free((void *)h->p);
  free((void *)h);
  free((void *)g);
  free((void *)late);
  free(io);
  printf("sum %ld\n", sum);
  return 0;
}
