/* ranges.c — the watchpoint unit's range table: every byte's watch bits, kept as segments
 * (maximal runs of equal nonzero bits, docs/watchpoints.md).
 *
 * The segments are sorted in chunks of up to CHUNK, reached through a sorted directory of
 * chunks: a look-up is two binary searches, an insertion shifts at most one chunk (and the
 * directory when a chunk splits), so a million watchpoints set in any order stay cheap. A
 * set or clear rebuilds only the window of segments it can change or join (those overlapping
 * its range widened by a byte on each side) into a few new pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"

#define CHUNK 256
#define TOP UINT64_MAX

typedef struct chunk { uint32_t n; wb_watch_run s[CHUNK]; } chunk;

typedef struct { size_t c; uint32_t i; } pos;   /* a segment's place: chunk, index in it */

struct wb_watch_table {
  chunk **dir;
  size_t nchunks, capchunks;
  size_t nsegs, maxsegs;
  pos hint;          /* where the last look-up ended: accesses come in runs, so the next one
                        usually finds its answer there or one segment on (checked, never trusted) */
};

wb_watch_table *wb_watch_table_new(void) { return calloc(1, sizeof(wb_watch_table)); }

void wb_watch_table_free(wb_watch_table *t) {
  if (!t) return;
  for (size_t c = 0; c < t->nchunks; c++) free(t->dir[c]);
  free(t->dir);
  free(t);
}

size_t wb_watch_table_segments(const wb_watch_table *t) { return t->nsegs; }
size_t wb_watch_table_segments_max(const wb_watch_table *t) { return t->maxsegs; }

/* The first segment whose last byte is >= p (c == nchunks: none). */
static pos find_ge(const wb_watch_table *t, uint64_t p) {
  size_t lo = 0, hi = t->nchunks;
  while (lo < hi) {   /* the first chunk whose last segment ends at or after p */
    size_t mid = (lo + hi) / 2;
    const chunk *k = t->dir[mid];
    if (k->s[k->n - 1].last < p) lo = mid + 1; else hi = mid;
  }
  if (lo == t->nchunks) return (pos){lo, 0};
  const chunk *k = t->dir[lo];
  uint32_t a = 0, b = k->n;
  while (a < b) {
    uint32_t mid = (a + b) / 2;
    if (k->s[mid].last < p) a = mid + 1; else b = mid;
  }
  return (pos){lo, a};
}

static int at_end(const wb_watch_table *t, pos q) { return q.c >= t->nchunks; }
static const wb_watch_run *seg(const wb_watch_table *t, pos q) { return &t->dir[q.c]->s[q.i]; }
static pos next(const wb_watch_table *t, pos q) {
  if (++q.i >= t->dir[q.c]->n) { q.c++; q.i = 0; }
  return q;
}

/* find_ge, trying the last answer and the segment after it first: q is the answer when its
 * segment ends at or after p and the one before it (if any) ends before p. */
static pos find_ge_hinted(wb_watch_table *t, uint64_t p) {
  pos q = t->hint;
  for (int k = 0; k < 2 && q.c < t->nchunks && q.i < t->dir[q.c]->n; k++, q = next(t, q)) {
    if (seg(t, q)->last < p) continue;
    const wb_watch_run *before = q.i ? &t->dir[q.c]->s[q.i - 1]
                                     : q.c ? &t->dir[q.c - 1]->s[t->dir[q.c - 1]->n - 1] : NULL;
    if (!before || before->last < p) return t->hint = q;
    break;
  }
  q = find_ge(t, p);
  if (!at_end(t, q)) t->hint = q;
  return q;
}

wb_watch_run wb_watch_table_run(const wb_watch_table *ct, uint64_t p) {
  wb_watch_table *t = (wb_watch_table *)ct;   /* only the hint changes: a cache, not the table */
  pos q = find_ge_hinted(t, p);
  if (!at_end(t, q) && seg(t, q)->first <= p) return *seg(t, q);
  wb_watch_run r = {0, TOP, 0};
  if (!at_end(t, q)) r.last = seg(t, q)->first - 1;
  if (q.i > 0) r.first = t->dir[q.c]->s[q.i - 1].last + 1;
  else if (q.c > 0) r.first = t->dir[q.c - 1]->s[t->dir[q.c - 1]->n - 1].last + 1;
  return r;
}

/* ---- editing ---- */

/* Remove k segments starting at q. */
static void remove_at(wb_watch_table *t, pos q, size_t k) {
  t->nsegs -= k;
  while (k > 0) {
    chunk *c = t->dir[q.c];
    uint32_t take = c->n - q.i < k ? c->n - q.i : (uint32_t)k;
    memmove(&c->s[q.i], &c->s[q.i + take], (c->n - q.i - take) * sizeof c->s[0]);
    c->n -= take;
    k -= take;
    if (c->n == 0) {   /* an empty chunk leaves the directory */
      free(c);
      memmove(&t->dir[q.c], &t->dir[q.c + 1], (t->nchunks - q.c - 1) * sizeof t->dir[0]);
      t->nchunks--;
      q.i = 0;
    } else if (q.i >= c->n) {
      q.c++;
      q.i = 0;
    }
  }
}

