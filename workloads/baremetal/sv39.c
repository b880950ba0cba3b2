/* sv39 — page tables built in M mode, used from S and U: mappings of every size, permission
 * bits, A/D, SUM/MXR, faults and their mtval/stval, reserved encodings, sfence.vma, MPRV. */
#include "lib.h"

#define NORVC ".option push\n.option norvc\n"
#define POP ".option pop\n"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE(pa, flags) ((((u64)(pa) >> 12) << 10) | (flags))
#define SATP_SV39 (8UL << 60)

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static u8 pages[8][4096] __attribute__((aligned(4096)));

#define MEGA_PA 0x80400000UL /* 2 MiB aligned, after the program */
#define VA_MEGA 0x40000000UL
#define VA_PAGE 0x40200000UL /* 4 KiB pages: VA_PAGE + i * 4096 is l0[i] */
#define VA(i) (VA_PAGE + (u64)(i) * 4096)
#define VA_BADMEGA 0x40400000UL

enum { P_AD, P_USER, P_RO, P_XO, P_UNMAPPED, P_UCODE, P_SWAP, P_WONLY, P_NONLEAF, P_CROSS_A, P_CROSS_B };

/* code that crosses a page end: a c.nop and the first half of `li a0, N` end P_CROSS_A, the
 * second half (N) and a ret begin P_CROSS_B, which maps xpages[1] (N = 1) or xpages[2] (N = 2) */
static u8 xpages[3][4096] __attribute__((aligned(4096)));

extern char __user_start[];
/* U-mode code: reached through VA(P_UCODE) (U=1, R+X), assembled without RVC so that the
 * M handler, which steps over 4 bytes for addresses outside RAM, finds instruction ends */
__asm__(".section .user_text, \"ax\", @progbits\n"
        ".option push\n.option norvc\n"
        "u_load:\n li t0, 0xbad\n mv t1, a0\n mv a0, t0\n ld a0, 0(t1)\n li a7, 0x5eb0e817\n ecall\n"
        "u_store:\n li t0, 0x5a5a\n sd t0, 0(a0)\n li a7, 0x5eb0e817\n ecall\n"
        ".option pop\n"
        ".text\n");
extern char u_load[], u_store[];
#define UFN(sym) ((long (*)(long))(VA(P_UCODE) + ((u64)(sym) - (u64)__user_start)))

