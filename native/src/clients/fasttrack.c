/* fasttrack.c — the FastTrack race detector (Flanagan & Freund, PLDI 2009) on guest threads:
 * the "fasttrack" client. race/fasttrack.c holds the algorithm (epochs, vector clocks, the
 * byte-precise shadow); this file feeds it the guest's accesses and synchronisation.
 *
 * Options: mode=full (default) analyses every plain load and store; mode=filtered only those
 * the Aikido filter passes (clients/aikido.h: accesses to pages a second thread touched, from
 * the moment it did), which is what makes it cheap, and misses races whose earlier access
 * came while the page was still private; mode=watchsets gives each thread a watchpoint unit of
 * its own (wb_watchset: the unlimited-watchpoint paper's read/write-set checks) and analyses
 * only the accesses it triggers on, finding exactly what full mode finds (section below).
 * Options cache=N and blb=N size each thread's range cache and bitmap lookaside buffer.
 *
 * Synchronisation is seen in both modes alike, whatever page it touches (a missed release
 * would make the detector report races that are not there):
 *  - atomics, by their ordering (RISC-V's aq and rl bits, or a fence beside them, as the psABI
 *    maps C11 atomics): an acquire, a release or both of their address; relaxed ones order
 *    nothing (and atomics never race, so they are not data accesses); a store after a fence
 *    is a release and a load before one an acquire (musl's a_store, C11 release/acquire);
 *  - futex: a wake (or requeue) releases the futex word, a wait that returns 0 acquires it;
 *  - wrapped libc calls, when the program has them (accesses inside them are not analysed: see
 *    "wrapped libc calls" below): mutex and rwlock lock/unlock, condition waits and
 *    signals, barriers, semaphores, and pthread_join (the joiner acquires everything
 *    the thread did, when it calls or when the thread exits; the thread is found by its
 *    thread pointer, which libcs place just past the pthread_t they hand out);
 *  - thread creation: the child starts with what its parent did before clone.
 * munmap forgets the shadow of the unmapped memory.
 *
 * Each race is reported once per (earlier pc, later pc) pair in stream "fasttrack", with how
 * often it was detected (the stream is rewritten at run end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"
#include "../race/fasttrack.h"     /* the algorithm: engine-independent, no engine header */

/* clients/aikido.c: put an analysis behind its shared-page filter (0, or -1 and a message) */
int wb_aikido_listen(wb_machine *m, wb_mem_fn on_shared, wb_mem_fn on_mirrored,
                     int (*wants)(void *data, wb_bb *bb, unsigned i), void *data, char *err, size_t errlen);

#define FT_THREADS 256           /* guest threads the detector tells apart (harts beyond: ignored) */
#define MAX_HARTS 1024           /* harts a machine creates over a run (hart ids) */
enum { REG_TP = 4, REG_A0 = 10, REG_A4 = 14, REG_A7 = 17 };

#define WRAP_DEPTH 8             /* wrapped calls in flight per thread whose post hooks act */
typedef struct wcall {           /* one wrapped call in flight */
  int what;
  uint64_t a0, a1;
} wcall;

typedef struct race_rec {        /* stream "fasttrack" (48 bytes) */
  uint64_t addr;                 /* the racing byte of the first detection */
  uint64_t prev_pc, cur_pc;      /* the earlier access and the one that raced with it */
  uint64_t count;                /* detections of this pair */
  uint64_t time;                 /* instructions retired by all threads at the first one */
  uint16_t prev_thread, cur_thread;
  uint8_t prev_write, cur_write;
  uint8_t pad[2];
} race_rec;

