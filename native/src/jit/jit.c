/* jit.c — the JIT tier's code cache and dispatcher: when to translate, how translated code is
 * entered and left, chaining, the jump table, flushes, and precise state after a host fault.
 *
 * The dispatcher loop (wb_jit_run) keeps cpu.instret exact whenever it runs: on entry to
 * translated code it sets cpu.jit_left = mark - instret (mark = the next instret at which
 * limits must be looked at); every block subtracts its length on entry and leaves through its
 * limit stub when the count would go negative; every exit descriptor says how many of the
 * block's counted instructions did not retire, so instret = mark - jit_left - rollback.
 *
 * Cold code runs in the interpreter: a block is translated after cfg.jit_hot executions there
 * (blocks that run a few times are not worth translating). Both tiers cut blocks at the same
 * places, so block-level events agree between them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "jit_internal.h"
#include "decode.h"
#include "interp.h"
#include "mmu.h"
#include "trap.h"
#include "client.h"
#include "watch/watch.h"


#if WB_HAVE_JIT

/* host registers that may hold guest registers: callee-saved first */
static const uint8_t k_hosts[JIT_NMAP] = {X_R12, X_R13, X_R14, X_RSI, X_RDI,
                                          X_R8, X_R9, X_R10, X_R11};

void *wb_jit_meta_alloc(struct wb_jit *J, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (J->meta_used + n > J->meta_size) return NULL;
  void *p = J->meta + J->meta_used;
  J->meta_used += n;
  return p;
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/* The jump table below 2 GiB if the address space there has room: translated code then
 * indexes it with an absolute 32-bit displacement (one register and two instructions fewer
 * per indirect jump). */
static wb_jit_jc *alloc_low_table(size_t bytes) {
  for (uintptr_t hint = 0x20000000; hint < 0x78000000; hint += 0x1000000) {
    void *p = mmap((void *)hint, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) continue;
    if ((uintptr_t)p == hint) return p;
    munmap(p, bytes); /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
  }
  return NULL;
}

struct wb_jit *wb_jit_new(wb_machine *m, size_t code_size, char *err, size_t errlen) {
  struct wb_jit *J = calloc(1, sizeof *J);
  if (!J) { snprintf(err, errlen, "out of host memory"); return NULL; }
  J->m = m;
  J->code_size = code_size ? code_size : JIT_CODE_SIZE_DEFAULT;
  if (J->code_size < (64u << 10)) J->code_size = 64u << 10;
  if (J->code_size > (1ull << 30)) J->code_size = 1ull << 30;
  J->code_size &= ~(size_t)4095;
  J->meta_size = J->code_size / 2;
  J->code = mmap(NULL, J->code_size, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  J->meta = mmap(NULL, J->meta_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  J->jc = alloc_low_table(JIT_JC_SIZE * sizeof *J->jc);
  J->jc_low = J->jc != NULL;
  if (!J->jc) J->jc = calloc(JIT_JC_SIZE, sizeof *J->jc);
  J->hot = calloc(1u << JIT_HOT_BITS, sizeof *J->hot);
  if (J->code == MAP_FAILED || J->meta == MAP_FAILED || !J->jc || !J->hot) {
    if (J->code == MAP_FAILED) J->code = NULL;
    if (J->meta == MAP_FAILED) J->meta = NULL;
    wb_jit_free(J);
    snprintf(err, errlen, "cannot reserve the JIT code cache (is W+X memory forbidden here?)");
    return NULL;
  }
  J->code_used = JIT_PREFIX;
  /* WB_JIT_PERFMAP=1: name translated blocks for `perf report` (/tmp/perf-PID.map) */
  const char *pm = getenv("WB_JIT_PERFMAP");
  if (pm && *pm == '1') {
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
    J->perfmap = fopen(path, "a");
  }
  return J;
}

int wb_jit_init(wb_machine *m, char *err, size_t errlen) {
  m->jit = wb_jit_new(m, m->cfg.jit_cache_bytes, err, errlen);
  return m->jit ? 0 : -1;
}

void wb_jit_free(struct wb_jit *J) {
  if (!J) return;
  if (J->code) munmap(J->code, J->code_size);
  if (J->meta) munmap(J->meta, J->meta_size);
  if (J->jc_low) munmap(J->jc, JIT_JC_SIZE * sizeof *J->jc);
  else free(J->jc);
  free(J->hot);
  free(J->order);
  free(J->jc_fills);
  free(J->xchains);
  if (J->perfmap) fclose(J->perfmap);
  free(J);
}

void wb_jit_fini(wb_machine *m) {
  wb_jit_free(m->jit);
  m->jit = NULL;
}


/* Below this many translations, a flush clears only their table and jump-table slots (every
 * filled slot belongs to a block in J->order) instead of the 1.5 MB of tables: a guest that
 * rewrites its own code in a loop flushes on every write. */
#define JIT_SMALL_FLUSH 256

void wb_jit_flush(struct wb_jit *J) {
  if (!J) return;
  if (J->norder <= JIT_SMALL_FLUSH) {
    for (size_t i = 0; i < J->norder; i++) {
      J->table[hash_pc(J->order[i]->pc)] = NULL;
      J->jc[(J->order[i]->pc >> 1) & (JIT_JC_SIZE - 1)] = (wb_jit_jc){0};
    }
  } else {
    memset(J->table, 0, sizeof J->table);
    memset(J->jc, 0, JIT_JC_SIZE * sizeof *J->jc);
  }
  if (J->wrap_ret) J->jc[(WB_WRAP_RETURN >> 1) & (JIT_JC_SIZE - 1)] = (wb_jit_jc){WB_WRAP_RETURN, J->wrap_ret};
  J->code_used = JIT_PREFIX;
  J->meta_used = 0;
  J->norder = 0;
  J->njc_fills = 0;
  J->nxchains = 0;   /* their code is gone */
  J->generation++;
}

/* System mode: the block decoded at virtual pc from the physical address pc maps to now. */
static wb_jit_block *find_sys(struct wb_jit *J, uint64_t pc) {
  uint64_t ppc;
  if (wb_sys_fetch_phys(J->hart, pc, &ppc) != 0) return NULL;
  for (wb_jit_block *b = J->table[hash_pc(pc)]; b; b = b->hnext)
    if (b->pc == pc && b->ppc == ppc && (!b->ppc2 || wb_sys_tail_tag(J->hart, pc, b->end_pc) == b->ppc2))
      return b;
  return NULL;
}

static wb_jit_block *find(struct wb_jit *J, uint64_t pc) {
  if (__builtin_expect(J->sys, 0)) return find_sys(J, pc);
  for (wb_jit_block *b = J->table[hash_pc(pc)]; b; b = b->hnext)
    if (b->pc == pc) return b;
  return NULL;
}

void wb_jit_set_system(struct wb_jit *J, int fp_off, int priv, void *tlb) {
  J->sys = 1;
  J->tlb = tlb;
  J->fp_off = fp_off;
  J->priv = priv;
  if (!J->jc_fills) J->jc_fills = malloc(JIT_JC_FILLS * sizeof *J->jc_fills);
  if (!J->xchains) J->xchains = malloc(JIT_XCHAINS * sizeof *J->xchains);
}

/* A jump-table slot filled in system mode: remembered so that an unchain clears just it. */
static void jc_filled(struct wb_jit *J, unsigned slot) {
  if (J->njc_fills < JIT_JC_FILLS && J->jc_fills) J->jc_fills[J->njc_fills] = slot;
  J->njc_fills++;
}

/* Point the chained exits to other pages back at their stubs. */
static void unchain_pages(struct wb_jit *J) {
  for (size_t i = 0; i < J->nxchains; i++) x_fix32(J->xchains[i][0], J->xchains[i][1]);
  J->nxchains = 0;
}

void wb_jit_unchain(struct wb_jit *J) {
  if (!J) return;
  unchain_pages(J);
  if (J->njc_fills <= JIT_JC_FILLS && J->jc_fills)
    for (size_t i = 0; i < J->njc_fills; i++) J->jc[J->jc_fills[i]] = (wb_jit_jc){0};
  else
    memset(J->jc, 0, JIT_JC_SIZE * sizeof *J->jc);
  J->njc_fills = 0;
}

void wb_jit_unchain_at(struct wb_jit *J, uint64_t va) {
  if (!J) return;
  unchain_pages(J);   /* (any of them may lead into va's page) */
  if (J->njc_fills > JIT_JC_FILLS || !J->jc_fills) {   /* the list overflowed: the whole table */
    for (unsigned s = 0; s < JIT_JC_SIZE; s++)
      if (J->jc[s].code && (J->jc[s].pc >> 30) == (va >> 30)) J->jc[s] = (wb_jit_jc){0};
    return;
  }
  size_t keep = 0;
  for (size_t i = 0; i < J->njc_fills; i++) {
    unsigned s = J->jc_fills[i];
    if ((J->jc[s].pc >> 30) == (va >> 30)) J->jc[s] = (wb_jit_jc){0};
    else if (J->jc[s].code) J->jc_fills[keep++] = s;
  }
  J->njc_fills = keep;
}

/* ---- the register map and the enter/exit trampolines ---- */

void wb_jit_count_refs(const wb_insn *in, uint16_t *refs) {
  if (in->op != WB_OP_ILLEGAL && in->op < WB_OP_FLW) { refs[in->rd]++; refs[in->rs1]++; refs[in->rs2]++; }
  else if (in->op == WB_OP_FLW || in->op == WB_OP_FLD || in->op == WB_OP_FSW || in->op == WB_OP_FSD) refs[in->rs1]++;
}

/* Give the JIT_NMAP guest registers with the highest counts host registers. */
static void map_from_counts(struct wb_jit *J, uint64_t *cnt) {
  cnt[0] = 0;
  memset(J->map, -1, sizeof J->map);
  for (int k = 0; k < JIT_NMAP; k++) {
    int best = 1;
    for (int r = 1; r < 32; r++)
      if (J->map[r] < 0 && (J->map[best] >= 0 || cnt[r] > cnt[best])) best = r;
    J->map[best] = (int8_t)k_hosts[k];
    J->hregs[k] = k_hosts[k];
    J->gregs[k] = (uint8_t)best;
  }
}

/* The first register map, before anything ran: a static count of register operands over the
 * program's executable pages. Translated code then counts block executions for a while and
 * remap() chooses the final map from the dynamic counts (both deterministic: the same
 * program and input get the same maps). */
static void choose_map(struct wb_jit *J) {
  wb_machine *m = J->m;
  uint64_t cnt[32] = {0};
  const wb_mem *mem = &m->mem;
  for (uint64_t pg = 0; pg < (mem->size >> WB_PAGE_SHIFT); pg++) {
    if (!(mem->perm[pg] & WB_PROT_X)) continue;
    uint64_t a = pg << WB_PAGE_SHIFT, end = a + WB_PAGE_SIZE;
    while (a + 2 <= end) {
      uint16_t lo;
      memcpy(&lo, wb_mem_host(mem, a), 2);
      uint32_t raw = lo;
      if (wb_insn_len(lo) == 4) {
        if (a + 4 > end) break;
        uint16_t hi;
        memcpy(&hi, wb_mem_host(mem, a + 2), 2);
        raw |= (uint32_t)hi << 16;
      }
      wb_insn in;
      wb_decode(raw, &in);
      uint16_t refs[32] = {0};
      wb_jit_count_refs(&in, refs);
      for (int r = 0; r < 32; r++) cnt[r] += refs[r];
      a += in.len;
    }
  }
  /* default preference when the text is empty or ties: sp, ra, a0..a5, s0 */
  static const uint8_t pref[] = {2, 1, 10, 11, 12, 13, 14, 15, 8};
  for (unsigned k = 0; k < sizeof pref; k++) cnt[pref[k]] = cnt[pref[k]] * 2 + 1;
  map_from_counts(J, cnt);
}

/* A wrapped function returning to WB_WRAP_RETURN: its post hook, then on to the real return
 * address (called from the wrap-return trampoline; 0 = the machine stopped). */
static uint64_t wrap_return_call(wb_hart *h) {
  wb_machine *m = h->m;
  struct wb_jit *J = h->jit;
  J->synced = 1;
  J->hart->instret = J->mark - (uint64_t)(J->left_swapped ? J->saved_left : J->hart->jit_left);
  J->hart->pc = WB_WRAP_RETURN;
  uint64_t pc = wb_wrap_return(h);
  J->synced = 0;
  if (m->stop_reason == WB_REASON_NONE && !h->leave) return pc;
  h->pc = pc;  /* the post hook ran: the run goes on (if ever) at the return address */
  return 0;
}

static void emit_trampolines(struct wb_jit *J) {
  x86_buf b = {J->code, J->code + JIT_PREFIX};
  /* enter(cpu_biased = rdi, membase = rsi, code = rdx) */
  J->enter = (wb_jit_enter_fn)(void *)b.p;
  x_push(&b, X_RBX); x_push(&b, X_RBP); x_push(&b, X_R12); x_push(&b, X_R13);
  x_push(&b, X_R14); x_push(&b, X_R15);
  x_alu_imm(&b, XW, XA_SUB, 0, X_RSP, 0, 8);           /* keep rsp 16-byte aligned for calls */
  x_rr(&b, XW, XA_MOV, X_RBP, X_RDI);
  x_rr(&b, XW, XA_MOV, X_RBX, X_RSI);
  x_rr(&b, XW, XA_MOV, X_RAX, X_RDX);
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, XA_MOV, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, XA_MOV, X_LEFT, X_RBP, JD(jit_left));
  J->enter_loaded = b.p;                 /* from here on r15 is the count */
  x_jmp_reg(&b, X_RAX);
  /* wrap return: reached through the jump table when a wrapped function returns to
   * WB_WRAP_RETURN; runs its post hook without leaving translated code. It lies between
   * enter_loaded and exit_stored: r15 is the count here (see wb_jit_request_exit). */
  b.p = (uint8_t *)(((uintptr_t)b.p + 15) & ~(uintptr_t)15);
  J->wrap_ret = b.p;
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, 0x89, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, 0x89, X_LEFT, X_RBP, JD(jit_left));
  x_rm(&b, XW, 0x8d, X_RDI, X_RBP, -JIT_BIAS);        /* lea: the hart */
  x_mov_imm(&b, X_RAX, (uint64_t)(uintptr_t)wrap_return_call);
  x_call_reg(&b, X_RAX);
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, XA_MOV, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, XA_MOV, X_LEFT, X_RBP, JD(jit_left));
  x_rr(&b, XW, XA_TEST, X_RAX, X_RAX);
  uint8_t *stopped = x_jcc8(&b, CC_E);
  x_rm(&b, XW, 0x89, X_RAX, X_RBP, JD(pc));        /* on to the real return address */
  if (J->jc_low) {
    int32_t tab = (int32_t)(uintptr_t)J->jc;
    static const uint8_t cmp_op = 0x3b, jmp_op = 0xff;
    x_rr(&b, 0, XA_MOV, X_RCX, X_RAX);
    x_alu_imm(&b, 0, XA_AND, 0, X_RCX, 0, (int32_t)((JIT_JC_SIZE - 1) << 1));
    x_op_abs_index(&b, XW, &cmp_op, 1, X_RAX, X_RCX, 3, tab);
    uint8_t *miss = x_jcc8(&b, CC_NE);
    x_op_abs_index(&b, 0, &jmp_op, 1, 4, X_RCX, 3, tab + 8);
    x_fix8(miss, b.p);
  }
  x_mov_imm(&b, X_RAX, (uint64_t)(uintptr_t)&J->indirect_exit);
  uint8_t *to_exit = x_jmp32(&b);
  x_fix8(stopped, b.p);
  x_mov_imm(&b, X_RAX, (uint64_t)(uintptr_t)&J->stop_exit);
  uint8_t *to_exit2 = x_jmp32(&b);
  /* system mode: the soft MMU's call for a memory instruction (rcx = exit, rdx = record);
   * called from translated code, so rsp is 8 off its alignment on entry */
  b.p = (uint8_t *)(((uintptr_t)b.p + 15) & ~(uintptr_t)15);
  J->sys_mem_call = b.p;
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, 0x89, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, 0x89, X_LEFT, X_RBP, JD(jit_left));
  x_rm(&b, XW, 0x8d, X_RDI, X_RBP, -JIT_BIAS);        /* lea: the hart */
  x_rr(&b, XW, XA_MOV, X_RSI, X_RCX);
  x_alu_imm(&b, XW, XA_SUB, 0, X_RSP, 0, 8);
  x_mov_imm(&b, X_RAX, (uint64_t)(uintptr_t)wb_jit_sys_mem);
  x_call_reg(&b, X_RAX);
  x_alu_imm(&b, XW, XA_ADD, 0, X_RSP, 0, 8);
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, XA_MOV, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, XA_MOV, X_LEFT, X_RBP, JD(jit_left));
  x_ret(&b);
  /* exit: rax = the exit descriptor */
  b.p = (uint8_t *)(((uintptr_t)b.p + 15) & ~(uintptr_t)15);
  J->exit_common = b.p;
  for (int k = 0; k < JIT_NMAP; k++) x_rm(&b, XW, 0x89, J->hregs[k], X_RBP, JDX(J->gregs[k]));
  x_rm(&b, XW, 0x89, X_LEFT, X_RBP, JD(jit_left));
  J->exit_stored = b.p;                  /* from here on the count is in memory, r15 the caller's */
  x_alu_imm(&b, XW, XA_ADD, 0, X_RSP, 0, 8);
  x_pop(&b, X_R15); x_pop(&b, X_R14); x_pop(&b, X_R13); x_pop(&b, X_R12);
  x_pop(&b, X_RBP); x_pop(&b, X_RBX);
  x_ret(&b);
  x_fix32(to_exit, J->exit_common);
  x_fix32(to_exit2, J->exit_common);
  J->indirect_exit = (wb_jit_exit){.kind = JX_INDIRECT};
  J->stop_exit = (wb_jit_exit){.kind = JX_STOP};
  J->jc[(WB_WRAP_RETURN >> 1) & (JIT_JC_SIZE - 1)] = (wb_jit_jc){WB_WRAP_RETURN, J->wrap_ret};
}

