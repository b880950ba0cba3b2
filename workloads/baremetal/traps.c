/* traps — synchronous exceptions: causes, mepc/mtval, misaligned and faulting accesses,
 * mret/sret into M, S and U, delegation to S through medeleg, and the TVM/TSR traps. */
#include "lib.h"

#define NORVC ".option push\n.option norvc\n"
#define POP ".option pop\n"

static const char *tval_kind(u64 tval, u64 pc, u64 bits) {
  if (tval == 0) return "0";
  if (tval == bits) return "the instruction bits";
  if (tval == pc) return "the pc";
  return "something else";
}

static void show_trap(const char *what, u64 pc) {
  puts_(what);
  puts_(": ");
  if (mtrap.count == 0) {
    puts_("no trap\n");
    return;
  }
  puts_("mcause ");
  put_hex(mtrap.cause);
  puts_(mtrap.count == 1 ? "" : " (more than one trap)");
  puts_(", mepc ");
  puts_(mtrap.epc == pc ? "ok" : "WRONG");
  putc_('\n');
}

/* ---- accesses whose pc we know (norvc: the handler steps over 4 bytes) ---- */
#define ACCESS(name, insn)                                                                  \
  static u64 name(u64 addr, u64 val, u64 *pc) {                                           \
    u64 p;                                                                                \
    __asm__ volatile(NORVC "lla %1, 1f\n1: " insn "\n" POP : "+&r"(val), "=&r"(p) : "r"(addr) : "memory"); \
    *pc = p;                                                                              \
    return val;                                                                           \
  }
ACCESS(do_ld, "ld %0, 0(%2)")
ACCESS(do_lw, "lw %0, 0(%2)")
ACCESS(do_lhu, "lhu %0, 0(%2)")
ACCESS(do_sd, "sd %0, 0(%2)")
ACCESS(do_sw, "sw %0, 0(%2)")
ACCESS(do_sh, "sh %0, 0(%2)")
ACCESS(do_amoadd_w, "amoadd.w %0, %0, (%2)")
ACCESS(do_lr_d, "lr.d %0, (%2)")

static u8 buf[64] __attribute__((aligned(16)));

static void misaligned_load(const char *what, u64 (*fn)(u64, u64, u64 *), u64 off, u64 want) {
  u64 pc;
  expect_m();
  u64 v = fn((u64)buf + off, 0xbad, &pc);
  expect_none();
  puts_(what);
  puts_(": ");
  if (mtrap.count) {
    puts_("trap, mcause ");
    put_hex(mtrap.cause);
    puts_(mtrap.tval == (u64)buf + off ? ", mtval = the address" : ", mtval not the address");
  } else {
    puts_(v == want ? "no trap, value ok" : "no trap, WRONG value");
  }
  putc_('\n');
}

static void misaligned_store(const char *what, u64 (*fn)(u64, u64, u64 *), u64 off, u64 size) {
  u64 pc;
  for (int i = 0; i < 64; i++) buf[i] = (u8)i;
  expect_m();
  fn((u64)buf + off, 0x1122334455667788UL, &pc);
  expect_none();
  puts_(what);
  puts_(": ");
  if (mtrap.count) {
    puts_("trap, mcause ");
    put_hex(mtrap.cause);
    puts_(mtrap.tval == (u64)buf + off ? ", mtval = the address" : ", mtval not the address");
  } else {
    int ok = 1;
    for (u64 i = 0; i < 64; i++) {
      u8 want = (i >= off && i < off + size) ? (u8)(0x1122334455667788UL >> (8 * (i - off))) : (u8)i;
      if (buf[i] != want) ok = 0;
    }
    puts_(ok ? "no trap, memory ok" : "no trap, WRONG memory");
  }
  putc_('\n');
}

static void access_fault(const char *what, u64 (*fn)(u64, u64, u64 *), u64 addr) {
  u64 pc;
  expect_m();
  fn(addr, 0, &pc);
  expect_none();
  show_trap(what, pc);
  if (mtrap.count) check("  mtval = the address", mtrap.tval == addr);
}

/* ---- code run in S and U ---- */
static volatile int marker;

static long u_ecall_then_mark(long x) {
  do_ecall(0, x);
  marker = 1;
  return 7;
}

