/* fpu.c — the RISC-V F and D instruction semantics declared in fpu.h.
 *
 * This file owns everything about floating-point results and exception flags: NaN boxing of
 * single-precision values, canonical NaNs, the five rounding modes, the fflags bits, and the
 * RISC-V rules that differ from what a host FPU does by itself (saturating float->int
 * conversions, minimumNumber/maximumNumber, quiet/signaling comparisons, fclass).
 *
 * How results are computed:
 *  - add/sub/mul/div/sqrt/fma and fcvt.s.d run on the host FPU: the rounding mode is set,
 *    stale exception flags cleared, the operation done, the flags read back and mapped to the
 *    RISC-V bits, and the host's rounding put back (<fenv.h>: the mode it had; x86-64: the
 *    default control state, round to nearest even). Operands and results pass through
 *    volatile objects so the compiler can neither fold the operation nor move it across the
 *    environment accesses. On x86-64 the MXCSR register is used directly (much cheaper than
 *    the <fenv.h> calls, which also touch the x87 unit); elsewhere, or with
 *    -DWB_FPU_PORTABLE, plain <fenv.h>. Host NaN results are replaced by the canonical NaN;
 *    NaN operands of fma and sqrt are settled before the host sees them.
 *  - In RNE, once the guest's fflags hold NX, operations that can only raise NX skip all of
 *    that and run directly on the host (see "Fast path" below): the common case costs about
 *    as much as the host instruction.
 *  - RMM (round to nearest, ties to max magnitude) has no host equivalent. It differs from
 *    RNE only when the exact result lies exactly halfway between two neighbours and RNE picked
 *    the one nearer zero; the exception flags are always the same (overflow happens at the same
 *    threshold, and with tininess detected after rounding a tie never straddles the smallest
 *    normal). So an RMM operation is done in RNE and, when it was inexact, an exact test decides
 *    whether the result was such a tie; if so the magnitude is bumped by one unit in the last
 *    place. The tests use error-free transformations (see "RMM tie tests" below).
 *  - Conversions between integers and floating point, min/max, comparisons, sign injection
 *    and fclass are done in software on the bits: they are exact, so no host state is involved.
 *
 * Requirements on the host: IEEE 754 binary32/binary64 arithmetic evaluated in its own format
 * (FLT_EVAL_METHOD 0), tininess detected after rounding (x86 SSE, Arm, RISC-V), a correctly
 * rounded fma()/fmaf() (glibc, musl, macOS), no flush-to-zero in the portable build (the x86-64
 * build clears FTZ/DAZ itself), and on x86-64 round to nearest even in MXCSR between calls
 * (the C default; the fast path counts on it). Build with -frounding-math -fno-fast-math
 * -ffp-contract=off (native/CMakeLists.txt does).
 */
/* GCC does not implement this pragma (and warns); -frounding-math is its equivalent. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif
#pragma STDC FENV_ACCESS ON
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "fpu.h"

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if FLT_EVAL_METHOD != 0
#error "fpu.c needs float and double arithmetic evaluated in their own formats (FLT_EVAL_METHOD 0)"
#endif

#if defined(__x86_64__) && defined(__SSE2_MATH__) && !defined(WB_FPU_PORTABLE)
#define WB_FPU_MXCSR 1
#include <xmmintrin.h>
#else
#define WB_FPU_MXCSR 0
#endif

/* ---------------------------------------------------------------------------------------- */
/* Bits, boxing, classification                                                              */
/* ---------------------------------------------------------------------------------------- */

#define F_QNAN 0x7fc00000u
#define D_QNAN 0x7ff8000000000000ull
#define F_SIGN 0x80000000u
#define D_SIGN 0x8000000000000000ull

static inline double d_of(uint64_t v) { double d; memcpy(&d, &v, sizeof d); return d; }
static inline uint64_t d_bits(double d) { uint64_t v; memcpy(&v, &d, sizeof v); return v; }
static inline float f_of(uint32_t v) { float f; memcpy(&f, &v, sizeof f); return f; }
static inline uint32_t f_bits(float f) { uint32_t v; memcpy(&v, &f, sizeof v); return v; }

/* A single-precision operand: properly NaN-boxed or else the canonical NaN. */
static inline uint32_t unbox(uint64_t v) {
  return (v >> 32) == 0xffffffffu ? (uint32_t)v : F_QNAN;
}
static inline uint64_t box(uint32_t v) { return 0xffffffff00000000ull | v; }

static inline int f_isnan(uint32_t v) { return (v & 0x7fffffffu) > 0x7f800000u; }
static inline int d_isnan(uint64_t v) { return (v & ~D_SIGN) > 0x7ff0000000000000ull; }
static inline int f_issnan(uint32_t v) { return f_isnan(v) && !(v & 0x00400000u); }
static inline int d_issnan(uint64_t v) { return d_isnan(v) && !(v & 0x0008000000000000ull); }

