/* interp.h — the interpreter tier: decoded-block cache and threaded-dispatch execution.
 *
 * Blocks are straight-line runs of guest instructions (ending at a branch, jump, ecall,
 * fence.i, a page end or WB_BLOCK_MAX instructions), decoded once into compact `wb_dinsn`s
 * whose first field is the address of their handler, then executed by jumping from handler
 * to handler (computed goto); common adjacent pairs/triples get handlers that jump straight
 * to the next op (interp_pair.h). Direct successors are chained; indirect targets go through
 * a per-site last-target slot, a jump cache and the block hash table. This is the reference
 * semantics every other tier must agree with.
 */
#ifndef WB_INTERP_H
#define WB_INTERP_H
#include <stdint.h>
#include "machine.h"

#define WB_BLOCK_MAX 64

typedef struct wb_dinsn {
  const void *h;     /* handler */
  int32_t imm;       /* immediate; pc-relative values are relative to the block's start pc */
  uint8_t rd, rs1, rs2, rs3;
} wb_dinsn;

struct wb_hooks;

typedef struct wb_block {
  uint64_t pc;             /* guest pc of the first instruction */
  uint64_t end_pc;         /* guest pc just after the last instruction */
  uint64_t cmask;          /* bit i set: instruction i is compressed (2 bytes) */
  struct wb_block *hnext;  /* hash chain */
  struct wb_block *succ[2];/* chained successors: [0] taken / jump target (jalr: the last
                              target seen), [1] fall-through */
  uint32_t n;              /* guest instructions in the block */
  uint32_t pad;
  struct wb_hooks *hooks;  /* client instrumentation of this block, or NULL */
  uint64_t ppc;            /* system mode: the code tag of pc (mmu.h wb_sys_fetch_phys: the
                              physical address and its page's code generation) */
  uint64_t ppc2;           /* ... and of the next page when the block goes on there (an
                              instruction crossing the page end; mmu.h wb_sys_tail_tag), or 0 */
  wb_dinsn insns[];        /* n handlers + one terminator pseudo-instruction */
} wb_block;

/* Decode the block at pc into in[] (at most maxn instructions): every tier cuts blocks here,
 * so their blocks (and the events clients see per block) are the same. Returns the number of
 * instructions (0: pc cannot be fetched); *end_pc is the pc after the last, *cmask has bit i
 * set when instruction i is compressed. */
struct wb_insn;
unsigned wb_block_decode(const wb_mem *mem, uint64_t pc, unsigned maxn, struct wb_insn *in,
                         uint64_t *end_pc, uint64_t *cmask);
/* The same in system mode: fetched through hart h's MMU (a failed fetch keeps its fault for
 * the trap); fp_off: F/D instructions decode as illegal (mstatus.FS Off). */
struct wb_hart;
unsigned wb_block_decode_sys(struct wb_hart *h, int fp_off, uint64_t pc, unsigned maxn,
                             struct wb_insn *in, uint64_t *end_pc, uint64_t *cmask);

/* The machine's block cache (m->interp): every hart's in deterministic mode, hart 0's in
 * parallel mode; wb_interp_new/free: a parallel hart's own. */
int wb_interp_init(wb_machine *m, char *err, size_t errlen);
void wb_interp_fini(wb_machine *m);
struct wb_interp *wb_interp_new(char *err, size_t errlen);
void wb_interp_free(struct wb_interp *ip);
/* Run hart h until its machine's stop_reason is set (h->pc, h->instret updated). */
void wb_interp_run(wb_hart *h);
/* Execute exactly one instruction at h->pc (the JIT's slow path and the completion of a
 * faulting access through another view): memory is addressed as base + a with a < bound
 * (base NULL: the primary view). instret advances by one; limits are not checked. */
void wb_interp_step(wb_hart *h, uint8_t *base, uint64_t bound);
/* Run one block at h->pc (the JIT tier runs cold code this way), limits checked as usual. */
void wb_interp_run_block(wb_hart *h);
/* After a host fault inside guest code: recover the guest pc and instret at the faulting
 * instruction (the instruction is not retired). */
void wb_interp_recover(wb_hart *h, uint64_t *pc);
/* Drop every decoded block. */
void wb_interp_flush(struct wb_interp *ip, wb_machine *m);
/* System mode: blocks decoded into ip treat every F/D instruction as illegal (mstatus.FS
 * Off). Set once, before ip decodes anything. */
void wb_interp_set_fp_off(struct wb_interp *ip, int off);
/* System mode. The address translation changed (satp, sfence.vma): no block stays chained to
 * another or in the jump cache, so the next transfer out of each looks its target up again
 * by virtual and physical address (blocks are kept: a block is valid wherever its physical
 * page is mapped). */
void wb_interp_unchain(struct wb_interp *ip);
/* Guest pc of instruction i of block b. */
static inline uint64_t wb_block_insn_pc(const wb_block *b, unsigned i) {
  uint64_t below = i >= 64 ? b->cmask : (b->cmask & ((1ull << i) - 1));
  return b->pc + 4ull * i - 2ull * (uint64_t)__builtin_popcountll(below);
}

#endif
