/* sys_file.c — syscalls on open file descriptors: read/write and their vector/positional
 * forms, lseek, close, dup, fcntl, ioctl, pipe2, getdents64, fstat, poll, sendfile, ...
 *
 * Data moves directly between host fds and guest memory (base + guest address), after checking
 * that the guest range is mapped with the needed permission. A transfer stops at the first page
 * that is not (like Linux, which returns the bytes done before a fault, or EFAULT for none).
 *
 * Pipes made by the guest (pipe2) are non-blocking on the host side, so no host thread ever
 * sleeps in one: a read of an empty pipe (a write to a full one, a poll on guest pipes only)
 * waits while another thread could move it (wb_io_wait), and otherwise can never finish: the
 * run stops with a "deadlock" message instead of hanging the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "user_internal.h"
#include "../scheduler.h"

#define G_O_NONBLOCK 04000
#define G_O_CLOEXEC 02000000
#define G_O_DIRECT 040000
#define G_O_APPEND 02000
#define G_O_ASYNC 020000
#define G_O_NOATIME 01000000

/* ---- helpers ---- */

static long deadlock(wb_machine *m, const char *what) {
  wb_machine_stop(m, WB_REASON_INTERNAL, "deadlock: %s with no other thread to unblock it", what);
  return 0;
}

/* Run a host write-like call with SIGPIPE held back: a write to a pipe without readers must
 * turn into the *guest's* SIGPIPE, not kill the host process. */
typedef struct { sigset_t old; int was_pending; int active; } pipe_guard;

static void guard_on(pipe_guard *g, int is_pipe) {
  g->active = is_pipe;
  if (!is_pipe) return;
  sigset_t s, pend;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &s, &g->old);
  sigpending(&pend);
  g->was_pending = sigismember(&pend, SIGPIPE);
}

static void guard_off(pipe_guard *g, int got_epipe) {
  if (!g->active) return;
  if (got_epipe && !g->was_pending) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Bytes of [addr, addr+len) usable for I/O (len clamped to MAX_RW), or -EFAULT if len > 0 and
 * not even the first byte is accessible. */
static int64_t io_span(wb_machine *m, uint64_t addr, uint64_t len, int prot) {
  if (len > WB_MAX_RW) len = WB_MAX_RW;
  if (len == 0) return 0;
  uint64_t n = wb_mem_span(&m->mem, addr, len, prot);
  return n ? (int64_t)n : -EFAULT;
}

long wb_io_wait(wb_machine *m, uint64_t wake_ns) {
  wb_hart *h = wb_machine_self(m);
  wb_uthread *ut = wb_ut(h);
  if (!ut) return -ENOMEM;
  ut->io_wait = 1;
  wb_sched_block(h, wake_ns, h->x[WB_REG_A0]);  /* a0 stays the call's first argument */
  return WB_SYSCALL_RESTART;
}

void wb_io_progress(wb_machine *m) {
  for (int i = 0; i < m->nharts; i++) {
    wb_hart *h = m->harts[i];
    wb_uthread *ut = h->plat;
    if (ut && ut->io_wait && h->state == WB_HART_BLOCKED) {
      ut->io_wait = 0;
      wb_sched_wake(h, h->x[WB_REG_A0]);
    }
  }
}

/* After a host call failed with EAGAIN on a guest-made pipe: EAGAIN, a wait for another
 * thread to move the pipe, or a deadlock stop. */
static long would_block(wb_machine *m, wb_fd *e, const char *what) {
  if (!e->internal || e->nonblock) return -EAGAIN;
  if (wb_sched_live(m) > 1) return wb_io_wait(m, 0);
  return deadlock(m, what);
}

/* A guest pipe moved (data through it, an end closed): threads waiting on one look again. */
static long moved(wb_machine *m, const wb_fd *e, long r) {
  if (r >= 0 && e->internal) wb_io_progress(m);
  return r;
}

static long finish_write(wb_machine *m, wb_fd *e, ssize_t r, int err) {
  if (r >= 0) return moved(m, e, r);
  if (err == EPIPE) return wb_epipe(m);
  if (err == EAGAIN) return would_block(m, e, "write to a full pipe");
  return -err;
}

/* Host fd of a guest fd whose object the guest may change (mode, size: the isolation rule in
 * user_internal.h), or -EBADF/-EINVAL/-EPERM. */
static int changeable_host(wb_machine *m, uint64_t gfd) {
  int h = wb_fd_host(m, gfd);
  if (h < 0) return h;
  int r = wb_fd_may_change(wb_fd_get(m, gfd), WB_CHANGE_META);
  return r ? r : h;
}

/* O_APPEND set by the guest on the embedder's description is kept in guest_flags, not applied
 * (host flags never change): emulated by seeking to the end before each write. */
static void shared_append(wb_fd *e) {
  if (e->shared && (e->guest_flags & G_O_APPEND) && !e->is_pipe) lseek(e->host, 0, SEEK_END);
}

/* ---- read / write ---- */

/* Read into iov (at offset pos; pos < 0: the fd's position). A read of the embedder's fds may
 * block: the engine lock is dropped meanwhile, and when the run pauses or ends parallel.c
 * interrupts the read, which then runs again later (musl's stdio reads with readv). */
static long host_read(wb_machine *m, wb_fd *e, const struct iovec *iov, int k, int64_t pos) {
  ssize_t r;
  int held = e->internal ? 0 : wb_lock_drop(m);
  /* a pause or the end that came before the call would not interrupt it: do not start it */
  r = -1;
  errno = EINTR;
  while (m->stop_reason == WB_REASON_NONE) {
    r = pos >= 0 ? preadv(e->host, iov, k, (off_t)pos) : readv(e->host, iov, k);
    if (!(r < 0 && errno == EINTR)) break;
  }
  int err = errno;
  wb_lock_retake(m, held);
  if (r < 0 && err == EINTR) return WB_SYSCALL_RESTART;
  if (r < 0 && err == EAGAIN) return would_block(m, e, "read from an empty pipe");
  return r < 0 ? -err : moved(m, e, r);
}

WB_SYS(read) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  int64_t n = io_span(m, a[1], a[2], WB_PROT_W);
  if (n < 0) return n;
  if (e->kind == WB_FD_RANDOM) {
    wb_random_bytes(m, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n);
    return n;
  }
  struct iovec v = {wb_gbuf(m, a[1], (uint64_t)n), (size_t)n};
  return host_read(m, e, &v, 1, -1);
}

