/* mmu.c — system mode's memory: Sv39 translation with a soft TLB, physical accesses to RAM or
 * a device, and the interpreter's memory instructions in system mode.
 *
 * Translation follows the privileged spec's "Virtual Address Translation Process" for Sv39:
 * three levels of 512 eight-byte PTEs, leaves at any level (1 GiB and 2 MiB superpages must be
 * aligned), U/SUM/MXR permission rules, and hardware A/D updates (the PTE is written with A,
 * and D for a store, as qemu does), so a kernel that expects either behaviour runs. Effective
 * privilege of loads and stores is mstatus.MPP when M mode sets MPRV. Faults are page faults
 * (cause 12/13/15) with the virtual address in tval; a PTE or a physical address outside RAM
 * and the devices is an access fault (1/5/7).
 *
 * The TLB caches leaf translations for the privilege, SUM and MXR they were granted under;
 * csrs.c and platform.c empty it when any of those or satp change, and on sfence.vma.
 */
#include <string.h>
#include "system.h"
#include "../decode.h"
#include "../fpu.h"
#include "../interp.h"
#include "../machine.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_U (1u << 4)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define PTE_PPN(pte) (((pte) >> 10) & ((1ull << 44) - 1))

static uint8_t *ram_at(wb_machine *m, uint64_t pa, unsigned size) {
  wb_system *s = m->sys;
  uint64_t off = pa - WB_VIRT_DRAM_BASE;
  if (pa < WB_VIRT_DRAM_BASE || off >= s->ram_size || s->ram_size - off < size) return NULL;
  return s->ram + off;
}

int wb_sys_phys_read(wb_machine *m, uint64_t pa, unsigned size, uint64_t *v) {
  uint8_t *p = ram_at(m, pa, size);
  if (p) {
    uint64_t x = 0;
    memcpy(&x, p, size);
    *v = x;
    return 0;
  }
  return wb_board_read(&m->sys->board, pa, size, v);
}

static void tlb_visit(wb_sys_hart *s, void (*fn)(wb_tlb_entry *e, uint64_t arg), uint64_t arg);
static void stores_to(wb_tlb_entry *e, uint64_t ppage);

/* RAM page `page` (an index) held decoded code and is written: every hart's caches drop what
 * they decoded from it, and the JIT's inline stores may go there again. */
static void code_page_written(wb_machine *m, uint64_t page) {
  m->sys->code_pages[page] = 0;
  /* a new generation: no lookup finds the page's old blocks (their tags differ); 30 bits, so
   * an old tag could only come back after 2^30 rewrites of one page */
  m->sys->code_gen[page] = (m->sys->code_gen[page] + 1) & ((1u << 30) - 1);
  uint64_t ppage = (WB_VIRT_DRAM_BASE >> WB_PAGE_SHIFT) + page;
  for (int k = 0; k < m->nharts; k++) {
    wb_hart *h = m->harts[k];
    wb_sys_drop_code_page(h);
    tlb_visit(wb_sys_of(h), stores_to, ppage);
  }
}

/* A store into RAM that held decoded code (self-modifying code, or a page reused after the
 * kernel freed it). */
