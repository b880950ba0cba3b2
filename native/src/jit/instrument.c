/* instrument.c — the JIT's side of client instrumentation (client.h): translated code for the
 * actions clients asked for in on_block (inline counters, inline memory-trace records, clean
 * calls, bursty tracing's two copies), at the same points the interpreter runs them
 * (interp.c's hook records), so both tiers produce the same events. */
#include "tctx.h"
#include "jit.h"

#if WB_HAVE_JIT

/* rcx = guest address of action a's access (before the access; registers not yet written) */
static void action_addr(tctx *t, const wb_action *a) {
  wb_tx_ld(t, X_RCX, a->rs1);
  if (a->imm) x_alu_imm(&t->b, XW, XA_ADD, 0, X_RCX, 0, a->imm);
}

/* rcx = instructions retired before instruction t->i */
static void icount_now(tctx *t, int reg) {
  x_rm(&t->b, XW, XA_MOV, reg, X_RBP, JD(jit_mark));
  x_rr(&t->b, XW, XA_SUB, reg, X_LEFT);
  if (t->n - t->i) x_alu_imm(&t->b, XW, XA_SUB, 0, reg, 0, (int32_t)(t->n - t->i));
}

/* Displacement from rbp of field `off` of the hart's segment of stream s (hart.h). */
static int32_t seg_disp(const wb_stream *s, size_t off) {
  return (int32_t)(offsetof(wb_hart, streams) + (size_t)s->index * sizeof(wb_stream_seg) + off) -
         JIT_BIAS;
}

static void emit_trace(tctx *t, const wb_action *a) {
  x86_buf *b = &t->b;
  wb_stream *s = a->ptr;
  int32_t cur = seg_disp(s, offsetof(wb_stream_seg, cur));
  action_addr(t, a);
  x_rm(b, XW, XA_MOV, X_RAX, X_RBP, cur);                        /* rax = record */
  x_rm(b, XW, 0x89, X_RCX, X_RAX, 16);                           /* addr */
  icount_now(t, X_RCX);
  x_rm(b, XW, 0x89, X_RCX, X_RAX, 0);                            /* icount */
  if (t->pc <= INT32_MAX) x_mov_mem_imm32(b, X_RAX, 8, (int32_t)t->pc);  /* pc */
  else { x_mov_imm(b, X_RCX, t->pc); x_rm(b, XW, 0x89, X_RCX, X_RAX, 8); }
  /* thread (the hart's id), size, kind, and the pad (0: the 32-bit ops zero rcx's top) */
  x_rm(b, 0, XA_MOV, X_RCX, X_RBP, JD(id));
  x_alu_imm(b, 0, XA_OR, 0, X_RCX, 0, (int32_t)(((uint32_t)a->size << 16) | ((uint32_t)a->memkind << 24)));
  x_rm(b, XW, 0x89, X_RCX, X_RAX, 24);
  int priv = t->J->sys ? t->J->priv : 0;                       /* the cache's */
  if (priv) {                                                     /* mov byte [rax+28], priv */
    static const uint8_t movb = 0xc6;
    x_op(b, 0, &movb, 1, 0, 1, X_RAX, X_NOINDEX, (int32_t)offsetof(wb_mem_record, priv));
    x_b(b, (unsigned)priv);
  }
  x_alu_imm(b, XW, XA_ADD, 0, X_RAX, 0, (int32_t)sizeof(wb_mem_record));
  x_rm(b, XW, 0x89, X_RAX, X_RBP, cur);
}

/* Clean calls from translated code: r15 (the count) lives in the hart's jit_left meanwhile,
 * which a signal handler asking for an exit must know (wb_jit_synced). */
static void client_call(wb_hart *h, const wb_action *a, uint64_t pc) {
  wb_jit_synced(h->jit, 1);
  wb_client_call(h, a, pc);
  wb_jit_synced(h->jit, 0);
}
static void client_call_mem(wb_hart *h, const wb_action *a, uint64_t pc, uint64_t addr) {
  wb_jit_synced(h->jit, 1);
  wb_client_call_mem(h, a, pc, addr);
  wb_jit_synced(h->jit, 0);
}

