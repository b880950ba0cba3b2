/* boot.c — making a system-mode machine: RAM, the board, and what qemu's virt machine puts in
 * memory before its first instruction (firmware at the start of RAM, the kernel 2 MiB above
 * it where OpenSBI's fw_jump jumps, the initramfs at half of RAM, the device tree near the
 * top), then hart 0 in M mode at the firmware with a0 = hart id, a1 = the device tree, as
 * qemu's reset vector leaves it. Every image is checked before it is copied: a file that is
 * missing, empty, too big for its place, or not a RISC-V image is a clear error.
 */
#define WB_API __attribute__((visibility("default")))
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "system.h"
#include "../interp.h"
#include "../jit/jit.h"
#include "../machine.h"
#include "../platform.h"
#include "../scheduler.h"

#define KERNEL_OFFSET (2ull << 20)
#define FDT_MAX (64u << 10)

extern const wb_board_host wb_sys_board_host;

/* Read a whole file (at most max bytes): malloc'd buffer and *len, or NULL with err. */
static uint8_t *slurp(const char *what, const char *path, uint64_t max, uint64_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) { snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno)); return NULL; }
  uint8_t *buf = NULL;
  uint64_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : (1u << 20);
      if (cap > max + 1) cap = max + 1;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) { free(buf); fclose(f); snprintf(err, errlen, "out of host memory"); return NULL; }
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
    if (n > max) {
      free(buf); fclose(f);
      snprintf(err, errlen, "%s %s is larger than the %llu bytes of RAM it may use", what, path,
               (unsigned long long)max);
      return NULL;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (bad || n == 0) {
    free(buf);
    snprintf(err, errlen, "%s %s: %s", what, path, bad ? "read error" : "empty file");
    return NULL;
  }
  *len = n;
  return buf;
}

/* Copy an image into RAM at offset off: a RISC-V ELF by its loadable segments (placed relative
 * to its lowest address), anything else as raw bytes. *entry_off: where it starts. */
static int place(wb_system *s, const char *what, const uint8_t *img, uint64_t len, uint64_t off,
                 uint64_t room, uint64_t *entry_off, char *err, size_t errlen) {
  *entry_off = off;
  if (len >= sizeof(Elf64_Ehdr) && !memcmp(img, ELFMAG, SELFMAG)) {
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_RISCV) {
      snprintf(err, errlen, "%s is an ELF file but not a 64-bit RISC-V one", what);
      return -1;
    }
    if (eh->e_phoff > len || eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr)) {
      snprintf(err, errlen, "%s: truncated ELF (program headers outside the file)", what);
      return -1;
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
    /* Segments whose physical addresses lie in this image's part of RAM go there (as qemu
     * loads ELF files); otherwise (a vmlinux linked at its virtual addresses) the image is
     * placed at off, keeping the segments' distances from the lowest one. */
    uint64_t lo = UINT64_MAX, base = WB_VIRT_DRAM_BASE + off;
    int physical = 1;
    for (int i = 0; i < eh->e_phnum; i++) {
      if (ph[i].p_type != PT_LOAD) continue;
      if (ph[i].p_vaddr < lo) lo = ph[i].p_vaddr;
      if (ph[i].p_paddr < base || ph[i].p_paddr - base > room) physical = 0;
    }
    if (lo == UINT64_MAX) { snprintf(err, errlen, "%s: ELF without loadable segments", what); return -1; }
    for (int i = 0; i < eh->e_phnum; i++) {
      if (ph[i].p_type != PT_LOAD) continue;
      uint64_t at = physical ? ph[i].p_paddr - base : ph[i].p_vaddr - lo;
      if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset ||
          at > room || ph[i].p_memsz > room - at) {
        snprintf(err, errlen, "%s: a segment lies outside the file or does not fit in RAM", what);
        return -1;
      }
      memcpy(s->ram + off + at, img + ph[i].p_offset, ph[i].p_filesz);
      memset(s->ram + off + at + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
    }
    uint64_t entry = physical ? eh->e_entry - base : eh->e_entry - lo;
    if ((physical ? eh->e_entry < base : eh->e_entry < lo) || entry >= room) {
      snprintf(err, errlen, "%s: entry point outside its segments", what);
      return -1;
    }
    *entry_off = off + entry;
    return 0;
  }
  if (len > room) {
    snprintf(err, errlen, "%s (%llu bytes) does not fit in the %llu bytes of RAM it may use", what,
             (unsigned long long)len, (unsigned long long)room);
    return -1;
  }
  memcpy(s->ram + off, img, len);
  return 0;
}

