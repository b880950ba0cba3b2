/* plic.c — the PLIC (Platform-Level Interrupt Controller) at WB_VIRT_PLIC_BASE: sources 1..96
 * (the devices' interrupt lines), a priority per source, and per context (two per hart:
 * 2*hart is the hart's M mode and drives MEIP, 2*hart+1 its S mode and drives SEIP) a set of
 * enable bits, a priority threshold and the claim/complete register.
 *
 * Facts: the RISC-V PLIC specification (memory map; gateways, claim and completion) and the
 * SiFive PLIC as qemu's hw/intc/sifive_plic.c models it on the virt board (7 priority levels,
 * priority and threshold registers WARL: only their low 3 bits are kept; 32-bit accesses):
 *   0x000000 + 4*src        priority of source src (source 0 does not exist)
 *   0x001000 + 4*word       pending bits, read-only
 *   0x002000 + 0x80*ctx     enable bits of context ctx
 *   0x200000 + 0x1000*ctx   threshold (+0), claim/complete (+4)
 *
 * The sources are level-triggered, as qemu's: a source whose line is high is pending, one
 * whose line drops stops pending. A claim takes the pending bit away and marks the source
 * claimed (in service) until its completion; while claimed it is offered to no context.
 * Completion re-arms it: if its line is still high it is pending again at once.
 * A context's external interrupt line is high while it has a pending, enabled, unclaimed
 * source whose priority is above its threshold; it is re-evaluated after every change.
 */
#include <stdlib.h>
#include <string.h>
#include "board.h"

#define NSRC        (WB_VIRT_PLIC_SOURCES + 1)   /* with the absent source 0 */
#define WORDS       ((NSRC + 31) / 32)
#define MAX_CTX     (2 * WB_BOARD_MAX_HARTS)
#define PRIO_MASK   7u                          /* priorities 0..7 */

#define PRIORITY_BASE  0x000000u
#define PENDING_BASE   0x001000u
#define ENABLE_BASE    0x002000u
#define ENABLE_STRIDE  0x80u
#define CONTEXT_BASE   0x200000u
#define CONTEXT_STRIDE 0x1000u

struct wb_plic {
  wb_board *b;
  int nctx;
  uint32_t priority[NSRC];
  uint32_t line[WORDS];      /* the devices' line levels */
  uint32_t pending[WORDS];
  uint32_t claimed[WORDS];
  uint32_t enable[MAX_CTX][WORDS];
  uint32_t threshold[MAX_CTX];
};

static int bit(const uint32_t *set, int src) { return (set[src / 32] >> (src % 32)) & 1; }
static void set_bit(uint32_t *set, int src, int v) {
  if (v) set[src / 32] |= 1u << (src % 32);
  else set[src / 32] &= ~(1u << (src % 32));
}

/* The source context ctx would get from a claim now (0: none): the pending, enabled,
 * unclaimed source of the highest priority above the threshold; ties go to the lowest id. */
static int best(const struct wb_plic *p, int ctx) {
  int id = 0;
  uint32_t prio = p->threshold[ctx];
  for (int w = 0; w < WORDS; w++) {
    uint32_t cand = p->pending[w] & ~p->claimed[w] & p->enable[ctx][w];
    while (cand) {
      int src = w * 32 + __builtin_ctz(cand);
      cand &= cand - 1;
      if (src > 0 && src < NSRC && p->priority[src] > prio) {
        prio = p->priority[src];
        id = src;
      }
    }
  }
  return id;
}

/* Drive every context's MEIP/SEIP line. */
static void update(struct wb_plic *p) {
  for (int ctx = 0; ctx < p->nctx; ctx++)
    wb_board_set_mip(p->b, ctx / 2, (ctx & 1) ? WB_MIP_SEIP : WB_MIP_MEIP, best(p, ctx) != 0);
}

void wb_plic_set_irq(struct wb_plic *p, int source, int level) {
  if (!p || source < 1 || source >= NSRC) return;
  set_bit(p->line, source, level != 0);
  set_bit(p->pending, source, level != 0);
  update(p);
}

