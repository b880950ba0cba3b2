/* client.c — the instrumentation API (wb/client.h): client registration, the block view
 * clients see in on_block, the actions they request, event streams and their draining.
 *
 * Streams are growable byte buffers of fixed-size records. Nothing is ever dropped: when a
 * stream passes its high-water mark the run is asked to pause at the next block boundary
 * (WB_REASON_DRAIN), Python copies the records out and clears the stream, and the run
 * continues where it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "interp.h"
#include "jit/jit.h"
#include "user.h"

#define WB_API __attribute__((visibility("default")))

static wb_clients *clients_of(wb_machine *m) {
  if (!m->clients) {
    m->clients = calloc(1, sizeof *m->clients);
    if (m->clients) m->clients->drain_bytes = WB_DRAIN_BYTES_DEFAULT;
  }
  return m->clients;
}

/* the memory layer's `missing` hook: a syscall's buffer is not mapped; ask the clients */
static int mem_missing(void *ctx, uint64_t addr, uint64_t len) { return wb_clients_unmapped(ctx, addr, len); }

WB_API int wb_client_add(wb_machine *m, const wb_client_ops *ops) {
  wb_clients *c = clients_of(m);
  if (!c || c->n >= WB_MAX_CLIENTS) return -1;
  c->ops[c->n++] = *ops;
  if (ops->on_unmapped) {               /* syscall buffers: checks ask the clients too */
    m->mem.missing = mem_missing;
    m->mem.missing_ctx = m;
  }
  if (ops->on_block) {
    c->n_on_block++;
    /* blocks built before this client existed carry no instrumentation */
    wb_machine_invalidate_code(m, 0, ~0ull);
  }
  return 0;
}

/* ---- streams ---- */

static void stream_set_end(wb_stream *s) {
  uint64_t used = (uint64_t)(s->cur - s->buf), drain = s->m->clients->drain_bytes;
  uint64_t lim = s->cap;
  if (used < drain && drain < lim) lim = drain;
  s->end = s->buf + lim;
}

WB_API wb_stream *wb_stream_new(wb_machine *m, const char *name, uint32_t record_size) {
  wb_clients *c = clients_of(m);
  if (!c || c->nstreams >= WB_MAX_STREAMS || record_size == 0) return NULL;
  wb_stream *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->m = m;
  s->record_size = record_size;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->cap = 1u << 20;
  s->buf = malloc(s->cap);
  if (!s->buf) { free(s); return NULL; }
  s->cur = s->buf;
  stream_set_end(s);
  c->streams[c->nstreams++] = s;
  return s;
}

void wb_machine_request_drain(wb_machine *m) {
  if (m->drain_requested) return;
  m->drain_requested = 1;
  if (m->jit) wb_jit_request_exit(m, NULL);
}

void wb_stream_reserve(wb_stream *s, uint64_t need) {
  uint64_t used = (uint64_t)(s->cur - s->buf);
  if (used + need > s->m->clients->drain_bytes) wb_machine_request_drain(s->m);
  if (used + need > s->cap) {
    uint64_t cap = s->cap;
    while (cap < used + need) cap *= 2;
    uint8_t *nb = cap <= WB_STREAM_HARD_CAP ? realloc(s->buf, cap) : NULL;
    if (!nb) {
      /* cannot happen with draining (it pauses far below the cap); refuse loudly, never
       * write out of bounds */
      wb_machine_stop(s->m, WB_REASON_INTERNAL, "event stream %s cannot grow past %llu bytes",
                      s->name, (unsigned long long)s->cap);
      s->cur = s->buf; /* drop nothing silently: the run stops with this message */
      return;
    }
    s->buf = nb;
    s->cur = nb + used;
    s->cap = cap;
  }
  stream_set_end(s);
  /* room beyond the drain mark must still be usable by translated code */
  if ((uint64_t)(s->end - s->cur) < need) s->end = s->buf + s->cap;
}

