/* parser/ast.h — the abstract syntax tree that grammar/anx.y builds and parser/compile.c reads.
** Nodes live in one arena per parse and are freed together; nothing outside the arena points in.
** Invariant: every node carries the line/col (1-based, col in bytes) of its first token. */
#ifndef AX_AST_H
#define AX_AST_H

#include <stddef.h>
#include <stdint.h>

/* Slot use per kind.  a/b/c are fixed children (NULL when absent), list/list2 variable ones,
** name an identifier (NUL-terminated, arena-owned), str/len a decoded string literal (may hold
** NUL bytes), op an operator token or a small flag, ival/fval numeric literals. */
#define AX_NODE_KINDS(X) \
  /* ---- expressions ---- */ \
  X(INT)        /* ival */ \
  X(FLOAT)      /* fval */ \
  X(STRING)     /* str,len (UTF-8 validated, escapes decoded) */ \
  X(TRUE) X(FALSE) X(NIL) X(SELF) \
  X(NAME)       /* name */ \
  X(LIST)       /* list = elements */ \
  X(MAP)        /* list = PAIR nodes */ \
  X(PAIR)       /* a = key (STRING node; bare identifiers become STRING), b = value */ \
  X(UNARY)      /* op = '-' or '+', a = operand */ \
  X(NOT)        /* a = operand */ \
  X(BINARY)     /* op = one of AX_OP_* below, a = left, b = right */ \
  X(AND) X(OR)  /* a, b (short-circuit) */ \
  X(RANGE)      /* a .. b */ \
  X(CALL)       /* a = callee, list = args (exprs, then KWARG nodes) */ \
  X(KWARG)      /* name = keyword, a = value */ \
  X(INDEX)      /* a = object, list = indices (expr or SLICE) */ \
  X(SLICE)      /* a = start, b = stop, c = step (each may be NULL) */ \
  X(FIELD)      /* a = object, name = member */ \
  X(LAMBDA)     /* list = PARAMs, a = body: BLOCK, or an expr when op == 1 (fn(x) => e) */ \
  /* ---- statements ---- */ \
  X(EXPR_STMT)  /* a = expr */ \
  X(DECL)       /* op = AX_DECL_LET|VAR|SYNAP, list = NAME nodes (>1: destructuring), a = TYPE or NULL, b = value */ \
  X(ASSIGN)     /* op = '=' or AX_OP_ADD/SUB/MUL/DIV (compound), a = target (NAME, INDEX, FIELD), b = value */ \
  X(PULSE)      /* list = chain x -> f -> g -> out (>= 3 items); last item is a NAME bound to the result */ \
  X(RETURN)     /* a = value or NULL */ \
  X(BREAK) X(CONTINUE) \
  X(THROW)      /* a = value */ \
  X(IMPORT)     /* list = NAME parts of the dotted path, or str = path when op == 1 (import "p" as x); name = alias or NULL */ \
  X(FROM_IMPORT)/* a = module (NAME with dotted name "a.b", or STRING), list = NAME nodes imported */ \
  X(IF)         /* a = cond, b = then BLOCK, c = else (BLOCK, IF or NULL) */ \
  X(WHILE)      /* a = cond, b = body BLOCK */ \
  X(FOR)        /* list = NAME nodes (>1: destructuring), a = iterable, b = body BLOCK */ \
  X(FNDECL)     /* name, list = PARAMs, a = body BLOCK, b = return TYPE or NULL, op = AX_FN_FN|NEURO|FUNCTION */ \
  X(PARAM)      /* name, a = default expr or NULL, b = TYPE or NULL */ \
  X(TYPE)       /* name (e.g. "float", "tensor"), list = dims (INT, NAME or NIL for '?'), op = 1 when written with [] */ \
  X(BLOCK)      /* list = statements */ \
  X(TRY)        /* a = try BLOCK, name = catch variable, b = catch BLOCK */ \
  X(PROGRAM)    /* list = statements */ \
  /* ---- network declarations ---- */ \
  X(NETWORK)    /* name, op = 1 when declared with (params) (a constructor), list = PARAMs, list2 = items */ \
  X(NEURON)     /* name, list = PROP nodes */ \
  X(LAYER)      /* name; op == 0: a = expr (layer x = expr); op == 1: list2 = args, list = PROPs (layer x(args) {..}) */ \
  X(SYNAP)      /* list = NAME chain (a -> b -> c), list2 = PROPs */ \
  X(PROP)       /* name = key, a = value (inside neuron/layer/synap blocks and network-level key: value) */ \
  X(NET_PULSE)  /* list = PARAMs, a = body BLOCK: the explicit forward method */
  /* network items may also be DECL (let/var) and FNDECL nodes */

typedef enum {
#define AX_X(k) AX_N_##k,
  AX_NODE_KINDS(AX_X)
#undef AX_X
  AX_N__COUNT
} ax_node_kind;

