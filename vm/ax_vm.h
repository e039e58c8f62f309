/* vm/ax_vm.h — the VM's internal API: what natives, native modules and foreign types use.
** Values and objects are in ax_object.h.  Invariants: natives never longjmp; they return true
** with a result or false after ax_vm_raise*(); the VM attaches file:line:col and the trace.
** The garbage collector runs only at safe points of the dispatch loop (never inside a native),
** except when a native calls back into the VM (ax_vm_call): values a native holds across such
** a call must be rooted with ax_vm_push_root()/ax_vm_pop_root().
**
** Extension API in short
**   natives      bool fn(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out)
**   prelude      ax_vm_register_global(vm, "name", fn, arity)  or  ax_vm_register_globals(vm, regs)
**   value        ax_vm_set_global_value(vm, "pi", ax_float(3.14159))
**   modules      ax_vm_register_module(vm, "os", regs)            (eager, a {name, fn, arity} table)
**                ax_vm_register_module_lazy(vm, "nn", init_fn)   (init runs at the first import and
**                fills the module with ax_module_set_native / ax_module_set_value)
**   methods      ax_vm_register_method(vm, AX_O_LIST, "name", fn, arity)  (self is args[0])
**   foreign      ax_foreign_class (below) + ax_foreign_new(vm, &cls, data)
**   networks     ax_vm_set_network_hook(vm, hook)
**   errors       ax_vm_raise(vm, "shape", "matmul: %s", ...)  -> e.kind == "shape"
**   files        ax_vm_file_allowed(vm, path, AX_FILE_READ) before touching any file (--sandbox)
*/
#ifndef AX_VM_H
#define AX_VM_H

#include <stdarg.h>
#include <stdio.h>

#include "ax_object.h"

/* ---- foreign objects (tensors, networks, optimizers, loaders) ----
** All hooks are optional (NULL = "not supported", the VM raises a type error naming the class).
** Status returns: AX_HOOK_OK, AX_HOOK_ERR (the hook raised with ax_vm_raise), AX_HOOK_MISSING
** (no such field / operation not supported for these operands: the VM raises a clear error). */
enum { AX_HOOK_ERR = 0, AX_HOOK_OK = 1, AX_HOOK_MISSING = 2 };

/* Operators passed to binop/unop (same numbering as parser/ast.h ax_binop). */
enum {
  AX_FOP_ADD = 1, AX_FOP_SUB, AX_FOP_MUL, AX_FOP_DIV, AX_FOP_MOD, AX_FOP_POW, AX_FOP_MATMUL,
  AX_FOP_EQ, AX_FOP_NE, AX_FOP_LT, AX_FOP_LE, AX_FOP_GT, AX_FOP_GE,
  AX_FOP_NEG = 20, AX_FOP_NOT
};
/* binop `side`: which operand is the foreign object the hook belongs to (0 = left, 1 = right).
** When both are foreign the left one's class is asked first. */

