/* stack.c — the initial process stack (argc, argv, envp, auxv and the strings they point to)
 * and the initial register state, as the Linux ELF loader lays them out for riscv64.
 *
 * Layout, from WB_STACK_TOP down: 16 zero bytes, AT_EXECFN string, argv strings, envp strings,
 * AT_RANDOM bytes, (a copy of the program headers when no segment holds them), then the
 * vectors: argc, argv[0..argc-1], NULL, envp[...], NULL, auxv pairs, AT_NULL. sp points at argc
 * and is 16-byte aligned, as the psABI requires at process entry.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user_internal.h"

#define MAX_ARG_BYTES (WB_STACK_SIZE / 4) /* like Linux: argv+envp may use 1/4 of the stack */

/* RV64 ISA letters reported in AT_HWCAP (one bit per letter, 'A' = bit 0). */
#define HWCAP_LETTER(c) (1ull << ((c) - 'A'))
#define WB_HWCAP (HWCAP_LETTER('I') | HWCAP_LETTER('M') | HWCAP_LETTER('A') | \
                  HWCAP_LETTER('F') | HWCAP_LETTER('D') | HWCAP_LETTER('C'))

int wb_stack_setup(wb_machine *m, const wb_image *img, int argc, const char *const *argv,
                   int envc, const char *const *envp, char *err, size_t errlen) {
  wb_user *u = wb_u(m);
  wb_mem *mem = &m->mem;
  uint64_t lo = WB_STACK_TOP - WB_STACK_SIZE;

  /* Size everything first so an oversized environment is a clean error. */
  uint64_t strbytes = 0;
  for (int i = 0; i < argc; i++) {
    if (!argv[i]) {
      snprintf(err, errlen, "argv[%d] is NULL", i);
      return -1;
    }
    strbytes += strlen(argv[i]) + 1;
    if (strbytes > MAX_ARG_BYTES) break;
  }
  for (int i = 0; i < envc && strbytes <= MAX_ARG_BYTES; i++) {
    if (!envp[i]) {
      snprintf(err, errlen, "envp[%d] is NULL", i);
      return -1;
    }
    strbytes += strlen(envp[i]) + 1;
  }
  uint64_t ptrbytes = 8ull * ((uint64_t)argc + (uint64_t)envc + 3);
  if (strbytes + ptrbytes > MAX_ARG_BYTES) {
    snprintf(err, errlen,
             "arguments and environment too large (more than %llu bytes with their pointers)",
             (unsigned long long)MAX_ARG_BYTES);
    return -1;
  }

  int prot = img->stack_prot ? img->stack_prot : WB_PROT_R | WB_PROT_W;
  int r = wb_mem_map(mem, lo, WB_STACK_SIZE, prot);
  if (r != 0) {
    snprintf(err, errlen, "cannot map the %llu-byte stack: memory limit (%llu bytes) reached",
             (unsigned long long)WB_STACK_SIZE, (unsigned long long)mem->limit);
    return -1;
  }
  uint8_t *h = wb_mem_host(mem, 0);
  uint64_t pos = WB_STACK_TOP - 16;

  size_t fnlen = strlen(u->exe_path) + 1;
  pos -= fnlen;
  uint64_t execfn = pos;
  memcpy(h + execfn, u->exe_path, fnlen);

  pos -= strbytes;
  uint64_t sp_str = pos;
  uint64_t *gargv = calloc((size_t)argc + (size_t)envc + 1, sizeof *gargv);
  if (!gargv) {
    snprintf(err, errlen, "out of host memory");
    return -1;
  }
  uint64_t *genvp = gargv + argc;
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(argv[i]) + 1;
    memcpy(h + sp_str, argv[i], l);
    gargv[i] = sp_str;
    sp_str += l;
  }
  for (int i = 0; i < envc; i++) {
    size_t l = strlen(envp[i]) + 1;
    memcpy(h + sp_str, envp[i], l);
    genvp[i] = sp_str;
    sp_str += l;
  }

  pos &= ~15ull;
  pos -= 16;
  uint64_t at_random = pos;
  wb_random_bytes(m, h + at_random, 16);

  uint64_t phdr = img->phdr;
  if (!phdr) {
    /* No segment maps the program headers: give the guest a copy (libc walks them for
     * PT_TLS and PT_GNU_STACK). */
    uint64_t tbl = img->phent * img->phnum;
    pos = (pos - tbl) & ~15ull;
    memcpy(h + pos, img->phdrs, tbl);
    phdr = pos;
  }

  uint64_t aux[][2] = {
      {AT_HWCAP, WB_HWCAP},    {AT_PAGESZ, WB_PAGE_SIZE}, {AT_CLKTCK, 100},
      {AT_PHDR, phdr},         {AT_PHENT, img->phent},    {AT_PHNUM, img->phnum},
      {AT_BASE, 0},            {AT_FLAGS, 0},             {AT_ENTRY, img->entry},
      {AT_UID, WB_UID},        {AT_EUID, WB_UID},         {AT_GID, WB_GID},
      {AT_EGID, WB_GID},       {AT_SECURE, 0},            {AT_RANDOM, at_random},
      {AT_EXECFN, execfn},     {AT_NULL, 0},
  };
  size_t naux = sizeof aux / sizeof aux[0];
  uint64_t words = 1 + (uint64_t)argc + 1 + (uint64_t)envc + 1 + 2 * naux;
  pos = (pos - words * 8) & ~15ull;
  uint64_t sp = pos;
  uint64_t *w = (uint64_t *)(h + sp);
  size_t k = 0;
  w[k++] = (uint64_t)argc;
  for (int i = 0; i < argc; i++) w[k++] = gargv[i];
  w[k++] = 0;
  for (int i = 0; i < envc; i++) w[k++] = genvp[i];
  w[k++] = 0;
  for (size_t i = 0; i < naux; i++) {
    w[k++] = aux[i][0];
    w[k++] = aux[i][1];
  }
  free(gargv);

  /* the signal trampoline handlers return to (signal.c): rt_sigreturn */
  static const uint32_t tramp[2] = {0x08b00893u /* li a7, 139 */, 0x00000073u /* ecall */};
  if (wb_mem_map(mem, WB_SIGRETURN_ADDR, WB_PAGE_SIZE, WB_PROT_R | WB_PROT_W) != 0 ||
      wb_mem_write(mem, WB_SIGRETURN_ADDR, tramp, sizeof tramp) != 0 ||
      wb_mem_protect(mem, WB_SIGRETURN_ADDR, WB_PAGE_SIZE, WB_PROT_R | WB_PROT_X) != 0) {
    snprintf(err, errlen, "cannot map the signal trampoline page: memory limit reached");
    return -1;
  }

  memset(&m->harts[0]->x, 0, sizeof m->harts[0]->x);
  memset(&m->harts[0]->f, 0, sizeof m->harts[0]->f);
  m->harts[0]->fflags = 0;
  m->harts[0]->frm = 0;
  m->harts[0]->reservation = WB_NO_RESERVATION;
  m->harts[0]->x[WB_REG_SP] = sp;
  m->harts[0]->pc = img->entry;
  return 0;
}
