/* test_fasttrack.c — unit tests of native/src/race/fasttrack.c (the FastTrack race detector
 * core): each race kind found with the right pcs, tids and kinds; every happens-before edge
 * (locks, atomics, fork, join) suppresses reports; byte precision; forgetting; bad input; and
 * random stress runs checked for false reports and for the read-shared VCs' reference counts.
 *
 * Build and run (ctest's `fasttrack` does the same through CMake):
 *   cc -O2 -I native/src native/tests/test_fasttrack.c native/src/race/fasttrack.c && ./a.out
 * Exit status 0 when every check passes; each failure is printed.
 */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "race/fasttrack.h"

static int failures, checks;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    checks++;                                                         \
    if (!(cond)) {                                                    \
      failures++;                                                     \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      printf(__VA_ARGS__);                                            \
      printf("\n");                                                   \
    }                                                                 \
  } while (0)

/* ---- a recorder for on_race ---- */

#define MAXREC 64
typedef struct rec { int n; ft_race r[MAXREC]; } rec;

static void on_race(void *ctx, const ft_race *r) {
  rec *c = ctx;
  if (c->n < MAXREC) c->r[c->n] = *r;
  c->n++;
}

static rec R;
static ft_state *fresh(void) {
  memset(&R, 0, sizeof R);
  ft_state *s = ft_new(1ull << 32, 16, on_race, &R);   /* 4 GiB guest space */
  if (!s) { printf("FAIL ft_new returned NULL\n"); exit(1); }
  return s;
}

/* The single race recorded is (addr, prev pc/tid/kind -> cur pc/tid/kind). */
static void expect_one(const char *what, uint64_t addr, uint64_t ppc, int ptid, int pw,
                       uint64_t cpc, int ctid, int cw) {
  CHECK(R.n == 1, "%s: %d races reported, expected 1", what, R.n);
  if (R.n < 1) return;
  const ft_race *r = &R.r[0];
  CHECK(r->addr == addr && r->prev_pc == ppc && r->prev_tid == ptid && r->prev_write == pw &&
            r->cur_pc == cpc && r->cur_tid == ctid && r->cur_write == cw,
        "%s: got addr %#" PRIx64 " prev pc %#" PRIx64 " tid %d w %d, cur pc %#" PRIx64
        " tid %d w %d", what, r->addr, r->prev_pc, r->prev_tid, r->prev_write, r->cur_pc,
        r->cur_tid, r->cur_write);
}

static void expect_none(const char *what) {
  CHECK(R.n == 0, "%s: %d races reported, expected none (first: addr %#" PRIx64
        " prev pc %#" PRIx64 " tid %d, cur pc %#" PRIx64 " tid %d)", what, R.n,
        R.n ? R.r[0].addr : 0, R.n ? R.r[0].prev_pc : 0, R.n ? R.r[0].prev_tid : 0,
        R.n ? R.r[0].cur_pc : 0, R.n ? R.r[0].cur_tid : 0);
}

/* ---- the basic races ---- */

static void test_basic_races(void) {
  ft_state *s = fresh();
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_write(s, 1, 0x1000, 4, 0x20);
  expect_one("write-write", 0x1000, 0x10, 0, 1, 0x20, 1, 1);
  ft_free(s);

  s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_read(s, 1, 0x1000, 8, 0x24);
  expect_one("write-read", 0x1000, 0x10, 0, 1, 0x24, 1, 0);
  ft_free(s);

  s = fresh();
  ft_read(s, 0, 0x1000, 2, 0x14);
  ft_write(s, 1, 0x1000, 2, 0x28);
  expect_one("read-write", 0x1000, 0x14, 0, 0, 0x28, 1, 1);
  ft_free(s);

  /* reads alone never race; nor does a thread with itself */
  s = fresh();
  ft_read(s, 0, 0x1000, 4, 0x10);
  ft_read(s, 1, 0x1000, 4, 0x20);
  ft_read(s, 2, 0x1000, 4, 0x30);
  ft_write(s, 3, 0x2000, 4, 0x40);
  ft_read(s, 3, 0x2000, 4, 0x44);
  ft_write(s, 3, 0x2000, 4, 0x48);
  expect_none("concurrent reads, one thread's own accesses");
  ft_free(s);

  /* one report per detection: eight 1-byte writes from one pc, then a racing 8-byte write */
  s = fresh();
  for (int i = 0; i < 8; i++) ft_write(s, 0, 0x3000 + i, 1, 0x50);
  ft_write(s, 1, 0x3000, 8, 0x60);
  expect_one("eight byte writes then a word", 0x3000, 0x50, 0, 1, 0x60, 1, 1);
  ft_free(s);
}

