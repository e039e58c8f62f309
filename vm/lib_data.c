/* vm/lib_data.c — the `data` module: IDX/MNIST, npy, CSV, text and the batch loader.
** Files from outside are hostile: every reader goes through runtime/io, which checks sizes and
** names the file in its errors. Invariant: a loader never copies the dataset; batches are views
** (sequential) or one gathered copy per batch (shuffled), gathered ahead on a background thread
** (vm/data_prefetch.c) with the same rows, order and transform streams as without it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ax_io.h"
#include "ax_mem.h"
#include "ax_ops.h"
#include "lib_data.h"
#include "lib_tensor.h"
#include "data_aug.h"
#include "data_prefetch.h"

static bool raise_rt(ax_vm *vm, ax_status st, ax_err *e) { return ax_raise_rt(vm, st, e); }

static bool str_arg(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, const char **out) {
  ax_string *s;
  if (!ax_arg_str(vm, fn, args, argc, i, &s)) return false;
  *out = s->chars;
  return true;
}

/* ---- idx / mnist ---- */

static bool d_idx(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *path;
  if (!ax_arg_count(vm, "data.idx", argc, 1, 1) || !str_arg(vm, "data.idx", args, argc, 0, &path) ||
      !ax_vm_file_allowed(vm, path, AX_FILE_READ))
    return false;
  ax_tensor *t = NULL;
  ax_err e;
  ax_status st = ax_idx_load(path, &t, &e);
  if (st) return raise_rt(vm, st, &e);
  return ax_push_tensor(vm, t, out);
}

static bool pair_value(ax_vm *vm, ax_tensor *a, ax_tensor *b, ax_value *out) {
  ax_list *l = ax_list_new(vm, 2);
  if (!l) {
    ax_tensor_release(a);
    ax_tensor_release(b);
    return false;
  }
  ax_value lv = ax_obj_value(l), va, vb;
  ax_vm_push_root(vm, lv);
  bool ok = ax_push_tensor(vm, a, &va) && ax_list_push(vm, l, va);
  if (ok) ok = ax_push_tensor(vm, b, &vb) && ax_list_push(vm, l, vb);
  else ax_tensor_release(b);
  ax_vm_pop_root(vm, 1);
  *out = lv;
  return ok;
}

/* mnist(dir, split: "train"|"test", dtype: "float32"|"uint8") -> [x [N,1,28,28], y i64 [N]]:
** float32 in 0..1 (the default, LANGUAGE.md), or the raw uint8 pixels 0..255 (a quarter of the
** memory; convert per batch, as torchvision datasets do). */
static bool d_mnist(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"split", "dtype", NULL};
  const char *dir, *split = "train";
  ax_dtype xdt = AX_FLOAT32;
  ax_value v;
  if (!ax_kw_check(vm, "data.mnist", kw, allowed) || !ax_arg_count(vm, "data.mnist", argc, 1, 1) ||
      !str_arg(vm, "data.mnist", args, argc, 0, &dir) || !ax_vm_file_allowed(vm, dir, AX_FILE_READ))
    return false;
  if (ax_kw_get(kw, "split", &v)) {
    if (!AX_IS_STRING(v)) return ax_vm_raise(vm, "type", "data.mnist: split must be \"train\" or \"test\"");
    split = AX_AS_STRING(v)->chars;
  }
  if (ax_kw_get(kw, "dtype", &v)) {
    const char *dn = AX_IS_STRING(v) ? AX_AS_STRING(v)->chars : "";
    if (strcmp(dn, "float32") == 0 || strcmp(dn, "float") == 0) xdt = AX_FLOAT32;
    else if (strcmp(dn, "uint8") == 0) xdt = AX_UINT8;
    else return ax_vm_raise(vm, "value", "data.mnist: dtype must be \"float32\" or \"uint8\"");
  }
  const char *prefix;
  if (strcmp(split, "train") == 0) prefix = "train";
  else if (strcmp(split, "test") == 0) prefix = "t10k";
  else return ax_vm_raise(vm, "value", "data.mnist: split must be \"train\" or \"test\", got \"%s\"", split);
  char ipath[4096], lpath[4096];
  struct stat sb;
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
  if (stat(ipath, &sb) != 0) snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte", dir, prefix);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
  if (stat(lpath, &sb) != 0) snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", dir, prefix);
  if (!ax_vm_file_allowed(vm, ipath, AX_FILE_READ) || !ax_vm_file_allowed(vm, lpath, AX_FILE_READ)) return false;
  ax_tensor *x = NULL, *y = NULL;
  ax_err e;
  ax_status st = ax_idx_load_as(ipath, xdt, xdt == AX_FLOAT32 ? 1.0f / 255.0f : 1.0f, 1, &x, &e);
  if (!st) st = ax_idx_load_as(lpath, AX_INT64, 1.0f, 1, &y, &e);
  if (st) goto fail;
  if (x->ndim != 3 || y->ndim != 1) {
    st = ax_err_set(&e, AX_E_FORMAT, "%s: expected images [N, H, W] and labels [N]", dir);
    goto fail;
  }
  if (x->shape[0] != y->shape[0]) {
    st = ax_err_set(&e, AX_E_FORMAT, "%s: %lld images but %lld labels", dir, (long long)x->shape[0],
                    (long long)y->shape[0]);
    goto fail;
  }
  {
    int64_t xs[4] = {x->shape[0], 1, x->shape[1], x->shape[2]};
    ax_tensor *x4 = NULL;
    if ((st = ax_reshape(x, xs, 4, &x4, &e))) goto fail;
    ax_tensor_release(x);
    x = x4;
  }
  return pair_value(vm, x, y, out);
fail:
  ax_tensor_release(x);
  ax_tensor_release(y);
  return raise_rt(vm, st, &e);
}

/* ---- npy ---- */