/* a clean call: the guest state in the hart (registers, instret), then fn(hart, action, pc[, addr]) */
static void emit_call(tctx *t, const wb_action *a) {
  x86_buf *b = &t->b;
  wb_action *keep = wb_jit_meta_alloc(t->J, sizeof *keep);
  if (!keep) { t->full = 1; return; }
  *keep = *a;
  t->checked = 0; /* a client (or a wrap's pre hook) may change registers */
  uint8_t *skip = NULL;
  if (a->guarded) {                  /* only when guest register rs1 is in [lo, hi) */
    int h = hreg(t, a->rs1);
    if (h >= 0) x_rr(b, XW, XA_MOV, X_RAX, h);
    else x_rm(b, XW, XA_MOV, X_RAX, X_RBP, JDX(a->rs1));
    x_mov_imm(b, X_RCX, a->lo);
    x_rr(b, XW, XA_SUB, X_RAX, X_RCX);
    x_mov_imm(b, X_RCX, a->hi - a->lo);
    x_rr(b, XW, XA_CMP, X_RAX, X_RCX);
    skip = x_jcc32(b, CC_AE);
  }
  if (a->kind == WB_ACT_CALL_MEM) action_addr(t, a);
  wb_tx_clean_call(t, a->kind == WB_ACT_CALL_MEM ? (void *)client_call_mem : (void *)client_call,
                   (uint64_t)(uintptr_t)keep);
  if (skip) x_fix32(skip, b->p);
}

void wb_tx_clean_call(tctx *t, void *fn, uint64_t arg) {
  x86_buf *b = &t->b;
  wb_tx_spill_all(t);
  x_rm(b, XW, 0x89, X_LEFT, X_RBP, JD(jit_left));
  icount_now(t, X_RAX);
  x_rm(b, XW, 0x89, X_RAX, X_RBP, JD(instret));
  x_rm(b, XW, 0x8d, X_RDI, X_RBP, -JIT_BIAS);     /* lea: the hart */
  x_mov_imm(b, X_RSI, arg);
  x_mov_imm(b, X_RDX, t->pc);
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)fn);
  x_call_reg(b, X_RAX);
  wb_tx_reload_all(t);
  x_rm(b, XW, XA_MOV, X_LEFT, X_RBP, JD(jit_left));
}

/* A mirrored access (wb_bb_mirror_mem): when the filter flags a page the access touches (its
 * first or last byte's), count it in the hart's table, call the client, and let the access go
 * through the primary view; otherwise through the hart's own view, where its protections still
 * hold (another thread's private page faults). The choice is left in hart.jit_base, which the
 * access (mmu_flat.c, or the slow path of an atomic) takes its base from. */
static void emit_mirror(tctx *t, const wb_action *a) {
  static const uint8_t test8 = 0xf6;
  x86_buf *b = &t->b;
  uint64_t mask = a->lo - 1;
  action_addr(t, a);                                          /* rcx = address */
  x_mov_imm(b, X_RDX, (uint64_t)(uintptr_t)a->filter);
  uint8_t *hit = NULL, *miss;
  for (int last = 0; last < (a->size > 1 ? 2 : 1); last++) {
    x_rm(b, XW, 0x8d, X_RAX, X_RCX, last ? a->size - 1 : 0); /* lea rax, [rcx + off] */
    x_shift_imm(b, XW, 5, X_RAX, 12);                         /* shr rax, 12 */
    if (mask <= INT32_MAX) x_alu_imm(b, XW, XA_AND, 0, X_RAX, 0, (int32_t)mask);
    x_op(b, 0, &test8, 1, 0, 1, X_RDX, X_RAX, 0);              /* test byte [rdx + rax], 0xff */
    x_b(b, 0xff);
    if (!last && a->size > 1) hit = x_jcc8(b, CC_NE);
  }
  miss = x_jcc32(b, CC_E);
  if (hit) x_fix8(hit, b->p);
  if (!a->viewonly && a->hcounter >= 0) {                     /* the hart's own table: no lock */
    x_rm(b, XW, XA_MOV, X_RAX, X_RBP, JD(counters) + 8 * a->client);
    x_alu_imm(b, XW, XA_ADD, 1, X_RAX, (int32_t)(a->hcounter * sizeof(uint64_t)), 1);
  }
  if (!a->viewonly && a->ptr) {
    wb_action *keep = wb_jit_meta_alloc(t->J, sizeof *keep);
    if (!keep) { t->full = 1; return; }
    *keep = *a;
    keep->kind = WB_ACT_CALL_MEM;
    keep->novalue = 1;
    wb_tx_clean_call(t, (void *)client_call_mem, (uint64_t)(uintptr_t)keep);
  }
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)t->m->mem.base);  /* shared: the primary view */
  uint8_t *done = x_jmp32(b);
  x_fix32(miss, b->p);
  x_rr(b, XW, XA_MOV, X_RAX, X_RBX);                          /* private: the hart's view */
  x_fix32(done, b->p);
  x_rm(b, XW, 0x89, X_RAX, X_RBP, JD(jit_base));
}

int wb_tx_acts_mirror(const wb_action *acts, unsigned nacts) {
  for (unsigned k = 0; k < nacts; k++)
    if (acts[k].kind == WB_ACT_MIRROR) return 1;
  return 0;
}

