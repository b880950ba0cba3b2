/* sys_mem.c — memory-management syscalls: brk, mmap, munmap, mprotect, mremap, madvise,
 * msync, mincore, mlock, riscv_flush_icache.
 *
 * All mappings are anonymous memory in the guest memfd (mem.c). File mappings are filled by
 * copying the file contents in (pread): exact for MAP_PRIVATE; for MAP_SHARED, stores are not
 * written back to the file (acceptable for single-process guests; documented limitation), and
 * a mapping past the end of the file reads zeros instead of raising SIGBUS. Placement without
 * MAP_FIXED is top-down below WB_MMAP_TOP, like Linux's default layout.
 *
 * Whenever pages that may hold translated code change (unmapped, replaced, lose or gain
 * execute permission, zeroed), the execution tiers are told through
 * wb_machine_invalidate_code.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user_internal.h"

#define G_MAP_SHARED 0x01
#define G_MAP_PRIVATE 0x02
#define G_MAP_SHARED_VALIDATE 0x03
#define G_MAP_TYPE 0x0f
#define G_MAP_FIXED 0x10
#define G_MAP_ANONYMOUS 0x20
#define G_MAP_FIXED_NOREPLACE 0x100000
#define G_PROT_GROWSDOWN 0x01000000
#define G_PROT_GROWSUP 0x02000000

#define MMAP_LO 0x10000ull /* lowest address mmap picks by itself (Linux mmap_min_addr) */

static int any_perm(const wb_mem *mem, uint64_t addr, uint64_t len, uint8_t bits) {
  for (uint64_t a = addr; a < addr + len; a += WB_PAGE_SIZE)
    if (mem->perm[a >> WB_PAGE_SHIFT] & bits) return 1;
  return 0;
}

static int all_free(const wb_mem *mem, uint64_t addr, uint64_t len) {
  if (addr > mem->size || len > mem->size - addr) return 0;
  return !any_perm(mem, addr, len, 0xff);
}

static int all_mapped(const wb_mem *mem, uint64_t addr, uint64_t len) {
  for (uint64_t a = addr; a < addr + len; a += WB_PAGE_SIZE)
    if (!(mem->perm[a >> WB_PAGE_SHIFT] & WB_PERM_MAPPED)) return 0;
  return 1;
}

static void invalidate_if_exec(wb_machine *m, uint64_t addr, uint64_t len) {
  if (any_perm(&m->mem, addr, len, WB_PROT_X)) wb_machine_invalidate_code(m, addr, len);
}

/* ---- brk ---- */

WB_SYS(brk) {
  wb_user *u = wb_u(m);
  uint64_t want = a[0];
  if (want < u->brk_start || want > m->mem.size) return (long)u->brk_cur;
  uint64_t old_end = wb_page_up(u->brk_cur), new_end = wb_page_up(want);
  if (new_end > old_end) {
    if (!all_free(&m->mem, old_end, new_end - old_end)) return (long)u->brk_cur;
    if (wb_mem_map(&m->mem, old_end, new_end - old_end, WB_PROT_R | WB_PROT_W) != 0)
      return (long)u->brk_cur; /* over the cap: Linux reports failure by not moving */
  } else if (new_end < old_end) {
    invalidate_if_exec(m, new_end, old_end - new_end);
    wb_mem_unmap(&m->mem, new_end, old_end - new_end);
  }
  u->brk_cur = want;
  return (long)want;
}

/* ---- mmap ---- */

static long fill_from_file(wb_machine *m, int host, uint64_t addr, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  wb_mem_will_write(&m->mem, addr, len);
  while (done < len) {
    ssize_t r = pread(host, wb_mem_host(&m->mem, addr + done), (size_t)(len - done),
                      (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) break; /* end of file: the rest stays zero */
    done += (uint64_t)r;
  }
  return 0;
}

WB_SYS(mmap) {
  wb_mem *mem = &m->mem;
  uint64_t addr = a[0], len = a[1], flags = a[3], off = a[5];
  int prot = (int)(a[2] & WB_PROT_MASK);
  uint64_t type = flags & G_MAP_TYPE;
  if (type != G_MAP_SHARED && type != G_MAP_PRIVATE && type != G_MAP_SHARED_VALIDATE)
    return -EINVAL;
  if (len == 0 || (off & (WB_PAGE_SIZE - 1))) return -EINVAL;
  if (len > mem->size) return -ENOMEM;
  len = wb_page_up(len);

  int host = -1, file = 0;
  if (!(flags & G_MAP_ANONYMOUS)) {
    wb_fd *e = wb_fd_get(m, a[4]);
    if (!e) return -EBADF;
    if (e->kind != WB_FD_HOST) return -ENODEV;
    struct stat st;
    if (fstat(e->host, &st) != 0) return -errno;
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
      int fl = fcntl(e->host, F_GETFL);
      if (fl < 0) return -EBADF;
      if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_PATH)) return -EACCES;
      if (type != G_MAP_PRIVATE && (prot & WB_PROT_W) && (fl & O_ACCMODE) != O_RDWR)
        return -EACCES;
      if (off > INT64_MAX - len) return -EOVERFLOW;
      host = e->host;
      file = 1;
    } else if (!S_ISCHR(st.st_mode)) {
      return -ENODEV; /* pipes, directories, sockets cannot be mapped */
    }
    /* character devices (/dev/zero): an anonymous zero mapping */
  }

  if (flags & (G_MAP_FIXED | G_MAP_FIXED_NOREPLACE)) {
    if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
    if (addr < WB_PAGE_SIZE) return -EPERM;
    if (addr > mem->size || len > mem->size - addr) return -ENOMEM;
    if ((flags & G_MAP_FIXED_NOREPLACE) && !all_free(mem, addr, len)) return -EEXIST;
  } else {
    uint64_t hint = addr & ~(WB_PAGE_SIZE - 1);
    if (hint >= MMAP_LO && all_free(mem, hint, len)) {
      addr = hint;
    } else {
      addr = wb_vma_find_free(mem, len, MMAP_LO, WB_MMAP_TOP);
      if (!addr) return -ENOMEM;
    }
  }

  invalidate_if_exec(m, addr, len);
  int r = wb_mem_map(mem, addr, len, file ? (WB_PROT_R | WB_PROT_W) : prot);
  if (r != 0) return r;
  if (file) {
    long fr = fill_from_file(m, host, addr, len, off);
    if (fr != 0) {
      wb_mem_unmap(mem, addr, len);
      return fr;
    }
    wb_mem_protect(mem, addr, len, prot);
  }
  return (long)addr;
}

