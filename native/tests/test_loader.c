/* test_loader.c — C-level tests of the user-mode layer: guest memory (mem.c) accounting and
 * permissions, the ELF loader against mutated ELFs (truncations, bit flips, extreme header
 * fields: it must fail cleanly or load, never crash), and a syscall fuzzer that calls the
 * syscall layer with hostile arguments inside a temporary root.
 *
 * Built and run by tests/test_usermode.py (with AddressSanitizer/UBSan when available):
 *   cc -Inative/include -Inative/src native/tests/test_loader.c native/src/*.c
 *      native/src/user/*.c -lm -o test_loader
 *   ./test_loader STATIC_RISCV_ELF ITERATIONS SEED ROOT_DIR
 * Prints a summary and "ok"; exits 1 on a failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "machine.h"
#include "mem.h"
#include "user.h"
#include "user/user_internal.h"

#define CHECK(c)                                                              \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- mem.c ---- */

static void test_mem(void) {
  wb_mem m;
  char err[256];
  const uint64_t P = WB_PAGE_SIZE;
  CHECK(wb_mem_init(&m, 64 << 20, 16 * P, err, sizeof err) == 0);
  CHECK(m.committed == 0);
  CHECK(wb_mem_map(&m, 0x10000, 4 * P, WB_PROT_R | WB_PROT_W) == 0);
  CHECK(m.committed == 4 * P);
  /* remapping mapped pages does not count twice, and zeroes them */
  memset(wb_mem_host(&m, 0x10000), 0xab, 4 * P);
  CHECK(wb_mem_map(&m, 0x10000 + 2 * P, 4 * P, WB_PROT_R) == 0);
  CHECK(m.committed == 6 * P);
  CHECK(wb_mem_host(&m, 0x10000)[P + 5] == 0xab);
  CHECK(wb_mem_host(&m, 0x10000)[2 * P + 5] == 0);
  /* the cap */
  CHECK(wb_mem_map(&m, 0x100000, 11 * P, WB_PROT_R) == -ENOMEM);
  CHECK(m.committed == 6 * P);
  CHECK(wb_mem_map(&m, 0x100000, 10 * P, 0) == 0);
  CHECK(m.committed == 16 * P && m.peak == 16 * P);
  /* PROT_NONE mappings are mapped but inaccessible */
  CHECK(m.perm[0x100000 >> 12] == WB_PERM_MAPPED);
  CHECK(!wb_mem_check(&m, 0x100000, 1, WB_PROT_R));
  CHECK(wb_mem_check(&m, 0x100000, 1, 0));
  CHECK(wb_vma_find_free(&m, P, 0x100000, 0x100000 + 10 * P) == 0);
  /* checks and copies */
  CHECK(wb_mem_check(&m, 0x10000, 2 * P, WB_PROT_W));
  CHECK(!wb_mem_check(&m, 0x10000, 3 * P, WB_PROT_W));
  CHECK(wb_mem_check(&m, 0x10000, 6 * P, WB_PROT_R));
  CHECK(!wb_mem_check(&m, 0x10000, 6 * P + 1, WB_PROT_R));
  CHECK(!wb_mem_check(&m, ~0ull - 2, 8, WB_PROT_R));
  CHECK(wb_mem_span(&m, 0x10000 + 100, 10 * P, WB_PROT_W) == 2 * P - 100);
  CHECK(wb_mem_span(&m, 0x8000, 10, WB_PROT_R) == 0);
  CHECK(wb_mem_write(&m, 0x10000 + 2 * P, "x", 1) == -EFAULT);
  CHECK(wb_mem_write(&m, 0x10000 + P - 3, "hello", 6) == 0);
  char s[16];
  CHECK(wb_mem_read_str(&m, 0x10000 + P - 3, s, sizeof s) == 5 && strcmp(s, "hello") == 0);
  CHECK(wb_mem_read_str(&m, 0x10000 + P - 3, s, 4) == -ENAMETOOLONG);
  CHECK(wb_mem_read_str(&m, 0x8000, s, 4) == -EFAULT);
  memset(wb_mem_host(&m, 0x10000 + P), 'a', P); /* no NUL up to the unwritable... */
  CHECK(wb_mem_protect(&m, 0x10000, 6 * P, WB_PROT_R) == 0);
  CHECK(wb_mem_read_str(&m, 0x10000 + P, s, sizeof s) == -ENAMETOOLONG);
  CHECK(wb_mem_protect(&m, 0x10000, 7 * P, WB_PROT_R) == -ENOMEM);
  CHECK(wb_mem_protect(&m, 0x10001, P, WB_PROT_R) == -EINVAL);
  /* discard keeps the mapping, drops contents */
  CHECK(wb_mem_protect(&m, 0x10000, P, WB_PROT_R | WB_PROT_W) == 0);
  wb_mem_host(&m, 0x10000)[7] = 9;
  CHECK(wb_mem_discard(&m, 0x10000, P) == 0 && wb_mem_host(&m, 0x10000)[7] == 0);
  CHECK(wb_mem_discard(&m, 0x8000, P) == -ENOMEM);
  /* copy reads even PROT_NONE sources */
  CHECK(wb_mem_protect(&m, 0x10000 + P, P, 0) == 0);
  CHECK(wb_mem_copy(&m, 0x10000, 0x10000 + P, 16) == 0 && wb_mem_host(&m, 0x10000)[3] == 'a');
  /* unmap gives the budget back and zeroes */
  CHECK(wb_mem_unmap(&m, 0x10000, 6 * P) == 0);
  CHECK(m.committed == 10 * P && m.peak == 16 * P);
  CHECK(wb_mem_map(&m, 0x10000, P, WB_PROT_R) == 0 && wb_mem_host(&m, 0x10000)[3] == 0);
  CHECK(wb_mem_unmap(&m, 0, m.size) == 0 && m.committed == 0);
  CHECK(wb_mem_unmap(&m, 0x1001, P) == -EINVAL);
  CHECK(wb_mem_map(&m, m.size - P, 2 * P, WB_PROT_R) == -ENOMEM);
  /* find_free is top-down */
  CHECK(wb_vma_find_free(&m, 3 * P, 0x10000, 0x40000) == 0x40000 - 3 * P);
  CHECK(wb_mem_map(&m, 0x40000 - 2 * P, P, WB_PROT_R) == 0);
  CHECK(wb_vma_find_free(&m, 3 * P, 0x10000, 0x40000) == 0x40000 - 5 * P);
  CHECK(wb_vma_find_free(&m, 0x40000, 0x10000, 0x40000) == 0);
  wb_mem_fini(&m);
  /* default limit */
  CHECK(wb_mem_init(&m, 1 << 20, 0, err, sizeof err) == 0 && m.limit == (1ull << 30));
  wb_mem_fini(&m);
  printf("mem: ok\n");
}

