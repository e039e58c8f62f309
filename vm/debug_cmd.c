/* vm/debug_cmd.c — the debugger's commands (frames, print, layer, grad, memory, profile ...),
** the command loop and the driver (`anx debug`, the REPL's `:debug`): one fresh VM per run.
** Invariant: commands that resume the program return from ax_dbg_cmd_loop with d->mode set. */
#include "debug_int.h"

static bool is_any(const char *w, const char *const *names) {
  for (; *names; names++)
    if (strcmp(w, *names) == 0) return true;
  return false;
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

int ax_dbg_sel_vm_frame(dbg *d, int *layer_idx) {
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
    ax_dbg_layer_title(lf, title, sizeof title);
    ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
    ax_dbg_out("#%-2d layer %s, input %s\n", num, title, sh);
  } else {
    ax_dbg_out("#%-2d ", num);
    ax_dbg_print_frame_head(d, r.idx);
  }
}

/* ---- commands ---- */

static bool need_running(dbg *d) {
  if (!d->running) ax_dbg_out("The program is not being run.\n");
  return d->running;
}

static void cmd_break(dbg *d, const char *arg, bool temp) {
  arg = ax_dbg_skip_ws(arg);
  if (d->nbps == MAX_BPS) { ax_dbg_out("Too many breakpoints.\n"); return; }
  bp b = {0};
  b.id = ++d->next_id;
  b.enabled = true;
  b.temp = temp;
  char spec[512];
  snprintf(spec, sizeof spec, "%s", arg);
  char *cond = strstr(spec, " if ");
  if (cond) {
    *cond = 0;
    b.cond = ax_dbg_dupstr(ax_dbg_skip_ws(cond + 4));
  } else if (strncmp(spec, "if ", 3) == 0) {
    ax_dbg_out("Usage: break LOCATION if CONDITION\n");
    d->next_id--;
    return;
  }
  char *s = spec;
  while (*s && s[strlen(s) - 1] == ' ') s[strlen(s) - 1] = 0;
  if (!*s) {
    if (!d->running || !d->vm->nframes) { ax_dbg_out("No default breakpoint location: the program is not being run.\n"); d->next_id--; free(b.cond); return; }
    b.kind = BP_LINE;
    b.line = ax_dbg_cur_line(d);
  } else if (strncmp(s, "layer ", 6) == 0) {
    b.kind = BP_LAYER;
    char name[256];
    char extra[64] = "";
    if (sscanf(s + 6, "%255s %63s", name, extra) < 1) { ax_dbg_out("Usage: break layer NAME [exit]\n"); d->next_id--; free(b.cond); return; }
    b.name = ax_dbg_dupstr(name);
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
        b.file = ax_dbg_dupstr(s);
      }
    } else {
      b.kind = BP_FUNC;
      b.name = ax_dbg_dupstr(s);
    }
  }
  d->bps[d->nbps++] = b;
  const char *what = temp ? "Temporary breakpoint" : "Breakpoint";
  if (b.kind == BP_LINE) ax_dbg_out("%s %d at %s:%d\n", what, b.id, b.file ? b.file : ax_dbg_base_name(d->file), b.line);
  else if (b.kind == BP_FUNC) ax_dbg_out("%s %d at function %s\n", what, b.id, b.name);
  else ax_dbg_out("%s %d at layer %s%s\n", what, b.id, b.name, b.at_exit ? " (exit)" : "");
}

static void cmd_info_breakpoints(dbg *d) {
  if (!d->nbps) { ax_dbg_out("No breakpoints or watchpoints.\n"); }
  else {
    ax_dbg_out("Num  Type        Enb  What\n");
    for (int i = 0; i < d->nbps; i++) {
      bp *b = &d->bps[i];
      char what[600];
      if (b->kind == BP_LINE) snprintf(what, sizeof what, "%s:%d", b->file ? b->file : ax_dbg_base_name(d->file), b->line);
      else if (b->kind == BP_FUNC) snprintf(what, sizeof what, "function %s", b->name);
      else snprintf(what, sizeof what, "layer %s%s", b->name, b->at_exit ? " exit" : "");
      ax_dbg_out("%-4d %-11s %-4s %s\n", b->id, b->temp ? "tbreakpoint" : b->kind == BP_LAYER ? "layer" : "breakpoint", b->enabled ? "y" : "n", what);
      if (b->cond) ax_dbg_out("        stop only if %s\n", b->cond);
      if (b->hits) ax_dbg_out("        breakpoint already hit %d time%s\n", b->hits, b->hits == 1 ? "" : "s");
    }
  }
  for (int i = 0; i < d->ndisp; i++)
    if (d->disp[i].watch) ax_dbg_out("%-4d %-11s %-4s %s\n", d->disp[i].id, "watchpoint", "y", d->disp[i].expr);
}

