/* engine.h — the engine's public C API: configure a machine, load a guest, run it, read stats.
 *
 * This is the whole surface Python binds (through cffi, ABI mode; see workbench/_engine.py),
 * so it uses only plain C types. Example:
 *
 *   wb_config cfg; wb_config_init(&cfg);
 *   cfg.max_insns = 1000000000; cfg.root = "/tmp/guestroot";
 *   char err[256];
 *   wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
 *   const char *argv[] = {"hello"};
 *   if (!m || wb_machine_load(m, "hello.elf", 1, argv, 0, NULL, err, sizeof err) != 0) ...;
 *   wb_result r; wb_machine_run(m, &r);
 *   printf("%s: exit %d after %llu insns\n", wb_reason_name(r.reason), r.exit_code,
 *          (unsigned long long)r.instret);
 *   wb_machine_destroy(m);
 */
#ifndef WB_ENGINE_H
#define WB_ENGINE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WB_ENGINE_VERSION "0.1.0"
#define WB_MAX_SYSCALL 512 /* syscall numbers counted individually: 0 .. WB_MAX_SYSCALL-1 */
#define WB_WALL_LIMIT_NONE_S 1e9 /* a wall-clock limit this large (s) or larger is none */

enum wb_tier { WB_TIER_INTERP = 0, WB_TIER_JIT = 1 };

/* Why a run ended. */
enum wb_reason {
  WB_REASON_NONE = 0,     /* not run yet */
  WB_REASON_EXIT,         /* the guest called exit/exit_group: exit_code is valid */
  WB_REASON_BUDGET,       /* the instruction budget (max_insns) was reached */
  WB_REASON_WALLCLOCK,    /* the wall-clock limit was reached */
  WB_REASON_FAULT,        /* guest memory fault (load, store or fetch): pc, fault_addr */
  WB_REASON_ILLEGAL,      /* illegal instruction: pc */
  WB_REASON_EBREAK,       /* ebreak executed (no debugger attached) */
  WB_REASON_MEMCAP,       /* the memory cap was exceeded where it cannot be refused softly */
  WB_REASON_INTERNAL,     /* an engine limitation (message says which) */
  WB_REASON_SIGNAL,       /* the guest was killed by a signal it raised (tgkill/kill on itself) */
  WB_REASON_DRAIN,        /* event streams need draining: read them, then call run again */
  WB_REASON_DEADLOCK,     /* every guest thread waits and nothing can wake any of them */
};

typedef struct wb_config {
  int tier;                 /* enum wb_tier */
  uint64_t max_insns;       /* instruction budget; 0 = unlimited */
  uint64_t mem_limit;       /* bytes of guest memory that may be mapped; 0 = default (1 GiB) */
  double wall_limit_s;      /* wall-clock limit in seconds; 0 or >= WB_WALL_LIMIT_NONE_S
                               (inf too) = unlimited; NaN or negative: wb_machine_create fails */
  int deterministic;        /* 1 (default): virtual clock from instret, seeded getrandom */
  uint64_t seed;            /* seed for getrandom/AT_RANDOM in deterministic mode */
  uint64_t ns_per_insn;     /* virtual clock rate (deterministic mode); default 1 */
  const char *root;         /* host directory the guest's "/" maps to; NULL = no file access */
  const char *cwd;          /* guest working directory inside root; NULL = "/" */
  int stdin_fd, stdout_fd, stderr_fd; /* host fds behind guest fds 0, 1, 2 (-1 = closed) */
  uint32_t jit_hot;         /* JIT tier: times a block runs in the interpreter before it is
                               translated (default 4; 0 = translate at first execution) */
  uint64_t jit_profile_insns; /* JIT tier: instructions run with block counters before the
                               guest-to-host register map is chosen from them (default 2^25) */
  uint64_t jit_cache_bytes; /* JIT tier: size of the code cache (0 = 128 MiB; min 64 KiB);
                               when it fills, every translation is dropped and rebuilt */
  uint32_t max_threads;     /* guest threads live at once (0 = 256); clone fails with EAGAIN
                               past it */
  uint64_t quantum;         /* deterministic schedule: instructions a guest thread runs before
                               the scheduler picks the next one, with a choice seeded by `seed`
                               (0 = 20000) */
  int schedule;             /* enum wb_schedule: how guest threads share the host (default
                               parallel) */
  int watch;                /* enum wb_watch_mech: the watchpoint unit and how it finds the
                               accesses it checks (docs/watchpoints.md); 0 = off. User mode. */
  uint64_t watch_cache;     /* watchpoint unit: range-cache entries (0 = 64; 1 .. 2^24) */
  uint64_t watch_blb;       /* watchpoint unit: bitmap lookaside buffer lines (0 = none) */
  uint32_t watch_blb_runs;  /* ... for 64-byte lines crossed by this many runs (0 = 4; 2 .. 65) */
  int watch_trace;          /* 1: every operation the unit sees goes to stream "watch"
                               (wb_watch_op records), which the model replays */
} wb_config;

