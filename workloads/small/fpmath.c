/*
 * fpmath: floating-point exercise for the workbench guests.
 *
 * Covers basic IEEE arithmetic (float and double), sqrt/fma (correctly
 * rounded everywhere), libm transcendental functions, printf conversions
 * (%a %e %f %g %.17g), strtod/strtof round trips, the dynamic rounding
 * mode (fesetround) and the accrued exception flags (fetestexcept).
 *
 * Everything that is correctly rounded by IEEE 754 is printed exactly.
 * Transcendental results (where libms may legitimately differ by an ulp)
 * are printed rounded to 12 significant digits, plus a full-precision hash
 * in the "libm-exact" section. Lines starting with "[libc] " are expected to
 * differ between C libraries; golden-file comparisons skip them.
 *
 * Note: nothing is printed or parsed while a non-default rounding mode is
 * active, because glibc's printf/strtod honour the rounding mode and
 * musl's do not.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

static uint64_t fnv_acc = 1469598103934665603ULL;
static void fnv_u64(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        fnv_acc ^= (v >> (8 * i)) & 0xff;
        fnv_acc *= 1099511628211ULL;
    }
}

/* Print a double in several formats without relying on NaN sign output. */
static void show_d(const char *what, double d)
{
    if (isnan(d)) {
        printf("%-22s nan (signbit=%d)\n", what, signbit(d) ? 1 : 0);
        return;
    }
    /* %a of subnormals differs between libcs (0x1p-1074 vs 0x0.0000000000001p-1022) */
    if (fpclassify(d) == FP_SUBNORMAL)
        printf("%-22s %.17g | subnormal | %016llx\n", what, d, (unsigned long long)dbits(d));
    else
        printf("%-22s %.17g | %a | %016llx\n", what, d, d, (unsigned long long)dbits(d));
}

static void show_f(const char *what, float f)
{
    if (isnan(f)) {
        printf("%-22s nan (signbit=%d)\n", what, signbit(f) ? 1 : 0);
        return;
    }
    if (fpclassify(f) == FP_SUBNORMAL)
        printf("%-22s %.9g | subnormal | %08lx\n", what, (double)f, (unsigned long)fbits(f));
    else
        printf("%-22s %.9g | %a | %08lx\n", what, (double)f, (double)f, (unsigned long)fbits(f));
}

static void section(const char *name) { printf("== %s\n", name); }

static void arithmetic(void)
{
    section("arithmetic");
    volatile double a = 1.0, b = 3.0, c = 0.1, d = 0.2, big = 1e308, tiny = 4.9e-324;
    show_d("1/3", a / b);
    show_d("0.1+0.2", c + d);
    show_d("0.1*3", c * 3.0);
    show_d("big*10", big * 10.0);
    show_d("-big*10", -big * 10.0);
    show_d("tiny/2", tiny / 2.0);
    show_d("tiny*0.75", tiny * 0.75);
    show_d("-0.0", -0.0 * a);
    show_d("0/0", (a - a) / (b - b));
    show_d("sqrt(2)", sqrt(2.0 * a));
    show_d("sqrt(-1)", sqrt(-a));
    show_d("fma(0.1,10,-1)", fma(c, 10.0, -1.0));
    volatile double c10 = c * 10.0; /* volatile: keep the compiler from contracting into an fma */
    show_d("0.1*10-1 (unfused)", c10 - 1.0);
    show_d("fma(big,2,-big)", fma(big, 2.0, -big));
    show_d("fmin(-0,0)", fmin(-0.0 * a, 0.0));
    show_d("fmax(nan,1)", fmax((a - a) / (b - b), 1.0));
    show_d("copysign(3,-0)", copysign(3.0 * a, -0.0));
    show_d("fabs(-2.5)", fabs(-2.5 * a));
    show_d("trunc(-2.5)", trunc(-2.5 * a));
    show_d("floor(-2.5)", floor(-2.5 * a));
    show_d("ceil(-2.5)", ceil(-2.5 * a));
    show_d("round(-2.5)", round(-2.5 * a));
    show_d("rint(2.5)", rint(2.5 * a));
    show_d("nearbyint(3.5)", nearbyint(3.5 * a));
    show_d("fmod(10.5,3)", fmod(10.5 * a, 3.0));
    show_d("remainder(10.5,3)", remainder(10.5 * a, 3.0));
    show_d("ldexp(1,-1074)", ldexp(a, -1074));
    show_d("nextafter(1,2)", nextafter(a, 2.0));
    int e;
    double m = frexp(1234.5 * a, &e);
    printf("%-22s %.17g exp=%d\n", "frexp(1234.5)", m, e);
    double ip;
    double fp = modf(-3.75 * a, &ip);
    printf("%-22s frac=%.17g int=%.17g\n", "modf(-3.75)", fp, ip);
    printf("%-22s %ld %lld\n", "lrint/llround", lrint(2.5 * a), llround(-2.5 * a));

    volatile float fa = 1.0f, fb = 3.0f, fc = 0.1f;
    show_f("f 1/3", fa / fb);
    show_f("f 0.1*3", fc * 3.0f);
    show_f("f sqrt(2)", sqrtf(2.0f * fa));
    show_f("f fma(.1,10,-1)", fmaf(fc, 10.0f, -1.0f));
    show_f("f big", 3.0e38f * fb);
    show_f("f min sub", 1.4e-45f * fa);
    show_f("f (float)1/3d", (float)(a / b));
    show_d("(double)0.1f", (double)fc);

    /* conversions */
    volatile double cv[] = {2.5, -2.5, 1e19, -1e19, 4294967295.75, -0.5, 123456789.999};
    for (size_t i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        double v = cv[i];
        long long ll = (v > -9.2e18 && v < 9.2e18) ? (long long)v : 0;
        unsigned long long ull = (v >= 0 && v < 1.8e19) ? (unsigned long long)v : 0;
        int ii = (v > -2.1e9 && v < 2.1e9) ? (int)v : 0;
        printf("cvt %-16.17g ll=%lld ull=%llu i=%d\n", v, ll, ull, ii);
    }
    volatile long long lv = 9007199254740993LL;
    show_d("(double)2^53+1", (double)lv);
    volatile unsigned long long uv = 18446744073709551615ULL;
    show_d("(double)UINT64_MAX", (double)uv);
    show_f("(float)16777217", (float)(int)16777217);
}

