/* fasttrack.c — the FastTrack detector's state and rules (fasttrack.h is the contract): thread,
 * synchronisation and read-shared vector clocks, the per-byte shadow, the pc table.
 *
 * Shadow: one 24-byte cell per guest byte in a flat array reserved over the whole guest space
 * (MAP_NORESERVE: only touched pages cost memory; a page never written reads as zeros, which
 * is the "never accessed" cell). A cell holds the write epoch, the read epoch or a read-shared
 * VC id, and the pcs of both as 32-bit ids into a pc table (full 64-bit pcs would make the cell
 * 32 bytes; the table costs one cached look-up on the slow path only).
 *
 * An access is handled per run of consecutive identical cells: in the common case (an access
 * whose bytes were last touched together) the run is the whole access, so the rules run once
 * and the result is copied into every cell. Before that, the same-epoch fast path compares
 * one field per byte and leaves the shadow alone.
 *
 * Read-shared VCs are shared by the cells of a run and reference counted by cell: a read that
 * changes a VC referenced from cells outside its run copies it first (copy on write), a write
 * drops the run's references, and the last reference frees it. Counts only ever over-count (a
 * dropped page in ft_forget keeps its references), so a VC in use is never freed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* MAP_NORESERVE, madvise, mincore */
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fasttrack.h"

/* ---- epochs and cells ---- */

/* An epoch: tid in bits 53..62, clock in bits 0..52. Bit 63 set in a read field instead marks
 * a read-shared VC id. 0 is the empty epoch: clocks start at 1, so no access has it, and it is
 * before every VC (0 <= C[0]), so empty cells pass every check without a special case. */
#define EP_SHIFT 53
#define EP_CLOCK ((1ull << EP_SHIFT) - 1)
#define R_SHARED (1ull << 63)
#define R_ID 0xffffffffull

static inline uint64_t ep_make(int tid, uint64_t clock) { return (uint64_t)tid << EP_SHIFT | clock; }
static inline int ep_tid(uint64_t e) { return (int)(e >> EP_SHIFT); }
static inline uint64_t ep_clock(uint64_t e) { return e & EP_CLOCK; }
/* e happens before (or is) what the clock vc has seen */
static inline int ep_le(uint64_t e, const uint64_t *vc) { return ep_clock(e) <= vc[ep_tid(e)]; }

typedef struct cell {
  uint64_t w;          /* last write's epoch (0: none) */
  uint64_t r;          /* last read's epoch, or R_SHARED | VC id, or 0: no read since the last write */
  uint32_t wpc, rpc;   /* pc ids of the last write and read (rpc unused while read-shared: the
                          VC keeps a pc per reader) */
} cell;

static inline int cell_eq(const cell *a, const cell *b) {
  return a->w == b->w && a->r == b->r && a->wpc == b->wpc && a->rpc == b->rpc;
}

/* ---- vector clocks ---- */

/* A read-shared VC: clk[cap] then pc[cap] (pc ids of each reader's last read) in one block. */
typedef struct rvc {
  uint32_t refs;       /* cells that hold this VC's id */
  uint32_t cap;        /* entries (tids 0..cap-1; later tids read as clock 0) */
  uint64_t clk[];
} rvc;
static inline uint32_t *rvc_pcs(rvc *v) { return (uint32_t *)(v->clk + v->cap); }

/* A synchronisation object's VC: grows to the threads seen when released. */
typedef struct svc { uint32_t n; uint64_t c[]; } svc;
typedef struct sslot { uint64_t key; svc *l; } sslot;   /* l NULL: empty slot */

typedef struct thr {
  uint64_t *vc;        /* max_threads entries, NULL until the tid is first used */
  uint64_t epoch;      /* ep_make(tid, vc[tid]), kept in step */
} thr;

typedef struct pcslot { uint64_t pc; uint32_t id; } pcslot;   /* id 0: empty */
#define PCACHE 1024    /* direct-mapped cache in front of the pc table: accesses repeat pcs */

struct ft_state {
  cell *shadow;
  uint64_t space;
  size_t shadow_len;
  int max_threads;
  int hi;              /* highest tid used + 1: vector-clock loops stop here */
  ft_race_fn on_race;
  void *ctx;
  thr *thr;