/* How the watchpoint unit finds the accesses it must check (docs/watchpoints.md). */
enum wb_watch_mech {
  WB_WATCH_OFF = 0,
  WB_WATCH_UNLIMITED = 1,  /* the unit; instructions that touch watched pages get inline checks */
  WB_WATCH_PAGEPROT = 2,   /* host page protection: a fault per access to a watched page */
  WB_WATCH_DEBUGREGS = 3,  /* four x86-style debug registers (1/2/4/8 aligned bytes each) */
  WB_WATCH_SOFTWARE = 4,   /* a check compiled before every load and store */
};

/* How guest threads run. Single-threaded programs run the same way under both. */
enum wb_schedule {
  WB_SCHEDULE_DETERMINISTIC = 0, /* interleaved on the calling host thread: quantum and seed fix
                                    the interleaving, so a run repeats bit for bit */
  WB_SCHEDULE_PARALLEL = 1,      /* one host thread per guest thread, really concurrent */
};

typedef struct wb_result {
  int reason;               /* enum wb_reason */
  int exit_code;            /* guest exit status (reason EXIT) or signal number (SIGNAL) */
  uint64_t pc;              /* pc where the run stopped */
  uint64_t fault_addr;      /* faulting guest address (reason FAULT) */
  uint64_t instret;         /* guest instructions retired */
  uint64_t host_ns;         /* wall time spent in wb_machine_run */
  uint64_t blocks_translated; /* blocks decoded (interpreter) or translated (JIT) */
  uint64_t cache_flushes;   /* code-cache flushes (fence.i, full cache) */
  uint64_t syscalls_total;
  uint64_t mem_peak;        /* peak bytes of guest memory mapped */
  char message[512];        /* human-readable reason, with pc and disassembly where relevant */
} wb_result;

/* Fill *cfg with defaults (tier jit where available, else interp; deterministic clock, seed 0,
 * parallel schedule, stdio fds 0/1/2, no root). */
void wb_config_init(wb_config *cfg);

typedef struct wb_machine wb_machine;

/* Create a machine (guest memory reserved, nothing loaded). NULL + message in err on failure. */
wb_machine *wb_machine_create(const wb_config *cfg, char *err, size_t errlen);

/* Load a static RISC-V Linux ELF and set up its stack (argv, envp, auxv). Returns 0, or -1 with
 * a message in err naming the problem (not an ELF, wrong class or machine, dynamically linked,
 * truncated, does not fit in memory, ...). */
int wb_machine_load(wb_machine *m, const char *path, int argc, const char *const *argv,
                    int envc, const char *const *envp, char *err, size_t errlen);

/* ---- system mode: a RISC-V "virt" board (qemu's layout) that boots M-mode firmware and a
 * kernel. The console (the UART) writes to cfg->stdout_fd; a poweroff ends the run with reason
 * EXIT and the code the guest gave (0 for a plain poweroff). Only the interp tier runs system
 * mode so far; cfg->schedule does not apply (one hart runs on the calling thread). */
