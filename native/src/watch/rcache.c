/* rcache.c — the watchpoint unit: the range table (ranges.c) behind a range cache of N
 * entries and a bitmap lookaside buffer of M lines, both least-recently-used (lru.c), and the
 * counters (docs/watchpoints.md).
 *
 * Every range-cache entry is a run of the current table (a set or clear rewrites the entries
 * whose runs it changes in place: split, merged, or dropped when merged into another), so
 * entries never overlap and the entry holding the run of byte p, if any, is the one keyed by
 * that run's first byte: the model looks the run up in the table (the ground truth) and then
 * the entry by its first byte, in place of the associative search the hardware does. Lines crossed by many runs (dense ones) are looked up in the
 * bitmap lookaside buffer instead, by line number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"

/* A cached run that a set or clear replaces: its old bounds, its slot, the stamp of its last
 * use, and its new runs (pieces [start, start + pieces) of the list below). */
typedef struct wb_watch_parent { uint64_t first, last, stamp; uint32_t slot, pieces, start; } wb_watch_parent;
/* A run of the new table written into the cache: its first byte and the parent in whose
 * place it goes. */
typedef struct wb_watch_piece { uint64_t first; uint32_t parent; } wb_watch_piece;

struct wb_watch_unit {
  wb_watch_table *table;
  wb_lru rc;             /* the range cache: runs, keyed by their first byte */
  wb_lru blb;            /* the bitmap lookaside buffer: dense lines, keyed by line number */
  unsigned blb_runs;     /* a line crossed by this many runs is dense */
  wb_watch_parent *parents;  /* scratch of wb_watch_change: the cached runs it replaces, */
  wb_watch_piece *pieces;    /* the new runs written in their place, */
  wb_watch_parent **order;   /* the parents least recently used first */
  size_t scratch_cap;        /* parents the scratch holds (pieces: three times as many) */
  wb_watch_run mru;      /* the run of the most recent range-cache look-up while it is still
                            the most recently used entry (first > last: none): an access that
                            lies inside it is a hit that changes nothing but the counters */
  wb_watch_counters n;
};

wb_watch_unit *wb_watch_unit_new(uint64_t entries, uint64_t blb_entries, uint64_t blb_runs,
                                 char *err, size_t errlen) {
  if (entries < 1 || entries > (1u << 24)) {
    snprintf(err, errlen, "range cache entries must be 1 to %u (got %llu)", 1u << 24, (unsigned long long)entries);
    return NULL;
  }
  if (blb_entries > (1u << 24) || blb_runs < 2 || blb_runs > WB_WATCH_BLB_LINE + 1) {
    snprintf(err, errlen, "bitmap lookaside buffer: entries must be 0 to %u and runs 2 to %u (got %llu, %llu)",
             1u << 24, WB_WATCH_BLB_LINE + 1, (unsigned long long)blb_entries, (unsigned long long)blb_runs);
    return NULL;
  }
  wb_watch_unit *u = calloc(1, sizeof *u);
  if (!u || !(u->table = wb_watch_table_new()) || wb_lru_init(&u->rc, entries) != 0 ||
      wb_lru_init(&u->blb, blb_entries) != 0) {
    wb_watch_unit_free(u);
    snprintf(err, errlen, "out of host memory for a range cache of %llu entries", (unsigned long long)entries);
    return NULL;
  }
  u->blb_runs = (unsigned)blb_runs;
  u->mru = (wb_watch_run){1, 0, 0};
  return u;
}

void wb_watch_unit_free(wb_watch_unit *u) {
  if (!u) return;
  wb_watch_table_free(u->table);
  wb_lru_fini(&u->rc);
  wb_lru_fini(&u->blb);
  free(u->parents);
  free(u->pieces);
  free(u->order);
  free(u);
}

const wb_watch_counters *wb_watch_counts(wb_watch_unit *u) {
  u->n.segments_max = wb_watch_table_segments_max(u->table);
  return &u->n;
}

const wb_watch_table *wb_watch_unit_table(const wb_watch_unit *u) { return u->table; }

/* ---- the bitmap lookaside buffer's lines ---- */

#define LINE WB_WATCH_BLB_LINE
#define LAST_LINE (UINT64_MAX / LINE)

/* 1 if line k is dense: at least blb_runs runs cross it (never, without a BLB) */
static int dense(const wb_watch_unit *u, uint64_t k) {
  if (!u->blb.cap) return 0;
  uint64_t a = k * LINE, end = a + (LINE - 1);
  for (unsigned n = 1;; n++) {
    wb_watch_run r = wb_watch_table_run(u->table, a);
    if (n >= u->blb_runs) return 1;
    if (r.last >= end) return 0;
    a = r.last + 1;
  }
}

