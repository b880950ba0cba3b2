/* sys_path.c — syscalls that name files by path: openat, stat family, readlinkat, access,
 * unlink/mkdir/rename/link/symlink, chdir/getcwd, chmod, utimensat, truncate, statfs.
 *
 * All resolution goes through fs.c (root-confined openat2). Two patterns:
 *  - act on the target: resolve it to an O_PATH fd (following the final symlink or not, as the
 *    call asks) and use fd-based host calls (fstatat(fd, "", AT_EMPTY_PATH), statx, ...), or
 *    the fd's /proc/self/fd/N name for calls with no fd form (chmod, utimes, access): that
 *    magic link names exactly the inode already resolved inside the root;
 *  - create/remove/rename a name: open the parent (O_PATH, inside the root) and call the host
 *    *at function on the single last component, which never follows a final symlink.
 * A few device paths are virtual so that common programs work with any root: /dev/null and
 * /dev/zero (the host devices), /dev/urandom and /dev/random (the guest RNG: deterministic),
 * /dev/stdin, /dev/stdout, /dev/stderr (duplicates of guest fds 0-2), and /proc/self/exe
 * (the executable, read-only).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "user_internal.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

#define G_AT_FDCWD (-100)
#define G_AT_SYMLINK_NOFOLLOW 0x100
#define G_AT_REMOVEDIR 0x200
#define G_AT_EACCESS 0x200
#define G_AT_SYMLINK_FOLLOW 0x400
#define G_AT_NO_AUTOMOUNT 0x800
#define G_AT_EMPTY_PATH 0x1000
#define G_AT_STATX_SYNC 0x6000
#define G_O_CREAT 0100
#define G_O_TMPFILE 020000000
#define G_O_CLOEXEC 02000000


enum { VDEV_NONE, VDEV_EXE, VDEV_NULL, VDEV_ZERO, VDEV_RANDOM, VDEV_STDIN, VDEV_STDOUT,
       VDEV_STDERR };

static int vdev_of(const char *p) {
  static const struct { const char *path; int dev; } v[] = {
      {"/dev/null", VDEV_NULL},       {"/dev/zero", VDEV_ZERO},
      {"/dev/urandom", VDEV_RANDOM},  {"/dev/random", VDEV_RANDOM},
      {"/dev/stdin", VDEV_STDIN},     {"/dev/stdout", VDEV_STDOUT},
      {"/dev/stderr", VDEV_STDERR},   {"/proc/self/exe", VDEV_EXE},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (strcmp(p, v[i].path) == 0) return v[i].dev;
  return VDEV_NONE;
}

static void proc_name(int hostfd, char *buf, size_t n) {
  snprintf(buf, n, "/proc/self/fd/%d", hostfd);
}

/* Read path argument a_path and join it with dirfd into gpath. */
static int get_path(wb_machine *m, uint64_t dirfd, uint64_t a_path, char *gpath) {
  char p[WB_PATH_MAX];
  int r = wb_path_arg(m, a_path, p, 0);
  if (r) return r;
  return wb_path_join(m, (int64_t)dirfd, p, gpath, WB_PATH_MAX);
}

/* Resolve (dirfd, path) to a host fd of the target. *owned says whether the caller must close
 * it; *in_root (unless in_root is NULL) whether the object was reached through the root
 * (the isolation rule: only those may be changed). follow: follow a final symlink. AT_EMPTY_PATH with "" names dirfd
 * itself. */
