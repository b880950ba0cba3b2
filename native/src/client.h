/* client.h (internal) — registered clients, their per-block instrumentation requests
 * ("actions") and event streams, as the tiers and the run loop see them (client.c, stream.c,
 * wrap.c, client_mem.c). Tier-neutral: nothing here calls into a tier.
 *
 * When a block is built, wb_client_instrument() shows it to every client's on_block and
 * collects the actions they ask for, in order. The interpreter keeps them with the block and
 * runs them from a hook record (wb_hooks_run); the JIT compiles them into the block
 * (inline counters and stream records, clean calls through wb_client_call*).
 */
#ifndef WB_CLIENT_INTERNAL_H
#define WB_CLIENT_INTERNAL_H
#include <stdint.h>
#include "wb/client.h"
#include "decode.h"
#include "machine.h"

#define WB_MAX_CLIENTS 16
#define WB_DRAIN_BYTES_DEFAULT (4ull << 20)
#define WB_STREAM_HARD_CAP (4ull << 30)  /* a single stream never holds more than this */

enum { WB_ACT_COUNT, WB_ACT_COUNT_HART, WB_ACT_CALL, WB_ACT_TRACE_MEM, WB_ACT_CALL_MEM, WB_ACT_BURST,
       WB_ACT_MIRROR /* translated code only: wb_bb_mirror_mem (the interpreter skips it) */ };

typedef struct wb_action {
  uint8_t kind;
  uint8_t size;        /* memory actions: access size */
  uint8_t memkind;     /* memory actions: enum wb_mem_kind */
  uint8_t rs1;         /* memory actions: base register */
  uint8_t rs2;         /* memory actions: the register a store (or AMO) writes */
  uint8_t fpval;       /* ... which is an FP register (fsw, fsd) */
  uint16_t insn;       /* instruction index in the block */
  int32_t imm;         /* memory actions: offset from rs1 */
  uint8_t client;      /* COUNT_HART: whose counter table */
  uint32_t counter;    /* COUNT_HART: the counter's index in it */
  uint64_t amount;     /* COUNT, COUNT_HART */
  void *ptr;           /* COUNT: the counter; CALL*: the function; TRACE_MEM: the stream */
  void *data;          /* CALL*: its data */
  struct wb_burst *burst; /* BURST: the counters; other kinds: only in that burst's
                             instrumented copy (NULL: always) */
  uint8_t novalue;     /* CALL_MEM: the call gets value 0 (wb_bb_call_addr: no peek before a load) */
  uint8_t viewonly;    /* MIRROR: an atomic: the view is chosen, nothing counted or called */
  uint8_t guarded;     /* CALL: only when guest register rs1 lies in [lo, hi) (checked inline) */
  uint64_t lo, hi;     /* MIRROR: lo = the filter's page count (a power of two) */
  const uint8_t *filter; /* MIRROR: one byte per guest page; nonzero: count and call */
  int32_t hcounter;    /* MIRROR: the per-hart counter to count in (client in `client`), or -1 */
} wb_action;

/* A stream: its records live per hart (hart.h: wb_stream_seg, harts[h]->streams[index]). */
struct wb_stream {
  int index;           /* its slot in wb_clients.streams and in each hart's streams[] */
  uint32_t record_size;
  char name[48];
  wb_machine *m;
};

#define WB_MAX_WRAPS 64
typedef struct wb_wrap_rec {
  uint64_t pc;
  wb_wrap_pre_fn pre;
  wb_wrap_post_fn post;
  void *data;
  int guard_arg;             /* >= 0: the pre hook runs only when this argument is in [lo, hi) */
  uint64_t lo, hi;
} wb_wrap_rec;
typedef struct wb_wrap_frame {
  uint64_t ra, sp;
  void *user;
  const wb_wrap_rec *w;
} wb_wrap_frame;

typedef struct wb_clients {
  wb_client_ops ops[WB_MAX_CLIENTS];
  int n;
  int n_on_block;
  wb_stream *streams[WB_MAX_STREAMS];
  int nstreams;
  uint64_t drain_bytes;
  wb_wrap_rec wraps[WB_MAX_WRAPS];
  int nwraps;                 /* (calls in flight are per hart: hart.h frames) */
  uint32_t counting;          /* bit k: client k counts per hart (every hart has its table) */
} wb_clients;

