/* test_board.c — C-level tests of system mode's board (native/src/system: board.c and its
 * devices), driven the way the harts drive it: through wb_board_read/wb_board_write, with a
 * fake host that records interrupt notifications, console bytes, power events and timer
 * deadlines, and whose clock the test sets. RAM is a plain buffer.
 *
 * Covers: the address map (unknown addresses, straddling and misaligned accesses, overlap,
 * DMA bounds), mip lines, the CLINT timer and software interrupts, the PLIC's priorities,
 * threshold, claim/complete and MEIP/SEIP, the UART (transmit, receive, interrupts, the
 * Linux 8250 probe sequence), the test device, a virtio-blk disk on a temporary file (a
 * whole driver-side sequence, then hostile rings and descriptors), a fuzz of every device's
 * registers and of the virtqueue memory, and the device tree blob's framing.
 *
 *   test_board [OUT.dtb HARTS RAM_MIB [BOOTARGS [INITRD_START INITRD_END]]]
 * also writes the device tree of such a board, for tests/test_board.py to compare with
 * qemu's. Prints "ok"; exits 1 on a failed check. Registered with ctest
 * (native/CMakeLists.txt, WB_BUILD_TESTS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "system/board.h"

#define CHECK(c)                                                              \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

#define RAM_SIZE (16u << 20)
#define DRAM WB_VIRT_DRAM_BASE

/* ---- the fake host ---- */

typedef struct {
  uint64_t now;
  int interrupts[WB_BOARD_MAX_HARTS];
  uint64_t wake;
  int wakes;
  uint8_t console[8192];
  size_t ncon;
  int powers, reboot, code;
  uint64_t written[16][2];   /* ram_written ranges (pa, len), the first 16 */
  int nwritten;
} fake;

static uint64_t f_now(void *ctx) { return ((fake *)ctx)->now; }
static void f_interrupt(void *ctx, int hart) {
  CHECK(hart >= 0 && hart < WB_BOARD_MAX_HARTS);
  ((fake *)ctx)->interrupts[hart]++;
}
static void f_wake_at(void *ctx, uint64_t t) {
  ((fake *)ctx)->wake = t;
  ((fake *)ctx)->wakes++;
}
static void f_console(void *ctx, const uint8_t *bytes, size_t n) {
  fake *f = ctx;
  for (size_t i = 0; i < n; i++)
    if (f->ncon < sizeof f->console) f->console[f->ncon++] = bytes[i];
}
static void f_power(void *ctx, int reboot, int code) {
  fake *f = ctx;
  f->powers++;
  f->reboot = reboot;
  f->code = code;
}

static void f_ram_written(void *ctx, uint64_t pa, uint64_t len) {
  fake *f = ctx;
  if (f->nwritten < 16) { f->written[f->nwritten][0] = pa; f->written[f->nwritten][1] = len; }
  f->nwritten++;
}

static uint8_t *ram;
static fake host_state;

static void board_new(wb_board *b, int nharts) {
  wb_board_host h = {.ctx = &host_state, .now = f_now, .interrupt = f_interrupt, .wake_at = f_wake_at,
                     .console = f_console, .power = f_power, .ram_written = f_ram_written};
  char err[256] = "";
  memset(&host_state, 0, sizeof host_state);
  memset(ram, 0, RAM_SIZE);
  CHECK(wb_board_init(b, &h, nharts, ram, RAM_SIZE, err, sizeof err) == 0);
  CHECK(b->clint && b->plic && b->uart && !b->blk);
}

static uint64_t rd(wb_board *b, uint64_t pa, unsigned size) {
  uint64_t v = 0xdeadbeef;
  CHECK(wb_board_read(b, pa, size, &v) == 0);
  return v;
}
static void wr(wb_board *b, uint64_t pa, unsigned size, uint64_t v) { CHECK(wb_board_write(b, pa, size, v) == 0); }
static uint64_t mip(wb_board *b, int hart) { return __atomic_load_n(&b->mip[hart], __ATOMIC_ACQUIRE); }

/* ---- the board ---- */

static uint64_t dummy_read(void *s, uint64_t off, unsigned size) { return 0xffffffffffffffffull; }
static void dummy_write(void *s, uint64_t off, uint64_t v, unsigned size) {}

static void test_map(void) {
  wb_board b;
  board_new(&b, 1);
  uint64_t v;
  /* nothing there: an access fault */
  CHECK(wb_board_read(&b, 0, 4, &v) == -1);
  CHECK(wb_board_read(&b, 0x00200000, 4, &v) == -1);
  CHECK(wb_board_write(&b, 0x30000000, 4, 1) == -1);
  CHECK(wb_board_read(&b, UINT64_MAX - 3, 4, &v) == -1);
  CHECK(wb_board_read(&b, DRAM, 4, &v) == -1);   /* RAM is the MMU's, not a device */
  /* every device answers where board.h says */
  CHECK(wb_board_find(&b, WB_VIRT_TEST_BASE) && wb_board_find(&b, WB_VIRT_CLINT_BASE + 0xbff8));
  CHECK(wb_board_find(&b, WB_VIRT_PLIC_BASE + WB_VIRT_PLIC_SIZE - 1));
  CHECK(!wb_board_find(&b, WB_VIRT_PLIC_BASE + WB_VIRT_PLIC_SIZE));
  CHECK(wb_board_find(&b, WB_VIRT_UART0_BASE + 7));
  for (int i = 0; i < WB_VIRT_VIRTIO_COUNT; i++)
    CHECK(wb_board_find(&b, WB_VIRT_VIRTIO_BASE + (uint64_t)i * WB_VIRT_VIRTIO_SIZE));
  CHECK(!wb_board_find(&b, WB_VIRT_VIRTIO_BASE + WB_VIRT_VIRTIO_COUNT * WB_VIRT_VIRTIO_SIZE));
  /* bad sizes and misaligned accesses */
  CHECK(wb_board_read(&b, WB_VIRT_UART0_BASE, 3, &v) == -1);
  CHECK(wb_board_read(&b, WB_VIRT_UART0_BASE, 0, &v) == -1);
  CHECK(wb_board_read(&b, WB_VIRT_CLINT_BASE + 0x4002, 4, &v) == -1);
  /* a device whose end is not 8-aligned: an access across its end is refused */
  wb_device odd = {.name = "odd", .base = 0x40000000, .size = 6, .read = dummy_read, .write = dummy_write};
  CHECK(wb_board_add(&b, &odd) == 0);
  CHECK(wb_board_read(&b, 0x40000004, 2, &v) == 0 && v == 0xffff);   /* masked to the size */
  CHECK(wb_board_read(&b, 0x40000004, 4, &v) == -1);
  CHECK(wb_board_write(&b, 0x40000000, 8, 0) == -1);
  /* overlaps and bad devices are refused */
  wb_device over = odd;
  over.base = 0x40000005;
  CHECK(wb_board_add(&b, &over) == -1);
  over.base = 0x3ffffffc;
  over.size = 8;
  CHECK(wb_board_add(&b, &over) == -1);
  over.base = WB_VIRT_PLIC_BASE + 0x100000;
  CHECK(wb_board_add(&b, &over) == -1);
  over.base = DRAM + 0x1000;
  CHECK(wb_board_add(&b, &over) == -1);   /* inside RAM */
  over.base = UINT64_MAX - 3;
  CHECK(wb_board_add(&b, &over) == -1);   /* wraps */
  over.base = 0x50000000;
  over.size = 0;
  CHECK(wb_board_add(&b, &over) == -1);
  /* until the table is full */
  int added = 0;
  for (uint64_t base = 0x60000000; wb_board_add(&b, &(wb_device){.name = "x", .base = base, .size = 0x1000,
                                                                   .read = dummy_read, .write = dummy_write}) == 0;
       base += 0x1000)
    added++;
  CHECK(b.ndevices == WB_BOARD_MAX_DEVICES && added > 0);
  /* DMA bounds */
  CHECK(wb_board_ram(&b, DRAM, RAM_SIZE) == ram);
  CHECK(wb_board_ram(&b, DRAM + RAM_SIZE - 1, 1) == ram + RAM_SIZE - 1);
  CHECK(wb_board_ram(&b, DRAM + RAM_SIZE - 1, 2) == NULL);
  CHECK(wb_board_ram(&b, DRAM + RAM_SIZE, 0) == NULL);
  CHECK(wb_board_ram(&b, DRAM - 1, 2) == NULL);
  CHECK(wb_board_ram(&b, DRAM + 16, UINT64_MAX) == NULL);
  CHECK(wb_board_ram(&b, UINT64_MAX, 1) == NULL);
  CHECK(wb_board_ram(&b, 0x1000, 16) == NULL);
  wb_board_fini(&b);
  CHECK(b.ndevices == 0);

  /* init refuses bad arguments with a message */
  wb_board_host h = {.ctx = &host_state, .now = f_now, .interrupt = f_interrupt, .wake_at = f_wake_at,
                     .console = f_console, .power = f_power, .ram_written = f_ram_written};
  char err[128] = "";
  CHECK(wb_board_init(&b, &h, 0, ram, RAM_SIZE, err, sizeof err) == -1 && err[0]);
  CHECK(wb_board_init(&b, &h, WB_BOARD_MAX_HARTS + 1, ram, RAM_SIZE, err, sizeof err) == -1);
  h.power = NULL;
  CHECK(wb_board_init(&b, &h, 1, ram, RAM_SIZE, err, sizeof err) == -1);
}

