/* test_fpu.c — targeted vectors for native/src/fpu.c, with results and flags worked out from
 * the RISC-V F/D chapters (and IEEE 754 where the ISA defers to it).
 *
 * Build and run (tests/test_fpu_unit.py does this):
 *   cc -O2 -frounding-math -ffp-contract=off -I native/src native/tests/test_fpu.c \
 *      native/src/fpu.c -lm && ./a.out
 * Exit status 0 when every vector passes; each failure is printed.
 */
#include <fenv.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fpu.h"

static int failures, checks;

static uint64_t D(double x) { uint64_t v; memcpy(&v, &x, sizeof v); return v; }
static uint64_t S(float x) {
  uint32_t v;
  memcpy(&v, &x, sizeof v);
  return 0xffffffff00000000ull | v;
}
static uint64_t SB(uint32_t bits) { return 0xffffffff00000000ull | bits; } /* boxed raw bits */

#define RNE WB_RM_RNE
#define RTZ WB_RM_RTZ
#define RDN WB_RM_RDN
#define RUP WB_RM_RUP
#define RMM WB_RM_RMM
#define NX WB_FF_NX
#define UF WB_FF_UF
#define OF WB_FF_OF
#define DZ WB_FF_DZ
#define NV WB_FF_NV

#define DQNAN 0x7ff8000000000000ull
#define DQNAN_NEG 0xfff8000000000000ull
#define DQNAN_PAY 0x7ff8000000000123ull
#define DSNAN 0x7ff0000000000001ull
#define DSNAN_NEG 0xfff4000000000000ull
#define DINF 0x7ff0000000000000ull
#define DNINF 0xfff0000000000000ull
#define DMAX 0x7fefffffffffffffull
#define DNMAX 0xffefffffffffffffull
#define DMINSUB 0x0000000000000001ull
#define DMINNORM 0x0010000000000000ull
#define DMAXSUB 0x000fffffffffffffull
#define DZERO 0x0000000000000000ull
#define DNZERO 0x8000000000000000ull

#define SQNAN 0xffffffff7fc00000ull
#define SQNAN_PAY 0xffffffff7fc00123ull
#define SSNAN 0xffffffff7f800001ull
#define SINF 0xffffffff7f800000ull
#define SNINF 0xffffffffff800000ull
#define SMAX 0xffffffff7f7fffffull
#define SMINSUB 0xffffffff00000001ull
#define SMINNORM 0xffffffff00800000ull
#define SZERO 0xffffffff00000000ull
#define SNZERO 0xffffffff80000000ull
/* Improperly boxed singles: both read as the canonical NaN. */
#define BADBOX1 0x000000003f800000ull
#define BADBOX2 0xfffffffe3f800000ull

static void check(const char *what, int line, int rm, uint64_t got, uint32_t gotf, uint64_t want,
                  uint32_t wantf) {
  checks++;
  if (got != want || gotf != wantf) {
    failures++;
    printf("FAIL line %d: %s rm=%d: got %016" PRIx64 " flags %02x, want %016" PRIx64
           " flags %02x\n", line, what, rm, got, gotf, want, wantf);
  }
}

/* T2(fn, a, b, rm, want, flags): binary op with rounding; T1/T3 likewise. */
#define T1(fn, a, rm, want, fl) do { uint32_t f_ = 0; uint64_t r_ = wb_##fn(a, rm, &f_); \
    check(#fn, __LINE__, rm, r_, f_, want, fl); } while (0)
#define T2(fn, a, b, rm, want, fl) do { uint32_t f_ = 0; uint64_t r_ = wb_##fn(a, b, rm, &f_); \
    check(#fn, __LINE__, rm, r_, f_, want, fl); } while (0)
#define T3(fn, a, b, c, rm, want, fl) do { uint32_t f_ = 0; \
    uint64_t r_ = wb_##fn(a, b, c, rm, &f_); check(#fn, __LINE__, rm, r_, f_, want, fl); } while (0)
/* The same operands in all five modes, same flags: results for RNE RTZ RDN RUP RMM. */
#define T1ALL(fn, a, w0, w1, w2, w3, w4, fl) do { T1(fn, a, RNE, w0, fl); T1(fn, a, RTZ, w1, fl); \
    T1(fn, a, RDN, w2, fl); T1(fn, a, RUP, w3, fl); T1(fn, a, RMM, w4, fl); } while (0)
#define T2ALL(fn, a, b, w0, w1, w2, w3, w4, fl) do { T2(fn, a, b, RNE, w0, fl); \
    T2(fn, a, b, RTZ, w1, fl); T2(fn, a, b, RDN, w2, fl); T2(fn, a, b, RUP, w3, fl); \
    T2(fn, a, b, RMM, w4, fl); } while (0)
#define T3ALL(fn, a, b, c, w0, w1, w2, w3, w4, fl) do { T3(fn, a, b, c, RNE, w0, fl); \
    T3(fn, a, b, c, RTZ, w1, fl); T3(fn, a, b, c, RDN, w2, fl); T3(fn, a, b, c, RUP, w3, fl); \
    T3(fn, a, b, c, RMM, w4, fl); } while (0)
