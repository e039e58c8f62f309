/* vm/debug.c — the step debugger: breakpoints (lines, functions, layers), stepping, frames,
** expressions evaluated in a frame's scope, watches, tensor summaries, catch nan, profile, memory.
** Invariant: the program runs inside ax_debug_step / ax_debug_layer; every stop runs the command
** loop there, and a command that ends the program raises an uncatchable error to unwind it. */
#include "debug.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"
#include "lib_tensor.h"
#include "net.h"
#include "net_layer.h"

ax_proto *ax_vm_compile_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                               bool repl, bool quiet, bool *incomplete);
int ax_vm_finish(ax_vm *vm, bool ok);
char *ax_read_file(const char *path, size_t *len);

#define MAX_BPS 256
#define MAX_DISPLAYS 32
#define MAX_LAYERS 64      /* nested layer frames shown by backtrace */
#define TRACK_SLOTS 4096   /* tensor -> creation line (memory) */
#define PROF_LINES 4096

typedef enum { BP_LINE, BP_FUNC, BP_LAYER } bp_kind;

typedef struct {
  int id;
  bp_kind kind;
  char *file;      /* BP_LINE: NULL = the main script */
  int line;
  char *name;      /* function or layer name */
  bool at_exit;    /* BP_LAYER: after the layer */
  char *cond;      /* NULL: always */
  bool enabled, temp;
  int hits;
} bp;

typedef struct {
  int id;
  char *expr;
  bool watch;      /* watch: stop when the printed value changes */
  char *last;      /* watch: last printed value */
} display;

typedef struct {
  const char *net, *member;
  ax_layer *l;
  int vm_depth;            /* vm->nframes when the layer was entered */
  int64_t in_shape[AX_MAX_DIMS];
  int in_nd;
  double t0;
  size_t mem0;
} layer_frame;

typedef enum { M_CONT, M_STEP, M_NEXT, M_FINISH, M_UNTIL } run_mode;

typedef struct { const void *t; int line; } track_slot;
typedef struct { const char *key; double secs; long calls; size_t alloc; } prof_layer;

typedef struct ax_debugger {
  ax_vm *vm;
  const char *file;
  char *src;               /* the script as read at start (list before run) */
  size_t srclen;
  int argc;
  char **argv;
  FILE *in;
  bool tty, echo;
  char last_cmd[512];
  /* program state */
  bool running, stopped_once;
  enum { END_NONE, END_KILL, END_RESTART, END_QUIT } end;
  run_mode mode;
  int mode_depth, until_line;
  bool pause_req;
  int depth;               /* frames seen at the last step */
  int *lines;              /* per frame depth: the line last reported */
  int *pcs;                /* per frame depth: the pc last seen */
  bool native_stop;        /* stopped inside a native (layer, backward): callers' ip is past the call */
  ax_proto *row_proto;     /* cached line-table row of the innermost frame */
  int row_depth, row_lo, row_hi, row_line;
  bool evaluating, quiet;
  int sel;                 /* selected frame (0 = innermost, layers included) */
  /* finish */
  ax_value ret_val;
  bool have_ret;
  /* breakpoints, displays, watches */
  bp bps[MAX_BPS];
  int nbps, next_id;
  display disp[MAX_DISPLAYS];
  int ndisp, next_disp;
  /* layers */
  layer_frame layers[MAX_LAYERS];
  int nlayers;
  layer_frame last_layer;  /* the last layer that finished (for `layer` after a stop past it) */
  bool have_last_layer;
  int64_t last_out_shape[AX_MAX_DIMS];
  int last_out_nd;
  /* catch nan */
  bool catch_nan;
  const void *last_checked;
  int backward_depth;      /* a backward() call is under way at this depth (0: none) */
  /* memory tracking */
  track_slot track[TRACK_SLOTS];
  const void *last_top;
  /* profile */
  bool profiling;
  double prof_t, prof_lines_t[PROF_LINES];
  long prof_lines_n[PROF_LINES];
  size_t prof_lines_alloc[PROF_LINES], prof_mem, prof_peak;
  int prof_line;
  prof_layer prof_layers[128];
  int nprof_layers;
} dbg;

static void cmd_loop(dbg *d);

static bool is_any(const char *w, const char *const *names) {
  for (; *names; names++)
    if (strcmp(w, *names) == 0) return true;
  return false;
}

/* ---- output helpers ---- */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static const char *module_file(ax_module *m) { return m->path ? m->path->chars : m->name->chars; }

/* Text of line `line` (1-based) of a module's source, without the newline. */
static bool source_line(ax_module *m, int line, char *buf, size_t n) {
  if (!m || !m->source || line < 1) return false;
  const char *p = m->source, *end = m->source + m->srclen;
  for (int l = 1; l < line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return false;
    p = nl + 1;
  }
  if (p >= end) return false;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
  if (len >= n) len = n - 1;
  memcpy(buf, p, len);
  buf[len] = 0;
  return true;
}

static int frame_pc(ax_vm *vm, int i) {
  ax_frame *f = &vm->frames[i];
  int pc = (int)(f->ip - f->closure->proto->code);
  bool in_native = vm->debugger && vm->debugger->native_stop;
  if ((i < vm->nframes - 1 || in_native) && pc > 0) pc--;   /* callers: ip is past the call */
  return pc;
}

/* A local's value, or an upvalue's (slot < 0: upvalue -1 - slot of the frame's closure). */
static ax_value local_value(ax_frame *f, const ax_locvar *lv) {
  if (lv->slot >= 0) return f->slots[lv->slot];
  int u = -1 - lv->slot;
  return u < f->closure->nupvals && f->closure->upvals[u] ? *f->closure->upvals[u]->loc : AX_NIL;
}

static int frame_line(ax_vm *vm, int i) { return ax_proto_line(vm->frames[i].closure->proto, frame_pc(vm, i), NULL); }

/* ---- values ---- */

static void value_text(ax_vm *vm, ax_value v, char *buf, size_t n, size_t maxlen) {
  ax_buf b = {0};
  vm->gc_paused++;
  ax_buf_value(vm, &b, v, true, 0);
  vm->gc_paused--;
  if (b.oom || !b.p) { snprintf(buf, n, "<out of memory>"); ax_buf_free(&b); return; }
  size_t len = b.len < maxlen ? b.len : maxlen;
  if (len >= n) len = n - 1;
  memcpy(buf, b.p, len);
  buf[len] = 0;
  if (len < b.len) snprintf(buf + (len > 3 ? len - 3 : 0), 4, "...");
  ax_buf_free(&b);
}

/* "float32 [4, 8] cpu" */
static void tensor_head(const ax_tensor *t, char *buf, size_t n) {
  char sh[128], dev[32];
  ax_shape_str(t->shape, t->ndim, sh, sizeof sh);
  ax_device_format(t->storage ? t->storage->device : AX_CPU, dev, sizeof dev);
  snprintf(buf, n, "%s %s %s", ax_dtype_name(t->dtype), sh, dev);
}

typedef struct { double min, max, mean, std, norm; int64_t nan, inf, n; } tstats;

static bool tensor_stats(const ax_tensor *t, tstats *s) {
  memset(s, 0, sizeof *s);
  int64_t n = ax_numel(t);
  s->n = n;
  if (n == 0) return true;
  double *buf = malloc(sizeof(double) * (size_t)n);
  if (!buf) return false;
  ax_err e;
  if (ax_to_f64_buffer(t, buf, &e) != AX_OK) { free(buf); return false; }
  double sum = 0, sq = 0;
  int64_t fin = 0;
  s->min = INFINITY;
  s->max = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    double x = buf[i];
    if (isnan(x)) { s->nan++; continue; }
    if (isinf(x)) { s->inf++; continue; }
    fin++;
    sum += x;
    sq += x * x;
    if (x < s->min) s->min = x;
    if (x > s->max) s->max = x;
  }
  if (fin) {
    s->mean = sum / (double)fin;
    double var = sq / (double)fin - s->mean * s->mean;
    s->std = fin > 1 ? sqrt(var > 0 ? var * (double)fin / (double)(fin - 1) : 0) : 0;
    s->norm = sqrt(sq);
  } else {
    s->min = s->max = s->mean = s->std = NAN;
  }
  free(buf);
  return true;
}

static void print_tensor(ax_vm *vm, const char *label, ax_value v, const ax_tensor *t) {
  char head[200];
  tensor_head(t, head, sizeof head);
  out("%s%s%s\n", label ? label : "", label ? " = " : "", head);
  tstats s;
  if (tensor_stats(t, &s) && s.n)
    out("  min %.5g  max %.5g  mean %.5g  std %.5g  nan %lld  inf %lld%s\n", s.min, s.max, s.mean, s.std,
        (long long)s.nan, (long long)s.inf, t->requires_grad ? "  requires_grad" : "");
  if (AX_IS_NIL(v)) return;
  /* a truncated print: at most 6 lines */
  char text[4096];
  value_text(vm, v, text, sizeof text, sizeof text - 1);
  int lines = 0;
  char *p = text;
  while (*p && lines < 6) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    out("  %s\n", p);
    lines++;
    if (!nl) break;
    p = nl + 1;
  }
  if (*p && lines == 6) out("  ...\n");
}

