/* client.c — the core of the instrumentation API (wb/client.h): client registration and
 * versioning, harts as hooks see them, the block view clients see in on_block, the actions
 * they request, running those actions (interpreter; the JIT compiles them), and the lifecycle
 * hooks, and the parsing of a client's options. Streams are in stream.c, function wrapping in wrap.c, views and client-managed guest
 * memory in client_mem.c. Nothing here knows which tier runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "client.h"
#include "mmu.h"
#include "scheduler.h"

#define WB_API __attribute__((visibility("default")))

wb_clients *wb_clients_of(wb_machine *m) {
  if (!m->clients) {
    m->clients = calloc(1, sizeof *m->clients);
    if (m->clients) m->clients->drain_bytes = WB_DRAIN_BYTES_DEFAULT;
  }
  return m->clients;
}

/* the memory layer's `missing` hook: a syscall's buffer is not mapped; ask the clients */
static int mem_missing(void *ctx, uint64_t addr, uint64_t len) {
  wb_machine *m = ctx;
  return wb_clients_unmapped(wb_machine_self(m), addr, len);
}

WB_API int wb_client_api_version(void) { return WB_CLIENT_API_VERSION; }

WB_API int wb_client_register(wb_machine *m, const wb_client_ops *ops, uint32_t ops_size,
                              int api_version) {
  wb_clients *c = wb_clients_of(m);
  /* a client built against another API (or a struct this engine does not know) is refused:
   * its hooks would be called with the wrong arguments */
  if (!c || c->n >= WB_MAX_CLIENTS || api_version != WB_CLIENT_API_VERSION ||
      ops_size != sizeof *ops)
    return -1;
  if (ops->on_watch && m->taint) return -1;   /* taint tracking owns the unit's watch set */
  int id = c->n;
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
  return id;
}

/* ---- harts ---- */

WB_API wb_machine *wb_hart_machine(const wb_hart *h) { return h->m; }
WB_API int wb_hart_id(const wb_hart *h) { return h->id; }
WB_API uint64_t wb_hart_icount(const wb_hart *h) { return h->instret; }
WB_API uint64_t wb_hart_reg(const wb_hart *h, unsigned r) { return r < 32 ? h->x[r] : 0; }
WB_API int wb_hart_exited(const wb_hart *h) { return h->state == WB_HART_EXITED; }
WB_API wb_hart *wb_machine_running(wb_machine *m) { return wb_machine_self(m); }
WB_API uint64_t wb_machine_total_icount(const wb_machine *m) { return wb_machine_insns(m); }
WB_API uint64_t wb_retranslations(const wb_machine *m) { return m->retranslations; }
WB_API uint64_t wb_hart_switches(const wb_machine *m) { return m->hart_switches; }
WB_API void wb_client_stop(wb_machine *m, const char *message) {
  wb_machine_stop(m, WB_REASON_INTERNAL, "%s", message);
}
WB_API int wb_machine_is_system(const wb_machine *m) { return m->sys != NULL; }
WB_API void *wb_client_data(wb_machine *m, const char *name) {
  wb_clients *c = m->clients;
  for (int k = 0; c && k < c->n; k++)
    if (c->ops[k].name && !strcmp(c->ops[k].name, name)) return c->ops[k].data;
  return NULL;
}
WB_API int wb_hart_priv(const wb_hart *h) { return h->priv; }

WB_API int wb_hart_translate(const wb_hart *h, uint64_t va, int kind, uint64_t *pa) {
  if (!h->m->sys) {   /* user mode: one flat space */
    if (va >= h->m->mem.size) return -1;
    *pa = va;
    return 0;
  }
  return wb_sys_peek_translate((wb_hart *)h, va, kind, pa);
}
WB_API void **wb_hart_slot(wb_hart *h, int client) {
  return client >= 0 && client < WB_MAX_CLIENT_SLOTS ? &h->slots[client] : NULL;
}
WB_API void *wb_hart_local(wb_hart *h, int client, size_t size) {
  if (client < 0 || client >= WB_MAX_CLIENT_SLOTS) return NULL;
  if (!h->locals[client]) h->locals[client] = calloc(1, size);
  return h->locals[client];
}

WB_API uint64_t wb_machine_icount(const wb_machine *m) {
  return wb_machine_self(m)->instret;
}

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

