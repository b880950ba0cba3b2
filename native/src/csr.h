/* csr.h — Zicsr and the privileged instructions, as every tier executes them.
 *
 * The unprivileged CSRs (fflags, frm, fcsr, cycle, time, instret) are the hart's own and
 * handled here; any other CSR, and mret/sret/wfi/sfence.vma, go to the machine's platform
 * (platform.h), which implements them (system mode) or leaves them illegal (user mode).
 */
#ifndef WB_CSR_H
#define WB_CSR_H
#include <stdint.h>
#include "hart.h"

enum { WB_CSR_FFLAGS = 0x001, WB_CSR_FRM = 0x002, WB_CSR_FCSR = 0x003, WB_CSR_CYCLE = 0xc00,
       WB_CSR_TIME = 0xc01, WB_CSR_INSTRET = 0xc02 };

/* Read-modify-write CSR `csr` (kind 0 write, 1 set, 2 clear; do_write 0 for a pure read) with
 * `instret_now` instructions retired before this one. *old gets the value before. 0, or -1
 * if the access is illegal (the tier raises an illegal-instruction trap). */
int wb_csr_access(wb_hart *h, unsigned csr, int kind, uint64_t src, int do_write,
                  uint64_t instret_now, uint64_t *old);
/* Privileged instruction `op` (a WB_OP_MRET/SRET/WFI/SFENCE_VMA from decode.h) at h->pc:
 * 0 when done (h->pc is where to go on), -1 when illegal. */
int wb_priv_exec(wb_hart *h, int op);

#endif
