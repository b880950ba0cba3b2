/* fdt.c — the board's device tree as a flattened blob (DTB), which the firmware (OpenSBI's
 * generic platform finds the UART, CLINT, PLIC and the poweroff/reboot syscon through it)
 * and the kernel read to learn the machine.
 *
 * Facts: the Devicetree Specification, "Flattened Devicetree (DTB) Format" (header fields,
 * version 17 with last compatible version 16, big-endian, a memory reservation block
 * 8-byte aligned and ended by an all-zero entry, the structure block's tokens with 4-byte
 * alignment, a strings block of NUL-terminated property names), and the "Devicetree Basics"
 * chapter for the standard properties. The content follows qemu's hw/riscv/virt.c for the
 * same board (its `-M virt,dumpdtb=` output), so the compatibles, regs and interrupt wiring
 * are the ones OpenSBI and Linux have drivers and quirks for; tests/test_board.py compares
 * the two and lists the nodes of qemu's that this board does not have.
 *
 * The blob is built in two growing buffers (structure, strings) and then laid out as
 * header | reservation block | structure | strings in the caller's buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "board.h"

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_END        9u
#define HEADER_SIZE    40u
#define RSVMAP_SIZE    16u        /* just the terminating (0, 0) entry */
#define BLOCK_LIMIT    (1u << 20) /* far above what this board needs; stops a runaway */

/* What the harts are, as the kernel should believe it: the RV64GC the engine runs (G is
 * IMAFD with Zicsr and Zifencei, spelled out as qemu 7+ does) and Sv39 paging. */
#define RISCV_ISA "rv64imafdc_zicsr_zifencei"
#define MMU_TYPE  "riscv,sv39"
#define MODEL     "riscv-virtio,workbench"

/* interrupt numbers of the harts' local interrupt controllers (mip bit numbers) */
enum { IRQ_M_SOFT = 3, IRQ_M_TIMER = 7, IRQ_S_EXT = 9, IRQ_M_EXT = 11 };

typedef struct { uint8_t *p; size_t len, cap; } blk;

typedef struct {
  blk st, str;   /* structure and strings blocks */
  int failed;    /* out of memory or over BLOCK_LIMIT: the blob is abandoned */
} writer;

static void append(writer *w, blk *k, const void *data, size_t n) {
  if (w->failed || n == 0) return;
  if (n > BLOCK_LIMIT - k->len) { w->failed = 1; return; }
  if (k->len + n > k->cap) {
    size_t cap = k->cap ? k->cap : 1024;
    while (cap < k->len + n) cap *= 2;
    uint8_t *p = realloc(k->p, cap);
    if (!p) { w->failed = 1; return; }
    k->p = p;
    k->cap = cap;
  }
  memcpy(k->p + k->len, data, n);
  k->len += n;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void token(writer *w, uint32_t v) {
  uint8_t b[4];
  put_be32(b, v);
  append(w, &w->st, b, 4);
}

/* zero bytes up to the structure block's 4-byte alignment */
static void pad4(writer *w) {
  static const uint8_t zero[4] = {0};
  append(w, &w->st, zero, (4 - w->st.len % 4) % 4);
}

/* The offset of property name `name` in the strings block, adding it the first time. */
static uint32_t name_offset(writer *w, const char *name) {
  size_t n = strlen(name) + 1;
  for (size_t off = 0; off < w->str.len;) {
    const char *s = (const char *)w->str.p + off;
    size_t sn = strlen(s) + 1;   /* every entry is NUL-terminated by construction */
    if (sn == n && memcmp(s, name, n) == 0) return (uint32_t)off;
    off += sn;
  }
  uint32_t off = (uint32_t)w->str.len;
  append(w, &w->str, name, n);
  return off;
}

static void begin_node(writer *w, const char *name) {
  token(w, FDT_BEGIN_NODE);
  append(w, &w->st, name, strlen(name) + 1);
  pad4(w);
}

static void end_node(writer *w) { token(w, FDT_END_NODE); }

static void prop(writer *w, const char *name, const void *value, size_t len) {
  token(w, FDT_PROP);
  token(w, (uint32_t)len);
  token(w, name_offset(w, name));
  append(w, &w->st, value, len);
  pad4(w);
}

static void prop_empty(writer *w, const char *name) { prop(w, name, NULL, 0); }

static void prop_str(writer *w, const char *name, const char *s) { prop(w, name, s, strlen(s) + 1); }

/* a string list: the strings one after the other, each with its NUL */
static void prop_strs(writer *w, const char *name, const char *const *list, int n) {
  char buf[256];
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    size_t k = strlen(list[i]) + 1;
    if (k > sizeof buf - len) { w->failed = 1; return; }
    memcpy(buf + len, list[i], k);
    len += k;
  }
  prop(w, name, buf, len);
}

static void prop_cells(writer *w, const char *name, const uint32_t *cells, int n) {
  uint8_t buf[4 * 4 * WB_BOARD_MAX_HARTS];   /* the longest: 4 cells per hart */
  if (n < 0 || (size_t)n * 4 > sizeof buf) { w->failed = 1; return; }
  for (int i = 0; i < n; i++) put_be32(buf + 4 * i, cells[i]);
  prop(w, name, buf, 4 * (size_t)n);
}

