/* taint.c — byte-granular taint tracking on the watchpoint unit (docs/watchpoints.md, "Taint
 * tracking"), the analysis the unit's paper puts first.
 *
 * Memory taint is a shadow (one bit per guest byte, reserved for the whole space and backed
 * on demand) and, at the same time, the unit's watch set: every tainted byte is watched for
 * reads and writes. So code that touches no tainted byte runs at full speed under every
 * mechanism, and an access that does is found by the mechanism (inline check, page fault,
 * software check).
 *
 * Register taint is a byte mask per register (bit i: byte i of the value is tainted). While no
 * register is tainted, translated code runs as usual; nothing needs propagating then except a
 * clean store over tainted bytes (they become clean) and a load of tainted bytes (its register
 * becomes tainted). Both are triggers of the unit: the trigger is noted here (pending), the
 * access completes, and the hart leaves its tier right after it (h->watch_hit, as a watch trap
 * does) to settle it. From then on (hart.taint.on) every instruction is propagated before it
 * runs, until no register holds taint: the JIT runs its blocks' taint copies (jit/taint.c:
 * the same rules inline, wb_taint_insn for the rest), the interpreter steps one instruction at
 * a time through propagate() below (demand emulation, Ho et al., EuroSys 2006), which is the
 * JIT's oracle. The cost is proportional to the instructions that run while registers are
 * tainted, not to the program. Meanwhile the unit's watch set need not follow every store:
 * changed pages are noted and brought in line when clean code runs again (wb_taint_flush).
 *
 * Propagation, per instruction class (conservative where exactness would need the values):
 *  - loads: the register gets the loaded bytes' taint (sign extension spreads the top byte's);
 *    stores: the bytes get the register's low bytes' taint (a clean store cleans them);
 *  - bytewise logic (xor/or/and, and their immediates, mv): the OR of the operands' masks;
 *    shifts by a constant move the mask by whole bytes (a partial byte taints both);
 *  - add/sub: every byte from the lowest tainted one up (carries only go up); other
 *    arithmetic (mul, div, shifts by a register, FP): all bytes if any operand is tainted;
 *  - comparisons (slt, feq, ...): byte 0 if any operand is tainted;
 *  - lui/auipc/jal/jalr/csr: a clean result (control dependences are not tracked).
 * An ecall notes which of a0..a7 are tainted (the sinks' business: wb_taint_syscall_args) and
 * gives a clean a0. The kernel's own writes into guest memory are the client's to mark (read).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include "watch.h"
#include "../machine.h"
#include "../hart.h"
#include "../decode.h"
#include "../interp.h"
#include "../client.h"

#define WB_API __attribute__((visibility("default")))
#define PAGE_BITS_BYTES (WB_PAGE_SIZE / 8)
#define FLAT_SLACK 64   /* past the shadow's end: the JIT reads a 16-bit word at any byte */

struct wb_taint {
  uint8_t *flat;          /* one bit per guest byte (bit a & 7 of byte a >> 3), reserved whole
                             and backed on demand (MAP_NORESERVE: untouched parts read 0) */
  uint64_t flat_len;
  uint8_t *ever;          /* per guest page: some byte was ever tainted (else all clean) */
  uint64_t npages;
  /* While a hart propagates (hart.taint.on), the unit's watch set need not follow the shadow:
   * only code on clean registers relies on it. Changed pages are noted (dirty, and listed in
   * dlist) and brought in line at once by wb_taint_flush when that code runs again: one
   * comparison per page instead of a table operation per store. */
  int defer;              /* the current change comes from a propagating hart */
  int addresses;          /* policy: an access through a tainted address is tainted */
  uint8_t *dirty;         /* per guest page: changed since the last flush */
  uint64_t *dlist;
  size_t nd, capd;
  wb_taint_stats st;
};

/* ---- the memory shadow ---- */

static int mem_bit(const struct wb_taint *t, uint64_t a) {
  uint64_t p = a >> WB_PAGE_SHIFT;
  if (p >= t->npages || !t->ever[p]) return 0;
  return (t->flat[a >> 3] >> (a & 7)) & 1;
}

