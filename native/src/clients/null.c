/* null.c — the "null" client: registers every hook and does nothing. It measures what the
 * instrumentation interface itself costs (translation-time callbacks, no inserted code). */
#include "wb/client.h"  /* in-tree clients use the public API only */

static void on_block(void *data, wb_bb *bb) { (void)data; (void)bb; }
static void on_syscall(void *data, wb_hart *h, uint64_t nr, const uint64_t args[6], int64_t ret) {
  (void)data; (void)h; (void)nr; (void)args; (void)ret;
}
static void on_thread(void *data, wb_hart *h, int started) { (void)data; (void)h; (void)started; }
static void on_run_end(void *data, wb_machine *m) { (void)data; (void)m; }

int wb_client_null(wb_machine *m) {
  wb_client_ops ops = {.name = "null", .on_block = on_block, .on_syscall = on_syscall,
                       .on_thread = on_thread, .on_run_end = on_run_end};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