static bool d_npy_load(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *path;
  if (!ax_arg_count(vm, "data.npy_load", argc, 1, 1) || !str_arg(vm, "data.npy_load", args, argc, 0, &path) ||
      !ax_vm_file_allowed(vm, path, AX_FILE_READ))
    return false;
  ax_tensor *t = NULL;
  ax_err e;
  ax_status st = ax_npy_load(path, &t, &e);
  if (st) return raise_rt(vm, st, &e);
  return ax_push_tensor(vm, t, out);
}

static bool d_npy_save(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *path;
  if (!ax_arg_count(vm, "data.npy_save", argc, 2, 2) || !str_arg(vm, "data.npy_save", args, argc, 0, &path) ||
      !ax_vm_file_allowed(vm, path, AX_FILE_WRITE))
    return false;
  ax_tensor *t = NULL;
  if (!ax_value_to_tensor(vm, "data.npy_save", args[1], AX_NDTYPES, &t)) return false;
  ax_err e;
  ax_status st = ax_npy_save(path, t, &e);
  ax_tensor_release(t);
  if (st) return raise_rt(vm, st, &e);
  *out = AX_NIL;
  return true;
}

/* ---- csv (RFC 4180: quoted fields, doubled quotes, CRLF) ---- */

typedef struct {
  const char *p, *end;
  int64_t line;
} csv_cur;

/* Parse one field into buf (NUL-terminated); *eol set at end of record. 0 ok, -1 error. */
static int csv_field(csv_cur *c, char *buf, size_t n, int *eol, const char **why) {
  size_t k = 0;
  *eol = 0;
  if (c->p < c->end && *c->p == '"') {
    c->p++;
    for (;;) {
      if (c->p >= c->end) { *why = "unterminated quoted field"; return -1; }
      char ch = *c->p++;
      if (ch == '"') {
        if (c->p < c->end && *c->p == '"') { ch = '"'; c->p++; }
        else break;
      }
      if (ch == '\n') c->line++;
      if (ch == 0) { *why = "NUL byte inside a field"; return -1; }
      if (k + 1 >= n) { *why = "field longer than 4095 bytes"; return -1; }
      buf[k++] = ch;
    }
  } else {
    while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
      if (*c->p == '"') { *why = "quote inside an unquoted field"; return -1; }
      if (*c->p == 0) { *why = "NUL byte inside a field"; return -1; }
      if (k + 1 >= n) { *why = "field longer than 4095 bytes"; return -1; }
      buf[k++] = *c->p++;
    }
  }
  buf[k] = 0;
  if (c->p >= c->end) { *eol = 1; return 0; }
  if (*c->p == ',') { c->p++; return 0; }
  if (*c->p == '\r') c->p++;
  if (c->p < c->end && *c->p == '\n') c->p++;
  else if (c->p < c->end) { *why = "garbage after a quoted field"; return -1; }
  c->line++;
  *eol = 1;
  return 0;
}

/* csv(path, label: name|index|nil, header: true) -> [x f32 [N, F], y (i64 when integral else f32)] or x */
static bool d_csv(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"label", "header", NULL};
  const char *path;
  if (!ax_kw_check(vm, "data.csv", kw, allowed) || !ax_arg_count(vm, "data.csv", argc, 1, 1) ||
      !str_arg(vm, "data.csv", args, argc, 0, &path) || !ax_vm_file_allowed(vm, path, AX_FILE_READ))
    return false;
  bool header = true;
  ax_value v, labelv = AX_NIL;
  if (ax_kw_get(kw, "header", &v) && !ax_vm_truthy(vm, v, &header)) return false;
  if (ax_kw_get(kw, "label", &v)) labelv = v;
  char *buf;
  size_t len;
  ax_err e;
  ax_status st = ax_file_read(path, (size_t)1 << 32, &buf, &len, &e);
  if (st) return raise_rt(vm, st, &e);
  csv_cur c = {buf, buf + len, 1};
  char field[4096];
  const char *why = NULL;
  int eol;
  int64_t ncols = 0, label_col = -1;
  double *vals = NULL;
  size_t nvals = 0, cap = 0;
  bool ok = false;
  /* header row: column names */
  if (header) {
    do {
      if (csv_field(&c, field, sizeof field, &eol, &why)) goto bad;
      if (AX_IS_STRING(labelv) && strcmp(field, AX_AS_STRING(labelv)->chars) == 0) label_col = ncols;
      ncols++;
    } while (!eol);
    if (AX_IS_STRING(labelv) && label_col < 0) {
      ax_vm_raise(vm, "value", "%s: no column named '%s' in the header", path, AX_AS_STRING(labelv)->chars);
      goto out;
    }
  }
  if (AX_IS_INT(labelv)) label_col = labelv.as.i;
  int64_t rows = 0;
  while (c.p < c.end) {
    if (*c.p == '\n' || *c.p == '\r') {   /* blank line */
      if (*c.p == '\r') c.p++;
      if (c.p < c.end && *c.p == '\n') c.p++;
      c.line++;
      continue;
    }
    int64_t col = 0;
    do {
      if (csv_field(&c, field, sizeof field, &eol, &why)) goto bad;
      char *endp;
      errno = 0;
      const char *s = field;
      while (isspace((unsigned char)*s)) s++;
      double d = strtod(s, &endp);
      while (isspace((unsigned char)*endp)) endp++;
      if (endp == s || *endp) {
        ax_vm_raise(vm, "format", "%s:%lld: column %lld is not a number: \"%s\"", path, (long long)c.line - eol,
                    (long long)col + 1, field);
        goto out;
      }
      if (nvals == cap) {
        size_t ncap = cap ? cap * 2 : 1024;
        double *nv = ax_realloc(vals, cap * sizeof(double), ncap * sizeof(double));
        if (!nv) { ax_vm_oom(vm); goto out; }
        vals = nv;
        cap = ncap;
      }
      vals[nvals++] = d;
      col++;
    } while (!eol);
    if (rows == 0 && !header) ncols = col;
    if (col != ncols) {
      ax_vm_raise(vm, "format", "%s:%lld: row has %lld fields, expected %lld", path, (long long)c.line - 1,
                  (long long)col, (long long)ncols);
      goto out;
    }
    rows++;
  }
  if (label_col >= ncols || (label_col < 0 && AX_IS_INT(labelv))) {
    ax_vm_raise(vm, "value", "%s: label column %lld out of range for %lld columns", path, (long long)label_col,
                (long long)ncols);
    goto out;
  }
  {
    int64_t nf = label_col >= 0 ? ncols - 1 : ncols;
    int64_t xs[2] = {rows, nf}, ys[1] = {rows};
    ax_tensor *x = NULL, *y = NULL;
    st = ax_tensor_empty(xs, 2, AX_FLOAT32, AX_CPU, &x, &e);
    if (st) { raise_rt(vm, st, &e); goto out; }
    float *xd = (float *)x->storage->data;
    int integral = 1;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t k = 0, j = 0; k < ncols; k++) {
        double d = vals[r * ncols + k];
        /* integral labels become int64: only when the value fits (1e19, inf: float labels) */
        if (k == label_col) { if (!(d == floor(d) && fabs(d) < 9.2e18)) integral = 0; continue; }
        xd[r * nf + j++] = (float)d;
      }
    if (label_col < 0) {
      ok = ax_push_tensor(vm, x, out);
      goto out;
    }
    st = ax_tensor_empty(ys, 1, integral ? AX_INT64 : AX_FLOAT32, AX_CPU, &y, &e);
    if (st) { ax_tensor_release(x); raise_rt(vm, st, &e); goto out; }
    for (int64_t r = 0; r < rows; r++) {
      double d = vals[r * ncols + label_col];
      if (integral) ((int64_t *)y->storage->data)[r] = (int64_t)d;
      else ((float *)y->storage->data)[r] = (float)d;
    }
    ok = pair_value(vm, x, y, out);
    goto out;
  }
