/* rebuild.c — translating blocks again for instructions a client or the watchpoint unit
 * marked (wb_retranslate, watch/online.c): the holders of a marked pc are looked up, translated
 * anew, and their old entry jumps to the new code. The dispatcher (jit.c) runs the rebuilds at
 * its next visit, where no translated code of this cache is running mid-block. */
#include <string.h>

#include "jit_internal.h"
#include "interp.h"
#include "machine.h"
#include "watch/watch.h"

#if WB_HAVE_JIT

void wb_jit_rebuild_at(struct wb_jit *J, uint64_t pc) {
  if (J->nrebuild < JIT_REBUILDS) J->rebuild[J->nrebuild] = pc;
  if (J->nrebuild <= JIT_REBUILDS) J->nrebuild++;
}

int wb_jit_rebuild_pending(const struct wb_jit *J) { return J && J->nrebuild != 0; }

/* Instruction index of pc in block b, or -1 when pc does not start one of its instructions. */
static int insn_index(const wb_jit_block *b, uint64_t pc) {
  uint64_t at = b->pc;
  for (unsigned i = 0; i < b->n; i++) {
    if (at == pc) return (int)i;
    at += (b->cmask >> i & 1) ? 2 : 4;
  }
  return -1;
}

/* Point the entry of block o at code (a jmp over its count check). */
static void redirect(wb_jit_block *o, const uint8_t *code) {
  o->code[0] = 0xe9;                          /* jmp rel32 */
  int32_t rel = (int32_t)(code - (o->code + 5));
  memcpy(o->code + 1, &rel, 4);
}

/* Translate again every live block holding a marked instruction, unless its access there
 * already takes the checked path (a fault there, on a page another thread still owns, needs
 * no new code), and point the old entries at the new code: whatever reaches an old block
 * (chained exits, the jump table) goes on into the new one in one jump, and the old code stays
 * valid for a fault handler that resumes inside it. */
void wb_jit_rebuild_marked(struct wb_jit *J) {
  wb_machine *m = J->m;
  unsigned n = J->nrebuild;
  J->nrebuild = 0;
  wb_lock(m);
  if (n > JIT_REBUILDS) {            /* too many at once: rebuild everything */
    wb_jit_flush(J);
    m->cache_flushes++;
    wb_unlock(m);
    return;
  }
  uint64_t gen = J->generation;
  /* the blocks holding a marked pc start at most a block's length before it: look those
   * starts up (a scan of every block per rebuild costs more once the cache is large) */
  enum { MAX_HOLDERS = 256 };
  wb_jit_block *holders[MAX_HOLDERS];
  unsigned nh = 0;
  for (unsigned r = 0; r < n && nh < MAX_HOLDERS; r++) {
    uint64_t pc = J->rebuild[r], lo = pc > 4 * WB_BLOCK_MAX ? pc - 4 * WB_BLOCK_MAX : 0;
    for (uint64_t s = pc & ~1ull;; s -= 2) {
      for (wb_jit_block *b = J->table[hash_pc(s)]; b && nh < MAX_HOLDERS; b = b->hnext) {
        if (b->pc != s || b->replaced || pc >= b->end_pc) continue;
        int i = insn_index(b, pc);
        if (i >= 0 && (b->mirrored >> i & 1)) continue;    /* already checked there */
        unsigned k = 0;
        while (k < nh && holders[k] != b) k++;
        if (k == nh) holders[nh++] = b;
      }
      if (s <= lo) break;
    }
  }
  for (unsigned k = 0; k < nh && J->generation == gen; k++) {
    wb_jit_block *b = holders[k];
    wb_jit_block *nb = wb_jit_translate_locked(J, b->pc);
    if (!nb || J->generation != gen) break;   /* the cache was dropped: all is new anyway */
    for (wb_jit_block *o = b; o; o = o->older) redirect(o, nb->code);
    nb->older = b;
    b->replaced = 1;
    m->retranslations++;
    if (m->watch) wb_watchpt_rebuilt(m);
  }
  wb_unlock(m);
}

#endif /* WB_HAVE_JIT */