/* A Linux RISC-V Image carries "RISCV\0\0\0" at 0x30 and "RSC\x05" at 0x38 (the boot image
 * header of Documentation/riscv/boot-image-header.rst). */
static int is_riscv_image(const uint8_t *img, uint64_t len) {
  return len >= 64 && !memcmp(img + 0x38, "RSC\x05", 4);
}

static int load_file(wb_system *s, const char *what, const char *path, uint64_t off, uint64_t room,
                     int kernel, uint64_t *entry_off, uint64_t *size, char *err, size_t errlen) {
  uint64_t len;
  uint8_t *img = slurp(what, path, room, &len, err, errlen);
  if (!img) return -1;
  if (kernel && !is_riscv_image(img, len) && memcmp(img, ELFMAG, SELFMAG) != 0) {
    free(img);
    snprintf(err, errlen, "kernel %s is neither a RISC-V Linux Image (no RSC\\x05 magic at 0x38) nor an ELF file", path);
    return -1;
  }
  int r = place(s, what, img, len, off, room, entry_off, err, errlen);
  if (size) *size = len;
  free(img);
  return r;
}

/* newc cpio archives start with "070701" (or "070702" with checksums) */
static int check_initrd(const uint8_t *p, uint64_t len, char *err, size_t errlen) {
  if (len < 110 || (memcmp(p, "070701", 6) && memcmp(p, "070702", 6) &&
                    !(p[0] == 0x1f && p[1] == 0x8b))) {    /* or gzip-compressed */
    snprintf(err, errlen, "initrd is not a cpio archive (newc) or a gzip file");
    return -1;
  }
  return 0;
}

static void system_free(wb_machine *m) {
  wb_system *s = m->sys;
  if (!s) return;
  wb_virtio_blk_stop(s->board.blk);   /* the disk's I/O thread posts to the mailbox: first */
  wb_sys_async_stop(m);   /* then the timer thread: it reads the board */
  wb_board_fini(&s->board);
  for (int i = 0; i < m->nharts; i++) {
    wb_sys_hart *sh = wb_sys_of(m->harts[i]);
    if (!sh) continue;
    for (int p = 0; p < 8; p++) {
      if (sh->caches[p] && sh->caches[p] != m->interp) wb_interp_free(sh->caches[p]);
      if (sh->jits[p] && sh->jits[p] != m->jit) wb_jit_free(sh->jits[p]);
    }
    m->harts[i]->interp = m->interp;
    m->harts[i]->jit = m->jit;
    free(sh);
    m->harts[i]->plat = NULL;
  }
  free(s->irq_log);
  if (s->ram) munmap(s->ram, s->ram_size);
  free(s->code_pages);
  free(s->code_gen);
  free(s);
  m->sys = NULL;
}

void wb_system_free(wb_machine *m) { system_free(m); }

/* Give hart h its system-mode state and start it as qemu's reset vector leaves every hart:
 * M mode at the firmware's entry, a0 = its hart id, a1 = the device tree. Each hart has its
 * own block caches and code caches per privilege and FP state (hart 0's M-mode ones are the
 * machine's own), since translated code probes its own hart's TLB. */
