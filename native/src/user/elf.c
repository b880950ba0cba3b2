/* elf.c — the ELF loader: validates a static RV64 Linux executable (ET_EXEC, or static-PIE
 * ET_DYN without PT_INTERP), maps its PT_LOAD segments into guest memory with their
 * permissions, and hands entry/phdr/brk to stack.c (wb_user_load).
 *
 * Every check produces a message meant for the user (it ends up in wb_machine_load's err), and
 * no input may crash the loader: all header fields are range-checked against the file size and
 * the guest address space before use, with overflow-safe arithmetic.
 *
 * PT_TLS needs nothing here (libc sets up TLS from the program headers); PT_GNU_STACK only
 * matters when it asks for an executable stack (gcc trampolines), which Linux honours too.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user_internal.h"

#define MAX_ELF_BYTES (1ull << 30)
#define MAX_PHNUM 4096
#define MIN_VADDR WB_PAGE_SIZE     /* page zero stays unmapped (NULL dereferences fault) */
#define STACK_LO (WB_STACK_TOP - WB_STACK_SIZE)

static const char *machine_name(unsigned mach) {
  switch (mach) {
    case 0: return "none";
    case 2: return "SPARC";
    case 3: return "x86 (i386)";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 21: return "PowerPC64";
    case 22: return "s390";
    case 40: return "ARM";
    case 43: return "SPARC v9";
    case 50: return "IA-64";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    case 247: return "BPF";
    case 258: return "LoongArch";
    default: return "unknown";
  }
}

static const char *type_name(unsigned t) {
  switch (t) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL";
    case ET_EXEC: return "ET_EXEC";
    case ET_DYN: return "ET_DYN";
    case ET_CORE: return "ET_CORE";
    default: return "unknown";
  }
}

/* Read the whole file (bounded). 0, or -1 with err set. Only a regular file is read: opened
 * with O_NONBLOCK, as opening a FIFO without a writer would wait forever, and a device
 * (/dev/zero) could be read forever; O_NONBLOCK changes nothing for a regular file. */
static int read_file(const char *path, uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s is not a regular file", path); /* directory, FIFO, device */
    close(fd);
    return -1;
  }
  if ((uint64_t)st.st_size > MAX_ELF_BYTES) {
    snprintf(err, errlen, "%s is too large (%lld bytes; at most %llu)", path,
             (long long)st.st_size, (unsigned long long)MAX_ELF_BYTES);
    close(fd);
    return -1;
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    snprintf(err, errlen, "out of host memory reading %s", path);
    close(fd);
    return -1;
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
      free(buf);
      close(fd);
      return -1;
    }
    if (r == 0) break; /* file shrank: validate what we have */
    got += (size_t)r;
  }
  close(fd);
  *out = buf;
  *outlen = got;
  return 0;
}

/* Compute the guest-visible path of the executable: its place under the root if it is there,
 * else "/<basename>" (the guest cannot name it anyway). */
