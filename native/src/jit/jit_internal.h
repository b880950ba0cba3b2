/* jit_internal.h — what jit.c (code cache, dispatch, recovery) and translate.c (guest
 * instruction -> host code) share: the translated-block record, exit descriptors and the
 * JIT state. Not visible outside native/src/jit/.
 */
#ifndef WB_JIT_INTERNAL_H
#define WB_JIT_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "jit.h"
#include "x86.h"
#include "decode.h"

struct wb_dinsn;

#define JIT_HASH_BITS 16
#define JIT_HASH_SIZE (1u << JIT_HASH_BITS)
#define JIT_JC_BITS 16                       /* in-cache jump table for indirect jumps */
#define JIT_JC_SIZE (1u << JIT_JC_BITS)
#define JIT_CODE_SIZE_DEFAULT (128u << 20)   /* code arena; cfg.jit_cache_bytes overrides */
#define JIT_PREFIX 4096                      /* enter/exit trampolines at the arena start */
#define JIT_NMAP 9                           /* guest registers held in host registers */
#define JIT_REBUILDS 64                      /* marked instructions waiting for rebuilds */
#define X_LEFT X_R15                         /* host register holding cpu.jit_left */
#define JIT_HOT_BITS 14

/* rbp points this far into wb_hart, so that x[1..15] (and x[16..31]) get disp8 forms */
#define JIT_BIAS 128
#define JD(field) ((int32_t)offsetof(wb_hart, field) - JIT_BIAS)
#define JDX(r) ((int32_t)(offsetof(wb_hart, x) + 8u * (unsigned)(r)) - JIT_BIAS)
#define JDF(r) ((int32_t)(offsetof(wb_hart, f) + 8u * (unsigned)(r)) - JIT_BIAS)

/* How translated code left: what the dispatcher must do next. */
enum {
  JX_DIRECT,    /* to a known guest pc; `patch` is the jump to chain to its translation */
  JX_INDIRECT,  /* to cpu.pc (a jalr whose target was not in the jump table) */
  JX_LIMIT,     /* the block-entry count check failed (budget, wall clock, exit request) */
  JX_ECALL,     /* ecall at `pc` */
  JX_FLUSH,     /* fence.i: drop translations, continue at `pc` */
  JX_STOP,      /* a helper set pc and instret (a slow-path instruction, a system-mode access
                   that trapped or must leave): stop, leave, or go on at cpu.pc */
  JX_INTERP,    /* run this one instruction in the interpreter, then go on (a memory base
                   out of range, an invalid dynamic rounding mode: its exact semantics) */
  JX_STREAM,    /* at block entry: stream `ptr` needs `amount` more bytes */
  JX_WATCH,     /* after a checked access that owes the guest a watch trap: at `pc` (next) */
};

/* A slow-path exit whose instruction (an atomic: the interpreter runs it) accesses memory
 * through the base its wb_bb_mirror_mem test chose (hart.jit_base) rather than its hart's view. */
#define JIT_SLOW_MIRROR ((void *)1)
typedef struct wb_jit_exit {
  uint64_t pc;            /* target / instruction pc (see the kinds) */
  uint8_t *patch;         /* JX_DIRECT: rel32 field of the exit jump, to chain (system mode:
                             also JX_INDIRECT from a direct jump to another page) */
  uint8_t *stub;          /* ... the latter's stub, where an unchain points the field back */
  uint64_t generation;    /* the cache generation the patch site belongs to */
  void *ptr;              /* JX_STREAM: the stream; slow path: JIT_SLOW_MIRROR or NULL */
  uint64_t amount;        /* JX_STREAM: bytes */
  uint16_t kind;
  uint16_t rollback;      /* instructions of the block counted at entry but not retired */
  uint16_t idx;           /* guest instruction index in its block */
} wb_jit_exit;

