/* aikido.c — per-thread page protection that finds shared pages (Aikido, Olszewski et al.,
 * ASPLOS 2012): the "aikido" client, and the filter behind fasttrack's filtered mode.
 *
 * Every guest thread accesses memory through a view of its own. A page is private to the
 * first thread that touches it (open in that thread's view only); another thread's access
 * faults, and the page becomes shared: closed in every view for good. An instruction that
 * faults on a shared page is *marked*: its block is translated again so that its access goes
 * through the primary view with an inline test of the shared-page filter, and only accesses
 * to shared pages reach the analysis. Unmarked instructions run at full speed.
 *
 * An analysis sits behind the filter with wb_aikido_listen (declared by its user: clients
 * see one another only through the public API): it is called for every plain load and store
 * that touches a shared page, in both tiers (the JIT's inline test, or the view fault of an
 * unmarked instruction or of the interpreter); atomics and LR/SC are left to its own hooks.
 *
 * State per guest page: its owner (0: untouched, else hart id + 1) and, in `shared` (the
 * filter translated code tests), whether a second thread touched it. Every live thread has a
 * view (mem.h) that denies everything except the pages it owns privately; views of exited
 * threads are recycled (denied whole again) so at most AIKIDO_MAX_VIEWS threads run at once.
 *
 *   fault in thread t's view on page p (machine.c hands it to on_view_fault):
 *     p untouched            -> t owns it: open p in t's view          (first touch)
 *     p owned by u != t      -> p is shared: close it in u's view       (share)
 *     p shared               -> an access to shared data                (shared fault)
 *   and when p is shared: the instruction is marked and its blocks translated again with
 *   wb_bb_mirror_mem (the primary view plus, for a plain load or store, a filter test), so it
 *   stops faulting, and the analysis sees a plain access; accesses to pages that are still
 *   private never reach it.
 *
 * While the program has one thread, nothing can be shared: that thread's view is open and
 * takes no fault; when a second thread starts, the first owns every page holding data by then
 * (claim_single_phase) and its view closes on the rest.
 *
 * Faults run under the engine lock, so threads faulting on one page at once (the parallel
 * schedule) are serialised here and the second sees what the first did. Under the deterministic
 * schedule every hart switch is a view switch (the tiers load the hart's view base on entry);
 * under the parallel one each host thread keeps its hart's view.
 *
 * Shared accesses are counted where the analysis sees them (per-hart counters); with option
 * count=1 every access is counted too (an inline add at each memory instruction: it costs,
 * so only on request). Both tiers count the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"

#define AIKIDO_MAX_VIEWS 64
#define MAX_THREADS 1024         /* harts a machine creates over a run (hart ids) */
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull
enum { CTR_ACCESSES = 0, CTR_SHARED = 1 };          /* per-hart counters (wb_bb_count_hart) */
enum { EV_TOUCH = 0, EV_SHARE = 1 };

typedef struct page_event {      /* stream "aikido" (32 bytes) */
  uint64_t time;                 /* instructions retired by all threads before the access */
  uint64_t page;                 /* guest address of the page */
  uint64_t pc;                   /* the access that touched or shared it */
  uint16_t thread;               /* the thread that touched it */
  uint16_t owner;                /* EV_SHARE: the thread that owned it privately */
  uint8_t kind;                  /* EV_* */
  uint8_t pad[3];
} page_event;

typedef struct wb_aikido {
  wb_machine *m;
  int client;
  uint64_t npages;
  uint16_t *owner;               /* per page: 0 untouched, else owner hart id + 1 */
  uint8_t *shared;               /* per page: 1 once shared (the filter of mirrored accesses) */
  uint64_t *marks;               /* open-addressed set of marked pcs (0: empty) */
  uint64_t mark_cap, nmarks;
  int *hart_view;                /* per hart id: its view (0: none) */
  int free_views[AIKIDO_MAX_VIEWS];
  int nfree, nviews;
  int count;                     /* option count=1: count every access (CTR_ACCESSES) */
  int single;                    /* one thread so far: its view is open (claim_single_phase) */
  wb_mem_fn on_shared;           /* the analysis behind the filter (wb_aikido_listen) */
  wb_mem_fn on_mirrored;         /* ... its call at a mirrored access it wants */
  int (*wants)(void *data, wb_bb *bb, unsigned i);
  void *data;
  wb_stream *events;
  wb_aikido_stats st;
} wb_aikido;

/* ---- marked instructions ---- */

