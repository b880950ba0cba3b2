/* test_sample.c — precise guest state at asynchronous host signals in translated code.
 *
 * Runs the guest (argv[1], arguments after it) on the JIT while another host thread sends
 * SIGUSR1 at random intervals; each signal takes a sample of the exact guest state (jit.h:
 * the interrupted host code is single-stepped to the next guest instruction boundary, or the
 * sample is taken at the dispatcher). Then the same program runs on the interpreter, stopped
 * at each sample's instret exactly (budget stop plus single steps), and the pc and all
 * registers must be the interpreter's. Also checks wb_jit_locate's answer for the signal's
 * host pc against the boundary the stepping reached.
 * A program with guest threads is checked by its outcome instead: the interpreted run must
 * end with every hart's instruction count equal to the sampled JIT run's.
 * Prints "samples N in_code K stepped S dispatcher D mismatches 0" and exits 0 on success.
 *
 * Built and run by tests/test_jit_signals.py (with AddressSanitizer/UBSan when available).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "interp.h"
#include "jit/jit.h"
#include "machine.h"

#define MAXS 400
static wb_jit_sample samples[MAXS];
static volatile int done;
static pthread_t target;

static void *sender(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!done) {
    struct timespec ts = {0, 20000 + (long)(rand_r(&seed) % 200000)};
    nanosleep(&ts, NULL);
    if (!done) pthread_kill(target, SIGUSR1);
  }
  return NULL;
}

static wb_machine *make(int tier, int argc, char **argv, int devnull) {
  wb_config cfg;
  wb_config_init(&cfg);
  cfg.tier = tier;
  cfg.schedule = WB_SCHEDULE_DETERMINISTIC;  /* the interpreter replays the same interleaving */
  cfg.root = ".";
  cfg.stdout_fd = devnull;
  cfg.stderr_fd = devnull;
  char err[256];
  wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
  if (!m || wb_machine_load(m, argv[1], argc - 1, (const char *const *)argv + 1, 0, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "setup: %s\n", err);
    exit(2);
  }
  return m;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: test_sample ELF [ARGS]\n"); return 2; }
  int devnull = open("/dev/null", O_WRONLY);
  wb_machine *j = make(WB_TIER_JIT, argc, argv, devnull);
  if (wb_jit_sampler_start(j, SIGUSR1, samples, MAXS) != 0) { fprintf(stderr, "sampler\n"); return 2; }
  target = pthread_self();
  pthread_t th;
  pthread_create(&th, NULL, sender, (void *)(uintptr_t)12345);
  wb_result r;
  wb_machine_run(j, &r);
  done = 1;
  pthread_join(th, NULL);
  wb_jit_sampler_stop(j);
  size_t n = wb_jit_sampler_count(j);
  if (r.reason != WB_REASON_EXIT) { fprintf(stderr, "jit run: %s\n", r.message); return 1; }

  int in_code = 0, stepped = 0, at_disp = 0, bad = 0, locate_bad = 0;
  wb_machine *it = make(WB_TIER_INTERP, argc, argv, devnull);
  if (j->nharts > 1) {
    /* Guest threads: samples are per hart, and a replay stopped at one hart's count would
     * have to reproduce the scheduler's switches between single steps. The scheduler is
     * deterministic and the same on both tiers, so instead the whole interpreted run must
     * end exactly like the sampled JIT run: every hart's instruction count, the exit. */
    for (size_t k = 0; k < n; k++) {
      if (samples[k].where == 0) { in_code++; if (samples[k].steps) stepped++; } else at_disp++;
    }
    wb_result ri;
    wb_machine_run(it, &ri);
    bad = ri.reason != r.reason || ri.exit_code != r.exit_code || ri.instret != r.instret ||
          it->nharts != j->nharts;
    for (int h = 0; h < it->nharts && !bad; h++) bad = it->harts[h]->instret != j->harts[h]->instret;
    if (bad) fprintf(stderr, "threads: the interpreter's run ends differently (%llu vs %llu insns, %d vs %d harts)\n",
                     (unsigned long long)ri.instret, (unsigned long long)r.instret, it->nharts, j->nharts);
    printf("samples %zu in_code %d stepped %d dispatcher %d mismatches %d locate_bad 0 harts %d\n", n, in_code,
           stepped, at_disp, bad, j->nharts);
    wb_machine_destroy(it);
    wb_machine_destroy(j);
    return bad;
  }
  for (size_t k = 0; k < n; k++) {
    const wb_jit_sample *s = &samples[k];
    if (s->where == 0) { in_code++; if (s->steps) stepped++; } else at_disp++;
    if (k && s->instret < samples[k - 1].instret) { fprintf(stderr, "samples out of order\n"); return 1; }
    /* run the interpreter to one instruction before the sample, then step once */
    uint64_t prev_pc = ~0ull;
    if (s->instret > it->harts[0]->instret) {
      it->cfg.max_insns = s->instret - 1;
      if (it->harts[0]->instret < s->instret - 1) wb_machine_run(it, &r);
      /* the budget stops at a block boundary: single-step the rest (a syscall in a step must
       * not see the budget stop as pending) */
      if (it->stop_reason == WB_REASON_BUDGET) it->stop_reason = WB_REASON_NONE;
      while (it->harts[0]->instret < s->instret - 1 && it->stop_reason == WB_REASON_NONE) wb_interp_step(it->harts[0], NULL, 0);
      prev_pc = it->harts[0]->pc;
      if (it->stop_reason == WB_REASON_NONE) wb_interp_step(it->harts[0], NULL, 0);
    }
    /* when the stepping stopped at the boundary wb_jit_locate named, the instruction it named
     * is the one that just completed there, or (the signal hit a block's entry check, before
     * any of its instructions) the one about to run */
    if (s->where == 0 && s->steps && s->boundary == s->located_next && prev_pc != ~0ull &&
        prev_pc != s->located_pc && s->pc != s->located_pc) {
      if (locate_bad < 5)
        fprintf(stderr, "sample %zu: located %llx; around the boundary: %llx then %llx\n", k,
                (unsigned long long)s->located_pc, (unsigned long long)prev_pc, (unsigned long long)s->pc);
      locate_bad++;
    }
    int same = it->harts[0]->instret == s->instret && it->harts[0]->pc == s->pc;
    for (int i = 1; i < 32 && same; i++) same = it->harts[0]->x[i] == s->x[i];
    if (!same) {
      if (bad < 5)
        fprintf(stderr, "sample %zu (where %d, steps %u): jit pc %llx instret %llu, interp pc %llx instret %llu\n",
                k, s->where, s->steps, (unsigned long long)s->pc, (unsigned long long)s->instret,
                (unsigned long long)it->harts[0]->pc, (unsigned long long)it->harts[0]->instret);
      bad++;
    }
  }
  printf("samples %zu in_code %d stepped %d dispatcher %d mismatches %d locate_bad %d\n", n, in_code,
         stepped, at_disp, bad, locate_bad);
  wb_machine_destroy(it);
  wb_machine_destroy(j);
  return bad || locate_bad ? 1 : 0;
}
