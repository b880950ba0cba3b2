/* csr.c — CSR accesses and privileged instructions (csr.h): the unprivileged CSR file of a
 * hart, and the hand-off of everything else to the platform. */
#include "csr.h"
#include "decode.h"
#include "machine.h"
#include "platform.h"

static int access(wb_hart *h, unsigned csr, int kind, uint64_t src, int do_write,
                  uint64_t instret_now, uint64_t *old);

/* The tiers count a block's instructions at its entry: while the platform handles the CSR,
 * h->instret is the exact count before it (an interrupt the write raises is stamped there,
 * the same on every tier). */
int wb_csr_access(wb_hart *h, unsigned csr, int kind, uint64_t src, int do_write,
                  uint64_t instret_now, uint64_t *old) {
  uint64_t counted = h->instret;
  h->instret = instret_now;
  int r = access(h, csr, kind, src, do_write, instret_now, old);
  h->instret = counted;
  return r;
}

static int access(wb_hart *h, unsigned csr, int kind, uint64_t src, int do_write,
                  uint64_t instret_now, uint64_t *old) {
  const wb_platform *p = h->m->platform;
  uint64_t v;
  if (p->csr_check && ((csr >= WB_CSR_FFLAGS && csr <= WB_CSR_FCSR) || (csr >= WB_CSR_CYCLE && csr <= WB_CSR_INSTRET)) &&
      p->csr_check(h, csr) != 0)
    return -1;
  switch (csr) {
    case WB_CSR_FFLAGS: v = h->fflags; break;
    case WB_CSR_FRM: v = h->frm; break;
    case WB_CSR_FCSR: v = (h->frm << 5) | h->fflags; break;
    case WB_CSR_CYCLE: case WB_CSR_INSTRET: v = instret_now; break;
    case WB_CSR_TIME: /* 10 MHz timebase, as Linux on common RISC-V boards reports */
      v = wb_guest_monotonic_ns_at(h->m, instret_now) / 100;
      break;
    default:
      if (!p->csr_read || p->csr_read(h, csr, &v) != 0) return -1;
      break;
  }
  if (do_write) {
    uint64_t base = v;
    if (kind != 0 && p->csr_read_rmw && p->csr_read_rmw(h, csr, &base) != 0) base = v;
    uint64_t nv = kind == 0 ? src : kind == 1 ? (base | src) : (base & ~src);
    switch (csr) {
      case WB_CSR_FFLAGS: h->fflags = nv & 0x1f; break;
      case WB_CSR_FRM: h->frm = nv & 7; break;
      case WB_CSR_FCSR: h->fflags = nv & 0x1f; h->frm = (nv >> 5) & 7; break;
      case WB_CSR_CYCLE: case WB_CSR_TIME: case WB_CSR_INSTRET: return -1; /* read-only */
      default:
        if (!p->csr_write || p->csr_write(h, csr, nv) != 0) return -1;
        break;
    }
  }
  *old = v;
  return 0;
}

int wb_priv_exec(wb_hart *h, int op) {
  const wb_platform *p = h->m->platform;
  if (!p->priv_op) return -1;
  switch (op) {
    case WB_OP_MRET: return p->priv_op(h, WB_PRIV_MRET);
    case WB_OP_SRET: return p->priv_op(h, WB_PRIV_SRET);
    case WB_OP_WFI: return p->priv_op(h, WB_PRIV_WFI);
    case WB_OP_SFENCE_VMA: return p->priv_op(h, WB_PRIV_SFENCE_VMA);
    default: return -1;
  }
}
