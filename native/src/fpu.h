/* fpu.h — the RISC-V F and D semantics, as plain functions over register bits.
 *
 * Every function takes and returns raw FP register contents (uint64_t). Single-precision
 * inputs are unboxed here: a value whose upper 32 bits are not all ones reads as the canonical
 * NaN (0x7fc00000). Single-precision results are returned NaN-boxed (upper 32 bits all ones).
 * Arithmetic results that are NaN are the canonical NaN (0x7fc00000 / 0x7ff8000000000000).
 *
 * `rm` is an already-resolved rounding mode: 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM. The caller
 * resolves 7 (dynamic) through frm and treats 5, 6 (or an invalid frm) as an illegal
 * instruction before calling. Exception flags raised by the operation are OR-ed into *fflags
 * (bit 0 NX inexact, 1 UF underflow, 2 OF overflow, 3 DZ divide by zero, 4 NV invalid).
 *
 * Conversions to integers saturate as the spec's table says (NaN -> max positive) and raise NV
 * when out of range; 32-bit integer results are returned sign-extended to 64 bits (also for the
 * .wu forms, as the ISA requires). Comparisons return 0 or 1. fclass returns the 10-bit mask.
 */
#ifndef WB_FPU_H
#define WB_FPU_H
#include <stdint.h>

enum { WB_FF_NX = 1, WB_FF_UF = 2, WB_FF_OF = 4, WB_FF_DZ = 8, WB_FF_NV = 16 };
enum { WB_RM_RNE = 0, WB_RM_RTZ = 1, WB_RM_RDN = 2, WB_RM_RUP = 3, WB_RM_RMM = 4, WB_RM_DYN = 7 };

#define WB_FPU_BIN(name) uint64_t wb_##name(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
#define WB_FPU_TRI(name) uint64_t wb_##name(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fflags);
#define WB_FPU_UN(name)  uint64_t wb_##name(uint64_t a, int rm, uint32_t *fflags);
#define WB_FPU_NORM(name) uint64_t wb_##name(uint64_t a, uint64_t b, uint32_t *fflags);

/* arithmetic: fadd/fsub/fmul/fdiv(a, b), fsqrt(a) */
WB_FPU_BIN(fadd_s) WB_FPU_BIN(fsub_s) WB_FPU_BIN(fmul_s) WB_FPU_BIN(fdiv_s) WB_FPU_UN(fsqrt_s)
WB_FPU_BIN(fadd_d) WB_FPU_BIN(fsub_d) WB_FPU_BIN(fmul_d) WB_FPU_BIN(fdiv_d) WB_FPU_UN(fsqrt_d)
/* fused: fmadd = a*b+c, fmsub = a*b-c, fnmsub = -(a*b)+c, fnmadd = -(a*b)-c (single rounding) */
WB_FPU_TRI(fmadd_s) WB_FPU_TRI(fmsub_s) WB_FPU_TRI(fnmsub_s) WB_FPU_TRI(fnmadd_s)
WB_FPU_TRI(fmadd_d) WB_FPU_TRI(fmsub_d) WB_FPU_TRI(fnmsub_d) WB_FPU_TRI(fnmadd_d)
/* min/max (IEEE 754-2019 minimumNumber/maximumNumber; -0 < +0; NV on signaling NaN input;
 * both NaN -> canonical NaN), comparisons (feq quiet: NV only on sNaN; flt/fle signaling: NV on
 * any NaN) */
WB_FPU_NORM(fmin_s) WB_FPU_NORM(fmax_s) WB_FPU_NORM(feq_s) WB_FPU_NORM(flt_s) WB_FPU_NORM(fle_s)
WB_FPU_NORM(fmin_d) WB_FPU_NORM(fmax_d) WB_FPU_NORM(feq_d) WB_FPU_NORM(flt_d) WB_FPU_NORM(fle_d)
/* sign injection (no flags; single inputs are unboxed first, result boxed) */
uint64_t wb_fsgnj_s(uint64_t a, uint64_t b);  uint64_t wb_fsgnjn_s(uint64_t a, uint64_t b);
uint64_t wb_fsgnjx_s(uint64_t a, uint64_t b); uint64_t wb_fsgnj_d(uint64_t a, uint64_t b);
uint64_t wb_fsgnjn_d(uint64_t a, uint64_t b); uint64_t wb_fsgnjx_d(uint64_t a, uint64_t b);
uint64_t wb_fclass_s(uint64_t a);             uint64_t wb_fclass_d(uint64_t a);
/* fp -> int (a is an FP register), result is the integer register value */
WB_FPU_UN(fcvt_w_s) WB_FPU_UN(fcvt_wu_s) WB_FPU_UN(fcvt_l_s) WB_FPU_UN(fcvt_lu_s)
WB_FPU_UN(fcvt_w_d) WB_FPU_UN(fcvt_wu_d) WB_FPU_UN(fcvt_l_d) WB_FPU_UN(fcvt_lu_d)
/* int -> fp (a is an integer register value; .w/.wu use its low 32 bits) */
WB_FPU_UN(fcvt_s_w) WB_FPU_UN(fcvt_s_wu) WB_FPU_UN(fcvt_s_l) WB_FPU_UN(fcvt_s_lu)
WB_FPU_UN(fcvt_d_w) WB_FPU_UN(fcvt_d_wu) WB_FPU_UN(fcvt_d_l) WB_FPU_UN(fcvt_d_lu)
/* fp <-> fp */
WB_FPU_UN(fcvt_s_d) WB_FPU_UN(fcvt_d_s)

/* moves: fmv.x.w sign-extends the low 32 bits (no unboxing); fmv.w.x boxes. */
static inline uint64_t wb_fmv_x_w(uint64_t f) { return (uint64_t)(int64_t)(int32_t)(uint32_t)f; }
static inline uint64_t wb_fmv_w_x(uint64_t x) { return 0xffffffff00000000ull | (uint32_t)x; }
static inline uint64_t wb_box_s(uint32_t v) { return 0xffffffff00000000ull | v; }

#undef WB_FPU_BIN
#undef WB_FPU_TRI
#undef WB_FPU_UN
#undef WB_FPU_NORM
#endif