WB_SYS(write) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  int64_t n = io_span(m, a[1], a[2], WB_PROT_R);
  if (n < 0) return n;
  if (e->kind == WB_FD_RANDOM) return n;
  shared_append(e);
  pipe_guard g;
  guard_on(&g, e->is_pipe);
  ssize_t r;
  do r = write(e->host, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n);
  while (r < 0 && errno == EINTR);
  int err = r < 0 ? errno : 0;
  guard_off(&g, err == EPIPE);
  return finish_write(m, e, r, err);
}

WB_SYS(pread64) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if ((int64_t)a[3] < 0) return -EINVAL;
  int64_t n = io_span(m, a[1], a[2], WB_PROT_W);
  if (n < 0) return n;
  if (e->kind == WB_FD_RANDOM) {
    wb_random_bytes(m, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n);
    return n;
  }
  ssize_t r;
  do r = pread(e->host, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n, (off_t)a[3]);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

WB_SYS(pwrite64) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if ((int64_t)a[3] < 0) return -EINVAL;
  int64_t n = io_span(m, a[1], a[2], WB_PROT_R);
  if (n < 0) return n;
  if (e->kind == WB_FD_RANDOM) return n;
  ssize_t r;
  do r = pwrite(e->host, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n, (off_t)a[3]);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/* Turn a guest iovec array into host iovecs over guest memory. Stops at the first
 * inaccessible byte. Returns the number of host iovecs, or -errno. */
static int build_iov(wb_machine *m, uint64_t giov, uint64_t cnt, int prot, struct iovec *iov,
                     uint64_t *total) {
  if (cnt > WB_MAX_IOV) return -EINVAL;
  uint64_t raw[2 * WB_MAX_IOV];
  if (cnt && wb_mem_read(&m->mem, giov, raw, (size_t)cnt * 16) != 0) return -EFAULT;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < cnt; i++) {
    if ((int64_t)raw[2 * i + 1] < 0) return -EINVAL;
    sum += raw[2 * i + 1];
    if ((int64_t)sum < 0) return -EINVAL;
  }
  int k = 0;
  uint64_t left = WB_MAX_RW, done = 0;
  for (uint64_t i = 0; i < cnt && left; i++) {
    uint64_t base = raw[2 * i], len = raw[2 * i + 1];
    if (len == 0) continue;
    if (len > left) len = left;
    uint64_t n = wb_mem_span(&m->mem, base, len, prot);
    if (n == 0) {
      if (done == 0) return -EFAULT;
      break;
    }
    if (prot & WB_PROT_W) wb_mem_will_write(&m->mem, base, n); /* a read into guest memory */
    iov[k].iov_base = wb_mem_host(&m->mem, base);
    iov[k].iov_len = (size_t)n;
    k++;
    done += n;
    left -= n;
    if (n < len) break;
  }
  *total = done;
  return k;
}

