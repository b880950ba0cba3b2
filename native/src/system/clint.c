/* clint.c — the CLINT (SiFive Core-Local Interruptor) at WB_VIRT_CLINT_BASE: per hart a
 * software-interrupt register (msip, its bit 0 is the hart's MSIP line) and a timer compare
 * register (mtimecmp: MTIP is high while mtime >= mtimecmp), and the one mtime counter.
 *
 * Facts: the RISC-V ACLINT spec (MSWI and MTIMER devices; the CLINT is their legacy layout),
 * the privileged spec ("Machine Timer Registers"), qemu's hw/intc/riscv_aclint.c for the
 * offsets and access sizes on the virt board:
 *   0x0000 + 4*hart  msip       32-bit, only bit 0 is writable
 *   0x4000 + 8*hart  mtimecmp   64-bit, or its 32-bit halves at +0 and +4
 *   0xbff8           mtime      64-bit, or its 32-bit halves
 *
 * mtime is the machine's clock (host.now): this device keeps no time of its own. A write to
 * mtime is ignored (neither OpenSBI nor Linux writes it on this board; honouring it would
 * need an offset between the guest's mtime and the machine's, which every deadline handed to
 * host.wake_at would then have to undo).
 *
 * MTIP is re-evaluated when mtimecmp is written and when the machine ticks the board; a
 * deadline (the earliest mtimecmp whose MTIP is still low) goes to host.wake_at after every
 * mtimecmp write, so the machine knows when to tick next.
 */
#include <stdlib.h>
#include "board.h"

#define MSIP_BASE      0x0000u
#define MTIMECMP_BASE  0x4000u
#define MTIME_OFF      0xbff8u

struct wb_clint {
  wb_board *b;
  uint32_t msip[WB_BOARD_MAX_HARTS];
  uint64_t mtimecmp[WB_BOARD_MAX_HARTS];
  uint8_t mtip[WB_BOARD_MAX_HARTS];   /* the MTIP level last driven, per hart */
};

static uint64_t now(const struct wb_clint *c) { return c->b->host.now(c->b->host.ctx); }

/* Drive hart's MTIP from mtime and its mtimecmp. */
static void update_timer(struct wb_clint *c, int hart, uint64_t mtime) {
  int level = mtime >= c->mtimecmp[hart];
  c->mtip[hart] = (uint8_t)level;
  wb_board_set_mip(c->b, hart, WB_MIP_MTIP, level);
}

uint64_t wb_clint_next_deadline(const struct wb_clint *c) {
  uint64_t next = UINT64_MAX;
  for (int h = 0; h < c->b->nharts; h++)
    if (!c->mtip[h] && c->mtimecmp[h] < next) next = c->mtimecmp[h];
  return next;
}

void wb_clint_set_msip(struct wb_clint *c, int hart, int v) {
  if (hart < 0 || hart >= c->b->nharts) return;
  __atomic_store_n(&c->msip[hart], (uint32_t)(v & 1), __ATOMIC_RELEASE);
  wb_board_set_mip(c->b, hart, WB_MIP_MSIP, v & 1);
}

uint32_t wb_clint_msip(const struct wb_clint *c, int hart) {
  return hart >= 0 && hart < c->b->nharts ? __atomic_load_n(&c->msip[hart], __ATOMIC_ACQUIRE) : 0;
}

void wb_clint_tick(struct wb_clint *c) {
  uint64_t t = now(c);
  for (int h = 0; h < c->b->nharts; h++) update_timer(c, h, t);
}

/* A 32-bit or 64-bit read of the 64-bit register value at byte `lo` (0 or 4) of it. */
static uint64_t part(uint64_t value, uint64_t lo, unsigned size) {
  if (size == 8) return value;
  if (size == 4) return (uint32_t)(value >> (8 * lo));
  return 0;   /* byte and halfword accesses: not a register access size here (as qemu's) */
}

/* value with the 32-bit half at byte `lo` replaced, or all of it for a 64-bit write */
static uint64_t merge(uint64_t old, uint64_t lo, uint64_t v, unsigned size) {
  if (size == 8) return v;
  unsigned shift = 8 * (unsigned)lo;
  return (old & ~(0xffffffffull << shift)) | ((v & 0xffffffffull) << shift);
}

static uint64_t clint_read(void *state, uint64_t off, unsigned size) {
  struct wb_clint *c = state;
  int n = c->b->nharts;
  if (off < MTIMECMP_BASE) {
    uint64_t hart = (off - MSIP_BASE) / 4;
    if (size == 4 && hart < (uint64_t)n) return c->msip[hart];
    return 0;
  }
  if (off >= MTIMECMP_BASE && off < MTIMECMP_BASE + 8ull * n) {
    uint64_t hart = (off - MTIMECMP_BASE) / 8;
    return part(c->mtimecmp[hart], off & 7, size);
  }
  if (off >= MTIME_OFF && off < MTIME_OFF + 8) return part(now(c), off & 7, size);
  return 0;
}

static void clint_write(void *state, uint64_t off, uint64_t value, unsigned size) {
  struct wb_clint *c = state;
  int n = c->b->nharts;
  if (off < MTIMECMP_BASE) {
    uint64_t hart = (off - MSIP_BASE) / 4;
    if (size != 4 || hart >= (uint64_t)n) return;
    wb_clint_set_msip(c, (int)hart, (int)(value & 1));
    return;
  }
  if (off >= MTIMECMP_BASE && off < MTIMECMP_BASE + 8ull * n && (size == 4 || size == 8)) {
    int hart = (int)((off - MTIMECMP_BASE) / 8);
    c->mtimecmp[hart] = merge(c->mtimecmp[hart], off & 7, value, size);
    update_timer(c, hart, now(c));
    c->b->host.wake_at(c->b->host.ctx, wb_clint_next_deadline(c));
  }
  /* mtime writes are ignored (see the top of this file); anything else has no register */
}

static void clint_fini(void *state) { free(state); }

int wb_clint_init(wb_board *b) {
  struct wb_clint *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->b = b;
  /* reset: no timer armed (qemu's and OpenSBI's idea of "never"), MTIP and MSIP low */
  for (int h = 0; h < WB_BOARD_MAX_HARTS; h++) c->mtimecmp[h] = UINT64_MAX;
  wb_device d = {.name = "clint", .base = WB_VIRT_CLINT_BASE, .size = WB_VIRT_CLINT_SIZE,
                 .state = c, .read = clint_read, .write = clint_write, .fini = clint_fini};
  if (wb_board_add(b, &d) != 0) { free(c); return -1; }
  b->clint = c;
  return 0;
}
