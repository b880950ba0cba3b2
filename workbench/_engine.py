"""The binding to the C engine (native/): cffi in ABI mode over ``libwbengine.so``.

ABI mode needs no compiler at import time: the library is built once by ``pip install -e .``
(scikit-build-core runs CMake) and opened here with ``dlopen``. The declarations below are the
part of ``native/include/wb/engine.h`` Python calls, and the ``WB_*`` constants are its
``#define``s; they are written out here because a wheel ships the library but not the headers,
and tests/test_contracts.py holds every one of them to the header (signatures, struct fields,
enum values, constants, and the struct layouts cffi computes against the C compiler's).
"""
from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import cffi

CDEF = """
enum wb_tier { WB_TIER_INTERP = 0, WB_TIER_JIT = 1 };
enum wb_schedule { WB_SCHEDULE_DETERMINISTIC = 0, WB_SCHEDULE_PARALLEL = 1 };
typedef struct wb_config {
  int tier;
  uint64_t max_insns;
  uint64_t mem_limit;
  double wall_limit_s;
  int deterministic;
  uint64_t seed;
  uint64_t ns_per_insn;
  const char *root;
  const char *cwd;
  int stdin_fd, stdout_fd, stderr_fd;
  uint32_t jit_hot;
  uint64_t jit_profile_insns;
  uint64_t jit_cache_bytes;
  uint32_t max_threads;
  uint64_t quantum;
  int schedule;
  int watch;
  uint64_t watch_cache;
  uint64_t watch_blb;
  uint32_t watch_blb_runs;
  int watch_trace;
} wb_config;
enum wb_watch_mech { WB_WATCH_OFF = 0, WB_WATCH_UNLIMITED = 1, WB_WATCH_PAGEPROT = 2,
                     WB_WATCH_DEBUGREGS = 3, WB_WATCH_SOFTWARE = 4 };
typedef struct wb_result {
  int reason;
  int exit_code;
  uint64_t pc;
  uint64_t fault_addr;
  uint64_t instret;
  uint64_t host_ns;
  uint64_t blocks_translated;
  uint64_t cache_flushes;
  uint64_t syscalls_total;
  uint64_t mem_peak;
  char message[512];
} wb_result;
typedef struct wb_machine wb_machine;
typedef struct wb_boot {
  const char *firmware;
  const char *kernel;
  const char *initrd;
  const char *bootargs;
  const char *disk;
  uint64_t ram_bytes;
  int harts;
} wb_boot;
void wb_config_init(wb_config *cfg);
wb_machine *wb_system_create(const wb_config *cfg, const wb_boot *boot, char *err, size_t errlen);
size_t wb_system_console_input(wb_machine *m, const void *bytes, size_t n);
int wb_system_inject_ipi(wb_machine *m, int hart);
uint64_t wb_system_interrupts(const wb_machine *m);
int wb_system_power(const wb_machine *m);
typedef struct wb_irq_record {
  uint64_t arrival_insn, delivery_insn;
  uint64_t arrival_ns, delivery_ns;
  uint64_t pc;
  uint32_t cause;
  uint8_t hart, from_priv, to_priv, pad;
} wb_irq_record;
size_t wb_system_interrupt_log(const wb_machine *m, size_t start, wb_irq_record *out, size_t max,
                               uint64_t *total, uint64_t *dropped);
wb_machine *wb_machine_create(const wb_config *cfg, char *err, size_t errlen);
int wb_machine_load(wb_machine *m, const char *path, int argc, const char *const *argv,
                    int envc, const char *const *envp, char *err, size_t errlen);
int wb_machine_run(wb_machine *m, wb_result *res);
const uint64_t *wb_machine_syscall_counts(const wb_machine *m);
const uint64_t *wb_machine_unknown_syscalls(const wb_machine *m, uint64_t *unknown_other);
void wb_machine_regs(const wb_machine *m, uint64_t *x, uint64_t *f, uint64_t *pc, uint32_t *fcsr);
void wb_machine_destroy(wb_machine *m);
const char *wb_reason_name(int reason);
const char *wb_engine_version(void);
int wb_tier_available(int tier);
const char *wb_builtin_client(int i);
int wb_machine_add_client(wb_machine *m, const char *name, char *err, size_t errlen);
int wb_machine_add_client_opts(wb_machine *m, const char *name, const char *options, char *err, size_t errlen);
int wb_machine_stream_count(const wb_machine *m);
const char *wb_machine_stream_name(const wb_machine *m, int i);
uint32_t wb_machine_stream_record_size(const wb_machine *m, int i);
int wb_machine_hart_count(const wb_machine *m);
uint64_t wb_machine_hart_instret(const wb_machine *m, int hart);
const void *wb_machine_stream_data(const wb_machine *m, int i, int hart, uint64_t *nbytes);
void wb_machine_stream_clear(wb_machine *m, int i);
void wb_machine_set_drain_bytes(wb_machine *m, uint64_t bytes);
const char *wb_syscall_name(int nr);
int wb_disassemble(uint32_t raw, uint64_t pc, char *buf, size_t n);
enum wb_watch_op_kind { WB_WATCH_OP_LOAD = 0, WB_WATCH_OP_STORE = 1, WB_WATCH_OP_SET = 2, WB_WATCH_OP_CLEAR = 3 };
typedef struct wb_watch_op {
  uint8_t kind, flags;
  uint8_t pad[6];
  uint64_t addr, len;
} wb_watch_op;
typedef struct wb_watch_counters {
  uint64_t loads, stores, sets, clears;
  uint64_t lookups, hits, misses, handler_calls, evictions, invalidations, updates, triggers;
  uint64_t splits, merges, segments_max;
  uint64_t blb_lookups, blb_hits, blb_misses, blb_evictions, blb_updates;
} wb_watch_counters;
int wb_watch_replay(const wb_watch_op *ops, size_t n, uint64_t rc_entries, uint64_t blb_entries,
                    uint64_t blb_runs, wb_watch_counters *out, char *err, size_t errlen);
typedef struct wb_watch_stats {
  wb_watch_counters unit;
  uint64_t segments;
  uint64_t view_faults;
  uint64_t false_faults;
  uint64_t inline_checks;
  uint64_t marked;
  uint64_t rebuilds;
  uint64_t guest_sets, guest_clears;
  uint64_t traps;
  uint64_t uncovered_sets, uncovered_bytes;
} wb_watch_stats;
int wb_machine_watch_stats(wb_machine *m, wb_watch_stats *out);
typedef struct wb_taint_stats {
  uint64_t triggers;
  uint64_t step_entries;
  uint64_t steps;
  uint64_t tainted_bytes;
  uint64_t sourced_bytes;
} wb_taint_stats;
int wb_machine_taint_stats(wb_machine *m, wb_taint_stats *out);
typedef struct wb_aikido_stats {
  uint64_t threads;
  uint64_t views;
  uint64_t pages_touched;
  uint64_t pages_claimed;
  uint64_t pages_shared;
  uint64_t first_touch_faults;
  uint64_t share_faults;
  uint64_t shared_faults;
  uint64_t marked;
  uint64_t retranslations;
  uint64_t view_switches;
  uint64_t accesses;
  uint64_t shared_accesses;
} wb_aikido_stats;
int wb_machine_aikido_stats(wb_machine *m, wb_aikido_stats *out);
typedef struct wb_fasttrack_stats {
  uint64_t filtered;
  uint64_t reads, writes;
  uint64_t same_epoch;
  uint64_t read_shared;
  uint64_t syncs;
  uint64_t races;
  uint64_t race_pairs;
  uint64_t in_libc;
  uint64_t shadow_bytes;
  uint64_t watchsets;
  uint64_t set_skips;
  wb_watch_counters units;
} wb_fasttrack_stats;
int wb_machine_fasttrack_stats(wb_machine *m, wb_fasttrack_stats *out);
"""

WB_MAX_SYSCALL = 512         # syscall numbers counted individually: 0 .. WB_MAX_SYSCALL-1
WB_WALL_LIMIT_NONE_S = 1e9   # a wall-clock limit this large (s) or larger is none
LIBNAME = "libwbengine.so"

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    out = []
    if os.environ.get("WB_ENGINE_LIB"):
        out.append(Path(os.environ["WB_ENGINE_LIB"]))
    out.append(here / "_native" / LIBNAME)
    for key in ("platlib", "purelib"):
        out.append(Path(sysconfig.get_paths()[key]) / "workbench" / "_native" / LIBNAME)
    return out


def find_library() -> Path:
    """Path of the engine's shared library (``WB_ENGINE_LIB`` overrides the search)."""
    for c in _candidates():
        if c.is_file():
            return c
    raise ImportError(
        "the workbench engine library (libwbengine.so) was not found; build it with "
        "`pip install -e .` (or `make test`). Looked in: " + ", ".join(map(str, _candidates()))
    )


lib = ffi.dlopen(str(find_library()))
