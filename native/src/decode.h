/* decode.h — the one RV64GC decoder every tier shares, and the disassembler.
 *
 * wb_decode() turns one instruction (32-bit, or 16-bit compressed in the low half) into a
 * wb_insn. Compressed instructions are expanded to the base operation they stand for (c.addi ->
 * ADDI, c.ldsp -> LD with rs1 = x2, c.nop -> ADDI x0, ...), with len = 2. Reserved or unknown
 * encodings give op = WB_OP_ILLEGAL (never a crash). The decoder is a pure function of its input.
 *
 * Field conventions in wb_insn:
 *   rd, rs1, rs2, rs3  register numbers (0..31); integer or FP file according to the op.
 *   imm                sign-extended immediate, as the ISA defines it for the format:
 *                      I/S/B/J immediates (branch/jump offsets relative to the insn's pc),
 *                      U: the full value (imm20 << 12, sign-extended to 64 bits),
 *                      shifts: the shift amount, CSR ops: the CSR number (12 bits, unsigned),
 *                      CSRxxI: the 5-bit uimm is in rs1 (as in the encoding), FENCE: bits 31:20.
 *   rm                 FP ops: the rounding-mode field (funct3; 7 = dynamic) where the op has one;
 *                      AMO/LR/SC: (aq << 1) | rl.
 *   len                2 or 4 (bytes).
 *   raw                the encoding (16-bit value for compressed instructions).
 */
#ifndef WB_DECODE_H
#define WB_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "ops.h"

typedef struct wb_insn {
  int64_t imm;
  uint32_t raw;
  uint16_t op;
  uint8_t rd, rs1, rs2, rs3;
  uint8_t rm;
  uint8_t len;
} wb_insn;

/* Length in bytes of the instruction whose first 16 bits are `lo16` (2 or 4). */
static inline int wb_insn_len(uint16_t lo16) { return (lo16 & 3) == 3 ? 4 : 2; }

/* Decode `raw` (if the low two bits are not 0b11, only the low 16 bits are used). Always
 * fills *out; returns 0 if legal, -1 if op is WB_OP_ILLEGAL. */
int wb_decode(uint32_t raw, wb_insn *out);

/* 1 if op ends a block in every tier: control transfers, ecall/ebreak, fence.i, illegal and
 * privileged ops. Blocks end there (or at a page end, or after 64 instructions) so that the
 * interpreter's and the JIT's blocks, and the events clients see per block, are the same. */
static inline int wb_op_ends_block(unsigned op) {
  switch (op) {
    case WB_OP_JAL: case WB_OP_JALR: case WB_OP_BEQ: case WB_OP_BNE: case WB_OP_BLT:
    case WB_OP_BGE: case WB_OP_BLTU: case WB_OP_BGEU: case WB_OP_ECALL: case WB_OP_EBREAK:
    case WB_OP_FENCE_I: case WB_OP_ILLEGAL: case WB_OP_MRET: case WB_OP_SRET: case WB_OP_WFI:
    case WB_OP_SFENCE_VMA:
      return 1;
    default:
      return 0;
  }
}

/* Mnemonic of an op ("addi"); "?" for an out-of-range op. */
const char *wb_op_name(unsigned op);

/* Disassemble into buf (NUL-terminated, truncated to n), e.g. "addi a0, sp, 16" or
 * "beq a0, zero, 0x10a3c". `pc` is used to print branch and jump targets as absolute
 * addresses. Registers use ABI names (zero, ra, sp, ..., ft0, fa0, ...). Returns strlen. */
int wb_disasm(const wb_insn *insn, uint64_t pc, char *buf, size_t n);

/* Convenience: decode + disassemble a raw encoding. */
int wb_disasm_raw(uint32_t raw, uint64_t pc, char *buf, size_t n);

/* ABI name of integer / FP register r (0..31). */
const char *wb_xreg_name(unsigned r);
const char *wb_freg_name(unsigned r);

#endif
