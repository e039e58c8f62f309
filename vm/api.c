/* vm/api.c — VM lifetime, registration of natives/modules/methods, running sources, and the
** public embedding API of include/anx.h.
** Invariant: an uncaught error is reported once (file:line:col, source, caret, trace) and the
** VM is reset to an empty stack so it can run again (REPL). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"

bool ax_open_libs(ax_vm *vm);   /* generated: opens vm/lib_*.c (tensor, data, nn ...) */

/* ---- registration ---- */

bool ax_module_set_value(ax_vm *vm, ax_module *m, const char *name, ax_value v) {
  ax_string *s = ax_str_cstr(vm, name);
  if (!s) return ax_vm_oom(vm);
  int slot = ax_module_declare(vm, m, s, false);
  if (slot < 0) return ax_vm_oom(vm);
  m->vars[slot] = v;
  return true;
}

bool ax_module_set_native(ax_vm *vm, ax_module *m, const char *name, ax_native_fn fn, int arity) {
  ax_value f = ax_native_new(vm, name, fn, arity, NULL);
  if (AX_IS_NIL(f)) return ax_vm_oom(vm);
  return ax_module_set_value(vm, m, name, f);
}

bool ax_vm_register_global(ax_vm *vm, const char *name, ax_native_fn fn, int arity) {
  return ax_module_set_native(vm, vm->builtins, name, fn, arity);
}

bool ax_vm_register_globals(ax_vm *vm, const ax_native_reg *regs) {
  for (; regs && regs->name; regs++)
    if (!ax_vm_register_global(vm, regs->name, regs->fn, regs->arity)) return false;
  return true;
}

bool ax_vm_set_global_value(ax_vm *vm, const char *name, ax_value v) {
  return ax_module_set_value(vm, vm->builtins, name, v);
}

static bool add_modreg(ax_vm *vm, const char *name, const ax_native_reg *regs, ax_module_init_fn init) {
  ax_modreg *r = ax_calloc(1, sizeof(ax_modreg));
  size_t n = strlen(name);
  char *nm = ax_malloc(n + 1);
  if (!r || !nm) { ax_free(r, sizeof(ax_modreg)); ax_free(nm, n + 1); return ax_vm_oom(vm); }
  memcpy(nm, name, n + 1);
  r->name = nm;
  r->regs = regs;
  r->init = init;
  r->next = vm->modregs;
  vm->modregs = r;
  return true;
}

bool ax_vm_register_module(ax_vm *vm, const char *name, const ax_native_reg *regs) {
  return add_modreg(vm, name, regs, NULL);
}

bool ax_vm_register_module_lazy(ax_vm *vm, const char *name, ax_module_init_fn init) {
  return add_modreg(vm, name, NULL, init);
}

bool ax_vm_register_method(ax_vm *vm, ax_okind kind, const char *name, ax_native_fn fn, int arity) {
  ax_value f = ax_native_new(vm, name, fn, arity, NULL);
  ax_string *s = ax_str_cstr(vm, name);
  if (AX_IS_NIL(f) || !s) return ax_vm_oom(vm);
  size_t before = ax_table_bytes(&vm->methods[kind]);
  if (ax_table_set(&vm->methods[kind], ax_obj_value(s), f) < 0) return ax_vm_oom(vm);
  vm->heap_bytes += ax_table_bytes(&vm->methods[kind]) - before;
  return true;
}

void ax_vm_set_network_hook(ax_vm *vm, ax_network_hook hook) { vm->network_hook = hook; }
bool ax_vm_explain_mode(ax_vm *vm) { return vm->explain; }
void anx_vm_set_explain(anx_vm *vm, int on) { vm->explain = on != 0; }

/* ---- lifetime ---- */