static void print_value(ax_vm *vm, const char *label, ax_value v) {
  ax_tensor *t = ax_value_tensor(v);
  if (t) { print_tensor(vm, label, v, t); return; }
  char text[2048];
  value_text(vm, v, text, sizeof text, 1000);
  if (label) out("%s = %s\n", label, text);
  else out("%s\n", text);
}

/* ---- evaluating in a frame's scope ---- */

/* The VM frame a selection refers to (layer frames map to the frame that runs the forward). */
static int sel_vm_frame(dbg *d, int *layer_idx);

static void declare(ax_vm *vm, ax_module *m, const char *name, ax_value v) {
  ax_string *s = ax_str_cstr(vm, name);
  if (!s) return;
  int slot = ax_module_declare(vm, m, s, false);
  if (slot >= 0) m->vars[slot] = v;
}

/* Evaluate src in VM frame fi (-1: the main module's globals only). Errors are printed. */
static bool eval_in(dbg *d, int fi, const char *src, ax_value *res) {
  ax_vm *vm = d->vm;
  ax_module *home = fi >= 0 ? vm->frames[fi].closure->proto->module : vm->main_module;
  if (!home) { out("No symbol table: the program is not being run.\n"); return false; }
  bool saved_eval = d->evaluating;
  d->evaluating = true;
  vm->gc_paused++;
  ax_value saved_error = vm->error;   /* stopped at an uncaught error: keep it */
  ax_string *nm = ax_str_cstr(vm, "<debug>");
  ax_module *m = nm ? ax_module_new(vm, nm) : NULL;
  bool ok = false;
  if (m) {
    m->path = home->path;
    uint32_t pos = 0;
    ax_entry *e;
    while (ax_table_next(&home->names, &pos, &e))
      if (AX_IS_STRING(e->key)) declare(vm, m, AX_AS_STRING(e->key)->chars, home->vars[e->val.as.i]);
    if (fi >= 0) {
      ax_frame *f = &vm->frames[fi];
      ax_proto *p = f->closure->proto;
      int pc = frame_pc(vm, fi);
      for (int i = 0; i < p->nlocvars; i++)
        if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc) declare(vm, m, p->locvars[i].name, local_value(f, &p->locvars[i]));
    }
    declare(vm, m, "__dbg_result", AX_NIL);
    size_t n = strlen(src);
    char *code = malloc(n + 32);
    if (code) {
      snprintf(code, n + 32, "__dbg_result = (%s)\n", src);
      ax_arena *arena = ax_arena_new();
      ax_diags diags = {0};
      ax_node *prog = arena ? ax_parse(arena, "<expr>", code, strlen(code), &diags) : NULL;
      ax_proto *p = NULL;
      if (prog && diags.n == 0) {
        ax_compile_opts opts = {0};
        p = ax_compile(vm, m, prog, "<expr>", &opts, &diags);
      }
      if (!p && !d->quiet) out("error: %s\n", diags.n ? diags.items[0].msg : "cannot evaluate that expression");
      ax_diags_free(&diags);
      if (arena) ax_arena_free(arena);
      free(code);
      if (p) {
        ax_value *saved_sp = vm->sp;
        bool saved_unc = vm->error_uncatchable;
        ok = ax_vm_run_proto(vm, p, NULL);
        if (ok) {
          ax_string *rn = ax_str_cstr(vm, "__dbg_result");
          int slot = rn ? ax_module_find(m, rn) : -1;
          *res = slot >= 0 ? m->vars[slot] : AX_NIL;
        } else {
          fflush(stdout);
          ax_value ev = vm->error;
          if (d->quiet) {
          } else if (ax_is_kind(ev, AX_O_ERROR) && AX_AS_ERROR(ev)->message)
            out("error: %s\n", AX_AS_ERROR(ev)->message->chars);
          else
            out("error: could not evaluate\n");
          vm->error = AX_NIL;
          vm->error_uncatchable = saved_unc;
        }
        vm->sp = saved_sp;
      }
    }
  }
  fflush(stderr);
  vm->error = saved_error;
  vm->gc_paused--;
  d->evaluating = saved_eval;
  return ok;
}

static bool eval_sel(dbg *d, const char *src, ax_value *res) {
  if (!d->running) { out("The program is not being run.\n"); return false; }
  return eval_in(d, sel_vm_frame(d, NULL), src, res);
}

/* ---- stop reporting ---- */

static void print_frame_head(dbg *d, int fi) {
  ax_vm *vm = d->vm;
  ax_frame *f = &vm->frames[fi];
  ax_proto *p = f->closure->proto;
  out("%s (", p->name->chars);
  for (int i = 0; i < p->nparams && p->param_names; i++) {
    char text[128];
    ax_value v = f->slots[1 + i];
    ax_tensor *t = ax_value_tensor(v);
    if (t) tensor_head(t, text, sizeof text);
    else value_text(vm, v, text, sizeof text, 40);
    out("%s%s=%s", i ? ", " : "", p->param_names[i]->chars, text);
  }
  out(") at %s:%d\n", module_file(p->module), frame_line(vm, fi));
}

static void print_source_line(ax_module *m, int line) {
  char text[512];
  if (source_line(m, line, text, sizeof text)) out("%d\t%s\n", line, text);
  else out("%d\t<no source>\n", line);
}

static void print_where(dbg *d) {
  ax_vm *vm = d->vm;
  if (!vm->nframes) return;
  int fi = vm->nframes - 1;
  print_source_line(vm->frames[fi].closure->proto->module, frame_line(vm, fi));
}

static void do_displays(dbg *d) {
  for (int i = 0; i < d->ndisp; i++) {
    display *x = &d->disp[i];
    if (x->watch) continue;
    ax_value v;
    if (!eval_in(d, d->vm->nframes - 1, x->expr, &v)) continue;
    char label[300];
    snprintf(label, sizeof label, "%d: %s", x->id, x->expr);
    print_value(d->vm, label, v);
  }
}

static const char *layer_kind(ax_layer *l) { return l ? ax_layer_kind_names[l->kind] : "network"; }

/* Enter the command loop at a stop (the reason has been printed). */
static void stop_here(dbg *d) {
  d->sel = 0;
  d->mode = M_CONT;
  d->pause_req = false;
  do_displays(d);
  cmd_loop(d);
  if (d->profiling) d->prof_t = now();
}

/* ---- breakpoints ---- */

static bool bp_cond_ok(dbg *d, bp *b) {
  if (!b->cond) return true;
  ax_value v;
  if (!eval_in(d, d->vm->nframes - 1, b->cond, &v)) {
    out("Error in condition of breakpoint %d; stopping.\n", b->id);
    return true;
  }
  bool t = false;
  if (!ax_vm_truthy(d->vm, v, &t)) {
    d->vm->error = AX_NIL;
    return true;
  }
  return t;
}

static bool file_matches(const char *want, ax_module *m) {
  const char *have = module_file(m);
  if (!want) return false;
  if (strcmp(want, have) == 0) return true;
  size_t lw = strlen(want), lh = strlen(have);
  return lh > lw && have[lh - lw - 1] == '/' && strcmp(have + lh - lw, want) == 0 ? true
         : strcmp(base_name(want), base_name(have)) == 0;
}

/* The breakpoint hit at this event, or NULL. */
static bp *find_bp(dbg *d, bp_kind kind, ax_module *m, int line, const char *name, bool at_exit) {
  for (int i = 0; i < d->nbps; i++) {
    bp *b = &d->bps[i];
    if (!b->enabled || b->kind != kind) continue;
    if (kind == BP_LINE) {
      if (b->line != line) continue;
      if (b->file ? !file_matches(b->file, m) : m != d->vm->main_module) continue;
    } else if (kind == BP_FUNC) {
      if (strcmp(b->name, name) != 0) continue;
    } else {
      if (b->at_exit != at_exit || strcmp(b->name, name) != 0) continue;
    }
    if (!bp_cond_ok(d, b)) continue;
    b->hits++;
    return b;
  }
  return NULL;
}

static void delete_bp_at(dbg *d, int i) {
  bp *b = &d->bps[i];
  free(b->file);
  free(b->name);
  free(b->cond);
  memmove(&d->bps[i], &d->bps[i + 1], sizeof(bp) * (size_t)(d->nbps - i - 1));
  d->nbps--;
}

static void announce_bp(dbg *d, bp *b) {
  out("\n%s %d, ", b->temp ? "Temporary breakpoint" : "Breakpoint", b->id);
  if (b->temp) delete_bp_at(d, (int)(b - d->bps));
}

/* ---- catch nan, memory tracking ---- */

static bool nan_check(const ax_tensor *t, int64_t *nan, int64_t *inf) {
  if (!ax_dtype_is_float(t->dtype)) return false;
  tstats s;
  if (!tensor_stats(t, &s)) return false;
  *nan = s.nan;
  *inf = s.inf;
  return s.nan || s.inf;
}

static int cur_line(dbg *d) { return d->vm->nframes ? frame_line(d->vm, d->vm->nframes - 1) : 0; }

