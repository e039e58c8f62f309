/* vm/module.c — import: native modules (eager tables or lazy init functions), stdlib modules
** embedded at build time, and files relative to the importer then along ANX_PATH; plus `os`.
** Files go through the sandbox gate (vm/sandbox.c) before they are looked at.
** Invariant: a module is cached (vm->modules) before it runs, so it runs once; a module that is
** still running when imported again is a circular import error. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"

ax_proto *ax_vm_compile_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                               bool repl, bool quiet, bool *incomplete);
char *ax_read_file(const char *path, size_t *len);

static bool cache(ax_vm *vm, ax_string *key, ax_module *m) {
  size_t before = ax_table_bytes(&vm->modules);
  if (ax_table_set(&vm->modules, ax_obj_value(key), ax_obj_value(m)) < 0) return ax_vm_oom(vm);
  vm->heap_bytes += ax_table_bytes(&vm->modules) - before;
  return true;
}

/* Compile and run `src` as module m (already cached). */
static bool run_module(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len) {
  m->source = ax_malloc(len + 1);
  if (!m->source) return ax_vm_oom(vm);
  memcpy(m->source, src, len);
  m->source[len] = 0;
  m->srclen = len;
  ax_proto *p = ax_vm_compile_source(vm, m, file, m->source, len, false, false, NULL);
  if (!p) return ax_vm_raise(vm, "compile", "module '%s' has compile errors (reported above)", m->name->chars);
  ax_vm_push_root(vm, ax_obj_value(p));
  m->state = 1;
  bool ok = ax_vm_run_proto(vm, p, NULL);
  ax_vm_pop_root(vm, 1);
  m->state = ok ? 2 : 3;
  if (!ok && ax_is_kind(vm->error, AX_O_ERROR)) {
    /* keep the error's own location (inside the module) */
  }
  return ok;
}

