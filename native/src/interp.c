/* interp.c — the interpreter tier: block cache, block building and the dispatch loop.
 *
 * How a guest instruction runs here: build_block() decodes a straight-line run of guest code
 * (wb_decode, shared with every tier) into wb_dinsn records whose first field is the address of
 * the handler for the op; wb_interp_run() enters a block by jumping to its first handler, and
 * every handler ends by jumping to the next record's handler ("threaded dispatch"). Block
 * exits look up (and chain) the successor block. Instructions are counted per block on entry,
 * so the budget is checked once per block, not per instruction.
 *
 * Precise faults: before each guest memory access a handler records which record is running
 * (ip->cur_insn). A host SIGSEGV inside the access is caught by machine.c, which calls
 * wb_interp_recover() to name the guest pc and roll instret back to that instruction.
 *
 * Handler bodies live in interp_ops.h, included into the dispatch function.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "interp.h"
#include "decode.h"
#include "fpu.h"
#include "client.h"
#include "csr.h"
#include "mmu.h"
#include "trap.h"
#include "watch/watch.h"

#define HASH_BITS 16
#define HASH_SIZE (1u << HASH_BITS)
#define ARENA_SIZE (64u << 20)
/* Indirect jumps (jalr: returns, jump tables, calls through pointers) first probe a small
 * direct-mapped cache of (pc, block) pairs: one load pair in the same line, no chain walk. */
#define JCACHE_BITS 12
#define JCACHE_SIZE (1u << JCACHE_BITS)

/* Below this many blocks, a flush clears only their table and jump-cache slots (every
 * filled slot belongs to one of them) instead of the whole 576 KB: a guest that rewrites its
 * own code in a loop flushes on every write. */
#define SMALL_FLUSH 256
/* system mode: blocks whose chain slots were filled since the last unchain (past that many,
 * wb_interp_unchain walks the whole arena) */
#define CHAINED_MAX 8192

/* rs3 of the terminator record; no instruction record has it (register numbers are < 64) */
#define TERM_MARK 0xff

/* pseudo-ops appended after the architectural ones */
enum { IOP_FALLTHROUGH = WB_OP_COUNT, IOP_FETCHFAULT, IOP_HOOK, IOP_SYSMEM, IOP_COUNT };
_Static_assert(WB_OP_COUNT <= 256, "system mode keeps a memory op's number in a uint8_t");

/* Client instrumentation of a block: the records of instrumented instructions get the hook
 * handler, which runs the instruction's actions and then its real handler. */
typedef struct wb_hooks {
  const void *real[WB_BLOCK_MAX];     /* real handlers of hooked instructions */
  uint16_t start[WB_BLOCK_MAX + 1];   /* actions of instruction i: acts[start[i], start[i+1]) */
  unsigned nacts;
  wb_action acts[];
} wb_hooks;

struct wb_interp {
  wb_block *table[HASH_SIZE];
  uint8_t *arena;
  size_t arena_used;
  uint64_t generation;           /* bumped by every flush: stale chain slots are not filled */
  const wb_dinsn *cur_insn;      /* record of the memory access being executed */
  uint64_t limit;                /* instret at which the run loop must look at its limits */
  uint64_t next_wall_check;
  wb_block *fetchfault;          /* shared pseudo-block for fetch faults (not in the table) */
  int fp_off;                    /* system mode, FS Off: F/D instructions decode as illegal */
  struct { uint64_t pc; wb_block *b; } jcache[JCACHE_SIZE]; /* indirect-jump cache, see below */
  /* single-step modes used by the JIT tier (wb_interp_step, wb_interp_run_block): the run
   * returns at the first block entry after `step` work was done */
  int step;                      /* 0 normal, 1 one block, 2 one instruction */
  int stepped;                   /* the stepped block has been entered */
  uint8_t *step_base;            /* memory base for a single instruction (a view), or NULL */
  uint64_t step_bound;
  wb_block *stepblk;             /* scratch block for one instruction (not in the table) */
  /* the pcs of the first SMALL_FLUSH blocks built since the last flush, and how many were
   * built: a flush of few blocks clears just their slots (see wb_interp_flush) */
  uint64_t built[SMALL_FLUSH];
  wb_block *chained[CHAINED_MAX];
  size_t nchained;               /* > CHAINED_MAX: the list overflowed */
  uint16_t jfilled[CHAINED_MAX]; /* system mode: jump-cache slots filled since the last unchain */
  size_t njfilled;               /* > CHAINED_MAX: that list overflowed */
  size_t nbuilt;
};