static void track_tensor(dbg *d, const void *t, int line) {
  size_t h = ((uintptr_t)t >> 4) & (TRACK_SLOTS - 1);
  for (int i = 0; i < 8; i++) {
    track_slot *s = &d->track[(h + (size_t)i) & (TRACK_SLOTS - 1)];
    if (s->t == t || !s->t) { s->t = t; s->line = line; return; }
  }
  d->track[h].t = t;
  d->track[h].line = line;
}

static int tracked_line(dbg *d, const void *t) {
  size_t h = ((uintptr_t)t >> 4) & (TRACK_SLOTS - 1);
  for (int i = 0; i < 8; i++) {
    track_slot *s = &d->track[(h + (size_t)i) & (TRACK_SLOTS - 1)];
    if (s->t == t) return s->line;
    if (!s->t) return 0;
  }
  return 0;
}

/* after backward(): scan the gradients of every tensor the program can reach */
typedef struct { dbg *d; bool found; } grad_scan;

static bool scan_grad(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  grad_scan *g = ud;
  int64_t nan, inf;
  if (is_buffer || g->found || !t->grad || !nan_check(t->grad, &nan, &inf)) return true;
  char head[200];
  tensor_head(t->grad, head, sizeof head);
  out("\nCatchpoint (nan): backward produced a gradient with %lld NaN, %lld Inf\n", (long long)nan, (long long)inf);
  out("  grad of %s (%s) at %s:%d, in layer %.*s\n", name, head, module_file(g->d->vm->frames[g->d->vm->nframes - 1].closure->proto->module),
      cur_line(g->d), (int)(strrchr(name, '.') ? strrchr(name, '.') - name : (long)strlen(name)), name);
  g->found = true;
  return true;
}

static bool scan_value_grads(dbg *d, const char *name, ax_value v, grad_scan *g) {
  ax_net *n = ax_value_net(v);
  if (n) return ax_net_visit(n, name, scan_grad, g), g->found;
  ax_tensor *t = ax_value_tensor(v);
  if (t) scan_grad(g, name, t, 0);
  (void)d;
  return g->found;
}

static bool after_backward(dbg *d) {
  ax_vm *vm = d->vm;
  grad_scan g = {d, false};
  ax_module *m = vm->main_module;
  uint32_t pos = 0;
  ax_entry *e;
  while (m && !g.found && ax_table_next(&m->names, &pos, &e))
    if (AX_IS_STRING(e->key)) scan_value_grads(d, AX_AS_STRING(e->key)->chars, m->vars[e->val.as.i], &g);
  for (int fi = vm->nframes - 1; fi >= 0 && !g.found; fi--) {
    ax_proto *p = vm->frames[fi].closure->proto;
    int pc = frame_pc(vm, fi);
    for (int i = 0; i < p->nlocvars && !g.found; i++)
      if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc)
        scan_value_grads(d, p->locvars[i].name, local_value(&vm->frames[fi], &p->locvars[i]), &g);
  }
  return g.found;
}

/* ---- profile ---- */

static void prof_account(dbg *d) {
  double t = now();
  size_t mem = ax_mem_live();
  if (d->prof_line > 0 && d->prof_line < PROF_LINES) {
    d->prof_lines_t[d->prof_line] += t - d->prof_t;
    if (mem > d->prof_mem) d->prof_lines_alloc[d->prof_line] += mem - d->prof_mem;
  }
  if (mem > d->prof_peak) d->prof_peak = mem;
  d->prof_t = t;
  d->prof_mem = mem;
}

static void layer_title(layer_frame *lf, char *buf, size_t n) {
  if (lf->net) snprintf(buf, n, "%s.%s (%s)", lf->net, lf->member, layer_kind(lf->l));
  else snprintf(buf, n, "%s (%s)", lf->member, layer_kind(lf->l));
}

/* ---- the VM hook ---- */

static bool end_program(dbg *d) {
  ax_vm *vm = d->vm;
  vm->error_uncatchable = true;
  return ax_vm_raise(vm, "interrupt", "debugger: the program was stopped");
}

bool ax_debug_attached(ax_vm *vm) { return vm->debugger != NULL; }

bool ax_debug_step(ax_vm *vm) {
  dbg *d = vm->debugger;
  if (d->evaluating) return true;
  if (d->end != END_NONE) return end_program(d);
  d->native_stop = false;
  int n = vm->nframes;
  ax_frame *f = &vm->frames[n - 1];
  ax_proto *p = f->closure->proto;
  int pc = (int)(f->ip - p->code);

  /* a new tensor on top of the stack: remember its line; catch nan checks it */
  if (vm->sp > vm->stack) {
    ax_tensor *t = ax_value_tensor(vm->sp[-1]);
    if (t && t != d->last_top) {
      d->last_top = t;
      int line = ax_proto_line(p, pc > 0 ? pc - 1 : 0, NULL);
      bool fresh = !tracked_line(d, t);
      if (fresh) track_tensor(d, t, line);
      int64_t nan, inf;
      if (d->catch_nan && fresh && nan_check(t, &nan, &inf)) {
        d->catch_nan = false;   /* the first one: NaN spreads to everything computed from it */
        char head[200];
        tensor_head(t, head, sizeof head);
        out("\nCatchpoint (nan): an op produced %lld NaN, %lld Inf: %s\n", (long long)nan, (long long)inf, head);
        out("%s at %s:%d\n", p->name->chars, module_file(p->module), line);
        if (d->nlayers && d->nlayers <= MAX_LAYERS) {
          char title[300];
          layer_title(&d->layers[d->nlayers - 1], title, sizeof title);
          out("  in layer %s\n", title);
        }
        print_source_line(p->module, line);
        out("(catch nan is now off; `catch nan` re-arms it)\n");
        stop_here(d);
        if (d->end != END_NONE) return end_program(d);
      }
    }
  }
  if (d->backward_depth == n && *f->ip != AX_BC_INVOKE && d->catch_nan) {
    d->backward_depth = 0;
    if (after_backward(d)) {
      d->catch_nan = false;
      out("(catch nan is now off; `catch nan` re-arms it)\n");
      print_where(d);
      stop_here(d);
      if (d->end != END_NONE) return end_program(d);
    }
  }

  bool call = false, line_ev = false;
  if (n > d->depth) {
    call = true;
    for (int i = d->depth + 1; i <= n; i++) d->lines[i] = 0, d->pcs[i] = -1;
  }
  bool returned = n < d->depth;
  d->depth = n;
  int prev_pc = d->pcs[n];
  d->pcs[n] = pc;
  int line;
  if (p == d->row_proto && n == d->row_depth && pc >= d->row_lo && pc < d->row_hi) {
    line = d->row_line;
  } else {
    int lo = 0, hi = p->nlines - 1, best = 0;
    while (lo <= hi) {
      int mid = (lo + hi) / 2;
      if (p->lines[mid].pc <= pc) { best = mid; lo = mid + 1; }
      else hi = mid - 1;
    }
    line = p->nlines ? p->lines[best].line : 0;
    d->row_proto = p;
    d->row_depth = n;
    d->row_lo = p->nlines ? p->lines[best].pc : 0;
    d->row_hi = best + 1 < p->nlines ? p->lines[best + 1].pc : p->code_len;
    d->row_line = line;
  }
  /* a new line, or the same line again after a jump back (a loop written on one line) */
  if (line != d->lines[n] || call) line_ev = true;
  else if (!returned && pc < prev_pc) line_ev = true;
  if (line_ev) d->lines[n] = line;

  if (ax_interrupted) {
    ax_interrupted = 0;
    d->pause_req = true;
  }
  if (d->profiling && line_ev && p->module == vm->main_module) {
    prof_account(d);
    d->prof_line = line;
    if (line < PROF_LINES) d->prof_lines_n[line]++;
  }

  /* backward() about to run: check the gradients when it returns */
  if (d->catch_nan && (*f->ip == AX_BC_INVOKE || *f->ip == AX_BC_INVOKE_KW)) {
    ax_value k = p->consts[f->ip[1] | (f->ip[2] << 8)];
    if (AX_IS_STRING(k) && strcmp(AX_AS_STRING(k)->chars, "backward") == 0) d->backward_depth = n;
  } else if (d->catch_nan && *f->ip == AX_BC_CALL) {
    ax_value callee = vm->sp[-1 - f->ip[1]];
    if (ax_is_kind(callee, AX_O_NATIVE) && strcmp(AX_AS_NATIVE(callee)->name->chars, "backward") == 0) d->backward_depth = n;
  }

  /* finish: the frame returned */
  if (d->mode == M_FINISH && n < d->mode_depth) {
    out("%s at %s:%d\n", p->name->chars, module_file(p->module), line);
    print_source_line(p->module, line);
    if (d->have_ret) print_value(vm, "Value returned", d->ret_val);
    d->have_ret = false;
    stop_here(d);
    return d->end == END_NONE ? true : end_program(d);
  }
  if (*f->ip == AX_BC_RETURN && d->mode == M_FINISH && n == d->mode_depth && vm->sp > vm->stack) {
    d->ret_val = vm->sp[-1];
    d->have_ret = true;
  }

  if (!line_ev && !d->pause_req) return true;
  bool stop = false;
  bp *b = NULL;
  if (line_ev) {
    if (call && (b = find_bp(d, BP_FUNC, p->module, line, p->name->chars, false))) stop = true;
    else if ((b = find_bp(d, BP_LINE, p->module, line, NULL, false))) stop = true;
  }
  if (!stop) {
    switch (d->mode) {
    case M_STEP: stop = line_ev; break;
    case M_NEXT: stop = line_ev && n <= d->mode_depth; break;
    case M_UNTIL: stop = line_ev && ((line == d->until_line && n <= d->mode_depth) || n < d->mode_depth); break;
    default: break;
    }
  }
  /* watches */
  bool watched = false;
  if (line_ev) {
    for (int i = 0; i < d->ndisp; i++) {
      display *x = &d->disp[i];
      if (!x->watch) continue;
      ax_value v;
      d->quiet = true;
      bool ok = eval_in(d, n - 1, x->expr, &v);
      d->quiet = false;
      if (!ok) continue;
      char text[1024];
      ax_tensor *t = ax_value_tensor(v);
      if (t) {
        tstats s;
        tensor_stats(t, &s);
        tensor_head(t, text, 200);
        snprintf(text + strlen(text), sizeof text - strlen(text), " sum %.9g nan %lld", s.mean * (double)s.n, (long long)s.nan);
      } else {
        value_text(vm, v, text, sizeof text, 1000);
      }
      if (!x->last) { x->last = dupstr(text); continue; }
      if (strcmp(x->last, text) != 0) {
        out("\nWatchpoint %d: %s\n\nOld value = %s\nNew value = %s\n", x->id, x->expr, x->last, text);
        free(x->last);
        x->last = dupstr(text);
        watched = true;
      }
    }
  }
  if (!stop && !watched && !d->pause_req) return true;
  if (d->pause_req && !stop && !watched) out("\nProgram paused (interrupt).\n");
  if (b) {
    announce_bp(d, b);
    print_frame_head(d, n - 1);
  } else if (watched) {
    print_frame_head(d, n - 1);
  } else if (call || d->pause_req) {
    print_frame_head(d, n - 1);
  }
  print_source_line(p->module, line);
  stop_here(d);
  return d->end == END_NONE ? true : end_program(d);
}