/* End of the profiling phase: weight each translated block's register references by its
 * executions, give the busiest guest registers host registers, and start a new cache. */
static void remap(struct wb_jit *J) {
  uint64_t cnt[32] = {0};
  for (size_t i = 0; i < J->norder; i++) {
    const wb_jit_block *b = J->order[i];
    if (!b->refs) continue;
    for (int r = 0; r < 32; r++) cnt[r] += b->execs * b->refs[r];
  }
  J->profiling = 0;
  map_from_counts(J, cnt);
  emit_trampolines(J);
  /* new code goes after the old (not over it): host addresses are never reused for a
   * different block within a run unless the cache fills, so profiles (perf maps) stay right */
  size_t used = J->code_used;
  wb_jit_flush(J);
  if (used < J->code_size / 2) J->code_used = used;
}

/* ---- translation and the block table ---- */

static int fetchable(const struct wb_jit *J, uint64_t pc) {
  uint16_t half;
  uint64_t ppc;
  if (J->sys) return !(pc & 1) && wb_sys_fetch_phys(J->hart, pc, &ppc) == 0;
  return !(pc & 1) && wb_mmu_fetch16(&J->m->mem, pc, &half);
}


/* Translation runs under the engine lock: clients' on_block and the memory layer's record of
 * translated code pages are shared by all harts (the cache itself is this hart's). */
