/* csrs.c — the machine and supervisor CSRs of system mode (privileged spec, "Machine-Level
 * CSRs" and "Supervisor-Level CSRs"): which exist, who may access them, and which bits are
 * writable (WARL fields keep their legal values). The unprivileged ones (fflags, frm, fcsr,
 * cycle, time, instret) stay in csr.c; everything else arrives here through the platform.
 *
 * Simplifications, each documented where it is made: PMP registers are stored and read back
 * but not enforced; mstatus.FS reads Dirty whenever it is not Off (the kernel then always
 * saves the FP registers, which is correct, only slower); performance counters beyond
 * cycle/instret read 0.
 */
#include "system.h"
#include "../machine.h"

/* CSR numbers */
enum {
  CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
  CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
  CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_SATP = 0x180,
  CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
  CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
  CSR_MCOUNTINHIBIT = 0x320, CSR_MHPMEVENT3 = 0x323, CSR_MHPMEVENT31 = 0x33f,
  CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342, CSR_MTVAL = 0x343, CSR_MIP = 0x344,
  CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG15 = 0x3af, CSR_PMPADDR0 = 0x3b0, CSR_PMPADDR63 = 0x3ef,
  CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02, CSR_MHPMCOUNTER3 = 0xb03, CSR_MHPMCOUNTER31 = 0xb1f,
  CSR_HPMCOUNTER3 = 0xc03, CSR_HPMCOUNTER31 = 0xc1f,
  CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
  CSR_MCONFIGPTR = 0xf15,
};

/* misa: RV64 with I M A F D C S U */
#define MISA_VALUE ((2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 8) | \
                    (1u << 12) | (1u << 18) | (1u << 20))
/* writable mstatus bits (UBE/MBE/SBE stay 0: little-endian only; VS/XS stay 0: no V, no X) */
#define MSTATUS_WRITABLE (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | \
                          MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | \
                          MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
/* interrupts that exist: SSI, MSI, STI, MTI, SEI, MEI */
#define MIP_ALL (WB_MIP_SSIP | WB_MIP_MSIP | WB_MIP_STIP | WB_MIP_MTIP | WB_MIP_SEIP | WB_MIP_MEIP)
#define MIP_S (WB_MIP_SSIP | WB_MIP_STIP | WB_MIP_SEIP)
/* exceptions that may be delegated (not ecall from M: it can never reach S) */
#define MEDELEG_WRITABLE 0xb3ffull

int wb_sys_csr_read_rmw(wb_hart *h, unsigned csr, uint64_t *value) {
  if (csr != CSR_MIP) return wb_sys_csr_read(h, csr, value);
  /* "Only the software-writable SEIP bit participates in the read-modify-write sequence of
   * a CSRRS or CSRRC instruction" (privileged spec, mip): else a csrc of STIP while the
   * PLIC's line is high would latch SEIP for good */
  const wb_sys_hart *s = wb_sys_of(h);
  uint64_t lines = __atomic_load_n(&h->m->sys->board.mip[h->id], __ATOMIC_ACQUIRE);
  *value = (s->mip & MIP_S) | (lines & ~WB_MIP_SEIP);
  return 0;
}

uint64_t wb_sys_mip(const wb_hart *h) {
  const wb_sys_hart *s = wb_sys_of(h);
  uint64_t lines = __atomic_load_n(&h->m->sys->board.mip[h->id], __ATOMIC_ACQUIRE);
  return (s->mip & MIP_S) | lines;  /* SEIP: the software bit or the PLIC's line */
}

static uint64_t mstatus_read(const wb_sys_hart *s) {
  uint64_t v = s->mstatus | (2ull << 32) | (2ull << 34);   /* UXL = SXL = 64 bits */
  if (v & MSTATUS_FS) v |= MSTATUS_FS | MSTATUS_SD;        /* see the top of this file */
  return v;
}

/* mstatus changed: a different effective privilege for loads/stores (MPRV), SUM or MXR make
 * the TLB's permissions stale; newly enabled interrupts must be looked at */
