/* interp_ops.h — the interpreter's handler bodies, one per operation, included into
 * wb_interp_run(). In scope: m, cpu (the hart), X (integer registers, X[32] = sink for
 * rd = x0), F, M and bound (the memory view's base and addressable limit: every access goes
 * through mmu.h's WB_MMU_ACCESS / WB_MMU_HOST), b (current block), bpc (its pc), d (current
 * record), pc, slot, nb.
 * Every handler ends with NEXT (fall into the next record), CHAIN (direct successor through
 * a chain slot), ENTER (a known block), `indirect`/`lookup` with pc set, or stops.
 * This file is the semantics of the ISA that the JIT is checked against.
 */
#define NEXT do { d++; goto *d->h; } while (0)
#define RD (d->rd)
#define RS1 (X[d->rs1])
#define RS2 (X[d->rs2])
#define IMM ((int64_t)d->imm)
#define SEXT32(v) ((uint64_t)(int64_t)(int32_t)(v))
#define IDX ((unsigned)(d - b->insns))
#define INSN_PC (wb_block_insn_pc(b, IDX))
/* record the running access for precise faults; the fence keeps the store before the access */
#define MARK() do { ip->cur_insn = d; __atomic_signal_fence(__ATOMIC_SEQ_CST); } while (0)
/* Bounds (flat backend, mmu.h): only the start address is checked. The guest view is followed
 * by a PROT_NONE guard region, so an access starting inside the view but running past its end
 * faults on the host and is recovered precisely like any other protected-page access (after
 * MARK). One compare against the bound for every access size keeps a single bound live
 * across all handlers. */
#define ADDR(sz) uint64_t a = RS1 + IMM; WB_MMU_ACCESS(a, oob); MARK()
#define LOAD_BODY(sz, T, conv) { ADDR(sz); T v; memcpy(&v, WB_MMU_HOST(a), sz); X[RD] = conv(v); }
#define STORE_BODY(sz, T) { ADDR(sz); T v = (T)RS2; memcpy(WB_MMU_HOST(a), &v, sz); }
#define LOAD(sz, T, conv) LOAD_BODY(sz, T, conv) NEXT;
#define STORE(sz, T) STORE_BODY(sz, T) NEXT;
#define AS_U64(v) ((uint64_t)(v))
#define AS_I64(v) ((uint64_t)(int64_t)(v))
/* Bodies (without the dispatch) of the ops that can start a pair handler (interp_pair.h). */
#define OPBODY_LUI X[RD] = (uint64_t)IMM
#define OPBODY_AUIPC X[RD] = bpc + IMM
#define OPBODY_LBU LOAD_BODY(1, uint8_t, AS_U64)
#define OPBODY_LW LOAD_BODY(4, int32_t, AS_I64)
#define OPBODY_LWU LOAD_BODY(4, uint32_t, AS_U64)
#define OPBODY_LD LOAD_BODY(8, uint64_t, AS_U64)
#define OPBODY_SB STORE_BODY(1, uint8_t)
#define OPBODY_SW STORE_BODY(4, uint32_t)
#define OPBODY_SD STORE_BODY(8, uint64_t)
#define OPBODY_ADDI X[RD] = RS1 + IMM
#define OPBODY_ANDI X[RD] = RS1 & (uint64_t)IMM
#define OPBODY_SLLI X[RD] = RS1 << (IMM & 63)
#define OPBODY_SRLI X[RD] = RS1 >> (IMM & 63)
#define OPBODY_ADD X[RD] = RS1 + RS2
#define OPBODY_SUB X[RD] = RS1 - RS2
#define OPBODY_OR X[RD] = RS1 | RS2
#define OPBODY_AND X[RD] = RS1 & RS2
#define OPBODY_ADDIW X[RD] = SEXT32(RS1 + IMM)
#define BRANCH(cond) \
  if (cond) CHAIN(0, bpc + IMM); else CHAIN(1, b->end_pc);

  /* Traps (trap.h): the instruction is not retired; the platform decides what follows and
   * where the hart goes on (after a trap that does not stop the run: at cpu->pc) */
