/* fp_call.c — the F/D operations translated code calls directly (no trip through the
 * interpreter): one C entry taking the CPU and the packed instruction fields, dispatching to
 * fpu.c, the same semantics the interpreter's handlers call.
 *
 * Translated code stores any mapped integer source register to cpu.x before the call and
 * reloads an integer destination after it, so this file works on cpu.x / cpu.f only.
 */
#include "jit_internal.h"
#include "decode.h"
#include "fpu.h"

#if WB_HAVE_JIT

/* enc: op (bits 0-7), rd (8-13; an integer rd of x0 comes as the sink, 32), rs1 (14-18),
 * rs2 (19-23), rs3 (24-28), rm (29-31). Returns 0; an invalid rounding mode makes the
 * instruction illegal, and then the interpreter's slow path runs it (and reports it): the
 * return value is then wb_jit_slow's (1: the machine stopped). */
int wb_jit_fp(wb_cpu *c, uint32_t enc, const wb_jit_exit *e) {
  unsigned op = enc & 0xff, rd = (enc >> 8) & 63, rs1 = (enc >> 14) & 31, rs2 = (enc >> 19) & 31,
           rs3 = (enc >> 24) & 31, rm = (enc >> 29) & 7;
  if (rm == WB_RM_DYN) rm = c->frm;
  uint64_t *F = c->f, *X = c->x;
  uint32_t *ff = &c->fflags;
  int r = (int)rm;
  if (rm > 4) goto slow;
  switch (op) {
#define BIN(O, fn) case WB_OP_##O: F[rd] = wb_##fn(F[rs1], F[rs2], r, ff); return 0;
#define TRI(O, fn) case WB_OP_##O: F[rd] = wb_##fn(F[rs1], F[rs2], F[rs3], r, ff); return 0;
#define UN(O, fn) case WB_OP_##O: F[rd] = wb_##fn(F[rs1], r, ff); return 0;
#define TOI(O, fn) case WB_OP_##O: X[rd] = wb_##fn(F[rs1], r, ff); return 0;
#define TOF(O, fn) case WB_OP_##O: F[rd] = wb_##fn(X[rs1], r, ff); return 0;
#define NORM(O, fn) case WB_OP_##O: F[rd] = wb_##fn(F[rs1], F[rs2], ff); return 0;
#define CMP(O, fn) case WB_OP_##O: X[rd] = wb_##fn(F[rs1], F[rs2], ff); return 0;
#define SGN(O, fn) case WB_OP_##O: F[rd] = wb_##fn(F[rs1], F[rs2]); return 0;
    TRI(FMADD_S, fmadd_s) TRI(FMSUB_S, fmsub_s) TRI(FNMSUB_S, fnmsub_s) TRI(FNMADD_S, fnmadd_s)
    BIN(FADD_S, fadd_s) BIN(FSUB_S, fsub_s) BIN(FMUL_S, fmul_s) BIN(FDIV_S, fdiv_s)
    UN(FSQRT_S, fsqrt_s)
    SGN(FSGNJ_S, fsgnj_s) SGN(FSGNJN_S, fsgnjn_s) SGN(FSGNJX_S, fsgnjx_s)
    NORM(FMIN_S, fmin_s) NORM(FMAX_S, fmax_s)
    TOI(FCVT_W_S, fcvt_w_s) TOI(FCVT_WU_S, fcvt_wu_s) TOI(FCVT_L_S, fcvt_l_s) TOI(FCVT_LU_S, fcvt_lu_s)
    CMP(FEQ_S, feq_s) CMP(FLT_S, flt_s) CMP(FLE_S, fle_s)
    case WB_OP_FCLASS_S: X[rd] = wb_fclass_s(F[rs1]); return 0;
    TOF(FCVT_S_W, fcvt_s_w) TOF(FCVT_S_WU, fcvt_s_wu) TOF(FCVT_S_L, fcvt_s_l) TOF(FCVT_S_LU, fcvt_s_lu)
    TRI(FMADD_D, fmadd_d) TRI(FMSUB_D, fmsub_d) TRI(FNMSUB_D, fnmsub_d) TRI(FNMADD_D, fnmadd_d)
    BIN(FADD_D, fadd_d) BIN(FSUB_D, fsub_d) BIN(FMUL_D, fmul_d) BIN(FDIV_D, fdiv_d)
    UN(FSQRT_D, fsqrt_d)
    SGN(FSGNJ_D, fsgnj_d) SGN(FSGNJN_D, fsgnjn_d) SGN(FSGNJX_D, fsgnjx_d)
    NORM(FMIN_D, fmin_d) NORM(FMAX_D, fmax_d)
    UN(FCVT_S_D, fcvt_s_d) UN(FCVT_D_S, fcvt_d_s)
    CMP(FEQ_D, feq_d) CMP(FLT_D, flt_d) CMP(FLE_D, fle_d)
    case WB_OP_FCLASS_D: X[rd] = wb_fclass_d(F[rs1]); return 0;
    TOI(FCVT_W_D, fcvt_w_d) TOI(FCVT_WU_D, fcvt_wu_d) TOI(FCVT_L_D, fcvt_l_d) TOI(FCVT_LU_D, fcvt_lu_d)
    TOF(FCVT_D_W, fcvt_d_w) TOF(FCVT_D_WU, fcvt_d_wu) TOF(FCVT_D_L, fcvt_d_l) TOF(FCVT_D_LU, fcvt_d_lu)
#undef BIN
#undef TRI
#undef UN
#undef TOI
#undef TOF
#undef NORM
#undef CMP
#undef SGN
    default: break;
  }
slow:
  /* wb_cpu is the first member of the machine */
  return wb_jit_slow((wb_machine *)(void *)((char *)c - offsetof(wb_machine, cpu)), e);
}

#endif
