/*
 * blosc_driver: compress and decompress generated typed data with c-blosc, using several
 * threads, and verify the round trip.
 *
 * usage: blosc [SIZE [THREADS [CODEC]]]
 *   SIZE     bytes of input (suffix k or m; default 8m)
 *   THREADS  blosc's compression/decompression threads (default 2; 1 = the calling thread)
 *   CODEC    blosclz (default) or lz4
 *
 * The input mimics what blosc is made for: arrays of numbers (a slowly varying float64
 * signal, int32 counters with small steps, a few random bytes), so shuffling pays off.
 * Blosc splits the buffer into blocks compressed independently; with several threads each
 * block lands in the output in the order the threads finish (a table of block offsets says
 * where), so the compressed bytes depend on scheduling while their size does not. The
 * output therefore shows the size and the hash of what decompresses, which are the same for
 * any number of threads and any interleaving. Exit status: 0
 * when the round trip matches, 1 otherwise, 2 on a usage or blosc error.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blosc.h"

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K') v *= 1024;
    else if (*end == 'm' || *end == 'M') v *= 1024 * 1024;
    if (v < 64 || v > 256.0 * 1024 * 1024) {
        fprintf(stderr, "blosc: size must be between 64 bytes and 256m\n");
        exit(2);
    }
    return (size_t)v & ~(size_t)7;
}

/* a third float64 signal, a third int32 counters, the rest noise with long runs */
static void generate(unsigned char *buf, size_t n)
{
    size_t third = n / 3 & ~(size_t)7;
    double *d = (double *)buf;
    for (size_t i = 0; i < third / 8; i++)
        d[i] = 1000.0 + 10.0 * sin((double)i / 500.0) + (double)(i % 17) / 64.0;
    int32_t *c = (int32_t *)(buf + third);
    int32_t v = 0;
    for (size_t i = 0; i < third / 4; i++) {
        v += (int32_t)(i % 5);
        c[i] = v;
    }
    uint32_t x = 2463534242u;
    for (size_t i = 2 * third; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        buf[i] = (i / 97) % 4 == 0 ? (unsigned char)x : (unsigned char)(i / 4096);
    }
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? parse_size(argv[1]) : 8u << 20;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    const char *codec = argc > 3 ? argv[3] : "blosclz";
    if (argc > 4 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: %s [SIZE [THREADS [CODEC]]]  (threads 1..64)\n", argv[0]);
        return 2;
    }
    unsigned char *src = malloc(size), *dst = malloc(size + BLOSC_MAX_OVERHEAD), *back = malloc(size);
    if (!src || !dst || !back) {
        fprintf(stderr, "blosc: out of memory\n");
        return 2;
    }
    generate(src, size);
    blosc_init();
    if (blosc_set_compressor(codec) < 0) {
        fprintf(stderr, "blosc: unknown codec %s\n", codec);
        return 2;
    }
    blosc_set_nthreads(threads);
    printf("blosc %s, codec %s, %d threads\n", blosc_get_version_string(), codec, threads);
    printf("input: %zu bytes fnv64=%016llx\n", size, (unsigned long long)fnv1a(src, size));
    int csize = blosc_compress(5, BLOSC_SHUFFLE, 8, size, src, dst, size + BLOSC_MAX_OVERHEAD);
    if (csize <= 0) {
        fprintf(stderr, "blosc: compression failed (%d)\n", csize);
        return 2;
    }
    printf("compressed %d bytes (ratio %.3f)\n", csize, (double)size / csize);
    memset(back, 0xA5, size);
    int dsize = blosc_decompress(dst, back, size);
    int same = dsize == (int)size && memcmp(src, back, size) == 0;
    printf("decompressed %d bytes fnv64=%016llx: %s\n", dsize,
           (unsigned long long)fnv1a(back, dsize > 0 ? (size_t)dsize : 0), same ? "round trip ok" : "MISMATCH");
    blosc_destroy();
    free(src);
    free(dst);
    free(back);
    return same ? 0 : 1;
}