  sslot *sync;         /* open addressing, linear probing, power-of-two size */
  uint64_t sync_mask, sync_used;

  rvc **rv;            /* read-shared VCs by id (id 0 unused; NULL: free id) */
  uint32_t nrv, caprv;
  uint32_t *free_ids;
  uint32_t nfree;

  pcslot *pct;         /* pc -> id */
  uint64_t pct_mask;
  uint64_t *pcs;       /* id -> pc */
  uint32_t npcs, cappcs;
  pcslot pcache[PCACHE];

  ft_stats st;
  uint64_t vc_heap;    /* bytes of VCs and tables on the heap (for shadow_bytes) */
};

static inline uint64_t mix(uint64_t x) {   /* a 64-bit finaliser: keys are aligned addresses */
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

static thr *thread(ft_state *s, int tid) {
  if (tid < 0 || tid >= s->max_threads) return NULL;
  thr *t = &s->thr[tid];
  if (!t->vc) {
    t->vc = calloc((size_t)s->max_threads, sizeof(uint64_t));
    if (!t->vc) return NULL;
    s->vc_heap += (uint64_t)s->max_threads * sizeof(uint64_t);
    t->vc[tid] = 1;
    t->epoch = ep_make(tid, 1);
    if (tid >= s->hi) s->hi = tid + 1;
  }
  return t;
}

static void tick(thr *t, int tid) { t->epoch = ep_make(tid, ++t->vc[tid]); }

static void vc_join(uint64_t *dst, const uint64_t *src, int n) {
  for (int i = 0; i < n; i++)
    if (src[i] > dst[i]) dst[i] = src[i];
}

/* ---- read-shared VC pool ---- */

static uint32_t cap_for(const ft_state *s, int need) {   /* a little room for more readers */
  uint32_t c = ((uint32_t)need + 3u) & ~3u;
  return c > (uint32_t)s->max_threads ? (uint32_t)s->max_threads : c;
}

static rvc *rvc_alloc(ft_state *s, uint32_t cap) {
  rvc *v = calloc(1, sizeof(rvc) + (size_t)cap * (sizeof(uint64_t) + sizeof(uint32_t)));
  if (v) { v->cap = cap; s->vc_heap += (uint64_t)cap * 12 + sizeof(rvc); }
  return v;
}

/* A fresh id for v (0: out of memory, v not stored). */
static uint32_t rvc_store(ft_state *s, rvc *v) {
  uint32_t id;
  if (s->nfree) {
    id = s->free_ids[--s->nfree];
  } else {
    if (s->nrv == s->caprv) {
      if (s->caprv >= 0x80000000u) return 0;   /* ids are 32 bits */
      uint32_t nc = s->caprv ? s->caprv * 2 : 1024;
      rvc **n = realloc(s->rv, (size_t)nc * sizeof *n);
      if (!n) return 0;
      uint32_t *f = realloc(s->free_ids, (size_t)nc * sizeof *f);
      if (!f) { s->rv = n; return 0; }
      s->vc_heap += (uint64_t)(nc - s->caprv) * (sizeof *n + sizeof *f);
      s->rv = n; s->free_ids = f; s->caprv = nc;
      if (s->nrv == 0) s->rv[s->nrv++] = NULL;   /* id 0 stays unused */
    }
    id = s->nrv++;
  }
  s->rv[id] = v;
  s->st.read_vcs++;
  return id;
}

static void rvc_unref(ft_state *s, uint32_t id, uint32_t n) {
  rvc *v = s->rv[id];
  if (!v) return;
  v->refs = v->refs > n ? v->refs - n : 0;
  if (v->refs) return;
  s->vc_heap -= (uint64_t)v->cap * 12 + sizeof(rvc);
  free(v);
  s->rv[id] = NULL;
  s->free_ids[s->nfree++] = id;   /* room: free_ids has caprv entries */
  s->st.read_vcs--;
}

/* v grown to cap entries (pcs moved up behind the new clocks); NULL: out of memory, v intact. */
static rvc *rvc_grow(ft_state *s, rvc *v, uint32_t cap) {
  uint32_t old = v->cap;
  rvc *n = realloc(v, sizeof(rvc) + (size_t)cap * 12);
  if (!n) return NULL;
  /* byte offsets: the pcs sat at old * 8 and now start at cap * 8 (moved before the clocks
   * they overlap are zeroed) */
  memmove(n->clk + cap, n->clk + old, (size_t)old * sizeof(uint32_t));
  memset(n->clk + old, 0, (size_t)(cap - old) * sizeof(uint64_t));
  n->cap = cap;
  memset(rvc_pcs(n) + old, 0, (size_t)(cap - old) * sizeof(uint32_t));
  s->vc_heap += (uint64_t)(cap - old) * 12;
  return n;
}

/* ---- pc table ---- */

static uint32_t pc_intern(ft_state *s, uint64_t pc) {
  uint64_t i = mix(pc) & s->pct_mask;
  for (; s->pct[i].id; i = (i + 1) & s->pct_mask)
    if (s->pct[i].pc == pc) return s->pct[i].id;
  if (s->npcs + 1 >= s->cappcs) {   /* ids 1..npcs used; grow the id array */
    uint32_t nc = s->cappcs * 2;
    if (nc < s->cappcs) return 0;
    uint64_t *n = realloc(s->pcs, (size_t)nc * sizeof *n);
    if (!n) return 0;
    s->vc_heap += (uint64_t)(nc - s->cappcs) * sizeof *n;
    s->pcs = n; s->cappcs = nc;
  }
  if ((uint64_t)(s->npcs + 1) * 2 > s->pct_mask + 1) {   /* keep the table at most half full */
    uint64_t nm = s->pct_mask * 2 + 1;
    pcslot *n = calloc(nm + 1, sizeof *n);
    if (!n) return 0;
    for (uint64_t j = 0; j <= s->pct_mask; j++) {
      if (!s->pct[j].id) continue;
      uint64_t k = mix(s->pct[j].pc) & nm;
      while (n[k].id) k = (k + 1) & nm;
      n[k] = s->pct[j];
    }
    s->vc_heap += (nm - s->pct_mask) * sizeof *n;
    free(s->pct);
    s->pct = n; s->pct_mask = nm;
    i = mix(pc) & nm;
    while (s->pct[i].id) i = (i + 1) & nm;
  }
  uint32_t id = ++s->npcs;
  s->pcs[id] = pc;
  s->pct[i].pc = pc;
  s->pct[i].id = id;
  s->st.pcs = s->npcs;
  return id;
}

static uint32_t pc_id(ft_state *s, uint64_t pc) {
  pcslot *c = &s->pcache[mix(pc) & (PCACHE - 1)];
  if (c->id && c->pc == pc) return c->id;
  uint32_t id = pc_intern(s, pc);
  if (id) { c->pc = pc; c->id = id; }
  return id;
}

/* ---- sync objects ---- */

static sslot *sync_find(const ft_state *s, uint64_t key) {
  for (uint64_t i = mix(key) & s->sync_mask;; i = (i + 1) & s->sync_mask) {
    sslot *e = &s->sync[i];
    if (!e->l || e->key == key) return e;   /* the table is never full: ends at an empty slot */
  }
}

static int sync_grow(ft_state *s) {
  uint64_t nm = s->sync_mask * 2 + 1;
  sslot *n = calloc(nm + 1, sizeof *n);
  if (!n) return -1;
  for (uint64_t j = 0; j <= s->sync_mask; j++) {
    if (!s->sync[j].l) continue;
    uint64_t k = mix(s->sync[j].key) & nm;
    while (n[k].l) k = (k + 1) & nm;
    n[k] = s->sync[j];
  }
  s->vc_heap += (nm - s->sync_mask) * sizeof *n;
  free(s->sync);
  s->sync = n; s->sync_mask = nm;
  return 0;
}

/* ---- lifecycle ---- */

ft_state *ft_new(uint64_t space_size, int max_threads, ft_race_fn on_race, void *ctx) {
  if (space_size == 0 || max_threads < 1 || max_threads > FT_MAX_THREADS) return NULL;
  if (space_size > (SIZE_MAX - 4096) / sizeof(cell)) return NULL;
  ft_state *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->space = space_size;
  s->max_threads = max_threads;
  s->on_race = on_race;
  s->ctx = ctx;
  long pg = sysconf(_SC_PAGESIZE);
  size_t page = pg > 0 ? (size_t)pg : 4096;
  s->shadow_len = ((size_t)space_size * sizeof(cell) + page - 1) / page * page;
  void *m = mmap(NULL, s->shadow_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  s->shadow = m == MAP_FAILED ? NULL : m;
  s->thr = calloc((size_t)max_threads, sizeof *s->thr);
  s->sync_mask = 255;
  s->sync = calloc(s->sync_mask + 1, sizeof *s->sync);
  s->pct_mask = 1023;
  s->pct = calloc(s->pct_mask + 1, sizeof *s->pct);
  s->cappcs = 1024;
  s->pcs = malloc(s->cappcs * sizeof *s->pcs);
  if (!s->shadow || !s->thr || !s->sync || !s->pct || !s->pcs) { ft_free(s); return NULL; }
  s->vc_heap = sizeof *s + (uint64_t)max_threads * sizeof *s->thr +
               (s->sync_mask + 1) * sizeof *s->sync + (s->pct_mask + 1) * sizeof *s->pct +
               s->cappcs * sizeof *s->pcs;
  s->pcs[0] = 0;
  return s;
}

void ft_free(ft_state *s) {
  if (!s) return;
  if (s->shadow) munmap(s->shadow, s->shadow_len);
  if (s->thr)
    for (int i = 0; i < s->max_threads; i++) free(s->thr[i].vc);
  free(s->thr);
  if (s->sync)
    for (uint64_t i = 0; i <= s->sync_mask; i++) free(s->sync[i].l);
  free(s->sync);
  for (uint32_t i = 0; i < s->nrv; i++) free(s->rv[i]);
  free(s->rv);
  free(s->free_ids);
  free(s->pct);
  free(s->pcs);
  free(s);
}

void ft_fork(ft_state *s, int parent, int child) {
  thr *p = thread(s, parent), *c = p && parent != child ? thread(s, child) : NULL;
  if (!c) { s->st.ignored++; return; }
  s->st.syncs++;
  s->st.vc_ops++;
  vc_join(c->vc, p->vc, s->hi);
  tick(c, child);
  tick(p, parent);
}

void ft_join(ft_state *s, int joiner, int exited) {
  thr *j = thread(s, joiner), *e = j && joiner != exited ? thread(s, exited) : NULL;
  if (!e) { s->st.ignored++; return; }
  s->st.syncs++;
  s->st.vc_ops++;
  vc_join(j->vc, e->vc, s->hi);
  j->epoch = ep_make(joiner, j->vc[joiner]);   /* (unchanged: only a thread raises its own) */
  tick(e, exited);
}

void ft_acquire(ft_state *s, int tid, uint64_t sync) {
  thr *t = thread(s, tid);
  if (!t) { s->st.ignored++; return; }
  s->st.syncs++;
  sslot *e = sync_find(s, sync);
  if (!e->l) return;   /* never released: nothing to learn */
  s->st.vc_ops++;
  vc_join(t->vc, e->l->c, (int)e->l->n);
  t->epoch = ep_make(tid, t->vc[tid]);   /* (own component never lowered; kept in step anyway) */
}

void ft_release(ft_state *s, int tid, uint64_t sync) {
  thr *t = thread(s, tid);
  if (!t) { s->st.ignored++; return; }
  s->st.syncs++;
  sslot *e = sync_find(s, sync);
  if (!e->l) {
    if ((s->sync_used + 1) * 2 > s->sync_mask + 1) {
      if (sync_grow(s)) { s->st.ignored++; return; }
      e = sync_find(s, sync);
    }
    svc *l = calloc(1, sizeof(svc) + (size_t)s->hi * sizeof(uint64_t));
    if (!l) { s->st.ignored++; return; }
    l->n = (uint32_t)s->hi;
    s->vc_heap += sizeof(svc) + (uint64_t)s->hi * sizeof(uint64_t);
    e->key = sync;
    e->l = l;
    s->sync_used++;
  } else if (e->l->n < (uint32_t)s->hi) {   /* threads started since its last release */
    svc *l = realloc(e->l, sizeof(svc) + (size_t)s->hi * sizeof(uint64_t));
    if (!l) { s->st.ignored++; return; }
    memset(l->c + l->n, 0, (size_t)(s->hi - (int)l->n) * sizeof(uint64_t));
    s->vc_heap += (uint64_t)(s->hi - (int)l->n) * sizeof(uint64_t);
    l->n = (uint32_t)s->hi;
    e->l = l;
  }
  s->st.vc_ops++;
  vc_join(e->l->c, t->vc, s->hi);
  tick(t, tid);
}

void ft_atomic(ft_state *s, int tid, uint64_t sync) {
  ft_acquire(s, tid, sync);
  ft_release(s, tid, sync);
}

/* ---- accesses ---- */

typedef struct acc {     /* the access being handled */
  int tid;
  thr *t;
  uint64_t pc;
  uint32_t pcid;
  uint8_t write;
  uint8_t reported;      /* the last report of this access, to skip repeats over its runs */
  int last_tid;
  uint32_t last_pc;
  uint8_t last_write;
} acc;

static void report(ft_state *s, acc *a, uint64_t addr, int ptid, uint32_t ppc, int pwrite) {
  if (a->reported && a->last_tid == ptid && a->last_pc == ppc && a->last_write == pwrite) return;
  a->reported = 1;
  a->last_tid = ptid;
  a->last_pc = ppc;
  a->last_write = (uint8_t)pwrite;
  s->st.races++;
  if (!s->on_race) return;
  ft_race r = {addr, s->pcs[ppc < s->npcs + 1 ? ppc : 0], a->pc, ptid, a->tid,
               (uint8_t)pwrite, a->write};
  s->on_race(s->ctx, &r);
}

static inline void fill(cell *c, unsigned n, const cell *x) {
  for (unsigned i = 0; i < n; i++) c[i] = *x;
}

/* The write rules on a run of n identical cells starting at guest byte addr. */
static void write_run(ft_state *s, acc *a, cell *c, unsigned n, uint64_t addr) {
  cell x = c[0];
  if (x.w == a->t->epoch) return;   /* same epoch: checked when first written */
  const uint64_t *vc = a->t->vc;
  if (!ep_le(x.w, vc)) report(s, a, addr, ep_tid(x.w), x.wpc, 1);
  if (x.r & R_SHARED) {   /* every reader must be ordered before the write */
    uint32_t id = (uint32_t)(x.r & R_ID);
    rvc *v = s->rv[id];
    if (v) {
      s->st.vc_ops++;
      const uint32_t *pcs = rvc_pcs(v);
      for (uint32_t i = 0; i < v->cap; i++)
        if (v->clk[i] > vc[i]) report(s, a, addr, (int)i, pcs[i], 0);
      rvc_unref(s, id, n);
    }
  } else if (!ep_le(x.r, vc)) {
    report(s, a, addr, ep_tid(x.r), x.rpc, 0);
  }
  /* The read history can go: any later access ordered after this write is ordered after
   * those reads too (they were ordered before it, or were reported and are treated so). */
  x.r = 0;
  x.rpc = 0;
  x.w = a->t->epoch;
  x.wpc = a->pcid;
  fill(c, n, &x);
}

/* The read rules on a run of n identical cells starting at guest byte addr. */
static void read_run(ft_state *s, acc *a, cell *c, unsigned n, uint64_t addr) {
  cell x = c[0];
  int t = a->tid;
  const uint64_t *vc = a->t->vc;
  uint64_t now = vc[t];
  if (x.r == a->t->epoch) return;   /* same epoch */
  rvc *v = x.r & R_SHARED ? s->rv[x.r & R_ID] : NULL;
  if (v && (uint32_t)t < v->cap && v->clk[t] == now) return;   /* read-shared, same epoch */
  if (!ep_le(x.w, vc)) report(s, a, addr, ep_tid(x.w), x.wpc, 1);
  if (!(x.r & R_SHARED)) {
    if (ep_le(x.r, vc)) {   /* the previous read is ordered before: one epoch still suffices */
      x.r = a->t->epoch;
      x.rpc = a->pcid;
    } else {                /* concurrent reads: inflate to a VC holding both */
      int pt = ep_tid(x.r);
      rvc *nv = rvc_alloc(s, cap_for(s, (pt > t ? pt : t) + 1));
      uint32_t id = nv ? rvc_store(s, nv) : 0;
      if (!id) {   /* out of host memory: keep the newer read only (may miss a race) */
        free(nv);
        x.r = a->t->epoch;
        x.rpc = a->pcid;
      } else {
        nv->clk[pt] = ep_clock(x.r);
        rvc_pcs(nv)[pt] = x.rpc;
        nv->clk[t] = now;
        rvc_pcs(nv)[t] = a->pcid;
        nv->refs = n;
        x.r = R_SHARED | id;
        x.rpc = 0;
        s->st.read_shared++;
        s->st.vc_ops++;
      }
    }
  } else {
    uint32_t id = (uint32_t)(x.r & R_ID);
    if (!v) {   /* (cannot happen: references keep a VC alive) start over with an epoch */
      x.r = a->t->epoch;
      x.rpc = a->pcid;
    } else {
      uint32_t need = (uint32_t)t + 1 > v->cap ? cap_for(s, t + 1) : v->cap;
      if (v->refs > n) {   /* other cells share it: copy on write */
        rvc *nv = rvc_alloc(s, need);
        uint32_t nid = nv ? rvc_store(s, nv) : 0;
        if (nid) {
          memcpy(nv->clk, v->clk, (size_t)v->cap * sizeof(uint64_t));
          memcpy(rvc_pcs(nv), rvc_pcs(v), (size_t)v->cap * sizeof(uint32_t));
          nv->refs = n;
          v->refs -= n;
          v = nv;
          id = nid;
        } else {
          free(nv);   /* out of memory: change the shared one (may report extra readers) */
        }
      }
      if (need > v->cap) {
        rvc *g = rvc_grow(s, v, need);
        if (g) { v = g; s->rv[id] = g; }
      }
      if ((uint32_t)t < v->cap) {
        v->clk[t] = now;
        rvc_pcs(v)[t] = a->pcid;
      }
      x.r = R_SHARED | id;
      s->st.read_shared++;
      s->st.vc_ops++;
    }
  }
  fill(c, n, &x);
}

/* 1 when the read-field value r needs no change for a read by t at clock now. */
static inline int read_same(const ft_state *s, uint64_t r, uint64_t ep, int t, uint64_t now) {
  if (r == ep) return 1;
  if (!(r & R_SHARED)) return 0;
  const rvc *v = s->rv[r & R_ID];
  return v && (uint32_t)t < v->cap && v->clk[t] == now;
}

static void on_access(ft_state *s, int tid, uint64_t addr, unsigned size, uint64_t pc, int write) {
  thr *t;
  if (size == 0 || size > FT_MAX_ACCESS || addr >= s->space || size > s->space - addr ||
      !(t = thread(s, tid))) {
    s->st.ignored++;
    return;
  }
  cell *c = s->shadow + addr;
  uint64_t ep = t->epoch;
  unsigned i = 0;
  if (write) {
    s->st.writes++;
    while (i < size && c[i].w == ep) i++;
  } else {
    s->st.reads++;
    uint64_t now = t->vc[tid];
    while (i < size && read_same(s, c[i].r, ep, tid, now)) i++;
  }
  if (i == size) { s->st.same_epoch++; return; }

  acc a = {.tid = tid, .t = t, .pc = pc, .pcid = pc_id(s, pc), .write = (uint8_t)write};
  for (i = 0; i < size;) {   /* runs of identical cells: usually one */
    unsigned j = i + 1;
    while (j < size && cell_eq(&c[j], &c[i])) j++;
    if (write) write_run(s, &a, c + i, j - i, addr + i);
    else read_run(s, &a, c + i, j - i, addr + i);
    i = j;
  }
}

void ft_read(ft_state *s, int tid, uint64_t addr, unsigned size, uint64_t pc) {
  on_access(s, tid, addr, size, pc, 0);
}

void ft_write(ft_state *s, int tid, uint64_t addr, unsigned size, uint64_t pc) {
  on_access(s, tid, addr, size, pc, 1);
}

/* ---- forgetting ---- */

/* Cells [a, e): drop their read-VC references (scan = 1) and zero them. Cells already zero
 * are left alone so a page never touched stays unbacked. */
static void clear_cells(ft_state *s, uint64_t a, uint64_t e, int scan) {
  static const cell zero;
  for (uint64_t i = a; i < e; i++) {
    cell *c = &s->shadow[i];
    if (scan && (c->r & R_SHARED)) rvc_unref(s, (uint32_t)(c->r & R_ID), 1);
    if (!cell_eq(c, &zero)) *c = zero;
  }
}

void ft_forget(ft_state *s, uint64_t addr, uint64_t len) {
  if (addr >= s->space || len == 0) return;
  if (len > s->space - addr) len = s->space - addr;
  uint64_t end = addr + len;
  long pg = sysconf(_SC_PAGESIZE);
  uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
  int refs = s->st.read_vcs != 0;   /* no read-shared VC alive: nothing to release */
  /* whole shadow pages inside the range: bytes [pa, pe) of the shadow */
  uint64_t pa = (addr * sizeof(cell) + page - 1) / page * page;
  uint64_t pe = end * sizeof(cell) / page * page;
  if (pe <= pa) {
    clear_cells(s, addr, end, refs);
    return;
  }
  /* cells [lo, hi) lie inside [pa, pe); those before lo or from hi on start before pa or end
   * after pe (a cell straddling a page boundary is cut by madvise, so it is zeroed whole here,
   * its reference released before madvise can cut it) */
  uint64_t lo = (pa + sizeof(cell) - 1) / sizeof(cell);
  uint64_t hi = pe / sizeof(cell);
  if (refs && len <= FT_FORGET_SCAN)
    for (uint64_t i = lo; i < hi; i++)
      if (s->shadow[i].r & R_SHARED) rvc_unref(s, (uint32_t)(s->shadow[i].r & R_ID), 1);
  clear_cells(s, addr, lo, refs);
  clear_cells(s, hi, end, refs);
  if (madvise((char *)s->shadow + pa, pe - pa, MADV_DONTNEED) != 0) clear_cells(s, lo, hi, 0);
}

/* ---- stats and self-check ---- */

uint64_t ft_epoch(const ft_state *s, int tid) {
  return tid >= 0 && tid < s->max_threads && s->thr[tid].vc ? s->thr[tid].epoch : 0;
}

void ft_get_stats(const ft_state *s, ft_stats *out) {
  *out = s->st;
  long pg = sysconf(_SC_PAGESIZE);
  size_t page = pg > 0 ? (size_t)pg : 4096;
  enum { CHUNK = 1 << 16 };
  unsigned char vec[CHUNK];
  uint64_t resident = 0;
  for (size_t off = 0; off < s->shadow_len; off += (size_t)CHUNK * page) {
    size_t len = s->shadow_len - off;
    if (len > (size_t)CHUNK * page) len = (size_t)CHUNK * page;
    if (mincore((char *)s->shadow + off, len, vec) != 0) continue;
    for (size_t i = 0; i < (len + page - 1) / page; i++) resident += vec[i] & 1;
  }
  out->shadow_bytes = resident * page + s->vc_heap;
}

uint64_t ft_check(const ft_state *s, uint64_t addr, uint64_t len) {
  if (addr >= s->space) return 0;
  if (len > s->space - addr) len = s->space - addr;
  uint64_t bad = 0;
  uint32_t *count = calloc(s->nrv ? s->nrv : 1, sizeof *count);
  if (!count) return 1;
  for (uint64_t i = addr; i < addr + len; i++) {
    const cell *c = &s->shadow[i];
    if (ep_tid(c->w) >= s->max_threads || (c->w && !s->thr[ep_tid(c->w)].vc)) bad++;
    if (c->wpc > s->npcs || c->rpc > s->npcs) bad++;
    if (c->r & R_SHARED) {
      uint64_t id = c->r & R_ID;
      if (id == 0 || id >= s->nrv || !s->rv[id] || (c->r & ~(R_SHARED | R_ID))) bad++;
      else count[id]++;
    } else if (ep_tid(c->r) >= s->max_threads || (c->r && !s->thr[ep_tid(c->r)].vc)) {
      bad++;
    }
  }
  uint64_t live = 0;
  for (uint32_t id = 1; id < s->nrv; id++) {
    if (!s->rv[id]) continue;
    live++;
    if (s->rv[id]->refs != count[id] || s->rv[id]->cap > (uint32_t)s->max_threads) bad++;
  }
  if (live != s->st.read_vcs || live + s->nfree + (s->nrv ? 1 : 0) != s->nrv) bad++;
  free(count);
  return bad;
}