/* ---------------------------------------------------------------------------------------- */
/* Host floating-point environment                                                           */
/* ---------------------------------------------------------------------------------------- */
/* fp_enter(st, rm, have) prepares the host for one operation: rounding mode rm (RMM runs as
 * RNE), exceptions masked, no flush-to-zero (x86), and no raised flag that is not already in
 * `have` (the caller's fflags). fp_flags() then returns the host's flags as RISC-V bits, and
 * fp_exit() puts the host's rounding mode back. The operation between fp_enter and fp_flags
 * must read its operands from and write its result to volatile objects. Between fp_flags and
 * fp_exit the host still rounds as set up (RNE for RMM), which the RMM tie tests rely on.
 *
 * Flags are sticky on both sides, so a host flag that the guest's fflags already hold may stay
 * raised: reporting it again changes nothing. That keeps the usual case (RNE, host flags a
 * subset of the guest's) free of writes to the FPU state in the portable path, and free of
 * reads before the operation in the MXCSR path. Callers should pass the guest's own fflags
 * (not a zeroed temporary) to get this. */

#if WB_FPU_MXCSR
/* MXCSR: flags IE=bit0 DE=1 ZE=2 OE=3 UE=4 PE=5, DAZ=6, masks=bits 7-12, RC=bits 13-14
 * (0 RNE, 1 RDN, 2 RUP, 3 RTZ), FTZ=15. The register is written, never read, on the way in:
 * on some cores (measured on AMD EPYC) reading it before the operation costs more than the
 * whole write. So the control bits are set to the x86-64 default (all exceptions masked, no
 * DAZ/FTZ) with the wanted rounding, and the flags to exactly the guest's: sticky flags the
 * guest already has can be reported again at no harm. The host is left with the default
 * control bits (0x1f80) afterwards. */
typedef struct { int directed; } fp_state;
enum { MX_DEFAULT = 0x1f80 };
static const unsigned mxcsr_rc[5] = { 0u << 13, 3u << 13, 1u << 13, 2u << 13, 0u << 13 };

static inline void fp_enter(fp_state *st, int rm, uint32_t have) {
  st->directed = rm != WB_RM_RNE && rm != WB_RM_RMM;
  _mm_setcsr(MX_DEFAULT | mxcsr_rc[rm] | (have & WB_FF_NX ? 0x20u : 0) |
             (have & WB_FF_UF ? 0x10u : 0) | (have & WB_FF_OF ? 0x08u : 0) |
             (have & WB_FF_DZ ? 0x04u : 0) | (have & WB_FF_NV ? 0x01u : 0));
}
static inline uint32_t fp_flags(fp_state *st) {
  (void)st;
  unsigned c = _mm_getcsr();
  return ((c >> 5) & 1u) * WB_FF_NX | ((c >> 4) & 1u) * WB_FF_UF | ((c >> 3) & 1u) * WB_FF_OF |
         ((c >> 2) & 1u) * WB_FF_DZ | (c & 1u) * WB_FF_NV;
}
static inline void fp_exit(fp_state *st) {
  if (st->directed) _mm_setcsr(MX_DEFAULT);
}
#else
/* Portable <fenv.h>. */
typedef struct { int saved, restore; } fp_state;
static const int fe_round[5] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD,
                                 FE_TONEAREST };

static inline int fe_of_rv(uint32_t f) {
  return (f & WB_FF_NX ? FE_INEXACT : 0) | (f & WB_FF_UF ? FE_UNDERFLOW : 0) |
         (f & WB_FF_OF ? FE_OVERFLOW : 0) | (f & WB_FF_DZ ? FE_DIVBYZERO : 0) |
         (f & WB_FF_NV ? FE_INVALID : 0);
}
static inline void fp_enter(fp_state *st, int rm, uint32_t have) {
  int stale = fetestexcept(FE_ALL_EXCEPT) & ~fe_of_rv(have);
  if (stale) feclearexcept(stale);
  st->saved = fegetround();
  st->restore = st->saved != fe_round[rm];
  if (st->restore) fesetround(fe_round[rm]);
}
static inline uint32_t fp_flags(fp_state *st) {
  (void)st;
  int ex = fetestexcept(FE_ALL_EXCEPT);
  uint32_t f = 0;
  if (ex & FE_INEXACT) f |= WB_FF_NX;
  if (ex & FE_UNDERFLOW) f |= WB_FF_UF;
  if (ex & FE_OVERFLOW) f |= WB_FF_OF;
  if (ex & FE_DIVBYZERO) f |= WB_FF_DZ;
  if (ex & FE_INVALID) f |= WB_FF_NV;
  return f;
}
static inline void fp_exit(fp_state *st) {
  if (st->restore) fesetround(st->saved);
}
#endif

/* Flags a host may keep raised into an operation: RMM needs to see whether this very operation
 * was inexact, so NX is always cleared for it. */
static inline uint32_t have_flags(int rm, uint32_t ff) {
  return rm == WB_RM_RMM ? ff & ~(uint32_t)WB_FF_NX : ff;
}

/* A rounding mode outside 0..4 should never arrive (the caller resolves DYN); use RNE. */
static inline int valid_rm(int rm) { return (unsigned)rm <= WB_RM_RMM ? rm : WB_RM_RNE; }

