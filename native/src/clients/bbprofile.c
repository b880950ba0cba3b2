/* bbprofile.c — the "bbprofile" client: how many times each guest block ran on each guest
 * thread, counted inline in the running hart's own counter table (wb_bb_count_hart: no
 * atomics, exact per thread whichever hart translated the block). Blocks are keyed by (start
 * pc, length): a block translated again (after a flush, by another thread's cache, by the
 * other tier) keeps counting in the same counter. Stream "bbprofile": at the end of a run,
 * one record per block and thread that ran it, sorted by pc then thread: {uint64 pc; uint64
 * count; uint32 ninsns; uint16 thread; uint16 pad}. Python names the blocks from the ELF's
 * symbols. Past WB_HART_COUNTERS distinct blocks, a block counts in one shared counter,
 * reported as thread BB_ANY_THREAD. */
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct { uint64_t pc, count; uint32_t ninsns; uint16_t thread, pad; } bb_record;
/* counter: its index in every hart's table; count: the shared counter past the tables' end */
typedef struct bb_entry { uint64_t pc, count; uint32_t n, counter; struct bb_entry *next; } bb_entry;
#define BB_ANY_THREAD 0xffff

#define BB_HASH 65536
typedef struct {
  bb_entry *table[BB_HASH];
  size_t nentries;
  wb_stream *s;
  int id;                    /* this client's id: its per-hart counter tables */
} bb_state;

static bb_entry *entry(bb_state *st, uint64_t pc, uint32_t n) {
  unsigned h = (unsigned)((pc >> 1) * 0x9e3779b1u) & (BB_HASH - 1);
  for (bb_entry *e = st->table[h]; e; e = e->next)
    if (e->pc == pc && e->n == n) return e;
  bb_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->pc = pc;
  e->n = n;
  e->counter = (uint32_t)st->nentries;
  e->next = st->table[h];
  st->table[h] = e;
  st->nentries++;
  return e;
}

static void on_block(void *data, wb_bb *bb) {
  bb_state *st = data;
  bb_entry *e = entry(st, wb_bb_pc(bb), wb_bb_size(bb));
  if (e && wb_bb_count_hart(bb, st->id, e->counter, 1) != 0) wb_bb_count(bb, &e->count, 1);
}

static void push(bb_state *st, const bb_entry *e, uint64_t count, int thread) {
  bb_record *r = wb_stream_push(st->s);
  *r = (bb_record){e->pc, count, e->n, (uint16_t)thread, 0};
}

static int by_pc(const void *a, const void *b) {
  const bb_entry *x = *(bb_entry *const *)a, *y = *(bb_entry *const *)b;
  if (x->pc != y->pc) return x->pc < y->pc ? -1 : 1;
  return x->n < y->n ? -1 : x->n > y->n;
}

static void on_run_end(void *data, wb_machine *m) {
  bb_state *st = data;
  wb_stream_reset(st->s);
  bb_entry **all = malloc((st->nentries + 1) * sizeof *all);
  if (!all) return;
  size_t k = 0;
  for (unsigned h = 0; h < BB_HASH; h++)
    for (bb_entry *e = st->table[h]; e; e = e->next) all[k++] = e;
  qsort(all, k, sizeof *all, by_pc);
  int nharts = wb_machine_hart_count(m);
  for (size_t i = 0; i < k; i++) {
    for (int t = 0; t < nharts; t++) {
      const uint64_t *counts = wb_hart_counters(wb_machine_hart(m, t), st->id);
      if (counts && all[i]->counter < WB_HART_COUNTERS && counts[all[i]->counter])
        push(st, all[i], counts[all[i]->counter], t);
    }
    if (all[i]->count) push(st, all[i], all[i]->count, BB_ANY_THREAD);
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
  st->id = wb_client_add(m, &ops);
  if (st->id < 0) { destroy(st); return -1; }
  return 0;
}
