/* vm/debug.c — the step debugger's core: the VM hook (ax_debug_step), the layer hook, stops,
** breakpoints, watches, catch nan, tensor summaries, expressions evaluated in a frame's scope.
** Invariant: the program runs inside ax_debug_step / ax_debug_layer; every stop runs the command
** loop there (vm/debug_cmd.c), and a command that ends the program raises an uncatchable error. */
#include "debug_int.h"

/* ---- output helpers ---- */

void ax_dbg_out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

double ax_dbg_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *ax_dbg_dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

const char *ax_dbg_skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

const char *ax_dbg_base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static const char *module_file(ax_module *m) { return m->path ? m->path->chars : m->name->chars; }

/* Text of line `line` (1-based) of a module's source, without the newline. */
bool ax_dbg_source_line(ax_module *m, int line, char *buf, size_t n) {
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

int ax_dbg_frame_pc(ax_vm *vm, int i) {
  ax_frame *f = &vm->frames[i];
  int pc = (int)(f->ip - f->closure->proto->code);
  bool in_native = vm->debugger && vm->debugger->native_stop;
  if ((i < vm->nframes - 1 || in_native) && pc > 0) pc--;   /* callers: ip is past the call */
  return pc;
}

/* A local's value, or an upvalue's (slot < 0: upvalue -1 - slot of the frame's closure). */
ax_value ax_dbg_local_value(ax_frame *f, const ax_locvar *lv) {
  if (lv->slot >= 0) return f->slots[lv->slot];
  int u = -1 - lv->slot;
  return u < f->closure->nupvals && f->closure->upvals[u] ? *f->closure->upvals[u]->loc : AX_NIL;
}

int ax_dbg_frame_line(ax_vm *vm, int i) { return ax_proto_line(vm->frames[i].closure->proto, ax_dbg_frame_pc(vm, i), NULL); }

/* ---- values ---- */

void ax_dbg_value_text(ax_vm *vm, ax_value v, char *buf, size_t n, size_t maxlen) {
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
void ax_dbg_tensor_head(const ax_tensor *t, char *buf, size_t n) {
  char sh[128], dev[32];
  ax_shape_str(t->shape, t->ndim, sh, sizeof sh);
  ax_device_format(t->storage ? t->storage->device : AX_CPU, dev, sizeof dev);
  snprintf(buf, n, "%s %s %s", ax_dtype_name(t->dtype), sh, dev);
}

bool ax_dbg_tensor_stats(const ax_tensor *t, tstats *s) {
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

void ax_dbg_print_tensor(ax_vm *vm, const char *label, ax_value v, const ax_tensor *t) {
  char head[200];
  ax_dbg_tensor_head(t, head, sizeof head);
  ax_dbg_out("%s%s%s\n", label ? label : "", label ? " = " : "", head);
  tstats s;
  if (ax_dbg_tensor_stats(t, &s) && s.n)
    ax_dbg_out("  min %.5g  max %.5g  mean %.5g  std %.5g  nan %lld  inf %lld%s\n", s.min, s.max, s.mean, s.std,
        (long long)s.nan, (long long)s.inf, t->requires_grad ? "  requires_grad" : "");
  if (AX_IS_NIL(v)) return;
  /* a truncated print: at most 6 lines */
  char text[4096];
  ax_dbg_value_text(vm, v, text, sizeof text, sizeof text - 1);
  int lines = 0;
  char *p = text;
  while (*p && lines < 6) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    ax_dbg_out("  %s\n", p);
    lines++;
    if (!nl) break;
    p = nl + 1;
  }
  if (*p && lines == 6) ax_dbg_out("  ...\n");
}

void ax_dbg_print_value(ax_vm *vm, const char *label, ax_value v) {
  ax_tensor *t = ax_value_tensor(v);
  if (t) { ax_dbg_print_tensor(vm, label, v, t); return; }
  char text[2048];
  ax_dbg_value_text(vm, v, text, sizeof text, 1000);
  if (label) ax_dbg_out("%s = %s\n", label, text);
  else ax_dbg_out("%s\n", text);
}

/* ---- evaluating in a frame's scope ---- */


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
  if (!home) { ax_dbg_out("No symbol table: the program is not being run.\n"); return false; }
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
      int pc = ax_dbg_frame_pc(vm, fi);
      for (int i = 0; i < p->nlocvars; i++)
        if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc) declare(vm, m, p->locvars[i].name, ax_dbg_local_value(f, &p->locvars[i]));
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
      if (!p && !d->quiet) ax_dbg_out("error: %s\n", diags.n ? diags.items[0].msg : "cannot evaluate that expression");
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
            ax_dbg_out("error: %s\n", AX_AS_ERROR(ev)->message->chars);
          else
            ax_dbg_out("error: could not evaluate\n");
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

bool ax_dbg_eval_sel(dbg *d, const char *src, ax_value *res) {
  if (!d->running) { ax_dbg_out("The program is not being run.\n"); return false; }
  return eval_in(d, ax_dbg_sel_vm_frame(d, NULL), src, res);
}

/* ---- stop reporting ---- */

void ax_dbg_print_frame_head(dbg *d, int fi) {
  ax_vm *vm = d->vm;
  ax_frame *f = &vm->frames[fi];
  ax_proto *p = f->closure->proto;
  ax_dbg_out("%s (", p->name->chars);
  for (int i = 0; i < p->nparams && p->param_names; i++) {
    char text[128];
    ax_value v = f->slots[1 + i];
    ax_tensor *t = ax_value_tensor(v);
    if (t) ax_dbg_tensor_head(t, text, sizeof text);
    else ax_dbg_value_text(vm, v, text, sizeof text, 40);
    ax_dbg_out("%s%s=%s", i ? ", " : "", p->param_names[i]->chars, text);
  }
  ax_dbg_out(") at %s:%d\n", module_file(p->module), ax_dbg_frame_line(vm, fi));
}

void ax_dbg_print_source_line(ax_module *m, int line) {
  char text[512];
  if (ax_dbg_source_line(m, line, text, sizeof text)) ax_dbg_out("%d\t%s\n", line, text);
  else ax_dbg_out("%d\t<no source>\n", line);
}

static void print_where(dbg *d) {
  ax_vm *vm = d->vm;
  if (!vm->nframes) return;
  int fi = vm->nframes - 1;
  ax_dbg_print_source_line(vm->frames[fi].closure->proto->module, ax_dbg_frame_line(vm, fi));
}

void ax_dbg_do_displays(dbg *d) {
  for (int i = 0; i < d->ndisp; i++) {
    display *x = &d->disp[i];
    if (x->watch) continue;
    ax_value v;
    if (!eval_in(d, d->vm->nframes - 1, x->expr, &v)) continue;
    char label[300];
    snprintf(label, sizeof label, "%d: %s", x->id, x->expr);
    ax_dbg_print_value(d->vm, label, v);
  }
}

static const char *layer_kind(ax_layer *l) { return l ? ax_layer_kind_names[l->kind] : "network"; }

/* Enter the command loop at a stop (the reason has been printed). */
static void stop_here(dbg *d) {
  d->sel = 0;
  d->mode = M_CONT;
  d->pause_req = false;
  ax_dbg_do_displays(d);
  ax_dbg_cmd_loop(d);
  if (d->profiling) d->prof_t = ax_dbg_now();
}

/* ---- breakpoints ---- */

static bool bp_cond_ok(dbg *d, bp *b) {
  if (!b->cond) return true;
  ax_value v;
  if (!eval_in(d, d->vm->nframes - 1, b->cond, &v)) {
    ax_dbg_out("Error in condition of breakpoint %d; stopping.\n", b->id);
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
         : strcmp(ax_dbg_base_name(want), ax_dbg_base_name(have)) == 0;
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

void ax_dbg_delete_bp_at(dbg *d, int i) {
  bp *b = &d->bps[i];
  free(b->file);
  free(b->name);
  free(b->cond);
  memmove(&d->bps[i], &d->bps[i + 1], sizeof(bp) * (size_t)(d->nbps - i - 1));
  d->nbps--;
}

static void announce_bp(dbg *d, bp *b) {
  ax_dbg_out("\n%s %d, ", b->temp ? "Temporary breakpoint" : "Breakpoint", b->id);
  if (b->temp) ax_dbg_delete_bp_at(d, (int)(b - d->bps));
}

/* ---- catch nan, memory tracking ---- */

static bool nan_check(const ax_tensor *t, int64_t *nan, int64_t *inf) {
  if (!ax_dtype_is_float(t->dtype)) return false;
  tstats s;
  if (!ax_dbg_tensor_stats(t, &s)) return false;
  *nan = s.nan;
  *inf = s.inf;
  return s.nan || s.inf;
}

int ax_dbg_cur_line(dbg *d) { return d->vm->nframes ? ax_dbg_frame_line(d->vm, d->vm->nframes - 1) : 0; }

static void track_tensor(dbg *d, const void *t, int line) {
  size_t h = ((uintptr_t)t >> 4) & (TRACK_SLOTS - 1);
  for (int i = 0; i < 8; i++) {
    track_slot *s = &d->track[(h + (size_t)i) & (TRACK_SLOTS - 1)];
    if (s->t == t || !s->t) { s->t = t; s->line = line; return; }
  }
  d->track[h].t = t;
  d->track[h].line = line;
}

int ax_dbg_tracked_line(dbg *d, const void *t) {
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
  ax_dbg_tensor_head(t->grad, head, sizeof head);
  ax_dbg_out("\nCatchpoint (nan): backward produced a gradient with %lld NaN, %lld Inf\n", (long long)nan, (long long)inf);
  ax_dbg_out("  grad of %s (%s) at %s:%d, in layer %.*s\n", name, head, module_file(g->d->vm->frames[g->d->vm->nframes - 1].closure->proto->module),
      ax_dbg_cur_line(g->d), (int)(strrchr(name, '.') ? strrchr(name, '.') - name : (long)strlen(name)), name);
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
    int pc = ax_dbg_frame_pc(vm, fi);
    for (int i = 0; i < p->nlocvars && !g.found; i++)
      if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc)
        scan_value_grads(d, p->locvars[i].name, ax_dbg_local_value(&vm->frames[fi], &p->locvars[i]), &g);
  }
  return g.found;
}

/* ---- profile ---- */

void ax_dbg_prof_account(dbg *d) {
  double t = ax_dbg_now();
  size_t mem = ax_mem_live();
  if (d->prof_line > 0 && d->prof_line < PROF_LINES) {
    d->prof_lines_t[d->prof_line] += t - d->prof_t;
    if (mem > d->prof_mem) d->prof_lines_alloc[d->prof_line] += mem - d->prof_mem;
  }
  if (mem > d->prof_peak) d->prof_peak = mem;
  d->prof_t = t;
  d->prof_mem = mem;
}

void ax_dbg_layer_title(layer_frame *lf, char *buf, size_t n) {
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
      bool fresh = !ax_dbg_tracked_line(d, t);
      if (fresh) track_tensor(d, t, line);
      int64_t nan, inf;
      if (d->catch_nan && fresh && nan_check(t, &nan, &inf)) {
        d->catch_nan = false;   /* the first one: NaN spreads to everything computed from it */
        char head[200];
        ax_dbg_tensor_head(t, head, sizeof head);
        ax_dbg_out("\nCatchpoint (nan): an op produced %lld NaN, %lld Inf: %s\n", (long long)nan, (long long)inf, head);
        ax_dbg_out("%s at %s:%d\n", p->name->chars, module_file(p->module), line);
        if (d->nlayers && d->nlayers <= MAX_LAYERS) {
          char title[300];
          ax_dbg_layer_title(&d->layers[d->nlayers - 1], title, sizeof title);
          ax_dbg_out("  in layer %s\n", title);
        }
        ax_dbg_print_source_line(p->module, line);
        ax_dbg_out("(catch nan is now off; `catch nan` re-arms it)\n");
        stop_here(d);
        if (d->end != END_NONE) return end_program(d);
      }
    }
  }
  if (d->backward_depth == n && *f->ip != AX_BC_INVOKE && d->catch_nan) {
    d->backward_depth = 0;
    if (after_backward(d)) {
      d->catch_nan = false;
      ax_dbg_out("(catch nan is now off; `catch nan` re-arms it)\n");
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
    ax_dbg_prof_account(d);
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
    ax_dbg_out("%s at %s:%d\n", p->name->chars, module_file(p->module), line);
    ax_dbg_print_source_line(p->module, line);
    if (d->have_ret) ax_dbg_print_value(vm, "Value returned", d->ret_val);
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
        ax_dbg_tensor_stats(t, &s);
        ax_dbg_tensor_head(t, text, 200);
        snprintf(text + strlen(text), sizeof text - strlen(text), " sum %.9g nan %lld", s.mean * (double)s.n, (long long)s.nan);
      } else {
        ax_dbg_value_text(vm, v, text, sizeof text, 1000);
      }
      if (!x->last) { x->last = ax_dbg_dupstr(text); continue; }
      if (strcmp(x->last, text) != 0) {
        ax_dbg_out("\nWatchpoint %d: %s\n\nOld value = %s\nNew value = %s\n", x->id, x->expr, x->last, text);
        free(x->last);
        x->last = ax_dbg_dupstr(text);
        watched = true;
      }
    }
  }
  if (!stop && !watched && !d->pause_req) return true;
  if (d->pause_req && !stop && !watched) ax_dbg_out("\nProgram paused (interrupt).\n");
  if (b) {
    announce_bp(d, b);
    ax_dbg_print_frame_head(d, n - 1);
  } else if (watched) {
    ax_dbg_print_frame_head(d, n - 1);
  } else if (call || d->pause_req) {
    ax_dbg_print_frame_head(d, n - 1);
  }
  ax_dbg_print_source_line(p->module, line);
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
  ax_dbg_out("\nProgram stopped by an uncaught error (%s): %s\n", e->kind ? e->kind->chars : "error",
      e->message ? e->message->chars : "");
  d->native_stop = true;
  ax_dbg_print_frame_head(d, vm->nframes - 1);
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
  p->key = ax_dbg_dupstr(key);
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
      lf->t0 = ax_dbg_now();
      lf->mem0 = ax_mem_live();
    }
    d->nlayers++;
    if (d->nlayers > MAX_LAYERS) return true;
    layer_frame *lf = &d->layers[d->nlayers - 1];
    ax_dbg_layer_title(lf, title, sizeof title);
    ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
    if (ax_interrupted) {   /* Ctrl-C inside a long native (train()): pause at the next layer */
      ax_interrupted = 0;
      d->pause_req = true;
    }
    bp *b = find_bp(d, BP_LAYER, NULL, 0, member, false);
    if (b || d->mode == M_STEP || d->pause_req) {
      if (!b && d->mode != M_STEP) ax_dbg_out("\nProgram paused (interrupt).");
      if (b) announce_bp(d, b);
      else ax_dbg_out("\n");
      ax_dbg_out("entering layer %s, input %s\n", title, sh);
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
      pl->secs += ax_dbg_now() - lf->t0;
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
  ax_dbg_layer_title(lf, title, sizeof title);
  ax_shape_str(t->shape, t->ndim, sh, sizeof sh);
  int64_t nan, inf;
  if (d->catch_nan && l && nan_check(t, &nan, &inf)) {
    d->catch_nan = false;
    track_tensor(d, t, ax_dbg_cur_line(d));   /* the VM will not report it again */
    ax_dbg_out("\nCatchpoint (nan): layer %s produced %lld NaN, %lld Inf, output %s\n", title, (long long)nan, (long long)inf, sh);
    d->nlayers++;   /* keep the layer frame visible while stopped */
    d->native_stop = true;
    print_where(d);
    ax_dbg_out("(catch nan is now off; `catch nan` re-arms it)\n");
    stop_here(d);
    d->nlayers--;
    return d->end == END_NONE ? true : end_program(d);
  }
  bp *b = find_bp(d, BP_LAYER, NULL, 0, member, true);
  if (b || d->mode == M_STEP) {
    if (b) announce_bp(d, b);
    else ax_dbg_out("\n");
    ax_dbg_out("leaving layer %s, output %s\n", title, sh);
    d->nlayers++;
    d->native_stop = true;
    print_where(d);
    stop_here(d);
    d->nlayers--;
  }
  return d->end == END_NONE ? true : end_program(d);
}

