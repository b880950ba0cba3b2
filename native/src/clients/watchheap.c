/* watchheap.c — heap bounds and use-after-free checking on the watchpoint unit (the
 * "watchheap" client; needs a machine created with wb_config.watch).
 *
 * Every malloc/calloc/realloc block gets `redzone` bytes before and after it, taken from the
 * allocator (the request grows by two redzones and the block's slack, the program gets the
 * address after the first one) and watched for reads and writes. The trailing redzone starts
 * at the block's size rounded up to 8 bytes: word-at-a-time string functions (musl's strlen,
 * strchrnul) read whole aligned words, which real allocators' rounding makes safe, so an
 * overflow into those few slack bytes is not reported. A freed block is watched whole until the allocator
 * hands its memory out again or it leaves the quarantine (the last `quarantine` freed blocks;
 * older ones are no longer watched, so a use after free that late is missed; default 256). An access that
 * touches a watched byte is a finding: an overflow (past the end), an underflow (before the
 * start) or a use after free, reported once per (pc, kind, block) in stream "watchheap". The
 * allocator's own accesses (inside the wrapped calls) are not findings.
 *
 * What the unit sees is only these redzones and freed blocks, so its counters say what the
 * analysis costs on each mechanism (Run.watch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"

enum { K_OVERFLOW = 0, K_UNDERFLOW = 1, K_USE_AFTER_FREE = 2 };

typedef struct heap_record {     /* stream "watchheap" (64 bytes) */
  uint64_t icount;               /* instructions retired before the access */
  uint64_t pc;                   /* the accessing instruction */
  uint64_t addr;                 /* its address */
  uint64_t block;                /* the block's address as the program knows it */
  uint64_t size;                 /* the block's size as the program asked for it */
  uint64_t site;                 /* return address of the allocating call */
  int64_t offset;                /* addr - block */
  uint16_t thread;
  uint8_t kind;                  /* K_* */
  uint8_t access;                /* enum wb_mem_kind */
  uint8_t access_size;
  uint8_t pad[3];
} heap_record;

typedef struct block {
  uint64_t base, size, site;     /* base: the allocator's address (block - redzone) */
  int freed;
  struct block *hnext;           /* live blocks by address (the program's) */
} block;

#define HBITS 16
#define SLACK(size) ((((size) + 7) & ~(uint64_t)7) - (size))   /* to the next 8-byte boundary */

typedef struct hstate {
  wb_machine *m;
  int id;
  uint64_t rz, quarantine;
  wb_stream *s;
  block *live[1u << HBITS];
  block **q;                     /* freed blocks, oldest first (a ring of `quarantine`) */
  uint64_t qhead, qlen;
  uint64_t *seen;                /* findings reported: hashes of (pc, kind, block), open addressing */
  uint64_t seen_cap, nseen;
} hstate;

/* per-hart: wrapped allocator calls in progress, and the request being made */
typedef struct hart_state { int depth; } hart_state;
typedef struct call { uint64_t size, site, old; int kind; } call;   /* kind: 0 malloc, 1 realloc */

/* bytes a block of `size` takes from the allocator: redzone, block, slack, redzone */
static uint64_t span(const hstate *st, uint64_t size) { return size + SLACK(size) + 2 * st->rz; }

static unsigned hslot(uint64_t user) { return (unsigned)((user * 0x9e3779b97f4a7c15ull) >> (64 - HBITS)); }

static block *find_live(hstate *st, uint64_t user, block ***link) {
  block **p = &st->live[hslot(user)];
  while (*p && (*p)->base + st->rz != user) p = &(*p)->hnext;
  if (link) *link = p;
  return *p;
}

static hart_state *hs(hstate *st, wb_hart *h) { return wb_hart_local(h, st->id, sizeof(hart_state)); }

/* ---- the allocator's calls ---- */