typedef struct fstate {
  wb_machine *m;
  int filtered;
  int watchsets;                 /* mode=watchsets */
  uint64_t ws_cache, ws_blb;     /* its units' range-cache entries and BLB lines */
  wb_watchset *ws[FT_THREADS];   /* per thread: the bytes whose next access needs a check */
  uint64_t ws_epoch[FT_THREADS]; /* the thread's epoch its unit was armed for */
  uint8_t ws_broken[FT_THREADS]; /* its unit's table hit its cap: every access is checked */
  int ws_hi;                     /* threads with a unit: 0..ws_hi-1 */
  uint64_t ws_skips;             /* accesses no unit triggered on: not analysed */
  ft_state *ft;
  wb_stream *s;
  race_rec *races;               /* distinct pc pairs, open addressing on (prev_pc, cur_pc) */
  uint64_t cap, n;
  uint64_t reports;
  uint64_t syncs;
  uint64_t *sync_pcs;            /* release stores and acquire loads (is_sync_pc) */
  uint64_t sync_cap, nsync;
  uint64_t tp[MAX_HARTS];     /* each thread's thread pointer when it started (join lookup) */
  uint64_t ctid[MAX_HARTS];   /* each thread's clear-child-tid word (0: none) */
  int joiner[MAX_HARTS];      /* the thread waiting in pthread_join for it (+1; 0: none) */
  int inlib[MAX_HARTS];          /* wrapped libc calls each thread is inside (not analysed) */
  uint64_t in_libc;              /* plain accesses skipped for that */
  wcall calls[MAX_HARTS][WRAP_DEPTH]; /* the wrapped calls each thread is inside */
} fstate;

/* ---- races ---- */

static uint64_t pair_hash(uint64_t a, uint64_t b) {
  uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
  h ^= h >> 31; h *= 0xbf58476d1ce4e5b9ull; return h ^ (h >> 29);
}

static void on_race(void *ctx, const ft_race *r) {
  fstate *st = ctx;
  st->reports++;
  if (2 * (st->n + 1) > st->cap) {
    uint64_t cap = st->cap ? st->cap * 2 : 256;
    race_rec *t = calloc(cap, sizeof *t);
    if (!t) return;
    for (uint64_t k = 0; k < st->cap; k++)
      if (st->races[k].count)
        for (uint64_t i = pair_hash(st->races[k].prev_pc, st->races[k].cur_pc) & (cap - 1);; i = (i + 1) & (cap - 1))
          if (!t[i].count) { t[i] = st->races[k]; break; }
    free(st->races);
    st->races = t;
    st->cap = cap;
  }
  for (uint64_t i = pair_hash(r->prev_pc, r->cur_pc) & (st->cap - 1);; i = (i + 1) & (st->cap - 1)) {
    race_rec *e = &st->races[i];
    if (e->count && e->prev_pc == r->prev_pc && e->cur_pc == r->cur_pc) { e->count++; return; }
    if (e->count) continue;
    e->addr = r->addr;
    e->prev_pc = r->prev_pc;
    e->cur_pc = r->cur_pc;
    e->count = 1;
    e->time = wb_machine_total_icount(st->m);
    e->prev_thread = (uint16_t)r->prev_tid;
    e->cur_thread = (uint16_t)r->cur_tid;
    e->prev_write = r->prev_write;
    e->cur_write = r->cur_write;
    st->n++;
    return;
  }
}

static void on_run_end(void *data, wb_machine *m) {
  (void)m;
  fstate *st = data;
  wb_stream_reset(st->s);
  /* in order of first detection, so the stream does not depend on the table's layout */
  race_rec **order = malloc((st->n ? st->n : 1) * sizeof *order);
  if (!order) return;
  uint64_t k = 0;
  for (uint64_t i = 0; i < st->cap; i++)
    if (st->races[i].count) order[k++] = &st->races[i];
  for (uint64_t i = 1; i < k; i++)              /* insertion sort: few distinct races */
    for (uint64_t j = i; j > 0; j--) {
      race_rec *a = order[j - 1], *b = order[j];
      int later = a->time > b->time || (a->time == b->time && (a->prev_pc > b->prev_pc ||
                                                               (a->prev_pc == b->prev_pc && a->cur_pc > b->cur_pc)));
      if (!later) break;
      order[j - 1] = b;
      order[j] = a;
    }
  for (uint64_t i = 0; i < k; i++) *(race_rec *)wb_stream_push(st->s) = *order[i];
  free(order);
}