static void test_mip(void) {
  wb_board b;
  board_new(&b, 2);
  wb_board_set_mip(&b, 1, WB_MIP_SEIP, 1);
  CHECK(mip(&b, 1) == WB_MIP_SEIP && mip(&b, 0) == 0 && host_state.interrupts[1] == 1);
  wb_board_set_mip(&b, 1, WB_MIP_SEIP, 1);   /* no change: no notification */
  CHECK(host_state.interrupts[1] == 1);
  wb_board_set_mip(&b, 1, WB_MIP_MTIP | WB_MIP_SEIP, 1);
  CHECK(mip(&b, 1) == (WB_MIP_SEIP | WB_MIP_MTIP) && host_state.interrupts[1] == 2);
  wb_board_set_mip(&b, 1, WB_MIP_SEIP, 0);
  CHECK(mip(&b, 1) == WB_MIP_MTIP && host_state.interrupts[1] == 3);
  wb_board_set_mip(&b, 5, WB_MIP_SEIP, 1);   /* no such hart: ignored */
  wb_board_set_mip(&b, -1, WB_MIP_SEIP, 1);
  CHECK(host_state.interrupts[0] == 0);
  wb_board_fini(&b);
}

/* ---- CLINT ---- */

static void test_clint(void) {
  wb_board b;
  board_new(&b, 2);
  const uint64_t C = WB_VIRT_CLINT_BASE;
  host_state.now = 100;
  CHECK(rd(&b, C + 0xbff8, 8) == 100);
  CHECK(rd(&b, C + 0xbff8, 4) == 100 && rd(&b, C + 0xbffc, 4) == 0);
  host_state.now = 0x123456789ull;
  CHECK(rd(&b, C + 0xbffc, 4) == 1);
  host_state.now = 100;
  wr(&b, C + 0xbff8, 8, 5);   /* ignored */
  CHECK(rd(&b, C + 0xbff8, 8) == 100);
  /* reset: no timer */
  CHECK(rd(&b, C + 0x4000, 8) == UINT64_MAX && rd(&b, C + 0x4008, 8) == UINT64_MAX);
  wb_board_tick(&b);
  CHECK(host_state.wake == UINT64_MAX && mip(&b, 0) == 0);
  /* a deadline in the future: MTIP low, the machine told when to wake */
  wr(&b, C + 0x4000, 8, 150);
  CHECK(!(mip(&b, 0) & WB_MIP_MTIP) && host_state.wake == 150);
  host_state.now = 149;
  wb_board_tick(&b);
  CHECK(!(mip(&b, 0) & WB_MIP_MTIP) && host_state.wake == 150);
  host_state.now = 150;
  wb_board_tick(&b);
  CHECK((mip(&b, 0) & WB_MIP_MTIP) && host_state.interrupts[0] == 1 && host_state.wake == UINT64_MAX);
  CHECK(!(mip(&b, 1) & WB_MIP_MTIP));
  /* moving mtimecmp ahead lowers MTIP at once */
  wr(&b, C + 0x4000, 8, 1000);
  CHECK(!(mip(&b, 0) & WB_MIP_MTIP) && host_state.wake == 1000);
  /* a deadline already passed raises it at once */
  wr(&b, C + 0x4000, 8, 10);
  CHECK(mip(&b, 0) & WB_MIP_MTIP);
  /* the 32-bit halves */
  wr(&b, C + 0x4008 + 4, 4, 0);      /* hart 1: high half 0: mtimecmp = 0x00000000ffffffff */
  CHECK(rd(&b, C + 0x4008, 8) == 0xffffffffull && host_state.wake == 0xffffffffull);
  wr(&b, C + 0x4008, 4, 1200);       /* (mtime is 150) */
  CHECK(rd(&b, C + 0x4008, 8) == 1200 && rd(&b, C + 0x4008, 4) == 1200 && rd(&b, C + 0x400c, 4) == 0);
  CHECK(!(mip(&b, 1) & WB_MIP_MTIP) && host_state.wake == 1200);
  host_state.now = 2000;
  wb_board_tick(&b);
  CHECK(mip(&b, 1) & WB_MIP_MTIP);
  /* harts that do not exist: nothing there, nothing happens */
  CHECK(rd(&b, C + 0x4010, 8) == 0 && rd(&b, C + 0x8, 4) == 0);
  wr(&b, C + 0x4010, 8, 0);
  wr(&b, C + 0x8, 4, 1);
  /* msip: bit 0 only */
  wr(&b, C + 0x4, 4, 0xfffffffe);
  CHECK(rd(&b, C + 0x4, 4) == 0 && !(mip(&b, 1) & WB_MIP_MSIP));
  wr(&b, C + 0x4, 4, 1);
  CHECK(rd(&b, C + 0x4, 4) == 1 && (mip(&b, 1) & WB_MIP_MSIP) && !(mip(&b, 0) & WB_MIP_MSIP));
  wr(&b, C + 0x4, 4, 0);
  CHECK(!(mip(&b, 1) & WB_MIP_MSIP));
  wr(&b, C + 0x4, 1, 1);   /* not a 32-bit access: ignored */
  CHECK(!(mip(&b, 1) & WB_MIP_MSIP));
  wb_board_fini(&b);
}

/* ---- PLIC ---- */

#define P WB_VIRT_PLIC_BASE
static uint64_t prio_reg(int src) { return P + 4ull * src; }
static uint64_t enable_reg(int ctx, int word) { return P + 0x2000 + 0x80ull * ctx + 4ull * word; }
static uint64_t thresh_reg(int ctx) { return P + 0x200000 + 0x1000ull * ctx; }
static uint64_t claim_reg(int ctx) { return thresh_reg(ctx) + 4; }