/* 1 if this call is the program's (not the allocator calling itself, e.g. realloc's malloc) */
static int enter(hstate *st, wb_hart *h) {
  hart_state *x = hs(st, h);
  if (!x) return 0;
  return x->depth++ == 0;
}
static void leave(hstate *st, wb_hart *h) { hart_state *x = hs(st, h); if (x && x->depth) x->depth--; }

static void pre_malloc(void *data, wb_hart *h, uint64_t ra, uint64_t a[8], void **user) {
  hstate *st = data;
  call *c = calloc(1, sizeof *c);
  int mine = enter(st, h);
  if (!c || !mine || a[0] > UINT64_MAX / 2) { *user = c; if (c) c->size = UINT64_MAX; return; }
  c->size = a[0];
  c->site = ra;
  a[0] = span(st, a[0]);
  *user = c;
}

static void pre_calloc(void *data, wb_hart *h, uint64_t ra, uint64_t a[8], void **user) {
  hstate *st = data;
  call *c = calloc(1, sizeof *c);
  int mine = enter(st, h);
  unsigned __int128 total = (unsigned __int128)a[0] * a[1];
  if (!c || !mine || total > UINT64_MAX / 2) { *user = c; if (c) c->size = UINT64_MAX; return; }   /* calloc fails itself */
  c->size = (uint64_t)total;
  c->site = ra;
  a[0] = 1;
  a[1] = span(st, c->size);
  *user = c;
}

/* A new block from the allocator at base: what was watched there (old redzones, freed blocks
 * the allocator reuses) goes, the new redzones are watched. Returns the program's address. */
static uint64_t adopt(hstate *st, uint64_t base, uint64_t size, uint64_t site) {
  uint64_t end = base + span(st, size);
  wb_watch_clear(st->m, base, end - base, 3);
  for (uint64_t i = 0; i < st->qlen; i++) {   /* freed blocks the allocator hands out again */
    block *f = st->q[(st->qhead + i) % st->quarantine];
    if (f->freed == 1 && f->base < end && base < f->base + span(st, f->size)) f->freed = 2;
  }
  block *b = calloc(1, sizeof *b);
  if (!b) return base + st->rz;
  *b = (block){base, size, site, 0, NULL};
  unsigned k = hslot(base + st->rz);
  b->hnext = st->live[k];
  st->live[k] = b;
  wb_watch_set(st->m, base, st->rz, 3);
  wb_watch_set(st->m, base + st->rz + size + SLACK(size), st->rz, 3);
  return base + st->rz;
}

/* A block the allocator got back: watched whole while in the quarantine. */
static void retire(hstate *st, block *b) {
  if (st->quarantine == 0) { wb_watch_clear(st->m, b->base, span(st, b->size), 3); free(b); return; }
  if (st->qlen == st->quarantine) {          /* the oldest leaves: no longer watched */
    block *old = st->q[st->qhead];
    st->qhead = (st->qhead + 1) % st->quarantine;
    st->qlen--;
    if (old->freed == 1) wb_watch_clear(st->m, old->base, span(st, old->size), 3);
    free(old);
  }
  b->freed = 1;
  wb_watch_set(st->m, b->base, span(st, b->size), 3);
  st->q[(st->qhead + st->qlen) % st->quarantine] = b;
  st->qlen++;
}

static void post_alloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  hstate *st = data;
  call *c = user;
  leave(st, h);
  if (c && c->size != UINT64_MAX && *ret) *ret = adopt(st, *ret, c->size, c->site);
  free(c);
}

static void pre_realloc(void *data, wb_hart *h, uint64_t ra, uint64_t a[8], void **user) {
  hstate *st = data;
  call *c = calloc(1, sizeof *c);
  int mine = enter(st, h);
  *user = c;
  if (!c) return;
  if (!mine) { c->size = UINT64_MAX; return; }
  c->kind = 1;
  c->site = ra;
  c->old = a[0];
  block *b = a[0] ? find_live(st, a[0], NULL) : NULL;
  if ((a[0] && !b) || a[1] > UINT64_MAX / 2) { c->size = UINT64_MAX; return; }   /* not ours: as is */
  c->size = a[1];
  if (b) a[0] = b->base;
  a[1] = span(st, a[1]);
}

