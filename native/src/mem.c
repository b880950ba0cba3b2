/* mem.c — guest memory: the memfd behind the guest address space, the primary view, page
 * permissions and the committed/limit accounting (interface in mem.h).
 *
 * Why a memfd: dropping a page's contents is a hole punch (fallocate), so munmap/MADV_DONTNEED
 * really give memory back, and other views of the same space (a JIT may add one) see every
 * change. The view is mapped PROT_NONE once; mapping a guest page is an mprotect of the view.
 *
 * Host protection per guest protection: guest W needs host R|W (stores, and libc reads what it
 * wrote), guest R or X needs host R (the interpreter fetches through ordinary loads; execute
 * permission is enforced by the tiers from `perm`, not by the host). A guest PROT_NONE mapping
 * is host PROT_NONE but keeps WB_PERM_MAPPED in `perm`, so it still counts as mapped (mmap
 * placement, munmap, mprotect and the cap all see it).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem.h"

#define DEFAULT_LIMIT (1ull << 30)
/* Inaccessible host bytes after the view: an access a little past the end of the guest space
 * faults instead of touching whatever the host mapped there; and before it, so that a base
 * register just below 0 plus a small offset faults too. */
#define GUARD_BYTES (1ull << 20)
#define LOW_GUARD (1ull << 16)
/* Unmapped runs up to this size keep their host pages ("stale"), zeroed with memset when
 * mapped again: cheaper than punching a hole and taking a fault per page on the next touch
 * (malloc implementations map and unmap such chunks all the time). At most STALE_LIMIT
 * bytes are kept; past it every stale page is given back. */
#define STALE_RUN_MAX (1ull << 20)
#define STALE_LIMIT (64ull << 20)

static int host_prot(int prot) {
  if (prot & WB_PROT_W) return PROT_READ | PROT_WRITE;
  if (prot & (WB_PROT_R | WB_PROT_X)) return PROT_READ;
  return PROT_NONE;
}

static int range_ok(const wb_mem *m, uint64_t addr, uint64_t len) {
  return addr <= m->size && len <= m->size - addr;
}

static uint64_t page_up(uint64_t v) { return (v + WB_PAGE_SIZE - 1) & ~(WB_PAGE_SIZE - 1); }

int wb_mem_init(wb_mem *m, uint64_t size, uint64_t limit, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  m->memfd = -1;
  size = page_up(size);
  if (size == 0) {
    snprintf(err, errlen, "guest address space size is 0");
    return -1;
  }
  m->size = size;
  m->limit = limit ? limit : DEFAULT_LIMIT;
  m->perm = calloc(size >> WB_PAGE_SHIFT, 1);
  if (!m->perm) {
    snprintf(err, errlen, "out of host memory for the page table");
    return -1;
  }
  m->memfd = memfd_create("wb-guest", MFD_CLOEXEC);
  if (m->memfd < 0) {
    snprintf(err, errlen, "memfd_create failed: %s", strerror(errno));
    goto fail;
  }
  if (ftruncate(m->memfd, (off_t)size) != 0) {
    snprintf(err, errlen, "cannot size guest memory (%llu bytes): %s",
             (unsigned long long)size, strerror(errno));
    goto fail;
  }
  /* Reserve [low guard][primary view][room for a window view][guard] in one go (address
   * space only), then put the memfd over the primary part. */
  size_t rlen = LOW_GUARD + 2 * size + GUARD_BYTES;
  uint8_t *res = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (res == MAP_FAILED) {
    snprintf(err, errlen, "cannot reserve %llu bytes of host address space: %s",
             (unsigned long long)rlen, strerror(errno));
    goto fail;
  }
  void *view = mmap(res + LOW_GUARD, size, PROT_NONE, MAP_SHARED | MAP_FIXED, m->memfd, 0);
  if (view == MAP_FAILED) {
    snprintf(err, errlen, "cannot map the guest memory view: %s", strerror(errno));
    munmap(res, rlen);
    goto fail;
  }
  m->base = view;
  m->bound = size;
  m->views[0] = (wb_view){.base = view, .res = res, .res_len = rlen};
  m->nviews = 1;
  return 0;
fail:
  if (m->memfd >= 0) close(m->memfd);
  free(m->perm);
  memset(m, 0, sizeof *m);
  m->memfd = -1;
  return -1;
}

