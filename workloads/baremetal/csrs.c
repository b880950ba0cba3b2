/* csrs — machine and supervisor CSRs: identification, WARL fields, what traps and what the
 * S-mode views (sstatus, sie, sip) show of the M-mode registers. */
#include "lib.h"

/* mstatus fields printed: those of RV64 without the hypervisor extension's MPV and GVA, and
 * without VS and UXL, which qemu 7.2 makes writable (VS without V is allowed by the spec;
 * UXL it lets take the illegal value 3) */
#define MSTATUS_SHOWN 0x8000003c007ff9eaUL
/* all the fields sstatus shows of mstatus */
#define SSTATUS_FIELDS 0x80000003000de762UL
#define MSTATUS_VS (3UL << 9)
#define MSTATUS_UXL (3UL << 32)

static const char *tval_kind(u64 tval, u64 epc) {
  if (tval == 0) return "0";
  if (epc >= 0x80000000UL && tval == *(volatile u32 *)epc) return "the instruction bits";
  return "something else";
}

static u64 trap_cause(void) { return mtrap.count == 1 ? mtrap.cause : mtrap.count ? ~1UL : 0; }

static long s_read_mstatus(long x) { (void)x; return (long)csr_read(mstatus); }
static long s_read_sstatus(long x) { (void)x; return (long)csr_read(sstatus); }
static long s_read_time(long x) { (void)x; return (long)csr_read(time); }
static long s_read_cycle(long x) { (void)x; return (long)csr_read(cycle); }
static long u_read_cycle(long x) { (void)x; return (long)csr_read(cycle); }
static long u_read_sstatus(long x) { (void)x; return (long)csr_read(sstatus); }