/* Unrounded ops: min/max/compare (flags), sign injection and fclass (no flags). */
#define TN(fn, a, b, want, fl) do { uint32_t f_ = 0; uint64_t r_ = wb_##fn(a, b, &f_); \
    check(#fn, __LINE__, -1, r_, f_, want, fl); } while (0)
#define TS(fn, a, b, want) check(#fn, __LINE__, -1, wb_##fn(a, b), 0, want, 0)
#define TC(fn, a, want) check(#fn, __LINE__, -1, wb_##fn(a), 0, want, 0)

static void test_boxing(void) {
  /* An improperly boxed single reads as the canonical (quiet) NaN: no NV. */
  T2(fadd_s, BADBOX1, S(1.0f), RNE, SQNAN, 0);
  T2(fadd_s, S(1.0f), BADBOX2, RNE, SQNAN, 0);
  T2(fmul_s, BADBOX1, S(0.0f), RNE, SQNAN, 0);
  T3(fmadd_s, S(1.0f), S(1.0f), BADBOX1, RNE, SQNAN, 0);
  T1(fsqrt_s, BADBOX2, RNE, SQNAN, 0);
  T1(fcvt_d_s, BADBOX1, RNE, DQNAN, 0);
  T1(fcvt_w_s, BADBOX1, RNE, 0x7fffffffull, NV);
  T1(fcvt_lu_s, BADBOX1, RTZ, 0xffffffffffffffffull, NV);
  TN(feq_s, BADBOX1, BADBOX1, 0, 0);
  TN(flt_s, BADBOX1, S(1.0f), 0, NV);
  TN(fmin_s, BADBOX1, S(2.0f), S(2.0f), 0);
  TN(fmax_s, S(-2.0f), BADBOX2, S(-2.0f), 0);
  TS(fsgnj_s, BADBOX1, S(-1.0f), 0xffffffffffc00000ull);
  TS(fsgnjx_s, BADBOX2, S(-1.0f), 0xffffffffffc00000ull);
  TS(fsgnj_s, S(1.0f), BADBOX1, S(1.0f)); /* the canonical NaN's sign is + */
  TC(fclass_s, BADBOX1, 1u << 9);
  TC(fclass_s, BADBOX2, 1u << 9);
  /* Results are boxed; a properly boxed input works. */
  T2(fadd_s, S(1.0f), S(2.0f), RNE, S(3.0f), 0);
  T1(fcvt_s_w, 7, RNE, S(7.0f), 0);
  T1(fcvt_s_d, D(0.5), RNE, S(0.5f), 0);
  /* Moves: fmv.x.w sign-extends the low 32 bits without unboxing; fmv.w.x boxes. */
  check("fmv_x_w", __LINE__, -1, wb_fmv_x_w(0x123456789abcdef0ull), 0, 0xffffffff9abcdef0ull, 0);
  check("fmv_x_w", __LINE__, -1, wb_fmv_x_w(0xffffffff3f800000ull), 0, 0x3f800000ull, 0);
  check("fmv_w_x", __LINE__, -1, wb_fmv_w_x(0x123456789abcdef0ull), 0, 0xffffffff9abcdef0ull, 0);
}

static void test_nan_and_special(void) {
  /* NaN results are canonical whatever the input payload or sign; NV only for sNaN. */
  T2(fadd_d, DQNAN_PAY, D(1.0), RNE, DQNAN, 0);
  T2(fmul_d, DQNAN_NEG, D(1.0), RNE, DQNAN, 0);
  T2(fadd_d, DSNAN, D(1.0), RNE, DQNAN, NV);
  T2(fsub_d, D(1.0), DSNAN_NEG, RUP, DQNAN, NV);
  T2(fdiv_d, DQNAN, DSNAN, RNE, DQNAN, NV);
  T2(fadd_s, SQNAN_PAY, S(1.0f), RNE, SQNAN, 0);
  T2(fadd_s, SSNAN, S(1.0f), RNE, SQNAN, NV);
  T2(fmul_s, SB(0xffc00001), S(2.0f), RDN, SQNAN, 0);
  /* Invalid operations. */
  T2(fadd_d, DINF, DNINF, RNE, DQNAN, NV);
  T2(fsub_d, DINF, DINF, RNE, DQNAN, NV);
  T2(fmul_d, DZERO, DINF, RNE, DQNAN, NV);
  T2(fdiv_d, DZERO, DNZERO, RNE, DQNAN, NV);
  T2(fdiv_d, DINF, DNINF, RNE, DQNAN, NV);
  T1(fsqrt_d, D(-1.0), RNE, DQNAN, NV);
  T1(fsqrt_d, DNINF, RNE, DQNAN, NV);
  T1(fsqrt_d, DSNAN, RNE, DQNAN, NV);
  T1(fsqrt_d, DQNAN_PAY, RNE, DQNAN, 0);
  T1(fsqrt_s, S(-4.0f), RNE, SQNAN, NV);
  T2(fmul_s, SINF, SZERO, RNE, SQNAN, NV);
  /* Division by zero: only a finite nonzero dividend; sqrt(-0) = -0. */
  T2(fdiv_d, D(1.0), DZERO, RNE, DINF, DZ);
  T2(fdiv_d, D(-1.0), DZERO, RNE, DNINF, DZ);
  T2(fdiv_d, D(1.0), DNZERO, RTZ, DNINF, DZ);
  T2(fdiv_d, DINF, DZERO, RNE, DINF, 0);
  T2(fdiv_s, S(3.0f), SNZERO, RNE, SNINF, DZ);
  T1(fsqrt_d, DNZERO, RNE, DNZERO, 0);
  T1(fsqrt_d, DINF, RNE, DINF, 0);
  T1(fsqrt_s, SNZERO, RDN, SNZERO, 0);
  /* Exact operations raise nothing. */
  T2(fadd_d, D(1.0), D(2.0), RNE, D(3.0), 0);
  T1(fsqrt_d, D(4.0), RMM, D(2.0), 0);
  T1(fsqrt_d, DMINSUB, RNE, D(0x1p-537), 0);
  T2(fdiv_d, D(1.0), DINF, RNE, DZERO, 0);
  /* Signed zeros of exact sums: +0 except in RDN. */
  T2ALL(fadd_d, D(1.0), D(-1.0), DZERO, DZERO, DNZERO, DZERO, DZERO, 0);
  T2ALL(fsub_d, DZERO, DZERO, DZERO, DZERO, DNZERO, DZERO, DZERO, 0);
  T2ALL(fadd_d, DNZERO, DNZERO, DNZERO, DNZERO, DNZERO, DNZERO, DNZERO, 0);
  T2ALL(fadd_s, S(2.5f), S(-2.5f), SZERO, SZERO, SNZERO, SZERO, SZERO, 0);
  /* Flags are OR-ed into *fflags, never cleared. */
  {
    uint32_t f = DZ;
    uint64_t r = wb_fadd_d(D(1.0), D(0x1p-60), RNE, &f);
    check("fadd_d (or-ed flags)", __LINE__, RNE, r, f, D(1.0), DZ | NX);
  }
}

static void test_rounding(void) {
  /* add: 1 + 2^-53 is exactly halfway between 1 and 1 + 2^-52. */
  T2ALL(fadd_d, D(1.0), D(0x1p-53), D(1.0), D(1.0), D(1.0), D(0x1.0000000000001p0),
        D(0x1.0000000000001p0), NX);
  T2ALL(fadd_d, D(-1.0), D(-0x1p-53), D(-1.0), D(-1.0), D(-0x1.0000000000001p0), D(-1.0),
        D(-0x1.0000000000001p0), NX);
  /* halfway between 1+ulp (odd) and 1+2ulp (even): RNE and RMM agree */
  T2ALL(fadd_d, D(0x1.0000000000001p0), D(0x1p-53), D(0x1.0000000000002p0),
        D(0x1.0000000000001p0), D(0x1.0000000000001p0), D(0x1.0000000000002p0),
        D(0x1.0000000000002p0), NX);
  /* below and above halfway */
  T2ALL(fadd_d, D(1.0), D(0x1p-54), D(1.0), D(1.0), D(1.0), D(0x1.0000000000001p0), D(1.0), NX);
  T2ALL(fadd_d, D(1.0), D(0x1.8p-53), D(0x1.0000000000001p0), D(1.0), D(1.0),
        D(0x1.0000000000001p0), D(0x1.0000000000001p0), NX);
  T2ALL(fsub_d, D(1.0), D(-0x1p-53), D(1.0), D(1.0), D(1.0), D(0x1.0000000000001p0),
        D(0x1.0000000000001p0), NX);
  T2ALL(fadd_s, S(1.0f), S(0x1p-24f), S(1.0f), S(1.0f), S(1.0f), S(0x1.000002p0f),
        S(0x1.000002p0f), NX);
  T2ALL(fsub_s, S(-1.0f), S(0x1p-24f), S(-1.0f), S(-1.0f), S(-0x1.000002p0f), S(-1.0f),
        S(-0x1.000002p0f), NX);

  /* mul: (1 + 2^-26)(1 + 2^-27) = 1 + 3*2^-27 + 2^-53, a tie. */
  T2ALL(fmul_d, D(0x1.0000004p0), D(0x1.0000002p0), D(0x1.0000006p0), D(0x1.0000006p0),
        D(0x1.0000006p0), D(0x1.0000006000001p0), D(0x1.0000006000001p0), NX);
  T2ALL(fmul_d, D(-0x1.0000004p0), D(0x1.0000002p0), D(-0x1.0000006p0), D(-0x1.0000006p0),
        D(-0x1.0000006000001p0), D(-0x1.0000006p0), D(-0x1.0000006000001p0), NX);
  /* (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24, a tie in single precision. */
  T2ALL(fmul_s, S(0x1.001p0f), S(0x1.001p0f), S(0x1.002p0f), S(0x1.002p0f), S(0x1.002p0f),
        S(0x1.002002p0f), S(0x1.002002p0f), NX);

  /* div: 1/3 = 0x1.5555555555555|5555...p-2 (below half), single 0x1.555554|aaa.. (above). */
  T2ALL(fdiv_d, D(1.0), D(3.0), D(0x1.5555555555555p-2), D(0x1.5555555555555p-2),
        D(0x1.5555555555555p-2), D(0x1.5555555555556p-2), D(0x1.5555555555555p-2), NX);
  T2ALL(fdiv_d, D(-1.0), D(3.0), D(-0x1.5555555555555p-2), D(-0x1.5555555555555p-2),
        D(-0x1.5555555555556p-2), D(-0x1.5555555555555p-2), D(-0x1.5555555555555p-2), NX);
  T2ALL(fdiv_s, S(1.0f), S(3.0f), SB(0x3eaaaaab), SB(0x3eaaaaaa), SB(0x3eaaaaaa), SB(0x3eaaaaab),
        SB(0x3eaaaaab), NX);
  /* Quotients tie only on the subnormal grid: 5*2^-1074 / 2 = 2.5 * 2^-1074. */
  T2ALL(fdiv_d, 5, D(2.0), 2, 2, 2, 3, 3, UF | NX);
  T2ALL(fdiv_d, DMINSUB, D(2.0), DZERO, DZERO, DZERO, DMINSUB, DMINSUB, UF | NX);
  T2ALL(fdiv_d, D(-0x1p-1074), D(2.0), DNZERO, DNZERO, D(-0x1p-1074), DNZERO, D(-0x1p-1074),
        UF | NX);
  T2ALL(fdiv_s, SB(5), S(2.0f), SB(2), SB(2), SB(2), SB(3), SB(3), UF | NX);

  /* sqrt: sqrt(2) = 0x1.6a09e667f3bcc|9..p0 rounds up in RNE; never a tie. */
  T1ALL(fsqrt_d, D(2.0), D(0x1.6a09e667f3bcdp0), D(0x1.6a09e667f3bccp0), D(0x1.6a09e667f3bccp0),
        D(0x1.6a09e667f3bcdp0), D(0x1.6a09e667f3bcdp0), NX);
  T1ALL(fsqrt_s, S(2.0f), SB(0x3fb504f3), SB(0x3fb504f3), SB(0x3fb504f3), SB(0x3fb504f4),
        SB(0x3fb504f3), NX);
}

static void test_fused(void) {
  /* One rounding: (1+2^-52)(1-2^-53) - 1 = 2^-53 - 2^-105 exactly (unfused: 0). */
  T3(fmadd_d, D(0x1.0000000000001p0), D(0x1.fffffffffffffp-1), D(-1.0), RNE,
     D(0x1.ffffffffffffep-54), 0);
  T3(fmsub_d, D(0x1.0000000000001p0), D(0x1.fffffffffffffp-1), D(1.0), RTZ,
     D(0x1.ffffffffffffep-54), 0);
  /* signs: fmadd a*b+c, fmsub a*b-c, fnmsub -(a*b)+c, fnmadd -(a*b)-c */
  T3(fmadd_d, D(2.0), D(3.0), D(1.0), RNE, D(7.0), 0);
  T3(fmsub_d, D(2.0), D(3.0), D(1.0), RNE, D(5.0), 0);
  T3(fnmsub_d, D(2.0), D(3.0), D(1.0), RNE, D(-5.0), 0);
  T3(fnmadd_d, D(2.0), D(3.0), D(1.0), RNE, D(-7.0), 0);
  T3(fmadd_s, S(2.0f), S(3.0f), S(1.0f), RNE, S(7.0f), 0);
  T3(fmsub_s, S(2.0f), S(3.0f), S(1.0f), RNE, S(5.0f), 0);
  T3(fnmsub_s, S(2.0f), S(3.0f), S(1.0f), RNE, S(-5.0f), 0);
  T3(fnmadd_s, S(2.0f), S(3.0f), S(1.0f), RNE, S(-7.0f), 0);
  /* zero signs */
  T3ALL(fmadd_d, D(1.0), DNZERO, DZERO, DZERO, DZERO, DNZERO, DZERO, DZERO, 0);
  T3ALL(fnmadd_d, DZERO, D(1.0), DZERO, DNZERO, DNZERO, DNZERO, DNZERO, DNZERO, 0);
  T3ALL(fmsub_d, DZERO, D(1.0), DZERO, DZERO, DZERO, DNZERO, DZERO, DZERO, 0);
  T3ALL(fnmsub_d, DZERO, D(1.0), DZERO, DZERO, DZERO, DNZERO, DZERO, DZERO, 0);
  /* inf * 0 is invalid even when the addend is a quiet NaN */
  T3(fmadd_d, DINF, DZERO, DQNAN, RNE, DQNAN, NV);
  T3(fnmadd_d, DZERO, DNINF, DQNAN_PAY, RNE, DQNAN, NV);
  T3(fmadd_s, SZERO, SINF, SQNAN, RNE, SQNAN, NV);
  T3(fmsub_s, SINF, SNZERO, BADBOX1, RNE, SQNAN, NV);
  T3(fmadd_d, DINF, DZERO, D(1.0), RNE, DQNAN, NV);
  T3(fmadd_d, DQNAN, DZERO, D(1.0), RNE, DQNAN, 0);
  T3(fmadd_d, D(1.0), D(1.0), DQNAN_PAY, RNE, DQNAN, 0);
  T3(fmadd_d, D(1.0), D(1.0), DSNAN, RNE, DQNAN, NV);
  T3(fmadd_s, SSNAN, S(1.0f), S(1.0f), RNE, SQNAN, NV);
  T3(fmadd_d, DINF, D(1.0), DNINF, RNE, DQNAN, NV);
  T3(fmsub_d, DINF, D(1.0), DINF, RNE, DQNAN, NV);
  T3(fmadd_d, DINF, D(1.0), DINF, RNE, DINF, 0);
  /* no intermediate overflow: 2*max - max = max */
  T3(fmadd_d, DMAX, D(2.0), DNMAX, RNE, DMAX, 0);
  T3(fmadd_d, DMAX, D(2.0), DZERO, RTZ, DMAX, OF | NX);
  /* ties */
  T3ALL(fmadd_d, D(0x1.0000004p0), D(0x1.0000002p0), DNZERO, D(0x1.0000006p0), D(0x1.0000006p0),
        D(0x1.0000006p0), D(0x1.0000006000001p0), D(0x1.0000006000001p0), NX);
  T3ALL(fmadd_s, S(0x1.001p0f), S(0x1.001p0f), S(0.0f), S(0x1.002p0f), S(0x1.002p0f),
        S(0x1.002p0f), S(0x1.002002p0f), S(0x1.002002p0f), NX);
  /* -(1 + 2^-26)(1 + 2^-27) + 2 = 1 - 3*2^-27 - 2^-53: below 1 the grid is 2^-53, exact */
  T3ALL(fnmsub_d, D(0x1.0000004p0), D(0x1.0000002p0), D(2.0), D(0x1.ffffff3ffffffp-1),
        D(0x1.ffffff3ffffffp-1), D(0x1.ffffff3ffffffp-1), D(0x1.ffffff3ffffffp-1),
        D(0x1.ffffff3ffffffp-1), 0);
  /* a tie on the subnormal grid: 3*2^-538 * 2^-537 = 1.5 * 2^-1074 */
  T3ALL(fmadd_d, D(0x1.8p-537), D(0x1p-537), DZERO, 2, 1, 1, 2, 2, UF | NX);
  T3ALL(fmadd_d, D(0x1.8p-537), D(0x1p-537), D(0x1p-1073), 4, 3, 3, 4, 4, UF | NX);
  T3ALL(fmadd_d, D(0x1.8p-537), D(0x1p-537), D(-0x1p-1073), DNZERO, DNZERO, D(-0x1p-1074),
        DNZERO, D(-0x1p-1074), UF | NX);
}

static void test_overflow_underflow(void) {
  /* Overflow: RNE/RMM go to inf; RTZ to max; RDN/RUP depend on the sign. */
  T2ALL(fmul_d, DMAX, D(2.0), DINF, DMAX, DMAX, DINF, DINF, OF | NX);
  T2ALL(fmul_d, DNMAX, D(2.0), DNINF, DNMAX, DNINF, DNMAX, DNINF, OF | NX);
  T2ALL(fmul_s, SMAX, S(2.0f), SINF, SMAX, SMAX, SINF, SINF, OF | NX);
  T2ALL(fadd_s, SB(0xff7fffff), SB(0xff7fffff), SNINF, SB(0xff7fffff), SNINF, SB(0xff7fffff),
        SNINF, OF | NX);
  /* max + ulp/2 is the overflow tie; rounded down it is not an overflow at all. */
  T2(fadd_d, DMAX, D(0x1p970), RNE, DINF, OF | NX);
  T2(fadd_d, DMAX, D(0x1p970), RMM, DINF, OF | NX);
  T2(fadd_d, DMAX, D(0x1p970), RUP, DINF, OF | NX);
  T2(fadd_d, DMAX, D(0x1p970), RTZ, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p970), RDN, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p969), RNE, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p969), RMM, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p969), RTZ, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p969), RDN, DMAX, NX);
  T2(fadd_d, DMAX, D(0x1p969), RUP, DINF, OF | NX);
  T2(fdiv_d, D(0x1p1000), D(0x1p-100), RNE, DINF, OF | NX);
  T2(fdiv_d, D(0x1p1000), D(0x1p-100), RTZ, DMAX, OF | NX);

  /* Exact subnormal results raise nothing. */
  T2(fmul_d, DMINNORM, D(0.5), RNE, 0x0008000000000000ull, 0);
  T2(fmul_s, SMINNORM, S(0.5f), RNE, SB(0x00400000), 0);
  T2(fsub_d, D(0x1.8p-1022), DMINNORM, RNE, 0x0008000000000000ull, 0);
  /* Half the smallest subnormal: a tie between 0 and it. */
  T2ALL(fmul_d, DMINSUB, D(0.5), DZERO, DZERO, DZERO, DMINSUB, DMINSUB, UF | NX);
  T2ALL(fmul_s, SMINSUB, S(-0.5f), SNZERO, SNZERO, SB(0x80000001), SNZERO, SB(0x80000001),
        UF | NX);
  T2ALL(fmul_d, DMINSUB, D(0.25), DZERO, DZERO, DZERO, DMINSUB, DZERO, UF | NX);
  /* Tininess is detected after rounding. minnorm*(1-2^-53) = 2^-1022 - 2^-1075 has 53 bits:
   * tiny in every mode, and inexact on the subnormal grid (a tie). */
  T2ALL(fmul_d, DMINNORM, D(0x1.fffffffffffffp-1), DMINNORM, DMAXSUB, DMAXSUB, DMINNORM, DMINNORM,
        UF | NX);
  /* 2^-1022 (1 - 2^-54) rounds with unbounded exponent to 2^-1022 in RNE/RUP/RMM (not tiny:
   * only NX) but stays below it in RTZ/RDN (tiny: UF). */
  T2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), RNE, DMINNORM, NX);
  T2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), RUP, DMINNORM, NX);
  T2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), RMM, DMINNORM, NX);
  T2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), RTZ, DMAXSUB, UF | NX);
  T2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), RDN, DMAXSUB, UF | NX);
  /* The same boundary in single precision, through fcvt.s.d. */
  T1(fcvt_s_d, D(0x1p-126 - 0x1p-151), RNE, SMINNORM, NX);
  T1(fcvt_s_d, D(0x1p-126 - 0x1p-151), RTZ, SB(0x007fffff), UF | NX);
  T1(fcvt_s_d, D(0x1p-126 - 0x1p-150), RNE, SMINNORM, UF | NX);
}