static uint32_t claim(struct wb_plic *p, int ctx) {
  int id = best(p, ctx);
  if (id) {
    set_bit(p->pending, id, 0);
    set_bit(p->claimed, id, 1);
  }
  update(p);
  return (uint32_t)id;
}

static void complete(struct wb_plic *p, uint64_t id) {
  if (id < 1 || id >= NSRC || !bit(p->claimed, (int)id)) return;   /* not in service: ignored */
  set_bit(p->claimed, (int)id, 0);
  if (bit(p->line, (int)id)) set_bit(p->pending, (int)id, 1);        /* still asserted */
  update(p);
}

static uint64_t plic_read(void *state, uint64_t off, unsigned size) {
  struct wb_plic *p = state;
  if (size != 4) return 0;
  if (off < PRIORITY_BASE + 4u * NSRC)   /* PRIORITY_BASE is 0 */
    return p->priority[(off - PRIORITY_BASE) / 4];
  if (off >= PENDING_BASE && off < PENDING_BASE + 4u * WORDS) return p->pending[(off - PENDING_BASE) / 4];
  if (off >= ENABLE_BASE && off < ENABLE_BASE + (uint64_t)ENABLE_STRIDE * p->nctx) {
    uint64_t ctx = (off - ENABLE_BASE) / ENABLE_STRIDE, word = (off % ENABLE_STRIDE) / 4;
    return word < WORDS ? p->enable[ctx][word] : 0;
  }
  if (off >= CONTEXT_BASE && off < CONTEXT_BASE + (uint64_t)CONTEXT_STRIDE * p->nctx) {
    int ctx = (int)((off - CONTEXT_BASE) / CONTEXT_STRIDE);
    uint64_t reg = off % CONTEXT_STRIDE;
    if (reg == 0) return p->threshold[ctx];
    if (reg == 4) return claim(p, ctx);
  }
  return 0;
}

static void plic_write(void *state, uint64_t off, uint64_t value, unsigned size) {
  struct wb_plic *p = state;
  if (size != 4) return;
  if (off < PRIORITY_BASE + 4u * NSRC) {   /* PRIORITY_BASE is 0 */
    uint64_t src = (off - PRIORITY_BASE) / 4;
    if (src == 0) return;   /* source 0 does not exist: its priority stays 0 */
    p->priority[src] = (uint32_t)value & PRIO_MASK;
    update(p);
    return;
  }
  if (off >= ENABLE_BASE && off < ENABLE_BASE + (uint64_t)ENABLE_STRIDE * p->nctx) {
    uint64_t ctx = (off - ENABLE_BASE) / ENABLE_STRIDE, word = (off % ENABLE_STRIDE) / 4;
    if (word >= WORDS) return;
    uint32_t v = (uint32_t)value;
    if (word == 0) v &= ~1u;   /* source 0 */
    p->enable[ctx][word] = v;
    update(p);
    return;
  }
  if (off >= CONTEXT_BASE && off < CONTEXT_BASE + (uint64_t)CONTEXT_STRIDE * p->nctx) {
    int ctx = (int)((off - CONTEXT_BASE) / CONTEXT_STRIDE);
    uint64_t reg = off % CONTEXT_STRIDE;
    if (reg == 0) {
      p->threshold[ctx] = (uint32_t)value & PRIO_MASK;
      update(p);
    } else if (reg == 4) {
      complete(p, (uint32_t)value);
    }
  }
  /* the pending bits are read-only; other offsets hold no register */
}

static void plic_fini(void *state) { free(state); }

int wb_plic_init(wb_board *b) {
  struct wb_plic *p = calloc(1, sizeof *p);
  if (!p) return -1;
  p->b = b;
  p->nctx = 2 * b->nharts;
  wb_device d = {.name = "plic", .base = WB_VIRT_PLIC_BASE, .size = WB_VIRT_PLIC_SIZE,
                 .state = p, .read = plic_read, .write = plic_write, .fini = plic_fini};
  if (wb_board_add(b, &d) != 0) { free(p); return -1; }
  b->plic = p;
  return 0;
}
