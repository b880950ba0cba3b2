/* online.c — the watchpoint unit on a running machine (wb_config.watch): the range table and
 * range cache of rcache.c checking the guest's real accesses, the four mechanisms that find
 * those accesses, the guest's own wp.set/wp.clear, and the watch trap (docs/watchpoints.md).
 *
 * Which accesses the unit sees: those touching a page that holds a watch of their kind (the
 * page filter, `pages`: per guest page the OR of its bytes' watch bits). The mechanisms all
 * check exactly these, so their unit counters agree; they differ in what finding them costs:
 *  - Every mechanism keeps a *filter view* (mem.h) in which those pages are denied: an access
 *    there faults, machine.c asks wb_watchpt_fault to check it and completes it through the
 *    primary view. That is all `pageprot` does (a host fault per access to a watched page, as
 *    mprotect-based watchpoints) and all the interpreter does.
 *  - `unlimited` and `debugregs`: the JIT *marks* an instruction whose access faulted there
 *    and rebuilds the blocks holding it with an inline check (a page-filter test, then the unit
 *    only when the page holds a watch) and the access through the primary view, so that
 *    instruction never faults again; pages without watches run at full speed.
 *  - `software`: the JIT builds every load and store with that inline check from the start (a
 *    shadow check on every access, as pure software watchpoints do).
 *  - `debugregs`: what four x86-style debug registers can hold: at most 4 watched ranges, each
 *    of 1, 2, 4 or 8 bytes aligned to its size. A set beyond that watches nothing and is
 *    counted as missed coverage (uncovered_sets, uncovered_bytes); a clear frees a register
 *    only when it names a held range exactly.
 *
 * A trigger (an access touching a byte watched for its kind) calls the clients' on_watch hooks
 * before the access. When the guest itself set watchpoints (wp.set), the trigger also becomes a
 * trap after the access completes (cause breakpoint, tval the access address): SIGTRAP with
 * si_code TRAP_HWBKPT in user mode, as x86 data breakpoints trap after the access.
 *
 * Guest accesses made by the kernel on the guest's behalf (read() filling a watched buffer)
 * are not accesses of an instruction and are not checked, as with hardware watchpoints that
 * only see user-mode accesses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"
#include "../machine.h"
#include "../trap.h"
#include "../client.h"
#include "../jit/jit.h"

#define WB_API __attribute__((visibility("default")))
#define DR_SLOTS 4

typedef struct dr_slot { uint64_t addr, len; unsigned flags; int used; } dr_slot;

struct wb_watchpt {
  int mech;                  /* enum wb_watch_mech */
  wb_watch_unit *unit;       /* table, range cache, counters */
  uint8_t *pages;            /* per page of the JIT's masked index: WB_WATCH_READ | _WRITE */
  uint64_t pages_mask;       /* index mask (entries - 1, a power of two) */
  uint64_t npages;           /* guest pages (mem.size >> 12): only these can be watched */
  int view;                  /* the filter view */
  uint64_t *marks;           /* open-addressed set of marked instruction pcs (0: empty) */
  uint64_t marks_cap, nmarks;
  int guest_traps;           /* the guest set watchpoints: triggers trap into it */
  wb_stream *trace;          /* watch_trace: every operation the unit sees (wb_watch_op) */
  dr_slot dr[DR_SLOTS];
  wb_watch_stats st;
};

/* ---- marked instructions ---- */

static uint64_t mark_slot(const struct wb_watchpt *w, uint64_t pc) {
  return ((pc * 0x9e3779b97f4a7c15ull) >> 17) & (w->marks_cap - 1);
}

int wb_watchpt_marked(const wb_machine *m, uint64_t pc) {
  const struct wb_watchpt *w = m->watch;
  if (!w) return 0;
  if (w->mech == WB_WATCH_SOFTWARE) return 1;
  for (uint64_t i = mark_slot(w, pc);; i = (i + 1) & (w->marks_cap - 1)) {
    if (w->marks[i] == pc) return 1;
    if (w->marks[i] == 0) return 0;
  }
}