/* Bit i: byte addr+i is tainted (n <= 8). */
static unsigned mem_mask(const struct wb_taint *t, uint64_t addr, unsigned n) {
  unsigned mask = 0;
  for (unsigned i = 0; i < n; i++) mask |= (unsigned)mem_bit(t, addr + i) << i;
  return mask;
}

/* Set byte a's bit to v: 1 if it changed. */
static int mem_put(struct wb_taint *t, uint64_t a, int v) {
  uint64_t p = a >> WB_PAGE_SHIFT;
  if (p >= t->npages || (!v && !t->ever[p])) return 0;
  t->ever[p] = 1;
  uint8_t *byte = &t->flat[a >> 3], bit = (uint8_t)(1u << (a & 7));
  if (!!(*byte & bit) == !!v) return 0;
  *byte ^= bit;
  return 1;
}

/* Set (v = 1) or clear the unit's watches of [addr, addr+len). 0, or -1 (the run stops). */
static int unit_change(wb_machine *m, uint64_t addr, uint64_t len, int v) {
  char err[160];
  wb_lock(m);
  int r = wb_watchpt_change(m, v, addr, len, WB_WATCH_READ | WB_WATCH_WRITE, err, sizeof err);
  wb_unlock(m);
  if (r != 0) wb_machine_stop(m, WB_REASON_INTERNAL, "taint tracking: %s", err);
  return r;
}

/* The pages of [addr, addr+len) changed (deferred mode): note the ones not noted yet. */
static int note_dirty(struct wb_taint *t, uint64_t addr, uint64_t len) {
  for (uint64_t p = addr >> WB_PAGE_SHIFT; p <= (addr + len - 1) >> WB_PAGE_SHIFT && p < t->npages; p++) {
    if (t->dirty[p]) continue;
    if (t->nd == t->capd) {
      size_t cap = t->capd ? 2 * t->capd : 64;
      uint64_t *l = realloc(t->dlist, cap * sizeof *l);
      if (!l) return -1;
      t->dlist = l;
      t->capd = cap;
    }
    t->dirty[p] = 1;
    t->dlist[t->nd++] = p;
  }
  return 0;
}

/* Bring the unit's watches of [addr, addr+len) in line with a shadow run that became v. */
static int unit_follow(wb_machine *m, uint64_t addr, uint64_t len, int v) {
  struct wb_taint *t = m->taint;
  if (!t->defer) return unit_change(m, addr, len, v);
  if (note_dirty(t, addr, len) == 0) return 0;
  wb_machine_stop(m, WB_REASON_INTERNAL, "taint tracking: out of host memory");
  return -1;
}

/* Page p's watches in line with its shadow: the runs where they differ, set or cleared. */
static int flush_page(wb_machine *m, uint64_t p) {
  struct wb_taint *t = m->taint;
  uint64_t a = p << WB_PAGE_SHIFT, end = a + WB_PAGE_SIZE, run = 0, n = 0;
  int rv = 0;
  wb_watch_run u = {0, 0, 0};
  int have = 0;
  for (uint64_t x = a; x < end; x++) {
    if (!have || x > u.last) { u = wb_watchpt_run(m, x); have = 1; }
    int want = mem_bit(t, x);
    if (want == (u.bits != 0)) continue;
    if (n && want == rv && x == run + n) { n++; continue; }
    if (n && unit_change(m, run, n, rv)) return -1;
    run = x; n = 1; rv = want;
  }
  return n ? unit_change(m, run, n, rv) : 0;
}

void wb_taint_flush(wb_machine *m) {
  struct wb_taint *t = m->taint;
  if (!t) return;
  for (size_t i = 0; i < t->nd; i++) {
    t->dirty[t->dlist[i]] = 0;
    if (flush_page(m, t->dlist[i])) break;
  }
  t->nd = 0;
}

/* Give bytes [addr, addr+len) taint v; the unit's watch set follows, in runs of changed
 * bytes (one table operation each). 0, or -1 when the run had to stop. */