unsigned wb_client_instrument(wb_machine *m, uint64_t pc, const wb_insn *insns,
                              const uint64_t *pcs, unsigned n, wb_action **acts) {
  *acts = NULL;
  wb_clients *c = m->clients;
  if (!c || (!c->n_on_block && !c->nwraps)) return 0;
  wb_bb bb = {m, pc, n, insns, pcs, NULL, 0, 0};
  /* entries of wrapped functions first: their pre hooks run before any client's hook */
  if (c->nwraps) wb_wrap_instrument(&bb);
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

wb_action *wb_bb_add_action(wb_bb *bb, int kind, unsigned i) {
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
  wb_action *a = wb_bb_add_action(bb, kind, i);
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
  wb_action *a = wb_bb_add_action(bb, WB_ACT_COUNT, 0);
  if (a) { a->ptr = counter; a->amount = amount; }
}

/* A hart's counter table: address space reserved once, zero pages until a counter is used. */
static uint64_t *counters_map(void) {
  void *p = mmap(NULL, (size_t)WB_HART_COUNTERS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

int wb_counters_hart_init(wb_hart *h) {
  wb_clients *c = h->m->clients;
  for (int k = 0; k < c->n; k++)
    if ((c->counting >> k & 1) && !h->counters[k] && !(h->counters[k] = counters_map())) return -1;
  return 0;
}

/* Every hart gets the table when the client first counts per hart (under the engine lock, at
 * translation): a block translated by one hart may run on another (deterministic schedule),
 * and harts made later get theirs at creation. */
WB_API int wb_bb_count_hart(wb_bb *bb, int client, uint32_t counter, uint64_t amount) {
  return wb_bb_count_hart_at(bb, 0, client, counter, amount);
}

WB_API int wb_bb_count_hart_at(wb_bb *bb, unsigned i, int client, uint32_t counter, uint64_t amount) {
  wb_machine *m = bb->m;
  wb_clients *c = m->clients;
  if (client < 0 || client >= c->n || counter >= WB_HART_COUNTERS || i >= bb->n) return -1;
  if (!(c->counting >> client & 1)) {
    c->counting |= 1u << client;
    for (int k = 0; k < m->nharts; k++)
      if (wb_counters_hart_init(m->harts[k]) != 0) return -1;
  }
  wb_action *a = wb_bb_add_action(bb, WB_ACT_COUNT_HART, i);
  if (!a) return -1;
  a->client = (uint8_t)client;
  a->counter = counter;
  a->amount = amount;
  return 0;
}

WB_API const uint64_t *wb_hart_counters(const wb_hart *h, int client) {
  return client >= 0 && client < WB_MAX_CLIENT_SLOTS ? h->counters[client] : NULL;
}

WB_API wb_hart *wb_machine_hart(wb_machine *m, int i) {
  return i >= 0 && i < m->nharts ? m->harts[i] : NULL;
}

WB_API void wb_bb_call(wb_bb *bb, unsigned i, wb_insn_fn fn, void *data) {
  wb_action *a = wb_bb_add_action(bb, WB_ACT_CALL, i);
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

WB_API void wb_bb_call_addr(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data) {
  wb_action *a;
  if (add_mem_action(bb, WB_ACT_CALL_MEM, i, &a)) { a->ptr = (void *)fn; a->data = data; a->novalue = 1; }
}

WB_API void wb_bb_mirror_mem(wb_bb *bb, unsigned i, const uint8_t *filter, uint64_t pages, int client,
                             int counter, wb_mem_fn fn, void *data) {
  wb_clients *c = bb->m->clients;
  if (i >= bb->n || !filter || !pages || (pages & (pages - 1))) return;
  if (bb->m->sys) return;                     /* no views in system mode */
  if (counter >= 0) {                         /* the counter table, as wb_bb_count_hart */
    if (client < 0 || client >= c->n || (uint32_t)counter >= WB_HART_COUNTERS) return;
    if (!(c->counting >> client & 1)) {
      c->counting |= 1u << client;
      for (int k = 0; k < bb->m->nharts; k++)
        if (wb_counters_hart_init(bb->m->harts[k]) != 0) return;
    }
  }
  wb_action *a;
  if (!add_mem_action(bb, WB_ACT_MIRROR, i, &a)) return;
  if (a->memkind == WB_MEM_ATOMIC || bb->insns[i].op == WB_OP_LR_W || bb->insns[i].op == WB_OP_LR_D ||
      bb->insns[i].op == WB_OP_SC_W || bb->insns[i].op == WB_OP_SC_D)
    a->viewonly = 1;                          /* atomics: the view only (translate.c's slow path) */
  a->ptr = (void *)fn;
  a->data = data;
  a->filter = filter;
  a->lo = pages;
  a->client = (uint8_t)(client < 0 ? 0 : client);
  a->hcounter = counter;
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
  wb_action *a = wb_bb_add_action(bb, WB_ACT_BURST, 0);
  if (a) a->burst = b;
}

WB_API void wb_bb_call_mem_burst(wb_bb *bb, unsigned i, wb_mem_fn fn, void *data, wb_burst *b) {
  wb_action *a;
  if (add_mem_action(bb, WB_ACT_CALL_MEM, i, &a)) { a->ptr = (void *)fn; a->data = data; a->burst = b; }
}

/* ---- running actions ---- */

/* The value a load is about to read (0 where it would fault; in system mode also for a
 * device, whose registers a read may change, and an access that crosses a page). */
static uint64_t peek(wb_hart *h, uint64_t addr, unsigned size) {
  uint64_t v = 0, pa;
  if (!h->m->sys) return wb_mem_read(&h->m->mem, addr, &v, size) != 0 ? 0 : v;
  if ((addr & 4095) + size > 4096 || wb_sys_peek_translate(h, addr, WB_MEM_LOAD, &pa) != 0 ||
      wb_sys_peek_ram(h->m, pa, size, &v) != 0)
    return 0;
  return v;
}

static void trace(wb_hart *h, const wb_action *a, uint64_t icount, uint64_t pc, uint64_t addr) {
  wb_mem_record *r = wb_stream_push_on(h, (wb_stream *)a->ptr);
  r->icount = icount;
  r->pc = pc;
  r->addr = addr;
  r->thread = (uint16_t)h->id;
  r->size = a->size;
  r->kind = a->memkind;
  r->priv = (uint8_t)h->priv;
}

/* The value of a memory event: what a store (or an AMO's operand) writes, or what a load is
 * about to read. The guest state is in the hart here (both tiers). */
static void call_mem(wb_hart *h, const wb_action *a, uint64_t pc, uint64_t addr) {
  uint64_t v;
  if (a->novalue) v = 0;
  else if (a->memkind == WB_MEM_LOAD) v = peek(h, addr, a->size);
  else {
    v = a->fpval ? h->f[a->rs2] : h->x[a->rs2];
    if (a->size < 8) v &= (1ull << (8 * a->size)) - 1;
  }
  ((wb_mem_fn)a->ptr)(a->data, h, pc, addr, a->size, a->memkind, v);
}

void wb_hooks_run(wb_hart *h, const wb_action *acts, unsigned nacts, uint64_t icount, uint64_t pc) {
  uint64_t saved = h->instret;
  for (unsigned k = 0; k < nacts; k++) {
    const wb_action *a = &acts[k];
    if (a->kind != WB_ACT_BURST && a->burst && !a->burst->on) continue; /* checking copy */
    switch (a->kind) {
      case WB_ACT_BURST: wb_burst_step(a->burst); break;
      case WB_ACT_COUNT: __atomic_fetch_add((uint64_t *)a->ptr, a->amount, __ATOMIC_RELAXED); break;
      case WB_ACT_COUNT_HART: h->counters[a->client][a->counter] += a->amount; break;
      case WB_ACT_CALL:
        if (a->guarded && h->x[a->rs1] - a->lo >= a->hi - a->lo) break;
        h->instret = icount;
        wb_client_call(h, a, pc);
        h->instret = saved;
        break;
      case WB_ACT_TRACE_MEM: trace(h, a, icount, pc, h->x[a->rs1] + (uint64_t)(int64_t)a->imm); break;
      case WB_ACT_CALL_MEM:
        h->instret = icount;
        wb_client_call_mem(h, a, pc, h->x[a->rs1] + (uint64_t)(int64_t)a->imm);
        h->instret = saved;
        break;
    }
  }
}

/* Clean calls from translated code: under the engine lock, as every client hook. */
void wb_client_call(wb_hart *h, const wb_action *a, uint64_t pc) {
  wb_lock(h->m);
  ((wb_insn_fn)a->ptr)(a->data, h, pc);
  wb_unlock(h->m);
}

void wb_client_call_mem(wb_hart *h, const wb_action *a, uint64_t pc, uint64_t addr) {
  wb_lock(h->m);
  call_mem(h, a, pc, addr);
  wb_unlock(h->m);
}

/* ---- lifecycle ---- */

void wb_clients_syscall(wb_hart *h, uint64_t nr, const uint64_t args[6], int64_t ret) {
  wb_clients *c = h->m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_syscall) c->ops[k].on_syscall(c->ops[k].data, h, nr, args, ret);
}

void wb_clients_thread(wb_hart *h, int started) {
  wb_clients *c = h->m->clients;
  if (!c) return;
  for (int k = 0; k < c->n; k++)
    if (c->ops[k].on_thread) c->ops[k].on_thread(c->ops[k].data, h, started);
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
  wb_streams_fini(m);
  free(c);
  m->clients = NULL;
}

/* ---- a client's options ---- */

WB_API int wb_client_options(const char *client, const char *opts, wb_option_fn each, void *data, char *err,
                             size_t errlen) {
  if (!opts || !*opts) return 0;
  char buf[WB_OPTIONS_MAX + 1];
  if (strlen(opts) > WB_OPTIONS_MAX) {
    snprintf(err, errlen, "%s: options longer than %d characters", client, WB_OPTIONS_MAX);
    return -1;
  }
  snprintf(buf, sizeof buf, "%s", opts);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) { snprintf(err, errlen, "%s: option %s has no value", client, tok); return -1; }
    *eq = 0;
    if (each(data, tok, eq + 1, err, errlen) != 0) return -1;
  }
  return 0;
}

WB_API int wb_option_number(const char *client, const char *key, const char *value, uint64_t lo, uint64_t hi,
                            uint64_t *out, char *err, size_t errlen) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = *value && *value != '-' ? strtoull(value, &end, 0) : 0;
  if (!end || *end) { snprintf(err, errlen, "%s: %s=%s is not a number", client, key, value); return -1; }
  if (errno == ERANGE || v < lo || v > hi) {
    snprintf(err, errlen, "%s: %s=%s is out of range %llu..%llu", client, key, value, (unsigned long long)lo,
             (unsigned long long)hi);
    return -1;
  }
  *out = v;
  return 0;
}
