/* rcache.c — the watchpoint unit: the range table (ranges.c) behind a range cache of N
 * entries with least-recently-used replacement, and the counters (docs/watchpoints.md).
 *
 * Every entry is a run of the current table (a set or clear removes the entries whose runs
 * it may change), so entries never overlap and the entry holding the run of byte p, if any,
 * is the one keyed by that run's first byte: the model looks the run up in the table (the
 * ground truth) and then the entry in a hash of first bytes, in place of the associative
 * search the hardware does. The LRU order is a doubly linked list through the entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"

#define NONE UINT32_MAX

typedef struct entry {
  uint64_t first;        /* the run's first byte: the key */
  uint32_t prev, next;   /* LRU list (head: most recently used) */
  uint32_t hnext;        /* hash chain */
  uint32_t bits;
} entry;

struct wb_watch_unit {
  wb_watch_table *table;
  entry *e;
  uint32_t cap, used, head, tail, free_list;
  uint32_t *hash;        /* heads of chains, hmask + 1 of them */
  uint64_t hmask;
  wb_watch_counters n;
};

static uint32_t slot(const wb_watch_unit *u, uint64_t first) {
  return (uint32_t)(((first * 0x9e3779b97f4a7c15ull) >> 20) & u->hmask);
}

wb_watch_unit *wb_watch_unit_new(uint64_t entries, char *err, size_t errlen) {
  if (entries < 1 || entries > (1u << 24)) {
    snprintf(err, errlen, "range cache entries must be 1 to %u (got %llu)", 1u << 24, (unsigned long long)entries);
    return NULL;
  }
  wb_watch_unit *u = calloc(1, sizeof *u);
  uint64_t hs = 1;
  while (hs < 2 * entries) hs <<= 1;
  if (u) {
    u->table = wb_watch_table_new();
    u->e = malloc(entries * sizeof *u->e);
    u->hash = malloc(hs * sizeof *u->hash);
  }
  if (!u || !u->table || !u->e || !u->hash) {
    wb_watch_unit_free(u);
    snprintf(err, errlen, "out of host memory for a range cache of %llu entries", (unsigned long long)entries);
    return NULL;
  }
  u->cap = (uint32_t)entries;
  u->hmask = hs - 1;
  memset(u->hash, 0xff, hs * sizeof *u->hash);
  u->head = u->tail = NONE;
  u->free_list = NONE;
  return u;
}

void wb_watch_unit_free(wb_watch_unit *u) {
  if (!u) return;
  wb_watch_table_free(u->table);
  free(u->e);
  free(u->hash);
  free(u);
}

const wb_watch_counters *wb_watch_counts(wb_watch_unit *u) {
  u->n.segments_max = wb_watch_table_segments_max(u->table);
  return &u->n;
}

const wb_watch_table *wb_watch_unit_table(const wb_watch_unit *u) { return u->table; }

/* ---- the LRU list and the hash ---- */

static void unlink_lru(wb_watch_unit *u, uint32_t i) {
  entry *x = &u->e[i];
  if (x->prev != NONE) u->e[x->prev].next = x->next; else u->head = x->next;
  if (x->next != NONE) u->e[x->next].prev = x->prev; else u->tail = x->prev;
}

static void push_front(wb_watch_unit *u, uint32_t i) {
  entry *x = &u->e[i];
  x->prev = NONE;
  x->next = u->head;
  if (u->head != NONE) u->e[u->head].prev = i; else u->tail = i;
  u->head = i;
}

static uint32_t find(const wb_watch_unit *u, uint64_t first) {
  for (uint32_t i = u->hash[slot(u, first)]; i != NONE; i = u->e[i].hnext)
    if (u->e[i].first == first) return i;
  return NONE;
}

/* Take entry i out of the cache (hash, LRU) and onto the free list. */
static void drop(wb_watch_unit *u, uint32_t i) {
  uint32_t *p = &u->hash[slot(u, u->e[i].first)];
  while (*p != i) p = &u->e[*p].hnext;
  *p = u->e[i].hnext;
  unlink_lru(u, i);
  u->e[i].next = u->free_list;
  u->free_list = i;
  u->used--;
}

/* The miss handler: bring run r in as the most recently used entry. */
static void fill(wb_watch_unit *u, const wb_watch_run *r) {
  u->n.handler_calls++;
  uint32_t i;
  if (u->used == u->cap) {   /* evict the least recently used */
    u->n.evictions++;
    drop(u, u->tail);
  }
  if (u->free_list != NONE) { i = u->free_list; u->free_list = u->e[i].next; }
  else i = u->used;   /* never used yet: entries [0, used) are all taken */
  entry *x = &u->e[i];
  x->first = r->first;
  x->bits = r->bits;
  uint32_t h = slot(u, r->first);
  x->hnext = u->hash[h];
  u->hash[h] = i;
  push_front(u, i);
  u->used++;
}

/* ---- the operations ---- */

int wb_watch_access(wb_watch_unit *u, uint64_t addr, unsigned len, int store) {
  if (store) u->n.stores++; else u->n.loads++;
  uint32_t want = store ? WB_WATCH_WRITE : WB_WATCH_READ;
  uint64_t last = addr + len - 1, p = addr;
  int trig = 0;
  for (;;) {
    wb_watch_run r = wb_watch_table_run(u->table, p);
    u->n.lookups++;
    uint32_t i = find(u, r.first);
    if (i != NONE) {
      u->n.hits++;
      unlink_lru(u, i);
      push_front(u, i);
    } else {
      u->n.misses++;
      fill(u, &r);
    }
    if (r.bits & want) trig = 1;
    if (r.last >= last) break;
    p = r.last + 1;
  }
  u->n.triggers += (uint64_t)trig;
  return trig;
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
  /* the runs overlapping [s - 1, e + 1] may change: their entries go (before the table does) */
  uint64_t wl = s ? s - 1 : 0, wh = e < UINT64_MAX ? e + 1 : UINT64_MAX;
  for (uint64_t p = wl;;) {
    wb_watch_run r = wb_watch_table_run(u->table, p);
    uint32_t i = find(u, r.first);
    if (i != NONE) { drop(u, i); u->n.invalidations++; }
    if (r.last >= wh) break;
    p = r.last + 1;
  }
  unsigned sp, mg;
  if (wb_watch_table_apply(u->table, set, bits, s, e, &sp, &mg, err, errlen) != 0) return -1;
  if (set) u->n.sets++; else u->n.clears++;
  u->n.splits += sp;
  u->n.merges += mg;
  return 0;
}