static void test_plic(void) {
  wb_board b;
  board_new(&b, 2);
  /* priorities are WARL 0..7; source 0 has none */
  wr(&b, prio_reg(3), 4, 0xff);
  CHECK(rd(&b, prio_reg(3), 4) == 7);
  wr(&b, prio_reg(0), 4, 5);
  CHECK(rd(&b, prio_reg(0), 4) == 0);
  wr(&b, prio_reg(96), 4, 2);
  CHECK(rd(&b, prio_reg(96), 4) == 2);
  CHECK(rd(&b, prio_reg(97), 4) == 0);   /* past the last source */
  /* enable bit 0 (source 0) is hardwired to 0 */
  wr(&b, enable_reg(1, 0), 4, 0xffffffff);
  CHECK(rd(&b, enable_reg(1, 0), 4) == 0xfffffffe);
  wr(&b, enable_reg(1, 0), 4, 0);

  /* hart 0 S context (1): sources 1 and 10 at priority 3, source 5 at 7 */
  wr(&b, prio_reg(1), 4, 3);
  wr(&b, prio_reg(10), 4, 3);
  wr(&b, prio_reg(5), 4, 7);
  wr(&b, enable_reg(1, 0), 4, (1u << 1) | (1u << 10) | (1u << 5));
  wr(&b, thresh_reg(1), 4, 0);
  CHECK(rd(&b, thresh_reg(1), 4) == 0);
  wb_plic_set_irq(b.plic, 10, 1);
  CHECK((mip(&b, 0) & WB_MIP_SEIP) && !(mip(&b, 0) & WB_MIP_MEIP) && mip(&b, 1) == 0);
  CHECK(rd(&b, P + 0x1000, 4) == 1u << 10);
  /* a claim takes it: SEIP drops, pending clears */
  CHECK(rd(&b, claim_reg(1), 4) == 10);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP) && rd(&b, P + 0x1000, 4) == 0);
  CHECK(rd(&b, claim_reg(1), 4) == 0);   /* nothing more */
  /* completing with the line still high: pending again */
  wr(&b, claim_reg(1), 4, 10);
  CHECK((mip(&b, 0) & WB_MIP_SEIP) && rd(&b, P + 0x1000, 4) == 1u << 10);
  CHECK(rd(&b, claim_reg(1), 4) == 10);
  /* the line drops while in service; completion then leaves it idle */
  wb_plic_set_irq(b.plic, 10, 0);
  wr(&b, claim_reg(1), 4, 10);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP) && rd(&b, P + 0x1000, 4) == 0);
  /* a completion of a source not in service is ignored */
  wr(&b, claim_reg(1), 4, 10);
  wr(&b, claim_reg(1), 4, 0);
  wr(&b, claim_reg(1), 4, 12345);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));

  /* equal priorities: the lowest id first; a higher priority beats both */
  wb_plic_set_irq(b.plic, 10, 1);
  wb_plic_set_irq(b.plic, 1, 1);
  CHECK(rd(&b, claim_reg(1), 4) == 1);
  CHECK(mip(&b, 0) & WB_MIP_SEIP);   /* 10 is still pending */
  wb_plic_set_irq(b.plic, 5, 1);
  CHECK(rd(&b, claim_reg(1), 4) == 5);
  CHECK(rd(&b, claim_reg(1), 4) == 10);
  CHECK(rd(&b, claim_reg(1), 4) == 0);   /* 1, 5, 10 all in service */
  wb_plic_set_irq(b.plic, 1, 0);
  wb_plic_set_irq(b.plic, 5, 0);
  wb_plic_set_irq(b.plic, 10, 0);
  wr(&b, claim_reg(1), 4, 1);
  wr(&b, claim_reg(1), 4, 5);
  wr(&b, claim_reg(1), 4, 10);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));

  /* the threshold: only priorities above it interrupt (and are claimed) */
  wr(&b, thresh_reg(1), 4, 3);
  wb_plic_set_irq(b.plic, 10, 1);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP) && rd(&b, P + 0x1000, 4) == 1u << 10);
  CHECK(rd(&b, claim_reg(1), 4) == 0);
  wr(&b, thresh_reg(1), 4, 2);
  CHECK(mip(&b, 0) & WB_MIP_SEIP);
  wr(&b, prio_reg(10), 4, 0);   /* priority 0: never */
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  wr(&b, prio_reg(10), 4, 3);
  CHECK(mip(&b, 0) & WB_MIP_SEIP);
  /* disabling it lowers SEIP */
  wr(&b, enable_reg(1, 0), 4, 0);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));

  /* the M context of hart 1 (context 2) drives hart 1's MEIP; a source in word 2 */
  wr(&b, prio_reg(70), 4, 1);
  wr(&b, enable_reg(2, 2), 4, 1u << (70 - 64));
  wb_plic_set_irq(b.plic, 70, 1);
  CHECK((mip(&b, 1) & WB_MIP_MEIP) && !(mip(&b, 1) & WB_MIP_SEIP) && !(mip(&b, 0) & WB_MIP_MEIP));
  CHECK(rd(&b, P + 0x1008, 4) == 1u << 6);
  CHECK(rd(&b, claim_reg(3), 4) == 0);   /* hart 1's S context has it not enabled */
  CHECK(rd(&b, claim_reg(2), 4) == 70);
  CHECK(!(mip(&b, 1) & WB_MIP_MEIP));
  /* contexts of harts that do not exist read 0 */
  CHECK(rd(&b, claim_reg(4), 4) == 0 && rd(&b, enable_reg(4, 0), 4) == 0);
  /* lines out of range are ignored */
  wb_plic_set_irq(b.plic, 0, 1);
  wb_plic_set_irq(b.plic, 97, 1);
  wb_plic_set_irq(b.plic, -3, 1);
  /* pending is read-only */
  CHECK(rd(&b, P + 0x1000, 4) == 1u << 10);   /* (10's line is still high) */
  wr(&b, P + 0x1000, 4, 0xffffffff);
  CHECK(rd(&b, P + 0x1000, 4) == 1u << 10);
  wb_board_fini(&b);
}

/* ---- UART ---- */

#define U WB_VIRT_UART0_BASE
enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
static uint8_t u_in(wb_board *b, int reg) { return (uint8_t)rd(b, U + reg, 1); }
static void u_out(wb_board *b, int reg, uint8_t v) { wr(b, U + reg, 1, v); }

static void route_uart_to_s(wb_board *b) {
  wr(b, prio_reg(WB_VIRT_UART0_IRQ), 4, 1);
  wr(b, enable_reg(1, 0), 4, 1u << WB_VIRT_UART0_IRQ);
}

static void test_uart(void) {
  wb_board b;
  board_new(&b, 1);
  route_uart_to_s(&b);
  /* reset state */
  CHECK(u_in(&b, IER) == 0 && u_in(&b, IIR) == 0x01 && u_in(&b, LSR) == 0x60);
  CHECK(u_in(&b, MSR) == 0xb0);
  /* transmit reaches the console at once */
  u_out(&b, RBR, 'h');
  u_out(&b, RBR, 'i');
  CHECK(host_state.ncon == 2 && memcmp(host_state.console, "hi", 2) == 0);
  CHECK(u_in(&b, LSR) & 0x60);
  /* receive: DR, then an interrupt once enabled */
  CHECK(wb_uart_input(b.uart, (const uint8_t *)"abc", 3) == 3);
  CHECK(u_in(&b, LSR) & 0x01);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP) && u_in(&b, IIR) == 0x01);
  u_out(&b, IER, 0x01);
  CHECK((mip(&b, 0) & WB_MIP_SEIP) && u_in(&b, IIR) == 0x04);
  CHECK(rd(&b, claim_reg(1), 4) == WB_VIRT_UART0_IRQ);
  CHECK(u_in(&b, RBR) == 'a' && u_in(&b, RBR) == 'b' && u_in(&b, RBR) == 'c');
  CHECK(!(u_in(&b, LSR) & 0x01) && u_in(&b, IIR) == 0x01);
  CHECK(u_in(&b, RBR) == 0);   /* empty */
  wr(&b, claim_reg(1), 4, WB_VIRT_UART0_IRQ);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  /* THRE interrupt: raised when enabled (the transmitter is empty), cleared by reading IIR,
   * raised again by the next transmitted byte */
  u_out(&b, IER, 0x02);
  CHECK(mip(&b, 0) & WB_MIP_SEIP);
  CHECK(rd(&b, claim_reg(1), 4) == WB_VIRT_UART0_IRQ);   /* as a handler does: claim, then IIR */
  CHECK(u_in(&b, IIR) == 0x02 && u_in(&b, IIR) == 0x01);
  wr(&b, claim_reg(1), 4, WB_VIRT_UART0_IRQ);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  u_out(&b, RBR, '!');
  CHECK(mip(&b, 0) & WB_MIP_SEIP);
  CHECK(u_in(&b, IIR) == 0x02);
  /* received data outranks THRE */
  u_out(&b, IER, 0);
  u_out(&b, IER, 0x03);   /* THRI's rising edge: the (empty) transmitter interrupts again */
  wb_uart_input(b.uart, (const uint8_t *)"x", 1);
  CHECK(u_in(&b, IIR) == 0x04);
  CHECK(u_in(&b, RBR) == 'x');
  CHECK(u_in(&b, IIR) == 0x02);
  u_out(&b, IER, 0);
  CHECK(u_in(&b, IIR) == 0x01);
  rd(&b, claim_reg(1), 4);
  wr(&b, claim_reg(1), 4, WB_VIRT_UART0_IRQ);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  /* the divisor latch behind DLAB, the scratch register */
  u_out(&b, LCR, 0x83);
  u_out(&b, RBR, 0x01);
  u_out(&b, IER, 0x02);
  CHECK(u_in(&b, RBR) == 0x01 && u_in(&b, IER) == 0x02);
  u_out(&b, LCR, 0x03);
  CHECK(u_in(&b, LCR) == 0x03 && u_in(&b, IER) == 0x00);
  CHECK(host_state.ncon == 3);   /* the divisor write transmitted nothing */
  u_out(&b, SCR, 0x5a);
  CHECK(u_in(&b, SCR) == 0x5a);
  /* the input queue is bounded */
  uint8_t many[5000];
  memset(many, 'z', sizeof many);
  CHECK(wb_uart_input(b.uart, many, sizeof many) == 4096);
  CHECK(wb_uart_input(b.uart, many, 1) == 0);
  u_out(&b, FCR, 0x07);   /* FIFO on, both cleared */
  CHECK(!(u_in(&b, LSR) & 0x01));
  /* with the FIFO on: below the trigger level a timeout, at it "data available" */
  u_out(&b, FCR, 0x81);   /* trigger at 8 */
  u_out(&b, IER, 0x01);
  wb_uart_input(b.uart, many, 3);
  CHECK(u_in(&b, IIR) == 0xcc);
  wb_uart_input(b.uart, many, 5);
  CHECK(u_in(&b, IIR) == 0xc4);
  u_out(&b, FCR, 0x00);   /* FIFO off: emptied */
  CHECK(u_in(&b, IIR) == 0x01 && !(u_in(&b, LSR) & 0x01));
  u_out(&b, IER, 0);
  wb_board_fini(&b);
}

