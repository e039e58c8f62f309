/* tests/unit_runtime/fake_device.c — the fake accelerator of fake_device.h: every allocation is its
** own anonymous mapping kept PROT_NONE; upload/download open it for one memcpy; a kernel mirrors
** the storages of its device inputs on the CPU, runs the CPU kernel, writes the mirrors back (rows
** that update inputs in place: optimizer steps, batch_norm statistics) and moves CPU outputs up.
** Invariant: nothing outside this file can read or write the fake device's memory. */
#include "fake_device.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ax_autograd.h"

#define FAKE ((ax_device){AX_DEV_CUDA, 0})

static fake_device_stats stats;

static size_t page(void) {
  static size_t p;
  if (!p) p = (size_t)sysconf(_SC_PAGESIZE);
  return p;
}
static size_t mapped(size_t n) { return ((n ? n : 1) + page() - 1) / page() * page(); }

static void *f_alloc(size_t n) {
  void *p = mmap(NULL, mapped(n), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  stats.allocs++;
  stats.in_use += n;
  if (stats.in_use > stats.peak) stats.peak = stats.in_use;
  return p;
}

static void f_free(void *p, size_t n) {
  if (!p) return;
  munmap(p, mapped(n));
  stats.frees++;
  stats.in_use -= n;
}

/* open [p, p + n) of one allocation for a copy, then close it again */
static void *page_of(const void *p) { return (void *)((uintptr_t)p / page() * page()); }
static size_t span(const void *p, size_t n) { return mapped((size_t)((uintptr_t)p - (uintptr_t)page_of(p)) + n); }

/* copies through the protection, uncounted: the kernels' mirrors */
static ax_status raw_up(void *dst, const void *host, size_t n, ax_err *err) {
  if (!n) return AX_OK;
  if (mprotect(page_of(dst), span(dst, n), PROT_READ | PROT_WRITE))
    return ax_err_set(err, AX_E_RUNTIME, "fake device: upload to %p: not device memory", dst);
  memcpy(dst, host, n);
  mprotect(page_of(dst), span(dst, n), PROT_NONE);
  return AX_OK;
}
static ax_status raw_down(void *host, const void *src, size_t n, ax_err *err) {
  if (!n) return AX_OK;
  if (mprotect(page_of(src), span(src, n), PROT_READ))
    return ax_err_set(err, AX_E_RUNTIME, "fake device: download from %p: not device memory", src);
  memcpy(host, src, n);
  mprotect(page_of(src), span(src, n), PROT_NONE);
  return AX_OK;
}

/* the vtable's transfers, counted: what a real device would move over the bus */
static ax_status f_upload(void *dst, const void *host, size_t n, ax_err *err) {
  stats.uploads++;
  stats.up_bytes += n;
  return raw_up(dst, host, n, err);
}
static ax_status f_download(void *host, const void *src, size_t n, ax_err *err) {
  stats.downloads++;
  stats.down_bytes += n;
  return raw_down(host, src, n, err);
}

static ax_status f_sync(ax_err *err) { return AX_OK; }

static ax_status f_mem_stats(ax_backend_mem *m, ax_err *err) {
  const size_t total = (size_t)1 << 30;   /* a pretend 1 GiB device */
  *m = (ax_backend_mem){stats.in_use, 0, stats.peak, stats.allocs, total, stats.in_use < total ? total - stats.in_use : 0};
  return AX_OK;
}

static const ax_backend fake_backend = {"fake", f_alloc, f_free, f_upload, f_download, f_sync, f_mem_stats, NULL, NULL};

/* ---- kernels ---- */

static int on_fake(const ax_tensor *t) { return t->storage->device.type == AX_DEV_CUDA; }

/* A CPU header with t's layout over storage s (retained). */
static ax_tensor *header_over(const ax_tensor *t, ax_storage *s) {
  ax_tensor *h = ax_header_alloc();
  if (!h) return NULL;
  memset(h, 0, sizeof *h);
  h->refc = 1;
  h->storage = s;
  s->refc++;
  h->offset = t->offset;
  h->ndim = t->ndim;
  memcpy(h->shape, t->shape, sizeof h->shape);
  memcpy(h->stride, t->stride, sizeof h->stride);
  h->dtype = t->dtype;
  h->wrapped = t->wrapped;
  return h;
}

#define MAX_IN 16

static ax_status fake_call(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_kernel_fn fn = ax_cpu_kernel(op);
  if (!fn) return ax_err_set(err, AX_E_UNSUPPORTED, "%s: unsupported on cuda:0 (fake device: no CPU kernel)", ax_op_name(op));
  if (nin > MAX_IN) return ax_err_set(err, AX_E_VALUE, "fake device: %d inputs", nin);
  if (op == AX_OP_COPY && at->device.type == AX_DEV_CPU && on_fake(in[0])) {
    /* to the CPU, as a GPU does it: a packed copy on the device, then one download of its bytes */
    ax_attrs a2 = *at;
    a2.device = FAKE;
    ax_tensor *c = NULL, *o = NULL;
    ax_status s = fake_call(AX_OP_COPY, in, 1, &a2, &c, err);
    if (!s) s = ax_tensor_empty(c->shape, c->ndim, c->dtype, AX_CPU, &o, err);
    if (!s) s = f_download(o->storage->data, c->storage->data, (size_t)ax_numel(c) * ax_dtype_size(c->dtype), err);
    ax_tensor_release(c);
    if (s) ax_tensor_release(o);
    else *out = o;
    return s;
  }
  stats.kernels++;
  ax_attrs cpu_at = *at;   /* a copy within the device runs as a CPU copy; the output moves up below */
  if (op == AX_OP_COPY) cpu_at.device = AX_CPU;
  ax_storage *dev[MAX_IN];        /* distinct device storages among the inputs ... */
  ax_tensor *mirror[MAX_IN];      /* ... and their CPU mirrors (uint8 [nbytes]) */
  ax_tensor *hin[MAX_IN], *hold[MAX_IN];
  int nd = 0;
  ax_status s = AX_OK;
  for (int i = 0; i < nin; i++) hold[i] = NULL;
  for (int i = 0; i < nin && !s; i++) {
    hin[i] = in[i];
    if (!on_fake(in[i])) continue;
    int k = 0;
    while (k < nd && dev[k] != in[i]->storage) k++;
    if (k == nd) {
      int64_t nb = (int64_t)in[i]->storage->nbytes;
      if ((s = ax_tensor_empty(&nb, 1, AX_UINT8, AX_CPU, &mirror[k], err))) break;
      dev[nd++] = in[i]->storage;
      s = raw_down(mirror[k]->storage->data, in[i]->storage->data, in[i]->storage->nbytes, err);
    }
    if (!s && !(hin[i] = hold[i] = header_over(in[i], mirror[k]->storage))) s = ax_err_set(err, AX_E_NOMEM, "fake device: out of memory");
  }
  if (!s) s = fn(hin, nin, &cpu_at, out, err);
  /* write the mirrors back: rows without outputs (and batch_norm) update inputs in place */
  for (int k = 0; k < nd; k++) {
    if (!s) {
      s = raw_up(dev[k]->data, mirror[k]->storage->data, dev[k]->nbytes, err);
    }
    ax_tensor_release(mirror[k]);
  }
  for (int i = 0; i < nin; i++) ax_tensor_release(hold[i]);
  if (s) return s;
  /* outputs live on the inputs' device (copy: on at->device) */
  int up = op != AX_OP_COPY || at->device.type == AX_DEV_CUDA;
  for (int i = 0; up && i < ax_op_table[op].nout && !s; i++) {
    ax_tensor *o = out[i], *d = NULL;
    if (!o || on_fake(o)) continue;
    int64_t nb = (int64_t)o->storage->nbytes;
    if (!(s = ax_tensor_empty(&nb, 1, AX_UINT8, FAKE, &d, err))) {
      s = raw_up(d->storage->data, o->storage->data, o->storage->nbytes, err);
      ax_storage *t = o->storage;   /* o keeps its layout over the device copy */
      o->storage = d->storage;
      d->storage = t;
      ax_tensor_release(d);
    }
  }
  if (s)
    for (int i = 0; i < ax_op_table[op].nout; i++) {
      ax_tensor_release(out[i]);
      out[i] = NULL;
    }
  return s;
}

#define AX_X(E, n, i, o, d, v) \
  static ax_status fk_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { \
    return fake_call(AX_OP_##E, in, nin, at, out, err);                                                       \
  }
AX_OP_LIST(AX_X)
#undef AX_X

static const ax_kernel_fn trampolines[AX_OP_COUNT] = {
#define AX_X(E, n, i, o, d, v) [AX_OP_##E] = fk_##E,
    AX_OP_LIST(AX_X)
#undef AX_X
};

static ax_kernel_table table;

int fake_device_install(void) {
  for (int op = 0; op < AX_OP_COUNT; op++)
    if (!ax_op_table[op].is_view) table.fn[op] = trampolines[op];
  ax_err e;
  if (ax_backend_register(AX_DEV_CUDA, &fake_backend, &table, &e)) {
    printf("fake_device_install: %s\n", e.msg);
    return 1;
  }
  return 0;
}

fake_device_stats fake_device_get_stats(void) { return stats; }