WB_API void *wb_stream_push(wb_stream *s) {
  if ((uint64_t)(s->end - s->cur) < s->record_size) wb_stream_reserve(s, s->record_size);
  if ((uint64_t)(s->buf + s->cap - s->cur) < s->record_size) {
    static __thread uint8_t sink[256]; /* only after a failed grow: the run is stopping */
    return memset(sink, 0, sizeof sink);
  }
  void *r = s->cur;
  memset(r, 0, s->record_size);
  s->cur += s->record_size;
  return r;
}

WB_API int wb_machine_stream_count(const wb_machine *m) { return m->clients ? m->clients->nstreams : 0; }

WB_API const char *wb_machine_stream_name(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return NULL;
  return m->clients->streams[i]->name;
}

WB_API uint32_t wb_machine_stream_record_size(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return 0;
  return m->clients->streams[i]->record_size;
}

WB_API const void *wb_machine_stream_data(const wb_machine *m, int i, uint64_t *nbytes) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) { *nbytes = 0; return NULL; }
  wb_stream *s = m->clients->streams[i];
  *nbytes = (uint64_t)(s->cur - s->buf);
  return s->buf;
}

WB_API void wb_machine_stream_clear(wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return;
  wb_stream_reset(m->clients->streams[i]);
}

void wb_stream_reset(wb_stream *s) {
  s->cur = s->buf;
  stream_set_end(s);
}

WB_API void wb_machine_set_drain_bytes(wb_machine *m, uint64_t bytes) {
  wb_clients *c = clients_of(m);
  if (!c) return;
  c->drain_bytes = bytes ? bytes : WB_DRAIN_BYTES_DEFAULT;
  for (int i = 0; i < c->nstreams; i++) stream_set_end(c->streams[i]);
}

WB_API uint64_t wb_machine_icount(const wb_machine *m) { return m->cpu.instret; }

/* ---- the block view ---- */

int wb_insn_mem_info(const wb_insn *in, unsigned *size, int *kind) {
  unsigned sz = 0;
  int k = WB_MEM_LOAD;
  switch (in->op) {
    case WB_OP_LB: case WB_OP_LBU: sz = 1; break;
    case WB_OP_LH: case WB_OP_LHU: sz = 2; break;
    case WB_OP_LW: case WB_OP_LWU: case WB_OP_FLW: sz = 4; break;
    case WB_OP_LD: case WB_OP_FLD: sz = 8; break;
    case WB_OP_SB: sz = 1; k = WB_MEM_STORE; break;
    case WB_OP_SH: sz = 2; k = WB_MEM_STORE; break;
    case WB_OP_SW: case WB_OP_FSW: sz = 4; k = WB_MEM_STORE; break;
    case WB_OP_SD: case WB_OP_FSD: sz = 8; k = WB_MEM_STORE; break;
    case WB_OP_LR_W: sz = 4; break;
    case WB_OP_LR_D: sz = 8; break;
    case WB_OP_SC_W: sz = 4; k = WB_MEM_STORE; break;
    case WB_OP_SC_D: sz = 8; k = WB_MEM_STORE; break;
    case WB_OP_AMOSWAP_W: case WB_OP_AMOADD_W: case WB_OP_AMOXOR_W: case WB_OP_AMOAND_W:
    case WB_OP_AMOOR_W: case WB_OP_AMOMIN_W: case WB_OP_AMOMAX_W: case WB_OP_AMOMINU_W:
    case WB_OP_AMOMAXU_W: sz = 4; k = WB_MEM_ATOMIC; break;
    case WB_OP_AMOSWAP_D: case WB_OP_AMOADD_D: case WB_OP_AMOXOR_D: case WB_OP_AMOAND_D:
    case WB_OP_AMOOR_D: case WB_OP_AMOMIN_D: case WB_OP_AMOMAX_D: case WB_OP_AMOMINU_D:
    case WB_OP_AMOMAXU_D: sz = 8; k = WB_MEM_ATOMIC; break;
    default: return 0;
  }
  if (size) *size = sz;
  if (kind) *kind = k;
  return 1;
}

static void wrap_entry(void *data, wb_machine *m, uint64_t pc);
static wb_action *add_action(wb_bb *bb, int kind, unsigned i);

