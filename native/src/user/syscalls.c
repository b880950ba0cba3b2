/* syscalls.c — the syscall entry point of the user-mode layer: dispatch table (riscv64 uses
 * the asm-generic numbers), counting, the name table, and wb_user_init/wb_user_fini.
 *
 * Numbers were checked against the kernel's asm-generic/unistd.h as installed for riscv64
 * (riscv64-linux-gnu and zig's riscv64 headers agree). Note: riscv64 has no open, stat, fork,
 * renameat, dup2, pipe, poll, select: only the *at / 2 / 3 forms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user_internal.h"
#include "client.h"

static const char *const names[WB_MAX_SYSCALL] = {
    [0] = "io_setup",
    [1] = "io_destroy",
    [2] = "io_submit",
    [3] = "io_cancel",
    [4] = "io_getevents",
    [5] = "setxattr",
    [6] = "lsetxattr",
    [7] = "fsetxattr",
    [8] = "getxattr",
    [9] = "lgetxattr",
    [10] = "fgetxattr",
    [11] = "listxattr",
    [12] = "llistxattr",
    [13] = "flistxattr",
    [14] = "removexattr",
    [15] = "lremovexattr",
    [16] = "fremovexattr",
    [17] = "getcwd",
    [18] = "lookup_dcookie",
    [19] = "eventfd2",
    [20] = "epoll_create1",
    [21] = "epoll_ctl",
    [22] = "epoll_pwait",
    [23] = "dup",
    [24] = "dup3",
    [25] = "fcntl",
    [26] = "inotify_init1",
    [27] = "inotify_add_watch",
    [28] = "inotify_rm_watch",
    [29] = "ioctl",
    [30] = "ioprio_set",
    [31] = "ioprio_get",
    [32] = "flock",
    [33] = "mknodat",
    [34] = "mkdirat",
    [35] = "unlinkat",
    [36] = "symlinkat",
    [37] = "linkat",
    [39] = "umount2",
    [40] = "mount",
    [41] = "pivot_root",
    [42] = "nfsservctl",
    [43] = "statfs",
    [44] = "fstatfs",
    [45] = "truncate",
    [46] = "ftruncate",
    [47] = "fallocate",
    [48] = "faccessat",
    [49] = "chdir",
    [50] = "fchdir",
    [51] = "chroot",
    [52] = "fchmod",
    [53] = "fchmodat",
    [54] = "fchownat",
    [55] = "fchown",
    [56] = "openat",
    [57] = "close",
    [58] = "vhangup",
    [59] = "pipe2",
    [60] = "quotactl",
    [61] = "getdents64",
    [62] = "lseek",
    [63] = "read",
    [64] = "write",
    [65] = "readv",
    [66] = "writev",
    [67] = "pread64",
    [68] = "pwrite64",
    [69] = "preadv",
    [70] = "pwritev",
    [71] = "sendfile",
    [72] = "pselect6",
    [73] = "ppoll",
    [74] = "signalfd4",
    [75] = "vmsplice",
    [76] = "splice",
    [77] = "tee",
    [78] = "readlinkat",
    [79] = "newfstatat",
    [80] = "fstat",
    [81] = "sync",
    [82] = "fsync",
    [83] = "fdatasync",
    [84] = "sync_file_range",
    [85] = "timerfd_create",
    [86] = "timerfd_settime",
    [87] = "timerfd_gettime",
    [88] = "utimensat",
    [89] = "acct",
    [90] = "capget",
    [91] = "capset",
    [92] = "personality",
    [93] = "exit",
    [94] = "exit_group",
    [95] = "waitid",
    [96] = "set_tid_address",
    [97] = "unshare",
    [98] = "futex",
    [99] = "set_robust_list",
    [100] = "get_robust_list",
    [101] = "nanosleep",
    [102] = "getitimer",
    [103] = "setitimer",
    [104] = "kexec_load",
    [105] = "init_module",
    [106] = "delete_module",
    [107] = "timer_create",
    [108] = "timer_gettime",
    [109] = "timer_getoverrun",
    [110] = "timer_settime",
    [111] = "timer_delete",
    [112] = "clock_settime",
    [113] = "clock_gettime",
    [114] = "clock_getres",
    [115] = "clock_nanosleep",
    [116] = "syslog",
    [117] = "ptrace",
    [118] = "sched_setparam",
    [119] = "sched_setscheduler",
    [120] = "sched_getscheduler",
    [121] = "sched_getparam",
    [122] = "sched_setaffinity",
    [123] = "sched_getaffinity",
    [124] = "sched_yield",
    [125] = "sched_get_priority_max",
    [126] = "sched_get_priority_min",
    [127] = "sched_rr_get_interval",
    [128] = "restart_syscall",
    [129] = "kill",
    [130] = "tkill",
    [131] = "tgkill",
    [132] = "sigaltstack",
    [133] = "rt_sigsuspend",
    [134] = "rt_sigaction",
    [135] = "rt_sigprocmask",
    [136] = "rt_sigpending",
    [137] = "rt_sigtimedwait",
    [138] = "rt_sigqueueinfo",
    [139] = "rt_sigreturn",
    [140] = "setpriority",
    [141] = "getpriority",
    [142] = "reboot",
    [143] = "setregid",
    [144] = "setgid",
    [145] = "setreuid",
    [146] = "setuid",
    [147] = "setresuid",
    [148] = "getresuid",
    [149] = "setresgid",
    [150] = "getresgid",
    [151] = "setfsuid",
    [152] = "setfsgid",
    [153] = "times",
    [154] = "setpgid",
    [155] = "getpgid",
    [156] = "getsid",
    [157] = "setsid",
    [158] = "getgroups",
    [159] = "setgroups",
    [160] = "uname",
    [161] = "sethostname",
    [162] = "setdomainname",
    [163] = "getrlimit",
    [164] = "setrlimit",
    [165] = "getrusage",
    [166] = "umask",
    [167] = "prctl",
    [168] = "getcpu",
    [169] = "gettimeofday",
    [170] = "settimeofday",
    [171] = "adjtimex",
    [172] = "getpid",
    [173] = "getppid",
    [174] = "getuid",
    [175] = "geteuid",
    [176] = "getgid",
    [177] = "getegid",
    [178] = "gettid",
    [179] = "sysinfo",
    [180] = "mq_open",
    [181] = "mq_unlink",
    [182] = "mq_timedsend",
    [183] = "mq_timedreceive",
    [184] = "mq_notify",
    [185] = "mq_getsetattr",
    [186] = "msgget",
    [187] = "msgctl",
    [188] = "msgrcv",
    [189] = "msgsnd",
    [190] = "semget",
    [191] = "semctl",
    [192] = "semtimedop",
    [193] = "semop",
    [194] = "shmget",
    [195] = "shmctl",
    [196] = "shmat",
    [197] = "shmdt",
    [198] = "socket",
    [199] = "socketpair",
    [200] = "bind",
    [201] = "listen",
    [202] = "accept",
    [203] = "connect",
    [204] = "getsockname",
    [205] = "getpeername",
    [206] = "sendto",
    [207] = "recvfrom",
    [208] = "setsockopt",
    [209] = "getsockopt",
    [210] = "shutdown",
    [211] = "sendmsg",
    [212] = "recvmsg",
    [213] = "readahead",
    [214] = "brk",
    [215] = "munmap",
    [216] = "mremap",
    [217] = "add_key",
    [218] = "request_key",
    [219] = "keyctl",
    [220] = "clone",
    [221] = "execve",
    [222] = "mmap",
    [223] = "fadvise64",
    [224] = "swapon",
    [225] = "swapoff",
    [226] = "mprotect",
    [227] = "msync",
    [228] = "mlock",
    [229] = "munlock",
    [230] = "mlockall",
    [231] = "munlockall",
    [232] = "mincore",
    [233] = "madvise",
    [234] = "remap_file_pages",
    [235] = "mbind",
    [236] = "get_mempolicy",
    [237] = "set_mempolicy",
    [238] = "migrate_pages",
    [239] = "move_pages",
    [240] = "rt_tgsigqueueinfo",
    [241] = "perf_event_open",
    [242] = "accept4",
    [243] = "recvmmsg",
    [258] = "riscv_hwprobe",
    [259] = "riscv_flush_icache",
    [260] = "wait4",
    [261] = "prlimit64",
    [262] = "fanotify_init",
    [263] = "fanotify_mark",
    [264] = "name_to_handle_at",
    [265] = "open_by_handle_at",
    [266] = "clock_adjtime",
    [267] = "syncfs",
    [268] = "setns",
    [269] = "sendmmsg",
    [270] = "process_vm_readv",
    [271] = "process_vm_writev",
    [272] = "kcmp",
    [273] = "finit_module",
    [274] = "sched_setattr",
    [275] = "sched_getattr",
    [276] = "renameat2",
    [277] = "seccomp",
    [278] = "getrandom",
    [279] = "memfd_create",
    [280] = "bpf",
    [281] = "execveat",
    [282] = "userfaultfd",
    [283] = "membarrier",
    [284] = "mlock2",
    [285] = "copy_file_range",
    [286] = "preadv2",
    [287] = "pwritev2",
    [288] = "pkey_mprotect",
    [289] = "pkey_alloc",
    [290] = "pkey_free",
    [291] = "statx",
    [292] = "io_pgetevents",
    [293] = "rseq",
    [294] = "kexec_file_load",
    [424] = "pidfd_send_signal",
    [425] = "io_uring_setup",
    [426] = "io_uring_enter",
    [427] = "io_uring_register",
    [428] = "open_tree",
    [429] = "move_mount",
    [430] = "fsopen",
    [431] = "fsconfig",
    [432] = "fsmount",
    [433] = "fspick",
    [434] = "pidfd_open",
    [435] = "clone3",
    [436] = "close_range",
    [437] = "openat2",
    [438] = "pidfd_getfd",
    [439] = "faccessat2",
    [440] = "process_madvise",
    [441] = "epoll_pwait2",
    [442] = "mount_setattr",
    [443] = "quotactl_fd",
    [444] = "landlock_create_ruleset",
    [445] = "landlock_add_rule",
    [446] = "landlock_restrict_self",
    [447] = "memfd_secret",
    [448] = "process_mrelease",
    [449] = "futex_waitv",
    [450] = "set_mempolicy_home_node",
    [451] = "cachestat",
    [452] = "fchmodat2",
    [453] = "map_shadow_stack",
    [454] = "futex_wake",
    [455] = "futex_wait",
    [456] = "futex_requeue",
    [457] = "statmount",
    [458] = "listmount",
    [459] = "lsm_get_self_attr",
    [460] = "lsm_set_self_attr",
    [461] = "lsm_list_modules",
    [462] = "mseal",
    [463] = "setxattrat",
    [464] = "getxattrat",
    [465] = "listxattrat",
    [466] = "removexattrat",
};

const char *wb_user_syscall_name(int nr) {
  if (nr < 0 || nr >= WB_MAX_SYSCALL) return NULL;
  return names[nr];
}

/* Handled on purpose with ENOSYS, the way a kernel without the feature answers; libc copes
 * (rseq registration, io_uring probes...). Counted normally, not as "unknown". */
