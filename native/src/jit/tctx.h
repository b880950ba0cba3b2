/* tctx.h — the JIT's translation context: the state of translating one guest block, shared by
 * the per-instruction translators (translate.c) and the instrumentation emitters
 * (instrument.c), with the few helpers both use. Only translation code includes this. */
#ifndef WB_JIT_TCTX_H
#define WB_JIT_TCTX_H
#include "jit_internal.h"
#include "client.h"
#include "interp.h"

#define MAX_STUBS (3 * WB_BLOCK_MAX + 4)
#define INSN_ROOM 640     /* worst-case bytes of one translated instruction */
#define STUB_ROOM 64      /* worst-case bytes of one stub */

typedef struct stub {
  uint8_t *field;         /* rel32 to point at the stub */
  int kind;
  uint64_t pc;
  unsigned idx;
  int reg;                /* JX_INDIRECT: 1 = a direct exit to another page in system mode
                             (the stub stores pc and probes the jump table) */
  int restore;            /* JX_LIMIT, JX_STREAM: block length to give back */
  void *ptr;              /* JX_STREAM: stream */
  uint64_t amount;        /* JX_STREAM: bytes */
} stub;

typedef struct tctx {
  wb_machine *m;
  struct wb_jit *J;
  x86_buf b;
  const int8_t *map;
  unsigned i, n;
  uint64_t block_pc;      /* pc of instruction 0 */
  uint64_t pc;            /* pc of instruction i */
  uint64_t end_pc;        /* pc after instruction i */
  stub stubs[MAX_STUBS];
  unsigned nstubs;
  int full;
  uint32_t checked;       /* guest registers whose value was checked < bound in this block */
  int fwd_reg, fwd_host;  /* store forwarding (see forwarded()) */
  unsigned mem_size;      /* system mode: the access being translated (bytes, a store?) */
  int mem_store;
  uint8_t *sys_miss;      /* ... and the probe's jump to its miss path */
  struct {                /* system mode: miss paths emitted after the block's body */
    uint8_t *miss, *done; /* the probe's jump to it, and where it goes back to */
    wb_insn in;
    unsigned i;
    uint64_t pc;
  } sys_defer[WB_BLOCK_MAX];
  unsigned nsys_defer;
  uint8_t *fwd_end;
  int mirror;             /* the access of instruction i goes through the primary view (a
                             load or store the watchpoint unit checks inline: jit/watch.c),
                             or TX_MIRROR_CHOSEN: through the base a wb_bb_mirror_mem test
                             left in hart.jit_base (jit/instrument.c) */
} tctx;
#define TX_MIRROR_CHOSEN 2

/* host register of guest register r, or -1 (in memory) */
static inline int hreg(tctx *t, unsigned r) { return t->map[r]; }
/* 1 if host register h is not preserved across C calls (SysV) */
static inline int caller_saved(int h) { return h == X_RSI || h == X_RDI || (h >= X_R8 && h <= X_R11); }

/* a cold exit for the branch or jump whose rel32 is at `field` (emitted after the block) */
void wb_tx_add_stub(tctx *t, uint8_t *field, int kind, uint64_t pc, int reg, int restore);
/* an exit descriptor for instruction idx at pc (rollback: the block's instructions from idx
 * on), in the metadata arena; NULL (t->full) when it is full */
wb_jit_exit *wb_tx_new_exit(tctx *t, int kind, uint64_t pc, unsigned idx);
/* host register h = guest register r */
void wb_tx_ld(tctx *t, int h, unsigned r);
/* A clean call fn(hart, arg, pc, rcx) before instruction t->i: the mapped registers, the count
 * and an exact instret in the hart around it (rcx: the caller's fourth argument). */
void wb_tx_clean_call(tctx *t, void *fn, uint64_t arg);
/* The watchpoint unit (jit/watch.c): 1 if instruction `in` gets the inline check; the check
 * before it, and after it the exit for a watch trap it owes the guest. */
int wb_tx_watch_wants(tctx *t, const wb_insn *in);
void wb_tx_watch_before(tctx *t, const wb_insn *in);
void wb_tx_watch_after(tctx *t);
/* the mapped guest registers to memory (before a call) and back (after it) */
void wb_tx_spill_all(tctx *t);
void wb_tx_reload_all(tctx *t);

/* ---- guest memory accesses (mmu_flat.c: the chokepoint of mmu.h) ---- */
/* A host addressing form [base + index + disp] for the access at guest register rs1 + imm
 * (registers already read; emits whatever check or translation the backend needs). */
typedef struct { int base, index; int32_t disp; } wb_tx_addr;
wb_tx_addr wb_tx_mem(tctx *t, unsigned rs1, int64_t imm);
/* System mode (mmu_sys.c): the same through the soft TLB's inline probe, and the whole memory
 * instruction `in`: `access` (the translator: wb_tx_mem, the access, rd) on the hit path,
 * the soft MMU's call on a miss (or always, where there is no inline path). */
wb_tx_addr wb_tx_mem_sys(tctx *t, unsigned rs1, int64_t imm);
void wb_tx_sys_mem(tctx *t, const wb_insn *in, void (*access)(tctx *t, const wb_insn *in));
/* After the block's body: the miss paths of its inline accesses (out of the hot path). 0 if
 * the code arena is full. */
int wb_tx_sys_mem_misses(tctx *t);

/* ---- client instrumentation (instrument.c) ---- */
/* Code that runs instruction t->i's actions; mode 0 a block without bursty tracing, 1 its
 * checking copy, 2 its instrumented copy. */
void wb_tx_emit_actions(tctx *t, const wb_action *acts, unsigned nacts, int mode);
/* At block entry: leave through a stream stub unless every stream the block's nacts actions
 * record into has room for them. 0 if the block records into too many streams. */
int wb_tx_stream_room(tctx *t, const wb_action *acts, unsigned nacts);
/* 1 if the actions of one instruction include a mirrored access (wb_bb_mirror_mem). */
int wb_tx_acts_mirror(const wb_action *acts, unsigned nacts);
/* At block entry of a block marked for bursty tracing: count the entry, switch copies at
 * zero; returns the jump (rel32 field) to patch to the instrumented copy. */
uint8_t *wb_tx_burst_entry(tctx *t, wb_burst *burst);
/* taint.c: taint tracking's second copy of every block (watch/taint.c) */
int wb_tx_taint_wants(const tctx *t);
/* entry: jump (the returned rel32 field) to the taint copy while hart.taint.on */
uint8_t *wb_tx_taint_entry(tctx *t);
/* before instruction in, in the taint copy: propagate its taint (a clean call) */
void wb_tx_taint_insn(tctx *t, const wb_insn *in);

#endif