ax_vm *ax_vm_new_internal(void) {
  ax_vm *vm = ax_calloc(1, sizeof(ax_vm));
  if (!vm) return NULL;
  vm->stack = ax_malloc(sizeof(ax_value) * AX_STACK_VALUES);
  vm->frames = ax_malloc(sizeof(ax_frame) * AX_MAX_FRAMES);
  if (!vm->stack || !vm->frames) { ax_vm_free_internal(vm); return NULL; }
  vm->sp = vm->stack;
  vm->stack_end = vm->stack + AX_STACK_VALUES;
  vm->next_gc = 1u << 20;
  vm->steps_left = INT64_MAX;
  const char *stress = getenv("ANX_GC_STRESS");
  vm->gc_stress = stress && *stress && *stress != '0';
  vm->error = AX_NIL;
  ax_table_init(&vm->modules);
  for (int i = 0; i <= AX_O_SLICE; i++) ax_table_init(&vm->methods[i]);
  vm->gc_paused++;
  vm->s_init = ax_str_cstr(vm, "init");
  vm->s_message = ax_str_cstr(vm, "message");
  vm->s_kind = ax_str_cstr(vm, "kind");
  vm->s_line = ax_str_cstr(vm, "line");
  vm->s_col = ax_str_cstr(vm, "col");
  vm->s_file = ax_str_cstr(vm, "file");
  vm->s_trace = ax_str_cstr(vm, "trace");
  vm->s_main = ax_str_cstr(vm, "main");
  vm->s_name = ax_str_cstr(vm, "name");
  vm->s_oom = ax_str_cstr(vm, "out of memory");
  vm->s_memory = ax_str_cstr(vm, "memory");
  ax_string *pre = ax_str_cstr(vm, "prelude");
  vm->builtins = pre ? ax_module_new(vm, pre) : NULL;
  vm->argv = ax_list_new(vm, 0);
  bool ok = vm->s_init && vm->s_message && vm->s_kind && vm->s_line && vm->s_col && vm->s_file &&
            vm->s_trace && vm->s_main && vm->s_name && vm->s_oom && vm->s_memory && vm->builtins && vm->argv && ax_natives_core_init(vm) && ax_natives_string_init(vm) &&
            ax_natives_list_init(vm) && ax_natives_os_init(vm) && ax_open_libs(vm);
  vm->gc_paused--;
  if (vm->gc_stress) vm->next_gc = 0;
  if (!ok) {
    if (ax_is_kind(vm->error, AX_O_ERROR)) fprintf(stderr, "anx: %s\n", AX_AS_ERROR(vm->error)->message->chars);
    ax_vm_free_internal(vm);
    return NULL;
  }
  return vm;
}

void ax_vm_free_internal(ax_vm *vm) {
  if (!vm) return;
  ax_obj *o = vm->objects;
  while (o) {
    ax_obj *next = o->next;
    ax_obj_free(vm, o);
    o = next;
  }
  ax_sandbox_fini(vm);
  ax_table_fini(&vm->modules);
  for (int i = 0; i <= AX_O_SLICE; i++) ax_table_fini(&vm->methods[i]);
  ax_free(vm->strings.slots, sizeof(ax_string *) * vm->strings.cap);
  ax_free(vm->handlers, sizeof(ax_handler) * (size_t)vm->handlers_cap);
  free(vm->gray);
  free(vm->roots);
  for (ax_modreg *r = vm->modregs; r;) {
    ax_modreg *n = r->next;
    ax_free(r->name, strlen(r->name) + 1);
    ax_free(r, sizeof(ax_modreg));
    r = n;
  }
  ax_free(vm->stack, sizeof(ax_value) * AX_STACK_VALUES);
  ax_free(vm->frames, sizeof(ax_frame) * AX_MAX_FRAMES);
  ax_free(vm, sizeof(ax_vm));
}

void ax_vm_reset(ax_vm *vm) {
  vm->sp = vm->stack;
  vm->nframes = 0;
  vm->nhandlers = 0;
  vm->open_upvals = NULL;
  vm->nroots = 0;
  vm->gc_paused -= vm->roots_unrooted;
  vm->roots_unrooted = 0;
  vm->cdepth = 0;
  vm->error = AX_NIL;
  vm->error_uncatchable = false;
}

/* ---- error reports ---- */

static const char *module_source(ax_vm *vm, ax_string *file, size_t *len) {
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&vm->modules, &pos, &e)) {
    if (!ax_is_kind(e->val, AX_O_MODULE)) continue;
    ax_module *m = AX_AS_MODULE(e->val);
    if ((m->path == file || m->name == file) && m->source) { *len = m->srclen; return m->source; }
  }
  if (vm->main_module && (vm->main_module->path == file || vm->main_module->name == file) && vm->main_module->source) {
    *len = vm->main_module->srclen;
    return vm->main_module->source;
  }
  return NULL;
}