/* a privileged instruction: done by the platform (retired; on at cpu->pc) or illegal */
#define PRIV(op) \
    cpu->instret -= (b->n - IDX); \
    cpu->pc = INSN_PC; \
    if (wb_priv_exec(cpu, op) != 0) goto illegal_here; \
    cpu->instret++; \
    if (UNLIKELY(cpu->leave)) goto stop; /* system mode: another privilege, an interrupt */ \
    pc = cpu->pc; slot = NULL; goto lookup;
  L_MRET: PRIV(WB_OP_MRET)
  L_SRET: PRIV(WB_OP_SRET)
  L_WFI: PRIV(WB_OP_WFI)
  L_SFENCE_VMA: /* the platform reads the address operand from the hart */
    cpu->priv_arg = d->rs1 ? X[d->rs1] : UINT64_MAX;
    PRIV(WB_OP_SFENCE_VMA)
  L_ILLEGAL:
  illegal:
    cpu->instret -= (b->n - IDX);
    cpu->pc = INSN_PC;
  illegal_here:
    if (wb_trap_raise(cpu, &(wb_trap){WB_CAUSE_ILLEGAL, 0, NULL})) goto stop;
    goto trapped;
  oob:
    cpu->instret -= (b->n - IDX);
    if (wb_trap_memory(cpu, INSN_PC, RS1 + IMM, "access outside the guest address space")) goto stop;
    goto trapped;
  L_FETCHFAULT:
    if (wb_trap_memory(cpu, bpc, bpc, "instruction fetch from unmapped or non-executable memory")) goto stop;
  trapped: /* the platform took the trap and the hart goes on at cpu->pc */
    if (UNLIKELY(cpu->leave)) goto stop;   /* system mode: at another privilege */
    pc = cpu->pc; slot = NULL; goto lookup;
  L_SYSMEM: { /* system mode: a memory instruction through the soft MMU (system/mmu.c) */
    wb_trap t_;
    int r_ = wb_sys_access(cpu, d->rs3, d, cpu->instret - (b->n - IDX), &t_);
    if (LIKELY(r_ == 0)) NEXT;
    if (r_ == 2) {        /* done; a device stopped the run or raised an interrupt: leave */
      cpu->instret -= (b->n - IDX - 1);
      cpu->pc = wb_block_insn_pc(b, IDX + 1);
      goto stop;
    }
    cpu->instret -= (b->n - IDX);
    cpu->pc = INSN_PC;
    if (wb_trap_raise(cpu, &t_)) goto stop;
    goto trapped; }
  L_FALLTHROUGH:
    CHAIN(1, b->end_pc);
  /* client instrumentation of this record, then its real handler */
  L_HOOK: {
    const wb_hooks *hk = b->hooks;
    unsigned i_ = IDX;
    wb_hooks_run(cpu, hk->acts + hk->start[i_], (unsigned)(hk->start[i_ + 1] - hk->start[i_]),
                 cpu->instret - (b->n - i_), INSN_PC);
    if (UNLIKELY(m->drain_requested)) limit = 0; /* pause at the next block entry */
    /* a hook stopped the run (or this hart must leave): before the instruction, whose
     * records are then made again. A pause another thread asked for meanwhile (a drain, the
     * budget) waits for the next block entry instead: nothing is recorded twice. */
    if (UNLIKELY(cpu->leave || (m->stop_reason != WB_REASON_NONE && !wb_reason_resumable(m->stop_reason)))) {
      cpu->instret -= (b->n - i_);
      cpu->pc = INSN_PC;
      goto stop;
    }
    goto *hk->real[i_];
  }

  /* ---- RV64I ---- */
  L_LUI: OPBODY_LUI; NEXT;
  L_AUIPC: OPBODY_AUIPC; NEXT;
  L_JAL: X[RD] = b->end_pc; CHAIN(0, bpc + IMM);
  /* jalr: succ[0] caches the last target of this site (a block ending in jalr has no other
   * successor); on a miss, `indirect` probes the jump cache and refills succ[0] */
  L_JALR: {
    uint64_t t = (RS1 + IMM) & ~(uint64_t)1;
    X[RD] = b->end_pc;
    nb = b->succ[0];
    if (LIKELY(nb != NULL && nb->pc == t)) ENTER(nb);
    pc = t; slot = &b->succ[0]; goto indirect; }
  L_BEQ: BRANCH(RS1 == RS2)
  L_BNE: BRANCH(RS1 != RS2)
  L_BLT: BRANCH((int64_t)RS1 < (int64_t)RS2)
  L_BGE: BRANCH((int64_t)RS1 >= (int64_t)RS2)
  L_BLTU: BRANCH(RS1 < RS2)
  L_BGEU: BRANCH(RS1 >= RS2)
  L_LB: LOAD(1, int8_t, AS_I64)
  L_LH: LOAD(2, int16_t, AS_I64)
  L_LW: OPBODY_LW; NEXT;
  L_LD: OPBODY_LD; NEXT;
  L_LBU: OPBODY_LBU; NEXT;
  L_LHU: LOAD(2, uint16_t, AS_U64)
  L_LWU: OPBODY_LWU; NEXT;
  L_SB: OPBODY_SB; NEXT;
  L_SH: STORE(2, uint16_t)
  L_SW: OPBODY_SW; NEXT;
  L_SD: OPBODY_SD; NEXT;
  L_ADDI: OPBODY_ADDI; NEXT;
  L_SLTI: X[RD] = (int64_t)RS1 < IMM; NEXT;
  L_SLTIU: X[RD] = RS1 < (uint64_t)IMM; NEXT;
  L_XORI: X[RD] = RS1 ^ (uint64_t)IMM; NEXT;
  L_ORI: X[RD] = RS1 | (uint64_t)IMM; NEXT;
  L_ANDI: OPBODY_ANDI; NEXT;
  L_SLLI: OPBODY_SLLI; NEXT;
  L_SRLI: OPBODY_SRLI; NEXT;
  L_SRAI: X[RD] = (uint64_t)((int64_t)RS1 >> (IMM & 63)); NEXT;
  L_ADD: OPBODY_ADD; NEXT;
  L_SUB: OPBODY_SUB; NEXT;
  L_SLL: X[RD] = RS1 << (RS2 & 63); NEXT;
  L_SLT: X[RD] = (int64_t)RS1 < (int64_t)RS2; NEXT;
  L_SLTU: X[RD] = RS1 < RS2; NEXT;
  L_XOR: X[RD] = RS1 ^ RS2; NEXT;
  L_SRL: X[RD] = RS1 >> (RS2 & 63); NEXT;
  L_SRA: X[RD] = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT;
  L_OR: OPBODY_OR; NEXT;
  L_AND: OPBODY_AND; NEXT;
  L_FENCE: if (UNLIKELY(wb_fence_needs_host(m, IMM))) __atomic_thread_fence(__ATOMIC_SEQ_CST); NEXT;
  L_FENCE_I:
    wb_machine_invalidate_code(m, 0, ~0ull); /* every tier's translations */
    pc = b->end_pc; slot = NULL; goto lookup;
  L_ECALL: /* counted as retired (trap.h); user mode: a syscall, then on after the ecall */
    cpu->pc = b->end_pc - 4;
    if (wb_trap_raise(cpu, &(wb_trap){WB_CAUSE_ECALL_U + (uint64_t)cpu->priv, 0, NULL})) goto stop;
    /* a timer was armed, or a second thread started (a quantum): look at the limits */
    if (UNLIKELY(wb_machine_stop_insn(cpu) < limit)) limit = 0;
    pc = cpu->pc; slot = NULL; goto lookup;
  /* the watchpoint unit's wp.set / wp.clear (watch/online.c); illegal when it is off */
