/* test.c — the SiFive test device at WB_VIRT_TEST_BASE ("sifive,test0"), the board's power
 * switch: the firmware powers off or reboots through it (OpenSBI's syscon-poweroff and
 * syscon-reboot drivers, or Linux's through SBI). One register at offset 0:
 *   0x5555                 pass: power off, exit code 0
 *   0x3333 | code << 16    fail: power off with exit code `code`
 *   0x7777                 reset: reboot
 * Any other value does nothing; reads return 0. Facts: qemu's hw/misc/sifive_test.c (the
 * device has no public spec beyond it), which accepts 16- and 32-bit writes.
 */
#include "board.h"

enum { FINISHER_FAIL = 0x3333, FINISHER_PASS = 0x5555, FINISHER_RESET = 0x7777 };

static uint64_t test_read(void *state, uint64_t off, unsigned size) { return 0; }

static void test_write(void *state, uint64_t off, uint64_t value, unsigned size) {
  wb_board *b = state;
  if (off != 0 || (size != 2 && size != 4)) return;
  uint32_t status = (uint32_t)value & 0xffff, code = ((uint32_t)value >> 16) & 0xffff;
  switch (status) {
  case FINISHER_PASS: b->host.power(b->host.ctx, 0, 0); break;
  case FINISHER_FAIL: b->host.power(b->host.ctx, 0, (int)code); break;
  case FINISHER_RESET: b->host.power(b->host.ctx, 1, 0); break;
  default: break;
  }
}

int wb_test_init(wb_board *b) {
  /* no state of its own: the board is all it needs */
  wb_device d = {.name = "test", .base = WB_VIRT_TEST_BASE, .size = WB_VIRT_TEST_SIZE,
                 .state = b, .read = test_read, .write = test_write, .fini = NULL};
  return wb_board_add(b, &d);
}