void wb_mem_fini(wb_mem *m) {
  for (int v = m->nviews - 1; v >= 0; v--) {
    if (m->views[v].res) munmap(m->views[v].res, m->views[v].res_len);
    else if (v > 0) munmap(m->views[v].base, m->size);
    free(m->views[v].deny);
    free(m->views[v].open);
  }
  free(m->code);
  if (m->rw) munmap(m->rw, m->size);
  free(m->stale);
  if (m->memfd >= 0) close(m->memfd);
  free(m->perm);
  memset(m, 0, sizeof *m);
  m->memfd = -1;
}

/* Bring view v's pages [p0, p0+np) in line with the guest protection minus the view's deny
 * bits (runs of equal protection in one mprotect each). */
static void sync_view(wb_mem *m, int v, uint64_t p0, uint64_t np) {
  wb_view *w = &m->views[v];
  uint64_t i = 0;
  while (i < np) {
    /* a lazily opened view's closed pages stay PROT_NONE */
    if (w->open && !w->open[p0 + i]) { i++; continue; }
    /* a fresh view is all PROT_NONE: skip unmapped pages fast when nothing is denied */
    if (!m->perm[p0 + i] && !w->deny[p0 + i] && w->fresh) { i++; continue; }
    int prot = 0;
    uint64_t j = i;
    for (; j < np; j++) {
      uint64_t p = p0 + j;
      if (w->open && !w->open[p]) break;
      if (w->open && !(m->perm[p] & WB_PERM_MAPPED)) w->open[p] = 0; /* closed again */
      int hp = m->perm[p] ? host_prot(m->perm[p] & WB_PROT_MASK) : PROT_NONE;
      if ((w->deny[p] & WB_DENY_WRITE) || wb_mem_code_page(m, p)) hp &= ~PROT_WRITE;
      if (w->deny[p] & WB_DENY_READ) hp = PROT_NONE;
      if (j == i) prot = hp;
      else if (hp != prot) break;
    }
    mprotect(w->base + ((p0 + i) << WB_PAGE_SHIFT), (j - i) << WB_PAGE_SHIFT, prot);
    i = j;
  }
  w->fresh = 0;
}

/* The same for every extra view (the guest's own protection of those pages changed). */
static void sync_views(wb_mem *m, uint64_t p0, uint64_t np) {
  for (int v = 1; v < m->nviews; v++) sync_view(m, v, p0, np);
}

/* Write-protect page p for its code (on = 1: its span is set) or give it the guest's
 * protection back (on = 0: its span is cleared), in every view. */
static void code_protect_page(wb_mem *m, uint64_t p, int on) {
  int hp = on ? PROT_READ : m->perm[p] ? host_prot(m->perm[p] & WB_PROT_MASK) : PROT_NONE;
  mprotect(m->base + (p << WB_PAGE_SHIFT), WB_PAGE_SIZE, hp);
  sync_views(m, p, 1);
}

/* Pages [p0, p0+np) were remapped, unmapped or reprotected (their translations are dropped
 * by the caller): their host protection is set anew, nothing is known about code on them. */
static void forget_code(wb_mem *m, uint64_t p0, uint64_t np) {
  if (m->code) memset(m->code + p0, 0, np * sizeof *m->code);
}

void wb_mem_protect_code(wb_mem *m, uint64_t addr, uint64_t end) {
#if defined(__x86_64__) && defined(__linux__)
  if (end > m->size) end = m->size;
  for (uint64_t a = addr; a < end; a = (a | (WB_PAGE_SIZE - 1)) + 1) {
    uint64_t p = a >> WB_PAGE_SHIFT;
    if ((m->perm[p] & (WB_PROT_W | WB_PROT_X)) != (WB_PROT_W | WB_PROT_X)) continue;
    if (!m->code && !(m->code = calloc(m->size >> WB_PAGE_SHIFT, sizeof *m->code))) return;
    uint16_t lo = (uint16_t)(a & (WB_PAGE_SIZE - 1));
    uint16_t hi = (uint16_t)(end - (p << WB_PAGE_SHIFT) < WB_PAGE_SIZE ? end - (p << WB_PAGE_SHIFT) : WB_PAGE_SIZE);
    struct wb_code_span *c = &m->code[p];
    if (c->hi) {
      if (lo < c->lo) c->lo = lo;
      if (hi > c->hi) c->hi = hi;
      continue;
    }
    c->lo = lo;
    c->hi = hi;
    code_protect_page(m, p, 1);
  }
#else
  (void)m; (void)addr; (void)end; /* writes cannot be told from reads in a fault here: rely on fence.i */
#endif
}