static void libm_rounded(void)
{
    section("libm (12 significant digits)");
    static const double xs[] = {0.0, 0.5, 1.0, 2.0, 3.14159265358979, -1.25, 10.0, 100.0, 1e-5, 700.0};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        volatile double x = xs[i];
        printf("x=%-10g sin=%.12g cos=%.12g tan=%.12g exp=%.12g\n", x, sin(x), cos(x), tan(x), exp(x));
        if (x > 0)
            printf("           log=%.12g log10=%.12g log2=%.12g sqrt=%.12g cbrt=%.12g\n",
                   log(x), log10(x), log2(x), sqrt(x), cbrt(x));
        printf("           atan=%.12g sinh=%.12g tanh=%.12g pow(x,1.5)=%.12g\n",
               atan(x), sinh(x < 50 ? x : 50), tanh(x), pow(fabs(x), 1.5));
    }
    volatile double y = 0.3;
    printf("asin=%.12g acos=%.12g atan2=%.12g hypot=%.12g\n", asin(y), acos(y), atan2(y, -2.0), hypot(3.0, 4.0 * y));
    printf("expm1=%.12g log1p=%.12g erf=%.12g tgamma(5.5)=%.12g lgamma(0.5)=%.12g\n",
           expm1(y), log1p(y), erf(y), tgamma(5.5 * (y / 0.3)), lgamma(0.5));
    printf("pow(2,0.5)=%.12g pow(-8,1/3.)=nan?%d pow(0,-1)=%g pow(-2,3)=%g pow(1,nan)=%g\n",
           pow(2.0, 0.5), isnan(pow(-8.0, 1.0 / 3.0)), pow(0.0, -1.0), pow(-2.0, 3.0), pow(1.0, NAN));
    volatile float fx = 0.7f;
    printf("sinf=%.6g cosf=%.6g expf=%.6g logf=%.6g powf=%.6g sqrtf=%.9g\n",
           (double)sinf(fx), (double)cosf(fx), (double)expf(fx), (double)logf(fx),
           (double)powf(fx, 2.5f), (double)sqrtf(fx));
    /* exact special cases every libm agrees on */
    printf("exp(0)=%g log(1)=%g sin(0)=%g cos(0)=%g pow(2,10)=%g sqrt(16)=%g exp(-inf)=%g\n",
           exp(0.0), log(1.0), sin(0.0), cos(0.0), pow(2.0, 10.0), sqrt(16.0), exp(-INFINITY));
    printf("log(0)=%g exp(1000)=%g atan(inf)*2=%.17g\n", log(0.0), exp(1000.0), atan(INFINITY) * 2);
}