static const void *const *g_labels; /* handler addresses, exported once by wb_interp_run */
static const void *const (*g_pairs)[WB_OP_COUNT]; /* pair handlers [PF_x][second op] */
typedef struct { uint16_t op[3]; const void *h; } wb_triple;
static const wb_triple *g_triples;                  /* triple handlers (interp_pair.h) */
static unsigned g_ntriples;

/* pair handlers (interp_pair.h): which ops can start a pair */
#include "interp_pair.h"
static const uint8_t pair_first[WB_OP_COUNT] = {
#define PF_INDEX(A) [WB_OP_##A] = PF_##A,
    PAIR_FIRST(PF_INDEX)
#undef PF_INDEX
};

/* Which ops write an integer rd (so rd = x0 must be redirected to the sink register). */
#define RDINT_N 0
#define RDINT_U 1
#define RDINT_J 1
#define RDINT_JR 1
#define RDINT_B 0
#define RDINT_LD 1
#define RDINT_ST 0
#define RDINT_I 1
#define RDINT_SH 1
#define RDINT_R 1
#define RDINT_FENCE 0
#define RDINT_CSR 1
#define RDINT_CSRI 1
#define RDINT_AMO 1
#define RDINT_LR 1
#define RDINT_FLD 0
#define RDINT_FST 0
#define RDINT_FR 0
#define RDINT_FR4 0
#define RDINT_FR1 0
#define RDINT_FRM 0
#define RDINT_FRM1 0
#define RDINT_FCMP 1
#define RDINT_FX 1
#define RDINT_XF 0
#define RDINT_FCVTI 1
#define RDINT_FCVTF 0
#define RDINT_WP 1
static const uint8_t rd_is_int[WB_OP_COUNT] = {
#define X(name, mn, fmt) [WB_OP_##name] = RDINT_##fmt,
    WB_OPS(X)
#undef X
};


struct wb_interp *wb_interp_new(char *err, size_t errlen) {
  struct wb_interp *ip = calloc(1, sizeof *ip);
  if (!ip) { snprintf(err, errlen, "out of host memory"); return NULL; }
  ip->arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ip->arena == MAP_FAILED) { free(ip); snprintf(err, errlen, "cannot reserve the block cache"); return NULL; }
  if (!g_labels) wb_interp_run(NULL); /* export handler addresses */
  ip->fetchfault = calloc(1, sizeof(wb_block) + sizeof(wb_dinsn));
  ip->stepblk = calloc(1, sizeof(wb_block) + 2 * sizeof(wb_dinsn));
  if (!ip->fetchfault || !ip->stepblk) {
    wb_interp_free(ip);
    snprintf(err, errlen, "out of host memory");
    return NULL;
  }
  ip->fetchfault->insns[0].h = g_labels[IOP_FETCHFAULT];
  return ip;
}

void wb_interp_free(struct wb_interp *ip) {
  if (!ip) return;
  munmap(ip->arena, ARENA_SIZE);
  free(ip->fetchfault);
  free(ip->stepblk);
  free(ip);
}

int wb_interp_init(wb_machine *m, char *err, size_t errlen) {
  m->interp = wb_interp_new(err, errlen);
  return m->interp ? 0 : -1;
}

void wb_interp_fini(wb_machine *m) {
  wb_interp_free(m->interp);
  m->interp = NULL;
}

static inline unsigned hash_pc(uint64_t pc) { return (unsigned)((pc >> 1) ^ (pc >> (HASH_BITS + 1))) & (HASH_SIZE - 1); }

void wb_interp_set_fp_off(struct wb_interp *ip, int off) { ip->fp_off = off; }

void wb_interp_flush(struct wb_interp *ip, wb_machine *m) {
  if (!ip) return;
  if (ip->nbuilt <= SMALL_FLUSH) {
    for (size_t i = 0; i < ip->nbuilt; i++) {
      ip->table[hash_pc(ip->built[i])] = NULL;
      ip->jcache[(ip->built[i] >> 1) & (JCACHE_SIZE - 1)].pc = 0;
      ip->jcache[(ip->built[i] >> 1) & (JCACHE_SIZE - 1)].b = NULL;
    }
  } else {
    memset(ip->table, 0, sizeof ip->table);
    memset(ip->jcache, 0, sizeof ip->jcache);
  }
  ip->nbuilt = 0;
  ip->nchained = 0;
  ip->njfilled = 0;
  ip->arena_used = 0;
  ip->generation++;
  m->cache_flushes++;
}