static int mem_set(wb_machine *m, uint64_t addr, uint64_t len, int v) {
  struct wb_taint *t = m->taint;
  uint64_t run = 0, n = 0;
  for (uint64_t i = 0; i < len; i++) {
    uint64_t a = addr + i;
    if (!v) {           /* skip clean pages whole: clearing a big clean buffer costs nothing */
      uint64_t p = a >> WB_PAGE_SHIFT;
      if (p >= t->npages || !t->ever[p]) {
        uint64_t skip = WB_PAGE_SIZE - (a & (WB_PAGE_SIZE - 1));
        if (n) { if (unit_follow(m, run, n, v)) return -1; n = 0; }
        if (skip > len - i) break;
        i += skip - 1;
        continue;
      }
    }
    if (!(a & 7) && len - i >= 8 && (a >> WB_PAGE_SHIFT) < t->npages) {
      /* a whole shadow byte (8 guest bytes of one page) at once when none or all change:
       * marking a source buffer of megabytes */
      uint8_t *byte = &t->flat[a >> 3], want = v ? 0xff : 0;
      if (*byte == want || *byte == (uint8_t)~want) {
        int c = *byte != want;
        if (c) { t->ever[a >> WB_PAGE_SHIFT] = 1; *byte = want; }
        if (c && n && a == run + n) n += 8;
        else {
          if (n && unit_follow(m, run, n, v)) return -1;
          n = 0;
          if (c) { run = a; n = 8; }
        }
        i += 7;
        continue;
      }
    }
    int c = mem_put(t, a, v);
    if (c && n && a == run + n) { n++; continue; }
    if (n && unit_follow(m, run, n, v)) return -1;
    n = 0;
    if (c) { run = a; n = 1; }
  }
  return n ? unit_follow(m, run, n, v) : 0;
}

/* Store mask bits (n bytes) at addr. */
static void mem_store(wb_machine *m, uint64_t addr, unsigned n, unsigned mask) {
  for (unsigned i = 0; i < n;) {            /* runs of equal bits: one mem_set each */
    unsigned j = i, v = (mask >> i) & 1;
    while (j < n && ((mask >> j) & 1) == v) j++;
    mem_set(m, addr + i, j - i, (int)v);
    i = j;
  }
}

/* ---- register masks ---- */

static unsigned spread(unsigned m) { return m ? 0xffu : 0; }
static unsigned upward(unsigned m) { return m ? (0xffu << __builtin_ctz(m)) & 0xffu : 0; }
static unsigned flag(unsigned m) { return m ? 1u : 0; }
/* a 32-bit result sign-extended to 64 bits */
static unsigned word(unsigned m) { m &= 0xf; return (m & 8) ? m | 0xf0 : m; }
/* a loaded value of n bytes, sign-extended when sext */
static unsigned extend(unsigned m, unsigned n, int sext) {
  return sext && n < 8 && (m >> (n - 1)) & 1 ? m | (0xffu & ~((1u << n) - 1)) : m;
}
/* a constant shift by sh bits: whole bytes move, a byte split across two taints both */
static unsigned shift_left(unsigned m, unsigned sh) { return ((m << (sh / 8)) | (m << ((sh + 7) / 8))) & 0xff; }
static unsigned shift_right(unsigned m, unsigned sh) { return (m >> (sh / 8)) | (m >> ((sh + 7) / 8)); }

static int any_tainted(const wb_hart *h) {
  uint64_t acc = 0, w;
  for (unsigned i = 0; i < 32; i += 8) {
    memcpy(&w, h->taint.x + i, 8); acc |= w;
    memcpy(&w, h->taint.f + i, 8); acc |= w;
  }
  return acc != 0;
}

