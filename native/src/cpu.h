/* cpu.h — the architectural state of one RV64GC hart, as every tier sees it. */
#ifndef WB_CPU_H
#define WB_CPU_H
#include <stdint.h>

#define WB_XSINK 32 /* index of the write sink that stands in for x0 as a destination */

typedef struct wb_cpu {
  uint64_t x[33];        /* x[0] is always 0; decoded insns with rd = 0 write x[WB_XSINK] */
  uint64_t f[32];        /* raw FP registers (singles NaN-boxed) */
  uint64_t pc;
  uint64_t instret;      /* instructions retired */
  uint64_t reservation;  /* LR/SC reserved address; WB_NO_RESERVATION when none */
  uint32_t fflags;       /* accrued FP exceptions (5 bits) */
  uint32_t frm;          /* dynamic rounding mode (3 bits) */
  /* JIT tier scratch (jit/): instructions left before the dispatcher must look at limits,
   * a value passed out of translated code, and the bound of guest addresses */
  int64_t jit_left;
  uint64_t jit_mark;     /* instret = jit_mark - jit_left (inside translated code) */
  uint64_t jit_scratch;
  uint64_t jit_bound;
} wb_cpu;

#define WB_NO_RESERVATION (~(uint64_t)0)

/* ABI register numbers used by the syscall layer */
enum { WB_REG_RA = 1, WB_REG_SP = 2, WB_REG_GP = 3, WB_REG_TP = 4, WB_REG_A0 = 10, WB_REG_A1,
       WB_REG_A2, WB_REG_A3, WB_REG_A4, WB_REG_A5, WB_REG_A6, WB_REG_A7 };

#endif