#define WP_OP(set) { \
    int64_t r = wb_watchpt_guest(cpu, set, RS1, RS2, (unsigned)IMM); \
    if (r == WB_WATCHPT_ILLEGAL) goto illegal; \
    X[RD] = (uint64_t)r; \
    NEXT; }
  L_WP_SET: WP_OP(1)
  L_WP_CLEAR: WP_OP(0)
#undef WP_OP
  L_EBREAK:
    cpu->instret -= (b->n - IDX);
    cpu->pc = INSN_PC;
    if (wb_trap_raise(cpu, &(wb_trap){WB_CAUSE_BREAKPOINT, INSN_PC, NULL})) goto stop;
    goto trapped;
  L_ADDIW: OPBODY_ADDIW; NEXT;
  L_SLLIW: X[RD] = SEXT32((uint32_t)RS1 << (IMM & 31)); NEXT;
  L_SRLIW: X[RD] = SEXT32((uint32_t)RS1 >> (IMM & 31)); NEXT;
  L_SRAIW: X[RD] = (uint64_t)(int64_t)((int32_t)RS1 >> (IMM & 31)); NEXT;
  L_ADDW: X[RD] = SEXT32(RS1 + RS2); NEXT;
  L_SUBW: X[RD] = SEXT32(RS1 - RS2); NEXT;
  L_SLLW: X[RD] = SEXT32((uint32_t)RS1 << (RS2 & 31)); NEXT;
  L_SRLW: X[RD] = SEXT32((uint32_t)RS1 >> (RS2 & 31)); NEXT;
  L_SRAW: X[RD] = (uint64_t)(int64_t)((int32_t)RS1 >> (RS2 & 31)); NEXT;

  /* ---- Zicsr ---- */
