/* runtime/io/safetensors.c — safetensors files (the Hugging Face format PyTorch users exchange).
** Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
** "__metadata__": {str: str}}, then the raw little-endian data. jansson parses the header. */
#include "ax_io.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"

#define ST_MAX_HEADER ((size_t)100 << 20)
#define ST_MAX_FILE ((size_t)1 << 38)

/* jansson allocates through our choke point; blocks carry their size in front (16 bytes, aligned). */
static void *json_alloc(size_t n) {
  size_t total;
  if (!ax_size_add(n, 16, &total)) return NULL;
  char *p = ax_malloc(total);
  if (!p) return NULL;
  memcpy(p, &total, sizeof total);
  return p + 16;
}
static void json_dealloc(void *p) {
  if (!p) return;
  char *base = (char *)p - 16;
  size_t total;
  memcpy(&total, base, sizeof total);
  ax_free(base, total);
}
static void json_setup(void) {
  static int done;
  if (!done) {
    json_set_alloc_funcs(json_alloc, json_dealloc);
    done = 1;
  }
}

/* ---- the dict ---- */
void ax_tensor_dict_init(ax_tensor_dict *d) { memset(d, 0, sizeof *d); }

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = ax_malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}
static void free_str(char *s) { if (s) ax_free(s, strlen(s) + 1); }

void ax_tensor_dict_fini(ax_tensor_dict *d) {
  for (int i = 0; i < d->n; i++) {
    free_str(d->tensors[i].name);
    ax_tensor_release(d->tensors[i].t);
  }
  ax_free(d->tensors, sizeof(ax_named_tensor) * (size_t)d->cap);
  for (int i = 0; i < d->nmeta; i++) {
    free_str(d->meta[i].key);
    free_str(d->meta[i].val);
  }
  ax_free(d->meta, sizeof *d->meta * (size_t)d->capmeta);
  memset(d, 0, sizeof *d);
}

ax_tensor *ax_tensor_dict_get(const ax_tensor_dict *d, const char *name) {
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->tensors[i].name, name) == 0) return d->tensors[i].t;
  return NULL;
}

const char *ax_tensor_dict_meta(const ax_tensor_dict *d, const char *key) {
  for (int i = 0; i < d->nmeta; i++)
    if (strcmp(d->meta[i].key, key) == 0) return d->meta[i].val;
  return NULL;
}

ax_status ax_tensor_dict_add(ax_tensor_dict *d, const char *name, ax_tensor *t, ax_err *err) {
  if (ax_tensor_dict_get(d, name))
    return ax_err_set(err, AX_E_VALUE, "safetensors: duplicate tensor name '%s'", name);
  if (d->n == d->cap) {
    int ncap = d->cap ? d->cap * 2 : 16;
    void *nt = ax_realloc(d->tensors, sizeof(ax_named_tensor) * (size_t)d->cap,
                          sizeof(ax_named_tensor) * (size_t)ncap);
    if (!nt) return ax_err_set(err, AX_E_NOMEM, "safetensors: out of memory");
    d->tensors = nt;
    d->cap = ncap;
  }
  char *nm = dup_str(name);
  if (!nm) return ax_err_set(err, AX_E_NOMEM, "safetensors: out of memory");
  d->tensors[d->n].name = nm;
  d->tensors[d->n].t = ax_tensor_retain(t);
  d->n++;
  return AX_OK;
}

ax_status ax_tensor_dict_set_meta(ax_tensor_dict *d, const char *key, const char *val, ax_err *err) {
  char *v = dup_str(val);
  if (!v) return ax_err_set(err, AX_E_NOMEM, "safetensors: out of memory");
  for (int i = 0; i < d->nmeta; i++)
    if (strcmp(d->meta[i].key, key) == 0) {
      free_str(d->meta[i].val);
      d->meta[i].val = v;
      return AX_OK;
    }
  if (d->nmeta == d->capmeta) {
    int ncap = d->capmeta ? d->capmeta * 2 : 8;
    void *nm = ax_realloc(d->meta, sizeof *d->meta * (size_t)d->capmeta, sizeof *d->meta * (size_t)ncap);
    if (!nm) {
      free_str(v);
      return ax_err_set(err, AX_E_NOMEM, "safetensors: out of memory");
    }
    d->meta = nm;
    d->capmeta = ncap;
  }
  char *k = dup_str(key);
  if (!k) {
    free_str(v);
    return ax_err_set(err, AX_E_NOMEM, "safetensors: out of memory");
  }
  d->meta[d->nmeta].key = k;
  d->meta[d->nmeta].val = v;
  d->nmeta++;
  return AX_OK;
}

