/* barrier.c — the object-access profilers of docs/barrier_profiler.md: the "barrier" client, a
 * sampling profiler built on barrier pointers, and the "bursty" client, its
 * instrumentation-based baseline (bursty tracing), recording the same per-object profile.
 *
 * malloc, calloc, realloc and free are wrapped. One object per `sample_bytes` bytes allocated
 * (0: every object, the ground truth) is sampled: the program gets a *barrier pointer* to it,
 * the same offset in a window view of guest memory (guest address + 4 GiB) whose pages are
 * all inaccessible. Accesses through ordinary pointers cost nothing; each access through a
 * barrier pointer faults, is recorded against its object and is completed on the real memory
 * by the engine, and the program goes on. free and realloc get their real pointer back;
 * syscalls accept barrier pointers (the memory layer folds them).
 *
 * Per sampled object: allocation site (the caller's return address), size, the bytes touched
 * (ranges), highest offset read and written, whether it was written after its
 * initialization phase (after its first read), access counts, first and last access icount.
 * Profiling of an object can stop ("when it is hot and clearly not optimizable"): with
 * `max_accesses` K > 0 (default 250) it stops after K accesses, or (`settle`, on by default) as soon as no
 * conclusion about it can change any more: it has been read, written after its first read,
 * and at least `untouched_pct` (10) % of its bytes touched. When no profiled object is left on
 * a page, the page is opened in the window view, so the program's barrier pointers to it run
 * at full speed from then on; a realloc of a stopped object stays unprofiled. K = 0: never
 * stop (the ground truth). `per_site` (1) samples at most one object per allocation site
 * while that object lives ("one tracked object per site is enough").
 *
 * Streams (written at the end of a run): "barrier" (one record per sampled object),
 * "barrier_touched" (touched byte ranges: object id, start, end), "barrier_stats" (one record);
 * and with "log_allocs=1", as it happens, "barrier_allocs": every allocation call of the
 * program (icount, real address, size, site, old address for realloc, kind, sampled), for
 * trace-driven models. The sampling decision is taken when a call is entered, so a malloc
 * whose object is not sampled costs one hook at its entry and nothing at its return.
 * With "contents=1", "barrier_contents" carries the bytes (up to CONTENT_MAX per object, 48
 * per record) of every profiled object the program wrote but never read, taken when it is
 * freed, reallocated or the run ends: what storing write-only arrays compressed would save.
 * Options: "sample_bytes=N,max_accesses=K,per_site=0|1,settle=0|1,untouched_pct=P,
 * contents=0|1,log_allocs=0|1".
 *
 * "bursty": every object is tracked (no barrier pointers, nothing faults); every block gets a
 * checking and an instrumented copy (wb_bb_burst): `length` block entries out of every
 * `period` run the instrumented copy, whose loads and stores are recorded against the object
 * they touch. Streams "bursty", "bursty_touched", "bursty_stats" ("faults" counts the
 * accesses the instrumented copies saw), "bursty_allocs". Options: "period=P,length=L,
 * max_accesses=K" (default 10000, 100, 250).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct bobj {
  uint64_t id, addr, size, site;
  uint64_t alloc_icount, free_icount;
  uint64_t first, last, accesses, reads, writes;
  int64_t max_read, max_write;
  uint32_t flags;            /* 1 written after init, 2 freed, 4 realloced, 8 recording stopped */
  uint16_t thread;           /* the guest thread that allocated it */
  int seen_read;
  uint64_t ntouched;         /* bits set in touched */
  uint8_t *touched;          /* bitmap, one bit per byte */
} bobj;

enum { F_WRITTEN_AFTER_INIT = 1, F_FREED = 2, F_REALLOCED = 4, F_STOPPED = 8 };

typedef struct { uint64_t id, site, addr, size, alloc_icount, free_icount, first_icount, last_icount,
                 accesses, reads, writes, bytes_touched; int64_t max_read, max_write;
                 uint32_t flags; uint16_t thread, pad; } obj_record; /* 120 bytes */
typedef struct { uint64_t id, start, end; } range_record;
typedef struct { uint64_t samples, faults, stray, allocations, bytes_allocated, sample_bytes; } stats_record;
/* the allocation log (every outermost call, sampled or not): what a trace-driven model needs
 * to replay the sampling decisions */