static void test_fp_to_int(void) {
  T1ALL(fcvt_w_d, D(1.5), 2, 1, 1, 2, 2, NX);
  T1ALL(fcvt_w_d, D(2.5), 2, 2, 2, 3, 3, NX);
  T1ALL(fcvt_w_d, D(-2.5), (uint64_t)-2, (uint64_t)-2, (uint64_t)-3, (uint64_t)-2, (uint64_t)-3,
        NX);
  T1ALL(fcvt_w_d, D(-0.5), 0, 0, (uint64_t)-1, 0, (uint64_t)-1, NX);
  T1ALL(fcvt_l_s, S(0.5f), 0, 0, 0, 1, 1, NX);
  T1ALL(fcvt_l_s, S(-1.5f), (uint64_t)-2, (uint64_t)-1, (uint64_t)-2, (uint64_t)-1, (uint64_t)-2,
        NX);
  T1(fcvt_w_d, D(-3.0), RTZ, (uint64_t)-3, 0);
  T1(fcvt_w_d, DNZERO, RDN, 0, 0);
  /* Unsigned of a negative: values in (-1, 0) that round to 0 are only inexact. */
  T1(fcvt_wu_d, D(-0.5), RTZ, 0, NX);
  T1(fcvt_wu_d, D(-0.5), RNE, 0, NX);
  T1(fcvt_wu_d, D(-0.5), RUP, 0, NX);
  T1(fcvt_wu_d, D(-0.5), RDN, 0, NV);
  T1(fcvt_wu_d, D(-0.5), RMM, 0, NV);
  T1(fcvt_lu_s, S(-0.5f), RTZ, 0, NX);
  T1(fcvt_lu_s, S(-0.5f), RDN, 0, NV);
  T1(fcvt_lu_d, D(-0.75), RNE, 0, NV);
  T1(fcvt_wu_d, D(-1.0), RTZ, 0, NV);
  T1(fcvt_lu_d, DNZERO, RNE, 0, 0);
  /* int32 limits */
  T1(fcvt_w_d, D(2147483647.0), RNE, 0x7fffffffull, 0);
  T1(fcvt_w_d, D(2147483647.5), RTZ, 0x7fffffffull, NX);
  T1(fcvt_w_d, D(2147483647.5), RDN, 0x7fffffffull, NX);
  T1(fcvt_w_d, D(2147483647.5), RNE, 0x7fffffffull, NV);
  T1(fcvt_w_d, D(2147483647.5), RUP, 0x7fffffffull, NV);
  T1(fcvt_w_d, D(2147483647.5), RMM, 0x7fffffffull, NV);
  T1(fcvt_w_d, D(2147483648.0), RTZ, 0x7fffffffull, NV);
  T1(fcvt_w_d, D(-2147483648.5), RNE, 0xffffffff80000000ull, NX);
  T1(fcvt_w_d, D(-2147483648.5), RTZ, 0xffffffff80000000ull, NX);
  T1(fcvt_w_d, D(-2147483648.5), RUP, 0xffffffff80000000ull, NX);
  T1(fcvt_w_d, D(-2147483648.5), RDN, 0xffffffff80000000ull, NV);
  T1(fcvt_w_d, D(-2147483648.5), RMM, 0xffffffff80000000ull, NV);
  T1(fcvt_w_s, S(-0x1p31f), RNE, 0xffffffff80000000ull, 0);
  T1(fcvt_w_s, SB(0x4effffff), RNE, 0x7fffff80ull, 0);
  T1(fcvt_w_s, S(0x1p31f), RNE, 0x7fffffffull, NV);
  /* uint32: results are sign-extended from bit 31 */
  T1(fcvt_wu_d, D(4294967295.0), RNE, 0xffffffffffffffffull, 0);
  T1(fcvt_wu_d, D(4294967295.5), RTZ, 0xffffffffffffffffull, NX);
  T1(fcvt_wu_d, D(4294967295.5), RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_wu_d, D(4294967296.0), RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_wu_d, D(2147483648.0), RNE, 0xffffffff80000000ull, 0);
  T1(fcvt_wu_d, D(2147483647.0), RNE, 0x7fffffffull, 0);
  T1(fcvt_wu_s, SB(0x4f7fffff), RNE, 0xffffffffffffff00ull, 0);
  T1(fcvt_wu_s, S(0x1p32f), RNE, 0xffffffffffffffffull, NV);
  /* int64 / uint64 limits */
  T1(fcvt_l_d, D(0x1p63), RNE, 0x7fffffffffffffffull, NV);
  T1(fcvt_l_d, D(-0x1p63), RNE, 0x8000000000000000ull, 0);
  T1(fcvt_l_d, D(0x1.fffffffffffffp62), RNE, 0x7ffffffffffffc00ull, 0);
  T1(fcvt_l_d, D(-0x1.0000000000001p63), RUP, 0x8000000000000000ull, NV);
  T1(fcvt_l_s, S(0x1p63f), RTZ, 0x7fffffffffffffffull, NV);
  T1(fcvt_l_s, S(1e10f), RNE, 10000000000ull, 0);
  T1(fcvt_lu_d, D(0x1p64), RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_lu_d, D(0x1.fffffffffffffp63), RNE, 0xfffffffffffff800ull, 0);
  T1(fcvt_lu_d, D(0x1p63), RNE, 0x8000000000000000ull, 0);
  T1(fcvt_lu_s, SB(0x5f7fffff), RNE, 0xffffff0000000000ull, 0);
  T1(fcvt_lu_d, D(4503599627370495.5), RNE, 4503599627370496ull, NX);
  T1(fcvt_lu_d, D(4503599627370495.5), RTZ, 4503599627370495ull, NX);
  T1(fcvt_l_d, D(-4503599627370495.5), RNE, (uint64_t)-4503599627370496ll, NX);
  T1(fcvt_l_d, D(-4503599627370494.5), RNE, (uint64_t)-4503599627370494ll, NX);
  T1(fcvt_l_d, D(-4503599627370494.5), RMM, (uint64_t)-4503599627370495ll, NX);
  /* inf and NaN: NaN saturates like +inf */
  T1(fcvt_w_d, DINF, RNE, 0x7fffffffull, NV);
  T1(fcvt_w_d, DNINF, RNE, 0xffffffff80000000ull, NV);
  T1(fcvt_w_d, DQNAN, RNE, 0x7fffffffull, NV);
  T1(fcvt_w_d, DQNAN_NEG, RNE, 0x7fffffffull, NV);
  T1(fcvt_w_d, DSNAN, RNE, 0x7fffffffull, NV);
  T1(fcvt_wu_d, DINF, RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_wu_d, DNINF, RNE, 0, NV);
  T1(fcvt_wu_d, DQNAN, RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_l_d, DINF, RNE, 0x7fffffffffffffffull, NV);
  T1(fcvt_l_d, DNINF, RNE, 0x8000000000000000ull, NV);
  T1(fcvt_l_d, DQNAN_NEG, RNE, 0x7fffffffffffffffull, NV);
  T1(fcvt_lu_d, DINF, RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_lu_d, DNINF, RNE, 0, NV);
  T1(fcvt_lu_d, DSNAN, RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_w_s, SNINF, RNE, 0xffffffff80000000ull, NV);
  T1(fcvt_wu_s, SQNAN, RNE, 0xffffffffffffffffull, NV);
  T1(fcvt_l_s, SSNAN, RNE, 0x7fffffffffffffffull, NV);
  T1(fcvt_lu_s, SNINF, RNE, 0, NV);
  /* tiny values */
  T1ALL(fcvt_w_d, DMINSUB, 0, 0, 0, 1, 0, NX);
  T1ALL(fcvt_l_d, D(-0x1p-1074), 0, 0, (uint64_t)-1, 0, 0, NX);
}