/* the call to a wrapped function's entry hook (guarded by wb_wrap_when's range, if set) */
static void wrap_call(wb_bb *bb, unsigned i, const wb_wrap_rec *w) {
  wb_action *a = add_action(bb, WB_ACT_CALL, i);
  if (!a) return;
  a->ptr = (void *)wrap_entry;
  a->data = (void *)w;
  if (w->guard_arg >= 0) {
    a->guarded = 1;
    a->rs1 = (uint8_t)(10 + w->guard_arg);
    a->lo = w->lo;
    a->hi = w->hi;
  }
}

unsigned wb_client_instrument(wb_machine *m, uint64_t pc, const wb_insn *insns,
                              const uint64_t *pcs, unsigned n, wb_action **acts) {
  *acts = NULL;
  wb_clients *c = m->clients;
  if (!c || (!c->n_on_block && !c->nwraps)) return 0;
  wb_bb bb = {m, pc, n, insns, pcs, NULL, 0, 0};
  /* entries of wrapped functions first: their pre hooks run before any client's hook */
  for (int w = 0; w < c->nwraps; w++)
    for (unsigned i = 0; i < n; i++)
      if (pcs[i] == c->wraps[w].pc) wrap_call(&bb, i, &c->wraps[w]);
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_block) c->ops[k].on_block(c->ops[k].data, &bb);
  *acts = bb.acts;
  return bb.nacts;
}

WB_API uint64_t wb_bb_pc(const wb_bb *bb) { return bb->pc; }
WB_API unsigned wb_bb_size(const wb_bb *bb) { return bb->n; }
WB_API uint64_t wb_bb_insn_pc(const wb_bb *bb, unsigned i) { return i < bb->n ? bb->pcs[i] : 0; }
WB_API uint32_t wb_bb_insn_raw(const wb_bb *bb, unsigned i) { return i < bb->n ? bb->insns[i].raw : 0; }
WB_API int wb_bb_insn_mem(const wb_bb *bb, unsigned i, unsigned *size, int *kind) {
  return i < bb->n && wb_insn_mem_info(&bb->insns[i], size, kind);
}

static wb_action *add_action(wb_bb *bb, int kind, unsigned i) {
  if (i >= bb->n) return NULL;
  if (bb->nacts == bb->cap) {
    unsigned cap = bb->cap ? bb->cap * 2 : 16;
    wb_action *a = realloc(bb->acts, cap * sizeof *a);
    if (!a) return NULL;
    bb->acts = a;
    bb->cap = cap;
  }
  wb_action *a = &bb->acts[bb->nacts++];
  memset(a, 0, sizeof *a);
  a->kind = (uint8_t)kind;
  a->insn = (uint16_t)i;
  return a;
}

static int add_mem_action(wb_bb *bb, int kind, unsigned i, wb_action **out) {
  unsigned size;
  int mk;
  if (i >= bb->n || !wb_insn_mem_info(&bb->insns[i], &size, &mk)) return 0;
  wb_action *a = add_action(bb, kind, i);
  if (!a) return 0;
  a->size = (uint8_t)size;
  a->memkind = (uint8_t)mk;
  a->rs1 = bb->insns[i].rs1;
  a->rs2 = bb->insns[i].rs2;
  a->fpval = bb->insns[i].op == WB_OP_FSW || bb->insns[i].op == WB_OP_FSD;
  /* AMO/LR/SC address rs1 with no offset */
  a->imm = mk == WB_MEM_ATOMIC || bb->insns[i].op == WB_OP_LR_W || bb->insns[i].op == WB_OP_LR_D ||
                   bb->insns[i].op == WB_OP_SC_W || bb->insns[i].op == WB_OP_SC_D
               ? 0 : (int32_t)bb->insns[i].imm;
  *out = a;
  return 1;
}

WB_API void wb_bb_count(wb_bb *bb, uint64_t *counter, uint64_t amount) {
  wb_action *a = add_action(bb, WB_ACT_COUNT, 0);
  if (a) { a->ptr = counter; a->amount = amount; }
}

WB_API void wb_bb_call(wb_bb *bb, unsigned i, wb_insn_fn fn, void *data) {
  wb_action *a = add_action(bb, WB_ACT_CALL, i);
  if (a) { a->ptr = (void *)fn; a->data = data; }
}