static inline void code_written(wb_hart *h, uint64_t pa) {
  uint64_t page = (pa - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT;
  if (UNLIKELY(h->m->sys->code_pages[page])) code_page_written(h->m, page);
}

void wb_sys_ram_written(wb_machine *m, uint64_t pa, uint64_t len) {
  wb_system *s = m->sys;
  if (len == 0 || pa < WB_VIRT_DRAM_BASE || pa - WB_VIRT_DRAM_BASE >= s->ram_size) return;
  uint64_t first = (pa - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT;
  uint64_t last = (pa - WB_VIRT_DRAM_BASE + len - 1) >> WB_PAGE_SHIFT;
  for (uint64_t p = first; p <= last && p < (s->ram_size >> WB_PAGE_SHIFT); p++)
    if (s->code_pages[p]) code_page_written(m, p);
}

int wb_sys_phys_write(wb_machine *m, uint64_t pa, unsigned size, uint64_t v) {
  uint8_t *p = ram_at(m, pa, size);
  if (p) {
    memcpy(p, &v, size);
    return 0;
  }
  return wb_board_write(&m->sys->board, pa, size, v);
}

static inline void tlb_invalidate(wb_tlb_entry *e) { e->vpage = e->rtag = e->wtag = UINT64_MAX; }

/* The entry with index k (set * WB_TLB_SIZE + slot) */
static inline wb_tlb_entry *tlb_at(wb_sys_hart *s, unsigned k) {
  return &s->tlb[k / WB_TLB_SIZE][k % WB_TLB_SIZE];
}

static inline void tlb_filled(wb_sys_hart *s, wb_tlb_entry *e) {
  if (s->ntlb_filled < WB_TLB_FILLS)
    s->tlb_filled[s->ntlb_filled] = (uint16_t)(e - &s->tlb[0][0]);
  s->ntlb_filled++;
}

/* Call fn on every entry that may be valid (the listed ones, or all after an overflow). */
static void tlb_visit(wb_sys_hart *s, void (*fn)(wb_tlb_entry *e, uint64_t arg), uint64_t arg) {
  if (s->ntlb_filled > WB_TLB_FILLS) {
    for (unsigned k = 0; k < WB_TLB_FILLS; k++) fn(tlb_at(s, k), arg);
  } else {
    for (uint32_t i = 0; i < s->ntlb_filled; i++) fn(tlb_at(s, s->tlb_filled[i]), arg);
  }
}

void wb_sys_tlb_flush(wb_hart *h) {
  wb_sys_hart *s = wb_sys_of(h);
  if (s->ntlb_filled > WB_TLB_FILLS) {
    for (unsigned k = 0; k < WB_TLB_FILLS; k++) tlb_invalidate(tlb_at(s, k));
  } else {
    for (uint32_t i = 0; i < s->ntlb_filled; i++) tlb_invalidate(tlb_at(s, s->tlb_filled[i]));
  }
  s->ntlb_filled = 0;
}

static void flush_if_page(wb_tlb_entry *e, uint64_t vpage) {
  if (e->super || (e->vpage & ((1ull << 27) - 1)) == vpage) tlb_invalidate(e);
}

void wb_sys_tlb_flush_page(wb_hart *h, uint64_t va) {
  /* Sv39: the entries hold va >> 12 of sign-extended addresses */
  tlb_visit(wb_sys_of(h), flush_if_page, (va & ((1ull << 39) - 1)) >> 12);
}

static void no_stores_to(wb_tlb_entry *e, uint64_t ppage) {
  if (e->ppage == ppage) e->wtag = UINT64_MAX;
}

static void stores_to(wb_tlb_entry *e, uint64_t ppage) {
  if (e->ppage == ppage && e->w && e->host && e->vpage != UINT64_MAX) e->wtag = e->vpage;
}

static int effective_priv(const wb_hart *h, int acc) {
  const wb_sys_hart *s = wb_sys_of(h);
  if (acc != WB_ACC_FETCH && h->priv == WB_PRIV_M && (s->mstatus & MSTATUS_MPRV))
    return (int)((s->mstatus & MSTATUS_MPP) >> 11);
  return h->priv;
}

static void fault(wb_trap *t, int acc, int page, uint64_t va) {
  static const uint64_t page_cause[3] = {WB_CAUSE_LOAD_PAGE, WB_CAUSE_STORE_PAGE, WB_CAUSE_FETCH_PAGE};
  static const uint64_t access_cause[3] = {WB_CAUSE_LOAD_ACCESS, WB_CAUSE_STORE_ACCESS, WB_CAUSE_FETCH_ACCESS};
  t->cause = page ? page_cause[acc] : access_cause[acc];
  t->tval = va;
  t->what = page ? "page fault" : "access fault";
}

/* The page-table walk: 0 and the leaf's physical page and granted permissions, or -1. */
/* peek: change nothing (no A/D update: a client's question) */
static int walk(wb_hart *h, uint64_t va, int acc, int priv, wb_tlb_entry *e, wb_trap *t, int peek) {
  wb_machine *m = h->m;
  wb_sys_hart *s = wb_sys_of(h);
  /* bits 63..39 must all equal bit 38 */
  if ((uint64_t)((int64_t)(va << 25) >> 25) != va) { fault(t, acc, 1, va); return -1; }
  uint64_t table = (s->satp & ((1ull << 44) - 1)) << 12;
  for (int level = 2; level >= 0; level--) {
    uint64_t pte_addr = table + ((va >> (12 + 9 * level)) & 511) * 8;
    uint8_t *pp = ram_at(m, pte_addr, 8);
    if (!pp) { fault(t, acc, 0, va); return -1; }
    uint64_t pte;
    memcpy(&pte, pp, 8);
    if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W))) break;
    if (!(pte & (PTE_R | PTE_X))) {                       /* a pointer to the next level */
      if (pte & (PTE_A | PTE_D | PTE_U)) break;           /* reserved in non-leaf PTEs */
      table = PTE_PPN(pte) << 12;
      continue;
    }
    /* a leaf: superpages must be aligned */
    uint64_t ppn = PTE_PPN(pte);
    if (level > 0 && (ppn & ((1ull << (9 * level)) - 1))) break;
    int user = (pte & PTE_U) != 0;
    if (priv == WB_PRIV_U && !user) break;
    if (priv == WB_PRIV_S && user && (acc == WB_ACC_FETCH || !(s->mstatus & MSTATUS_SUM))) break;
    int r = (pte & PTE_R) || ((s->mstatus & MSTATUS_MXR) && (pte & PTE_X));
    int ok = acc == WB_ACC_FETCH ? (pte & PTE_X) != 0 : acc == WB_ACC_STORE ? (pte & PTE_W) != 0 : r;
    if (!ok) break;
    /* hardware A/D update */
    uint64_t want = PTE_A | (acc == WB_ACC_STORE ? PTE_D : 0);
    if ((pte & want) != want && !peek) {
      pte |= want;
      memcpy(pp, &pte, 8);
    }
    uint64_t vpn_low = (va >> 12) & ((1ull << (9 * level)) - 1);
    e->vpage = va >> 12;
    e->ppage = ppn | vpn_low;
    e->r = (uint8_t)r;
    e->w = (pte & PTE_W) && (pte & PTE_D);                /* a clean page's store walks again */
    e->x = (pte & PTE_X) != 0;
    e->super = level > 0;
    return 0;
  }
  fault(t, acc, 1, va);
  return -1;
}