static void cmd_bp_set(dbg *d, const char *arg, int what) {   /* 0 delete, 1 disable, 2 enable */
  arg = ax_dbg_skip_ws(arg);
  if (!*arg) {
    if (what == 0) {
      while (d->nbps) ax_dbg_delete_bp_at(d, 0);
      for (int i = d->ndisp - 1; i >= 0; i--)
        if (d->disp[i].watch) {
          free(d->disp[i].expr);
          free(d->disp[i].last);
          memmove(&d->disp[i], &d->disp[i + 1], sizeof(display) * (size_t)(d->ndisp - i - 1));
          d->ndisp--;
        }
      ax_dbg_out("Deleted all breakpoints.\n");
    } else {
      for (int i = 0; i < d->nbps; i++) d->bps[i].enabled = what == 2;
    }
    return;
  }
  while (*arg) {
    char *end;
    long id = strtol(arg, &end, 10);
    if (end == arg) { ax_dbg_out("Bad breakpoint number '%s'\n", arg); return; }
    bool found = false;
    for (int i = 0; i < d->nbps; i++) {
      if (d->bps[i].id != id) continue;
      found = true;
      if (what == 0) ax_dbg_delete_bp_at(d, i);
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
    if (!found) ax_dbg_out("No breakpoint number %ld.\n", id);
    arg = ax_dbg_skip_ws(end);
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
  else if (*ax_dbg_skip_ws(arg)) want = atoi(ax_dbg_skip_ws(arg));
  if (want < 0 || want >= n) { ax_dbg_out(rel > 0 ? "Initial frame selected; you cannot go up.\n" : rel < 0 ? "Bottom (innermost) frame selected; you cannot go down.\n" : "No frame at level %s.\n", arg); return; }
  d->sel = want;
  print_frame_ref(d, want, refs[want]);
  if (!refs[want].is_layer) {
    ax_frame *f = &d->vm->frames[refs[want].idx];
    ax_dbg_print_source_line(f->closure->proto->module, ax_dbg_frame_line(d->vm, refs[want].idx));
  }
}

static void cmd_locals(dbg *d) {
  if (!need_running(d)) return;
  int fi = ax_dbg_sel_vm_frame(d, NULL);
  if (fi < 0) return;
  ax_frame *f = &d->vm->frames[fi];
  ax_proto *p = f->closure->proto;
  int pc = ax_dbg_frame_pc(d->vm, fi);
  int shown = 0;
  for (int i = 0; i < p->nlocvars; i++) {
    ax_locvar *lv = &p->locvars[i];
    if (lv->startpc > pc || pc >= lv->endpc) continue;
    bool shadowed = false;
    for (int j = i + 1; j < p->nlocvars; j++)
      if (p->locvars[j].startpc <= pc && pc < p->locvars[j].endpc && strcmp(p->locvars[j].name, lv->name) == 0) shadowed = true;
    if (shadowed) continue;
    ax_dbg_print_value(d->vm, lv->name, ax_dbg_local_value(f, lv));
    shown++;
  }
  if (!shown) ax_dbg_out("No locals.\n");
}

static void cmd_globals(dbg *d) {
  if (!need_running(d)) return;
  int fi = ax_dbg_sel_vm_frame(d, NULL);
  ax_module *m = fi >= 0 ? d->vm->frames[fi].closure->proto->module : d->vm->main_module;
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&m->names, &pos, &e)) {
    ax_value v = m->vars[e->val.as.i];
    if (!AX_IS_STRING(e->key) || AX_IS_UNDEF(v)) continue;
    char text[200];
    ax_tensor *t = ax_value_tensor(v);
    if (t) {
      ax_dbg_tensor_head(t, text, sizeof text);
      ax_dbg_out("%s = tensor %s\n", AX_AS_STRING(e->key)->chars, text);
    } else {
      ax_dbg_value_text(d->vm, v, text, sizeof text, 100);
      ax_dbg_out("%s = %s\n", AX_AS_STRING(e->key)->chars, text);
    }
  }
}

