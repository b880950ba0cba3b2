/* decode.c — the RV64GC instruction decoder: raw encodings (32-bit, and 16-bit compressed)
 * to wb_insn (see decode.h for the field conventions).
 *
 * The decoder is described as data, in the spirit of QEMU's decodetree:
 *
 *  - 32-bit instructions: one pattern table per major opcode (bits 6:0), each entry
 *    {mask, match, op, fields}. An encoding is legal when (raw & mask) == match for some entry
 *    of its opcode's table; `fields` says which operand fields to extract. The masks are exact
 *    (funct3/funct7/funct6/funct5/fmt/rs2 fixed where the ISA fixes them), so anything not
 *    listed is ILLEGAL.
 *  - 16-bit instructions: one table of {mask, match, op, form, check}, scanned in order (first
 *    match wins; more specific entries come first). `form` says how the compressed fields
 *    expand into the base instruction's operands, `check` names the reserved-encoding rule
 *    (e.g. nzimm must be non-zero) that makes an otherwise-matching encoding ILLEGAL.
 *
 * Deliberate choices (all per the unprivileged spec):
 *  - FENCE ignores fm, rd and rs1 (reserved configurations behave as a normal fence);
 *    FENCE.I ignores imm, rs1 and rd. Both only need their funct3.
 *  - FP rounding modes 5 and 6 decode normally (kept in `rm`); the executor rejects them.
 *  - Compressed HINT encodings (c.nop with imm != 0, c.addi with imm = 0, c.li/c.lui/c.mv/
 *    c.add/c.slli with rd = 0, shifts by 0) decode as the ordinary base instruction.
 */
#include <string.h>
#include "decode.h"

/* ---- field extraction helpers ------------------------------------------------------------- */

static inline uint32_t bits(uint32_t x, unsigned hi, unsigned lo) {
  return (x >> lo) & ((1u << (hi - lo + 1)) - 1u);
}

/* Sign-extend the low `n` bits of v. */
static inline int64_t sext(uint32_t v, unsigned n) {
  uint64_t m = 1ull << (n - 1);
  uint64_t x = (uint64_t)v & ((m << 1) - 1);
  return (int64_t)(x ^ m) - (int64_t)m;
}

static inline uint8_t f_rd(uint32_t r) { return (uint8_t)bits(r, 11, 7); }
static inline uint8_t f_rs1(uint32_t r) { return (uint8_t)bits(r, 19, 15); }
static inline uint8_t f_rs2(uint32_t r) { return (uint8_t)bits(r, 24, 20); }
static inline uint8_t f_rs3(uint32_t r) { return (uint8_t)bits(r, 31, 27); }
static inline uint8_t f_rm(uint32_t r) { return (uint8_t)bits(r, 14, 12); }
static inline uint8_t f_aqrl(uint32_t r) { return (uint8_t)bits(r, 26, 25); }

static int64_t imm_i(uint32_t r) { return sext(bits(r, 31, 20), 12); }
static int64_t imm_s(uint32_t r) { return sext(bits(r, 31, 25) << 5 | bits(r, 11, 7), 12); }
static int64_t imm_b(uint32_t r) {
  return sext(bits(r, 31, 31) << 12 | bits(r, 7, 7) << 11 | bits(r, 30, 25) << 5 |
              bits(r, 11, 8) << 1, 13);
}
static int64_t imm_u(uint32_t r) { return sext(r & 0xfffff000u, 32); }
static int64_t imm_j(uint32_t r) {
  return sext(bits(r, 31, 31) << 20 | bits(r, 19, 12) << 12 | bits(r, 20, 20) << 11 |
              bits(r, 30, 21) << 1, 21);
}

/* ---- 32-bit patterns ---------------------------------------------------------------------- */

/* Which operand fields a 32-bit pattern carries. */
enum fields {
  F_NONE,  /* no operands (ecall, fence.i, ...) */
  F_R,     /* rd, rs1, rs2 */
  F_R1,    /* rd, rs1 (rs2 is part of the opcode): fmv, fclass */
  F_RM,    /* rd, rs1, rs2, rm */
  F_RM1,   /* rd, rs1, rm (rs2 is part of the opcode): fsqrt, fcvt */
  F_R4,    /* rd, rs1, rs2, rs3, rm */
  F_I,     /* rd, rs1, imm (I-type) */
  F_S,     /* rs1, rs2, imm (S-type) */
  F_B,     /* rs1, rs2, imm (B-type) */
  F_U,     /* rd, imm (U-type, full value) */
  F_J,     /* rd, imm (J-type) */
  F_SH,    /* rd, rs1, imm = shamt (bits 25:20; the W forms fix bit 25 = 0 in their mask) */
  F_CSR,   /* rd, rs1 (register or uimm), imm = csr number (unsigned) */
  F_AMO,   /* rd, rs1, rs2, rm = aq:rl */
  F_FENCE, /* imm = bits 31:20 (fm, pred, succ), unsigned */
  F_SFENCE, /* rs1, rs2 */
  F_WP     /* rd, rs1, rs2, imm = funct7 (the watch flags) */
};