/* An error was raised: when no try block of the program can catch it, stop where it happened
** (the frames are still there); continuing lets it end the program. */
void ax_debug_error(ax_vm *vm) {
  dbg *d = vm->debugger;
  if (d->evaluating || d->end != END_NONE || vm->error_uncatchable || vm->nhandlers > 0 || !vm->nframes) return;
  ax_value ev = vm->error;
  if (!ax_is_kind(ev, AX_O_ERROR)) return;
  ax_error *e = AX_AS_ERROR(ev);
  out("\nProgram stopped by an uncaught error (%s): %s\n", e->kind ? e->kind->chars : "error",
      e->message ? e->message->chars : "");
  d->native_stop = true;
  print_frame_head(d, vm->nframes - 1);
  print_where(d);
  stop_here(d);
  vm->error = ev;   /* expressions evaluated at the stop do not replace it */
  if (d->end != END_NONE) vm->error_uncatchable = true;   /* kill/restart/quit: unwind, no catch */
}

/* ---- the layer hook ---- */

static prof_layer *prof_layer_get(dbg *d, const char *net, const char *member) {
  char key[256];
  snprintf(key, sizeof key, "%s.%s", net ? net : "", member);
  for (int i = 0; i < d->nprof_layers; i++)
    if (strcmp(d->prof_layers[i].key, key) == 0) return &d->prof_layers[i];
  if (d->nprof_layers == 128) return NULL;
  prof_layer *p = &d->prof_layers[d->nprof_layers++];
  memset(p, 0, sizeof *p);
  p->key = dupstr(key);
  return p;
}