static void libm_exact(void)
{
    /* Full-precision hash of many transcendental results. Libms differ in
     * the last ulp here, so this line is libc dependent. */
    section("libm-exact");
    fnv_acc = 1469598103934665603ULL;
    for (int i = 1; i <= 2000; i++) {
        volatile double x = i * 0.01;
        fnv_u64(dbits(sin(x)));
        fnv_u64(dbits(cos(x)));
        fnv_u64(dbits(exp(x)));
        fnv_u64(dbits(log(x)));
        fnv_u64(dbits(pow(x, 1.37)));
        fnv_u64(fbits(sinf((float)x)));
        fnv_u64(fbits(expf((float)x)));
    }
    printf("[libc] libm fnv %016llx\n", (unsigned long long)fnv_acc);
}

static void formatting(void)
{
    section("printf");
    static const double vals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0, 123456.789, 1e-10, 1e21,
                                  6.02214076e23, 9.999999e-5, 0.5, 1.5, 2.5, 1e300, 5e-324, DBL_MAX, DBL_MIN,
                                  DBL_EPSILON, 1234567890123456789.0, 0.000123456, 100.0, 4.35, 1e16};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("%%e=%e %%.3e=%.3e %%f=%f %%.0f=%.0f %%g=%g %%.3g=%.3g %%#g=%#g %%.17g=%.17g ",
               v, v, v, v, v, v, v, v);
        if (fpclassify(v) == FP_SUBNORMAL)
            printf("%%a=(subnormal)\n");
        else
            printf("%%a=%a\n", v);
    }
    printf("inf: %f %e %g %a | %F %E %G\n", INFINITY, -INFINITY, INFINITY, INFINITY, INFINITY, -INFINITY, INFINITY);
    printf("widths: [%10.3f] [%-10.3f] [%+10.3e] [%010.2f] [% g] [%+g] [%*.*f]\n", 3.14159, 3.14159, 3.14159, -3.14159,
           2.0, 2.0, 8, 2, 2.71828);
    printf("exact: %.30f %.20e %.25g\n", 0.1, 0.1, 0.1);
    printf("float: %.9g %a\n", (double)0.1f, (double)0.1f);
    printf("round-half-even: %.0f %.0f %.0f %.0f %.1f %.2f\n", 0.5, 1.5, 2.5, -0.5, 0.25, 1.005);
}

static void strtod_roundtrip(void)
{
    section("strtod");
    static const char *inputs[] = {"0.1", "1e23", "2.2250738585072011e-308", "4.9e-324", "2.4703282292062327e-324",
                                   "1.7976931348623157e308", "1.7976931348623159e308", "0x1.8p1", "-0x1p-1074",
                                   "123456789012345678901234567890", "3.14159265358979323846264338327950288",
                                   "  -12.5e-3xyz", "inf", "-Infinity", "nan", "1e-400", "9007199254740993",
                                   "0.30000000000000004", ".5", "5."};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *end;
        double d = strtod(inputs[i], &end);
        char buf[64];
        if (isnan(d)) {
            printf("strtod(\"%s\") = nan rest=\"%s\"\n", inputs[i], end);
            continue;
        }
        snprintf(buf, sizeof buf, "%.17g", d);
        double back = strtod(buf, NULL);
        printf("strtod(\"%s\") = %s bits=%016llx rest=\"%s\" roundtrip=%s\n", inputs[i], buf,
               (unsigned long long)dbits(d), end, dbits(back) == dbits(d) ? "ok" : "FAIL");
    }
    static const char *finputs[] = {"0.1", "16777217", "3.4028235e38", "3.5e38", "1e-45", "0.333333333333"};
    for (size_t i = 0; i < sizeof finputs / sizeof finputs[0]; i++) {
        float f = strtof(finputs[i], NULL);
        printf("strtof(\"%s\") = %.9g bits=%08lx\n", finputs[i], (double)f, (unsigned long)fbits(f));
    }
    /* Shortest round trip of many doubles through %.17g. */
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        uint64_t bits = s & 0x7fefffffffffffffULL; /* finite */
        double d;
        memcpy(&d, &bits, sizeof d);
        char buf[40];
        snprintf(buf, sizeof buf, "%.17g", d);
        if (dbits(strtod(buf, NULL)) != bits) bad++;
    }
    printf("20000 random %%.17g round trips, failures: %d\n", bad);
}