static inline wb_block *lookup(struct wb_interp *ip, uint64_t pc) {
  for (wb_block *b = ip->table[hash_pc(pc)]; b; b = b->hnext)
    if (b->pc == pc) return b;
  return NULL;
}

/* System mode: the block decoded at virtual pc from the physical address pc maps to now.
 * NULL when there is none (or pc cannot be fetched: building the block raises the fault). */
static inline wb_block *lookup_sys(wb_hart *h, struct wb_interp *ip, uint64_t pc) {
  uint64_t ppc;
  if (wb_sys_fetch_phys(h, pc, &ppc) != 0) return NULL;
  for (wb_block *b = ip->table[hash_pc(pc)]; b; b = b->hnext)
    if (b->pc == pc && b->ppc == ppc && (!b->ppc2 || wb_sys_tail_tag(h, pc, b->end_pc) == b->ppc2)) return b;
  return NULL;
}

/* Bytes of the arena a block of n instructions takes, and its hooks (right after it). */
static inline size_t block_bytes(unsigned n) {
  return (sizeof(wb_block) + (n + 1) * sizeof(wb_dinsn) + 15) & ~(size_t)15;
}
static inline size_t hooks_bytes(unsigned nacts) {
  return nacts ? ((sizeof(wb_hooks) + nacts * sizeof(wb_action) + 15) & ~(size_t)15) : 0;
}

/* Every block of the arena, in the order they were built. */
#define FOR_EACH_BLOCK(ip, b) \
  for (size_t o_ = 0; o_ < (ip)->arena_used && ((b) = (wb_block *)((ip)->arena + o_), 1); \
       o_ += block_bytes((b)->n) + ((b)->hooks ? hooks_bytes((b)->hooks->nacts) : 0))

static inline void note_chained(struct wb_interp *ip, wb_block *b) {
  if (ip->nchained < CHAINED_MAX) ip->chained[ip->nchained] = b;
  ip->nchained++;
}

void wb_interp_unchain(struct wb_interp *ip) {
  if (ip->nchained <= CHAINED_MAX) {
    for (size_t i = 0; i < ip->nchained; i++) ip->chained[i]->succ[0] = ip->chained[i]->succ[1] = NULL;
  } else {
    wb_block *b;
    FOR_EACH_BLOCK(ip, b) b->succ[0] = b->succ[1] = NULL;
  }
  ip->nchained = 0;
  if (ip->njfilled <= CHAINED_MAX) {
    for (size_t i = 0; i < ip->njfilled; i++) ip->jcache[ip->jfilled[i]].b = NULL;
  } else {
    memset(ip->jcache, 0, sizeof ip->jcache);
  }
  ip->njfilled = 0;
}

/* Decode a block at pc. Returns the shared fetch-fault pseudo-block if pc cannot be fetched.
 * `into` (single-step mode): decode at most one instruction into that scratch block, which
 * is not entered in the table. */
typedef int (*fetch16_fn)(void *ctx, uint64_t addr, uint16_t *half);

static int flat_fetch16(void *mem, uint64_t addr, uint16_t *half) { return wb_mmu_fetch16(mem, addr, half); }
/* system mode: through the running hart's MMU (a failed fetch keeps its fault for the trap) */
static int sys_fetch16(void *h, uint64_t addr, uint16_t *half) { return wb_sys_fetch16(h, addr, half); }

_Static_assert(WB_OP_FMV_D_X + 1 == WB_OP_MRET, "F and D ops are the range FLW..FMV_D_X");