WB_API void wb_bb_trace_mem(wb_bb *bb, unsigned i, wb_stream *s) {
  wb_action *a;
  if (s && s->record_size == sizeof(wb_mem_record) && add_mem_action(bb, WB_ACT_TRACE_MEM, i, &a))
    a->ptr = s;
}

WB_API void wb_bb_call_mem(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data) {
  wb_action *a;
  if (add_mem_action(bb, WB_ACT_CALL_MEM, i, &a)) { a->ptr = (void *)fn; a->data = data; }
}

WB_API void wb_burst_init(wb_burst *b, uint64_t period, uint64_t length) {
  memset(b, 0, sizeof *b);
  b->period = period ? period : 1;
  b->length = length > b->period ? b->period : length;
  b->left = (int64_t)(b->period - b->length);
  if (b->left == 0) { b->on = 1; b->left = (int64_t)b->length; }
}

void wb_burst_step(wb_burst *b) {
  if (--b->left > 0) return;
  wb_burst_switch(b);
}

void wb_burst_switch(wb_burst *b) {
  if (b->on || b->length == 0) {
    b->on = b->length == b->period; /* all-instrumented stays on */
    b->left = (int64_t)(b->on ? b->length : b->period - b->length);
  } else {
    b->on = 1;
    b->bursts++;
    b->left = (int64_t)b->length;
  }
  if (b->left <= 0) b->left = 1;
}

WB_API void wb_bb_burst(wb_bb *bb, wb_burst *b) {
  wb_action *a = add_action(bb, WB_ACT_BURST, 0);
  if (a) a->burst = b;
}

WB_API void wb_bb_call_mem_burst(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data, wb_burst *b) {
  wb_action *a;
  if (add_mem_action(bb, WB_ACT_CALL_MEM, i, &a)) { a->ptr = (void *)fn; a->data = data; a->burst = b; }
}

/* ---- running actions ---- */

static uint64_t peek(wb_machine *m, uint64_t addr, unsigned size) {
  uint64_t v = 0;
  if (wb_mem_read(&m->mem, addr, &v, size) != 0) return 0;
  return v;
}

static void trace(const wb_action *a, uint64_t icount, uint64_t pc, uint64_t addr) {
  wb_mem_record *r = wb_stream_push((wb_stream *)a->ptr);
  r->icount = icount;
  r->pc = pc;
  r->addr = addr;
  r->thread = 0;
  r->size = a->size;
  r->kind = a->memkind;
}

/* The value of a memory event: what a store (or an AMO's operand) writes, or what a load is
 * about to read. The guest state is in m->cpu here (both tiers). */
static void call_mem(wb_machine *m, const wb_action *a, uint64_t pc, uint64_t addr) {
  uint64_t v;
  if (a->memkind == WB_MEM_LOAD) v = peek(m, addr, a->size);
  else {
    v = a->fpval ? m->cpu.f[a->rs2] : m->cpu.x[a->rs2];
    if (a->size < 8) v &= (1ull << (8 * a->size)) - 1;
  }
  ((wb_mem_fn)a->ptr)(a->data, m, pc, addr, a->size, a->memkind, v);
}

void wb_hooks_run(wb_machine *m, const wb_action *acts, unsigned nacts, uint64_t icount, uint64_t pc) {
  uint64_t saved = m->cpu.instret;
  for (unsigned k = 0; k < nacts; k++) {
    const wb_action *a = &acts[k];
    if (a->kind != WB_ACT_BURST && a->burst && !a->burst->on) continue; /* checking copy */
    switch (a->kind) {
      case WB_ACT_BURST: wb_burst_step(a->burst); break;
      case WB_ACT_COUNT: *(uint64_t *)a->ptr += a->amount; break;
      case WB_ACT_CALL:
        if (a->guarded && m->cpu.x[a->rs1] - a->lo >= a->hi - a->lo) break;
        m->cpu.instret = icount;
        ((wb_insn_fn)a->ptr)(a->data, m, pc);
        m->cpu.instret = saved;
        break;
      case WB_ACT_TRACE_MEM: trace(a, icount, pc, m->cpu.x[a->rs1] + (uint64_t)(int64_t)a->imm); break;
      case WB_ACT_CALL_MEM:
        m->cpu.instret = icount;
        call_mem(m, a, pc, m->cpu.x[a->rs1] + (uint64_t)(int64_t)a->imm);
        m->cpu.instret = saved;
        break;
    }
  }
}