#define CSR_OP(kind, src, writes) { \
    uint64_t old, s_ = (src); \
    if (wb_csr_access(cpu, (unsigned)d->imm & 0xfff, kind, s_, writes, cpu->instret - (b->n - IDX), &old)) \
      goto illegal; \
    X[RD] = old; \
    if (UNLIKELY(cpu->leave)) { /* system mode: an interrupt it enabled, a flush: leave after it */ \
      cpu->instret -= (b->n - IDX - 1); \
      cpu->pc = wb_block_insn_pc(b, IDX + 1); \
      goto stop; } \
    NEXT; }
  L_CSRRW: CSR_OP(0, RS1, 1)
  L_CSRRS: CSR_OP(1, RS1, d->rs1 != 0)
  L_CSRRC: CSR_OP(2, RS1, d->rs1 != 0)
  L_CSRRWI: CSR_OP(0, d->rs1, 1)
  L_CSRRSI: CSR_OP(1, d->rs1, d->rs1 != 0)
  L_CSRRCI: CSR_OP(2, d->rs1, d->rs1 != 0)

  /* ---- M ---- */
  L_MUL: X[RD] = RS1 * RS2; NEXT;
  L_MULH: X[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT;
  L_MULHSU: X[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(unsigned __int128)RS2) >> 64); NEXT;
  L_MULHU: X[RD] = (uint64_t)(((unsigned __int128)RS1 * (unsigned __int128)RS2) >> 64); NEXT;
  L_DIV: {
    int64_t x = (int64_t)RS1, y = (int64_t)RS2;
    X[RD] = y == 0 ? ~(uint64_t)0 : (x == INT64_MIN && y == -1) ? (uint64_t)x : (uint64_t)(x / y);
    NEXT; }
  L_DIVU: X[RD] = RS2 == 0 ? ~(uint64_t)0 : RS1 / RS2; NEXT;
  L_REM: {
    int64_t x = (int64_t)RS1, y = (int64_t)RS2;
    X[RD] = y == 0 ? (uint64_t)x : (x == INT64_MIN && y == -1) ? 0 : (uint64_t)(x % y);
    NEXT; }
  L_REMU: X[RD] = RS2 == 0 ? RS1 : RS1 % RS2; NEXT;
  L_MULW: X[RD] = SEXT32((uint32_t)RS1 * (uint32_t)RS2); NEXT;
  L_DIVW: {
    int32_t x = (int32_t)RS1, y = (int32_t)RS2;
    X[RD] = y == 0 ? ~(uint64_t)0 : (x == INT32_MIN && y == -1) ? SEXT32(x) : SEXT32(x / y);
    NEXT; }
  L_DIVUW: {
    uint32_t x = (uint32_t)RS1, y = (uint32_t)RS2;
    X[RD] = y == 0 ? ~(uint64_t)0 : SEXT32(x / y);
    NEXT; }
  L_REMW: {
    int32_t x = (int32_t)RS1, y = (int32_t)RS2;
    X[RD] = y == 0 ? SEXT32(x) : (x == INT32_MIN && y == -1) ? 0 : SEXT32(x % y);
    NEXT; }
  L_REMUW: {
    uint32_t x = (uint32_t)RS1, y = (uint32_t)RS2;
    X[RD] = y == 0 ? SEXT32(x) : SEXT32(x % y);
    NEXT; }

  /* ---- A ---- (sequentially consistent host atomics; aq/rl are subsumed) */