typedef struct pat32 {
  uint32_t mask, match;
  uint16_t op;
  uint8_t fields;
} pat32;

/* Encoding pieces. */
#define F3(v) ((uint32_t)(v) << 12)
#define F7(v) ((uint32_t)(v) << 25)
#define F6(v) ((uint32_t)(v) << 26)
#define F5(v) ((uint32_t)(v) << 27)
#define FMT(v) ((uint32_t)(v) << 25)
#define RS2(v) ((uint32_t)(v) << 20)

/* Masks: which bits a pattern fixes. */
#define M_OPC 0x0000007fu        /* opcode only (lui, auipc, jal) */
#define M_F3 0x0000707fu         /* + funct3 */
#define M_F6F3 0xfc00707fu       /* + funct6 (RV64 shifts by imm) */
#define M_F7F3 0xfe00707fu       /* + funct7 */
#define M_F7 0xfe00007fu         /* opcode + funct7 (FP ops with rm in funct3) */
#define M_F7RS2 0xfff0007fu      /* + rs2 (single-source FP ops with rm) */
#define M_F7RS2F3 0xfff0707fu    /* + rs2 + funct3 (fmv, fclass) */
#define M_FMT 0x0600007fu        /* opcode + fmt (fused multiply-add) */
#define M_AMO 0xf800707fu        /* opcode + funct3 + funct5 */
#define M_LR 0xf9f0707fu         /* + rs2 = 0 */
#define M_ALL 0xffffffffu        /* every bit (ecall, mret, ...) */
#define M_SFENCE 0xfe007fffu     /* funct7 + rd + funct3 */

#define P(mask, match, op, f) {(mask), (match), WB_OP_##op, F_##f}

enum {
  OPC_LOAD = 0x03, OPC_LOAD_FP = 0x07, OPC_MISC_MEM = 0x0f, OPC_OP_IMM = 0x13, OPC_AUIPC = 0x17,
  OPC_OP_IMM_32 = 0x1b, OPC_STORE = 0x23, OPC_STORE_FP = 0x27, OPC_AMO = 0x2f, OPC_OP = 0x33,
  OPC_LUI = 0x37, OPC_OP_32 = 0x3b, OPC_MADD = 0x43, OPC_MSUB = 0x47, OPC_NMSUB = 0x4b,
  OPC_NMADD = 0x4f, OPC_OP_FP = 0x53, OPC_BRANCH = 0x63, OPC_JALR = 0x67, OPC_JAL = 0x6f,
  OPC_SYSTEM = 0x73, OPC_CUSTOM0 = 0x0b
};

static const pat32 t_load[] = {
  P(M_F3, F3(0) | OPC_LOAD, LB, I),  P(M_F3, F3(1) | OPC_LOAD, LH, I),
  P(M_F3, F3(2) | OPC_LOAD, LW, I),  P(M_F3, F3(3) | OPC_LOAD, LD, I),
  P(M_F3, F3(4) | OPC_LOAD, LBU, I), P(M_F3, F3(5) | OPC_LOAD, LHU, I),
  P(M_F3, F3(6) | OPC_LOAD, LWU, I),
};

static const pat32 t_load_fp[] = {
  P(M_F3, F3(2) | OPC_LOAD_FP, FLW, I), P(M_F3, F3(3) | OPC_LOAD_FP, FLD, I),
};

static const pat32 t_misc_mem[] = {
  P(M_F3, F3(0) | OPC_MISC_MEM, FENCE, FENCE), P(M_F3, F3(1) | OPC_MISC_MEM, FENCE_I, NONE),
};

/* custom-0: the watchpoint unit's wp.set (funct3 0) and wp.clear (funct3 1), R-type with the
 * watch flags in funct7: 1 read, 2 write, 3 both (docs/watchpoints.md) */
static const pat32 t_custom0[] = {
  P(M_F7F3, F7(1) | F3(0) | OPC_CUSTOM0, WP_SET, WP),   P(M_F7F3, F7(2) | F3(0) | OPC_CUSTOM0, WP_SET, WP),
  P(M_F7F3, F7(3) | F3(0) | OPC_CUSTOM0, WP_SET, WP),   P(M_F7F3, F7(1) | F3(1) | OPC_CUSTOM0, WP_CLEAR, WP),
  P(M_F7F3, F7(2) | F3(1) | OPC_CUSTOM0, WP_CLEAR, WP), P(M_F7F3, F7(3) | F3(1) | OPC_CUSTOM0, WP_CLEAR, WP),
};