typedef struct wb_jit_block {
  uint64_t pc, end_pc;
  uint64_t ppc;                 /* system mode: the code tag of pc (mmu.h wb_sys_fetch_phys) */
  uint64_t ppc2;                /* ... and of the next page when the block goes on there
                                   (mmu.h wb_sys_tail_tag), or 0: such a block is never chained
                                   to nor put in the jump table, so every entry checks both */
  uint64_t cmask;               /* bit i: instruction i is compressed */
  uint64_t mirrored;            /* bit i: instruction i's access takes the checked path (a
                                   mirror or the watchpoint unit's check): rebuild.c leaves it */
  uint8_t *code;                /* entry point (the instruction-count check) */
  struct wb_jit_block *hnext;
  uint64_t execs;               /* profiling phase: times the block was entered */
  uint16_t *refs;               /* profiling phase: register references per guest register */
  uint16_t *fwd;                /* per instruction start (both copies): (guest reg << 8) |
                                   host reg that still holds it there (store forwarding), or
                                   0xffff; needed to resume mid-block (wb_jit_try_complete) */
  uint32_t code_len;            /* body and stubs */
  uint16_t n;                   /* guest instructions */
  uint16_t alt;                 /* bursty tracing: offset of the instrumented copy (0: none) */
  uint8_t replaced;             /* rebuilt (rebuild.c): the entry jumps to the new one */
  struct wb_jit_block *older;   /* the block this one replaced (rebuild.c): all of them jump
                                   straight to the newest, never along the chain */
  uint16_t hoff[];              /* n + 1 entries: host offset of instruction i's code;
                                   hoff[n] = end of the body (stubs follow). With an
                                   instrumented copy, n + 1 more entries describe it. */
} wb_jit_block;

/* The offsets array of the copy of the block that contains offset off. */
static inline const uint16_t *wb_jit_body(const wb_jit_block *b, uint32_t off) {
  return b->alt && off >= b->alt ? b->hoff + b->n + 1 : b->hoff;
}

typedef struct { uint64_t pc; const uint8_t *code; } wb_jit_jc;

typedef wb_jit_exit *(*wb_jit_enter_fn)(void *cpu_biased, uint8_t *membase, const uint8_t *code);

struct wb_jit {
  wb_machine *m;
  wb_hart *hart;                /* the hart the dispatcher runs (one at a time) */
  uint8_t *code;                /* code arena (RWX) */
  size_t code_size;
  size_t code_used;
  size_t meta_size;             /* half the code arena's size */
  uint8_t *meta;                /* blocks and exit descriptors */
  size_t meta_used;
  uint64_t generation;
  wb_jit_block *table[JIT_HASH_SIZE];
  wb_jit_jc *jc;                /* probed by translated code */
  int jc_low;                   /* jc lies below 2 GiB: translated code addresses it absolutely */
  wb_jit_block **order;         /* blocks in code-address order (for wb_jit_locate) */
  size_t norder, order_cap;
  struct { uint64_t pc; uint32_t count; } *hot;
  wb_jit_enter_fn enter;
  uint8_t *exit_common;
  uint8_t *enter_loaded;        /* in the enter trampoline: where r15 holds the count */
  uint8_t *exit_stored;         /* in the exit trampoline: where memory holds it again */
  uint8_t *wrap_ret;            /* the wrap-return trampoline (in the jump table) */
  uint8_t *sys_mem_call;        /* system mode: call wb_jit_sys_mem(hart, rcx, rdx) with the
                                   mapped registers spilled around it (mmu_sys.c's miss path) */
  wb_jit_exit indirect_exit;    /* static exits of the wrap-return trampoline */
  wb_jit_exit stop_exit;
  int mapped;                   /* register map chosen and trampolines emitted */
  int profiling;                /* blocks count their executions (for the register map) */
  uint64_t profile_until;       /* instret at which the map is chosen from the counts */
  int8_t map[33];               /* guest register -> host register, -1 = in memory */
  uint8_t hregs[JIT_NMAP];      /* host registers that hold guest registers */
  uint8_t gregs[JIT_NMAP];      /* ... and which guest register each holds */
  uint64_t mark;                /* while translated code runs: instret = mark - cpu.jit_left */
  uint64_t next_wall_check;
  volatile int in_jit;          /* inside enter() (translated code or its helpers) */
  volatile int in_helper;       /* a slow-path instruction runs in the interpreter */
  volatile int synced;          /* in a call whose caller stored r15 to cpu.jit_left and
                                   reloads it after: an exit request may change memory */
  volatile int exit_requested;
  volatile int left_swapped;
  /* instructions the watchpoint unit marked, whose blocks the dispatcher rebuilds (past
   * JIT_REBUILDS at once: the whole cache is dropped instead) */
  uint64_t rebuild[JIT_REBUILDS];
  volatile unsigned nrebuild;
  int64_t saved_left;
  uint64_t translations;
  /* system mode (wb_jit_set_system): blocks are found by virtual pc and the physical address
   * it maps to now; jump-table slots filled since the last unchain (past JIT_JC_FILLS, an
   * unchain clears the whole table) */
  int sys;
  int fp_off;                   /* F/D instructions decode as illegal (mstatus.FS Off) */
  int priv;                     /* the privilege its code runs at (0 U, 1 S, 3 M) */
  void *tlb;                    /* the soft TLB entries its loads and stores probe inline (rbx
                                   in translated code) */
  uint32_t *jc_fills;
  size_t njc_fills;
  /* direct exits to another page chained since the last unchain (field, stub): an unchain
   * points each field back at its stub; past JIT_XCHAINS no more are chained until then */
  uint8_t *(*xchains)[2];
  size_t nxchains;
  /* sampler (sample.c) */
  wb_jit_sample *sbuf;
  size_t scap;
  volatile size_t scount;
  volatile int stepping;        /* single-stepping translated code to a boundary */
  volatile int sample_pending;  /* take the next sample at the dispatcher */
  wb_jit_sample cur;            /* the sample being taken */
  FILE *perfmap;                /* WB_JIT_PERFMAP=1: block names for perf */
};