static unsigned decode_with(fetch16_fn fetch, void *ctx, int fp_off, uint64_t pc, unsigned maxn,
                            wb_insn *in, uint64_t *end_pc, uint64_t *cmask) {
  unsigned n = 0;
  uint64_t p = pc, cm = 0;
  while (n < maxn) {
    uint16_t lo, hi;
    if ((p & 1) || !fetch(ctx, p, &lo)) break;
    uint32_t raw = lo;
    if (wb_insn_len(lo) == 4) {
      if (!fetch(ctx, p + 2, &hi)) break;
      raw |= (uint32_t)hi << 16;
    }
    wb_decode(raw, &in[n]);
    if (fp_off && in[n].op >= WB_OP_FLW && in[n].op <= WB_OP_FMV_D_X) in[n].op = WB_OP_ILLEGAL;
    if (in[n].len == 2) cm |= 1ull << n;
    p += in[n].len;
    if (wb_op_ends_block(in[n++].op)) break;
    if ((p & (WB_PAGE_SIZE - 1)) == 0) break; /* blocks never cross a page */
  }
  *end_pc = p;
  *cmask = cm;
  return n;
}

unsigned wb_block_decode(const wb_mem *mem, uint64_t pc, unsigned maxn, wb_insn *in,
                         uint64_t *end_pc, uint64_t *cmask) {
  return decode_with(flat_fetch16, (void *)mem, 0, pc, maxn, in, end_pc, cmask);
}

unsigned wb_block_decode_sys(struct wb_hart *h, int fp_off, uint64_t pc, unsigned maxn, wb_insn *in,
                             uint64_t *end_pc, uint64_t *cmask) {
  return decode_with(sys_fetch16, h, fp_off, pc, maxn, in, end_pc, cmask);
}

static wb_block *build_block_locked(wb_machine *m, struct wb_interp *ip, uint64_t pc, wb_block *into);

/* Blocks are built under the engine lock: clients' on_block and the memory layer's record of
 * translated code pages are shared by all harts. */
static wb_block *build_block(wb_machine *m, struct wb_interp *ip, uint64_t pc, wb_block *into) {
  wb_lock(m);
  wb_block *b = build_block_locked(m, ip, pc, into);
  wb_unlock(m);
  return b;
}