static void prop_u32(writer *w, const char *name, uint32_t v) { prop_cells(w, name, &v, 1); }

static void prop_u64(writer *w, const char *name, uint64_t v) {
  uint32_t cells[2] = {(uint32_t)(v >> 32), (uint32_t)v};
  prop_cells(w, name, cells, 2);
}

/* reg of a node under #address-cells = #size-cells = 2 */
static void prop_reg(writer *w, uint64_t base, uint64_t size) {
  uint32_t cells[4] = {(uint32_t)(base >> 32), (uint32_t)base, (uint32_t)(size >> 32), (uint32_t)size};
  prop_cells(w, "reg", cells, 4);
}

static void begin_unit(writer *w, const char *name, uint64_t addr) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s@%llx", name, (unsigned long long)addr);
  begin_node(w, buf);
}

/* phandles: hart i's cpu node and its interrupt controller, then the PLIC and the test device */
static uint32_t ph_cpu(int i) { return 1 + 2 * (uint32_t)i; }
static uint32_t ph_intc(int i) { return 2 + 2 * (uint32_t)i; }
static uint32_t ph_plic(const wb_board *b) { return 1 + 2 * (uint32_t)b->nharts; }
static uint32_t ph_test(const wb_board *b) { return 2 + 2 * (uint32_t)b->nharts; }

static void cpus(writer *w, const wb_board *b) {
  begin_node(w, "cpus");
  prop_u32(w, "#address-cells", 1);
  prop_u32(w, "#size-cells", 0);
  prop_u32(w, "timebase-frequency", (uint32_t)WB_VIRT_TIMEBASE_HZ);
  for (int i = 0; i < b->nharts; i++) {
    begin_unit(w, "cpu", (uint64_t)i);
    prop_str(w, "device_type", "cpu");
    prop_u32(w, "reg", (uint32_t)i);
    prop_str(w, "status", "okay");
    prop_str(w, "compatible", "riscv");
    prop_str(w, "riscv,isa", RISCV_ISA);
    prop_str(w, "mmu-type", MMU_TYPE);
    prop_u32(w, "phandle", ph_cpu(i));
    begin_node(w, "interrupt-controller");
    prop_u32(w, "#interrupt-cells", 1);
    prop_empty(w, "interrupt-controller");
    prop_str(w, "compatible", "riscv,cpu-intc");
    prop_u32(w, "phandle", ph_intc(i));
    end_node(w);
    end_node(w);
  }
  /* the topology: one cluster of all the harts (as qemu's single socket) */
  begin_node(w, "cpu-map");
  begin_node(w, "cluster0");
  for (int i = 0; i < b->nharts; i++) {
    char name[16];
    snprintf(name, sizeof name, "core%d", i);
    begin_node(w, name);
    prop_u32(w, "cpu", ph_cpu(i));
    end_node(w);
  }
  end_node(w);
  end_node(w);
  end_node(w);
}

/* interrupts-extended of a device that drives two local interrupts of every hart */
static void per_hart_irqs(writer *w, const wb_board *b, unsigned first, unsigned second) {
  uint32_t cells[4 * WB_BOARD_MAX_HARTS];
  for (int i = 0; i < b->nharts; i++) {
    cells[4 * i + 0] = ph_intc(i);
    cells[4 * i + 1] = first;
    cells[4 * i + 2] = ph_intc(i);
    cells[4 * i + 3] = second;
  }
  prop_cells(w, "interrupts-extended", cells, 4 * b->nharts);
}

