/* vm/sandbox.c — the policy of a VM: --max-steps, and --sandbox with --allow-read/--allow-write.
** Invariant: every native that opens, stats, lists, writes or deletes a file for a script asks
** ax_vm_file_allowed (or ax_sandbox_allows) first, with the path as the script gave it; the test is
** on canonical paths (realpath), so neither `..` nor a symbolic link leads out of an allowed directory. */
#define _GNU_SOURCE   /* memrchr */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ax_mem.h"
#include "ax_vmint.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = ax_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static void free_str(char *s) {
  if (s) ax_free(s, strlen(s) + 1);
}

static void free_dirs(char **d, int n) {
  for (int i = 0; i < n; i++) free_str(d[i]);
  ax_free(d, sizeof(char *) * (size_t)(n ? n : 1));
}

void ax_sandbox_fini(ax_vm *vm) {
  ax_sandbox *sb = &vm->sandbox;
  if (sb->read) free_dirs(sb->read, sb->nread);
  if (sb->write) free_dirs(sb->write, sb->nwrite);
  free_str(sb->script_dir);
  memset(sb, 0, sizeof *sb);
}

/* Canonical directories from the command line: each must exist. false after a message. */
static bool canon_dirs(const char *opt, const char *const *in, int n, char ***out) {
  *out = ax_calloc((size_t)(n ? n : 1), sizeof(char *));
  if (!*out) { fprintf(stderr, "anx: out of memory\n"); return false; }
  for (int i = 0; i < n; i++) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(in[i], real) || stat(real, &st) != 0) {
      fprintf(stderr, "anx: %s '%s': %s\n", opt, in[i], strerror(errno));
      return false;
    }
    if (!S_ISDIR(st.st_mode)) {
      fprintf(stderr, "anx: %s '%s': not a directory\n", opt, in[i]);
      return false;
    }
    if (!((*out)[i] = dup_str(real))) { fprintf(stderr, "anx: out of memory\n"); return false; }
  }
  return true;
}

int anx_vm_set_policy(anx_vm *vm, const anx_policy *p) {
  ax_sandbox_fini(vm);
  vm->max_steps = p->max_steps > 0 ? p->max_steps : 0;
  vm->steps_left = vm->max_steps ? vm->max_steps : INT64_MAX;
  ax_sandbox *sb = &vm->sandbox;
  sb->policy = *p;
  if (!p->sandbox) return ANX_OK;
  sb->nread = p->nallow_read;
  sb->nwrite = p->nallow_write;
  if (!canon_dirs("--allow-read", p->allow_read, p->nallow_read, &sb->read) ||
      !canon_dirs("--allow-write", p->allow_write, p->nallow_write, &sb->write)) {
    ax_sandbox_fini(vm);   /* fail closed: a sandbox that allows nothing */
    sb->policy = *p;
    sb->on = true;
    return 64;
  }
  sb->on = true;
  return ANX_OK;
}

const anx_policy *ax_vm_policy(ax_vm *vm) { return &vm->sandbox.policy; }