typedef struct { uint64_t icount, entry_icount, addr, size, site, old; uint8_t kind, sampled;
                 uint16_t thread; uint8_t pad[4]; } alloc_record;  /* thread: the calling one */
enum { A_MALLOC, A_CALLOC, A_REALLOC, A_FREE };
/* a piece of a write-only object's contents */
#define CONTENT_MAX (64u << 10)
typedef struct { uint64_t id; uint32_t offset, len; uint8_t data[48]; } content_record;

/* One wrapped call in progress. Allocation calls nest (an allocator implemented with another:
 * calloc with malloc): only the outermost one is the program's, and only it is profiled. */
typedef struct { uint64_t size, site, old, entry; int was_barrier, nested, kind, sample; } call;
#define MAX_DEPTH 64             /* calls deeper than this are nested ones: nothing to keep */

/* The wrapped allocation calls in progress on one guest thread, by depth (calloc calling
 * malloc nests), kept as the thread's client-local data: calls nest per thread, and threads
 * may be switched inside an allocator. No host allocation per call. */
typedef struct tcalls { int depth; call calls[MAX_DEPTH]; } tcalls;

/* live sampled objects, found from an address: page -> objects overlapping it */
#define PHASH (1u << 16)
typedef struct pent { uint64_t page; bobj *o; struct pent *next; } pent;

typedef struct {
  uint64_t sample_bytes, max_accesses;
  uint64_t since;            /* bytes allocated since the last sample */
  uint64_t window;           /* offset of the window view */
  int view;
  bobj **objs;               /* every sampled object, in sampling order */
  size_t nobjs, capobjs;
  pent *pages[PHASH];
  uint64_t faults, stray, allocations, bytes_allocated;
  int id;                    /* this client's id: its thread-local data (wb_hart_local) */
  int per_site;              /* sample at most one live object per allocation site */
  uint16_t *npro;            /* per guest page: live sampled objects still profiled on it */
  struct { uint64_t site; bobj *o; } *sites; /* per_site: the tracked object of each site */
  size_t sites_cap;
  int bursty;                /* the bursty-tracing baseline: every object, no barrier pointers */
  wb_burst burst;
  uint64_t period, length;
  int contents;               /* record write-only objects' bytes (s_contents) */
  int log_allocs;             /* log every allocation call (s_allocs) */
  int settle;                 /* stop profiling settled objects too (with max_accesses > 0) */
  uint64_t untouched_pct;     /* "mostly untouched": under this % of bytes touched */
  wb_stream *s_obj, *s_touched, *s_stats, *s_allocs, *s_contents;
} bstate;

/* The bytes of a profiled object the program wrote but never read, while they are still its. */
static void keep_contents(bstate *st, wb_machine *m, const bobj *o) {
  if (!st->contents || o->reads || !o->writes) return;
  uint64_t n = o->size < CONTENT_MAX ? o->size : CONTENT_MAX;
  for (uint64_t off = 0; off < n; off += 48) {
    content_record *r = wb_stream_push(st->s_contents);
    r->id = o->id;
    r->offset = (uint32_t)off;
    r->len = (uint32_t)(n - off < 48 ? n - off : 48);
    if (wb_guest_read(m, o->addr + off, r->data, r->len) != 0) r->len = 0;
  }
}

/* icount: when the call returned (free: when it was entered); entry: when it was entered */
static void log_alloc(bstate *st, wb_hart *h, int kind, uint64_t entry, uint64_t addr,
                      uint64_t size, uint64_t site, uint64_t old, int sampled) {
  alloc_record *r = wb_stream_push(st->s_allocs);
  *r = (alloc_record){wb_hart_icount(h), entry, addr, size, site, old, (uint8_t)kind,
                      (uint8_t)sampled, (uint16_t)wb_hart_id(h), {0}};
}

static unsigned phash(uint64_t page) { return (unsigned)(page * 0x9e3779b97f4a7c15ull >> 48) & (PHASH - 1); }

static void index_obj(bstate *st, bobj *o, int add) {
  if (o->size == 0) return;
  for (uint64_t p = o->addr >> 12; p <= (o->addr + o->size - 1) >> 12; p++) {
    pent **pp = &st->pages[phash(p)];
    if (add) {
      pent *e = malloc(sizeof *e);
      if (!e) return;
      *e = (pent){p, o, *pp};
      *pp = e;
    } else {
      for (; *pp; pp = &(*pp)->next)
        if ((*pp)->page == p && (*pp)->o == o) { pent *d = *pp; *pp = d->next; free(d); break; }
    }
  }
}

