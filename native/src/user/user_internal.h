/* user_internal.h — private declarations shared by the files of the user-mode layer (user/):
 * the wb_user state, the fd table, path resolution inside the root, the guest RNG, and the
 * syscall handler signature. Nothing here is visible outside user/.
 */
#ifndef WB_USER_INTERNAL_H
#define WB_USER_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "../user.h"

#define WB_MAX_FDS 1024       /* guest fd table size (and the RLIMIT_NOFILE we report) */
#define WB_PATH_MAX 4096      /* longest guest path, NUL included (Linux PATH_MAX) */
#define WB_MAX_IOV 1024       /* UIO_MAXIOV */
#define WB_MAX_RW 0x7ffff000ull /* Linux MAX_RW_COUNT: most bytes one read/write moves */
#define WB_NSIG 64

/* Fixed identity of the guest process (deterministic). */
#define WB_PID 1000
#define WB_PPID 1
#define WB_UID 1000
#define WB_GID 1000

enum wb_fd_kind {
  WB_FD_FREE = 0,
  WB_FD_HOST,     /* a host fd: file, directory, pipe, device, the embedder's stdio */
  WB_FD_RANDOM,   /* virtual /dev/urandom, /dev/random: bytes from the guest RNG */
};

typedef struct wb_fd {
  int kind;           /* enum wb_fd_kind */
  int host;           /* host fd (WB_FD_HOST), else -1 */
  int borrowed;       /* the embedder's fd (cfg stdio): never closed by the engine */
  int cloexec;        /* guest FD_CLOEXEC (kept for F_GETFD; there is no exec) */
  int is_pipe;        /* host fd is a pipe, FIFO or socket: EPIPE/SIGPIPE handling */
  int internal;       /* pipe made by the guest's pipe2: host side always O_NONBLOCK */
  int nonblock;       /* guest O_NONBLOCK for internal pipes (host flag is always set) */
  int guest_flags;    /* guest open flags (O_ACCMODE, O_APPEND...) for the virtual kinds and
                       * for shared descriptions (their F_SETFL is kept here, not applied) */
  int in_root;        /* the host object was opened or created through the root (or is a
                       * pipe2 pipe): the only objects whose metadata the guest may change */
  int shared;         /* the open file description is the embedder's (its stdio, or a dup of
                       * it): F_SETFL/FIONBIO are emulated so the host's flags never change */
} wb_fd;

typedef struct wb_rng { uint64_t s[4]; } wb_rng;

/* What a pending signal's siginfo will say (signal.c): si_code, and si_addr for faults. */
typedef struct wb_siginfo { int32_t code; uint64_t addr; } wb_siginfo;

#define WB_NTIMERS 3 /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */

struct wb_user {
  wb_fd fds[WB_MAX_FDS];

  int rootfd;                 /* O_PATH fd of cfg.root, -1 when the guest has no files */
  char *root_real;            /* realpath of the root ("/" possible) */
  size_t root_len;
  char cwd[WB_PATH_MAX];      /* guest cwd: canonical absolute guest path */
  char exe_path[WB_PATH_MAX]; /* guest path of the executable (AT_EXECFN, /proc/self/exe) */
  char *exe_host;             /* host realpath of the executable: /proc/self/exe opens it
                               * read-only even when it lies outside the root */

  uint64_t load_bias;         /* added to the ELF's addresses (static-PIE), for symbols */
  uint8_t *exe_image;         /* the executable's bytes, read on the first symbol lookup */
  size_t exe_image_len;
  uint64_t brk_start, brk_cur;
  uint64_t cpu_start_ns;      /* guest monotonic time at load: base of the CPU-time clocks */
  uint64_t reserve_cursor;    /* wb_user_reserve: next search starts below it (0: mid-space) */

  wb_rng rng;
  uint32_t umask;
  char comm[16];              /* PR_SET_NAME */

  uint64_t sigaction[WB_NSIG + 1][3]; /* raw kernel struct sigaction: handler, flags, mask */
  uint64_t sigpending;        /* process-directed signals not yet taken by a thread */
  wb_siginfo info[WB_NSIG + 1];
  uint64_t rlim[16][2];
  struct wb_itimer {          /* setitimer: REAL, VIRTUAL, PROF (timers.c) */
    uint64_t deadline_ns;     /* on the timer's clock; 0: disarmed */
    uint64_t interval_ns;     /* re-arm period; 0: one-shot */
    uint64_t expired_ns;      /* ITIMER_REAL: the deadline that last fired (re-arming) */
  } itimer[WB_NTIMERS];
};
typedef struct wb_user wb_user;