/* ---- happens-before edges ---- */

static void test_locks(void) {
  ft_state *s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_release(s, 0, 0xabc0);
  ft_acquire(s, 1, 0xabc0);
  ft_read(s, 1, 0x1000, 8, 0x20);
  ft_write(s, 1, 0x1000, 8, 0x24);
  expect_none("ordered by release/acquire");
  /* thread 0 did not acquire after thread 1's write: its next access races */
  ft_read(s, 0, 0x1000, 8, 0x14);
  expect_one("no acquire back", 0x1000, 0x24, 1, 1, 0x14, 0, 0);
  ft_free(s);

  /* a different key orders nothing */
  s = fresh();
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_release(s, 0, 0x1);
  ft_acquire(s, 1, 0x2);
  ft_write(s, 1, 0x1000, 4, 0x20);
  expect_one("other key", 0x1000, 0x10, 0, 1, 0x20, 1, 1);
  ft_free(s);

  /* acquire of a key never released is harmless; key 0 is an ordinary key */
  s = fresh();
  ft_acquire(s, 1, 0);
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_release(s, 0, 0);
  ft_acquire(s, 1, 0);
  ft_write(s, 1, 0x1000, 4, 0x20);
  expect_none("key 0");
  ft_free(s);

  /* transitivity: 0 -> 1 on A, 1 -> 2 on B */
  s = fresh();
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_release(s, 0, 0xA);
  ft_acquire(s, 1, 0xA);
  ft_release(s, 1, 0xB);
  ft_acquire(s, 2, 0xB);
  ft_write(s, 2, 0x1000, 4, 0x30);
  expect_none("transitive");
  ft_free(s);

  /* many sync objects: the table grows */
  s = fresh();
  for (int k = 0; k < 5000; k++) {
    ft_write(s, k & 1, 0x10000 + 8 * (uint64_t)k, 8, 0x10);
    ft_release(s, k & 1, 0x7000000 + 64 * (uint64_t)k);
  }
  for (int k = 0; k < 5000; k++) {
    ft_acquire(s, 2, 0x7000000 + 64 * (uint64_t)k);
    ft_write(s, 2, 0x10000 + 8 * (uint64_t)k, 8, 0x20);
  }
  expect_none("5000 keys");
  ft_free(s);
}

static void test_fork_join(void) {
  ft_state *s = fresh();
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_fork(s, 0, 1);
  ft_read(s, 1, 0x1000, 4, 0x20);
  ft_write(s, 1, 0x1000, 4, 0x24);
  expect_none("parent writes before fork, child reads and writes");
  /* parent's accesses after the fork are concurrent with the child */
  ft_write(s, 0, 0x1000, 4, 0x14);
  expect_one("parent after fork", 0x1000, 0x24, 1, 1, 0x14, 0, 1);
  ft_free(s);

  s = fresh();
  ft_fork(s, 0, 1);
  ft_write(s, 1, 0x2000, 8, 0x20);
  ft_read(s, 1, 0x2008, 8, 0x28);
  ft_join(s, 0, 1);
  ft_read(s, 0, 0x2000, 8, 0x10);
  ft_write(s, 0, 0x2008, 8, 0x14);
  expect_none("child writes, parent reads after join");
  ft_free(s);

  /* without the join it races */
  s = fresh();
  ft_fork(s, 0, 1);
  ft_write(s, 1, 0x2000, 8, 0x20);
  ft_read(s, 0, 0x2000, 8, 0x10);
  expect_one("no join", 0x2000, 0x20, 1, 1, 0x10, 0, 0);
  ft_free(s);

  /* a tid reused after a join starts after its earlier life, and the joiner is not ordered
   * after the new life */
  s = fresh();
  ft_fork(s, 0, 1);
  ft_write(s, 1, 0x3000, 4, 0x20);
  ft_join(s, 0, 1);
  ft_fork(s, 0, 1);
  ft_write(s, 1, 0x3000, 4, 0x28);
  expect_none("reused tid after join");
  ft_write(s, 0, 0x3000, 4, 0x10);
  expect_one("joiner vs reused tid", 0x3000, 0x28, 1, 1, 0x10, 0, 1);
  ft_free(s);

  /* siblings forked from one parent are concurrent */
  s = fresh();
  ft_fork(s, 0, 1);
  ft_fork(s, 0, 2);
  ft_write(s, 1, 0x4000, 4, 0x20);
  ft_write(s, 2, 0x4000, 4, 0x30);
  expect_one("siblings", 0x4000, 0x20, 1, 1, 0x30, 2, 1);
  ft_free(s);
}