bool ax_debug_layer(ax_vm *vm, int phase, const char *net, const char *member, ax_layer *l, ax_tensor *t) {
  dbg *d = vm->debugger;
  if (!d || d->evaluating) return true;
  if (d->end != END_NONE) return end_program(d);
  char title[300], sh[128];
  if (phase == AX_DEBUG_LAYER_ENTER) {
    if (d->nlayers < MAX_LAYERS) {
      layer_frame *lf = &d->layers[d->nlayers];
      lf->net = net;
      lf->member = member;
      lf->l = l;
      lf->vm_depth = vm->nframes;
      lf->in_nd = t ? t->ndim : 0;
      if (t) memcpy(lf->in_shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
      lf->t0 = now();
      lf->mem0 = ax_mem_live();
    }
    d->nlayers++;
    if (d->nlayers > MAX_LAYERS) return true;
    layer_frame *lf = &d->layers[d->nlayers - 1];
    layer_title(lf, title, sizeof title);
    ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
    if (ax_interrupted) {   /* Ctrl-C inside a long native (train()): pause at the next layer */
      ax_interrupted = 0;
      d->pause_req = true;
    }
    bp *b = find_bp(d, BP_LAYER, NULL, 0, member, false);
    if (b || d->mode == M_STEP || d->pause_req) {
      if (!b && d->mode != M_STEP) out("\nProgram paused (interrupt).");
      if (b) announce_bp(d, b);
      else out("\n");
      out("entering layer %s, input %s\n", title, sh);
      d->native_stop = true;
      print_where(d);
      stop_here(d);
    }
    return d->end == END_NONE ? true : end_program(d);
  }
  if (d->nlayers == 0) return true;
  d->nlayers--;
  if (d->nlayers >= MAX_LAYERS) return true;
  layer_frame *lf = &d->layers[d->nlayers];
  if (d->profiling) {
    prof_layer *pl = prof_layer_get(d, net, member);
    if (pl) {
      pl->secs += now() - lf->t0;
      pl->calls++;
      size_t m = ax_mem_live();
      if (m > lf->mem0) pl->alloc += m - lf->mem0;
      if (m > d->prof_peak) d->prof_peak = m;
    }
  }
  if (phase == AX_DEBUG_LAYER_ABORT || !t) return true;
  d->last_layer = *lf;
  d->have_last_layer = true;
  d->last_out_nd = t->ndim;
  memcpy(d->last_out_shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  layer_title(lf, title, sizeof title);
  ax_shape_str(t->shape, t->ndim, sh, sizeof sh);
  int64_t nan, inf;
  if (d->catch_nan && l && nan_check(t, &nan, &inf)) {
    d->catch_nan = false;
    track_tensor(d, t, cur_line(d));   /* the VM will not report it again */
    out("\nCatchpoint (nan): layer %s produced %lld NaN, %lld Inf, output %s\n", title, (long long)nan, (long long)inf, sh);
    d->nlayers++;   /* keep the layer frame visible while stopped */
    d->native_stop = true;
    print_where(d);
    out("(catch nan is now off; `catch nan` re-arms it)\n");
    stop_here(d);
    d->nlayers--;
    return d->end == END_NONE ? true : end_program(d);
  }
  bp *b = find_bp(d, BP_LAYER, NULL, 0, member, true);
  if (b || d->mode == M_STEP) {
    if (b) announce_bp(d, b);
    else out("\n");
    out("leaving layer %s, output %s\n", title, sh);
    d->nlayers++;
    d->native_stop = true;
    print_where(d);
    stop_here(d);
    d->nlayers--;
  }
  return d->end == END_NONE ? true : end_program(d);
}

/* ---- frames ---- */

/* Frame numbering (innermost first): the layer frames of the running forward, then VM frames. */
typedef struct { bool is_layer; int idx; } frame_ref;

static int list_frames(dbg *d, frame_ref *refs, int cap) {
  ax_vm *vm = d->vm;
  int n = 0;
  int nl = d->nlayers < MAX_LAYERS ? d->nlayers : MAX_LAYERS;
  int li = nl - 1;
  for (int fi = vm->nframes - 1; fi >= 0; fi--) {
    while (li >= 0 && d->layers[li].vm_depth >= fi + 1 && n < cap) refs[n++] = (frame_ref){true, li--};
    if (n < cap) refs[n++] = (frame_ref){false, fi};
  }
  return n;
}

static int sel_vm_frame(dbg *d, int *layer_idx) {
  frame_ref refs[256];
  int n = list_frames(d, refs, 256);
  if (layer_idx) *layer_idx = -1;
  if (n == 0) return -1;
  int s = d->sel < n ? d->sel : n - 1;
  if (refs[s].is_layer && layer_idx) *layer_idx = refs[s].idx;
  for (int i = s; i < n; i++)
    if (!refs[i].is_layer) return refs[i].idx;
  return d->vm->nframes - 1;
}

static void print_frame_ref(dbg *d, int num, frame_ref r) {
  if (r.is_layer) {
    layer_frame *lf = &d->layers[r.idx];
    char title[300], sh[128];
    layer_title(lf, title, sizeof title);
    ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
    out("#%-2d layer %s, input %s\n", num, title, sh);
  } else {
    out("#%-2d ", num);
    print_frame_head(d, r.idx);
  }
}

/* ---- commands ---- */

static bool need_running(dbg *d) {
  if (!d->running) out("The program is not being run.\n");
  return d->running;
}

static void cmd_break(dbg *d, const char *arg, bool temp) {
  arg = skip_ws(arg);
  if (d->nbps == MAX_BPS) { out("Too many breakpoints.\n"); return; }
  bp b = {0};
  b.id = ++d->next_id;
  b.enabled = true;
  b.temp = temp;
  char spec[512];
  snprintf(spec, sizeof spec, "%s", arg);
  char *cond = strstr(spec, " if ");
  if (cond) {
    *cond = 0;
    b.cond = dupstr(skip_ws(cond + 4));
  } else if (strncmp(spec, "if ", 3) == 0) {
    out("Usage: break LOCATION if CONDITION\n");
    d->next_id--;
    return;
  }
  char *s = spec;
  while (*s && s[strlen(s) - 1] == ' ') s[strlen(s) - 1] = 0;
  if (!*s) {
    if (!d->running || !d->vm->nframes) { out("No default breakpoint location: the program is not being run.\n"); d->next_id--; free(b.cond); return; }
    b.kind = BP_LINE;
    b.line = cur_line(d);
  } else if (strncmp(s, "layer ", 6) == 0) {
    b.kind = BP_LAYER;
    char name[256];
    char extra[64] = "";
    if (sscanf(s + 6, "%255s %63s", name, extra) < 1) { out("Usage: break layer NAME [exit]\n"); d->next_id--; free(b.cond); return; }
    b.name = dupstr(name);
    b.at_exit = strcmp(extra, "exit") == 0;
  } else {
    char *colon = strrchr(s, ':');
    char *end;
    long line = strtol(colon ? colon + 1 : s, &end, 10);
    if (*end == 0 && line > 0 && (colon ? colon + 1 : s) != end) {
      b.kind = BP_LINE;
      b.line = (int)line;
      if (colon) {
        *colon = 0;
        b.file = dupstr(s);
      }
    } else {
      b.kind = BP_FUNC;
      b.name = dupstr(s);
    }
  }
  d->bps[d->nbps++] = b;
  const char *what = temp ? "Temporary breakpoint" : "Breakpoint";
  if (b.kind == BP_LINE) out("%s %d at %s:%d\n", what, b.id, b.file ? b.file : base_name(d->file), b.line);
  else if (b.kind == BP_FUNC) out("%s %d at function %s\n", what, b.id, b.name);
  else out("%s %d at layer %s%s\n", what, b.id, b.name, b.at_exit ? " (exit)" : "");
}

static void cmd_info_breakpoints(dbg *d) {
  if (!d->nbps) { out("No breakpoints or watchpoints.\n"); }
  else {
    out("Num  Type        Enb  What\n");
    for (int i = 0; i < d->nbps; i++) {
      bp *b = &d->bps[i];
      char what[600];
      if (b->kind == BP_LINE) snprintf(what, sizeof what, "%s:%d", b->file ? b->file : base_name(d->file), b->line);
      else if (b->kind == BP_FUNC) snprintf(what, sizeof what, "function %s", b->name);
      else snprintf(what, sizeof what, "layer %s%s", b->name, b->at_exit ? " exit" : "");
      out("%-4d %-11s %-4s %s\n", b->id, b->temp ? "tbreakpoint" : b->kind == BP_LAYER ? "layer" : "breakpoint", b->enabled ? "y" : "n", what);
      if (b->cond) out("        stop only if %s\n", b->cond);
      if (b->hits) out("        breakpoint already hit %d time%s\n", b->hits, b->hits == 1 ? "" : "s");
    }
  }
  for (int i = 0; i < d->ndisp; i++)
    if (d->disp[i].watch) out("%-4d %-11s %-4s %s\n", d->disp[i].id, "watchpoint", "y", d->disp[i].expr);
}

static void cmd_bp_set(dbg *d, const char *arg, int what) {   /* 0 delete, 1 disable, 2 enable */
  arg = skip_ws(arg);
  if (!*arg) {
    if (what == 0) {
      while (d->nbps) delete_bp_at(d, 0);
      for (int i = d->ndisp - 1; i >= 0; i--)
        if (d->disp[i].watch) {
          free(d->disp[i].expr);
          free(d->disp[i].last);
          memmove(&d->disp[i], &d->disp[i + 1], sizeof(display) * (size_t)(d->ndisp - i - 1));
          d->ndisp--;
        }
      out("Deleted all breakpoints.\n");
    } else {
      for (int i = 0; i < d->nbps; i++) d->bps[i].enabled = what == 2;
    }
    return;
  }
  while (*arg) {
    char *end;
    long id = strtol(arg, &end, 10);
    if (end == arg) { out("Bad breakpoint number '%s'\n", arg); return; }
    bool found = false;
    for (int i = 0; i < d->nbps; i++) {
      if (d->bps[i].id != id) continue;
      found = true;
      if (what == 0) delete_bp_at(d, i);
      else d->bps[i].enabled = what == 2;
      break;
    }
    for (int i = 0; i < d->ndisp && !found; i++) {
      if (!d->disp[i].watch || d->disp[i].id != id) continue;
      found = true;
      if (what == 0) {
        free(d->disp[i].expr);
        free(d->disp[i].last);
        memmove(&d->disp[i], &d->disp[i + 1], sizeof(display) * (size_t)(d->ndisp - i - 1));
        d->ndisp--;
      }
    }
    if (!found) out("No breakpoint number %ld.\n", id);
    arg = skip_ws(end);
  }
}

static void cmd_backtrace(dbg *d) {
  if (!need_running(d)) return;
  frame_ref refs[256];
  int n = list_frames(d, refs, 256);
  for (int i = 0; i < n; i++) print_frame_ref(d, i, refs[i]);
}

static void cmd_frame(dbg *d, const char *arg, int rel) {
  if (!need_running(d)) return;
  frame_ref refs[256];
  int n = list_frames(d, refs, 256);
  int want = d->sel;
  if (rel) want += rel;
  else if (*skip_ws(arg)) want = atoi(skip_ws(arg));
  if (want < 0 || want >= n) { out(rel > 0 ? "Initial frame selected; you cannot go up.\n" : rel < 0 ? "Bottom (innermost) frame selected; you cannot go down.\n" : "No frame at level %s.\n", arg); return; }
  d->sel = want;
  print_frame_ref(d, want, refs[want]);
  if (!refs[want].is_layer) {
    ax_frame *f = &d->vm->frames[refs[want].idx];
    print_source_line(f->closure->proto->module, frame_line(d->vm, refs[want].idx));
  }
}

static void cmd_locals(dbg *d) {
  if (!need_running(d)) return;
  int fi = sel_vm_frame(d, NULL);
  if (fi < 0) return;
  ax_frame *f = &d->vm->frames[fi];
  ax_proto *p = f->closure->proto;
  int pc = frame_pc(d->vm, fi);
  int shown = 0;
  for (int i = 0; i < p->nlocvars; i++) {
    ax_locvar *lv = &p->locvars[i];
    if (lv->startpc > pc || pc >= lv->endpc) continue;
    bool shadowed = false;
    for (int j = i + 1; j < p->nlocvars; j++)
      if (p->locvars[j].startpc <= pc && pc < p->locvars[j].endpc && strcmp(p->locvars[j].name, lv->name) == 0) shadowed = true;
    if (shadowed) continue;
    print_value(d->vm, lv->name, local_value(f, lv));
    shown++;
  }
  if (!shown) out("No locals.\n");
}

static void cmd_globals(dbg *d) {
  if (!need_running(d)) return;
  int fi = sel_vm_frame(d, NULL);
  ax_module *m = fi >= 0 ? d->vm->frames[fi].closure->proto->module : d->vm->main_module;
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&m->names, &pos, &e)) {
    ax_value v = m->vars[e->val.as.i];
    if (!AX_IS_STRING(e->key) || AX_IS_UNDEF(v)) continue;
    char text[200];
    ax_tensor *t = ax_value_tensor(v);
    if (t) {
      tensor_head(t, text, sizeof text);
      out("%s = tensor %s\n", AX_AS_STRING(e->key)->chars, text);
    } else {
      value_text(d->vm, v, text, sizeof text, 100);
      out("%s = %s\n", AX_AS_STRING(e->key)->chars, text);
    }
  }
}

static void cmd_print(dbg *d, const char *arg) {
  arg = skip_ws(arg);
  if (!*arg) { out("Usage: print EXPR\n"); return; }
  ax_value v;
  if (eval_sel(d, arg, &v)) print_value(d->vm, arg, v);
}

static void cmd_display(dbg *d, const char *arg, bool watch) {
  arg = skip_ws(arg);
  if (!*arg) {
    if (watch) out("Usage: watch EXPR\n");
    else do_displays(d);
    return;
  }
  if (d->ndisp == MAX_DISPLAYS) { out("Too many displays.\n"); return; }
  display *x = &d->disp[d->ndisp++];
  x->id = watch ? ++d->next_id : ++d->next_disp;
  x->expr = dupstr(arg);
  x->watch = watch;
  x->last = NULL;
  if (watch) {
    out("Watchpoint %d: %s\n", x->id, arg);
    if (d->running) {
      ax_value v;
      if (eval_sel(d, arg, &v)) {
        char text[1024];
        ax_tensor *t = ax_value_tensor(v);
        if (t) {
          tstats s;
          tensor_stats(t, &s);
          tensor_head(t, text, 200);
          snprintf(text + strlen(text), sizeof text - strlen(text), " sum %.9g nan %lld", s.mean * (double)s.n, (long long)s.nan);
        } else {
          value_text(d->vm, v, text, sizeof text, 1000);
        }
        x->last = dupstr(text);
      }
    }
  } else if (d->running) {
    ax_value v;
    char label[300];
    snprintf(label, sizeof label, "%d: %s", x->id, x->expr);
    if (eval_sel(d, arg, &v)) print_value(d->vm, label, v);
  }
}