/* A guest thread's own state (thread.c), behind its hart's `plat`. */
typedef struct wb_uthread {
  uint64_t clear_child_tid;   /* set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit */
  uint64_t robust_head, robust_len;
  uint64_t futex_addr;        /* blocked in a futex wait: the word's guest address (futex.c) */
  uint32_t futex_bits;        /* ... and its bitset */
  uint64_t sigmask;           /* blocked signals (signal.c) */
  uint64_t sigpending;        /* thread-directed signals (tkill, faults, SIGPIPE) */
  wb_siginfo info[WB_NSIG + 1];
  uint64_t altstack[3];       /* stack_t: ss_sp, ss_flags, ss_size */
  uint64_t saved_mask;        /* sigsuspend: the mask to restore once a handler ran */
  int restore_mask;
  int io_wait;                /* blocked until a guest pipe moves (sys_file.c: wb_io_wait) */
  uint64_t io_deadline;       /* poll: when the wait it restarts times out (guest ns; 0: none) */
} wb_uthread;

/* Guest pipes between threads (sys_file.c). A read of an empty guest pipe, a write to a full
 * one, or a poll on guest pipes only, while other threads live: the calling thread waits
 * until any thread moves data through or closes a guest pipe (or until wake_ns, 0: never),
 * then runs the same syscall again (returns WB_SYSCALL_RESTART). When every thread waits
 * so, the run ends as a deadlock, as a single-threaded program's does at once. */
#define WB_SYSCALL_RESTART (-513L)   /* the kernel's ERESTARTNOINTR */
long wb_io_wait(wb_machine *m, uint64_t wake_ns);
void wb_io_progress(wb_machine *m);

/* Hart h's thread state, allocated on first use (NULL only when out of host memory). */
wb_uthread *wb_ut(wb_hart *h);
/* The guest thread id of hart h (the main thread's is the pid). */
int wb_tid(const wb_hart *h);
/* The live thread with id tid, or NULL. */
wb_hart *wb_thread_of(wb_machine *m, int64_t tid);
/* Free every hart's thread state (wb_user_fini). */
void wb_threads_fini(wb_machine *m);
/* Wake up to n threads waiting on the futex word at uaddr whose bitset meets bits, oldest
 * first; returns how many. */
long wb_futex_wake(wb_machine *m, uint64_t uaddr, int n, uint32_t bits);

/* Signals (signal.c). Send sig to thread `to` (NULL: to the process) with si_code `code`
 * and si_addr `addr`; the run loop delivers it. 0 or -errno. */
long wb_signal_send(wb_machine *m, wb_hart *to, int sig, int code, uint64_t addr);
/* A fault's signal to the thread that faulted: delivered even if blocked or ignored (then
 * with the default action), as the kernel's force_sig. */
void wb_signal_force(wb_hart *h, int sig, int code, uint64_t addr);
/* Whether the guest installed a handler for sig. */
int wb_signal_has_handler(wb_machine *m, int sig);
/* Deliver h's deliverable pending signals: handler frames, or the default action. */
void wb_signals_deliver(wb_hart *h);
/* h waits (blocked) with a signal it takes pending: the wait ends with EINTR, as the kernel
 * ends one when a signal arrives. */
void wb_signal_interrupt_wait(wb_hart *h);
/* SIGALRM was taken by a thread: a periodic ITIMER_REAL starts its next period (timers.c). */
void wb_user_alarm_dequeued(wb_machine *m);

/* A syscall handler: args a0..a5 in a[], returns the value for a0 (-errno on error). When it
 * stops the run it calls wb_machine_stop; the dispatcher then leaves a0 alone. */
typedef long (*wb_sys_fn)(wb_machine *m, wb_hart *h, const uint64_t a[6]);

/* Handlers, grouped by file: declared here so syscalls.c can build the table. */
/* ---- address-space bookkeeping (vma.c) ---- */
/* A page reserved for a client (wb_guest_reserve) but not mapped: accesses fault like on any
 * unmapped page, but mmap placement and brk never take it. */