static uint64_t mix(uint64_t pc) { pc ^= pc >> 29; pc *= 0xbf58476d1ce4e5b9ull; return pc ^ (pc >> 32); }

static int marked(const wb_aikido *a, uint64_t pc) {
  for (uint64_t i = mix(pc) & (a->mark_cap - 1);; i = (i + 1) & (a->mark_cap - 1)) {
    if (a->marks[i] == pc) return 1;
    if (!a->marks[i]) return 0;
  }
}

static int mark(wb_aikido *a, uint64_t pc) {
  if (marked(a, pc)) return 0;
  if (2 * (a->nmarks + 1) > a->mark_cap) {
    uint64_t cap = a->mark_cap * 2, *t = calloc(cap, sizeof *t);
    if (!t) return 0;           /* out of host memory: the instruction keeps faulting */
    for (uint64_t k = 0; k < a->mark_cap; k++)
      if (a->marks[k])
        for (uint64_t i = mix(a->marks[k]) & (cap - 1);; i = (i + 1) & (cap - 1))
          if (!t[i]) { t[i] = a->marks[k]; break; }
    free(a->marks);
    a->marks = t;
    a->mark_cap = cap;
  }
  for (uint64_t i = mix(pc) & (a->mark_cap - 1);; i = (i + 1) & (a->mark_cap - 1))
    if (!a->marks[i]) { a->marks[i] = pc; break; }
  a->nmarks++;
  a->st.marked++;
  return 1;
}

/* ---- views ---- */

/* A view for a thread that starts: a recycled one, or a new one; every page denied. */
static int take_view(wb_aikido *a) {
  if (a->nfree) {      /* close what its last thread had open */
    int v = a->free_views[--a->nfree];
    return wb_view_deny(a->m, v, 0, a->npages << PAGE_SHIFT, WB_VIEW_DENY_READ | WB_VIEW_DENY_WRITE) == 0 ? v : -1;
  }
  if (a->nviews >= AIKIDO_MAX_VIEWS) return -1;
  int v = wb_view_add_closed(a->m);
  if (v <= 0) return -1;
  a->nviews++;
  a->st.views++;
  return v;
}

/* The second thread starts: the one thread so far (the parent) owns every page that holds
 * data now (it, or the kernel for it, touched them: resident in the memfd); its view, open
 * while it was alone, now denies everything else. So a single-threaded phase (start-up, a
 * program preparing its input) takes no fault at all. */
static void claim_single_phase(wb_aikido *a, int parent) {
  int v = a->hart_view[parent];
  uint64_t space = a->npages << PAGE_SHIFT;
  uint8_t *vec = malloc(a->npages);
  if (!vec || wb_guest_resident(a->m, 0, space, vec) != 0) {
    free(vec);
    wb_client_stop(a->m, "aikido: cannot find the pages the first thread touched (out of host memory)");
    return;
  }
  wb_view_deny(a->m, v, 0, space, WB_VIEW_DENY_READ | WB_VIEW_DENY_WRITE);
  uint64_t now = wb_machine_total_icount(a->m);
  for (uint64_t p = 0; p < a->npages;) {
    if (!(vec[p] & 1)) { p++; continue; }
    uint64_t q = p;
    for (; q < a->npages && (vec[q] & 1); q++) {
      a->owner[q] = (uint16_t)(parent + 1);
      page_event *e = wb_stream_push(a->events);
      e->time = now;
      e->page = q << PAGE_SHIFT;
      e->thread = e->owner = (uint16_t)parent;
      e->kind = EV_TOUCH;
    }
    wb_view_deny(a->m, v, p << PAGE_SHIFT, (q - p) << PAGE_SHIFT, 0);
    a->st.pages_touched += q - p;
    a->st.pages_claimed += q - p;
    p = q;
  }
  free(vec);
}

static void on_thread(void *data, wb_hart *h, int started) {
  wb_aikido *a = data;
  int id = wb_hart_id(h);
  if (id >= MAX_THREADS) return;
  if (started && a->st.threads == 0) {   /* the first thread: alone, nothing can be shared yet */
    a->st.threads++;
    int v = wb_view_add(a->m, 0);
    if (v <= 0) { wb_client_stop(a->m, "aikido: cannot add a memory view"); return; }
    a->nviews++;
    a->st.views++;
    a->single = 1;
    a->hart_view[id] = v;
    wb_hart_view_set(h, v);
    return;
  }
  if (started) {
    a->st.threads++;
    if (a->single) {
      wb_hart *parent = wb_machine_running(a->m);
      a->single = 0;
      if (parent && wb_hart_id(parent) < MAX_THREADS && a->hart_view[wb_hart_id(parent)] > 0)
        claim_single_phase(a, wb_hart_id(parent));
    }
    int v = take_view(a);
    if (v < 0) {
      wb_client_stop(a->m, "aikido: more than 64 guest threads at once (one memory view each)");
      return;
    }
    a->hart_view[id] = v;
    wb_hart_view_set(h, v);
  } else if (a->hart_view[id] > 0) {
    /* its private pages stay its own: another thread's touch still makes them shared */
    a->free_views[a->nfree++] = a->hart_view[id];
    a->hart_view[id] = 0;
    wb_hart_view_set(h, 0);
  }
}