static wb_jit_block *translate(struct wb_jit *J, uint64_t pc) {
  wb_lock(J->m);
  wb_jit_block *b = wb_jit_translate_locked(J, pc);
  wb_unlock(J->m);
  return b;
}

wb_jit_block *wb_jit_translate_locked(struct wb_jit *J, uint64_t pc) {
  wb_machine *m = J->m;
  wb_jit_block *b = wb_jit_translate(J, pc);
  if (!b) {                       /* a full cache: start again empty */
    wb_jit_flush(J);
    m->cache_flushes++;
    b = wb_jit_translate(J, pc);
    if (!b) return NULL;
  }
  /* in J->order before the table: every block the table holds is in the order (flush) */
  if (J->norder == J->order_cap) {
    size_t cap = J->order_cap ? J->order_cap * 2 : 4096;
    wb_jit_block **o = realloc(J->order, cap * sizeof *o);
    if (!o) return NULL;
    J->order = o;
    J->order_cap = cap;
  }
  J->order[J->norder++] = b;
  b->ppc = pc;
  if (J->sys) {   /* system mode: code pages are watched by mmu.c (code_pages) */
    if (wb_sys_fetch_phys(J->hart, pc, &b->ppc) != 0) b->ppc = UINT64_MAX;
    b->ppc2 = wb_sys_tail_tag(J->hart, pc, b->end_pc);
  } else {
    wb_mem_protect_code(&m->mem, pc, b->end_pc); /* guest-writable code: catch writes to it */
  }
  unsigned h = hash_pc(pc);
  b->hnext = J->table[h];
  J->table[h] = b;
  J->translations++;
  if (J->perfmap) {
    fprintf(J->perfmap, "%lx %x guest_%llx\n", (unsigned long)(uintptr_t)b->code, b->code_len,
            (unsigned long long)b->pc);
    const char *dump = getenv("WB_JIT_DUMP_PC"); /* debugging: the host code of one block */
    if (dump && strtoull(dump, NULL, 0) == pc && !J->profiling) {
      char path[80];
      snprintf(path, sizeof path, "/tmp/wbjit-%llx.bin", (unsigned long long)pc);
      FILE *f = fopen(path, "wb");
      if (f) { fwrite(b->code, 1, b->code_len, f); fclose(f); }
    }
  }
  m->blocks_translated++;
  return b;
}