static void test_atomics(void) {
  ft_state *s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_atomic(s, 0, 0x5000);            /* e.g. amoswap publishing */
  ft_atomic(s, 1, 0x5000);            /* e.g. amoadd observing */
  ft_read(s, 1, 0x1000, 8, 0x20);
  expect_none("atomic orders");
  ft_free(s);

  /* two producers release on one atomic; a consumer sees both (L is joined, not copied) */
  s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_atomic(s, 0, 0x5000);
  ft_write(s, 1, 0x2000, 8, 0x20);
  ft_atomic(s, 1, 0x5000);
  ft_atomic(s, 2, 0x5000);
  ft_read(s, 2, 0x1000, 8, 0x30);
  ft_read(s, 2, 0x2000, 8, 0x34);
  expect_none("two producers on one atomic");
  ft_free(s);

  /* an atomic on another address does not order */
  s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_atomic(s, 0, 0x5000);
  ft_atomic(s, 1, 0x5008);
  ft_read(s, 1, 0x1000, 8, 0x20);
  expect_one("atomic on another key", 0x1000, 0x10, 0, 1, 0x20, 1, 0);
  ft_free(s);
}

/* ---- byte precision ---- */

static void test_bytes(void) {
  ft_state *s = fresh();
  /* two adjacent ints under different locks */
  for (int round = 0; round < 3; round++) {
    ft_acquire(s, 0, 0xA);
    ft_write(s, 0, 0x1000, 4, 0x10);
    ft_release(s, 0, 0xA);
    ft_acquire(s, 1, 0xB);
    ft_write(s, 1, 0x1004, 4, 0x20);
    ft_read(s, 1, 0x1004, 4, 0x24);
    ft_release(s, 1, 0xB);
  }
  /* single bytes of one word */
  for (int i = 0; i < 8; i++) ft_write(s, i, 0x2000 + i, 1, 0x30 + i);
  expect_none("adjacent ints / bytes of one word");
  /* then a word-wide read by a ninth thread races with every byte's writer */
  ft_read(s, 8, 0x2000, 8, 0x40);
  CHECK(R.n == 8, "word read over 8 byte writers: %d races, expected 8", R.n);
  for (int i = 0; i < R.n && i < 8; i++)
    CHECK(R.r[i].addr == 0x2000u + i && R.r[i].prev_tid == i && R.r[i].prev_pc == 0x30u + i,
          "byte %d: addr %#" PRIx64 " prev tid %d pc %#" PRIx64, i, R.r[i].addr,
          R.r[i].prev_tid, R.r[i].prev_pc);
  ft_free(s);

  /* overlapping bytes race; the report names the first overlapping byte */
  s = fresh();
  ft_write(s, 0, 0x1000, 4, 0x10);
  ft_write(s, 1, 0x1002, 4, 0x20);
  expect_one("overlap", 0x1002, 0x10, 0, 1, 0x20, 1, 1);
  ft_free(s);

  /* an unaligned access spanning two 8-byte words */
  s = fresh();
  ft_write(s, 0, 0x1006, 4, 0x10);     /* bytes 6..9: two words */
  ft_write(s, 1, 0x1005, 1, 0x20);     /* just before: no race */
  ft_write(s, 1, 0x100a, 1, 0x24);     /* just after: no race */
  ft_read(s, 1, 0x1000, 6, 0x28);      /* bytes 0..5 */
  expect_none("around an unaligned spanning write");
  ft_write(s, 1, 0x1009, 1, 0x2c);     /* its last byte, in the second word */
  expect_one("last byte of a spanning write", 0x1009, 0x10, 0, 1, 0x2c, 1, 1);
  R.n = 0;
  ft_read(s, 2, 0x1004, 16, 0x30);     /* a 16-byte read over all of it, unaligned */
  CHECK(R.n >= 1, "16-byte read: %d races", R.n);
  ft_free(s);
}

