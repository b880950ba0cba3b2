/* client.h — the instrumentation API: analyses ("clients") written in C, registered on a machine.
 *
 * A client is a set of hooks. The one that matters for speed is on_block: it is called when
 * a guest block is translated (JIT) or decoded (interpreter) — not when it runs — and asks the
 * engine to weave instrumentation into the block: inline counters, calls before an
 * instruction, an inline record of every memory access, or a call per access. Both tiers
 * honour the same requests at the same points, so a client sees the same events on either.
 * Events go into streams of fixed-size records that Python drains as numpy structured arrays
 * (no Python call per event); a stream that grows past its high-water mark pauses the run at
 * the next block boundary (reason "drain"), Python empties it and the run continues.
 *
 * Several clients may be active; hooks run in registration order, and within a block the
 * requests for one instruction are honoured in the order they were made.
 *
 * Memory-access events are taken *before* the access (after its address is computed): an
 * access that faults is still recorded, and a load's value is the value it is about to read.
 *
 * Hooks that run while the guest runs get the *hart* (hardware thread) they run on: its id
 * (wb_hart_id, the guest thread in user mode), its exact instruction count, its machine, and
 * one per-hart slot per client (wb_hart_slot) for thread-local analysis state.
 *
 * Versioning: wb_client_add() passes WB_CLIENT_API_VERSION and sizeof(wb_client_ops) to the
 * engine, which refuses a client built against an API it does not implement.
 *
 * Example — count executions of every block that starts a function called "foo":
 *
 *   static void on_block(void *data, wb_bb *bb) {
 *     uint64_t *counter = data;
 *     if (wb_bb_pc(bb) == FOO_ENTRY) wb_bb_count(bb, counter, 1);
 *   }
 *   static uint64_t foo_calls;
 *   wb_client_ops ops = {.name = "foo-count", .data = &foo_calls, .on_block = on_block};
 *   wb_client_add(m, &ops);             // after wb_machine_create, before wb_machine_run
 *
 * and one that records every store into a stream:
 *
 *   static void on_block(void *data, wb_bb *bb) {
 *     for (unsigned i = 0; i < wb_bb_size(bb); i++) {
 *       unsigned size; int kind;
 *       if (wb_bb_insn_mem(bb, i, &size, &kind) && kind == WB_MEM_STORE)
 *         wb_bb_trace_mem(bb, i, (wb_stream *)data);
 *     }
 *   }
 *   wb_stream *s = wb_stream_new(m, "stores", sizeof(wb_mem_record));
 *   wb_client_ops ops = {.name = "stores", .data = s, .on_block = on_block};
 */
#ifndef WB_CLIENT_H
#define WB_CLIENT_H
#include <stdint.h>
#include "wb/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API (bumped on every incompatible change: 2 added harts to the hooks,
 * 3 the watchpoint hook). Additions that change no existing struct keep it. */
#define WB_CLIENT_API_VERSION 3

typedef struct wb_stream wb_stream;
typedef struct wb_bb wb_bb;
typedef struct wb_hart wb_hart;   /* a hardware thread of a machine */

enum wb_mem_kind { WB_MEM_LOAD = 0, WB_MEM_STORE = 1, WB_MEM_ATOMIC = 2 };

/* The record wb_bb_trace_mem writes (32 bytes, little-endian; the "memtrace" schema). */
typedef struct wb_mem_record {
  uint64_t icount;   /* instructions retired before this one */
  uint64_t pc;
  uint64_t addr;     /* guest address accessed */
  uint16_t thread;
  uint8_t size;      /* bytes */
  uint8_t kind;      /* enum wb_mem_kind */
  uint8_t priv;      /* the hart's privilege (wb_hart_priv) */
  uint8_t pad[3];    /* 0 */
} wb_mem_record;

/* Called before instruction `pc` runs on hart h; wb_hart_icount(h) is exact inside. */
typedef void (*wb_insn_fn)(void *data, wb_hart *h, uint64_t pc);
/* Called before a memory access; value: the value stored, or the value about to be loaded
 * (0 if the address is not readable: the access is about to fault). */
typedef void (*wb_mem_fn)(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size,
                          int kind, uint64_t value);

