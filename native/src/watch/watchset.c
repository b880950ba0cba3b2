/* watchset.c — the watchpoint unit as a client's own model (wb/client.h, wb_watchset_*): a
 * range table, range cache and bitmap lookaside buffer (rcache.c) that a client feeds itself,
 * not tied to the guest's accesses. The paper's units are per thread; a race detector's
 * read/write-set checks (fasttrack's watchsets mode) keep one per guest thread, each watching
 * the bytes whose next access by that thread needs a check. */
#include "watch.h"
#include "wb/client.h"

#define WB_API __attribute__((visibility("default")))

WB_API wb_watchset *wb_watchset_new(uint64_t cache_entries, uint64_t blb_entries, char *err, size_t errlen) {
  return (wb_watchset *)wb_watch_unit_new(cache_entries ? cache_entries : WB_WATCH_DEFAULT_CACHE, blb_entries,
                                          WB_WATCH_BLB_RUNS, err, errlen);
}

WB_API void wb_watchset_free(wb_watchset *w) { wb_watch_unit_free((wb_watch_unit *)w); }

WB_API int wb_watchset_access(wb_watchset *w, uint64_t addr, unsigned len, int store) {
  return wb_watch_access((wb_watch_unit *)w, addr, len, store);
}

WB_API int wb_watchset_change(wb_watchset *w, int set, unsigned bits, uint64_t addr, uint64_t len,
                              char *err, size_t errlen) {
  return wb_watch_change((wb_watch_unit *)w, set, bits, addr, len, err, errlen);
}

WB_API const wb_watch_counters *wb_watchset_counts(wb_watchset *w) {
  return wb_watch_counts((wb_watch_unit *)w);
}

WB_API void wb_watchset_add_counts(wb_watch_counters *sum, wb_watchset *w) {
  const wb_watch_counters *c = wb_watch_counts((wb_watch_unit *)w);
  uint64_t high = c->segments_max > sum->segments_max ? c->segments_max : sum->segments_max;
  /* every field is a count (a uint64_t), but segments_max, a high-water mark */
  uint64_t *to = (uint64_t *)sum;
  const uint64_t *from = (const uint64_t *)c;
  for (size_t i = 0; i < sizeof *c / sizeof *from; i++) to[i] += from[i];
  sum->segments_max = high;
}