/* ---- read-shared ---- */

static void test_read_shared(void) {
  ft_state *s = fresh();
  ft_stats st;
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_release(s, 0, 0xA);
  ft_acquire(s, 1, 0xA);
  ft_read(s, 1, 0x1000, 8, 0x20);
  ft_acquire(s, 2, 0xA);
  ft_read(s, 2, 0x1000, 8, 0x30);      /* concurrent with thread 1's read: read-shared */
  ft_get_stats(s, &st);
  CHECK(st.read_shared >= 1 && st.read_vcs == 1, "read_shared %" PRIu64 " read_vcs %" PRIu64,
        st.read_shared, st.read_vcs);
  /* thread 3 is ordered after the write and thread 1's read, not thread 2's */
  ft_acquire(s, 3, 0xA);
  ft_release(s, 1, 0xB);
  ft_acquire(s, 3, 0xB);
  ft_write(s, 3, 0x1000, 8, 0x40);
  expect_one("write after read-shared, one reader unordered", 0x1000, 0x30, 2, 0, 0x40, 3, 1);
  ft_get_stats(s, &st);
  CHECK(st.read_vcs == 0, "the write freed the read VC: read_vcs %" PRIu64, st.read_vcs);
  ft_free(s);

  /* all readers ordered before the writer */
  s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_release(s, 0, 0xA);
  for (int t = 1; t <= 4; t++) {
    ft_acquire(s, t, 0xA);
    ft_read(s, t, 0x1000, 8, 0x20 + (uint64_t)t);
    ft_release(s, t, 0xC0 + (uint64_t)t);
  }
  ft_acquire(s, 5, 0xA);
  for (int t = 1; t <= 4; t++) ft_acquire(s, 5, 0xC0 + (uint64_t)t);
  ft_write(s, 5, 0x1000, 8, 0x50);
  expect_none("all readers ordered before the writer");
  CHECK(ft_check(s, 0, 0x10000) == 0, "reference counts");
  ft_free(s);

  /* copy on write: a read-shared word, then a third reader of one byte only */
  s = fresh();
  ft_read(s, 0, 0x1000, 8, 0x10);
  ft_read(s, 1, 0x1000, 8, 0x20);      /* one VC for all 8 bytes */
  ft_read(s, 2, 0x1003, 1, 0x30);      /* byte 3 gets its own copy */
  ft_get_stats(s, &st);
  CHECK(st.read_vcs == 2, "copy on write: read_vcs %" PRIu64, st.read_vcs);
  CHECK(ft_check(s, 0x1000, 8) == 0, "copy on write: reference counts");
  ft_write(s, 3, 0x1002, 1, 0x40);     /* byte 2: races with readers 0 and 1 only */
  CHECK(R.n == 2, "byte 2: %d races, expected 2", R.n);
  R.n = 0;
  ft_write(s, 3, 0x1003, 1, 0x44);     /* byte 3: readers 0, 1 and 2 */
  CHECK(R.n == 3, "byte 3: %d races, expected 3", R.n);
  for (int i = 0; i < R.n && i < 3; i++)
    CHECK(R.r[i].prev_pc == (uint64_t)0x10 * (R.r[i].prev_tid + 1) && R.r[i].prev_write == 0,
          "byte 3 reader %d: pc %#" PRIx64, R.r[i].prev_tid, R.r[i].prev_pc);
  CHECK(ft_check(s, 0x1000, 8) == 0, "after writes: reference counts");
  ft_free(s);

  /* a read VC grows when a higher tid joins it */
  s = fresh();
  ft_read(s, 0, 0x1000, 4, 0x10);
  ft_read(s, 1, 0x1000, 4, 0x11);
  ft_read(s, 13, 0x1000, 4, 0x1d);
  ft_write(s, 2, 0x1000, 4, 0x20);
  CHECK(R.n == 3, "grown read VC: %d races, expected 3", R.n);
  int seen = 0;   /* each reader with its own pc: the pcs survive the VC's growth */
  for (int i = 0; i < R.n && i < MAXREC; i++)
    if (R.r[i].prev_pc == 0x10 + (uint64_t)R.r[i].prev_tid && !R.r[i].prev_write)
      seen |= R.r[i].prev_tid == 13 ? 4 : 1 << R.r[i].prev_tid;
  CHECK(seen == 7, "readers 0, 1 and 13 reported with their pcs (mask %d)", seen);
  ft_free(s);
}