static void cmd_print(dbg *d, const char *arg) {
  char expr[512];
  snprintf(expr, sizeof expr, "%s", ax_dbg_skip_ws(arg));
  for (size_t l = strlen(expr); l && (expr[l - 1] == ' ' || expr[l - 1] == '\t'); l--) expr[l - 1] = 0;
  arg = expr;
  if (!*arg) { ax_dbg_out("Usage: print EXPR\n"); return; }
  ax_value v;
  if (ax_dbg_eval_sel(d, arg, &v)) ax_dbg_print_value(d->vm, arg, v);
}

static void cmd_display(dbg *d, const char *arg, bool watch) {
  arg = ax_dbg_skip_ws(arg);
  if (!*arg) {
    if (watch) ax_dbg_out("Usage: watch EXPR\n");
    else ax_dbg_do_displays(d);
    return;
  }
  if (d->ndisp == MAX_DISPLAYS) { ax_dbg_out("Too many displays.\n"); return; }
  display *x = &d->disp[d->ndisp++];
  x->id = watch ? ++d->next_id : ++d->next_disp;
  x->expr = ax_dbg_dupstr(arg);
  x->watch = watch;
  x->last = NULL;
  if (watch) {
    ax_dbg_out("Watchpoint %d: %s\n", x->id, arg);
    if (d->running) {
      ax_value v;
      if (ax_dbg_eval_sel(d, arg, &v)) {
        char text[1024];
        ax_tensor *t = ax_value_tensor(v);
        if (t) {
          tstats s;
          ax_dbg_tensor_stats(t, &s);
          ax_dbg_tensor_head(t, text, 200);
          snprintf(text + strlen(text), sizeof text - strlen(text), " sum %.9g nan %lld", s.mean * (double)s.n, (long long)s.nan);
        } else {
          ax_dbg_value_text(d->vm, v, text, sizeof text, 1000);
        }
        x->last = ax_dbg_dupstr(text);
      }
    }
  } else if (d->running) {
    ax_value v;
    char label[300];
    snprintf(label, sizeof label, "%d: %s", x->id, x->expr);
    if (ax_dbg_eval_sel(d, arg, &v)) ax_dbg_print_value(d->vm, label, v);
  }
}