int wb_mem_unprotect_code(wb_mem *m, uint64_t addr, uint64_t len) {
  if (!m->code || len == 0 || addr >= m->size) return 0;
  uint64_t end = addr + len > m->size || addr + len < addr ? m->size : addr + len;
  int any = 0;
  for (uint64_t p = addr >> WB_PAGE_SHIFT; p <= (end - 1) >> WB_PAGE_SHIFT; p++) {
    if (!m->code[p].hi) continue;
    any = 1;
    m->code[p].lo = m->code[p].hi = 0;
    code_protect_page(m, p, 0);
  }
  return any;
}

int wb_mem_code_hit(const wb_mem *m, uint64_t addr, uint64_t len) {
  if (!m->code || len == 0 || addr >= m->size) return 0;
  uint64_t end = addr + len > m->size || addr + len < addr ? m->size : addr + len;
  for (uint64_t a = addr; a < end; a = (a | (WB_PAGE_SIZE - 1)) + 1) {
    uint64_t p = a >> WB_PAGE_SHIFT, off = a & (WB_PAGE_SIZE - 1);
    uint64_t eoff = end - (p << WB_PAGE_SHIFT) < WB_PAGE_SIZE ? end - (p << WB_PAGE_SHIFT) : WB_PAGE_SIZE;
    if (m->code[p].hi && off < m->code[p].hi && eoff > m->code[p].lo) return 1;
  }
  return 0;
}

uint8_t *wb_mem_rw_base(wb_mem *m) {
  if (!m->rw) {
    void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->memfd, 0);
    if (p != MAP_FAILED) m->rw = p;
  }
  return m->rw;
}

void wb_mem_will_write(wb_mem *m, uint64_t addr, uint64_t len) {
  addr = wb_mem_fold(m, addr);
  if (m->code && wb_mem_unprotect_code(m, addr, len) && m->code_written)
    m->code_written(m->code_written_ctx, addr, len);
}

int wb_mem_view_add(wb_mem *m, int window, char *err, size_t errlen) {
  if (m->nviews >= WB_MAX_VIEWS) { snprintf(err, errlen, "too many memory views (%d)", WB_MAX_VIEWS); return -1; }
  for (int v = 1; v < m->nviews; v++)
    if (window == 1 && m->views[v].window) { snprintf(err, errlen, "there is already a window view"); return -1; }
  wb_view w = {0};
  w.window = window == 1;
  w.fresh = 1;
  w.deny = calloc(m->size >> WB_PAGE_SHIFT, 1);
  w.open = window == 1 ? calloc(m->size >> WB_PAGE_SHIFT, 1) : NULL;
  if (!w.deny || (window == 1 && !w.open)) { free(w.deny); free(w.open); snprintf(err, errlen, "out of host memory"); return -1; }
  uint8_t *at;
  if (window == 1) {
    at = m->base + m->size;
  } else {
    w.res_len = LOW_GUARD + m->size + GUARD_BYTES;
    w.res = mmap(NULL, w.res_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w.res == MAP_FAILED) { free(w.deny); snprintf(err, errlen, "cannot reserve a view: %s", strerror(errno)); return -1; }
    at = w.res + LOW_GUARD;
  }
  w.base = mmap(at, m->size, PROT_NONE, MAP_SHARED | MAP_FIXED, m->memfd, 0);
  if (w.base == MAP_FAILED) {
    if (w.res) munmap(w.res, w.res_len);
    free(w.deny);
    free(w.open);
    snprintf(err, errlen, "cannot map a view: %s", strerror(errno));
    return -1;
  }
  int v = m->nviews++;
  m->views[v] = w;
  if (window == 1) m->bound = 2 * m->size;
  if (window == WB_VIEW_CLOSED) {
    /* every page denied: the fresh mapping (all PROT_NONE) is that already */
    m->views[v].window = 0;
    memset(m->views[v].deny, WB_DENY_READ | WB_DENY_WRITE, m->size >> WB_PAGE_SHIFT);
    m->views[v].fresh = 0;
    return v;
  }
  sync_view(m, v, 0, m->size >> WB_PAGE_SHIFT);
  return v;
}

