/* mem.h — guest memory: one memfd holding the whole guest address space, seen through views.
 *
 * The guest address space is [0, size). The memfd is `size` bytes long (sparse: only touched
 * pages use host memory). The primary view maps all of it at `base`, so guest address a lives
 * at host address base + a; every tier addresses memory that way after checking a < size - 8
 * (addresses beyond the space fault). Pages the guest has not mapped are PROT_NONE in the view,
 * so a stray access raises a host SIGSEGV that the engine turns into a guest fault.
 *
 * `perm` keeps the guest's own view of each 4 KiB page (WB_PROT_* bits, 0 = unmapped): it
 * answers fetch checks (execute permission is not enforced by the host view) and mmap
 * bookkeeping. `committed` counts mapped bytes against `limit` (the run's memory cap).
 */
#ifndef WB_MEM_H
#define WB_MEM_H
#include <stddef.h>
#include <stdint.h>

#define WB_PAGE_SIZE 4096ull
#define WB_PAGE_SHIFT 12
enum { WB_PROT_R = 1, WB_PROT_W = 2, WB_PROT_X = 4 };
/* Added by user/: `perm` also carries WB_PERM_MAPPED on every mapped page, so that guest
 * PROT_NONE mappings (perm == WB_PERM_MAPPED) count as mapped. Test WB_PROT_* bits with a
 * mask; a page is unmapped iff perm == 0. */
#define WB_PERM_MAPPED 0x80
/* Bit 0x40 of `perm` is left to the platform's own page bookkeeping (user/vma.c:
 * WB_PERM_RESERVED); mapping a page clears it. */
#define WB_PROT_MASK (WB_PROT_R | WB_PROT_W | WB_PROT_X)

/* views of one memory: the primary, a window, the watchpoint unit's filter and one per guest
 * thread for per-thread protection (clients/aikido.c: at most 64 threads at once) */
#define WB_MAX_VIEWS 72
/* Deny bits of a view (wb_mem_view_deny): accesses of that kind fault in that view only. */
enum { WB_DENY_READ = 1, WB_DENY_WRITE = 2 };

/* A view: one more host mapping of the whole guest memory (the same memfd), with page
 * protections of its own: the guest's protection minus the view's deny bits. A window view
 * is placed right after the primary one, so guest addresses [size, 2*size) reach memory
 * through it (pointers into protected memory: the barrier profiler); other views are
 * switched to as a whole by a hart (wb_hart.view: per-thread protection). */
typedef struct wb_view {
  uint8_t *base;        /* host address of guest address 0 in this view */
  uint8_t *deny;        /* per page WB_DENY_* bits (NULL for the primary view) */
  uint8_t *res;         /* the host reservation holding it (NULL: inside the primary's) */
  size_t res_len;
  int window;           /* 1: reachable at guest addresses + size */
  /* Window views are opened lazily: a page is PROT_NONE until the first access through the
   * window touches it (wb_mem_view_open), and only opened pages follow the guest's mappings.
   * Guest mmap/munmap/brk then cost nothing extra for the many pages no barrier pointer
   * reaches. NULL: every page follows the guest (whole alternative views). */
  uint8_t *open;
  int fresh;            /* just mapped (all PROT_NONE): the first sync skips unmapped pages */
} wb_view;

typedef struct wb_mem {
  int memfd;
  uint8_t *base;        /* primary view (views[0].base) */
  uint64_t size;        /* bytes of guest address space (a multiple of the page size) */
  uint64_t bound;       /* guest addresses below this reach memory: size, 2*size with a window */
  wb_view views[WB_MAX_VIEWS];
  int nviews;           /* views[0] is the primary */
  /* Pages the guest may both write and execute, from which code was translated, are made
   * read-only in every view, so a guest write to translated code faults and the engine drops
   * the translations first. code[p] is the byte range [lo, hi) of page p that translations
   * were built from; hi != 0 is what marks the page code-protected (wb_mem_code_page). A
   * store outside the range (data sharing a page with code) keeps the translations. It may
   * be wider than the live translations (a flush does not shrink it): that only costs a
   * flush. NULL until a W+X page holds translated code. */
  struct wb_code_span { uint16_t lo, hi; } *code;
  uint8_t *rw;          /* wb_mem_rw_base, or NULL */
  uint8_t *stale;       /* unmapped pages whose host memory was kept (mem.c, STALE_RUN_MAX) */
  uint64_t stale_bytes;
  void (*code_written)(void *ctx, uint64_t addr, uint64_t len); /* host-side writes hit code */
  void *code_written_ctx;
  /* Asked when a check finds bytes not mapped with the needed protection (a syscall's buffer):
   * it may map them (a client growing memory lazily) and return 1 to have the check redone. */
  int (*missing)(void *ctx, uint64_t addr, uint64_t len);
  void *missing_ctx;
  uint8_t *perm;        /* size >> 12 entries of WB_PROT_* bits */
  uint64_t committed;   /* bytes mapped now */
  uint64_t peak;        /* most bytes ever mapped */
  uint64_t limit;       /* cap on committed */
} wb_mem;

/* Reserve a guest address space of `size` bytes with a cap of `limit` mapped bytes. */
int wb_mem_init(wb_mem *m, uint64_t size, uint64_t limit, char *err, size_t errlen);
void wb_mem_fini(wb_mem *m);
/* Map [addr, addr+len) (page-aligned, rounded up) zero-filled with prot. Remaps (and zeroes)
 * pages already mapped. Returns 0 or -errno (-ENOMEM over the cap or outside the space). */