static long do_readv(wb_machine *m, const uint64_t a[6], int positional) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if (positional && (int64_t)a[3] < 0) return -EINVAL;
  struct iovec iov[WB_MAX_IOV];
  uint64_t total;
  int k = build_iov(m, a[1], a[2], WB_PROT_W, iov, &total);
  if (k < 0) return k;
  if (k == 0) return 0;
  if (e->kind == WB_FD_RANDOM) {
    for (int i = 0; i < k; i++) wb_random_bytes(m, iov[i].iov_base, iov[i].iov_len);
    return (long)total;
  }
  return host_read(m, e, iov, k, positional ? (int64_t)a[3] : -1);
}

static long do_writev(wb_machine *m, const uint64_t a[6], int positional) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if (positional && (int64_t)a[3] < 0) return -EINVAL;
  struct iovec iov[WB_MAX_IOV];
  uint64_t total;
  int k = build_iov(m, a[1], a[2], WB_PROT_R, iov, &total);
  if (k < 0) return k;
  if (k == 0) return 0;
  if (e->kind == WB_FD_RANDOM) return (long)total;
  if (!positional) shared_append(e);
  pipe_guard g;
  guard_on(&g, e->is_pipe);
  ssize_t r;
  do r = positional ? pwritev(e->host, iov, k, (off_t)a[3]) : writev(e->host, iov, k);
  while (r < 0 && errno == EINTR);
  int err = r < 0 ? errno : 0;
  guard_off(&g, err == EPIPE);
  return finish_write(m, e, r, err);
}

WB_SYS(readv) { return do_readv(m, a, 0); }
WB_SYS(writev) { return do_writev(m, a, 0); }
WB_SYS(preadv) { return do_readv(m, a, 1); }   /* riscv64: pos in a3 (pos_h unused) */
WB_SYS(pwritev) { return do_writev(m, a, 1); }

WB_SYS(lseek) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if (a[2] > 4) return -EINVAL; /* SEEK_SET..SEEK_HOLE */
  if (e->kind == WB_FD_RANDOM) return 0;
  off_t r = lseek(e->host, (off_t)a[1], (int)a[2]);
  return r < 0 ? -errno : (long)r;
}

/* ---- descriptors ---- */

WB_SYS(close) {
  uint32_t fd = (uint32_t)a[0]; /* the kernel takes an unsigned int */
  if (fd >= WB_MAX_FDS) return -EBADF;
  wb_fd *e = wb_fd_get(m, fd);
  int internal = e && e->internal;
  long r = wb_fd_close(m, (int)fd);
  if (internal) wb_io_progress(m);  /* a reader may see EOF now, a writer EPIPE */
  return r;
}

WB_SYS(close_range) {
  uint32_t first = (uint32_t)a[0], last = (uint32_t)a[1];
  uint64_t flags = a[2];
  if (first > last || (flags & ~(uint64_t)((1u << 1) | (1u << 2)))) return -EINVAL;
  for (uint64_t fd = first; fd <= last && fd < WB_MAX_FDS; fd++) {
    wb_fd *e = wb_fd_get(m, fd);
    if (!e) continue;
    if (flags & (1u << 2)) e->cloexec = 1; /* CLOSE_RANGE_CLOEXEC */
    else wb_fd_close(m, (int)fd);
  }
  return 0;
}

/* Duplicate entry e into a fresh entry (new host fd when it has one). 0 or -errno. */
static int dup_entry(const wb_fd *e, wb_fd *out) {
  *out = *e;
  out->borrowed = 0;
  out->cloexec = 0;
  if (e->host >= 0) {
    out->host = fcntl(e->host, F_DUPFD_CLOEXEC, 3);
    if (out->host < 0) return -errno;
  }
  return 0;
}