/* ---- forgetting ---- */

static void test_forget(void) {
  ft_state *s = fresh();
  ft_write(s, 0, 0x1000, 8, 0x10);
  ft_forget(s, 0x1000, 8);
  ft_write(s, 1, 0x1000, 8, 0x20);
  expect_none("write, forget, write");
  ft_free(s);

  /* a large range: whole shadow pages dropped, edges cleared, outside kept */
  s = fresh();
  uint64_t a = 0x100003, len = 5u << 20;   /* unaligned both ends, 5 MiB */
  for (uint64_t p = a - 8; p < a + len + 8; p += 128) ft_write(s, 0, p, 8, 0x10);
  ft_write(s, 0, a, 1, 0x11);
  ft_write(s, 0, a + len - 1, 1, 0x12);
  ft_write(s, 0, a - 1, 1, 0x13);
  ft_write(s, 0, a + len, 1, 0x14);
  ft_stats before, after;
  ft_get_stats(s, &before);
  ft_forget(s, a, len);
  ft_get_stats(s, &after);
  CHECK(after.shadow_bytes + (100u << 20) < before.shadow_bytes,
        "forget released shadow: %" PRIu64 " -> %" PRIu64, before.shadow_bytes,
        after.shadow_bytes);
  for (uint64_t p = a; p + 8 <= a + len; p += 128) ft_write(s, 1, p, 8, 0x20);
  ft_write(s, 1, a, 1, 0x21);
  ft_write(s, 1, a + len - 1, 1, 0x22);
  expect_none("after a large forget");
  ft_write(s, 1, a - 1, 1, 0x23);          /* outside: still remembered */
  ft_write(s, 1, a + len, 1, 0x24);
  CHECK(R.n == 2, "outside the forgotten range: %d races, expected 2", R.n);
  ft_free(s);

  /* a small forget releases read-shared VCs */
  s = fresh();
  ft_read(s, 0, 0x1000, 8, 0x10);
  ft_read(s, 1, 0x1000, 8, 0x20);
  ft_read(s, 2, 0x1004, 1, 0x30);
  ft_forget(s, 0x1000, 64);
  ft_get_stats(s, &after);
  CHECK(after.read_vcs == 0, "small forget: read_vcs %" PRIu64, after.read_vcs);
  CHECK(ft_check(s, 0, 0x10000) == 0, "small forget: reference counts");
  /* a forget beyond the space is clipped; a huge one is fast */
  ft_forget(s, (1ull << 32) - 16, 1ull << 40);
  ft_forget(s, 1ull << 40, 16);
  clock_t t0 = clock();
  ft_forget(s, 0, 1ull << 32);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  CHECK(secs < 1.0, "forgetting 4 GiB took %.3f s", secs);
  ft_free(s);
}

/* ---- bad input ---- */