void wb_client_call(wb_machine *m, const wb_action *a, uint64_t pc) {
  wb_jit_synced(m, 1);
  ((wb_insn_fn)a->ptr)(a->data, m, pc);
  wb_jit_synced(m, 0);
}

void wb_client_call_mem(wb_machine *m, const wb_action *a, uint64_t pc, uint64_t addr) {
  wb_jit_synced(m, 1);
  call_mem(m, a, pc, addr);
  wb_jit_synced(m, 0);
}

/* ---- wrapping guest functions ---- */

WB_API uint64_t wb_symbol_address(wb_machine *m, const char *symbol) {
  uint64_t a = 0;
  return wb_user_symbol(m, symbol, &a) == 0 ? a : 0;
}

WB_API int wb_wrap(wb_machine *m, const char *symbol, wb_wrap_pre_fn pre, wb_wrap_post_fn post, void *data) {
  wb_clients *c = clients_of(m);
  uint64_t pc = wb_symbol_address(m, symbol);
  if (!c || !pc || c->nwraps >= WB_MAX_WRAPS) return -1;
  c->wraps[c->nwraps++] = (wb_wrap_rec){pc, pre, post, data, -1, 0, 0};
  wb_machine_invalidate_code(m, 0, ~0ull); /* the entry's block must get the hook */
  return 0;
}

WB_API int wb_wrap_when(wb_machine *m, const char *symbol, int arg, uint64_t lo, uint64_t hi) {
  wb_clients *c = m->clients;
  uint64_t pc = wb_symbol_address(m, symbol);
  if (!c || !pc || arg < 0 || arg > 7 || lo >= hi) return -1;
  for (int w = 0; w < c->nwraps; w++)
    if (c->wraps[w].pc == pc) {
      if (c->wraps[w].post) return -1;     /* a post hook needs every return caught */
      c->wraps[w].guard_arg = arg;
      c->wraps[w].lo = lo;
      c->wraps[w].hi = hi;
    }
  wb_machine_invalidate_code(m, 0, ~0ull);
  return 0;
}

static void wrap_entry(void *data, wb_machine *m, uint64_t pc) {
  const wb_wrap_rec *w = data;
  wb_clients *c = m->clients;
  uint64_t *x = m->cpu.x;
  (void)pc;
  void *user = NULL;
  if (w->pre) {
    uint64_t args[8];
    memcpy(args, &x[10], sizeof args);
    w->pre(w->data, m, x[1], args, &user);
    memcpy(&x[10], args, sizeof args);
  }
  if (!w->post || user == WB_WRAP_NO_POST) return;
  if (c->nframes == c->capframes) {
    size_t cap = c->capframes ? c->capframes * 2 : 64;
    wb_wrap_frame *f = realloc(c->frames, cap * sizeof *f);
    if (!f) { wb_machine_stop(m, WB_REASON_INTERNAL, "out of host memory for wrapped calls"); return; }
    c->frames = f;
    c->capframes = cap;
  }
  c->frames[c->nframes++] = (wb_wrap_frame){x[1], x[2], user, w};
  x[1] = WB_WRAP_RETURN;
}

uint64_t wb_wrap_return(wb_machine *m) {
  wb_clients *c = m->clients;
  uint64_t sp = m->cpu.x[2];
  /* frames of calls a longjmp left are deeper (lower sp) than the one returning now */
  while (c && c->nframes && c->frames[c->nframes - 1].sp < sp) c->nframes--;
  if (!c || !c->nframes) {
    m->cpu.pc = WB_WRAP_RETURN;
    wb_machine_fault(m, WB_WRAP_RETURN, WB_WRAP_RETURN, "jump to the wrap return address with no wrapped call pending");
    return WB_WRAP_RETURN;
  }
  wb_wrap_frame f = c->frames[--c->nframes];
  if (f.w->post) f.w->post(f.w->data, m, &m->cpu.x[10], f.user);
  return f.ra;
}

