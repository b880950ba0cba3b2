/* wrap.c — wrapping guest functions by symbol (wb/client.h: wb_wrap, wb_wrap_when).
 *
 * A wrapped function's entry gets a clean call (an action like any client's, added first so
 * its pre hook runs before other hooks). When a post hook is wanted, the entry hook replaces
 * the return address with WB_WRAP_RETURN and pushes a frame (ra, sp, the hook's data) on the
 * calling hart's stack of wrapped calls; a jump to WB_WRAP_RETURN (caught by both tiers)
 * pops it, runs the post hook and continues at the real return address. Frames a longjmp
 * skipped (deeper sp) are dropped on the way.
 */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "platform.h"
#include "trap.h"

#define WB_API __attribute__((visibility("default")))

static void wrap_entry(void *data, wb_hart *h, uint64_t pc);

/* the call to a wrapped function's entry hook (guarded by wb_wrap_when's range, if set) */
static void wrap_call(wb_bb *bb, unsigned i, const wb_wrap_rec *w) {
  wb_action *a = wb_bb_add_action(bb, WB_ACT_CALL, i);
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

void wb_wrap_instrument(wb_bb *bb) {
  wb_clients *c = bb->m->clients;
  for (int w = 0; w < c->nwraps; w++)
    for (unsigned i = 0; i < bb->n; i++)
      if (bb->pcs[i] == c->wraps[w].pc) wrap_call(bb, i, &c->wraps[w]);
}

WB_API uint64_t wb_symbol_address(wb_machine *m, const char *symbol) {
  uint64_t a = 0;
  return m->platform->symbol && m->platform->symbol(m, symbol, &a) == 0 ? a : 0;
}

WB_API int wb_wrap(wb_machine *m, const char *symbol, wb_wrap_pre_fn pre, wb_wrap_post_fn post, void *data) {
  wb_clients *c = wb_clients_of(m);
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

static void wrap_entry(void *data, wb_hart *h, uint64_t pc) {
  const wb_wrap_rec *w = data;
  wb_machine *m = h->m;
  uint64_t *x = h->x;
  (void)pc;
  void *user = NULL;
  if (w->pre) {
    uint64_t args[8];
    memcpy(args, &x[10], sizeof args);
    w->pre(w->data, h, x[1], args, &user);
    memcpy(&x[10], args, sizeof args);
  }
  if (!w->post || user == WB_WRAP_NO_POST) return;
  if (h->nframes == h->capframes) {
    size_t cap = h->capframes ? h->capframes * 2 : 64;
    wb_wrap_frame *f = realloc(h->frames, cap * sizeof *f);
    if (!f) { wb_machine_stop(m, WB_REASON_INTERNAL, "out of host memory for wrapped calls"); return; }
    h->frames = f;
    h->capframes = cap;
  }
  h->frames[h->nframes++] = (wb_wrap_frame){x[1], x[2], user, w};
  x[1] = WB_WRAP_RETURN;
}

static uint64_t wrap_return(wb_hart *h);

uint64_t wb_wrap_return(wb_hart *h) {
  wb_lock(h->m);  /* the post hook is a client hook */
  uint64_t ra = wrap_return(h);
  wb_unlock(h->m);
  return ra;
}

static uint64_t wrap_return(wb_hart *h) {
  uint64_t sp = h->x[2];
  /* frames of calls a longjmp left are deeper (lower sp) than the one returning now */
  while (h->nframes && h->frames[h->nframes - 1].sp < sp) h->nframes--;
  if (!h->nframes) {
    wb_trap_memory(h, WB_WRAP_RETURN, WB_WRAP_RETURN, "jump to the wrap return address with no wrapped call pending");
    return WB_WRAP_RETURN;
  }
  wb_wrap_frame f = h->frames[--h->nframes];
  if (f.w->post) f.w->post(f.w->data, h, &h->x[10], f.user);
  return f.ra;
}