extern const char *const ax_node_kind_names[AX_N__COUNT];

/* BINARY / compound-assignment operators. */
typedef enum {
  AX_OP_ADD = 1, AX_OP_SUB, AX_OP_MUL, AX_OP_DIV, AX_OP_MOD, AX_OP_POW, AX_OP_MATMUL,
  AX_OP_EQ, AX_OP_NE, AX_OP_LT, AX_OP_LE, AX_OP_GT, AX_OP_GE
} ax_binop;

enum { AX_DECL_LET = 1, AX_DECL_VAR, AX_DECL_SYNAP };
enum { AX_FN_FN = 1, AX_FN_NEURO, AX_FN_FUNCTION };

typedef struct ax_node ax_node;

typedef struct {
  ax_node **items;
  int n, cap;
} ax_nodelist;

struct ax_node {
  ax_node_kind kind;
  int line, col;
  int op;
  int64_t ival;
  double fval;
  const char *name;
  char *str;
  size_t len;
  ax_node *a, *b, *c;
  ax_nodelist list, list2;
};

/* ---- arena: every AST allocation of one parse ---- */
typedef struct ax_arena ax_arena;
ax_arena *ax_arena_new(void);                    /* NULL when out of memory */
void ax_arena_free(ax_arena *arena);
void *ax_arena_alloc(ax_arena *arena, size_t size);  /* zeroed; NULL when out of memory */
char *ax_arena_strdup(ax_arena *arena, const char *s, size_t len);

ax_node *ax_node_new(ax_arena *arena, ax_node_kind kind, int line, int col);
int ax_nodelist_push(ax_arena *arena, ax_nodelist *list, ax_node *node);  /* 0 ok, -1 no memory */

/* ---- diagnostics ---- */
typedef struct {
  const char *file;   /* arena-owned copy */
  int line, col;
  char msg[256];
} ax_diag;

typedef struct {
  ax_diag *items;
  int n, cap;
  int incomplete;     /* input ended inside an open bracket, block or string: the REPL asks for more */
} ax_diags;

/* Parse `src` (len bytes, need not be NUL-terminated) named `file`.
** Returns the PROGRAM node, or NULL when there were errors (all of them in diags, several per run
** thanks to error recovery). Nesting deeper than AX_MAX_NESTING is an error, not a crash. */
#define AX_MAX_NESTING 200
ax_node *ax_parse(ax_arena *arena, const char *file, const char *src, size_t len, ax_diags *diags);
void ax_diags_free(ax_diags *diags);

/* ---- additions by the front end (parser/ast.c, parser/diag.c) ----
** AX_MAX_AST_DEPTH: a tree returned by ax_parse is never deeper than this (PROGRAM = depth 1);
** deeper input (e.g. 1+1+...+1 with 100k terms, 5000 unary minus) is the error
** "expression nested too deeply", so recursive walkers (compiler, dump) need no depth check.
** ax_parse also returns NULL with diags->n == 0 only when out of memory even for the message.
** ax_diags_add appends one diagnostic (printf-style msg, cut at 255 bytes); `file` is stored as
** given, not copied: pass a string that lives as long as diags (the PROGRAM's arena holds
** ax_parse's copy, available as diags->items[i].file or via ax_arena_file). Returns 0, -1 on OOM.
** ax_arena_file: the arena copy of the file name given to ax_parse (NULL before a parse).
** ax_binop_symbol: "+", "**", "==", ... for an ax_binop, "=" for '=' (ASSIGN), "?" otherwise. */
#define AX_MAX_AST_DEPTH 1000
int ax_diags_add(ax_diags *diags, const char *file, int line, int col, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));
const char *ax_arena_file(const ax_arena *arena);
const char *ax_binop_symbol(int op);

/* Write "file:line:col: error: msg\n", the source line and a caret under col.
** src may be NULL (then only the first line is written). Used for compile and runtime errors.
** (front end) Every written line ends with '\n'; the output is always NUL-terminated and cut at
** outsz. Tabs of the source line are kept in the caret padding; a line longer than 160 bytes is
** shown as a window around col with "..." marks. NUL bytes in the shown line print as '?'. */
void ax_diag_format(char *out, size_t outsz, const char *file, const char *src, size_t srclen,
                    int line, int col, const char *severity, const char *msg);

/* Print an indented tree, one node per line ("BINARY + @1:5"); for tests (anx --ast).
** (front end) emit gets one whole line per call, ending with '\n'; indent is in levels (2 spaces
** each). Children print in the order a, b, c, list, list2, except DECL, FOR, FNDECL, LAMBDA,
** NETWORK, NET_PULSE, IMPORT (list first) and LAYER (list2 = args before list = props).
** A missing SLICE part prints as "-". */
void ax_ast_dump(const ax_node *node, int indent, void (*emit)(void *ud, const char *s), void *ud);

#endif