/* The probe of Linux's 8250 driver (drivers/tty/serial/8250/8250_port.c: autoconfig,
 * autoconfig_16550a, serial8250_do_startup), step by step: it must end in "16550A". */
static void test_uart_8250_probe(void) {
  wb_board b;
  board_new(&b, 1);
  /* IER test */
  uint8_t scratch = u_in(&b, IER);
  u_out(&b, IER, 0);
  uint8_t scratch2 = u_in(&b, IER) & 0x0f;
  u_out(&b, IER, 0x0f);
  uint8_t scratch3 = u_in(&b, IER) & 0x0f;
  u_out(&b, IER, scratch);
  CHECK(scratch2 == 0 && scratch3 == 0x0f);
  /* LOOP test */
  uint8_t save_mcr = u_in(&b, MCR), save_lcr = u_in(&b, LCR);
  u_out(&b, MCR, 0x10 | 0x0a);
  uint8_t status1 = u_in(&b, MSR) & 0xf0;
  u_out(&b, MCR, save_mcr);
  CHECK(status1 == 0x90);
  /* FIFO detection: EFR cleared through LCR 0xbf, then the FIFO enabled */
  u_out(&b, LCR, 0xbf);
  u_out(&b, 2, 0);   /* EFR (FCR here) */
  u_out(&b, LCR, 0);
  u_out(&b, FCR, 0x01);
  CHECK((u_in(&b, IIR) >> 6) == 3);   /* 16550A family */
  /* autoconfig_16550a: no EFR behind LCR 0x80 nor 0xbf (reads must be non-zero) */
  u_out(&b, LCR, 0x80);
  CHECK(u_in(&b, 2) != 0);
  u_out(&b, LCR, 0xbf);
  CHECK(u_in(&b, 2) != 0);
  /* not a 16750: IIR bit 5 never follows FCR bit 5 */
  u_out(&b, LCR, 0);
  u_out(&b, FCR, 0x01 | 0x20);
  uint8_t s1 = u_in(&b, IIR) >> 5;
  u_out(&b, FCR, 0x01);
  u_out(&b, LCR, 0x80);
  u_out(&b, FCR, 0x01 | 0x20);
  uint8_t s2 = u_in(&b, IIR) >> 5;
  u_out(&b, FCR, 0x01);
  u_out(&b, LCR, 0);
  CHECK(!(s1 == 6 && s2 == 7) && s1 == 6);
  /* no UUE bit (not an XScale UART) */
  uint8_t iersave = u_in(&b, IER);
  u_out(&b, IER, iersave | 0x40);
  CHECK(!(u_in(&b, IER) & 0x40));
  u_out(&b, IER, iersave);
  u_out(&b, LCR, save_lcr);
  u_out(&b, FCR, 0x07);
  u_out(&b, FCR, 0);
  (void)u_in(&b, RBR);
  /* startup: the LSR safety check and the THRE re-assertion test (no UART_BUG_THRE) */
  CHECK(u_in(&b, LSR) != 0xff);
  u_out(&b, IER, 0x02);
  uint8_t iir1 = u_in(&b, IIR);
  u_out(&b, IER, 0);
  u_out(&b, IER, 0x02);
  uint8_t iir = u_in(&b, IIR);
  u_out(&b, IER, 0);
  CHECK(!(iir1 & 0x01) && !(iir & 0x01));
  /* loopback: a transmitted byte comes back, the console sees nothing */
  u_out(&b, MCR, 0x10);
  u_out(&b, RBR, 'L');
  CHECK(host_state.ncon == 0 && (u_in(&b, LSR) & 0x01) && u_in(&b, RBR) == 'L');
  u_out(&b, MCR, 0);
  wb_board_fini(&b);
}

/* ---- test device ---- */

static void test_power(void) {
  wb_board b;
  board_new(&b, 1);
  const uint64_t T = WB_VIRT_TEST_BASE;
  CHECK(rd(&b, T, 4) == 0);
  wr(&b, T, 4, 0x1234);
  wr(&b, T + 4, 4, 0x5555);
  CHECK(host_state.powers == 0);
  wr(&b, T, 4, 0x5555);
  CHECK(host_state.powers == 1 && host_state.reboot == 0 && host_state.code == 0);
  wr(&b, T, 4, 0x3333 | (7u << 16));
  CHECK(host_state.powers == 2 && host_state.reboot == 0 && host_state.code == 7);
  wr(&b, T, 4, 0x7777);
  CHECK(host_state.powers == 3 && host_state.reboot == 1);
  wr(&b, T, 2, 0x5555);
  CHECK(host_state.powers == 4 && host_state.reboot == 0 && host_state.code == 0);
  wr(&b, T, 1, 0x55);
  CHECK(host_state.powers == 4);
  wb_board_fini(&b);
}

/* ---- virtio-blk ---- */

#define V WB_VIRT_VIRTIO_BASE
#define DISK_SECTORS 128
/* where the driver side keeps things in RAM (offsets from DRAM) */
#define Q_DESC   0x10000u
#define Q_AVAIL  0x11000u
#define Q_USED   0x12000u
#define BUF_HDR  0x20000u
#define BUF_DATA 0x21000u
#define BUF_ST   0x30000u
#define QNUM     8u

