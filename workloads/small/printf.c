/*
 * printf: a broad exercise of printf/snprintf/sscanf and strtol-family
 * conversions. %p and other implementation-defined outputs are avoided so
 * that musl and glibc builds print the same text.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void integers(void)
{
    printf("== integers\n");
    static const int ivals[] = {0, 1, -1, 42, -42, 127, -128, 32767, 65535, 1000000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof ivals / sizeof ivals[0]; i++) {
        int v = ivals[i];
        printf("[%d] [%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d] [%u] [%x] [%X] [%#x] [%o] [%#o] [%hhd] [%hd]\n", v, v,
               v, v, v, v, v, v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, v, v);
    }
    static const long long llvals[] = {0, 1LL << 40, -(1LL << 40), LLONG_MAX, LLONG_MIN, 1234567890123456789LL};
    for (size_t i = 0; i < sizeof llvals / sizeof llvals[0]; i++) {
        long long v = llvals[i];
        printf("[%lld] [%25lld] [%-22lld|] [%llu] [%llx] [%#llo] [%+.20lld]\n", v, v, v, (unsigned long long)v,
               (unsigned long long)v, (unsigned long long)v, v);
    }
    size_t z = 123456789;
    ptrdiff_t pd = -98765;
    intmax_t im = INTMAX_MIN;
    uintmax_t um = UINTMAX_MAX;
    printf("zu=%zu zx=%zx td=%td jd=%jd ju=%ju\n", z, z, pd, im, um);
    printf("PRI: %" PRId8 " %" PRIu16 " %" PRIx32 " %" PRId64 " %" PRIu64 " %" PRIX64 "\n", (int8_t)-3, (uint16_t)65000,
           (uint32_t)0xabcdef12u, (int64_t)-1, (uint64_t)UINT64_MAX, (uint64_t)0xfeedfacecafebeefull);
    printf("zero precision: [%.0d] [%.0x] [%#.0o] [%5.0d]\n", 0, 0u, 0u, 0);
    printf("star: [%*d] [%-*d] [%.*d] [%*.*d]\n", 6, 42, 6, 42, 4, 42, -6, 3, 7);
}

static void chars_strings(void)
{
    printf("== chars and strings\n");
    printf("[%c][%3c][%-3c][%c]\n", 'A', 'b', 'c', 0x7e);
    const char *s = "hello, world";
    printf("[%s] [%20s] [%-20s] [%.5s] [%20.5s] [%-*.*s]\n", s, s, s, s, s, 8, 3, s);
    printf("[%%] [%%%%] literal percent\n");
    char buf[16];
    const char *volatile tail = " and more text that is long"; /* volatile: no compile-time truncation warning */
    int n = snprintf(buf, sizeof buf, "%s%s", s, tail);
    printf("snprintf truncation: n=%d buf=[%s] len=%zu\n", n, buf, strlen(buf));
    n = snprintf(NULL, 0, "%d-%s-%x", 12345, "abc", 255u);
    printf("snprintf(NULL,0) = %d\n", n);
    char big[256];
    int pos = 0;
    for (int i = 0; i < 20; i++)
        pos += snprintf(big + pos, sizeof big - pos, "%d,", i * i);
    printf("append: %s (%d)\n", big, pos);
    n = sprintf(buf, "%08.3f", -3.14159);
    printf("sprintf: [%s] %d\n", buf, n);
}

static void floats(void)
{
    printf("== floats\n");
    static const double dv[] = {0.0, 1.0, -1.0, 0.5, 0.125, 3.14159265358979, -2.718281828459045, 1e-7, 1.5e-5,
                                123.456, 99999.5, 999999.5, 1e6, 1e15, 1.25e16, 1e22, 1e-300, 7.0 / 9.0, 1.0 / 7.0,
                                65536.0, 0.999999, 0.9999995, 1234.5678, -0.000001234, 5e-5};
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
        double v = dv[i];
        printf("%-24.17g|%e|%.2e|%E|%f|%.1f|%.10f|%g|%.1g|%.10g|%G|%#.3g|%12.4f|%-12.2e|%+.3f\n", v, v, v, v, v, v, v,
               v, v, v, v, v, v, v, v);
    }
    float f = 1.1f;
    printf("float promoted: %f %.10f %g\n", f, f, f);
    printf("long double (as double precision): %.6Lf %Lg\n", (long double)2.5, (long double)1e10);
}