static int mark(struct wb_watchpt *w, uint64_t pc) {
  if (2 * (w->nmarks + 1) > w->marks_cap) {        /* grow: rehash into twice the room */
    uint64_t cap = w->marks_cap * 2, *old = w->marks, ocap = w->marks_cap;
    uint64_t *n = calloc(cap, sizeof *n);
    if (!n) return -1;
    w->marks = n;
    w->marks_cap = cap;
    for (uint64_t i = 0; i < ocap; i++)
      if (old[i]) {
        uint64_t j = mark_slot(w, old[i]);
        while (n[j]) j = (j + 1) & (cap - 1);
        n[j] = old[i];
      }
    free(old);
  }
  uint64_t i = mark_slot(w, pc);
  while (w->marks[i] && w->marks[i] != pc) i = (i + 1) & (w->marks_cap - 1);
  if (w->marks[i] == pc) return 0;
  w->marks[i] = pc;
  w->nmarks++;
  w->st.marked++;
  return 1;
}

/* ---- lifecycle ---- */

int wb_watchpt_init(wb_machine *m, char *err, size_t errlen) {
  const wb_config *c = &m->cfg;
  if (c->watch == WB_WATCH_OFF) return 0;
  if (c->watch < WB_WATCH_UNLIMITED || c->watch > WB_WATCH_SOFTWARE) {
    snprintf(err, errlen, "unknown watchpoint mechanism %d (1 unlimited, 2 pageprot, 3 debugregs, 4 software)", c->watch);
    return -1;
  }
  struct wb_watchpt *w = calloc(1, sizeof *w);
  if (!w) { snprintf(err, errlen, "out of host memory"); return -1; }
  m->watch = w;
  w->mech = c->watch;
  w->unit = wb_watch_unit_new(c->watch_cache ? c->watch_cache : WB_WATCH_DEFAULT_CACHE, c->watch_blb,
                              c->watch_blb_runs ? c->watch_blb_runs : WB_WATCH_BLB_RUNS, err, errlen);
  if (!w->unit) return -1;
  w->npages = m->mem.size >> WB_PAGE_SHIFT;
  /* the JIT indexes with the page number masked: twice the guest pages, so an address a
   * negative offset wrapped lands in the upper half, which is always 0 */
  uint64_t entries = 1;
  while (entries < 2 * w->npages) entries <<= 1;
  w->pages = calloc(entries, 1);
  w->pages_mask = entries - 1;
  w->marks_cap = 1024;
  w->marks = calloc(w->marks_cap, sizeof *w->marks);
  if (!w->pages || !w->marks) { snprintf(err, errlen, "out of host memory"); return -1; }
  w->view = wb_mem_view_add(&m->mem, 0, err, errlen);
  if (w->view < 0) return -1;
  for (int i = 0; i < m->nharts; i++) m->harts[i]->view = w->view;
  if (c->watch_trace) w->trace = wb_stream_new(m, "watch", sizeof(wb_watch_op));
  return 0;
}

void wb_watchpt_fini(wb_machine *m) {
  struct wb_watchpt *w = m->watch;
  if (!w) return;
  wb_watch_unit_free(w->unit);
  free(w->pages);
  free(w->marks);
  free(w);
  m->watch = NULL;
}

const uint8_t *wb_watchpt_pages(const wb_machine *m, uint64_t *mask) {
  *mask = m->watch->pages_mask;
  return m->watch->pages;
}

/* ---- the trace ---- */

static void trace(struct wb_watchpt *w, unsigned kind, unsigned flags, uint64_t addr, uint64_t len) {
  if (!w->trace) return;
  wb_watch_op *r = wb_stream_push(w->trace);
  r->kind = (uint8_t)kind;
  r->flags = (uint8_t)flags;
  r->addr = addr;
  r->len = len;
}

/* ---- setting and clearing: the table, the page filter, the filter view ---- */

/* The OR of the watch bits of page p's bytes. */
static unsigned page_bits(const wb_watch_table *t, uint64_t p) {
  uint64_t a = p << WB_PAGE_SHIFT, end = a + WB_PAGE_SIZE - 1;
  unsigned bits = 0;
  for (;;) {
    wb_watch_run r = wb_watch_table_run(t, a);
    bits |= r.bits;
    if (r.last >= end || bits == 3) return bits;
    a = r.last + 1;
  }
}

static void deny_pages(wb_machine *m, uint64_t p, uint64_t n, unsigned bits) {
  struct wb_watchpt *w = m->watch;
  int deny = ((bits & WB_WATCH_READ) ? WB_DENY_READ : 0) | ((bits & WB_WATCH_WRITE) ? WB_DENY_WRITE : 0);
  wb_mem_view_deny(&m->mem, w->view, p << WB_PAGE_SHIFT, n << WB_PAGE_SHIFT, deny);
  memset(w->pages + p, (int)bits, n);
}