bad:
  ax_vm_raise(vm, "format", "%s:%lld: %s", path, (long long)c.line, why);
out:
  ax_free(vals, cap * sizeof(double));
  ax_free(buf, len + 1);
  return ok;
}

/* ---- text ---- */

typedef struct {
  char *p;
  size_t len, cap;
} sbuf;

static bool sbuf_add(ax_vm *vm, sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *np = ax_realloc(b->p, b->cap, ncap);
    if (!np) return ax_vm_oom(vm);
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
  return true;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Append a file, or every regular file under a directory (sorted, recursive). */
static bool read_text(ax_vm *vm, const char *path, sbuf *b, int depth) {
  struct stat st;
  if (!ax_vm_file_allowed(vm, path, AX_FILE_READ)) return false;   /* each file: links inside may point out */
  if (stat(path, &st) != 0) return ax_vm_raise(vm, "io", "%s: %s", path, strerror(errno));
  if (S_ISREG(st.st_mode)) {
    char *buf;
    size_t len;
    ax_err e;
    ax_status s = ax_file_read(path, (size_t)1 << 31, &buf, &len, &e);
    if (s) return raise_rt(vm, s, &e);
    bool ok = sbuf_add(vm, b, buf, len);
    ax_free(buf, len + 1);
    return ok;
  }
  if (!S_ISDIR(st.st_mode) || depth > 8) return true;
  DIR *d = opendir(path);
  if (!d) return ax_vm_raise(vm, "io", "%s: %s", path, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  bool ok = true;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      char **nn = ax_realloc(names, cap * sizeof(char *), ncap * sizeof(char *));
      if (!nn) { ok = ax_vm_oom(vm); break; }
      names = nn;
      cap = ncap;
    }
    size_t l = strlen(path) + strlen(de->d_name) + 2;
    names[n] = ax_malloc(l);
    if (!names[n]) { ok = ax_vm_oom(vm); break; }
    snprintf(names[n], l, "%s/%s", path, de->d_name);
    n++;
  }
  closedir(d);
  if (ok) qsort(names, n, sizeof(char *), name_cmp);
  for (size_t i = 0; i < n; i++) {
    if (ok) ok = read_text(vm, names[i], b, depth + 1);
    ax_free(names[i], strlen(names[i]) + 1);
  }
  ax_free(names, cap * sizeof(char *));
  return ok;
}

static bool d_text(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *path;
  if (!ax_arg_count(vm, "data.text", argc, 1, 1) || !str_arg(vm, "data.text", args, argc, 0, &path)) return false;
  sbuf b = {0};
  bool ok = read_text(vm, path, &b, 0);
  if (ok) {
    ax_string *s = ax_str_new(vm, b.p ? b.p : "", b.len);
    ok = s != NULL;
    if (ok) *out = ax_obj_value(s);
  }
  ax_free(b.p, b.cap);
  return ok;
}

/* One "character" of text: a whole UTF-8 sequence, or a single byte when the bytes are not UTF-8. */
static size_t char_len(const unsigned char *p, size_t left) {
  unsigned c = p[0];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (n > left) return 1;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80) return 1;
  return n;
}