/* translate.c: translate the block at pc (fetch checks done by the caller: pc is fetchable).
 * NULL if the code or metadata arena is full (the caller flushes and retries). */
wb_jit_block *wb_jit_translate(struct wb_jit *J, uint64_t pc);
/* The slow path translated code calls for an instruction it does not translate inline. */
int wb_jit_slow(wb_hart *h, const wb_jit_exit *e);
/* The translated block whose code contains host address hpc, or NULL. */
const wb_jit_block *wb_jit_block_at(const struct wb_jit *J, uintptr_t hpc);
/* ucontext gregs[] index of each x86 register (X_RAX ...). */
extern const int wb_jit_greg_index[16];
/* Guest pc of instruction i of a translated block. */
uint64_t wb_jit_insn_pc(const wb_jit_block *b, unsigned i);
/* Add instruction in's integer register references to refs[0..31] (the register map's input). */
void wb_jit_count_refs(const wb_insn *in, uint16_t *refs);
/* System mode: a memory instruction through the soft MMU (called from translated code with
 * the guest registers spilled; e->amount = the op, e->pc and e->rollback name it). 0: done,
 * go on; 1: pc and instret are set (it trapped, or the hart must leave): exit JX_STOP. */
int wb_jit_sys_mem(wb_hart *h, const wb_jit_exit *e, const struct wb_dinsn *d);
#define JIT_JC_FILLS 4096
#define JIT_XCHAINS 8192
/* Allocate from the metadata arena (NULL when full). */
void *wb_jit_meta_alloc(struct wb_jit *J, size_t n);

/* The bucket of the block table a guest pc hashes to. */
static inline unsigned hash_pc(uint64_t pc) {
  return (unsigned)((pc >> 1) ^ (pc >> (JIT_HASH_BITS + 1))) & (JIT_HASH_SIZE - 1);
}
/* Translate the block at pc under the engine lock (jit.c). */
wb_jit_block *wb_jit_translate_locked(struct wb_jit *J, uint64_t pc);
/* Rebuild the blocks holding the marked pcs waiting in J->rebuild (rebuild.c). */
void wb_jit_rebuild_marked(struct wb_jit *J);

#endif
