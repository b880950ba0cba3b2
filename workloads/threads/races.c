/* races.c — seeded data races and race-free counterparts: the ground truth for race detectors
 * (a FastTrack-style happens-before detector, and an Aikido-style one that only analyses a page
 * once a second thread has touched it).
 * Usage: races MODE [iterations (2000)]
 *   MODE: flag | hist | late                      one racy scenario
 *         clean_lock | clean_join | clean_atomic | clean_adjacent | clean_cond | clean_barrier
 *                                                 one race-free scenario (a correct detector
 *                                                 reports nothing in it)
 *         all_racy | all_clean                    every racy / every clean scenario, in order
 * Each scenario runs two threads besides main and prints lines that do not depend on the
 * interleaving (only values main reads after pthread_join, or values the program's own
 * synchronisation makes certain). A bad MODE prints the usage and exits 2.
 *
 * Expected races (function, function, variable), one row per racing pair of accesses; every
 * access of a row sits in a noinline function of that name, every variable is a static object
 * of that name (the symbol table names both):
 *
 *   mode  first access     second access   variable            kinds
 *   flag  flag_writer      flag_reader     flag_box.payload    write / read
 *   flag  flag_writer      flag_reader     flag_box.flag       write / read (the spin)
 *   hist  hist_worker      hist_worker     hist (all 8 bins)   write / write, read / write
 *   late  late_first       late_second     late_buf[7]         write / write
 *   late  late_wait_post   late_wait       late_progress       write / read (the wait)
 *
 * late_buf[7] is the race an Aikido-style filter misses: late_buf is exactly one page with
 * nothing else on it, late_first writes all of it for a long time while it is private, and
 * late_second's single store is the first access from a second thread — a detector that starts
 * watching the page then has no record of late_first's writes. late_second starts its store
 * only after late_first is done writing, told so by late_progress, a plain volatile counter
 * on another page: plain loads and stores carry no happens-before, so the ordering is real
 * (the store comes later in time) but the race stays.
 *
 * Everything else is race-free, including the clean scenarios' data:
 *   clean_lock      lock_hist           locked_worker x2, every update under one mutex
 *   clean_join      join_input          written by main before pthread_create, read by both
 *                                       join_workers, written again by main after the joins
 *                   join_result[2]      each written by its own join_worker, read by main
 *                                       after pthread_join
 *   clean_atomic    atomic_payload      plain; atomic_producer writes it, then stores
 *                                       atomic_ready with release; atomic_consumer reads it
 *                                       after an acquire load of atomic_ready saw 1 (clang,
 *                                       the musl build: `fence rw,w; sw` and `lw; fence r,rw`,
 *                                       no AMO; gcc 12, the glibc build: `fence iorw,ow;
 *                                       amoswap.w` and `lw; fence iorw,iorw`)
 *   clean_adjacent  adjacent_pair       .left only by adjacent_left, .right only by
 *                                       adjacent_right: two ints in one 8-byte word (a race
 *                                       only for a detector that tracks whole words)
 *   clean_cond      cond_value          cond_producer writes it outside the mutex, then sets
 *                                       cond_full under it and signals; cond_consumer waits
 *                                       under the mutex, reads it outside, empties the slot
 *                                       under the mutex (so the next write follows the read)
 *   clean_barrier   barrier_slot[2]     each barrier_worker writes its own slot, then
 *                                       pthread_barrier_wait, reads the other's, waits again
 *
 * Why the threads of most scenarios first meet at a start gate (a two-thread pthread barrier):
 * so that both exist before the first racy access. Otherwise one thread could run to its end
 * before the other is created, and the libc's own locks (a thread's exit and the next
 * pthread_create take the same internal lock: musl's thread-list lock, glibc's stack-cache
 * lock) would order one thread's accesses before the other's: a detector that sees the libc's
 * atomics would rightly find no race. Every racy access comes after each
 * thread's last synchronisation, so the gate orders none of them. The racy threads call no
 * libc function that locks anything (sched_yield and nanosleep are bare system calls).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keep each named function a function of that name: not inlined, and (gcc, for the glibc build)
 * not cloned or split into .constprop/.isra/.part copies, which would rename its accesses. */
#if defined(__clang__)
#define NAMED __attribute__((noinline))
#else
#define NAMED __attribute__((noinline, noipa))
#endif

static long iterations;
static pthread_barrier_t gate;

static void pass_gate(void) { pthread_barrier_wait(&gate); }