static void cmd_undisplay(dbg *d, const char *arg) {
  int id = atoi(ax_dbg_skip_ws(arg));
  for (int i = 0; i < d->ndisp; i++)
    if (!d->disp[i].watch && (d->disp[i].id == id || !*ax_dbg_skip_ws(arg))) {
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
  ax_dbg_tensor_head(t, head, sizeof head);
  if (!is_buffer) w->count += ax_numel(t);
  if (is_buffer) { ax_dbg_out("  buffer %-20s %s\n", name, head); return true; }
  if (t->grad) {
    tstats s;
    ax_dbg_tensor_stats(t->grad, &s);
    ax_dbg_out("  param  %-20s %s  grad norm %.5g%s\n", name, head, s.norm, s.nan || s.inf ? "  (NaN/Inf!)" : "");
  } else {
    ax_dbg_out("  param  %-20s %s  grad none\n", name, head);
  }
  return true;
}

static void cmd_layer(dbg *d) {
  if (!need_running(d)) return;
  int li;
  ax_dbg_sel_vm_frame(d, &li);
  layer_frame *lf = NULL;
  bool finished = false;
  if (li >= 0) lf = &d->layers[li];
  else if (d->nlayers > 0 && d->nlayers <= MAX_LAYERS) lf = &d->layers[d->nlayers - 1];
  else if (d->have_last_layer) { lf = &d->last_layer; finished = true; }
  if (!lf) { ax_dbg_out("No layer: the program is not inside a network forward.\n"); return; }
  char title[300], sh[128], osh[128] = "(not computed yet)";
  ax_dbg_layer_title(lf, title, sizeof title);
  ax_shape_str(lf->in_shape, lf->in_nd, sh, sizeof sh);
  if (finished) ax_shape_str(d->last_out_shape, d->last_out_nd, osh, sizeof osh);
  else if (lf->l && lf->l->out_nd) { ax_shape_str(lf->l->out_shape, lf->l->out_nd, osh, sizeof osh); strcat(osh, " (last forward)"); }
  ax_dbg_out("layer %s%s\n", title, finished ? " (finished)" : "");
  ax_dbg_out("  input  %s\n  output %s\n", sh, osh);
  if (!lf->l) return;
  if (!lf->l->built) { ax_dbg_out("  parameters: not built yet (this first forward builds them)\n"); return; }
  param_walk w = {0, 0};
  ax_layer_visit_tensors(lf->l, "", layer_param, &w);
  ax_dbg_out("  parameters: %lld\n", (long long)w.count);
}

typedef struct { const char *want; bool found; ax_vm *vm; } grad_find;

static void print_grad(ax_vm *vm, const char *name, ax_tensor *t) {
  if (!t->grad) { ax_dbg_out("%s: no gradient (run backward first%s)\n", name, t->requires_grad ? "" : "; it does not require grad"); return; }
  char label[300];
  snprintf(label, sizeof label, "grad of %s", name);
  tstats s;
  ax_value gv = AX_NIL;
  vm->gc_paused++;
  ax_push_tensor(vm, ax_tensor_retain(t->grad), &gv);
  ax_dbg_print_tensor(vm, label, gv, t->grad);
  vm->gc_paused--;
  if (ax_dbg_tensor_stats(t->grad, &s)) ax_dbg_out("  norm %.5g\n", s.norm);
}

static bool grad_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  grad_find *g = ud;
  if (is_buffer) return true;
  if (!g->want || strcmp(g->want, name) == 0 || (strlen(name) > strlen(g->want) && strncmp(name, g->want, strlen(g->want)) == 0 && name[strlen(g->want)] == '.')) {
    g->found = true;
    if (g->want && strcmp(g->want, name) == 0) { print_grad(g->vm, name, t); return true; }
    char head[200];
    ax_dbg_tensor_head(t, head, sizeof head);
    if (t->grad) {
      tstats s;
      ax_dbg_tensor_stats(t->grad, &s);
      ax_dbg_out("  %-24s %s  grad norm %.5g  nan %lld  inf %lld\n", name, head, s.norm, (long long)s.nan, (long long)s.inf);
    } else {
      ax_dbg_out("  %-24s %s  grad none\n", name, head);
    }
  }
  return true;
}

static void cmd_grad(dbg *d, const char *arg) {
  arg = ax_dbg_skip_ws(arg);
  if (!*arg) { ax_dbg_out("Usage: grad NAME (a tensor variable, a network or Net.layer.param)\n"); return; }
  if (!need_running(d)) return;
  ax_value v;
  /* Net.fc1.weight: walk the network's named parameters */
  char root[256];
  const char *dot = strchr(arg, '.');
  snprintf(root, sizeof root, "%.*s", (int)(dot ? dot - arg : (long)strlen(arg)), arg);
  d->evaluating = true;
  bool ok = ax_dbg_eval_sel(d, root, &v);
  d->evaluating = false;
  if (!ok) return;
  ax_net *n = ax_value_net(v);
  if (n) {
    grad_find g = {dot ? dot + 1 : NULL, false, d->vm};
    if (!dot) ax_dbg_out("gradients of %s:\n", root);
    ax_net_visit(n, "", grad_visit, &g);
    if (!g.found) ax_dbg_out("%s has no parameter named '%s'\n", root, dot + 1);
    return;
  }
  if (dot && !ax_dbg_eval_sel(d, arg, &v)) return;
  ax_tensor *t = ax_value_tensor(v);
  if (!t) { ax_dbg_out("%s is a value of type %s, not a tensor or a network\n", arg, ax_type_name(v)); return; }
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
  r->line = ax_dbg_tracked_line(w->d, t);
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
  if (b >= (size_t)1 << 30) snprintf(buf, n, "%.1f GiB", (double)b / 1073741824.0);
  else if (b >= 1 << 20) snprintf(buf, n, "%.1f MiB", (double)b / 1048576.0);
  else if (b >= 1 << 10) snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
  else snprintf(buf, n, "%zu B", b);
}