static void exe_guest_path(wb_machine *m, const char *path) {
  wb_user *u = wb_u(m);
  char *real = realpath(path, NULL);
  free(u->exe_host);
  u->exe_host = real;
  if (real && wb_path_guest_of_host(m, real, u->exe_path, sizeof u->exe_path) == 0) return;
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  if (!*b) b = "a.out";
  snprintf(u->exe_path, sizeof u->exe_path, "/%s", b);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static int prot_of(uint32_t pf) {
  return ((pf & PF_R) ? WB_PROT_R : 0) | ((pf & PF_W) ? WB_PROT_W : 0) |
         ((pf & PF_X) ? WB_PROT_X : 0);
}

/* Validate the image in buf and load it. 0, or -1 with err set (nothing left mapped). */
static int load_image(wb_machine *m, const uint8_t *buf, size_t n, wb_image *img, char *err,
                      size_t errlen) {
  wb_mem *mem = &m->mem;
  if (n < SELFMAG || memcmp(buf, ELFMAG, SELFMAG) != 0)
    return fail(err, errlen, "not an ELF file (bad magic)");
  if (n < EI_NIDENT)
    return fail(err, errlen, "truncated ELF: file is %zu bytes, shorter than the ELF header", n);
  if (buf[EI_CLASS] == ELFCLASS32)
    return fail(err, errlen, "ELF is 32-bit; only 64-bit RISC-V is supported");
  if (buf[EI_CLASS] != ELFCLASS64)
    return fail(err, errlen, "ELF has an invalid class (%u)", buf[EI_CLASS]);
  if (buf[EI_DATA] == ELFDATA2MSB)
    return fail(err, errlen, "ELF is big-endian; only little-endian RISC-V is supported");
  if (buf[EI_DATA] != ELFDATA2LSB)
    return fail(err, errlen, "ELF has an invalid data encoding (%u)", buf[EI_DATA]);
  if (buf[EI_VERSION] != EV_CURRENT)
    return fail(err, errlen, "ELF has an unsupported version (%u)", buf[EI_VERSION]);
  if (n < sizeof(Elf64_Ehdr))
    return fail(err, errlen, "truncated ELF: file is %zu bytes, shorter than the ELF header", n);
  Elf64_Ehdr eh;
  memcpy(&eh, buf, sizeof eh);
  if (eh.e_machine != EM_RISCV)
    return fail(err, errlen, "ELF machine is %s (%u); expected RISC-V (243)",
                machine_name(eh.e_machine), eh.e_machine);
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return fail(err, errlen, "ELF type %s is not executable", type_name(eh.e_type));
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return fail(err, errlen, "bad ELF program header size %u (expected %zu)", eh.e_phentsize,
                sizeof(Elf64_Phdr));
  if (eh.e_phnum == 0) return fail(err, errlen, "ELF has no program headers");
  if (eh.e_phnum > MAX_PHNUM)
    return fail(err, errlen, "ELF has too many program headers (%u)", eh.e_phnum);
  Elf64_Phdr *ph = calloc(eh.e_phnum, sizeof *ph);
  if (!ph) return fail(err, errlen, "out of host memory");
  int rc = -1;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    uint64_t off = eh.e_phoff + (uint64_t)i * sizeof(Elf64_Phdr);
    if (off < eh.e_phoff || off > n || n - off < sizeof(Elf64_Phdr)) {
      fail(err, errlen, "truncated ELF: program header %u extends past end of file", i);
      goto out;
    }
    memcpy(&ph[i], buf + off, sizeof ph[i]);
  }

  /* Interpreter, segment sanity, address range. */
  uint64_t lo = UINT64_MAX, hi = 0;
  unsigned nload = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type == PT_INTERP) {
      char interp[256] = "?";
      if (p->p_offset < n && p->p_filesz > 0) {
        uint64_t len = p->p_filesz;
        if (len > n - p->p_offset) len = n - p->p_offset;
        if (len > sizeof interp - 1) len = sizeof interp - 1;
        memcpy(interp, buf + p->p_offset, len);
        interp[len] = 0;
        for (char *c = interp; *c; c++)
          if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
      }
      fail(err, errlen,
           "dynamically linked ELF (has PT_INTERP %s): only static executables are supported",
           interp);
      goto out;
    }
    if (p->p_type != PT_LOAD) continue;
    if (p->p_filesz > p->p_memsz) {
      fail(err, errlen,
           "bad ELF: segment %u (program header %u) has file size 0x%llx larger than its "
           "memory size 0x%llx", nload, i, (unsigned long long)p->p_filesz,
           (unsigned long long)p->p_memsz);
      goto out;
    }
    if (p->p_offset > n || p->p_filesz > n - p->p_offset) {
      fail(err, errlen, "truncated ELF: segment (program header %u) extends past end of file", i);
      goto out;
    }
    if (p->p_align > 1 && (p->p_align & (p->p_align - 1))) {
      fail(err, errlen, "bad ELF: program header %u has alignment 0x%llx, not a power of two",
           i, (unsigned long long)p->p_align);
      goto out;
    }
    nload++;
    if (p->p_memsz == 0) continue;
    if (p->p_vaddr + p->p_memsz < p->p_vaddr) {
      fail(err, errlen, "bad ELF: segment (program header %u) wraps around the address space", i);
      goto out;
    }
    if (p->p_vaddr < lo) lo = p->p_vaddr;
    if (p->p_vaddr + p->p_memsz > hi) hi = p->p_vaddr + p->p_memsz;
  }
  if (nload == 0 || hi == 0) {
    fail(err, errlen, "ELF has no loadable segments");
    goto out;
  }

  uint64_t bias = 0;
  if (eh.e_type == ET_DYN) {
    uint64_t lo_page = lo & ~(WB_PAGE_SIZE - 1);
    if (hi - lo_page > STACK_LO - WB_PIE_BASE) {
      fail(err, errlen, "ELF image is too large (0x%llx bytes) for the guest address space",
           (unsigned long long)(hi - lo_page));
      goto out;
    }
    bias = WB_PIE_BASE - lo_page;
  }
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
    uint64_t s = p->p_vaddr + bias, e = s + p->p_memsz;
    if (s < MIN_VADDR) {
      fail(err, errlen, "ELF segment (program header %u) at 0x%llx maps the zero page", i,
           (unsigned long long)s);
      goto out;
    }
    if (e > WB_GUEST_SPACE || e < s) {
      fail(err, errlen,
           "ELF segment (program header %u) 0x%llx-0x%llx lies outside the 4 GiB guest "
           "address space", i, (unsigned long long)s, (unsigned long long)e);
      goto out;
    }
    if (e > STACK_LO) {
      fail(err, errlen,
           "ELF segment (program header %u) 0x%llx-0x%llx overlaps the stack (0x%llx-0x%llx)", i,
           (unsigned long long)s, (unsigned long long)e, (unsigned long long)STACK_LO,
           (unsigned long long)WB_STACK_TOP);
      goto out;
    }
  }
  uint64_t entry = eh.e_entry + bias;
  img->bias = bias;

  /* Map everything writable first (segments may share pages), copy, then set final
   * permissions: a page shared by two segments gets the union of their permissions. */
  wb_mem_unmap(mem, 0, mem->size);
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
    uint64_t s = (p->p_vaddr + bias) & ~(WB_PAGE_SIZE - 1);
    uint64_t e = wb_page_up(p->p_vaddr + bias + p->p_memsz);
    /* Map only the pages not already mapped by an earlier segment (mapping zeroes). */
    for (uint64_t a = s; a < e;) {
      if (mem->perm[a >> WB_PAGE_SHIFT]) { a += WB_PAGE_SIZE; continue; }
      uint64_t b = a;
      while (b < e && !mem->perm[b >> WB_PAGE_SHIFT]) b += WB_PAGE_SIZE;
      int r = wb_mem_map(mem, a, b - a, WB_PROT_R | WB_PROT_W);
      if (r != 0) {
        fail(err, errlen,
             "ELF does not fit in guest memory: segment (program header %u) needs 0x%llx bytes "
             "at 0x%llx, memory limit is %llu bytes", i, (unsigned long long)(e - s),
             (unsigned long long)s, (unsigned long long)mem->limit);
        wb_mem_unmap(mem, 0, mem->size);
        goto out;
      }
      a = b;
    }
  }
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_filesz == 0) continue;
    memcpy(wb_mem_host(mem, p->p_vaddr + bias), buf + p->p_offset, p->p_filesz);
  }
  /* The bss (filesz..memsz, including the rest of the page holding the end of the file data)
   * is already zero: pages were mapped fresh and only filesz bytes were copied, unlike a file
   * mmap that would expose the following file bytes in the partial page. */
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
    uint64_t s = (p->p_vaddr + bias) & ~(WB_PAGE_SIZE - 1);
    uint64_t e = wb_page_up(p->p_vaddr + bias + p->p_memsz);
    wb_mem_protect(mem, s, e - s, prot_of(p->p_flags));
  }
  /* Boundary pages shared with other segments: union of permissions. */
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
    uint64_t edges[2] = {(p->p_vaddr + bias) & ~(WB_PAGE_SIZE - 1),
                         (p->p_vaddr + bias + p->p_memsz - 1) & ~(WB_PAGE_SIZE - 1)};
    for (int k = 0; k < 2; k++) {
      uint64_t pg = edges[k];
      int prot = 0;
      for (unsigned j = 0; j < eh.e_phnum; j++) {
        const Elf64_Phdr *q = &ph[j];
        if (q->p_type != PT_LOAD || q->p_memsz == 0) continue;
        uint64_t s2 = q->p_vaddr + bias, e2 = s2 + q->p_memsz;
        if (s2 < pg + WB_PAGE_SIZE && e2 > pg) prot |= prot_of(q->p_flags);
      }
      wb_mem_protect(mem, pg, WB_PAGE_SIZE, prot);
    }
  }

  if (!wb_mem_check(mem, entry, 2, WB_PROT_X)) {
    fail(err, errlen, "ELF entry point 0x%llx is not inside an executable segment",
         (unsigned long long)entry);
    wb_mem_unmap(mem, 0, mem->size);
    goto out;
  }

  /* AT_PHDR: PT_PHDR if present, else the PT_LOAD whose file range holds the table. */
  uint64_t phdr = 0, tbl = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
  for (unsigned i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_type == PT_PHDR) { phdr = ph[i].p_vaddr + bias; break; }
  if (phdr && !wb_mem_check(mem, phdr, tbl, WB_PROT_R)) phdr = 0;
  if (!phdr) {
    for (unsigned i = 0; i < eh.e_phnum; i++) {
      const Elf64_Phdr *p = &ph[i];
      if (p->p_type != PT_LOAD) continue;
      if (eh.e_phoff >= p->p_offset && eh.e_phoff - p->p_offset <= p->p_filesz &&
          p->p_filesz - (eh.e_phoff - p->p_offset) >= tbl) {
        phdr = p->p_vaddr + bias + (eh.e_phoff - p->p_offset);
        break;
      }
    }
  }
  if (phdr && !wb_mem_check(mem, phdr, tbl, WB_PROT_R)) phdr = 0;

  uint64_t brk = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    const Elf64_Phdr *p = &ph[i];
    if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
    uint64_t e = wb_page_up(p->p_vaddr + bias + p->p_memsz);
    if (e > brk) brk = e;
  }

  img->entry = entry;
  img->phdr = phdr;
  img->phent = sizeof(Elf64_Phdr);
  img->phnum = eh.e_phnum;
  img->phdrs = ph; /* ownership passes to the caller */
  img->brk = brk;
  img->stack_prot = WB_PROT_R | WB_PROT_W;
  for (unsigned i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_type == PT_GNU_STACK && (ph[i].p_flags & PF_X)) img->stack_prot |= WB_PROT_X;
  return 0;
