/* runtime/ax_print.c — PyTorch-style tensor repr (torch/_tensor_str.py): one formatter per
** tensor picks fixed (%.4f) or scientific (%.4e) notation and a common width from the printed
** elements; 80-column lines; past 1000 elements only 3 edge items per dim with "...".
** A tensor on a device prints from a CPU copy of the elements shown (printed_on_host).
** Deviation (LANGUAGE.md section 3): integral floats print as 1.0000, not PyTorch's "1.". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"

#define PRECISION 4
#define THRESHOLD 1000
#define EDGE 3
#define LINEWIDTH 80

ax_status ax_strbuf_append(ax_strbuf *sb, const char *s, size_t n, ax_err *err) {
  if (sb->len + n + 1 > sb->cap) {
    size_t nc = sb->cap ? sb->cap : 256;
    while (sb->len + n + 1 > nc) nc *= 2;
    char *p = ax_realloc(sb->p, sb->cap, nc);
    if (!p) return ax_err_set(err, AX_E_NOMEM, "print: out of memory");
    sb->p = p;
    sb->cap = nc;
  }
  memcpy(sb->p + sb->len, s, n);
  sb->len += n;
  sb->p[sb->len] = 0;
  return AX_OK;
}

void ax_strbuf_free(ax_strbuf *sb) {
  ax_free(sb->p, sb->cap);
  sb->p = NULL;
  sb->len = sb->cap = 0;
}

static ax_status puts_(ax_strbuf *sb, const char *s, ax_err *err) { return ax_strbuf_append(sb, s, strlen(s), err); }

/* 1: PyTorch's "int mode" (floats that are all integral print as "1."); anx prints 1.0000. */
static int torch_int_mode;
void ax_print_set_int_mode(int on) { torch_int_mode = on != 0; }

typedef struct {
  int kind;          /* 0 float, 1 int, 2 bool */
  int intmode;       /* float tensor printed in PyTorch's int mode */
  int sci;
  int width;
  /* pass 1 statistics over nonzero finite values */
  double amin, amax;
  int any, nonint;
  /* where the printed elements are read: the tensor itself on the CPU; for a tensor on a device a
  ** CPU copy of only the printed elements, whose dim d lacks cut[d] middle entries (summarised) */
  const ax_tensor *h;
  int64_t cut[AX_MAX_DIMS];
} fmt;

static const ax_tensor *host_idx(const fmt *f, const int64_t *idx, int64_t *hidx) {
  for (int d = 0; d < f->h->ndim; d++) hidx[d] = idx[d] >= EDGE && f->cut[d] ? idx[d] - f->cut[d] : idx[d];
  return f->h;
}
static double fget(const fmt *f, const int64_t *idx) {
  int64_t h[AX_MAX_DIMS];
  return ax_get_f64(host_idx(f, idx, h), h);
}
static int64_t fgeti(const fmt *f, const int64_t *idx) {
  int64_t h[AX_MAX_DIMS];
  return ax_get_i64(host_idx(f, idx, h), h);
}

static void format_value(const fmt *f, double v, int64_t iv, char *buf, size_t n) {
  if (f->kind == 2) { snprintf(buf, n, "%s", iv ? "True" : "False"); return; }
  if (f->kind == 1) { snprintf(buf, n, "%lld", (long long)iv); return; }
  if (isnan(v)) snprintf(buf, n, "nan");
  else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
  else if (f->sci) snprintf(buf, n, "%.*e", PRECISION, v);
  else if (f->intmode) snprintf(buf, n, "%.0f.", v);
  else snprintf(buf, n, "%.*f", PRECISION, v);
}

/* Visit the printed elements (all, or the summarised edges) in order. */
typedef void (*visit_fn)(void *ctx, const ax_tensor *t, const int64_t *idx);
static void walk(const ax_tensor *t, int d, int64_t *idx, int summarize, visit_fn fn, void *ctx) {
  if (d == t->ndim) { fn(ctx, t, idx); return; }
  int64_t n = t->shape[d];
  for (int64_t i = 0; i < n; i++) {
    if (summarize && n > 2 * EDGE && i == EDGE) i = n - EDGE;
    idx[d] = i;
    walk(t, d + 1, idx, summarize, fn, ctx);
  }
}

static void stat_visit(void *ctx, const ax_tensor *t, const int64_t *idx) {
  fmt *f = ctx;
  if (f->kind != 0) return;
  double v = fabs(fget(f, idx));
  if (!isfinite(v) || v == 0) return;
  if (v != ceil(v)) f->nonint = 1;
  if (!f->any || v < f->amin) f->amin = v;
  if (!f->any || v > f->amax) f->amax = v;
  f->any = 1;
}

static void width_visit(void *ctx, const ax_tensor *t, const int64_t *idx) {
  fmt *f = ctx;
  char b[64];
  double v = 0;
  int64_t iv = 0;
  if (f->kind == 0) {
    v = fget(f, idx);
    if (!isfinite(v) || v == 0) return;   /* PyTorch sizes the columns on nonzero finite values */
  } else {
    iv = fgeti(f, idx);
  }
  format_value(f, v, iv, b, sizeof b);
  int w = (int)strlen(b);
  if (w > f->width) f->width = w;
}