static const pat32 t_op_imm[] = {
  P(M_F3, F3(0) | OPC_OP_IMM, ADDI, I),  P(M_F3, F3(2) | OPC_OP_IMM, SLTI, I),
  P(M_F3, F3(3) | OPC_OP_IMM, SLTIU, I), P(M_F3, F3(4) | OPC_OP_IMM, XORI, I),
  P(M_F3, F3(6) | OPC_OP_IMM, ORI, I),   P(M_F3, F3(7) | OPC_OP_IMM, ANDI, I),
  P(M_F6F3, F6(0x00) | F3(1) | OPC_OP_IMM, SLLI, SH),
  P(M_F6F3, F6(0x00) | F3(5) | OPC_OP_IMM, SRLI, SH),
  P(M_F6F3, F6(0x10) | F3(5) | OPC_OP_IMM, SRAI, SH),
};

static const pat32 t_auipc[] = { P(M_OPC, OPC_AUIPC, AUIPC, U) };

static const pat32 t_op_imm_32[] = {
  P(M_F3, F3(0) | OPC_OP_IMM_32, ADDIW, I),
  P(M_F7F3, F7(0x00) | F3(1) | OPC_OP_IMM_32, SLLIW, SH),
  P(M_F7F3, F7(0x00) | F3(5) | OPC_OP_IMM_32, SRLIW, SH),
  P(M_F7F3, F7(0x20) | F3(5) | OPC_OP_IMM_32, SRAIW, SH),
};

static const pat32 t_store[] = {
  P(M_F3, F3(0) | OPC_STORE, SB, S), P(M_F3, F3(1) | OPC_STORE, SH, S),
  P(M_F3, F3(2) | OPC_STORE, SW, S), P(M_F3, F3(3) | OPC_STORE, SD, S),
};

static const pat32 t_store_fp[] = {
  P(M_F3, F3(2) | OPC_STORE_FP, FSW, S), P(M_F3, F3(3) | OPC_STORE_FP, FSD, S),
};

#define AMO_W(f5, op) P(M_AMO, F5(f5) | F3(2) | OPC_AMO, op, AMO)
#define AMO_D(f5, op) P(M_AMO, F5(f5) | F3(3) | OPC_AMO, op, AMO)
static const pat32 t_amo[] = {
  P(M_LR, F5(0x02) | F3(2) | OPC_AMO, LR_W, AMO),
  AMO_W(0x03, SC_W),      AMO_W(0x01, AMOSWAP_W), AMO_W(0x00, AMOADD_W), AMO_W(0x04, AMOXOR_W),
  AMO_W(0x0c, AMOAND_W),  AMO_W(0x08, AMOOR_W),   AMO_W(0x10, AMOMIN_W), AMO_W(0x14, AMOMAX_W),
  AMO_W(0x18, AMOMINU_W), AMO_W(0x1c, AMOMAXU_W),
  P(M_LR, F5(0x02) | F3(3) | OPC_AMO, LR_D, AMO),
  AMO_D(0x03, SC_D),      AMO_D(0x01, AMOSWAP_D), AMO_D(0x00, AMOADD_D), AMO_D(0x04, AMOXOR_D),
  AMO_D(0x0c, AMOAND_D),  AMO_D(0x08, AMOOR_D),   AMO_D(0x10, AMOMIN_D), AMO_D(0x14, AMOMAX_D),
  AMO_D(0x18, AMOMINU_D), AMO_D(0x1c, AMOMAXU_D),
};
#undef AMO_W
#undef AMO_D

#define ROP(f7, f3, op) P(M_F7F3, F7(f7) | F3(f3) | OPC_OP, op, R)
static const pat32 t_op[] = {
  ROP(0x00, 0, ADD),  ROP(0x20, 0, SUB), ROP(0x00, 1, SLL), ROP(0x00, 2, SLT),
  ROP(0x00, 3, SLTU), ROP(0x00, 4, XOR), ROP(0x00, 5, SRL), ROP(0x20, 5, SRA),
  ROP(0x00, 6, OR),   ROP(0x00, 7, AND),
  ROP(0x01, 0, MUL),  ROP(0x01, 1, MULH), ROP(0x01, 2, MULHSU), ROP(0x01, 3, MULHU),
  ROP(0x01, 4, DIV),  ROP(0x01, 5, DIVU), ROP(0x01, 6, REM),    ROP(0x01, 7, REMU),
};
#undef ROP

static const pat32 t_lui[] = { P(M_OPC, OPC_LUI, LUI, U) };

#define ROPW(f7, f3, op) P(M_F7F3, F7(f7) | F3(f3) | OPC_OP_32, op, R)
static const pat32 t_op_32[] = {
  ROPW(0x00, 0, ADDW), ROPW(0x20, 0, SUBW), ROPW(0x00, 1, SLLW), ROPW(0x00, 5, SRLW),
  ROPW(0x20, 5, SRAW), ROPW(0x01, 0, MULW), ROPW(0x01, 4, DIVW), ROPW(0x01, 5, DIVUW),
  ROPW(0x01, 6, REMW), ROPW(0x01, 7, REMUW),
};
#undef ROPW