static long dup_to_min(wb_machine *m, wb_fd *e, int minfd, int cloexec) {
  wb_fd n;
  int r = dup_entry(e, &n);
  if (r < 0) return r;
  n.cloexec = cloexec;
  int fd = wb_fd_alloc(m, &n, minfd);
  if (fd < 0 && n.host >= 0) close(n.host);
  return fd;
}

WB_SYS(dup) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  return dup_to_min(m, e, 0, 0);
}

WB_SYS(dup3) {
  uint32_t oldfd = (uint32_t)a[0], newfd = (uint32_t)a[1];
  if (a[2] & ~(uint64_t)G_O_CLOEXEC) return -EINVAL;
  wb_fd *e = wb_fd_get(m, oldfd);
  if (!e) return -EBADF;
  if (oldfd == newfd) return -EINVAL;
  wb_user *u = wb_u(m);
  if (newfd >= WB_MAX_FDS || newfd >= u->rlim[7][0]) return -EBADF;
  wb_fd n;
  int r = dup_entry(e, &n);
  if (r < 0) return r;
  n.cloexec = (a[2] & G_O_CLOEXEC) != 0;
  wb_fd_close(m, (int)newfd);
  u->fds[newfd] = n;
  return newfd;
}

WB_SYS(fcntl) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  int cmd = (int)a[1];
  switch (cmd) {
    case 0:    /* F_DUPFD */
    case 1030: /* F_DUPFD_CLOEXEC */
      if (a[2] >= WB_MAX_FDS || a[2] >= wb_u(m)->rlim[7][0]) return -EINVAL;
      return dup_to_min(m, e, (int)a[2], cmd == 1030);
    case 1: return e->cloexec ? 1 : 0; /* F_GETFD */
    case 2: e->cloexec = (a[2] & 1) != 0; return 0; /* F_SETFD */
    case 3: { /* F_GETFL */
      if (e->kind != WB_FD_HOST || e->shared) return e->guest_flags;
      int fl = fcntl(e->host, F_GETFL);
      if (fl < 0) return -errno;
      uint64_t g = wb_oflags_to_guest(fl);
      if (e->internal) g = (g & ~(uint64_t)G_O_NONBLOCK) | (e->nonblock ? G_O_NONBLOCK : 0);
      return (long)g;
    }
    case 4: { /* F_SETFL: only these bits can change */
      uint64_t g = a[2] & (G_O_APPEND | G_O_NONBLOCK | G_O_ASYNC | G_O_DIRECT | G_O_NOATIME);
      if (e->kind != WB_FD_HOST || e->shared) {
        /* virtual kinds, and the embedder's description: its flags must not change under it
         * (a host stdout left O_NONBLOCK cuts the embedder's later writes short) */
        e->guest_flags = (int)((e->guest_flags & ~(G_O_APPEND | G_O_NONBLOCK)) |
                               (g & (G_O_APPEND | G_O_NONBLOCK)));
        return 0;
      }
      if (e->internal) {
        e->nonblock = (g & G_O_NONBLOCK) != 0;
        g |= G_O_NONBLOCK;
      }
      if (fcntl(e->host, F_SETFL, wb_oflags_to_host(g)) != 0) return -errno;
      return 0;
    }
    case 5: case 36: { /* F_GETLK, F_OFD_GETLK: a single process never conflicts */
      int16_t unlck = 2; /* F_UNLCK */
      return wb_mem_write(&m->mem, a[2], &unlck, sizeof unlck);
    }
    case 6: case 7: case 37: case 38: { /* F_SETLK(W), F_OFD_SETLK(W) */
      uint8_t fl[32];
      return wb_mem_read(&m->mem, a[2], fl, sizeof fl);
    }
    case 8: case 9: return 0; /* F_SETOWN, F_GETOWN */
    case 1031: case 1032: /* F_SETPIPE_SZ, F_GETPIPE_SZ */
      if (e->kind != WB_FD_HOST) return -EBADF;
      if (cmd == 1031 && !e->in_root) return -EPERM; /* a pipe handed in is the host's */
      {
        int r = fcntl(e->host, cmd == 1031 ? F_SETPIPE_SZ : F_GETPIPE_SZ, (int)a[2]);
        return r < 0 ? -errno : r;
      }
    default: return -EINVAL;
  }
}

