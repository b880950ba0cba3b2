/* test_views.c — guest memory views and fault completion, through the client API.
 *
 * Runs a guest (argv[2]) whose accesses to one page (its `buf`, address argv[3]) are denied
 * in a view, on tier argv[1]. Mode argv[4]:
 *   view    a whole second view, activated for all guest accesses, denies reads and writes
 *           of buf's page (per-thread protection);
 *   window  a window view denies them, and the guest reaches buf through "barrier pointers"
 *           (buf + the window offset, computed by the guest from the value in a1).
 * A client records every view fault and lets the engine complete it through the primary view.
 * Prints the run's end, the number of faults and one line per fault: "pc addr size kind".
 *
 * Built and run by tests/test_views.py (with AddressSanitizer/UBSan when available).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"
#include "wb/engine.h"

typedef struct { uint64_t pc, addr; unsigned size; int kind; int view; } fault;
static fault faults[1024];
static int nfaults;

static int client_id;
static uint64_t slot_count; /* the slot's count as the last hook saw it */

/* counts in the hart's slot too: the per-hart client state API (wb_hart_slot) */
static int on_view_fault(void *data, wb_hart *h, int view, uint64_t pc, uint64_t addr,
                         unsigned size, int kind) {
  (void)data;
  void **slot = wb_hart_slot(h, client_id);
  *slot = (void *)((uintptr_t)*slot + 1);
  slot_count = (uintptr_t)*slot;
  if (wb_hart_id(h) != 0 || wb_hart_icount(h) > wb_machine_icount(wb_hart_machine(h))) abort();
  if (nfaults < 1024) faults[nfaults++] = (fault){pc, addr, size, kind, view};
  return 0; /* complete it and go on */
}

/* per-hart counters (wb_bb_count_hart): bad requests refused, every block entry counted in
 * counter 0 of the running hart's table */
static int bad_counts_accepted;
static void on_block(void *data, wb_bb *bb) {
  (void)data;
  bad_counts_accepted += wb_bb_count_hart(bb, 99, 0, 1) != -1;
  bad_counts_accepted += wb_bb_count_hart(bb, client_id, WB_HART_COUNTERS, 1) != -1;
  if (wb_bb_count_hart(bb, client_id, 0, 1) != 0) bad_counts_accepted++;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: test_views interp|jit ELF BUF_ADDR view|window\n"); return 2; }
  wb_config cfg;
  wb_config_init(&cfg);
  cfg.tier = !strcmp(argv[1], "jit") ? WB_TIER_JIT : WB_TIER_INTERP;
  cfg.jit_hot = 0;
  cfg.max_insns = 100000000;
  char err[256];
  wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
  if (!m) { fprintf(stderr, "%s\n", err); return 2; }
  const char *args[] = {argv[2]};
  if (wb_machine_load(m, argv[2], 1, args, 0, NULL, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); return 2; }
  uint64_t buf = strtoull(argv[3], NULL, 0);
  int window = !strcmp(argv[4], "window");
  wb_client_ops ops = {.name = "views-test", .on_view_fault = on_view_fault, .on_block = on_block};
  /* a client built for another API version (or ops struct) is refused */
  if (wb_client_register(m, &ops, sizeof ops, WB_CLIENT_API_VERSION - 1) != -1 ||
      wb_client_register(m, &ops, sizeof ops + 8, WB_CLIENT_API_VERSION) != -1 ||
      wb_client_api_version() != WB_CLIENT_API_VERSION) {
    fprintf(stderr, "version check failed\n");
    return 2;
  }
  client_id = wb_client_add(m, &ops);
  if (client_id < 0) return 2;
  int v = wb_view_add(m, window);
  if (v <= 0) { fprintf(stderr, "wb_view_add failed\n"); return 2; }
  if (wb_view_deny(m, v, buf, 4096, WB_VIEW_DENY_READ | WB_VIEW_DENY_WRITE) != 0) return 2;
  if (!window && wb_view_activate(m, v) != 0) return 2;
  printf("window_offset %llu\n", (unsigned long long)wb_view_window_offset(m));
  wb_result r;
  wb_machine_run(m, &r);
  printf("reason %s exit %d insns %llu\n", wb_reason_name(r.reason), r.exit_code, (unsigned long long)r.instret);
  if (r.reason != WB_REASON_EXIT) printf("message %s\n", r.message);
  printf("faults %d completed %llu\n", nfaults, (unsigned long long)wb_view_faults(m));
  /* the slot counted every fault */
  if (nfaults != (int)slot_count) { fprintf(stderr, "slot %llu != %d\n", (unsigned long long)slot_count, nfaults); return 3; }
  const uint64_t *counts = wb_hart_counters(wb_machine_hart(m, 0), client_id);
  if (bad_counts_accepted || !counts || !counts[0] || wb_machine_hart(m, 1) || wb_hart_counters(wb_machine_hart(m, 0), 99)) {
    fprintf(stderr, "per-hart counters: %d bad requests accepted\n", bad_counts_accepted);
    return 3;
  }
  for (int i = 0; i < nfaults; i++)
    printf("%llx %llx %u %d %d\n", (unsigned long long)faults[i].pc, (unsigned long long)faults[i].addr,
           faults[i].size, faults[i].kind, faults[i].view);
  wb_machine_destroy(m);
  return 0;
}
