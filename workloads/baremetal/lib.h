/* lib.h — the little runtime of the bare-metal programs: UART output, the test device, CSR
 * access, and trap bookkeeping (see crt.S for the entries and lib.c for the handlers).
 *
 * Every program prints one line per check ("what: fact") and powers off with exit code 0;
 * a trap nobody expected prints "UNEXPECTED ..." and powers off with exit code 3. */
#ifndef BM_LIB_H
#define BM_LIB_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

/* ---- board (qemu virt) ---- */
#define UART0       0x10000000UL
#define TEST_DEV    0x00100000UL
#define CLINT       0x02000000UL
#define CLINT_MSIP  (CLINT + 0x0)
#define CLINT_MTIMECMP (CLINT + 0x4000)
#define CLINT_MTIME (CLINT + 0xbff8)

/* ---- privileged ISA constants ---- */
#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_FS   (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_MXR  (1UL << 19)
#define MSTATUS_TVM  (1UL << 20)
#define MSTATUS_TW   (1UL << 21)
#define MSTATUS_TSR  (1UL << 22)
#define MPP_SHIFT 11

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define INTERRUPT_BIT (1UL << 63)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15

#define MODE_U 0
#define MODE_S 1
#define MODE_M 3

/* a7 of the ecall that ends enter_mode()'s excursion into S or U (crt.S mode_exit) */
#define EXIT_MAGIC 0x5eb0e817UL

#define STR_(x) #x
#define STR(x) STR_(x)
#define csr_read(csr) ({ u64 v_; __asm__ volatile("csrr %0, " STR(csr) : "=r"(v_) :: "memory"); v_; })
#define csr_write(csr, val) ({ __asm__ volatile("csrw " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_set(csr, val) ({ __asm__ volatile("csrs " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_clear(csr, val) ({ __asm__ volatile("csrc " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory"); })
#define csr_swap(csr, val) ({ u64 v_; __asm__ volatile("csrrw %0, " STR(csr) ", %1" : "=r"(v_) : "rK"((u64)(val)) : "memory"); v_; })

static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }

/* ---- output ---- */
void putc_(char c);
void puts_(const char *s);          /* no newline added */
void put_hex(u64 v);                /* 0x... */
void put_dec(long v);
void show(const char *what, u64 v); /* "what: 0x..." */
void show_dec(const char *what, long v);
void check(const char *what, int ok);     /* "what: yes/no" */
void say(const char *what, const char *fact); /* "what: fact" */
void poweroff(int code) __attribute__((noreturn));
const char *cause_name(u64 cause);

extern u64 boot_hartid, boot_dtb;

/* ---- traps ----
 * m_trap/s_trap record every trap in mtrap/strap (count and the trap CSRs). A synchronous
 * exception is expected only while m_allow/s_allow is set; then the handler resumes at
 * *_resume if it is set (once), at the frame's ra when *_resume_ra is set (a call through a
 * bad pointer), else after the faulting instruction. Interrupts go to *_irq_hook (or are
 * unexpected when it is NULL). */
struct frame { u64 r[32]; };
struct trap_rec {
  u64 count;
  u64 cause, epc, tval, status; /* mcause/mepc/mtval/mstatus (s*: the S versions) on entry */
};
extern volatile struct trap_rec mtrap, strap;
extern volatile int m_allow, s_allow, m_resume_ra, s_resume_ra;
extern volatile u64 m_resume, s_resume;
extern void (*volatile m_irq_hook)(u64 cause, struct frame *f);
extern void (*volatile s_irq_hook)(u64 cause, struct frame *f);
/* an ecall with this a7 from S/U asks M for a service (m_service_hook(frame)) */
#define SERVICE_MAGIC 0x5e7f1ce0UL
extern void (*volatile m_service_hook)(struct frame *f);

void m_trap(struct frame *f);
void s_trap(struct frame *f);

/* Run fn(arg) in mode (MODE_S or MODE_U) and return its result; sp: 0 = this stack. */
long enter_mode(long mode, long (*fn)(long), long arg, u64 sp);
static inline long run_s(long (*fn)(long), long arg) { return enter_mode(MODE_S, fn, arg, 0); }
static inline long run_u(long (*fn)(long), long arg) { return enter_mode(MODE_U, fn, arg, 0); }

/* Clear the trap records and allow one or more exceptions (set before the faulting code). */
void expect_m(void);
void expect_s(void);
void expect_none(void);

/* An ecall from the current mode, a0 = arg, a7 = a7; returns a0. */
static inline long do_ecall(long a7, long arg) {
  register long a0_ __asm__("a0") = arg;
  register long a7_ __asm__("a7") = a7;
  __asm__ volatile(".option push\n.option norvc\necall\n.option pop" : "+r"(a0_) : "r"(a7_) : "memory");
  return a0_;
}

#endif