/* Terminal ioctls always fail with ENOTTY, even on a host tty: the guest then never sees a
 * terminal, so libc's buffering (and so the output) does not depend on how it was started. */
WB_SYS(ioctl) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  switch ((uint32_t)a[1]) {
    case 0x5421: { /* FIONBIO */
      int32_t on;
      if (wb_mem_read(&m->mem, a[2], &on, 4) != 0) return -EFAULT;
      if (e->internal) { e->nonblock = on != 0; return 0; }
      if (e->kind != WB_FD_HOST) return 0;
      if (e->shared) {
        e->guest_flags = on ? (e->guest_flags | G_O_NONBLOCK) : (e->guest_flags & ~G_O_NONBLOCK);
        return 0;
      }
      int fl = fcntl(e->host, F_GETFL);
      if (fl < 0) return -errno;
      fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
      return fcntl(e->host, F_SETFL, fl) < 0 ? -errno : 0;
    }
    case 0x5451: e->cloexec = 1; return 0; /* FIOCLEX */
    case 0x5450: e->cloexec = 0; return 0; /* FIONCLEX */
    case 0x541B: { /* FIONREAD */
      int32_t n = 0;
      if (e->kind == WB_FD_HOST && ioctl(e->host, FIONREAD, &n) != 0) return -errno;
      return wb_mem_write(&m->mem, a[2], &n, 4);
    }
    default: return -ENOTTY;
  }
}

WB_SYS(pipe2) {
  uint64_t flags = a[1];
  if (flags & ~(uint64_t)(G_O_CLOEXEC | G_O_NONBLOCK | G_O_DIRECT)) return -EINVAL;
  if (!wb_mem_check(&m->mem, a[0], 8, WB_PROT_W)) return -EFAULT;
  int hp[2];
  if (pipe2(hp, O_CLOEXEC | O_NONBLOCK | ((flags & G_O_DIRECT) ? O_DIRECT : 0)) != 0)
    return -errno;
  wb_fd e;
  memset(&e, 0, sizeof e);
  e.kind = WB_FD_HOST;
  e.is_pipe = 1;
  e.internal = 1;
  e.in_root = 1; /* made by the guest: its own object */
  e.nonblock = (flags & G_O_NONBLOCK) != 0;
  e.cloexec = (flags & G_O_CLOEXEC) != 0;
  e.host = hp[0];
  int r = wb_fd_alloc(m, &e, 0);
  if (r < 0) {
    close(hp[0]);
    close(hp[1]);
    return r;
  }
  e.host = hp[1];
  int w = wb_fd_alloc(m, &e, 0);
  if (w < 0) {
    wb_fd_close(m, r);
    close(hp[1]);
    return w;
  }
  int32_t out[2] = {r, w};
  wb_mem_write(&m->mem, a[0], out, sizeof out);
  return 0;
}

/* ---- directories, metadata ---- */

WB_SYS(getdents64) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if (e->kind != WB_FD_HOST) return -ENOTDIR;
  int64_t n = io_span(m, a[1], a[2], WB_PROT_W);
  if (n < 0) return n;
  /* struct linux_dirent64 is the same on every architecture: pass it through. */
  long r = syscall(SYS_getdents64, e->host, wb_gbuf(m, a[1], (uint64_t)n), (size_t)n);
  return r < 0 ? -errno : r;
}

/* riscv64 struct stat (asm-generic, 128 bytes). */
struct g_stat {
  uint64_t dev, ino;
  uint32_t mode, nlink, uid, gid;
  uint64_t rdev, pad1;
  int64_t size;
  int32_t blksize, pad2;
  int64_t blocks;
  int64_t atime; uint64_t atime_ns;
  int64_t mtime; uint64_t mtime_ns;
  int64_t ctime; uint64_t ctime_ns;
  uint32_t unused4, unused5;
};
_Static_assert(sizeof(struct g_stat) == 128, "riscv64 struct stat is 128 bytes");