/* ---- loader fuzz ---- */

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  CHECK(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)len);
  CHECK(fread(b, 1, (size_t)len, f) == (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return b;
}

static void config(wb_config *cfg, int devnull, const char *root) {
  wb_config_init(cfg);
  cfg->max_insns = 20000;
  cfg->mem_limit = 64 << 20;
  cfg->stdin_fd = -1;
  cfg->stdout_fd = devnull;
  cfg->stderr_fd = devnull;
  cfg->root = root;
}

static void fuzz_loader(const uint8_t *elf, size_t n, int iters, const char *tmpdir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/fuzz.elf", tmpdir);
  uint8_t *buf = malloc(n);
  /* the mutants' output goes to a scratch file: a fuzzed guest never holds a host device */
  char out[4096];
  snprintf(out, sizeof out, "%s/loader-out", tmpdir);
  int devnull = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CHECK(devnull >= 0);
  int loaded = 0, ran = 0;
  int reasons[16] = {0};
  /* offsets of interesting header fields: e_type..e_shstrndx, then phdr fields */
  static const int fields[] = {16, 18, 20, 24, 32, 40, 48, 52, 54, 56, 58, 60, 62};
  for (int it = 0; it < iters; it++) {
    memcpy(buf, elf, n);
    size_t len = n;
    uint64_t kind = rnd() % 6;
    if (kind == 0) {
      len = rnd() % n;
    } else if (kind == 1) {
      for (int k = 1 + rnd() % 8; k > 0; k--) buf[rnd() % (n < 1024 ? n : 1024)] ^= 1 << (rnd() % 8);
    } else if (kind == 2) {
      uint64_t v[] = {0, 1, ~0ull, 0x7fffffffffffffffull, 0xffffffffull, rnd(), n, n - 1, 56, 4096};
      int f = fields[rnd() % (sizeof fields / sizeof fields[0])];
      uint64_t val = v[rnd() % 10];
      memcpy(buf + f, &val, f >= 48 ? 2 : (f == 16 || f == 18 ? 2 : (f == 20 ? 4 : 8)));
    } else if (kind == 3) {
      /* a program-header field (table at e_phoff, usually 64) */
      uint64_t phoff;
      memcpy(&phoff, buf + 32, 8);
      uint16_t phnum;
      memcpy(&phnum, buf + 56, 2);
      if (phnum && phoff < n) {
        size_t at = phoff + (rnd() % phnum) * 56 + (rnd() % 7) * 8;
        uint64_t v[] = {0, 1, ~0ull, 1ull << 32, 0xfffff000ull, rnd(), n, 0x1000};
        uint64_t val = v[rnd() % 8];
        if (at + 8 <= n) memcpy(buf + at, &val, 8);
      }
    } else {
      for (int k = 1 + rnd() % 32; k > 0; k--) buf[rnd() % n] ^= 1 << (rnd() % 8);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    wb_config cfg;
    config(&cfg, devnull, NULL);
    char err[512] = "";
    wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
    CHECK(m);
    const char *argv[] = {"fuzz", "arg"};
    const char *envp[] = {"A=1"};
    if (wb_machine_load(m, path, 2, argv, 1, envp, err, sizeof err) == 0) {
      loaded++;
      if (kind >= 4 || it % 8 == 0) {
        wb_result r;
        wb_machine_run(m, &r);
        ran++;
        if (r.reason >= 0 && r.reason < 16) reasons[r.reason]++;
      }
    } else {
      CHECK(err[0] != 0);
    }
    wb_machine_destroy(m);
  }
  close(devnull);
  free(buf);
  printf("loader fuzz: %d mutants, %d loaded, %d ran (exit %d, budget %d, fault %d, "
         "illegal %d, internal %d, signal %d)\n", iters, loaded, ran, reasons[WB_REASON_EXIT],
         reasons[WB_REASON_BUDGET], reasons[WB_REASON_FAULT], reasons[WB_REASON_ILLEGAL],
         reasons[WB_REASON_INTERNAL], reasons[WB_REASON_SIGNAL]);
}

/* ---- syscall fuzz ---- */

static const char *const strings[] = {
    "/", "", ".", "..", "a", "a/b", "dir", "dir/", "dir/../f", "f", "link", "fifo",
    "../../wbfuzz-none", "/proc/self/exe", "/proc/self/fd/1", "/dev/null", "/dev/urandom",
    "/dev/stdout", "x/../../..", "dir/sub/deeper", "/dev/zero", "/dev/stdin", "/dev/full",
    "/proc/self/mem",
};
#define NSTR (sizeof strings / sizeof strings[0])
#define AREA (WB_STACK_TOP - WB_STACK_SIZE)   /* our scratch area: bottom of the stack */

static void seed_area(wb_machine *m) {
  wb_mem_map(&m->mem, AREA, 64 * WB_PAGE_SIZE, WB_PROT_R | WB_PROT_W);
  for (size_t i = 0; i < NSTR; i++)
    wb_mem_write(&m->mem, AREA + i * 256, strings[i], strlen(strings[i]) + 1);
  for (uint64_t a = AREA + 16 * 256; a < AREA + 64 * WB_PAGE_SIZE; a += 8) {
    uint64_t v = rnd() % 4 ? rnd() % 64 : rnd();
    wb_mem_write(&m->mem, a, &v, 8);
  }
}

static uint64_t arg(void) {
  switch (rnd() % 12) {
    case 0: return 0;
    case 1: return rnd() % 8;
    case 2: return (uint64_t)-1;
    case 3: return (uint64_t)(int64_t)-100; /* AT_FDCWD */
    case 4: return AREA + (rnd() % NSTR) * 256; /* a path */
    case 5: return AREA + 16 * 256 + (rnd() % 1000) * 8; /* scratch memory */
    case 6: return 0x1000; /* unmapped */
    case 7: return AREA + 64 * WB_PAGE_SIZE - (rnd() % 16); /* crossing the end */
    case 8: return rnd();
    case 9: return 1ull << (rnd() % 64);
    case 10: return rnd() % 4096;
    default: return rnd() & 0xffffffff;
  }
}

/* Counting and names: known-missing calls count as unknown, deliberate ENOSYS does not. */
static void test_counts(const char *elf_path) {
  wb_config cfg;
  int devnull = open("/dev/null", O_WRONLY);
  config(&cfg, devnull, NULL);
  char err[512];
  wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
  CHECK(m);
  const char *argv[] = {"counts"};
  CHECK(wb_machine_load(m, elf_path, 1, argv, 0, NULL, err, sizeof err) == 0);
  static const struct { uint64_t nr; int64_t ret; int unknown; } calls[] = {
      {220, -ENOSYS, 1},  /* clone */
      {221, -ENOSYS, 1},  /* execve */
      {293, -ENOSYS, 0},  /* rseq: deliberate */
      {172, 1000, 0},     /* getpid */
      {178, 1000, 0},     /* gettid */
      {174, 1000, 0},     /* getuid */
      {600, -ENOSYS, 0},  /* beyond the table: unknown_other */
      {498, -ENOSYS, 1},  /* unassigned */
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    memset(&m->harts[0]->x[WB_REG_A0], 0, 6 * sizeof(uint64_t));
    m->harts[0]->x[WB_REG_A7] = calls[i].nr;
    CHECK(wb_user_syscall(m->harts[0]) == 0);
    CHECK((int64_t)m->harts[0]->x[WB_REG_A0] == calls[i].ret);
    if (calls[i].nr < WB_MAX_SYSCALL) {
      CHECK(m->syscall_counts[calls[i].nr] == 1);
      CHECK(m->unknown_syscalls[calls[i].nr] == (uint64_t)calls[i].unknown);
    }
  }
  CHECK(m->unknown_other == 1);
  CHECK(m->syscalls_total == sizeof calls / sizeof calls[0]);
  /* no root: every path lookup fails with ENOENT; fds 0-2 still work */
  uint64_t s = WB_STACK_TOP - WB_STACK_SIZE;
  CHECK(wb_mem_write(&m->mem, s, "/dev/null", 10) == 0);
  static const uint64_t nrs[] = {56 /* openat */, 79 /* newfstatat */, 34 /* mkdirat */};
  for (size_t i = 0; i < 3; i++) {
    m->harts[0]->x[WB_REG_A0] = (uint64_t)(int64_t)-100;
    m->harts[0]->x[WB_REG_A1] = s;
    m->harts[0]->x[WB_REG_A2] = s + 4096;
    m->harts[0]->x[WB_REG_A3] = 0;
    m->harts[0]->x[WB_REG_A7] = nrs[i];
    CHECK(wb_user_syscall(m->harts[0]) == 0 && (int64_t)m->harts[0]->x[WB_REG_A0] == -ENOENT);
  }
  m->harts[0]->x[WB_REG_A0] = 1;
  m->harts[0]->x[WB_REG_A1] = s;
  m->harts[0]->x[WB_REG_A2] = 4;
  m->harts[0]->x[WB_REG_A7] = 64; /* write(1, ...) goes to the configured stdout */
  CHECK(wb_user_syscall(m->harts[0]) == 0 && m->harts[0]->x[WB_REG_A0] == 4);
  /* exit_group stops the run with the low 8 bits of the status */
  m->harts[0]->x[WB_REG_A0] = 0x1234;
  m->harts[0]->x[WB_REG_A7] = 94;
  CHECK(wb_user_syscall(m->harts[0]) == 1);
  CHECK(m->stop_reason == WB_REASON_EXIT && m->exit_code == 0x34);
  wb_machine_destroy(m);
  close(devnull);
  static const struct { int nr; const char *name; } names[] = {
      {17, "getcwd"}, {56, "openat"}, {63, "read"}, {64, "write"}, {79, "newfstatat"},
      {80, "fstat"}, {93, "exit"}, {94, "exit_group"}, {96, "set_tid_address"},
      {98, "futex"}, {113, "clock_gettime"}, {134, "rt_sigaction"}, {160, "uname"},
      {172, "getpid"}, {214, "brk"}, {215, "munmap"}, {216, "mremap"}, {220, "clone"},
      {222, "mmap"}, {226, "mprotect"}, {258, "riscv_hwprobe"}, {261, "prlimit64"},
      {276, "renameat2"}, {278, "getrandom"}, {291, "statx"}, {293, "rseq"}, {435, "clone3"},
      {437, "openat2"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *n = wb_user_syscall_name(names[i].nr);
    CHECK(n && strcmp(n, names[i].name) == 0);
  }
  CHECK(wb_user_syscall_name(38) == NULL);  /* renameat does not exist on riscv64 */
  CHECK(wb_user_syscall_name(-1) == NULL && wb_user_syscall_name(WB_MAX_SYSCALL) == NULL);
  printf("counts and names: ok\n");
}

/* What the isolation rule protects, as the host sees it: mode, size, links, inode. */
typedef struct { mode_t mode; off_t size; nlink_t nlink; ino_t ino; } host_obj;

static host_obj host_stat(const char *path) {
  struct stat st;
  CHECK(stat(path, &st) == 0);
  return (host_obj){st.st_mode, st.st_size, st.st_nlink, st.st_ino};
}

static void same_host_obj(const char *path, host_obj before) {
  host_obj now = host_stat(path);
  if (now.mode != before.mode || now.size != before.size || now.nlink != before.nlink ||
      now.ino != before.ino) {
    fprintf(stderr, "host object %s changed: mode %o -> %o, size %ld -> %ld, links %ld -> %ld\n",
            path, before.mode, now.mode, (long)before.size, (long)now.size,
            (long)before.nlink, (long)now.nlink);
    exit(1);
  }
}

/* The fuzzer runs with a sandboxed root, stdio on scratch files and a private copy of the
 * executable (/proc/self/exe), and checks afterwards that none of them, nor the host's
 * /dev/null, changed: hostile calls must never reach a host object outside the root. */
static void fuzz_syscalls(const char *elf_path, int iters, const char *tmpdir) {
  char root[4096], exe[4096], io[3][4096];
  snprintf(root, sizeof root, "%s/root", tmpdir);
  snprintf(exe, sizeof exe, "%s/fuzz-exe.elf", tmpdir);
  mkdir(root, 0755);
  size_t n;
  uint8_t *image = slurp(elf_path, &n);
  FILE *f = fopen(exe, "wb");
  CHECK(f && fwrite(image, 1, n, f) == n && fclose(f) == 0);
  free(image);
  CHECK(chmod(exe, 0755) == 0);
  int fds[3];
  for (int i = 0; i < 3; i++) {
    snprintf(io[i], sizeof io[i], "%s/stdio%d", tmpdir, i);
    fds[i] = open(io[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fds[i] >= 0);
  }
  CHECK(write(fds[0], "fuzz input\n", 11) == 11 && lseek(fds[0], 0, SEEK_SET) == 0);
  host_obj before_null = host_stat("/dev/null"), before_zero = host_stat("/dev/zero");
  host_obj before_exe = host_stat(exe), before_io[3];
  for (int i = 0; i < 3; i++) before_io[i] = host_stat(io[i]);
  int fl_before[3];
  for (int i = 0; i < 3; i++) fl_before[i] = fcntl(fds[i], F_GETFL);
  elf_path = exe;
  wb_config cfg;
  config(&cfg, fds[1], root);
  cfg.stdin_fd = fds[0];
  cfg.stderr_fd = fds[2];
  char err[512];
  wb_machine *m = wb_machine_create(&cfg, err, sizeof err);
  if (!m) fprintf(stderr, "%s\n", err);
  CHECK(m);
  const char *argv[] = {"fuzz"};
  CHECK(wb_machine_load(m, elf_path, 1, argv, 0, NULL, err, sizeof err) == 0);
  seed_area(m);
  int stops = 0, enosys = 0;
  for (int it = 0; it < iters; it++) {
    if (it % 200 == 0) seed_area(m);
    static const uint16_t impl[] = {
        17, 23, 24, 25, 29, 32, 33, 34, 35, 36, 37, 43, 44, 45, 46, 48, 49, 50, 52, 53, 54, 55,
        56, 57, 59, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 78, 79, 80, 81, 82, 83,
        88, 90, 93, 94, 95, 96, 98, 99, 100, 101, 102, 103, 113, 114, 115, 123, 124, 125, 129,
        130, 131, 132, 133, 134, 135, 136, 146, 148, 153, 155, 160, 163, 164, 165, 166, 167,
        168, 169, 172, 178, 179, 214, 215, 216, 222, 226, 227, 228, 232, 233, 258, 259, 260,
        261, 276, 278, 283, 285, 291, 436, 437, 439, 452};
    uint64_t nr = rnd() % 8 ? impl[rnd() % (sizeof impl / sizeof impl[0])] : rnd() % 600;
    if (nr == 47) nr = 63; /* fallocate could fill the disk */
    m->harts[0]->x[WB_REG_A7] = nr;
    for (int k = 0; k < 6; k++) m->harts[0]->x[WB_REG_A0 + k] = arg();
    if (wb_user_syscall(m->harts[0])) {
      stops++;
      m->stop_reason = WB_REASON_NONE;
      m->message[0] = 0;
    } else if ((int64_t)m->harts[0]->x[WB_REG_A0] == -ENOSYS) {
      enosys++;
    }
  }
  CHECK(m->syscalls_total == (uint64_t)iters);
  wb_machine_destroy(m);
  same_host_obj("/dev/null", before_null);
  same_host_obj("/dev/zero", before_zero);
  same_host_obj(exe, before_exe);
  for (int i = 0; i < 3; i++) {
    host_obj now = host_stat(io[i]);
    before_io[i].size = now.size; /* the guest may write its stdio, nothing else */
    same_host_obj(io[i], before_io[i]);
    CHECK(fcntl(fds[i], F_GETFL) == fl_before[i]); /* the descriptions' flags too */
    close(fds[i]);
  }
  printf("syscall fuzz: %d calls, %d stops, %d ENOSYS; host objects unchanged\n", iters, stops,
         enosys);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: test_loader STATIC_RISCV_ELF ITERATIONS SEED TMPDIR\n");
    return 2;
  }
  int iters = atoi(argv[2]);
  rng_state = strtoull(argv[3], NULL, 0);
  test_mem();
  test_counts(argv[1]);
  size_t n;
  uint8_t *elf = slurp(argv[1], &n);
  fuzz_loader(elf, n, iters, argv[4]);
  free(elf);
  fuzz_syscalls(argv[1], iters * 5, argv[4]);
  printf("ok\n");
  return 0;
}
