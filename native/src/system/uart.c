/* uart.c — the NS16550A UART at WB_VIRT_UART0_BASE (8-bit registers, one byte apart), the
 * board's console: what the guest transmits goes to host.console at once (there is no line
 * to wait for), what the host types waits in a receive queue until the guest reads it.
 *
 * Facts: the NS16550A / TL16C550 datasheets (register map, the divisor latch behind
 * LCR.DLAB, the interrupt identification priorities, the FIFO control register, loopback
 * mode) and qemu's hw/char/serial.c for what software sees of an emulated one:
 *   0 RBR (read) / THR (write); with DLAB: DLL       4 MCR
 *   1 IER; with DLAB: DLM                            5 LSR (read-only)
 *   2 IIR (read) / FCR (write)                       6 MSR (read-only)
 *   3 LCR                                            7 SCR (scratch)
 *
 * What Linux's 8250 driver checks when it probes the port (drivers/tty/serial/8250
 * autoconfig, and its startup tests), and why each holds here:
 *   - IER keeps exactly the 4 interrupt-enable bits written (the "IER test");
 *   - in loopback (MCR bit 4) MSR's status bits mirror MCR's outputs (the "LOOP test":
 *     MCR = RTS|OUT2 must read CTS|DCD);
 *   - after FCR enables the FIFOs, IIR's top bits read 0b11 (a 16550A, not a 16550 with
 *     broken FIFOs), and never bit 5 (a 16750's 64-byte FIFO), and the EFR probes through
 *     LCR = 0xbf read IIR, not 0 (no EFR: not a 16650/16850);
 *   - enabling the THRE interrupt while the transmitter is empty raises it again each time
 *     (no UART_BUG_THRE), and reading IIR while it is the reported source clears it.
 *
 * The receive queue is larger than a 16550's 16-byte FIFO: the host gives bytes at its own
 * pace and is told how many were taken (wb_uart_input), so nothing is ever overrun. The
 * receive interrupt is reported as "data available" when the queue holds the FIFO trigger
 * level, else as a "character timeout" (the real chip would raise that after 4 character
 * times; here it is immediate): the driver reads the data either way.
 */
#include <stdlib.h>
#include <string.h>
#include "board.h"

#define RX_QUEUE 4096u

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

enum {
  IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08,
  IIR_NO_INT = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06,
  IIR_CTI = 0x0c, IIR_FIFO_ON = 0xc0,
  FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04,
  LCR_DLAB = 0x80,
  MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10,
  LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40,
  MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80,
};

struct wb_uart {
  wb_board *b;
  uint8_t ier, fcr, lcr, mcr, lsr_errors, scr;
  uint8_t dll, dlm;
  int thr_pending;  /* the "transmitter holding register empty" interrupt is owed */
  int irq;          /* the level last driven on the PLIC line */
  uint8_t rx[RX_QUEUE];
  size_t rx_head, rx_count;
};

/* The FIFO's receive trigger level (FCR bits 7:6), in bytes. */
static size_t trigger_level(const struct wb_uart *u) {
  static const size_t levels[4] = {1, 4, 8, 14};
  return levels[u->fcr >> 6];
}

static uint8_t lsr(const struct wb_uart *u) {
  /* the transmitter is always idle: a byte leaves the moment it is written */
  return (uint8_t)((u->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | u->lsr_errors);
}

static uint8_t msr(const struct wb_uart *u) {
  if (u->mcr & MCR_LOOP) {
    /* loopback: the modem outputs come back on the modem inputs */
    return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
                     ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
  }
  return MSR_DCD | MSR_DSR | MSR_CTS;   /* a terminal is attached and ready (as qemu's) */
}

/* The interrupt the IIR reports now, by the 16550's priorities (IIR low bits). */
static uint8_t interrupt_id(const struct wb_uart *u) {
  if ((u->ier & IER_RLSI) && (u->lsr_errors & (LSR_OE | LSR_BI))) return IIR_RLSI;
  if ((u->ier & IER_RDI) && u->rx_count) {
    if (!(u->fcr & FCR_ENABLE) || u->rx_count >= trigger_level(u)) return IIR_RDI;
    return IIR_CTI;
  }
  if ((u->ier & IER_THRI) && u->thr_pending) return IIR_THRI;
  /* MSR's delta bits never set here (the modem lines never change), so no MSI */
  return IIR_NO_INT;
}

static uint8_t iir(const struct wb_uart *u) {
  return (uint8_t)(interrupt_id(u) | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0));
}

