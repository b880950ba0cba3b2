/* x86.h — a small x86-64 instruction encoder: just what the JIT's translators emit.
 *
 * Every emitter appends to an x86_buf. Operands are host registers (X_RAX ... X_R15) and
 * memory operands [base + index + disp] (index optional, scale 1). Instruction bytes follow
 * the Intel SDM: optional 0x66 prefix, REX (W for 64-bit operand size, R/X/B extending
 * the ModRM reg, SIB index and base fields), opcode bytes, ModRM, SIB and displacement.
 * Callers make sure the buffer has room (translate.c reserves a worst case per instruction).
 */
#ifndef WB_JIT_X86_H
#define WB_JIT_X86_H
#include <stdint.h>
#include <string.h>

enum { X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
       X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15 };
/* condition codes (the low nibble of Jcc / SETcc) */
enum { CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A, CC_S, CC_NS, CC_P, CC_NP,
       CC_L, CC_GE, CC_LE, CC_G };

typedef struct x86_buf {
  uint8_t *p;    /* next byte */
  uint8_t *end;  /* end of the writable region */
} x86_buf;

#define X_NOINDEX (-1)

static inline void x_b(x86_buf *b, unsigned v) { *b->p++ = (uint8_t)v; }
static inline void x_d32(x86_buf *b, uint32_t v) { memcpy(b->p, &v, 4); b->p += 4; }
static inline void x_d64(x86_buf *b, uint64_t v) { memcpy(b->p, &v, 8); b->p += 8; }
static inline int x_fits8(int64_t v) { return v >= -128 && v <= 127; }
static inline int x_fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Operand size flags for x_op */
#define XW 1      /* REX.W: 64-bit operand */
#define X66 2     /* 0x66: 16-bit operand */
#define XBYTE 4   /* byte-register operand: force a REX so that 4..7 mean spl..dil */

/* The general form: [66] [REX] op... ModRM [SIB] [disp].
 * reg: ModRM.reg (a register or an opcode extension /digit).
 * If base >= 0 and mem == 0: register-direct r/m = base. If mem: [base + index + disp]. */
static inline void x_op(x86_buf *b, int flags, const uint8_t *op, int nop, int reg, int mem,
                        int base, int index, int32_t disp) {
  if (flags & X66) x_b(b, 0x66);
  unsigned rex = 0x40;
  if (flags & XW) rex |= 8;
  if (reg & 8) rex |= 4;
  if (mem && index >= 0 && (index & 8)) rex |= 2;
  if (base & 8) rex |= 1;
  int needrex = rex != 0x40 || ((flags & XBYTE) && ((reg >= 4 && reg < 8) || (!mem && base >= 4 && base < 8)));
  if (needrex) x_b(b, rex);
  for (int i = 0; i < nop; i++) x_b(b, op[i]);
  unsigned r = (unsigned)(reg & 7) << 3;
  if (!mem) { x_b(b, 0xc0 | r | (base & 7)); return; }
  int mod;
  if (disp == 0 && (base & 7) != 5) mod = 0;
  else if (x_fits8(disp)) mod = 1;
  else mod = 2;
  if (index >= 0 || (base & 7) == 4) {
    x_b(b, (mod << 6) | r | 4);
    x_b(b, ((index >= 0 ? index & 7 : 4) << 3) | (base & 7));
  } else {
    x_b(b, (mod << 6) | r | (base & 7));
  }
  if (mod == 1) x_b(b, (uint8_t)disp);
  else if (mod == 2) x_d32(b, (uint32_t)disp);
}

/* op reg, r/m(reg)  — e.g. x_rr(b, XW, 0x03, dst, src) is add dst, src */
static inline void x_rr(x86_buf *b, int flags, uint8_t op, int reg, int rm) {
  x_op(b, flags, &op, 1, reg, 0, rm, X_NOINDEX, 0);
}
/* op reg, [index*scale + disp32] with no base register (an absolute table below 2 GiB);
 * scale_log2: 0..3 */
static inline void x_op_abs_index(x86_buf *b, int flags, const uint8_t *op, int nop, int reg,
                                  int index, int scale_log2, int32_t disp) {
  if (flags & X66) x_b(b, 0x66);
  unsigned rex = 0x40 | ((flags & XW) ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0);
  if (rex != 0x40) x_b(b, rex);
  for (int i = 0; i < nop; i++) x_b(b, op[i]);
  x_b(b, (unsigned)((reg & 7) << 3) | 4);                      /* mod 00, rm = SIB */
  x_b(b, (unsigned)(scale_log2 << 6) | (unsigned)((index & 7) << 3) | 5); /* base: none */
  x_d32(b, (uint32_t)disp);
}

