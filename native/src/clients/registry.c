/* registry.c — the built-in clients, by name (what `Machine(clients=[...])` and
 * `wb run --client` accept). Each lives in its own file in this directory. */
#include <stdio.h>
#include <string.h>
#include "client.h"

#define WB_API __attribute__((visibility("default")))

int wb_client_null(wb_machine *m);
int wb_client_icount(wb_machine *m);
int wb_client_bbprofile(wb_machine *m);
int wb_client_memtrace(wb_machine *m);
int wb_client_memphys(wb_machine *m);
int wb_client_barrier(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_bursty(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_shrink(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_watchheap(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_taint(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_aikido(wb_machine *m, const char *opts, char *err, size_t errlen);
int wb_client_fasttrack(wb_machine *m, const char *opts, char *err, size_t errlen);

/* the clients without options */
#define NO_OPTIONS(fn) \
  static int fn##_opts(wb_machine *m, const char *opts, char *err, size_t errlen) { \
    if (opts && *opts) { snprintf(err, errlen, "client %s takes no options", #fn + 10); return -1; } \
    if (fn(m) != 0) { snprintf(err, errlen, "cannot add client %s", #fn + 10); return -1; } \
    return 0; \
  }
NO_OPTIONS(wb_client_null)
NO_OPTIONS(wb_client_icount)
NO_OPTIONS(wb_client_bbprofile)
NO_OPTIONS(wb_client_memtrace)
NO_OPTIONS(wb_client_memphys)

static const struct {
  const char *name;
  int (*add)(wb_machine *m, const char *opts, char *err, size_t errlen);
} k_builtins[] = {
    {"null", wb_client_null_opts},
    {"icount", wb_client_icount_opts},
    {"bbprofile", wb_client_bbprofile_opts},
    {"memtrace", wb_client_memtrace_opts},
    {"memphys", wb_client_memphys_opts},
    {"barrier", wb_client_barrier},
    {"bursty", wb_client_bursty},
    {"shrink", wb_client_shrink},
    {"watchheap", wb_client_watchheap},
    {"taint", wb_client_taint},
    {"aikido", wb_client_aikido},
    {"fasttrack", wb_client_fasttrack},
};
#define NBUILTINS (sizeof k_builtins / sizeof k_builtins[0])

WB_API const char *wb_builtin_client(int i) {
  return i >= 0 && (unsigned)i < NBUILTINS ? k_builtins[i].name : NULL;
}

int wb_builtin_add(wb_machine *m, const char *name, const char *opts, char *err, size_t errlen) {
  for (unsigned i = 0; i < NBUILTINS; i++)
    if (!strcmp(k_builtins[i].name, name)) return k_builtins[i].add(m, opts, err, errlen);
  snprintf(err, errlen, "unknown client %s (built-in clients: null, icount, bbprofile, memtrace, memphys, barrier, bursty, shrink, watchheap, taint, aikido, fasttrack)", name);
  return -1;
}

WB_API int wb_machine_add_client(wb_machine *m, const char *name, char *err, size_t errlen) {
  return wb_builtin_add(m, name, NULL, err, errlen);
}

WB_API int wb_machine_add_client_opts(wb_machine *m, const char *name, const char *options,
                                      char *err, size_t errlen) {
  return wb_builtin_add(m, name, options, err, errlen);
}
