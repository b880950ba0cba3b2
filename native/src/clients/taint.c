/* taint.c — the "taint" client: taint tracking's sources and sinks, on the engine's
 * propagation (wb_taint_*; watch/taint.c; needs a machine created with wb_config.watch).
 *
 * Sources: the bytes read() (pread64, readv) puts in guest memory from a *source* file: one
 * the guest opened for reading whose path ends with the `file` option (every file when it is
 * not given; stdin too with stdin=1). Bytes any other read puts there are clean again, since
 * the kernel overwrote them.
 * Sinks: write (pwrite64, writev) of tainted bytes, and any syscall whose argument registers
 * (a0..a5, or the number in a7) hold taint, such as a length or offset computed from the input.
 * With addresses=1 a load or store through a tainted address moves tainted bytes (table
 * look-ups indexed by input bytes, as in compressors' coders), at the price of the JIT's
 * inline shadow look-ups.
 *
 * Stream "taint": one record per (kind, syscall, fd), with the calls and bytes summed,
 * rewritten whole at the end of every run (so a continued run does not count twice).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb/client.h"

enum taint_kind { TAINT_SOURCE = 0, TAINT_SINK_DATA = 1, TAINT_SINK_ARGS = 2 };

typedef struct taint_record {    /* stream "taint" (48 bytes) */
  uint64_t nr;                   /* the syscall */
  int64_t fd;                    /* its file descriptor (-1: not a read or write) */
  uint64_t calls;                /* calls that were this source or sink */
  uint64_t bytes;                /* SOURCE: bytes tainted; SINK_DATA: tainted bytes written */
  uint64_t icount;               /* instructions retired before the first of them */
  uint32_t args;                 /* SINK_ARGS: bit i, argument a<i> held taint (in any call) */
  uint8_t kind;                  /* enum taint_kind */
  uint8_t pad[3];
} taint_record;

#define MAX_ROWS 1024
#define MAX_FDS 4096
#define PATH_MAX_READ 1024

enum { SYS_DUP = 23, SYS_DUP3 = 24, SYS_FCNTL = 25, SYS_OPENAT = 56, SYS_CLOSE = 57, SYS_READ = 63,
       SYS_WRITE = 64, SYS_READV = 65, SYS_WRITEV = 66, SYS_PREAD = 67, SYS_PWRITE = 68 };
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

typedef struct tstate {
  wb_machine *m;
  wb_stream *s;
  char file[256];                /* a source's path ends with this ("" : every file) */
  int use_stdin;
  int addresses;                 /* the addresses policy (wb_taint_addresses) */
  uint8_t source[MAX_FDS];       /* fd is a source */
  taint_record rows[MAX_ROWS];
  unsigned nrows;
  uint64_t dropped;              /* rows past MAX_ROWS (counted into the last row) */
} tstate;

static taint_record *row(tstate *st, int kind, uint64_t nr, int64_t fd, wb_hart *h) {
  for (unsigned i = 0; i < st->nrows; i++)
    if (st->rows[i].kind == kind && st->rows[i].nr == nr && st->rows[i].fd == fd) return &st->rows[i];
  if (st->nrows == MAX_ROWS) { st->dropped++; return &st->rows[MAX_ROWS - 1]; }
  taint_record *r = &st->rows[st->nrows++];
  memset(r, 0, sizeof *r);
  r->kind = (uint8_t)kind;
  r->nr = nr;
  r->fd = fd;
  r->icount = wb_hart_icount(h);
  return r;
}

static int is_source(const tstate *st, int64_t fd) { return fd >= 0 && fd < MAX_FDS && st->source[fd]; }
static void set_source(tstate *st, int64_t fd, int v) { if (fd >= 0 && fd < MAX_FDS) st->source[fd] = (uint8_t)v; }

/* The guest's NUL-terminated path at addr (cut at PATH_MAX_READ); 0, or -1 if unreadable. */
static int read_path(tstate *st, uint64_t addr, char *out) {
  for (unsigned i = 0; i < PATH_MAX_READ - 1; i++) {
    if (wb_guest_read(st->m, addr + i, &out[i], 1) != 0) return -1;
    if (!out[i]) return 0;
  }
  out[PATH_MAX_READ - 1] = 0;
  return 0;
}

static int matches(const tstate *st, const char *path) {
  size_t n = strlen(path), k = strlen(st->file);
  return k <= n && !strcmp(path + n - k, st->file);
}

/* What a read of `len` bytes into [buf, buf+len) from fd means: taint from a source, else the
 * kernel overwrote whatever taint was there. */
static void filled(tstate *st, wb_hart *h, uint64_t nr, int64_t fd, uint64_t buf, uint64_t len) {
  int src = is_source(st, fd);
  wb_taint_mark(st->m, buf, len, src);
  if (src) {
    taint_record *r = row(st, TAINT_SOURCE, nr, fd, h);
    r->bytes += len;
  }
}

/* readv/writev: each iovec's part of the `done` bytes transferred (writev: the tainted ones
 * are added to *total) */