typedef struct wb_client_ops {
  const char *name;
  void *data;                                  /* passed to every hook */
  void (*on_block)(void *data, wb_bb *bb);     /* a block is being translated or decoded */
  /* after every syscall: number, arguments a0..a5 and result */
  void (*on_syscall)(void *data, wb_hart *h, uint64_t nr, const uint64_t args[6], int64_t ret);
  void (*on_thread)(void *data, wb_hart *h, int started); /* a guest thread starts/ends on h */
  void (*on_run_end)(void *data, wb_machine *m); /* a run returned: write aggregates to streams */
  void (*destroy)(void *data);                 /* the machine is destroyed */
  /* A guest access faulted only because a view denies it (the guest's own protection allows
   * it). addr is the address the guest used (in a window view: + its window offset). Return
   * 0 to have the engine complete the access through the primary view and resume at the next
   * instruction, nonzero to make it a guest fault. The first client that returns nonzero wins. */
  int (*on_view_fault)(void *data, wb_hart *h, int view, uint64_t pc, uint64_t addr,
                       unsigned size, int kind);
  /* A guest access, or a syscall's buffer, touched guest memory [addr, addr+len) that is not
   * mapped with the protection it needs. Map it (wb_guest_map) and return 1 to have the access
   * run again (or the syscall's check redone); 0 leaves it a guest fault (EFAULT). Memory that
   * grows on demand: the shrink client's fix-up. h: the hart whose access or syscall it was. */
  int (*on_unmapped)(void *data, wb_hart *h, uint64_t addr, uint64_t len);
  /* The watchpoint unit (wb_config.watch): an access of `size` bytes at addr by the
   * instruction at pc touches a byte watched for its kind (enum wb_mem_kind). Called before
   * the access. */
  void (*on_watch)(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind);
} wb_client_ops;

/* Register a client (before wb_machine_run). Returns its client id (>= 0: the index of its
 * per-hart slot), or -1 (too many clients, or an API version/struct size this engine does not
 * know). Use the wb_client_add macro, which passes the version this header describes. */
int wb_client_register(wb_machine *m, const wb_client_ops *ops, uint32_t ops_size, int api_version);
#define wb_client_add(m, ops) \
  wb_client_register((m), (ops), (uint32_t)sizeof *(ops), WB_CLIENT_API_VERSION)
/* The API version the engine implements. */
int wb_client_api_version(void);

/* ---- a client's options ("key=value,key=value", the text after "name:") ---- */
/* Calls each(data, key, value, err, errlen) for every pair, in order (empty items are
 * skipped); 0, or -1 with err: an item without '=' ("CLIENT: option KEY has no value"), text
 * longer than WB_OPTIONS_MAX, or what `each` said (it returns nonzero and fills err). */
#define WB_OPTIONS_MAX 1023
typedef int (*wb_option_fn)(void *data, const char *key, const char *value, char *err, size_t errlen);
int wb_client_options(const char *client, const char *opts, wb_option_fn each, void *data, char *err,
                      size_t errlen);
/* value as a number (decimal, 0x hexadecimal or 0 octal) in [lo, hi]: 0, or -1 with err
 * ("CLIENT: KEY=VALUE is not a number" / "... is out of range LO..HI"). */
int wb_option_number(const char *client, const char *key, const char *value, uint64_t lo, uint64_t hi,
                     uint64_t *out, char *err, size_t errlen);

/* ---- harts (in hooks) ---- */
wb_machine *wb_hart_machine(const wb_hart *h);
int wb_hart_id(const wb_hart *h);                 /* 0..harts-1 (the guest thread in user mode) */
uint64_t wb_hart_icount(const wb_hart *h);         /* instructions this hart retired (exact) */
/* The privilege the hart runs at: 0 U, 1 S, 3 M (user mode: always 0). */
int wb_hart_priv(const wb_hart *h);
/* The physical address virtual address va maps to now for an access of `kind` (enum
 * wb_mem_kind; WB_MEM_FETCH for an instruction fetch) at the hart's effective privilege, in
 * *pa: 0, or -1 when the access would fault. No side effect (no A/D bit set, nothing cached).
 * User mode: the guest's one flat space, pa = va. */
