/* vm/ax_vmint.h — VM internals shared by the files of vm/ (not for extension code).
** Invariant: sp points one past the top value; frames[0..nframes-1] are live; every heap object
** is on vm->objects and was allocated through ax_gc_alloc (which counts bytes via ax_mem). */
#ifndef AX_VMINT_H
#define AX_VMINT_H

#include <signal.h>
#include <stdint.h>

#include "anx.h"
#include "ax_opcodes.h"
#include "ax_mem.h"
#include "ax_tensor.h"
#include "ax_vm.h"

#define AX_STACK_VALUES (1 << 19)   /* 8 MiB of value stack */
#define AX_MAX_FRAMES 12000         /* "at least 5,000 nested calls work" */
#define AX_MAX_CDEPTH 180           /* native -> VM re-entries (map(f, xs) inside f ...) */

typedef struct {
  ax_closure *closure;
  uint8_t *ip;
  ax_value *slots;
  int32_t native_line;   /* unused for closures */
} ax_frame;

typedef struct {
  int32_t frame;         /* frame index that owns the handler */
  int32_t sp_off;        /* stack depth (values from vm->stack) to restore */
  uint8_t *catch_ip;
} ax_handler;

/* --sandbox (vm/sandbox.c): directories are canonical (realpath), ax_malloc'd. */
typedef struct {
  bool on;
  char **read, **write;    /* --allow-read / --allow-write directories */
  int nread, nwrite;
  char *script_dir;        /* directory of the main script: `import` of .anx files below it */
  anx_policy policy;       /* as given to anx_vm_set_policy (the debugger applies it to its VMs) */
} ax_sandbox;

typedef struct ax_modreg {
  struct ax_modreg *next;
  char *name;
  const ax_native_reg *regs;
  ax_module_init_fn init;
} ax_modreg;

struct ax_vm {
  ax_value *stack, *sp, *stack_end;
  ax_frame *frames;
  int nframes;
  /* --max-steps: decremented at every backward jump and call; below 0 the slow path
  ** (ax_vm_check_steps) raises, or refills it to INT64_MAX when there is no limit. */
  int64_t steps_left;
  int64_t max_steps;       /* 0: no limit */
  ax_upval *open_upvals;
  ax_handler *handlers;
  int nhandlers, handlers_cap;

  /* heap */
  ax_obj *objects;
  size_t heap_bytes, next_gc;
  size_t gc_base;             /* bytes in use after the last collection (ax_gc_phase) */
  long long pressure;      /* outside-heap bytes reported by foreign types */
  int gc_paused;
  bool gc_stress;          /* ANX_GC_STRESS=1: collect at every safe point (tests) */
  ax_obj **gray;
  int ngray, gray_cap;
  struct { ax_string **slots; uint32_t cap, count; } strings;   /* intern set */

  ax_value *roots;          /* native root stack (grows; plain realloc, like the gray stack) */
  int nroots, roots_cap;
  int roots_unrooted;       /* pushes that found no room: the GC stays paused until popped */

  ax_module *builtins;     /* the prelude: print, len, ... and registered globals */
  ax_table modules;        /* name/path string -> module */
  ax_modreg *modregs;
  ax_table methods[AX_O_SLICE + 1];   /* per object kind: name -> native */
  ax_module *main_module;

  /* errors */
  ax_value error;          /* the error being raised (an ax_error) */
  bool error_uncatchable;  /* Ctrl-C, --max-steps: unwind to the top level, past every try */
  int cdepth;              /* nested runs */
  void *native_ud;

  ax_network_hook network_hook;
  struct ax_debugger *debugger;   /* vm/debug.c; NULL when off (run() then dispatches normally) */
  bool explain;            /* anx --explain */
  ax_device device;        /* anx --device / ANX_DEVICE: where creation, parameters and train() batches go */
  ax_list *argv;
  ax_sandbox sandbox;
  char *exe_dir;
  int exit_code_hint;

  /* cached names */
  ax_string *s_init, *s_message, *s_kind, *s_line, *s_col, *s_file, *s_trace, *s_main;
  ax_string *s_name, *s_oom, *s_memory;
};

extern volatile sig_atomic_t ax_interrupted;

/* object.c */
void *ax_gc_alloc(ax_vm *vm, size_t size, ax_okind kind);
void ax_obj_free(ax_vm *vm, ax_obj *o);
ax_proto *ax_proto_new(ax_vm *vm, ax_module *m, ax_string *name);
ax_closure *ax_closure_new(ax_vm *vm, ax_proto *p);
ax_upval *ax_upval_new(ax_vm *vm, ax_value *slot);
ax_range *ax_range_new(ax_vm *vm, int64_t a, int64_t b, int64_t step);
int64_t ax_range_len(const ax_range *r);
ax_slice_obj *ax_slice_new(ax_vm *vm, ax_value a, ax_value b, ax_value c);
ax_module *ax_module_new(ax_vm *vm, ax_string *name);
int ax_module_declare(ax_vm *vm, ax_module *m, ax_string *name, bool is_const);  /* slot or -1 */
int ax_module_find(ax_module *m, ax_string *name);   /* slot or -1 */
ax_error *ax_error_obj_new(ax_vm *vm, ax_string *kind, ax_string *msg);
int ax_proto_line(const ax_proto *p, int pc, int *col);
bool ax_list_reserve(ax_vm *vm, ax_list *l, int64_t cap);