static long sys_enosys_ok(wb_machine *m, wb_hart *h, const uint64_t a[6]) { return -ENOSYS; }

static const wb_sys_fn table[WB_MAX_SYSCALL] = {
    [17] = wb_sys_getcwd,
    [23] = wb_sys_dup,
    [24] = wb_sys_dup3,
    [25] = wb_sys_fcntl,
    [29] = wb_sys_ioctl,
    [32] = wb_sys_flock,
    [33] = wb_sys_mknodat,
    [34] = wb_sys_mkdirat,
    [35] = wb_sys_unlinkat,
    [36] = wb_sys_symlinkat,
    [37] = wb_sys_linkat,
    [43] = wb_sys_statfs,
    [44] = wb_sys_fstatfs,
    [45] = wb_sys_truncate,
    [46] = wb_sys_ftruncate,
    [47] = wb_sys_fallocate,
    [48] = wb_sys_faccessat,
    [49] = wb_sys_chdir,
    [50] = wb_sys_fchdir,
    [51] = wb_sys_chroot,
    [52] = wb_sys_fchmod,
    [53] = wb_sys_fchmodat,
    [54] = wb_sys_fchownat,
    [55] = wb_sys_fchown,
    [56] = wb_sys_openat,
    [57] = wb_sys_close,
    [59] = wb_sys_pipe2,
    [61] = wb_sys_getdents64,
    [62] = wb_sys_lseek,
    [63] = wb_sys_read,
    [64] = wb_sys_write,
    [65] = wb_sys_readv,
    [66] = wb_sys_writev,
    [67] = wb_sys_pread64,
    [68] = wb_sys_pwrite64,
    [69] = wb_sys_preadv,
    [70] = wb_sys_pwritev,
    [71] = wb_sys_sendfile,
    [72] = wb_sys_pselect6,
    [73] = wb_sys_ppoll,
    [78] = wb_sys_readlinkat,
    [79] = wb_sys_newfstatat,
    [80] = wb_sys_fstat,
    [81] = wb_sys_zero,            /* sync */
    [82] = wb_sys_fsync,
    [83] = wb_sys_fdatasync,
    [84] = wb_sys_fdatasync,       /* sync_file_range: flushing is all it can mean here */
    [88] = wb_sys_utimensat,
    [90] = wb_sys_capget,
    [92] = wb_sys_personality,
    [93] = wb_sys_exit,
    [94] = wb_sys_exit_group,
    [95] = wb_sys_wait4,           /* waitid: no children */
    [96] = wb_sys_set_tid_address,
    [98] = wb_sys_futex,
    [99] = wb_sys_set_robust_list,
    [100] = wb_sys_get_robust_list,
    [101] = wb_sys_nanosleep,
    [102] = wb_sys_getitimer,
    [103] = wb_sys_setitimer,
    [113] = wb_sys_clock_gettime,
    [114] = wb_sys_clock_getres,
    [115] = wb_sys_clock_nanosleep,
    [118] = wb_sys_zero,           /* sched_setparam */
    [119] = wb_sys_zero,           /* sched_setscheduler */
    [120] = wb_sys_sched_getscheduler,
    [121] = wb_sys_sched_getparam,
    [122] = wb_sys_zero,           /* sched_setaffinity */
    [123] = wb_sys_sched_getaffinity,
    [124] = wb_sys_sched_yield,
    [125] = wb_sys_sched_get_priority,
    [126] = wb_sys_sched_get_priority,
    [129] = wb_sys_kill,
    [130] = wb_sys_tkill,
    [131] = wb_sys_tgkill,
    [132] = wb_sys_sigaltstack,
    [133] = wb_sys_rt_sigsuspend,
    [134] = wb_sys_rt_sigaction,
    [135] = wb_sys_rt_sigprocmask,
    [136] = wb_sys_rt_sigpending,
    [139] = wb_sys_rt_sigreturn,
    [140] = wb_sys_setpriority,
    [141] = wb_sys_getpriority,
    [143] = wb_sys_setreid,        /* setregid */
    [144] = wb_sys_setid,          /* setgid */
    [145] = wb_sys_setreid,        /* setreuid */
    [146] = wb_sys_setid,          /* setuid */
    [147] = wb_sys_setresid,       /* setresuid */
    [148] = wb_sys_getresuid,
    [149] = wb_sys_setresid,       /* setresgid */
    [150] = wb_sys_getresuid,      /* getresgid: same ids */
    [151] = wb_sys_setfsid,        /* setfsuid */
    [152] = wb_sys_setfsid,        /* setfsgid */
    [153] = wb_sys_times,
    [154] = wb_sys_setpgid,
    [155] = wb_sys_getpgid,
    [156] = wb_sys_getsid,
    [157] = wb_sys_setsid,
    [158] = wb_sys_getgroups,
    [159] = wb_sys_setgroups,
    [160] = wb_sys_uname,
    [163] = wb_sys_getrlimit,
    [164] = wb_sys_setrlimit,
    [165] = wb_sys_getrusage,
    [166] = wb_sys_umask,
    [167] = wb_sys_prctl,
    [168] = wb_sys_getcpu,
    [169] = wb_sys_gettimeofday,
    [172] = wb_sys_getpid,
    [173] = wb_sys_getppid,
    [174] = wb_sys_getuid,         /* getuid */
    [175] = wb_sys_getuid,         /* geteuid */
    [176] = wb_sys_getgid,         /* getgid */
    [177] = wb_sys_getgid,         /* getegid */
    [178] = wb_sys_gettid,
    [220] = wb_sys_clone,
    [435] = sys_enosys_ok,  /* clone3: glibc falls back to clone */
    [179] = wb_sys_sysinfo,
    [214] = wb_sys_brk,
    [215] = wb_sys_munmap,
    [216] = wb_sys_mremap,
    [222] = wb_sys_mmap,
    [223] = wb_sys_fadvise64,
    [226] = wb_sys_mprotect,
    [227] = wb_sys_msync,
    [228] = wb_sys_mlock,          /* mlock */
    [229] = wb_sys_mlock,          /* munlock */
    [230] = wb_sys_zero,           /* mlockall */
    [231] = wb_sys_zero,           /* munlockall */
    [232] = wb_sys_mincore,
    [233] = wb_sys_madvise,
    [258] = wb_sys_riscv_hwprobe,
    [259] = wb_sys_riscv_flush_icache,
    [260] = wb_sys_wait4,
    [261] = wb_sys_prlimit64,
    [276] = wb_sys_renameat2,
    [278] = wb_sys_getrandom,
    [283] = wb_sys_membarrier,
    [284] = wb_sys_mlock,          /* mlock2 */
    [285] = wb_sys_copy_file_range,
    [291] = wb_sys_statx,
    [293] = sys_enosys_ok,         /* rseq: glibc falls back when unavailable */
    [424] = sys_enosys_ok,         /* pidfd_send_signal */
    [425] = sys_enosys_ok,         /* io_uring_setup */
    [426] = sys_enosys_ok,         /* io_uring_enter */
    [427] = sys_enosys_ok,         /* io_uring_register */
    [434] = sys_enosys_ok,         /* pidfd_open */
    [436] = wb_sys_close_range,
    [437] = wb_sys_openat2,
    [439] = wb_sys_faccessat2,
    [449] = sys_enosys_ok,         /* futex_waitv */
    [452] = wb_sys_fchmodat2,
};