/* op reg, [base + disp] */
static inline void x_rm(x86_buf *b, int flags, uint8_t op, int reg, int base, int32_t disp) {
  x_op(b, flags, &op, 1, reg, 1, base, X_NOINDEX, disp);
}
/* op reg, [base + index + disp] */
static inline void x_rmx(x86_buf *b, int flags, uint8_t op, int reg, int base, int index, int32_t disp) {
  x_op(b, flags, &op, 1, reg, 1, base, index, disp);
}
/* two-byte opcodes 0x0f xx */
static inline void x_rr0f(x86_buf *b, int flags, uint8_t op2, int reg, int rm) {
  uint8_t op[2] = {0x0f, op2};
  x_op(b, flags, op, 2, reg, 0, rm, X_NOINDEX, 0);
}
static inline void x_rm0f(x86_buf *b, int flags, uint8_t op2, int reg, int base, int index, int32_t disp) {
  uint8_t op[2] = {0x0f, op2};
  x_op(b, flags, op, 2, reg, 1, base, index, disp);
}

/* ALU opcodes (op r, r/m form) and the /digit of the immediate group 0x81/0x83 */
enum { XA_ADD = 0x03, XA_OR = 0x0b, XA_AND = 0x23, XA_SUB = 0x2b, XA_XOR = 0x33, XA_CMP = 0x3b,
       XA_MOV = 0x8b, XA_TEST = 0x85 };
static inline int x_alu_digit(uint8_t op) {
  switch (op) { case XA_ADD: return 0; case XA_OR: return 1; case XA_AND: return 4;
                case XA_SUB: return 5; case XA_XOR: return 6; default: return 7; }
}
/* op r/m, imm (sign-extended imm8 or imm32) with r/m a register or [base+disp] */
static inline void x_alu_imm(x86_buf *b, int flags, uint8_t aluop, int mem, int base, int32_t disp, int32_t imm) {
  uint8_t op = x_fits8(imm) ? 0x83 : 0x81;
  x_op(b, flags, &op, 1, x_alu_digit(aluop), mem, base, X_NOINDEX, disp);
  if (op == 0x83) x_b(b, (uint8_t)imm); else x_d32(b, (uint32_t)imm);
}