static bobj *find(bstate *st, uint64_t a) {
  for (pent *e = st->pages[phash(a >> 12)]; e; e = e->next)
    if (e->page == a >> 12 && a >= e->o->addr && a < e->o->addr + e->o->size) return e->o;
  return NULL;
}

static int is_barrier(const bstate *st, uint64_t p) { return p >= st->window && p < 2 * st->window; }

/* Window pages fault only while a live sampled object on them is still profiled: when the
 * last one stops (max_accesses) or is freed, accesses through barrier pointers there run at
 * full speed, straight through the window view. */
static void profiling(bstate *st, wb_machine *m, bobj *o, int on) {
  if (o->size == 0 || !st->npro) return;
  uint64_t p0 = o->addr >> 12, p1 = (o->addr + o->size - 1) >> 12, run = 0;
  /* pages whose state flips, in runs: one protection change per run, not per page */
  for (uint64_t p = p0; p <= p1 + 1; p++) {
    int flips = 0;
    if (p <= p1) {
      if (on) flips = st->npro[p]++ == 0;
      else if (st->npro[p]) flips = --st->npro[p] == 0;
    }
    if (flips) { run++; continue; }
    if (run)
      wb_view_deny(m, st->view, (p - run) << 12, run << 12,
                   on ? WB_VIEW_DENY_READ | WB_VIEW_DENY_WRITE : 0);
    run = 0;
  }
}

/* per_site: the site's tracked object, if it is still live and profiled */
static bobj **site_slot(bstate *st, uint64_t site) {
  if (!st->sites_cap) {
    st->sites_cap = 4096;
    st->sites = calloc(st->sites_cap, sizeof *st->sites);
    if (!st->sites) { st->sites_cap = 0; return NULL; }
  }
  size_t mask = st->sites_cap - 1, h = (size_t)(site * 0x9e3779b97f4a7c15ull >> 20) & mask;
  for (size_t k = 0; k < st->sites_cap; k++, h = (h + 1) & mask) {
    if (st->sites[h].site == site) return &st->sites[h].o;
    if (!st->sites[h].site) { st->sites[h].site = site; return &st->sites[h].o; }
  }
  return NULL; /* full: no per-site limit for new sites */
}

static bobj *sample(bstate *st, wb_hart *h, uint64_t addr, uint64_t size, uint64_t site) {
  wb_machine *m = wb_hart_machine(h);
  bobj *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  o->touched = calloc((size + 7) / 8 + 1, 1);
  if (!o->touched) { free(o); return NULL; }
  if (st->nobjs == st->capobjs) {
    size_t cap = st->capobjs ? st->capobjs * 2 : 256;
    bobj **n = realloc(st->objs, cap * sizeof *n);
    if (!n) { free(o->touched); free(o); return NULL; }
    st->objs = n;
    st->capobjs = cap;
  }
  o->id = st->nobjs;
  o->addr = addr;
  o->size = size;
  o->site = site;
  o->alloc_icount = wb_hart_icount(h);
  o->thread = (uint16_t)wb_hart_id(h);
  o->max_read = o->max_write = -1;
  st->objs[st->nobjs++] = o;
  index_obj(st, o, 1);
  profiling(st, m, o, 1);
  if (st->per_site) {
    bobj **slot = site_slot(st, site);
    if (slot) *slot = o;
  }
  return o;
}

/* The sampling decision for an allocation of size bytes from site, taken when the call is
 * entered (the credit counts what the program asks for): 1 if it gets a barrier pointer. */
static int will_sample(bstate *st, uint64_t size, uint64_t site) {
  st->allocations++;
  st->bytes_allocated += size;
  if (st->bursty) return 1;            /* instrumentation sees every object; nothing faults */
  st->since += size ? size : 1;
  if (st->sample_bytes && st->since < st->sample_bytes) return 0;
  if (st->per_site) {
    bobj **slot = site_slot(st, site);
    /* the site already has a profiled object: keep the credit for the next site's object */
    /* (live: its profiling may have stopped, but it is the site's tracked object) */
    if (slot && *slot && !((*slot)->flags & (F_FREED | F_REALLOCED))) return 0;
  }
  if (st->sample_bytes) st->since %= st->sample_bytes;
  return 1;
}

