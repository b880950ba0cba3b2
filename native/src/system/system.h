/* system.h — system mode inside the engine: the state a machine that boots firmware and a
 * kernel keeps beside its harts (the board and its RAM, per-hart privileged CSRs and soft
 * TLB), and the internal interface between the files of system/:
 *   platform.c  the wb_platform of the virt board: traps and their delegation, interrupts,
 *               mret/sret/wfi/sfence.vma, device time (events_due, idle)
 *   csrs.c      the machine and supervisor CSRs
 *   mmu.c       Sv39 translation with a soft TLB, physical accesses (RAM or a device), and
 *               the memory instructions of the interpreter in system mode (wb_sys_access)
 *   boot.c      wb_system_create: RAM, board, firmware, kernel, initramfs, device tree
 *   board.h     the board and its devices
 * The tiers reach system mode only through platform.h/trap.h and three hooks of this file
 * (wb_sys_access, wb_sys_fetch16, wb_sys_fetch_fault), chosen when a machine is created with
 * m->sys set, so user mode keeps its flat memory path.
 */
#ifndef WB_SYSTEM_H
#define WB_SYSTEM_H
#include <stdint.h>
#include "wb/engine.h"
#include "../hart.h"
#include "../mmu.h"
#include "../trap.h"
#include "board.h"

struct wb_machine;
struct wb_interp;
struct wb_dinsn;

/* mstatus fields (privileged spec, "Machine Status Register") */
#define MSTATUS_SIE  (1ull << 1)
#define MSTATUS_MIE  (1ull << 3)
#define MSTATUS_SPIE (1ull << 5)
#define MSTATUS_UBE  (1ull << 6)
#define MSTATUS_MPIE (1ull << 7)
#define MSTATUS_SPP  (1ull << 8)
#define MSTATUS_VS   (3ull << 9)
#define MSTATUS_MPP  (3ull << 11)
#define MSTATUS_FS   (3ull << 13)
#define MSTATUS_XS   (3ull << 15)
#define MSTATUS_MPRV (1ull << 17)
#define MSTATUS_SUM  (1ull << 18)
#define MSTATUS_MXR  (1ull << 19)
#define MSTATUS_TVM  (1ull << 20)
#define MSTATUS_TW   (1ull << 21)
#define MSTATUS_TSR  (1ull << 22)
#define MSTATUS_UXL  (3ull << 32)
#define MSTATUS_SXL  (3ull << 34)
#define MSTATUS_SD   (1ull << 63)
/* the part of mstatus that sstatus shows */
#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | \
                      MSTATUS_FS | MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)

/* The soft TLB: direct-mapped, one entry per virtual page number slot. An entry caches one
 * leaf translation with the permissions the walk granted for the current privilege, SUM and
 * MXR (any change of those, of MPRV, of satp, or an sfence.vma empties it). */
#define WB_TLB_SETS 3
#define WB_TLB_FILLS (WB_TLB_SETS * WB_TLB_SIZE)
/* the set an access of effective privilege priv uses */
#define WB_TLB_SET(priv) ((priv) == WB_PRIV_M ? 2 : (priv))
#define WB_TLB_SIZE 1024
typedef struct wb_tlb_entry {
  uint64_t vpage;      /* virtual address >> 12, or UINT64_MAX when empty */
  uint64_t ppage;      /* physical address >> 12 */
  uint8_t *host;       /* the page in host memory when it is RAM (NULL: a device) */
  /* what the JIT's inline probe compares the page number of an access's last byte with:
   * vpage when it may read / write the host page directly (RAM, and for a store: dirty and
   * no cached code decoded from it), else UINT64_MAX (the probe misses, the soft MMU acts) */
  uint64_t rtag, wtag;
  uint64_t addend;     /* host - (vpage << 12) for RAM: the JIT's host address is va + addend */
  uint8_t r, w, x;     /* granted: read, write (the PTE is already dirty), execute */
  uint8_t super;       /* the leaf was a superpage (this entry is one 4 KiB page of it) */
  uint8_t pad[12];     /* 64 bytes: one cache line */
} wb_tlb_entry;