static wb_block *build_block_locked(wb_machine *m, struct wb_interp *ip, uint64_t pc, wb_block *into) {
  wb_insn in[WB_BLOCK_MAX];
  uint64_t p, cmask;
  unsigned n = m->sys ? decode_with(sys_fetch16, wb_machine_self(m), ip->fp_off, pc, into ? 1 : WB_BLOCK_MAX, in, &p, &cmask)
                      : wb_block_decode(&m->mem, pc, into ? 1 : WB_BLOCK_MAX, in, &p, &cmask);
  if (n == 0) {
    ip->fetchfault->pc = ip->fetchfault->end_pc = pc;
    return ip->fetchfault;
  }
  /* clients instrument blocks of the cache (not the single-step scratch block: the JIT has
   * already run the instruction's instrumentation when it steps one) */
  wb_action *acts = NULL;
  unsigned nacts = 0;
  if (!into && m->clients) {
    uint64_t pcs[WB_BLOCK_MAX];
    for (unsigned i = 0, o = 0; i < n; o += in[i].len, i++) pcs[i] = pc + o;
    nacts = wb_client_instrument(m, pc, in, pcs, n, &acts);
    /* a mirrored access (wb_bb_mirror_mem) runs in the hart's view here, as ever */
    unsigned keep = 0;
    for (unsigned k = 0; k < nacts; k++)
      if (acts[k].kind != WB_ACT_MIRROR) acts[keep++] = acts[k];
    nacts = keep;
  }
  wb_block *b = into;
  wb_hooks *hooks = NULL;
  if (!b) {
    size_t need = block_bytes(n), hneed = hooks_bytes(nacts);
    if (ip->arena_used + need + hneed > ARENA_SIZE) wb_interp_flush(ip, m);
    b = (wb_block *)(ip->arena + ip->arena_used);
    ip->arena_used += need;
    if (nacts) {
      hooks = (wb_hooks *)(ip->arena + ip->arena_used);
      ip->arena_used += hneed;
      /* stable order by instruction: the order the clients asked in */
      memset(hooks->start, 0, sizeof hooks->start);
      for (unsigned k = 0; k < nacts; k++) hooks->start[acts[k].insn + 1]++;
      for (unsigned i = 0; i < n; i++) hooks->start[i + 1] += hooks->start[i];
      uint16_t fill[WB_BLOCK_MAX];
      memcpy(fill, hooks->start, sizeof fill);
      for (unsigned k = 0; k < nacts; k++) hooks->acts[fill[acts[k].insn]++] = acts[k];
      hooks->nacts = nacts;
    }
  }
  free(acts);
  memset(b, 0, sizeof *b);
  b->hooks = hooks;
  b->pc = pc;
  b->end_pc = p;
  b->cmask = cmask;
  b->n = n;
  b->ppc = pc;
  if (m->sys && wb_sys_fetch_phys(wb_machine_self(m), pc, &b->ppc) != 0) b->ppc = UINT64_MAX;
  b->ppc2 = m->sys ? wb_sys_tail_tag(wb_machine_self(m), pc, p) : 0;
  uint64_t off = 0;
  for (unsigned i = 0; i < n; i++) {
    const wb_insn *x = &in[i];
    wb_dinsn *d = &b->insns[i];
    d->h = g_labels[x->op];
    d->rd = x->rd;
    if (x->op < WB_OP_COUNT && rd_is_int[x->op] && x->rd == 0) d->rd = WB_XSINK;
    d->rs1 = x->rs1;
    d->rs2 = x->rs2;
    d->rs3 = x->rs3;
    int64_t imm = x->imm;
    switch (x->op) {
      case WB_OP_AUIPC: case WB_OP_JAL: case WB_OP_BEQ: case WB_OP_BNE: case WB_OP_BLT:
      case WB_OP_BGE: case WB_OP_BLTU: case WB_OP_BGEU:
        imm += (int64_t)off; /* relative to the block's pc */
        break;
      default:
        break;
    }
    /* FP ops that round carry the rm field in imm (they have no immediate) */
    switch (x->op) {
#define FPRM(name) case WB_OP_##name:
      FPRM(FMADD_S) FPRM(FMSUB_S) FPRM(FNMSUB_S) FPRM(FNMADD_S) FPRM(FADD_S) FPRM(FSUB_S)
      FPRM(FMUL_S) FPRM(FDIV_S) FPRM(FSQRT_S) FPRM(FCVT_W_S) FPRM(FCVT_WU_S) FPRM(FCVT_S_W)
      FPRM(FCVT_S_WU) FPRM(FCVT_L_S) FPRM(FCVT_LU_S) FPRM(FCVT_S_L) FPRM(FCVT_S_LU)
      FPRM(FMADD_D) FPRM(FMSUB_D) FPRM(FNMSUB_D) FPRM(FNMADD_D) FPRM(FADD_D) FPRM(FSUB_D)
      FPRM(FMUL_D) FPRM(FDIV_D) FPRM(FSQRT_D) FPRM(FCVT_S_D) FPRM(FCVT_D_S) FPRM(FCVT_W_D)
      FPRM(FCVT_WU_D) FPRM(FCVT_D_W) FPRM(FCVT_D_WU) FPRM(FCVT_L_D) FPRM(FCVT_LU_D)
      FPRM(FCVT_D_L) FPRM(FCVT_D_LU)
#undef FPRM
        imm = x->rm;
        break;
      default:
        break;
    }
    d->imm = (int32_t)imm;
    off += x->len;
    /* system mode: every access goes through the soft MMU (system/mmu.c), the op in rs3 */
    unsigned msize;
    int mkind;
    if (m->sys && wb_insn_mem_info(x, &msize, &mkind)) {
      d->h = g_labels[IOP_SYSMEM];
      d->rs3 = (uint8_t)x->op;
    }
  }
  /* give the first op of common adjacent triples/pairs a handler that runs it (and the
   * second) and jumps straight to the last one's handler (interp_pair.h); instrumented
   * blocks keep one dispatch per record, so every hook runs */
  for (unsigned i = 0; i + 1 < n && !hooks && !m->sys; i++) {
    const void *h = NULL;
    unsigned len = 2;
    if (i + 2 < n)
      for (unsigned t = 0; t < g_ntriples && !h; t++)
        if (g_triples[t].op[0] == in[i].op && g_triples[t].op[1] == in[i + 1].op &&
            g_triples[t].op[2] == in[i + 2].op) { h = g_triples[t].h; len = 3; }
    if (!h && in[i].op < WB_OP_COUNT && in[i + 1].op < WB_OP_COUNT && pair_first[in[i].op])
      h = g_pairs[pair_first[in[i].op]][in[i + 1].op];
    if (h) { b->insns[i].h = h; i += len - 1; }
  }
  if (hooks)
    for (unsigned i = 0; i < n; i++)
      if (hooks->start[i + 1] > hooks->start[i]) {
        hooks->real[i] = b->insns[i].h;
        b->insns[i].h = g_labels[IOP_HOOK];
      }
  b->insns[n].h = g_labels[IOP_FALLTHROUGH];
  b->insns[n].imm = (int32_t)n; /* lets wb_interp_recover find the block from a record */
  b->insns[n].rs3 = TERM_MARK;
  if (into) return b;
  if (!m->sys) wb_mem_protect_code(&m->mem, pc, p); /* guest-writable code: catch writes to it
                                                       (system mode: mmu.c's code_pages) */
  if (ip->nbuilt < SMALL_FLUSH) ip->built[ip->nbuilt] = pc;
  ip->nbuilt++;
  unsigned hsh = hash_pc(pc);
  b->hnext = ip->table[hsh];
  ip->table[hsh] = b;
  m->blocks_translated++;
  return b;
}