static bool d_char_vocab(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  if (!ax_arg_count(vm, "data.char_vocab", argc, 1, 1) || !ax_arg_str(vm, "data.char_vocab", args, argc, 0, &s))
    return false;
  /* Collect distinct characters, then sort them bytewise (= code point order for UTF-8). */
  ax_map *seen = ax_map_new(vm);
  if (!seen) return false;
  ax_vm_push_root(vm, ax_obj_value(seen));
  ax_list *l = ax_list_new(vm, 64);
  if (!l) { ax_vm_pop_root(vm, 1); return false; }
  ax_vm_push_root(vm, ax_obj_value(l));
  const unsigned char *p = (const unsigned char *)s->chars;
  bool ok = true;
  /* Fast path for single bytes: a 256-entry table. */
  char have[256] = {0};
  for (size_t i = 0; i < s->len && ok;) {
    size_t n = char_len(p + i, s->len - i);
    if (n == 1) {
      if (!have[p[i]]) {
        have[p[i]] = 1;
        ax_string *c = ax_str_new(vm, (const char *)p + i, 1);
        ok = c && ax_list_push(vm, l, ax_obj_value(c));
      }
    } else {
      ax_string *c = ax_str_new(vm, (const char *)p + i, n);
      ax_value already;   /* only its presence matters */
      if (!c) ok = false;
      else if (!ax_map_get_str(vm, seen, c->chars, &already))
        ok = ax_map_set(vm, seen, ax_obj_value(c), ax_bool(true)) && ax_list_push(vm, l, ax_obj_value(c));
    }
    i += n;
  }
  ax_vm_pop_root(vm, 2);
  if (!ok) return false;
  /* insertion sort is fine: vocabularies are small; compare bytewise */
  for (int64_t i = 1; i < l->len; i++) {
    ax_value key = l->items[i];
    ax_string *ks = AX_AS_STRING(key);
    int64_t j = i - 1;
    while (j >= 0) {
      ax_string *js = AX_AS_STRING(l->items[j]);
      size_t m = js->len < ks->len ? js->len : ks->len;
      int c = memcmp(js->chars, ks->chars, m);
      if (c < 0 || (c == 0 && js->len <= ks->len)) break;
      l->items[j + 1] = l->items[j];
      j--;
    }
    l->items[j + 1] = key;
  }
  *out = ax_obj_value(l);
  return true;
}

static bool vocab_index(ax_vm *vm, ax_value vocabv, ax_map **idx, int32_t byte_id[256]) {
  if (!AX_IS_LIST(vocabv)) return ax_vm_raise(vm, "type", "data.encode: vocab must be a list of characters");
  ax_list *vl = AX_AS_LIST(vocabv);
  *idx = ax_map_new(vm);
  if (!*idx) return false;
  for (int i = 0; i < 256; i++) byte_id[i] = -1;
  for (int64_t i = 0; i < vl->len; i++) {
    if (!AX_IS_STRING(vl->items[i])) return ax_vm_raise(vm, "type", "data.encode: vocab entries must be strings");
    ax_string *c = AX_AS_STRING(vl->items[i]);
    if (c->len == 1) byte_id[(unsigned char)c->chars[0]] = (int32_t)i;
    else if (!ax_map_set(vm, *idx, vl->items[i], ax_int(i))) return false;
  }
  return true;
}

static bool d_encode(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  if (!ax_arg_count(vm, "data.encode", argc, 2, 2) || !ax_arg_str(vm, "data.encode", args, argc, 0, &s)) return false;
  ax_map *idx = NULL;
  int32_t byte_id[256];
  if (!vocab_index(vm, args[1], &idx, byte_id)) return false;
  ax_vm_push_root(vm, ax_obj_value(idx));
  const unsigned char *p = (const unsigned char *)s->chars;
  int64_t n = 0;
  for (size_t i = 0; i < s->len; i += char_len(p + i, s->len - i)) n++;
  int64_t shape[1] = {n};
  ax_tensor *t = NULL;
  ax_err e;
  ax_status st = ax_tensor_empty(shape, 1, AX_INT64, AX_CPU, &t, &e);
  if (st) {
    ax_vm_pop_root(vm, 1);
    return raise_rt(vm, st, &e);
  }
  int64_t *d = (int64_t *)t->storage->data;
  int64_t k = 0;
  for (size_t i = 0; i < s->len;) {
    size_t cl = char_len(p + i, s->len - i);
    int64_t id = -1;
    if (cl == 1) id = byte_id[p[i]];
    else {
      ax_string *c = ax_str_new(vm, (const char *)p + i, cl);
      ax_value v;
      if (c && ax_map_get_str(vm, idx, c->chars, &v) && AX_IS_INT(v)) id = v.as.i;
    }
    if (id < 0) {
      ax_tensor_release(t);
      ax_vm_pop_root(vm, 1);
      return ax_vm_raise(vm, "value", "data.encode: character '%.*s' at offset %zu is not in the vocabulary",
                         (int)cl, (const char *)p + i, i);
    }
    d[k++] = id;
    i += cl;
  }
  ax_vm_pop_root(vm, 1);
  return ax_push_tensor(vm, t, out);
}

static bool d_decode(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "data.decode", argc, 2, 2)) return false;
  if (!AX_IS_LIST(args[1])) return ax_vm_raise(vm, "type", "data.decode: vocab must be a list of characters");
  ax_list *vl = AX_AS_LIST(args[1]);
  ax_tensor *t = NULL;
  if (!ax_value_to_tensor(vm, "data.decode", args[0], AX_INT64, &t)) return false;
  int64_t n = ax_numel(t);
  size_t bytes = (size_t)(n ? n : 1) * sizeof(int64_t);
  int64_t *ids = ax_malloc(bytes);
  ax_err e;
  if (!ids) { ax_tensor_release(t); return ax_vm_oom(vm); }
  ax_status st = ax_to_i64_buffer(t, ids, &e);
  ax_tensor_release(t);
  if (st) { ax_free(ids, bytes); return raise_rt(vm, st, &e); }
  sbuf b = {0};
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    if (ids[i] < 0 || ids[i] >= vl->len || !AX_IS_STRING(vl->items[ids[i]])) {
      ok = ax_vm_raise(vm, "index", "data.decode: id %lld out of range for a vocabulary of %lld", (long long)ids[i],
                       (long long)vl->len);
      break;
    }
    ax_string *c = AX_AS_STRING(vl->items[ids[i]]);
    ok = sbuf_add(vm, &b, c->chars, c->len);
  }
  ax_free(ids, bytes);
  if (ok) {
    ax_string *s = ax_str_new(vm, b.p ? b.p : "", b.len);
    ok = s != NULL;
    if (ok) *out = ax_obj_value(s);
  }
  ax_free(b.p, b.cap);
  return ok;
}