#define WB_PERM_RESERVED 0x40
/* A free (fully unmapped, unreserved) page-aligned range of len bytes in [lo, hi): the
 * highest one, searching down from hi (top-down placement, like Linux's mmap); 0 if none. */
uint64_t wb_vma_find_free(const wb_mem *m, uint64_t len, uint64_t lo, uint64_t hi);
/* Reserve the free pages of [addr, addr+len): 0, or -ENOMEM if a page is not free. Mapping
 * a reserved page takes the reservation; unmapping frees the page. */
int wb_vma_reserve(wb_mem *m, uint64_t addr, uint64_t len);
/* Drop the reservation of the unmapped reserved pages of [addr, addr+len). */
void wb_vma_unreserve(wb_mem *m, uint64_t addr, uint64_t len);

#define WB_SYS(name) long wb_sys_##name(wb_machine *m, wb_hart *hart, const uint64_t a[6])
/* sys_file.c */
WB_SYS(read); WB_SYS(write); WB_SYS(readv); WB_SYS(writev); WB_SYS(pread64); WB_SYS(pwrite64);
WB_SYS(preadv); WB_SYS(pwritev); WB_SYS(lseek); WB_SYS(close); WB_SYS(close_range);
WB_SYS(dup); WB_SYS(dup3); WB_SYS(fcntl); WB_SYS(ioctl); WB_SYS(pipe2); WB_SYS(getdents64);
WB_SYS(fstat); WB_SYS(ftruncate); WB_SYS(fsync); WB_SYS(fdatasync); WB_SYS(sendfile);
WB_SYS(ppoll); WB_SYS(pselect6); WB_SYS(fstatfs); WB_SYS(fchmod); WB_SYS(fallocate);
WB_SYS(flock); WB_SYS(fadvise64); WB_SYS(fchown); WB_SYS(copy_file_range);
/* sys_path.c */
WB_SYS(openat); WB_SYS(openat2); WB_SYS(newfstatat); WB_SYS(statx); WB_SYS(readlinkat);
WB_SYS(faccessat); WB_SYS(faccessat2); WB_SYS(unlinkat); WB_SYS(mkdirat); WB_SYS(renameat2);
WB_SYS(getcwd); WB_SYS(chdir); WB_SYS(fchdir); WB_SYS(utimensat); WB_SYS(symlinkat);
WB_SYS(linkat); WB_SYS(fchmodat); WB_SYS(fchmodat2); WB_SYS(fchownat); WB_SYS(truncate);
WB_SYS(statfs); WB_SYS(mknodat); WB_SYS(chroot);
/* sys_mem.c */
WB_SYS(brk); WB_SYS(mmap); WB_SYS(munmap); WB_SYS(mprotect); WB_SYS(mremap); WB_SYS(madvise);
WB_SYS(msync); WB_SYS(mincore); WB_SYS(mlock); WB_SYS(riscv_flush_icache);
/* sys_misc.c */
WB_SYS(exit); WB_SYS(exit_group); WB_SYS(clock_gettime); WB_SYS(clock_getres);
WB_SYS(gettimeofday); WB_SYS(nanosleep); WB_SYS(clock_nanosleep); WB_SYS(times);
WB_SYS(getrusage); WB_SYS(getrandom); WB_SYS(uname); WB_SYS(sysinfo); WB_SYS(getpid);
WB_SYS(getppid); WB_SYS(getuid); WB_SYS(getgid); WB_SYS(gettid); WB_SYS(getpgid);
WB_SYS(getsid); WB_SYS(setsid); WB_SYS(setpgid); WB_SYS(getresuid); WB_SYS(getgroups);
WB_SYS(setid); WB_SYS(setreid); WB_SYS(setresid); WB_SYS(setfsid); WB_SYS(setgroups); WB_SYS(umask); WB_SYS(prctl); WB_SYS(getrlimit);
WB_SYS(setrlimit); WB_SYS(prlimit64); WB_SYS(sched_getaffinity); WB_SYS(sched_yield);
WB_SYS(zero); WB_SYS(sched_getparam); WB_SYS(getcpu); WB_SYS(membarrier);
WB_SYS(riscv_hwprobe); WB_SYS(set_tid_address); WB_SYS(set_robust_list);
WB_SYS(get_robust_list); WB_SYS(futex); WB_SYS(clone); WB_SYS(rt_sigaction); WB_SYS(rt_sigprocmask);
WB_SYS(rt_sigpending); WB_SYS(rt_sigreturn); WB_SYS(sigaltstack); WB_SYS(kill); WB_SYS(tkill); WB_SYS(tgkill);
WB_SYS(wait4); WB_SYS(getpriority); WB_SYS(setpriority); WB_SYS(sched_getscheduler);
WB_SYS(sched_get_priority); WB_SYS(personality); WB_SYS(capget); WB_SYS(getitimer);
WB_SYS(setitimer); WB_SYS(rt_sigsuspend);