/* ---- accesses ---- */

static void on_access(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  (void)value;
  fstate *st = data;
  int t = wb_hart_id(h);
  if (t < MAX_HARTS && st->inlib[t]) { st->in_libc++; return; }
  if (kind == WB_MEM_STORE) ft_write(st->ft, t, addr, size, pc);
  else ft_read(st->ft, t, addr, size, pc);
}

/* ---- watchsets mode: read/write-set checks on per-thread watchpoint units ----
 *
 * FastTrack does nothing for an access whose thread made the same kind of access to the same
 * bytes earlier in its current epoch (its same-epoch rules), unless another thread's access
 * changed those bytes' state since. Each thread's unit watches every byte except those: an
 * access that triggers nothing is skipped, the others go to the detector and then
 *  - a read stops watching its bytes for reads by this thread;
 *  - a write stops watching them for writes and watches them for reads again (a write can
 *    reset the read state: FastTrack's shared-write rule);
 *  - in every other thread's unit the bytes are watched again, for reads after a read and for
 *    both after a write;
 *  - when the thread's epoch changes (a release, a fork) its unit watches everything again,
 *    at its next access (ft_epoch);
 *  - munmap watches the range again in every unit (the detector forgot it).
 * So the detector sees every access it would act on and finds what full mode finds. A unit
 * whose table reaches its cap is dropped: its thread's accesses are all analysed. */

static void ws_drop(fstate *st, int t) {
  wb_watchset_free(st->ws[t]);
  st->ws[t] = NULL;
  st->ws_broken[t] = 1;
}

static void ws_set(fstate *st, int t, int set, unsigned bits, uint64_t addr, uint64_t len) {
  char err[160];
  if (st->ws[t] && wb_watchset_change(st->ws[t], set, bits, addr, len, err, sizeof err) != 0) ws_drop(st, t);
}

static wb_watchset *ws_of(fstate *st, int t) {
  if (t >= FT_THREADS || st->ws_broken[t]) return NULL;
  if (!st->ws[t]) {
    char err[160];
    if (!(st->ws[t] = wb_watchset_new(st->ws_cache, st->ws_blb, err, sizeof err))) { st->ws_broken[t] = 1; return NULL; }
    if (t >= st->ws_hi) st->ws_hi = t + 1;
    st->ws_epoch[t] = 0;
  }
  uint64_t e = ft_epoch(st->ft, t);
  if (e != st->ws_epoch[t] || !e) {      /* a new epoch (or the thread's first access): all of it */
    ws_set(st, t, 1, WB_WATCHSET_READ | WB_WATCHSET_WRITE, 0, wb_view_window_offset(st->m));
    st->ws_epoch[t] = e;
  }
  return st->ws[t];
}

static void on_checked(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  fstate *st = data;
  int t = wb_hart_id(h), store = kind == WB_MEM_STORE;
  if (t < MAX_HARTS && st->inlib[t]) { st->in_libc++; return; }
  wb_watchset *u = ws_of(st, t);
  if (u && !wb_watchset_access(u, addr, size, store)) { st->ws_skips++; return; }
  on_access(data, h, pc, addr, size, kind, value);
  if (store) {
    ws_set(st, t, 0, WB_WATCHSET_WRITE, addr, size);
    ws_set(st, t, 1, WB_WATCHSET_READ, addr, size);
  } else {
    ws_set(st, t, 0, WB_WATCHSET_READ, addr, size);
  }
  for (int k = 0; k < st->ws_hi; k++)
    if (k != t) ws_set(st, k, 1, store ? WB_WATCHSET_READ | WB_WATCHSET_WRITE : WB_WATCHSET_READ, addr, size);
}

static void ws_forget(fstate *st, uint64_t addr, uint64_t len) {
  uint64_t space = wb_view_window_offset(st->m);
  if (!st->watchsets || !len || addr >= space) return;
  if (len > space - addr) len = space - addr;
  for (int k = 0; k < st->ws_hi; k++) ws_set(st, k, 1, WB_WATCHSET_READ | WB_WATCHSET_WRITE, addr, len);
}