static void test_bad_input(void) {
  ft_state *s = fresh();
  uint64_t top = 1ull << 32;
  ft_write(s, -1, 0x1000, 4, 0x10);
  ft_write(s, 16, 0x1000, 4, 0x10);
  ft_read(s, 1000000, 0x1000, 4, 0x10);
  ft_write(s, 0, top - 2, 4, 0x10);
  ft_read(s, 0, top, 1, 0x10);
  ft_write(s, 0, UINT64_MAX - 1, 4, 0x10);
  ft_write(s, 0, 0x1000, 0, 0x10);
  ft_write(s, 0, 0x1000, 17, 0x10);
  ft_fork(s, 0, 99);
  ft_fork(s, 3, 3);
  ft_join(s, -5, 0);
  ft_acquire(s, -1, 0xA);
  ft_release(s, 16, 0xA);
  ft_atomic(s, 17, 0xA);
  ft_write(s, 0, top - 4, 4, 0x10);     /* the last bytes are fine */
  ft_write(s, 1, top - 1, 1, 0x20);
  ft_stats st;
  ft_get_stats(s, &st);
  CHECK(st.ignored == 15, "ignored %" PRIu64 ", expected 15", st.ignored);
  expect_one("the last byte of the space", top - 1, 0x10, 0, 1, 0x20, 1, 1);
  ft_free(s);

  CHECK(ft_new(0, 4, NULL, NULL) == NULL, "space 0 refused");
  CHECK(ft_new(4096, 0, NULL, NULL) == NULL, "0 threads refused");
  CHECK(ft_new(4096, FT_MAX_THREADS + 1, NULL, NULL) == NULL, "too many threads refused");
  CHECK(ft_new(UINT64_MAX, 4, NULL, NULL) == NULL, "huge space refused");
  s = ft_new(4096, FT_MAX_THREADS, NULL, NULL);   /* no callback: races only counted */
  CHECK(s != NULL, "1024 threads");
  if (s) {
    ft_write(s, 1023, 0, 8, 1);
    ft_write(s, 0, 0, 8, 2);
    ft_get_stats(s, &st);
    CHECK(st.races == 1, "counted without a callback: %" PRIu64, st.races);
    ft_free(s);
  }
  ft_free(NULL);
}

/* ---- stress ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static const unsigned sizes[] = {1, 2, 4, 8, 8, 8, 16, 4};

#define NT 8
#define HEAP 0x100000ull          /* 64 blocks of 1 KiB, block k guarded by lock k */
#define PRIV 0x200000ull          /* 4 KiB per thread */
#define RO 0x300000ull            /* 4 KiB written before the threads start, then only read */