static void mstatus_write(wb_hart *h, uint64_t v, uint64_t mask) {
  wb_sys_hart *s = wb_sys_of(h);
  uint64_t old = s->mstatus;
  uint64_t nv = (old & ~mask) | (v & mask);
  uint64_t mpp = (nv & MSTATUS_MPP) >> 11;
  if (mpp == 2) nv = (nv & ~MSTATUS_MPP) | (old & MSTATUS_MPP);  /* WARL: no H mode */
  s->mstatus = nv;
  if ((old ^ nv) & (MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MPP)) wb_sys_tlb_flush(h);
  if ((nv & ~old) & (MSTATUS_MIE | MSTATUS_SIE)) wb_sys_kick(h);
  if (!(old & MSTATUS_FS) != !(nv & MSTATUS_FS)) h->leave = 1;  /* FP on/off: another cache */
}

static int counter_allowed(const wb_hart *h, unsigned bit) {
  const wb_sys_hart *s = wb_sys_of(h);
  if (h->priv == WB_PRIV_M) return 1;
  if (!(s->mcounteren >> bit & 1)) return 0;
  return h->priv == WB_PRIV_S || (s->scounteren >> bit & 1);
}

int wb_sys_csr_check(wb_hart *h, unsigned csr) {
  if (csr >= 0xc00) return counter_allowed(h, csr - 0xc00) ? 0 : -1;
  return (wb_sys_of(h)->mstatus & MSTATUS_FS) ? 0 : -1;    /* fflags, frm, fcsr */
}

int wb_sys_csr_read(wb_hart *h, unsigned csr, uint64_t *value) {
  wb_sys_hart *s = wb_sys_of(h);
  unsigned need = (csr >> 8) & 3;                 /* lowest privilege that may access it */
  if ((unsigned)h->priv < need) return -1;
  switch (csr) {
    case CSR_SSTATUS: *value = mstatus_read(s) & SSTATUS_MASK; return 0;
    case CSR_SIE: *value = s->mie & s->mideleg; return 0;
    case CSR_STVEC: *value = s->stvec; return 0;
    case CSR_SCOUNTEREN: *value = s->scounteren; return 0;
    case CSR_SENVCFG: *value = s->senvcfg; return 0;
    case CSR_SSCRATCH: *value = s->sscratch; return 0;
    case CSR_SEPC: *value = s->sepc; return 0;
    case CSR_SCAUSE: *value = s->scause; return 0;
    case CSR_STVAL: *value = s->stval; return 0;
    case CSR_SIP: *value = wb_sys_mip(h) & s->mideleg; return 0;
    case CSR_SATP:
      if (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_TVM)) return -1;
      *value = s->satp;
      return 0;
    case CSR_MSTATUS: *value = mstatus_read(s); return 0;
    case CSR_MISA: *value = MISA_VALUE; return 0;
    case CSR_MEDELEG: *value = s->medeleg; return 0;
    case CSR_MIDELEG: *value = s->mideleg; return 0;
    case CSR_MIE: *value = s->mie; return 0;
    case CSR_MTVEC: *value = s->mtvec; return 0;
    case CSR_MCOUNTEREN: *value = s->mcounteren; return 0;
    case CSR_MENVCFG: *value = s->menvcfg; return 0;
    case CSR_MCOUNTINHIBIT: *value = s->mcountinhibit; return 0;
    case CSR_MSCRATCH: *value = s->mscratch; return 0;
    case CSR_MEPC: *value = s->mepc; return 0;
    case CSR_MCAUSE: *value = s->mcause; return 0;
    case CSR_MTVAL: *value = s->mtval; return 0;
    case CSR_MIP: *value = wb_sys_mip(h); return 0;
    case CSR_MCYCLE: case CSR_MINSTRET: *value = h->instret; return 0;
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR: *value = 0; return 0;
    case CSR_MHARTID: *value = (uint64_t)h->id; return 0;
    default: break;
  }
  if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
    if (csr & 1) return -1;                       /* RV64: only the even pmpcfg registers */
    *value = s->pmpcfg[csr - CSR_PMPCFG0];
    return 0;
  }
  if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) { *value = s->pmpaddr[csr - CSR_PMPADDR0]; return 0; }
  if ((csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
      (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31)) { *value = 0; return 0; }
  if (csr >= CSR_HPMCOUNTER3 && csr <= CSR_HPMCOUNTER31) {
    if (!counter_allowed(h, csr - 0xc00)) return -1;
    *value = 0;
    return 0;
  }
  return -1;
}