/* ---------------------------------------------------------------------------------------- */
/* RMM tie tests                                                                             */
/* ---------------------------------------------------------------------------------------- */
/* Each test gets the operands and r, the (finite, inexact) RNE result, and answers whether the
 * exact result x equals r + h, h being half the distance from r to its neighbour away from
 * zero, signed like r (for r = ±0, the sign RNE gave it, which is the sign of x). Only then
 * does RMM differ from RNE: it returns that neighbour. These helpers must run in RNE: they are
 * called between fp_flags and fp_exit, whose flags are no longer looked at. */

/* Knuth's TwoSum: s + e == a + b exactly, s = RN(a + b) (no overflow). */
static inline void two_sum(double a, double b, double *s, double *e) {
  volatile double vs = a + b;
  double ss = vs;
  double bb = ss - a;
  *s = ss;
  *e = (a - (ss - bb)) + (b - bb);
}

/* Whether t[0] + ... + t[n-1] is exactly zero. Shewchuk's Grow-Expansion accumulates the terms
 * into a nonoverlapping expansion, whose sum is zero exactly when all its components are. */
static int exact_sum_is_zero(const double *t, int n) {
  double e[8];
  int m = 0;
  for (int i = 0; i < n; i++) {
    double q = t[i];
    for (int j = 0; j < m; j++) two_sum(q, e[j], &q, &e[j]);
    e[m++] = q;
  }
  for (int j = 0; j < m; j++)
    if (e[j] != 0) return 0;
  return 1;
}

/* Exponent of h (a power of two) for a double result r: ulp(r)/2. */
static inline int d_half_ulp_exp(double r) {
  return fabs(r) < DBL_MIN ? -1075 : ilogb(r) - 53;
}

/* x = a*b + c (c may be 0: a product; b may be 1: a sum). To keep every step exact the
 * operands are scaled so a*b is near 1; cases where that could leave the double range are
 * exactly those where no tie is possible (see the bounds below). */
static int tie_fma_d(double a, double b, double c, double r) {
  if (a == 0 || b == 0) return 0; /* x = c is exact */
  int ea = ilogb(a), eb = ilogb(b), eab = ea + eb; /* 2^eab <= |a*b| < 2^(eab+2) */
  if (c != 0) {
    int ec = ilogb(c);
    /* |a*b| < ulp(c)/8: x lies strictly between c and its nearest midpoint. */
    if (ec > eab + 53 + 4) return 0;
    /* 0 < |c| < half the last bit of a*b: x is not on the grid every midpoint lies on. */
    if (eab > ec + 2 * 53 + 4) return 0;
  } else if (eab < -1080) {
    return 0; /* |x| < 2^-1078, below the smallest midpoint 2^-1075 */
  }
  /* Now x is a multiple of 2^(eab-162) and |x| < 2^(eab+59): everything below fits. */
  double as = scalbn(a, -ea), bs = scalbn(b, -eb);
  double cs = scalbn(c, -eab), rs = scalbn(r, -eab);
  double hs = copysign(scalbn(1.0, d_half_ulp_exp(r) - eab), r);
  volatile double vp = as * bs;
  double p = vp;
  double lo = fma(as, bs, -p); /* exact: as, bs in [1, 2) */
  double t[5] = { p, lo, cs, -rs, -hs };
  return exact_sum_is_zero(t, 5);
}

/* x = a/b. A quotient of two 53-bit numbers never lies halfway between two 53-bit numbers, so
 * ties exist only where the grid is coarser: subnormal results. */
static int tie_div_d(double a, double b, double r) {
  if (!(fabs(r) < DBL_MIN) || a == 0 || isinf(b)) return 0;
  int ea = ilogb(a), eb = ilogb(b), e = ea - eb; /* 2^(e-1) < |x| < 2^(e+1) */
  if (e < -1077) return 0;                      /* |x| < 2^-1076 */
  double as = scalbn(a, -ea), bs = scalbn(b, -eb);
  double rs = scalbn(r, -e);                             /* |r| < 2^-1022, e <= -1021 */
  double hs = copysign(scalbn(1.0, -1075 - e), r);
  /* x == r + h  <=>  as == (rs + hs) * bs */
  volatile double vp = rs * bs;
  double p = vp;
  double lo = fma(rs, bs, -p);
  double t[4] = { p, lo, hs * bs, -as };
  return exact_sum_is_zero(t, 4);
}

/* Single precision: every value involved is exact in double. mid = r + h. */
static inline double f_mid(float r) {
  double h = fabsf(r) < FLT_MIN ? 0x1p-150 : scalbn(1.0, ilogbf(r) - 24);
  return (double)r + copysign(h, (double)r);
}
static int tie_fma_f(float a, float b, float c, float r) {
  double s, e;
  two_sum((double)a * (double)b, (double)c, &s, &e); /* the product is exact */
  return e == 0 && s == f_mid(r);
}
static int tie_div_f(float a, float b, float r) {
  return (double)a == f_mid(r) * (double)b; /* 25 x 24 bits: exact */
}