/* ---- faults ---- */

/* A plain load or store (not LR/SC or an AMO: major opcode 0x2f), from its encoding. */
static int plain_access(wb_machine *m, uint64_t pc) {
  uint32_t raw = 0;
  if (wb_guest_read(m, pc, &raw, 2) != 0) return 0;
  if ((raw & 3) != 3) return 1;                   /* compressed: only plain loads and stores */
  if (wb_guest_read(m, pc, &raw, 4) != 0) return 0;
  return (raw & 0x7f) != 0x2f;
}

static void event(wb_aikido *a, wb_hart *h, uint64_t p, uint64_t pc, int owner, int kind) {
  page_event *e = wb_stream_push(a->events);
  e->time = wb_machine_total_icount(a->m);
  e->page = p << PAGE_SHIFT;
  e->pc = pc;
  e->thread = (uint16_t)wb_hart_id(h);
  e->owner = (uint16_t)owner;
  e->kind = (uint8_t)kind;
}

static int on_view_fault(void *data, wb_hart *h, int view, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  wb_aikido *a = data;
  int me = wb_hart_id(h);
  uint64_t space = a->npages << PAGE_SHIFT;
  if (me >= MAX_THREADS || view <= 0 || view != a->hart_view[me] || addr >= space) return 0;  /* not ours */
  uint64_t last = addr + (size ? size - 1 : 0);
  if (last >= space) last = space - 1;
  int hit = 0;
  for (uint64_t p = addr >> PAGE_SHIFT; p <= last >> PAGE_SHIFT; p++) {
    if (a->shared[p]) { hit = 1; a->st.shared_faults++; continue; }
    int owner = a->owner[p];
    if (owner == 0) {                                    /* first touch: it is mine */
      a->owner[p] = (uint16_t)(me + 1);
      wb_view_deny(a->m, view, p << PAGE_SHIFT, PAGE_SIZE, 0);
      a->st.first_touch_faults++;
      a->st.pages_touched++;
      event(a, h, p, pc, me, EV_TOUCH);
    } else if (owner != me + 1) {                         /* a second thread: shared from now on */
      a->shared[p] = 1;
      int ov = a->hart_view[owner - 1];
      if (ov > 0) wb_view_deny(a->m, ov, p << PAGE_SHIFT, PAGE_SIZE, WB_VIEW_DENY_READ | WB_VIEW_DENY_WRITE);
      a->st.share_faults++;
      a->st.pages_shared++;
      event(a, h, p, pc, owner - 1, EV_SHARE);
      hit = 1;
    }
  }
  if (!hit) return 0;
  /* mark it: its blocks are built again with the mirrored access (a marked instruction that
   * faults again runs from a translation made before, in this hart's own code cache under
   * the parallel schedule, or in the interpreter: rebuilding costs one look there) */
  mark(a, pc);
  wb_retranslate(h, pc);
  if (!plain_access(a->m, pc)) return 0;                  /* atomics: the analysis's own hooks */
  const uint64_t *c = wb_hart_counters(h, a->client);
  if (c) ((uint64_t *)c)[CTR_SHARED]++;
  if (a->on_shared) a->on_shared(a->data, h, pc, addr, size, kind, 0);   /* no value: as mirrored */
  return 0;
}

/* ---- translation ---- */

static void on_block(void *data, wb_bb *bb) {
  wb_aikido *a = data;
  unsigned n = wb_bb_size(bb);
  for (unsigned i = 0; i < n; i++) {
    unsigned size;
    int kind;
    if (!wb_bb_insn_mem(bb, i, &size, &kind)) continue;
    /* counted at the access, not per block entry: the interpreter resumes after a completed
     * view fault in a block that starts at the next instruction. Only on request: an add to
     * one counter per access serialises hot loops on it (zstd: 2.5x slower translated code) */
    if (a->count) wb_bb_count_hart_at(bb, i, a->client, CTR_ACCESSES, 1);
    if (!marked(a, wb_bb_insn_pc(bb, i))) continue;
    /* the analysis is called straight from the access, and only where it wants the call
     * (decided here, once, rather than at every shared access) */
    int call = a->on_mirrored && (!a->wants || a->wants(a->data, bb, i));
    wb_bb_mirror_mem(bb, i, a->shared, a->npages, a->client, CTR_SHARED, call ? a->on_mirrored : NULL, a->data);
  }
}