static const pat32 t_madd[] = {
  P(M_FMT, FMT(0) | OPC_MADD, FMADD_S, R4), P(M_FMT, FMT(1) | OPC_MADD, FMADD_D, R4),
};
static const pat32 t_msub[] = {
  P(M_FMT, FMT(0) | OPC_MSUB, FMSUB_S, R4), P(M_FMT, FMT(1) | OPC_MSUB, FMSUB_D, R4),
};
static const pat32 t_nmsub[] = {
  P(M_FMT, FMT(0) | OPC_NMSUB, FNMSUB_S, R4), P(M_FMT, FMT(1) | OPC_NMSUB, FNMSUB_D, R4),
};
static const pat32 t_nmadd[] = {
  P(M_FMT, FMT(0) | OPC_NMADD, FNMADD_S, R4), P(M_FMT, FMT(1) | OPC_NMADD, FNMADD_D, R4),
};

/* OP-FP. The low bit of funct7 is the format (0 = S, 1 = D). */
#define FRM(f7, op) P(M_F7, F7(f7) | OPC_OP_FP, op, RM)                          /* rm */
#define FRM1(f7, rs2, op) P(M_F7RS2, F7(f7) | RS2(rs2) | OPC_OP_FP, op, RM1)     /* rm, 1 src */
#define FR(f7, f3, op) P(M_F7F3, F7(f7) | F3(f3) | OPC_OP_FP, op, R)             /* no rm */
#define FR1(f7, f3, op) P(M_F7RS2F3, F7(f7) | F3(f3) | OPC_OP_FP, op, R1)        /* rs2 = 0 */
static const pat32 t_op_fp[] = {
  FRM(0x00, FADD_S),  FRM(0x04, FSUB_S),  FRM(0x08, FMUL_S),  FRM(0x0c, FDIV_S),
  FRM(0x01, FADD_D),  FRM(0x05, FSUB_D),  FRM(0x09, FMUL_D),  FRM(0x0d, FDIV_D),
  FRM1(0x2c, 0, FSQRT_S), FRM1(0x2d, 0, FSQRT_D),
  FR(0x10, 0, FSGNJ_S), FR(0x10, 1, FSGNJN_S), FR(0x10, 2, FSGNJX_S),
  FR(0x11, 0, FSGNJ_D), FR(0x11, 1, FSGNJN_D), FR(0x11, 2, FSGNJX_D),
  FR(0x14, 0, FMIN_S), FR(0x14, 1, FMAX_S), FR(0x15, 0, FMIN_D), FR(0x15, 1, FMAX_D),
  FRM1(0x20, 1, FCVT_S_D), FRM1(0x21, 0, FCVT_D_S),
  FR(0x50, 2, FEQ_S), FR(0x50, 1, FLT_S), FR(0x50, 0, FLE_S),
  FR(0x51, 2, FEQ_D), FR(0x51, 1, FLT_D), FR(0x51, 0, FLE_D),
  FRM1(0x60, 0, FCVT_W_S), FRM1(0x60, 1, FCVT_WU_S),
  FRM1(0x60, 2, FCVT_L_S), FRM1(0x60, 3, FCVT_LU_S),
  FRM1(0x61, 0, FCVT_W_D), FRM1(0x61, 1, FCVT_WU_D),
  FRM1(0x61, 2, FCVT_L_D), FRM1(0x61, 3, FCVT_LU_D),
  FRM1(0x68, 0, FCVT_S_W), FRM1(0x68, 1, FCVT_S_WU),
  FRM1(0x68, 2, FCVT_S_L), FRM1(0x68, 3, FCVT_S_LU),
  FRM1(0x69, 0, FCVT_D_W), FRM1(0x69, 1, FCVT_D_WU),
  FRM1(0x69, 2, FCVT_D_L), FRM1(0x69, 3, FCVT_D_LU),
  FR1(0x70, 0, FMV_X_W), FR1(0x70, 1, FCLASS_S), FR1(0x71, 0, FMV_X_D), FR1(0x71, 1, FCLASS_D),
  FR1(0x78, 0, FMV_W_X), FR1(0x79, 0, FMV_D_X),
};
#undef FRM
#undef FRM1
#undef FR
#undef FR1

static const pat32 t_branch[] = {
  P(M_F3, F3(0) | OPC_BRANCH, BEQ, B),  P(M_F3, F3(1) | OPC_BRANCH, BNE, B),
  P(M_F3, F3(4) | OPC_BRANCH, BLT, B),  P(M_F3, F3(5) | OPC_BRANCH, BGE, B),
  P(M_F3, F3(6) | OPC_BRANCH, BLTU, B), P(M_F3, F3(7) | OPC_BRANCH, BGEU, B),
};

static const pat32 t_jalr[] = { P(M_F3, F3(0) | OPC_JALR, JALR, I) };
static const pat32 t_jal[] = { P(M_OPC, OPC_JAL, JAL, J) };

