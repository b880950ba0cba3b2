/* shrink.c — speculative shrinking, the optimization the barrier profiler's "mostly untouched"
 * conclusion drives (docs/barrier_profiler.md): a rerun in which allocations from flagged sites
 * get only the memory the profile saw them use, with a fix-up when an access goes further.
 *
 * The plan is a list of allocation sites (return addresses, as the barrier client records
 * them) with a cut in bytes each. malloc/calloc of `size` bytes from a planned site whose cut
 * rounds to fewer pages than size does: the program gets a *slot* instead of heap memory — a
 * page-aligned guest range reserved for the whole size (plus a guard page), of which only the
 * pages under the cut are mapped. Accesses inside the cut run at full speed; the first access
 * past it faults on an unmapped page, and the fix-up maps the rest of the slot (the object
 * grows in place: its address, and every pointer the program holds, stay valid, so nothing is
 * copied) and the access runs again. A syscall's buffer in the unmapped part is grown the same
 * way (the memory layer asks before it reports EFAULT). An access past the object's end lands
 * on the guard and stays a guest fault.
 *
 * Page protection is the only check that costs nothing on the fast path, so the cut is kept
 * in pages: an object shrinks only if that saves at least one page. (The paper's Java arrays
 * carry a length that every access checks anyway; its fix-up can be byte-exact.)
 *
 * The guest allocator still sees one call: the planned call is turned into malloc(0), whose
 * small block stands for the slot (free and realloc of the slot are handed that block, so the
 * allocator's books stay balanced); realloc copies the slot's bytes into the new block.
 *
 * Streams (at the end of a run): "shrink" (one record per shrunk object: site, size, bytes
 * mapped at allocation, whether and when it was grown), "shrink_stats" (one record).
 * Each live slot costs the host two mappings (mapped head, unmapped tail) and Linux caps a
 * process's mappings (vm.max_map_count, 65530 by default), so at most `max_slots` slots are
 * live at once; planned allocations beyond that are left alone and counted as skipped.
 * Options: "sites=SITE:CUT/SITE:CUT/...,max_slots=N" (numbers in C syntax, e.g.
 * 0x10b2c:128; max_slots default 16384).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

#define PAGE 4096ull
static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

typedef struct slot {
  uint64_t addr, size, span;     /* the program's object: [addr, addr+size); span: pages reserved */
  uint64_t mapped;               /* bytes mapped from addr (the cut, or span once grown) */
  uint64_t holder;               /* the allocator's small block standing for it */
  uint64_t site, alloc_icount, grow_icount, cut;
  int live;
} slot;

typedef struct { uint64_t site, size, cut, mapped, alloc_icount, grow_icount; uint32_t grown, freed; } obj_record;
typedef struct { uint64_t objects, fixups, skipped, bytes_requested, bytes_mapped, bytes_grown,
                 peak_live_requested, peak_live_mapped, planned_sites, pad; } stats_record;

/* A call whose return is caught: one that allocates or reallocates a slot. Other calls are
 * left alone entirely (WB_WRAP_NO_POST). While one is in progress, allocation calls are the
 * allocator's own (calloc or realloc built on malloc), not the program's. */
typedef struct { uint64_t size; struct slot *s; } call;
#define MAX_DEPTH 4

typedef struct {
  struct { uint64_t site, cut; } *plan;
  size_t nplan;
  slot **slots;                  /* every slot, in allocation order */
  size_t nslots, capslots;
  slot **live;                   /* live slots sorted by address (found by binary search) */
  size_t nlive, caplive;
  int id;                        /* this client's id: its thread-local data (wb_hart_local) */
  uint64_t max_slots;
  uint64_t fixups, skipped, requested, mapped_bytes, grown_bytes;
  uint64_t live_requested, live_mapped, peak_requested, peak_mapped;
  wb_stream *s_obj, *s_stats;
} sstate;