static long s_ecall(long x) { return do_ecall(0, x); }

static u64 illegal_pc;
static long illegal_insn(long x) {
  u64 p;
  __asm__ volatile(NORVC "lla %0, 1f\n1: .word 0x5eb0000b\n" POP : "=&r"(p) :: "memory");
  illegal_pc = p;
  return x;
}

static long do_mret(long x) {
  __asm__ volatile(NORVC "mret\n" POP ::: "memory");
  return x;
}

static long do_sret(long x) {
  __asm__ volatile(NORVC "sret\n" POP ::: "memory");
  return x;
}

static long s_satp(long x) { (void)x; return (long)csr_read(satp); }
static long s_sfence(long x) {
  __asm__ volatile(NORVC "sfence.vma\n" POP ::: "memory");
  return x;
}

static void mode_trap(const char *what, long mode, long (*fn)(long)) {
  expect_m();
  enter_mode(mode, fn, 0, 0);
  expect_none();
  puts_(what);
  puts_(": ");
  if (mtrap.count == 0) {
    puts_("no trap\n");
    return;
  }
  puts_("mcause ");
  put_hex(mtrap.cause);
  puts_(", from mode ");
  put_dec((long)((mtrap.status & MSTATUS_MPP) >> MPP_SHIFT));
  putc_('\n');
}