/* ---- lifetime ---- */

static void destroy(void *data) {
  wb_aikido *a = data;
  free(a->owner);
  free(a->shared);
  free(a->marks);
  free(a->hart_view);
  free(a);
}

static wb_aikido *attach(wb_machine *m, char *err, size_t errlen) {
  wb_aikido *a = wb_client_data(m, "aikido");
  if (a) return a;
  if (wb_machine_is_system(m)) { snprintf(err, errlen, "aikido: per-thread views need user mode's flat memory (system mode has a soft MMU)"); return NULL; }
  if (wb_watch_enabled(m)) { snprintf(err, errlen, "aikido: the watchpoint unit already routes accesses through its view"); return NULL; }
  a = calloc(1, sizeof *a);
  if (!a) { snprintf(err, errlen, "out of host memory"); return NULL; }
  a->m = m;
  a->npages = wb_view_window_offset(m) >> PAGE_SHIFT;   /* the guest address space's pages */
  a->owner = calloc(a->npages, sizeof *a->owner);
  a->shared = calloc(a->npages, 1);
  a->mark_cap = 1024;
  a->marks = calloc(a->mark_cap, sizeof *a->marks);
  a->hart_view = calloc(MAX_THREADS, sizeof *a->hart_view);
  a->events = wb_stream_new(m, "aikido", sizeof(page_event));
  wb_client_ops ops = {.name = "aikido", .data = a, .on_block = on_block, .on_thread = on_thread,
                       .on_view_fault = on_view_fault, .destroy = destroy};
  if (!a->owner || !a->shared || !a->marks || !a->hart_view || !a->events ||
      (a->client = wb_client_add(m, &ops)) < 0) {
    snprintf(err, errlen, "aikido: cannot register (too many clients or out of host memory)");
    free(a->owner); free(a->shared); free(a->marks); free(a->hart_view); free(a);
    return NULL;
  }
  return a;
}

/* An analysis behind the filter (fasttrack's filtered mode): on_shared(data, ...) at the
 * fault that finds an access on a shared page, on_mirrored(data, ...) at a marked instruction's
 * accesses to shared pages when wants(data, bb, i) said yes at translation (NULL: always).
 * 0, or -1 with a message. */
int wb_aikido_listen(wb_machine *m, wb_mem_fn on_shared, wb_mem_fn on_mirrored,
                     int (*wants)(void *data, wb_bb *bb, unsigned i), void *data, char *err, size_t errlen) {
  wb_aikido *a = attach(m, err, errlen);
  if (!a) return -1;
  if (a->on_shared) { snprintf(err, errlen, "aikido: another analysis already sits behind the filter"); return -1; }
  a->on_shared = on_shared;
  a->on_mirrored = on_mirrored;
  a->wants = wants;
  a->data = data;
  return 0;
}

int wb_client_aikido(wb_machine *m, const char *opts, char *err, size_t errlen) {
  int count = 0;
  if (opts && *opts) {
    if (!strcmp(opts, "count=1")) count = 1;
    else if (strcmp(opts, "count=0")) { snprintf(err, errlen, "aikido: unknown option %s (count=0 or count=1)", opts); return -1; }
  }
  wb_aikido *a = attach(m, err, errlen);
  if (!a) return -1;
  a->count |= count;
  return 0;
}

/* ---- statistics (engine.h) ---- */

__attribute__((visibility("default"))) int wb_machine_aikido_stats(wb_machine *m, wb_aikido_stats *out) {
  memset(out, 0, sizeof *out);
  wb_aikido *a = wb_client_data(m, "aikido");
  if (!a) return -1;
  *out = a->st;
  out->retranslations = wb_retranslations(m);
  out->view_switches = wb_hart_switches(m);
  for (int i = 0; i < wb_machine_hart_count(m); i++) {
    const uint64_t *c = wb_hart_counters(wb_machine_hart(m, i), a->client);
    if (!c) continue;
    out->accesses += c[CTR_ACCESSES];
    out->shared_accesses += c[CTR_SHARED];
  }
  return 0;
}
