/* fasttrack.h — the core of the FastTrack happens-before race detector (Flanagan & Freund,
 * PLDI 2009), independent of the engine: the caller feeds it thread lifecycle, synchronisation
 * and plain memory accesses, and it reports pairs of conflicting accesses that no
 * happens-before edge orders.
 *
 * What it keeps: a vector clock per thread and per synchronisation object, and a shadow cell
 * per guest byte (byte-precise: two threads touching different bytes of one word never race)
 * holding the last write as an epoch (tid, clock) and the last reads as an epoch, or as a
 * read-shared vector clock when concurrent reads make one epoch insufficient.
 *
 * Epochs and clocks: every thread's own clock starts at 1, so the all-zero shadow cell (what
 * untouched memory reads as) means "never accessed" and can never be mistaken for the access
 * of thread 0 at clock 0. Clocks have 53 bits: they cannot wrap in any real run.
 *
 * Races: each detection calls on_race once (within one access, identical earlier accesses found
 * on several bytes are reported once; the caller deduplicates further by pc pair). After a race
 * the shadow is updated as if the racing access had been ordered after the earlier one, so a
 * bug reports on the access that exposes it and then again only when a new unordered pair
 * appears (not on every later access of the same location). on_race must not call back into
 * the detector.
 *
 * No global state; no locking: the caller serialises every call on one ft_state.
 */
#ifndef WB_FASTTRACK_H
#define WB_FASTTRACK_H
#include <stdint.h>

#define FT_MAX_THREADS 1024    /* tids are 10 bits in an epoch */
#define FT_MAX_ACCESS 16       /* the widest access ft_read / ft_write take (bytes) */

typedef struct ft_state ft_state;

typedef struct ft_race {          /* one race: the earlier access and the one that raced with it */
  uint64_t addr;                  /* first byte of the current access found racing */
  uint64_t prev_pc, cur_pc;       /* prev_pc 0: unknown (pc table out of host memory) */
  int prev_tid, cur_tid;
  uint8_t prev_write, cur_write;  /* 1 write, 0 read */
} ft_race;

typedef void (*ft_race_fn)(void *ctx, const ft_race *r);

/* space_size: guest addresses are [0, space_size); the shadow (24 bytes per guest byte) is
 * reserved lazily (mmap MAP_NORESERVE: pages never touched cost nothing). max_threads: tids are
 * 0..max_threads-1 (1..FT_MAX_THREADS). on_race may be NULL (races are then only counted).
 * Returns NULL on bad arguments or when the reservation or host memory fails. */
ft_state *ft_new(uint64_t space_size, int max_threads, ft_race_fn on_race, void *ctx);
void ft_free(ft_state *);

/* Thread lifecycle. A tid needs no announcement: its first use starts it with an empty clock
 * (a thread with no known origin, e.g. the first thread). Its clock stays after it stops, so
 * ft_join may come any time later.
 * ft_fork: the child starts with the parent's clock (child VC := child VC joined with parent VC,
 * then the child's own component incremented, which also separates a reused tid from its
 * earlier life); the parent's own component is incremented. parent == child is ignored. */
void ft_fork(ft_state *, int parent, int child);
/* The joiner acquires everything the exited thread did (joiner VC := joiner VC joined with the
 * exited thread's VC); the exited thread's own component is incremented, so anything it would
 * still do is not ordered before the joiner. */
void ft_join(ft_state *, int joiner, int exited);

/* Synchronisation objects identified by a 64-bit key (a lock/futex/atomic address).
 * ft_acquire: C_t := C_t joined with L_sync (nothing when sync was never released).
 * ft_release: L_sync := L_sync joined with C_t (joined rather than copied, so several threads
 * releasing one key, as atomics do, all stay visible), then C_t[t]++. */
void ft_acquire(ft_state *, int tid, uint64_t sync);
void ft_release(ft_state *, int tid, uint64_t sync);
/* An atomic read-modify-write on sync = acquire then release. */
void ft_atomic(ft_state *, int tid, uint64_t sync);

/* A plain access of size bytes (1..FT_MAX_ACCESS, may be unaligned, may span 8-byte words) by
 * the instruction at pc. A bad tid, size or range (addr + size beyond space_size) is ignored
 * and counted (ft_stats.ignored). */
void ft_read(ft_state *, int tid, uint64_t addr, unsigned size, uint64_t pc);
void ft_write(ft_state *, int tid, uint64_t addr, unsigned size, uint64_t pc);

/* Forget the shadow of [addr, addr+len) (memory freed/unmapped/reused: no races across reuse);
 * the part beyond space_size is ignored. Whole shadow pages are dropped (madvise), so a huge
 * range is cheap. The read-shared vector clocks its cells referenced are released when the
 * range is small (up to FT_FORGET_SCAN bytes, e.g. a free()d block) or at its partial-page
 * edges; those referenced only from dropped pages of a larger range are leaked (kept, never
 * freed: a finite cost, visible as ft_stats.read_vcs) rather than found by scanning. */
#define FT_FORGET_SCAN (64u << 10)
void ft_forget(ft_state *, uint64_t addr, uint64_t len);

/* Thread tid's current epoch (its own clock component with its tid; 0 before its first use):
 * it changes exactly when the same-epoch fast path stops applying to the thread's earlier
 * accesses (a release, a fork, being joined), which read/write-set filters key on. */
uint64_t ft_epoch(const ft_state *, int tid);

typedef struct ft_stats {
  uint64_t reads, writes;   /* accesses taken (not ignored) */
  uint64_t same_epoch;      /* accesses the same-epoch fast path finished (no shadow change) */
  uint64_t read_shared;     /* reads that inflated a read epoch to a read-shared VC or updated one */
  uint64_t vc_ops;          /* O(threads) vector-clock operations (joins, inflations, VC checks) */
  uint64_t syncs;           /* fork, join, acquire and release events (an atomic is two) */
  uint64_t races;           /* on_race calls */
  uint64_t shadow_bytes;    /* host memory held: resident shadow pages and every vector clock */
  uint64_t ignored;         /* calls dropped for a bad tid, size or address */
  uint64_t read_vcs;        /* read-shared VCs alive now (leaked ones included, ft_forget) */
  uint64_t pcs;             /* distinct pcs recorded in the shadow */
} ft_stats;
/* The counters so far; shadow_bytes asks the kernel which shadow pages are resident (mincore),
 * a page-table walk over the reservation: cheap, but not for every access. */
void ft_get_stats(const ft_state *, ft_stats *);

/* Self-check for tests: recount, over the cells of [addr, addr+len), the references to each
 * read-shared VC and compare them with the VCs' reference counts, and check every epoch's tid.
 * Meaningful when every cell referencing a VC lies in the range and no ft_forget leaked one.
 * Returns the number of inconsistencies (0: consistent). Reads every cell: small ranges only. */
uint64_t ft_check(const ft_state *, uint64_t addr, uint64_t len);

#endif
