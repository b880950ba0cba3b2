/* crt.S — start-up and trap entry for the bare-metal programs.
 *
 * Hart 0 starts here in M mode (a0 = hart id, a1 = device tree), as qemu's virt reset vector
 * and our engine start it. We zero .bss, set up stacks and trap vectors, open PMP for S and U
 * (qemu has PMP entries and denies S/U accesses no entry matches) and call main(); when main
 * returns the test device powers the board off with exit code 0.
 *
 * Trap entries save all integer registers in a struct frame on a trap stack (mscratch /
 * sscratch hold its top) and call m_trap(frame) / s_trap(frame) in lib.c, which may rewrite
 * the frame (and mepc/sepc) before the registers are restored and mret/sret return.
 */
#define FRAME 256

/* the frame: x[i] at 8*i(sp) (x2, the interrupted sp, is stored by the entry itself) */
.macro SAVE_GPRS
  sd x1, 8(sp)
  .irp r, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\r, 8*\r(sp)
  .endr
.endm
.macro RESTORE_GPRS
  ld x1, 8(sp)
  .irp r, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\r, 8*\r(sp)
  .endr
.endm

  .section .text.init
  .option norvc
  .globl _start
_start:
  la sp, __stack_top
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  la t0, boot_hartid
  sd a0, 0(t0)
  la t0, boot_dtb
  sd a1, 0(t0)
  /* PMP entry 0: NAPOT over all of memory, RWX, so that S and U may access everything. An
   * implementation without PMP may trap on these CSRs: step over them with a scratch mtvec. */
  la t0, skip_trap
  csrw mtvec, t0
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  la t0, __mtrap_stack_top
  csrw mscratch, t0
  la t0, __strap_stack_top
  csrw sscratch, t0
  la t0, m_trap_entry
  csrw mtvec, t0
  la t0, s_trap_entry
  csrw stvec, t0
  li t0, (1 << 13)          /* mstatus.FS = Initial */
  csrs mstatus, t0
  call main
  li a0, 0
  call poweroff
3:
  j 3b

  .align 2
skip_trap:
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret

/* ---- M-mode trap entry (mtvec, direct mode) ---- */
  .text
  .align 2
  .globl m_trap_entry
m_trap_entry:
  csrrw sp, mscratch, sp     /* sp = trap stack, mscratch = interrupted sp */
  addi sp, sp, -FRAME
  SAVE_GPRS
  csrr t0, mscratch
  sd t0, 16(sp)
  addi t0, sp, FRAME
  csrw mscratch, t0          /* the trap stack's top again, whatever the handler does */
  mv a0, sp
  call m_trap
  RESTORE_GPRS
  ld sp, 16(sp)
  mret

/* ---- S-mode trap entry (stvec, direct mode) ---- */
  .align 2
  .globl s_trap_entry
s_trap_entry:
  csrrw sp, sscratch, sp
  addi sp, sp, -FRAME
  SAVE_GPRS
  csrr t0, sscratch
  sd t0, 16(sp)
  addi t0, sp, FRAME
  csrw sscratch, t0
  mv a0, sp
  call s_trap
  RESTORE_GPRS
  ld sp, 16(sp)
  sret

/* long enter_mode(long mode, long (*fn)(long), long arg, unsigned long sp)
 * Runs fn(arg) in `mode` (0 = U, 1 = S) through mret and returns what it returns. fn returns
 * to mode_exit, whose ecall (a7 = EXIT_MAGIC) m_trap turns back into a return from here, in
 * M mode, with the callee-saved registers below. sp != 0 gives fn a stack of its own. A
 * function that cannot return to mode_exit (U code under paging) makes the ecall itself. */
  .globl enter_mode
enter_mode:
  la t0, m_ctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  sd s0, 16(t0)
  sd s1, 24(t0)
  sd s2, 32(t0)
  sd s3, 40(t0)
  sd s4, 48(t0)
  sd s5, 56(t0)
  sd s6, 64(t0)
  sd s7, 72(t0)
  sd s8, 80(t0)
  sd s9, 88(t0)
  sd s10, 96(t0)
  sd s11, 104(t0)
  li t0, (3 << 11)           /* mstatus.MPP = mode */
  csrc mstatus, t0
  andi a0, a0, 3
  slli a0, a0, 11
  csrs mstatus, a0
  csrw mepc, a1
  mv a0, a2
  beqz a3, 1f
  mv sp, a3
1:
  la ra, mode_exit
  mret

  .globl mode_exit
mode_exit:
  li a7, 0x5eb0e817          /* EXIT_MAGIC (lib.h) */
  ecall
2:
  j 2b