#define WB_MEM_FETCH 3
int wb_hart_translate(const wb_hart *h, uint64_t va, int kind, uint64_t *pa);
/* Integer register r (0..31) of hart h as it stands (in a hook: exact). */
uint64_t wb_hart_reg(const wb_hart *h, unsigned r);
/* 1 once the guest thread of hart h has exited. */
int wb_hart_exited(const wb_hart *h);
/* The hart whose host thread is calling (the one a hook runs for; in on_thread of a new
 * thread: the thread that created it), NULL outside a run. */
wb_hart *wb_machine_running(wb_machine *m);
/* Instructions retired by all harts so far (the guest clock of the deterministic schedule). */
uint64_t wb_machine_total_icount(const wb_machine *m);
/* Blocks translated again for wb_retranslate, and times the deterministic schedule switched
 * harts (each a switch of memory view when harts have their own), so far. */
uint64_t wb_retranslations(const wb_machine *m);
uint64_t wb_hart_switches(const wb_machine *m);
/* Stop the run (reason "internal") with this message: a limit of the client's was reached. */
void wb_client_stop(wb_machine *m, const char *message);
/* 1 for a system-mode machine (the virt board, a soft MMU), 0 for user mode. */
int wb_machine_is_system(const wb_machine *m);
/* The data of the registered client named `name` (its ops.data), NULL if there is none: how
 * one client finds another it builds on. */
void *wb_client_data(wb_machine *m, const char *name);
/* Hart i of a machine (0..wb_machine_hart_count()-1; NULL otherwise): for run-end reports. */
wb_hart *wb_machine_hart(wb_machine *m, int i);
/* The per-hart slot of client `client` (its id from wb_client_add): a pointer the client
 * owns, NULL until it sets one; NULL for a bad id. */
void **wb_hart_slot(wb_hart *h, int client);
/* Thread-local data of client `client` on hart h: `size` zeroed bytes allocated on first use
 * (always ask with the same size) and freed with the machine. NULL for a bad id or when out
 * of host memory. */
void *wb_hart_local(wb_hart *h, int client, size_t size);

/* A stream of fixed-size records named `name` (Python sees it under that name). */
wb_stream *wb_stream_new(wb_machine *m, const char *name, uint32_t record_size);
/* Space for one record (zeroed), valid until the next call on this stream. Never NULL: the
 * buffer grows; past the high-water mark the run pauses for Python to drain it. */
void *wb_stream_push(wb_stream *s);
/* Empty a stream (clients whose stream is a snapshot of aggregates, rewritten at run end). */
void wb_stream_reset(wb_stream *s);

/* ---- bursty tracing (Arnold-Ryder / Hirzel-Chilimbi): a block marked with wb_bb_burst
 * gets two copies, a checking copy (no burst-only instrumentation) and an instrumented copy.
 * Every entry of a marked block counts `left` down; at zero the copies switch: `length`
 * entries run instrumented, then `period - length` entries run the checking copy. */
typedef struct wb_burst {
  volatile uint8_t on;       /* 1 while a burst runs */
  int64_t left;              /* entries until the next switch */
  uint64_t period, length;   /* entries per cycle, instrumented entries per cycle */
  uint64_t bursts;           /* bursts started */
} wb_burst;
/* Initialise b for a period and burst length (in block entries; length <= period). */
void wb_burst_init(wb_burst *b, uint64_t period, uint64_t length);
/* Mark the block: the switch check at its entry, two copies. */
void wb_bb_burst(wb_bb *bb, wb_burst *b);
/* As wb_bb_call_mem, but only in the instrumented copy of a block marked with b. */
void wb_bb_call_mem_burst(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data, wb_burst *b);

/* ---- wrapping guest functions by symbol ---- */
/* pre: at the function's entry, with its return address and arguments a0..a7 (it may change
 * them); *user is handed to post. post: when the function returns, with a pointer to a0 (it
 * may change the return value). */
typedef void (*wb_wrap_pre_fn)(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user);
/* A pre hook that sets *user to this has no use for this call's return: it is not caught
 * (the call then costs one hook at its entry only) and post is not called for it. */