typedef struct wb_boot {
  const char *firmware;     /* M-mode firmware at RAM start (OpenSBI fw_jump.bin or an ELF);
                               a bare-metal program needs nothing else */
  const char *kernel;       /* RV64 Linux Image (or ELF) at RAM start + 2 MiB, where fw_jump
                               jumps; NULL: none */
  const char *initrd;       /* initramfs (cpio), placed at RAM start + RAM/2; NULL: none */
  const char *bootargs;     /* the kernel command line (/chosen/bootargs); NULL: "" */
  const char *disk;         /* raw disk image for the virtio-blk device; NULL: no disk */
  uint64_t ram_bytes;       /* 0 = 256 MiB (16 MiB .. 2 GiB) */
  int harts;                /* 0 = 1 (only 1 so far) */
} wb_boot;

/* Create a system-mode machine with everything in `boot` loaded: hart 0 starts in M mode at
 * the firmware with a0 = hart id and a1 = the device tree's address, as qemu's reset code
 * leaves it. NULL + message in err (a missing or malformed image, a bad size). */
wb_machine *wb_system_create(const wb_config *cfg, const wb_boot *boot, char *err, size_t errlen);
/* Bytes for the console's input (the UART's receive queue): how many were queued. */
size_t wb_system_console_input(wb_machine *m, const void *bytes, size_t n);
/* Host-clock mode (deterministic = 0), from any thread: raise hart's machine software
 * interrupt (CLINT msip) as another hart would, at whatever instruction the hart is at. 1 if
 * it is a new one; 0 if one is still pending (not yet cleared by the guest: it merges, as on
 * hardware); -1 on a deterministic machine or a bad hart. */
int wb_system_inject_ipi(wb_machine *m, int hart);
/* Interrupts taken so far (system mode). */
uint64_t wb_system_interrupts(const wb_machine *m);
/* One interrupt taken by a hart: when its line rose (arrival) and when the hart took it
 * (delivery, at an instruction boundary), in the hart's instruction count and host time.
 * Arrival is the instruction count at which the board raised the line (deterministic mode:
 * exact; with host time, device deadlines are polled, so it is when the poll saw it). */
typedef struct wb_irq_record {
  uint64_t arrival_insn, delivery_insn;  /* the hart's instructions retired then */
  uint64_t arrival_ns, delivery_ns;      /* host CLOCK_MONOTONIC */
  uint64_t pc;                           /* the interrupted pc (where the handler returns) */
  uint32_t cause;                        /* 1 SSI, 3 MSI, 5 STI, 7 MTI, 9 SEI, 11 MEI */
  uint8_t hart, from_priv, to_priv, pad; /* privilege interrupted and taken to (0 U, 1 S, 3 M) */
} wb_irq_record;
#define WB_IRQ_LOG_MAX (1u << 20)        /* records kept per machine; later ones are counted */
/* Copy up to max records of the interrupt log from index start into out; returns how many.
 * *total (if not NULL) gets how many were taken, *dropped those past WB_IRQ_LOG_MAX. */
size_t wb_system_interrupt_log(const wb_machine *m, size_t start, wb_irq_record *out, size_t max,
                               uint64_t *total, uint64_t *dropped);
/* How the guest used the board's power switch (the SiFive test device): 0 not at all, 1 it
 * powered off (the run's exit code is the code it gave), 2 it asked for a reboot (the board
 * stops instead: a kernel that panics with panic=-1 ends this way). */
int wb_system_power(const wb_machine *m);

/* Run until the guest exits or a limit or fault stops it. Fills *res; returns res->reason. */
int wb_machine_run(wb_machine *m, wb_result *res);

/* Per-syscall counters (arrays of WB_MAX_SYSCALL entries), valid until destroy.
 * `unknown` counts syscalls that returned ENOSYS because the engine does not implement them;
 * *unknown_other counts unknown numbers >= WB_MAX_SYSCALL. */
const uint64_t *wb_machine_syscall_counts(const wb_machine *m);
const uint64_t *wb_machine_unknown_syscalls(const wb_machine *m, uint64_t *unknown_other);

/* Guest register state after a run (x: 32 entries, x[0] = 0; f: 32 raw FP registers). */
void wb_machine_regs(const wb_machine *m, uint64_t *x, uint64_t *f, uint64_t *pc, uint32_t *fcsr);

void wb_machine_destroy(wb_machine *m);

