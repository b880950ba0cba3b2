/* watch.h — the watchpoint unit of Greathouse et al. (ASPLOS 2012) as the engine models it:
 * a range table holding every byte's watch bits (ranges.c) and a range cache of the runs
 * recently looked up (rcache.c), with the counters the study reports. docs/watchpoints.md is
 * the exact specification; workbench/models/watch.py follows the same one, so the two agree
 * counter for counter on any trace (wb_watch_replay, tests/test_watch_unit.py).
 */
#ifndef WB_WATCH_H
#define WB_WATCH_H
#include <stddef.h>
#include <stdint.h>
#include "wb/engine.h"

#define WB_WATCH_READ  1u
#define WB_WATCH_WRITE 2u
#define WB_WATCH_MAX_SEGMENTS (1u << 24)   /* the table's memory cap: 2^24 segments */

/* ---- ranges.c: the range table ---- */

/* A run of bytes [first, last] (inclusive) with the same watch bits. */
typedef struct wb_watch_run { uint64_t first, last; uint32_t bits; } wb_watch_run;

typedef struct wb_watch_table wb_watch_table;

wb_watch_table *wb_watch_table_new(void);
void wb_watch_table_free(wb_watch_table *t);
/* Segments (maximal runs with nonzero bits) the table holds, and the most it ever held. */
size_t wb_watch_table_segments(const wb_watch_table *t);
size_t wb_watch_table_segments_max(const wb_watch_table *t);
/* The run containing byte p: its segment, or the gap around it (bits 0). */
wb_watch_run wb_watch_table_run(const wb_watch_table *t, uint64_t p);
/* OR (set = 1) or clear (set = 0) `bits` over bytes [first, last]. *splits and *merges get
 * the operation's counts (docs/watchpoints.md). 0, or -1 with err when the table would need
 * more than WB_WATCH_MAX_SEGMENTS segments or host memory (the table is then unchanged). */
int wb_watch_table_apply(wb_watch_table *t, int set, uint32_t bits, uint64_t first, uint64_t last,
                         unsigned *splits, unsigned *merges, char *err, size_t errlen);

/* ---- lru.c: a fully associative LRU set of 64-bit keys (both caches' shape) ---- */

typedef struct wb_lru_entry { uint64_t key, stamp; uint32_t prev, next, hnext; } wb_lru_entry;
typedef struct wb_lru {
  wb_lru_entry *e;       /* cap + WB_LRU_SLACK slots: a replacement may overfill it briefly */
  uint32_t cap, used, head, tail, free_list;
  uint32_t *hash;        /* heads of chains, hmask + 1 of them */
  uint64_t hmask;
  uint64_t clock;        /* the stamp of the latest touch or insert */
} wb_lru;
#define WB_LRU_SLACK 2u

/* An empty set of `entries` entries (0: always empty). 0, or -1 out of host memory. */
int wb_lru_init(wb_lru *l, uint64_t entries);
void wb_lru_fini(wb_lru *l);
/* 1 and key becomes the most recently used, if the set holds it; else 0. */
int wb_lru_touch(wb_lru *l, uint64_t key);
/* Insert key (not held, cap >= 1) as the most recently used; 1 if that evicted the LRU. */
int wb_lru_insert(wb_lru *l, uint64_t key);
/* Remove key: 1 if it was held. */
int wb_lru_remove(wb_lru *l, uint64_t key);
/* Replacing entries in place (rcache.c): the slot holding key (UINT32_MAX: none); take a slot
 * out of the look-up by key while it stays in the LRU order (unkey) and give it a key again
 * (rekey); free an unkeyed slot (discard); insert key right after slot `at`, as recently used
 * as it (its stamp), possibly past cap by up to WB_LRU_SLACK; evict the least recently used
 * entries until at most cap remain (trim: how many went). */
uint32_t wb_lru_find(const wb_lru *l, uint64_t key);
void wb_lru_unkey(wb_lru *l, uint32_t i);
void wb_lru_rekey(wb_lru *l, uint32_t i, uint64_t key);
void wb_lru_discard(wb_lru *l, uint32_t i);
uint32_t wb_lru_insert_after(wb_lru *l, uint32_t at, uint64_t key);
unsigned wb_lru_trim(wb_lru *l);

/* ---- rcache.c: the range cache, the bitmap lookaside buffer and the counters ---- */

/* (wb_watch_counters: wb/engine.h) */

typedef struct wb_watch_unit wb_watch_unit;

#define WB_WATCH_BLB_LINE 64     /* bytes per bitmap line */
#define WB_WATCH_BLB_RUNS 4      /* default density: runs intersecting a line that make it dense */

/* A unit with an empty table, a range cache of `entries` entries (>= 1) and a bitmap
 * lookaside buffer of blb_entries entries (0: none) for lines crossed by at least blb_runs
 * runs (>= 2). NULL with err for bad sizes or out of host memory. */
wb_watch_unit *wb_watch_unit_new(uint64_t entries, uint64_t blb_entries, uint64_t blb_runs,
                                 char *err, size_t errlen);
void wb_watch_unit_free(wb_watch_unit *u);
/* An access of len bytes (1..8, not wrapping) at addr; store: 1 for a write. Returns 1 when it
 * touches a byte watched for its kind (a trigger), else 0. */
int wb_watch_access(wb_watch_unit *u, uint64_t addr, unsigned len, int store);
/* Watch (set = 1) or stop watching bytes [addr, addr + len) for `bits`: 0, or -1 with err. */
int wb_watch_change(wb_watch_unit *u, int set, uint32_t bits, uint64_t addr, uint64_t len,
                    char *err, size_t errlen);