unsigned wb_taint_access(unsigned op, int *sext) {
  *sext = 0;
  switch (op) {
    case WB_OP_LB: *sext = 1; /* fall through */
    case WB_OP_LBU: case WB_OP_SB: return 1;
    case WB_OP_LH: *sext = 1; /* fall through */
    case WB_OP_LHU: case WB_OP_SH: return 2;
    case WB_OP_LW: case WB_OP_LR_W: *sext = 1; /* fall through */
    case WB_OP_LWU: case WB_OP_SW: case WB_OP_FLW: case WB_OP_FSW: return 4;
    case WB_OP_LD: case WB_OP_SD: case WB_OP_FLD: case WB_OP_FSD: case WB_OP_LR_D: return 8;
    default:
      if (op >= WB_OP_SC_W && op <= WB_OP_AMOMAXU_W) { *sext = 1; return 4; }
      if (op >= WB_OP_SC_D && op <= WB_OP_AMOMAXU_D) return 8;
      return 0;
  }
}

/* The calling convention's dead registers at a call or a return: their taint goes (it
 * would otherwise keep the hart stepping long after the values are dead). A callee may not
 * read the temporaries t0-t6 / ft0-ft11 before writing them, and a caller may not read them, or
 * a2-a7 / fa2-fa7, after a call returns. (Code that breaks the convention, such as hand-written
 * assembly passing values in temporaries, would lose taint here.) */
static void dead_at_transfer(wb_hart *h, const wb_insn *in) {
  static const uint8_t temps[] = {5, 6, 7, 28, 29, 30, 31};
  static const uint8_t ftemps[] = {0, 1, 2, 3, 4, 5, 6, 7, 28, 29, 30, 31};
  int call = in->rd == 1, ret = in->op == WB_OP_JALR && in->rd == 0 && in->rs1 == 1 && in->imm == 0;
  if (!call && !ret) return;
  for (unsigned i = 0; i < sizeof temps; i++) h->taint.x[temps[i]] = 0;
  for (unsigned i = 0; i < sizeof ftemps; i++) h->taint.f[ftemps[i]] = 0;
  if (ret)
    for (unsigned r = 12; r <= 17; r++) h->taint.x[r] = h->taint.f[r] = 0;
}