static void cmd_undisplay(dbg *d, const char *arg) {
  int id = atoi(skip_ws(arg));
  for (int i = 0; i < d->ndisp; i++)
    if (!d->disp[i].watch && (d->disp[i].id == id || !*skip_ws(arg))) {
      free(d->disp[i].expr);
      memmove(&d->disp[i], &d->disp[i + 1], sizeof(display) * (size_t)(d->ndisp - i - 1));
      d->ndisp--;
      i--;
    }
}

typedef struct { int64_t count; int shown; } param_walk;

static bool layer_param(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  param_walk *w = ud;
  char head[200];
  tensor_head(t, head, sizeof head);
  if (!is_buffer) w->count += ax_numel(t);
  if (is_buffer) { out("  buffer %-20s %s\n", name, head); return true; }
  if (t->grad) {
    tstats s;
    tensor_stats(t->grad, &s);
    out("  param  %-20s %s  grad norm %.5g%s\n", name, head, s.norm, s.nan || s.inf ? "  (NaN/Inf!)" : "");
  } else {
    out("  param  %-20s %s  grad none\n", name, head);
  }
  return true;
}

static void cmd_layer(dbg *d) {
  if (!need_running(d)) return;
  int li;
  sel_vm_frame(d, &li);
  layer_frame *lf = NULL;
  bool finished = false;
  if (li >= 0) lf = &d->layers[li];
  else if (d->nlayers > 0 && d->nlayers <= MAX_LAYERS) lf = &d->layers[d->nlayers - 1];
  else if (d->have_last_layer) { lf = &d->last_layer; finished = true; }
  if (!lf) { out("No layer: the program is not inside a network forward.\n"); return; }
  char title[300], sh[128], osh[128] = "(not computed yet)";
  layer_title(lf, title, sizeof title);
  ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
  if (finished) ax_shape_str(d->last_out_shape, d->last_out_nd, osh, sizeof osh);
  else if (lf->l && lf->l->out_nd) { ax_shape_str(lf->l->out_shape, lf->l->out_nd, osh, sizeof osh); strcat(osh, " (last forward)"); }
  out("layer %s%s\n", title, finished ? " (finished)" : "");
  out("  input  %s\n  output %s\n", sh, osh);
  if (!lf->l) return;
  if (!lf->l->built) { out("  parameters: not built yet (this first forward builds them)\n"); return; }
  param_walk w = {0, 0};
  ax_layer_visit_tensors(lf->l, "", layer_param, &w);
  out("  parameters: %lld\n", (long long)w.count);
}

typedef struct { const char *want; bool found; ax_vm *vm; } grad_find;

static void print_grad(ax_vm *vm, const char *name, ax_tensor *t) {
  if (!t->grad) { out("%s: no gradient (run backward first%s)\n", name, t->requires_grad ? "" : "; it does not require grad"); return; }
  char label[300];
  snprintf(label, sizeof label, "grad of %s", name);
  tstats s;
  ax_value gv = AX_NIL;
  vm->gc_paused++;
  ax_push_tensor(vm, ax_tensor_retain(t->grad), &gv);
  print_tensor(vm, label, gv, t->grad);
  vm->gc_paused--;
  if (tensor_stats(t->grad, &s)) out("  norm %.5g\n", s.norm);
}

static bool grad_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  grad_find *g = ud;
  if (is_buffer) return true;
  if (!g->want || strcmp(g->want, name) == 0 || (strlen(name) > strlen(g->want) && strncmp(name, g->want, strlen(g->want)) == 0 && name[strlen(g->want)] == '.')) {
    g->found = true;
    if (g->want && strcmp(g->want, name) == 0) { print_grad(g->vm, name, t); return true; }
    char head[200];
    tensor_head(t, head, sizeof head);
    if (t->grad) {
      tstats s;
      tensor_stats(t->grad, &s);
      out("  %-24s %s  grad norm %.5g  nan %lld  inf %lld\n", name, head, s.norm, (long long)s.nan, (long long)s.inf);
    } else {
      out("  %-24s %s  grad none\n", name, head);
    }
  }
  return true;
}

static void cmd_grad(dbg *d, const char *arg) {
  arg = skip_ws(arg);
  if (!*arg) { out("Usage: grad NAME (a tensor variable, a network or Net.layer.param)\n"); return; }
  if (!need_running(d)) return;
  ax_value v;
  /* Net.fc1.weight: walk the network's named parameters */
  char root[256];
  const char *dot = strchr(arg, '.');
  snprintf(root, sizeof root, "%.*s", (int)(dot ? dot - arg : (long)strlen(arg)), arg);
  d->evaluating = true;
  bool ok = eval_sel(d, root, &v);
  d->evaluating = false;
  if (!ok) return;
  ax_net *n = ax_value_net(v);
  if (n) {
    grad_find g = {dot ? dot + 1 : NULL, false, d->vm};
    if (!dot) out("gradients of %s:\n", root);
    ax_net_visit(n, "", grad_visit, &g);
    if (!g.found) out("%s has no parameter named '%s'\n", root, dot + 1);
    return;
  }
  if (dot && !eval_sel(d, arg, &v)) return;
  ax_tensor *t = ax_value_tensor(v);
  if (!t) { out("%s is a value of type %s, not a tensor or a network\n", arg, ax_type_name(v)); return; }
  print_grad(d->vm, arg, t);
}

/* memory: live tensors the program can reach, by size */
typedef struct { const ax_tensor *t; char name[128]; size_t bytes; int line; } mem_row;
typedef struct { dbg *d; mem_row *rows; int n, cap; const char *prefix; } mem_walk;

static void mem_add(mem_walk *w, const char *name, const ax_tensor *t) {
  for (int i = 0; i < w->n; i++)
    if (w->rows[i].t == t || (t->storage && w->rows[i].t->storage == t->storage)) return;
  if (w->n == w->cap) return;
  mem_row *r = &w->rows[w->n++];
  r->t = t;
  snprintf(r->name, sizeof r->name, "%s", name);
  r->bytes = t->storage ? t->storage->nbytes : 0;
  r->line = tracked_line(w->d, t);
}

static bool mem_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  mem_walk *w = ud;
  char full[256];
  snprintf(full, sizeof full, "%s.%s", w->prefix, name);
  mem_add(w, full, t);
  if (t->grad && !is_buffer) {
    snprintf(full, sizeof full, "%s.%s.grad", w->prefix, name);
    mem_add(w, full, t->grad);
  }
  return true;
}

static void mem_value(mem_walk *w, const char *name, ax_value v) {
  ax_tensor *t = ax_value_tensor(v);
  if (t) {
    mem_add(w, name, t);
    if (t->grad) {
      char g[160];
      snprintf(g, sizeof g, "%s.grad", name);
      mem_add(w, g, t->grad);
    }
    return;
  }
  ax_net *n = ax_value_net(v);
  if (n) {
    w->prefix = name;
    ax_net_visit(n, "", mem_visit, w);
    return;
  }
  if (AX_IS_LIST(v)) {
    ax_list *l = AX_AS_LIST(v);
    for (int64_t i = 0; i < l->len && i < 64; i++) {
      char nm[160];
      snprintf(nm, sizeof nm, "%s[%lld]", name, (long long)i);
      mem_value(w, nm, l->items[i]);
    }
  }
}

static int mem_cmp(const void *a, const void *b) {
  const mem_row *x = a, *y = b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->name, y->name);
}

static void fmt_bytes(size_t b, char *buf, size_t n) {
  if (b >= 1 << 20) snprintf(buf, n, "%.1f MiB", (double)b / 1048576.0);
  else if (b >= 1 << 10) snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
  else snprintf(buf, n, "%zu B", b);
}

static void cmd_memory(dbg *d) {
  if (!need_running(d)) return;
  ax_vm *vm = d->vm;
  mem_walk w = {d, calloc(512, sizeof(mem_row)), 0, 512, ""};
  if (!w.rows) return;
  for (int fi = vm->nframes - 1; fi >= 0; fi--) {
    ax_proto *p = vm->frames[fi].closure->proto;
    int pc = frame_pc(vm, fi);
    for (int i = 0; i < p->nlocvars; i++)
      if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc) mem_value(&w, p->locvars[i].name, local_value(&vm->frames[fi], &p->locvars[i]));
  }
  ax_module *m = vm->main_module;
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&m->names, &pos, &e))
    if (AX_IS_STRING(e->key)) mem_value(&w, AX_AS_STRING(e->key)->chars, m->vars[e->val.as.i]);
  qsort(w.rows, (size_t)w.n, sizeof(mem_row), mem_cmp);
  size_t total = 0;
  out("%-10s  %-28s  %-26s  %s\n", "size", "tensor", "shape", "created");
  for (int i = 0; i < w.n; i++) {
    char sz[32], head[200], where[32] = "-";
    fmt_bytes(w.rows[i].bytes, sz, sizeof sz);
    tensor_head(w.rows[i].t, head, sizeof head);
    if (w.rows[i].line) snprintf(where, sizeof where, "line %d", w.rows[i].line);
    if (i < 40) out("%-10s  %-28s  %-26s  %s\n", sz, w.rows[i].name, head, where);
    total += w.rows[i].bytes;
  }
  if (w.n > 40) out("... %d more\n", w.n - 40);
  char a[32], b[32], c[32];
  fmt_bytes(total, a, sizeof a);
  fmt_bytes(ax_mem_live(), b, sizeof b);
  fmt_bytes(ax_mem_peak(), c, sizeof c);
  out("%d tensors reachable, %s; all live memory %s, peak %s\n", w.n, a, b, c);
  free(w.rows);
}