#define WB_WRAP_NO_POST ((void *)-1)
typedef void (*wb_wrap_post_fn)(void *data, wb_hart *h, uint64_t *ret, void *user);
/* The return address a wrapped call returns to: the engine catches the return there (the
 * guest sees it in ra while the function runs). Never mapped. */
#define WB_WRAP_RETURN 0xfffff000ull
/* Wrap function `symbol` of the loaded program (after wb_machine_load). pre or post may be
 * NULL. Returns 0, or -1 if the program has no such symbol or too many wraps. Nested and
 * recursive calls pair up; frames skipped by longjmp are dropped without their post. */
int wb_wrap(wb_machine *m, const char *symbol, wb_wrap_pre_fn pre, wb_wrap_post_fn post, void *data);
/* Run the pre hook of wrapped `symbol` only when its argument `arg` (0..7: a0..a7) lies in
 * [lo, hi); other calls cost an inline compare, no hook. Only for wraps without a post hook.
 * 0, or -1 (no such wrap, a post hook, a bad range). */
int wb_wrap_when(wb_machine *m, const char *symbol, int arg, uint64_t lo, uint64_t hi);
/* Guest address of a symbol of the loaded program (0 if none). */
uint64_t wb_symbol_address(wb_machine *m, const char *symbol);

/* ---- guest memory views (one memfd, several host mappings with their own protection) ---- */
enum { WB_VIEW_DENY_READ = 1, WB_VIEW_DENY_WRITE = 2 };
/* Add a view; window = 1: it is reachable at guest addresses + wb_view_window_offset() (a
 * pointer into it is a "barrier pointer"); window = 0: a whole alternative view, used for
 * all guest accesses once activated (per-thread protection). Returns the view (>= 1) or -1. */
int wb_view_add(wb_machine *m, int window);
/* A whole alternative view (as window = 0) in which every page starts denied, reads and
 * writes: cheaper than adding one and denying everything. The view (>= 1) or -1. */
int wb_view_add_closed(wb_machine *m);
/* Deny reads and/or writes (WB_VIEW_DENY_*) of the pages of [addr, addr+len) in a view. */
int wb_view_deny(wb_machine *m, int view, uint64_t addr, uint64_t len, int deny);
/* Route guest accesses through view v (0 = the primary); takes effect when the run (re)starts
 * or the JIT next returns to its dispatcher. */
int wb_view_activate(wb_machine *m, int view);
/* Offset a window view adds to guest addresses (the guest address space size). */
uint64_t wb_view_window_offset(const wb_machine *m);
/* Faults completed through the primary view so far. */
uint64_t wb_view_faults(const wb_machine *m);
/* Per-thread views (Aikido): route hart h's guest accesses through view v (a whole
 * alternative view, or 0 = the primary) from its next entry into a tier (set it in on_thread
 * before a new thread runs). 0, or -1 (a bad or window view). wb_hart_view: the view now. */
int wb_hart_view_set(wb_hart *h, int view);
int wb_hart_view(const wb_hart *h);
/* Blocks of hart h's code cache holding the instruction at pc are translated again (on_block
 * sees them again) before h runs on, so that a client that has just decided to mirror pc
 * (wb_bb_mirror_mem) is asked anew; blocks whose every copy already mirrors pc are left as
 * they are (a fault there needs no new code). Safe inside on_view_fault. The interpreter
 * keeps its blocks (it never mirrors). */
void wb_retranslate(wb_hart *h, uint64_t pc);

/* ---- watchpoints (a machine created with wb_config.watch; docs/watchpoints.md) ---- */
/* Watch (set) or stop watching (clear) bytes [addr, addr+len) for reads (flags 1), writes (2)
 * or both (3); triggers reach on_watch. 0, -EINVAL (no unit, an empty or wrapping range, bad
 * flags) or -ENOMEM (the table's cap). Clearing what was never set changes nothing. */
int wb_watch_set(wb_machine *m, uint64_t addr, uint64_t len, unsigned flags);
int wb_watch_clear(wb_machine *m, uint64_t addr, uint64_t len, unsigned flags);
/* 1 if the machine has a watchpoint unit (wb_config.watch), else 0. */
int wb_watch_enabled(const wb_machine *m);