/* Run two threads, fa(0) and fb(1), and collect what they return. */
static void run_pair(void *(*fa)(void *), void *(*fb)(void *), long *ra, long *rb) {
  pthread_t a, b;
  void *va, *vb;
  pthread_barrier_init(&gate, NULL, 2);
  if (pthread_create(&a, NULL, fa, (void *)0) || pthread_create(&b, NULL, fb, (void *)1)) {
    perror("pthread_create");
    exit(1);
  }
  pthread_join(a, &va);
  pthread_join(b, &vb);
  pthread_barrier_destroy(&gate);
  if (ra) *ra = (long)va;
  if (rb) *rb = (long)vb;
}

/* ================================================================ racy */

/* ---- flag: a payload published through a plain flag. Volatile keeps the compiler from
 * hoisting or merging the accesses (so they are the loads and stores the source shows), but
 * gives no ordering between threads. Payload and flag get a word each so that a word-granular
 * detector sees them as two variables. */
static struct {
  volatile int payload __attribute__((aligned(8)));
  volatile int flag __attribute__((aligned(8)));
} flag_box;

static NAMED void *flag_writer(void *arg) {
  (void)arg;
  pass_gate();
  unsigned v = 7;                          /* some work first, so the reader spins a while */
  for (long i = 0; i < iterations; i++) v = v * 31 + (unsigned)i;
  flag_box.payload = (int)(v & 0x7fffffff);       /* race: vs flag_reader's payload load */
  flag_box.flag = 1;                       /* race: vs flag_reader's spin */
  return NULL;
}

static NAMED void *flag_reader(void *arg) {
  (void)arg;
  pass_gate();
  while (!flag_box.flag) sched_yield();    /* race: vs flag_writer's flag store */
  return (void *)(long)flag_box.payload;   /* race: vs flag_writer's payload store; the value
                                              read is not printed (not ordered, in principle
                                              it could be stale) */
}

static void run_flag(void) {
  run_pair(flag_writer, flag_reader, NULL, NULL);
  printf("flag: payload %d\n", flag_box.payload);   /* after the joins: ordered, certain */
  printf("flag: done\n");
}

/* ---- hist: a histogram updated by plain read-modify-write from two threads (as racy.c). The
 * updates are counted per thread and handed back through pthread_join rather than with a shared
 * atomic counter: a detector that takes every atomic as synchronisation would otherwise order
 * one thread's earlier updates before the other's later ones, hiding the race. */
#define BINS 8
static volatile unsigned long hist[BINS];

static NAMED void *hist_worker(void *arg) {
  pass_gate();
  unsigned long seed = ((unsigned long)arg + 1) * 2654435761ul + 1, done = 0;
  for (long i = 0; i < iterations; i++) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    unsigned b = (unsigned)(seed >> 61);
    hist[b] = hist[b] + 1;                 /* race: load, add, store */
    done++;
  }
  return (void *)done;
}

static void run_hist(void) {
  long a, b;
  run_pair(hist_worker, hist_worker, &a, &b);
  printf("hist: 2 threads, updates %ld\n", a + b);   /* not the bins' sum: updates get lost */
}

/* ---- late: a race on a page that becomes shared late. */
#define LATE_WORDS 512
static volatile unsigned long late_buf[LATE_WORDS] __attribute__((aligned(4096)));  /* one page */
/* How far late_first is: plain and volatile, on a page of its own apart from late_buf's. It is
 * what makes late_second's store come after late_first's writes without synchronising them. */
static volatile long late_progress;
static long late_passes;

static NAMED void late_wait_post(long passes) {
  late_progress = passes;                  /* race: vs late_wait's loads (no happens-before) */
}

static NAMED void late_wait(long target) {
  struct timespec ts = {0, 100000};        /* 100 us */
  while (late_progress < target)           /* race: vs late_wait_post's store */
    nanosleep(&ts, NULL);
}

static NAMED void *late_first(void *arg) {
  (void)arg;
  pass_gate();
  for (long p = 1; p <= late_passes; p++)
    for (long i = 0; i < LATE_WORDS; i++) late_buf[i] = (unsigned long)(p * LATE_WORDS + i);
  late_wait_post(late_passes);
  return NULL;
}

static NAMED void *late_second(void *arg) {
  (void)arg;
  pass_gate();
  late_wait(late_passes);
  late_buf[7] = 7;                         /* race: vs late_first's stores to late_buf[7] */
  return NULL;
}

static void run_late(void) {
  late_passes = iterations / 8 > 0 ? iterations / 8 : 1;
  late_progress = 0;
  run_pair(late_first, late_second, NULL, NULL);
  printf("late: first wrote %ld passes of %d words, second wrote 1 word\n", late_passes, LATE_WORDS);
}

/* ================================================================ clean */

