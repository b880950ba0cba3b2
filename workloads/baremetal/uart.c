/* uart — the NS16550A as the 8250 driver of Linux (and OpenSBI) probes it: reset values,
 * scratch register, IER, divisor latch behind LCR.DLAB, FIFO bits in IIR after FCR, the THRE
 * interrupt indication, loopback through MCR. */
#include "lib.h"

#define RBR 0 /* read, DLAB=0 */
#define THR 0 /* write, DLAB=0 */
#define DLL 0 /* DLAB=1 */
#define IER 1 /* DLAB=0 */
#define DLM 1 /* DLAB=1 */
#define IIR 2 /* read */
#define FCR 2 /* write */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

static u8 rd(int reg) { return mmio_read8(UART0 + reg); }
static void wr(int reg, u8 v) { mmio_write8(UART0 + reg, v); }

static void show8(const char *what, u8 v) { show(what, v); }

static int wait_lsr(u8 bits) {
  for (int i = 0; i < 1000000; i++)
    if ((rd(LSR) & bits) == bits) return 1;
  return 0;
}

int main(void) {
  /* before anything is transmitted */
  u8 lsr0 = rd(LSR), ier0 = rd(IER), iir0 = rd(IIR), lcr0 = rd(LCR), mcr0 = rd(MCR);
  puts_("uart: start\n");
  show8("LSR at reset", lsr0);
  show8("IER at reset", ier0);
  show8("IIR at reset", iir0);
  show8("LCR at reset", lcr0);
  show8("MCR at reset", mcr0);

  check("THRE and TEMT set again after a transmitted byte", wait_lsr(0x60));
  show8("LSR.DR with no input", rd(LSR) & 1);

  wr(SCR, 0xa5);
  u8 s1 = rd(SCR);
  wr(SCR, 0x5a);
  u8 s2 = rd(SCR);
  show8("SCR <- 0xa5", s1);
  show8("SCR <- 0x5a", s2);

  wr(IER, 0x0f);
  u8 i1 = rd(IER);
  wr(IER, 0xff);
  u8 i2 = rd(IER);
  wr(IER, 0);
  u8 i3 = rd(IER);
  show8("IER <- 0x0f", i1);
  show8("IER <- 0xff", i2);
  show8("IER <- 0", i3);

  /* divisor latch */
  wr(LCR, 0x83);
  u8 lcr1 = rd(LCR);
  u8 dll0 = rd(DLL), dlm0 = rd(DLM);
  wr(DLL, 0x0c);
  wr(DLM, 0x5a);
  u8 dll1 = rd(DLL), dlm1 = rd(DLM);
  wr(DLL, dll0);
  wr(DLM, dlm0);
  wr(LCR, 0x03);
  u8 lcr2 = rd(LCR);
  u8 ier_after = rd(IER);
  show8("LCR <- 0x83 (DLAB, 8N1)", lcr1);
  show8("DLL <- 0x0c with DLAB=1", dll1);
  show8("DLM <- 0x5a with DLAB=1", dlm1);
  show8("LCR <- 0x03", lcr2);
  show8("IER with DLAB=0 again (DLM write did not reach it)", ier_after);

  /* FIFOs */
  wr(FCR, 0x07);
  u8 iir1 = rd(IIR);
  wr(FCR, 0x00);
  u8 iir2 = rd(IIR);
  wr(FCR, 0x07);
  show8("IIR after FCR <- 0x07", iir1);
  show8("IIR after FCR <- 0x00", iir2);

  /* THR-empty interrupt indication (Linux's THRE test) */
  wait_lsr(0x60);
  wr(IER, 0x02);
  u8 iir3 = rd(IIR);
  u8 iir4 = rd(IIR);
  wr(IER, 0x00);
  u8 iir5 = rd(IIR);
  show8("IER <- THRI: IIR", iir3);
  show8("  IIR read again", iir4);
  show8("IER <- 0: IIR", iir5);

  /* loopback (Linux's autoconfig LOOP test); the byte must not reach the console */
  wait_lsr(0x60);
  (void)rd(MSR);
  wr(MCR, 0x10 | 0x0a);
  u8 msr1 = rd(MSR);
  wr(THR, 'Z');
  int dr = wait_lsr(0x01);
  u8 rbr = rd(RBR);
  u8 lsr1 = rd(LSR);
  wr(MCR, mcr0);
  (void)rd(MSR);
  show8("MCR <- LOOP|OUT2|RTS: MSR & 0xf0", msr1 & 0xf0);
  check("  THR byte received: LSR.DR", dr);
  show8("  RBR", rbr);
  show8("  LSR.DR after reading RBR", lsr1 & 1);
  puts_("uart: done\n");
  return 0;
}