/* the accelerator's memory, once the program has used it (asking loads nothing) */
static void mem_device(void) {
  ax_device acc = {AX_DEV_CUDA, 0};
  const ax_backend *be = ax_backend_loaded(acc);
  if (!be || !be->mem_stats) return;
  char dn[32], t[32], u[32], p[32], k[32], f[32], tot[32];
  ax_backend_mem m;
  ax_err e;
  ax_device_format(acc, dn, sizeof dn);
  if (be->mem_stats(&m, &e)) {
    ax_dbg_out("%s memory: not available (%s)\n", dn, e.msg);
    return;
  }
  fmt_bytes(ax_device_mem_live(), t, sizeof t);
  fmt_bytes(m.in_use, u, sizeof u);
  fmt_bytes(m.peak, p, sizeof p);
  fmt_bytes(m.cached, k, sizeof k);
  fmt_bytes(m.free_bytes, f, sizeof f);
  fmt_bytes(m.total, tot, sizeof tot);
  ax_dbg_out("%s memory: tensors %s; allocator %s in use, peak %s, %s cached; device %s free of %s\n", dn, t, u, p, k, f,
             tot);
}

static void cmd_memory(dbg *d) {
  if (!need_running(d)) return;
  ax_vm *vm = d->vm;
  mem_walk w = {d, calloc(512, sizeof(mem_row)), 0, 512, ""};
  if (!w.rows) return;
  for (int fi = vm->nframes - 1; fi >= 0; fi--) {
    ax_proto *p = vm->frames[fi].closure->proto;
    int pc = ax_dbg_frame_pc(vm, fi);
    for (int i = 0; i < p->nlocvars; i++)
      if (p->locvars[i].startpc <= pc && pc < p->locvars[i].endpc) mem_value(&w, p->locvars[i].name, ax_dbg_local_value(&vm->frames[fi], &p->locvars[i]));
  }
  ax_module *m = vm->main_module;
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&m->names, &pos, &e))
    if (AX_IS_STRING(e->key)) mem_value(&w, AX_AS_STRING(e->key)->chars, m->vars[e->val.as.i]);
  qsort(w.rows, (size_t)w.n, sizeof(mem_row), mem_cmp);
  size_t total = 0;
  ax_dbg_out("%-10s  %-28s  %-26s  %s\n", "size", "tensor", "shape", "created");
  for (int i = 0; i < w.n; i++) {
    char sz[32], head[200], where[32] = "-";
    fmt_bytes(w.rows[i].bytes, sz, sizeof sz);
    ax_dbg_tensor_head(w.rows[i].t, head, sizeof head);
    if (w.rows[i].line) snprintf(where, sizeof where, "line %d", w.rows[i].line);
    if (i < 40) ax_dbg_out("%-10s  %-28s  %-26s  %s\n", sz, w.rows[i].name, head, where);
    total += w.rows[i].bytes;
  }
  if (w.n > 40) ax_dbg_out("... %d more\n", w.n - 40);
  char a[32], b[32], c[32];
  fmt_bytes(total, a, sizeof a);
  fmt_bytes(ax_mem_live(), b, sizeof b);
  fmt_bytes(ax_mem_peak(), c, sizeof c);
  ax_dbg_out("%d tensors reachable, %s; all live memory %s, peak %s\n", w.n, a, b, c);
  free(w.rows);
  mem_device();
}