static void test_int_to_fp(void) {
  /* 2^24 + 1 is halfway between 2^24 and 2^24 + 2 in single precision */
  T1ALL(fcvt_s_w, 0x1000001, S(0x1p24f), S(0x1p24f), S(0x1p24f), S(0x1.000002p24f),
        S(0x1.000002p24f), NX);
  T1ALL(fcvt_s_w, (uint64_t)-0x1000001, S(-0x1p24f), S(-0x1p24f), S(-0x1.000002p24f), S(-0x1p24f),
        S(-0x1.000002p24f), NX);
  T1ALL(fcvt_s_w, 0x1000003, S(0x1.000004p24f), S(0x1.000002p24f), S(0x1.000002p24f),
        S(0x1.000004p24f), S(0x1.000004p24f), NX);
  T1ALL(fcvt_s_wu, 0xffffffffull, S(0x1p32f), SB(0x4f7fffff), SB(0x4f7fffff), S(0x1p32f),
        S(0x1p32f), NX);
  T1(fcvt_s_w, 0xffffffffull, RNE, S(-1.0f), 0);         /* low 32 bits: -1 */
  T1(fcvt_s_w, 0x00000001ffffffffull, RNE, S(-1.0f), 0);
  T1(fcvt_s_wu, 0xffffffff00000005ull, RNE, S(5.0f), 0);
  T1(fcvt_s_w, 0x80000000ull, RNE, S(-0x1p31f), 0);
  T1(fcvt_s_l, 0, RDN, SZERO, 0);
  T1(fcvt_d_l, 0, RDN, DZERO, 0);
  T1(fcvt_d_w, 0x80000000ull, RNE, D(-0x1p31), 0);
  T1(fcvt_d_wu, 0x80000000ull, RNE, D(0x1p31), 0);
  T1(fcvt_d_wu, 0xffffffffffffffffull, RUP, D(4294967295.0), 0);
  T1(fcvt_d_w, 0x7fffffffull, RTZ, D(2147483647.0), 0);
  T1ALL(fcvt_d_l, (1ull << 53) + 1, D(0x1p53), D(0x1p53), D(0x1p53), D(0x1.0000000000001p53),
        D(0x1.0000000000001p53), NX);
  T1ALL(fcvt_d_l, (uint64_t)-((1ll << 53) + 1), D(-0x1p53), D(-0x1p53), D(-0x1.0000000000001p53),
        D(-0x1p53), D(-0x1.0000000000001p53), NX);
  T1ALL(fcvt_d_lu, 0xffffffffffffffffull, D(0x1p64), D(0x1.fffffffffffffp63),
        D(0x1.fffffffffffffp63), D(0x1p64), D(0x1p64), NX);
  T1(fcvt_d_l, 0x8000000000000000ull, RNE, D(-0x1p63), 0);
  T1(fcvt_d_lu, 0x8000000000000000ull, RNE, D(0x1p63), 0);
  T1(fcvt_d_l, 0x7fffffffffffffffull, RTZ, D(0x1.fffffffffffffp62), NX);
  T1(fcvt_d_l, 0x7fffffffffffffffull, RNE, D(0x1p63), NX);
  T1ALL(fcvt_s_lu, (1ull << 63) + (1ull << 39), S(0x1p63f), S(0x1p63f), S(0x1p63f),
        S(0x1.000002p63f), S(0x1.000002p63f), NX);
  T1(fcvt_s_l, 0x8000000000000000ull, RNE, S(-0x1p63f), 0);
}

