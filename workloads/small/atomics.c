/*
 * atomics: C11 <stdatomic.h> exercise (single-threaded).
 *
 * On RV64 the 32- and 64-bit read-modify-write operations compile to AMO
 * instructions (amoadd/amoand/amoor/amoxor/amoswap, with .aq/.rl bits set
 * according to the memory order) and compare-exchange compiles to LR/SC
 * loops, so this program checks the engine's A extension.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

static _Atomic uint32_t a32;
static _Atomic uint64_t a64;
static _Atomic int32_t s32;
static _Atomic int64_t s64;
static atomic_flag flag = ATOMIC_FLAG_INIT;

static uint64_t fnv = 1469598103934665603ULL;
static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        fnv ^= (v >> (8 * i)) & 0xff;
        fnv *= 1099511628211ULL;
    }
}

static void basic32(void)
{
    printf("== 32-bit\n");
    atomic_store(&a32, 100);
    uint32_t old;
    old = atomic_fetch_add(&a32, 23);
    printf("fetch_add: old=%" PRIu32 " new=%" PRIu32 "\n", old, atomic_load(&a32));
    old = atomic_fetch_sub(&a32, 200);
    printf("fetch_sub: old=%" PRIu32 " new=%" PRIu32 " (wraps)\n", old, atomic_load(&a32));
    atomic_store_explicit(&a32, 0xF0F0F0F0u, memory_order_release);
    old = atomic_fetch_and_explicit(&a32, 0x0FF00FF0u, memory_order_acq_rel);
    printf("fetch_and: old=%08" PRIx32 " new=%08" PRIx32 "\n", old, atomic_load_explicit(&a32, memory_order_acquire));
    old = atomic_fetch_or_explicit(&a32, 0x0000000Fu, memory_order_relaxed);
    printf("fetch_or:  old=%08" PRIx32 " new=%08" PRIx32 "\n", old, atomic_load(&a32));
    old = atomic_fetch_xor_explicit(&a32, 0xFFFFFFFFu, memory_order_seq_cst);
    printf("fetch_xor: old=%08" PRIx32 " new=%08" PRIx32 "\n", old, atomic_load(&a32));
    old = atomic_exchange(&a32, 0xDEADBEEFu);
    printf("exchange:  old=%08" PRIx32 " new=%08" PRIx32 "\n", old, atomic_load(&a32));

    /* Signed: sign extension of 32-bit AMO results matters on RV64. */
    atomic_store(&s32, -5);
    int32_t sold = atomic_fetch_add(&s32, -10);
    printf("signed fetch_add: old=%" PRId32 " new=%" PRId32 "\n", sold, atomic_load(&s32));
    sold = atomic_exchange(&s32, INT32_MIN);
    printf("signed exchange:  old=%" PRId32 " new=%" PRId32 "\n", sold, atomic_load(&s32));
    int64_t widened = atomic_fetch_sub(&s32, 1);
    printf("signed fetch_sub: old(widened)=%" PRId64 " new=%" PRId32 "\n", widened, atomic_load(&s32));

    uint32_t expected = 0xDEADBEEFu;
    _Bool ok = atomic_compare_exchange_strong(&a32, &expected, 42u);
    printf("cas strong hit:  ok=%d expected=%08" PRIx32 " value=%" PRIu32 "\n", ok, expected, atomic_load(&a32));
    expected = 7;
    ok = atomic_compare_exchange_strong(&a32, &expected, 99u);
    printf("cas strong miss: ok=%d expected=%" PRIu32 " value=%" PRIu32 "\n", ok, expected, atomic_load(&a32));
    /* Weak CAS may fail spuriously: loop until it succeeds. */
    expected = atomic_load(&a32);
    int tries = 0;
    while (!atomic_compare_exchange_weak(&a32, &expected, expected * 3 + 1))
        tries++;
    printf("cas weak loop: value=%" PRIu32 " (spurious failures are allowed; count not printed)\n", atomic_load(&a32));
    (void)tries;
    int32_t sexp = INT32_MIN + 0; /* value is now INT32_MAX after wrap? check */
    sexp = atomic_load(&s32);
    ok = atomic_compare_exchange_strong_explicit(&s32, &sexp, -1, memory_order_acquire, memory_order_relaxed);
    printf("signed cas: ok=%d value=%" PRId32 "\n", ok, atomic_load(&s32));
    sexp = 0;
    ok = atomic_compare_exchange_strong_explicit(&s32, &sexp, 5, memory_order_release, memory_order_relaxed);
    printf("signed cas miss: ok=%d expected(now)=%" PRId32 "\n", ok, sexp);
}