static void on_amo(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  (void)pc; (void)size; (void)kind; (void)value;
  fstate *st = data;
  st->syncs++;
  ft_atomic(st->ft, wb_hart_id(h), addr);
}

static void on_lr(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  (void)pc; (void)size; (void)kind; (void)value;
  fstate *st = data;
  st->syncs++;
  ft_acquire(st->ft, wb_hart_id(h), addr);
}

static void on_sc(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  (void)pc; (void)size; (void)kind; (void)value;
  fstate *st = data;
  st->syncs++;
  ft_release(st->ft, wb_hart_id(h), addr);
}

/* The set of release stores and acquire loads seen (fsync_pcs): the filtered path skips them. */
static int is_sync_pc(const fstate *st, uint64_t pc) {
  if (!st->sync_cap) return 0;
  for (uint64_t i = pair_hash(pc, 0) & (st->sync_cap - 1);; i = (i + 1) & (st->sync_cap - 1)) {
    if (st->sync_pcs[i] == pc) return 1;
    if (!st->sync_pcs[i]) return 0;
  }
}

static void add_sync_pc(fstate *st, uint64_t pc) {
  if (is_sync_pc(st, pc)) return;
  if (2 * (st->nsync + 1) > st->sync_cap) {
    uint64_t cap = st->sync_cap ? st->sync_cap * 2 : 256, *t = calloc(cap, sizeof *t);
    if (!t) return;
    for (uint64_t k = 0; k < st->sync_cap; k++)
      if (st->sync_pcs[k])
        for (uint64_t i = pair_hash(st->sync_pcs[k], 0) & (cap - 1);; i = (i + 1) & (cap - 1))
          if (!t[i]) { t[i] = st->sync_pcs[k]; break; }
    free(st->sync_pcs);
    st->sync_pcs = t;
    st->sync_cap = cap;
  }
  for (uint64_t i = pair_hash(pc, 0) & (st->sync_cap - 1);; i = (i + 1) & (st->sync_cap - 1))
    if (!st->sync_pcs[i]) { st->sync_pcs[i] = pc; break; }
  st->nsync++;
}

/* Behind the filter: a fault found an access on a shared page (the release stores and acquire
 * loads have their own calls) */
static void on_shared(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, uint64_t value) {
  fstate *st = data;
  if (!is_sync_pc(st, pc)) on_access(data, h, pc, addr, size, kind, value);
}

/* The RISC-V mapping of C11 atomics (the psABI's): a release store is "fence rw,w" (or rw,rw)
 * then the store, an acquire load the load then "fence r,rw". Such an access is
 * synchronisation (C11 atomics never race), not data: musl's a_store, the flag of a
 * message-passing handshake. Plain volatile accesses have no fence and stay data. */
static int is_fence(uint32_t raw) { return (raw & 0x707f) == 0x000f; }   /* FENCE, not FENCE.I */

/* Whether a fence orders as a release before a store (pred has r or w, succ has w) or as an
 * acquire after a load (pred has r, succ has r or w). Its bits: pred 27:24, succ 23:20 (i o r w). */
static int fence_orders(uint32_t raw, int before_store) {
  unsigned pred = raw >> 24 & 15, succ = raw >> 20 & 15;
  return before_store ? (pred & 3) && (succ & 1) : (pred & 2) && (succ & 3);
}

/* The fence nearest to instruction i in direction dir (-1 before, +1 after) inside the block,
 * with no memory access between (address arithmetic may sit between: musl's a_store is
 * "fence rw,rw; lui; sw"): 1 if it orders as a release (dir -1) or an acquire (dir +1). */
static int fenced(wb_bb *bb, unsigned i, int dir) {
  unsigned n = wb_bb_size(bb);
  for (long j = (long)i + dir; j >= 0 && j < (long)n; j += dir) {
    if (wb_bb_insn_mem(bb, (unsigned)j, NULL, NULL)) return 0;
    uint32_t raw = wb_bb_insn_raw(bb, (unsigned)j);
    if ((raw & 3) == 3 && is_fence(raw)) return fence_orders(raw, dir < 0);
  }
  return 0;
}