static void cmd_profile(dbg *d, const char *arg) {
  arg = ax_dbg_skip_ws(arg);
  if (strcmp(arg, "on") == 0 || strcmp(arg, "start") == 0) {
    d->profiling = true;
    memset(d->prof_lines_t, 0, sizeof d->prof_lines_t);
    memset(d->prof_lines_n, 0, sizeof d->prof_lines_n);
    memset(d->prof_lines_alloc, 0, sizeof d->prof_lines_alloc);
    for (int i = 0; i < d->nprof_layers; i++) free((char *)d->prof_layers[i].key);
    d->nprof_layers = 0;
    d->prof_t = ax_dbg_now();
    d->prof_mem = d->prof_peak = ax_mem_live();
    d->prof_line = 0;
    ax_dbg_out("Profiling on: time and memory per line and per layer.\n");
    return;
  }
  if (strcmp(arg, "off") == 0) { d->profiling = false; ax_dbg_out("Profiling off.\n"); return; }
  if (*arg) { ax_dbg_out("Usage: profile [on|off]\n"); return; }
  if (!d->profiling && !d->nprof_layers) { ax_dbg_out("Profiling is off (profile on, then run or continue).\n"); return; }
  int order[PROF_LINES], n = 0;
  for (int i = 1; i < PROF_LINES; i++)
    if (d->prof_lines_n[i]) order[n++] = i;
  for (int i = 1; i < n; i++)   /* by time, descending (insertion sort: few lines) */
    for (int j = i; j > 0 && d->prof_lines_t[order[j]] > d->prof_lines_t[order[j - 1]]; j--) {
      int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
    }
  ax_dbg_out("per line of the main script (time until the next line event: natives count on the line that calls them; alloc: growth of live memory):\n");
  ax_dbg_out("  %-6s %8s %12s %12s\n", "line", "hits", "time ms", "alloc");
  for (int i = 0; i < n && i < 20; i++) {
    char a[32];
    fmt_bytes(d->prof_lines_alloc[order[i]], a, sizeof a);
    ax_dbg_out("  %-6d %8ld %12.3f %12s\n", order[i], d->prof_lines_n[order[i]], d->prof_lines_t[order[i]] * 1e3, a);
  }
  ax_dbg_out("per layer:\n");
  ax_dbg_out("  %-24s %8s %12s %12s\n", "layer", "calls", "time ms", "alloc");
  for (int i = 0; i < d->nprof_layers; i++) {
    char a[32];
    prof_layer *p = &d->prof_layers[i];
    fmt_bytes(p->alloc, a, sizeof a);
    ax_dbg_out("  %-24s %8ld %12.3f %12s\n", p->key, p->calls, p->secs * 1e3, a);
  }
  char pk[32];
  fmt_bytes(d->prof_peak, pk, sizeof pk);
  ax_dbg_out("peak memory while profiling: %s\n", pk);
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
    int fi = ax_dbg_sel_vm_frame(d, NULL);
    m = d->vm->frames[fi].closure->proto->module;
    center = ax_dbg_frame_line(d->vm, fi);
  }
  if (!m || !m->source) { ax_dbg_out("No source.\n"); return; }
  int from;
  if (*ax_dbg_skip_ws(arg)) from = atoi(ax_dbg_skip_ws(arg)) - 5;
  else if (next_line) from = next_line;
  else from = center ? center - 5 : 1;
  if (from < 1) from = 1;
  char text[512];
  int l;
  for (l = from; l < from + 10 && ax_dbg_source_line(m, l, text, sizeof text); l++) ax_dbg_out("%d\t%s\n", l, text);
  next_line = l;
  if (center && !*ax_dbg_skip_ws(arg)) next_line = l;
}

static void cmd_help(void) {
  ax_dbg_out("Running:     run (r) [restart], continue (c), step (s), next (n), finish, until (u) LINE, kill, quit (q)\n"
      "Breakpoints: break (b) [FILE:]LINE | FUNCTION | layer NAME [exit] [if COND], tbreak ...,\n"
      "             delete (d) [N...], disable [N...], enable [N...], info breakpoints (i b)\n"
      "Inspecting:  backtrace (bt), frame (f) N, up, down, print (p) EXPR, locals, globals, list (l) [LINE],\n"
      "             display EXPR, undisplay [N], watch EXPR\n"
      "Networks:    layer, grad NAME (a tensor, a network, or Net.layer.param)\n"
      "Anomalies:   catch nan (stop at the first NaN/Inf, forward or backward), catch off\n"
      "Profiling:   profile on|off, profile (report), memory (live tensors by size)\n");
}

/* ---- completion (terminal): command names first, then names in scope ---- */

static dbg *g_dbg;   /* libedit's completion callbacks carry no user pointer */
static bool g_first_word;