static void test_fp_fp(void) {
  T1ALL(fcvt_s_d, D(1.0 + 0x1p-24), S(1.0f), S(1.0f), S(1.0f), S(0x1.000002p0f), S(0x1.000002p0f),
        NX);
  T1ALL(fcvt_s_d, D(0.1), SB(0x3dcccccd), SB(0x3dcccccc), SB(0x3dcccccc), SB(0x3dcccccd),
        SB(0x3dcccccd), NX);
  T1ALL(fcvt_s_d, D(1e300), SINF, SMAX, SMAX, SINF, SINF, OF | NX);
  T1ALL(fcvt_s_d, D(-1e300), SNINF, SB(0xff7fffff), SNINF, SB(0xff7fffff), SNINF, OF | NX);
  T1ALL(fcvt_s_d, D(0x1p-150), SZERO, SZERO, SZERO, SMINSUB, SMINSUB, UF | NX);
  T1ALL(fcvt_s_d, D(0x1p-1074), SZERO, SZERO, SZERO, SMINSUB, SZERO, UF | NX);
  T1(fcvt_s_d, D(0x1p-149), RNE, SMINSUB, 0);
  T1(fcvt_s_d, DNZERO, RNE, SNZERO, 0);
  T1(fcvt_s_d, DINF, RTZ, SINF, 0);
  T1(fcvt_s_d, DQNAN_PAY, RNE, SQNAN, 0);
  T1(fcvt_s_d, DSNAN, RNE, SQNAN, NV);
  T1(fcvt_d_s, S(0.1f), RNE, D(0x1.99999ap-4), 0);
  T1(fcvt_d_s, SMINSUB, RNE, D(0x1p-149), 0);
  T1(fcvt_d_s, SNINF, RNE, DNINF, 0);
  T1(fcvt_d_s, SNZERO, RNE, DNZERO, 0);
  T1(fcvt_d_s, SQNAN_PAY, RNE, DQNAN, 0);
  T1(fcvt_d_s, SSNAN, RNE, DQNAN, NV);
}