const wb_watch_counters *wb_watch_counts(wb_watch_unit *u);
const wb_watch_table *wb_watch_unit_table(const wb_watch_unit *u);

/* ---- online.c: the unit on a running machine (wb_config.watch) ---- */

#define WB_WATCH_DEFAULT_CACHE 64          /* range-cache entries when watch_cache is 0 */
#define WB_WATCHPT_ILLEGAL INT64_MIN       /* wb_watchpt_guest: the unit is off */
#define WB_WATCH_TRAP_WHAT "watchpoint"    /* wb_trap.what of a watch trap */
/* h->watch_hit bits: what the hart owes right after the checked access completes */
#define WB_WATCH_HIT_TRAP  1u              /* a watch trap (the guest watched the byte) */
#define WB_WATCH_HIT_TAINT 2u              /* taint propagation of the access, then stepping */

struct wb_machine;
struct wb_hart;
int wb_watchpt_init(struct wb_machine *m, char *err, size_t errlen);
void wb_watchpt_fini(struct wb_machine *m);
/* Set (set = 1) or clear watch bits `flags` of [addr, addr+len): 0 or -errno with err. */
int wb_watchpt_change(struct wb_machine *m, int set, uint64_t addr, uint64_t len, unsigned flags,
                      char *err, size_t errlen);
/* The filter view (-1: the unit is off). */
int wb_watchpt_view(const struct wb_machine *m);
/* An access of the instruction at pc faulted in the filter view (the engine lock is held):
 * check it (once per instruction instance) and, for a plain load or store under the JIT,
 * mark the instruction and ask for its blocks to be rebuilt. */
void wb_watchpt_fault(struct wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, int plain);
/* JIT: 1 if the load or store at pc gets the inline check (marked, or the software mechanism). */
int wb_watchpt_marked(const struct wb_machine *m, uint64_t pc);
/* JIT: the page filter the inline check tests, indexed by (address >> 12) & *mask. */
const uint8_t *wb_watchpt_pages(const struct wb_machine *m, uint64_t *mask);
/* JIT: the inline check's call (size_kind = size | kind << 8), a clean call. */
void wb_watchpt_jit_check(struct wb_hart *h, uint64_t size_kind, uint64_t pc, uint64_t addr);
/* JIT: a block was rebuilt with inline checks (counted). */
void wb_watchpt_rebuilt(struct wb_machine *m);
/* After the instruction whose access set h->watch_hit completed (h->pc is the next one): raise
 * the watch trap. 1 if the run stops (as wb_trap_raise). */
int wb_watchpt_trap(struct wb_hart *h);
/* The guest's wp.set (set = 1) / wp.clear: the value for rd (0 or -errno), or
 * WB_WATCHPT_ILLEGAL when the unit is off. */
int64_t wb_watchpt_guest(struct wb_hart *h, int set, uint64_t addr, uint64_t len, unsigned flags);


/* ---- taint.c: taint tracking on the unit (wb_taint_enable) ---- */

/* Propagate the access a trigger noted (it has completed); hart.taint.on = any register tainted. */
void wb_taint_settle(struct wb_hart *h);
/* Step the hart through the interpreter, each instruction after its propagation, while any
 * register is tainted, at most max instructions (returns early when the run must stop or the
 * hart must leave). Returns the instructions stepped; hart.taint.on is up to date after. */
uint64_t wb_taint_step(struct wb_hart *h, uint64_t max);
/* Before the tier (re-)enters: settle a noted access; the interpreter tier then steps while
 * registers are tainted (the JIT's blocks have taint copies: jit/taint.c). */
void wb_taint_resume(struct wb_hart *h);
/* Before instruction in runs (the guest state exact): propagate its taint. */
struct wb_insn;
void wb_taint_insn(struct wb_hart *h, const struct wb_insn *in);
/* After an ecall's syscall: its result (a0) is clean, the argument note is over. */
void wb_taint_ecall_done(struct wb_hart *h);
/* A checked access of the instruction at pc touched tainted bytes at addr (before it runs);
 * ignored while registers are tainted (the instruction's propagation has run already). */
void wb_taint_trigger(struct wb_hart *h, uint64_t pc, uint64_t addr);
void wb_taint_fini(struct wb_machine *m);
/* The memory operand of a load, store or atomic op: its size (0: none) and whether a load
 * sign-extends. */
unsigned wb_taint_access(unsigned op, int *sext);
/* The JIT's inline look-ups: the shadow (bit a & 7 of byte a >> 3 for guest byte a, readable
 * a little past the end of the space), the guest pages and their changed-since-flush flags. */
uint8_t *wb_taint_shadow(const struct wb_machine *m, uint64_t *npages, uint8_t **dirty);
/* The unit's watch set in line with the shadow on every page changed while harts propagated
 * (before code on clean registers runs: wb_taint_clean_again, a hart leaving its tier). */
void wb_taint_flush(struct wb_machine *m);
/* No register of h is tainted any more: its taint copies stop (hart.taint.on = 0) and the
 * unit's watch set is brought in line (wb_taint_flush). */
void wb_taint_clean_again(struct wb_hart *h);
/* The addresses policy is on (wb_taint_addresses): the JIT calls wb_taint_insn for accesses. */
int wb_taint_follows_addresses(const struct wb_machine *m);
/* online.c: the run of the unit's table containing byte a (its watch bits). */
wb_watch_run wb_watchpt_run(const struct wb_machine *m, uint64_t a);

#endif