static void run_stepped(wb_hart *h, int mode, uint8_t *base, uint64_t bound) {
  struct wb_interp *ip = h->interp;
  ip->step = mode;
  ip->stepped = 0;
  ip->step_base = base;
  ip->step_bound = bound;
  wb_interp_run(h);
  ip->step = 0;
  ip->step_base = NULL;
}

void wb_interp_step(wb_hart *h, uint8_t *base, uint64_t bound) { run_stepped(h, 2, base, bound); }
void wb_interp_run_block(wb_hart *h) { run_stepped(h, 1, NULL, 0); }

void wb_interp_recover(wb_hart *h, uint64_t *pc) {
  struct wb_interp *ip = h->interp;
  /* The faulting record is ip->cur_insn; its block is found from the terminator record that
   * follows the block's last instruction (its imm holds n), so block entry stores nothing. */
  const wb_dinsn *d = ip->cur_insn, *t = d;
  if (!d) { *pc = h->pc; return; }
  while (t->rs3 != TERM_MARK) t++;
  unsigned n = (unsigned)t->imm, i = (unsigned)(n - (t - d));
  const wb_block *b = (const wb_block *)((const char *)(t - n) - offsetof(wb_block, insns));
  h->instret -= (n - i);
  *pc = wb_block_insn_pc(b, i);
  h->pc = *pc;
}

/* Look at the budget and the wall clock; returns 1 if the run must stop before a block of n. */
static int check_limits(wb_hart *h, uint32_t n) {
  wb_machine *m = h->m;
  struct wb_interp *ip = h->interp;
  if (wb_machine_limits_hit(h, n, h->instret >= ip->next_wall_check, &ip->next_wall_check))
    return 1;
  uint64_t lim = wb_machine_stop_insn(h);  /* budget, timers, quantum, parallel polls */
  if (m->cfg.wall_limit_s > 0 && ip->next_wall_check < lim) lim = ip->next_wall_check;
  ip->limit = lim;
  return 0;
}

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

void wb_interp_run(wb_hart *h) {
  static const void *const labels[IOP_COUNT] = {
#define X(name, mn, fmt) [WB_OP_##name] = &&L_##name,
      WB_OPS(X)
#undef X
      [IOP_FALLTHROUGH] = &&L_FALLTHROUGH,
      [IOP_FETCHFAULT] = &&L_FETCHFAULT,
      [IOP_HOOK] = &&L_HOOK,
      [IOP_SYSMEM] = &&L_SYSMEM,
  };
  static const void *const pair_labels[PF_COUNT][WB_OP_COUNT] = {
#define PAIR_LABELS
#include "interp_pair.h"
#undef PAIR_LABELS
  };
  static const wb_triple triples[] = {
#define TRIPLE_LABELS
#include "interp_pair.h"
#undef TRIPLE_LABELS
  };
  if (!h) {
    g_labels = labels;
    g_pairs = pair_labels;
    g_triples = triples;
    g_ntriples = sizeof triples / sizeof triples[0];
    return;
  }

  wb_machine *const m = h->m;
  struct wb_interp *ip = h->interp;
  wb_hart *const cpu = h;
  uint64_t *const X = cpu->x;
  uint64_t *const F = cpu->f;
  uint8_t *const M = ip->step_base ? ip->step_base : wb_mem_view_base(&m->mem, h->view);
  const uint64_t bound = ip->step_base ? ip->step_bound : m->mem.bound;
  wb_block *b = NULL, **slot = NULL, *nb;
  const wb_dinsn *d;
  uint64_t pc = cpu->pc, bpc;
  uint64_t gen;
  uint64_t limit; /* copy of ip->limit: only check_limits changes it */

  ip->next_wall_check = cpu->instret;
  ip->limit = limit = cpu->instret; /* force a limit check on the first block */

/* Enter block nb. Every control-transfer handler expands its own copy, so each guest exit
 * kind gets its own host indirect jump (better predicted than one shared dispatch site). */
#define ENTER(nbk) do { \
    b = (nbk); \
    if (UNLIKELY(cpu->instret + b->n > limit)) goto enter_slow; \
    cpu->instret += b->n; \
    bpc = b->pc; \
    d = b->insns; \
    goto *d->h; \
  } while (0)
