/* interrupts — the CLINT timer and software interrupt, when interrupts are taken (global and
 * per-source enables, privilege), wfi, delegation of the supervisor timer, priorities and
 * vectored mtvec. Never prints a time: only whether things happened, and in which order. */
#include "lib.h"

#define NORVC ".option push\n.option norvc\n"
#define POP ".option pop\n"
#define MIP(i) (1UL << (i))
#define DELTA 20000UL     /* mtime ticks: 2 ms at qemu's 10 MHz (2 M instructions for us) */
#define PATIENCE 10000000UL /* mtime ticks to wait for an interrupt line at most: 1 s */

static u64 mtime(void) { return mmio_read64(CLINT_MTIME); }
static void set_mtimecmp(u64 v) { mmio_write64(CLINT_MTIMECMP, v); }
static int pending(int irq) { return (csr_read(mip) & MIP(irq)) != 0; }

/* waits until mip.irq is set; gives up after `ticks` of mtime */
static int wait_pending(int irq, u64 ticks) {
  u64 start = mtime();
  while (!pending(irq))
    if (mtime() - start > ticks) return pending(irq);
  return 1;
}

static volatile int marker, marker_at_irq;
static volatile u64 causes[8];
static volatile int ncauses;

static void m_hook(u64 cause, struct frame *f) {
  (void)f;
  if (ncauses < 8) causes[ncauses++] = cause;
  marker_at_irq = marker;
  switch (cause & ~INTERRUPT_BIT) {
  case IRQ_MTI: set_mtimecmp(~0UL); break;
  case IRQ_MSI: mmio_write32(CLINT_MSIP, 0); break;
  case IRQ_SSI:
  case IRQ_STI:
  case IRQ_SEI: csr_clear(mip, MIP(cause & 63)); break;
  default: csr_clear(mie, MIP(cause & 63)); break;
  }
}

static void s_hook(u64 cause, struct frame *f) {
  (void)f;
  if (ncauses < 8) causes[ncauses++] = cause;
  marker_at_irq = marker;
  csr_clear(sie, MIP(IRQ_STI)); /* S cannot clear STIP: mask it */
}

static void reset(void) {
  csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
  csr_write(mie, 0);
  csr_write(mip, 0);
  csr_write(mideleg, 0);
  set_mtimecmp(~0UL);
  mmio_write32(CLINT_MSIP, 0);
  expect_none();
  mtrap.count = strap.count = 0;
  ncauses = 0;
  marker = marker_at_irq = 0;
}

/* enable MIE, then set marker: returns the address of the instruction after the csrs */
static u64 enable_mie_then_mark(void) {
  u64 pc;
  __asm__ volatile(NORVC "li t0, 1\ncsrsi mstatus, 8\n1: sw t0, 0(%1)\nlla %0, 1b\n" POP
                   : "=&r"(pc) : "r"(&marker) : "t0", "memory");
  return pc;
}

static u64 s_pc_after;
static long s_enable_sie(long x) {
  u64 pc;
  marker = 1; /* STIP is pending and delegated, but SIE=0 */
  __asm__ volatile(NORVC "li t0, 2\ncsrsi sstatus, 2\n1: sw t0, 0(%1)\nlla %0, 1b\n" POP
                   : "=&r"(pc) : "r"(&marker) : "t0", "memory");
  s_pc_after = pc;
  return x;
}

static long u_mark(long x) {
  marker = 1;
  return x;
}

/* vectored mtvec: entry i (at vec_table + 4 * i) writes i to sscratch (31 for entry 0, where
 * exceptions go too) and continues at the ordinary trap entry; sscratch is free meanwhile */
extern char vec_table[];
__asm__(".text\n.option push\n.option norvc\n.balign 256\nvec_table:\n"
        ".irp n,0,1,2,3,4,5,6,7,8,9,10,11\n j vec_\\n\n.endr\n"
        "vec_0:\n csrwi sscratch, 31\n j m_trap_entry\n"
        ".irp n,1,2,3,4,5,6,7,8,9,10,11\nvec_\\n:\n csrwi sscratch, \\n\n j m_trap_entry\n.endr\n"
        ".option pop\n");