/* splitmix64: the loader's and lm_batch's own stream, reproducible from (seed, counter). */
uint64_t ax_data_mix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t ax_data_bounded(uint64_t *s, uint64_t n) {
  /* Lemire's unbiased multiply-shift rejection */
  uint64_t x = ax_data_mix64(s);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t l = (uint64_t)m;
  if (l < n) {
    uint64_t t = -n % n;
    while (l < t) {
      x = ax_data_mix64(s);
      m = (__uint128_t)x * n;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* lm_batch(ids, seq:, batch:, seed:) -> [x i64 [batch, seq], y i64 [batch, seq]] with y = x shifted by one. */
static bool d_lm_batch(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"seq", "batch", "seed", NULL};
  if (!ax_kw_check(vm, "data.lm_batch", kw, allowed) || !ax_arg_count(vm, "data.lm_batch", argc, 1, 1)) return false;
  ax_tensor *ids = ax_value_tensor(args[0]);
  if (!ids || ids->ndim != 1 || ax_dtype_is_float(ids->dtype))
    return ax_vm_raise(vm, "type", "data.lm_batch: ids must be a 1-d integer tensor");
  int64_t seq = 64, batch = 32, seedv = 0;
  ax_value v;
  if (ax_kw_get(kw, "seq", &v)) { if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "data.lm_batch: seq must be an int"); seq = v.as.i; }
  if (ax_kw_get(kw, "batch", &v)) { if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "data.lm_batch: batch must be an int"); batch = v.as.i; }
  if (ax_kw_get(kw, "seed", &v)) { if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "data.lm_batch: seed must be an int"); seedv = v.as.i; }
  int64_t n = ids->shape[0];
  if (seq < 1 || batch < 1) return ax_vm_raise(vm, "value", "data.lm_batch: seq and batch must be positive");
  if (n < seq + 1)
    return ax_vm_raise(vm, "value", "data.lm_batch: %lld ids are too few for seq %lld", (long long)n, (long long)seq);
  int64_t shape[2] = {batch, seq};
  ax_tensor *x = NULL, *y = NULL, *c = NULL;
  ax_err e;
  ax_status st = ax_host_copy(ids, &c, &e);   /* read on the host: ids on a device are downloaded */
  if (!st) st = ax_tensor_empty(shape, 2, AX_INT64, AX_CPU, &x, &e);
  if (!st) st = ax_tensor_empty(shape, 2, AX_INT64, AX_CPU, &y, &e);
  if (st) {
    ax_tensor_release(c); ax_tensor_release(x); ax_tensor_release(y);
    return raise_rt(vm, st, &e);
  }
  uint64_t s = (uint64_t)seedv * 0xD1B54A32D192ED03ull + 0x1234567ull;
  int64_t *xd = (int64_t *)x->storage->data, *yd = (int64_t *)y->storage->data;
  for (int64_t b = 0; b < batch; b++) {
    int64_t off = (int64_t)ax_data_bounded(&s, (uint64_t)(n - seq));
    for (int64_t t = 0; t < seq; t++) {
      int64_t i0[1] = {off + t}, i1[1] = {off + t + 1};
      xd[b * seq + t] = ax_get_i64(c, i0);
      yd[b * seq + t] = ax_get_i64(c, i1);
    }
  }
  ax_tensor_release(c);
  ax_device dev = ids->storage->device;   /* the batches go where the ids are */
  if (dev.type != AX_DEV_CPU) {
    ax_tensor *xd2 = NULL, *yd2 = NULL;
    st = ax_to(x, dev, &xd2, &e);
    if (!st) st = ax_to(y, dev, &yd2, &e);
    ax_tensor_release(x);
    ax_tensor_release(y);
    x = xd2;
    y = yd2;
    if (st) {
      ax_tensor_release(x);
      return raise_rt(vm, st, &e);
    }
  }
  return pair_value(vm, x, y, out);
}

/* ---- loader ---- */

typedef struct {
  ax_value x, y;          /* tensors (y may be nil) */
  ax_value transform;     /* callable, transform map (data.normalize ...), list of them, or nil */
  ax_value sampler;       /* sampler map (data.weighted, data.subset) or nil */
  int64_t n, batch;
  bool shuffle, drop_last;
  int64_t seed;
  int64_t epoch;          /* iterations started: shuffles differ per epoch */
  int prefetch;           /* batches gathered ahead on a background thread; 0: none */
  bool prefetch_auto;     /* no prefetch: given: 2 ahead, 1 when a batch is over PREFETCH_AUTO_BYTES */
} loader;

/* One batch ahead already hides the gathering; a second smooths an uneven worker but costs a whole
** batch of memory, which for big batches (an evaluation's 1000 images: 3 MB each) outweighs it. */
#define PREFETCH_AUTO_BYTES ((size_t)2 << 20)

static void l_finalize(ax_vm *vm, void *data) { ax_free(data, sizeof(loader)); }

static void l_mark(ax_vm *vm, void *data) {
  loader *l = data;
  ax_vm_mark_value(vm, l->x);
  ax_vm_mark_value(vm, l->y);
  ax_vm_mark_value(vm, l->transform);
  ax_vm_mark_value(vm, l->sampler);
}

static int64_t l_batches(const loader *l) {
  return l->drop_last ? l->n / l->batch : (l->n + l->batch - 1) / l->batch;
}

static int l_len(ax_vm *vm, ax_value self, int64_t *out) {
  *out = l_batches(ax_foreign_data(self, &ax_loader_class));
  return AX_HOOK_OK;
}

/* One pass over a loader: the state a for-loop (or train()) keeps rooted between batches. A pass
** that stops early (break, an error) is finalized at the next collection, which stops its thread;
** train() and evaluate() close theirs at once (ax_loader_iter_close). */
typedef struct {
  ax_value loader;        /* keeps the loader (sources, transform) alive while iterating */
  ax_value perm;          /* int64 [n]: this pass's row order, or nil: rows in sequence */
  int64_t next, nbatches;
  int64_t epoch;          /* this pass's number: seeds the data.* transform streams */
  ax_prefetch *pf;        /* the background gatherer, or NULL: batches are made on demand */
  bool pf_transform;      /* the gatherer runs the data.* transform */
  bool pf_y;              /* the gatherer gathers y (else y is a view made here) */
} loader_iter;

