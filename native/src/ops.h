/* ops.h — the list of every RV64GC operation the engine knows, as an X-macro.
 *
 * One line per operation: X(NAME, "mnemonic", FORMAT). The decoder maps encodings (including
 * every compressed form, which expands to one of these) to a WB_OP_NAME; the interpreter builds
 * its dispatch table from the same list; the disassembler prints by FORMAT. Adding an
 * operation here is the first step of adding it anywhere.
 *
 * Formats (how operands are printed; see decode.h for which wb_insn fields hold them):
 *   R    rd, rs1, rs2            I    rd, rs1, imm          SH   rd, rs1, shamt(imm)
 *   LD   rd, imm(rs1)            ST   rs2, imm(rs1)         B    rs1, rs2, pc+imm
 *   U    rd, imm(20-bit value)   J    rd, pc+imm            JR   rd, imm(rs1)
 *   CSR  rd, csr(imm), rs1       CSRI rd, csr(imm), uimm(rs1)
 *   AMO  rd, rs2, (rs1)          LR   rd, (rs1)
 *   FLD  frd, imm(rs1)           FST  frs2, imm(rs1)
 *   FR   frd, frs1, frs2         FR4  frd, frs1, frs2, frs3   FR1  frd, frs1
 *   FRM  as FR with rounding     FRM1 as FR1 with rounding    (rm printed when not dyn)
 *   FCMP rd, frs1, frs2          FX   rd, frs1 (fmv.x/fclass)  XF  frd, rs1 (fmv.*.x)
 *   FCVTI rd, frs1, rm (fp->int) FCVTF frd, rs1, rm (int->fp)
 *   N    no operands             FENCE pred, succ (imm)
 *   WP   rd, rs1, rs2, flags(imm)
 */
#ifndef WB_OPS_H
#define WB_OPS_H