struct wb_bb {
  wb_machine *m;
  uint64_t pc;
  unsigned n;
  const wb_insn *insns;
  const uint64_t *pcs;
  wb_action *acts;
  unsigned nacts, cap;
};

/* Show the block [insns, pcs] to every client's on_block; returns the number of actions
 * collected into *acts (malloc'd, the caller frees; NULL when none). */
unsigned wb_client_instrument(wb_machine *m, uint64_t pc, const wb_insn *insns,
                              const uint64_t *pcs, unsigned n, wb_action **acts);
/* Memory access size/kind of an instruction (0 if it does not access memory). */
int wb_insn_mem_info(const wb_insn *in, unsigned *size, int *kind);

/* The machine's client registry (made on first use; NULL only when out of memory). */
wb_clients *wb_clients_of(wb_machine *m);
/* A new action of `kind` for instruction i of the block (NULL if i is out of range). */
wb_action *wb_bb_add_action(wb_bb *bb, int kind, unsigned i);
/* Add the entry calls of wrapped functions that start in this block (wrap.c). */
void wb_wrap_instrument(wb_bb *bb);

/* Make room for `need` more bytes in hart h's part of s (grows; asks for a drain past the
 * high-water mark). */
void wb_stream_reserve(wb_hart *h, wb_stream *s, uint64_t need);
/* A zeroed record appended to hart h's part of s (wb_stream_push on a given hart). */
void *wb_stream_push_on(wb_hart *h, wb_stream *s);
/* Free the streams' buffers in every hart (wb_clients_fini). */
void wb_streams_fini(wb_machine *m);
/* Give a new hart its segment of every stream (scheduler.c). 0, or -1 when out of memory. */
int wb_streams_hart_init(wb_hart *h);
/* Give a new hart the counter table of every client that counts per hart (wb_bb_count_hart;
 * scheduler.c). 0, or -1 when out of host memory. */
int wb_counters_hart_init(wb_hart *h);
/* Ask the run to pause (WB_REASON_DRAIN) at the next block boundary. */
void wb_machine_request_drain(wb_machine *m);

/* Run the actions of instruction i (interpreter): icount = instructions retired before it. */
void wb_hooks_run(wb_hart *h, const wb_action *acts, unsigned nacts, uint64_t icount, uint64_t pc);
/* Count a marked block's entry (wb_bb_burst); switches the copies at zero. */
void wb_burst_step(struct wb_burst *b);
/* The switch itself (translated code has already counted the entry down to zero). */
void wb_burst_switch(struct wb_burst *b);
/* Clean calls from translated code (the guest state is in the hart, instret exact). */
void wb_client_call(wb_hart *h, const wb_action *a, uint64_t pc);
void wb_client_call_mem(wb_hart *h, const wb_action *a, uint64_t pc, uint64_t addr);

/* A view denied a guest access: ask the clients (0: complete it and resume, 1: guest fault;
 * 1 also when no client handles view faults). */
int wb_clients_view_fault(wb_hart *h, int view, uint64_t pc, uint64_t addr, unsigned size, int kind);
/* Some client mapped [addr, addr+len) on demand (on_unmapped): 1, the access may run again. */
int wb_clients_unmapped(wb_hart *h, uint64_t addr, uint64_t len);
/* A watchpoint triggered (watch/online.c): every client's on_watch. */
void wb_clients_watch(wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind);

/* The guest jumped to WB_WRAP_RETURN: run the post hook of the innermost wrapped call and
 * return the pc to continue at (its real return address). Stops the machine (and returns
 * WB_WRAP_RETURN) if no wrapped call is pending. */
uint64_t wb_wrap_return(wb_hart *h);

/* Lifecycle (machine.c) */
void wb_clients_syscall(wb_hart *h, uint64_t nr, const uint64_t args[6], int64_t ret);
void wb_clients_run_end(wb_machine *m);
/* A guest thread started on hart h (first run of the main thread) or ended (the run's final
 * stop). */
void wb_clients_thread(wb_hart *h, int started);
void wb_clients_fini(wb_machine *m);

/* Built-in clients (clients/): add by name */
int wb_builtin_add(wb_machine *m, const char *name, const char *opts, char *err, size_t errlen);

#endif