/* ---- clean_lock: the histogram again, every update under a mutex. */
static unsigned long lock_hist[BINS];
static pthread_mutex_t lock_hist_mutex = PTHREAD_MUTEX_INITIALIZER;

static NAMED void *locked_worker(void *arg) {
  pass_gate();                             /* overlap the two threads: the lock must do the work */
  unsigned long seed = ((unsigned long)arg + 1) * 2654435761ul + 1;
  for (long i = 0; i < iterations; i++) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    unsigned b = (unsigned)(seed >> 61);
    pthread_mutex_lock(&lock_hist_mutex);
    lock_hist[b] = lock_hist[b] + 1;
    pthread_mutex_unlock(&lock_hist_mutex);
  }
  return NULL;
}

static void run_clean_lock(void) {
  memset(lock_hist, 0, sizeof lock_hist);
  run_pair(locked_worker, locked_worker, NULL, NULL);
  unsigned long total = 0;
  for (int b = 0; b < BINS; b++) total += lock_hist[b];
  printf("clean_lock: total %lu\n", total);
}

/* ---- clean_join: data handed in through pthread_create and out through pthread_join (no
 * gate: creation and joining are the synchronisation under test). Longs, one word each. */
/* used: clang would otherwise split join_input into two objects, join_input.0 and .1 */
static struct { long seed, rounds; } join_input __attribute__((used));
static struct { long sum, last; } join_result[2];

static NAMED void *join_worker(void *arg) {
  long slot = (long)arg;
  unsigned long s = (unsigned long)(join_input.seed + slot);   /* read-read sharing: no race */
  long sum = 0;
  for (long i = 0; i < join_input.rounds; i++) { s = s * 1103515245 + 12345; sum += (long)((s >> 16) & 0xff); }
  join_result[slot].sum = sum;
  join_result[slot].last = (long)(s & 0xffff);
  return NULL;
}

static void run_clean_join(void) {
  pthread_t t[2];
  join_input.seed = 12345;                 /* before pthread_create: ordered */
  join_input.rounds = iterations;
  for (long i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, join_worker, (void *)i)) { perror("pthread_create"); exit(1); }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  join_input.seed = 0;                     /* after the joins: ordered after the workers' reads */
  printf("clean_join: results %ld/%ld %ld/%ld\n", join_result[0].sum, join_result[0].last,
         join_result[1].sum, join_result[1].last);
}

/* ---- clean_atomic: message passing with a release store and an acquire load; the payload
 * itself is plain. */
static long atomic_payload;
static int atomic_ready;

static NAMED void *atomic_producer(void *arg) {
  (void)arg;
  pass_gate();                             /* so the consumer is there before the payload is */
  long v = 3;
  for (long i = 0; i < iterations; i++) v = (v * 37 + i) % 1000003;
  atomic_payload = v;
  __atomic_store_n(&atomic_ready, 1, __ATOMIC_RELEASE);
  return NULL;
}

static NAMED void *atomic_consumer(void *arg) {
  (void)arg;
  pass_gate();
  while (!__atomic_load_n(&atomic_ready, __ATOMIC_ACQUIRE)) sched_yield();
  return (void *)atomic_payload;           /* ordered by release/acquire: certain */
}

static void run_clean_atomic(void) {
  long seen;
  atomic_ready = 0;
  run_pair(atomic_producer, atomic_consumer, NULL, &seen);
  printf("clean_atomic: payload %ld\n", seen);
}

/* ---- clean_adjacent: two threads, two ints, one 8-byte word. Volatile so each store stays a
 * 4-byte store of its own int (never widened to the whole word). */
static struct {
  volatile int left, right;
} adjacent_pair __attribute__((aligned(8)));

static NAMED void *adjacent_left(void *arg) {
  (void)arg;
  pass_gate();
  for (long i = 1; i <= iterations; i++) adjacent_pair.left = (int)i;
  return NULL;
}

static NAMED void *adjacent_right(void *arg) {
  (void)arg;
  pass_gate();
  for (long i = 1; i <= iterations; i++) adjacent_pair.right = (int)(2 * i);
  return NULL;
}

static void run_clean_adjacent(void) {
  run_pair(adjacent_left, adjacent_right, NULL, NULL);
  printf("clean_adjacent: left %d right %d\n", adjacent_pair.left, adjacent_pair.right);
}

/* ---- clean_cond: a one-slot mailbox. The value is written and read outside the mutex, so it is
 * the mutex's unlock-to-lock edges (through the condvar waits) that order it, both ways. */
static long cond_value;
static int cond_full, cond_done;
static pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_changed = PTHREAD_COND_INITIALIZER;
static long cond_handoffs;

