/* parser/compile_int.h — state shared by compile.c (code generation) and resolve.c (names).
** Invariant: cl_fn.sp counts the values the function has on its stack at the current emit point
** (slot 0 = the callee, then parameters and locals, then temporaries). */
#ifndef AX_COMPILE_INT_H
#define AX_COMPILE_INT_H

#include <stdbool.h>

#include "../vm/ax_vmint.h"
#include "compile.h"

#define AX_MAX_LOCALS 250
#define AX_MAX_UPVALS 250

typedef struct {
  const char *name;
  int depth;
  bool is_const, captured;
  int locvar;         /* index in proto->locvars (debug info), -1 when unnamed */
} cl_local;

typedef struct {
  uint8_t index;
  bool is_local, is_const;
  const char *name;
} cl_upval;

typedef struct cl_loop {
  struct cl_loop *outer;
  int nlocals;        /* locals alive at the loop's body level (break/continue pop above this) */
  int cont_nlocals;   /* locals alive at the continue target */
  int start;          /* while: condition pc; for: ITER_NEXT pc */
  int ntry;           /* try blocks open at loop entry */
  int *breaks, nbreaks, capbreaks;
  int *conts, nconts, capconts;
  bool is_for;
} cl_loop;

typedef struct {
  const char **members;
  int nmembers;
} cl_net;

typedef struct cl_fn {
  struct cl_fn *enclosing;
  ax_proto *proto;
  cl_local locals[AX_MAX_LOCALS + 1];
  int nlocals, depth;
  cl_upval upvals[AX_MAX_UPVALS + 1];
  int nupvals;
  int sp;
  cl_loop *loop;
  int ntry;
  int line, col;
  cl_net *net;
  bool toplevel;
} cl_fn;

typedef struct {
  ax_vm *vm;
  ax_module *mod;
  const char *file;
  ax_diags *diags;
  cl_fn *fn;
  int errors;
  bool repl;
  int depth;          /* recursion guard */
  bool callee;        /* compiling the NAME callee of a call (property thunks keep builtins) */
} compiler;

typedef enum { CL_UNRESOLVED, CL_LOCAL, CL_UPVAL, CL_GLOBAL, CL_BUILTIN, CL_NETMEMBER } cl_refkind;
typedef struct {
  cl_refkind kind;
  int index;
  bool is_const;
} cl_ref;

void cl_error(compiler *c, const ax_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cl_add_local(compiler *c, const char *name, bool is_const, const ax_node *at);
int cl_find_local(cl_fn *f, const char *name);
/* Debug info: a named local (slot >= 0) or upvalue (slot = -1 - index) in p->locvars; -1 if none. */
int cl_add_locvar(ax_proto *p, const char *name, int slot, int startpc);
int cl_find_upval(compiler *c, cl_fn *f, const char *name, bool *is_const);
bool cl_is_net_member(compiler *c, const char *name);
cl_ref cl_resolve(compiler *c, const char *name);
const char *cl_hint(compiler *c, const char *name, bool include_builtins);
void cl_predeclare(compiler *c, const ax_node *program);

#endif
