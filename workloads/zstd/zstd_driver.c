/*
 * zstd_driver: compress and decompress a generated buffer with zstd and
 * verify the round trip.
 *
 * usage: zstd [SIZE [LEVEL [WORKERS]]]
 *   SIZE     bytes of input to generate (suffix k or m allowed; default 4m), or @PATH: the
 *            input is that file's contents, read with read() (taint tracking's source)
 *   LEVEL    zstd compression level (default 3)
 *   WORKERS  compression threads (default 0: compress on the calling thread); only in a
 *            build with ZSTD_MULTITHREAD (the zstd-mt guest), in jobs of 1 MiB. zstd's output
 *            does not depend on the number of workers (>= 1), so the hashes printed are the
 *            same for all.
 *
 * The input is produced by a fixed-seed generator and mixes text-like
 * material, repeats of earlier data, byte runs, number tables and a little
 * noise, so it compresses like real data. The output (sizes and FNV-1a
 * hashes of the input and of the compressed frame) is deterministic: zstd
 * produces the same frame on every platform for a given version, level and
 * input. Exit status: 0 when the round trip matches, 1 otherwise, 2 on a
 * usage or zstd error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zstd.h"

static uint64_t rng_state[4];

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** seeded with splitmix64 */
static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        rng_state[i] = z ^ (z >> 31);
    }
}

static uint64_t rng_next(void)
{
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static uint32_t rng_below(uint32_t n) { return (uint32_t)((rng_next() >> 32) % n); }

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static const char *const words[] = {
    "the",      "engine",   "emulates", "a",        "hart",     "of",      "riscv",    "with",     "memory",
    "pages",    "and",      "traps",    "system",   "calls",    "into",    "host",     "trace",    "record",
    "replay",   "register", "file",     "branch",   "load",     "store",   "atomic",   "fence",    "vector",
    "float",    "double",   "rounding", "mode",     "exception", "handler", "instruction", "decoder", "cache",
    "block",    "basic",    "jump",     "table",    "interpreter", "lua",   "compress", "frame",   "window",
    "literal",  "match",    "offset",   "sequence", "entropy",  "huffman", "state",    "machine",  "workbench",
    "program",  "analysis", "dynamic",  "taint",    "coverage", "profile", "hot",      "cold",     "path",
    "is",
};
#define NWORDS (sizeof words / sizeof words[0])

static size_t put(unsigned char *buf, size_t pos, size_t cap, const char *s, size_t n)
{
    if (pos + n > cap)
        n = cap - pos;
    memcpy(buf + pos, s, n);
    return pos + n;
}

static void generate(unsigned char *buf, size_t size)
{
    size_t pos = 0;
    char tmp[128];
    rng_seed(0x5eed2025u);
    while (pos < size) {
        uint32_t kind = rng_below(100);
        if (kind < 45) {
            /* text: a paragraph of words */
            uint32_t nw = 20 + rng_below(200);
            for (uint32_t i = 0; i < nw && pos < size; i++) {
                /* skewed towards early words; separate statements fix the order of the draws */
                uint32_t a = rng_below(NWORDS);
                uint32_t b = 1 + rng_below(NWORDS);
                const char *w = words[a % b];
                pos = put(buf, pos, size, w, strlen(w));
                uint32_t p = rng_below(20);
                const char *sep = p == 0 ? ". " : p == 1 ? ", " : p == 2 ? "\n" : " ";
                pos = put(buf, pos, size, sep, strlen(sep));
            }
        } else if (kind < 70 && pos > 1024) {
            /* repeat of earlier material, mostly recent */
            size_t len = 32 + rng_below(2048);
            size_t back;
            if (rng_below(4))
                back = 1 + rng_below(pos < 65536 ? (uint32_t)pos : 65536u);
            else
                back = 1 + rng_below((uint32_t)pos);
            size_t from = pos - back;
            for (size_t i = 0; i < len && pos < size; i++)
                buf[pos++] = buf[from + i]; /* may overlap: byte by byte on purpose */
        } else if (kind < 80) {
            /* a run of one byte */
            size_t len = 8 + rng_below(300);
            uint32_t zero = rng_below(4) == 0;
            unsigned char c = (unsigned char)(zero ? 0 : ' ' + rng_below(95));
            for (size_t i = 0; i < len && pos < size; i++)
                buf[pos++] = c;
        } else if (kind < 95) {
            /* a table of numbers */
            uint32_t rows = 5 + rng_below(40);
            uint32_t base = rng_below(100000);
            for (uint32_t r = 0; r < rows && pos < size; r++) {
                uint32_t whole = rng_below(10000);
                uint32_t frac = rng_below(100);
                const char *w = words[rng_below(NWORDS)];
                int n = snprintf(tmp, sizeof tmp, "%6u | %08x | %5u.%02u | %s\n", base + r, base * 2654435761u + r,
                                 whole, frac, w);
                pos = put(buf, pos, size, tmp, (size_t)n);
            }
        } else {
            /* noise */
            size_t len = 16 + rng_below(512);
            for (size_t i = 0; i < len && pos < size; i++)
                buf[pos++] = (unsigned char)rng_next();
        }
    }
}

static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        v <<= 20, end++;
    if (*end != 0 || v == 0 || v > (1ULL << 31)) {
        fprintf(stderr, "zstd: bad size '%s'\n", s);
        exit(2);
    }
    return (size_t)v;
}