static void put16(uint64_t off, uint16_t v) { ram[off] = (uint8_t)v; ram[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint64_t off, uint32_t v) { for (int i = 0; i < 4; i++) ram[off + i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint64_t off, uint64_t v) { for (int i = 0; i < 8; i++) ram[off + i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(uint64_t off) { return (uint16_t)(ram[off] | ram[off + 1] << 8); }
static uint32_t get32(uint64_t off) { return (uint32_t)ram[off] | (uint32_t)ram[off + 1] << 8 | (uint32_t)ram[off + 2] << 16 | (uint32_t)ram[off + 3] << 24; }

static void set_desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
  uint64_t d = Q_DESC + 16ull * i;
  put64(d, addr);
  put32(d + 8, len);
  put16(d + 12, flags);
  put16(d + 14, next);
}

static uint16_t avail_idx;

/* Make head available and notify; returns the used entry's len (checks the id). */
static uint32_t submit(wb_board *b, uint16_t head) {
  uint16_t used_before = get16(Q_USED + 2);
  put16(Q_AVAIL + 4 + 2 * (avail_idx % QNUM), head);
  avail_idx++;
  put16(Q_AVAIL + 2, avail_idx);
  wr(b, V + 0x050, 4, 0);
  CHECK(get16(Q_USED + 2) == (uint16_t)(used_before + 1));
  uint64_t e = Q_USED + 4 + 8ull * (used_before % QNUM);
  CHECK(get32(e) == head);
  return get32(e + 4);
}

/* A three-descriptor request: header, data (len bytes at BUF_DATA), status. */
static uint32_t request(wb_board *b, uint32_t type, uint64_t sector, uint32_t len, int data_write) {
  put32(BUF_HDR, type);
  put32(BUF_HDR + 4, 0);
  put64(BUF_HDR + 8, sector);
  ram[BUF_ST] = 0xaa;
  set_desc(0, DRAM + BUF_HDR, 16, 1, 1);
  set_desc(1, DRAM + BUF_DATA, len, 1 | (data_write ? 2 : 0), 2);
  set_desc(2, DRAM + BUF_ST, 1, 2, 0);
  return submit(b, 0);
}

/* The driver's side of initialisation (the virtio spec's "Device Initialization", as
 * Linux's virtio_mmio does it); returns the device features. */
static uint64_t driver_init(wb_board *b) {
  wr(b, V + 0x070, 4, 0);
  CHECK(rd(b, V + 0x070, 4) == 0);
  wr(b, V + 0x070, 4, 1);
  wr(b, V + 0x070, 4, 3);
  wr(b, V + 0x014, 4, 1);
  uint64_t f = rd(b, V + 0x010, 4) << 32;
  wr(b, V + 0x014, 4, 0);
  f |= rd(b, V + 0x010, 4);
  uint64_t want = f & ((1ull << 32) | (1ull << 2) | (1ull << 6) | (1ull << 9) | (1ull << 5));
  wr(b, V + 0x024, 4, 1);
  wr(b, V + 0x020, 4, (uint32_t)(want >> 32));
  wr(b, V + 0x024, 4, 0);
  wr(b, V + 0x020, 4, (uint32_t)want);
  wr(b, V + 0x070, 4, 0xb);
  CHECK(rd(b, V + 0x070, 4) == 0xb);
  wr(b, V + 0x030, 4, 0);
  CHECK(rd(b, V + 0x044, 4) == 0);
  CHECK(rd(b, V + 0x034, 4) == 256);
  wr(b, V + 0x038, 4, QNUM);
  memset(ram + Q_DESC, 0, 0x3000);
  wr(b, V + 0x080, 4, (uint32_t)(DRAM + Q_DESC));
  wr(b, V + 0x084, 4, (uint32_t)((DRAM + Q_DESC) >> 32));
  wr(b, V + 0x090, 4, (uint32_t)(DRAM + Q_AVAIL));
  wr(b, V + 0x094, 4, (uint32_t)((DRAM + Q_AVAIL) >> 32));
  wr(b, V + 0x0a0, 4, (uint32_t)(DRAM + Q_USED));
  wr(b, V + 0x0a4, 4, (uint32_t)((DRAM + Q_USED) >> 32));
  wr(b, V + 0x044, 4, 1);
  CHECK(rd(b, V + 0x044, 4) == 1);
  wr(b, V + 0x070, 4, 0xf);
  avail_idx = 0;
  return f;
}

static void disk_file(char *path, size_t n) {
  snprintf(path, n, "/tmp/test_board_disk_XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  uint8_t sector[512];
  for (int s = 0; s < DISK_SECTORS; s++) {
    for (int i = 0; i < 512; i++) sector[i] = (uint8_t)(s * 7 + i);
    CHECK(write(fd, sector, 512) == 512);
  }
  close(fd);
}

static void test_virtio_blk(void) {
  wb_board b;
  char err[256] = "";
  char path[64];
  disk_file(path, sizeof path);
  board_new(&b, 1);
  /* the empty slots: magic, version 2, device id 0 */
  for (int i = 0; i < WB_VIRT_VIRTIO_COUNT; i++) {
    uint64_t s = V + (uint64_t)i * WB_VIRT_VIRTIO_SIZE;
    CHECK(rd(&b, s, 4) == 0x74726976 && rd(&b, s + 4, 4) == 2 && rd(&b, s + 8, 4) == 0);
    CHECK(rd(&b, s + 0xc, 4) == 0x554d4551 && rd(&b, s + 0x34, 4) == 0);
    wr(&b, s + 0x70, 4, 0xf);
  }
  /* a missing file: a clear error, no disk */
  CHECK(wb_virtio_blk_init(&b, "/nonexistent/disk.img", 0, err, sizeof err) == -1);
  CHECK(strstr(err, "/nonexistent/disk.img") && strstr(err, "No such file") && !b.blk);
  CHECK(wb_virtio_blk_init(&b, "/tmp", 0, err, sizeof err) == -1);   /* a directory */
  CHECK(wb_virtio_blk_init(&b, path, 0, err, sizeof err) == 0 && b.blk);
  CHECK(wb_virtio_blk_init(&b, path, 0, err, sizeof err) == -1);     /* only one */
  CHECK(rd(&b, V + 8, 4) == 2 && rd(&b, V + 0x1008, 4) == 0);
  /* its interrupt, routed to hart 0's S context */
  wr(&b, prio_reg(1), 4, 1);
  wr(&b, enable_reg(1, 0), 4, 1u << 1);

  uint64_t f = driver_init(&b);
  CHECK((f & (1ull << 32)) && (f & (1ull << 2)) && !(f & (1ull << 5)));
  /* config: capacity, seg_max, blk_size, with any access size */
  CHECK(rd(&b, V + 0x100, 8) == DISK_SECTORS && rd(&b, V + 0x100, 4) == DISK_SECTORS);
  CHECK(rd(&b, V + 0x104, 4) == 0 && rd(&b, V + 0x100, 1) == DISK_SECTORS && rd(&b, V + 0x100, 2) == DISK_SECTORS);
  CHECK(rd(&b, V + 0x10c, 4) == 254 && rd(&b, V + 0x114, 4) == 512);
  CHECK(rd(&b, V + 0x0fc, 4) == 0 && rd(&b, V + 0xff8, 8) == 0);

  /* read sector 3: the data lands in RAM and is reported as written (code decoded from there
   * is stale), the status byte is not data */
  host_state.nwritten = 0;
  CHECK(request(&b, 0, 3, 512, 1) == 513);
  CHECK(ram[BUF_ST] == 0);
  CHECK(host_state.nwritten == 2 && host_state.written[0][0] == DRAM + BUF_DATA && host_state.written[0][1] == 512);
  CHECK(host_state.written[1][0] == DRAM + BUF_ST && host_state.written[1][1] == 1);   /* the status byte */
  for (int i = 0; i < 512; i++) CHECK(ram[BUF_DATA + i] == (uint8_t)(3 * 7 + i));
  CHECK(rd(&b, V + 0x060, 4) == 1 && (mip(&b, 0) & WB_MIP_SEIP));
  CHECK(rd(&b, claim_reg(1), 4) == 1);
  wr(&b, V + 0x064, 4, 1);
  CHECK(rd(&b, V + 0x060, 4) == 0);
  wr(&b, claim_reg(1), 4, 1);
  CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  /* write sectors 1 and 2 */
  for (int i = 0; i < 1024; i++) ram[BUF_DATA + i] = (uint8_t)(0xc3 ^ i);
  CHECK(request(&b, 1, 1, 1024, 0) == 1 && ram[BUF_ST] == 0);
  int fd = open(path, O_RDONLY);
  uint8_t back[1024];
  CHECK(pread(fd, back, 1024, 512) == 1024);
  for (int i = 0; i < 1024; i++) CHECK(back[i] == (uint8_t)(0xc3 ^ i));
  uint8_t s0[512];
  CHECK(pread(fd, s0, 512, 0) == 512 && s0[5] == 5);   /* sector 0 untouched */
  /* a read split over three data descriptors */
  put32(BUF_HDR, 0);
  put64(BUF_HDR + 8, 1);
  set_desc(0, DRAM + BUF_HDR, 16, 1, 1);
  set_desc(1, DRAM + BUF_DATA, 100, 3, 2);
  set_desc(2, DRAM + BUF_DATA + 0x1000, 400, 3, 3);
  set_desc(3, DRAM + BUF_DATA + 0x2000, 12 + 1, 2, 0);   /* 12 data bytes and the status */
  host_state.nwritten = 0;
  CHECK(submit(&b, 0) == 513 && ram[BUF_DATA + 0x2000 + 12] == 0);
  CHECK(host_state.nwritten == 3 && host_state.written[1][0] == DRAM + BUF_DATA + 0x1000 &&
        host_state.written[1][1] == 400 && host_state.written[2][1] == 13);   /* 12 data bytes + status */
  CHECK(ram[BUF_DATA] == back[0] && ram[BUF_DATA + 99] == back[99]);
  CHECK(ram[BUF_DATA + 0x1000] == back[100] && ram[BUF_DATA + 0x2000 + 11] == back[511]);
  /* flush, get-id, an unknown type */
  CHECK(request(&b, 4, 0, 0, 0) == 1 && ram[BUF_ST] == 0);
  memset(ram + BUF_DATA, 0xff, 32);
  CHECK(request(&b, 8, 0, 20, 1) == 21 && ram[BUF_ST] == 0 && memcmp(ram + BUF_DATA, "workbench", 10) == 0);
  CHECK(request(&b, 99, 0, 16, 1) == 1 && ram[BUF_ST] == 2);

  /* hostile requests: each ends in an error status, nothing outside RAM is touched */
  CHECK(request(&b, 0, DISK_SECTORS, 512, 1) == 1 && ram[BUF_ST] == 1);        /* past the end */
  CHECK(request(&b, 0, DISK_SECTORS - 1, 1024, 1) == 1 && ram[BUF_ST] == 1);   /* across it */
  CHECK(request(&b, 0, UINT64_MAX, 512, 1) == 1 && ram[BUF_ST] == 1);          /* overflow */
  CHECK(request(&b, 0, 0, 100, 1) == 1 && ram[BUF_ST] == 1);                   /* partial sector */
  CHECK(request(&b, 0, 0, 0xfffffe00u, 1) == 1 && ram[BUF_ST] == 1);           /* huge length */
  set_desc(1, 0x1000, 512, 3, 2);                                               /* data outside RAM */
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  set_desc(1, DRAM + RAM_SIZE - 256, 512, 3, 2);                                /* data across RAM's end */
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  put32(BUF_HDR, 1);                                                            /* a write from RAM's last */
  put64(BUF_HDR + 8, 5);                                                        /* bytes to sector 5: fine */
  set_desc(1, DRAM + RAM_SIZE - 512, 512, 1, 2);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 0);
  /* a descriptor loop: 0 -> 1 -> 2 -> 1 -> ...; the error goes to the last byte of the last
   * writable descriptor read before giving up (QNUM of them: descriptor 1's buffer here) */
  put32(BUF_HDR, 0);
  set_desc(0, DRAM + BUF_HDR, 16, 1, 1);
  set_desc(1, DRAM + BUF_DATA, 512, 3, 2);
  set_desc(2, DRAM + BUF_ST, 1, 3, 1);
  ram[BUF_DATA + 511] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_DATA + 511] == 1);
  /* a self loop of one writable descriptor */
  set_desc(5, DRAM + BUF_ST, 1, 3, 5);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 5) == 1 && ram[BUF_ST] == 1);
  /* next out of the table, indirect (not offered), readable after writable, short header */
  set_desc(0, DRAM + BUF_HDR, 16, 1, 1);
  set_desc(1, DRAM + BUF_ST, 1, 3, 200);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  set_desc(1, DRAM + BUF_ST, 1, 3, 2);
  set_desc(2, DRAM + BUF_DATA, 512, 2 | 4, 0);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  set_desc(0, DRAM + BUF_ST, 1, 3, 1);
  set_desc(1, DRAM + BUF_HDR, 16, 1, 0);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  set_desc(0, DRAM + BUF_HDR, 8, 1, 2);
  set_desc(2, DRAM + BUF_ST, 1, 2, 0);
  ram[BUF_ST] = 0xaa;
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 1);
  /* a header split in two descriptors is fine */
  put32(BUF_HDR, 4);
  ram[BUF_ST] = 0xaa;
  set_desc(0, DRAM + BUF_HDR, 8, 1, 1);
  set_desc(1, DRAM + BUF_HDR + 8, 8, 1, 2);
  set_desc(2, DRAM + BUF_ST, 1, 2, 0);
  CHECK(submit(&b, 0) == 1 && ram[BUF_ST] == 0);
  /* a status descriptor outside RAM: nothing written anywhere */
  set_desc(0, DRAM + BUF_HDR, 16, 1, 2);
  set_desc(2, 0x2000, 1, 2, 0);
  CHECK(submit(&b, 0) == 0);
  /* a zero-length status descriptor */
  set_desc(2, DRAM + BUF_ST, 0, 2, 0);
  CHECK(submit(&b, 0) == 0);

  /* broken rings: the device stops (DEVICE_NEEDS_RESET) instead of guessing */
  put16(Q_AVAIL + 4 + 2 * (avail_idx % QNUM), 9);   /* head out of the table */
  avail_idx++;
  put16(Q_AVAIL + 2, avail_idx);
  wr(&b, V + 0x050, 4, 0);
  CHECK(rd(&b, V + 0x070, 4) & 0x40);
  CHECK(rd(&b, V + 0x060, 4) & 2);   /* a configuration change interrupt */
  uint16_t used_now = get16(Q_USED + 2);
  put16(Q_AVAIL + 2, avail_idx + 1);
  wr(&b, V + 0x050, 4, 0);
  CHECK(get16(Q_USED + 2) == used_now);   /* ignored until reset */
  /* after a reset it works again */
  driver_init(&b);
  CHECK(!(rd(&b, V + 0x070, 4) & 0x40) && rd(&b, V + 0x060, 4) == 0);
  CHECK(request(&b, 0, 0, 512, 1) == 513 && ram[BUF_ST] == 0 && ram[BUF_DATA + 5] == 5);
  /* the available index running more than a queue ahead */
  put16(Q_AVAIL + 2, avail_idx + QNUM + 1);
  wr(&b, V + 0x050, 4, 0);
  CHECK(rd(&b, V + 0x070, 4) & 0x40);
  /* rings outside RAM */
  driver_init(&b);
  wr(&b, V + 0x044, 4, 0);
  CHECK(rd(&b, V + 0x044, 4) == 0);
  wr(&b, V + 0x090, 4, 0xfffff000u);
  wr(&b, V + 0x094, 4, 0xffffffffu);
  wr(&b, V + 0x044, 4, 1);
  wr(&b, V + 0x050, 4, 0);
  CHECK(rd(&b, V + 0x070, 4) & 0x40);
  /* feature negotiation: a feature not offered, or no VERSION_1, keeps FEATURES_OK clear */
  wr(&b, V + 0x070, 4, 0);
  wr(&b, V + 0x070, 4, 3);
  wr(&b, V + 0x024, 4, 0);
  wr(&b, V + 0x020, 4, 1u << 28);   /* INDIRECT_DESC: not offered */
  wr(&b, V + 0x024, 4, 1);
  wr(&b, V + 0x020, 4, 1);
  wr(&b, V + 0x070, 4, 0xb);
  CHECK(!(rd(&b, V + 0x070, 4) & 8));
  wr(&b, V + 0x070, 4, 0);
  wr(&b, V + 0x070, 4, 3);
  wr(&b, V + 0x024, 4, 1);
  wr(&b, V + 0x020, 4, 0);
  wr(&b, V + 0x070, 4, 0xb);
  CHECK(!(rd(&b, V + 0x070, 4) & 8));
  /* queue size must be a power of two up to 256; a queue without one never gets ready */
  wr(&b, V + 0x070, 4, 0);
  wr(&b, V + 0x038, 4, 300);
  wr(&b, V + 0x044, 4, 1);
  CHECK(rd(&b, V + 0x044, 4) == 0);
  wr(&b, V + 0x038, 4, 6);
  wr(&b, V + 0x044, 4, 1);
  CHECK(rd(&b, V + 0x044, 4) == 0);
  /* other queues do not exist */
  wr(&b, V + 0x030, 4, 1);
  CHECK(rd(&b, V + 0x034, 4) == 0);
  wb_board_fini(&b);
  close(fd);

  /* read-only: RO offered, writes refused, the file unchanged */
  board_new(&b, 1);
  CHECK(wb_virtio_blk_init(&b, path, 1, err, sizeof err) == 0);
  f = driver_init(&b);
  CHECK(f & (1ull << 5));
  memset(ram + BUF_DATA, 0x11, 512);
  CHECK(request(&b, 1, 0, 512, 0) == 1 && ram[BUF_ST] == 1);
  CHECK(request(&b, 0, 0, 512, 1) == 513 && ram[BUF_ST] == 0 && ram[BUF_DATA + 5] == 5);
  CHECK(request(&b, 4, 0, 0, 0) == 1 && ram[BUF_ST] == 0);
  wb_board_fini(&b);
  unlink(path);
}