static void it_finalize(ax_vm *vm, void *data) {
  loader_iter *it = data;
  ax_prefetch_free(it->pf);   /* joins the thread: nothing else of the VM is touched here */
  ax_free(it, sizeof *it);
}

static void it_mark(ax_vm *vm, void *data) {
  loader_iter *it = data;
  ax_vm_mark_value(vm, it->loader);
  ax_vm_mark_value(vm, it->perm);
}

static const ax_foreign_class loader_iter_class = {
  .name = "loader iterator",
  .finalize = it_finalize,
  .mark = it_mark,
};

void ax_loader_iter_close(ax_value state) {
  loader_iter *it = ax_foreign_data(state, &loader_iter_class);
  if (!it) return;
  ax_prefetch_free(it->pf);   /* batches left, if iterated further, are made on demand */
  it->pf = NULL;
}

/* Rows the gatherer may copy as raw memory: on the CPU, contiguous, and not on the autograd tape
** (index_select of such a tensor records a gradient; a copy would not). */
static bool raw_rows(const ax_tensor *t) {
  return t->storage->device.type == AX_DEV_CPU && ax_is_contiguous(t) && !t->requires_grad;
}

/* Start the pass's gatherer when there is work for it: rows to gather in a shuffled/sampled order,
** or a data.* transform on float32 rows. Sequential batches without one are free views. */
static bool it_prefetch(ax_vm *vm, loader *l, loader_iter *it) {
  ax_tensor *tx = ax_value_tensor(l->x), *ty = ax_value_tensor(l->y);
  if (l->prefetch < 1 || it->nbatches < 1 || !raw_rows(tx) || (ty && !raw_rows(ty))) return true;
  bool ordered = !AX_IS_NIL(it->perm);
  bool on_worker = (AX_IS_MAP(l->transform) || AX_IS_LIST(l->transform)) && tx->dtype == AX_FLOAT32;
  if (!ordered && !on_worker) return true;
  ax_aug_plan plan;
  if (on_worker) {
    /* checked now against the first batch's shape: the errors a script sees at its first batch */
    int64_t shape[AX_MAX_DIMS];
    memcpy(shape, tx->shape, sizeof(int64_t) * (size_t)tx->ndim);
    shape[0] = l->n < l->batch ? l->n : l->batch;
    if (!ax_data_plan_compile(vm, l->transform, shape, tx->ndim, tx->dtype, &plan)) return false;
  }
  int depth = l->prefetch;
  if (l->prefetch_auto) {
    size_t row = on_worker ? (size_t)(plan.c * plan.oh * plan.ow) * sizeof(float)
                           : (size_t)(ax_numel(tx) / tx->shape[0]) * ax_dtype_size(tx->dtype);
    if ((double)row * (double)l->batch > (double)PREFETCH_AUTO_BYTES) depth = 1;
  }
  ax_prefetch_cfg cfg = {
    .x = tx, .y = ordered ? ty : NULL, .order = ordered ? ax_value_tensor(it->perm) : NULL,
    .count = l->n, .batch = l->batch, .nbatches = it->nbatches, .depth = depth,
    .plan = on_worker ? &plan : NULL, .seed = l->seed, .epoch = it->epoch,
  };
  it->pf = ax_prefetch_start(&cfg);
  if (on_worker) ax_data_plan_free(&plan);   /* empty when the gatherer took it over */
  it->pf_transform = on_worker;
  it->pf_y = ordered && ty;
  return true;
}

/* The first call of a pass: its row order (drawn here, on the main thread, from the loader's
** seed and epoch, so the order is the same with or without prefetching) and its gatherer. */
static bool it_start(ax_vm *vm, loader *l, ax_value self, ax_value *state) {
  loader_iter *it = ax_calloc(1, sizeof *it);
  if (!it) return ax_vm_oom(vm);
  it->loader = self;
  it->perm = AX_NIL;
  it->nbatches = l_batches(l);
  *state = ax_foreign_new(vm, &loader_iter_class, it);
  if (AX_IS_NIL(*state)) {
    ax_free(it, sizeof *it);
    return false;
  }
  uint64_t rs = (uint64_t)l->seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)(l->epoch + 1) * 0xD1B54A32D192ED03ull;
  if (l->shuffle || !AX_IS_NIL(l->sampler)) {
    int64_t shape[1] = {l->n};
    ax_tensor *p = NULL;
    ax_err e;
    ax_status s = ax_tensor_empty(shape, 1, AX_INT64, AX_CPU, &p, &e);
    if (s) return raise_rt(vm, s, &e);
    int64_t *d = (int64_t *)p->storage->data;
    if (!AX_IS_NIL(l->sampler)) {
      ax_tensor *tx0 = ax_value_tensor(l->x);
      if (!ax_data_sampler_order(vm, l->sampler, tx0->shape[0], l->shuffle, &rs, d, l->n)) {
        ax_tensor_release(p);
        return false;
      }
    } else {
      for (int64_t i = 0; i < l->n; i++) d[i] = i;
      for (int64_t i = l->n - 1; i > 0; i--) {
        int64_t j = (int64_t)ax_data_bounded(&rs, (uint64_t)i + 1);
        int64_t t = d[i]; d[i] = d[j]; d[j] = t;
      }
    }
    if (!ax_push_tensor(vm, p, &it->perm)) return false;
  }
  it->epoch = ++l->epoch;
  return it_prefetch(vm, l, it);
}