static const pat32 t_system[] = {
  P(M_ALL, 0x00000073u, ECALL, NONE), P(M_ALL, 0x00100073u, EBREAK, NONE),
  P(M_ALL, 0x10200073u, SRET, NONE),  P(M_ALL, 0x30200073u, MRET, NONE),
  P(M_ALL, 0x10500073u, WFI, NONE),
  P(M_SFENCE, F7(0x09) | OPC_SYSTEM, SFENCE_VMA, SFENCE),
  P(M_F3, F3(1) | OPC_SYSTEM, CSRRW, CSR),  P(M_F3, F3(2) | OPC_SYSTEM, CSRRS, CSR),
  P(M_F3, F3(3) | OPC_SYSTEM, CSRRC, CSR),  P(M_F3, F3(5) | OPC_SYSTEM, CSRRWI, CSR),
  P(M_F3, F3(6) | OPC_SYSTEM, CSRRSI, CSR), P(M_F3, F3(7) | OPC_SYSTEM, CSRRCI, CSR),
};

#undef P

typedef struct opcode_table {
  const pat32 *pats;
  unsigned n;
} opcode_table;

#define T(opc, tab) [(opc) >> 2] = {tab, sizeof(tab) / sizeof(tab[0])}
/* Indexed by bits 6:2 of the encoding (bits 1:0 are 11 for every 32-bit instruction). */
static const opcode_table by_opcode[32] = {
  T(OPC_LOAD, t_load),       T(OPC_LOAD_FP, t_load_fp), T(OPC_MISC_MEM, t_misc_mem),
  T(OPC_OP_IMM, t_op_imm),   T(OPC_AUIPC, t_auipc),     T(OPC_OP_IMM_32, t_op_imm_32),
  T(OPC_STORE, t_store),     T(OPC_STORE_FP, t_store_fp), T(OPC_AMO, t_amo),
  T(OPC_OP, t_op),           T(OPC_LUI, t_lui),         T(OPC_OP_32, t_op_32),
  T(OPC_MADD, t_madd),       T(OPC_MSUB, t_msub),       T(OPC_NMSUB, t_nmsub),
  T(OPC_NMADD, t_nmadd),     T(OPC_OP_FP, t_op_fp),     T(OPC_BRANCH, t_branch),
  T(OPC_JALR, t_jalr),       T(OPC_JAL, t_jal),         T(OPC_SYSTEM, t_system),
  T(OPC_CUSTOM0, t_custom0),
};
#undef T

static void extract32(uint32_t r, unsigned fields, wb_insn *o) {
  switch (fields) {
    case F_NONE: break;
    case F_R: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); break;
    case F_R1: o->rd = f_rd(r); o->rs1 = f_rs1(r); break;
    case F_RM: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->rm = f_rm(r); break;
    case F_RM1: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rm = f_rm(r); break;
    case F_R4:
      o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->rs3 = f_rs3(r);
      o->rm = f_rm(r);
      break;
    case F_I: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->imm = imm_i(r); break;
    case F_S: o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->imm = imm_s(r); break;
    case F_B: o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->imm = imm_b(r); break;
    case F_U: o->rd = f_rd(r); o->imm = imm_u(r); break;
    case F_J: o->rd = f_rd(r); o->imm = imm_j(r); break;
    case F_SH: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->imm = bits(r, 25, 20); break;
    case F_CSR: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->imm = bits(r, 31, 20); break;
    case F_AMO: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->rm = f_aqrl(r); break;
    case F_FENCE: o->imm = bits(r, 31, 20); break;
    case F_SFENCE: o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); break;
    case F_WP: o->rd = f_rd(r); o->rs1 = f_rs1(r); o->rs2 = f_rs2(r); o->imm = bits(r, 31, 25); break;
  }
}

static int decode32(uint32_t r, wb_insn *o) {
  const opcode_table *t = &by_opcode[bits(r, 6, 2)];
  for (unsigned i = 0; i < t->n; i++) {
    if ((r & t->pats[i].mask) == t->pats[i].match) {
      o->op = t->pats[i].op;
      extract32(r, t->pats[i].fields, o);
      return 0;
    }
  }
  return -1;
}

/* ---- 16-bit (compressed) patterns --------------------------------------------------------- */

/* How a compressed encoding's fields map onto the base instruction's operands.
 * rd'/rs1'/rs2' are the 3-bit register fields (x8..x15). */