static void test_minmax_compare(void) {
  TN(fmin_d, DNZERO, DZERO, DNZERO, 0);
  TN(fmin_d, DZERO, DNZERO, DNZERO, 0);
  TN(fmax_d, DNZERO, DZERO, DZERO, 0);
  TN(fmax_d, DZERO, DNZERO, DZERO, 0);
  TN(fmin_s, SNZERO, SZERO, SNZERO, 0);
  TN(fmax_s, SNZERO, SZERO, SZERO, 0);
  TN(fmin_d, D(1.0), D(2.0), D(1.0), 0);
  TN(fmax_d, D(1.0), D(2.0), D(2.0), 0);
  TN(fmin_d, D(-1.0), D(-2.0), D(-2.0), 0);
  TN(fmax_d, DNINF, DMAX, DMAX, 0);
  TN(fmin_d, DQNAN, D(1.0), D(1.0), 0);
  TN(fmin_d, D(1.0), DQNAN_PAY, D(1.0), 0);
  TN(fmax_d, DNINF, DQNAN_NEG, DNINF, 0);
  TN(fmin_d, DSNAN, D(1.0), D(1.0), NV);
  TN(fmax_d, D(1.0), DSNAN_NEG, D(1.0), NV);
  TN(fmin_d, DQNAN_PAY, DQNAN_NEG, DQNAN, 0);
  TN(fmax_d, DSNAN, DQNAN, DQNAN, NV);
  TN(fmin_s, SQNAN_PAY, S(-3.0f), S(-3.0f), 0);
  TN(fmax_s, SSNAN, S(3.0f), S(3.0f), NV);
  TN(fmax_s, SSNAN, SSNAN, SQNAN, NV);
  TN(fmin_s, S(1.0f), S(0x1.000002p0f), S(1.0f), 0);

  TN(feq_d, DQNAN, D(1.0), 0, 0);
  TN(feq_d, DQNAN, DQNAN, 0, 0);
  TN(feq_d, DSNAN, D(1.0), 0, NV);
  TN(flt_d, DQNAN, D(1.0), 0, NV);
  TN(fle_d, D(1.0), DQNAN, 0, NV);
  TN(fle_d, DSNAN, DSNAN, 0, NV);
  TN(feq_d, DNZERO, DZERO, 1, 0);
  TN(flt_d, DNZERO, DZERO, 0, 0);
  TN(fle_d, DNZERO, DZERO, 1, 0);
  TN(flt_d, D(1.0), D(2.0), 1, 0);
  TN(flt_d, D(2.0), D(1.0), 0, 0);
  TN(fle_d, D(2.0), D(2.0), 1, 0);
  TN(flt_d, DNINF, DINF, 1, 0);
  TN(feq_d, DINF, DINF, 1, 0);
  TN(flt_d, DMINSUB, DMINNORM, 1, 0);
  TN(feq_s, SQNAN, S(1.0f), 0, 0);
  TN(feq_s, SSNAN, S(1.0f), 0, NV);
  TN(flt_s, S(1.0f), SQNAN, 0, NV);
  TN(fle_s, SQNAN, SQNAN, 0, NV);
  TN(feq_s, SNZERO, SZERO, 1, 0);
  TN(flt_s, S(-1.0f), S(1.0f), 1, 0);
  TN(fle_s, S(1.0f), S(-1.0f), 0, 0);
}