static inline wb_user *wb_u(wb_machine *m) { return m->user; }
/* Host pointer for a guest buffer that was checked for `n` bytes; with n == 0 the address was
 * not checked and may be anything, so point at guest address 0 instead (never dereferenced). */
static inline void *wb_gbuf(wb_machine *m, uint64_t addr, uint64_t n) {
  return wb_mem_host(&m->mem, n ? addr : 0);
}
static inline uint64_t wb_page_up(uint64_t v) {
  return (v + WB_PAGE_SIZE - 1) & ~(WB_PAGE_SIZE - 1);
}

/* fs.c: file-system state (root, cwd, fd table) */
int wb_fs_init(wb_machine *m, char *err, size_t errlen);
void wb_fs_fini(wb_machine *m);
/* fs.c: fd table */
void wb_fd_init(wb_machine *m);
void wb_fd_fini(wb_machine *m);
/* The guest fd's entry if open, else NULL. */
wb_fd *wb_fd_get(wb_machine *m, uint64_t gfd);
/* Install a new entry at the lowest free guest fd >= minfd. Returns the guest fd or -EMFILE
 * (on failure the host fd is NOT closed: the caller still owns it). */
int wb_fd_alloc(wb_machine *m, const wb_fd *e, int minfd);
/* Close a guest fd (host fd closed unless borrowed). 0 or -EBADF. */
int wb_fd_close(wb_machine *m, int gfd);
/* Host fd behind a guest fd for host I/O, or -EBADF (virtual kinds give -EINVAL). */
int wb_fd_host(wb_machine *m, uint64_t gfd);

/* fs.c: paths. A "guest path" here is absolute and already joined with cwd or dirfd.
 * wb_path_join builds it from (dirfd, path) as the *at syscalls see them: 0 or -errno
 * (-ENOENT when the guest has no root, -EBADF/-ENOTDIR for a bad dirfd). */
int wb_path_join(wb_machine *m, int64_t dirfd, const char *path, char *out, size_t outlen);
/* Read a guest path argument: 0 or -EFAULT/-ENAMETOOLONG/-ENOENT (empty). */
int wb_path_arg(wb_machine *m, uint64_t gaddr, char *buf, int allow_empty);
/* openat2 inside the root with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS. Host open flags.
 * Returns a host fd or -errno. */
int wb_path_open(wb_machine *m, const char *gpath, int host_flags, int mode);
/* Same, adding RESOLVE_* bits (the guest's own openat2 RESOLVE_NO_SYMLINKS/NO_XDEV). */
int wb_path_open2(wb_machine *m, const char *gpath, int host_flags, int mode,
                  uint64_t resolve_extra);
/* Open the parent directory of gpath (O_PATH) and give its last component in `name`.
 * Trailing slashes are stripped ("a/b/" -> parent "a", name "b", *slash = 1). A path whose last
 * component is "." or ".." or that is "/" gives name "" (*special = 1) and the fd of the
 * directory itself. Returns the host dirfd or -errno. */
int wb_path_parent(wb_machine *m, const char *gpath, char *name, int *slash, int *special);
/* Canonical guest path of a host fd inside the root (via /proc/self/fd). 0 or -errno. */
int wb_path_of_fd(wb_machine *m, int hostfd, char *out, size_t outlen);
/* Guest path of a host file if it lies inside the root, else NULL-equivalent (-1). */
int wb_path_guest_of_host(wb_machine *m, const char *host_path, char *out, size_t outlen);
/* The isolation rule: nothing a guest does may change a host object other than the regular
 * files and directories it reached through its root. The embedder's stdio, the executable
 * (/proc/self/exe), host device nodes and pipes handed in are read and written, never changed:
 * chmod, utimes, truncate, link, rename, unlink on them fail with EPERM. */