enum cform {
  CF_NONE,       /* no operands (c.ebreak) */
  CF_ADDI4SPN,   /* rd = rd'(4:2), rs1 = sp, imm = nzuimm */
  CF_CL_W,       /* rd = rd'(4:2), rs1 = rs1'(9:7), imm = word offset */
  CF_CL_D,       /* rd = rd'(4:2), rs1 = rs1'(9:7), imm = doubleword offset */
  CF_CS_W,       /* rs2 = rs2'(4:2), rs1 = rs1'(9:7), imm = word offset */
  CF_CS_D,       /* rs2 = rs2'(4:2), rs1 = rs1'(9:7), imm = doubleword offset */
  CF_CI,         /* rd = rs1 = rd(11:7), imm = simm6 (c.addi, c.addiw) */
  CF_LI,         /* rd = rd(11:7), rs1 = zero, imm = simm6 */
  CF_ADDI16SP,   /* rd = rs1 = sp, imm = nzimm * 16 */
  CF_LUI,        /* rd = rd(11:7), imm = simm6 << 12 */
  CF_CB_SHIFT,   /* rd = rs1 = rs1'(9:7), imm = shamt6 */
  CF_CB_ANDI,    /* rd = rs1 = rs1'(9:7), imm = simm6 */
  CF_CA,         /* rd = rs1 = rs1'(9:7), rs2 = rs2'(4:2) */
  CF_CJ,         /* rd = zero, imm = jump offset */
  CF_CB_BRANCH,  /* rs1 = rs1'(9:7), rs2 = zero, imm = branch offset */
  CF_SLLI,       /* rd = rs1 = rd(11:7), imm = shamt6 */
  CF_LWSP,       /* rd = rd(11:7), rs1 = sp, imm = word offset */
  CF_LDSP,       /* rd = rd(11:7), rs1 = sp, imm = doubleword offset */
  CF_SWSP,       /* rs2 = rs2(6:2), rs1 = sp, imm = word offset */
  CF_SDSP,       /* rs2 = rs2(6:2), rs1 = sp, imm = doubleword offset */
  CF_JR,         /* rd = zero, rs1 = rs1(11:7), imm = 0 */
  CF_JALR,       /* rd = ra, rs1 = rs1(11:7), imm = 0 */
  CF_MV,         /* rd = rd(11:7), rs1 = zero, rs2 = rs2(6:2) */
  CF_ADD,        /* rd = rs1 = rd(11:7), rs2 = rs2(6:2) */
};

/* Reserved-encoding rules applied after the fields are expanded. */
enum ccheck { CK_NONE, CK_IMM_NZ, CK_RD_NZ, CK_RS1_NZ };

typedef struct pat16 {
  uint16_t mask, match;
  uint16_t op;
  uint8_t form, check;
} pat16;

/* Encoding pieces: quadrant (bits 1:0), funct3 (15:13), funct2 (11:10), bit 12, etc. */
#define CQ(q) ((uint16_t)(q))
#define CF3(v) ((uint16_t)((v) << 13))
#define CF2(v) ((uint16_t)((v) << 10))
#define CB12(v) ((uint16_t)((v) << 12))
#define CFA(v) ((uint16_t)((v) << 5)) /* funct2 of CA (bits 6:5) */
#define CRD(v) ((uint16_t)((v) << 7))

#define CM_F3 0xe003u       /* quadrant + funct3 */
#define CM_F3RD 0xef83u     /* + rd (c.addi16sp: rd = 2) */
#define CM_F3F2 0xec03u     /* + bits 11:10 (CB-format ALU ops) */
#define CM_CA 0xfc63u       /* + bit 12, bits 11:10, bits 6:5 */
#define CM_CR 0xf003u       /* quadrant + funct4 */
#define CM_CR0 0xf07fu      /* + rs2 = 0 */
#define CM_ALL 0xffffu

#define C(mask, match, op, form, check) {(mask), (match), WB_OP_##op, CF_##form, CK_##check}