/* Bring the filter (and the view's deny bits) of the guest pages of [addr, addr+len) up to date. */
static void refilter(wb_machine *m, uint64_t addr, uint64_t len) {
  struct wb_watchpt *w = m->watch;
  if (addr >= m->mem.size) return;
  uint64_t last = addr + (len - 1);
  if (last >= m->mem.size || last < addr) last = m->mem.size - 1;
  const wb_watch_table *t = wb_watch_unit_table(w->unit);
  /* pages whose bits changed, in runs of equal new bits: one deny call (one mprotect) each */
  uint64_t run = 0, n = 0;
  unsigned rb = 0;
  for (uint64_t p = addr >> WB_PAGE_SHIFT; p <= last >> WB_PAGE_SHIFT; p++) {
    unsigned b = page_bits(t, p);
    if (b == w->pages[p]) continue;
    if (n && (p != run + n || b != rb)) { deny_pages(m, run, n, rb); n = 0; }
    if (!n) { run = p; rb = b; }
    n++;
  }
  if (n) deny_pages(m, run, n, rb);
}

/* debugregs: 1 if [addr, addr+len) fits a free register (recorded), else 0 (missed coverage) */
static int dr_take(struct wb_watchpt *w, uint64_t addr, uint64_t len, unsigned flags) {
  if ((len == 1 || len == 2 || len == 4 || len == 8) && (addr & (len - 1)) == 0)
    for (int i = 0; i < DR_SLOTS; i++)
      if (!w->dr[i].used) {
        w->dr[i] = (dr_slot){addr, len, flags, 1};
        return 1;
      }
  w->st.uncovered_sets++;
  w->st.uncovered_bytes += len;
  return 0;
}

/* debugregs: a clear of exactly a held range frees it; 0 if no register holds it */
static int dr_give(struct wb_watchpt *w, uint64_t addr, uint64_t len, unsigned flags) {
  for (int i = 0; i < DR_SLOTS; i++)
    if (w->dr[i].used && w->dr[i].addr == addr && w->dr[i].len == len && w->dr[i].flags == flags) {
      w->dr[i].used = 0;
      return 1;
    }
  return 0;
}

int wb_watchpt_change(wb_machine *m, int set, uint64_t addr, uint64_t len, unsigned flags,
                      char *err, size_t errlen) {
  struct wb_watchpt *w = m->watch;
  if (!w) { snprintf(err, errlen, "the watchpoint unit is off (wb_config.watch)"); return -EINVAL; }
  if (len == 0 || addr + (len - 1) < addr || flags < 1 || flags > 3) {
    snprintf(err, errlen, "watch range at %#llx of %llu bytes, flags %u: %s", (unsigned long long)addr,
             (unsigned long long)len, flags,
             len == 0 ? "empty" : flags < 1 || flags > 3 ? "flags must be 1 (read), 2 (write) or 3" : "past the end of the address space");
    return -EINVAL;
  }
  if (w->mech == WB_WATCH_DEBUGREGS && !(set ? dr_take(w, addr, len, flags) : dr_give(w, addr, len, flags)))
    return 0;   /* not held by a register: nothing is watched (a set: counted as missed) */
  if (wb_watch_change(w->unit, set, flags, addr, len, err, errlen) != 0) return -ENOMEM;
  trace(w, set ? WB_WATCH_OP_SET : WB_WATCH_OP_CLEAR, flags, addr, len);
  refilter(m, addr, len);
  return 0;
}

/* ---- checking accesses ---- */

/* 1 if [addr, addr+size) touches a page holding a watch of this kind (the unit must look). */
static int filtered(const struct wb_watchpt *w, uint64_t addr, unsigned size, unsigned want) {
  uint64_t p0 = addr >> WB_PAGE_SHIFT, p1 = (addr + size - 1) >> WB_PAGE_SHIFT;
  return (p0 < w->npages && (w->pages[p0] & want)) || (p1 < w->npages && (w->pages[p1] & want));
}

/* Check one access (kind: enum wb_mem_kind; an atomic counts as a store). Sets h->watch_hit
 * when the guest must get a trap after it. */
static void check(wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  struct wb_watchpt *w = h->m->watch;
  int store = kind != WB_MEM_LOAD;
  if (!filtered(w, addr, size, store ? WB_WATCH_WRITE : WB_WATCH_READ)) return;
  trace(w, store ? WB_WATCH_OP_STORE : WB_WATCH_OP_LOAD, 0, addr, size);
  if (!wb_watch_access(w->unit, addr, size, store)) return;
  wb_clients_watch(h, pc, addr, size, kind);
  if (h->m->taint) wb_taint_trigger(h, pc, addr);
  if (w->guest_traps) {
    h->watch_hit |= WB_WATCH_HIT_TRAP;
    h->watch_addr = addr;
  }
}