#define AADDR(sz) uint64_t a = RS1; \
    WB_MMU_ACCESS(a, oob); /* aligned: never runs past the end */ \
    if (UNLIKELY(a & ((sz) - 1))) goto misaligned; \
    MARK()
#define AMO_FETCH(sz, T, fn) { AADDR(sz); T v = (T)RS2; \
    T old = fn((T *)WB_MMU_HOST(a), v, __ATOMIC_SEQ_CST); X[RD] = (uint64_t)(int64_t)old; NEXT; }
#define AMO_CAS(sz, T, expr) { AADDR(sz); T v = (T)RS2; T *p = (T *)WB_MMU_HOST(a); \
    T old = __atomic_load_n(p, __ATOMIC_SEQ_CST), nv; \
    do { nv = (expr); } while (!__atomic_compare_exchange_n(p, &old, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)); \
    X[RD] = (uint64_t)(int64_t)old; NEXT; }
  /* LR/SC as a compare and swap with the value LR read (as qemu does): SC succeeds iff the
   * reservation is this address and memory still holds that value. Under real parallelism
   * this admits ABA (another thread writes and restores the value between them, and the SC
   * succeeds where hardware's would fail); the lock-free algorithms compilers and libcs emit
   * with LR/SC (CAS loops, atomic read-modify-writes) are correct under that, since they only
   * need "memory still holds what I read". */
  L_LR_W: { AADDR(4); uint32_t v = __atomic_load_n((uint32_t *)WB_MMU_HOST(a), __ATOMIC_SEQ_CST);
            cpu->reservation = a; cpu->reserved_value = v; X[RD] = SEXT32(v); NEXT; }
  L_LR_D: { AADDR(8); uint64_t v = __atomic_load_n((uint64_t *)WB_MMU_HOST(a), __ATOMIC_SEQ_CST);
            cpu->reservation = a; cpu->reserved_value = v; X[RD] = v; NEXT; }
  L_SC_W: { AADDR(4); uint32_t old = (uint32_t)cpu->reserved_value;
            uint64_t ok = cpu->reservation == a &&
                __atomic_compare_exchange_n((uint32_t *)WB_MMU_HOST(a), &old, (uint32_t)RS2, 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            cpu->reservation = WB_NO_RESERVATION; X[RD] = !ok; NEXT; }
  L_SC_D: { AADDR(8); uint64_t old = cpu->reserved_value;
            uint64_t ok = cpu->reservation == a &&
                __atomic_compare_exchange_n((uint64_t *)WB_MMU_HOST(a), &old, RS2, 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            cpu->reservation = WB_NO_RESERVATION; X[RD] = !ok; NEXT; }
  L_AMOSWAP_W: AMO_FETCH(4, int32_t, __atomic_exchange_n)
  L_AMOADD_W: AMO_FETCH(4, int32_t, __atomic_fetch_add)
  L_AMOXOR_W: AMO_FETCH(4, int32_t, __atomic_fetch_xor)
  L_AMOAND_W: AMO_FETCH(4, int32_t, __atomic_fetch_and)
  L_AMOOR_W: AMO_FETCH(4, int32_t, __atomic_fetch_or)
  L_AMOMIN_W: AMO_CAS(4, int32_t, old < v ? old : v)
  L_AMOMAX_W: AMO_CAS(4, int32_t, old > v ? old : v)
  L_AMOMINU_W: AMO_CAS(4, int32_t, (uint32_t)old < (uint32_t)v ? old : v)
  L_AMOMAXU_W: AMO_CAS(4, int32_t, (uint32_t)old > (uint32_t)v ? old : v)
  L_AMOSWAP_D: AMO_FETCH(8, int64_t, __atomic_exchange_n)
  L_AMOADD_D: AMO_FETCH(8, int64_t, __atomic_fetch_add)
  L_AMOXOR_D: AMO_FETCH(8, int64_t, __atomic_fetch_xor)
  L_AMOAND_D: AMO_FETCH(8, int64_t, __atomic_fetch_and)
  L_AMOOR_D: AMO_FETCH(8, int64_t, __atomic_fetch_or)
  L_AMOMIN_D: AMO_CAS(8, int64_t, old < v ? old : v)
  L_AMOMAX_D: AMO_CAS(8, int64_t, old > v ? old : v)
  L_AMOMINU_D: AMO_CAS(8, int64_t, (uint64_t)old < (uint64_t)v ? old : v)
  L_AMOMAXU_D: AMO_CAS(8, int64_t, (uint64_t)old > (uint64_t)v ? old : v)
  misaligned:
    cpu->instret -= (b->n - IDX);
    cpu->pc = INSN_PC;
    if (wb_trap_memory(cpu, cpu->pc, RS1, "misaligned atomic access")) goto stop;
    goto trapped;

  /* ---- F and D ---- */
#define RM int rm_ = d->imm == WB_RM_DYN ? (int)cpu->frm : d->imm; if (UNLIKELY(rm_ > 4)) goto illegal
#define FBIN(fn) { RM; F[RD] = wb_##fn(F[d->rs1], F[d->rs2], rm_, &cpu->fflags); NEXT; }
#define FTRI(fn) { RM; F[RD] = wb_##fn(F[d->rs1], F[d->rs2], F[d->rs3], rm_, &cpu->fflags); NEXT; }
#define FUN(fn) { RM; F[RD] = wb_##fn(F[d->rs1], rm_, &cpu->fflags); NEXT; }
#define FTOI(fn) { RM; X[RD] = wb_##fn(F[d->rs1], rm_, &cpu->fflags); NEXT; }
#define ITOF(fn) { RM; F[RD] = wb_##fn(X[d->rs1], rm_, &cpu->fflags); NEXT; }
#define FNORM(fn) { F[RD] = wb_##fn(F[d->rs1], F[d->rs2], &cpu->fflags); NEXT; }
#define FCMP(fn) { X[RD] = wb_##fn(F[d->rs1], F[d->rs2], &cpu->fflags); NEXT; }
#define FSGN(fn) { F[RD] = wb_##fn(F[d->rs1], F[d->rs2]); NEXT; }
  L_FLW: { ADDR(4); uint32_t v; memcpy(&v, WB_MMU_HOST(a), 4); F[RD] = wb_box_s(v); NEXT; }
  L_FLD: { ADDR(8); uint64_t v; memcpy(&v, WB_MMU_HOST(a), 8); F[RD] = v; NEXT; }
  L_FSW: { ADDR(4); uint32_t v = (uint32_t)F[d->rs2]; memcpy(WB_MMU_HOST(a), &v, 4); NEXT; }
  L_FSD: { ADDR(8); uint64_t v = F[d->rs2]; memcpy(WB_MMU_HOST(a), &v, 8); NEXT; }
  L_FMADD_S: FTRI(fmadd_s)
  L_FMSUB_S: FTRI(fmsub_s)
  L_FNMSUB_S: FTRI(fnmsub_s)
  L_FNMADD_S: FTRI(fnmadd_s)
  L_FADD_S: FBIN(fadd_s)
  L_FSUB_S: FBIN(fsub_s)
  L_FMUL_S: FBIN(fmul_s)
  L_FDIV_S: FBIN(fdiv_s)
  L_FSQRT_S: FUN(fsqrt_s)
  L_FSGNJ_S: FSGN(fsgnj_s)
  L_FSGNJN_S: FSGN(fsgnjn_s)
  L_FSGNJX_S: FSGN(fsgnjx_s)
  L_FMIN_S: FNORM(fmin_s)
  L_FMAX_S: FNORM(fmax_s)
  L_FCVT_W_S: FTOI(fcvt_w_s)
  L_FCVT_WU_S: FTOI(fcvt_wu_s)
  L_FMV_X_W: X[RD] = wb_fmv_x_w(F[d->rs1]); NEXT;
  L_FEQ_S: FCMP(feq_s)
  L_FLT_S: FCMP(flt_s)
  L_FLE_S: FCMP(fle_s)
  L_FCLASS_S: X[RD] = wb_fclass_s(F[d->rs1]); NEXT;
  L_FCVT_S_W: ITOF(fcvt_s_w)
  L_FCVT_S_WU: ITOF(fcvt_s_wu)
  L_FMV_W_X: F[RD] = wb_fmv_w_x(X[d->rs1]); NEXT;
  L_FCVT_L_S: FTOI(fcvt_l_s)
  L_FCVT_LU_S: FTOI(fcvt_lu_s)
  L_FCVT_S_L: ITOF(fcvt_s_l)
  L_FCVT_S_LU: ITOF(fcvt_s_lu)
  L_FMADD_D: FTRI(fmadd_d)
  L_FMSUB_D: FTRI(fmsub_d)
  L_FNMSUB_D: FTRI(fnmsub_d)
  L_FNMADD_D: FTRI(fnmadd_d)
  L_FADD_D: FBIN(fadd_d)
  L_FSUB_D: FBIN(fsub_d)
  L_FMUL_D: FBIN(fmul_d)
  L_FDIV_D: FBIN(fdiv_d)
  L_FSQRT_D: FUN(fsqrt_d)
  L_FSGNJ_D: FSGN(fsgnj_d)
  L_FSGNJN_D: FSGN(fsgnjn_d)
  L_FSGNJX_D: FSGN(fsgnjx_d)
  L_FMIN_D: FNORM(fmin_d)
  L_FMAX_D: FNORM(fmax_d)
  L_FCVT_S_D: FUN(fcvt_s_d)
  L_FCVT_D_S: FUN(fcvt_d_s)
  L_FEQ_D: FCMP(feq_d)
  L_FLT_D: FCMP(flt_d)
  L_FLE_D: FCMP(fle_d)
  L_FCLASS_D: X[RD] = wb_fclass_d(F[d->rs1]); NEXT;
  L_FCVT_W_D: FTOI(fcvt_w_d)
  L_FCVT_WU_D: FTOI(fcvt_wu_d)
  L_FCVT_D_W: ITOF(fcvt_d_w)
  L_FCVT_D_WU: ITOF(fcvt_d_wu)
  L_FCVT_L_D: FTOI(fcvt_l_d)
  L_FCVT_LU_D: FTOI(fcvt_lu_d)
  L_FMV_X_D: X[RD] = F[d->rs1]; NEXT;
  L_FCVT_D_L: ITOF(fcvt_d_l)
  L_FCVT_D_LU: ITOF(fcvt_d_lu)
  L_FMV_D_X: F[RD] = X[d->rs1]; NEXT;

#define PAIR_HANDLERS
#include "interp_pair.h"
#undef PAIR_HANDLERS