int wb_user_syscall(wb_hart *h) {
  wb_machine *m = h->m;
  uint64_t nr = h->x[WB_REG_A7];
  uint64_t a[6];
  for (int i = 0; i < 6; i++) a[i] = h->x[WB_REG_A0 + i];
  m->syscalls_total++;
  long r;
  if (nr >= WB_MAX_SYSCALL) {
    m->unknown_other++;
    r = -ENOSYS;
  } else {
    m->syscall_counts[nr]++;
    wb_sys_fn fn = table[nr];
    if (fn) {
      r = fn(m, h, a);
    } else {
      /* Not implemented (clone, execve, sockets, ...): the guest sees ENOSYS and the run's
       * stats say which calls were missing. */
      m->unknown_syscalls[nr]++;
      r = -ENOSYS;
    }
  }
  if (m->clients) wb_clients_syscall(h, nr, a, r);
  /* a thread that blocks (or yields) returns r when it runs again, unless its wakeup says
   * otherwise; a run that stopped leaves a0 alone */
  if (m->stop_reason != WB_REASON_NONE && !wb_reason_resumable(m->stop_reason)) return 1;
  if (r == WB_SYSCALL_RESTART) {  /* the ecall runs again when the thread does (the caller
                                   * moves pc past it: back onto it) */
    h->pc -= 4;
    return 1;
  }
  h->x[WB_REG_A0] = (uint64_t)r;
  /* a pause another thread asked for meanwhile: this one stops after its syscall */
  return h->leave != 0 || m->stop_reason != WB_REASON_NONE;
}

int wb_user_init(wb_machine *m, char *err, size_t errlen) {
  wb_user *u = calloc(1, sizeof *u);
  if (!u) {
    snprintf(err, errlen, "out of host memory");
    return -1;
  }
  m->user = u;
  wb_misc_init(m);
  if (wb_fs_init(m, err, errlen) != 0) {
    wb_user_fini(m);
    return -1;
  }
  return 0;
}

void wb_user_fini(wb_machine *m) {
  if (!m->user) return;
  wb_fs_fini(m);
  wb_threads_fini(m);
  free(m->user);
  m->user = NULL;
}