/* Leave through chain slot i of the current block (target pc computed only on a miss). */
#define CHAIN(i, target) do { \
    nb = b->succ[i]; \
    if (LIKELY(nb != NULL)) ENTER(nb); \
    pc = (target); slot = &b->succ[i]; goto lookup; \
  } while (0)

  goto lookup;

  /* indirect jump to pc: the jump cache, then the hash table; fills the jalr site's cache */
indirect:
  if (UNLIKELY(ip->step)) { cpu->pc = pc; return; }
  if (UNLIKELY(pc == WB_WRAP_RETURN)) goto wrap_return;
  {
    unsigned j = (unsigned)(pc >> 1) & (JCACHE_SIZE - 1);
    if (LIKELY(ip->jcache[j].pc == pc && ip->jcache[j].b)) {
      nb = ip->jcache[j].b;
      *slot = nb;
      if (UNLIKELY(m->sys)) note_chained(ip, b);
      ENTER(nb);
    }
    gen = ip->generation;
    nb = m->sys ? lookup_sys(cpu, ip, pc) : lookup(ip, pc);
    if (UNLIKELY(!nb)) nb = build_block(m, ip, pc, NULL);
    if (nb->n) {
      if (ip->generation == gen) {
        *slot = nb;
        if (UNLIKELY(m->sys)) note_chained(ip, b);
      }
      ip->jcache[j].pc = pc;
      ip->jcache[j].b = nb;
      if (UNLIKELY(m->sys)) {
        if (ip->njfilled < CHAINED_MAX) ip->jfilled[ip->njfilled] = (uint16_t)j;
        ip->njfilled++;
      }
    }
    ENTER(nb);
  }

lookup:
  if (UNLIKELY(ip->step)) {
    if (ip->stepped) { cpu->pc = pc; return; }
    if (ip->step == 2) { nb = build_block(m, ip, pc, ip->stepblk); ENTER(nb); }
  }
  if (UNLIKELY(pc == WB_WRAP_RETURN)) {
  wrap_return: /* a wrapped function returns: its post hook, then its real return address,
                 which is this one again when a wrapped function tail-called another */
    do {
      pc = wb_wrap_return(h);
      if (m->stop_reason != WB_REASON_NONE || cpu->leave) { cpu->pc = pc; return; }
    } while (UNLIKELY(pc == WB_WRAP_RETURN));
    slot = NULL;
  }
  gen = ip->generation;
  nb = m->sys ? lookup_sys(cpu, ip, pc) : lookup(ip, pc);
  if (UNLIKELY(!nb)) {
    nb = build_block(m, ip, pc, NULL);
    if (ip->generation != gen) slot = NULL; /* the flush freed the block holding the slot */
  }
  if (slot && nb->n) {
    *slot = nb;
    if (UNLIKELY(m->sys)) note_chained(ip, b);
  }
  ENTER(nb);

enter_slow:
  if (UNLIKELY(ip->step)) {
    if (ip->stepped) { cpu->pc = b->pc; return; }
    ip->stepped = 1;
    /* one block: the limits apply as usual; one instruction: the JIT already counted it */
    if (ip->step == 1 && check_limits(h, b->n)) { cpu->pc = b->pc; return; }
    limit = 0; /* the next block entry comes back here and returns */
    cpu->instret += b->n;
    bpc = b->pc;
    d = b->insns;
    goto *d->h;
  }
  ip->limit = limit;
  if (check_limits(h, b->n)) { cpu->pc = b->pc; return; }
  limit = ip->limit;
  cpu->instret += b->n;
  bpc = b->pc;
  d = b->insns;
  goto *d->h;

#include "interp_ops.h"

stop:
  return;
}
