/* wbrun.c — run a RISC-V Linux ELF on the engine from the command line, without Python.
 *
 * Used by the C-level tests (and the sanitizer build in CI). Usage:
 *   wbrun [-T interp|jit] [-P parallel|deterministic] [-H JIT_HOT] [-n MAX_INSNS] [-r ROOT] [-m MEM_BYTES]
 *         [-t SECONDS] [-s SEED] [-W MECH] [-R] [-S] [-c CLIENT[:OPTIONS]]... ELF [ARGS...]
 * -T picks the tier (default: jit where available), -P how guest threads run (default:
 * parallel), -H how often a block runs before the JIT translates it (default 4), -W turns
 * the watchpoint unit on (unlimited, pageprot, debugregs or software; docs/watchpoints.md).
 * -R prints the final registers to stderr. -c adds a
 * built-in client (options as "k=v,k=v"); its records are counted (-S) and dropped, so the
 * clients run under the sanitizers too. Exit status: the guest's exit status, or 125 when
 * the run ended another way (the reason is printed on stderr), 2 for a load error.
 *
 * System mode (the virt board): wbrun -F FIRMWARE [-K KERNEL] [-I INITRD] [-A BOOTARGS]
 * [-M RAM_MIB] [-N HARTS] [-D DISK] [-C] [-n MAX_INSNS] [-t SECONDS] [-S] boots instead of
 * running an ELF (the console goes to stdout; the exit status is the one the guest powered
 * off with). -D attaches a raw disk image as the virtio block device, -C lets device time
 * follow the host clock (default: deterministic); the harts run in turn on this thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wb/engine.h"

int main(int argc, char **argv) {
  wb_config cfg;
  wb_config_init(&cfg);
  cfg.root = ".";
  int opt, dump_regs = 0, stats = 0, nclients = 0, host_clock = 0;
  char *clients[8];
  wb_boot boot = {0};
  while ((opt = getopt(argc, argv, "+T:P:H:n:r:m:t:s:c:W:RSF:K:I:A:M:N:D:C")) != -1) {
    switch (opt) {
      case 'T':
        if (!strcmp(optarg, "jit")) cfg.tier = WB_TIER_JIT;
        else if (!strcmp(optarg, "interp")) cfg.tier = WB_TIER_INTERP;
        else { fprintf(stderr, "wbrun: unknown tier %s\n", optarg); return 2; }
        break;
      case 'P':
        if (!strcmp(optarg, "parallel")) cfg.schedule = WB_SCHEDULE_PARALLEL;
        else if (!strcmp(optarg, "deterministic")) cfg.schedule = WB_SCHEDULE_DETERMINISTIC;
        else { fprintf(stderr, "wbrun: unknown schedule %s\n", optarg); return 2; }
        break;
      case 'H': cfg.jit_hot = (uint32_t)strtoul(optarg, NULL, 0); break;
      case 'n': cfg.max_insns = strtoull(optarg, NULL, 0); break;
      case 'r': cfg.root = optarg; break;
      case 'm': cfg.mem_limit = strtoull(optarg, NULL, 0); break;
      case 't': {
        /* inf (or >= 1e9 s) means no limit; NaN and negative values are refused by
         * wb_machine_create; anything that is not a number at all is refused here */
        char *end;
        cfg.wall_limit_s = strtod(optarg, &end);
        if (end == optarg || *end) { fprintf(stderr, "wbrun: bad wall-clock limit %s\n", optarg); return 2; }
        break;
      }
      case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
      case 'W': {
        static const char *mechs[] = {"unlimited", "pageprot", "debugregs", "software"};
        cfg.watch = 0;
        for (int k = 0; k < 4; k++) if (!strcmp(optarg, mechs[k])) cfg.watch = k + 1;
        if (!cfg.watch) { fprintf(stderr, "wbrun: unknown watchpoint mechanism %s\n", optarg); return 2; }
        break;
      }
      case 'F': boot.firmware = optarg; break;
      case 'K': boot.kernel = optarg; break;
      case 'I': boot.initrd = optarg; break;
      case 'A': boot.bootargs = optarg; break;
      case 'M': boot.ram_bytes = strtoull(optarg, NULL, 0) << 20; break;
      case 'N': boot.harts = atoi(optarg); break;
      case 'D': boot.disk = optarg; break;
      case 'C': host_clock = 1; break;
      case 'R': dump_regs = 1; break;
      case 'S': stats = 1; break;
      case 'c':
        if (nclients == 8) { fprintf(stderr, "wbrun: at most 8 clients\n"); return 2; }
        clients[nclients++] = optarg;
        break;
      default:
        fprintf(stderr, "usage: wbrun [-T tier] [-P schedule] [-H hot] [-n insns] [-r root] [-m bytes] [-t s] [-s seed] [-W mech] [-R] [-S] [-c client[:opts]] ELF [ARGS...]\n       wbrun -F firmware [-K kernel] [-I initrd] [-A bootargs] [-M ram_mib] [-N harts] [-D disk] [-C] [-n insns] [-t s] [-S]\n");
        return 2;
    }
  }
  char err[512];
  wb_machine *m;
  if (boot.firmware) {   /* system mode */
    cfg.schedule = WB_SCHEDULE_DETERMINISTIC;   /* its harts run in turn on this thread */
    cfg.deterministic = !host_clock;
    m = wb_system_create(&cfg, &boot, err, sizeof err);
    if (!m) { fprintf(stderr, "wbrun: %s\n", err); return 2; }
  } else {
    if (optind >= argc) { fprintf(stderr, "wbrun: no ELF given\n"); return 2; }
    m = wb_machine_create(&cfg, err, sizeof err);
    if (!m) { fprintf(stderr, "wbrun: %s\n", err); return 2; }
  }
  if (!boot.firmware && wb_machine_load(m, argv[optind], argc - optind, (const char *const *)argv + optind, 0, NULL,
                      err, sizeof err) != 0) {
    fprintf(stderr, "wbrun: %s\n", err);
    wb_machine_destroy(m);
    return 2;
  }
  for (int i = 0; i < nclients; i++) {
    char *opts = strchr(clients[i], ':');
    if (opts) *opts++ = 0;
    if (wb_machine_add_client_opts(m, clients[i], opts, err, sizeof err) != 0) {
      fprintf(stderr, "wbrun: %s\n", err);
      wb_machine_destroy(m);
      return 2;
    }
  }
  wb_result r;
  uint64_t records = 0;
  for (;;) {
    wb_machine_run(m, &r);
    for (int i = 0; i < wb_machine_stream_count(m); i++) {
      for (int h = 0; h < wb_machine_hart_count(m); h++) {
        uint64_t n = 0;
        wb_machine_stream_data(m, i, h, &n);
        records += n / wb_machine_stream_record_size(m, i);
      }
      wb_machine_stream_clear(m, i);
    }
    if (r.reason != WB_REASON_DRAIN) break;
  }
  if (dump_regs) {
    uint64_t x[32], f[32], pc; uint32_t fcsr;
    wb_machine_regs(m, x, f, &pc, &fcsr);
    for (int i = 0; i < 32; i++) fprintf(stderr, "x%d=%016llx\n", i, (unsigned long long)x[i]);
    for (int i = 0; i < 32; i++) fprintf(stderr, "f%d=%016llx\n", i, (unsigned long long)f[i]);
    fprintf(stderr, "pc=%016llx fcsr=%x\n", (unsigned long long)pc, fcsr);
  }
  if (stats && boot.firmware)
    fprintf(stderr, "wbrun: %llu interrupts taken\n", (unsigned long long)wb_system_interrupts(m));
  if (stats) {
    double s = r.host_ns / 1e9;
    fprintf(stderr, "wbrun: %llu insns in %.3f s (%.1f MIPS), %llu blocks, %llu syscalls, %llu records\n",
            (unsigned long long)r.instret, s, s > 0 ? r.instret / s / 1e6 : 0.0,
            (unsigned long long)r.blocks_translated, (unsigned long long)r.syscalls_total,
            (unsigned long long)records);
  }
  int status = r.reason == WB_REASON_EXIT ? (r.exit_code & 0xff) : 125;
  if (r.reason != WB_REASON_EXIT) fprintf(stderr, "wbrun: %s\n", r.message);
  wb_machine_destroy(m);
  return status;
}