/* The contents of the file at path, in a malloc'd buffer (*size bytes); exits 2 on an error. */
static unsigned char *read_input(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (1LL << 31)) {
        fprintf(stderr, "zstd: cannot read a non-empty input file '%s'\n", path);
        exit(2);
    }
    *size = (size_t)st.st_size;
    unsigned char *buf = malloc(*size);
    size_t got = 0;
    while (buf && got < *size) {
        ssize_t n = read(fd, buf + got, *size - got);
        if (n <= 0) {
            fprintf(stderr, "zstd: short read of '%s'\n", path);
            exit(2);
        }
        got += (size_t)n;
    }
    close(fd);
    return buf;
}

int main(int argc, char **argv)
{
    size_t size = 4u << 20;
    int level = 3;
    const char *input = argc > 1 && argv[1][0] == '@' ? argv[1] + 1 : NULL;
    if (argc > 1 && !input)
        size = parse_size(argv[1]);
    int workers = 0;
    if (argc > 2)
        level = atoi(argv[2]);
    if (argc > 3)
        workers = atoi(argv[3]);
    /* the library says whether it was built with ZSTD_MULTITHREAD: its worker bound */
    ZSTD_bounds wb = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
    const int max_workers = ZSTD_isError(wb.error) ? 0 : wb.upperBound;
    if (argc > 4 || level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || workers < 0 || workers > max_workers) {
        fprintf(stderr, "usage: %s [SIZE [LEVEL [WORKERS]]]  (level %d..%d, workers 0..%d)\n", argv[0],
                ZSTD_minCLevel(), ZSTD_maxCLevel(), max_workers);
        return 2;
    }

    unsigned char *src = input ? read_input(input, &size) : malloc(size);
    size_t cap = ZSTD_compressBound(size);
    unsigned char *dst = malloc(cap);
    unsigned char *back = malloc(size);
    if (!src || !dst || !back) {
        fprintf(stderr, "zstd: out of memory\n");
        return 2;
    }
    if (!input)
        generate(src, size);
    if (workers)
        printf("zstd %s (%d workers)\n", ZSTD_versionString(), workers);
    else
        printf("zstd %s (single-threaded)\n", ZSTD_versionString());
    printf("input: %zu bytes fnv64=%016llx\n", size, (unsigned long long)fnv1a(src, size));

    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (workers && ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers))) {
        fprintf(stderr, "zstd: cannot use %d workers\n", workers);
        return 2;
    }
    /* jobs of 1 MiB (zstd's default is 4 windows: 8 MiB at level 3), so that inputs of a few
     * MiB already keep several workers busy; the frame depends on the job size, not on the
     * number of workers */
    if (workers) ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, 1 << 20);
    size_t csize = ZSTD_compress2(cctx, dst, cap, src, size);
    if (ZSTD_isError(csize)) {
        fprintf(stderr, "zstd: compression failed: %s\n", ZSTD_getErrorName(csize));
        return 2;
    }
    ZSTD_freeCCtx(cctx);
    printf("level %d: compressed %zu bytes (ratio %.3f) fnv64=%016llx\n", level, csize, (double)size / (double)csize,
           (unsigned long long)fnv1a(dst, csize));

    unsigned long long fcs = ZSTD_getFrameContentSize(dst, csize);
    printf("frame content size: %llu\n", fcs);

    memset(back, 0xA5, size);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t dsize = ZSTD_decompressDCtx(dctx, back, size, dst, csize);
    ZSTD_freeDCtx(dctx);
    if (ZSTD_isError(dsize)) {
        fprintf(stderr, "zstd: decompression failed: %s\n", ZSTD_getErrorName(dsize));
        printf("round-trip FAILED\n");
        return 1;
    }
    printf("decompressed: %zu bytes\n", dsize);
    size_t mismatch = size;
    if (dsize == size)
        for (size_t i = 0; i < size; i++)
            if (back[i] != src[i]) {
                mismatch = i;
                break;
            }
    if (dsize != size || mismatch != size) {
        printf("round-trip FAILED (first mismatch at %zu)\n", mismatch);
        return 1;
    }
    printf("round-trip OK\n");
    free(src);
    free(dst);
    free(back);
    return 0;
}