static void cmd_profile(dbg *d, const char *arg) {
  arg = skip_ws(arg);
  if (strcmp(arg, "on") == 0 || strcmp(arg, "start") == 0) {
    d->profiling = true;
    memset(d->prof_lines_t, 0, sizeof d->prof_lines_t);
    memset(d->prof_lines_n, 0, sizeof d->prof_lines_n);
    memset(d->prof_lines_alloc, 0, sizeof d->prof_lines_alloc);
    for (int i = 0; i < d->nprof_layers; i++) free((char *)d->prof_layers[i].key);
    d->nprof_layers = 0;
    d->prof_t = now();
    d->prof_mem = d->prof_peak = ax_mem_live();
    d->prof_line = 0;
    out("Profiling on: time and memory per line and per layer.\n");
    return;
  }
  if (strcmp(arg, "off") == 0) { d->profiling = false; out("Profiling off.\n"); return; }
  if (*arg) { out("Usage: profile [on|off]\n"); return; }
  if (!d->profiling && !d->nprof_layers) { out("Profiling is off (profile on, then run or continue).\n"); return; }
  int order[PROF_LINES], n = 0;
  for (int i = 1; i < PROF_LINES; i++)
    if (d->prof_lines_n[i]) order[n++] = i;
  for (int i = 1; i < n; i++)   /* by time, descending (insertion sort: few lines) */
    for (int j = i; j > 0 && d->prof_lines_t[order[j]] > d->prof_lines_t[order[j - 1]]; j--) {
      int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
    }
  out("per line of the main script (time until the next line event: natives count on the line that calls them; alloc: growth of live memory):\n");
  out("  %-6s %8s %12s %12s\n", "line", "hits", "time ms", "alloc");
  for (int i = 0; i < n && i < 20; i++) {
    char a[32];
    fmt_bytes(d->prof_lines_alloc[order[i]], a, sizeof a);
    out("  %-6d %8ld %12.3f %12s\n", order[i], d->prof_lines_n[order[i]], d->prof_lines_t[order[i]] * 1e3, a);
  }
  out("per layer:\n");
  out("  %-24s %8s %12s %12s\n", "layer", "calls", "time ms", "alloc");
  for (int i = 0; i < d->nprof_layers; i++) {
    char a[32];
    prof_layer *p = &d->prof_layers[i];
    fmt_bytes(p->alloc, a, sizeof a);
    out("  %-24s %8ld %12.3f %12s\n", p->key, p->calls, p->secs * 1e3, a);
  }
  char pk[32];
  fmt_bytes(d->prof_peak, pk, sizeof pk);
  out("peak memory while profiling: %s\n", pk);
}

static void cmd_list(dbg *d, const char *arg) {
  static int next_line;
  ax_module *m = d->vm ? d->vm->main_module : NULL;
  ax_module fake;   /* before `run`: the file as read at start */
  if (!m && d->src) {
    memset(&fake, 0, sizeof fake);
    fake.source = d->src;
    fake.srclen = d->srclen;
    m = &fake;
  }
  int center = 0;
  if (d->running && d->vm->nframes) {
    int fi = sel_vm_frame(d, NULL);
    m = d->vm->frames[fi].closure->proto->module;
    center = frame_line(d->vm, fi);
  }
  if (!m || !m->source) { out("No source.\n"); return; }
  int from;
  if (*skip_ws(arg)) from = atoi(skip_ws(arg)) - 5;
  else if (next_line) from = next_line;
  else from = center ? center - 5 : 1;
  if (from < 1) from = 1;
  char text[512];
  int l;
  for (l = from; l < from + 10 && source_line(m, l, text, sizeof text); l++) out("%d\t%s\n", l, text);
  next_line = l;
  if (center && !*skip_ws(arg)) next_line = l;
}

static void cmd_help(void) {
  out("Running:     run (r) [restart], continue (c), step (s), next (n), finish, until (u) LINE, kill, quit (q)\n"
      "Breakpoints: break (b) [FILE:]LINE | FUNCTION | layer NAME [exit] [if COND], tbreak ...,\n"
      "             delete (d) [N...], disable [N...], enable [N...], info breakpoints (i b)\n"
      "Inspecting:  backtrace (bt), frame (f) N, up, down, print (p) EXPR, locals, globals, list (l) [LINE],\n"
      "             display EXPR, undisplay [N], watch EXPR\n"
      "Networks:    layer, grad NAME (a tensor, a network, or Net.layer.param)\n"
      "Anomalies:   catch nan (stop at the first NaN/Inf, forward or backward), catch off\n"
      "Profiling:   profile on|off, profile (report), memory (live tensors by size)\n");
}

/* Read one command; false at end of input. */
static bool read_cmd(dbg *d, char *buf, size_t n) {
  fflush(stdout);
  if (d->tty) {
    char *line = readline("(anxdb) ");
    if (!line) return false;
    if (*line) add_history(line);
    snprintf(buf, n, "%s", line);
    free(line);
    return true;
  }
  if (!fgets(buf, (int)n, d->in)) return false;
  buf[strcspn(buf, "\r\n")] = 0;
  if (d->echo && buf[0] != '#') out("(anxdb) %s\n", buf);
  return true;
}

static void set_mode(dbg *d, run_mode m) {
  d->mode = m;
  d->mode_depth = d->vm->nframes;
}

/* The command loop: returns when the program should go on (or end: d->end). At top level
** (program not running) it returns when the program should start, or at end of input. */
static void cmd_loop(dbg *d) {
  char line[512];
  for (;;) {
    ax_interrupted = 0;
    if (!read_cmd(d, line, sizeof line)) {
      d->end = END_QUIT;
      return;
    }
    const char *c = skip_ws(line);
    if (*c == 0 && d->last_cmd[0]) c = d->last_cmd;
    else if (*c) snprintf(d->last_cmd, sizeof d->last_cmd, "%s", c);
    if (*c == 0 || *c == '#') continue;
    char word[64];
    int wl = 0;
    while (c[wl] && c[wl] != ' ' && wl < 63) { word[wl] = c[wl]; wl++; }
    word[wl] = 0;
    const char *arg = skip_ws(c + wl);
#define IS(...) is_any(word, (const char *[]){__VA_ARGS__, NULL})
    if (IS("run", "r", "restart")) {
      if (!d->running) return;
      d->end = END_RESTART;
      return;
    } else if (IS("continue", "c", "cont")) {
      if (!need_running(d)) continue;
      set_mode(d, M_CONT);
      return;
    } else if (IS("step", "s")) {
      if (!need_running(d)) continue;
      set_mode(d, M_STEP);
      return;
    } else if (IS("next", "n")) {
      if (!need_running(d)) continue;
      set_mode(d, M_NEXT);
      return;
    } else if (IS("finish", "fin")) {
      if (!need_running(d)) continue;
      int fi = sel_vm_frame(d, NULL);
      if (fi <= 0) { out("\"finish\" not meaningful in the outermost frame.\n"); continue; }
      set_mode(d, M_FINISH);
      d->mode_depth = fi + 1;
      out("Run till exit from ");
      print_frame_head(d, fi);
      return;
    } else if (IS("until", "u", "advance")) {
      if (!need_running(d)) continue;
      set_mode(d, *arg ? M_UNTIL : M_NEXT);
      d->until_line = atoi(arg);
      return;
    } else if (IS("kill", "k")) {
      if (!need_running(d)) continue;
      d->end = END_KILL;
      return;
    } else if (IS("quit", "q", "exit")) {
      d->end = END_QUIT;
      return;
    } else if (IS("break", "b", "br")) {
      cmd_break(d, arg, false);
    } else if (IS("tbreak", "tb")) {
      cmd_break(d, arg, true);
    } else if (IS("delete", "d")) {
      cmd_bp_set(d, strncmp(arg, "breakpoints", 11) == 0 ? arg + 11 : arg, 0);
    } else if (IS("disable")) {
      cmd_bp_set(d, arg, 1);
    } else if (IS("enable")) {
      cmd_bp_set(d, arg, 2);
    } else if (IS("info", "i")) {
      if (strncmp(arg, "b", 1) == 0 || strncmp(arg, "watch", 5) == 0) cmd_info_breakpoints(d);
      else if (strncmp(arg, "locals", 6) == 0) cmd_locals(d);
      else if (strncmp(arg, "globals", 7) == 0 || strncmp(arg, "variables", 9) == 0) cmd_globals(d);
      else if (strncmp(arg, "frame", 5) == 0) cmd_frame(d, "", 0);
      else if (strncmp(arg, "display", 7) == 0) {
        for (int i = 0; i < d->ndisp; i++)
          if (!d->disp[i].watch) out("%d: %s\n", d->disp[i].id, d->disp[i].expr);
      } else out("info breakpoints | locals | globals | frame | display\n");
    } else if (IS("backtrace", "bt", "where")) {
      cmd_backtrace(d);
    } else if (IS("frame", "f")) {
      cmd_frame(d, arg, 0);
    } else if (IS("up")) {
      cmd_frame(d, arg, 1);
    } else if (IS("down")) {
      cmd_frame(d, arg, -1);
    } else if (IS("print", "p", "inspect")) {
      cmd_print(d, arg);
    } else if (IS("locals")) {
      cmd_locals(d);
    } else if (IS("globals")) {
      cmd_globals(d);
    } else if (IS("display")) {
      cmd_display(d, arg, false);
    } else if (IS("undisplay")) {
      cmd_undisplay(d, arg);
    } else if (IS("watch")) {
      cmd_display(d, arg, true);
    } else if (IS("layer")) {
      cmd_layer(d);
    } else if (IS("grad")) {
      cmd_grad(d, arg);
    } else if (IS("catch")) {
      if (strcmp(arg, "nan") == 0 || strcmp(arg, "inf") == 0) {
        d->catch_nan = true;
        out("Catchpoint: stop at the first NaN or Inf (ops, layer outputs, gradients after backward).\n");
      } else if (strcmp(arg, "off") == 0) {
        d->catch_nan = false;
        out("Catchpoint deleted.\n");
      } else {
        out("Usage: catch nan | catch off\n");
      }
    } else if (IS("profile")) {
      cmd_profile(d, arg);
    } else if (IS("memory", "mem")) {
      cmd_memory(d);
    } else if (IS("list", "l")) {
      cmd_list(d, arg);
    } else if (IS("help", "h", "?")) {
      cmd_help();
    } else {
      out("Undefined command: \"%s\".  Try \"help\".\n", word);
    }
#undef IS
  }
}