/* The neighbour of finite r one unit away from zero. */
static inline double d_away(double r) { return d_of(d_bits(r) + 1); }
static inline float f_away(float r) { return f_of(f_bits(r) + 1); }

/* ---------------------------------------------------------------------------------------- */
/* Arithmetic: add, sub, mul, div, sqrt, fused multiply-add                                  */
/* ---------------------------------------------------------------------------------------- */

enum { OP_ADD, OP_MUL, OP_DIV, OP_SQRT, OP_FMA };

/* Fast path (the idea QEMU calls "hardfloat"). When the rounding mode is RNE and the guest's
 * fflags already hold NX, an operation on normal-or-zero operands whose result is normal and
 * above the smallest normal, or an exact zero, can raise nothing but NX: no NaN or infinity
 * goes in, so no NV or DZ; a finite result is no overflow; a result above 2^emin is not tiny.
 * Then the host's default environment gives the right answer and there is no flag bookkeeping
 * at all. Requiring normal operands and results also makes the path immune to a host running
 * with denormals-are-zero or flush-to-zero. It relies on the host rounding to nearest even:
 * checked with fegetround() in the portable build; on x86-64 it is what every MXCSR write here
 * leaves behind (and the C default). Anything else goes the full way. */
static inline int d_normal_or_zero(uint64_t v) {
  uint64_t e = (v >> 52) & 0x7ff;
  return e != 0 ? e != 0x7ff : (v << 1) == 0;
}
static inline int f_normal_or_zero(uint32_t v) {
  uint32_t e = (v >> 23) & 0xff;
  return e != 0 ? e != 0xff : (v << 1) == 0;
}
static inline int fast_path_ok(int rm, uint32_t ff) {
#if WB_FPU_MXCSR
  return rm == WB_RM_RNE && (ff & WB_FF_NX); /* MXCSR is left in RNE (see above) */
#else
  return rm == WB_RM_RNE && (ff & WB_FF_NX) && fegetround() == FE_TONEAREST;
#endif
}

/* The fast path for doubles: 1 and *out set when it applies. */
static inline int fast_d(int op, uint64_t ab, uint64_t bb, uint64_t cb, uint64_t *out) {
  if (!d_normal_or_zero(ab) || (op != OP_SQRT && !d_normal_or_zero(bb)) ||
      (op == OP_FMA && !d_normal_or_zero(cb)))
    return 0;
  double a = d_of(ab), b = d_of(bb), c = d_of(cb), r;
  int exact_zero; /* the operands make a zero result exact */
  switch (op) {
    case OP_ADD: r = a + b; exact_zero = a == -b; break;
    case OP_MUL: r = a * b; exact_zero = a == 0 || b == 0; break;
    case OP_DIV: r = a / b; exact_zero = a == 0; break;
    case OP_SQRT: if (a < 0) return 0; r = sqrt(a); exact_zero = a == 0; break;
    default: r = fma(a, b, c); exact_zero = 0; break;
  }
  double m = fabs(r);
  if (!((m > DBL_MIN && m <= DBL_MAX) || (m == 0 && exact_zero))) return 0;
  *out = d_bits(r);
  return 1;
}
static inline int fast_s(int op, uint32_t ab, uint32_t bb, uint32_t cb, uint64_t *out) {
  if (!f_normal_or_zero(ab) || (op != OP_SQRT && !f_normal_or_zero(bb)) ||
      (op == OP_FMA && !f_normal_or_zero(cb)))
    return 0;
  float a = f_of(ab), b = f_of(bb), c = f_of(cb), r;
  int exact_zero;
  switch (op) {
    case OP_ADD: r = a + b; exact_zero = a == -b; break;
    case OP_MUL: r = a * b; exact_zero = a == 0 || b == 0; break;
    case OP_DIV: r = a / b; exact_zero = a == 0; break;
    case OP_SQRT: if (a < 0) return 0; r = sqrtf(a); exact_zero = a == 0; break;
    default: r = fmaf(a, b, c); exact_zero = 0; break;
  }
  float m = fabsf(r);
  if (!((m > FLT_MIN && m <= FLT_MAX) || (m == 0 && exact_zero))) return 0;
  *out = box(f_bits(r));
  return 1;
}