/* 8 threads, 1e6 accesses, every one properly synchronised: no reports. */
static void test_stress_clean(void) {
  ft_state *s = fresh();
  for (uint64_t p = RO; p < RO + 4096; p += 8) ft_write(s, 0, p, 8, 0x100);
  for (uint64_t p = HEAP; p < HEAP + 64 * 1024; p += 16) ft_write(s, 0, p, 16, 0x104);
  for (int t = 1; t < NT; t++) ft_fork(s, 0, t);
  const long N = 1000000;
  long done = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (done < N) {
    int t = (int)(rnd() % NT);
    uint64_t x = rnd();
    unsigned size = sizes[x & 7];
    uint64_t pc = 0x1000 + ((x >> 3) & 63) * 4;
    int write = (x >> 9) & 1;
    switch ((x >> 10) & 3) {
    case 0: case 1: {   /* a critical section on one block: several accesses */
      uint64_t k = (x >> 12) % 64, base = HEAP + k * 1024;
      ft_acquire(s, t, 0xC0000000 + k * 64);
      int n = 1 + (int)((x >> 20) % 8);
      for (int i = 0; i < n; i++, done++) {
        uint64_t y = rnd();
        unsigned sz = sizes[y & 7];
        uint64_t off = (y >> 3) % (1024 - sz + 1);
        if (!((y >> 16) & 3)) off &= ~(uint64_t)(sz - 1);   /* mostly unaligned, some aligned */
        if ((y >> 18) & 1) ft_write(s, t, base + off, sz, pc + (uint64_t)i);
        else ft_read(s, t, base + off, sz, pc + (uint64_t)i);
      }
      if (((x >> 24) & 255) == 0) ft_forget(s, base, 1024);   /* freed and reused */
      ft_release(s, t, 0xC0000000 + k * 64);
      break;
    }
    case 2: {           /* thread-private memory */
      uint64_t off = (x >> 12) % (4096 - size + 1);
      uint64_t a = PRIV + (uint64_t)t * 4096 + off;
      if (write) ft_write(s, t, a, size, pc);
      else ft_read(s, t, a, size, pc);
      done++;
      break;
    }
    default: {          /* read-only shared data: read-shared VCs */
      uint64_t off = (x >> 12) % (4096 - size + 1);
      ft_read(s, t, RO + off, size, pc);
      done++;
      break;
    }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  ft_stats st;
  ft_get_stats(s, &st);
  expect_none("clean stress");
  CHECK(ft_check(s, 0, 0x400000) == 0, "clean stress: reference counts");
  printf("clean stress: %ld accesses in %.3f s = %.1f M accesses/s; same_epoch %" PRIu64
         " read_shared %" PRIu64 " vc_ops %" PRIu64 " syncs %" PRIu64 " read_vcs %" PRIu64
         " shadow %.1f MiB\n", done, secs, (double)done / secs / 1e6, st.same_epoch,
         st.read_shared, st.vc_ops, st.syncs, st.read_vcs, (double)st.shadow_bytes / (1 << 20));
  for (int t = 1; t < NT; t++) ft_join(s, 0, t);
  R.n = 0;
  for (uint64_t p = HEAP; p < HEAP + 64 * 1024; p += 8) ft_write(s, 0, p, 8, 0x108);
  for (uint64_t p = RO; p < RO + 4096; p += 8) ft_write(s, 0, p, 8, 0x10c);
  expect_none("after joining every thread");
  ft_get_stats(s, &st);
  CHECK(st.read_vcs == 0, "writes freed every read VC: %" PRIu64 " left", st.read_vcs);
  ft_free(s);
}

/* The fast paths' speed: each thread sweeps its own 64 KiB with aligned 8-byte accesses,
 * reads and writes, between occasional lock operations (epochs change, shadow states repeat). */
static void test_stress_sweep(void) {
  ft_state *s = fresh();
  struct timespec t0, t1;
  long done = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0; round < 4; round++)
    for (int t = 0; t < NT; t++) {
      uint64_t base = 0x1000000 + (uint64_t)t * 0x10000;
      for (int pass = 0; pass < 4; pass++) {
        for (uint64_t off = 0; off < 0x10000; off += 8, done++) {
          if (pass & 1) ft_write(s, t, base + off, 8, 0x4000 + (off & 0x3f));
          else ft_read(s, t, base + off, 8, 0x5000 + (off & 0x3f));
        }
      }
      ft_release(s, t, 0xF00 + (uint64_t)t);
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  ft_stats st;
  ft_get_stats(s, &st);
  expect_none("private sweeps");
  printf("sweep: %ld accesses in %.3f s = %.1f M accesses/s; same_epoch %" PRIu64 "\n", done,
         secs, (double)done / secs / 1e6, st.same_epoch);
  ft_free(s);
}

/* Unsynchronised random accesses and small forgets on a small region: many races, and the
 * read VCs' reference counts stay exact throughout. */
static void test_stress_racy(void) {
  ft_state *s = ft_new(1 << 20, NT, NULL, NULL);
  CHECK(s != NULL, "racy stress: ft_new");
  if (!s) return;
  for (long i = 0; i < 300000; i++) {
    uint64_t x = rnd();
    int t = (int)(x % NT);
    unsigned size = sizes[(x >> 3) & 7];
    uint64_t a = 0x8000 + (x >> 8) % (512 - size + 1);
    switch ((x >> 20) & 15) {
    case 0: ft_release(s, t, (x >> 24) & 3); break;
    case 1: ft_acquire(s, t, (x >> 24) & 3); break;
    case 2: ft_write(s, t, a, size, 0x2000 + ((x >> 26) & 15)); break;
    case 3: if (((x >> 24) & 63) == 0) ft_forget(s, a, (x >> 30) % 64 + 1); break;
    default: ft_read(s, t, a, size, 0x3000 + ((x >> 26) & 15)); break;
    }
    if (i % 50000 == 0) CHECK(ft_check(s, 0x8000, 512) == 0, "racy stress step %ld: counts", i);
  }
  ft_stats st;
  ft_get_stats(s, &st);
  CHECK(st.races > 0 && st.read_shared > 0, "racy stress: %" PRIu64 " races %" PRIu64
        " read_shared", st.races, st.read_shared);
  CHECK(ft_check(s, 0, 1 << 20) == 0, "racy stress: reference counts");
  ft_free(s);
}

int main(void) {
  test_basic_races();
  test_locks();
  test_fork_join();
  test_atomics();
  test_bytes();
  test_read_shared();
  test_forget();
  test_bad_input();
  test_stress_clean();
  test_stress_sweep();
  test_stress_racy();
  printf("%d checks, %d failures\n", checks, failures);
  return failures != 0;
}