struct ax_foreign_class {
  const char *name;                                           /* type(x) returns this */
  void (*finalize)(ax_vm *vm, void *data);                    /* free data (GC sweep) */
  void (*mark)(ax_vm *vm, void *data);                        /* ax_vm_mark_value() each held value */
  bool (*tostring)(ax_vm *vm, ax_value self, ax_value *out);  /* out: a string value */
  int (*get_field)(ax_vm *vm, ax_value self, ax_string *name, ax_value *out); /* attr or bound method */
  int (*set_field)(ax_vm *vm, ax_value self, ax_string *name, ax_value val);
  int (*binop)(ax_vm *vm, int op, ax_value a, ax_value b, int side, ax_value *out);
  int (*unop)(ax_vm *vm, int op, ax_value a, ax_value *out);
  /* idx[0..n-1]: ints, floats, nil, lists, foreign values or slice objects (ax_slice_parts) */
  int (*index)(ax_vm *vm, ax_value self, int n, const ax_value *idx, ax_value *out);
  int (*set_index)(ax_vm *vm, ax_value self, int n, const ax_value *idx, ax_value val);
  int (*call)(ax_vm *vm, ax_value self, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
  int (*len)(ax_vm *vm, ax_value self, int64_t *out);
  /* for-loops: *state starts nil and is kept for the hook (any value, GC-rooted on the stack).
  ** Return AX_HOOK_OK with *out = next item, AX_HOOK_MISSING when exhausted, AX_HOOK_ERR. */
  int (*iter)(ax_vm *vm, ax_value self, ax_value *state, ax_value *out);
  int (*truthy)(ax_vm *vm, ax_value self, bool *out);        /* may raise */
};

ax_value ax_foreign_new(ax_vm *vm, const ax_foreign_class *cls, void *data); /* nil + raised on OOM */
void *ax_foreign_data(ax_value v, const ax_foreign_class *cls);   /* NULL unless v is of cls */
void ax_vm_mark_value(ax_vm *vm, ax_value v);
void ax_vm_add_pressure(ax_vm *vm, long long bytes);   /* outside-heap bytes (tensor storage) */
/* A slice object (x[a:b:c]) passed to index hooks: start/stop/step are nil when omitted. */
bool ax_slice_parts(ax_value v, ax_value *start, ax_value *stop, ax_value *step);

/* ---- registration ---- */
typedef struct {
  const char *name;
  ax_native_fn fn;
  int arity;          /* >= 0 exact positional count; -1 any (the native checks) */
} ax_native_reg;      /* tables end with {NULL, NULL, 0} */

typedef bool (*ax_module_init_fn)(ax_vm *vm, ax_module *m);   /* false after ax_vm_raise */

bool ax_vm_register_global(ax_vm *vm, const char *name, ax_native_fn fn, int arity);
bool ax_vm_register_globals(ax_vm *vm, const ax_native_reg *regs);
bool ax_vm_set_global_value(ax_vm *vm, const char *name, ax_value v);
bool ax_vm_register_module(ax_vm *vm, const char *name, const ax_native_reg *regs);
bool ax_vm_register_module_lazy(ax_vm *vm, const char *name, ax_module_init_fn init);
bool ax_module_set_native(ax_vm *vm, ax_module *m, const char *name, ax_native_fn fn, int arity);
bool ax_module_set_value(ax_vm *vm, ax_module *m, const char *name, ax_value v);
bool ax_vm_register_method(ax_vm *vm, ax_okind kind, const char *name, ax_native_fn fn, int arity);
ax_value ax_native_new(ax_vm *vm, const char *name, ax_native_fn fn, int arity, void *ud);
void *ax_vm_native_ud(ax_vm *vm);       /* ud of the native being called */
ax_value ax_bound_new(ax_vm *vm, ax_value self, ax_value method);

/* Network declarations: `spec` is a map (see docs/language.md "Networks"); the hook returns the
** instance (or the constructor when spec.ctor is true) in *out. */
typedef bool (*ax_network_hook)(ax_vm *vm, ax_value spec, ax_value *out);
void ax_vm_set_network_hook(ax_vm *vm, ax_network_hook hook);
/* true under `anx --explain FILE`: the neural library prints each network's layer kinds and
** shapes to stdout as it builds them (the script runs as usual). */
bool ax_vm_explain_mode(ax_vm *vm);

/* ---- errors ---- */
bool ax_vm_raise(ax_vm *vm, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool ax_vm_raise_value(ax_vm *vm, ax_value err);   /* throw an error object / any value */
bool ax_vm_oom(ax_vm *vm);                          /* raise "out of memory" */
ax_value ax_error_new(ax_vm *vm, const char *kind, const char *msg);

/* ---- files and the environment (--sandbox; vm/sandbox.c) ----
** The one gate for every file a native reads, stats, lists, writes or deletes for a script, asked
** with the path as the script gave it, before the file is touched. Always true without --sandbox.
** AX_FILE_IMPORT: a module's source, which may also come from below the main script's directory. */
typedef enum { AX_FILE_READ, AX_FILE_WRITE, AX_FILE_IMPORT } ax_file_access;
bool ax_vm_file_allowed(ax_vm *vm, const char *path, ax_file_access how);   /* false: raised */
/* The same test without raising: false with the message in why[0..n). */
bool ax_sandbox_allows(ax_vm *vm, const char *path, ax_file_access how, char *why, size_t n);
bool ax_vm_env_allowed(ax_vm *vm, const char *what);   /* os.env() & co; false: raised */

/* ---- calling back into the VM from a native ---- */
bool ax_vm_call(ax_vm *vm, ax_value fn, int argc, const ax_value *args, const ax_kw *kw, ax_value *out);
void ax_vm_push_root(ax_vm *vm, ax_value v);
void ax_vm_pop_root(ax_vm *vm, int n);

/* ---- strings, lists, maps (NULL / nil + raised on OOM) ---- */
ax_string *ax_str_new(ax_vm *vm, const char *s, size_t len);
ax_string *ax_str_cstr(ax_vm *vm, const char *s);
ax_value ax_str_value(ax_vm *vm, const char *s);     /* nil when out of memory (raised) */
ax_string *ax_str_fmt(ax_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ax_list *ax_list_new(ax_vm *vm, int64_t cap);
bool ax_list_push(ax_vm *vm, ax_list *l, ax_value v);
ax_map *ax_map_new(ax_vm *vm);
bool ax_map_set(ax_vm *vm, ax_map *m, ax_value key, ax_value val);
bool ax_map_set_str(ax_vm *vm, ax_map *m, const char *key, ax_value val);
bool ax_map_get_str(ax_vm *vm, ax_map *m, const char *key, ax_value *out);

/* ---- conversions ---- */
const char *ax_type_name(ax_value v);                /* "int", "list", "tensor" (foreign name) ... */
bool ax_vm_truthy(ax_vm *vm, ax_value v, bool *out);  /* raises for e.g. non-scalar tensors */
ax_string *ax_vm_tostr(ax_vm *vm, ax_value v);        /* str(v); NULL when raised */
ax_string *ax_vm_repr(ax_vm *vm, ax_value v);         /* strings quoted (inside containers) */
bool ax_vm_equal(ax_vm *vm, ax_value a, ax_value b, bool *out);
void ax_format_float(double f, char *buf, size_t n);  /* shortest round-trip, Python repr style */

/* ---- argument helpers for natives ---- */
bool ax_arg_int(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, int64_t *out);
bool ax_arg_num(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, double *out);
bool ax_arg_str(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, ax_string **out);
bool ax_arg_count(ax_vm *vm, const char *fn, int argc, int min, int max);
/* kw lookup: true when present (*out set) */
bool ax_kw_get(const ax_kw *kw, const char *name, ax_value *out);
/* raise for keywords not in the NULL-terminated list */
bool ax_kw_check(ax_vm *vm, const char *fn, const ax_kw *kw, const char *const *allowed);

ax_vm *ax_vm_new_internal(void);
void ax_vm_free_internal(ax_vm *vm);

#endif
