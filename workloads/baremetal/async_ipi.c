/* async_ipi — engine only (host-clock mode): the host raises this hart's machine software
 * interrupt at random host moments (wb_system_inject_ipi, as another hart's IPI would) while
 * the program runs a loop that keeps two copies of the same computation in registers and
 * memory and compares them every iteration. The handler counts each interrupt and clears
 * msip; after TARGET interrupts the program prints what it saw and powers off:
 *   async_ipi: interrupts 200
 *   async_ipi: iterations > 0: yes
 *   async_ipi: state intact: yes
 * An interrupt taken inside an instruction, or one delivered twice, breaks the copies or the
 * count; a lost one never ends the loop (the test's wall-clock limit does). */
#include "lib.h"

#define TARGET 200
#define MIP(i) (1UL << (i))

static volatile u64 count, spurious;
static u64 buf[256];

static void m_hook(u64 cause, struct frame *f) {
  (void)f;
  if ((cause & ~INTERRUPT_BIT) != IRQ_MSI) { spurious++; csr_clear(mie, MIP(cause & 63)); return; }
  mmio_write32(CLINT_MSIP, 0);
  count++;
}

int main(void) {
  mmio_write32(CLINT_MSIP, 0);
  m_irq_hook = m_hook;
  csr_write(mie, MIP(IRQ_MSI));
  csr_set(mstatus, MSTATUS_MIE);
  u64 a = 1, b = 1, n = 0, bad = 0;
  while (count < TARGET) {
    a = a * 6364136223846793005UL + 1442695040888963407UL;
    b = b * 6364136223846793005UL + 1442695040888963407UL;
    __asm__ volatile("" : "+r"(b));       /* the compiler may not fold b into a */
    buf[n & 255] = a ^ n;
    u64 back = buf[n & 255];
    __asm__ volatile("" : "+r"(back));
    if ((back ^ n) != b) bad++;
    n++;
  }
  csr_clear(mstatus, MSTATUS_MIE);
  show_dec("async_ipi: interrupts", (long)count);
  check("async_ipi: iterations > 0", n > 0);
  check("async_ipi: state intact", bad == 0 && spurious == 0);
  return 0;
}