WB_SYS(munmap) {
  wb_mem *mem = &m->mem;
  uint64_t addr = a[0], len = a[1];
  if ((addr & (WB_PAGE_SIZE - 1)) || len == 0) return -EINVAL;
  len = wb_page_up(len);
  if (len == 0 || addr + len < addr) return -EINVAL;
  if (addr >= mem->size) return 0; /* valid user addresses with nothing mapped */
  if (len > mem->size - addr) len = mem->size - addr;
  invalidate_if_exec(m, addr, len);
  return wb_mem_unmap(mem, addr, len);
}

WB_SYS(mprotect) {
  wb_mem *mem = &m->mem;
  uint64_t addr = a[0], len = a[1], p = a[2];
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (p & ~(uint64_t)(WB_PROT_MASK | G_PROT_GROWSDOWN | G_PROT_GROWSUP)) return -EINVAL;
  if (len == 0) return 0;
  len = wb_page_up(len);
  if (len == 0 || addr > mem->size || len > mem->size - addr) return -ENOMEM;
  if (!all_mapped(mem, addr, len)) return -ENOMEM;
  if ((p & WB_PROT_X) || any_perm(mem, addr, len, WB_PROT_X))
    wb_machine_invalidate_code(m, addr, len);
  return wb_mem_protect(mem, addr, len, (int)(p & WB_PROT_MASK));
}

/* ---- mremap ---- */

#define G_MREMAP_MAYMOVE 1
#define G_MREMAP_FIXED 2
#define G_MREMAP_DONTUNMAP 4

/* Give [dst, dst+n) the per-page permissions of [src, src+n). */
static void copy_perms(wb_mem *mem, uint64_t dst, uint64_t src, uint64_t n) {
  uint64_t i = 0;
  while (i < n) {
    uint8_t p = mem->perm[(src + i) >> WB_PAGE_SHIFT] & WB_PROT_MASK;
    uint64_t j = i + WB_PAGE_SIZE;
    while (j < n && (mem->perm[(src + j) >> WB_PAGE_SHIFT] & WB_PROT_MASK) == p) j += WB_PAGE_SIZE;
    wb_mem_protect(mem, dst + i, j - i, p);
    i = j;
  }
}

/* Move a mapping by copying; the old range is unmapped. Returns dst or -errno. */
static long move_mapping(wb_machine *m, uint64_t old, uint64_t oldsz, uint64_t newsz,
                         uint64_t dst) {
  wb_mem *mem = &m->mem;
  uint8_t last = mem->perm[(old + oldsz - 1) >> WB_PAGE_SHIFT] & WB_PROT_MASK;
  invalidate_if_exec(m, dst, newsz);
  /* The old pages are released right after the copy: let the cap count them once. */
  uint64_t keep = oldsz < newsz ? oldsz : newsz, peak = mem->peak;
  mem->limit += oldsz;
  int r = wb_mem_map(mem, dst, newsz, WB_PROT_R | WB_PROT_W);
  mem->limit -= oldsz;
  if (r != 0) {
    mem->peak = peak;
    return r;
  }
  wb_mem_copy(mem, dst, old, keep);
  copy_perms(mem, dst, old, keep);
  if (newsz > keep) wb_mem_protect(mem, dst + keep, newsz - keep, last);
  invalidate_if_exec(m, old, oldsz);
  wb_mem_unmap(mem, old, oldsz);
  if (mem->committed > mem->limit) {
    /* Still over the cap (the move grew the mapping): undo. */
    wb_mem_unmap(mem, dst, newsz);
    mem->peak = peak;
    return -ENOMEM;
  }
  mem->peak = peak > mem->committed ? peak : mem->committed;
  return (long)dst;
}