int main(void) {
  u64 pc;
  puts_("traps: start\n");

  /* ecall, ebreak, illegal instructions in M */
  expect_m();
  __asm__ volatile(NORVC "lla %0, 1f\n1: ecall\n" POP : "=&r"(pc) :: "memory");
  expect_none();
  show_trap("ecall from M", pc);
  show("  mtval", mtrap.tval);

  expect_m();
  __asm__ volatile(NORVC "lla %0, 1f\n1: ebreak\n" POP : "=&r"(pc) :: "memory");
  expect_none();
  show_trap("ebreak", pc);
  say("  mtval", tval_kind(mtrap.tval, pc, 0x00100073));

  expect_m();
  __asm__ volatile(NORVC "lla %0, 1f\n1: .word 0x5eb0000b\n" POP : "=&r"(pc) :: "memory");
  expect_none();
  show_trap("illegal instruction 0x5eb0000b", pc);
  say("  mtval", tval_kind(mtrap.tval, pc, 0x5eb0000b));

  expect_m();
  __asm__ volatile("lla %0, 1f\n1: .half 0x0004\n" : "=&r"(pc) :: "memory");
  expect_none();
  show_trap("illegal compressed instruction 0x0004", pc);
  say("  mtval", tval_kind(mtrap.tval, pc, 0x0004));

  expect_m();
  __asm__ volatile("lla %0, 1f\n1: .half 0\n" : "=&r"(pc) :: "memory");
  expect_none();
  show_trap("all-zero 16-bit instruction", pc);

  /* misaligned accesses to RAM */
  for (int i = 0; i < 64; i++) buf[i] = (u8)i;
  misaligned_load("ld at +1", do_ld, 1, 0x0807060504030201UL);
  misaligned_load("lw at +2", do_lw, 2, 0x0000000005040302UL);
  misaligned_load("lhu at +1", do_lhu, 1, 0x0201);
  misaligned_store("sd at +3", do_sd, 3, 8);
  misaligned_store("sw at +2", do_sw, 2, 4);
  misaligned_store("sh at +1", do_sh, 1, 2);
  misaligned_store("amoadd.w at +2", do_amoadd_w, 2, 4);
  misaligned_load("lr.d at +4", do_lr_d, 4, 0x0b0a090807060504UL);

  /* accesses where nothing is */
  access_fault("load from 0x0", do_ld, 0);
  access_fault("store to 0x0", do_sd, 0);
  access_fault("load from 0x90000000 (past the end of RAM)", do_ld, 0x90000000UL);
  access_fault("store to 0x90000000", do_sw, 0x90000000UL);
  access_fault("load from 0x2010000 (after the CLINT)", do_lw, 0x2010000UL);
  {
    expect_m();
    m_resume_ra = 1;
    ((void (*)(void))0x90000000UL)();
    expect_none();
    show("fetch from 0x90000000: mcause", mtrap.count == 1 ? mtrap.cause : ~0UL);
    check("  mepc = mtval = 0x90000000", mtrap.epc == 0x90000000UL && mtrap.tval == 0x90000000UL);
  }

  /* mret to M */
  {
    u64 st;
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPP);
    csr_set(mstatus, MSTATUS_MPIE | (3UL << MPP_SHIFT));
    __asm__ volatile(NORVC "lla t0, 1f\ncsrw mepc, t0\nmret\nj 2f\n1: csrr %0, mstatus\n2:\n" POP
                     : "=&r"(st) : "0"(0UL) : "t0", "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    check("mret to M lands at mepc", st != 0);
    show("  then mstatus MIE, MPIE, MPP", st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP));
  }

  /* into S and U */
  csr_set(mstatus, MSTATUS_MPRV);
  expect_m();
  pc = (u64)run_s(s_ecall, 0);
  expect_none();
  show_trap("ecall from S (mret with MPP=S)", mtrap.epc);
  show("  mstatus.MPP in the trap", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  check("  mret to S cleared MPRV", !(mtrap.status & MSTATUS_MPRV));
  expect_m();
  marker = 0;
  run_u(u_ecall_then_mark, 0);
  expect_none();
  show_trap("ecall from U (mret with MPP=U)", mtrap.epc);
  show("  mstatus.MPP in the trap", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  check("  U continued after the ecall", marker == 1);

  mode_trap("mret in S", MODE_S, do_mret);
  mode_trap("sret in U", MODE_U, do_sret);
  csr_set(mstatus, MSTATUS_TSR);
  mode_trap("sret in S with TSR=1", MODE_S, do_sret);
  csr_clear(mstatus, MSTATUS_TSR);
  csr_set(mstatus, MSTATUS_TVM);
  mode_trap("csrr satp in S with TVM=1", MODE_S, s_satp);
  mode_trap("sfence.vma in S with TVM=1", MODE_S, s_sfence);
  csr_clear(mstatus, MSTATUS_TVM);
  mode_trap("csrr satp in S with TVM=0", MODE_S, s_satp);

  /* delegation: ecall from U to S */
  csr_write(medeleg, 1UL << CAUSE_ECALL_U);
  csr_set(mstatus, MSTATUS_SIE);
  csr_clear(mstatus, MSTATUS_SPIE | MSTATUS_SPP);
  expect_m();
  expect_s();
  marker = 0;
  long r = run_u(u_ecall_then_mark, 0);
  expect_none();
  show("delegated ecall from U: scause", strap.count == 1 ? strap.cause : ~0UL);
  check("  M saw no trap", mtrap.count == 0);
  check("  sepc = the ecall", strap.epc != ~0UL && *(volatile u32 *)strap.epc == 0x00000073);
  show("  stval", strap.tval);
  show("  sstatus SPP, SPIE, SIE in the handler", strap.status & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE));
  check("  sret back to U, which continued and returned", marker == 1 && r == 7);

  csr_clear(mstatus, MSTATUS_SIE);
  expect_m();
  expect_s();
  run_s(illegal_insn, 0);
  expect_none();
  show("illegal instruction in S, medeleg = ecall-from-U only: mcause", mtrap.count == 1 ? mtrap.cause : ~0UL);
  check("  S handler not entered", strap.count == 0);
  show("  mstatus.MPP", (mtrap.status & MSTATUS_MPP) >> MPP_SHIFT);
  check("  mepc = the instruction", mtrap.epc == illegal_pc);

  csr_write(medeleg, (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ILLEGAL));
  expect_m();
  expect_s();
  run_s(illegal_insn, 0);
  expect_none();
  show("illegal instruction in S, delegated: scause", strap.count == 1 ? strap.cause : ~0UL);
  check("  M saw no trap", mtrap.count == 0);
  show("  sstatus.SPP", (strap.status & MSTATUS_SPP) >> 8);
  check("  sepc = the instruction", strap.epc == illegal_pc);
  show("  stval", strap.tval);

  expect_m();
  expect_s();
  illegal_insn(0);
  expect_none();
  show("illegal instruction in M, medeleg bit 2 set: mcause", mtrap.count == 1 ? mtrap.cause : ~0UL);
  check("  S handler not entered", strap.count == 0);
  csr_write(medeleg, 0);

  puts_("traps: done\n");
  return 0;
}