/* An object of size bytes at addr (real) the sampling decision picked: the pointer the
 * program gets (the barrier pointer, or addr for the bursty baseline or on failure). */
static uint64_t sampled_ptr(bstate *st, wb_hart *h, uint64_t addr, uint64_t size, uint64_t site) {
  if (!addr || !sample(st, h, addr, size, site)) return addr;
  return st->bursty ? addr : addr + st->window;
}

/* An allocation of size bytes at addr (real) returned to site (realloc's new object). */
static uint64_t allocated(bstate *st, wb_hart *h, uint64_t addr, uint64_t size, uint64_t site) {
  if (!addr) return 0;
  return will_sample(st, size, site) ? sampled_ptr(st, h, addr, size, site) : addr;
}

/* The program gave object `real` up (free, or realloc entered at icount `when`). */
static void released_at(bstate *st, wb_machine *m, uint64_t real, uint32_t why, uint64_t when) {
  bobj *o = find(st, real);
  if (!o || o->addr != real) return;
  if (why == F_FREED) keep_contents(st, m, o);   /* realloc: taken at its entry */
  if (!(o->flags & F_STOPPED)) profiling(st, m, o, 0);
  o->flags |= why;
  o->free_icount = when;
  index_obj(st, o, 0);
}

static void released(bstate *st, wb_machine *m, uint64_t real, uint32_t why) {
  released_at(st, m, real, why, wb_machine_icount(m));
}

/* ---- wrapped functions ---- */

static tcalls *calls_of(bstate *st, wb_hart *h) {
  static tcalls no_memory = {.depth = MAX_DEPTH}; /* every call then counts as nested */
  tcalls *t = wb_hart_local(h, st->id, sizeof *t);
  return t ? t : &no_memory;
}

static call *enter(bstate *st, wb_hart *h, uint64_t size, uint64_t site, void **user) {
  tcalls *t = calls_of(st, h);
  call *c = t->depth < MAX_DEPTH ? &t->calls[t->depth] : NULL;
  if (c) *c = (call){size, site, 0, wb_hart_icount(h), 0, t->depth > 0, A_MALLOC, 0};
  t->depth++;
  *user = c;
  return c;
}
/* malloc is the call to make cheap: it calls no other wrapped function, so unless its object
 * is sampled (or calls are logged) its return is not caught at all (WB_WRAP_NO_POST) */
