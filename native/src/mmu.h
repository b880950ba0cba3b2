/* mmu.h — how a guest address reaches host memory: the interface behind every access
 * chokepoint of the tiers, and its one backend today, the flat view.
 *
 * The chokepoints (nothing else in the tiers touches guest memory):
 *   - instruction fetch when a block is decoded:       wb_mmu_fetch16() (this file)
 *   - the interpreter's loads, stores, AMOs, LR/SC:    WB_MMU_ACCESS / WB_MMU_HOST (this file),
 *     used by interp_ops.h's ADDR/AADDR macros only
 *   - the JIT's loads and stores:                      wb_tx_mem() (jit/mmu_flat.c), used by
 *     translate.c's load/store translators only
 *   - host-side accesses (syscalls, loader, clients):  wb_mem_read/write/check/span (mem.h)
 *
 * Flat backend (user mode): guest address a is host view_base + a after one compare against
 * the machine's bound; unmapped or protected pages fault in hardware (PROT_NONE in the view)
 * and the fault handler (machine.c) recovers the exact guest state.
 *
 * The soft-MMU backend (system mode: Sv39, a physical map of RAM and devices, system/mmu.c)
 * is chosen at machine creation, so user mode keeps the flat path's speed: the interpreter
 * decodes through wb_sys_fetch16 and gives every memory instruction a handler that calls
 * wb_sys_access (a TLB lookup, a walk on a miss, a device for MMIO); the JIT's wb_tx_mem
 * emits an inline probe of the same TLB (jit/mmu_sys.c) and calls the soft MMU on a miss.
 */
#ifndef WB_MMU_H
#define WB_MMU_H
#include <stdint.h>
#include <string.h>
#include "mem.h"

/* Fetch the 16-bit parcel at guest address addr for decoding: 1 and *half, or 0 when the
 * address cannot be fetched (outside the space, or not executable). */
static inline int wb_mmu_fetch16(const wb_mem *mem, uint64_t addr, uint16_t *half) {
  if (addr >= mem->size || !(mem->perm[addr >> WB_PAGE_SHIFT] & WB_PROT_X)) return 0;
  memcpy(half, wb_mem_host(mem, addr), 2);
  return 1;
}

/* Interpreter (interp_ops.h): with `M` the active view's base and `bound` the addressable
 * limit in scope, check guest address a for an access (jump to `fail` when it is outside
 * the addressable range), and name its host address. Only the start is checked: the guard
 * region after the view makes an access running past the end fault precisely. */
#define WB_MMU_ACCESS(a, fail) if (__builtin_expect((a) >= bound, 0)) goto fail
#define WB_MMU_HOST(a) (M + (a))

/* Soft-MMU backend (system mode, system/mmu.c), chosen when the machine has m->sys: the
 * interpreter decodes through wb_sys_fetch16 and gives every memory instruction the handler
 * that calls wb_sys_access (its op number in the record's rs3). */
struct wb_hart;
struct wb_dinsn;
struct wb_trap;
/* The code tag of virtual address va now: the physical address it is fetched from, and above
 * bit WB_CODE_GEN_SHIFT the generation of that RAM page's code (bumped whenever the page is
 * written after code was decoded from it). Blocks are found by virtual pc and this tag, so a
 * block of a rewritten page is never found again. 0, or -1 if va cannot be fetched. */
#define WB_CODE_GEN_SHIFT 34
int wb_sys_fetch_phys(struct wb_hart *h, uint64_t va, uint64_t *tag);
/* A block from pc to end_pc whose last instruction crosses into the next page goes on there
 * (up to that page's end): the code tag of that second page now, which the block must also
 * match to be found; 0 for a block that stays on pc's page, UINT64_MAX if the page cannot be
 * fetched now. */
uint64_t wb_sys_tail_tag(struct wb_hart *h, uint64_t pc, uint64_t end_pc);
/* Fetch the parcel at virtual address va: 1, or 0 (the fault is kept for the trap). */
int wb_sys_fetch16(struct wb_hart *h, uint64_t va, uint16_t *half);
/* For clients (client.h wb_hart_translate, the value a load reads): va's physical address for
 * an access of kind (enum wb_mem_kind, or WB_MEM_FETCH) at h's effective privilege, with no
 * side effect: 0, or -1 where the access would fault. And RAM's bytes at pa: 0, or -1 if pa is
 * not RAM (a device is never read for a client). */
struct wb_machine;
int wb_sys_peek_translate(struct wb_hart *h, uint64_t va, int kind, uint64_t *pa);
int wb_sys_peek_ram(struct wb_machine *m, uint64_t pa, unsigned size, uint64_t *v);
/* Run memory instruction `op` of record d, icount = the instructions retired before it (a
 * device sees exact time): 0 done; 1 it traps (*t to raise, nothing changed); 2 done, and the
 * hart must leave its tier before the next instruction. */
int wb_sys_access(struct wb_hart *h, unsigned op, const struct wb_dinsn *d, uint64_t icount,
                  struct wb_trap *t);

#endif
