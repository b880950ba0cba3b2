/* test_wrap.c — wrapping guest functions by symbol (wb_wrap), through the client API.
 *
 * Runs the guest argv[2] on tier argv[1] with malloc, calloc, realloc and free wrapped (their
 * arguments, return values and return addresses logged) and `twice` wrapped with hooks that
 * change its argument (+1) and its return value (+1000). Prints the guest's run end and the
 * log, one call per line: "NAME ARGS -> RESULT ra=RETURN_ADDRESS".
 *
 * With "LO HI" after the ELF, free's hook runs only for pointers in [LO, HI) (wb_wrap_when).
 *
 * Built and run by tests/test_wrap.py (with AddressSanitizer/UBSan when available).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"
#include "wb/engine.h"

typedef struct { const char *name; int nargs; } fn_info;
typedef struct { uint64_t args[3], ra; } call;

static void pre(void *data, wb_hart *h, uint64_t ra, uint64_t args[8], void **user) {
  const fn_info *f = data;
  if (wb_hart_id(h) != 0) abort(); /* one guest thread: hart 0 */
  call *c = malloc(sizeof *c);
  memcpy(c->args, args, sizeof c->args);
  c->ra = ra;
  *user = c;
  if (!strcmp(f->name, "free")) {
    printf("free %llx ra=%llx\n", (unsigned long long)args[0], (unsigned long long)ra);
    free(c);
    *user = NULL;
  }
  if (!strcmp(f->name, "twice")) args[0] += 1;
}

static void post(void *data, wb_hart *h, uint64_t *ret, void *user) {
  const fn_info *f = data;
  call *c = user;
  if (wb_hart_id(h) != 0) abort();
  if (!c) return;
  printf("%s", f->name);
  for (int i = 0; i < f->nargs; i++) printf(" %llx", (unsigned long long)c->args[i]);
  printf(" -> %llx ra=%llx\n", (unsigned long long)*ret, (unsigned long long)c->ra);
  if (!strcmp(f->name, "twice")) *ret += 1000;
  free(c);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: test_wrap interp|jit ELF [LO HI]\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);
  wb_config cfg;
  wb_config_init(&cfg);
  cfg.tier = !strcmp(argv[1], "jit") ? WB_TIER_JIT : WB_TIER_INTERP;
  cfg.max_insns = 1000000000;
  cfg.stdout_fd = 2; /* the guest's output goes to stderr, the log to stdout */
  char err[256];
  wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
  if (!m) { fprintf(stderr, "%s\n", err); return 2; }
  const char *args[] = {argv[2]};
  if (wb_machine_load(m, argv[2], 1, args, 0, NULL, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); return 2; }
  static const fn_info fns[] = {{"malloc", 1}, {"calloc", 2}, {"realloc", 2}, {"free", 1}, {"twice", 1}};
  for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (wb_wrap(m, fns[i].name, pre, strcmp(fns[i].name, "free") ? post : NULL, (void *)&fns[i]) != 0)
      printf("nowrap %s\n", fns[i].name);
  if (argc >= 5 && wb_wrap_when(m, "free", 0, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0)) != 0)
    printf("no guard\n");
  if (wb_wrap_when(m, "malloc", 0, 0, 1) == 0) printf("guarded a wrap with a post hook\n");
  if (wb_wrap(m, "no_such_function", pre, post, NULL) == 0) printf("wrapped a missing symbol\n");
  wb_result r;
  wb_machine_run(m, &r);
  printf("reason %s exit %d\n", wb_reason_name(r.reason), r.exit_code);
  if (r.reason != WB_REASON_EXIT) printf("message %s\n", r.message);
  wb_machine_destroy(m);
  return 0;
}