/* ---- fuzz: any value to any register, any bytes in the rings ---- */

static uint64_t rng = 0x1234567;
static uint64_t rnd(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void test_fuzz(void) {
  wb_board b;
  char err[256], path[64];
  disk_file(path, sizeof path);
  board_new(&b, 2);
  CHECK(wb_virtio_blk_init(&b, path, 0, err, sizeof err) == 0);
  static const struct { uint64_t base, size; } regions[] = {
      {WB_VIRT_TEST_BASE, WB_VIRT_TEST_SIZE}, {WB_VIRT_CLINT_BASE, WB_VIRT_CLINT_SIZE},
      {WB_VIRT_PLIC_BASE, 0x3000}, {WB_VIRT_PLIC_BASE + 0x200000, 0x5000},
      {WB_VIRT_UART0_BASE, 8}, {V, 0x200}, {V + 0x1000, 0x200},
  };
  for (int it = 0; it < 300000; it++) {
    uint64_t r = rnd();
    int reg = (int)(r % (sizeof regions / sizeof regions[0]));
    unsigned size = 1u << ((r >> 8) & 3);
    uint64_t off = (rnd() % regions[reg].size) & ~(uint64_t)(size - 1);
    uint64_t v = rnd();
    if ((r >> 16) & 1) v &= 0xffff;   /* small values reach the interesting cases more often */
    if (regions[reg].base == WB_VIRT_TEST_BASE) continue;   /* power events are tested above */
    if (regions[reg].base == V && off == 0x70 && (r >> 20) % 4) v = 0xf;   /* mostly running */
    uint64_t x;
    if ((r >> 10) & 1) CHECK(wb_board_write(&b, regions[reg].base + off, size, v) == 0);
    else CHECK(wb_board_read(&b, regions[reg].base + off, size, &x) == 0);
    /* the queue's memory: point the rings somewhere, scribble on descriptors */
    if (it % 64 == 0) {
      wr(&b, V + 0x080, 4, (uint32_t)(DRAM + Q_DESC + (rnd() % 64) * 16));
      wr(&b, V + 0x084, 4, (rnd() % 16) == 0 ? (uint32_t)rnd() : 0);
      wr(&b, V + 0x090, 4, (uint32_t)(DRAM + Q_AVAIL));
      wr(&b, V + 0x0a0, 4, (uint32_t)(DRAM + Q_USED + (rnd() % 2) * (RAM_SIZE - 0x12000 - 32)));
      for (int k = 0; k < 64; k++) {
        uint64_t o = Q_DESC + rnd() % 0x3000;
        ram[o] = (uint8_t)rnd();
      }
      /* descriptors mostly pointing into RAM, with plausible lengths */
      for (int i = 0; i < 16; i++)
        if (rnd() % 2)
          set_desc(i, DRAM + rnd() % RAM_SIZE, (uint32_t)(rnd() % 3 ? rnd() % 4096 : rnd()),
                   (uint16_t)(rnd() % 8), (uint16_t)(rnd() % 20));
      wb_uart_input(b.uart, (const uint8_t *)"fuzz", 4);
      host_state.now += rnd() % 1000;
      wb_board_tick(&b);
    }
  }
  /* plausible MMIO values never powered the board off (the test device was skipped) */
  CHECK(host_state.powers == 0);

  /* requests: a working queue, random chains of plausible and hostile descriptors */
  int served = 0, resets = 0;
  driver_init(&b);
  for (int it = 0; it < 20000; it++) {
    for (int i = 0; i < (int)QNUM; i++) {
      uint64_t r = rnd();
      uint64_t addr = DRAM + 0x40000 + (rnd() % 64) * 0x1000 + (r % 4 ? 0 : rnd() % 0x1000);
      if (r % 23 == 0) addr = rnd();                                  /* anywhere */
      if (r % 29 == 0) addr = DRAM + RAM_SIZE - (rnd() % 1024);         /* across RAM's end */
      uint32_t len = (uint32_t)(r % 5 == 0 ? rnd() : (r % 3 == 0 ? 16 : 512 * (rnd() % 5)) + (r % 7 == 0));
      uint16_t flags = (uint16_t)((rnd() % 4 ? 1 : 0) | (rnd() % 2 ? 2 : 0) | (rnd() % 50 ? 0 : 4));
      set_desc(i, addr, len, flags, (uint16_t)(rnd() % (QNUM + 2)));
      /* a header there: a known type mostly, a sector near the disk's end sometimes */
      uint8_t *h = wb_board_ram(&b, addr, 16);
      if (h && (r >> 8) % 2) {
        uint32_t types[] = {0, 1, 4, 8, (uint32_t)rnd()};
        uint32_t t = types[rnd() % 5];
        uint64_t sector = rnd() % 4 ? rnd() % DISK_SECTORS : rnd();
        memcpy(h, &t, 4);
        memcpy(h + 8, &sector, 8);
      }
    }
    uint16_t used_before = get16(Q_USED + 2);
    int n = 1 + (int)(rnd() % 3);
    for (int k = 0; k < n; k++) {
      put16(Q_AVAIL + 4 + 2 * (avail_idx % QNUM), (uint16_t)(rnd() % 64 ? rnd() % QNUM : QNUM + 1));
      avail_idx++;
    }
    put16(Q_AVAIL + 2, avail_idx);
    wr(&b, V + 0x050, 4, 0);
    if (rd(&b, V + 0x070, 4) & 0x40) {   /* a broken ring: reset, as a driver would */
      resets++;
      driver_init(&b);
    } else {
      CHECK(get16(Q_USED + 2) == (uint16_t)(used_before + n));
      served += n;
    }
    wr(&b, V + 0x064, 4, 3);
  }
  CHECK(served > 10000 && resets > 0);
  wb_board_fini(&b);
  unlink(path);
}

/* ---- the device tree blob ---- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(p, 1, n, f) == n);
  fclose(f);
}

static void test_fdt(void) {
  static uint8_t buf[65536];
  for (int harts = 1; harts <= 2; harts++) {
    wb_board b;
    board_new(&b, harts);
    size_t n = wb_fdt_build(&b, "console=ttyS0", DRAM + 0x4000000, DRAM + 0x4100000, buf, sizeof buf);
    CHECK(n > 100 && n < sizeof buf);
    CHECK(be32(buf) == 0xd00dfeed && be32(buf + 4) == n);
    CHECK(be32(buf + 16) == 40 && be32(buf + 20) == 17 && be32(buf + 24) == 16);
    uint32_t off_st = be32(buf + 8), off_str = be32(buf + 12), size_str = be32(buf + 32), size_st = be32(buf + 36);
    CHECK(off_st % 4 == 0 && be32(buf + 16) % 8 == 0 && size_st % 4 == 0);
    CHECK(off_st + size_st <= off_str && off_str + size_str == n);
    for (int i = 0; i < 16; i++) CHECK(buf[40 + i] == 0);   /* the empty reservation block */
    CHECK(be32(buf + off_st) == 1 && be32(buf + off_st + 4) == 0);   /* the root node, named "" */
    CHECK(be32(buf + off_st + size_st - 4) == 9);                     /* FDT_END */
    /* property names appear once each in the strings block */
    const char *s = (const char *)buf + off_str;
    for (uint32_t a = 0; a < size_str; a += (uint32_t)strlen(s + a) + 1)
      for (uint32_t c = a + (uint32_t)strlen(s + a) + 1; c < size_str; c += (uint32_t)strlen(s + c) + 1)
        CHECK(strcmp(s + a, s + c) != 0);
    /* one byte short: 0, and nothing written past cap */
    static uint8_t copy[65536];
    memset(copy, 0x5a, sizeof copy);
    CHECK(wb_fdt_build(&b, "console=ttyS0", DRAM + 0x4000000, DRAM + 0x4100000, copy, n - 1) == 0);
    for (size_t i = n - 1; i < sizeof copy; i++) CHECK(copy[i] == 0x5a);
    CHECK(wb_fdt_build(&b, "console=ttyS0", DRAM + 0x4000000, DRAM + 0x4100000, copy, n) == n);
    CHECK(memcmp(copy, buf, n) == 0);   /* deterministic */
    /* no bootargs and no initrd: smaller, no such properties */
    size_t m = wb_fdt_build(&b, "", 0, 0, copy, sizeof copy);
    CHECK(m > 0 && m < n && !memmem(copy, m, "bootargs", 8) && !memmem(copy, m, "initrd", 6));
    CHECK(wb_fdt_build(&b, NULL, 5, 5, copy, sizeof copy) == m);
    /* a huge command line does not fit, and is refused cleanly */
    static char big[200000];
    memset(big, 'a', sizeof big - 1);
    CHECK(wb_fdt_build(&b, big, 0, 0, buf, sizeof buf) == 0);
    wb_board_fini(&b);
  }
}

