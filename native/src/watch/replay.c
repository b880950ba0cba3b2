/* replay.c — wb_watch_replay: a recorded trace of watch operations and accesses through a
 * fresh watchpoint unit (rcache.c), for the model's equality test and for studies that
 * record once and replay offline. Every record is checked before it is applied. */
#define WB_API __attribute__((visibility("default")))
#include <stdio.h>
#include <string.h>
#include "watch.h"

WB_API int wb_watch_replay(const wb_watch_op *ops, size_t n, uint64_t rc_entries, uint64_t blb_entries,
                           uint64_t blb_runs, wb_watch_counters *out, char *err, size_t errlen) {
  if (out) memset(out, 0, sizeof *out);
  if (!ops && n) { snprintf(err, errlen, "no records"); return -1; }
  wb_watch_unit *u = wb_watch_unit_new(rc_entries, blb_entries, blb_runs, err, errlen);
  if (!u) return -1;
  int r = 0;
  char why[200];
  for (size_t i = 0; i < n && r == 0; i++) {
    const wb_watch_op *o = &ops[i];
    switch (o->kind) {
      case WB_WATCH_OP_LOAD: case WB_WATCH_OP_STORE:
        if (o->len < 1 || o->len > 8 || o->addr + (o->len - 1) < o->addr) {
          snprintf(err, errlen, "record %zu: an access of %llu bytes at %#llx (1 to 8 bytes, not past the end of the address space)",
                   i, (unsigned long long)o->len, (unsigned long long)o->addr);
          r = -1;
          break;
        }
        wb_watch_access(u, o->addr, (unsigned)o->len, o->kind == WB_WATCH_OP_STORE);
        break;
      case WB_WATCH_OP_SET: case WB_WATCH_OP_CLEAR:
        if (wb_watch_change(u, o->kind == WB_WATCH_OP_SET, o->flags, o->addr, o->len, why, sizeof why) != 0) {
          snprintf(err, errlen, "record %zu: %s", i, why);
          r = -1;
        }
        break;
      default:
        snprintf(err, errlen, "record %zu: unknown kind %u (0 load, 1 store, 2 set, 3 clear)", i, o->kind);
        r = -1;
        break;
    }
  }
  if (out) *out = *wb_watch_counts(u);
  wb_watch_unit_free(u);
  return r;
}