static void pre_malloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  bstate *st = data;
  if (calls_of(st, h)->depth) { *user = WB_WRAP_NO_POST; return; } /* inside calloc or realloc */
  int s = will_sample(st, args[0], ra);
  if (!s && !st->log_allocs) { *user = WB_WRAP_NO_POST; return; }
  call *c = enter(st, h, args[0], ra, user);
  if (c) c->sample = s;
}
static void pre_calloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  bstate *st = data;
  int outer = !calls_of(st, h)->depth;
  call *c = enter(st, h, args[0] * args[1], ra, user);
  if (c) c->kind = A_CALLOC;
  if (c && outer) c->sample = will_sample(st, c->size, ra);
}
static void post_alloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  bstate *st = data;
  call *c = user;
  calls_of(st, h)->depth--;
  if (!c) return;
  if (!c->nested) {
    uint64_t real = *ret;
    if (c->sample) *ret = sampled_ptr(st, h, real, c->size, c->site);
    if (real && st->log_allocs) log_alloc(st, h, c->kind, c->entry, real, c->size, c->site, 0, *ret != real);
  }
}
static void pre_free(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  wb_machine *m = wb_hart_machine(h);
  bstate *st = data;
  if (st->bursty && args[0]) released(st, m, args[0], F_FREED);
  if (is_barrier(st, args[0])) {
    args[0] -= st->window;
    released(st, m, args[0], F_FREED);
  }
  if (args[0] && !calls_of(st, h)->depth && st->log_allocs) log_alloc(st, h, A_FREE, wb_machine_icount(m), args[0], 0, ra, 0, 0);
}
static void pre_realloc(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  wb_machine *m = wb_hart_machine(h);
  bstate *st = data;
  call *c = enter(st, h, args[1], ra, user);
  if (!c) return;
  c->old = args[0];
  uint64_t old_real = is_barrier(st, args[0]) ? args[0] - st->window : args[0];
  bobj *old = !c->nested && args[0] ? find(st, old_real) : NULL;
  if (old && old->addr == old_real) keep_contents(st, m, old); /* its bytes, before realloc moves them */
  /* bursty: realloc's own copying is not the program's access to the old object */
  if (st->bursty && args[0] && !c->nested) released(st, m, args[0], F_REALLOCED);
  if (is_barrier(st, args[0])) {
    c->was_barrier = 1;
    args[0] -= st->window;
    c->old = args[0];
  }
  *user = c;
}
static void post_realloc(void *data, wb_hart *h, uint64_t *ret, void *user) {
  wb_machine *m = wb_hart_machine(h);
  bstate *st = data;
  call *c = user;
  calls_of(st, h)->depth--;
  if (!c) return;
  if (c->nested) return;
  uint64_t real = *ret;
  if (*ret && st->bursty) {
    allocated(st, h, *ret, c->size, c->site);     /* the old one ended at realloc's entry */
  } else if (*ret && c->was_barrier) {
    /* the object moved (or grew in place): keep profiling it as a new sampled object, unless
     * its profiling had stopped (it stays stopped: the program gets a plain pointer) */
    bobj *o = find(st, c->old);
    int stopped = o && o->addr == c->old && (o->flags & F_STOPPED);
    released_at(st, m, c->old, F_REALLOCED, c->entry);
    st->allocations++;
    st->bytes_allocated += c->size;
    if (!stopped && sample(st, h, *ret, c->size, c->site)) *ret += st->window;
  } else if (*ret && *ret != c->old) {
    *ret = allocated(st, h, *ret, c->size, c->site);
  }
  if (real && st->log_allocs) log_alloc(st, h, A_REALLOC, c->entry, real, c->size, c->site, c->old, *ret != real);
}

/* ---- recording an access of a profiled object ---- */
static void record_access(bstate *st, wb_machine *m, bobj *o, uint64_t real, unsigned size, int kind) {
  uint64_t icount = wb_machine_icount(m), off = real - o->addr;
  if (!o->accesses) o->first = icount;
  o->last = icount;
  o->accesses++;
  uint64_t end = off + size > o->size ? o->size : off + size;
  for (uint64_t b = off; b < end; b++) {
    uint8_t bit = (uint8_t)(1u << (b & 7));
    if (!(o->touched[b >> 3] & bit)) { o->touched[b >> 3] |= bit; o->ntouched++; }
  }
  int rd = kind == WB_MEM_LOAD || kind == WB_MEM_ATOMIC, wr = kind == WB_MEM_STORE || kind == WB_MEM_ATOMIC;
  /* the initialization phase ends at the object's first read */
  if (wr && o->seen_read) o->flags |= F_WRITTEN_AFTER_INIT;
  if (rd) {
    o->reads++;
    if ((int64_t)(end - 1) > o->max_read) o->max_read = (int64_t)(end - 1);
    o->seen_read = 1;
  }
  if (wr) {
    o->writes++;
    if ((int64_t)(end - 1) > o->max_write) o->max_write = (int64_t)(end - 1);
  }
  /* enough (K accesses), or settled: no conclusion can change any more (it was read, written
   * after its first read, and enough of it touched not to be "mostly untouched") */
  int settled = st->settle && o->reads && (o->flags & F_WRITTEN_AFTER_INIT) &&
                o->ntouched * 100 >= o->size * st->untouched_pct;
  if (st->max_accesses && (o->accesses >= st->max_accesses || settled)) {
    o->flags |= F_STOPPED;         /* its accesses stop faulting */
    profiling(st, m, o, 0);
  }
}

/* ---- accesses through barrier pointers ---- */
static int on_view_fault(void *data, wb_hart *h, int view, uint64_t pc, uint64_t addr,
                         unsigned size, int kind) {
  wb_machine *m = wb_hart_machine(h);
  bstate *st = data;
  if (view != st->view) return 0;
  st->faults++;
  uint64_t real = addr - st->window;
  bobj *o = find(st, real);
  if (!o) { st->stray++; return 0; } /* freed, or outside every sampled object: still completed */
  if (o->flags & F_STOPPED) return 0;  /* on a page another profiled object keeps faulting */
  record_access(st, m, o, real, size, kind);
  return 0;
}