/* The translation of pc, or NULL when the block at pc is (still) to be run by the
 * interpreter: cold code, or a pc that cannot be fetched (the interpreter reports it). */
static wb_jit_block *resolve(struct wb_jit *J, uint64_t pc) {
  wb_machine *m = J->m;
  wb_jit_block *b = find(J, pc);
  if (b) return b;
  if (!fetchable(J, pc)) return NULL;
  unsigned h = (unsigned)(pc >> 1) & ((1u << JIT_HOT_BITS) - 1);
  if (J->hot[h].pc != pc) { J->hot[h].pc = pc; J->hot[h].count = 0; }
  if (++J->hot[h].count <= m->cfg.jit_hot) return NULL;
  return translate(J, pc);
}

/* ---- limits ---- */

static void set_left(struct wb_jit *J) {
  wb_machine *m = J->m;
  uint64_t mark = wb_machine_stop_insn(J->hart);  /* budget, timers, quantum, parallel polls */
  if (m->cfg.wall_limit_s > 0 && J->next_wall_check < mark) mark = J->next_wall_check;
  uint64_t ir = J->hart->instret;
  if (mark < ir) mark = ir;
  if (mark - ir > (uint64_t)INT64_MAX / 2) mark = ir + (uint64_t)INT64_MAX / 2;
  J->mark = mark;
  J->hart->jit_mark = mark;
  J->hart->jit_left = (int64_t)(mark - ir);
}