static void post_realloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  hstate *st = data;
  call *c = user;
  leave(st, h);
  if (!c) return;
  if (c->size != UINT64_MAX && *ret) {
    block **link, *old = c->old ? find_live(st, c->old, &link) : NULL;
    if (old) {                    /* the old block is gone (moved) or resized in place */
      *link = old->hnext;
      if (old->base != *ret) retire(st, old);
      else { wb_watch_clear(st->m, old->base, span(st, old->size), 3); free(old); }
    }
    *ret = adopt(st, *ret, c->size, c->site);
  }
  free(c);
}

static void pre_free(void *data, wb_hart *h, uint64_t ra, uint64_t a[8], void **user) {
  hstate *st = data;
  (void)ra;
  int mine = enter(st, h);
  block **link, *b = mine && a[0] ? find_live(st, a[0], &link) : NULL;
  *user = NULL;
  if (!b) return;                 /* NULL, not ours, or the allocator's own call: as is */
  *link = b->hnext;
  a[0] = b->base;
  *user = b;
}

static void post_free(void *data, wb_hart *h, uint64_t *ret, void *user) {
  hstate *st = data;
  (void)ret;
  leave(st, h);
  if (user) retire(st, user);
}

/* ---- findings ---- */

static block *quarantined(hstate *st, uint64_t addr, int freed) {
  for (uint64_t i = 0; i < st->qlen; i++) {         /* newest first */
    block *b = st->q[(st->qhead + st->qlen - 1 - i) % st->quarantine];
    if (b->freed == freed && addr >= b->base && addr < b->base + span(st, b->size)) return b;
  }
  return NULL;
}

/* The block a watched byte at addr belongs to: a freed block, a live block's redzones, or
 * the rest of a freed block the allocator partly handed out again. Findings are rare (each is
 * a bug), so a scan is fine. */
static block *owner(hstate *st, uint64_t addr) {
  block *b = quarantined(st, addr, 1);
  if (b) return b;
  for (unsigned k = 0; k < (1u << HBITS); k++)
    for (b = st->live[k]; b; b = b->hnext)
      if (addr >= b->base && addr < b->base + span(st, b->size)) return b;
  return quarantined(st, addr, 2);
}

/* 1 the first time (pc, kind, block) is seen */
static int first_time(hstate *st, uint64_t pc, int kind, uint64_t base) {
  uint64_t key = (pc * 0x9e3779b97f4a7c15ull) ^ (base * 0xc2b2ae3d27d4eb4full) ^ (uint64_t)kind;
  if (key == 0) key = 1;
  if (2 * (st->nseen + 1) > st->seen_cap) {
    uint64_t cap = st->seen_cap ? st->seen_cap * 2 : 1024, *n = calloc(cap, sizeof *n);
    if (!n) return 0;
    for (uint64_t i = 0; i < st->seen_cap; i++)
      if (st->seen[i]) {
        uint64_t j = st->seen[i] & (cap - 1);
        while (n[j]) j = (j + 1) & (cap - 1);
        n[j] = st->seen[i];
      }
    free(st->seen);
    st->seen = n;
    st->seen_cap = cap;
  }
  uint64_t j = key & (st->seen_cap - 1);
  while (st->seen[j] && st->seen[j] != key) j = (j + 1) & (st->seen_cap - 1);
  if (st->seen[j]) return 0;
  st->seen[j] = key;
  st->nseen++;
  return 1;
}