static uint64_t arith_d(int op, uint64_t ab, uint64_t bb, uint64_t cb, int rm, uint32_t *ff) {
  rm = valid_rm(rm);
  uint64_t fast;
  if (fast_path_ok(rm, *ff) && fast_d(op, ab, bb, cb, &fast)) return fast;
  double a = d_of(ab), b = d_of(bb), c = d_of(cb);
  if (op == OP_FMA) {
    /* NaN operands and inf*0 are settled here: NV for inf*0 even when c is a quiet NaN. */
    int inf_zero = (isinf(a) && b == 0) || (a == 0 && isinf(b));
    if (inf_zero || d_isnan(ab) || d_isnan(bb) || d_isnan(cb)) {
      if (inf_zero || d_issnan(ab) || d_issnan(bb) || d_issnan(cb)) *ff |= WB_FF_NV;
      return D_QNAN;
    }
  } else if (op == OP_SQRT) {
    if (d_isnan(ab) || (a < 0)) {
      if (!d_isnan(ab) || d_issnan(ab)) *ff |= WB_FF_NV;
      return D_QNAN;
    }
  }
  volatile double va = a, vb = b, vc = c;
  volatile double vr;
  fp_state st;
  fp_enter(&st, rm, have_flags(rm, *ff));
  switch (op) {
    case OP_ADD: vr = va + vb; break;
    case OP_MUL: vr = va * vb; break;
    case OP_DIV: vr = va / vb; break;
    case OP_SQRT: vr = sqrt(va); break;
    default: vr = fma(va, vb, vc); break;
  }
  uint32_t fl = fp_flags(&st);
  double r = vr;
  *ff |= fl;
  if (isnan(r)) r = d_of(D_QNAN);
  else if (rm == WB_RM_RMM && (fl & WB_FF_NX) && isfinite(r)) {
    int tie = 0;
    switch (op) {
      case OP_ADD: tie = tie_fma_d(a, 1.0, b, r); break;
      case OP_MUL: tie = tie_fma_d(a, b, 0.0, r); break;
      case OP_DIV: tie = tie_div_d(a, b, r); break;
      case OP_FMA: tie = tie_fma_d(a, b, c, r); break;
      default: break; /* a square root is never exactly halfway */
    }
    if (tie) r = d_away(r);
  }
  fp_exit(&st);
  return d_bits(r);
}

static uint64_t arith_s(int op, uint64_t ar, uint64_t br, uint64_t cr, int rm, uint32_t *ff) {
  rm = valid_rm(rm);
  uint32_t ab = unbox(ar), bb = unbox(br), cb = unbox(cr);
  uint64_t fast;
  if (fast_path_ok(rm, *ff) && fast_s(op, ab, bb, cb, &fast)) return fast;
  float a = f_of(ab), b = f_of(bb), c = f_of(cb);
  if (op == OP_FMA) {
    int inf_zero = (isinf(a) && b == 0) || (a == 0 && isinf(b));
    if (inf_zero || f_isnan(ab) || f_isnan(bb) || f_isnan(cb)) {
      if (inf_zero || f_issnan(ab) || f_issnan(bb) || f_issnan(cb)) *ff |= WB_FF_NV;
      return box(F_QNAN);
    }
  } else if (op == OP_SQRT) {
    if (f_isnan(ab) || (a < 0)) {
      if (!f_isnan(ab) || f_issnan(ab)) *ff |= WB_FF_NV;
      return box(F_QNAN);
    }
  }
  volatile float va = a, vb = b, vc = c;
  volatile float vr;
  fp_state st;
  fp_enter(&st, rm, have_flags(rm, *ff));
  switch (op) {
    case OP_ADD: vr = va + vb; break;
    case OP_MUL: vr = va * vb; break;
    case OP_DIV: vr = va / vb; break;
    case OP_SQRT: vr = sqrtf(va); break;
    default: vr = fmaf(va, vb, vc); break;
  }
  uint32_t fl = fp_flags(&st);
  float r = vr;
  *ff |= fl;
  if (isnan(r)) r = f_of(F_QNAN);
  else if (rm == WB_RM_RMM && (fl & WB_FF_NX) && isfinite(r)) {
    int tie = 0;
    switch (op) {
      case OP_ADD: tie = tie_fma_f(a, 1.0f, b, r); break;
      case OP_MUL: tie = tie_fma_f(a, b, 0.0f, r); break;
      case OP_DIV: tie = tie_div_f(a, b, r); break;
      case OP_FMA: tie = tie_fma_f(a, b, c, r); break;
      default: break;
    }
    if (tie) r = f_away(r);
  }
  fp_exit(&st);
  return box(f_bits(r));
}

/* Operand sign flips for the subtracting forms. Flipping a NaN's sign keeps it a NaN of the
 * same kind; a single's flip is done after unboxing so a bad box still reads as a NaN. */
static inline uint64_t same(uint64_t v) { return v; }
static inline uint64_t neg_d(uint64_t v) { return v ^ D_SIGN; }
static inline uint64_t neg_s(uint64_t v) { return box(unbox(v) ^ F_SIGN); }

#define DEF_UN(name, impl, op)                                                                  \
  uint64_t wb_##name(uint64_t a, int rm, uint32_t *ff) { return impl(op, a, 0, 0, rm, ff); }
#define DEF_BIN(name, impl, op, fb)                                                             \
  uint64_t wb_##name(uint64_t a, uint64_t b, int rm, uint32_t *ff) {                            \
    return impl(op, a, fb(b), 0, rm, ff);                                                       \
  }
/* fused forms: the product's sign flip goes on a, the addend's on c */
#define DEF_FMA(name, impl, fa, fc)                                                             \
  uint64_t wb_##name(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff) {                \
    return impl(OP_FMA, fa(a), b, fc(c), rm, ff);                                               \
  }