int wb_sys_csr_write(wb_hart *h, unsigned csr, uint64_t v) {
  wb_sys_hart *s = wb_sys_of(h);
  unsigned need = (csr >> 8) & 3;
  if ((unsigned)h->priv < need || (csr >> 10) == 3) return -1;   /* read-only: 0xc00.. */
  switch (csr) {
    case CSR_SSTATUS: mstatus_write(h, v, MSTATUS_WRITABLE & SSTATUS_MASK); return 0;
    case CSR_SIE: {
      uint64_t m = s->mideleg & MIP_ALL;
      s->mie = (s->mie & ~m) | (v & m);
      wb_sys_kick(h);
      return 0;
    }
    case CSR_STVEC: s->stvec = v & ~2ull; return 0;   /* modes 0 (direct) and 1 (vectored) */
    case CSR_SCOUNTEREN: s->scounteren = v & 0xffffffffull; return 0;
    case CSR_SENVCFG: s->senvcfg = 0; return 0;       /* no Zicbom/Zicboz/Svpbmt: all 0 */
    case CSR_SSCRATCH: s->sscratch = v; return 0;
    case CSR_SEPC: s->sepc = v & ~1ull; return 0;
    case CSR_SCAUSE: s->scause = v; return 0;
    case CSR_STVAL: s->stval = v; return 0;
    case CSR_SIP: {                                   /* only SSIP is writable from S */
      uint64_t m = s->mideleg & WB_MIP_SSIP;
      s->mip = (s->mip & ~m) | (v & m);
      wb_sys_kick(h);
      return 0;
    }
    case CSR_SATP: {
      if (h->priv == WB_PRIV_S && (s->mstatus & MSTATUS_TVM)) return -1;
      uint64_t mode = v >> 60;
      if (mode != 0 && mode != 8) return 0;           /* WARL: unsupported modes leave it */
      /* 16 ASID bits, as qemu: stored, not used to tag the TLB (which every satp write and
       * sfence.vma empties, so an ASID never selects a stale translation) */
      s->satp = v & ((0xfull << 60) | ((1ull << 44) - 1));
      wb_sys_tlb_flush(h);
      wb_sys_unchain_code(h, UINT64_MAX);
      h->leave = 1;   /* the next block is looked up under the new translation */
      return 0;
    }
    case CSR_MSTATUS: mstatus_write(h, v, MSTATUS_WRITABLE); return 0;
    case CSR_MISA: return 0;                          /* WARL: fixed */
    case CSR_MEDELEG: s->medeleg = v & MEDELEG_WRITABLE; return 0;
    case CSR_MIDELEG: s->mideleg = v & MIP_S; wb_sys_kick(h); return 0;
    case CSR_MIE: s->mie = v & MIP_ALL; wb_sys_kick(h); return 0;
    case CSR_MTVEC: s->mtvec = v & ~2ull; return 0;
    case CSR_MCOUNTEREN: s->mcounteren = v & 0xffffffffull; return 0;
    case CSR_MENVCFG: s->menvcfg = 0; return 0;
    case CSR_MCOUNTINHIBIT: s->mcountinhibit = v & ~2ull; return 0;
    case CSR_MSCRATCH: s->mscratch = v; return 0;
    case CSR_MEPC: s->mepc = v & ~1ull; return 0;
    case CSR_MCAUSE: s->mcause = v; return 0;
    case CSR_MTVAL: s->mtval = v; return 0;
    case CSR_MIP: {                                   /* M writes SSIP, STIP, SEIP */
      s->mip = (s->mip & ~MIP_S) | (v & MIP_S);
      wb_sys_kick(h);
      return 0;
    }
    case CSR_MCYCLE: case CSR_MINSTRET: return 0;     /* counts come from instret */
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MHARTID:
    case CSR_MCONFIGPTR: return -1;                   /* read-only */
    default: break;
  }
  if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
    if (csr & 1) return -1;
    s->pmpcfg[csr - CSR_PMPCFG0] = v;
    return 0;
  }
  if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
    s->pmpaddr[csr - CSR_PMPADDR0] = v & ((1ull << 54) - 1);
    return 0;
  }
  if ((csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
      (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31)) return 0;
  return -1;
}