static int is_lrsc(uint32_t raw) {
  return (raw & 3) == 3 && (raw & 0x7f) == 0x2f && ((raw >> 27) == 2 || (raw >> 27) == 3);
}

/* Behind the filter, at translation: a marked instruction's mirrored access is analysed as
 * data, as on_block would in full mode: not an atomic, LR/SC, release store or acquire load
 * (they are synchronisation, with calls of their own). */
static int wants_mirrored(void *data, wb_bb *bb, unsigned i) {
  (void)data;
  int kind;
  if (!wb_bb_insn_mem(bb, i, NULL, &kind) || kind == WB_MEM_ATOMIC || is_lrsc(wb_bb_insn_raw(bb, i))) return 0;
  return !(kind == WB_MEM_STORE && fenced(bb, i, -1)) && !(kind == WB_MEM_LOAD && fenced(bb, i, +1));
}

static void on_block(void *data, wb_bb *bb) {
  fstate *st = data;
  unsigned n = wb_bb_size(bb);
  for (unsigned i = 0; i < n; i++) {
    unsigned size;
    int kind;
    if (!wb_bb_insn_mem(bb, i, &size, &kind)) continue;
    uint32_t raw = wb_bb_insn_raw(bb, i);
    int release = kind == WB_MEM_STORE && fenced(bb, i, -1);
    int acquire = kind == WB_MEM_LOAD && fenced(bb, i, +1);
    int lrsc = is_lrsc(raw);
    if (lrsc || kind == WB_MEM_ATOMIC) {
      /* an atomic orders what its aq/rl bits (or fences beside it) say; a relaxed one orders
       * nothing, and atomics never race, so it is not looked at at all */
      int acq = (raw >> 26 & 1) || fenced(bb, i, +1), rel = (raw >> 25 & 1) || fenced(bb, i, -1);
      if (acq && rel) wb_bb_call_addr(bb, i, on_amo, st);
      else if (acq) wb_bb_call_addr(bb, i, on_lr, st);
      else if (rel) wb_bb_call_addr(bb, i, on_sc, st);
    } else if (release) { add_sync_pc(st, wb_bb_insn_pc(bb, i)); wb_bb_call_addr(bb, i, on_sc, st); }
    else if (acquire) { add_sync_pc(st, wb_bb_insn_pc(bb, i)); wb_bb_call_addr(bb, i, on_lr, st); }
    else if (!st->filtered) wb_bb_call_addr(bb, i, st->watchsets ? on_checked : on_access, st);
  }
}

/* ---- threads and syscalls ---- */

enum { NR_SET_TID_ADDRESS = 96, NR_FUTEX = 98, NR_MUNMAP = 215, NR_CLONE = 220 };
#define FT_CLONE_CHILD_CLEARTID 0x00200000ull

static void on_thread(void *data, wb_hart *h, int started) {
  fstate *st = data;
  int id = wb_hart_id(h);
  if (!started) {
    /* the kernel zeroes and wakes the thread's clear-child-tid word as it exits: a release of
     * that word (musl unlocks its thread list so; pthread_join waits on it elsewhere) */
    if (st->ctid[id]) { st->syncs++; ft_release(st->ft, id, st->ctid[id]); }
    if (st->joiner[id]) { st->syncs++; ft_join(st->ft, st->joiner[id] - 1, id); st->joiner[id] = 0; }
    return;                    /* its clock stays for a later pthread_join */
  }
  if (id >= MAX_HARTS) return;
  st->tp[id] = wb_hart_reg(h, REG_TP);
  wb_hart *parent = wb_machine_running(st->m);
  if (id > 0 && parent && parent != h) {
    st->syncs++;
    ft_fork(st->ft, wb_hart_id(parent), id);
    /* the clone call in flight in the parent: its flags (a0) and child tid word (a4) */
    if (wb_hart_reg(parent, REG_A7) == NR_CLONE && (wb_hart_reg(parent, REG_A0) & FT_CLONE_CHILD_CLEARTID))
      st->ctid[id] = wb_hart_reg(parent, REG_A4);
  }
}