/* ---- taint tracking on the watchpoint unit (docs/watchpoints.md, "Taint tracking") ---- */
/* Turn it on (before the run): the engine then propagates taint through every instruction
 * and owns the unit's watch set (wb_watch_set/clear and the guest's wp.set get -EBUSY).
 * 0; -1 when the machine has no watchpoint unit or no host memory, -2 when a client with an
 * on_watch hook is registered (it would share the watch set; such clients are refused after),
 * -3 on the parallel schedule (taint tracking runs harts one at a time). */
int wb_taint_enable(wb_machine *m);
/* Taint (tainted = 1) or clean bytes [addr, addr+len): the sources a client knows of (what
 * read() put in a buffer) and what the kernel overwrote. 0, or -1 (off, outside guest memory). */
int wb_taint_mark(wb_machine *m, uint64_t addr, uint64_t len, int tainted);
/* Policy (before the run): on = 1, a load or store through a tainted address moves tainted
 * bytes (a table look-up indexed by a tainted value gives a tainted result); the default, 0,
 * follows data only. 0, or -1 (taint off, or the run began). */
int wb_taint_addresses(wb_machine *m, int on);
/* How many of bytes [addr, addr+len) are tainted (a sink's check). */
uint64_t wb_taint_bytes(const wb_machine *m, uint64_t addr, uint64_t len);
/* Inside on_syscall: bit i set when argument register a<i> (a0..a7, a7 the number) held taint
 * as the ecall ran. */
unsigned wb_taint_syscall_args(const wb_hart *h);

/* ---- guest memory a client manages ---- */
/* Reserve len bytes (rounded up to pages) of free guest address space, out of reach of the
 * guest's mmap and brk, and return its address (0 if there is no room). Nothing is mapped. */
uint64_t wb_guest_reserve(wb_machine *m, uint64_t len);
/* Map reserved (or free) pages [addr, addr+len) readable and writable, zero-filled; they count
 * against the run's memory cap. 0 or -errno. */
int wb_guest_map(wb_machine *m, uint64_t addr, uint64_t len);
/* Unmap [addr, addr+len) and drop any reservation on it: the pages are free again. */
void wb_guest_release(wb_machine *m, uint64_t addr, uint64_t len);
/* Read len bytes of guest memory into dst (they must be readable): 0 or -EFAULT. */
int wb_guest_read(wb_machine *m, uint64_t addr, void *dst, uint64_t len);
/* Copy len bytes of guest memory (the destination must be writable): 0 or -EFAULT. */
int wb_guest_copy(wb_machine *m, uint64_t dst, uint64_t src, uint64_t len);
/* Which pages of [addr, addr+len) (page-aligned) hold data: vec[i] bit 0 set when page i has
 * been written or read by the guest or for it (resident in guest memory); pages never touched
 * are clear. 0, or -errno. */
int wb_guest_resident(wb_machine *m, uint64_t addr, uint64_t len, uint8_t *vec);
/* Bytes of guest memory mapped now, and the most ever mapped in this run. */
uint64_t wb_guest_mapped(const wb_machine *m, uint64_t *peak);

/* Guest instructions retired so far by the hart running now (hart 0 outside hooks). */
uint64_t wb_machine_icount(const wb_machine *m);

/* ---- inside on_block ---- */
uint64_t wb_bb_pc(const wb_bb *bb);
unsigned wb_bb_size(const wb_bb *bb);                       /* instructions in the block */
uint64_t wb_bb_insn_pc(const wb_bb *bb, unsigned i);
uint32_t wb_bb_insn_raw(const wb_bb *bb, unsigned i);       /* encoding (16-bit if compressed) */
/* 1 if instruction i accesses memory (size in bytes, kind enum wb_mem_kind), else 0. */
int wb_bb_insn_mem(const wb_bb *bb, unsigned i, unsigned *size, int *kind);
/* Inline: *counter += amount each time the block is entered. */
void wb_bb_count(wb_bb *bb, uint64_t *counter, uint64_t amount);
/* Per-thread inline counters: a client that uses them gets, on every hart, a table of
 * WB_HART_COUNTERS 64-bit counters (reserved address space: zero, and costing no memory, until
 * touched). A hart adds only to its own table, so no atomics are needed and counts stay
 * per guest thread, whichever hart translated the block. */