/* Insert segment r at its sorted place (no segment overlaps it). 0, or -1 out of memory. */
static int insert(wb_watch_table *t, wb_watch_run r) {
  pos q = find_ge(t, r.first);
  if (t->nchunks == 0 || t->nchunks == t->capchunks) {
    size_t cap = t->capchunks ? 2 * t->capchunks : 16;
    chunk **nd = t->nchunks == t->capchunks ? realloc(t->dir, cap * sizeof *nd) : t->dir;
    if (!nd) return -1;
    t->dir = nd;
    if (t->nchunks == t->capchunks) t->capchunks = cap;
  }
  if (t->nchunks == 0) {
    chunk *c = malloc(sizeof *c);
    if (!c) return -1;
    c->n = 0;
    t->dir[0] = c;
    t->nchunks = 1;
    q = (pos){0, 0};
  }
  if (at_end(t, q)) q = (pos){t->nchunks - 1, t->dir[t->nchunks - 1]->n};   /* after the last */
  chunk *c = t->dir[q.c];
  if (c->n == CHUNK) {   /* split the chunk in two halves */
    chunk *h = malloc(sizeof *h);
    if (!h) return -1;
    h->n = CHUNK / 2;
    memcpy(h->s, &c->s[CHUNK / 2], (CHUNK / 2) * sizeof c->s[0]);
    c->n = CHUNK / 2;
    memmove(&t->dir[q.c + 2], &t->dir[q.c + 1], (t->nchunks - q.c - 1) * sizeof t->dir[0]);
    t->dir[q.c + 1] = h;
    t->nchunks++;
    if (q.i > CHUNK / 2) { q.c++; q.i -= CHUNK / 2; c = h; }
  }
  memmove(&c->s[q.i + 1], &c->s[q.i], (c->n - q.i) * sizeof c->s[0]);
  c->s[q.i] = r;
  c->n++;
  t->nsegs++;
  if (t->nsegs > t->maxsegs) t->maxsegs = t->nsegs;
  return 0;
}

/* The new pieces of a window, built in address order and joined as they come. */
typedef struct { wb_watch_run *p; size_t n, cap; int oom; } pieces;

static void add(pieces *ps, uint64_t first, uint64_t last, uint32_t bits) {
  if (!bits || first > last) return;
  if (ps->n && ps->p[ps->n - 1].last + 1 == first && ps->p[ps->n - 1].bits == bits) {
    ps->p[ps->n - 1].last = last;
    return;
  }
  if (ps->n == ps->cap) {
    size_t cap = ps->cap ? 2 * ps->cap : 8;
    wb_watch_run *np = realloc(ps->p, cap * sizeof *np);
    if (!np) { ps->oom = 1; return; }
    ps->p = np;
    ps->cap = cap;
  }
  ps->p[ps->n++] = (wb_watch_run){first, last, bits};
}

static int strictly_inside(const wb_watch_run *r, uint64_t b) { return r->first < b && b <= r->last; }

int wb_watch_table_apply(wb_watch_table *t, int set, uint32_t bits, uint64_t s, uint64_t e,
                         unsigned *splits, unsigned *merges, char *err, size_t errlen) {
  *splits = *merges = 0;
  uint64_t wl = s ? s - 1 : 0, wh = e < TOP ? e + 1 : TOP;   /* the window: a byte wider */
  pos a = find_ge(t, wl);
  pieces ps = {0};
  size_t k = 0;
  uint64_t cursor = s;   /* (set) the next byte of [s, e] not yet covered */
  int covered = 0;       /* ... all of them are */
  for (pos q = a; !at_end(t, q) && seg(t, q)->first <= wh; q = next(t, q), k++) {
    const wb_watch_run o = *seg(t, q);
    if (strictly_inside(&o, s)) (*splits)++;
    if (e < TOP && strictly_inside(&o, e + 1)) (*splits)++;
    if (o.first < s) add(&ps, o.first, o.last < s - 1 ? o.last : s - 1, o.bits);
    if (set && !covered && o.first > cursor && cursor <= e)   /* the gap before o */
      add(&ps, cursor, o.first - 1 < e ? o.first - 1 : e, bits);
    uint64_t lo = o.first > s ? o.first : s, hi = o.last < e ? o.last : e;
    if (lo <= hi) add(&ps, lo, hi, set ? o.bits | bits : o.bits & ~bits);
    if (!covered && o.last >= cursor) {
      if (o.last == TOP) covered = 1; else cursor = o.last + 1;
    }
    if (o.last > e) add(&ps, o.first > e + 1 ? o.first : e + 1, o.last, o.bits);
  }
  if (set && !covered && cursor <= e) add(&ps, cursor, e, bits);   /* the gap after the last */
  if (ps.oom) { free(ps.p); snprintf(err, errlen, "out of host memory for the watch table"); return -1; }
  if (t->nsegs - k + ps.n > WB_WATCH_MAX_SEGMENTS) {
    free(ps.p);
    snprintf(err, errlen, "the watch table would need more than %u segments (its memory cap)",
             WB_WATCH_MAX_SEGMENTS);
    return -1;
  }
  for (size_t i = 0; i < ps.n; i++) {
    if (strictly_inside(&ps.p[i], s)) (*merges)++;
    if (e < TOP && strictly_inside(&ps.p[i], e + 1)) (*merges)++;
  }
  if (k) remove_at(t, a, k);
  for (size_t i = 0; i < ps.n; i++)
    if (insert(t, ps.p[i]) != 0) {
      /* only when a chunk cannot be allocated: the table has lost the window */
      free(ps.p);
      snprintf(err, errlen, "out of host memory for the watch table");
      return -1;
    }
  free(ps.p);
  return 0;
}