out:
  free(ph);
  return rc;
}

int wb_user_load(wb_machine *m, const char *path, int argc, const char *const *argv, int envc,
                 const char *const *envp, char *err, size_t errlen) {
  wb_user *u = wb_u(m);
  if (!u) {
    snprintf(err, errlen, "machine has no user-mode state");
    return -1;
  }
  if (argc < 0 || envc < 0 || (argc > 0 && !argv) || (envc > 0 && !envp)) {
    snprintf(err, errlen, "bad argument vector");
    return -1;
  }
  uint8_t *buf;
  size_t n;
  if (read_file(path, &buf, &n, err, errlen) != 0) return -1;
  wb_image img;
  memset(&img, 0, sizeof img);
  int r = load_image(m, buf, n, &img, err, errlen);
  free(buf);
  if (r != 0) return -1;
  exe_guest_path(m, path);
  u->load_bias = img.bias;
  u->brk_start = u->brk_cur = img.brk;
  r = wb_stack_setup(m, &img, argc, argv, envc, envp, err, errlen);
  free((void *)img.phdrs);
  if (r != 0) {
    wb_mem_unmap(&m->mem, 0, m->mem.size);
    return -1;
  }
  u->cpu_start_ns = wb_guest_monotonic_ns(m);
  wb_machine_invalidate_code(m, 0, m->mem.size);
  return 0;
}