DEF_BIN(fadd_d, arith_d, OP_ADD, same)
DEF_BIN(fsub_d, arith_d, OP_ADD, neg_d)
DEF_BIN(fmul_d, arith_d, OP_MUL, same)
DEF_BIN(fdiv_d, arith_d, OP_DIV, same)
DEF_UN(fsqrt_d, arith_d, OP_SQRT)
DEF_BIN(fadd_s, arith_s, OP_ADD, same)
DEF_BIN(fsub_s, arith_s, OP_ADD, neg_s)
DEF_BIN(fmul_s, arith_s, OP_MUL, same)
DEF_BIN(fdiv_s, arith_s, OP_DIV, same)
DEF_UN(fsqrt_s, arith_s, OP_SQRT)

/* fmadd = a*b+c, fmsub = a*b-c, fnmsub = -(a*b)+c, fnmadd = -(a*b)-c */
DEF_FMA(fmadd_d, arith_d, same, same)
DEF_FMA(fmsub_d, arith_d, same, neg_d)
DEF_FMA(fnmsub_d, arith_d, neg_d, same)
DEF_FMA(fnmadd_d, arith_d, neg_d, neg_d)
DEF_FMA(fmadd_s, arith_s, same, same)
DEF_FMA(fmsub_s, arith_s, same, neg_s)
DEF_FMA(fnmsub_s, arith_s, neg_s, same)
DEF_FMA(fnmadd_s, arith_s, neg_s, neg_s)

/* ---------------------------------------------------------------------------------------- */
/* Min/max and comparisons                                                                   */
/* ---------------------------------------------------------------------------------------- */
/* minimumNumber/maximumNumber: a NaN operand is ignored unless both are NaN (then the
 * canonical NaN); NV when either is signaling; -0 counts as less than +0. */

static uint64_t minmax_d(uint64_t a, uint64_t b, int want_max, uint32_t *ff) {
  if (d_issnan(a) || d_issnan(b)) *ff |= WB_FF_NV;
  if (d_isnan(a)) return d_isnan(b) ? D_QNAN : b;
  if (d_isnan(b)) return a;
  double x = d_of(a), y = d_of(b);
  if (x == y) return ((a & D_SIGN) != 0) != want_max ? a : b; /* equal, or +0 vs -0 */
  return (x < y) != want_max ? a : b;
}
static uint64_t minmax_s(uint64_t ar, uint64_t br, int want_max, uint32_t *ff) {
  uint32_t a = unbox(ar), b = unbox(br);
  if (f_issnan(a) || f_issnan(b)) *ff |= WB_FF_NV;
  if (f_isnan(a)) return box(f_isnan(b) ? F_QNAN : b);
  if (f_isnan(b)) return box(a);
  float x = f_of(a), y = f_of(b);
  if (x == y) return box(((a & F_SIGN) != 0) != want_max ? a : b);
  return box((x < y) != want_max ? a : b);
}

uint64_t wb_fmin_d(uint64_t a, uint64_t b, uint32_t *ff) { return minmax_d(a, b, 0, ff); }
uint64_t wb_fmax_d(uint64_t a, uint64_t b, uint32_t *ff) { return minmax_d(a, b, 1, ff); }
uint64_t wb_fmin_s(uint64_t a, uint64_t b, uint32_t *ff) { return minmax_s(a, b, 0, ff); }
uint64_t wb_fmax_s(uint64_t a, uint64_t b, uint32_t *ff) { return minmax_s(a, b, 1, ff); }

/* feq is quiet (NV only for a signaling NaN); flt and fle signal on any NaN. Any NaN: 0. */
enum { CMP_EQ, CMP_LT, CMP_LE };

static uint64_t compare_d(uint64_t a, uint64_t b, int kind, uint32_t *ff) {
  if (d_isnan(a) || d_isnan(b)) {
    if (kind != CMP_EQ || d_issnan(a) || d_issnan(b)) *ff |= WB_FF_NV;
    return 0;
  }
  double x = d_of(a), y = d_of(b);
  return kind == CMP_EQ ? x == y : kind == CMP_LT ? x < y : x <= y;
}
static uint64_t compare_s(uint64_t ar, uint64_t br, int kind, uint32_t *ff) {
  uint32_t a = unbox(ar), b = unbox(br);
  if (f_isnan(a) || f_isnan(b)) {
    if (kind != CMP_EQ || f_issnan(a) || f_issnan(b)) *ff |= WB_FF_NV;
    return 0;
  }
  float x = f_of(a), y = f_of(b);
  return kind == CMP_EQ ? x == y : kind == CMP_LT ? x < y : x <= y;
}

#define DEF_CMP(name, kind)                                                                     \
  uint64_t wb_##name##_d(uint64_t a, uint64_t b, uint32_t *ff) {                                \
    return compare_d(a, b, kind, ff);                                                           \
  }                                                                                             \
  uint64_t wb_##name##_s(uint64_t a, uint64_t b, uint32_t *ff) {                                \
    return compare_s(a, b, kind, ff);                                                           \
  }
DEF_CMP(feq, CMP_EQ)
DEF_CMP(flt, CMP_LT)
DEF_CMP(fle, CMP_LE)

/* ---------------------------------------------------------------------------------------- */
/* Sign injection and fclass                                                                 */
/* ---------------------------------------------------------------------------------------- */