/* ---- dtype names ---- */
static const struct { const char *s; ax_dtype t; } st_dtypes[] = {
  {"F32", AX_FLOAT32}, {"F64", AX_FLOAT64}, {"F16", AX_FLOAT16}, {"BF16", AX_BFLOAT16},
  {"I64", AX_INT64},   {"I32", AX_INT32},   {"U8", AX_UINT8},    {"BOOL", AX_BOOL},
};

static const char *st_dtype_name(ax_dtype t) {
  for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
    if (st_dtypes[i].t == t) return st_dtypes[i].s;
  return NULL;
}

/* ---- save ---- */
ax_status ax_safetensors_save(const char *path, const ax_tensor_dict *d, ax_err *err) {
  json_setup();
  ax_status st = AX_OK;
  json_t *root = json_object();
  ax_tensor **cont = ax_calloc((size_t)(d->n ? d->n : 1), sizeof(ax_tensor *));
  char *header = NULL;
  const void **parts = NULL;
  size_t *sizes = NULL;
  if (!root || !cont) { st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path); goto done; }
  if (d->nmeta) {
    json_t *meta = json_object();
    if (!meta) { st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path); goto done; }
    for (int i = 0; i < d->nmeta; i++) json_object_set_new(meta, d->meta[i].key, json_string(d->meta[i].val));
    json_object_set_new(root, "__metadata__", meta);
  }
  uint64_t off = 0;
  for (int i = 0; i < d->n; i++) {
    ax_tensor *t = d->tensors[i].t;
    const char *dn = st_dtype_name(t->dtype);
    if (!dn) { st = ax_err_set(err, AX_E_DTYPE, "%s: cannot store dtype %s", path, ax_dtype_name(t->dtype)); goto done; }
    /* contiguous bytes on the host: a tensor on a device is downloaded (ax_host_copy is contiguous) */
    st = t->storage->device.type == AX_DEV_CPU ? ax_contiguous(t, &cont[i], err) : ax_host_copy(t, &cont[i], err);
    if (st) goto done;
    uint64_t nbytes = (uint64_t)ax_numel(t) * ax_dtype_size(t->dtype);
    json_t *e = json_object(), *shape = json_array(), *offs = json_array();
    if (!e || !shape || !offs) {
      json_decref(e); json_decref(shape); json_decref(offs);
      st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path);
      goto done;
    }
    for (int k = 0; k < t->ndim; k++) json_array_append_new(shape, json_integer(t->shape[k]));
    json_array_append_new(offs, json_integer((json_int_t)off));
    json_array_append_new(offs, json_integer((json_int_t)(off + nbytes)));
    json_object_set_new(e, "dtype", json_string(dn));
    json_object_set_new(e, "shape", shape);
    json_object_set_new(e, "data_offsets", offs);
    if (json_object_set_new(root, d->tensors[i].name, e) != 0) {
      st = ax_err_set(err, AX_E_VALUE, "%s: bad tensor name '%s'", path, d->tensors[i].name);
      goto done;
    }
    off += nbytes;
  }
  header = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!header) { st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path); goto done; }
  size_t hlen = strlen(header);
  size_t padded = (hlen + 7) & ~(size_t)7;
  static const char spaces[8] = "        ";
  unsigned char lenbuf[8];
  for (int k = 0; k < 8; k++) lenbuf[k] = (unsigned char)((uint64_t)padded >> (8 * k));
  int nparts = 3 + d->n;
  parts = ax_calloc((size_t)nparts, sizeof *parts);
  sizes = ax_calloc((size_t)nparts, sizeof *sizes);
  if (!parts || !sizes) { st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path); goto done; }
  parts[0] = lenbuf; sizes[0] = 8;
  parts[1] = header; sizes[1] = hlen;
  parts[2] = spaces; sizes[2] = padded - hlen;
  for (int i = 0; i < d->n; i++) {
    size_t esz = ax_dtype_size(cont[i]->dtype);
    parts[3 + i] = (const char *)cont[i]->storage->data + cont[i]->offset * (int64_t)esz;
    sizes[3 + i] = (size_t)ax_numel(cont[i]) * esz;
  }
  st = ax_file_write_atomic(path, parts, sizes, nparts, err);
done:
  if (cont) {
    for (int i = 0; i < d->n; i++) ax_tensor_release(cont[i]);
    ax_free(cont, sizeof(ax_tensor *) * (size_t)(d->n ? d->n : 1));
  }
  ax_free(parts, sizeof *parts * (size_t)(3 + d->n));
  ax_free(sizes, sizeof *sizes * (size_t)(3 + d->n));
  if (header) json_dealloc(header);
  json_decref(root);
  return st;
}