/* Per-hart privileged state (h->plat in system mode). */
typedef struct wb_sys_hart {
  uint64_t mstatus, medeleg, mideleg, mie, mip;   /* mip: the software-writable bits */
  uint64_t mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg, mcountinhibit;
  uint64_t stvec, sscratch, sepc, scause, stval, scounteren, senvcfg, satp;
  uint64_t pmpcfg[16], pmpaddr[64];               /* accepted and read back; not enforced */
  wb_tlb_entry tlb[3][WB_TLB_SIZE]; /* one per effective privilege (U, S, and M's identity
                                       map in set 2): a trap between user and kernel keeps
                                       both; bare (satp off) accesses fill identity entries,
                                       so the JIT's inline probe serves them too */
  uint64_t tlb_status; /* mstatus's SUM/MXR the permissions were granted under */
  /* the entries filled since the last full flush (set * WB_TLB_SIZE + slot; a flush or scan
   * visits only these: past WB_TLB_FILLS it visits every entry) */
  uint16_t tlb_filled[WB_TLB_FILLS];
  uint32_t ntlb_filled;
  struct wb_interp *caches[8]; /* decoded blocks per privilege (U, S, -, M) and, +4, the same
                                  with mstatus.FS Off (FP instructions decode as illegal there):
                                  a block only ever runs in the state it was decoded for */
  struct wb_jit *jits[8];      /* the JIT tier's translations, indexed as caches[] (NULL on
                                  the interp tier) */
  wb_trap fetch_fault; /* why the last block fetch failed (page fault or access fault) */
  /* the interrupt log's arrival stamps: the mip bits seen so far, and when each rose */
  uint64_t seen_mip;
  uint64_t arrival_insn[16], arrival_ns[16];
} wb_sys_hart;

/* Machine-wide system state (m->sys). */
typedef struct wb_system {
  wb_board board;
  uint8_t *ram;
  uint64_t ram_size;
  uint8_t *code_pages; /* one byte per RAM page: 1 while blocks decoded from it may be cached */
  uint32_t *code_gen;  /* per RAM page: the generation of its code (mmu.h wb_sys_fetch_phys) */
  uint64_t wake_mtime; /* the board's next deadline (UINT64_MAX: none) */
  int poweroff;        /* the guest powered off (or rebooted: 2) */
  uint64_t interrupts_taken;
  wb_irq_record *irq_log;      /* every interrupt taken, up to WB_IRQ_LOG_MAX (platform.c) */
  size_t irq_count, irq_cap;
  uint64_t irq_dropped;
  struct wb_sys_async *async;  /* host-clock mode: the timer thread and mailbox (async.c) */
} wb_system;

static inline wb_sys_hart *wb_sys_of(const wb_hart *h) { return (wb_sys_hart *)h->plat; }

/* ---- platform.c ---- */
extern const struct wb_platform wb_virt_platform;
/* Take a trap on h now (exception or interrupt, with delegation): h->pc is the trapping pc. */
void wb_sys_take_trap(wb_hart *h, uint64_t cause, uint64_t tval);
/* The interrupt h should take now (cause with WB_CAUSE_INTERRUPT), or 0. */
uint64_t wb_sys_pending_interrupt(const wb_hart *h);
/* Something changed that may let an interrupt through or change the privilege: the tier
 * leaves at its next check, and the run loop delivers it. */
void wb_sys_kick(wb_hart *h);
/* mtime now */
uint64_t wb_sys_mtime(const struct wb_machine *m);
/* The index into caches[]/jits[] for h's privilege and FP state. */
unsigned wb_sys_cache_index(const wb_hart *h);
/* sfence.vma of one virtual address: drop its TLB entries (and every superpage's). */
void wb_sys_tlb_flush_page(wb_hart *h, uint64_t va);
/* The translation changed (satp, sfence.vma): unchain the S and U caches; va: the one
 * address an sfence.vma named (UINT64_MAX: all). */