/* the OR of the bits of the runs crossing [a, b] */
static uint32_t bits_over(const wb_watch_table *t, uint64_t a, uint64_t b) {
  uint32_t bits = 0;
  for (;;) {
    wb_watch_run r = wb_watch_table_run(t, a);
    bits |= r.bits;
    if (r.last >= b) return bits;
    a = r.last + 1;
  }
}

/* ---- the operations ---- */

int wb_watch_access(wb_watch_unit *u, uint64_t addr, unsigned len, int store) {
  if (store) u->n.stores++; else u->n.loads++;
  uint32_t want = store ? WB_WATCH_WRITE : WB_WATCH_READ;
  uint64_t last = addr + len - 1, p = addr;
  if (addr >= u->mru.first && last <= u->mru.last) {   /* within the most recent run: a hit */
    u->n.lookups++;
    u->n.hits++;
    int trig = (u->mru.bits & want) != 0;
    u->n.triggers += (uint64_t)trig;
    return trig;
  }
  int trig = 0;
  for (;;) {
    uint64_t k = p / LINE, next;
    if (dense(u, k)) {                  /* the bitmap: one look-up for the line */
      u->mru = (wb_watch_run){1, 0, 0};
      u->n.blb_lookups++;
      if (wb_lru_touch(&u->blb, k)) u->n.blb_hits++;
      else {
        u->n.blb_misses++;
        u->n.blb_evictions += (uint64_t)wb_lru_insert(&u->blb, k);
      }
      uint64_t end = k * LINE + (LINE - 1);
      if (bits_over(u->table, p, end < last ? end : last) & want) trig = 1;
      if (end >= last) break;
      next = end + 1;
    } else {                            /* the range cache: the run of p */
      wb_watch_run r = wb_watch_table_run(u->table, p);
      u->n.lookups++;
      if (wb_lru_touch(&u->rc, r.first)) u->n.hits++;
      else {
        u->n.misses++;
        u->n.handler_calls++;           /* the miss handler brings the run in */
        u->n.evictions += (uint64_t)wb_lru_insert(&u->rc, r.first);
      }
      /* now the most recent entry; no dense line of the BLB may lie inside it */
      u->mru = u->blb.cap ? (wb_watch_run){1, 0, 0} : r;
      if (r.bits & want) trig = 1;
      /* on after the run, or at the next line when the run reaches into a dense one */
      if (k < LAST_LINE && (k + 1) * LINE <= last && r.last >= (k + 1) * LINE && dense(u, k + 1))
        next = (k + 1) * LINE;
      else if (r.last >= last) break;
      else next = r.last + 1;
    }
    if (next > last) break;
    p = next;
  }
  u->n.triggers += (uint64_t)trig;
  return trig;
}

/* ---- a set or clear: the table changes, the cached entries over it change in place ---- */

/* a more recently used than b: a later stamp, or the same one (pieces of one entry) and a
 * lower address (pieces sit in the LRU order by address) */
static int more_recent(const wb_watch_parent *a, const wb_watch_parent *b) {
  return a->stamp > b->stamp || (a->stamp == b->stamp && a->first < b->first);
}

static int by_recency(const void *x, const void *y) {   /* least recently used first */
  const wb_watch_parent *a = *(wb_watch_parent *const *)x, *b = *(wb_watch_parent *const *)y;
  return more_recent(a, b) ? 1 : more_recent(b, a) ? -1 : 0;
}

/* Room for n parents (and their pieces, at most three each): 0, or -1 out of host memory. */
static int reserve(wb_watch_unit *u, size_t n) {
  if (n <= u->scratch_cap) return 0;
  size_t cap = u->scratch_cap ? 2 * u->scratch_cap : 16;
  while (cap < n) cap *= 2;
  wb_watch_parent *p = realloc(u->parents, cap * sizeof *p);
  if (p) u->parents = p;
  wb_watch_piece *q = p ? realloc(u->pieces, 3 * cap * sizeof *q) : NULL;
  if (q) u->pieces = q;
  wb_watch_parent **o = q ? realloc(u->order, cap * sizeof *o) : NULL;
  if (o) u->order = o;
  if (!o) return -1;
  u->scratch_cap = cap;
  return 0;
}

/* The cached runs a change of [s, e] may alter, those crossing [s-1, e+1], in address order:
 * how many (u->parents), or -1 out of host memory. */
static long find_parents(wb_watch_unit *u, uint64_t s, uint64_t e) {
  uint64_t wl = s ? s - 1 : 0, wh = e < UINT64_MAX ? e + 1 : UINT64_MAX;
  long n = 0;
  if (!u->rc.used) return 0;
  for (uint64_t p = wl;;) {
    wb_watch_run r = wb_watch_table_run(u->table, p);
    uint32_t i = wb_lru_find(&u->rc, r.first);
    if (i != UINT32_MAX) {
      if (reserve(u, (size_t)n + 1) != 0) return -1;
      u->parents[n++] = (wb_watch_parent){r.first, r.last, u->rc.e[i].stamp, i, 0, 0};
    }
    if (r.last >= wh) break;
    p = r.last + 1;
  }
  return n;
}