static int hart_init(wb_machine *m, wb_hart *h, const wb_config *cfg, uint64_t pc, uint64_t fdt,
                     char *err, size_t errlen) {
  wb_sys_hart *sh = calloc(1, sizeof *sh);
  if (!sh) { snprintf(err, errlen, "out of host memory"); return -1; }
  h->plat = sh;
  for (int p = 0; p < 8; p++) {
    if ((p & 3) == 2) continue;   /* no H mode */
    sh->caches[p] = p == WB_PRIV_M && h->id == 0 ? m->interp : wb_interp_new(err, errlen);
    if (!sh->caches[p]) return -1;
    if (sh->caches[p] != m->interp) wb_interp_set_fp_off(sh->caches[p], p >= 4);
  }
  if (m->jit) {   /* the JIT tier: a code cache per privilege and FP state too */
    for (int p = 0; p < 8; p++) {
      if ((p & 3) == 2) continue;
      sh->jits[p] = p == WB_PRIV_M && h->id == 0
                        ? m->jit : wb_jit_new(m, cfg->jit_cache_bytes ? cfg->jit_cache_bytes : (32u << 20), err, errlen);
      if (!sh->jits[p]) return -1;
      wb_jit_set_system(sh->jits[p], p >= 4, p & 3, sh->tlb[WB_TLB_SET(p & 3)]);
    }
  }
  sh->ntlb_filled = WB_TLB_FILLS + 1;   /* the first flush empties every entry */
  wb_sys_tlb_flush(h);
  h->priv = WB_PRIV_M;
  h->pc = pc;
  h->x[10] = (uint64_t)h->id;
  h->x[11] = fdt;
  h->interp = sh->caches[wb_sys_cache_index(h)];
  if (m->jit) h->jit = sh->jits[wb_sys_cache_index(h)];
  return 0;
}