static void vectored(tstate *st, wb_hart *h, uint64_t nr, int64_t fd, uint64_t iov, uint64_t cnt,
                     uint64_t done, int reading, uint64_t *total) {
  for (uint64_t i = 0; i < cnt && i < 1024 && done; i++) {
    uint64_t v[2];
    if (wb_guest_read(st->m, iov + 16 * i, v, sizeof v) != 0) return;
    uint64_t n = v[1] < done ? v[1] : done;
    if (reading) filled(st, h, nr, fd, v[0], n);
    else *total += wb_taint_bytes(st->m, v[0], n);
    done -= n;
  }
}

static void on_syscall(void *data, wb_hart *h, uint64_t nr, const uint64_t a[6], int64_t ret) {
  tstate *st = data;
  unsigned args = wb_taint_syscall_args(h);
  int64_t fd = (int64_t)a[0];
  int rw = nr == SYS_READ || nr == SYS_PREAD || nr == SYS_READV || nr == SYS_WRITE ||
           nr == SYS_PWRITE || nr == SYS_WRITEV;
  if (args) {
    taint_record *r = row(st, TAINT_SINK_ARGS, nr, rw ? fd : -1, h);
    r->calls++;
    r->args |= args;
  }
  uint64_t done = ret > 0 ? (uint64_t)ret : 0, tainted = 0;
  switch (nr) {
    case SYS_OPENAT: {
      char path[PATH_MAX_READ];
      if (ret >= 0 && (a[2] & 3) != 1 && read_path(st, a[1], path) == 0) set_source(st, ret, matches(st, path));
      else if (ret >= 0) set_source(st, ret, 0);
      break;
    }
    case SYS_CLOSE: if (ret == 0) set_source(st, fd, 0); break;
    case SYS_DUP: if (ret >= 0) set_source(st, ret, is_source(st, fd)); break;
    case SYS_DUP3: if (ret >= 0) set_source(st, (int64_t)a[1], is_source(st, fd)); break;
    case SYS_FCNTL:
      if (ret >= 0 && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)) set_source(st, ret, is_source(st, fd));
      break;
    case SYS_READ: case SYS_PREAD:
      if (done) {
        filled(st, h, nr, fd, a[1], done);
        if (is_source(st, fd)) row(st, TAINT_SOURCE, nr, fd, h)->calls++;
      }
      break;
    case SYS_READV:
      if (done) {
        vectored(st, h, nr, fd, a[1], a[2], done, 1, &tainted);
        if (is_source(st, fd)) row(st, TAINT_SOURCE, nr, fd, h)->calls++;
      }
      break;
    case SYS_WRITE: case SYS_PWRITE: tainted = wb_taint_bytes(st->m, a[1], done); break;
    case SYS_WRITEV: vectored(st, h, nr, fd, a[1], a[2], done, 0, &tainted); break;
    default: break;
  }
  if (tainted) {
    taint_record *r = row(st, TAINT_SINK_DATA, nr, fd, h);
    r->calls++;
    r->bytes += tainted;
  }
}

static void on_run_end(void *data, wb_machine *m) {
  tstate *st = data;
  (void)m;
  wb_stream_reset(st->s);
  for (unsigned i = 0; i < st->nrows; i++) {
    taint_record *r = wb_stream_push(st->s);
    if (r) *r = st->rows[i];
  }
}

static int option(void *data, const char *key, const char *v, char *err, size_t errlen) {
  tstate *st = data;
  if (!strcmp(key, "file") && *v && strlen(v) < sizeof st->file) snprintf(st->file, sizeof st->file, "%s", v);
  else if (!strcmp(key, "stdin") && (!strcmp(v, "0") || !strcmp(v, "1"))) st->use_stdin = *v == '1';
  else if (!strcmp(key, "addresses") && (!strcmp(v, "0") || !strcmp(v, "1"))) st->addresses = *v == '1';
  else {
    snprintf(err, errlen, "taint: unknown option or value %s=%s (file=NAME: sources are files whose path ends with NAME; stdin=0|1; addresses=0|1)", key, v);
    return -1;
  }
  return 0;
}

int wb_client_taint(wb_machine *m, const char *opts, char *err, size_t errlen) {
  if (!wb_watch_enabled(m)) {
    snprintf(err, errlen, "taint: needs the watchpoint unit (Machine(watch='unlimited'), or another mechanism)");
    return -1;
  }
  tstate *st = calloc(1, sizeof *st);
  if (!st) { snprintf(err, errlen, "out of host memory"); return -1; }
  st->m = m;
  if (wb_client_options("taint", opts, option, st, err, errlen) != 0) { free(st); return -1; }
  st->source[0] = (uint8_t)st->use_stdin;
  st->s = wb_stream_new(m, "taint", sizeof(taint_record));
  int on = st->s ? wb_taint_enable(m) : -1;
  if (on == 0 && wb_taint_addresses(m, st->addresses) != 0) on = -1;
  if (on != 0) {
    free(st);
    snprintf(err, errlen, "%s",
             on == -2 ? "taint: taint tracking owns the watchpoint unit; it cannot run beside "
                        "another client that watches memory (watchheap)"
             : on == -3 ? "taint: taint tracking runs on the deterministic schedule (schedule='deterministic')"
                        : "taint: cannot turn taint tracking on (out of host memory)");
    return -1;
  }
  wb_client_ops ops = {.name = "taint", .data = st, .destroy = free, .on_syscall = on_syscall,
                       .on_run_end = on_run_end};
  return wb_client_add(m, &ops) < 0 ? -1 : 0;
}
