/* board.c — the board itself: its physical address map (which device answers an address), the
 * access dispatch, RAM for device DMA, and the interrupt lines from the devices to each hart's
 * mip (interface and address map in board.h; the map is qemu's hw/riscv/virt.c virt_memmap).
 *
 * The devices live in a small array searched linearly: there are at most WB_BOARD_MAX_DEVICES
 * and device accesses are rare next to RAM accesses (the MMU goes to RAM first).
 */
#include <stdio.h>
#include <string.h>
#include "board.h"

static void fail(char *err, size_t errlen, const char *what) {
  if (err && errlen) snprintf(err, errlen, "board: cannot create the %s (out of host memory?)", what);
}

int wb_board_init(wb_board *b, const wb_board_host *host, int nharts, uint8_t *ram,
                  uint64_t ram_size, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  if (!host || !host->now || !host->interrupt || !host->wake_at || !host->console || !host->power) {
    if (err && errlen) snprintf(err, errlen, "board: a host callback is missing");
    return -1;
  }
  if (nharts < 1 || nharts > WB_BOARD_MAX_HARTS) {
    if (err && errlen) snprintf(err, errlen, "board: %d harts (1 to %d supported)", nharts, WB_BOARD_MAX_HARTS);
    return -1;
  }
  /* RAM must not wrap the 64-bit physical space (DMA checks rely on base + size) */
  if (!ram || ram_size == 0 || ram_size > UINT64_MAX - WB_VIRT_DRAM_BASE) {
    if (err && errlen) snprintf(err, errlen, "board: no RAM");
    return -1;
  }
  b->host = *host;
  b->nharts = nharts;
  b->ram = ram;
  b->ram_base = WB_VIRT_DRAM_BASE;
  b->ram_size = ram_size;
  /* the interrupt controllers first: the UART drives a PLIC line from its init on */
  if (wb_test_init(b) != 0) { fail(err, errlen, "test device"); goto bad; }
  if (wb_clint_init(b) != 0) { fail(err, errlen, "CLINT"); goto bad; }
  if (wb_plic_init(b) != 0) { fail(err, errlen, "PLIC"); goto bad; }
  if (wb_uart_init(b) != 0) { fail(err, errlen, "UART"); goto bad; }
  if (wb_virtio_slots_init(b) != 0) { fail(err, errlen, "virtio-mmio slots"); goto bad; }
  return 0;
bad:
  wb_board_fini(b);
  return -1;
}

void wb_board_fini(wb_board *b) {
  /* in reverse order of creation: a device may still reference an earlier one (the PLIC) */
  for (int i = b->ndevices - 1; i >= 0; i--) {
    wb_device *d = &b->devices[i];
    if (d->fini) d->fini(d->state);
    memset(d, 0, sizeof *d);
  }
  b->ndevices = 0;
  b->clint = NULL;
  b->plic = NULL;
  b->uart = NULL;
  b->blk = NULL;
}

/* [base, base+size) and [base2, base2+size2) share an address (both non-empty, no wrap). */
static int overlaps(uint64_t base, uint64_t size, uint64_t base2, uint64_t size2) {
  return base < base2 + size2 && base2 < base + size;
}

int wb_board_add(wb_board *b, const wb_device *d) {
  if (!d || d->size == 0 || d->base + d->size < d->base) return -1;   /* empty or wraps */
  if (!d->read || !d->write) return -1;
  if (b->ndevices >= WB_BOARD_MAX_DEVICES) return -1;
  if (overlaps(d->base, d->size, b->ram_base, b->ram_size)) return -1;
  for (int i = 0; i < b->ndevices; i++)
    if (overlaps(d->base, d->size, b->devices[i].base, b->devices[i].size)) return -1;
  b->devices[b->ndevices++] = *d;
  return 0;
}

const wb_device *wb_board_find(const wb_board *b, uint64_t pa) {
  for (int i = 0; i < b->ndevices; i++) {
    const wb_device *d = &b->devices[i];
    if (pa >= d->base && pa - d->base < d->size) return d;
  }
  return NULL;
}

/* The device that holds all of [pa, pa+size) for an access the devices can take (size 1, 2, 4
 * or 8, naturally aligned): NULL otherwise. A misaligned device access is an access fault
 * (the privileged spec lets I/O regions refuse them; the devices then only see aligned
 * offsets, as board.h promises them). */
static const wb_device *target(const wb_board *b, uint64_t pa, unsigned size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) return NULL;
  if (pa & (size - 1)) return NULL;
  const wb_device *d = wb_board_find(b, pa);
  if (!d || d->size - (pa - d->base) < size) return NULL;   /* none, or past its end */
  return d;
}

int wb_board_read(wb_board *b, uint64_t pa, unsigned size, uint64_t *value) {
  const wb_device *d = target(b, pa, size);
  if (!d) return -1;
  uint64_t v = d->read(d->state, pa - d->base, size);
  if (size < 8) v &= (1ull << (8 * size)) - 1;   /* a device returns no bits beyond the access */
  *value = v;
  return 0;
}

int wb_board_write(wb_board *b, uint64_t pa, unsigned size, uint64_t value) {
  const wb_device *d = target(b, pa, size);
  if (!d) return -1;
  if (size < 8) value &= (1ull << (8 * size)) - 1;
  d->write(d->state, pa - d->base, value, size);
  return 0;
}

uint8_t *wb_board_ram(wb_board *b, uint64_t pa, uint64_t len) {
  if (pa < b->ram_base) return NULL;
  uint64_t off = pa - b->ram_base;
  if (off > b->ram_size || len > b->ram_size - off) return NULL;
  if (off == b->ram_size && len == 0) return NULL;   /* one past the end is no RAM address */
  return b->ram + off;
}

void wb_board_set_mip(wb_board *b, int hart, uint64_t bits, int level) {
  if (hart < 0 || hart >= b->nharts || bits == 0) return;
  uint64_t old = level ? __atomic_fetch_or(&b->mip[hart], bits, __ATOMIC_ACQ_REL)
                       : __atomic_fetch_and(&b->mip[hart], ~bits, __ATOMIC_ACQ_REL);
  uint64_t now = level ? old | bits : old & ~bits;
  if (now != old) b->host.interrupt(b->host.ctx, hart);
}

void wb_board_tick(wb_board *b) {
  if (!b->clint) return;
  wb_clint_tick(b->clint);
  b->host.wake_at(b->host.ctx, wb_clint_next_deadline(b->clint));
}