static uint64_t planned_cut(const sstate *st, uint64_t site) {
  for (size_t i = 0; i < st->nplan; i++)
    if (st->plan[i].site == site) return st->plan[i].cut;
  return 0;
}

/* index of the first live slot with addr > a */
static size_t upper(const sstate *st, uint64_t a) {
  size_t lo = 0, hi = st->nlive;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (st->live[mid]->addr <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* the live slot whose reservation (span + guard) holds a */
static slot *slot_at(const sstate *st, uint64_t a) {
  size_t i = upper(st, a);
  if (i == 0) return NULL;
  slot *s = st->live[i - 1];
  return a < s->addr + s->span + PAGE ? s : NULL;
}

/* room for one more entry in a growable array of slot pointers */
static int room(slot ***arr, size_t n, size_t *cap) {
  if (n < *cap) return 0;
  size_t c = *cap ? *cap * 2 : 256;
  slot **g = realloc(*arr, c * sizeof *g);
  if (!g) return -1;
  *arr = g;
  *cap = c;
  return 0;
}

static void account(sstate *st, int64_t requested, int64_t mapped) {
  st->live_requested += (uint64_t)requested;
  st->live_mapped += (uint64_t)mapped;
  if (st->live_requested > st->peak_requested) st->peak_requested = st->live_requested;
  if (st->live_mapped > st->peak_mapped) st->peak_mapped = st->live_mapped;
}

/* Reserve a slot for size bytes with `cut` mapped; NULL if it would not save a page or there
 * is no room (the call then goes to the allocator unchanged). */
static slot *open_slot(sstate *st, wb_machine *m, uint64_t size, uint64_t site, uint64_t cut) {
  uint64_t span = page_up(size), keep = page_up(cut ? cut : 1);
  if (keep >= span) return NULL;
  if (st->nlive >= st->max_slots) { st->skipped++; return NULL; }
  if (room(&st->slots, st->nslots, &st->capslots) || room(&st->live, st->nlive, &st->caplive)) return NULL;
  uint64_t a = wb_guest_reserve(m, span + PAGE);
  if (!a) { st->skipped++; return NULL; }
  if (wb_guest_map(m, a, keep) != 0) { wb_guest_release(m, a, span + PAGE); st->skipped++; return NULL; }
  slot *s = calloc(1, sizeof *s);
  if (!s) { wb_guest_release(m, a, span + PAGE); return NULL; }
  *s = (slot){a, size, span, keep, 0, site, wb_machine_icount(m), 0, cut, 1};
  return s;
}

static void close_slot(sstate *st, wb_machine *m, slot *s) {
  size_t i = upper(st, s->addr);
  if (i && st->live[i - 1] == s) {
    memmove(&st->live[i - 1], &st->live[i], (st->nlive - i) * sizeof *st->live);
    st->nlive--;
  }
  account(st, -(int64_t)s->size, -(int64_t)s->mapped);
  wb_guest_release(m, s->addr, s->span + PAGE);
  s->live = 0;
}

/* ---- wrapped functions ---- */

/* The caught calls in progress on one guest thread (its client-local data): calls nest per
 * thread, and threads may be switched inside an allocator. */
typedef struct tcalls { int depth; call calls[MAX_DEPTH]; } tcalls;

static tcalls *calls_of(sstate *st, wb_hart *h) {
  static tcalls no_memory = {.depth = MAX_DEPTH}; /* nothing is caught then */
  tcalls *t = wb_hart_local(h, st->id, sizeof *t);
  return t ? t : &no_memory;
}

static call *push_call(sstate *st, wb_hart *h, uint64_t size, slot *sl, void **user) {
  tcalls *t = calls_of(st, h);
  call *c = &t->calls[t->depth++];
  *c = (call){size, sl};
  *user = c;
  return c;
}

static void enter(sstate *st, wb_hart *h, uint64_t size, uint64_t ra, uint64_t args[8], int is_calloc, void **user) {
  wb_machine *m = wb_hart_machine(h);
  *user = WB_WRAP_NO_POST;
  uint64_t cut = calls_of(st, h)->depth ? 0 : planned_cut(st, ra);
  slot *sl = cut ? open_slot(st, m, size, ra, cut) : NULL;
  if (!sl) return;
  push_call(st, h, size, sl, user);
  args[0] = 0;                         /* the allocator's smallest block stands for the slot */
  if (is_calloc) args[1] = 0;
}

static void pre_malloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  enter(data, h, args[0], ra, args, 0, user);
}

static void pre_calloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  uint64_t n = args[0], each = args[1];
  if (each && n > UINT64_MAX / each) { *user = WB_WRAP_NO_POST; return; } /* overflow: calloc fails */
  enter(data, h, n * each, ra, args, 1, user);
}