void wb_sys_unchain_code(wb_hart *h, uint64_t va);
/* A RAM page h's caches decoded code from was written (its generation is already bumped, so
 * lookups no longer find those blocks): undo every chain and jump-table entry that could still
 * reach them, and make h leave its tier (the running block may be one of them). */
void wb_sys_drop_code_page(wb_hart *h);
/* Free the system state (boot.c; the platform's fini). */
void wb_system_free(struct wb_machine *m);

/* A line of h rose for a reason that happened earlier, at host time ns (an event another
 * thread posted): stamp its arrival then. */
void wb_sys_arrived(wb_hart *h, uint64_t mip_bits, uint64_t ns);

/* ---- async.c (host-clock mode only) ---- */
struct wb_sys_async;
/* Start the timer thread and the mailbox (m->sys->async); stop and free them. */
int wb_sys_async_start(struct wb_machine *m, char *err, size_t errlen);
void wb_sys_async_stop(struct wb_machine *m);
/* The calling thread starts (on 1) or stopped (0) running the hart: where to send signals. */
void wb_sys_async_running(struct wb_machine *m, int on);
/* The board's next deadline (mtime; UINT64_MAX: none), for the timer thread. */
void wb_sys_async_wake_at(struct wb_machine *m, uint64_t mtime);
/* On the hart's thread: apply what other threads posted (software interrupts, console
 * input) and tick the board. Cheap when nothing was posted. */
void wb_sys_async_poll(struct wb_machine *m);
/* Console input posted while the machine may be running: how many bytes were taken. */
/* host.post: fn(arg) runs on the hart's thread at its next look at the mailbox (any thread). */
void wb_sys_async_post(struct wb_machine *m, void (*fn)(void *), void *arg);
size_t wb_sys_async_console(struct wb_machine *m, const uint8_t *bytes, size_t n);

/* ---- csrs.c ---- */
int wb_sys_csr_read(wb_hart *h, unsigned csr, uint64_t *value);
int wb_sys_csr_write(wb_hart *h, unsigned csr, uint64_t value);
int wb_sys_csr_check(wb_hart *h, unsigned csr);
int wb_sys_csr_read_rmw(wb_hart *h, unsigned csr, uint64_t *value);
/* mip as software reads it: the software bits and the board's lines */
uint64_t wb_sys_mip(const wb_hart *h);

/* ---- mmu.c ---- */
enum { WB_ACC_LOAD = 0, WB_ACC_STORE = 1, WB_ACC_FETCH = 2 };
/* Translate virtual address va for an access of kind acc at h's effective privilege: 0 and
 * *pa, or -1 with *trap set (page fault or access fault). */
int wb_sys_translate(wb_hart *h, uint64_t va, int acc, uint64_t *pa, wb_trap *trap);
/* Physical accesses (RAM or a device): 0, or -1 (no RAM or device there: an access fault). */
int wb_sys_phys_read(struct wb_machine *m, uint64_t pa, unsigned size, uint64_t *v);
int wb_sys_phys_write(struct wb_machine *m, uint64_t pa, unsigned size, uint64_t v);
/* wb_sys_access and wb_sys_fetch16 (mmu.h): the interpreter's memory instructions and
 * fetches; a failed fetch keeps its fault in wb_sys_of(h)->fetch_fault, and a fetched RAM
 * page is marked as holding code. */
/* RAM [pa, pa + len) was written behind the harts' backs (a device's DMA): every cache drops
 * what it decoded from those pages. */
void wb_sys_ram_written(struct wb_machine *m, uint64_t pa, uint64_t len);
/* Empty h's TLB. */
void wb_sys_tlb_flush(wb_hart *h);

#endif