int main(void) {
  puts_("csrs: start\n");
  mmio_write64(CLINT_MTIMECMP, ~0UL); /* no timer interrupt pending: mip is ours to look at */

  /* identification */
  u64 misa = csr_read(misa);
  show_dec("misa.MXL", (long)(misa >> 62));
  u64 gc = 0;
  for (const char *p = "IMAFDCSU"; *p; p++) gc |= 1UL << (*p - 'A');
  check("misa has I M A F D C S U", (misa & gc) == gc);
  expect_m();
  (void)csr_read(mvendorid);
  (void)csr_read(marchid);
  (void)csr_read(mimpid);
  expect_none();
  check("mvendorid, marchid, mimpid readable", mtrap.count == 0);
  show("mhartid", csr_read(mhartid));
  check("a0 at reset = mhartid", boot_hartid == csr_read(mhartid));
  check("a1 at reset points at a device tree (magic d00dfeed)",
        boot_dtb && (boot_dtb & 3) == 0 && *(volatile u32 *)boot_dtb == 0xedfe0dd0u);
  expect_m();
  csr_write(mhartid, 1);
  expect_none();
  show("csrw mhartid (read-only): mcause", trap_cause());
  expect_m();
  csr_write(mvendorid, 1);
  expect_none();
  show("csrw mvendorid (read-only): mcause", trap_cause());

  /* mstatus and its S view */
  u64 saved = csr_read(mstatus);
  show_dec("mstatus.SXL at reset", (long)((saved >> 34) & 3));
  show_dec("mstatus.UXL at reset", (long)((saved >> 32) & 3));
  csr_write(mstatus, ~0UL);
  u64 ms = csr_read(mstatus);
  u64 ss = csr_read(sstatus);
  csr_write(mstatus, saved);
  show("mstatus <- ~0", ms & MSTATUS_SHOWN);
  show("  sstatus then", ss & ~(MSTATUS_VS | MSTATUS_UXL));
  check("  sstatus = mstatus restricted to the S fields", ss == (ms & SSTATUS_FIELDS));
  csr_write(mstatus, 0);
  u64 ms0 = csr_read(mstatus);
  csr_write(sstatus, ~0UL);
  u64 ms_after_s = csr_read(mstatus);
  csr_write(mstatus, saved);
  show("mstatus <- 0", ms0 & MSTATUS_SHOWN);
  show("  then sstatus <- ~0: mstatus", ms_after_s & MSTATUS_SHOWN);
  csr_write(mstatus, (saved & ~MSTATUS_MPP) | (2UL << MPP_SHIFT));
  u64 mpp2 = (csr_read(mstatus) & MSTATUS_MPP) >> MPP_SHIFT;
  csr_write(mstatus, saved);
  check("mstatus.MPP <- 2 (reserved) reads a legal mode (0, 1, 3)", mpp2 != 2);

  /* floating-point state: FS tracks it, FS=Off makes FP instructions illegal */
  csr_clear(mstatus, MSTATUS_FS);
  csr_set(mstatus, 1UL << 13);
  __asm__ volatile("fmv.d.x f0, zero" ::: "memory");
  u64 fs = csr_read(mstatus);
  show("FS after writing f0 (FS was Initial)", (fs & MSTATUS_FS) >> 13);
  check("  SD set", fs >> 63);
  csr_clear(mstatus, MSTATUS_FS);
  expect_m();
  __asm__ volatile(".option push\n.option norvc\nfmv.d.x f0, zero\n.option pop" ::: "memory");
  expect_none();
  show("fmv.d.x with FS=Off: mcause", trap_cause());
  expect_m();
  (void)csr_read(fcsr);
  expect_none();
  show("csrr fcsr with FS=Off: mcause", trap_cause());
  csr_write(mstatus, saved);

  /* delegation registers */
  csr_write(medeleg, ~0UL);
  u64 med = csr_read(medeleg);
  csr_write(medeleg, 0);
  show("medeleg <- ~0 (causes 0-9, 12, 13, 15)", med & 0xb3ff);
  check("  medeleg[11] (ecall from M) stays 0", !((med >> CAUSE_ECALL_M) & 1));
  csr_write(mideleg, ~0UL);
  u64 mid = csr_read(mideleg);
  csr_write(mideleg, 0);
  show("mideleg <- ~0 (bits 1, 3, 5, 7, 9, 11)", mid & 0xaaa);

  /* mtvec */
  u64 tv = csr_read(mtvec);
  u64 base = tv & ~3UL;
  csr_write(mtvec, base | 1);
  u64 tv1 = csr_read(mtvec);
  csr_write(mtvec, base | 2);
  u64 tv2 = csr_read(mtvec);
  csr_write(mtvec, tv);
  check("mtvec in direct mode (0)", (tv & 3) == 0);
  check("mtvec <- base|1 (vectored) reads back", tv1 == (base | 1));
  check("mtvec <- base|2 (reserved) reads a legal mode (0, 1)", (tv2 & 3) < 2);

  /* mscratch, mepc */
  u64 sc = csr_swap(mscratch, 0x0123456789abcdefUL);
  u64 sc2 = csr_swap(mscratch, sc);
  show("mscratch <- 0x0123456789abcdef", sc2);
  csr_write(mepc, 0x80001235UL);
  show("mepc <- 0x80001235", csr_read(mepc));
  csr_write(mepc, 0x80001236UL);
  show("mepc <- 0x80001236", csr_read(mepc));

  /* satp (M mode: no translation whatever it holds) */
  csr_write(satp, (8UL << 60) | 0x80123UL);
  show("satp <- Sv39 | ppn 0x80123", csr_read(satp));
  csr_write(satp, 0);
  csr_write(satp, (7UL << 60) | 0x80123UL);
  show("satp <- mode 7 (reserved) | ppn 0x80123", csr_read(satp));
  csr_write(satp, 0);
  csr_write(satp, (9UL << 60) | 0x80123UL);
  u64 s9 = csr_read(satp);
  csr_write(satp, 0);
  check("satp <- mode 9 (Sv48) | ppn: taken whole or ignored whole", s9 == ((9UL << 60) | 0x80123UL) || s9 == 0);
  csr_write(satp, (8UL << 60) | (0xffffUL << 44));
  u64 sa = csr_read(satp);
  csr_write(satp, 0);
  check("satp <- Sv39 | ASID ~0: mode and ppn kept", (sa & ~(0xffffUL << 44)) == (8UL << 60));

  /* PMP (crt.S wrote pmpaddr0 = ~0, pmpcfg0 = NAPOT|RWX) */
  check("pmpaddr0 <- ~0 holds address bits 55:2", (csr_read(pmpaddr0) & 0x3fffffffffffffUL) == 0x3fffffffffffffUL);
  show("pmpcfg0 <- 0x1f: entry 0", csr_read(pmpcfg0) & 0xff);

  /* CSRs that do not exist */
  expect_m();
  (void)csr_read(0x3ff);
  expect_none();
  show("csrr 0x3ff (no such CSR): mcause", trap_cause());
  say("  mtval", tval_kind(mtrap.tval, mtrap.epc));
  check("  mepc = the csrr", mtrap.epc < ~1UL && (*(volatile u32 *)mtrap.epc & 0xfff0307fu) == 0x3ff02073u);
  expect_m();
  (void)csr_read(0x310);
  expect_none();
  show("csrr mstatush (RV32 only): mcause", trap_cause());

  /* privilege */
  expect_m();
  run_s(s_read_mstatus, 0);
  expect_none();
  show("S reads mstatus: mcause", trap_cause());
  show("  mstatus.MPP in the trap", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  expect_m();
  run_s(s_read_sstatus, 0);
  expect_none();
  show("S reads sstatus: mcause (0 = no trap)", trap_cause());
  expect_m();
  run_u(u_read_sstatus, 0);
  expect_none();
  show("U reads sstatus: mcause", trap_cause());
  csr_write(mcounteren, 0);
  expect_m();
  run_u(u_read_cycle, 0);
  expect_none();
  show("U reads cycle, mcounteren = 0: mcause", trap_cause());
  expect_m();
  run_s(s_read_cycle, 0);
  expect_none();
  show("S reads cycle, mcounteren = 0: mcause", trap_cause());
  csr_write(mcounteren, 7);
  csr_write(scounteren, 0);
  expect_m();
  run_s(s_read_cycle, 0);
  expect_none();
  show("S reads cycle, mcounteren = 7: mcause (0 = no trap)", trap_cause());
  expect_m();
  run_u(u_read_cycle, 0);
  expect_none();
  show("U reads cycle, mcounteren = 7, scounteren = 0: mcause", trap_cause());
  csr_write(scounteren, 7);
  expect_m();
  run_u(u_read_cycle, 0);
  expect_none();
  show("U reads cycle, m/scounteren = 7: mcause (0 = no trap)", trap_cause());
  expect_m();
  run_s(s_read_time, 0);
  expect_none();
  show("S reads time, mcounteren = 7: mcause (0 = no trap)", trap_cause());
  csr_write(mcounteren, 0);
  csr_write(scounteren, 0);

  /* sie / sip: the bits mideleg delegates */
  csr_write(mie, ~0UL);
  show("mie <- ~0 (bits 1, 3, 5, 7, 9, 11)", csr_read(mie) & 0xaaa);
  csr_write(mideleg, 0);
  show("  sie with mideleg = 0", csr_read(sie));
  csr_write(mideleg, 0x222);
  show("  sie with mideleg = 0x222", csr_read(sie));
  csr_write(sie, 0);
  show("  mie after sie <- 0", csr_read(mie) & 0xaaa);
  csr_write(mie, 0);
  csr_write(mip, ~0UL);
  u64 mipv = csr_read(mip);
  u64 sipv = csr_read(sip);
  csr_write(mip, 0);
  show("mip <- ~0 (bits 1, 3, 5, 7, 9, 11)", mipv & 0xaaa);
  show("  sip then, mideleg = 0x222", sipv);
  csr_write(sip, ~0UL);
  show("  mip after sip <- ~0, mideleg = 0x222", csr_read(mip) & 0xaaa);
  csr_write(mip, 0);
  csr_write(mideleg, 0);
  csr_write(sip, ~0UL);
  show("  mip after sip <- ~0, mideleg = 0", csr_read(mip) & 0xaaa);
  csr_write(mip, 0);
  puts_("csrs: done\n");
  return 0;
}
