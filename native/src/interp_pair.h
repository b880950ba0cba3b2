/* interp_pair.h — pair handlers: "op A, then go straight to op B's handler".
 *
 * Threaded dispatch pays one host indirect jump per guest instruction. For the most common
 * adjacent pairs (A, B) inside a block, build_block() gives A's record a handler that runs A's
 * body and then jumps *directly* (a static, always-predicted jump) to B's ordinary handler.
 * Nothing else changes: B keeps its own record, every record still runs with `d` pointing at
 * itself, so precise faults (MARK) and per-block instruction counting are exactly as for
 * unpaired code. Groups never overlap (A B C D pairs as (A,B), (C,D)).
 *
 * PAIR_FIRST lists the ops that can start a pair (each needs an OPBODY_ macro in
 * interp_ops.h); PAIR_SECOND the ops that can follow them; every combination gets a handler.
 * The lists were chosen from pair frequencies of compiled C code (Lua's VM, zstd).
 * Included four times: plain (the lists), with PAIR_LABELS / TRIPLE_LABELS (the label
 * tables, in wb_interp_run) and with PAIR_HANDLERS (the handlers, in interp_ops.h).
 */
#ifndef WB_INTERP_PAIR_LISTS
#define WB_INTERP_PAIR_LISTS
#define PAIR_FIRST(P) \
  P(LUI) P(AUIPC) P(LBU) P(LW) P(LWU) P(LD) P(SB) P(SW) P(SD) P(ADDI) P(ANDI) P(SLLI) \
  P(SRLI) P(ADD) P(SUB) P(OR) P(AND) P(ADDIW)
#define PAIR_SECOND(Q, A) \
  Q(A, LUI) Q(A, AUIPC) Q(A, LBU) Q(A, LW) Q(A, LWU) Q(A, LD) Q(A, SB) Q(A, SW) Q(A, SD) \
  Q(A, ADDI) Q(A, ANDI) Q(A, SLLI) Q(A, SRLI) Q(A, ADD) Q(A, SUB) Q(A, OR) Q(A, AND) \
  Q(A, ADDIW) Q(A, SLTIU) Q(A, XOR) Q(A, MUL) Q(A, FLD) Q(A, FSD) \
  Q(A, BEQ) Q(A, BNE) Q(A, BLT) Q(A, BGE) Q(A, BLTU) Q(A, BGEU) Q(A, JAL) Q(A, JALR)
/* Triples: the commonest three-op idioms (runs of loads/stores for spills and struct copies,
 * shift/or byte assembly, address arithmetic before a load or an indirect jump). A triple
 * handler runs the first two bodies and jumps straight to the third op's handler. */
#define PAIR_TRIPLES(T) \
  T(LD, LD, LD) T(SD, SD, SD) T(LBU, LBU, LBU) T(SB, SB, SB) T(SLLI, SLLI, SLLI) \
  T(SRLI, SRLI, SRLI) T(SLLI, SLLI, OR) T(SLLI, ADD, LD) T(OR, OR, OR) T(ANDI, SLLI, ADD) \
  T(LWU, ANDI, SLLI) T(ADD, LD, JALR) T(OR, LBU, LBU) T(LD, LD, ADDI) T(LBU, LBU, SLLI) \
  T(SLLI, OR, OR) T(ADDI, SD, SD) T(SD, SD, ADDI) T(ADD, AUIPC, JALR) T(LD, ADDI, JALR) \
  T(ADDI, ADD, ADD) T(ADDI, ADDI, ADDI) T(ADD, ADD, ADD) T(SLLI, OR, SLLI) T(OR, SLLI, SLLI) \
  T(SRLI, LUI, ADDIW) T(LUI, ADDIW, AND) T(AND, ADD, LBU) T(SRLI, SB, SB) T(ADDIW, AND, ADD) \
  T(ADD, LBU, SRLI) T(ADD, ADD, AUIPC)
/* index of each first op in the pair table (0 = cannot start a pair) */
enum {
  PF_NONE,
#define PF_ENUM(A) PF_##A,
  PAIR_FIRST(PF_ENUM)
#undef PF_ENUM
  PF_COUNT
};
#endif

#ifdef TRIPLE_LABELS
/* initializers of the triple table {op, op, op, handler} */
#define TRIPLE_LABEL(A, B, C) { { WB_OP_##A, WB_OP_##B, WB_OP_##C }, &&L_##A##__##B##__##C },
  PAIR_TRIPLES(TRIPLE_LABEL)
#undef TRIPLE_LABEL
#elif defined(PAIR_LABELS)
/* designated initializers of pair_labels[PF_COUNT][WB_OP_COUNT] */
#define PAIR_LABEL(A, B) [PF_##A][WB_OP_##B] = &&L_##A##__##B,
#define PAIR_LABELS_OF(A) PAIR_SECOND(PAIR_LABEL, A)
  PAIR_FIRST(PAIR_LABELS_OF)
#undef PAIR_LABELS_OF
#undef PAIR_LABEL
#elif defined(PAIR_HANDLERS)
/* the handlers: A's body, then B's ordinary handler with d at B's record */
#define PAIR_HANDLER(A, B) L_##A##__##B: { OPBODY_##A; } d++; goto L_##B;
#define PAIR_HANDLERS_OF(A) PAIR_SECOND(PAIR_HANDLER, A)
  PAIR_FIRST(PAIR_HANDLERS_OF)
#define TRIPLE_HANDLER(A, B, C) \
  L_##A##__##B##__##C: { OPBODY_##A; } d++; { OPBODY_##B; } d++; goto L_##C;
  PAIR_TRIPLES(TRIPLE_HANDLER)
#undef TRIPLE_HANDLER
#undef PAIR_HANDLERS_OF
#undef PAIR_HANDLER
#endif