/* `test_board OUT.dtb HARTS RAM_MIB [BOOTARGS [INITRD_START INITRD_END]]`: after the tests,
 * write the device tree of such a board (its RAM is never touched: only its size matters). */
static void dump_fdt(int argc, char **argv) {
  static uint8_t buf[65536];
  int harts = atoi(argv[2]);
  uint64_t ram_size = strtoull(argv[3], NULL, 0) << 20;
  CHECK(harts >= 1 && harts <= WB_BOARD_MAX_HARTS && ram_size > 0);
  wb_board b;
  wb_board_host h = {.ctx = &host_state, .now = f_now, .interrupt = f_interrupt, .wake_at = f_wake_at,
                     .console = f_console, .power = f_power, .ram_written = f_ram_written};
  char err[256];
  CHECK(wb_board_init(&b, &h, harts, ram, ram_size, err, sizeof err) == 0);
  uint64_t start = argc > 6 ? strtoull(argv[5], NULL, 0) : 0, end = argc > 6 ? strtoull(argv[6], NULL, 0) : 0;
  size_t n = wb_fdt_build(&b, argc > 4 ? argv[4] : "", start, end, buf, sizeof buf);
  CHECK(n > 0);
  write_file(argv[1], buf, n);
  wb_board_fini(&b);
}

