/* icount.c — the "icount" client: counts guest instructions with one inline counter per
 * block (add the block's length on entry; shared by all threads, so under the parallel
 * schedule the add is atomic). Stream "icount": at the end of a run, one record per guest
 * thread, {uint64 icount; uint16 thread; uint16 pad[3]}, in thread order: the instructions
 * that thread retired (wb_hart_icount, exact; their sum equals the inline counter's total,
 * which a shared counter cannot split by thread: translated blocks are shared between the
 * threads of a deterministic run). */
#include <stdlib.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct { uint64_t icount; uint16_t thread, pad[3]; } icount_record;
typedef struct {
  uint64_t total;                /* the inline counter */
  wb_stream *s;
  icount_record *ended;          /* threads that ended, in the order they did */
  size_t n, cap;
} icount_state;

static void on_block(void *data, wb_bb *bb) {
  icount_state *st = data;
  wb_bb_count(bb, &st->total, wb_bb_size(bb));
}

static void on_thread(void *data, wb_hart *h, int started) {
  icount_state *st = data;
  if (started) return;
  if (st->n == st->cap) {
    size_t cap = st->cap ? 2 * st->cap : 16;
    icount_record *e = realloc(st->ended, cap * sizeof *e);
    if (!e) return;  /* out of host memory: that thread goes unreported */
    st->ended = e;
    st->cap = cap;
  }
  st->ended[st->n++] = (icount_record){wb_hart_icount(h), (uint16_t)wb_hart_id(h), {0, 0, 0}};
}

static int by_thread(const void *a, const void *b) {
  return (int)((const icount_record *)a)->thread - (int)((const icount_record *)b)->thread;
}

static void on_run_end(void *data, wb_machine *m) {
  icount_state *st = data;
  (void)m;
  wb_stream_reset(st->s);
  qsort(st->ended, st->n, sizeof *st->ended, by_thread);
  for (size_t i = 0; i < st->n; i++) *(icount_record *)wb_stream_push(st->s) = st->ended[i];
}

static void destroy(void *data) {
  icount_state *st = data;
  free(st->ended);
  free(st);
}

int wb_client_icount(wb_machine *m) {
  icount_state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  st->s = wb_stream_new(m, "icount", sizeof(icount_record));
  if (!st->s) { free(st); return -1; }
  wb_client_ops ops = {.name = "icount", .data = st, .on_block = on_block, .on_thread = on_thread,
                       .on_run_end = on_run_end, .destroy = destroy};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