static void on_watch(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  hstate *st = data;
  hart_state *x = hs(st, h);
  if (x && x->depth) return;      /* the allocator at work on its own blocks */
  /* the first watched byte decides (an access may start just before a redzone) */
  for (unsigned i = 0; i < size; i++) {
    block *b = owner(st, addr + i);
    if (!b) continue;
    uint64_t a = addr + i, user = b->base + st->rz;
    int k = b->freed ? K_USE_AFTER_FREE : a < user ? K_UNDERFLOW : K_OVERFLOW;
    if (!b->freed && a >= user && a < user + b->size) continue;   /* its own bytes */
    if (!first_time(st, pc, k, b->base)) return;
    heap_record *r = wb_stream_push(st->s);
    r->icount = wb_hart_icount(h);
    r->pc = pc;
    r->addr = addr;
    r->block = user;
    r->size = b->size;
    r->site = b->site;
    r->offset = (int64_t)(addr - user);
    r->thread = (uint16_t)wb_hart_id(h);
    r->kind = (uint8_t)k;
    r->access = (uint8_t)kind;
    r->access_size = (uint8_t)size;
    return;
  }
}

static void destroy(void *data) {
  hstate *st = data;
  for (unsigned k = 0; k < (1u << HBITS); k++)
    for (block *b = st->live[k], *n; b; b = n) { n = b->hnext; free(b); }
  for (uint64_t i = 0; i < st->qlen; i++) free(st->q[(st->qhead + i) % st->quarantine]);
  free(st->q);
  free(st->seen);
  free(st);
}

static int option(void *data, const char *key, const char *v, char *err, size_t errlen) {
  hstate *st = data;
  uint64_t n;
  if (!strcmp(key, "redzone")) {
    if (wb_option_number("watchheap", key, v, 1, 4096, &n, err, errlen) != 0) return -1;
    st->rz = n;
  } else if (!strcmp(key, "quarantine")) {
    if (wb_option_number("watchheap", key, v, 0, 1u << 24, &n, err, errlen) != 0) return -1;
    st->quarantine = n;
  } else {
    snprintf(err, errlen, "watchheap: unknown option %s (redzone 1..4096, quarantine 0..%u)", key, 1u << 24);
    return -1;
  }
  return 0;
}

int wb_client_watchheap(wb_machine *m, const char *opts, char *err, size_t errlen) {
  if (!wb_watch_enabled(m)) {
    snprintf(err, errlen, "watchheap: needs the watchpoint unit (Machine(watch='unlimited'), or another mechanism)");
    return -1;
  }
  hstate *st = calloc(1, sizeof *st);
  if (!st) { snprintf(err, errlen, "out of host memory"); return -1; }
  st->m = m;
  st->rz = 16;
  st->quarantine = 256;
  if (wb_client_options("watchheap", opts, option, st, err, errlen) != 0) { free(st); return -1; }
  st->q = st->quarantine ? calloc(st->quarantine, sizeof *st->q) : NULL;
  st->s = wb_stream_new(m, "watchheap", sizeof(heap_record));
  if ((st->quarantine && !st->q) || !st->s) { destroy(st); snprintf(err, errlen, "watchheap: out of host memory"); return -1; }
  if (wb_wrap(m, "malloc", pre_malloc, post_alloc, st) != 0) {
    destroy(st);
    snprintf(err, errlen, "watchheap: the program has no malloc symbol (is it stripped?)");
    return -1;
  }
  wb_wrap(m, "calloc", pre_calloc, post_alloc, st);
  wb_wrap(m, "realloc", pre_realloc, post_realloc, st);
  wb_wrap(m, "free", pre_free, post_free, st);
  wb_client_ops ops = {.name = "watchheap", .data = st, .destroy = destroy, .on_watch = on_watch};
  st->id = wb_client_add(m, &ops);
  if (st->id < 0)
    snprintf(err, errlen, "watchheap: cannot register (taint tracking owns the watchpoint unit, or "
                          "there are too many clients)");
  return st->id < 0 ? -1 : 0;
}
