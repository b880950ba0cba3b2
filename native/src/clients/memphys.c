/* memphys.c — the "memphys" client: one record per guest memory access with both addresses,
 * for system mode (the kernel and its processes): the virtual address the instruction used,
 * the physical address it reaches at that moment (the page tables walked without side
 * effects: wb_hart_translate) and the privilege, into stream "memphys". A call per access
 * (slower than memtrace's inline records). In user mode the physical address is the virtual
 * one. */
#include <stdint.h>
#include "wb/client.h"  /* in-tree clients use the public API only */

typedef struct memphys_record {
  uint64_t icount;   /* instructions retired before this one */
  uint64_t pc;
  uint64_t vaddr;    /* the address the instruction computed */
  uint64_t paddr;    /* where it lands now; UINT64_MAX when the access faults */
  uint16_t thread;   /* the hart */
  uint8_t size;      /* bytes */
  uint8_t kind;      /* enum wb_mem_kind */
  uint8_t priv;      /* 0 U, 1 S, 3 M */
  uint8_t pad[3];
} memphys_record;

static void on_mem(void *data, wb_hart *h, uint64_t pc, uint64_t addr, unsigned size, int kind,
                   uint64_t value) {
  (void)value;
  memphys_record *r = wb_stream_push((wb_stream *)data);
  uint64_t pa;
  r->icount = wb_hart_icount(h);
  r->pc = pc;
  r->vaddr = addr;
  r->paddr = wb_hart_translate(h, addr, kind, &pa) == 0 ? pa : UINT64_MAX;
  r->thread = (uint16_t)wb_hart_id(h);
  r->size = (uint8_t)size;
  r->kind = (uint8_t)kind;
  r->priv = (uint8_t)wb_hart_priv(h);
}

static void on_block(void *data, wb_bb *bb) {
  for (unsigned i = 0; i < wb_bb_size(bb); i++)
    if (wb_bb_insn_mem(bb, i, NULL, NULL)) wb_bb_call_mem(bb, i, on_mem, data);
}

int wb_client_memphys(wb_machine *m) {
  wb_stream *s = wb_stream_new(m, "memphys", sizeof(memphys_record));
  if (!s) return -1;
  wb_client_ops ops = {.name = "memphys", .data = s, .on_block = on_block};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
