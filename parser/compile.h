/* parser/compile.h — AST -> bytecode.  Compiles a PROGRAM into a top-level function prototype
** of a module (globals by slot), resolving names to locals, upvalues, module slots or prelude
** slots.  Invariant: on error nothing is run; every problem goes to diags (file:line:col). */
#ifndef AX_COMPILE_H
#define AX_COMPILE_H

#include "ast.h"

struct ax_vm;
struct ax_module;
struct ax_proto;

typedef struct {
  int repl;          /* 1: bare expression statements print their value; redeclaring is fine */
} ax_compile_opts;

/* Returns the top-level prototype, or NULL with errors in diags. */
struct ax_proto *ax_compile(struct ax_vm *vm, struct ax_module *m, const ax_node *program,
                            const char *file, const ax_compile_opts *opts, ax_diags *diags);

/* Levenshtein distance (for "did you mean" hints), capped at `cap`. */
int ax_edit_distance(const char *a, const char *b, int cap);

#endif