/* gc.c */
void ax_gc_collect(ax_vm *vm);
/* The pressure measure: tensor bytes in use on the host (the choke point's count, runtime/ax_mem.h,
** less the freed blocks the CPU allocator caches for reuse: counting those let each collection's
** garbage raise the next trigger, the cache growing by a collection's garbage per cycle until its 64
** slots were full, 12 MB of dead batches on the MLP) plus tensor storage on devices (DESIGN.md:
** device bytes count toward GC pressure; a counter the runtime keeps where storage is made and
** freed, so asking loads and calls no backend). */
static inline size_t ax_gc_tensor_bytes(void) {
  size_t all = ax_mem_live(), cached = ax_cpu_cache_bytes();
  return (all > cached ? all - cached : 0) + ax_device_mem_live();
}
/* The trigger counts those bytes, not only the GC heap: a dead tensor value can hold an autograd
** graph of saved activations that no per-value count sees, so pacing by the heap alone let training
** steps pile up gigabytes (on the host or on a GPU) before a collection. */
static inline void ax_gc_maybe(ax_vm *vm) {
  size_t used = vm->heap_bytes + (vm->pressure > 0 ? (size_t)vm->pressure : 0);
  size_t all = ax_gc_tensor_bytes();
  if (all > used) used = all;
  if (used > vm->next_gc && !vm->gc_paused) ax_gc_collect(vm);
}

/* At the start of a phase that allocates a new working set (train(), evaluate()): collect when more
** than 1 MB was allocated since the last collection, so the garbage of the phase before (its last
** batches) is not still held while the new one's batches arrive; and return the blocks the CPU
** allocator cached for the last phase's sizes. Natives call it where everything they hold is rooted. */
void ax_gc_phase(ax_vm *vm);

/* vm.c */
bool ax_vm_run_proto(ax_vm *vm, ax_proto *p, ax_value *out);   /* run a compiled top level */
bool ax_vm_call_value(ax_vm *vm, int argc);   /* callee + args on the stack -> result in place */
bool ax_vm_get_field(ax_vm *vm, ax_value obj, ax_string *name, ax_value *out);
bool ax_vm_binop(ax_vm *vm, int op, ax_value a, ax_value b, ax_value *out);
bool ax_vm_compare(ax_vm *vm, ax_value a, ax_value b, int *out);   /* -1/0/1, raises if unordered */
bool ax_vm_index(ax_vm *vm, ax_value obj, int n, ax_value *idx, ax_value *out);
void ax_vm_report_error(ax_vm *vm, FILE *f);   /* file:line:col, source, caret, trace */
void ax_vm_reset(ax_vm *vm);                   /* after an uncaught error: empty stacks */
bool ax_vm_iter_next(ax_vm *vm, ax_value iterable, ax_value *state, ax_value *out, bool *done);
ax_value ax_vm_list_slice(ax_vm *vm, ax_list *l, ax_value a, ax_value b, ax_value c);

/* The slow path of the checks at backward jumps and calls (Ctrl-C, --max-steps): false after
** raising an error no try block catches. */
bool ax_vm_check_steps(ax_vm *vm);

/* sandbox.c (the gate itself is in ax_vm.h) */
void ax_sandbox_set_script(ax_vm *vm, const char *path);   /* the main script (imports next to it) */
void ax_sandbox_fini(ax_vm *vm);
const anx_policy *ax_vm_policy(ax_vm *vm);

/* print.c */
typedef struct { char *p; size_t len, cap; bool oom; } ax_buf;
void ax_buf_add(ax_buf *b, const char *s, size_t n);
void ax_buf_addc(ax_buf *b, char c);
void ax_buf_free(ax_buf *b);
bool ax_buf_value(ax_vm *vm, ax_buf *b, ax_value v, bool quote, int depth);

/* natives_*.c */
bool ax_natives_core_init(ax_vm *vm);
bool ax_natives_string_init(ax_vm *vm);
bool ax_natives_list_init(ax_vm *vm);
bool ax_natives_os_init(ax_vm *vm);

/* module.c */
bool ax_vm_import(ax_vm *vm, ax_string *name, bool is_path, ax_value *out);
ax_module *ax_vm_load_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len, bool *compile_err);
const char *ax_stdlib_find(const char *name, size_t *len);   /* generated from stdlib/ */

/* debug.c: called before each instruction while vm->debugger is set (false: raise, vm->error set) */
bool ax_debug_step(ax_vm *vm);
void ax_debug_error(ax_vm *vm);   /* vm->error was just raised (stops when no handler will catch it) */

/* disasm.c */
void ax_disasm_proto(ax_vm *vm, ax_proto *p, FILE *f);

#endif
