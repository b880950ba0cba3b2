/* common.h — helpers shared by the syscall test programs: print a call's result with the
 * errno *name* (identical under glibc and musl, unlike strerror texts). */
#ifndef WB_SYSCALLS_COMMON_H
#define WB_SYSCALLS_COMMON_H
#include <errno.h>
#include <stdio.h>

static const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case EOVERFLOW: return "EOVERFLOW";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E?";
  }
}

static void show(const char *what, long r) {
  if (r < 0) printf("%-40s -1 %s\n", what, errname(errno));
  else printf("%-40s %ld\n", what, r);
}

/* Print an expression and its value (or -1 and the errno name). */
#define T(expr) (errno = 0, show(#expr, (long)(expr)))

#endif