/* Owners are reported as the guest's own uid/gid: the guest owns its root. */
int wb_put_stat(wb_machine *m, uint64_t gaddr, const void *hs) {
  const struct stat *st = hs;
  struct g_stat g;
  memset(&g, 0, sizeof g);
  g.dev = (uint64_t)st->st_dev;
  g.ino = (uint64_t)st->st_ino;
  g.mode = (uint32_t)st->st_mode;
  g.nlink = (uint32_t)st->st_nlink;
  g.uid = WB_UID;
  g.gid = WB_GID;
  g.rdev = (uint64_t)st->st_rdev;
  g.size = (int64_t)st->st_size;
  g.blksize = (int32_t)st->st_blksize;
  g.blocks = (int64_t)st->st_blocks;
  g.atime = st->st_atim.tv_sec; g.atime_ns = (uint64_t)st->st_atim.tv_nsec;
  g.mtime = st->st_mtim.tv_sec; g.mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
  g.ctime = st->st_ctim.tv_sec; g.ctime_ns = (uint64_t)st->st_ctim.tv_nsec;
  return wb_mem_write(&m->mem, gaddr, &g, sizeof g);
}

/* Stat of a virtual device fd: a character device like the real /dev/urandom (1,9). */
static void fake_chr_stat(struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_mode = S_IFCHR | 0666;
  st->st_nlink = 1;
  st->st_rdev = (1 << 8) | 9;
  st->st_blksize = 4096;
}

WB_SYS(fstat) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  struct stat st;
  if (e->kind == WB_FD_RANDOM) fake_chr_stat(&st);
  else if (fstat(e->host, &st) != 0) return -errno;
  return wb_put_stat(m, a[1], &st);
}

WB_SYS(ftruncate) {
  int h = changeable_host(m, a[0]);
  if (h < 0) return h;
  return ftruncate(h, (off_t)a[1]) != 0 ? -errno : 0;
}

WB_SYS(fsync) {
  int h = wb_fd_host(m, a[0]);
  if (h < 0) return h;
  return fsync(h) != 0 ? -errno : 0;
}

WB_SYS(fdatasync) {
  int h = wb_fd_host(m, a[0]);
  if (h < 0) return h;
  return fdatasync(h) != 0 ? -errno : 0;
}

WB_SYS(fchmod) {
  int h = changeable_host(m, a[0]);
  if (h < 0) return h;
  return fchmod(h, (mode_t)(a[1] & 07777)) != 0 ? -errno : 0;
}

/* Ownership changes are accepted and ignored: the guest is the only user it knows. */
WB_SYS(fchown) { return wb_fd_get(m, a[0]) ? 0 : -EBADF; }
WB_SYS(flock) { return wb_fd_get(m, a[0]) ? 0 : -EBADF; }
WB_SYS(fadvise64) { return wb_fd_get(m, a[0]) ? 0 : -EBADF; }

WB_SYS(fallocate) {
  int h = changeable_host(m, a[0]);
  if (h < 0) return h;
  return fallocate(h, (int)a[1], (off_t)a[2], (off_t)a[3]) != 0 ? -errno : 0;
}

/* riscv64 struct statfs (asm-generic, 64-bit words, 120 bytes). */
int wb_put_statfs(wb_machine *m, uint64_t gaddr, const void *hs) {
  const struct statfs *s = hs;
  uint64_t g[15];
  memset(g, 0, sizeof g);
  g[0] = (uint64_t)s->f_type;
  g[1] = (uint64_t)s->f_bsize;
  g[2] = s->f_blocks;
  g[3] = s->f_bfree;
  g[4] = s->f_bavail;
  g[5] = s->f_files;
  g[6] = s->f_ffree;
  memcpy(&g[7], &s->f_fsid, 8);
  g[8] = (uint64_t)s->f_namelen;
  g[9] = (uint64_t)s->f_frsize;
  g[10] = (uint64_t)s->f_flags;
  return wb_mem_write(&m->mem, gaddr, g, sizeof g);
}

WB_SYS(fstatfs) {
  int h = wb_fd_host(m, a[0]);
  if (h < 0) return h;
  struct statfs s;
  if (fstatfs(h, &s) != 0) return -errno;
  return wb_put_statfs(m, a[1], &s);
}

WB_SYS(sendfile) {
  wb_fd *out = wb_fd_get(m, a[0]), *in = wb_fd_get(m, a[1]);
  if (!out || !in) return -EBADF;
  if (out->kind != WB_FD_HOST || in->kind != WB_FD_HOST) return -EINVAL;
  uint64_t count = a[3] > WB_MAX_RW ? WB_MAX_RW : a[3];
  int64_t off = 0;
  if (a[2] && wb_mem_read(&m->mem, a[2], &off, 8) != 0) return -EFAULT;
  if (a[2] && !wb_mem_check(&m->mem, a[2], 8, WB_PROT_W)) return -EFAULT;
  pipe_guard g;
  guard_on(&g, out->is_pipe);
  ssize_t r;
  do r = sendfile(out->host, in->host, a[2] ? (off_t *)&off : NULL, (size_t)count);
  while (r < 0 && errno == EINTR);
  int err = r < 0 ? errno : 0;
  guard_off(&g, err == EPIPE);
  if (a[2]) wb_mem_write(&m->mem, a[2], &off, 8);
  return finish_write(m, out, r, err);
}