/* ---- views ---- */

WB_API int wb_view_add(wb_machine *m, int window) {
  char err[128];
  int v = wb_mem_view_add(&m->mem, window, err, sizeof err);
  if (v > 0 && window) m->cpu.jit_bound = m->mem.bound;
  return v;
}

WB_API int wb_view_deny(wb_machine *m, int view, uint64_t addr, uint64_t len, int deny) {
  return wb_mem_view_deny(&m->mem, view, addr, len, deny);
}

WB_API int wb_view_activate(wb_machine *m, int view) {
  if (view < 0 || view >= m->mem.nviews || m->mem.views[view].window) return -1;
  m->mem.active = view;
  if (m->jit) wb_jit_request_exit(m, NULL);
  return 0;
}

WB_API uint64_t wb_view_window_offset(const wb_machine *m) { return m->mem.size; }
WB_API uint64_t wb_view_faults(const wb_machine *m) { return m->view_faults; }

int wb_clients_view_fault(wb_machine *m, int view, uint64_t pc, uint64_t addr, unsigned size, int kind) {
  wb_clients *c = m->clients;
  int handled = 0;
  if (!c) return 1;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_view_fault) {
      handled = 1;
      if (c->ops[k].on_view_fault(c->ops[k].data, m, view, pc, addr, size, kind)) return 1;
    }
  return !handled;
}

int wb_clients_unmapped(wb_machine *m, uint64_t addr, uint64_t len) {
  wb_clients *c = m->clients;
  if (!c) return 0;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_unmapped && c->ops[k].on_unmapped(c->ops[k].data, m, addr, len)) return 1;
  return 0;
}

/* ---- guest memory a client manages ---- */

/* Reservations go down from the middle of the space, clear of brk (bottom up from the
 * program) and of mmap (top down from WB_MMAP_TOP): neither has to search past them, and each
 * search starts where the last one ended instead of scanning every reserved page again. */
WB_API uint64_t wb_guest_reserve(wb_machine *m, uint64_t len) {
  uint64_t lo = 1ull << 20, mid = (m->mem.size / 2) & ~(WB_PAGE_SIZE - 1);
  if (!m->reserve_cursor) m->reserve_cursor = mid < WB_MMAP_TOP ? mid : WB_MMAP_TOP;
  uint64_t a = wb_mem_find_free(&m->mem, len, lo, m->reserve_cursor);
  if (!a) a = wb_mem_find_free(&m->mem, len, lo, WB_MMAP_TOP);  /* wrapped: take any room */
  if (!a || wb_mem_reserve(&m->mem, a, len) != 0) return 0;
  m->reserve_cursor = a;
  return a;
}

WB_API int wb_guest_map(wb_machine *m, uint64_t addr, uint64_t len) {
  return wb_mem_map(&m->mem, addr, len, WB_PROT_R | WB_PROT_W);
}

WB_API void wb_guest_release(wb_machine *m, uint64_t addr, uint64_t len) {
  wb_mem_unmap(&m->mem, addr, len);
  wb_mem_unreserve(&m->mem, addr, len);
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

/* ---- lifecycle ---- */

void wb_clients_syscall(wb_machine *m, uint64_t nr, const uint64_t args[6], int64_t ret) {
  wb_clients *c = m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_syscall) c->ops[k].on_syscall(c->ops[k].data, m, nr, args, ret);
}

void wb_clients_thread(wb_machine *m, int tid, int started) {
  wb_clients *c = m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_thread) c->ops[k].on_thread(c->ops[k].data, m, tid, started);
}

void wb_clients_run_end(wb_machine *m) {
  wb_clients *c = m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_run_end) c->ops[k].on_run_end(c->ops[k].data, m);
}

void wb_clients_fini(wb_machine *m) {
  wb_clients *c = m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].destroy) c->ops[k].destroy(c->ops[k].data);
  for (int i = 0; i < c->nstreams; i++) { free(c->streams[i]->buf); free(c->streams[i]); }
  free(c->frames);
  free(c);
  m->clients = NULL;
}
