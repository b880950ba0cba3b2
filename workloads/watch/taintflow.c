/*
 * taintflow: data flows from a file to the outside world, each of a known size, for taint
 * tracking's tests (the taint client, docs/watchpoints.md).
 *
 * usage: taintflow SOURCE OTHER
 *   SOURCE  a file whose bytes are the taint source (the client's file= option names it)
 *   OTHER   a file that is not a source, shorter than SOURCE
 *
 * With S = size of SOURCE (at most 4096) and O = size of OTHER, the flows are:
 *   1. the bytes read from SOURCE are copied (memcpy) and the copy is written:  S tainted bytes
 *   2. a constant string is written:                                            0 tainted bytes
 *   3. an FNV-1a hash of the bytes is printed in decimal digits computed with
 *      division: every digit is tainted, the newline is not:                   D tainted bytes
 *   4. lseek(OTHER, first byte & 7): the offset argument (a1) is tainted:      a sink argument
 *   5. the copy is overwritten with constants and written again:               0 tainted bytes
 *   6. OTHER is read over the first O bytes of the input (the kernel overwrites
 *      the taint there) and the input is written:                              S - O tainted bytes
 *   7. a byte is picked out with shifts and a mask, moved through an FP register
 *      and a table index; only the shift-and-mask value stays tainted (written
 *      as one byte): a table load is clean (addresses do not carry taint)       1 tainted byte
 * It prints "D=<digits>" on stderr (clean) so a test knows D. Exit status 0, or 2 on an error.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char in[4096], copy[4096], digits[32];
static volatile double through_fp;
static const char table[8] = "ABCDEFGH";

static int fail(const char *what) {
  fprintf(stderr, "taintflow: %s\n", what);
  return 2;
}

int main(int argc, char **argv) {
  if (argc != 3) return fail("usage: taintflow SOURCE OTHER");
  int fd = open(argv[1], O_RDONLY), other = open(argv[2], O_RDONLY);
  if (fd < 0 || other < 0) return fail("cannot open the files");
  ssize_t n = read(fd, in, sizeof in);
  if (n <= 0) return fail("cannot read SOURCE");

  memcpy(copy, in, (size_t)n);                                   /* 1 */
  if (write(1, copy, (size_t)n) != n) return fail("write 1");
  if (write(1, "clean\n", 6) != 6) return fail("write 2");      /* 2 */

  uint64_t h = 0xcbf29ce484222325ull;                            /* 3 */
  for (ssize_t i = 0; i < n; i++) h = (h ^ (uint8_t)in[i]) * 0x100000001b3ull;
  int d = 0;
  char rev[32];
  do { rev[d++] = (char)('0' + h % 10); h /= 10; } while (h);
  for (int i = 0; i < d; i++) digits[i] = rev[d - 1 - i];
  digits[d] = '\n';
  if (write(1, digits, (size_t)d + 1) != d + 1) return fail("write 3");

  if (lseek(other, (off_t)(in[0] & 7), SEEK_SET) < 0) return fail("lseek");   /* 4 */
  if (lseek(other, 0, SEEK_SET) != 0) return fail("lseek back");

  memset(copy, 'x', (size_t)n);                                  /* 5 */
  if (write(1, copy, (size_t)n) != n) return fail("write 5");

  ssize_t o = read(other, in, sizeof in);                        /* 6 */
  if (o < 0 || o >= n) return fail("OTHER must be shorter than SOURCE");
  if (write(1, in, (size_t)n) != n) return fail("write 6");

  uint64_t word;                                                 /* 7 */
  memcpy(&word, in + o, sizeof word);                            /* tainted bytes (o < n - 8 ...) */
  char picked[2] = {(char)((word >> 8) & 0xff), table[word & 7]};
  through_fp = (double)(uint8_t)picked[1];
  picked[1] = (char)(uint8_t)through_fp;
  if (write(1, picked, 1) != 1) return fail("write 7");
  if (write(1, picked + 1, 1) != 1) return fail("write 7b");

  close(fd);
  close(other);
  fprintf(stderr, "D=%d\n", d);
  return 0;
}