enum { FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4, FUTEX_WAKE_OP = 5,
       FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10 };

static void on_syscall(void *data, wb_hart *h, uint64_t nr, const uint64_t args[6], int64_t ret) {
  fstate *st = data;
  int t = wb_hart_id(h);
  if (nr == NR_FUTEX) {
    int cmd = (int)(args[1] & 0x7f);
    if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && ret == 0) { st->syncs++; ft_acquire(st->ft, t, args[0]); }
    if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET || cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE ||
        cmd == FUTEX_WAKE_OP) { st->syncs++; ft_release(st->ft, t, args[0]); }
    if (cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE || cmd == FUTEX_WAKE_OP) ft_release(st->ft, t, args[4]);
  } else if (nr == NR_SET_TID_ADDRESS) {
    st->ctid[t] = args[0];
  } else if (nr == NR_MUNMAP && ret == 0) {
    ft_forget(st->ft, args[0], args[1]);
    ws_forget(st, args[0], args[1]);
  }
}

/* ---- wrapped libc calls ----
 *
 * Inside a wrapped call (synchronisation, allocation, thread creation and exit) a thread's
 * plain accesses are the libc's own business and are not analysed, as race detectors treat
 * their interceptors: the libc orders them with atomics the detector does see, and its few
 * benign races (musl reads libc.need_locks without a lock) are not the program's. What each
 * call means for happens-before is done at its entry or its return. */

enum { W_NONE, W_ACQUIRE, W_RELEASE, W_COND_WAIT, W_BARRIER, W_JOIN };
static const struct { const char *name; int what; } k_wraps[] = {
    {"pthread_mutex_lock", W_ACQUIRE}, {"pthread_mutex_trylock", W_ACQUIRE}, {"pthread_mutex_timedlock", W_ACQUIRE},
    {"pthread_rwlock_rdlock", W_ACQUIRE}, {"pthread_rwlock_wrlock", W_ACQUIRE}, {"pthread_rwlock_tryrdlock", W_ACQUIRE},
    {"pthread_rwlock_trywrlock", W_ACQUIRE}, {"pthread_rwlock_timedrdlock", W_ACQUIRE},
    {"pthread_rwlock_timedwrlock", W_ACQUIRE}, {"sem_wait", W_ACQUIRE}, {"sem_trywait", W_ACQUIRE},
    {"sem_timedwait", W_ACQUIRE},
    {"pthread_mutex_unlock", W_RELEASE}, {"pthread_rwlock_unlock", W_RELEASE}, {"pthread_cond_signal", W_RELEASE},
    {"pthread_cond_broadcast", W_RELEASE}, {"sem_post", W_RELEASE},
    {"pthread_cond_wait", W_COND_WAIT}, {"pthread_cond_timedwait", W_COND_WAIT},
    {"pthread_barrier_wait", W_BARRIER}, {"pthread_join", W_JOIN},
    {"pthread_create", W_NONE}, {"pthread_exit", W_NONE}, {"pthread_once", W_NONE},
    {"malloc", W_NONE}, {"calloc", W_NONE}, {"realloc", W_NONE}, {"free", W_NONE},
    {"aligned_alloc", W_NONE}, {"posix_memalign", W_NONE}, {"memalign", W_NONE},
};

/* The thread a pthread_t names: libcs place the thread pointer just past the descriptor
 * they hand out (musl: right after it; glibc: after its TCB). -1 if none. */
static int thread_of(fstate *st, uint64_t t) {
  int best = -1;
  uint64_t dist = 8192;
  int n = wb_machine_hart_count(st->m);
  /* the newest first: a joined thread's descriptor (and so its thread pointer) is reused */
  for (int i = (n < MAX_HARTS ? n : MAX_HARTS) - 1; i >= 1; i--)
    if (st->tp[i] >= t && st->tp[i] - t < dist) { dist = st->tp[i] - t; best = i; }
  return best;
}