/* Scanned in order; first match wins. */
static const pat16 t_c[] = {
  /* quadrant 0 */
  C(CM_F3, CF3(0) | CQ(0), ADDI, ADDI4SPN, IMM_NZ), /* c.addi4spn (nzuimm = 0 reserved) */
  C(CM_F3, CF3(1) | CQ(0), FLD, CL_D, NONE),        /* c.fld */
  C(CM_F3, CF3(2) | CQ(0), LW, CL_W, NONE),         /* c.lw */
  C(CM_F3, CF3(3) | CQ(0), LD, CL_D, NONE),         /* c.ld */
  C(CM_F3, CF3(5) | CQ(0), FSD, CS_D, NONE),        /* c.fsd */
  C(CM_F3, CF3(6) | CQ(0), SW, CS_W, NONE),         /* c.sw */
  C(CM_F3, CF3(7) | CQ(0), SD, CS_D, NONE),         /* c.sd */
  /* quadrant 1 */
  C(CM_F3, CF3(0) | CQ(1), ADDI, CI, NONE),              /* c.nop / c.addi */
  C(CM_F3, CF3(1) | CQ(1), ADDIW, CI, RD_NZ),            /* c.addiw (rd = 0 reserved) */
  C(CM_F3, CF3(2) | CQ(1), ADDI, LI, NONE),              /* c.li */
  C(CM_F3RD, CF3(3) | CRD(2) | CQ(1), ADDI, ADDI16SP, IMM_NZ), /* c.addi16sp */
  C(CM_F3, CF3(3) | CQ(1), LUI, LUI, IMM_NZ),            /* c.lui */
  C(CM_F3F2, CF3(4) | CF2(0) | CQ(1), SRLI, CB_SHIFT, NONE), /* c.srli */
  C(CM_F3F2, CF3(4) | CF2(1) | CQ(1), SRAI, CB_SHIFT, NONE), /* c.srai */
  C(CM_F3F2, CF3(4) | CF2(2) | CQ(1), ANDI, CB_ANDI, NONE),  /* c.andi */
  C(CM_CA, CF3(4) | CB12(0) | CF2(3) | CFA(0) | CQ(1), SUB, CA, NONE),  /* c.sub */
  C(CM_CA, CF3(4) | CB12(0) | CF2(3) | CFA(1) | CQ(1), XOR, CA, NONE),  /* c.xor */
  C(CM_CA, CF3(4) | CB12(0) | CF2(3) | CFA(2) | CQ(1), OR, CA, NONE),   /* c.or */
  C(CM_CA, CF3(4) | CB12(0) | CF2(3) | CFA(3) | CQ(1), AND, CA, NONE),  /* c.and */
  C(CM_CA, CF3(4) | CB12(1) | CF2(3) | CFA(0) | CQ(1), SUBW, CA, NONE), /* c.subw */
  C(CM_CA, CF3(4) | CB12(1) | CF2(3) | CFA(1) | CQ(1), ADDW, CA, NONE), /* c.addw */
  C(CM_F3, CF3(5) | CQ(1), JAL, CJ, NONE),               /* c.j */
  C(CM_F3, CF3(6) | CQ(1), BEQ, CB_BRANCH, NONE),        /* c.beqz */
  C(CM_F3, CF3(7) | CQ(1), BNE, CB_BRANCH, NONE),        /* c.bnez */
  /* quadrant 2 */
  C(CM_F3, CF3(0) | CQ(2), SLLI, SLLI, NONE),            /* c.slli */
  C(CM_F3, CF3(1) | CQ(2), FLD, LDSP, NONE),             /* c.fldsp */
  C(CM_F3, CF3(2) | CQ(2), LW, LWSP, RD_NZ),             /* c.lwsp (rd = 0 reserved) */
  C(CM_F3, CF3(3) | CQ(2), LD, LDSP, RD_NZ),             /* c.ldsp (rd = 0 reserved) */
  C(CM_CR0, CF3(4) | CB12(0) | CQ(2), JALR, JR, RS1_NZ), /* c.jr (rs1 = 0 reserved) */
  C(CM_CR, CF3(4) | CB12(0) | CQ(2), ADD, MV, NONE),     /* c.mv */
  C(CM_ALL, CF3(4) | CB12(1) | CQ(2), EBREAK, NONE, NONE), /* c.ebreak */
  C(CM_CR0, CF3(4) | CB12(1) | CQ(2), JALR, JALR, NONE), /* c.jalr (rs1 != 0 after c.ebreak) */
  C(CM_CR, CF3(4) | CB12(1) | CQ(2), ADD, ADD, NONE),    /* c.add */
  C(CM_F3, CF3(5) | CQ(2), FSD, SDSP, NONE),             /* c.fsdsp */
  C(CM_F3, CF3(6) | CQ(2), SW, SWSP, NONE),              /* c.swsp */
  C(CM_F3, CF3(7) | CQ(2), SD, SDSP, NONE),              /* c.sdsp */
};
#undef C

static inline uint8_t c_rdp(uint32_t r) { return (uint8_t)(8 + bits(r, 4, 2)); }   /* rd'/rs2' */
static inline uint8_t c_rs1p(uint32_t r) { return (uint8_t)(8 + bits(r, 9, 7)); }  /* rs1'/rd' */
static inline uint8_t c_rd(uint32_t r) { return (uint8_t)bits(r, 11, 7); }
static inline uint8_t c_rs2(uint32_t r) { return (uint8_t)bits(r, 6, 2); }
static inline uint32_t c_imm6(uint32_t r) { return bits(r, 12, 12) << 5 | bits(r, 6, 2); }