void wb_watchpt_jit_check(wb_hart *h, uint64_t size_kind, uint64_t pc, uint64_t addr) {
  wb_machine *m = h->m;
  wb_jit_synced(h->jit, 1);
  wb_lock(m);
  m->watch->st.inline_checks++;
  check(h, pc, addr, (unsigned)(size_kind & 0xff), (int)(size_kind >> 8));
  wb_unlock(m);
  wb_jit_synced(h->jit, 0);
}

int wb_watchpt_view(const wb_machine *m) { return m->watch ? m->watch->view : -1; }

wb_watch_run wb_watchpt_run(const wb_machine *m, uint64_t a) {
  return wb_watch_table_run(wb_watch_unit_table(m->watch->unit), a);
}

void wb_watchpt_fault(wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind, int plain) {
  wb_machine *m = h->m;
  struct wb_watchpt *w = m->watch;
  /* the same fault seen again (declined in the signal handler, completed after the jump): it
   * was checked the first time */
  if (h->watch_seen_pc == pc && h->watch_seen_icount == h->instret) return;
  h->watch_seen_pc = pc;
  h->watch_seen_icount = h->instret;
  w->st.view_faults++;
  uint64_t before = wb_watch_counts(w->unit)->triggers;
  check(h, pc, addr, size, kind);
  if (wb_watch_counts(w->unit)->triggers == before) w->st.false_faults++;
  /* the JIT builds a marked load or store with the inline check (atomics run in the
   * interpreter, which always takes the fault) */
  if (plain && h->jit && (w->mech == WB_WATCH_UNLIMITED || w->mech == WB_WATCH_DEBUGREGS)) {
    mark(w, pc);
    wb_jit_rebuild_at(h->jit, pc);
  }
}

void wb_watchpt_rebuilt(wb_machine *m) { m->watch->st.rebuilds++; }

int wb_watchpt_trap(wb_hart *h) {
  h->watch_hit &= (uint8_t)~WB_WATCH_HIT_TRAP;
  h->m->watch->st.traps++;
  return wb_trap_raise(h, &(wb_trap){WB_CAUSE_BREAKPOINT, h->watch_addr, WB_WATCH_TRAP_WHAT});
}

/* ---- the guest's wp.set / wp.clear ---- */

int64_t wb_watchpt_guest(wb_hart *h, int set, uint64_t addr, uint64_t len, unsigned flags) {
  wb_machine *m = h->m;
  if (!m->watch) return WB_WATCHPT_ILLEGAL;
  if (m->taint) return -EBUSY;   /* taint tracking owns the unit's watch set */
  char err[160];
  wb_lock(m);
  m->watch->guest_traps = 1;
  if (set) m->watch->st.guest_sets++; else m->watch->st.guest_clears++;
  int64_t r = wb_watchpt_change(m, set, addr, len, flags, err, sizeof err);
  wb_unlock(m);
  return r;
}

/* ---- reports ---- */

WB_API int wb_machine_watch_stats(wb_machine *m, wb_watch_stats *out) {
  memset(out, 0, sizeof *out);
  if (!m->watch) return -1;
  *out = m->watch->st;
  out->unit = *wb_watch_counts(m->watch->unit);
  out->segments = wb_watch_table_segments(wb_watch_unit_table(m->watch->unit));
  return 0;
}

WB_API int wb_watch_enabled(const wb_machine *m) { return m->watch != NULL; }

static int client_change(wb_machine *m, int set, uint64_t addr, uint64_t len, unsigned flags) {
  char err[160];
  if (m->taint) return -EBUSY;   /* taint tracking owns the unit's watch set */
  wb_lock(m);
  int r = wb_watchpt_change(m, set, addr, len, flags, err, sizeof err);
  wb_unlock(m);
  return r;
}

WB_API int wb_watch_set(wb_machine *m, uint64_t addr, uint64_t len, unsigned flags) {
  return client_change(m, 1, addr, len, flags);
}

WB_API int wb_watch_clear(wb_machine *m, uint64_t addr, uint64_t len, unsigned flags) {
  return client_change(m, 0, addr, len, flags);
}