/* Before a block of n instructions at the current instret: 1 if the run must stop. */
static int check_limits(struct wb_jit *J, uint32_t n) {
  return wb_machine_limits_hit(J->hart, n, J->hart->instret + n > J->next_wall_check, &J->next_wall_check);
}

/* The count lives in r15 inside translated code and in cpu.jit_left around helper calls and
 * in the dispatcher: a signal that lands in the code arena changes r15 in its context, any
 * other caller changes memory (translated code reloads r15 after every helper call). */
void wb_jit_request_exit(struct wb_jit *J, void *ucontext) {
  if (!J) return;
  J->exit_requested = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (!J->in_jit || J->left_swapped) return;
  ucontext_t *uc = ucontext;
  uintptr_t rip = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
  int in_arena = uc && rip >= (uintptr_t)J->code && rip < (uintptr_t)J->code + J->code_size && !J->in_helper;
  int caller_r15 = (rip >= (uintptr_t)J->enter && rip < (uintptr_t)J->enter_loaded) ||
                   (rip >= (uintptr_t)J->exit_stored && rip < (uintptr_t)J->code + JIT_PREFIX);
  if (in_arena && caller_r15) {
    /* the trampolines before r15 is loaded and after it is stored: r15 is the caller's (on
     * the stack, or being restored): change memory only, which holds the count there */
    J->saved_left = J->hart->jit_left;
    J->left_swapped = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    J->hart->jit_left = INT64_MIN / 2;
  } else if (in_arena) {
    /* translated code, stubs, the rest of the trampolines: r15 is the count */
    J->saved_left = (int64_t)uc->uc_mcontext.gregs[REG_R15];
    J->left_swapped = 1;
    uc->uc_mcontext.gregs[REG_R15] = INT64_MIN / 2;
    J->hart->jit_left = INT64_MIN / 2;   /* a reload from memory must see the same */
  } else if (J->synced || J->in_helper || !uc) {
    /* translated code reloads r15 from memory after this call (helpers and clean calls
     * store it before and reload it after); synchronous callers are such calls too */
    J->saved_left = J->hart->jit_left;
    J->left_swapped = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    J->hart->jit_left = INT64_MIN / 2;
  }
  /* else: a direct call (fpu.c) holds r15 in the register; the request waits for the next
   * return to the dispatcher */
}

/* The slow path: run one instruction in the interpreter on the state translated code spilled. */
int wb_jit_slow(wb_hart *h, const wb_jit_exit *e) {
  wb_machine *m = h->m;
  struct wb_jit *J = h->jit;
  int64_t left = J->left_swapped ? J->saved_left : J->hart->jit_left;
  J->hart->instret = J->mark - (uint64_t)left - e->rollback;
  J->hart->pc = e->pc;
  J->in_helper = 1;
  if (e->ptr == JIT_SLOW_MIRROR) wb_interp_step(h, (uint8_t *)(uintptr_t)h->jit_base, m->mem.bound);
  else wb_interp_step(h, NULL, 0);
  J->in_helper = 0;
  /* leave the block unless the instruction went on to the next one (system mode: a trap the
   * kernel takes at the same privilege, e.g. a CSR probe, continues at its handler) */
  return m->stop_reason != WB_REASON_NONE || h->leave || h->pc != e->pc + e->amount;
}

void wb_jit_synced(struct wb_jit *J, int on) {
  if (J) J->synced = on;
}