static int target_fd(wb_machine *m, uint64_t dirfd, uint64_t a_path, int follow, int empty_ok,
                     int *owned, int *in_root) {
  char p[WB_PATH_MAX], g[WB_PATH_MAX];
  int ignored;
  if (!in_root) in_root = &ignored;
  *owned = 0;
  *in_root = 0;
  int r = wb_path_arg(m, a_path, p, empty_ok);
  if (r) return r;
  if (p[0] == 0) {
    if ((int)dirfd == G_AT_FDCWD) {
      if (wb_u(m)->rootfd < 0) return -ENOENT;
      *owned = 1;
      *in_root = 1;
      return wb_path_open(m, wb_u(m)->cwd, O_PATH, 0);
    }
    wb_fd *e = wb_fd_get(m, dirfd);
    if (!e) return -EBADF;
    if (e->kind != WB_FD_HOST) return -EINVAL;
    *in_root = e->in_root;
    return e->host;
  }
  r = wb_path_join(m, (int64_t)dirfd, p, g, sizeof g);
  if (r) return r;
  int v = vdev_of(g);
  if (v == VDEV_NULL || v == VDEV_ZERO || v == VDEV_RANDOM) {
    static const char *const host[] = {[VDEV_NULL] = "/dev/null", [VDEV_ZERO] = "/dev/zero",
                                       [VDEV_RANDOM] = "/dev/urandom"};
    *owned = 1;
    int fd = open(host[v], O_PATH | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
  }
  if (v >= VDEV_STDIN) {
    wb_fd *e = wb_fd_get(m, (uint64_t)(v - VDEV_STDIN));
    if (!e) return -ENOENT;
    if (e->kind != WB_FD_HOST) return -EINVAL;
    *in_root = e->in_root;
    return e->host;
  }
  if (v == VDEV_EXE && follow) {
    if (!wb_u(m)->exe_host) return -ENOENT;
    *owned = 1;
    int fd = open(wb_u(m)->exe_host, O_PATH | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
  }
  *owned = 1;
  *in_root = 1;
  return wb_path_open(m, g, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
}

static void release(int fd, int owned) {
  if (owned && fd >= 0) close(fd);
}

/* ---- open ---- */

static long deadlock_open(wb_machine *m) {
  wb_machine_stop(m, WB_REASON_INTERNAL,
                  "deadlock: opening a FIFO for writing with no reader and no other thread");
  return 0;
}

static int is_device(mode_t mode) { return S_ISCHR(mode) || S_ISBLK(mode); }

/* Host device nodes are not part of any root (even "/"): opening one, which may have effects
 * of its own, is refused before the real open. -EACCES for a device, else 0 (a missing name is
 * left to the real open, which creates a regular file or fails). */
static int device_node(wb_machine *m, const char *g, int hflags, uint64_t resolve_extra) {
  int fd = wb_path_open2(m, g, O_PATH | (hflags & O_NOFOLLOW), 0, resolve_extra);
  if (fd < 0) return fd == -ENOENT ? 0 : (fd == -EACCES ? fd : 0);
  struct stat st;
  int r = fstat(fd, &st) == 0 && is_device(st.st_mode) ? -EACCES : 0;
  close(fd);
  return r;
}

static long open_common(wb_machine *m, uint64_t dirfd, uint64_t a_path, uint64_t gflags,
                        uint64_t mode, uint64_t resolve_extra) {
  char g[WB_PATH_MAX];
  int r = get_path(m, dirfd, a_path, g);
  if (r) return r;
  wb_user *u = wb_u(m);
  int v = vdev_of(g);
  wb_fd e;
  memset(&e, 0, sizeof e);
  e.kind = WB_FD_HOST;
  e.cloexec = (gflags & G_O_CLOEXEC) != 0;
  e.host = -1;
  if (v == VDEV_RANDOM) {
    e.kind = WB_FD_RANDOM;
    e.guest_flags = (int)(gflags & 03);
    return wb_fd_alloc(m, &e, 0);
  }
  if (v >= VDEV_STDIN) {
    wb_fd *src = wb_fd_get(m, (uint64_t)(v - VDEV_STDIN));
    if (!src) return -ENOENT;
    e = *src;
    e.borrowed = 0;
    e.cloexec = (gflags & G_O_CLOEXEC) != 0;
    if (src->host >= 0) {
      e.host = fcntl(src->host, F_DUPFD_CLOEXEC, 3);
      if (e.host < 0) return -errno;
    }
  } else {
    int hflags = wb_oflags_to_host(gflags);
    int hmode = (int)(mode & 07777 & ~(uint64_t)u->umask);
    int hf;
    if (v == VDEV_EXE) {
      /* the program itself, read-only (some programs read resources appended to it) */
      if (!u->exe_host) return -ENOENT;
      if ((hflags & O_ACCMODE) != O_RDONLY || (hflags & (O_CREAT | O_TRUNC))) return -EACCES;
      hf = open(u->exe_host, (hflags & (O_PATH | O_NONBLOCK)) | O_RDONLY | O_CLOEXEC);
      if (hf < 0) hf = -errno;
    } else if (v == VDEV_NULL || v == VDEV_ZERO) {
      hf = open(v == VDEV_NULL ? "/dev/null" : "/dev/zero",
                (hflags & (O_ACCMODE | O_NONBLOCK | O_PATH)) | O_CLOEXEC);
      if (hf < 0) hf = -errno;
    } else {
      /* Always open non-blocking: opening a FIFO blocks until the other end is opened, which
       * in a single-threaded guest never happens. Regular files get their flag back below. */
      if (hflags & O_PATH) /* openat2 refuses O_PATH with other flags; openat ignores them */
        hflags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      int dev = (hflags & O_PATH) ? 0 : device_node(m, g, hflags, resolve_extra);
      if (dev) return dev;
      hf = wb_path_open2(m, g, hflags | ((hflags & O_PATH) ? 0 : O_NONBLOCK), hmode,
                         resolve_extra);
      if (hf == -ENXIO && !(hflags & O_NONBLOCK))
        return deadlock_open(m); /* write-open of a FIFO without a reader */
      e.in_root = 1;
    }
    if (hf < 0) return hf;
    struct stat st;
    int known = fstat(hf, &st) == 0;
    if (known && e.in_root && is_device(st.st_mode) && !(hflags & O_PATH)) {
      close(hf); /* became a device after the check above: still refused */
      return -EACCES;
    }
    if (known && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
      e.is_pipe = 1;
      e.internal = 1; /* like pipe2: host side non-blocking, guest blocking emulated */
      e.nonblock = (hflags & O_NONBLOCK) != 0;
    } else if (!(hflags & O_NONBLOCK) && !(hflags & O_PATH)) {
      int fl = fcntl(hf, F_GETFL);
      if (fl >= 0) fcntl(hf, F_SETFL, fl & ~O_NONBLOCK);
    }
    e.host = hf;
  }
  int fd = wb_fd_alloc(m, &e, 0);
  if (fd < 0 && e.host >= 0) close(e.host);
  return fd;
}

WB_SYS(openat) { return open_common(m, a[0], a[1], a[2], a[3], 0); }

WB_SYS(openat2) {
  if (a[3] < 24) return -EINVAL;
  if (a[3] > 4096) return -E2BIG;
  uint64_t how[3];
  if (wb_mem_read(&m->mem, a[2], how, sizeof how) != 0) return -EFAULT;
  /* Fields past the ones we know must be zero (openat2's extensibility rule). */
  for (uint64_t off = 24; off < a[3]; off++) {
    uint8_t b;
    if (wb_mem_read(&m->mem, a[2] + off, &b, 1) != 0) return -EFAULT;
    if (b) return -E2BIG;
  }
  if (how[2] & ~(uint64_t)0x3f) return -EINVAL;
  if (how[1] && !(how[0] & (G_O_CREAT | G_O_TMPFILE))) return -EINVAL;
  /* RESOLVE_NO_XDEV and RESOLVE_NO_SYMLINKS are honoured; BENEATH/IN_ROOT relative to the
   * guest's dirfd are approximated by the root confinement that always applies. */
  uint64_t extra = how[2] & (RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS);
  return open_common(m, a[0], a[1], how[0], how[1], extra);
}

/* ---- stat ---- */

WB_SYS(newfstatat) {
  uint64_t flags = a[3];
  if (flags & ~(uint64_t)(G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH | G_AT_NO_AUTOMOUNT))
    return -EINVAL;
  int owned;
  int fd = target_fd(m, a[0], a[1], !(flags & G_AT_SYMLINK_NOFOLLOW),
                     (flags & G_AT_EMPTY_PATH) != 0, &owned, NULL);
  if (fd == -EINVAL && (flags & G_AT_EMPTY_PATH)) return wb_sys_fstat(m, hart, (uint64_t[6]){a[0], a[2]});
  if (fd < 0) return fd;
  struct stat st;
  int r = fstatat(fd, "", &st, AT_EMPTY_PATH);
  int err = errno;
  release(fd, owned);
  if (r != 0) return -err;
  return wb_put_stat(m, a[2], &st);
}

WB_SYS(statx) {
  uint64_t flags = a[2];
  if (flags & ~(uint64_t)(G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH | G_AT_NO_AUTOMOUNT |
                          G_AT_STATX_SYNC))
    return -EINVAL;
  if ((flags & G_AT_STATX_SYNC) == G_AT_STATX_SYNC) return -EINVAL;
  if (!wb_mem_check(&m->mem, a[4], 256, WB_PROT_W)) return -EFAULT;
  int owned;
  int fd = target_fd(m, a[0], a[1], !(flags & G_AT_SYMLINK_NOFOLLOW),
                     (flags & G_AT_EMPTY_PATH) != 0, &owned, NULL);
  struct statx stx;
  memset(&stx, 0, sizeof stx);
  if (fd == -EINVAL && (flags & G_AT_EMPTY_PATH)) {
    /* a virtual device fd */
    stx.stx_mask = STATX_BASIC_STATS;
    stx.stx_mode = S_IFCHR | 0666;
    stx.stx_nlink = 1;
    stx.stx_blksize = 4096;
    stx.stx_rdev_major = 1;
    stx.stx_rdev_minor = 9;
  } else {
    if (fd < 0) return fd;
    int r = statx(fd, "", AT_EMPTY_PATH | (int)(flags & G_AT_STATX_SYNC), (unsigned)a[3], &stx);
    int err = errno;
    release(fd, owned);
    if (r != 0) return -err;
  }
  stx.stx_uid = WB_UID;
  stx.stx_gid = WB_GID;
  _Static_assert(sizeof stx == 256, "struct statx is 256 bytes");
  return wb_mem_write(&m->mem, a[4], &stx, sizeof stx);
}

WB_SYS(statfs) {
  int owned;
  int fd = target_fd(m, G_AT_FDCWD, a[0], 1, 0, &owned, NULL);
  if (fd < 0) return fd;
  struct statfs s;
  int r = fstatfs(fd, &s);
  int err = errno;
  release(fd, owned);
  if (r != 0) return -err;
  return wb_put_statfs(m, a[1], &s);
}

/* ---- readlink ---- */

static long put_link(wb_machine *m, const char *s, uint64_t buf, uint64_t size) {
  size_t n = strlen(s);
  if (n > size) n = (size_t)size;
  if (wb_mem_write(&m->mem, buf, s, n) != 0) return -EFAULT;
  return (long)n;
}

WB_SYS(readlinkat) {
  if ((int64_t)a[3] <= 0 || a[3] > 0x7fffffff) return -EINVAL;
  char p[WB_PATH_MAX], g[WB_PATH_MAX];
  int r = wb_path_arg(m, a[1], p, 1);
  if (r) return r;
  if (p[0]) {
    r = wb_path_join(m, (int64_t)a[0], p, g, sizeof g);
    if (r) return r;
    /* The few /proc/self links programs rely on, answered with guest paths. */
    if (strcmp(g, "/proc/self/exe") == 0) return put_link(m, wb_u(m)->exe_path, a[2], a[3]);
    if (strcmp(g, "/proc/self/cwd") == 0) return put_link(m, wb_u(m)->cwd, a[2], a[3]);
    unsigned gfd;
    char tail;
    if (sscanf(g, "/proc/self/fd/%u%c", &gfd, &tail) == 1) {
      wb_fd *e = wb_fd_get(m, gfd);
      if (!e) return -ENOENT;
      if (e->kind == WB_FD_RANDOM) return put_link(m, "/dev/urandom", a[2], a[3]);
      char out[WB_PATH_MAX];
      if (wb_path_of_fd(m, e->host, out, sizeof out) == 0) return put_link(m, out, a[2], a[3]);
      char link[64], hp[256];
      proc_name(e->host, link, sizeof link);
      ssize_t n = readlink(link, hp, sizeof hp - 1);
      if (n <= 0) return -ENOENT;
      hp[n] = 0;
      if (hp[0] == '/') return -ENOENT; /* a host path outside the root: not shown */
      return put_link(m, hp, a[2], a[3]);
    }
  }
  int owned;
  int fd = target_fd(m, a[0], a[1], 0, 1, &owned, NULL);
  if (fd < 0) return fd;
  struct stat st;
  char target[WB_PATH_MAX];
  long res;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH) != 0) {
    res = -errno;
  } else if (!S_ISLNK(st.st_mode)) {
    res = -EINVAL;
  } else {
    ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
    if (n < 0) {
      res = -errno;
    } else {
      target[n] = 0;
      res = put_link(m, target, a[2], a[3]);
    }
  }
  release(fd, owned);
  return res;
}

/* ---- access ---- */

static long access_common(wb_machine *m, uint64_t dirfd, uint64_t a_path, uint64_t mode,
                          uint64_t flags) {
  if (mode & ~(uint64_t)7) return -EINVAL;
  if (flags & ~(uint64_t)(G_AT_EACCESS | G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH))
    return -EINVAL;
  int owned;
  int fd = target_fd(m, dirfd, a_path, !(flags & G_AT_SYMLINK_NOFOLLOW),
                     (flags & G_AT_EMPTY_PATH) != 0, &owned, NULL);
  if (fd == -EINVAL && (flags & G_AT_EMPTY_PATH)) return 0; /* virtual device */
  if (fd < 0) return fd;
  long r = syscall(SYS_faccessat2, fd, "", (int)mode, AT_EMPTY_PATH);
  long res = r != 0 ? -errno : 0;
  release(fd, owned);
  return res;
}

WB_SYS(faccessat) { return access_common(m, a[0], a[1], a[2], 0); }
WB_SYS(faccessat2) { return access_common(m, a[0], a[1], a[2], a[3]); }

/* ---- names: unlink, mkdir, rename, link, symlink, mknod ---- */

/* Open the parent of (dirfd, path). On success *pfd is the parent and name the last
 * component; special (".", "..", "/") and trailing-slash status are returned too. */
static int parent_of(wb_machine *m, uint64_t dirfd, uint64_t a_path, char *name, int *slash,
                     int *special) {
  char g[WB_PATH_MAX];
  int r = get_path(m, dirfd, a_path, g);
  if (r) return r;
  return wb_path_parent(m, g, name, slash, special);
}

/* With a trailing slash the named object must be a directory (never following the name
 * itself on the host: a symlink there is not a directory for rmdir/unlink/rename). */
static int check_slash(int pfd, const char *name) {
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The isolation rule for a name inside the root (its parent was opened through the root): a
 * device node there is still a host object, never unlinked, renamed over or linked. A missing
 * name is left to the host call, which reports it. 0 or -EPERM. */
static int name_may_change(int pfd, const char *name) {
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return is_device(st.st_mode) ? -EPERM : 0;
}

WB_SYS(unlinkat) {
  if (a[2] & ~(uint64_t)G_AT_REMOVEDIR) return -EINVAL;
  int rmdir_ = (a[2] & G_AT_REMOVEDIR) != 0;
  char name[256];
  int slash, special;
  int pfd = parent_of(m, a[0], a[1], name, &slash, &special);
  if (pfd < 0) return pfd;
  long res;
  if (special) {
    res = rmdir_ ? -EBUSY : -EISDIR;
  } else if (slash && (res = check_slash(pfd, name)) != 0) {
  } else if ((res = name_may_change(pfd, name)) != 0) {
  } else {
    res = unlinkat(pfd, name, rmdir_ ? AT_REMOVEDIR : 0) != 0 ? -errno : 0;
  }
  close(pfd);
  return res;
}

WB_SYS(mkdirat) {
  char name[256];
  int slash, special;
  int pfd = parent_of(m, a[0], a[1], name, &slash, &special);
  if (pfd < 0) return pfd;
  long res;
  if (special) res = -EEXIST;
  else res = mkdirat(pfd, name, (mode_t)(a[2] & 07777 & ~(uint64_t)wb_u(m)->umask)) ? -errno : 0;
  close(pfd);
  return res;
}

WB_SYS(mknodat) {
  uint64_t type = a[2] & S_IFMT;
  if (type != 0 && type != S_IFREG && type != S_IFIFO) return -EPERM;
  char name[256];
  int slash, special;
  int pfd = parent_of(m, a[0], a[1], name, &slash, &special);
  if (pfd < 0) return pfd;
  long res;
  mode_t mode = (mode_t)((type ? type : S_IFREG) | (a[2] & 07777 & ~(uint64_t)wb_u(m)->umask));
  if (special || slash) res = -EEXIST;
  else res = mknodat(pfd, name, mode, 0) ? -errno : 0;
  close(pfd);
  return res;
}

WB_SYS(renameat2) {
  if (a[4] & ~(uint64_t)7) return -EINVAL;
  char on[256], nn[256];
  int os, osp, ns, nsp;
  int opfd = parent_of(m, a[0], a[1], on, &os, &osp);
  if (opfd < 0) return opfd;
  int npfd = parent_of(m, a[2], a[3], nn, &ns, &nsp);
  if (npfd < 0) {
    close(opfd);
    return npfd;
  }
  long res = 0;
  if (osp || nsp) res = -EBUSY;
  else if (os || ns) res = check_slash(opfd, on);
  if (res == 0) res = name_may_change(opfd, on);
  if (res == 0) res = name_may_change(npfd, nn);
  if (res == 0)
    res = syscall(SYS_renameat2, opfd, on, npfd, nn, (unsigned)a[4]) != 0 ? -errno : 0;
  close(opfd);
  close(npfd);
  return res;
}

WB_SYS(symlinkat) {
  char target[WB_PATH_MAX];
  int r = wb_path_arg(m, a[0], target, 0);
  if (r) return r;
  char name[256];
  int slash, special;
  int pfd = parent_of(m, a[1], a[2], name, &slash, &special);
  if (pfd < 0) return pfd;
  /* The target is stored verbatim: it is only ever resolved by the guest, inside the root. */
  long res = (special || slash) ? -EEXIST : (symlinkat(target, pfd, name) ? -errno : 0);
  close(pfd);
  return res;
}

WB_SYS(linkat) {
  uint64_t flags = a[4];
  if (flags & ~(uint64_t)(G_AT_SYMLINK_FOLLOW | G_AT_EMPTY_PATH)) return -EINVAL;
  char nn[256];
  int ns, nsp;
  int npfd = parent_of(m, a[2], a[3], nn, &ns, &nsp);
  if (npfd < 0) return npfd;
  long res;
  if (nsp || ns) {
    res = -EEXIST;
  } else if (flags & (G_AT_SYMLINK_FOLLOW | G_AT_EMPTY_PATH)) {
    int owned, inroot;
    int fd = target_fd(m, a[0], a[1], (flags & G_AT_SYMLINK_FOLLOW) != 0,
                       (flags & G_AT_EMPTY_PATH) != 0, &owned, &inroot);
    if (fd < 0) {
      res = fd;
    } else if ((res = wb_host_may_change(fd, inroot, WB_CHANGE_NAME)) != 0) {
      release(fd, owned); /* e.g. /proc/self/exe, /dev/stdout, a host device: never linked */
    } else {
      char pn[64];
      proc_name(fd, pn, sizeof pn);
      res = linkat(AT_FDCWD, pn, npfd, nn, AT_SYMLINK_FOLLOW) ? -errno : 0;
      release(fd, owned);
    }
  } else {
    char on[256];
    int os, osp;
    int opfd = parent_of(m, a[0], a[1], on, &os, &osp);
    if (opfd < 0) {
      res = opfd;
    } else {
      res = (osp || os) ? -EPERM : name_may_change(opfd, on);
      if (res == 0) res = linkat(opfd, on, npfd, nn, 0) ? -errno : 0;
      close(opfd);
    }
  }
  close(npfd);
  return res;
}

/* ---- cwd ---- */

WB_SYS(getcwd) {
  const char *cwd = wb_u(m)->cwd;
  size_t n = strlen(cwd) + 1;
  if (a[1] < n) return -ERANGE;
  if (wb_mem_write(&m->mem, a[0], cwd, n) != 0) return -EFAULT;
  return (long)n;
}

static long set_cwd_from_fd(wb_machine *m, int hostfd) {
  struct stat st;
  if (fstat(hostfd, &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  char g[WB_PATH_MAX];
  int r = wb_path_of_fd(m, hostfd, g, sizeof g);
  if (r) return r;
  strcpy(wb_u(m)->cwd, g);
  return 0;
}

WB_SYS(chdir) {
  char g[WB_PATH_MAX];
  int r = get_path(m, G_AT_FDCWD, a[0], g);
  if (r) return r;
  int fd = wb_path_open(m, g, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return fd;
  long res = set_cwd_from_fd(m, fd);
  close(fd);
  return res;
}

WB_SYS(fchdir) {
  wb_fd *e = wb_fd_get(m, a[0]);
  if (!e) return -EBADF;
  if (e->kind != WB_FD_HOST) return -ENOTDIR;
  return set_cwd_from_fd(m, e->host);
}

WB_SYS(chroot) { return -EPERM; }

/* ---- attributes ---- */

static long chmod_common(wb_machine *m, uint64_t dirfd, uint64_t a_path, uint64_t mode,
                         uint64_t flags) {
  if (flags & ~(uint64_t)(G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH)) return -EINVAL;
  int owned, inroot;
  int fd = target_fd(m, dirfd, a_path, !(flags & G_AT_SYMLINK_NOFOLLOW),
                     (flags & G_AT_EMPTY_PATH) != 0, &owned, &inroot);
  if (fd < 0) return fd;
  struct stat st;
  long res;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH) != 0) {
    res = -errno;
  } else if (S_ISLNK(st.st_mode)) {
    res = -EOPNOTSUPP; /* Linux cannot chmod a symlink either */
  } else if ((res = wb_host_may_change(fd, inroot, WB_CHANGE_META)) != 0) {
  } else {
    char pn[64];
    proc_name(fd, pn, sizeof pn);
    res = fchmodat(AT_FDCWD, pn, (mode_t)(mode & 07777), 0) ? -errno : 0;
  }
  release(fd, owned);
  return res;
}

WB_SYS(fchmodat) { return chmod_common(m, a[0], a[1], a[2], 0); }
WB_SYS(fchmodat2) { return chmod_common(m, a[0], a[1], a[2], a[3]); }

WB_SYS(fchownat) {
  if (a[4] & ~(uint64_t)(G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH)) return -EINVAL;
  int owned;
  int fd = target_fd(m, a[0], a[1], !(a[4] & G_AT_SYMLINK_NOFOLLOW),
                     (a[4] & G_AT_EMPTY_PATH) != 0, &owned, NULL);
  if (fd < 0) return fd;
  release(fd, owned);
  return 0; /* ownership is not modelled: accepted and ignored */
}

WB_SYS(utimensat) {
  uint64_t flags = a[3];
  if (flags & ~(uint64_t)(G_AT_SYMLINK_NOFOLLOW | G_AT_EMPTY_PATH)) return -EINVAL;
  struct timespec ts[2], *tp = NULL;
  if (a[2]) {
    int64_t raw[4];
    if (wb_mem_read(&m->mem, a[2], raw, sizeof raw) != 0) return -EFAULT;
    for (int i = 0; i < 2; i++) {
      ts[i].tv_sec = raw[2 * i];
      ts[i].tv_nsec = raw[2 * i + 1];
    }
    tp = ts;
  }
  int fd, owned = 0, inroot = 0;
  if (a[1] == 0) {
    /* utimensat(fd, NULL, ...) is futimens(fd) */
    wb_fd *e = wb_fd_get(m, a[0]);
    if (!e) return -EBADF;
    if (e->kind != WB_FD_HOST) return 0; /* a virtual device: guest-private, nothing to do */
    int r = wb_fd_may_change(e, WB_CHANGE_META);
    if (r) return r;
    return futimens(e->host, tp) ? -errno : 0;
  }
  if (flags & G_AT_SYMLINK_NOFOLLOW) {
    char name[256];
    int slash, special;
    int pfd = parent_of(m, a[0], a[1], name, &slash, &special);
    if (pfd < 0) return pfd;
    long res = 0;
    struct stat st;
    if (!special && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
      res = -EPERM; /* a device node, FIFO or socket inside the root */
    if (res == 0)
      res = utimensat(pfd, special ? "" : name, tp,
                      special ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) ? -errno : 0;
    close(pfd);
    return res;
  }
  fd = target_fd(m, a[0], a[1], 1, (flags & G_AT_EMPTY_PATH) != 0, &owned, &inroot);
  if (fd < 0) return fd;
  long res = wb_host_may_change(fd, inroot, WB_CHANGE_META);
  if (res == 0) {
    char pn[64];
    proc_name(fd, pn, sizeof pn);
    res = utimensat(AT_FDCWD, pn, tp, 0) ? -errno : 0;
  }
  release(fd, owned);
  return res;
}

WB_SYS(truncate) {
  char g[WB_PATH_MAX];
  int r = get_path(m, G_AT_FDCWD, a[0], g);
  if (r) return r;
  if ((int64_t)a[1] < 0) return -EINVAL;
  /* Resolve without opening first: only a regular file inside the root is ever opened for
   * writing here (a device or FIFO would be opened, with its side effects, before ftruncate
   * could refuse it). */
  int pfd = wb_path_open(m, g, O_PATH, 0);
  if (pfd < 0) return pfd;
  struct stat st;
  long res = fstat(pfd, &st) != 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR
                                   : !S_ISREG(st.st_mode) ? -EPERM : 0;
  if (res == 0) {
    char pn[64];
    proc_name(pfd, pn, sizeof pn);
    int fd = open(pn, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      res = -errno;
    } else {
      res = ftruncate(fd, (off_t)a[1]) ? -errno : 0;
      close(fd);
    }
  }
  close(pfd);
  return res;
}