static void soc(writer *w, const wb_board *b) {
  begin_node(w, "soc");
  prop_u32(w, "#address-cells", 2);
  prop_u32(w, "#size-cells", 2);
  prop_str(w, "compatible", "simple-bus");
  prop_empty(w, "ranges");   /* child addresses are physical addresses */

  static const char *const test_compat[] = {"sifive,test1", "sifive,test0", "syscon"};
  begin_unit(w, "test", WB_VIRT_TEST_BASE);
  prop_strs(w, "compatible", test_compat, 3);
  prop_reg(w, WB_VIRT_TEST_BASE, WB_VIRT_TEST_SIZE);
  prop_u32(w, "phandle", ph_test(b));
  end_node(w);

  begin_unit(w, "serial", WB_VIRT_UART0_BASE);
  prop_str(w, "compatible", "ns16550a");
  prop_reg(w, WB_VIRT_UART0_BASE, WB_VIRT_UART0_SIZE);
  prop_u32(w, "clock-frequency", WB_VIRT_UART_CLOCK);
  prop_u32(w, "interrupt-parent", ph_plic(b));
  prop_u32(w, "interrupts", WB_VIRT_UART0_IRQ);
  end_node(w);

  /* the slots from the last to the first, as qemu lists them (the kernel probes them in
   * this order, so device names come out as on qemu) */
  for (int i = WB_VIRT_VIRTIO_COUNT - 1; i >= 0; i--) {
    uint64_t base = WB_VIRT_VIRTIO_BASE + (uint64_t)i * WB_VIRT_VIRTIO_SIZE;
    begin_unit(w, "virtio_mmio", base);
    prop_str(w, "compatible", "virtio,mmio");
    prop_reg(w, base, WB_VIRT_VIRTIO_SIZE);
    prop_u32(w, "interrupt-parent", ph_plic(b));
    prop_u32(w, "interrupts", WB_VIRT_VIRTIO_IRQ + (uint32_t)i);
    end_node(w);
  }

  static const char *const plic_compat[] = {"sifive,plic-1.0.0", "riscv,plic0"};
  begin_unit(w, "plic", WB_VIRT_PLIC_BASE);
  prop_strs(w, "compatible", plic_compat, 2);
  prop_reg(w, WB_VIRT_PLIC_BASE, WB_VIRT_PLIC_SIZE);
  prop_u32(w, "#address-cells", 0);
  prop_u32(w, "#interrupt-cells", 1);
  prop_empty(w, "interrupt-controller");
  per_hart_irqs(w, b, IRQ_M_EXT, IRQ_S_EXT);   /* contexts 2*hart (M) and 2*hart+1 (S) */
  prop_u32(w, "riscv,ndev", WB_VIRT_PLIC_SOURCES);
  prop_u32(w, "phandle", ph_plic(b));
  end_node(w);

  static const char *const clint_compat[] = {"sifive,clint0", "riscv,clint0"};
  begin_unit(w, "clint", WB_VIRT_CLINT_BASE);
  prop_strs(w, "compatible", clint_compat, 2);
  prop_reg(w, WB_VIRT_CLINT_BASE, WB_VIRT_CLINT_SIZE);
  per_hart_irqs(w, b, IRQ_M_SOFT, IRQ_M_TIMER);
  end_node(w);

  end_node(w);
}

/* poweroff and reboot: writes of a value to the test device, described as syscon users */
static void syscon_node(writer *w, const wb_board *b, const char *name, const char *compat,
                        uint32_t value) {
  begin_node(w, name);
  prop_str(w, "compatible", compat);
  prop_u32(w, "regmap", ph_test(b));
  prop_u32(w, "offset", 0);
  prop_u32(w, "value", value);
  end_node(w);
}

static void tree(writer *w, const wb_board *b, const char *bootargs, uint64_t initrd_start,
                 uint64_t initrd_end) {
  begin_node(w, "");
  prop_u32(w, "#address-cells", 2);
  prop_u32(w, "#size-cells", 2);
  prop_str(w, "compatible", "riscv-virtio");
  prop_str(w, "model", MODEL);

  begin_node(w, "chosen");
  if (bootargs && *bootargs) prop_str(w, "bootargs", bootargs);
  prop_str(w, "stdout-path", "/soc/serial@10000000");
  if (initrd_end > initrd_start) {
    prop_u64(w, "linux,initrd-start", initrd_start);
    prop_u64(w, "linux,initrd-end", initrd_end);
  }
  end_node(w);

  begin_unit(w, "memory", b->ram_base);
  prop_str(w, "device_type", "memory");
  prop_reg(w, b->ram_base, b->ram_size);
  end_node(w);

  cpus(w, b);
  soc(w, b);
  syscon_node(w, b, "poweroff", "syscon-poweroff", 0x5555);
  syscon_node(w, b, "reboot", "syscon-reboot", 0x7777);
  end_node(w);
  token(w, FDT_END);
}

size_t wb_fdt_build(const wb_board *b, const char *bootargs, uint64_t initrd_start,
                    uint64_t initrd_end, void *buf, size_t cap) {
  if (!b || !buf || b->nharts < 1 || b->nharts > WB_BOARD_MAX_HARTS) return 0;
  writer w = {0};
  tree(&w, b, bootargs, initrd_start, initrd_end);
  size_t total = 0;
  if (!w.failed) {
    size_t off_st = HEADER_SIZE + RSVMAP_SIZE;   /* 56: 8-aligned, as the block before it */
    size_t off_str = off_st + w.st.len;          /* the structure block is whole 4-byte words */
    total = off_str + w.str.len;
    if (total <= cap && total <= UINT32_MAX) {
      uint8_t *p = buf;
      memset(p, 0, off_st);   /* the header's unused fields and the reservation block's (0,0) */
      put_be32(p + 0, FDT_MAGIC);
      put_be32(p + 4, (uint32_t)total);
      put_be32(p + 8, (uint32_t)off_st);
      put_be32(p + 12, (uint32_t)off_str);
      put_be32(p + 16, HEADER_SIZE);   /* off_mem_rsvmap */
      put_be32(p + 20, 17);            /* version */
      put_be32(p + 24, 16);            /* last_comp_version */
      put_be32(p + 28, 0);             /* boot_cpuid_phys: hart 0 boots */
      put_be32(p + 32, (uint32_t)w.str.len);
      put_be32(p + 36, (uint32_t)w.st.len);
      memcpy(p + off_st, w.st.p, w.st.len);
      memcpy(p + off_str, w.str.p, w.str.len);
    } else {
      total = 0;
    }
  }
  free(w.st.p);
  free(w.str.p);
  return total;
}
