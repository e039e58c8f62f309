/* runtime/cuda/convert.cu — cast and copy on the device, and copies between cuda:0 and the CPU
** (the CPU -> cuda direction is cpu/convert.c's copy kernel, through the backend's upload).
** Invariant: a transfer moves a contiguous buffer; strided sources are packed on their device. */
#include "cuda.cuh"

extern "C" ax_status cuda_cast(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  ax_tensor *o;
  if ((s = cu_new(in[0]->shape, in[0]->ndim, at->dtype, &o, err))) return s;
  if ((s = cu_copy_into(c, o, in[0], err))) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

extern "C" ax_status cuda_copy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  ax_tensor *x = in[0], *o = NULL, *packed = NULL;
  if (at->device.type == AX_DEV_CUDA) {   /* clone on the device */
    if (at->device.index != 0) return ax_err_set(err, AX_E_DEVICE, "copy: cuda:%d: this build addresses cuda:0 only", at->device.index);
    if ((s = cu_new(x->shape, x->ndim, x->dtype, &o, err))) return s;
    if ((s = cu_copy_into(c, o, x, err))) {
      ax_tensor_release(o);
      return s;
    }
    *out = o;
    return AX_OK;
  }
  if (at->device.type != AX_DEV_CPU) return ax_err_set(err, AX_E_DEVICE, "copy: unknown target device");
  /* to the CPU: pack on the device when strided, then one download */
  if (ax_is_contiguous(x)) {
    packed = ax_tensor_retain(x);
  } else {
    if ((s = cu_new(x->shape, x->ndim, x->dtype, &packed, err))) return s;
    if ((s = cu_copy_into(c, packed, x, err))) goto done;
  }
  if ((s = ax_tensor_empty(x->shape, x->ndim, x->dtype, AX_CPU, &o, err))) goto done;
  {
    size_t es = ax_dtype_size(x->dtype), n = (size_t)ax_numel(x) * es;
    if (n) s = cu_download(c, o->storage->data, (const char *)packed->storage->data + packed->offset * (int64_t)es, n, err);
  }
done:
  ax_tensor_release(packed);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}