enum wb_change {
  WB_CHANGE_META,     /* mode, times, size: regular files and directories */
  WB_CHANGE_META_LNK, /* the same, where the call acts on a symlink itself (lutimes) */
  WB_CHANGE_NAME,     /* link/rename/unlink of a name: anything but a device node */
};
/* 0 if the object behind hostfd may be changed that way (in_root: it was reached through the
 * root), else -EPERM (or -errno of fstat). */
int wb_host_may_change(int hostfd, int in_root, enum wb_change how);
/* Same for a guest fd's entry (virtual kinds are never host objects: -EPERM). */
int wb_fd_may_change(const wb_fd *e, enum wb_change how);
/* Special file systems (proc, sys, cgroup, debugfs, ...) are never part of a root, even "/":
 * -EACCES if hostfd lies on one, else 0. */
int wb_fs_special(int hostfd);
/* Guest open flags (asm-generic values) <-> host open flags. */
int wb_oflags_to_host(uint64_t gflags);
uint64_t wb_oflags_to_guest(int hflags);

/* sys_file.c helpers shared with sys_path.c */
/* Write a host struct stat to the guest as the riscv64 (asm-generic) struct stat. */
int wb_put_stat(wb_machine *m, uint64_t gaddr, const void *host_stat);
/* Write a host struct statfs to the guest as the riscv64 struct statfs. */
int wb_put_statfs(wb_machine *m, uint64_t gaddr, const void *host_statfs);

/* sys_misc.c: signals and randomness */
/* The guest raised sig at itself. Returns 0 (ignored/blocked) or stops the run (SIGNAL, or
 * INTERNAL when a handler would have to run). */
long wb_signal_self(wb_machine *m, int sig);
const char *wb_signal_name(int sig);
/* A write failed with EPIPE: the guest gets SIGPIPE (fatal by default) or EPIPE when it
 * ignores or blocks the signal. Returns the value for a0. */
long wb_epipe(wb_machine *m);
void wb_rng_seed(wb_rng *r, uint64_t seed);
uint64_t wb_rng_next(wb_rng *r);
/* Fill buf from the guest's randomness source: seeded PRNG (deterministic) or the host's. */
void wb_random_bytes(wb_machine *m, void *buf, size_t n);
void wb_misc_init(wb_machine *m);

/* timers.c */
/* Let ns of guest time pass without running guest code (deterministic: the virtual clocks
 * advance at once; else a host sleep within the wall limit). ITIMER_REAL fires inside it.
 * Returns 0 (the value for a0 of nanosleep). */
long wb_guest_sleep(wb_machine *m, int64_t ns);
/* Wait for ITIMER_REAL to expire (an otherwise endless wait: pause, sigsuspend). 0 when no
 * timer is armed, else 1 after it fired (which may have stopped the run). */
int wb_guest_wait_timer(wb_machine *m);
/* Every thread waits with nothing else to end the wait: let guest time pass to ITIMER_REAL's
 * deadline and expire it (SIGALRM may wake a thread). 1 if the timer was armed, else 0.
 * Unlike wb_guest_wait_timer, never blocks a thread (the scheduler's idle hook). */
int wb_user_alarm_wait(wb_machine *m);

/* stack.c */
typedef struct wb_image {
  uint64_t entry;     /* guest entry point (bias applied) */
  uint64_t bias;      /* load bias (static-PIE) */
  uint64_t phdr;      /* AT_PHDR, 0 if the headers are not in a segment (stack.c copies them) */
  uint64_t phent, phnum;
  const void *phdrs;  /* host copy of the program headers (for the copy fallback) */
  uint64_t brk;
  int stack_prot;     /* WB_PROT_R|W, plus X when PT_GNU_STACK asks for it (as Linux does) */
} wb_image;
int wb_stack_setup(wb_machine *m, const wb_image *img, int argc, const char *const *argv,
                   int envc, const char *const *envp, char *err, size_t errlen);

/* syscall-level errno helper: -errno of the last host call */
#define WB_NEG_ERRNO() ((long)-errno)

#endif