static ax_status elem_str(const fmt *f, const ax_tensor *t, const int64_t *idx, char *out, size_t n) {
  char b[64];
  if (f->kind == 0) format_value(f, fget(f, idx), 0, b, sizeof b);
  else format_value(f, 0, fgeti(f, idx), b, sizeof b);
  int pad = f->width - (int)strlen(b);
  snprintf(out, n, "%*s%s", pad > 0 ? pad : 0, "", b);
  return AX_OK;
}

static ax_status emit(ax_strbuf *sb, const ax_tensor *t, int d, int64_t *idx, int indent, int summarize,
                      const fmt *f, ax_err *err) {
  ax_status s;
  char b[96];
  int64_t n = t->shape[d];
  if (d == t->ndim - 1) {   /* a row: wrap at 80 columns */
    int per_line = (LINEWIDTH - indent) / (f->width + 2);
    if (per_line < 1) per_line = 1;
    if ((s = puts_(sb, "[", err))) return s;
    int col = 0;
    for (int64_t i = 0; i < n; i++) {
      if (i > 0) {
        if (col == per_line) {
          if ((s = puts_(sb, ",\n", err))) return s;
          for (int k = 0; k <= indent; k++) if ((s = puts_(sb, " ", err))) return s;
          col = 0;
        } else if ((s = puts_(sb, ", ", err))) return s;
      }
      if (summarize && n > 2 * EDGE && i == EDGE) {
        if ((s = puts_(sb, " ...", err))) return s;
        col++;
        i = n - EDGE - 1;
        continue;
      }
      idx[d] = i;
      elem_str(f, t, idx, b, sizeof b);
      if ((s = puts_(sb, b, err))) return s;
      col++;
    }
    return puts_(sb, "]", err);
  }
  if ((s = puts_(sb, "[", err))) return s;
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) {   /* separator: ",", then ndim-1-d newlines, then indent+1 spaces */
      if ((s = puts_(sb, ",", err))) return s;
      for (int k = 0; k < t->ndim - 1 - d; k++) if ((s = puts_(sb, "\n", err))) return s;
      for (int k = 0; k <= indent; k++) if ((s = puts_(sb, " ", err))) return s;
    }
    if (summarize && n > 2 * EDGE && i == EDGE) {
      if ((s = puts_(sb, "...", err))) return s;
      i = n - EDGE - 1;
      continue;
    }
    idx[d] = i;
    if ((s = emit(sb, t, d + 1, idx, indent + 1, summarize, f, err))) return s;
  }
  return puts_(sb, "]", err);
}

