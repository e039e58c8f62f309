/* vm/ax_object.h — script values and heap objects of the anx VM.
** A value is a 16-byte tagged union; heap objects share the ax_obj header and sit on the GC's
** object list.  Invariant: every string is interned (equal strings are the same object), so
** names and map keys compare by pointer. */
#ifndef AX_OBJECT_H
#define AX_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ax_vm ax_vm;
typedef struct ax_obj ax_obj;

typedef enum {
  AX_V_NIL, AX_V_BOOL, AX_V_INT, AX_V_FLOAT, AX_V_OBJ,
  AX_V_UNDEF   /* internal: an unset global / missing argument / deleted map entry; never visible */
} ax_vtype;

typedef struct {
  uint32_t type;
  union { bool b; int64_t i; double f; ax_obj *o; } as;
} ax_value;

typedef enum {
  AX_O_STRING, AX_O_LIST, AX_O_MAP, AX_O_RANGE, AX_O_PROTO, AX_O_CLOSURE, AX_O_UPVAL,
  AX_O_NATIVE, AX_O_BOUND, AX_O_ERROR, AX_O_MODULE, AX_O_FOREIGN, AX_O_SLICE
} ax_okind;

struct ax_obj {
  ax_obj *next;
  uint8_t kind;
  uint8_t marked;
};

typedef struct ax_string {
  ax_obj obj;
  uint32_t hash;
  size_t len;
  char chars[];      /* len bytes + a NUL (strings may also hold NUL bytes) */
} ax_string;

typedef struct {
  ax_obj obj;
  ax_value *items;
  int64_t len, cap;
} ax_list;

/* Insertion-ordered hash table: entries in insertion order (deleted ones have key UNDEF),
** plus an open-addressing index of entry positions (-1 = empty). */
typedef struct {
  ax_value key, val;
  uint32_t hash;
} ax_entry;

typedef struct {
  ax_entry *entries;
  int32_t *index;
  uint32_t count;     /* live entries */
  uint32_t used;      /* entries slots used, deleted ones included */
  uint32_t ecap;      /* capacity of entries */
  uint32_t icap;      /* size of index (power of two, or 0) */
} ax_table;

typedef struct {
  ax_obj obj;
  ax_table t;
} ax_map;

typedef struct {
  ax_obj obj;
  int64_t start, stop, step;
} ax_range;

typedef struct {
  ax_obj obj;
  ax_value start, stop, step;   /* nil when omitted */
} ax_slice_obj;

typedef struct { int32_t pc, line, col; } ax_lineinfo;
/* Debug info (the debugger's locals): a named local lives in `slot` for pc in [startpc, endpc);
** slot < 0: upvalue -1 - slot of the closure. */
typedef struct { char *name; int32_t slot, startpc, endpc; } ax_locvar;

typedef struct ax_module ax_module;

typedef struct ax_proto {
  ax_obj obj;
  uint8_t *code;
  int32_t code_len, code_cap;
  ax_value *consts;
  int32_t nconsts, consts_cap;
  ax_lineinfo *lines;          /* run-length: a new row only where line/col change */
  int32_t nlines, lines_cap;
  ax_locvar *locvars;          /* ax_malloc'ed names; emitted by parser/resolve.c */
  int32_t nlocvars, locvars_cap;
  int32_t nparams, nrequired;  /* nrequired: params before the last one without a default, + 1 */
  ax_string **param_names;
  uint8_t *param_has_default;
  int32_t nupvals;
  int32_t max_stack;           /* locals + temporaries, computed by the compiler */
  ax_string *name;
  ax_module *module;           /* globals this function reads */
} ax_proto;

typedef struct ax_upval {
  ax_obj obj;
  ax_value *loc;               /* points into the stack while open, at `closed` once closed */
  ax_value closed;
  struct ax_upval *next_open;  /* open list, sorted by stack address, highest first */
} ax_upval;

typedef struct {
  ax_obj obj;
  ax_proto *proto;
  int32_t nupvals;
  ax_upval *upvals[];
} ax_closure;

/* Keyword arguments passed to a native: names[i] = vals[i]. */
typedef struct {
  int n;
  ax_string *const *names;
  ax_value *vals;
} ax_kw;

/* A native function: args[0..argc-1] are the positional arguments (for a method args[0] is the
** receiver), kw the keyword arguments (NULL when none).  Write the result to *out and return
** true, or raise with ax_vm_raise(...) and return false. */
typedef bool (*ax_native_fn)(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);

typedef struct {
  ax_obj obj;
  ax_native_fn fn;
  int arity;                   /* >= 0: exact positional count (methods: not counting self); -1: any */
  ax_string *name;
  void *ud;                    /* optional user data for the native (ax_vm_native_ud) */
} ax_native;

