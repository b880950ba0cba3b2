/* heads.c — a heap workload shaped like a search library's: many 16 KiB buffers of which only
 * the first 64-127 bytes are ever used, write-only character arrays (48-byte "log lines"
 * built and never read), churn (an eighth of the buffers freed early) and two tables that are
 * used whole. The barrier profiler's workload for "mostly untouched buffers" and "write-only
 * character arrays"; deterministic for a given count (argv[1], default 2000).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  if (n < 8) n = 8;
  unsigned long sum = 0, seed = 12345;
  unsigned char **bufs = malloc((size_t)n * sizeof *bufs);
  char **logs = malloc((size_t)n * sizeof *logs);
  if (!bufs || !logs) return 1;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    int use = 64 + (int)(seed >> 58);
    unsigned char *b = malloc(16384);
    char *line = malloc(48);
    if (!b || !line) return 1;
    for (int k = 0; k < use; k++) b[k] = (unsigned char)(seed >> (k & 31));
    for (int k = 0; k < use; k++) sum += b[k];
    bufs[i] = b;
    for (int k = 0; k < 47; k++) line[k] = (char)('a' + (i + k) % 26);
    line[47] = 0;
    logs[i] = line;
    if (i % 8 == 7) {
      free(bufs[i - 7]);
      bufs[i - 7] = NULL;
    }
  }
  int *counts = calloc(256, sizeof *counts);
  if (!counts) return 1;
  for (int i = 0; i < n; i++)
    if (bufs[i]) counts[bufs[i][3]]++;
  for (int i = 0; i < 256; i++) sum += (unsigned long)counts[i] * (unsigned long)i;
  printf("heads: %d buffers, sum %lu\n", n, sum);
  for (int i = 0; i < n; i++) {
    free(bufs[i]);
    free(logs[i]);
  }
  free(counts);
  free(bufs);
  free(logs);
  return 0;
}
