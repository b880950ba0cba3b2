/*
 * qsort: sort a few hundred thousand deterministic pseudo-random ints,
 * 64-bit keys, and strings with qsort(), search them with bsearch(), and
 * print checksums. All comparators define a total order over the values
 * that can be told apart, so the result does not depend on the libc's
 * qsort algorithm.
 *
 * usage: qsort [COUNT]   (default 300000)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x853c49e6748fea9bULL;
static uint64_t next(void)
{
    /* splitmix64 */
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV0 1469598103934665603ULL

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b) { return cmp_int(b, a); }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct rec {
    int key;
    int id; /* tie breaker: makes the order total */
    double weight;
};

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->id > y->id) - (x->id < y->id);
}

int main(int argc, char **argv)
{
    long n = 300000;
    if (argc > 1)
        n = strtol(argv[1], NULL, 10);
    if (n < 10)
        n = 10;

    /* ints, with many duplicates */
    int *ints = malloc(n * sizeof *ints);
    for (long i = 0; i < n; i++)
        ints[i] = (int)(next() % 1000003) - 500000;
    qsort(ints, n, sizeof *ints, cmp_int);
    int sorted = 1;
    for (long i = 1; i < n; i++)
        if (ints[i - 1] > ints[i])
            sorted = 0;
    printf("ints: n=%ld sorted=%d min=%d median=%d max=%d fnv=%016" PRIx64 "\n", n, sorted, ints[0], ints[n / 2],
           ints[n - 1], fnv_bytes(FNV0, ints, n * sizeof *ints));

    long found = 0, sum_pos = 0;
    for (int k = -500000; k <= 500000; k += 997) {
        int *p = bsearch(&k, ints, n, sizeof *ints, cmp_int);
        if (p) {
            found++;
            /* bsearch may return any of several equal elements: report the first */
            while (p > ints && p[-1] == k)
                p--;
            sum_pos += p - ints;
        }
    }
    printf("bsearch: found=%ld sum_first_pos=%ld\n", found, sum_pos);

    qsort(ints, n, sizeof *ints, cmp_int_desc);
    printf("ints desc: first=%d last=%d fnv=%016" PRIx64 "\n", ints[0], ints[n - 1],
           fnv_bytes(FNV0, ints, n * sizeof *ints));

    /* already sorted and constant inputs (worst cases for naive quicksorts) */
    for (long i = 0; i < n; i++)
        ints[i] = (int)i;
    qsort(ints, n, sizeof *ints, cmp_int);
    for (long i = 0; i < n; i++)
        ints[i] = 7;
    qsort(ints, n, sizeof *ints, cmp_int);
    printf("presorted/constant ok: %d %d\n", ints[0], ints[n - 1]);
    free(ints);

    /* 64-bit keys */
    long m = n / 2;
    uint64_t *keys = malloc(m * sizeof *keys);
    for (long i = 0; i < m; i++)
        keys[i] = next();
    qsort(keys, m, sizeof *keys, cmp_u64);
    uint64_t probe = keys[m / 3];
    uint64_t *hit = bsearch(&probe, keys, m, sizeof *keys, cmp_u64);
    printf("u64: n=%ld first=%016" PRIx64 " last=%016" PRIx64 " fnv=%016" PRIx64 " probe-index=%ld\n", m, keys[0],
           keys[m - 1], fnv_bytes(FNV0, keys, m * sizeof *keys), hit ? (long)(hit - keys) : -1L);
    free(keys);

    /* structs with a tie breaker */
    struct rec *recs = malloc(m * sizeof *recs);
    for (long i = 0; i < m; i++) {
        recs[i].key = (int)(next() % 1000);
        recs[i].id = (int)i;
        recs[i].weight = (double)(next() % 10000) / 100.0;
    }
    qsort(recs, m, sizeof *recs, cmp_rec);
    uint64_t h = FNV0;
    double wsum = 0;
    for (long i = 0; i < m; i++) {
        h = fnv_bytes(h, &recs[i].key, sizeof recs[i].key);
        h = fnv_bytes(h, &recs[i].id, sizeof recs[i].id);
        wsum += recs[i].weight * (double)(i % 7);
    }
    printf("records: fnv=%016" PRIx64 " weighted=%.6f\n", h, wsum);
    free(recs);

    /* strings */
    long ns = n / 3;
    char **strs = malloc(ns * sizeof *strs);
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    for (long i = 0; i < ns; i++) {
        int len = 3 + (int)(next() % 18);
        strs[i] = malloc(len + 1);
        for (int j = 0; j < len; j++)
            strs[i][j] = alphabet[next() % (sizeof alphabet - 1)];
        strs[i][len] = 0;
        if (i % 11 == 0 && i > 0) /* some duplicates */
            memcpy(strs[i], strs[i - 1], strlen(strs[i - 1]) < (size_t)len ? strlen(strs[i - 1]) : (size_t)len);
    }
    qsort(strs, ns, sizeof *strs, cmp_str);
    h = FNV0;
    size_t total = 0;
    for (long i = 0; i < ns; i++) {
        size_t l = strlen(strs[i]);
        h = fnv_bytes(h, strs[i], l + 1);
        total += l;
    }
    printf("strings: n=%ld total_len=%zu first=%s last=%s fnv=%016" PRIx64 "\n", ns, total, strs[0], strs[ns - 1], h);
    long sfound = 0;
    for (long i = 0; i < ns; i += 101) {
        const char *key = strs[i];
        if (bsearch(&key, strs, ns, sizeof *strs, cmp_str))
            sfound++;
    }
    const char *missing = "~~~not-there";
    printf("string bsearch: found=%ld missing=%s\n", sfound,
           bsearch(&missing, strs, ns, sizeof *strs, cmp_str) ? "FOUND?" : "absent");
    for (long i = 0; i < ns; i++)
        free(strs[i]);
    free(strs);
    printf("qsort done\n");
    return 0;
}