/* mov r64, imm (shortest form: xor, mov r32, mov r/m64 sign-extended, movabs) */
static inline void x_mov_imm(x86_buf *b, int reg, uint64_t v) {
  if (v == 0) { x_rr(b, 0, 0x33, reg, reg); return; }                  /* xor r32, r32 */
  if (v <= 0xffffffffull) {                                             /* mov r32, imm32 */
    if (reg & 8) x_b(b, 0x41);
    x_b(b, 0xb8 + (reg & 7)); x_d32(b, (uint32_t)v); return;
  }
  if (x_fits32((int64_t)v)) {                                           /* mov r/m64, simm32 */
    uint8_t op = 0xc7;
    x_op(b, XW, &op, 1, 0, 0, reg, X_NOINDEX, 0); x_d32(b, (uint32_t)v); return;
  }
  x_b(b, 0x48 | ((reg & 8) ? 1 : 0)); x_b(b, 0xb8 + (reg & 7)); x_d64(b, v); /* movabs */
}
/* mov qword [base+disp], simm32 */
static inline void x_mov_mem_imm32(x86_buf *b, int base, int32_t disp, int32_t imm) {
  uint8_t op = 0xc7;
  x_op(b, XW, &op, 1, 0, 1, base, X_NOINDEX, disp);
  x_d32(b, (uint32_t)imm);
}
/* shift group: digit 4 shl, 5 shr, 7 sar; by imm8 (0xc1) or by cl (0xd3) */
static inline void x_shift_imm(x86_buf *b, int flags, int digit, int reg, unsigned n) {
  uint8_t op = 0xc1;
  x_op(b, flags, &op, 1, digit, 0, reg, X_NOINDEX, 0);
  x_b(b, n);
}
static inline void x_shift_cl(x86_buf *b, int flags, int digit, int reg) {
  uint8_t op = 0xd3;
  x_op(b, flags, &op, 1, digit, 0, reg, X_NOINDEX, 0);
}
/* group 3 (0xf7): /2 not, /3 neg, /4 mul, /5 imul, /6 div, /7 idiv — register operand */
static inline void x_grp3(x86_buf *b, int flags, int digit, int reg) {
  uint8_t op = 0xf7;
  x_op(b, flags, &op, 1, digit, 0, reg, X_NOINDEX, 0);
}
/* setcc r8; movzx r32, r8 */
static inline void x_setcc(x86_buf *b, int cc, int reg) {
  x_rr0f(b, XBYTE, (uint8_t)(0x90 + cc), 0, reg);
  x_rr0f(b, XBYTE, 0xb6, reg, reg);
}
/* jumps with rel32; return the address of the rel32 field (for patching) */
static inline uint8_t *x_jcc32(x86_buf *b, int cc) {
  x_b(b, 0x0f); x_b(b, 0x80 + cc);
  uint8_t *f = b->p; x_d32(b, 0); return f;
}
static inline uint8_t *x_jmp32(x86_buf *b) {
  x_b(b, 0xe9);
  uint8_t *f = b->p; x_d32(b, 0); return f;
}
/* short forward jumps: emit, then x_fix8 once the target is known */
static inline uint8_t *x_jcc8(x86_buf *b, int cc) { x_b(b, 0x70 + cc); uint8_t *f = b->p; x_b(b, 0); return f; }
static inline uint8_t *x_jmp8(x86_buf *b) { x_b(b, 0xeb); uint8_t *f = b->p; x_b(b, 0); return f; }
static inline void x_fix8(uint8_t *field, const uint8_t *target) { *field = (uint8_t)(int8_t)(target - (field + 1)); }
/* point a rel32 field at target */
static inline void x_fix32(uint8_t *field, const uint8_t *target) {
  int32_t rel = (int32_t)(target - (field + 4));
  memcpy(field, &rel, 4);
}
/* call/jmp through a register */
static inline void x_call_reg(x86_buf *b, int reg) { uint8_t op = 0xff; x_op(b, 0, &op, 1, 2, 0, reg, X_NOINDEX, 0); }
static inline void x_jmp_reg(x86_buf *b, int reg) { uint8_t op = 0xff; x_op(b, 0, &op, 1, 4, 0, reg, X_NOINDEX, 0); }
/* jmp qword [base + index + disp] */
static inline void x_jmp_mem(x86_buf *b, int base, int index, int32_t disp) {
  uint8_t op = 0xff; x_op(b, 0, &op, 1, 4, 1, base, index, disp);
}
/* SSE scalar double ops on xmm0..7 with a [base + disp] or register operand:
 * prefix (0xf2 sd ops, 0x66 for comisd/ucomisd), 0x0f, op. */
static inline void x_sse_m(x86_buf *b, uint8_t prefix, uint8_t op, int xmm, int base, int32_t disp) {
  uint8_t ops[2] = {0x0f, op};
  x_b(b, prefix);
  x_op(b, 0, ops, 2, xmm, 1, base, X_NOINDEX, disp);
}
/* movq r64, xmm (66 REX.W 0f 7e /r) */
static inline void x_movq_r_x(x86_buf *b, int reg, int xmm) {
  uint8_t ops[2] = {0x0f, 0x7e};
  x_b(b, 0x66);
  x_op(b, XW, ops, 2, xmm, 0, reg, X_NOINDEX, 0);
}
/* cvtsi2sd xmm, r64 (f2 REX.W 0f 2a /r); cvttsd2si r64, xmm (f2 REX.W 0f 2c /r) */
static inline void x_cvtsi2sd(x86_buf *b, int xmm, int reg) {
  uint8_t ops[2] = {0x0f, 0x2a};
  x_b(b, 0xf2);
  x_op(b, XW, ops, 2, xmm, 0, reg, X_NOINDEX, 0);
}
static inline void x_cvttsd2si(x86_buf *b, int reg, int xmm) {
  uint8_t ops[2] = {0x0f, 0x2c};
  x_b(b, 0xf2);
  x_op(b, XW, ops, 2, reg, 0, xmm, X_NOINDEX, 0);
}

static inline void x_push(x86_buf *b, int reg) { if (reg & 8) x_b(b, 0x41); x_b(b, 0x50 + (reg & 7)); }
static inline void x_pop(x86_buf *b, int reg) { if (reg & 8) x_b(b, 0x41); x_b(b, 0x58 + (reg & 7)); }
static inline void x_ret(x86_buf *b) { x_b(b, 0xc3); }

#endif