int wb_mem_view_deny(wb_mem *m, int v, uint64_t addr, uint64_t len, int deny) {
  if (v <= 0 || v >= m->nviews) return -EINVAL;
  if (len == 0) return 0;
  uint64_t a0 = addr & ~(WB_PAGE_SIZE - 1), end = page_up(addr + len);
  if (end < a0 || !range_ok(m, a0, end - a0)) return -EINVAL;
  uint64_t p0 = a0 >> WB_PAGE_SHIFT, np = (end - a0) >> WB_PAGE_SHIFT;
  memset(m->views[v].deny + p0, deny & (WB_DENY_READ | WB_DENY_WRITE), np);
  /* pages a client cares about (a profiled object's) are opened now, not at their first
   * touch: when it lifts the deny, barrier pointers there must run at full speed at once */
  if (m->views[v].open)
    for (uint64_t i = 0; i < np; i++)
      if (m->perm[p0 + i] & WB_PERM_MAPPED) m->views[v].open[p0 + i] = 1;
  sync_view(m, v, p0, np);   /* only this view's deny bits changed */
  return 0;
}

int wb_mem_view_open(wb_mem *m, int v, uint64_t addr) {
  if (v <= 0 || v >= m->nviews || !m->views[v].open || addr >= m->size) return 0;
  uint64_t p = addr >> WB_PAGE_SHIFT;
  if (m->views[v].open[p] || !(m->perm[p] & WB_PERM_MAPPED)) return 0;
  m->views[v].open[p] = 1;
  sync_view(m, v, p, 1);
  return 1;
}

int wb_mem_view_of(const wb_mem *m, uintptr_t h, uint64_t *guest) {
  /* the primary reservation: [low guard][primary][window area][guard]; the guest address is
   * the offset from the primary base (a window view's addresses are its own + size) */
  uintptr_t b = (uintptr_t)m->base;
  if (h >= b - LOW_GUARD && h < b + 2 * m->size + GUARD_BYTES) {
    *guest = (uint64_t)(h - b);
    if (h < b + m->size) return 0;
    for (int v = 1; v < m->nviews; v++)
      if (m->views[v].window) return v;
    return 0;
  }
  for (int v = 1; v < m->nviews; v++) {
    uintptr_t w = (uintptr_t)m->views[v].base;
    if (!m->views[v].window && h >= w - LOW_GUARD && h < w + m->size + GUARD_BYTES) {
      *guest = (uint64_t)(h - w);
      return v;
    }
  }
  return -1;
}

/* Drop the contents of [addr, addr+len) (page-aligned): later reads see zeros. */
static void discard(wb_mem *m, uint64_t addr, uint64_t len) {
  if (len == 0) return;
  if (fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)addr,
                (off_t)len) != 0) {
    /* No hole punching (unusual filesystem behind memfd): zero through the memfd instead. */
    static const uint8_t zeros[65536];
    uint64_t done = 0;
    while (done < len) {
      size_t n = len - done < sizeof zeros ? (size_t)(len - done) : sizeof zeros;
      ssize_t w = pwrite(m->memfd, zeros, n, (off_t)(addr + done));
      if (w <= 0) break;
      done += (uint64_t)w;
    }
  }
}

/* Give back every stale page (see STALE_RUN_MAX). */
static void purge_stale(wb_mem *m) {
  uint64_t np = m->size >> WB_PAGE_SHIFT, run = 0;
  for (uint64_t p = 0; p <= np; p++) {
    if (p < np && m->stale[p]) { m->stale[p] = 0; run++; continue; }
    if (run) discard(m, (p - run) << WB_PAGE_SHIFT, run << WB_PAGE_SHIFT);
    run = 0;
  }
  m->stale_bytes = 0;
}