/* ---- load ---- */
typedef struct { uint64_t begin, end; const char *name; } span;

static int span_cmp(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

ax_status ax_safetensors_load(const char *path, ax_tensor_dict *out, ax_err *err) {
  json_setup();
  ax_tensor_dict_init(out);
  char *buf;
  size_t len;
  ax_status st = ax_file_read(path, ST_MAX_FILE, &buf, &len, err);
  if (st) return st;
  json_t *root = NULL;
  span *spans = NULL;
  size_t nspans = 0;
  if (len < 8) { st = ax_err_set(err, AX_E_FORMAT, "%s: not a safetensors file (%zu bytes)", path, len); goto done; }
  uint64_t hlen = 0;
  for (int k = 0; k < 8; k++) hlen |= (uint64_t)(unsigned char)buf[k] << (8 * k);
  if (hlen > ST_MAX_HEADER || hlen > len - 8) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: safetensors header length %llu exceeds the file size",
                    path, (unsigned long long)hlen);
    goto done;
  }
  json_error_t jerr;
  root = json_loadb(buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!root || !json_is_object(root)) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: safetensors header is not a JSON object: %s", path,
                    root ? "wrong type" : jerr.text);
    goto done;
  }
  const char *data = buf + 8 + hlen;
  uint64_t datalen = len - 8 - hlen;
  spans = ax_calloc(json_object_size(root) + 1, sizeof *spans);
  if (!spans) { st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path); goto done; }
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      if (!json_is_object(val)) { st = ax_err_set(err, AX_E_FORMAT, "%s: __metadata__ is not an object", path); goto done; }
      const char *mk;
      json_t *mv;
      json_object_foreach(val, mk, mv) {
        if (!json_is_string(mv)) { st = ax_err_set(err, AX_E_FORMAT, "%s: metadata '%s' is not a string", path, mk); goto done; }
        st = ax_tensor_dict_set_meta(out, mk, json_string_value(mv), err);
        if (st) goto done;
      }
      continue;
    }
    json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"),
           *jo = json_object_get(val, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", path, key);
      goto done;
    }
    ax_dtype dt = AX_FLOAT32;
    int found = 0;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
      if (strcmp(json_string_value(jd), st_dtypes[i].s) == 0) { dt = st_dtypes[i].t; found = 1; }
    if (!found) {
      st = ax_err_set(err, AX_E_DTYPE, "%s: tensor '%s' has unsupported dtype %s", path, key, json_string_value(jd));
      goto done;
    }
    size_t ndim = json_array_size(js);
    if (ndim > AX_MAX_DIMS) { st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' has %zu dims", path, key, ndim); goto done; }
    int64_t shape[AX_MAX_DIMS];
    size_t count = 1, nbytes;
    for (size_t i = 0; i < ndim; i++) {
      json_t *x = json_array_get(js, i);
      if (!json_is_integer(x) || json_integer_value(x) < 0) {
        st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' has a bad shape", path, key);
        goto done;
      }
      shape[i] = json_integer_value(x);
      if (!ax_size_mul(count, (size_t)shape[i], &count)) {
        st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' shape overflows", path, key);
        goto done;
      }
    }
    json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b) || (uint64_t)json_integer_value(e) > datalen) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' data_offsets lie outside the file's %llu data bytes",
                      path, key, (unsigned long long)datalen);
      goto done;
    }
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if (!ax_size_mul(count, ax_dtype_size(dt), &nbytes) || nbytes != end - begin) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: tensor '%s' shape needs %zu bytes but data_offsets give %llu",
                      path, key, count * ax_dtype_size(dt), (unsigned long long)(end - begin));
      goto done;
    }
    spans[nspans++] = (span){begin, end, key};
    ax_tensor *t = NULL;
    st = ax_tensor_from_bytes(data + begin, shape, (int)ndim, dt, &t, err);
    if (st) goto done;
    st = ax_tensor_dict_add(out, key, t, err);
    ax_tensor_release(t);
    if (st) goto done;
  }
  qsort(spans, nspans, sizeof *spans, span_cmp);
  for (size_t i = 1; i < nspans; i++)
    if (spans[i].begin < spans[i - 1].end) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: tensors '%s' and '%s' overlap", path, spans[i - 1].name, spans[i].name);
      goto done;
    }
done:
  if (spans) ax_free(spans, sizeof *spans * (json_object_size(root) + 1));
  json_decref(root);
  ax_free(buf, len + 1);
  if (st) ax_tensor_dict_fini(out);
  return st;
}