static void sfence_all(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

/* ---- S-mode helpers (run through run_s, on the identity gigapage) ---- */
static long s_load(long va) {
  u64 v = 0xbad;
  __asm__ volatile(NORVC "ld %0, 0(%1)\n" POP : "+&r"(v) : "r"(va) : "memory");
  return (long)v;
}
static volatile u64 store_value;
static long s_store(long va) {
  __asm__ volatile(NORVC "sd %0, 0(%1)\n" POP :: "r"(store_value), "r"(va) : "memory");
  return 0;
}
static long s_call(long va) { return ((long (*)(long))va)(5); }
static long s_swap_then_load(long va) {
  /* read, point the PTE at another page, sfence.vma that VA, read again */
  u64 before = (u64)s_load(va);
  l0[P_SWAP] = PTE(pages[5], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma %0" :: "r"(va) : "memory");
  u64 after = (u64)s_load(va);
  return before == 0x4444444444444444UL && after == 0x5555555555555555UL;
}

static long s_cross_page(long va) {
  /* run it a few times (hot), point only the second page elsewhere, sfence.vma that page,
   * run it again: the new second half must be what runs */
  long (*fn)(void) = (long (*)(void))va;
  long before = 0, after = 0;
  for (int i = 0; i < 6; i++) before += fn();
  l0[P_CROSS_B] = PTE(xpages[2], PTE_V | PTE_R | PTE_X | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma %0" :: "r"(VA(P_CROSS_B)) : "memory");
  for (int i = 0; i < 6; i++) after += fn();
  return before == 6 && after == 12;
}

static const char *fault_or(u64 want_cause, u64 va) {
  if (mtrap.count == 0) return "no fault";
  if (mtrap.count > 1) return "MORE THAN ONE TRAP";
  if (mtrap.cause != want_cause) return "WRONG CAUSE";
  return mtrap.tval == va ? "page fault, mtval = the VA" : "page fault, mtval WRONG";
}

static void report(const char *what, u64 want_cause, u64 va) {
  puts_(what);
  puts_(": ");
  if (mtrap.count == 1) {
    puts_("mcause ");
    put_hex(mtrap.cause);
    puts_(", ");
  }
  puts_(fault_or(want_cause, va));
  putc_('\n');
}

static void s_load_check(const char *what, u64 va, u64 want) {
  expect_m();
  u64 v = (u64)run_s(s_load, (long)va);
  expect_none();
  puts_(what);
  puts_(": ");
  if (mtrap.count) {
    puts_("mcause ");
    put_hex(mtrap.cause);
    puts_(mtrap.tval == va ? ", mtval = the VA" : ", mtval WRONG");
  } else {
    puts_(v == want ? "ok" : "WRONG DATA");
  }
  putc_('\n');
}

static void s_fault(const char *what, long (*fn)(long), u64 va, u64 cause) {
  expect_m();
  m_resume_ra = (fn == s_call);
  run_s(fn, (long)va);
  expect_none();
  report(what, cause, va);
}

static void fill(void *p, u64 v) {
  for (int i = 0; i < 512; i++) ((volatile u64 *)p)[i] = v;
}

static void ad_bits(const char *what, u64 pte) {
  puts_(what);
  puts_(": A=");
  put_dec((long)((pte >> 6) & 1));
  puts_(" D=");
  put_dec((long)((pte >> 7) & 1));
  putc_('\n');
}

int main(void) {
  puts_("sv39: start\n");
  fill(pages[0], 0x1010101010101010UL);
  fill(pages[1], 0x1111111111111111UL);
  fill(pages[2], 0x2222222222222222UL);
  fill(pages[3], 0x3333333333333333UL);
  ((volatile u32 *)pages[3])[2] = 0x00008067; /* ret, at VA(P_XO) + 8 */
  ((volatile u32 *)pages[3])[3] = 0x00008067;
  fill(pages[4], 0x4444444444444444UL);
  fill(pages[5], 0x5555555555555555UL);
  for (u64 i = 0; i < (2UL << 20); i += 4096) *(volatile u64 *)(MEGA_PA + i) = 0xabcd000000000000UL | i;
  /* c.nop; li a0, N (addi a0, zero, N: 0x00N00513) across the page end; ret (c.jr ra) */
  static const u8 head[4] = {0x01, 0x00, 0x13, 0x05};
  for (int i = 0; i < 4; i++) ((volatile u8 *)xpages[0])[4092 + i] = head[i];
  for (int v = 1; v <= 2; v++) {
    volatile u8 *t = xpages[v];
    t[0] = (u8)(v << 4); t[1] = 0x00; t[2] = 0x82; t[3] = 0x80;
  }
  __asm__ volatile("fence.i" ::: "memory");

  root[0] = PTE(0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);                    /* devices */
  root[1] = PTE(l1, PTE_V);
  root[2] = PTE(0x80000000UL, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D); /* RAM, identity */
  l1[0] = PTE(MEGA_PA, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  l1[1] = PTE(l0, PTE_V);
  l1[2] = PTE(MEGA_PA + 0x1000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);      /* misaligned */
  l0[P_AD] = PTE(pages[0], PTE_V | PTE_R | PTE_W);
  l0[P_USER] = PTE(pages[1], PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
  l0[P_RO] = PTE(pages[2], PTE_V | PTE_R | PTE_A);
  l0[P_XO] = PTE(pages[3], PTE_V | PTE_X | PTE_A);
  l0[P_UNMAPPED] = 0;
  l0[P_UCODE] = PTE(__user_start, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
  l0[P_SWAP] = PTE(pages[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  l0[P_WONLY] = PTE(pages[2], PTE_V | PTE_W | PTE_A | PTE_D);               /* reserved */
  l0[P_NONLEAF] = PTE(pages[2], PTE_V);                                       /* no leaf */
  l0[P_CROSS_A] = PTE(xpages[0], PTE_V | PTE_R | PTE_X | PTE_A | PTE_D);
  l0[P_CROSS_B] = PTE(xpages[1], PTE_V | PTE_R | PTE_X | PTE_A | PTE_D);
  sfence_all();
  csr_write(satp, SATP_SV39 | ((u64)root >> 12));
  sfence_all();
  check("satp reads back Sv39 and the root", csr_read(satp) == (SATP_SV39 | ((u64)root >> 12)));
  check("M ignores satp (physical load of a page)", *(volatile u64 *)pages[2] == 0x2222222222222222UL);

  /* mappings of each size */
  s_load_check("S load via 1 GiB identity superpage", (u64)&pages[1][8], 0x1111111111111111UL);
  s_load_check("S load via 2 MiB megapage (VA 0x40000000 + 0x3000)", VA_MEGA + 0x3000, 0xabcd000000003000UL);
  s_load_check("S load via 2 MiB megapage (VA 0x40000000 + 0x1ff000)", VA_MEGA + 0x1ff000, 0xabcd0000001ff000UL);
  s_load_check("S load via read-only 4 KiB page", VA(P_RO) + 16, 0x2222222222222222UL);
  store_value = 0x7777777777777777UL;
  expect_m();
  run_s(s_store, (long)(VA_MEGA + 0x5000));
  expect_none();
  check("S store via megapage lands at its PA", mtrap.count == 0 && *(volatile u64 *)(MEGA_PA + 0x5000) == 0x7777777777777777UL);

  /* A and D */
  s_load_check("S load from page with A=0 D=0", VA(P_AD), 0x1010101010101010UL);
  if (mtrap.count) {
    l0[P_AD] |= PTE_A;
    sfence_all();
  }
  ad_bits("  PTE after the load", l0[P_AD]);
  store_value = 0x0f0f0f0f0f0f0f0fUL;
  expect_m();
  run_s(s_store, (long)VA(P_AD));
  expect_none();
  puts_("S store to page with D=0: ");
  if (mtrap.count) {
    puts_("mcause ");
    put_hex(mtrap.cause);
    putc_('\n');
    l0[P_AD] |= PTE_A | PTE_D;
    sfence_all();
  } else {
    puts_(*(volatile u64 *)pages[0] == 0x0f0f0f0f0f0f0f0fUL ? "ok\n" : "WRONG DATA\n");
  }
  ad_bits("  PTE after the store", l0[P_AD]);

  /* permission faults (not delegated: they reach M) */
  store_value = 1;
  s_fault("S store to read-only page", s_store, VA(P_RO) + 8, CAUSE_STORE_PAGE);
  check("  page unchanged", *(volatile u64 *)(pages[2] + 8) == 0x2222222222222222UL);
  s_fault("S load from unmapped page", s_load, VA(P_UNMAPPED) + 0x10, CAUSE_LOAD_PAGE);
  s_fault("S store to unmapped page", s_store, VA(P_UNMAPPED) + 0x18, CAUSE_STORE_PAGE);
  s_fault("S fetch from read-only (non-X) page", s_call, VA(P_RO) + 0x20, CAUSE_FETCH_PAGE);
  check("  mepc = the VA", mtrap.epc == VA(P_RO) + 0x20);
  s_fault("S load from X-only page, MXR=0", s_load, VA(P_XO), CAUSE_LOAD_PAGE);
  csr_set(mstatus, MSTATUS_MXR);
  s_load_check("S load from X-only page, MXR=1", VA(P_XO), 0x3333333333333333UL);
  csr_clear(mstatus, MSTATUS_MXR);
  expect_m();
  long r = run_s(s_call, (long)(VA(P_XO) + 8));
  expect_none();
  check("S calls code on an X-only page", mtrap.count == 0 && r == 5);
  s_fault("S load from U page, SUM=0", s_load, VA(P_USER), CAUSE_LOAD_PAGE);
  csr_set(mstatus, MSTATUS_SUM);
  s_load_check("S load from U page, SUM=1", VA(P_USER), 0x1111111111111111UL);
  s_fault("S fetch from U page, SUM=1", s_call, (u64)UFN(u_load), CAUSE_FETCH_PAGE);
  csr_clear(mstatus, MSTATUS_SUM);
  s_fault("S load via misaligned megapage (PPN not 2 MiB aligned)", s_load, VA_BADMEGA + 0x40, CAUSE_LOAD_PAGE);
  s_fault("S load via PTE with W=1 R=0 (reserved)", s_load, VA(P_WONLY), CAUSE_LOAD_PAGE);
  s_fault("S load via non-leaf PTE at level 0", s_load, VA(P_NONLEAF), CAUSE_LOAD_PAGE);
  s_fault("S load from non-canonical VA 0x8000000000", s_load, 0x8000000000UL, CAUSE_LOAD_PAGE);
  s_fault("S load from canonical unmapped VA 0xffffffc000000000", s_load, 0xffffffc000000000UL, CAUSE_LOAD_PAGE);

  /* U mode */
  expect_m();
  r = enter_mode(MODE_U, UFN(u_load), (long)VA(P_USER), 0);
  expect_none();
  check("U load from U page", mtrap.count == 0 && (u64)r == 0x1111111111111111UL);
  expect_m();
  enter_mode(MODE_U, UFN(u_load), (long)VA(P_RO), 0);
  expect_none();
  report("U load from non-U page", CAUSE_LOAD_PAGE, VA(P_RO));
  show("  mstatus.MPP in the trap", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  csr_set(mstatus, MSTATUS_SUM);
  expect_m();
  enter_mode(MODE_U, UFN(u_load), (long)VA(P_RO), 0);
  expect_none();
  report("U load from non-U page, SUM=1", CAUSE_LOAD_PAGE, VA(P_RO));
  csr_clear(mstatus, MSTATUS_SUM);
  expect_m();
  enter_mode(MODE_U, UFN(u_store), (long)VA(P_USER), 0);
  expect_none();
  check("U store to U page", mtrap.count == 0 && *(volatile u64 *)pages[1] == 0x5a5a);

  /* delegated page faults: S handles them with scause/stval/sepc */
  csr_write(medeleg, (1UL << CAUSE_FETCH_PAGE) | (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
  expect_m();
  expect_s();
  run_s(s_load, (long)(VA(P_UNMAPPED) + 0x28));
  expect_none();
  show("delegated: S load from unmapped page: scause", strap.count == 1 ? strap.cause : ~0UL);
  check("  stval = the VA", strap.tval == VA(P_UNMAPPED) + 0x28);
  check("  M saw no trap", mtrap.count == 0);
  expect_m();
  expect_s();
  s_resume_ra = 1;
  run_s(s_call, (long)(VA(P_RO) + 0x30));
  expect_none();
  show("delegated: S fetch from non-X page: scause", strap.count == 1 ? strap.cause : ~0UL);
  check("  stval = sepc = the VA", strap.tval == VA(P_RO) + 0x30 && strap.epc == VA(P_RO) + 0x30);
  expect_m();
  expect_s();
  enter_mode(MODE_U, UFN(u_store), (long)VA(P_RO), 0);
  expect_none();
  show("delegated: U store to non-U page: scause", strap.count == 1 ? strap.cause : ~0UL);
  check("  stval = the VA", strap.tval == VA(P_RO));
  show("  sstatus.SPP", (strap.status & MSTATUS_SPP) >> 8);
  csr_write(medeleg, 0);

  /* sfence.vma */
  expect_m();
  r = run_s(s_swap_then_load, (long)VA(P_SWAP));
  expect_none();
  check("S sees a changed PTE after sfence.vma", mtrap.count == 0 && r == 1);
  expect_m();
  r = run_s(s_cross_page, (long)(VA(P_CROSS_A) + 4092));
  expect_none();
  check("S code crossing a page end runs a remapped second page after sfence.vma",
        mtrap.count == 0 && r == 1);

  /* MPRV: M-mode loads and stores translated as MPP's mode */
  {
    u64 v = 0xbad, w = 0xbad;
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (u64)MODE_S << MPP_SHIFT);
    expect_m();
    __asm__ volatile(NORVC "csrs mstatus, %2\nld %0, 0(%3)\nld %1, 0(%4)\ncsrc mstatus, %2\n" POP
                     : "+&r"(v), "+&r"(w)
                     : "r"(MSTATUS_MPRV), "r"(VA_MEGA + 0x7000), "r"(VA(P_RO))
                     : "memory");
    expect_none();
    check("M with MPRV=1 MPP=S loads through the page tables", mtrap.count == 0 &&
          v == 0xabcd000000007000UL && w == 0x2222222222222222UL);
    csr_clear(mstatus, MSTATUS_MPP);
    expect_m();
    v = 0xbad;
    __asm__ volatile(NORVC "csrs mstatus, %1\nld %0, 0(%2)\ncsrc mstatus, %1\n" POP
                     : "+&r"(v)
                     : "r"(MSTATUS_MPRV), "r"(VA(P_RO))
                     : "memory");
    expect_none();
    report("M with MPRV=1 MPP=U loads from a non-U page", CAUSE_LOAD_PAGE, VA(P_RO));
    csr_clear(mstatus, MSTATUS_MPRV);
  }

  csr_write(satp, 0);
  sfence_all();
  puts_("sv39: done\n");
  return 0;
}