/* Propagate the taint of instruction `in` (before it runs; addr: its memory operand's address). */
static void propagate(wb_hart *h, const wb_insn *in, uint64_t addr) {
  struct wb_taint *t = h->m->taint;
  uint8_t *X = h->taint.x, *F = h->taint.f;
  unsigned a = X[in->rs1], b = X[in->rs2], r = 0, op = in->op;
  int sext, to_f = 0, writes = 1;
  unsigned n = wb_taint_access(op, &sext);
  /* the addresses policy: every byte an access through a tainted address moves is tainted */
  unsigned via = t->addresses && n && a ? (1u << n) - 1 : 0;
  t->defer = h->taint.on;   /* a propagating hart: the unit follows at the next flush */
  switch (op) {
    case WB_OP_LB: case WB_OP_LH: case WB_OP_LW: case WB_OP_LD: case WB_OP_LBU: case WB_OP_LHU:
    case WB_OP_LWU: case WB_OP_LR_W: case WB_OP_LR_D:
      r = extend(mem_mask(t, addr, n) | via, n, sext); break;
    case WB_OP_FLW: case WB_OP_FLD: r = mem_mask(t, addr, n) | via; to_f = 1; break;
    case WB_OP_SB: case WB_OP_SH: case WB_OP_SW: case WB_OP_SD:
      mem_store(h->m, addr, n, b | via); writes = 0; break;
    case WB_OP_FSW: case WB_OP_FSD: mem_store(h->m, addr, n, F[in->rs2] | via); writes = 0; break;
    case WB_OP_SC_W: case WB_OP_SC_D: mem_store(h->m, addr, n, b | via); r = 0; break;
    case WB_OP_ADDI: r = in->imm ? upward(a) : a; break;
    case WB_OP_XORI: case WB_OP_ORI: r = a; break;
    case WB_OP_ANDI: {
      unsigned keep = 0;
      for (unsigned i = 0; i < 8; i++) keep |= (((uint64_t)in->imm >> (8 * i)) & 0xff) ? 1u << i : 0;
      r = a & keep;
      break;
    }
    case WB_OP_SLLI: r = shift_left(a, (unsigned)in->imm & 63); break;
    case WB_OP_SRLI: r = shift_right(a, (unsigned)in->imm & 63); break;
    case WB_OP_SRAI: r = shift_right(a | ((a & 0x80) ? 0xff00 : 0), (unsigned)in->imm & 63) & 0xff; break;
    case WB_OP_SLTI: case WB_OP_SLTIU: r = flag(a); break;
    case WB_OP_ADD: case WB_OP_SUB: r = upward(a | b); break;
    case WB_OP_XOR: case WB_OP_OR: case WB_OP_AND: r = a | b; break;
    case WB_OP_SLT: case WB_OP_SLTU: r = flag(a | b); break;
    case WB_OP_SLL: case WB_OP_SRL: case WB_OP_SRA: r = spread(a | b); break;
    case WB_OP_ADDIW: r = word(in->imm ? upward(a) : a); break;
    case WB_OP_SLLIW: case WB_OP_SRLIW: case WB_OP_SRAIW: r = word(spread(a)); break;
    case WB_OP_ADDW: case WB_OP_SUBW: r = word(upward(a | b)); break;
    case WB_OP_SLLW: case WB_OP_SRLW: case WB_OP_SRAW: r = word(spread(a | b)); break;
    case WB_OP_JAL: case WB_OP_JALR:
      dead_at_transfer(h, in);
      r = 0;
      break;
    case WB_OP_LUI: case WB_OP_AUIPC: case WB_OP_WP_SET: case WB_OP_WP_CLEAR: r = 0; break;
    case WB_OP_ECALL:       /* a0..a7 as the syscall sees them; its result is clean */
      h->taint.sysargs = 0;
      for (unsigned i = 0; i < 8; i++) h->taint.sysargs |= X[10 + i] ? 1u << i : 0;
      return;
    case WB_OP_FMV_X_W: r = word(F[in->rs1]); break;
    case WB_OP_FMV_X_D: r = F[in->rs1]; break;
    case WB_OP_FMV_W_X: r = a & 0xf; to_f = 1; break;
    case WB_OP_FMV_D_X: r = a; to_f = 1; break;
    default:
      if (op >= WB_OP_CSRRW && op <= WB_OP_CSRRCI) { r = 0; break; }
      if (op >= WB_OP_MUL && op <= WB_OP_REMUW) { r = op >= WB_OP_MULW ? word(spread(a | b)) : spread(a | b); break; }
      if (n) {              /* an AMO: rd gets the old value; memory the result */
        unsigned old = mem_mask(t, addr, n) | via;
        int swap = op == WB_OP_AMOSWAP_W || op == WB_OP_AMOSWAP_D;
        mem_store(h->m, addr, n, ((swap ? b : b | old) | via) & ((1u << n) - 1));
        r = extend(old, n, sext);
        break;
      }
      if (op >= WB_OP_FMADD_S && op <= WB_OP_FMV_D_X) {   /* the rest of F and D */
        unsigned fa = F[in->rs1], fb = F[in->rs2], fc = F[in->rs3];
        switch (op) {
          case WB_OP_FEQ_S: case WB_OP_FLT_S: case WB_OP_FLE_S: case WB_OP_FEQ_D: case WB_OP_FLT_D:
          case WB_OP_FLE_D:
            r = flag(fa | fb); break;
          case WB_OP_FCLASS_S: case WB_OP_FCLASS_D: r = flag(fa); break;
          case WB_OP_FCVT_W_S: case WB_OP_FCVT_WU_S: case WB_OP_FCVT_W_D: case WB_OP_FCVT_WU_D:
          case WB_OP_FCVT_L_S: case WB_OP_FCVT_LU_S: case WB_OP_FCVT_L_D: case WB_OP_FCVT_LU_D:
            r = spread(fa); break;
          case WB_OP_FCVT_S_W: case WB_OP_FCVT_S_WU: case WB_OP_FCVT_S_L: case WB_OP_FCVT_S_LU:
          case WB_OP_FCVT_D_W: case WB_OP_FCVT_D_WU: case WB_OP_FCVT_D_L: case WB_OP_FCVT_D_LU:
            r = spread(a); to_f = 1; break;
          case WB_OP_FMADD_S: case WB_OP_FMSUB_S: case WB_OP_FNMSUB_S: case WB_OP_FNMADD_S:
          case WB_OP_FMADD_D: case WB_OP_FMSUB_D: case WB_OP_FNMSUB_D: case WB_OP_FNMADD_D:
            r = spread(fa | fb | fc); to_f = 1; break;
          case WB_OP_FSQRT_S: case WB_OP_FSQRT_D: case WB_OP_FCVT_S_D: case WB_OP_FCVT_D_S:
            r = spread(fa); to_f = 1; break;
          default: r = spread(fa | fb); to_f = 1; break;   /* two-operand arithmetic, sign, min/max */
        }
        break;
      }
      writes = 0;          /* branches, fences, ebreak, privileged and illegal ops */
  }
  if (!writes) return;
  if (to_f) F[in->rd] = (uint8_t)r;
  else if (in->rd) X[in->rd] = (uint8_t)r;
}

