/* bbprofile.c — the "bbprofile" client: how many times each guest block ran, counted by an
 * inline counter per block. Blocks are keyed by (start pc, length): a block translated again
 * (after a flush, or by the other tier) keeps counting in the same slot. Stream "bbprofile":
 * at the end of a run, one record per block, sorted by pc: {uint64 pc; uint64 count;
 * uint32 ninsns; uint32 pad}. Python names the blocks from the ELF's symbols. */
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct { uint64_t pc, count; uint32_t ninsns, pad; } bb_record;
typedef struct bb_entry { uint64_t pc, count; uint32_t n; struct bb_entry *next; } bb_entry;

#define BB_HASH 65536
typedef struct {
  bb_entry *table[BB_HASH];
  size_t nentries;
  wb_stream *s;
} bb_state;

static bb_entry *entry(bb_state *st, uint64_t pc, uint32_t n) {
  unsigned h = (unsigned)((pc >> 1) * 0x9e3779b1u) & (BB_HASH - 1);
  for (bb_entry *e = st->table[h]; e; e = e->next)
    if (e->pc == pc && e->n == n) return e;
  bb_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->pc = pc;
  e->n = n;
  e->next = st->table[h];
  st->table[h] = e;
  st->nentries++;
  return e;
}

static void on_block(void *data, wb_bb *bb) {
  bb_entry *e = entry(data, wb_bb_pc(bb), wb_bb_size(bb));
  if (e) wb_bb_count(bb, &e->count, 1);
}

static int by_pc(const void *a, const void *b) {
  const bb_entry *x = *(bb_entry *const *)a, *y = *(bb_entry *const *)b;
  if (x->pc != y->pc) return x->pc < y->pc ? -1 : 1;
  return x->n < y->n ? -1 : x->n > y->n;
}

static void on_run_end(void *data, wb_machine *m) {
  bb_state *st = data;
  (void)m;
  wb_stream_reset(st->s);
  bb_entry **all = malloc((st->nentries + 1) * sizeof *all);
  if (!all) return;
  size_t k = 0;
  for (unsigned h = 0; h < BB_HASH; h++)
    for (bb_entry *e = st->table[h]; e; e = e->next)
      if (e->count) all[k++] = e;
  qsort(all, k, sizeof *all, by_pc);
  for (size_t i = 0; i < k; i++) {
    bb_record *r = wb_stream_push(st->s);
    r->pc = all[i]->pc;
    r->count = all[i]->count;
    r->ninsns = all[i]->n;
  }
  free(all);
}

static void destroy(void *data) {
  bb_state *st = data;
  for (unsigned h = 0; h < BB_HASH; h++)
    for (bb_entry *e = st->table[h], *nx; e; e = nx) { nx = e->next; free(e); }
  free(st);
}

int wb_client_bbprofile(wb_machine *m) {
  bb_state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  st->s = wb_stream_new(m, "bbprofile", sizeof(bb_record));
  if (!st->s) { free(st); return -1; }
  wb_client_ops ops = {.name = "bbprofile", .data = st, .on_block = on_block,
                       .on_run_end = on_run_end, .destroy = destroy};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