WB_API wb_machine *wb_system_create(const wb_config *cfg, const wb_boot *boot, char *err, size_t errlen) {
  if (!cfg || !boot) { snprintf(err, errlen, "no configuration"); return NULL; }
  int nharts = boot->harts ? boot->harts : 1;
  if (nharts < 1 || nharts > WB_BOARD_MAX_HARTS) {
    snprintf(err, errlen, "harts must be 1 to %d (got %d)", WB_BOARD_MAX_HARTS, boot->harts);
    return NULL;
  }
  if (cfg->watch) {
    snprintf(err, errlen, "the watchpoint unit runs in user mode only (wb_config.watch)");
    return NULL;
  }
  if (nharts > 1 && cfg->schedule != WB_SCHEDULE_DETERMINISTIC) {
    snprintf(err, errlen, "system mode runs its harts in turn on one host thread (schedule 'deterministic')");
    return NULL;
  }
  uint64_t ram = boot->ram_bytes ? boot->ram_bytes : (256ull << 20);
  if (ram < (16ull << 20) || ram > (2ull << 30) || (ram & ((2ull << 20) - 1))) {
    snprintf(err, errlen, "RAM size must be a multiple of 2 MiB from 16 MiB to 2 GiB (got %llu bytes)",
             (unsigned long long)ram);
    return NULL;
  }
  if (!boot->firmware) { snprintf(err, errlen, "no firmware: system mode starts in M mode at the firmware (OpenSBI fw_jump.bin)"); return NULL; }
  wb_machine *m = wb_machine_new(cfg, &wb_virt_platform, err, errlen);
  if (!m) return NULL;
  wb_system *s = calloc(1, sizeof *s);
  if (!s) { snprintf(err, errlen, "out of host memory"); goto fail; }
  m->sys = s;
  s->ram_size = ram;
  s->ram = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  s->code_pages = calloc(ram >> WB_PAGE_SHIFT, 1);
  s->code_gen = calloc(ram >> WB_PAGE_SHIFT, sizeof *s->code_gen);
  if (s->ram == MAP_FAILED || !s->code_pages || !s->code_gen) {
    if (s->ram == MAP_FAILED) s->ram = NULL;
    snprintf(err, errlen, "out of host memory for %llu bytes of guest RAM", (unsigned long long)ram);
    goto fail;
  }
  s->wake_mtime = UINT64_MAX;
  wb_board_host host = wb_sys_board_host;
  host.ctx = m;
  if (cfg->deterministic) host.post = NULL;   /* devices finish their work at once */
  if (wb_board_init(&s->board, &host, nharts, s->ram, ram, err, errlen) != 0) goto fail;
  if (boot->disk && wb_virtio_blk_init(&s->board, boot->disk, 0, err, errlen) != 0) goto fail;

  /* images: firmware [0, 2 MiB), kernel [2 MiB, RAM/2), initrd [RAM/2, top - 2 MiB), dtb */
  uint64_t entry, kentry, initrd_off = ram / 2, fdt_off = ram - (2ull << 20), initrd_len = 0;
  if (load_file(s, "firmware", boot->firmware, 0, KERNEL_OFFSET, 0, &entry, NULL, err, errlen) != 0) goto fail;
  if (boot->kernel &&
      load_file(s, "kernel", boot->kernel, KERNEL_OFFSET, initrd_off - KERNEL_OFFSET, 1, &kentry, NULL, err, errlen) != 0)
    goto fail;
  if (boot->initrd) {
    if (load_file(s, "initrd", boot->initrd, initrd_off, fdt_off - initrd_off, 0, &kentry, &initrd_len, err, errlen) != 0 ||
        check_initrd(s->ram + initrd_off, initrd_len, err, errlen) != 0)
      goto fail;
  }
  uint64_t base = WB_VIRT_DRAM_BASE;
  size_t fdt_len = wb_fdt_build(&s->board, boot->bootargs ? boot->bootargs : "",
                                initrd_len ? base + initrd_off : 0,
                                initrd_len ? base + initrd_off + initrd_len : 0,
                                s->ram + fdt_off, FDT_MAX);
  if (fdt_len == 0) { snprintf(err, errlen, "the device tree does not fit in %u bytes (bootargs too long?)", FDT_MAX); goto fail; }

  /* every hart as qemu's reset vector leaves it; the others run in turn with hart 0 (the
   * scheduler's deterministic interleaving: a quantum of instructions each, a hart in wfi
   * waits until an interrupt it enabled is pending) */
  for (int i = 1; i < nharts; i++)
    if (!wb_sched_add(m, err, errlen)) goto fail;
  for (int i = 0; i < nharts; i++)
    if (hart_init(m, m->harts[i], cfg, base + entry, base + fdt_off, err, errlen) != 0) goto fail;
  m->timer_insn = cfg->deterministic ? UINT64_MAX : 0;
  if (!cfg->deterministic && wb_sys_async_start(m, err, errlen) != 0) goto fail;
  m->loaded = 1;
  return m;
fail:
  system_free(m);
  wb_machine_destroy(m);
  return NULL;
}

WB_API size_t wb_system_console_input(wb_machine *m, const void *bytes, size_t n) {
  if (!m || !m->sys || !m->sys->board.uart) return 0;
  if (m->sys->async) return wb_sys_async_console(m, bytes, n);   /* taken on the hart's thread */
  wb_lock(m);
  size_t r = wb_uart_input(m->sys->board.uart, bytes, n);
  wb_unlock(m);
  return r;
}

WB_API uint64_t wb_system_interrupts(const wb_machine *m) {
  return m && m->sys ? m->sys->interrupts_taken : 0;
}

WB_API int wb_system_power(const wb_machine *m) { return m && m->sys ? m->sys->poweroff : 0; }

WB_API size_t wb_system_interrupt_log(const wb_machine *m, size_t start, wb_irq_record *out, size_t max,
                                      uint64_t *total, uint64_t *dropped) {
  const wb_system *s = m ? m->sys : NULL;
  uint64_t kept = s ? s->irq_count : 0;
  if (total) *total = s ? s->interrupts_taken : 0;
  if (dropped) *dropped = s ? s->irq_dropped : 0;
  if (!s || !out || start >= kept) return 0;
  size_t n = kept - start < max ? (size_t)(kept - start) : max;
  memcpy(out, s->irq_log + start, n * sizeof *out);
  return n;
}