/* ---- stepping ---- */

static int decode_at(wb_hart *h, uint64_t pc, wb_insn *in) {
  uint32_t raw;
  return wb_machine_insn_raw(h->m, pc, &raw) == 0 && wb_decode(raw, in) == 0;
}

static uint64_t operand_addr(const wb_hart *h, const wb_insn *in) {
  if (in->op >= WB_OP_LR_W && in->op <= WB_OP_AMOMAXU_D) return h->x[in->rs1];
  return h->x[in->rs1] + (uint64_t)in->imm;
}

void wb_taint_settle(wb_hart *h) {
  h->watch_hit &= (uint8_t)~WB_WATCH_HIT_TAINT;
  if (h->taint.pending) {        /* the noted access completed: its propagation (registers were clean) */
    h->taint.pending = 0;
    wb_insn in;
    if (decode_at(h, h->taint.pend_pc, &in)) propagate(h, &in, h->taint.pend_addr);
  }
  if (!h->taint.on && any_tainted(h)) {
    h->m->taint->st.step_entries++;
    h->taint.on = 1;
    h->taint.since = h->instret;
  }
}

void wb_taint_clean_again(wb_hart *h) {
  if (h->taint.on) h->taint.propagated += h->instret - h->taint.since;
  h->taint.on = 0;
  wb_taint_flush(h->m);
}

void wb_taint_insn(wb_hart *h, const wb_insn *in) { propagate(h, in, operand_addr(h, in)); }

void wb_taint_ecall_done(wb_hart *h) {
  h->taint.x[10] = 0;
  h->taint.sysargs = 0;
  if (h->taint.on && !any_tainted(h)) wb_taint_clean_again(h);
}

uint64_t wb_taint_step(wb_hart *h, uint64_t max) {
  wb_machine *m = h->m;
  uint64_t n = 0, next_wall = 0;
  while (n < max && any_tainted(h)) {
    if (wb_machine_limits_hit(h, 1, h->instret >= next_wall, &next_wall)) break;
    wb_insn in;
    if (!decode_at(h, h->pc, &in)) break;  /* the tier raises the fetch fault */
    wb_taint_insn(h, &in);
    n++;
    wb_interp_step(h, m->mem.base, m->mem.bound);   /* the primary view: no watch faults */
    if (in.op == WB_OP_ECALL) wb_taint_ecall_done(h);
    if (m->stop_reason != WB_REASON_NONE || h->leave) break;
  }
  if (!any_tainted(h)) wb_taint_clean_again(h);
  return n;
}

void wb_taint_resume(wb_hart *h) {
  if (h->taint.pending || (h->watch_hit & WB_WATCH_HIT_TAINT)) wb_taint_settle(h);
  if (!h->jit && h->taint.on) wb_taint_step(h, UINT64_MAX);
}

void wb_taint_trigger(wb_hart *h, uint64_t pc, uint64_t addr) {
  if (h->taint.on) return;
  h->taint.pending = 1;
  h->taint.pend_pc = pc;
  h->taint.pend_addr = addr;
  h->watch_hit |= WB_WATCH_HIT_TAINT;
  h->m->taint->st.triggers++;
}

