/* icount.c — the "icount" client: counts guest instructions with one inline counter per
 * block (add the block's length on entry). Stream "icount": one record per thread at the end
 * of a run, {uint64 icount; uint16 thread; uint16 pad[3]}. */
#include <stdlib.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct { uint64_t total; wb_stream *s; } icount_state;
typedef struct { uint64_t icount; uint16_t thread, pad[3]; } icount_record;

static void on_block(void *data, wb_bb *bb) {
  icount_state *st = data;
  wb_bb_count(bb, &st->total, wb_bb_size(bb));
}

static void on_run_end(void *data, wb_machine *m) {
  icount_state *st = data;
  (void)m;
  wb_stream_reset(st->s);
  icount_record *r = wb_stream_push(st->s);
  r->icount = st->total;
}

int wb_client_icount(wb_machine *m) {
  icount_state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  st->s = wb_stream_new(m, "icount", sizeof(icount_record));
  if (!st->s) { free(st); return -1; }
  wb_client_ops ops = {.name = "icount", .data = st, .on_block = on_block,
                       .on_run_end = on_run_end, .destroy = free};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