int wb_mem_map(wb_mem *m, uint64_t addr, uint64_t len, int prot);
/* Unmap: pages become inaccessible and their contents are dropped. 0 or -errno. */
int wb_mem_unmap(wb_mem *m, uint64_t addr, uint64_t len);
/* Change protection of mapped pages. 0, or -ENOMEM if any page in the range is unmapped. */
int wb_mem_protect(wb_mem *m, uint64_t addr, uint64_t len, int prot);
/* 1 if every byte of [addr, addr+len) is mapped with all of `prot`, else 0. */
int wb_mem_check(const wb_mem *m, uint64_t addr, uint64_t len, int prot);
/* Copy between host and guest with permission checks (no faults): 0 or -EFAULT. These, the
 * checks and spans below take window addresses too (wb_mem_fold). */
int wb_mem_read(const wb_mem *m, uint64_t addr, void *dst, size_t len);
int wb_mem_write(wb_mem *m, uint64_t addr, const void *src, size_t len);
/* Copy a NUL-terminated guest string into dst (at most n bytes incl. NUL).
 * Returns its length, -EFAULT, or -ENAMETOOLONG. */
long wb_mem_read_str(const wb_mem *m, uint64_t addr, char *dst, size_t n);

/* Added by user/: length of the prefix of [addr, addr+len) mapped with all of `prot` (0 if
 * the first byte is not), so I/O into a guest buffer can stop at the first bad page. */
uint64_t wb_mem_span(const wb_mem *m, uint64_t addr, uint64_t len, int prot);
/* Added by user/: drop the contents of mapped pages (they read as zero), permissions kept.
 * 0, or -ENOMEM if a page in the range is unmapped (MADV_DONTNEED). */
int wb_mem_discard(wb_mem *m, uint64_t addr, uint64_t len);
/* Added by user/: copy len bytes of guest memory src -> dst whatever the source's protection
 * (read through the memfd; dst must be writable). 0 or -EFAULT (mremap moves). */
int wb_mem_copy(wb_mem *m, uint64_t dst, uint64_t src, uint64_t len);

/* A guest address through a window view (a barrier pointer, [size, 2*size)) names the same
 * memory as addr - size: the host-side accessors (syscalls) fold it back, so pointers into
 * the window work in every syscall. */
static inline uint64_t wb_mem_fold(const wb_mem *m, uint64_t addr) {
  return m->bound > m->size && addr >= m->size && addr < m->bound ? addr - m->size : addr;
}
static inline uint8_t *wb_mem_host(const wb_mem *m, uint64_t addr) { return m->base + wb_mem_fold(m, addr); }

/* A block was built from [addr, end) (its last instruction may reach into the next page):
 * pages of it the guest can write and execute are write-protected (all views) so that guest
 * writes to them fault (self-modifying code), and the code's bytes are noted (code[]). */
void wb_mem_protect_code(wb_mem *m, uint64_t addr, uint64_t end);
/* Make the code-protected pages of [addr, addr+len) writable again and forget their code (the
 * caller drops their translations). Returns 1 if there were any. */
int wb_mem_unprotect_code(wb_mem *m, uint64_t addr, uint64_t len);
/* 1 if page p is write-protected for the code translated from it. */
static inline int wb_mem_code_page(const wb_mem *m, uint64_t p) { return m->code && m->code[p].hi; }
/* 1 if [addr, addr+len) overlaps bytes that translated code was built from (code[]). */
int wb_mem_code_hit(const wb_mem *m, uint64_t addr, uint64_t len);
/* Base of a mapping of the whole guest memory [0, size) that the host can always write
 * (made on first use; NULL if it cannot be): the engine completes a guest store beside
 * write-protected code through it, leaving the protections alone (an mprotect per store
 * splits and merges host mappings: slow). Only for accesses already checked. */
uint8_t *wb_mem_rw_base(wb_mem *m);

/* The host is about to write [addr, addr+len) of guest memory directly (a syscall filling
 * a buffer): translated code in those pages is dropped first (code_written). */
void wb_mem_will_write(wb_mem *m, uint64_t addr, uint64_t len);

/* Add a view (window 1: reachable at guest addresses + size; at most one). Returns its index,
 * or -1 with a message. Its pages start with the guest's protections, nothing denied; or,
 * window = WB_VIEW_CLOSED, a whole view with every page denied (cheap: nothing to sync). */
#define WB_VIEW_CLOSED 2
int wb_mem_view_add(wb_mem *m, int window, char *err, size_t errlen);
/* Set the deny bits (WB_DENY_*) of the pages of [addr, addr+len) in view v. 0 or -errno. */
int wb_mem_view_deny(wb_mem *m, int v, uint64_t addr, uint64_t len, int deny);
/* A lazily opened view's page holding guest address addr was touched: open it (its
 * protection now follows the guest's minus the deny bits). 1 if it was closed, else 0. */
int wb_mem_view_open(wb_mem *m, int v, uint64_t addr);
/* Which view host address h falls in (guards included): its index and the guest address
 * (for a window view: the address the guest used, in [size, 2*size)); -1 if none. */
int wb_mem_view_of(const wb_mem *m, uintptr_t h, uint64_t *guest);
/* Base the tiers address guest memory through in view v (a hart's active view). */
static inline uint8_t *wb_mem_view_base(const wb_mem *m, int v) { return m->views[v].base; }

#endif