void ax_vm_report_error(ax_vm *vm, FILE *f) {
  ax_value ev = vm->error;
  if (!ax_is_kind(ev, AX_O_ERROR)) { fprintf(f, "error: unknown error\n"); return; }
  ax_error *e = AX_AS_ERROR(ev);
  const char *msg = e->message ? e->message->chars : "error";
  char out[4096];
  if (e->file && e->line > 0) {
    size_t len = 0;
    const char *src = module_source(vm, e->file, &len);
    ax_diag_format(out, sizeof out, e->file->chars, src, len, e->line, e->col, "error", msg);
    fputs(out, f);
  } else {
    fprintf(f, "error: %s\n", msg);
  }
  if (e->trace) fputs(e->trace->chars, f);
}

/* ---- running ---- */

static int report_diags(ax_diags *d, const char *file, const char *src, size_t len) {
  for (int i = 0; i < d->n; i++) {
    char out[4096];
    ax_diag_format(out, sizeof out, d->items[i].file ? d->items[i].file : file, src, len, d->items[i].line,
                   d->items[i].col, "error", d->items[i].msg);
    fputs(out, stderr);
  }
  return ANX_COMPILE_ERROR;
}

static void shift_lines(ax_node *n, int off, int depth) {
  if (!n || depth > 4 * AX_MAX_NESTING) return;
  n->line += off;
  shift_lines(n->a, off, depth + 1);
  shift_lines(n->b, off, depth + 1);
  shift_lines(n->c, off, depth + 1);
  for (int i = 0; i < n->list.n; i++) shift_lines(n->list.items[i], off, depth + 1);
  for (int i = 0; i < n->list2.n; i++) shift_lines(n->list2.items[i], off, depth + 1);
}

/* Parse + compile a chunk that starts at line line_offset + 1 of `full` (the REPL passes all
** input so far, so messages carry absolute line numbers and carets show the right line).
** Returns the proto or NULL (diagnostics reported to stderr unless quiet and incomplete). */
ax_proto *ax_vm_compile_chunk(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                              int line_offset, const char *full, size_t fulllen, bool repl, bool quiet,
                              bool *incomplete);
ax_proto *ax_vm_compile_chunk(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                              int line_offset, const char *full, size_t fulllen, bool repl, bool quiet,
                              bool *incomplete) {
  ax_arena *arena = ax_arena_new();
  if (!arena) { fprintf(stderr, "anx: out of memory\n"); return NULL; }
  ax_diags diags = {0};
  ax_node *prog = ax_parse(arena, file, src, len, &diags);
  ax_proto *p = NULL;
  if (incomplete) *incomplete = diags.incomplete != 0;
  if (prog && diags.n == 0) {
    if (line_offset) shift_lines(prog, line_offset, 0);
    ax_compile_opts opts = {repl ? 1 : 0};
    p = ax_compile(vm, m, prog, file, &opts, &diags);
  } else {
    for (int i = 0; i < diags.n; i++) diags.items[i].line += line_offset;
  }
  if (!p && !(quiet && diags.incomplete)) {
    if (diags.n == 0) fprintf(stderr, "%s: error: could not compile\n", file);
    report_diags(&diags, file, full, fulllen);
  }
  ax_diags_free(&diags);
  ax_arena_free(arena);
  return p;
}

/* Parse + compile src into module m. Returns the proto or NULL (diags reported to stderr). */
ax_proto *ax_vm_compile_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                               bool repl, bool quiet, bool *incomplete);
ax_proto *ax_vm_compile_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                               bool repl, bool quiet, bool *incomplete) {
  return ax_vm_compile_chunk(vm, m, file, src, len, 0, src, len, repl, quiet, incomplete);
}

int ax_vm_finish(ax_vm *vm, bool ok);
int ax_vm_finish(ax_vm *vm, bool ok) {
  fflush(stdout);
  if (ok) return ANX_OK;
  /* uncatchable: Ctrl-C (130) or --max-steps (70, reported like any error) */
  int code = vm->error_uncatchable && ax_is_kind(vm->error, AX_O_ERROR) &&
             strcmp(AX_AS_ERROR(vm->error)->kind->chars, "interrupt") == 0 ? ANX_INTERRUPTED : ANX_RUNTIME_ERROR;
  /* an imported module that does not compile makes the whole run a compile error */
  if (ax_is_kind(vm->error, AX_O_ERROR) && strcmp(AX_AS_ERROR(vm->error)->kind->chars, "compile") == 0)
    code = ANX_COMPILE_ERROR;
  if (code == ANX_INTERRUPTED) {
    fprintf(stderr, "interrupted\n");
    ax_interrupted = 0;
  } else {
    ax_vm_report_error(vm, stderr);
  }
  ax_vm_reset(vm);
  return code;
}