/* Translate va for an access of kind acc: 0 with *pa and *host (va's byte in host memory
 * when it is RAM, NULL for a device), or -1 with the fault in t. */
static inline int translate(wb_hart *h, uint64_t va, int acc, uint64_t *pa, uint8_t **host, wb_trap *t) {
  wb_sys_hart *s = wb_sys_of(h);
  int priv = effective_priv(h, acc);
  if (priv == WB_PRIV_M || (s->satp >> 60) == 0) {
    *pa = va;
    *host = ram_at(h->m, va, 1);
    if (*host && acc != WB_ACC_FETCH) {   /* an identity entry for the JIT's inline probe */
      wb_tlb_entry *e = &s->tlb[WB_TLB_SET(priv)][(va >> 12) & (WB_TLB_SIZE - 1)];
      if (e->vpage != va >> 12) {
        if (e->vpage == UINT64_MAX) tlb_filled(s, e);
        uint8_t *page = *host - (va & 4095);
        *e = (wb_tlb_entry){.vpage = va >> 12, .ppage = va >> 12, .host = page, .r = 1, .w = 1,
                            .x = 1, .rtag = va >> 12, .addend = (uintptr_t)page - (va & ~4095ull),
                            .wtag = h->m->sys->code_pages[(va - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT] ? UINT64_MAX : va >> 12};
      }
    }
    return 0;
  }
  uint64_t status = s->mstatus & (MSTATUS_SUM | MSTATUS_MXR);
  if (UNLIKELY(status != s->tlb_status)) {
    wb_sys_tlb_flush(h);
    s->tlb_status = status;
  }
  wb_tlb_entry *e = &s->tlb[priv][(va >> 12) & (WB_TLB_SIZE - 1)];
  if (LIKELY(e->vpage == va >> 12 && (acc == WB_ACC_LOAD ? e->r : acc == WB_ACC_STORE ? e->w : e->x))) {
    *pa = (e->ppage << 12) | (va & 4095);
    *host = e->host ? e->host + (va & 4095) : NULL;
    return 0;
  }
  wb_tlb_entry ne;
  if (walk(h, va, acc, priv, &ne, t, 0) != 0) return -1;
  ne.host = ram_at(h->m, ne.ppage << 12, 4096);
  ne.addend = ne.host ? (uintptr_t)ne.host - (va & ~4095ull) : 0;
  ne.rtag = ne.r && ne.host ? ne.vpage : UINT64_MAX;
  ne.wtag = ne.w && ne.host && !h->m->sys->code_pages[((ne.ppage << 12) - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT]
                ? ne.vpage : UINT64_MAX;
  if (e->vpage == UINT64_MAX) tlb_filled(s, e);
  *e = ne;
  *pa = (ne.ppage << 12) | (va & 4095);
  *host = ne.host ? ne.host + (va & 4095) : NULL;
  return 0;
}

int wb_sys_translate(wb_hart *h, uint64_t va, int acc, uint64_t *pa, wb_trap *t) {
  uint8_t *host;
  return translate(h, va, acc, pa, &host, t);
}

_Static_assert(WB_VIRT_DRAM_BASE + (2ull << 30) <= (1ull << WB_CODE_GEN_SHIFT), "RAM addresses fit below the generation");

int wb_sys_fetch_phys(wb_hart *h, uint64_t va, uint64_t *tag) {
  uint8_t *host;
  wb_trap t;
  uint64_t pa;
  if (translate(h, va, WB_ACC_FETCH, &pa, &host, &t) != 0 || !host) return -1;
  *tag = pa | (uint64_t)h->m->sys->code_gen[(pa - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT] << WB_CODE_GEN_SHIFT;
  return 0;
}

int wb_sys_peek_translate(wb_hart *h, uint64_t va, int kind, uint64_t *pa) {
  int acc = kind == 3 ? WB_ACC_FETCH : kind == 0 ? WB_ACC_LOAD : WB_ACC_STORE;  /* WB_MEM_* */
  int priv = effective_priv(h, acc);
  const wb_sys_hart *s = wb_sys_of(h);
  if (priv == WB_PRIV_M || (s->satp >> 60) == 0) { *pa = va; return 0; }
  wb_tlb_entry e;
  wb_trap t;
  if (walk(h, va, acc, priv, &e, &t, 1) != 0) return -1;
  *pa = (e.ppage << 12) | (va & 4095);
  return 0;
}

int wb_sys_peek_ram(wb_machine *m, uint64_t pa, unsigned size, uint64_t *v) {
  uint8_t *p = ram_at(m, pa, size);
  if (!p || size > 8) return -1;
  uint64_t x = 0;
  memcpy(&x, p, size);
  *v = x;
  return 0;
}

uint64_t wb_sys_tail_tag(wb_hart *h, uint64_t pc, uint64_t end_pc) {
  if ((((end_pc - 1) ^ pc) >> WB_PAGE_SHIFT) == 0) return 0;
  uint64_t tag;
  return wb_sys_fetch_phys(h, (end_pc - 1) & ~(uint64_t)(WB_PAGE_SIZE - 1), &tag) == 0 ? tag : UINT64_MAX;
}

int wb_sys_fetch16(wb_hart *h, uint64_t va, uint16_t *half) {
  wb_sys_hart *s = wb_sys_of(h);
  uint64_t pa, v;
  uint8_t *p;
  if (translate(h, va, WB_ACC_FETCH, &pa, &p, &s->fetch_fault) != 0) return 0;
  if (!p) {                                             /* code runs from RAM only */
    fault(&s->fetch_fault, WB_ACC_FETCH, 0, va);
    return 0;
  }
  uint8_t *code = &h->m->sys->code_pages[(pa - WB_VIRT_DRAM_BASE) >> WB_PAGE_SHIFT];
  if (UNLIKELY(!*code)) {
    /* from now on stores there must pass code_written: the JIT's inline stores stop */
    *code = 1;
    tlb_visit(s, no_stores_to, pa >> 12);
  }
  memcpy(&v, p, 2);
  *half = (uint16_t)v;
  return 1;
}

/* ---- the memory instructions ---- */

/* Read or write `size` bytes at virtual address va; an access that crosses a page is done
 * byte by byte, each byte translated (a misaligned access is allowed, as on qemu). */
static inline uint64_t load_host(const uint8_t *p, unsigned size) {
  switch (size) {   /* constant sizes: no call to memcpy */
    case 1: return *p;
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    default: { uint64_t x; memcpy(&x, p, 8); return x; }
  }
}

static inline void store_host(uint8_t *p, unsigned size, uint64_t v) {
  switch (size) {
    case 1: *p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
  }
}

static int vread(wb_hart *h, uint64_t va, unsigned size, uint64_t *v, wb_trap *t) {
  uint64_t pa;
  uint8_t *p;
  if (LIKELY(((va & 4095) + size) <= 4096)) {
    if (translate(h, va, WB_ACC_LOAD, &pa, &p, t) != 0) return -1;
    if (LIKELY(p != NULL)) { *v = load_host(p, size); return 0; }
    if (wb_board_read(&h->m->sys->board, pa, size, v) != 0) { fault(t, WB_ACC_LOAD, 0, va); return -1; }
    return 0;
  }
  uint64_t x = 0;
  for (unsigned i = 0; i < size; i++) {
    uint64_t b;
    if (vread(h, va + i, 1, &b, t) != 0) return -1;
    x |= b << (8 * i);
  }
  *v = x;
  return 0;
}

static int vwrite(wb_hart *h, uint64_t va, unsigned size, uint64_t v, wb_trap *t) {
  uint64_t pa;
  uint8_t *p;
  if (LIKELY(((va & 4095) + size) <= 4096)) {
    if (translate(h, va, WB_ACC_STORE, &pa, &p, t) != 0) return -1;
    if (LIKELY(p != NULL)) {
      store_host(p, size, v);
      code_written(h, pa);
      return 0;
    }
    if (wb_board_write(&h->m->sys->board, pa, size, v) != 0) { fault(t, WB_ACC_STORE, 0, va); return -1; }
    return 0;
  }
  uint64_t pas[8];
  for (unsigned i = 0; i < size; i++)       /* translate every byte first: all or nothing */
    if (wb_sys_translate(h, va + i, WB_ACC_STORE, &pas[i], t) != 0) return -1;
  for (unsigned i = 0; i < size; i++) {
    if (wb_sys_phys_write(h->m, pas[i], 1, (v >> (8 * i)) & 0xff) != 0) {
      fault(t, WB_ACC_STORE, 0, va + i);
      return -1;
    }
    if (pas[i] >= WB_VIRT_DRAM_BASE) code_written(h, pas[i]);
  }
  return 0;
}

static uint64_t sext(uint64_t v, unsigned size) {
  return size == 8 ? v : (uint64_t)((int64_t)(v << (64 - 8 * size)) >> (64 - 8 * size));
}

/* An AMO or LR/SC: aligned, RAM only (a device has no atomics here: access fault). */
static uint8_t *atomic_host(wb_hart *h, uint64_t va, unsigned size, int store, wb_trap *t) {
  uint64_t pa;
  if (va & (size - 1)) {
    t->cause = store ? WB_CAUSE_STORE_MISALIGNED : WB_CAUSE_LOAD_MISALIGNED;
    t->tval = va;
    t->what = "misaligned atomic access";
    return NULL;
  }
  if (wb_sys_translate(h, va, store ? WB_ACC_STORE : WB_ACC_LOAD, &pa, t) != 0) return NULL;
  uint8_t *p = ram_at(h->m, pa, size);
  if (!p) { fault(t, store ? WB_ACC_STORE : WB_ACC_LOAD, 0, va); return NULL; }
  if (store) code_written(h, pa);
  return p;
}

static uint64_t amo(unsigned op, uint64_t old, uint64_t v, unsigned size) {
  int64_t so = (int64_t)sext(old, size), sv = (int64_t)sext(v, size);
  uint64_t uo = size == 4 ? (uint32_t)old : old, uv = size == 4 ? (uint32_t)v : v;
  switch (op) {
    case WB_OP_AMOSWAP_W: case WB_OP_AMOSWAP_D: return v;
    case WB_OP_AMOADD_W: case WB_OP_AMOADD_D: return old + v;
    case WB_OP_AMOXOR_W: case WB_OP_AMOXOR_D: return old ^ v;
    case WB_OP_AMOAND_W: case WB_OP_AMOAND_D: return old & v;
    case WB_OP_AMOOR_W: case WB_OP_AMOOR_D: return old | v;
    case WB_OP_AMOMIN_W: case WB_OP_AMOMIN_D: return so < sv ? old : v;
    case WB_OP_AMOMAX_W: case WB_OP_AMOMAX_D: return so > sv ? old : v;
    case WB_OP_AMOMINU_W: case WB_OP_AMOMINU_D: return uo < uv ? old : v;
    default: return uo > uv ? old : v;                  /* AMOMAXU */
  }
}

static int access(wb_hart *h, unsigned op, const wb_dinsn *d, wb_trap *t);

int wb_sys_access(wb_hart *h, unsigned op, const wb_dinsn *d, uint64_t icount, wb_trap *t) {
  /* the tiers count a block's instructions at its entry: devices read the exact count */
  uint64_t counted = h->instret;
  h->instret = icount;
  int r = access(h, op, d, t);
  h->instret = counted;
  if (r) return 1;
  return h->leave || h->m->stop_reason != WB_REASON_NONE ? 2 : 0;
}

static int access(wb_hart *h, unsigned op, const wb_dinsn *d, wb_trap *t) {
  uint64_t *X = h->x, *F = h->f;
  uint64_t a = X[d->rs1] + (uint64_t)(int64_t)d->imm, v;
  switch (op) {
#define LD(o, sz, sign) case WB_OP_##o: \
      if (vread(h, a, sz, &v, t)) return 1; \
      X[d->rd] = sign ? sext(v, sz) : v; break;
    LD(LB, 1, 1) LD(LH, 2, 1) LD(LW, 4, 1) LD(LD, 8, 1) LD(LBU, 1, 0) LD(LHU, 2, 0) LD(LWU, 4, 0)
#undef LD
#define ST(o, sz) case WB_OP_##o: if (vwrite(h, a, sz, X[d->rs2], t)) return 1; break;
    ST(SB, 1) ST(SH, 2) ST(SW, 4) ST(SD, 8)
#undef ST
    case WB_OP_FLW: if (vread(h, a, 4, &v, t)) return 1; F[d->rd] = wb_box_s((uint32_t)v); break;
    case WB_OP_FLD: if (vread(h, a, 8, &v, t)) return 1; F[d->rd] = v; break;
    case WB_OP_FSW: if (vwrite(h, a, 4, F[d->rs2], t)) return 1; break;
    case WB_OP_FSD: if (vwrite(h, a, 8, F[d->rs2], t)) return 1; break;
    case WB_OP_LR_W: case WB_OP_LR_D: {
      unsigned sz = op == WB_OP_LR_W ? 4 : 8;
      uint8_t *p = atomic_host(h, X[d->rs1], sz, 0, t);
      if (!p) return 1;
      v = 0;
      memcpy(&v, p, sz);
      h->reservation = X[d->rs1];
      h->reserved_value = v;
      X[d->rd] = sext(v, sz);
      break;
    }
    case WB_OP_SC_W: case WB_OP_SC_D: {
      unsigned sz = op == WB_OP_SC_W ? 4 : 8;
      uint8_t *p = atomic_host(h, X[d->rs1], sz, 1, t);
      if (!p) return 1;
      v = 0;
      memcpy(&v, p, sz);
      int ok = h->reservation == X[d->rs1] && v == h->reserved_value;
      if (ok) memcpy(p, &X[d->rs2], sz);
      h->reservation = WB_NO_RESERVATION;
      X[d->rd] = !ok;
      break;
    }
    default: {                                            /* the AMOs */
      unsigned sz = op >= WB_OP_LR_D ? 8 : 4;
      uint8_t *p = atomic_host(h, X[d->rs1], sz, 1, t);
      if (!p) return 1;
      v = 0;
      memcpy(&v, p, sz);
      uint64_t nv = amo(op, v, X[d->rs2], sz);
      memcpy(p, &nv, sz);
      X[d->rd] = sext(v, sz);
      break;
    }
  }
  return 0;
}