/* Drive the PLIC line from the interrupt state. */
static void update(struct wb_uart *u) {
  int level = interrupt_id(u) != IIR_NO_INT;
  if (level == u->irq) return;
  u->irq = level;
  wb_plic_set_irq(u->b->plic, WB_VIRT_UART0_IRQ, level);
}

static void rx_push(struct wb_uart *u, uint8_t byte) {
  u->rx[(u->rx_head + u->rx_count) % RX_QUEUE] = byte;
  u->rx_count++;
}

static void transmit(struct wb_uart *u, uint8_t byte) {
  if (u->mcr & MCR_LOOP) {
    /* loopback: the byte goes to our own receiver, not the line */
    if (u->rx_count < RX_QUEUE) rx_push(u, byte);
    else u->lsr_errors |= LSR_OE;
  } else {
    u->b->host.console(u->b->host.ctx, &byte, 1);
  }
  /* the holding register is empty again right away */
  u->thr_pending = 1;
}

size_t wb_uart_input(struct wb_uart *u, const uint8_t *bytes, size_t n) {
  if (!u || !bytes) return 0;
  size_t k = 0;
  while (k < n && u->rx_count < RX_QUEUE) rx_push(u, bytes[k++]);
  if (k) update(u);
  return k;
}

static uint64_t uart_read(void *state, uint64_t off, unsigned size) {
  struct wb_uart *u = state;
  if (size != 1) return 0;   /* byte registers (reg-io-width 1 in the device tree) */
  switch (off) {
  case RBR_THR: {
    if (u->lcr & LCR_DLAB) return u->dll;
    if (!u->rx_count) return 0;
    uint8_t byte = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % RX_QUEUE;
    u->rx_count--;
    update(u);
    return byte;
  }
  case IER: return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
  case IIR_FCR: {
    uint8_t v = iir(u);
    /* reading IIR while it reports THRE acknowledges that interrupt */
    if ((v & 0x0f) == IIR_THRI) {
      u->thr_pending = 0;
      update(u);
    }
    return v;
  }
  case LCR: return u->lcr;
  case MCR: return u->mcr;
  case LSR: {
    uint8_t v = lsr(u);
    u->lsr_errors = 0;   /* reading LSR clears the error bits */
    update(u);
    return v;
  }
  case MSR: return msr(u);
  case SCR: return u->scr;
  default: return 0;
  }
}

static void write_fcr(struct wb_uart *u, uint8_t v) {
  /* turning the FIFOs on or off empties them, as the clear bits do */
  if ((v ^ u->fcr) & FCR_ENABLE) v |= FCR_CLEAR_RX | FCR_CLEAR_TX;
  if (v & FCR_CLEAR_RX) {
    u->rx_head = u->rx_count = 0;
    u->lsr_errors &= (uint8_t)~LSR_OE;
  }
  /* clearing the transmit FIFO: there is nothing in it (every byte already left) */
  u->fcr = v & 0xc9;   /* enable, DMA mode, trigger level: the bits that stay */
}

static void uart_write(void *state, uint64_t off, uint64_t value, unsigned size) {
  struct wb_uart *u = state;
  if (size != 1) return;
  uint8_t v = (uint8_t)value;
  switch (off) {
  case RBR_THR:
    if (u->lcr & LCR_DLAB) u->dll = v;
    else transmit(u, v);
    break;
  case IER:
    if (u->lcr & LCR_DLAB) { u->dlm = v; break; }
    {
      uint8_t old = u->ier;
      u->ier = v & 0x0f;
      /* enabling the THRE interrupt while the transmitter is empty (it always is) raises it */
      if ((u->ier & IER_THRI) && !(old & IER_THRI)) u->thr_pending = 1;
    }
    break;
  case IIR_FCR: write_fcr(u, v); break;
  case LCR: u->lcr = v; break;
  case MCR: u->mcr = v & 0x1f; break;
  case SCR: u->scr = v; break;
  default: break;   /* LSR and MSR are read-only */
  }
  update(u);
}

static void uart_fini(void *state) { free(state); }

int wb_uart_init(wb_board *b) {
  struct wb_uart *u = calloc(1, sizeof *u);
  if (!u) return -1;
  u->b = b;
  /* reset: no interrupts enabled, FIFOs off, 8 data bits not yet chosen (LCR 0), MCR 0 */
  wb_device d = {.name = "uart", .base = WB_VIRT_UART0_BASE, .size = WB_VIRT_UART0_SIZE,
                 .state = u, .read = uart_read, .write = uart_write, .fini = uart_fini};
  if (wb_board_add(b, &d) != 0) { free(u); return -1; }
  b->uart = u;
  return 0;
}