/* JIT tier: which guest instruction is host pc `host_pc` (a signal's interrupted pc) inside
 * translated code? 1 and *guest_pc (the interrupted instruction) and *next_boundary (host
 * address where the next guest instruction's code starts, where the guest state is exact; 0
 * if that is in another block), or 0 if host_pc is not in translated code. */
int wb_machine_locate(const wb_machine *m, uintptr_t host_pc, uint64_t *guest_pc, uintptr_t *next_boundary);

/* ---- analysis clients and their event streams (see wb/client.h for writing clients) ---- */
/* Name of built-in client i (0, 1, ...), NULL past the last: "null", "icount", ... */
const char *wb_builtin_client(int i);
/* Register built-in client `name` on m (before the first run). 0, or -1 + message in err. */
int wb_machine_add_client(wb_machine *m, const char *name, char *err, size_t errlen);
/* ... with options "key=value,key=value" (each client's file lists its own). Add clients
 * after wb_machine_load: some wrap the program's functions by symbol. */
int wb_machine_add_client_opts(wb_machine *m, const char *name, const char *options, char *err, size_t errlen);
/* The machine's event streams: count, name, record size, and the records not yet taken,
 * kept per hart (hardware thread) in the order that hart produced them (pointer valid until
 * wb_machine_stream_clear or the next run). */
int wb_machine_stream_count(const wb_machine *m);
const char *wb_machine_stream_name(const wb_machine *m, int i);
uint32_t wb_machine_stream_record_size(const wb_machine *m, int i);
int wb_machine_hart_count(const wb_machine *m);
/* Instructions retired by hart `hart` (user mode: guest thread `hart`, 0 the main thread). */
uint64_t wb_machine_hart_instret(const wb_machine *m, int hart);
const void *wb_machine_stream_data(const wb_machine *m, int i, int hart, uint64_t *nbytes);
void wb_machine_stream_clear(wb_machine *m, int i);
/* High-water mark of every stream in bytes (default 4 MiB): past it the run pauses with
 * WB_REASON_DRAIN at the next block boundary. */
void wb_machine_set_drain_bytes(wb_machine *m, uint64_t bytes);

const char *wb_reason_name(int reason);
const char *wb_engine_version(void);
/* 1 if this build and host can run the tier (the JIT needs an x86-64 Linux host). */
int wb_tier_available(int tier);
/* Name of the Linux syscall number on riscv64 ("openat"), or NULL if unknown to the engine. */
const char *wb_syscall_name(int nr);
/* Disassemble one raw instruction at pc into buf. */
int wb_disassemble(uint32_t raw, uint64_t pc, char *buf, size_t n);

/* The watchpoint unit (docs/watchpoints.md): a range table of byte-granular watch bits behind
 * an LRU range cache. A trace record: kind (WB_WATCH_OP_*), flags (set/clear: 1 read, 2 write,
 * 3 both), the first byte and the length. */
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
/* The unit on a machine created with wb_config.watch: its counters and the mechanism's. */
typedef struct wb_watch_stats {
  wb_watch_counters unit;   /* the range cache's and table's (as wb_watch_replay's) */
  uint64_t segments;        /* watched segments the table holds now */
  uint64_t view_faults;     /* accesses that faulted on a watched page (pageprot: all of them) */
  uint64_t false_faults;    /* ... of which touched no byte watched for their kind */
  uint64_t inline_checks;   /* checks called from translated code (marked instructions) */
  uint64_t marked;          /* instructions given an inline check */
  uint64_t rebuilds;        /* blocks rebuilt with inline checks */
  uint64_t guest_sets, guest_clears; /* the guest's wp.set / wp.clear */
  uint64_t traps;           /* watch traps raised to the guest */
  uint64_t uncovered_sets, uncovered_bytes; /* debugregs: sets no register could hold */
} wb_watch_stats;
/* 0 and *out filled, or -1 (and zeros) when the machine has no watchpoint unit. */
int wb_machine_watch_stats(wb_machine *m, wb_watch_stats *out);
/* Taint tracking on the unit (a client's wb_taint_enable; docs/watchpoints.md): how much ran
 * stepped (register taint propagated by demand emulation) and how much memory is tainted. */