/* host.post of the fake host (host-clock mode): remembers the call the device's I/O thread
 * asks for; the test runs it, as the hart's thread would at its next look at the mailbox. */
static void (*posted_fn)(void *);
static void *posted_arg;
static int posted;
static void f_post(void *ctx, void (*fn)(void *), void *arg) {
  (void)ctx;
  posted_fn = fn;
  posted_arg = arg;
  __atomic_store_n(&posted, 1, __ATOMIC_RELEASE);
}

/* Host-clock mode: a notify only wakes the device's I/O thread, which moves the data and posts
 * the completion; until the hart's thread runs it, the driver sees nothing (used index, status
 * interrupt), and the RAM it wrote is reported before the used ring shows the request. */
static void test_virtio_blk_io_thread(void) {
  wb_board b;
  char err[256] = "";
  char path[64];
  disk_file(path, sizeof path);
  wb_board_host h = {.ctx = &host_state, .now = f_now, .interrupt = f_interrupt, .wake_at = f_wake_at,
                     .console = f_console, .power = f_power, .ram_written = f_ram_written, .post = f_post};
  memset(&host_state, 0, sizeof host_state);
  memset(ram, 0, RAM_SIZE);
  CHECK(wb_board_init(&b, &h, 1, ram, RAM_SIZE, err, sizeof err) == 0);
  CHECK(wb_virtio_blk_init(&b, path, 0, err, sizeof err) == 0);
  wr(&b, prio_reg(1), 4, 1);
  wr(&b, enable_reg(1, 0), 4, 1u << 1);
  driver_init(&b);
  for (int round = 0; round < 20; round++) {
    uint64_t sector = (uint64_t)round % DISK_SECTORS;
    put32(BUF_HDR, 0);
    put64(BUF_HDR + 8, sector);
    ram[BUF_ST] = 0xaa;
    set_desc(0, DRAM + BUF_HDR, 16, 1, 1);
    set_desc(1, DRAM + BUF_DATA, 512, 3, 2);
    set_desc(2, DRAM + BUF_ST, 1, 2, 0);
    uint16_t used_before = get16(Q_USED + 2);
    put16(Q_AVAIL + 4 + 2 * (avail_idx % QNUM), 0);
    avail_idx++;
    put16(Q_AVAIL + 2, avail_idx);
    host_state.nwritten = 0;
    __atomic_store_n(&posted, 0, __ATOMIC_RELEASE);
    wr(&b, V + 0x050, 4, 0);   /* returns at once: the I/O thread serves it */
    for (int spins = 0; !__atomic_load_n(&posted, __ATOMIC_ACQUIRE); spins++) {
      CHECK(spins < 5000);     /* 5 s */
      usleep(1000);
    }
    /* served, not completed: data in RAM, nothing the driver may look at yet */
    CHECK(ram[BUF_DATA + 7] == (uint8_t)(sector * 7 + 7) && ram[BUF_ST] == 0);
    CHECK(get16(Q_USED + 2) == used_before && host_state.nwritten == 0);
    CHECK(rd(&b, V + 0x060, 4) == 0 && !(mip(&b, 0) & WB_MIP_SEIP));
    posted_fn(posted_arg);     /* the hart's thread completes it */
    CHECK(get16(Q_USED + 2) == (uint16_t)(used_before + 1));
    CHECK(get32(Q_USED + 4 + 8ull * (used_before % QNUM)) == 0 && get32(Q_USED + 8 + 8ull * (used_before % QNUM)) == 513);
    CHECK(host_state.nwritten == 2 && host_state.written[0][0] == DRAM + BUF_DATA);
    CHECK(rd(&b, V + 0x060, 4) == 1 && (mip(&b, 0) & WB_MIP_SEIP));
    CHECK(rd(&b, claim_reg(1), 4) == 1);
    wr(&b, V + 0x064, 4, 1);
    wr(&b, claim_reg(1), 4, 1);
    CHECK(!(mip(&b, 0) & WB_MIP_SEIP));
  }
  /* a reset between serving and completing: the old queue's request is never completed */
  put32(BUF_HDR, 0);
  put16(Q_AVAIL + 4 + 2 * (avail_idx % QNUM), 0);
  avail_idx++;
  put16(Q_AVAIL + 2, avail_idx);
  __atomic_store_n(&posted, 0, __ATOMIC_RELEASE);
  uint16_t used_before = get16(Q_USED + 2);
  wr(&b, V + 0x050, 4, 0);
  for (int spins = 0; !__atomic_load_n(&posted, __ATOMIC_ACQUIRE); spins++) {
    CHECK(spins < 5000);
    usleep(1000);
  }
  wr(&b, V + 0x070, 4, 0);
  posted_fn(posted_arg);
  CHECK(get16(Q_USED + 2) == used_before && rd(&b, V + 0x060, 4) == 0);
  wb_virtio_blk_stop(b.blk);
  wb_virtio_blk_stop(b.blk);   /* twice is fine */
  wb_board_fini(&b);           /* (and fini stops a thread still running) */
  unlink(path);
}

int main(int argc, char **argv) {
  ram = malloc(RAM_SIZE);
  CHECK(ram);
  test_map();
  test_mip();
  test_clint();
  test_plic();
  test_uart();
  test_uart_8250_probe();
  test_power();
  test_virtio_blk();
  test_virtio_blk_io_thread();
  test_fuzz();
  test_fdt();
  if (argc >= 4) dump_fdt(argc, argv);
  free(ram);
  printf("ok\n");
  return 0;
}
