/* symbols.c — the guest executable's symbol table: name -> guest address, for wrapping guest
 * functions by name (wb_wrap in client.c). Reads .symtab/.strtab of the loaded file again
 * (the loader only needs segments); every offset and size is checked, so a malformed or
 * stripped file gives "no such symbol", never a crash.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "user_internal.h"

static int in_file(uint64_t off, uint64_t len, size_t n) { return off <= n && len <= n - off; }

/* The executable's bytes, read once per machine (kept until the machine goes). */
static const uint8_t *exe_bytes(wb_user *u, size_t *len) {
  if (u->exe_image) { *len = u->exe_image_len; return u->exe_image; }
  /* the path may name something else by now: never wait on a FIFO or read a device */
  int fd = open(u->exe_host, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  if (fd < 0) return NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { close(fd); return NULL; }
  FILE *f = fdopen(fd, "rb");
  if (!f) { close(fd); return NULL; }
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : (1u << 20);
      if (cap > (512u << 20)) break;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  u->exe_image = buf;
  u->exe_image_len = n;
  *len = n;
  return buf;
}

int wb_user_symbol(wb_machine *m, const char *name, uint64_t *addr) {
  wb_user *u = wb_u(m);
  if (!u || !u->exe_host) return -1;
  size_t n = 0;
  const uint8_t *buf = exe_bytes(u, &n);
  int found = -1;
  Elf64_Ehdr eh;
  if (!buf || n < sizeof eh) goto out;
  memcpy(&eh, buf, sizeof eh);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || !in_file(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), n))
    goto out;
  for (unsigned i = 0; i < eh.e_shnum && found < 0; i++) {
    Elf64_Shdr sh, strh;
    memcpy(&sh, buf + eh.e_shoff + (uint64_t)i * sizeof sh, sizeof sh);
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum) continue;
    memcpy(&strh, buf + eh.e_shoff + (uint64_t)sh.sh_link * sizeof strh, sizeof strh);
    if (!in_file(sh.sh_offset, sh.sh_size, n) || !in_file(strh.sh_offset, strh.sh_size, n)) continue;
    size_t nl = strlen(name);
    for (uint64_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
      Elf64_Sym sym;
      memcpy(&sym, buf + sh.sh_offset + k * sizeof sym, sizeof sym);
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0 || sym.st_name >= strh.sh_size) continue;
      if (strh.sh_size - sym.st_name <= nl) continue;
      const char *s = (const char *)buf + strh.sh_offset + sym.st_name;
      if (memcmp(s, name, nl + 1) != 0) continue;
      *addr = sym.st_value + u->load_bias;
      found = 0;
      if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC) break; /* prefer the function */
    }
  }
out:
  return found;
}
