/* board.h — the board of system mode: QEMU's "virt" machine as Linux and OpenSBI know it. It
 * owns the physical address map (RAM and memory-mapped devices), the devices' state, and the
 * interrupt wiring from devices to the harts' mip bits. The system platform (platform.c) and
 * the MMU reach devices only through wb_board_read/wb_board_write; devices reach the machine
 * only through the callbacks in wb_board_host (time, "an interrupt line changed", console
 * bytes, power off), so each device is one small file that knows nothing of harts or tiers.
 *
 * Layout (as qemu's hw/riscv/virt.c, so the unmodified firmware and kernel find everything):
 *   0x00100000  SiFive test device (poweroff/reboot)          test.c
 *   0x02000000  CLINT: msip, mtimecmp, mtime                   clint.c
 *   0x0c000000  PLIC: 95 sources, M and S contexts per hart    plic.c
 *   0x10000000  NS16550A UART, PLIC source 10                   uart.c
 *   0x10001000  virtio-mmio slots (0x1000 apart), sources 1..8  virtio_blk.c
 *   0x80000000  RAM
 * The device tree the firmware and kernel read is generated from the same constants (fdt.c).
 *
 * Concurrency: every entry point here is called on the thread that runs the harts — by a
 * hart's access, by the platform's event loop, or by work a device's own host thread handed
 * over through host.post. mip is written with atomics so that a hart may read it without
 * the lock at a block boundary.
 */
#ifndef WB_BOARD_H
#define WB_BOARD_H
#include <stddef.h>
#include <stdint.h>

#define WB_VIRT_TEST_BASE    0x00100000ull
#define WB_VIRT_TEST_SIZE    0x1000ull
#define WB_VIRT_CLINT_BASE   0x02000000ull
#define WB_VIRT_CLINT_SIZE   0x10000ull
#define WB_VIRT_PLIC_BASE    0x0c000000ull
#define WB_VIRT_PLIC_SIZE    0x600000ull
#define WB_VIRT_UART0_BASE   0x10000000ull
#define WB_VIRT_UART0_SIZE   0x100ull
#define WB_VIRT_UART0_IRQ    10
#define WB_VIRT_VIRTIO_BASE  0x10001000ull
#define WB_VIRT_VIRTIO_SIZE  0x1000ull   /* per slot */
#define WB_VIRT_VIRTIO_COUNT 8
#define WB_VIRT_VIRTIO_IRQ   1           /* slot i raises source 1 + i */
#define WB_VIRT_DRAM_BASE    0x80000000ull
#define WB_VIRT_TIMEBASE_HZ  10000000ull /* mtime ticks per second (qemu virt's) */
#define WB_VIRT_PLIC_SOURCES 96          /* riscv,ndev (as qemu 7.2's virt) */
#define WB_VIRT_UART_CLOCK   3686400u    /* the UART's input clock (qemu virt's) */

#define WB_BOARD_MAX_HARTS   8
#define WB_BOARD_MAX_DEVICES 16

/* mip/mie bits (privileged spec: "Machine interrupt registers") */
enum {
  WB_MIP_SSIP = 1u << 1, WB_MIP_MSIP = 1u << 3, WB_MIP_STIP = 1u << 5, WB_MIP_MTIP = 1u << 7,
  WB_MIP_SEIP = 1u << 9, WB_MIP_MEIP = 1u << 11,
};

/* A memory-mapped device. off is relative to base; size is 1, 2, 4 or 8 and off is aligned
 * to it. A register the device does not have reads 0 and ignores writes (as qemu's). */
typedef struct wb_device {
  const char *name;
  uint64_t base, size;
  void *state;
  uint64_t (*read)(void *state, uint64_t off, unsigned size);
  void (*write)(void *state, uint64_t off, uint64_t value, unsigned size);
  void (*fini)(void *state);     /* frees state (NULL: nothing to free) */
} wb_device;

/* What the board needs from the machine that hosts it. */
typedef struct wb_board_host {
  void *ctx;
  /* mtime: ticks of WB_VIRT_TIMEBASE_HZ since reset (from guest instructions in the
   * deterministic mode, from the host clock in the asynchronous one) */
  uint64_t (*now)(void *ctx);
  /* hart's mip lines changed (raised or lowered): it must look at its interrupts before its
   * next instruction boundary that it can be interrupted at */
  void (*interrupt)(void *ctx, int hart);
  /* the next mtime at which a device needs time to pass (a timer compare): the machine
   * calls wb_board_tick at or after it. UINT64_MAX: none. */
  void (*wake_at)(void *ctx, uint64_t mtime);
  /* bytes the UART transmitted */
  void (*console)(void *ctx, const uint8_t *bytes, size_t n);
  /* the test device was written: poweroff (reboot 0) with an exit code, or a reboot */
  void (*power)(void *ctx, int reboot, int code);
  /* a device wrote guest RAM [pa, pa + len) (DMA): code decoded from there is stale */
  void (*ram_written)(void *ctx, uint64_t pa, uint64_t len);
  /* Host-clock mode only (NULL otherwise): call fn(arg) on the hart's thread soon (before
   * it next looks at interrupts). Safe from any host thread: a device that works on a
   * thread of its own finishes its work through this, since the board is only changed on
   * the hart's thread. */
  void (*post)(void *ctx, void (*fn)(void *arg), void *arg);
} wb_board_host;

struct wb_clint;
struct wb_plic;
struct wb_uart;
struct wb_virtio_blk;