int wb_jit_sys_mem(wb_hart *h, const wb_jit_exit *e, const wb_dinsn *d) {
  struct wb_jit *J = h->jit;
  int64_t left = J->left_swapped ? J->saved_left : h->jit_left;
  uint64_t icount = J->mark - (uint64_t)left - e->rollback;  /* retired before this one */
  wb_trap t;
  J->in_helper = 1;
  int r = wb_sys_access(h, (unsigned)(e->amount & 0xffff), d, icount, &t);
  J->in_helper = 0;
  if (__builtin_expect(r == 0, 1)) return 0;
  if (r == 2) {                 /* done; a device or a code write asks the hart to leave */
    h->instret = icount + 1;
    h->pc = e->pc + (e->amount >> 16);
    return 1;
  }
  h->instret = icount;          /* a page fault or an access fault: the platform's */
  h->pc = e->pc;
  wb_trap_raise(h, &t);
  return 1;
}

/* ---- the dispatcher ---- */

#define UNLIKELY_WRAP(pc) __builtin_expect((pc) == WB_WRAP_RETURN, 0)
#define UNLIKELY_PROFILE(J, cpu) __builtin_expect((J)->profiling && (cpu)->instret >= (J)->profile_until, 0)

void wb_jit_run(wb_hart *h) {
  wb_machine *m = h->m;
  struct wb_jit *J = h->jit;
  wb_hart *cpu = h;
  J->hart = h;
  if (!J->mapped) {
    wb_lock(m);   /* reads the guest's text, which another thread may unmap */
    choose_map(J);
    wb_unlock(m);
    if (J->perfmap) {
      fprintf(stderr, "wb jit: guest registers in host registers:");
      for (int k = 0; k < JIT_NMAP; k++) fprintf(stderr, " x%d", J->gregs[k]);
      fprintf(stderr, "\n");
    }
    emit_trampolines(J);
    J->mapped = 1;
    J->profiling = !J->sys || J->priv == WB_PRIV_U;   /* system mode: user code only (a second translation of
                                 every cache cost the Linux boot ~5% more than the default
                                 map loses) */
    J->profile_until = cpu->instret + m->cfg.jit_profile_insns;
  }
  cpu->jit_bound = m->mem.bound;
  J->next_wall_check = cpu->instret;
  uint64_t pc = cpu->pc;
  wb_jit_block *blk = NULL;
  int checked = 0; /* limits were looked at for blk at this instret */
  for (;;) {
    if (m->stop_reason != WB_REASON_NONE || cpu->leave) { cpu->pc = pc; return; }
    if (J->sample_pending) wb_jit_sampler_poll(J, pc);
    if (J->exit_requested) {
      J->exit_requested = 0;
      checked = 0;
    }
    if (__builtin_expect(J->nrebuild != 0, 0)) {   /* the watchpoint unit marked instructions */
      wb_jit_rebuild_marked(J);
      blk = NULL;
      checked = 0;
    }
    if (UNLIKELY_WRAP(pc)) {               /* a wrapped function returns (client.c) */
      cpu->pc = pc;
      pc = wb_wrap_return(h);
      blk = NULL;
      continue;
    }
    if (!blk) {
      blk = resolve(J, pc);
      if (!blk) {                          /* cold or unfetchable: one block in the interpreter */
        cpu->pc = pc;
        /* (with tainted registers: one instruction, stepped with its propagation) */
        if (!(m->taint && cpu->taint.on && wb_taint_step(h, 1))) wb_interp_run_block(h);
        pc = cpu->pc;
        checked = 0;
        continue;
      }
    }
    if (!checked && check_limits(J, blk->n)) { cpu->pc = pc; return; }
    set_left(J);
    /* the limits allow this block now (a device's next event may lie inside it: it is
     * looked at after the block, as the interpreter does); without this the block's entry
     * check would fail again and again */
    if (cpu->jit_left < (int64_t)blk->n) {
      J->mark = cpu->instret + blk->n;
      cpu->jit_mark = J->mark;
      cpu->jit_left = (int64_t)blk->n;
    }
    J->in_jit = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (J->exit_requested) { J->in_jit = 0; if (J->left_swapped) { cpu->jit_left = J->saved_left; J->left_swapped = 0; } continue; }
    /* rbx: the memory view's base (user mode), the TLB entries (system mode) */
    uint8_t *rbx = J->sys ? (uint8_t *)J->tlb : wb_mem_view_base(&m->mem, h->view);
    wb_jit_exit *e = J->enter((uint8_t *)cpu + JIT_BIAS, rbx, blk->code);
    J->in_jit = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (J->left_swapped) { cpu->jit_left = J->saved_left; J->left_swapped = 0; }
    /* copy the descriptor out: a flush below may reuse its memory */
    int kind = e->kind;
    uint64_t epc = e->pc, gen = e->generation;
    uint8_t *patch = e->patch, *estub = e->stub;
    void *eptr = e->ptr;
    uint64_t eamount = e->amount;
    if (kind != JX_STOP) cpu->instret = J->mark - (uint64_t)cpu->jit_left - e->rollback;
    blk = NULL;
    checked = 0;
    if (UNLIKELY_PROFILE(J, cpu)) {
      remap(J);
      if (J->perfmap) {
        fprintf(stderr, "wb jit: after profiling, guest registers in host registers:");
        for (int k = 0; k < JIT_NMAP; k++) fprintf(stderr, " x%d", J->gregs[k]);
        fprintf(stderr, "\n");
      }
      gen = J->generation + 1; /* nothing to patch: the cache is new */
    }
    switch (kind) {
      case JX_DIRECT:
        pc = epc;
        if (UNLIKELY_WRAP(pc)) break;
        blk = resolve(J, pc);
        if (blk && patch && gen == J->generation && !blk->ppc2) x_fix32(patch, blk->code);
        break;
      case JX_INDIRECT:
        pc = cpu->pc & ~1ull; /* jalr clears bit 0; translated code leaves it to us */
        if (UNLIKELY_WRAP(pc)) break;
        blk = resolve(J, pc);
        if (blk && !blk->ppc2) {
          unsigned slot = (unsigned)(pc >> 1) & (JIT_JC_SIZE - 1);
          J->jc[slot] = (wb_jit_jc){pc, blk->code};
          if (J->sys) jc_filled(J, slot);
          /* a direct jump to another page (system mode): chained until the next unchain */
          if (patch && gen == J->generation && J->xchains && J->nxchains < JIT_XCHAINS) {
            J->xchains[J->nxchains][0] = patch;
            J->xchains[J->nxchains][1] = estub;
            J->nxchains++;
            x_fix32(patch, blk->code);
          }
        }
        break;
      case JX_LIMIT:
        pc = epc;
        blk = find(J, pc);
        if (blk) {
          if (check_limits(J, blk->n)) { cpu->pc = pc; return; }
          checked = 1;
        }
        break;
      case JX_STREAM:
        pc = epc;
        wb_stream_reserve(h, eptr, eamount);
        blk = find(J, pc);
        if (blk) {
          if (check_limits(J, blk->n)) { cpu->pc = pc; return; }
          checked = 1;
        }
        break;
      case JX_ECALL:
        cpu->pc = epc;
        if (wb_trap_raise(h, &(wb_trap){WB_CAUSE_ECALL_U + (uint64_t)h->priv, 0, NULL})) return;
        if (m->taint) wb_taint_ecall_done(h);
        pc = cpu->pc;
        break;
      case JX_FLUSH:
        wb_machine_invalidate_code(m, 0, ~0ull);
        pc = epc;
        break;
      case JX_STOP:  /* a helper set pc and instret: on from there unless the run stops */
        if (m->stop_reason != WB_REASON_NONE || cpu->leave) return;
        pc = cpu->pc;
        break;
      case JX_WATCH:   /* a checked access owes the guest a watch trap, right after it */
        cpu->pc = epc;
        if ((h->watch_hit & WB_WATCH_HIT_TRAP) && wb_watchpt_trap(h)) return;
        /* a load of tainted bytes: its register is tainted now, and the blocks from here on
         * run their taint copies (jit/taint.c) */
        if (h->watch_hit & WB_WATCH_HIT_TAINT) wb_taint_settle(h);
        pc = cpu->pc;
        break;
      case JX_INTERP:
        /* a base register out of range: the interpreter runs this one instruction with its
         * exact semantics (a fault, or an offset that brings the address back in range) */
        cpu->pc = epc;
        wb_interp_step(h, NULL, 0);
        if (m->stop_reason != WB_REASON_NONE || cpu->leave) return;
        pc = cpu->pc;
        break;
      default:
        wb_machine_stop(m, WB_REASON_INTERNAL, "JIT: unknown exit kind %d", kind);
        return;
    }
  }
}