WB_SYS(copy_file_range) {
  wb_fd *in = wb_fd_get(m, a[0]), *out = wb_fd_get(m, a[2]);
  if (!out || !in) return -EBADF;
  if (out->kind != WB_FD_HOST || in->kind != WB_FD_HOST) return -EINVAL;
  int64_t oi = 0, oo = 0;
  if (a[1] && (wb_mem_read(&m->mem, a[1], &oi, 8) != 0 ||
               !wb_mem_check(&m->mem, a[1], 8, WB_PROT_W)))
    return -EFAULT;
  if (a[3] && (wb_mem_read(&m->mem, a[3], &oo, 8) != 0 ||
               !wb_mem_check(&m->mem, a[3], 8, WB_PROT_W)))
    return -EFAULT;
  uint64_t len = a[4] > WB_MAX_RW ? WB_MAX_RW : a[4];
  ssize_t r = copy_file_range(in->host, a[1] ? (off_t *)&oi : NULL, out->host,
                              a[3] ? (off_t *)&oo : NULL, (size_t)len, (unsigned)a[5]);
  if (r < 0) return -errno;
  if (a[1]) wb_mem_write(&m->mem, a[1], &oi, 8);
  if (a[3]) wb_mem_write(&m->mem, a[3], &oo, 8);
  return r;
}

/* ---- poll ---- */

/* Poll n guest pollfds (already in host struct pollfd form, guest fd numbers in .fd).
 * timeout_ns < 0: forever. Returns the ready count, or stops the run on a certain deadlock. */
static long do_poll(wb_machine *m, struct pollfd *gp, int n, int64_t timeout_ns) {
  struct pollfd hp[WB_MAX_FDS];
  int ready = 0, external = 0;
  for (int i = 0; i < n; i++) {
    gp[i].revents = 0;
    hp[i].fd = -1;
    hp[i].events = gp[i].events;
    hp[i].revents = 0;
    if (gp[i].fd < 0) continue;
    wb_fd *e = wb_fd_get(m, (uint64_t)gp[i].fd);
    if (!e) {
      gp[i].revents = POLLNVAL;
      ready++;
    } else if (e->kind == WB_FD_RANDOM) {
      gp[i].revents = gp[i].events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
      if (gp[i].revents) ready++;
    } else {
      hp[i].fd = e->host;
      if (!e->internal) external = 1;
    }
  }
  int r;
  do r = poll(hp, (nfds_t)n, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0 && ready == 0 && timeout_ns != 0) {
    if (external) {
      /* Something outside the guest (stdin, a host pipe) may still become ready. */
      struct timespec ts, *tp = NULL;
      if (timeout_ns > 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
      }
      int held = wb_lock_drop(m);
      r = -1;                    /* (as read's: not started when the run is pausing) */
      errno = EINTR;
      while (m->stop_reason == WB_REASON_NONE) {
        r = ppoll(hp, (nfds_t)n, tp, NULL);
        if (!(r < 0 && errno == EINTR)) break;
      }
      int err = errno;
      wb_lock_retake(m, held);
      if (r < 0 && err == EINTR) return WB_SYSCALL_RESTART;  /* as read's, above */
      errno = err;
      if (r < 0) return -errno;
    } else if (n > 0 && wb_sched_live(m) > 1) {
      /* guest pipes only, another thread may move them: wait for that (or the timeout),
       * then poll again; the deadline holds across the restarts */
      wb_uthread *ut = wb_ut(wb_machine_self(m));
      if (!ut) return -ENOMEM;
      uint64_t now = wb_guest_monotonic_ns(m);
      if (!ut->io_deadline && timeout_ns > 0) ut->io_deadline = now + (uint64_t)timeout_ns;
      if (ut->io_deadline && now >= ut->io_deadline) {
        ut->io_deadline = 0;
        return 0;
      }
      return wb_io_wait(m, ut->io_deadline);
    } else if (timeout_ns < 0) {
      /* pause() is ppoll(NULL, 0, NULL): only our own interval timer can end it */
      if (wb_guest_wait_timer(m) && wb_stopping(m)) return 0;
      return deadlock(m, "poll without timeout on guest-internal fds only");
    } else {
      /* finite timeout on internal fds only: nothing can change; it simply expires */
      wb_guest_sleep(m, timeout_ns);
      if (wb_stopping(m)) return 0;
    }
  }
  wb_uthread *ut = wb_machine_self(m)->plat;
  if (ut) ut->io_deadline = 0;  /* this poll is over */
  for (int i = 0; i < n; i++) {
    if (hp[i].fd < 0) continue;
    gp[i].revents = hp[i].revents;
    if (gp[i].revents) ready++;
  }
  return ready;
}