/* ---- running the program ---- */

static volatile sig_atomic_t *interrupted_flag(void) { return &ax_interrupted; }

static void on_sigint(int sig) {
  (void)sig;
  *interrupted_flag() = 1;
}

/* Lines of the main script that have code (this proto and the functions nested in it). */
static void code_lines(ax_proto *p, unsigned char *has, int nlines, int depth) {
  if (depth > 64) return;
  for (int i = 0; i < p->nlines; i++)
    if (p->lines[i].line > 0 && p->lines[i].line < nlines) has[p->lines[i].line] = 1;
  for (int i = 0; i < p->nconsts; i++)
    if (ax_is_kind(p->consts[i], AX_O_PROTO)) code_lines((ax_proto *)p->consts[i].as.o, has, nlines, depth + 1);
}

/* A breakpoint on a line without code (blank, comment, `}`) moves to the next line with code. */
static void move_breakpoints(dbg *d, ax_proto *top) {
  int nlines = 2;
  for (size_t i = 0; i < d->srclen; i++) nlines += d->src[i] == '\n';
  unsigned char *has = calloc((size_t)nlines, 1);
  if (!has) return;
  code_lines(top, has, nlines, 0);
  for (int i = 0; i < d->nbps; i++) {
    bp *b = &d->bps[i];
    if (b->kind != BP_LINE || b->file || b->line >= nlines || has[b->line]) continue;
    int l = b->line;
    while (l < nlines && !has[l]) l++;
    if (l >= nlines) continue;
    out("Breakpoint %d moved from line %d to line %d (the next line with code).\n", b->id, b->line, l);
    b->line = l;
  }
  free(has);
}

/* One run of the program in a fresh VM. */
static void run_program(dbg *d) {
  size_t len = 0;
  char *src = ax_read_file(d->file, &len);
  if (!src) { out("%s: cannot read the file\n", d->file); d->end = END_KILL; return; }
  ax_vm *vm = anx_vm_new();
  if (!vm) { ax_free(src, len + 1); out("out of memory\n"); d->end = END_QUIT; return; }
  anx_vm_set_args(vm, d->argc, d->argv);
  d->vm = vm;
  ax_string *name = ax_str_cstr(vm, d->file);
  ax_module *m = name ? ax_module_new(vm, name) : NULL;
  if (!m) { ax_free(src, len + 1); anx_vm_free(vm); d->vm = NULL; d->end = END_QUIT; return; }
  m->path = name;
  m->source = src;
  m->srclen = len;
  vm->main_module = m;
  ax_proto *p = ax_vm_compile_source(vm, m, d->file, src, len, false, false, NULL);
  if (!p) {
    fflush(stderr);
    out("[the program does not compile]\n");
    anx_vm_free(vm);
    d->vm = NULL;
    return;
  }
  move_breakpoints(d, p);
  d->end = END_NONE;
  d->depth = 0;
  d->row_proto = NULL;
  d->nlayers = 0;
  d->have_last_layer = false;
  d->mode = M_CONT;
  d->backward_depth = 0;
  d->last_top = d->last_checked = NULL;
  memset(d->track, 0, sizeof d->track);
  for (int i = 0; i < d->ndisp; i++) { free(d->disp[i].last); d->disp[i].last = NULL; }
  if (d->profiling) { d->prof_t = now(); d->prof_mem = ax_mem_live(); d->prof_line = 0; }
  d->running = true;
  vm->debugger = d;
  m->state = 1;
  bool ok = ax_vm_run_proto(vm, p, NULL);
  m->state = 2;
  if (d->profiling) prof_account(d);
  vm->debugger = NULL;
  d->running = false;
  if (d->end != END_NONE) {
    ax_vm_reset(vm);
    ax_interrupted = 0;
    if (d->end == END_KILL) out("[program killed]\n");
  } else {
    int rc = ax_vm_finish(vm, ok);
    fflush(stderr);
    if (rc == 0) out("[program exited normally]\n");
    else out("[program exited with code %d]\n", rc);
  }
  anx_vm_free(vm);
  d->vm = NULL;
}

int ax_debug_main(const char *file, int argc, char **argv, const char *commands) {
  dbg *d = calloc(1, sizeof(dbg));
  if (!d) return 70;
  d->lines = calloc(AX_MAX_FRAMES + 2, sizeof(int));
  d->pcs = calloc(AX_MAX_FRAMES + 2, sizeof(int));
  if (!d->lines || !d->pcs) { free(d->lines); free(d->pcs); free(d); return 70; }
  d->file = file;
  d->argc = argc;
  d->argv = argv;
  d->src = ax_read_file(file, &d->srclen);
  if (!d->src) { fprintf(stderr, "anx debug: cannot open '%s'\n", file); free(d->lines); free(d->pcs); free(d); return 66; }
  d->in = stdin;
  if (commands) {
    d->in = fopen(commands, "r");
    if (!d->in) { fprintf(stderr, "anx debug: cannot open '%s'\n", commands); free(d->lines); free(d); return 66; }
  }
  d->tty = !commands && isatty(0);
  d->echo = !d->tty;
  if (d->tty) {
    using_history();
    char *home = getenv("HOME");
    if (home) {
      char hist[1024];
      snprintf(hist, sizeof hist, "%s/.anx_debug_history", home);
      read_history(hist);
    }
  }
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  out("anx debugger on %s. Type \"help\" for commands, \"run\" to start.\n", file);
  for (;;) {
    d->end = END_NONE;
    cmd_loop(d);
    if (d->end == END_QUIT) break;
    do {
      run_program(d);
    } while (d->end == END_RESTART);
    if (d->end == END_QUIT) break;
  }
  if (d->tty) {
    char *home = getenv("HOME");
    if (home) {
      char hist[1024];
      snprintf(hist, sizeof hist, "%s/.anx_debug_history", home);
      write_history(hist);
    }
  }
  sigaction(SIGINT, &old, NULL);
  fflush(stdout);
  if (commands) fclose(d->in);
  for (int i = 0; i < d->nbps; i++) { free(d->bps[i].file); free(d->bps[i].name); free(d->bps[i].cond); }
  for (int i = 0; i < d->ndisp; i++) { free(d->disp[i].expr); free(d->disp[i].last); }
  for (int i = 0; i < d->nprof_layers; i++) free((char *)d->prof_layers[i].key);
  ax_free(d->src, d->srclen + 1);
  free(d->lines);
  free(d->pcs);
  free(d);
  return 0;
}

int ax_debug_args(const char *args) {
  char buf[1024];
  char *argv[64];
  int argc = 0;
  snprintf(buf, sizeof buf, "%s", args);
  for (char *t = strtok(buf, " \t"); t && argc < 63; t = strtok(NULL, " \t")) argv[argc++] = t;
  if (argc == 0) {
    out("usage: :debug FILE [ARGS]\n");
    return 64;
  }
  int rc = ax_debug_main(argv[0], argc - 1, argv + 1, NULL);
  fflush(stdout);
  return rc;
}