static const char *const command_names[] = {
  "run", "restart", "continue", "step", "next", "finish", "until", "kill", "quit", "break", "tbreak",
  "delete", "disable", "enable", "info", "backtrace", "frame", "up", "down", "print", "locals",
  "globals", "display", "undisplay", "watch", "list", "layer", "grad", "catch", "profile", "memory",
  "help", NULL};

static char *complete_gen(const char *text, int state) {
  static int idx, phase;
  static uint32_t pos;
  size_t n = strlen(text);
  if (state == 0) { idx = 0; phase = g_first_word ? 0 : 1; pos = 0; }
  if (phase == 0) {   /* the first word: a command */
    while (command_names[idx])
      if (strncmp(command_names[idx++], text, n) == 0) return strdup(command_names[idx - 1]);
    return NULL;
  }
  dbg *d = g_dbg;
  if (!d || !d->running || !d->vm) return NULL;
  ax_vm *vm = d->vm;
  int fi = ax_dbg_sel_vm_frame(d, NULL);
  if (phase == 1 && fi >= 0) {   /* live locals of the selected frame */
    ax_proto *p = vm->frames[fi].closure->proto;
    int pc = ax_dbg_frame_pc(vm, fi);
    while (idx < p->nlocvars) {
      ax_locvar *lv = &p->locvars[idx++];
      if (lv->startpc <= pc && pc < lv->endpc && strncmp(lv->name, text, n) == 0) return strdup(lv->name);
    }
  }
  phase = 2;
  ax_module *m = fi >= 0 ? vm->frames[fi].closure->proto->module : vm->main_module;
  ax_entry *e;
  while (m && ax_table_next(&m->names, &pos, &e))
    if (AX_IS_STRING(e->key) && strncmp(AX_AS_STRING(e->key)->chars, text, n) == 0) return strdup(AX_AS_STRING(e->key)->chars);
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)end;
  g_first_word = start == 0;
  rl_attempted_completion_over = 1;
  return rl_completion_matches(text, complete_gen);
}

/* Read one command; false at end of input. */
static bool read_cmd(dbg *d, char *buf, size_t n) {
  fflush(stdout);
  if (d->tty) {
    g_dbg = d;
    rl_completion_func_t *saved = rl_attempted_completion_function;   /* the REPL's, under :debug */
    rl_attempted_completion_function = complete;
    ax_interrupted = 0;
    char *line = readline("(anxdb) ");
    rl_attempted_completion_function = saved;
    if (!line && ax_interrupted) {   /* Ctrl-C at the prompt: drop the line, keep going */
      ax_interrupted = 0;
      ax_dbg_out("^C\n");
      snprintf(buf, n, "#");
      return true;
    }
    if (!line) return false;
    if (*line) add_history(line);
    snprintf(buf, n, "%s", line);
    free(line);
    return true;
  }
  if (!fgets(buf, (int)n, d->in)) return false;
  buf[strcspn(buf, "\r\n")] = 0;
  if (d->echo && buf[0] != '#') ax_dbg_out("(anxdb) %s\n", buf);
  return true;
}

static void set_mode(dbg *d, run_mode m) {
  d->mode = m;
  d->mode_depth = d->vm->nframes;
}

/* The command loop: returns when the program should go on (or end: d->end). At top level
** (program not running) it returns when the program should start, or at end of input. */
void ax_dbg_cmd_loop(dbg *d) {
  char line[512];
  for (;;) {
    ax_interrupted = 0;
    if (!read_cmd(d, line, sizeof line)) {
      d->end = END_QUIT;
      return;
    }
    const char *c = ax_dbg_skip_ws(line);
    if (*c == 0 && d->last_cmd[0]) c = d->last_cmd;
    else if (*c) snprintf(d->last_cmd, sizeof d->last_cmd, "%s", c);
    if (*c == 0 || *c == '#') continue;
    char word[64];
    int wl = 0;
    while (c[wl] && c[wl] != ' ' && wl < 63) { word[wl] = c[wl]; wl++; }
    word[wl] = 0;
    const char *arg = ax_dbg_skip_ws(c + wl);
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
      int fi = ax_dbg_sel_vm_frame(d, NULL);
      if (fi <= 0) { ax_dbg_out("\"finish\" not meaningful in the outermost frame.\n"); continue; }
      set_mode(d, M_FINISH);
      d->mode_depth = fi + 1;
      ax_dbg_out("Run till exit from ");
      ax_dbg_print_frame_head(d, fi);
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
          if (!d->disp[i].watch) ax_dbg_out("%d: %s\n", d->disp[i].id, d->disp[i].expr);
      } else ax_dbg_out("info breakpoints | locals | globals | frame | display\n");
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
        ax_dbg_out("Catchpoint: stop at the first NaN or Inf (ops, layer outputs, gradients after backward).\n");
      } else if (strcmp(arg, "off") == 0) {
        d->catch_nan = false;
        ax_dbg_out("Catchpoint deleted.\n");
      } else {
        ax_dbg_out("Usage: catch nan | catch off\n");
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
      ax_dbg_out("Undefined command: \"%s\".  Try \"help\".\n", word);
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
    ax_dbg_out("Breakpoint %d moved from line %d to line %d (the next line with code).\n", b->id, b->line, l);
    b->line = l;
  }
  free(has);
}