/* ---- host pc -> guest instruction ---- */

const wb_jit_block *wb_jit_block_at(const struct wb_jit *J, uintptr_t hpc) {
  size_t lo = 0, hi = J->norder;
  while (lo < hi) {                         /* last block whose code starts at or before hpc */
    size_t mid = (lo + hi) / 2;
    if ((uintptr_t)J->order[mid]->code <= hpc) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return NULL;
  const wb_jit_block *b = J->order[lo - 1];
  return hpc < (uintptr_t)b->code + b->code_len ? b : NULL;
}

uint64_t wb_jit_insn_pc(const wb_jit_block *b, unsigned i) {
  uint64_t below = i >= 64 ? b->cmask : (b->cmask & ((1ull << i) - 1));
  return b->pc + 4ull * i - 2ull * (uint64_t)__builtin_popcountll(below);
}

/* index of the guest instruction whose code contains offset off (n: in the stubs) */
static unsigned insn_at(const wb_jit_block *b, uint32_t off) {
  const uint16_t *h = wb_jit_body(b, off);
  unsigned i = 0;
  while (i < b->n && off >= h[i + 1]) i++;
  return i;
}

int wb_jit_locate(const struct wb_jit *J, uintptr_t hpc, uint64_t *guest_pc, uintptr_t *next) {
  if (!J) return 0;
  const wb_jit_block *b = wb_jit_block_at(J, hpc);
  if (!b) return 0;
  uint32_t off = (uint32_t)(hpc - (uintptr_t)b->code);
  if (off < b->hoff[0]) {                   /* the entry check: before instruction 0 */
    *guest_pc = b->pc;
    *next = (uintptr_t)b->code + b->hoff[0];
    return 1;
  }
  unsigned i = insn_at(b, off);
  if (i >= b->n) {                          /* a stub: the block is leaving */
    *guest_pc = b->end_pc;
    *next = 0;
    return 1;
  }
  *guest_pc = wb_jit_insn_pc(b, i);
  *next = (uintptr_t)b->code + wb_jit_body(b, off)[i + 1];
  return 1;
}

const int wb_jit_greg_index[16] = {
    [X_RAX] = REG_RAX, [X_RCX] = REG_RCX, [X_RDX] = REG_RDX, [X_RBX] = REG_RBX,
    [X_RSP] = REG_RSP, [X_RBP] = REG_RBP, [X_RSI] = REG_RSI, [X_RDI] = REG_RDI,
    [X_R8] = REG_R8,   [X_R9] = REG_R9,   [X_R10] = REG_R10, [X_R11] = REG_R11,
    [X_R12] = REG_R12, [X_R13] = REG_R13, [X_R14] = REG_R14, [X_R15] = REG_R15};

int wb_jit_try_complete(wb_hart *hart, void *ucontext, int (*complete)(wb_hart *h, uint64_t pc)) {
  struct wb_jit *J = hart->jit;
  if (!J || !J->in_jit || J->in_helper || J->left_swapped) return 0;
  ucontext_t *uc = ucontext;
  uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  const wb_jit_block *b = wb_jit_block_at(J, rip);
  if (!b) return 0;
  uint32_t off = (uint32_t)(rip - (uintptr_t)b->code);
  if (off < b->hoff[0]) return 0;
  const uint16_t *h = wb_jit_body(b, off);
  unsigned i = insn_at(b, off);
  if (i + 1 >= b->n) return 0;            /* the next boundary is the block's exit */
  for (int k = 0; k < JIT_NMAP; k++)
    J->hart->x[J->gregs[k]] = (uint64_t)uc->uc_mcontext.gregs[wb_jit_greg_index[J->hregs[k]]];
  int64_t left = (int64_t)uc->uc_mcontext.gregs[REG_R15];
  J->hart->instret = J->mark - (uint64_t)left - (b->n - i);
  uint64_t pc = wb_jit_insn_pc(b, i);
  J->hart->pc = pc;
  J->in_helper = 1;                       /* a fault while completing is the interpreter's */
  int ok = complete(J->hart, pc);
  J->in_helper = 0;
  if (!ok) return 0;
  for (int k = 0; k < JIT_NMAP; k++)
    uc->uc_mcontext.gregs[wb_jit_greg_index[J->hregs[k]]] = (greg_t)J->hart->x[J->gregs[k]];
  const uint16_t *fw = b->fwd + (h == b->hoff ? 0 : b->n + 1);
  if (fw[i + 1] != 0xffff)                /* a scratch register the next code reads as a guest one */
    uc->uc_mcontext.gregs[wb_jit_greg_index[fw[i + 1] & 0xff]] = (greg_t)J->hart->x[fw[i + 1] >> 8];
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)((uintptr_t)b->code + h[i + 1]);
  return 1;
}