/* The runs of the new table over the parents, each given to its most recently used parent;
 * how many. Both lists are in address order, and a parent, whose bytes had one set of bits,
 * holds at most three new runs (the part before the change, the part inside, the part after). */
static size_t find_pieces(wb_watch_unit *u, long np) {
  size_t n = 0;
  for (long j = 0; j < np; j++) {
    wb_watch_parent *par = &u->parents[j];
    for (uint64_t p = par->first;;) {
      wb_watch_run q = wb_watch_table_run(u->table, p);
      if (n && u->pieces[n - 1].first == q.first) {   /* a run over two parents: merged */
        if (more_recent(par, &u->parents[u->pieces[n - 1].parent])) u->pieces[n - 1].parent = (uint32_t)j;
      } else {
        u->pieces[n++] = (wb_watch_piece){q.first, (uint32_t)j};
      }
      if (q.last >= par->last) break;
      p = q.last + 1;
    }
  }
  return n;
}

/* The bitmap lines held that intersect [s, e]: the change writes their bits in place. */
static uint64_t blb_lines_over(const wb_watch_unit *u, uint64_t s, uint64_t e) {
  const wb_lru *b = &u->blb;
  if (!b->used) return 0;
  uint64_t k0 = s / LINE, k1 = e / LINE, n = 0;
  if (k1 - k0 < b->used) {              /* few lines: look each one up */
    for (uint64_t k = k0;; k++) {
      n += wb_lru_find(b, k) != UINT32_MAX;
      if (k == k1) break;
    }
  } else {                              /* a wide range: walk the buffer's entries instead */
    for (uint32_t i = b->head; i != UINT32_MAX; i = b->e[i].next)
      n += b->e[i].key >= k0 && b->e[i].key <= k1;
  }
  return n;
}

int wb_watch_change(wb_watch_unit *u, int set, uint32_t bits, uint64_t addr, uint64_t len,
                    char *err, size_t errlen) {
  if (len == 0 || addr + (len - 1) < addr || bits < 1 || bits > 3) {
    snprintf(err, errlen, "watch range at %#llx of %llu bytes, bits %u: %s", (unsigned long long)addr,
             (unsigned long long)len, bits,
             len == 0 ? "empty" : bits < 1 || bits > 3 ? "bits must be 1 (read), 2 (write) or 3" : "past the end of the address space");
    return -1;
  }
  uint64_t s = addr, e = addr + (len - 1);
  /* the parents are found by the old runs, before the table changes */
  long np = find_parents(u, s, e);
  if (np < 0) {
    snprintf(err, errlen, "out of host memory for the range cache's update");
    return -1;
  }
  unsigned sp, mg;
  if (wb_watch_table_apply(u->table, set, bits, s, e, &sp, &mg, err, errlen) != 0) return -1;
  if (set) u->n.sets++; else u->n.clears++;
  u->n.splits += sp;
  u->n.merges += mg;
  u->n.blb_updates += blb_lines_over(u, s, e);
  u->mru = (wb_watch_run){1, 0, 0};
  if (!np) return 0;
  size_t nq = find_pieces(u, np);
  /* Replace the parents: one whose bytes all went to more recent parents' runs is dropped;
   * the others, least recently used first, are rewritten with their runs (the first in the
   * parent's slot, the others right after it, as recently used), the least recently used
   * entries evicted when the cache overflows. Going least recently used first, what an
   * overflow evicts is what it would evict after all the replacements. */
  for (long j = 0; j < np; j++) wb_lru_unkey(&u->rc, u->parents[j].slot);
  for (size_t k = 0; k < nq; k++) {   /* a parent's pieces are consecutive */
    wb_watch_parent *par = &u->parents[u->pieces[k].parent];
    if (!par->pieces++) par->start = (uint32_t)k;
  }
  size_t na = 0;
  for (long j = 0; j < np; j++) {
    if (u->parents[j].pieces) u->order[na++] = &u->parents[j];
    else {
      wb_lru_discard(&u->rc, u->parents[j].slot);
      u->n.invalidations++;
    }
  }
  qsort(u->order, na, sizeof *u->order, by_recency);
  for (size_t a = 0; a < na; a++) {
    const wb_watch_parent *par = u->order[a];
    uint32_t at = par->slot;
    wb_lru_rekey(&u->rc, at, u->pieces[par->start].first);
    for (uint32_t k = par->start + 1; k < par->start + par->pieces; k++)
      at = wb_lru_insert_after(&u->rc, at, u->pieces[k].first);
    u->n.updates += par->pieces;
    u->n.evictions += wb_lru_trim(&u->rc);
  }
  return 0;
}