uint64_t wb_fsgnj_s(uint64_t a, uint64_t b) {
  return box((unbox(a) & ~F_SIGN) | (unbox(b) & F_SIGN));
}
uint64_t wb_fsgnjn_s(uint64_t a, uint64_t b) {
  return box((unbox(a) & ~F_SIGN) | (~unbox(b) & F_SIGN));
}
uint64_t wb_fsgnjx_s(uint64_t a, uint64_t b) { return box(unbox(a) ^ (unbox(b) & F_SIGN)); }
uint64_t wb_fsgnj_d(uint64_t a, uint64_t b) { return (a & ~D_SIGN) | (b & D_SIGN); }
uint64_t wb_fsgnjn_d(uint64_t a, uint64_t b) { return (a & ~D_SIGN) | (~b & D_SIGN); }
uint64_t wb_fsgnjx_d(uint64_t a, uint64_t b) { return a ^ (b & D_SIGN); }

/* Bits: 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal, 6 +normal, 7 +inf,
 * 8 signaling NaN, 9 quiet NaN. */
static uint64_t classify(int neg, int exp_max, int exp_zero, int mant_zero, int quiet) {
  if (exp_max) return mant_zero ? (neg ? 1u << 0 : 1u << 7) : (quiet ? 1u << 9 : 1u << 8);
  if (exp_zero) return mant_zero ? (neg ? 1u << 3 : 1u << 4) : (neg ? 1u << 2 : 1u << 5);
  return neg ? 1u << 1 : 1u << 6;
}
uint64_t wb_fclass_s(uint64_t ar) {
  uint32_t a = unbox(ar), e = (a >> 23) & 0xff, m = a & 0x7fffff;
  return classify(a >> 31, e == 0xff, e == 0, m == 0, (m >> 22) & 1);
}
uint64_t wb_fclass_d(uint64_t a) {
  uint64_t e = (a >> 52) & 0x7ff, m = a & 0xfffffffffffffull;
  return classify((int)(a >> 63), e == 0x7ff, e == 0, m == 0, (int)((m >> 51) & 1));
}

/* ---------------------------------------------------------------------------------------- */
/* Floating point -> integer                                                                 */
/* ---------------------------------------------------------------------------------------- */
/* The value is rounded to an integer by rm (exact, done here in software), then converted if
 * it fits; otherwise it saturates and only NV is raised. NaN converts like +inf. */

enum { INT_W, INT_WU, INT_L, INT_LU };

/* Round finite x to an integral double by rm; *inexact when that changed it. */
static double round_integral(double x, int rm, int *inexact) {
  *inexact = 0;
  if (!(fabs(x) < 0x1p52)) return x; /* already an integer */
  int64_t i = (int64_t)x;            /* truncation, exact */
  double t = (double)i, f = x - t;   /* |f| < 1, exact */
  if (f == 0) return t;
  *inexact = 1;
  double af = fabs(f);
  int away;
  switch (rm) {
    case WB_RM_RTZ: away = 0; break;
    case WB_RM_RDN: away = x < 0; break;
    case WB_RM_RUP: away = x > 0; break;
    case WB_RM_RMM: away = af >= 0.5; break;
    default: away = af > 0.5 || (af == 0.5 && (i & 1)); break;
  }
  return away ? t + (x < 0 ? -1.0 : 1.0) : t;
}

static uint64_t to_int(double x, int is_nan, int rm, int kind, uint32_t *ff) {
  static const uint64_t max_of[4] = { 0x7fffffffull, 0xffffffffffffffffull, 0x7fffffffffffffffull,
                                      0xffffffffffffffffull };
  static const uint64_t min_of[4] = { 0xffffffff80000000ull, 0, 0x8000000000000000ull, 0 };
  static const double hi_of[4] = { 0x1p31, 0x1p32, 0x1p63, 0x1p64 }; /* first value too big */
  rm = valid_rm(rm);
  if (is_nan) { *ff |= WB_FF_NV; return max_of[kind]; }
  int inexact;
  double r = round_integral(x, rm, &inexact);
  double lo = kind == INT_W ? -0x1p31 : kind == INT_L ? -0x1p63 : 0.0; /* smallest that fits */
  if (r >= hi_of[kind]) { *ff |= WB_FF_NV; return max_of[kind]; }
  if (r < lo) { *ff |= WB_FF_NV; return min_of[kind]; }
  if (inexact) *ff |= WB_FF_NX;
  switch (kind) {
    case INT_W: return (uint64_t)(int64_t)(int32_t)r;
    case INT_WU: return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
    case INT_L: return (uint64_t)(int64_t)r;
    default: return (uint64_t)r;
  }
}

#define CVT_F2I(name, kind)                                                                     \
  uint64_t wb_fcvt_##name##_s(uint64_t a, int rm, uint32_t *ff) {                               \
    uint32_t v = unbox(a);                                                                      \
    return to_int(f_isnan(v) ? 0.0 : (double)f_of(v), f_isnan(v), rm, kind, ff);                \
  }                                                                                             \
  uint64_t wb_fcvt_##name##_d(uint64_t a, int rm, uint32_t *ff) {                               \
    return to_int(d_isnan(a) ? 0.0 : d_of(a), d_isnan(a), rm, kind, ff);                        \
  }
