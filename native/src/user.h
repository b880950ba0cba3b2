/* user.h — the Linux user-mode layer: ELF loading, the initial stack, and syscalls.
 *
 * Implemented under user/ (elf.c, stack.c, syscalls*.c, fs.c). The run loop calls
 * wb_user_syscall() on every ecall. Files live under the configured root: the guest's "/" is
 * cfg.root, and no path may resolve outside it (symlinks and ".." included).
 */
#ifndef WB_USER_H
#define WB_USER_H
#include <stddef.h>
#include "machine.h"

/* Guest address-space layout (all below WB_GUEST_SPACE) */
#define WB_GUEST_SPACE     (1ull << 32)          /* bytes of guest address space */
#define WB_STACK_TOP       0xfffe0000ull          /* initial sp region ends here */
#define WB_STACK_SIZE      (8ull << 20)           /* stack mapped below WB_STACK_TOP */
#define WB_MMAP_TOP        (WB_STACK_TOP - WB_STACK_SIZE - (1ull << 20)) /* mmaps grow down */
#define WB_PIE_BASE        0x40000000ull          /* load base of static-PIE executables */
#define WB_SIGRETURN_ADDR  0xffff0000ull          /* page holding "li a7, 139; ecall": where
                                                   * signal handlers return (no vDSO) */

int wb_user_init(wb_machine *m, char *err, size_t errlen);
void wb_user_fini(wb_machine *m);
int wb_user_load(wb_machine *m, const char *path, int argc, const char *const *argv, int envc,
                 const char *const *envp, char *err, size_t errlen);
/* Address of function (or object) `name` in the loaded executable's symbol table, load
 * bias applied. 0 and *addr set, or -1 (no such symbol, no symbol table, unreadable). */
int wb_user_symbol(wb_machine *m, const char *name, uint64_t *addr);
/* Execute the syscall in a7 (args a0..a5), result in a0. Counts it in m->syscall_counts (and
 * m->unknown_syscalls when answered ENOSYS for lack of an implementation). Returns 0 to go on,
 * 1 when the run must stop (m->stop_reason set, e.g. exit_group). */
int wb_user_syscall(wb_hart *h);
/* The run reached m->timer_insn before a block of n instructions: expire the guest's
 * interval timers due by then (a signal may stop the run) and set the next m->timer_insn. */
void wb_user_timers_due(wb_machine *m, uint32_t n);
/* Reserve len bytes of free guest address space for a client, out of the guest's mmap and
 * brk (vma.c): its address, or 0. wb_user_unreserve drops reservations of unmapped pages. */
uint64_t wb_user_reserve(wb_machine *m, uint64_t len);
void wb_user_unreserve(wb_machine *m, uint64_t addr, uint64_t len);
/* Name of a riscv64 Linux syscall number, or NULL. */
const char *wb_user_syscall_name(int nr);

#endif