/* One run of the program in a fresh VM. */
static void run_program(dbg *d) {
  size_t len = 0;
  char *src = ax_read_file(d->file, &len);
  if (!src) { ax_dbg_out("%s: cannot read the file\n", d->file); d->end = END_KILL; return; }
  ax_vm *vm = anx_vm_new();
  if (!vm) { ax_free(src, len + 1); ax_dbg_out("out of memory\n"); d->end = END_QUIT; return; }
  anx_vm_set_args(vm, d->argc, d->argv);
  if ((d->policy && anx_vm_set_policy(vm, d->policy) != ANX_OK) || (d->device && anx_vm_set_device(vm, d->device) != ANX_OK)) {
    ax_free(src, len + 1);
    anx_vm_free(vm);
    d->end = END_QUIT;
    return;
  }
  ax_sandbox_set_script(vm, d->file);
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
    ax_dbg_out("[the program does not compile]\n");
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
  if (d->profiling) { d->prof_t = ax_dbg_now(); d->prof_mem = ax_mem_live(); d->prof_line = 0; }
  d->running = true;
  vm->debugger = d;
  m->state = 1;
  bool ok = ax_vm_run_proto(vm, p, NULL);
  m->state = 2;
  if (d->profiling) ax_dbg_prof_account(d);
  vm->debugger = NULL;
  d->running = false;
  if (d->end != END_NONE) {
    ax_vm_reset(vm);
    ax_interrupted = 0;
    if (d->end == END_KILL) ax_dbg_out("[program killed]\n");
  } else {
    int rc = ax_vm_finish(vm, ok);
    fflush(stderr);
    if (rc == 0) ax_dbg_out("[program exited normally]\n");
    else ax_dbg_out("[program exited with code %d]\n", rc);
  }
  anx_vm_free(vm);
  d->vm = NULL;
}

int ax_debug_main(const char *file, int argc, char **argv, const char *commands, const anx_policy *policy,
                  const char *device) {
  dbg *d = calloc(1, sizeof(dbg));
  if (!d) return 70;
  d->lines = calloc(AX_MAX_FRAMES + 2, sizeof(int));
  d->pcs = calloc(AX_MAX_FRAMES + 2, sizeof(int));
  if (!d->lines || !d->pcs) { free(d->lines); free(d->pcs); free(d); return 70; }
  d->file = file;
  d->argc = argc;
  d->argv = argv;
  d->policy = policy;
  d->device = device;
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
  ax_dbg_out("anx debugger on %s. Type \"help\" for commands, \"run\" to start.\n", file);
  for (;;) {
    d->end = END_NONE;
    ax_dbg_cmd_loop(d);
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

int ax_debug_args(const char *args, const anx_policy *policy, const char *device) {
  char buf[1024];
  char *argv[64];
  int argc = 0;
  snprintf(buf, sizeof buf, "%s", args);
  for (char *t = strtok(buf, " \t"); t && argc < 63; t = strtok(NULL, " \t")) argv[argc++] = t;
  if (argc == 0) {
    ax_dbg_out("usage: :debug FILE [ARGS]\n");
    return 64;
  }
  int rc = ax_debug_main(argv[0], argc - 1, argv + 1, NULL, policy, device);
  fflush(stdout);
  return rc;
}