/* ---- bursty tracing: accesses recorded by instrumentation, during bursts ---- */
static void on_burst_access(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size,
                            int kind, uint64_t value) {
  wb_machine *m = wb_hart_machine(h);
  bstate *st = data;
  st->faults++;                        /* here: accesses seen by the instrumented copies */
  bobj *o = find(st, addr);
  if (!o) { st->stray++; return; }     /* not a heap object (stack, globals) */
  if (o->flags & F_STOPPED) return;
  record_access(st, m, o, addr, size, kind);
}

static void on_block_bursty(void *data, wb_bb *bb) {
  bstate *st = data;
  wb_bb_burst(bb, &st->burst);
  for (unsigned i = 0; i < wb_bb_size(bb); i++)
    if (wb_bb_insn_mem(bb, i, NULL, NULL)) wb_bb_call_mem_burst(bb, i, on_burst_access, st, &st->burst);
}

static void on_run_end(void *data, wb_machine *m) {
  bstate *st = data;
  wb_stream_reset(st->s_obj);
  wb_stream_reset(st->s_touched);
  wb_stream_reset(st->s_stats);
  for (size_t i = 0; i < st->nobjs; i++) {
    bobj *o = st->objs[i];
    if (!(o->flags & (F_FREED | F_REALLOCED))) keep_contents(st, m, o);   /* still live */
    uint64_t touched = 0, run = 0;
    for (uint64_t b = 0; b <= o->size;) {
      /* whole bitmap bytes at a time where nothing changes (big, mostly untouched objects) */
      if ((b & 7) == 0 && b + 8 <= o->size) {
        uint8_t byte = o->touched[b >> 3];
        if (byte == 0 && !run) { b += 8; continue; }
        if (byte == 0xff && run) { touched += 8; run += 8; b += 8; continue; }
      }
      int t = b < o->size && (o->touched[b >> 3] >> (b & 7)) & 1;
      b++;
      if (t) { touched++; run++; continue; }
      if (run) {
        range_record *r = wb_stream_push(st->s_touched);
        *r = (range_record){o->id, b - 1 - run, b - 1};
      }
      run = 0;
    }
    obj_record *r = wb_stream_push(st->s_obj);
    *r = (obj_record){o->id, o->site, o->addr, o->size, o->alloc_icount, o->free_icount, o->first,
                      o->last, o->accesses, o->reads, o->writes, touched, o->max_read, o->max_write,
                      o->flags, o->thread, 0};
  }
  stats_record *s = wb_stream_push(st->s_stats);
  *s = (stats_record){st->nobjs, st->faults, st->stray, st->allocations, st->bytes_allocated, st->sample_bytes};
}

static void destroy(void *data) {
  bstate *st = data;
  for (size_t i = 0; i < st->nobjs; i++) { free(st->objs[i]->touched); free(st->objs[i]); }
  free(st->objs);
  free(st->npro);
  free(st->sites);
  for (unsigned h = 0; h < PHASH; h++)
    for (pent *e = st->pages[h], *n; e; e = n) { n = e->next; free(e); }
  free(st);
}

/* One option of barrier (or bursty): key=value, every value a number. */
static int option(void *data, const char *key, const char *value, char *err, size_t errlen) {
  bstate *st = data;
  uint64_t v;
  if (wb_option_number(st->bursty ? "bursty" : "barrier", key, value, 0, UINT64_MAX, &v, err, errlen) != 0) return -1;
  if (!st->bursty && !strcmp(key, "sample_bytes")) st->sample_bytes = v;
  else if (!strcmp(key, "max_accesses")) st->max_accesses = v;
  else if (!strcmp(key, "contents")) st->contents = v != 0;
  else if (!strcmp(key, "log_allocs")) st->log_allocs = v != 0;
  else if (!strcmp(key, "settle")) st->settle = v != 0;
  else if (!strcmp(key, "untouched_pct")) {
    if (wb_option_number("barrier", key, value, 0, 100, &v, err, errlen) != 0) return -1;
    st->untouched_pct = v;
  }
  else if (!st->bursty && !strcmp(key, "per_site")) st->per_site = v != 0;
  else if (st->bursty && !strcmp(key, "period")) st->period = v;
  else if (st->bursty && !strcmp(key, "length")) st->length = v;
  else {
    snprintf(err, errlen, st->bursty ? "bursty: unknown option %s (period, length, max_accesses, settle, untouched_pct, contents, log_allocs)"
                                     : "barrier: unknown option %s (sample_bytes, max_accesses, per_site, settle, untouched_pct, contents, log_allocs)", key);
    return -1;
  }
  return 0;
}