static void test_sign_class(void) {
  TS(fsgnj_d, D(1.0), D(-2.0), D(-1.0));
  TS(fsgnjn_d, D(1.0), D(-2.0), D(1.0));
  TS(fsgnjn_d, D(1.0), D(1.0), D(-1.0));
  TS(fsgnjx_d, D(-1.0), D(-2.0), D(1.0));
  TS(fsgnjx_d, D(1.0), D(-2.0), D(-1.0));
  TS(fsgnj_d, DQNAN_PAY, D(-1.0), 0xfff8000000000123ull); /* payloads kept */
  TS(fsgnj_d, DSNAN, DNZERO, 0xfff0000000000001ull);
  TS(fsgnj_s, S(1.0f), S(-2.0f), S(-1.0f));
  TS(fsgnjn_s, S(-1.0f), S(-2.0f), S(1.0f));
  TS(fsgnjx_s, S(-1.0f), S(-2.0f), S(1.0f));
  TS(fsgnj_s, SSNAN, S(-1.0f), SB(0xff800001));

  TC(fclass_d, DNINF, 1u << 0);
  TC(fclass_d, D(-1.0), 1u << 1);
  TC(fclass_d, DNMAX, 1u << 1);
  TC(fclass_d, D(-0x1p-1074), 1u << 2);
  TC(fclass_d, 0x800fffffffffffffull, 1u << 2);
  TC(fclass_d, DNZERO, 1u << 3);
  TC(fclass_d, DZERO, 1u << 4);
  TC(fclass_d, DMINSUB, 1u << 5);
  TC(fclass_d, DMAXSUB, 1u << 5);
  TC(fclass_d, DMINNORM, 1u << 6);
  TC(fclass_d, D(1.0), 1u << 6);
  TC(fclass_d, DINF, 1u << 7);
  TC(fclass_d, DSNAN, 1u << 8);
  TC(fclass_d, DSNAN_NEG, 1u << 8);
  TC(fclass_d, 0x7ff7ffffffffffffull, 1u << 8);
  TC(fclass_d, DQNAN, 1u << 9);
  TC(fclass_d, DQNAN_NEG, 1u << 9);
  TC(fclass_s, SNINF, 1u << 0);
  TC(fclass_s, S(-1.0f), 1u << 1);
  TC(fclass_s, SB(0x80000001), 1u << 2);
  TC(fclass_s, SNZERO, 1u << 3);
  TC(fclass_s, SZERO, 1u << 4);
  TC(fclass_s, SB(0x007fffff), 1u << 5);
  TC(fclass_s, SMINNORM, 1u << 6);
  TC(fclass_s, SINF, 1u << 7);
  TC(fclass_s, SSNAN, 1u << 8);
  TC(fclass_s, SB(0xffbfffff), 1u << 8);
  TC(fclass_s, SQNAN, 1u << 9);
  TC(fclass_s, SB(0xffc00001), 1u << 9);
}

/* With NX already in fflags and RNE, the fast path may skip the host environment: only
 * where nothing but NX can be raised. Each vector starts with fflags = NX. */
