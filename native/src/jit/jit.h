/* jit.h — the x86-64 JIT tier: code cache, translated blocks, dispatch and precise state.
 *
 * Guest blocks (the same boundaries as the interpreter's: a control transfer, ecall, fence.i,
 * a page end or 64 instructions) are translated to host code in a code cache. Inside
 * translated code: rbp points at the hart (biased by 128 so that x1..x31 have 8-bit
 * displacements), rbx holds the base of the guest memory view, nine guest registers
 * (JIT_NMAP) live in host registers (chosen per program from a static register-use count of
 * its text, then from a profile of block executions), the rest stay in memory. Direct exits are chained by patching their jumps; indirect jumps probe an
 * in-cache jump table; everything else returns to the dispatcher in jit.c.
 *
 * For each block a map gives the host offset at which each guest instruction's code starts,
 * so any host pc inside translated code names a guest instruction (wb_jit_locate), and a host
 * fault inside a guest access is mapped back to the exact guest state at that instruction.
 */
#ifndef WB_JIT_H
#define WB_JIT_H
#include <signal.h>
#include <stdint.h>
#include "machine.h"

#if defined(__x86_64__) && defined(__linux__)
#define WB_HAVE_JIT 1
#else
#define WB_HAVE_JIT 0

#endif

/* The machine's code cache (m->jit): every hart's in deterministic mode, hart 0's in
 * parallel mode. */
int wb_jit_init(wb_machine *m, char *err, size_t errlen);
void wb_jit_fini(wb_machine *m);
/* One more code cache (a parallel hart's own; code_size 0: the default), and its end. */
struct wb_jit *wb_jit_new(wb_machine *m, size_t code_size, char *err, size_t errlen);
void wb_jit_free(struct wb_jit *J);
/* Run hart h from its cache h->jit until the run stops or h must leave (as wb_interp_run). */
void wb_jit_run(wb_hart *h);
/* Drop every translation of cache J (fence.i, unmapped code, a full cache). */
void wb_jit_flush(struct wb_jit *J);

/* ---- system mode (system/): one cache per privilege and FP state, like the interpreter's ----
 * Blocks are found by virtual pc and the physical address it maps to now; every memory
 * instruction goes through the soft MMU. Direct exits are chained only within the block's
 * own virtual page (a page maps as a whole, so a chained successor is always the one the
 * current translation names); other exits probe the jump table, which an unchain empties. */
/* tlb: the TLB entries the cache's loads and stores probe (held in rbx while its code runs) */
void wb_jit_set_system(struct wb_jit *J, int fp_off, int priv, void *tlb);
/* The translation changed (satp, sfence.vma): empty the jump table (chains stay valid). */
void wb_jit_unchain(struct wb_jit *J);
/* sfence.vma of one address: the translations of va's page changed, and of every page of a
 * superpage holding it, so the table's slots in va's 1 GiB region are emptied. */
void wb_jit_unchain_at(struct wb_jit *J, uint64_t va);
/* Called from the host fault handler with the signal context: if the fault happened inside
 * translated code (or in a helper it called), restore the guest state at the faulting
 * instruction into the running hart and return 1; else 0. */
int wb_jit_recover_fault(wb_hart *h, void *ucontext);
/* A host fault inside translated code that `complete(m, pc)` can finish (a view fault):
 * rebuild the state at the faulting instruction, call complete, and on success make the
 * signal context resume at the next guest instruction in the same block (no trip through the
 * dispatcher). 0 (nothing changed in the context) when it does not apply. */
int wb_jit_try_complete(wb_hart *h, void *ucontext, int (*complete)(wb_hart *h, uint64_t pc));
/* Where is host pc `hpc`? If inside translated code: 1, *guest_pc = the guest instruction
 * whose code contains hpc (the one interrupted), *next = host address of the next guest
 * instruction boundary in that block (where the guest state is exact). 0 otherwise. */
int wb_jit_locate(const struct wb_jit *J, uintptr_t hpc, uint64_t *guest_pc, uintptr_t *next);
/* Ask translated code to return to the dispatcher at the next block entry. Async-signal-safe:
 * from a signal handler pass its ucontext, else NULL. */
void wb_jit_request_exit(struct wb_jit *J, void *ucontext);
/* A clean call from translated code begins (1) or ends (0): r15 lives in cpu.jit_left. */
void wb_jit_synced(struct wb_jit *J, int on);
/* The watchpoint unit marked the instruction at pc: the blocks holding it are rebuilt (with
 * its inline check) when the dispatcher next runs; the old code's entry then jumps to the new
 * one, so chained exits and the jump table follow. Async-signal-safe (no allocation). */
void wb_jit_rebuild_at(struct wb_jit *J, uint64_t pc);
/* 1 if rebuilds are waiting for the dispatcher. */
int wb_jit_rebuild_pending(const struct wb_jit *J);

/* ---- sampling the guest at host signals (sample.c) ----
 * After wb_jit_sampler_start(m, signo, buf, cap), every `signo` delivered to the thread
 * running m takes one sample of the exact guest state: if the signal lands inside translated
 * code, the interrupted host code is single-stepped (x86 trap flag) to the next guest
 * instruction boundary and the state is read there (registers from the signal context);
 * anywhere else (dispatcher, helpers, interpreter) the JIT is asked to return to its
 * dispatcher, where the state is exact. */
typedef struct wb_jit_sample {
  uint64_t pc, instret;
  uint64_t x[32];
  uintptr_t host_pc;     /* where the signal landed */
  uint64_t located_pc;   /* wb_jit_locate(host_pc): the guest instruction interrupted */
  uintptr_t located_next;/* ... and the host address of the next boundary after it */
  uintptr_t boundary;    /* host address where the sample was taken (0 at the dispatcher) */
  uint32_t steps;        /* host instructions single-stepped to reach the boundary */
  uint8_t where;         /* 0 at a boundary in translated code, 1 at the dispatcher */
} wb_jit_sample;
int wb_jit_sampler_start(wb_machine *m, int signo, wb_jit_sample *buf, size_t cap);
void wb_jit_sampler_stop(wb_machine *m);
size_t wb_jit_sampler_count(const wb_machine *m);
/* Called by the dispatcher (exact state, about to run pc) when a sample is pending. */
void wb_jit_sampler_poll(struct wb_jit *J, uint64_t pc);

#endif