static void basic64(void)
{
    printf("== 64-bit\n");
    atomic_store(&a64, 0x0123456789ABCDEFull);
    uint64_t old = atomic_fetch_add(&a64, 0x1111111111111111ull);
    printf("fetch_add: old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));
    old = atomic_fetch_sub_explicit(&a64, 0xFFFFFFFFFFFFFFFFull, memory_order_relaxed);
    printf("fetch_sub: old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));
    old = atomic_fetch_and(&a64, 0xFFFF0000FFFF0000ull);
    printf("fetch_and: old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));
    old = atomic_fetch_or_explicit(&a64, 0x00000000000000FFull, memory_order_acquire);
    printf("fetch_or:  old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));
    old = atomic_fetch_xor_explicit(&a64, 0x8000000000000001ull, memory_order_release);
    printf("fetch_xor: old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));
    old = atomic_exchange_explicit(&a64, 1ull << 63, memory_order_acq_rel);
    printf("exchange:  old=%016" PRIx64 " new=%016" PRIx64 "\n", old, atomic_load(&a64));

    uint64_t expected = 1ull << 63;
    _Bool ok = atomic_compare_exchange_strong(&a64, &expected, 0xCAFEF00DD15EA5EDull);
    printf("cas strong hit:  ok=%d value=%016" PRIx64 "\n", ok, atomic_load(&a64));
    expected = 0;
    ok = atomic_compare_exchange_strong(&a64, &expected, 1);
    printf("cas strong miss: ok=%d expected=%016" PRIx64 "\n", ok, expected);
    expected = atomic_load(&a64);
    while (!atomic_compare_exchange_weak_explicit(&a64, &expected, ~expected, memory_order_seq_cst,
                                                  memory_order_relaxed))
        ;
    printf("cas weak loop: value=%016" PRIx64 "\n", atomic_load(&a64));

    atomic_store(&s64, INT64_MAX);
    int64_t sold = atomic_fetch_add(&s64, 1); /* wraps via unsigned arithmetic in hardware */
    printf("signed 64 fetch_add: old=%" PRId64 " new=%" PRId64 "\n", sold, atomic_load(&s64));
}

static void flags_and_fences(void)
{
    printf("== flag/fence\n");
    _Bool was = atomic_flag_test_and_set(&flag);
    _Bool again = atomic_flag_test_and_set_explicit(&flag, memory_order_acquire);
    atomic_flag_clear_explicit(&flag, memory_order_release);
    _Bool after = atomic_flag_test_and_set(&flag);
    atomic_flag_clear(&flag);
    printf("flag: first=%d second=%d after-clear=%d\n", was, again, after);
    atomic_thread_fence(memory_order_seq_cst);
    atomic_thread_fence(memory_order_acquire);
    atomic_thread_fence(memory_order_release);
    atomic_signal_fence(memory_order_seq_cst);
    printf("fences ok; lock-free 32=%d 64=%d\n", (int)atomic_is_lock_free(&a32), (int)atomic_is_lock_free(&a64));
}

/* A deterministic mixture of many operations on an array of atomics. */
static void mixed_loop(void)
{
    printf("== mixed loop\n");
    static _Atomic uint32_t arr32[64];
    static _Atomic uint64_t arr64[64];
    uint64_t x = 0x243F6A8885A308D3ull;
    for (int i = 0; i < 64; i++) {
        atomic_init(&arr32[i], (uint32_t)i * 2654435761u);
        atomic_init(&arr64[i], (uint64_t)i * 0x9E3779B97F4A7C15ull);
    }
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int k = (int)(x & 63);
        uint32_t v32 = (uint32_t)(x >> 32);
        uint64_t v64 = x * 0xD6E8FEB86659FD93ull;
        switch ((x >> 8) % 9) {
        case 0: mix(atomic_fetch_add(&arr32[k], v32)); break;
        case 1: mix(atomic_fetch_sub(&arr64[k], v64)); break;
        case 2: mix(atomic_fetch_and(&arr32[k], v32 | 0x80000001u)); break;
        case 3: mix(atomic_fetch_or(&arr64[k], v64 & 0x0F0F0F0F0F0F0F0Full)); break;
        case 4: mix(atomic_fetch_xor(&arr32[k], v32)); break;
        case 5: mix(atomic_exchange(&arr64[k], v64)); break;
        case 6: {
            uint32_t e = atomic_load(&arr32[k]);
            if ((x >> 40) & 1) e ^= 1; /* force a miss half of the time */
            _Bool ok = atomic_compare_exchange_strong(&arr32[k], &e, v32);
            mix(ok);
            mix(e);
            break;
        }
        case 7: {
            uint64_t e = atomic_load(&arr64[k]);
            while (!atomic_compare_exchange_weak(&arr64[k], &e, e + v64))
                ;
            mix(e);
            break;
        }
        default: mix(atomic_fetch_add(&arr64[k], 1)); break;
        }
    }
    for (int i = 0; i < 64; i++) {
        mix(atomic_load(&arr32[i]));
        mix(atomic_load(&arr64[i]));
    }
    printf("mixed fnv %016" PRIx64 "\n", fnv);
}

int main(void)
{
    basic32();
    basic64();
    flags_and_fences();
    mixed_loop();
    printf("atomics done\n");
    return 0;
}