static void post_alloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  wb_machine *m = wb_hart_machine(h);
  sstate *st = data;
  slot *s = ((call *)user)->s;
  calls_of(st, h)->depth--;
  if (!*ret) {                         /* the allocator failed: so does the program's call */
    wb_guest_release(m, s->addr, s->span + PAGE);
    free(s);
    return;
  }
  s->holder = *ret;
  st->slots[st->nslots++] = s;
  size_t i = upper(st, s->addr);
  memmove(&st->live[i + 1], &st->live[i], (st->nlive - i) * sizeof *st->live);
  st->live[i] = s;
  st->nlive++;
  st->requested += s->size;
  st->mapped_bytes += s->mapped;
  account(st, (int64_t)s->size, (int64_t)s->mapped);
  *ret = s->addr;
}

static slot *slot_of(sstate *st, uint64_t p) {
  slot *s = p ? slot_at(st, p) : NULL;
  return s && s->addr == p ? s : NULL;
}

static void pre_free(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  wb_machine *m = wb_hart_machine(h);
  (void)ra; (void)user;
  sstate *st = data;
  slot *s = slot_of(st, args[0]);
  if (!s) return;
  args[0] = s->holder;
  close_slot(st, m, s);
}

static void pre_realloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  (void)ra;
  sstate *st = data;
  slot *s = calls_of(st, h)->depth < MAX_DEPTH ? slot_of(st, args[0]) : NULL;
  *user = WB_WRAP_NO_POST;
  if (!s) return;
  push_call(st, h, args[1], s, user);
  args[0] = s->holder;                 /* the allocator moves its small block; we copy the slot */
}

static void post_realloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  wb_machine *m = wb_hart_machine(h);
  sstate *st = data;
  call *c = user;
  calls_of(st, h)->depth--;
  slot *s = c->s;
  if (*ret || c->size == 0) {          /* moved (or freed by realloc(p, 0)) */
    uint64_t n = c->size < s->size ? c->size : s->size;
    if (*ret && n) wb_guest_copy(m, *ret, s->addr, n);
    close_slot(st, m, s);
  }
}

/* ---- the fix-up: an access (or a syscall's buffer) past the cut ---- */
static int on_unmapped(void *data, wb_hart *h, uint64_t addr, uint64_t len) {
  wb_machine *m = wb_hart_machine(h);
  (void)len;
  sstate *st = data;
  slot *s = slot_at(st, addr);
  if (!s || addr >= s->addr + s->span || s->mapped >= s->span) return 0; /* the guard: a real overrun */
  if (wb_guest_map(m, s->addr + s->mapped, s->span - s->mapped) != 0) return 0;
  st->fixups++;
  st->grown_bytes += s->span - s->mapped;
  account(st, 0, (int64_t)(s->span - s->mapped));
  s->mapped = s->span;
  s->grow_icount = wb_machine_icount(m);
  return 1;
}