static NAMED void *cond_producer(void *arg) {
  (void)arg;
  for (long i = 1; i <= cond_handoffs; i++) {
    pthread_mutex_lock(&cond_mutex);
    while (cond_full) pthread_cond_wait(&cond_changed, &cond_mutex);
    pthread_mutex_unlock(&cond_mutex);
    cond_value = i * i;                    /* after the consumer emptied the slot: ordered */
    pthread_mutex_lock(&cond_mutex);
    cond_full = 1;
    pthread_cond_broadcast(&cond_changed);
    pthread_mutex_unlock(&cond_mutex);
  }
  pthread_mutex_lock(&cond_mutex);
  while (cond_full) pthread_cond_wait(&cond_changed, &cond_mutex);
  cond_done = 1;
  pthread_cond_broadcast(&cond_changed);
  pthread_mutex_unlock(&cond_mutex);
  return NULL;
}

static NAMED void *cond_consumer(void *arg) {
  (void)arg;
  unsigned long sum = 0;
  for (;;) {
    pthread_mutex_lock(&cond_mutex);
    while (!cond_full && !cond_done) pthread_cond_wait(&cond_changed, &cond_mutex);
    int done = !cond_full;
    pthread_mutex_unlock(&cond_mutex);
    if (done) break;
    sum += (unsigned long)cond_value;      /* after the producer filled the slot: ordered */
    pthread_mutex_lock(&cond_mutex);
    cond_full = 0;
    pthread_cond_broadcast(&cond_changed);
    pthread_mutex_unlock(&cond_mutex);
  }
  return (void *)sum;
}

static void run_clean_cond(void) {
  long sum;
  cond_handoffs = iterations / 8 > 0 ? iterations / 8 : 1;
  cond_full = cond_done = 0;
  run_pair(cond_producer, cond_consumer, NULL, &sum);
  printf("clean_cond: handed %ld values, sum %ld\n", cond_handoffs, sum);
}

/* ---- clean_barrier: rounds of write own slot / barrier / read the other's / barrier. The
 * second barrier orders a round's reads before the next round's writes. */
static long barrier_slot[2];
static pthread_barrier_t barrier_phase;
static long barrier_rounds;

static NAMED void *barrier_worker(void *arg) {
  long me = (long)arg, sum = 0;
  for (long r = 1; r <= barrier_rounds; r++) {
    barrier_slot[me] = r * (me + 1);
    pthread_barrier_wait(&barrier_phase);
    sum += barrier_slot[1 - me];
    pthread_barrier_wait(&barrier_phase);
  }
  return (void *)sum;
}

static void run_clean_barrier(void) {
  pthread_t t[2];
  long sums[2];
  barrier_rounds = iterations / 20 > 0 ? iterations / 20 : 1;
  pthread_barrier_init(&barrier_phase, NULL, 2);
  for (long i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, barrier_worker, (void *)i)) { perror("pthread_create"); exit(1); }
  for (int i = 0; i < 2; i++) {
    void *v;
    pthread_join(t[i], &v);
    sums[i] = (long)v;
  }
  pthread_barrier_destroy(&barrier_phase);
  printf("clean_barrier: %ld rounds, sums %ld %ld\n", barrier_rounds, sums[0], sums[1]);
}

/* ================================================================ main */

static const struct mode {
  const char *name;
  void (*run)(void);
  int racy;
} modes[] = {
  {"flag", run_flag, 1},
  {"hist", run_hist, 1},
  {"late", run_late, 1},
  {"clean_lock", run_clean_lock, 0},
  {"clean_join", run_clean_join, 0},
  {"clean_atomic", run_clean_atomic, 0},
  {"clean_adjacent", run_clean_adjacent, 0},
  {"clean_cond", run_clean_cond, 0},
  {"clean_barrier", run_clean_barrier, 0},
};
#define NMODES (int)(sizeof modes / sizeof modes[0])

static int usage(void) {
  fprintf(stderr, "usage: races MODE [iterations >= 1 (2000)]\n  MODE: all_racy | all_clean");
  for (int i = 0; i < NMODES; i++) fprintf(stderr, " | %s", modes[i].name);
  fprintf(stderr, "\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) return usage();
  iterations = argc > 2 ? atol(argv[2]) : 2000;
  if (iterations < 1) return usage();
  const char *mode = argv[1];
  int all_racy = !strcmp(mode, "all_racy"), all_clean = !strcmp(mode, "all_clean"), ran = 0;
  for (int i = 0; i < NMODES; i++) {
    if ((all_racy && modes[i].racy) || (all_clean && !modes[i].racy) || !strcmp(mode, modes[i].name)) {
      modes[i].run();
      ran = 1;
    }
  }
  return ran ? 0 : usage();
}