#define TF2(fn, a, b, want, fl) do { uint32_t f_ = NX; uint64_t r_ = wb_##fn(a, b, RNE, &f_); \
    check(#fn " (NX preset)", __LINE__, RNE, r_, f_, want, (fl) | NX); } while (0)
#define TF3(fn, a, b, c, want, fl) do { uint32_t f_ = NX; \
    uint64_t r_ = wb_##fn(a, b, c, RNE, &f_); \
    check(#fn " (NX preset)", __LINE__, RNE, r_, f_, want, (fl) | NX); } while (0)
#define TF1(fn, a, want, fl) do { uint32_t f_ = NX; uint64_t r_ = wb_##fn(a, RNE, &f_); \
    check(#fn " (NX preset)", __LINE__, RNE, r_, f_, want, (fl) | NX); } while (0)
static void test_fast_path(void) {
  TF2(fadd_d, D(1.0), D(0x1p-60), D(1.0), 0);
  TF2(fadd_d, D(1.0), D(0x1p-53), D(1.0), 0);
  TF2(fsub_d, D(3.0), D(3.0), DZERO, 0);
  TF2(fadd_d, DNZERO, DNZERO, DNZERO, 0);
  TF2(fadd_d, D(0x1.8p-1022), D(-0x1p-1022), 0x0008000000000000ull, 0); /* exact subnormal */
  TF2(fmul_d, D(1e-200), D(1e-200), DZERO, UF);
  TF2(fmul_d, D(-1e-200), D(1e-200), DNZERO, UF);
  TF2(fmul_d, DMINNORM, D(0x1.fffffffffffffp-1), DMINNORM, UF);
  TF2(fmul_d, D(0x1.ffffffcp-512), D(0x1.0000002p-511), DMINNORM, 0);
  TF2(fmul_d, DMAX, D(2.0), DINF, OF);
  TF2(fmul_d, DZERO, D(-5.0), DNZERO, 0);
  TF2(fdiv_d, D(1.0), DZERO, DINF, DZ);
  TF2(fdiv_d, DZERO, DZERO, DQNAN, NV);
  TF2(fdiv_d, D(0x1p-1000), D(0x1p100), DZERO, UF);
  TF2(fdiv_d, DZERO, D(7.0), DZERO, 0);
  TF2(fadd_d, DINF, D(1.0), DINF, 0);
  TF2(fadd_d, DSNAN, D(1.0), DQNAN, NV);
  TF1(fsqrt_d, D(-1.0), DQNAN, NV);
  TF1(fsqrt_d, DNZERO, DNZERO, 0);
  TF1(fsqrt_d, D(2.0), D(0x1.6a09e667f3bcdp0), 0);
  TF2(fmul_s, S(0x1p-100f), S(0x1p-30f), SB(0x00080000), 0); /* 2^-130, exact */
  TF2(fmul_s, SMINNORM, S(0x1.fffffep-1f), SMINNORM, UF);
  TF2(fmul_s, SMAX, S(-2.0f), SNINF, OF);
  TF2(fadd_s, S(1.0f), S(0x1p-30f), S(1.0f), 0);
  TF2(fsub_s, S(0x1.8p-126f), SMINNORM, SB(0x00400000), 0);
  TF2(fdiv_s, S(1.0f), SZERO, SINF, DZ);
  TF2(fadd_s, BADBOX1, S(1.0f), SQNAN, 0);
  TF3(fmadd_d, D(1.0), D(1.0), D(-1.0), DZERO, 0);
  TF3(fmadd_d, D(0x1p-600), D(0x1p-600), DZERO, DZERO, UF);
  TF3(fmadd_d, DMAX, D(2.0), DNMAX, DMAX, 0);
  TF3(fmadd_s, S(2.0f), S(3.0f), S(1.0f), S(7.0f), 0);
  TF3(fmadd_s, S(0x1p-70f), S(0x1p-70f), SZERO, SB(0x00000200), 0); /* 2^-140, exact */
  TF3(fmadd_s, S(0x1p-80f), S(0x1p-80f), SZERO, SZERO, UF);
  TF1(fcvt_s_d, D(1e-300), SZERO, UF);
  TF1(fcvt_s_d, D(1e300), SINF, OF);
  TF1(fcvt_s_d, D(0.1), SB(0x3dcccccd), 0);
  TF1(fcvt_s_d, DNZERO, SNZERO, 0);
  TF1(fcvt_s_d, D(0x1p-127), SB(0x00400000), 0);
}

/* The host's own state must neither leak in nor be disturbed: stale host flags, a host
 * rounding mode other than RNE, and (x86) flush-to-zero / denormals-are-zero. */
static void test_host_state(void) {
  uint32_t f;
  feraiseexcept(FE_OVERFLOW | FE_INEXACT | FE_INVALID);
  f = 0;
  check("fadd_d (stale host flags)", __LINE__, RNE, wb_fadd_d(D(1.0), D(2.0), RNE, &f), f, D(3.0),
        0);
  feraiseexcept(FE_INEXACT);
  f = NX; /* NX already in fflags: may be reported again, nothing else */
  check("fadd_d (NX kept)", __LINE__, RMM, wb_fadd_d(D(1.0), D(2.0), RMM, &f), f, D(3.0), NX);
  feraiseexcept(FE_INEXACT);
  f = NX;
  check("fadd_d (NX kept, tie)", __LINE__, RMM, wb_fadd_d(D(1.0), D(0x1p-53), RMM, &f), f,
        D(0x1.0000000000001p0), NX);
  feraiseexcept(FE_INEXACT);
  f = NX;
  check("fmul_s (NX kept)", __LINE__, RMM, wb_fmul_s(S(3.0f), S(0.5f), RMM, &f), f, S(1.5f), NX);
  feclearexcept(FE_ALL_EXCEPT);

  fesetround(FE_UPWARD);
  T2(fadd_d, D(1.0), D(0x1p-53), RNE, D(1.0), NX);
#if !(defined(__x86_64__) && defined(__SSE2_MATH__) && !defined(WB_FPU_PORTABLE))
  f = NX; /* the portable fast path checks the host rounding mode */
  check("fadd_d (FE_UPWARD host, NX set)", __LINE__, RNE, wb_fadd_d(D(1.0), D(0x1p-60), RNE, &f), f,
        D(1.0), NX);
#endif
  T2(fadd_d, D(1.0), D(0x1p-54), RMM, D(1.0), NX);
  T2(fadd_d, D(1.0), D(0x1p-53), RMM, D(0x1.0000000000001p0), NX);
  T3(fmadd_d, D(0x1.0000004p0), D(0x1.0000002p0), DZERO, RMM, D(0x1.0000006000001p0), NX);
  T2(fadd_s, S(1.0f), S(0x1p-24f), RMM, S(0x1.000002p0f), NX);
  T2(fadd_d, D(1.0), D(0x1p-53), RTZ, D(1.0), NX);
  if (fegetround() != FE_UPWARD) { /* the x87 mode on x86-64: untouched there */
    printf("FAIL: host rounding mode FE_UPWARD not restored\n");
    failures++;
  }
  fesetround(FE_TONEAREST);

#if defined(__x86_64__) && defined(__SSE2_MATH__) && !defined(WB_FPU_PORTABLE)
  {
    unsigned saved = __builtin_ia32_stmxcsr();
    __builtin_ia32_ldmxcsr(saved | 0x8040u); /* FTZ | DAZ */
    T2(fmul_d, DMINNORM, D(0.5), RNE, 0x0008000000000000ull, 0);
    T2(fadd_d, DMINSUB, DMINSUB, RUP, 2, 0);
    T2(fmul_s, SMINSUB, S(3.0f), RNE, SB(3), 0);
    __builtin_ia32_ldmxcsr(saved | 0x8040u);
    f = NX; /* the fast path must not be fooled either */
    check("fsub_d (FTZ host, fast path)", __LINE__, RNE,
          wb_fsub_d(D(0x1.8p-1022), DMINNORM, RNE, &f), f, 0x0008000000000000ull, NX);
    f = NX;
    check("fmul_d (DAZ host, fast path)", __LINE__, RNE, wb_fmul_d(DMINSUB, D(3.0), RNE, &f), f,
          3, NX);
    /* The MXCSR build leaves the x86-64 default control bits (RNE, masked, no FTZ/DAZ). */
    unsigned now = __builtin_ia32_stmxcsr();
    if ((now & ~0x3fu) != 0x1f80u) {
      printf("FAIL: MXCSR control bits not the default after an operation: %x\n", now);
      failures++;
    }
    __builtin_ia32_ldmxcsr(saved);
  }
#endif
}

int main(void) {
  test_boxing();
  test_nan_and_special();
  test_rounding();
  test_fused();
  test_overflow_underflow();
  test_fp_to_int();
  test_int_to_fp();
  test_fp_fp();
  test_minmax_compare();
  test_sign_class();
  test_fast_path();
  test_host_state();
  if (fegetround() != FE_TONEAREST) {
    printf("FAIL: host rounding mode not restored to round-to-nearest\n");
    failures++;
  }
  printf("%d checks, %d failures\n", checks, failures);
  return failures != 0;
}