WB_SYS(mremap) {
  wb_mem *mem = &m->mem;
  uint64_t old = a[0], oldsz = a[1], newsz = a[2], flags = a[3], naddr = a[4];
  if (flags & ~(uint64_t)7) return -EINVAL;
  if (flags & G_MREMAP_DONTUNMAP) return -EINVAL; /* not supported */
  if ((flags & G_MREMAP_FIXED) && !(flags & G_MREMAP_MAYMOVE)) return -EINVAL;
  if (old & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (oldsz > mem->size || newsz > mem->size) return -ENOMEM;
  oldsz = wb_page_up(oldsz);
  newsz = wb_page_up(newsz);
  if (newsz == 0 || oldsz == 0) return -EINVAL;
  if (old > mem->size || oldsz > mem->size - old || !all_mapped(mem, old, oldsz)) return -EFAULT;

  if (flags & G_MREMAP_FIXED) {
    if (naddr & (WB_PAGE_SIZE - 1)) return -EINVAL;
    if (naddr < WB_PAGE_SIZE || naddr > mem->size || newsz > mem->size - naddr) return -EINVAL;
    if (naddr < old + oldsz && old < naddr + newsz) return -EINVAL;
    return move_mapping(m, old, oldsz, newsz, naddr);
  }
  if (newsz <= oldsz) {
    if (newsz < oldsz) {
      invalidate_if_exec(m, old + newsz, oldsz - newsz);
      wb_mem_unmap(mem, old + newsz, oldsz - newsz);
    }
    return (long)old;
  }
  uint64_t tail = old + oldsz, grow = newsz - oldsz;
  if (all_free(mem, tail, grow)) {
    uint8_t last = mem->perm[(tail - 1) >> WB_PAGE_SHIFT] & WB_PROT_MASK;
    int r = wb_mem_map(mem, tail, grow, last);
    if (r == 0) return (long)old;
    if (!(flags & G_MREMAP_MAYMOVE)) return r;
  }
  if (!(flags & G_MREMAP_MAYMOVE)) return -ENOMEM;
  uint64_t dst = wb_vma_find_free(mem, newsz, MMAP_LO, WB_MMAP_TOP);
  if (!dst) return -ENOMEM;
  return move_mapping(m, old, oldsz, newsz, dst);
}

/* ---- advice and friends ---- */

WB_SYS(madvise) {
  wb_mem *mem = &m->mem;
  uint64_t addr = a[0], len = a[1];
  int advice = (int)a[2];
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  if (len == 0) return 0;
  len = wb_page_up(len);
  if (len == 0 || addr > mem->size || len > mem->size - addr) return -ENOMEM;
  if (!(advice >= 0 && advice <= 4) && !(advice >= 8 && advice <= 26) && advice != 100 &&
      advice != 101)
    return -EINVAL;
  if (!all_mapped(mem, addr, len)) return -ENOMEM;
  if (advice == 4 /* MADV_DONTNEED */ || advice == 9 /* MADV_REMOVE */) {
    invalidate_if_exec(m, addr, len);
    return wb_mem_discard(mem, addr, len);
  }
  return 0; /* MADV_FREE may keep contents; the other advice changes nothing visible */
}

WB_SYS(msync) {
  uint64_t addr = a[0], len = a[1], flags = a[2];
  if ((addr & (WB_PAGE_SIZE - 1)) || (flags & ~(uint64_t)7) || (flags & 5) == 5) return -EINVAL;
  len = wb_page_up(len);
  if (addr > m->mem.size || len > m->mem.size - addr || !all_mapped(&m->mem, addr, len))
    return -ENOMEM;
  return 0;
}

WB_SYS(mincore) {
  wb_mem *mem = &m->mem;
  uint64_t addr = a[0], len = a[1];
  if (addr & (WB_PAGE_SIZE - 1)) return -EINVAL;
  len = wb_page_up(len);
  if (addr > mem->size || len > mem->size - addr) return -ENOMEM;
  uint64_t n = len >> WB_PAGE_SHIFT;
  if (n == 0) return 0;
  if (!wb_mem_check(mem, a[2], n, WB_PROT_W)) return -EFAULT;
  if (!all_mapped(mem, addr, len)) return -ENOMEM;
  wb_mem_will_write(mem, a[2], n);
  memset(wb_mem_host(mem, a[2]), 1, (size_t)n);
  return 0;
}

WB_SYS(mlock) {
  uint64_t addr = a[0] & ~(WB_PAGE_SIZE - 1);
  uint64_t len = wb_page_up(a[1] + (a[0] - addr));
  if (addr > m->mem.size || len > m->mem.size - addr || !all_mapped(&m->mem, addr, len))
    return -ENOMEM;
  return 0;
}

WB_SYS(riscv_flush_icache) {
  if (a[2] & ~(uint64_t)1) return -EINVAL;
  uint64_t s = a[0], e = a[1];
  if (e > s && s < m->mem.size) {
    if (e > m->mem.size) e = m->mem.size;
    wb_machine_invalidate_code(m, s, e - s);
  } else {
    wb_machine_invalidate_code(m, 0, m->mem.size);
  }
  return 0;
}
