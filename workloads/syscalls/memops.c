/*
 * memops: memory-management syscalls — brk, mmap (anonymous, file-backed, MAP_FIXED,
 * MAP_FIXED_NOREPLACE, hints), munmap, mprotect, mremap (shrink, grow, move), madvise
 * (MADV_DONTNEED zeroes anonymous memory), mincore, msync, and malloc of large blocks.
 * Prints only address-independent facts so the engine and qemu-riscv64 agree.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

#define PG 4096

static unsigned sum(const unsigned char *p, size_t n) {
  unsigned s = 0;
  for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
  return s;
}

int main(void) {
  /* brk, through the raw syscall (musl's sbrk only supports sbrk(0)) */
  uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
  show("brk(0) page aligned", (b0 & (PG - 1)) == 0 ? 0 : 1);
  uintptr_t b1 = (uintptr_t)syscall(SYS_brk, b0 + 10000);
  show("brk grow", (long)(b1 - b0));
  memset((void *)b0, 0x5a, 10000);
  show("brk below start refused", (long)((uintptr_t)syscall(SYS_brk, b0 - PG) - b0));
  uintptr_t b2 = (uintptr_t)syscall(SYS_brk, b0 + 5000);
  show("brk shrink", (long)(b2 - b0));
  show("brk contents kept", ((unsigned char *)b0)[4999] == 0x5a ? 0 : -1);
  uintptr_t b3 = (uintptr_t)syscall(SYS_brk, b0 + 3 * PG);
  show("brk regrow", (long)(b3 - b0));
  show("regrown page zero", ((unsigned char *)b0)[2 * PG + 10] == 0 ? 0 : -1);

  /* anonymous mmap */
  unsigned char *a = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  show("mmap anon", a == MAP_FAILED ? -1 : 0);
  show("mmap page aligned", ((uintptr_t)a & (PG - 1)) == 0 ? 0 : -1);
  show("fresh memory is zero", sum(a, 5 * PG) == 0 ? 0 : -1);
  for (int i = 0; i < 5 * PG; i++) a[i] = (unsigned char)(i * 13);
  unsigned s5 = sum(a, 5 * PG);
  T(munmap(a + PG, PG)); /* hole in the middle */
  unsigned char vec[8];
  T(mincore(a, PG, vec));
  T(mincore(a + PG, PG, vec));
  T(msync(a, PG, MS_SYNC));
  T(mprotect(a, PG, PROT_READ));
  T(mprotect(a + PG, PG, PROT_READ));
  T(mprotect(a + 1, PG, PROT_READ));
  T(madvise(a + 2 * PG, PG, MADV_DONTNEED));
  show("MADV_DONTNEED zeroed", sum(a + 2 * PG, PG) == 0 ? 0 : -1);
  show("neighbour kept", a[3 * PG + 7] == (unsigned char)((3 * PG + 7) * 13) ? 0 : -1);
  (void)s5;

  /* MAP_FIXED over part of a mapping, MAP_FIXED_NOREPLACE */
  unsigned char *f = mmap(a + 3 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  show("MAP_FIXED lands at the address", f == a + 3 * PG ? 0 : -1);
  show("MAP_FIXED replaces with zeros", sum(f, PG) == 0 ? 0 : -1);
  void *nr = mmap(a + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  /* Linux says EEXIST; kernels (and qemu) without the flag treat it as a hint */
  printf("MAP_FIXED_NOREPLACE on a mapping: %s\n", nr == a + 4 * PG ? "replaced" : "refused");
  nr = mmap(a + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  show("MAP_FIXED_NOREPLACE in the hole", nr == a + PG ? 0 : -1);
  T(munmap(a, 5 * PG));
  T(munmap(a, 5 * PG)); /* unmapping nothing is fine */
  T(munmap(a + 1, PG));
  T(munmap(a, 0));

  /* errors */
  show("mmap len 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
  show("mmap no type", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
  show("mmap bad fd", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 77, 0) == MAP_FAILED ? -1 : 0);
  show("mmap unaligned offset", mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100) == MAP_FAILED ? -1 : 0);

  /* mremap */
  unsigned char *r = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 4 * PG; i++) r[i] = (unsigned char)(i ^ (i >> 9));
  unsigned s4 = sum(r, 4 * PG);
  unsigned char *r2 = mremap(r, 4 * PG, 2 * PG, 0);
  show("mremap shrink in place", r2 == r ? 0 : -1);
  /* block growth in place, then grow with MAYMOVE */
  void *blocker = mmap(r + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  show("blocker", blocker == MAP_FAILED ? -1 : 0);
  show("mremap grow blocked without MAYMOVE", mremap(r, 2 * PG, 8 * PG, 0) == MAP_FAILED ? -1 : 0);
  unsigned char *r3 = mremap(r, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
  show("mremap MAYMOVE", r3 == MAP_FAILED ? -1 : 0);
  show("mremap moved", r3 != r ? 0 : -1);
  unsigned char tmp[2 * PG];
  for (int i = 0; i < 2 * PG; i++) tmp[i] = (unsigned char)(i ^ (i >> 9));
  show("contents moved", memcmp(r3, tmp, 2 * PG) == 0 ? 0 : -1);
  show("grown part zero", sum(r3 + 2 * PG, 62 * PG) == 0 ? 0 : -1);
  r3[64 * PG - 1] = 1;
  (void)s4;
  T(munmap(r3, 64 * PG));
  T(munmap(blocker, PG));

  /* file-backed mapping */
  int fd = open("mapped.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
  unsigned char data[3 * PG];
  for (int i = 0; i < (int)sizeof data; i++) data[i] = (unsigned char)(i * 7 + 3);
  T(write(fd, data, sizeof data - 100));
  unsigned char *fm = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, PG);
  show("mmap file at offset", fm == MAP_FAILED ? -1 : 0);
  show("file contents", memcmp(fm, data + PG, 2 * PG - 100) == 0 ? 0 : -1);
  show("past EOF in last page is zero", fm[2 * PG - 100] == 0 && fm[2 * PG - 1] == 0 ? 0 : -1);
  T(munmap(fm, 3 * PG));
  unsigned char *fw = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  fw[0] = 0xee;
  unsigned char c;
  T(pread(fd, &c, 1, 0));
  show("MAP_PRIVATE write not in file", c == data[0] ? 0 : -1);
  T(munmap(fw, PG));
  close(fd);
  fd = open("mapped.bin", O_WRONLY);
  show("mmap O_WRONLY fd", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
  close(fd);
  int p[2];
  pipe(p);
  show("mmap a pipe", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, p[0], 0) == MAP_FAILED ? -1 : 0);
  unlink("mapped.bin");

  /* big allocations through malloc (mmap threshold) and realloc (mremap) */
  size_t big = 20u << 20;
  unsigned char *m = malloc(big);
  show("malloc 20 MiB", m ? 0 : -1);
  memset(m, 1, big);
  m = realloc(m, 2 * big);
  show("realloc 40 MiB", m ? 0 : -1);
  show("realloc kept data", m[big - 1] == 1 && m[0] == 1 ? 0 : -1);
  free(m);
  printf("done\n");
  return 0;
}