/* pthread_join: the joiner acquires everything the thread did. Not at the call's return: the
 * libc reads the thread's result and descriptor before that, ordered by fences and futexes
 * it spreads over several functions. At the call instead when the thread has exited, else
 * the moment it exits (the joiner is inside pthread_join meanwhile). */
static void join_at_entry(fstate *st, int me, uint64_t t) {
  int x = thread_of(st, t);
  if (x < 0 || x == me) return;
  st->syncs++;
  if (wb_hart_exited(wb_machine_hart(st->m, x))) ft_join(st->ft, me, x);
  else st->joiner[x] = me + 1;
  st->tp[x] = 0;               /* joined: its descriptor may be handed to a new thread */
}

static void pre_wrap(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user, int what) {
  (void)ra;
  fstate *st = data;
  int t = wb_hart_id(h);
  *user = NULL;
  if (t < MAX_HARTS) {     /* calls nest per thread: a stack of them (pthread_exit never returns) */
    if (st->inlib[t] < WRAP_DEPTH) {
      wcall *c = &st->calls[t][st->inlib[t]];
      c->what = what; c->a0 = args[0]; c->a1 = args[1];
      *user = c;
    }
    st->inlib[t]++;
  }
  switch (what) {
    case W_RELEASE: case W_BARRIER: st->syncs++; ft_release(st->ft, t, args[0]); break;
    case W_COND_WAIT: st->syncs++; ft_release(st->ft, t, args[1]); break;   /* the mutex */
    case W_JOIN: join_at_entry(st, t, args[0]); break;
    default: break;
  }
}

static void post_wrap(void *data, wb_hart *h, uint64_t *ret, void *user) {
  fstate *st = data;
  int t = wb_hart_id(h);
  wcall *c = user;
  if (t < MAX_HARTS && st->inlib[t] > 0) st->inlib[t]--;
  if (!c) return;
  switch (c->what) {
    case W_ACQUIRE:
      if (*ret == 0) { st->syncs++; ft_acquire(st->ft, t, c->a0); }  /* a failed trylock acquired nothing */
      break;
    case W_BARRIER: st->syncs++; ft_acquire(st->ft, t, c->a0); break;
    case W_COND_WAIT:            /* the mutex again, and what the signaller released */
      st->syncs += 2;
      ft_acquire(st->ft, t, c->a0);
      ft_acquire(st->ft, t, c->a1);
      break;
    default: break;
  }
}

#define WRAP_PRE(w) \
  static void pre_##w(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) { \
    pre_wrap(data, h, ra, args, user, w); \
  }
WRAP_PRE(W_NONE) WRAP_PRE(W_ACQUIRE) WRAP_PRE(W_RELEASE) WRAP_PRE(W_COND_WAIT) WRAP_PRE(W_BARRIER) WRAP_PRE(W_JOIN)

static void wrap_calls(fstate *st) {
  static const wb_wrap_pre_fn pre[] = {pre_W_NONE, pre_W_ACQUIRE, pre_W_RELEASE, pre_W_COND_WAIT,
                                       pre_W_BARRIER, pre_W_JOIN};
  for (unsigned i = 0; i < sizeof k_wraps / sizeof *k_wraps; i++)
    wb_wrap(st->m, k_wraps[i].name, pre[k_wraps[i].what], post_wrap, st);
}

/* ---- lifetime ---- */

static void destroy(void *data) {
  fstate *st = data;
  ft_free(st->ft);
  for (int k = 0; k < st->ws_hi; k++) wb_watchset_free(st->ws[k]);
  free(st->races);
  free(st->sync_pcs);
  free(st);
}

/* The options: mode=full|filtered|watchsets, cache=N, blb=N (comma-separated). */
typedef struct ft_options { int filtered, watchsets, sized; uint64_t cache, blb; } ft_options;