static void extract16(uint32_t r, unsigned form, wb_insn *o) {
  switch (form) {
    case CF_NONE: break;
    case CF_ADDI4SPN:
      o->rd = c_rdp(r); o->rs1 = 2;
      o->imm = bits(r, 12, 11) << 4 | bits(r, 10, 7) << 6 | bits(r, 6, 6) << 2 | bits(r, 5, 5) << 3;
      break;
    case CF_CL_W:
      o->rd = c_rdp(r); o->rs1 = c_rs1p(r);
      o->imm = bits(r, 12, 10) << 3 | bits(r, 6, 6) << 2 | bits(r, 5, 5) << 6;
      break;
    case CF_CL_D:
      o->rd = c_rdp(r); o->rs1 = c_rs1p(r);
      o->imm = bits(r, 12, 10) << 3 | bits(r, 6, 5) << 6;
      break;
    case CF_CS_W:
      o->rs2 = c_rdp(r); o->rs1 = c_rs1p(r);
      o->imm = bits(r, 12, 10) << 3 | bits(r, 6, 6) << 2 | bits(r, 5, 5) << 6;
      break;
    case CF_CS_D:
      o->rs2 = c_rdp(r); o->rs1 = c_rs1p(r);
      o->imm = bits(r, 12, 10) << 3 | bits(r, 6, 5) << 6;
      break;
    case CF_CI: o->rd = o->rs1 = c_rd(r); o->imm = sext(c_imm6(r), 6); break;
    case CF_LI: o->rd = c_rd(r); o->rs1 = 0; o->imm = sext(c_imm6(r), 6); break;
    case CF_ADDI16SP:
      o->rd = o->rs1 = 2;
      o->imm = sext(bits(r, 12, 12) << 9 | bits(r, 6, 6) << 4 | bits(r, 5, 5) << 6 |
                    bits(r, 4, 3) << 7 | bits(r, 2, 2) << 5, 10);
      break;
    case CF_LUI: o->rd = c_rd(r); o->imm = sext(c_imm6(r) << 12, 18); break;
    case CF_CB_SHIFT: o->rd = o->rs1 = c_rs1p(r); o->imm = c_imm6(r); break;
    case CF_CB_ANDI: o->rd = o->rs1 = c_rs1p(r); o->imm = sext(c_imm6(r), 6); break;
    case CF_CA: o->rd = o->rs1 = c_rs1p(r); o->rs2 = c_rdp(r); break;
    case CF_CJ:
      o->rd = 0;
      o->imm = sext(bits(r, 12, 12) << 11 | bits(r, 11, 11) << 4 | bits(r, 10, 9) << 8 |
                    bits(r, 8, 8) << 10 | bits(r, 7, 7) << 6 | bits(r, 6, 6) << 7 |
                    bits(r, 5, 3) << 1 | bits(r, 2, 2) << 5, 12);
      break;
    case CF_CB_BRANCH:
      o->rs1 = c_rs1p(r); o->rs2 = 0;
      o->imm = sext(bits(r, 12, 12) << 8 | bits(r, 11, 10) << 3 | bits(r, 6, 5) << 6 |
                    bits(r, 4, 3) << 1 | bits(r, 2, 2) << 5, 9);
      break;
    case CF_SLLI: o->rd = o->rs1 = c_rd(r); o->imm = c_imm6(r); break;
    case CF_LWSP:
      o->rd = c_rd(r); o->rs1 = 2;
      o->imm = bits(r, 12, 12) << 5 | bits(r, 6, 4) << 2 | bits(r, 3, 2) << 6;
      break;
    case CF_LDSP:
      o->rd = c_rd(r); o->rs1 = 2;
      o->imm = bits(r, 12, 12) << 5 | bits(r, 6, 5) << 3 | bits(r, 4, 2) << 6;
      break;
    case CF_SWSP:
      o->rs2 = c_rs2(r); o->rs1 = 2;
      o->imm = bits(r, 12, 9) << 2 | bits(r, 8, 7) << 6;
      break;
    case CF_SDSP:
      o->rs2 = c_rs2(r); o->rs1 = 2;
      o->imm = bits(r, 12, 10) << 3 | bits(r, 9, 7) << 6;
      break;
    case CF_JR: o->rd = 0; o->rs1 = c_rd(r); o->imm = 0; break;
    case CF_JALR: o->rd = 1; o->rs1 = c_rd(r); o->imm = 0; break;
    case CF_MV: o->rd = c_rd(r); o->rs1 = 0; o->rs2 = c_rs2(r); break;
    case CF_ADD: o->rd = o->rs1 = c_rd(r); o->rs2 = c_rs2(r); break;
  }
}

static int check16(const wb_insn *o, unsigned check) {
  switch (check) {
    case CK_IMM_NZ: return o->imm != 0;
    case CK_RD_NZ: return o->rd != 0;
    case CK_RS1_NZ: return o->rs1 != 0;
    default: return 1;
  }
}

static int decode16(uint32_t r, wb_insn *o) {
  for (unsigned i = 0; i < sizeof t_c / sizeof t_c[0]; i++) {
    const pat16 *p = &t_c[i];
    if ((r & p->mask) == p->match) {
      o->op = p->op;
      extract16(r, p->form, o);
      return check16(o, p->check) ? 0 : -1;
    }
  }
  return -1;
}

/* ---- entry point -------------------------------------------------------------------------- */

int wb_decode(uint32_t raw, wb_insn *out) {
  memset(out, 0, sizeof *out);
  int rc;
  if ((raw & 3) == 3) {
    out->raw = raw;
    out->len = 4;
    /* bits 4:2 = 111 would announce a 48-bit or longer encoding: no table for those */
    rc = decode32(raw, out);
  } else {
    out->raw = raw & 0xffff;
    out->len = 2;
    rc = decode16(out->raw, out);
  }
  if (rc != 0) {
    uint32_t keep_raw = out->raw;
    uint8_t keep_len = out->len;
    memset(out, 0, sizeof *out);
    out->op = WB_OP_ILLEGAL;
    out->raw = keep_raw;
    out->len = keep_len;
    return -1;
  }
  return 0;
}