static void grad_fn_name(const char *op, char *out, size_t n) {
  size_t k = 0;
  int up = 1;
  for (const char *p = op; *p && k + 12 < n; p++) {
    if (*p == '_') { up = 1; continue; }
    out[k++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
    up = 0;
  }
  snprintf(out + k, n - k, "Backward0");
}

static ax_status body(const ax_tensor *t, const ax_tensor *h, const int64_t *cut, ax_strbuf *sb, ax_err *err) {
  ax_status s;
  int64_t numel = ax_numel(t), idx[AX_MAX_DIMS] = {0};
  const char *prefix = "tensor(";
  int indent = (int)strlen(prefix);
  if ((s = puts_(sb, prefix, err))) return s;
  char suffix[4][96];
  int ns = 0;
  if (t->storage->device.type != AX_DEV_CPU) {
    char d[32];
    ax_device_format(t->storage->device, d, sizeof d);
    snprintf(suffix[ns++], sizeof suffix[0], "device='%s'", d);
  }
  if (numel == 0) {
    if ((s = puts_(sb, "[]", err))) return s;
    if (t->ndim != 1) {
      char sh[80];
      size_t k = (size_t)snprintf(sh, sizeof sh, "size=(");
      for (int i = 0; i < t->ndim && k < sizeof sh; i++)
        k += (size_t)snprintf(sh + k, sizeof sh - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
      if (k < sizeof sh) snprintf(sh + k, sizeof sh - k, t->ndim == 1 ? ",)" : ")");
      snprintf(suffix[ns++], sizeof suffix[0], "%s", sh);
    }
    if (t->dtype != AX_DEFAULT_FLOAT) snprintf(suffix[ns++], sizeof suffix[0], "dtype=%s", ax_dtype_name(t->dtype));
  } else {
    fmt f = {0};
    f.h = h;
    memcpy(f.cut, cut, sizeof f.cut);
    f.kind = ax_dtype_is_float(t->dtype) ? 0 : (t->dtype == AX_BOOL ? 2 : 1);
    f.width = 1;
    int summarize = numel > THRESHOLD;
    walk(t, 0, idx, summarize, stat_visit, &f);
    if (f.kind == 0 && torch_int_mode && !f.nonint) {
      f.intmode = 1;
      f.sci = f.any && (f.amax / f.amin > 1000.0 || f.amax > 1.0e8);
    } else if (f.kind == 0 && f.any) {
      f.sci = f.amax / f.amin > 1000.0 || f.amax > 1.0e8 || f.amin < 1.0e-4;
    }
    walk(t, 0, idx, summarize, width_visit, &f);
    if (t->ndim == 0) {
      char b[96];
      elem_str(&f, t, idx, b, sizeof b);
      const char *p = b;
      while (*p == ' ') p++;   /* scalars are not padded */
      if ((s = puts_(sb, p, err))) return s;
    } else if ((s = emit(sb, t, 0, idx, indent, summarize, &f, err))) {
      return s;
    }
    if (t->dtype != AX_DEFAULT_FLOAT && t->dtype != AX_INT64 && t->dtype != AX_BOOL)
      snprintf(suffix[ns++], sizeof suffix[0], "dtype=%s", ax_dtype_name(t->dtype));
  }
  if (t->node) {
    char g[64];
    grad_fn_name(ax_op_name(t->node->op), g, sizeof g);
    snprintf(suffix[ns++], sizeof suffix[0], "grad_fn=<%s>", g);
  } else if (t->requires_grad) {
    snprintf(suffix[ns++], sizeof suffix[0], "requires_grad=True");
  }
  /* torch _add_suffixes: wrap a suffix onto its own line when it would pass 80 columns */
  const char *nl = strrchr(sb->p, '\n');
  size_t last = nl ? (size_t)(sb->p + sb->len - nl) + 1 : sb->len + 2;
  for (int i = 0; i < ns; i++) {
    size_t L = strlen(suffix[i]);
    if (last + L + 2 > LINEWIDTH) {
      if ((s = puts_(sb, ",\n", err))) return s;
      for (int k = 0; k < indent; k++) if ((s = puts_(sb, " ", err))) return s;
      last = (size_t)indent + L;
    } else {
      if ((s = puts_(sb, ", ", err))) return s;
      last += L + 2;
    }
    if ((s = puts_(sb, suffix[i], err))) return s;
  }
  return puts_(sb, ")", err);
}

/* The elements a print of t on a device shows, on the CPU: past THRESHOLD elements only the EDGE
** first and last entries of each long dim (cut[d] entries left out between them), gathered on the
** device with narrow + cat, so printing a large device tensor downloads a few dozen elements. */
static ax_status printed_on_host(const ax_tensor *t, ax_tensor **out, int64_t *cut, ax_err *err) {
  ax_tensor *x = ax_tensor_retain((ax_tensor *)t);
  ax_status s = AX_OK;
  int grad = ax_grad_enabled();
  ax_dtype ac = ax_autocast_dtype();
  ax_set_grad_enabled(0);
  ax_autocast_set(AX_NDTYPES);
  if (ax_numel(t) > THRESHOLD)
    for (int d = 0; d < t->ndim && !s; d++) {
      int64_t n = t->shape[d];
      if (n <= 2 * EDGE) continue;
      ax_tensor *part[2] = {NULL, NULL}, *c = NULL;
      s = ax_narrow(x, d, 0, EDGE, &part[0], err);
      if (!s) s = ax_narrow(x, d, n - EDGE, EDGE, &part[1], err);
      if (!s) s = ax_cat(part, 2, d, &c, err);
      ax_tensor_release(part[0]);
      ax_tensor_release(part[1]);
      if (!s) {
        ax_tensor_release(x);
        x = c;
        cut[d] = n - 2 * EDGE;
      }
    }
  if (!s) s = ax_host_copy(x, out, err);
  ax_tensor_release(x);
  ax_set_grad_enabled(grad);
  ax_autocast_set(ac);
  return s;
}

ax_status ax_tensor_format(const ax_tensor *t, ax_strbuf *sb, ax_err *err) {
  int64_t cut[AX_MAX_DIMS] = {0};
  ax_tensor *h = NULL;
  ax_status s = AX_OK;
  if (t->storage->device.type != AX_DEV_CPU && ax_numel(t) > 0) s = printed_on_host(t, &h, cut, err);
  if (s) return s;
  ax_strbuf tmp = {0};
  s = body(t, h ? h : t, cut, &tmp, err);   /* own buffer: suffix wrapping looks at the last line */
  if (!s) s = ax_strbuf_append(sb, tmp.p, tmp.len, err);
  ax_strbuf_free(&tmp);
  ax_tensor_release(h);
  return s;
}

ax_status ax_tensor_to_string(const ax_tensor *t, char **out, ax_err *err) {
  ax_strbuf sb = {0};
  ax_status s = ax_tensor_format(t, &sb, err);
  if (s) {
    ax_strbuf_free(&sb);
    return s;
  }
  char *r = ax_malloc(sb.len + 1);
  if (!r) {
    ax_strbuf_free(&sb);
    return ax_err_set(err, AX_E_NOMEM, "print: out of memory");
  }
  memcpy(r, sb.p, sb.len + 1);
  ax_strbuf_free(&sb);
  *out = r;
  return AX_OK;
}

void ax_str_free(char *s) {
  if (s) ax_free(s, strlen(s) + 1);
}