void ax_sandbox_set_script(ax_vm *vm, const char *path) {
  ax_sandbox *sb = &vm->sandbox;
  if (!sb->on) return;
  free_str(sb->script_dir);
  sb->script_dir = NULL;
  char dir[PATH_MAX], real[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (realpath(dir, real)) sb->script_dir = dup_str(real);   /* NULL (no imports from there) on OOM */
}

/* ---- the test ---- */

static bool under(const char *p, const char *dir) {
  size_t n = strlen(dir);
  if (n == 1 && dir[0] == '/') return true;
  return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static bool under_any(const char *p, char **dirs, int n) {
  for (int i = 0; i < n; i++)
    if (under(p, dirs[i])) return true;
  return false;
}

/* The canonical absolute form of p, which need not exist: realpath of its longest existing
** prefix, then the rest. false when that cannot be known safely: the rest starts with something
** that exists but does not resolve (a dangling link, a loop) or holds "..", or it is too long. */
static bool resolve(const char *p, char out[PATH_MAX]) {
  char buf[PATH_MAX];
  int w;
  if (p[0] == '/') w = snprintf(buf, sizeof buf, "%s", p);
  else {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return false;
    w = snprintf(buf, sizeof buf, "%s/%s", cwd, p);
  }
  if (!p[0] || w < 0 || (size_t)w >= sizeof buf) return false;
  if (realpath(buf, out)) return true;
  size_t len = strlen(buf);
  while (len > 0) {
    char *slash = memrchr(buf, '/', len);
    if (!slash) return false;
    size_t cut = (size_t)(slash - buf);
    buf[cut] = 0;
    bool found = realpath(cut ? buf : "/", out) != NULL;
    buf[cut] = '/';
    if (!found) { len = cut; continue; }
    const char *rest = buf + cut + 1;
    /* the first missing component must really be missing (not a dangling symbolic link) */
    const char *end1 = strchr(rest, '/');
    char first[PATH_MAX];
    struct stat st;
    snprintf(first, sizeof first, "%.*s", (int)(end1 ? end1 - buf : (ptrdiff_t)strlen(buf)), buf);
    if (lstat(first, &st) == 0) return false;
    for (const char *c = rest; *c;) {
      const char *e = strchr(c, '/');
      size_t n = e ? (size_t)(e - c) : strlen(c);
      if (n == 2 && c[0] == '.' && c[1] == '.') return false;
      c += n + (e != NULL);
    }
    size_t ol = strlen(out);
    if (ol + 1 + strlen(rest) >= PATH_MAX) return false;
    if (ol > 1) out[ol++] = '/';
    strcpy(out + ol, rest);
    return true;
  }
  return false;
}

/* "DIR1, DIR2" or "none" */
static void list_dirs(char *buf, size_t n, char **a, int na, char **b, int nb, const char *first) {
  size_t k = 0;
  buf[0] = 0;
  if (first) k += (size_t)snprintf(buf + k, n - k, "%s", first);
  for (int i = 0; i < na + nb && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", i < na ? a[i] : b[i - na]);
  if (!buf[0]) snprintf(buf, n, "none");
}

static bool deny(ax_vm *vm, const char *path, const char *real, ax_file_access how, char *why, size_t n) {
  ax_sandbox *sb = &vm->sandbox;
  char allowed[1024], first[PATH_MAX + 32];
  const char *verb = how == AX_FILE_WRITE ? "writing" : how == AX_FILE_IMPORT ? "importing" : "reading";
  if (how == AX_FILE_WRITE) list_dirs(allowed, sizeof allowed, sb->write, sb->nwrite, NULL, 0, NULL);
  else {
    if (how == AX_FILE_IMPORT && sb->script_dir) snprintf(first, sizeof first, ".anx files under %s", sb->script_dir);
    list_dirs(allowed, sizeof allowed, sb->read, sb->nread, sb->write, sb->nwrite,
              how == AX_FILE_IMPORT && sb->script_dir ? first : NULL);
  }
  bool same = !real || strcmp(path, real) == 0;
  snprintf(why, n, "sandbox: %s '%s'%s%s%s is not allowed (allowed: %s; add %s DIR)", verb, path,
           same ? "" : " (", same ? "" : real, same ? "" : ")", allowed,
           how == AX_FILE_WRITE ? "--allow-write" : "--allow-read");
  return false;
}

bool ax_sandbox_allows(ax_vm *vm, const char *path, ax_file_access how, char *why, size_t n) {
  ax_sandbox *sb = &vm->sandbox;
  if (!sb->on) return true;
  char real[PATH_MAX];
  if (how != AX_FILE_WRITE) {
    if (!resolve(path, real)) return deny(vm, path, NULL, how, why, n);
    if (under_any(real, sb->read, sb->nread) || under_any(real, sb->write, sb->nwrite)) return true;
    if (how == AX_FILE_IMPORT && sb->script_dir && under(real, sb->script_dir)) {
      size_t l = strlen(real);
      if (l > 4 && strcmp(real + l - 4, ".anx") == 0) return true;
    }
    return deny(vm, path, real, how, why, n);
  }
  /* writing (or deleting): the canonical parent directory + the final name, which must be a name;
  ** a final symbolic link must point inside the write directories too */
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return deny(vm, path, NULL, how, why, n);
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
    if (!realpath(path, real) || !under_any(real, sb->write, sb->nwrite)) return deny(vm, path, NULL, how, why, n);
  }
  char dir[PATH_MAX];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else if ((size_t)(slash - path) >= sizeof dir) return deny(vm, path, NULL, how, why, n);
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (!resolve(dir, real)) return deny(vm, path, NULL, how, why, n);
  size_t rl = strlen(real);
  if (rl + 1 + strlen(name) >= sizeof real) return deny(vm, path, NULL, how, why, n);
  if (rl > 1) real[rl++] = '/';
  strcpy(real + rl, name);
  if (under_any(real, sb->write, sb->nwrite)) return true;
  return deny(vm, path, real, how, why, n);
}

bool ax_vm_file_allowed(ax_vm *vm, const char *path, ax_file_access how) {
  if (!vm->sandbox.on) return true;
  char why[PATH_MAX + 1200];
  if (ax_sandbox_allows(vm, path, how, why, sizeof why)) return true;
  return ax_vm_raise(vm, "sandbox", "%s", why);
}

bool ax_vm_env_allowed(ax_vm *vm, const char *what) {
  if (!vm->sandbox.on) return true;
  return ax_vm_raise(vm, "sandbox", "sandbox: %s is not allowed (a script run with --sandbox cannot read the "
                     "environment)", what);
}