typedef struct wb_board {
  wb_board_host host;
  int nharts;
  uint8_t *ram;                  /* host memory of RAM (the machine owns it) */
  uint64_t ram_base, ram_size;
  wb_device devices[WB_BOARD_MAX_DEVICES];
  int ndevices;
  uint64_t mip[WB_BOARD_MAX_HARTS]; /* interrupt lines the devices drive, per hart (atomic) */
  struct wb_clint *clint;
  struct wb_plic *plic;
  struct wb_uart *uart;
  struct wb_virtio_blk *blk;     /* slot 0, when a disk image is attached */
} wb_board;

/* ---- board.c ---- */
/* A board with nharts harts and ram_size bytes of RAM at ram (owned by the caller), its
 * devices created: test, CLINT, PLIC, UART and the 8 virtio-mmio slots, empty (no disk:
 * wb_virtio_blk_init puts one in slot 0). 0, or -1 with err. The devices keep b's address:
 * the board must not move while it lives. */
int wb_board_init(wb_board *b, const wb_board_host *host, int nharts, uint8_t *ram,
                  uint64_t ram_size, char *err, size_t errlen);
void wb_board_fini(wb_board *b);
/* Add a device (its range must not overlap another's): 0, or -1 (full, overlap). */
int wb_board_add(wb_board *b, const wb_device *d);
/* The device that holds physical address pa (NULL: none). */
const wb_device *wb_board_find(const wb_board *b, uint64_t pa);
/* A device access: 0, or -1 when no device holds [pa, pa+size), or the access is not 1, 2,
 * 4 or 8 bytes naturally aligned (an access fault: the devices only see aligned offsets). */
int wb_board_read(wb_board *b, uint64_t pa, unsigned size, uint64_t *value);
int wb_board_write(wb_board *b, uint64_t pa, unsigned size, uint64_t value);
/* Host pointer of RAM [pa, pa+len) for device DMA, or NULL if it is not all RAM. */
uint8_t *wb_board_ram(wb_board *b, uint64_t pa, uint64_t len);
/* Drive interrupt lines `bits` (WB_MIP_*) of hart's mip to level (0/1); calls host.interrupt
 * when the value changes. */
void wb_board_set_mip(wb_board *b, int hart, uint64_t bits, int level);
/* Time passed: let the devices act on it (the CLINT raises MTIP when mtime >= mtimecmp) and
 * ask host.wake_at for the next deadline. */
void wb_board_tick(wb_board *b);

/* ---- clint.c: msip (0x0 + 4*hart), mtimecmp (0x4000 + 8*hart), mtime (0xbff8) ---- */
int wb_clint_init(wb_board *b);
/* the earliest mtimecmp of a hart whose MTIP is low (UINT64_MAX: none) */
uint64_t wb_clint_next_deadline(const struct wb_clint *c);
void wb_clint_tick(struct wb_clint *c);
/* hart's msip as a write from the bus would set it, and its value (safe from any thread) */
void wb_clint_set_msip(struct wb_clint *c, int hart, int v);
uint32_t wb_clint_msip(const struct wb_clint *c, int hart);

/* ---- plic.c: priorities (0x0 + 4*src), pending (0x1000), enables (0x2000 + 0x80*ctx),
 * threshold/claim/complete (0x200000 + 0x1000*ctx); context 2*hart is M, 2*hart+1 is S; it
 * drives MEIP/SEIP. ---- */
int wb_plic_init(wb_board *b);
/* A device's interrupt line (source 1..WB_VIRT_PLIC_SOURCES) is now at level (0/1). */
void wb_plic_set_irq(struct wb_plic *p, int source, int level);

/* ---- uart.c: NS16550A (8-bit registers; THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR;
 * the divisor latch), transmit goes straight to host.console, received bytes wait in a FIFO
 * and raise source WB_VIRT_UART0_IRQ while the guest enabled it ---- */
int wb_uart_init(wb_board *b);
/* Bytes typed on the console (queued; the guest reads them at its pace). Returns how many
 * were queued (the queue is bounded). */
size_t wb_uart_input(struct wb_uart *u, const uint8_t *bytes, size_t n);

/* ---- test.c: a 32-bit write of 0x5555 powers off (exit 0), 0x3333 | code << 16 powers off
 * with an exit code, 0x7777 reboots ---- */
int wb_test_init(wb_board *b);

/* ---- virtio_blk.c: virtio-mmio version 2 block device in slot 0 (split virtqueue, one
 * queue; read, write, flush, get-id), backed by a host file opened read-write or read-only
 * (the guest then gets VIRTIO_BLK_F_RO). With host.post (host-clock mode) requests are
 * served on an I/O thread of the device's and complete later; otherwise at the notify. ---- */
int wb_virtio_blk_init(wb_board *b, const char *path, int readonly, char *err, size_t errlen);
/* Stop the device's I/O thread (if it has one) after the request it is serving: called
 * before whatever host.post uses goes away. */
void wb_virtio_blk_stop(struct wb_virtio_blk *v);
/* The virtio-mmio slots as qemu maps them without a device: magic, version 2 and device id 0,
 * so the kernel's probe finds "no device" there. Called by wb_board_init for all the slots;
 * wb_virtio_blk_init then puts the disk in place of slot 0's empty transport. */
int wb_virtio_slots_init(wb_board *b);

/* ---- fdt.c: the flattened device tree of this board (DTB format version 17), as the
 * firmware and kernel expect it from qemu's virt machine: /cpus (riscv,isa rv64imafdc, mmu
 * sv39, each with its interrupt controller), /memory, /soc with the devices above, the
 * poweroff and reboot syscon nodes, /chosen (bootargs, stdout-path, initrd range when
 * initrd_end > initrd_start). Writes at most cap bytes to buf; returns the blob's size, or 0
 * if it does not fit. ---- */
size_t wb_fdt_build(const wb_board *b, const char *bootargs, uint64_t initrd_start,
                    uint64_t initrd_end, void *buf, size_t cap);

#endif