#define WB_OPS(X) \
  X(ILLEGAL, "illegal", N) \
  /* RV64I */ \
  X(LUI, "lui", U) X(AUIPC, "auipc", U) X(JAL, "jal", J) X(JALR, "jalr", JR) \
  X(BEQ, "beq", B) X(BNE, "bne", B) X(BLT, "blt", B) X(BGE, "bge", B) \
  X(BLTU, "bltu", B) X(BGEU, "bgeu", B) \
  X(LB, "lb", LD) X(LH, "lh", LD) X(LW, "lw", LD) X(LD, "ld", LD) \
  X(LBU, "lbu", LD) X(LHU, "lhu", LD) X(LWU, "lwu", LD) \
  X(SB, "sb", ST) X(SH, "sh", ST) X(SW, "sw", ST) X(SD, "sd", ST) \
  X(ADDI, "addi", I) X(SLTI, "slti", I) X(SLTIU, "sltiu", I) X(XORI, "xori", I) \
  X(ORI, "ori", I) X(ANDI, "andi", I) X(SLLI, "slli", SH) X(SRLI, "srli", SH) X(SRAI, "srai", SH) \
  X(ADD, "add", R) X(SUB, "sub", R) X(SLL, "sll", R) X(SLT, "slt", R) X(SLTU, "sltu", R) \
  X(XOR, "xor", R) X(SRL, "srl", R) X(SRA, "sra", R) X(OR, "or", R) X(AND, "and", R) \
  X(FENCE, "fence", FENCE) X(FENCE_I, "fence.i", N) X(ECALL, "ecall", N) X(EBREAK, "ebreak", N) \
  X(ADDIW, "addiw", I) X(SLLIW, "slliw", SH) X(SRLIW, "srliw", SH) X(SRAIW, "sraiw", SH) \
  X(ADDW, "addw", R) X(SUBW, "subw", R) X(SLLW, "sllw", R) X(SRLW, "srlw", R) X(SRAW, "sraw", R) \
  /* Zicsr */ \
  X(CSRRW, "csrrw", CSR) X(CSRRS, "csrrs", CSR) X(CSRRC, "csrrc", CSR) \
  X(CSRRWI, "csrrwi", CSRI) X(CSRRSI, "csrrsi", CSRI) X(CSRRCI, "csrrci", CSRI) \
  /* M */ \
  X(MUL, "mul", R) X(MULH, "mulh", R) X(MULHSU, "mulhsu", R) X(MULHU, "mulhu", R) \
  X(DIV, "div", R) X(DIVU, "divu", R) X(REM, "rem", R) X(REMU, "remu", R) \
  X(MULW, "mulw", R) X(DIVW, "divw", R) X(DIVUW, "divuw", R) X(REMW, "remw", R) X(REMUW, "remuw", R) \
  /* A */ \
  X(LR_W, "lr.w", LR) X(SC_W, "sc.w", AMO) X(AMOSWAP_W, "amoswap.w", AMO) X(AMOADD_W, "amoadd.w", AMO) \
  X(AMOXOR_W, "amoxor.w", AMO) X(AMOAND_W, "amoand.w", AMO) X(AMOOR_W, "amoor.w", AMO) \
  X(AMOMIN_W, "amomin.w", AMO) X(AMOMAX_W, "amomax.w", AMO) X(AMOMINU_W, "amominu.w", AMO) \
  X(AMOMAXU_W, "amomaxu.w", AMO) \
  X(LR_D, "lr.d", LR) X(SC_D, "sc.d", AMO) X(AMOSWAP_D, "amoswap.d", AMO) X(AMOADD_D, "amoadd.d", AMO) \
  X(AMOXOR_D, "amoxor.d", AMO) X(AMOAND_D, "amoand.d", AMO) X(AMOOR_D, "amoor.d", AMO) \
  X(AMOMIN_D, "amomin.d", AMO) X(AMOMAX_D, "amomax.d", AMO) X(AMOMINU_D, "amominu.d", AMO) \
  X(AMOMAXU_D, "amomaxu.d", AMO) \
  /* F */ \
  X(FLW, "flw", FLD) X(FSW, "fsw", FST) \
  X(FMADD_S, "fmadd.s", FR4) X(FMSUB_S, "fmsub.s", FR4) X(FNMSUB_S, "fnmsub.s", FR4) X(FNMADD_S, "fnmadd.s", FR4) \
  X(FADD_S, "fadd.s", FRM) X(FSUB_S, "fsub.s", FRM) X(FMUL_S, "fmul.s", FRM) X(FDIV_S, "fdiv.s", FRM) \
  X(FSQRT_S, "fsqrt.s", FRM1) X(FSGNJ_S, "fsgnj.s", FR) X(FSGNJN_S, "fsgnjn.s", FR) X(FSGNJX_S, "fsgnjx.s", FR) \
  X(FMIN_S, "fmin.s", FR) X(FMAX_S, "fmax.s", FR) \
  X(FCVT_W_S, "fcvt.w.s", FCVTI) X(FCVT_WU_S, "fcvt.wu.s", FCVTI) X(FMV_X_W, "fmv.x.w", FX) \
  X(FEQ_S, "feq.s", FCMP) X(FLT_S, "flt.s", FCMP) X(FLE_S, "fle.s", FCMP) X(FCLASS_S, "fclass.s", FX) \
  X(FCVT_S_W, "fcvt.s.w", FCVTF) X(FCVT_S_WU, "fcvt.s.wu", FCVTF) X(FMV_W_X, "fmv.w.x", XF) \
  X(FCVT_L_S, "fcvt.l.s", FCVTI) X(FCVT_LU_S, "fcvt.lu.s", FCVTI) \
  X(FCVT_S_L, "fcvt.s.l", FCVTF) X(FCVT_S_LU, "fcvt.s.lu", FCVTF) \
  /* D */ \
  X(FLD, "fld", FLD) X(FSD, "fsd", FST) \
  X(FMADD_D, "fmadd.d", FR4) X(FMSUB_D, "fmsub.d", FR4) X(FNMSUB_D, "fnmsub.d", FR4) X(FNMADD_D, "fnmadd.d", FR4) \
  X(FADD_D, "fadd.d", FRM) X(FSUB_D, "fsub.d", FRM) X(FMUL_D, "fmul.d", FRM) X(FDIV_D, "fdiv.d", FRM) \
  X(FSQRT_D, "fsqrt.d", FRM1) X(FSGNJ_D, "fsgnj.d", FR) X(FSGNJN_D, "fsgnjn.d", FR) X(FSGNJX_D, "fsgnjx.d", FR) \
  X(FMIN_D, "fmin.d", FR) X(FMAX_D, "fmax.d", FR) \
  X(FCVT_S_D, "fcvt.s.d", FRM1) X(FCVT_D_S, "fcvt.d.s", FRM1) \
  X(FEQ_D, "feq.d", FCMP) X(FLT_D, "flt.d", FCMP) X(FLE_D, "fle.d", FCMP) X(FCLASS_D, "fclass.d", FX) \
  X(FCVT_W_D, "fcvt.w.d", FCVTI) X(FCVT_WU_D, "fcvt.wu.d", FCVTI) \
  X(FCVT_D_W, "fcvt.d.w", FCVTF) X(FCVT_D_WU, "fcvt.d.wu", FCVTF) \
  X(FCVT_L_D, "fcvt.l.d", FCVTI) X(FCVT_LU_D, "fcvt.lu.d", FCVTI) X(FMV_X_D, "fmv.x.d", FX) \
  X(FCVT_D_L, "fcvt.d.l", FCVTF) X(FCVT_D_LU, "fcvt.d.lu", FCVTF) X(FMV_D_X, "fmv.d.x", XF) \
  /* privileged (decoded for system mode; illegal in user mode) */ \
  X(MRET, "mret", N) X(SRET, "sret", N) X(WFI, "wfi", N) X(SFENCE_VMA, "sfence.vma", R) \
  /* the watchpoint unit's custom-0 instructions (docs/watchpoints.md; illegal when it is off) */ \
  X(WP_SET, "wp.set", WP) X(WP_CLEAR, "wp.clear", WP)

enum wb_op {
#define WB_OP_ENUM(name, mn, fmt) WB_OP_##name,
  WB_OPS(WB_OP_ENUM)
#undef WB_OP_ENUM
  WB_OP_COUNT
};

#endif