static int option(void *data, const char *key, const char *v, char *err, size_t errlen) {
  ft_options *o = data;
  if (!strcmp(key, "mode")) {
    if (!strcmp(v, "full")) o->filtered = o->watchsets = 0;
    else if (!strcmp(v, "filtered")) { o->filtered = 1; o->watchsets = 0; }
    else if (!strcmp(v, "watchsets")) { o->filtered = 0; o->watchsets = 1; }
    else { snprintf(err, errlen, "fasttrack: unknown mode %s (full, filtered or watchsets)", v); return -1; }
    return 0;
  }
  if (strcmp(key, "cache") && strcmp(key, "blb")) {
    snprintf(err, errlen, "fasttrack: unknown option %s (mode=full|filtered|watchsets, cache 1..%u, blb 0..%u)",
             key, 1u << 24, 1u << 24);
    return -1;
  }
  int cache = !strcmp(key, "cache");
  if (wb_option_number("fasttrack", key, v, cache ? 1 : 0, 1u << 24, cache ? &o->cache : &o->blb, err, errlen) != 0)
    return -1;
  o->sized = 1;
  return 0;
}

int wb_client_fasttrack(wb_machine *m, const char *opts, char *err, size_t errlen) {
  ft_options o = {0};
  if (errlen) err[0] = 0;
  if (wb_client_options("fasttrack", opts, option, &o, err, errlen) != 0) return -1;
  if (o.sized && !o.watchsets) {
    snprintf(err, errlen, "fasttrack: cache and blb size the per-thread units of mode=watchsets");
    return -1;
  }
  if (wb_client_data(m, "fasttrack")) { snprintf(err, errlen, "fasttrack: already added"); return -1; }
  fstate *st = calloc(1, sizeof *st);
  if (!st) { snprintf(err, errlen, "out of host memory"); return -1; }
  st->m = m;
  st->filtered = o.filtered;
  st->watchsets = o.watchsets;
  st->ws_cache = o.cache;
  st->ws_blb = o.blb;
  st->ft = ft_new(wb_view_window_offset(m), FT_THREADS, on_race, st);   /* the guest space's size */
  st->s = wb_stream_new(m, "fasttrack", sizeof(race_rec));
  if (!st->ft || !st->s) { ft_free(st->ft); free(st); snprintf(err, errlen, "fasttrack: out of host memory"); return -1; }
  wb_client_ops ops = {.name = "fasttrack", .data = st, .on_block = on_block, .on_thread = on_thread,
                       .on_syscall = on_syscall, .on_run_end = on_run_end, .destroy = destroy};
  /* the filter first: its views and mirrored accesses; then this client's hooks */
  if ((o.filtered && wb_aikido_listen(m, on_shared, on_access, wants_mirrored, st, err, errlen) != 0) || wb_client_add(m, &ops) < 0) {
    if (!err[0]) snprintf(err, errlen, "fasttrack: too many clients");
    ft_free(st->ft);
    free(st);
    return -1;
  }
  wrap_calls(st);   /* the calls the program has (a static binary without them: atomics still count) */
  return 0;
}

/* ---- statistics (engine.h) ---- */

__attribute__((visibility("default"))) int wb_machine_fasttrack_stats(wb_machine *m, wb_fasttrack_stats *out) {
  memset(out, 0, sizeof *out);
  fstate *st = wb_client_data(m, "fasttrack");
  if (!st) return -1;
  ft_stats fs;
  ft_get_stats(st->ft, &fs);
  out->filtered = (uint64_t)st->filtered;
  out->reads = fs.reads;
  out->writes = fs.writes;
  out->same_epoch = fs.same_epoch;
  out->read_shared = fs.read_shared;
  out->syncs = st->syncs;
  out->races = st->reports;
  out->race_pairs = st->n;
  out->in_libc = st->in_libc;
  out->shadow_bytes = fs.shadow_bytes;
  out->watchsets = (uint64_t)st->watchsets;
  out->set_skips = st->ws_skips;
  for (int k = 0; k < st->ws_hi; k++)
    if (st->ws[k]) wb_watchset_add_counts(&out->units, st->ws[k]);
  return 0;
}
