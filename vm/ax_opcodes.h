/* vm/ax_opcodes.h — THE bytecode list.  One row per instruction: name, operand bytes, stack
** effect (AX_VAR when it depends on operands; the compiler then accounts for it itself).
** The enum, the name table, the disassembler and the dispatch table are generated from it.
** Operands: u8 = 1 byte, u16 = 2 bytes little-endian; jump offsets are u16 from the next pc. */
#ifndef AX_OPCODES_H
#define AX_OPCODES_H

#define AX_VAR 100

/*  X(name,          operand layout,      operand bytes, stack effect) */
#define AX_BYTECODES(X) \
  X(CONST,          "k16",              2, 1)  /* push consts[k] */ \
  X(SMALLINT,       "i16",              2, 1)  /* push a signed 16-bit int */ \
  X(NIL,            "",                 0, 1) \
  X(TRUE,           "",                 0, 1) \
  X(FALSE,          "",                 0, 1) \
  X(POP,            "",                 0, -1) \
  X(POPN,           "u8",               1, AX_VAR) \
  X(DUP,            "",                 0, 1) \
  X(DUPN,           "u8",               1, AX_VAR) /* copy the top n values */ \
  X(GET_LOCAL,      "u8",               1, 1) \
  X(SET_LOCAL,      "u8",               1, -1) /* pops */ \
  X(GET_UPVAL,      "u8",               1, 1) \
  X(SET_UPVAL,      "u8",               1, -1) \
  X(GET_GLOBAL,     "g16",              2, 1)  /* module variable by slot */ \
  X(SET_GLOBAL,     "g16",              2, -1) \
  X(GET_BUILTIN,    "g16",              2, 1)  /* prelude variable by slot */ \
  X(GET_FIELD,      "k16",              2, 0)  /* obj -> obj.name */ \
  X(SET_FIELD,      "k16",              2, -2) /* obj val -> */ \
  X(GET_INDEX,      "u8",               1, AX_VAR) /* obj i1..in -> v */ \
  X(SET_INDEX,      "u8",               1, AX_VAR) /* obj i1..in val -> */ \
  X(SLICE,          "u8",               1, AX_VAR) /* flags 1 start 2 stop 4 step: pops those -> slice */ \
  X(ADD,            "",                 0, -1) \
  X(SUB,            "",                 0, -1) \
  X(MUL,            "",                 0, -1) \
  X(DIV,            "",                 0, -1) \
  X(MOD,            "",                 0, -1) \
  X(POW,            "",                 0, -1) \
  X(MATMUL,         "",                 0, -1) \
  X(EQ,             "",                 0, -1) \
  X(NE,             "",                 0, -1) \
  X(LT,             "",                 0, -1) \
  X(LE,             "",                 0, -1) \
  X(GT,             "",                 0, -1) \
  X(GE,             "",                 0, -1) \
  X(NEG,            "",                 0, 0) \
  X(NOT,            "",                 0, 0) \
  X(ADD_I,          "i16",              2, 0)  /* superinstruction: top + small int */ \
  X(SUB_I,          "i16",              2, 0)  /* superinstruction: top - small int */ \
  X(ADD_LOCAL_K,    "u8 k16",           3, 0)  /* superinstruction: local[a] += consts[k] */ \
  X(ADD_GLOBAL_K,   "g16 k16",          4, 0)  /* superinstruction: global[g] += consts[k] */ \
  X(CMP_JF,         "u8 j16",           3, -2) /* superinstruction: pop b, a; jump unless a <op> b */ \
  X(JUMP,           "j16",              2, 0) \
  X(JUMP_IF_FALSE,  "j16",              2, -1) /* pops the condition */ \
  X(JUMP_FALSE_KEEP,"j16",              2, 0)  /* `and`: jump keeping the value when falsy */ \
  X(JUMP_TRUE_KEEP, "j16",              2, 0)  /* `or` */ \
  X(JUMP_IF_DEF,    "u8 j16",           3, 0)  /* default args: jump when local[a] was passed */ \
  X(LOOP,           "b16",              2, 0)  /* backward jump; checks Ctrl-C and --max-steps */ \
  X(CALL,           "u8",               1, AX_VAR) /* f a1..an -> r */ \
  X(CALL_KW,        "u8 u8 k16",        4, AX_VAR) /* f a1..an kv1..kvm -> r; k = list of names */ \
  X(INVOKE,         "k16 u8",           3, AX_VAR) /* obj a1..an -> obj.name(a...) */ \
  X(INVOKE_KW,      "k16 u8 u8 k16",    6, AX_VAR) \
  X(CLOSURE,        "k16 ...",          2, 1)  /* followed by nupvals pairs (is_local, index) */ \
  X(CLOSE_UPVAL,    "",                 0, -1) /* close the top slot if captured, pop it */ \
  X(CLOSE_FROM,     "u8",               1, 0)  /* close upvalues at or above local slot a */ \
  X(RETURN,         "",                 0, -1) \
  X(BUILD_LIST,     "u8",               1, AX_VAR) \
  X(LIST_APPEND_N,  "u8",               1, AX_VAR) \
  X(BUILD_MAP,      "u8",               1, AX_VAR) /* u8 = pairs */ \
  X(MAP_SET_N,      "u8",               1, AX_VAR) \
  X(RANGE,          "",                 0, -1) \
  X(ITER_PREP,      "",                 0, 1)  /* iterable -> iterable state */ \
  X(ITER_NEXT,      "u8 u8 b16",        4, 0)  /* local[a] iterable, [a+1] state; next item into local[a+2] \
                                                  (u8 n > 1: unpacked into a+2..a+1+n), jump back; \
                                                  falls through when exhausted */ \
  X(UNPACK,         "u8",               1, AX_VAR) /* seq -> n values */ \
  X(TRY_BEGIN,      "j16",              2, 0)  /* handler at target, stack depth recorded */ \
  X(TRY_END,        "",                 0, 0) \
  X(THROW,          "",                 0, -1) \
  X(IMPORT,         "k16 u8",           3, 1)  /* module name/path const; u8 1 = path import */ \
  X(NETWORK,        "k16",              2, 0)  /* spec -> instance via the network hook */ \
  X(PRINT_EXPR,     "",                 0, -1) /* REPL: print a non-nil value */

typedef enum {
#define AX_X(name, layout, nbytes, effect) AX_BC_##name,
  AX_BYTECODES(AX_X)
#undef AX_X
  AX_BC__COUNT
} ax_bytecode;

extern const char *const ax_bc_names[AX_BC__COUNT];
extern const char *const ax_bc_layouts[AX_BC__COUNT];
extern const signed char ax_bc_operand_bytes[AX_BC__COUNT];
extern const signed char ax_bc_stack_effect[AX_BC__COUNT];

#endif