int wb_mem_map(wb_mem *m, uint64_t addr, uint64_t len, int prot) {
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (len == 0) return 0;
  if (len > m->size) return -ENOMEM;
  len = page_up(len);
  if (!range_ok(m, addr, len)) return -ENOMEM;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = len >> WB_PAGE_SHIFT, fresh = 0, dirty = 0;
  for (uint64_t i = 0; i < np; i++) {
    if (!(m->perm[p0 + i] & WB_PERM_MAPPED)) fresh++;
    if ((m->perm[p0 + i] & WB_PERM_MAPPED) || (m->stale && m->stale[p0 + i])) dirty++;
  }
  if (m->committed + fresh * WB_PAGE_SIZE > m->limit) return -ENOMEM;
  /* The range must read as zero. Untouched pages are; pages mapped before (a remap) or kept
   * stale after an unmap are zeroed: small runs with memset through a writable view, large
   * runs by punching a hole. */
  int hp = host_prot(prot);
  if (mprotect(m->base + addr, len, dirty && hp != (PROT_READ | PROT_WRITE) ? PROT_READ | PROT_WRITE : hp) != 0)
    return -ENOMEM;
  uint64_t run = 0;
  for (uint64_t i = 0; dirty && i <= np; i++) {
    int d = i < np && ((m->perm[p0 + i] & WB_PERM_MAPPED) || (m->stale && m->stale[p0 + i]));
    if (d) { run++; continue; }
    if (run) {
      uint64_t a = (p0 + i - run) << WB_PAGE_SHIFT, l = run << WB_PAGE_SHIFT;
      if (l <= STALE_RUN_MAX) memset(m->base + a, 0, l);
      else discard(m, a, l);
      if (m->stale)
        for (uint64_t k = p0 + i - run; k < p0 + i; k++)
          if (m->stale[k]) { m->stale[k] = 0; m->stale_bytes -= WB_PAGE_SIZE; }
    }
    run = 0;
  }
  if (dirty && hp != (PROT_READ | PROT_WRITE)) mprotect(m->base + addr, len, hp);
  memset(m->perm + p0, WB_PERM_MAPPED | (prot & WB_PROT_MASK), np);
  forget_code(m, p0, np);
  sync_views(m, p0, np);
  m->committed += fresh * WB_PAGE_SIZE;
  if (m->committed > m->peak) m->peak = m->committed;
  return 0;
}

int wb_mem_unmap(wb_mem *m, uint64_t addr, uint64_t len) {
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (len == 0) return 0;
  if (len > m->size) return -EINVAL;
  len = page_up(len);
  if (!range_ok(m, addr, len)) return -EINVAL;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = len >> WB_PAGE_SHIFT, was = 0;
  /* Only runs of mapped pages need work; unmapped pages are already PROT_NONE and empty. */
  uint64_t run = 0;
  for (uint64_t i = 0; i <= np; i++) {
    int mapped = i < np && (m->perm[p0 + i] & WB_PERM_MAPPED);
    if (mapped) {
      run++;
    } else if (run) {
      uint64_t a = (p0 + i - run) << WB_PAGE_SHIFT, l = run << WB_PAGE_SHIFT;
      mprotect(m->base + a, l, PROT_NONE);
      if (l <= STALE_RUN_MAX && (m->stale || (m->stale = calloc(m->size >> WB_PAGE_SHIFT, 1)))) {
        memset(m->stale + (p0 + i - run), 1, run);  /* kept; zeroed if mapped again */
        m->stale_bytes += l;
      } else {
        discard(m, a, l);
      }
      memset(m->perm + (p0 + i - run), 0, run);
      was += run;
      run = 0;
    }
  }
  if (m->stale_bytes > STALE_LIMIT) purge_stale(m);
  m->committed -= was * WB_PAGE_SIZE;
  forget_code(m, p0, np);
  sync_views(m, p0, np);
  return 0;
}

int wb_mem_protect(wb_mem *m, uint64_t addr, uint64_t len, int prot) {
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (len == 0) return 0;
  if (len > m->size) return -ENOMEM;
  len = page_up(len);
  if (!range_ok(m, addr, len)) return -ENOMEM;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = len >> WB_PAGE_SHIFT;
  for (uint64_t i = 0; i < np; i++)
    if (!(m->perm[p0 + i] & WB_PERM_MAPPED)) return -ENOMEM;
  if (mprotect(m->base + addr, len, host_prot(prot)) != 0) return -ENOMEM;
  memset(m->perm + p0, WB_PERM_MAPPED | (prot & WB_PROT_MASK), np);
  forget_code(m, p0, np);
  sync_views(m, p0, np);
  return 0;
}

int wb_mem_discard(wb_mem *m, uint64_t addr, uint64_t len) {
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (len == 0) return 0;
  if (len > m->size) return -ENOMEM;
  len = page_up(len);
  if (!range_ok(m, addr, len)) return -ENOMEM;
  uint64_t p0 = addr >> WB_PAGE_SHIFT, np = len >> WB_PAGE_SHIFT;
  for (uint64_t i = 0; i < np; i++)
    if (!(m->perm[p0 + i] & WB_PERM_MAPPED)) return -ENOMEM;
  discard(m, addr, len);
  return 0;
}