static void show_causes(const char *what) {
  puts_(what);
  puts_(":");
  for (int i = 0; i < ncauses; i++) {
    putc_(' ');
    put_hex(causes[i]);
  }
  if (!ncauses) puts_(" none");
  putc_('\n');
}

int main(void) {
  puts_("interrupts: start\n");
  m_irq_hook = m_hook;
  s_irq_hook = s_hook;
  reset();
  check("mip clear with mtimecmp = ~0 and msip = 0", (csr_read(mip) & 0xaaa) == 0);

  /* 1. timer, polled with MIE=0, then taken as soon as MIE is set */
  csr_write(mie, MIP(IRQ_MTI));
  set_mtimecmp(mtime() + 1000 * PATIENCE);
  check("MTIP clear while mtime < mtimecmp", !pending(IRQ_MTI));
  set_mtimecmp(mtime() + DELTA);
  int got = wait_pending(IRQ_MTI, PATIENCE);
  check("MTIP set after mtime passed mtimecmp (MIE=0)", got && mtime() >= mmio_read64(CLINT_MTIMECMP));
  check("  no trap while mstatus.MIE=0", mtrap.count == 0);
  u64 after = enable_mie_then_mark();
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("setting MIE: interrupts");
  check("  taken before the next instruction", ncauses == 1 && marker_at_irq == 0);
  check("  mepc = the instruction after csrs", mtrap.epc == after);
  show("  mstatus MPIE, MIE in the handler", mtrap.status & (MSTATUS_MPIE | MSTATUS_MIE));
  show("  mstatus.MPP in the handler", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  check("  MTIP clear after the handler set mtimecmp = ~0", !pending(IRQ_MTI));
  reset();

  /* 2. software interrupt through msip */
  csr_write(mie, MIP(IRQ_MSI));
  mmio_write32(CLINT_MSIP, 1);
  check("msip = 1 sets mip.MSIP", pending(IRQ_MSI));
  show("  msip reads", mmio_read32(CLINT_MSIP));
  check("  no trap while mstatus.MIE=0", mtrap.count == 0);
  enable_mie_then_mark();
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("setting MIE: interrupts");
  check("  taken before the next instruction", ncauses == 1 && marker_at_irq == 0);
  check("  MSIP clear after the handler wrote msip = 0", !pending(IRQ_MSI));
  reset();

  /* 3. wfi with MIE=0 wakes up on a pending enabled interrupt and does not trap */
  csr_write(mie, MIP(IRQ_MTI));
  set_mtimecmp(mtime() + DELTA);
  __asm__ volatile("wfi" ::: "memory");
  check("wfi (MIE=0, MTIE=1) returns with MTIP pending", pending(IRQ_MTI));
  check("  no trap", mtrap.count == 0);
  reset();

  /* 4. interrupts for M are enabled in U and S whatever mstatus.MIE says */
  csr_write(mie, MIP(IRQ_MTI));
  set_mtimecmp(0);
  run_u(u_mark, 0);
  show_causes("MTIP pending, U mode, MIE=0: interrupts");
  show("  mstatus.MPP in the handler", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  check("  taken before U's first store", marker_at_irq == 0 && marker == 1);
  reset();

  /* 5. supervisor timer: not delegated it goes to M, delegated to S */
  csr_write(mie, MIP(IRQ_STI));
  csr_set(mip, MIP(IRQ_STI));
  check("M sets mip.STIP", pending(IRQ_STI));
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("STIP pending, mideleg = 0, M with MIE=1: interrupts");
  reset();

  csr_write(mideleg, MIP(IRQ_STI));
  csr_write(mie, MIP(IRQ_STI));
  csr_set(mip, MIP(IRQ_STI));
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("STIP pending, delegated, M with MIE=1: interrupts");
  check("  sip.STIP visible", (csr_read(sip) & MIP(IRQ_STI)) != 0);
  run_s(s_enable_sie, 0);
  show_causes("delegated STIP, S with SIE=0 then csrs sstatus.SIE: interrupts");
  check("  masked while SIE=0", marker_at_irq == 1);
  check("  taken right after csrs sstatus.SIE, before the next instruction", marker_at_irq == 1 && marker == 2);
  check("  sepc = the instruction after csrs", strap.epc == s_pc_after);
  show("  sstatus SPP, SPIE, SIE in the handler", strap.status & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE));
  check("  M saw no trap", mtrap.count == 0);
  csr_set(sie, MIP(IRQ_STI));
  ncauses = 0;
  marker = marker_at_irq = 0;
  run_u(u_mark, 0);
  show_causes("delegated STIP, U mode with sstatus.SIE=0: interrupts");
  check("  taken before U's first store", marker_at_irq == 0 && marker == 1);
  show("  sstatus.SPP in the handler", (strap.status & MSTATUS_SPP) >> 8);
  reset();

  /* 6. priorities (privileged spec: MEI, MSI, MTI, SEI, SSI, STI) */
  csr_write(mie, MIP(IRQ_MSI) | MIP(IRQ_MTI));
  set_mtimecmp(0);
  mmio_write32(CLINT_MSIP, 1);
  got = wait_pending(IRQ_MTI, PATIENCE);
  check("MSIP and MTIP both pending", got && pending(IRQ_MSI));
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("  MSI+MTI taken in order");
  reset();
  csr_write(mie, MIP(IRQ_STI) | MIP(IRQ_MTI));
  set_mtimecmp(0);
  csr_set(mip, MIP(IRQ_STI));
  got = wait_pending(IRQ_MTI, PATIENCE);
  check("MTIP and STIP (not delegated) both pending", got && pending(IRQ_STI));
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("  MTI+STI taken in order");
  reset();
  csr_write(mie, MIP(IRQ_SSI) | MIP(IRQ_STI) | MIP(IRQ_SEI));
  csr_set(mip, MIP(IRQ_SSI) | MIP(IRQ_STI) | MIP(IRQ_SEI));
  check("SSIP, STIP, SEIP (not delegated) all pending", (csr_read(mip) & 0x222) == 0x222);
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
  show_causes("  SSI+STI+SEI taken in order");
  reset();

  /* 7. vectored mtvec: interrupts at base + 4 * cause, exceptions at base */
  {
    u64 saved_tvec = csr_read(mtvec), saved_sscratch = csr_read(sscratch);
    csr_write(mtvec, (u64)vec_table | 1);
    csr_write(sscratch, 0);
    csr_write(mie, MIP(IRQ_MTI));
    set_mtimecmp(0);
    csr_set(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MIE);
    u64 landed_mti = csr_read(sscratch);
    reset();
    csr_write(sscratch, 0);
    csr_write(mie, MIP(IRQ_MSI));
    mmio_write32(CLINT_MSIP, 1);
    csr_set(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MIE);
    u64 landed_msi = csr_read(sscratch);
    reset();
    csr_write(sscratch, 0);
    expect_m();
    __asm__ volatile(NORVC "ecall\n" POP ::: "memory");
    expect_none();
    u64 landed_exc = csr_read(sscratch);
    csr_write(mtvec, saved_tvec);
    csr_write(sscratch, saved_sscratch);
    show_dec("vectored mtvec: MTI entered at entry", (long)landed_mti);
    show_dec("vectored mtvec: MSI entered at entry", (long)landed_msi);
    show_dec("vectored mtvec: ecall entered at entry (31 = base)", (long)landed_exc);
    reset();
  }
  puts_("interrupts: done\n");
  return 0;
}