typedef struct {
  ax_obj obj;
  ax_value self;
  ax_value method;             /* native (receives self as args[0]) or any callable (self prepended) */
} ax_bound;

typedef struct {
  ax_obj obj;
  ax_string *message;
  ax_string *kind;
  ax_string *file;
  int32_t line, col;
  ax_string *trace;            /* "  at fn (file:line)\n" lines, innermost first; NULL until thrown */
  ax_value value;              /* the thrown value when it was not a string or error */
} ax_error;

struct ax_module {
  ax_obj obj;
  ax_string *name;
  ax_string *path;             /* file path, or NULL for native/embedded modules */
  ax_table names;              /* name -> int slot in vars */
  ax_value *vars;
  uint8_t *var_const;          /* 1 when declared with let (assignments are compile errors) */
  int32_t nvars, vars_cap;
  char *source;                /* kept for error carets; ax_malloc'ed, srclen + 1 bytes */
  size_t srclen;
  int state;                   /* 0 new, 1 running, 2 done */
};

typedef struct ax_foreign_class ax_foreign_class;

typedef struct {
  ax_obj obj;
  const ax_foreign_class *cls;
  void *data;
} ax_foreign;

/* ---- value constructors and tests ---- */
#define AX_NIL ((ax_value){AX_V_NIL, {.i = 0}})
#define AX_UNDEF ((ax_value){AX_V_UNDEF, {.i = 0}})
static inline ax_value ax_bool(bool b) { ax_value v; v.type = AX_V_BOOL; v.as.i = 0; v.as.b = b; return v; }
static inline ax_value ax_int(int64_t i) { ax_value v; v.type = AX_V_INT; v.as.i = i; return v; }
static inline ax_value ax_float(double f) { ax_value v; v.type = AX_V_FLOAT; v.as.f = f; return v; }
static inline ax_value ax_obj_value(void *o) { ax_value v; v.type = AX_V_OBJ; v.as.o = (ax_obj *)o; return v; }

#define AX_IS_NIL(v) ((v).type == AX_V_NIL)
#define AX_IS_BOOL(v) ((v).type == AX_V_BOOL)
#define AX_IS_INT(v) ((v).type == AX_V_INT)
#define AX_IS_FLOAT(v) ((v).type == AX_V_FLOAT)
#define AX_IS_NUM(v) ((v).type == AX_V_INT || (v).type == AX_V_FLOAT)
#define AX_IS_OBJ(v) ((v).type == AX_V_OBJ)
#define AX_IS_UNDEF(v) ((v).type == AX_V_UNDEF)
static inline bool ax_is_kind(ax_value v, ax_okind k) { return v.type == AX_V_OBJ && v.as.o->kind == k; }
#define AX_IS_STRING(v) ax_is_kind(v, AX_O_STRING)
#define AX_IS_LIST(v) ax_is_kind(v, AX_O_LIST)
#define AX_IS_MAP(v) ax_is_kind(v, AX_O_MAP)
#define AX_IS_FOREIGN(v) ax_is_kind(v, AX_O_FOREIGN)
#define AX_AS_STRING(v) ((ax_string *)(v).as.o)
#define AX_AS_LIST(v) ((ax_list *)(v).as.o)
#define AX_AS_MAP(v) ((ax_map *)(v).as.o)
#define AX_AS_RANGE(v) ((ax_range *)(v).as.o)
#define AX_AS_CLOSURE(v) ((ax_closure *)(v).as.o)
#define AX_AS_NATIVE(v) ((ax_native *)(v).as.o)
#define AX_AS_ERROR(v) ((ax_error *)(v).as.o)
#define AX_AS_MODULE(v) ((ax_module *)(v).as.o)
#define AX_AS_FOREIGN(v) ((ax_foreign *)(v).as.o)
static inline double ax_num(ax_value v) { return v.type == AX_V_INT ? (double)v.as.i : v.as.f; }
static inline bool ax_truthy_plain(ax_value v) {
  return !(v.type == AX_V_NIL || (v.type == AX_V_BOOL && !v.as.b));
}

/* ---- tables (vm/table.c) ---- */
void ax_table_init(ax_table *t);
void ax_table_fini(ax_table *t);
uint32_t ax_value_hash(ax_value v);
bool ax_table_get(const ax_table *t, ax_value key, ax_value *out);
bool ax_table_get_str(const ax_table *t, ax_string *key, ax_value *out);
int ax_table_set(ax_table *t, ax_value key, ax_value val);   /* 1 new, 0 replaced, -1 no memory */
bool ax_table_remove(ax_table *t, ax_value key);
bool ax_table_next(const ax_table *t, uint32_t *pos, ax_entry **out);  /* iterate live entries */
size_t ax_table_bytes(const ax_table *t);
bool ax_key_equal(ax_value a, ax_value b);

#endif