/* state: nil at the start, then the pass (loader_iter). */
static int l_iter(ax_vm *vm, ax_value self, ax_value *state, ax_value *out) {
  loader *l = ax_foreign_data(self, &ax_loader_class);
  if (AX_IS_NIL(*state) && !it_start(vm, l, self, state)) return AX_HOOK_ERR;
  loader_iter *it = ax_foreign_data(*state, &loader_iter_class);
  if (!it) {   /* only this hook makes the state; an internal caller passed something else */
    ax_vm_raise(vm, "type", "loader: bad iteration state (%s)", ax_type_name(*state));
    return AX_HOOK_ERR;
  }
  int64_t b = it->next;
  if (b >= it->nbatches) {
    ax_loader_iter_close(*state);
    return AX_HOOK_MISSING;
  }
  it->next = b + 1;
  int64_t start = b * l->batch, len = l->n - start < l->batch ? l->n - start : l->batch;
  ax_tensor *xb = NULL, *yb = NULL;
  ax_tensor *tx = ax_value_tensor(l->x), *ty = ax_value_tensor(l->y);
  ax_err e;
  ax_status s = AX_OK;
  bool transformed = false;
  /* a source written since the pass began: drop what was gathered ahead, read it afresh */
  if (it->pf && ax_prefetch_stale(it->pf)) ax_loader_iter_close(*state);
  if (it->pf) {
    s = ax_prefetch_take(it->pf, b, &xb, &yb, &e);
    transformed = it->pf_transform;
    if (!s && ty && !it->pf_y) s = ax_narrow(ty, 0, start, len, &yb, &e);
    if (s || b + 1 == it->nbatches) ax_loader_iter_close(*state);   /* the last batch: the thread is done */
  } else if (AX_IS_NIL(it->perm)) {
    s = ax_narrow(tx, 0, start, len, &xb, &e);
    if (!s && ty) s = ax_narrow(ty, 0, start, len, &yb, &e);
  } else {
    ax_tensor *perm = ax_value_tensor(it->perm), *idx = NULL, *ix = NULL, *iy = NULL;
    s = ax_narrow(perm, 0, start, len, &idx, &e);
    /* the order is drawn on the host; rows of a dataset on a device are gathered there */
    if (!s) s = ax_to(idx, tx->storage->device, &ix, &e);
    if (!s) s = ax_index_select(tx, 0, ix, &xb, &e);
    if (!s && ty) s = ax_to(idx, ty->storage->device, &iy, &e);
    if (!s && ty) s = ax_index_select(ty, 0, iy, &yb, &e);
    ax_tensor_release(idx);
    ax_tensor_release(ix);
    ax_tensor_release(iy);
  }
  if (s) {
    ax_tensor_release(xb);
    ax_tensor_release(yb);
    return raise_rt(vm, s, &e) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  ax_value xv;
  if (!ax_push_tensor(vm, xb, &xv)) {
    ax_tensor_release(yb);
    return AX_HOOK_ERR;
  }
  if (!transformed && !AX_IS_NIL(l->transform)) {
    /* the state may be new this call: root it too, a script transform can collect */
    ax_vm_push_root(vm, *state);
    ax_vm_push_root(vm, xv);
    bool ok;
    if (AX_IS_MAP(l->transform) || AX_IS_LIST(l->transform)) {
      /* data.* transforms: a stream per (seed, pass, batch), so runs repeat exactly */
      uint64_t rs = ax_data_batch_stream(l->seed, it->epoch, b);
      ax_tensor *t = NULL;
      ok = ax_data_apply_transform(vm, l->transform, ax_value_tensor(xv), &rs, &t) && ax_push_tensor(vm, t, &xv);
    } else {
      ok = ax_vm_call(vm, l->transform, 1, &xv, NULL, &xv);
    }
    ax_vm_pop_root(vm, 2);
    if (!ok) {
      ax_tensor_release(yb);
      return AX_HOOK_ERR;
    }
  }
  if (!ty) {
    *out = xv;
    return AX_HOOK_OK;
  }
  ax_list *pair = ax_list_new(vm, 2);
  if (!pair) {
    ax_tensor_release(yb);
    return AX_HOOK_ERR;
  }
  ax_value pv = ax_obj_value(pair), yv;
  ax_vm_push_root(vm, pv);
  bool ok = ax_list_push(vm, pair, xv) && ax_push_tensor(vm, yb, &yv) && ax_list_push(vm, pair, yv);
  ax_vm_pop_root(vm, 1);
  *out = pv;
  return ok ? AX_HOOK_OK : AX_HOOK_ERR;
}

static int l_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  loader *l = ax_foreign_data(self, &ax_loader_class);
  if (strcmp(name->chars, "batch_size") == 0) { *out = ax_int(l->batch); return AX_HOOK_OK; }
  if (strcmp(name->chars, "size") == 0) { *out = ax_int(l->n); return AX_HOOK_OK; }
  if (strcmp(name->chars, "x") == 0) { *out = l->x; return AX_HOOK_OK; }
  if (strcmp(name->chars, "y") == 0) { *out = l->y; return AX_HOOK_OK; }
  if (strcmp(name->chars, "prefetch") == 0) { *out = ax_int(l->prefetch); return AX_HOOK_OK; }
  return AX_HOOK_MISSING;
}

static bool l_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  loader *l = ax_foreign_data(self, &ax_loader_class);
  ax_string *s = ax_str_fmt(vm, "<loader %lld samples, batch %lld%s>", (long long)l->n, (long long)l->batch,
                            l->shuffle ? ", shuffled" : "");
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_loader_class = {
  .name = "loader",
  .finalize = l_finalize,
  .mark = l_mark,
  .tostring = l_tostring,
  .get_field = l_get_field,
  .len = l_len,
  .iter = l_iter,
};