void wb_taint_fini(wb_machine *m) {
  struct wb_taint *t = m->taint;
  if (!t) return;
  if (t->flat) munmap(t->flat, t->flat_len);
  free(t->ever);
  free(t->dirty);
  free(t->dlist);
  free(t);
  m->taint = NULL;
}

/* ---- the API (wb/client.h) ---- */

WB_API int wb_taint_enable(wb_machine *m) {
  if (m->taint) return 0;
  if (!m->watch) return -1;
  /* harts running at once would race on the shadow's words and the noted pages */
  if (m->cfg.schedule == WB_SCHEDULE_PARALLEL) return -3;
  const wb_clients *c = wb_clients_of(m);
  for (int i = 0; c && i < c->n; i++)
    if (c->ops[i].on_watch) return -2;    /* another analysis uses the unit's watch set */
  struct wb_taint *t = calloc(1, sizeof *t);
  if (!t) return -1;
  t->npages = m->mem.size >> WB_PAGE_SHIFT;
  t->flat_len = (m->mem.size >> 3) + FLAT_SLACK;
  t->flat = mmap(NULL, t->flat_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  t->ever = calloc(t->npages ? t->npages : 1, 1);
  t->dirty = calloc(t->npages ? t->npages : 1, 1);
  if (t->flat == MAP_FAILED || !t->ever || !t->dirty) {
    if (t->flat != MAP_FAILED) munmap(t->flat, t->flat_len);
    free(t->ever); free(t->dirty); free(t);
    return -1;
  }
  m->taint = t;
  return 0;
}

WB_API int wb_taint_mark(wb_machine *m, uint64_t addr, uint64_t len, int tainted) {
  if (!m->taint) return -1;
  if (len == 0) return 0;
  if (addr >= m->mem.size || len > m->mem.size - addr) return -1;
  if (tainted) m->taint->st.sourced_bytes += len;
  m->taint->defer = 0;
  return mem_set(m, addr, len, !!tainted);
}

WB_API uint64_t wb_taint_bytes(const wb_machine *m, uint64_t addr, uint64_t len) {
  const struct wb_taint *t = m->taint;
  uint64_t n = 0;
  if (!t) return 0;
  for (uint64_t i = 0; i < len; i++) {
    uint64_t p = (addr + i) >> WB_PAGE_SHIFT;
    if (p >= t->npages) break;
    if (!t->ever[p]) { i += WB_PAGE_SIZE - ((addr + i) & (WB_PAGE_SIZE - 1)) - 1; continue; }
    n += (uint64_t)mem_bit(t, addr + i);
  }
  return n;
}

uint8_t *wb_taint_shadow(const wb_machine *m, uint64_t *npages, uint8_t **dirty) {
  *npages = m->taint->npages;
  *dirty = m->taint->dirty;
  return m->taint->flat;
}

WB_API int wb_taint_addresses(wb_machine *m, int on) {
  if (!m->taint || m->started) return -1;   /* the JIT decides how to translate by it */
  m->taint->addresses = !!on;
  return 0;
}

int wb_taint_follows_addresses(const wb_machine *m) { return m->taint && m->taint->addresses; }

WB_API unsigned wb_taint_syscall_args(const wb_hart *h) { return h->taint.sysargs; }

WB_API int wb_machine_taint_stats(wb_machine *m, wb_taint_stats *out) {
  memset(out, 0, sizeof *out);
  if (!m->taint) return -1;
  const struct wb_taint *t = m->taint;
  *out = t->st;
  for (int i = 0; i < m->nharts; i++) {
    const wb_hart *h = m->harts[i];
    out->steps += h->taint.propagated + (h->taint.on ? h->instret - h->taint.since : 0);
  }
  for (uint64_t p = 0; p < t->npages; p++)
    if (t->ever[p]) {
      const uint64_t *w = (const uint64_t *)(const void *)(t->flat + p * PAGE_BITS_BYTES);
      for (unsigned k = 0; k < PAGE_BITS_BYTES / 8; k++) out->tainted_bytes += (uint64_t)__builtin_popcountll(w[k]);
    }
  return 0;
}
