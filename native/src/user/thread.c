/* thread.c — guest threads in user mode: clone (the flags pthread_create uses), thread and
 * process exit, thread ids, set_tid_address, robust lists, sched_yield, and the per-thread
 * state (wb_uthread) each hart carries behind h->plat.
 *
 * A guest thread is a hart (scheduler.h). Its tid is WB_PID + the hart's id, so the main thread's
 * tid is the pid, as on Linux, and ids are never reused within a run (harts are not). fork,
 * vfork and posix_spawn's WB_CLONE_VM|WB_CLONE_VFORK need a second address space and stay
 * unsupported: the guest sees ENOSYS and the run's stats count the call as unknown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user_internal.h"
#include "../scheduler.h"

/* clone flags (linux/sched.h; the guest ABI's, prefixed so the host's <sched.h> does not clash) */
#define WB_CLONE_VM 0x100
#define WB_CLONE_FS 0x200
#define WB_CLONE_FILES 0x400
#define WB_CLONE_SIGHAND 0x800
#define WB_CLONE_VFORK 0x4000
#define WB_CLONE_THREAD 0x10000
#define WB_CLONE_SYSVSEM 0x40000
#define WB_CLONE_SETTLS 0x80000
#define WB_CLONE_PARENT_SETTID 0x100000
#define WB_CLONE_CHILD_CLEARTID 0x200000
#define WB_CLONE_DETACHED 0x400000
#define WB_CLONE_CHILD_SETTID 0x1000000
#define THREAD_NEEDS (WB_CLONE_VM | WB_CLONE_FS | WB_CLONE_FILES | WB_CLONE_SIGHAND | WB_CLONE_THREAD)
#define THREAD_MAY (THREAD_NEEDS | WB_CLONE_SYSVSEM | WB_CLONE_SETTLS | WB_CLONE_PARENT_SETTID | \
                    WB_CLONE_CHILD_CLEARTID | WB_CLONE_DETACHED | WB_CLONE_CHILD_SETTID)
#define DEFAULT_MAX_THREADS 256

wb_uthread *wb_ut(wb_hart *h) {
  if (!h->plat) {
    wb_uthread *ut = calloc(1, sizeof *ut);  /* NULL only without memory */
    if (ut) ut->altstack[1] = 2;              /* SS_DISABLE: no alternate stack */
    h->plat = ut;
  }
  return h->plat;
}

int wb_tid(const wb_hart *h) { return WB_PID + h->id; }

wb_hart *wb_thread_of(wb_machine *m, int64_t tid) {
  int64_t i = tid - WB_PID;
  if (i < 0 || i >= m->nharts || m->harts[i]->state == WB_HART_EXITED) return NULL;
  return m->harts[i];
}

void wb_threads_fini(wb_machine *m) {
  for (int i = 0; i < m->nharts; i++) {
    free(m->harts[i]->plat);
    m->harts[i]->plat = NULL;
  }
}

WB_SYS(clone) {
  uint64_t flags = a[0], sp = a[1], ptid = a[2], tls = a[3], ctid = a[4];
  if ((flags & (WB_CLONE_VM | WB_CLONE_THREAD)) != (WB_CLONE_VM | WB_CLONE_THREAD) || (flags & WB_CLONE_VFORK)) {
    m->unknown_syscalls[220]++;  /* a new process (fork, vfork, spawn): not supported */
    return -ENOSYS;
  }
  if ((flags & THREAD_NEEDS) != THREAD_NEEDS || (flags & ~(uint64_t)THREAD_MAY & ~0xffull) ||
      (flags & 0xff))
    return -EINVAL;  /* a thread shares everything and sends no exit signal */
  uint32_t most = m->cfg.max_threads ? m->cfg.max_threads : DEFAULT_MAX_THREADS;
  if ((uint32_t)wb_sched_live(m) >= most) return -EAGAIN;
  if ((flags & WB_CLONE_PARENT_SETTID) && !wb_mem_check(&m->mem, ptid, 4, WB_PROT_W)) return -EFAULT;
  if ((flags & WB_CLONE_CHILD_SETTID) && !wb_mem_check(&m->mem, ctid, 4, WB_PROT_W)) return -EFAULT;
  char err[128];
  wb_hart *c = wb_sched_add(m, err, sizeof err);
  if (!c || !wb_ut(c)) return -EAGAIN;
  memcpy(c->x, hart->x, sizeof c->x);
  memcpy(c->f, hart->f, sizeof c->f);
  c->fflags = hart->fflags;
  c->frm = hart->frm;
  c->priv = hart->priv;
  c->view = hart->view;
  c->pc = hart->pc + 4;            /* both threads go on after the ecall */
  c->x[WB_REG_A0] = 0;             /* the child sees 0 */
  if (sp) c->x[WB_REG_SP] = sp;
  if (flags & WB_CLONE_SETTLS) c->x[WB_REG_TP] = tls;
  uint32_t tid = (uint32_t)wb_tid(c);
  if (flags & WB_CLONE_PARENT_SETTID) wb_mem_write(&m->mem, ptid, &tid, 4);
  if (flags & WB_CLONE_CHILD_SETTID) wb_mem_write(&m->mem, ctid, &tid, 4);
  if (flags & WB_CLONE_CHILD_CLEARTID) wb_ut(c)->clear_child_tid = ctid;
  wb_ut(c)->sigmask = wb_ut(hart) ? wb_ut(hart)->sigmask : 0;  /* inherited; no altstack */
  wb_sched_started(c);
  return tid;
}

static long exit_process(wb_machine *m, uint64_t status) {
  int code = (int)(status & 0xff);
  m->exit_code = code;
  wb_machine_stop(m, WB_REASON_EXIT, "guest exited with status %d", code);
  return 0;
}

WB_SYS(exit) {
  wb_uthread *ut = wb_ut(hart);
  if (wb_sched_live(m) <= 1) return exit_process(m, a[0]);  /* the last thread */
  if (ut && ut->clear_child_tid) {  /* pthread_join waits on this word */
    uint32_t zero = 0;
    if (wb_mem_write(&m->mem, ut->clear_child_tid, &zero, 4) == 0)
      wb_futex_wake(m, ut->clear_child_tid, 1, ~0u);
  }
  wb_sched_exit(hart);
  return 0;
}

WB_SYS(exit_group) { return exit_process(m, a[0]); }

WB_SYS(gettid) { return wb_tid(hart); }

WB_SYS(set_tid_address) {
  wb_uthread *ut = wb_ut(hart);
  if (ut) ut->clear_child_tid = a[0];
  return wb_tid(hart);
}

WB_SYS(set_robust_list) {
  wb_uthread *ut = wb_ut(hart);
  if (a[1] != 24) return -EINVAL;
  if (!ut) return -ENOMEM;
  ut->robust_head = a[0];
  ut->robust_len = a[1];
  return 0;
}

WB_SYS(get_robust_list) {
  int32_t tid = (int32_t)a[0];
  wb_hart *t = tid == 0 ? hart : wb_thread_of(m, tid);
  if (!t) return -ESRCH;
  wb_uthread *ut = wb_ut(t);
  uint64_t head = ut ? ut->robust_head : 0, len = ut ? ut->robust_len : 0;
  if (wb_mem_write(&m->mem, a[1], &head, 8) != 0) return -EFAULT;
  if (wb_mem_write(&m->mem, a[2], &len, 8) != 0) return -EFAULT;
  return 0;
}

WB_SYS(sched_yield) {
  if (wb_sched_live(m) > 1) wb_sched_yield(hart);
  return 0;
}