static void rounding_modes(void)
{
    section("rounding modes");
    static const struct { int mode; const char *name; } modes[] = {
#ifdef FE_TONEAREST
        {FE_TONEAREST, "nearest"},
#endif
#ifdef FE_UPWARD
        {FE_UPWARD, "upward"},
#endif
#ifdef FE_DOWNWARD
        {FE_DOWNWARD, "downward"},
#endif
#ifdef FE_TOWARDZERO
        {FE_TOWARDZERO, "towardzero"},
#endif
    };
    volatile double one = 1.0, three = 3.0, ten = 10.0, half = 2.5;
    volatile float fone = 1.0f, fthree = 3.0f;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        /* volatile: stop the compiler moving the arithmetic across fesetround */
        volatile double r[6];
        volatile float rf;
        volatile long ri;
        int ok = fesetround(modes[i].mode) == 0;
        int got = fegetround() == modes[i].mode;
        r[0] = one / three;
        r[1] = -one / three;
        r[2] = sqrt(ten / three);
        r[3] = one + 1e-17 * ten;
        r[4] = rint(half);
        r[5] = nearbyint(-half);
        rf = fone / fthree;
        ri = lrint(half);
        fesetround(FE_TONEAREST);
        printf("%-10s set=%d get=%d 1/3=%a -1/3=%a sqrt(10/3)=%a 1+1e-16=%a rint(2.5)=%g nearbyint(-2.5)=%g "
               "f1/3=%a lrint(2.5)=%ld\n",
               modes[i].name, ok, got, r[0], r[1], r[2], r[3], r[4], r[5], (double)rf, ri);
    }
}

static void show_flags(const char *what)
{
    int f = fetestexcept(FE_ALL_EXCEPT);
    printf("%-18s invalid=%d divbyzero=%d overflow=%d underflow=%d inexact=%d\n", what, !!(f & FE_INVALID),
           !!(f & FE_DIVBYZERO), !!(f & FE_OVERFLOW), !!(f & FE_UNDERFLOW), !!(f & FE_INEXACT));
}

static void exception_flags(void)
{
    section("exception flags");
    volatile double zero = 0.0, one = 1.0, three = 3.0, big = 1e308, tiny = 1e-308, r;
    volatile float fz = 0.0f, fbig = 3e38f, rf;
    feclearexcept(FE_ALL_EXCEPT);
    show_flags("clear");
    r = one + one;
    show_flags("1+1");
    feclearexcept(FE_ALL_EXCEPT);
    r = one / three;
    show_flags("1/3");
    feclearexcept(FE_ALL_EXCEPT);
    r = one / zero;
    show_flags("1/0");
    feclearexcept(FE_ALL_EXCEPT);
    r = zero / zero;
    show_flags("0/0");
    feclearexcept(FE_ALL_EXCEPT);
    r = big * 10.0;
    show_flags("big*10");
    feclearexcept(FE_ALL_EXCEPT);
    r = tiny / 1e10;
    show_flags("tiny/1e10");
    feclearexcept(FE_ALL_EXCEPT);
    r = sqrt(-one);
    show_flags("sqrt(-1)");
    feclearexcept(FE_ALL_EXCEPT);
    rf = fbig * 10.0f;
    show_flags("f big*10");
    feclearexcept(FE_ALL_EXCEPT);
    rf = 1.0f / fz;
    show_flags("f 1/0");
    feclearexcept(FE_ALL_EXCEPT);
    {
        volatile double two_half = 2.5, huge = 1e30, five = 5.0;
        volatile long li;
        li = (long)five;
        show_flags("(long)5.0");
        feclearexcept(FE_ALL_EXCEPT);
        li = (long)two_half;
        show_flags("(long)2.5");
        feclearexcept(FE_ALL_EXCEPT);
        li = lrint(huge);
        show_flags("lrint(1e30)");
        (void)li;
    }
    feclearexcept(FE_ALL_EXCEPT);
    feraiseexcept(FE_OVERFLOW | FE_INEXACT);
    show_flags("feraise(OF|NX)");
    fexcept_t saved;
    fegetexceptflag(&saved, FE_ALL_EXCEPT);
    feclearexcept(FE_ALL_EXCEPT);
    fesetexceptflag(&saved, FE_OVERFLOW);
    show_flags("restore OF only");
    fenv_t env;
    fegetenv(&env);
    fesetround(FE_UPWARD);
    feraiseexcept(FE_INVALID);
    fesetenv(&env);
    printf("after fesetenv: round-nearest=%d\n", fegetround() == FE_TONEAREST);
    show_flags("after fesetenv");
    feclearexcept(FE_ALL_EXCEPT);
    (void)r;
    (void)rf;
}

int main(void)
{
    arithmetic();
    libm_rounded();
    formatting();
    strtod_roundtrip();
    rounding_modes();
    exception_flags();
    libm_exact();
    printf("fpmath done\n");
    return 0;
}