#define WB_HART_COUNTERS (1u << 22)
/* Inline: counter `counter` (< WB_HART_COUNTERS) of client `client`'s table on the hart that
 * runs the block += amount. 0, or -1 (bad client or index, out of host memory). */
int wb_bb_count_hart(wb_bb *bb, int client, uint32_t counter, uint64_t amount);
/* The same, counted when instruction i is reached (an exact count of i's executions, where a
 * block entry count also counts entries that leave the block before i). */
int wb_bb_count_hart_at(wb_bb *bb, unsigned i, int client, uint32_t counter, uint64_t amount);
/* Client `client`'s counter table on hart h (NULL if the client never counted per hart). */
const uint64_t *wb_hart_counters(const wb_hart *h, int client);
/* Call fn(data, hart, pc) before instruction i (a clean call: the guest state is exact). */
void wb_bb_call(wb_bb *bb, unsigned i, wb_insn_fn fn, void *data);
/* Inline: append a wb_mem_record for instruction i's access to stream s (record_size 32). */
void wb_bb_trace_mem(wb_bb *bb, unsigned i, wb_stream *s);
/* Call fn before instruction i's access, with its address, size, kind and value. */
void wb_bb_call_mem(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data);
/* As wb_bb_call_mem without the value (fn gets 0): no read of guest memory before a load, for
 * analyses that only need where an access goes (a race detector). */
void wb_bb_call_addr(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data);
/* Translated code only (Aikido's instrumented path): instruction i accesses memory through
 * the primary view (never denied) instead of its hart's view, and, a plain load or store, when
 * the byte of `filter` for a page it touches is nonzero (filter: one byte per guest page,
 * `pages` of them) it first adds 1 to counter `counter` of client `client`'s per-hart table
 * (wb_bb_count_hart; counter < 0: none) and calls fn (NULL: none; its value is 0). Atomics and LR/SC only
 * change view (no test, no call). The interpreter runs the instruction in the hart's view as
 * ever: where the client denies the pages it flags, the access faults there instead
 * (on_view_fault), which must then do what fn does. */
void wb_bb_mirror_mem(wb_bb *bb, unsigned i, const uint8_t *filter, uint64_t pages, int client,
                      int counter, wb_mem_fn fn, void *data);

/* ---- a watchpoint unit of the client's own ----
 * The engine's model of the unlimited-watchpoint unit (docs/watchpoints.md: a byte-granular
 * range table behind a range cache of cache_entries entries (0: the default, 64) and a bitmap
 * lookaside buffer of blb_entries lines (0: none)), fed by the client rather than by the
 * guest's accesses: one per guest thread gives the per-thread units of the paper (a race
 * detector's read/write-set checks, fasttrack's watchsets mode). NULL with err for bad sizes.
 * wb_watchset_access: an access of len (1..8) bytes; 1 when it touches a byte watched for its
 * kind (bits: 1 read, 2 write). wb_watchset_change: set (1) or clear (0) bits over
 * [addr, addr+len); 0, or -1 with err (an empty or wrapping range, the table's segment cap).
 * wb_watchset_add_counts: add the unit's counters to *sum (segments_max: the larger). */
typedef struct wb_watchset wb_watchset;
#define WB_WATCHSET_READ 1u
#define WB_WATCHSET_WRITE 2u
wb_watchset *wb_watchset_new(uint64_t cache_entries, uint64_t blb_entries, char *err, size_t errlen);
void wb_watchset_free(wb_watchset *w);
int wb_watchset_access(wb_watchset *w, uint64_t addr, unsigned len, int store);
int wb_watchset_change(wb_watchset *w, int set, unsigned bits, uint64_t addr, uint64_t len,
                       char *err, size_t errlen);
const wb_watch_counters *wb_watchset_counts(wb_watchset *w);
void wb_watchset_add_counts(wb_watch_counters *sum, wb_watchset *w);

#ifdef __cplusplus
}
#endif
#endif
