/* client_mem.c — guest memory as clients see and manage it (wb/client.h): views with their own
 * protections (barrier pointers, per-thread protection) and the faults they raise, and guest
 * memory a client reserves, maps and reads itself. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "client.h"
#include "platform.h"
#include "jit/jit.h"

#define WB_API __attribute__((visibility("default")))

/* ---- views ---- */

WB_API int wb_view_add(wb_machine *m, int window) {
  char err[128];
  int v = wb_mem_view_add(&m->mem, window, err, sizeof err);
  if (v > 0 && window) wb_machine_layout_changed(m); /* a new bound for guest addresses */
  return v;
}

WB_API int wb_guest_resident(wb_machine *m, uint64_t addr, uint64_t len, uint8_t *vec) {
  if ((addr | len) & (WB_PAGE_SIZE - 1) || addr > m->mem.size || len > m->mem.size - addr) return -EINVAL;
  /* the primary view maps the whole memfd: mincore says which of its pages hold data; it is
   * asked about the guest's mapped runs only (a page-cache look-up per page of 4 GiB costs) */
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = len >> WB_PAGE_SHIFT;
  memset(vec, 0, np);
  for (uint64_t i = 0; i < np;) {
    if (!m->mem.perm[p0 + i]) { i++; continue; }
    uint64_t j = i;
    while (j < np && m->mem.perm[p0 + j]) j++;
    if (mincore(m->mem.base + ((p0 + i) << WB_PAGE_SHIFT), (j - i) << WB_PAGE_SHIFT, vec + i) != 0) return -errno;
    i = j;
  }
  return 0;
}

WB_API int wb_view_add_closed(wb_machine *m) {
  char err[128];
  return wb_mem_view_add(&m->mem, WB_VIEW_CLOSED, err, sizeof err);
}

WB_API int wb_view_deny(wb_machine *m, int view, uint64_t addr, uint64_t len, int deny) {
  return wb_mem_view_deny(&m->mem, view, addr, len, deny);
}

WB_API int wb_view_activate(wb_machine *m, int view) {
  if (view < 0 || view >= m->mem.nviews || m->mem.views[view].window) return -1;
  for (int i = 0; i < m->nharts; i++) m->harts[i]->view = view;
  wb_machine_request_exit(m);   /* the tiers pick the view up at their next block entry */
  return 0;
}

WB_API int wb_hart_view_set(wb_hart *h, int view) {
  wb_machine *m = h->m;
  if (view < 0 || view >= m->mem.nviews || m->mem.views[view].window) return -1;
  h->view = view;
  if (wb_machine_self(m) == h) {
    if (h->jit) wb_jit_request_exit(h->jit, NULL);   /* the dispatcher reloads the base */
  } else {
    h->poke = 1;
  }
  return 0;
}

WB_API int wb_hart_view(const wb_hart *h) { return h->view; }

WB_API void wb_retranslate(wb_hart *h, uint64_t pc) {
  if (h->jit) wb_jit_rebuild_at(h->jit, pc);
}

WB_API uint64_t wb_view_window_offset(const wb_machine *m) { return m->mem.size; }
WB_API uint64_t wb_view_faults(const wb_machine *m) { return m->view_faults; }

int wb_clients_view_fault(wb_hart *h, int view, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  wb_clients *c = h->m->clients;
  int handled = 0;
  if (!c) return 1;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_view_fault) {
      handled = 1;
      if (c->ops[k].on_view_fault(c->ops[k].data, h, view, pc, addr, size, kind)) return 1;
    }
  return !handled;
}

void wb_clients_watch(wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  wb_clients *c = h->m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_watch) c->ops[k].on_watch(c->ops[k].data, h, pc, addr, size, kind);
}

int wb_clients_unmapped(wb_hart *h, uint64_t addr, uint64_t len) {
  wb_clients *c = h->m->clients;
  if (!c) return 0;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_unmapped && c->ops[k].on_unmapped(c->ops[k].data, h, addr, len)) return 1;
  return 0;
}

/* ---- guest memory a client manages ---- */

WB_API uint64_t wb_guest_reserve(wb_machine *m, uint64_t len) {
  return m->platform->reserve ? m->platform->reserve(m, len) : 0;
}

WB_API int wb_guest_map(wb_machine *m, uint64_t addr, uint64_t len) {
  return wb_mem_map(&m->mem, addr, len, WB_PROT_R | WB_PROT_W);
}

WB_API void wb_guest_release(wb_machine *m, uint64_t addr, uint64_t len) {
  wb_mem_unmap(&m->mem, addr, len);
  if (m->platform->unreserve) m->platform->unreserve(m, addr, len);
}

WB_API int wb_guest_read(wb_machine *m, uint64_t addr, void *dst, uint64_t len) {
  return wb_mem_read(&m->mem, addr, dst, (size_t)len);
}

WB_API int wb_guest_copy(wb_machine *m, uint64_t dst, uint64_t src, uint64_t len) {
  return wb_mem_copy(&m->mem, dst, src, len);
}

WB_API uint64_t wb_guest_mapped(const wb_machine *m, uint64_t *peak) {
  if (peak) *peak = m->mem.peak;
  return m->mem.committed;
}