static const char *importer_path(ax_vm *vm) {
  for (int i = vm->nframes - 1; i >= 0; i--) {
    ax_module *m = vm->frames[i].closure->proto->module;
    if (m->path) return m->path->chars;
  }
  return NULL;
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Is cand a module file? Under --sandbox a candidate the sandbox denies is not even looked at (no
** probing for files outside); the first such one is kept in denied[] for the error message. */
static bool probe(ax_vm *vm, const char *cand, char *denied, size_t dsz) {
  char why[8];
  if (!ax_sandbox_allows(vm, cand, AX_FILE_IMPORT, why, sizeof why)) {
    if (!denied[0]) snprintf(denied, dsz, "%s", cand);
    return false;
  }
  return file_exists(cand);
}

/* Find `rel` next to the importer, then along ANX_PATH. */
static bool find_file(ax_vm *vm, const char *rel, char *out, size_t outsz, char *denied, size_t dsz) {
  denied[0] = 0;
  if (rel[0] == '/') {
    snprintf(out, outsz, "%s", rel);
    return probe(vm, out, denied, dsz);
  }
  const char *imp = importer_path(vm);
  if (imp) {
    const char *slash = strrchr(imp, '/');
    if (slash) snprintf(out, outsz, "%.*s/%s", (int)(slash - imp), imp, rel);
    else snprintf(out, outsz, "%s", rel);
  } else {
    snprintf(out, outsz, "%s", rel);
  }
  if (probe(vm, out, denied, dsz)) return true;
  const char *path = getenv("ANX_PATH");
  while (path && *path) {
    const char *colon = strchr(path, ':');
    size_t n = colon ? (size_t)(colon - path) : strlen(path);
    if (n) {
      snprintf(out, outsz, "%.*s/%s", (int)n, path, rel);
      if (probe(vm, out, denied, dsz)) return true;
    }
    path = colon ? colon + 1 : NULL;
  }
  return false;
}

static bool load_file_module(ax_vm *vm, const char *found, const char *display, ax_value *out) {
  char real[PATH_MAX];
  const char *key = realpath(found, real) ? real : found;
  ax_string *ks = ax_str_cstr(vm, key);
  if (!ks) return ax_vm_oom(vm);
  ax_value cached;
  if (ax_table_get_str(&vm->modules, ks, &cached)) {
    ax_module *m = AX_AS_MODULE(cached);
    if (m->state == 1) return ax_vm_raise(vm, "import", "circular import of '%s'", display);
    if (m->state == 3) return ax_vm_raise(vm, "import", "module '%s' failed to load earlier", display);
    *out = cached;
    return true;
  }
  if (!ax_vm_file_allowed(vm, found, AX_FILE_IMPORT)) return false;
  size_t len;
  char *src = ax_read_file(found, &len);
  if (!src && len == SIZE_MAX) return ax_vm_oom(vm);
  if (!src) return ax_vm_raise(vm, "import", "cannot read module '%s'", display);
  const char *base = strrchr(display, '/');
  base = base ? base + 1 : display;
  size_t bl = strlen(base);
  if (bl > 4 && strcmp(base + bl - 4, ".anx") == 0) bl -= 4;
  ax_string *name = ax_str_new(vm, base, bl);
  ax_string *path = ax_str_cstr(vm, found);
  ax_module *m = name && path ? ax_module_new(vm, name) : NULL;
  if (!m || !cache(vm, ks, m)) { ax_free(src, len + 1); return ax_vm_oom(vm); }
  m->path = path;
  bool ok = run_module(vm, m, found, src, len);
  ax_free(src, len + 1);
  if (!ok) return false;
  *out = ax_obj_value(m);
  return true;
}

bool ax_vm_import(ax_vm *vm, ax_string *name, bool is_path, ax_value *out) {
  char found[PATH_MAX], denied[PATH_MAX];
  if (is_path) {
    if (!find_file(vm, name->chars, found, sizeof found, denied, sizeof denied)) {
      if (denied[0]) return ax_vm_file_allowed(vm, denied, AX_FILE_IMPORT);   /* raises */
      return ax_vm_raise(vm, "import", "cannot find module file \"%s\" (looked next to the importing file and along ANX_PATH)", name->chars);
    }
    return load_file_module(vm, found, name->chars, out);
  }
  ax_value cached;
  if (ax_table_get_str(&vm->modules, name, &cached)) {
    ax_module *m = AX_AS_MODULE(cached);
    if (m->state == 1) return ax_vm_raise(vm, "import", "circular import of '%s'", name->chars);
    *out = cached;
    return true;
  }
  for (ax_modreg *r = vm->modregs; r; r = r->next) {
    if (strcmp(r->name, name->chars) != 0) continue;
    ax_module *m = ax_module_new(vm, name);
    if (!m || !cache(vm, name, m)) return ax_vm_oom(vm);
    m->state = 1;
    for (const ax_native_reg *g = r->regs; g && g->name; g++)
      if (!ax_module_set_native(vm, m, g->name, g->fn, g->arity)) return false;
    if (r->init && !r->init(vm, m)) { ax_table_remove(&vm->modules, ax_obj_value(name)); return false; }
    m->state = 2;
    *out = ax_obj_value(m);
    return true;
  }
  size_t len;
  const char *src = ax_stdlib_find(name->chars, &len);
  if (src) {
    ax_module *m = ax_module_new(vm, name);
    if (!m || !cache(vm, name, m)) return ax_vm_oom(vm);
    char file[300];
    snprintf(file, sizeof file, "<stdlib>/%s.anx", name->chars);
    m->path = ax_str_cstr(vm, file);
    if (!m->path) return ax_vm_oom(vm);
    if (!run_module(vm, m, file, src, len)) return false;
    *out = ax_obj_value(m);
    return true;
  }
  /* a dotted name a.b -> a/b.anx next to the importer or along ANX_PATH */
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, "%s.anx", name->chars);
  for (char *p = rel; *p && p < rel + strlen(rel) - 4; p++)
    if (*p == '.') *p = '/';
  /* (under --sandbox, candidates outside the allowed directories are skipped: "no module named") */
  if (find_file(vm, rel, found, sizeof found, denied, sizeof denied)) return load_file_module(vm, found, rel, out);
  /* suggest a close native or stdlib module name */
  const char *best = NULL;
  int bestd = 3;
  for (ax_modreg *r = vm->modregs; r; r = r->next) {
    int d = ax_edit_distance(name->chars, r->name, 2);
    if (d < bestd) { bestd = d; best = r->name; }
  }
  if (best) return ax_vm_raise(vm, "import", "no module named '%s' (did you mean '%s'?)", name->chars, best);
  return ax_vm_raise(vm, "import", "no module named '%s'", name->chars);
}