int wb_jit_recover_fault(wb_hart *hart, void *ucontext) {
  struct wb_jit *J = hart->jit;
  if (!J || !J->in_jit) return 0;
  if (J->in_helper) {                       /* inside the interpreter's slow path */
    uint64_t pc;
    wb_interp_recover(J->hart, &pc);
    J->in_helper = 0;
    J->in_jit = 0;
    return 1;
  }
  ucontext_t *uc = ucontext;
  uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  const wb_jit_block *b = wb_jit_block_at(J, rip);
  if (!b) return 0;
  unsigned i = insn_at(b, (uint32_t)(rip - (uintptr_t)b->code));
  if (i >= b->n) return 0;                  /* stubs never touch guest memory */
  for (int k = 0; k < JIT_NMAP; k++)
    J->hart->x[J->gregs[k]] = (uint64_t)uc->uc_mcontext.gregs[wb_jit_greg_index[J->hregs[k]]];
  int64_t left = J->left_swapped ? J->saved_left : (int64_t)uc->uc_mcontext.gregs[REG_R15];
  J->hart->instret = J->mark - (uint64_t)left - (b->n - i);
  J->hart->pc = wb_jit_insn_pc(b, i);
  J->left_swapped = 0;
  J->in_jit = 0;
  return 1;
}

#else /* no JIT on this host: the machine refuses the tier before any of these run */

int wb_jit_init(wb_machine *m, char *err, size_t errlen) { snprintf(err, errlen, "no JIT tier on this host"); return -1; }
void wb_jit_fini(wb_machine *m) { (void)m; }
void wb_jit_run(wb_hart *h) { wb_machine_stop(h->m, WB_REASON_INTERNAL, "no JIT tier on this host"); }
struct wb_jit *wb_jit_new(wb_machine *m, size_t code_size, char *err, size_t errlen) { snprintf(err, errlen, "no JIT tier on this host"); return NULL; }
void wb_jit_free(struct wb_jit *J) { (void)J; }
void wb_jit_flush(struct wb_jit *J) { (void)J; }
int wb_jit_recover_fault(wb_hart *h, void *uc) { (void)h; (void)uc; return 0; }
int wb_jit_try_complete(wb_hart *h, void *uc, int (*c)(wb_hart *, uint64_t)) { return 0; }
int wb_jit_locate(const struct wb_jit *J, uintptr_t hpc, uint64_t *g, uintptr_t *n) { return 0; }
void wb_jit_request_exit(struct wb_jit *J, void *uc) { (void)J; (void)uc; }
const wb_jit_block *wb_jit_block_at(const struct wb_jit *J, uintptr_t hpc) { return NULL; }
void wb_jit_synced(struct wb_jit *J, int on) { (void)J; (void)on; }

#endif