bool ax_loader_new(ax_vm *vm, ax_value x, ax_value y, int64_t batch, bool shuffle, int64_t seed, ax_value *out) {
  ax_tensor *tx = ax_value_tensor(x), *ty = ax_value_tensor(y);
  if (!tx || tx->ndim == 0) return ax_vm_raise(vm, "type", "loader: x must be a tensor with a batch dimension");
  if (ty && (ty->ndim == 0 || ty->shape[0] != tx->shape[0]))
    return ax_vm_raise(vm, "shape", "loader: x has %lld samples but y has %lld", (long long)tx->shape[0],
                       (long long)(ty->ndim ? ty->shape[0] : 0));
  if (batch < 1) return ax_vm_raise(vm, "value", "loader: batch must be positive");
  loader *l = ax_calloc(1, sizeof *l);
  if (!l) return ax_vm_oom(vm);
  l->x = x;
  l->y = ty ? y : AX_NIL;
  l->transform = AX_NIL;
  l->sampler = AX_NIL;
  l->n = tx->shape[0];
  l->batch = batch;
  l->shuffle = shuffle;
  l->seed = seed;
  l->prefetch = 2;
  l->prefetch_auto = true;
  *out = ax_foreign_new(vm, &ax_loader_class, l);
  if (AX_IS_NIL(*out)) {
    ax_free(l, sizeof *l);
    return false;
  }
  return true;
}

static bool d_loader(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"batch", "batch_size", "shuffle", "seed", "drop_last", "transform", "sampler",
                                        "prefetch", NULL};
  if (!ax_kw_check(vm, "data.loader", kw, allowed) || !ax_arg_count(vm, "data.loader", argc, 1, 2)) return false;
  ax_tensor *tx = ax_value_tensor(args[0]), *ty = argc > 1 ? ax_value_tensor(args[1]) : NULL;
  if (!tx) return ax_vm_raise(vm, "type", "data.loader: x must be a tensor, got %s", ax_type_name(args[0]));
  if (argc > 1 && !ty && !AX_IS_NIL(args[1]))
    return ax_vm_raise(vm, "type", "data.loader: y must be a tensor, got %s", ax_type_name(args[1]));
  if (tx->ndim == 0) return ax_vm_raise(vm, "shape", "data.loader: x must have a batch dimension");
  if (ty && (ty->ndim == 0 || ty->shape[0] != tx->shape[0]))
    return ax_vm_raise(vm, "shape", "data.loader: x has %lld samples but y has %lld", (long long)tx->shape[0],
                       (long long)(ty->ndim ? ty->shape[0] : 0));
  loader *l = ax_calloc(1, sizeof *l);
  if (!l) return ax_vm_oom(vm);
  l->x = args[0];
  l->y = ty ? args[1] : AX_NIL;
  l->transform = AX_NIL;
  l->n = tx->shape[0];
  l->batch = 32;
  l->prefetch = 2;
  l->prefetch_auto = true;
  ax_value v;
  bool ok = true;
  if ((ax_kw_get(kw, "batch", &v) || ax_kw_get(kw, "batch_size", &v))) {
    if (!AX_IS_INT(v) || v.as.i < 1) ok = ax_vm_raise(vm, "value", "data.loader: batch must be a positive int");
    else l->batch = v.as.i;
  }
  if (ok && ax_kw_get(kw, "shuffle", &v)) ok = ax_vm_truthy(vm, v, &l->shuffle);
  if (ok && ax_kw_get(kw, "drop_last", &v)) ok = ax_vm_truthy(vm, v, &l->drop_last);
  if (ok && ax_kw_get(kw, "seed", &v)) {
    if (!AX_IS_INT(v)) ok = ax_vm_raise(vm, "type", "data.loader: seed must be an int");
    else l->seed = v.as.i;
  }
  if (ok && ax_kw_get(kw, "prefetch", &v)) {
    if (!AX_IS_INT(v) || v.as.i < 0 || v.as.i > AX_PREFETCH_MAX_DEPTH)
      ok = ax_vm_raise(vm, "value", "data.loader: prefetch must be an int from 0 (off) to %d", AX_PREFETCH_MAX_DEPTH);
    else {
      l->prefetch = (int)v.as.i;
      l->prefetch_auto = false;
    }
  }
  if (ok && ax_kw_get(kw, "transform", &v)) l->transform = v;
  l->sampler = AX_NIL;
  if (ok && ax_kw_get(kw, "sampler", &v) && !AX_IS_NIL(v)) {
    if (AX_IS_STRING(v) && !strcmp(AX_AS_STRING(v)->chars, "random")) l->shuffle = true;
    else if (AX_IS_STRING(v) && !strcmp(AX_AS_STRING(v)->chars, "sequential")) l->shuffle = false;
    else if ((ok = ax_data_sampler_size(vm, v, l->n, &l->n))) l->sampler = v;
  }
  if (!ok) {
    ax_free(l, sizeof *l);
    return false;
  }
  *out = ax_foreign_new(vm, &ax_loader_class, l);
  if (AX_IS_NIL(*out)) {
    ax_free(l, sizeof *l);
    return false;
  }
  return true;
}

static const ax_native_reg data_fns[] = {
  {"idx", d_idx, 1},
  {"mnist", d_mnist, -1},
  {"npy_load", d_npy_load, 1},
  {"npy_save", d_npy_save, 2},
  {"csv", d_csv, -1},
  {"text", d_text, 1},
  {"char_vocab", d_char_vocab, 1},
  {"encode", d_encode, 2},
  {"decode", d_decode, 2},
  {"lm_batch", d_lm_batch, -1},
  {"loader", d_loader, -1},
  {"normalize", ax_data_normalize, -1},
  {"random_flip", ax_data_random_flip, -1},
  {"random_crop", ax_data_random_crop, -1},
  {"center_crop", ax_data_center_crop, -1},
  {"resize", ax_data_resize, -1},
  {"random_rotation", ax_data_random_rotation, -1},
  {"color_jitter", ax_data_color_jitter, -1},
  {"compose", ax_data_compose, -1},
  {"weighted", ax_data_weighted, -1},
  {"subset", ax_data_subset, -1},
  {NULL, NULL, 0},
};

bool ax_lib_data_open(ax_vm *vm) { return ax_vm_register_module(vm, "data", data_fns); }