/* ---- os ---- */

static bool os_env(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *name;
  if (!ax_arg_count(vm, "env", argc, 1, 2) || !ax_arg_str(vm, "env", args, argc, 0, &name) ||
      !ax_vm_env_allowed(vm, "os.env()"))
    return false;
  const char *v = getenv(name->chars);
  if (!v) { *out = argc == 2 ? args[1] : AX_NIL; return true; }
  *out = ax_str_value(vm, v);
  return !AX_IS_NIL(*out);
}

static bool os_args(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = ax_list_new(vm, vm->argv->len);
  if (!l) return ax_vm_oom(vm);
  memcpy(l->items, vm->argv->items, sizeof(ax_value) * (size_t)vm->argv->len);
  l->len = vm->argv->len;
  *out = ax_obj_value(l);
  return true;
}

static bool os_exists(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *p;
  if (!ax_arg_str(vm, "exists", args, argc, 0, &p) || !ax_vm_file_allowed(vm, p->chars, AX_FILE_READ)) return false;
  struct stat st;
  *out = ax_bool(stat(p->chars, &st) == 0);
  return true;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool os_listdir(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *p = NULL;
  if (!ax_arg_count(vm, "listdir", argc, 0, 1)) return false;
  if (argc == 1 && !ax_arg_str(vm, "listdir", args, argc, 0, &p)) return false;
  if (!ax_vm_file_allowed(vm, p ? p->chars : ".", AX_FILE_READ)) return false;
  DIR *d = opendir(p ? p->chars : ".");
  if (!d) return ax_vm_raise(vm, "io", "listdir(): cannot open directory '%s'", p ? p->chars : ".");
  ax_list *l = ax_list_new(vm, 0);
  if (!l) { closedir(d); return ax_vm_oom(vm); }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    ax_string *s = ax_str_cstr(vm, e->d_name);
    if (!s || !ax_list_push(vm, l, ax_obj_value(s))) { closedir(d); return ax_vm_oom(vm); }
  }
  closedir(d);
  /* sorted, so scripts behave the same on every file system */
  char **names = ax_malloc(sizeof(char *) * (size_t)(l->len ? l->len : 1));
  if (!names) return ax_vm_oom(vm);
  for (int64_t i = 0; i < l->len; i++) names[i] = AX_AS_STRING(l->items[i])->chars;
  qsort(names, (size_t)l->len, sizeof(char *), cmp_names);
  for (int64_t i = 0; i < l->len; i++) l->items[i] = ax_obj_value((ax_string *)(names[i] - offsetof(ax_string, chars)));
  ax_free(names, sizeof(char *) * (size_t)(l->len ? l->len : 1));
  *out = ax_obj_value(l);
  return true;
}

static bool os_getcwd(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  char buf[PATH_MAX];
  if (!ax_vm_env_allowed(vm, "os.getcwd()")) return false;
  if (!getcwd(buf, sizeof buf)) return ax_vm_raise(vm, "io", "getcwd() failed");
  *out = ax_str_value(vm, buf);
  return !AX_IS_NIL(*out);
}

static const ax_native_reg os_regs[] = {
  {"env", os_env, -1}, {"args", os_args, 0}, {"exists", os_exists, 1}, {"listdir", os_listdir, -1},
  {"getcwd", os_getcwd, 0}, {NULL, NULL, 0}};

bool ax_natives_os_init(ax_vm *vm) { return ax_vm_register_module(vm, "os", os_regs); }