/* mode: 0 a block without bursty tracing, 1 its checking copy, 2 its instrumented copy */
void wb_tx_emit_actions(tctx *t, const wb_action *acts, unsigned nacts, int mode) {
  for (unsigned k = 0; k < nacts; k++) {
    const wb_action *a = &acts[k];
    if (a->kind == WB_ACT_BURST) continue;         /* compiled into the block's entry */
    if (a->burst && mode != 2) continue;           /* instrumented copy only */
    switch (a->kind) {
      case WB_ACT_COUNT:
        x_mov_imm(&t->b, X_RAX, (uint64_t)(uintptr_t)a->ptr);
        if (a->amount > INT32_MAX) x_mov_imm(&t->b, X_RCX, a->amount);
        if (t->m->par.on) x_b(&t->b, 0xf0);  /* lock: counters are shared by the threads */
        if (a->amount <= INT32_MAX) x_alu_imm(&t->b, XW, XA_ADD, 1, X_RAX, 0, (int32_t)a->amount);
        else x_rm(&t->b, XW, 0x01, X_RCX, X_RAX, 0);
        break;
      case WB_ACT_COUNT_HART: {                      /* the hart's own table: no lock */
        int32_t disp = (int32_t)(a->counter * sizeof(uint64_t));
        x_rm(&t->b, XW, XA_MOV, X_RAX, X_RBP, JD(counters) + 8 * a->client);
        if (a->amount > INT32_MAX) {
          x_mov_imm(&t->b, X_RCX, a->amount);
          x_rm(&t->b, XW, 0x01, X_RCX, X_RAX, disp);
        } else {
          x_alu_imm(&t->b, XW, XA_ADD, 1, X_RAX, disp, (int32_t)a->amount);
        }
        break;
      }
      case WB_ACT_TRACE_MEM: emit_trace(t, a); break;
      case WB_ACT_MIRROR: emit_mirror(t, a); break;
      default: emit_call(t, a); break;
    }
  }
}

int wb_tx_stream_room(tctx *t, const wb_action *acts, unsigned nacts) {
  wb_stream *ss[8];
  uint64_t need[8];
  unsigned ns = 0;
  for (unsigned k = 0; k < nacts; k++) {
    if (acts[k].kind != WB_ACT_TRACE_MEM) continue;
    unsigned j = 0;
    while (j < ns && ss[j] != acts[k].ptr) j++;
    if (j == ns) { if (ns == 8) return 0; ss[ns] = acts[k].ptr; need[ns++] = 0; }
    need[j] += sizeof(wb_mem_record);
  }
  for (unsigned j = 0; j < ns; j++) {
    x_rm(&t->b, XW, XA_MOV, X_RAX, X_RBP, seg_disp(ss[j], offsetof(wb_stream_seg, cur)));
    x_alu_imm(&t->b, XW, XA_ADD, 0, X_RAX, 0, (int32_t)need[j]);
    x_rm(&t->b, XW, XA_CMP, X_RAX, X_RBP, seg_disp(ss[j], offsetof(wb_stream_seg, end)));
    wb_tx_add_stub(t, x_jcc32(&t->b, CC_A), JX_STREAM, t->pc, -1, (int)t->n);
    t->stubs[t->nstubs - 1].ptr = ss[j];
    t->stubs[t->nstubs - 1].amount = need[j];
  }
  return 1;
}

uint8_t *wb_tx_burst_entry(tctx *t, wb_burst *burst) {
  x86_buf *b = &t->b;
  struct wb_jit *J = t->J;
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)&burst->left);
  uint8_t dec[1] = {0xff};
  x_op(b, XW, dec, 1, 1, 1, X_RAX, X_NOINDEX, 0);           /* dec qword [rax] */
  uint8_t *no_switch = x_jcc32(b, CC_G);
  for (int k = 0; k < JIT_NMAP; k++)
    if (caller_saved(J->hregs[k])) x_rm(b, XW, 0x89, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_mov_imm(b, X_RDI, (uint64_t)(uintptr_t)burst);
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)wb_burst_switch);
  x_call_reg(b, X_RAX);
  for (int k = 0; k < JIT_NMAP; k++)
    if (caller_saved(J->hregs[k])) x_rm(b, XW, XA_MOV, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_fix32(no_switch, b->p);
  x_mov_imm(b, X_RAX, (uint64_t)(uintptr_t)&burst->on);
  uint8_t cmpb[1] = {0x80};
  x_op(b, 0, cmpb, 1, 7, 1, X_RAX, X_NOINDEX, 0);          /* cmp byte [rax], 0 */
  x_b(b, 0);
  return x_jcc32(b, CC_NE);
}

#endif /* WB_HAVE_JIT */