static void on_run_end(void *data, wb_machine *m) {
  (void)m;
  sstate *st = data;
  wb_stream_reset(st->s_obj);
  wb_stream_reset(st->s_stats);
  for (size_t i = 0; i < st->nslots; i++) {
    slot *s = st->slots[i];
    obj_record *r = wb_stream_push(st->s_obj);
    *r = (obj_record){s->site, s->size, s->cut, page_up(s->cut ? s->cut : 1), s->alloc_icount,
                      s->grow_icount, s->grow_icount != 0, !s->live};
  }
  stats_record *r = wb_stream_push(st->s_stats);
  *r = (stats_record){st->nslots, st->fixups, st->skipped, st->requested, st->mapped_bytes,
                      st->grown_bytes, st->peak_requested, st->peak_mapped, st->nplan, 0};
}

static void destroy(void *data) {
  sstate *st = data;
  for (size_t i = 0; i < st->nslots; i++) free(st->slots[i]);
  free(st->slots);
  free(st->live);

  free(st->plan);
  free(st);
}

/* "sites=0x10b2c:128/0x10c00:4096" */
static int parse_options(sstate *st, const char *opts, char *err, size_t errlen) {
  if (!opts || !*opts) return 0;
  char *buf = strdup(opts), *save = NULL;
  if (!buf) { snprintf(err, errlen, "out of host memory"); return -1; }
  int rc = 0;
  for (char *tok = strtok_r(buf, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '='), *end;
    if (eq && eq - tok == 9 && !strncmp(tok, "max_slots", 9)) {
      st->max_slots = strtoull(eq + 1, &end, 0);
      if (end == eq + 1 || *end) { snprintf(err, errlen, "shrink: max_slots=%s is not a number", eq + 1); rc = -1; }
      continue;
    }
    if (!eq || eq - tok != 5 || strncmp(tok, "sites", 5)) {
      snprintf(err, errlen, "shrink: unknown option %s (sites=SITE:CUT/..., max_slots=N)", tok);
      rc = -1;
      break;
    }
    for (char *p = eq + 1; *p && !rc;) {
      char *end;
      unsigned long long site = strtoull(p, &end, 0), cut;
      if (end == p || *end != ':') { rc = -1; break; }
      p = end + 1;
      cut = strtoull(p, &end, 0);
      if (end == p || (*end && *end != '/')) { rc = -1; break; }
      p = *end ? end + 1 : end;
      void *g = realloc(st->plan, (st->nplan + 1) * sizeof *st->plan);
      if (!g) { rc = -1; break; }
      st->plan = g;
      st->plan[st->nplan].site = site;
      st->plan[st->nplan++].cut = cut;
    }
    if (rc) snprintf(err, errlen, "shrink: sites=%s is not SITE:CUT/SITE:CUT/... (numbers)", eq + 1);
  }
  free(buf);
  return rc;
}

int wb_client_shrink(wb_machine *m, const char *opts, char *err, size_t errlen) {
  sstate *st = calloc(1, sizeof *st);
  if (!st) { snprintf(err, errlen, "out of host memory"); return -1; }
  st->max_slots = 16384;
  if (parse_options(st, opts, err, errlen) != 0) { destroy(st); return -1; }
  st->s_obj = wb_stream_new(m, "shrink", sizeof(obj_record));
  st->s_stats = wb_stream_new(m, "shrink_stats", sizeof(stats_record));
  if (!st->s_obj || !st->s_stats) { destroy(st); snprintf(err, errlen, "shrink: no streams"); return -1; }
  if (wb_wrap(m, "malloc", pre_malloc, post_alloc, st) != 0) {
    destroy(st);
    snprintf(err, errlen, "shrink: the program has no malloc symbol (is it stripped?)");
    return -1;
  }
  wb_wrap(m, "calloc", pre_calloc, post_alloc, st);
  wb_wrap(m, "realloc", pre_realloc, post_realloc, st);
  wb_wrap(m, "free", pre_free, NULL, st);
  wb_client_ops ops = {.name = "shrink", .data = st, .on_unmapped = on_unmapped,
                       .on_run_end = on_run_end, .destroy = destroy};
  st->id = wb_client_add(m, &ops);
  return st->id < 0 ? -1 : 0;
}