CVT_F2I(w, INT_W)
CVT_F2I(wu, INT_WU)
CVT_F2I(l, INT_L)
CVT_F2I(lu, INT_LU)

/* ---------------------------------------------------------------------------------------- */
/* Integer -> floating point                                                                 */
/* ---------------------------------------------------------------------------------------- */
/* Rounded in software: normalise the magnitude, keep `prec` bits, round by rm. Zero is +0.
 * No integer reaches the overflow threshold of either format. Returns the IEEE bits. */

static inline int top_bit(uint64_t m) { /* m != 0 */
#if defined(__GNUC__)
  return 63 - __builtin_clzll(m);
#else
  int n = 0;
  while (m >>= 1) n++;
  return n;
#endif
}

static uint64_t int_to_fp(int neg, uint64_t m, int rm, int prec, int bias, uint32_t *ff) {
  if (m == 0) return 0;
  rm = valid_rm(rm);
  int e = top_bit(m); /* value = m, 2^e <= m < 2^(e+1) */
  uint64_t sig;
  if (e < prec) {
    sig = m << (prec - 1 - e);
  } else {
    int sh = e - (prec - 1);
    sig = m >> sh;
    uint64_t rem = m & ((1ull << sh) - 1), half = 1ull << (sh - 1);
    if (rem) {
      *ff |= WB_FF_NX;
      int up;
      switch (rm) {
        case WB_RM_RTZ: up = 0; break;
        case WB_RM_RDN: up = neg; break;
        case WB_RM_RUP: up = !neg; break;
        case WB_RM_RMM: up = rem >= half; break;
        default: up = rem > half || (rem == half && (sig & 1)); break;
      }
      if (up && ++sig == (1ull << prec)) { sig >>= 1; e++; }
    }
  }
  uint64_t sign = (uint64_t)neg << (prec == 24 ? 31 : 63);
  return sign | ((uint64_t)(e + bias) << (prec - 1)) | (sig & ((1ull << (prec - 1)) - 1));
}

/* Sign and magnitude of the integer operand: .w/.wu read the low 32 bits. */
static inline int sgn_w(uint64_t a) { return (int32_t)(uint32_t)a < 0; }
static inline uint64_t mag_w(uint64_t a) {
  int32_t v = (int32_t)(uint32_t)a;
  return v < 0 ? 0 - (uint64_t)(int64_t)v : (uint64_t)v;
}
static inline int sgn_l(uint64_t a) { return (int64_t)a < 0; }
static inline uint64_t mag_l(uint64_t a) { return sgn_l(a) ? 0 - a : a; }

#define DEF_I2F(name, neg, m)                                                                   \
  uint64_t wb_fcvt_s_##name(uint64_t a, int rm, uint32_t *ff) {                                 \
    return box((uint32_t)int_to_fp(neg, m, rm, 24, 127, ff));                                   \
  }                                                                                             \
  uint64_t wb_fcvt_d_##name(uint64_t a, int rm, uint32_t *ff) {                                 \
    return int_to_fp(neg, m, rm, 53, 1023, ff);                                                 \
  }
DEF_I2F(w, sgn_w(a), mag_w(a))
DEF_I2F(wu, 0, (uint32_t)a)
DEF_I2F(l, sgn_l(a), mag_l(a))
DEF_I2F(lu, 0, a)

/* ---------------------------------------------------------------------------------------- */
/* Single <-> double                                                                         */
/* ---------------------------------------------------------------------------------------- */

uint64_t wb_fcvt_s_d(uint64_t a, int rm, uint32_t *ff) {
  rm = valid_rm(rm);
  if (d_isnan(a)) {
    if (d_issnan(a)) *ff |= WB_FF_NV;
    return box(F_QNAN);
  }
  double d = d_of(a);
  if (fast_path_ok(rm, *ff) && d_normal_or_zero(a)) {
    float r = (float)d, m = fabsf(r); /* see "Fast path" above */
    if ((m > FLT_MIN && m <= FLT_MAX) || d == 0) return box(f_bits(r));
  }
  volatile double vd = d;
  volatile float vr;
  fp_state st;
  fp_enter(&st, rm, have_flags(rm, *ff));
  vr = (float)vd;
  uint32_t fl = fp_flags(&st);
  float r = vr;
  *ff |= fl;
  if (rm == WB_RM_RMM && (fl & WB_FF_NX) && isfinite(r) && d == f_mid(r)) r = f_away(r);
  fp_exit(&st);
  return box(f_bits(r));
}

uint64_t wb_fcvt_d_s(uint64_t a, int rm, uint32_t *ff) {
  (void)rm; /* exact */
  uint32_t v = unbox(a);
  if (f_isnan(v)) {
    if (f_issnan(v)) *ff |= WB_FF_NV;
    return D_QNAN;
  }
  return d_bits((double)f_of(v)); /* exact */
}