static ax_module *main_module(ax_vm *vm, const char *file, const char *src, size_t len) {
  ax_string *name = ax_str_cstr(vm, file);
  ax_module *m = name ? ax_module_new(vm, name) : NULL;
  if (!m) return NULL;
  m->path = name;
  m->source = ax_malloc(len + 1);
  if (m->source) {
    memcpy(m->source, src, len);
    m->source[len] = 0;
    m->srclen = len;
  }
  vm->main_module = m;
  return m;
}

int anx_vm_run_string(anx_vm *vm, const char *name, const char *src, size_t len) {
  ax_module *m = main_module(vm, name, src, len);
  if (!m) { fprintf(stderr, "anx: out of memory\n"); return ANX_RUNTIME_ERROR; }
  ax_proto *p = ax_vm_compile_source(vm, m, name, src, len, false, false, NULL);
  if (!p) return ANX_COMPILE_ERROR;
  m->state = 1;
  bool ok = ax_vm_run_proto(vm, p, NULL);
  m->state = 2;
  return ax_vm_finish(vm, ok);
}

/* Read a whole file (ax_malloc'ed, len + 1 bytes, NUL-terminated). NULL with *len = 0 when it
** cannot be opened, NULL with *len = SIZE_MAX when memory ran out. */
char *ax_read_file(const char *path, size_t *len);
char *ax_read_file(const char *path, size_t *len) {
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = ax_malloc(cap);
  while (buf) {
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (n + 1 < cap) break;
    char *nb = ax_realloc(buf, cap, cap * 2);
    if (!nb) { ax_free(buf, cap); buf = NULL; break; }
    buf = nb;
    cap *= 2;
  }
  fclose(f);
  if (!buf) { *len = SIZE_MAX; return NULL; }
  buf[n] = 0;
  /* shrink the accounting to what the caller frees: n + 1 */
  char *exact = ax_malloc(n + 1);
  if (exact) memcpy(exact, buf, n + 1);
  ax_free(buf, cap);
  *len = exact ? n : SIZE_MAX;
  return exact;
}

static int read_failed(const char *path, size_t len) {
  if (len == SIZE_MAX) {
    fprintf(stderr, "anx: out of memory reading '%s'\n", path);
    return ANX_RUNTIME_ERROR;
  }
  fprintf(stderr, "anx: cannot open '%s'\n", path);
  return 66;
}

int anx_vm_run_file(anx_vm *vm, const char *path) {
  size_t len;
  char *src = ax_read_file(path, &len);
  if (!src) return read_failed(path, len);
  ax_sandbox_set_script(vm, path);
  int r = anx_vm_run_string(vm, path, src, len);
  ax_free(src, len + 1);
  return r;
}

int anx_vm_check_file(anx_vm *vm, const char *path, int disasm) {
  size_t len;
  char *src = ax_read_file(path, &len);
  if (!src) return read_failed(path, len);
  ax_module *m = main_module(vm, path, src, len);
  ax_proto *p = m ? ax_vm_compile_source(vm, m, path, src, len, false, false, NULL) : NULL;
  ax_free(src, len + 1);
  if (!p) return ANX_COMPILE_ERROR;
  if (disasm) ax_disasm_proto(vm, p, stdout);
  return ANX_OK;
}

int anx_vm_set_args(anx_vm *vm, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    ax_string *s = ax_str_cstr(vm, argv[i]);
    if (!s || !ax_list_push(vm, vm->argv, ax_obj_value(s))) return ANX_RUNTIME_ERROR;
  }
  return ANX_OK;
}

anx_vm *anx_vm_new(void) { return ax_vm_new_internal(); }
void anx_vm_free(anx_vm *vm) { ax_vm_free_internal(vm); }
void anx_interrupt(void) { ax_interrupted = 1; }