typedef struct wb_taint_stats {
  uint64_t triggers;        /* checked accesses that touched tainted bytes (outside stepping) */
  uint64_t step_entries;    /* times a register became tainted while none was (propagation began) */
  uint64_t steps;           /* instructions run with propagation (stepped, or in the JIT's taint copies) */
  uint64_t tainted_bytes;   /* guest bytes tainted now */
  uint64_t sourced_bytes;   /* bytes marked tainted by clients (wb_taint_mark), in all */
} wb_taint_stats;
/* 0 and *out filled, or -1 (and zeros) when taint tracking is off. */
int wb_machine_taint_stats(wb_machine *m, wb_taint_stats *out);

/* Per-thread views (the aikido client, or fasttrack's filtered mode: docs/aikido.md). */
typedef struct wb_aikido_stats {
  uint64_t threads;            /* guest threads that ran with a view of their own */
  uint64_t views;              /* views made (a thread that exits hands its view on) */
  uint64_t pages_touched;      /* pages some thread touched (each is private to it first) */
  uint64_t pages_claimed;      /* of them, pages the first thread held data on when a second began */
  uint64_t pages_shared;       /* of them, pages a second thread touched: shared for good */
  uint64_t first_touch_faults; /* faults that gave a page its owner */
  uint64_t share_faults;       /* faults that made a page shared */
  uint64_t shared_faults;      /* faults on pages already shared (unmarked code, interpreter, atomics) */
  uint64_t marked;             /* instructions marked: their accesses go the instrumented path */
  uint64_t retranslations;     /* blocks the JIT translated again for marked instructions */
  uint64_t view_switches;      /* deterministic schedule: times the running thread (its view) changed */
  uint64_t accesses;           /* memory accesses of all threads (aikido option count=1; else 0) */
  uint64_t shared_accesses;    /* of them, plain loads and stores that touched a shared page */
} wb_aikido_stats;
/* 0 and *out filled, or -1 (and zeros) when no client uses per-thread views. */
int wb_machine_aikido_stats(wb_machine *m, wb_aikido_stats *out);

/* The FastTrack race detector (the fasttrack client: docs/aikido.md). */
typedef struct wb_fasttrack_stats {
  uint64_t filtered;           /* 1: behind the Aikido filter (mode=filtered), 0: every access */
  uint64_t reads, writes;      /* plain accesses analysed */
  uint64_t same_epoch;         /* of them, finished by the same-epoch fast path */
  uint64_t read_shared;        /* reads that needed a read vector clock */
  uint64_t syncs;              /* acquires and releases seen (atomics, futexes, libc calls, threads) */
  uint64_t races;              /* race detections */
  uint64_t race_pairs;         /* distinct (earlier pc, later pc) pairs: the records of stream "fasttrack" */
  uint64_t in_libc;            /* plain accesses inside wrapped libc calls, not analysed */
  uint64_t shadow_bytes;       /* host memory the detector's shadow and clocks hold */
  uint64_t watchsets;          /* 1: mode=watchsets (per-thread read/write-set units) */
  uint64_t set_skips;          /* watchsets: accesses no unit triggered on (not analysed) */
  wb_watch_counters units;     /* watchsets: the threads' units' counters, summed (segments_max: the largest) */
} wb_fasttrack_stats;
/* 0 and *out filled, or -1 (and zeros) when the machine has no fasttrack client. */
int wb_machine_fasttrack_stats(wb_machine *m, wb_fasttrack_stats *out);

/* Replay n records through a fresh unit with a range cache of rc_entries entries and a bitmap
 * lookaside buffer of blb_entries lines (0: none) for lines crossed by blb_runs runs or more;
 * *out gets the counters (of the records before a bad one, if any). 0, or -1 with err naming
 * the bad record (an empty or wrapping range, an access longer than 8 bytes, bad flags or
 * kind, the table's cap of 2^24 segments) or the bad parameter. */
int wb_watch_replay(const wb_watch_op *ops, size_t n, uint64_t rc_entries, uint64_t blb_entries,
                    uint64_t blb_runs, wb_watch_counters *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