static void scanning(void)
{
    printf("== sscanf\n");
    int a = 0, b = 0, c = 0, consumed = 0;
    unsigned u = 0;
    long long ll = 0;
    double d = 0;
    float f = 0;
    char word[32] = "", rest[32] = "";
    int r = sscanf("  42 -17 0x1F 123456789012 3.5e2 2.25 token remainder", "%d %i %x %lld %lf %f %31s %n", &a, &b, &u,
                   &ll, &d, &f, word, &consumed);
    printf("r=%d a=%d b=%d u=%u ll=%lld d=%g f=%g word=%s consumed=%d\n", r, a, b, u, ll, d, (double)f, word, consumed);
    r = sscanf("key=value;other", "%31[^=]=%31[^;];", word, rest);
    printf("scanset: r=%d [%s] [%s]\n", r, word, rest);
    r = sscanf("0755 0b 077", "%o %x %i", &a, &b, &c);
    printf("octal/hex: r=%d %d %d %d\n", r, a, b, c);
    r = sscanf("abc", "%d", &a);
    printf("mismatch: r=%d\n", r);
    r = sscanf("", "%d", &a);
    printf("empty: r=%d\n", r);
    char ch1 = 0, ch2 = 0;
    r = sscanf("x y", "%c %c", &ch1, &ch2);
    printf("chars: r=%d %c%c\n", r, ch1, ch2);
    r = sscanf("12:34:56", "%d:%d:%d", &a, &b, &c);
    printf("time: r=%d %02d-%02d-%02d\n", r, a, b, c);
    r = sscanf("100 200", "%*d %d", &a);
    printf("suppressed: r=%d a=%d\n", r, a);
    r = sscanf("123456", "%3d%2d", &a, &b);
    printf("widths: r=%d a=%d b=%d\n", r, a, b);
}

static void strtox(void)
{
    printf("== strtol family\n");
    static const struct { const char *s; int base; } cases[] = {
        {"12345", 10},  {"-12345", 10},      {"  +42xyz", 10},   {"0x1aF", 16},     {"0x1aF", 0},
        {"0777", 0},    {"0777", 10},        {"1010", 2},        {"zz", 36},        {"Zz", 36},
        {"", 10},       {"   ", 10},         {"-", 10},          {"0x", 16},        {"9223372036854775807", 10},
        {"9223372036854775808", 10},         {"-9223372036854775808", 10},          {"-9223372036854775809", 10},
        {"18446744073709551615", 10},        {"18446744073709551616", 10},          {"-1", 10},
        {"123abc", 16}, /* no "0b101" base 0: newer glibcs (C23 mode) accept a 0b prefix */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *end;
        errno = 0;
        long l = strtol(cases[i].s, &end, cases[i].base);
        int e1 = errno;
        long consumed = (long)(end - cases[i].s);
        errno = 0;
        unsigned long long ull = strtoull(cases[i].s, &end, cases[i].base);
        int e2 = errno;
        printf("\"%s\" base %d: strtol=%ld%s used=%ld | strtoull=%llu%s used=%ld\n", cases[i].s, cases[i].base, l,
               e1 == ERANGE ? " ERANGE" : "", consumed, ull, e2 == ERANGE ? " ERANGE" : "",
               (long)(end - cases[i].s));
    }
    errno = 0;
    long long sll = strtoll("-9223372036854775809", NULL, 10);
    printf("strtoll underflow: %lld %s\n", sll, errno == ERANGE ? "ERANGE" : "no-error");
    errno = 0;
    unsigned long ul = strtoul("4294967296", NULL, 10);
    printf("strtoul 2^32: %lu %s\n", ul, errno == ERANGE ? "ERANGE" : "no-error");
    printf("atoi: %d %d %d\n", atoi("  -77abc"), atoi("2147483647"), atoi("junk"));
    printf("atol/atoll: %ld %lld\n", atol("-123456789"), atoll("9000000000000000000"));
    printf("abs/labs/llabs: %d %ld %lld\n", abs(-5), labs(-6L), llabs(-7LL));
    div_t dq = div(-17, 5);
    ldiv_t ldq = ldiv(17L, -5L);
    lldiv_t lldq = lldiv(-1000000000000LL, 7LL);
    printf("div: %d %d | ldiv: %ld %ld | lldiv: %lld %lld\n", dq.quot, dq.rem, ldq.quot, ldq.rem, lldq.quot, lldq.rem);
}

static void many_numbers(void)
{
    /* A checksum over the text of many formatted numbers. */
    printf("== bulk\n");
    uint64_t s = 88172645463325252ULL, h = 1469598103934665603ULL;
    char buf[128];
    for (int i = 0; i < 30000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int len;
        switch (i % 6) {
        case 0: len = snprintf(buf, sizeof buf, "%d", (int)s); break;
        case 1: len = snprintf(buf, sizeof buf, "%llx", (unsigned long long)s); break;
        case 2: len = snprintf(buf, sizeof buf, "%.6e", (double)(int64_t)s / 1e9); break;
        case 3: len = snprintf(buf, sizeof buf, "%g", (double)(s >> 11) / (double)(1ULL << 40)); break;
        case 4: len = snprintf(buf, sizeof buf, "%.3f", (double)(int32_t)s / 7.0); break;
        default: len = snprintf(buf, sizeof buf, "%08o|%-10u|", (unsigned)(s >> 40), (unsigned)s); break;
        }
        for (int j = 0; j < len; j++) {
            h ^= (unsigned char)buf[j];
            h *= 1099511628211ULL;
        }
        /* parse the decimal ones back */
        if (i % 6 == 0) {
            int back = 0;
            if (sscanf(buf, "%d", &back) != 1 || back != (int)s)
                printf("parse mismatch at %d\n", i);
        }
    }
    printf("bulk fnv %016llx\n", (unsigned long long)h);
}

int main(void)
{
    integers();
    chars_strings();
    floats();
    scanning();
    strtox();
    many_numbers();
    fflush(stdout);
    fprintf(stderr, "stderr line\n");
    printf("printf done\n");
    return 0;
}