/* Length of the prefix of [addr, addr+len) (folded, inside the space) mapped with `need`. */
static uint64_t mapped_prefix(const wb_mem *m, uint64_t addr, uint64_t len, uint8_t need) {
  uint64_t p = addr >> WB_PAGE_SHIFT, last = (addr + len - 1) >> WB_PAGE_SHIFT;
  for (; p <= last; p++)
    if ((m->perm[p] & need) != need) break;
  if (p > last) return len;
  uint64_t end = p << WB_PAGE_SHIFT;
  return end > addr ? end - addr : 0;
}

/* The prefix, after asking the `missing` hook once about the rest (it may map it). */
static uint64_t usable_prefix(const wb_mem *m, uint64_t addr, uint64_t len, int prot) {
  uint8_t need = (uint8_t)(WB_PERM_MAPPED | (prot & WB_PROT_MASK));
  uint64_t n = mapped_prefix(m, addr, len, need);
  if (n < len && m->missing && m->missing(m->missing_ctx, addr + n, len - n))
    n = mapped_prefix(m, addr, len, need);
  return n;
}

int wb_mem_check(const wb_mem *m, uint64_t addr, uint64_t len, int prot) {
  addr = wb_mem_fold(m, addr);
  if (len == 0) return 1;
  if (!range_ok(m, addr, len)) return 0;
  return usable_prefix(m, addr, len, prot) == len;
}

uint64_t wb_mem_span(const wb_mem *m, uint64_t addr, uint64_t len, int prot) {
  addr = wb_mem_fold(m, addr);
  if (len == 0 || addr >= m->size) return 0;
  if (len > m->size - addr) len = m->size - addr;
  return usable_prefix(m, addr, len, prot);
}

int wb_mem_read(const wb_mem *m, uint64_t addr, void *dst, size_t len) {
  addr = wb_mem_fold(m, addr);
  if (!wb_mem_check(m, addr, len, WB_PROT_R)) return -EFAULT;
  if (len) memcpy(dst, m->base + addr, len);
  return 0;
}

int wb_mem_write(wb_mem *m, uint64_t addr, const void *src, size_t len) {
  addr = wb_mem_fold(m, addr);
  if (!wb_mem_check(m, addr, len, WB_PROT_W)) return -EFAULT;
  wb_mem_will_write(m, addr, len);
  if (len) memcpy(m->base + addr, src, len);
  return 0;
}

long wb_mem_read_str(const wb_mem *m, uint64_t addr, char *dst, size_t n) {
  addr = wb_mem_fold(m, addr);
  size_t done = 0;
  while (done < n) {
    uint64_t a = addr + done;
    if (a < addr || !wb_mem_check(m, a, 1, WB_PROT_R)) return -EFAULT;
    size_t chunk = (size_t)(WB_PAGE_SIZE - (a & (WB_PAGE_SIZE - 1)));
    if (chunk > n - done) chunk = n - done;
    const uint8_t *src = m->base + a;
    const uint8_t *nul = memchr(src, 0, chunk);
    if (nul) {
      size_t k = (size_t)(nul - src);
      memcpy(dst + done, src, k + 1);
      return (long)(done + k);
    }
    memcpy(dst + done, src, chunk);
    done += chunk;
  }
  if (n) dst[n - 1] = 0;
  return -ENAMETOOLONG;
}

int wb_mem_copy(wb_mem *m, uint64_t dst, uint64_t src, uint64_t len) {
  dst = wb_mem_fold(m, dst);
  src = wb_mem_fold(m, src);
  if (!range_ok(m, dst, len) || !range_ok(m, src, len)) return -EFAULT;
  if (!wb_mem_check(m, dst, len, WB_PROT_W)) return -EFAULT;
  wb_mem_will_write(m, dst, len);
  /* Read through the memfd, not the view: the source may be host-inaccessible (PROT_NONE). */
  uint64_t done = 0;
  while (done < len) {
    ssize_t r = pread(m->memfd, m->base + dst + done, (size_t)(len - done), (off_t)(src + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -EFAULT;
    done += (uint64_t)r;
  }
  return 0;
}