static int parse_options(bstate *st, const char *opts, char *err, size_t errlen) {
  /* defaults: the paper's production setting — one object per 8 MiB, one live tracked
   * object per site, profiling of an object stops after 250 accesses or once settled (250:
   * of K = 50, 100, 250 and 1000, the smallest whose site conclusions equal K = 1000's on every
   * workload and interval of the barrier study at paper scale) */
  st->sample_bytes = 8u << 20;
  st->max_accesses = 250;
  st->per_site = 1;
  st->settle = 1;
  st->untouched_pct = 10;
  return wb_client_options(st->bursty ? "bursty" : "barrier", opts, option, st, err, errlen);
}

static int add_profiler(wb_machine *m, int bursty, const char *opts, char *err, size_t errlen) {
  bstate *st = calloc(1, sizeof *st);
  if (!st) { snprintf(err, errlen, "out of host memory"); return -1; }
  st->bursty = bursty;
  st->period = 10000;
  st->length = 100;
  if (parse_options(st, opts, err, errlen) != 0) { free(st); return -1; }
  const char *nm = bursty ? "bursty" : "barrier";
  char name[64];
  if (bursty) {
    st->sample_bytes = 0;              /* every object; the bursts sample in time */
    st->per_site = 0;
    wb_burst_init(&st->burst, st->period, st->length);
  } else {
    st->view = wb_view_add(m, 1);
    if (st->view <= 0) { free(st); snprintf(err, errlen, "barrier: cannot add the window view"); return -1; }
    st->window = wb_view_window_offset(m);
    /* window pages are denied while a profiled object lies on them (profiling()) */
    st->npro = calloc(st->window >> 12, sizeof *st->npro);
    if (!st->npro) { free(st); snprintf(err, errlen, "out of host memory"); return -1; }
  }
  st->s_obj = wb_stream_new(m, nm, sizeof(obj_record));
  snprintf(name, sizeof name, "%s_touched", nm);
  st->s_touched = wb_stream_new(m, name, sizeof(range_record));
  snprintf(name, sizeof name, "%s_stats", nm);
  st->s_stats = wb_stream_new(m, name, sizeof(stats_record));
  snprintf(name, sizeof name, "%s_allocs", nm);
  st->s_allocs = wb_stream_new(m, name, sizeof(alloc_record));
  snprintf(name, sizeof name, "%s_contents", nm);
  st->s_contents = wb_stream_new(m, name, sizeof(content_record));
  if (!st->s_obj || !st->s_touched || !st->s_stats || !st->s_allocs || !st->s_contents) { free(st); snprintf(err, errlen, "barrier: no streams"); return -1; }
  int ok = wb_wrap(m, "malloc", pre_malloc, post_alloc, st) == 0;
  wb_wrap(m, "calloc", pre_calloc, post_alloc, st);
  wb_wrap(m, "realloc", pre_realloc, post_realloc, st);
  wb_wrap(m, "free", pre_free, NULL, st);
  /* free only matters for barrier pointers (unless every call is logged): the others pass
   * an inline range check and never reach the hook */
  if (!bursty && !st->log_allocs) wb_wrap_when(m, "free", 0, st->window, 2 * st->window);
  if (!ok) { snprintf(err, errlen, "%s: the program has no malloc symbol (is it stripped?)", nm); destroy(st); return -1; }
  wb_client_ops ops = {.name = nm, .data = st, .on_run_end = on_run_end, .destroy = destroy};
  if (bursty) ops.on_block = on_block_bursty;
  else ops.on_view_fault = on_view_fault;
  st->id = wb_client_add(m, &ops);
  return st->id < 0 ? -1 : 0;
}

int wb_client_barrier(wb_machine *m, const char *opts, char *err, size_t errlen) {
  return add_profiler(m, 0, opts, err, errlen);
}

int wb_client_bursty(wb_machine *m, const char *opts, char *err, size_t errlen) {
  return add_profiler(m, 1, opts, err, errlen);
}
