/* vma.c — the guest's address-space bookkeeping in user mode: finding free ranges for mmap
 * (top down, like Linux) and reservations that keep ranges out of the guest's mmap and brk
 * (memory clients manage, wb_guest_reserve). The pages themselves are mem.c's: this file only
 * reads and marks its per-page table (`perm`: WB_PERM_MAPPED from mem.c, WB_PERM_RESERVED
 * here). A system platform has no such bookkeeping: its guest manages its own memory. */
#include <errno.h>
#include <string.h>
#include "../machine.h"
#include "../user.h"
#include "user_internal.h"

static uint64_t page_up(uint64_t v) { return (v + WB_PAGE_SIZE - 1) & ~(WB_PAGE_SIZE - 1); }

int wb_vma_reserve(wb_mem *m, uint64_t addr, uint64_t len) {
  if ((addr & (WB_PAGE_SIZE - 1)) || len == 0 || page_up(len) > m->size || addr > m->size - page_up(len)) return -ENOMEM;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = page_up(len) >> WB_PAGE_SHIFT;
  for (uint64_t i = 0; i < np; i++)
    if (m->perm[p0 + i]) return -ENOMEM;
  memset(m->perm + p0, WB_PERM_RESERVED, np);
  return 0;
}

void wb_vma_unreserve(wb_mem *m, uint64_t addr, uint64_t len) {
  if ((addr & (WB_PAGE_SIZE - 1)) || len == 0 || page_up(len) > m->size || addr > m->size - page_up(len)) return;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = page_up(len) >> WB_PAGE_SHIFT;
  for (uint64_t i = 0; i < np; i++)
    if (m->perm[p0 + i] == WB_PERM_RESERVED) m->perm[p0 + i] = 0;
}

uint64_t wb_vma_find_free(const wb_mem *m, uint64_t len, uint64_t lo, uint64_t hi) {
  if (len == 0) return 0;
  len = page_up(len);
  lo = page_up(lo);
  hi &= ~(WB_PAGE_SIZE - 1);
  if (hi > m->size) hi = m->size & ~(WB_PAGE_SIZE - 1);
  if (hi <= lo || hi - lo < len) return 0;
  uint64_t need = len >> WB_PAGE_SHIFT, run = 0;
  /* Top-down: the first fit found going down from hi is the highest free range. */
  for (uint64_t p = hi >> WB_PAGE_SHIFT; p > (lo >> WB_PAGE_SHIFT);) {
    p--;
    if (m->perm[p] & (WB_PERM_MAPPED | WB_PERM_RESERVED)) {
      run = 0;
      continue;
    }
    if (++run == need) return p << WB_PAGE_SHIFT;
  }
  return 0;
}

/* Reservations go down from the middle of the space, clear of brk (bottom up from the
 * program) and of mmap (top down from WB_MMAP_TOP): neither has to search past them, and each
 * search starts where the last one ended instead of scanning every reserved page again. */
uint64_t wb_user_reserve(wb_machine *m, uint64_t len) {
  wb_user *u = wb_u(m);
  uint64_t lo = 1ull << 20, mid = (m->mem.size / 2) & ~(WB_PAGE_SIZE - 1);
  if (!u->reserve_cursor) u->reserve_cursor = mid < WB_MMAP_TOP ? mid : WB_MMAP_TOP;
  uint64_t a = wb_vma_find_free(&m->mem, len, lo, u->reserve_cursor);
  if (!a) a = wb_vma_find_free(&m->mem, len, lo, WB_MMAP_TOP);  /* wrapped: take any room */
  if (!a || wb_vma_reserve(&m->mem, a, len) != 0) return 0;
  u->reserve_cursor = a;
  return a;
}

void wb_user_unreserve(wb_machine *m, uint64_t addr, uint64_t len) {
  wb_vma_unreserve(&m->mem, addr, len);
}
