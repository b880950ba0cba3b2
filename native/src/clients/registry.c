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

static const struct { const char *name; int (*add)(wb_machine *m); } k_builtins[] = {
    {"null", wb_client_null},
    {"icount", wb_client_icount},
    {"bbprofile", wb_client_bbprofile},
    {"memtrace", wb_client_memtrace},
};
#define NBUILTINS (sizeof k_builtins / sizeof k_builtins[0])

WB_API const char *wb_builtin_client(int i) {
  return i >= 0 && (unsigned)i < NBUILTINS ? k_builtins[i].name : NULL;
}

int wb_builtin_add(wb_machine *m, const char *name, char *err, size_t errlen) {
  for (unsigned i = 0; i < NBUILTINS; i++)
    if (!strcmp(k_builtins[i].name, name)) {
      if (k_builtins[i].add(m) != 0) { snprintf(err, errlen, "cannot add client %s", name); return -1; }
      return 0;
    }
  snprintf(err, errlen, "unknown client %s (built-in clients: null, icount, bbprofile, memtrace)", name);
  return -1;
}

WB_API int wb_machine_add_client(wb_machine *m, const char *name, char *err, size_t errlen) {
  return wb_builtin_add(m, name, err, errlen);
}
