/* memtrace.c — the "memtrace" client: one inline wb_mem_record (icount, pc, address, size,
 * kind) per guest memory access, into stream "memtrace". */
#include "wb/client.h"  /* in-tree clients use the public API only */

static void on_block(void *data, wb_bb *bb) {
  for (unsigned i = 0; i < wb_bb_size(bb); i++)
    if (wb_bb_insn_mem(bb, i, NULL, NULL)) wb_bb_trace_mem(bb, i, (wb_stream *)data);
}

int wb_client_memtrace(wb_machine *m) {
  wb_stream *s = wb_stream_new(m, "memtrace", sizeof(wb_mem_record));
  if (!s) return -1;
  wb_client_ops ops = {.name = "memtrace", .data = s, .on_block = on_block};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