static int64_t read_timeout(wb_machine *m, uint64_t addr, long *err) {
  *err = 0;
  if (!addr) return -1;
  int64_t ts[2];
  if (wb_mem_read(&m->mem, addr, ts, sizeof ts) != 0) { *err = -EFAULT; return 0; }
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) { *err = -EINVAL; return 0; }
  if (ts[0] > INT64_MAX / 1000000000 - 1) return INT64_MAX;
  return ts[0] * 1000000000 + ts[1];
}

WB_SYS(ppoll) {
  uint64_t n = a[1];
  if (n > WB_MAX_FDS) return -EINVAL;
  long err;
  int64_t t = read_timeout(m, a[2], &err);
  if (err) return err;
  struct pollfd p[WB_MAX_FDS];
  if (n && wb_mem_read(&m->mem, a[0], p, (size_t)n * sizeof p[0]) != 0) return -EFAULT;
  if (n && !wb_mem_check(&m->mem, a[0], n * sizeof p[0], WB_PROT_W)) return -EFAULT;
  long r = do_poll(m, p, (int)n, t);
  if (r < 0 || wb_stopping(m)) return r;
  if (n) wb_mem_write(&m->mem, a[0], p, (size_t)n * sizeof p[0]);
  return r;
}

WB_SYS(pselect6) {
  int64_t nfds = (int64_t)a[0];
  if (nfds < 0 || nfds > WB_MAX_FDS) return -EINVAL;
  long err;
  int64_t t = read_timeout(m, a[4], &err);
  if (err) return err;
  size_t bytes = (size_t)((nfds + 63) / 64) * 8;
  uint64_t sets[3][WB_MAX_FDS / 64];
  memset(sets, 0, sizeof sets);
  for (int k = 0; k < 3; k++) {
    if (!a[1 + k]) continue;
    if (wb_mem_read(&m->mem, a[1 + k], sets[k], bytes) != 0) return -EFAULT;
    if (!wb_mem_check(&m->mem, a[1 + k], bytes, WB_PROT_W)) return -EFAULT;
  }
  struct pollfd p[WB_MAX_FDS];
  int n = 0;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = 0;
    if (sets[0][fd / 64] >> (fd % 64) & 1) ev |= POLLIN;
    if (sets[1][fd / 64] >> (fd % 64) & 1) ev |= POLLOUT;
    if (sets[2][fd / 64] >> (fd % 64) & 1) ev |= POLLPRI;
    if (!ev) continue;
    if (!wb_fd_get(m, (uint64_t)fd)) return -EBADF;
    p[n].fd = fd;
    p[n].events = ev;
    n++;
  }
  long r = do_poll(m, p, n, t);
  if (r < 0 || wb_stopping(m)) return r;
  memset(sets, 0, sizeof sets);
  long count = 0;
  for (int i = 0; i < n; i++) {
    int fd = p[i].fd;
    uint64_t bit = 1ull << (fd % 64);
    short re = p[i].revents;
    if ((p[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) { sets[0][fd / 64] |= bit; count++; }
    if ((p[i].events & POLLOUT) && (re & (POLLOUT | POLLERR))) { sets[1][fd / 64] |= bit; count++; }
    if ((p[i].events & POLLPRI) && (re & POLLPRI)) { sets[2][fd / 64] |= bit; count++; }
  }
  for (int k = 0; k < 3; k++)
    if (a[1 + k]) wb_mem_write(&m->mem, a[1 + k], sets[k], bytes);
  return count;
}
