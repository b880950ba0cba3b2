/* lib.c — output, poweroff and the C halves of the trap handlers (see lib.h). */
#include "lib.h"

u64 boot_hartid, boot_dtb;
volatile struct trap_rec mtrap, strap;
volatile int m_allow, s_allow, m_resume_ra, s_resume_ra;
volatile u64 m_resume, s_resume;
void (*volatile m_irq_hook)(u64 cause, struct frame *f);
void (*volatile s_irq_hook)(u64 cause, struct frame *f);
void (*volatile m_service_hook)(struct frame *f);

/* M-mode context saved by enter_mode (crt.S): ra, sp, s0..s11 */
u64 m_ctx[14];

/* ---- output: NS16550A THR at +0, LSR at +5 (bit 5: THR empty) ---- */
void putc_(char c) {
  while (!(mmio_read8(UART0 + 5) & 0x20)) {
  }
  mmio_write8(UART0, (u8)c);
}

void puts_(const char *s) {
  while (*s) putc_(*s++);
}

void put_hex(u64 v) {
  char buf[17];
  int n = 0;
  puts_("0x");
  do {
    buf[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (n) putc_(buf[--n]);
}

void put_dec(long v) {
  char buf[21];
  int n = 0;
  unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
  if (v < 0) putc_('-');
  do {
    buf[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  while (n) putc_(buf[--n]);
}

void show(const char *what, u64 v) {
  puts_(what);
  puts_(": ");
  put_hex(v);
  putc_('\n');
}

void show_dec(const char *what, long v) {
  puts_(what);
  puts_(": ");
  put_dec(v);
  putc_('\n');
}

void say(const char *what, const char *fact) {
  puts_(what);
  puts_(": ");
  puts_(fact);
  putc_('\n');
}

void check(const char *what, int ok) { say(what, ok ? "yes" : "no"); }

void poweroff(int code) {
  /* SiFive test device: 0x5555 = pass (exit 0), 0x3333 | code << 16 = fail with code */
  mmio_write32(TEST_DEV, code ? 0x3333u | ((u32)code << 16) : 0x5555u);
  for (;;) {
  }
}

const char *cause_name(u64 cause) {
  static const char *const names[16] = {
      "instruction address misaligned", "instruction access fault", "illegal instruction",
      "breakpoint", "load address misaligned", "load access fault",
      "store/AMO address misaligned", "store/AMO access fault", "ecall from U",
      "ecall from S", "reserved (10)", "ecall from M", "instruction page fault",
      "load page fault", "reserved (14)", "store/AMO page fault"};
  if (cause & INTERRUPT_BIT) return "interrupt";
  return cause < 16 ? names[cause] : "?";
}

void expect_m(void) {
  mtrap.count = 0;
  mtrap.cause = mtrap.epc = mtrap.tval = mtrap.status = ~0UL;
  m_allow = 1;
}

void expect_s(void) {
  strap.count = 0;
  strap.cause = strap.epc = strap.tval = strap.status = ~0UL;
  s_allow = 1;
}

void expect_none(void) {
  m_allow = s_allow = 0;
  m_resume_ra = s_resume_ra = 0;
  m_resume = s_resume = 0;
}

static void unexpected(const char *who, u64 cause, u64 epc, u64 tval) {
  puts_("UNEXPECTED ");
  puts_(who);
  puts_(" trap: cause ");
  put_hex(cause);
  puts_(" (");
  puts_(cause_name(cause));
  puts_(") epc ");
  put_hex(epc);
  puts_(" tval ");
  put_hex(tval);
  putc_('\n');
  poweroff(3);
}

/* Length of the instruction at pc (2 or 4), when pc is in RAM (identity-mapped wherever it
 * runs); code elsewhere (U pages under Sv39) is assembled without compressed instructions. */
static u64 insn_len(u64 pc) {
  if (pc >= 0x80000000UL && pc < 0x90000000UL) return (*(volatile unsigned short *)pc & 3) == 3 ? 4 : 2;
  return 4;
}

void m_trap(struct frame *f) {
  u64 cause = csr_read(mcause), epc = csr_read(mepc);
  u64 tval = csr_read(mtval), status = csr_read(mstatus);
  if (cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S) {
    if (f->r[17] == EXIT_MAGIC) {
      /* back to enter_mode's caller, in M mode: its callee-saved registers, a0 = result */
      f->r[1] = m_ctx[0];
      f->r[2] = m_ctx[1];
      f->r[8] = m_ctx[2];
      f->r[9] = m_ctx[3];
      for (int i = 0; i < 10; i++) f->r[18 + i] = m_ctx[4 + i];
      csr_write(mepc, m_ctx[0]);
      csr_set(mstatus, MSTATUS_MPP);
      csr_clear(mstatus, MSTATUS_MPIE | MSTATUS_MPRV);
      return;
    }
    if (f->r[17] == SERVICE_MAGIC && m_service_hook) {
      m_service_hook(f);
      csr_write(mepc, epc + 4);
      return;
    }
  }
  mtrap.count++;
  mtrap.cause = cause;
  mtrap.epc = epc;
  mtrap.tval = tval;
  mtrap.status = status;
  if (cause & INTERRUPT_BIT) {
    if (!m_irq_hook) unexpected("M", cause, epc, tval);
    m_irq_hook(cause, f);
    return;
  }
  if (!m_allow) unexpected("M", cause, epc, tval);
  if (m_resume) {
    csr_write(mepc, m_resume);
    m_resume = 0;
  } else if (m_resume_ra) {
    csr_write(mepc, f->r[1]);
  } else {
    csr_write(mepc, epc + insn_len(epc));
  }
}

void s_trap(struct frame *f) {
  u64 cause = csr_read(scause), epc = csr_read(sepc);
  u64 tval = csr_read(stval), status = csr_read(sstatus);
  if (cause == CAUSE_ECALL_U && (f->r[17] == EXIT_MAGIC || f->r[17] == SERVICE_MAGIC)) {
    /* a delegated ecall from U meant for M: pass it on */
    f->r[10] = do_ecall((long)f->r[17], (long)f->r[10]);
    csr_write(sepc, epc + 4);
    return;
  }
  strap.count++;
  strap.cause = cause;
  strap.epc = epc;
  strap.tval = tval;
  strap.status = status;
  if (cause & INTERRUPT_BIT) {
    if (!s_irq_hook) unexpected("S", cause, epc, tval);
    s_irq_hook(cause, f);
    return;
  }
  if (!s_allow) unexpected("S", cause, epc, tval);
  if (s_resume) {
    csr_write(sepc, s_resume);
    s_resume = 0;
  } else if (s_resume_ra) {
    csr_write(sepc, f->r[1]);
  } else {
    csr_write(sepc, epc + insn_len(epc));
  }
}
