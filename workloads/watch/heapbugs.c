/* heapbugs.c — heap bugs planted on purpose, for the heap checkers (the "watchheap" client on
 * the watchpoint unit): one of each kind, at a known offset, each in its own function so a
 * finding names it. The program itself runs to completion (the bugs touch memory the
 * allocator owns, which nothing checks natively).
 *
 *   heapbugs [bugs]     the six bugs below, the first one a thousand times (reported once)
 *   heapbugs clean N    N rounds of correct allocation work (lists, realloc growth, calloc)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile char sink;
/* every block escapes through here, so the compiler cannot drop a malloc/free pair or the
 * buggy access (it knows they are bugs: undefined behaviour) */
static void *volatile escape;
#define KEEP(p) (escape = (p), (__typeof__(p))escape)

__attribute__((noinline)) void read_past_end(const char *p, int n) { sink = p[n]; }
__attribute__((noinline)) void write_before_start(char *p) { p[-1] = 1; }
__attribute__((noinline)) void read_after_free(const char *p) { sink = p[3]; }
__attribute__((noinline)) void write_after_free(long *p) { p[0] = 7; }
__attribute__((noinline)) void write_word_past_end(int *p, int n) { p[n] = 5; }
__attribute__((noinline)) void read_moved_block(const char *p) { sink = p[3]; }

static int clean(long rounds) {
  struct node { struct node *next; long v; } *head = NULL;
  long sum = 0;
  for (long r = 0; r < rounds; r++) {
    for (int i = 0; i < 50; i++) {
      struct node *n = malloc(sizeof *n);
      n->v = r + i;
      n->next = head;
      head = n;
    }
    char *buf = NULL;
    size_t len = 0;
    for (int i = 1; i <= 8; i++) {        /* realloc growth, every byte in use */
      buf = realloc(buf, (size_t)i * 24);
      memset(buf + len, 'a' + i, (size_t)i * 24 - len);
      len = (size_t)i * 24;
    }
    int *z = calloc(33, sizeof *z);
    for (int i = 0; i < 33; i++) sum += z[i] + buf[i];
    free(z);
    free(buf);
    while (head) { struct node *n = head->next; sum += head->v; free(head); head = n; }
  }
  printf("clean: %ld rounds, sum %ld\n", rounds, sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "clean") == 0) return clean(argc > 2 ? atol(argv[2]) : 100);
  char *a = KEEP((char *)malloc(16));
  memset(a, 1, 16);
  for (int i = 0; i < 1000; i++) read_past_end(a, 16);     /* overflow: offset 16, 1 byte */
  char *b = KEEP((char *)malloc(32));
  b[0] = 2;
  write_before_start(b);                                     /* underflow: offset -1 */
  char *c = KEEP((char *)malloc(16));
  free(c);
  read_after_free(KEEP(c));                                        /* use after free: offset 3 */
  long *d = KEEP((long *)malloc(64));
  free(d);
  write_after_free(KEEP(d));                                       /* use after free: offset 0, 8 bytes */
  int *e = KEEP((int *)calloc(6, sizeof *e));
  e[5] = 1;
  write_word_past_end(e, 6);                                 /* overflow: offset 24, 4 bytes */
  char *f = KEEP((char *)malloc(8));
  char *g = KEEP((char *)realloc(f, 4096));
  printf("realloc moved the block: %s\n", g != f ? "yes" : "no");
  if (g != f) read_moved_block(KEEP(f));                           /* use after free: offset 3 */
  free(a);
  free(b);
  free(e);
  free(g);
  printf("heapbugs: done\n");
  return 0;
}
